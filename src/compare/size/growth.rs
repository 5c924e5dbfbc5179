//! `--growth`: one search per user count, each seeded by the previous answer.

use super::*;
use crate::compare::sequential::guess_rung;
use crate::cost::PriceList;
use crate::scenario::ScenarioError;
use serde::Serialize;
use std::path::Path;

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
/// Pipelined: while one user count runs its best-first phase, the next one
/// (which needs only the lower bounds) runs its largest architecture and
/// binary searches beside it. Each search is a pure function of its inputs,
/// so the results are those of running them one after the other; `on_point`
/// is called in increasing user count.
pub fn growth(
    path: &Path,
    base: Vec<(String, toml::Value)>,
    prices: &PriceList,
    opts: SizeOptions,
    users: &[u32],
    on_point: &mut dyn FnMut(&GrowthPoint),
) -> Result<Vec<GrowthPoint>, ScenarioError> {
    let mut sorted = users.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut out: Vec<GrowthPoint> = Vec::new();
    let mut emit = |users: u32, result: SizeResult| {
        let p = GrowthPoint { users, result };
        on_point(&p);
        out.push(p);
    };
    // The ladders and, per user count with an answer, its lower bounds.
    let mut seen: Option<(Ladders, History)> = None;
    // The search whose best-first phase is still to run.
    let mut pending: Option<(u32, Search, Bounds)> = None;
    for n in sorted {
        let mut b = base.clone();
        b.push((
            "workload.users.count".into(),
            toml::Value::Integer(n as i64),
        ));
        let search = match Search::new(path, b, prices, opts.clone()) {
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
                let last_two = &history[history.len().saturating_sub(2)..];
                let values: Vec<(u32, f64)> = last_two
                    .iter()
                    .map(|(u, lb)| (*u, d.ladder[lb[i]]))
                    .collect();
                guess_rung(&d.ladder, &values, n)
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
    Ok(out)
}
