//! The two-stage request pipeline: an API request queues for its replica's
//! CPU, then (if it queries) for the database's CPU; its latency is both
//! sojourns plus one network round trip per query. Both CPUs are processor
//! sharing over the cores that relayed traffic and heartbeats leave free.

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
    /// Latency that is neither CPU nor a round trip (lock and commit waits).
    pub(super) wait_s: f64,
}

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
        let rep = &mut self.replicas[r as usize];
        if rep.cpu.in_service() >= MAX_IN_SERVICE {
            self.rejected_requests += 1;
            self.api_error(now, class);
            return None;
        }
        self.rec.tick(self.ids.rps[class as usize], now, 1.0);
        self.rec.tick(self.ids.rps_total, now, 1.0);
        if n_writes > 0.0 {
            self.count_writes(now, n_writes);
        }
        let id = self.requests.insert(Request {
            class,
            t0: now,
            cpu_work_s: cpu_ms / 1e3,
            db_work_s: db_cpu_ms / 1e3,
            n_queries,
            wait_s: 0.0,
        }) as u32;
        let rep = &mut self.replicas[r as usize];
        rep.cpu.arrive(now, cpu_ms / 1e3, id);
        if let Some(t) = rep.cpu.wakeup_needed() {
            self.q.push(t, PRIO_CPU, Ev::Cpu { replica: r });
        }
        Some(id)
    }

    /// Database work with no API request in front of it (batch flushes).
    pub(super) fn start_db_only(&mut self, now: SimTime, db_cpu_ms: f64, n_writes: f64) {
        self.count_writes(now, n_writes);
        let id = self.requests.insert(Request {
            class: RequestClass::Internal,
            t0: now,
            cpu_work_s: 0.0,
            db_work_s: db_cpu_ms / 1e3,
            n_queries: 1.0,
            wait_s: 0.0,
        }) as u32;
        self.db_arrive(now, id);
    }

    /// `n` write statements reach the database (and its disk).
    pub(super) fn count_writes(&mut self, now: SimTime, n: f64) {
        self.rec.tick(self.ids.db_writes, now, n);
        let f = self.costs.db_disk_write_ops_per_write;
        self.rec.tick(self.ids.db_disk_writes, now, n * f);
    }

    fn db_arrive(&mut self, now: SimTime, id: u32) {
        if self.db.in_service() >= MAX_IN_SERVICE {
            self.rejected_requests += 1;
            let class = self.requests.remove(id as usize).class;
            self.api_error(now, class);
            return;
        }
        let w = self.requests[id as usize].db_work_s;
        self.db.arrive(now, w, id);
        if let Some(t) = self.db.wakeup_needed() {
            self.q.push(t, PRIO_CPU, Ev::Db);
        }
    }

    pub(super) fn cpu_wakeup(&mut self, now: SimTime, r: u32) {
        if !self.replicas[r as usize].cpu.take_wakeup(now) {
            return;
        }
        while let Some(id) = self.replicas[r as usize].cpu.pop_finished(now) {
            self.replicas[r as usize].cpu_work_done_s += self.requests[id as usize].cpu_work_s;
            if self.requests[id as usize].db_work_s > 0.0 {
                self.db_arrive(now, id);
            } else {
                self.finish_request(now, id);
            }
        }
        if let Some(t) = self.replicas[r as usize].cpu.wakeup_needed() {
            self.q.push(t, PRIO_CPU, Ev::Cpu { replica: r });
        }
    }

    pub(super) fn db_wakeup(&mut self, now: SimTime) {
        if !self.db.take_wakeup(now) {
            return;
        }
        while let Some(id) = self.db.pop_finished(now) {
            self.finish_request(now, id);
        }
        if let Some(t) = self.db.wakeup_needed() {
            self.q.push(t, PRIO_CPU, Ev::Db);
        }
    }

    fn finish_request(&mut self, now: SimTime, id: u32) {
        let r = self.requests.remove(id as usize);
        if r.class != RequestClass::Internal {
            let rtt = self.costs.db_rtt_ms / 1e3;
            let lat = (now - r.t0).as_secs_f64() + r.n_queries * rtt + r.wait_s;
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
        let rep = &mut self.replicas[r];
        let bg = rep.relay_cores + rep.n_agents as f64 * hb;
        rep.cpu
            .set_capacity(now, (rep.vcpu - bg).max(0.0), bg.min(rep.vcpu));
        if let Some(t) = rep.cpu.wakeup_needed() {
            self.q.push(t, PRIO_CPU, Ev::Cpu { replica: r as u32 });
        }
    }

    /// Cores of replica `r` taken by relayed traffic and heartbeats.
    pub(super) fn background_cores(&self, r: usize) -> f64 {
        let rep = &self.replicas[r];
        rep.vcpu - rep.cpu.cores()
    }

    /// Query capacity of the database: its vCPUs less heartbeat writes (none
    /// during an outage).
    pub(super) fn refresh_db_capacity(&mut self, now: SimTime) {
        let k = self.costs;
        let hb = k.db_cpu_ms_heartbeat_write
            / 1e3
            / self.s.workload.agents.heartbeat_interval.as_secs_f64();
        self.db_bg_cores = self.n_connected_agents as f64 * hb;
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
            self.q.push(t, PRIO_CPU, Ev::Db);
        }
    }
}
