//! What `capsim run` (and `capsim runs show`) print for people: the
//! verdict first (each SLO with its value and target in one unit: pass,
//! fail or no data), the saturation notes, a short table of the headline
//! statistics in their units and the monthly cost; with `--verbose`, every
//! statistic after that.
//!
//! The text carries ANSI styles (bold, green, red, yellow) as `anstyle`
//! escapes; the CLI prints it through `anstream`, which removes them when
//! colours are off (`--color never`, `NO_COLOR`, not a terminal).

use super::catalogue::{HEADLINE, metric_words, stat_line_words, stat_words};
use crate::cost::MonthlyCost;
use crate::engine::metrics::Labels;
use crate::format::{bound_symbol, braced, fmt_interval, fmt_pair, fmt_value};
use crate::result::{SloStatus, Summary, SummaryMetric, find_for_slo};
use crate::scenario::Slo;
use anstyle::{AnsiColor, Style};
use std::fmt::Write;

/// Everything the text of one run is made of.
pub struct RunText<'a> {
    pub summary: &'a Summary,
    /// The SLO definitions, in the order of `summary.slo`.
    pub slos: &'a [Slo],
    /// The replications' distinct notes ([`crate::result::distinct_notes`]).
    pub notes: &'a [String],
    /// The monthly cost, or why there is none; `None` without a price file.
    pub cost: Option<&'a Result<MonthlyCost, String>>,
}

const BOLD: Style = Style::new().bold();
const DIM: Style = Style::new().dimmed();

fn fg(c: AnsiColor) -> Style {
    Style::new().fg_color(Some(c.into())).bold()
}

fn styled(style: Style, text: &str) -> String {
    format!("{style}{text}{style:#}")
}

/// A status word, coloured: `pass` green, `FAIL` red, `no data` yellow.
pub fn status_word(st: SloStatus) -> String {
    let colour = match st {
        SloStatus::Pass => AnsiColor::Green,
        SloStatus::Fail => AnsiColor::Red,
        SloStatus::NoData => AnsiColor::Yellow,
    };
    styled(fg(colour), &format!("{:<7}", st.word()))
}

/// The SLO's own name when the scenario gave one, else the statistic in
/// words (`build queue wait p95`).
pub fn slo_words(slo: &Slo) -> String {
    let generated = format!(
        "{}{} {} {} {}",
        slo.metric,
        braced(&slo.labels),
        slo.stat,
        match slo.bound {
            crate::scenario::Bound::AtMost => "<=",
            crate::scenario::Bound::AtLeast => ">=",
        },
        slo.target
    );
    if slo.name == generated {
        stat_line_words(&slo.metric, &slo.stat, &slo.labels)
    } else {
        slo.name.clone()
    }
}

/// The unit of the statistic an SLO judges (the metric's, else from its
/// name: `*_seconds` are seconds).
pub fn slo_unit(slo: &Slo, metrics: &[SummaryMetric]) -> String {
    match find_for_slo(slo, metrics) {
        Some(m) => m.unit.clone(),
        None if slo.metric.ends_with("_seconds") => "s".into(),
        None => "1".into(),
    }
}

/// The first line: scenario, overall verdict, replications and seed.
fn verdict_line(s: &Summary) -> String {
    let (pass, fail, no_data) = s.slo_counts();
    let n = s.slo.len();
    let verdict = if n == 0 {
        styled(BOLD, "no SLOs set")
    } else if fail > 0 {
        format!(
            "{} ({fail} of {n} SLO{} missed)",
            styled(fg(AnsiColor::Red), "FAIL"),
            if n == 1 { "" } else { "s" }
        )
    } else if no_data > 0 {
        format!(
            "{} ({pass} of {n} SLOs met, {no_data} without data)",
            styled(fg(AnsiColor::Yellow), "NO DATA"),
        )
    } else {
        format!(
            "{} (all {n} SLO{} met)",
            styled(fg(AnsiColor::Green), "PASS"),
            if n == 1 { "" } else { "s" }
        )
    };
    let sat = if s.saturated {
        format!(", {}", styled(fg(AnsiColor::Red), "SATURATED"))
    } else {
        String::new()
    };
    format!(
        "{}: {verdict}{sat}  {}",
        styled(BOLD, &s.scenario),
        styled(
            DIM,
            &format!(
                "({} replication{}, seed {})",
                s.replications,
                if s.replications == 1 { "" } else { "s" },
                s.seed
            )
        )
    )
}

/// The verdict: the first line, one line per SLO and the notes.
pub fn verdict(r: &RunText) -> String {
    let s = r.summary;
    let mut out = verdict_line(s) + "\n";
    let rows: Vec<(String, String, String)> = r
        .slos
        .iter()
        .zip(&s.slo)
        .map(|(def, v)| {
            let unit = slo_unit(def, &s.metrics);
            let (value, target) = fmt_pair(v.value, v.target, &unit);
            let ci = find_for_slo(def, &s.metrics)
                .map(|m| fmt_interval(m.ci_low, m.ci_high, m.value, &unit, " – "))
                .filter(|i| !i.is_empty())
                .map_or(String::new(), |i| format!("  (95% interval {i})"));
            let value = if v.status == SloStatus::NoData {
                "no value".to_string()
            } else {
                value
            };
            (
                status_word(v.status),
                slo_words(def),
                format!("{value}, target {} {target}{ci}", bound_symbol(def.bound)),
            )
        })
        .collect();
    let w = rows.iter().map(|r| r.1.chars().count()).max().unwrap_or(0);
    for (st, words, text) in rows {
        let pad = w - words.chars().count();
        let _ = writeln!(out, "  {st}  {words}{:pad$}  {text}", "");
    }
    for n in r.notes {
        let _ = writeln!(out, "  {} {n}", styled(fg(AnsiColor::Yellow), "note:"));
    }
    out
}

/// The statistic of `m` named `stat` with exactly `labels`.
fn find<'a>(s: &'a Summary, m: &str, stat: &str, labels: &Labels) -> Option<&'a SummaryMetric> {
    s.metrics
        .iter()
        .find(|x| x.name == m && x.stat == stat && &x.labels == labels)
}

/// The rows of the short table ([`HEADLINE`]): words and `stat value`
/// cells.
pub fn headline_rows(s: &Summary, slos: &[Slo]) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for (metric, sel, stats) in HEADLINE {
        let fold_key = sel.iter().find(|(_, v)| *v == "*").map(|(k, _)| *k);
        let labels: Labels = sel
            .iter()
            .filter(|(_, v)| *v != "*")
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut cells = Vec::new();
        let mut judged = false;
        let mut something = false;
        for stat in *stats {
            let (value, unit) = match fold_key {
                None => match find(s, metric, stat, &labels) {
                    Some(m) => (m.value, m.unit.clone()),
                    None => continue,
                },
                Some(key) => {
                    // Every label set with `key`: counts add up, the rest
                    // shows the highest (the busiest replica).
                    let all: Vec<&SummaryMetric> = s
                        .metrics
                        .iter()
                        .filter(|x| {
                            x.name == *metric && x.stat == *stat && x.labels.contains_key(key)
                        })
                        .collect();
                    let Some(first) = all.first() else { continue };
                    let values = all.iter().filter_map(|m| m.value);
                    let v = if *stat == "total" {
                        values.sum::<f64>()
                    } else {
                        values.fold(f64::NEG_INFINITY, f64::max)
                    };
                    (v.is_finite().then_some(v), first.unit.clone())
                }
            };
            judged |= slos.iter().any(|slo| {
                slo.metric == *metric
                    && slo.stat == *stat
                    && slo.labels.iter().all(|(k, v)| labels.get(k) == Some(v))
            });
            something |= value.is_some_and(|v| v != 0.0);
            cells.push(format!("{} {}", stat_words(stat), fmt_value(value, &unit)));
        }
        if cells.is_empty() || !(something || judged) {
            continue;
        }
        let mut words = metric_words(metric, &labels);
        if let Some(key) = fold_key
            && !stats.contains(&"total")
        {
            words = format!("{words}, busiest {}", key.replace('_', " "));
        }
        out.push((words, cells));
    }
    out
}

/// The short table: headline statistics in their units, then the cost.
pub fn headline(r: &RunText) -> String {
    let s = r.summary;
    let mut rows = headline_rows(s, r.slos);
    match r.cost {
        Some(Ok(c)) => rows.push(("monthly cost".into(), vec![super::cost::headline(c)])),
        Some(Err(e)) => rows.push(("monthly cost".into(), vec![format!("cannot cost: {e}")])),
        None => {}
    }
    let w = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(0);
    let mut out = String::new();
    for (words, cells) in rows {
        let pad = w - words.chars().count();
        let _ = writeln!(out, "  {words}{:pad$}  {}", "", cells.join(" · "));
    }
    if s.replications > 1 && !out.is_empty() {
        let _ = writeln!(
            out,
            "  {}",
            styled(
                DIM,
                &format!(
                    "(means over {} replications; intervals with --verbose and in report.md)",
                    s.replications
                )
            )
        );
    }
    out
}

/// Every statistic (except counts of samples), aligned, with its 95%
/// interval: what `--verbose` adds.
pub fn full_table(s: &Summary) -> String {
    let mut out = String::new();
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
        let line = format!("  {:<w0$}  {:>w1$}  {}", r[0], r[1], r[2]);
        let _ = writeln!(out, "{}", line.trim_end());
    }
    out
}

/// The text of one run: the verdict, a blank line, the headline table (and
/// with `verbose` every statistic and the cost breakdown), then a blank line.
pub fn run_text(r: &RunText, verbose: bool) -> String {
    let mut out = verdict(r);
    let head = headline(r);
    if !head.is_empty() {
        out.push('\n');
        out += &head;
    }
    if verbose {
        out.push('\n');
        out += &full_table(r.summary);
        if let Some(Ok(c)) = r.cost {
            out += &super::cost::text(c);
        }
    }
    out.push('\n');
    out
}
