//! Comparing architectures on the same workload and seeds, costing them,
//! and searching for the cheapest one that meets the SLOs.
//!
//! - [`prices`]: price files and the monthly cost of an architecture.

pub mod prices;
