//! `capsim size`: on a queue whose answer is known analytically (M/M/c with
//! an SLO on the mean wait) it finds the smallest c that Erlang C gives; its
//! recommendation holds on fresh seeds; the command line, `--slo` and
//! `--growth` work end to end.

use crate::support::{
    QueueSpec, Scratch, capsim, capsim_in, erlang_c_mean_wait_s, model_path, ok, png_size,
    read_csv, repo, scratch, steady_dashboards, write,
};
use capsim::compare::check_slos;
use capsim::compare::size::{self, SizeOptions, SizeResult};
use capsim::cost::PriceList;
use capsim::engine::rng::replication_seed;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// 8 builds a minute of exponential length 60 s: a = 8 erlangs.
const LAMBDA_PER_S: f64 = 8.0 / 60.0;
const MEAN_BUILD_S: f64 = 60.0;
/// The SLO: mean wait at most 25 s.
const TARGET_S: f64 = 25.0;
const REPLICATIONS: u32 = 5;

/// The smallest c whose Erlang C mean wait meets the target.
fn erlang_c_answer() -> u32 {
    (1..200)
        .find(|&c| erlang_c_mean_wait_s(c, LAMBDA_PER_S, MEAN_BUILD_S) <= TARGET_S)
        .expect("an answer")
}

/// The M/M/c scenario: no coderd, 20 external daemons to start from, 10 h
/// measured after a 1 h warm-up (about 4,800 builds per replication).
fn mmc(dir: &Path) -> PathBuf {
    let model = model_path();
    let spec = QueueSpec {
        name: "mmc-size",
        model: &model,
        c: 20,
        lambda_per_s: LAMBDA_PER_S,
        build_time: &format!("{{ dist = \"exponential\", mean = \"{MEAN_BUILD_S}s\" }}"),
        duration_s: 11.0 * 3600.0,
        warmup_s: 3600.0,
        bucket_s: 3600.0,
        seed: 7,
    };
    let slo = format!(
        "\n[[slo]]\nname = \"mean wait at most 25 s\"\nmetric = \"build_queue_wait_seconds\"\nstat = \"mean\"\nmax = \"{TARGET_S}s\"\n"
    );
    write(dir, "mmc.toml", &(spec.toml() + &slo))
}

/// `capsim size SCENARIO --prices <gcp>` run in `dir`.
fn size_cmd(dir: &Scratch, scenario: &Path) -> std::process::Command {
    let mut c = capsim(dir);
    c.args([
        "size",
        scenario.to_str().unwrap(),
        "--prices",
        gcp().to_str().unwrap(),
    ]);
    c
}

fn gcp() -> PathBuf {
    repo().join("models/prices/gcp-us-central1.toml")
}

/// The search on the M/M/c scenario, run once and shared by the tests below.
fn mmc_result() -> &'static SizeResult {
    static R: OnceLock<SizeResult> = OnceLock::new();
    R.get_or_init(|| {
        let dir = scratch("size/mmc");
        let p = mmc(&dir);
        let prices = PriceList::load(&gcp()).unwrap();
        size::size(&p, vec![], &prices, SizeOptions::new(7, REPLICATIONS))
            .unwrap_or_else(|e| panic!("{e}"))
    })
}

#[test]
fn erlang_c_gives_a_well_separated_answer() {
    // The premise of the next test: the answer is not a coin toss. The mean
    // wait at c* is well under the target and at c* - 1 well over it.
    let c = erlang_c_answer();
    assert_eq!(c, 10);
    let at = erlang_c_mean_wait_s(c, LAMBDA_PER_S, MEAN_BUILD_S);
    let below = erlang_c_mean_wait_s(c - 1, LAMBDA_PER_S, MEAN_BUILD_S);
    assert!(at < 0.6 * TARGET_S, "W({c}) = {at}");
    assert!(below > 1.5 * TARGET_S, "W({}) = {below}", c - 1);
}

#[test]
fn size_on_an_mmc_queue_returns_the_smallest_c_that_erlang_c_gives() {
    let r = mmc_result();
    let want = erlang_c_answer();
    let rec = r.recommended.as_ref().expect("a recommendation");
    assert_eq!(
        r.dimensions.len(),
        1,
        "only provisioners: there is no coderd"
    );
    assert_eq!(rec.values, vec![want as f64]);
    assert!(rec.feasible && !rec.saturated);
    // Its cost: `want` daemons of 0.5 vCPU, 512 MB plus the cluster fee.
    let per_daemon = 0.5 * 0.031611 + 0.512 * 0.004237;
    assert!((rec.cost - 730.0 * (want as f64 * per_daemon + 0.10)).abs() < 1e-6);
    // Efficient: a binary search over 1..=80 daemons, not a grid.
    assert_eq!(r.simulations, r.evaluations as u64 * REPLICATIONS as u64);
    assert!(r.evaluations <= 12, "{} evaluations", r.evaluations);
    // The next cheaper candidate is one daemon fewer, and it fails the SLO.
    let next = &r.cheaper[0];
    assert_eq!(next.values, vec![(want - 1) as f64]);
    assert!(!next.feasible);
    assert!(
        next.failures()
            .iter()
            .any(|f| f.contains("mean wait at most 25 s")),
        "{:?}",
        next.failures()
    );
    // Headroom is measured from the 95% bound.
    let s = &rec.slos[0];
    assert!(s.bound95.unwrap() >= s.mean.unwrap());
    assert!(s.headroom().unwrap() > 0.0);
}

#[test]
fn the_recommended_architecture_meets_the_slos_on_fresh_seeds() {
    let r = mmc_result();
    let dir = scratch("size/fresh-seeds");
    let p = mmc(&dir);
    let rec = r.recommended.as_ref().expect("a recommendation");
    let s = capsim::scenario::load_with_overrides(
        &p,
        &[(
            "deployment.provisioners.count".into(),
            toml::Value::Integer(rec.values[0] as i64),
        )],
    )
    .unwrap();
    let fresh = 424_242;
    assert_ne!(fresh, r.seed);
    let runs: Vec<capsim::RunResult> = (0..REPLICATIONS)
        .map(|i| capsim::simulate(&s, replication_seed(fresh, i)))
        .collect();
    for c in check_slos(&s, &runs) {
        assert!(c.pass && c.confident, "{c:?}");
    }
}

#[test]
fn size_command_line_prints_and_writes_and_slo_replaces_the_scenarios() {
    let dir = scratch("size/cli");
    let p = mmc(&dir);
    let o = ok(size_cmd(&dir, &p)
        .args(["--replications", "3", "--out", "out"])
        // A looser target: the mean wait may be a minute.
        .args(["--slo", "build_queue_wait_seconds.mean<=60s"]));
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.contains("recommended: $"), "{text}");
    assert!(text.contains("simulations"), "{text}");
    assert!(
        text.contains("build_queue_wait_seconds.mean<=60s"),
        "{text}"
    );
    let want = (1..100)
        .find(|&c| erlang_c_mean_wait_s(c, LAMBDA_PER_S, MEAN_BUILD_S) <= 60.0)
        .unwrap();
    assert!(
        text.contains(&format!("provisioner daemons  {want:>4}")),
        "Erlang C says {want}:\n{text}"
    );
    let (head, rows) = read_csv(&dir.join("out/candidates.csv"));
    assert_eq!(head[1], "provisioners");
    assert!(
        rows.iter()
            .any(|r| r[1] == want.to_string() && r[3] == "true")
    );
    assert!(
        std::fs::read_to_string(dir.join("out/size.md"))
            .unwrap()
            .contains("Recommended")
    );
    // Without prices, or with a bad --slo: exit code 2.
    let o = capsim_in(&dir, &["size", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--prices"));
    let o = capsim_in(
        &dir,
        &[
            "size",
            p.to_str().unwrap(),
            "--prices",
            gcp().to_str().unwrap(),
            "--slo",
            "oops",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn growth_repeats_the_search_per_user_count_and_plots_it() {
    let dir = scratch("size/growth");
    let p = steady_dashboards(
        &dir,
        3,
        "20m",
        100,
        "[[slo]]\nmetric = \"api_latency_seconds\"\nstat = \"p95\"\nlabels = { class = \"dashboard\" }\nmax = \"40ms\"\n",
    );
    let o = ok(size_cmd(&dir, &p)
        .args([
            "--replications",
            "2",
            "--growth",
            "100,400,200",
            "--out",
            "g",
        ])
        .args(["--resources", "coderd_replicas", "--max-replicas", "8"]));
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.contains("== 400 users"), "{text}");
    let (head, rows) = read_csv(&dir.join("g/growth.csv"));
    assert_eq!(
        &head[..4],
        ["users", "feasible", "monthly_cost", "coderd_replicas"]
    );
    let users: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(users, ["100", "200", "400"], "sorted by user count");
    let replicas: Vec<u32> = rows.iter().map(|r| r[3].parse().unwrap()).collect();
    let costs: Vec<f64> = rows.iter().map(|r| r[2].parse().unwrap()).collect();
    assert!(rows.iter().all(|r| r[1] == "true"), "{rows:?}");
    assert!(replicas.windows(2).all(|w| w[0] <= w[1]), "{replicas:?}");
    assert!(costs.windows(2).all(|w| w[0] <= w[1]), "{costs:?}");
    assert!(
        replicas[2] > replicas[0],
        "four times the users need more replicas: {replicas:?}"
    );
    assert_eq!(
        png_size(&dir.join("g/growth.png")),
        capsim::report::plot::SIZE
    );
    // Every user count's candidates are written, and size.md links each.
    let md = std::fs::read_to_string(dir.join("g/size.md")).unwrap();
    for u in ["100", "200", "400"] {
        let csv = format!("candidates-{u}.csv");
        let (_, rows) = read_csv(&dir.join("g").join(&csv));
        assert!(!rows.is_empty(), "{csv}");
        assert!(md.contains(&format!("]({csv})")), "{csv} not linked");
    }
    assert!(
        !md.contains("(candidates.csv)"),
        "a link to a file not written"
    );
}
