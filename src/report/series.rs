//! Time series aggregated across replications: per bucket, the mean of the
//! replications' values and its 95% Student-t interval.
//!
//! Series are matched across replications by (metric, statistic, labels), not
//! by position, so a series that exists in only some replications (a replica
//! added by an autoscaler in one of them) is aggregated over those that have
//! it. Buckets where no replication has a finite value (a latency histogram
//! bucket without samples is `NaN`) are skipped: a point is only written where
//! there is something to say.

use crate::engine::metrics::{Labels, Series};
use crate::result::{RunResult, mean_ci95};
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

type Key = (String, String, Labels);

fn key(s: &Series) -> Key {
    (s.name.clone(), s.stat.clone(), s.labels.clone())
}

/// Aggregate the time series of `runs` (replications of one scenario, in
/// replication order). The result depends only on the runs, not on the order
/// in which they finished.
pub fn aggregate(runs: &[RunResult]) -> AggTimeSeries {
    aggregate_with(runs, |s| s.values.clone())
}

/// Like [`aggregate`], but each replication's series is first transformed by
/// `f` (for example into a cumulative sum), so that the interval is the
/// interval of the transformed quantity.
pub fn aggregate_with(runs: &[RunResult], f: impl Fn(&Series) -> Vec<f64>) -> AggTimeSeries {
    let Some(first) = runs.first() else {
        return AggTimeSeries::default();
    };
    let start_s = first.series.start_s;
    let bucket_s = first.series.bucket_s;
    // First-seen order of series keys, and the replications' values per key.
    let mut order: Vec<Key> = Vec::new();
    let mut values: BTreeMap<Key, (String, Vec<Vec<f64>>)> = BTreeMap::new();
    for r in runs {
        for s in &r.series.series {
            let k = key(s);
            let e = values.entry(k.clone()).or_insert_with(|| {
                order.push(k);
                (s.unit.clone(), Vec::new())
            });
            e.1.push(f(s));
        }
    }
    let series = order
        .into_iter()
        .map(|k| {
            let (unit, reps) = values.remove(&k).expect("every key was inserted");
            let n_buckets = reps.iter().map(Vec::len).max().unwrap_or(0);
            let mut xs = Vec::with_capacity(reps.len());
            let points = (0..n_buckets)
                .filter_map(|b| {
                    xs.clear();
                    xs.extend(
                        reps.iter()
                            .filter_map(|v| v.get(b).copied())
                            .filter(|x| x.is_finite()),
                    );
                    if xs.is_empty() {
                        return None;
                    }
                    let (mean, ci) = mean_ci95(&xs);
                    let ci = ci.filter(|(lo, hi)| lo.is_finite() && hi.is_finite());
                    Some(AggPoint {
                        bucket_start_s: start_s + b as f64 * bucket_s,
                        value: mean,
                        ci_low: ci.map(|c| c.0),
                        ci_high: ci.map(|c| c.1),
                        n: xs.len() as u32,
                    })
                })
                .collect();
            AggSeries {
                name: k.0,
                stat: k.1,
                labels: k.2,
                unit,
                points,
            }
        })
        .collect();
    AggTimeSeries { bucket_s, series }
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
    fn cumulative_counts() {
        assert_eq!(cumulative(&[1.0, f64::NAN, 2.0]), vec![1.0, 1.0, 3.0]);
    }
}
