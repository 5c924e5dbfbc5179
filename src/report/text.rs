//! The human-readable summary table printed by `capsim run`.

use crate::engine::metrics::Labels;
use crate::result::Summary;
use std::fmt::Write;

/// A value in its unit, humanised (seconds as ms/s/min/h, ratios as %).
pub fn fmt_value(v: Option<f64>, unit: &str) -> String {
    let Some(v) = v else { return "-".into() };
    fmt_scaled(v, unit, v)
}

/// `Bound` as the symbol used in tables and plots.
pub fn bound_symbol(b: crate::scenario::Bound) -> &'static str {
    match b {
        crate::scenario::Bound::AtMost => "≤",
        crate::scenario::Bound::AtLeast => "≥",
    }
}

/// The decimal unit a size of `bytes` reads best in: (divisor, unit).
pub fn byte_unit(bytes: f64) -> (f64, &'static str) {
    [(1e12, "TB"), (1e9, "GB"), (1e6, "MB"), (1e3, "kB")]
        .into_iter()
        .find(|(k, _)| bytes.abs() >= *k)
        .unwrap_or((1.0, "B"))
}

/// `v` shown in the scale `reference` would be shown in (so an interval
/// reads `1.98 min .. 4.70 min`, not `118.95 s .. 4.7 min`).
fn fmt_scaled(v: f64, unit: &str, reference: f64) -> String {
    let a = reference.abs();
    match unit {
        "s" => {
            if a == 0.0 && v == 0.0 {
                "0 s".into()
            } else if a < 1.0 {
                format!("{:.1} ms", v * 1e3)
            } else if a < 120.0 {
                format!("{v:.2} s")
            } else if a < 7200.0 {
                format!("{:.1} min", v / 60.0)
            } else {
                format!("{:.2} h", v / 3600.0)
            }
        }
        "ratio" => format!("{:.1}%", v * 100.0),
        // Sizes in the decimal unit the reference reads best in.
        "B" | "B/s" => {
            let per_s = if unit == "B/s" { "/s" } else { "" };
            let (k, u) = byte_unit(a);
            format!("{} {u}{per_s}", fmt_scaled(v / k, "1", a / k))
        }
        _ => {
            let n = if a == 0.0 || a >= 100.0 {
                format!("{v:.0}")
            } else if a >= 1.0 {
                format!("{v:.2}")
            } else {
                format!("{v:.4}")
            };
            if unit == "1" || unit.is_empty() {
                n
            } else if unit == "1/s" {
                // A rate of events: "5.16/s", not "5.16 1/s".
                format!("{n}/s")
            } else {
                format!("{n} {unit}")
            }
        }
    }
}

/// A 95% interval in the scale of its mean, `lo .. hi` joined by `sep`;
/// empty when there is none.
pub fn fmt_interval(
    lo: Option<f64>,
    hi: Option<f64>,
    mean: Option<f64>,
    unit: &str,
    sep: &str,
) -> String {
    match (lo, hi) {
        (Some(lo), Some(hi)) => {
            let r = mean.unwrap_or(hi);
            format!(
                "{}{sep}{}",
                fmt_scaled(lo, unit, r),
                fmt_scaled(hi, unit, r)
            )
        }
        _ => String::new(),
    }
}

/// Labels as `{k=v,k2=v2}` (empty when there are none), Prometheus style.
pub fn braced(labels: &Labels) -> String {
    if labels.is_empty() {
        String::new()
    } else {
        let l: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("{{{}}}", l.join(","))
    }
}

/// Print a summary as an aligned table, with the replications' distinct
/// notes ([`crate::result::distinct_notes`]) and SLO verdicts.
pub fn summary_table(s: &Summary, notes: &[String]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "scenario {}  (seed {}, {} replication{})",
        s.scenario,
        s.seed,
        s.replications,
        if s.replications == 1 { "" } else { "s" }
    );
    if s.saturated {
        let _ = writeln!(out, "  SATURATED");
    }
    for n in notes {
        let _ = writeln!(out, "    - {n}");
    }
    let rows: Vec<[String; 3]> = s
        .metrics
        .iter()
        .filter(|m| !matches!(m.stat.as_str(), "count"))
        .map(|m| {
            let ci = match fmt_interval(m.ci_low, m.ci_high, m.value, &m.unit, " .. ") {
                i if i.is_empty() => i,
                i => format!("[{i}]"),
            };
            [
                format!("{}{} {}", m.name, braced(&m.labels), m.stat),
                fmt_value(m.value, &m.unit),
                ci,
            ]
        })
        .collect();
    let w0 = rows.iter().map(|r| r[0].len()).max().unwrap_or(0);
    let w1 = rows.iter().map(|r| r[1].len()).max().unwrap_or(0);
    for r in rows {
        let _ = writeln!(out, "  {:<w0$}  {:>w1$}  {}", r[0], r[1], r[2]);
    }
    if !s.slo.is_empty() {
        let _ = writeln!(out, "  SLOs:");
        for v in &s.slo {
            let _ = writeln!(
                out,
                "    [{}] {}  (value {})",
                if v.pass { "pass" } else { "FAIL" },
                v.name,
                v.value.map_or("-".into(), |x| format!("{x:.4}"))
            );
        }
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::fmt_value;

    #[test]
    fn values_read_in_their_unit() {
        assert_eq!(fmt_value(Some(5.16), "1/s"), "5.16/s");
        assert_eq!(fmt_value(Some(120.0), "1/s"), "120/s");
        assert_eq!(fmt_value(Some(128_000.0), "B/s"), "128 kB/s");
        assert_eq!(fmt_value(Some(16e9), "B"), "16.00 GB");
        assert_eq!(fmt_value(Some(512.0), "B"), "512 B");
        assert_eq!(fmt_value(Some(0.125), "ratio"), "12.5%");
        assert_eq!(fmt_value(Some(0.25), "s"), "250.0 ms");
        assert_eq!(fmt_value(Some(3.0), "vCPU"), "3.00 vCPU");
    }
}
