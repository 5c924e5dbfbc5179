//! Prometheus in and out.
//!
//! - [`import`]: the answers of Prometheus's `/api/v1/query_range` to the
//!   documented queries ([`mapping::QUERIES`]) become a scenario file (the
//!   workload by time of day and week, the architecture where the metrics
//!   say it, placeholders where they cannot) and a targets file for
//!   `capsim calibrate`.
//! - [`openmetrics`]: a run's time series in the OpenMetrics text format,
//!   under Coder's metric names where capsim has an equivalent, for
//!   `promtool tsdb create-blocks-from openmetrics`.
//! - [`mapping`]: the one table that says which capsim series is which
//!   Coder metric, shared by both directions.
//!
//! Nothing here reads files or the clock: the CLI reads the folder and
//! writes the outputs.

pub mod fit;
pub mod import;
pub mod mapping;
pub mod openmetrics;
pub mod response;
mod scenario_text;
