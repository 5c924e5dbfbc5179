//! The human-readable summary table printed by `capsim run`.

use crate::format::{braced, fmt_interval, fmt_value};
use crate::result::Summary;
use std::fmt::Write;

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
