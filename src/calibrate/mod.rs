//! Calibration: fit a model file's free parameters to measured figures.
//!
//! A targets file ([`targets`]) names the scenarios that reproduce measured
//! situations and the figures measured in them. [`Setup`] loads them with
//! the model file being calibrated (it replaces each scenario's own model).
//! [`calibrate`] then
//!
//! 1. minimises the weighted sum of squared relative errors over the
//!    targets with `weight > 0`, moving the model's `free = true`
//!    parameters inside their `[min, max]` (in log space when `min > 0`)
//!    with a Nelder-Mead simplex ([`nelder_mead`]). Every evaluation uses
//!    the same seeds (common random numbers), so the objective is a
//!    deterministic function of the parameters. Every fit starts at the
//!    centre of the bounds (not at the file's values), so a fit never
//!    inherits an earlier fit's answer;
//! 2. rounds the fitted values to four significant digits (what `--write`
//!    stores) and simulates every target with more replications for the
//!    fit table (mean and 95% interval across replications);
//! 3. computes a 95% interval for each fitted parameter ([`interval`]: a
//!    profile of the objective, each target weighed by its own precision
//!    and the simulation noise), which `--write` stores as its `range`;
//! 4. optionally (leave-one-out) refits without each target in turn and
//!    predicts the left-out one, so the report shows how the model
//!    generalises and not only how it fits.
//!
//! Nothing here reads a clock or a global RNG: for a seed the report is
//! the same on every machine and with any number of threads.

pub mod fit;
pub mod interval;
pub mod nelder_mead;
pub mod targets;
pub mod write;

pub use fit::{
    Calibration, FitTableRow, FittedParam, FreeParam, LooRow, Options, Setup, calibrate, fit_table,
    free_params,
};
pub use interval::{Intervals, ParamInterval};
pub use targets::{Goal, Target, TargetsError};
