//! Workspaces: a start or stop is a build job on the provisioner queue
//! (with its API calls to coderd and the database), cluster capacity for
//! new workspaces, and what a finished build means for its user.
//!
//! # What a build costs coderd and the database
//!
//! Every job, whoever created it, goes through phases the world charges
//! for (`../shared/data/build-load-evidence.csv`):
//! - created: one build call, the HTTP API request of class `build` (job
//!   row INSERT and its NOTIFY);
//! - acquired by a daemon: one build call over the daemon's dRPC
//!   connection (the acquire UPDATE), not an HTTP request: coderd and
//!   database work without API metrics, as are the completion and the log
//!   stream;
//! - running: a fluid load while the build runs, weighted by its kind (a
//!   stop counts `stop_build_cost_ratio`): the log stream of
//!   `build_log_calls_per_s` calls, each `coderd_cpu_ms_build_log_call` of
//!   coderd CPU and a `db_cpu_ms_build_log_write` database write; on a
//!   built-in daemon also Terraform itself, `builtin_provisioner_vcpu_per_build`
//!   on its own replica (B1), on an external daemon `provisioner_cpu_vcpu_per_build`
//!   on the provisioner instead. The log calls of external builds are spread
//!   over the ready replicas;
//! - finished: one build call plus, if it ran, the state and resource
//!   writes (`db_cpu_ms_build_state_write`); a start that completed then
//!   registers its agent (B9's instance-identity lookup).

use super::*;

impl World<'_> {
    pub(super) fn request_start(&mut self, now: SimTime, user: u32) {
        let u = &mut self.users[user as usize];
        if u.ws != Ws::Stopped {
            return;
        }
        u.set_ws(Ws::Starting, &mut self.autobuild_eligible);
        if let Some(c) = &self.s.deployment.cluster
            && self.ws_reserved >= self.nodes * c.workspaces_per_node
        {
            {
                match c.when_full {
                    WhenFull::Fail => {
                        self.users[user as usize].set_ws(Ws::Stopped, &mut self.autobuild_eligible);
                        self.rec.inc(self.ids.capacity_failed, now);
                        return;
                    }
                    WhenFull::Wait => {
                        self.cap_waiters.push_back(user);
                        if self.nodes + self.nodes_pending < c.max_nodes
                            && (self.nodes_pending as usize) * (c.workspaces_per_node as usize)
                                < self.cap_waiters.len()
                        {
                            self.nodes_pending += 1;
                            self.q
                                .push(now + c.scale_up_delay, PRIO_CONTROL, Ev::NodeUp);
                        }
                        return;
                    }
                }
            }
        }
        self.ws_reserved += 1;
        self.submit_build(now, user, false);
    }

    pub(super) fn submit_build(&mut self, now: SimTime, user: u32, stop: bool) {
        let t = self.users[user as usize].template;
        let token = (user as u64) << 1 | stop as u64;
        if stop {
            self.prov
                .submit_stop(now, t, token, &mut self.rec, &mut self.q);
        } else {
            self.prov
                .submit(now, t, JobKind::Human, token, &mut self.rec, &mut self.q);
        }
        self.after_prov(now);
    }

    /// One build phase call (create, acquire, complete): coderd CPU, the
    /// database's reads and one write, plus `state_ms` of state writes. It
    /// goes to `on` (a built-in daemon's own replica) if that is ready,
    /// else to a replica the load balancer picks. Only the creation is an
    /// HTTP API request (`http`); the daemon's calls are dRPC.
    fn build_call(&mut self, now: SimTime, on: Option<usize>, state_ms: f64, http: bool) {
        let r = match on.filter(|&r| self.replicas[r].ready) {
            Some(r) => Some(r as u32),
            None => self.http_replica(),
        };
        if let Some(r) = r {
            let k = self.costs;
            let q = k.db_queries_build_request;
            let db_ms = q * k.db_cpu_ms_read_query + k.db_cpu_ms_build_write + state_ms;
            let writes = if state_ms > 0.0 { 2.0 } else { 1.0 };
            let cpu = k.coderd_cpu_ms_build_request;
            if http {
                self.start_request(now, RequestClass::Build, r, cpu, q, db_ms, writes);
            } else {
                self.start_internal(now, r, cpu, q, db_ms, writes);
            }
        } else if http {
            // No replica ready: the API call is lost (the job itself still
            // enters the queue; see the README's availability notes).
            self.api_error(now, RequestClass::Build);
        }
    }

    /// The replica whose built-in daemons form provisioner group `g`.
    fn group_replica(&self, g: u32) -> Option<usize> {
        self.replicas
            .iter()
            .position(|r| r.builtin_group == Some(g as usize))
    }

    /// A running build's weight in the running load.
    fn build_weight(&self, kind: BuildKind) -> f64 {
        if kind == BuildKind::Stop {
            self.costs.stop_build_cost_ratio
        } else {
            1.0
        }
    }

    /// Builds running on group `g` change by `dw` (weighted): coderd
    /// replicas and the database take the new load.
    fn shift_build_load(&mut self, now: SimTime, g: u32, dw: f64) {
        let gi = g as usize;
        if self.build_load.len() <= gi {
            self.build_load.resize(gi + 1, 0.0);
        }
        self.build_load[gi] = (self.build_load[gi] + dw).max(0.0);
        self.build_load_all = (self.build_load_all + dw).max(0.0);
        match self.group_replica(g) {
            Some(r) => self.refresh_capacity(now, r),
            None => {
                self.build_load_ext = (self.build_load_ext + dw).max(0.0);
                for r in 0..self.replicas.len() {
                    if self.replicas[r].alive {
                        self.refresh_capacity(now, r);
                    }
                }
                let k = self.costs.provisioner_cpu_vcpu_per_build;
                self.rec
                    .set(self.ids.prov_cpu, now, self.build_load_ext * k);
            }
        }
        self.refresh_db_capacity(now);
    }

    /// coderd cores replica `r` spends on running builds: Terraform and the
    /// log stream of its own built-in daemons' builds, and its share of
    /// the external daemons' log streams.
    pub(super) fn build_cores(&self, r: usize) -> f64 {
        let k = self.costs;
        let rep = &self.replicas[r];
        if !rep.ready {
            return 0.0;
        }
        let log_vcpu = k.build_log_calls_per_s * k.coderd_cpu_ms_build_log_call / 1e3;
        let own = rep
            .builtin_group
            .and_then(|g| self.build_load.get(g))
            .copied()
            .unwrap_or(0.0);
        let n_ready = self.replicas.iter().filter(|x| x.ready).count().max(1);
        own * (k.builtin_provisioner_vcpu_per_build + log_vcpu)
            + self.build_load_ext * log_vcpu / n_ready as f64
    }

    /// Database cores the running builds' log streams take.
    pub(super) fn build_db_cores(&self) -> f64 {
        let k = self.costs;
        self.build_load_all * k.build_log_calls_per_s * k.db_cpu_ms_build_log_write / 1e3
    }

    /// A started workspace's agent registers: B9's instance-identity lookup.
    fn agent_register(&mut self, now: SimTime) {
        if let Some(r) = self.http_replica() {
            let k = self.costs;
            let (cpu, db) = (
                k.coderd_cpu_ms_agent_register,
                k.db_cpu_ms_agent_instance_lookup,
            );
            self.start_request(now, RequestClass::Agent, r, cpu, 1.0, db, 0.0);
        }
    }

    /// React to what happened in the provisioner model: job creations and
    /// acquisitions, then finished jobs.
    pub(super) fn after_prov(&mut self, now: SimTime) {
        // Ending a held build (node pools) frees its daemon, which may take
        // the next job: look again until nothing is new.
        while !self.prov.notes.is_empty() || !self.prov.finished.is_empty() {
            self.after_prov_once(now);
        }
    }

    fn after_prov_once(&mut self, now: SimTime) {
        // The lists are handed back empty so their buffers are reused (no
        // allocation per build event), unless handling pushed new entries.
        let mut notes: Vec<JobNote> = std::mem::take(&mut self.prov.notes);
        for n in notes.drain(..) {
            match n {
                JobNote::NeedsNode { job, daemon, token } => {
                    self.needs_node(now, job, daemon, (token >> 1) as u32);
                }
                JobNote::Created(_) => self.build_call(now, None, 0.0, true),
                JobNote::Acquired { group, kind } => {
                    let on = self.group_replica(group);
                    self.build_call(now, on, 0.0, false);
                    let w = self.build_weight(kind);
                    self.shift_build_load(now, group, w);
                }
            }
        }
        if self.prov.notes.is_empty() {
            self.prov.notes = notes;
        }
        let mut done: Vec<Finished> = std::mem::take(&mut self.prov.finished);
        for f in done.drain(..) {
            let w = self.build_weight(f.kind);
            if let Some(g) = f.group {
                self.shift_build_load(now, g, -w);
            }
            let ran = f.group.is_some() && f.end != JobEnd::Cancelled;
            let state_ms = if ran {
                self.costs.db_cpu_ms_build_state_write * w
            } else {
                0.0
            };
            let on = f.group.and_then(|g| self.group_replica(g));
            self.build_call(now, on, state_ms, false);
            if f.kind == BuildKind::Start && f.end == JobEnd::Completed {
                self.agent_register(now);
            }
            if f.token == u64::MAX {
                continue;
            }
            let user = (f.token >> 1) as u32;
            let stop = f.token & 1 == 1;
            let u = &mut self.users[user as usize];
            match (stop, f.end) {
                (false, JobEnd::Completed) => {
                    u.set_ws(Ws::Running, &mut self.autobuild_eligible);
                    self.record_start_time(now, f.created);
                    self.ws_running += 1;
                    self.rec
                        .set(self.ids.workspaces, now, self.ws_running as f64);
                    let e = self.agents[user as usize].epoch;
                    // The agent connects once the pod is up (a few seconds).
                    let d = SimTime::from_secs_f64(
                        self.users[user as usize].net_rng.random_range(2.0..10.0),
                    );
                    self.q
                        .push(now + d, PRIO_ACTION, Ev::AgentConnect { user, epoch: e });
                    if self.users[user as usize].present {
                        self.open_session(now + d, user);
                    }
                }
                (false, _) => {
                    u.set_ws(Ws::Stopped, &mut self.autobuild_eligible);
                    self.forget_waiter(now, user);
                    let u = &mut self.users[user as usize];
                    let retry = u.present && u.build_attempts < 3;
                    if retry {
                        u.build_attempts += 1;
                        let epoch = u.epoch;
                        self.q.push(
                            now + SimTime::MINUTE,
                            PRIO_ACTION,
                            Ev::BuildRetry { user, epoch },
                        );
                    }
                    self.ws_reserved = self.ws_reserved.saturating_sub(1);
                    self.serve_cap_waiters(now);
                }
                (true, _) => {
                    u.set_ws(Ws::Stopped, &mut self.autobuild_eligible);
                    self.unplace(now, user);
                    self.ws_reserved = self.ws_reserved.saturating_sub(1);
                    self.serve_cap_waiters(now);
                    if self.users[user as usize].wants_start {
                        self.users[user as usize].wants_start = false;
                        self.request_start(now, user);
                    }
                }
            }
        }
        if self.prov.finished.is_empty() {
            self.prov.finished = done;
        }
    }

    pub(super) fn serve_cap_waiters(&mut self, now: SimTime) {
        let Some(c) = &self.s.deployment.cluster else {
            return;
        };
        while self.ws_reserved < self.nodes * c.workspaces_per_node {
            let Some(user) = self.cap_waiters.pop_front() else {
                break;
            };
            self.ws_reserved += 1;
            self.submit_build(now, user, false);
        }
    }

    pub(super) fn stop_workspace(&mut self, now: SimTime, user: u32) {
        let u = &mut self.users[user as usize];
        if u.ws != Ws::Running || u.present {
            return;
        }
        u.set_ws(Ws::Stopping, &mut self.autobuild_eligible);
        self.ws_running -= 1;
        self.rec
            .set(self.ids.workspaces, now, self.ws_running as f64);
        self.agent_disconnect(now, user);
        self.submit_build(now, user, true);
    }
}
