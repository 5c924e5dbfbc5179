//! `capsim sensitivity`: plan the study, run its tasks, analyse them, write
//! the answer (the steps are library functions in `crate::sensitivity`).

use super::{EXIT_BAD_INPUT, ui};
use crate::sensitivity::{self, DEFAULT_REPLICATIONS, output};
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(clap::Args, Debug, Clone)]
pub struct SensitivityArgs {
    /// The scenario to study.
    pub scenario: PathBuf,
    /// Only these uncertain model parameters (comma-separated) [default:
    /// every parameter of the model file with a range of non-zero width].
    #[arg(long, value_delimiter = ',', value_name = "NAME,...")]
    pub params: Option<Vec<String>>,
    /// Also vary a scenario key over a range, e.g.
    /// workload.users.count=1200..1800 (repeatable).
    #[arg(long, value_name = "KEY=LO..HI")]
    pub vary: Vec<String>,
    /// Replications per variant (replication r of every variant uses the same seed).
    #[arg(long, default_value_t = DEFAULT_REPLICATIONS, value_parser = clap::value_parser!(u32).range(1..=crate::scenario::limits::MAX_REPLICATIONS as i64))]
    pub replications: u32,
    /// Also a global study: R Morris trajectories over every factor's range
    /// (R x (factors + 1) more variants), giving mu*, its bootstrap
    /// interval, and sigma (interactions).
    #[arg(long, value_name = "R", default_value_t = 0)]
    pub morris: usize,
    /// Master seed [default: the scenario's `seed`].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Write the study here [default: reports/sensitivity/<scenario>/].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub jobs: Option<u32>,
}

pub fn sensitivity(args: &SensitivityArgs) -> anyhow::Result<i32> {
    let base = match crate::scenario::load(&args.scenario) {
        Ok(s) => s,
        Err(e) => {
            ui::error(e.to_string());
            return Ok(EXIT_BAD_INPUT);
        }
    };
    let factors = match sensitivity::factors(&base, args.params.as_deref(), &args.vary) {
        Ok(f) => f,
        Err(e) => {
            ui::error(e);
            return Ok(EXIT_BAD_INPUT);
        }
    };
    let seed = args.seed.unwrap_or(base.seed);
    let plan = sensitivity::plan(factors, seed, args.replications, args.morris);
    let targets = sensitivity::targets(&base);
    // Every variant's scenario, checked before anything runs.
    let mut scenarios = Vec::with_capacity(plan.variants.len());
    for v in 0..plan.variants.len() {
        match sensitivity::variant_scenario(&base, &args.scenario, &plan, v) {
            Ok(s) => scenarios.push(s),
            Err(e) => {
                ui::error(e);
                return Ok(EXIT_BAD_INPUT);
            }
        }
    }
    ui::info(format!(
        "sensitivity of {}: {} factors x 2 ends + the base{}, {} replications each: {} simulations ...",
        base.name,
        plan.factors.len(),
        if args.morris > 0 {
            format!(" + {} Morris trajectories", args.morris)
        } else {
            String::new()
        },
        plan.replications,
        plan.tasks.len()
    ));
    let pool = super::pool(args.jobs)?;
    let wall = Instant::now();
    let results: Vec<_> = pool.install(|| {
        plan.tasks
            .par_iter()
            .map(|t| sensitivity::run_task(&scenarios[t.variant], t, &targets))
            .collect()
    });
    let sim_s = wall.elapsed().as_secs_f64();
    let analysis = sensitivity::analyse(&plan, &targets, &results).map_err(anyhow::Error::msg)?;
    let dir = args.out.clone().unwrap_or_else(|| default_dir(&base.name));
    let files = output::write_all(&dir, &base.name, &plan, &analysis)?;
    let md = std::fs::read_to_string(dir.join("sensitivity.md"))?;
    if let Some(answer) = md.split("## The answer\n\n").nth(1) {
        print!("{}", answer.split("\n## ").next().unwrap_or(""));
    }
    ui::info(format!(
        "{} simulations in {sim_s:.1} s; wrote {} ({})",
        plan.tasks.len(),
        dir.join("sensitivity.md").display(),
        files.join(", ")
    ));
    Ok(0)
}

/// `reports/sensitivity/<scenario>/`.
pub fn default_dir(scenario: &str) -> PathBuf {
    Path::new(super::run::REPORTS_ROOT)
        .join("sensitivity")
        .join(scenario)
}
