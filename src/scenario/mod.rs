//! Scenario files: parsing (`file`), `extends` chains and overrides (`load`),
//! and resolution into a validated [`Scenario`] with real units (`resolve`),
//! with the model parameter file it names (`model_file`) and that file's
//! typed parameters (`costs`), and the uncertain ones among them
//! (`uncertain`).
//!
//! Nothing below this module re-checks input: a `Scenario` is valid by
//! construction.

pub mod costs;
pub mod emitted;
pub mod file;
pub mod limits;
pub mod load;
pub mod model_file;
pub mod resolve;
pub mod resolve_model;
pub mod source;
pub mod uncertain;
pub mod units;

use crate::engine::{Dist, SimTime};
pub use costs::{Costs, MetadataWritePath};
pub use load::{load, load_with_overrides};
pub use model_file::ModelParams;
use serde::Serialize;
pub use source::Location;
use std::collections::BTreeMap;
use std::path::PathBuf;
pub use uncertain::{ParamError, Uncertain};

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
    /// The model parameter file, as read.
    pub model: ModelParams,
    /// Its parameters, typed (resolved from `model`; not serialised, since
    /// `model` holds them).
    #[serde(skip)]
    pub costs: Costs,
    pub prices_path: Option<PathBuf>,
    pub seed: u64,
    pub duration: SimTime,
    pub warmup: SimTime,
    pub bucket: SimTime,
    /// Time of day at t = 0.
    pub start_time_of_day: SimTime,
    pub deployment: Deployment,
    pub workload: Workload,
    pub autoscaling: Autoscaling,
    pub events: Vec<ScheduledEvent>,
    pub slos: Vec<Slo>,
    /// `[sizing]`: what `size` and `compare` may recommend. It changes no
    /// run, so it is not part of a run's record.
    #[serde(skip)]
    pub sizing: SizingPolicy,
}

/// Coder's deployment guidance as bounds on a recommendation (`[sizing]`).
/// `capsim size` searches only architectures inside them and `compare`
/// flags those outside; `--policy none` turns them off.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct SizingPolicy {
    /// Fewest coderd replicas: 3. ../shared/seeds/003_9157b9f0f3b42389.txt
    /// ("Locality"): "If increased availability of the Coder API is a
    /// concern, deploy at least three instances of Coder Server."
    pub min_coderd_replicas: u32,
    /// Most coderd replicas: 10. Same file ("Scaling"): "preferably under
    /// ten instances, and opt for vertical scale over horizontal scale after
    /// meeting availability requirements" (also
    /// ../shared/data/sizing-rules.csv, "replica count").
    pub max_coderd_replicas: u32,
    /// Smallest replica: 1 vCPU, 2 GB (../shared/data/sizing-rules.csv,
    /// coderd "scaling formula": "minimum 1 vCPU / 2 GB per replica").
    pub min_coderd_vcpu: f64,
    pub min_coderd_ram_bytes: f64,
    /// Smallest database: 2 vCPU, 8 GB (../shared/data/sizing-rules.csv,
    /// database "baseline", from ../shared/seeds/000_b84c2d4b73a02dd7.txt).
    pub min_database_vcpu: f64,
    pub min_database_ram_bytes: f64,
    /// Built-in provisioner daemons only up to this many users: 0, i.e.
    /// never. ../shared/seeds/003_9157b9f0f3b42389.txt ("Provisioner
    /// daemons"): "run one or more provisioner daemon deployments external
    /// to Coder Server and disable provisioner daemons within your Coder
    /// Server" (`CODER_PROVISIONER_DAEMONS=0`). Above it, `size` moves the
    /// built-in daemons to an external deployment it sizes.
    pub builtin_provisioners_max_users: u32,
    /// Ceiling on the peak (busiest bucket) CPU of every coderd replica and
    /// of the database, ratio: 0.8. Assumed (range 0.6-0.9): the 80% CPU
    /// at which Coder's guidance scales workspace nodes
    /// (../shared/seeds/000_b84c2d4b73a02dd7.txt, sizing-rules.csv
    /// "autoscale trigger"), applied to the control plane so the busiest
    /// bucket keeps a fifth of its CPU for what the model leaves out.
    pub max_coderd_cpu: f64,
    pub max_database_cpu: f64,
    /// Warm minimums `size` tries for every node pool (empty: 0 and a
    /// quarter, half and three quarters of the pool's `max`). A search
    /// ladder, not guidance: Coder's guidance only says scaling to zero
    /// lengthens workspace start (../shared/seeds/000_b84c2d4b73a02dd7.txt).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub node_pool_mins: Vec<u32>,
    /// Instance types of the price file `size` tries as every node pool's
    /// shape (empty: the pool's own shape only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub node_shapes: Vec<String>,
    /// Maximums `size` tries for every node pool (empty: a quarter, half,
    /// three quarters and all of the pool's `max`). A pool's `max` caps its
    /// autoscaler's scale-up: a cost guard rail, which starts pay for in
    /// node waits and time-outs when it is too low.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub node_pool_maxs: Vec<u32>,
    /// One pool's own ladders by pool name (`[sizing.node_pools.<pool>]`),
    /// each in place of the all-pools list above when given.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_pools: BTreeMap<String, PoolLadders>,
}

/// What `size` tries for one node pool (`[sizing.node_pools.<pool>]`);
/// an empty list takes the `[sizing]` list for every pool.
#[derive(Clone, Debug, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct PoolLadders {
    /// Instance types of the price file.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shapes: Vec<String>,
    /// Warm minimums, sorted, distinct.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mins: Vec<u32>,
    /// Maximums, sorted, distinct, at least 1.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub maxs: Vec<u32>,
}

impl Default for SizingPolicy {
    fn default() -> Self {
        SizingPolicy {
            min_coderd_replicas: 3,
            max_coderd_replicas: 10,
            min_coderd_vcpu: 1.0,
            min_coderd_ram_bytes: 2e9,
            min_database_vcpu: 2.0,
            min_database_ram_bytes: 8e9,
            builtin_provisioners_max_users: 0,
            max_coderd_cpu: 0.8,
            max_database_cpu: 0.8,
            node_pool_mins: vec![],
            node_shapes: vec![],
            node_pool_maxs: vec![],
            node_pools: BTreeMap::new(),
        }
    }
}

impl Scenario {
    /// Use the model parameter file `model` in place of the scenario's own
    /// (calibration), resolving its costs. Defaults the scenario took from
    /// its own model file at load (built-in daemons per replica) stay.
    pub fn set_model(&mut self, model: ModelParams) -> Result<(), String> {
        self.costs = Costs::from_model(&model)?;
        self.model = model;
        Ok(())
    }

    /// Set the numeric model parameter `name` (calibration) and resolve the
    /// costs again. A name the model file does not have changes nothing.
    pub fn set_model_param(&mut self, name: &str, v: f64) -> Result<(), String> {
        self.model.set(name, v);
        self.costs = Costs::from_model(&self.model)?;
        Ok(())
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Deployment {
    pub coderd: Coderd,
    /// External provisioner daemon groups (the built-in ones are implied by `coderd`).
    pub provisioner_groups: Vec<ProvisionerGroup>,
    pub database: Database,
    pub proxies: Vec<Proxy>,
    pub cluster: Option<Cluster>,
    /// Node pools for the workspaces (empty: workspaces take no room, or
    /// the simple `cluster` counts slots).
    pub node_pools: Vec<NodePool>,
}

/// A node pool under a cluster autoscaler (`[[deployment.node_pools]]`).
#[derive(Clone, Debug, Serialize)]
pub struct NodePool {
    pub name: String,
    /// The node's shape.
    pub vcpu: f64,
    pub ram_bytes: f64,
    /// Share of `vcpu` and `ram_bytes` pods may request.
    pub allocatable: f64,
    pub max_pods: u32,
    pub min_nodes: u32,
    pub max_nodes: u32,
    pub labels: BTreeMap<String, String>,
    /// Node start-up delay, seconds.
    pub startup_delay_s: Dist,
    pub scale_up_utilization: f64,
    pub scale_down_utilization: f64,
    pub scale_down_unneeded: SimTime,
    pub scan_interval: SimTime,
}

impl NodePool {
    /// vCPU pods may request on one node.
    pub fn alloc_vcpu(&self) -> f64 {
        self.vcpu * self.allocatable
    }
    /// Bytes pods may request on one node.
    pub fn alloc_bytes(&self) -> f64 {
        self.ram_bytes * self.allocatable
    }
}

/// A template's workspace on a node: requests, use and the agent's overhead.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WorkspaceResources {
    pub vcpu: f64,
    pub ram_bytes: f64,
    pub working_vcpu: f64,
    pub working_ram_bytes: f64,
    pub idle_vcpu: f64,
    pub idle_ram_bytes: f64,
    pub agent_vcpu: f64,
    pub agent_ram_bytes: f64,
    pub node_selector: BTreeMap<String, String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum LoadBalancer {
    RoundRobin,
    LeastConnections,
}

#[derive(Clone, Debug, Serialize)]
pub struct Database {
    pub vcpu: f64,
    pub ram_bytes: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Proxy {
    pub name: String,
    pub vcpu: f64,
    pub ram_bytes: f64,
    /// Share of users whose relayed and app traffic goes through this proxy.
    pub user_share: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum WhenFull {
    /// Wait for a node to join (`scale_up_delay`), up to `max_nodes`.
    Wait,
    /// Fail the build.
    Fail,
}

#[derive(Clone, Debug, Serialize)]
pub struct Cluster {
    pub n_nodes: u32,
    pub workspaces_per_node: u32,
    pub max_nodes: u32,
    pub scale_up_delay: SimTime,
    pub when_full: WhenFull,
}

/// The five kinds of long-lived user connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum ConnKind {
    Ssh,
    Ide,
    WebTerminal,
    App,
    Dashboard,
}

impl ConnKind {
    pub const ALL: [ConnKind; 5] = [
        ConnKind::Ssh,
        ConnKind::Ide,
        ConnKind::WebTerminal,
        ConnKind::App,
        ConnKind::Dashboard,
    ];
    pub fn name(self) -> &'static str {
        match self {
            ConnKind::Ssh => "ssh",
            ConnKind::Ide => "ide",
            ConnKind::WebTerminal => "web_terminal",
            ConnKind::App => "app",
            ConnKind::Dashboard => "dashboard",
        }
    }
    pub fn parse(s: &str) -> Option<ConnKind> {
        ConnKind::ALL.into_iter().find(|k| k.name() == s)
    }
    /// SSH and IDE traffic can go peer-to-peer; the others always pass coderd or a proxy.
    pub fn can_be_direct(self) -> bool {
        matches!(self, ConnKind::Ssh | ConnKind::Ide)
    }
}

/// How users of one kind of connection behave.
#[derive(Clone, Debug, Serialize)]
pub struct ConnSpec {
    pub kind: ConnKind,
    /// Mean concurrent connections per present user.
    pub per_user: f64,
    /// Bytes per second each connection moves.
    pub bytes_per_s: f64,
    /// Length of one connection, seconds; `None`: the whole session.
    pub duration_s: Option<Dist>,
    /// Pause before the next one, seconds.
    pub gap_s: Dist,
    /// Dashboard: time between actions, seconds.
    pub action_interval_s: Dist,
    /// Dashboard: API requests per action.
    pub requests_per_action: f64,
    /// Dashboard: websockets per open dashboard.
    pub websockets: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum UserMode {
    /// Working days: arrivals, lunch, end of day, weekends.
    Calendar,
    /// Every active user present for the whole run.
    Steady,
}

#[derive(Clone, Debug, Serialize)]
pub struct UserGroup {
    pub name: String,
    pub share: f64,
    /// Local time = scenario clock + offset.
    pub offset_s: f64,
    pub day_start_s: Dist,
    pub session_length_s: Dist,
    pub lunch_fraction: f64,
    pub lunch_start_s: Dist,
    pub lunch_length_s: Dist,
}

#[derive(Clone, Debug, Serialize)]
pub struct Users {
    pub n_users: u32,
    pub mode: UserMode,
    pub active_fraction: f64,
    pub weekend_active_fraction: f64,
    /// Day of week at t = 0 (0 = Monday).
    pub start_weekday: u32,
    pub p2p_fraction: f64,
    pub workspaces_running_at_start: bool,
    pub autostart_fraction: f64,
    pub autostart_time_s: f64,
    pub autostop_after: Option<SimTime>,
    pub groups: Vec<UserGroup>,
}

#[derive(Clone, Debug, Serialize)]
pub struct MetadataGroup {
    pub n_items: u32,
    pub interval: SimTime,
    pub item_bytes: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Agents {
    pub metadata: Vec<MetadataGroup>,
    pub stats_interval: SimTime,
    pub heartbeat_interval: SimTime,
}

/// A scale-test phase.
#[derive(Clone, Debug, Serialize)]
pub struct Phase {
    pub name: String,
    pub kind: ConnKind,
    pub start: SimTime,
    pub end: SimTime,
    pub n_users: u32,
    pub bytes_per_s: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct CoderdAutoscaler {
    pub target_cpu: f64,
    pub min_replicas: u32,
    pub max_replicas: u32,
    pub scale_up_window: SimTime,
    pub scale_down_window: SimTime,
    pub cooldown: SimTime,
    pub sync_period: SimTime,
    pub startup: SimTime,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum StopSignal {
    /// Finish the current build, then exit.
    Sighup,
    /// Cancel the current build (it fails).
    Sigint,
}

#[derive(Clone, Debug, Serialize)]
pub struct ProvisionerAutoscaler {
    pub min_daemons: u32,
    pub max_daemons: u32,
    pub queue_per_daemon: f64,
    pub interval: SimTime,
    pub startup: SimTime,
    pub signal: StopSignal,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Autoscaling {
    pub coderd: Option<CoderdAutoscaler>,
    pub provisioners: Option<ProvisionerAutoscaler>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Action {
    /// Kill a replica (by index, or the one with most connections).
    KillReplica {
        replica: Option<u32>,
    },
    ScaleCoderd {
        replicas: u32,
    },
    AddProvisioners {
        count: u32,
    },
    RemoveProvisioners {
        count: u32,
        signal: StopSignal,
    },
    DatabaseOutage {
        duration: SimTime,
    },
    /// Multiply dashboard activity and connection opening by `factor`.
    TrafficSpike {
        factor: f64,
        duration: SimTime,
    },
    TemplatePush {
        template: u32,
        count: u32,
    },
}

impl Action {
    /// The action's name as a scenario file writes it.
    pub fn name(&self) -> &'static str {
        match self {
            Action::KillReplica { .. } => "kill_replica",
            Action::ScaleCoderd { .. } => "scale_coderd",
            Action::AddProvisioners { .. } => "add_provisioners",
            Action::RemoveProvisioners { .. } => "remove_provisioners",
            Action::DatabaseOutage { .. } => "database_outage",
            Action::TrafficSpike { .. } => "traffic_spike",
            Action::TemplatePush { .. } => "template_push",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ScheduledEvent {
    pub at: SimTime,
    pub action: Action,
}

#[derive(Clone, Debug, Serialize)]
pub struct Coderd {
    pub n_replicas: u32,
    pub load_balancer: LoadBalancer,
    pub vcpu_per_replica: f64,
    pub ram_bytes_per_replica: f64,
    /// Built-in provisioner daemons per replica (untagged).
    pub builtin_provisioners_per_replica: u32,
    /// Coder's database encryption is on: every replica spends
    /// `Costs::coderd_cpu_cores_database_encryption` more.
    pub database_encryption: bool,
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
    /// `None`: a build-queue-only scenario.
    pub users: Option<Users>,
    pub agents: Agents,
    /// One per [`ConnKind`], in `ConnKind::ALL` order.
    pub connections: Vec<ConnSpec>,
    pub phases: Vec<Phase>,
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
    pub pushes: Option<Arrivals>,
    /// Stop-build duration, seconds.
    pub stop_time_s: Dist,
    /// Share of users whose workspace uses this template.
    pub user_share: f64,
    /// Its workspace on a node pool.
    pub workspace: WorkspaceResources,
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

impl Slo {
    /// The SLO judges this statistic: same metric and stat, and every SLO
    /// label present with its value (other labels may be there too).
    pub fn matches(&self, metric: &str, stat: &str, labels: &BTreeMap<String, String>) -> bool {
        metric == self.metric
            && stat == self.stat
            && self.labels.iter().all(|(k, v)| labels.get(k) == Some(v))
    }

    /// `value` meets the target (no value never does).
    pub fn is_met(&self, value: Option<f64>) -> bool {
        match (value, self.bound) {
            (Some(v), Bound::AtMost) => v <= self.target,
            (Some(v), Bound::AtLeast) => v >= self.target,
            (None, _) => false,
        }
    }
}
