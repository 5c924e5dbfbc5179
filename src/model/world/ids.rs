//! The world's metric handles, registered with the recorder once, in the
//! order the outputs list them (registration order is output order).

use super::*;
use crate::model::metric_names as m;

/// The world's metrics. Vectors are indexed by `RequestClass` (the API
/// classes), `Client::index` or `ConnKind` (interruptions: the first four).
pub(super) struct Ids {
    pub(super) rps: Vec<RateId>,
    pub(super) rps_total: RateId,
    pub(super) latency: Vec<HistId>,
    /// `api_errors_total`, all classes (and internal database work).
    pub(super) errors: CounterId,
    /// `api_errors_total` by API class.
    pub(super) errors_class: Vec<CounterId>,
    pub(super) replicas: GaugeId,
    /// `coderd_available`: 1 while a replica is ready.
    pub(super) available: GaugeId,
    pub(super) db_util: SampleId,
    pub(super) db_writes: RateId,
    pub(super) db_disk_writes: RateId,
    /// Indexed by `fleet::FleetJob`.
    pub(super) periodic_queries: Vec<CounterId>,
    pub(super) periodic_db_s: Vec<CounterId>,
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
                        m::API_REQUESTS_PER_SECOND,
                        labels([("class", c.name())]),
                        "1/s",
                    )
                })
                .collect(),
            rps_total: rec.rate(
                m::API_REQUESTS_PER_SECOND,
                labels([("class", "total")]),
                "1/s",
            ),
            latency: RequestClass::API
                .iter()
                .map(|c| {
                    rec.histogram_with_bounds(
                        m::API_LATENCY_SECONDS,
                        labels([("class", c.name())]),
                        "s",
                        &crate::model::coder_metrics::API_LATENCY_BOUNDS_S,
                    )
                })
                .collect(),
            errors: rec.counter(m::API_ERRORS_TOTAL, Labels::new(), "1"),
            errors_class: RequestClass::API
                .iter()
                .map(|c| rec.counter(m::API_ERRORS_TOTAL, labels([("class", c.name())]), "1"))
                .collect(),
            replicas: rec.gauge(m::CODERD_REPLICAS, Labels::new(), "1"),
            available: rec.gauge(m::CODERD_AVAILABLE, Labels::new(), "ratio"),
            db_util: rec.sampled(m::DATABASE_CPU_UTILIZATION, Labels::new(), "ratio"),
            db_writes: rec.rate(m::DATABASE_WRITES_PER_SECOND, Labels::new(), "1/s"),
            db_disk_writes: rec.rate(m::DATABASE_DISK_WRITE_OPS_PER_SECOND, Labels::new(), "1/s"),
            periodic_queries: fleet::FleetJob::ALL
                .iter()
                .map(|j| {
                    rec.counter(
                        m::PERIODIC_DB_QUERIES_TOTAL,
                        labels([("job", j.name())]),
                        "1",
                    )
                })
                .collect(),
            periodic_db_s: fleet::FleetJob::ALL
                .iter()
                .map(|j| {
                    rec.counter(
                        m::PERIODIC_DB_CPU_SECONDS_TOTAL,
                        labels([("job", j.name())]),
                        "s",
                    )
                })
                .collect(),
            active: Client::ALL
                .iter()
                .map(|k| rec.gauge(m::CONNECTIONS_ACTIVE, labels([("kind", k.name())]), "1"))
                .collect(),
            opened: Client::ALL
                .iter()
                .map(|k| {
                    rec.counter(
                        m::CONNECTIONS_OPENED_TOTAL,
                        labels([("kind", k.name())]),
                        "1",
                    )
                })
                .collect(),
            closed: Client::ALL
                .iter()
                .map(|k| {
                    rec.counter(
                        m::CONNECTIONS_CLOSED_TOTAL,
                        labels([("kind", k.name())]),
                        "1",
                    )
                })
                .collect(),
            dropped: Client::ALL
                .iter()
                .map(|k| {
                    rec.counter(
                        m::CONNECTIONS_DROPPED_TOTAL,
                        labels([("kind", k.name())]),
                        "1",
                    )
                })
                .collect(),
            reconnects: Client::ALL
                .iter()
                .map(|k| rec.counter(m::RECONNECTS_TOTAL, labels([("kind", k.name())]), "1"))
                .collect(),
            interruptions: rec.counter(m::INTERRUPTIONS_TOTAL, Labels::new(), "1"),
            interruptions_kind: ConnKind::ALL[..4]
                .iter()
                .map(|k| rec.counter(m::INTERRUPTIONS_TOTAL, labels([("kind", k.name())]), "1"))
                .collect(),
            websockets: rec.gauge(m::CODERD_WEBSOCKETS, Labels::new(), "1"),
            workspaces: rec.gauge(m::WORKSPACES_RUNNING, Labels::new(), "1"),
            users_present: rec.gauge(m::USERS_PRESENT, Labels::new(), "1"),
            prov_cpu: rec.gauge(m::PROVISIONER_CPU_CORES, Labels::new(), "vCPU"),
            proxy_util: s
                .deployment
                .proxies
                .iter()
                .map(|p| {
                    rec.gauge(
                        m::PROXY_CPU_UTILIZATION,
                        labels([("proxy", &p.name)]),
                        "ratio",
                    )
                })
                .collect(),
            capacity_failed: rec.counter(m::BUILDS_CAPACITY_FAILED_TOTAL, Labels::new(), "1"),
            meta_calls: rec.rate(m::AGENT_METADATA_CALLS_PER_SECOND, Labels::new(), "1/s"),
            meta_items: rec.rate(m::AGENT_METADATA_ITEMS_PER_SECOND, Labels::new(), "1/s"),
            meta_bytes: rec.rate(m::AGENT_METADATA_BYTES_PER_SECOND, Labels::new(), "B/s"),
            sessions: rec.counter(m::USER_SESSIONS_TOTAL, Labels::new(), "1"),
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
            util: rec.sampled(m::CODERD_CPU_UTILIZATION, l.clone(), "ratio"),
            mem: rec.gauge(m::CODERD_MEMORY_BYTES, l.clone(), "B"),
            conns: rec.gauge(m::CODERD_CONNECTIONS, l, "1"),
        }
    }
}
