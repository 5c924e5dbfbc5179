//! Probability distributions used by models, built once and sampled often.
//!
//! Every distribution samples `f64` in the caller's unit (seconds for
//! durations). Sampling goes through `rand_distr`; only the parameter
//! conversions (median/p95 to lognormal mu/sigma, mean/sd to lognormal) are
//! ours.

use rand::Rng;
use rand::RngExt;
use rand_distr::{Distribution, Exp, Gamma, LogNormal, Normal};

/// z-score of the 95th percentile of the standard normal.
pub const Z95: f64 = 1.644_853_626_951_472_2;

#[derive(Clone, Debug, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Dist {
    Constant(f64),
    Exponential {
        mean: f64,
        inner: Exp<f64>,
    },
    LogNormal {
        mu: f64,
        sigma: f64,
        inner: LogNormal<f64>,
    },
    Gamma {
        shape: f64,
        scale: f64,
        inner: Gamma<f64>,
    },
    /// Normal truncated to `[min, max]` by rejection (falls back to clamping
    /// after 64 rejections, which only happens for nonsensical bounds).
    TruncNormal {
        mean: f64,
        sd: f64,
        min: f64,
        max: f64,
        inner: Normal<f64>,
    },
    Uniform {
        min: f64,
        max: f64,
    },
    /// Each value equally likely.
    Empirical(Vec<f64>),
}

/// Why a distribution's parameters are invalid.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct DistError(pub String);

fn err<T>(m: impl Into<String>) -> Result<T, DistError> {
    Err(DistError(m.into()))
}

impl Dist {
    pub fn constant(v: f64) -> Result<Dist, DistError> {
        if !v.is_finite() {
            return err("value must be finite");
        }
        Ok(Dist::Constant(v))
    }
    pub fn exponential(mean: f64) -> Result<Dist, DistError> {
        if !(mean > 0.0 && mean.is_finite()) {
            return err(format!("mean must be > 0, got {mean}"));
        }
        Ok(Dist::Exponential {
            mean,
            inner: Exp::new(1.0 / mean).map_err(|e| DistError(e.to_string()))?,
        })
    }
    /// Lognormal from its median and 95th percentile.
    pub fn lognormal_median_p95(median: f64, p95: f64) -> Result<Dist, DistError> {
        if !(median > 0.0) {
            return err(format!("median must be > 0, got {median}"));
        }
        if !(p95 > median) {
            return err(format!(
                "p95 ({p95}) must be greater than the median ({median})"
            ));
        }
        let mu = median.ln();
        let sigma = (p95 / median).ln() / Z95;
        Self::lognormal_mu_sigma(mu, sigma)
    }
    /// Lognormal from its mean and standard deviation.
    pub fn lognormal_mean_sd(mean: f64, sd: f64) -> Result<Dist, DistError> {
        if !(mean > 0.0) || !(sd > 0.0) {
            return err(format!("mean and sd must be > 0, got mean {mean}, sd {sd}"));
        }
        let s2 = (1.0 + (sd / mean).powi(2)).ln();
        Self::lognormal_mu_sigma(mean.ln() - s2 / 2.0, s2.sqrt())
    }
    fn lognormal_mu_sigma(mu: f64, sigma: f64) -> Result<Dist, DistError> {
        let inner = LogNormal::new(mu, sigma).map_err(|e| DistError(e.to_string()))?;
        Ok(Dist::LogNormal { mu, sigma, inner })
    }
    /// Gamma from shape and mean (scale = mean / shape).
    pub fn gamma_shape_mean(shape: f64, mean: f64) -> Result<Dist, DistError> {
        if !(shape > 0.0) || !(mean > 0.0) {
            return err(format!(
                "shape and mean must be > 0, got shape {shape}, mean {mean}"
            ));
        }
        let scale = mean / shape;
        let inner = Gamma::new(shape, scale).map_err(|e| DistError(e.to_string()))?;
        Ok(Dist::Gamma {
            shape,
            scale,
            inner,
        })
    }
    pub fn truncated_normal(mean: f64, sd: f64, min: f64, max: f64) -> Result<Dist, DistError> {
        if !(sd >= 0.0) || !sd.is_finite() {
            return err(format!("sd must be >= 0, got {sd}"));
        }
        if !(min <= max) {
            return err(format!("min ({min}) must not exceed max ({max})"));
        }
        let inner = Normal::new(mean, sd).map_err(|e| DistError(e.to_string()))?;
        Ok(Dist::TruncNormal {
            mean,
            sd,
            min,
            max,
            inner,
        })
    }
    pub fn uniform(min: f64, max: f64) -> Result<Dist, DistError> {
        if !(min <= max) || !min.is_finite() || !max.is_finite() {
            return err(format!("min ({min}) must not exceed max ({max})"));
        }
        Ok(Dist::Uniform { min, max })
    }
    pub fn empirical(values: Vec<f64>) -> Result<Dist, DistError> {
        if values.is_empty() {
            return err("an empirical distribution needs at least one value");
        }
        if values.iter().any(|v| !v.is_finite()) {
            return err("empirical values must be finite");
        }
        Ok(Dist::Empirical(values))
    }

    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        match self {
            Dist::Constant(v) => *v,
            Dist::Exponential { inner, .. } => inner.sample(rng),
            Dist::LogNormal { inner, .. } => inner.sample(rng),
            Dist::Gamma { inner, .. } => inner.sample(rng),
            Dist::TruncNormal {
                min, max, inner, ..
            } => {
                for _ in 0..64 {
                    let x = inner.sample(rng);
                    if x >= *min && x <= *max {
                        return x;
                    }
                }
                inner.sample(rng).clamp(*min, *max)
            }
            Dist::Uniform { min, max } => {
                if min == max {
                    *min
                } else {
                    rng.random_range(*min..*max)
                }
            }
            Dist::Empirical(v) => v[rng.random_range(0..v.len())],
        }
    }

    /// The distribution's mean (for a truncated normal, of the untruncated one).
    pub fn mean(&self) -> f64 {
        match self {
            Dist::Constant(v) => *v,
            Dist::Exponential { mean, .. } => *mean,
            Dist::LogNormal { mu, sigma, .. } => (mu + sigma * sigma / 2.0).exp(),
            Dist::Gamma { shape, scale, .. } => shape * scale,
            Dist::TruncNormal { mean, .. } => *mean,
            Dist::Uniform { min, max } => (min + max) / 2.0,
            Dist::Empirical(v) => v.iter().sum::<f64>() / v.len() as f64,
        }
    }

    /// Scale every value by `k` (used to turn a rate into its mean gap, or by
    /// calibration to scale costs).
    pub fn scaled(&self, k: f64) -> Dist {
        match self {
            Dist::Constant(v) => Dist::Constant(v * k),
            Dist::Exponential { mean, .. } => Dist::exponential(mean * k).expect("scaled positive"),
            Dist::LogNormal { mu, sigma, .. } => {
                Dist::lognormal_mu_sigma(mu + k.ln(), *sigma).expect("valid")
            }
            Dist::Gamma { shape, scale, .. } => {
                Dist::gamma_shape_mean(*shape, shape * scale * k).expect("valid")
            }
            Dist::TruncNormal {
                mean, sd, min, max, ..
            } => Dist::truncated_normal(mean * k, sd * k, min * k, max * k).expect("valid"),
            Dist::Uniform { min, max } => Dist::Uniform {
                min: min * k,
                max: max * k,
            },
            Dist::Empirical(v) => Dist::Empirical(v.iter().map(|x| x * k).collect()),
        }
    }
}

impl PartialEq for Dist {
    fn eq(&self, other: &Dist) -> bool {
        format!("{self:?}") == format!("{other:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rng::Streams;

    fn sample_mean(d: &Dist, n: usize) -> (f64, Vec<f64>) {
        let mut r = Streams::new(1).stream("dist-test", 0);
        let mut v: Vec<f64> = (0..n).map(|_| d.sample(&mut r)).collect();
        let m = v.iter().sum::<f64>() / n as f64;
        v.sort_by(f64::total_cmp);
        (m, v)
    }

    #[test]
    fn lognormal_median_and_p95_match_parameters() {
        let d = Dist::lognormal_median_p95(90.0, 360.0).unwrap();
        let (_, v) = sample_mean(&d, 200_000);
        let med = v[v.len() / 2];
        let p95 = v[v.len() * 95 / 100];
        assert!((med / 90.0 - 1.0).abs() < 0.02, "median {med}");
        assert!((p95 / 360.0 - 1.0).abs() < 0.03, "p95 {p95}");
    }

    #[test]
    fn means_match() {
        for d in [
            Dist::exponential(5.0).unwrap(),
            Dist::lognormal_mean_sd(10.0, 4.0).unwrap(),
            Dist::gamma_shape_mean(2.0, 7.0).unwrap(),
            Dist::uniform(2.0, 4.0).unwrap(),
            Dist::empirical(vec![1.0, 2.0, 6.0]).unwrap(),
        ] {
            let (m, _) = sample_mean(&d, 200_000);
            assert!(
                (m / d.mean() - 1.0).abs() < 0.02,
                "{d:?}: {m} vs {}",
                d.mean()
            );
        }
    }

    #[test]
    fn truncated_normal_stays_in_bounds() {
        let d = Dist::truncated_normal(0.0, 10.0, -1.0, 2.0).unwrap();
        let (_, v) = sample_mean(&d, 10_000);
        assert!(v[0] >= -1.0 && v[v.len() - 1] <= 2.0);
    }

    #[test]
    fn bad_parameters_are_rejected() {
        assert!(Dist::lognormal_median_p95(90.0, 60.0).is_err());
        assert!(Dist::exponential(0.0).is_err());
        assert!(Dist::uniform(3.0, 1.0).is_err());
        assert!(Dist::empirical(vec![]).is_err());
    }
}
