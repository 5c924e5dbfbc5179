//! `capsim size`: on a queue whose answer is known analytically (M/M/c with
//! an SLO on the mean wait) it finds the smallest c that Erlang C gives; its
//! recommendation holds on fresh seeds; the command line, `--slo` and
//! `--growth` work end to end.

use crate::support::{
    QueueSpec, Scratch, capsim, capsim_in, erlang_c_mean_wait_s, model_path, ok, png_size,
    read_csv, repo, scratch, steady_dashboards, toml_str, write,
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

/// Without a drill time to find, the fast search evaluates the largest
/// architecture only when no probe of the binary search passes: never when
/// one does (a probe is the largest with less of a resource), last when a
/// target nothing meets leaves nothing feasible, and then it is reported
/// as the largest, as the exhaustive search (which starts there) reports it.
#[test]
fn the_largest_is_evaluated_only_when_no_probe_passes() {
    use capsim::compare::size::Resilience;
    let dir = scratch("size/lazy-top");
    let p = mmc(&dir);
    let prices = PriceList::load(&gcp()).unwrap();
    let mut o = SizeOptions::new(7, 2);
    o.resilience = Resilience::None;
    let top = |r: &SizeResult| -> Vec<usize> {
        r.dimensions.iter().map(|d| d.ladder.len() - 1).collect()
    };
    let r = size::size(&p, vec![], &prices, o.clone()).unwrap();
    let rec = r.recommended.as_ref().expect("a recommendation");
    assert_eq!(rec.values, vec![erlang_c_answer() as f64]);
    assert!(!r.evaluated.iter().any(|e| e.point == top(&r)));
    // A build takes its own time whatever the daemons: nothing meets 1 s.
    let never: Vec<_> = size::slo_override(&["build_time_seconds.mean<=1s".into()])
        .unwrap()
        .into_iter()
        .collect();
    let fast = size::size(&p, never.clone(), &prices, o.clone()).unwrap();
    o.exhaustive = true;
    let slow = size::size(&p, never, &prices, o).unwrap();
    for x in [&fast, &slow] {
        assert!(x.recommended.is_none());
        let largest = x.largest.as_ref().expect("the largest reported");
        assert_eq!(largest.point, top(x));
        assert_eq!(largest.verdict(), "fails SLO");
    }
    assert_eq!(fast.evaluated.last().unwrap().point, top(&fast));
    assert_eq!(slow.evaluated[0].point, top(&slow));
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
    // Every candidate runs all its replications, but one that fails for
    // certain on its first (one daemon saturates).
    assert!(r.simulations < r.evaluations as u64 * REPLICATIONS as u64);
    for e in &r.evaluated {
        assert!(
            e.replications_run == REPLICATIONS || e.stopped_early,
            "{e:?}"
        );
    }
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
    assert_eq!(head[3], "verdict");
    assert!(
        rows.iter()
            .any(|r| r[1] == want.to_string() && r[3] == "pass")
    );
    // Costs to the cent.
    assert!(
        rows.iter()
            .all(|r| r[2].split_once('.').is_some_and(|(_, c)| c.len() == 2)),
        "{rows:?}"
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
        .args(["--resources", "coderd_replicas", "--max-replicas", "8"])
        // The growth mechanics, not the policy or the drill.
        .args(["--policy", "none", "--resilience", "none"]));
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

/// API p95 of the dashboard under 1 s: met by any replica of the small
/// steady-dashboards deployment.
const LOOSE_API_SLO: &str = "[[slo]]\nname = \"API p95 under 1 s\"\nmetric = \"api_latency_seconds\"\nstat = \"p95\"\nlabels = { class = \"dashboard\" }\nmax = \"1s\"\n";

fn aws() -> PathBuf {
    repo().join("models/prices/aws-us-east-1.toml")
}

#[test]
fn the_policy_keeps_three_replicas_and_a_baseline_database_and_none_lifts_it() {
    use capsim::compare::size_report::SizeJson;
    let dir = scratch("size/policy");
    let p = steady_dashboards(&dir, 5, "20m", 50, LOOSE_API_SLO);
    let run = |extra: &[&str], out: &str| -> SizeJson {
        let o = ok(size_cmd(&dir, &p)
            .args(["--replications", "2", "--format", "json", "--out", out])
            .args(["--resources", "coderd_replicas,coderd_vcpu,database_vcpu"])
            .args(["--resilience", "none"])
            .args(extra));
        let doc: SizeJson = serde_json::from_slice(&o.stdout).unwrap();
        // size.json holds what was printed, and it round-trips through serde.
        let file = std::fs::read_to_string(dir.join(out).join("size.json")).unwrap();
        assert_eq!(serde_json::from_str::<SizeJson>(&file).unwrap(), doc);
        let again: SizeJson = serde_json::from_str(&serde_json::to_string(&doc).unwrap()).unwrap();
        assert_eq!(again, doc);
        // candidates.csv: a mean and a 95% bound column for the SLO.
        let (head, rows) = read_csv(&dir.join(out).join("candidates.csv"));
        for col in ["API p95 under 1 s: mean", "API p95 under 1 s: 95% bound"] {
            let i = head
                .iter()
                .position(|h| h == col)
                .unwrap_or_else(|| panic!("{col}: {head:?}"));
            assert!(rows.iter().all(|r| !r[i].is_empty()), "{col}");
        }
        assert_eq!(rows.len(), doc.evaluations);
        doc
    };
    let value = |d: &SizeJson, name: &str| {
        d.recommendation
            .as_ref()
            .expect("a recommendation")
            .resources
            .iter()
            .find(|r| r.resource == name)
            .unwrap()
            .value
    };
    let with = run(&[], "with");
    assert_eq!(value(&with, "coderd_replicas"), 3.0);
    assert_eq!(value(&with, "database_vcpu"), 2.0);
    let b = &with.binding[0];
    assert_eq!(
        (b.resource.as_str(), b.kind.as_str()),
        ("coderd_replicas", "policy")
    );
    assert!(b.what.contains("at least 3"), "{b:?}");
    let rec = with.recommendation.as_ref().unwrap();
    assert!(
        rec.checks
            .iter()
            .any(|c| c.kind == "policy" && c.name.contains("peak CPU")),
        "{:?}",
        rec.checks
    );
    assert!((rec.cost_per_user.unwrap() - rec.monthly_cost / 50.0).abs() < 0.01);
    // Without the policy the same search takes one replica and the smallest database.
    let without = run(&["--policy", "none"], "without");
    assert_eq!(value(&without, "coderd_replicas"), 1.0);
    assert_eq!(value(&without, "database_vcpu"), 1.0);
    assert!(without.policy.is_none());
}

#[test]
fn the_n1_drill_changes_the_recommendation_and_binding_names_it() {
    use capsim::compare::size::{Resilience, Resource};
    let dir = scratch("size/drill");
    // 60 users, each with a dashboard and an SSH session relayed by coderd
    // all the time. Losing the only replica interrupts about 136 sessions
    // (the dashboards' included, and reconnects lost again), losing one of
    // two about 66: an SLO of 100 separates them, and without a loss no
    // session is interrupted.
    let p = steady_dashboards(
        &dir,
        5,
        "20m",
        60,
        "p2p_fraction = 0.0\n[workload.connections.ssh]\nper_user = 1.0\n\
         [[slo]]\nname = \"at most 100 interrupted sessions\"\nmetric = \"interruptions_total\"\nstat = \"total\"\nmax = 100\n",
    );
    let prices = PriceList::load(&gcp()).unwrap();
    let mut opts = SizeOptions::new(5, 2);
    opts.policy = false;
    opts.resources = Some(vec![Resource::CoderdReplicas]);
    opts.max_replicas = Some(4);
    opts.resilience = Resilience::None;
    let plain = size::size(&p, vec![], &prices, opts.clone()).unwrap();
    opts.resilience = Resilience::N1;
    let drilled = size::size(&p, vec![], &prices, opts).unwrap();
    let replicas = |r: &SizeResult| r.recommended.as_ref().expect("a recommendation").values[0];
    assert_eq!(
        replicas(&plain),
        1.0,
        "without a loss one replica loses nothing"
    );
    assert!(replicas(&drilled) > 1.0, "{}", replicas(&drilled));
    assert!(plain.drill.is_none());
    let d = drilled.drill.as_ref().expect("a drill");
    assert_eq!(d.source, "busiest");
    let b = &drilled.binding[0];
    assert_eq!(b.kind, "drill", "{b:?}");
    assert!(
        b.what
            .starts_with("N-1 drill: at most 100 interrupted sessions"),
        "{b:?}"
    );
    // One replica fewer than the recommendation meets the SLO but fails the drill.
    let less = drilled
        .evaluated
        .iter()
        .find(|e| e.values[0] == replicas(&drilled) - 1.0)
        .unwrap();
    assert_eq!(less.verdict(), "fails N-1 drill");
    assert!(less.slos.iter().all(|s| s.confident));
    // The drill runs the same replications: twice the simulations of the
    // candidates that met the SLOs (all of theirs, or fewer once they failed
    // for certain).
    for e in &drilled.evaluated {
        let drill_runs = e.simulations - u64::from(e.replications_run);
        match &e.drill {
            Some(_) => {
                assert_eq!(e.replications_run, 2, "{e:?}");
                assert!(drill_runs == 2 || (drill_runs == 1 && e.stopped_early));
            }
            None => assert_eq!(drill_runs, 0),
        }
        assert!(e.replications_run == 2 || e.stopped_early, "{e:?}");
    }
    assert!(drilled.simulations >= drilled.evaluated.iter().map(|e| e.simulations).sum::<u64>());
}

#[test]
fn recommended_shapes_exist_in_the_price_file_and_no_candidate_is_evaluated_twice() {
    use capsim::cost::Pricing;
    let dir = scratch("size/shapes");
    let p = steady_dashboards(&dir, 5, "20m", 50, LOOSE_API_SLO);
    let prices = PriceList::load(&aws()).unwrap();
    let mut opts = SizeOptions::new(5, 2);
    opts.resilience = size::Resilience::None;
    let r = size::size(&p, vec![], &prices, opts).unwrap();
    let rec = r.recommended.as_ref().expect("a recommendation");
    let types = |pricing: &Pricing| match pricing {
        Pricing::Instances(v) => v.clone(),
        Pricing::Rates { .. } => panic!("the AWS file lists instance types"),
    };
    let mut shaped = 0;
    for (d, &i) in r.dimensions.iter().zip(&rec.point) {
        let Some(s) = d.shapes.get(i) else { continue };
        shaped += 1;
        let offer = match d.resource {
            size::Resource::CoderdVcpu => types(&prices.coderd.pricing),
            size::Resource::DatabaseVcpu => types(&prices.database.pricing),
            size::Resource::ProxyVcpu => types(&prices.proxies.pricing),
            _ => unreachable!(),
        };
        let name = s.instance.as_deref().expect("an instance type");
        let t = offer.iter().find(|t| t.name == name).expect("on offer");
        assert_eq!((t.vcpu, t.ram_bytes), (s.vcpu, s.ram_bytes));
        // No two rungs are the same shape.
        let mut seen: Vec<(u64, u64)> = d
            .shapes
            .iter()
            .map(|s| (s.vcpu.to_bits(), s.ram_bytes.to_bits()))
            .collect();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), d.shapes.len());
    }
    assert_eq!(shaped, 2, "coderd and the database");
    // No two evaluated candidates share cost and shape.
    let keys: std::collections::BTreeSet<(i64, Vec<String>)> = r
        .evaluated
        .iter()
        .map(|e| {
            (
                e.cents(),
                r.dimensions
                    .iter()
                    .zip(&e.point)
                    .map(|(d, &i)| d.show(i))
                    .collect(),
            )
        })
        .collect();
    assert_eq!(keys.len(), r.evaluated.len());
    // The policy holds on the AWS shapes too.
    let c = &r.dimensions[1].shapes[rec.point[1]];
    assert!(c.vcpu >= 1.0 && c.ram_bytes >= 2e9);
    assert!(rec.values[0] >= 3.0);
}

#[test]
fn the_search_agrees_with_an_exhaustive_grid() {
    use capsim::compare::size::{Resilience, Resource, Search};
    let dir = scratch("size/grid");
    // Three coderd shapes (two of 1 vCPU cost what one of 2 does), two
    // database shapes, 1 to 3 replicas: 18 architectures.
    let prices_path = write(
        &dir,
        "prices.toml",
        "currency = \"USD\"\ndate = \"2025-01\"\nsource = \"test\"\nnote = \"test\"\n\
         [instance_types]\n\
         c1 = { vcpu = 1, ram = \"4GB\", per_hour = 0.05 }\n\
         c2 = { vcpu = 2, ram = \"8GB\", per_hour = 0.10 }\n\
         c4 = { vcpu = 4, ram = \"16GB\", per_hour = 0.20 }\n\
         d1 = { vcpu = 1, ram = \"4GB\", per_hour = 0.08 }\n\
         d2 = { vcpu = 2, ram = \"8GB\", per_hour = 0.16 }\n\
         [coderd]\ninstance_types = [\"c1\", \"c2\", \"c4\"]\n\
         [provisioners]\nvcpu_hour = 0.03\ngb_hour = 0.004\n\
         [database]\ninstance_types = [\"d1\", \"d2\"]\n\
         [proxies]\nvcpu_hour = 0.03\ngb_hour = 0.004\n",
    );
    let prices = PriceList::load(&prices_path).unwrap();
    let p = steady_dashboards(&dir, 5, "20m", GRID_USERS, GRID_SLOS);
    let mut opts = SizeOptions::new(5, 2);
    opts.policy = false;
    opts.resilience = Resilience::None;
    opts.max_replicas = Some(3);
    opts.resources = Some(vec![
        Resource::CoderdReplicas,
        Resource::CoderdVcpu,
        Resource::DatabaseVcpu,
    ]);
    let mut grid = Search::new(&p, vec![], &prices, opts.clone()).unwrap();
    let sizes: Vec<usize> = grid.dims.iter().map(|d| d.ladder.len()).collect();
    assert_eq!(sizes, [3, 3, 2]);
    let mut best: Option<(i64, bool, u32, Vec<usize>)> = None;
    let mut feasible = 0;
    for a in 0..3 {
        for b in 0..3 {
            for c in 0..2 {
                let e = grid.evaluate(&[a, b, c]).clone();
                if !e.feasible {
                    continue;
                }
                feasible += 1;
                let n = e.values[0] as u32;
                // Cheapest, then survives losing a replica, then fewer replicas.
                let key = (e.cents(), n < 2, n, e.point.clone());
                if best.as_ref().is_none_or(|b| key < *b) {
                    best = Some(key);
                }
            }
        }
    }
    assert!(
        (2..18).contains(&feasible),
        "the SLOs must cut the grid: {feasible} of 18 feasible"
    );
    let r = Search::new(&p, vec![], &prices, opts)
        .unwrap()
        .run_search(None);
    let rec = r.recommended.as_ref().expect("a recommendation");
    assert_eq!(rec.point, best.unwrap().3, "{:?}", rec.values);
    // The tie rule: two replicas of 1 vCPU cost what one of 2 vCPU does,
    // and survive losing one.
    assert_eq!(rec.values, [2.0, 1.0, 2.0]);
}

/// 200 dashboards keep one replica of 1 vCPU at about 67% CPU and a
/// database of 1 vCPU at about 27%: the SLOs below need two coderd vCPU in
/// all and the 2-vCPU database.
const GRID_USERS: u32 = 200;
const GRID_SLOS: &str = "[[slo]]\nname = \"coderd CPU at most 50%\"\nmetric = \"coderd_cpu_utilization\"\nstat = \"peak\"\nmax = 0.5\n\
     [[slo]]\nname = \"database CPU at most 20%\"\nmetric = \"database_cpu_utilization\"\nstat = \"peak\"\nmax = 0.2\n";

/// The `pool-starts` fixture (20 users who start their workspaces in the
/// first minute, 60 s builds and no build queue, on one node pool "ws"
/// whose nodes take 3 min to start, none warm, at most 10) with an SLO on
/// the workspace start time's p95 of 100 s. `size` searches the pool's
/// shape (n2-standard-4 or -8) and warm minimum (0, 3 or 7 nodes).
fn pools_scenario(dir: &Path) -> PathBuf {
    crate::support::extend(
        dir,
        "pools",
        "pool-starts.toml",
        r#"
[[slo]]
name = "workspace start p95 at most 100 s"
metric = "workspace_start_seconds"
stat = "p95"
max = "100s"
[sizing]
node_pool_mins = [0, 3, 7]
node_shapes = ["n2-standard-4", "n2-standard-8"]
"#,
    )
}

#[test]
fn size_picks_the_cheapest_node_pool_setting_that_meets_a_start_time_slo() {
    let dir = scratch("size/pools");
    let p = pools_scenario(&dir);
    let prices = PriceList::load(&gcp()).unwrap();
    let mut opts = SizeOptions::new(3, 3);
    opts.resources = Some(vec![size::Resource::NodeShape, size::Resource::NodeMin]);
    opts.resilience = size::Resilience::None;
    opts.policy = false;
    let r = size::size(&p, vec![], &prices, opts.clone()).unwrap();
    let names: Vec<_> = r.dimensions.iter().map(|d| d.resource).collect();
    assert_eq!(
        names,
        vec![size::Resource::NodeShape, size::Resource::NodeMin]
    );
    let rec = r.recommended.as_ref().expect("a recommendation");
    // Every start waits 3 min for a node from zero: scale-to-zero fails.
    assert!(rec.values[1] > 0.0, "{:?}", rec.values);
    // Brute force: every shape x minimum, the cheapest that passes (node
    // hours priced from the runs) is the recommendation.
    let mut s = size::Search::new(&p, vec![], &prices, opts).unwrap();
    let mut best: Option<(i64, Vec<usize>)> = None;
    for a in 0..2 {
        for b in 0..3 {
            let e = s.evaluate(&[a, b]).clone();
            if b == 0 {
                assert!(!e.feasible, "scale to zero meets the SLO: {:?}", e.slos);
                assert!(e.failures().iter().any(|f| f.contains("workspace start")));
            }
            if e.feasible && best.as_ref().is_none_or(|(c, _)| e.cents() < *c) {
                best = Some((e.cents(), vec![a, b]));
            }
            // Node-hours are priced from the runs, not at `min`.
            let line = e
                .cost_detail
                .as_ref()
                .unwrap()
                .lines
                .iter()
                .find(|l| l.component == "workspace nodes")
                .unwrap()
                .monthly;
            assert!(line > 0.0, "{a},{b}: nodes cost {line}");
        }
    }
    let (c, point) = best.expect("a feasible pool setting");
    assert_eq!(rec.point, point);
    assert_eq!(rec.cents(), c);
}

/// `capsim size --node-maxs` on the `pool-starts` fixture, SLOs given with
/// `--slo`: no start may time out waiting for a node, start p95 at most
/// 5 min. 20 workspaces of 1 vCPU need 3 nodes of 7; with `max = 2` six of
/// them wait past the provider's 5-minute time-out.
fn max_search(dir: &Scratch, out: &str, extra: &[&str]) -> capsim::compare::size_report::SizeJson {
    let p = crate::support::extend(dir, "maxs", "pool-starts.toml", "");
    let o = ok(size_cmd(dir, &p)
        .args(["--slo", "workspace_node_timeouts_total.total<=0"])
        .args(["--slo", "workspace_start_seconds.p95<=5m"])
        .args(["--resources", "node_max", "--node-maxs", "1,2,3,5,10"])
        .args(["--resilience", "none", "--policy", "none"])
        .args(["--replications", "2", "--format", "json", "--out", out])
        .args(extra));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn size_takes_the_lowest_pool_max_that_meets_the_start_slos() {
    let dir = scratch("size/pool-max");
    let doc = max_search(&dir, "out", &[]);
    let rec = doc.recommendation.as_ref().expect("a recommendation");
    assert_eq!(rec.resources.len(), 1);
    let r = &rec.resources[0];
    assert_eq!(
        (r.resource.as_str(), r.pool.as_deref()),
        ("node_max", Some("ws"))
    );
    assert_eq!((r.value, r.given), (3.0, 10.0));
    // What set it: the time-out SLO of the cap one lower, in pool ws.
    let b = &doc.binding[0];
    assert_eq!(
        (b.kind.as_str(), b.pool.as_deref()),
        ("slo", Some("ws")),
        "{b:?}"
    );
    assert!(
        b.what
            .starts_with("pool ws: workspace_node_timeouts_total.total<=0"),
        "{b:?}"
    );
    // The fast search never evaluates the largest cap (a smaller one
    // passes, so it would too); the exhaustive one starts there.
    let (head, rows) = read_csv(&dir.join("out").join("candidates.csv"));
    let col = |name: &str| head.iter().position(|h| h == name).unwrap();
    assert!(!rows.iter().any(|r| r[col("node_max")] == "10"));
    max_search(&dir, "out-all", &["--exhaustive"]);
    let (head, rows) = read_csv(&dir.join("out-all").join("candidates.csv"));
    let col = |name: &str| head.iter().position(|h| h == name).unwrap();
    let row = |max: &str| rows.iter().find(|r| r[col("node_max")] == max);
    let cost = |max: &str| -> f64 { row(max).unwrap()[col("monthly_cost")].parse().unwrap() };
    // Too low a cap: the starts that find no room time out.
    let two = row("2").expect("max 2 evaluated");
    assert_eq!(two[col("verdict")], "fails SLO");
    assert!(two[col("fails")].contains("workspace_node_timeouts_total"));
    // A cap is a guard rail on cost: the largest (evaluated first) meets
    // the SLOs too, but the autoscaler's 80% trigger buys nodes it allows.
    assert_eq!(row("10").unwrap()[col("verdict")], "pass");
    assert!(cost("10") > cost("3"), "{} vs {}", cost("10"), cost("3"));
    assert!((rec.monthly_cost - cost("3")).abs() < 0.01);

    // Scaling up only for waiting workspaces (no utilisation trigger), every
    // cap from 3 up gives the same runs and cost: the tie goes to the
    // lowest.
    let prices = PriceList::load(&gcp()).unwrap();
    let p = dir.join("maxs.toml");
    let base = vec![
        (
            "deployment.node_pools[0].scale_up_utilization".to_string(),
            toml::Value::Float(1.0),
        ),
        size::slo_override(&[
            "workspace_node_timeouts_total.total<=0".into(),
            "workspace_start_seconds.p95<=5m".into(),
        ])
        .unwrap()
        .unwrap(),
        (
            "sizing.node_pool_maxs".to_string(),
            toml::Value::Array([3, 5, 10].map(toml::Value::Integer).to_vec()),
        ),
    ];
    let mut opts = SizeOptions::new(5, 2);
    opts.resources = Some(vec![size::Resource::NodeMax]);
    opts.resilience = size::Resilience::None;
    opts.policy = false;
    let mut s = size::Search::new(&p, base.clone(), &prices, opts.clone()).unwrap();
    let costs: Vec<i64> = (0..3).map(|i| s.evaluate(&[i]).cents()).collect();
    assert!(costs.iter().all(|&c| c == costs[0]), "{costs:?}");
    let r = size::size(&p, base, &prices, opts).unwrap();
    assert_eq!(r.recommended.expect("a recommendation").values, [3.0]);
}

#[test]
fn two_node_pools_are_searched_each_on_its_own_ladders() {
    use capsim::compare::size::{Resource, Search};
    let dir = scratch("size/two-pools");
    // Half the users on a general template (1 vCPU / 2 GB), half on a
    // large one (6 vCPU / 12 GB) that only the "large" pool's labels take:
    // one a node of 8 vCPU, two of 16. Both pools start nodes in 3 min,
    // so the start-time SLO needs room warm in each.
    let p = crate::support::extend(
        &dir,
        "two",
        "pool-starts.toml",
        r#"
[[workload.templates]]
name = "general"
build_time = { dist = "constant", value = "60s" }
user_share = 0.5
workspace = { node_selector = { pool = "general" } }
[[workload.templates]]
name = "large"
build_time = { dist = "constant", value = "60s" }
user_share = 0.5
workspace = { vcpu = 6, ram = "12GB", working_vcpu = 5.9, node_selector = { gpu = "true" } }
[[deployment.node_pools]]
name = "general"
vcpu = 8
ram = "32GB"
max = 6
labels = { pool = "general" }
startup_delay = { dist = "constant", value = "3m" }
[[deployment.node_pools]]
name = "large"
vcpu = 16
ram = "64GB"
max = 10
labels = { gpu = "true" }
startup_delay = { dist = "constant", value = "3m" }
[[slo]]
name = "workspace start p95 at most 100 s"
metric = "workspace_start_seconds"
stat = "p95"
max = "100s"
[sizing.node_pools.general]
shapes = ["n2-standard-4", "n2-standard-8"]
mins = [0, 2]
maxs = [3, 6]
[sizing.node_pools.large]
shapes = ["n2-standard-8", "n2-standard-16"]
mins = [0, 5, 10]
maxs = [10]
"#,
    );
    let prices = PriceList::load(&gcp()).unwrap();
    let mut opts = SizeOptions::new(5, 2);
    opts.resilience = size::Resilience::None;
    opts.policy = false;
    opts.resources = Some(vec![
        Resource::NodeShape,
        Resource::NodeMin,
        Resource::NodeMax,
    ]);
    let r = size::size(&p, vec![], &prices, opts.clone()).unwrap();
    // Each pool on its own axes, with its own ladders.
    let axes: Vec<(String, Vec<f64>)> = r
        .dimensions
        .iter()
        .map(|d| (d.column(), d.ladder.clone()))
        .collect();
    let want: Vec<(String, Vec<f64>)> = [
        ("node_vcpu_general", vec![4.0, 8.0]),
        ("node_min_general", vec![0.0, 2.0]),
        ("node_max_general", vec![3.0, 6.0]),
        ("node_vcpu_large", vec![8.0, 16.0]),
        ("node_min_large", vec![0.0, 5.0, 10.0]),
        ("node_max_large", vec![10.0]),
    ]
    .into_iter()
    .map(|(c, l)| (c.to_string(), l))
    .collect();
    assert_eq!(axes, want);
    // The recommendation is the cheapest feasible point of the whole grid
    // (ties to the lower point), found without evaluating all of it.
    let rec = r.recommended.as_ref().expect("a recommendation");
    let mut grid = Search::new(&p, vec![], &prices, opts).unwrap();
    let mut best: Option<(i64, Vec<usize>)> = None;
    let sizes: Vec<usize> = grid.dims.iter().map(|d| d.ladder.len()).collect();
    let n: usize = sizes.iter().product();
    for mut k in 0..n {
        let point: Vec<usize> = sizes
            .iter()
            .rev()
            .map(|&m| {
                let i = k % m;
                k /= m;
                i
            })
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let e = grid.evaluate(&point).clone();
        if e.feasible
            && best
                .as_ref()
                .is_none_or(|(c, p)| (e.cents(), &point) < (*c, p))
        {
            best = Some((e.cents(), point));
        }
    }
    let (c, point) = best.expect("a feasible setting");
    assert_eq!(rec.cents(), c, "{:?} against {point:?}", rec.point);
    assert!(r.evaluations < n, "{} of {n}", r.evaluations);
    // The large workspaces need warm room in their own pool: 10 of them,
    // two a node of 16 vCPU, one of 8.
    let v = |col: &str| rec.values[want.iter().position(|(c, _)| c == col).unwrap()];
    assert!(
        v("node_min_large") * (v("node_vcpu_large") / 8.0) >= 10.0,
        "{:?}",
        rec.values
    );
    assert!(v("node_min_general") > 0.0, "{:?}", rec.values);
    // Every binding names its pool.
    for (d, b) in r.dimensions.iter().zip(&r.binding) {
        let pool = d.pool_name.as_deref().unwrap();
        assert_eq!(b.pool.as_deref(), Some(pool));
        assert!(b.what.starts_with(&format!("pool {pool}: ")), "{b:?}");
    }
}

/// 60 users with a dashboard and an SSH session relayed by coderd (the
/// drill test's workload above), their workspaces running from the start;
/// `extra` is appended (a node pool, events).
fn drill_scenario(dir: &Path, name: &str, extra: &str) -> PathBuf {
    let p = steady_dashboards(
        dir,
        5,
        "20m",
        60,
        &format!(
            "p2p_fraction = 0.0\n[workload.connections.ssh]\nper_user = 1.0\n\
             [[slo]]\nname = \"at most 100 interrupted sessions\"\nmetric = \"interruptions_total\"\nstat = \"total\"\nmax = 100\n{extra}"
        ),
    );
    let q = dir.join(format!("{name}.toml"));
    std::fs::rename(&p, &q).unwrap();
    q
}

/// A pool for the 60 running workspaces: 7 a node, 9 nodes, placed at the
/// start whatever the warm minimum.
const DRILL_POOL: &str =
    "[[deployment.node_pools]]\nname = \"ws\"\nvcpu = 8\nram = \"32GB\"\nmax = 20\n";

#[test]
fn node_pools_change_no_coderd_drill_verdict_and_size_keeps_the_drill() {
    use capsim::compare::size::{Resilience, Resource, Search};
    let dir = scratch("size/pool-drill");
    let plain = drill_scenario(&dir, "plain", "");
    let pooled = drill_scenario(&dir, "pooled", DRILL_POOL);
    let prices = PriceList::load(&gcp()).unwrap();
    let mut opts = SizeOptions::new(5, 2);
    opts.policy = false;
    opts.max_replicas = Some(4);
    opts.resilience = Resilience::N1;
    opts.resources = Some(vec![Resource::CoderdReplicas]);
    let mut a = Search::new(&plain, vec![], &prices, opts.clone()).unwrap();
    opts.resources = Some(vec![Resource::CoderdReplicas, Resource::NodeMin]);
    let mut b = Search::new(&pooled, vec![], &prices, opts.clone()).unwrap();
    assert_eq!(b.dims[1].ladder, [0.0, 5.0, 10.0, 15.0]);
    // Every replica count, with the pool at its top: the same drill, the
    // same interrupted sessions to the last one (the pool draws on its own
    // random stream), the same verdicts.
    let mut verdicts = Vec::new();
    for i in 0..4 {
        let x = a.evaluate(&[i]).clone();
        let y = b.evaluate(&[i, 3]).clone();
        assert_eq!(x.verdict(), y.verdict(), "{} replicas", x.values[0]);
        assert_eq!(x.slos[0].mean, y.slos[0].mean);
        let (dx, dy) = (x.drill.as_ref(), y.drill.as_ref());
        assert_eq!(dx.is_some(), dy.is_some());
        if let (Some(dx), Some(dy)) = (dx, dy) {
            assert_eq!(dx.feasible, dy.feasible);
            assert_eq!(dx.slos[0].mean, dy.slos[0].mean);
        }
        verdicts.push(y.verdict());
    }
    // One replica meets the SLO but not the drill; two do both.
    assert_eq!(&verdicts[..2], ["fails N-1 drill", "pass"]);
    // The search with the pool: the drill still binds the replicas, the
    // pool's warm minimum goes to the lowest that costs the same (the
    // nodes the running workspaces need are up anyway) and its note names
    // the pool.
    let r = size::size(&pooled, vec![], &prices, opts.clone()).unwrap();
    let rec = r.recommended.as_ref().expect("a recommendation");
    assert_eq!(rec.values, [2.0, 0.0]);
    assert_eq!(r.drill.as_ref().expect("a drill").source, "busiest");
    assert!(rec.drill.as_ref().is_some_and(|d| d.feasible));
    assert_eq!(r.binding[0].kind, "drill", "{:?}", r.binding[0]);
    assert_eq!(r.binding[1].pool.as_deref(), Some("ws"));
    assert!(
        r.binding[1].what.starts_with("pool ws: "),
        "{:?}",
        r.binding[1]
    );
    // Searching only the pool: its candidates run the drill too, and the
    // result says so. At the scenario's one replica none survives it; at
    // two the cheapest pool setting does.
    opts.resources = Some(vec![Resource::NodeMin]);
    let r = size::size(&pooled, vec![], &prices, opts.clone()).unwrap();
    assert!(r.recommended.is_none());
    assert!(
        r.largest.as_ref().unwrap().verdict() == "fails N-1 drill",
        "{:?}",
        r.largest
    );
    let two = vec![(
        "deployment.coderd.replicas".to_string(),
        toml::Value::Integer(2),
    )];
    let r = size::size(&pooled, two, &prices, opts).unwrap();
    let rec = r.recommended.as_ref().expect("a recommendation");
    assert!(rec.drill.as_ref().is_some_and(|d| d.feasible));
    assert_eq!(
        r.drill.as_ref().expect("the drill is reported").source,
        "busiest"
    );
}

#[test]
fn with_node_pools_size_keeps_the_policy_and_the_scenarios_own_replica_loss() {
    use capsim::compare::size::{Resilience, Resource};
    let dir = scratch("size/pool-policy");
    // The scenario loses a coderd replica itself at 10 min: its own drill.
    let p = drill_scenario(
        &dir,
        "own",
        &format!("{DRILL_POOL}[[events]]\nat = \"+10m\"\naction = \"kill_replica\"\n"),
    );
    let prices = PriceList::load(&gcp()).unwrap();
    let mut opts = SizeOptions::new(5, 2);
    opts.max_replicas = Some(5);
    opts.resilience = Resilience::N1;
    opts.resources = Some(vec![Resource::CoderdReplicas, Resource::NodeMin]);
    let r = size::size(&p, vec![], &prices, opts).unwrap();
    let rec = r.recommended.as_ref().expect("a recommendation");
    // The scenario's own loss is the drill: no second one is run, and the
    // candidates' runs hold its interrupted sessions.
    assert_eq!(r.drill.as_ref().expect("a drill").source, "scenario");
    assert!(r.evaluated.iter().all(|e| e.drill.is_none()));
    assert!(rec.slos[0].mean.unwrap() > 0.0, "{:?}", rec.slos[0]);
    // The policy: at least 3 replicas (its floor sets them here), and its
    // CPU ceilings checked and met.
    assert!(rec.values[0] >= 3.0, "{:?}", rec.values);
    assert_eq!(r.binding[0].kind, "policy", "{:?}", r.binding[0]);
    assert!(
        rec.policy.iter().any(|c| c.name.contains("peak CPU"))
            && rec.policy.iter().all(|c| c.confident),
        "{:?}",
        rec.policy
    );
    assert!(r.policy.is_some());
    assert_eq!(rec.values[1], 0.0);
}

/// The size.json document of `r`, with what tells how the search ran (its
/// counts) blanked: what the fast and the exhaustive search must agree on.
fn verdicts(r: &SizeResult) -> capsim::compare::size_report::SizeJson {
    let mut d = capsim::compare::size_report::document(r);
    d.evaluations = 0;
    d.simulations = 0;
    d.stopped_early = 0;
    d.completed = 0;
    d.exhaustive = false;
    d
}

/// The fast search (early stops, lower ends first, binary searches side by
/// side) against the exhaustive one, on `threads` threads.
fn both(
    p: &Path,
    prices: &PriceList,
    opts: &SizeOptions,
    growth: &[u32],
    threads: usize,
) -> (Vec<SizeResult>, Vec<SizeResult>) {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    let run = |exhaustive: bool| {
        let mut o = opts.clone();
        o.exhaustive = exhaustive;
        pool.install(|| {
            if growth.is_empty() {
                vec![size::size(p, vec![], prices, o).unwrap()]
            } else {
                size::growth(p, vec![], prices, o, growth, &mut |_| {})
                    .unwrap()
                    .into_iter()
                    .map(|g| g.result)
                    .collect()
            }
        })
    };
    (run(false), run(true))
}

#[test]
fn the_fast_search_recommends_what_the_exhaustive_one_does_with_fewer_simulations() {
    use capsim::compare::size::{Resilience, Resource};
    let dir = scratch("size/fast");
    for sub in ["policy", "drill", "growth"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    let gcp = PriceList::load(&gcp()).unwrap();
    let aws = PriceList::load(&aws()).unwrap();
    // (name, scenario, prices, options, growth)
    let mut cases: Vec<(&str, PathBuf, &PriceList, SizeOptions, Vec<u32>)> = Vec::new();
    // Coder's policy, shapes of coderd and the database (AWS instance types).
    let policy = steady_dashboards(&dir.join("policy"), 5, "20m", 50, LOOSE_API_SLO);
    let mut o = SizeOptions::new(5, 3);
    o.resilience = Resilience::None;
    o.resources = Some(vec![
        Resource::CoderdReplicas,
        Resource::CoderdVcpu,
        Resource::DatabaseVcpu,
    ]);
    cases.push(("policy", policy, &aws, o, vec![]));
    // The N-1 drill binds the replicas.
    let drill = steady_dashboards(
        &dir.join("drill"),
        5,
        "20m",
        60,
        "p2p_fraction = 0.0\n[workload.connections.ssh]\nper_user = 1.0\n\
         [[slo]]\nname = \"at most 100 interrupted sessions\"\nmetric = \"interruptions_total\"\nstat = \"total\"\nmax = 100\n",
    );
    let mut o = SizeOptions::new(5, 3);
    o.policy = false;
    o.resources = Some(vec![Resource::CoderdReplicas, Resource::CoderdVcpu]);
    o.max_replicas = Some(4);
    cases.push(("drill", drill, &gcp, o, vec![]));
    // A growth run: three user counts, each search starting from the last
    // one's lower bounds, on a tight API SLO.
    let grow = steady_dashboards(
        &dir.join("growth"),
        3,
        "20m",
        100,
        "[[slo]]\nmetric = \"api_latency_seconds\"\nstat = \"p95\"\nlabels = { class = \"dashboard\" }\nmax = \"40ms\"\n",
    );
    let mut o = SizeOptions::new(3, 3);
    o.policy = false;
    o.resilience = Resilience::None;
    o.resources = Some(vec![Resource::CoderdReplicas, Resource::DatabaseVcpu]);
    o.max_replicas = Some(8);
    cases.push(("growth", grow, &gcp, o, vec![100, 200, 400]));
    // The README's autostart herd, cut to 06:00-09:30, on the provisioner
    // daemons alone: a resource that grows with the users, so the second
    // and third counts probe the guess from the smaller ones first.
    let herd = write(
        &dir.join("growth"),
        "herd.toml",
        &format!(
            "extends = {}\nname = \"herd\"\nduration = \"210m\"\n\
             [deployment.coderd]\nreplicas = 3\nvcpu = 4\nram = \"16GB\"\n",
            toml_str(&repo().join("scenarios/compare/herd-1500-base.toml"))
        ),
    );
    let mut o = SizeOptions::new(1500, 3);
    o.policy = false;
    o.resilience = Resilience::None;
    o.resources = Some(vec![Resource::Provisioners]);
    o.max_provisioners = Some(200);
    cases.push(("herd", herd, &gcp, o, vec![100, 200, 400]));
    let (mut fewer, mut completed) = (0, 0);
    for (name, p, prices, opts, growth) in &cases {
        let (fast, slow) = both(p, prices, opts, growth, 2);
        assert_eq!(fast.len(), slow.len());
        for (f, s) in fast.iter().zip(&slow) {
            let rec = |r: &SizeResult| r.recommended.as_ref().map(|e| e.point.clone());
            assert!(rec(s).is_some(), "{name}: the exhaustive search finds one");
            assert_eq!(rec(f), rec(s), "{name} at {} users", f.users);
            // The whole size.json but the counts: the recommendation's
            // checks, what binds each resource, why not cheaper.
            assert_eq!(verdicts(f), verdicts(s), "{name} at {} users", f.users);
            // Every candidate both evaluated has the same verdict (the
            // fast one is certain when it stopped early).
            for e in &f.evaluated {
                if let Some(x) = s.evaluated.iter().find(|x| x.point == e.point) {
                    assert_eq!(e.feasible, x.feasible, "{name}: {:?}", e.values);
                    if !e.stopped_early {
                        assert_eq!(e.verdict(), x.verdict(), "{name}: {:?}", e.values);
                        // All its replications, in one go or completed
                        // after an early stop (the kept ones and the
                        // missing ones): the same runs, the same values.
                        assert_eq!(
                            format!("{:?}{:?}{:?}", e.slos, e.policy, e.drill),
                            format!("{:?}{:?}{:?}", x.slos, x.policy, x.drill),
                            "{name}: {:?}",
                            e.values
                        );
                        if e.simulations > 0 {
                            assert_eq!(e.simulations, x.simulations, "{name}: {:?}", e.values);
                        }
                    }
                }
            }
            assert!(s.stopped_early == 0 && s.exhaustive && !f.exhaustive);
            // One search: never more simulations. A growth run's guess can
            // cost a probe more at one user count (a guess off by a few
            // rungs probes near the answer, where no replication stops
            // early), so there the whole run is compared.
            assert!(
                !growth.is_empty() || f.simulations <= s.simulations,
                "{name}: {} simulations against {}",
                f.simulations,
                s.simulations
            );
            fewer += usize::from(f.simulations < s.simulations);
            completed += f.completed;
        }
        let total = |r: &[SizeResult]| r.iter().map(|x| x.simulations).sum::<u64>();
        assert!(
            total(&fast) <= total(&slow),
            "{name}: {} simulations against {}",
            total(&fast),
            total(&slow)
        );
        // Pipelined by resource (each resource's searches count after
        // count on their own): what the counts in turn give.
        if !growth.is_empty() {
            let in_turn = size::growth_in_turn(p, vec![], prices, opts.clone(), growth).unwrap();
            assert_eq!(in_turn.len(), fast.len());
            for (a, b) in in_turn.iter().zip(&fast) {
                // The document (with the counts) and every candidate.
                assert_eq!(
                    capsim::compare::size_report::to_json(&a.result),
                    capsim::compare::size_report::to_json(b),
                    "{name}"
                );
                assert_eq!(
                    serde_json::to_string(&a.result.evaluated).unwrap(),
                    serde_json::to_string(&b.evaluated).unwrap(),
                    "{name}"
                );
            }
        }
        // The fast search does not depend on the threads: the same
        // candidates, replications and documents on one.
        let (one, _) = both(p, prices, opts, growth, 1);
        for (a, b) in one.iter().zip(&fast) {
            assert_eq!(
                capsim::compare::size_report::to_json(a),
                capsim::compare::size_report::to_json(b),
                "{name}"
            );
            let order = |r: &SizeResult| -> Vec<(Vec<usize>, u32)> {
                r.evaluated
                    .iter()
                    .map(|e| (e.point.clone(), e.replications_run))
                    .collect()
            };
            assert_eq!(order(a), order(b), "{name}");
        }
    }
    assert!(fewer >= 3, "fewer simulations in {fewer} searches");
    assert!(
        completed > 0,
        "the cases must complete a candidate that stopped early"
    );
}

#[test]
fn growth_by_resource_stops_after_a_count_with_no_answer_and_goes_on_in_turn() {
    use capsim::compare::size::{Resilience, Resource};
    // The API request rate grows with the users whatever the architecture:
    // 100 users meet the SLO, 200 and 400 cannot.
    let dir = scratch("size/growth-none");
    let p = steady_dashboards(
        dir.path(),
        3,
        "20m",
        100,
        "[[slo]]\nmetric = \"api_requests_per_second\"\nstat = \"mean\"\nlabels = { class = \"total\" }\nmax = 60\n",
    );
    let gcp = PriceList::load(&gcp()).unwrap();
    let mut o = SizeOptions::new(3, 2);
    o.policy = false;
    o.resilience = Resilience::None;
    o.resources = Some(vec![Resource::CoderdReplicas, Resource::DatabaseVcpu]);
    o.max_replicas = Some(4);
    let users = [100, 200, 400];
    let piped = size::growth(&p, vec![], &gcp, o.clone(), &users, &mut |_| {}).unwrap();
    let in_turn = size::growth_in_turn(&p, vec![], &gcp, o, &users).unwrap();
    let answers: Vec<bool> = piped
        .iter()
        .map(|g| g.result.recommended.is_some())
        .collect();
    assert_eq!(answers, [true, false, false]);
    assert_eq!(piped.len(), in_turn.len());
    for (a, b) in piped.iter().zip(&in_turn) {
        assert_eq!(a.users, b.users);
        assert_eq!(
            capsim::compare::size_report::to_json(&a.result),
            capsim::compare::size_report::to_json(&b.result),
            "{} users",
            a.users
        );
        assert_eq!(
            serde_json::to_string(&a.result.evaluated).unwrap(),
            serde_json::to_string(&b.result.evaluated).unwrap(),
            "{} users",
            a.users
        );
    }
}
