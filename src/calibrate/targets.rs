//! Calibration targets: measured figures a simulation must reproduce.
//!
//! A targets file is CSV with a header row. Lines starting with `#` are
//! comments. Columns (any order; unknown columns are an error):
//!
//! | column        | required | meaning |
//! |---------------|----------|---------|
//! | `scenario`    | yes      | scenario file that reproduces the measured situation, relative to the targets file |
//! | `metric`      | yes      | a capsim metric name (`coderd_cpu_cores`), or a ratio `a / b` of two |
//! | `labels`      | no       | labels the series must carry exactly, `k=v;k=v` (`class=agent`) |
//! | `stat`        | yes      | without `window`: a run statistic (`mean`, `p50`, `peak`, `max`, `p90`, `p95`, `p99`, `total`, `rate`); with `window`: how the buckets inside the window are reduced (`mean`, `p50`/`median`, `max`, `min`, or any `pNN`) |
//! | `bucket_stat` | no       | with `window`: which per-bucket series to reduce (default `mean`; `p95` etc. for latency histograms) |
//! | `window`      | no       | a time range of the run, `30m-40m`: only buckets wholly inside it count |
//! | `measured`    | one of   | the measured value, in `unit` |
//! | `low`, `high` | these    | a measured range (both bounds), in `unit`: the target is met inside it |
//! | `unit`        | no       | unit of the measured figures: `ms`, `s`, `percent`, `ratio`, `vCPU`, `1/s` (`req/s`, `ops/s`), `count`, `B`/`KB`/`MB`/`GB`; empty means the metric's own unit |
//! | `weight`      | no       | weight in the fit (default 1); `0` = compared and reported, not fitted |
//! | `tolerance`   | no       | relative error within which a point target is met (default 0.15) |
//! | `precision`   | no       | half-width, in `unit`, of the interval the measured figure stands for: what the parameter intervals of `calibrate` take as the figure's own imprecision (default: half a unit in the last significant digit of `measured` as written, trailing zeros of a whole number not significant, so `220` is 215-225 and `3.7` is 3.65-3.75; for a range, its half-width) |
//! | `source`      | no       | where the figure comes from |
//! | `notes`       | no       | how the figure was interpreted |
//!
//! The same format serves a user's own Prometheus exports: one row per
//! figure (for example the median over an hour of
//! `sum(rate(coderd_api_requests_processed_total[1m]))` is `metric =
//! api_requests_per_second`, `labels = class=total`, `stat = p50`, with the
//! window of that hour in the scenario that reproduces it).

use crate::result::RunResult;
use crate::scenario::units::{Quantity, parse_duration_s};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What a target asks of the simulated value (in the metric's own unit).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Goal {
    /// Within `tolerance` (relative) of this value.
    Value(f64),
    /// Inside `[low, high]`.
    Range(f64, f64),
}

impl Goal {
    /// The value the fit aims at: the point, or the middle of the range.
    pub fn aim(&self) -> f64 {
        match *self {
            Goal::Value(v) => v,
            Goal::Range(lo, hi) => (lo + hi) / 2.0,
        }
    }
}

/// One measured figure.
#[derive(Clone, Debug, PartialEq)]
pub struct Target {
    /// Line of the row in the targets file (1-based).
    pub line: usize,
    /// The scenario file as written and as resolved against the targets file.
    pub scenario: String,
    pub scenario_path: PathBuf,
    /// Metric name, and the denominator of a ratio.
    pub metric: String,
    pub per: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub stat: String,
    pub bucket_stat: String,
    /// Window of the run in seconds, `[from, to)`.
    pub window: Option<(f64, f64)>,
    pub window_text: String,
    /// In the metric's unit.
    pub goal: Goal,
    /// Unit of the measured figures as written, and the factor that turns it
    /// into the metric's unit (`ms` -> `s` is 0.001).
    pub unit: String,
    pub factor: f64,
    /// The metric unit the target's unit converts to (`None`: unchecked).
    pub metric_unit: Option<&'static str>,
    pub weight: f64,
    pub tolerance: f64,
    /// Half-width of the interval the measured figure stands for, in the
    /// metric's unit (the `precision` column, or the rounding of the figure
    /// as written; a range's half-width). See [`precision_of`].
    pub precision: f64,
    pub source: String,
    pub notes: String,
}

/// A targets-file error: file, line, column name and message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}:{line}: {}{message}", file.display(), column.as_ref().map(|c| format!("{c}: ")).unwrap_or_default())]
pub struct TargetsError {
    pub file: PathBuf,
    pub line: usize,
    pub column: Option<String>,
    pub message: String,
}

const COLUMNS: [&str; 15] = [
    "scenario",
    "metric",
    "labels",
    "stat",
    "bucket_stat",
    "window",
    "measured",
    "low",
    "high",
    "unit",
    "weight",
    "tolerance",
    "precision",
    "source",
    "notes",
];

/// Units a measured figure may be given in: (unit, metric unit, factor).
const UNITS: [(&str, &str, f64); 17] = [
    ("ms", "s", 1e-3),
    ("s", "s", 1.0),
    ("percent", "ratio", 0.01),
    ("%", "ratio", 0.01),
    ("ratio", "ratio", 1.0),
    ("vCPU", "vCPU", 1.0),
    ("1/s", "1/s", 1.0),
    ("req/s", "1/s", 1.0),
    ("ops/s", "1/s", 1.0),
    ("count", "1", 1.0),
    ("1", "1", 1.0),
    ("B", "B", 1.0),
    ("KB", "B", 1e3),
    ("MB", "B", 1e6),
    ("GB", "B", 1e9),
    ("GiB", "B", 1073741824.0),
    ("MiB", "B", 1048576.0),
];

/// Load and check a targets file.
pub fn load(path: &Path) -> Result<Vec<Target>, TargetsError> {
    let text = crate::scenario::source::read_input(path).map_err(|e| TargetsError {
        file: path.to_path_buf(),
        line: 0,
        column: None,
        message: format!("cannot read targets file: {e}"),
    })?;
    parse(path, &text)
}

/// Parse the text of a targets file (`path` locates scenarios and errors).
pub fn parse(path: &Path, text: &str) -> Result<Vec<Target>, TargetsError> {
    let err = |line: usize, column: Option<&str>, message: String| TargetsError {
        file: path.to_path_buf(),
        line,
        column: column.map(str::to_string),
        message,
    };
    let mut rdr = csv::ReaderBuilder::new()
        .comment(Some(b'#'))
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = rdr
        .headers()
        .map_err(|e| err(csv_line(&e), None, e.to_string()))?
        .clone();
    let header_line = text
        .lines()
        .position(|l| !l.trim_start().starts_with('#') && !l.trim().is_empty())
        .map_or(1, |i| i + 1);
    let mut col = BTreeMap::new();
    for (i, h) in headers.iter().enumerate() {
        if !COLUMNS.contains(&h) {
            return Err(err(
                header_line,
                Some(h),
                format!("unknown column; expected some of {}", COLUMNS.join(", ")),
            ));
        }
        if col.insert(h.to_string(), i).is_some() {
            return Err(err(header_line, Some(h), "column appears twice".into()));
        }
    }
    for need in ["scenario", "metric", "stat"] {
        if !col.contains_key(need) {
            return Err(err(
                header_line,
                Some(need),
                "required column is missing".into(),
            ));
        }
    }
    let base = path.parent().unwrap_or(Path::new("."));
    let mut out = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| err(csv_line(&e), None, e.to_string()))?;
        let line = rec.position().map_or(0, |p| p.line() as usize);
        let get = |c: &str| -> &str { col.get(c).and_then(|&i| rec.get(i)).unwrap_or("") };
        let e = |c: &str, m: String| err(line, Some(c), m);
        let required = |c: &str| -> Result<&str, TargetsError> {
            let v = get(c);
            if v.is_empty() {
                Err(e(c, "required".into()))
            } else {
                Ok(v)
            }
        };
        let number = |c: &str| -> Result<Option<f64>, TargetsError> {
            let v = get(c);
            if v.is_empty() {
                return Ok(None);
            }
            match v.parse::<f64>() {
                Ok(x) if x.is_finite() => Ok(Some(x)),
                _ => Err(e(c, format!("expected a number, found \"{v}\""))),
            }
        };
        let scenario = required("scenario")?.to_string();
        let (metric, per) = match required("metric")?.split_once('/') {
            Some((a, b)) => (a.trim().to_string(), Some(b.trim().to_string())),
            None => (get("metric").to_string(), None),
        };
        if metric.is_empty() || per.as_deref() == Some("") {
            return Err(e("metric", "expected a name or a ratio `a / b`".into()));
        }
        let labels = parse_labels(get("labels")).map_err(|m| e("labels", m))?;
        let stat = required("stat")?.to_string();
        let window_text = get("window").to_string();
        let window = if window_text.is_empty() {
            None
        } else {
            Some(parse_window(&window_text).map_err(|m| e("window", m))?)
        };
        if window.is_some() && !is_bucket_reducer(&stat) {
            return Err(e(
                "stat",
                format!(
                    "with a window, expected mean, p50, median, max, min or pNN; found \"{stat}\""
                ),
            ));
        }
        let bucket_stat = match get("bucket_stat") {
            "" => "mean".to_string(),
            s if window.is_none() => {
                return Err(e(
                    "bucket_stat",
                    format!("\"{s}\" applies only with a window"),
                ));
            }
            s => s.to_string(),
        };
        let unit = get("unit").to_string();
        let (metric_unit, factor) = if unit.is_empty() {
            (None, 1.0)
        } else {
            let (_, mu, f) = UNITS.iter().find(|(u, _, _)| *u == unit).ok_or_else(|| {
                e(
                    "unit",
                    format!(
                        "unknown unit \"{unit}\"; expected one of {}",
                        UNITS.iter().map(|u| u.0).collect::<Vec<_>>().join(", ")
                    ),
                )
            })?;
            (Some(*mu), *f)
        };
        let goal = match (number("measured")?, number("low")?, number("high")?) {
            (Some(v), None, None) => {
                if v == 0.0 {
                    return Err(e(
                        "measured",
                        "a relative error needs a non-zero measured value".into(),
                    ));
                }
                Goal::Value(v * factor)
            }
            (None, Some(lo), Some(hi)) if lo < hi && lo + hi != 0.0 => {
                Goal::Range(lo * factor, hi * factor)
            }
            (None, Some(_), Some(_)) => {
                return Err(e("low", "expected low < high, not both zero".into()));
            }
            _ => {
                return Err(e(
                    "measured",
                    "give either `measured` or both `low` and `high`".into(),
                ));
            }
        };
        let precision = match (number("precision")?, goal) {
            (Some(p), _) if p > 0.0 => p * factor,
            (Some(p), _) => {
                return Err(e("precision", format!("must be positive, found {p}")));
            }
            (None, Goal::Value(_)) => precision_of(get("measured")) * factor,
            (None, Goal::Range(lo, hi)) => (hi - lo) / 2.0,
        };
        let weight = number("weight")?.unwrap_or(1.0);
        if weight < 0.0 {
            return Err(e("weight", format!("must not be negative, found {weight}")));
        }
        let tolerance = number("tolerance")?.unwrap_or(0.15);
        if !(tolerance > 0.0) {
            return Err(e(
                "tolerance",
                format!("must be positive, found {tolerance}"),
            ));
        }
        out.push(Target {
            line,
            scenario_path: base.join(&scenario),
            scenario,
            metric,
            per,
            labels,
            stat,
            bucket_stat,
            window,
            window_text,
            goal,
            unit,
            factor,
            metric_unit,
            weight,
            tolerance,
            precision,
            source: get("source").to_string(),
            notes: get("notes").to_string(),
        });
    }
    if out.is_empty() {
        return Err(err(header_line, None, "no targets".into()));
    }
    Ok(out)
}

/// Half a unit in the last significant digit of a number as written:
/// `3.7` -> 0.05, `3` -> 0.5, `220` -> 5 (trailing zeros of a whole number
/// are not taken as significant: "220 ms" may be anything from 215 to 225),
/// `2400` -> 50, `0.35` -> 0.005, `1.5e3` -> 50. The figure stands for
/// the interval `measured ± precision`.
pub fn precision_of(text: &str) -> f64 {
    let t = text.trim().trim_start_matches(['+', '-']);
    let (mantissa, exp) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], t[i + 1..].parse::<i32>().unwrap_or(0)),
        None => (t, 0),
    };
    let last_digit = match mantissa.split_once('.') {
        Some((_, frac)) => -(frac.len() as i32),
        None => {
            let digits = mantissa.trim_start_matches('0');
            let zeros = digits.len() - digits.trim_end_matches('0').len();
            // A bare "0" has no significant digit: take its units place.
            if digits.is_empty() { 0 } else { zeros as i32 }
        }
    };
    0.5 * 10f64.powi(last_digit + exp)
}

fn csv_line(e: &csv::Error) -> usize {
    e.position().map_or(0, |p| p.line() as usize)
}

fn parse_labels(s: &str) -> Result<BTreeMap<String, String>, String> {
    let mut m = BTreeMap::new();
    for kv in s.split(';').map(str::trim).filter(|x| !x.is_empty()) {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| format!("expected k=v;k=v, found \"{kv}\""))?;
        m.insert(k.trim().to_string(), v.trim().to_string());
    }
    Ok(m)
}

/// `"30m-40m"` -> (1800, 2400) seconds.
fn parse_window(s: &str) -> Result<(f64, f64), String> {
    let (a, b) = s
        .split_once('-')
        .ok_or_else(|| format!("expected a range such as \"30m-40m\", found \"{s}\""))?;
    let from = parse_duration_s(&Quantity::Text(a.trim().into()))?;
    let to = parse_duration_s(&Quantity::Text(b.trim().into()))?;
    if !(from >= 0.0 && to > from) {
        return Err(format!("expected 0 <= from < to, found \"{s}\""));
    }
    Ok((from, to))
}

fn is_bucket_reducer(stat: &str) -> bool {
    matches!(stat, "mean" | "median" | "max" | "min") || quantile_of(stat).is_some()
}

/// `p50` -> 0.5, `p99.9` -> 0.999.
fn quantile_of(stat: &str) -> Option<f64> {
    let q: f64 = stat.strip_prefix('p')?.parse().ok()?;
    (0.0..=100.0).contains(&q).then_some(q / 100.0)
}

/// Quantile `q` of `xs` by linear interpolation between order statistics
/// (for q = 0.5 the usual median).
pub fn quantile(xs: &[f64], q: f64) -> f64 {
    let mut x: Vec<f64> = xs.iter().copied().filter(|v| v.is_finite()).collect();
    if x.is_empty() {
        return f64::NAN;
    }
    x.sort_by(f64::total_cmp);
    let h = (x.len() - 1) as f64 * q;
    let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
    x[lo] + (x[hi] - x[lo]) * (h - lo as f64)
}

fn reduce(xs: &[f64], stat: &str) -> f64 {
    let finite: Vec<f64> = xs.iter().copied().filter(|v| v.is_finite()).collect();
    if finite.is_empty() {
        return f64::NAN;
    }
    match stat {
        "mean" => finite.iter().sum::<f64>() / finite.len() as f64,
        "median" => quantile(&finite, 0.5),
        "max" => finite.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        "min" => finite.iter().copied().fold(f64::INFINITY, f64::min),
        s => quantile(&finite, quantile_of(s).expect("checked at load")),
    }
}

impl Target {
    /// A short name: `metric{labels} stat [window]`.
    pub fn name(&self) -> String {
        let mut s = self.metric.clone();
        if let Some(p) = &self.per {
            s = format!("{s} / {p}");
        }
        s = format!("{s}{} {}", crate::format::braced(&self.labels), self.stat);
        if self.window.is_some() {
            if self.bucket_stat != "mean" {
                s = format!("{s} of bucket {}", self.bucket_stat);
            }
            s = format!("{s} [{}]", self.window_text);
        }
        s
    }

    /// Convert a value in the metric's unit into the target's unit.
    pub fn to_unit(&self, v: f64) -> f64 {
        v / self.factor
    }

    /// The error the fit minimises: the log ratio of the simulated value to
    /// the measured one (or to the middle of a range). For small errors it
    /// is the relative error; unlike it, it grows slowly when a candidate
    /// overloads a resource and latencies explode, and a cost that scales a
    /// figure moves its log linearly, which keeps the search well shaped.
    /// A simulated value of the wrong sign (or zero) counts as a log ratio
    /// of 10 plus its relative error.
    pub fn residual(&self, simulated: f64) -> f64 {
        let aim = self.goal.aim();
        let r = simulated / aim;
        if r > 0.0 {
            r.ln()
        } else {
            -(10.0 + (simulated - aim).abs() / aim.abs())
        }
    }

    /// The relative error reported: from the measured value, or from the
    /// nearest bound of a range (0 inside it).
    pub fn error(&self, simulated: f64) -> f64 {
        match self.goal {
            Goal::Value(v) => (simulated - v) / v.abs(),
            Goal::Range(lo, _) if simulated < lo => (simulated - lo) / lo.abs(),
            Goal::Range(_, hi) if simulated > hi => (simulated - hi) / hi.abs(),
            Goal::Range(..) => 0.0,
        }
    }

    /// Is the target met by `simulated`?
    pub fn met(&self, simulated: f64) -> bool {
        match self.goal {
            Goal::Value(_) => self.error(simulated).abs() <= self.tolerance,
            Goal::Range(lo, hi) => (lo..=hi).contains(&simulated),
        }
    }

    /// The target's statistic in one replication, in the metric's unit.
    pub fn simulated(&self, run: &RunResult) -> Result<f64, String> {
        let num = self.value_of(run, &self.metric)?;
        let Some(per) = &self.per else {
            return Ok(num.reduced);
        };
        let den = self.value_of(run, per)?;
        match (num.buckets, den.buckets) {
            (Some(a), Some(b)) => {
                let r: Vec<f64> = a
                    .iter()
                    .zip(&b)
                    .filter(|(_, d)| **d != 0.0)
                    .map(|(n, d)| n / d)
                    .collect();
                Ok(reduce(&r, &self.stat))
            }
            _ => Ok(num.reduced / den.reduced),
        }
    }

    /// Check the unit of the target against the metric's, in one replication.
    pub fn check_unit(&self, run: &RunResult) -> Result<(), String> {
        let (Some(want), None) = (self.metric_unit, &self.per) else {
            return Ok(());
        };
        let Some(have) = run
            .metrics
            .iter()
            .find(|m| m.name == self.metric)
            .map(|m| m.unit.as_str())
        else {
            return Err(format!(
                "metric: expected a metric that a run of this scenario produces (the README's Metrics lists them), found \"{}\"",
                self.metric
            ));
        };
        // A histogram's `count` is in "1"; every other stat carries the metric's unit.
        let have = run
            .metrics
            .iter()
            .find(|m| m.name == self.metric && m.stat == self.stat && m.labels == self.labels)
            .map_or(have, |m| m.unit.as_str());
        if have == want {
            Ok(())
        } else {
            Err(format!(
                "unit \"{}\" converts to \"{want}\", but {} is in \"{have}\"",
                self.unit, self.metric
            ))
        }
    }

    fn value_of(&self, run: &RunResult, metric: &str) -> Result<Value, String> {
        match self.window {
            None => run
                .metrics
                .iter()
                .find(|m| m.name == metric && m.stat == self.stat && m.labels == self.labels)
                .map(|m| Value {
                    reduced: m.value,
                    buckets: None,
                })
                .ok_or_else(|| self.missing(run, metric, false)),
            Some((from, to)) => {
                let s = run
                    .series
                    .series
                    .iter()
                    .find(|s| {
                        s.name == metric && s.stat == self.bucket_stat && s.labels == self.labels
                    })
                    .ok_or_else(|| self.missing(run, metric, true))?;
                let (t0, b) = (run.series.start_s, run.series.bucket_s);
                let inside: Vec<f64> = s
                    .values
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| {
                        let start = t0 + *i as f64 * b;
                        start >= from - 1e-9 && start + b <= to + 1e-9
                    })
                    .map(|(_, v)| *v)
                    .collect();
                if inside.is_empty() {
                    return Err(format!(
                        "window {} holds no whole bucket of {b} s",
                        self.window_text
                    ));
                }
                Ok(Value {
                    reduced: reduce(&inside, &self.stat),
                    buckets: Some(inside),
                })
            }
        }
    }

    fn missing(&self, run: &RunResult, metric: &str, series: bool) -> String {
        let mut have: Vec<String> = if series {
            run.series
                .series
                .iter()
                .filter(|s| s.name == metric)
                .map(|s| format!("{} {:?}", s.stat, s.labels))
                .collect()
        } else {
            run.metrics
                .iter()
                .filter(|m| m.name == metric)
                .map(|m| format!("{} {:?}", m.stat, m.labels))
                .collect()
        };
        have.dedup();
        let what = if series { "bucket series" } else { "statistic" };
        let want = if series {
            &self.bucket_stat
        } else {
            &self.stat
        };
        if have.is_empty() {
            format!("the scenario produces no metric \"{metric}\"")
        } else {
            format!(
                "no {what} \"{want}\" of {metric} with labels {:?}; it has: {}",
                self.labels,
                have.join("; ")
            )
        }
    }
}

struct Value {
    reduced: f64,
    buckets: Option<Vec<f64>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Metric, Series, TimeSeries};

    fn p(text: &str) -> Result<Vec<Target>, TargetsError> {
        parse(Path::new("dir/targets.csv"), text)
    }

    fn run() -> RunResult {
        let l = |k: &str, v: &str| BTreeMap::from([(k.to_string(), v.to_string())]);
        RunResult {
            scenario: "s".into(),
            seed: 1,
            saturated: false,
            notes: vec![],
            metrics: vec![
                Metric {
                    name: "api_latency_seconds".into(),
                    stat: "p95".into(),
                    labels: l("class", "agent"),
                    value: 0.2,
                    unit: "s".into(),
                },
                Metric {
                    name: "cores".into(),
                    stat: "p50".into(),
                    labels: BTreeMap::new(),
                    value: 3.0,
                    unit: "vCPU".into(),
                },
            ],
            series: TimeSeries {
                start_s: 0.0,
                bucket_s: 60.0,
                series: vec![
                    Series {
                        name: "cores".into(),
                        stat: "mean".into(),
                        labels: BTreeMap::new(),
                        unit: "vCPU".into(),
                        values: vec![1.0, 2.0, 3.0, 4.0, 10.0, 6.0],
                    },
                    Series {
                        name: "busy".into(),
                        stat: "mean".into(),
                        labels: BTreeMap::new(),
                        unit: "1".into(),
                        values: vec![0.0, 2.0, 2.0, 4.0, 5.0, 3.0],
                    },
                ],
            },
            marks: vec![],
            events_processed: 0,
        }
    }

    #[test]
    fn parses_point_and_range_targets_with_units() {
        let t = p("# comment\n\
                   scenario,metric,labels,stat,window,measured,low,high,unit,weight,source\n\
                   a.toml,api_latency_seconds,class=agent,p95,,220,,,ms,2,doc\n\
                   a.toml,cores,,max,1m-4m,,6.7,8.4,vCPU,,\n")
        .unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].line, 3);
        assert_eq!(t[0].goal, Goal::Value(0.22));
        assert_eq!(t[0].weight, 2.0);
        assert_eq!(t[0].scenario_path, Path::new("dir/a.toml"));
        assert_eq!(t[0].labels["class"], "agent");
        assert_eq!(t[1].goal, Goal::Range(6.7, 8.4));
        assert_eq!(t[1].window, Some((60.0, 240.0)));
        assert_eq!(t[1].weight, 1.0);
        assert_eq!(t[1].name(), "cores max [1m-4m]");
        // Precision: the rounding of 220 ms (215-225), in seconds; a range's half-width.
        assert!((t[0].precision - 0.005).abs() < 1e-12);
        assert!((t[1].precision - 0.85).abs() < 1e-12);
        let t = p("scenario,metric,stat,measured,unit,precision\na,m,p50,220,ms,20\n").unwrap();
        assert!((t[0].precision - 0.02).abs() < 1e-12);
        let e = p("scenario,metric,stat,measured,precision\na,m,p50,2,0\n").unwrap_err();
        assert_eq!(e.column.as_deref(), Some("precision"));
    }

    #[test]
    fn precision_is_half_the_last_significant_digit() {
        for (text, want) in [
            ("3", 0.5),
            ("3.7", 0.05),
            ("60", 5.0),
            ("220", 5.0),
            ("2400", 50.0),
            ("0.35", 0.005),
            ("3.70", 0.005),
            ("1.5e3", 50.0),
            ("-80", 5.0),
        ] {
            let p = precision_of(text);
            assert!((p - want).abs() < 1e-12 * want, "{text}: {p}");
        }
    }

    #[test]
    fn errors_name_line_and_column() {
        let e = p("scenario,metric,stat,measured\na.toml,m,p50,abc\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert_eq!(e.column.as_deref(), Some("measured"));
        assert!(
            e.to_string().starts_with("dir/targets.csv:2: measured:"),
            "{e}"
        );
        let e = p("scenario,metric,stat,colour\n").unwrap_err();
        assert_eq!(e.column.as_deref(), Some("colour"));
        let e = p("scenario,metric,stat,measured,unit\na.toml,m,p50,1,furlongs\n").unwrap_err();
        assert_eq!(e.column.as_deref(), Some("unit"));
        let e = p("scenario,metric,stat,measured,window\na.toml,m,peak,1,1m-2m\n").unwrap_err();
        assert_eq!(e.column.as_deref(), Some("stat"));
        let e = p("scenario,metric,stat,low,high\na.toml,m,p50,2,1\n").unwrap_err();
        assert_eq!(e.column.as_deref(), Some("low"));
        let e = p("scenario,metric,stat,measured,low,high\na.toml,m,p50,1,1,2\n").unwrap_err();
        assert_eq!(e.column.as_deref(), Some("measured"));
        let e = p("scenario,metric,stat,measured,window\na.toml,m,p50,1,9m-2m\n").unwrap_err();
        assert_eq!(e.column.as_deref(), Some("window"));
        assert!(p("scenario,metric,stat\n").is_err());
    }

    #[test]
    fn run_statistics_and_windowed_reductions() {
        let r = run();
        let t = p("scenario,metric,labels,stat,window,measured,unit\n\
                   a,api_latency_seconds,class=agent,p95,,220,ms\n\
                   a,cores,,p50,1m-5m,3,vCPU\n\
                   a,cores,,max,1m-5m,3,vCPU\n\
                   a,cores,,mean,0m-2m,3,vCPU\n\
                   a,cores / busy,,p50,0m-6m,1,\n\
                   a,cores / busy,,p50,,1,\n")
        .unwrap();
        assert_eq!(t[0].simulated(&r).unwrap(), 0.2);
        // Buckets 1..4 (60..300 s): 2, 3, 4, 10 -> median 3.5, max 10.
        assert_eq!(t[1].simulated(&r).unwrap(), 3.5);
        assert_eq!(t[2].simulated(&r).unwrap(), 10.0);
        assert_eq!(t[3].simulated(&r).unwrap(), 1.5);
        // Per-bucket ratios, skipping the empty first bucket: 1, 1.5, 1, 2, 2 -> 1.5.
        assert_eq!(t[4].simulated(&r).unwrap(), 1.5);
        // Without a window a ratio divides the two run statistics (busy has no p50).
        assert!(t[5].simulated(&r).is_err());
        assert!(t[0].check_unit(&r).is_ok());
        let bad = p("scenario,metric,stat,measured,unit\na,cores,p50,3,ms\n").unwrap();
        assert!(bad[0].check_unit(&r).is_err());
        let miss = p("scenario,metric,labels,stat,measured\na,api_latency_seconds,class=x,p95,1\n")
            .unwrap();
        let m = miss[0].simulated(&r).unwrap_err();
        assert!(m.contains("class"), "{m}");
    }

    #[test]
    fn errors_and_verdicts() {
        let t =
            p("scenario,metric,stat,measured,low,high\na,m,p50,100,,\na,m,p50,,6.7,8.4\n").unwrap();
        assert!((t[0].error(115.0) - 0.15).abs() < 1e-12);
        assert!(t[0].met(114.9) && !t[0].met(116.0) && t[0].met(85.1));
        assert_eq!(t[1].error(7.0), 0.0);
        assert!(t[1].met(8.4) && !t[1].met(8.5));
        assert!((t[1].error(9.24) - 0.1).abs() < 1e-12);
        assert!((t[1].residual(7.55)).abs() < 1e-12);
        assert!((t[0].residual(110.0) - 1.1f64.ln()).abs() < 1e-12);
        assert!(t[0].residual(0.0) <= -10.0 && t[0].residual(-5.0) < t[0].residual(0.0));
        assert!(quantile(&[1.0, 2.0, 3.0, 4.0], 0.5) == 2.5);
        assert!(quantile(&[5.0], 0.95) == 5.0);
    }
}
