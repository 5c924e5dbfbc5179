//! `capsim run` and `capsim validate`.

use super::{EXIT_BAD_INPUT, Format, RunArgs};
use crate::engine::rng::replication_seed;
use crate::report::text;
use crate::result::{RunResult, Summary};
use crate::scenario::{self, Scenario};
use crate::simulate;
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// A scenario run with all its replications.
pub struct Outcome {
    pub scenario: Scenario,
    pub seed: u64,
    pub runs: Vec<RunResult>,
    pub summary: Summary,
}

/// Run `replications` replications of `scenario` in parallel on the current
/// rayon pool. The result does not depend on the number of threads.
pub fn run_replications(scenario: &Scenario, seed: u64, replications: u32) -> Outcome {
    let runs: Vec<RunResult> = (0..replications)
        .into_par_iter()
        .map(|r| simulate(scenario, replication_seed(seed, r)))
        .collect();
    let summary = Summary::from_runs(scenario, seed, &runs);
    Outcome {
        scenario: scenario.clone(),
        seed,
        runs,
        summary,
    }
}

/// Load every scenario; print each error; `None` if any failed.
pub fn load_all(paths: &[PathBuf]) -> Option<Vec<Scenario>> {
    let mut ok = Vec::new();
    let mut failed = false;
    for p in paths {
        match scenario::load(p) {
            Ok(s) => ok.push(s),
            Err(e) => {
                eprintln!("error: {e}");
                failed = true;
            }
        }
    }
    (!failed).then_some(ok)
}

pub fn run(args: &RunArgs) -> anyhow::Result<i32> {
    let Some(scenarios) = load_all(&args.scenarios) else {
        return Ok(EXIT_BAD_INPUT);
    };
    let pool = super::pool(args.jobs)?;
    let pb = super::progress(
        (scenarios.len() as u64) * args.replications as u64,
        "simulating",
    );
    let mut outcomes = Vec::new();
    for s in &scenarios {
        if s.is_abstract {
            eprintln!(
                "note: {} is abstract (a base to extend); running it anyway",
                path_str(s.path.as_deref())
            );
        }
        let seed = args.seed.unwrap_or(s.seed);
        let o = pool.install(|| run_replications(s, seed, args.replications));
        pb.inc(args.replications as u64);
        if let Some(dir) = &args.out {
            write_summary_json(&dir.join(&s.name), &o.summary)?;
        }
        outcomes.push(o);
    }
    pb.finish_and_clear();
    match args.format {
        Format::Json => {
            let all: Vec<&Summary> = outcomes.iter().map(|o| &o.summary).collect();
            println!("{}", serde_json::to_string_pretty(&all)?);
        }
        Format::Table => {
            for o in &outcomes {
                print!("{}", text::summary_table(&o.summary, &o.runs));
            }
        }
    }
    Ok(0)
}

fn write_summary_json(dir: &Path, s: &Summary) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(
        dir.join("summary.json"),
        serde_json::to_string_pretty(s)? + "\n",
    )?;
    Ok(())
}

fn path_str(p: Option<&Path>) -> String {
    p.map_or("<memory>".into(), |p| p.display().to_string())
}

pub fn validate(paths: &[PathBuf]) -> anyhow::Result<i32> {
    let Some(scenarios) = load_all(paths) else {
        return Ok(EXIT_BAD_INPUT);
    };
    for s in scenarios {
        println!("ok: {} ({})", path_str(s.path.as_deref()), s.name);
    }
    Ok(0)
}
