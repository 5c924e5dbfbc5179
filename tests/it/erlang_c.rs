//! The build queue with Poisson arrivals and exponential build times is an
//! M/M/c queue: its simulated mean wait, P(wait > 0) and utilisation must
//! agree with Erlang C over a grid of (c, utilisation) points.
//!
//! Each point runs independent replications; a check fails when the
//! analytic value lies outside the 99% Student-t interval of the
//! replication means. Mean build time is 1 s, so waits never come near the
//! model's 30-minute pending time-out (no reneging, a pure M/M/c).
//!
//! Beyond the grid, a property test draws (c, rho, mean build time, seed)
//! at random (10 cases from a fixed generator seed) and checks the same
//! three oracles; an 8% error in the mean wait fails it.

use crate::support::{QueueSpec, erlang_c, erlang_c_mean_wait_s, model_path, scratch};
use capsim::engine::rng::replication_seed;
use rayon::prelude::*;
use statrs::distribution::{ContinuousCDF, StudentsT};
use std::sync::OnceLock;

#[test]
fn erlang_c_matches_known_values() {
    // c = 10, a = 8 erlangs: C = 0.4092 (the textbook call-centre example,
    // also in scenarios/build-queue/mmc.toml).
    assert!(
        (erlang_c(10, 8.0) - 0.4092).abs() < 5e-5,
        "{}",
        erlang_c(10, 8.0)
    );
    // c = 1: M/M/1, P(wait) = rho and Wq = rho / (mu - lambda).
    assert!((erlang_c(1, 0.95) - 0.95).abs() < 1e-12);
    assert!((erlang_c_mean_wait_s(1, 0.5, 1.0) - 1.0).abs() < 1e-12);
    // c = 2: closed form C = 2 rho^2 / (1 + rho); a = 1 gives rho = 0.5, C = 1/3.
    assert!((erlang_c(2, 1.0) - 1.0 / 3.0).abs() < 1e-12);
    // Large c stays finite and in (0, 1).
    let big = erlang_c(500, 490.0);
    assert!(big > 0.0 && big < 1.0, "{big}");
}

const MEAN_SERVICE_S: f64 = 1.0;
const REPLICATIONS: u32 = 12;

/// The grid: c in {1, 2, 5, 10, 20} x rho in {0.5, 0.8, 0.95}, minus
/// (20, 0.5) where only 0.4% of builds wait and P(wait > 0) is too rare to
/// estimate in a quick test.
fn grid() -> Vec<(u32, f64)> {
    let mut g = Vec::new();
    for c in [1, 2, 5, 10, 20] {
        for rho in [0.5, 0.8, 0.95] {
            if !(c == 20 && rho == 0.5) {
                g.push((c, rho));
            }
        }
    }
    g
}

/// Builds per replication: heavier traffic relaxes more slowly and its wait
/// varies more, so it needs longer runs.
fn builds_per_replication(rho: f64) -> f64 {
    if rho < 0.7 {
        30_000.0
    } else if rho < 0.9 {
        60_000.0
    } else {
        300_000.0
    }
}

/// Replication means of one statistic and the 99% Student-t interval.
#[derive(Debug)]
struct Interval {
    mean: f64,
    low: f64,
    high: f64,
}

impl Interval {
    fn of(xs: &[f64]) -> Interval {
        let n = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / n;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
        let t = StudentsT::new(0.0, 1.0, n - 1.0)
            .expect("df >= 1")
            .inverse_cdf(0.995);
        let h = t * (var / n).sqrt();
        Interval {
            mean,
            low: mean - h,
            high: mean + h,
        }
    }
    fn contains(&self, x: f64) -> bool {
        self.low <= x && x <= self.high
    }
    fn half_width(&self) -> f64 {
        (self.high - self.low) / 2.0
    }
}

struct Point {
    c: u32,
    rho: f64,
    lambda_per_s: f64,
    wait_mean_s: Interval,
    wait_probability: Interval,
    utilization: Interval,
}

fn simulate_point(i: usize, c: u32, rho: f64) -> Point {
    simulate_mmc(
        &format!("mmc-c{c}-rho{}", (rho * 100.0).round()),
        9_000 + i as u64,
        c,
        rho,
        MEAN_SERVICE_S,
        builds_per_replication(rho),
    )
}

/// Simulate M/M/c with `c` daemons at utilisation `rho` and mean build time
/// `mean_service_s`, `REPLICATIONS` replications of about `builds` builds
/// each after a warm-up.
fn simulate_mmc(
    name: &str,
    seed: u64,
    c: u32,
    rho: f64,
    mean_service_s: f64,
    builds: f64,
) -> Point {
    let lambda_per_s = rho * c as f64 / mean_service_s;
    // Relaxation time of M/M/c in heavy traffic, about 1 / (c mu (1 - sqrt rho)^2);
    // warm up for ten of them (starting empty biases waits low).
    let relax_s = mean_service_s / (c as f64 * (1.0 - rho.sqrt()).powi(2));
    let warmup_s = (10.0 * relax_s).ceil();
    let duration_s = warmup_s + (builds / lambda_per_s).ceil();
    let model = model_path();
    let scenario = QueueSpec {
        name,
        model: &model,
        c,
        lambda_per_s,
        build_time: &format!("{{ dist = \"exponential\", mean = \"{mean_service_s}s\" }}"),
        duration_s,
        warmup_s,
        bucket_s: ((duration_s - warmup_s) / 10.0).ceil(),
        seed,
    }
    .load(&scratch(&format!("erlang_c/{name}")));
    let runs: Vec<capsim::RunResult> = (0..REPLICATIONS)
        .into_par_iter()
        .map(|r| capsim::simulate(&scenario, replication_seed(scenario.seed, r)))
        .collect();
    let stat = |name: &str, stat: &str| -> Interval {
        let xs: Vec<f64> = runs
            .iter()
            .map(|r| {
                r.metric(name, stat)
                    .unwrap_or_else(|| panic!("no metric {name} {stat}"))
            })
            .collect();
        Interval::of(&xs)
    };
    for r in &runs {
        assert!(
            !r.saturated,
            "c={c} rho={rho} reported saturated: {:?}",
            r.notes
        );
        assert_eq!(
            r.metric("builds_failed_total", "total"),
            Some(0.0),
            "no build may fail or time out in a pure M/M/c"
        );
    }
    Point {
        c,
        rho,
        lambda_per_s,
        wait_mean_s: stat("build_queue_wait_seconds", "mean"),
        wait_probability: stat("build_queue_wait_probability", "mean"),
        utilization: stat("provisioner_utilization", "mean"),
    }
}

/// Every grid point, simulated once and shared by the tests below.
fn points() -> &'static [Point] {
    static POINTS: OnceLock<Vec<Point>> = OnceLock::new();
    POINTS.get_or_init(|| {
        grid()
            .into_iter()
            .enumerate()
            .map(|(i, (c, rho))| simulate_point(i, c, rho))
            .collect()
    })
}

/// Check `analytic(point)` against `interval(point)` at every point; also
/// require the interval to be narrow enough (relative half-width at most
/// `max_rel_half_width`) that the check could detect a wrong model.
fn check(
    what: &str,
    interval: impl Fn(&Point) -> &Interval,
    analytic: impl Fn(&Point) -> f64,
    max_rel_half_width: f64,
) {
    let pts = points();
    assert!(pts.len() >= 12, "the grid needs at least 12 points");
    let mut failures = Vec::new();
    for p in pts {
        let iv = interval(p);
        let want = analytic(p);
        let line = format!(
            "c={:>2} rho={:.2}: {what} analytic {want:.5}, simulated {:.5} [{:.5}, {:.5}]",
            p.c, p.rho, iv.mean, iv.low, iv.high
        );
        eprintln!("{line}"); // shown with --nocapture or on failure
        if !iv.contains(want) {
            failures.push(format!(
                "{line}  <- analytic value outside the 99% interval"
            ));
        } else if iv.half_width() > max_rel_half_width * want {
            failures.push(format!(
                "{line}  <- interval too wide to test anything (> {}% of the value)",
                max_rel_half_width * 100.0
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn mean_wait_matches_erlang_c() {
    check(
        "mean wait (s)",
        |p| &p.wait_mean_s,
        |p| erlang_c_mean_wait_s(p.c, p.lambda_per_s, MEAN_SERVICE_S),
        0.25,
    );
}

#[test]
fn wait_probability_matches_erlang_c() {
    check(
        "P(wait > 0)",
        |p| &p.wait_probability,
        |p| erlang_c(p.c, p.lambda_per_s * MEAN_SERVICE_S),
        0.1,
    );
}

#[test]
fn utilisation_matches_offered_load() {
    check("utilisation", |p| &p.utilization, |p| p.rho, 0.02);
}

proptest::proptest! {
    // Random (c, rho, mean build time) beyond the grid; a fixed generator
    // seed keeps the cases (and so the test) the same on every run.
    #![proptest_config(proptest::test_runner::Config {
        cases: 10,
        rng_seed: proptest::test_runner::RngSeed::Fixed(20_261_122),
        failure_persistence: None,
        ..proptest::test_runner::Config::default()
    })]

    /// For any M/M/c the simulated mean wait, P(wait > 0) and utilisation
    /// hold Erlang C and the offered load inside their 99% intervals.
    #[test]
    fn any_mmc_queue_matches_erlang_c(
        c in 1u32..=12,
        rho in 0.5f64..0.9,
        mean_service_s in 0.5f64..20.0,
        seed in 0u64..1_000_000,
    ) {
        // Enough builds wait to estimate P(wait) (it is >= 2% on this domain).
        proptest::prop_assume!(erlang_c(c, rho * c as f64) > 0.005);
        let name = format!("mmc-prop-{seed}");
        let p = simulate_mmc(&name, seed, c, rho, mean_service_s, 40_000.0);
        let wait = erlang_c_mean_wait_s(c, p.lambda_per_s, mean_service_s);
        let pw = erlang_c(c, p.lambda_per_s * mean_service_s);
        let ctx = format!("c={c} rho={rho:.3} service={mean_service_s:.2}s");
        proptest::prop_assert!(p.wait_mean_s.contains(wait), "{ctx}: mean wait {wait} vs {:?}", p.wait_mean_s);
        proptest::prop_assert!(p.wait_probability.contains(pw), "{ctx}: P(wait) {pw} vs {:?}", p.wait_probability);
        proptest::prop_assert!(p.utilization.contains(rho), "{ctx}: utilisation {rho} vs {:?}", p.utilization);
    }
}

/// The performance table's M/M/c (`benches/scenarios/mmc-1m.toml`: c = 10,
/// utilisation 0.8, about 1.0 M builds in one replication) agrees with
/// Erlang C: the analytic mean wait lies in the 99% batch-means interval
/// of the run's bucket means (125 buckets of 1,000 minutes, about 8,000
/// builds each, far longer than the queue's relaxation time of about
/// 9 minutes, so the bucket means are nearly independent).
#[test]
fn mmc_1m_bench_scenario_matches_erlang_c() {
    let path = crate::support::repo().join("benches/scenarios/mmc-1m.toml");
    let s = crate::support::load(&path);
    let run = capsim::simulate(&s, s.seed);
    let buckets = &run
        .series
        .find("build_queue_wait_seconds", "mean", &[])
        .expect("the wait's mean series")
        .values;
    assert_eq!(buckets.len(), 125, "(130,000 - 5,000) / 1,000 minutes");
    let batch = Interval::of(buckets);
    let want_s = erlang_c_mean_wait_s(10, 8.0 / 60.0, 60.0);
    assert!((want_s - 12.28).abs() < 0.01, "{want_s}");
    assert!(
        batch.contains(want_s),
        "{batch:?} against Erlang C {want_s}"
    );
    assert!(
        batch.half_width() < 0.1 * want_s,
        "{batch:?}: too wide to test"
    );
    let mean_s = crate::support::metric(&run, "build_queue_wait_seconds", "mean", &[]);
    assert!(
        batch.contains(mean_s),
        "{batch:?} against the run's mean {mean_s}"
    );
}
