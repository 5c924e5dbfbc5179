//! The M/M/c of `benches/scenarios/mmc-1m.toml` (c = 10, utilisation 0.8,
//! about 1.0 M builds) end to end: `capsim run --no-store --no-report` as
//! a whole process against the same model as a bare `BinaryHeap` event loop
//! (`benches/support/bare_mmc.rs`), also a whole process (this binary
//! started again with `--bare`). Pairs are interleaved so that a change of
//! machine load hits both sides alike; the report is each side's median
//! wall time, their ratio and each side's mean wait.
//!
//! `cargo bench --bench mmc_ratio` (7 pairs; `-- --pairs N` for another
//! count). Under `cargo test` it only runs the bare loop on 500 simulated
//! minutes, so the suite stays quick.

#[path = "support/bare_mmc.rs"]
mod bare_mmc;

use bare_mmc::{MmcParams, mmc_bare};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

fn scenario_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/scenarios/mmc-1m.toml")
}

fn load(overrides: &[(String, toml::Value)]) -> capsim::Scenario {
    capsim::scenario::load_with_overrides(&scenario_path(), overrides)
        .expect("benches/scenarios/mmc-1m.toml loads")
}

/// Wall time of one run of `cmd`, in seconds, and its standard output.
fn timed(cmd: &mut Command) -> (f64, String) {
    let t0 = Instant::now();
    let out = cmd.output().expect("the command starts");
    let wall_s = t0.elapsed().as_secs_f64();
    assert!(out.status.success(), "{cmd:?} failed: {out:?}");
    (wall_s, String::from_utf8_lossy(&out.stdout).into_owned())
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--bare") {
        let p = MmcParams::from_scenario(&load(&[]));
        let out = mmc_bare(&p, 1);
        println!("{} {}", out.events, out.mean_wait_s);
        return;
    }
    if !args.iter().any(|a| a == "--bench") {
        // `cargo test`: a smoke run of the loop only.
        let short = [
            ("duration".to_string(), toml::Value::String("500m".into())),
            ("warmup".to_string(), toml::Value::String("50m".into())),
            ("bucket".to_string(), toml::Value::String("50m".into())),
        ];
        let out = mmc_bare(&MmcParams::from_scenario(&load(&short)), 1);
        assert!(out.events > 0 && out.mean_wait_s.is_finite());
        return;
    }
    let pairs: usize = args
        .iter()
        .position(|a| a == "--pairs")
        .and_then(|i| args.get(i + 1))
        .map_or(7, |n| n.parse().expect("--pairs takes a count"));
    let me = std::env::current_exe().expect("own path");
    let scenario = scenario_path();
    let mut bare_s = Vec::new();
    let mut real_s = Vec::new();
    let (mut bare_out, mut real_out) = (String::new(), String::new());
    for _ in 0..pairs {
        let (t, out) = timed(Command::new(&me).arg("--bare"));
        bare_s.push(t);
        bare_out = out;
        let (t, out) = timed(
            Command::new(env!("CARGO_BIN_EXE_capsim"))
                .args(["run", "--no-store", "--no-report", "-q", "--format", "json"])
                .arg(&scenario),
        );
        real_s.push(t);
        real_out = out;
    }
    let mut bare_fields = bare_out.split_whitespace();
    let events: u64 = bare_fields.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    let bare_wait: f64 = bare_fields
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(f64::NAN);
    let json: serde_json::Value = serde_json::from_str(&real_out).expect("capsim prints JSON");
    let real_wait = json[0]["metrics"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|m| m["name"] == "build_queue_wait_seconds" && m["stat"] == "mean")
        .and_then(|m| m["value"].as_f64())
        .unwrap_or(f64::NAN);
    let (b, r) = (median(&mut bare_s), median(&mut real_s));
    println!("mmc-1m, {pairs} interleaved pairs, whole processes, median wall time:");
    println!("  bare BinaryHeap loop  {b:.3} s  ({events} events, mean wait {bare_wait:.2} s)");
    println!("  capsim run            {r:.3} s  (mean wait {real_wait:.2} s)");
    println!("  capsim / bare         {:.2}x", r / b);
}
