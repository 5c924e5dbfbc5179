//! Waiting lines: a FIFO queue with priorities and reneging, as a passive
//! data structure that a model drives from its events.
//!
//! Order: lower `priority` first, then earlier `order` (for example creation
//! time or an arrival counter), then the ticket (insertion order). A waiting
//! job can be withdrawn by its ticket (reneging: it gave up after a time-out).

use std::collections::BTreeMap;

/// Identifies a waiting job so it can be withdrawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ticket {
    priority: u8,
    order: u64,
    seq: u64,
}

impl Ticket {
    pub fn priority(&self) -> u8 {
        self.priority
    }
    pub fn order(&self) -> u64 {
        self.order
    }
}

/// A priority FIFO waiting line.
#[derive(Debug)]
pub struct WaitingLine<J> {
    jobs: BTreeMap<Ticket, J>,
    seq: u64,
}

impl<J> Default for WaitingLine<J> {
    fn default() -> Self {
        WaitingLine {
            jobs: BTreeMap::new(),
            seq: 0,
        }
    }
}

impl<J> WaitingLine<J> {
    pub fn new() -> Self {
        Self::default()
    }
    /// Enqueue `job`; lower `priority` is served first, then lower `order`.
    pub fn push(&mut self, priority: u8, order: u64, job: J) -> Ticket {
        let t = Ticket {
            priority,
            order,
            seq: self.seq,
        };
        self.seq += 1;
        self.jobs.insert(t, job);
        t
    }
    /// The job to serve next.
    pub fn peek(&self) -> Option<(&Ticket, &J)> {
        self.jobs.iter().next()
    }
    pub fn pop(&mut self) -> Option<(Ticket, J)> {
        self.jobs.pop_first()
    }
    /// Withdraw a waiting job (reneging); `None` if it already left.
    pub fn withdraw(&mut self, ticket: Ticket) -> Option<J> {
        self.jobs.remove(&ticket)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priority_then_order_then_fifo_and_withdraw() {
        let mut w = WaitingLine::new();
        let _a = w.push(1, 5, "prebuild");
        let b = w.push(0, 9, "human-late");
        let _c = w.push(0, 3, "human-early");
        let d = w.push(0, 3, "human-early-2");
        assert_eq!(w.withdraw(b), Some("human-late"));
        assert_eq!(w.withdraw(b), None);
        let order: Vec<_> = std::iter::from_fn(|| w.pop().map(|(_, j)| j)).collect();
        assert_eq!(order, vec!["human-early", "human-early-2", "prebuild"]);
        assert_eq!(d.priority(), 0);
    }
}
