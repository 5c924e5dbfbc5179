//! Sweeps split across processes: `--shard K/N`, `capsim runs merge` and
//! `--from`. Three shards merged give the unsharded run's summaries byte
//! for byte; merging twice changes nothing; shards of another scenario
//! version are refused (exit 2) by the merge and by `--from`.

use crate::support::*;
use std::path::{Path, PathBuf};

/// The M/M/c scenario in `dir` (its model path made absolute), with
/// `extra` appended; a short horizon keeps the test quick.
fn mmc(dir: &Path, extra: &str) -> PathBuf {
    let text = std::fs::read_to_string(scenario("build-queue/mmc.toml"))
        .unwrap()
        .replace(
            "model = \"../../models/coder.toml\"",
            &format!("model = {}", toml_str(&model_path())),
        )
        .replace("duration = \"200h\"", "duration = \"30h\"");
    write(dir, "mmc.toml", &format!("{text}\n{extra}"))
}

fn shard(tmp: &Scratch, cmd: &[&str], k: u32, n: u32, db: &str) {
    let spec = format!("{k}/{n}");
    let o = ok(capsim(tmp).args(cmd).args(["--shard", &spec, "--db", db]));
    assert!(stdout(&o).is_empty(), "a shard prints no summary");
}

pub(crate) fn merge(tmp: &Scratch, stores: &[&str], into: &str) -> std::process::Output {
    capsim(tmp)
        .args(["runs", "merge"])
        .args(stores)
        .args(["--into", into])
        .output()
        .unwrap()
}

/// Row counts of every table of a store, by name.
pub(crate) fn table_counts(db: &Path) -> Vec<(String, i64)> {
    let c = rusqlite::Connection::open(db).unwrap();
    let names: Vec<String> = c
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    names
        .into_iter()
        .map(|t| {
            let n = c
                .query_row(&format!("SELECT count(*) FROM \"{t}\""), [], |r| r.get(0))
                .unwrap();
            (t, n)
        })
        .collect()
}

#[test]
fn three_shards_merged_give_the_unsharded_summary_byte_for_byte() {
    let tmp = scratch("shard/run");
    let s = mmc(tmp.path(), "");
    let s = s.to_str().unwrap();
    let cmd = ["run", s, "--replications", "7", "--format", "json"];
    let whole = ok(capsim(&tmp).args(cmd).args(["--no-store", "--no-report"]));
    for k in 0..3 {
        shard(&tmp, &cmd, k, 3, &format!("s{k}.db"));
    }
    let o = merge(&tmp, &["s0.db", "s1.db", "s2.db"], "all.db");
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("3 runs added, 0 there already"),
        "{}",
        stderr(&o)
    );
    let before = table_counts(&tmp.join("all.db"));
    // Every table is merged (a new table must join `MERGED_TABLES`), every
    // row of every shard is there, once.
    for (table, n) in &before {
        let copied = capsim::store::shards::MERGED_TABLES.contains(&table.as_str())
            || ["series", "points"].contains(&table.as_str());
        assert!(copied, "table {table} is not merged");
        let in_shards: i64 = (0..3)
            .map(|k| {
                table_counts(&tmp.join(format!("s{k}.db")))
                    .into_iter()
                    .find(|(t, _)| t == table)
                    .map_or(0, |(_, n)| n)
            })
            .sum();
        assert_eq!(*n, in_shards, "{table}");
    }
    // Merging again, and merging a shard into the merged store, add nothing.
    let o = merge(&tmp, &["s0.db", "s1.db", "s2.db"], "all.db");
    assert!(
        stderr(&o).contains("0 runs added, 3 there already"),
        "{}",
        stderr(&o)
    );
    let o = merge(&tmp, &["s1.db", "all.db"], "all.db");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(table_counts(&tmp.join("all.db")), before);

    let from = ok(capsim(&tmp)
        .args(cmd)
        .args(["--from", "all.db", "--out", "from"]));
    assert_eq!(stdout(&from), stdout(&whole), "summary JSON");
    // The finished run is stored in the merged store, beside its shards.
    let list = ok(capsim(&tmp).args(["runs", "list", "--db", "all.db", "--format", "json"]));
    let rows: serde_json::Value = serde_json::from_str(&stdout(&list)).unwrap();
    let status: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        status.iter().filter(|s| **s == "complete").count(),
        1,
        "{status:?}"
    );
    assert_eq!(
        status.iter().filter(|s| **s == "shard").count(),
        3,
        "{status:?}"
    );

    // A store without one shard: refused, naming the shard to run or merge.
    let o = merge(&tmp, &["s0.db", "s2.db"], "partial.db");
    assert!(o.status.success(), "{}", stderr(&o));
    let o = capsim(&tmp)
        .args(cmd)
        .args(["--from", "partial.db", "--no-report"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("lacks replications 1, 4 of 7 (shard 1/3)"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn batch_shards_merged_give_the_unsharded_batch_summary_and_reports() {
    let tmp = scratch("shard/batch");
    let dir = repo().join("scenarios/build-queue");
    let dir = dir.to_str().unwrap();
    let cmd = ["batch", dir, "--replications", "3"];
    ok(capsim(&tmp)
        .args(cmd)
        .args(["--no-store", "--out", "whole"]));
    for k in 0..3 {
        shard(&tmp, &cmd, k, 3, &format!("s{k}.db"));
    }
    assert!(
        merge(&tmp, &["s0.db", "s1.db", "s2.db"], "all.db")
            .status
            .success()
    );
    ok(capsim(&tmp)
        .args(cmd)
        .args(["--from", "all.db", "--out", "from"]));
    let files = files(&tmp.join("whole"));
    assert_eq!(files, crate::support::files(&tmp.join("from")));
    let mut compared = 0;
    for f in &files {
        let (a, b) = (tmp.join("whole").join(f), tmp.join("from").join(f));
        let name = f.to_str().unwrap();
        if name.ends_with("report.md") {
            continue; // names the run id and whether it is stored
        }
        if name.contains('/') && name.ends_with(".csv") {
            // A run's CSV files name the run in their first column.
            let (ha, a) = read_csv(&a);
            let (hb, b) = read_csv(&b);
            assert_eq!(ha, hb);
            let rest = |rows: Vec<Vec<String>>| -> Vec<Vec<String>> {
                rows.into_iter().map(|r| r[1..].to_vec()).collect()
            };
            assert_eq!(rest(a), rest(b), "{name}");
        } else {
            assert!(
                std::fs::read(&a).unwrap() == std::fs::read(&b).unwrap(),
                "{name} differs"
            );
        }
        compared += 1;
    }
    assert!(compared >= 10, "{compared} files compared");
}

#[test]
fn shards_of_another_scenario_version_are_refused() {
    let tmp = scratch("shard/version");
    let s = mmc(tmp.path(), "");
    let s = s.to_str().unwrap();
    let cmd = ["run", s, "--replications", "4"];
    shard(&tmp, &cmd, 0, 2, "a.db");
    // The file changes between the shards: one more daemon.
    let text = std::fs::read_to_string(s).unwrap();
    std::fs::write(s, text.replace("count = 10", "count = 11")).unwrap();
    shard(&tmp, &cmd, 1, 2, "b.db");
    let o = merge(&tmp, &["a.db", "b.db"], "all.db");
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("b.db"), "{e}");
    assert!(
        e.contains("shard 1/2) is a shard of the same sweep as run"),
        "{e}"
    );
    assert!(e.contains("scenario file"), "{e}");
    // Nothing was written into the target.
    assert!(
        table_counts(&tmp.join("all.db"))
            .iter()
            .all(|(_, n)| *n == 0)
    );
    // `--from` on the first shard's store, with the file as it is now.
    let o = capsim(&tmp)
        .args(cmd)
        .args(["--from", "a.db", "--no-report"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("the inputs changed since the shards ran"),
        "{}",
        stderr(&o)
    );
}

/// The checked-in `xargs -P` script: N shard processes, the merge and
/// `--from` give the unsharded batch summary.
#[test]
fn the_xargs_script_gives_the_unsharded_batch_summary() {
    let tmp = scratch("shard/xargs");
    let dir = repo().join("scenarios/build-queue");
    let dir = dir.to_str().unwrap();
    ok(capsim(&tmp).args([
        "batch",
        dir,
        "--replications",
        "2",
        "--no-store",
        "--out",
        "whole",
    ]));
    let o = script_in(
        &tmp,
        &repo().join("scenarios/cluster/xargs.sh"),
        &[dir],
        &[("N", "3"), ("REPS", "2"), ("OUT", "sh")],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let summary = |p: &str| std::fs::read_to_string(tmp.join(p)).unwrap();
    assert_eq!(
        summary("sh/reports/batch-summary.csv"),
        summary("whole/batch-summary.csv")
    );
    for k in 0..3 {
        assert!(tmp.join(format!("sh/shard-{k}.db")).is_file());
    }
}

/// The same script runs a sensitivity study (COMMAND=sensitivity): the
/// unsharded study's tables.
#[test]
fn the_xargs_script_runs_a_sensitivity_study() {
    let tmp = scratch("shard/xargs-sensitivity");
    let s = mmc(tmp.path(), "");
    let args = [
        s.to_str().unwrap(),
        "--params",
        "db_rtt_ms,coderd_cpu_ms_connect",
    ];
    ok(capsim(&tmp).arg("sensitivity").args(args).args([
        "--replications",
        "2",
        "--no-store",
        "--out",
        "whole",
        "-q",
    ]));
    let o = script_in(
        &tmp,
        &repo().join("scenarios/cluster/xargs.sh"),
        &args,
        &[
            ("N", "2"),
            ("REPS", "2"),
            ("OUT", "sh"),
            ("COMMAND", "sensitivity"),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    for f in ["sensitivity.csv", "sensitivity.md"] {
        assert_eq!(
            std::fs::read(tmp.join("sh/reports").join(f)).unwrap(),
            std::fs::read(tmp.join("whole").join(f)).unwrap(),
            "{f}"
        );
    }
}

/// A shard stores a long share in parts (here 4 replications each on one
/// thread), and `--from` gathers them: the same summary.
#[test]
fn a_long_share_is_stored_in_parts_and_gathered() {
    let tmp = scratch("shard/parts");
    let s = mmc(tmp.path(), "");
    let s = s.to_str().unwrap();
    let cmd = [
        "run",
        s,
        "--replications",
        "9",
        "--format",
        "json",
        "--jobs",
        "1",
    ];
    let whole = ok(capsim(&tmp).args(cmd).args(["--no-store", "--no-report"]));
    shard(&tmp, &cmd, 0, 1, "one.db");
    let list = ok(capsim(&tmp).args(["runs", "list", "--db", "one.db", "--format", "json"]));
    let rows: serde_json::Value = serde_json::from_str(&stdout(&list)).unwrap();
    let mut reps: Vec<u64> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["replications"].as_u64().unwrap())
        .collect();
    reps.sort();
    assert_eq!(reps, [1, 4, 4]);
    let from = ok(capsim(&tmp)
        .args(cmd)
        .args(["--from", "one.db", "--no-report"]));
    assert_eq!(stdout(&from), stdout(&whole));
}

/// Every file of a report folder, by name, with its bytes.
fn folder_bytes(dir: &Path) -> Vec<(String, Vec<u8>)> {
    files(dir)
        .into_iter()
        .map(|p| {
            (
                p.to_string_lossy().into_owned(),
                std::fs::read(dir.join(&p)).unwrap(),
            )
        })
        .collect()
}

/// One column of every run of a store, newest first.
fn runs_column(db: &Path, col: &str) -> Vec<String> {
    let c = rusqlite::Connection::open(db).unwrap();
    c.prepare(&format!(
        "SELECT {col} FROM runs ORDER BY started_at DESC, id DESC"
    ))
    .unwrap()
    .query_map([], |r| r.get(0))
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

/// A sensitivity study (one-at-a-time and Morris) in three shards, merged
/// (twice), finished with --from: sensitivity.csv, sensitivity.md, the
/// tornado PNGs and morris.csv are the unsharded study's, byte for byte, and
/// the finished study is stored beside its shards with its answer.
#[test]
fn three_sensitivity_shards_merged_give_the_unsharded_tables_byte_for_byte() {
    let tmp = scratch("shard/sensitivity");
    let s = mmc(tmp.path(), "");
    let cmd = [
        "sensitivity",
        s.to_str().unwrap(),
        "--params",
        "db_rtt_ms",
        "--vary",
        "deployment.provisioners.count=9..11",
        "--replications",
        "2",
        "--morris",
        "2",
        "-q",
    ];
    let whole = ok(capsim(&tmp)
        .args(cmd)
        .args(["--db", "one.db", "--out", "one"]));
    for k in 0..3 {
        let spec = format!("{k}/3");
        let o = ok(capsim(&tmp)
            .args(cmd)
            .args(["--shard", &spec, "--db", &format!("s{k}.db")]));
        assert!(stdout(&o).is_empty(), "a shard prints no answer");
        assert!(!tmp.join("reports").exists(), "a shard writes no report");
    }
    // Shard 1 says what it holds, and where the answer comes from.
    let show = ok(capsim(&tmp)
        .args(["runs", "show", "--db", "s1.db"])
        .arg(runs_column(&tmp.join("s1.db"), "id")[0].as_str()));
    let text = stdout(&show);
    assert!(text.contains("kind      sensitivity study"), "{text}");
    assert!(text.contains("shard     1/3 of sweep"), "{text}");
    assert!(text.contains("This is shard 1/3 of the study"), "{text}");
    assert!(text.contains("deployment.provisioners.count"), "{text}");

    let o = merge(&tmp, &["s0.db", "s1.db", "s2.db"], "all.db");
    assert!(o.status.success(), "{}", stderr(&o));
    let before = table_counts(&tmp.join("all.db"));
    let tasks = |counts: &[(String, i64)]| {
        counts
            .iter()
            .find(|(t, _)| t == "study_tasks")
            .map_or(0, |x| x.1)
    };
    // 1 base + 2 x 2 ends + 2 trajectories x 3 points = 11 variants x 2.
    assert_eq!(tasks(&before), 22);
    let o = merge(&tmp, &["s0.db", "s1.db", "s2.db"], "all.db");
    assert!(
        stderr(&o).contains("0 runs added, 3 there already"),
        "{}",
        stderr(&o)
    );
    assert_eq!(table_counts(&tmp.join("all.db")), before, "merging twice");

    let from = ok(capsim(&tmp)
        .args(cmd)
        .args(["--from", "all.db", "--out", "two"]));
    assert_eq!(stdout(&from), stdout(&whole), "the printed answer");
    let (one, two) = (
        folder_bytes(&tmp.join("one")),
        folder_bytes(&tmp.join("two")),
    );
    let names: Vec<&str> = one.iter().map(|(n, _)| n.as_str()).collect();
    for f in [
        "sensitivity.csv",
        "sensitivity.md",
        "tornado-1.png",
        "morris.csv",
    ] {
        assert!(names.contains(&f), "{f} in {names:?}");
    }
    assert_eq!(one.len(), two.len());
    for ((n1, b1), (n2, b2)) in one.iter().zip(&two) {
        assert_eq!(n1, n2);
        assert!(
            b1 == b2,
            "{n1} differs between the unsharded and the sharded study"
        );
    }
    // Stored: the unsharded study in one.db, the finished one beside its
    // shards in all.db, each with the tables it wrote.
    assert_eq!(runs_column(&tmp.join("one.db"), "kind"), ["sensitivity"]);
    let status = runs_column(&tmp.join("all.db"), "status");
    assert_eq!(status.iter().filter(|s| *s == "complete").count(), 1);
    assert_eq!(status.iter().filter(|s| *s == "shard").count(), 3);
    for db in ["one.db", "all.db"] {
        let c = rusqlite::Connection::open(tmp.join(db)).unwrap();
        let (answer, csv, n): (String, String, i64) = c
            .query_row(
                "SELECT s.answer, s.table_csv, \
                        (SELECT count(*) FROM study_tasks t WHERE t.run_id = s.run_id) \
                 FROM studies s JOIN runs r ON r.id = s.run_id WHERE r.status = 'complete'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        let dir = if db == "one.db" { "one" } else { "two" };
        assert_eq!(
            answer,
            std::fs::read_to_string(tmp.join(dir).join("sensitivity.md")).unwrap()
        );
        assert_eq!(
            csv,
            std::fs::read_to_string(tmp.join(dir).join("sensitivity.csv")).unwrap()
        );
        assert_eq!(n, 22, "{db}");
    }
    let list = stdout(&ok(capsim(&tmp).args(["runs", "list", "--db", "one.db"])));
    assert!(
        list.contains("KIND") && list.contains("sensitivity"),
        "{list}"
    );
    let shown = stdout(&ok(capsim(&tmp)
        .args(["runs", "show", "--db", "one.db"])
        .arg(runs_column(&tmp.join("one.db"), "id")[0].as_str())));
    assert!(shown.contains("## The answer"), "{shown}");

    // A store without shard 1: refused, naming it.
    let o = merge(&tmp, &["s0.db", "s2.db"], "partial.db");
    assert!(o.status.success(), "{}", stderr(&o));
    let o = capsim(&tmp)
        .args(cmd)
        .args(["--from", "partial.db", "--out", "three"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("(shard 1/3)"), "{}", stderr(&o));
    assert!(!tmp.join("three").exists(), "nothing written");
}

/// Shards of a sensitivity study that ran another version of the scenario
/// are refused by the merge (exit 2, nothing written) and by --from.
#[test]
fn sensitivity_shards_of_another_scenario_version_are_refused() {
    let tmp = scratch("shard/sensitivity-version");
    let s = mmc(tmp.path(), "");
    let cmd = [
        "sensitivity",
        s.to_str().unwrap(),
        "--params",
        "db_rtt_ms",
        "--replications",
        "1",
        "-q",
    ];
    ok(capsim(&tmp)
        .args(cmd)
        .args(["--shard", "0/2", "--db", "a.db"]));
    let text = std::fs::read_to_string(&s).unwrap();
    std::fs::write(&s, text.replace("count = 10", "count = 11")).unwrap();
    ok(capsim(&tmp)
        .args(cmd)
        .args(["--shard", "1/2", "--db", "b.db"]));
    let o = merge(&tmp, &["a.db", "b.db"], "all.db");
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("scenario file"), "{}", stderr(&o));
    assert!(
        table_counts(&tmp.join("all.db"))
            .iter()
            .all(|(_, n)| *n == 0)
    );
    let o = capsim(&tmp)
        .args(cmd)
        .args(["--from", "a.db", "--out", "x"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("the inputs changed since the shards ran"),
        "{}",
        stderr(&o)
    );
    assert!(!tmp.join("x").exists());
}

/// `run --uncertainty N` in three shards, merged and finished with --from:
/// the printed summary and study, uncertainty.csv and the JSON (which
/// includes the study) are the unsharded run's; the study is stored as a
/// run of kind `uncertainty` naming the plain run.
#[test]
fn uncertainty_shards_merged_give_the_unsharded_study() {
    let tmp = scratch("shard/uncertainty");
    let s = mmc(tmp.path(), "");
    let cmd = [
        "run",
        s.to_str().unwrap(),
        "--uncertainty",
        "3",
        "--replications",
        "2",
        "-q",
    ];
    let whole = ok(capsim(&tmp)
        .args(cmd)
        .args(["--db", "one.db", "--out", "one"]));
    let json = ok(capsim(&tmp)
        .args(cmd)
        .args(["--no-store", "--no-report", "--format", "json"]));
    for k in 0..3 {
        let spec = format!("{k}/3");
        let o = ok(capsim(&tmp)
            .args(cmd)
            .args(["--shard", &spec, "--db", &format!("s{k}.db")]));
        assert!(stdout(&o).is_empty());
    }
    assert!(
        merge(&tmp, &["s0.db", "s1.db", "s2.db"], "all.db")
            .status
            .success()
    );
    let from = ok(capsim(&tmp)
        .args(cmd)
        .args(["--from", "all.db", "--out", "two"]));
    assert_eq!(stdout(&from), stdout(&whole));
    assert!(stdout(&whole).contains("Model uncertainty: 3 parameter sets"));
    let csv = |d: &str| std::fs::read(tmp.join(d).join("mmc-c10-rho080/uncertainty.csv")).unwrap();
    assert_eq!(csv("one"), csv("two"));
    let from_json =
        ok(capsim(&tmp)
            .args(cmd)
            .args(["--from", "all.db", "--no-report", "--format", "json"]));
    assert_eq!(stdout(&from_json), stdout(&json));
    let v: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
    let study = &v[0]["uncertainty"];
    assert_eq!(study["sets"].as_array().unwrap().len(), 3, "{study}");
    assert!(study["rows"][0]["combined_low"].is_number(), "{study}");
    // Stored: the plain run and its study, which names it.
    let c = rusqlite::Connection::open(tmp.join("one.db")).unwrap();
    let (kind, of_run, run): (String, String, String) = c
        .query_row(
            "SELECT r.kind, s.of_run, (SELECT id FROM runs WHERE kind = 'run') \
             FROM studies s JOIN runs r ON r.id = s.run_id",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!((kind.as_str(), of_run), ("uncertainty", run));
}

/// A study honours --no-store, and a store it cannot write to is refused
/// (exit 2) before anything is simulated or written.
#[test]
fn a_study_honours_no_store_and_refuses_an_unwritable_store_first() {
    let tmp = scratch("shard/study-store");
    let s = mmc(tmp.path(), "");
    let cmd = [
        "sensitivity",
        s.to_str().unwrap(),
        "--params",
        "db_rtt_ms",
        "--replications",
        "1",
        "-q",
    ];
    ok(capsim(&tmp).args(cmd).args(["--no-store", "--out", "a"]));
    assert!(tmp.join("a/sensitivity.md").exists());
    assert!(
        !tmp.join("reports/capsim.db").exists(),
        "--no-store stores nothing"
    );
    write(tmp.path(), "file", "not a folder");
    let o = capsim(&tmp)
        .args(cmd)
        .args(["--db", "file/x.db", "--out", "b"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(!tmp.join("b").exists(), "nothing written");
}

/// `runs show` of a shard of a `run` sweep says which replications it
/// holds and that the summary comes after merge and --from.
#[test]
fn runs_show_of_a_shard_says_what_it_holds() {
    let tmp = scratch("shard/show");
    let s = mmc(tmp.path(), "");
    let cmd = ["run", s.to_str().unwrap(), "--replications", "5"];
    shard(&tmp, &cmd, 1, 2, "s.db");
    let id = runs_column(&tmp.join("s.db"), "id").remove(0);
    let text = stdout(&ok(capsim(&tmp).args(["runs", "show", "--db", "s.db", &id])));
    assert!(text.contains("shard     1/2 of sweep"), "{text}");
    assert!(text.contains("holds replications"), "{text}");
    assert!(text.contains("with --from MERGED.db"), "{text}");
    let json =
        stdout(&ok(capsim(&tmp).args([
            "runs", "show", "--db", "s.db", &id, "--format", "json",
        ])));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v[0]["shard"]["shard"], "1/2", "{json}");
    let held = v[0]["shard"]["replications"].as_array().unwrap().len();
    assert!(held >= 2, "{json}");
}
