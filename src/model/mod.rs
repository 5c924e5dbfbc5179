//! The Coder deployment model: what happens in a deployment, event by event.
//!
//! `World` owns every component and the event set; `simulate` runs it.

pub mod coder_metrics;
pub mod metric_names;
pub mod provisioner;
pub mod world;

use crate::engine::metrics::Labels;
use crate::engine::{Metric, SimTime, Streams};
use crate::result::RunResult;
use crate::scenario::Scenario;
pub use provisioner::ProvEv;
use world::World;

/// Every event of the model. Fields are `u32`s so an event stays within 20 bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ev {
    Prov(ProvEv),
    /// Request `id`'s activity bump has committed.
    Commit {
        id: u32,
    },
    /// The autobuild executor's tick on every replica.
    Autobuild,
    /// The deployment-stats refresh on every replica.
    DeploymentStats,
    DayPlan {
        day: u32,
    },
    UserArrive {
        user: u32,
        day: u32,
    },
    UserLeave {
        user: u32,
        day: u32,
    },
    Lunch {
        user: u32,
        day: u32,
        back: bool,
    },
    SlotOpen {
        user: u32,
        slot: u32,
        epoch: u32,
    },
    ConnEnd {
        conn: u32,
        epoch: u32,
    },
    DashAction {
        conn: u32,
        epoch: u32,
    },
    Reconnect {
        user: u32,
        slot: u32,
        epoch: u32,
        attempt: u32,
    },
    AgentConnect {
        user: u32,
        epoch: u32,
    },
    AgentMeta {
        user: u32,
        epoch: u32,
        tick: u32,
    },
    /// A replica's `batch` of agent writes is due to flush.
    Flush {
        replica: u32,
        epoch: u32,
        batch: world::Batch,
    },
    Autostart {
        user: u32,
    },
    Autostop {
        user: u32,
        epoch: u32,
    },
    BuildRetry {
        user: u32,
        epoch: u32,
    },
    Fluid,
    Scheduled {
        idx: u32,
    },
    Hpa,
    ProvScale,
    ProvAdd {
        count: u32,
    },
    ReplicaUp {
        replica: u32,
    },
    NodeUp,
    /// A node of a node pool finished starting.
    NodeReady {
        pool: u32,
        node: u32,
        serial: u32,
    },
    /// The cluster autoscaler's scan of a node pool.
    PoolScan {
        pool: u32,
    },
    /// The provider's time-out of a workspace waiting for a node.
    NodeWaitTimeout {
        user: u32,
        serial: u32,
    },
    DbRestore,
    SpikeEnd {
        idx: u32,
    },
    PhaseStart {
        idx: u32,
    },
    PhaseEnd {
        idx: u32,
    },
}

/// What the run loop handles next ([`World::next_event`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// An event from the event set.
    Event(Ev),
    /// A CPU's wake-up timer slot fired: its CPU may have finished work
    /// (slot 0 the database, `1 + r` replica `r`).
    Timer(usize),
}

/// Replications `0..n` of `scenario`, replication `r` on
/// `replication_seed(seed, r)`, in parallel on the current rayon pool; the
/// result does not depend on the number of threads.
pub fn replications(scenario: &Scenario, seed: u64, n: u32) -> Vec<RunResult> {
    replications_map(scenario, seed, n, |run| run)
}

/// [`replications`], with `keep` applied to each replication as it
/// finishes (to drop what the caller does not need before the others end).
pub fn replications_map<T: Send>(
    scenario: &Scenario,
    seed: u64,
    n: u32,
    keep: impl Fn(RunResult) -> T + Sync + Send,
) -> Vec<T> {
    use rayon::prelude::*;
    (0..n)
        .into_par_iter()
        .map(|r| {
            keep(simulate(
                scenario,
                crate::engine::rng::replication_seed(seed, r),
            ))
        })
        .collect()
}

/// Run `scenario` once with `seed`. Pure: no I/O, no clock, no global state.
pub fn simulate(scenario: &Scenario, seed: u64) -> RunResult {
    let streams = Streams::new(seed);
    let end = scenario.duration;
    let mut w = World::new(scenario, &streams);
    let mut n_events: u64 = 0;
    let mut sampling = false;
    // Move the recorder's clock to `t` (the recording calls leave it to
    // this): end the warm-up once, and close every bucket that ends at or
    // before `t`, sampling CPU use first. Returns the next time it has
    // something to do: the warm-up's end, else the next bucket boundary.
    let close_until = |w: &mut World, t: SimTime, sampling: &mut bool| -> SimTime {
        if !*sampling && t >= scenario.warmup {
            w.rec.end_warmup();
            w.start_sampling(scenario.warmup);
            *sampling = true;
        }
        while let Some(b) = w.rec.next_boundary().filter(|b| *b <= t) {
            w.sample_bucket(b);
            w.rec.close_open_bucket();
        }
        if *sampling {
            w.rec.next_boundary().unwrap_or(SimTime::MAX)
        } else {
            scenario.warmup
        }
    };
    // One comparison per event: the clock moves only at the marks.
    let mut mark = SimTime::ZERO;
    while let Some((now, next)) = w.next_event() {
        if now >= end {
            break;
        }
        n_events += 1;
        if now >= mark {
            mark = close_until(&mut w, now, &mut sampling);
        }
        match next {
            Next::Event(ev) => w.handle(now, ev),
            Next::Timer(slot) => w.wake(now, slot),
        }
    }
    let mut notes = Vec::new();
    let mut notes_metrics: Vec<Metric> = Vec::new();
    let mut saturated = false;
    let (mean_load, peak_load) = (w.prov.mean_offered_load(), w.prov.peak_offered_load());
    if mean_load >= 1.0 {
        saturated = true;
        notes.push(format!("provisioners: offered load {mean_load:.2} >= 1: builds arrive faster than the daemons can run them"));
    } else if peak_load >= 1.0 {
        notes.push(format!("provisioners: offered load peaks at {peak_load:.2} >= 1: the build queue grows during the peak and drains after it"));
    }
    if w.prov.rejected > 0 {
        saturated = true;
        notes.push(format!(
            "provisioners: {} builds rejected because {} jobs were already waiting",
            w.prov.rejected,
            w.prov.max_waiting_jobs()
        ));
    }
    for e in scenario.events.iter().filter(|e| e.at >= end) {
        notes.push(format!(
            "events: the {} at {} from the start is at or after the end of the run ({}) and did not happen",
            e.action.name(),
            crate::scenario::units::duration_text(e.at),
            crate::scenario::units::duration_text(end)
        ));
    }
    let wait_p = w.prov.wait_probability();
    for (i, (busy, work)) in w.cpu_accounting(end).into_iter().enumerate() {
        let l = crate::engine::metrics::labels([("replica", &i.to_string())]);
        for (name, v) in [
            (metric_names::CODERD_CPU_BUSY_SECONDS_TOTAL, busy),
            (metric_names::CODERD_CPU_WORK_SECONDS_TOTAL, work),
        ] {
            notes_metrics.push(Metric {
                name: name.into(),
                stat: "total".into(),
                labels: l.clone(),
                value: v,
                unit: "s".into(),
            });
        }
    }
    close_until(&mut w, end, &mut sampling);
    let marks = std::mem::take(&mut w.marks);
    let rec = std::mem::replace(
        &mut w.rec,
        crate::engine::Recorder::new(scenario.warmup, scenario.bucket, scenario.duration),
    );
    let (mut metrics, mut series) = rec.finish();
    world::derive_total_cpu(scenario, &mut metrics, &mut series);
    world::derive_success_ratio(&mut metrics, &mut series);
    world::derive_node_hours(scenario, &mut metrics);
    let (world_saturated, world_notes) = w.verdicts(&series);
    saturated |= world_saturated;
    notes.extend(world_notes);
    metrics.extend(notes_metrics);
    // A build-queue-only scenario (no coderd, no users) reports only the build queue.
    if scenario.deployment.coderd.n_replicas == 0 && scenario.workload.users.is_none() {
        metrics.retain(|m| metric_names::is_build_queue(&m.name));
        series
            .series
            .retain(|s| metric_names::is_build_queue(&s.name));
    }
    metrics.push(Metric {
        name: metric_names::BUILD_QUEUE_WAIT_PROBABILITY.into(),
        stat: "mean".into(),
        labels: Labels::new(),
        value: wait_p,
        unit: "ratio".into(),
    });
    RunResult {
        scenario: scenario.name.clone(),
        seed,
        saturated,
        notes,
        metrics,
        series,
        marks,
        events_processed: n_events,
    }
}
