//! A 95% interval for each fitted parameter: a profile of the objective.
//!
//! **What it is.** The interval of parameter `j` holds the values `v` for
//! which the fitted targets move by no more than their own precision and
//! the simulation noise allow when `j` is held at `v` and the other free
//! parameters are refitted: the set where the profile
//!
//! ```text
//! chi2(v) = sum over targets t of ( (ln simulated_t(v) - ln simulated_t(fit)) / sigma_t )^2
//! ```
//!
//! stays within `chi2_1(0.95) = 3.84` (Wilks: a profile likelihood
//! interval for one parameter), with
//!
//! ```text
//! sigma_t^2 = (precision_t / measured_t)^2 / 3  +  noise_t^2 / search_replications
//! ```
//!
//! - `precision_t` is the half-width of the interval the measured figure
//!   stands for (the targets file's `precision`, by default the rounding
//!   of the figure as written: Coder's "220 ms" is anything from 215 to
//!   225; a range's half-width). A figure is equally likely anywhere in it:
//!   a uniform error, whose standard deviation is the half-width over √3.
//! - `noise_t` is the standard deviation across replications of the log of
//!   the simulated figure at the fit. The search evaluated each candidate
//!   with `search_replications` replications, so the fitted value carries
//!   the luck of those seeds: its share is `noise_t^2 / search_replications`.
//!
//! The objective is taken relative to the fit's own simulated figures (as
//! if each target were met exactly at the fit; particle physicists call
//! it the Asimov data set), so the interval is centred on the fitted
//! value: it is the spread of the estimate that the targets' errors
//! cause, what a parametric bootstrap of the targets and replications
//! would give, without the hundreds of refits. The misfit left at the fit
//! enters through the next rule.
//!
//! When the targets disagree with each other by more than that allows
//! (the chi-square at the fit above its degrees of freedom, targets that
//! some parameter moves minus identified parameters), the threshold is
//! multiplied by the reduced chi-square (the usual scaling of a weighted
//! least-squares fit, which only ever widens): part of the model's misfit
//! then enters the interval.
//!
//! **What it is not.** With about one target per parameter, the interval
//! says how precisely the published figures and the simulation pin each
//! parameter *if the model's structure is right*. It does not contain the
//! model's structural error: the leave-one-out table (a parameter pinned
//! only by its own target is not predicted by the others) is the place for
//! that, and it is not folded in here, because a leave-one-out error
//! measures how well the *other* targets predict a figure, not how far the
//! fitted value may be off. Nor does it include how far the measurement
//! itself (one test, one day) would move on another run of Coder's test:
//! the sources do not say. Targets' weights shape the fit, not the
//! interval.
//!
//! **How.** Refitting the other parameters at every profile point with the
//! simplex would cost a full fit each. Instead the profile follows the
//! path of the linearised refit: the Jacobian `J` of the log targets
//! against the parameters' positions in their (log) bounds comes from
//! central differences at the fit (common random numbers, so the
//! differences are smooth), and along `j` the other parameters move by
//! `-H_oo^-1 H_oj` per unit of `j` (`H = J' W J`, `W = 1/sigma^2`), which
//! is their exact refit when the targets are linear in the log
//! parameters. Each end is then found on the *simulated* chi-square along
//! that path (secant steps on `sqrt(chi2 - chi2_fit)`, which is linear in
//! the step for a quadratic profile; at most [`MAX_END_EVALS`] points), so
//! the saturation and queueing nonlinearities of the real model shape the
//! interval; only the other parameters' refit is linearised. A parameter
//! that moves no target gets its whole calibration bounds; an end that
//! reaches a bound stays there.
//!
//! Deterministic: no random draws. Every point is simulated with the fit
//! table's replications (the seeds `replication_seed(scenario seed, r)`),
//! the same at every point (common random numbers).

use super::fit::FreeParam;
use super::targets::{Goal, Target};
use crate::format::sig4;
use nalgebra::{DMatrix, DVector};
use serde::Serialize;
use statrs::distribution::{ChiSquared, ContinuousCDF};

/// Simulated points per interval end at most.
pub const MAX_END_EVALS: usize = 6;
/// Step of the central differences, as a fraction of each parameter's (log) bounds.
pub const JACOBIAN_STEP: f64 = 0.01;
/// Confidence level of the intervals.
pub const LEVEL: f64 = 0.95;

/// How the spread of one target enters the intervals (relative, in log units).
#[derive(Clone, Debug, Serialize)]
pub struct TargetSpread {
    pub target: String,
    /// The measured figure and its precision as written (`220 ms ± 5`, `6.7-8.4 ops/s`).
    pub figure: String,
    /// Standard deviation from the figure's precision (half-width / √3 / measured).
    pub precision: f64,
    /// Standard deviation across replications of the log of the simulated figure.
    pub noise: f64,
    /// Combined: sqrt(precision^2 + noise^2 / search_replications).
    pub sigma: f64,
    /// Some free parameter moves it (otherwise it leaves the intervals alone).
    pub moved: bool,
}

/// The 95% interval of one fitted parameter.
#[derive(Clone, Debug, Serialize)]
pub struct ParamInterval {
    pub name: String,
    pub value: f64,
    pub lo: f64,
    pub hi: f64,
    /// The end reached the parameter's calibration bound (`min`, `max`).
    pub lo_at_bound: bool,
    pub hi_at_bound: bool,
    /// Some fitted target moves with it; otherwise the interval is its bounds.
    pub identified: bool,
    /// The target that pins it most (largest `(J_tj / sigma_t)^2`), an
    /// index into [`Intervals::targets`].
    pub pinned_by: Option<usize>,
    /// The linearised interval (before the simulated ends), for comparison.
    pub linear_lo: f64,
    pub linear_hi: f64,
}

/// Intervals of every fitted parameter, and what went into them.
#[derive(Clone, Debug, Serialize)]
pub struct Intervals {
    pub method: String,
    pub level: f64,
    /// Replications simulated at every point.
    pub replications: u32,
    /// Replications of the search, which set the noise share.
    pub search_replications: u32,
    /// Chi-square at the fit, over the moved targets.
    pub chi2: f64,
    /// Moved targets minus identified parameters.
    pub dof: i64,
    /// max(1, chi2 / dof) (1 when dof <= 0).
    pub scale: f64,
    /// `chi2_1(level) * scale`: how far the profile may rise.
    pub threshold: f64,
    /// One row per fitted target (weight > 0), in the targets file's order.
    pub targets: Vec<TargetSpread>,
    pub params: Vec<ParamInterval>,
    /// Points simulated (each with `replications` replications).
    pub points: usize,
}

/// Per-target, per-replication simulated values (metric unit) at each of a
/// batch of points of the unit box; evaluated together (in parallel).
pub type Eval<'a> = dyn Fn(&[Vec<f64>]) -> Vec<Vec<Vec<f64>>> + Sync + 'a;

/// The problem the profile solves: the fitted targets and parameters.
pub struct Problem<'a> {
    pub targets: &'a [Target],
    /// Which targets the fit used (weight > 0).
    pub active: &'a [bool],
    pub free: &'a [FreeParam],
    pub replications: u32,
    pub search_replications: u32,
}

fn mean_finite(xs: &[f64]) -> f64 {
    let v: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        f64::NAN
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

/// Standard deviation across replications of the log of a (positive)
/// figure; of the value over its mean when a replication is not positive.
fn log_noise(xs: &[f64]) -> f64 {
    let v: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
    if v.len() < 2 {
        return 0.0;
    }
    let sd = |ys: &[f64]| {
        let m = ys.iter().sum::<f64>() / ys.len() as f64;
        (ys.iter().map(|y| (y - m).powi(2)).sum::<f64>() / (ys.len() - 1) as f64).sqrt()
    };
    if v.iter().all(|x| *x > 0.0) {
        sd(&v.iter().map(|x| x.ln()).collect::<Vec<_>>())
    } else {
        let m = (v.iter().sum::<f64>() / v.len() as f64).abs();
        if m > 0.0 { sd(&v) / m } else { 0.0 }
    }
}

/// Solve `a x = b` for a small symmetric positive semi-definite `a`
/// (Cholesky, or the pseudo-inverse when `a` is singular).
fn solve(a: &DMatrix<f64>, b: &DVector<f64>) -> DVector<f64> {
    match a.clone().cholesky() {
        Some(c) => c.solve(b),
        None => match a.clone().pseudo_inverse(1e-12) {
            Ok(p) => p * b,
            Err(_) => DVector::zeros(b.len()),
        },
    }
}

/// The profile intervals around the fitted values `x_hat`, given the
/// per-replication values of every target at the fit (`at_fit`; NaN for a
/// failed statistic). `eval` simulates points of the unit box.
pub fn profile(problem: &Problem, x_hat: &[f64], at_fit: &[Vec<f64>], eval: &Eval) -> Intervals {
    let n_p = problem.free.len();
    let z_hat: Vec<f64> = problem
        .free
        .iter()
        .zip(x_hat)
        .map(|(p, x)| p.to_unit(*x))
        .collect();
    let fitted: Vec<usize> = (0..problem.targets.len())
        .filter(|&t| problem.active[t])
        .collect();
    let residuals = |vals: &[Vec<f64>]| -> Vec<f64> {
        fitted
            .iter()
            .map(|&t| problem.targets[t].residual(mean_finite(&vals[t])))
            .collect()
    };
    let r_hat = residuals(at_fit);
    let search = problem.search_replications.max(1) as f64;
    let mut spread: Vec<TargetSpread> = fitted
        .iter()
        .map(|&t| {
            let tg = &problem.targets[t];
            let precision = tg.precision / tg.goal.aim().abs() / 3f64.sqrt();
            let noise = log_noise(&at_fit[t]);
            let sigma = (precision.powi(2) + noise.powi(2) / search)
                .sqrt()
                .max(1e-9);
            let unit = if tg.unit.is_empty() { "" } else { &tg.unit };
            let figure = match tg.goal {
                Goal::Value(v) => format!(
                    "{} {unit} ± {}",
                    sig4(tg.to_unit(v)),
                    sig4(tg.to_unit(tg.precision))
                ),
                Goal::Range(a, b) => {
                    format!("{}-{} {unit}", sig4(tg.to_unit(a)), sig4(tg.to_unit(b)))
                }
            };
            TargetSpread {
                target: tg.name(),
                figure: figure.replace("  ", " "),
                precision,
                noise,
                sigma,
                moved: false,
            }
        })
        .collect();

    // Jacobian by central differences (one-sided at a bound).
    let mut points = Vec::with_capacity(2 * n_p);
    let mut steps = Vec::with_capacity(n_p);
    for j in 0..n_p {
        let up = (z_hat[j] + JACOBIAN_STEP).min(1.0);
        let down = (z_hat[j] - JACOBIAN_STEP).max(0.0);
        let (mut a, mut b) = (z_hat.clone(), z_hat.clone());
        a[j] = up;
        b[j] = down;
        points.push(a);
        points.push(b);
        steps.push(up - down);
    }
    let vals = eval(&points);
    let mut n_points = points.len();
    let n_f = fitted.len();
    let mut jac = DMatrix::<f64>::zeros(n_f, n_p);
    for j in 0..n_p {
        let (ra, rb) = (residuals(&vals[2 * j]), residuals(&vals[2 * j + 1]));
        for i in 0..n_f {
            let d = (ra[i] - rb[i]) / steps[j];
            // Bit-identical figures (a parameter that does not reach the
            // target) give exactly 0; NaN (a failed statistic) counts as 0 too.
            jac[(i, j)] = if d.is_finite() { d } else { 0.0 };
        }
    }
    for (i, s) in spread.iter_mut().enumerate() {
        s.moved = (0..n_p).any(|j| jac[(i, j)] != 0.0);
    }
    let moved: Vec<usize> = (0..n_f).filter(|&i| spread[i].moved).collect();
    let identified: Vec<bool> = (0..n_p)
        .map(|j| moved.iter().any(|&i| jac[(i, j)] != 0.0))
        .collect();
    let chi2_of = |r: &[f64]| -> f64 {
        moved
            .iter()
            .map(|&i| (r[i] / spread[i].sigma).powi(2))
            .sum()
    };
    let chi2 = chi2_of(&r_hat);
    let n_ident = identified.iter().filter(|b| **b).count();
    let dof = moved.len() as i64 - n_ident as i64;
    let scale = if dof > 0 {
        (chi2 / dof as f64).max(1.0)
    } else {
        1.0
    };
    let q = ChiSquared::new(1.0)
        .expect("one degree of freedom")
        .inverse_cdf(LEVEL);
    let threshold = q * scale;

    // H = J' W J over the moved targets and identified parameters.
    let ids: Vec<usize> = (0..n_p).filter(|&j| identified[j]).collect();
    let mut h = DMatrix::<f64>::zeros(ids.len(), ids.len());
    for (a, &ja) in ids.iter().enumerate() {
        for (b, &jb) in ids.iter().enumerate() {
            h[(a, b)] = moved
                .iter()
                .map(|&i| jac[(i, ja)] * jac[(i, jb)] / spread[i].sigma.powi(2))
                .sum();
        }
    }

    // For each identified parameter: the path direction (unit step in j,
    // the others' linearised refit) and the linearised half-width.
    struct End {
        j: usize,
        sign: f64,
        dir: Vec<f64>,
        s_max: f64,
        lower: (f64, f64),
        upper: Option<(f64, f64)>,
        next: f64,
        done: Option<(f64, bool)>,
        evals: usize,
    }
    let mut ends: Vec<End> = Vec::new();
    let mut linear: Vec<f64> = vec![f64::NAN; n_p];
    for (a, &j) in ids.iter().enumerate() {
        let others: Vec<usize> = (0..ids.len()).filter(|&b| b != a).collect();
        let mut dir = vec![0.0; n_p];
        dir[j] = 1.0;
        // Curvature of the profile per unit step: H_jj - H_jo H_oo^-1 H_oj.
        let mut curv = h[(a, a)];
        if !others.is_empty() {
            let h_oo =
                DMatrix::from_fn(others.len(), others.len(), |r, c| h[(others[r], others[c])]);
            let h_oj = DVector::from_fn(others.len(), |r, _| h[(others[r], a)]);
            let x = solve(&h_oo, &h_oj);
            for (r, &b) in others.iter().enumerate() {
                dir[ids[b]] = -x[r];
            }
            curv -= h_oj.dot(&x);
        }
        let s_lin = if curv > 0.0 {
            (threshold / curv).sqrt()
        } else {
            f64::INFINITY
        };
        linear[j] = s_lin;
        for sign in [-1.0, 1.0] {
            let s_max = if sign > 0.0 { 1.0 - z_hat[j] } else { z_hat[j] };
            let first = if s_lin.is_finite() { s_lin } else { 0.1 };
            ends.push(End {
                j,
                sign,
                dir: dir.clone(),
                s_max,
                lower: (0.0, 0.0),
                upper: None,
                next: first.min(s_max),
                done: (s_max <= 0.0).then_some((0.0, true)),
                evals: 0,
            });
        }
    }
    let g_target = threshold.sqrt();
    let at = |e: &End, s: f64| -> Vec<f64> {
        z_hat
            .iter()
            .zip(&e.dir)
            .map(|(z, d)| (z + e.sign * s * d).clamp(0.0, 1.0))
            .collect()
    };
    while ends.iter().any(|e| e.done.is_none()) {
        let open: Vec<usize> = (0..ends.len())
            .filter(|&k| ends[k].done.is_none())
            .collect();
        let pts: Vec<Vec<f64>> = open.iter().map(|&k| at(&ends[k], ends[k].next)).collect();
        let vals = eval(&pts);
        n_points += pts.len();
        for (&k, v) in open.iter().zip(&vals) {
            let e = &mut ends[k];
            let s = e.next;
            let r = residuals(v);
            let d: f64 = moved
                .iter()
                .map(|&i| ((r[i] - r_hat[i]) / spread[i].sigma).powi(2))
                .sum();
            // A failed statistic (NaN) is as far from the targets as can be.
            let g = if d.is_nan() { f64::INFINITY } else { d.sqrt() };
            e.evals += 1;
            if (g - g_target).abs() <= 0.02 * g_target {
                e.done = Some((s, false));
                continue;
            }
            if g < g_target {
                e.lower = (s, g);
                if s >= e.s_max {
                    e.done = Some((e.s_max, true));
                    continue;
                }
            } else {
                e.upper = Some((s, g));
            }
            let (sl, gl) = e.lower;
            let next = match e.upper {
                // Regula falsi inside the bracket (bisection when g is infinite).
                Some((su, gu)) if gu.is_finite() => sl + (su - sl) * (g_target - gl) / (gu - gl),
                Some((su, _)) => (sl + su) / 2.0,
                // Not bracketed yet: extrapolate, at most 4 times further.
                None if gl > 0.0 => (sl * (g_target / gl).min(4.0)).min(e.s_max),
                None => (sl * 4.0).min(e.s_max),
            };
            if e.evals >= MAX_END_EVALS {
                // Out of evaluations: the best estimate in the bracket, or
                // the furthest point known to be inside.
                e.done = Some((if e.upper.is_some() { next } else { sl }, false));
            } else {
                e.next = next;
            }
        }
    }

    let params = (0..n_p)
        .map(|j| {
            let p = &problem.free[j];
            let value = x_hat[j];
            if !identified[j] {
                return ParamInterval {
                    name: p.name.clone(),
                    value,
                    lo: p.min,
                    hi: p.max,
                    lo_at_bound: true,
                    hi_at_bound: true,
                    identified: false,
                    pinned_by: None,
                    linear_lo: p.min,
                    linear_hi: p.max,
                };
            }
            let end = |sign: f64| {
                ends.iter()
                    .find(|e| e.j == j && e.sign == sign)
                    .and_then(|e| e.done)
                    .expect("every end is done")
            };
            let (s_lo, lo_at_bound) = end(-1.0);
            let (s_hi, hi_at_bound) = end(1.0);
            let pinned_by = moved
                .iter()
                .max_by(|&&a, &&b| {
                    let w = |i: usize| (jac[(i, j)] / spread[i].sigma).powi(2);
                    w(a).total_cmp(&w(b))
                })
                .copied();
            let lin = linear[j];
            ParamInterval {
                name: p.name.clone(),
                value,
                lo: p.from_unit(z_hat[j] - s_lo).min(value),
                hi: p.from_unit(z_hat[j] + s_hi).max(value),
                lo_at_bound,
                hi_at_bound,
                identified: true,
                pinned_by,
                linear_lo: p.from_unit(z_hat[j] - lin).min(value),
                linear_hi: p.from_unit(z_hat[j] + lin).max(value),
            }
        })
        .collect();
    Intervals {
        method: "profile".into(),
        level: LEVEL,
        replications: problem.replications,
        search_replications: problem.search_replications,
        chi2,
        dof,
        scale,
        threshold,
        targets: spread,
        params,
        points: n_points,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calibrate::targets;
    use rand::rngs::ChaCha8Rng;
    use rand::{RngExt, SeedableRng};
    use std::path::Path;

    fn param(name: &str) -> FreeParam {
        FreeParam {
            name: name.into(),
            unit: "1".into(),
            min: 0.01,
            max: 100.0,
            log: true,
            file_value: 1.0,
        }
    }

    /// Targets from CSV rows `metric,measured,precision`.
    fn targets(rows: &str) -> Vec<Target> {
        let rows: String = rows
            .lines()
            .map(|r| format!("s.toml,{}\n", r.replacen(',', ",mean,", 1)))
            .collect();
        let text = format!("scenario,metric,stat,measured,precision\n{rows}");
        targets::parse(Path::new("t.csv"), &text).unwrap()
    }

    /// Run the profile on an analytic model: `model(theta)` gives each
    /// target's expected value; each replication multiplies it by
    /// `exp(noise * e_r)` with `e_r` standard normal, the same draws at every
    /// point (common random numbers).
    fn run(
        tg: &[Target],
        free: &[FreeParam],
        x_hat: &[f64],
        noise: f64,
        reps: u32,
        search: u32,
        model: impl Fn(&[f64]) -> Vec<f64> + Sync,
    ) -> Intervals {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let draws: Vec<Vec<f64>> = (0..reps)
            .map(|_| {
                (0..tg.len())
                    .map(|_| {
                        let n: f64 = rng.sample(rand_distr::StandardNormal);
                        (noise * n).exp()
                    })
                    .collect()
            })
            .collect();
        let values = |x: &[f64]| -> Vec<Vec<f64>> {
            let m = model(x);
            (0..tg.len())
                .map(|t| draws.iter().map(|d| m[t] * d[t]).collect())
                .collect()
        };
        let eval = |zs: &[Vec<f64>]| -> Vec<Vec<Vec<f64>>> {
            zs.iter()
                .map(|z| {
                    let x: Vec<f64> = free.iter().zip(z).map(|(p, z)| p.from_unit(*z)).collect();
                    values(&x)
                })
                .collect()
        };
        let active = vec![true; tg.len()];
        let problem = Problem {
            targets: tg,
            active: &active,
            free,
            replications: reps,
            search_replications: search,
        };
        profile(&problem, x_hat, &values(x_hat), &eval)
    }

    fn log_half_width(i: &ParamInterval) -> f64 {
        (i.hi / i.lo).ln() / 2.0
    }

    #[test]
    fn one_target_gives_its_precision_through_the_model() {
        // y = 2 theta, measured 4 +- 0.2: theta = 2, sigma = 0.05 / sqrt(3)
        // in log; the 95% interval is theta exp(+-1.96 sigma), exactly (the
        // model is linear in the logs, so the secant lands on it).
        let tg = targets("a,4,0.2\n");
        let free = [param("theta")];
        let iv = run(&tg, &free, &[2.0], 0.0, 3, 1, |x| vec![2.0 * x[0]]);
        let p = &iv.params[0];
        let sigma = 0.05 / 3f64.sqrt();
        let want = 1.959964 * sigma;
        assert!(p.lo < 2.0 && 2.0 < p.hi, "{p:?}");
        assert!((p.hi.ln() - 2f64.ln() - want).abs() < 1e-3 * want, "{p:?}");
        assert!((2f64.ln() - p.lo.ln() - want).abs() < 1e-3 * want, "{p:?}");
        assert_eq!(iv.dof, 0);
        assert_eq!(iv.scale, 1.0);
        // A looser figure gives a proportionally wider interval.
        let loose = run(&targets("a,4,0.8\n"), &free, &[2.0], 0.0, 3, 1, |x| {
            vec![2.0 * x[0]]
        });
        let ratio = log_half_width(&loose.params[0]) / log_half_width(p);
        assert!((ratio - 4.0).abs() < 0.01, "{ratio}");
        // A steeper model pins the parameter tighter: y = theta^2 halves it.
        let steep = run(&tg, &free, &[2.0], 0.0, 3, 1, |x| vec![x[0] * x[0]]);
        let ratio = log_half_width(&steep.params[0]) / log_half_width(p);
        assert!((ratio - 0.5).abs() < 0.01, "{ratio}");
    }

    #[test]
    fn simulation_noise_widens_it_less_with_more_search_replications() {
        let tg = targets("a,4,0.0001\n");
        let free = [param("theta")];
        let f = |x: &[f64]| vec![2.0 * x[0]];
        let one = run(&tg, &free, &[2.0], 0.1, 8, 1, f);
        let four = run(&tg, &free, &[2.0], 0.1, 8, 4, f);
        // The noise the replications show, over sqrt(search replications).
        let noise = one.targets[0].noise;
        assert!((0.05..0.2).contains(&noise), "{noise}");
        let w1 = log_half_width(&one.params[0]);
        let w4 = log_half_width(&four.params[0]);
        assert!((w1 / (1.959964 * noise) - 1.0).abs() < 0.01, "{w1} {noise}");
        assert!((w1 / w4 - 2.0).abs() < 0.01, "{w1} {w4}");
        // Without noise or rounding the interval closes on the value.
        let exact = run(&tg, &free, &[2.0], 0.0, 8, 1, f);
        assert!(log_half_width(&exact.params[0]) < 1e-4);
    }

    #[test]
    fn the_other_parameters_are_refitted_along_the_profile() {
        // y1 = a b, y2 = b, equal precision: holding b fixed a is pinned to
        // +-1.96 sigma, but the profile lets b follow, and then
        // var(ln a) = 2 sigma^2: sqrt(2) wider. b is pinned by y2 alone
        // (y1 follows through a): +-1.96 sigma.
        let tg = targets("y1,6,0.3\ny2,3,0.15\n");
        let free = [param("a"), param("b")];
        let iv = run(&tg, &free, &[2.0, 3.0], 0.0, 3, 1, |x| {
            vec![x[0] * x[1], x[1]]
        });
        let sigma = 0.05 / 3f64.sqrt();
        let a = log_half_width(&iv.params[0]) / (1.959964 * sigma);
        let b = log_half_width(&iv.params[1]) / (1.959964 * sigma);
        assert!((a - 2f64.sqrt()).abs() < 0.01, "{a}");
        assert!((b - 1.0).abs() < 0.01, "{b}");
        assert_eq!(iv.params[1].pinned_by, Some(1));
    }

    #[test]
    fn nonlinear_ends_and_unmoved_parameters_and_bounds() {
        // y = 1 / (1 - theta / 10) (a queue near saturation), measured 2 +- 0.2:
        // theta = 5. The simulated ends follow the curve, not the tangent:
        // the interval is lopsided, and each end meets the threshold.
        let tg = targets("q,2,0.2\n");
        let free = [param("theta"), param("idle")];
        let f = |x: &[f64]| vec![1.0 / (1.0 - (x[0] / 10.0).min(0.999))];
        let iv = run(&tg, &free, &[5.0, 1.0], 0.0, 3, 1, f);
        let p = &iv.params[0];
        let sigma = 0.1 / 3f64.sqrt();
        for end in [p.lo, p.hi] {
            let z = f(&[end])[0].ln() - 2f64.ln();
            assert!(
                ((z / sigma).powi(2) / iv.threshold - 1.0).abs() < 0.05,
                "{p:?}"
            );
        }
        assert!(p.hi - 5.0 < 5.0 - p.lo, "{p:?}");
        // A parameter no target moves keeps its calibration bounds.
        let idle = &iv.params[1];
        assert!(!idle.identified);
        assert_eq!((idle.lo, idle.hi), (0.01, 100.0));
        // A parameter whose target allows anything up to its bound stops there.
        let wide = targets("q,2,0.2\n");
        let flat = |x: &[f64]| vec![2.0 * (x[0] / 5.0).powf(0.01)];
        let iv = run(&wide, &free[..1], &[5.0], 0.0, 3, 1, flat);
        assert!(
            iv.params[0].hi_at_bound && iv.params[0].hi == 100.0,
            "{:?}",
            iv.params[0]
        );
    }

    #[test]
    fn targets_that_disagree_widen_the_threshold() {
        // Two figures of one parameter that differ by far more than their
        // precision: the reduced chi-square scales the threshold up.
        let tg = targets("a,4,0.01\nb,5,0.01\n");
        let free = [param("theta")];
        let iv = run(&tg, &free, &[2.236], 0.0, 3, 1, |x| {
            vec![2.0 * x[0], 2.0 * x[0]]
        });
        assert_eq!(iv.dof, 1);
        assert!(iv.scale > 100.0, "{}", iv.scale);
        assert!((iv.threshold / iv.scale - 3.8415).abs() < 1e-3);
    }
}
