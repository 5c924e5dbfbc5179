//! The M/M/c of `scenarios/build-queue/mmc.toml` as a minimal
//! `std::collections::BinaryHeap` event loop: the baseline that the real
//! engine is compared with (`benches/engine.rs`, `benches/mmc_ratio.rs`).
//! Included into each bench with `#[path]`.

use capsim::engine::{SimTime, Streams};
use rand::RngExt;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

/// Parameters of `mmc.toml`: 8 builds/min, Exp(mean 60 s) builds, 10
/// daemons, pending jobs time out after 30 min (`models/coder.toml`).
pub struct MmcParams {
    rate_per_s: f64,
    mean_service_s: f64,
    n_servers: usize,
    timeout: SimTime,
    warmup: SimTime,
    end: SimTime,
}

impl MmcParams {
    pub fn from_scenario(s: &capsim::Scenario) -> MmcParams {
        let t = &s.workload.templates[0];
        MmcParams {
            rate_per_s: t.builds.as_ref().expect("builds").max_rate(),
            mean_service_s: t.build_time_s.mean(),
            n_servers: s
                .deployment
                .provisioner_groups
                .iter()
                .map(|g| g.n_daemons as usize)
                .sum(),
            timeout: SimTime::from_secs_f64(s.costs.provisioner_pending_timeout_s),
            warmup: s.warmup,
            end: s.duration,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum BareEv {
    Done(u32),
    Renege { job: u32, serial: u32 },
    Arrival,
}

/// Result of the bare loop: events processed, mean wait after warm-up.
pub struct BareOut {
    pub events: u64,
    pub mean_wait_s: f64,
}

/// M/M/c with FIFO and reneging as a minimal `BinaryHeap` event loop:
/// no metrics buckets, no histograms, just the queue and a wait sum.
pub fn mmc_bare(p: &MmcParams, seed: u64) -> BareOut {
    let streams = Streams::new(seed);
    let mut arrivals = streams.stream("arrivals/mm/human", 0);
    let mut builds = streams.stream("build/mm", 0);
    let exp = |rng: &mut capsim::engine::SimRng, mean_s: f64| {
        let u: f64 = rng.random();
        SimTime::from_secs_f64(-(1.0 - u).ln() * mean_s)
    };
    let mut q: BinaryHeap<Reverse<(u64, u8, u64, BareEv)>> = BinaryHeap::new();
    let mut seq = 0u64;
    let mut push = |q: &mut BinaryHeap<_>, t: SimTime, prio: u8, ev: BareEv| {
        seq += 1;
        q.push(Reverse((t.0, prio, seq, ev)));
    };
    // Job slots: creation time, and the serial of the job while it waits
    // (0 when not waiting), so stale line entries and time-outs are skipped.
    let mut created: Vec<SimTime> = Vec::new();
    let mut waiting: Vec<u32> = Vec::new();
    let mut free_slots: Vec<u32> = Vec::new();
    let mut line: VecDeque<(u32, u32)> = VecDeque::new();
    let (mut busy, mut events, mut serial) = (0usize, 0u64, 0u32);
    let (mut n_started, mut wait_sum_s) = (0u64, 0.0f64);
    let mean_gap_s = 1.0 / p.rate_per_s;
    push(&mut q, exp(&mut arrivals, mean_gap_s), 30, BareEv::Arrival);
    while let Some(Reverse((t, _, _, ev))) = q.pop() {
        let now = SimTime(t);
        if now >= p.end {
            break;
        }
        events += 1;
        let mut start = |job: u32, created: &[SimTime], q: &mut BinaryHeap<_>| {
            let service = exp(&mut builds, p.mean_service_s);
            if now >= p.warmup {
                n_started += 1;
                wait_sum_s += (now - created[job as usize]).as_secs_f64();
            }
            push(q, now + service, 10, BareEv::Done(job));
        };
        match ev {
            BareEv::Arrival => {
                let job = free_slots.pop().unwrap_or_else(|| {
                    created.push(SimTime::ZERO);
                    waiting.push(0);
                    created.len() as u32 - 1
                });
                created[job as usize] = now;
                if busy < p.n_servers {
                    busy += 1;
                    start(job, &created, &mut q);
                } else {
                    serial += 1;
                    waiting[job as usize] = serial;
                    line.push_back((job, serial));
                    push(&mut q, now + p.timeout, 20, BareEv::Renege { job, serial });
                }
                let gap = exp(&mut arrivals, mean_gap_s);
                push(&mut q, now + gap, 30, BareEv::Arrival);
            }
            BareEv::Done(job) => {
                free_slots.push(job);
                // Entries of jobs that reneged are withdrawn lazily, here.
                match std::iter::from_fn(|| line.pop_front())
                    .find(|&(j, s)| waiting[j as usize] == s)
                {
                    Some((next, _)) => {
                        waiting[next as usize] = 0;
                        start(next, &created, &mut q);
                    }
                    None => busy -= 1,
                }
            }
            BareEv::Renege { job, serial } => {
                if waiting[job as usize] == serial {
                    waiting[job as usize] = 0;
                    free_slots.push(job);
                }
            }
        }
    }
    BareOut {
        events,
        mean_wait_s: wait_sum_s / n_started.max(1) as f64,
    }
}
