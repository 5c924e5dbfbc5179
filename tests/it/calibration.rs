//! What the calibration must show (issue 5), checked on the committed model
//! files and scenarios: the fitted model meets Coder's published figures,
//! its parameters are plausible, the published scale-test rows pass with
//! headroom, the sizing rules hold as consequences, and the calibration
//! procedure itself recovers known parameters deterministically.
//!
//! Run in release mode (`cargo test --release --test it calibration::`); each
//! test prints the table it checks.

use crate::support::{Scratch, capsim, repo, scratch};
use capsim::calibrate::{self, Options, Setup};
use capsim::engine::rng::replication_seed;
use capsim::result::Summary;
use capsim::scenario::model_file::{ModelParams, ParamValue};
use capsim::scenario::{self, Scenario};
use capsim::{RunResult, simulate};

fn runs(s: &Scenario, reps: u32) -> Vec<RunResult> {
    use rayon::prelude::*;
    (0..reps)
        .into_par_iter()
        .map(|r| simulate(s, replication_seed(s.seed, r)))
        .collect()
}

fn value(sum: &Summary, name: &str, stat: &str, label: Option<(&str, &str)>) -> f64 {
    sum.metrics
        .iter()
        .find(|m| {
            m.name == name
                && m.stat == stat
                && label.is_none_or(|(k, v)| m.labels.get(k).map(String::as_str) == Some(v))
        })
        .and_then(|m| m.value)
        .unwrap_or_else(|| panic!("no {name} {stat} {label:?}"))
}

/// Peak (largest 1-minute bucket mean) utilisation of the busiest coderd replica, and of the database.
fn headroom(sum: &Summary) -> (f64, f64) {
    let coderd = sum
        .metrics
        .iter()
        .filter(|m| m.name == "coderd_cpu_utilization" && m.stat == "peak")
        .filter_map(|m| m.value)
        .fold(0.0, f64::max);
    (coderd, value(sum, "database_cpu_utilization", "peak", None))
}

#[test]
fn fitted_model_meets_every_published_target() {
    let setup = Setup::load(
        &repo().join("scenarios/scale-tests/targets.csv"),
        &repo().join("models/coder.toml"),
        None,
    )
    .unwrap();
    let rows = calibrate::fit_table(&setup, &setup.file_values(), 3);
    let mut failed = Vec::new();
    println!(
        "{:64} {:>12} {:>10} {:>8}",
        "target", "measured", "simulated", "error"
    );
    for r in &rows {
        let measured = r.measured.map_or_else(
            || format!("{}-{}", r.low.unwrap(), r.high.unwrap()),
            |m| m.to_string(),
        );
        println!(
            "{:64} {:>12} {:>10.4} {:>+7.1}%",
            r.target,
            measured,
            r.simulated,
            r.error * 100.0
        );
        assert!(r.simulated.is_finite(), "{}", r.target);
        // Every numeric target within 15%; every range target inside its range.
        if r.measured.is_some() {
            assert_eq!(r.tolerance, 0.15, "{}: the issue asks for 15%", r.target);
        }
        if !r.met {
            failed.push(r.target.clone());
        }
    }
    assert!(failed.is_empty(), "targets not met: {failed:?}");
    assert!(
        rows.iter().any(|r| r.low.is_some()),
        "the write-ops range target is checked"
    );
}

#[test]
fn fitted_parameters_are_physically_plausible() {
    for file in [
        "models/coder.toml",
        "models/coder-before-metadata-batching.toml",
    ] {
        let m = ModelParams::load(&repo().join(file)).unwrap();
        for (name, p) in &m.file.params {
            let ParamValue::Number(v) = p.value else {
                continue;
            };
            assert!(
                v >= 0.0 && v.is_finite(),
                "{file}: {name} = {v} is negative"
            );
            if let (Some(lo), Some(hi)) = (p.min, p.max) {
                assert!(
                    (lo..=hi).contains(&v),
                    "{file}: {name} = {v} outside its bounds"
                );
            }
        }
        // CPU per request between 0.1 ms and 100 ms.
        for name in [
            "coderd_cpu_ms_dashboard_request",
            "coderd_cpu_ms_agent_metadata_call",
            "coderd_cpu_ms_agent_stats_call",
            "coderd_cpu_ms_connect",
            "coderd_cpu_ms_build_request",
            "db_cpu_ms_metadata_write",
            "db_cpu_ms_activity_bump",
        ] {
            let v = m.number(name).unwrap();
            assert!(
                (0.1..=100.0).contains(&v),
                "{file}: {name} = {v} ms per request"
            );
        }
    }
    // The fitted file says what it was fitted on.
    let m = ModelParams::load(&repo().join("models/coder.toml")).unwrap();
    let free = calibrate::free_params(&m).unwrap();
    assert!(free.len() >= 4);
    for p in free {
        let prm = &m.file.params[&p.name];
        assert_eq!(
            prm.provenance,
            capsim::scenario::model_file::Provenance::Fitted,
            "{}",
            p.name
        );
        assert!(
            prm.source.contains("capsim calibrate --targets"),
            "{}",
            p.name
        );
    }
}

#[test]
fn generations_differ_only_in_the_generation_parameters() {
    let now = ModelParams::load(&repo().join("models/coder.toml")).unwrap();
    let old =
        ModelParams::load(&repo().join("models/coder-before-metadata-batching.toml")).unwrap();
    assert_eq!(
        now.file.params.keys().collect::<Vec<_>>(),
        old.file.params.keys().collect::<Vec<_>>()
    );
    let generation = ["metadata_agent_batching", "db_cpu_ms_metadata_write"];
    for (name, p) in &now.file.params {
        let q = &old.file.params[name];
        if generation.contains(&name.as_str()) {
            assert_ne!(
                p.value, q.value,
                "{name} is what sets the generations apart"
            );
        } else {
            assert_eq!(
                p.value, q.value,
                "{name}: regenerate the 2023 file from models/coder.toml"
            );
        }
    }
    assert_eq!(old.number("metadata_agent_batching"), Some(0.0));
    assert_eq!(old.text("metadata_write_path"), Some("per_call"));
}

const ROWS: [&str; 6] = [
    "published-v0.24.1-200-users.toml",
    "published-v0.24.1-1500-users.toml",
    "published-v0.27.2-500-users.toml",
    "published-v2.2.1-1000-users.toml",
    "published-v2.8.4-2000-users.toml",
    "published-v2.10.2-1000-users.toml",
];

/// `source` means the cited text says the number: every such parameter
/// cites a file of Coder's data (`../shared/...`); `derived` shows its
/// arithmetic; `assumed` gives a reason.
#[test]
fn provenance_names_a_citation_arithmetic_or_a_reason() {
    use capsim::scenario::model_file::Provenance;
    for file in [
        "models/coder.toml",
        "models/coder-before-metadata-batching.toml",
    ] {
        let m = ModelParams::load(&repo().join(file)).unwrap();
        for (name, p) in &m.file.params {
            match p.provenance {
                Provenance::Source => assert!(
                    p.source.contains("../shared/"),
                    "{file}: {name} is `source` but cites no file of ../shared: {}",
                    p.source
                ),
                Provenance::Derived => assert!(
                    p.source.contains(['=', 'x', '/', '*']) && p.source.contains("../shared/"),
                    "{file}: {name} is `derived` but shows no arithmetic on a cited figure: {}",
                    p.source
                ),
                Provenance::Assumed | Provenance::Fitted => {
                    assert!(p.source.len() > 10, "{file}: {name}: no reason given")
                }
            }
        }
    }
}

#[test]
fn published_scale_tests_pass_with_headroom() {
    println!(
        "{:34} {:>6} {:>13} {:>11} {:>15}",
        "row", "users", "coderd peak", "db peak", "agent p95 (ms)"
    );
    for row in ROWS {
        let s = scenario::load(&repo().join(format!("scenarios/scale-tests/{row}"))).unwrap();
        let rs = runs(&s, 2);
        let sum = Summary::from_runs(&s, s.seed, &rs);
        let (coderd, db) = headroom(&sum);
        let users = s.workload.users.as_ref().unwrap().n_users;
        let p95 = value(&sum, "api_latency_seconds", "p95", Some(("class", "agent")));
        println!(
            "{:34} {:>6} {:>12.1}% {:>10.1}% {:>15.1}",
            s.name,
            users,
            coderd * 100.0,
            db * 100.0,
            p95 * 1e3
        );
        let notes: Vec<&String> = rs.iter().flat_map(|r| &r.notes).collect();
        assert!(!sum.saturated, "{row}: saturated: {notes:?}");
        assert!(sum.slo.len() >= 7, "{row}: the base's pass criteria apply");
        for v in &sum.slo {
            assert!(v.passed(), "{row}: {} failed ({:?})", v.name, v.value);
        }
        assert!(coderd < 1.0 && db < 1.0, "{row}: no resource at capacity");
        assert!(
            coderd > 0.0 && db > 0.0,
            "{row}: the load reached coderd and the database"
        );
        // Every row's connections are all open at 40 KB/s.
        let conns = value(&sum, "connections_active", "p50", Some(("kind", "ssh")))
            + value(
                &sum,
                "connections_active",
                "p50",
                Some(("kind", "web_terminal")),
            );
        assert_eq!(conns, users as f64, "{row}: concurrent connections = users");
    }
}

#[test]
fn agents_of_a_template_without_metadata_only_report_stats() {
    // The 2023 rows' agents (metadata = []) make stats calls only: users / 30 s.
    let s = scenario::load(&repo().join("scenarios/scale-tests/published-v0.27.2-500-users.toml"))
        .unwrap();
    assert!(s.workload.agents.metadata.is_empty());
    let sum = Summary::from_runs(&s, s.seed, &runs(&s, 1));
    let rate = value(
        &sum,
        "api_requests_per_second",
        "p50",
        Some(("class", "agent")),
    );
    assert!(
        (rate - 500.0 / 30.0).abs() < 1.5,
        "agent calls per second: {rate}"
    );
}

#[test]
fn issue_9782_saturates_before_metadata_batching_and_not_after() {
    let before =
        scenario::load(&repo().join("scenarios/scale-tests/issue-9782-before-batching.toml"))
            .unwrap();
    let after =
        scenario::load(&repo().join("scenarios/scale-tests/issue-9782-after-batching.toml"))
            .unwrap();
    let b = Summary::from_runs(&before, before.seed, &runs(&before, 1));
    let a = Summary::from_runs(&after, after.seed, &runs(&after, 1));
    let (_, db_before) = headroom(&b);
    let (_, db_after) = headroom(&a);
    println!("database peak: before batching {db_before:.2}, after {db_after:.2}");
    assert!(b.saturated && db_before >= 0.99);
    assert!(!a.saturated && db_after < 0.5);
    assert!(b.slo.iter().chain(&a.slo).all(|v| v.passed()));
}

/// The 2,000-user test's workload with a deployment sized by a rule.
fn sized(overrides: &[(&str, toml::Value)]) -> Summary {
    let o: Vec<(String, toml::Value)> = overrides
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    let s = scenario::load_with_overrides(
        &repo().join("scenarios/scale-tests/traffic-2000-users.toml"),
        &o,
    )
    .unwrap();
    Summary::from_runs(&s, s.seed, &runs(&s, 2))
}

#[test]
fn sizing_rules_hold_as_consequences_of_the_fit() {
    // ../shared/data/sizing-rules.csv: coderd 1 vCPU and 2 GB per 250 users (minimum 1 vCPU / 2 GB
    // per replica): 2,000 users -> 8 vCPU and 16 GB, as 2 x 4 vCPU / 8 GB or 4 x 2 vCPU / 4 GB.
    // Database: 2 vCPU baseline + 2 vCPU per 1,000 active users: 2,000 active -> 6 vCPU.
    let users = 2000.0;
    let coderd_vcpu = users / 250.0;
    let coderd_gb = 2.0 * users / 250.0;
    let db_vcpu = 2.0 + 2.0 * users / 1000.0;
    for replicas in [2i64, 4] {
        let s = sized(&[
            ("deployment.coderd.replicas", toml::Value::Integer(replicas)),
            (
                "deployment.coderd.vcpu",
                toml::Value::Float(coderd_vcpu / replicas as f64),
            ),
            (
                "deployment.coderd.ram",
                toml::Value::String(format!("{}GB", coderd_gb / replicas as f64)),
            ),
            ("deployment.database.vcpu", toml::Value::Float(db_vcpu)),
        ]);
        let (coderd, db) = headroom(&s);
        println!(
            "{replicas} x {} vCPU coderd, {db_vcpu} vCPU database: coderd peak {:.1}%, database peak {:.1}%",
            coderd_vcpu / replicas as f64,
            coderd * 100.0,
            db * 100.0
        );
        assert!(!s.saturated);
        assert!(
            coderd < 0.8,
            "coderd peak {coderd} with the 250-users-per-vCPU rule"
        );
        assert!(
            db < 0.8,
            "database peak {db} with the 2-cores-per-1,000-active-users rule"
        );
    }
    // The rules are not vacuous: the test's own 2 vCPU database runs near the 80% line.
    let base = sized(&[]);
    assert!(headroom(&base).1 > 0.75);
}

// ----- the procedure, on a small synthetic problem ---------------------------

const SCENARIO: &str = r#"
name = "synthetic"
model = "model.toml"
seed = 7
duration = "8m"
bucket = "1m"

[deployment.coderd]
replicas = 1
vcpu = 2
ram = "8GB"
builtin_provisioners = 0

[deployment.database]
vcpu = 1
ram = "4GB"

[[workload.templates]]
name = "t"
build_time = { dist = "lognormal", median = "60s", p95 = "3m" }

[workload.users]
count = 300
mode = "steady"
active_fraction = 1.0
workspaces_running_at_start = true

[workload.agents]
metadata = [{ items = 2, interval = "10s" }]

[workload.connections]
ssh = { per_user = 0 }
ide = { per_user = 0 }
web_terminal = { per_user = 0 }
app = { per_user = 0 }
dashboard = { per_user = 0 }
"#;

/// A model file whose only free parameters are the agent call's coderd CPU
/// and the metadata write's database CPU.
fn synthetic_model() -> String {
    let text = std::fs::read_to_string(repo().join("models/coder.toml")).unwrap();
    let mut doc: toml_edit::DocumentMut = text.parse().unwrap();
    let params = doc["params"].as_table_mut().unwrap();
    for (name, p) in params.iter_mut() {
        let t = p.as_table_mut().unwrap();
        let free = matches!(
            name.get(),
            "coderd_cpu_ms_agent_metadata_call" | "db_cpu_ms_metadata_write"
        );
        if free {
            t["free"] = toml_edit::value(true);
            t["min"] = toml_edit::value(0.1);
            t["max"] = toml_edit::value(50.0);
            t["value"] = toml_edit::value(1.0);
            // The shipped fit's interval says nothing about this start.
            t.remove("range");
            t.remove("range_reason");
        } else {
            t.remove("free");
        }
    }
    doc.to_string()
}

/// A scratch folder with the synthetic model (`model.toml`) and scenario (`s.toml`).
fn synthetic_dir(tag: &str) -> Scratch {
    let dir = scratch(&format!("calibration/{tag}"));
    std::fs::write(dir.join("model.toml"), synthetic_model()).unwrap();
    std::fs::write(dir.join("s.toml"), SCENARIO).unwrap();
    dir
}

#[test]
fn calibration_recovers_known_parameters_deterministically() {
    let dir = synthetic_dir("recover");
    // "Measurements": the model with known costs (9 ms per agent call, 4 ms per metadata write).
    let truth = [9.0, 4.0];
    let s = scenario::load(&dir.join("s.toml")).unwrap();
    let mut known = s.clone();
    known
        .set_model_param("coderd_cpu_ms_agent_metadata_call", truth[0])
        .unwrap();
    known
        .set_model_param("db_cpu_ms_metadata_write", truth[1])
        .unwrap();
    let r = simulate(&known, replication_seed(s.seed, 0));
    let cores = r.metric("coderd_cpu_cores", "mean").unwrap();
    let db = r.metric("database_cpu_utilization", "mean").unwrap();
    std::fs::write(
        dir.join("targets.csv"),
        format!(
            "scenario,metric,stat,measured,unit,labels,source\n\
             s.toml,coderd_cpu_cores,mean,{cores},vCPU,,synthetic\n\
             s.toml,database_cpu_utilization,mean,{},percent,,synthetic\n\
             s.toml,connections_active,p50,300,count,kind=agent,no cost moves it\n",
            db * 100.0,
        ),
    )
    .unwrap();
    let setup = Setup::load(&dir.join("targets.csv"), &dir.join("model.toml"), None).unwrap();
    setup.check().unwrap();
    let opts = Options {
        replications: 2,
        search_replications: 1,
        max_evals: 120,
        f_tol: 1e-10,
        x_tol: 1e-4,
        loo: true,
        intervals: true,
        keep_values: false,
    };
    let a = calibrate::calibrate(&setup, &opts, &|_| {});
    let b = calibrate::calibrate(&setup, &opts, &|_| {});
    print!("{}", capsim::cli::calibrate::report(&a));
    // Deterministic for a seed.
    assert_eq!(
        a.params.iter().map(|p| p.value).collect::<Vec<_>>(),
        b.params.iter().map(|p| p.value).collect::<Vec<_>>()
    );
    // The fit starts at the centre of the bounds (about 2.2 ms) and finds the truth.
    for (p, t) in a.params.iter().zip(truth) {
        assert!(
            (p.value / t - 1.0).abs() < 0.03,
            "{} = {} (truth {t})",
            p.name,
            p.value
        );
    }
    assert!(a.fit.iter().all(|r| r.met));
    // Every fitted value lies inside its interval, which is not empty.
    let iv = a.intervals.as_ref().unwrap();
    for (p, i) in a.params.iter().zip(&iv.params) {
        assert!(i.identified && i.lo < p.value && p.value < i.hi, "{i:?}");
    }
    // Leave-one-out: one row per target, finite; the count no cost moves leaves the fit unchanged.
    let loo = a.loo.as_ref().unwrap();
    assert_eq!(loo.len(), 3);
    assert!(
        loo.iter()
            .all(|r| r.predicted.is_finite() && r.error.is_finite())
    );
    assert_eq!(loo[2].how, "unchanged");
    assert_eq!(loo[0].how, "refit");
    // Without the coderd CPU target nothing pins the agent call's CPU: the refit restarts it
    // from the centre of its bounds and does not find the truth again, and the prediction of
    // the left-out target shows it (the other parameter is still recovered).
    assert!(
        (loo[0].params[0] / truth[0] - 1.0).abs() > 0.05,
        "{:?}",
        loo[0]
    );
    assert!(
        (loo[0].params[1] / truth[1] - 1.0).abs() < 0.03,
        "{:?}",
        loo[0]
    );
    assert!(loo[0].error.abs() > 0.02, "{:?}", loo[0]);
}

/// `capsim calibrate --targets DIR/targets --model DIR/model.toml ARGS...`
fn calibrate_cli(dir: &Scratch, targets: &str, args: &[&str]) -> std::process::Output {
    capsim(dir)
        .args(["calibrate", "--targets"])
        .arg(dir.join(targets))
        .arg("--model")
        .arg(dir.join("model.toml"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn cli_reports_bad_targets_with_file_and_line_and_writes_provenance() {
    let dir = synthetic_dir("cli");
    std::fs::write(
        dir.join("bad.csv"),
        "scenario,metric,stat,measured\ns.toml,coderd_cpu_cores,mean,abc\n",
    )
    .unwrap();
    let out = calibrate_cli(&dir, "bad.csv", &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.csv:2: measured"), "{err}");

    std::fs::write(
        dir.join("unknown.csv"),
        "scenario,metric,stat,measured\ns.toml,no_such_metric,mean,1\n",
    )
    .unwrap();
    let out = calibrate_cli(&dir, "unknown.csv", &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown.csv:2:"));

    std::fs::write(
        dir.join("t.csv"),
        "# a comment\nscenario,metric,stat,measured,unit\n\
         s.toml,coderd_cpu_cores,mean,0.6,vCPU\ns.toml,database_cpu_utilization,mean,30,percent\n",
    )
    .unwrap();
    let before = std::fs::read_to_string(dir.join("model.toml")).unwrap();
    let args = [
        "--write",
        "--seed",
        "3",
        "--max-evals",
        "40",
        "--replications",
        "2",
    ];
    let out = calibrate_cli(&dir, "t.csv", &args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after = std::fs::read_to_string(dir.join("model.toml")).unwrap();
    let m = ModelParams::parse(&dir.join("model.toml"), &after).unwrap();
    let p = &m.file.params["db_cpu_ms_metadata_write"];
    assert_eq!(
        p.provenance,
        capsim::scenario::model_file::Provenance::Fitted
    );
    assert!(p.source.contains("--seed 3"), "{}", p.source);
    assert_ne!(m.number("db_cpu_ms_metadata_write"), Some(1.0));
    // Untouched parameters keep their text.
    let keep = "[params.db_rtt_ms]";
    let tail = |t: &str| {
        t[t.find(keep).unwrap()..]
            .split("\n\n")
            .next()
            .unwrap()
            .to_string()
    };
    assert_eq!(tail(&before), tail(&after));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("fit (2 replications"), "{stdout}");
    // `--write` stores each fitted parameter's interval, which the
    // model-file checks accept (a range holding the value, with its reason).
    m.check_complete().unwrap();
    for name in [
        "coderd_cpu_ms_agent_metadata_call",
        "db_cpu_ms_metadata_write",
    ] {
        let p = &m.file.params[name];
        let v = m.number(name).unwrap();
        let [lo, hi] = p.range.unwrap_or_else(|| panic!("{name}: no range"));
        assert!(lo < v && v < hi, "{name}: {v} in [{lo}, {hi}]");
        let reason = p.range_reason.as_deref().unwrap();
        assert!(
            reason.starts_with("95% profile interval (capsim calibrate --targets"),
            "{reason}"
        );
        assert!(reason.contains("--seed 3"), "{reason}");
    }
    assert!(stdout.contains("95% interval"), "{stdout}");
    // `--keep-values --write`: the values, provenance and sources stay; the
    // ranges are computed again for them, and the file still loads.
    let args = [
        "--write",
        "--keep-values",
        "--seed",
        "3",
        "--replications",
        "3",
    ];
    let out = calibrate_cli(&dir, "t.csv", &args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let kept = std::fs::read_to_string(dir.join("model.toml")).unwrap();
    let k = ModelParams::parse(&dir.join("model.toml"), &kept).unwrap();
    k.check_complete().unwrap();
    for name in [
        "coderd_cpu_ms_agent_metadata_call",
        "db_cpu_ms_metadata_write",
    ] {
        assert_eq!(k.number(name), m.number(name));
        assert_eq!(k.file.params[name].source, m.file.params[name].source);
        let reason = k.file.params[name].range_reason.as_deref().unwrap();
        assert!(
            reason.contains("--keep-values --replications 3"),
            "{reason}"
        );
    }
}

/// Half-width of an interval in log units.
fn log_half_width(i: &calibrate::ParamInterval) -> f64 {
    (i.hi / i.lo).ln() / 2.0
}

#[test]
fn intervals_widen_with_looser_figures_and_fewer_search_replications() {
    // The synthetic problem at its known truth (9 ms per agent call, 4 ms
    // per metadata write), targets that the truth meets exactly, and the
    // intervals of that fit (--keep-values) for targets of different
    // precision and searches of different replications.
    let dir = synthetic_dir("widths");
    let truth = [9.0, 4.0];
    let mut doc: toml_edit::DocumentMut = synthetic_model().parse().unwrap();
    doc["params"]["coderd_cpu_ms_agent_metadata_call"]["value"] = toml_edit::value(truth[0]);
    doc["params"]["db_cpu_ms_metadata_write"]["value"] = toml_edit::value(truth[1]);
    std::fs::write(dir.join("model.toml"), doc.to_string()).unwrap();
    let s = scenario::load(&dir.join("s.toml")).unwrap();
    let mut known = s.clone();
    known
        .set_model_param("coderd_cpu_ms_agent_metadata_call", truth[0])
        .unwrap();
    known
        .set_model_param("db_cpu_ms_metadata_write", truth[1])
        .unwrap();
    let reps = 4;
    let runs: Vec<RunResult> = runs(&known, reps);
    let avg = |f: &dyn Fn(&RunResult) -> f64| runs.iter().map(f).sum::<f64>() / reps as f64;
    let cores = avg(&|r| r.metric("coderd_cpu_cores", "mean").unwrap());
    let db = avg(&|r| r.metric("database_cpu_utilization", "mean").unwrap()) * 100.0;
    let intervals = |precision_pct: f64, search: u32| {
        let name = format!("t-{precision_pct}-{search}.csv");
        std::fs::write(
            dir.join(&name),
            format!(
                "scenario,metric,stat,measured,unit,precision\n\
                 s.toml,coderd_cpu_cores,mean,{cores},vCPU,{}\n\
                 s.toml,database_cpu_utilization,mean,{db},percent,{}\n",
                cores * precision_pct / 100.0,
                db * precision_pct / 100.0,
            ),
        )
        .unwrap();
        let setup = Setup::load(&dir.join(&name), &dir.join("model.toml"), None).unwrap();
        let opts = Options {
            replications: reps,
            search_replications: search,
            keep_values: true,
            ..Options::default()
        };
        let c = calibrate::calibrate(&setup, &opts, &|_| {});
        print!("{}", capsim::cli::calibrate::report(&c));
        let iv = c.intervals.clone().unwrap();
        for (p, i) in c.params.iter().zip(&iv.params) {
            assert_eq!(p.value, p.file_value);
            assert!(i.lo <= p.value && p.value <= i.hi, "{i:?}");
        }
        iv
    };
    // The method says: each parameter's variance (in log units) is a
    // positive combination of the targets' sigma^2, so when every sigma
    // grows the interval grows between the smallest and the largest
    // factor (5% slack for the simulated ends).
    let check = |a: &calibrate::Intervals, b: &calibrate::Intervals, at_least: f64| {
        let ratios: Vec<f64> = a
            .targets
            .iter()
            .zip(&b.targets)
            .map(|(x, y)| y.sigma / x.sigma)
            .collect();
        let (lo, hi) = ratios
            .iter()
            .fold((f64::INFINITY, 0f64), |(l, h), r| (l.min(*r), h.max(*r)));
        assert!(hi > at_least, "sigma ratios {ratios:?}");
        for (x, y) in a.params.iter().zip(&b.params) {
            let w = log_half_width(y) / log_half_width(x);
            assert!(
                (0.95 * lo..=1.05 * hi).contains(&w),
                "{}: {w} not in [{lo}, {hi}]",
                x.name
            );
            assert!(w > 1.0, "{}: {w}", x.name);
        }
    };
    // Figures known to 2%, then to 8%: a looser figure gives a wider
    // interval (four times as wide where its precision outweighs the noise).
    let tight = intervals(2.0, 1);
    let loose = intervals(8.0, 1);
    check(&tight, &loose, 3.0);
    // Figures known to 0.001%: the simulation noise of the search rules,
    // and one search replication gives a wider interval than four (up to
    // twice as wide).
    let four = intervals(0.001, 4);
    let one = intervals(0.001, 1);
    check(&four, &one, 1.5);
}

#[test]
fn every_fitted_parameter_has_an_interval_and_the_default_studies_vary_it() {
    let m = ModelParams::load(&repo().join("models/coder.toml")).unwrap();
    let fitted: Vec<&String> = m
        .file
        .params
        .iter()
        .filter(|(_, p)| p.provenance == capsim::scenario::model_file::Provenance::Fitted)
        .map(|(n, _)| n)
        .collect();
    assert_eq!(fitted.len(), 5, "{fitted:?}");
    for name in &fitted {
        let p = &m.file.params[name.as_str()];
        let v = m.number(name).unwrap();
        let [lo, hi] = p.range.unwrap_or_else(|| panic!("{name}: no interval"));
        assert!(lo < v && v < hi, "{name}: {v} in [{lo}, {hi}]");
        let reason = p.range_reason.as_deref().unwrap();
        assert!(
            reason.starts_with("95% profile interval (capsim calibrate --targets scenarios/scale-tests/targets.csv --model models/coder.toml"),
            "{name}: {reason}"
        );
    }
    // `capsim sensitivity` and `run --uncertainty` vary them by default.
    let s = scenario::load(&repo().join("scenarios/scale-tests/traffic-2000-users.toml")).unwrap();
    let factors = capsim::sensitivity::factors(&s, None, &[]).unwrap();
    let params = s.uncertain_params();
    for name in &fitted {
        assert!(
            factors.iter().any(|f| &&f.name == name),
            "sensitivity: {name}"
        );
        assert!(
            params.iter().any(|u| &u.name == name && !u.is_exact()),
            "uncertainty: {name}"
        );
    }
}
