//! Workspace compute: node pools, placement, the cluster autoscaler, the
//! wait for a node and its time-out, node-hours and their cost.

use crate::support::{extend, fixture, load, metric, scenario as example, scratch};
use capsim::result::{RunResult, Summary};
use capsim::{Scenario, simulate};

/// The `steady-users` fixture extended with `body` (in a scratch folder), loaded.
fn scenario(tag: &str, body: &str) -> Scenario {
    let dir = scratch(&format!("nodes/{tag}"));
    load(&extend(&dir, tag, "steady-users.toml", body))
}

/// The `pool-starts` fixture (20 users who arrive in the first minute and
/// start their workspaces, 60 s builds and no build queue, on a pool of
/// 8 vCPU / 32 GB nodes at 90% allocatable: 7 workspaces a node) with its
/// nodes starting in `delay` and `min` warm nodes.
fn starts(delay: &str, min: u32) -> RunResult {
    let mut delay_t = toml::Table::new();
    delay_t.insert("dist".into(), "constant".into());
    delay_t.insert("value".into(), delay.into());
    let s = capsim::scenario::load_with_overrides(
        &fixture("pool-starts.toml"),
        &[
            (
                "deployment.node_pools[0].startup_delay".into(),
                toml::Value::Table(delay_t),
            ),
            (
                "deployment.node_pools[0].min".into(),
                toml::Value::Integer(min.into()),
            ),
        ],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    simulate(&s, 5)
}

#[test]
fn always_running_workspaces_use_the_nodes_the_packing_rule_gives() {
    // 500 workspaces of 1 vCPU / 2 GB running from the start; a node has
    // 8 x 0.9 = 7.2 vCPU and 28.8 GB for pods: floor(7.2) = 7 workspaces
    // (memory would take 14, the pod limit 110), so ceil(500 / 7) = 72.
    let s = scenario(
        "packing",
        r#"
seed = 2
duration = "30m"
[workload.users]
workspaces_running_at_start = true
[[deployment.node_pools]]
name = "ws"
vcpu = 8
ram = "32GB"
allocatable = 0.9
max = 1000
scale_up_utilization = 1.0
scale_down_utilization = 0.99
"#,
    );
    let r = simulate(&s, 2);
    let l = [("pool", "ws")];
    for stat in ["mean", "max", "last"] {
        assert_eq!(metric(&r, "workspace_nodes", stat, &l), 72.0, "{stat}");
    }
    assert_eq!(
        metric(&r, "workspace_pool_cpu_requested_vcpu", "max", &l),
        500.0
    );
    assert_eq!(
        metric(&r, "workspace_pool_memory_requested_bytes", "max", &l),
        500.0 * 2e9
    );
    // Everyone works: agent 0.1 + working 0.9 vCPU each.
    assert!((metric(&r, "workspace_pool_cpu_used_vcpu", "last", &l) - 500.0).abs() < 1e-6);
}

/// One evening of `n` always-running workspaces of 1 vCPU / 2 GB on a pool
/// of `k` vCPU / `4k` GB nodes, all of it allocatable (so `k` workspaces a
/// node: the CPU binds), `min = 0`, `max = n` and the autoscaler's defaults
/// (scale down after 10 min under 50%, scans every 10 s). The run starts at
/// 17:00 on a Monday with every workspace running, packed at t = 0 in user
/// order (user `i` on node `i / k`). Calendar mode with
/// `active_fraction = 0.5`: each user, on their own stream, works that day
/// with probability 1/2, independently of the others; those who do are at
/// work at 17:00, leave between 17:00 and 17:20 (uniform), and their
/// workspace's stop build (30 s, 50 daemons: no queue) starts 5 min later;
/// the others never come, so their workspaces keep running.
fn evening(k: u32, n: u32, seed: u64) -> RunResult {
    let s = scenario(
        &format!("evening-{k}-{seed}"),
        &format!(
            r#"
seed = {seed}
duration = "45m"
bucket = "1m"
start_time = "17:00"
[deployment.provisioners]
count = 50
[[workload.templates]]
name = "t"
build_time = {{ dist = "constant", value = "60s" }}
stop_time = {{ dist = "constant", value = "30s" }}
workspace = {{ vcpu = 1, ram = "2GB" }}
[workload.users]
count = {n}
mode = "calendar"
active_fraction = 0.5
start_day = "mon"
workspaces_running_at_start = true
autostop_after = "5m"
[[workload.users.groups]]
name = "all"
day_start = {{ dist = "constant", value = "9h" }}
session_length = {{ dist = "uniform", min = "480m", max = "500m" }}
lunch_fraction = 0
[[deployment.node_pools]]
name = "ws"
vcpu = {k}
ram = "{ram}GB"
allocatable = 1.0
min = 0
max = {n}
"#,
            ram = 4 * k
        ),
    );
    simulate(&s, seed)
}

/// The seeds' point about packing (../shared/seeds/003_9157b9f0f3b42389.txt,
/// "Workspaces per node": "if half the workspaces are stopped overnight,
/// and there are ten workspaces per node, it's unlikely that all ten
/// workspaces on the node are among the stopped ones"), run through the
/// cluster autoscaler. The model's rule: a ready node is removed once its
/// requests have stayed under `scale_down_utilization` for
/// `scale_down_unneeded` and its workspaces fit elsewhere; workspaces are
/// never moved, so only a node whose workspaces have all stopped is
/// removed. Each workspace stops independently with probability 1/2, so a
/// node of `k` empties with probability 0.5^k, independently of the other
/// nodes, and the nodes freed over `R` nights of `N` nodes are
/// Binomial(R N, 0.5^k). The same 1,000 workspaces (and, on each seed, the
/// same users stopping: common random numbers) are packed 10, 5 and 2 a
/// node.
#[test]
fn nodes_the_autoscaler_frees_overnight_follow_the_binomial_expectation() {
    use capsim::engine::rng::Streams;
    use rand::RngExt;
    use statrs::distribution::{Binomial, DiscreteCDF};
    const USERS: u32 = 1000;
    const SEEDS: [u64; 4] = [1, 2, 3, 4];
    let l = [("pool", "ws")];
    let mut freed_by_k = Vec::new();
    for k in [10u32, 5, 2] {
        let n_nodes = USERS / k;
        let mut freed = 0u64;
        for seed in SEEDS {
            let r = evening(k, USERS, seed);
            // Who works that day: the first draw of each user's `user/day`
            // stream (the world's day plan), checked below against the run.
            let works: Vec<bool> = (0..USERS as u64)
                .map(|i| Streams::new(seed).stream("user/day", i).random::<f64>() < 0.5)
                .collect();
            let stopped = works.iter().filter(|&&w| w).count() as f64;
            assert_eq!(
                metric(&r, "user_sessions_total", "total", &[]),
                stopped,
                "k = {k}, seed {seed}: the users at work are the ones the day plan drew"
            );
            assert_eq!(
                metric(&r, "workspaces_running", "last", &[]),
                USERS as f64 - stopped,
                "k = {k}, seed {seed}: every workspace of a user who left stopped"
            );
            // Packed densely at the start: n / k full nodes (the bucket
            // means are time integrals over a minute: equal within rounding).
            let nodes = r.series.find("workspace_nodes", "mean", &l).unwrap();
            assert_eq!(metric(&r, "workspace_nodes", "max", &l), n_nodes as f64);
            assert_eq!(
                metric(&r, "workspace_pool_cpu_requested_vcpu", "max", &l),
                USERS as f64
            );
            // The first stop ends at 5 min 30 s at the earliest: no node goes
            // before the underuse delay after that (15 min 30 s).
            for (b, v) in nodes.values[..15].iter().enumerate() {
                assert!(
                    (v - n_nodes as f64).abs() < 1e-9,
                    "k = {k}, seed {seed}: {v} nodes in minute {b}, before any node was empty for 10 min"
                );
            }
            // The last stop ends by about 25 min 30 s: 10 min later every
            // empty node has gone, and only those. The nodes left are
            // exactly the nodes still hosting a workspace.
            let hosting = (0..n_nodes as usize)
                .filter(|&j| works[j * k as usize..(j + 1) * k as usize].contains(&false))
                .count() as f64;
            let left = metric(&r, "workspace_nodes", "last", &l);
            assert_eq!(
                left, hosting,
                "k = {k}, seed {seed}: {left} nodes left, {hosting} still host a workspace"
            );
            assert!(
                (nodes.values[40] - left).abs() < 1e-9,
                "k = {k}, seed {seed}: {} nodes in minute 40, {left} at the end",
                nodes.values[40]
            );
            freed += (n_nodes as f64 - left) as u64;
        }
        // Binomial(R N, 0.5^k): its mean and a 99.9% interval (exact
        // quantiles; at k = 10 the mean is 0.4 and the normal approximation
        // would be poor).
        let trials = (SEEDS.len() as u32 * n_nodes) as u64;
        let p = 0.5f64.powi(k as i32);
        let b = Binomial::new(p, trials).unwrap();
        let (lo, hi) = (b.inverse_cdf(0.0005), b.inverse_cdf(0.9995));
        let expect = trials as f64 * p;
        let sd = (trials as f64 * p * (1.0 - p)).sqrt();
        assert!(
            (lo..=hi).contains(&freed),
            "k = {k}: {freed} nodes freed over {} nights of {n_nodes}, binomial expectation \
             {expect:.2} (sd {sd:.2}), 99.9% interval [{lo}, {hi}]",
            SEEDS.len()
        );
        freed_by_k.push(freed);
    }
    // Fewer workspaces a node free more nodes.
    assert!(
        freed_by_k[0] < freed_by_k[1] && freed_by_k[1] < freed_by_k[2],
        "freed at k = 10, 5, 2: {freed_by_k:?}"
    );
}

#[test]
fn a_node_startup_below_the_provider_timeout_is_waited_for_above_it_fails_the_start() {
    // Below: every start waits for the nodes (about 2 min after the first
    // scan) and succeeds; its start time is the 60 s build plus that wait.
    let fast = starts("2m", 0);
    assert_eq!(
        metric(&fast, "workspace_node_timeouts_total", "total", &[]),
        0.0
    );
    assert_eq!(metric(&fast, "workspace_start_seconds", "count", &[]), 20.0);
    let wait_min = metric(&fast, "workspace_node_wait_seconds", "p50", &[]);
    assert!((60.0..=130.0).contains(&wait_min), "node wait {wait_min}");
    let start = metric(&fast, "workspace_start_seconds", "p50", &[]);
    assert!(
        (start - 60.0 - wait_min).abs() < 2.0,
        "start time {start} = build 60 s + node wait {wait_min}"
    );
    // Above (6 min > the 5-minute time-out): the first attempts fail and are
    // counted as failed builds; the retries a minute later find the nodes.
    let slow = starts("6m", 0);
    let timeouts = metric(&slow, "workspace_node_timeouts_total", "total", &[]);
    assert_eq!(timeouts, 20.0);
    assert!(metric(&slow, "builds_failed_total", "total", &[]) >= timeouts);
    assert_eq!(
        metric(&slow, "workspace_node_wait_seconds", "max", &[]),
        300.0
    );
    assert_eq!(metric(&slow, "workspace_start_seconds", "count", &[]), 20.0);
}

#[test]
fn with_min_zero_the_first_start_waits_for_a_node_with_a_warm_minimum_it_does_not() {
    let cold = starts("3m", 0);
    assert!(metric(&cold, "workspace_node_wait_seconds", "max", &[]) > 60.0);
    let warm = starts("3m", 3);
    assert_eq!(
        metric(&warm, "workspace_node_wait_seconds", "max", &[]),
        0.0
    );
    assert_eq!(
        metric(&warm, "workspace_node_wait_seconds", "count", &[]),
        20.0
    );
    // Build queue 0 (20 daemons) + 60 s build + no node wait.
    assert!(metric(&warm, "workspace_start_seconds", "max", &[]) <= 60.0 + 1e-6);
    assert!(metric(&cold, "workspace_start_seconds", "p50", &[]) > 120.0);
}

#[test]
fn over_a_working_day_the_autoscaler_follows_the_herd_and_node_hours_are_priced() {
    let s = load(&example("coder/nodes-herd-scale-to-zero.toml"));
    let r = simulate(&s, s.seed);
    let l = [("pool", "workspaces")];
    let nodes = r.series.find("workspace_nodes", "mean", &l).unwrap();
    let bucket_h = s.bucket.as_secs_f64() / 3600.0;
    let at = |h: f64| nodes.values[(h / bucket_h) as usize];
    let peak = nodes.values.iter().cloned().fold(0.0, f64::max);
    assert_eq!(at(6.0), 0.0, "no node before the day (min = 0)");
    assert!(peak > 100.0, "the herds need nodes: {peak}");
    // Europe's herd at 09:00, the US group's at 15:00 (09:00 there).
    assert!(at(10.5) > 80.0, "up for the 9 a.m. herd: {}", at(10.5));
    assert!(at(16.0) > peak - 0.5, "the peak when both are at work");
    // Down in the evening, but far from the 300 running workspaces' 43
    // full nodes: a node goes only when all its workspaces stopped.
    assert!(at(23.5) < 0.75 * peak, "down in the evening: {}", at(23.5));
    assert!(at(23.5) > 43.0, "{}", at(23.5));
    // Node-hours are the time integral of the node count.
    let integral: f64 = nodes.values.iter().map(|v| v * bucket_h).sum();
    let hours = metric(&r, "workspace_node_hours_total", "total", &l);
    assert!(
        (hours - integral).abs() < 1e-6 * integral,
        "{hours} node-hours against the integral {integral}"
    );
    // Cost = node-hours x the price of a node-hour, scaled to the month.
    let prices = capsim::cost::for_scenario(&s, None).unwrap().unwrap();
    let summary = Summary::from_runs(&s, s.seed, std::slice::from_ref(&r));
    let cost = capsim::cost::monthly_cost(&s, &prices, Some(&summary)).unwrap();
    let line = cost
        .lines
        .iter()
        .find(|x| x.component == "workspace nodes")
        .expect("a workspace nodes line");
    assert!(line.unit.starts_with("n2-standard-8"), "{}", line.unit);
    let run_h = s.duration.as_secs_f64() / 3600.0;
    let want = hours / run_h * prices.hours_per_month * line.per_unit_hour;
    assert!(
        (line.monthly - want).abs() < 1e-6 * want,
        "{} vs {want}",
        line.monthly
    );
    assert_eq!(line.per_unit_hour, 0.388472);
}

#[test]
fn a_scenario_with_both_cluster_and_node_pools_is_refused_with_how_to_move() {
    let dir = scratch("nodes/both");
    let p = extend(
        &dir,
        "both",
        "steady-users.toml",
        "duration = \"10m\"\n[deployment.cluster]\nnodes = 1\nworkspaces_per_node = 10\n[[deployment.node_pools]]\nvcpu = 8\nram = \"32GB\"\n",
    );
    let e = capsim::scenario::load(&p).unwrap_err().to_string();
    assert!(e.contains("deployment.cluster"), "{e}");
    assert!(e.contains("move `nodes` to a pool's `min`"), "{e}");
    assert!(e.contains("both.toml:"), "{e}");
}

#[test]
fn compare_shows_what_a_warm_minimum_costs_and_what_it_buys_in_start_time() {
    use capsim::compare::{self, Arch};
    // The pool-starts fixture with none and 3 warm nodes: every start of
    // the first waits 3 min for a node, none of the second does.
    let prices = capsim::cost::PriceList::load(
        &crate::support::repo().join("models/prices/gcp-us-central1.toml"),
    )
    .unwrap();
    let arch = |name: &str, min: i64| Arch {
        name: name.into(),
        scenario: capsim::scenario::load_with_overrides(
            &fixture("pool-starts.toml"),
            &[(
                "deployment.node_pools[0].min".into(),
                toml::Value::Integer(min),
            )],
        )
        .unwrap_or_else(|e| panic!("{e}")),
        prices: Some(prices.clone()),
    };
    let c = compare::compare(vec![arch("zero", 0), arch("warm", 3)], 5, 2);
    let row = |metric: &str, stat: &str| {
        c.rows
            .iter()
            .find(|r| r.metric == metric && r.stat == stat)
            .unwrap_or_else(|| panic!("no {metric} {stat} row"))
    };
    let start = row("workspace_start_seconds", "p95");
    let d = start.cells[1].diff.as_ref().unwrap().mean.unwrap();
    assert!(d < -120.0, "warm nodes start faster: {d}");
    assert_eq!(start.cells[1].significant, Some(true));
    assert!(row("workspace_nodes", "mean").cells[1].diff.is_some());
    // Node cost: each architecture's workspace nodes line, priced from its
    // runs, and the total differs by that line's difference.
    let nodes = |i: usize| {
        let cost = c.archs[i].cost.as_ref().expect("costed");
        let line = cost
            .lines
            .iter()
            .find(|l| l.component == "workspace nodes")
            .expect("a workspace nodes line")
            .monthly;
        (line, cost.total)
    };
    let ((n0, t0), (n1, t1)) = (nodes(0), nodes(1));
    assert!(n1 > n0, "warm nodes cost more: {n1} vs {n0}");
    assert!(
        ((t1 - t0) - (n1 - n0)).abs() < 1e-6,
        "{t1} - {t0} vs {n1} - {n0}"
    );
}
