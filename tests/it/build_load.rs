//! What builds and fleet-wide periodic work cost coderd and the database,
//! and the agent API tail that moves with the database's load (issue 11).
//! Each test compares runs on the same seed (common random numbers) that
//! differ in one thing.

use crate::support::{load, metric, model_path, repo, scratch, toml_str, write};
use capsim::{Scenario, simulate};

/// A scenario written to a scratch folder and loaded.
fn scenario_of(tag: &str, body: &str) -> Scenario {
    let dir = scratch(&format!("build-load/{tag}"));
    load(&write(&dir, &format!("{tag}.toml"), body))
}

/// Mean coderd CPU (vCPU over all replicas) and database CPU (vCPU) of a run.
fn cpu(s: &Scenario) -> (f64, f64) {
    let r = simulate(s, s.seed);
    let coderd = metric(&r, "coderd_cpu_cores", "mean", &[]);
    let db = metric(&r, "database_cpu_utilization", "mean", &[]) * s.deployment.database.vcpu;
    (coderd, db)
}

/// One 16 vCPU replica with `builtin` built-in daemons and `external`
/// external ones; with `builds`, builds of 2 minutes arrive twice as fast as
/// 30 daemons serve them, so after the warm-up all 30 are busy.
fn thirty_builds(builtin: u32, external: u32, builds: bool) -> Scenario {
    let arrivals = if builds {
        "builds = { rate = \"30/m\" }"
    } else {
        ""
    };
    let tag = format!("b{builtin}-e{external}-{builds}");
    scenario_of(
        &tag,
        &format!(
            r#"
name = "{tag}"
model = {model}
seed = 30
duration = "20m"
warmup = "6m"
bucket = "1m"
[deployment.coderd]
replicas = 1
vcpu = 16
ram = "64GB"
builtin_provisioners = {builtin}
[deployment.provisioners]
count = {external}
[deployment.database]
vcpu = 8
[[workload.templates]]
name = "t"
build_time = {{ dist = "constant", value = "120s" }}
{arrivals}
"#,
            model = toml_str(&model_path())
        ),
    )
}

#[test]
fn thirty_builtin_builds_cost_their_replica_eight_cores_and_external_ones_only_api_work() {
    // ../shared/data/build-load-evidence.csv B1: roughly 8 cores per 30
    // concurrent builds on built-in daemons.
    let (idle, _) = cpu(&thirty_builds(30, 0, false));
    let (busy, _) = cpu(&thirty_builds(30, 0, true));
    let rise = busy - idle;
    println!("30 built-in builds: coderd {idle:.2} -> {busy:.2} vCPU (+{rise:.2})");
    assert!(
        (rise - 8.0).abs() <= 0.35 * 8.0,
        "coderd CPU rose by {rise:.2} vCPU"
    );

    // The same builds on external daemons: coderd serves their API calls only.
    let s = thirty_builds(0, 30, true);
    let (idle, _) = cpu(&thirty_builds(0, 30, false));
    let (busy, _) = cpu(&s);
    let rise = busy - idle;
    let k = &s.costs;
    let log_vcpu = 30.0 * k.build_log_calls_per_s * k.coderd_cpu_ms_build_log_call / 1e3;
    // Phase calls: create and acquire/complete at most 2 + 0.25 builds/s.
    let calls_vcpu = 3.0 * 0.5 * k.coderd_cpu_ms_build_request / 1e3;
    let api = log_vcpu + calls_vcpu + k.coderd_cpu_ms_agent_register / 1e3;
    println!("30 external builds: coderd +{rise:.3} vCPU, API work {api:.3}");
    assert!(
        rise > 0.5 * log_vcpu,
        "external builds cost coderd {rise:.3}"
    );
    assert!(
        rise <= api * 1.05,
        "external builds cost coderd {rise:.3} > {api:.3}"
    );
}

/// 10,000 users with running workspaces on a Coder with coderd's metadata
/// batcher (the 2025 test of B8), 700 external daemons; with `builds`, a
/// build of 60 s every 0.1 s keeps about 600 of them busy.
fn ten_thousand(builds: bool) -> Scenario {
    let dir = scratch(&format!("build-load/10k-{builds}"));
    let text = std::fs::read_to_string(model_path())
        .unwrap()
        .replace("value = \"per_call\"", "value = \"batched\"");
    assert!(text.contains("\"batched\""));
    let model = write(&dir, "model.toml", &text);
    let arrivals = if builds {
        "builds = { rate = \"10/s\" }"
    } else {
        ""
    };
    load(&write(
        &dir,
        "s.toml",
        &format!(
            r#"
name = "ten-thousand"
model = {model}
seed = 10000
duration = "8m"
warmup = "3m"
bucket = "1m"
[deployment.coderd]
replicas = 6
vcpu = 8
ram = "32GB"
builtin_provisioners = 0
[deployment.provisioners]
count = 700
[deployment.database]
vcpu = 16
[[workload.templates]]
name = "t"
build_time = {{ dist = "constant", value = "60s" }}
{arrivals}
[workload.users]
count = 10000
mode = "steady"
active_fraction = 0.0
workspaces_running_at_start = true
"#,
            model = toml_str(&model)
        ),
    ))
}

#[test]
fn six_hundred_concurrent_builds_are_most_of_the_database_load_at_ten_thousand_users() {
    // ../shared/data/build-load-evidence.csv B8: "concurrent workspace builds
    // account for the vast majority of DB load".
    let with = ten_thousand(true);
    let r = simulate(&with, with.seed);
    let busy = metric(&r, "provisioner_busy_daemons", "mean", &[]);
    assert!((550.0..=650.0).contains(&busy), "{busy} builds running");
    let (_, db_with) = cpu(&with);
    let (_, db_without) = cpu(&ten_thousand(false));
    let share = (db_with - db_without) / db_with;
    println!(
        "database {db_without:.2} -> {db_with:.2} vCPU with {busy:.0} builds: share {share:.2}"
    );
    assert!(share > 0.5, "builds are {share:.2} of database CPU");
}

/// `users` workspaces, all with an autostart schedule, on `replicas`
/// replicas, for 10 minutes: all stopped, or all running.
fn fleet(users: u32, replicas: u32, running: bool) -> capsim::RunResult {
    let tag = format!("fleet-{users}-{replicas}-{running}");
    let s = scenario_of(
        &tag,
        &format!(
            r#"
name = "{tag}"
model = {model}
seed = 7
duration = "10m"
bucket = "1m"
[deployment.coderd]
replicas = {replicas}
vcpu = 8
ram = "32GB"
builtin_provisioners = 0
[deployment.provisioners]
count = 1
[deployment.database]
vcpu = 8
[[workload.templates]]
name = "t"
build_time = {{ dist = "constant", value = "60s" }}
[workload.users]
count = {users}
mode = "steady"
active_fraction = 0.0
autostart_fraction = 1.0
workspaces_running_at_start = {running}
"#,
            model = toml_str(&model_path())
        ),
    );
    simulate(&s, s.seed)
}

#[test]
fn fleet_wide_periodic_work_grows_with_workspaces_and_replicas() {
    let q = |r: &capsim::RunResult, job: &str| {
        (
            metric(r, "periodic_db_queries_total", "total", &[("job", job)]),
            metric(r, "periodic_db_cpu_seconds_total", "total", &[("job", job)]),
        )
    };
    // B10: about 7 queries per eligible workspace (stopped, with an
    // autostart schedule) per replica every minute.
    let base = fleet(500, 2, false);
    let (a0, _) = q(&base, "autobuild");
    let per_tick = 7.0 * 500.0 * 2.0;
    assert!(a0 >= 9.0 * per_tick && a0 % per_tick == 0.0, "{a0}");
    assert_eq!(q(&fleet(1000, 2, false), "autobuild").0, 2.0 * a0);
    assert_eq!(q(&fleet(500, 4, false), "autobuild").0, 2.0 * a0);
    // Running workspaces are not eligible.
    assert_eq!(q(&fleet(500, 2, true), "autobuild").0, 0.0);
    // B11: the deployment stats scan grows with the agents' rows.
    let (_, d0) = q(&fleet(500, 2, true), "deployment_stats");
    let (_, d1) = q(&fleet(1000, 2, true), "deployment_stats");
    assert!(d0 > 0.0);
    assert!((d1 / d0 - 2.0).abs() < 0.02, "{d0} -> {d1}");
}

#[test]
fn database_encryption_costs_every_replica_a_core() {
    let run = |enc: bool| {
        let tag = format!("enc-{enc}");
        let s = scenario_of(
            &tag,
            &format!(
                r#"
name = "{tag}"
model = {model}
seed = 3
duration = "5m"
bucket = "1m"
[deployment.coderd]
replicas = 3
vcpu = 4
builtin_provisioners = 0
database_encryption = {enc}
[deployment.provisioners]
count = 1
[[workload.templates]]
name = "t"
build_time = {{ dist = "constant", value = "60s" }}
"#,
                model = toml_str(&model_path())
            ),
        );
        cpu(&s).0
    };
    let rise = run(true) - run(false);
    assert!(
        (rise - 3.0).abs() < 1e-6,
        "encryption: +{rise} vCPU on 3 replicas"
    );
}

/// The 2,000-user scale test on a database of `vcpu` vCPU: the agent API
/// p95 (ms) and whether the run saturated.
fn agent_p95_ms(vcpu: f64) -> (f64, bool) {
    let s = capsim::scenario::load_with_overrides(
        &repo().join("scenarios/scale-tests/traffic-2000-users.toml"),
        &[("deployment.database.vcpu".into(), toml::Value::Float(vcpu))],
    )
    .unwrap();
    let r = simulate(&s, s.seed);
    (
        metric(&r, "api_latency_seconds", "p95", &[("class", "agent")]) * 1e3,
        r.saturated,
    )
}

#[test]
fn agent_api_tail_falls_with_a_larger_database_and_grows_with_a_smaller_one() {
    let (p2, _) = agent_p95_ms(2.0);
    let (p8, _) = agent_p95_ms(8.0);
    let (p32, _) = agent_p95_ms(32.0);
    let (p1, sat1) = agent_p95_ms(1.0);
    println!(
        "agent p95: 1 vCPU {p1:.0} ms (saturated {sat1}), 2: {p2:.1}, 8: {p8:.1}, 32: {p32:.1}"
    );
    assert!(p2 > p8 && p8 > p32, "{p2} {p8} {p32}");
    // Clearly: four times the database at least halves the tail.
    assert!(p8 < 0.5 * p2, "{p2} -> {p8}");
    assert!(sat1 || p1 > p2, "half the database: {p1} ms against {p2}");
}
