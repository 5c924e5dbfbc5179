//! Control paths of the deployment model: autoscalers, signals, outages,
//! cluster capacity, proxies and out-of-memory kills.

use crate::support::{extend, load, metric, model_path, scratch, toml_str, write};
use capsim::result::RunResult;
use capsim::{Scenario, simulate};

/// The `steady-users` fixture extended with `body` (in a scratch folder), loaded.
fn scenario(tag: &str, body: &str) -> Scenario {
    let dir = scratch(&format!("model_control/{tag}"));
    load(&extend(&dir, tag, "steady-users.toml", body))
}

/// A scenario of its own (no users: a build queue), on the shipped model.
fn standalone(tag: &str, body: &str) -> Scenario {
    let dir = scratch(&format!("model_control/{tag}"));
    let text = format!("model = {}\n{body}", toml_str(&model_path()));
    load(&write(&dir, &format!("{tag}.toml"), &text))
}

/// Dashboards that open and close all the time (so new replicas receive
/// some), and a traffic spike from 10 to 70 minutes that drives CPU up.
fn hpa_body() -> String {
    r#"
seed = 3
duration = "3h"
bucket = "1m"
[deployment.coderd]
vcpu = 2
ram = "64GB"
[deployment.provisioners]
count = 2
[deployment.database]
vcpu = 16
[workload.users]
count = 1000
[workload.connections.dashboard]
per_user = 0.3
duration = { dist = "exponential", mean = "5m" }
gap = { dist = "exponential", mean = "1m" }
requests_per_action = 3
[[events]]
at = "+10m"
action = "traffic_spike"
factor = 4
duration = "60m"
[autoscaling.coderd]
target_cpu = 0.5
min = 2
max = 8
scale_down_window = "5m"
cooldown = "2m"
"#
    .to_string()
}

#[test]
fn hpa_scales_up_under_load_and_down_after_it_dropping_connections() {
    let r = simulate(&scenario("hpa", &hpa_body()), 3);
    let replicas = r.series.find("coderd_replicas", "mean", &[]).unwrap();
    let peak = replicas.values.iter().copied().fold(0.0, f64::max);
    assert!(peak >= 3.0, "never scaled up: {:?}", replicas.values);
    assert_eq!(
        metric(&r, "coderd_replicas", "last", &[]),
        2.0,
        "scaled back to min"
    );
    // New replicas only get new connections; scale-down drops what they hold.
    assert!(
        metric(
            &r,
            "connections_dropped_total",
            "total",
            &[("kind", "dashboard")]
        ) > 0.0
    );
    assert_eq!(
        metric(
            &r,
            "connections_dropped_total",
            "total",
            &[("kind", "agent")]
        ),
        0.0,
        "agents stayed on the first replicas"
    );
    assert!(
        r.marks
            .iter()
            .any(|m| m.label.contains("autoscaler: scale up")),
        "{:?}",
        r.marks
    );
    assert!(
        r.marks
            .iter()
            .any(|m| m.label.contains("autoscaler: scale down")),
        "{:?}",
        r.marks
    );
}

fn builds_body(signal: &str) -> String {
    format!(
        r#"
seed = 8
duration = "4h"
bucket = "5m"
[deployment.provisioners]
count = 10
[[workload.templates]]
name = "slow"
build_time = {{ dist = "constant", value = "20m" }}
builds = {{ rate = "30/h" }}
[[events]]
at = "+2h"
action = "remove_provisioners"
count = 5
signal = "{signal}"
"#
    )
}

#[test]
fn sighup_lets_builds_finish_and_sigint_cancels_them() {
    let hup = simulate(&standalone("hup", &builds_body("sighup")), 8);
    let int = simulate(&standalone("int", &builds_body("sigint")), 8);
    assert_eq!(metric(&hup, "builds_cancelled_total", "total", &[]), 0.0);
    assert_eq!(
        metric(&int, "builds_cancelled_total", "total", &[]),
        5.0,
        "five busy daemons interrupted"
    );
    for r in [&hup, &int] {
        assert_eq!(metric(r, "provisioner_daemons", "last", &[]), 5.0);
    }
}

#[test]
fn provisioner_autoscaler_follows_the_queue() {
    let body = r#"
seed = 9
duration = "6h"
bucket = "5m"
start_time = "08:00"
[deployment.provisioners]
count = 1
[[workload.templates]]
name = "t"
build_time = { dist = "exponential", mean = "3m" }
builds = { profile = [["00:00", "2/h"], ["09:00", "200/h"], ["11:00", "2/h"]] }
[autoscaling.provisioners]
min = 1
max = 20
queue_per_daemon = 1
interval = "30s"
startup = "30s"
"#;
    let r = simulate(&standalone("prov-auto", body), 9);
    let d = r.series.find("provisioner_daemons", "mean", &[]).unwrap();
    let peak = d.values.iter().copied().fold(0.0, f64::max);
    assert!(peak >= 8.0, "scaled to {peak}");
    assert!(metric(&r, "provisioner_daemons", "last", &[]) <= 2.0);
}

#[test]
fn database_outage_stalls_requests_then_recovers() {
    let body = r#"
seed = 4
duration = "40m"
bucket = "1m"
[deployment.database]
vcpu = 4
[[events]]
at = "+20m"
action = "database_outage"
duration = "2m"
"#;
    let r = simulate(&scenario("outage", body), 4);
    let p99 = r
        .series
        .find("api_latency_seconds", "p99", &[("class", "agent")])
        .unwrap();
    // Nothing completes during the outage; what was waiting finishes when it ends.
    let worst = p99.values[20..25]
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    assert!(
        worst > 60.0,
        "requests wait out the outage: {:?}",
        &p99.values[18..26]
    );
    assert!(p99.values[30] < 0.5, "recovered: {}", p99.values[30]);
    assert!(r.marks.iter().any(|m| m.kind == "outage"));
}

fn capacity_body(when_full: &str) -> String {
    format!(
        r#"
seed = 6
duration = "12h"
bucket = "5m"
[deployment.coderd]
replicas = 1
[deployment.provisioners]
count = 50
[deployment.cluster]
nodes = 2
workspaces_per_node = 100
max_nodes = 10
scale_up_delay = "5m"
when_full = "{when_full}"
[workload.users]
mode = "calendar"
"#
    )
}

#[test]
fn a_full_cluster_waits_for_nodes_or_fails_builds() {
    let wait = simulate(&scenario("cap-wait", &capacity_body("wait")), 6);
    assert_eq!(
        metric(&wait, "builds_capacity_failed_total", "total", &[]),
        0.0
    );
    assert!(
        metric(&wait, "workspaces_running", "max", &[]) > 200.0,
        "nodes were added"
    );
    assert!(wait.marks.iter().any(|m| m.label.starts_with("node added")));
    let fail = simulate(&scenario("cap-fail", &capacity_body("fail")), 6);
    assert!(metric(&fail, "builds_capacity_failed_total", "total", &[]) > 0.0);
    assert!(metric(&fail, "workspaces_running", "max", &[]) <= 200.0);
}

fn proxy_body(proxy: bool) -> String {
    let p = if proxy {
        "[[deployment.proxies]]\nname = \"eu\"\nvcpu = 4\nuser_share = 1.0\n"
    } else {
        ""
    };
    format!(
        r#"
seed = 2
duration = "20m"
bucket = "1m"
{p}
[workload.connections.ssh]
per_user = 1
bytes_per_s = "40KB"
[[events]]
at = "+15m"
action = "kill_replica"
"#
    )
}

#[test]
fn a_proxy_carries_relayed_traffic_and_survives_replica_loss() {
    let direct = simulate(&scenario("no-proxy", &proxy_body(false)), 2);
    let proxied = simulate(&scenario("proxy", &proxy_body(true)), 2);
    let cpu = |r: &RunResult| metric(r, "coderd_cpu_cores", "mean", &[]);
    // The proxy takes exactly the relay load off coderd: 500 connections x 40 KB/s x the relay cost.
    let model = capsim::scenario::ModelParams::load(&model_path()).unwrap();
    let relay_cores =
        500.0 * 40e3 / 1e6 * model.require("coderd_cpu_ms_per_relayed_mb").unwrap() / 1e3;
    let saved = cpu(&direct) - cpu(&proxied);
    assert!(
        (saved / relay_cores - 1.0).abs() < 0.1,
        "saved {saved} vCPU, relay load {relay_cores} vCPU"
    );
    let proxy_util = metric(
        &proxied,
        "proxy_cpu_utilization",
        "mean",
        &[("proxy", "eu")],
    );
    assert!(
        (proxy_util * 4.0 / relay_cores - 1.0).abs() < 0.1,
        "proxy at {proxy_util} of 4 vCPU"
    );
    assert!(
        metric(
            &direct,
            "connections_dropped_total",
            "total",
            &[("kind", "ssh")]
        ) > 0.0
    );
    assert_eq!(
        metric(
            &proxied,
            "connections_dropped_total",
            "total",
            &[("kind", "ssh")]
        ),
        0.0
    );
}

/// One SSH session per user on replicas of 1.2 GB: more than their memory
/// holds (ends inside `[workload.connections.ssh]`, so a test can add to it).
const OOM_BODY: &str = r#"
seed = 1
duration = "20m"
bucket = "1m"
[deployment.coderd]
ram = "1.2GB"
[workload.connections.ssh]
per_user = 1
"#;

/// A connection whose own load pushes its replica over its memory is
/// closed again at once, with the replica's other connections: its client
/// reconnects like them (this used to keep the closed connection's id and
/// panic on a session with a duration).
#[test]
fn a_connection_that_kills_its_replica_as_it_opens_is_dropped_with_the_rest() {
    let body = format!(
        "{OOM_BODY}duration = {{ dist = \"exponential\", mean = \"5m\" }}\n\
         gap = {{ dist = \"exponential\", mean = \"1m\" }}\n"
    );
    let r = simulate(&scenario("oom-at-open", &body), 1);
    assert!(r.marks.iter().any(|m| m.kind == "replica-loss"));
    let ssh = &[("kind", "ssh")];
    let dropped = metric(&r, "connections_dropped_total", "total", ssh);
    let reconnects = metric(&r, "reconnects_total", "total", ssh);
    assert!(dropped > 0.0 && reconnects > 0.0, "{dropped} {reconnects}");
}

#[test]
fn a_replica_over_its_memory_is_killed_and_restarted() {
    let r = simulate(&scenario("oom", OOM_BODY), 1);
    assert!(
        r.notes.iter().any(|n| n.contains("out of memory")),
        "{:?}",
        r.notes
    );
    assert!(r.marks.iter().any(|m| m.kind == "replica-loss"));
    assert!(
        metric(
            &r,
            "connections_dropped_total",
            "total",
            &[("kind", "agent")]
        ) > 0.0
    );
}
