//! A processor-sharing CPU with a given number of cores.
//!
//! `k` jobs in service each progress at `min(1, cores / k)` core-seconds per
//! second (egalitarian processor sharing, the usual model of an OS scheduler
//! under load). Implemented with a virtual clock: every job advances the
//! same virtual work per real second, so a job finishes when the virtual
//! clock reaches its arrival virtual time plus its work. Arrivals and
//! departures cost O(log k).
//!
//! Capacity can change at run time (`set_cores`): a background load (relayed
//! bytes) takes cores away from request work, an outage sets it to zero.
//!
//! Completion events are lazy: the model keeps at most one pending wake-up
//! per CPU. [`PsCpu::wakeup_needed`] says when it must be rescheduled (the
//! next completion moved, earlier or later); in a timer slot the new time
//! replaces the old, so a wake-up never fires early for nothing. (Firing
//! early and rescheduling, as before, cost 12 M of the 2,000-user day's
//! 76 M events; it also split the virtual clock's sums at the early
//! wake-up, so results differ from then in the last digits.)

use super::time::SimTime;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

/// A job in service: (finish virtual time in ns, arrival sequence, id).
type Job = (u64, u64, u32);

/// Jobs in service, earliest finish first. A CPU mostly holds a handful, so
/// they sit in a sorted deque (a pop takes the front, an insert moves the
/// shorter side); past [`Jobs::MANY`] they move into a binary heap, whose
/// O(log k) keeps an overloaded CPU (up to hundreds of thousands of jobs)
/// cheap, and back below [`Jobs::FEW`]. Keys are unique (the sequence), so
/// both give the same order.
#[derive(Debug, Clone)]
enum Jobs {
    Few(VecDeque<Job>),
    Many(BinaryHeap<Reverse<Job>>),
}

impl Jobs {
    const MANY: usize = 128;
    const FEW: usize = 32;

    #[inline]
    fn len(&self) -> usize {
        match self {
            Jobs::Few(d) => d.len(),
            Jobs::Many(h) => h.len(),
        }
    }

    #[inline]
    fn peek(&self) -> Option<&Job> {
        match self {
            Jobs::Few(d) => d.front(),
            Jobs::Many(h) => h.peek().map(|Reverse(j)| j),
        }
    }

    #[inline]
    fn push(&mut self, job: Job) {
        // A new job mostly finishes last (the virtual clock only grows):
        // then it goes to the back without a search.
        if let Jobs::Few(d) = self
            && d.len() < Self::MANY
            && d.back().is_none_or(|b| *b < job)
        {
            d.push_back(job);
        } else {
            // By its fields: a `Job` argument would go through memory, and
            // the common path above would then read it back from there
            // (two narrow stores read as one wide load: a store-forwarding
            // stall on every arrival).
            self.push_sorted(job.0, job.1, job.2);
        }
    }

    /// [`Jobs::push`] of a job that does not finish last, or onto the
    /// heap: out of line, so that an arrival's common path stays short.
    #[inline(never)]
    fn push_sorted(&mut self, finish: u64, seq: u64, id: u32) {
        let job = (finish, seq, id);
        match self {
            Jobs::Few(d) if d.len() < Self::MANY => {
                // The job finishes before the last (`push` took the other
                // case), and mostly just before it: about half of the
                // 2,000-user day's sorted inserts.
                let last = d.pop_back().expect("a job finishes after this one");
                if d.back().is_none_or(|b| *b < job) {
                    d.push_back(job);
                } else {
                    let i = d.partition_point(|j| *j < job);
                    d.insert(i, job);
                }
                d.push_back(last);
            }
            Jobs::Few(d) => {
                let mut h: BinaryHeap<_> = d.drain(..).map(Reverse).collect();
                h.push(Reverse(job));
                *self = Jobs::Many(h);
            }
            Jobs::Many(h) => h.push(Reverse(job)),
        }
    }

    #[inline(always)]
    fn pop(&mut self) -> Option<Job> {
        match self {
            Jobs::Few(d) => d.pop_front(),
            Jobs::Many(_) => self.pop_many(),
        }
    }

    /// [`Jobs::pop`] from the heap (an overloaded CPU), out of line.
    #[inline(never)]
    fn pop_many(&mut self) -> Option<Job> {
        let Jobs::Many(h) = self else {
            unreachable!("called on the heap only")
        };
        let j = h.pop().map(|Reverse(j)| j);
        if h.len() < Self::FEW {
            let mut v: Vec<Job> = std::mem::take(h).into_iter().map(|r| r.0).collect();
            v.sort_unstable();
            *self = Jobs::Few(v.into());
        }
        j
    }

    /// Every job, earliest finish first; none left.
    fn drain_sorted(&mut self) -> Vec<Job> {
        let mut v: Vec<Job> = match std::mem::replace(self, Jobs::Few(VecDeque::new())) {
            Jobs::Few(d) => d.into(),
            Jobs::Many(h) => h.into_iter().map(|r| r.0).collect(),
        };
        v.sort_unstable();
        v
    }
}

/// 2^63: below it the signed conversions (one instruction each on x86-64)
/// give the same values as the unsigned ones (a sequence each).
const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;

/// `x as f64`, through the signed conversion when `x < 2^63` (every time
/// and virtual clock here): the same value.
#[inline]
fn f64_of(x: u64) -> f64 {
    if x < 1 << 63 {
        x as i64 as f64
    } else {
        f64_of_large(x)
    }
}

/// The rare side of [`f64_of`], out of line so that the compiler keeps the
/// branch instead of computing both sides.
#[cold]
#[inline(never)]
fn f64_of_large(x: u64) -> f64 {
    x as f64
}

/// `n as f64` for a count.
#[inline]
fn f64_of_count(n: usize) -> f64 {
    f64_of(n as u64)
}

/// `x as u64` (truncation, saturating), through the signed conversion
/// on `(-1, 2^63)`: the same value for every `x`.
#[inline]
fn trunc_u64(x: f64) -> u64 {
    if x > -1.0 && x < TWO_POW_63 {
        x as i64 as u64
    } else {
        trunc_u64_rare(x)
    }
}

/// The rare side of [`trunc_u64`] (see [`f64_of_large`]).
#[cold]
#[inline(never)]
fn trunc_u64_rare(x: f64) -> u64 {
    x as u64
}

/// `x.ceil() as u64` for non-negative `x`, without a libm call.
#[inline]
fn ceil_u64(x: f64) -> u64 {
    let t = trunc_u64(x);
    if f64_of(t) < x { t + 1 } else { t }
}

/// `(min(1, cores / n), whether that is 1)` for `n` jobs on `cores >= 0`
/// (`(0, false)` when idle), with the division only when the jobs share
/// the cores: for `n >= 1`, `cores / n` rounds to 1 or more exactly when
/// `cores >= n` (below, the quotient is at most `1 - 2^-53`, a double
/// below 1), so the comparison decides it, bit for bit (a property test
/// checks it against the formula).
#[inline]
fn rate_for(cores: f64, n: usize) -> (f64, bool) {
    let k = f64_of_count(n);
    if n > 0 && cores >= k {
        (1.0, true)
    } else if n == 0 {
        (0.0, false)
    } else {
        // Opaque, so that the compiler keeps the branch rather than
        // dividing on every update (the division is the slow step).
        (cores / std::hint::black_box(k), false)
    }
}

/// Job counts whose rate a CPU keeps ([`PsCpu::rates`]): beyond, it divides.
const RATES_CACHED: usize = 128;

/// Jobs are identified by a caller-chosen `u32`.

#[derive(Debug, Clone)]
pub struct PsCpu {
    cores: f64,
    /// See [`Self::rate`].
    rate: f64,
    /// `rate == 1.0`: no more jobs than cores.
    full_speed: bool,
    /// [`rate_for`] of `cores` and `k` jobs at index `k`, for the `k`
    /// seen since `cores` last changed (NaN: not yet): a load in place of
    /// the division on most arrivals and departures. Up to
    /// [`RATES_CACHED`] entries; emptied when `cores` changes.
    rates: Vec<f64>,
    /// Virtual work done per job so far (core-nanoseconds as f64).
    virtual_ns: f64,
    last: SimTime,
    /// The jobs in service by (finish virtual time in ns, seq, job).
    jobs: Jobs,
    seq: u64,
    busy_core_s: f64,
    /// Cores taken by background work (not jobs) and their integral.
    bg_cores: f64,
    bg_core_s: f64,
    /// Time of the scheduled wake-up, if any.
    pending: Option<SimTime>,
}

impl PsCpu {
    pub fn new(cores: f64) -> Self {
        PsCpu {
            cores: cores.max(0.0),
            rate: 0.0,
            full_speed: false,
            rates: Vec::new(),
            virtual_ns: 0.0,
            last: SimTime::ZERO,
            jobs: Jobs::Few(VecDeque::new()),
            seq: 0,
            busy_core_s: 0.0,
            bg_cores: 0.0,
            bg_core_s: 0.0,
            pending: None,
        }
    }

    /// Virtual work per job per nanosecond: `min(1, cores / k)`, 0 when
    /// idle. Cached in `rate` (a division saved on every catch-up):
    /// [`Self::update_rate`] runs after every change of the jobs or cores.
    #[inline]
    fn rate(&self) -> f64 {
        self.rate
    }

    /// `rate = min(1, cores / k)` (0 when idle) and `full_speed = rate ==
    /// 1`, with the division only when the jobs share the cores: for `k >=
    /// 1` jobs, `cores / k` rounds to 1 or more exactly when `cores >= k`
    /// (below, the quotient is at most `1 - 2^-53`, a double below 1), so
    /// the comparison decides it and the result is the same bit for bit.
    /// Read from `rates` when there, so that it is the same division.
    #[inline]
    fn update_rate(&mut self) {
        let k = self.jobs.len();
        match self.rates.get(k) {
            Some(&r) if !r.is_nan() => {
                self.rate = r;
                self.full_speed = r == 1.0;
            }
            _ => self.update_rate_uncached(k),
        }
    }

    /// [`Self::update_rate`] for `k` jobs not in `rates` yet: computed
    /// (and kept, below [`RATES_CACHED`] jobs).
    #[inline(never)]
    fn update_rate_uncached(&mut self, k: usize) {
        (self.rate, self.full_speed) = rate_for(self.cores, k);
        if k < RATES_CACHED {
            if self.rates.len() <= k {
                self.rates.resize(k + 1, f64::NAN);
            }
            self.rates[k] = self.rate;
        }
    }

    /// `cores` for jobs from now on (the cached rates go if they change).
    fn put_cores(&mut self, cores: f64) {
        let cores = cores.max(0.0);
        if cores.to_bits() != self.cores.to_bits() {
            self.cores = cores;
            self.rates.clear();
        }
    }

    #[inline]
    fn catch_up(&mut self, now: SimTime) {
        if now > self.last {
            let dt_ns = f64_of(now.0 - self.last.0);
            let r = self.rate();
            self.virtual_ns += r * dt_ns;
            self.busy_core_s += r * dt_ns * 1e-9 * f64_of_count(self.jobs.len());
            self.bg_core_s += self.bg_cores * dt_ns * 1e-9;
            self.last = now;
        }
    }

    /// Job `id` needing `work_s` core-seconds arrives at `now`.
    #[inline]
    pub fn arrive(&mut self, now: SimTime, work_s: f64, id: u32) {
        self.catch_up(now);
        let finish = trunc_u64(self.virtual_ns + work_s.max(0.0) * 1e9 + 0.5);
        self.jobs.push((finish, self.seq, id));
        self.seq += 1;
        self.update_rate();
    }

    /// When the next job finishes if nothing else arrives (`None` if idle or stalled).
    #[inline]
    pub fn next_completion(&self) -> Option<SimTime> {
        let (finish, _, _) = self.jobs.peek()?;
        let r = self.rate();
        if r <= 0.0 {
            return None;
        }
        let remaining_ns = (f64_of(*finish) - self.virtual_ns).max(0.0);
        // At full speed (no more jobs than cores) the division by 1 is
        // exact: skip it, it is the slowest step of an arrival. (A flag,
        // not `r == 1.0`, and an opaque divisor: otherwise the compiler
        // divides by 1.0 or `r` chosen without a branch.)
        let real_ns = if self.full_speed {
            remaining_ns
        } else {
            remaining_ns / std::hint::black_box(r)
        };
        Some(SimTime(self.last.0.saturating_add(ceil_u64(real_ns))))
    }

    /// If the wake-up must be (re)scheduled, its time (and it is recorded
    /// as pending): whenever the next completion moved, later as well as
    /// earlier. The caller's timer slot replaces the wake-up it held, so a
    /// CPU never wakes early for nothing (with an event set, the superseded
    /// wake-up is ignored by [`Self::take_wakeup`]).
    #[inline]
    pub fn wakeup_needed(&mut self) -> Option<SimTime> {
        let next = self.next_completion()?;
        if self.pending == Some(next) {
            None
        } else {
            self.pending = Some(next);
            Some(next)
        }
    }

    /// A wake-up fired at `now`: true if it is the pending one (not stale).
    pub fn take_wakeup(&mut self, now: SimTime) -> bool {
        if self.pending == Some(now) {
            self.pending = None;
            true
        } else {
            false
        }
    }

    /// Pop one job finished by `now`, if any.
    #[inline(always)]
    pub fn pop_finished(&mut self, now: SimTime) -> Option<u32> {
        self.catch_up(now);
        let (finish, _, id) = *self.jobs.peek()?;
        let finish = f64_of(finish);
        // Within 1 ns of virtual work counts as done (absorbs rounding).
        if finish <= self.virtual_ns + 1.0 {
            self.jobs.pop();
            self.update_rate();
            self.virtual_ns = self.virtual_ns.max(finish);
            Some(id)
        } else {
            None
        }
    }

    /// Change capacity at `now` (jobs keep their remaining work).
    pub fn set_cores(&mut self, now: SimTime, cores: f64) {
        self.catch_up(now);
        self.put_cores(cores);
        self.update_rate();
    }

    /// Change capacity at `now`: `cores` for jobs, while `bg_cores` more are
    /// busy with background work (relayed traffic, heartbeats) that is
    /// accounted but not queued.
    pub fn set_capacity(&mut self, now: SimTime, cores: f64, bg_cores: f64) {
        self.catch_up(now);
        self.put_cores(cores);
        self.bg_cores = bg_cores.max(0.0);
        self.update_rate();
    }

    /// Busy core-seconds of jobs plus background up to `now`.
    pub fn used_core_s(&mut self, now: SimTime) -> f64 {
        self.catch_up(now);
        self.busy_core_s + self.bg_core_s
    }

    pub fn in_service(&self) -> usize {
        self.jobs.len()
    }
    pub fn cores(&self) -> f64 {
        self.cores
    }
    /// Busy core-seconds served up to `now`.
    pub fn busy_core_s(&mut self, now: SimTime) -> f64 {
        self.catch_up(now);
        self.busy_core_s
    }
    /// Remove every job (the machine died); returns their ids in finish order.
    pub fn drain(&mut self, now: SimTime) -> Vec<u32> {
        self.catch_up(now);
        let v = self.jobs.drain_sorted();
        self.update_rate();
        self.pending = None;
        v.into_iter().map(|(_, _, id)| id).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_to_end(cpu: &mut PsCpu) -> Vec<(SimTime, u32)> {
        let mut out = vec![];
        while let Some(t) = cpu.next_completion() {
            while let Some(id) = cpu.pop_finished(t) {
                out.push((t, id));
            }
        }
        out
    }

    proptest::proptest! {
        /// The deque-or-heap job set pops in the order of a plain binary
        /// heap, across both switches.
        #[test]
        fn jobs_pop_in_heap_order(
            ops in proptest::collection::vec((0u64..1000, proptest::bool::weighted(0.35)), 1..1000)
        ) {
            let mut jobs = Jobs::Few(VecDeque::new());
            let mut heap = BinaryHeap::new();
            for (seq, (finish, pop)) in ops.into_iter().enumerate() {
                if pop {
                    proptest::prop_assert_eq!(jobs.pop(), heap.pop().map(|Reverse(j)| j));
                } else {
                    let j = (finish, seq as u64, seq as u32);
                    jobs.push(j);
                    heap.push(Reverse(j));
                }
                proptest::prop_assert_eq!(jobs.len(), heap.len());
                proptest::prop_assert_eq!(jobs.peek(), heap.peek().map(|Reverse(j)| j));
            }
            let mut copy = jobs.clone();
            let mut rest: Vec<Job> = heap.clone().into_iter().map(|r| r.0).collect();
            rest.sort_unstable();
            proptest::prop_assert_eq!(copy.drain_sorted(), rest);
            // Popping all crosses back from heap to deque.
            while let Some(Reverse(j)) = heap.pop() {
                proptest::prop_assert_eq!(jobs.pop(), Some(j));
            }
            proptest::prop_assert_eq!(jobs.pop(), None);
        }
    }

    proptest::proptest! {
        /// The signed-conversion shortcuts give what `as` gives, for any bits.
        #[test]
        fn conversions_are_as_casts(bits in proptest::num::u64::ANY, n in proptest::num::u64::ANY) {
            let x = f64::from_bits(bits);
            proptest::prop_assert_eq!(trunc_u64(x), x as u64);
            proptest::prop_assert_eq!(f64_of(n).to_bits(), (n as f64).to_bits());
            if (0.0..1.8e19).contains(&x) {
                proptest::prop_assert_eq!(ceil_u64(x), x.ceil() as u64);
            }
        }

        /// The rate without a division at full speed is the formula's.
        #[test]
        fn rate_is_the_formula(
            bits in proptest::num::u64::ANY,
            n in 0usize..2_000,
            ulps in -3i64..=3,
            near in proptest::bool::ANY,
        ) {
            // Any non-negative cores, or cores within a few ulps of `n`.
            let cores = if near {
                f64::from_bits((n as f64).to_bits().saturating_add_signed(ulps)).max(0.0)
            } else {
                f64::from_bits(bits).max(0.0)
            };
            let want = if n == 0 { 0.0 } else { (cores / n as f64).min(1.0) };
            let (rate, full) = rate_for(cores, n);
            proptest::prop_assert_eq!(rate.to_bits(), want.to_bits());
            proptest::prop_assert_eq!(full, want == 1.0);
        }

        /// The cached rates are the division's, as jobs come and go and
        /// the cores change (back to an earlier value too).
        #[test]
        fn cached_rates_are_the_formula(
            ops in proptest::collection::vec((0u8..4, 0u32..300), 1..600)
        ) {
            let mut cpu = PsCpu::new(3.0);
            let mut t = 0;
            for (op, x) in ops {
                t += 1_000;
                let now = SimTime(t);
                match op {
                    0 | 1 => cpu.arrive(now, f64::from(x) * 1e-3, x),
                    2 => {
                        let _ = cpu.pop_finished(SimTime(t + u64::from(x) * 1_000_000));
                        t += u64::from(x) * 1_000_000;
                    }
                    _ => cpu.set_cores(now, [0.0, 2.5, 3.0, 7.0][x as usize % 4]),
                }
                let (rate, full) = rate_for(cpu.cores, cpu.jobs.len());
                proptest::prop_assert_eq!(cpu.rate.to_bits(), rate.to_bits());
                proptest::prop_assert_eq!(cpu.full_speed, full);
            }
        }

        #[test]
        fn conversions_are_as_casts_on_times(x in 0.0f64..1e15, n in 0u64..(1 << 50)) {
            proptest::prop_assert_eq!(trunc_u64(x), x as u64);
            proptest::prop_assert_eq!(ceil_u64(x), x.ceil() as u64);
            proptest::prop_assert_eq!(f64_of(n).to_bits(), (n as f64).to_bits());
        }
    }

    #[test]
    fn two_jobs_share_one_core() {
        let mut cpu = PsCpu::new(1.0);
        cpu.arrive(SimTime::ZERO, 1.0, 1);
        cpu.arrive(SimTime::ZERO, 2.0, 2);
        // Both at half speed: job 1 finishes at 2 s; then job 2 alone needs 1 s more.
        let done = run_to_end(&mut cpu);
        assert_eq!(
            done,
            vec![(SimTime::from_secs(2), 1), (SimTime::from_secs(3), 2)]
        );
        assert!((cpu.busy_core_s(SimTime::from_secs(3)) - 3.0).abs() < 1e-9);
    }

    #[test]
    fn jobs_below_core_count_run_at_full_speed() {
        let mut cpu = PsCpu::new(4.0);
        cpu.arrive(SimTime::ZERO, 1.0, 1);
        cpu.arrive(SimTime::ZERO, 1.0, 2);
        assert_eq!(cpu.next_completion(), Some(SimTime::from_secs(1)));
    }

    #[test]
    fn zero_capacity_stalls_and_resumes() {
        let mut cpu = PsCpu::new(1.0);
        cpu.arrive(SimTime::ZERO, 1.0, 7);
        cpu.set_cores(SimTime::from_millis(500), 0.0);
        assert_eq!(cpu.next_completion(), None);
        cpu.set_cores(SimTime::from_secs(10), 1.0);
        assert_eq!(cpu.next_completion(), Some(SimTime::from_millis(10_500)));
    }

    #[test]
    fn lazy_wakeups() {
        let mut cpu = PsCpu::new(1.0);
        cpu.arrive(SimTime::ZERO, 2.0, 1);
        assert_eq!(cpu.wakeup_needed(), Some(SimTime::from_secs(2)));
        cpu.arrive(SimTime::ZERO, 4.0, 2); // slows job 1: the wake-up moves to 4 s
        assert_eq!(cpu.wakeup_needed(), Some(SimTime::from_secs(4)));
        assert_eq!(cpu.wakeup_needed(), None, "unchanged");
        assert!(!cpu.take_wakeup(SimTime::from_secs(2)), "superseded");
        assert!(cpu.take_wakeup(SimTime::from_secs(4)));
        assert_eq!(cpu.pop_finished(SimTime::from_secs(4)), Some(1));
    }
}
