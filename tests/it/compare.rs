//! `capsim compare`: paired differences on common random numbers, the
//! monotonicity the comparisons (and `capsim size`) rely on, and the files it
//! writes.

use crate::support::{
    capsim, capsim_in, model_path, ok, png_size, read_csv, repo, scratch, steady_dashboards,
    toml_str, write,
};
use capsim::compare::{self, Arch, run_archs};
use capsim::scenario::load_with_overrides;
use std::path::{Path, PathBuf};

fn arch(name: &str, path: &Path, overrides: &[(&str, toml::Value)]) -> Arch {
    let ov: Vec<(String, toml::Value)> = overrides
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    Arch {
        name: name.into(),
        scenario: load_with_overrides(path, &ov).unwrap_or_else(|e| panic!("{e}")),
        prices: None,
    }
}

fn int(v: i64) -> toml::Value {
    toml::Value::Integer(v)
}

/// Two hours of the 1,000-user working day around the morning arrivals.
fn short_day() -> Vec<(&'static str, toml::Value)> {
    vec![
        ("start_time", toml::Value::String("08:00".into())),
        ("duration", toml::Value::String("90m".into())),
    ]
}

#[test]
fn an_architecture_compared_with_itself_has_paired_differences_of_exactly_zero() {
    let p = repo().join("scenarios/coder/working-day-1000.toml");
    let a = arch("a", &p, &short_day());
    let b = arch("b", &p, &short_day());
    let c = compare::compare(vec![a, b], 1000, 3);
    let mut nonzero = 0;
    for r in &c.rows {
        let x = &r.cells[1];
        let d = x
            .diff
            .as_ref()
            .expect("second architecture has a difference");
        if r.cells[0].value.mean.is_some_and(|v| v != 0.0) {
            nonzero += 1;
            assert_eq!(d.n, 3, "{} {}: every replication pairs", r.metric, r.stat);
        }
        if let Some(m) = d.mean {
            assert_eq!(m, 0.0, "{} {} {:?}", r.metric, r.stat, r.labels);
            assert_eq!((d.ci_low, d.ci_high), (Some(0.0), Some(0.0)));
        }
        assert_ne!(x.significant, Some(true), "{} {}", r.metric, r.stat);
        assert_eq!(r.cells[0].value, x.value, "{} {}", r.metric, r.stat);
    }
    assert!(
        nonzero >= 10,
        "the comparison must have real values to compare ({nonzero} rows)"
    );
}

/// A build queue whose arrivals stop after 4 h of an 8 h run, so every job
/// starts within the run whatever the daemon count: the same jobs are
/// measured in every architecture.
fn finite_queue(dir: &Path) -> PathBuf {
    write(
        dir,
        "queue.toml",
        &format!(
            "name = \"finite-queue\"\nmodel = {}\nseed = 5\nduration = \"8h\"\nwarmup = \"0s\"\nbucket = \"30m\"\n\
             [deployment.provisioners]\ncount = 8\n\
             [[workload.templates]]\nname = \"t\"\nbuild_time = {{ dist = \"lognormal\", median = \"45s\", p95 = \"3m\" }}\n\
             builds = {{ profile = [[\"00:00\", \"360/h\"], [\"04:00\", \"0/h\"]] }}\n",
            toml_str(&model_path())
        ),
    )
}

/// In a first-come-first-served multi-server queue where each job brings its
/// own build time (capsim draws it per job, in arrival order, from the
/// template's stream), an extra daemon never delays any job: every job's wait
/// is no longer, so every statistic of the waits is no larger.
#[test]
fn more_provisioners_never_increase_build_queue_wait_on_the_same_seeds() {
    let dir = scratch("compare/monotone-provisioners");
    let p = finite_queue(&dir);
    let counts = [7, 8, 9, 10, 12, 16];
    let archs: Vec<Arch> = counts
        .iter()
        .map(|&c| {
            arch(
                &format!("c={c}"),
                &p,
                &[("deployment.provisioners.count", int(c))],
            )
        })
        .collect();
    let runs = run_archs(&archs, 5, 4);
    let stats = ["mean", "p50", "p95", "p99", "max"];
    let mut strictly_better = 0;
    for r in 0..4 {
        for w in runs.windows(2) {
            let (a, b) = (&w[0][r], &w[1][r]);
            assert_eq!(
                a.metric("builds_created_total", "total"),
                b.metric("builds_created_total", "total"),
                "same seeds, same jobs"
            );
            assert_eq!(a.metric("builds_failed_total", "total"), Some(0.0));
            for st in stats {
                let (x, y) = (
                    a.metric("build_queue_wait_seconds", st).unwrap(),
                    b.metric("build_queue_wait_seconds", st).unwrap(),
                );
                assert!(
                    y <= x,
                    "replication {r}: wait {st} rose from {x} to {y} with more daemons"
                );
                if y < x {
                    strictly_better += 1;
                }
            }
        }
    }
    assert!(
        strictly_better > 20,
        "the daemon counts must matter ({strictly_better})"
    );
}

/// API latency is the request's time on its replica's processor-sharing CPU,
/// then its time on the database, plus a round trip per query. This scenario
/// makes every term but the first independent of coderd's vCPU:
///
/// - the load is open: users in steady mode act on their own clocks, agents
///   call on timers, nothing waits for a response, and with common random
///   numbers the request times and CPU costs are identical in every
///   architecture;
/// - no replica is lost, added or out of memory (one replica, 64 GB), all
///   SSH and IDE traffic is peer-to-peer, and no vCPU count saturates;
/// - the database has far more cores than requests in flight (checked), so
///   each query takes exactly its CPU cost whenever it arrives.
///
/// Processor sharing with more cores serves every job at least as fast, so
/// each request finishes no later and every latency percentile is no larger.
/// The only allowance is 1 µs for the nanosecond rounding of completion times.
#[test]
fn more_coderd_vcpu_never_increases_api_p95_where_that_is_noise_free() {
    let dir = scratch("compare/monotone-vcpu");
    let p = steady_dashboards(
        &dir,
        11,
        "40m",
        200,
        "[deployment.database]\nvcpu = 64\nram = \"256GB\"\n",
    );
    let vcpus = [0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 8.0];
    let archs: Vec<Arch> = vcpus
        .iter()
        .map(|&v| {
            arch(
                &format!("vcpu={v}"),
                &p,
                &[("deployment.coderd.vcpu", toml::Value::Float(v))],
            )
        })
        .collect();
    let runs = run_archs(&archs, 11, 3);
    for (a, rs) in archs.iter().zip(&runs) {
        for r in rs {
            assert!(!r.saturated, "{}: {:?}", a.name, r.notes);
            assert_eq!(
                r.metric("api_errors_total", "total"),
                Some(0.0),
                "{}",
                a.name
            );
            let db_max = r.metric("database_cpu_utilization", "max").unwrap();
            assert!(
                db_max < 1.0,
                "{}: the database must never queue ({db_max})",
                a.name
            );
        }
    }
    let p95 = |r: &capsim::RunResult, class: &str| {
        r.metrics
            .iter()
            .find(|m| {
                m.name == "api_latency_seconds"
                    && m.stat == "p95"
                    && m.labels.get("class").map(String::as_str) == Some(class)
            })
            .unwrap_or_else(|| panic!("no {class} p95"))
            .value
    };
    for r in 0..3 {
        for class in ["dashboard", "agent"] {
            let ys: Vec<f64> = runs.iter().map(|rs| p95(&rs[r], class)).collect();
            for (i, w) in ys.windows(2).enumerate() {
                assert!(
                    w[1] <= w[0] + 1e-6,
                    "replication {r}, {class}: p95 rose from {} s at {} vCPU to {} s at {} vCPU",
                    w[0],
                    vcpus[i],
                    w[1],
                    vcpus[i + 1]
                );
            }
            assert!(
                ys[0] > 2.0 * ys[ys.len() - 1],
                "{class}: vCPU must matter in this scenario: {ys:?}"
            );
        }
    }
}

#[test]
fn compare_writes_its_folder_with_the_table_csv_and_overlaid_plots() {
    let dir = scratch("compare/cli");
    let a = repo().join("scenarios/build-queue/working-day.toml");
    let b = repo().join("scenarios/build-queue/fewer-provisioners.toml");
    let prices = repo().join("models/prices/gcp-us-central1.toml");
    let run = |jobs: &str, out: &str| {
        let o = ok(capsim(&dir)
            .args(["compare", a.to_str().unwrap(), b.to_str().unwrap()])
            .args(["--replications", "3", "--prices", prices.to_str().unwrap()])
            .args(["--jobs", jobs, "--out", out]));
        String::from_utf8(o.stdout).unwrap()
    };
    let table = run("1", "one");
    run("2", "two");
    for f in ["compare.csv", "compare.json", "compare.md"] {
        assert_eq!(
            std::fs::read(dir.join("one").join(f)).unwrap(),
            std::fs::read(dir.join("two").join(f)).unwrap(),
            "{f} must not depend on --jobs"
        );
    }
    assert!(table.contains("monthly cost"), "{table}");
    assert!(table.contains("Δ build-queue-12-provisioners"), "{table}");
    let out = dir.join("one");
    let (header, rows) = read_csv(&out.join("compare.csv"));
    assert_eq!(header[0], "metric");
    let col = |n: &str| header.iter().position(|h| h == n).unwrap();
    let wait: Vec<&Vec<String>> = rows
        .iter()
        .filter(|r| r[col("metric")] == "build_queue_wait_seconds" && r[col("stat")] == "p95")
        .collect();
    assert_eq!(wait.len(), 2);
    assert_eq!(
        wait[1][col("significant")],
        "true",
        "12 daemons wait longer"
    );
    let d: f64 = wait[1][col("diff_vs_first")].parse().unwrap();
    let (m0, m1): (f64, f64) = (
        wait[0][col("mean")].parse().unwrap(),
        wait[1][col("mean")].parse().unwrap(),
    );
    assert!((d - (m1 - m0)).abs() < 1e-6 * m1.abs().max(1.0));
    assert!(rows.iter().any(|r| r[col("metric")] == "monthly_cost"
        && r[col("architecture")] == "build-queue-12-provisioners"));
    let png = out.join("build-queue.png");
    assert_eq!(png_size(&png), capsim::report::plot::SIZE);
    let md = std::fs::read_to_string(out.join("compare.md")).unwrap();
    assert!(md.contains("![Build queue](build-queue.png)"), "{md}");
    assert!(
        md.contains("None of the architectures meets every SLO"),
        "{md}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("compare.json")).unwrap()).unwrap();
    assert_eq!(json["architectures"][1]["monthly_cost"]["currency"], "USD");
}

#[test]
fn vary_runs_variants_of_one_scenario_and_default_ids_are_deterministic() {
    let dir = scratch("compare/vary");
    let p = finite_queue(&dir);
    let args = [
        "compare",
        p.to_str().unwrap(),
        "--vary",
        "deployment.provisioners.count=7,9",
        "--replications",
        "2",
    ];
    let o1 = ok(capsim(&dir).args(args));
    let o2 = ok(capsim(&dir).args(args));
    let out1 = String::from_utf8(o1.stdout).unwrap();
    assert!(
        out1.contains("count=7") && out1.contains("count=9"),
        "{out1}"
    );
    assert_eq!(out1, String::from_utf8(o2.stdout).unwrap());
    let folders: Vec<_> = std::fs::read_dir(dir.join("reports/compare"))
        .unwrap()
        .collect();
    assert_eq!(folders.len(), 1, "the same inputs give the same id");
}

#[test]
fn compare_rejects_bad_input_with_exit_code_2() {
    let dir = scratch("compare/errors");
    let p = finite_queue(&dir);
    let one = capsim_in(&dir, &["compare", p.to_str().unwrap()]);
    assert_eq!(one.status.code(), Some(2));
    let bad_vary = capsim_in(&dir, &["compare", p.to_str().unwrap(), "--vary", "nope"]);
    assert_eq!(bad_vary.status.code(), Some(2));
    let bad_field = capsim_in(
        &dir,
        &[
            "compare",
            p.to_str().unwrap(),
            "--vary",
            "deployment.provisioners.count=1,oops",
        ],
    );
    assert_eq!(bad_field.status.code(), Some(2));
    let prices = write(
        &dir,
        "prices.toml",
        "currency = \"USD\"\ndate = \"x\"\nsource = \"x\"\nnote = \"x\"\n[coderd]\nvcpu_hour = 1\ngb_hour = 1\n[provisioners]\nvcpu_hour = 1\n[database]\nvcpu_hour = 1\ngb_hour = 1\n[proxies]\nvcpu_hour = 1\ngb_hour = 1\n",
    );
    let o = capsim_in(
        &dir,
        &[
            "compare",
            p.to_str().unwrap(),
            p.to_str().unwrap(),
            "--prices",
            prices.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("prices.toml:8:") && err.contains("provisioners"),
        "the error names the file, line and field: {err}"
    );
    assert!(
        !dir.join("reports").exists(),
        "nothing written on bad input"
    );
}

#[test]
fn run_reports_the_monthly_cost_beside_the_slos() {
    let dir = scratch("compare/run-cost");
    let p = finite_queue(&dir);
    let prices = repo().join("models/prices/aws-us-east-1.toml");
    let o = ok(capsim(&dir)
        .args(["run", p.to_str().unwrap(), "--no-store", "--out", "r"])
        .args(["--prices", prices.to_str().unwrap()]));
    let text = String::from_utf8(o.stdout).unwrap();
    // 8 Fargate daemons of 0.5 vCPU and 512 MB (the defaults), and the EKS fee.
    let want = 730.0 * (8.0 * (0.5 * 0.04048 + 0.512 * 0.004445) + 0.10);
    assert!(
        text.lines()
            .any(|l| l.contains("monthly cost") && l.contains(&format!("${:.0}/month", want))),
        "{text}"
    );
    let md = std::fs::read_to_string(dir.join("r/finite-queue/report.md")).unwrap();
    assert!(md.contains("## Monthly cost"), "{md}");
    let o = ok(capsim(&dir)
        .args([
            "run",
            p.to_str().unwrap(),
            "--no-store",
            "--no-report",
            "--format",
            "json",
        ])
        .args(["--prices", prices.to_str().unwrap()]));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!((v[0]["monthly_cost"]["total"].as_f64().unwrap() - want).abs() < 1e-6);
    assert!(v[0]["metrics"].is_array() && v[0]["slo"].is_array());
}

#[test]
fn compare_applies_coders_guidance_and_names_the_trade() {
    let dir = scratch("compare/policy");
    // 60 users with an SSH session relayed by coderd; a replica is lost at
    // +10 min. One replica drops all 60 sessions, three drop about 20.
    let p = steady_dashboards(
        &dir,
        5,
        "20m",
        60,
        "p2p_fraction = 0.0\n[workload.connections.ssh]\nper_user = 1.0\n\
         [[events]]\nat = \"+10m\"\naction = \"kill_replica\"\n\
         [[slo]]\nname = \"API p95 under 1 s\"\nmetric = \"api_latency_seconds\"\nstat = \"p95\"\nlabels = { class = \"dashboard\" }\nmax = \"1s\"\n",
    );
    let prices = repo().join("models/prices/gcp-us-central1.toml");
    let run = |policy: &str, out: &str| -> String {
        ok(capsim(&dir).args([
            "compare",
            p.to_str().unwrap(),
            "--vary",
            "deployment.coderd.replicas=1,3",
            "--replications",
            "3",
            "--prices",
            prices.to_str().unwrap(),
            "--policy",
            policy,
            "--out",
            out,
        ]));
        std::fs::read_to_string(dir.join(out).join("compare.md")).unwrap()
    };
    let chosen = |md: &str| {
        let start = md.find("**Choose ").expect("a choice") + "**Choose ".len();
        md[start..start + md[start..].find(".**").unwrap()].to_string()
    };
    // With Coder's guidance: three replicas, and the cheaper one's trade named.
    let md = run("coder", "coder");
    assert!(chosen(&md).ends_with("replicas=3"), "{md}");
    assert!(md.contains("a month less"), "{md}");
    assert!(
        md.contains("outside Coder's deployment guidance: 1 coderd replica, fewer than the 3"),
        "{md}"
    );
    assert!(
        md.contains("interrupted") && md.contains("lower by"),
        "{md}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("coder/compare.json")).unwrap())
            .unwrap();
    assert_eq!(json["policy_applied"], true);
    assert_eq!(
        json["architectures"][0]["outside_guidance"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // Without it: the cheapest, and what the extra money would buy.
    let md = run("none", "none");
    assert!(chosen(&md).ends_with("replicas=1"), "{md}");
    assert!(md.contains("the extra money buys"), "{md}");
    assert!(!md.contains("outside Coder's deployment guidance"), "{md}");
}
