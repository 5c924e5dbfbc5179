//! The Coder deployment model: what happens in a deployment, event by event.
//!
//! `World` owns every component and the event set; `simulate` runs it.

pub mod params;
pub mod provisioner;

use crate::engine::metrics::Labels;
use crate::engine::{DefaultEventSet, EventSet, Recorder, Streams};
use crate::result::{Mark, RunResult};
use crate::scenario::Scenario;
use provisioner::{ProvEv, Provisioners};

/// Every event of the model. Components own their variants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ev {
    Prov(ProvEv),
}

/// Run `scenario` once with `seed`. Pure: no I/O, no clock, no global state.
pub fn simulate(scenario: &Scenario, seed: u64) -> RunResult {
    let streams = Streams::new(seed);
    let end = scenario.duration;
    let mut rec = Recorder::new(scenario.warmup, scenario.bucket, end);
    let mut q: DefaultEventSet<Ev> = DefaultEventSet::new();
    let mut prov = Provisioners::new(scenario, &streams, &mut rec, &mut q);
    let marks: Vec<Mark> = Vec::new();
    let mut n_events: u64 = 0;
    while let Some((now, ev)) = q.pop() {
        if now >= end {
            break;
        }
        n_events += 1;
        rec.advance(now);
        match ev {
            Ev::Prov(e) => prov.handle(now, e, &mut rec, &mut q),
        }
        prov.finished.clear();
    }
    let mut notes = Vec::new();
    let mut saturated = false;
    let (mean_load, peak_load) = (prov.mean_offered_load(), prov.peak_offered_load());
    if mean_load >= 1.0 {
        saturated = true;
        notes.push(format!("provisioners: offered load {mean_load:.2} >= 1: builds arrive faster than the daemons can run them"));
    } else if peak_load >= 1.0 {
        notes.push(format!("provisioners: offered load peaks at {peak_load:.2} >= 1: the build queue grows during the peak and drains after it"));
    }
    if prov.rejected > 0 {
        saturated = true;
        notes.push(format!(
            "provisioners: {} builds rejected because {} jobs were already waiting",
            prov.rejected,
            prov.max_waiting_jobs()
        ));
    }
    let wait_p = prov.wait_probability();
    let (mut metrics, series) = rec.finish();
    metrics.push(crate::engine::Metric {
        name: "build_queue_wait_probability".into(),
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
