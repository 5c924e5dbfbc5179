//! Nelder-Mead simplex minimisation inside the unit box `[0, 1]^n`.
//!
//! Hand-written because the maintained crate (argmin) needs `argmin-math`'s
//! `vec` feature for `Vec<f64>` parameters, and that feature depends on
//! rand 0.9 while capsim uses rand 0.10: the project keeps exactly one
//! `rand` (`cargo tree -d`).
//!
//! Coefficients are the dimension-adaptive ones of Gao and Han (2012,
//! "Implementing the Nelder-Mead simplex algorithm with adaptive
//! parameters"), which equal the classic 1, 2, 1/2, 1/2 for two dimensions.
//! Trial points are projected onto the box. The function is given whole
//! batches (the initial simplex, a shrink) so that a caller can evaluate
//! them in parallel; the sequence of points is deterministic.

/// When to stop.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Function evaluations at most (a batch of k points counts k).
    pub max_evals: usize,
    /// Stop when the best and worst vertex values differ by at most this.
    pub f_tol: f64,
    /// Or when every vertex is within this (max-norm) of the best one.
    pub x_tol: f64,
    /// Edge of the initial simplex along each axis (one value for all, or one per axis).
    pub step: Vec<f64>,
    /// After converging, start again from the best point with a fresh
    /// simplex of a quarter of `step` at most this many times, while a restart
    /// improves the best value by more than `f_tol`. A simplex that has
    /// collapsed across a narrow valley stalls; a fresh one moves on.
    pub restarts: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_evals: 200,
            f_tol: 1e-8,
            x_tol: 1e-4,
            step: vec![0.1],
            restarts: 2,
        }
    }
}

/// The best point found.
#[derive(Clone, Debug, PartialEq)]
pub struct Minimum {
    pub x: Vec<f64>,
    pub f: f64,
    pub evals: usize,
    /// Stopped by a tolerance (not by `max_evals`).
    pub converged: bool,
}

fn clamp01(x: Vec<f64>) -> Vec<f64> {
    x.into_iter().map(|v| v.clamp(0.0, 1.0)).collect()
}

/// `a + t (b - a)`, projected onto the box.
fn toward(a: &[f64], b: &[f64], t: f64) -> Vec<f64> {
    clamp01(a.iter().zip(b).map(|(a, b)| a + t * (b - a)).collect())
}

/// The initial simplex: `x0` (projected onto the box) and one point
/// `step[i]` away along each axis `i` (backwards where forwards leaves the
/// box). A single `step` serves every axis.
pub fn initial_simplex(x0: &[f64], step: &[f64]) -> Vec<Vec<f64>> {
    let x0 = clamp01(x0.to_vec());
    let mut pts = vec![x0.clone()];
    for i in 0..x0.len() {
        let step = step[i.min(step.len() - 1)];
        let mut p = x0.clone();
        p[i] = if p[i] + step <= 1.0 {
            p[i] + step
        } else {
            p[i] - step
        };
        pts.push(p);
    }
    pts
}

/// Minimise `f` from `x0` (each coordinate in `[0, 1]`). `f` evaluates a
/// batch of points and returns one value per point; a non-finite value is
/// treated as worse than any finite one.
pub fn minimize<F>(mut f: F, x0: &[f64], s: &Settings) -> Minimum
where
    F: FnMut(&[Vec<f64>]) -> Vec<f64>,
{
    let n = x0.len();
    let clean = |v: f64| if v.is_nan() { f64::INFINITY } else { v };
    let mut evals = 0usize;
    let mut eval_batch = |pts: &[Vec<f64>], evals: &mut usize| -> Vec<f64> {
        *evals += pts.len();
        let out = f(pts);
        assert_eq!(out.len(), pts.len(), "one value per point");
        out.into_iter().map(clean).collect()
    };
    let x0 = clamp01(x0.to_vec());
    if n == 0 {
        let v = eval_batch(std::slice::from_ref(&x0), &mut evals)[0];
        return Minimum {
            x: x0,
            f: v,
            evals,
            converged: true,
        };
    }
    let (alpha, beta, gamma, delta) = if n >= 2 {
        let nf = n as f64;
        (1.0, 1.0 + 2.0 / nf, 0.75 - 1.0 / (2.0 * nf), 1.0 - 1.0 / nf)
    } else {
        (1.0, 2.0, 0.5, 0.5)
    };
    let pts = initial_simplex(&x0, &s.step);
    let vals = eval_batch(&pts, &mut evals);
    let mut simplex: Vec<(Vec<f64>, f64)> = pts.into_iter().zip(vals).collect();
    let mut converged = false;
    let mut restarts = 0;
    let mut round_start = f64::INFINITY;
    loop {
        // Stable sort: ties keep their order, so the run is deterministic.
        simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
        let (best, worst) = (simplex[0].1, simplex[n].1);
        let x_spread = simplex
            .iter()
            .flat_map(|(p, _)| p.iter().zip(&simplex[0].0).map(|(a, b)| (a - b).abs()))
            .fold(0.0, f64::max);
        if (worst - best).abs() <= s.f_tol || x_spread <= s.x_tol {
            converged = true;
            let improved = round_start - best > s.f_tol;
            if restarts < s.restarts && improved && evals + n <= s.max_evals {
                restarts += 1;
                round_start = best;
                let x_best = simplex[0].0.clone();
                let quarter: Vec<f64> = s.step.iter().map(|v| v / 4.0).collect();
                let pts = initial_simplex(&x_best, &quarter);
                let vals = eval_batch(&pts[1..], &mut evals);
                simplex.truncate(1);
                simplex.extend(pts.into_iter().skip(1).zip(vals));
                converged = false;
                continue;
            }
            break;
        }
        if evals >= s.max_evals {
            break;
        }
        let mut c = vec![0.0; n];
        for (p, _) in &simplex[..n] {
            for (ci, pi) in c.iter_mut().zip(p) {
                *ci += pi / n as f64;
            }
        }
        let xw = simplex[n].0.clone();
        let xr = toward(&c, &xw, -alpha);
        let fr = eval_batch(std::slice::from_ref(&xr), &mut evals)[0];
        if fr < best {
            let xe = toward(&c, &xr, beta);
            let fe = eval_batch(std::slice::from_ref(&xe), &mut evals)[0];
            simplex[n] = if fe < fr { (xe, fe) } else { (xr, fr) };
            continue;
        }
        if fr < simplex[n - 1].1 {
            simplex[n] = (xr, fr);
            continue;
        }
        let (xc, fc, accept) = if fr < worst {
            let xc = toward(&c, &xr, gamma);
            let fc = eval_batch(std::slice::from_ref(&xc), &mut evals)[0];
            (xc, fc, fc <= fr)
        } else {
            let xc = toward(&c, &xw, gamma);
            let fc = eval_batch(std::slice::from_ref(&xc), &mut evals)[0];
            (xc, fc, fc < worst)
        };
        if accept {
            simplex[n] = (xc, fc);
            continue;
        }
        let x_best = simplex[0].0.clone();
        let shrunk: Vec<Vec<f64>> = simplex[1..]
            .iter()
            .map(|(p, _)| toward(&x_best, p, delta))
            .collect();
        let vals = eval_batch(&shrunk, &mut evals);
        for (slot, (p, v)) in simplex[1..].iter_mut().zip(shrunk.into_iter().zip(vals)) {
            *slot = (p, v);
        }
    }
    simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
    let (x, f) = simplex.swap_remove(0);
    Minimum {
        x,
        f,
        evals,
        converged,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn each(g: impl Fn(&[f64]) -> f64) -> impl FnMut(&[Vec<f64>]) -> Vec<f64> {
        move |pts| pts.iter().map(|p| g(p)).collect()
    }

    #[test]
    fn finds_the_minimum_of_a_quadratic_bowl() {
        let target = [0.2, 0.7, 0.45, 0.9, 0.33];
        let m = minimize(
            each(|x| {
                x.iter()
                    .zip(&target)
                    .enumerate()
                    .map(|(i, (a, b))| (i as f64 + 1.0) * (a - b).powi(2))
                    .sum()
            }),
            &[0.5; 5],
            &Settings {
                max_evals: 2000,
                f_tol: 1e-14,
                x_tol: 1e-7,
                step: vec![0.1],
                restarts: 0,
            },
        );
        assert!(m.converged);
        for (a, b) in m.x.iter().zip(&target) {
            assert!((a - b).abs() < 1e-4, "{:?}", m.x);
        }
    }

    #[test]
    fn rosenbrock_in_the_box() {
        // Rosenbrock's valley, minimum at (1, 1) mapped to (0.75, 0.75) of [-3, 1]^2.
        let m = minimize(
            each(|z| {
                let (x, y) = (z[0] * 4.0 - 2.0, z[1] * 4.0 - 2.0);
                (1.0 - x).powi(2) + 100.0 * (y - x * x).powi(2)
            }),
            &[0.3, 0.6],
            &Settings {
                max_evals: 5000,
                f_tol: 1e-16,
                x_tol: 1e-9,
                step: vec![0.1],
                restarts: 0,
            },
        );
        assert!(
            (m.x[0] - 0.75).abs() < 1e-3 && (m.x[1] - 0.75).abs() < 1e-3,
            "{m:?}"
        );
    }

    #[test]
    fn a_minimum_outside_the_box_ends_on_its_face() {
        let m = minimize(
            each(|x| (x[0] - 1.5).powi(2) + (x[1] - 0.4).powi(2)),
            &[0.5, 0.5],
            &Settings::default(),
        );
        assert!((m.x[0] - 1.0).abs() < 1e-3, "{m:?}");
        assert!((m.x[1] - 0.4).abs() < 1e-3, "{m:?}");
        assert!(m.x.iter().all(|v| (0.0..=1.0).contains(v)));
    }

    #[test]
    fn respects_the_budget_and_counts_batches() {
        let mut calls = 0usize;
        let m = minimize(
            |pts: &[Vec<f64>]| {
                calls += pts.len();
                pts.iter()
                    .map(|p| p.iter().map(|v| v.sin()).sum())
                    .collect()
            },
            &[0.5; 4],
            &Settings {
                max_evals: 30,
                f_tol: 0.0,
                x_tol: 0.0,
                step: vec![0.1],
                restarts: 0,
            },
        );
        assert!(!m.converged);
        assert_eq!(m.evals, calls);
        // The last step may be a shrink of n points past the budget.
        assert!(m.evals >= 30 && m.evals < 30 + 4 + 1, "{}", m.evals);
    }

    #[test]
    fn deterministic_and_nan_is_worst() {
        let g = |x: &[f64]| {
            if x[0] > 0.9 {
                f64::NAN
            } else {
                (x[0] - 0.8).powi(2) + (x[1] - 0.1).powi(2)
            }
        };
        let a = minimize(each(g), &[0.5, 0.5], &Settings::default());
        let b = minimize(each(g), &[0.5, 0.5], &Settings::default());
        assert_eq!(a, b);
        assert!((a.x[0] - 0.8).abs() < 1e-3, "{a:?}");
    }

    #[test]
    fn restarts_get_a_stalled_simplex_moving_and_steps_can_differ_by_axis() {
        // A long narrow valley along x = y: the classic simplex stalls across it.
        let g = |x: &[f64]| (x[0] - x[1]).powi(2) * 1e4 + (x[0] + x[1] - 1.6).powi(2);
        let settings = |restarts| Settings {
            max_evals: 400,
            f_tol: 1e-9,
            x_tol: 1e-3,
            step: vec![0.3, 0.05],
            restarts,
        };
        let without = minimize(each(g), &[0.1, 0.1], &settings(0));
        let with = minimize(each(g), &[0.1, 0.1], &settings(3));
        assert!(with.f <= without.f, "{with:?} vs {without:?}");
        assert!(
            (with.x[0] - 0.8).abs() < 0.01 && (with.x[1] - 0.8).abs() < 0.01,
            "{with:?}"
        );
        let pts = initial_simplex(&[0.5, 0.95], &[0.1, 0.2]);
        let want = [[0.5, 0.95], [0.6, 0.95], [0.5, 0.75]];
        for (p, w) in pts.iter().zip(want) {
            assert!(
                p.iter().zip(w).all(|(a, b)| (a - b).abs() < 1e-12),
                "{pts:?}"
            );
        }
    }

    #[test]
    fn one_dimension() {
        let m = minimize(each(|x| (x[0] - 0.25).abs()), &[0.9], &Settings::default());
        assert!((m.x[0] - 0.25).abs() < 1e-3, "{m:?}");
    }
}
