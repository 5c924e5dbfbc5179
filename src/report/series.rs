//! Time series aggregated across replications: per bucket, the mean of the
//! replications' values and its 95% Student-t interval.
//!
//! Series are matched across replications by (metric, statistic, labels), not
//! by position, so a series that exists in only some replications (a replica
//! added by an autoscaler in one of them) is aggregated over those that have
//! it. Buckets where no replication has a finite value (a latency histogram
//! bucket without samples is `NaN`) are skipped: a point is only written where
//! there is something to say.

use crate::engine::metrics::{Labels, Series, TimeSeries};
use crate::result::{RunResult, mean_ci95_folded};
use serde::Serialize;
use std::collections::BTreeMap;

/// One bucket of an aggregated series.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AggPoint {
    /// Start of the bucket, seconds since the start of the run (t = 0, not
    /// the end of the warm-up).
    pub bucket_start_s: f64,
    /// Mean across the replications that have a finite value in this bucket.
    pub value: f64,
    /// 95% Student-t interval of the mean (`None` with fewer than 2 values).
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    /// Number of replications that contributed.
    pub n: u32,
}

/// One statistic of one labelled metric, per bucket, across replications.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AggSeries {
    pub name: String,
    pub stat: String,
    pub labels: Labels,
    pub unit: String,
    pub points: Vec<AggPoint>,
}

/// The aggregated time series of a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct AggTimeSeries {
    /// Bucket length, seconds.
    pub bucket_s: f64,
    pub series: Vec<AggSeries>,
}

impl AggTimeSeries {
    /// Every series of `name` with statistic `stat`, in first-seen order.
    pub fn all(&self, name: &str, stat: &str) -> Vec<&AggSeries> {
        self.series
            .iter()
            .filter(|s| s.name == name && s.stat == stat)
            .collect()
    }
    pub fn has(&self, name: &str) -> bool {
        self.series.iter().any(|s| s.name == name)
    }
    /// Number of rows the tidy form has (one per series and bucket with a value).
    pub fn n_points(&self) -> usize {
        self.series.iter().map(|s| s.points.len()).sum()
    }
}

/// Time series of replications folded one at a time, in replication order:
/// per series and bucket, the number of finite values, their sum and the sum
/// of their squared deviations (Welford), so a replication's series can be
/// dropped as soon as it is added. The state is three numbers a bucket
/// whatever the number of replications; the mean is bit for bit the mean of
/// the values in replication order.
#[derive(Clone, Debug, Default)]
pub struct SeriesFold {
    /// Replications added.
    runs: u32,
    start_s: f64,
    bucket_s: f64,
    /// Series in first-seen order.
    series: Vec<FoldedSeries>,
    index: BTreeMap<(String, String, Labels), usize>,
}

#[derive(Clone, Debug)]
struct FoldedSeries {
    name: String,
    stat: String,
    labels: Labels,
    unit: String,
    /// Per bucket: finite values added, their sum, their squared deviations.
    n: Vec<u32>,
    sum: Vec<f64>,
    m2: Vec<f64>,
}

impl SeriesFold {
    /// Add the next replication's series.
    pub fn add(&mut self, ts: &TimeSeries) {
        self.begin(ts);
        for s in &ts.series {
            self.push(s, &s.values);
        }
    }

    /// Add the next replication's series, each transformed by `f` first (for
    /// example into a cumulative sum), so that the interval is the interval
    /// of the transformed quantity; `None` leaves a series out.
    pub fn add_with(&mut self, ts: &TimeSeries, f: impl Fn(&Series) -> Option<Vec<f64>>) {
        self.begin(ts);
        for s in &ts.series {
            if let Some(v) = f(s) {
                self.push(s, &v);
            }
        }
    }

    fn begin(&mut self, ts: &TimeSeries) {
        if self.runs == 0 {
            self.start_s = ts.start_s;
            self.bucket_s = ts.bucket_s;
        }
        self.runs += 1;
    }

    fn push(&mut self, s: &Series, values: &[f64]) {
        let i = match self
            .index
            .get(&(s.name.clone(), s.stat.clone(), s.labels.clone()))
        {
            Some(&i) => i,
            None => {
                self.index.insert(
                    (s.name.clone(), s.stat.clone(), s.labels.clone()),
                    self.series.len(),
                );
                self.series.push(FoldedSeries {
                    name: s.name.clone(),
                    stat: s.stat.clone(),
                    labels: s.labels.clone(),
                    unit: s.unit.clone(),
                    n: Vec::new(),
                    sum: Vec::new(),
                    m2: Vec::new(),
                });
                self.series.len() - 1
            }
        };
        let f = &mut self.series[i];
        if f.n.len() < values.len() {
            f.n.resize(values.len(), 0);
            f.sum.resize(values.len(), -0.0);
            f.m2.resize(values.len(), 0.0);
        }
        for (b, &x) in values.iter().enumerate() {
            if !x.is_finite() {
                continue;
            }
            let n = f.n[b];
            if n == 0 {
                f.sum[b] = x;
            } else {
                let before = f.sum[b] / f64::from(n);
                f.sum[b] += x;
                let after = f.sum[b] / f64::from(n + 1);
                f.m2[b] += (x - before) * (x - after);
            }
            f.n[b] = n + 1;
        }
    }

    /// The aggregate: per series and bucket with a finite value, the mean
    /// and its 95% Student-t interval.
    pub fn finish(self) -> AggTimeSeries {
        let (start_s, bucket_s) = (self.start_s, self.bucket_s);
        let series = self
            .series
            .into_iter()
            .map(|f| {
                let points = (0..f.n.len())
                    .filter(|&b| f.n[b] > 0)
                    .map(|b| {
                        let (mean, ci) = mean_ci95_folded(f.n[b], f.sum[b], f.m2[b]);
                        let ci = ci.filter(|(lo, hi)| lo.is_finite() && hi.is_finite());
                        AggPoint {
                            bucket_start_s: start_s + b as f64 * bucket_s,
                            value: mean,
                            ci_low: ci.map(|c| c.0),
                            ci_high: ci.map(|c| c.1),
                            n: f.n[b],
                        }
                    })
                    .collect();
                AggSeries {
                    name: f.name,
                    stat: f.stat,
                    labels: f.labels,
                    unit: f.unit,
                    points,
                }
            })
            .collect();
        AggTimeSeries { bucket_s, series }
    }
}

/// Aggregate the time series of `runs` (replications of one scenario, in
/// replication order): [`SeriesFold`] over them.
pub fn aggregate(runs: &[RunResult]) -> AggTimeSeries {
    let mut f = SeriesFold::default();
    for r in runs {
        f.add(&r.series);
    }
    f.finish()
}

/// Like [`aggregate`], but each replication's series is first transformed by
/// `f` (for example into a cumulative sum), so that the interval is the
/// interval of the transformed quantity.
pub fn aggregate_with(runs: &[RunResult], f: impl Fn(&Series) -> Vec<f64>) -> AggTimeSeries {
    let mut fold = SeriesFold::default();
    for r in runs {
        fold.add_with(&r.series, |s| Some(f(s)));
    }
    fold.finish()
}

/// Running sum, NaN counted as 0 (for cumulative counters).
pub fn cumulative(values: &[f64]) -> Vec<f64> {
    let mut acc = 0.0;
    values
        .iter()
        .map(|v| {
            if v.is_finite() {
                acc += v;
            }
            acc
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::metrics::{TimeSeries, labels};

    fn run(series: Vec<Series>) -> RunResult {
        RunResult {
            scenario: "t".into(),
            seed: 1,
            saturated: false,
            notes: vec![],
            metrics: vec![],
            series: TimeSeries {
                start_s: 60.0,
                bucket_s: 60.0,
                series,
            },
            marks: vec![],
            events_processed: 0,
        }
    }
    fn s(name: &str, replica: &str, values: Vec<f64>) -> Series {
        Series {
            name: name.into(),
            stat: "mean".into(),
            labels: labels([("replica", replica)]),
            unit: "1".into(),
            values,
        }
    }

    #[test]
    fn mean_and_interval_per_bucket_nan_skipped_series_matched_by_key() {
        let a = run(vec![
            s("x", "0", vec![1.0, f64::NAN, 5.0]),
            s("x", "1", vec![10.0, 10.0, 10.0]),
        ]);
        // Series in a different order, and one only this replication has.
        let b = run(vec![
            s("x", "1", vec![20.0, 30.0, 40.0]),
            s("x", "0", vec![3.0, f64::NAN, 7.0]),
            s("x", "2", vec![f64::NAN, 1.0, f64::NAN]),
        ]);
        let agg = aggregate(&[a, b]);
        let keys: Vec<&str> = agg
            .series
            .iter()
            .map(|s| s.labels["replica"].as_str())
            .collect();
        assert_eq!(keys, ["0", "1", "2"]);
        let r0 = &agg.series[0].points;
        assert_eq!(r0.len(), 2, "the all-NaN bucket is skipped");
        assert_eq!(r0[0].bucket_start_s, 60.0);
        assert_eq!(r0[0].value, 2.0);
        assert_eq!(r0[1].bucket_start_s, 180.0);
        assert_eq!(r0[1].value, 6.0);
        // t(0.975, 1) = 12.706; sd of {1, 3} = sqrt(2); half-width = 12.706 * 1 = 12.706
        assert!((r0[0].ci_high.unwrap() - 2.0 - 12.7062).abs() < 1e-3);
        let r2 = &agg.series[2].points;
        assert_eq!(r2.len(), 1);
        assert_eq!((r2[0].value, r2[0].n, r2[0].ci_low), (1.0, 1, None));
    }

    #[test]
    fn folded_mean_is_the_mean_bit_for_bit_and_the_interval_the_two_pass_one() {
        // A large mean with a small spread: a sum of squares would lose the
        // variance to cancellation, Welford's update does not.
        let xs: Vec<f64> = (0..37).map(|i| 1e6 + (f64::from(i) * 0.7).sin()).collect();
        let runs: Vec<RunResult> = xs
            .iter()
            .map(|&x| run(vec![s("x", "0", vec![x])]))
            .collect();
        let agg = aggregate(&runs);
        let p = &agg.series[0].points[0];
        let (mean, ci) = crate::result::mean_ci95(&xs);
        let (lo, hi) = ci.unwrap();
        assert_eq!(p.value.to_bits(), mean.to_bits());
        assert_eq!(p.n, 37);
        for (got, want) in [(p.ci_low.unwrap(), lo), (p.ci_high.unwrap(), hi)] {
            assert!((got - want).abs() <= 1e-9 * (hi - lo), "{got} vs {want}");
        }
    }

    #[test]
    fn cumulative_counts() {
        assert_eq!(cumulative(&[1.0, f64::NAN, 2.0]), vec![1.0, 1.0, 3.0]);
    }
}
