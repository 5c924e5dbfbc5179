//! `capsim run --uncertainty N`: zero-width ranges give the plain run,
//! wider ranges a wider combined interval, and the command's outputs.

use crate::support::{capsim, ok, read_csv, scenario, scratch};
use capsim::Summary;
use capsim::engine::rng::replication_seed;
use capsim::result::find_for_slo;
use capsim::sensitivity::uncertainty::study;

const SCENARIO: &str = "scale-tests/published-v0.24.1-200-users.toml";

/// Every range collapsed to its value: every set is the plain run (common
/// random numbers), so the mean is the plain run's, the model's part and
/// the between-set spread are zero, and the combined interval is the plain
/// run's 95% interval of the mean.
#[test]
fn zero_width_ranges_give_the_plain_run() {
    let s = capsim::scenario::load(&scenario(SCENARIO)).unwrap();
    let params: Vec<_> = s
        .uncertain_params()
        .into_iter()
        .map(|mut u| {
            u.lo = u.value;
            u.hi = u.value;
            u
        })
        .collect();
    let reps = 3;
    let st = study(&s, &params, 4, s.seed, reps).unwrap();
    assert_eq!(st.varied, 0);
    let runs: Vec<_> = (0..reps)
        .map(|r| capsim::simulate(&s, replication_seed(s.seed, r)))
        .collect();
    let plain = Summary::from_runs(&s, s.seed, &runs);
    assert_eq!(st.rows.len(), s.slos.len());
    for (row, slo) in st.rows.iter().zip(&s.slos) {
        let m = find_for_slo(slo, &plain.metrics).unwrap();
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * b.abs().max(1.0);
        assert!(close(row.mean.unwrap(), m.value.unwrap()), "{row:?} {m:?}");
        assert_eq!(row.between_var, Some(0.0), "{row:?}");
        assert_eq!(row.model_var, Some(0.0), "{row:?}");
        assert!(
            close(row.combined_low.unwrap(), m.ci_low.unwrap()),
            "{row:?} {m:?}"
        );
        assert!(
            close(row.combined_high.unwrap(), m.ci_high.unwrap()),
            "{row:?} {m:?}"
        );
    }
}

/// The shipped ranges against the same ranges shrunk to a tenth around
/// each value: the combined interval of the agent API p95 is wider, and
/// so is the model's part.
#[test]
fn wider_ranges_give_a_wider_combined_interval() {
    let s = capsim::scenario::load(&scenario(SCENARIO)).unwrap();
    let wide = s.uncertain_params();
    let narrow: Vec<_> = wide
        .iter()
        .cloned()
        .map(|mut u| {
            let (lo, hi) = (
                u.value - 0.1 * (u.value - u.lo),
                u.value + 0.1 * (u.hi - u.value),
            );
            (u.lo, u.hi) = if u.whole {
                (lo.ceil().min(u.value), hi.floor().max(u.value))
            } else {
                (lo, hi)
            };
            u
        })
        .collect();
    let (w, n) = (
        study(&s, &wide, 8, s.seed, 2).unwrap(),
        study(&s, &narrow, 8, s.seed, 2).unwrap(),
    );
    let agent = |st: &capsim::sensitivity::uncertainty::Study| {
        st.rows
            .iter()
            .find(|r| r.target.starts_with("agent API p95"))
            .cloned()
            .unwrap()
    };
    let (aw, an) = (agent(&w), agent(&n));
    assert!(
        aw.combined_width().unwrap() > an.combined_width().unwrap(),
        "{aw:?} {an:?}"
    );
    assert!(
        aw.model_var.unwrap() > an.model_var.unwrap(),
        "{aw:?} {an:?}"
    );
}

/// The printed summary starts with the plain run's, byte for byte, and
/// the report folder gets uncertainty.csv (one row per SLO).
#[test]
fn the_command_prints_the_plain_summary_then_the_study() {
    let dir = scratch("uncertainty/cli");
    let path = scenario(SCENARIO);
    let p = path.to_str().unwrap();
    let args = ["run", p, "--replications", "2", "--no-store", "-q"];
    let plain = ok(capsim(&dir).args(args).args(["--out", "plain"]));
    let unc = ok(capsim(&dir)
        .args(args)
        .args(["--out", "unc", "--uncertainty", "3"]));
    let (plain, unc) = (
        String::from_utf8(plain.stdout).unwrap(),
        String::from_utf8(unc.stdout).unwrap(),
    );
    assert!(unc.starts_with(&plain), "{unc}");
    assert!(
        unc[plain.len()..].contains("Model uncertainty: 3 parameter sets"),
        "{unc}"
    );
    let csv = std::fs::read_dir(dir.path().join("unc"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path()
        .join("uncertainty.csv");
    let (head, rows) = read_csv(&csv);
    assert_eq!(head[1], "statistic");
    let s = capsim::scenario::load(&path).unwrap();
    assert_eq!(rows.len(), s.slos.len());
    // The plain run writes none.
    let plain_dir = std::fs::read_dir(dir.path().join("plain"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    assert!(!plain_dir.join("uncertainty.csv").exists());
}

/// Fewer than two sets, or `--from` a store that does not exist: refused
/// with exit 2 before anything runs. (Shards: tests/it/shard.rs.)
#[test]
fn bad_uncertainty_arguments_exit_2() {
    let dir = scratch("uncertainty/bad");
    let path = scenario(SCENARIO);
    let p = path.to_str().unwrap();
    for extra in [
        &["--uncertainty", "1"][..],
        &["--uncertainty", "0"][..],
        &["--uncertainty", "3", "--from", "x.db"][..],
    ] {
        let out = capsim(&dir)
            .args(["run", p, "--no-report"])
            .args(extra)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{extra:?}");
    }
    assert!(!dir.path().join("reports").exists());
    assert!(!dir.path().join("x.db").exists());
}
