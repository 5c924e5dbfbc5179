//! The run store: read-back equals what `capsim run` printed, upgrades of an
//! old schema, atomicity under `kill -9`, concurrent writers, `runs` commands.

use crate::support::*;
use capsim::report::series;
use capsim::store::{Store, schema};
use rusqlite::Connection;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Write `n` small scenarios extending the working day (each its own name
/// and seed) into `dir`; returns their names and files.
fn many_scenarios(dir: &Path, n: usize, prefix: &str) -> BTreeMap<String, PathBuf> {
    std::fs::create_dir_all(dir).unwrap();
    let base = scenario("build-queue/working-day.toml");
    (0..n)
        .map(|i| {
            let name = format!("{prefix}-{i:03}");
            let text = format!(
                "extends = \"{}\"\nname = \"{name}\"\nseed = {}\nduration = \"12h\"\n",
                base.display(),
                100 + i
            );
            let file = dir.join(format!("{name}.toml"));
            std::fs::write(&file, text).unwrap();
            (name, file)
        })
        .collect()
}

/// Number of time series points a complete run of `scenario_file` with
/// `replications` has (computed in-process, independently of the store).
fn expected_points(scenario_file: &Path, replications: u32) -> (usize, usize) {
    let sc = capsim::scenario::load(scenario_file).unwrap();
    let runs: Vec<_> = (0..replications)
        .map(|r| capsim::simulate(&sc, capsim::engine::rng::replication_seed(sc.seed, r)))
        .collect();
    let agg = series::aggregate(&runs);
    (agg.series.len(), agg.n_points())
}

/// Every stored run is complete: status, replications, statistics, SLOs,
/// series and points all there, as many as a run of that scenario has.
fn assert_runs_complete(db: &Path, files: &BTreeMap<String, PathBuf>, replications: u32) -> usize {
    let c = Connection::open(db).unwrap();
    let check: String = c
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let fk: i64 = c
        .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(fk, 0, "no orphan rows");
    let mut st = c
        .prepare(
            "SELECT r.id, r.scenario, r.status, r.replications, \
               (SELECT count(*) FROM replications x WHERE x.run_id = r.id), \
               (SELECT count(*) FROM summaries x WHERE x.run_id = r.id), \
               (SELECT count(*) FROM replication_metrics x WHERE x.run_id = r.id), \
               (SELECT count(*) FROM slos x WHERE x.run_id = r.id), \
               (SELECT count(*) FROM series x WHERE x.run_id = r.id), \
               (SELECT count(*) FROM timeseries x WHERE x.run_id = r.id) \
             FROM runs r",
        )
        .unwrap();
    type Row = (String, String, String, u32, u32, u32, u32, u32, u32, u32);
    let rows: Vec<Row> = st
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
                r.get(8)?,
                r.get(9)?,
            ))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for (id, name, status, reps, n_rep, n_sum, n_rm, n_slo, n_series, n_points) in &rows {
        let (e_series, e_points) = expected_points(&files[name], replications);
        assert_eq!(status, "complete", "{id}");
        assert_eq!(
            (*reps, *n_rep),
            (replications, replications),
            "{id}: replications"
        );
        assert!(*n_sum > 0, "{id}: summaries");
        assert_eq!(*n_rm, n_sum * reps, "{id}: per-replication metrics");
        assert_eq!(*n_slo, 1, "{id}: slos");
        assert_eq!(
            (*n_series as usize, *n_points as usize),
            (e_series, e_points),
            "{id}: time series"
        );
    }
    rows.len()
}

fn run_ids(db: &Path) -> Vec<String> {
    let c = Connection::open(db).unwrap();
    let mut st = c.prepare("SELECT id FROM runs ORDER BY id").unwrap();
    st.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn stored_run_reads_back_as_printed_and_exports_the_report_csvs() {
    let tmp = scratch("store/read-back");
    let db = tmp.path().join("runs.db");
    let out = ok(capsim(&tmp)
        .arg("run")
        .arg(scenario("build-queue/working-day.toml"))
        .arg(scenario("build-queue/fewer-provisioners.toml"))
        .args(["--replications", "3", "--format", "json", "--db"])
        .arg(&db));
    let printed = stdout(&out);
    let ids = run_ids(&db);
    assert_eq!(ids.len(), 2);
    // Report folders default to reports/<scenario>/<run-id>/ in the working directory.
    let list = ok(capsim(&tmp)
        .args(["runs", "list", "--format", "json", "--db"])
        .arg(&db));
    let listed: Vec<serde_json::Value> = serde_json::from_str(&stdout(&list)).unwrap();
    let mut by_scenario: Vec<(String, String)> = listed
        .iter()
        .map(|r| {
            (
                r["scenario"].as_str().unwrap().to_string(),
                r["id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    by_scenario.sort();
    // The run printed first (working-day) then fewer-provisioners: show them in that order.
    let wd = &by_scenario
        .iter()
        .find(|(s, _)| s == "build-queue-working-day")
        .unwrap()
        .1;
    let fp = &by_scenario
        .iter()
        .find(|(s, _)| s == "build-queue-12-provisioners")
        .unwrap()
        .1;
    let shown = ok(capsim(&tmp)
        .args([
            "runs",
            "show",
            wd,
            &fp[..fp.len() - 2],
            "--format",
            "json",
            "--db",
        ])
        .arg(&db));
    assert_eq!(
        stdout(&shown),
        printed,
        "read back == printed, byte for byte"
    );

    // Export writes the same CSVs as the report folder.
    let exp = tmp.path().join("export");
    ok(capsim(&tmp)
        .args(["runs", "export", wd, "--csv"])
        .arg(&exp)
        .arg("--db")
        .arg(&db));
    let report = tmp.path().join("reports/build-queue-working-day").join(wd);
    for f in ["summary.csv", "timeseries.csv"] {
        let a = std::fs::read(report.join(f)).unwrap();
        let b = std::fs::read(exp.join(wd).join(f)).unwrap();
        assert!(a == b, "{f}: export differs from the report");
    }
    // The table form works too and names the run.
    let table = ok(capsim(&tmp).args(["runs", "show", wd, "--db"]).arg(&db));
    assert!(stdout(&table).contains(wd.as_str()));

    // Delete: gone with every dependent row; unknown ids are bad input (exit 2).
    ok(capsim(&tmp).args(["runs", "delete", wd, "--db"]).arg(&db));
    assert_eq!(run_ids(&db), vec![fp.clone()]);
    let c = Connection::open(&db).unwrap();
    for t in [
        "replications",
        "replication_metrics",
        "summaries",
        "slos",
        "series",
    ] {
        let n: i64 = c
            .query_row(
                &format!("SELECT count(*) FROM {t} WHERE run_id = ?1"),
                [wd],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 0, "{t}");
    }
    let orphans: i64 = c
        .query_row(
            "SELECT count(*) FROM points WHERE series_id NOT IN (SELECT id FROM series)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(orphans, 0);
    for args in [
        vec!["runs", "show", "nope"],
        vec!["runs", "delete", "nope"],
        vec!["runs", "delete", fp.as_str(), "nope"],
    ] {
        let o = capsim(&tmp)
            .args(&args)
            .arg("--db")
            .arg(&db)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}");
    }
    assert_eq!(
        run_ids(&db),
        vec![fp.clone()],
        "a failed delete deletes nothing"
    );
    let o = capsim(&tmp)
        .args(["runs", "list", "--db"])
        .arg(tmp.path().join("missing.db"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        !tmp.path().join("missing.db").exists(),
        "runs list creates no store"
    );
}

#[test]
fn old_schema_is_upgraded_in_place() {
    let tmp = scratch("store/old-schema");
    let db = tmp.path().join("old.db");
    {
        let c = Connection::open(&db).unwrap();
        c.execute_batch(
            &std::fs::read_to_string(repo().join("tests/fixtures/schema-v1.sql")).unwrap(),
        )
        .unwrap();
    }
    let store = Store::open(&db).unwrap();
    assert_eq!(store.schema_version().unwrap(), schema::VERSION);
    assert_eq!(store.integrity_check().unwrap(), "ok");
    let runs = store.list(None, 0).unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0].id, "20240502T090000-d4e5f6", "newest first");
    let r = store.get("20240501T080000-a1b2c3").unwrap();
    let names: Vec<(&str, &str)> = r
        .summary
        .metrics
        .iter()
        .map(|m| (m.name.as_str(), m.stat.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("builds_started_total", "total"),
            ("build_queue_wait_seconds", "p95"),
            ("build_queue_wait_probability", "mean")
        ],
        "order kept"
    );
    assert_eq!(r.summary.metrics[1].value, Some(178.09));
    assert_eq!(r.summary.metrics[1].ci_high, Some(206.2));
    assert_eq!((r.summary.seed, r.summary.replications), (2024, 2));
    let ts = store.series("20240501T080000-a1b2c3", 300.0).unwrap();
    let len: Vec<(String, Vec<f64>)> = ts
        .series
        .iter()
        .map(|s| (s.name.clone(), s.points.iter().map(|p| p.value).collect()))
        .collect();
    assert_eq!(
        len,
        [
            ("build_queue_length".to_string(), vec![0.0, 2.5, 7.25]),
            ("build_queue_wait_seconds".to_string(), vec![12.5, 95.0]),
        ]
    );
    assert!(
        ts.series[0]
            .points
            .iter()
            .all(|p| p.n == 2 && p.ci_low.is_none())
    );
    drop(store);
    // Opening again is a no-op; the CLI reads it; a new run goes in beside the old ones.
    let store = Store::open(&db).unwrap();
    assert_eq!(store.list(None, 0).unwrap().len(), 2);
    drop(store);
    ok(capsim(&tmp)
        .arg("run")
        .arg(scenario("build-queue/working-day.toml"))
        .args(["--no-report", "--db"])
        .arg(&db));
    let list = ok(capsim(&tmp)
        .args([
            "runs",
            "list",
            "--scenario",
            "build-queue-working-day",
            "--db",
        ])
        .arg(&db));
    assert_eq!(
        stdout(&list).lines().count(),
        3,
        "header + 2 runs:\n{}",
        stdout(&list)
    );
    ok(capsim(&tmp)
        .args(["runs", "export", "20240501T080000", "--csv"])
        .arg(tmp.path().join("x"))
        .arg("--db")
        .arg(&db));
    let (_, rows) = read_csv(&tmp.path().join("x/20240501T080000-a1b2c3/timeseries.csv"));
    assert_eq!(rows.len(), 5);
}

#[test]
fn newer_or_foreign_databases_are_refused() {
    let tmp = scratch("store/refused");
    let newer = tmp.path().join("newer.db");
    Connection::open(&newer)
        .unwrap()
        .execute_batch(&format!(
            "PRAGMA application_id = {}; PRAGMA user_version = 99; CREATE TABLE runs (id TEXT);",
            schema::APPLICATION_ID
        ))
        .unwrap();
    let e = Store::open(&newer).err().expect("refused");
    assert!(e.is_bad_input() && e.to_string().contains("newer"), "{e}");
    let foreign = tmp.path().join("foreign.db");
    Connection::open(&foreign)
        .unwrap()
        .execute_batch("CREATE TABLE t (x);")
        .unwrap();
    let e = Store::open(&foreign).err().expect("refused");
    assert!(e.to_string().contains("not a capsim run store"), "{e}");
    let o = capsim(&tmp)
        .arg("run")
        .arg(scenario("build-queue/working-day.toml"))
        .arg("--db")
        .arg(&foreign)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn kill_9_mid_batch_leaves_only_complete_runs() {
    let tmp = scratch("store/kill-9");
    let dir = tmp.path().join("scenarios");
    let names = many_scenarios(&dir, 150, "k");
    let db = tmp.path().join("runs.db");
    let mut child = capsim(&tmp)
        .arg("batch")
        .arg(&dir)
        .args(["--replications", "2", "--no-report", "--db"])
        .arg(&db)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until at least one run is stored, then kill -9 (SIGKILL).
    let mut stored = 0;
    for _ in 0..6000 {
        std::thread::sleep(Duration::from_millis(5));
        if let Ok(c) = Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        {
            stored = c
                .query_row("SELECT count(*) FROM runs", [], |r| r.get::<_, i64>(0))
                .unwrap_or(0);
            if stored > 0 {
                break;
            }
        }
    }
    assert!(stored > 0, "the batch stored a run");
    let running = child.try_wait().unwrap().is_none();
    child.kill().unwrap();
    child.wait().unwrap();
    let n = assert_runs_complete(&db, &names, 2);
    eprintln!(
        "killed {} with {n} of {} runs stored",
        if running {
            "mid-batch"
        } else {
            "after the end"
        },
        names.len()
    );
    assert!(n >= 1 && n <= names.len());
    // The store is still usable.
    let mut store = Store::open(&db).unwrap();
    let ids = run_ids(&db);
    store.delete(&ids[..1]).unwrap();
}

#[test]
fn two_processes_write_one_store_at_once() {
    let tmp = scratch("store/two-writers");
    let db = tmp.path().join("shared.db");
    let dirs: Vec<PathBuf> = ["a", "b"].iter().map(|d| tmp.path().join(d)).collect();
    let mut files = BTreeMap::new();
    for d in &dirs {
        files.extend(many_scenarios(
            d,
            12,
            d.file_name().unwrap().to_str().unwrap(),
        ));
    }
    // Both start on a database that does not exist yet (both create it).
    let children: Vec<_> = dirs
        .iter()
        .map(|d| {
            capsim(&tmp)
                .arg("batch")
                .arg(d)
                .args(["--replications", "2", "--jobs", "1", "--no-report", "--db"])
                .arg(&db)
                .arg("--out")
                .arg(d.join("out"))
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let o = c.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    assert_eq!(assert_runs_complete(&db, &files, 2), 24);
}

#[test]
fn ids_are_unique_and_a_taken_id_is_reported_as_such() {
    let tmp = scratch("store/ids");
    let sc = capsim::scenario::load(&scenario("build-queue/working-day.toml")).unwrap();
    let runs = vec![capsim::simulate(&sc, 1)];
    let summary = capsim::Summary::from_runs(&sc, sc.seed, &runs);
    let agg = series::aggregate(&runs);
    let now = capsim::store::now_utc();
    let ids: std::collections::BTreeSet<String> =
        (0..100).map(|_| capsim::store::new_run_id(&now)).collect();
    assert_eq!(ids.len(), 100);
    let id = ids.iter().next().unwrap();
    assert_eq!(id.len(), "20250314T091502-3fa9c1d0".len(), "{id}");
    let mut store = Store::open(&tmp.path().join("x.db")).unwrap();
    let run = capsim::store::NewRun {
        id,
        started_at: &now,
        finished_at: &now,
        scenario: &sc,
        summary: &summary,
        replications: &capsim::result::Replications::of(&runs),
        series: &agg,
        cost: None,
    };
    store.insert(&run).unwrap();
    let e = store.insert(&run).expect_err("the id is taken");
    assert!(e.is_duplicate_id(), "{e}");
    assert_eq!(store.get(id).unwrap().summary, summary);
}

#[test]
fn a_store_that_cannot_be_written_is_read_as_immutable() {
    // A read-only file system cannot be made here (the tests may run as
    // root, whom permissions do not stop), so the read-only path is opened
    // directly: the store `open_existing` falls back to.
    let dir = scratch("store-read-only");
    let db = dir.join("runs.db");
    let out = capsim_in(
        &dir,
        &[
            "run",
            scenario("build-queue/mmc.toml").to_str().unwrap(),
            "--db",
            "runs.db",
            "--no-report",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let rw = Store::open_existing(&db).unwrap().list(None, 10).unwrap();
    let ro = Store::open_read_only(&db).unwrap();
    assert_eq!(ro.list(None, 10).unwrap(), rw);
    let run = ro.get(&rw[0].id).unwrap();
    assert_eq!(run.info, rw[0]);
    // Not a store, read-only: the same one plain message as read-write.
    std::fs::write(dir.join("text.db"), "not a database\n".repeat(100)).unwrap();
    let e = Store::open_read_only(&dir.join("text.db"))
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("not a capsim run store"), "{e}");
    assert!(!e.contains("Error code"), "{e}");
}

/// The store is opened, and checked writable, before anything is simulated:
/// a store that cannot be written is bad input (exit 2), and no report is
/// written.
#[test]
fn an_unwritable_store_is_refused_before_the_simulation() {
    let dir = scratch("store-unwritable");
    let mmc = scenario("build-queue/mmc.toml");
    let run = |db: &str| {
        capsim_in(
            &dir,
            &["run", mmc.to_str().unwrap(), "--db", db, "--out", "out"],
        )
    };
    // A folder that is a regular file: refused for every user.
    write(dir.path(), "file", "x\n");
    let o = run("file/runs.db");
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("file/runs.db") && e.contains("cannot create folder"),
        "{e}"
    );
    assert!(
        !dir.join("out").exists(),
        "nothing was simulated or reported"
    );
    // A read-only folder. Permissions do not stop root (the tests may run
    // as root): then this part says so and checks nothing.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let ro = dir.join("ro");
        std::fs::create_dir(&ro).unwrap();
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
        let binds = std::fs::write(ro.join("probe"), "").is_err();
        let o = binds.then(|| run("ro/runs.db"));
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o755)).unwrap();
        match o {
            Some(o) => {
                assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
                let e = stderr(&o);
                assert!(e.contains("cannot write to the run store"), "{e}");
                assert!(
                    !dir.join("out").exists(),
                    "nothing was simulated or reported"
                );
            }
            None => {
                eprintln!("a read-only folder does not stop this user (root): its check is skipped")
            }
        }
    }
}
