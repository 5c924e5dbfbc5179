//! `capsim sensitivity`: plan the study, run its tasks, analyse them, write
//! the answer (the steps are library functions in `crate::sensitivity`).

use super::{EXIT_BAD_INPUT, EXIT_FAILURE, study, ui};
use crate::sensitivity::{self, DEFAULT_REPLICATIONS, output};
use crate::store::{self, NewStudy, Store, StudyKind};
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
    /// Run store (SQLite) to keep the study in.
    #[arg(long, value_name = "PATH", default_value = crate::store::DEFAULT_PATH)]
    pub db: PathBuf,
    /// Do not store the study.
    #[arg(long)]
    pub no_store: bool,
    /// Run only shard K of N of the study's simulations (each with the seed
    /// it has in one process; 0 <= K < N, as JOB_COMPLETION_INDEX and
    /// SLURM_ARRAY_TASK_ID count) and store them in --db, with no answer:
    /// `capsim runs merge` joins the shards' stores, then the same command
    /// with --from finishes the study.
    #[arg(long, value_name = "K/N", conflicts_with_all = ["from", "no_store"])]
    pub shard: Option<crate::shard::Shard>,
    /// Finish a sharded study from a merged store: the same command line as
    /// the shards' (without --shard) reads every simulation from DB instead
    /// of running it, then analyses, writes and stores (in DB) the study as
    /// one process would have.
    #[arg(long, value_name = "DB", conflicts_with = "db")]
    pub from: Option<PathBuf>,
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
    let started = store::now_utc();
    // The sweep: the same for every shard of this command line.
    let mut extra = format!("morris {}", args.morris);
    for f in &plan.factors {
        extra += &format!(
            "\0{}={}..{}",
            f.name,
            f.end_text(sensitivity::End::Lo),
            f.end_text(sensitivity::End::Hi)
        );
    }
    let sweep = study::sweep_id("sensitivity", &base.name, seed, plan.replications, &extra);
    let task_keys: Vec<(usize, u32)> = plan
        .tasks
        .iter()
        .map(|t| (t.variant, t.replication))
        .collect();
    let costs: Vec<f64> = plan
        .tasks
        .iter()
        .map(|t| scenarios[t.variant].duration.as_secs_f64())
        .collect();
    // The store is opened (and checked writable) before anything runs.
    let store_path = args.from.as_deref().unwrap_or(&args.db);
    let mut store = if args.no_store && args.from.is_none() {
        None
    } else {
        let opened = if args.from.is_some() {
            Store::open_existing(store_path)
        } else {
            Store::open(store_path)
        };
        match opened {
            Ok(s) => Some(s),
            Err(e) => return Ok(super::store_failed(&e)),
        }
    };
    let what = format!("the sensitivity study of {}", base.name);
    let wall = Instant::now();
    let results = if let Some(from) = &args.from {
        let read = store.as_ref().expect("opened for --from");
        match study::gather(from, read, &sweep, &base, &task_keys, &costs, &what) {
            Ok(Ok(r)) => r,
            Ok(Err(m)) => {
                ui::error(m);
                return Ok(EXIT_BAD_INPUT);
            }
            Err(e) => return Ok(super::store_failed(&e)),
        }
    } else {
        let owned = args.shard.map_or(plan.tasks.len(), |sh| {
            sh.owned(&costs).iter().filter(|o| **o).count()
        });
        ui::info(format!(
            "sensitivity of {}: {} factors x 2 ends + the base{}, {} replications each: {} simulations{} ...",
            base.name,
            plan.factors.len(),
            if args.morris > 0 {
                format!(" + {} Morris trajectories", args.morris)
            } else {
                String::new()
            },
            plan.replications,
            plan.tasks.len(),
            args.shard.map_or(String::new(), |sh| format!(
                ", {owned} of them in shard {sh}"
            ))
        ));
        let pool = super::pool(args.jobs)?;
        study::simulate(&pool, args.shard, &costs, |t| {
            let task = &plan.tasks[t];
            sensitivity::run_task(&scenarios[task.variant], task, &targets)
        })
    };
    let sim_s = wall.elapsed().as_secs_f64();
    let mut plan_json = serde_json::to_value(&plan)?;
    if let Some(o) = plan_json.as_object_mut() {
        o.remove("tasks");
        o.insert("morris_trajectories".into(), args.morris.into());
    }
    let plan_json = plan_json.to_string();
    let factors = study::stored_factors(&plan.factors);
    let tasks = super::study::to_stored(&results);
    // The study as stored: a shard's share (no answer), or the whole study.
    let new_study = |id, finished_at, answer, shard| NewStudy {
        id,
        started_at: &started,
        finished_at,
        kind: StudyKind::Sensitivity,
        scenario: &base,
        seed,
        replications: plan.replications,
        of_run: None,
        plan_json: &plan_json,
        factors: &factors,
        tasks: &tasks,
        answer,
        shard,
    };
    if let Some(shard) = args.shard {
        let id = store::new_run_id(&started);
        let finished = store::now_utc();
        let st = new_study(&id, &finished, None, Some((&sweep, shard)));
        let s = store.as_mut().expect("a shard stores");
        if let Err(e) = s.insert_study(&st) {
            ui::error(format!("{}: cannot store shard {shard}: {e}", base.name));
            return Ok(EXIT_FAILURE);
        }
        ui::info(format!(
            "{}: shard {shard} of the sensitivity study, {} of {} simulations in {sim_s:.1} s; run {id} in {}",
            base.name,
            results.len(),
            plan.tasks.len(),
            args.db.display()
        ));
        return Ok(0);
    }
    let analysis = sensitivity::analyse(&plan, &targets, &results).map_err(anyhow::Error::msg)?;
    let dir = args.out.clone().unwrap_or_else(|| default_dir(&base.name));
    let files = output::write_all(&dir, &base.name, &plan, &analysis)?;
    let md = std::fs::read_to_string(dir.join("sensitivity.md"))?;
    let csv = std::fs::read_to_string(dir.join("sensitivity.csv"))?;
    if let Some(answer) = md.split("## The answer\n\n").nth(1) {
        print!("{}", answer.split("\n## ").next().unwrap_or(""));
    }
    let mut stored = String::new();
    let mut code = 0;
    if let Some(s) = store.as_mut() {
        let id = store::new_run_id(&started);
        let finished = store::now_utc();
        let st = new_study(&id, &finished, Some((&md, &csv)), None);
        match s.insert_study(&st) {
            Ok(()) => stored = format!("; run {id} in {}", store_path.display()),
            Err(e) => {
                ui::error(format!("{}: cannot store the study: {e}", base.name));
                code = EXIT_FAILURE;
            }
        }
    }
    ui::info(format!(
        "{} simulations {} {sim_s:.1} s; wrote {} ({}){stored}",
        plan.tasks.len(),
        if args.from.is_some() { "read in" } else { "in" },
        dir.join("sensitivity.md").display(),
        files.join(", ")
    ));
    Ok(code)
}

/// `reports/sensitivity/<scenario>/`.
pub fn default_dir(scenario: &str) -> PathBuf {
    Path::new(super::run::REPORTS_ROOT)
        .join("sensitivity")
        .join(scenario)
}
