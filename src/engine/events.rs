//! The pending-event set.
//!
//! # Event order
//!
//! Events are popped in increasing order of the key
//! `(time, priority, sequence)`:
//!
//! 1. `time`: the simulated instant, in nanoseconds;
//! 2. `priority`: a small integer chosen by the model, lower first, for
//!    events that fall on the same nanosecond (for example a job completion
//!    before the arrival that would otherwise see a busy server);
//! 3. `sequence`: a counter incremented on every `push`, so events with equal
//!    time and priority leave in the order they were scheduled (FIFO).
//!
//! The key is total, so the order is the same on every run and machine.
//! The three fields are packed into one `u128` (64 bits time, 8 bits
//! priority, 56 bits sequence) so a comparison is one integer compare.

use super::time::SimTime;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Packs `(time, priority, sequence)` into one totally ordered integer.
#[inline]
pub fn pack_key(time: SimTime, priority: u8, seq: u64) -> u128 {
    debug_assert!(seq < (1 << 56));
    ((time.0 as u128) << 64) | ((priority as u128) << 56) | (seq as u128 & ((1 << 56) - 1))
}

/// The time part of a packed key.
#[inline]
pub fn key_time(key: u128) -> SimTime {
    SimTime((key >> 64) as u64)
}

/// A set of pending events ordered by `(time, priority, sequence)`.
pub trait EventSet<E> {
    /// Schedule `event` at `time` with `priority` (lower first among equal times).
    fn push(&mut self, time: SimTime, priority: u8, event: E);
    /// Remove and return the earliest event.
    fn pop(&mut self) -> Option<(SimTime, E)>;
    /// Time of the earliest event, if any.
    fn peek_time(&mut self) -> Option<SimTime>;
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

struct Entry<E> {
    key: u128,
    event: E,
}
impl<E> PartialEq for Entry<E> {
    fn eq(&self, o: &Self) -> bool {
        self.key == o.key
    }
}
impl<E> Eq for Entry<E> {}
impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl<E> Ord for Entry<E> {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.key.cmp(&o.key)
    }
}

/// A binary heap over packed keys (the baseline event set).
pub struct HeapEventSet<E> {
    heap: BinaryHeap<Reverse<Entry<E>>>,
    seq: u64,
}

impl<E> Default for HeapEventSet<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> HeapEventSet<E> {
    pub fn new() -> Self {
        HeapEventSet {
            heap: BinaryHeap::new(),
            seq: 0,
        }
    }
}

impl<E> EventSet<E> for HeapEventSet<E> {
    #[inline]
    fn push(&mut self, time: SimTime, priority: u8, event: E) {
        let key = pack_key(time, priority, self.seq);
        self.seq += 1;
        self.heap.push(Reverse(Entry { key, event }));
    }
    #[inline]
    fn pop(&mut self) -> Option<(SimTime, E)> {
        self.heap.pop().map(|Reverse(e)| (key_time(e.key), e.event))
    }
    fn peek_time(&mut self) -> Option<SimTime> {
        self.heap.peek().map(|Reverse(e)| key_time(e.key))
    }
    fn len(&self) -> usize {
        self.heap.len()
    }
}

/// The event set the engine uses.
pub type DefaultEventSet<E> = HeapEventSet<E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_break_by_priority_then_fifo() {
        let mut q = DefaultEventSet::new();
        let t = SimTime::from_secs(5);
        q.push(t, 1, "b1");
        q.push(t, 0, "a1");
        q.push(SimTime::from_secs(1), 9, "early");
        q.push(t, 1, "b2");
        q.push(t, 0, "a2");
        let order: Vec<_> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, vec!["early", "a1", "a2", "b1", "b2"]);
    }
}
