//! The two-stage request pipeline: an API request queues for its replica's
//! CPU, then (if it queries) for the database's CPU; its latency is both
//! sojourns plus one network round trip per query. Both CPUs are processor
//! sharing over the cores that relayed traffic, heartbeats and running
//! builds leave free.
//!
//! # The write path's tail: the activity-bump lock
//!
//! A request that carries an activity bump (`bump_s`) does not end with
//! its reads: it then queues for the bump lock ([`FifoLock`], one holder
//! at a time, in arrival order), and the holder runs the bump's UPDATEs on
//! the database CPU (processor sharing, so they slow down as the database
//! fills) before it lets go. Then it commits: the commit waits
//! `db_commit_wait_ms / (1 - rho)`, rho the database's CPU utilisation
//! smoothed over about 10 s (the mean slowdown of an M/M/1 server at
//! utilisation rho). Both waits grow with the write rate and the
//! database's load: the lock's, an M/G/1 queue, as `rho_lock / (1 -
//! rho_lock)` with the bump rate times the hold; the commit's as
//! `1 / (1 - rho)`. A small database gives a long tail, a large one almost
//! none, and a saturated database or lock an unbounded one.

use super::*;

/// Requests in service on one CPU beyond which new ones are refused (and the
/// run reported saturated): keeps memory bounded under overload.
pub const MAX_IN_SERVICE: usize = 200_000;

/// What a request is, for its metrics (`api_requests_per_second` and
/// `api_latency_seconds` by `class`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum RequestClass {
    Dashboard,
    Agent,
    Connect,
    Build,
    /// Internal database work (batch flushes): no API metrics.
    Internal,
}

impl RequestClass {
    /// The API classes, in the order their metrics are registered.
    pub(super) const API: [RequestClass; 4] = [
        RequestClass::Dashboard,
        RequestClass::Agent,
        RequestClass::Connect,
        RequestClass::Build,
    ];

    /// The `class` label.
    pub(super) fn name(self) -> &'static str {
        match self {
            RequestClass::Dashboard => "dashboard",
            RequestClass::Agent => "agent",
            RequestClass::Connect => "connect",
            RequestClass::Build => "build",
            RequestClass::Internal => "internal",
        }
    }
}

/// One request in the pipeline.
pub(super) struct Request {
    class: RequestClass,
    t0: SimTime,
    /// coderd CPU the request needs, core-seconds (for the accounting check).
    cpu_work_s: f64,
    db_work_s: f64,
    n_queries: f64,
    /// Database work of an activity bump still to run under the bump lock, s.
    pub(super) bump_s: f64,
    /// It holds the bump lock.
    locked: bool,
}

/// Weight of the newest second in the smoothed database utilisation
/// (`1 - exp(-1/10)`: a time constant of 10 s).
const RHO_SMOOTHING: f64 = 0.095_162_581_964_040_43;

/// The utilisation the commit wait's slowdown `1 / (1 - rho)` is capped at.
const RHO_MAX: f64 = 0.99;

impl World<'_> {
    /// An API request of `class` on replica `r`: `cpu_ms` of coderd CPU, then
    /// `db_cpu_ms` of database CPU over `n_queries` queries, `n_writes` of them writes.
    /// Returns the request's id (`None` if the replica refused it).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn start_request(
        &mut self,
        now: SimTime,
        class: RequestClass,
        r: u32,
        cpu_ms: f64,
        n_queries: f64,
        db_cpu_ms: f64,
        n_writes: f64,
    ) -> Option<u32> {
        if self.refuses(r) {
            self.api_error(now, class);
            return None;
        }
        self.rec.tick(self.ids.rps[class as usize], now, 1.0);
        self.rec.tick(self.ids.rps_total, now, 1.0);
        Some(self.enqueue_cpu(now, class, r, cpu_ms, n_queries, db_cpu_ms, n_writes))
    }

    /// Work on replica `r` that is not an HTTP API request (a periodic
    /// job, a provisioner daemon's dRPC call): no API metrics. Returns
    /// `false` if the replica refused it.
    pub(super) fn start_internal(
        &mut self,
        now: SimTime,
        r: u32,
        cpu_ms: f64,
        n_queries: f64,
        db_cpu_ms: f64,
        n_writes: f64,
    ) -> bool {
        if self.refuses(r) {
            return false;
        }
        let class = RequestClass::Internal;
        self.enqueue_cpu(now, class, r, cpu_ms, n_queries, db_cpu_ms, n_writes);
        true
    }

    /// Whether replica `r`'s CPU is at its in-service cap; a refusal is
    /// counted in `rejected_requests`.
    fn refuses(&mut self, r: u32) -> bool {
        let full = self.replicas[r as usize].cpu.in_service() >= MAX_IN_SERVICE;
        if full {
            self.rejected_requests += 1;
        }
        full
    }

    #[allow(clippy::too_many_arguments)]
    fn enqueue_cpu(
        &mut self,
        now: SimTime,
        class: RequestClass,
        r: u32,
        cpu_ms: f64,
        n_queries: f64,
        db_cpu_ms: f64,
        n_writes: f64,
    ) -> u32 {
        if n_writes > 0.0 {
            self.count_writes(now, n_writes);
        }
        let id = self.requests.insert(Request {
            class,
            t0: now,
            cpu_work_s: cpu_ms / 1e3,
            db_work_s: db_cpu_ms / 1e3,
            n_queries,
            bump_s: 0.0,
            locked: false,
        }) as u32;
        let rep = &mut self.replicas[r as usize];
        rep.cpu.arrive(now, cpu_ms / 1e3, id);
        if let Some(t) = rep.cpu.wakeup_needed() {
            self.timers
                .set(CPU_TIMER0 + r as usize, t, PRIO_CPU, &mut self.q);
        }
        id
    }

    /// Database work with no API request in front of it (batch flushes).
    pub(super) fn start_db_only(&mut self, now: SimTime, db_cpu_ms: f64, n_writes: f64) {
        self.count_writes(now, n_writes);
        let db_work_s = db_cpu_ms / 1e3;
        let id = self.requests.insert(Request {
            class: RequestClass::Internal,
            t0: now,
            cpu_work_s: 0.0,
            db_work_s,
            n_queries: 1.0,
            bump_s: 0.0,
            locked: false,
        }) as u32;
        self.db_arrive(now, id, db_work_s);
    }

    /// `n` write statements reach the database (and its disk).
    pub(super) fn count_writes(&mut self, now: SimTime, n: f64) {
        self.rec.tick(self.ids.db_writes, now, n);
        let f = self.costs.db_disk_write_ops_per_write;
        self.rec.tick(self.ids.db_disk_writes, now, n * f);
    }

    /// Request `id` queues for the database CPU with `work_s`, its
    /// `db_work_s` (the caller has it at hand: no second look-up of the
    /// record); `false` if it was refused (and removed).
    fn db_arrive(&mut self, now: SimTime, id: u32, work_s: f64) -> bool {
        debug_assert_eq!(
            work_s.to_bits(),
            self.requests[id as usize].db_work_s.to_bits()
        );
        if self.db.in_service() >= MAX_IN_SERVICE {
            self.rejected_requests += 1;
            let class = self.requests.remove(id as usize).class;
            self.api_error(now, class);
            return false;
        }
        self.db.arrive(now, work_s, id);
        if let Some(t) = self.db.wakeup_needed() {
            self.timers.set(DB_TIMER, t, PRIO_CPU, &mut self.q);
        }
        true
    }

    /// Request `id` asks for the bump lock.
    fn lock_acquire(&mut self, now: SimTime, id: u32) {
        if self.bump_lock.waiting() >= MAX_IN_SERVICE {
            self.rejected_requests += 1;
            self.rec.inc(self.ids.errors, now);
            self.requests.remove(id as usize);
            return;
        }
        if let Some(id) = self.bump_lock.acquire(now, id) {
            self.lock_granted(now, id);
        }
    }

    /// Request `id` holds the bump lock from `now`: its bump runs on the
    /// database CPU. If the database refuses it, the lock passes on.
    fn lock_granted(&mut self, now: SimTime, mut id: u32) {
        loop {
            let rq = &mut self.requests[id as usize];
            rq.locked = true;
            rq.db_work_s = std::mem::take(&mut rq.bump_s);
            let work_s = rq.db_work_s;
            if self.db_arrive(now, id, work_s) {
                return;
            }
            match self.bump_lock.release(now) {
                Some(next) => id = next,
                None => return,
            }
        }
    }

    /// The holder's UPDATEs are done: it lets go of the lock and commits.
    fn start_commit(&mut self, now: SimTime, id: u32) {
        self.requests[id as usize].locked = false;
        if let Some(next) = self.bump_lock.release(now) {
            self.lock_granted(now, next);
        }
        let rho = self.db_rho.min(RHO_MAX);
        let wait_s = self.costs.db_commit_wait_ms / 1e3 / (1.0 - rho);
        self.q.push(
            now + SimTime::from_secs_f64(wait_s),
            PRIO_CPU,
            Ev::Commit { id },
        );
    }

    /// Request `id` committed: it is done.
    pub(super) fn commit(&mut self, now: SimTime, id: u32) {
        self.finish_request(now, id);
    }

    /// Once a second: the database's utilisation over the last second,
    /// smoothed (the commit wait's slowdown reads it).
    pub(super) fn update_db_rho(&mut self, now: SimTime) {
        let used = self.db.used_core_s(now);
        let x = if self.db_vcpu > 0.0 {
            ((used - self.db_rho_mark_core_s) / self.db_vcpu).clamp(0.0, 1.0)
        } else {
            1.0
        };
        self.db_rho_mark_core_s = used;
        self.db_rho += (x - self.db_rho) * RHO_SMOOTHING;
    }

    /// The next event: the earliest of the event set's and the CPU
    /// timers' (whose keys never tie with an event's).
    #[inline]
    pub fn next_event(&mut self) -> Option<(SimTime, Next)> {
        let (k, slot) = self.timers.earliest_key();
        if let Some((t, ev)) = self.q.pop_before(k) {
            return Some((t, Next::Event(ev)));
        }
        if k == crate::engine::timers::UNSET {
            return None;
        }
        self.timers.clear(slot);
        Some((crate::engine::events::key_time(k), Next::Timer(slot)))
    }

    /// Timer `slot` fired at `now`: its CPU's wake-up (a direct call, so the
    /// most frequent events skip [`World::handle`]'s dispatch).
    #[inline]
    pub fn wake(&mut self, now: SimTime, slot: usize) {
        if slot == DB_TIMER {
            self.db_wakeup(now);
        } else {
            self.cpu_wakeup(now, (slot - CPU_TIMER0) as u32);
        }
    }

    fn cpu_wakeup(&mut self, now: SimTime, r: u32) {
        if !self.replicas[r as usize].cpu.take_wakeup(now) {
            return;
        }
        while let Some(id) = self.replicas[r as usize].cpu.pop_finished(now) {
            let rq = &self.requests[id as usize];
            self.replicas[r as usize].cpu_work_done_s += rq.cpu_work_s;
            if rq.db_work_s > 0.0 {
                self.db_arrive(now, id, rq.db_work_s);
            } else if rq.bump_s > 0.0 {
                self.lock_acquire(now, id);
            } else {
                self.finish_request(now, id);
            }
        }
        if let Some(t) = self.replicas[r as usize].cpu.wakeup_needed() {
            self.timers
                .set(CPU_TIMER0 + r as usize, t, PRIO_CPU, &mut self.q);
        }
    }

    fn db_wakeup(&mut self, now: SimTime) {
        if !self.db.take_wakeup(now) {
            return;
        }
        while let Some(id) = self.db.pop_finished(now) {
            let rq = &self.requests[id as usize];
            if rq.locked {
                self.start_commit(now, id);
            } else if rq.bump_s > 0.0 {
                self.lock_acquire(now, id);
            } else {
                self.finish_request(now, id);
            }
        }
        if let Some(t) = self.db.wakeup_needed() {
            self.timers.set(DB_TIMER, t, PRIO_CPU, &mut self.q);
        }
    }

    fn finish_request(&mut self, now: SimTime, id: u32) {
        let r = self.requests.remove(id as usize);
        if r.class != RequestClass::Internal {
            let lat = (now - r.t0).as_secs_f64() + r.n_queries * self.db_rtt_s;
            self.rec
                .record(self.ids.latency[r.class as usize], now, lat);
        }
    }

    /// The requests in service on replica `r` fail (it went away).
    pub(super) fn fail_requests_of(&mut self, now: SimTime, r: usize) {
        for id in self.replicas[r].cpu.drain(now) {
            let class = self.requests.remove(id as usize).class;
            self.api_error(now, class);
        }
    }

    /// A request of `class` is lost: counted in `api_errors_total`, in
    /// total and (for an API class) by class. Internal database work
    /// (batch flushes) counts in the total only.
    pub(super) fn api_error(&mut self, now: SimTime, class: RequestClass) {
        self.rec.inc(self.ids.errors, now);
        // `errors_class` is indexed by the API classes; `Internal` is past its end.
        if let Some(&id) = self.ids.errors_class.get(class as usize) {
            self.rec.inc(id, now);
        }
    }

    /// Request capacity of replica `r`: its vCPUs less relayed traffic and heartbeats.
    pub(super) fn refresh_capacity(&mut self, now: SimTime, r: usize) {
        let hb = self.costs.coderd_cpu_ms_agent_heartbeat
            / 1e3
            / self.s.workload.agents.heartbeat_interval.as_secs_f64();
        let builds = self.build_cores(r);
        let rep = &mut self.replicas[r];
        let encryption = if rep.alive && self.s.deployment.coderd.database_encryption {
            self.costs.coderd_cpu_cores_database_encryption
        } else {
            0.0
        };
        let bg = rep.relay_cores + rep.n_agents as f64 * hb + builds + encryption;
        rep.cpu
            .set_capacity(now, (rep.vcpu - bg).max(0.0), bg.min(rep.vcpu));
        if let Some(t) = rep.cpu.wakeup_needed() {
            self.timers.set(CPU_TIMER0 + r, t, PRIO_CPU, &mut self.q);
        }
    }

    /// Cores of replica `r` taken by relayed traffic and heartbeats.
    pub(super) fn background_cores(&self, r: usize) -> f64 {
        let rep = &self.replicas[r];
        rep.vcpu - rep.cpu.cores()
    }

    /// Query capacity of the database: its vCPUs less heartbeat writes and
    /// the running builds' log writes (none during an outage).
    pub(super) fn refresh_db_capacity(&mut self, now: SimTime) {
        let k = self.costs;
        let hb = k.db_cpu_ms_heartbeat_write
            / 1e3
            / self.s.workload.agents.heartbeat_interval.as_secs_f64();
        self.db_bg_cores = self.n_connected_agents as f64 * hb + self.build_db_cores();
        // In an outage the database serves nothing and is not busy.
        let (cap, bg) = if self.db_outage_depth > 0 {
            (0.0, 0.0)
        } else {
            (
                (self.db_vcpu - self.db_bg_cores).max(0.0),
                self.db_bg_cores.min(self.db_vcpu),
            )
        };
        self.db.set_capacity(now, cap, bg);
        if let Some(t) = self.db.wakeup_needed() {
            self.timers.set(DB_TIMER, t, PRIO_CPU, &mut self.q);
        }
    }
}
