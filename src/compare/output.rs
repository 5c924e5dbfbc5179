//! What `capsim compare` prints and writes: the side-by-side text table,
//! `compare.md` (a one-page summary for whoever approves the purchase),
//! `compare.csv` (long, tidy form), `compare.json` and the overlaid plots.

use super::{ArchResult, Comparison, Estimate, Row, SloCheck, derived_series, fold_series};
use crate::engine::metrics::Labels;
use crate::format::{
    braced, count_str, exact_opt, fmt_value, labels_json, md_cell as cell, money, pct, signed,
    signed_money, signed_pct, tidy_path,
};
use crate::model::metric_names::CONNECTIONS_DROPPED_TOTAL;
use crate::report::catalogue::{
    ArchLine, COMPARE_FIGURES, HEADLINE_ROWS, LabelSel, PanelSpec, ZOOM_FIGURES, row_words,
};
use crate::report::cost::{bullets, per_month};
use crate::report::events::{Event, events};
use crate::report::plot::{
    EventMark, OverlayEvents, OverlayLine, OverlayPanel, OverlayX, Zoom, write_overlay,
    zoom_windows,
};
use crate::report::series::{AggSeries, cumulative};
use crate::result::{RunResult, SloStatus};
use crate::scenario::Slo;
use anyhow::Context;
use serde_json::json;
use std::fmt::Write;
use std::path::Path;

fn est(e: &Estimate, unit: &str) -> String {
    let v = fmt_value(e.mean, unit);
    match (e.ci_low, e.ci_high) {
        (Some(lo), Some(hi)) => format!(
            "{v} [{} .. {}]",
            fmt_value(Some(lo), unit),
            fmt_value(Some(hi), unit)
        ),
        _ => v,
    }
}

fn diff_str(c: &super::Cell, unit: &str) -> String {
    let Some(d) = &c.diff else {
        return String::new();
    };
    let mut s = signed(d.mean, unit);
    if let (Some(lo), Some(hi)) = (d.ci_low, d.ci_high) {
        s += &format!(
            " [{} .. {}]",
            signed(Some(lo), unit),
            signed(Some(hi), unit)
        );
    }
    if c.significant == Some(true) {
        s += " *";
    }
    s
}

/// Every replication of every architecture has 0 (or no value): nothing to compare.
pub fn all_zero(r: &Row) -> bool {
    r.cells
        .iter()
        .flat_map(|c| &c.per_replication)
        .all(|v| v.is_none_or(|x| x == 0.0))
}

fn row_name(r: &Row) -> String {
    format!("{}{} {}", r.metric, braced(&r.labels), r.stat)
}

fn slo_cell(s: &SloCheck) -> String {
    let verdict = match (s.status, s.confident) {
        (SloStatus::NoData, _) => return "no data".into(),
        (SloStatus::Pass, true) => "pass",
        (SloStatus::Pass, false) => "pass (not at 95%)",
        (SloStatus::Fail, _) => "FAIL",
    };
    format!(
        "{verdict} {} (95% bound {})",
        fmt_value(s.mean, &s.unit),
        fmt_value(s.bound95, &s.unit)
    )
}

fn cost_str(a: &ArchResult) -> String {
    match (&a.cost, &a.cost_error) {
        (Some(c), _) => per_month(c),
        (None, Some(e)) => format!("cannot cost: {e}"),
        (None, None) => "- (no price file)".into(),
    }
}

/// The name of each SLO row: the SLOs of the architecture that has most.
fn slo_names(c: &Comparison) -> Vec<String> {
    let n = c.archs.iter().map(|a| a.slos.len()).max().unwrap_or(0);
    (0..n)
        .map(|i| {
            c.archs
                .iter()
                .find_map(|a| a.slos.get(i))
                .map_or(String::new(), |s| s.name.clone())
        })
        .collect()
}

/// The side-by-side table printed on stdout.
pub fn text_table(c: &Comparison) -> String {
    let first = &c.archs[0];
    let mut header = vec!["".to_string()];
    header.extend(c.archs.iter().map(|a| a.name.clone()));
    header.extend(c.archs[1..].iter().map(|a| format!("Δ {}", a.name)));
    let mut lines: Vec<Vec<String>> = vec![header];
    let omitted = c.rows.iter().filter(|r| all_zero(r)).count();
    for r in c.rows.iter().filter(|r| !all_zero(r)) {
        let mut l = vec![row_name(r)];
        l.extend(r.cells.iter().map(|x| est(&x.value, &r.unit)));
        l.extend(r.cells[1..].iter().map(|x| diff_str(x, &r.unit)));
        lines.push(l);
    }
    for (i, name) in slo_names(c).into_iter().enumerate() {
        let mut l = vec![format!("SLO: {name}")];
        l.extend(
            c.archs
                .iter()
                .map(|a| a.slos.get(i).map_or("-".into(), slo_cell)),
        );
        l.extend(c.archs[1..].iter().map(|_| String::new()));
        lines.push(l);
    }
    let mut l = vec!["monthly cost".to_string()];
    l.extend(c.archs.iter().map(cost_str));
    l.extend(c.archs[1..].iter().map(|a| match (&a.cost, &first.cost) {
        (Some(b), Some(f)) => signed_money(b.total - f.total, &b.currency),
        _ => String::new(),
    }));
    lines.push(l);
    let ncol = lines[0].len();
    let widths: Vec<usize> = (0..ncol)
        .map(|j| {
            lines
                .iter()
                .map(|l| l[j].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut o = String::new();
    let _ = writeln!(
        o,
        "compare {}: {} architectures, master seed {}, {} replication{} each on the same seeds",
        c.id,
        c.archs.len(),
        c.seed,
        c.replications,
        if c.replications == 1 { "" } else { "s" }
    );
    for w in &c.warnings {
        let _ = writeln!(o, "  warning: {w}");
    }
    for a in &c.archs {
        if a.summary.saturated {
            let _ = writeln!(o, "  {} is SATURATED", a.name);
        }
        for n in &a.notes {
            let _ = writeln!(o, "    - {}: {n}", a.name);
        }
    }
    for (k, l) in lines.iter().enumerate() {
        let mut s = String::from(" ");
        for (j, cell) in l.iter().enumerate() {
            let pad = widths[j] - cell.chars().count();
            s.push(' ');
            if j == 0 {
                s += cell;
                s += &" ".repeat(pad);
            } else {
                s += &" ".repeat(pad);
                s += cell;
            }
            s.push(' ');
        }
        let _ = writeln!(o, "{}", s.trim_end());
        if k == 0 {
            let _ = writeln!(
                o,
                "  {}",
                "-".repeat(widths.iter().sum::<usize>() + 2 * ncol - 2)
            );
        }
    }
    let _ = writeln!(
        o,
        "  Values: mean [95% interval] across replications. Δ = minus {}, paired per replication; * = significant (interval excludes 0).",
        first.name
    );
    if omitted > 0 {
        let _ = writeln!(
            o,
            "  Not shown: {omitted} statistic{} equal to 0 in every replication of every architecture (all are in compare.csv).",
            if omitted == 1 { "" } else { "s" },
        );
    }
    o
}

/// Rows a manager reads: what the SLOs judge and the headline metrics.
fn headline_rows(c: &Comparison) -> Vec<&Row> {
    let first = &c.archs[0];
    let mut out: Vec<&Row> = Vec::new();
    for s in &first.slos {
        if let Some(r) = c.rows.iter().find(|r| {
            r.metric == s.metric
                && r.stat == s.stat
                && s.labels.iter().all(|(k, v)| r.labels.get(k) == Some(v))
        }) {
            out.push(r);
        }
    }
    for (m, st, labels) in HEADLINE_ROWS {
        if let Some(r) = c.rows.iter().find(|r| {
            r.metric == *m
                && r.stat == *st
                && r.labels.len() == labels.len()
                && labels
                    .iter()
                    .all(|(k, v)| r.labels.get(*k).map(String::as_str) == Some(*v))
        }) && !out.iter().any(|x| std::ptr::eq(*x, r))
            && !all_zero(r)
        {
            out.push(r);
        }
    }
    out
}

/// Plain words for a row ([`crate::report::catalogue::ROW_WORDS`]).
fn describe(r: &Row) -> String {
    row_words(
        &r.metric,
        &r.stat,
        r.labels.get("class").map_or("", String::as_str),
        &braced(&r.labels),
    )
}

/// Names of the SLOs `a` misses by their one-sided 95% bound (with one
/// replication the bound is the value itself).
fn failed_slos(a: &ArchResult) -> Vec<&str> {
    a.slos
        .iter()
        .filter(|s| !s.confident)
        .map(|s| s.name.as_str())
        .collect()
}

/// The recommendation paragraph of `compare.md`.
pub fn recommendation(c: &Comparison) -> String {
    let slo_ok: Vec<usize> = (0..c.archs.len())
        .filter(|&i| c.archs[i].meets_slos_confidently())
        .collect();
    let ok: Vec<usize> = slo_ok
        .iter()
        .copied()
        .filter(|&i| c.archs[i].policy.is_empty())
        .collect();
    let has_slos = c.archs.iter().any(|a| !a.slos.is_empty());
    let cost = |i: usize| c.archs[i].cost.as_ref().map(|x| x.total);
    let by_cost = |v: &mut Vec<usize>| {
        v.sort_by(|&a, &b| {
            cost(a)
                .unwrap_or(f64::INFINITY)
                .total_cmp(&cost(b).unwrap_or(f64::INFINITY))
                .then(a.cmp(&b))
        })
    };
    let mut o = String::new();
    let conf = if c.replications >= 2 {
        " with 95% confidence"
    } else {
        ""
    };
    if !has_slos {
        let _ = write!(
            o,
            "The scenarios set no SLOs, so there is no pass/fail verdict; compare the figures below"
        );
        let mut all: Vec<usize> = (0..c.archs.len()).collect();
        by_cost(&mut all);
        if let Some(&i) = all.first()
            && cost(i).is_some()
        {
            let _ = write!(
                o,
                ". The cheapest is **{}** at {}",
                c.archs[i].name,
                cost_str(&c.archs[i])
            );
        }
        o += ".";
        for a in c.archs.iter().filter(|a| !a.policy.is_empty()) {
            let _ = write!(
                o,
                " {} is outside Coder's deployment guidance: {}.",
                a.name,
                a.policy.join("; ")
            );
        }
        return o;
    }
    if slo_ok.is_empty() {
        let mut all: Vec<usize> = (0..c.archs.len()).collect();
        all.sort_by_key(|&i| (failed_slos(&c.archs[i]).len(), i));
        let _ = write!(o, "**None of the architectures meets every SLO{conf}.** ");
        for &i in &all {
            let a = &c.archs[i];
            let failed = failed_slos(a);
            let _ = write!(
                o,
                "{} ({}) fails {}{}. ",
                a.name,
                cost_str(a),
                if failed.is_empty() {
                    "none of them but is saturated".to_string()
                } else {
                    failed.join("; ")
                },
                if a.summary.saturated {
                    " and is saturated"
                } else {
                    ""
                }
            );
        }
        o += "Size up (try `capsim size`) before buying either.";
        return o;
    }
    if ok.is_empty() {
        let _ = write!(
            o,
            "**None of the architectures meets every SLO{conf} inside Coder's deployment guidance.** "
        );
        for &i in &slo_ok {
            let a = &c.archs[i];
            let _ = write!(
                o,
                "{} ({}) meets the SLOs but is outside it: {}. ",
                a.name,
                cost_str(a),
                a.policy.join("; ")
            );
        }
        o += "`capsim size` searches inside the guidance (`--policy none` here ignores it).";
        return o;
    }
    let mut ok = ok;
    by_cost(&mut ok);
    let best = ok[0];
    let b = &c.archs[best];
    let _ = write!(
        o,
        "**Choose {}.** It meets every SLO{conf}{}{}.",
        b.name,
        if c.policy_applied {
            " and Coder's deployment guidance"
        } else {
            ""
        },
        match &b.cost {
            Some(x) => format!(" at {}", per_month(x)),
            None => String::new(),
        }
    );
    for i in 0..c.archs.len() {
        if i == best {
            continue;
        }
        let _ = write!(o, " {}", trade_off(c, best, i));
    }
    o
}

/// A difference in words: (what, by how much).
type Diff = (String, String);

/// Significant differences of `other` from `best` on the headline rows:
/// (where `other` is lower, where it is higher), each in words.
fn differences(c: &Comparison, best: usize, other: usize) -> (Vec<Diff>, Vec<Diff>) {
    let mut lower = Vec::new();
    let mut higher = Vec::new();
    for r in headline_rows(c) {
        let d = Estimate::paired(
            &r.cells[best].per_replication,
            &r.cells[other].per_replication,
        );
        if d.excludes_zero() != Some(true) {
            continue;
        }
        let Some(m) = d.mean else { continue };
        let phrase = (describe(r), fmt_value(Some(m.abs()), &r.unit));
        if m < 0.0 {
            lower.push(phrase)
        } else {
            higher.push(phrase)
        }
    }
    (lower, higher)
}

/// One sentence on `other` against the recommended `best`: what it costs
/// more or less, what it fails, and the trade: what the money buys.
fn trade_off(c: &Comparison, best: usize, other: usize) -> String {
    let (b, a) = (&c.archs[best], &c.archs[other]);
    let mut s = format!("{} ", a.name);
    let diff = match (&b.cost, &a.cost) {
        (Some(x), Some(y)) => Some((y.total - x.total, y.currency.clone(), x.total)),
        _ => None,
    };
    s += &match &diff {
        Some((d, _, _)) if d.abs() < 0.5 => "costs the same".into(),
        Some((d, cur, base)) if *d > 0.0 => format!(
            "costs {} a month more ({})",
            money(*d, cur),
            signed_pct(100.0 * d / base.max(1e-9), 0)
        ),
        Some((d, cur, _)) => format!("costs {} a month less", money(-d, cur)),
        None => "has no known cost".into(),
    };
    let (lower, higher) = differences(c, best, other);
    let words = |v: &[Diff], side: &str| {
        v.iter()
            .map(|(what, by)| format!("{what} {side} by {by}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !a.meets_slos_confidently() {
        let failed = failed_slos(a);
        s += &if failed.is_empty() {
            " but is saturated".to_string()
        } else {
            format!(" but does not meet: {}", failed.join("; "))
        };
        if !a.policy.is_empty() {
            s += &format!(
                ", and is outside Coder's deployment guidance: {}",
                a.policy.join("; ")
            );
        }
        return s + ".";
    }
    if !a.policy.is_empty() {
        // Cheaper (usually) but outside the guidance: name what the
        // recommendation buys with the difference.
        s += &format!(
            " and meets the SLOs, but is outside Coder's deployment guidance: {}",
            a.policy.join("; ")
        );
        if let Some((d, cur, _)) = &diff
            && *d < -0.5
        {
            s += &if higher.is_empty() {
                format!(
                    "; the {} a month buys the guidance, with no significant difference in the key metrics",
                    money(-d, cur)
                )
            } else {
                format!(
                    "; for the {} a month {} has {}",
                    money(-d, cur),
                    b.name,
                    words(&higher, "lower")
                )
            };
        }
        return s + ".";
    }
    s += " and also meets every SLO";
    if lower.is_empty() && higher.is_empty() {
        s += ", with no significant difference in the key metrics.";
        return s;
    }
    match &diff {
        Some((d, _, _)) if *d > 0.5 && !lower.is_empty() => {
            s += &format!("; the extra money buys {}", words(&lower, "lower"));
            if !higher.is_empty() {
                s += &format!(", but it has {}", words(&higher, "higher"));
            }
        }
        _ => {
            let mut parts = Vec::new();
            if !lower.is_empty() {
                parts.push(words(&lower, "lower"));
            }
            if !higher.is_empty() {
                parts.push(words(&higher, "higher"));
            }
            s += &format!("; it has {}", parts.join(", and "));
        }
    }
    s + "."
}

/// `compare.md`.
pub fn markdown(c: &Comparison, plots: &[(String, String)]) -> String {
    let mut o = String::new();
    let names: Vec<&str> = c.archs.iter().map(|a| a.name.as_str()).collect();
    let _ = writeln!(o, "# Architecture comparison: {}\n", names.join(" vs "));
    let _ = writeln!(o, "{}\n", recommendation(c));
    for w in &c.warnings {
        let _ = writeln!(o, "> **Warning:** {}\n", cell(w));
    }
    // The verdict table.
    let _ = write!(o, "| |");
    for a in &c.archs {
        let _ = write!(o, " {} |", cell(&a.name));
    }
    let _ = write!(o, "\n|---|");
    for _ in &c.archs {
        let _ = write!(o, "---|");
    }
    let _ = write!(o, "\n| **monthly cost** |");
    for a in &c.archs {
        let _ = write!(o, " **{}** |", cell(&cost_str(a)));
    }
    let _ = writeln!(o);
    let _ = write!(o, "| architecture |");
    for a in &c.archs {
        let _ = write!(o, " {} |", cell(&architecture(a)));
    }
    let _ = writeln!(o);
    for (i, name) in slo_names(c).into_iter().enumerate() {
        let _ = write!(o, "| SLO: {} |", cell(&name));
        for a in &c.archs {
            let _ = write!(
                o,
                " {} |",
                a.slos.get(i).map_or("–".into(), |s| {
                    if s.status == SloStatus::NoData {
                        return "⚪ no data".into();
                    }
                    let icon = if s.confident {
                        "✅"
                    } else if s.pass {
                        "⚠️"
                    } else {
                        "❌"
                    };
                    format!(
                        "{icon} {} (95% bound {})",
                        fmt_value(s.mean, &s.unit),
                        fmt_value(s.bound95, &s.unit)
                    )
                })
            );
        }
        let _ = writeln!(o);
    }
    let _ = write!(o, "| saturated |");
    for a in &c.archs {
        let _ = write!(
            o,
            " {} |",
            if a.summary.saturated { "**yes**" } else { "no" }
        );
    }
    let _ = writeln!(
        o,
        "\n\n✅ meets the target with 95% confidence (one-sided bound across replications); ⚠️ meets it on average only; ❌ misses it.\n"
    );

    // Paired differences on the headline rows.
    let head = headline_rows(c);
    if c.archs.len() > 1 && !head.is_empty() {
        let _ = writeln!(
            o,
            "## Differences against {}\n\nEach architecture ran the same {} replications on the same seeds (the same users, arrivals and build times), so each difference is computed replication by replication. **Bold** differences are significant (their 95% interval excludes 0).\n",
            c.archs[0].name, c.replications
        );
        let _ = write!(o, "| metric | {} |", cell(&c.archs[0].name));
        for a in &c.archs[1..] {
            let _ = write!(o, " {} | difference |", cell(&a.name));
        }
        let _ = write!(o, "\n|---|---|");
        for _ in &c.archs[1..] {
            let _ = write!(o, "---|---|");
        }
        let _ = writeln!(o);
        for r in head {
            let _ = write!(
                o,
                "| {} | {} |",
                cell(&describe(r)),
                cell(&est(&r.cells[0].value, &r.unit))
            );
            for x in &r.cells[1..] {
                let d = diff_str(x, &r.unit).trim_end_matches(" *").to_string();
                let d = if x.significant == Some(true) {
                    format!("**{d}**")
                } else {
                    d
                };
                let _ = write!(o, " {} | {} |", cell(&est(&x.value, &r.unit)), cell(&d));
            }
            let _ = writeln!(o);
        }
    }
    // Resilience.
    let reps: Vec<u32> = c
        .archs
        .iter()
        .map(|a| a.scenario.deployment.coderd.n_replicas)
        .collect();
    if reps.iter().any(|&n| n != reps[0]) && reps.iter().all(|&n| n > 0) {
        let _ = writeln!(o, "\n## Resilience\n");
        for (a, n) in c.archs.iter().zip(&reps) {
            let _ = writeln!(
                o,
                "- {}: {n} coderd replica{}; losing one (a crash, a node drain, a rolling upgrade) drops about {} of the relayed and agent connections, which then reconnect to the survivors.",
                a.name,
                if *n == 1 { "" } else { "s" },
                pct(100.0 / *n as f64, 0)
            );
        }
    }
    if !plots.is_empty() {
        let _ = writeln!(
            o,
            "\n## Plots\n\nOne line per architecture (mean across replications, shaded 95% band); SLO targets as red dashed lines.\n"
        );
        for (file, title) in plots {
            let _ = writeln!(o, "### {title}\n\n![{title}]({file})\n");
        }
    }
    // Costs.
    if c.archs.iter().any(|a| a.cost.is_some()) {
        let _ = writeln!(o, "## Costs\n");
        for a in &c.archs {
            if let Some(x) = &a.cost {
                let _ = writeln!(o, "**{}**: {}\n\n{}", a.name, per_month(x), bullets(x));
            }
        }
        if let Some(x) = c.archs.iter().find_map(|a| a.cost.as_ref()) {
            let _ = writeln!(
                o,
                "Prices from `{}` ({}, {} hours a month): indicative list prices, not a quote. Put your own (discounts, commitments, region) in a copy of that file and pass it with `--prices`.\n",
                x.price_file, x.prices_date, x.hours_per_month
            );
        }
    }
    // The full table.
    let shown: Vec<&Row> = c.rows.iter().filter(|r| !all_zero(r)).collect();
    let _ = writeln!(
        o,
        "<details><summary>Every compared statistic ({} rows that are not 0 throughout; all {} are in compare.csv)</summary>\n",
        shown.len(),
        c.rows.len()
    );
    let _ = write!(o, "| statistic |");
    for a in &c.archs {
        let _ = write!(o, " {} |", cell(&a.name));
    }
    for a in &c.archs[1..] {
        let _ = write!(o, " {} − {} |", cell(&a.name), cell(&c.archs[0].name));
    }
    let _ = write!(o, "\n|---|");
    for _ in 0..(2 * c.archs.len() - 1) {
        let _ = write!(o, "---|");
    }
    let _ = writeln!(o);
    for r in shown {
        let _ = write!(o, "| `{}` |", cell(&row_name(r)));
        for x in &r.cells {
            let _ = write!(o, " {} |", cell(&est(&x.value, &r.unit)));
        }
        for x in &r.cells[1..] {
            let _ = write!(o, " {} |", cell(&diff_str(x, &r.unit)));
        }
        let _ = writeln!(o);
    }
    let _ = writeln!(o, "\n</details>\n");
    if let Some(u) = &c.uncertainty {
        o.push_str(&super::uncertainty::markdown(u));
    }
    let _ = writeln!(o, "---");
    let _ = writeln!(
        o,
        "Comparison `{}`: master seed {}, {} replication{} per architecture; scenarios: {}. Files: [compare.csv](compare.csv), [compare.json](compare.json).",
        c.id,
        c.seed,
        c.replications,
        if c.replications == 1 { "" } else { "s" },
        c.archs
            .iter()
            .map(|a| format!(
                "`{}`",
                a.scenario
                    .path
                    .as_deref()
                    .map_or("(in memory)".into(), tidy_path)
            ))
            .collect::<Vec<_>>()
            .join(", ")
    );
    o
}

/// The architecture in one line: coderd, provisioners, database, proxies.
pub fn architecture(a: &ArchResult) -> String {
    let d = &a.scenario.deployment;
    let mut parts = Vec::new();
    let c = &d.coderd;
    if c.n_replicas > 0 {
        parts.push(format!(
            "coderd {} x {} vCPU",
            c.n_replicas,
            count_str(c.vcpu_per_replica)
        ));
    }
    let ext: u32 = d.provisioner_groups.iter().map(|g| g.n_daemons).sum();
    if ext > 0 {
        parts.push(format!("{ext} provisioners"));
    }
    if c.n_replicas > 0 {
        parts.push(format!("database {} vCPU", count_str(d.database.vcpu)));
    }
    if !d.proxies.is_empty() {
        parts.push(format!("{} proxies", d.proxies.len()));
    }
    parts.join(", ")
}

/// `compare.csv`: one row per statistic and architecture.
pub fn write_csv(path: &Path, c: &Comparison) -> anyhow::Result<()> {
    let mut w =
        csv::Writer::from_path(path).with_context(|| format!("cannot write {}", path.display()))?;
    w.write_record([
        "metric",
        "stat",
        "labels",
        "unit",
        "architecture",
        "mean",
        "ci_low",
        "ci_high",
        "replications",
        "diff_vs_first",
        "diff_ci_low",
        "diff_ci_high",
        "significant",
    ])?;
    for r in &c.rows {
        for (a, x) in c.archs.iter().zip(&r.cells) {
            let d = x.diff.as_ref();
            w.write_record([
                r.metric.clone(),
                r.stat.clone(),
                labels_json(&r.labels),
                r.unit.clone(),
                crate::format::csv_cell(&a.name).into_owned(),
                exact_opt(x.value.mean),
                exact_opt(x.value.ci_low),
                exact_opt(x.value.ci_high),
                x.value.n.to_string(),
                exact_opt(d.and_then(|d| d.mean)),
                exact_opt(d.and_then(|d| d.ci_low)),
                exact_opt(d.and_then(|d| d.ci_high)),
                x.significant.map_or(String::new(), |s| s.to_string()),
            ])?;
        }
    }
    let first_cost = c.archs[0].cost.as_ref().map(|x| x.total);
    for a in &c.archs {
        if let Some(x) = &a.cost {
            let d = first_cost.map(|f| x.total - f);
            w.write_record([
                "monthly_cost".to_string(),
                "total".into(),
                "{}".into(),
                format!("{}/month", x.currency),
                crate::format::csv_cell(&a.name).into_owned(),
                exact_opt(Some(x.total)),
                String::new(),
                String::new(),
                String::new(),
                exact_opt(d),
                String::new(),
                String::new(),
                String::new(),
            ])?;
        }
    }
    w.flush()?;
    Ok(())
}

/// `compare.json`: the comparison for scripts.
pub fn to_json(c: &Comparison) -> serde_json::Value {
    let mut v = json!({
        "id": c.id,
        "capsim_version": env!("CARGO_PKG_VERSION"),
        "seed": c.seed,
        "replications": c.replications,
        "warnings": c.warnings,
        "architectures": c.archs.iter().map(|a| json!({
            "name": a.name,
            "scenario": a.scenario.name,
            "scenario_path": a.scenario.path.as_deref().map(tidy_path),
            "scenario_sha256": a.scenario.sha256,
            "saturated": a.summary.saturated,
            "meets_slos": a.meets_slos(),
            "meets_slos_95": a.meets_slos_confidently(),
            "slo": a.slos,
            "monthly_cost": a.cost,
            "notes": a.notes,
            "outside_guidance": a.policy,
        })).collect::<Vec<_>>(),
        "policy_applied": c.policy_applied,
        "rows": c.rows,
    });
    if let Some(u) = &c.uncertainty {
        v["uncertainty"] = json!(u);
    }
    v
}

/// One line per architecture that has data for `spec`.
fn lines(c: &Comparison, spec: &ArchLine, class: &str) -> Vec<OverlayLine> {
    let keep = |l: &Labels| match spec.labels {
        LabelSel::Any => true,
        LabelSel::Unlabelled => l.is_empty(),
        LabelSel::Is(k, v) => l.get(k).map(String::as_str) == Some(v),
        LabelSel::Judged { key, .. } => l.get(key).map(String::as_str) == Some(class),
    };
    let per_run = |r: &RunResult| {
        let v = fold_series(r, spec.metric, spec.stat, keep, spec.fold)?;
        Some(if spec.cumulative { cumulative(&v) } else { v })
    };
    c.archs
        .iter()
        .filter_map(|a| {
            let s: AggSeries = derived_series(&a.runs, "x", "1", per_run)?;
            (!s.points.is_empty()).then(|| OverlayLine {
                label: a.name.clone(),
                points: s.points,
            })
        })
        .collect()
}

fn unit_of(c: &Comparison, metric: &str) -> String {
    c.archs
        .iter()
        .flat_map(|a| a.runs.first())
        .flat_map(|r| &r.series.series)
        .find(|s| s.name == metric)
        .map_or("1".into(), |s| s.unit.clone())
}

/// The label value a [`LabelSel::Judged`] line selects: the one the first
/// SLO on its metric names, else its default (empty for other selections).
fn judged_value(spec: &ArchLine, slos: &[Slo]) -> String {
    match spec.labels {
        LabelSel::Judged { key, default } => slos
            .iter()
            .find(|s| s.metric == spec.metric)
            .and_then(|s| s.labels.get(key).cloned())
            .unwrap_or_else(|| default.into()),
        _ => String::new(),
    }
}

/// An overlay panel of [`COMPARE_FIGURES`] (its one source of lines).
fn panel(c: &Comparison, spec: &PanelSpec<ArchLine>) -> OverlayPanel {
    let slos = &c.archs[0].scenario.slos;
    let line = &spec.lines[0];
    let value = judged_value(line, slos);
    let title = match line.labels {
        LabelSel::Judged { key, .. } => spec.title.replace(&format!("{{{key}}}"), &value),
        _ => spec.title.to_string(),
    };
    OverlayPanel {
        title,
        quantity: spec.quantity.into(),
        unit: unit_of(c, line.metric),
        lines: spec
            .lines
            .iter()
            .flat_map(|l| lines(c, l, &value))
            .collect(),
        slo_metric: line
            .slo_stat
            .map(|st| (line.metric.to_string(), vec![st.to_string()])),
    }
}

/// The events of every architecture as marks on the overlaid figures: one
/// per event and its replications, naming the architectures that had it
/// ("replica killed at 09:10, 5 of 5 replications (all)").
pub fn event_marks(c: &Comparison) -> Vec<EventMark> {
    let sc = &c.archs[0].scenario;
    let tod0 = sc.start_time_of_day.as_secs_f64();
    let multi_day = (sc.start_time_of_day + sc.duration).as_secs_f64() > 86_400.0;
    let mut seen: Vec<(f64, String, Vec<&str>)> = Vec::new();
    for a in &c.archs {
        for e in events(&a.runs) {
            let label = e.label(tod0, multi_day, a.runs.len());
            match seen.iter_mut().find(|s| s.1 == label) {
                Some(s) => s.2.push(&a.name),
                None => seen.push((e.first_s, label, vec![&a.name])),
            }
        }
    }
    seen.into_iter()
        .map(|(t_s, label, names)| EventMark {
            t_s,
            label: if names.len() == c.archs.len() {
                format!("{label} (all)")
            } else {
                format!("{label} ({})", names.join(", "))
            },
        })
        .collect()
}

/// The zoom windows of the overlaid figures: around the events of every
/// architecture, those with the most dropped connections (summed over the
/// architectures) first.
fn zooms(c: &Comparison, bucket_s: f64) -> Vec<Zoom> {
    let ev: Vec<Event> = c.archs.iter().flat_map(|a| events(&a.runs)).collect();
    let dropped: Vec<&RunResult> = c.archs.iter().flat_map(|a| &a.runs).collect();
    zoom_windows(&ev, &c.archs[0].scenario, bucket_s, &|from, to| {
        let mut sum = 0.0;
        for r in &dropped {
            let ts = &r.series;
            for s in ts
                .series
                .iter()
                .filter(|s| s.name == CONNECTIONS_DROPPED_TOTAL)
            {
                for (i, v) in s.values.iter().enumerate() {
                    let t = ts.start_s + i as f64 * ts.bucket_s;
                    if t >= from && t < to && v.is_finite() {
                        sum += v;
                    }
                }
            }
        }
        sum
    })
}

/// Write the overlaid PNGs of [`COMPARE_FIGURES`] into `dir`; returns (file,
/// title) of each.
pub fn write_plots(dir: &Path, c: &Comparison) -> anyhow::Result<Vec<(String, String)>> {
    let first = &c.archs[0];
    let slos = &first.scenario.slos;
    let bucket_s = first
        .runs
        .first()
        .map_or(first.scenario.bucket.as_secs_f64(), |r| r.series.bucket_s);
    let marks = event_marks(c);
    let zooms = zooms(c, bucket_s);
    let mut out = Vec::new();
    for fig in COMPARE_FIGURES {
        // A panel whose every line is 0 throughout says nothing.
        let panels: Vec<OverlayPanel> = fig
            .panels
            .iter()
            .map(|p| panel(c, p))
            .filter(|p| {
                p.lines
                    .iter()
                    .flat_map(|l| &l.points)
                    .any(|q| q.value != 0.0)
            })
            .collect();
        if panels.is_empty() {
            continue;
        }
        write_overlay(
            &dir.join(fig.file),
            fig.title,
            OverlayX::TimeOfDay {
                scenario: &first.scenario,
                bucket_s,
            },
            slos,
            c.replications as usize,
            panels,
            OverlayEvents {
                marks: &marks,
                zooms: if ZOOM_FIGURES.contains(&fig.file) {
                    &zooms
                } else {
                    &[]
                },
            },
        )?;
        out.push((fig.file.to_string(), fig.title.to_string()));
    }
    Ok(out)
}

/// Write the comparison folder: plots, `compare.md`, `compare.csv`,
/// `compare.json`. Returns the files written.
pub fn write_all(dir: &Path, c: &Comparison) -> anyhow::Result<Vec<String>> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let plots = write_plots(dir, c)?;
    std::fs::write(dir.join("compare.md"), markdown(c, &plots))
        .with_context(|| format!("cannot write {}", dir.join("compare.md").display()))?;
    write_csv(&dir.join("compare.csv"), c)?;
    std::fs::write(
        dir.join("compare.json"),
        serde_json::to_string_pretty(&to_json(c))? + "\n",
    )
    .with_context(|| format!("cannot write {}", dir.join("compare.json").display()))?;
    let mut files: Vec<String> = plots.into_iter().map(|(f, _)| f).collect();
    files.extend(["compare.md", "compare.csv", "compare.json"].map(String::from));
    if let Some(u) = &c.uncertainty {
        let path = dir.join(crate::sensitivity::uncertainty::CSV_FILE);
        std::fs::write(&path, super::uncertainty::csv_text(u)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
        files.push(crate::sensitivity::uncertainty::CSV_FILE.into());
    } else {
        // Not a stale study of an earlier `--uncertainty` into this folder.
        let _ = std::fs::remove_file(dir.join(crate::sensitivity::uncertainty::CSV_FILE));
    }
    Ok(files)
}
