//! Studies (`capsim sensitivity`, `capsim run --uncertainty N`) split
//! across processes and kept in the run store. A study is a list of tasks
//! (a variant or parameter set, and a replication, with the seed it has in
//! one process); `--shard K/N` runs this process's share of them (dealt as
//! [`crate::shard`] says) and stores their results; `--from DB` gathers
//! every task from a merged store, and the analysis, which depends on the
//! task results alone, gives what one process would have.

use super::sweep::{check_inputs, owners};
use crate::scenario::Scenario;
use crate::sensitivity::{self, Factor, Source, TaskResult};
use crate::shard::Shard;
use crate::store::{Store, StudyFactor, StudyTask};
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use std::path::Path;

/// The id of a study's sweep: the same on every machine for the same
/// command line (`command`, the scenario's name, the master seed, the
/// replications and `extra`, the study's own options such as its factors),
/// whatever the shard. Contents of files are not hashed: shards that ran
/// other versions are refused by `runs merge` and `--from` naming them.
pub fn sweep_id(
    command: &str,
    scenario: &str,
    seed: u64,
    replications: u32,
    extra: &str,
) -> String {
    let mut h = Sha256::new();
    h.update(
        format!("capsim-study/1\0{command}\0{scenario}\0{seed}\0{replications}\0{extra}")
            .as_bytes(),
    );
    let d = h.finalize();
    d[..12].iter().map(|b| format!("{b:02x}")).collect()
}

/// Run the tasks this process owns (all of them unless `shard`) on `pool`,
/// `run(t)` simulating task `t`; their results in task order.
pub fn simulate(
    pool: &rayon::ThreadPool,
    shard: Option<Shard>,
    costs: &[f64],
    run: impl Fn(usize) -> TaskResult + Sync,
) -> Vec<TaskResult> {
    let owned = shard.unwrap_or(Shard::WHOLE).owned(costs);
    let mine: Vec<usize> = (0..costs.len()).filter(|&t| owned[t]).collect();
    pool.install(|| mine.par_iter().map(|&t| run(t)).collect())
}

/// Every task of a study from the shards of `sweep` in the store `read`
/// (at `from`): checked to have run `base` with this capsim, and complete.
/// `tasks` are the (variant, replication) of each task in order, `costs`
/// their estimated costs (to name the shard that owns a missing one), and
/// `what` names the study in messages. The results come in task order.
pub fn gather(
    from: &Path,
    read: &Store,
    sweep: &str,
    base: &Scenario,
    tasks: &[(usize, u32)],
    costs: &[f64],
    what: &str,
) -> Result<Result<Vec<TaskResult>, String>, crate::store::StoreError> {
    let (parts, found) = read.study_sweep(sweep)?;
    if parts.is_empty() {
        return Ok(Err(format!(
            "{}: no shard of {what} in this store: run the same command with --shard K/N in each process, merge their stores with `capsim runs merge`, then give the merged store to --from",
            from.display()
        )));
    }
    if let Err(e) = check_inputs(from, base, &parts) {
        return Ok(Err(e));
    }
    let mut out = Vec::with_capacity(tasks.len());
    let mut missing = Vec::new();
    let mut it = found.into_iter().peekable();
    for (t, &(v, r)) in tasks.iter().enumerate() {
        while it
            .peek()
            .is_some_and(|x| (x.variant, x.replication) < (v, r))
        {
            it.next();
        }
        match it.peek() {
            Some(x) if (x.variant, x.replication) == (v, r) => out.push(it.next().expect("peeked")),
            _ => missing.push(t),
        }
    }
    if !missing.is_empty() {
        let mut shards: Vec<String> = missing
            .iter()
            .flat_map(|&t| owners(&parts, costs, t))
            .collect();
        shards.sort();
        shards.dedup();
        let (v, r) = tasks[missing[0]];
        return Ok(Err(format!(
            "{}: {what} lacks {} of its {} simulations (the first: variant {v}, replication {r}){}: merge the store of every shard (or run the missing shards) before --from",
            from.display(),
            missing.len(),
            tasks.len(),
            if shards.is_empty() {
                String::new()
            } else {
                format!(" (shard {})", shards.join(", "))
            }
        )));
    }
    Ok(Ok(out.into_iter().map(from_stored).collect()))
}

/// Task results as the store keeps them.
pub fn to_stored(results: &[TaskResult]) -> Vec<StudyTask> {
    results
        .iter()
        .map(|r| StudyTask {
            variant: r.variant,
            replication: r.replication,
            seed: r.seed,
            saturated: r.saturated,
            values: r.values.clone(),
            units: r.units.clone(),
        })
        .collect()
}

fn from_stored(t: StudyTask) -> TaskResult {
    TaskResult {
        variant: t.variant,
        replication: t.replication,
        seed: t.seed,
        saturated: t.saturated,
        values: t.values,
        units: t.units,
    }
}

/// A study's factors as the store keeps them.
pub fn stored_factors(factors: &[Factor]) -> Vec<StudyFactor> {
    factors
        .iter()
        .map(|f| StudyFactor {
            name: f.name.clone(),
            unit: f.unit.clone(),
            source: match &f.source {
                Source::Param { provenance } => provenance.clone(),
                Source::Key { .. } => "key".into(),
            },
            value: f.value,
            lo: f.end_text(sensitivity::End::Lo),
            hi: f.end_text(sensitivity::End::Hi),
            reason: f.reason.clone(),
        })
        .collect()
}
