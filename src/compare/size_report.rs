//! What `capsim size` prints and writes: the recommendation with its
//! headroom and cost, the next-cheaper candidates, `size.md`,
//! `candidates.csv`, and for `--growth` `growth.csv` and `growth.png`.

use super::size::{Binding, Drill, Evaluation, GrowthPoint, Resilience, Shape, SizeResult};
use super::uncertainty;
use crate::format::{
    bound_symbol, count_str, exact_opt, fmt_value, md_cell as cell, money, money_cents, pct,
};
use crate::report::catalogue::{CANDIDATE_VERDICTS, CANDIDATES_FIGURE, GROWTH_FIGURE, GrowthLine};
use crate::report::cost;
use crate::report::plot::{OverlayEvents, OverlayLine, OverlayPanel, OverlayX, write_overlay};
use crate::report::scatter::{ScatterPanel, ScatterPoint, write_scatter};
use crate::report::series::AggPoint;
use crate::scenario::{Bound, SizingPolicy};
use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::fmt::Write;
use std::path::Path;

/// `coderd replicas 3, coderd vCPU per replica 4, ...`.
pub fn describe(r: &SizeResult, e: &Evaluation) -> String {
    r.dimensions
        .iter()
        .enumerate()
        .map(|(k, d)| format!("{} {}", d.label(), shown(d, e, k)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Dimension `k`'s value at `e` in words, as simulated (a warm minimum
/// above its pool's maximum shows the maximum).
fn shown(d: &super::size::Dimension, e: &Evaluation, k: usize) -> String {
    match e.values.get(k) {
        Some(&v) if d.shapes.is_empty() => count_str(v),
        _ => d.show(e.point[k]),
    }
}

fn headroom(s: &super::SloCheck) -> String {
    match s.headroom() {
        Some(h) => pct(100.0 * h, 0),
        None => "at target".into(),
    }
}

/// A searched resource's ladder in words: `3..10`, `2 vCPU, 8 GB .. 32 vCPU, 128 GB`.
fn ladder_words(d: &super::size::Dimension) -> String {
    format!("{}..{}", d.show(0), d.show(d.ladder.len() - 1))
}

/// The scenario's own value of a resource.
fn given_words(d: &super::size::Dimension) -> String {
    if d.shapes.is_empty() {
        count_str(d.given)
    } else {
        format!("{} vCPU", count_str(d.given))
    }
}

/// What set a resource: `policy: at least 3 coderd replicas ...`, `slo: build queue ...`.
fn set_by(b: &Binding) -> String {
    let (pool, what) = match &b.pool {
        Some(p) => {
            let pre = format!("pool {p}: ");
            (pre.clone(), b.what.strip_prefix(&pre).unwrap_or(&b.what))
        }
        None => (String::new(), b.what.as_str()),
    };
    if what.starts_with("policy: ") || what.starts_with("N-1 drill: ") {
        format!("{pool}{what}")
    } else {
        format!("{pool}{}: {what}", b.kind)
    }
}

/// The drill in words.
fn drill_words(r: &SizeResult) -> String {
    match (&r.resilience, &r.drill) {
        (Resilience::None, _) => "N-1 drill: off (--resilience none)".into(),
        (_, Some(d)) if d.source == "scenario" => format!(
            "N-1 drill: the scenario's own coderd replica loss at {} (no extra loss is added)",
            d.time_of_day
        ),
        (_, Some(d)) => format!(
            "N-1 drill: every candidate that meets the SLOs is run again losing one coderd replica at {}, the busiest time (highest API request rate)",
            d.time_of_day
        ),
        (_, None) => "N-1 drill: none (nothing coderd is searched)".into(),
    }
}

/// The policy in words.
fn policy_words(r: &SizeResult) -> String {
    match &r.policy {
        None => "policy: none (--policy none): Coder's deployment guidance is not applied".into(),
        Some(p) => format!(
            "policy: Coder's deployment guidance ([sizing]): {} to {} coderd replicas, replicas of at least {} vCPU / {}, a database of at least {} vCPU / {}, external provisioners above {} users, peak CPU at most {} (coderd) and {} (database)",
            p.min_coderd_replicas,
            p.max_coderd_replicas,
            count_str(p.min_coderd_vcpu),
            crate::format::size(p.min_coderd_ram_bytes),
            count_str(p.min_database_vcpu),
            crate::format::size(p.min_database_ram_bytes),
            p.builtin_provisioners_max_users,
            pct(100.0 * p.max_coderd_cpu, 0),
            pct(100.0 * p.max_database_cpu, 0)
        ),
    }
}

/// Every check of the recommendation: its SLOs, the policy's ceilings and
/// the drill's SLOs, with what they are (`slo`, `policy`, `drill`).
fn checks(e: &Evaluation) -> Vec<(&'static str, &super::SloCheck)> {
    let mut v: Vec<(&'static str, &super::SloCheck)> = e.slos.iter().map(|s| ("slo", s)).collect();
    v.extend(e.policy.iter().map(|s| ("policy", s)));
    if let Some(d) = &e.drill {
        v.extend(d.slos.iter().map(|s| ("drill", s)));
    }
    v
}

fn check_name(kind: &str, s: &super::SloCheck) -> String {
    if kind == "drill" {
        format!("N-1 drill: {}", s.name)
    } else {
        s.name.clone()
    }
}

/// How long a search took, as reported.
#[derive(Clone, Copy, Debug)]
pub enum Took {
    /// A search on its own: its wall time, s.
    Alone(f64),
    /// One user count of `--growth`: reported this long after the command
    /// started, s. The user counts' searches run side by side (each
    /// resource's binary searches count after count, best-first phases
    /// beside them), so a count has no wall time of its own; and counts are
    /// reported smallest first, so a count can be done before it is reported.
    Growth(f64),
}

impl Took {
    /// `12.3 s` or `reported 95.1 s into the run, user counts searched
    /// side by side and reported smallest first` (`digits` after the point).
    fn words(self, digits: usize) -> String {
        match self {
            Took::Alone(s) => format!("{s:.digits$} s"),
            Took::Growth(s) => {
                format!(
                    "reported {s:.digits$} s into the run, user counts searched side by side \
                     and reported smallest first"
                )
            }
        }
    }
}

/// The text printed for one search.
pub fn text(r: &SizeResult, took: Took) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "size {}: {}{} (seed {})",
        r.scenario,
        search_words(r),
        match took {
            Took::Alone(_) => format!(" in {}", took.words(1)),
            Took::Growth(_) => format!(", {}", took.words(1)),
        },
        r.seed
    );
    let _ = writeln!(
        o,
        "  searched: {}",
        r.dimensions
            .iter()
            .map(|d| format!("{} {}", d.label(), ladder_words(d)))
            .collect::<Vec<_>>()
            .join("; ")
    );
    let _ = writeln!(o, "  {}", policy_words(r));
    for n in &r.policy_notes {
        let _ = writeln!(o, "  {n}");
    }
    let _ = writeln!(o, "  {}", drill_words(r));
    if let Some(u) = &r.uncertainty {
        let _ = writeln!(o, "  {}", uncertainty::size_mode_words(u, r.replications));
    }
    for n in &r.notes {
        let _ = writeln!(o, "  note: {n}");
    }
    if r.truncated {
        let _ = writeln!(
            o,
            "  warning: the search stopped at its evaluation limit (--max-evaluations); the recommendation is the cheapest feasible architecture found, maybe not the cheapest there is"
        );
    }
    let Some(rec) = &r.recommended else {
        let _ = writeln!(
            o,
            "no architecture within the search bounds meets every SLO with 95% confidence."
        );
        if let Some(l) = &r.largest {
            let _ = writeln!(
                o,
                "  the largest ({}) fails: {}",
                describe(r, l),
                l.failures().join("; ")
            );
        }
        return o;
    };
    let _ = writeln!(
        o,
        "recommended: {}/month{}",
        money(rec.cost, &r.currency),
        r.cost_per_user()
            .map(|u| format!(" ({} per user)", money_cents(u, &r.currency)))
            .unwrap_or_default()
    );
    let w = r
        .dimensions
        .iter()
        .map(|d| d.label().chars().count())
        .max()
        .unwrap_or(0);
    for (k, (d, b)) in r.dimensions.iter().zip(&r.binding).enumerate() {
        let _ = writeln!(
            o,
            "  {:<w$}  {:>4}   (scenario: {}; set by {})",
            d.label(),
            shown(d, rec, k),
            given_words(d),
            set_by(b)
        );
    }
    let all = checks(rec);
    if !all.is_empty() {
        let rows: Vec<[String; 5]> = all
            .iter()
            .map(|(k, s)| {
                [
                    check_name(k, s),
                    format!(
                        "{} {}",
                        bound_symbol(s.bound),
                        fmt_value(Some(s.target), &s.unit)
                    ),
                    fmt_value(s.mean, &s.unit),
                    fmt_value(s.bound95, &s.unit),
                    headroom(s),
                ]
            })
            .collect();
        let head = ["check", "target", "mean", "95% bound", "headroom"].map(String::from);
        let all: Vec<&[String; 5]> = std::iter::once(&head).chain(&rows).collect();
        let ws: Vec<usize> = (0..5)
            .map(|j| all.iter().map(|r| r[j].chars().count()).max().unwrap_or(0))
            .collect();
        for r in all {
            let _ = writeln!(
                o,
                "  {:<w0$}  {:>w1$}  {:>w2$}  {:>w3$}  {:>w4$}",
                r[0],
                r[1],
                r[2],
                r[3],
                r[4],
                w0 = ws[0],
                w1 = ws[1],
                w2 = ws[2],
                w3 = ws[3],
                w4 = ws[4]
            );
        }
    }
    o += &uncertainty::size_text(r);
    if let Some(c) = &rec.cost_detail {
        o += &cost::text(c);
    }
    if !r.cheaper.is_empty() {
        let _ = writeln!(o, "why not cheaper (one step less of one resource):");
        for e in &r.cheaper {
            let _ = writeln!(
                o,
                "  {}/month  {}\n      fails: {}",
                money(e.cost, &r.currency),
                changed(r, rec, e),
                e.failures().join("; ")
            );
        }
    }
    o
}

/// What differs from the recommendation (`provisioner daemons 11`).
fn changed(r: &SizeResult, rec: &Evaluation, e: &Evaluation) -> String {
    r.dimensions
        .iter()
        .enumerate()
        .filter(|(k, _)| rec.values.get(*k) != e.values.get(*k) || rec.point[*k] != e.point[*k])
        .map(|(k, d)| format!("{} {}", d.label(), shown(d, e, k)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `size.md` (`csv` and `png`: the names of the candidates' files).
pub fn markdown(r: &SizeResult, took: Took, csv: &str, png: &str) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# Sizing: {}\n", r.scenario);
    match &r.recommended {
        None => {
            let _ = writeln!(
                o,
                "**No architecture within the search bounds meets every SLO with 95% confidence.**\n"
            );
            if let Some(l) = &r.largest {
                let _ = writeln!(
                    o,
                    "The largest one tried ({}) fails: {}.\n",
                    describe(r, l),
                    l.failures().join("; ")
                );
            }
        }
        Some(rec) => {
            let _ = writeln!(
                o,
                "**Recommended: {}/month{}.** It is the cheapest architecture found that meets every SLO with 95% confidence across {} replications{}{}.\n",
                money(rec.cost, &r.currency),
                r.cost_per_user()
                    .map(|u| format!(", {} per user", money_cents(u, &r.currency)))
                    .unwrap_or_default(),
                r.replications,
                if r.policy.is_some() {
                    ", stays inside Coder's deployment guidance"
                } else {
                    ""
                },
                match (&r.resilience, &r.drill) {
                    (Resilience::N1, Some(d)) => format!(
                        " and keeps meeting them when a coderd replica is lost at {}",
                        d.time_of_day
                    ),
                    _ => String::new(),
                }
            );
            let _ = writeln!(
                o,
                "| resource | recommended | in the scenario | set by |\n|---|---|---|---|"
            );
            for (k, (d, b)) in r.dimensions.iter().zip(&r.binding).enumerate() {
                let _ = writeln!(
                    o,
                    "| {} | **{}** | {} | {} |",
                    d.label(),
                    shown(d, rec, k),
                    given_words(d),
                    cell(&set_by(b))
                );
            }
            let all = checks(rec);
            if !all.is_empty() {
                let _ = writeln!(
                    o,
                    "\n| check | target | mean | 95% bound | headroom |\n|---|---|---|---|---|"
                );
                for (k, s) in all {
                    let _ = writeln!(
                        o,
                        "| {} | {} {} | {} | {} | {} |",
                        cell(&check_name(k, s)),
                        bound_symbol(s.bound),
                        fmt_value(Some(s.target), &s.unit),
                        fmt_value(s.mean, &s.unit),
                        fmt_value(s.bound95, &s.unit),
                        headroom(s)
                    );
                }
            }
            if r.binding.iter().any(|b| b.kind == "drill") {
                let _ = writeln!(
                    o,
                    "\nThe N-1 drill binds: {}.",
                    r.binding
                        .iter()
                        .filter(|b| b.kind == "drill")
                        .map(|b| format!("{} ({})", b.label(), b.what))
                        .collect::<Vec<_>>()
                        .join("; ")
                );
            }
            if let Some(c) = &rec.cost_detail {
                o += &cost::markdown(c);
            }
            if !r.cheaper.is_empty() {
                let _ = writeln!(
                    o,
                    "\n## Why not cheaper\n\n| architecture | per month | fails |\n|---|---|---|"
                );
                for e in &r.cheaper {
                    let _ = writeln!(
                        o,
                        "| {} | {} | {} |",
                        changed(r, rec, e),
                        money(e.cost, &r.currency),
                        cell(&e.failures().join("; "))
                    );
                }
            }
        }
    }
    o += &uncertainty::size_markdown(r);
    let _ = writeln!(o, "\n## How it was searched\n");
    let _ = writeln!(
        o,
        "- searched: {}",
        r.dimensions
            .iter()
            .map(|d| format!("{} {}", d.label(), ladder_words(d)))
            .collect::<Vec<_>>()
            .join("; ")
    );
    let _ = writeln!(o, "- {}", policy_words(r));
    for n in &r.policy_notes {
        let _ = writeln!(o, "- {n}");
    }
    let _ = writeln!(o, "- {}", drill_words(r));
    for n in &r.notes {
        let _ = writeln!(o, "- note: {n}");
    }
    let _ = writeln!(
        o,
        "\n![Every candidate's cost against each check]({png})\n\n{} ({}; on the same seeds, master seed {}). All of them are in [{csv}]({csv}).",
        upper_first(&search_words(r)),
        took.words(0),
        r.seed
    );
    o
}

/// `evaluated 23 of 2,688 candidates, 48 simulations (3 replications each;
/// stopped early 9, once each failed for certain; 2 of them completed)`.
pub fn search_words(r: &SizeResult) -> String {
    let mut o = format!(
        "evaluated {} of {} candidates, {} simulations ({} replications each",
        r.evaluations,
        crate::format::thousands(r.grid),
        r.simulations,
        r.replications
    );
    if r.exhaustive {
        o += "; exhaustive: every candidate runs them all)";
    } else {
        o += &format!(
            "; stopped early {}, once each failed for certain",
            r.stopped_early
        );
        if r.completed > 0 {
            o += &format!(
                "; {} of them completed for the recommendation's neighbours",
                r.completed
            );
        }
        o.push(')');
    }
    o
}

fn upper_first(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// The checks every candidate can have, in column order: each SLO, each
/// policy ceiling, each SLO under the drill (kind, name).
fn check_columns(r: &SizeResult) -> Vec<(&'static str, String)> {
    let mut cols: Vec<(&'static str, String)> = Vec::new();
    for e in &r.evaluated {
        for (k, s) in checks(e) {
            if !cols.iter().any(|(k2, n)| *k2 == k && *n == s.name) {
                cols.push((k, s.name.clone()));
            }
        }
    }
    let rank = |k: &str| match k {
        "slo" => 0,
        "policy" => 1,
        _ => 2,
    };
    cols.sort_by_key(|(k, _)| rank(k));
    cols
}

fn find<'a>(e: &'a Evaluation, kind: &str, name: &str) -> Option<&'a super::SloCheck> {
    checks(e)
        .into_iter()
        .find(|(k, s)| *k == kind && s.name == name)
        .map(|(_, s)| s)
}

/// `candidates.csv`: every evaluated architecture in evaluation order, with
/// its shape, monthly cost (to the cent), every check's mean and 95% bound
/// (base units; a drill column is empty when the drill did not run) and
/// its verdict.
pub fn write_candidates(path: &Path, r: &SizeResult) -> anyhow::Result<()> {
    let mut w =
        csv::Writer::from_path(path).with_context(|| format!("cannot write {}", path.display()))?;
    let mut head = vec!["order".to_string()];
    for d in &r.dimensions {
        head.push(d.column());
        if !d.shapes.is_empty() {
            head.push(format!("{}_ram_bytes", d.column()));
            head.push(format!("{}_instance", d.column()));
        }
    }
    head.extend(["monthly_cost", "verdict", "feasible", "saturated"].map(String::from));
    let cols = check_columns(r);
    for (k, n) in &cols {
        let name = check_name(
            k,
            &super::SloCheck {
                name: n.clone(),
                ..dummy()
            },
        );
        head.push(format!("{name}: mean"));
        head.push(format!("{name}: 95% bound"));
    }
    head.push("replications".into());
    head.push("fails".into());
    w.write_record(head.iter().map(|c| crate::format::csv_bytes(c.as_ref())))?;
    for (i, e) in r.evaluated.iter().enumerate() {
        let mut row = vec![(i + 1).to_string()];
        for (k, (d, &p)) in r.dimensions.iter().zip(&e.point).enumerate() {
            row.push(count_str(e.values.get(k).copied().unwrap_or(d.ladder[p])));
            if let Some(s) = d.shapes.get(p) {
                row.push(format!("{:.0}", s.ram_bytes));
                row.push(s.instance.clone().unwrap_or_default());
            }
        }
        row.push(if e.cost.is_finite() {
            format!("{:.2}", e.cost)
        } else {
            String::new()
        });
        row.push(e.verdict().into());
        row.push(e.feasible.to_string());
        row.push(e.saturated.to_string());
        for (k, n) in &cols {
            let s = find(e, k, n);
            row.push(exact_opt(s.and_then(|s| s.mean)));
            row.push(exact_opt(s.and_then(|s| s.bound95)));
        }
        row.push(e.replications_run.to_string());
        row.push(e.failures().join("; "));
        w.write_record(row.iter().map(|c| crate::format::csv_bytes(c.as_ref())))?;
    }
    w.flush()?;
    Ok(())
}

fn dummy() -> super::SloCheck {
    super::SloCheck {
        name: String::new(),
        metric: String::new(),
        stat: String::new(),
        labels: Default::default(),
        bound: Bound::AtMost,
        target: 0.0,
        unit: String::new(),
        mean: None,
        bound95: None,
        pass: false,
        status: crate::result::SloStatus::NoData,
        confident: false,
        n: 0,
    }
}

/// `candidates.png`: each check's 95% bound against monthly cost, one
/// point per candidate coloured by verdict, with the front and the target.
pub fn write_candidates_plot(path: &Path, r: &SizeResult) -> anyhow::Result<()> {
    let group = |e: &Evaluation| {
        CANDIDATE_VERDICTS
            .iter()
            .position(|v| *v == e.verdict())
            .unwrap_or(CANDIDATE_VERDICTS.len() - 1)
    };
    let panels: Vec<ScatterPanel> = check_columns(r)
        .into_iter()
        .filter(|(k, _)| *k != "drill")
        .filter_map(|(k, n)| {
            let proto = r.evaluated.iter().find_map(|e| find(e, k, &n))?;
            let points = r
                .evaluated
                .iter()
                .filter_map(|e| {
                    let s = find(e, k, &n)?;
                    Some(ScatterPoint {
                        x: e.cost,
                        y: s.bound95?,
                        group: group(e),
                    })
                })
                .collect();
            let chosen = r
                .recommended
                .as_ref()
                .and_then(|e| Some((e.cost, find(e, k, &n)?.bound95?)));
            Some(ScatterPanel {
                title: format!("{n}: 95% bound"),
                unit: proto.unit.clone(),
                points,
                target: Some(proto.target),
                lower_is_better: proto.bound == Bound::AtMost,
                chosen,
            })
        })
        .collect();
    if panels.is_empty() {
        return Ok(());
    }
    write_scatter(
        path,
        &CANDIDATES_FIGURE.1.replace("{scenario}", &r.scenario),
        &format!("monthly cost ({})", r.currency),
        &CANDIDATE_VERDICTS,
        &panels,
    )
}

/// One resource of the recommendation in `size.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResourceJson {
    pub resource: String,
    /// The node pool, for a node resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<String>,
    /// A count, or the vCPU of the shape.
    pub value: f64,
    pub shape: Option<Shape>,
    /// The scenario's own value.
    pub given: f64,
}

/// One bought component (from the cost breakdown).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ComponentJson {
    pub component: String,
    pub unit: String,
    pub count: f64,
    pub monthly_cost: f64,
}

/// One check of the recommendation in `size.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckJson {
    /// `slo`, `policy` or `drill`.
    pub kind: String,
    pub name: String,
    pub metric: String,
    pub stat: String,
    /// `max` or `min`.
    pub bound: String,
    pub target: f64,
    pub unit: String,
    pub mean: Option<f64>,
    /// The one-sided 95% bound.
    pub bound95: Option<f64>,
    /// (target - bound) / target for "at most", as a share.
    pub headroom: Option<f64>,
    pub pass: bool,
}

/// The recommendation in `size.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecommendationJson {
    pub resources: Vec<ResourceJson>,
    pub components: Vec<ComponentJson>,
    /// To the cent.
    pub monthly_cost: f64,
    pub cost_per_user: Option<f64>,
    pub checks: Vec<CheckJson>,
}

/// `size.json` and `capsim size --format json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SizeJson {
    pub scenario: String,
    pub users: u32,
    pub currency: String,
    pub recommendation: Option<RecommendationJson>,
    /// What set each resource of the recommendation.
    pub binding: Vec<BindingJson>,
    pub policy: Option<SizingPolicy>,
    pub policy_notes: Vec<String>,
    pub notes: Vec<String>,
    /// `n-1` or `none`.
    pub resilience: String,
    pub drill: Option<DrillJson>,
    /// The strictly cheaper neighbours and what each fails.
    pub why_not_cheaper: Vec<CheaperJson>,
    pub evaluations: usize,
    pub simulations: u64,
    /// Candidates whose replications stopped once they failed for certain.
    #[serde(default)]
    pub stopped_early: usize,
    /// Of those, the ones run to the end for the report.
    #[serde(default)]
    pub completed: usize,
    /// Candidates in the whole grid searched.
    #[serde(default)]
    pub grid: u64,
    /// The plain search (`--exhaustive`).
    #[serde(default)]
    pub exhaustive: bool,
    pub replications: u32,
    pub seed: u64,
    pub truncated: bool,
    /// `--uncertainty`: the mode and the recommendation's noise and model
    /// parts per check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uncertainty: Option<uncertainty::SizeUncertaintyJson>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BindingJson {
    pub resource: String,
    /// The node pool, for a node resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<String>,
    pub kind: String,
    pub what: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DrillJson {
    pub at_s: f64,
    pub time_of_day: String,
    pub source: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheaperJson {
    pub architecture: String,
    pub monthly_cost: f64,
    pub fails: Vec<String>,
}

fn round_cents(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The `size.json` document of a search.
pub fn document(r: &SizeResult) -> SizeJson {
    let recommendation = r.recommended.as_ref().map(|e| RecommendationJson {
        resources: r
            .dimensions
            .iter()
            .zip(&e.point)
            .enumerate()
            .map(|(k, (d, &i))| ResourceJson {
                resource: d.resource.name().into(),
                pool: d.pool_name.clone(),
                value: e.values.get(k).copied().unwrap_or(d.ladder[i]),
                shape: d.shapes.get(i).cloned(),
                given: d.given,
            })
            .collect(),
        components: e
            .cost_detail
            .iter()
            .flat_map(|c| &c.lines)
            .map(|l| ComponentJson {
                component: l.component.clone(),
                unit: l.unit.clone(),
                count: l.count,
                monthly_cost: round_cents(l.monthly),
            })
            .collect(),
        monthly_cost: round_cents(e.cost),
        cost_per_user: r.cost_per_user().map(round_cents),
        checks: checks(e)
            .into_iter()
            .map(|(k, s)| CheckJson {
                kind: k.into(),
                name: s.name.clone(),
                metric: s.metric.clone(),
                stat: s.stat.clone(),
                bound: crate::format::bound_str(s.bound).into(),
                target: s.target,
                unit: s.unit.clone(),
                mean: s.mean,
                bound95: s.bound95,
                headroom: s.headroom(),
                pass: s.confident,
            })
            .collect(),
    });
    let bj = |b: &Binding| BindingJson {
        resource: b.resource.name().into(),
        pool: b.pool.clone(),
        kind: b.kind.clone(),
        what: b.what.clone(),
    };
    let dj = |d: &Drill| DrillJson {
        at_s: d.at_s,
        time_of_day: d.time_of_day.clone(),
        source: d.source.clone(),
    };
    SizeJson {
        scenario: r.scenario.clone(),
        users: r.users,
        currency: r.currency.clone(),
        recommendation,
        binding: r.binding.iter().map(bj).collect(),
        policy: r.policy.clone(),
        policy_notes: r.policy_notes.clone(),
        notes: r.notes.clone(),
        resilience: match r.resilience {
            Resilience::N1 => "n-1".into(),
            Resilience::None => "none".into(),
        },
        drill: r.drill.as_ref().map(dj),
        why_not_cheaper: match &r.recommended {
            Some(rec) => r
                .cheaper
                .iter()
                .map(|e| CheaperJson {
                    architecture: changed(r, rec, e),
                    monthly_cost: round_cents(e.cost),
                    fails: e.failures(),
                })
                .collect(),
            None => vec![],
        },
        evaluations: r.evaluations,
        simulations: r.simulations,
        stopped_early: r.stopped_early,
        completed: r.completed,
        grid: r.grid,
        exhaustive: r.exhaustive,
        replications: r.replications,
        seed: r.seed,
        truncated: r.truncated,
        uncertainty: uncertainty::size_json(r),
    }
}

/// `size.json` of `--growth`: one document per user count.
pub fn growth_json(points: &[GrowthPoint]) -> String {
    #[derive(Serialize)]
    struct Point {
        users: u32,
        #[serde(flatten)]
        size: SizeJson,
    }
    let v: Vec<Point> = points
        .iter()
        .map(|p| Point {
            users: p.users,
            size: document(&p.result),
        })
        .collect();
    serde_json::to_string_pretty(&serde_json::json!({ "growth": v })).expect("serialisable")
}

/// `size.json` as text (pretty-printed).
pub fn to_json(r: &SizeResult) -> String {
    serde_json::to_string_pretty(&document(r)).expect("serialisable")
}

/// The top of `size.md` for `--growth`: one row per user count, and the plot.
pub fn growth_markdown(points: &[GrowthPoint]) -> String {
    let Some(first) = points.first() else {
        return String::new();
    };
    let dims = &first.result.dimensions;
    let mut o = format!(
        "# Growth: {}\n\nThe cheapest architecture that meets every SLO with 95% confidence, per user count.\n\n| users | per month | per user |",
        first.result.scenario
    );
    for d in dims {
        let _ = write!(o, " {} |", d.label());
    }
    let _ = write!(o, "\n|---|---|---|");
    for _ in dims {
        o += "---|";
    }
    o.push('\n');
    for p in points {
        let _ = write!(o, "| {} |", p.users);
        match &p.result.recommended {
            Some(e) => {
                let _ = write!(
                    o,
                    " {} | {} |",
                    money(e.cost, &p.result.currency),
                    p.result
                        .cost_per_user()
                        .map_or("-".into(), |u| money_cents(u, &p.result.currency))
                );
                for (k, d) in p.result.dimensions.iter().enumerate() {
                    let _ = write!(o, " {} |", shown(d, e, k));
                }
            }
            None => {
                o += " none within the bounds | |";
                for _ in dims {
                    o += " |";
                }
            }
        }
        o.push('\n');
    }
    o += "\n![Cost and sizes against users](growth.png)\n\n";
    o += &format!("{}\n\n", policy_words(&first.result));
    o += &format!("{}\n\n", drill_words(&first.result));
    o
}

/// `growth.csv` and `growth.png` (cost and recommended sizes against users).
pub fn write_growth(dir: &Path, points: &[GrowthPoint]) -> anyhow::Result<Vec<String>> {
    let Some(first) = points.first() else {
        return Ok(vec![]);
    };
    let dims = &first.result.dimensions;
    let path = dir.join("growth.csv");
    let mut w = csv::Writer::from_path(&path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    let mut head = vec![
        "users".to_string(),
        "feasible".into(),
        "monthly_cost".into(),
    ];
    head.extend(dims.iter().map(|d| d.column()));
    head.extend(["evaluations", "simulations", "fails"].map(String::from));
    w.write_record(head.iter().map(|c| crate::format::csv_bytes(c.as_ref())))?;
    for p in points {
        let r = &p.result;
        let mut row = vec![p.users.to_string()];
        match &r.recommended {
            Some(e) => {
                row.push("true".into());
                row.push(format!("{:.2}", e.cost));
                row.extend(e.values.iter().map(|v| count_str(*v)));
            }
            None => {
                row.push("false".into());
                row.push(String::new());
                row.extend(dims.iter().map(|_| String::new()));
            }
        }
        row.push(r.evaluations.to_string());
        row.push(r.simulations.to_string());
        row.push(
            r.largest
                .as_ref()
                .map(|l| l.failures().join("; "))
                .unwrap_or_default(),
        );
        w.write_record(row.iter().map(|c| crate::format::csv_bytes(c.as_ref())))?;
    }
    w.flush()?;
    let mut files = vec!["growth.csv".to_string()];
    let pt = |x: f64, y: f64| AggPoint {
        bucket_start_s: x,
        value: y,
        ci_low: None,
        ci_high: None,
        n: 1,
    };
    let ok: Vec<(&GrowthPoint, &Evaluation)> = points
        .iter()
        .filter_map(|p| p.result.recommended.as_ref().map(|e| (p, e)))
        .collect();
    if ok.len() >= 2 {
        let fig = &GROWTH_FIGURE;
        let currency = &first.result.currency;
        let line = |spec: &GrowthLine| -> Vec<OverlayLine> {
            match *spec {
                GrowthLine::Cost => vec![OverlayLine {
                    label: "monthly cost".into(),
                    points: ok.iter().map(|(p, e)| pt(p.users as f64, e.cost)).collect(),
                }],
                GrowthLine::Sizes(which) => dims
                    .iter()
                    .enumerate()
                    .filter(|(_, d)| which.contains(d.resource.name()))
                    .map(|(i, d)| OverlayLine {
                        label: d.label(),
                        points: ok
                            .iter()
                            .map(|(p, e)| pt(p.users as f64, e.values[i]))
                            .collect(),
                    })
                    .collect(),
            }
        };
        let panels: Vec<OverlayPanel> = fig
            .panels
            .iter()
            .map(|p| OverlayPanel {
                title: p.title.into(),
                quantity: p.quantity.into(),
                unit: match p.lines.first() {
                    Some(GrowthLine::Cost) => format!("{currency}/month"),
                    _ => "1".into(),
                },
                lines: p.lines.iter().flat_map(&line).collect(),
                slo_metric: None,
            })
            .filter(|p| !p.lines.is_empty())
            .collect();
        write_overlay(
            &dir.join(fig.file),
            &fig.title.replace("{scenario}", &first.result.scenario),
            OverlayX::Value(fig.x_axis.expect("growth is drawn against users").into()),
            &[],
            1,
            panels,
            OverlayEvents::default(),
        )?;
        files.push(fig.file.into());
    }
    Ok(files)
}
