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
    let mut rng = Streams::new(seed).stream(LHS_STREAM, 0);
    let varied: Vec<&Uncertain> = params.iter().filter(|u| !u.is_exact()).collect();
    let mut sets: Vec<ParamSet> = vec![Vec::with_capacity(varied.len()); n];
    for u in varied {
        let mut strata: Vec<usize> = (0..n).collect();
        strata.shuffle(&mut rng);
        for (set, k) in sets.iter_mut().zip(strata) {
            let f = (k as f64 + rng.random::<f64>()) / n as f64;
            let mut v = u.lo + f * (u.hi - u.lo);
            if u.whole {
                v = v.round();
            }
            set.push((u.name, v.clamp(u.lo, u.hi)));
        }
    }
    sets
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
}

impl Decomposition {
    /// Combined interval width, if any.
    pub fn combined_width(&self) -> Option<f64> {
        Some(self.combined_high? - self.combined_low?)
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
    let (half, ok) = match (model_var, noise_var, between_var) {
        (Some(sm), Some(sw), _) => {
            let a = (1.0 + 1.0 / n_f) * sm;
            let b = sw / r;
            let total = a + b;
            let df_noise = f64::from(replications.max(2) - 1);
            let denom = a * a / (n_f - 1.0) + b * b / df_noise;
            let nu = if denom > 0.0 {
                (total * total / denom).floor().max(1.0)
            } else {
                df_noise
            };
            (t975(nu as usize) * total.sqrt(), true)
        }
        (None, None, Some(sb)) => (t975(n - 1) * ((1.0 + 1.0 / n_f) * sb).sqrt(), true),
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
