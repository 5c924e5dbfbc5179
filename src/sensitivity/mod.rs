//! `capsim sensitivity`: which uncertain input decides the answer.
//!
//! A study is three separate steps, so that its simulations can be split
//! across processes and its analysis redone from stored results:
//!
//! 1. [`plan_oat`]: the factors (every uncertain model parameter of the
//!    scenario, [`Scenario::uncertain_params`], and any scenario key given
//!    as a range, `workload.users.count=1200..1800`) become a deterministic,
//!    ordered list of variants (the base, then each factor at the low and
//!    the high end of its range, the others at their values) and of tasks,
//!    one per (variant, replication), each with its seed. Replication `r` of
//!    every variant runs on `replication_seed(seed, r)`: common random
//!    numbers, so a factor's effect is a paired difference.
//! 2. [`run_task`]: one simulation, reduced to a [`TaskResult`] (the value
//!    of each judged statistic and whether it saturated); the caller runs
//!    any subset of the tasks, in any order, on any thread.
//! 3. [`analyse`]: from the task results alone, each factor's effect on
//!    each judged statistic (high end minus low end, with its paired 95%
//!    interval), the verdicts at both ends, and which factors can flip an
//!    SLO's verdict on their own.
//!
//! [`output`] writes `sensitivity.csv`, `sensitivity.md` and the tornado
//! plots.

pub mod morris;
pub mod output;
pub mod uncertainty;

use crate::engine::rng::replication_seed;
use crate::model::metric_names as m;
use crate::result::RunResult;
use crate::result::{Estimate, judge, slo_value};
use crate::scenario::load::parse_value;
use crate::scenario::{self, Bound, Scenario, Slo, Uncertain};
use serde::Serialize;
use std::path::Path;

/// Replications per variant unless told otherwise.
pub const DEFAULT_REPLICATIONS: u32 = 3;

/// Where a factor comes from.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Source {
    /// A model parameter with a `range` (its provenance as the file says).
    Param { provenance: String },
    /// A scenario key given on the command line as `KEY=LO..HI`.
    Key { lo: String, hi: String },
}

/// One input whose effect a study measures.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Factor {
    /// The model parameter's name or the dotted scenario key.
    pub name: String,
    pub unit: String,
    /// The value the base scenario has (`None` for a key not read back).
    pub value: Option<f64>,
    /// The ends of its range, as numbers where they are numbers.
    pub lo: Option<f64>,
    pub hi: Option<f64>,
    pub source: Source,
    /// Why the range is what it is.
    pub reason: String,
    /// Only whole numbers are valid (Morris rounds its grid points).
    pub whole: bool,
}

impl Factor {
    /// From an uncertain model parameter.
    pub fn param(u: &Uncertain) -> Factor {
        Factor {
            name: u.name.to_string(),
            unit: u.unit.to_string(),
            value: Some(u.value),
            lo: Some(u.lo),
            hi: Some(u.hi),
            source: Source::Param {
                provenance: format!("{:?}", u.provenance).to_lowercase(),
            },
            reason: u.reason.clone(),
            whole: u.whole,
        }
    }

    /// `KEY=LO..HI`, e.g. `workload.users.count=1200..1800` or
    /// `workload.templates[0].build_time.mean=50s..70s`.
    pub fn parse_key(spec: &str) -> Result<Factor, String> {
        let bad = || {
            format!("--vary {spec}: expected KEY=LO..HI such as workload.users.count=1200..1800")
        };
        let (key, range) = spec.split_once('=').ok_or_else(bad)?;
        let (lo, hi) = range.split_once("..").ok_or_else(bad)?;
        let key = key.trim();
        if key.is_empty() || key.split('.').any(str::is_empty) {
            return Err(format!("--vary {spec}: bad field path `{key}`"));
        }
        let (lo, hi) = (lo.trim(), hi.trim());
        if lo.is_empty() || hi.is_empty() {
            return Err(bad());
        }
        let num = |s: &str| s.parse::<f64>().ok().filter(|x| x.is_finite());
        Ok(Factor {
            name: key.to_string(),
            unit: String::new(),
            value: None,
            lo: num(lo),
            hi: num(hi),
            source: Source::Key {
                lo: lo.to_string(),
                hi: hi.to_string(),
            },
            reason: "given on the command line".into(),
            whole: lo.parse::<i64>().is_ok() && hi.parse::<i64>().is_ok(),
        })
    }

    /// The end `end` in words (`1200`, `50s`).
    pub fn end_text(&self, end: End) -> String {
        match (&self.source, end) {
            (Source::Key { lo, .. }, End::Lo) => lo.clone(),
            (Source::Key { hi, .. }, End::Hi) => hi.clone(),
            (_, End::Lo) => crate::format::trim_number(self.lo.unwrap_or(f64::NAN)),
            (_, End::Hi) => crate::format::trim_number(self.hi.unwrap_or(f64::NAN)),
            (_, End::Base) => self
                .value
                .map_or_else(|| "as in the scenario".into(), crate::format::trim_number),
        }
    }
}

/// Which end of a factor's range a variant sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum End {
    Base,
    Lo,
    Hi,
}

impl End {
    pub fn as_str(self) -> &'static str {
        match self {
            End::Base => "base",
            End::Lo => "low",
            End::Hi => "high",
        }
    }
}

/// One variant of the base scenario: a factor at one end, the base, or a
/// point of a Morris trajectory.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Variant {
    /// Index into [`Plan::factors`] (`None`: the base or a Morris point).
    pub factor: Option<usize>,
    pub end: End,
    /// (trajectory, point) into [`Plan::trajectories`].
    pub point: Option<(usize, usize)>,
}

/// One simulation of a study.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Task {
    /// Index into [`Plan::variants`].
    pub variant: usize,
    pub replication: u32,
    pub seed: u64,
}

/// A statistic a study judges: an SLO of the scenario, or (when it has
/// none) one of the headline statistics.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Target {
    /// The SLO's name, or the statistic in words.
    pub name: String,
    /// The SLO (its bound and target), or a stand-in matching the statistic.
    #[serde(skip)]
    pub slo: Slo,
    pub is_slo: bool,
    /// The statistic's unit, as runs report it (set by [`analyse`]).
    pub unit: String,
}

/// Headline statistics judged when a scenario has no SLO.
const DEFAULT_TARGETS: &[(&str, &str, &str)] = &[
    (
        m::BUILD_QUEUE_WAIT_SECONDS,
        "mean",
        "build queue wait, mean",
    ),
    (m::BUILD_QUEUE_WAIT_SECONDS, "p95", "build queue wait, p95"),
    (m::API_LATENCY_SECONDS, "p95", "API latency, p95"),
    (m::CODERD_CPU_UTILIZATION, "max", "coderd CPU, peak"),
    (m::DATABASE_CPU_UTILIZATION, "max", "database CPU, peak"),
];

/// What `scenario` is judged on: its SLOs, or the headline statistics.
pub fn targets(scenario: &Scenario) -> Vec<Target> {
    if !scenario.slos.is_empty() {
        return scenario
            .slos
            .iter()
            .map(|s| Target {
                name: s.name.clone(),
                slo: s.clone(),
                is_slo: true,
                unit: String::new(),
            })
            .collect();
    }
    DEFAULT_TARGETS
        .iter()
        .map(|(metric, stat, name)| Target {
            name: name.to_string(),
            slo: Slo {
                name: name.to_string(),
                metric: metric.to_string(),
                stat: stat.to_string(),
                labels: Default::default(),
                bound: Bound::AtMost,
                target: f64::INFINITY,
            },
            is_slo: false,
            unit: String::new(),
        })
        .collect()
}

/// A one-at-a-time study, planned.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Plan {
    pub factors: Vec<Factor>,
    /// The base first, then each factor's low and high end.
    pub variants: Vec<Variant>,
    /// Variant-major, replication-minor.
    pub tasks: Vec<Task>,
    pub seed: u64,
    pub replications: u32,
    /// Morris trajectories over the factors (empty: one at a time only);
    /// their points are the variants after the one-at-a-time ones.
    pub trajectories: Vec<morris::Trajectory>,
}

/// The factors of a study on `scenario`: its uncertain model parameters
/// with a range of non-zero width (those named in `only`, in that order,
/// when given), then the key ranges.
pub fn factors(
    scenario: &Scenario,
    only: Option<&[String]>,
    keys: &[String],
) -> Result<Vec<Factor>, String> {
    let all = scenario.uncertain_params();
    let mut out: Vec<Factor> = match only {
        None => all
            .iter()
            .filter(|u| !u.is_exact())
            .map(Factor::param)
            .collect(),
        Some(names) => names
            .iter()
            .map(|n| {
                let u = all.iter().find(|u| u.name == n.as_str()).ok_or_else(|| {
                    format!(
                        "--params {n}: not an uncertain parameter of {} (a model parameter with a `range`)",
                        scenario.model.path.display()
                    )
                })?;
                if u.is_exact() {
                    return Err(format!("--params {n}: its range has zero width"));
                }
                Ok(Factor::param(u))
            })
            .collect::<Result<_, String>>()?,
    };
    for k in keys {
        out.push(Factor::parse_key(k)?);
    }
    if out.is_empty() {
        return Err(
            "nothing to vary: the model has no uncertain parameter and no --vary was given".into(),
        );
    }
    Ok(out)
}

/// Plan a one-at-a-time study of `factors`: the base, then each factor at
/// its low and high end, every variant with `replications` replications on
/// the seeds of `seed`.
pub fn plan_oat(factors: Vec<Factor>, seed: u64, replications: u32) -> Plan {
    plan(factors, seed, replications, 0)
}

/// Plan a study: the one-at-a-time variants ([`plan_oat`]), then the
/// points of `morris` Morris trajectories over the factors' ranges
/// (drawn from `seed`), every variant with `replications` replications on
/// the same seeds.
pub fn plan(factors: Vec<Factor>, seed: u64, replications: u32, morris: usize) -> Plan {
    let mut variants = vec![Variant {
        factor: None,
        end: End::Base,
        point: None,
    }];
    for i in 0..factors.len() {
        for end in [End::Lo, End::Hi] {
            variants.push(Variant {
                factor: Some(i),
                end,
                point: None,
            });
        }
    }
    let trajectories = if morris > 0 {
        morris::trajectories(factors.len(), morris, seed)
    } else {
        Vec::new()
    };
    for (t, tr) in trajectories.iter().enumerate() {
        for j in 0..tr.points.len() {
            variants.push(Variant {
                factor: None,
                end: End::Base,
                point: Some((t, j)),
            });
        }
    }
    let tasks = (0..variants.len())
        .flat_map(|v| {
            (0..replications).map(move |r| Task {
                variant: v,
                replication: r,
                seed: replication_seed(seed, r),
            })
        })
        .collect();
    Plan {
        factors,
        variants,
        tasks,
        seed,
        replications,
        trajectories,
    }
}

/// The scenario of variant `v` of `plan`: `base` with the variant's factor
/// set (a model parameter through [`Scenario::with_param`], a key by
/// loading `path` again with it set, as `--vary` does).
pub fn variant_scenario(
    base: &Scenario,
    path: &Path,
    plan: &Plan,
    v: usize,
) -> Result<Scenario, String> {
    let var = &plan.variants[v];
    if let Some((t, j)) = var.point {
        return point_scenario(base, path, &plan.factors, &plan.trajectories[t].points[j]);
    }
    let Some(fi) = var.factor else {
        return Ok(base.clone());
    };
    let f = &plan.factors[fi];
    match &f.source {
        Source::Param { .. } => {
            let x = match var.end {
                End::Lo => f.lo,
                End::Hi => f.hi,
                End::Base => f.value,
            }
            .ok_or_else(|| format!("{}: no value", f.name))?;
            base.with_param(&f.name, x).map_err(|e| e.to_string())
        }
        Source::Key { lo, hi } => {
            let text = if var.end == End::Lo { lo } else { hi };
            scenario::load_with_overrides(path, &[(f.name.clone(), parse_value(text))])
                .map_err(|e| e.to_string())
        }
    }
}

/// `base` with every factor at `x` (0 = the low end of its range, 1 = the
/// high end), rounded where only whole numbers are valid.
fn point_scenario(
    base: &Scenario,
    path: &Path,
    factors: &[Factor],
    x: &[f64],
) -> Result<Scenario, String> {
    let at = |f: &Factor, x: f64| -> Result<f64, String> {
        let (Some(lo), Some(hi)) = (f.lo, f.hi) else {
            return Err(format!(
                "--morris needs numeric ranges: {} is {}",
                f.name,
                range_words(f)
            ));
        };
        let v = lo + x.clamp(0.0, 1.0) * (hi - lo);
        Ok(if f.whole { v.round() } else { v })
    };
    let mut keys = Vec::new();
    for (f, &xi) in factors.iter().zip(x) {
        if let Source::Key { .. } = f.source {
            let v = at(f, xi)?;
            keys.push((
                f.name.clone(),
                if f.whole {
                    toml::Value::Integer(v as i64)
                } else {
                    toml::Value::Float(v)
                },
            ));
        }
    }
    let mut s = if keys.is_empty() {
        base.clone()
    } else {
        scenario::load_with_overrides(path, &keys).map_err(|e| e.to_string())?
    };
    for (f, &xi) in factors.iter().zip(x) {
        if let Source::Param { .. } = f.source {
            s = s
                .with_param(&f.name, at(f, xi)?)
                .map_err(|e| e.to_string())?;
        }
    }
    Ok(s)
}

fn range_words(f: &Factor) -> String {
    format!("{}..{}", f.end_text(End::Lo), f.end_text(End::Hi))
}

/// What a study keeps of one simulation.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TaskResult {
    pub variant: usize,
    pub replication: u32,
    pub seed: u64,
    pub saturated: bool,
    /// The value of each target's statistic (in [`targets`] order).
    pub values: Vec<Option<f64>>,
    /// Its unit (empty where there is no value).
    pub units: Vec<String>,
}

/// Reduce one simulation of `task` to what the analysis needs.
pub fn task_result(task: &Task, targets: &[Target], run: &RunResult) -> TaskResult {
    let found: Vec<Option<(f64, String)>> = targets
        .iter()
        .map(|t| slo_value(&t.slo, run).map(|(v, u, _)| (v, u)))
        .collect();
    TaskResult {
        variant: task.variant,
        replication: task.replication,
        seed: task.seed,
        saturated: run.saturated,
        values: found
            .iter()
            .map(|f| f.as_ref().map(|(v, _)| *v).filter(|v| v.is_finite()))
            .collect(),
        units: found
            .into_iter()
            .map(|f| f.map(|(_, u)| u).unwrap_or_default())
            .collect(),
    }
}

/// Simulate `task` on its variant's scenario.
pub fn run_task(scenario: &Scenario, task: &Task, targets: &[Target]) -> TaskResult {
    let run = crate::model::simulate(scenario, task.seed);
    task_result(task, targets, &run)
}

/// One target at one end: the mean over replications and its SLO verdict.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EndResult {
    pub value: Estimate,
    /// The SLO holds on the mean (and the variant did not saturate);
    /// `None` for a target that is not an SLO.
    pub pass: Option<bool>,
    pub saturated: bool,
}

/// One factor's effect on one target.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Effect {
    pub factor: usize,
    pub target: usize,
    pub lo: EndResult,
    pub hi: EndResult,
    /// High end minus low end, paired by replication.
    pub delta: Estimate,
    /// The SLO verdict differs from the base's at either end.
    pub flips: bool,
}

/// A study's answer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Analysis {
    pub targets: Vec<Target>,
    pub base: Vec<EndResult>,
    /// Factor-major, target-minor.
    pub effects: Vec<Effect>,
    /// Per target, the Morris index of every factor (empty without
    /// trajectories); the output at a point is its replications' mean.
    pub morris: Vec<Vec<morris::Index>>,
}

impl Analysis {
    /// The effects on target `t`, largest first (by |delta|; ties and
    /// missing values in factor order).
    pub fn ranked(&self, t: usize) -> Vec<&Effect> {
        let mut e: Vec<&Effect> = self.effects.iter().filter(|e| e.target == t).collect();
        let size = |e: &Effect| e.delta.mean.map_or(-1.0, f64::abs);
        e.sort_by(|a, b| size(b).total_cmp(&size(a)).then(a.factor.cmp(&b.factor)));
        e
    }
}

fn end_result(target: &Target, results: &[&TaskResult], t: usize) -> EndResult {
    let xs: Vec<f64> = results.iter().filter_map(|r| r.values[t]).collect();
    let saturated = results.iter().any(|r| r.saturated);
    let value = Estimate::of(&xs);
    let pass = target.is_slo.then(|| {
        let check = judge(&target.slo, target.slo.labels.clone(), String::new(), &xs);
        check.pass && !saturated
    });
    EndResult {
        value,
        pass,
        saturated,
    }
}

/// Analyse a study from its task results (any order; every task of the
/// plan must be there once).
pub fn analyse(
    plan: &Plan,
    targets: &[Target],
    results: &[TaskResult],
) -> Result<Analysis, String> {
    let mut by_variant: Vec<Vec<&TaskResult>> = vec![Vec::new(); plan.variants.len()];
    for r in results {
        by_variant
            .get_mut(r.variant)
            .ok_or_else(|| format!("a result for variant {} the plan does not have", r.variant))?
            .push(r);
    }
    for (v, rs) in by_variant.iter_mut().enumerate() {
        rs.sort_by_key(|r| r.replication);
        rs.dedup_by_key(|r| r.replication);
        if rs.len() != plan.replications as usize {
            return Err(format!(
                "variant {v} has {} of its {} replications",
                rs.len(),
                plan.replications
            ));
        }
    }
    let variant_of = |f: usize, end: End| {
        plan.variants
            .iter()
            .position(|v| v.factor == Some(f) && v.end == end)
            .expect("every factor has both ends")
    };
    let base: Vec<EndResult> = (0..targets.len())
        .map(|t| end_result(&targets[t], &by_variant[0], t))
        .collect();
    let mut effects = Vec::new();
    for f in 0..plan.factors.len() {
        let (lo_rs, hi_rs) = (
            &by_variant[variant_of(f, End::Lo)],
            &by_variant[variant_of(f, End::Hi)],
        );
        for (t, target) in targets.iter().enumerate() {
            let lo = end_result(target, lo_rs, t);
            let hi = end_result(target, hi_rs, t);
            let per = |rs: &[&TaskResult]| rs.iter().map(|r| r.values[t]).collect::<Vec<_>>();
            let delta = Estimate::paired(&per(lo_rs), &per(hi_rs));
            let flips = target.is_slo && (lo.pass != base[t].pass || hi.pass != base[t].pass);
            effects.push(Effect {
                factor: f,
                target: t,
                lo,
                hi,
                delta,
                flips,
            });
        }
    }
    let morris: Vec<Vec<morris::Index>> = if plan.trajectories.is_empty() {
        Vec::new()
    } else {
        let point_variant = |t: usize, j: usize| {
            plan.variants
                .iter()
                .position(|v| v.point == Some((t, j)))
                .expect("every point is a variant")
        };
        (0..targets.len())
            .map(|k| {
                let y: Vec<Vec<Option<f64>>> = plan
                    .trajectories
                    .iter()
                    .enumerate()
                    .map(|(t, tr)| {
                        (0..tr.points.len())
                            .map(|j| {
                                let xs: Vec<f64> = by_variant[point_variant(t, j)]
                                    .iter()
                                    .filter_map(|r| r.values[k])
                                    .collect();
                                (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64)
                            })
                            .collect()
                    })
                    .collect();
                morris::indices(&plan.trajectories, &y, plan.factors.len(), plan.seed)
            })
            .collect()
    };
    let mut targets = targets.to_vec();
    for (t, target) in targets.iter_mut().enumerate() {
        if let Some(u) = results.iter().map(|r| &r.units[t]).find(|u| !u.is_empty()) {
            target.unit = u.clone();
        }
    }
    Ok(Analysis {
        targets,
        base,
        effects,
        morris,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(name: &str) -> Factor {
        Factor::parse_key(&format!("{name}=1..2")).unwrap()
    }

    #[test]
    fn the_plan_is_base_then_each_end_with_common_seeds() {
        let p = plan_oat(vec![f("a.b"), f("c")], 7, 3);
        assert_eq!(p.variants.len(), 5);
        assert_eq!(p.variants[0].end, End::Base);
        assert_eq!(
            p.variants[3],
            Variant {
                factor: Some(1),
                end: End::Lo,
                point: None,
            }
        );
        assert_eq!(p.tasks.len(), 15);
        for t in &p.tasks {
            assert_eq!(t.seed, replication_seed(7, t.replication));
        }
        assert_eq!(
            p.tasks[4],
            Task {
                variant: 1,
                replication: 1,
                seed: replication_seed(7, 1)
            }
        );
        // The same inputs, the same plan.
        assert_eq!(p, plan_oat(vec![f("a.b"), f("c")], 7, 3));
    }

    #[test]
    fn key_ranges_parse_and_bad_ones_say_what_was_expected() {
        let k = Factor::parse_key("workload.users.count=1200..1800").unwrap();
        assert_eq!((k.lo, k.hi), (Some(1200.0), Some(1800.0)));
        let k = Factor::parse_key("workload.templates[0].build_time.mean=50s..70s").unwrap();
        assert_eq!(k.end_text(End::Hi), "70s");
        for bad in ["x", "x=1", "x=..2", "=1..2", "a..b=1..2"] {
            assert!(
                Factor::parse_key(bad).unwrap_err().contains("--vary"),
                "{bad}"
            );
        }
    }

    #[test]
    fn analysis_pairs_replications_and_finds_flips() {
        let p = plan_oat(vec![f("a"), f("b")], 1, 2);
        let slo = Slo {
            name: "x".into(),
            metric: "m".into(),
            stat: "mean".into(),
            labels: Default::default(),
            bound: Bound::AtMost,
            target: 10.0,
        };
        let targets = vec![Target {
            name: "x".into(),
            slo,
            is_slo: true,
            unit: "s".into(),
        }];
        // Base 8, factor a: 7 / 12 (flips), factor b: 8 / 9 (holds).
        let value = |v: usize, r: u32| -> f64 { [8.0, 7.0, 12.0, 8.0, 9.0][v] + r as f64 * 0.5 };
        let results: Vec<TaskResult> = p
            .tasks
            .iter()
            .rev()
            .map(|t| TaskResult {
                variant: t.variant,
                replication: t.replication,
                seed: t.seed,
                saturated: false,
                values: vec![Some(value(t.variant, t.replication))],
                units: vec!["s".into()],
            })
            .collect();
        let a = analyse(&p, &targets, &results).unwrap();
        assert_eq!(a.base[0].pass, Some(true));
        let ranked = a.ranked(0);
        assert_eq!(ranked[0].factor, 0);
        assert_eq!(ranked[0].delta.mean, Some(5.0));
        assert!(ranked[0].flips);
        assert!(!ranked[1].flips);
        assert!(analyse(&p, &targets, &results[1..]).is_err());
    }
}
