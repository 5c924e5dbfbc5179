//! Command-line definitions and the commands, each a short function over
//! library calls. `main` only parses and dispatches.

pub mod batch;
pub mod calibrate;
pub mod compare;
pub mod docs;
pub mod import;
pub mod progress;
pub mod run;
pub mod runs;
pub mod sensitivity;
pub mod size;
pub mod study;
pub mod sweep;
pub mod ui;

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(name = "capsim", version, about = "Capacity what-if simulation for Coder deployments", long_about = None)]
pub struct Cli {
    /// No progress and no informational lines on stderr (errors and
    /// warnings still show).
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Colour: auto (when a terminal, and NO_COLOR is not set), always or never.
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = ui::ColorWhen::Auto, global = true)]
    pub color: ui::ColorWhen,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
}

/// Options shared by `capsim run` and `capsim batch`.
#[derive(clap::Args, Debug, Clone)]
pub struct ExecArgs {
    /// Master seed (overrides the scenario's `seed`).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Independent replications (seeds derived from the master seed), run in parallel.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=crate::scenario::limits::MAX_REPLICATIONS as i64))]
    pub replications: u32,
    /// Worker threads (default and at most: the cores available; more would not help). Results do not depend on it.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub jobs: Option<u32>,
    /// Write each scenario's report under DIR/<scenario>/ [default: reports/<scenario>/<run-id>/].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Run store (SQLite) to keep every run in.
    #[arg(long, value_name = "PATH", default_value = crate::store::DEFAULT_PATH)]
    pub db: PathBuf,
    /// Do not store the runs.
    #[arg(long)]
    pub no_store: bool,
    /// Do not write report folders (CSV, PNG, Markdown).
    #[arg(long)]
    pub no_report: bool,
    /// Print where the time went (simulation, reports, SQLite) on stderr.
    #[arg(long)]
    pub timings: bool,
    /// Also write each run's time series in the OpenMetrics text format
    /// (`openmetrics.txt` in its report folder), under Coder's metric names.
    #[arg(long, requires = "start", conflicts_with = "no_report")]
    pub openmetrics: bool,
    /// Run only shard K of N of the sweep's tasks (each replication of each
    /// scenario, with the seed it has in one process; 0 <= K < N, as
    /// JOB_COMPLETION_INDEX and SLURM_ARRAY_TASK_ID count) and store them in
    /// --db, with no summary or report: `capsim runs merge` joins the shards'
    /// stores, then the same command with --from finishes the analysis.
    #[arg(long, value_name = "K/N", conflicts_with_all = ["from", "no_store", "openmetrics"])]
    pub shard: Option<crate::shard::Shard>,
    /// Finish a sharded sweep from a merged store: the same command line as
    /// the shards' (without --shard) reads every replication from DB instead
    /// of simulating it, then summarises, stores (in DB) and reports as one
    /// process would have.
    #[arg(long, value_name = "DB", conflicts_with = "db")]
    pub from: Option<PathBuf>,
    /// With --openmetrics: the date of t = 0 (`2025-03-10`: the scenario's
    /// start_time on that day, UTC) or an instant (`2025-03-10T08:00:00Z`).
    #[arg(long, value_name = "DATE", requires = "openmetrics", value_parser = parse_start)]
    pub start: Option<crate::prom::openmetrics::Start>,
}

/// `--start` for OpenMetrics timestamps.
pub fn parse_start(s: &str) -> Result<crate::prom::openmetrics::Start, String> {
    crate::prom::openmetrics::Start::parse(s)
}

/// Format of `capsim runs export`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// summary.csv and timeseries.csv per run, into --csv DIR.
    Csv,
    /// The runs' time series as OpenMetrics text (one exposition), to --out FILE or stdout.
    Openmetrics,
}

#[derive(clap::Args, Debug, Clone)]
pub struct RunArgs {
    /// Scenario files to run.
    #[arg(required = true)]
    pub scenarios: Vec<PathBuf>,
    /// Output format on stdout.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Print every statistic after the verdict and the headline table.
    #[arg(short, long, visible_alias = "all")]
    pub verbose: bool,
    /// Price file for the monthly cost [default: each scenario's `prices`].
    #[arg(long, value_name = "FILE")]
    pub prices: Option<PathBuf>,
    /// Also run N model-parameter sets drawn by Latin hypercube over the
    /// model file's ranges (same replication seeds) and report simulation
    /// noise, model uncertainty and a combined 95% prediction interval
    /// (printed, uncertainty.csv in the report folder, and a study of kind
    /// `uncertainty` in the store; with --shard and --from like the run).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(2..=10_000))]
    pub uncertainty: Option<u32>,
    #[command(flatten)]
    pub exec: ExecArgs,
}

#[derive(clap::Args, Debug, Clone)]
pub struct BatchArgs {
    /// Scenario files and folders (searched recursively for *.toml; bases
    /// marked `abstract = true` are skipped).
    #[arg(required = true, value_name = "DIR_OR_FILES")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub exec: ExecArgs,
}

#[derive(clap::Args, Debug, Clone)]
pub struct RunsArgs {
    /// Run store (SQLite).
    #[arg(long, value_name = "PATH", default_value = crate::store::DEFAULT_PATH, global = true)]
    pub db: PathBuf,
    #[command(subcommand)]
    pub command: RunsCommand,
}

#[derive(Subcommand, Debug, Clone)]
pub enum RunsCommand {
    /// List stored runs, newest first.
    List {
        /// Only runs of this scenario (its `name`).
        #[arg(long)]
        scenario: Option<String>,
        /// At most N runs (0: all).
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Show stored runs: metadata and summary (`--format json`: the same JSON as `capsim run`).
    Show {
        /// Run ids (or unique prefixes).
        #[arg(required = true)]
        ids: Vec<String>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Export runs: summary.csv and timeseries.csv into DIR/<run-id>/ (--csv
    /// DIR), or their time series as OpenMetrics text (--format openmetrics).
    Export {
        /// Run ids (or unique prefixes).
        #[arg(required = true)]
        ids: Vec<String>,
        /// Folder to write the CSV files into.
        #[arg(long, value_name = "DIR")]
        csv: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = ExportFormat::Csv)]
        format: ExportFormat,
        /// OpenMetrics: the date of t = 0 (`2025-03-10`: each scenario's
        /// start_time on that day, UTC) or an instant (`2025-03-10T08:00:00Z`).
        #[arg(long, value_name = "DATE", value_parser = parse_start)]
        start: Option<crate::prom::openmetrics::Start>,
        /// OpenMetrics: write to FILE instead of stdout.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Merge run stores (the shards of a sweep run with --shard, or any
    /// others) into one. Idempotent: a run the target holds already is left
    /// as it is. Refused, with nothing written, when shards of one sweep ran
    /// different scenario files, model files or capsim versions.
    Merge {
        /// Stores to merge.
        #[arg(required = true, value_name = "DB")]
        stores: Vec<PathBuf>,
        /// The store to merge into (created if needed).
        #[arg(long, value_name = "DB")]
        into: PathBuf,
    },
    /// Delete runs from the store (report folders are left alone).
    Delete {
        /// Run ids (or unique prefixes).
        #[arg(required = true)]
        ids: Vec<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run scenarios, print a summary per scenario, store the runs and write their reports.
    Run(RunArgs),
    /// Run every scenario of folders and files in parallel, then write batch-summary.csv.
    Batch(BatchArgs),
    /// Stored runs: list, show, export, delete.
    Runs(RunsArgs),
    /// Run architectures on the same seeds: side-by-side table, paired differences, costs, plots.
    Compare(compare::CompareArgs),
    /// Search for the cheapest architecture that meets every SLO with 95% confidence.
    Size(size::SizeArgs),
    /// Which uncertain model parameter (or scenario key) decides each SLO:
    /// one at a time at the ends of each range, tornado plots, sensitivity.md.
    Sensitivity(sensitivity::SensitivityArgs),
    /// Check scenario files without running them.
    Validate {
        #[arg(required = true)]
        scenarios: Vec<PathBuf>,
    },
    /// Fit a model file's free parameters to measured targets.
    Calibrate(calibrate::CalibrateArgs),
    /// Build a scenario (and calibration targets) from a live deployment's metrics.
    Import(import::ImportArgs),
    /// Print a shell completion script (bash, zsh or fish) on stdout.
    Completions {
        #[arg(value_enum)]
        shell: docs::Shell,
    },
    /// Print the man page (roff) on stdout, or write one page per command into DIR.
    Man {
        /// Write capsim.1 and capsim-<command>.1 into DIR.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
}

/// Exit code for bad input (scenario, model or targets files; usage).
pub const EXIT_BAD_INPUT: i32 = 2;
/// Exit code for any other failure.
pub const EXIT_FAILURE: i32 = 1;

/// Print a store error; its exit code (2 when the user named a file that is
/// not a usable store, 1 for a failure).
pub fn store_failed(e: &crate::store::StoreError) -> i32 {
    ui::error(e);
    if e.is_bad_input() {
        EXIT_BAD_INPUT
    } else {
        EXIT_FAILURE
    }
}

/// Run the parsed command line; returns the process exit code.
pub fn dispatch(cli: Cli) -> anyhow::Result<i32> {
    ui::setup(cli.color, cli.quiet);
    match cli.command {
        Command::Run(args) => run::run(&args),
        Command::Batch(args) => batch::batch(&args),
        Command::Runs(args) => runs::runs(&args),
        Command::Compare(args) => compare::compare(&args),
        Command::Size(args) => size::size(&args),
        Command::Sensitivity(args) => sensitivity::sensitivity(&args),
        Command::Validate { scenarios } => run::validate(&scenarios),
        Command::Calibrate(args) => calibrate::calibrate(&args),
        Command::Import(args) => import::import(&args),
        Command::Completions { shell } => docs::completions(shell),
        Command::Man { out } => docs::man(out.as_deref()),
    }
}

/// Print an error that ended the process (`error: ...`, styled).
pub fn report_error(e: &anyhow::Error) {
    ui::error(format!("{e:#}"));
}

/// Build a rayon pool with `jobs` threads (all cores when `None`), at most
/// [`max_jobs`]: threads beyond the cores only add start-up time and memory
/// (the simulation is CPU-bound), and results never depend on the number.
/// A note on stderr says when `--jobs` asked for more.
pub fn pool(jobs: Option<u32>) -> anyhow::Result<rayon::ThreadPool> {
    let mut b = rayon::ThreadPoolBuilder::new();
    if let Some(j) = jobs {
        let max = max_jobs();
        if j as usize > max {
            ui::note(format!(
                "--jobs {j}: using {max} threads, the cores available (more would not help)"
            ));
        }
        b = b.num_threads((j.max(1) as usize).min(max));
    }
    Ok(b.build()?)
}

/// The most worker threads that help: the cores this process may use.
pub fn max_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
