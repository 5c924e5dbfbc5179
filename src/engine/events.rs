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
//! The key is total, so the order is the same on every run and machine, and
//! every implementation here pops exactly the same sequence (a property test
//! checks it). The sequence is 56 bits wide (7.2e16 pushes per set).
//!
//! # Implementations
//!
//! - [`LadderEventSet`] (the default, [`DefaultEventSet`]): a ladder queue
//!   (Tang, Goh and Thng, "Ladder queue: an O(1) priority queue structure for
//!   large-scale discrete event simulation", ACM TOMACS 15(3), 2005) with a
//!   sorted near-future run. O(1) amortised per operation, so it stays fast
//!   with a million pending events (every agent of a large deployment holds
//!   timers), where a binary heap pays a cache miss per level.
//! - [`HeapEventSet`]: `std::collections::BinaryHeap`, the reference
//!   implementation: the property tests check the ladder against it, pop
//!   for pop, and it is the baseline of the benchmarks.
//!
//! `benches/engine.rs` measures both with the classic hold model.

use super::time::SimTime;
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

/// Width of the sequence field of a packed key, in bits.
const SEQ_BITS: u32 = 56;
const SEQ_MASK: u64 = (1 << SEQ_BITS) - 1;

/// Packs `(time, priority, sequence)` into one totally ordered integer.
#[inline]
pub fn pack_key(time: SimTime, priority: u8, seq: u64) -> u128 {
    ((time.0 as u128) << 64) | tie_break(priority, seq) as u128
}

/// The time part of a packed key.
#[inline]
pub fn key_time(key: u128) -> SimTime {
    SimTime((key >> 64) as u64)
}

/// The low 64 bits of a key: priority in the top 8 bits, sequence below.
#[inline]
fn tie_break(priority: u8, seq: u64) -> u64 {
    debug_assert!(seq <= SEQ_MASK, "event sequence overflow");
    ((priority as u64) << SEQ_BITS) | (seq & SEQ_MASK)
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

/// The event set the engine uses.
pub type DefaultEventSet<E> = LadderEventSet<E>;

/// One pending event with its key split in two `u64`s (so the item is
/// 8-byte aligned: a `u128` field would pad small payloads to 32 bytes).
struct Item<E> {
    time: u64,
    /// [`tie_break`] of priority and sequence.
    tie: u64,
    event: E,
}

impl<E> Item<E> {
    #[inline]
    fn key(&self) -> u128 {
        ((self.time as u128) << 64) | self.tie as u128
    }
    #[inline]
    fn into_pair(self) -> (SimTime, E) {
        (SimTime(self.time), self.event)
    }
}

impl<E> PartialEq for Item<E> {
    fn eq(&self, o: &Self) -> bool {
        self.key() == o.key()
    }
}
impl<E> Eq for Item<E> {}
impl<E> PartialOrd for Item<E> {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl<E> Ord for Item<E> {
    #[inline]
    fn cmp(&self, o: &Self) -> Ordering {
        self.key().cmp(&o.key())
    }
}

// ---------------------------------------------------------------------------
// Binary heap (baseline)
// ---------------------------------------------------------------------------

/// `std::collections::BinaryHeap` over the key (the baseline event set).
pub struct HeapEventSet<E> {
    heap: BinaryHeap<Reverse<Item<E>>>,
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
        let tie = tie_break(priority, self.seq);
        self.seq += 1;
        self.heap.push(Reverse(Item {
            time: time.0,
            tie,
            event,
        }));
    }
    #[inline]
    fn pop(&mut self) -> Option<(SimTime, E)> {
        self.heap.pop().map(|Reverse(it)| it.into_pair())
    }
    fn peek_time(&mut self) -> Option<SimTime> {
        self.heap.peek().map(|Reverse(it)| SimTime(it.time))
    }
    fn len(&self) -> usize {
        self.heap.len()
    }
}

// ---------------------------------------------------------------------------
// Ladder queue
// ---------------------------------------------------------------------------

/// A bucket holding more events than this (over more than one nanosecond)
/// is spread over a finer rung instead of being sorted. Tang et al. use 50.
const LADDER_SPLIT: usize = 48;
/// A rung has at most this many buckets, so its bucket array (24 bytes a
/// bucket) stays in the L2 cache; larger sets spill into finer rungs. Tuned
/// with the hold benchmark (`benches/engine.rs`): with one bucket per event
/// at a million pending events the ladder ran at 0.4x the speed it reaches
/// with this cap, and 4k to 16k buckets performed alike.
#[cfg(not(test))]
const LADDER_MAX_BUCKETS: usize = 1 << 14;
/// Unit tests use few buckets, so that small inputs exercise deep ladders.
#[cfg(test)]
const LADDER_MAX_BUCKETS: usize = 8;
/// A rung spread from one bucket of its parent aims at this many events per
/// bucket (the top rung aims at one).
const LADDER_CHILD_ITEMS_PER_BUCKET: usize = 4;
/// At most this many rungs; deeper buckets are sorted whatever their size.
const LADDER_MAX_RUNGS: usize = 8;
/// Recycled bucket vectors kept for reuse (bounds the spare memory).
const LADDER_SPARE_VECS: usize = 4096;
/// Bucket vectors with more capacity than this are freed, not recycled.
const LADDER_SPARE_CAP: usize = 64;

/// One rung of the ladder: `buckets[k]` holds the events with time in
/// `[start + k << shift, start + (k + 1) << shift)`, unsorted.
struct Rung<E> {
    start: u64,
    /// Bucket width is `1 << shift` nanoseconds.
    shift: u32,
    /// First bucket not yet handed down.
    cur: usize,
    /// `start + cur << shift`: events before this time belong below.
    cur_start: u128,
    buckets: Vec<Vec<Item<E>>>,
}

/// A ladder queue (Tang, Goh and Thng 2005) that keeps the exact
/// `(time, priority, sequence)` order.
///
/// Three tiers partition the pending events by time alone (so events with
/// equal times always sit in the same place):
///
/// - `top`: unsorted, every event with `time >= top_start` (the far future);
/// - `rungs`: bucket arrays over consecutive, ever finer time ranges; rung
///   `i + 1` spreads one bucket of rung `i`;
/// - `bottom`: the near future, every event before the current bucket of the
///   last rung, as a sorted run plus a small heap for late arrivals.
///
/// Pops come from `bottom`. When it runs dry the next non-empty bucket of
/// the last rung is sorted into it (or spread over a new, finer rung when it
/// is large); when the rungs are spent, `top` becomes a new rung. When many
/// events arrive in the bottom's range, bottom and late heap are spread over
/// a new rung too. Each event is therefore moved a small, bounded number of
/// times: O(1) amortised.
///
/// Memory is proportional to the number of pending events, never to the
/// number of operations: rungs have at most as many buckets as the events
/// they were built from, emptied vectors are recycled into a capped pool,
/// and `top` keeps its capacity from one epoch to the next. That is more
/// than a binary heap needs: in the hold benchmark with a million pending
/// events (16-byte payloads) the process peaked at 87 MB resident against
/// 35 MB with `BinaryHeap`.
pub struct LadderEventSet<E> {
    seq: u64,
    len: usize,
    /// Sorted descending by key, so the earliest event is at the end.
    bottom: Vec<Item<E>>,
    /// Events pushed into the bottom's time range after it was sorted.
    late: BinaryHeap<Reverse<Item<E>>>,
    /// `rungs[0]` is the coarsest.
    rungs: Vec<Rung<E>>,
    top: Vec<Item<E>>,
    top_min: u64,
    top_max: u64,
    /// Events at or after this time go to `top`; `u128` so that a bound just
    /// past `u64::MAX` is representable.
    top_start: u128,
    spare: Vec<Vec<Item<E>>>,
    spare_rungs: Vec<Vec<Vec<Item<E>>>>,
}

impl<E> Default for LadderEventSet<E> {
    fn default() -> Self {
        Self::new()
    }
}

#[inline]
fn push_bucket<E>(spare: &mut Vec<Vec<Item<E>>>, bucket: &mut Vec<Item<E>>, item: Item<E>) {
    if bucket.capacity() == 0
        && let Some(v) = spare.pop()
    {
        *bucket = v;
    }
    bucket.push(item);
}

fn recycle<E>(spare: &mut Vec<Vec<Item<E>>>, v: Vec<Item<E>>) {
    debug_assert!(v.is_empty());
    if v.capacity() > 0 && v.capacity() <= LADDER_SPARE_CAP && spare.len() < LADDER_SPARE_VECS {
        spare.push(v);
    }
}

/// The smallest `shift` such that `range` nanoseconds fit in at most `n`
/// buckets of `1 << shift` ns (`n >= 1`).
fn bucket_shift(range: u128, n: usize) -> u32 {
    let mut shift = 0;
    while (range >> shift) + u128::from(range & ((1u128 << shift) - 1) != 0) > n as u128 {
        shift += 1;
    }
    shift
}

impl<E> LadderEventSet<E> {
    pub fn new() -> Self {
        LadderEventSet {
            seq: 0,
            len: 0,
            bottom: Vec::new(),
            late: BinaryHeap::new(),
            rungs: Vec::new(),
            top: Vec::new(),
            top_min: u64::MAX,
            top_max: 0,
            top_start: 0,
            spare: Vec::new(),
            spare_rungs: Vec::new(),
        }
    }

    /// The packed key an event pushed now at `time` with `priority` would
    /// get, its sequence number used up as by a push (for [`super::Timers`]).
    #[inline]
    pub fn reserve_key(&mut self, time: SimTime, priority: u8) -> u128 {
        let key = ((time.0 as u128) << 64) | tie_break(priority, self.seq) as u128;
        self.seq += 1;
        key
    }

    /// The packed key of the earliest event, if any.
    #[inline]
    pub fn peek_key(&mut self) -> Option<u128> {
        if self.bottom.is_empty() && self.late.is_empty() && !self.refill() {
            return None;
        }
        if self.min_in_bottom() {
            self.bottom.last().map(Item::key)
        } else {
            self.late.peek().map(|Reverse(it)| it.key())
        }
    }

    /// Pop the earliest event if its key is below `bound` (the run loop's
    /// earliest timer): one look at the set where a peek and a pop take two.
    #[inline(always)]
    pub fn pop_before(&mut self, bound: u128) -> Option<(SimTime, E)> {
        if self.bottom.is_empty() && self.late.is_empty() && !self.refill() {
            return None;
        }
        let item = if self.min_in_bottom() {
            if self.bottom.last()?.key() >= bound {
                return None;
            }
            self.bottom.pop()
        } else {
            if self.late.peek()?.0.key() >= bound {
                return None;
            }
            self.late.pop().map(|Reverse(it)| it)
        };
        self.len -= 1;
        item.map(Item::into_pair)
    }

    /// Make `bottom` non-empty if any event is pending; false if none is.
    fn refill(&mut self) -> bool {
        debug_assert!(self.bottom.is_empty() && self.late.is_empty());
        loop {
            if let Some(r) = self.rungs.last_mut() {
                let n_buckets = r.buckets.len();
                while r.cur < n_buckets && r.buckets[r.cur].is_empty() {
                    r.cur += 1;
                }
                if r.cur == n_buckets {
                    let mut spent = self.rungs.pop().expect("non-empty").buckets;
                    spent.clear();
                    self.spare_rungs.push(spent);
                    continue;
                }
                let k = r.cur;
                r.cur += 1;
                r.cur_start = r.start as u128 + ((r.cur as u128) << r.shift);
                let end = r.cur_start;
                let items = std::mem::take(&mut r.buckets[k]);
                if items.len() > LADDER_SPLIT && self.rungs.len() < LADDER_MAX_RUNGS {
                    let lo = items.iter().map(|it| it.time).min().expect("non-empty");
                    let hi = items.iter().map(|it| it.time).max().expect("non-empty");
                    if hi > lo {
                        self.spawn_rung(items, lo, end);
                        continue;
                    }
                }
                self.set_bottom(items);
                return true;
            }
            if self.top.is_empty() {
                return false;
            }
            let (lo, hi, n) = (self.top_min, self.top_max, self.top.len());
            if n <= LADDER_SPLIT || lo == hi {
                let fresh = self.spare.pop().unwrap_or_default();
                let items = std::mem::replace(&mut self.top, fresh);
                self.top_start = hi as u128 + 1;
                self.set_bottom(items);
                return true;
            }
            let end = hi as u128 + 1;
            let mut items = std::mem::take(&mut self.top);
            self.top_start = self.spawn_rung_from(&mut items, lo, end, 1);
            self.top = items; // drained; keeps its capacity for the next epoch
        }
    }

    /// Spread `items` (times in `[lo, end)`) over a new finest rung.
    fn spawn_rung(&mut self, mut items: Vec<Item<E>>, lo: u64, end: u128) {
        self.spawn_rung_from(&mut items, lo, end, LADDER_CHILD_ITEMS_PER_BUCKET);
        recycle(&mut self.spare, items);
    }

    /// Drain `items` (times in `[lo, end)`) into a new finest rung of at most
    /// `items.len()` buckets covering `[lo, end)`; returns the rung's end
    /// (at or after `end`).
    fn spawn_rung_from(
        &mut self,
        items: &mut Vec<Item<E>>,
        lo: u64,
        end: u128,
        per_bucket: usize,
    ) -> u128 {
        let range = end - lo as u128;
        let shift = bucket_shift(
            range,
            (items.len() / per_bucket).clamp(1, LADDER_MAX_BUCKETS),
        );
        let n_buckets = range.div_ceil(1u128 << shift) as usize;
        let mut buckets = self.spare_rungs.pop().unwrap_or_default();
        buckets.resize_with(n_buckets, Vec::new);
        for it in items.drain(..) {
            let k = ((it.time - lo) >> shift) as usize;
            push_bucket(&mut self.spare, &mut buckets[k], it);
        }
        self.rungs.push(Rung {
            start: lo,
            shift,
            cur: 0,
            cur_start: lo as u128,
            buckets,
        });
        lo as u128 + ((n_buckets as u128) << shift)
    }

    /// Too many events arrived in the bottom's time range (for example a
    /// set that started with a few events, one of them far ahead, and then
    /// grew): spread `bottom` and `late` over a new finest rung so they do
    /// not pile up in a heap. Events all at one time cannot be spread and
    /// are re-sorted instead; as `late` must then outgrow the whole bottom
    /// again before the next spill, the work stays O(1) amortised per push.
    fn spill_bottom(&mut self) {
        let end = self.rungs.last().map_or(self.top_start, |r| r.cur_start);
        let mut items = std::mem::take(&mut self.bottom);
        items.extend(
            std::mem::take(&mut self.late)
                .into_vec()
                .into_iter()
                .map(|Reverse(it)| it),
        );
        let lo = items.iter().map(|it| it.time).min().expect("non-empty");
        let hi = items.iter().map(|it| it.time).max().expect("non-empty");
        if hi == lo {
            self.set_bottom(items);
        } else {
            self.spawn_rung_from(&mut items, lo, end, LADDER_CHILD_ITEMS_PER_BUCKET);
            recycle(&mut self.spare, items);
        }
    }

    fn set_bottom(&mut self, mut items: Vec<Item<E>>) {
        // Most buckets hold one or two events (the top rung aims at one a
        // bucket): those need no call into the sort.
        match items.as_mut_slice() {
            [] | [_] => {}
            [a, b] => {
                if a.key() < b.key() {
                    std::mem::swap(a, b);
                }
            }
            _ => items.sort_unstable_by_key(|it| Reverse(it.key())),
        }
        let old = std::mem::replace(&mut self.bottom, items);
        recycle(&mut self.spare, old);
    }

    /// Whether the earliest event is the last of `bottom` (else the top of `late`).
    #[inline]
    fn min_in_bottom(&self) -> bool {
        match (self.bottom.last(), self.late.peek()) {
            (Some(b), Some(Reverse(l))) => b.key() < l.key(),
            (Some(_), None) => true,
            (None, _) => false,
        }
    }
}

impl<E> EventSet<E> for LadderEventSet<E> {
    #[inline]
    fn push(&mut self, time: SimTime, priority: u8, event: E) {
        let item = Item {
            time: time.0,
            tie: tie_break(priority, self.seq),
            event,
        };
        self.seq += 1;
        self.len += 1;
        let t = time.0 as u128;
        if t >= self.top_start {
            self.top_min = if self.top.is_empty() {
                time.0
            } else {
                self.top_min.min(time.0)
            };
            self.top_max = if self.top.is_empty() {
                time.0
            } else {
                self.top_max.max(time.0)
            };
            self.top.push(item);
            return;
        }
        for r in self.rungs.iter_mut() {
            if t >= r.cur_start {
                let k = ((time.0 - r.start) >> r.shift) as usize;
                push_bucket(&mut self.spare, &mut r.buckets[k], item);
                return;
            }
        }
        self.late.push(Reverse(item));
        if self.late.len() > LADDER_SPLIT
            && self.late.len() > self.bottom.len()
            && self.rungs.len() < LADDER_MAX_RUNGS
        {
            self.spill_bottom();
        }
    }

    #[inline]
    fn pop(&mut self) -> Option<(SimTime, E)> {
        if self.bottom.is_empty() && self.late.is_empty() && !self.refill() {
            return None;
        }
        self.len -= 1;
        let item = if self.min_in_bottom() {
            self.bottom.pop()
        } else {
            self.late.pop().map(|Reverse(it)| it)
        };
        item.map(Item::into_pair)
    }

    fn peek_time(&mut self) -> Option<SimTime> {
        if self.bottom.is_empty() && self.late.is_empty() && !self.refill() {
            return None;
        }
        if self.min_in_bottom() {
            self.bottom.last().map(|it| SimTime(it.time))
        } else {
            self.late.peek().map(|Reverse(it)| SimTime(it.time))
        }
    }

    fn len(&self) -> usize {
        self.len
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn tie_order<Q: EventSet<&'static str> + Default>() {
        let mut q = Q::default();
        let t = SimTime::from_secs(5);
        q.push(t, 1, "b1");
        q.push(t, 0, "a1");
        q.push(SimTime::from_secs(1), 9, "early");
        q.push(t, 1, "b2");
        q.push(t, 0, "a2");
        assert_eq!(q.peek_time(), Some(SimTime::from_secs(1)));
        let order: Vec<_> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, vec!["early", "a1", "a2", "b1", "b2"]);
        assert!(q.is_empty());
    }

    #[test]
    fn ties_break_by_priority_then_fifo() {
        tie_order::<HeapEventSet<_>>();
        tie_order::<LadderEventSet<_>>();
    }

    /// Ties that straddle the ladder's tiers: an event pushed at the time
    /// being served, with a lower priority, must still come out first.
    #[test]
    fn ladder_ties_across_tiers() {
        let mut q = LadderEventSet::default();
        for i in 0..200u64 {
            q.push(SimTime(1_000 + i % 7), 5, i);
        }
        q.push(SimTime(u64::MAX), 5, 1000);
        let (t, first) = q.pop().unwrap();
        assert_eq!((t, first), (SimTime(1_000), 0));
        q.push(SimTime(1_000), 0, 2000); // same time, lower priority: next
        q.push(SimTime(1_000), 9, 3000); // same time, higher priority: after the other ties
        q.push(SimTime(u64::MAX), 0, 4000); // ahead of the earlier event at MAX
        assert_eq!(q.pop().unwrap().1, 2000);
        let rest: Vec<_> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        let ties_at_1000: Vec<u64> = (7..200).step_by(7).collect();
        assert_eq!(rest[..ties_at_1000.len()], ties_at_1000[..]);
        assert_eq!(rest[ties_at_1000.len()], 3000);
        assert_eq!(rest[rest.len() - 2..], [4000, 1000]);
        assert_eq!(rest.len(), 201 + 3 - 2);
    }

    /// Pop everything, checking each pop against the reference heap.
    fn drain_both<Q: EventSet<u32>>(q: &mut Q, reference: &mut HeapEventSet<u32>) {
        while let Some(expected) = reference.pop() {
            assert_eq!(q.pop(), Some(expected));
        }
        assert_eq!(q.pop(), None);
    }

    /// Hold on a dense grid: every nanosecond holds events, so pushes land
    /// exactly on bucket and tier boundaries next to earlier events at the
    /// same time, at every priority.
    #[test]
    fn dense_hold_matches_the_binary_heap() {
        let mut q = LadderEventSet::new();
        let mut reference = HeapEventSet::new();
        for i in 0..2_000u32 {
            q.push(SimTime(u64::from(i / 2)), (i % 3) as u8, i);
            reference.push(SimTime(u64::from(i / 2)), (i % 3) as u8, i);
        }
        for k in 0..50_000u32 {
            let (now, e) = reference.pop().expect("non-empty");
            assert_eq!(q.pop(), Some((now, e)), "pop {k}");
            for j in 0..=(k % 2) {
                let t = SimTime(now.0 + u64::from((k * 7 + j * 31) % 193));
                let prio = ((k + j) % 3) as u8;
                q.push(t, prio, k);
                reference.push(t, prio, k);
            }
            if k % 10_000 == 9_999 {
                assert_eq!(q.peek_time(), reference.peek_time());
            }
        }
        drain_both(&mut q, &mut reference);
    }

    /// A set that starts small with one event far ahead, then grows: the
    /// new events must be spread over rungs, not pile up in the `late` heap.
    #[test]
    fn ladder_spreads_events_arriving_below_a_far_event() {
        let mut q = LadderEventSet::new();
        let mut reference = HeapEventSet::new();
        for (t, e) in [(SimTime::DAY, 0), (SimTime::ZERO, 1)] {
            q.push(t, 0, e);
            reference.push(t, 0, e);
        }
        assert_eq!(q.pop(), reference.pop());
        let mut x: u64 = 12_345;
        for e in 2..20_000u32 {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let t = SimTime((x >> 20) % SimTime::HOUR.0);
            q.push(t, (e % 3) as u8, e);
            reference.push(t, (e % 3) as u8, e);
            assert!(
                q.late.len() <= 2 * LADDER_SPLIT,
                "late heap holds {}",
                q.late.len()
            );
        }
        drain_both(&mut q, &mut reference);
    }

    /// Sum of the capacities the ladder holds, in items.
    fn ladder_capacity<E>(q: &LadderEventSet<E>) -> usize {
        q.bottom.capacity()
            + q.late.capacity()
            + q.top.capacity()
            + q.spare.iter().map(Vec::capacity).sum::<usize>()
            + q.rungs
                .iter()
                .flat_map(|r| r.buckets.iter())
                .map(Vec::capacity)
                .sum::<usize>()
    }

    /// Under the hold model (pop one, push one) memory stays proportional
    /// to the number of pending events, not to the number of operations.
    #[test]
    fn ladder_memory_is_bounded_under_hold() {
        const N: u64 = 2_000;
        let mut q = LadderEventSet::new();
        // A cheap deterministic pseudo-random increment (xorshift), 0..2 s.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next_gap = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % 2_000_000_000
        };
        for i in 0..N {
            q.push(SimTime(next_gap()), 0, i);
        }
        // Peak capacity over consecutive windows of 50 N operations.
        let mut peaks = Vec::new();
        for _ in 0..8 {
            let mut peak = 0;
            for _ in 0..50 * N {
                let (now, e) = q.pop().expect("hold keeps N pending");
                q.push(SimTime(now.0 + next_gap()), (e % 3) as u8, e);
                peak = peak.max(ladder_capacity(&q));
            }
            peaks.push(peak);
        }
        assert_eq!(q.len(), N as usize);
        // No growth with the number of operations: the last windows need no
        // more than the first, and a few items per pending event at most.
        let first = peaks[0].max(peaks[1]);
        let last = *peaks[4..].iter().max().expect("8 windows");
        assert!(last <= first + first / 4, "capacity per window {peaks:?}");
        assert!(
            last < 8 * N as usize + 4 * LADDER_SPARE_CAP,
            "capacity per window {peaks:?} for {N} pending"
        );
        assert!(q.rungs.len() <= LADDER_MAX_RUNGS);
        assert!(q.spare.len() <= LADDER_SPARE_VECS);
    }

    #[test]
    fn bucket_shift_fits_range_in_n_buckets() {
        assert_eq!(bucket_shift(1, 1), 0);
        assert_eq!(bucket_shift(100, 100), 0);
        assert_eq!(bucket_shift(101, 100), 1);
        assert_eq!(bucket_shift(200, 100), 1);
        assert_eq!(bucket_shift(201, 100), 2);
        assert_eq!(bucket_shift(1u128 << 64, 1), 64);
    }

    #[derive(Clone, Debug)]
    enum Op {
        Push {
            time: u64,
            priority: u8,
        },
        /// Push `back` ns before the last popped time (or a huge time when
        /// that wraps around).
        PushPast {
            back: u64,
            priority: u8,
        },
        Pop,
        Peek,
    }

    /// Times below `scale` (one scale per case: a handful of values gives
    /// many exact ties, a small range lands events on the ladder's bucket
    /// boundaries, a wide one spreads them), plus the extremes of `u64`.
    fn op_strategy(scale: u64) -> impl Strategy<Value = Op> {
        let time = prop_oneof![
            12 => 0..scale,
            1 => prop_oneof![Just(0u64), Just(u64::MAX), Just(u64::MAX - 1)],
        ];
        prop_oneof![
            6 => (time, 0u8..3).prop_map(|(time, priority)| Op::Push { time, priority }),
            1 => (0..scale, 0u8..3).prop_map(|(back, priority)| Op::PushPast { back, priority }),
            4 => Just(Op::Pop),
            1 => Just(Op::Peek),
        ]
    }

    fn ops_strategy() -> impl Strategy<Value = Vec<Op>> {
        prop_oneof![
            Just(4u64),
            Just(64),
            Just(1_000),
            Just(1 << 20),
            Just(1_000_000_000_000)
        ]
        .prop_flat_map(|scale| proptest::collection::vec(op_strategy(scale), 0..2_000))
    }

    /// Push times relative to the last popped time, as a simulation does
    /// (with some in the past, which the set must still order exactly).
    fn run<Q: EventSet<u32>>(q: &mut Q, ops: &[Op], relative: bool) -> Vec<(u64, u32)> {
        let mut out = Vec::new();
        let mut now = 0u64;
        for (i, op) in ops.iter().enumerate() {
            match *op {
                Op::Push { time, priority } => {
                    let t = if relative {
                        now.saturating_add(time)
                    } else {
                        time
                    };
                    q.push(SimTime(t), priority, i as u32);
                }
                Op::PushPast { back, priority } => {
                    q.push(SimTime(now.wrapping_sub(back)), priority, i as u32);
                }
                Op::Pop => {
                    if let Some((t, e)) = q.pop() {
                        now = t.0;
                        out.push((t.0, e));
                    }
                }
                Op::Peek => out.push((q.peek_time().map_or(u64::MAX, |t| t.0), u32::MAX)),
            }
            out.push((q.len() as u64, u32::MAX - 1));
        }
        while let Some((t, e)) = q.pop() {
            out.push((t.0, e));
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn the_ladder_pops_exactly_like_the_binary_heap(
            ops in ops_strategy(),
            relative in any::<bool>(),
        ) {
            let expected = run(&mut HeapEventSet::new(), &ops, relative);
            prop_assert_eq!(&run(&mut LadderEventSet::new(), &ops, relative), &expected);
        }

        /// `pop_before(bound)` pops what `pop` would exactly when the
        /// earliest key is below `bound`, and otherwise leaves the set alone.
        #[test]
        fn pop_before_is_a_peek_then_a_pop(
            ops in ops_strategy(),
            bounds in proptest::collection::vec((-1i64..=1, any::<bool>()), 1..64),
        ) {
            let mut q = LadderEventSet::new();
            let mut reference = LadderEventSet::new();
            for (i, op) in ops.iter().enumerate() {
                if let Op::Push { time, priority } = *op {
                    q.push(SimTime(time), priority, i as u32);
                    reference.push(SimTime(time), priority, i as u32);
                }
            }
            for &(dt, high) in bounds.iter().cycle().take(4 * ops.len() + 8) {
                // A bound a nanosecond before, at or after the earliest
                // event, with a tie-break below or above every event's.
                let t = reference.peek_time().map_or(0, |t| t.0.saturating_add_signed(dt));
                let bound = ((t as u128) << 64) | if high { u64::MAX as u128 } else { 0 };
                let want = match reference.peek_key() {
                    Some(k) if k < bound => reference.pop(),
                    _ => None,
                };
                prop_assert_eq!(q.pop_before(bound), want);
                prop_assert_eq!(q.len(), reference.len());
            }
        }
    }
}
