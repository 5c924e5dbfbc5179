//! Availability (issue 11): while no coderd replica is ready, API requests
//! and connection dials fail and count in `api_errors_total` (by class),
//! `coderd_available` falls below 1 and `api_success_ratio` below 1, and an
//! SLO on either sees the outage.

use crate::support::{extend, load, metric, model_path, scratch, write};
use capsim::result::{SloStatus, Summary};
use capsim::simulate;

/// 500 users with running workspaces (agents connected), SSH sessions and
/// dashboards, on `replicas` coderd replicas; replica 0 is killed at 10
/// minutes and comes back after `restart`; two availability SLOs.
fn body(replicas: u32) -> String {
    format!(
        r#"
model = "model.toml"
seed = 4
duration = "30m"
warmup = "2m"
bucket = "1m"
[deployment.coderd]
replicas = {replicas}
[workload.users]
workspaces_running_at_start = true
[workload.connections.ssh]
per_user = 0.2
[workload.connections.dashboard]
per_user = 0.3
duration = {{ dist = "exponential", mean = "5m" }}
gap = {{ dist = "exponential", mean = "1m" }}
[[events]]
at = "+10m"
action = "kill_replica"
replica = 0
[[slo]]
name = "coderd available 99.9% of the time"
metric = "coderd_available"
stat = "mean"
min = "99.9%"
[[slo]]
name = "99% of API requests succeed"
metric = "api_success_ratio"
stat = "mean"
min = "99%"
"#
    )
}

/// The shipped model with a killed replica back after 5 minutes (the
/// shipped restart delay is 1 minute).
fn model_with_restart_s(dir: &std::path::Path, restart_s: f64) {
    let text = std::fs::read_to_string(model_path()).unwrap();
    let old = "[params.coderd_restart_delay_s]\nvalue = 60.0\n";
    assert!(text.contains(old), "the model's restart delay moved");
    let range = "range = [15.0, 180.0]\n";
    assert!(
        text.contains(range),
        "the model's restart delay range moved"
    );
    // The test's own value, known exactly.
    let text = text
        .replace(
            old,
            &format!("[params.coderd_restart_delay_s]\nvalue = {restart_s:?}\n"),
        )
        .replace(range, &format!("range = [{restart_s:?}, {restart_s:?}]\n"));
    write(dir, "model.toml", &text);
}

#[test]
fn a_single_replica_killed_for_5_minutes_is_an_outage_the_slos_see() {
    let dir = scratch("availability/one-replica");
    model_with_restart_s(&dir, 300.0);
    let sc = load(&extend(&dir, "one", "steady-users.toml", &body(1)));
    let r = simulate(&sc, sc.seed);
    // Requests and dials failed, of every class that tried.
    assert!(metric(&r, "api_errors_total", "total", &[]) > 0.0);
    for class in ["agent", "connect"] {
        assert!(
            metric(&r, "api_errors_total", "total", &[("class", class)]) > 0.0,
            "no {class} errors"
        );
    }
    // Down 5 of the 28 counted minutes: available 23/28 of the time.
    let avail = metric(&r, "coderd_available", "mean", &[]);
    assert!(
        (avail - 23.0 / 28.0).abs() < 1e-3,
        "coderd_available {avail}, expected 23/28"
    );
    let ok = metric(&r, "api_success_ratio", "mean", &[]);
    assert!(ok < 1.0 && ok > 0.0, "api_success_ratio {ok}");
    assert!(metric(&r, "api_success_ratio", "min", &[]) < ok);
    // Both SLOs fail.
    let s = Summary::from_runs(&sc, sc.seed, std::slice::from_ref(&r));
    for v in &s.slo {
        assert_eq!(v.status, SloStatus::Fail, "{v:?}");
    }
    // New connections waited and came back once the replica was ready.
    assert!(metric(&r, "reconnects_total", "total", &[("kind", "agent")]) > 0.0);
    assert_eq!(metric(&r, "coderd_available", "last", &[]), 1.0);
}

#[test]
fn with_two_replicas_losing_one_keeps_coderd_available() {
    let dir = scratch("availability/two-replicas");
    model_with_restart_s(&dir, 300.0);
    let sc = load(&extend(&dir, "two", "steady-users.toml", &body(2)));
    let r = simulate(&sc, sc.seed);
    assert_eq!(metric(&r, "coderd_available", "mean", &[]), 1.0);
    // Every dial found a ready replica (only requests in flight on the
    // killed replica were lost).
    assert_eq!(
        metric(&r, "api_errors_total", "total", &[("class", "connect")]),
        0.0
    );
    let s = Summary::from_runs(&sc, sc.seed, std::slice::from_ref(&r));
    assert_eq!(s.slo[0].status, SloStatus::Pass, "{:?}", s.slo[0]);
}
