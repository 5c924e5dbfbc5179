//! The fit: free parameters, simulation of targets, the objective, the
//! Nelder-Mead search, the fit table and leave-one-out.

use super::interval::{self, Intervals};
use super::nelder_mead::{self, Minimum};
use super::targets::{self, Target};
use crate::engine::rng::replication_seed;
use crate::result::{mean, mean_ci95};
use crate::scenario::model_file::{ModelParams, ParamValue};
use crate::scenario::{self, Costs, Scenario};
use crate::simulate;
use rayon::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// A parameter the fit may move, and how it is searched.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FreeParam {
    pub name: String,
    pub unit: String,
    pub min: f64,
    pub max: f64,
    /// Searched in log space (`min > 0`): equal steps are equal ratios.
    pub log: bool,
    /// Its value in the model file before the fit (reported, not used as a start).
    pub file_value: f64,
}

impl FreeParam {
    fn span(&self) -> (f64, f64) {
        if self.log {
            (self.min.ln(), self.max.ln())
        } else {
            (self.min, self.max)
        }
    }
    /// Value at position `z` in `[0, 1]` of the (log) range.
    pub fn from_unit(&self, z: f64) -> f64 {
        if z <= 0.0 {
            return self.min;
        }
        if z >= 1.0 {
            return self.max;
        }
        let (a, b) = self.span();
        let u = a + z.clamp(0.0, 1.0) * (b - a);
        let x = if self.log { u.exp() } else { u };
        x.clamp(self.min, self.max)
    }
    /// Position of `x` in `[0, 1]` of the (log) range.
    pub fn to_unit(&self, x: f64) -> f64 {
        let (a, b) = self.span();
        let u = if self.log { x.ln() } else { x };
        ((u - a) / (b - a)).clamp(0.0, 1.0)
    }
}

/// The model's `free = true` parameters; each must be numeric with `min < max`.
pub fn free_params(m: &ModelParams) -> Result<Vec<FreeParam>, String> {
    let mut out = Vec::new();
    for (name, p) in &m.file.params {
        if !p.free {
            continue;
        }
        let at = format!("model file {}: params.{name}", m.path.display());
        let ParamValue::Number(v) = p.value else {
            return Err(format!("{at}: a free parameter must be numeric"));
        };
        let (Some(min), Some(max)) = (p.min, p.max) else {
            return Err(format!("{at}: a free parameter needs `min` and `max`"));
        };
        if !(min < max) || !min.is_finite() || !max.is_finite() {
            return Err(format!(
                "{at}: needs finite min < max, found [{min}, {max}]"
            ));
        }
        out.push(FreeParam {
            name: name.clone(),
            unit: p.unit.clone(),
            min,
            max,
            log: min > 0.0,
            file_value: v,
        });
    }
    if out.is_empty() {
        return Err(format!(
            "model file {} has no parameter with `free = true`",
            m.path.display()
        ));
    }
    Ok(out)
}

/// Everything a calibration needs, loaded and checked.
pub struct Setup {
    pub targets_path: PathBuf,
    pub targets: Vec<Target>,
    pub model: ModelParams,
    pub free: Vec<FreeParam>,
    /// Distinct scenarios, each with the calibrated model in place of its own.
    pub scenarios: Vec<Scenario>,
    /// Master seed of each scenario (common to every evaluation).
    pub seeds: Vec<u64>,
    /// Index into `scenarios` of each target.
    pub target_scenario: Vec<usize>,
    /// Warnings for the report (a scenario naming another model file).
    pub notes: Vec<String>,
}

impl Setup {
    /// Load the targets, their scenarios and the model file. `seed`
    /// replaces each scenario's own seed. Errors name the file and line.
    pub fn load(
        targets_path: &Path,
        model_path: &Path,
        seed: Option<u64>,
    ) -> Result<Setup, String> {
        let targets = targets::load(targets_path).map_err(|e| e.to_string())?;
        let model = ModelParams::load(model_path).map_err(|e| e.to_string())?;
        model.check_complete().map_err(|e| e.to_string())?;
        Costs::from_model(&model)
            .map_err(|e| format!("model file {}: {e}", model_path.display()))?;
        let free = free_params(&model)?;
        let mut by_path: BTreeMap<PathBuf, usize> = BTreeMap::new();
        let mut scenarios = Vec::new();
        let mut seeds = Vec::new();
        let mut target_scenario = Vec::new();
        let mut notes = Vec::new();
        let canon = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        for t in &targets {
            let key = canon(&t.scenario_path);
            let i = match by_path.get(&key) {
                Some(&i) => i,
                None => {
                    if !t.scenario_path.is_file() {
                        return Err(format!(
                            "{}:{}: scenario: no such file {}",
                            targets_path.display(),
                            t.line,
                            t.scenario_path.display()
                        ));
                    }
                    let mut s = scenario::load(&t.scenario_path).map_err(|e| e.to_string())?;
                    if canon(&s.model.path) != canon(model_path) {
                        notes.push(format!(
                            "{} names model {}; calibrating {} in its place",
                            t.scenario_path.display(),
                            s.model.path.display(),
                            model_path.display()
                        ));
                    }
                    s.set_model(model.clone())
                        .map_err(|e| format!("model file {}: {e}", model_path.display()))?;
                    seeds.push(seed.unwrap_or(s.seed));
                    scenarios.push(s);
                    by_path.insert(key, scenarios.len() - 1);
                    scenarios.len() - 1
                }
            };
            target_scenario.push(i);
        }
        Ok(Setup {
            targets_path: targets_path.to_path_buf(),
            targets,
            model,
            free,
            scenarios,
            seeds,
            target_scenario,
            notes,
        })
    }

    /// The free parameters' values in the model file.
    pub fn file_values(&self) -> Vec<f64> {
        self.free.iter().map(|p| p.file_value).collect()
    }

    /// Free-parameter values at unit-box position `z`.
    pub fn values_at(&self, z: &[f64]) -> Vec<f64> {
        self.free
            .iter()
            .zip(z)
            .map(|(p, z)| p.from_unit(*z))
            .collect()
    }

    fn scenario_with(&self, i: usize, x: &[f64]) -> Scenario {
        let mut s = self.scenarios[i].clone();
        for (p, v) in self.free.iter().zip(x) {
            s.set_model_param(&p.name, *v)
                .expect("free parameters are numeric: the costs resolve as before");
        }
        s
    }

    /// Simulate the scenarios of the targets in `which` with free values `x`
    /// and `reps` replications: one value per replication for each target
    /// in `which` (empty for the others). Runs in parallel; the result does
    /// not depend on the number of threads.
    pub fn simulate(&self, x: &[f64], reps: u32, which: &[bool]) -> Vec<Vec<Result<f64, String>>> {
        let mut needed: Vec<usize> = (0..self.targets.len())
            .filter(|&t| which[t])
            .map(|t| self.target_scenario[t])
            .collect();
        needed.sort_unstable();
        needed.dedup();
        let jobs: Vec<(usize, u32)> = needed
            .iter()
            .flat_map(|&s| (0..reps).map(move |r| (s, r)))
            .collect();
        let results: Vec<Vec<(usize, Result<f64, String>)>> = jobs
            .par_iter()
            .map(|&(si, r)| {
                let s = self.scenario_with(si, x);
                let run = simulate(&s, replication_seed(self.seeds[si], r));
                (0..self.targets.len())
                    .filter(|&t| which[t] && self.target_scenario[t] == si)
                    .map(|t| {
                        let tg = &self.targets[t];
                        let v = tg.check_unit(&run).and_then(|_| tg.simulated(&run));
                        (t, v)
                    })
                    .collect()
            })
            .collect();
        let mut out: Vec<Vec<Result<f64, String>>> = vec![Vec::new(); self.targets.len()];
        for per_job in results {
            for (t, v) in per_job {
                out[t].push(v);
            }
        }
        out
    }

    /// Check that every target can be computed (one replication with the
    /// file's values); the error names the targets file and line.
    pub fn check(&self) -> Result<(), String> {
        let x = self.file_values();
        let all = vec![true; self.targets.len()];
        let vals = self.simulate(&x, 1, &all);
        for (t, v) in self.targets.iter().zip(vals) {
            if let Some(Err(e)) = v.into_iter().next() {
                return Err(format!("{}:{}: {e}", self.targets_path.display(), t.line));
            }
        }
        Ok(())
    }

    /// Weighted sum of squared residuals of the `active` targets, from
    /// per-replication values (their mean is compared).
    fn objective(&self, vals: &[Vec<f64>], active: &[bool]) -> f64 {
        let mut f = 0.0;
        for (t, tg) in self.targets.iter().enumerate() {
            if !active[t] || tg.weight == 0.0 {
                continue;
            }
            let m = mean(&vals[t]);
            if !m.is_finite() {
                return f64::INFINITY;
            }
            f += tg.weight * tg.residual(m).powi(2);
        }
        f
    }
}

/// Round to `sig` significant digits.
pub fn round_sig(x: f64, sig: i32) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let p = sig - 1 - x.abs().log10().floor() as i32;
    let k = 10f64.powi(p.abs());
    if p >= 0 {
        (x * k).round() / k
    } else {
        (x / k).round() * k
    }
}

/// How to calibrate.
#[derive(Clone, Debug, Serialize)]
pub struct Options {
    /// Replications for the fit table and the leave-one-out predictions.
    pub replications: u32,
    /// Replications per evaluation during the search.
    pub search_replications: u32,
    /// Evaluations per fit at most.
    pub max_evals: usize,
    /// Stop when the simplex's objective values differ by at most this.
    pub f_tol: f64,
    /// Or when its vertices are this close (fraction of each (log) range).
    pub x_tol: f64,
    /// Refit without each target in turn.
    pub loo: bool,
    /// Compute a 95% interval for each fitted parameter (needs `replications >= 2`).
    pub intervals: bool,
    /// Take the model file's values as the fit (no search): the fit table,
    /// intervals and leave-one-out of an existing fit.
    pub keep_values: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            replications: 5,
            search_replications: 1,
            max_evals: 250,
            f_tol: 1e-4,
            x_tol: 5e-3,
            loo: false,
            intervals: true,
            keep_values: false,
        }
    }
}

/// One target in the fit table.
#[derive(Clone, Debug, Serialize)]
pub struct FitTableRow {
    pub target: String,
    pub scenario: String,
    pub line: usize,
    pub unit: String,
    /// `measured` for a point target, `[low, high]` for a range (target unit).
    pub measured: Option<f64>,
    pub low: Option<f64>,
    pub high: Option<f64>,
    /// Mean over replications and its 95% interval (target unit).
    pub simulated: f64,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    /// Relative error (0 inside a range).
    pub error: f64,
    pub tolerance: f64,
    pub met: bool,
    pub weight: f64,
}

/// One leave-one-out prediction.
#[derive(Clone, Debug, Serialize)]
pub struct LooRow {
    pub target: String,
    /// `refit`: fitted without this target; `unchanged`: no free parameter
    /// moves this target, so leaving it out leaves the fit as it is;
    /// `not fitted`: weight 0, the fit table's value is already a prediction.
    pub how: String,
    /// Free-parameter values of the fit without this target.
    pub params: Vec<f64>,
    pub predicted: f64,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    pub error: f64,
    pub met: bool,
    /// Evaluations of the refit, and whether it converged (0 and true when not refitted).
    pub evals: usize,
    pub converged: bool,
}

/// A fitted parameter.
#[derive(Clone, Debug, Serialize)]
pub struct FittedParam {
    pub name: String,
    pub unit: String,
    pub value: f64,
    pub min: f64,
    pub max: f64,
    pub file_value: f64,
}

/// The result of `calibrate`.
#[derive(Clone, Debug, Serialize)]
pub struct Calibration {
    pub targets_file: String,
    pub model_file: String,
    pub seeds: BTreeMap<String, u64>,
    pub options: Options,
    pub params: Vec<FittedParam>,
    /// Objective (weighted sum of squared relative errors) at the optimum of the search.
    pub objective: f64,
    pub evals: usize,
    pub converged: bool,
    pub fit: Vec<FitTableRow>,
    /// The 95% interval of each fitted parameter ([`interval`]).
    pub intervals: Option<Intervals>,
    pub loo: Option<Vec<LooRow>>,
    pub notes: Vec<String>,
}

/// Evaluations shared by every fit: per-replication values of every
/// searched target at a point of the unit box (keyed by its bits).
type Cache = Mutex<BTreeMap<Vec<u64>, Vec<Vec<f64>>>>;

struct Search<'a> {
    setup: &'a Setup,
    opts: &'a Options,
    /// Targets whose scenarios are simulated during the search (weight > 0).
    searched: Vec<bool>,
    cache: Cache,
    progress: &'a (dyn Fn(u64) + Sync),
}

struct FitOutcome {
    min: Minimum,
    x: Vec<f64>,
    /// Smallest and largest search value of each target over the fit's evaluations.
    range: Vec<(f64, f64)>,
}

impl Search<'_> {
    fn key(z: &[f64]) -> Vec<u64> {
        z.iter().map(|v| v.to_bits()).collect()
    }

    /// Search values at each point (from the cache or simulated, in parallel).
    fn values(&self, zs: &[Vec<f64>]) -> Vec<Vec<Vec<f64>>> {
        let missing: Vec<&Vec<f64>> = {
            let c = self.cache.lock().expect("cache lock");
            let mut m: Vec<&Vec<f64>> = zs
                .iter()
                .filter(|z| !c.contains_key(&Self::key(z)))
                .collect();
            m.dedup();
            m
        };
        let fresh: Vec<(Vec<u64>, Vec<Vec<f64>>)> = missing
            .par_iter()
            .map(|z| {
                let x = self.setup.values_at(z);
                let r = self
                    .setup
                    .simulate(&x, self.opts.search_replications, &self.searched);
                (self.progress)(self.opts.search_replications as u64);
                let v = r
                    .into_iter()
                    .map(|reps| reps.into_iter().map(|v| v.unwrap_or(f64::NAN)).collect())
                    .collect();
                (Self::key(z), v)
            })
            .collect();
        let mut c = self.cache.lock().expect("cache lock");
        for (k, v) in fresh {
            c.insert(k, v);
        }
        zs.iter().map(|z| c[&Self::key(z)].clone()).collect()
    }

    fn settings(&self, step: Vec<f64>) -> nelder_mead::Settings {
        nelder_mead::Settings {
            max_evals: self.opts.max_evals,
            f_tol: self.opts.f_tol,
            x_tol: self.opts.x_tol,
            step,
            restarts: 3,
        }
    }

    /// Every full fit starts at the centre of the (log) bounds.
    fn centre(&self) -> Vec<f64> {
        vec![0.5; self.setup.free.len()]
    }

    /// Fit the `active` targets from `start` with an initial simplex of edge `step` per axis.
    fn fit(&self, active: &[bool], start: &[f64], step: Vec<f64>) -> FitOutcome {
        let n_t = self.setup.targets.len();
        let range = Mutex::new(vec![(f64::INFINITY, f64::NEG_INFINITY); n_t]);
        let min = nelder_mead::minimize(
            |zs: &[Vec<f64>]| {
                let vals = self.values(zs);
                let mut rg = range.lock().expect("range lock");
                vals.iter()
                    .map(|v| {
                        for (t, reps) in v.iter().enumerate() {
                            let m = mean(reps);
                            if m.is_finite() {
                                rg[t].0 = rg[t].0.min(m);
                                rg[t].1 = rg[t].1.max(m);
                            }
                        }
                        self.setup.objective(v, active)
                    })
                    .collect()
            },
            start,
            &self.settings(step),
        );
        let x = self
            .setup
            .values_at(&min.x)
            .into_iter()
            .map(|v| round_sig(v, 4))
            .zip(&self.setup.free)
            .map(|(v, p)| v.clamp(p.min, p.max))
            .collect();
        FitOutcome {
            min,
            x,
            range: range.into_inner().expect("range lock"),
        }
    }
}

/// Mean and 95% interval of target `t` over its replications, in the target's unit.
fn summarise(t: &Target, reps: &[Result<f64, String>]) -> (f64, Option<(f64, f64)>) {
    let xs: Vec<f64> = reps
        .iter()
        .map(|v| *v.as_ref().unwrap_or(&f64::NAN))
        .collect();
    let (m, ci) = mean_ci95(&xs);
    (t.to_unit(m), ci.map(|(a, b)| (t.to_unit(a), t.to_unit(b))))
}

/// Where a leave-one-out fit for target `t` starts: at the full fit, except
/// that every parameter that moves `t` (by more than 0.1% in the first
/// simplex, where each vertex moves one parameter) starts again from the
/// centre of its bounds with the full initial step. What the left-out
/// target taught the full fit is thereby forgotten; the other parameters,
/// which it does not move, start near their optimum with a small step,
/// which keeps the refits affordable.
fn loo_start(init_vals: &[Vec<Vec<f64>>], t: usize, z_full: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let v0 = mean(&init_vals[0][t]);
    let mut start = z_full.to_vec();
    let mut step = vec![0.05; z_full.len()];
    for j in 0..z_full.len() {
        let vj = mean(&init_vals[j + 1][t]);
        let moved = !(vj.is_finite() && v0.is_finite()) || (vj - v0).abs() > 1e-3 * v0.abs();
        if moved {
            start[j] = 0.5;
            step[j] = 0.2;
        }
    }
    (start, step)
}

/// Simulate every target with free values `x` and `reps` replications and
/// compare with the measured figures.
pub fn fit_table(setup: &Setup, x: &[f64], reps: u32) -> Vec<FitTableRow> {
    let all = vec![true; setup.targets.len()];
    fit_rows(setup, &setup.simulate(x, reps, &all))
}

/// The fit table of per-replication values of every target.
fn fit_rows(setup: &Setup, vals: &[Vec<Result<f64, String>>]) -> Vec<FitTableRow> {
    setup
        .targets
        .iter()
        .zip(vals)
        .map(|(t, reps)| {
            let (m, ci) = summarise(t, reps);
            let m_metric = m * t.factor;
            let (measured, low, high) = match t.goal {
                super::Goal::Value(v) => (Some(t.to_unit(v)), None, None),
                super::Goal::Range(a, b) => (None, Some(t.to_unit(a)), Some(t.to_unit(b))),
            };
            FitTableRow {
                target: t.name(),
                scenario: t.scenario.clone(),
                line: t.line,
                unit: t.unit.clone(),
                measured,
                low,
                high,
                simulated: m,
                ci_low: ci.map(|c| c.0),
                ci_high: ci.map(|c| c.1),
                error: t.error(m_metric),
                tolerance: t.tolerance,
                met: t.met(m_metric),
                weight: t.weight,
            }
        })
        .collect()
}

/// Fit the model's free parameters to the targets (see the module docs).
/// `progress` is told how many replications each evaluation simulated.
pub fn calibrate(setup: &Setup, opts: &Options, progress: &(dyn Fn(u64) + Sync)) -> Calibration {
    let n_t = setup.targets.len();
    let active: Vec<bool> = setup.targets.iter().map(|t| t.weight > 0.0).collect();
    let search = Search {
        setup,
        opts,
        searched: active.clone(),
        cache: Mutex::new(BTreeMap::new()),
        progress,
    };
    const STEP: f64 = 0.2;
    // The full fit's first simplex, evaluated at once in parallel: it also
    // shows which parameter moves which target.
    let init = nelder_mead::initial_simplex(&search.centre(), &[STEP]);
    let init_vals = search.values(&init);
    let without = |left: Option<usize>| -> Vec<bool> {
        (0..n_t).map(|t| active[t] && Some(t) != left).collect()
    };
    let full = if opts.keep_values {
        // The file's values are the fit: evaluate the objective there with
        // the search's replications, and let the first simplex say which
        // targets some parameter moves.
        let x = setup.file_values();
        let z: Vec<f64> = setup
            .free
            .iter()
            .zip(&x)
            .map(|(p, x)| p.to_unit(*x))
            .collect();
        let here = search.values(std::slice::from_ref(&z));
        let range = (0..n_t)
            .map(|t| {
                init_vals
                    .iter()
                    .chain(&here)
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                        (a.min(mean(&v[t])), b.max(mean(&v[t])))
                    })
            })
            .collect();
        FitOutcome {
            min: Minimum {
                f: setup.objective(&here[0], &without(None)),
                x: z,
                evals: 0,
                converged: true,
            },
            x,
            range,
        }
    } else {
        search.fit(&without(None), &search.centre(), vec![STEP])
    };
    // Leave-one-out refits, for every fitted target that some parameter moves:
    // a target that stayed bit-identical through the whole full fit leaves it
    // unchanged when left out (the objective only loses a constant).
    let z_full: Vec<f64> = setup
        .free
        .iter()
        .zip(&full.x)
        .map(|(p, x)| p.to_unit(*x))
        .collect();
    let refit: Vec<usize> = (0..n_t)
        .filter(|&t| opts.loo && active[t] && full.range[t].0 != full.range[t].1)
        .collect();
    let loo_fits: BTreeMap<usize, FitOutcome> = refit
        .par_iter()
        .map(|&t| {
            let (start, step) = loo_start(&init_vals, t, &z_full);
            (t, search.fit(&without(Some(t)), &start, step))
        })
        .collect();

    // The fit table, with more replications, at the rounded values.
    let all = vec![true; n_t];
    let at_fit = setup.simulate(&full.x, opts.replications, &all);
    let fit = fit_rows(setup, &at_fit);
    progress(opts.replications as u64 * setup.scenarios.len() as u64);

    // The parameters' intervals, simulated with the fit table's replications.
    let intervals = (opts.intervals && opts.replications >= 2).then(|| {
        let at_fit: Vec<Vec<f64>> = at_fit
            .iter()
            .map(|reps| {
                reps.iter()
                    .map(|v| *v.as_ref().unwrap_or(&f64::NAN))
                    .collect()
            })
            .collect();
        let simulated = active
            .iter()
            .zip(&setup.target_scenario)
            .filter(|(a, _)| **a)
            .map(|(_, s)| *s)
            .collect::<std::collections::BTreeSet<_>>()
            .len() as u64;
        let eval = |zs: &[Vec<f64>]| -> Vec<Vec<Vec<f64>>> {
            zs.par_iter()
                .map(|z| {
                    let v = setup.simulate(&setup.values_at(z), opts.replications, &active);
                    progress(opts.replications as u64 * simulated);
                    v.into_iter()
                        .map(|reps| reps.into_iter().map(|v| v.unwrap_or(f64::NAN)).collect())
                        .collect()
                })
                .collect()
        };
        let problem = interval::Problem {
            targets: &setup.targets,
            active: &active,
            free: &setup.free,
            replications: opts.replications,
            search_replications: opts.search_replications,
        };
        interval::profile(&problem, &full.x, &at_fit, &eval)
    });

    let loo = opts.loo.then(|| {
        let preds: Vec<LooRow> = (0..n_t)
            .into_par_iter()
            .map(|t| {
                let tg = &setup.targets[t];
                let (evals, converged) = loo_fits
                    .get(&t)
                    .map_or((0, true), |f| (f.min.evals, f.min.converged));
                let (how, x, m, ci) = match loo_fits.get(&t) {
                    Some(f) => {
                        let mut which = vec![false; n_t];
                        which[t] = true;
                        let v = setup.simulate(&f.x, opts.replications, &which);
                        progress(opts.replications as u64);
                        let (m, ci) = summarise(tg, &v[t]);
                        ("refit", f.x.clone(), m, ci)
                    }
                    None => {
                        let r = &fit[t];
                        let how = if active[t] { "unchanged" } else { "not fitted" };
                        let ci = r.ci_low.zip(r.ci_high);
                        (how, full.x.clone(), r.simulated, ci)
                    }
                };
                let m_metric = m * tg.factor;
                LooRow {
                    target: tg.name(),
                    how: how.to_string(),
                    params: x,
                    predicted: m,
                    ci_low: ci.map(|c| c.0),
                    ci_high: ci.map(|c| c.1),
                    error: tg.error(m_metric),
                    met: tg.met(m_metric),
                    evals,
                    converged,
                }
            })
            .collect();
        preds
    });

    let params = setup
        .free
        .iter()
        .zip(&full.x)
        .map(|(p, v)| FittedParam {
            name: p.name.clone(),
            unit: p.unit.clone(),
            value: *v,
            min: p.min,
            max: p.max,
            file_value: p.file_value,
        })
        .collect();
    let seeds = setup
        .scenarios
        .iter()
        .zip(&setup.seeds)
        .map(|(s, seed)| (s.name.clone(), *seed))
        .collect();
    Calibration {
        targets_file: setup.targets_path.display().to_string(),
        model_file: setup.model.path.display().to_string(),
        seeds,
        options: opts.clone(),
        params,
        objective: full.min.f,
        evals: full.min.evals,
        converged: full.min.converged,
        fit,
        intervals,
        loo,
        notes: setup.notes.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_and_unit_maps() {
        assert_eq!(round_sig(0.0123456, 4), 0.01235);
        assert_eq!(round_sig(123456.0, 4), 123500.0);
        assert_eq!(round_sig(-2.71234, 3), -2.71);
        let p = FreeParam {
            name: "x".into(),
            unit: "ms".into(),
            min: 0.1,
            max: 1000.0,
            log: true,
            file_value: 1.0,
        };
        assert!((p.from_unit(0.5) - 10.0).abs() < 1e-9);
        assert!((p.to_unit(10.0) - 0.5).abs() < 1e-12);
        assert_eq!(p.from_unit(2.0), 1000.0);
        let q = FreeParam {
            log: false,
            min: 0.0,
            max: 4.0,
            ..p
        };
        assert_eq!(q.from_unit(0.25), 1.0);
        assert_eq!(q.to_unit(3.0), 0.75);
    }
}
