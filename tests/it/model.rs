//! The deployment model's checks (issue 3): load balancing and replica loss,
//! metadata rates and write paths, CPU accounting, conservation, common
//! random numbers.

use crate::support::{extend, load, metric, model_path, repo, scratch, toml_str};
use capsim::result::RunResult;
use capsim::{Scenario, simulate};
use std::path::{Path, PathBuf};

/// The `steady-users` fixture extended with `body` (in a scratch folder), loaded.
fn scenario(tag: &str, body: &str) -> Scenario {
    let dir = scratch(&format!("model/{tag}"));
    load(&extend(&dir, tag, "steady-users.toml", body))
}

/// The same on another model file.
fn scenario_with_model(tag: &str, body: &str, model: &Path) -> Scenario {
    scenario(tag, &format!("model = {}\n{body}", toml_str(model)))
}

/// 2,000 users present all run, each with one relayed SSH and one IDE
/// connection, on `replicas` replicas of 8 vCPU behind `lb`; a share `p2p`
/// of the sessions is peer-to-peer.
fn steady(replicas: u32, lb: &str, p2p: f64, extra: &str) -> String {
    format!(
        r#"
seed = 11
duration = "40m"
bucket = "1m"
[deployment.coderd]
replicas = {replicas}
vcpu = 8
ram = "32GB"
load_balancer = "{lb}"
[deployment.provisioners]
count = 5
[deployment.database]
vcpu = 8
[workload.users]
count = 2000
p2p_fraction = {p2p}
[workload.connections.ssh]
per_user = 1
bytes_per_s = "1KB"
[workload.connections.ide]
per_user = 1
bytes_per_s = "1KB"
{extra}
"#
    )
}

const SCALE_DOWN_AT_30M: &str = r#"
[[events]]
at = "+30m"
action = "scale_coderd"
replicas = 3
"#;

#[test]
fn scaling_four_replicas_to_three_drops_a_quarter_of_pinned_connections() {
    for lb in ["round_robin", "least_connections"] {
        let s = scenario(
            &format!("scale-{lb}"),
            &steady(4, lb, 0.0, SCALE_DOWN_AT_30M),
        );
        let r = simulate(&s, 11);
        // Even spread before the scale-down (minute 25): each replica held a quarter.
        let conns: Vec<f64> = (0..4)
            .map(|i| {
                r.series
                    .find("coderd_connections", "mean", &[("replica", &i.to_string())])
                    .unwrap()
                    .values[25]
            })
            .collect();
        let total: f64 = conns.iter().sum();
        for c in &conns {
            assert!(
                (c / total - 0.25).abs() < 0.01,
                "{lb}: uneven spread {conns:?}"
            );
        }
        for kind in ["ssh", "ide", "agent"] {
            let dropped = metric(&r, "connections_dropped_total", "total", &[("kind", kind)]);
            let open = metric(&r, "connections_active", "max", &[("kind", kind)]);
            let frac = dropped / open;
            assert!(
                (frac - 0.25).abs() <= 0.03,
                "{lb} {kind}: dropped {dropped} of {open} = {frac}"
            );
        }
        // Dropped SSH and IDE sessions are interruptions; everyone reconnects.
        let interrupted = metric(&r, "interruptions_total", "total", &[]);
        let dropped_user = metric(&r, "connections_dropped_total", "total", &[("kind", "ssh")])
            + metric(&r, "connections_dropped_total", "total", &[("kind", "ide")]);
        assert_eq!(interrupted, dropped_user);
        let reconnected = metric(&r, "reconnects_total", "total", &[("kind", "ssh")]);
        assert_eq!(
            reconnected,
            metric(&r, "connections_dropped_total", "total", &[("kind", "ssh")])
        );
        assert_eq!(metric(&r, "coderd_replicas", "last", &[]), 3.0);
    }
}

#[test]
fn direct_connections_survive_replica_loss() {
    let s = scenario("direct", &steady(4, "round_robin", 1.0, SCALE_DOWN_AT_30M));
    let r = simulate(&s, 11);
    assert_eq!(
        metric(&r, "connections_dropped_total", "total", &[("kind", "ssh")]),
        0.0
    );
    assert_eq!(
        metric(&r, "connections_dropped_total", "total", &[("kind", "ide")]),
        0.0
    );
    assert_eq!(metric(&r, "interruptions_total", "total", &[]), 0.0);
    // Agents are still pinned to coderd: a quarter of them reconnect.
    let agents = metric(
        &r,
        "connections_dropped_total",
        "total",
        &[("kind", "agent")],
    );
    assert!((agents / 2000.0 - 0.25).abs() <= 0.03, "{agents}");
}

/// The 500 users' agents report `items` metadata items every `interval_s`
/// seconds to 2 replicas of 8 vCPU and a database of 16.
fn metadata_scenario(items: u32, interval_s: u32) -> String {
    format!(
        r#"
seed = 5
duration = "30m"
warmup = "5m"
bucket = "1m"
[deployment.coderd]
vcpu = 8
[deployment.database]
vcpu = 16
[workload.agents]
metadata = [{{ items = {items}, interval = "{interval_s}s" }}]
"#
    )
}

/// A copy of models/coder.toml with one parameter's value replaced, as `dir/file`.
fn model_variant(dir: &Path, file: &str, param: &str, value: &str) -> PathBuf {
    let text = std::fs::read_to_string(model_path()).unwrap();
    let header = format!("[params.{param}]\nvalue = ");
    let start = text.find(&header).unwrap_or_else(|| panic!("no {param}")) + header.len();
    let end = start + text[start..].find('\n').unwrap();
    let out = format!("{}{value}{}", &text[..start], &text[end..]);
    let p = dir.join(file);
    std::fs::write(&p, out).unwrap();
    p
}

#[test]
fn metadata_calls_arrive_at_items_times_agents_over_interval() {
    // Agent-side batching: one call per tick carrying every item.
    let s = scenario("meta", &metadata_scenario(3, 10));
    let r = simulate(&s, 5);
    let items = metric(&r, "agent_metadata_items_per_second", "mean", &[]);
    let calls = metric(&r, "agent_metadata_calls_per_second", "mean", &[]);
    assert!(
        (items / (3.0 * 500.0 / 10.0) - 1.0).abs() < 0.01,
        "items/s {items}"
    );
    assert!(
        (calls / (500.0 / 10.0) - 1.0).abs() < 0.01,
        "calls/s {calls}"
    );
    // Without it (Coder before issue 10225) every item is its own call.
    let dir = scratch("model/meta-unbatched");
    let m = model_variant(&dir, "model.toml", "metadata_agent_batching", "0");
    let s = scenario_with_model("meta-unbatched", &metadata_scenario(3, 10), &m);
    let r = simulate(&s, 5);
    let calls = metric(&r, "agent_metadata_calls_per_second", "mean", &[]);
    assert!(
        (calls / (3.0 * 500.0 / 10.0) - 1.0).abs() < 0.01,
        "calls/s {calls}"
    );
}

#[test]
fn batched_write_path_writes_far_less_than_per_call() {
    let dir = scratch("model/write-paths");
    let per_call = model_variant(&dir, "per-call.toml", "metadata_write_path", "\"per_call\"");
    let batched = model_variant(&dir, "batched.toml", "metadata_write_path", "\"batched\"");
    let body = metadata_scenario(2, 10);
    let a = simulate(&scenario_with_model("wp-a", &body, &per_call), 5);
    let b = simulate(&scenario_with_model("wp-b", &body, &batched), 5);
    // Same data arrives either way...
    assert_eq!(
        metric(&a, "agent_metadata_items_per_second", "mean", &[]),
        metric(&b, "agent_metadata_items_per_second", "mean", &[])
    );
    // ...but the batcher turns 50 writes/s into one flush per replica per 5 s.
    let wa = metric(&a, "database_writes_per_second", "mean", &[]);
    let wb = metric(&b, "database_writes_per_second", "mean", &[]);
    let heartbeats = 500.0 / 15.0;
    assert!(
        (wa - heartbeats - 50.0).abs() < 2.0,
        "per-call writes/s {wa}"
    );
    // Batched: heartbeats, one metadata flush per replica per 5 s, the stats batcher's flushes.
    assert!(wb - heartbeats < 5.0, "batched writes/s {wb}");
    assert!(wa - wb > 45.0, "per-call {wa} vs batched {wb}");
    assert!(
        metric(&b, "database_cpu_utilization", "mean", &[])
            < metric(&a, "database_cpu_utilization", "mean", &[])
    );
}

#[test]
fn replica_cpu_busy_time_equals_the_work_it_served() {
    let s = scenario("accounting", &steady(2, "round_robin", 0.0, ""));
    let r = simulate(&s, 3);
    for i in ["0", "1"] {
        let busy = metric(
            &r,
            "coderd_cpu_busy_seconds_total",
            "total",
            &[("replica", i)],
        );
        let work = metric(
            &r,
            "coderd_cpu_work_seconds_total",
            "total",
            &[("replica", i)],
        );
        assert!(work > 10.0, "replica {i} did little work: {work}");
        // Equal to rounding, less the partial work of requests in service at the end (< 1 s).
        assert!(
            busy >= work - 1e-6 && busy - work < 1.0,
            "replica {i}: busy {busy} s vs work {work} s"
        );
    }
}

#[test]
fn connections_and_jobs_are_conserved() {
    for name in [
        "coder/replica-crash-peak.toml",
        "coder/scale-down-11am.toml",
        "coder/autostart-herd.toml",
    ] {
        let s = capsim::scenario::load(&repo().join("scenarios").join(name)).unwrap();
        let r = simulate(&s, s.seed);
        for kind in ["ssh", "ide", "web_terminal", "app", "dashboard", "agent"] {
            let l = [("kind", kind)];
            let opened = metric(&r, "connections_opened_total", "total", &l);
            let closed = metric(&r, "connections_closed_total", "total", &l);
            let dropped = metric(&r, "connections_dropped_total", "total", &l);
            let open = metric(&r, "connections_active", "last", &l);
            assert_eq!(
                opened,
                closed + dropped + open,
                "{name} {kind}: {opened} != {closed} + {dropped} + {open}"
            );
        }
        let created = metric(&r, "builds_created_total", "total", &[]);
        let done = metric(&r, "builds_completed_total", "total", &[])
            + metric(&r, "builds_failed_total", "total", &[])
            + metric(&r, "builds_cancelled_total", "total", &[]);
        let in_flight = metric(&r, "build_queue_length", "last", &[])
            + metric(&r, "provisioner_busy_daemons", "last", &[]);
        assert_eq!(created, done + in_flight, "{name}: jobs");
        assert!(created > 100.0, "{name}: {created} builds");
    }
}

#[test]
fn same_seed_same_result_and_architectures_share_arrivals() {
    let base =
        capsim::scenario::load(&repo().join("scenarios/coder/working-day-1000.toml")).unwrap();
    let a = simulate(&base, 99);
    let b = simulate(&base, 99);
    // Debug output, not ==: empty histogram buckets hold NaN, which is never equal to itself.
    assert_eq!(format!("{a:?}"), format!("{b:?}"));
    // A different architecture on the same seed: same users arriving, same builds asked for.
    let other =
        capsim::scenario::load(&repo().join("scenarios/coder/scale-down-11am.toml")).unwrap();
    let c = simulate(&other, 99);
    assert_eq!(
        metric(&a, "user_sessions_total", "total", &[]),
        metric(&c, "user_sessions_total", "total", &[])
    );
    assert!(metric(&a, "user_sessions_total", "total", &[]) > 500.0);
    assert_eq!(
        metric(&a, "builds_created_total", "total", &[]),
        metric(&c, "builds_created_total", "total", &[])
    );
    assert_ne!(format!("{a:?}"), format!("{:?}", simulate(&base, 100)));
}

#[test]
fn a_removed_replica_has_no_utilisation_after_it_goes() {
    // scale-down-11am: 4 replicas, one removed at 11:00 (simulated from 00:00).
    let sc = capsim::scenario::load(&repo().join("scenarios/coder/scale-down-11am.toml")).unwrap();
    let r = simulate(&sc, 7);
    let ts = &r.series;
    let gone = ts
        .find("coderd_cpu_utilization", "mean", &[("replica", "3")])
        .unwrap();
    let bucket_of = |t_s: f64| ((t_s - ts.start_s) / ts.bucket_s) as usize;
    let cut = bucket_of(11.0 * 3600.0);
    assert!(gone.values[..cut].iter().all(|v| v.is_finite()));
    assert!(gone.values[cut + 1..].iter().all(|v| v.is_nan()));
    // Busy before, so its mean is over the buckets it was up, not the day.
    assert!(gone.values[bucket_of(10.0 * 3600.0)] > 0.0);
    // Total cores in use: the sum over the replicas present in each bucket.
    let cores = ts.find("coderd_cpu_cores", "mean", &[]).unwrap();
    let vcpu = sc.deployment.coderd.vcpu_per_replica;
    for b in [bucket_of(10.0 * 3600.0), bucket_of(15.0 * 3600.0)] {
        let sum: f64 = (0..4)
            .map(|i| {
                ts.find(
                    "coderd_cpu_utilization",
                    "mean",
                    &[("replica", &i.to_string())],
                )
                .unwrap()
                .values[b]
            })
            .filter(|v| v.is_finite())
            .sum();
        assert!((cores.values[b] - sum * vcpu).abs() < 1e-9);
        assert!(cores.values[b].is_finite() && cores.values[b] > 0.0);
    }
}

#[test]
fn metadata_size_costs_coderd_per_kb_sent_and_the_database_per_kb_stored() {
    // 500 agents, 16 items every 10 s (800 items/s), of three sizes.
    let run = |size: &str| {
        let body = metadata_scenario(16, 10).replace(
            r#"interval = "10s" }]"#,
            &format!(r#"interval = "10s", size = "{size}" }}]"#),
        );
        assert!(body.contains(size));
        simulate(&scenario(&format!("meta-size-{size}"), &body), 5)
    };
    let (small, at_cap, over) = (run("64B"), run("2048B"), run("8192B"));
    for (r, b) in [(&small, 64.0), (&at_cap, 2048.0), (&over, 8192.0)] {
        let bps = metric(r, "agent_metadata_bytes_per_second", "mean", &[]);
        assert!((bps / (800.0 * b) - 1.0).abs() < 0.01, "{b} B: {bps} B/s");
    }
    let work = |r: &RunResult| {
        ["0", "1"]
            .iter()
            .map(|i| {
                metric(
                    r,
                    "coderd_cpu_work_seconds_total",
                    "total",
                    &[("replica", i)],
                )
            })
            .sum::<f64>()
    };
    // coderd pays for every kB received: 800 items/s x 6.144 kB more x
    // 0.04 ms/kB (models/coder.toml) = 0.197 cores over the 30 minutes.
    let extra = work(&over) - work(&at_cap);
    let expect = 800.0 * 6.144 * 0.04e-3 * 1800.0;
    assert!((extra / expect - 1.0).abs() < 0.05, "{extra} vs {expect}");
    assert!(work(&at_cap) > work(&small));
    // The database stores at most 2,048 B of each value: past the cap its
    // CPU does not grow; below it, it does.
    let db = |r: &RunResult| metric(r, "database_cpu_utilization", "mean", &[]);
    assert!(
        (db(&over) / db(&at_cap) - 1.0).abs() < 0.002,
        "{} vs {}",
        db(&over),
        db(&at_cap)
    );
    assert!(
        db(&at_cap) > db(&small) * 1.02,
        "{} vs {}",
        db(&at_cap),
        db(&small)
    );
}
