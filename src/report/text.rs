//! The human-readable summary table printed by `capsim run`.

use crate::engine::metrics::Labels;
use crate::result::{RunResult, Summary};
use std::fmt::Write;

/// A value in its unit, humanised (seconds as ms/s/min/h, ratios as %).
pub fn fmt_value(v: Option<f64>, unit: &str) -> String {
    let Some(v) = v else { return "-".into() };
    match unit {
        "s" => {
            let a = v.abs();
            if a == 0.0 {
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
        _ => {
            let a = v.abs();
            let n = if a == 0.0 || a >= 100.0 {
                format!("{v:.0}")
            } else if a >= 1.0 {
                format!("{v:.2}")
            } else {
                format!("{v:.4}")
            };
            if unit == "1" || unit.is_empty() {
                n
            } else {
                format!("{n} {unit}")
            }
        }
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

/// Print a summary as an aligned table, with saturation notes and SLO verdicts.
pub fn summary_table(s: &Summary, runs: &[RunResult]) -> String {
    let mut notes: Vec<&str> = runs
        .iter()
        .flat_map(|r| &r.notes)
        .map(String::as_str)
        .collect();
    notes.sort();
    notes.dedup();
    summary_table_with_notes(s, &notes)
}

/// [`summary_table`] with the replications' notes given directly (for a run
/// read back from the store).
pub fn summary_table_with_notes(s: &Summary, notes: &[&str]) -> String {
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
            let ci = match (m.ci_low, m.ci_high) {
                (Some(lo), Some(hi)) => format!(
                    "[{} .. {}]",
                    fmt_value(Some(lo), &m.unit),
                    fmt_value(Some(hi), &m.unit)
                ),
                _ => String::new(),
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
