//! The events of a run (replica losses, scale events, outages, phases) as
//! people read them: one entry per event across replications ("replica
//! killed at 10:00, 5 of 5 replications"), not one per replication and
//! replica index ("replica 0 killed", "replica 2 killed", ...).
//!
//! Marks of the replications are grouped by kind and by their label with
//! the replica's index left out (which replica a crash takes differs
//! between replications, the event does not), then by time: marks of one
//! group less than [`MERGE_S`] apart are one event.

use crate::format::clock;
use crate::result::{Mark, RunResult};

/// Marks of one kind and label closer than this are one event, seconds.
pub const MERGE_S: f64 = 1800.0;

/// One event of a run, across its replications.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// The mark's kind (`replica-loss`, `scale`, `outage`, `phase`, ...).
    pub kind: String,
    /// What happened, without replica indices (`replica killed`).
    pub words: String,
    /// First and last time it happened across replications, seconds since t = 0.
    pub first_s: f64,
    pub last_s: f64,
    /// Replications in which it happened.
    pub replications: usize,
}

impl Event {
    /// `replica killed at 10:00, 5 of 5 replications` (`at 10:00–10:07`
    /// when replications differ; no count with one replication).
    pub fn label(&self, start_time_of_day_s: f64, multi_day: bool, total: usize) -> String {
        let (a, b) = (
            clock(start_time_of_day_s + self.first_s, multi_day),
            clock(start_time_of_day_s + self.last_s, multi_day),
        );
        let when = if a == b { a } else { format!("{a}–{b}") };
        if total > 1 {
            format!(
                "{} at {when}, {} of {total} replications",
                self.words, self.replications
            )
        } else {
            format!("{} at {when}", self.words)
        }
    }
}

/// A mark's label without replica indices: `replica 2 killed` reads
/// `replica killed`, `replica 0 up (3 replicas)` `replica up (3 replicas)`.
pub fn words(label: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    let mut after_replica = false;
    for tok in label.split_whitespace() {
        if after_replica && tok.chars().all(|c| c.is_ascii_digit()) {
            after_replica = false;
            continue;
        }
        after_replica = tok == "replica";
        out.push(tok);
    }
    out.join(" ")
}

/// The events of `runs` (replications of one scenario), in time order.
pub fn events(runs: &[RunResult]) -> Vec<Event> {
    events_of(runs.iter().map(|r| &r.marks[..]))
}

/// The events of replications given by their marks (in replication order),
/// in time order.
pub fn events_of<'a>(marks: impl IntoIterator<Item = &'a [Mark]>) -> Vec<Event> {
    // (kind, words, t, replication), sorted by kind, words and time.
    let mut marks: Vec<(String, String, f64, usize)> = marks
        .into_iter()
        .enumerate()
        .flat_map(|(r, run)| {
            run.iter()
                .map(move |m| (m.kind.clone(), words(&m.label), m.t_s, r))
        })
        .collect();
    marks.sort_by(|a, b| {
        (&a.0, &a.1)
            .cmp(&(&b.0, &b.1))
            .then(a.2.total_cmp(&b.2))
            .then(a.3.cmp(&b.3))
    });
    let mut out: Vec<Event> = Vec::new();
    let mut reps: Vec<usize> = Vec::new();
    for (kind, words, t, r) in marks {
        let same = out
            .last()
            .is_some_and(|e| e.kind == kind && e.words == words && t - e.last_s < MERGE_S);
        if same {
            let e = out.last_mut().expect("checked");
            e.last_s = t;
            if !reps.contains(&r) {
                reps.push(r);
                e.replications += 1;
            }
        } else {
            reps = vec![r];
            out.push(Event {
                kind,
                words,
                first_s: t,
                last_s: t,
                replications: 1,
            });
        }
    }
    out.sort_by(|a, b| a.first_s.total_cmp(&b.first_s).then(a.words.cmp(&b.words)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(marks: &[(f64, &str, &str)]) -> RunResult {
        RunResult {
            scenario: "t".into(),
            seed: 1,
            saturated: false,
            notes: vec![],
            metrics: vec![],
            series: Default::default(),
            marks: marks
                .iter()
                .map(|(t, kind, label)| Mark {
                    t_s: *t,
                    kind: kind.to_string(),
                    label: label.to_string(),
                })
                .collect(),
            events_processed: 0,
        }
    }

    #[test]
    fn one_event_per_crash_across_replications_whatever_replica_it_took() {
        let runs: Vec<RunResult> = (0..5)
            .map(|r| {
                let label = format!("replica {r} killed");
                let up = format!("replica {r} up (3 replicas)");
                run(&[
                    (36_000.0, "replica-loss", label.as_str()),
                    (36_060.0 + r as f64, "scale", up.as_str()),
                ])
            })
            .collect();
        let ev = events(&runs);
        assert_eq!(ev.len(), 2, "{ev:?}");
        assert_eq!(
            ev[0].label(0.0, false, 5),
            "replica killed at 10:00, 5 of 5 replications"
        );
        assert_eq!(
            ev[1].label(0.0, false, 5),
            "replica up (3 replicas) at 10:01, 5 of 5 replications"
        );
        assert_eq!(ev[0].label(0.0, false, 1), "replica killed at 10:00");
    }

    #[test]
    fn events_far_apart_or_in_some_replications_only_stay_apart() {
        let runs = vec![
            run(&[(3600.0, "replica-loss", "replica 1 out of memory")]),
            run(&[
                (3600.0 + 400.0, "replica-loss", "replica 2 out of memory"),
                (7.0 * 3600.0, "replica-loss", "replica 2 out of memory"),
            ]),
            run(&[]),
        ];
        let ev = events(&runs);
        let labels: Vec<String> = ev.iter().map(|e| e.label(0.0, false, 3)).collect();
        assert_eq!(
            labels,
            [
                "replica out of memory at 01:00–01:07, 2 of 3 replications",
                "replica out of memory at 07:00, 1 of 3 replications"
            ]
        );
        assert_eq!(words("hpa: scale down to 3"), "hpa: scale down to 3");
    }
}
