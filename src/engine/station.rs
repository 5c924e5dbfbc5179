//! Waiting lines and servers: the c-server FIFO queue with priorities and
//! reneging, as a passive data structure that a model drives from its events.
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
    pub fn len(&self) -> usize {
        self.jobs.len()
    }
    pub fn is_empty(&self) -> bool {
        self.jobs.is_empty()
    }
    pub fn iter(&self) -> impl Iterator<Item = (&Ticket, &J)> {
        self.jobs.iter()
    }
}

/// A pool of `c` identical servers with time-weighted busy accounting.
#[derive(Debug, Clone)]
pub struct ServerPool {
    capacity: usize,
    busy: usize,
}

impl ServerPool {
    pub fn new(capacity: usize) -> Self {
        ServerPool { capacity, busy: 0 }
    }
    pub fn try_acquire(&mut self) -> bool {
        if self.busy < self.capacity {
            self.busy += 1;
            true
        } else {
            false
        }
    }
    pub fn release(&mut self) {
        debug_assert!(self.busy > 0);
        self.busy -= 1;
    }
    pub fn busy(&self) -> usize {
        self.busy
    }
    pub fn capacity(&self) -> usize {
        self.capacity
    }
    pub fn set_capacity(&mut self, c: usize) {
        self.capacity = c;
    }
}

/// Time integral of a piecewise-constant quantity (utilisation, queue length).
#[derive(Debug, Clone, Default)]
pub struct TimeWeighted {
    last_s: f64,
    value: f64,
    integral: f64,
    start_s: f64,
}

impl TimeWeighted {
    pub fn new(start_s: f64) -> Self {
        TimeWeighted {
            last_s: start_s,
            value: 0.0,
            integral: 0.0,
            start_s,
        }
    }
    pub fn set(&mut self, now_s: f64, value: f64) {
        self.integral += self.value * (now_s - self.last_s).max(0.0);
        self.last_s = now_s;
        self.value = value;
    }
    pub fn value(&self) -> f64 {
        self.value
    }
    /// Time-average from the start to `now_s`.
    pub fn mean(&self, now_s: f64) -> f64 {
        let total = self.integral + self.value * (now_s - self.last_s).max(0.0);
        let span = now_s - self.start_s;
        if span > 0.0 { total / span } else { self.value }
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

    #[test]
    fn time_weighted_mean() {
        let mut t = TimeWeighted::new(0.0);
        t.set(0.0, 1.0);
        t.set(2.0, 3.0);
        assert!((t.mean(4.0) - 2.0).abs() < 1e-12);
    }
}
