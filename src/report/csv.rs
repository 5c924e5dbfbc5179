//! CSV outputs: `summary.csv`, `timeseries.csv` (long, tidy form) and
//! `batch-summary.csv`.
//!
//! The two files of a run describe themselves: every row starts with the
//! run (`run_id`, `scenario`, `seed`, `replications`), so files of many runs
//! can be concatenated and still be told apart, and each label key of the
//! metrics (`class`, `kind`, `replica`, `le`, ...) is a column of its own,
//! empty where a metric does not have it, so the files are tidy: one
//! observation per row, one variable per column. Time series rows say when
//! they are twice: `bucket_start_s` (seconds since t = 0) and the `day`
//! (1, 2, ...) and `time_of_day` (`HH:MM:SS`) of the bucket's start.
//!
//! Numbers are written in Rust's shortest round-trip form (`{:?}`: `0.25`,
//! `3937.0`, `1e-7`), so a value read back is bit-for-bit the value computed;
//! a missing value is an empty field.

use super::catalogue::KEY_METRICS;
use super::series::AggTimeSeries;
use crate::cost::MonthlyCost;
use crate::engine::metrics::Labels;
use crate::format::{bound_str, braced, day_and_time, exact, exact_opt};
use crate::result::{SloStatus, Summary};
use crate::scenario::Slo;
use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;

/// What every row of a run's CSV files says about the run.
#[derive(Clone, Copy, Debug)]
pub struct RunColumns<'a> {
    pub run_id: &'a str,
    pub scenario: &'a str,
    /// The master seed.
    pub seed: u64,
    pub replications: u32,
    /// Time of day at simulated t = 0, seconds since midnight.
    pub start_time_of_day_s: f64,
}

impl RunColumns<'_> {
    fn cells(&self) -> [String; 4] {
        [
            self.run_id.to_string(),
            self.scenario.to_string(),
            self.seed.to_string(),
            self.replications.to_string(),
        ]
    }
}

/// The columns of `summary.csv` before the label columns.
pub const SUMMARY_HEAD: [&str; 6] = [
    "run_id",
    "scenario",
    "seed",
    "replications",
    "metric",
    "stat",
];
/// The columns of `summary.csv` after the label columns.
pub const SUMMARY_TAIL: [&str; 7] = [
    "value",
    "ci_low",
    "ci_high",
    "unit",
    "slo",
    "slo_bound",
    "slo_target",
];
/// The columns of `timeseries.csv` before the label columns.
pub const TIMESERIES_HEAD: [&str; 9] = [
    "run_id",
    "scenario",
    "seed",
    "replications",
    "bucket_start_s",
    "day",
    "time_of_day",
    "metric",
    "stat",
];
/// The columns of `timeseries.csv` after the label columns.
pub const TIMESERIES_TAIL: [&str; 5] = ["value", "ci_low", "ci_high", "n", "unit"];

/// The metric under which `summary.csv` lists the monthly cost: stat
/// `total` (the whole, and per `component`) and `per_user`.
pub const MONTHLY_COST: &str = "monthly_cost";

/// The label columns for `labels`: every key once, sorted; a key that is
/// also a fixed column's name is prefixed `label_`.
fn label_columns<'a>(
    labels: impl Iterator<Item = &'a Labels>,
    fixed: &[&str],
) -> (Vec<String>, Vec<String>) {
    let keys: BTreeSet<&String> = labels.flat_map(|l| l.keys()).collect();
    let keys: Vec<String> = keys.into_iter().cloned().collect();
    let names = keys
        .iter()
        .map(|k| {
            if fixed.contains(&k.as_str()) {
                format!("label_{k}")
            } else {
                k.clone()
            }
        })
        .collect();
    (keys, names)
}

fn label_cells(keys: &[String], labels: &Labels) -> Vec<String> {
    keys.iter()
        .map(|k| labels.get(k).cloned().unwrap_or_default())
        .collect()
}

fn header(head: &[&str], labels: &[String], tail: &[&str]) -> Vec<String> {
    head.iter()
        .map(|s| s.to_string())
        .chain(labels.iter().cloned())
        .chain(tail.iter().map(|s| s.to_string()))
        .collect()
}

/// The monthly cost as labelled statistics: (stat, labels, value, unit).
fn cost_rows(c: &MonthlyCost) -> Vec<(&'static str, Labels, f64, String)> {
    let unit = format!("{}/month", c.currency);
    let mut rows = vec![("total", Labels::new(), c.total, unit.clone())];
    for l in &c.lines {
        let labels: Labels = [("component".to_string(), l.component.clone())].into();
        rows.push(("total", labels, l.monthly, unit.clone()));
    }
    if let Some(p) = c.per_user {
        rows.push((
            "per_user",
            Labels::new(),
            p,
            format!("{}/user/month", c.currency),
        ));
    }
    rows
}

/// `summary.csv`: one row per summary statistic, with the verdict of any SLO
/// on it (`pass` / `fail` / `no_data`, empty when there is none), then the
/// monthly cost (metric [`MONTHLY_COST`]) when there is one. `slos` are the
/// scenario's SLO definitions, in the order of `summary.slo`.
pub fn write_summary<W: Write>(
    out: W,
    run: &RunColumns,
    summary: &Summary,
    slos: &[Slo],
    cost: Option<&MonthlyCost>,
) -> csv::Result<()> {
    let costs = cost.map(cost_rows).unwrap_or_default();
    let fixed: Vec<&str> = SUMMARY_HEAD.iter().chain(&SUMMARY_TAIL).copied().collect();
    let (keys, names) = label_columns(
        summary
            .metrics
            .iter()
            .map(|m| &m.labels)
            .chain(costs.iter().map(|c| &c.1)),
        &fixed,
    );
    let mut w = csv::Writer::from_writer(out);
    w.write_record(
        header(&SUMMARY_HEAD, &names, &SUMMARY_TAIL)
            .iter()
            .map(|c| crate::format::csv_bytes(c.as_ref())),
    )?;
    let row_slos = super::slos_by_row(summary, slos);
    for (m, judged) in summary.metrics.iter().zip(&row_slos) {
        let join = |f: &dyn Fn(usize) -> String| -> String {
            judged.iter().map(|&i| f(i)).collect::<Vec<_>>().join(";")
        };
        let verdict = join(&|i| {
            summary
                .slo
                .get(i)
                .map_or(SloStatus::NoData, |v| v.status)
                .as_str()
                .to_string()
        });
        let mut rec: Vec<String> = run.cells().into();
        rec.extend([m.name.clone(), m.stat.clone()]);
        rec.extend(label_cells(&keys, &m.labels));
        rec.extend([
            exact_opt(m.value),
            exact_opt(m.ci_low),
            exact_opt(m.ci_high),
            m.unit.clone(),
            verdict,
            join(&|i| bound_str(slos[i].bound).to_string()),
            join(&|i| exact(slos[i].target)),
        ]);
        w.write_record(rec.iter().map(|c| crate::format::csv_bytes(c.as_ref())))?;
    }
    for (stat, labels, value, unit) in &costs {
        let mut rec: Vec<String> = run.cells().into();
        rec.extend([MONTHLY_COST.to_string(), stat.to_string()]);
        rec.extend(label_cells(&keys, labels));
        rec.extend([exact(*value), String::new(), String::new(), unit.clone()]);
        rec.extend([String::new(), String::new(), String::new()]);
        w.write_record(rec.iter().map(|c| crate::format::csv_bytes(c.as_ref())))?;
    }
    w.flush()?;
    Ok(())
}

/// `timeseries.csv`: one row per series and bucket with a value.
pub fn write_timeseries<W: Write>(out: W, run: &RunColumns, ts: &AggTimeSeries) -> csv::Result<()> {
    let fixed: Vec<&str> = TIMESERIES_HEAD
        .iter()
        .chain(&TIMESERIES_TAIL)
        .copied()
        .collect();
    let (keys, names) = label_columns(ts.series.iter().map(|s| &s.labels), &fixed);
    let mut w = csv::Writer::from_writer(out);
    w.write_record(
        header(&TIMESERIES_HEAD, &names, &TIMESERIES_TAIL)
            .iter()
            .map(|c| crate::format::csv_bytes(c.as_ref())),
    )?;
    let head = run.cells();
    for s in &ts.series {
        let labels = label_cells(&keys, &s.labels);
        for p in &s.points {
            let (day, tod) = day_and_time(run.start_time_of_day_s + p.bucket_start_s);
            let mut rec: Vec<&str> = head.iter().map(String::as_str).collect();
            let start = exact(p.bucket_start_s);
            let day = day.to_string();
            let (value, lo, hi, n) = (
                exact(p.value),
                exact_opt(p.ci_low),
                exact_opt(p.ci_high),
                p.n.to_string(),
            );
            rec.extend([start.as_str(), &day, &tod, &s.name, &s.stat]);
            rec.extend(labels.iter().map(String::as_str));
            rec.extend([value.as_str(), &lo, &hi, &n, &s.unit]);
            w.write_record(rec.iter().map(|c| crate::format::csv_bytes(c)))?;
        }
    }
    w.flush()?;
    Ok(())
}

/// Write `summary.csv` and `timeseries.csv` into `dir`.
pub fn write_pair(
    dir: &Path,
    run: &RunColumns,
    summary: &Summary,
    slos: &[Slo],
    cost: Option<&MonthlyCost>,
    ts: &AggTimeSeries,
) -> anyhow::Result<()> {
    use anyhow::Context;
    let open = |name: &str| {
        let p = dir.join(name);
        std::fs::File::create(&p)
            .map(std::io::BufWriter::new)
            .with_context(|| format!("cannot write {}", p.display()))
    };
    write_summary(open("summary.csv")?, run, summary, slos, cost)?;
    write_timeseries(open("timeseries.csv")?, run, ts)?;
    Ok(())
}

/// One row of `batch-summary.csv`.
#[derive(Clone, Debug, Default)]
pub struct BatchRow {
    pub file: String,
    pub scenario: String,
    /// `ok`, `invalid` (failed validation) or `error` (failed while running).
    pub status: String,
    pub error: String,
    pub summary: Option<Summary>,
}

/// A column of `batch-summary.csv` holding one summary statistic.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct MetricCol {
    name: String,
    stat: String,
    labels: Labels,
    unit: String,
}

/// `batch-summary.csv`: one row per scenario (in the order given), the key
/// metrics ([`KEY_METRICS`]) that any scenario has as columns, then one
/// column per SLO name (pass / fail, empty where a scenario has no such SLO).
pub fn write_batch_summary<W: Write>(out: W, rows: &[BatchRow]) -> csv::Result<()> {
    let mut cols: Vec<MetricCol> = Vec::new();
    for (name, stats) in KEY_METRICS {
        for stat in *stats {
            let mut found: Vec<MetricCol> = rows
                .iter()
                .filter_map(|r| r.summary.as_ref())
                .flat_map(|s| &s.metrics)
                .filter(|m| m.name == *name && m.stat == *stat)
                .map(|m| MetricCol {
                    name: m.name.clone(),
                    stat: m.stat.clone(),
                    labels: m.labels.clone(),
                    unit: m.unit.clone(),
                })
                .collect();
            found.sort();
            found.dedup();
            cols.extend(found);
        }
    }
    let mut slo_names: Vec<String> = Vec::new();
    for s in rows.iter().filter_map(|r| r.summary.as_ref()) {
        for v in &s.slo {
            if !slo_names.contains(&v.name) {
                slo_names.push(v.name.clone());
            }
        }
    }
    let mut w = csv::Writer::from_writer(out);
    let mut header: Vec<String> = [
        "file",
        "scenario",
        "status",
        "error",
        "seed",
        "replications",
        "saturated",
        "slo_passed",
        "slo_total",
    ]
    .map(String::from)
    .to_vec();
    header.extend(
        cols.iter()
            .map(|c| format!("{}{} {} ({})", c.name, braced(&c.labels), c.stat, c.unit)),
    );
    header.extend(slo_names.iter().map(|n| format!("slo: {n}")));
    w.write_record(header.iter().map(|c| crate::format::csv_bytes(c.as_ref())))?;
    for r in rows {
        let mut rec: Vec<String> = vec![
            r.file.clone(),
            r.scenario.clone(),
            r.status.clone(),
            r.error.clone(),
        ];
        match &r.summary {
            Some(s) => {
                rec.push(s.seed.to_string());
                rec.push(s.replications.to_string());
                rec.push(s.saturated.to_string());
                rec.push(s.slo_counts().0.to_string());
                rec.push(s.slo.len().to_string());
                for c in &cols {
                    let v = s
                        .metrics
                        .iter()
                        .find(|m| m.name == c.name && m.stat == c.stat && m.labels == c.labels)
                        .and_then(|m| m.value);
                    rec.push(exact_opt(v));
                }
                for n in &slo_names {
                    rec.push(match s.slo.iter().find(|v| &v.name == n) {
                        Some(v) => v.status.as_str().into(),
                        None => String::new(),
                    });
                }
            }
            None => rec.resize(header.len(), String::new()),
        }
        w.write_record(rec.iter().map(|c| crate::format::csv_bytes(c.as_ref())))?;
    }
    w.flush()?;
    Ok(())
}
