//! `--shard K/N`: a deterministic split of a sweep's tasks between N
//! processes, so a sweep that outgrows one machine runs as N shards (a
//! Kubernetes Indexed Job, a Slurm job array, `xargs -P`) whose stores
//! `capsim runs merge` then joins.
//!
//! A *task* is one simulation (a scenario or variant, and a replication); it
//! has the seed it would have in one process, so where it runs changes
//! nothing in its result. The split depends only on the task list and each
//! task's estimated cost: tasks sorted by cost, largest first (ties in task
//! order), dealt round-robin to shards 0, 1, ..., N-1, 0, ... Every shard
//! gets about the same work, and the same command line gives the same split
//! on every machine.

use std::fmt;
use std::str::FromStr;

/// One process's share of a sweep: shard `index` (0-based, as
/// `JOB_COMPLETION_INDEX` and `SLURM_ARRAY_TASK_ID` count) of `count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

/// At most this many shards (a sweep is split into at most this many processes).
pub const MAX_SHARDS: u32 = 100_000;

impl Shard {
    /// The whole sweep in one process.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// Which tasks this shard runs, given each task's estimated cost (any
    /// unit; simulated seconds in practice): `owned[t]` for task `t`.
    pub fn owned(&self, costs: &[f64]) -> Vec<bool> {
        let mut order: Vec<usize> = (0..costs.len()).collect();
        // Largest first; NaN as zero; ties keep task order (stable sort).
        let key = |i: usize| if costs[i].is_nan() { 0.0 } else { costs[i] };
        order.sort_by(|&a, &b| key(b).total_cmp(&key(a)));
        let mut owned = vec![false; costs.len()];
        for (pos, &t) in order.iter().enumerate() {
            owned[t] = pos as u64 % u64::from(self.count) == u64::from(self.index);
        }
        owned
    }

    pub fn is_whole(&self) -> bool {
        self.count == 1
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = String;
    /// `K/N` with `0 <= K < N`.
    fn from_str(s: &str) -> Result<Shard, String> {
        let bad =
            || format!("expected K/N with 0 <= K < N (e.g. 0/4; K counts from 0), found {s:?}");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let index: u32 = k.trim().parse().map_err(|_| bad())?;
        let count: u32 = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        if count > MAX_SHARDS {
            return Err(format!(
                "at most {MAX_SHARDS} shards, found {count} in {s:?}"
            ));
        }
        Ok(Shard { index, count })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects() {
        assert_eq!("1/3".parse(), Ok(Shard { index: 1, count: 3 }));
        for bad in ["3/3", "1/0", "-1/3", "1", "a/b", "1/3/4", ""] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        assert_eq!(Shard { index: 2, count: 5 }.to_string(), "2/5");
    }

    #[test]
    fn shards_partition_the_tasks_and_balance_the_work() {
        let costs: Vec<f64> = (0..23).map(|i| ((i * 7) % 5 + 1) as f64).collect();
        for n in 1..=6u32 {
            let shares: Vec<Vec<bool>> = (0..n)
                .map(|k| Shard { index: k, count: n }.owned(&costs))
                .collect();
            for t in 0..costs.len() {
                assert_eq!(
                    shares.iter().filter(|s| s[t]).count(),
                    1,
                    "task {t}, {n} shards"
                );
            }
            let work: Vec<f64> = shares
                .iter()
                .map(|s| (0..costs.len()).filter(|&t| s[t]).map(|t| costs[t]).sum())
                .collect();
            let (lo, hi) = work
                .iter()
                .fold((f64::MAX, 0.0f64), |(a, b), &w| (a.min(w), b.max(w)));
            // Dealing largest first: shards differ by at most the largest task.
            assert!(hi - lo <= 5.0, "{n} shards: {work:?}");
        }
    }
}
