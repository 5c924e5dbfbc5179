//! Shards of `capsim size` in the store.
//!
//! The search is adaptive (binary searches, best-first, early stops), so a
//! shard cannot follow it: `size --shard K/N` evaluates its share of every
//! candidate the search could visit and stores each simulation it ran under
//! what was simulated (a hash of the scenario and the seed, see
//! `compare::size::shard`). `size --from` runs the normal search and reads
//! each simulation it asks for from here. A shard is a run of kind `size`
//! with `status = 'shard'`; its plan (the options that decide what is
//! simulated, JSON) is its `studies` row.

use super::shards::{RESULT_FORMAT, RunRow, SweepPart, insert_run_row};
use super::{Result, Store, StoreError};
use crate::result::RunResult;
use crate::scenario::Scenario;
use crate::shard::Shard;
use rusqlite::{OptionalExtension, params};
use std::collections::BTreeSet;

/// One simulation a size shard ran: its key (see the module), its seed,
/// and its result encoded as [`RESULT_FORMAT`] says.
#[derive(Clone, Debug)]
pub struct StoredSimulation {
    pub key: String,
    pub seed: u64,
    pub saturated: bool,
    pub body: Vec<u8>,
}

impl StoredSimulation {
    pub fn new(key: String, seed: u64, result: &RunResult) -> StoredSimulation {
        StoredSimulation {
            key,
            seed,
            saturated: result.saturated,
            body: postcard::to_allocvec(result).expect("a RunResult encodes"),
        }
    }
}

/// One candidate a size shard evaluated: its index in the sweep's list, in
/// words, and the simulations its evaluation ran (0 when another shard's or
/// an earlier candidate's covered them).
#[derive(Clone, Debug, PartialEq)]
pub struct SizeTask {
    pub task: usize,
    pub label: String,
    pub simulations: u64,
}

/// A finished size shard, to store.
pub struct NewSizeShard<'a> {
    pub id: &'a str,
    pub started_at: &'a str,
    pub finished_at: &'a str,
    /// The scenario as searched (its sha256 covers `--set` and `--slo`).
    pub scenario: &'a Scenario,
    pub seed: u64,
    pub replications: u32,
    /// The options that decide what is simulated, as JSON.
    pub plan_json: &'a str,
    pub sweep: &'a str,
    pub shard: Shard,
    pub tasks: &'a [SizeTask],
    pub simulations: &'a [StoredSimulation],
}

/// A size shard of a scenario, with its plan (to name an option that differs).
#[derive(Clone, Debug)]
pub struct SizeShardPlan {
    pub sweep: String,
    pub part: SweepPart,
    pub plan_json: String,
}

impl Store {
    /// Store a size shard in one transaction.
    pub fn insert_size_shard(&mut self, sh: &NewSizeShard) -> Result<()> {
        let path = self.path.clone();
        self.write(|tx| {
            insert_run_row(
                tx,
                &RunRow {
                    id: sh.id,
                    started_at: sh.started_at,
                    finished_at: sh.finished_at,
                    scenario: sh.scenario,
                    seed: sh.seed,
                    replications: i64::from(sh.replications),
                    saturated: sh.simulations.iter().any(|s| s.saturated),
                    status: "shard",
                    shard: Some((sh.sweep, sh.shard)),
                    kind: "size",
                },
            )?;
            tx.execute(
                "INSERT INTO studies (run_id, of_run, plan, answer, table_csv) \
                 VALUES (?1, NULL, ?2, NULL, NULL)",
                params![sh.id, sh.plan_json],
            )?;
            let mut t = tx.prepare_cached(
                "INSERT INTO size_tasks (run_id, task, label, simulations) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for x in sh.tasks {
                t.execute(params![sh.id, x.task as i64, x.label, x.simulations as i64])?;
            }
            let mut s = tx.prepare_cached(
                "INSERT INTO simulations (run_id, key, seed, saturated, format, body) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for x in sh.simulations {
                s.execute(params![
                    sh.id,
                    x.key,
                    x.seed.to_string(),
                    x.saturated,
                    RESULT_FORMAT,
                    x.body
                ])?;
            }
            drop((t, s));
            Ok(())
        })
        .map_err(|error| StoreError::Sqlite { path, error })
    }

    /// Every size shard of the scenario named `scenario`, whatever its
    /// sweep, with its plan, oldest first.
    pub fn size_shards_of(&self, scenario: &str) -> Result<Vec<SizeShardPlan>> {
        self.conn
            .prepare(
                "SELECT r.sweep, r.id, r.scenario, r.scenario_sha256, r.model_sha256, \
                        r.capsim_version, r.seed, r.shard, r.started_at, s.plan \
                 FROM runs r JOIN studies s ON s.run_id = r.id \
                 WHERE r.kind = 'size' AND r.status = 'shard' AND r.scenario = ?1 \
                 ORDER BY r.started_at, r.id",
            )
            .and_then(|mut st| {
                st.query_map([scenario], |r| {
                    Ok(SizeShardPlan {
                        sweep: r.get(0)?,
                        part: SweepPart {
                            id: r.get(1)?,
                            scenario: r.get(2)?,
                            scenario_sha256: r.get(3)?,
                            model_sha256: r.get(4)?,
                            capsim_version: r.get(5)?,
                            seed: r.get(6)?,
                            shard: r.get::<_, Option<String>>(7)?.unwrap_or_default(),
                            started_at: r.get(8)?,
                        },
                        plan_json: r.get(9)?,
                    })
                })?
                .collect()
            })
            .map_err(|e| self.sql(e))
    }

    /// The candidates (task indices) the shards of size sweep `sweep` hold.
    pub fn size_tasks(&self, sweep: &str) -> Result<BTreeSet<usize>> {
        self.conn
            .prepare(
                "SELECT DISTINCT t.task FROM size_tasks t JOIN runs r ON r.id = t.run_id \
                 WHERE r.sweep = ?1 AND r.status = 'shard'",
            )
            .and_then(|mut st| {
                st.query_map([sweep], |r| r.get::<_, i64>(0).map(|t| t as usize))?
                    .collect()
            })
            .map_err(|e| self.sql(e))
    }

    /// The simulation stored under `key` by a shard of `sweep`, if any (one
    /// copy where shards overlap: a result depends only on what was
    /// simulated).
    pub fn simulation(&self, sweep: &str, key: &str) -> Result<Option<RunResult>> {
        let row: Option<(String, Vec<u8>)> = self
            .conn
            .prepare_cached(
                "SELECT s.format, s.body FROM simulations s JOIN runs r ON r.id = s.run_id \
                 WHERE s.key = ?1 AND r.sweep = ?2 AND r.status = 'shard' ORDER BY r.id LIMIT 1",
            )
            .and_then(|mut st| {
                st.query_row([key, sweep], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()
            })
            .map_err(|e| self.sql(e))?;
        let Some((format, body)) = row else {
            return Ok(None);
        };
        if format != RESULT_FORMAT {
            return Err(StoreError::Incompatible {
                path: self.path.clone(),
                message: format!(
                    "simulation {key} of sweep {sweep} is stored as {format:?}, and this capsim reads {RESULT_FORMAT:?}: run the shards again with this capsim"
                ),
            });
        }
        postcard::from_bytes(&body)
            .map(Some)
            .map_err(|e| StoreError::Incompatible {
                path: self.path.clone(),
                message: format!("simulation {key} of sweep {sweep} does not decode: {e}"),
            })
    }

    /// A size shard's candidates and simulations (for `runs show`).
    pub fn size_shard_counts(&self, id: &str) -> Result<(i64, i64)> {
        self.conn
            .query_row(
                "SELECT (SELECT count(*) FROM size_tasks WHERE run_id = ?1), \
                        (SELECT count(*) FROM simulations WHERE run_id = ?1)",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(|e| self.sql(e))
    }
}
