//! Prometheus in and out: the OpenMetrics export (parsed by a maintained
//! parser, loaded by `promtool` when it is installed), `capsim import
//! prometheus` on fixtures in Prometheus's exact answer format, and the
//! round trip: simulate, answer the documented queries from the export,
//! import, simulate again, and recover the original's headline metrics.

use crate::support::{
    Scratch, capsim_in, model_path, promtool, repo, scratch, stderr, toml_str, write,
};
use capsim::engine::rng::replication_seed;
use capsim::prom::openmetrics::{ExportContext, Family, Start, families};
use capsim::report::series;
use capsim::result::{RunResult, Summary};
use capsim::scenario::Scenario;
use openmetrics_parser::{MetricNumber, OpenMetricsType, OpenMetricsValue};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A Monday: t = 0 of every export here.
const START: &str = "2025-03-03";

fn run(sc: &Scenario, reps: u32) -> Vec<RunResult> {
    (0..reps)
        .map(|r| capsim::simulate(sc, replication_seed(sc.seed, r)))
        .collect()
}

fn export(sc: &Scenario, runs: &[RunResult]) -> Vec<Family> {
    let ctx = ExportContext::for_scenario("rt", sc, Start::parse(START).unwrap());
    families(&series::aggregate(runs), &ctx)
}

/// A week of 300 developers (70% at work on a weekday) on two templates.
fn week_scenario(model: &Path) -> String {
    format!(
        r#"name = "roundtrip-week"
model = {model}
seed = 7
duration = "7d"
bucket = "5m"

[deployment.coderd]
replicas = 2
builtin_provisioners = 0

[deployment.provisioners]
count = 6

[workload.users]
count = 300
active_fraction = 0.7
weekend_active_fraction = 0.05
start_day = "mon"

[[workload.users.groups]]
name = "office"
share = 1.0
day_start = {{ dist = "normal", mean = "8.5h", sd = "40m" }}
session_length = {{ dist = "normal", mean = "8h", sd = "50m" }}

[workload.agents]
metadata = [{{ items = 2, interval = "15s" }}]

[workload.connections.ssh]
per_user = 0.6
[workload.connections.ide]
per_user = 1.2
[workload.connections.web_terminal]
per_user = 0.2
[workload.connections.dashboard]
requests_per_action = 4

[[workload.templates]]
name = "k8s-dev"
build_time = {{ dist = "lognormal", median = "100s", p95 = "5m" }}
stop_time = {{ dist = "lognormal", median = "30s", p95 = "90s" }}
failure_probability = 0.02
user_share = 0.7

[[workload.templates]]
name = "gpu-ml"
build_time = {{ dist = "lognormal", median = "6m", p95 = "15m" }}
stop_time = {{ dist = "lognormal", median = "45s", p95 = "2m" }}
failure_probability = 0.05
user_share = 0.3
"#,
        model = toml_str(model)
    )
}

/// The headline metrics the round trip must recover: (name, stat, labels).
type Labels = &'static [(&'static str, &'static str)];
const HEADLINE: [(&str, &str, Labels); 14] = [
    ("users_present", "mean", &[]),
    ("workspaces_running", "mean", &[]),
    ("builds_completed_total", "total", &[]),
    ("build_queue_wait_seconds", "mean", &[]),
    ("build_queue_wait_seconds", "p95", &[]),
    ("api_requests_per_second", "mean", &[("class", "total")]),
    ("api_requests_per_second", "mean", &[("class", "dashboard")]),
    ("api_requests_per_second", "mean", &[("class", "agent")]),
    ("coderd_cpu_cores", "mean", &[]),
    ("database_cpu_utilization", "mean", &[]),
    ("connections_active", "mean", &[("kind", "ssh")]),
    ("connections_active", "mean", &[("kind", "ide")]),
    ("connections_active", "mean", &[("kind", "web_terminal")]),
    ("agent_metadata_items_per_second", "mean", &[]),
];

fn headline(s: &Summary, name: &str, stat: &str, labels: &[(&str, &str)]) -> (f64, f64, f64) {
    let m = s
        .metrics
        .iter()
        .find(|m| {
            m.name == name
                && m.stat == stat
                && m.labels.len() == labels.len()
                && labels
                    .iter()
                    .all(|(k, v)| m.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .unwrap_or_else(|| panic!("{name} {stat} {labels:?}"));
    let v = m.value.unwrap();
    (v, m.ci_low.unwrap_or(v), m.ci_high.unwrap_or(v))
}

/// Write the answers of every documented query into `dir`.
fn write_answers(dir: &Path, fams: &[Family]) {
    std::fs::create_dir_all(dir).unwrap();
    for (name, text) in answers::answers(fams) {
        write(dir, &format!("{name}.json"), &text);
    }
}

#[test]
fn round_trip_recovers_the_workload() {
    let dir = scratch("prometheus-round-trip");
    let original_file = write(&dir, "original.toml", &week_scenario(&model_path()));
    let original = capsim::scenario::load(&original_file).unwrap();
    let reps = 3;
    let runs = run(&original, reps);
    // What Prometheus would hold after a real week: one sample path.
    let answers = dir.join("answers");
    write_answers(&answers, &export(&original, &runs[..1]));
    let out = dir.join("imported.toml");
    let o = import_into(&dir, &answers, &out, &[]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    let imported = capsim::scenario::load(&out).unwrap();
    println!("{}", std::fs::read_to_string(&out).unwrap());
    let runs2 = run(&imported, reps);
    let a = Summary::from_runs(&original, original.seed, &runs);
    let b = Summary::from_runs(&imported, imported.seed, &runs2);
    let mut failures = Vec::new();
    for (name, stat, labels) in HEADLINE {
        let (va, la, ha) = headline(&a, name, stat, labels);
        let (vb, lb, hb) = headline(&b, name, stat, labels);
        // The intervals overlap, and the means are within 25% of each other
        // (a check that matters where an interval is wide).
        let overlap = lb <= ha && la <= hb && (vb - va).abs() <= 0.25 * va.abs().max(1e-9);
        println!(
            "{name} {stat} {labels:?}: original {va:.4} [{la:.4}, {ha:.4}], imported {vb:.4} [{lb:.4}, {hb:.4}] {}",
            if overlap { "ok" } else { "MISS" }
        );
        if !overlap {
            failures.push(name);
        }
    }
    assert!(failures.is_empty(), "{failures:?}\n{stderr}");
}

// ---- OpenMetrics ------------------------------------------------------

/// The exposition cut into one exposition per timestamp (the parser crate
/// reads one snapshot per exposition: one point per series), each with the
/// families' TYPE and HELP lines and `# EOF`.
fn snapshots(text: &str) -> BTreeMap<String, String> {
    // Per family: its TYPE and HELP lines, and its sample lines by timestamp.
    type Lines<'a> = (Vec<&'a str>, BTreeMap<&'a str, Vec<&'a str>>);
    let mut families: Vec<Lines> = Vec::new();
    for line in text.lines() {
        if line == "# EOF" {
            break;
        }
        if line.starts_with("# TYPE ") {
            families.push((vec![line], BTreeMap::new()));
        } else if line.starts_with("# ") {
            families.last_mut().expect("TYPE first").0.push(line);
        } else {
            let ts = line.rsplit(' ').next().expect("a timestamp");
            let f = families.last_mut().expect("a family");
            f.1.entry(ts).or_default().push(line);
        }
    }
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for (head, by_ts) in &families {
        for (ts, lines) in by_ts {
            let doc = out.entry(ts.to_string()).or_default();
            for l in head.iter().chain(lines) {
                doc.push_str(l);
                doc.push('\n');
            }
        }
    }
    for doc in out.values_mut() {
        doc.push_str("# EOF\n");
    }
    out
}

fn as_f64(n: &MetricNumber) -> f64 {
    n.as_f64()
}

/// Parse `text` with the maintained parser, snapshot by snapshot, and
/// check what OpenMetrics and Prometheus require of it; returns the number
/// of histogram points checked.
fn check_openmetrics(text: &str) -> usize {
    assert!(text.ends_with("\n# EOF\n"), "ends with # EOF");
    assert_eq!(text.matches("# EOF").count(), 1);
    let mut histogram_points = 0;
    let snaps = snapshots(text);
    assert!(snaps.len() > 10, "{} timestamps", snaps.len());
    for (ts, doc) in &snaps {
        let e = openmetrics_parser::openmetrics::parse_openmetrics(doc)
            .unwrap_or_else(|e| panic!("at {ts}: {e:?}\n{}", &doc[..doc.len().min(2000)]));
        for (name, f) in &e.families {
            for sample in f.iter_samples() {
                match &sample.value {
                    OpenMetricsValue::Histogram(h) => {
                        assert_eq!(f.family_type, OpenMetricsType::Histogram);
                        histogram_points += 1;
                        let mut last = 0.0;
                        for b in &h.buckets {
                            let c = as_f64(&b.count);
                            assert!(c >= last, "{name} at {ts}: buckets are cumulative");
                            assert_eq!(c.fract(), 0.0, "{name}: whole observations");
                            last = c;
                        }
                        let inf = h
                            .buckets
                            .iter()
                            .find(|b| b.upper_bound.is_infinite())
                            .expect("+Inf bucket");
                        assert_eq!(
                            Some(as_f64(&inf.count) as u64),
                            h.count,
                            "{name} at {ts}: +Inf equals the count"
                        );
                    }
                    OpenMetricsValue::Counter(c) => {
                        assert!(as_f64(&c.value) >= 0.0, "{name}");
                    }
                    OpenMetricsValue::Gauge(_) => {}
                    v => panic!("{name}: unexpected {v:?}"),
                }
            }
        }
    }
    // Across snapshots: each series' points in time order, counters never
    // decreasing.
    let mut last: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let mut parts = line.rsplitn(3, ' ');
        let t: f64 = parts.next().unwrap().parse().unwrap();
        let v: f64 = parts.next().unwrap().parse().unwrap();
        let series = parts.next().unwrap();
        if let Some((t0, v0)) = last.insert(series, (t, v)) {
            assert!(t > t0, "{series}: time order");
            let cumulative = series.contains("_total{")
                || series.contains("_bucket{")
                || series.contains("_count{")
                || series.contains("_sum{");
            if cumulative {
                assert!(v >= v0, "{series}: a counter never decreases ({v0} -> {v})");
            }
        }
    }
    histogram_points
}

/// The 1,000-developer day with a replica crash: every kind of series
/// (a replica's CPU series stops and starts), two replications (histogram
/// counts are means, rounded on the running totals).
fn crash_day() -> (Scenario, Vec<RunResult>) {
    let sc =
        capsim::scenario::load(&repo().join("scenarios/coder/replica-crash-peak.toml")).unwrap();
    let runs = run(&sc, 2);
    (sc, runs)
}

#[test]
fn openmetrics_export_parses_and_its_histograms_are_prometheus_histograms() {
    let (sc, runs) = crash_day();
    let fams = export(&sc, &runs);
    let text = capsim::prom::openmetrics::render(&fams);
    let n = check_openmetrics(&text);
    assert!(n > 1000, "{n} histogram points");
    // Coder's names where capsim has an equivalent, capsim_* otherwise.
    for name in [
        "coderd_api_request_latencies_seconds",
        "coderd_provisioner_job_queue_wait_seconds",
        "coderd_provisionerd_workspace_build_timings_seconds",
        "coderd_api_requests_processed",
        "coderd_workspace_builds",
        "coderd_agents_up",
        "coderd_agentstats_session_count_ssh",
        "process_cpu_seconds",
        "capsim_connections_active",
        "capsim_database_cpu_utilization",
    ] {
        assert!(fams.iter().any(|f| f.name == name), "{name}");
    }
    assert!(!text.contains("coder_servertailnet_open_connections"));
    // The histograms' buckets are Coder's.
    let latency = text
        .lines()
        .find(|l| l.starts_with("coderd_api_request_latencies_seconds_bucket"))
        .unwrap();
    assert!(latency.contains("le=\"0.001\""), "{latency}");
    // Timestamps: t = 0 is 2025-03-03 00:00 UTC plus the scenario's start time.
    let t0 = 1_740_960_000.0 + sc.start_time_of_day.as_secs_f64();
    let first: f64 = text
        .lines()
        .find(|l| !l.starts_with('#'))
        .and_then(|l| l.rsplit(' ').next())
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(first, t0 + sc.warmup.as_secs_f64(), "the first counter's 0");
    // The API total integrates the per-class rates (the last bucket included).
    let total: f64 = fams
        .iter()
        .find(|f| f.name == "coderd_api_requests_processed")
        .unwrap()
        .series
        .iter()
        .map(|s| match s.points.last().unwrap().value {
            capsim::prom::openmetrics::PointValue::Number(v) => v,
            _ => unreachable!(),
        })
        .sum();
    let span = (sc.duration - sc.warmup).as_secs_f64();
    let mean_rate: f64 = Summary::from_runs(&sc, sc.seed, &runs)
        .metrics
        .iter()
        .filter(|m| m.name == "api_requests_per_second" && m.stat == "mean")
        .filter(|m| m.labels.get("class").is_some_and(|c| c != "total"))
        .map(|m| m.value.unwrap())
        .sum();
    assert!(
        (total / span - mean_rate).abs() < 1e-6 * mean_rate,
        "{} vs {mean_rate}",
        total / span
    );
}

#[test]
fn run_openmetrics_and_runs_export_write_the_same_bytes() {
    let dir = scratch("prometheus-cli-export");
    let db = dir.join("runs.db");
    let scenario = repo().join("scenarios/build-queue/working-day.toml");
    let args = |out: &str| -> Vec<String> {
        [
            "run",
            scenario.to_str().unwrap(),
            "--db",
            db.to_str().unwrap(),
            "--out",
            out,
            "--openmetrics",
            "--start",
            START,
            "--replications",
            "2",
            "--format",
            "json",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let out = dir.join("reports");
    let a = args(out.to_str().unwrap());
    let o = capsim_in(&dir, &a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let written =
        std::fs::read_to_string(out.join("build-queue-working-day/openmetrics.txt")).unwrap();
    check_openmetrics(&written);
    let listed = capsim_in(
        &dir,
        &[
            "runs",
            "list",
            "--db",
            db.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    let runs: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    let id = runs[0]["id"].as_str().unwrap().to_string();
    let export = |extra: &[&str]| {
        let mut a = vec!["runs", "export", &id, "--db", db.to_str().unwrap()];
        a.extend_from_slice(extra);
        capsim_in(&dir, &a)
    };
    let o = export(&["--format", "openmetrics", "--start", START]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        String::from_utf8(o.stdout).unwrap(),
        written,
        "stdout = the run's file"
    );
    let file = dir.join("again.txt");
    let o = export(&[
        "--format",
        "openmetrics",
        "--start",
        START,
        "--out",
        file.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        written,
        "deterministic"
    );
    // Bad input: no start date, a start that is not a date.
    let o = export(&["--format", "openmetrics"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--start"), "{}", stderr(&o));
    let o = export(&["--format", "openmetrics", "--start", "yesterday"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

/// `promtool tsdb create-blocks-from openmetrics` loads the export, when
/// promtool is installed (Debian's `prometheus` package ships it).
#[test]
fn promtool_loads_the_export_when_installed() {
    let Some(mut promtool) = promtool() else {
        eprintln!("promtool is not on the PATH: skipped (apt-get install prometheus)");
        return;
    };
    let dir = scratch("prometheus-promtool");
    let (sc, runs) = crash_day();
    let file = write(
        &dir,
        "export.txt",
        &capsim::prom::openmetrics::render(&export(&sc, &runs)),
    );
    let o = promtool
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(&file)
        .arg(dir.join("tsdb"))
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let blocks = std::fs::read_dir(dir.join("tsdb")).unwrap().count();
    assert!(blocks >= 1, "promtool wrote {blocks} blocks");
}

// ---- import -------------------------------------------------------------

fn fixtures() -> PathBuf {
    repo().join("tests/fixtures/prometheus")
}

/// Every answer fixture with its expected outcome (`responses/expected.csv`).
#[test]
fn answer_fixtures_parse_as_expected() {
    let dir = fixtures().join("responses");
    let mut rdr = csv::ReaderBuilder::new()
        .comment(Some(b'#'))
        .from_path(dir.join("expected.csv"))
        .unwrap();
    let mut n = 0;
    for rec in rdr.records() {
        let rec = rec.unwrap();
        let (file, outcome, series, points, nan, message) =
            (&rec[0], &rec[1], &rec[2], &rec[3], &rec[4], &rec[5]);
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        let r = capsim::prom::response::parse(file, &text);
        match outcome {
            "ok" => {
                let m = r.unwrap_or_else(|e| panic!("{file}: {e}"));
                assert_eq!(m.series.len().to_string(), series, "{file}: series");
                let pts: usize = m.series.iter().map(|s| s.points.len()).sum();
                assert_eq!(pts.to_string(), points, "{file}: points");
                let nans = m
                    .series
                    .iter()
                    .flat_map(|s| &s.points)
                    .filter(|p| p.1.is_nan())
                    .count();
                assert_eq!(nans.to_string(), nan, "{file}: NaN");
                assert!(
                    message.is_empty() || m.warnings.iter().any(|w| w.contains(message)),
                    "{file}: {:?}",
                    m.warnings
                );
            }
            "error" => {
                let e = r.expect_err(file).to_string();
                assert!(e.starts_with(file), "{e}");
                assert!(e.contains(message), "{file}: {e}");
            }
            o => panic!("{file}: outcome {o}"),
        }
        n += 1;
    }
    assert!(n >= 7, "{n} fixtures");
}

/// The scenario the `week/` fixture was exported from: a week of 120
/// developers on two templates, hourly buckets (Prometheus's step).
fn week_fixture_scenario(model: &Path) -> String {
    week_scenario(model)
        .replace("bucket = \"5m\"", "bucket = \"1h\"")
        .replace("count = 300", "count = 120")
        .replace("name = \"roundtrip-week\"", "name = \"fixture-week\"")
}

fn bless() -> bool {
    std::env::var("CAPSIM_BLESS").is_ok_and(|v| v == "1")
}

/// The answers folder as the expected files name it, whatever the checkout's path.
const WEEK_ANSWERS: &str = "tests/fixtures/prometheus/week/answers";

/// The model path as from the fixture's folder (the import writes it
/// relative to the scratch folder), and the answers folder as the expected
/// files name it, whatever the checkout's path.
fn normalised(text: &str) -> String {
    let abs = fixtures().join("week/answers").display().to_string();
    text.split_inclusive('\n')
        .map(|l| {
            if l.starts_with("model = ") {
                "model = \"../../../../models/coder.toml\"\n".to_string()
            } else {
                l.replace(&abs, WEEK_ANSWERS)
            }
        })
        .collect()
}

/// `capsim import prometheus` on the committed week (answers in
/// Prometheus's format, hourly steps) writes the committed scenario and
/// targets; the scenario validates and the targets load.
/// `CAPSIM_BLESS=1` regenerates the answers and the expected files.
#[test]
fn week_fixture_imports_to_the_expected_scenario_and_targets() {
    let week = fixtures().join("week");
    if bless() {
        let dir = scratch("prometheus-week-bless");
        let f = write(&dir, "week.toml", &week_fixture_scenario(&model_path()));
        let sc = capsim::scenario::load(&f).unwrap();
        let runs = run(&sc, 1);
        write_answers(&week.join("answers"), &export(&sc, &runs));
    }
    let dir = scratch("prometheus-week");
    let out = dir.join("week.toml");
    let targets = dir.join("week-targets.csv");
    let answers = week.join("answers");
    let o = import_into(
        &dir,
        &answers,
        &out,
        &["--targets", targets.to_str().unwrap(), "--name", "week"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let scenario = normalised(&std::fs::read_to_string(&out).unwrap());
    let targets_text = normalised(&std::fs::read_to_string(&targets).unwrap());
    if bless() {
        std::fs::write(week.join("expected-scenario.toml"), &scenario).unwrap();
        std::fs::write(week.join("expected-targets.csv"), &targets_text).unwrap();
    }
    let expected = std::fs::read_to_string(week.join("expected-scenario.toml")).unwrap();
    assert_eq!(
        scenario, expected,
        "CAPSIM_BLESS=1 cargo test --release --test it prometheus:: if intended"
    );
    assert_eq!(
        targets_text,
        std::fs::read_to_string(week.join("expected-targets.csv")).unwrap()
    );
    // It validates through the binary, and the targets load for calibrate.
    let o = capsim_in(&dir, &["validate", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let t = capsim::calibrate::targets::load(&targets).unwrap_or_else(|e| panic!("{e}"));
    assert!(t.len() >= 15, "{} targets", t.len());
    assert!(t.iter().all(|x| x.source.contains("Prometheus query")));
    assert!(
        t.iter().all(|x| x.scenario_path == out),
        "{:?}",
        t[0].scenario_path
    );
    // What the metrics cannot say is marked.
    assert!(scenario.matches("PLACEHOLDER").count() >= 3);
    // The expected scenario is a scenario where it lies.
    capsim::scenario::load(&week.join("expected-scenario.toml")).unwrap();
}

/// A scratch folder with a copy of the week's answers in `answers/`, to change them.
fn week_copy(tag: &str) -> (Scratch, PathBuf) {
    let s = scratch(tag);
    let dir = s.join("answers");
    std::fs::create_dir_all(&dir).unwrap();
    for e in std::fs::read_dir(fixtures().join("week/answers")).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, dir.join(p.file_name().unwrap())).unwrap();
    }
    (s, dir)
}

/// `capsim import prometheus answers --out out.toml` in the scratch folder.
fn import(s: &Scratch) -> std::process::Output {
    import_into(s, Path::new("answers"), Path::new("out.toml"), &[])
}

/// `capsim import prometheus ANSWERS --out OUT --model <models/coder.toml> EXTRA...` in `dir`.
fn import_into(dir: &Scratch, answers: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let model = model_path();
    let mut args = vec![
        "import",
        "prometheus",
        answers.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    capsim_in(dir, &args)
}

#[test]
fn a_missing_query_is_named_and_exits_2() {
    let (s, dir) = week_copy("prometheus-missing");
    std::fs::remove_file(dir.join("build_time.json")).unwrap();
    let o = import(&s);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("answers/build_time.json: missing"), "{e}");
    assert!(
        e.contains("coderd_provisionerd_workspace_build_timings_seconds_bucket"),
        "the query to run: {e}"
    );
    assert!(!s.join("out.toml").exists(), "nothing written");
    // An optional query missing is a warning naming it, and the import goes on.
    let (s, dir) = week_copy("prometheus-missing-optional");
    std::fs::remove_file(dir.join("sessions.json")).unwrap();
    let o = import(&s);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("warning: sessions: no answer"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn an_error_answer_is_named_and_exits_2() {
    let (s, dir) = week_copy("prometheus-error-answer");
    std::fs::copy(
        fixtures().join("responses/error-bad-data.json"),
        dir.join("api_latency.json"),
    )
    .unwrap();
    let o = import(&s);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("answers/api_latency.json: Prometheus answered with an error (bad_data)"),
        "{e}"
    );
    assert!(!s.join("out.toml").exists(), "nothing written");
}

/// NaN values and missing points are warnings naming the query; they are
/// left out, not read as 0.
#[test]
fn partial_answers_are_warnings_that_name_the_query() {
    let (s, dir) = week_copy("prometheus-partial");
    let path = dir.join("sessions.json");
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let values = v["data"]["result"][0]["values"].as_array_mut().unwrap();
    values[20][1] = "NaN".into();
    values.remove(40);
    std::fs::write(&path, v.to_string()).unwrap();
    let o = import(&s);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let e = stderr(&o);
    let line = e
        .lines()
        .find(|l| l.starts_with("warning: sessions:"))
        .unwrap_or_else(|| panic!("{e}"));
    assert!(line.contains("1 steps missing, 1 NaN"), "{line}");
    assert!(
        line.contains("coderd_agentstats_session_count"),
        "names the query: {line}"
    );
}

// ---- the README ---------------------------------------------------------

/// The README gives every query (its table and the curl loop's list, the
/// PromQL exactly as the import documents it) and every row of the mapping.
#[test]
fn readme_documents_every_query_and_every_mapping() {
    use capsim::prom::mapping::{Kind, MAPPINGS, QUERIES};
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    for q in &QUERIES {
        assert!(
            readme.contains(&format!("\n{}|{}\n", q.name, q.promql)),
            "the curl loop lacks {}",
            q.name
        );
        let row = format!(
            "| `{}` | `{}` | {} |",
            q.name,
            q.promql.replace('|', "\\|"),
            if q.required { "yes" } else { "no" }
        );
        assert!(readme.contains(&row), "the queries table lacks {row}");
    }
    for m in &MAPPINGS {
        let select: Vec<String> = m
            .select
            .iter()
            .map(|(k, v)| format!("{k}=\"{v}\""))
            .collect();
        let select = if select.is_empty() {
            String::new()
        } else {
            format!("{{{}}}", select.join(","))
        };
        let sample = match m.kind {
            Kind::Counter => format!("{}_total", m.family),
            _ => m.family.to_string(),
        };
        let row = format!(
            "| `{}{select}` | `{sample}` | {} |",
            m.capsim,
            m.kind.name()
        );
        assert!(readme.contains(&row), "the mapping table lacks {row}");
        assert!(
            readme.contains(m.note),
            "the mapping table lacks the note of {row}"
        );
    }
}

/// Prometheus's answers to the documented queries, computed from a run's
/// OpenMetrics export as Prometheus would compute them once the export is
/// loaded (ideal: a rate is the increase over the step divided by the step,
/// without Prometheus's extrapolation at the edges).
mod answers {
    use capsim::prom::mapping::{Kind, QUERIES, Query};
    use capsim::prom::openmetrics::{Family, PointValue};
    use serde_json::{Value, json};
    use std::collections::BTreeMap;

    /// A series of an answer: its labels and `(unix time, value)` points.
    pub type AnswerSeries = (BTreeMap<String, String>, Vec<(f64, f64)>);

    /// One sample series: its labels (with `__name__`) and `(time, value)` points.
    struct Samples {
        labels: BTreeMap<String, String>,
        points: Vec<(f64, f64)>,
    }

    /// The sample series an exposition holds under `sample` (a counter's
    /// `_total`, a gauge's name, a histogram's `_bucket`, `_count` or `_sum`).
    fn samples(fams: &[Family], sample: &str) -> Vec<Samples> {
        let mut out = Vec::new();
        for f in fams {
            let part = sample.strip_prefix(f.name.as_str()).unwrap_or("?");
            let ok = match f.kind {
                Kind::Counter => part == "_total",
                Kind::Gauge => part.is_empty(),
                Kind::Histogram => matches!(part, "_bucket" | "_count" | "_sum"),
            };
            if !ok {
                continue;
            }
            for s in &f.series {
                let mut base = s.labels.clone();
                base.insert("__name__".into(), sample.to_string());
                if part == "_bucket" {
                    let mut per_le: BTreeMap<String, Samples> = BTreeMap::new();
                    for p in &s.points {
                        let PointValue::Histogram { buckets, .. } = &p.value else {
                            continue;
                        };
                        for (le, c) in buckets {
                            let le = if le.is_infinite() {
                                "+Inf".to_string()
                            } else {
                                capsim::engine::metrics::le_label(*le)
                            };
                            per_le
                                .entry(le.clone())
                                .or_insert_with(|| {
                                    let mut l = base.clone();
                                    l.insert("le".into(), le);
                                    Samples {
                                        labels: l,
                                        points: Vec::new(),
                                    }
                                })
                                .points
                                .push((p.t_unix_s, *c));
                        }
                    }
                    out.extend(per_le.into_values());
                } else {
                    let points =
                        s.points
                            .iter()
                            .map(|p| {
                                let v = match &p.value {
                                    PointValue::Number(v) => *v,
                                    PointValue::Histogram { count, sum, .. } => {
                                        if part == "_count" { *count } else { *sum }
                                    }
                                };
                                (p.t_unix_s, v)
                            })
                            .collect();
                    out.push(Samples {
                        labels: base,
                        points,
                    });
                }
            }
        }
        out
    }

    /// `q`'s answer as the series Prometheus would return: `(labels, points)`.
    pub fn evaluate(q: &Query, fams: &[Family]) -> Vec<AnswerSeries> {
        let spec = &q.spec;
        // `metadata`: coderd's batcher stores every metadata item agents send,
        // so the rate of `coderd_agentapi_metadata_batch_size_sum` is capsim's
        // items per second (which capsim exports as its own gauge).
        let (series, rate): (Vec<Samples>, bool) = if q.name == "metadata" {
            (
                samples(fams, "capsim_agent_metadata_items_per_second"),
                false,
            )
        } else {
            (
                spec.samples.iter().flat_map(|s| samples(fams, s)).collect(),
                spec.rate,
            )
        };
        let mut groups: BTreeMap<Vec<String>, BTreeMap<i64, (f64, f64)>> = BTreeMap::new();
        for s in series {
            if !spec
                .matchers
                .iter()
                .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            {
                continue;
            }
            let key: Vec<String> = spec
                .by
                .iter()
                .map(|k| s.labels.get(*k).cloned().unwrap_or_default())
                .collect();
            let g = groups.entry(key).or_default();
            let values: Vec<(f64, f64)> = if rate {
                s.points
                    .windows(2)
                    .map(|w| (w[1].0, (w[1].1 - w[0].1) / (w[1].0 - w[0].0)))
                    .collect()
            } else {
                s.points.clone()
            };
            for (t, v) in values {
                let e = g.entry((t * 1000.0).round() as i64).or_insert((t, 0.0));
                e.1 += v;
            }
        }
        groups
            .into_iter()
            .map(|(key, pts)| {
                let labels = spec
                    .by
                    .iter()
                    .zip(key)
                    .filter(|(_, v)| !v.is_empty())
                    .map(|(k, v)| (k.to_string(), v))
                    .collect();
                (labels, pts.into_values().collect())
            })
            .collect()
    }

    /// A value as Prometheus writes it in JSON (a string; `NaN`, `+Inf`).
    pub fn value_text(v: f64) -> String {
        if v.is_nan() {
            "NaN".into()
        } else if v.is_infinite() {
            if v > 0.0 { "+Inf" } else { "-Inf" }.into()
        } else {
            format!("{v}")
        }
    }

    /// A timestamp as Prometheus writes it: seconds, with milliseconds only
    /// when there are any (`1741564800`, `1741564800.5`).
    pub fn timestamp(t: f64) -> Value {
        let ms = (t * 1000.0).round() as i64;
        if ms % 1000 == 0 {
            json!(ms / 1000)
        } else {
            json!(ms as f64 / 1000.0)
        }
    }

    /// The JSON text of a `query_range` answer holding `series`.
    pub fn answer_json(series: &[AnswerSeries]) -> String {
        let result: Vec<Value> = series
            .iter()
            .map(|(labels, points)| {
                let values: Vec<Value> = points
                    .iter()
                    .map(|(t, v)| json!([timestamp(*t), value_text(*v)]))
                    .collect();
                json!({ "metric": labels, "values": values })
            })
            .collect();
        json!({"status": "success", "data": {"resultType": "matrix", "result": result}}).to_string()
    }

    /// Every documented query's answer (`<name>.json` text) from an export.
    pub fn answers(fams: &[Family]) -> BTreeMap<&'static str, String> {
        QUERIES
            .iter()
            .map(|q| (q.name, answer_json(&evaluate(q, fams))))
            .collect()
    }
}

/// `--utc-offset` reads times of day in local time: the users' arrivals
/// move by the offset.
#[test]
fn utc_offset_moves_the_time_of_day() {
    let dir = scratch("prometheus-utc-offset");
    let answers = fixtures().join("week/answers");
    let day_start_mean = |offset: &str| -> f64 {
        let out = dir.join(format!("week{offset}.toml"));
        let o = import_into(&dir, &answers, &out, &["--utc-offset", offset]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let text = std::fs::read_to_string(&out).unwrap();
        let t: toml::Table = toml::from_str(&text).unwrap();
        t["workload"]["users"]["groups"][0]["day_start"]["mean"]
            .as_str()
            .unwrap()
            .trim_end_matches('s')
            .parse::<f64>()
            .unwrap()
    };
    let utc = day_start_mean("0");
    let plus2 = day_start_mean("+2h");
    assert!((plus2 - utc - 7200.0).abs() < 1.0, "{utc} -> {plus2}");
    let o = import_into(
        &dir,
        &answers,
        &dir.join("x.toml"),
        &["--utc-offset", "+20h"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}
