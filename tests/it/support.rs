//! Helpers shared by the integration tests: paths of the repository, scratch
//! folders, scenario writers, running the `capsim` binary, reading its
//! outputs, and metric look-ups.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

// ----- the repository --------------------------------------------------------

/// The repository root (where `scenarios/` is).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The shipped model parameter file.
pub fn model_path() -> PathBuf {
    repo().join("models/coder.toml")
}

/// A scenario file of the repository, relative to `scenarios/`.
pub fn scenario(rel: &str) -> PathBuf {
    repo().join("scenarios").join(rel)
}

fn toml_files(dir: &Path, out: &mut Vec<PathBuf>) {
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
fn looks_like_a_scenario(f: &Path) -> bool {
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

// ----- scratch files and scenarios -------------------------------------------

/// A temporary folder for one test, under Cargo's target tmp dir: every
/// file a test writes, and the working directory of every `capsim` it runs,
/// is in one, so the checkout stays as it was (`capsim`'s default
/// `reports/` and `reports/capsim.db` land here). Removed when dropped;
/// kept, and named on stderr, when the test fails.
pub struct Scratch(Option<tempfile::TempDir>);

/// A new scratch folder; `tag` (the test's area and name) prefixes its name.
pub fn scratch(tag: &str) -> Scratch {
    let prefix = format!("{}-", tag.replace(['/', '\\'], "-"));
    let dir = tempfile::Builder::new()
        .prefix(&prefix)
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("create scratch dir");
    Scratch(Some(dir))
}

impl Scratch {
    pub fn path(&self) -> &Path {
        self.0.as_ref().expect("scratch dir").path()
    }
}

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        self.path()
    }
}

impl AsRef<Path> for Scratch {
    fn as_ref(&self) -> &Path {
        self.path()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if std::thread::panicking()
            && let Some(d) = self.0.take()
        {
            eprintln!("scratch folder kept: {}", d.keep().display());
        }
    }
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

/// A base scenario of `tests/fixtures/scenarios/`.
pub fn fixture(file: &str) -> PathBuf {
    repo().join("tests/fixtures/scenarios").join(file)
}

/// Write `dir/<name>.toml`, a scenario that extends the fixture `base` with
/// `body`; returns its path.
pub fn extend(dir: &Path, name: &str, base: &str, body: &str) -> PathBuf {
    let text = format!("extends = {}\n{body}", toml_str(&fixture(base)));
    write(dir, &format!("{name}.toml"), &text)
}

/// Load a scenario file, panicking with its error.
pub fn load(path: &Path) -> capsim::Scenario {
    capsim::scenario::load(path).unwrap_or_else(|e| panic!("{e}"))
}

/// The `steady-dashboards` fixture with `users` users, run for `duration`
/// on `seed`; `extra` is appended (database size, SLOs). Written to
/// `dir/steady.toml`.
pub fn steady_dashboards(
    dir: &Path,
    seed: u64,
    duration: &str,
    users: u32,
    extra: &str,
) -> PathBuf {
    extend(
        dir,
        "steady",
        "steady-dashboards.toml",
        &format!(
            "name = \"steady-dashboards\"\nseed = {seed}\nduration = \"{duration}\"\n\
             [workload.users]\ncount = {users}\n{extra}"
        ),
    )
}

// ----- the binary -------------------------------------------------------------

/// A `capsim` command whose working directory is `dir`, so that its
/// default outputs land there. The one way tests run the binary (the tidy
/// test checks), and it takes a `Scratch`: no test runs `capsim` in the
/// checkout.
pub fn capsim(dir: &Scratch) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_capsim"));
    c.current_dir(dir.path());
    c
}

/// Run the `capsim` binary with `args` in `dir`.
pub fn capsim_in(dir: &Scratch, args: &[&str]) -> Output {
    capsim(dir).args(args).output().expect("run capsim")
}

/// A checked-in shell script (`scenarios/cluster/*.sh`) run by `bash` in
/// `dir`, with `CAPSIM` naming the binary under test.
pub fn script_in(dir: &Scratch, script: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new("bash")
        .arg(script)
        .args(args)
        .envs(env.iter().copied())
        .env("CAPSIM", env!("CARGO_BIN_EXE_capsim"))
        .current_dir(dir.path())
        .output()
        .expect("run bash")
}

/// `promtool` (Debian's `prometheus` package ships it), when it is on the
/// `PATH`: the Prometheus tests load an export with it.
pub fn promtool() -> Option<Command> {
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|p| p.join("promtool"))
        .find(|p| p.is_file())
        .map(Command::new)
}

/// Run and require success; returns the output.
pub fn ok(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("capsim starts");
    assert!(
        out.status.success(),
        "{cmd:?} failed with {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Standard output, which must be UTF-8.
pub fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("utf-8 stdout")
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

// ----- reading outputs ----------------------------------------------------------

/// Width and height of a PNG file, decoding every row (fails on a broken file).
pub fn png_size(path: &Path) -> (u32, u32) {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut reader = png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader
        .next_frame(&mut buf)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (info.width, info.height)
}

/// Every file under `dir`, sorted, relative to it.
pub fn files(dir: &Path) -> Vec<PathBuf> {
    fn walk(base: &Path, d: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                out.push(p.strip_prefix(base).unwrap().to_path_buf());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Read a CSV file with the csv crate: header and rows.
pub fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let header = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r
        .records()
        .map(|x| x.unwrap().iter().map(String::from).collect())
        .collect();
    (header, rows)
}

/// The value of the run's metric `name` `stat` whose labels include `labels`.
pub fn metric(r: &capsim::RunResult, name: &str, stat: &str, labels: &[(&str, &str)]) -> f64 {
    r.metrics
        .iter()
        .find(|m| {
            m.name == name
                && m.stat == stat
                && labels
                    .iter()
                    .all(|(k, v)| m.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .unwrap_or_else(|| panic!("no metric {name} {stat} {labels:?}"))
        .value
}

// ----- queueing theory ----------------------------------------------------------

/// Erlang C: probability that an arrival waits in an M/M/c queue with
/// offered load `a` = lambda / mu erlangs (needs a < c). Computed from the
/// Erlang B recursion B(k) = a B(k-1) / (k + a B(k-1)), which never forms
/// a^c or c! and so stays accurate for large c.
pub fn erlang_c(c: u32, a: f64) -> f64 {
    assert!(a < c as f64, "Erlang C needs a < c");
    let mut b = 1.0;
    for k in 1..=c {
        b = a * b / (k as f64 + a * b);
    }
    let rho = a / c as f64;
    b / (1.0 - rho * (1.0 - b))
}

/// Mean wait in queue of M/M/c: C(c, a) / (c mu - lambda); infinite when
/// c <= a (the queue grows without bound).
pub fn erlang_c_mean_wait_s(c: u32, lambda_per_s: f64, mean_service_s: f64) -> f64 {
    let mu = 1.0 / mean_service_s;
    let a = lambda_per_s / mu;
    if c as f64 <= a {
        return f64::INFINITY;
    }
    erlang_c(c, a) / (c as f64 * mu - lambda_per_s)
}

// ----- running capsim within a budget ----------------------------------------

/// Address space and CPU time one guarded `capsim` may use: `ulimit -v`
/// (KiB) and `ulimit -t` (s), enforced by the kernel on the process itself.
pub const GUARD_MEMORY_KIB: u64 = 4 * 1024 * 1024;
pub const GUARD_CPU_S: u64 = 120;

/// Run `capsim args` in `dir` under [`GUARD_MEMORY_KIB`] of address space and
/// [`GUARD_CPU_S`] of CPU time (a shell sets the limits, then becomes
/// capsim). A process that passes either is stopped by the kernel: an
/// allocation past the budget aborts it, CPU time past it sends SIGXCPU/SIGKILL,
/// so `Err` says the input was not bounded. `Ok` is its output otherwise.
pub fn capsim_guarded(dir: &Path, args: &[String]) -> Result<Output, String> {
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -v {GUARD_MEMORY_KIB} && ulimit -t {GUARD_CPU_S} && exec \"$0\" \"$@\""
        ))
        .arg(env!("CARGO_BIN_EXE_capsim"))
        .args(args)
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run sh");
    match out.status.code() {
        Some(_) => Ok(out),
        None => Err(format!(
            "killed ({:?}) at the budget of {} MiB and {GUARD_CPU_S} s of CPU; stderr:\n{}",
            out.status,
            GUARD_MEMORY_KIB / 1024,
            String::from_utf8_lossy(&out.stderr)
        )),
    }
}
