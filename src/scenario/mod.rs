//! Scenario files: parsing (`file`), `extends` chains and overrides (`load`),
//! and resolution into a validated [`Scenario`] with real units (`resolve`).
//!
//! Nothing below this module re-checks input: a `Scenario` is valid by
//! construction.

pub mod file;
pub mod load;
pub mod resolve;
pub mod source;
pub mod units;

use crate::engine::{Dist, SimTime};
use crate::model::params::ModelParams;
pub use load::{load, load_with_overrides};
use serde::Serialize;
pub use source::Location;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// A scenario input error, pointing at the file, line and field.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{location}: {}{message}", field.as_ref().map(|f| format!("{f}: ")).unwrap_or_default())]
pub struct ScenarioError {
    pub location: Location,
    /// Dotted path of the offending field, when there is one.
    pub field: Option<String>,
    pub message: String,
}

/// A validated scenario with real units.
#[derive(Clone, Debug, Serialize)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    /// The file it was loaded from (the child of any `extends` chain).
    pub path: Option<PathBuf>,
    /// SHA-256 of the text of every file in the `extends` chain and of any overrides.
    pub sha256: String,
    /// `abstract = true`: a base to extend, not a scenario to run.
    pub is_abstract: bool,
    pub model: ModelParams,
    pub prices_path: Option<PathBuf>,
    pub seed: u64,
    pub duration: SimTime,
    pub warmup: SimTime,
    pub bucket: SimTime,
    /// Time of day at t = 0.
    pub start_time_of_day: SimTime,
    pub deployment: Deployment,
    pub workload: Workload,
    pub slos: Vec<Slo>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Deployment {
    pub coderd: Coderd,
    /// External provisioner daemon groups (the built-in ones are implied by `coderd`).
    pub provisioner_groups: Vec<ProvisionerGroup>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Coderd {
    pub n_replicas: u32,
    pub vcpu_per_replica: f64,
    pub ram_bytes_per_replica: f64,
    /// Built-in provisioner daemons per replica (untagged).
    pub builtin_provisioners_per_replica: u32,
}

#[derive(Clone, Debug, Serialize)]
pub struct ProvisionerGroup {
    pub name: String,
    pub n_daemons: u32,
    pub tags: BTreeMap<String, String>,
    pub vcpu_per_daemon: f64,
    pub ram_bytes_per_daemon: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Workload {
    pub templates: Vec<Template>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Template {
    pub name: String,
    pub tags: BTreeMap<String, String>,
    /// Build duration, seconds.
    pub build_time_s: Dist,
    pub failure_probability: f64,
    pub builds: Option<Arrivals>,
    pub prebuilds: Option<Arrivals>,
}

/// An arrival process.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Arrivals {
    /// Poisson arrivals at a constant rate (events per second).
    Poisson { rate_per_s: f64 },
    /// Poisson arrivals whose rate is piecewise constant over the day:
    /// `(time of day in seconds, rate per second)` sorted by time; the last
    /// rate holds until the first point of the next day.
    Profile { points: Vec<(f64, f64)> },
}

impl Arrivals {
    /// Rate (per second) at `time_of_day_s`.
    pub fn rate_at(&self, time_of_day_s: f64) -> f64 {
        match self {
            Arrivals::Poisson { rate_per_s } => *rate_per_s,
            Arrivals::Profile { points } => {
                let i = points.partition_point(|(t, _)| *t <= time_of_day_s);
                if i == 0 {
                    points.last().map_or(0.0, |p| p.1)
                } else {
                    points[i - 1].1
                }
            }
        }
    }
    /// Seconds of day at which the rate next changes after `time_of_day_s`
    /// (`None` for a constant rate).
    pub fn next_change(&self, time_of_day_s: f64) -> Option<f64> {
        match self {
            Arrivals::Poisson { .. } => None,
            Arrivals::Profile { points } => {
                let i = points.partition_point(|(t, _)| *t <= time_of_day_s);
                Some(points.get(i).map_or(points[0].0 + 86_400.0, |p| p.0))
            }
        }
    }
    /// Mean rate over a day.
    pub fn mean_rate(&self) -> f64 {
        match self {
            Arrivals::Poisson { rate_per_s } => *rate_per_s,
            Arrivals::Profile { points } => {
                let mut total = 0.0;
                for (i, (t, r)) in points.iter().enumerate() {
                    let next = points.get(i + 1).map_or(points[0].0 + 86_400.0, |p| p.0);
                    total += r * (next - t);
                }
                total / 86_400.0
            }
        }
    }
    pub fn max_rate(&self) -> f64 {
        match self {
            Arrivals::Poisson { rate_per_s } => *rate_per_s,
            Arrivals::Profile { points } => points.iter().map(|p| p.1).fold(0.0, f64::max),
        }
    }
}

/// Direction of an SLO bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Bound {
    AtMost,
    AtLeast,
}

/// A service-level objective on one statistic of one metric.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Slo {
    pub name: String,
    pub metric: String,
    pub stat: String,
    pub labels: BTreeMap<String, String>,
    pub bound: Bound,
    /// Target in the metric's base unit (seconds, ratio, count).
    pub target: f64,
}
