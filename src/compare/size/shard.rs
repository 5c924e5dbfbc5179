//! `size --shard K/N` and `size --from DB`: the search split across
//! processes.
//!
//! The search is adaptive: which candidate it evaluates next depends on the
//! verdicts so far, and a candidate's replications stop once it fails for
//! certain. Shards cannot follow it. Instead every candidate the search
//! could visit is a task: every architecture of the grid (the product of
//! the ladders), for every `--growth` user count. Shard K of N evaluates its
//! share of them (dealt as [`crate::shard`] says) in full: all the
//! replications, the N-1 drill when the plain checks pass, and with
//! `--uncertainty` the parameter sets when those pass too, each simulation
//! with the seed it has in one process. A shard keeps every simulation it
//! ran under its key, a hash of the scenario as simulated and the seed
//! ([`simulation_key`]). `size --from` runs the normal search with a
//! [`Simulator`] that reads each simulation from the merged store instead of
//! running it: it visits the same candidates, stops early in the same places
//! and writes the same reports as one process.
//!
//! The drill's time is read from the largest candidate's runs, so a shard
//! evaluates the largest candidate of each user count first (as the search
//! does); when that fails, the search stops there and so does the shard.
//!
//! The price: the shards evaluate the whole grid, which is many more
//! simulations than the adaptive search runs (it visits a small part of the
//! grid and stops most candidates after one replication), in exchange for
//! running them on many machines at once.

use super::{Resource, Search, Simulator, SizeOptions, point_values, trimmed};
use crate::cost::PriceList;
use crate::result::RunResult;
use crate::scenario::{Scenario, ScenarioError};
use crate::shard::Shard;
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// The key of a simulation: SHA-256 of the scenario as simulated (its JSON,
/// file paths and the sha256 of its text left out, so shards run from
/// other folders agree) and the seed. A simulation's result depends on nothing else.
pub fn simulation_key(s: &Scenario, seed: u64) -> String {
    let mut k = s.clone();
    // The scenario's sha256 covers the overrides' text: a warm minimum
    // clamped to its pool's maximum is the same simulation as that minimum.
    k.sha256 = String::new();
    k.path = None;
    k.prices_path = None;
    k.model.path = Default::default();
    let json = serde_json::to_string(&k).expect("a scenario serialises");
    let mut h = Sha256::new();
    h.update(b"capsim-simulation/1\0");
    h.update(json.as_bytes());
    h.update(format!("\0{seed}").as_bytes());
    crate::scenario::load::hex(&h.finalize())
}

/// One simulation a shard ran: its key, seed and (trimmed) result.
pub struct Recorded {
    pub key: String,
    pub seed: u64,
    pub result: RunResult,
}

/// The simulations of a shard's part, by key: a scenario and seed asked for
/// twice (a parameter set that leaves the model as it is) is simulated once.
#[derive(Default)]
struct Recorder {
    runs: Mutex<BTreeMap<String, (u64, RunResult)>>,
}

impl Recorder {
    fn simulate(&self, s: &Scenario, seed: u64) -> RunResult {
        let key = simulation_key(s, seed);
        if let Some((_, r)) = self.runs.lock().expect("not poisoned").get(&key) {
            return r.clone();
        }
        let run = trimmed(crate::model::simulate(s, seed), true);
        self.runs
            .lock()
            .expect("not poisoned")
            .entry(key)
            .or_insert_with(|| (seed, run.clone()));
        run
    }
}

/// What `size --from` gives the search for a simulation its store lacks
/// (the caller refuses the search afterwards): saturated, with no metrics,
/// so the candidate fails.
pub fn missing_result(s: &Scenario, seed: u64) -> RunResult {
    RunResult {
        scenario: s.name.clone(),
        seed,
        saturated: true,
        notes: vec!["not in the store".into()],
        metrics: vec![],
        series: Default::default(),
        marks: vec![],
        events_processed: 0,
    }
}

/// One candidate of the grid: the search (user count) it belongs to and its
/// rung of each dimension.
#[derive(Clone, Debug)]
pub struct Task {
    pub search: usize,
    pub point: Vec<usize>,
}

/// A task a shard evaluated, and the simulations its evaluation needed.
#[derive(Clone, Debug)]
pub struct TaskDone {
    pub task: usize,
    pub label: String,
    pub simulations: u64,
}

/// What a shard evaluated and every simulation it ran, by key.
pub struct ShardOutput {
    pub tasks: Vec<TaskDone>,
    pub simulations: Vec<Recorded>,
}

/// Every candidate the search could visit, for every user count.
pub struct Grid<'a> {
    searches: Vec<Search<'a>>,
    /// The user count of each search (`--growth`), `None` without growth.
    users: Vec<Option<u32>>,
    pub tasks: Vec<Task>,
    recorder: Arc<Recorder>,
}

impl<'a> Grid<'a> {
    /// The grid of the search `size` (`growth` empty) or `growth` would run
    /// with these arguments: one search per user count, as [`super::growth`]
    /// builds them.
    pub fn new(
        path: &'a Path,
        base: Vec<(String, toml::Value)>,
        prices: &'a PriceList,
        mut opts: SizeOptions,
        growth: &[u32],
    ) -> Result<Grid<'a>, ScenarioError> {
        let recorder = Arc::new(Recorder::default());
        let r = Arc::clone(&recorder);
        opts.simulator = Simulator(Arc::new(move |s, seed| r.simulate(s, seed)));
        let mut counts = growth.to_vec();
        counts.sort_unstable();
        counts.dedup();
        let mut searches = Vec::new();
        let mut users = Vec::new();
        if counts.is_empty() {
            searches.push(Search::new(path, base.clone(), prices, opts.clone())?);
            users.push(None);
        }
        for n in counts {
            let mut b = base.clone();
            b.push((
                "workload.users.count".into(),
                toml::Value::Integer(n as i64),
            ));
            searches.push(Search::new(path, b, prices, opts.clone())?);
            users.push(Some(n));
        }
        let mut tasks = Vec::new();
        for (k, s) in searches.iter().enumerate() {
            tasks.extend(
                architectures(&s.dims)
                    .into_iter()
                    .map(|point| Task { search: k, point }),
            );
        }
        Ok(Grid {
            searches,
            users,
            tasks,
            recorder,
        })
    }

    /// Each task's estimated cost, to deal them: its user count (the
    /// simulated time is the same for all).
    pub fn costs(&self) -> Vec<f64> {
        self.tasks
            .iter()
            .map(|t| f64::from(self.users[t.search].unwrap_or(1).max(1)))
            .collect()
    }

    /// The user counts searched (1 without `--growth`).
    pub fn user_counts(&self) -> usize {
        self.searches.len()
    }

    /// Task `t` in words: `1,500 users: coderd replicas 3, ...`.
    pub fn label(&self, t: usize) -> String {
        let task = &self.tasks[t];
        let arch = self.searches[task.search].describe_point(&task.point);
        match self.users[task.search] {
            Some(n) => format!("{} users: {arch}", crate::format::thousands(u64::from(n))),
            None => arch,
        }
    }

    /// Evaluate the tasks `shard` owns, each in full (see the module), in
    /// parts of at most `part` candidates: `on_part` gets each part's
    /// candidates and the simulations they ran (so a shard's memory holds
    /// one part, and a shard killed midway keeps the parts it stored); an
    /// error from it stops the shard.
    pub fn run<E>(
        &mut self,
        shard: Shard,
        part: usize,
        on_part: &mut dyn FnMut(ShardOutput) -> Result<(), E>,
    ) -> Result<(), E> {
        let owned = shard.owned(&self.costs());
        for k in 0..self.searches.len() {
            let mine: Vec<usize> = (0..self.tasks.len())
                .filter(|&t| owned[t] && self.tasks[t].search == k)
                .collect();
            if mine.is_empty() {
                continue;
            }
            let search = &mut self.searches[k];
            // The largest candidate first: its runs give the drill's time,
            // and when it fails the search goes no further.
            let top = search.top();
            let (largest, busiest) = search.run(&top, None, false);
            search.drill_at_s = busiest;
            for chunk in mine.chunks(part.max(1)) {
                let (search, tasks) = (&self.searches[k], &self.tasks);
                let counts: Vec<u64> = chunk
                    .par_iter()
                    .map(|&t| {
                        let p = &tasks[t].point;
                        if *p == top {
                            largest.simulations
                        } else if !largest.feasible {
                            0
                        } else {
                            search.evaluate_in_full(p)
                        }
                    })
                    .collect();
                let done = chunk
                    .iter()
                    .zip(counts)
                    .map(|(&t, n)| TaskDone {
                        task: t,
                        label: self.label(t),
                        simulations: n,
                    })
                    .collect();
                let runs = std::mem::take(&mut *self.recorder.runs.lock().expect("not poisoned"));
                on_part(ShardOutput {
                    tasks: done,
                    simulations: runs
                        .into_iter()
                        .map(|(key, (seed, result))| Recorded { key, seed, result })
                        .collect(),
                })?;
            }
        }
        Ok(())
    }
}

/// Every architecture of the grid of `dims`, in the order of their rungs
/// (the last dimension fastest), once each: points that are the same
/// architecture (a warm minimum above its pool's maximum is the maximum)
/// are one task, the first of them.
fn architectures(dims: &[super::Dimension]) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    if dims.iter().any(|d| d.ladder.is_empty()) {
        return out;
    }
    let mut p = vec![0; dims.len()];
    loop {
        let values = point_values(dims, &p);
        let canon: Vec<u64> = dims
            .iter()
            .enumerate()
            .map(|(k, d)| match d.resource {
                Resource::NodeMin => values[k].to_bits(),
                _ => p[k] as u64,
            })
            .collect();
        if seen.insert(canon) {
            out.push(p.clone());
        }
        // The next point, the last dimension fastest.
        let mut k = dims.len();
        loop {
            if k == 0 {
                return out;
            }
            k -= 1;
            p[k] += 1;
            if p[k] < dims[k].ladder.len() {
                break;
            }
            p[k] = 0;
        }
    }
}

impl Search<'_> {
    /// Evaluate `point` as a shard does, in full: every replication (no
    /// early stop), the drill when the plain checks pass, and the parameter
    /// sets when those pass too (under `--confidence-over noise` the search
    /// runs them for the recommendation: any feasible candidate could be
    /// it). The simulations it needed.
    fn evaluate_in_full(&self, point: &[usize]) -> u64 {
        let (e, _) = self.run(point, self.drill_at_s, false);
        let mut n = e.simulations;
        if e.feasible
            && e.error.is_none()
            && e.over_sets.is_none()
            && self.uncertainty.is_some()
            && let Ok((s, _)) = self.load(point)
        {
            n += self.over_sets(&s, self.drill_at_s, false).1;
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_ignore_paths_and_tell_seeds_and_scenarios_apart() {
        let mut a: Scenario = crate::scenario::load(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/coder/working-day-1000.toml"),
        )
        .expect("the example loads");
        let k = simulation_key(&a, 1);
        assert_eq!(k, simulation_key(&a.clone(), 1));
        assert_ne!(k, simulation_key(&a, 2));
        let mut moved = a.clone();
        moved.path = Some("elsewhere/small.toml".into());
        moved.model.path = "elsewhere/coder.toml".into();
        assert_eq!(k, simulation_key(&moved, 1), "file paths are not simulated");
        a.deployment.coderd.n_replicas += 1;
        assert_ne!(k, simulation_key(&a, 1));
    }
}
