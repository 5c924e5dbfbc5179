//! The run store: every run kept in one SQLite database (`reports/capsim.db`
//! by default).
//!
//! A *run* is one invocation of one scenario: its N replications (seeds
//! derived from the master seed), their summary across replications (means
//! with 95% Student-t intervals, SLO verdicts) and the time series aggregated
//! per bucket. Each replication is a row of `replications` (its index, seed,
//! saturation and notes) with its own statistics in `replication_metrics`.
//!
//! A run is written in one transaction when it has finished, so a crash, a
//! Ctrl-C or `kill -9` leaves only complete runs. The database is in WAL mode
//! with a busy time-out, and a write that still finds the database busy is
//! retried, so several `capsim` processes can write to one store at once.
//!
//! This module is the only place that reads the wall clock (run ids and start
//! times); the simulation core never does.

pub mod schema;
pub mod shards;
pub mod size_shards;
pub mod studies;

pub use shards::{MergeOutcome, ShardRun, SweepPart, SweepResults};
pub use size_shards::{NewSizeShard, SizeShardPlan, SizeTask, StoredSimulation};
pub use studies::{NewStudy, StoredStudy, StudyFactor, StudyKind, StudyTask};

use crate::cost::{CostLine, MonthlyCost};
use crate::engine::metrics::Labels;
use crate::format::{bound_str, labels_json};
use crate::report::series::{AggPoint, AggSeries, AggTimeSeries};
use crate::report::slos_by_row;
use crate::result::{Replications, SloStatus, SloVerdict, Summary, SummaryMetric};
use crate::scenario::{Bound, Scenario, Slo};
use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, TransactionBehavior, params};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Default location of the store, relative to the working directory.
pub const DEFAULT_PATH: &str = "reports/capsim.db";

/// How long a statement waits for another process's write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);
/// Attempts at a write that still reports SQLITE_BUSY after the time-out.
const MAX_ATTEMPTS: u32 = 10;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no run store at {0} (runs are stored by `capsim run` and `capsim batch`)")]
    Missing(PathBuf),
    #[error("no run with id {0:?}")]
    NotFound(String),
    #[error("run id {0:?} is ambiguous: it matches {1}")]
    Ambiguous(String, String),
    #[error("{path}: {message}")]
    Incompatible { path: PathBuf, message: String },
    /// SQLite's own message, once (not the error's chain of causes, which
    /// repeats it).
    #[error("{path}: {}", sqlite_message(.error))]
    Sqlite {
        path: PathBuf,
        error: rusqlite::Error,
    },
    #[error(
        "{0}: cannot write to the run store (read-only file or folder); give another --db, or --no-store"
    )]
    ReadOnly(PathBuf),
    #[error("{path}: stored JSON does not parse: {error}")]
    Json {
        path: PathBuf,
        error: serde_json::Error,
    },
}

impl StoreError {
    /// A run with this id is stored already.
    pub fn is_duplicate_id(&self) -> bool {
        matches!(self, StoreError::Sqlite { error, .. }
            if error.sqlite_error_code() == Some(ErrorCode::ConstraintViolation)
                && error.to_string().contains("runs.id"))
    }

    /// The error comes from what the user asked for (an unknown id, a file
    /// that is not a capsim store, a store that cannot be written to), not
    /// from a failure.
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            StoreError::Missing(_)
                | StoreError::NotFound(_)
                | StoreError::Ambiguous(..)
                | StoreError::Incompatible { .. }
                | StoreError::ReadOnly(_)
        )
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// What SQLite said, in its own words and once: rusqlite's `Display` of a
/// failure with a message is the message, but its source repeats it with
/// the error code.
fn sqlite_message(e: &rusqlite::Error) -> String {
    match e {
        rusqlite::Error::SqliteFailure(_, Some(m)) => m.clone(),
        rusqlite::Error::SqliteFailure(code, None) => code.to_string(),
        other => other.to_string(),
    }
}

/// The message of a file that is not a capsim store.
const NOT_A_STORE: &str = "not a capsim run store";

/// The current time, UTC, RFC 3339 with milliseconds.
pub fn now_utc() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

/// A new run id: the UTC time to the second and 8 hex digits that differ
/// between processes and between calls, e.g. `20250314T091502-3fa9c1d0`. Ids
/// sort by start time and need no database (a report folder is named after
/// its run even with `--no-store`).
pub fn new_run_id(now_utc: &str) -> String {
    use sha2::{Digest, Sha256};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let stamp: String = now_utc
        .chars()
        .take(19)
        .filter(|c| c.is_ascii_digit() || *c == 'T')
        .collect();
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mut h = Sha256::new();
    h.update(std::process::id().to_le_bytes());
    h.update(COUNTER.fetch_add(1, Ordering::Relaxed).to_le_bytes());
    h.update(nanos.to_le_bytes());
    let d = h.finalize();
    format!("{stamp}-{:02x}{:02x}{:02x}{:02x}", d[0], d[1], d[2], d[3])
}

/// Everything stored about a finished run.
pub struct NewRun<'a> {
    pub id: &'a str,
    pub started_at: &'a str,
    pub finished_at: &'a str,
    pub scenario: &'a Scenario,
    pub summary: &'a Summary,
    /// The replications, in replication order.
    pub replications: &'a Replications,
    pub series: &'a AggTimeSeries,
    /// The monthly cost of the architecture, when a price file applies.
    pub cost: Option<&'a MonthlyCost>,
}

/// A row of `runs`, with its SLO tally.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct RunInfo {
    pub id: String,
    pub scenario: String,
    pub scenario_path: Option<String>,
    pub scenario_sha256: String,
    pub model_path: Option<String>,
    pub model_sha256: String,
    pub capsim_version: String,
    pub seed: String,
    pub replications: u32,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub saturated: bool,
    pub status: String,
    /// `run`, `sensitivity` or `uncertainty` (a study; see [`studies`]).
    pub kind: String,
    /// For a shard run: the sweep it is a share of, and its `K/N`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sweep: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
    pub slo_passed: u32,
    pub slo_total: u32,
}

/// A stored run read back.
pub struct StoredRun {
    pub info: RunInfo,
    pub summary: Summary,
    /// The SLO definitions, in the order of `summary.slo`.
    pub slos: Vec<Slo>,
    /// Notes of every replication (saturation and warnings), deduplicated.
    pub notes: Vec<String>,
    /// The full resolved scenario as JSON.
    pub scenario_json: String,
    /// The monthly cost, when the run had a price file.
    pub cost: Option<MonthlyCost>,
}

impl StoredRun {
    /// A number of the stored scenario (its JSON) at `key`, if any.
    fn scenario_number(&self, key: &str) -> Option<f64> {
        serde_json::from_str::<serde_json::Value>(&self.scenario_json)
            .ok()?
            .get(key)?
            .as_f64()
    }
    /// Bucket length of the stored scenario, seconds (NaN if unknown).
    pub fn bucket_s(&self) -> f64 {
        self.scenario_number("bucket")
            .map_or(f64::NAN, |ns| ns / 1e9)
    }
    /// Time of day at t = 0 of the stored scenario, seconds since midnight.
    pub fn start_time_of_day_s(&self) -> f64 {
        self.scenario_number("start_time_of_day")
            .map_or(0.0, |ns| ns / 1e9)
    }
}

pub struct Store {
    conn: Connection,
    path: PathBuf,
}

/// A store is a regular file: a folder or a device is refused before SQLite
/// sees it.
fn check_regular_file(path: &Path) -> Result<()> {
    match std::fs::metadata(path) {
        Ok(m) if !m.is_file() => Err(StoreError::Incompatible {
            path: path.to_path_buf(),
            message: format!(
                "{NOT_A_STORE} ({}); give another --db",
                if m.is_dir() {
                    "a folder"
                } else {
                    "not a regular file"
                }
            ),
        }),
        _ => Ok(()),
    }
}

/// An error opening or first reading the store at `path`: a file SQLite
/// does not recognise is not a capsim store (bad input), not a failure.
fn open_error(path: &Path, error: rusqlite::Error) -> StoreError {
    if error.sqlite_error_code() == Some(ErrorCode::NotADatabase) {
        StoreError::Incompatible {
            path: path.to_path_buf(),
            message: format!("{NOT_A_STORE} (not an SQLite database); give another --db"),
        }
    } else {
        StoreError::Sqlite {
            path: path.to_path_buf(),
            error,
        }
    }
}

/// The error says the database or its folder cannot be written to.
fn is_read_only(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::ReadOnly | ErrorCode::CannotOpen | ErrorCode::PermissionDenied)
    )
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    )
}

/// Run `f`, retrying (with a growing pause) while the database is busy.
fn retry<T>(mut f: impl FnMut() -> rusqlite::Result<T>) -> rusqlite::Result<T> {
    let mut attempt = 1;
    loop {
        match f() {
            Err(e) if is_busy(&e) && attempt < MAX_ATTEMPTS => {
                std::thread::sleep(Duration::from_millis(20 * u64::from(attempt)));
                attempt += 1;
            }
            r => return r,
        }
    }
}

impl Store {
    /// Run `f` in one write transaction (`BEGIN IMMEDIATE`: the write lock
    /// first, so a reader never upgrades into a deadlock), committed when
    /// `f` succeeds, the whole of it retried while another process holds
    /// the lock. Nothing of a failed `f` is written.
    pub(super) fn write<T>(
        &mut self,
        mut f: impl FnMut(&rusqlite::Transaction) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        retry(|| {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            let out = f(&tx)?;
            tx.commit()?;
            Ok(out)
        })
    }

    /// Open the store at `path`, creating it (and its folder) if needed, and
    /// upgrade an older schema in place.
    ///
    /// The store is checked writable here, so that a run that cannot be
    /// stored fails before it is simulated, not after.
    pub fn open(path: &Path) -> Result<Store> {
        if path.exists() {
            check_regular_file(path)?;
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Incompatible {
                path: path.to_path_buf(),
                message: format!("cannot create folder {}: {e}", dir.display()),
            })?;
        }
        let store = Self::open_with(path, OpenFlags::default()).map_err(|e| match e {
            StoreError::Sqlite { error, .. } if is_read_only(&error) => {
                StoreError::ReadOnly(path.to_path_buf())
            }
            e => e,
        })?;
        if store.conn.is_readonly(rusqlite::MAIN_DB).unwrap_or(true) {
            return Err(StoreError::ReadOnly(path.to_path_buf()));
        }
        // Take the write lock once (and give it back): a folder where the
        // write-ahead log cannot be made fails here.
        retry(|| store.conn.execute_batch("BEGIN IMMEDIATE; COMMIT;")).map_err(|error| {
            if is_read_only(&error) {
                StoreError::ReadOnly(path.to_path_buf())
            } else {
                store.sql(error)
            }
        })?;
        Ok(store)
    }

    /// Open an existing store (for `capsim runs`): a missing file is an error,
    /// not a new empty store. A store that cannot be written to (a read-only
    /// file system, a file without write permission) is opened read-only, so
    /// it can still be listed, shown and exported.
    pub fn open_existing(path: &Path) -> Result<Store> {
        if !path.exists() {
            return Err(StoreError::Missing(path.to_path_buf()));
        }
        check_regular_file(path)?;
        match Self::open_with(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        ) {
            Ok(s) if !s.conn.is_readonly(rusqlite::MAIN_DB).unwrap_or(true) => Ok(s),
            Ok(_) => Self::open_read_only(path),
            Err(StoreError::Sqlite { error, .. }) if is_read_only(&error) => {
                Self::open_read_only(path)
            }
            Err(e) => Err(e),
        }
    }

    /// Open a store that cannot be written to: as an immutable database
    /// (SQLite neither locks it nor needs its `-shm` file), with no upgrade.
    pub fn open_read_only(path: &Path) -> Result<Store> {
        let uri = file_uri(path, "immutable=1");
        let e = |error| open_error(path, error);
        let conn = Connection::open_with_flags(
            &uri,
            OpenFlags::SQLITE_OPEN_READ_ONLY
                | OpenFlags::SQLITE_OPEN_URI
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(e)?;
        let (app, version): (i32, i32) = conn
            .query_row(
                "SELECT (SELECT application_id FROM pragma_application_id), \
                        (SELECT user_version FROM pragma_user_version)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(e)?;
        let incompatible = |message: String| StoreError::Incompatible {
            path: path.to_path_buf(),
            message,
        };
        if app != schema::APPLICATION_ID {
            return Err(incompatible(format!("{NOT_A_STORE}; give another --db")));
        }
        if version != schema::VERSION {
            return Err(incompatible(format!(
                "a read-only store of schema version {version}, and this capsim reads version {}: {}",
                schema::VERSION,
                if version > schema::VERSION {
                    "use a newer capsim"
                } else {
                    "open it once where it can be written to upgrade it"
                }
            )));
        }
        Ok(Store {
            conn,
            path: path.to_path_buf(),
        })
    }

    fn open_with(path: &Path, flags: OpenFlags) -> Result<Store> {
        let e = |error| open_error(path, error);
        let conn = Connection::open_with_flags(path, flags).map_err(e)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(e)?;
        retry(|| conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0)))
            .map_err(e)?;
        // In WAL mode NORMAL never corrupts the database; only the last
        // transactions before a power failure may be lost, not on a crash.
        conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")
            .map_err(e)?;
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
        };
        store.migrate()?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn sql(&self, error: rusqlite::Error) -> StoreError {
        StoreError::Sqlite {
            path: self.path.clone(),
            error,
        }
    }

    /// Schema version of the open database.
    pub fn schema_version(&self) -> Result<i32> {
        self.conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| self.sql(e))
    }

    /// Check the file is a capsim store and bring its schema up to date.
    fn migrate(&mut self) -> Result<()> {
        let (app, version): (i32, i32) = self
            .conn
            .query_row(
                "SELECT (SELECT application_id FROM pragma_application_id), \
                        (SELECT user_version FROM pragma_user_version)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(|e| self.sql(e))?;
        if app == schema::APPLICATION_ID && version == schema::VERSION {
            return Ok(());
        }
        let path = self.path.clone();
        let result = retry(|| {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            // Read again under the write lock: another process may have just
            // created or upgraded the database.
            let app: i32 = tx.query_row("PRAGMA application_id", [], |r| r.get(0))?;
            let version: i32 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
            let n_tables: i64 = tx.query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
                [],
                |r| r.get(0),
            )?;
            if app != schema::APPLICATION_ID && (app != 0 || (version == 0 && n_tables > 0)) {
                return Ok(Err(format!(
                    "{NOT_A_STORE} (it has other tables); give another --db"
                )));
            }
            if version > schema::VERSION {
                return Ok(Err(format!(
                    "schema version {version} is newer than this capsim (version {}) knows ({}): use a newer capsim",
                    env!("CARGO_PKG_VERSION"),
                    schema::VERSION
                )));
            }
            for step in &schema::MIGRATIONS[version.max(0) as usize..] {
                tx.execute_batch(step)?;
            }
            tx.execute_batch(&format!(
                "PRAGMA application_id = {}; PRAGMA user_version = {};",
                schema::APPLICATION_ID,
                schema::VERSION
            ))?;
            tx.commit()?;
            Ok(Ok(()))
        });
        match result {
            Ok(Ok(())) => Ok(()),
            Ok(Err(message)) => Err(StoreError::Incompatible { path, message }),
            Err(e) => Err(self.sql(e)),
        }
    }

    /// Store a finished run in one transaction.
    pub fn insert(&mut self, run: &NewRun) -> Result<()> {
        let path = self.path.clone();
        retry(|| insert_tx(&mut self.conn, run)).map_err(|error| StoreError::Sqlite { path, error })
    }

    /// Runs, newest first; `limit` 0 means all.
    pub fn list(&self, scenario: Option<&str>, limit: u32) -> Result<Vec<RunInfo>> {
        let limit = if limit == 0 { -1 } else { i64::from(limit) };
        let sql = format!(
            "{RUN_INFO_SELECT} WHERE (?1 IS NULL OR r.scenario = ?1) \
             ORDER BY r.started_at DESC, r.id DESC LIMIT ?2"
        );
        let mut st = self.conn.prepare(&sql).map_err(|e| self.sql(e))?;
        let rows = st
            .query_map(params![scenario, limit], run_info)
            .map_err(|e| self.sql(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.sql(e))
    }

    /// The full id of the run whose id is `id` or starts with it.
    pub fn resolve_id(&self, id: &str) -> Result<String> {
        let mut st = self
            .conn
            .prepare("SELECT id FROM runs WHERE substr(id, 1, length(?1)) = ?1 ORDER BY id LIMIT 3")
            .map_err(|e| self.sql(e))?;
        let ids: Vec<String> = st
            .query_map([id], |r| r.get(0))
            .and_then(|rows| rows.collect())
            .map_err(|e| self.sql(e))?;
        if ids.iter().any(|x| x == id) {
            return Ok(id.to_string());
        }
        match ids.len() {
            0 => Err(StoreError::NotFound(id.to_string())),
            1 => Ok(ids[0].clone()),
            n => {
                let more = if n > 2 { ", ..." } else { "" };
                Err(StoreError::Ambiguous(
                    id.to_string(),
                    ids[..2].join(", ") + more,
                ))
            }
        }
    }

    /// Read a run back: its row, summary, SLO definitions and notes.
    pub fn get(&self, id: &str) -> Result<StoredRun> {
        let c = &self.conn;
        let info: RunInfo = c
            .query_row(
                &format!("{RUN_INFO_SELECT} WHERE r.id = ?1"),
                [id],
                run_info,
            )
            .optional()
            .map_err(|e| self.sql(e))?
            .ok_or_else(|| StoreError::NotFound(id.to_string()))?;
        let scenario_json: String = c
            .query_row("SELECT scenario_json FROM runs WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .map_err(|e| self.sql(e))?;
        let json_labels = |s: String| -> rusqlite::Result<Labels> {
            serde_json::from_str(&s).map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, e.into())
            })
        };
        let metrics: Vec<SummaryMetric> = c
            .prepare(
                "SELECT metric, stat, labels, value, ci_low, ci_high, unit \
                 FROM summaries WHERE run_id = ?1 ORDER BY ord",
            )
            .and_then(|mut st| {
                st.query_map([id], |r| {
                    Ok(SummaryMetric {
                        name: r.get(0)?,
                        stat: r.get(1)?,
                        labels: json_labels(r.get(2)?)?,
                        value: r.get(3)?,
                        ci_low: r.get(4)?,
                        ci_high: r.get(5)?,
                        unit: r.get(6)?,
                    })
                })?
                .collect()
            })
            .map_err(|e| self.sql(e))?;
        let slo_rows: Vec<(Slo, SloVerdict)> = c
            .prepare(
                "SELECT name, metric, stat, labels, bound, target, value, status \
                 FROM slos WHERE run_id = ?1 ORDER BY ord",
            )
            .and_then(|mut st| {
                st.query_map([id], |r| {
                    let name: String = r.get(0)?;
                    let target: f64 = r.get(5)?;
                    let bound: String = r.get(4)?;
                    Ok((
                        Slo {
                            name: name.clone(),
                            metric: r.get(1)?,
                            stat: r.get(2)?,
                            labels: json_labels(r.get(3)?)?,
                            bound: if bound == "min" {
                                Bound::AtLeast
                            } else {
                                Bound::AtMost
                            },
                            target,
                        },
                        {
                            let status: String = r.get(7)?;
                            let status = SloStatus::parse(&status).unwrap_or(SloStatus::NoData);
                            SloVerdict {
                                name,
                                target,
                                value: r.get(6)?,
                                pass: status.pass(),
                                status,
                            }
                        },
                    ))
                })?
                .collect()
            })
            .map_err(|e| self.sql(e))?;
        let mut notes: Vec<String> = Vec::new();
        let note_lists: Vec<String> = c
            .prepare("SELECT notes FROM replications WHERE run_id = ?1 ORDER BY replication")
            .and_then(|mut st| st.query_map([id], |r| r.get(0))?.collect())
            .map_err(|e| self.sql(e))?;
        for n in note_lists {
            let list: Vec<String> =
                serde_json::from_str(&n).map_err(|source| StoreError::Json {
                    path: self.path.clone(),
                    error: source,
                })?;
            notes.extend(list);
        }
        let notes = crate::result::distinct_notes(&notes);
        let cost = self.cost(id)?;
        let (slos, verdicts) = slo_rows.into_iter().unzip();
        let summary = Summary {
            capsim_version: info.capsim_version.clone(),
            scenario: info.scenario.clone(),
            scenario_sha256: info.scenario_sha256.clone(),
            seed: info.seed.parse().unwrap_or_default(),
            replications: info.replications,
            saturated: info.saturated,
            metrics,
            slo: verdicts,
        };
        Ok(StoredRun {
            info,
            summary,
            slos,
            notes,
            scenario_json,
            cost,
        })
    }

    /// The monthly cost of a run, if it was costed.
    fn cost(&self, id: &str) -> Result<Option<MonthlyCost>> {
        let c = &self.conn;
        let head = c
            .query_row(
                "SELECT currency, total, users, per_user, hours_per_month, price_file, \
                        prices_date, notes FROM costs WHERE run_id = ?1",
                [id],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, f64>(1)?,
                        r.get::<_, Option<u32>>(2)?,
                        r.get::<_, Option<f64>>(3)?,
                        r.get::<_, f64>(4)?,
                        r.get::<_, String>(5)?,
                        r.get::<_, String>(6)?,
                        r.get::<_, String>(7)?,
                    ))
                },
            )
            .optional()
            .map_err(|e| self.sql(e))?;
        let Some((
            currency,
            total,
            users,
            per_user,
            hours_per_month,
            price_file,
            prices_date,
            notes,
        )) = head
        else {
            return Ok(None);
        };
        let lines: Vec<CostLine> = c
            .prepare(
                "SELECT component, unit, count, per_unit_hour, monthly FROM cost_lines \
                 WHERE run_id = ?1 ORDER BY ord",
            )
            .and_then(|mut st| {
                st.query_map([id], |r| {
                    Ok(CostLine {
                        component: r.get(0)?,
                        unit: r.get(1)?,
                        count: r.get(2)?,
                        per_unit_hour: r.get(3)?,
                        monthly: r.get(4)?,
                    })
                })?
                .collect()
            })
            .map_err(|e| self.sql(e))?;
        let notes: Vec<String> =
            serde_json::from_str(&notes).map_err(|error| StoreError::Json {
                path: self.path.clone(),
                error,
            })?;
        Ok(Some(MonthlyCost {
            currency,
            total,
            hours_per_month,
            price_file,
            prices_date,
            lines,
            notes,
            users,
            per_user,
        }))
    }

    /// The aggregated time series of a run.
    pub fn series(&self, id: &str, bucket_s: f64) -> Result<AggTimeSeries> {
        let mut st = self
            .conn
            .prepare(
                "SELECT s.id, s.metric, s.stat, s.labels, s.unit, \
                        p.bucket_start_s, p.value, p.ci_low, p.ci_high, p.n \
                 FROM series s LEFT JOIN points p ON p.series_id = s.id \
                 WHERE s.run_id = ?1 ORDER BY s.id, p.bucket_start_s",
            )
            .map_err(|e| self.sql(e))?;
        let mut rows = st.query([id]).map_err(|e| self.sql(e))?;
        let mut out = AggTimeSeries {
            bucket_s,
            series: Vec::new(),
        };
        let mut last_id: Option<i64> = None;
        while let Some(r) = rows.next().map_err(|e| self.sql(e))? {
            let sid: i64 = r.get(0).map_err(|e| self.sql(e))?;
            let get = || -> rusqlite::Result<(AggSeries, Option<AggPoint>)> {
                let labels: String = r.get(3)?;
                let s = AggSeries {
                    name: r.get(1)?,
                    stat: r.get(2)?,
                    labels: serde_json::from_str(&labels).unwrap_or_default(),
                    unit: r.get(4)?,
                    points: Vec::new(),
                };
                let p = match r.get::<_, Option<f64>>(5)? {
                    Some(bucket_start_s) => Some(AggPoint {
                        bucket_start_s,
                        value: r.get(6)?,
                        ci_low: r.get(7)?,
                        ci_high: r.get(8)?,
                        n: r.get(9)?,
                    }),
                    None => None,
                };
                Ok((s, p))
            };
            let (s, p) = get().map_err(|e| self.sql(e))?;
            if last_id != Some(sid) {
                out.series.push(s);
                last_id = Some(sid);
            }
            if let Some(p) = p {
                out.series.last_mut().expect("pushed").points.push(p);
            }
        }
        Ok(out)
    }

    /// Delete runs (all of them or none: every id, or unique prefix, must
    /// name a run).
    pub fn delete(&mut self, ids: &[String]) -> Result<usize> {
        let mut ids = ids
            .iter()
            .map(|id| self.resolve_id(id))
            .collect::<Result<Vec<_>>>()?;
        ids.sort();
        ids.dedup();
        let path = self.path.clone();
        let n = retry(|| {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut gone = Vec::new();
            for id in &ids {
                if tx.execute("DELETE FROM runs WHERE id = ?1", [id])? == 0 {
                    gone.push(id.clone());
                }
            }
            if gone.is_empty() {
                tx.commit()?;
            }
            Ok(gone)
        })
        .map_err(|error| StoreError::Sqlite { path, error })?;
        // Another process deleted one meanwhile: name it alone.
        if let Some(id) = n.first() {
            return Err(StoreError::NotFound(id.clone()));
        }
        Ok(ids.len())
    }

    /// `PRAGMA integrity_check`: `"ok"` when the database is sound.
    pub fn integrity_check(&self) -> Result<String> {
        self.conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .map_err(|e| self.sql(e))
    }
}

const RUN_INFO_SELECT: &str = "SELECT r.id, r.scenario, r.scenario_path, r.scenario_sha256, \
    r.model_path, r.model_sha256, r.capsim_version, r.seed, r.replications, r.started_at, \
    r.finished_at, r.saturated, r.status, r.kind, r.sweep, r.shard, \
    (SELECT count(*) FROM slos s WHERE s.run_id = r.id AND s.status = 'pass') AS slo_passed, \
    (SELECT count(*) FROM slos s WHERE s.run_id = r.id) AS slo_total \
    FROM runs r";

fn run_info(r: &rusqlite::Row) -> rusqlite::Result<RunInfo> {
    Ok(RunInfo {
        id: r.get("id")?,
        scenario: r.get("scenario")?,
        scenario_path: r.get("scenario_path")?,
        scenario_sha256: r.get("scenario_sha256")?,
        model_path: r.get("model_path")?,
        model_sha256: r.get("model_sha256")?,
        capsim_version: r.get("capsim_version")?,
        seed: r.get("seed")?,
        replications: r.get("replications")?,
        started_at: r.get("started_at")?,
        finished_at: r.get("finished_at")?,
        saturated: r.get("saturated")?,
        status: r.get("status")?,
        kind: r.get("kind")?,
        sweep: r.get("sweep")?,
        shard: r.get("shard")?,
        slo_passed: r.get("slo_passed")?,
        slo_total: r.get("slo_total")?,
    })
}

fn insert_tx(conn: &mut Connection, run: &NewRun) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let sc = run.scenario;
    let sm = run.summary;
    let scenario_json =
        serde_json::to_string(sc).map_err(|e| rusqlite::Error::ToSqlConversionFailure(e.into()))?;
    tx.execute(
        "INSERT INTO runs (id, scenario, scenario_path, scenario_sha256, scenario_json, \
             model_path, model_sha256, capsim_version, seed, replications, started_at, \
             finished_at, saturated, status) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, 'complete')",
        params![
            run.id,
            sm.scenario,
            sc.path.as_ref().map(|p| p.display().to_string()),
            sm.scenario_sha256,
            scenario_json,
            crate::format::tidy_path(&sc.model.path),
            sc.model.sha256,
            sm.capsim_version,
            sm.seed.to_string(),
            sm.replications,
            run.started_at,
            run.finished_at,
            sm.saturated,
        ],
    )?;
    insert_replications(&tx, run.id, run.replications, |i| i as u32)?;
    {
        let judged = slos_by_row(sm, &sc.slos);
        let mut st = tx.prepare_cached(
            "INSERT INTO summaries (run_id, ord, metric, stat, labels, value, unit, ci_low, ci_high, slo_pass) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )?;
        for (i, (m, slos)) in sm.metrics.iter().zip(&judged).enumerate() {
            // NULL: no SLO judges it, or none fails and one has no data.
            let status = |k: usize| sm.slo.get(k).map(|v| v.status);
            let pass = if slos.iter().any(|&k| status(k) == Some(SloStatus::Fail)) {
                Some(false)
            } else if slos.is_empty() || slos.iter().any(|&k| status(k) != Some(SloStatus::Pass)) {
                None
            } else {
                Some(true)
            };
            st.execute(params![
                run.id,
                i as i64,
                m.name,
                m.stat,
                labels_json(&m.labels),
                m.value,
                m.unit,
                m.ci_low,
                m.ci_high,
                pass
            ])?;
        }
        let mut st = tx.prepare_cached(
            "INSERT INTO slos (run_id, ord, name, metric, stat, labels, bound, target, value, pass, status) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )?;
        for (i, (def, v)) in sc.slos.iter().zip(&sm.slo).enumerate() {
            st.execute(params![
                run.id,
                i as i64,
                v.name,
                def.metric,
                def.stat,
                labels_json(&def.labels),
                bound_str(def.bound),
                v.target,
                v.value,
                v.pass,
                v.status.as_str()
            ])?;
        }
    }
    if let Some(c) = run.cost {
        let notes = serde_json::to_string(&c.notes)
            .map_err(|e| rusqlite::Error::ToSqlConversionFailure(e.into()))?;
        tx.execute(
            "INSERT INTO costs (run_id, currency, total, users, per_user, hours_per_month, \
                 price_file, prices_date, notes) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                run.id,
                c.currency,
                c.total,
                c.users,
                c.per_user,
                c.hours_per_month,
                c.price_file,
                c.prices_date,
                notes
            ],
        )?;
        let mut st = tx.prepare_cached(
            "INSERT INTO cost_lines (run_id, ord, component, unit, count, per_unit_hour, monthly) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        for (i, l) in c.lines.iter().enumerate() {
            st.execute(params![
                run.id,
                i as i64,
                l.component,
                l.unit,
                l.count,
                l.per_unit_hour,
                l.monthly
            ])?;
        }
    }
    {
        let mut ser = tx.prepare_cached(
            "INSERT INTO series (run_id, metric, stat, labels, unit) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        let mut pt = tx.prepare_cached(
            "INSERT INTO points (series_id, bucket_start_s, value, ci_low, ci_high, n) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        for s in &run.series.series {
            ser.execute(params![
                run.id,
                s.name,
                s.stat,
                labels_json(&s.labels),
                s.unit
            ])?;
            let sid = tx.last_insert_rowid();
            for p in &s.points {
                pt.execute(params![
                    sid,
                    p.bucket_start_s,
                    p.value,
                    p.ci_low,
                    p.ci_high,
                    p.n
                ])?;
            }
        }
    }
    tx.commit()
}

/// The rows of `replications` and `replication_metrics` of a run: the
/// `i`-th replication of `reps` under index `index(i)` (its place in the
/// run, or in the whole sweep for a shard run).
fn insert_replications(
    tx: &rusqlite::Transaction,
    run_id: &str,
    reps: &crate::result::Replications,
    index: impl Fn(usize) -> u32,
) -> rusqlite::Result<()> {
    let mut rep = tx.prepare_cached(
        "INSERT INTO replications (run_id, replication, seed, saturated, events_processed, notes) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    let mut rm = tx.prepare_cached(
        "INSERT INTO replication_metrics (run_id, replication, ord, metric, stat, labels, value, unit) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for (i, r) in reps.reps.iter().enumerate() {
        let i = i64::from(index(i));
        let notes = serde_json::to_string(&r.notes)
            .map_err(|e| rusqlite::Error::ToSqlConversionFailure(e.into()))?;
        rep.execute(params![
            run_id,
            i,
            r.seed.to_string(),
            r.saturated,
            r.events_processed as i64,
            notes
        ])?;
        for (j, &(k, value)) in r.metrics.iter().enumerate() {
            let m = &reps.keys[k as usize];
            rm.execute(params![
                run_id,
                i,
                j as i64,
                m.name,
                m.stat,
                labels_json(&m.labels),
                value.is_finite().then_some(value),
                m.unit
            ])?;
        }
    }
    Ok(())
}

/// An SQLite URI for the file at `path` with `query` (e.g. `mode=ro`).
fn file_uri(path: &Path, query: &str) -> String {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut uri = String::from("file:");
    for c in abs.to_string_lossy().chars() {
        match c {
            '%' => uri.push_str("%25"),
            '?' => uri.push_str("%3f"),
            '#' => uri.push_str("%23"),
            c => uri.push(c),
        }
    }
    uri.push('?');
    uri.push_str(query);
    uri
}
