//! CSV outputs: `summary.csv`, `timeseries.csv` (long, tidy form) and
//! `batch-summary.csv`.
//!
//! Numbers are written in Rust's shortest round-trip form (`{:?}`: `0.25`,
//! `3937.0`, `1e-7`), so a value read back is bit-for-bit the value computed;
//! a missing value is an empty field. Labels are a JSON object (`{}` when a
//! metric has none), e.g. `{"class":"dashboard"}`.

use super::catalogue::KEY_METRICS;
use super::series::AggTimeSeries;
use crate::engine::metrics::Labels;
use crate::format::{bound_str, braced, exact, exact_opt, labels_json};
use crate::result::Summary;
use crate::scenario::Slo;
use std::io::Write;
use std::path::Path;

/// Header of `summary.csv`.
pub const SUMMARY_HEADER: [&str; 10] = [
    "metric",
    "stat",
    "labels",
    "value",
    "ci_low",
    "ci_high",
    "unit",
    "slo",
    "slo_bound",
    "slo_target",
];

/// Header of `timeseries.csv`.
pub const TIMESERIES_HEADER: [&str; 8] = [
    "bucket_start_s",
    "metric",
    "stat",
    "labels",
    "value",
    "ci_low",
    "ci_high",
    "unit",
];

/// `summary.csv`: one row per summary statistic, with the verdict of any SLO
/// on it (`pass` / `fail`, empty when there is none). `slos` are the
/// scenario's SLO definitions, in the order of `summary.slo`.
pub fn write_summary<W: Write>(out: W, summary: &Summary, slos: &[Slo]) -> csv::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(SUMMARY_HEADER)?;
    let row_slos = super::slos_by_row(summary, slos);
    for (m, judged) in summary.metrics.iter().zip(&row_slos) {
        let join = |f: &dyn Fn(usize) -> String| -> String {
            judged.iter().map(|&i| f(i)).collect::<Vec<_>>().join(";")
        };
        let verdict = join(&|i| {
            let pass = summary.slo.get(i).is_some_and(|v| v.pass);
            if pass { "pass" } else { "fail" }.to_string()
        });
        w.write_record([
            m.name.as_str(),
            &m.stat,
            &labels_json(&m.labels),
            &exact_opt(m.value),
            &exact_opt(m.ci_low),
            &exact_opt(m.ci_high),
            &m.unit,
            &verdict,
            &join(&|i| bound_str(slos[i].bound).to_string()),
            &join(&|i| exact(slos[i].target)),
        ])?;
    }
    w.flush()?;
    Ok(())
}

/// `timeseries.csv`: one row per series and bucket with a value.
pub fn write_timeseries<W: Write>(out: W, ts: &AggTimeSeries) -> csv::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(TIMESERIES_HEADER)?;
    for s in &ts.series {
        let labels = labels_json(&s.labels);
        for p in &s.points {
            w.write_record([
                exact(p.bucket_start_s).as_str(),
                &s.name,
                &s.stat,
                &labels,
                &exact(p.value),
                &exact_opt(p.ci_low),
                &exact_opt(p.ci_high),
                &s.unit,
            ])?;
        }
    }
    w.flush()?;
    Ok(())
}

/// Write `summary.csv` and `timeseries.csv` into `dir`.
pub fn write_pair(
    dir: &Path,
    summary: &Summary,
    slos: &[Slo],
    ts: &AggTimeSeries,
) -> anyhow::Result<()> {
    use anyhow::Context;
    let open = |name: &str| {
        let p = dir.join(name);
        std::fs::File::create(&p)
            .map(std::io::BufWriter::new)
            .with_context(|| format!("cannot write {}", p.display()))
    };
    write_summary(open("summary.csv")?, summary, slos)?;
    write_timeseries(open("timeseries.csv")?, ts)?;
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
    w.write_record(&header)?;
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
                rec.push(s.slo.iter().filter(|v| v.pass).count().to_string());
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
                        Some(v) if v.pass => "pass".into(),
                        Some(_) => "fail".into(),
                        None => String::new(),
                    });
                }
            }
            None => rec.resize(header.len(), String::new()),
        }
        w.write_record(&rec)?;
    }
    w.flush()?;
    Ok(())
}
