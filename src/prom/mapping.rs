//! The metric mapping: which capsim series is which Coder metric, and which
//! Prometheus queries the importer reads. One table for both directions (the
//! README's Metrics section documents it row by row).
//!
//! Coder's metric names, labels and bucket boundaries are from
//! `../shared/data/coder-prometheus-metrics.csv`, except `coderd_agents_up`
//! (Coder's `coderd/prometheusmetrics` agents collector, listed in Coder's
//! `docs/admin/integrations/prometheus.md`) and `process_cpu_seconds_total`
//! (the Prometheus Go client's process collector, which coderd's `/metrics`
//! serves like every Go program instrumented with it).
//!
//! A capsim series is written under a Coder name only where it counts the
//! same thing. Where it does not, it keeps its own name with a `capsim_`
//! prefix: for example `coder_servertailnet_open_connections` counts
//! coderd's tailnet connections *to agents* (one per agent coderd relays
//! for), not user sessions, and `coderd_agentapi_metadata_batches_total`
//! counts coderd's batch flushes, not agent calls, so neither is mapped.
//!
//! The availability series have no Coder equivalent and keep their capsim
//! names: `coderd_available` (Coder exports nothing for it; the nearest is
//! Prometheus's own `up{job="coderd"}`, written by the scraper, not by
//! coderd), `api_success_ratio` and `api_errors_total` (requests the load
//! balancer refuses while no replica is ready never reach coderd, so
//! `coderd_api_requests_processed_total{code=~"5.."}` does not count them).

use crate::model::metric_names as m;

/// OpenMetrics type of an exported family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// Which capsim time series a family is read from, and how.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Read {
    /// The per-bucket `count` of a counter, summed into a running total.
    Count,
    /// The per-bucket `mean` of a rate (per second) times the bucket's
    /// length, summed into a running total.
    RateTotal,
    /// The per-bucket `mean` of a gauge or a sampled value, as it is.
    Mean,
    /// The per-bucket `mean` of a CPU utilisation times the replica's vCPUs
    /// times the bucket's length, summed: core-seconds, as a process's CPU
    /// time counter.
    CpuSeconds,
    /// A histogram's per-bucket `bucket` (one series per `le`), `count` and
    /// `mean` (for `_sum`), summed into running totals.
    Histogram,
    /// A histogram's per-bucket `count` only, as a counter of observations.
    HistogramCount,
}

/// How a capsim label value becomes the exported one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Value {
    /// Unchanged.
    Same,
    /// An API request class becomes the path of [`ROUTES`].
    Route,
    /// `start` / `stop` become Coder's `START` / `STOP`.
    Upper,
    /// A replica index `n` becomes the instance `coderd-n`.
    Replica,
}

/// One row of the mapping.
#[derive(Clone, Copy, Debug)]
pub struct Mapping {
    /// The capsim metric.
    pub capsim: &'static str,
    /// Only its series that carry these labels.
    pub select: &'static [(&'static str, &'static str)],
    pub read: Read,
    /// The exported family (without `_total` for counters).
    pub family: &'static str,
    pub kind: Kind,
    /// capsim label → exported label and how its value changes; other
    /// capsim labels are dropped.
    pub labels: &'static [(&'static str, &'static str, Value)],
    /// Labels written with a fixed value.
    pub fixed: &'static [(&'static str, &'static str)],
    /// What the two have in common and where they differ (the README's Metrics section).
    pub note: &'static str,
}

/// capsim's API request classes and Coder's `path` label: the export writes
/// the class's `path`; the import puts a Coder route in the first class
/// whose rule matches it (a route matching none is `dashboard`).
pub struct Route {
    pub class: &'static str,
    /// The `path` written for this class (a route pattern of its kind).
    pub path: &'static str,
    /// Substrings of a Coder route that put it in this class.
    pub contains: &'static [&'static str],
}

pub const ROUTES: [Route; 4] = [
    Route {
        class: "agent",
        path: "/api/v2/workspaceagents/me/*",
        contains: &["/workspaceagents/me/"],
    },
    Route {
        class: "connect",
        path: "/api/v2/workspaceagents/{workspaceagent}/coordinate",
        contains: &["/coordinate", "/derp", "/tailnet"],
    },
    Route {
        class: "build",
        path: "/api/v2/workspaces/{workspace}/builds",
        contains: &["/workspaces/{workspace}/builds", "/builds"],
    },
    Route {
        class: "dashboard",
        path: "/api/v2/*",
        contains: &[],
    },
];

/// The capsim class of a Coder route (`path` label).
pub fn route_class(path: &str) -> &'static str {
    ROUTES
        .iter()
        .find(|r| r.contains.iter().any(|c| path.contains(c)))
        .map_or("dashboard", |r| r.class)
}

/// The `path` written for a capsim class.
pub fn class_route(class: &str) -> Option<&'static str> {
    ROUTES.iter().find(|r| r.class == class).map(|r| r.path)
}

const TEMPLATE_TRANSITION: &[(&str, &str, Value)] = &[
    ("template", "template_name", Value::Same),
    ("transition", "workspace_transition", Value::Upper),
];

/// Every capsim series exported under another name than `capsim_<name>`.
pub const MAPPINGS: [Mapping; 14] = [
    Mapping {
        capsim: m::API_REQUESTS_PER_SECOND,
        select: &[],
        read: Read::RateTotal,
        family: "coderd_api_requests_processed",
        kind: Kind::Counter,
        labels: &[
            ("class", "path", Value::Route),
            ("class", "class", Value::Same),
        ],
        fixed: &[],
        note: "HTTP API requests coderd finished, by route class; `path` is a route of the class (see the route table), `code` and `method` are not modelled. The class `total` stays `capsim_api_requests_per_second`.",
    },
    Mapping {
        capsim: m::API_LATENCY_SECONDS,
        select: &[],
        read: Read::Histogram,
        family: "coderd_api_request_latencies_seconds",
        kind: Kind::Histogram,
        labels: &[
            ("class", "path", Value::Route),
            ("class", "class", Value::Same),
        ],
        fixed: &[],
        note: "Request latency with Coder's buckets; capsim's latency is coderd CPU plus database time plus round trips, Coder's is the handler's wall time.",
    },
    Mapping {
        capsim: m::BUILD_QUEUE_WAIT_SECONDS,
        select: &[],
        read: Read::Histogram,
        family: "coderd_provisioner_job_queue_wait_seconds",
        kind: Kind::Histogram,
        labels: &[],
        fixed: &[],
        note: "Time from a job's creation until a daemon acquires it, every job kind together (Coder's `provisioner_type`, `job_type`, `transition` and `build_reason` labels are not written).",
    },
    Mapping {
        capsim: m::BUILD_TIME_SECONDS,
        select: &[],
        read: Read::Histogram,
        family: "coderd_provisionerd_workspace_build_timings_seconds",
        kind: Kind::Histogram,
        labels: TEMPLATE_TRANSITION,
        fixed: &[("status", "success")],
        note: "Successful builds' time on their daemon, by template and transition (capsim's start builds include prebuilds and template imports).",
    },
    Mapping {
        capsim: m::BUILD_TIME_SECONDS,
        select: &[],
        read: Read::HistogramCount,
        family: "coderd_workspace_builds",
        kind: Kind::Counter,
        labels: TEMPLATE_TRANSITION,
        fixed: &[("status", "success")],
        note: "Successful builds by template and transition.",
    },
    Mapping {
        capsim: m::BUILDS_FAILED_TOTAL,
        select: &[],
        read: Read::Count,
        family: "coderd_workspace_builds",
        kind: Kind::Counter,
        labels: &[],
        fixed: &[("status", "failed"), ("workspace_transition", "START")],
        note: "Failed builds (all templates; capsim's count includes jobs that timed out waiting or were refused by the waiting-line cap).",
    },
    Mapping {
        capsim: m::PROVISIONER_BUSY_DAEMONS,
        select: &[],
        read: Read::Mean,
        family: "coderd_provisionerd_jobs_current",
        kind: Kind::Gauge,
        labels: &[],
        fixed: &[],
        note: "Builds running now, summed over daemons.",
    },
    Mapping {
        capsim: m::PROVISIONER_DAEMONS,
        select: &[],
        read: Read::Mean,
        family: "coderd_provisionerd_num_daemons",
        kind: Kind::Gauge,
        labels: &[],
        fixed: &[],
        note: "Live provisioner daemons (built-in and external together).",
    },
    Mapping {
        capsim: m::CODERD_WEBSOCKETS,
        select: &[],
        read: Read::Mean,
        family: "coderd_api_concurrent_websockets",
        kind: Kind::Gauge,
        labels: &[],
        fixed: &[],
        note: "Open websockets on coderd (agent API connections and user websockets), without Coder's `path` label.",
    },
    Mapping {
        capsim: m::CONNECTIONS_ACTIVE,
        select: &[("kind", "agent")],
        read: Read::Mean,
        family: "coderd_agents_up",
        kind: Kind::Gauge,
        labels: &[],
        fixed: &[],
        note: "Agents connected to coderd, summed over workspaces.",
    },
    Mapping {
        capsim: m::CONNECTIONS_ACTIVE,
        select: &[("kind", "ssh")],
        read: Read::Mean,
        family: "coderd_agentstats_session_count_ssh",
        kind: Kind::Gauge,
        labels: &[],
        fixed: &[],
        note: "Open SSH sessions, summed over agents (Coder reports them with agent stats, CODER_PROMETHEUS_COLLECT_AGENT_STATS).",
    },
    Mapping {
        capsim: m::CONNECTIONS_ACTIVE,
        select: &[("kind", "ide")],
        read: Read::Mean,
        family: "coderd_agentstats_session_count_vscode",
        kind: Kind::Gauge,
        labels: &[],
        fixed: &[],
        note: "Open IDE sessions: capsim does not tell VS Code from JetBrains, so all are written as `vscode` (the import adds `vscode` and `jetbrains`).",
    },
    Mapping {
        capsim: m::CONNECTIONS_ACTIVE,
        select: &[("kind", "web_terminal")],
        read: Read::Mean,
        family: "coderd_agentstats_session_count_reconnecting_pty",
        kind: Kind::Gauge,
        labels: &[],
        fixed: &[],
        note: "Open web terminals (reconnecting PTYs), summed over agents.",
    },
    Mapping {
        capsim: m::CODERD_CPU_UTILIZATION,
        select: &[],
        read: Read::CpuSeconds,
        family: "process_cpu_seconds",
        kind: Kind::Counter,
        labels: &[("replica", "instance", Value::Replica)],
        fixed: &[("job", "coderd")],
        note: "CPU seconds of each coderd replica (utilisation x vCPUs x time), as the Go client's `process_cpu_seconds_total`.",
    },
];

/// The rows that export `capsim` series with these labels.
pub fn mappings_for<'a>(
    capsim: &'a str,
    labels: &'a crate::engine::metrics::Labels,
) -> impl Iterator<Item = &'static Mapping> + 'a {
    MAPPINGS.iter().filter(move |m| {
        m.capsim == capsim
            && m.select
                .iter()
                .all(|(k, v)| labels.get(*k).map(String::as_str) == Some(*v))
            && !(m.read == Read::RateTotal
                && labels
                    .get("class")
                    .is_some_and(|c| class_route(c).is_none()))
    })
}

/// How an import query's answer is computed, as data: the same query as
/// its PromQL text, so that a test can answer it from an export.
#[derive(Clone, Copy, Debug)]
pub struct QuerySpec {
    /// Sample names read (several: one series per name, grouped by `__name__`).
    pub samples: &'static [&'static str],
    /// Label matchers `label="value"`.
    pub matchers: &'static [(&'static str, &'static str)],
    /// `rate(...[$STEP])` (else the instant value).
    pub rate: bool,
    /// `sum by (...)`.
    pub by: &'static [&'static str],
}

/// A query the importer reads: its answer is `<name>.json` in the folder.
#[derive(Clone, Copy, Debug)]
pub struct Query {
    pub name: &'static str,
    /// PromQL; `$STEP` is the query's step (e.g. `5m`).
    pub promql: &'static str,
    pub spec: QuerySpec,
    /// Without it there is no scenario to write (an error, exit code 2);
    /// without the others capsim keeps its defaults and says so.
    pub required: bool,
    /// What capsim derives from it.
    pub gives: &'static str,
}

pub const QUERIES: [Query; 12] = [
    Query {
        name: "builds",
        promql: "sum by (template_name, workspace_transition, status) (rate(coderd_workspace_builds_total[$STEP]))",
        spec: QuerySpec {
            samples: &["coderd_workspace_builds_total"],
            matchers: &[],
            rate: true,
            by: &["template_name", "workspace_transition", "status"],
        },
        required: true,
        gives: "users (one START build per working day), their arrival and leaving times (START and STOP builds by time of day), weekday and weekend activity, templates' shares and failure probabilities",
    },
    Query {
        name: "build_time",
        promql: "sum by (template_name, workspace_transition, le) (rate(coderd_provisionerd_workspace_build_timings_seconds_bucket{status=\"success\"}[$STEP]))",
        spec: QuerySpec {
            samples: &["coderd_provisionerd_workspace_build_timings_seconds_bucket"],
            matchers: &[("status", "success")],
            rate: true,
            by: &["template_name", "workspace_transition", "le"],
        },
        required: true,
        gives: "each template's build and stop time (lognormal fitted to the buckets)",
    },
    Query {
        name: "workspaces",
        promql: "sum(coderd_agents_up)",
        spec: QuerySpec {
            samples: &["coderd_agents_up"],
            matchers: &[],
            rate: false,
            by: &[],
        },
        required: true,
        gives: "the whole days the answers cover; metadata items per agent; a target: agents connected",
    },
    Query {
        name: "coderd_cpu",
        promql: "sum by (instance) (rate(process_cpu_seconds_total{job=\"coderd\"}[$STEP]))",
        spec: QuerySpec {
            samples: &["process_cpu_seconds_total"],
            matchers: &[("job", "coderd")],
            rate: true,
            by: &["instance"],
        },
        required: true,
        gives: "coderd replicas (one series per instance) and the coderd CPU targets",
    },
    Query {
        name: "provisioners",
        promql: "sum(coderd_provisionerd_num_daemons)",
        spec: QuerySpec {
            samples: &["coderd_provisionerd_num_daemons"],
            matchers: &[],
            rate: false,
            by: &[],
        },
        required: true,
        gives: "provisioner daemons",
    },
    Query {
        name: "provisioner_jobs",
        promql: "sum(coderd_provisionerd_jobs_current)",
        spec: QuerySpec {
            samples: &["coderd_provisionerd_jobs_current"],
            matchers: &[],
            rate: false,
            by: &[],
        },
        required: false,
        gives: "a target: busy provisioner daemons",
    },
    Query {
        name: "queue_wait",
        promql: "sum by (le) (rate(coderd_provisioner_job_queue_wait_seconds_bucket[$STEP]))",
        spec: QuerySpec {
            samples: &["coderd_provisioner_job_queue_wait_seconds_bucket"],
            matchers: &[],
            rate: true,
            by: &["le"],
        },
        required: false,
        gives: "targets: build queue wait p50 and p95 (the buckets that hold them); the queue wait subtracted from build completion times",
    },
    Query {
        name: "api_requests",
        promql: "sum by (path) (rate(coderd_api_requests_processed_total[$STEP]))",
        spec: QuerySpec {
            samples: &["coderd_api_requests_processed_total"],
            matchers: &[],
            rate: true,
            by: &["path"],
        },
        required: false,
        gives: "dashboard requests per user action; targets: request rates by route class",
    },
    Query {
        name: "api_latency",
        promql: "sum by (path, le) (rate(coderd_api_request_latencies_seconds_bucket[$STEP]))",
        spec: QuerySpec {
            samples: &["coderd_api_request_latencies_seconds_bucket"],
            matchers: &[],
            rate: true,
            by: &["path", "le"],
        },
        required: false,
        gives: "targets: request latency p50 and p95 by route class (the buckets that hold them)",
    },
    Query {
        name: "sessions",
        promql: "sum by (__name__) ({__name__=~\"coderd_agentstats_session_count_(ssh|vscode|jetbrains|reconnecting_pty)\"})",
        spec: QuerySpec {
            samples: &[
                "coderd_agentstats_session_count_ssh",
                "coderd_agentstats_session_count_vscode",
                "coderd_agentstats_session_count_jetbrains",
                "coderd_agentstats_session_count_reconnecting_pty",
            ],
            matchers: &[],
            rate: false,
            by: &["__name__"],
        },
        required: false,
        gives: "SSH, IDE and web-terminal sessions per user; targets",
    },
    Query {
        name: "websockets",
        promql: "sum(coderd_api_concurrent_websockets)",
        spec: QuerySpec {
            samples: &["coderd_api_concurrent_websockets"],
            matchers: &[],
            rate: false,
            by: &[],
        },
        required: false,
        gives: "a target: open websockets",
    },
    Query {
        name: "metadata",
        promql: "sum(rate(coderd_agentapi_metadata_batch_size_sum[$STEP]))",
        spec: QuerySpec {
            samples: &["coderd_agentapi_metadata_batch_size_sum"],
            matchers: &[],
            rate: true,
            by: &[],
        },
        required: false,
        gives: "agent metadata cadence (items per agent per second: coderd's batcher stores every item agents send)",
    },
];

/// The query named `name`.
pub fn query(name: &str) -> Option<&'static Query> {
    QUERIES.iter().find(|q| q.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::metrics::labels;

    #[test]
    fn every_class_has_a_route_that_maps_back_to_it() {
        for r in &ROUTES {
            assert_eq!(route_class(r.path), r.class, "{}", r.path);
        }
        assert_eq!(route_class("/api/v2/workspaceagents/me/metadata"), "agent");
        assert_eq!(route_class("/api/v2/users/me"), "dashboard");
    }

    /// The PromQL text and its structured form say the same thing.
    #[test]
    fn query_text_matches_its_spec() {
        for q in &QUERIES {
            let p = q.promql;
            assert_eq!(p.contains("rate("), q.spec.rate, "{}", q.name);
            for s in q.spec.samples {
                let short = s.trim_start_matches("coderd_agentstats_session_count_");
                assert!(p.contains(s) || p.contains(short), "{}: {s}", q.name);
            }
            for (k, v) in q.spec.matchers {
                assert!(p.contains(&format!("{k}=\"{v}\"")), "{}: {k}", q.name);
            }
            if q.spec.by.is_empty() {
                assert!(p.starts_with("sum("), "{}", q.name);
            } else {
                assert!(
                    p.starts_with(&format!("sum by ({}) (", q.spec.by.join(", "))),
                    "{}",
                    q.name
                );
            }
        }
    }

    /// The import reads what the export writes: every sample a query reads
    /// is a family the mapping exports, but for the two that capsim has no
    /// series of its own for (JetBrains sessions: capsim's IDE sessions are
    /// written as VS Code's; coderd's metadata batch sizes: capsim exports
    /// its items per second).
    #[test]
    fn queries_read_the_families_the_export_writes() {
        let import_only = [
            "coderd_agentstats_session_count_jetbrains",
            "coderd_agentapi_metadata_batch_size_sum",
        ];
        for q in &QUERIES {
            for sample in q.spec.samples {
                let written = MAPPINGS.iter().any(|m| {
                    let suffixes: &[&str] = match m.kind {
                        Kind::Counter => &["_total"],
                        Kind::Gauge => &[""],
                        Kind::Histogram => &["_bucket", "_count", "_sum"],
                    };
                    suffixes
                        .iter()
                        .any(|x| format!("{}{x}", m.family) == *sample)
                });
                assert!(
                    written || import_only.contains(sample),
                    "{}: {sample} is not exported",
                    q.name
                );
            }
        }
    }

    #[test]
    fn mappings_select_by_labels() {
        let ssh = labels([("kind", "ssh")]);
        let m: Vec<_> = mappings_for("connections_active", &ssh).collect();
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].family, "coderd_agentstats_session_count_ssh");
        let app = labels([("kind", "app")]);
        assert_eq!(mappings_for("connections_active", &app).count(), 0);
        let total = labels([("class", "total")]);
        assert_eq!(mappings_for("api_requests_per_second", &total).count(), 0);
    }
}
