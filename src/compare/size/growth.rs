//! `--growth`: one search per user count, each seeded by the previous answer.

use super::*;
use crate::cost::PriceList;
use crate::scenario::ScenarioError;
use serde::Serialize;
use std::path::Path;

/// Each dimension's resource and ladder (to tell whether rungs carry over).
type Ladders = Vec<(Resource, Vec<f64>)>;

/// One user count of `--growth` and its search.
#[derive(Clone, Debug, Serialize)]
pub struct GrowthPoint {
    pub users: u32,
    pub result: SizeResult,
}

/// Repeat the search for each user count (`workload.users.count`), using
/// each search's lower bounds as the next one's starting point (more users
/// never need less of a resource).
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
    let mut lower: Option<(Ladders, Vec<usize>)> = None;
    for n in sorted {
        let mut b = base.clone();
        b.push((
            "workload.users.count".into(),
            toml::Value::Integer(n as i64),
        ));
        let search = Search::new(path, b, prices, opts.clone())?;
        // Ladders depend on the deployment and the options, not on the user
        // count, so the previous rungs carry over, unless the policy moved
        // built-in provisioners at this count (other dimensions).
        let ladders: Ladders = search
            .dims
            .iter()
            .map(|d| (d.resource, d.ladder.clone()))
            .collect();
        let carry = lower
            .as_ref()
            .filter(|(l, _)| *l == ladders)
            .map(|(_, b)| b.as_slice());
        let result = search.run_search(carry);
        if result.recommended.is_some() {
            lower = Some((ladders, result.lower_bounds.clone()));
        }
        let p = GrowthPoint { users: n, result };
        on_point(&p);
        out.push(p);
    }
    Ok(out)
}
