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

fn merge(tmp: &Scratch, stores: &[&str], into: &str) -> std::process::Output {
    capsim(tmp)
        .args(["runs", "merge"])
        .args(stores)
        .args(["--into", into])
        .output()
        .unwrap()
}

/// Row counts of every table of a store, by name.
fn table_counts(db: &Path) -> Vec<(String, i64)> {
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
