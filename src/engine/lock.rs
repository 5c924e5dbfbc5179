//! A lock that serves its holders one at a time, in arrival order: a single
//! server whose service time (the hold) the model decides, the building block
//! of a lock convoy.
//!
//! The lock is a passive data structure that a model drives from its events:
//! `acquire` either grants the lock at once or queues the job, `release`
//! hands it to the next waiting job. It keeps the time it was held, so the
//! model can report its utilisation: a lock held a fraction `ρ` of the time
//! by holders that arrive at random is an M/G/1 queue, and waits grow as
//! `ρ / (1 - ρ)` (the Pollaczek-Khinchine formula; a unit test checks it).

use super::time::SimTime;
use std::collections::VecDeque;

/// A FIFO lock over jobs `J` (whatever identifies a job to the model).
#[derive(Clone, Debug)]
pub struct FifoLock<J> {
    held: bool,
    waiting: VecDeque<J>,
    /// When the current holder took the lock.
    since: SimTime,
    /// Seconds the lock was held by earlier holders.
    held_s: f64,
}

impl<J> Default for FifoLock<J> {
    fn default() -> Self {
        FifoLock {
            held: false,
            waiting: VecDeque::new(),
            since: SimTime::ZERO,
            held_s: 0.0,
        }
    }
}

impl<J> FifoLock<J> {
    pub fn new() -> Self {
        Self::default()
    }

    /// `job` asks for the lock at `now`: `Some(job)` if it holds the lock
    /// from now on, `None` if it waits behind the holder.
    pub fn acquire(&mut self, now: SimTime, job: J) -> Option<J> {
        if self.held {
            self.waiting.push_back(job);
            None
        } else {
            self.held = true;
            self.since = now;
            Some(job)
        }
    }

    /// The holder releases the lock at `now`; the next waiting job, if any,
    /// holds it from `now` and is returned.
    pub fn release(&mut self, now: SimTime) -> Option<J> {
        debug_assert!(self.held, "release of a lock nobody holds");
        self.held_s += now.saturating_sub(self.since).as_secs_f64();
        self.since = now;
        let next = self.waiting.pop_front();
        self.held = next.is_some();
        next
    }

    /// Jobs waiting (not counting the holder).
    pub fn waiting(&self) -> usize {
        self.waiting.len()
    }

    pub fn is_held(&self) -> bool {
        self.held
    }

    /// Seconds the lock has been held up to `now` (for its utilisation).
    pub fn held_s(&self, now: SimTime) -> f64 {
        self.held_s
            + if self.held {
                now.saturating_sub(self.since).as_secs_f64()
            } else {
                0.0
            }
    }

    /// Everyone leaves at `now` (the lock's owner went away): the holder's
    /// time is accounted and the waiting jobs are returned in arrival order.
    pub fn clear(&mut self, now: SimTime) -> Vec<J> {
        if self.held {
            self.held_s += now.saturating_sub(self.since).as_secs_f64();
            self.held = false;
        }
        self.since = now;
        self.waiting.drain(..).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{DefaultEventSet, EventSet, Streams};
    use rand::RngExt;

    #[test]
    fn grants_in_arrival_order_and_accounts_the_held_time() {
        let mut l = FifoLock::new();
        let t = SimTime::from_secs;
        assert_eq!(l.acquire(t(0), 'a'), Some('a'));
        assert_eq!(l.acquire(t(1), 'b'), None);
        assert_eq!(l.acquire(t(2), 'c'), None);
        assert_eq!(l.waiting(), 2);
        assert_eq!(l.release(t(3)), Some('b'));
        assert_eq!(l.release(t(4)), Some('c'));
        assert_eq!(l.release(t(6)), None);
        assert!(!l.is_held());
        assert_eq!(l.held_s(t(10)), 6.0);
        assert_eq!(l.acquire(t(10), 'd'), Some('d'));
        assert_eq!(l.acquire(t(10), 'e'), None);
        assert_eq!(l.clear(t(12)), vec!['e']);
        assert_eq!(l.held_s(t(20)), 8.0);
    }

    /// Poisson arrivals holding the lock a constant `d` seconds: an M/D/1
    /// queue, mean wait `ρ d / (2 (1 - ρ))` and utilisation `ρ = λ d`.
    #[test]
    fn a_convoy_of_constant_holds_waits_as_pollaczek_khinchine_says() {
        #[derive(Clone, Copy)]
        enum Ev {
            Arrive,
            Release,
        }
        for rho in [0.3, 0.6, 0.85] {
            let d = 0.010;
            let lambda = rho / d;
            let mut rng = Streams::new(7).stream("lock-test", (rho * 100.0) as u64);
            let mut q = DefaultEventSet::new();
            let mut lock = FifoLock::new();
            let n = 400_000u64;
            let (mut arrived, mut waits, mut served) = (0u64, 0.0, 0u64);
            q.push(SimTime::ZERO, 1, Ev::Arrive);
            let mut end = SimTime::ZERO;
            while let Some((now, ev)) = q.pop() {
                match ev {
                    Ev::Arrive => {
                        arrived += 1;
                        if lock.acquire(now, now).is_some() {
                            served += 1;
                            q.push(now + SimTime::from_secs_f64(d), 0, Ev::Release);
                        }
                        if arrived < n {
                            let u: f64 = rng.random();
                            let gap = -(1.0 - u).ln() / lambda;
                            q.push(now + SimTime::from_secs_f64(gap), 1, Ev::Arrive);
                        }
                    }
                    Ev::Release => {
                        if let Some(t0) = lock.release(now) {
                            waits += (now - t0).as_secs_f64();
                            served += 1;
                            q.push(now + SimTime::from_secs_f64(d), 0, Ev::Release);
                        }
                    }
                }
                end = now;
            }
            assert_eq!(served, n);
            let mean_wait = waits / n as f64;
            let pk = rho * d / (2.0 * (1.0 - rho));
            let util = lock.held_s(end) / end.as_secs_f64();
            assert!(
                (mean_wait / pk - 1.0).abs() < 0.05,
                "rho {rho}: mean wait {mean_wait} against {pk}"
            );
            assert!(
                (util / rho - 1.0).abs() < 0.02,
                "rho {rho}: utilisation {util}"
            );
        }
    }
}
