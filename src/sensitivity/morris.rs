//! Morris elementary effects (Morris 1991; mu* of Campolongo, Cariboni and
//! Saltelli 2007): a global screening method that varies every factor over
//! its whole range and sees interactions, at `r (k + 1)` evaluations for
//! `k` factors and `r` trajectories.
//!
//! Factors live in the unit cube (0 = the low end of the range, 1 = the
//! high end) on a grid of `LEVELS` levels; a trajectory starts at a random
//! grid point and moves each factor once, in random order, by `DELTA` up
//! or down. A factor's elementary effect on a trajectory is the change in
//! the output divided by the step, in output units per whole range; its
//! `mu*` (mean absolute effect) ranks factors by importance, `sigma` (their
//! spread) says how much the effect depends on the other factors
//! (interactions or non-linearity). The interval on `mu*` is a percentile
//! bootstrap over trajectories. No maintained Rust crate implements the
//! method (the Python SALib is the reference); this follows its design.

use crate::engine::rng::Streams;
use rand::RngExt;
use rand::seq::SliceRandom;
use serde::Serialize;

/// Grid levels per factor (the usual choice).
pub const LEVELS: u32 = 4;
/// The step: `LEVELS / (2 (LEVELS - 1))` = 2/3, so every level is reached
/// with equal probability.
pub const DELTA: f64 = LEVELS as f64 / (2.0 * (LEVELS as f64 - 1.0));
/// Bootstrap resamples for the interval on `mu*`.
pub const BOOTSTRAP: usize = 1000;

/// One trajectory: `k + 1` points of the unit cube, and which factor moved
/// between point `j` and `j + 1` and by how much (`+DELTA` or `-DELTA`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Trajectory {
    pub points: Vec<Vec<f64>>,
    pub moves: Vec<(usize, f64)>,
}

/// `r` trajectories over `k` factors, drawn from `seed` (the same every time).
pub fn trajectories(k: usize, r: usize, seed: u64) -> Vec<Trajectory> {
    let mut rng = Streams::new(seed).stream("morris", 0);
    let step = 1.0 / (LEVELS as f64 - 1.0);
    (0..r)
        .map(|_| {
            // Start on the lower half of the grid so that +DELTA stays inside;
            // a factor that moves down starts DELTA higher.
            let mut x: Vec<f64> = (0..k)
                .map(|_| rng.random_range(0..LEVELS / 2) as f64 * step)
                .collect();
            let up: Vec<bool> = (0..k).map(|_| rng.random_bool(0.5)).collect();
            for i in 0..k {
                if !up[i] {
                    x[i] += DELTA;
                }
            }
            let mut order: Vec<usize> = (0..k).collect();
            order.shuffle(&mut rng);
            let mut points = vec![x.clone()];
            let mut moves = Vec::with_capacity(k);
            for i in order {
                let d = if up[i] { DELTA } else { -DELTA };
                x[i] += d;
                points.push(x.clone());
                moves.push((i, d));
            }
            Trajectory { points, moves }
        })
        .collect()
}

/// A factor's elementary effects summarised.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Index {
    pub factor: usize,
    /// Mean of the effects.
    pub mu: f64,
    /// Mean of their absolute values: the importance.
    pub mu_star: f64,
    /// 95% percentile-bootstrap interval on `mu_star`.
    pub mu_star_ci: (f64, f64),
    /// Standard deviation of the effects.
    pub sigma: f64,
    /// Trajectories the effects come from.
    pub r: usize,
}

/// The Morris indices of each factor from the output `y[t][j]` at point `j`
/// of trajectory `t` (`None` where the output had no value: that effect
/// is left out). `seed` draws the bootstrap resamples.
pub fn indices(trajs: &[Trajectory], y: &[Vec<Option<f64>>], k: usize, seed: u64) -> Vec<Index> {
    // effects[i][t]: factor i's effect on trajectory t.
    let mut effects: Vec<Vec<Option<f64>>> = vec![vec![None; trajs.len()]; k];
    for (t, tr) in trajs.iter().enumerate() {
        for (j, &(i, d)) in tr.moves.iter().enumerate() {
            if let (Some(a), Some(b)) = (y[t][j], y[t][j + 1]) {
                effects[i][t] = Some((b - a) / d);
            }
        }
    }
    let mut rng = Streams::new(seed).stream("morris-bootstrap", 0);
    let n = trajs.len();
    // One set of resamples for every factor (trajectories are the unit).
    let resamples: Vec<Vec<usize>> = (0..BOOTSTRAP)
        .map(|_| (0..n).map(|_| rng.random_range(0..n.max(1))).collect())
        .collect();
    (0..k)
        .map(|i| {
            let ee: Vec<f64> = effects[i].iter().flatten().copied().collect();
            let m = ee.len().max(1) as f64;
            let mu = ee.iter().sum::<f64>() / m;
            let mu_star = ee.iter().map(|e| e.abs()).sum::<f64>() / m;
            let sigma = if ee.len() > 1 {
                (ee.iter().map(|e| (e - mu).powi(2)).sum::<f64>() / (ee.len() - 1) as f64).sqrt()
            } else {
                0.0
            };
            let mut boot: Vec<f64> = resamples
                .iter()
                .filter_map(|idx| {
                    let xs: Vec<f64> = idx.iter().filter_map(|&t| effects[i][t]).collect();
                    (!xs.is_empty())
                        .then(|| xs.iter().map(|e| e.abs()).sum::<f64>() / xs.len() as f64)
                })
                .collect();
            boot.sort_by(f64::total_cmp);
            let q = |p: f64| {
                if boot.is_empty() {
                    f64::NAN
                } else {
                    boot[((boot.len() - 1) as f64 * p).round() as usize]
                }
            };
            Index {
                factor: i,
                mu,
                mu_star,
                mu_star_ci: (q(0.025), q(0.975)),
                sigma,
                r: ee.len(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trajectories_stay_in_the_cube_and_move_each_factor_once() {
        let ts = trajectories(5, 20, 3);
        assert_eq!(ts, trajectories(5, 20, 3));
        for t in &ts {
            assert_eq!(t.points.len(), 6);
            let mut moved: Vec<usize> = t.moves.iter().map(|m| m.0).collect();
            moved.sort();
            assert_eq!(moved, vec![0, 1, 2, 3, 4]);
            for p in &t.points {
                assert!(
                    p.iter().all(|x| (-1e-12..=1.0 + 1e-12).contains(x)),
                    "{p:?}"
                );
            }
        }
    }

    /// `f(x) = 5 x1 + 2 x2^2 + 0.2 x3 + 0 x4` on the unit cube: the
    /// elementary effect of x1 is 5 everywhere, of x3 0.2, of x4 0, and of
    /// x2 `2 ((x + 2/3)^2 - x^2) / (2/3)` = 4/3 or 8/3 on the two starting
    /// levels, so its mu* is their mean, 2 (the mean slope of 2 x^2 over
    /// [0, 1]). The method ranks x1 first, and each mu* is within its
    /// interval of the analytic value.
    #[test]
    fn an_analytic_function_is_ranked_and_measured() {
        let f = |x: &[f64]| 5.0 * x[0] + 2.0 * x[1] * x[1] + 0.2 * x[2];
        let ts = trajectories(4, 40, 11);
        let y: Vec<Vec<Option<f64>>> = ts
            .iter()
            .map(|t| t.points.iter().map(|p| Some(f(p))).collect())
            .collect();
        let ix = indices(&ts, &y, 4, 11);
        let mut rank: Vec<&Index> = ix.iter().collect();
        rank.sort_by(|a, b| b.mu_star.total_cmp(&a.mu_star));
        assert_eq!(
            rank.iter().map(|i| i.factor).collect::<Vec<_>>(),
            [0, 1, 2, 3]
        );
        for (i, want) in [(0, 5.0), (1, 2.0), (2, 0.2), (3, 0.0)] {
            let (lo, hi) = ix[i].mu_star_ci;
            assert!(
                lo - 1e-9 <= want && want <= hi + 1e-9,
                "x{}: mu* {} [{lo}, {hi}] against {want}",
                i + 1,
                ix[i].mu_star
            );
        }
        // Linear factors have no spread; the square has some.
        assert!(ix[0].sigma < 1e-9 && ix[1].sigma > 0.1);
    }
}
