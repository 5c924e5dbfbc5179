//! End of the run: CPU accounting per bucket and over the whole run, the
//! total coderd CPU derived from the per-replica series, and the saturation
//! verdicts read from the recorded series.

use super::*;
use crate::model::metric_names as m;

/// `coderd_cpu_cores`: the vCPUs in use across replicas, per bucket. The
/// time-weighted mean of a sum is the sum of the means, so it is derived
/// exactly from the per-replica utilisation series instead of being updated
/// on every request.
pub fn derive_total_cpu(
    s: &Scenario,
    metrics: &mut Vec<crate::engine::Metric>,
    series: &mut crate::engine::TimeSeries,
) {
    let vcpu = s.deployment.coderd.vcpu_per_replica;
    let n = series.n_buckets();
    let mut total = vec![0.0; n];
    let mut any = false;
    for sr in series
        .series
        .iter()
        .filter(|x| x.name == m::CODERD_CPU_UTILIZATION && x.stat == "mean")
    {
        any = true;
        // A replica absent in a bucket (NaN) contributes no cores.
        for (t, v) in total.iter_mut().zip(&sr.values) {
            if v.is_finite() {
                *t += v * vcpu;
            }
        }
    }
    if !any {
        return;
    }
    let mean = if n == 0 {
        0.0
    } else {
        total.iter().sum::<f64>() / n as f64
    };
    let mut sorted = total.clone();
    sorted.sort_by(f64::total_cmp);
    let p50 = if n == 0 {
        0.0
    } else if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    };
    let peak = sorted.last().copied().unwrap_or(0.0);
    for (stat, v) in [("mean", mean), ("p50", p50), ("peak", peak)] {
        metrics.push(crate::engine::Metric {
            name: m::CODERD_CPU_CORES.into(),
            stat: stat.into(),
            labels: Labels::new(),
            value: v,
            unit: "vCPU".into(),
        });
    }
    series.series.push(crate::engine::Series {
        name: m::CODERD_CPU_CORES.into(),
        stat: "mean".into(),
        labels: Labels::new(),
        unit: "vCPU".into(),
        values: total,
    });
}

impl World<'_> {
    /// Whole-run CPU accounting per replica: (busy core-seconds, work of the
    /// requests finished), both in core-seconds. They agree to rounding, less
    /// the work of requests still in service at the end.
    pub fn cpu_accounting(&mut self, end: SimTime) -> Vec<(f64, f64)> {
        self.replicas
            .iter_mut()
            .map(|r| {
                (
                    r.cpu_busy_before_s + r.cpu.busy_core_s(end),
                    r.cpu_work_done_s,
                )
            })
            .collect()
    }

    /// Start the per-bucket CPU accounting at the end of the warm-up.
    pub fn start_sampling(&mut self, at: SimTime) {
        for r in &mut self.replicas {
            r.used_mark_core_s = r.cpu_used_before_s + r.cpu.used_core_s(at);
            r.up_in_bucket = r.alive;
        }
        self.db_used_mark_core_s = self.db.used_core_s(at);
    }

    /// Close the open bucket at `end`: CPU utilisation of each replica and of
    /// the database over the bucket, from the exact busy core-seconds.
    pub fn sample_bucket(&mut self, end: SimTime) {
        let len_s = (end - self.rec.bucket_start()).as_secs_f64();
        if len_s <= 0.0 {
            return;
        }
        for i in 0..self.replicas.len() {
            let r = &mut self.replicas[i];
            let used = r.cpu_used_before_s + r.cpu.used_core_s(end);
            let util = if r.alive || r.up_in_bucket {
                ((used - r.used_mark_core_s) / (r.vcpu * len_s)).clamp(0.0, 1.0)
            } else {
                f64::NAN
            };
            r.used_mark_core_s = used;
            r.up_in_bucket = r.alive;
            let g = r.ids.util;
            self.rec.sample(g, util);
        }
        let used = self.db.used_core_s(end);
        let util = ((used - self.db_used_mark_core_s) / (self.db_vcpu * len_s)).clamp(0.0, 1.0);
        self.db_used_mark_core_s = used;
        self.rec.sample(self.ids.db_util, util);
    }

    /// Close the books: saturation verdicts from the recorded series.
    pub fn verdicts(&self, series: &crate::engine::TimeSeries) -> (bool, Vec<String>) {
        let mut saturated = false;
        let mut notes = self.notes.clone();
        let bucket_s = series.bucket_s;
        // A resource pinned at >= 99% for 5 minutes or more is saturated.
        let need = ((300.0 / bucket_s).ceil() as usize).max(1);
        for s in series.series.iter().filter(|s| {
            s.stat == "mean"
                && (s.name == m::CODERD_CPU_UTILIZATION
                    || s.name == m::DATABASE_CPU_UTILIZATION
                    || s.name == m::PROXY_CPU_UTILIZATION)
        }) {
            let mut run = 0;
            let mut first = None;
            for (i, v) in s.values.iter().enumerate() {
                if *v >= 0.99 {
                    run += 1;
                    if run >= need && first.is_none() {
                        first = Some(i + 1 - run);
                    }
                } else {
                    run = 0;
                }
            }
            if let Some(i) = first {
                saturated = true;
                let who = s
                    .labels
                    .values()
                    .next()
                    .map(|v| format!(" {v}"))
                    .unwrap_or_default();
                notes.push(format!(
                    "{}{who}: at 100% from {:.0} min for 5 min or more: requests queue without bound",
                    s.name.trim_end_matches("_cpu_utilization"),
                    (series.start_s + i as f64 * bucket_s) / 60.0
                ));
            }
        }
        if self.rejected_requests > 0 {
            saturated = true;
            notes.push(format!(
                "{} API requests refused: more than {MAX_IN_SERVICE} in service on one CPU",
                self.rejected_requests
            ));
        }
        (saturated, notes)
    }
}

/// Succeeded and lost API requests of one class (`""`: every class), per
/// bucket and over the run.
struct Tally {
    class: &'static str,
    ok: Vec<f64>,
    lost: Vec<f64>,
    ok_total: f64,
    lost_total: f64,
}

/// `api_success_ratio`: API requests that succeeded (finished, so counted in
/// `api_latency_seconds`) over those attempted (succeeded + lost, counted in
/// `api_errors_total`), over all API classes (no label) and by `class`;
/// `mean` over the run after the warm-up, `min` the worst bucket, and the
/// per-bucket series. Requests still in flight at the end count as neither.
/// Without any attempt there is no value (NaN: "no data"), never 1.
pub fn derive_success_ratio(
    metrics: &mut Vec<crate::engine::Metric>,
    series: &mut crate::engine::TimeSeries,
) {
    let n = series.n_buckets();
    let tally = |class| Tally {
        class,
        ok: vec![0.0; n],
        lost: vec![0.0; n],
        ok_total: 0.0,
        lost_total: 0.0,
    };
    let mut by_class: Vec<Tally> = RequestClass::API.iter().map(|c| tally(c.name())).collect();
    // Which tally a metric or series adds to, and whether as succeeded.
    let slot = |name: &str, stat: &str, labels: &Labels, by_class: &[Tally]| {
        let ok = match (name, stat) {
            (m::API_LATENCY_SECONDS, "count") => true,
            (m::API_ERRORS_TOTAL, "count" | "total") => false,
            _ => return None,
        };
        let class = labels.get("class")?;
        let i = by_class.iter().position(|t| t.class == class)?;
        Some((i, ok))
    };
    let mut any = false;
    for sr in &series.series {
        let Some((i, ok)) = slot(&sr.name, &sr.stat, &sr.labels, &by_class) else {
            continue;
        };
        any = true;
        let t = &mut by_class[i];
        let dst = if ok { &mut t.ok } else { &mut t.lost };
        for (d, v) in dst.iter_mut().zip(&sr.values) {
            if v.is_finite() {
                *d += v;
            }
        }
    }
    if !any {
        return;
    }
    for x in metrics.iter() {
        // Histograms' `count` and counters' `total` are the run's totals.
        if let Some((i, ok)) = slot(&x.name, &x.stat, &x.labels, &by_class) {
            let t = &mut by_class[i];
            *(if ok {
                &mut t.ok_total
            } else {
                &mut t.lost_total
            }) += x.value;
        }
    }
    let mut all = tally("");
    for t in &by_class {
        for i in 0..n {
            all.ok[i] += t.ok[i];
            all.lost[i] += t.lost[i];
        }
        all.ok_total += t.ok_total;
        all.lost_total += t.lost_total;
    }
    let ratio = |ok: f64, lost: f64| {
        if ok + lost > 0.0 {
            ok / (ok + lost)
        } else {
            f64::NAN
        }
    };
    for t in std::iter::once(all).chain(by_class) {
        let labels = if t.class.is_empty() {
            Labels::new()
        } else {
            labels([("class", t.class)])
        };
        let values: Vec<f64> =
            t.ok.iter()
                .zip(&t.lost)
                .map(|(&o, &l)| ratio(o, l))
                .collect();
        let worst = values
            .iter()
            .copied()
            .filter(|v| v.is_finite())
            .fold(f64::NAN, f64::min);
        for (stat, v) in [("mean", ratio(t.ok_total, t.lost_total)), ("min", worst)] {
            metrics.push(crate::engine::Metric {
                name: m::API_SUCCESS_RATIO.into(),
                stat: stat.into(),
                labels: labels.clone(),
                value: v,
                unit: "ratio".into(),
            });
        }
        series.series.push(crate::engine::Series {
            name: m::API_SUCCESS_RATIO.into(),
            stat: "mean".into(),
            labels,
            unit: "ratio".into(),
            values,
        });
    }
}

/// `workspace_node_hours_total` per pool: the time integral of
/// `workspace_nodes` after the warm-up (its time-weighted mean times the
/// span), in node-hours.
pub fn derive_node_hours(s: &Scenario, metrics: &mut Vec<crate::engine::Metric>) {
    let span_h = s.duration.saturating_sub(s.warmup).as_secs_f64() / 3600.0;
    let hours: Vec<crate::engine::Metric> = metrics
        .iter()
        .filter(|x| x.name == m::WORKSPACE_NODES && x.stat == "mean")
        .map(|x| crate::engine::Metric {
            name: m::WORKSPACE_NODE_HOURS_TOTAL.into(),
            stat: "total".into(),
            labels: x.labels.clone(),
            value: x.value * span_h,
            unit: "h".into(),
        })
        .collect();
    metrics.extend(hours);
}
