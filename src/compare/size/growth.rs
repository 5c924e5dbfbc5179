//! `--growth`: one search per user count, each seeded by the previous answer.

use super::*;
use crate::compare::sequential::guess_rung;
use crate::cost::PriceList;
use crate::scenario::ScenarioError;
use serde::Serialize;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, RwLock};

/// Each dimension's resource and ladder (to tell whether rungs carry over).
type Ladders = Vec<(Resource, Vec<f64>)>;

/// Per user count with an answer, its lower bounds (rungs).
type History = Vec<(u32, Vec<usize>)>;

/// One user count of `--growth` and its search.
#[derive(Clone, Debug, Serialize)]
pub struct GrowthPoint {
    pub users: u32,
    pub result: SizeResult,
}

/// Repeat the search for each user count (`workload.users.count`), using
/// each search's lower bounds as the next one's starting point (more users
/// never need less of a resource), and the lower bounds of the last two as
/// the next one's guesses ([`guess_rung`], not with `--exhaustive`).
///
/// Pipelined: by resource when it can ([`by_resource`]), otherwise while
/// one user count runs its best-first phase, the next one (which needs only
/// the lower bounds) runs its largest architecture and binary searches
/// beside it ([`counts_in_turn`]). Each search is a pure function of its
/// inputs, so the results are those of running them one after the other;
/// `on_point` is called in increasing user count.
pub fn growth(
    path: &Path,
    base: Vec<(String, toml::Value)>,
    prices: &PriceList,
    opts: SizeOptions,
    users: &[u32],
    on_point: &mut dyn FnMut(&GrowthPoint),
) -> Result<Vec<GrowthPoint>, ScenarioError> {
    let sorted = sorted_counts(users);
    let mut out: Vec<GrowthPoint> = Vec::new();
    let mut emit = |p: GrowthPoint| {
        on_point(&p);
        out.push(p);
    };
    let (done, seen) = by_resource(path, &base, prices, &opts, &sorted, &mut emit);
    counts_in_turn(path, &base, prices, &opts, &sorted[done..], seen, &mut emit)?;
    Ok(out)
}

/// [`growth`] with the user counts in turn only (each count's best-first
/// phase beside the next one's bounds), never by resource: the reference
/// the tests hold the pipeline by resource to.
#[doc(hidden)]
pub fn growth_in_turn(
    path: &Path,
    base: Vec<(String, toml::Value)>,
    prices: &PriceList,
    opts: SizeOptions,
    users: &[u32],
) -> Result<Vec<GrowthPoint>, ScenarioError> {
    let sorted = sorted_counts(users);
    let mut out: Vec<GrowthPoint> = Vec::new();
    counts_in_turn(path, &base, prices, &opts, &sorted, None, &mut |p| {
        out.push(p)
    })?;
    Ok(out)
}

/// The user counts one after the other (each count's best-first phase
/// beside the next one's bounds), from `seen`: the ladders and the lower
/// bounds of the counts before them.
fn counts_in_turn(
    path: &Path,
    base: &[(String, toml::Value)],
    prices: &PriceList,
    opts: &SizeOptions,
    sorted: &[u32],
    mut seen: Option<(Ladders, History)>,
    emit: &mut dyn FnMut(GrowthPoint),
) -> Result<(), ScenarioError> {
    let mut emit = |users: u32, result: SizeResult| emit(GrowthPoint { users, result });
    // The search whose best-first phase is still to run.
    let mut pending: Option<(u32, Search, Bounds)> = None;
    for &n in sorted {
        let search = match Search::new(path, with_users(base, n), prices, opts.clone()) {
            Ok(s) => s,
            Err(e) => {
                if let Some((m, s, bounds)) = pending.take() {
                    emit(m, s.finish(bounds));
                }
                return Err(e);
            }
        };
        // Ladders depend on the deployment and the options, not on the user
        // count, so the previous rungs carry over, unless the policy moved
        // built-in provisioners at this count (other dimensions).
        let ladders: Ladders = search
            .dims
            .iter()
            .map(|d| (d.resource, d.ladder.clone()))
            .collect();
        let history = seen
            .as_ref()
            .filter(|(l, _)| *l == ladders)
            .map(|(_, h)| h.as_slice())
            .unwrap_or_default();
        let guesses = search
            .dims
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let values: Vec<(u32, f64)> = history
                    .iter()
                    .map(|(u, lb)| (*u, d.ladder[lb[i]]))
                    .collect();
                guess(&d.ladder, &values, n)
            })
            .collect();
        let carry = history.last().map(|(_, lb)| lb.clone());
        let mut search = search.with_guesses(guesses);
        let bounds = match pending.take() {
            None => search.bounds(carry.as_deref()),
            Some((m, prev, prev_bounds)) => {
                let (r, bounds) = rayon::join(
                    move || prev.finish(prev_bounds),
                    || search.bounds(carry.as_deref()),
                );
                emit(m, r);
                bounds
            }
        };
        if bounds.feasible() {
            let lb = bounds.lower_bounds.clone();
            match &mut seen {
                Some((l, h)) if *l == ladders => h.push((n, lb)),
                _ => seen = Some((ladders, vec![(n, lb)])),
            }
        }
        pending = Some((n, search, bounds));
    }
    if let Some((m, s, bounds)) = pending.take() {
        emit(m, s.finish(bounds));
    }
    Ok(())
}

/// The user counts to search: sorted, each once.
fn sorted_counts(users: &[u32]) -> Vec<u32> {
    let mut sorted = users.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    sorted
}

/// The scenario's overrides `base` with `workload.users.count = n`.
fn with_users(base: &[(String, toml::Value)], n: u32) -> Vec<(String, toml::Value)> {
    let mut b = base.to_vec();
    b.push((
        "workload.users.count".into(),
        toml::Value::Integer(i64::from(n)),
    ));
    b
}

/// The rung to probe first after the lower end at `users`, from the values
/// (users, value) the resource took at the smaller counts with an answer:
/// the last two extrapolated ([`guess_rung`]).
fn guess(ladder: &[f64], seen: &[(u32, f64)], users: u32) -> Option<usize> {
    guess_rung(ladder, &seen[seen.len().saturating_sub(2)..], users)
}

/// A user count's search in [`by_resource`].
struct Slot<'a> {
    /// Read by the resources' binary searches, then taken by its
    /// best-first phase once they are all done.
    search: RwLock<Option<Search<'a>>>,
    chains: Mutex<Vec<Option<Chain>>>,
    /// Resources whose binary search at this count is still to finish.
    left: AtomicUsize,
    /// The finished search, its lower bounds, and whether anything is feasible.
    result: Mutex<Option<(SizeResult, Vec<usize>, bool)>>,
}

/// The user counts pipelined by resource. A resource's binary search at
/// one count needs only its own lower bound at the counts before (the
/// lower end and the guess, see [`growth`]), not the other resources', so
/// each resource runs its searches count after count on its own, and a
/// count's best-first phase starts as soon as its last resource is done:
/// the long searches (provisioner daemons, bisected from 1 at the first
/// count) no longer leave a core idle while the short ones wait for them.
/// Each search is the same pure function of its inputs as in
/// [`counts_in_turn`], so the results are the same; they are emitted in
/// increasing user count.
///
/// Taken when every count has the same ladders and none runs the largest
/// architecture first (to find the drill's busiest time), and not with
/// `--exhaustive`: otherwise nothing is done (`0` counts). The counts are
/// searched as if each had an answer (the next one starts from its lower
/// bounds); when one has none, the counts after it are not emitted and
/// are searched again in turn from the right state, returned second.
fn by_resource(
    path: &Path,
    base: &[(String, toml::Value)],
    prices: &PriceList,
    opts: &SizeOptions,
    sorted: &[u32],
    emit: &mut dyn FnMut(GrowthPoint),
) -> (usize, Option<(Ladders, History)>) {
    let ladders_of = |s: &Search| -> Ladders {
        s.dims
            .iter()
            .map(|d| (d.resource, d.ladder.clone()))
            .collect()
    };
    if opts.exhaustive || sorted.len() < 2 {
        return (0, None);
    }
    let mut searches = Vec::new();
    for &n in sorted {
        // An error is reported by the counts in turn, after the counts before it.
        let Ok(mut s) = Search::new(path, with_users(base, n), prices, opts.clone()) else {
            return (0, None);
        };
        if !s.lazy() {
            return (0, None);
        }
        searches.push(s);
    }
    let ladders = ladders_of(&searches[0]);
    if searches.iter().any(|s| ladders_of(s) != ladders) {
        return (0, None);
    }
    let dims = ladders.len();
    let slots: Vec<Slot> = searches
        .into_iter()
        .map(|s| Slot {
            search: RwLock::new(Some(s)),
            chains: Mutex::new((0..dims).map(|_| None).collect()),
            left: AtomicUsize::new(dims),
            result: Mutex::new(None),
        })
        .collect();
    let (tx, rx) = std::sync::mpsc::channel::<usize>();
    let mut emitted = 0;
    let mut history: History = Vec::new();
    rayon::in_place_scope(|sc| {
        for (i, (_, ladder)) in ladders.iter().enumerate() {
            let (slots, tx) = (&slots, tx.clone());
            sc.spawn(move |sc| {
                // (users, value) of this resource at the counts before.
                let mut seen: Vec<(u32, f64)> = Vec::new();
                let mut lo = 0;
                for (k, slot) in slots.iter().enumerate() {
                    let chain = {
                        // Readers only while this count's searches run:
                        // its best-first phase takes the search once the
                        // last of them is done (and has let go).
                        let g = slot.search.read().expect("not poisoned");
                        let s = g.as_ref().expect("taken after its binary searches");
                        let lo = lo.min(ladder.len() - 1);
                        s.chain(i, lo, guess(ladder, &seen, sorted[k]))
                    };
                    lo = chain.0;
                    seen.push((sorted[k], ladder[chain.0]));
                    slot.chains.lock().expect("not poisoned")[i] = Some(chain);
                    if slot.left.fetch_sub(1, Ordering::AcqRel) == 1 {
                        let tx = tx.clone();
                        sc.spawn(move |_| {
                            let mut s = slot
                                .search
                                .write()
                                .expect("not poisoned")
                                .take()
                                .expect("finished once");
                            let chains: Vec<Chain> = slot
                                .chains
                                .lock()
                                .expect("not poisoned")
                                .iter_mut()
                                .map(|c| c.take().expect("every resource's"))
                                .collect();
                            let b = s.take_chains(chains, true);
                            let (lb, ok) = (b.lower_bounds.clone(), b.feasible());
                            let r = s.finish(b);
                            *slot.result.lock().expect("not poisoned") = Some((r, lb, ok));
                            let _ = tx.send(k);
                        });
                    }
                }
            });
        }
        drop(tx);
        // Emit in increasing user count as they finish, working for the
        // pool meanwhile; stop after a count with no answer.
        let mut ready = vec![false; sorted.len()];
        let mut stop = false;
        while emitted < sorted.len() && !stop {
            match rx.try_recv() {
                Ok(k) => {
                    ready[k] = true;
                    while emitted < sorted.len() && ready[emitted] && !stop {
                        let slot = &slots[emitted];
                        let (result, lb, ok) = slot
                            .result
                            .lock()
                            .expect("not poisoned")
                            .take()
                            .expect("sent when done");
                        if ok {
                            history.push((sorted[emitted], lb));
                        }
                        stop = !ok;
                        emit(GrowthPoint {
                            users: sorted[emitted],
                            result,
                        });
                        emitted += 1;
                    }
                }
                Err(std::sync::mpsc::TryRecvError::Empty) => {
                    if rayon::yield_now() != Some(rayon::Yield::Executed) {
                        std::thread::sleep(std::time::Duration::from_millis(2));
                    }
                }
                Err(std::sync::mpsc::TryRecvError::Disconnected) => break,
            }
        }
    });
    (emitted, Some((ladders, history)))
}
