//! The parameters of the deployment model, typed: resolved once from the
//! model file into the `Scenario`, which the world borrows.
//!
//! Every field but `provisioner_max_waiting_jobs` is required in the model
//! file (`models/*.toml`), where its unit, description and provenance live;
//! this struct only gives them types. Nothing in the model falls back to a
//! value of its own.

use super::model_file::ModelParams;

/// Which path agent metadata takes to the database.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetadataWritePath {
    /// One database write per metadata call (Coder before coderd-side batching).
    PerCall,
    /// coderd batches entries and flushes every few seconds or at a size limit
    /// (`coderd/agentapi/metadatabatcher`).
    Batched,
}

/// What one model parameter must be: its unit (the file's `unit` must say
/// exactly this), its kind and the range the model accepts. These ranges
/// are what keeps the model meaningful and bounded (no negative CPU, no
/// flush every nanosecond), wider than the calibration bounds a file's own
/// `min`/`max` give.
#[derive(Clone, Copy, Debug)]
pub struct ParamSpec {
    pub name: &'static str,
    pub unit: &'static str,
    pub kind: ParamKind,
    /// Inclusive bounds of a numeric value, in `unit`.
    pub min: f64,
    pub max: f64,
    /// The model cannot run without it.
    pub required: bool,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ParamKind {
    Number,
    /// A whole number.
    Integer,
    /// 0 (off) or 1 (on).
    Flag,
    /// One of these strings.
    Choice(&'static [&'static str]),
}

const fn spec(
    name: &'static str,
    unit: &'static str,
    kind: ParamKind,
    min: f64,
    max: f64,
    required: bool,
) -> ParamSpec {
    ParamSpec {
        name,
        unit,
        kind,
        min,
        max,
        required,
    }
}

/// CPU per unit of work, ms: a minute of one core is far past any request.
const CPU_MS_MAX: f64 = 60_000.0;
/// A database wait or round trip, ms.
const WAIT_MS_MAX: f64 = 60_000.0;
/// The shortest flush or back-off interval, s: shorter ones would schedule an
/// event per replica or agent every millisecond for no modelled effect.
const MIN_INTERVAL_S: f64 = 0.001;
const DAY_S: f64 = 86_400.0;
const WEEK_S: f64 = 7.0 * DAY_S;
const YEAR_S: f64 = 365.0 * DAY_S;

/// Every parameter the model reads, in one table: adding a parameter is a
/// row here, a field of [`Costs`] and its line in [`Costs::from_model`]. The
/// model file is checked against this table ([`ModelParams::parse`] and
/// [`ModelParams::check_complete`]).
// One row a parameter: name, unit, kind, least and greatest value the model
// accepts, required.
#[rustfmt::skip]
pub const PARAMS: &[ParamSpec] = &[
    spec("builtin_provisioners_per_replica", "1", ParamKind::Integer, 0.0, 64.0, true),
    spec("provisioner_pending_timeout_s", "s", ParamKind::Number, 0.0, YEAR_S, true),
    spec("provisioner_max_waiting_jobs", "1", ParamKind::Integer, 1.0, 1e7, false),
    spec("coderd_cpu_ms_dashboard_request", "ms", ParamKind::Number, 0.0, CPU_MS_MAX, true),
    spec("coderd_cpu_ms_agent_metadata_call", "ms", ParamKind::Number, 0.0, CPU_MS_MAX, true),
    spec("coderd_cpu_ms_agent_metadata_item", "ms", ParamKind::Number, 0.0, CPU_MS_MAX, true),
    spec("coderd_cpu_ms_per_metadata_kb", "ms/kB", ParamKind::Number, 0.0, CPU_MS_MAX, true),
    spec("coderd_cpu_ms_agent_stats_call", "ms", ParamKind::Number, 0.0, CPU_MS_MAX, true),
    spec("coderd_cpu_ms_agent_heartbeat", "ms", ParamKind::Number, 0.0, CPU_MS_MAX, true),
    spec("coderd_cpu_ms_connect", "ms", ParamKind::Number, 0.0, CPU_MS_MAX, true),
    spec("coderd_cpu_ms_build_request", "ms", ParamKind::Number, 0.0, CPU_MS_MAX, true),
    spec("coderd_cpu_ms_per_relayed_mb", "ms/MB", ParamKind::Number, 0.0, CPU_MS_MAX, true),
    spec("proxy_cpu_ms_per_relayed_mb", "ms/MB", ParamKind::Number, 0.0, CPU_MS_MAX, true),
    spec("coderd_ram_base_mb", "MB", ParamKind::Number, 0.0, 1e7, true),
    spec("coderd_ram_mb_per_connection", "MB", ParamKind::Number, 0.0, 1e5, true),
    spec("coderd_ram_mb_per_agent", "MB", ParamKind::Number, 0.0, 1e5, true),
    spec("coderd_restart_delay_s", "s", ParamKind::Number, 0.0, DAY_S, true),
    spec("db_queries_dashboard_request", "1", ParamKind::Number, 0.0, 1000.0, true),
    spec("db_queries_agent_metadata_call", "1", ParamKind::Number, 0.0, 1000.0, true),
    spec("db_queries_agent_stats_call", "1", ParamKind::Number, 0.0, 1000.0, true),
    spec("db_queries_connect", "1", ParamKind::Number, 0.0, 1000.0, true),
    spec("db_queries_build_request", "1", ParamKind::Number, 0.0, 1000.0, true),
    spec("db_cpu_ms_read_query", "ms", ParamKind::Number, 0.0, CPU_MS_MAX, true),
    spec("db_cpu_ms_metadata_write", "ms", ParamKind::Number, 0.0, CPU_MS_MAX, true),
    spec("db_cpu_ms_metadata_write_item", "ms", ParamKind::Number, 0.0, CPU_MS_MAX, true),
    spec("db_cpu_ms_per_metadata_kb", "ms/kB", ParamKind::Number, 0.0, CPU_MS_MAX, true),
    spec("metadata_value_max_bytes", "B", ParamKind::Integer, 1.0, 1e8, true),
    spec("db_cpu_ms_stats_flush", "ms", ParamKind::Number, 0.0, CPU_MS_MAX, true),
    spec("db_cpu_ms_stats_row", "ms", ParamKind::Number, 0.0, CPU_MS_MAX, true),
    spec("db_cpu_ms_heartbeat_write", "ms", ParamKind::Number, 0.0, CPU_MS_MAX, true),
    spec("db_cpu_ms_build_write", "ms", ParamKind::Number, 0.0, CPU_MS_MAX, true),
    spec("db_cpu_ms_activity_bump", "ms", ParamKind::Number, 0.0, CPU_MS_MAX, true),
    spec("db_commit_wait_ms", "ms", ParamKind::Number, 0.0, WAIT_MS_MAX, true),
    spec("build_log_calls_per_s", "1/s", ParamKind::Number, 0.0, 1_000.0, true),
    spec("coderd_cpu_ms_build_log_call", "ms", ParamKind::Number, 0.0, CPU_MS_MAX, true),
    spec("db_cpu_ms_build_log_write", "ms", ParamKind::Number, 0.0, CPU_MS_MAX, true),
    spec("db_cpu_ms_build_state_write", "ms", ParamKind::Number, 0.0, CPU_MS_MAX, true),
    spec("builtin_provisioner_vcpu_per_build", "vCPU", ParamKind::Number, 0.0, 64.0, true),
    spec("stop_build_cost_ratio", "1", ParamKind::Number, 0.0, 10.0, true),
    spec("import_time_ratio", "1", ParamKind::Number, 0.0, 100.0, true),
    spec("coderd_cpu_ms_agent_register", "ms", ParamKind::Number, 0.0, CPU_MS_MAX, true),
    spec("db_cpu_ms_agent_instance_lookup", "ms", ParamKind::Number, 0.0, CPU_MS_MAX, true),
    spec("autobuild_interval_s", "s", ParamKind::Number, 1.0, DAY_S, true),
    spec("autobuild_queries_per_workspace", "1", ParamKind::Number, 0.0, 1_000.0, true),
    spec("coderd_cpu_ms_autobuild_workspace", "ms", ParamKind::Number, 0.0, CPU_MS_MAX, true),
    spec("deployment_stats_interval_s", "s", ParamKind::Number, 1.0, DAY_S, true),
    spec("deployment_stats_window_s", "s", ParamKind::Number, 1.0, WEEK_S, true),
    spec("db_cpu_ms_per_deployment_stats_row", "ms", ParamKind::Number, 0.0, CPU_MS_MAX, true),
    spec("coderd_cpu_cores_database_encryption", "vCPU", ParamKind::Number, 0.0, 64.0, true),
    spec("db_rtt_ms", "ms", ParamKind::Number, 0.0, WAIT_MS_MAX, true),
    spec("metadata_write_path", "", ParamKind::Choice(&["per_call", "batched"]), 0.0, 0.0, true),
    spec("metadata_agent_batching", "bool", ParamKind::Flag, 0.0, 1.0, true),
    spec("metadata_flush_interval_s", "s", ParamKind::Number, MIN_INTERVAL_S, 3600.0, true),
    spec("metadata_flush_max_entries", "1", ParamKind::Integer, 1.0, 1e9, true),
    spec("stats_flush_interval_s", "s", ParamKind::Number, MIN_INTERVAL_S, 3600.0, true),
    spec("stats_flush_max_rows", "1", ParamKind::Integer, 1.0, 1e9, true),
    spec("agent_reconnect_min_s", "s", ParamKind::Number, MIN_INTERVAL_S, DAY_S, true),
    spec("agent_reconnect_max_s", "s", ParamKind::Number, MIN_INTERVAL_S, DAY_S, true),
    spec("client_reconnect_min_s", "s", ParamKind::Number, MIN_INTERVAL_S, DAY_S, true),
    spec("client_reconnect_max_s", "s", ParamKind::Number, MIN_INTERVAL_S, DAY_S, true),
    spec("pty_reattach_timeout_s", "s", ParamKind::Number, 0.0, WEEK_S, true),
    spec("provisioner_cpu_vcpu_per_build", "vCPU", ParamKind::Number, 0.0, 1024.0, true),
    spec("db_disk_write_ops_per_write", "1", ParamKind::Number, 0.0, 1000.0, true),
    spec("workspace_vcpu_request", "vCPU", ParamKind::Number, 0.001, 1024.0, true),
    spec("workspace_memory_request_mb", "MB", ParamKind::Number, 1.0, 1e7, true),
    spec("agent_idle_vcpu", "vCPU", ParamKind::Number, 0.0, 64.0, true),
    spec("agent_idle_memory_mb", "MB", ParamKind::Number, 0.0, 1e6, true),
    spec("node_allocatable_share", "ratio", ParamKind::Number, 0.01, 1.0, true),
    spec("node_startup_median_s", "s", ParamKind::Number, 0.0, DAY_S, true),
    spec("node_startup_p95_s", "s", ParamKind::Number, 0.0, DAY_S, true),
    spec("terraform_provider_timeout_s", "s", ParamKind::Number, 0.0, DAY_S, true),
];

/// Pairs of parameters whose first may not exceed its second (a back-off's
/// least and greatest delay).
pub const ORDERED_PARAMS: &[(&str, &str)] = &[
    ("agent_reconnect_min_s", "agent_reconnect_max_s"),
    ("client_reconnect_min_s", "client_reconnect_max_s"),
    ("node_startup_median_s", "node_startup_p95_s"),
];

#[derive(Clone, Debug, PartialEq)]
pub struct Costs {
    /// Built-in provisioner daemons per coderd replica when the scenario does
    /// not say (`deployment.coderd.builtin_provisioners`).
    pub builtin_provisioners_per_replica: f64,
    /// A build waiting longer than this, seconds, fails (0: never).
    pub provisioner_pending_timeout_s: f64,
    /// Optional: the cap on waiting build jobs (`None`: capsim's own cap,
    /// `model::provisioner::MAX_WAITING_JOBS`).
    pub provisioner_max_waiting_jobs: Option<f64>,
    pub coderd_cpu_ms_dashboard_request: f64,
    pub coderd_cpu_ms_agent_metadata_call: f64,
    pub coderd_cpu_ms_agent_metadata_item: f64,
    /// coderd CPU per kilobyte of metadata values received, ms/kB.
    pub coderd_cpu_ms_per_metadata_kb: f64,
    pub coderd_cpu_ms_agent_stats_call: f64,
    pub coderd_cpu_ms_agent_heartbeat: f64,
    pub coderd_cpu_ms_connect: f64,
    pub coderd_cpu_ms_build_request: f64,
    pub coderd_cpu_ms_per_relayed_mb: f64,
    pub proxy_cpu_ms_per_relayed_mb: f64,
    pub coderd_ram_base_mb: f64,
    pub coderd_ram_mb_per_connection: f64,
    pub coderd_ram_mb_per_agent: f64,
    pub coderd_restart_delay_s: f64,
    pub db_queries_dashboard_request: f64,
    pub db_queries_agent_metadata_call: f64,
    pub db_queries_agent_stats_call: f64,
    pub db_queries_connect: f64,
    pub db_queries_build_request: f64,
    pub db_cpu_ms_read_query: f64,
    pub db_cpu_ms_metadata_write: f64,
    pub db_cpu_ms_metadata_write_item: f64,
    /// Database CPU per kilobyte of metadata values stored, ms/kB.
    pub db_cpu_ms_per_metadata_kb: f64,
    /// coderd truncates a metadata value to this many bytes before storing it.
    pub metadata_value_max_bytes: f64,
    pub db_cpu_ms_stats_flush: f64,
    pub db_cpu_ms_stats_row: f64,
    pub db_cpu_ms_heartbeat_write: f64,
    pub db_cpu_ms_build_write: f64,
    /// Database CPU of the activity bump a stats report with open sessions makes.
    pub db_cpu_ms_activity_bump: f64,
    /// The bump's commit wait on an idle database, ms; it grows as
    /// `1 / (1 - utilisation)` and is served under the bump lock.
    pub db_commit_wait_ms: f64,
    pub db_rtt_ms: f64,
    pub metadata_write_path: MetadataWritePath,
    /// The agent sends all due items in one call per tick (Coder issue 10225);
    /// without it every item is its own call.
    pub metadata_agent_batching: bool,
    pub metadata_flush_interval_s: f64,
    pub metadata_flush_max_entries: f64,
    pub stats_flush_interval_s: f64,
    pub stats_flush_max_rows: f64,
    pub agent_reconnect_min_s: f64,
    pub agent_reconnect_max_s: f64,
    pub client_reconnect_min_s: f64,
    pub client_reconnect_max_s: f64,
    pub pty_reattach_timeout_s: f64,
    pub provisioner_cpu_vcpu_per_build: f64,
    pub db_disk_write_ops_per_write: f64,
    // ----- what a build costs coderd and the database (issue 11) -----
    /// Log and job-update calls a running build makes to coderd, per second.
    pub build_log_calls_per_s: f64,
    /// coderd CPU per log/job-update call, ms.
    pub coderd_cpu_ms_build_log_call: f64,
    /// Database CPU per log/job-update call (its INSERT/UPDATE and NOTIFY), ms.
    pub db_cpu_ms_build_log_write: f64,
    /// Database CPU of a finished build's state and resource writes, ms.
    pub db_cpu_ms_build_state_write: f64,
    /// coderd CPU of Terraform on a built-in daemon, vCPU per running build.
    pub builtin_provisioner_vcpu_per_build: f64,
    /// A stop build's Terraform CPU, log rate and state write relative to a start's.
    pub stop_build_cost_ratio: f64,
    /// A template import's run time relative to a start build of its template.
    pub import_time_ratio: f64,
    /// coderd CPU of an agent's registration (instance-identity auth), ms.
    pub coderd_cpu_ms_agent_register: f64,
    /// Database CPU of its GetWorkspaceAgentByInstanceID lookup, ms.
    pub db_cpu_ms_agent_instance_lookup: f64,
    // ----- fleet-wide periodic work -----
    /// The autobuild executor's tick on every replica, s.
    pub autobuild_interval_s: f64,
    /// Its database queries per eligible workspace per tick.
    pub autobuild_queries_per_workspace: f64,
    /// Its coderd CPU per eligible workspace per tick, ms.
    pub coderd_cpu_ms_autobuild_workspace: f64,
    /// The deployment-stats refresh on every replica, s.
    pub deployment_stats_interval_s: f64,
    /// The window of agent stats rows it aggregates, s.
    pub deployment_stats_window_s: f64,
    /// Database CPU per agent stats row it aggregates, ms.
    pub db_cpu_ms_per_deployment_stats_row: f64,
    /// coderd CPU database encryption adds to every replica, vCPU.
    pub coderd_cpu_cores_database_encryption: f64,
    // ----- workspace compute (node pools) -----
    /// A workspace's requests when its template does not say: vCPU and MB.
    pub workspace_vcpu_request: f64,
    pub workspace_memory_request_mb: f64,
    /// An idle agent's own use: vCPU and MB.
    pub agent_idle_vcpu: f64,
    pub agent_idle_memory_mb: f64,
    /// Share of a node's vCPU and RAM left to pods after system overhead.
    pub node_allocatable_share: f64,
    /// A new node's start-up delay (lognormal), median and p95, s.
    pub node_startup_median_s: f64,
    pub node_startup_p95_s: f64,
    /// A start build waiting longer than this for a node fails, s (0: never).
    pub terraform_provider_timeout_s: f64,
}

impl Costs {
    pub fn from_model(m: &ModelParams) -> Result<Costs, String> {
        let r = |n: &str| m.require(n);
        let path = match m.text("metadata_write_path") {
            Some("per_call") => MetadataWritePath::PerCall,
            Some("batched") => MetadataWritePath::Batched,
            Some(o) => {
                return Err(format!(
                    "params.metadata_write_path: expected \"per_call\" or \"batched\", found \"{o}\""
                ));
            }
            None => {
                return Err(format!(
                    "model file {} has no `params.metadata_write_path`",
                    m.path.display()
                ));
            }
        };
        Ok(Costs {
            builtin_provisioners_per_replica: r("builtin_provisioners_per_replica")?,
            provisioner_pending_timeout_s: r("provisioner_pending_timeout_s")?,
            provisioner_max_waiting_jobs: m.number("provisioner_max_waiting_jobs"),
            coderd_cpu_ms_dashboard_request: r("coderd_cpu_ms_dashboard_request")?,
            coderd_cpu_ms_agent_metadata_call: r("coderd_cpu_ms_agent_metadata_call")?,
            coderd_cpu_ms_agent_metadata_item: r("coderd_cpu_ms_agent_metadata_item")?,
            coderd_cpu_ms_per_metadata_kb: r("coderd_cpu_ms_per_metadata_kb")?,
            coderd_cpu_ms_agent_stats_call: r("coderd_cpu_ms_agent_stats_call")?,
            coderd_cpu_ms_agent_heartbeat: r("coderd_cpu_ms_agent_heartbeat")?,
            coderd_cpu_ms_connect: r("coderd_cpu_ms_connect")?,
            coderd_cpu_ms_build_request: r("coderd_cpu_ms_build_request")?,
            coderd_cpu_ms_per_relayed_mb: r("coderd_cpu_ms_per_relayed_mb")?,
            proxy_cpu_ms_per_relayed_mb: r("proxy_cpu_ms_per_relayed_mb")?,
            coderd_ram_base_mb: r("coderd_ram_base_mb")?,
            coderd_ram_mb_per_connection: r("coderd_ram_mb_per_connection")?,
            coderd_ram_mb_per_agent: r("coderd_ram_mb_per_agent")?,
            coderd_restart_delay_s: r("coderd_restart_delay_s")?,
            db_queries_dashboard_request: r("db_queries_dashboard_request")?,
            db_queries_agent_metadata_call: r("db_queries_agent_metadata_call")?,
            db_queries_agent_stats_call: r("db_queries_agent_stats_call")?,
            db_queries_connect: r("db_queries_connect")?,
            db_queries_build_request: r("db_queries_build_request")?,
            db_cpu_ms_read_query: r("db_cpu_ms_read_query")?,
            db_cpu_ms_metadata_write: r("db_cpu_ms_metadata_write")?,
            db_cpu_ms_metadata_write_item: r("db_cpu_ms_metadata_write_item")?,
            db_cpu_ms_per_metadata_kb: r("db_cpu_ms_per_metadata_kb")?,
            metadata_value_max_bytes: r("metadata_value_max_bytes")?,
            db_cpu_ms_stats_flush: r("db_cpu_ms_stats_flush")?,
            db_cpu_ms_stats_row: r("db_cpu_ms_stats_row")?,
            db_cpu_ms_heartbeat_write: r("db_cpu_ms_heartbeat_write")?,
            db_cpu_ms_build_write: r("db_cpu_ms_build_write")?,
            db_cpu_ms_activity_bump: r("db_cpu_ms_activity_bump")?,
            db_commit_wait_ms: r("db_commit_wait_ms")?,
            db_rtt_ms: r("db_rtt_ms")?,
            metadata_write_path: path,
            metadata_agent_batching: r("metadata_agent_batching")? != 0.0,
            metadata_flush_interval_s: r("metadata_flush_interval_s")?,
            metadata_flush_max_entries: r("metadata_flush_max_entries")?,
            stats_flush_interval_s: r("stats_flush_interval_s")?,
            stats_flush_max_rows: r("stats_flush_max_rows")?,
            agent_reconnect_min_s: r("agent_reconnect_min_s")?,
            agent_reconnect_max_s: r("agent_reconnect_max_s")?,
            client_reconnect_min_s: r("client_reconnect_min_s")?,
            client_reconnect_max_s: r("client_reconnect_max_s")?,
            pty_reattach_timeout_s: r("pty_reattach_timeout_s")?,
            provisioner_cpu_vcpu_per_build: r("provisioner_cpu_vcpu_per_build")?,
            db_disk_write_ops_per_write: r("db_disk_write_ops_per_write")?,
            build_log_calls_per_s: r("build_log_calls_per_s")?,
            coderd_cpu_ms_build_log_call: r("coderd_cpu_ms_build_log_call")?,
            db_cpu_ms_build_log_write: r("db_cpu_ms_build_log_write")?,
            db_cpu_ms_build_state_write: r("db_cpu_ms_build_state_write")?,
            builtin_provisioner_vcpu_per_build: r("builtin_provisioner_vcpu_per_build")?,
            stop_build_cost_ratio: r("stop_build_cost_ratio")?,
            import_time_ratio: r("import_time_ratio")?,
            coderd_cpu_ms_agent_register: r("coderd_cpu_ms_agent_register")?,
            db_cpu_ms_agent_instance_lookup: r("db_cpu_ms_agent_instance_lookup")?,
            workspace_vcpu_request: r("workspace_vcpu_request")?,
            workspace_memory_request_mb: r("workspace_memory_request_mb")?,
            agent_idle_vcpu: r("agent_idle_vcpu")?,
            agent_idle_memory_mb: r("agent_idle_memory_mb")?,
            node_allocatable_share: r("node_allocatable_share")?,
            node_startup_median_s: r("node_startup_median_s")?,
            node_startup_p95_s: r("node_startup_p95_s")?,
            terraform_provider_timeout_s: r("terraform_provider_timeout_s")?,
            autobuild_interval_s: r("autobuild_interval_s")?,
            autobuild_queries_per_workspace: r("autobuild_queries_per_workspace")?,
            coderd_cpu_ms_autobuild_workspace: r("coderd_cpu_ms_autobuild_workspace")?,
            deployment_stats_interval_s: r("deployment_stats_interval_s")?,
            deployment_stats_window_s: r("deployment_stats_window_s")?,
            db_cpu_ms_per_deployment_stats_row: r("db_cpu_ms_per_deployment_stats_row")?,
            coderd_cpu_cores_database_encryption: r("coderd_cpu_cores_database_encryption")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn shipped() -> (std::path::PathBuf, String) {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/coder.toml");
        let text = std::fs::read_to_string(&p).unwrap();
        (p, text)
    }

    #[test]
    fn the_table_and_the_shipped_models_agree() {
        for file in [
            "models/coder.toml",
            "models/coder-before-metadata-batching.toml",
        ] {
            let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
            let m = ModelParams::parse(&p, &std::fs::read_to_string(&p).unwrap()).unwrap();
            m.check_complete().unwrap();
            Costs::from_model(&m).unwrap();
        }
        // Every required row is read by `from_model`: without it, no costs.
        let (p, text) = shipped();
        let full = ModelParams::parse(&p, &text).unwrap();
        for s in PARAMS.iter().filter(|s| s.required) {
            let mut m = full.clone();
            m.file.params.remove(s.name);
            assert!(m.check_complete().is_err(), "{}", s.name);
            assert!(Costs::from_model(&m).is_err(), "{} is not read", s.name);
        }
    }

    #[test]
    fn every_parameter_is_required_and_none_has_a_fallback() {
        let (p, text) = shipped();
        let full = ModelParams::parse(&p, &text).unwrap();
        let costs = Costs::from_model(&full).unwrap();
        assert_eq!(
            costs.provisioner_cpu_vcpu_per_build,
            full.number("provisioner_cpu_vcpu_per_build").unwrap()
        );
        for name in [
            "provisioner_cpu_vcpu_per_build",
            "db_rtt_ms",
            "builtin_provisioners_per_replica",
        ] {
            let mut m = full.clone();
            m.file.params.remove(name);
            let e = Costs::from_model(&m).unwrap_err();
            assert!(e.contains(&format!("`params.{name}`")), "{e}");
        }
    }
}
