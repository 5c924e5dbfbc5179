//! Studies in the store: `capsim sensitivity` and `capsim run --uncertainty
//! N` are runs of their own kind (`runs.kind`), kept like every run.
//!
//! A study is stored in one transaction when it has finished: its row of
//! `runs` (the base scenario's name, file and model sha256, the capsim
//! version, the master seed and the replications of each variant), its plan
//! (`studies.plan`, JSON), its factors and their ranges (`study_factors`),
//! each simulation reduced to the values it judges (`study_tasks`), and its
//! answer and tidy table. A shard of a study (`--shard K/N`) is the same
//! without the answer: `status = 'shard'`, its sweep and `K/N`, and only the
//! tasks it ran; `--from` gathers the tasks of every shard of the sweep and
//! redoes the analysis, which depends on the task results alone.

use super::shards::{RunRow, SweepPart, insert_run_row};
use super::{Result, Store, StoreError};
use crate::scenario::Scenario;
use crate::shard::Shard;
use rusqlite::{OptionalExtension, params};

/// What kind of study a run is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StudyKind {
    /// `capsim sensitivity`.
    Sensitivity,
    /// `capsim run --uncertainty N`.
    Uncertainty,
}

impl StudyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            StudyKind::Sensitivity => "sensitivity",
            StudyKind::Uncertainty => "uncertainty",
        }
    }
}

/// One simulation of a study as stored: its variant (or parameter set) and
/// replication, its seed, whether it saturated, and the value of each
/// statistic the study judges (in the study's order; `None`: no value) with
/// its unit.
#[derive(Clone, Debug, PartialEq)]
pub struct StudyTask {
    pub variant: usize,
    pub replication: u32,
    pub seed: u64,
    pub saturated: bool,
    pub values: Vec<Option<f64>>,
    pub units: Vec<String>,
}

/// A factor of a study as stored: a model parameter or a scenario key, and
/// the ends of its range as given.
#[derive(Clone, Debug, PartialEq)]
pub struct StudyFactor {
    pub name: String,
    pub unit: String,
    /// `assumed`, `fitted`, `source`, ... for a model parameter; `key` for
    /// a scenario key given as `KEY=LO..HI`.
    pub source: String,
    pub value: Option<f64>,
    pub lo: String,
    pub hi: String,
    pub reason: String,
}

/// A finished study (or a shard's share of one), to store.
pub struct NewStudy<'a> {
    pub id: &'a str,
    pub started_at: &'a str,
    pub finished_at: &'a str,
    pub kind: StudyKind,
    /// The base scenario (its sha256 and its model file's, not a variant's).
    pub scenario: &'a Scenario,
    pub seed: u64,
    /// Replications of each variant (or parameter set).
    pub replications: u32,
    /// The plain run an uncertainty study widens, when it was stored.
    pub of_run: Option<&'a str>,
    /// The plan, as JSON.
    pub plan_json: &'a str,
    pub factors: &'a [StudyFactor],
    /// The simulations this process ran (every task of the plan, or a
    /// shard's share).
    pub tasks: &'a [StudyTask],
    /// The answer in words and the tidy table (CSV); `None` for a shard.
    pub answer: Option<(&'a str, &'a str)>,
    /// For a shard: its sweep and `K/N`.
    pub shard: Option<(&'a str, Shard)>,
}

/// A study read back.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredStudy {
    pub kind: String,
    pub of_run: Option<String>,
    pub plan_json: String,
    pub answer: Option<String>,
    pub table_csv: Option<String>,
    pub factors: Vec<StudyFactor>,
    /// Simulations stored, and the variants they belong to.
    pub tasks: i64,
    pub variants: i64,
}

fn json<T: serde::Serialize>(x: &T) -> rusqlite::Result<String> {
    serde_json::to_string(x).map_err(|e| rusqlite::Error::ToSqlConversionFailure(e.into()))
}

impl Store {
    /// Store a study (or a shard's share of one) in one transaction.
    pub fn insert_study(&mut self, st: &NewStudy) -> Result<()> {
        let path = self.path.clone();
        self.write(|tx| {
            insert_run_row(
                tx,
                &RunRow {
                    id: st.id,
                    started_at: st.started_at,
                    finished_at: st.finished_at,
                    scenario: st.scenario,
                    seed: st.seed,
                    replications: i64::from(st.replications),
                    saturated: st.tasks.iter().any(|t| t.saturated),
                    status: if st.shard.is_some() {
                        "shard"
                    } else {
                        "complete"
                    },
                    shard: st.shard,
                    kind: st.kind.as_str(),
                },
            )?;
            tx.execute(
                "INSERT INTO studies (run_id, of_run, plan, answer, table_csv) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    st.id,
                    st.of_run,
                    st.plan_json,
                    st.answer.map(|a| a.0),
                    st.answer.map(|a| a.1)
                ],
            )?;
            let mut f = tx.prepare_cached(
                "INSERT INTO study_factors (run_id, ord, name, unit, source, value, lo, hi, reason) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?;
            for (i, x) in st.factors.iter().enumerate() {
                f.execute(params![
                    st.id,
                    i as i64,
                    x.name,
                    x.unit,
                    x.source,
                    x.value,
                    x.lo,
                    x.hi,
                    x.reason
                ])?;
            }
            let mut t = tx.prepare_cached(
                "INSERT INTO study_tasks (run_id, variant, replication, seed, saturated, \
                     result_values, units) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            for r in st.tasks {
                t.execute(params![
                    st.id,
                    r.variant as i64,
                    r.replication,
                    r.seed.to_string(),
                    r.saturated,
                    json(&r.values)?,
                    json(&r.units)?
                ])?;
            }
            drop((f, t));
            Ok(())
        })
        .map_err(|error| StoreError::Sqlite { path, error })
    }

    /// The shard runs of the study sweep `sweep` and every task they hold,
    /// in task order (variant, replication; one copy where shards overlap:
    /// a task's result depends only on its variant and seed).
    pub fn study_sweep(&self, sweep: &str) -> Result<(Vec<SweepPart>, Vec<StudyTask>)> {
        let parts = self.sweep_results(sweep)?.parts;
        let mut st = self
            .conn
            .prepare(
                "SELECT t.variant, t.replication, t.seed, t.saturated, t.result_values, t.units \
                 FROM study_tasks t JOIN runs r ON r.id = t.run_id \
                 WHERE r.sweep = ?1 AND r.status = 'shard' \
                 ORDER BY t.variant, t.replication, r.id",
            )
            .map_err(|e| self.sql(e))?;
        let rows: Vec<(i64, u32, String, bool, String, String)> = st
            .query_map([sweep], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            })
            .and_then(|rows| rows.collect())
            .map_err(|e| self.sql(e))?;
        let mut tasks: Vec<StudyTask> = Vec::with_capacity(rows.len());
        for (variant, replication, seed, saturated, values, units) in rows {
            let variant = variant as usize;
            if tasks
                .last()
                .is_some_and(|l| (l.variant, l.replication) == (variant, replication))
            {
                continue;
            }
            let bad = |what: &str, e: &dyn std::fmt::Display| StoreError::Incompatible {
                path: self.path.clone(),
                message: format!(
                    "task (variant {variant}, replication {replication}) of sweep {sweep}: {what} does not parse: {e}"
                ),
            };
            tasks.push(StudyTask {
                variant,
                replication,
                seed: seed.parse().map_err(|e| bad("seed", &e))?,
                saturated,
                values: serde_json::from_str(&values).map_err(|e| bad("result_values", &e))?,
                units: serde_json::from_str(&units).map_err(|e| bad("units", &e))?,
            });
        }
        Ok((parts, tasks))
    }

    /// The study stored under run `id`, if it is one.
    pub fn study(&self, id: &str) -> Result<Option<StoredStudy>> {
        let c = &self.conn;
        let head = c
            .query_row(
                "SELECT r.kind, s.of_run, s.plan, s.answer, s.table_csv, \
                        (SELECT count(*) FROM study_tasks t WHERE t.run_id = s.run_id), \
                        (SELECT count(DISTINCT variant) FROM study_tasks t WHERE t.run_id = s.run_id) \
                 FROM studies s JOIN runs r ON r.id = s.run_id WHERE s.run_id = ?1",
                [id],
                |r| {
                    Ok(StoredStudy {
                        kind: r.get(0)?,
                        of_run: r.get(1)?,
                        plan_json: r.get(2)?,
                        answer: r.get(3)?,
                        table_csv: r.get(4)?,
                        factors: Vec::new(),
                        tasks: r.get(5)?,
                        variants: r.get(6)?,
                    })
                },
            )
            .optional()
            .map_err(|e| self.sql(e))?;
        let Some(mut study) = head else {
            return Ok(None);
        };
        study.factors = c
            .prepare(
                "SELECT name, unit, source, value, lo, hi, reason FROM study_factors \
                 WHERE run_id = ?1 ORDER BY ord",
            )
            .and_then(|mut st| {
                st.query_map([id], |r| {
                    Ok(StudyFactor {
                        name: r.get(0)?,
                        unit: r.get(1)?,
                        source: r.get(2)?,
                        value: r.get(3)?,
                        lo: r.get(4)?,
                        hi: r.get(5)?,
                        reason: r.get(6)?,
                    })
                })?
                .collect()
            })
            .map_err(|e| self.sql(e))?;
        Ok(Some(study))
    }

    /// The replications a shard run of `run`/`batch` holds (by their index
    /// in the whole sweep).
    pub fn shard_replications(&self, id: &str) -> Result<Vec<u32>> {
        self.conn
            .prepare("SELECT replication FROM replication_results WHERE run_id = ?1 ORDER BY replication")
            .and_then(|mut st| st.query_map([id], |r| r.get(0))?.collect())
            .map_err(|e| self.sql(e))
    }
}
