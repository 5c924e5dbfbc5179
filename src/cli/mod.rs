//! Command-line definitions and the commands, each a short function over
//! library calls. `main` only parses and dispatches.

pub mod calibrate;
pub mod run;

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(name = "capsim", version, about = "Capacity what-if simulation for Coder deployments", long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
}

#[derive(clap::Args, Debug, Clone)]
pub struct RunArgs {
    /// Scenario files to run.
    #[arg(required = true)]
    pub scenarios: Vec<PathBuf>,
    /// Master seed (overrides the scenario's `seed`).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Independent replications (seeds derived from the master seed), run in parallel.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub replications: u32,
    /// Output format on stdout.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Write each scenario's report under DIR/<scenario>/.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long)]
    pub jobs: Option<usize>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run scenarios and print a summary per scenario.
    Run(RunArgs),
    /// Check scenario files without running them.
    Validate {
        #[arg(required = true)]
        scenarios: Vec<PathBuf>,
    },
    /// Fit a model file's free parameters to measured targets.
    Calibrate(calibrate::CalibrateArgs),
}

/// Exit code for bad input (scenario, model or targets files; usage).
pub const EXIT_BAD_INPUT: i32 = 2;
/// Exit code for any other failure.
pub const EXIT_FAILURE: i32 = 1;

/// Run the parsed command line; returns the process exit code.
pub fn dispatch(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Run(args) => run::run(&args),
        Command::Validate { scenarios } => run::validate(&scenarios),
        Command::Calibrate(args) => calibrate::calibrate(&args),
    }
}

/// Build a rayon pool with `jobs` threads (all cores when `None`).
pub fn pool(jobs: Option<usize>) -> anyhow::Result<rayon::ThreadPool> {
    let mut b = rayon::ThreadPoolBuilder::new();
    if let Some(j) = jobs {
        b = b.num_threads(j.max(1));
    }
    Ok(b.build()?)
}

/// A progress bar on stderr, hidden when stderr is not a terminal.
pub fn progress(len: u64, what: &str) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let pb = indicatif::ProgressBar::new(len);
    pb.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} {msg} [{bar:30}] {pos}/{len} ({elapsed})",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    pb.set_message(what.to_string());
    pb
}
