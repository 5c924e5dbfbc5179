//! `capsim run` and `capsim validate`, and the executor that `capsim batch`
//! shares: replications of many scenarios on one rayon pool, each scenario
//! stored and reported as soon as its last replication finishes.

use super::progress::Progress;
use super::ui;
use super::{EXIT_BAD_INPUT, EXIT_FAILURE, ExecArgs, Format, RunArgs};
use crate::cost::{self, MonthlyCost, PriceList};
use crate::engine::rng::replication_seed;
use crate::report::{self, Aggregate, Aggregated, ReportInput, text};
use crate::result::{RunResult, Summary};
use crate::scenario::{self, Scenario};
use crate::simulate;
use crate::store::{self, NewRun, Store};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::Instant;

/// Where reports go without `--out`, relative to the working directory.
pub const REPORTS_ROOT: &str = "reports";
/// The OpenMetrics file `--openmetrics` writes in a report folder.
pub const OPENMETRICS_FILE: &str = "openmetrics.txt";

/// Load every scenario; print each error; `None` if any failed.
pub fn load_all(paths: &[PathBuf]) -> Option<Vec<Scenario>> {
    let mut ok = Vec::new();
    let mut failed = false;
    for p in paths {
        match scenario::load(p) {
            Ok(s) => ok.push(s),
            Err(e) => {
                ui::error(&e);
                failed = true;
            }
        }
    }
    (!failed).then_some(ok)
}

/// One scenario to run.
pub struct Job {
    pub scenario: Scenario,
    pub seed: u64,
    /// Its report folder when `--out` names one (else `reports/<scenario>/<run-id>/`).
    pub report_dir: Option<PathBuf>,
    /// Its price list when loaded already (`capsim run`); else the one the
    /// scenario names is loaded when the run has finished.
    pub prices: Option<PriceList>,
}

/// A scenario whose replications have all finished.
pub struct Done {
    pub summary: Summary,
    /// The replications' notes, deduplicated and sorted.
    pub notes: Vec<String>,
    pub run_id: String,
    /// Set when the run was stored.
    pub stored: bool,
    pub report_dir: Option<PathBuf>,
    /// The monthly cost, or why there is none; `None` without a price file.
    pub cost: Option<Result<MonthlyCost, String>>,
    /// Storing or reporting failed.
    pub error: Option<String>,
}

/// Where the time of an execution went, summed over worker threads.
#[derive(Default)]
pub struct Timings {
    simulate_ns: AtomicU64,
    aggregate_ns: AtomicU64,
    report_ns: AtomicU64,
    store_ns: AtomicU64,
    /// Part of `store_ns`: opening (and upgrading) and closing the store.
    store_open_close_ns: AtomicU64,
}

impl Timings {
    fn add(counter: &AtomicU64, since: Instant) {
        counter.fetch_add(since.elapsed().as_nanos() as u64, Ordering::Relaxed);
    }
    fn secs(counter: &AtomicU64) -> f64 {
        counter.load(Ordering::Relaxed) as f64 / 1e9
    }
    /// One line for stderr.
    pub fn line(&self, wall_s: f64, threads: usize) -> String {
        let sim = Self::secs(&self.simulate_ns);
        let agg = Self::secs(&self.aggregate_ns);
        let rep = Self::secs(&self.report_ns);
        let sto = Self::secs(&self.store_ns);
        let open_close = Self::secs(&self.store_open_close_ns);
        let work = sim + agg + rep + sto;
        let peak = peak_memory_bytes().map_or(String::new(), |b| {
            format!("; peak memory {:.1} MB", b as f64 / 1e6)
        });
        format!(
            "timings: wall {wall_s:.3} s on {threads} threads; work {work:.3} s = simulate {sim:.3} s + aggregate {agg:.3} s + reports {rep:.3} s + SQLite store {sto:.3} s (of which open and close {open_close:.3} s; {:.2}% of work, {:.2}% of wall x threads){peak}",
            100.0 * sto / work.max(1e-12),
            100.0 * sto / (wall_s * threads as f64).max(1e-12),
        )
    }
}

/// The most resident memory this process has had (the kernel's `VmHWM`),
/// bytes; `None` where the system does not say (not Linux).
pub fn peak_memory_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// What happens to a finished scenario.
pub struct Sinks {
    pub store: Option<Mutex<Store>>,
    pub reports: bool,
    /// Write `openmetrics.txt` in each report folder, stamped from this start.
    pub openmetrics: Option<crate::prom::openmetrics::Start>,
    pub timings: Timings,
}

impl Sinks {
    pub fn new(exec: &ExecArgs) -> Result<Sinks, store::StoreError> {
        let timings = Timings::default();
        let t = Instant::now();
        let store = if exec.no_store {
            None
        } else {
            // `--from`: the finished runs join the sweep's store.
            Some(Mutex::new(Store::open(
                exec.from.as_deref().unwrap_or(&exec.db),
            )?))
        };
        Timings::add(&timings.store_ns, t);
        Timings::add(&timings.store_open_close_ns, t);
        Ok(Sinks {
            store,
            reports: !exec.no_report,
            openmetrics: exec.openmetrics.then_some(exec.start).flatten(),
            timings,
        })
    }
}

/// Report folders under `out` (one per scenario name; a repeated name gets
/// `-2`, `-3`, ... in the order given).
pub fn out_dirs<'a>(
    out: Option<&Path>,
    names: impl Iterator<Item = &'a str>,
) -> Vec<Option<PathBuf>> {
    crate::compare::unique_names(names.map(report::safe_name).collect())
        .into_iter()
        .map(|name| out.map(|d| d.join(name)))
        .collect()
}

/// Store and report one finished scenario.
pub(super) fn finish(job: &Job, started_at: &str, agg: Aggregate, sinks: &Sinks) -> Done {
    let t = Instant::now();
    let sc = &job.scenario;
    let Aggregated {
        replications,
        series: agg,
        cumulative,
    } = agg.finish();
    let summary = Summary::of(sc, job.seed, &replications);
    let notes = replications.notes();
    let cost = cost::cost_of_run(sc, job.prices.as_ref(), &summary);
    Timings::add(&sinks.timings.aggregate_ns, t);
    let finished_at = store::now_utc();
    let mut run_id = store::new_run_id(started_at);
    let mut errors = Vec::new();
    let mut stored = false;
    if let Some(st) = &sinks.store {
        let t = Instant::now();
        let mut st = st.lock().unwrap_or_else(|e| e.into_inner());
        // An id taken already (another run started in the same second drew
        // the same digits) gets new digits.
        for attempt in 1.. {
            let r = st.insert(&NewRun {
                id: &run_id,
                started_at,
                finished_at: &finished_at,
                scenario: sc,
                summary: &summary,
                replications: &replications,
                series: &agg,
                cost: cost.as_ref().and_then(|c| c.as_ref().ok()),
            });
            match r {
                Ok(()) => stored = true,
                Err(e) if e.is_duplicate_id() && attempt < 5 => {
                    run_id = store::new_run_id(started_at);
                    continue;
                }
                Err(e) => errors.push(format!("cannot store the run: {e}")),
            }
            break;
        }
        Timings::add(&sinks.timings.store_ns, t);
    }
    let mut report_dir = None;
    if sinks.reports {
        let t = Instant::now();
        let dir = job.report_dir.clone().unwrap_or_else(|| {
            Path::new(REPORTS_ROOT)
                .join(report::safe_name(&sc.name))
                .join(&run_id)
        });
        let input = ReportInput {
            scenario: sc,
            summary: &summary,
            replications: &replications,
            series: &agg,
            cumulative: &cumulative,
            run_id: &run_id,
            stored,
            started_at,
            cost: cost.as_ref(),
        };
        match report::write_report(&dir, &input) {
            Ok(_) => report_dir = Some(dir),
            Err(e) => errors.push(format!("cannot write the report: {e:#}")),
        }
        if let (Some(start), Some(dir)) = (sinks.openmetrics, &report_dir) {
            use crate::prom::openmetrics::{ExportContext, families, render};
            let text = render(&families(
                &agg,
                &ExportContext::for_scenario(&run_id, sc, start),
            ));
            if let Err(e) = std::fs::write(dir.join(OPENMETRICS_FILE), text) {
                errors.push(format!("cannot write {OPENMETRICS_FILE}: {e}"));
            }
        }
        Timings::add(&sinks.timings.report_ns, t);
    }
    Done {
        summary,
        notes,
        run_id,
        stored,
        report_dir,
        cost,
        error: (!errors.is_empty()).then(|| errors.join("; ")),
    }
}

/// One scenario's replications on their way into its aggregate.
struct Folding {
    /// The replication to fold next.
    next: u32,
    /// Replications finished ahead of `next` (the reorder buffer).
    early: BTreeMap<u32, RunResult>,
    /// `None` once the scenario is finished.
    agg: Option<Aggregate>,
}

/// `m` locked (a worker that panicked holding it left nothing half-done
/// that matters: the command fails with its panic).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// What the workers share: the next task, and how many replications wait
/// in reorder buffers (all scenarios).
struct Queue {
    next_task: usize,
    waiting: usize,
    /// A worker panicked: the others stop taking tasks.
    aborted: bool,
}

/// Sets [`Queue::aborted`] if a worker unwinds, so that no other worker
/// waits for a replication that will never come.
struct AbortOnPanic<'a>(&'a Mutex<Queue>, &'a Condvar);

impl Drop for AbortOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.lock().unwrap_or_else(|e| e.into_inner()).aborted = true;
            self.1.notify_all();
        }
    }
}

/// Run every replication of every job on `pool` (scenarios x replications in
/// parallel), folding each replication into its scenario's [`Aggregate`]
/// as soon as the ones before it are in; as each scenario's last replication
/// is folded, it is summarised, stored (one transaction) and reported, and
/// `on_done` is called. Results are in job order and do not depend on the
/// number of threads.
///
/// Replications are folded in replication order (so the aggregate is the
/// same bit for bit whatever finishes first): tasks are handed out in order
/// within each scenario, and one that finishes ahead of an earlier one waits
/// in a reorder buffer. Workers take no new task while as many replications
/// wait as there are threads, so at most about three replications per thread
/// (one running, two waiting) are held at any time, however many
/// replications are asked for.
pub fn execute(
    pool: &rayon::ThreadPool,
    jobs: &[Job],
    replications: u32,
    sinks: &Sinks,
    progress: &Progress,
    on_done: &(dyn Fn(usize, &Done) + Sync),
) -> Vec<Done> {
    let started: Vec<OnceLock<String>> = jobs.iter().map(|_| OnceLock::new()).collect();
    let folding: Vec<Mutex<Folding>> = jobs
        .iter()
        .map(|_| {
            Mutex::new(Folding {
                next: 0,
                early: BTreeMap::new(),
                agg: Some(Aggregate::default()),
            })
        })
        .collect();
    let done: Vec<OnceLock<Done>> = jobs.iter().map(|_| OnceLock::new()).collect();
    // Longest first (simulated duration as the estimate of the work): the
    // long replications start at once and the short ones fill the gaps at
    // the end, so no core waits for one long straggler. Only the order of
    // work changes, not any result. Within a scenario, replications are in
    // order (the fold relies on it).
    let mut tasks: Vec<(usize, u32)> = (0..jobs.len())
        .flat_map(|i| (0..replications).map(move |r| (i, r)))
        .collect();
    tasks.sort_by_key(|&(i, r)| (std::cmp::Reverse(jobs[i].scenario.duration), i, r));
    let queue = Mutex::new(Queue {
        next_task: 0,
        waiting: 0,
        aborted: false,
    });
    let room = Condvar::new();
    let max_waiting = pool.current_num_threads();
    pool.broadcast(|_| {
        let _guard = AbortOnPanic(&queue, &room);
        loop {
            let (i, r) = {
                let mut q = lock(&queue);
                while q.waiting >= max_waiting && !q.aborted {
                    q = room.wait(q).unwrap_or_else(|e| e.into_inner());
                }
                if q.aborted || q.next_task == tasks.len() {
                    return;
                }
                q.next_task += 1;
                tasks[q.next_task - 1]
            };
            let job = &jobs[i];
            started[i].get_or_init(store::now_utc);
            let t = Instant::now();
            let res = simulate(&job.scenario, replication_seed(job.seed, r));
            Timings::add(&sinks.timings.simulate_ns, t);
            progress.inc(1);
            let mut guard = lock(&folding[i]);
            let f = &mut *guard;
            if r != f.next {
                f.early.insert(r, res);
                lock(&queue).waiting += 1;
                continue;
            }
            let t = Instant::now();
            let agg = f.agg.as_mut().expect("the scenario is not finished");
            agg.add(&res);
            drop(res);
            f.next += 1;
            let mut freed = 0;
            while let Some(res) = f.early.remove(&f.next) {
                f.agg.as_mut().expect("not finished").add(&res);
                f.next += 1;
                freed += 1;
            }
            Timings::add(&sinks.timings.aggregate_ns, t);
            if freed > 0 {
                lock(&queue).waiting -= freed;
                room.notify_all();
            }
            if f.next == replications {
                let agg = f.agg.take().expect("finished once");
                drop(guard);
                let d = finish(job, started[i].get().expect("set above"), agg, sinks);
                on_done(i, &d);
                let _ = done[i].set(d);
            }
        }
    });
    done.into_iter()
        .map(|d| d.into_inner().expect("every job finished"))
        .collect()
}

/// The stderr line for a finished scenario.
pub fn done_line(d: &Done, db: &Path) -> String {
    let s = &d.summary;
    let (passed, _, no_data) = s.slo_counts();
    let slos = if s.slo.is_empty() {
        "no SLOs".to_string()
    } else if no_data > 0 {
        format!(
            "SLOs {passed}/{} pass ({no_data} without data)",
            s.slo.len()
        )
    } else {
        format!("SLOs {passed}/{} pass", s.slo.len())
    };
    let mut line = format!(
        "{}: {} replication{}, {slos}{}",
        s.scenario,
        s.replications,
        if s.replications == 1 { "" } else { "s" },
        if s.saturated { ", SATURATED" } else { "" }
    );
    if d.stored {
        line += &format!("; run {} in {}", d.run_id, db.display());
    }
    if let Some(dir) = &d.report_dir {
        line += &format!("; report {}", dir.join("report.md").display());
    }
    if let Some(e) = &d.error {
        line += &format!("; ERROR: {e}");
    }
    line
}

/// Run `scenarios` as `exec` says (store, reports, `--jobs` threads), with a
/// progress bar and a numbered line per finished scenario on stderr, then the
/// timings if asked. `command` names the sweep for `--shard` and `--from`
/// (see `sweep`). `Err(exit code)` when there is nothing more to do: the
/// store cannot be opened, `--from` lacks what it needs, or a `--shard` has
/// stored its share (no summary to print).
pub fn run_all(
    exec: &ExecArgs,
    scenarios: Vec<Scenario>,
    prices: Vec<Option<PriceList>>,
    what: &str,
    command: &str,
) -> anyhow::Result<Result<Vec<Done>, i32>> {
    // The wall clock and the store's time include opening the store (and
    // upgrading it) and closing it (its final WAL checkpoint).
    let wall = Instant::now();
    if let Some(shard) = exec.shard {
        let jobs = super::sweep::jobs_of(exec, scenarios);
        return super::sweep::run_shard(exec, shard, command, &jobs).map(Err);
    }
    // `--from` reads a store that must exist (the sinks would create it).
    if let Some(Err(e)) = exec.from.as_deref().map(Store::open_existing) {
        return Ok(Err(super::store_failed(&e)));
    }
    let mut sinks = match Sinks::new(exec) {
        Ok(s) => s,
        Err(e) => return Ok(Err(super::store_failed(&e))),
    };
    if let Some(start) = exec.start {
        for s in &scenarios {
            let tod = s.start_time_of_day.as_secs_f64();
            let note = s
                .workload
                .users
                .as_ref()
                .and_then(|u| weekday_note(start, tod, u.start_weekday));
            if let Some(note) = note {
                ui::note(format!("{}: {note}", s.name));
            }
        }
    }
    let dirs = out_dirs(
        exec.out.as_deref(),
        scenarios.iter().map(|s| s.name.as_str()),
    );
    // Scenarios without a loaded price list (all of them in a batch) load
    // their own when they finish.
    let mut prices = prices.into_iter();
    let jobs: Vec<Job> = scenarios
        .into_iter()
        .zip(dirs)
        .map(|(s, report_dir)| Job {
            seed: exec.seed.unwrap_or(s.seed),
            scenario: s,
            report_dir,
            prices: prices.next().flatten(),
        })
        .collect();
    let pool = super::pool(exec.jobs)?;
    let pb = Progress::new(
        what,
        "replications",
        jobs.len() as u64 * exec.replications as u64,
    );
    let n_jobs = jobs.len();
    let finished = AtomicUsize::new(0);
    let db = exec.from.as_deref().unwrap_or(&exec.db);
    let on_done = |_: usize, d: &Done| {
        let k = finished.fetch_add(1, Ordering::Relaxed) + 1;
        pb.println(&format!("[{k}/{n_jobs}] {}", done_line(d, db)));
    };
    let done = if exec.from.is_some() {
        match super::sweep::finish_from(exec, command, &jobs, &sinks, &on_done)? {
            Ok(done) => done,
            Err(code) => return Ok(Err(code)),
        }
    } else {
        execute(&pool, &jobs, exec.replications, &sinks, &pb, &on_done)
    };
    pb.finish();
    let t = Instant::now();
    drop(sinks.store.take());
    Timings::add(&sinks.timings.store_ns, t);
    Timings::add(&sinks.timings.store_open_close_ns, t);
    if exec.timings {
        ui::info(
            sinks
                .timings
                .line(wall.elapsed().as_secs_f64(), pool.current_num_threads()),
        );
    }
    Ok(Ok(done))
}

pub fn run(args: &RunArgs) -> anyhow::Result<i32> {
    let exec = &args.exec;
    let Some(mut scenarios) = load_all(&args.scenarios) else {
        return Ok(EXIT_BAD_INPUT);
    };
    let prices = match cost::load_for_all(&mut scenarios, args.prices.as_deref()) {
        Ok(p) => p,
        Err(errors) => {
            for e in errors {
                ui::error(e);
            }
            return Ok(EXIT_BAD_INPUT);
        }
    };
    for s in &scenarios {
        if s.is_abstract {
            ui::note(format!(
                "{} is abstract (a base to extend); running it anyway",
                path_str(s.path.as_deref())
            ));
        }
    }
    let slos: Vec<Vec<crate::scenario::Slo>> = scenarios.iter().map(|s| s.slos.clone()).collect();
    let originals = args.uncertainty.map(|_| scenarios.clone());
    let done = match run_all(exec, scenarios, prices, "simulating", "run")? {
        Ok(done) => done,
        Err(code) => {
            // A shard stores its share of the uncertainty study too.
            if let (0, Some(shard), Some(n), Some(originals)) =
                (code, exec.shard, args.uncertainty, &originals)
            {
                return uncertainty_shards(exec, shard, n, originals);
            }
            return Ok(code);
        }
    };
    let studies = match (args.uncertainty, originals) {
        (Some(n), Some(originals)) => match uncertainty_studies(exec, n, &originals, &done)? {
            Ok(s) => s,
            Err(code) => return Ok(code),
        },
        _ => Vec::new(),
    };
    match args.format {
        Format::Json => {
            let mut all = Vec::new();
            for (i, d) in done.iter().enumerate() {
                let mut v =
                    serde_json::to_value(report::RunJson::new(&d.summary, d.cost.as_ref()))?;
                if let (Some(st), Some(o)) = (studies.get(i), v.as_object_mut()) {
                    o.insert("uncertainty".into(), serde_json::to_value(&st.study)?);
                }
                all.push(v);
            }
            println!("{}", serde_json::to_string_pretty(&all)?);
        }
        Format::Table => {
            for (d, slos) in done.iter().zip(&slos) {
                let t = text::RunText {
                    summary: &d.summary,
                    slos,
                    notes: &d.notes,
                    cost: d.cost.as_ref(),
                };
                ui::out(&text::run_text(&t, args.verbose));
            }
            for s in &studies {
                ui::out(&s.text);
            }
        }
    }
    Ok(
        if done.iter().any(|d| d.error.is_some()) || studies.iter().any(|s| s.error) {
            EXIT_FAILURE
        } else {
            0
        },
    )
}

/// One scenario's uncertainty study, finished.
struct UncertaintyDone {
    study: crate::sensitivity::uncertainty::Study,
    /// Its table for the printed summary.
    text: String,
    /// Storing it failed (said on stderr).
    error: bool,
}

/// What an uncertainty study of `s` runs: its parameter sets, each set's
/// scenario, its tasks and their costs, and its sweep (the `i`-th scenario
/// of the command).
struct UncertaintyPlan {
    params: Vec<crate::scenario::Uncertain>,
    sets: Vec<crate::sensitivity::uncertainty::ParamSet>,
    scenarios: Vec<Scenario>,
    tasks: Vec<crate::sensitivity::Task>,
    costs: Vec<f64>,
    sweep: String,
    seed: u64,
    plan_json: String,
    factors: Vec<store::StudyFactor>,
}

fn uncertainty_plan(
    s: &Scenario,
    i: usize,
    n: u32,
    seed: u64,
    replications: u32,
) -> Result<UncertaintyPlan, String> {
    use crate::sensitivity::{Factor, uncertainty as unc};
    let params = s.uncertain_params();
    let sets = unc::latin_hypercube(&params, n as usize, seed);
    let scenarios = sets
        .iter()
        .map(|set| unc::apply(s, set))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{}: {e}", path_str(s.path.as_deref())))?;
    let tasks = unc::tasks(sets.len(), replications, seed);
    let costs = tasks
        .iter()
        .map(|t| scenarios[t.variant].duration.as_secs_f64())
        .collect();
    let sweep = super::study::sweep_id(
        "run-uncertainty",
        &s.name,
        seed,
        replications,
        &format!("sets {n}\0scenario {i}"),
    );
    let varied: Vec<Factor> = params
        .iter()
        .filter(|u| !u.is_exact())
        .map(Factor::param)
        .collect();
    let plan_json = serde_json::json!({
        "parameter_sets": sets,
        "seed": seed,
        "replications": replications,
        "stream": unc::LHS_STREAM,
    })
    .to_string();
    Ok(UncertaintyPlan {
        factors: super::study::stored_factors(&varied),
        params,
        sets,
        scenarios,
        tasks,
        costs,
        sweep,
        seed,
        plan_json,
    })
}

/// `--uncertainty N`: the model-uncertainty study of each scenario (see
/// [`crate::sensitivity::uncertainty`]), simulated here or (with `--from`)
/// gathered from the merged store of its shards; its table for the printed
/// summary, `uncertainty.csv` in the run's report folder, and the study in
/// the store (kind `uncertainty`, naming the plain run). `Err(exit code)`
/// when a drawn parameter set is one the model refuses or `--from` lacks
/// what it needs.
fn uncertainty_studies(
    exec: &ExecArgs,
    n: u32,
    scenarios: &[Scenario],
    done: &[Done],
) -> anyhow::Result<Result<Vec<UncertaintyDone>, i32>> {
    use crate::sensitivity::uncertainty as unc;
    let pool = super::pool(exec.jobs)?;
    let store_path = exec.from.as_deref().unwrap_or(&exec.db);
    let mut store = if exec.no_store && exec.from.is_none() {
        None
    } else {
        match Store::open(store_path) {
            Ok(s) => Some(s),
            Err(e) => return Ok(Err(super::store_failed(&e))),
        }
    };
    let mut out = Vec::new();
    for (i, (s, d)) in scenarios.iter().zip(done).enumerate() {
        let started = store::now_utc();
        let p = match uncertainty_plan(s, i, n, d.summary.seed, exec.replications) {
            Ok(p) => p,
            Err(e) => {
                ui::error(e);
                return Ok(Err(EXIT_BAD_INPUT));
            }
        };
        let targets = crate::sensitivity::targets(s);
        let results = match &exec.from {
            Some(from) => {
                let keys: Vec<(usize, u32)> =
                    p.tasks.iter().map(|t| (t.variant, t.replication)).collect();
                let what = format!("the uncertainty study of {}", s.name);
                let read = store.as_ref().expect("opened for --from");
                match super::study::gather(from, read, &p.sweep, s, &keys, &p.costs, &what) {
                    Ok(Ok(r)) => r,
                    Ok(Err(m)) => {
                        ui::error(m);
                        return Ok(Err(EXIT_BAD_INPUT));
                    }
                    Err(e) => return Ok(Err(super::store_failed(&e))),
                }
            }
            None => super::study::simulate(&pool, None, &p.costs, |t| {
                let task = &p.tasks[t];
                crate::sensitivity::run_task(&p.scenarios[task.variant], task, &targets)
            }),
        };
        let study = unc::analyse(s, &p.params, p.sets.clone(), exec.replications, &results);
        let csv = unc::csv_text(&s.name, study.varied, &study.rows)?;
        let text = unc::text(study.varied, study.sets.len(), &study.rows);
        if let Some(dir) = &d.report_dir {
            std::fs::write(dir.join(unc::CSV_FILE), &csv)?;
        }
        let mut error = false;
        if let Some(st) = store.as_mut() {
            let id = store::new_run_id(&started);
            let finished = store::now_utc();
            let new = store::NewStudy {
                id: &id,
                started_at: &started,
                finished_at: &finished,
                kind: store::StudyKind::Uncertainty,
                scenario: s,
                seed: p.seed,
                replications: exec.replications,
                of_run: d.stored.then_some(d.run_id.as_str()),
                plan_json: &p.plan_json,
                factors: &p.factors,
                tasks: &super::study::to_stored(&results),
                answer: Some((&text, &csv)),
                shard: None,
            };
            match st.insert_study(&new) {
                Ok(()) => ui::info(format!(
                    "{}: uncertainty study, {} parameter sets; run {id} in {}",
                    s.name,
                    study.sets.len(),
                    store_path.display()
                )),
                Err(e) => {
                    ui::error(format!(
                        "{}: cannot store the uncertainty study: {e}",
                        s.name
                    ));
                    error = true;
                }
            }
        }
        out.push(UncertaintyDone { study, text, error });
    }
    Ok(Ok(out))
}

/// `--uncertainty N --shard K/M`: this shard's share of each scenario's
/// uncertainty study, stored in --db (one shard run per scenario).
fn uncertainty_shards(
    exec: &ExecArgs,
    shard: crate::shard::Shard,
    n: u32,
    scenarios: &[Scenario],
) -> anyhow::Result<i32> {
    let mut store = match Store::open(&exec.db) {
        Ok(s) => s,
        Err(e) => return Ok(super::store_failed(&e)),
    };
    let pool = super::pool(exec.jobs)?;
    for (i, s) in scenarios.iter().enumerate() {
        let started = store::now_utc();
        let seed = exec.seed.unwrap_or(s.seed);
        let p = match uncertainty_plan(s, i, n, seed, exec.replications) {
            Ok(p) => p,
            Err(e) => {
                ui::error(e);
                return Ok(EXIT_BAD_INPUT);
            }
        };
        let targets = crate::sensitivity::targets(s);
        let results = super::study::simulate(&pool, Some(shard), &p.costs, |t| {
            let task = &p.tasks[t];
            crate::sensitivity::run_task(&p.scenarios[task.variant], task, &targets)
        });
        let id = store::new_run_id(&started);
        let finished = store::now_utc();
        let new = store::NewStudy {
            id: &id,
            started_at: &started,
            finished_at: &finished,
            kind: store::StudyKind::Uncertainty,
            scenario: s,
            seed,
            replications: exec.replications,
            of_run: None,
            plan_json: &p.plan_json,
            factors: &p.factors,
            tasks: &super::study::to_stored(&results),
            answer: None,
            shard: Some((&p.sweep, shard)),
        };
        if let Err(e) = store.insert_study(&new) {
            ui::error(format!("{}: cannot store shard {shard}: {e}", s.name));
            return Ok(EXIT_FAILURE);
        }
        ui::info(format!(
            "{}: shard {shard} of the uncertainty study, {} of {} simulations; run {id} in {}",
            s.name,
            results.len(),
            p.tasks.len(),
            exec.db.display()
        ));
    }
    Ok(0)
}

/// A note when `start` puts t = 0 on another weekday than the scenario's
/// users start on (a day of the week is 0 = Monday).
pub fn weekday_note(
    start: crate::prom::openmetrics::Start,
    start_time_of_day_s: f64,
    start_weekday: u32,
) -> Option<String> {
    let at = start.weekday(start_time_of_day_s);
    (at != start_weekday).then(|| {
        format!(
            "--start falls on a {} but the scenario starts on a {}: its weekdays in Prometheus will not be yours",
            crate::format::WEEKDAYS[at as usize % 7],
            crate::format::WEEKDAYS[start_weekday as usize % 7]
        )
    })
}

pub fn path_str(p: Option<&Path>) -> String {
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
