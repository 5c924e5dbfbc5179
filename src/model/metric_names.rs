//! The name of every metric a run produces, owned by the model that
//! records them. Outputs, calibration targets and tests refer to these
//! constants rather than spell the names again. README.md ("Metrics")
//! documents each one: its statistics, unit, labels and meaning.
//!
//! Names follow Prometheus conventions and, where Coder has an equivalent,
//! echo its name (`../shared/data/coder-prometheus-metrics.csv`).

// ----- the build queue (`provisioner.rs`) -----------------------------------

/// Time from a build's creation until a daemon starts it, s.
pub const BUILD_QUEUE_WAIT_SECONDS: &str = "build_queue_wait_seconds";
/// Fraction of started builds that waited at all, ratio.
pub const BUILD_QUEUE_WAIT_PROBABILITY: &str = "build_queue_wait_probability";
/// Successful builds' time on their daemon, by `template` and `transition`
/// (`start`, `stop`), s.
pub const BUILD_TIME_SECONDS: &str = "build_time_seconds";
/// Builds waiting for a daemon.
pub const BUILD_QUEUE_LENGTH: &str = "build_queue_length";
pub const BUILDS_CREATED_TOTAL: &str = "builds_created_total";
pub const BUILDS_STARTED_TOTAL: &str = "builds_started_total";
pub const BUILDS_COMPLETED_TOTAL: &str = "builds_completed_total";
/// Failed, timed out waiting, or rejected by the waiting-line cap.
pub const BUILDS_FAILED_TOTAL: &str = "builds_failed_total";
pub const BUILDS_CANCELLED_TOTAL: &str = "builds_cancelled_total";
/// Workspace starts refused because the cluster was full.
pub const BUILDS_CAPACITY_FAILED_TOTAL: &str = "builds_capacity_failed_total";
/// Busy daemons over live daemons, ratio.
pub const PROVISIONER_UTILIZATION: &str = "provisioner_utilization";
pub const PROVISIONER_BUSY_DAEMONS: &str = "provisioner_busy_daemons";
pub const PROVISIONER_DAEMONS: &str = "provisioner_daemons";
/// Provisioner CPU in use, vCPU.
pub const PROVISIONER_CPU_CORES: &str = "provisioner_cpu_cores";

// ----- the API and coderd ----------------------------------------------------

/// By `class` (`dashboard`, `agent`, `connect`, `build`, `total`), 1/s.
pub const API_REQUESTS_PER_SECOND: &str = "api_requests_per_second";
/// By `class`, s.
pub const API_LATENCY_SECONDS: &str = "api_latency_seconds";
/// API requests lost, in total and by `class`: no replica ready (a request,
/// a connection's dial or an agent's), a replica died with them in flight,
/// or a CPU over its in-service cap.
pub const API_ERRORS_TOTAL: &str = "api_errors_total";
/// API requests that succeeded over those attempted (succeeded + lost), in
/// total and by `class`, ratio.
pub const API_SUCCESS_RATIO: &str = "api_success_ratio";
/// 1 while at least one coderd replica is ready, else 0; its time-weighted
/// mean is the fraction of time coderd could answer, ratio.
pub const CODERD_AVAILABLE: &str = "coderd_available";
/// One coderd `replica`'s CPU over its vCPUs, ratio.
pub const CODERD_CPU_UTILIZATION: &str = "coderd_cpu_utilization";
/// vCPUs in use across all replicas, derived from the per-replica series.
pub const CODERD_CPU_CORES: &str = "coderd_cpu_cores";
/// Core-seconds a `replica` spent on requests over the whole run, s.
pub const CODERD_CPU_BUSY_SECONDS_TOTAL: &str = "coderd_cpu_busy_seconds_total";
/// CPU cost of the requests a `replica` finished over the whole run, s.
pub const CODERD_CPU_WORK_SECONDS_TOTAL: &str = "coderd_cpu_work_seconds_total";
/// One `replica`'s memory, B.
pub const CODERD_MEMORY_BYTES: &str = "coderd_memory_bytes";
/// Long-lived connections pinned to one `replica`.
pub const CODERD_CONNECTIONS: &str = "coderd_connections";
pub const CODERD_WEBSOCKETS: &str = "coderd_websockets";
/// Ready coderd replicas.
pub const CODERD_REPLICAS: &str = "coderd_replicas";

// ----- the database and proxies ----------------------------------------------

/// The database's CPU over its vCPUs, ratio.
pub const DATABASE_CPU_UTILIZATION: &str = "database_cpu_utilization";
pub const DATABASE_WRITES_PER_SECOND: &str = "database_writes_per_second";
pub const DATABASE_DISK_WRITE_OPS_PER_SECOND: &str = "database_disk_write_ops_per_second";
/// Database queries of coderd's fleet-wide periodic work, by `job`
/// (`autobuild`, `deployment_stats`).
pub const PERIODIC_DB_QUERIES_TOTAL: &str = "periodic_db_queries_total";
/// Database CPU of that work, core-seconds, by `job`.
pub const PERIODIC_DB_CPU_SECONDS_TOTAL: &str = "periodic_db_cpu_seconds_total";
/// One workspace `proxy`'s CPU over its vCPUs, ratio.
pub const PROXY_CPU_UTILIZATION: &str = "proxy_cpu_utilization";

// ----- agents ------------------------------------------------------------------

pub const AGENT_METADATA_CALLS_PER_SECOND: &str = "agent_metadata_calls_per_second";
pub const AGENT_METADATA_ITEMS_PER_SECOND: &str = "agent_metadata_items_per_second";
/// Metadata values sent, B/s.
pub const AGENT_METADATA_BYTES_PER_SECOND: &str = "agent_metadata_bytes_per_second";

// ----- connections and users ---------------------------------------------------

/// Open connections by `kind` (`ssh`, `ide`, `web_terminal`, `app`, `dashboard`, `agent`).
pub const CONNECTIONS_ACTIVE: &str = "connections_active";
pub const CONNECTIONS_OPENED_TOTAL: &str = "connections_opened_total";
pub const CONNECTIONS_CLOSED_TOTAL: &str = "connections_closed_total";
/// Lost because their replica went away, by `kind`.
pub const CONNECTIONS_DROPPED_TOTAL: &str = "connections_dropped_total";
pub const RECONNECTS_TOTAL: &str = "reconnects_total";
/// Sessions users lost, in total and by `kind`.
pub const INTERRUPTIONS_TOTAL: &str = "interruptions_total";
pub const USER_SESSIONS_TOTAL: &str = "user_sessions_total";
pub const USERS_PRESENT: &str = "users_present";
pub const WORKSPACES_RUNNING: &str = "workspaces_running";

// ----- workspace compute: node pools (`world/nodes.rs`) ------------------------

/// Nodes of a `pool` that exist (starting or ready: both are billed).
pub const WORKSPACE_NODES: &str = "workspace_nodes";
/// The time integral of `workspace_nodes` after the warm-up, node-hours, by `pool`.
pub const WORKSPACE_NODE_HOURS_TOTAL: &str = "workspace_node_hours_total";
/// vCPU the workspaces placed on a `pool` request.
pub const WORKSPACE_POOL_CPU_REQUESTED_VCPU: &str = "workspace_pool_cpu_requested_vcpu";
/// vCPU they use (agent, plus working or idle use), by `pool`.
pub const WORKSPACE_POOL_CPU_USED_VCPU: &str = "workspace_pool_cpu_used_vcpu";
/// Memory they request, B, by `pool`.
pub const WORKSPACE_POOL_MEMORY_REQUESTED_BYTES: &str = "workspace_pool_memory_requested_bytes";
/// Memory they use, B, by `pool`.
pub const WORKSPACE_POOL_MEMORY_USED_BYTES: &str = "workspace_pool_memory_used_bytes";
/// Used CPU or memory (the larger) over the ready nodes' allocatable, by
/// `pool`: what the autoscaler compares with `scale_up_utilization`, ratio.
pub const WORKSPACE_POOL_UTILIZATION: &str = "workspace_pool_utilization";
/// Start builds holding their daemon while their workspace waits for a node.
pub const WORKSPACES_WAITING_FOR_NODE: &str = "workspaces_waiting_for_node";
/// How long a start build's workspace waited for a node (0 when one had room), s.
pub const WORKSPACE_NODE_WAIT_SECONDS: &str = "workspace_node_wait_seconds";
/// Workspace start time: queue wait + build + node wait, of users' starts
/// that succeeded, s.
pub const WORKSPACE_START_SECONDS: &str = "workspace_start_seconds";
/// Start builds failed because the node wait passed the provider's time-out
/// (also in `builds_failed_total`).
pub const WORKSPACE_NODE_TIMEOUTS_TOTAL: &str = "workspace_node_timeouts_total";

/// Every metric name, in the order of README.md's table.
pub const ALL: [&str; 56] = [
    BUILD_QUEUE_WAIT_SECONDS,
    BUILD_TIME_SECONDS,
    BUILD_QUEUE_WAIT_PROBABILITY,
    BUILDS_CREATED_TOTAL,
    BUILDS_STARTED_TOTAL,
    BUILDS_COMPLETED_TOTAL,
    BUILDS_FAILED_TOTAL,
    BUILDS_CANCELLED_TOTAL,
    BUILDS_CAPACITY_FAILED_TOTAL,
    PROVISIONER_UTILIZATION,
    PROVISIONER_BUSY_DAEMONS,
    PROVISIONER_DAEMONS,
    PROVISIONER_CPU_CORES,
    BUILD_QUEUE_LENGTH,
    API_REQUESTS_PER_SECOND,
    API_LATENCY_SECONDS,
    API_ERRORS_TOTAL,
    API_SUCCESS_RATIO,
    CODERD_AVAILABLE,
    CODERD_CPU_UTILIZATION,
    CODERD_CPU_CORES,
    CODERD_CPU_BUSY_SECONDS_TOTAL,
    CODERD_CPU_WORK_SECONDS_TOTAL,
    CODERD_MEMORY_BYTES,
    CODERD_CONNECTIONS,
    CODERD_WEBSOCKETS,
    CODERD_REPLICAS,
    DATABASE_CPU_UTILIZATION,
    DATABASE_WRITES_PER_SECOND,
    DATABASE_DISK_WRITE_OPS_PER_SECOND,
    PERIODIC_DB_QUERIES_TOTAL,
    PERIODIC_DB_CPU_SECONDS_TOTAL,
    AGENT_METADATA_CALLS_PER_SECOND,
    AGENT_METADATA_ITEMS_PER_SECOND,
    AGENT_METADATA_BYTES_PER_SECOND,
    CONNECTIONS_ACTIVE,
    CONNECTIONS_OPENED_TOTAL,
    CONNECTIONS_CLOSED_TOTAL,
    CONNECTIONS_DROPPED_TOTAL,
    RECONNECTS_TOTAL,
    INTERRUPTIONS_TOTAL,
    USER_SESSIONS_TOTAL,
    USERS_PRESENT,
    WORKSPACES_RUNNING,
    PROXY_CPU_UTILIZATION,
    WORKSPACE_NODES,
    WORKSPACE_NODE_HOURS_TOTAL,
    WORKSPACE_POOL_CPU_REQUESTED_VCPU,
    WORKSPACE_POOL_CPU_USED_VCPU,
    WORKSPACE_POOL_MEMORY_REQUESTED_BYTES,
    WORKSPACE_POOL_MEMORY_USED_BYTES,
    WORKSPACE_POOL_UTILIZATION,
    WORKSPACES_WAITING_FOR_NODE,
    WORKSPACE_NODE_WAIT_SECONDS,
    WORKSPACE_START_SECONDS,
    WORKSPACE_NODE_TIMEOUTS_TOTAL,
];

/// What a run can report: every metric of the summary, its statistics, and
/// its label keys with the values each can take. The table lives in
/// `scenario::emitted`, below the model, so the scenario can check its SLOs
/// against it; the test below holds it to what runs produce.
pub fn catalogue() -> &'static [crate::scenario::emitted::Emitted] {
    crate::scenario::emitted::EMITTED
}

/// Metrics of the build queue alone: what a scenario without coderd and
/// users reports.
pub fn is_build_queue(name: &str) -> bool {
    name.starts_with("build") || name.starts_with("provisioner")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_distinct_and_every_run_metric_is_listed() {
        let listed: Vec<&str> = catalogue().iter().map(|e| e.metric).collect();
        assert_eq!(listed, ALL, "the catalogue lists ALL, in order");
        let mut sorted = ALL.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), ALL.len());
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        for (file, duration) in [
            ("scenarios/coder/replica-crash-peak.toml", "4h"),
            (
                "scenarios/scale-tests/published-v2.10.2-1000-users.toml",
                "20m",
            ),
            ("scenarios/build-queue/mmc.toml", "3h"),
            ("scenarios/coder/nodes-herd-scale-to-zero.toml", "12h"),
        ] {
            let s = crate::scenario::load_with_overrides(
                &root.join(file),
                &[("duration".into(), toml::Value::String(duration.into()))],
            )
            .unwrap();
            let r = crate::simulate(&s, s.seed);
            let names = crate::scenario::emitted::ScenarioNames::of(&s);
            let mut seen: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
            for m in &r.metrics {
                assert!(ALL.contains(&m.name.as_str()), "{file}: {}", m.name);
                // The catalogue the SLO check reads lists it, its statistic
                // and its labels.
                let e = crate::scenario::emitted::find(&m.name).expect("catalogued");
                assert!(e.stats.contains(&m.stat.as_str()), "{file}: {m:?}");
                for (k, v) in &m.labels {
                    let (_, values) = e
                        .labels
                        .iter()
                        .find(|(key, _)| key == k)
                        .unwrap_or_else(|| panic!("{file}: label {k} of {m:?}"));
                    values
                        .check(v, &names)
                        .unwrap_or_else(|why| panic!("{file}: {m:?}: {why}"));
                }
                let stat = *e.stats.iter().find(|x| **x == m.stat).unwrap();
                let st = seen.entry(e.metric).or_default();
                if !st.contains(&stat) {
                    st.push(stat);
                }
            }
            // And no statistic a metric never has.
            for (metric, stats) in seen {
                let e = crate::scenario::emitted::find(metric).unwrap();
                let mut want = e.stats.to_vec();
                let mut got = stats;
                want.sort_unstable();
                got.sort_unstable();
                assert_eq!(got, want, "{file}: {metric}");
            }
            for sr in &r.series.series {
                assert!(ALL.contains(&sr.name.as_str()), "{file}: {}", sr.name);
            }
        }
    }
}
