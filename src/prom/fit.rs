//! Statistics the importer needs: a lognormal fitted to a Prometheus
//! histogram's buckets, the bucket that holds a quantile, and weighted
//! moments.

use crate::calibrate::nelder_mead::{Settings, minimize};
use statrs::function::erf::erfc;

/// Standard normal CDF.
fn phi(z: f64) -> f64 {
    0.5 * erfc(-z / std::f64::consts::SQRT_2)
}

/// z of the 95th percentile of the standard normal.
pub const Z95: f64 = 1.644_853_626_951_472_2;

/// A lognormal fitted to interval-censored counts.
#[derive(Clone, Debug, PartialEq)]
pub struct LognormalFit {
    pub mu: f64,
    pub sigma: f64,
    /// Observations the fit used.
    pub n: f64,
    /// Per bucket (as given): observed share and the fitted one.
    pub shares: Vec<(f64, f64, f64)>,
}

impl LognormalFit {
    pub fn median(&self) -> f64 {
        self.mu.exp()
    }
    pub fn p95(&self) -> f64 {
        (self.mu + Z95 * self.sigma).exp()
    }
    pub fn mean(&self) -> f64 {
        (self.mu + self.sigma * self.sigma / 2.0).exp()
    }
}

/// Lower and upper edge of each bucket of cumulative `(le, count)` pairs
/// (ascending; the last may be `+Inf`), with the count inside it.
fn bins(cumulative: &[(f64, f64)]) -> Vec<(f64, f64, f64)> {
    let mut out = Vec::with_capacity(cumulative.len());
    let (mut lo, mut below) = (0.0, 0.0);
    for &(le, c) in cumulative {
        out.push((lo, le, (c - below).max(0.0)));
        lo = le;
        below = c.max(below);
    }
    out
}

/// Maximum-likelihood lognormal for observations known only by the bucket
/// they fell in (Prometheus's cumulative `le` counts, ascending, `+Inf`
/// last). `None` with no observations, or with all of them in the lowest
/// or the highest bucket (nothing then bounds the spread).
pub fn lognormal_from_buckets(cumulative: &[(f64, f64)]) -> Option<LognormalFit> {
    let b = bins(cumulative);
    let n: f64 = b.iter().map(|x| x.2).sum();
    if !(n > 0.0) {
        return None;
    }
    let used: Vec<&(f64, f64, f64)> = b.iter().filter(|x| x.2 > 0.0).collect();
    if used.len() == 1 && (used[0].0 == 0.0 || used[0].1.is_infinite()) {
        return None;
    }
    let cdf = |x: f64, mu: f64, s: f64| -> f64 {
        if x <= 0.0 {
            0.0
        } else if x.is_infinite() {
            1.0
        } else {
            phi((x.ln() - mu) / s)
        }
    };
    // Search box: median 1 ms .. 30 h, sigma 0.01 .. 5 (log scale).
    let (mu_lo, mu_hi) = (1e-3f64.ln(), 1.08e5f64.ln());
    let (ls_lo, ls_hi) = (0.01f64.ln(), 5.0f64.ln());
    let unbox = |x: &[f64]| {
        (
            mu_lo + x[0] * (mu_hi - mu_lo),
            (ls_lo + x[1] * (ls_hi - ls_lo)).exp(),
        )
    };
    let nll = |x: &[f64]| -> f64 {
        let (mu, s) = unbox(x);
        -b.iter()
            .filter(|x| x.2 > 0.0)
            .map(|&(lo, hi, k)| k * (cdf(hi, mu, s) - cdf(lo, mu, s)).max(1e-300).ln())
            .sum::<f64>()
    };
    // Start at the bucket that holds the median, sigma 1.
    let mut acc = 0.0;
    let mid = b
        .iter()
        .find(|x| {
            acc += x.2;
            acc >= n / 2.0
        })
        .map_or(1.0, |&(lo, hi, _)| {
            if hi.is_infinite() {
                lo.max(1e-3) * 2.0
            } else if lo == 0.0 {
                hi / 2.0
            } else {
                (lo * hi).sqrt()
            }
        });
    let x0 = [
        ((mid.ln() - mu_lo) / (mu_hi - mu_lo)).clamp(0.0, 1.0),
        ((1.0f64.ln() - ls_lo) / (ls_hi - ls_lo)).clamp(0.0, 1.0),
    ];
    let settings = Settings {
        max_evals: 2000,
        f_tol: 1e-10,
        x_tol: 1e-7,
        step: vec![0.1],
        restarts: 3,
    };
    let m = minimize(
        |xs: &[Vec<f64>]| xs.iter().map(|x| nll(x)).collect(),
        &x0,
        &settings,
    );
    let (mu, sigma) = unbox(&m.x);
    let shares = b
        .iter()
        .map(|&(lo, hi, k)| (hi, k / n, cdf(hi, mu, sigma) - cdf(lo, mu, sigma)))
        .collect();
    Some(LognormalFit {
        mu,
        sigma,
        n,
        shares,
    })
}

/// The bucket `(lower, upper]` that holds the `q`-quantile of cumulative
/// `(le, count)` pairs, and Prometheus's `histogram_quantile` estimate
/// (linear inside the bucket). `None` without observations.
pub fn bucket_quantile(cumulative: &[(f64, f64)], q: f64) -> Option<(f64, f64, f64)> {
    let total = cumulative.last()?.1;
    if !(total > 0.0) {
        return None;
    }
    let rank = q * total;
    let (mut lo, mut below) = (0.0, 0.0);
    for &(le, c) in cumulative {
        if c >= rank && c > below {
            let est = if le.is_infinite() {
                lo
            } else {
                lo + (le - lo) * (rank - below) / (c - below)
            };
            return Some((lo, le, est));
        }
        lo = le;
        below = c;
    }
    None
}

/// Weighted mean and standard deviation of `(value, weight)` pairs.
pub fn weighted_moments(xs: &[(f64, f64)]) -> Option<(f64, f64)> {
    let w: f64 = xs.iter().map(|x| x.1).sum();
    if !(w > 0.0) {
        return None;
    }
    let mean = xs.iter().map(|(x, k)| x * k).sum::<f64>() / w;
    let var = xs.iter().map(|(x, k)| k * (x - mean).powi(2)).sum::<f64>() / w;
    Some((mean, var.max(0.0).sqrt()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Exact bucket counts of a known lognormal are fitted back.
    #[test]
    fn lognormal_recovers_its_parameters_from_coder_build_buckets() {
        let (mu, s) = (120f64.ln(), 0.7);
        let n = 10_000.0;
        let bounds = crate::model::coder_metrics::BUILD_TIME_BOUNDS_S;
        let mut cum: Vec<(f64, f64)> = bounds
            .iter()
            .map(|&le| (le, n * phi((le.ln() - mu) / s)))
            .collect();
        cum.push((f64::INFINITY, n));
        let f = lognormal_from_buckets(&cum).unwrap();
        assert!((f.median() - 120.0).abs() < 0.5, "{}", f.median());
        assert!((f.sigma - 0.7).abs() < 0.005, "{}", f.sigma);
        assert!(lognormal_from_buckets(&[(1.0, 0.0), (f64::INFINITY, 0.0)]).is_none());
        assert!(lognormal_from_buckets(&[(1.0, 5.0), (f64::INFINITY, 5.0)]).is_none());
    }

    #[test]
    fn quantile_bucket_and_interpolation() {
        let cum = [(1.0, 10.0), (5.0, 90.0), (f64::INFINITY, 100.0)];
        assert_eq!(bucket_quantile(&cum, 0.5), Some((1.0, 5.0, 3.0)));
        assert_eq!(
            bucket_quantile(&cum, 0.99).map(|x| x.1),
            Some(f64::INFINITY)
        );
        assert_eq!(bucket_quantile(&[(1.0, 0.0)], 0.5), None);
    }
}
