//! One-shot timers beside the event set, for servers that keep at most one
//! pending wake-up each (the processor-sharing CPUs of [`super::ps`]).
//!
//! A processor-sharing CPU reschedules its wake-up whenever an arrival or
//! a departure moves its next completion; in an event set the superseded
//! wake-up stays behind and fires for nothing. A timer slot holds only the
//! latest wake-up instead: setting it replaces the one before, so no stale
//! event is ever pushed, popped or dispatched, and the wake-ups (most of a
//! 2,000-agent day's events) skip the event set's push and pop for a
//! comparison with a handful of slots.
//!
//! Order: a timer is keyed exactly as an event pushed at the same moment
//! would be (`(time, priority, sequence)`, the sequence taken from the
//! event set with [`LadderEventSet::reserve_key`]), and the run loop takes
//! whichever of the earliest event and the earliest timer has the smaller
//! key. So the events that do fire fire in the same order as if every
//! wake-up had gone through the event set.

use super::events::LadderEventSet;

/// A key that no timer or event can have: the slot is unset.
pub const UNSET: u128 = u128::MAX;

/// Timer slots `0..n`, each unset or holding one packed event key.
#[derive(Debug, Clone)]
pub struct Timers {
    keys: Vec<u128>,
    /// Index of the smallest key (meaningful when `keys` is not empty).
    min: usize,
    /// `keys[min]`, or [`UNSET`] when there are no slots.
    min_key: u128,
    /// `min` and `min_key` are out of date (the earliest slot fired or
    /// moved later): the next [`Timers::earliest_key`] finds them again.
    /// A fired CPU's slot is mostly set again before the run loop next
    /// asks, so one search serves both changes.
    stale: bool,
}

impl Default for Timers {
    fn default() -> Self {
        Timers {
            keys: Vec::new(),
            min: 0,
            min_key: UNSET,
            stale: false,
        }
    }
}

impl Timers {
    pub fn new() -> Timers {
        Timers::default()
    }

    /// Set `slot` (growing the slots as needed) to fire at `time` with
    /// `priority`, replacing what it held; the key's sequence is taken from
    /// `q`, as a push at this moment would take it.
    #[inline]
    pub fn set<E>(
        &mut self,
        slot: usize,
        time: super::SimTime,
        priority: u8,
        q: &mut LadderEventSet<E>,
    ) {
        if slot >= self.keys.len() {
            self.keys.resize(slot + 1, UNSET);
        }
        let key = q.reserve_key(time, priority);
        self.keys[slot] = key;
        if self.stale {
            // Found again when asked.
        } else if key < self.min_key {
            (self.min, self.min_key) = (slot, key);
        } else if slot == self.min {
            // The earliest moved later: another slot may now be earlier.
            self.stale = true;
        }
    }

    /// The smallest key and its slot, if any slot is set.
    #[inline]
    pub fn earliest(&mut self) -> Option<(u128, usize)> {
        let (k, slot) = self.earliest_key();
        (k != UNSET).then_some((k, slot))
    }

    /// The smallest key and its slot; the key is [`UNSET`] if no
    /// slot is set.
    #[inline]
    pub fn earliest_key(&mut self) -> (u128, usize) {
        if self.stale {
            self.rescan();
        }
        (self.min_key, self.min)
    }

    /// Unset `slot` (it fired).
    #[inline]
    pub fn clear(&mut self, slot: usize) {
        self.keys[slot] = UNSET;
        if slot == self.min {
            self.stale = true;
        }
    }

    /// Find the smallest key (the first slot when none is set). A handful
    /// of slots: one pass, no index arithmetic.
    #[inline]
    fn rescan(&mut self) {
        let (mut min, mut min_key) = (0, UNSET);
        for (i, &k) in self.keys.iter().enumerate() {
            if k < min_key {
                (min, min_key) = (i, k);
            }
        }
        (self.min, self.min_key, self.stale) = (min, min_key, false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::SimTime;
    use crate::engine::events::{EventSet, key_time};
    use proptest::prelude::*;

    /// Drain events and timers in key order, as the run loop does.
    fn next(q: &mut LadderEventSet<u32>, t: &mut Timers) -> Option<(SimTime, u32)> {
        let ev = q.peek_key();
        match (t.earliest(), ev) {
            (Some((k, slot)), e) if e.is_none_or(|e| k < e) => {
                t.clear(slot);
                Some((key_time(k), 1000 + slot as u32))
            }
            _ => q.pop(),
        }
    }

    #[test]
    fn a_timer_replaces_its_previous_wakeup_and_keeps_its_place_in_line() {
        let mut q = LadderEventSet::new();
        let mut t = Timers::new();
        q.push(SimTime(10), 1, 1);
        t.set(0, SimTime(30), 0, &mut q);
        t.set(0, SimTime(10), 1, &mut q); // replaces 30; after event 1 (same time and priority, later)
        q.push(SimTime(10), 1, 2);
        t.set(1, SimTime(5), 0, &mut q);
        let order: Vec<_> = std::iter::from_fn(|| next(&mut q, &mut t)).collect();
        assert_eq!(
            order,
            vec![
                (SimTime(5), 1001),
                (SimTime(10), 1),
                (SimTime(10), 1000),
                (SimTime(10), 2)
            ]
        );
        assert!(t.earliest().is_none());
    }

    proptest! {
        /// Against the event set alone, where every wake-up is pushed and a
        /// superseded one is skipped when it pops: the same non-stale order.
        #[test]
        fn same_order_as_pushing_every_wakeup(
            ops in proptest::collection::vec((0u8..4, 0u64..50, 0u8..2), 1..200)
        ) {
            let mut q = LadderEventSet::new();
            let mut t = Timers::new();
            let mut reference: LadderEventSet<(u32, u64)> = LadderEventSet::new();
            let mut latest = [u64::MAX; 3];
            let mut serial = 0u64;
            for (i, &(what, dt, prio)) in ops.iter().enumerate() {
                let time = SimTime(dt);
                if what == 3 {
                    q.push(time, prio, i as u32);
                    reference.push(time, prio, (i as u32, 0));
                } else {
                    let slot = what as usize;
                    serial += 1;
                    latest[slot] = serial;
                    t.set(slot, time, prio, &mut q);
                    reference.push(time, prio, (1000 + slot as u32, serial));
                }
            }
            let got: Vec<_> = std::iter::from_fn(|| next(&mut q, &mut t)).collect();
            let want: Vec<_> = std::iter::from_fn(|| reference.pop())
                .filter(|&(_, (e, s))| e < 1000 || latest[(e - 1000) as usize] == s)
                .map(|(time, (e, _))| (time, e))
                .collect();
            prop_assert_eq!(got, want);
        }
    }
}
