//! `capsim sensitivity`: one-at-a-time effects against Erlang C, the
//! study's outputs, and its input errors.

use crate::support::{
    capsim, capsim_in, erlang_c_mean_wait_s, ok, png_size, read_csv, scenario, scratch, stderr,
};
use capsim::sensitivity::{self, Factor};

/// On the M/M/c queue of `scenarios/build-queue/mmc.toml` (c = 10, 8
/// builds a minute of 60 s on average), the one-at-a-time effect of the
/// daemon count (9 to 11) and of the mean build time (55 s to 65 s) on the
/// mean wait has the sign and, within its paired 95% interval, the size of
/// Erlang C's difference between the two ends (the derivative over the
/// range).
#[test]
fn oat_effects_on_the_mmc_wait_match_erlang_c() {
    let path = scenario("build-queue/mmc.toml");
    let base = capsim::scenario::load(&path).unwrap();
    let factors = vec![
        Factor::parse_key("deployment.provisioners.count=9..11").unwrap(),
        Factor::parse_key("workload.templates[0].build_time.mean=55s..65s").unwrap(),
    ];
    let plan = sensitivity::plan_oat(factors, base.seed, 4);
    let targets = sensitivity::targets(&base);
    let scenarios: Vec<_> = (0..plan.variants.len())
        .map(|v| sensitivity::variant_scenario(&base, &path, &plan, v).unwrap())
        .collect();
    let results: Vec<_> = plan
        .tasks
        .iter()
        .map(|t| sensitivity::run_task(&scenarios[t.variant], t, &targets))
        .collect();
    let a = sensitivity::analyse(&plan, &targets, &results).unwrap();
    let wait = targets
        .iter()
        .position(|t| t.slo.metric == "build_queue_wait_seconds" && t.slo.stat == "mean")
        .unwrap();
    let lambda = 8.0 / 60.0;
    let expected = [
        erlang_c_mean_wait_s(11, lambda, 60.0) - erlang_c_mean_wait_s(9, lambda, 60.0),
        erlang_c_mean_wait_s(10, lambda, 65.0) - erlang_c_mean_wait_s(10, lambda, 55.0),
    ];
    for (f, want) in expected.into_iter().enumerate() {
        let e = a
            .effects
            .iter()
            .find(|e| e.factor == f && e.target == wait)
            .unwrap();
        let (d, lo, hi) = (
            e.delta.mean.unwrap(),
            e.delta.ci_low.unwrap(),
            e.delta.ci_high.unwrap(),
        );
        assert_eq!(d.signum(), want.signum(), "factor {f}: {d} against {want}");
        assert!(
            (lo..=hi).contains(&want),
            "factor {f}: Erlang C's {want:.2} s outside [{lo:.2}, {hi:.2}]"
        );
    }
    // The daemon count moves the wait more than the build time does here,
    // and the ranking says so.
    assert_eq!(a.ranked(wait)[0].factor, 0);
}

#[test]
fn the_command_writes_the_answer_csv_and_tornado_plots() {
    let dir = scratch("sensitivity/cli");
    let mmc = scenario("build-queue/mmc.toml");
    let out = ok(capsim(&dir).args([
        "sensitivity",
        mmc.to_str().unwrap(),
        "--params",
        "db_rtt_ms,coderd_cpu_ms_connect",
        "--vary",
        "deployment.provisioners.count=9..11",
        "--replications",
        "2",
        "--out",
        "out",
        "-q",
    ]));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("build queue wait, mean"), "{text}");
    assert!(text.contains("`deployment.provisioners.count`"), "{text}");
    let d = dir.path().join("out");
    let md = std::fs::read_to_string(d.join("sensitivity.md")).unwrap();
    assert!(md.contains("3 factors"), "{md}");
    // Statistics this scenario does not produce are left out.
    assert!(!md.contains("API latency"), "{md}");
    let (head, rows) = read_csv(&d.join("sensitivity.csv"));
    assert_eq!(head[0], "factor");
    // Base row per target plus two ends per factor and target.
    let targets = rows.iter().filter(|r| r[0] == "base").count();
    assert_eq!(rows.len(), targets + 2 * 3 * targets);
    let (w, h) = png_size(&d.join("tornado-1.png"));
    assert!(w >= 800 && h >= 200);
}

#[test]
fn bad_factors_exit_2_naming_them() {
    let dir = scratch("sensitivity/bad");
    let mmc = scenario("build-queue/mmc.toml");
    let m = mmc.to_str().unwrap();
    for (args, says) in [
        (
            vec!["--params", "no_such"],
            "--params no_such: not an uncertain parameter",
        ),
        (
            vec!["--params", "builtin_provisioners_per_replica"],
            "not an uncertain parameter",
        ),
        (
            vec!["--vary", "deployment.provisioners.count=9"],
            "expected KEY=LO..HI",
        ),
        (
            vec!["--vary", "deployment.provisioners.count=x..y"],
            "deployment.provisioners.count",
        ),
    ] {
        let mut a = vec!["sensitivity", m];
        a.extend(args.iter().copied());
        let out = capsim_in(&dir, &a);
        assert_eq!(out.status.code(), Some(2), "{a:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(says), "{a:?}: {}", stderr(&out));
    }
}

/// `--morris R`: the global study's table and `morris.csv`, its sample
/// size stated; on the M/M/c queue the daemon count matters and the
/// database round trip (which a build-queue-only scenario never reads)
/// has a mu* of exactly 0.
#[test]
fn morris_ranks_a_factor_the_scenario_reads_above_one_it_does_not() {
    let dir = scratch("sensitivity/morris");
    let mmc = scenario("build-queue/mmc.toml");
    ok(capsim(&dir).args([
        "sensitivity",
        mmc.to_str().unwrap(),
        "--params",
        "db_rtt_ms",
        "--vary",
        "deployment.provisioners.count=9..11",
        "--replications",
        "1",
        "--morris",
        "4",
        "--out",
        "out",
        "-q",
    ]));
    let d = dir.path().join("out");
    let md = std::fs::read_to_string(d.join("sensitivity.md")).unwrap();
    assert!(
        md.contains("4 trajectories over all 2 factors at once (12 points, 12 simulations"),
        "{md}"
    );
    let (head, rows) = read_csv(&d.join("morris.csv"));
    assert_eq!(head[..3], ["target", "factor", "mu_star"]);
    let mu = |factor: &str| -> f64 {
        rows.iter()
            .find(|r| r[0] == "build queue wait, mean" && r[1] == factor)
            .unwrap()[2]
            .parse()
            .unwrap()
    };
    assert_eq!(mu("db_rtt_ms"), 0.0);
    assert!(mu("deployment.provisioners.count") > 1.0);
}
