//! From a live deployment's Prometheus answers to a scenario and targets.
//!
//! Input: one parsed `query_range` answer per query of
//! [`super::mapping::QUERIES`] (by name), over a period the user chose (a
//! typical week). Output: the text of a scenario file, the text of a
//! targets file for `capsim calibrate`, and warnings, each naming the query
//! that would settle it. Nothing is invented: what the metrics cannot say
//! keeps capsim's default and the scenario says so in a comment
//! (`PLACEHOLDER` for sizes: vCPU, RAM, the database).
//!
//! How the workload is read (capsim's users model, see the README's
//! `[workload.users]`):
//!
//! - every successful `START` build is a user starting their stopped
//!   workspace, so the START builds of a weekday count that day's users and
//!   their times (less the mean queue wait and build time) are the users'
//!   arrivals; `STOP` builds (less the stop time and `autostop_after`) are
//!   their departures. Users are `calendar` users, all of them active on a
//!   weekday (`active_fraction = 1`: the metrics see workspaces that start,
//!   not accounts that stay away), a share of them on weekends, arriving
//!   and staying as normal distributions fitted to those times;
//! - sessions and dashboard requests per user are ratios to the users
//!   present (that day's arrivals less its departures so far, as above) in
//!   weekday working hours away from lunch (10:00-11:30 and 14:00-16:00
//!   local time); metadata per agent is a ratio to the running workspaces;
//! - build times are lognormals fitted to the build-timing buckets.
//!
//! This module does no I/O.

use super::fit::{bucket_quantile, lognormal_from_buckets, weighted_moments};
use super::mapping::{QUERIES, Query, ROUTES, query, route_class};
use super::response::Matrix;
use super::scenario_text::{Derived, TemplateOut, num};
use crate::model::metric_names as m;
use std::collections::BTreeMap;

/// Choices of the user.
#[derive(Clone, Debug)]
pub struct ImportOptions {
    /// `name` of the scenario.
    pub name: String,
    /// `model` as written in the scenario (relative to the scenario file).
    pub model: String,
    /// The scenario as the targets file names it (relative to the targets file).
    pub scenario_ref: String,
    /// Local time = UTC + this, seconds (time of day and weekdays are local).
    pub utc_offset_s: f64,
    /// Where the answers came from (for the scenario's header comment).
    pub source: String,
}

/// Something the import could not read fully, and the query that would.
#[derive(Clone, Debug, PartialEq)]
pub struct Warning {
    pub query: Option<&'static str>,
    pub message: String,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.query.and_then(query) {
            Some(q) => write!(
                f,
                "{}: {} (query `{}`, saved as {}.json)",
                q.name, self.message, q.promql, q.name
            ),
            None => write!(f, "{}", self.message),
        }
    }
}

/// Why no scenario could be written.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ImportError {
    #[error("{}", missing_text(.0))]
    Missing(Vec<&'static str>),
    #[error("{query}.json: {message} (query `{}`)", promql_of(.query))]
    Insufficient {
        query: &'static str,
        message: String,
    },
}

fn promql_of(name: &str) -> &'static str {
    query(name).map_or("", |q| q.promql)
}

fn missing_text(names: &[&'static str]) -> String {
    let lines: Vec<String> = names
        .iter()
        .filter_map(|n| query(n))
        .map(|q| {
            format!(
                "{}.json: missing: run `{}` over the period",
                q.name, q.promql
            )
        })
        .collect();
    lines.join("\n")
}

/// What the import produced.
#[derive(Clone, Debug)]
pub struct Imported {
    pub scenario_toml: String,
    pub targets_csv: String,
    pub warnings: Vec<Warning>,
}

/// Working hours used for per-user ratios, local seconds of day: away from
/// the morning arrivals, lunch (capsim's default 12:30 +- 30 min) and the
/// evening departures.
const CORE_HOURS: [(f64, f64); 2] = [
    (10.0 * 3600.0, 11.5 * 3600.0),
    (14.0 * 3600.0, 16.0 * 3600.0),
];
const DAY: f64 = 86_400.0;
/// capsim's defaults the ratios are relative to (README, scenario files).
const DEFAULT_DASHBOARD_PER_USER: f64 = 0.5;
const DEFAULT_ACTION_INTERVAL_S: f64 = 10.0;
const DEFAULT_AUTOSTOP_S: f64 = 3600.0;
const DEFAULT_CODERD_VCPU: f64 = 4.0;

/// The period: the time grid and the whole local days in it.
struct Period {
    step_s: f64,
    offset_s: f64,
    /// First whole local day (days since 1970-01-01, local) and how many.
    first_day: i64,
    n_days: i64,
}

impl Period {
    fn local(&self, t: f64) -> f64 {
        t + self.offset_s
    }
    /// Local day of a point. A point stands for the step before it (a
    /// rate over `[$STEP]` is; an instant is read as the step it ends).
    fn day_of(&self, t: f64) -> i64 {
        (self.local(t - self.step_s / 2.0) / DAY).floor() as i64
    }
    /// Local time of day of the middle of a point's step.
    fn tod(&self, t: f64) -> f64 {
        self.local(t - self.step_s / 2.0).rem_euclid(DAY)
    }
    fn in_days(&self, t: f64) -> bool {
        let d = self.day_of(t);
        d >= self.first_day && d < self.first_day + self.n_days
    }
    fn weekday(day: i64) -> i64 {
        // 1970-01-01 was a Thursday; 0 = Monday.
        (day + 3).rem_euclid(7)
    }
    fn is_weekend(day: i64) -> bool {
        Self::weekday(day) >= 5
    }
    fn core(&self, t: f64) -> bool {
        let tod = self.tod(t);
        !Self::is_weekend(self.day_of(t)) && CORE_HOURS.iter().any(|(a, b)| tod >= *a && tod < *b)
    }
}

/// The answers, with the warnings found while reading them.
struct Reader<'a> {
    answers: &'a BTreeMap<String, Matrix>,
    warnings: Vec<Warning>,
}

impl<'a> Reader<'a> {
    fn get(&self, name: &'static str) -> Option<&'a Matrix> {
        self.answers.get(name)
    }
    /// The rounded median of a count over the steps, with a warning naming
    /// `q` when it varied (`what` it counts, and where to model the change).
    fn steady_count(&mut self, q: &'static str, xs: &[f64], what: &str, see: &str) -> f64 {
        let m = median(xs.to_vec()).unwrap_or(0.0).round().max(0.0);
        let (lo, hi) = xs
            .iter()
            .fold((f64::INFINITY, 0.0f64), |(a, b), x| (a.min(*x), b.max(*x)));
        if hi > lo {
            self.warn(
                q,
                format!(
                    "between {lo} and {hi} {what}: the scenario runs the median, {m}; see {see}"
                ),
            );
        }
        m
    }

    fn warn(&mut self, q: &'static str, message: impl Into<String>) {
        self.warnings.push(Warning {
            query: Some(q),
            message: message.into(),
        });
    }
}

fn finite(points: &[(f64, f64)]) -> impl Iterator<Item = (f64, f64)> + '_ {
    points.iter().copied().filter(|p| p.1.is_finite())
}

/// Per timestamp, the sum over the series `keep` selects (points that are
/// NaN or missing count as absent, not 0).
fn sum_by_time<'m>(
    m: &'m Matrix,
    keep: impl Fn(&BTreeMap<String, String>) -> bool + 'm,
) -> BTreeMap<i64, (f64, f64)> {
    let mut out: BTreeMap<i64, (f64, f64)> = BTreeMap::new();
    for s in m.series.iter().filter(|s| keep(&s.labels)) {
        for (t, v) in finite(&s.points) {
            let e = out.entry(ms(t)).or_insert((t, 0.0));
            e.1 += v;
        }
    }
    out
}

fn ms(t: f64) -> i64 {
    (t * 1000.0).round() as i64
}

fn label<'a>(l: &'a BTreeMap<String, String>, k: &str) -> &'a str {
    l.get(k).map_or("", String::as_str)
}

fn median(mut xs: Vec<f64>) -> Option<f64> {
    xs.retain(|x| x.is_finite());
    if xs.is_empty() {
        return None;
    }
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    Some(if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    })
}

/// Find the period: the step and the whole local days the `workspaces`
/// gauge covers.
fn period(r: &mut Reader, offset_s: f64) -> Result<Period, ImportError> {
    let mut times: Vec<f64> = r
        .answers
        .values()
        .flat_map(|m| m.series.iter().flat_map(|s| s.points.iter().map(|p| p.0)))
        .collect();
    times.sort_by(f64::total_cmp);
    times.dedup();
    let diffs: Vec<f64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    let step_s = median(diffs)
        .filter(|s| *s > 0.0)
        .ok_or(ImportError::Insufficient {
            query: "workspaces",
            message: "fewer than two points in time: nothing to read".into(),
        })?;
    let ws = r.get("workspaces").expect("required");
    let gauge = sum_by_time(ws, |_| true);
    let per_day = (DAY / step_s).round();
    let mut counts: BTreeMap<i64, f64> = BTreeMap::new();
    for (t, _) in gauge.values() {
        let mid = t + offset_s - step_s / 2.0;
        *counts.entry((mid / DAY).floor() as i64).or_default() += 1.0;
    }
    let whole: Vec<i64> = counts
        .iter()
        .filter(|(_, n)| **n >= 0.9 * per_day)
        .map(|(d, _)| *d)
        .collect();
    // The longest run of consecutive whole days.
    let (mut best, mut cur) = ((0i64, 0i64), (0i64, 0i64));
    for (i, d) in whole.iter().enumerate() {
        if i > 0 && *d == whole[i - 1] + 1 {
            cur.1 += 1;
        } else {
            cur = (*d, 1);
        }
        if cur.1 > best.1 {
            best = cur;
        }
    }
    if best.1 == 0 {
        return Err(ImportError::Insufficient {
            query: "workspaces",
            message: format!(
                "no whole day (local time) with at least 90% of its {per_day} steps: run the queries over a whole week"
            ),
        });
    }
    let p = Period {
        step_s,
        offset_s,
        first_day: best.0,
        n_days: best.1,
    };
    if p.n_days < 7 {
        r.warn(
            "workspaces",
            format!(
                "the answers cover {} whole day(s), not a week: weekday and weekend shapes are read from what there is",
                p.n_days
            ),
        );
    }
    Ok(p)
}

/// Warnings for partial answers: series with missing or NaN points inside
/// the whole days, Prometheus's own warnings, native histograms.
fn check_partial(r: &mut Reader, p: &Period) {
    let expected = (p.n_days as f64 * DAY / p.step_s).round() as usize;
    let names: Vec<&'static str> = QUERIES.iter().map(|q| q.name).collect();
    for name in names {
        let Some(m) = r.get(name) else { continue };
        let mut gaps = 0usize;
        let mut nans = 0usize;
        let mut partial = 0usize;
        for s in &m.series {
            let inside: Vec<&(f64, f64)> = s.points.iter().filter(|x| p.in_days(x.0)).collect();
            let nan = inside.iter().filter(|x| !x.1.is_finite()).count();
            let missing = expected.saturating_sub(inside.len());
            if nan + missing > 0 {
                partial += 1;
                nans += nan;
                gaps += missing;
            }
        }
        let mut msgs = Vec::new();
        if partial > 0 {
            msgs.push(format!(
                "{partial} of {} series are partial ({gaps} steps missing, {nans} NaN, of {expected} per series): those steps are left out",
                m.series.len()
            ));
        }
        if m.series.is_empty() {
            msgs.push("the answer has no series".into());
        }
        for w in &m.warnings {
            msgs.push(format!("Prometheus warned: {w}"));
        }
        if m.native_histograms > 0 {
            msgs.push(format!(
                "{} series are native histograms, which capsim does not read",
                m.native_histograms
            ));
        }
        for msg in msgs {
            r.warn(name, msg);
        }
    }
}

/// Cumulative `(le, count)` of a bucket query's series that `keep` selects,
/// over the whole days (rates times the step), `+Inf` last.
fn buckets_over_period(
    m: &Matrix,
    p: &Period,
    keep: impl Fn(&BTreeMap<String, String>) -> bool,
) -> Vec<(f64, f64)> {
    let mut by_le: BTreeMap<i64, (f64, f64)> = BTreeMap::new();
    for s in m.series.iter().filter(|s| keep(&s.labels)) {
        let Some(le) = s
            .labels
            .get("le")
            .and_then(|v| super::response::parse_value(v))
        else {
            continue;
        };
        let k = if le.is_infinite() {
            i64::MAX
        } else {
            (le * 1e6).round() as i64
        };
        let e = by_le.entry(k).or_insert((le, 0.0));
        for (t, v) in finite(&s.points) {
            if p.in_days(t) {
                e.1 += v * p.step_s;
            }
        }
    }
    let mut out: Vec<(f64, f64)> = by_le.into_values().collect();
    // Counts never decrease along `le` (a missing point must not break that).
    for i in 1..out.len() {
        out[i].1 = out[i].1.max(out[i - 1].1);
    }
    if out.last().is_some_and(|x| !x.0.is_infinite()) {
        let last = out.last().expect("non-empty").1;
        out.push((f64::INFINITY, last));
    }
    out
}

/// Mean of a distribution given by cumulative buckets, each bucket at its
/// middle (`+Inf`: at its lower edge).
fn bucket_mean(cum: &[(f64, f64)]) -> Option<f64> {
    let total = cum.last()?.1;
    if !(total > 0.0) {
        return None;
    }
    let (mut lo, mut below, mut acc) = (0.0, 0.0, 0.0);
    for &(le, c) in cum {
        let mid = if le.is_infinite() {
            lo
        } else {
            (lo + le) / 2.0
        };
        acc += (c - below) * mid;
        lo = le;
        below = c;
    }
    Some(acc / total)
}

fn transition(l: &BTreeMap<String, String>) -> String {
    label(l, "workspace_transition").to_ascii_lowercase()
}

fn succeeded(l: &BTreeMap<String, String>) -> bool {
    let s = label(l, "status").to_ascii_lowercase();
    s.is_empty() || s.starts_with("succe")
}

/// Turn the answers into a scenario and targets.
pub fn import(
    answers: &BTreeMap<String, Matrix>,
    opts: &ImportOptions,
) -> Result<Imported, ImportError> {
    let missing: Vec<&'static str> = QUERIES
        .iter()
        .filter(|q| q.required && !answers.contains_key(q.name))
        .map(|q| q.name)
        .collect();
    if !missing.is_empty() {
        return Err(ImportError::Missing(missing));
    }
    let mut r = Reader {
        answers,
        warnings: Vec::new(),
    };
    for q in QUERIES.iter().filter(|q| !q.required) {
        if !answers.contains_key(q.name) {
            r.warn(
                q.name,
                format!("no answer: {} keep capsim's defaults", q.gives),
            );
        }
    }
    for q in QUERIES.iter().filter(|q| q.required) {
        if answers[q.name]
            .series
            .iter()
            .all(|s| finite(&s.points).next().is_none())
        {
            return Err(ImportError::Insufficient {
                query: q.name,
                message: "the answer has no values: check the query's selector against your labels"
                    .into(),
            });
        }
    }
    let p = period(&mut r, opts.utc_offset_s)?;
    check_partial(&mut r, &p);

    let builds = r.get("builds").expect("required");
    let build_time = r.get("build_time").expect("required");

    // ---- templates --------------------------------------------------
    let mut names: Vec<String> = Vec::new();
    for s in builds.series.iter().chain(&build_time.series) {
        let n = label(&s.labels, "template_name").to_string();
        if !names.contains(&n) {
            names.push(n);
        }
    }
    let count_in = |m: &Matrix, keep: &dyn Fn(&BTreeMap<String, String>) -> bool| -> f64 {
        m.series
            .iter()
            .filter(|s| keep(&s.labels))
            .flat_map(|s| finite(&s.points))
            .filter(|(t, _)| p.in_days(*t))
            .map(|(_, v)| v * p.step_s)
            .sum()
    };
    let pooled_fail = {
        let failed = count_in(builds, &|l| transition(l) == "start" && !succeeded(l));
        let ok = count_in(builds, &|l| transition(l) == "start" && succeeded(l));
        (failed + ok > 0.0).then(|| failed / (failed + ok))
    };
    let has_template_failures = builds
        .series
        .iter()
        .any(|s| !succeeded(&s.labels) && !label(&s.labels, "template_name").is_empty());
    let pooled_build = lognormal_from_buckets(&buckets_over_period(build_time, &p, |l| {
        transition(l) == "start"
    }));
    let mut templates: Vec<TemplateOut> = Vec::new();
    for n in names.iter().filter(|n| !n.is_empty() || names.len() == 1) {
        let of = |l: &BTreeMap<String, String>| label(l, "template_name") == n;
        let starts = count_in(builds, &|l| {
            of(l) && transition(l) == "start" && succeeded(l)
        });
        let build = lognormal_from_buckets(&buckets_over_period(build_time, &p, |l| {
            of(l) && transition(l) == "start"
        }));
        let stop = lognormal_from_buckets(&buckets_over_period(build_time, &p, |l| {
            of(l) && transition(l) == "stop"
        }));
        let failure_probability = if has_template_failures {
            let failed = count_in(builds, &|l| {
                of(l) && transition(l) == "start" && !succeeded(l)
            });
            (failed + starts > 0.0).then(|| failed / (failed + starts))
        } else {
            pooled_fail
        };
        templates.push(TemplateOut {
            name: if n.is_empty() {
                "imported".into()
            } else {
                n.clone()
            },
            starts,
            build,
            stop,
            failure_probability,
        });
    }
    templates.retain(|t| t.starts > 0.0 || t.build.is_some());
    if templates.is_empty() {
        return Err(ImportError::Insufficient {
            query: "builds",
            message: "no successful START build in the whole days of the period".into(),
        });
    }
    if pooled_build.is_none() {
        return Err(ImportError::Insufficient {
            query: "build_time",
            message:
                "no START build timings (or all in one open-ended bucket): no build time to fit"
                    .into(),
        });
    }
    for t in &mut templates {
        if t.build.is_none() {
            r.warn(
                "build_time",
                format!(
                    "template {:?} has no START timings of its own: it gets every template's",
                    t.name
                ),
            );
            t.build = pooled_build.clone();
        }
    }
    let total_starts: f64 = templates.iter().map(|t| t.starts).sum();
    let mean_build_s = templates
        .iter()
        .map(|t| t.build.as_ref().map_or(0.0, |b| b.mean()) * t.starts)
        .sum::<f64>()
        / total_starts.max(1e-9);
    let mean_stop_s = {
        let w: f64 = templates
            .iter()
            .filter(|t| t.stop.is_some())
            .map(|t| t.starts)
            .sum();
        (w > 0.0).then(|| {
            templates
                .iter()
                .filter_map(|t| Some(t.stop.as_ref()?.mean() * t.starts))
                .sum::<f64>()
                / w
        })
    };
    let queue_cum = r
        .get("queue_wait")
        .map(|m| buckets_over_period(m, &p, |_| true));
    let mean_wait_s = queue_cum.as_deref().and_then(bucket_mean);

    // ---- users --------------------------------------------------------
    let mut starts_by_day: BTreeMap<i64, f64> = (p.first_day..p.first_day + p.n_days)
        .map(|d| (d, 0.0))
        .collect();
    let mut arrivals: Vec<(f64, f64)> = Vec::new();
    let mut departures: Vec<(f64, f64)> = Vec::new();
    // Per weekday: (time of day, +arrivals / -departures), for users present.
    let mut moves: BTreeMap<i64, Vec<(f64, f64)>> = BTreeMap::new();
    let mut stops_weekdays = 0.0;
    let mut hourly = [0.0f64; 24];
    for s in &builds.series {
        if !succeeded(&s.labels) {
            continue;
        }
        let tr = transition(&s.labels);
        for (t, v) in finite(&s.points) {
            if !p.in_days(t) {
                continue;
            }
            let n = v * p.step_s;
            let d = p.day_of(t);
            let tod = p.tod(t);
            if tr == "start" {
                *starts_by_day.entry(d).or_default() += n;
                if !Period::is_weekend(d) {
                    let at = tod - mean_build_s - mean_wait_s.unwrap_or(0.0);
                    arrivals.push((at, n));
                    moves.entry(d).or_default().push((at, n));
                    hourly[(tod / 3600.0) as usize % 24] += n;
                }
            } else if tr == "stop" && !Period::is_weekend(d) {
                stops_weekdays += n;
                let at = tod - mean_stop_s.unwrap_or(0.0) - DEFAULT_AUTOSTOP_S;
                departures.push((at, n));
                moves.entry(d).or_default().push((at, -n));
            }
        }
    }
    let weekday_days: Vec<f64> = starts_by_day
        .iter()
        .filter(|(d, _)| !Period::is_weekend(**d))
        .map(|(_, n)| *n)
        .collect();
    let weekend_days: Vec<f64> = starts_by_day
        .iter()
        .filter(|(d, _)| Period::is_weekend(**d))
        .map(|(_, n)| *n)
        .collect();
    let weekday_users = crate::result::mean(&weekday_days);
    if weekday_days.is_empty() || !(weekday_users >= 0.5) {
        return Err(ImportError::Insufficient {
            query: "builds",
            message: "no successful START build on a whole weekday: there are no users to read"
                .into(),
        });
    }
    let n_users = weekday_users.round().max(1.0);
    let weekend_fraction = (!weekend_days.is_empty())
        .then(|| (crate::result::mean(&weekend_days) / weekday_users).clamp(0.0, 1.0));
    if weekend_fraction.is_none() {
        r.warn(
            "builds",
            "no whole weekend day in the period: weekend activity keeps capsim's default",
        );
    }
    let (start_mean, start_sd) = weighted_moments(&arrivals).expect("weekday starts > 0");
    let session = weighted_moments(&departures)
        .filter(|_| stops_weekdays >= 0.5 * weekday_users * weekday_days.len() as f64)
        .map(|(m, sd)| {
            let len_mean = (m - start_mean).max(600.0);
            let len_sd = (sd * sd - start_sd * start_sd).max(300.0 * 300.0).sqrt();
            (len_mean, len_sd)
        });
    if session.is_none() {
        r.warn(
            "builds",
            "fewer weekday STOP builds than half the START builds (workspaces that never stop?): session length keeps capsim's default",
        );
    }

    // ---- architecture -------------------------------------------------
    let cpu = r.get("coderd_cpu").expect("required");
    let mut per_step: BTreeMap<i64, (usize, f64)> = BTreeMap::new();
    let mut per_instance_peak: f64 = 0.0;
    for s in &cpu.series {
        for (t, v) in finite(&s.points) {
            if p.in_days(t) {
                let e = per_step.entry(ms(t)).or_default();
                e.0 += 1;
                e.1 += v;
                per_instance_peak = per_instance_peak.max(v);
            }
        }
    }
    let replica_counts: Vec<f64> = per_step.values().map(|x| x.0 as f64).collect();
    let replicas = r
        .steady_count(
            "coderd_cpu",
            &replica_counts,
            "coderd instances reported CPU (an autoscaler, or restarts)",
            "[autoscaling.coderd]",
        )
        .max(1.0);
    let vcpu = DEFAULT_CODERD_VCPU.max((per_instance_peak / 0.8).ceil());
    let provisioners = r.get("provisioners").expect("required");
    let daemons_series: Vec<f64> = sum_by_time(provisioners, |_| true)
        .values()
        .filter(|(t, _)| p.in_days(*t))
        .map(|x| x.1)
        .collect();
    let daemons = r.steady_count(
        "provisioners",
        &daemons_series,
        "daemons over the period",
        "[autoscaling.provisioners]",
    );

    // ---- per-user ratios in working hours -----------------------------
    // Users present at a step of a weekday: that day's arrivals less its
    // departures so far (the running workspaces would also count the
    // workspaces of users who left, until autostop stops them).
    for m in moves.values_mut() {
        m.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut acc = 0.0;
        for x in m.iter_mut() {
            acc += x.1;
            x.1 = acc;
        }
    }
    let present = |t: f64| -> f64 {
        let Some(m) = moves.get(&p.day_of(t)) else {
            return 0.0;
        };
        let i = m.partition_point(|x| x.0 <= p.tod(t));
        if i == 0 { 0.0 } else { m[i - 1].1.max(0.0) }
    };
    let ws = sum_by_time(r.get("workspaces").expect("required"), |_| true);
    // Sum of `m` over the steps `when` selects, divided by the sum of `per`
    // over the same steps.
    let ratio = |m: &Matrix,
                 keep: &dyn Fn(&BTreeMap<String, String>) -> bool,
                 when: &dyn Fn(f64) -> bool,
                 per: &dyn Fn(i64, f64) -> Option<f64>|
     -> Option<f64> {
        let (mut num_, mut den) = (0.0, 0.0);
        for (k, (t, v)) in &sum_by_time(m, keep) {
            if !(p.in_days(*t) && when(*t)) {
                continue;
            }
            if let Some(w) = per(*k, *t) {
                num_ += v;
                den += w;
            }
        }
        (den > 0.0).then(|| num_ / den)
    };
    let per_present = |_: i64, t: f64| Some(present(t));
    let per_agent = |k: i64, _: f64| ws.get(&k).map(|x| x.1);
    let ratio_to_present = |m: &Matrix, keep: &dyn Fn(&BTreeMap<String, String>) -> bool| {
        ratio(m, keep, &|t| p.core(t), &per_present)
    };
    let sessions = r.get("sessions");
    let per_user = |names: &[&str]| -> Option<f64> {
        let m = sessions?;
        if !m
            .series
            .iter()
            .any(|s| names.contains(&label(&s.labels, "__name__")))
        {
            return None;
        }
        ratio_to_present(m, &|l| names.contains(&label(l, "__name__")))
    };
    let ssh = per_user(&["coderd_agentstats_session_count_ssh"]);
    let ide = per_user(&[
        "coderd_agentstats_session_count_vscode",
        "coderd_agentstats_session_count_jetbrains",
    ]);
    let pty = per_user(&["coderd_agentstats_session_count_reconnecting_pty"]);
    if sessions.is_some() {
        for (kind, v) in [("ssh", ssh), ("ide", ide), ("web_terminal", pty)] {
            if v.is_none() {
                r.warn(
                    "sessions",
                    format!("no series for {kind} sessions: they keep capsim's default"),
                );
            }
        }
    }
    let api = r.get("api_requests");
    let class_of = |l: &BTreeMap<String, String>| route_class(label(l, "path"));
    let dash_rate_per_user = api.and_then(|m| ratio_to_present(m, &|l| class_of(l) == "dashboard"));
    let requests_per_action = dash_rate_per_user
        .map(|x| x * DEFAULT_ACTION_INTERVAL_S / DEFAULT_DASHBOARD_PER_USER)
        .filter(|x| *x > 0.0);
    let metadata_per_agent = r
        .get("metadata")
        .and_then(|m| ratio(m, &|_| true, &|_| true, &per_agent))
        .filter(|x| *x > 0.0);

    let derived = Derived {
        source: opts.source.clone(),
        name: opts.name.clone(),
        model: opts.model.clone(),
        utc_offset_s: opts.utc_offset_s,
        n_days: p.n_days,
        step_s: p.step_s,
        first_weekday: Period::weekday(p.first_day) as usize,
        replicas,
        per_instance_peak,
        vcpu,
        daemons,
        weekday_users,
        n_users,
        weekend_fraction,
        mean_wait_s,
        mean_build_s,
        start: (start_mean, start_sd),
        session,
        hourly_per_weekday: hourly.map(|n| n / weekday_days.len() as f64),
        metadata_per_agent,
        sessions_per_user: [ssh, ide, pty],
        dash_rate_per_user,
        requests_per_action,
        templates,
        has_template_failures,
        total_starts,
    };
    let scenario_toml = super::scenario_text::render(&derived);
    let targets = targets_csv(&mut r, &p, opts, queue_cum.as_deref());
    Ok(Imported {
        scenario_toml,
        targets_csv: targets,
        warnings: r.warnings,
    })
}

/// Selects series by their labels.
type Keep = dyn Fn(&BTreeMap<String, String>) -> bool;

/// One row of the targets file.
struct Row {
    metric: &'static str,
    labels: String,
    stat: &'static str,
    measured: Option<f64>,
    range: Option<(f64, f64)>,
    unit: &'static str,
    weight: f64,
    query: &'static Query,
    notes: String,
}

fn targets_csv(
    r: &mut Reader,
    p: &Period,
    opts: &ImportOptions,
    queue: Option<&[(f64, f64)]>,
) -> String {
    let mut rows: Vec<Row> = Vec::new();
    let q = |n: &str| query(n).expect("a known query");
    let step_values = |m: &Matrix, keep: &dyn Fn(&BTreeMap<String, String>) -> bool| -> Vec<f64> {
        sum_by_time(m, keep)
            .values()
            .filter(|(t, _)| p.in_days(*t))
            .map(|x| x.1)
            .collect()
    };
    let mean_of = |xs: &[f64]| (!xs.is_empty()).then(|| crate::result::mean(xs));
    if let Some(m) = r.get("coderd_cpu") {
        let xs = step_values(m, &|_| true);
        if let Some(v) = median(xs.clone()) {
            rows.push(Row {
                metric: m::CODERD_CPU_CORES,
                labels: String::new(),
                stat: "p50",
                measured: Some(v),
                range: None,
                unit: "vCPU",
                weight: 1.0,
                query: q("coderd_cpu"),
                notes: "median over the steps of the period of the CPU of every instance together"
                    .into(),
            });
            rows.push(Row {
                metric: m::CODERD_CPU_CORES,
                labels: String::new(),
                stat: "peak",
                measured: Some(xs.iter().copied().fold(0.0, f64::max)),
                range: None,
                unit: "vCPU",
                weight: 1.0,
                query: q("coderd_cpu"),
                notes: "largest step (capsim: the largest bucket mean; the scenario's bucket is the step)".into(),
            });
        }
    }
    if let Some(m) = r.get("api_requests") {
        let classes = ROUTES.iter().map(|x| x.class).chain(["total"]);
        for c in classes {
            let keep =
                |l: &BTreeMap<String, String>| c == "total" || route_class(label(l, "path")) == c;
            if let Some(v) = mean_of(&step_values(m, &keep)) {
                let routes = if c == "total" {
                    "every route".to_string()
                } else {
                    format!("the routes of class {c} (README, route classes)")
                };
                rows.push(Row {
                    metric: m::API_REQUESTS_PER_SECOND,
                    labels: format!("class={c}"),
                    stat: "mean",
                    measured: Some(v),
                    range: None,
                    unit: "req/s",
                    weight: 0.0,
                    query: q("api_requests"),
                    notes: format!("mean over the period of {routes}; a check of the workload"),
                });
            }
        }
    }
    if let Some(m) = r.get("api_latency") {
        for c in ROUTES.iter().map(|x| x.class) {
            let cum = buckets_over_period(m, p, |l| route_class(label(l, "path")) == c);
            for (stat, qq) in [("p50", 0.5), ("p95", 0.95)] {
                match bucket_quantile(&cum, qq) {
                    Some((lo, hi, _)) if hi.is_finite() => rows.push(Row {
                        metric: m::API_LATENCY_SECONDS,
                        labels: format!("class={c}"),
                        stat,
                        measured: None,
                        range: Some((lo, hi)),
                        unit: "s",
                        weight: 1.0,
                        query: q("api_latency"),
                        notes: format!("the bucket of coderd_api_request_latencies_seconds that holds the {stat} of class {c} over the period"),
                    }),
                    Some(_) => r.warn("api_latency", format!("the {stat} of class {c} is above the last bucket (30 s): no target")),
                    None => {}
                }
            }
        }
    }
    if let Some(cum) = queue {
        for (stat, qq) in [("p50", 0.5), ("p95", 0.95)] {
            if let Some((lo, hi, _)) = bucket_quantile(cum, qq).filter(|x| x.1.is_finite()) {
                rows.push(Row {
                    metric: m::BUILD_QUEUE_WAIT_SECONDS,
                    labels: String::new(),
                    stat,
                    measured: None,
                    range: Some((lo, hi)),
                    unit: "s",
                    weight: 0.0,
                    query: q("queue_wait"),
                    notes: format!("the bucket of coderd_provisioner_job_queue_wait_seconds that holds the {stat} over the period"),
                });
            }
        }
    }
    let gauges: [(&str, &'static str, &str, &Keep); 7] = [
        ("workspaces", m::CONNECTIONS_ACTIVE, "kind=agent", &|_| true),
        ("provisioner_jobs", m::PROVISIONER_BUSY_DAEMONS, "", &|_| {
            true
        }),
        ("websockets", m::CODERD_WEBSOCKETS, "", &|_| true),
        ("sessions", m::CONNECTIONS_ACTIVE, "kind=ssh", &|l| {
            label(l, "__name__") == "coderd_agentstats_session_count_ssh"
        }),
        ("sessions", m::CONNECTIONS_ACTIVE, "kind=ide", &|l| {
            let n = label(l, "__name__");
            n == "coderd_agentstats_session_count_vscode"
                || n == "coderd_agentstats_session_count_jetbrains"
        }),
        (
            "sessions",
            m::CONNECTIONS_ACTIVE,
            "kind=web_terminal",
            &|l| label(l, "__name__") == "coderd_agentstats_session_count_reconnecting_pty",
        ),
        ("metadata", m::AGENT_METADATA_ITEMS_PER_SECOND, "", &|_| {
            true
        }),
    ];
    for (qn, metric, labels, keep) in gauges {
        let Some(m) = r.get(qn) else { continue };
        let rate = query(qn).is_some_and(|x| x.spec.rate);
        if let Some(v) = mean_of(&step_values(m, keep)) {
            rows.push(Row {
                metric,
                labels: labels.into(),
                stat: "mean",
                measured: Some(v),
                range: None,
                unit: if rate { "1/s" } else { "count" },
                weight: 0.0,
                query: q(qn),
                notes: "mean over the period; a check of the workload".into(),
            });
        }
    }
    if let Some(m) = r.get("builds") {
        let xs = step_values(m, &succeeded);
        if let Some(v) = mean_of(&xs) {
            rows.push(Row {
                metric: m::BUILDS_COMPLETED_TOTAL,
                labels: String::new(),
                stat: "rate",
                measured: Some(v),
                range: None,
                unit: "1/s",
                weight: 0.0,
                query: q("builds"),
                notes: "successful builds of every transition per second, over the period".into(),
            });
        }
    }
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record([
        "scenario", "metric", "labels", "stat", "measured", "low", "high", "unit", "weight",
        "source", "notes",
    ]);
    for row in rows {
        let f = |x: Option<f64>| x.map(num).unwrap_or_default();
        let _ = w.write_record([
            opts.scenario_ref.clone(),
            row.metric.to_string(),
            row.labels,
            row.stat.to_string(),
            f(row.measured),
            f(row.range.map(|x| x.0)),
            f(row.range.map(|x| x.1)),
            row.unit.to_string(),
            num(row.weight),
            format!(
                "Prometheus query {} ({}): {}",
                row.query.name, opts.source, row.query.promql
            ),
            row.notes,
        ]);
    }
    let body = String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default();
    format!(
        "# Targets imported by `capsim import prometheus` from {} for `capsim calibrate`\n# (format: src/calibrate/targets.rs); each row names the query it comes from.\n{body}",
        opts.source
    )
}
