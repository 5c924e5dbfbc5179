//! The run store's schema and its migrations.
//!
//! `PRAGMA user_version` holds the schema version and `PRAGMA application_id`
//! marks the file as a capsim store. Opening a store applies every migration
//! from its version up to [`VERSION`] in one transaction, so an older database
//! is upgraded in place (and either fully or not at all).
//!
//! History:
//! - v1: `runs`, a flat `timeseries` table (no confidence interval) and
//!   `summaries` without their order or the SLO definitions.
//! - v2: adds the replications and their per-replication metrics, the SLOs,
//!   the statistics' order; time series are split into `series` and `points`
//!   (each series' name, labels and unit once, not once per bucket), with a
//!   `timeseries` view that keeps the flat, tidy shape for queries.
//! - v3: the monthly cost of a run (`costs`: total, per user, currency and
//!   price file; `cost_lines`: one row per component), and SLO verdicts in
//!   three states (`slos.status` is `pass`, `fail` or `no_data`; `pass` is
//!   NULL when there is no data).
//! - v4: shards of a sweep (`--shard K/N`): `runs.sweep` names the sweep a
//!   run is a share of (NULL for a whole run) and `runs.shard` its `K/N`; a
//!   shard run has `status = 'shard'`, its replications under their index in
//!   the whole sweep, and each replication's full result
//!   (`replication_results`, so `--from` can redo the analysis), but no
//!   summary, SLO verdicts or series of its own.
//! - v5: studies (`capsim sensitivity`, `capsim run --uncertainty N`):
//!   `runs.kind` says what a run is (`run`, `sensitivity`, `uncertainty`);
//!   a study's plan, answer and tidy table (`studies`), its factors and
//!   their ranges (`study_factors`), and each of its simulations reduced to
//!   the values it judges (`study_tasks`), so that `--from` can redo the
//!   analysis from a merged store of its shards.
//! - v6: shards of `capsim size` (`runs.kind = 'size'`, with a `studies`
//!   row whose plan holds the options that decide the simulations): the
//!   candidates each shard evaluated (`size_tasks`) and every simulation
//!   they ran (`simulations`), keyed by what was simulated (a hash of the
//!   scenario and the seed), so that `size --from` reads each one the
//!   search asks for instead of running it.

/// `PRAGMA application_id` of a capsim store ("caps" in ASCII).
pub const APPLICATION_ID: i32 = 0x6361_7073;

/// Migrations: `MIGRATIONS[i]` upgrades version `i` to `i + 1`; an empty
/// database (version 0) gets all of them, so every new store is built by the
/// same steps that upgrade an old one.
pub const MIGRATIONS: [&str; 6] = [V0_TO_V1, V1_TO_V2, V2_TO_V3, V3_TO_V4, V4_TO_V5, V5_TO_V6];

/// The schema version this capsim writes.
pub const VERSION: i32 = MIGRATIONS.len() as i32;

const V0_TO_V1: &str = r#"
CREATE TABLE runs (
    id              TEXT PRIMARY KEY,
    scenario        TEXT NOT NULL,
    scenario_sha256 TEXT NOT NULL,
    scenario_json   TEXT NOT NULL,
    model_sha256    TEXT NOT NULL,
    capsim_version  TEXT NOT NULL,
    seed            TEXT NOT NULL,
    replications    INTEGER NOT NULL,
    started_at      TEXT NOT NULL,
    status          TEXT NOT NULL
);
CREATE TABLE timeseries (
    run_id         TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    bucket_start_s REAL NOT NULL,
    metric         TEXT NOT NULL,
    stat           TEXT NOT NULL,
    labels         TEXT NOT NULL,
    value          REAL,
    unit           TEXT NOT NULL
);
CREATE INDEX timeseries_run ON timeseries(run_id);
CREATE TABLE summaries (
    run_id   TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    metric   TEXT NOT NULL,
    stat     TEXT NOT NULL,
    labels   TEXT NOT NULL,
    value    REAL,
    unit     TEXT NOT NULL,
    ci_low   REAL,
    ci_high  REAL,
    slo_pass INTEGER
);
"#;

const V1_TO_V2: &str = r#"
ALTER TABLE runs ADD COLUMN scenario_path TEXT;
ALTER TABLE runs ADD COLUMN model_path TEXT;
ALTER TABLE runs ADD COLUMN finished_at TEXT;
ALTER TABLE runs ADD COLUMN saturated INTEGER NOT NULL DEFAULT 0;
CREATE INDEX runs_scenario ON runs(scenario, started_at);

CREATE TABLE replications (
    run_id           TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    replication      INTEGER NOT NULL,
    seed             TEXT NOT NULL,
    saturated        INTEGER NOT NULL,
    events_processed INTEGER NOT NULL,
    notes            TEXT NOT NULL,
    PRIMARY KEY (run_id, replication)
) WITHOUT ROWID;

CREATE TABLE replication_metrics (
    run_id      TEXT NOT NULL,
    replication INTEGER NOT NULL,
    ord         INTEGER NOT NULL,
    metric      TEXT NOT NULL,
    stat        TEXT NOT NULL,
    labels      TEXT NOT NULL,
    value       REAL,
    unit        TEXT NOT NULL,
    PRIMARY KEY (run_id, replication, ord),
    FOREIGN KEY (run_id, replication) REFERENCES replications(run_id, replication) ON DELETE CASCADE
) WITHOUT ROWID;

CREATE TABLE slos (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    ord    INTEGER NOT NULL,
    name   TEXT NOT NULL,
    metric TEXT NOT NULL,
    stat   TEXT NOT NULL,
    labels TEXT NOT NULL,
    bound  TEXT NOT NULL CHECK (bound IN ('max', 'min')),
    target REAL NOT NULL,
    value  REAL,
    pass   INTEGER NOT NULL,
    PRIMARY KEY (run_id, ord)
) WITHOUT ROWID;

-- v1 summaries had no order: number them as they were inserted.
CREATE TABLE summaries_v2 (
    run_id   TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    ord      INTEGER NOT NULL,
    metric   TEXT NOT NULL,
    stat     TEXT NOT NULL,
    labels   TEXT NOT NULL,
    value    REAL,
    unit     TEXT NOT NULL,
    ci_low   REAL,
    ci_high  REAL,
    slo_pass INTEGER,
    PRIMARY KEY (run_id, ord)
) WITHOUT ROWID;
INSERT INTO summaries_v2
    SELECT run_id, ROW_NUMBER() OVER (PARTITION BY run_id ORDER BY rowid) - 1,
           metric, stat, labels, value, unit, ci_low, ci_high, slo_pass
    FROM summaries;
DROP TABLE summaries;
ALTER TABLE summaries_v2 RENAME TO summaries;

-- v1 time series: one row per bucket with the series' name repeated, the
-- mean only, and NULL for empty buckets (now skipped).
CREATE TABLE series (
    id     INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    metric TEXT NOT NULL,
    stat   TEXT NOT NULL,
    labels TEXT NOT NULL,
    unit   TEXT NOT NULL,
    UNIQUE (run_id, metric, stat, labels)
);
INSERT INTO series (run_id, metric, stat, labels, unit)
    SELECT run_id, metric, stat, labels, MIN(unit)
    FROM timeseries GROUP BY run_id, metric, stat, labels
    ORDER BY MIN(rowid);
CREATE TABLE points (
    series_id      INTEGER NOT NULL REFERENCES series(id) ON DELETE CASCADE,
    bucket_start_s REAL NOT NULL,
    value          REAL NOT NULL,
    ci_low         REAL,
    ci_high        REAL,
    n              INTEGER NOT NULL,
    PRIMARY KEY (series_id, bucket_start_s)
) WITHOUT ROWID;
INSERT INTO points (series_id, bucket_start_s, value, ci_low, ci_high, n)
    SELECT s.id, t.bucket_start_s, t.value, NULL, NULL, r.replications
    FROM timeseries t
    JOIN series s ON s.run_id = t.run_id AND s.metric = t.metric
                 AND s.stat = t.stat AND s.labels = t.labels
    JOIN runs r ON r.id = t.run_id
    WHERE t.value IS NOT NULL;
DROP TABLE timeseries;
CREATE VIEW timeseries AS
    SELECT s.run_id, p.bucket_start_s, s.metric, s.stat, s.labels,
           p.value, p.ci_low, p.ci_high, p.n, s.unit
    FROM series s JOIN points p ON p.series_id = s.id;
"#;

const V2_TO_V3: &str = r#"
CREATE TABLE costs (
    run_id          TEXT PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
    currency        TEXT NOT NULL,
    total           REAL NOT NULL,
    users           INTEGER,
    per_user        REAL,
    hours_per_month REAL NOT NULL,
    price_file      TEXT NOT NULL,
    prices_date     TEXT NOT NULL,
    notes           TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE cost_lines (
    run_id        TEXT NOT NULL REFERENCES costs(run_id) ON DELETE CASCADE,
    ord           INTEGER NOT NULL,
    component     TEXT NOT NULL,
    unit          TEXT NOT NULL,
    count         REAL NOT NULL,
    per_unit_hour REAL NOT NULL,
    monthly       REAL NOT NULL,
    PRIMARY KEY (run_id, ord)
) WITHOUT ROWID;

-- SLO verdicts gain a status; `pass` may be NULL (no data).
CREATE TABLE slos_v3 (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    ord    INTEGER NOT NULL,
    name   TEXT NOT NULL,
    metric TEXT NOT NULL,
    stat   TEXT NOT NULL,
    labels TEXT NOT NULL,
    bound  TEXT NOT NULL CHECK (bound IN ('max', 'min')),
    target REAL NOT NULL,
    value  REAL,
    pass   INTEGER,
    status TEXT NOT NULL CHECK (status IN ('pass', 'fail', 'no_data')),
    PRIMARY KEY (run_id, ord)
) WITHOUT ROWID;
INSERT INTO slos_v3
    SELECT run_id, ord, name, metric, stat, labels, bound, target, value, pass,
           CASE WHEN pass THEN 'pass' ELSE 'fail' END
    FROM slos;
DROP TABLE slos;
ALTER TABLE slos_v3 RENAME TO slos;
"#;

const V3_TO_V4: &str = r#"
ALTER TABLE runs ADD COLUMN sweep TEXT;
ALTER TABLE runs ADD COLUMN shard TEXT;
CREATE INDEX runs_sweep ON runs(sweep, scenario) WHERE sweep IS NOT NULL;

-- One replication's whole result (metrics, time series, marks, notes),
-- encoded as `format` says; kept for shard runs. Large rows: a rowid table.
CREATE TABLE replication_results (
    run_id      TEXT NOT NULL,
    replication INTEGER NOT NULL,
    format      TEXT NOT NULL,
    body        BLOB NOT NULL,
    UNIQUE (run_id, replication),
    FOREIGN KEY (run_id, replication) REFERENCES replications(run_id, replication) ON DELETE CASCADE
);
"#;

const V4_TO_V5: &str = r#"
ALTER TABLE runs ADD COLUMN kind TEXT NOT NULL DEFAULT 'run'
    CHECK (kind IN ('run', 'sensitivity', 'uncertainty'));

-- A study: its plan (JSON: factors, variants, seeds, Morris trajectories or
-- parameter sets), and for a finished study (not a shard) its answer in
-- words (`answer`: sensitivity.md, or the uncertainty table) and its tidy
-- table (`table_csv`: sensitivity.csv or uncertainty.csv). An uncertainty
-- study names the plain run it widens (`of_run`; NULL when not stored).
CREATE TABLE studies (
    run_id    TEXT PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
    of_run    TEXT,
    plan      TEXT NOT NULL,
    answer    TEXT,
    table_csv TEXT
) WITHOUT ROWID;

-- The factors a study varies (model parameters or scenario keys) and the
-- ends of their ranges, as given.
CREATE TABLE study_factors (
    run_id TEXT NOT NULL REFERENCES studies(run_id) ON DELETE CASCADE,
    ord    INTEGER NOT NULL,
    name   TEXT NOT NULL,
    unit   TEXT NOT NULL,
    source TEXT NOT NULL,
    value  REAL,
    lo     TEXT NOT NULL,
    hi     TEXT NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (run_id, ord)
) WITHOUT ROWID;

-- One simulation of a study: variant (or parameter set) and replication,
-- its seed, and the value of each judged statistic (`result_values`: a
-- JSON array in the study's target order, null where there is none;
-- `units` likewise).
CREATE TABLE study_tasks (
    run_id        TEXT NOT NULL REFERENCES studies(run_id) ON DELETE CASCADE,
    variant       INTEGER NOT NULL,
    replication   INTEGER NOT NULL,
    seed          TEXT NOT NULL,
    saturated     INTEGER NOT NULL,
    result_values TEXT NOT NULL,
    units         TEXT NOT NULL,
    PRIMARY KEY (run_id, variant, replication)
) WITHOUT ROWID;
"#;

const V5_TO_V6: &str = r#"
-- `runs.kind` gains 'size'. SQLite cannot alter a CHECK constraint, and
-- rebuilding `runs` would cascade its deletes (foreign keys are on): the
-- constraint's text is widened in place, which SQLite documents as safe
-- for a change that leaves every stored row valid
-- (sqlite.org/lang_altertable.html, "other kinds of table schema changes").
PRAGMA writable_schema = ON;
UPDATE sqlite_master
   SET sql = replace(sql, '''uncertainty'')', '''uncertainty'', ''size'')')
 WHERE type = 'table' AND name = 'runs';
PRAGMA writable_schema = RESET;

-- A candidate of a `size` shard: its index in the sweep's list of
-- candidates (every architecture of the grid, for every --growth user
-- count), in words, and the simulations its evaluation ran.
CREATE TABLE size_tasks (
    run_id      TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    task        INTEGER NOT NULL,
    label       TEXT NOT NULL,
    simulations INTEGER NOT NULL,
    PRIMARY KEY (run_id, task)
) WITHOUT ROWID;

-- One simulation, by what was simulated: `key` is the SHA-256 of the
-- scenario as simulated (JSON, file paths left out) and the seed, so a
-- reader finds it whatever process ran it; `body` its result as `format`
-- says (time series dropped but the API request rate). Large rows: a rowid
-- table.
CREATE TABLE simulations (
    run_id    TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    key       TEXT NOT NULL,
    seed      TEXT NOT NULL,
    saturated INTEGER NOT NULL,
    format    TEXT NOT NULL,
    body      BLOB NOT NULL,
    UNIQUE (run_id, key)
);
CREATE INDEX simulations_key ON simulations(key);
"#;
