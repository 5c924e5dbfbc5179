//! Overload: a build queue at or over capacity ends the run normally, is
//! reported as saturated with a note that says why, and keeps memory
//! bounded (the waiting line is capped; jobs beyond the cap are rejected).

use crate::support::{QueueSpec, capsim_in, model_path, scratch, stdout, toml_str, write};
use std::path::Path;

const EXP_1S: &str = "{ dist = \"exponential\", mean = \"1s\" }";

fn queue<'a>(name: &'a str, model: &'a Path, c: u32, lambda_per_s: f64) -> QueueSpec<'a> {
    QueueSpec {
        name,
        model,
        c,
        lambda_per_s,
        build_time: EXP_1S,
        duration_s: 4.0 * 3600.0,
        warmup_s: 600.0,
        bucket_s: 600.0,
        seed: 11,
    }
}

fn metric(r: &capsim::RunResult, name: &str, stat: &str) -> f64 {
    r.metric(name, stat)
        .unwrap_or_else(|| panic!("no metric {name} {stat}"))
}

#[test]
fn utilisation_one_and_above_is_saturated_and_explained() {
    let dir = scratch("saturation/explained");
    let model = model_path();
    for (name, c, lambda, load) in [("rho100", 2, 2.0, "1.00"), ("rho150", 2, 3.0, "1.50")] {
        let s = queue(name, &model, c, lambda).load(&dir);
        let r = capsim::simulate(&s, s.seed);
        assert!(r.saturated, "{name}: not reported saturated");
        let note = r
            .notes
            .iter()
            .find(|n| n.contains("provisioners") && n.contains(&format!("offered load {load}")))
            .unwrap_or_else(|| panic!("{name}: no note explains the overload: {:?}", r.notes));
        assert!(note.contains(">= 1"), "{note}");
        // The daemons are busy nearly all the time, and the queue grew.
        assert!(metric(&r, "provisioner_utilization", "mean") > 0.95);
        assert!(metric(&r, "build_queue_length", "max") > 50.0);
    }
    // Just below capacity is neither saturated nor noted.
    let s = queue("rho80", &model, 2, 1.6).load(&dir);
    let r = capsim::simulate(&s, s.seed);
    assert!(!r.saturated && r.notes.is_empty(), "{:?}", r.notes);
}

#[test]
fn a_peak_over_capacity_is_noted_but_not_saturated() {
    let dir = scratch("saturation/peak");
    let text = format!(
        "model = {}\nduration = \"24h\"\nwarmup = \"1h\"\n[deployment.provisioners]\ncount = 2\n\
         [[workload.templates]]\nname = \"t\"\nbuild_time = {EXP_1S}\n\
         builds = {{ profile = [[\"00:00\", \"1/s\"], [\"09:00\", \"3/s\"], [\"10:00\", \"1/s\"]] }}\n",
        toml_str(&model_path())
    );
    let s = capsim::scenario::load(&write(&dir, "peak.toml", &text)).unwrap();
    let r = capsim::simulate(&s, 1);
    assert!(!r.saturated, "{:?}", r.notes);
    assert!(
        r.notes.iter().any(|n| n.contains("peaks at 1.50")),
        "{:?}",
        r.notes
    );
}

#[test]
fn overload_through_the_cli_exits_zero_and_says_saturated() {
    let dir = scratch("saturation/cli");
    let model = model_path();
    let p = write(&dir, "over.toml", &queue("over", &model, 1, 1.5).toml());
    let o = capsim_in(&dir, &["run", p.to_str().unwrap(), "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("JSON on stdout");
    assert_eq!(v[0]["saturated"], serde_json::Value::Bool(true));
    let o = capsim_in(&dir, &["run", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    let table = stdout(&o);
    assert!(table.contains("offered load 1.50"), "{table}");
}

/// A model file equal to the shipped one but with some parameters changed.
fn model_with(dir: &Path, params: &[(&str, f64)]) -> std::path::PathBuf {
    let text = std::fs::read_to_string(model_path()).unwrap();
    let mut t: toml::Table = toml::from_str(&text).unwrap();
    let ps = t
        .entry("params")
        .or_insert_with(|| toml::Value::Table(Default::default()))
        .as_table_mut()
        .unwrap();
    for (name, value) in params {
        let mut p = toml::Table::new();
        p.insert("value".into(), toml::Value::Float(*value));
        // The unit the model reads the parameter in (the model file is checked).
        let unit = capsim::scenario::costs::PARAMS
            .iter()
            .find(|s| s.name == *name)
            .map_or("1", |s| s.unit);
        p.insert("unit".into(), unit.into());
        p.insert("description".into(), "test override".into());
        p.insert("provenance".into(), "assumed".into());
        p.insert("source".into(), "tests/it/saturation.rs".into());
        // The test's own value, known exactly.
        p.insert(
            "range".into(),
            toml::Value::Array(vec![toml::Value::Float(*value); 2]),
        );
        p.insert("range_reason".into(), "the test's setting".into());
        ps.insert(name.to_string(), toml::Value::Table(p));
    }
    write(dir, "model.toml", &toml::to_string(&t).unwrap())
}

#[test]
fn the_waiting_line_is_capped_and_overflow_is_rejected() {
    // Twenty times more builds than one daemon can run, for a simulated
    // day, with no pending time-out: without the cap the line would hold
    // about 1.6 million jobs by the end. With the cap at 1,000 it never
    // holds more, and the rest are rejected and counted.
    const CAP: f64 = 1_000.0;
    let dir = scratch("saturation/capped");
    let model = model_with(
        &dir,
        &[
            ("provisioner_max_waiting_jobs", CAP),
            ("provisioner_pending_timeout_s", 0.0),
        ],
    );
    let mut spec = queue("flood", &model, 1, 20.0);
    spec.duration_s = 24.0 * 3600.0;
    spec.warmup_s = 0.0;
    spec.bucket_s = 3600.0;
    let s = spec.load(&dir);
    let r = capsim::simulate(&s, s.seed);

    assert!(r.saturated);
    assert_eq!(metric(&r, "build_queue_length", "max"), CAP);
    let rejected = r
        .notes
        .iter()
        .find(|n| n.contains("rejected"))
        .unwrap_or_else(|| panic!("no note about rejected builds: {:?}", r.notes));
    assert!(
        rejected.contains("1000 jobs were already waiting"),
        "{rejected}"
    );
    // Everything that arrived either started, is among the <= CAP waiting,
    // or was rejected (rejections count as failed builds).
    let started = metric(&r, "builds_started_total", "total");
    let failed = metric(&r, "builds_failed_total", "total");
    let expected_arrivals = 20.0 * spec.duration_s;
    let accounted = started + failed;
    assert!(
        (accounted - expected_arrivals).abs() < CAP + 5.0 * expected_arrivals.sqrt(),
        "started {started} + rejected {failed} vs about {expected_arrivals} arrivals"
    );
    assert!(failed > 0.9 * expected_arrivals, "{failed}");
    // One daemon ran flat out, one build at a time.
    assert!((metric(&r, "provisioner_utilization", "mean") - 1.0).abs() < 1e-3);
    // The series hold one value per bucket, not per event.
    let q = r.series.find("build_queue_length", "max", &[]).unwrap();
    assert_eq!(q.values.len(), 24);
}
