//! Helpers shared by the foundation's integration tests (scratch files,
//! M/M/c scenarios, running the `capsim` binary).
#![allow(dead_code)] // each test crate uses a different subset

use std::path::{Path, PathBuf};
use std::process::Output;

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The shipped model parameter file.
pub fn model_path() -> PathBuf {
    repo().join("models/coder.toml")
}

/// An empty scratch directory for one test, under Cargo's target tmp dir.
pub fn scratch(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("create scratch dir");
    d
}

/// Write `text` to `dir/file` and return the path.
pub fn write(dir: &Path, file: &str, text: &str) -> PathBuf {
    let p = dir.join(file);
    std::fs::write(&p, text).expect("write scratch file");
    p
}

/// A path as a TOML basic string.
pub fn toml_str(p: &Path) -> String {
    toml::Value::String(p.display().to_string()).to_string()
}

/// A one-template build queue: `c` external daemons, no coderd (so no
/// built-in daemons), Poisson builds at `lambda_per_s`, build times
/// `build_time` (a TOML inline table). Durations in seconds.
pub struct QueueSpec<'a> {
    pub name: &'a str,
    pub model: &'a Path,
    pub c: u32,
    pub lambda_per_s: f64,
    pub build_time: &'a str,
    pub duration_s: f64,
    pub warmup_s: f64,
    pub bucket_s: f64,
    pub seed: u64,
}

impl QueueSpec<'_> {
    pub fn toml(&self) -> String {
        format!(
            "name = \"{name}\"\nmodel = {model}\nseed = {seed}\nduration = \"{d}s\"\nwarmup = \"{w}s\"\nbucket = \"{b}s\"\n\n\
             [deployment.provisioners]\ncount = {c}\n\n\
             [[workload.templates]]\nname = \"mm\"\nbuild_time = {bt}\nbuilds = {{ rate = \"{l}/s\" }}\n",
            name = self.name,
            model = toml_str(self.model),
            seed = self.seed,
            d = self.duration_s,
            w = self.warmup_s,
            b = self.bucket_s,
            c = self.c,
            bt = self.build_time,
            l = self.lambda_per_s,
        )
    }

    /// Write the scenario into `dir` and load it.
    pub fn load(&self, dir: &Path) -> capsim::Scenario {
        let p = write(dir, &format!("{}.toml", self.name), &self.toml());
        capsim::scenario::load(&p).unwrap_or_else(|e| panic!("{e}"))
    }
}

/// Run the `capsim` binary with `args` in `cwd`.
pub fn capsim_in(cwd: &Path, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_capsim"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run capsim")
}

/// Run the `capsim` binary with `args` in the repository root.
pub fn capsim(args: &[&str]) -> Output {
    capsim_in(&repo(), args)
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn toml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            toml_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "toml") {
            out.push(p);
        }
    }
}

/// Other TOML may live next to scenarios (a price list, say): a file is a
/// scenario when it names a base, a model or a deployment. Every scenario
/// must load.
pub fn looks_like_a_scenario(f: &Path) -> bool {
    let text = std::fs::read_to_string(f).unwrap();
    match toml::from_str::<toml::Table>(&text) {
        Ok(t) => ["extends", "model", "deployment", "workload"]
            .iter()
            .any(|k| t.contains_key(*k)),
        Err(_) => true, // let `load` report the syntax error
    }
}

/// Every scenario file under `scenarios/` (abstract ones included), sorted.
pub fn scenario_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    toml_files(&repo().join("scenarios"), &mut files);
    files.retain(|f| looks_like_a_scenario(f));
    files
}
