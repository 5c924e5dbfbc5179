//! Prometheus's answers to the documented queries, computed from a run's
//! OpenMetrics export as Prometheus would compute them once the export is
//! loaded (ideal: a rate is the increase over the step divided by the step,
//! without Prometheus's extrapolation at the edges).
#![allow(dead_code)] // each test crate uses a different subset

use capsim::prom::mapping::{Kind, QUERIES, Query};
use capsim::prom::openmetrics::{Family, PointValue};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// A series of an answer: its labels and `(unix time, value)` points.
pub type AnswerSeries = (BTreeMap<String, String>, Vec<(f64, f64)>);

/// One sample series: its labels (with `__name__`) and `(time, value)` points.
struct Samples {
    labels: BTreeMap<String, String>,
    points: Vec<(f64, f64)>,
}

/// The sample series an exposition holds under `sample` (a counter's
/// `_total`, a gauge's name, a histogram's `_bucket`, `_count` or `_sum`).
fn samples(fams: &[Family], sample: &str) -> Vec<Samples> {
    let mut out = Vec::new();
    for f in fams {
        let part = sample.strip_prefix(f.name.as_str()).unwrap_or("?");
        let ok = match f.kind {
            Kind::Counter => part == "_total",
            Kind::Gauge => part.is_empty(),
            Kind::Histogram => matches!(part, "_bucket" | "_count" | "_sum"),
        };
        if !ok {
            continue;
        }
        for s in &f.series {
            let mut base = s.labels.clone();
            base.insert("__name__".into(), sample.to_string());
            if part == "_bucket" {
                let mut per_le: BTreeMap<String, Samples> = BTreeMap::new();
                for p in &s.points {
                    let PointValue::Histogram { buckets, .. } = &p.value else {
                        continue;
                    };
                    for (le, c) in buckets {
                        let le = if le.is_infinite() {
                            "+Inf".to_string()
                        } else {
                            capsim::engine::metrics::le_label(*le)
                        };
                        per_le
                            .entry(le.clone())
                            .or_insert_with(|| {
                                let mut l = base.clone();
                                l.insert("le".into(), le);
                                Samples {
                                    labels: l,
                                    points: Vec::new(),
                                }
                            })
                            .points
                            .push((p.t_unix_s, *c));
                    }
                }
                out.extend(per_le.into_values());
            } else {
                let points =
                    s.points
                        .iter()
                        .map(|p| {
                            let v =
                                match &p.value {
                                    PointValue::Number(v) => *v,
                                    PointValue::Histogram { count, sum, .. } => {
                                        if part == "_count" { *count } else { *sum }
                                    }
                                };
                            (p.t_unix_s, v)
                        })
                        .collect();
                out.push(Samples {
                    labels: base,
                    points,
                });
            }
        }
    }
    out
}

/// `q`'s answer as the series Prometheus would return: `(labels, points)`.
pub fn evaluate(q: &Query, fams: &[Family]) -> Vec<AnswerSeries> {
    let spec = &q.spec;
    // `metadata`: coderd's batcher stores every metadata item agents send,
    // so the rate of `coderd_agentapi_metadata_batch_size_sum` is capsim's
    // items per second (which capsim exports as its own gauge).
    let (series, rate): (Vec<Samples>, bool) = if q.name == "metadata" {
        (
            samples(fams, "capsim_agent_metadata_items_per_second"),
            false,
        )
    } else {
        (
            spec.samples.iter().flat_map(|s| samples(fams, s)).collect(),
            spec.rate,
        )
    };
    let mut groups: BTreeMap<Vec<String>, BTreeMap<i64, (f64, f64)>> = BTreeMap::new();
    for s in series {
        if !spec
            .matchers
            .iter()
            .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        {
            continue;
        }
        let key: Vec<String> = spec
            .by
            .iter()
            .map(|k| s.labels.get(*k).cloned().unwrap_or_default())
            .collect();
        let g = groups.entry(key).or_default();
        let values: Vec<(f64, f64)> = if rate {
            s.points
                .windows(2)
                .map(|w| (w[1].0, (w[1].1 - w[0].1) / (w[1].0 - w[0].0)))
                .collect()
        } else {
            s.points.clone()
        };
        for (t, v) in values {
            let e = g.entry((t * 1000.0).round() as i64).or_insert((t, 0.0));
            e.1 += v;
        }
    }
    groups
        .into_iter()
        .map(|(key, pts)| {
            let labels = spec
                .by
                .iter()
                .zip(key)
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, v)| (k.to_string(), v))
                .collect();
            (labels, pts.into_values().collect())
        })
        .collect()
}

/// A value as Prometheus writes it in JSON (a string; `NaN`, `+Inf`).
pub fn value_text(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        format!("{v}")
    }
}

/// A timestamp as Prometheus writes it: seconds, with milliseconds only
/// when there are any (`1741564800`, `1741564800.5`).
pub fn timestamp(t: f64) -> Value {
    let ms = (t * 1000.0).round() as i64;
    if ms % 1000 == 0 {
        json!(ms / 1000)
    } else {
        json!(ms as f64 / 1000.0)
    }
}

/// The JSON text of a `query_range` answer holding `series`.
pub fn answer_json(series: &[AnswerSeries]) -> String {
    let result: Vec<Value> = series
        .iter()
        .map(|(labels, points)| {
            let values: Vec<Value> = points
                .iter()
                .map(|(t, v)| json!([timestamp(*t), value_text(*v)]))
                .collect();
            json!({ "metric": labels, "values": values })
        })
        .collect();
    json!({"status": "success", "data": {"resultType": "matrix", "result": result}}).to_string()
}

/// Every documented query's answer (`<name>.json` text) from an export.
pub fn answers(fams: &[Family]) -> BTreeMap<&'static str, String> {
    QUERIES
        .iter()
        .map(|q| (q.name, answer_json(&evaluate(q, fams))))
        .collect()
}
