//! `compare --uncertainty N` and `size --uncertainty N`: architectures
//! judged over the model's own uncertainty as well as simulation noise.
//!
//! Both draw N parameter sets by Latin hypercube
//! ([`crate::sensitivity::uncertainty`], the same draw as
//! `run --uncertainty` on the same seed) and run every set with the usual
//! R replications on the plain run's seeds, so within an architecture the
//! sets differ only by their parameters, and across architectures set `i`
//! replication `r` differs only by the architecture: common parameter sets
//! and common random numbers.
//!
//! - compare: each architecture's statistics are split into noise and
//!   model parts ([`unc::decompose`]); each SLO is judged on the one-sided
//!   95% bound over both ([`unc::Decomposition::bound95`]); and each
//!   architecture's difference from the first is decomposed the same way
//!   from the paired differences `x_B[i][r] − x_A[i][r]`, with the count of
//!   sets in which its set mean favours B. A difference "holds whatever
//!   the assumptions" when its combined 95% prediction interval excludes 0.
//! - size: a candidate's SLOs and policy CPU ceilings judged the same way
//!   over its N x R runs ([`judge_sets`]).

use super::{SloCheck, judge, slo_value};
use crate::result::RunResult;
use crate::scenario::{Bound, Scenario, Slo};
use crate::sensitivity::uncertainty::{self as unc, Decomposition};
use crate::sensitivity::{Target, targets};
use rayon::prelude::*;
use serde::Serialize;

/// What each architecture is judged on over the sets.
#[derive(Clone, Debug, Serialize)]
pub struct StatStudy {
    /// The SLO's name, or the headline statistic in words.
    pub statistic: String,
    pub unit: String,
    pub is_slo: bool,
    #[serde(serialize_with = "ser_bound")]
    pub bound: Bound,
    /// The SLO's target (`None` for a headline statistic).
    pub target: Option<f64>,
    pub decomposition: Decomposition,
    /// The one-sided 95% bound over noise and model in the SLO's direction.
    pub bound95: Option<f64>,
    /// The SLO holds with 95% confidence over both (`None`: not an SLO).
    pub holds: Option<bool>,
    /// Parameter sets whose mean meets the SLO (`None`: not an SLO).
    pub sets_meeting: Option<usize>,
}

fn ser_bound<S: serde::Serializer>(b: &Bound, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(crate::format::bound_str(*b))
}

/// One architecture over the sets.
#[derive(Clone, Debug, Serialize)]
pub struct ArchStudy {
    pub name: String,
    pub statistics: Vec<StatStudy>,
    /// Parameter sets with a saturated replication.
    pub saturated_sets: usize,
}

/// One architecture's difference from the first on one statistic.
#[derive(Clone, Debug, Serialize)]
pub struct DiffStudy {
    pub architecture: String,
    pub reference: String,
    pub statistic: String,
    pub unit: String,
    /// Of `architecture − reference`, paired per set and replication.
    pub decomposition: Decomposition,
    /// Sets whose mean difference favours `architecture` (lower for an
    /// "at most" statistic, higher for "at least").
    pub better_in: usize,
    pub sets: usize,
    /// `better` or `worse` when the combined 95% interval excludes 0 on
    /// that side; `equal` when every paired difference is 0; `unresolved`
    /// otherwise.
    pub verdict: &'static str,
}

/// `compare --uncertainty N`.
#[derive(Clone, Debug, Serialize)]
pub struct CompareStudy {
    pub parameter_sets: usize,
    pub replications: u32,
    /// The parameters varied (union over the architectures' models).
    pub parameters: Vec<&'static str>,
    /// Where the architectures' models differ in their ranges.
    pub notes: Vec<String>,
    pub architectures: Vec<ArchStudy>,
    pub differences: Vec<DiffStudy>,
}

/// What one simulation leaves for a study: each target's value and unit,
/// and whether it saturated.
#[derive(Clone, Debug)]
pub struct Reduced {
    pub values: Vec<Option<f64>>,
    pub units: Vec<String>,
    pub saturated: bool,
}

fn reduce(slos: &[Slo], run: &RunResult) -> Reduced {
    let found: Vec<Option<(f64, String)>> = slos
        .iter()
        .map(|s| slo_value(s, run).map(|(v, u, _)| (v, u)))
        .collect();
    Reduced {
        values: found
            .iter()
            .map(|f| f.as_ref().map(|x| x.0).filter(|v| v.is_finite()))
            .collect(),
        units: found
            .into_iter()
            .map(|f| f.map(|x| x.1).unwrap_or_default())
            .collect(),
        saturated: run.saturated,
    }
}

/// Simulate `scenarios[a][i]` for every replication `r` on
/// `replication_seed(seed, r)` (by `simulate`: `model::simulate`, or what
/// stands for it, see `size::Simulator`) and reduce each run with `f`:
/// `[a][i][r]`. All runs in parallel on the current rayon pool; the result
/// does not depend on the thread count.
pub fn simulate_sets<T: Send>(
    scenarios: &[Vec<Scenario>],
    seed: u64,
    replications: u32,
    simulate: &(dyn Fn(&Scenario, u64) -> RunResult + Sync),
    f: impl Fn(usize, &RunResult) -> T + Sync,
) -> Vec<Vec<Vec<T>>> {
    let tasks: Vec<(usize, usize, u32)> = scenarios
        .iter()
        .enumerate()
        .flat_map(|(a, sets)| {
            (0..sets.len()).flat_map(move |i| (0..replications).map(move |r| (a, i, r)))
        })
        .collect();
    let mut flat = tasks
        .par_iter()
        .map(|&(a, i, r)| {
            let run = simulate(
                &scenarios[a][i],
                crate::engine::rng::replication_seed(seed, r),
            );
            f(a, &run)
        })
        .collect::<Vec<T>>()
        .into_iter();
    scenarios
        .iter()
        .map(|sets| {
            (0..sets.len())
                .map(|_| flat.by_ref().take(replications as usize).collect())
                .collect()
        })
        .collect()
}

/// `values[i][r]` of target `t`.
fn of_target(runs: &[Vec<Reduced>], t: usize) -> Vec<Vec<Option<f64>>> {
    runs.iter()
        .map(|rs| rs.iter().map(|x| x.values[t]).collect())
        .collect()
}

/// The statistic's value meets `slo` (never without a value).
fn meets(slo: &Slo, x: Option<f64>) -> bool {
    slo.is_met(x)
}

fn set_means(values: &[Vec<Option<f64>>]) -> Vec<Option<f64>> {
    values
        .iter()
        .map(|xs| {
            let v: Vec<f64> = xs.iter().flatten().copied().collect();
            (!v.is_empty()).then(|| crate::result::mean(&v))
        })
        .collect()
}

fn stat_study(t: &Target, replications: u32, values: &[Vec<Option<f64>>]) -> StatStudy {
    let d = unc::decompose(t, replications, values);
    let bound95 = d.bound95(t.slo.bound);
    StatStudy {
        statistic: t.name.clone(),
        unit: t.unit.clone(),
        is_slo: t.is_slo,
        bound: t.slo.bound,
        target: t.is_slo.then_some(t.slo.target),
        holds: t.is_slo.then(|| meets(&t.slo, bound95)),
        sets_meeting: t.is_slo.then(|| {
            set_means(values)
                .into_iter()
                .filter(|m| meets(&t.slo, *m))
                .count()
        }),
        decomposition: d,
        bound95,
    }
}

/// The model-uncertainty study of a comparison: `n` parameter sets common
/// to every architecture (see [`unc::common_sets`]), each with the
/// comparison's replications and seeds, judged on the first
/// architecture's targets (its SLOs, or the headline statistics).
/// `Err` names the architecture and the parameter a drawn set the model
/// refuses.
pub fn compare_study(c: &super::Comparison, n: usize) -> Result<CompareStudy, String> {
    let named: Vec<(&str, &Scenario)> = c
        .archs
        .iter()
        .map(|a| (a.name.as_str(), &a.scenario))
        .collect();
    let common = unc::common_sets(&named, n.max(2), c.seed);
    let scenarios: Vec<Vec<Scenario>> = named
        .iter()
        .zip(&common.sets)
        .map(|((name, s), sets)| {
            sets.iter()
                .map(|set| unc::apply(s, set).map_err(|e| format!("{name}: {e}")))
                .collect::<Result<Vec<_>, _>>()
        })
        .collect::<Result<_, _>>()?;
    let mut targets = named.first().map(|(_, s)| targets(s)).unwrap_or_default();
    let slos: Vec<Slo> = targets.iter().map(|t| t.slo.clone()).collect();
    let runs = simulate_sets(
        &scenarios,
        c.seed,
        c.replications,
        &crate::model::simulate,
        |_, run| reduce(&slos, run),
    );
    for (t, target) in targets.iter_mut().enumerate() {
        if let Some(u) = runs
            .iter()
            .flatten()
            .flatten()
            .map(|x| &x.units[t])
            .find(|u| !u.is_empty())
        {
            target.unit = u.clone();
        }
    }
    let reps = c.replications;
    let architectures = named
        .iter()
        .zip(&runs)
        .map(|((name, _), rs)| ArchStudy {
            name: name.to_string(),
            statistics: targets
                .iter()
                .enumerate()
                .map(|(t, target)| stat_study(target, reps, &of_target(rs, t)))
                .collect(),
            saturated_sets: rs
                .iter()
                .filter(|set| set.iter().any(|x| x.saturated))
                .count(),
        })
        .collect();
    let mut differences = Vec::new();
    for (b, rs) in runs.iter().enumerate().skip(1) {
        for (t, target) in targets.iter().enumerate() {
            let (xa, xb) = (of_target(&runs[0], t), of_target(rs, t));
            let d: Vec<Vec<Option<f64>>> = xa
                .iter()
                .zip(&xb)
                .map(|(a, b)| a.iter().zip(b).map(|(a, b)| Some((*b)? - (*a)?)).collect())
                .collect();
            let dec = unc::decompose(target, reps, &d);
            if dec.sets == 0 {
                continue;
            }
            let better = |x: f64| match target.slo.bound {
                Bound::AtMost => x < 0.0,
                Bound::AtLeast => x > 0.0,
            };
            let better_in = set_means(&d)
                .into_iter()
                .flatten()
                .filter(|x| better(*x))
                .count();
            let verdict = match (dec.combined_low, dec.combined_high) {
                (Some(0.0), Some(0.0)) => "equal",
                (Some(lo), Some(hi)) if better(hi) && better(lo) => "better",
                (Some(lo), Some(hi)) if (lo > 0.0 || hi < 0.0) => "worse",
                _ => "unresolved",
            };
            differences.push(DiffStudy {
                architecture: named[b].0.to_string(),
                reference: named[0].0.to_string(),
                statistic: target.name.clone(),
                unit: target.unit.clone(),
                better_in,
                sets: dec.sets,
                verdict,
                decomposition: dec,
            });
        }
    }
    let study = CompareStudy {
        parameter_sets: scenarios.first().map_or(0, Vec::len),
        replications: reps,
        parameters: common.names,
        notes: common.notes,
        architectures,
        differences,
    };
    Ok(study)
}

/// One check (an SLO, a policy CPU ceiling) judged over noise and model:
/// the plain [`SloCheck`] shape, with `mean` the mean over the sets,
/// `bound95` the one-sided bound over both ([`unc::Decomposition::bound95`])
/// and `confident` whether it meets the target; and the two parts.
#[derive(Clone, Debug, Serialize)]
pub struct UncertainCheck {
    pub check: SloCheck,
    /// Simulation noise: the pooled within-set standard deviation.
    pub noise_sd: Option<f64>,
    /// The model's part: `s_m`.
    pub model_sd: Option<f64>,
    /// Degrees of freedom of the combined bound.
    pub df: Option<usize>,
    /// Parameter sets whose mean meets the target.
    pub sets_meeting: usize,
    pub sets: usize,
}

/// Judge `slos` over `values[check][i][r]` (the value of each check's
/// statistic in replication `r` of set `i`).
fn judge_over(
    slos: &[Slo],
    units: &[String],
    replications: u32,
    values: &[Vec<Vec<Option<f64>>>],
) -> Vec<UncertainCheck> {
    slos.iter()
        .zip(units)
        .zip(values)
        .map(|((slo, unit), v)| {
            let target = Target {
                name: slo.name.clone(),
                slo: slo.clone(),
                is_slo: true,
                unit: unit.clone(),
            };
            let d = unc::decompose(&target, replications, v);
            let b = d.bound95(slo.bound);
            let xs: Vec<f64> = v.iter().flatten().flatten().copied().collect();
            let mut check = judge(slo, slo.labels.clone(), unit.clone(), &xs);
            check.mean = d.mean;
            check.bound95 = b;
            check.confident = slo.is_met(b);
            UncertainCheck {
                check,
                noise_sd: d.noise_var.map(f64::sqrt),
                model_sd: d.model_var.map(f64::sqrt),
                df: d.df,
                sets_meeting: set_means(v).into_iter().filter(|m| slo.is_met(*m)).count(),
                sets: d.sets,
            }
        })
        .collect()
}

/// What one candidate's runs over the sets give: its SLOs and policy CPU
/// ceilings judged over both parts, and whether any set saturated.
#[derive(Clone, Debug, Serialize)]
pub struct SetsVerdict {
    pub slos: Vec<UncertainCheck>,
    pub policy: Vec<UncertainCheck>,
    /// Parameter sets with a saturated replication.
    pub saturated_sets: usize,
}

impl SetsVerdict {
    /// No set saturated and every check's bound over both meets its target.
    pub fn feasible(&self) -> bool {
        self.saturated_sets == 0
            && self
                .slos
                .iter()
                .chain(&self.policy)
                .all(|c| c.check.confident)
    }
}

/// Run `scenario` with each of `sets` applied, `replications` replications
/// each on the seeds of `seed`, and judge its SLOs and (with `policy`) the
/// policy's CPU ceilings over both parts, each simulation by `simulate`.
/// `Err`: a set the model refuses.
pub fn judge_sets(
    scenario: &Scenario,
    sets: &[unc::ParamSet],
    seed: u64,
    replications: u32,
    policy: Option<&crate::scenario::SizingPolicy>,
    simulate: &(dyn Fn(&Scenario, u64) -> RunResult + Sync),
) -> Result<SetsVerdict, String> {
    let scenarios = sets
        .iter()
        .map(|set| unc::apply(scenario, set).map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    let ceilings = policy.map_or_else(Vec::new, |p| super::policy::cpu_slos(scenario, p));
    let runs = simulate_sets(&[scenarios], seed, replications, simulate, |_, run| {
        let mut r = reduce(&scenario.slos, run);
        for c in &ceilings {
            r.values.push(super::policy::cpu_value(c, run));
            r.units.push("ratio".into());
        }
        r
    })
    .pop()
    .unwrap_or_default();
    let k = scenario.slos.len() + ceilings.len();
    let values: Vec<Vec<Vec<Option<f64>>>> = (0..k).map(|t| of_target(&runs, t)).collect();
    let units: Vec<String> = (0..k)
        .map(|t| {
            runs.iter()
                .flatten()
                .map(|x| x.units[t].clone())
                .find(|u| !u.is_empty())
                .unwrap_or_default()
        })
        .collect();
    let n = scenario.slos.len();
    Ok(SetsVerdict {
        slos: judge_over(&scenario.slos, &units[..n], replications, &values[..n]),
        policy: judge_over(&ceilings, &units[n..], replications, &values[n..]),
        saturated_sets: runs
            .iter()
            .filter(|set| set.iter().any(|x| x.saturated))
            .count(),
    })
}

fn interval(d: &Decomposition, unit: &str) -> String {
    use crate::format::fmt_value;
    match (d.combined_low, d.combined_high) {
        (Some(l), Some(h)) => format!(
            "[{}, {}]",
            fmt_value(Some(l), unit),
            fmt_value(Some(h), unit)
        ),
        _ => "-".into(),
    }
}

fn sd(v: Option<f64>, unit: &str) -> String {
    crate::format::fmt_value(v.map(f64::sqrt), unit)
}

fn slo_words(s: &StatStudy) -> String {
    match (s.holds, s.sets_meeting) {
        (Some(h), Some(k)) => format!(
            "{} ({k}/{} sets)",
            if h { "holds" } else { "fails" },
            s.decomposition.sets
        ),
        _ => "-".into(),
    }
}

fn diff_words(d: &DiffStudy) -> String {
    let side = match d.verdict {
        "better" => "better whatever the assumptions",
        "worse" => "worse whatever the assumptions",
        "equal" => "equal in every set and replication",
        _ => "not resolved over noise and model",
    };
    format!("better in {} of {} sets; {side}", d.better_in, d.sets)
}

fn heading(u: &CompareStudy) -> String {
    format!(
        "{} parameter sets by Latin hypercube over {} parameter range{}, the same sets and seeds for every architecture, {} replication{} each",
        u.parameter_sets,
        u.parameters.len(),
        if u.parameters.len() == 1 { "" } else { "s" },
        u.replications,
        if u.replications == 1 { "" } else { "s" }
    )
}

/// The section printed after the plain comparison.
pub fn text(u: &CompareStudy) -> String {
    use std::fmt::Write;
    let mut o = String::new();
    let _ = writeln!(o, "\nModel uncertainty: {}", heading(u));
    for n in &u.notes {
        let _ = writeln!(o, "  note: {n}");
    }
    let _ = writeln!(
        o,
        "  {:<36} {:>11} {:>11} {:>11} {:>27}  SLO over both",
        "statistic / architecture", "mean", "noise sd", "model sd", "combined 95% PI",
    );
    let Some(first) = u.architectures.first() else {
        return o;
    };
    for (t, s0) in first.statistics.iter().enumerate() {
        let _ = writeln!(o, "  {}", s0.statistic);
        for a in &u.architectures {
            let s = &a.statistics[t];
            let d = &s.decomposition;
            let _ = writeln!(
                o,
                "    {:<34} {:>11} {:>11} {:>11} {:>27}  {}",
                a.name,
                crate::format::fmt_value(d.mean, &s.unit),
                sd(d.noise_var, &s.unit),
                sd(d.model_var, &s.unit),
                interval(d, &s.unit),
                slo_words(s)
            );
        }
    }
    for a in u.architectures.iter().filter(|a| a.saturated_sets > 0) {
        let _ = writeln!(
            o,
            "  {} saturated in {} of {} parameter sets",
            a.name, a.saturated_sets, u.parameter_sets
        );
    }
    if !u.differences.is_empty() {
        let _ = writeln!(
            o,
            "  Differences from {} (paired per parameter set and replication):",
            first.name
        );
        let _ = writeln!(
            o,
            "  {:<36} {:>11} {:>11} {:>11} {:>27}  verdict",
            "statistic / architecture", "Δ mean", "noise sd", "model sd", "combined 95% PI",
        );
        let mut last = "";
        for d in &u.differences {
            if d.statistic != last {
                let _ = writeln!(o, "  {}", d.statistic);
                last = &d.statistic;
            }
            let x = &d.decomposition;
            let _ = writeln!(
                o,
                "    {:<34} {:>11} {:>11} {:>11} {:>27}  {}",
                d.architecture,
                crate::format::signed(x.mean, &d.unit),
                sd(x.noise_var, &d.unit),
                sd(x.model_var, &d.unit),
                interval(x, &d.unit),
                diff_words(d)
            );
        }
    }
    let _ = writeln!(
        o,
        "  Noise sd: the spread between replications of one set; model sd: the spread of the set means beyond it; combined: the 95% prediction interval for a set not drawn. An SLO holds over both when its one-sided 95% bound over both meets the target."
    );
    o
}

/// The section of `compare.md`.
pub fn markdown(u: &CompareStudy) -> String {
    use crate::format::{fmt_value, md_cell as cell, signed};
    use std::fmt::Write;
    let mut o = String::new();
    let _ = writeln!(o, "## Over the model's uncertainty\n");
    let _ = writeln!(
        o,
        "{}. The plain comparison above is simulation noise only; here each statistic's spread is split into simulation noise and the model's own uncertainty (the parameters' `range` in the model file), and combined into a 95% prediction interval. Table in [uncertainty.csv](uncertainty.csv).\n",
        heading(u)
    );
    for n in &u.notes {
        let _ = writeln!(o, "- {}", cell(n));
    }
    if !u.notes.is_empty() {
        o.push('\n');
    }
    let _ = writeln!(
        o,
        "| statistic | architecture | mean | noise sd | model sd | combined 95% PI | SLO over both |"
    );
    let _ = writeln!(o, "|---|---|---:|---:|---:|---|---|");
    let Some(first) = u.architectures.first() else {
        return o;
    };
    for (t, _) in first.statistics.iter().enumerate() {
        for a in &u.architectures {
            let s = &a.statistics[t];
            let d = &s.decomposition;
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} | {} | {} |",
                cell(&s.statistic),
                cell(&a.name),
                fmt_value(d.mean, &s.unit),
                sd(d.noise_var, &s.unit),
                sd(d.model_var, &s.unit),
                interval(d, &s.unit),
                slo_words(s)
            );
        }
    }
    if !u.differences.is_empty() {
        let _ = writeln!(
            o,
            "\nDifferences from {}, paired per parameter set and replication:\n",
            cell(&first.name)
        );
        let _ = writeln!(
            o,
            "| statistic | architecture | Δ mean | noise sd | model sd | combined 95% PI | verdict |"
        );
        let _ = writeln!(o, "|---|---|---:|---:|---:|---|---|");
        for d in &u.differences {
            let x = &d.decomposition;
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} | {} | {} |",
                cell(&d.statistic),
                cell(&d.architecture),
                signed(x.mean, &d.unit),
                sd(x.noise_var, &d.unit),
                sd(x.model_var, &d.unit),
                interval(x, &d.unit),
                diff_words(d)
            );
        }
    }
    o.push('\n');
    o
}

/// `uncertainty.csv` of a comparison: one row per architecture and
/// statistic (`kind = architecture`), then one per difference
/// (`kind = difference`).
pub fn csv_text(u: &CompareStudy) -> anyhow::Result<String> {
    use crate::format::{csv_cell, exact_opt};
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "kind",
        "architecture",
        "reference",
        "statistic",
        "unit",
        "parameters_varied",
        "parameter_sets",
        "replications",
        "mean",
        "noise_sd",
        "model_sd",
        "combined_low",
        "combined_high",
        "bound95",
        "slo_holds",
        "sets_meeting_slo",
        "sets_better",
    ])?;
    let sqrt = |x: Option<f64>| exact_opt(x.map(f64::sqrt));
    let common = |d: &Decomposition| {
        [
            u.parameters.len().to_string(),
            d.sets.to_string(),
            d.replications.to_string(),
            exact_opt(d.mean),
            sqrt(d.noise_var),
            sqrt(d.model_var),
            exact_opt(d.combined_low),
            exact_opt(d.combined_high),
        ]
    };
    let opt = |x: Option<String>| x.unwrap_or_default();
    for a in &u.architectures {
        for s in &a.statistics {
            let mut row = vec![
                "architecture".to_string(),
                csv_cell(&a.name).into_owned(),
                String::new(),
                csv_cell(&s.statistic).into_owned(),
                s.unit.clone(),
            ];
            row.extend(common(&s.decomposition));
            row.extend([
                exact_opt(s.bound95),
                opt(s.holds.map(|h| h.to_string())),
                opt(s.sets_meeting.map(|k| k.to_string())),
                String::new(),
            ]);
            w.write_record(&row)?;
        }
    }
    for d in &u.differences {
        let mut row = vec![
            "difference".to_string(),
            csv_cell(&d.architecture).into_owned(),
            csv_cell(&d.reference).into_owned(),
            csv_cell(&d.statistic).into_owned(),
            d.unit.clone(),
        ];
        row.extend(common(&d.decomposition));
        row.extend([
            String::new(),
            String::new(),
            String::new(),
            d.better_in.to_string(),
        ]);
        w.write_record(&row)?;
    }
    Ok(String::from_utf8(w.into_inner()?)?)
}

/// What `size --uncertainty N` requires of a candidate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConfidenceOver {
    /// Accepted only when, besides the plain checks, every SLO and policy
    /// CPU ceiling holds at 95% one-sided over noise and model combined
    /// (on its N sets, and in the N-1 drill on them too).
    Both,
    /// Accepted on the plain checks (simulation noise only); the
    /// recommendation alone is then run on the sets, to report its noise
    /// and model parts.
    Noise,
}

impl ConfidenceOver {
    pub fn as_str(self) -> &'static str {
        match self {
            ConfidenceOver::Both => "both",
            ConfidenceOver::Noise => "noise",
        }
    }
}

/// `size --uncertainty N`: the sets and the mode.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SizeUncertainty {
    /// The parameter sets (drawn once from the sized scenario's model).
    pub sets: Vec<unc::ParamSet>,
    pub over: ConfidenceOver,
}

/// A candidate run on the parameter sets.
#[derive(Clone, Debug, Serialize)]
pub struct CandidateOverSets {
    pub verdict: SetsVerdict,
    /// The N-1 drill on the same sets (`None`: not run, because the
    /// candidate already fails or it has no drill).
    pub drill: Option<SetsVerdict>,
    /// Both pass (and the sets load).
    pub feasible: bool,
    /// A drawn set the model refuses for this candidate.
    pub error: Option<String>,
    /// Part of the candidate's verdict (`--confidence-over both`); `false`:
    /// reported only (the recommendation under `--confidence-over noise`).
    pub decides: bool,
}

impl CandidateOverSets {
    /// What fails over noise and model, in words.
    pub fn failures(&self) -> Vec<String> {
        let mut out: Vec<String> = self.error.iter().cloned().collect();
        let mut add = |v: &SetsVerdict, prefix: &str| {
            if v.saturated_sets > 0 {
                out.push(format!(
                    "{prefix}saturated in {} parameter set{}",
                    v.saturated_sets,
                    if v.saturated_sets == 1 { "" } else { "s" }
                ));
            }
            out.extend(
                v.slos
                    .iter()
                    .chain(&v.policy)
                    .filter(|c| !c.check.confident)
                    .map(|c| format!("{prefix}{} over model uncertainty", super::miss(&c.check))),
            );
        };
        add(&self.verdict, "");
        if let Some(d) = &self.drill {
            add(d, "N-1 drill: ");
        }
        out
    }
}

/// One check of the recommendation over noise and model, for `size.json`.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct CheckOverSetsJson {
    /// `slo`, `policy` or `drill`.
    pub kind: String,
    pub name: String,
    pub unit: String,
    pub bound: String,
    pub target: f64,
    /// Mean over the sets of the set means.
    pub mean: Option<f64>,
    pub noise_sd: Option<f64>,
    pub model_sd: Option<f64>,
    /// The one-sided 95% bound over both parts.
    pub bound95: Option<f64>,
    pub holds: bool,
    pub sets_meeting: usize,
    pub sets: usize,
}

/// `size.json`'s `uncertainty`: the mode and the recommendation's parts.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct SizeUncertaintyJson {
    /// `both` (candidates judged over noise and model) or `noise` (judged
    /// on noise; the recommendation reported over both).
    pub confidence_over: String,
    pub parameter_sets: usize,
    pub parameters_varied: usize,
    /// The recommendation holds every check over both (`None`: no
    /// recommendation).
    pub recommendation_holds: Option<bool>,
    /// A drawn set the model refuses for the recommendation.
    pub error: Option<String>,
    pub checks: Vec<CheckOverSetsJson>,
}

fn varied(u: &SizeUncertainty) -> usize {
    u.sets.first().map_or(0, Vec::len)
}

/// The recommendation's checks over the sets: (kind, check).
fn size_checks(o: &CandidateOverSets) -> Vec<(&'static str, &UncertainCheck)> {
    let mut out: Vec<(&'static str, &UncertainCheck)> = Vec::new();
    out.extend(o.verdict.slos.iter().map(|c| ("slo", c)));
    out.extend(o.verdict.policy.iter().map(|c| ("policy", c)));
    if let Some(d) = &o.drill {
        out.extend(d.slos.iter().map(|c| ("drill", c)));
    }
    out
}

/// How the search used the sets, in words.
pub fn size_mode_words(u: &SizeUncertainty, replications: u32) -> String {
    format!(
        "model uncertainty: {} parameter sets (Latin hypercube over {} parameter range{}) x {replications} replications; {}",
        u.sets.len(),
        varied(u),
        if varied(u) == 1 { "" } else { "s" },
        match u.over {
            ConfidenceOver::Both => {
                "a candidate is accepted only when, besides the plain checks, every SLO and CPU ceiling (and the N-1 drill) holds with 95% confidence over simulation noise and model uncertainty combined (--confidence-over both)"
            }
            ConfidenceOver::Noise => {
                "candidates judged on simulation noise only (--confidence-over noise); the recommendation is also run on the sets and reported over both"
            }
        }
    )
}

fn check_label(kind: &str, c: &UncertainCheck) -> String {
    match kind {
        "drill" => format!("N-1 drill: {}", c.check.name),
        _ => c.check.name.clone(),
    }
}

fn size_rows(o: &CandidateOverSets) -> Vec<[String; 7]> {
    use crate::format::{bound_symbol, fmt_value};
    size_checks(o)
        .into_iter()
        .map(|(k, c)| {
            let s = &c.check;
            [
                check_label(k, c),
                format!(
                    "{} {}",
                    bound_symbol(s.bound),
                    fmt_value(Some(s.target), &s.unit)
                ),
                fmt_value(s.mean, &s.unit),
                fmt_value(c.noise_sd, &s.unit),
                fmt_value(c.model_sd, &s.unit),
                fmt_value(s.bound95, &s.unit),
                format!(
                    "{} ({}/{} sets)",
                    if s.confident { "holds" } else { "fails" },
                    c.sets_meeting,
                    c.sets
                ),
            ]
        })
        .collect()
}

const SIZE_HEAD: [&str; 7] = [
    "check over noise and model",
    "target",
    "mean",
    "noise sd",
    "model sd",
    "95% bound",
    "verdict",
];

/// The lines `size` prints about the recommendation over the sets (empty
/// without `--uncertainty`).
pub fn size_text(r: &super::size::SizeResult) -> String {
    use std::fmt::Write;
    let (Some(u), Some(rec)) = (&r.uncertainty, &r.recommended) else {
        return String::new();
    };
    let Some(o) = &rec.over_sets else {
        return String::new();
    };
    let mut out = String::new();
    if let Some(e) = &o.error {
        let _ = writeln!(out, "  over model uncertainty: {e}");
        return out;
    }
    let rows = size_rows(o);
    let head = SIZE_HEAD.map(String::from);
    let all: Vec<&[String; 7]> = std::iter::once(&head).chain(&rows).collect();
    let ws: Vec<usize> = (0..7)
        .map(|j| all.iter().map(|r| r[j].chars().count()).max().unwrap_or(0))
        .collect();
    for row in all {
        let mut line = format!("  {:<w$}", row[0], w = ws[0]);
        for j in 1..7 {
            let _ = write!(line, "  {:>w$}", row[j], w = ws[j]);
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
    if u.over == ConfidenceOver::Noise && !o.feasible {
        let _ = writeln!(
            out,
            "  warning: the recommendation meets every check on simulation noise but not over model uncertainty; --confidence-over both sizes for it"
        );
    }
    out
}

/// The section of `size.md` (empty without `--uncertainty`).
pub fn size_markdown(r: &super::size::SizeResult) -> String {
    use crate::format::md_cell as cell;
    use std::fmt::Write;
    let Some(u) = &r.uncertainty else {
        return String::new();
    };
    let mut out = format!(
        "\n## Over the model's uncertainty\n\n{}.\n\n",
        cell(&size_mode_words(u, r.replications))
    );
    let Some(o) = r.recommended.as_ref().and_then(|e| e.over_sets.as_ref()) else {
        return out;
    };
    if let Some(e) = &o.error {
        let _ = writeln!(out, "The recommendation's sets do not load: {}\n", cell(e));
        return out;
    }
    let _ = writeln!(
        out,
        "The recommendation, per check: the mean over the sets, the simulation noise (spread between replications of one set), the model's part (spread of the set means beyond the noise) and the one-sided 95% bound over both (`mean + t(0.95, ν) · sqrt((1 + 1/N) · model² + noise²/R)`, the variance and degrees of freedom of `run --uncertainty`'s combined interval).\n"
    );
    let _ = writeln!(out, "| {} |", SIZE_HEAD.join(" | "));
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---|");
    for row in size_rows(o) {
        let cells: Vec<String> = row.iter().map(|c| cell(c)).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out.push('\n');
    if u.over == ConfidenceOver::Noise && !o.feasible {
        let _ = writeln!(
            out,
            "**The recommendation meets every check on simulation noise but not over model uncertainty**; `--confidence-over both` sizes for it.\n"
        );
    }
    out
}

/// `size.json`'s `uncertainty` (`None` without `--uncertainty`).
pub fn size_json(r: &super::size::SizeResult) -> Option<SizeUncertaintyJson> {
    let u = r.uncertainty.as_ref()?;
    let o = r.recommended.as_ref().and_then(|e| e.over_sets.as_ref());
    Some(SizeUncertaintyJson {
        confidence_over: u.over.as_str().into(),
        parameter_sets: u.sets.len(),
        parameters_varied: varied(u),
        recommendation_holds: o.map(|o| o.feasible),
        error: o.and_then(|o| o.error.clone()),
        checks: o
            .map(|o| {
                size_checks(o)
                    .into_iter()
                    .map(|(k, c)| CheckOverSetsJson {
                        kind: k.into(),
                        name: c.check.name.clone(),
                        unit: c.check.unit.clone(),
                        bound: crate::format::bound_str(c.check.bound).into(),
                        target: c.check.target,
                        mean: c.check.mean,
                        noise_sd: c.noise_sd,
                        model_sd: c.model_sd,
                        bound95: c.check.bound95,
                        holds: c.check.confident,
                        sets_meeting: c.sets_meeting,
                        sets: c.sets,
                    })
                    .collect()
            })
            .unwrap_or_default(),
    })
}
