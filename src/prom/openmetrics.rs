//! A run's time series in the OpenMetrics text format, for
//! `promtool tsdb create-blocks-from openmetrics` and so for Grafana.
//!
//! The export writes what the run store holds: the series aggregated across
//! replications (with one replication, that replication itself). Each
//! capsim series becomes one OpenMetrics series, under Coder's name and
//! labels where [`super::mapping::MAPPINGS`] has a row for it and as
//! `capsim_<name>` otherwise:
//!
//! - counters and rates are written as running totals (Prometheus
//!   counters), with a 0 at the start of their first bucket so that
//!   `rate()` sees the first increment;
//! - gauges as the bucket's time-weighted mean;
//! - histograms as cumulative `le` buckets with Coder's boundaries, `+Inf`
//!   equal to `_count`, and `_sum`. OpenMetrics wants whole observations: a
//!   mean over several replications is rounded, on the running totals, to
//!   the nearest whole count (so no total is off by more than one half).
//!
//! Every point is stamped at the end of its bucket, in Unix seconds from
//! the start date the user gives (no clock is read), and every series
//! carries `run_id` and `scenario` labels. This module does no I/O.

use super::mapping::{Kind, MAPPINGS, Mapping, Read, Value, class_route, mappings_for};
use crate::engine::metrics::Labels;
use crate::report::series::{AggSeries, AggTimeSeries};
use std::collections::BTreeMap;
use std::fmt::Write;

/// Where and when the run is placed.
#[derive(Clone, Debug)]
pub struct ExportContext {
    pub run_id: String,
    pub scenario: String,
    /// Unix time of simulated t = 0, seconds.
    pub t0_unix_s: f64,
    /// End of the run, seconds after t = 0 (the last bucket may be shorter).
    pub end_s: f64,
    /// vCPUs of one coderd replica (CPU utilisation into CPU seconds).
    pub coderd_vcpu: f64,
}

impl ExportContext {
    /// For a scenario run now.
    pub fn for_scenario(
        run_id: &str,
        s: &crate::scenario::Scenario,
        start: Start,
    ) -> ExportContext {
        let tod = s.start_time_of_day.as_secs_f64();
        ExportContext {
            run_id: run_id.to_string(),
            scenario: s.name.clone(),
            t0_unix_s: start.t0(tod),
            end_s: s.duration.as_secs_f64(),
            coderd_vcpu: s.deployment.coderd.vcpu_per_replica,
        }
    }

    /// For a stored run, from the scenario JSON the store keeps.
    pub fn for_stored(
        run_id: &str,
        scenario_json: &str,
        start: Start,
    ) -> Result<ExportContext, String> {
        let v: serde_json::Value = serde_json::from_str(scenario_json)
            .map_err(|e| format!("run {run_id}: stored scenario does not parse: {e}"))?;
        let secs = |k: &str| {
            v.get(k)
                .and_then(serde_json::Value::as_f64)
                .map(|ns| ns / 1e9)
        };
        let missing = |k: &str| format!("run {run_id}: stored scenario has no {k}");
        Ok(ExportContext {
            run_id: run_id.to_string(),
            scenario: v
                .get("name")
                .and_then(serde_json::Value::as_str)
                .ok_or_else(|| missing("name"))?
                .to_string(),
            t0_unix_s: start.t0(secs("start_time_of_day").unwrap_or(0.0)),
            end_s: secs("duration").ok_or_else(|| missing("duration"))?,
            coderd_vcpu: v
                .pointer("/deployment/coderd/vcpu_per_replica")
                .and_then(serde_json::Value::as_f64)
                .ok_or_else(|| missing("deployment.coderd.vcpu_per_replica"))?,
        })
    }
}

/// The start the user chose: a date (t = 0 is the scenario's `start_time`
/// on that date, UTC) or an instant (t = 0 exactly).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Start {
    /// Unix seconds of the date's midnight, or of the instant.
    pub unix_s: f64,
    pub is_date: bool,
}

impl Start {
    /// Parse `YYYY-MM-DD` or an RFC 3339 instant (`2025-03-10T08:00:00Z`,
    /// `2025-03-10T09:00:00+01:00`), with the `toml` crate's date parser.
    pub fn parse(s: &str) -> Result<Start, String> {
        use toml::value::{Datetime, Offset};
        let expected =
            "expected a date such as 2025-03-10 or an instant such as 2025-03-10T08:00:00Z";
        let dt: Datetime = s
            .trim()
            .parse()
            .map_err(|e| format!("{expected}, found {s:?} ({e})"))?;
        let Some(date) = dt.date else {
            return Err(format!("{expected}, found {s:?} (no date)"));
        };
        let days = days_from_civil(i64::from(date.year), date.month.into(), date.day.into());
        let midnight = days as f64 * 86_400.0;
        match (dt.time, dt.offset) {
            (None, _) => Ok(Start {
                unix_s: midnight,
                is_date: true,
            }),
            (Some(t), Some(off)) => {
                let offset_min = match off {
                    Offset::Z => 0,
                    Offset::Custom { minutes } => i64::from(minutes),
                };
                let secs = f64::from(t.hour) * 3600.0
                    + f64::from(t.minute) * 60.0
                    + f64::from(t.second.unwrap_or(0))
                    + f64::from(t.nanosecond.unwrap_or(0)) / 1e9;
                Ok(Start {
                    unix_s: midnight + secs - offset_min as f64 * 60.0,
                    is_date: false,
                })
            }
            (Some(_), None) => Err(format!(
                "{expected}, found {s:?} (an instant needs its time zone: add Z or +01:00)"
            )),
        }
    }

    /// Unix time of t = 0 for a scenario starting at `start_time_of_day_s`.
    pub fn t0(&self, start_time_of_day_s: f64) -> f64 {
        if self.is_date {
            self.unix_s + start_time_of_day_s
        } else {
            self.unix_s
        }
    }

    /// Day of the week of t = 0 (0 = Monday).
    pub fn weekday(&self, start_time_of_day_s: f64) -> u32 {
        // 1970-01-01 was a Thursday.
        ((self.t0(start_time_of_day_s) / 86_400.0).floor() as i64 + 3).rem_euclid(7) as u32
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`, "chrono-Compatible Low-Level Date Algorithms").
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// One point of a series.
#[derive(Clone, Debug, PartialEq)]
pub enum PointValue {
    Number(f64),
    /// Cumulative counts per upper bound (ascending, `+Inf` last), the
    /// count (equal to the `+Inf` bucket) and the sum.
    Histogram {
        buckets: Vec<(f64, f64)>,
        count: f64,
        sum: f64,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    pub t_unix_s: f64,
    pub value: PointValue,
}

#[derive(Clone, Debug, PartialEq)]
pub struct FamilySeries {
    pub labels: Labels,
    pub points: Vec<Point>,
}

/// A metric family: a name, a type and its series.
#[derive(Clone, Debug, PartialEq)]
pub struct Family {
    /// The family name (a counter's samples add `_total`).
    pub name: String,
    pub kind: Kind,
    pub help: String,
    pub series: Vec<FamilySeries>,
}

impl Family {
    /// Sample name of a counter or gauge point.
    pub fn sample_name(&self) -> String {
        match self.kind {
            Kind::Counter => format!("{}_total", self.name),
            _ => self.name.clone(),
        }
    }
}

/// A bucket's end, Unix seconds, and its length in seconds.
fn bucket_end(ctx: &ExportContext, bucket_s: f64, start_s: f64) -> (f64, f64) {
    let end = (start_s + bucket_s).min(ctx.end_s).max(start_s);
    ((ctx.t0_unix_s + end), end - start_s)
}

fn unix(ctx: &ExportContext, t_s: f64) -> f64 {
    ctx.t0_unix_s + t_s
}

/// The exported labels of a mapped series.
fn mapped_labels(m: &Mapping, capsim: &Labels, ctx: &ExportContext) -> Labels {
    let mut out = run_labels(ctx);
    for (from, to, how) in m.labels {
        if let Some(v) = capsim.get(*from) {
            let v = match how {
                Value::Same => v.clone(),
                Value::Route => class_route(v).unwrap_or(v).to_string(),
                Value::Upper => v.to_uppercase(),
                Value::Replica => format!("coderd-{v}"),
            };
            out.insert(to.to_string(), v);
        }
    }
    for (k, v) in m.fixed {
        out.insert(k.to_string(), v.to_string());
    }
    out
}

fn run_labels(ctx: &ExportContext) -> Labels {
    let mut l = Labels::new();
    l.insert("run_id".into(), ctx.run_id.clone());
    l.insert("scenario".into(), ctx.scenario.clone());
    l
}

/// A counter or gauge series from one capsim series.
fn number_points(s: &AggSeries, read: Read, ctx: &ExportContext, bucket_s: f64) -> Vec<Point> {
    let mut out = Vec::with_capacity(s.points.len() + 1);
    let mut total = 0.0;
    for p in &s.points {
        let (t, len) = bucket_end(ctx, bucket_s, p.bucket_start_s);
        let v = match read {
            Read::Mean => p.value,
            Read::Count | Read::HistogramCount => {
                total += p.value;
                total
            }
            Read::RateTotal => {
                total += p.value * len;
                total
            }
            Read::CpuSeconds => {
                total += p.value * ctx.coderd_vcpu * len;
                total
            }
            Read::Histogram => unreachable!("histograms have their own points"),
        };
        if out.is_empty() && read != Read::Mean {
            out.push(Point {
                t_unix_s: unix(ctx, p.bucket_start_s),
                value: PointValue::Number(0.0),
            });
        }
        out.push(Point {
            t_unix_s: t,
            value: PointValue::Number(v),
        });
    }
    out
}

/// The parts of one capsim histogram (one label set, without `le`).
struct HistParts<'a> {
    count: &'a AggSeries,
    mean: Option<&'a AggSeries>,
    /// Per bound, ascending.
    buckets: Vec<(f64, &'a AggSeries)>,
}

/// Key of a bucket start (milliseconds), for matching points across series.
fn key(t_s: f64) -> i64 {
    (t_s * 1000.0).round() as i64
}

fn histogram_points(h: &HistParts, ctx: &ExportContext, bucket_s: f64) -> Vec<Point> {
    let by_key = |s: &AggSeries| -> BTreeMap<i64, f64> {
        s.points
            .iter()
            .map(|p| (key(p.bucket_start_s), p.value))
            .collect()
    };
    let means = h.mean.map(by_key).unwrap_or_default();
    let buckets: Vec<(f64, BTreeMap<i64, f64>)> =
        h.buckets.iter().map(|(le, s)| (*le, by_key(s))).collect();
    let mut running = vec![0.0; buckets.len()];
    let (mut count, mut sum) = (0.0, 0.0);
    let mut out = Vec::with_capacity(h.count.points.len() + 1);
    let point = |running: &[f64], count: f64, sum: f64, t: f64| {
        // Whole observations, never decreasing along `le` up to +Inf.
        let total = count.round();
        let mut cum: Vec<(f64, f64)> = buckets
            .iter()
            .zip(running)
            .map(|((le, _), r)| (*le, r.round()))
            .collect();
        cum.push((f64::INFINITY, total));
        let mut cap = total;
        for c in cum.iter_mut().rev() {
            c.1 = c.1.min(cap);
            cap = c.1;
        }
        Point {
            t_unix_s: t,
            value: PointValue::Histogram {
                buckets: cum,
                count: total,
                sum,
            },
        }
    };
    for p in &h.count.points {
        let k = key(p.bucket_start_s);
        if out.is_empty() {
            out.push(point(&running, 0.0, 0.0, unix(ctx, p.bucket_start_s)));
        }
        let (t, _) = bucket_end(ctx, bucket_s, p.bucket_start_s);
        count += p.value;
        if let Some(m) = means.get(&k) {
            sum += m * p.value;
        }
        for (r, (_, b)) in running.iter_mut().zip(&buckets) {
            *r += b.get(&k).copied().unwrap_or(0.0);
        }
        out.push(point(&running, count, sum, t));
    }
    out
}

/// Adds series to families, keeping first-seen order of both.
#[derive(Default)]
struct Families {
    order: Vec<Family>,
}

impl Families {
    fn add(&mut self, name: &str, kind: Kind, help: &str, series: FamilySeries) {
        if series.points.is_empty() {
            return;
        }
        let i = match self.order.iter().position(|f| f.name == name) {
            Some(i) => i,
            None => {
                self.order.push(Family {
                    name: name.to_string(),
                    kind,
                    help: help.to_string(),
                    series: Vec::new(),
                });
                self.order.len() - 1
            }
        };
        self.order[i].series.push(series);
    }
}

/// The families of one run.
pub fn families(ts: &AggTimeSeries, ctx: &ExportContext) -> Vec<Family> {
    let bucket_s = ts.bucket_s;
    let mut fams = Families::default();
    // Metric names in first-seen order, with their series.
    let mut names: Vec<&str> = Vec::new();
    for s in &ts.series {
        if !names.contains(&s.name.as_str()) {
            names.push(&s.name);
        }
    }
    for name in names {
        let of = |stat: &str| -> Vec<&AggSeries> {
            ts.series
                .iter()
                .filter(|s| s.name == name && s.stat == stat)
                .collect()
        };
        if !of("bucket").is_empty() {
            for count in of("count") {
                let base = &count.labels;
                let same = |s: &&AggSeries| {
                    let mut l = s.labels.clone();
                    l.remove("le");
                    &l == base
                };
                let mut buckets: Vec<(f64, &AggSeries)> = of("bucket")
                    .into_iter()
                    .filter(same)
                    .filter_map(|s| Some((s.labels.get("le")?.parse::<f64>().ok()?, s)))
                    .collect();
                buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
                let parts = HistParts {
                    count,
                    mean: of("mean").into_iter().find(|s| &s.labels == base),
                    buckets,
                };
                let mut mapped = false;
                for m in mappings_for(name, base) {
                    mapped = true;
                    let labels = mapped_labels(m, base, ctx);
                    let points = if m.read == Read::HistogramCount {
                        number_points(count, Read::HistogramCount, ctx, bucket_s)
                    } else {
                        histogram_points(&parts, ctx, bucket_s)
                    };
                    fams.add(m.family, m.kind, m.note, FamilySeries { labels, points });
                }
                if !mapped {
                    let mut labels = run_labels(ctx);
                    labels.extend(base.clone());
                    let points = histogram_points(&parts, ctx, bucket_s);
                    let help = format!("capsim {name} ({})", count.unit);
                    fams.add(
                        &format!("capsim_{name}"),
                        Kind::Histogram,
                        &help,
                        FamilySeries { labels, points },
                    );
                }
            }
            continue;
        }
        if !of("p50").is_empty() {
            continue; // a histogram without buckets: nothing Prometheus can read
        }
        let (stat, read, kind) = if !of("count").is_empty() {
            ("count", Read::Count, Kind::Counter)
        } else {
            ("mean", Read::Mean, Kind::Gauge)
        };
        for s in of(stat) {
            let mut mapped = false;
            for m in mappings_for(name, &s.labels) {
                mapped = true;
                let labels = mapped_labels(m, &s.labels, ctx);
                let points = number_points(s, m.read, ctx, bucket_s);
                fams.add(m.family, m.kind, m.note, FamilySeries { labels, points });
            }
            if !mapped {
                let mut labels = run_labels(ctx);
                labels.extend(s.labels.clone());
                let family = format!("capsim_{}", name.trim_end_matches("_total"));
                let help = format!("capsim {name} ({})", s.unit);
                let points = number_points(s, read, ctx, bucket_s);
                fams.add(&family, kind, &help, FamilySeries { labels, points });
            }
        }
    }
    // Coder's families first, in the mapping's order, then capsim's own.
    let rank = |f: &Family| {
        MAPPINGS
            .iter()
            .position(|m| m.family == f.name)
            .unwrap_or(MAPPINGS.len())
    };
    let mut out = fams.order;
    out.sort_by_key(rank); // stable: capsim families keep their order
    for f in &mut out {
        same_label_names(f);
    }
    out
}

/// Every series of a family carries the same label names (OpenMetrics
/// parsers insist): a label a series lacks is written empty, which
/// Prometheus reads as absent.
fn same_label_names(f: &mut Family) {
    let names: std::collections::BTreeSet<String> = f
        .series
        .iter()
        .flat_map(|s| s.labels.keys().cloned())
        .collect();
    for s in &mut f.series {
        for n in &names {
            s.labels.entry(n.clone()).or_default();
        }
    }
}

/// Families of several runs merged by name (each run's series carry its `run_id`).
pub fn merge(runs: Vec<Vec<Family>>) -> Vec<Family> {
    let mut out: Vec<Family> = Vec::new();
    for fams in runs {
        for f in fams {
            match out.iter_mut().find(|o| o.name == f.name) {
                Some(o) => o.series.extend(f.series),
                None => out.push(f),
            }
        }
    }
    for f in &mut out {
        same_label_names(f);
    }
    out
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v}")
    }
}

/// A timestamp to the millisecond, as Prometheus writes them.
fn timestamp(t: f64) -> String {
    format!("{}", (t * 1000.0).round() / 1000.0)
}

fn label_text(labels: &Labels, extra: Option<(&str, String)>) -> String {
    let mut parts: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
        .collect();
    if let Some((k, v)) = extra {
        parts.push(format!("{k}=\"{v}\""));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", parts.join(","))
    }
}

/// The OpenMetrics text of `families`, ending with `# EOF`.
pub fn render(families: &[Family]) -> String {
    let mut out = String::new();
    for f in families {
        let _ = writeln!(out, "# TYPE {} {}", f.name, f.kind.name());
        let _ = writeln!(out, "# HELP {} {}", f.name, escape(&f.help));
        for s in &f.series {
            let plain = label_text(&s.labels, None);
            for p in &s.points {
                let ts = timestamp(p.t_unix_s);
                match &p.value {
                    PointValue::Number(v) => {
                        let _ = writeln!(out, "{}{plain} {} {ts}", f.sample_name(), number(*v));
                    }
                    PointValue::Histogram {
                        buckets,
                        count,
                        sum,
                    } => {
                        for (le, c) in buckets {
                            let le = if le.is_infinite() {
                                "+Inf".to_string()
                            } else {
                                crate::engine::metrics::le_label(*le)
                            };
                            let l = label_text(&s.labels, Some(("le", le)));
                            let _ = writeln!(out, "{}_bucket{l} {} {ts}", f.name, number(*c));
                        }
                        let _ = writeln!(out, "{}_count{plain} {} {ts}", f.name, number(*count));
                        let _ = writeln!(out, "{}_sum{plain} {} {ts}", f.name, number(*sum));
                    }
                }
            }
        }
    }
    out.push_str("# EOF\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::metrics::labels;
    use crate::report::series::AggPoint;

    fn series(name: &str, stat: &str, l: Labels, values: &[f64]) -> AggSeries {
        AggSeries {
            name: name.into(),
            stat: stat.into(),
            labels: l,
            unit: "1".into(),
            points: values
                .iter()
                .enumerate()
                .map(|(i, v)| AggPoint {
                    bucket_start_s: 60.0 * i as f64,
                    value: *v,
                    ci_low: None,
                    ci_high: None,
                    n: 1,
                })
                .collect(),
        }
    }

    fn ctx() -> ExportContext {
        ExportContext {
            run_id: "r1".into(),
            scenario: "s".into(),
            t0_unix_s: 1_741_000_000.0,
            end_s: 150.0,
            coderd_vcpu: 4.0,
        }
    }

    #[test]
    fn start_dates_and_instants() {
        let d = Start::parse("2025-03-10").unwrap();
        assert_eq!(d.unix_s, 1_741_564_800.0);
        assert_eq!(d.t0(8.0 * 3600.0), 1_741_564_800.0 + 28_800.0);
        assert_eq!(d.weekday(0.0), 0, "2025-03-10 is a Monday");
        let i = Start::parse("2025-03-10T08:00:00Z").unwrap();
        assert_eq!(i.t0(123.0), 1_741_564_800.0 + 28_800.0);
        assert!(Start::parse("next tuesday").is_err());
        assert!(Start::parse("2025-03-10T08:00:00").is_err(), "no time zone");
        let plus1 = Start::parse("2025-03-10T09:00:00+01:00").unwrap();
        assert_eq!(plus1.unix_s, i.unix_s);
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }

    #[test]
    fn counters_run_and_rates_integrate_over_the_bucket_length() {
        let ts = AggTimeSeries {
            bucket_s: 60.0,
            series: vec![
                series(
                    "builds_created_total",
                    "count",
                    Labels::new(),
                    &[2.0, 3.0, 1.0],
                ),
                series(
                    "builds_created_total",
                    "rate",
                    Labels::new(),
                    &[9.0, 9.0, 9.0],
                ),
                series(
                    "api_requests_per_second",
                    "mean",
                    labels([("class", "agent")]),
                    &[1.0, 2.0, 4.0],
                ),
            ],
        };
        let f = families(&ts, &ctx());
        assert_eq!(f[0].name, "coderd_api_requests_processed");
        let vals: Vec<f64> = f[0].series[0]
            .points
            .iter()
            .map(|p| match p.value {
                PointValue::Number(v) => v,
                _ => panic!(),
            })
            .collect();
        // 0 at the start, then 60, +120, +4 x 30 s (the last bucket ends at 150 s).
        assert_eq!(vals, vec![0.0, 60.0, 180.0, 300.0]);
        assert_eq!(f[0].series[0].points[3].t_unix_s, 1_741_000_150.0);
        assert_eq!(
            f[0].series[0].labels["path"],
            "/api/v2/workspaceagents/me/*"
        );
        assert_eq!(f[1].name, "capsim_builds_created");
        let text = render(&f);
        assert!(
            text.contains(
                "capsim_builds_created_total{run_id=\"r1\",scenario=\"s\"} 6 1741000150\n"
            )
        );
        assert!(text.ends_with("# EOF\n"));
    }

    #[test]
    fn histograms_are_cumulative_whole_and_end_at_count() {
        let l = labels([("class", "agent")]);
        let le = |b: &str| {
            let mut x = l.clone();
            x.insert("le".into(), b.into());
            x
        };
        let ts = AggTimeSeries {
            bucket_s: 60.0,
            series: vec![
                series("api_latency_seconds", "mean", l.clone(), &[0.5, f64::NAN]),
                series("api_latency_seconds", "p50", l.clone(), &[0.5, f64::NAN]),
                series("api_latency_seconds", "count", l.clone(), &[2.5, 0.0]),
                series("api_latency_seconds", "bucket", le("0.1"), &[1.4, 0.0]),
                series("api_latency_seconds", "bucket", le("1"), &[2.5, 0.0]),
            ],
        };
        let f = families(&ts, &ctx());
        assert_eq!(f.len(), 1);
        let p = &f[0].series[0].points;
        assert_eq!(p.len(), 3);
        match &p[1].value {
            PointValue::Histogram {
                buckets,
                count,
                sum,
            } => {
                // 2.5 rounds to 3 (half away from zero); 1.4 to 1.
                assert_eq!(buckets, &vec![(0.1, 1.0), (1.0, 3.0), (f64::INFINITY, 3.0)]);
                assert_eq!(*count, 3.0);
                assert_eq!(*sum, 1.25);
            }
            v => panic!("{v:?}"),
        }
    }
}
