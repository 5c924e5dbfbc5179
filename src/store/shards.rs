//! Shards of a sweep in the store, and merging stores.
//!
//! A process run with `--shard K/N` stores, for each scenario (or variant)
//! of the sweep it had tasks of, one *shard run*: a row of `runs` with
//! `status = 'shard'`, the sweep it belongs to (`runs.sweep`, an id that
//! the same command line gives on every machine) and `K/N`, and each
//! replication it simulated under its index in the whole sweep, with the
//! replication's full result (`replication_results`). `capsim runs merge`
//! copies runs between stores; `--from` gathers a sweep's replications from
//! its shard runs and redoes the analysis that one process would have done.

use super::{Result, Store, StoreError, insert_replications, retry};
use crate::result::RunResult;
use crate::scenario::Scenario;
use crate::shard::Shard;
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// How a replication's result is encoded in `replication_results.body`:
/// `RunResult` in postcard's wire format (its f64 bits exactly, NaN
/// included), version 1 of that struct's layout.
pub const RESULT_FORMAT: &str = "postcard:RunResult/1";

/// One scenario's share of a sweep, finished.
pub struct ShardRun<'a> {
    pub id: &'a str,
    pub started_at: &'a str,
    pub finished_at: &'a str,
    pub scenario: &'a Scenario,
    /// The sweep and the scenario's place in it (see `cli::sweep`).
    pub sweep: &'a str,
    pub shard: Shard,
    /// The master seed of the scenario's replications.
    pub seed: u64,
    /// Each replication this shard ran, by its index in the whole sweep.
    pub runs: &'a [(u32, RunResult)],
}

/// A shard run of a sweep, as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepPart {
    pub id: String,
    pub scenario: String,
    pub scenario_sha256: String,
    pub model_sha256: String,
    pub capsim_version: String,
    pub seed: String,
    pub shard: String,
    pub started_at: String,
}

/// What a store holds of one scenario of a sweep.
pub struct SweepResults {
    /// Its shard runs, oldest first.
    pub parts: Vec<SweepPart>,
    /// The index of every replication stored.
    pub replications: BTreeSet<u32>,
}

/// The tables a merge copies, parents first; `series` and `points` are
/// copied apart (their ids are renumbered). A test holds this list to the
/// schema, so a new table cannot be forgotten.
pub const MERGED_TABLES: [&str; 13] = [
    "runs",
    "replications",
    "replication_metrics",
    "replication_results",
    "summaries",
    "slos",
    "costs",
    "cost_lines",
    "studies",
    "study_factors",
    "study_tasks",
    "size_tasks",
    "simulations",
];

/// What a merge did.
#[derive(Debug, Default, PartialEq)]
pub struct MergeOutcome {
    /// Runs copied in.
    pub added: usize,
    /// Runs the target held already (merging again changes nothing).
    pub present: usize,
}

/// The `runs` row of a run that has no summary of its own: a shard, a
/// study or a study's shard.
pub(super) struct RunRow<'a> {
    pub id: &'a str,
    pub started_at: &'a str,
    pub finished_at: &'a str,
    pub scenario: &'a Scenario,
    pub seed: u64,
    pub replications: i64,
    pub saturated: bool,
    /// `shard` or `complete`.
    pub status: &'a str,
    /// A shard's sweep and `K/N`.
    pub shard: Option<(&'a str, Shard)>,
    /// `run`, `sensitivity`, `uncertainty` or `size`.
    pub kind: &'a str,
}

/// Insert `r` into `runs` (in the caller's transaction).
pub(super) fn insert_run_row(tx: &rusqlite::Transaction, r: &RunRow) -> rusqlite::Result<()> {
    let sc = r.scenario;
    let scenario_json =
        serde_json::to_string(sc).map_err(|e| rusqlite::Error::ToSqlConversionFailure(e.into()))?;
    tx.execute(
        "INSERT INTO runs (id, scenario, scenario_path, scenario_sha256, scenario_json, \
             model_path, model_sha256, capsim_version, seed, replications, started_at, \
             finished_at, saturated, status, sweep, shard, kind) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
        params![
            r.id,
            sc.name,
            sc.path.as_ref().map(|p| p.display().to_string()),
            sc.sha256,
            scenario_json,
            crate::format::tidy_path(&sc.model.path),
            sc.model.sha256,
            env!("CARGO_PKG_VERSION"),
            r.seed.to_string(),
            r.replications,
            r.started_at,
            r.finished_at,
            r.saturated,
            r.status,
            r.shard.map(|s| s.0),
            r.shard.map(|s| s.1.to_string()),
            r.kind,
        ],
    )?;
    Ok(())
}

fn encode(r: &RunResult) -> rusqlite::Result<Vec<u8>> {
    postcard::to_allocvec(r).map_err(|e| rusqlite::Error::ToSqlConversionFailure(e.into()))
}

impl Store {
    /// Store one scenario's share of a sweep, in one transaction.
    pub fn insert_shard(&mut self, run: &ShardRun) -> Result<()> {
        let path = self.path.clone();
        self.write(|tx| {
            insert_run_row(
                tx,
                &RunRow {
                    id: run.id,
                    started_at: run.started_at,
                    finished_at: run.finished_at,
                    scenario: run.scenario,
                    seed: run.seed,
                    replications: run.runs.len() as i64,
                    saturated: run.runs.iter().any(|(_, r)| r.saturated),
                    status: "shard",
                    shard: Some((run.sweep, run.shard)),
                    kind: "run",
                },
            )?;
            let reps = crate::result::Replications::of(run.runs.iter().map(|(_, r)| r));
            insert_replications(tx, run.id, &reps, |i| run.runs[i].0)?;
            let mut st = tx.prepare_cached(
                "INSERT INTO replication_results (run_id, replication, format, body) \
                 VALUES (?1, ?2, ?3, ?4)",
            )?;
            for (i, r) in run.runs {
                st.execute(params![run.id, i, RESULT_FORMAT, encode(r)?])?;
            }
            drop(st);
            Ok(())
        })
        .map_err(|error| StoreError::Sqlite { path, error })
    }

    /// The shard runs of `sweep` and the replications they hold (not the
    /// results: [`Store::each_sweep_result`] streams those).
    pub fn sweep_results(&self, sweep: &str) -> Result<SweepResults> {
        let parts: Vec<SweepPart> = self
            .conn
            .prepare(
                "SELECT id, scenario, scenario_sha256, model_sha256, capsim_version, seed, \
                        shard, started_at \
                 FROM runs WHERE sweep = ?1 AND status = 'shard' ORDER BY started_at, id",
            )
            .and_then(|mut st| {
                st.query_map([sweep], |r| {
                    Ok(SweepPart {
                        id: r.get(0)?,
                        scenario: r.get(1)?,
                        scenario_sha256: r.get(2)?,
                        model_sha256: r.get(3)?,
                        capsim_version: r.get(4)?,
                        seed: r.get(5)?,
                        shard: r.get::<_, Option<String>>(6)?.unwrap_or_default(),
                        started_at: r.get(7)?,
                    })
                })?
                .collect()
            })
            .map_err(|e| self.sql(e))?;
        let replications: BTreeSet<u32> = self
            .conn
            .prepare(
                "SELECT DISTINCT x.replication FROM replication_results x \
                 JOIN runs r ON r.id = x.run_id WHERE r.sweep = ?1 AND r.status = 'shard'",
            )
            .and_then(|mut st| st.query_map([sweep], |r| r.get(0))?.collect())
            .map_err(|e| self.sql(e))?;
        Ok(SweepResults {
            parts,
            replications,
        })
    }

    /// Each replication of `sweep`, decoded one at a time, in replication
    /// order (one copy where shards overlap: a replication's result depends
    /// only on its seed), so memory holds one at a time.
    pub fn each_sweep_result(&self, sweep: &str, mut f: impl FnMut(u32, RunResult)) -> Result<()> {
        let mut st = self
            .conn
            .prepare(
                "SELECT x.replication, x.format, x.body FROM replication_results x \
                 JOIN runs r ON r.id = x.run_id \
                 WHERE r.sweep = ?1 AND r.status = 'shard' ORDER BY x.replication, r.id",
            )
            .map_err(|e| self.sql(e))?;
        let mut rows = st.query([sweep]).map_err(|e| self.sql(e))?;
        let mut last = None;
        while let Some(row) = rows.next().map_err(|e| self.sql(e))? {
            let (i, format): (u32, String) = (
                row.get(0).map_err(|e| self.sql(e))?,
                row.get(1).map_err(|e| self.sql(e))?,
            );
            if last == Some(i) {
                continue;
            }
            last = Some(i);
            if format != RESULT_FORMAT {
                return Err(StoreError::Incompatible {
                    path: self.path.clone(),
                    message: format!(
                        "replication {i} of sweep {sweep} is stored as {format:?}, and this capsim reads {RESULT_FORMAT:?}: run the shards again with this capsim"
                    ),
                });
            }
            let body: Vec<u8> = row.get(2).map_err(|e| self.sql(e))?;
            let r: RunResult =
                postcard::from_bytes(&body).map_err(|e| StoreError::Incompatible {
                    path: self.path.clone(),
                    message: format!("replication {i} of sweep {sweep} does not decode: {e}"),
                })?;
            f(i, r);
        }
        Ok(())
    }

    /// Every shard run, keyed by sweep.
    fn sweep_parts(&self) -> Result<Vec<(String, SweepPart)>> {
        self.conn
            .prepare(
                "SELECT sweep, id, scenario, scenario_sha256, model_sha256, capsim_version, seed, \
                        shard, started_at \
                 FROM runs WHERE sweep IS NOT NULL ORDER BY sweep, started_at, id",
            )
            .and_then(|mut st| {
                st.query_map([], |r| {
                    Ok((
                        r.get(0)?,
                        SweepPart {
                            id: r.get(1)?,
                            scenario: r.get(2)?,
                            scenario_sha256: r.get(3)?,
                            model_sha256: r.get(4)?,
                            capsim_version: r.get(5)?,
                            seed: r.get(6)?,
                            shard: r.get::<_, Option<String>>(7)?.unwrap_or_default(),
                            started_at: r.get(8)?,
                        },
                    ))
                })?
                .collect()
            })
            .map_err(|e| self.sql(e))
    }

    /// Merge the runs of `sources` into this store. Checked first, as a
    /// whole: shards of one sweep must have run the same scenario file, model
    /// file and capsim version, wherever they are (else nothing is written,
    /// and the error names both runs and their stores). Then each source is
    /// copied in one transaction; a run the store holds already is left as
    /// it is, so merging twice changes nothing.
    pub fn merge(&mut self, sources: &[PathBuf]) -> Result<MergeOutcome> {
        let mut seen: BTreeMap<String, (PathBuf, SweepPart)> = BTreeMap::new();
        let mut check = |path: &Path, parts: Vec<(String, SweepPart)>| -> Result<()> {
            for (sweep, p) in parts {
                match seen.get(&sweep) {
                    None => {
                        seen.insert(sweep, (path.to_path_buf(), p));
                    }
                    Some((first_path, first)) => {
                        if let Some(message) = conflict(first_path, first, &p) {
                            return Err(StoreError::Incompatible {
                                path: path.to_path_buf(),
                                message,
                            });
                        }
                    }
                }
            }
            Ok(())
        };
        check(&self.path.clone(), self.sweep_parts()?)?;
        let target = std::fs::canonicalize(&self.path).ok();
        let mut to_copy = Vec::new();
        for src in sources {
            if std::fs::canonicalize(src).ok() == target {
                continue;
            }
            let other = Store::open_existing(src)?;
            check(src, other.sweep_parts()?)?;
            to_copy.push(src.clone());
        }
        let mut outcome = MergeOutcome::default();
        for src in &to_copy {
            let (added, present) = self.copy_from(src)?;
            outcome.added += added;
            outcome.present += present;
        }
        Ok(outcome)
    }

    /// Copy the runs of the store at `src` that this one lacks, in one
    /// transaction: (runs added, runs present already).
    fn copy_from(&mut self, src: &Path) -> Result<(usize, usize)> {
        let uri = super::file_uri(src, "mode=ro");
        self.conn
            .execute("ATTACH DATABASE ?1 AS src", [&uri])
            .map_err(|e| self.sql(e))?;
        let path = self.path.clone();
        let result = retry(|| {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute_batch(
                "CREATE TEMP TABLE new_runs AS \
                     SELECT id FROM src.runs WHERE id NOT IN (SELECT id FROM main.runs);",
            )?;
            let added: i64 =
                tx.query_row("SELECT count(*) FROM temp.new_runs", [], |r| r.get(0))?;
            let all: i64 = tx.query_row("SELECT count(*) FROM src.runs", [], |r| r.get(0))?;
            for table in MERGED_TABLES {
                let cols: Vec<String> = tx
                    .prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))?
                    .query_map([], |r| r.get(0))?
                    .collect::<rusqlite::Result<_>>()?;
                let cols = cols.join(", ");
                let key = if table == "runs" { "id" } else { "run_id" };
                tx.execute(
                    &format!(
                        "INSERT INTO main.{table} ({cols}) SELECT {cols} FROM src.{table} \
                         WHERE {key} IN temp.new_runs"
                    ),
                    [],
                )?;
            }
            tx.execute_batch(
                "INSERT INTO main.series (run_id, metric, stat, labels, unit) \
                     SELECT run_id, metric, stat, labels, unit FROM src.series \
                     WHERE run_id IN temp.new_runs ORDER BY id; \
                 INSERT INTO main.points (series_id, bucket_start_s, value, ci_low, ci_high, n) \
                     SELECT m.id, p.bucket_start_s, p.value, p.ci_low, p.ci_high, p.n \
                     FROM src.points p JOIN src.series s ON s.id = p.series_id \
                     JOIN main.series m ON m.run_id = s.run_id AND m.metric = s.metric \
                          AND m.stat = s.stat AND m.labels = s.labels \
                     WHERE s.run_id IN temp.new_runs; \
                 DROP TABLE temp.new_runs;",
            )?;
            tx.commit()?;
            Ok((added as usize, (all - added) as usize))
        });
        let detached = self.conn.execute("DETACH DATABASE src", []);
        let out = result.map_err(|error| StoreError::Sqlite { path, error })?;
        detached.map_err(|e| self.sql(e))?;
        Ok(out)
    }

    /// The id of a shard run of `sweep`, if any (for tests and messages).
    pub fn any_sweep_run(&self, sweep: &str) -> Result<Option<String>> {
        self.conn
            .query_row(
                "SELECT id FROM runs WHERE sweep = ?1 LIMIT 1",
                [sweep],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.sql(e))
    }
}

/// Why two shard runs of one sweep cannot be merged, if they cannot.
fn conflict(first_path: &Path, first: &SweepPart, p: &SweepPart) -> Option<String> {
    let differs = if first.scenario_sha256 != p.scenario_sha256 {
        (
            "scenario file (sha256)",
            &first.scenario_sha256,
            &p.scenario_sha256,
        )
    } else if first.model_sha256 != p.model_sha256 {
        ("model file (sha256)", &first.model_sha256, &p.model_sha256)
    } else if first.capsim_version != p.capsim_version {
        ("capsim version", &first.capsim_version, &p.capsim_version)
    } else {
        return None;
    };
    let short = |s: &str| s.chars().take(12).collect::<String>();
    Some(format!(
        "run {} (scenario {}, shard {}) is a shard of the same sweep as run {} (shard {}) in {}, but its {} is {}, not {}: the shards ran different inputs; run every shard of a sweep from the same files and capsim",
        p.id,
        p.scenario,
        p.shard,
        first.id,
        first.shard,
        first_path.display(),
        differs.0,
        short(differs.2),
        short(differs.1),
    ))
}
