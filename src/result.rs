//! What a run produces, and the JSON summary contract.
//!
//! A [`RunResult`] is one replication. A [`Summary`] aggregates replications
//! (means with 95% Student-t intervals) and checks the scenario's SLOs; its
//! JSON form is the contract that scripts and later commands rely on:
//!
//! ```json
//! {"capsim_version", "scenario", "scenario_sha256", "seed", "replications", "saturated",
//!  "metrics": [{"name", "stat", "labels": {..}, "value", "ci_low", "ci_high", "unit"}],
//!  "slo": [{"name", "target", "value", "pass", "status"}]}
//! ```
//!
//! A statistic with no sample in any replication (a dashboard latency in a
//! run without dashboards) has `value: null`, and an SLO on it the status
//! `no_data` with `pass: null`: never a pass.

use crate::engine::metrics::{Labels, Metric, TimeSeries};
use crate::scenario::{Bound, Scenario, Slo};
use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, StudentsT};
use std::collections::BTreeMap;

/// Something that happened at a point in time, drawn on plots (replica loss, scale event).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Mark {
    pub t_s: f64,
    pub kind: String,
    pub label: String,
}

/// The result of one replication.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    pub scenario: String,
    pub seed: u64,
    /// A resource was at or over capacity: queues grow without bound.
    pub saturated: bool,
    /// Why it is saturated, and other warnings.
    pub notes: Vec<String>,
    pub metrics: Vec<Metric>,
    pub series: TimeSeries,
    pub marks: Vec<Mark>,
    pub events_processed: u64,
}

impl RunResult {
    pub fn metric(&self, name: &str, stat: &str) -> Option<f64> {
        self.metrics
            .iter()
            .find(|m| m.name == name && m.stat == stat)
            .map(|m| m.value)
    }
}

/// One statistic in the summary (mean across replications and its 95% interval).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SummaryMetric {
    pub name: String,
    pub stat: String,
    pub labels: Labels,
    pub value: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    pub unit: String,
}

/// The three states of an SLO verdict: the target is met, it is missed, or
/// the run has no value to judge (`no_data` in JSON, CSV and the store): a
/// statistic without samples (a dashboard latency in a run without
/// dashboards) is never a pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SloStatus {
    Pass,
    Fail,
    /// The statistic has no sample in the run: nothing to judge.
    NoData,
}

impl SloStatus {
    /// The verdict on `value` (`None`: no data).
    pub fn of(slo: &Slo, value: Option<f64>) -> SloStatus {
        match value {
            None => SloStatus::NoData,
            Some(_) if slo.is_met(value) => SloStatus::Pass,
            Some(_) => SloStatus::Fail,
        }
    }

    /// `pass` as the JSON contract has it: `null` without data.
    pub fn pass(self) -> Option<bool> {
        match self {
            SloStatus::Pass => Some(true),
            SloStatus::Fail => Some(false),
            SloStatus::NoData => None,
        }
    }

    /// The status as JSON, CSV and the run store spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            SloStatus::Pass => "pass",
            SloStatus::Fail => "fail",
            SloStatus::NoData => "no_data",
        }
    }

    /// The inverse of [`SloStatus::as_str`].
    pub fn parse(s: &str) -> Option<SloStatus> {
        [SloStatus::Pass, SloStatus::Fail, SloStatus::NoData]
            .into_iter()
            .find(|x| x.as_str() == s)
    }

    /// The word the tables print: `pass`, `FAIL` or `no data`.
    pub fn word(self) -> &'static str {
        match self {
            SloStatus::Pass => "pass",
            SloStatus::Fail => "FAIL",
            SloStatus::NoData => "no data",
        }
    }
}

/// An SLO checked against the summary.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SloVerdict {
    pub name: String,
    pub target: f64,
    pub value: Option<f64>,
    /// `true`/`false`, or `null` when the statistic has no data.
    pub pass: Option<bool>,
    pub status: SloStatus,
}

impl SloVerdict {
    pub fn passed(&self) -> bool {
        self.status == SloStatus::Pass
    }
}

/// The JSON summary contract.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub capsim_version: String,
    pub scenario: String,
    pub scenario_sha256: String,
    pub seed: u64,
    pub replications: u32,
    pub saturated: bool,
    pub metrics: Vec<SummaryMetric>,
    pub slo: Vec<SloVerdict>,
}

/// Mean of `xs` (NaN when empty).
pub fn mean(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        f64::NAN
    } else {
        xs.iter().sum::<f64>() / xs.len() as f64
    }
}

/// Mean and 95% Student-t interval of `xs` (no interval for fewer than 2 values).
pub fn mean_ci95(xs: &[f64]) -> (f64, Option<(f64, f64)>) {
    let n = xs.len();
    let mean = mean(xs);
    if n < 2 {
        return (mean, None);
    }
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let t = t975(n - 1);
    let h = t * (var / n as f64).sqrt();
    (mean, Some((mean - h, mean + h)))
}

/// The mean and 95% Student-t interval of `n` values folded one at a time
/// (see [`report::series::SeriesFold`](crate::report::series::SeriesFold)):
/// their sum (added in order, from -0.0 as [`Iterator::sum`] does, so the
/// mean is bit for bit that of [`mean_ci95`]) and the sum of squared
/// deviations `m2` (Welford's update; the interval may differ from the
/// two-pass one of [`mean_ci95`] in its last bits).
pub fn mean_ci95_folded(n: u32, sum: f64, m2: f64) -> (f64, Option<(f64, f64)>) {
    let mean = sum / f64::from(n);
    if n < 2 {
        return (mean, None);
    }
    let var = m2.max(0.0) / f64::from(n - 1);
    let h = t975(n as usize - 1) * (var / f64::from(n)).sqrt();
    (mean, Some((mean - h, mean + h)))
}

/// The 0.975 quantile of Student's t with `df` degrees of freedom, computed
/// once per `df` and thread (time series ask for it once per bucket).
pub fn t975(df: usize) -> f64 {
    thread_local! {
        static CACHE: std::cell::RefCell<Vec<f64>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() <= df {
            c.resize(df + 1, f64::NAN);
        }
        if c[df].is_nan() {
            c[df] = StudentsT::new(0.0, 1.0, df as f64)
                .expect("df >= 1")
                .inverse_cdf(0.975);
        }
        c[df]
    })
}

/// The distinct notes of some replications, sorted (each replication
/// repeats the notes they share).
pub fn distinct_notes<'a>(notes: impl IntoIterator<Item = &'a String>) -> Vec<String> {
    let mut v: Vec<String> = notes.into_iter().cloned().collect();
    v.sort();
    v.dedup();
    v
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

/// What is kept of one replication once its time series are folded into
/// the aggregate: its scalar metrics (as indices into
/// [`Replications::keys`]), notes and marks. The store keeps each
/// replication's metrics; the reports draw their marks.
#[derive(Clone, Debug, PartialEq)]
pub struct Replication {
    pub seed: u64,
    pub saturated: bool,
    pub notes: Vec<String>,
    pub marks: Vec<Mark>,
    pub events_processed: u64,
    /// (index into [`Replications::keys`], value), in the order the
    /// replication has them.
    pub metrics: Vec<(u32, f64)>,
}

/// The name, statistic, labels and unit of a scalar metric.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricKey {
    pub name: String,
    pub stat: String,
    pub labels: Labels,
    pub unit: String,
}

/// The scalar side of the replications of one scenario, folded one
/// replication at a time (in replication order): a few numbers and words
/// per replication (its metrics, notes and marks), never its time series.
///
/// Metrics are matched across replications by (name, statistic, labels), in
/// first-seen order, not by position: a replica an autoscaler added in one
/// replication adds metrics to that run only.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Replications {
    /// Every metric key, in first-seen order.
    pub keys: Vec<MetricKey>,
    index: BTreeMap<(String, String, Labels), u32>,
    /// The replications, in the order they were added.
    pub reps: Vec<Replication>,
}

impl Replications {
    /// Fold `runs` (in replication order).
    pub fn of<'a>(runs: impl IntoIterator<Item = &'a RunResult>) -> Replications {
        let mut r = Replications::default();
        for run in runs {
            r.add(run);
        }
        r
    }

    /// Add the next replication (its series are not looked at).
    pub fn add(&mut self, run: &RunResult) {
        let metrics = run
            .metrics
            .iter()
            .map(|m| (self.key_index(m), m.value))
            .collect();
        self.reps.push(Replication {
            seed: run.seed,
            saturated: run.saturated,
            notes: run.notes.clone(),
            marks: run.marks.clone(),
            events_processed: run.events_processed,
            metrics,
        });
    }

    fn key_index(&mut self, m: &Metric) -> u32 {
        let key = (m.name.clone(), m.stat.clone(), m.labels.clone());
        if let Some(&i) = self.index.get(&key) {
            return i;
        }
        let i = self.keys.len() as u32;
        self.index.insert(key, i);
        self.keys.push(MetricKey {
            name: m.name.clone(),
            stat: m.stat.clone(),
            labels: m.labels.clone(),
            unit: m.unit.clone(),
        });
        i
    }

    pub fn len(&self) -> usize {
        self.reps.len()
    }
    pub fn is_empty(&self) -> bool {
        self.reps.is_empty()
    }
    /// Some replication is saturated.
    pub fn saturated(&self) -> bool {
        self.reps.iter().any(|r| r.saturated)
    }
    /// The replications' notes, deduplicated and sorted.
    pub fn notes(&self) -> Vec<String> {
        distinct_notes(self.reps.iter().flat_map(|r| &r.notes))
    }
    /// Each replication's marks, in replication order.
    pub fn marks(&self) -> impl Iterator<Item = &[Mark]> {
        self.reps.iter().map(|r| &r.marks[..])
    }
    /// The finite values of each metric key, in replication order.
    fn finite_values(&self) -> Vec<Vec<f64>> {
        let mut xs = vec![Vec::new(); self.keys.len()];
        for r in &self.reps {
            for &(k, v) in &r.metrics {
                if v.is_finite() {
                    xs[k as usize].push(v);
                }
            }
        }
        xs
    }
}

impl Summary {
    /// Aggregate replications of one scenario (in replication order).
    ///
    /// Each metric is averaged over the replications that have a value for
    /// it (a statistic without samples in a replication, NaN, is left out;
    /// with none anywhere it is `null`); see [`Replications`].
    pub fn from_runs(scenario: &Scenario, seed: u64, runs: &[RunResult]) -> Summary {
        Summary::of(scenario, seed, &Replications::of(runs))
    }

    /// [`Summary::from_runs`] of replications folded already.
    pub fn of(scenario: &Scenario, seed: u64, reps: &Replications) -> Summary {
        assert!(!reps.is_empty(), "at least one replication");
        let metrics: Vec<SummaryMetric> = reps
            .keys
            .iter()
            .zip(reps.finite_values())
            .map(|(m, xs)| {
                let (mean, ci) = mean_ci95(&xs);
                SummaryMetric {
                    name: m.name.clone(),
                    stat: m.stat.clone(),
                    labels: m.labels.clone(),
                    value: finite(mean),
                    ci_low: ci.and_then(|c| finite(c.0)),
                    ci_high: ci.and_then(|c| finite(c.1)),
                    unit: m.unit.clone(),
                }
            })
            .collect();
        let slo = scenario.slos.iter().map(|s| verdict(s, &metrics)).collect();
        Summary {
            capsim_version: env!("CARGO_PKG_VERSION").to_string(),
            scenario: scenario.name.clone(),
            scenario_sha256: scenario.sha256.clone(),
            seed,
            replications: reps.len() as u32,
            saturated: reps.saturated(),
            metrics,
            slo,
        }
    }

    pub fn get(&self, name: &str, stat: &str) -> Option<&SummaryMetric> {
        self.metrics
            .iter()
            .find(|m| m.name == name && m.stat == stat)
    }
    pub fn value(&self, name: &str, stat: &str) -> Option<f64> {
        self.get(name, stat).and_then(|m| m.value)
    }
    /// SLOs per status: (pass, fail, no data).
    pub fn slo_counts(&self) -> (usize, usize, usize) {
        let n = |st: SloStatus| self.slo.iter().filter(|v| v.status == st).count();
        (n(SloStatus::Pass), n(SloStatus::Fail), n(SloStatus::NoData))
    }
}

/// Find the summary metric an SLO refers to: name, stat and every SLO label.
pub fn find_for_slo<'a>(slo: &Slo, metrics: &'a [SummaryMetric]) -> Option<&'a SummaryMetric> {
    metrics
        .iter()
        .find(|m| slo.matches(&m.name, &m.stat, &m.labels))
}

fn verdict(slo: &Slo, metrics: &[SummaryMetric]) -> SloVerdict {
    let value = find_for_slo(slo, metrics).and_then(|m| m.value);
    let status = SloStatus::of(slo, value);
    SloVerdict {
        name: slo.name.clone(),
        target: slo.target,
        value,
        pass: status.pass(),
        status,
    }
}

// ----- SLO judgements over replications (compare, size, sensitivity) -----

/// Mean and 95% interval of one statistic across replications.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Estimate {
    pub mean: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    /// Replications with a value.
    pub n: usize,
}

impl Estimate {
    /// The paired difference `b - a` over replications where both have a value.
    pub fn paired(a: &[Option<f64>], b: &[Option<f64>]) -> Estimate {
        let d: Vec<f64> = b
            .iter()
            .zip(a)
            .filter_map(|(b, a)| Some((*b)? - (*a)?))
            .collect();
        Estimate::of(&d)
    }
    pub fn of(xs: &[f64]) -> Estimate {
        let (mean, ci) = mean_ci95(xs);
        let f = |x: f64| x.is_finite().then_some(x);
        Estimate {
            mean: f(mean),
            ci_low: ci.and_then(|c| f(c.0)),
            ci_high: ci.and_then(|c| f(c.1)),
            n: xs.len(),
        }
    }
    /// The interval excludes 0 (`None` without an interval).
    pub fn excludes_zero(&self) -> Option<bool> {
        match (self.ci_low, self.ci_high) {
            (Some(lo), Some(hi)) => Some(lo > 0.0 || hi < 0.0),
            _ => None,
        }
    }
}

/// An SLO judged on the replications: the mean and the one-sided 95% bound.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SloCheck {
    pub name: String,
    pub metric: String,
    pub stat: String,
    pub labels: Labels,
    #[serde(serialize_with = "ser_bound")]
    pub bound: Bound,
    pub target: f64,
    pub unit: String,
    pub mean: Option<f64>,
    /// The one-sided 95% bound on the mean in the SLO's direction: upper for
    /// "at most", lower for "at least" (the mean itself with one replication).
    pub bound95: Option<f64>,
    /// The mean meets the target (never without data).
    pub pass: bool,
    /// `pass`, `fail`, or `no_data` when no replication has a sample.
    pub status: SloStatus,
    /// The 95% bound meets the target.
    pub confident: bool,
    pub n: usize,
}

fn ser_bound<S: serde::Serializer>(b: &Bound, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(crate::format::bound_str(*b))
}

impl SloCheck {
    /// Room left before the target, as a share of the target, measured from
    /// the 95% bound (`None` when the target is 0 or there is no value).
    pub fn headroom(&self) -> Option<f64> {
        let b = self.bound95?;
        if self.target == 0.0 {
            return None;
        }
        Some(match self.bound {
            Bound::AtMost => (self.target - b) / self.target.abs(),
            Bound::AtLeast => (b - self.target) / self.target.abs(),
        })
    }
}

/// The one-sided 95% Student-t quantile for `n` values (`None` for n < 2).
pub fn t95_one_sided(n: usize) -> Option<f64> {
    (n >= 2).then(|| {
        StudentsT::new(0.0, 1.0, (n - 1) as f64)
            .expect("df >= 1")
            .inverse_cdf(0.95)
    })
}

/// The value of `slo`'s statistic in one replication.
pub fn slo_value(slo: &Slo, run: &RunResult) -> Option<(f64, String, Labels)> {
    run.metrics
        .iter()
        .find(|m| slo.matches(&m.name, &m.stat, &m.labels))
        .map(|m| (m.value, m.unit.clone(), m.labels.clone()))
}

/// Not saturated, and every SLO met by its one-sided 95% bound (with one
/// replication the bound is the value itself).
pub fn meets_confidently(saturated: bool, slos: &[SloCheck]) -> bool {
    !saturated && slos.iter().all(|s| s.confident)
}

/// Judge every SLO of `scenario` on `runs`.
pub fn check_slos(scenario: &Scenario, runs: &[RunResult]) -> Vec<SloCheck> {
    scenario
        .slos
        .iter()
        .map(|slo| {
            let mut unit = String::new();
            let mut labels = slo.labels.clone();
            let xs: Vec<f64> = runs
                .iter()
                .filter_map(|r| slo_value(slo, r))
                .filter_map(|(v, u, l)| {
                    unit = u;
                    labels = l;
                    v.is_finite().then_some(v)
                })
                .collect();
            judge(slo, labels, unit, &xs)
        })
        .collect()
}

/// Judge `slo` on one value per replication (`xs`, finite): the mean, its
/// one-sided 95% Student-t bound in the SLO's direction, and both verdicts.
pub fn judge(slo: &Slo, labels: Labels, unit: String, xs: &[f64]) -> SloCheck {
    let n = xs.len();
    let (mean, bound95) = if n == 0 {
        (None, None)
    } else {
        let mean = xs.iter().sum::<f64>() / n as f64;
        let b = match t95_one_sided(n) {
            None => mean,
            Some(t) => {
                let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
                let h = t * (var / n as f64).sqrt();
                match slo.bound {
                    Bound::AtMost => mean + h,
                    Bound::AtLeast => mean - h,
                }
            }
        };
        (Some(mean), Some(b))
    };
    SloCheck {
        name: slo.name.clone(),
        metric: slo.metric.clone(),
        stat: slo.stat.clone(),
        labels,
        bound: slo.bound,
        target: slo.target,
        unit,
        mean,
        bound95,
        pass: slo.is_met(mean),
        status: SloStatus::of(slo, mean),
        confident: slo.is_met(bound95),
        n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn student_t_interval() {
        let (m, ci) = mean_ci95(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(m, 2.5);
        let (lo, hi) = ci.unwrap();
        // t(0.975, 3) = 3.182446; sd = 1.290994; half-width = 2.054
        assert!((hi - lo - 2.0 * 2.054_275).abs() < 1e-3, "{lo} {hi}");
        assert!(mean_ci95(&[5.0]).1.is_none());
    }

    #[test]
    fn replications_are_matched_by_metric_not_position() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let sc = crate::scenario::load(&root.join("scenarios/build-queue/mmc.toml")).unwrap();
        let a = crate::simulate(&sc, 1);
        let mut b = crate::simulate(&sc, 2);
        // Replication b grew a metric that a has not (an autoscaled replica),
        // ahead of the others.
        b.metrics.insert(
            0,
            Metric {
                name: "extra".into(),
                stat: "mean".into(),
                labels: Labels::new(),
                value: 7.0,
                unit: "1".into(),
            },
        );
        let s = Summary::from_runs(&sc, 1, &[a.clone(), b.clone()]);
        for m in &a.metrics {
            let other = b
                .metrics
                .iter()
                .find(|x| (&x.name, &x.stat, &x.labels) == (&m.name, &m.stat, &m.labels))
                .unwrap();
            let got = s
                .metrics
                .iter()
                .find(|x| (&x.name, &x.stat, &x.labels) == (&m.name, &m.stat, &m.labels))
                .unwrap();
            let want = (m.value + other.value) / 2.0;
            assert!(
                got.value
                    .is_none_or(|v| (v - want).abs() <= 1e-9 * want.abs().max(1.0)),
                "{} {}: {:?} vs {want}",
                m.name,
                m.stat,
                got.value
            );
        }
        // The extra metric is averaged over the one replication that has it,
        // after the metrics of the first replication.
        assert_eq!(s.metrics.last().unwrap().name, "extra");
        assert_eq!(s.metrics.last().unwrap().value, Some(7.0));
        assert_eq!(s.metrics.len(), a.metrics.len() + 1);
    }
}
