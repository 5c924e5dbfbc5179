//! capsim: a discrete-event simulator for capacity what-if analysis of Coder
//! deployments. See ARCHITECTURE.md for the code map.

#![forbid(unsafe_code)]
// `!(x > 0.0)` is deliberate throughout: it rejects NaN as well as non-positive values.
#![allow(clippy::neg_cmp_op_on_partial_ord)]

pub mod calibrate;
pub mod cli;
pub mod compare;
pub mod cost;
pub mod engine;
pub mod format;
pub mod model;
pub mod prom;
pub mod report;
pub mod result;
pub mod scenario;
pub mod sensitivity;
pub mod shard;
pub mod store;

pub use model::simulate;
pub use result::{RunResult, Summary};
pub use scenario::{Scenario, ScenarioError};
