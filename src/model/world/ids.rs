//! The world's metric handles, registered with the recorder once, in the
//! order the outputs list them (registration order is output order).

use super::*;

/// The world's metrics. Vectors are indexed by `RequestClass` (the API
/// classes), `Client::index` or `ConnKind` (interruptions: the first four).
pub(super) struct Ids {
    pub(super) rps: Vec<RateId>,
    pub(super) rps_total: RateId,
    pub(super) latency: Vec<HistId>,
    pub(super) errors: CounterId,
    pub(super) replicas: GaugeId,
    pub(super) db_util: SampleId,
    pub(super) db_writes: RateId,
    pub(super) db_disk_writes: RateId,
    pub(super) active: Vec<GaugeId>,
    pub(super) opened: Vec<CounterId>,
    pub(super) closed: Vec<CounterId>,
    pub(super) dropped: Vec<CounterId>,
    pub(super) reconnects: Vec<CounterId>,
    pub(super) interruptions: CounterId,
    pub(super) interruptions_kind: Vec<CounterId>,
    pub(super) websockets: GaugeId,
    pub(super) workspaces: GaugeId,
    pub(super) users_present: GaugeId,
    pub(super) prov_cpu: GaugeId,
    pub(super) proxy_util: Vec<GaugeId>,
    pub(super) capacity_failed: CounterId,
    pub(super) meta_calls: RateId,
    pub(super) meta_items: RateId,
    pub(super) meta_bytes: RateId,
    pub(super) sessions: CounterId,
}

impl Ids {
    pub(super) fn register(rec: &mut Recorder, s: &Scenario) -> Ids {
        Ids {
            rps: RequestClass::API
                .iter()
                .map(|c| {
                    rec.rate(
                        "api_requests_per_second",
                        labels([("class", c.name())]),
                        "1/s",
                    )
                })
                .collect(),
            rps_total: rec.rate(
                "api_requests_per_second",
                labels([("class", "total")]),
                "1/s",
            ),
            latency: RequestClass::API
                .iter()
                .map(|c| {
                    rec.histogram_with_bounds(
                        "api_latency_seconds",
                        labels([("class", c.name())]),
                        "s",
                        &crate::model::coder_metrics::API_LATENCY_BOUNDS_S,
                    )
                })
                .collect(),
            errors: rec.counter("api_errors_total", Labels::new(), "1"),
            replicas: rec.gauge("coderd_replicas", Labels::new(), "1"),
            db_util: rec.sampled("database_cpu_utilization", Labels::new(), "ratio"),
            db_writes: rec.rate("database_writes_per_second", Labels::new(), "1/s"),
            db_disk_writes: rec.rate("database_disk_write_ops_per_second", Labels::new(), "1/s"),
            active: Client::ALL
                .iter()
                .map(|k| rec.gauge("connections_active", labels([("kind", k.name())]), "1"))
                .collect(),
            opened: Client::ALL
                .iter()
                .map(|k| {
                    rec.counter(
                        "connections_opened_total",
                        labels([("kind", k.name())]),
                        "1",
                    )
                })
                .collect(),
            closed: Client::ALL
                .iter()
                .map(|k| {
                    rec.counter(
                        "connections_closed_total",
                        labels([("kind", k.name())]),
                        "1",
                    )
                })
                .collect(),
            dropped: Client::ALL
                .iter()
                .map(|k| {
                    rec.counter(
                        "connections_dropped_total",
                        labels([("kind", k.name())]),
                        "1",
                    )
                })
                .collect(),
            reconnects: Client::ALL
                .iter()
                .map(|k| rec.counter("reconnects_total", labels([("kind", k.name())]), "1"))
                .collect(),
            interruptions: rec.counter("interruptions_total", Labels::new(), "1"),
            interruptions_kind: ConnKind::ALL[..4]
                .iter()
                .map(|k| rec.counter("interruptions_total", labels([("kind", k.name())]), "1"))
                .collect(),
            websockets: rec.gauge("coderd_websockets", Labels::new(), "1"),
            workspaces: rec.gauge("workspaces_running", Labels::new(), "1"),
            users_present: rec.gauge("users_present", Labels::new(), "1"),
            prov_cpu: rec.gauge("provisioner_cpu_cores", Labels::new(), "vCPU"),
            proxy_util: s
                .deployment
                .proxies
                .iter()
                .map(|p| {
                    rec.gauge(
                        "proxy_cpu_utilization",
                        labels([("proxy", &p.name)]),
                        "ratio",
                    )
                })
                .collect(),
            capacity_failed: rec.counter("builds_capacity_failed_total", Labels::new(), "1"),
            meta_calls: rec.rate("agent_metadata_calls_per_second", Labels::new(), "1/s"),
            meta_items: rec.rate("agent_metadata_items_per_second", Labels::new(), "1/s"),
            meta_bytes: rec.rate("agent_metadata_bytes_per_second", Labels::new(), "B/s"),
            sessions: rec.counter("user_sessions_total", Labels::new(), "1"),
        }
    }
}

/// One replica's metric handles (`replica` label: its index).
pub(super) struct ReplicaIds {
    pub(super) util: SampleId,
    pub(super) mem: GaugeId,
    pub(super) conns: GaugeId,
}

impl ReplicaIds {
    pub(super) fn register(rec: &mut Recorder, replica: usize) -> ReplicaIds {
        let l = labels([("replica", replica.to_string().as_str())]);
        ReplicaIds {
            util: rec.sampled("coderd_cpu_utilization", l.clone(), "ratio"),
            mem: rec.gauge("coderd_memory_bytes", l.clone(), "B"),
            conns: rec.gauge("coderd_connections", l, "1"),
        }
    }
}
