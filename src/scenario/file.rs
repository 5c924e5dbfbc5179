//! The scenario file as written: a serde mirror of the TOML text.
//!
//! Every struct denies unknown fields, so a typo is an error that names the
//! field. Every field is optional here because a file may `extends` another
//! and set only what it changes; `resolve` decides what is required.

use super::units::Quantity;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// Path of a base scenario (relative to this file) whose fields this one overrides.
    pub extends: Option<String>,
    /// A base that is only ever extended: `batch` skips it.
    #[serde(rename = "abstract")]
    pub is_abstract: Option<bool>,
    pub name: Option<String>,
    pub description: Option<String>,
    /// Path of the model parameter file (relative to this file).
    pub model: Option<String>,
    /// Path of the price file (relative to this file).
    pub prices: Option<String>,
    pub seed: Option<u64>,
    pub duration: Option<Quantity>,
    pub warmup: Option<Quantity>,
    pub bucket: Option<Quantity>,
    /// Time of day at simulated t = 0, `"HH:MM"`.
    pub start_time: Option<String>,
    pub deployment: Option<DeploymentFile>,
    pub workload: Option<WorkloadFile>,
    pub slo: Option<Vec<SloFile>>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeploymentFile {
    pub coderd: Option<CoderdFile>,
    pub provisioners: Option<ProvisionersFile>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoderdFile {
    pub replicas: Option<i64>,
    pub vcpu: Option<f64>,
    pub ram: Option<Quantity>,
    /// Built-in provisioner daemons per replica (Coder's default is 3).
    pub builtin_provisioners: Option<i64>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvisionersFile {
    /// External provisioner daemons (one build at a time each).
    pub count: Option<i64>,
    pub tags: Option<BTreeMap<String, String>>,
    pub vcpu: Option<f64>,
    pub ram: Option<Quantity>,
    /// Further groups of external daemons with their own tags.
    pub groups: Option<Vec<ProvisionerGroupFile>>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvisionerGroupFile {
    pub name: Option<String>,
    pub count: Option<i64>,
    pub tags: Option<BTreeMap<String, String>>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadFile {
    pub templates: Option<Vec<TemplateFile>>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateFile {
    pub name: Option<String>,
    /// Provisioner tags a daemon must carry to build this template.
    pub tags: Option<BTreeMap<String, String>>,
    pub build_time: Option<DistFile>,
    pub failure_probability: Option<f64>,
    /// Human-started builds.
    pub builds: Option<ArrivalFile>,
    /// Prebuilds: served after every waiting human-started build.
    pub prebuilds: Option<ArrivalFile>,
}

/// Arrivals: a Poisson `rate`, or a piecewise-constant time-of-day `profile`
/// of `[time, rate]` pairs (each rate holds until the next time; the last
/// one holds until midnight and the profile repeats daily).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArrivalFile {
    pub rate: Option<Quantity>,
    pub profile: Option<Vec<(String, Quantity)>>,
}

/// A distribution as an inline table: `{ dist = "lognormal", median = "90s", p95 = "6m" }`.
#[derive(Clone, Debug, Default, Deserialize, serde::Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DistFile {
    pub dist: String,
    pub value: Option<Quantity>,
    pub mean: Option<Quantity>,
    pub median: Option<Quantity>,
    pub p95: Option<Quantity>,
    pub sd: Option<Quantity>,
    pub shape: Option<f64>,
    pub min: Option<Quantity>,
    pub max: Option<Quantity>,
    pub values: Option<Vec<Quantity>>,
}

/// A service-level objective: `metric`'s `stat` must stay at most `max` (or at least `min`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SloFile {
    pub name: Option<String>,
    pub metric: Option<String>,
    pub stat: Option<String>,
    pub labels: Option<BTreeMap<String, String>>,
    pub max: Option<Quantity>,
    pub min: Option<Quantity>,
}
