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
    pub autoscaling: Option<AutoscalingFile>,
    pub events: Option<Vec<EventFile>>,
    pub slo: Option<Vec<SloFile>>,
    /// Bounds on what `capsim size` and `compare` may recommend.
    pub sizing: Option<SizingFile>,
}

/// `[sizing]`: Coder's deployment guidance as bounds on a recommendation
/// (defaults and their sources in `scenario::SizingPolicy`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SizingFile {
    pub min_coderd_replicas: Option<i64>,
    pub max_coderd_replicas: Option<i64>,
    pub min_coderd_vcpu: Option<f64>,
    pub min_coderd_ram: Option<Quantity>,
    pub min_database_vcpu: Option<f64>,
    pub min_database_ram: Option<Quantity>,
    pub builtin_provisioners_max_users: Option<i64>,
    pub max_coderd_cpu: Option<f64>,
    pub max_database_cpu: Option<f64>,
    /// Warm minimums (`min`) `size` tries for every node pool.
    pub node_pool_mins: Option<Vec<i64>>,
    /// Instance types of the price file `size` tries as every node pool's shape.
    pub node_shapes: Option<Vec<String>>,
    /// Maximums (`max`) `size` tries for every node pool.
    pub node_pool_maxs: Option<Vec<i64>>,
    /// One pool's own ladders (by pool name), in place of the lists above.
    pub node_pools: Option<BTreeMap<String, SizingPoolFile>>,
}

/// `[sizing.node_pools.<pool>]`: what `size` tries for one node pool.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SizingPoolFile {
    pub shapes: Option<Vec<String>>,
    pub mins: Option<Vec<i64>>,
    pub maxs: Option<Vec<i64>>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeploymentFile {
    pub coderd: Option<CoderdFile>,
    pub provisioners: Option<ProvisionersFile>,
    pub database: Option<DatabaseFile>,
    pub proxies: Option<Vec<ProxyFile>>,
    pub cluster: Option<ClusterFile>,
    /// Node pools the workspaces run on, with a cluster autoscaler.
    pub node_pools: Option<Vec<NodePoolFile>>,
}

/// `[[deployment.node_pools]]`: nodes of one shape under a cluster autoscaler.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodePoolFile {
    pub name: Option<String>,
    /// The node's shape (priced as the cheapest `[workspace_nodes]` instance type that has it).
    pub vcpu: Option<f64>,
    pub ram: Option<Quantity>,
    /// Share of the node's vCPU and RAM left to pods after system overhead.
    pub allocatable: Option<f64>,
    pub max_pods: Option<i64>,
    pub min: Option<i64>,
    pub max: Option<i64>,
    /// Node labels; a template lands here when its `node_selector` is a subset.
    pub labels: Option<BTreeMap<String, String>>,
    /// Time from the autoscaler's decision until the node takes pods.
    pub startup_delay: Option<DistFile>,
    /// Scale up when used CPU or memory over allocatable passes this.
    pub scale_up_utilization: Option<f64>,
    /// A node is underused below this share of requested CPU and memory.
    pub scale_down_utilization: Option<f64>,
    /// How long a node must be underused (and empty) before it is removed.
    pub scale_down_unneeded: Option<Quantity>,
    /// How often the autoscaler looks.
    pub scan_interval: Option<Quantity>,
}

/// A template's workspace: what it asks of a node and what it uses.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkspaceFile {
    /// Requests (what placement reserves).
    pub vcpu: Option<f64>,
    pub ram: Option<Quantity>,
    /// Use beyond the agent's while the user works.
    pub working_vcpu: Option<f64>,
    pub working_ram: Option<Quantity>,
    /// Use beyond the agent's while the user is away.
    pub idle_vcpu: Option<f64>,
    pub idle_ram: Option<Quantity>,
    /// The agent's own use, always while the workspace runs.
    pub agent_vcpu: Option<f64>,
    pub agent_ram: Option<Quantity>,
    /// Node labels the workspace needs (like provisioner tags).
    pub node_selector: Option<BTreeMap<String, String>>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseFile {
    pub vcpu: Option<f64>,
    pub ram: Option<Quantity>,
}

/// A workspace proxy: carries relay and app traffic of its share of users.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProxyFile {
    pub name: Option<String>,
    pub vcpu: Option<f64>,
    pub ram: Option<Quantity>,
    /// Share of users (0..1) whose relayed and app traffic goes through this proxy.
    pub user_share: Option<f64>,
}

/// Workspace capacity of the cluster.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterFile {
    pub nodes: Option<i64>,
    pub workspaces_per_node: Option<i64>,
    pub max_nodes: Option<i64>,
    /// Time for a new node to join when a build finds no room.
    pub scale_up_delay: Option<Quantity>,
    /// `"wait"` for a node, or `"fail"` the build.
    pub when_full: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoderdFile {
    pub replicas: Option<i64>,
    pub vcpu: Option<f64>,
    pub ram: Option<Quantity>,
    /// Built-in provisioner daemons per replica (Coder's default is 3).
    pub builtin_provisioners: Option<i64>,
    /// `"round_robin"` or `"least_connections"`.
    pub load_balancer: Option<String>,
    /// Database encryption enabled (costs coderd CPU on every replica).
    pub database_encryption: Option<bool>,
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
    pub users: Option<UsersFile>,
    pub agents: Option<AgentsFile>,
    pub connections: Option<ConnectionsFile>,
    pub phases: Option<Vec<PhaseFile>>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsersFile {
    pub count: Option<i64>,
    /// `"calendar"` (a working day) or `"steady"` (everyone present all run).
    pub mode: Option<String>,
    /// Share of users who work on a weekday (Coder's sizing assumes 30%).
    pub active_fraction: Option<f64>,
    pub weekend_active_fraction: Option<f64>,
    /// Day of the week at t = 0: `"mon"` .. `"sun"`.
    pub start_day: Option<String>,
    /// Share of users whose SSH and IDE traffic goes peer-to-peer.
    pub p2p_fraction: Option<f64>,
    /// Every workspace is running at t = 0 (as in a scale test).
    pub workspaces_running_at_start: Option<bool>,
    pub autostart_fraction: Option<f64>,
    pub autostart_time: Option<String>,
    /// Stop a workspace this long after its user leaves (0 = never).
    pub autostop_after: Option<Quantity>,
    pub groups: Option<Vec<UserGroupFile>>,
}

/// A time-zone group of users.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserGroupFile {
    pub name: Option<String>,
    pub share: Option<f64>,
    /// Time-zone offset from the scenario clock, e.g. "-6h".
    pub offset: Option<String>,
    /// Time of day (local) the working day starts, as a duration since midnight.
    pub day_start: Option<DistFile>,
    pub session_length: Option<DistFile>,
    /// Share of users who take a lunch break, its local start time and length.
    pub lunch_fraction: Option<f64>,
    pub lunch_start: Option<DistFile>,
    pub lunch_length: Option<DistFile>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentsFile {
    /// Metadata groups; `[]` for a template without metadata blocks.
    pub metadata: Option<Vec<MetadataFile>>,
    pub stats_interval: Option<Quantity>,
    pub heartbeat_interval: Option<Quantity>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetadataFile {
    pub items: Option<i64>,
    pub interval: Option<Quantity>,
    /// Bytes per item value.
    pub size: Option<Quantity>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectionsFile {
    pub ssh: Option<ConnectionKindFile>,
    pub ide: Option<ConnectionKindFile>,
    pub web_terminal: Option<ConnectionKindFile>,
    pub app: Option<ConnectionKindFile>,
    pub dashboard: Option<ConnectionKindFile>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectionKindFile {
    /// Mean concurrent connections of this kind per present user.
    pub per_user: Option<f64>,
    /// Bytes per second each connection moves (both directions together).
    pub bytes_per_s: Option<Quantity>,
    /// How long one connection lasts; absent: the whole session.
    pub duration: Option<DistFile>,
    /// Pause before the next connection of this kind opens.
    pub gap: Option<DistFile>,
    /// Dashboard only: time between user actions.
    pub action_interval: Option<DistFile>,
    /// Dashboard only: API requests per user action.
    pub requests_per_action: Option<f64>,
    /// Dashboard only: websockets per open dashboard.
    pub websockets: Option<i64>,
}

/// A scale-test phase: `users` users open `kind` connections from `start` to `end`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhaseFile {
    pub name: Option<String>,
    pub kind: Option<String>,
    pub start: Option<Quantity>,
    pub end: Option<Quantity>,
    pub users: Option<i64>,
    pub bytes_per_s: Option<Quantity>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoscalingFile {
    pub coderd: Option<CoderdAutoscalerFile>,
    pub provisioners: Option<ProvisionerAutoscalerFile>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoderdAutoscalerFile {
    pub target_cpu: Option<f64>,
    pub min: Option<i64>,
    pub max: Option<i64>,
    pub scale_up_window: Option<Quantity>,
    pub scale_down_window: Option<Quantity>,
    pub cooldown: Option<Quantity>,
    pub sync_period: Option<Quantity>,
    pub startup: Option<Quantity>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvisionerAutoscalerFile {
    pub min: Option<i64>,
    pub max: Option<i64>,
    /// Target waiting jobs per daemon.
    pub queue_per_daemon: Option<f64>,
    pub interval: Option<Quantity>,
    pub startup: Option<Quantity>,
    /// `"sighup"` (finish the build, then exit) or `"sigint"` (cancel it).
    pub scale_down_signal: Option<String>,
}

/// A scheduled event: `at` is a time of day ("11:00") or an offset from the start ("+2h").
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventFile {
    pub at: Option<String>,
    /// kill_replica | scale_coderd | add_provisioners | remove_provisioners |
    /// database_outage | traffic_spike | template_push
    pub action: Option<String>,
    pub replica: Option<i64>,
    pub replicas: Option<i64>,
    pub count: Option<i64>,
    pub signal: Option<String>,
    pub duration: Option<Quantity>,
    pub factor: Option<f64>,
    pub template: Option<String>,
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
    /// Template version pushes (each is an import build job).
    pub pushes: Option<ArrivalFile>,
    /// Duration of a stop build.
    pub stop_time: Option<DistFile>,
    /// Share of users whose workspace uses this template (default: equal shares).
    pub user_share: Option<f64>,
    /// The workspace's requests and use on a node pool.
    pub workspace: Option<WorkspaceFile>,
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
