//! `capsim run --uncertainty N`: prediction intervals that include the
//! model's own uncertainty, not only simulation noise.
//!
//! N parameter sets are drawn by Latin hypercube over the `range` of every
//! uncertain model parameter with a range of non-zero width
//! ([`Scenario::uncertain_params`]): each range is cut into N equal strata,
//! every stratum is used by exactly one set, and the strata are matched
//! across parameters by independent random permutations. The draws come
//! from their own ChaCha stream (`"uncertainty-lhs"` of the run's seed), so
//! they never touch a simulation stream. Whole-number parameters are
//! rounded. Every set runs the same R replication seeds as the plain run
//! (common random numbers): with ranges of zero width, every set is the
//! plain run, bit for bit.
//!
//! For each judged statistic (the scenario's SLOs, or the headline
//! statistics when it has none; [`super::targets`]), with `x[i][r]` its
//! value in replication `r` of set `i`, `m_i` the mean of set `i` and `m`
//! the mean of the `m_i`:
//! - simulation noise: the pooled within-set variance
//!   `s_w² = Σ_i Σ_r (x[i][r] − m_i)² / Σ_i (R_i − 1)` (needs R >= 2);
//! - between-set variance of the set means `s_b² = Σ_i (m_i − m)² / (N − 1)`,
//!   and the model's part of it (one-way random-effects ANOVA)
//!   `s_m² = max(0, s_b² − s_w² / R)`;
//! - combined: the 95% prediction interval of the statistic as a run of R
//!   replications reports it, for a parameter set not yet drawn,
//!   `m ± t(0.975, ν) · sqrt((1 + 1/N) · s_m² + s_w² / R)`, with ν by
//!   Welch–Satterthwaite from the parts' degrees of freedom (N − 1 and
//!   R − 1: the sets share their replication seeds, so their noise is not
//!   N independent samples). With one replication the noise cannot be separated and the
//!   interval is `m ± t(0.975, N − 1) · sqrt((1 + 1/N) · s_b²)`.
//!
//! With zero-width ranges `s_m² = 0` and the combined interval is the
//! plain run's 95% Student-t interval of the mean.
//!
//! `compare --uncertainty` and `size --uncertainty` use the same draw
//! ([`common_sets`]), decomposition and, for a verdict, its one-sided
//! bound ([`Decomposition::bound95`]); see `crate::compare::uncertainty`.

use super::Target;
use crate::engine::rng::Streams;
use crate::result::t975;
use crate::scenario::{ParamError, Scenario, Uncertain};
use rand::RngExt;
use rand::seq::SliceRandom;
use serde::Serialize;

/// The name of the Latin hypercube's random stream.
pub const LHS_STREAM: &str = "uncertainty-lhs";
/// The file the study writes in the run's report folder.
pub const CSV_FILE: &str = "uncertainty.csv";

/// One parameter set: `(parameter, value)` for each varied parameter.
pub type ParamSet = Vec<(&'static str, f64)>;

/// `n` sets by Latin hypercube over the non-zero-width ranges of `params`
/// (in their order), from `seed`'s own stream. Zero-width ranges are left
/// at their value (not in the sets).
pub fn latin_hypercube(params: &[Uncertain], n: usize, seed: u64) -> Vec<ParamSet> {
    let varied: Vec<&Uncertain> = params.iter().filter(|u| !u.is_exact()).collect();
    lhs_quantiles(varied.len(), n, seed)
        .into_iter()
        .map(|q| {
            varied
                .iter()
                .zip(q)
                .map(|(u, f)| (u.name, at_quantile(u, f)))
                .collect()
        })
        .collect()
}

/// The Latin hypercube itself: `n` points (sets) of `k` coordinates in
/// [0, 1), from `seed`'s own stream. Coordinate `j` of the points uses
/// each of the `n` strata `[s/n, (s+1)/n)` once; the strata are matched
/// across coordinates by independent random permutations.
pub fn lhs_quantiles(k: usize, n: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = Streams::new(seed).stream(LHS_STREAM, 0);
    let mut sets: Vec<Vec<f64>> = vec![Vec::with_capacity(k); n];
    for _ in 0..k {
        let mut strata: Vec<usize> = (0..n).collect();
        strata.shuffle(&mut rng);
        for (set, s) in sets.iter_mut().zip(strata) {
            set.push((s as f64 + rng.random::<f64>()) / n as f64);
        }
    }
    sets
}

/// The value at quantile `f` of `u`'s range (uniform), rounded for a
/// whole-number parameter and kept inside the range.
pub fn at_quantile(u: &Uncertain, f: f64) -> f64 {
    let mut v = u.lo + f * (u.hi - u.lo);
    if u.whole {
        v = v.round();
    }
    v.clamp(u.lo, u.hi)
}

/// Parameter sets common to several scenarios (the architectures of
/// `compare --uncertainty`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CommonSets {
    /// Every parameter with a non-zero-width range in any of the
    /// scenarios' models, by name, in the model's parameter order.
    pub names: Vec<&'static str>,
    /// Per scenario, per set: the parameters it varies and their values.
    pub sets: Vec<Vec<ParamSet>>,
    /// Where the scenarios' ranges differ, in words.
    pub notes: Vec<String>,
}

/// `n` parameter sets shared by `scenarios` (named by `names`): one Latin
/// hypercube over the union, by name, of their non-zero-width ranges,
/// drawn from `seed` exactly as [`latin_hypercube`] draws it for one
/// scenario (so one scenario, or several of one model file, get the sets
/// `run --uncertainty` would). Set `i` gives every scenario the same
/// quantile of each parameter's range: equal ranges give equal values;
/// where the models' ranges differ, each scenario takes that quantile of
/// its own range, and a parameter a model has no range for stays at its
/// value there. Both cases are named in [`CommonSets::notes`].
pub fn common_sets(scenarios: &[(&str, &Scenario)], n: usize, seed: u64) -> CommonSets {
    use crate::scenario::costs::PARAMS;
    let params: Vec<Vec<Uncertain>> = scenarios
        .iter()
        .map(|(_, s)| {
            s.uncertain_params()
                .into_iter()
                .filter(|u| !u.is_exact())
                .collect()
        })
        .collect();
    let names: Vec<&'static str> = PARAMS
        .iter()
        .map(|p| p.name)
        .filter(|name| params.iter().flatten().any(|u| u.name == *name))
        .collect();
    let q = lhs_quantiles(names.len(), n, seed);
    let sets = params
        .iter()
        .map(|ps| {
            q.iter()
                .map(|qs| {
                    names
                        .iter()
                        .zip(qs)
                        .filter_map(|(name, f)| {
                            let u = ps.iter().find(|u| u.name == *name)?;
                            Some((u.name, at_quantile(u, *f)))
                        })
                        .collect()
                })
                .collect()
        })
        .collect();
    let mut notes = Vec::new();
    let model = |i: usize| {
        let (name, s) = scenarios[i];
        format!("{name} ({})", s.model.path.display())
    };
    for name in &names {
        let have: Vec<(usize, &Uncertain)> = params
            .iter()
            .enumerate()
            .filter_map(|(i, ps)| Some((i, ps.iter().find(|u| u.name == *name)?)))
            .collect();
        let (i0, u0) = have[0];
        if have.len() < scenarios.len() {
            let missing: Vec<String> = (0..scenarios.len())
                .filter(|i| !have.iter().any(|(j, _)| j == i))
                .map(model)
                .collect();
            notes.push(format!(
                "params.{name} varies in {} but has no range in {}: it stays at its value there",
                model(i0),
                missing.join(", ")
            ));
        }
        for &(i, u) in &have[1..] {
            if (u.lo, u.hi) != (u0.lo, u0.hi) {
                notes.push(format!(
                    "params.{name}: range [{}, {}] in {} but [{}, {}] in {}: each set takes the same quantile of each range",
                    u0.lo,
                    u0.hi,
                    model(i0),
                    u.lo,
                    u.hi,
                    model(i)
                ));
            }
        }
    }
    CommonSets { names, sets, notes }
}

/// `scenario` with every parameter of `set` applied.
pub fn apply(scenario: &Scenario, set: &ParamSet) -> Result<Scenario, ParamError> {
    let mut s = scenario.clone();
    for (name, v) in set {
        s = s.with_param(name, *v)?;
    }
    Ok(s)
}

/// One statistic's decomposition (see the module documentation).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Decomposition {
    pub target: String,
    pub unit: String,
    /// Sets with at least one value.
    pub sets: usize,
    /// Replications per set.
    pub replications: u32,
    /// The mean over sets of the set means.
    pub mean: Option<f64>,
    /// Pooled within-set variance `s_w²` (unit²); `None` with one replication.
    pub noise_var: Option<f64>,
    /// Between-set variance of the set means `s_b²`.
    pub between_var: Option<f64>,
    /// The model's part `s_m²`; `None` with one replication.
    pub model_var: Option<f64>,
    /// The combined 95% prediction interval.
    pub combined_low: Option<f64>,
    pub combined_high: Option<f64>,
    /// The combined variance, `(1 + 1/N) s_m² + s_w²/R` (or
    /// `(1 + 1/N) s_b²` with one replication).
    pub combined_var: Option<f64>,
    /// Its degrees of freedom (Welch–Satterthwaite, see the module).
    pub df: Option<usize>,
}

impl Decomposition {
    /// Combined interval width, if any.
    pub fn combined_width(&self) -> Option<f64> {
        Some(self.combined_high? - self.combined_low?)
    }

    /// The one-sided 95% bound over both parts in the direction of
    /// `bound`, `m + t(0.95, ν) · sqrt(combined_var)` for "at most" (minus
    /// for "at least"): the combined interval's variance and degrees of
    /// freedom with the one-sided quantile, so that a statistic meets an
    /// SLO "with 95% confidence over noise and model" when this bound does.
    /// With zero-width ranges it is the plain one-sided Student-t bound.
    pub fn bound95(&self, bound: crate::scenario::Bound) -> Option<f64> {
        let (m, v, df) = (self.mean?, self.combined_var?, self.df?);
        let h = crate::result::t95_one_sided(df + 1)? * v.sqrt();
        let b = match bound {
            crate::scenario::Bound::AtMost => m + h,
            crate::scenario::Bound::AtLeast => m - h,
        };
        b.is_finite().then_some(b)
    }
}

/// Decompose one statistic from `values[set][replication]` (missing values
/// left out).
pub fn decompose(target: &Target, replications: u32, values: &[Vec<Option<f64>>]) -> Decomposition {
    let sets: Vec<Vec<f64>> = values
        .iter()
        .map(|xs| xs.iter().flatten().copied().collect::<Vec<f64>>())
        .filter(|xs| !xs.is_empty())
        .collect();
    let n = sets.len();
    let means: Vec<f64> = sets.iter().map(|xs| crate::result::mean(xs)).collect();
    let mean = (n > 0).then(|| crate::result::mean(&means));
    let (mut ss_w, mut df_w) = (0.0, 0usize);
    for (xs, m) in sets.iter().zip(&means) {
        ss_w += xs.iter().map(|x| (x - m).powi(2)).sum::<f64>();
        df_w += xs.len() - 1;
    }
    let noise_var = (df_w > 0).then(|| ss_w / df_w as f64);
    let between_var = match mean {
        Some(m) if n > 1 => {
            Some(means.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1) as f64)
        }
        _ => None,
    };
    let r = f64::from(replications);
    let model_var = match (between_var, noise_var) {
        (Some(b), Some(w)) => Some((b - w / r).max(0.0)),
        _ => None,
    };
    let n_f = n as f64;
    let (var, df) = match (model_var, noise_var, between_var) {
        (Some(sm), Some(sw), _) => {
            let a = (1.0 + 1.0 / n_f) * sm;
            let b = sw / r;
            let df_noise = replications.max(2) as usize - 1;
            let denom = a * a / (n_f - 1.0) + b * b / df_noise as f64;
            // The exact ends (no model part, or no noise) take their own
            // degrees of freedom, not a rounding of the ratio.
            let nu = if a == 0.0 || denom <= 0.0 {
                df_noise
            } else if b == 0.0 {
                n - 1
            } else {
                ((a + b) * (a + b) / denom).floor().max(1.0) as usize
            };
            (Some(a + b), Some(nu))
        }
        (None, None, Some(sb)) => (Some((1.0 + 1.0 / n_f) * sb), Some(n - 1)),
        _ => (None, None),
    };
    let (half, ok) = match (var, df) {
        (Some(v), Some(nu)) => (t975(nu) * v.sqrt(), true),
        _ => (f64::NAN, false),
    };
    let finite = |x: f64| x.is_finite().then_some(x);
    Decomposition {
        target: target.name.clone(),
        unit: target.unit.clone(),
        sets: n,
        replications,
        mean: mean.and_then(finite),
        noise_var,
        between_var,
        model_var,
        combined_low: ok
            .then(|| mean.map(|m| m - half))
            .flatten()
            .and_then(finite),
        combined_high: ok
            .then(|| mean.map(|m| m + half))
            .flatten()
            .and_then(finite),
        combined_var: var,
        df,
    }
}

/// The tidy CSV: one row per statistic.
pub fn csv_text(scenario: &str, varied: usize, rows: &[Decomposition]) -> anyhow::Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "scenario",
        "statistic",
        "unit",
        "parameters_varied",
        "parameter_sets",
        "replications",
        "mean",
        "noise_sd",
        "model_sd",
        "between_set_sd",
        "combined_low",
        "combined_high",
    ])?;
    let f = |x: Option<f64>| x.map_or(String::new(), |v| format!("{v}"));
    let sd = |x: Option<f64>| f(x.map(f64::sqrt));
    for d in rows {
        w.write_record([
            scenario.to_string(),
            d.target.clone(),
            d.unit.clone(),
            varied.to_string(),
            d.sets.to_string(),
            d.replications.to_string(),
            f(d.mean),
            sd(d.noise_var),
            sd(d.model_var),
            sd(d.between_var),
            f(d.combined_low),
            f(d.combined_high),
        ])?;
    }
    Ok(String::from_utf8(w.into_inner()?)?)
}

/// The table for the printed summary.
pub fn text(varied: usize, sets: usize, rows: &[Decomposition]) -> String {
    let g = |x: Option<f64>| x.map_or("-".to_string(), |v| format!("{v:.4}"));
    let sd = |x: Option<f64>| g(x.map(f64::sqrt));
    let mut out = format!(
        "\nModel uncertainty: {sets} parameter sets (Latin hypercube over {varied} parameter range{}), common random numbers\n",
        if varied == 1 { "" } else { "s" }
    );
    out += &format!(
        "  {:<36} {:>12} {:>12} {:>12} {:>27}\n",
        "statistic", "mean", "noise sd", "model sd", "combined 95% PI"
    );
    for d in rows {
        let pi = match (d.combined_low, d.combined_high) {
            (Some(l), Some(h)) => format!("[{l:.4}, {h:.4}]"),
            _ => "-".into(),
        };
        out += &format!(
            "  {:<36} {:>12} {:>12} {:>12} {:>27}{}\n",
            d.target,
            g(d.mean),
            sd(d.noise_var),
            sd(d.model_var),
            pi,
            if d.unit.is_empty() {
                String::new()
            } else {
                format!(" {}", d.unit)
            }
        );
    }
    out
}

/// A finished study.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Study {
    pub sets: Vec<ParamSet>,
    /// Parameters varied (non-zero-width ranges).
    pub varied: usize,
    pub rows: Vec<Decomposition>,
}

/// Run `n` Latin-hypercube sets over `params` on `scenario`, each with
/// `replications` replications of the seeds of `seed` (the plain run's),
/// on the current rayon pool. Deterministic whatever the thread count.
pub fn study(
    scenario: &Scenario,
    params: &[Uncertain],
    n: usize,
    seed: u64,
    replications: u32,
) -> Result<Study, ParamError> {
    use rayon::prelude::*;
    let sets = latin_hypercube(params, n.max(1), seed);
    let scenarios = sets
        .iter()
        .map(|set| apply(scenario, set))
        .collect::<Result<Vec<_>, _>>()?;
    let targets = super::targets(scenario);
    let tasks = tasks(sets.len(), replications, seed);
    let results: Vec<super::TaskResult> = tasks
        .par_iter()
        .map(|task| super::run_task(&scenarios[task.variant], task, &targets))
        .collect();
    Ok(analyse(scenario, params, sets, replications, &results))
}

/// The simulations of a study of `sets` parameter sets: set-major,
/// replication-minor, replication `r` of every set on the seed it has in
/// the plain run of `seed` (common random numbers).
pub fn tasks(sets: usize, replications: u32, seed: u64) -> Vec<super::Task> {
    (0..sets)
        .flat_map(|i| {
            (0..replications).map(move |r| super::Task {
                variant: i,
                replication: r,
                seed: crate::engine::rng::replication_seed(seed, r),
            })
        })
        .collect()
}

/// The study from its simulations' results, in [`tasks`] order (from one
/// process or gathered from the shards' stores: the same numbers).
pub fn analyse(
    scenario: &Scenario,
    params: &[Uncertain],
    sets: Vec<ParamSet>,
    replications: u32,
    results: &[super::TaskResult],
) -> Study {
    let mut targets = super::targets(scenario);
    for (t, target) in targets.iter_mut().enumerate() {
        if let Some(u) = results.iter().map(|x| &x.units[t]).find(|u| !u.is_empty()) {
            target.unit = u.clone();
        }
    }
    let rows = targets
        .iter()
        .enumerate()
        .map(|(t, target)| {
            let values: Vec<Vec<Option<f64>>> = (0..sets.len())
                .map(|i| {
                    results[i * replications as usize..(i + 1) * replications as usize]
                        .iter()
                        .map(|x| x.values[t])
                        .collect()
                })
                .collect();
            decompose(target, replications, &values)
        })
        // Statistics this scenario does not produce are left out.
        .filter(|d| d.sets > 0)
        .collect();
    Study {
        varied: params.iter().filter(|u| !u.is_exact()).count(),
        sets,
        rows,
    }
}
