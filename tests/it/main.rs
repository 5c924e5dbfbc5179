//! The integration tests: one binary, so the suite links once and runs its
//! tests on one pool. Each module is one area; `support` holds what they
//! share. Run one area with `cargo test --release --test it <module>::`.

mod support;

mod availability;
mod bad_inputs;
mod batch;
mod build_load;
mod calibration;
mod cli_output;
mod compare;
mod determinism;
mod docs;
mod erlang_c;
mod golden;
mod model;
mod model_control;
mod nodes;
mod prometheus;
mod reports;
mod saturation;
mod scenario_errors;
mod sensitivity;
mod shard;
mod size;
mod size_shard;
mod slo;
mod store;
mod tidy;
mod uncertainty;
mod uncertainty_compare;
