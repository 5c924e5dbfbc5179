//! Comparing architectures on the same workload and seeds, costing them,
//! and searching for the cheapest one that meets the SLOs.
//!
//! - this module: running architectures on common random numbers and the
//!   paired statistics of `capsim compare`;
//! - [`output`]: the text table, `compare.md`, `compare.csv`, `compare.json`
//!   and the overlaid plots;
//! - [`size`]: `capsim size`, the search for the cheapest architecture, and
//!   [`size_report`] what it prints and writes.
//!
//! Common random numbers: replication `r` of every architecture runs on
//! [`replication_seed`]`(seed, r)`, and every random stream is keyed by
//! component and entity name (see `engine::rng`), so user arrivals, sessions
//! and build times are the same in every architecture. A difference between
//! two architectures is then computed per replication, and its interval comes
//! from the spread of those paired differences, which is much narrower than
//! the difference of two independent intervals.

pub mod output;
pub mod policy;
pub mod sequential;
pub mod size;
pub mod size_report;
pub mod uncertainty;

// The SLO judgements and the value parser moved below `compare` so that
// `sensitivity` need not use it; re-exported for compare's callers.
pub use crate::result::{
    Estimate, SloCheck, check_slos, judge, meets_confidently, slo_value, t95_one_sided,
};
pub use crate::scenario::load::parse_value;

use crate::cost::{self, MonthlyCost, PriceList};
use crate::engine::metrics::{Labels, Series, TimeSeries};
use crate::report::catalogue::{COMPARE_EXTRA_METRICS, KEY_METRICS, SUM_OVER_KINDS};
use crate::report::series::{AggSeries, aggregate};
use crate::result::{RunResult, SloStatus, Summary};
use crate::scenario::{Scenario, Slo};
use rayon::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// Replications `capsim compare` and `capsim size` run unless told otherwise.
pub const DEFAULT_REPLICATIONS: u32 = 5;

/// One `--vary KEY=V1,V2,...`: a dotted scenario field and its values.
#[derive(Clone, Debug, PartialEq)]
pub struct Vary {
    pub key: String,
    pub values: Vec<toml::Value>,
}

/// Parse `deployment.coderd.replicas=2,3,4`.
pub fn parse_vary(spec: &str) -> Result<Vary, String> {
    let (key, values) = spec.split_once('=').ok_or_else(|| {
        format!("--vary {spec}: expected KEY=V1,V2,... such as deployment.coderd.replicas=2,3,4")
    })?;
    let key = key.trim();
    if key.is_empty() || key.split('.').any(str::is_empty) {
        return Err(format!("--vary {spec}: bad field path `{key}`"));
    }
    let values: Vec<toml::Value> = values
        .split(',')
        .filter(|v| !v.trim().is_empty())
        .map(parse_value)
        .collect();
    if values.is_empty() {
        return Err(format!("--vary {spec}: give at least one value"));
    }
    Ok(Vary {
        key: key.to_string(),
        values,
    })
}

/// Parse `KEY=VALUE` (one value).
pub fn parse_set(spec: &str) -> Result<(String, toml::Value), String> {
    let (k, v) = spec
        .split_once('=')
        .ok_or_else(|| format!("--set {spec}: expected KEY=VALUE such as duration=4h"))?;
    if k.trim().is_empty() {
        return Err(format!("--set {spec}: empty field path"));
    }
    Ok((k.trim().to_string(), parse_value(v)))
}

/// Shortest dotted suffixes that tell `keys` apart (`replicas`,
/// `coderd.vcpu` next to `database.vcpu`).
fn short_keys(keys: &[&str]) -> Vec<String> {
    let parts: Vec<Vec<&str>> = keys.iter().map(|k| k.split('.').collect()).collect();
    (0..keys.len())
        .map(|i| {
            let n = parts[i].len();
            (1..=n)
                .map(|take| parts[i][n - take..].join("."))
                .find(|cand| {
                    (0..keys.len()).all(|j| {
                        j == i || {
                            let m = parts[j].len();
                            m < cand.split('.').count()
                                || parts[j][m - cand.split('.').count()..].join(".") != *cand
                        }
                    })
                })
                .unwrap_or_else(|| keys[i].to_string())
        })
        .collect()
}

fn show_value(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        v => v.to_string(),
    }
}

/// Every combination of the `--vary` values (the first `--vary` varies
/// slowest), each with its name such as `replicas=3 vcpu=8`.
pub fn vary_grid(varies: &[Vary]) -> Vec<(String, Vec<(String, toml::Value)>)> {
    let keys: Vec<&str> = varies.iter().map(|v| v.key.as_str()).collect();
    let short = short_keys(&keys);
    let mut grid: Vec<Vec<(String, toml::Value)>> = vec![Vec::new()];
    for v in varies {
        grid = grid
            .into_iter()
            .flat_map(|prefix| {
                v.values.iter().map(move |x| {
                    let mut p = prefix.clone();
                    p.push((v.key.clone(), x.clone()));
                    p
                })
            })
            .collect();
    }
    grid.into_iter()
        .map(|ov| {
            let name = ov
                .iter()
                .zip(&short)
                .map(|((_, v), k)| format!("{k}={}", show_value(v)))
                .collect::<Vec<_>>()
                .join(" ");
            (name, ov)
        })
        .collect()
}

/// An architecture to compare: a name and a loaded scenario.
#[derive(Clone, Debug)]
pub struct Arch {
    pub name: String,
    pub scenario: Scenario,
    pub prices: Option<PriceList>,
}

/// Names of architectures: scenario names, made unique with `-2`, `-3`.
pub fn unique_names(names: Vec<String>) -> Vec<String> {
    let mut seen: std::collections::BTreeMap<String, u32> = Default::default();
    names
        .into_iter()
        .map(|n| {
            let k = seen.entry(n.clone()).or_insert(0);
            *k += 1;
            if *k == 1 { n } else { format!("{n}-{k}") }
        })
        .collect()
}

/// An architecture after its replications.
#[derive(Clone, Debug)]
pub struct ArchResult {
    pub name: String,
    pub scenario: Scenario,
    /// In replication order, with only the time series a comparison reads
    /// ([`run_archs`]).
    pub runs: Vec<RunResult>,
    pub summary: Summary,
    pub slos: Vec<SloCheck>,
    pub cost: Option<MonthlyCost>,
    /// Why the cost could not be computed.
    pub cost_error: Option<String>,
    /// The replications' notes, deduplicated.
    pub notes: Vec<String>,
    /// What breaks Coder's deployment guidance (`[sizing]`): the
    /// architecture's own bounds and the CPU ceilings missed on its runs
    /// (empty when it keeps to it, or with `--policy none`).
    pub policy: Vec<String>,
}

impl ArchResult {
    /// Every SLO passes (on the mean).
    pub fn meets_slos(&self) -> bool {
        !self.summary.saturated && self.slos.iter().all(|s| s.pass)
    }
    /// Every SLO passes with 95% confidence (one-sided bound).
    pub fn meets_slos_confidently(&self) -> bool {
        meets_confidently(self.summary.saturated, &self.slos)
    }
}

/// One statistic for one architecture, and its paired difference from the first.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Cell {
    pub value: Estimate,
    /// This architecture minus the first, per replication (`None` for the first).
    pub diff: Option<Estimate>,
    /// The difference's interval excludes 0.
    pub significant: Option<bool>,
    /// The value in each replication (`None` where it has none).
    #[serde(skip)]
    pub per_replication: Vec<Option<f64>>,
}

/// A row of the side-by-side table.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Row {
    pub metric: String,
    pub stat: String,
    /// `replica=all` is the mean (max for `max`/`peak`, sum for `total`) over
    /// replicas; `kind=all` the sum over kinds.
    pub labels: Labels,
    pub unit: String,
    /// One per architecture, in order.
    pub cells: Vec<Cell>,
}

/// Run `archs` on the same seeds: replication `r` of each uses
/// `replication_seed(seed, r)`. All (architecture, replication) pairs run in
/// parallel on the current rayon pool; results do not depend on the threads.
pub fn run_archs(archs: &[Arch], seed: u64, replications: u32) -> Vec<Vec<RunResult>> {
    archs
        .par_iter()
        .map(|a| {
            crate::model::replications_map(&a.scenario, seed, replications, |mut run| {
                run.series.series.retain(|s| drawn(&s.name));
                run
            })
        })
        .collect()
}

/// The time series a comparison reads: its figures' lines
/// ([`COMPARE_FIGURES`](crate::report::catalogue::COMPARE_FIGURES)) and the
/// dropped connections its zoom windows are ranked by. The others are
/// dropped from each replication as it finishes (its scalar metrics stay),
/// so what a comparison holds per replication is a few series, not all.
fn drawn(metric: &str) -> bool {
    metric == crate::model::metric_names::CONNECTIONS_DROPPED_TOTAL
        || crate::report::catalogue::COMPARE_FIGURES
            .iter()
            .flat_map(|f| f.panels)
            .flat_map(|p| p.lines)
            .any(|l| l.metric == metric)
}

/// A comparison of architectures.
#[derive(Clone, Debug)]
pub struct Comparison {
    /// Short hash of the inputs (scenarios, overrides, seed, replications, prices).
    pub id: String,
    pub seed: u64,
    pub replications: u32,
    pub archs: Vec<ArchResult>,
    pub rows: Vec<Row>,
    /// Differences between the architectures' workloads, model or timing.
    pub warnings: Vec<String>,
    /// Coder's deployment guidance is applied (`--policy coder`).
    pub policy_applied: bool,
    /// The model-uncertainty study (`--uncertainty N`).
    pub uncertainty: Option<uncertainty::CompareStudy>,
}

/// Deterministic id of a comparison.
pub fn comparison_id(archs: &[Arch], seed: u64, replications: u32) -> String {
    let mut h = Sha256::new();
    h.update(b"capsim-compare-v1\0");
    for a in archs {
        h.update(a.name.as_bytes());
        h.update([0]);
        h.update(a.scenario.sha256.as_bytes());
        h.update([0]);
        if let Some(p) = &a.prices {
            h.update(serde_json::to_string(p).unwrap_or_default().as_bytes());
        }
        h.update([0]);
    }
    h.update(seed.to_le_bytes());
    h.update(replications.to_le_bytes());
    crate::scenario::load::hex(&h.finalize()[..6])
}

/// How per-label values are folded into one `label=all` value.
fn fold(stat: &str, xs: &[f64]) -> Option<f64> {
    let xs: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
    if xs.is_empty() {
        return None;
    }
    Some(match stat {
        "total" | "count" => xs.iter().sum(),
        "max" | "peak" => xs.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        _ => xs.iter().sum::<f64>() / xs.len() as f64,
    })
}

/// The value of a row's statistic in one replication.
fn row_value(run: &RunResult, metric: &str, stat: &str, labels: &Labels) -> Option<f64> {
    let folded: Vec<&String> = labels
        .iter()
        .filter(|(_, v)| v.as_str() == "all")
        .map(|(k, _)| k)
        .collect();
    if folded.is_empty() {
        return run
            .metrics
            .iter()
            .find(|m| m.name == metric && m.stat == stat && m.labels == *labels)
            .map(|m| m.value)
            .filter(|v| v.is_finite());
    }
    let xs: Vec<f64> = run
        .metrics
        .iter()
        .filter(|m| {
            m.name == metric
                && m.stat == stat
                && labels.iter().all(|(k, v)| {
                    if v == "all" {
                        m.labels.contains_key(k)
                    } else {
                        m.labels.get(k) == Some(v)
                    }
                })
                && m.labels.len() == labels.len()
        })
        .map(|m| m.value)
        .collect();
    fold(stat, &xs)
}

/// The rows of the table: [`KEY_METRICS`] and [`COMPARE_EXTRA_METRICS`], then the statistics the SLOs
/// judge, each label set any architecture has (per-replica labels folded).
fn row_keys(
    archs: &[(String, Vec<RunResult>)],
    slos: &[Slo],
) -> Vec<(String, String, Labels, String)> {
    let mut wanted: Vec<(String, String)> = KEY_METRICS
        .iter()
        .chain(COMPARE_EXTRA_METRICS)
        .flat_map(|(m, stats)| stats.iter().map(move |s| (m.to_string(), s.to_string())))
        .collect();
    for s in slos {
        let k = (s.metric.clone(), s.stat.clone());
        if !wanted.contains(&k) {
            wanted.push(k);
        }
    }
    let mut keys: Vec<(String, String, Labels, String)> = Vec::new();
    for (metric, stat) in wanted {
        for (_, runs) in archs {
            let Some(first) = runs.first() else { continue };
            for m in first
                .metrics
                .iter()
                .filter(|m| m.name == metric && m.stat == stat)
            {
                let mut labels = m.labels.clone();
                if let Some(v) = labels.get_mut("replica") {
                    *v = "all".into();
                }
                let mut push = |labels: Labels| {
                    if !keys
                        .iter()
                        .any(|k| k.0 == metric && k.1 == stat && k.2 == labels)
                    {
                        keys.push((metric.clone(), stat.clone(), labels, m.unit.clone()));
                    }
                };
                if SUM_OVER_KINDS.contains(&metric.as_str()) && labels.contains_key("kind") {
                    let mut all = labels.clone();
                    all.insert("kind".into(), "all".into());
                    push(all);
                }
                push(labels);
            }
        }
    }
    keys
}

/// Side-by-side rows with paired differences against the first architecture.
pub fn rows(archs: &[(String, Vec<RunResult>)], slos: &[Slo]) -> Vec<Row> {
    row_keys(archs, slos)
        .into_iter()
        .map(|(metric, stat, labels, unit)| {
            let per_arch: Vec<Vec<Option<f64>>> = archs
                .iter()
                .map(|(_, runs)| {
                    runs.iter()
                        .map(|r| row_value(r, &metric, &stat, &labels))
                        .collect()
                })
                .collect();
            let cells = per_arch
                .iter()
                .enumerate()
                .map(|(i, xs)| {
                    let vals: Vec<f64> = xs.iter().flatten().copied().collect();
                    let value = Estimate::of(&vals);
                    let diff = (i > 0).then(|| Estimate::paired(&per_arch[0], xs));
                    let significant = diff.as_ref().and_then(Estimate::excludes_zero);
                    Cell {
                        value,
                        diff,
                        significant,
                        per_replication: xs.clone(),
                    }
                })
                .collect();
            Row {
                metric,
                stat,
                labels,
                unit,
                cells,
            }
        })
        .collect()
}

/// What differs between two scenarios apart from the deployment (workload,
/// timing, model, events).
fn differences(a: &Scenario, b: &Scenario) -> Vec<&'static str> {
    fn json<T: Serialize>(v: &T) -> String {
        serde_json::to_string(v).unwrap_or_default()
    }
    let mut out = Vec::new();
    if json(&a.workload) != json(&b.workload) {
        out.push("workload");
    }
    if (a.duration, a.warmup, a.bucket, a.start_time_of_day)
        != (b.duration, b.warmup, b.bucket, b.start_time_of_day)
    {
        out.push("duration, warm-up, bucket or start time");
    }
    if a.model.sha256 != b.model.sha256 {
        out.push("model parameters");
    }
    if a.events != b.events {
        out.push("scheduled events");
    }
    out
}

/// Run and compare `archs` (the first is the reference).
pub fn compare(archs: Vec<Arch>, seed: u64, replications: u32) -> Comparison {
    let id = comparison_id(&archs, seed, replications);
    let runs = run_archs(&archs, seed, replications);
    let mut warnings = Vec::new();
    if let Some(first) = archs.first() {
        for a in &archs[1..] {
            let d = differences(&first.scenario, &a.scenario);
            if !d.is_empty() {
                warnings.push(format!(
                    "{} differs from {} in its {}: the comparison is not of architectures alone",
                    a.name,
                    first.name,
                    d.join(", ")
                ));
            }
        }
    }
    let named: Vec<(String, Vec<RunResult>)> = archs
        .iter()
        .zip(runs)
        .map(|(a, r)| (a.name.clone(), r))
        .collect();
    let slos: Vec<Slo> = archs
        .first()
        .map(|a| a.scenario.slos.clone())
        .unwrap_or_default();
    let rows = rows(&named, &slos);
    let results = archs
        .into_iter()
        .zip(named)
        .map(|(a, (_, runs))| {
            let summary = Summary::from_runs(&a.scenario, seed, &runs);
            let slos = check_slos(&a.scenario, &runs);
            let (cost, cost_error) = match &a.prices {
                None => (None, None),
                Some(p) => match cost::monthly_cost(&a.scenario, p, Some(&summary)) {
                    Ok(c) => (Some(c), None),
                    Err(e) => (None, Some(e)),
                },
            };
            let notes = crate::result::distinct_notes(runs.iter().flat_map(|r| &r.notes));
            let p = &a.scenario.sizing;
            let mut policy = policy::violations(&a.scenario, p);
            policy.extend(
                policy::cpu_checks(&a.scenario, p, &runs)
                    .iter()
                    .filter(|c| !c.confident)
                    .map(miss),
            );
            ArchResult {
                name: a.name,
                scenario: a.scenario,
                runs,
                summary,
                slos,
                cost,
                cost_error,
                notes,
                policy,
            }
        })
        .collect();
    Comparison {
        id,
        seed,
        replications,
        archs: results,
        rows,
        warnings,
        policy_applied: true,
        uncertainty: None,
    }
}

impl Comparison {
    /// Drop Coder's deployment guidance (`--policy none`).
    pub fn without_policy(mut self) -> Comparison {
        for a in &mut self.archs {
            a.policy.clear();
        }
        self.policy_applied = false;
        self
    }
}

/// A missed check in words: `name (value > target)`, with enough digits
/// that value and target differ.
pub fn miss(s: &SloCheck) -> String {
    use crate::format::{fmt_distinct, miss_symbol};
    if s.status == SloStatus::NoData {
        return format!("{} (no data)", s.name);
    }
    let (v, t) = fmt_distinct(s.bound95, s.target, &s.unit);
    format!("{} ({v} {} {t})", s.name, miss_symbol(s.bound))
}

/// One aggregated series per architecture, derived from each replication by
/// `f` (a per-bucket vector; `None` when the replication lacks the data).
pub fn derived_series(
    runs: &[RunResult],
    name: &str,
    unit: &str,
    f: impl Fn(&RunResult) -> Option<Vec<f64>>,
) -> Option<AggSeries> {
    let pseudo: Vec<RunResult> = runs
        .iter()
        .filter_map(|r| {
            let values = f(r)?;
            Some(RunResult {
                scenario: r.scenario.clone(),
                seed: r.seed,
                saturated: r.saturated,
                notes: Vec::new(),
                metrics: Vec::new(),
                series: TimeSeries {
                    start_s: r.series.start_s,
                    bucket_s: r.series.bucket_s,
                    series: vec![Series {
                        name: name.into(),
                        stat: "derived".into(),
                        labels: Labels::new(),
                        unit: unit.into(),
                        values,
                    }],
                },
                marks: Vec::new(),
                events_processed: 0,
            })
        })
        .collect();
    aggregate(&pseudo).series.into_iter().next()
}

/// Per bucket, `fold_stat`-fold of the values of every series of `metric`
/// and `stat` that `keep` accepts (NaN where none has a value); `None` when
/// the replication has no such series.
pub fn fold_series(
    run: &RunResult,
    metric: &str,
    stat: &str,
    keep: impl Fn(&Labels) -> bool,
    fold_stat: &str,
) -> Option<Vec<f64>> {
    let ss: Vec<&Series> = run
        .series
        .series
        .iter()
        .filter(|s| s.name == metric && s.stat == stat && keep(&s.labels))
        .collect();
    let n = ss.iter().map(|s| s.values.len()).max()?;
    Some(
        (0..n)
            .map(|b| {
                let xs: Vec<f64> = ss.iter().filter_map(|s| s.values.get(b).copied()).collect();
                fold(fold_stat, &xs).unwrap_or(f64::NAN)
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vary_grid_names_and_order() {
        let a = parse_vary("deployment.coderd.replicas=2,3").unwrap();
        let b = parse_vary("deployment.coderd.vcpu=4,8.5").unwrap();
        let g = vary_grid(&[a, b]);
        let names: Vec<&str> = g.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "replicas=2 vcpu=4",
                "replicas=2 vcpu=8.5",
                "replicas=3 vcpu=4",
                "replicas=3 vcpu=8.5"
            ]
        );
        assert_eq!(g[1].1[1].1, toml::Value::Float(8.5));
        let c = parse_vary("deployment.database.vcpu=2").unwrap();
        let d = parse_vary("deployment.coderd.vcpu=4").unwrap();
        let g = vary_grid(&[c, d]);
        assert_eq!(g[0].0, "database.vcpu=2 coderd.vcpu=4");
        assert!(parse_vary("replicas").is_err());
        assert!(parse_vary("a..b=1").is_err());
        assert_eq!(parse_value("16GB"), toml::Value::String("16GB".into()));
    }

    #[test]
    fn folding_and_one_sided_quantile() {
        assert_eq!(fold("total", &[1.0, 2.0, f64::NAN]), Some(3.0));
        assert_eq!(fold("max", &[1.0, 2.0]), Some(2.0));
        assert_eq!(fold("mean", &[1.0, 2.0]), Some(1.5));
        assert_eq!(fold("mean", &[f64::NAN]), None);
        // t(0.95, 4) = 2.131847
        assert!((t95_one_sided(5).unwrap() - 2.131_847).abs() < 1e-5);
        assert!(t95_one_sided(1).is_none());
    }
}
