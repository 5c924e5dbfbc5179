//! A processor-sharing CPU with a given number of cores.
//!
//! `k` jobs in service each progress at `min(1, cores / k)` core-seconds per
//! second (egalitarian processor sharing, the usual model of an OS scheduler
//! under load). Implemented with a virtual clock: every job advances the
//! same virtual work per real second, so a job finishes when the virtual
//! clock reaches its arrival virtual time plus its work. Arrivals and
//! departures cost O(log k).
//!
//! The model owns the event set: after every `arrive` or `depart` it asks
//! `next_completion` and schedules one completion event tagged with
//! `generation()`; a completion whose generation is stale is ignored.

use super::time::SimTime;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

#[derive(Debug)]
pub struct PsCpu<J> {
    cores: f64,
    /// Virtual work done per job so far (core-seconds).
    virtual_s: f64,
    last: SimTime,
    /// (finish virtual time in ns-of-work, seq) -> job
    jobs: BinaryHeap<Reverse<(u64, u64)>>,
    payload: std::collections::BTreeMap<u64, J>,
    seq: u64,
    generation: u64,
    busy_core_s: f64,
}

impl<J> PsCpu<J> {
    pub fn new(cores: f64) -> Self {
        assert!(cores > 0.0);
        PsCpu {
            cores,
            virtual_s: 0.0,
            last: SimTime::ZERO,
            jobs: BinaryHeap::new(),
            payload: Default::default(),
            seq: 0,
            generation: 0,
            busy_core_s: 0.0,
        }
    }

    fn rate(&self) -> f64 {
        let k = self.jobs.len() as f64;
        if k == 0.0 {
            0.0
        } else {
            (self.cores / k).min(1.0)
        }
    }

    fn catch_up(&mut self, now: SimTime) {
        let dt = now.saturating_sub(self.last).as_secs_f64();
        let r = self.rate();
        self.virtual_s += r * dt;
        self.busy_core_s += r * dt * self.jobs.len() as f64;
        self.last = now;
    }

    /// A job needing `work_s` core-seconds arrives at `now`.
    pub fn arrive(&mut self, now: SimTime, work_s: f64, job: J) {
        self.catch_up(now);
        let finish = ((self.virtual_s + work_s.max(0.0)) * 1e9).round() as u64;
        self.jobs.push(Reverse((finish, self.seq)));
        self.payload.insert(self.seq, job);
        self.seq += 1;
        self.generation += 1;
    }

    /// When the next job finishes, if no one else arrives.
    pub fn next_completion(&self) -> Option<SimTime> {
        let Reverse((finish, _)) = self.jobs.peek()?;
        let remaining = (*finish as f64 / 1e9 - self.virtual_s).max(0.0);
        let r = self.rate();
        Some(self.last + SimTime::from_secs_f64(remaining / r))
    }

    /// Current generation: completion events carry it; a mismatch means stale.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Remove the job finishing first (call when its completion event fires).
    pub fn depart(&mut self, now: SimTime) -> Option<J> {
        self.catch_up(now);
        let Reverse((finish, seq)) = self.jobs.pop()?;
        // Snap the virtual clock to the finisher to absorb rounding.
        self.virtual_s = self.virtual_s.max(finish as f64 / 1e9);
        self.generation += 1;
        self.payload.remove(&seq)
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_jobs_share_one_core() {
        let mut cpu = PsCpu::new(1.0);
        cpu.arrive(SimTime::ZERO, 1.0, "a");
        cpu.arrive(SimTime::ZERO, 2.0, "b");
        // Both at half speed: a finishes at 2 s; then b alone needs 1 s more.
        let t1 = cpu.next_completion().unwrap();
        assert_eq!(t1, SimTime::from_secs(2));
        assert_eq!(cpu.depart(t1), Some("a"));
        let t2 = cpu.next_completion().unwrap();
        assert_eq!(t2, SimTime::from_secs(3));
        assert_eq!(cpu.depart(t2), Some("b"));
        assert!((cpu.busy_core_s(t2) - 3.0).abs() < 1e-9);
    }

    #[test]
    fn jobs_below_core_count_run_at_full_speed() {
        let mut cpu = PsCpu::new(4.0);
        cpu.arrive(SimTime::ZERO, 1.0, 1);
        cpu.arrive(SimTime::ZERO, 1.0, 2);
        assert_eq!(cpu.next_completion(), Some(SimTime::from_secs(1)));
    }
}
