//! Sweeps split across processes. `--shard K/N` runs one share of a
//! command's tasks (every replication of every scenario, dealt as
//! [`crate::shard`] says) and stores it; `capsim runs merge` joins the
//! shards' stores; `--from DB` gathers each scenario's replications from the
//! merged store and finishes the analysis (summary, SLO verdicts, stored run,
//! report) exactly as one process would have: the same replications in the
//! same order go through the same code.

use super::progress::Progress;
use super::run::{Done, Job, Sinks, finish};
use super::{EXIT_BAD_INPUT, EXIT_FAILURE, ExecArgs, ui};
use crate::engine::rng::replication_seed;
use crate::report::Aggregate;
use crate::result::RunResult;
use crate::scenario::Scenario;
use crate::shard::Shard;
use crate::simulate;
use crate::store::{self, ShardRun, Store, SweepResults};
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The id of job `job` of a sweep: the same on every machine for the same
/// command line (command, scenario names in order, their master seeds, the
/// replications and `extra`, the command's own options), whatever the shard
/// and wherever the files are. It does not hash the files' contents: shards
/// that ran different versions of a file are one sweep whose runs disagree,
/// which `runs merge` and `--from` then refuse.
pub fn sweep_id(command: &str, jobs: &[Job], replications: u32, extra: &str, job: usize) -> String {
    let mut h = Sha256::new();
    h.update(format!("capsim-sweep/1\0{command}\0{replications}\0{extra}\0").as_bytes());
    for j in jobs {
        h.update(format!("{}\0{}\0", j.scenario.name, j.seed).as_bytes());
    }
    h.update(format!("job {job}").as_bytes());
    let d = h.finalize();
    d[..12].iter().map(|b| format!("{b:02x}")).collect()
}

/// Every task of a sweep in canonical order (job, replication) and its
/// estimated cost (the scenario's simulated seconds).
fn tasks(jobs: &[Job], replications: u32) -> (Vec<(usize, u32)>, Vec<f64>) {
    let tasks: Vec<(usize, u32)> = (0..jobs.len())
        .flat_map(|i| (0..replications).map(move |r| (i, r)))
        .collect();
    let costs = tasks
        .iter()
        .map(|&(i, _)| jobs[i].scenario.duration.as_secs_f64())
        .collect();
    (tasks, costs)
}

/// Jobs for scenarios run with `exec`'s seed.
pub fn jobs_of(exec: &ExecArgs, scenarios: Vec<Scenario>) -> Vec<Job> {
    scenarios
        .into_iter()
        .map(|s| Job {
            seed: exec.seed.unwrap_or(s.seed),
            scenario: s,
            report_dir: None,
            prices: None,
        })
        .collect()
}

/// `--shard K/N`: simulate this shard's tasks on all cores and store, per
/// scenario, its share (one shard run, one transaction, when its last task
/// is in). Prints a line per scenario on stderr; no summary, no report.
pub fn run_shard(
    exec: &ExecArgs,
    shard: Shard,
    command: &str,
    jobs: &[Job],
) -> anyhow::Result<i32> {
    let mut store = match Store::open(&exec.db) {
        Ok(s) => s,
        Err(e) => return Ok(super::store_failed(&e)),
    };
    let reps = exec.replications;
    let (all, costs) = tasks(jobs, reps);
    let owned = shard.owned(&costs);
    let mut mine: Vec<(usize, u32)> = all
        .iter()
        .zip(&owned)
        .filter(|(_, o)| **o)
        .map(|(t, _)| *t)
        .collect();
    let per_job: Vec<usize> = (0..jobs.len())
        .map(|i| mine.iter().filter(|t| t.0 == i).count())
        .collect();
    ui::info(format!(
        "shard {shard}: {} of {} tasks ({} scenario{} x {reps} replication{})",
        mine.len(),
        all.len(),
        jobs.len(),
        if jobs.len() == 1 { "" } else { "s" },
        if reps == 1 { "" } else { "s" },
    ));
    // Longest first, as `execute` does: only the order of work changes.
    mine.sort_by_key(|&(i, r)| (std::cmp::Reverse(jobs[i].scenario.duration), i, r));
    let slots: Vec<Mutex<Vec<(u32, RunResult)>>> =
        jobs.iter().map(|_| Mutex::new(Vec::new())).collect();
    let remaining: Vec<AtomicUsize> = per_job.iter().map(|&n| AtomicUsize::new(n)).collect();
    let store_m = Mutex::new(&mut store);
    let errors = Mutex::new(Vec::<String>::new());
    let pool = super::pool(exec.jobs)?;
    let flush_at = (2 * pool.current_num_threads()).max(4);
    let pb = Progress::new(&format!("shard {shard}"), "replications", mine.len() as u64);
    let started = store::now_utc();
    pool.install(|| {
        mine.par_iter().for_each(|&(i, r)| {
            let job = &jobs[i];
            let res = simulate(&job.scenario, replication_seed(job.seed, r));
            pb.inc(1);
            // A scenario's share is stored when it is complete, or in parts
            // of `flush_at` replications: memory stays bounded however many
            // replications a shard has (`--from` gathers the parts).
            let last = {
                let mut slot = slots[i].lock().unwrap_or_else(|e| e.into_inner());
                slot.push((r, res));
                remaining[i].fetch_sub(1, Ordering::AcqRel) == 1
            };
            let mut runs = {
                let mut slot = slots[i].lock().unwrap_or_else(|e| e.into_inner());
                if !last && slot.len() < flush_at {
                    return;
                }
                std::mem::take(&mut *slot)
            };
            if runs.is_empty() {
                return;
            }
            runs.sort_by_key(|x| x.0);
            let finished = store::now_utc();
            let id = store::new_run_id(&started);
            let sweep = sweep_id(command, jobs, reps, "", i);
            let run = ShardRun {
                id: &id,
                started_at: &started,
                finished_at: &finished,
                scenario: &job.scenario,
                sweep: &sweep,
                shard,
                seed: job.seed,
                runs: &runs,
            };
            let stored = store_m
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert_shard(&run);
            let line = match stored {
                Ok(()) => format!(
                    "{}: shard {shard}, replications {} of {reps}; run {id} in {}",
                    job.scenario.name,
                    ranges(runs.iter().map(|x| x.0)),
                    exec.db.display()
                ),
                Err(e) => {
                    let m = format!("{}: cannot store shard {shard}: {e}", job.scenario.name);
                    errors
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(m.clone());
                    format!("{m}; ERROR")
                }
            };
            pb.println(&line);
        })
    });
    pb.finish();
    for (i, n) in per_job.iter().enumerate() {
        if *n == 0 {
            ui::info(format!(
                "{}: no task in shard {shard}",
                jobs[i].scenario.name
            ));
        }
    }
    let errors = errors.into_inner().unwrap_or_else(|e| e.into_inner());
    Ok(if errors.is_empty() { 0 } else { EXIT_FAILURE })
}

/// `--from DB`: for each job, its sweep's replications from the store, in
/// replication order, through [`finish`] (summary, store, report) as if they
/// had just been simulated. `Err(2)` (after printing why) when the store
/// lacks a replication or its shards ran other inputs.
pub fn finish_from(
    exec: &ExecArgs,
    command: &str,
    jobs: &[Job],
    sinks: &Sinks,
    on_done: &dyn Fn(usize, &Done),
) -> anyhow::Result<Result<Vec<Done>, i32>> {
    let from = exec.from.as_deref().expect("--from given");
    let read = match Store::open_existing(from) {
        Ok(s) => s,
        Err(e) => return Ok(Err(super::store_failed(&e))),
    };
    let reps = exec.replications;
    let (all, costs) = tasks(jobs, reps);
    let mut gathered = Vec::new();
    let mut failed = false;
    for (i, job) in jobs.iter().enumerate() {
        let sweep = sweep_id(command, jobs, reps, "", i);
        let found = match read.sweep_results(&sweep) {
            Ok(f) => f,
            Err(e) => return Ok(Err(super::store_failed(&e))),
        };
        match check(from, job, reps, &found, |r| {
            let t = all.iter().position(|&x| x == (i, r)).expect("a task");
            shards_owning(&found, &costs, t)
        }) {
            Ok(started) => gathered.push(started),
            Err(m) => {
                ui::error(m);
                failed = true;
            }
        }
    }
    if failed {
        return Ok(Err(EXIT_BAD_INPUT));
    }
    let mut done = Vec::new();
    for (i, started) in gathered.into_iter().enumerate() {
        let mut agg = Aggregate::default();
        let sweep = sweep_id(command, jobs, reps, "", i);
        if let Err(e) = read.each_sweep_result(&sweep, |_, r| agg.add(&r)) {
            return Ok(Err(super::store_failed(&e)));
        }
        let d = finish(&jobs[i], &started, agg, sinks);
        on_done(i, &d);
        done.push(d);
    }
    Ok(Ok(done))
}

/// The shards (as `K/N`, for each N the store's shards used) whose share
/// holds task `t`.
fn shards_owning(found: &SweepResults, costs: &[f64], t: usize) -> Vec<String> {
    owners(&found.parts, costs, t)
}

/// The shards (as `K/N`, for each N that `parts` used) whose share of a
/// sweep with these task costs holds task `t`.
pub fn owners(parts: &[store::SweepPart], costs: &[f64], t: usize) -> Vec<String> {
    let mut ns: Vec<u32> = parts
        .iter()
        .filter_map(|p| p.shard.parse::<Shard>().ok().map(|s| s.count))
        .collect();
    ns.sort();
    ns.dedup();
    ns.into_iter()
        .filter_map(|n| {
            (0..n)
                .map(|k| Shard { index: k, count: n })
                .find(|s| s.owned(costs)[t])
                .map(|s| s.to_string())
        })
        .collect()
}

/// Every shard run in `parts` ran `sc` (its file and bases, its model file)
/// with this capsim; else what changed, naming the run and its shard.
pub fn check_inputs(
    from: &std::path::Path,
    sc: &Scenario,
    parts: &[store::SweepPart],
) -> Result<(), String> {
    let short = |s: &str| s.chars().take(12).collect::<String>();
    for p in parts {
        let differs = if p.scenario_sha256 != sc.sha256 {
            Some((
                format!("{} (scenario file and its bases)", sc.name),
                short(&p.scenario_sha256),
                short(&sc.sha256),
            ))
        } else if p.model_sha256 != sc.model.sha256 {
            Some((
                format!("model file {}", crate::format::tidy_path(&sc.model.path)),
                short(&p.model_sha256),
                short(&sc.model.sha256),
            ))
        } else if p.capsim_version != env!("CARGO_PKG_VERSION") {
            Some((
                "capsim".to_string(),
                p.capsim_version.clone(),
                env!("CARGO_PKG_VERSION").to_string(),
            ))
        } else {
            None
        };
        if let Some((what, then, now)) = differs {
            return Err(format!(
                "{}: run {} (shard {}) ran {what} at {then}, but it is {now} now: the inputs changed since the shards ran; run the shards again",
                from.display(),
                p.id,
                p.shard
            ));
        }
    }
    Ok(())
}

/// The shards of `job` found in the store ran its inputs and hold all its
/// replications: the earliest start among them, or what is wrong.
fn check(
    from: &std::path::Path,
    job: &Job,
    reps: u32,
    found: &SweepResults,
    owner: impl Fn(u32) -> Vec<String>,
) -> Result<String, String> {
    let sc = &job.scenario;
    let at = from.display();
    if found.parts.is_empty() {
        return Err(format!(
            "{at}: no shard of scenario {} in this sweep ({reps} replications, seed {}): run the same command with --shard K/N in each process, merge their stores with `capsim runs merge`, then give the merged store to --from",
            sc.name, job.seed
        ));
    }
    check_inputs(from, sc, &found.parts)?;
    let missing: Vec<u32> = (0..reps)
        .filter(|r| !found.replications.contains(r))
        .collect();
    if !missing.is_empty() {
        let mut shards: Vec<String> = missing.iter().flat_map(|&r| owner(r)).collect();
        shards.sort();
        shards.dedup();
        return Err(format!(
            "{at}: scenario {} lacks replication{} {} of {reps}{}: merge the store of every shard (or run the missing shards) before --from",
            sc.name,
            if missing.len() == 1 { "" } else { "s" },
            ranges(missing.iter().copied()),
            if shards.is_empty() {
                String::new()
            } else {
                format!(" (shard {})", shards.join(", "))
            }
        ));
    }
    Ok(found
        .parts
        .iter()
        .map(|p| p.started_at.clone())
        .min()
        .expect("a part"))
}

/// `0-3, 5, 7-9` for sorted indices.
pub fn ranges(xs: impl Iterator<Item = u32>) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut run: Option<(u32, u32)> = None;
    let flush = |run: Option<(u32, u32)>, out: &mut Vec<String>| {
        if let Some((a, b)) = run {
            out.push(if a == b {
                a.to_string()
            } else {
                format!("{a}-{b}")
            });
        }
    };
    for x in xs {
        run = match run {
            Some((a, b)) if x == b + 1 => Some((a, x)),
            r => {
                flush(r, &mut out);
                Some((x, x))
            }
        };
    }
    flush(run, &mut out);
    out.join(", ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn ranges_read_as_spans() {
        assert_eq!(
            super::ranges([0, 1, 2, 3, 5, 7, 8, 9].into_iter()),
            "0-3, 5, 7-9"
        );
        assert_eq!(super::ranges([4].into_iter()), "4");
        assert_eq!(super::ranges(std::iter::empty()), "");
    }
}
