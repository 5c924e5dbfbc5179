//! The bad-input corpus: every case in `tests/fixtures/bad-inputs/*.toml`
//! is a command line on files written into a scratch folder, with the exit
//! code it must give and patterns its stderr must hold. Each runs under a
//! memory and CPU budget the kernel enforces on the process
//! (`support::capsim_guarded`): a case that would take unbounded memory or
//! time is killed at the budget and fails here. Also: a property test of
//! the scenario loader over random TOML (no panic; exit 2 or success).
//!
//! A case (see the files for many):
//!
//! ```toml
//! [[case]]
//! name = "bucket-1ns"
//! scenario = 'bucket = "1ns"'  # s.toml = `extends = "base.toml"` + this
//! model = [["value = 8.0", "value = nan"]]  # edits of m.toml (models/coder.toml)
//! files = { "t.csv" = "..." }  # more files
//! sqlite = { "x.db" = "CREATE TABLE t(a);" }  # SQLite files made with this SQL
//! sized = { "big.json" = 17000000 }  # files of this many zero bytes (sparse)
//! args = ["validate", "s.toml"]  # the default
//! exit = 2
//! stderr = ["s.toml:2:1: bucket:", "at most 200000 buckets"]
//! ```

use crate::support::{capsim_guarded, model_path, repo, scratch};
use proptest::prelude::*;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Corpus {
    case: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    /// The text of `s.toml` after `extends = "base.toml"`.
    scenario: Option<String>,
    /// `s.toml` exactly as given (no `extends`).
    raw: Option<String>,
    #[serde(default)]
    model: Vec<[String; 2]>,
    #[serde(default)]
    prices: Vec<[String; 2]>,
    #[serde(default)]
    files: BTreeMap<String, String>,
    #[serde(default)]
    sqlite: BTreeMap<String, String>,
    #[serde(default)]
    sized: BTreeMap<String, u64>,
    args: Option<Vec<String>>,
    exit: i32,
    #[serde(default)]
    stderr: Vec<String>,
}

fn dir() -> std::path::PathBuf {
    repo().join("tests/fixtures/bad-inputs")
}

/// A scratch folder with the corpus's `base.toml` and `m.toml` (the shipped model).
fn with_base(tag: &str) -> crate::support::Scratch {
    let s = scratch(tag);
    std::fs::copy(dir().join("base.toml"), s.join("base.toml")).unwrap();
    std::fs::copy(model_path(), s.join("m.toml")).unwrap();
    s
}

/// `text` with each `[from, to]` applied once (`from` must occur).
fn edited(name: &str, text: &str, edits: &[[String; 2]]) -> String {
    let mut t = text.to_string();
    for [from, to] in edits {
        assert!(
            t.contains(from.as_str()),
            "{name}: {from:?} not in the file to edit"
        );
        t = t.replacen(from.as_str(), to, 1);
    }
    t
}

/// Run one case; `Err` says how it failed.
fn run_case(c: &Case, base: &str, model: &str, prices: &str) -> Result<(), String> {
    let s = scratch(&format!("bad-{}", c.name));
    let w = |f: &str, t: &str| std::fs::write(s.join(f), t).map_err(|e| e.to_string());
    w("base.toml", base)?;
    w("m.toml", &edited(&c.name, model, &c.model))?;
    w("p.toml", &edited(&c.name, prices, &c.prices))?;
    match (&c.scenario, &c.raw) {
        (Some(t), None) => w("s.toml", &format!("extends = \"base.toml\"\n{t}\n"))?,
        (None, Some(t)) => w("s.toml", t)?,
        (None, None) => w("s.toml", "extends = \"base.toml\"\n")?,
        (Some(_), Some(_)) => return Err("give scenario or raw, not both".into()),
    }
    for (f, t) in &c.files {
        if let Some(parent) = Path::new(f).parent() {
            std::fs::create_dir_all(s.join(parent)).map_err(|e| e.to_string())?;
        }
        w(f, t)?;
    }
    for (f, len) in &c.sized {
        if let Some(parent) = Path::new(f).parent() {
            std::fs::create_dir_all(s.join(parent)).map_err(|e| e.to_string())?;
        }
        let file = std::fs::File::create(s.join(f)).map_err(|e| e.to_string())?;
        file.set_len(*len).map_err(|e| e.to_string())?;
    }
    for (f, sql) in &c.sqlite {
        let db = rusqlite::Connection::open(s.join(f)).map_err(|e| e.to_string())?;
        db.execute_batch(sql).map_err(|e| e.to_string())?;
    }
    let args = c
        .args
        .clone()
        .unwrap_or_else(|| vec!["validate".into(), "s.toml".into()]);
    let out = capsim_guarded(&s, &args)?;
    let err = String::from_utf8_lossy(&out.stderr);
    let mut why = Vec::new();
    if out.status.code() != Some(c.exit) {
        why.push(format!("exit {:?}, expected {}", out.status.code(), c.exit));
    }
    for p in &c.stderr {
        if !err.contains(p.as_str()) {
            why.push(format!("stderr lacks {p:?}"));
        }
    }
    // Plain words: no panic, no Rust debug text.
    for bad in ["panicked", "Some(", "None", "Error {", "RUST_BACKTRACE"] {
        if err.contains(bad) {
            why.push(format!("stderr holds {bad:?}"));
        }
    }
    if why.is_empty() {
        Ok(())
    } else {
        Err(format!("{}\nstderr:\n{err}", why.join("; ")))
    }
}

#[test]
fn every_bad_input_is_refused_within_budget() {
    let base = std::fs::read_to_string(dir().join("base.toml")).unwrap();
    let model = std::fs::read_to_string(model_path()).unwrap();
    let prices =
        std::fs::read_to_string(repo().join("models/prices/gcp-us-central1.toml")).unwrap();
    let mut files: Vec<_> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml") && !p.ends_with("base.toml"))
        .collect();
    files.sort();
    let mut n = 0;
    let mut names = std::collections::BTreeSet::new();
    let mut failed = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let corpus: Corpus =
            toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        for c in corpus.case {
            assert!(names.insert(c.name.clone()), "case name {} twice", c.name);
            n += 1;
            if let Err(e) = run_case(&c, &base, &model, &prices) {
                failed.push(format!("{} ({}): {e}", c.name, f.display()));
            }
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {n} cases failed:\n\n{}",
        failed.len(),
        failed.join("\n\n")
    );
    assert!(n >= 150, "the corpus has {n} cases, fewer than 150");
}

/// A TOML value of a few shapes, nested a little.
fn value() -> impl Strategy<Value = toml::Value> {
    let leaf = prop_oneof![
        any::<i64>().prop_map(toml::Value::Integer),
        prop_oneof![
            any::<f64>(),
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(1e308),
            Just(-1.0),
            Just(0.0)
        ]
        .prop_map(toml::Value::Float),
        any::<bool>().prop_map(toml::Value::Boolean),
        prop_oneof![
            "[a-z0-9 ./:%_-]{0,12}",
            Just("1ns".to_string()),
            Just("1h".to_string()),
            Just("120/h".to_string()),
            Just("16GB".to_string()),
            Just("09:00".to_string()),
            Just("kill_replica".to_string()),
            Just("lognormal".to_string()),
        ]
        .prop_map(toml::Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(toml::Value::Array),
            prop::collection::btree_map(key(), inner, 0..4)
                .prop_map(|m| toml::Value::Table(m.into_iter().collect())),
        ]
    })
}

/// Keys a scenario has, and some it does not.
fn key() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "duration",
        "warmup",
        "bucket",
        "seed",
        "name",
        "start_time",
        "replicas",
        "count",
        "vcpu",
        "ram",
        "users",
        "mode",
        "templates",
        "build_time",
        "dist",
        "median",
        "p95",
        "mean",
        "value",
        "builds",
        "rate",
        "metadata",
        "interval",
        "items",
        "dashboard",
        "per_user",
        "requests_per_action",
        "action",
        "at",
        "replica",
        "metric",
        "max",
        "min",
        "nope",
    ])
    .prop_map(str::to_string)
}

/// Sections of a scenario, for random tables to land in.
fn section() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "deployment.coderd",
        "deployment.provisioners",
        "deployment.database",
        "workload.users",
        "workload.agents",
        "workload.connections.dashboard",
        "autoscaling.coderd",
    ])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Random TOML over the base scenario: the loader never panics; the
    /// scenario loads or is refused with a located error.
    #[test]
    fn the_loader_never_panics_on_random_toml(
        top in prop::collection::btree_map(key(), value(), 0..4),
        sections in prop::collection::vec((section(), prop::collection::btree_map(key(), value(), 0..4)), 0..3),
        events in prop::collection::vec(prop::collection::btree_map(key(), value(), 0..5), 0..2),
    ) {
        let s = with_base("bad-proptest");
        let mut t = toml::Table::new();
        t.insert("extends".into(), toml::Value::String("base.toml".into()));
        for (k, v) in top {
            t.insert(k, v);
        }
        for (path, table) in sections {
            let v = toml::Value::Table(table.into_iter().collect());
            capsim::scenario::load::set_dotted(&mut t, path, v).unwrap();
        }
        if !events.is_empty() {
            t.insert("events".into(), toml::Value::Array(
                events.into_iter().map(|m| toml::Value::Table(m.into_iter().collect())).collect()));
        }
        let text = toml::to_string(&t).unwrap();
        std::fs::write(s.join("s.toml"), &text).unwrap();
        // In process: no panic.
        let r = std::panic::catch_unwind(|| capsim::scenario::load(&s.join("s.toml")).map(|_| ()));
        prop_assert!(r.is_ok(), "the loader panicked on:\n{text}");
        // Through the binary: exit 0 or 2, and a located message when 2.
        let out = capsim_guarded(&s, &["validate".into(), "s.toml".into()]).map_err(TestCaseError::fail)?;
        let code = out.status.code();
        prop_assert!(code == Some(0) || code == Some(2), "exit {code:?} on:\n{text}\n{}", String::from_utf8_lossy(&out.stderr));
        if code == Some(2) {
            let err = String::from_utf8_lossy(&out.stderr);
            prop_assert!(err.contains(".toml:"), "unlocated error {err} on:\n{text}");
        }
    }
}

/// The limits leave room for every realistic deployment: 100,000 users,
/// 1,000 coderd replicas, a year in 1-hour buckets, an autoscaler to
/// 2,000 (every shipped scenario loads too: `golden` runs them all).
#[test]
fn realistic_deployments_are_within_the_limits() {
    let s = with_base("bad-realistic");
    let text = r#"extends = "base.toml"
duration = "365d"
warmup = "1d"
bucket = "1h"
[deployment.coderd]
replicas = 1000
[deployment.provisioners]
count = 500
[workload.users]
count = 100000
[workload.connections.dashboard]
per_user = 1
requests_per_action = 20
[autoscaling.coderd]
max = 2000
"#;
    std::fs::write(s.join("s.toml"), text).unwrap();
    if let Err(e) = capsim::scenario::load(&s.join("s.toml")) {
        panic!("a realistic deployment is refused: {e}");
    }
}

/// An event at or after the end of the run is not an error (a what-if may
/// shorten a base's run) but does not pass silently: the run notes it.
#[test]
fn an_event_after_the_end_of_the_run_is_a_note() {
    let s = with_base("bad-late-event");
    let text = "extends = \"base.toml\"\n[[events]]\nat = \"+2h\"\naction = \"kill_replica\"\n[[events]]\nat = \"+30m\"\naction = \"kill_replica\"\n";
    std::fs::write(s.join("s.toml"), text).unwrap();
    let sc = capsim::scenario::load(&s.join("s.toml")).unwrap();
    let r = capsim::simulate(&sc, 1);
    let late: Vec<&String> = r
        .notes
        .iter()
        .filter(|n| n.starts_with("events:"))
        .collect();
    assert_eq!(late.len(), 1, "{:?}", r.notes);
    assert!(
        late[0].contains("kill_replica at \"2h\"") && late[0].contains("did not happen"),
        "{}",
        late[0]
    );
}
