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
//! per CPU. [`PsCpu::wakeup_needed`] says when a new one must be scheduled
//! (the next completion moved earlier than the pending one); a wake-up that
//! fires early finds nothing done and asks to be rescheduled.

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
        match self {
            Jobs::Few(d) if d.len() < Self::MANY => {
                // A new job mostly finishes last (the virtual clock only
                // grows): then it goes to the back without a search.
                if d.back().is_none_or(|b| *b < job) {
                    d.push_back(job);
                } else {
                    let i = d.partition_point(|j| *j < job);
                    d.insert(i, job);
                }
            }
            Jobs::Few(d) => {
                let mut h: BinaryHeap<_> = d.drain(..).map(Reverse).collect();
                h.push(Reverse(job));
                *self = Jobs::Many(h);
            }
            Jobs::Many(h) => h.push(Reverse(job)),
        }
    }

    #[inline]
    fn pop(&mut self) -> Option<Job> {
        match self {
            Jobs::Few(d) => d.pop_front(),
            Jobs::Many(h) => {
                let j = h.pop().map(|Reverse(j)| j);
                if h.len() < Self::FEW {
                    let mut v: Vec<Job> = std::mem::take(h).into_iter().map(|r| r.0).collect();
                    v.sort_unstable();
                    *self = Jobs::Few(v.into());
                }
                j
            }
        }
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

/// Jobs are identified by a caller-chosen `u32`.
/// `x.ceil() as u64` for non-negative `x`, without a libm call.
#[inline]
fn ceil_u64(x: f64) -> u64 {
    let t = x as u64;
    if (t as f64) < x { t + 1 } else { t }
}

#[derive(Debug, Clone)]
pub struct PsCpu {
    cores: f64,
    /// See [`Self::rate`].
    rate: f64,
    /// `rate == 1.0`: no more jobs than cores.
    full_speed: bool,
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

    #[inline]
    fn update_rate(&mut self) {
        let k = self.jobs.len() as f64;
        self.rate = if k == 0.0 {
            0.0
        } else {
            (self.cores / k).min(1.0)
        };
        self.full_speed = self.rate == 1.0;
    }

    #[inline]
    fn catch_up(&mut self, now: SimTime) {
        if now > self.last {
            let dt_ns = (now.0 - self.last.0) as f64;
            let r = self.rate();
            self.virtual_ns += r * dt_ns;
            self.busy_core_s += r * dt_ns * 1e-9 * self.jobs.len() as f64;
            self.bg_core_s += self.bg_cores * dt_ns * 1e-9;
            self.last = now;
        }
    }

    /// Job `id` needing `work_s` core-seconds arrives at `now`.
    #[inline]
    pub fn arrive(&mut self, now: SimTime, work_s: f64, id: u32) {
        self.catch_up(now);
        let finish = (self.virtual_ns + work_s.max(0.0) * 1e9 + 0.5) as u64;
        self.jobs.push((finish, self.seq, id));
        self.seq += 1;
        self.update_rate();
    }

    /// When the next job finishes if nothing else arrives (`None` if idle or stalled).
    pub fn next_completion(&self) -> Option<SimTime> {
        let (finish, _, _) = self.jobs.peek()?;
        let r = self.rate();
        if r <= 0.0 {
            return None;
        }
        let remaining_ns = (*finish as f64 - self.virtual_ns).max(0.0);
        // At full speed (no more jobs than cores) the division by 1 is
        // exact: skip it, it is the slowest step of an arrival.
        // (A flag, not `r == 1.0`: the compiler would fold that test away.)
        let real_ns = if self.full_speed {
            remaining_ns
        } else {
            remaining_ns / r
        };
        Some(SimTime(self.last.0.saturating_add(ceil_u64(real_ns))))
    }

    /// If a wake-up must be scheduled, its time (and it is recorded as pending).
    pub fn wakeup_needed(&mut self) -> Option<SimTime> {
        let next = self.next_completion()?;
        match self.pending {
            Some(p) if p <= next => None,
            _ => {
                self.pending = Some(next);
                Some(next)
            }
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
    #[inline]
    pub fn pop_finished(&mut self, now: SimTime) -> Option<u32> {
        self.catch_up(now);
        let (finish, _, id) = *self.jobs.peek()?;
        // Within 1 ns of virtual work counts as done (absorbs rounding).
        if finish as f64 <= self.virtual_ns + 1.0 {
            self.jobs.pop();
            self.update_rate();
            self.virtual_ns = self.virtual_ns.max(finish as f64);
            Some(id)
        } else {
            None
        }
    }

    /// Change capacity at `now` (jobs keep their remaining work).
    pub fn set_cores(&mut self, now: SimTime, cores: f64) {
        self.catch_up(now);
        self.cores = cores.max(0.0);
        self.update_rate();
    }

    /// Change capacity at `now`: `cores` for jobs, while `bg_cores` more are
    /// busy with background work (relayed traffic, heartbeats) that is
    /// accounted but not queued.
    pub fn set_capacity(&mut self, now: SimTime, cores: f64, bg_cores: f64) {
        self.catch_up(now);
        self.cores = cores.max(0.0);
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
        cpu.arrive(SimTime::ZERO, 4.0, 2); // slows job 1: the pending wake-up is early, no new one
        assert_eq!(cpu.wakeup_needed(), None);
        assert!(cpu.take_wakeup(SimTime::from_secs(2)));
        assert_eq!(cpu.pop_finished(SimTime::from_secs(2)), None);
        assert_eq!(cpu.wakeup_needed(), Some(SimTime::from_secs(4)));
        assert!(!cpu.take_wakeup(SimTime::from_secs(3)), "stale");
    }
}
