//! Report folders: CSVs parse back with the csv crate and carry the computed
//! numbers; every PNG decodes at the expected size; figures whose metrics a
//! run lacks are skipped; report.md links the plots and shows the SLOs.
//!
//! The Coder deployment metrics (API, connections, CPU) are not produced by
//! the model yet, so one test feeds the report synthetic replications that
//! carry them (names from the model issue), with a replica loss mark.

use crate::support::*;
use capsim::engine::metrics::{Labels, Metric, Series, labels};
use capsim::report::{self, ReportInput, plot, series};
use capsim::result::{Mark, RunResult, Summary};
use capsim::scenario::Scenario;
use std::path::Path;

/// A scenario extending the working day, with SLOs on API latency too.
fn coder_like_scenario(dir: &Path) -> Scenario {
    let base = scenario("build-queue/working-day.toml");
    let text = format!(
        r#"extends = "{}"
name = "synthetic-coder"
[[slo]]
metric = "build_queue_wait_seconds"
stat = "p95"
max = "10s"
[[slo]]
metric = "api_latency_seconds"
stat = "p95"
labels = {{ class = "dashboard" }}
max = "300ms"
"#,
        base.display()
    );
    let p = dir.join("synthetic.toml");
    std::fs::write(&p, text).unwrap();
    load(&p)
}

/// Deterministic noise in [-1, 1).
fn noise(seed: u64, i: usize) -> f64 {
    let mut x = seed
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(i as u64 * 0xBF58_476D_1CE4_E5B9);
    x ^= x >> 31;
    x = x.wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 29;
    (x >> 11) as f64 / (1u64 << 52) as f64 - 1.0
}

fn series(name: &str, stat: &str, l: Labels, unit: &str, values: Vec<f64>) -> Series {
    Series {
        name: name.into(),
        stat: stat.into(),
        labels: l,
        unit: unit.into(),
        values,
    }
}

/// One replication of the real model plus synthetic Coder metrics: a day
/// curve, replica 3 lost at 11:00 (its connections drop and reconnect).
fn synthetic_run(sc: &Scenario, rep: u32) -> RunResult {
    let mut r = capsim::simulate(sc, 1000 + rep as u64);
    let ts = &mut r.series;
    let n = ts.n_buckets();
    let t_of = |b: usize| ts.start_s + (b as f64 + 0.5) * ts.bucket_s; // seconds since 00:00
    let day = |b: usize| {
        let h = t_of(b) / 3600.0;
        ((h - 7.0) / 2.0).clamp(0.0, 1.0) * ((19.0 - h) / 2.0).clamp(0.0, 1.0)
    };
    let seed = rep as u64 + 1;
    let loss_s = 11.0 * 3600.0;
    let mut new = Vec::new();
    for (k, (class, rps)) in [("dashboard", 40.0), ("agent", 120.0), ("build", 3.0)]
        .into_iter()
        .enumerate()
    {
        let l = labels([("class", class)]);
        let v = (0..n)
            .map(|b| rps * (0.05 + day(b)) * (1.0 + 0.1 * noise(seed * 7 + k as u64, b)))
            .collect();
        new.push(series(
            "api_requests_per_second",
            "mean",
            l.clone(),
            "1/s",
            v,
        ));
        for (stat, f) in [("p50", 0.04), ("p95", 0.18), ("p99", 0.35)] {
            let v = (0..n)
                .map(|b| {
                    if class == "build" && day(b) == 0.0 {
                        f64::NAN // no build API calls at night: no samples
                    } else {
                        let storm = if (t_of(b) - loss_s).abs() < 900.0 {
                            2.5
                        } else {
                            1.0
                        };
                        f * (1.0 + day(b)) * storm * (1.0 + 0.15 * noise(seed * 11 + k as u64, b))
                    }
                })
                .collect();
            new.push(series("api_latency_seconds", stat, l.clone(), "s", v));
        }
    }
    for (k, (kind, per)) in [
        ("ssh", 300.0),
        ("ide", 500.0),
        ("web_terminal", 120.0),
        ("app", 200.0),
        ("dashboard", 400.0),
    ]
    .into_iter()
    .enumerate()
    {
        let l = labels([("kind", kind)]);
        let active: Vec<f64> = (0..n)
            .map(|b| per * day(b) * (1.0 + 0.05 * noise(seed * 13 + k as u64, b)))
            .collect();
        let at_loss = |b: usize| (t_of(b) - loss_s).abs() <= ts.bucket_s / 2.0;
        let drops: Vec<f64> = (0..n)
            .map(|b| {
                if at_loss(b) {
                    (active[b] / 4.0).round()
                } else {
                    0.0
                }
            })
            .collect();
        let reconnects: Vec<f64> = (0..n)
            .map(|b| if kind == "ssh" { 0.0 } else { drops[b] })
            .collect();
        new.push(series("connections_active", "mean", l.clone(), "1", active));
        new.push(series(
            "connections_dropped_total",
            "count",
            l.clone(),
            "1",
            drops,
        ));
        new.push(series("reconnects_total", "count", l, "1", reconnects));
    }
    let interruptions = (0..n)
        .map(|b| {
            if (t_of(b) - loss_s).abs() <= ts.bucket_s / 2.0 {
                75.0 + 5.0 * noise(seed, b)
            } else {
                (day(b) * 2.0 * (1.0 + noise(seed * 17, b))).round()
            }
        })
        .collect();
    new.push(series(
        "interruptions_total",
        "count",
        Labels::new(),
        "1",
        interruptions,
    ));
    for rep_i in 0..4 {
        let l = labels([("replica", &rep_i.to_string())]);
        let v = (0..n)
            .map(|b| {
                let lost = t_of(b) >= loss_s;
                if rep_i == 3 && lost {
                    f64::NAN
                } else {
                    let share = if lost { 4.0 / 3.0 } else { 1.0 };
                    (0.08 + 0.5 * day(b) * share) * (1.0 + 0.08 * noise(seed * 19 + rep_i, b))
                }
            })
            .collect();
        new.push(series("coderd_cpu_utilization", "mean", l, "ratio", v));
    }
    let db = (0..n).map(|b| 0.05 + 0.3 * day(b)).collect();
    new.push(series(
        "database_cpu_utilization",
        "mean",
        Labels::new(),
        "ratio",
        db,
    ));
    let replicas = (0..n)
        .map(|b| if t_of(b) >= loss_s { 3.0 } else { 4.0 })
        .collect();
    new.push(series(
        "coderd_replicas",
        "mean",
        Labels::new(),
        "1",
        replicas,
    ));
    ts.series.extend(new);
    for class in ["dashboard", "agent", "build"] {
        r.metrics.push(Metric {
            name: "api_latency_seconds".into(),
            stat: "p95".into(),
            labels: labels([("class", class)]),
            value: 0.25 + 0.01 * rep as f64,
            unit: "s".into(),
        });
    }
    r.marks.push(Mark {
        t_s: loss_s,
        kind: "replica_loss".into(),
        label: "replica 3 killed".into(),
    });
    r
}

fn write(dir: &Path, sc: &Scenario, runs: &[RunResult]) -> (Summary, Vec<String>) {
    let summary = Summary::from_runs(sc, sc.seed, runs);
    let agg = report::Aggregate::of(runs);
    let files = report::write_report(
        dir,
        &ReportInput {
            scenario: sc,
            summary: &summary,
            replications: &agg.replications,
            series: &agg.series,
            cumulative: &agg.cumulative,
            run_id: "test-run",
            stored: false,
            started_at: "2025-01-01T00:00:00.000Z",
            cost: capsim::cost::cost_of_run(sc, None, &summary).as_ref(),
        },
    )
    .unwrap();
    (summary, files)
}

fn check_pngs(dir: &Path, files: &[String]) {
    for f in files.iter().filter(|f| f.ends_with(".png")) {
        assert_eq!(png_size(&dir.join(f)), plot::SIZE, "{f}");
    }
}

#[test]
fn full_report_with_coder_metrics_and_replica_loss() {
    let tmp = scratch("reports/full");
    let sc = coder_like_scenario(tmp.path());
    let runs: Vec<RunResult> = (0..3).map(|r| synthetic_run(&sc, r)).collect();
    // Keep the output to look at: CAPSIM_KEEP_REPORT=/some/dir cargo test ...
    let dir = match std::env::var_os("CAPSIM_KEEP_REPORT") {
        Some(d) => std::path::PathBuf::from(d),
        None => tmp.path().join("report"),
    };
    let (summary, files) = write(&dir, &sc, &runs);
    assert_eq!(
        files,
        [
            "summary.json",
            "summary.csv",
            "timeseries.csv",
            "build-queue.png",
            "api.png",
            "connections.png",
            "cpu.png",
            "report.md"
        ]
    );
    check_pngs(&dir, &files);
    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    for png in ["build-queue.png", "api.png", "connections.png", "cpu.png"] {
        assert!(md.contains(&format!("]({png})")), "report.md links {png}");
    }
    // The API SLO (p95 dashboard 0.25..0.27 s <= 300 ms) passes; the build one
    // (p95 <= 10 s, while 17% of builds wait minutes in the morning) fails.
    assert_eq!(summary.slo.len(), 2);
    assert!(
        !summary.slo[0].passed() && summary.slo[1].passed(),
        "{:?}",
        summary.slo
    );
    assert!(md.contains("**Verdict: fail.** 1 of 2 SLOs missed"), "{md}");
    // The first screen reads in words: no Rust names, no field paths.
    let first_screen: String = md.lines().take(30).collect::<Vec<_>>().join("\n");
    for word in [
        "**Architecture.**",
        "**Workload.**",
        "**Events.**",
        "**Cost",
    ] {
        assert!(first_screen.contains(word), "{word} in\n{first_screen}");
    }
    assert!(
        first_screen.contains("replica killed at 11:00, 3 of 3 replications"),
        "{first_screen}"
    );
    for rust in [
        "RoundRobin",
        "WebTerminal",
        "[0]",
        "_s ",
        "n_replicas",
        "Poisson",
    ] {
        assert!(!md.contains(rust), "report.md shows `{rust}`:\n{md}");
    }
    let (h, rows) = read_csv(&dir.join("summary.csv"));
    let col = |n: &str| h.iter().position(|x| x == n).unwrap();
    let api = rows
        .iter()
        .find(|r| {
            r[col("metric")] == "api_latency_seconds"
                && r[col("stat")] == "p95"
                && r[col("class")] == "dashboard"
        })
        .expect("dashboard p95 row");
    assert_eq!(api[col("slo")], "pass");
    assert_eq!(api[col("slo_bound")], "max");
    assert_eq!(api[col("slo_target")].parse::<f64>().unwrap(), 0.3);
    let other = rows
        .iter()
        .find(|r| {
            r[col("metric")] == "api_latency_seconds"
                && r[col("stat")] == "p95"
                && r[col("class")] == "agent"
        })
        .unwrap();
    assert_eq!(
        other[col("slo")],
        "",
        "the SLO names the dashboard class only"
    );
    // Cumulative interruptions are not in the CSV (derived for the plot only),
    // but the per-bucket counts are; a lost replica's series stops at 11:00.
    let (h, ts) = read_csv(&dir.join("timeseries.csv"));
    let col = |n: &str| h.iter().position(|x| x == n).unwrap();
    let r3: Vec<(f64, &str)> = ts
        .iter()
        .filter(|r| r[col("metric")] == "coderd_cpu_utilization" && r[col("replica")] == "3")
        .map(|r| {
            (
                r[col("bucket_start_s")].parse().unwrap(),
                r[col("time_of_day")].as_str(),
            )
        })
        .collect();
    assert!(!r3.is_empty() && r3.iter().all(|(t, _)| *t < 11.0 * 3600.0));
    // The scenario starts at midnight: a bucket's time of day is its start.
    assert!(
        r3.iter()
            .all(|(t, tod)| *tod == capsim::format::day_and_time(*t).1)
    );
}

#[test]
fn build_queue_only_run_skips_absent_figures_and_csvs_round_trip() {
    let tmp = scratch("reports/build-queue-only");
    // Without coderd replicas the run has only build-queue metrics.
    let sc = capsim::scenario::load_with_overrides(
        &scenario("build-queue/working-day.toml"),
        &[("deployment.coderd.replicas".into(), toml::Value::Integer(0))],
    )
    .unwrap();
    let runs: Vec<RunResult> = (0..2).map(|r| capsim::simulate(&sc, r)).collect();
    let dir = tmp.path().join("r");
    let (summary, files) = write(&dir, &sc, &runs);
    assert_eq!(
        files,
        [
            "summary.json",
            "summary.csv",
            "timeseries.csv",
            "build-queue.png",
            "report.md"
        ]
    );
    check_pngs(&dir, &files);

    // summary.csv: the run's columns, then one row per statistic, values
    // bit-for-bit.
    let (h, rows) = read_csv(&dir.join("summary.csv"));
    let col = |n: &str| h.iter().position(|x| x == n).unwrap();
    assert_eq!(h[..6], report::csv::SUMMARY_HEAD);
    assert_eq!(h[h.len() - 7..], report::csv::SUMMARY_TAIL);
    // The statistics, then the monthly cost (the scenario names a price file).
    let (rows, costs): (Vec<_>, Vec<_>) = rows
        .into_iter()
        .partition(|r| r[col("metric")] != report::csv::MONTHLY_COST);
    assert_eq!(rows.len(), summary.metrics.len());
    assert!(
        costs
            .iter()
            .any(|r| r[col("stat")] == "total" && r[col("component")] == "provisioners")
    );
    for (row, m) in rows.iter().zip(&summary.metrics) {
        assert_eq!(
            (row[col("run_id")].as_str(), row[col("scenario")].as_str()),
            ("test-run", "build-queue-working-day")
        );
        assert_eq!(
            (row[col("metric")].as_str(), row[col("stat")].as_str()),
            (m.name.as_str(), m.stat.as_str())
        );
        let parse = |s: &str| (!s.is_empty()).then(|| s.parse::<f64>().unwrap());
        assert_eq!(parse(&row[col("value")]), m.value);
        assert_eq!(parse(&row[col("ci_low")]), m.ci_low);
        assert_eq!(parse(&row[col("ci_high")]), m.ci_high);
        assert_eq!(row[col("unit")], m.unit);
    }
    let p95 = rows
        .iter()
        .find(|r| r[col("metric")] == "build_queue_wait_seconds" && r[col("stat")] == "p95")
        .unwrap();
    assert_eq!(p95[col("slo")], summary.slo[0].status.as_str());

    // timeseries.csv: tidy rows equal to the aggregated series.
    let agg = series::aggregate(&runs);
    let (h, rows) = read_csv(&dir.join("timeseries.csv"));
    let col = |n: &str| h.iter().position(|x| x == n).unwrap();
    assert_eq!(h[..9], report::csv::TIMESERIES_HEAD);
    assert_eq!(h[h.len() - 5..], report::csv::TIMESERIES_TAIL);
    assert_eq!(rows.len(), agg.n_points());
    let mut it = rows.iter();
    for s in &agg.series {
        for p in &s.points {
            let r = it.next().unwrap();
            assert_eq!(
                r[col("bucket_start_s")].parse::<f64>().unwrap(),
                p.bucket_start_s
            );
            assert_eq!(
                (r[col("metric")].as_str(), r[col("stat")].as_str()),
                (s.name.as_str(), s.stat.as_str())
            );
            assert_eq!(r[col("value")].parse::<f64>().unwrap(), p.value);
            assert_eq!(r[col("ci_low")].parse::<f64>().ok(), p.ci_low);
            assert_eq!(r[col("n")].parse::<u32>().unwrap(), p.n);
        }
    }
    // NaN buckets (no builds waited) are skipped, never written as NaN.
    assert!(rows.iter().all(|r| r[col("value")] != "NaN"));
    let wait_p95 = agg.all("build_queue_wait_seconds", "p95")[0];
    assert!(wait_p95.points.len() <= agg.all("build_queue_length", "mean")[0].points.len());

    // summary.json is the JSON contract, with the monthly cost beside it,
    // as in the CSV.
    let json = std::fs::read_to_string(dir.join("summary.json")).unwrap();
    let back: Summary = serde_json::from_str(&json).unwrap();
    assert_eq!(back, summary);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let (h, _) = read_csv(&dir.join("summary.csv"));
    let col = |n: &str| h.iter().position(|x| x == n).unwrap();
    let whole = costs
        .iter()
        .find(|r| r[col("stat")] == "total" && r[col("component")].is_empty())
        .unwrap();
    assert_eq!(
        v["monthly_cost"]["total"].as_f64(),
        whole[col("value")].parse::<f64>().ok()
    );
}
