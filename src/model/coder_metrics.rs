//! Bucket boundaries of Coder's Prometheus histograms, so that capsim's own
//! histograms count into the same buckets (for `capsim runs export --format
//! openmetrics` and the Prometheus import, `crate::prom`).
//!
//! Source of every list: `../shared/data/coder-prometheus-metrics.csv`
//! (column `buckets_or_notes`), which names the Coder source file.

/// `coderd_api_request_latencies_seconds`, seconds
/// (coder/coder `coderd/httpmw/prometheus.go`).
pub const API_LATENCY_BOUNDS_S: [f64; 11] = [
    0.001, 0.005, 0.010, 0.025, 0.050, 0.100, 0.500, 1.0, 5.0, 10.0, 30.0,
];

/// `coderd_provisioner_job_queue_wait_seconds`, seconds (coder/coder
/// `coderd/provisionerdserver/metrics.go`; its native-histogram buckets are
/// not modelled).
pub const QUEUE_WAIT_BOUNDS_S: [f64; 12] = [
    0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0,
];

/// `coderd_provisionerd_workspace_build_timings_seconds` and
/// `coderd_provisionerd_job_timings_seconds`, seconds (coder/coder
/// `provisionerd/provisionerd.go`).
pub const BUILD_TIME_BOUNDS_S: [f64; 8] = [1.0, 10.0, 30.0, 60.0, 300.0, 600.0, 1800.0, 3600.0];
