//! SLOs that mean something (issue 11): an SLO whose statistic has no
//! sample in a run is "no data" (JSON `"pass": null, "status": "no_data"`),
//! never a pass, and the table and `report.md` say so.

use crate::support::{capsim, extend, ok, scratch, stderr, stdout};

/// 500 users present for two minutes, with no dashboard open: the dashboard
/// latency has no sample. The second SLO has data and passes.
const NO_DASHBOARDS: &str = r#"
name = "no-dashboards"
seed = 3
duration = "2m"

[[slo]]
name = "dashboard p95 under 300 ms"
metric = "api_latency_seconds"
stat = "p95"
labels = { class = "dashboard" }
max = "300ms"

[[slo]]
name = "no interruptions"
metric = "interruptions_total"
stat = "total"
max = 0
"#;

#[test]
fn an_slo_without_samples_is_no_data_never_a_pass() {
    let dir = scratch("slo/no-data");
    let f = extend(&dir, "s", "steady-users.toml", NO_DASHBOARDS);
    let out = ok(capsim(&dir)
        .args(["run", "--no-store", "--no-report", "--format", "json"])
        .arg(&f));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let slo = &v[0]["slo"];
    assert_eq!(slo[0]["status"], "no_data", "{slo}");
    assert!(slo[0]["pass"].is_null(), "{slo}");
    assert!(slo[0]["value"].is_null(), "{slo}");
    assert_eq!(slo[1]["status"], "pass", "{slo}");
    assert_eq!(slo[1]["pass"], true, "{slo}");
    // The statistic itself has no value (not a made-up 0).
    let p95 = v[0]["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| {
            m["name"] == "api_latency_seconds"
                && m["stat"] == "p95"
                && m["labels"]["class"] == "dashboard"
        })
        .expect("the dashboard latency is listed");
    assert!(p95["value"].is_null(), "{p95}");

    // The table and report.md say it.
    let out = ok(capsim(&dir)
        .args(["run", "--no-store", "--out"])
        .arg(dir.join("out"))
        .arg(&f));
    let table = stdout(&out);
    assert!(
        table
            .lines()
            .any(|l| l.trim_start().starts_with("no data")
                && l.contains("dashboard p95 under 300 ms")),
        "{table}"
    );
    let md = std::fs::read_to_string(dir.join("out/no-dashboards/report.md")).unwrap();
    assert!(md.contains("no data"), "{md}");
    assert!(!md.contains("All 2 SLOs pass"), "{md}");
}

/// An SLO whose metric, statistic or label can match nothing the model
/// reports is an input error (exit 2) at its line, before any simulation:
/// in the scenario (`validate` and `run`) and in `size --slo`.
#[test]
fn an_slo_that_can_match_nothing_is_an_error_at_its_line() {
    let dir = scratch("slo/unknown");
    for (name, slo, at, words) in [
        (
            "metric",
            "metric = \"api_latncy_seconds\"\nstat = \"p95\"",
            "metric.toml:4:1: slo[0].metric",
            "did you mean \"api_latency_seconds\"",
        ),
        (
            "stat",
            "metric = \"interruptions_total\"\nstat = \"p95\"",
            "stat.toml:5:1: slo[0].stat",
            "expected one of \"total\" or \"rate\"",
        ),
        (
            "label",
            "metric = \"api_latency_seconds\"\nstat = \"p95\"\nlabels = { class = \"dashbaord\" }",
            "label.toml:6:12: slo[0].labels.class",
            "did you mean \"dashboard\"",
        ),
        (
            "label-key",
            "metric = \"api_latency_seconds\"\nstat = \"p95\"\nlabels = { kind = \"ssh\" }",
            "label-key.toml:6:12: slo[0].labels.kind",
            "unknown label \"kind\"",
        ),
    ] {
        let body = format!("duration = \"2m\"\n[[slo]]\n{slo}\nmax = 1\n");
        let f = extend(&dir, name, "steady-users.toml", &body);
        for cmd in [&["validate"][..], &["run", "--no-store", "--no-report"][..]] {
            let o = capsim(&dir).args(cmd).arg(&f).output().unwrap();
            let err = stderr(&o);
            assert_eq!(o.status.code(), Some(2), "{name} {cmd:?}: {err}");
            assert!(err.contains(at), "{name}: no `{at}` in {err}");
            assert!(err.contains(words), "{name}: no `{words}` in {err}");
            assert_eq!(stdout(&o), "", "{name}: nothing simulated");
        }
    }

    // `size --slo` makes the same check, about the flag, before searching.
    let f = extend(&dir, "size", "steady-users.toml", "duration = \"2m\"\n");
    let prices = crate::support::repo().join("models/prices/gcp-us-central1.toml");
    let spec = "api_latency_seconds{class=dashbaord}.p95<=300ms";
    let o = capsim(&dir)
        .args(["size", "--slo", spec, "--prices"])
        .arg(&prices)
        .arg(&f)
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("--slo {spec}: slo[0].labels.class"))
            && err.contains("did you mean \"dashboard\""),
        "{err}"
    );
    assert!(!dir.join("reports").exists(), "size searched: {err}");
}
