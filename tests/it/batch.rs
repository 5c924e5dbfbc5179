//! `capsim batch`: identical results whatever `--jobs` is; invalid scenarios
//! are reported and the batch goes on; abstract bases are skipped.

use crate::support::*;
use std::path::Path;

fn batch(cwd: &Scratch, args: &[&str], paths: &[&Path]) -> std::process::Output {
    let mut c = capsim(cwd);
    c.arg("batch").args(paths).args(args);
    c.output().unwrap()
}

#[test]
fn jobs_1_and_jobs_2_give_byte_identical_outputs() {
    let tmp = scratch("batch/jobs");
    let dir = repo().join("scenarios/build-queue");
    let mut outs = Vec::new();
    for jobs in ["1", "2"] {
        let out = tmp.path().join(format!("jobs{jobs}"));
        let o = batch(
            &tmp,
            &[
                "--replications",
                "3",
                "--jobs",
                jobs,
                "--no-store",
                "--out",
                out.to_str().unwrap(),
            ],
            &[&dir],
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        outs.push(out);
    }
    let files = files(&outs[0]);
    assert_eq!(files, crate::support::files(&outs[1]));
    // base.toml is abstract: three scenarios, each with its report folder.
    let (_, rows) = read_csv(&outs[0].join("batch-summary.csv"));
    let names: Vec<&str> = rows.iter().map(|r| r[1].as_str()).collect();
    assert_eq!(
        names,
        [
            "build-queue-12-provisioners",
            "mmc-c10-rho080",
            "build-queue-working-day"
        ],
        "sorted by file: fewer-provisioners, mmc, working-day"
    );
    let mut compared = 0;
    for f in &files {
        let name = f.to_str().unwrap();
        if name.ends_with("report.md") {
            continue; // names the run id and start time
        }
        if name.contains('/') && name.ends_with(".csv") {
            // A run's CSV files name the run: equal but for `run_id`.
            let (ha, mut a) = read_csv(&outs[0].join(f));
            let (hb, mut b) = read_csv(&outs[1].join(f));
            assert_eq!((&ha, ha[0].as_str()), (&hb, "run_id"), "{name}");
            for r in a.iter_mut().chain(b.iter_mut()) {
                r.remove(0);
            }
            assert!(a == b, "{name} differs between --jobs 1 and --jobs 2");
            compared += 1;
            continue;
        }
        let a = std::fs::read(outs[0].join(f)).unwrap();
        let b = std::fs::read(outs[1].join(f)).unwrap();
        assert!(a == b, "{name} differs between --jobs 1 and --jobs 2");
        if name.ends_with(".png") {
            assert_eq!(png_size(&outs[0].join(f)), capsim::report::plot::SIZE);
        }
        compared += 1;
    }
    // batch-summary, then per scenario summary.json/csv, timeseries.csv and at least one plot.
    assert!(compared > 3 * 4, "compared only {compared} files");
}

#[test]
fn invalid_scenarios_are_reported_and_the_batch_goes_on() {
    let tmp = scratch("batch/invalid");
    let dir = tmp.path().join("s");
    std::fs::create_dir_all(dir.join("nested")).unwrap();
    let wd = scenario("build-queue/working-day.toml");
    std::fs::write(
        dir.join("base.toml"),
        format!("extends = \"{}\"\nabstract = true\n", wd.display()),
    )
    .unwrap();
    std::fs::write(
        dir.join("nested/good.toml"),
        "extends = \"../base.toml\"\nname = \"good\"\nduration = \"6h\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("bad.toml"),
        "extends = \"base.toml\"\nname = \"bad\"\n[deployment.provisioners]\ncount = -3\n",
    )
    .unwrap();
    std::fs::write(dir.join("targets.csv"), "not,a,scenario\n").unwrap();
    let db = tmp.path().join("runs.db");
    let o = batch(
        &tmp,
        &["--db", db.to_str().unwrap(), "--replications", "2"],
        &[&dir],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("bad.toml") && err.contains("deployment.provisioners.count"),
        "{err}"
    );
    // Default outputs land under reports/ in the working directory.
    let (h, rows) = read_csv(&tmp.path().join("reports/batch-summary.csv"));
    assert_eq!(rows.len(), 2, "base.toml skipped, targets.csv ignored");
    let col = |n: &str| h.iter().position(|x| x == n).unwrap();
    let bad = rows
        .iter()
        .find(|r| r[col("file")].ends_with("bad.toml"))
        .unwrap();
    assert_eq!(bad[col("status")], "invalid");
    assert!(bad[col("error")].contains("count"));
    let good = rows.iter().find(|r| r[col("scenario")] == "good").unwrap();
    assert_eq!(good[col("status")], "ok");
    assert_eq!(good[col("replications")], "2");
    let slo_col = h.iter().position(|x| x.starts_with("slo: ")).unwrap();
    assert!(["pass", "fail"].contains(&good[slo_col].as_str()));
    let p95: f64 = good[col("build_queue_wait_seconds p95 (s)")]
        .parse()
        .unwrap();
    assert!(p95 >= 0.0);
    // The good one was stored and reported.
    let c = rusqlite::Connection::open(&db).unwrap();
    let id: String = c
        .query_row("SELECT id FROM runs WHERE scenario = 'good'", [], |r| {
            r.get(0)
        })
        .unwrap();
    let report = tmp.path().join("reports/good").join(&id);
    for f in [
        "report.md",
        "summary.csv",
        "timeseries.csv",
        "build-queue.png",
    ] {
        assert!(report.join(f).is_file(), "{f}");
    }
}
