//! Golden summaries: every example scenario (each non-abstract
//! `scenarios/**/*.toml`) is run once on its own seed, and a compact,
//! canonical JSON of its summary (values rounded to 6 significant digits)
//! must equal `tests/golden/<scenario name>.json`.
//!
//! A change to the model that moves any result shows up here as a diff to
//! review. To accept it, or to create goldens for new scenarios:
//!
//! ```sh
//! CAPSIM_BLESS=1 cargo test --release --test it golden::
//! ```
//!
//! and commit the changed files with the change that caused them.

use crate::support::{repo, scenario_files};
use capsim::Summary;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// `x` rounded to 6 significant digits (None for NaN and infinities).
fn round6(x: Option<f64>) -> Value {
    match x {
        Some(v) if v.is_finite() => {
            let r: f64 = format!("{v:.5e}").parse().expect("a float");
            json!(if r == 0.0 { 0.0 } else { r })
        }
        _ => Value::Null,
    }
}

/// The canonical form: what a scenario computes, without the version or
/// the file hash (so editing a comment does not churn goldens). One metric
/// per line keeps diffs readable.
fn canonical(s: &Summary) -> String {
    let mut out = String::from("{\n");
    let field = |k: &str, v: Value| format!("  \"{k}\": {v},\n");
    out += &field("scenario", json!(s.scenario));
    out += &field("seed", json!(s.seed));
    out += &field("replications", json!(s.replications));
    out += &field("saturated", json!(s.saturated));
    out += "  \"metrics\": [\n";
    let lines: Vec<String> = s
        .metrics
        .iter()
        .map(|m| {
            let v = json!({
                "name": m.name, "stat": m.stat, "labels": m.labels,
                "value": round6(m.value), "unit": m.unit,
            });
            format!("    {v}")
        })
        .collect();
    out += &lines.join(",\n");
    out += "\n  ],\n  \"slo\": [\n";
    let lines: Vec<String> = s
        .slo
        .iter()
        .map(|v| {
            let v = json!({
                "name": v.name, "target": round6(Some(v.target)),
                "value": round6(v.value), "pass": v.pass, "status": v.status,
            });
            format!("    {v}")
        })
        .collect();
    out += &lines.join(",\n");
    if !lines.is_empty() {
        out += "\n";
    }
    out += "  ]\n}\n";
    out
}

/// The lines that differ (for the failure message).
fn diff(want: &str, got: &str) -> String {
    let (w, g): (Vec<&str>, Vec<&str>) = (want.lines().collect(), got.lines().collect());
    let mut d = Vec::new();
    for i in 0..w.len().max(g.len()) {
        let (a, b) = (w.get(i).copied(), g.get(i).copied());
        if a != b {
            d.push(format!(
                "  golden: {}\n  now:    {}",
                a.unwrap_or("<none>"),
                b.unwrap_or("<none>")
            ));
        }
    }
    d.join("\n")
}

#[test]
fn example_scenarios_match_their_golden_summaries() {
    let bless = std::env::var("CAPSIM_BLESS").is_ok_and(|v| v == "1");
    let golden_dir = repo().join("tests/golden");
    let files = scenario_files();

    // scenario name -> file, for the non-abstract scenarios.
    let mut scenarios: BTreeMap<String, PathBuf> = BTreeMap::new();
    let mut problems = Vec::new();
    for f in files {
        let s = match capsim::scenario::load(&f) {
            Ok(s) => s,
            Err(e) => {
                problems.push(format!("{}: does not load: {e}", f.display()));
                continue;
            }
        };
        if s.is_abstract {
            continue;
        }
        let summary = Summary::from_runs(&s, s.seed, &[capsim::simulate(&s, s.seed)]);
        let got = canonical(&summary);
        if let Some(other) = scenarios.insert(s.name.clone(), f.clone()) {
            problems.push(format!(
                "{} and {} are both named \"{}\": golden files are per name",
                other.display(),
                f.display(),
                s.name
            ));
            continue;
        }
        let golden = golden_dir.join(format!("{}.json", s.name));
        if bless {
            std::fs::create_dir_all(&golden_dir).unwrap();
            std::fs::write(&golden, &got).unwrap();
            continue;
        }
        match std::fs::read_to_string(&golden) {
            Ok(want) if want == got => {}
            Ok(want) => problems.push(format!(
                "{} ({}) differs from {}:\n{}",
                s.name,
                f.display(),
                golden.display(),
                diff(&want, &got)
            )),
            Err(_) => problems.push(format!(
                "{} ({}) has no golden file {}",
                s.name,
                f.display(),
                golden.display()
            )),
        }
    }
    assert!(!scenarios.is_empty(), "no example scenarios found");

    // Goldens of scenarios that no longer exist.
    if let Ok(rd) = std::fs::read_dir(&golden_dir) {
        for e in rd {
            let p = e.unwrap().path();
            let stem = p.file_stem().unwrap().to_string_lossy().into_owned();
            if p.extension().is_some_and(|x| x == "json") && !scenarios.contains_key(&stem) {
                if bless {
                    std::fs::remove_file(&p).unwrap();
                } else {
                    problems.push(format!("{} belongs to no scenario", p.display()));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "\n{}\n\nIf the change is intended: CAPSIM_BLESS=1 cargo test --release --test it golden::",
        problems.join("\n\n")
    );
}

#[test]
fn rounding_keeps_six_significant_digits() {
    assert_eq!(round6(Some(0.133_320_707)), json!(0.133321));
    assert_eq!(round6(Some(95_031.0)), json!(95031.0));
    assert_eq!(round6(Some(1_234_567.0)), json!(1234570.0));
    assert_eq!(round6(Some(-0.0)), json!(0.0));
    assert_eq!(round6(Some(f64::NAN)), Value::Null);
    assert_eq!(round6(None), Value::Null);
}
