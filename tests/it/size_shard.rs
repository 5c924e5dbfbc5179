//! `capsim size --shard K/N` and `--from`: shards evaluate their share of
//! every candidate the search could visit; the search finished from their
//! merged store writes what one process writes, byte for byte (but the
//! wall time); merging twice changes nothing; a missing shard, or options
//! other than the shards', are refused (exit 2) naming what is missing or
//! differs.

use crate::shard::{merge, table_counts};
use crate::support::*;
use std::path::{Path, PathBuf};

/// The steady-dashboards deployment, 200 users for 20 minutes, with an API
/// p95 SLO that replicas of 1 vCPU miss (some for certain after one
/// replication) and larger ones meet.
fn scenario(dir: &Path) -> PathBuf {
    steady_dashboards(
        dir,
        5,
        "20m",
        200,
        "[[slo]]\nmetric = \"api_latency_seconds\"\nstat = \"p95\"\nlabels = { class = \"dashboard\" }\nmax = \"18ms\"\n",
    )
}

fn gcp() -> String {
    repo()
        .join("models/prices/gcp-us-central1.toml")
        .display()
        .to_string()
}

/// `size` of `s` with `extra`, run in `tmp`.
fn size(tmp: &Scratch, s: &Path, args: &[&str], extra: &[&str]) -> std::process::Output {
    capsim(tmp)
        .args(["size", s.to_str().unwrap(), "--prices", &gcp()])
        .args(args)
        .args(extra)
        .output()
        .unwrap()
}

/// `text` with every wall time (`12.3 s`, `(4 s;`) replaced by `#`: the
/// only thing `--from` may print differently.
fn without_times(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() && (i == 0 || !b[i - 1].is_ascii_alphanumeric()) {
            let mut j = i;
            while j < b.len() && (b[j].is_ascii_digit() || b[j] == b'.') {
                j += 1;
            }
            let unit = text[j..].starts_with(" s")
                && !text[j + 2..].starts_with(|c: char| c.is_ascii_alphanumeric());
            if unit {
                out.push('#');
                i = j;
                continue;
            }
        }
        let c = text[i..].chars().next().unwrap();
        out.push(c);
        i += c.len_utf8();
    }
    out
}

fn assert_same_reports(tmp: &Scratch, a: &str, b: &str, files: &[&str]) {
    for f in files {
        let (x, y) = (
            std::fs::read(tmp.join(a).join(f)).unwrap(),
            std::fs::read(tmp.join(b).join(f)).unwrap(),
        );
        if f.ends_with(".md") {
            assert_eq!(
                without_times(&String::from_utf8(x).unwrap()),
                without_times(&String::from_utf8(y).unwrap()),
                "{f}"
            );
        } else {
            assert!(x == y, "{f} differs between {a} and {b}");
        }
    }
}

/// Every simulation a store holds: (key, result), in key order.
fn simulations(db: &Path) -> Vec<(String, Vec<u8>)> {
    let c = rusqlite::Connection::open(db).unwrap();
    c.prepare("SELECT key, body FROM simulations ORDER BY key")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

const FILES: [&str; 4] = ["size.md", "size.json", "candidates.csv", "candidates.png"];

#[test]
fn three_size_shards_merged_give_the_one_process_search_byte_for_byte() {
    let tmp = scratch("size-shard/three");
    let s = scenario(tmp.path());
    // Replicas and their shape, with the policy and the N-1 drill.
    let args = [
        "--replications",
        "2",
        "--resources",
        "coderd_replicas,coderd_vcpu",
        "--max-replicas",
        "5",
    ];
    let whole = size(&tmp, &s, &args, &["--out", "whole"]);
    assert!(whole.status.success(), "{}", stderr(&whole));
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tmp.join("whole/size.json")).unwrap()).unwrap();
    assert!(
        json["recommendation"].is_object(),
        "a recommendation to reproduce"
    );

    for k in 0..3 {
        let jobs = if k == 0 { "1" } else { "2" };
        let o = size(
            &tmp,
            &s,
            &args,
            &[
                "--shard",
                &format!("{k}/3"),
                "--db",
                &format!("s{k}.db"),
                "--jobs",
                jobs,
            ],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(stdout(&o).is_empty(), "a shard prints no recommendation");
        assert!(
            stderr(&o).contains(&format!("shard {k}/3 evaluates")),
            "{}",
            stderr(&o)
        );
    }
    // The same shard on two threads stores the same simulations.
    let o = size(
        &tmp,
        &s,
        &args,
        &["--shard", "0/3", "--db", "s0-jobs2.db", "--jobs", "2"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        simulations(&tmp.join("s0.db")),
        simulations(&tmp.join("s0-jobs2.db"))
    );

    let o = merge(&tmp, &["s0.db", "s1.db", "s2.db"], "all.db");
    assert!(o.status.success(), "{}", stderr(&o));
    let before = table_counts(&tmp.join("all.db"));
    // Merging again changes nothing.
    let o = merge(&tmp, &["s0.db", "s1.db", "s2.db"], "all.db");
    // (Each shard stored its candidates in two parts of at most four.)
    assert!(
        stderr(&o).contains("0 runs added, 6 there already"),
        "{}",
        stderr(&o)
    );
    assert_eq!(table_counts(&tmp.join("all.db")), before);

    for jobs in ["1", "2"] {
        let out = format!("from-{jobs}");
        let from = size(
            &tmp,
            &s,
            &args,
            &["--from", "all.db", "--out", &out, "--jobs", jobs],
        );
        assert!(from.status.success(), "{}", stderr(&from));
        assert_eq!(
            without_times(&stdout(&from)),
            without_times(&stdout(&whole)),
            "stdout, --jobs {jobs}"
        );
        assert_same_reports(&tmp, "whole", &out, &FILES);
    }

    // `runs show` says what a shard is.
    let show = ok(capsim(&tmp).args(["runs", "list", "--db", "s1.db", "--format", "json"]));
    let rows: serde_json::Value = serde_json::from_str(&stdout(&show)).unwrap();
    let id = rows[0]["id"].as_str().unwrap().to_string();
    let show = ok(capsim(&tmp).args(["runs", "show", &id, "--db", "s1.db"]));
    assert!(stdout(&show).contains("size search"), "{}", stdout(&show));
    assert!(
        stdout(&show).contains("shard 1/3 of a `capsim size` search"),
        "{}",
        stdout(&show)
    );

    // A store without shard 1: refused, naming a candidate it lacks and
    // the shard that holds it; nothing written.
    let o = merge(&tmp, &["s0.db", "s2.db"], "partial.db");
    assert!(o.status.success(), "{}", stderr(&o));
    let o = size(
        &tmp,
        &s,
        &args,
        &["--from", "partial.db", "--out", "partial"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("lacks"), "{err}");
    assert!(
        err.contains("coderd replicas"),
        "names the candidate: {err}"
    );
    assert!(err.contains("shard 1/3 holds"), "{err}");
    assert!(!tmp.join("partial").exists(), "nothing written");

    // Other options than the shards': refused, naming the option.
    let o = size(
        &tmp,
        &s,
        &[
            "--replications",
            "3",
            "--resources",
            "coderd_replicas,coderd_vcpu",
        ],
        &["--max-replicas", "5", "--from", "all.db", "--out", "other"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("ran with --replications 2, and this command has 3"),
        "{}",
        stderr(&o)
    );
    assert!(!tmp.join("other").exists(), "nothing written");
}

/// With `--growth` and `--uncertainty`, two shards merged give the
/// one-process search: every user count's candidates, their drills and
/// parameter sets come from the store.
#[test]
fn size_shards_cover_growth_and_parameter_sets() {
    let tmp = scratch("size-shard/growth");
    let s = scenario(tmp.path());
    let args = [
        "--replications",
        "2",
        "--resources",
        "coderd_replicas",
        "--max-replicas",
        "5",
        "--growth",
        "100,200",
        "--uncertainty",
        "2",
    ];
    let whole = size(&tmp, &s, &args, &["--out", "whole"]);
    assert!(whole.status.success(), "{}", stderr(&whole));
    for k in 0..2 {
        let o = size(
            &tmp,
            &s,
            &args,
            &["--shard", &format!("{k}/2"), "--db", &format!("s{k}.db")],
        );
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let o = merge(&tmp, &["s0.db", "s1.db"], "all.db");
    assert!(o.status.success(), "{}", stderr(&o));
    let from = size(&tmp, &s, &args, &["--from", "all.db", "--out", "from"]);
    assert!(from.status.success(), "{}", stderr(&from));
    assert_eq!(
        without_times(&stdout(&from)),
        without_times(&stdout(&whole))
    );
    assert_same_reports(
        &tmp,
        "whole",
        "from",
        &[
            "size.md",
            "size.json",
            "growth.csv",
            "candidates-100.csv",
            "candidates-200.csv",
        ],
    );
}

#[test]
fn times_are_masked_and_nothing_else() {
    assert_eq!(
        without_times("size x: 3 simulations in 12.5 s (seed 7)\n(4 s; on"),
        "size x: 3 simulations in # s (seed 7)\n(# s; on"
    );
    assert_eq!(
        without_times("2 vCPU, 8 GB; 3 sets"),
        "2 vCPU, 8 GB; 3 sets"
    );
}

/// The checked-in `xargs -P` script with `COMMAND=size`: two shard
/// processes, the merge and `--from` give the one-process reports.
#[test]
fn the_xargs_script_runs_a_size_search() {
    let tmp = scratch("size-shard/xargs");
    let s = scenario(tmp.path());
    let gcp = gcp();
    let args = [
        s.to_str().unwrap(),
        "--prices",
        &gcp,
        "--resources",
        "coderd_replicas",
        "--max-replicas",
        "5",
    ];
    let whole = size(
        &tmp,
        &s,
        &args[3..],
        &["--replications", "2", "--out", "whole"],
    );
    assert!(whole.status.success(), "{}", stderr(&whole));
    let o = script_in(
        &tmp,
        &repo().join("scenarios/cluster/xargs.sh"),
        &args,
        &[
            ("N", "2"),
            ("REPS", "2"),
            ("OUT", "sh"),
            ("COMMAND", "size"),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_reports(&tmp, "whole", "sh/reports", &FILES);
}
