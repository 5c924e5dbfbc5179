//! Workspaces: a start or stop is a build job on the provisioner queue
//! (with its API calls to coderd and the database), cluster capacity for
//! new workspaces, and what a finished build means for its user.

use super::*;

impl World<'_> {
    pub(super) fn request_start(&mut self, now: SimTime, user: u32) {
        let u = &mut self.users[user as usize];
        if u.ws != Ws::Stopped {
            return;
        }
        u.ws = Ws::Starting;
        if let Some(c) = &self.s.deployment.cluster
            && self.ws_reserved >= self.nodes * c.workspaces_per_node
        {
            {
                match c.when_full {
                    WhenFull::Fail => {
                        self.users[user as usize].ws = Ws::Stopped;
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
        self.build_request(now);
        if stop {
            self.prov
                .submit_stop(now, t, token, &mut self.rec, &mut self.q);
        } else {
            self.prov
                .submit(now, t, JobKind::Human, token, &mut self.rec, &mut self.q);
        }
        self.after_prov(now);
    }

    /// A build job costs coderd and the database an API call when it is
    /// created and when it finishes (acquire, then complete; job log and
    /// progress updates are folded into these two).
    pub(super) fn build_request(&mut self, now: SimTime) {
        if let Some(r) = self.http_replica() {
            let k = self.costs;
            let (cpu, q, w) = (
                k.coderd_cpu_ms_build_request,
                k.db_queries_build_request,
                k.db_cpu_ms_build_write,
            );
            let read = k.db_cpu_ms_read_query;
            self.start_request(now, RequestClass::Build, r, cpu, q, q * read + w, 1.0);
        } else {
            // No replica ready: the call is lost (the job itself still
            // enters the queue; see the README's availability notes).
            self.api_error(now, RequestClass::Build);
        }
    }

    /// React to builds that finished in the provisioner model.
    pub(super) fn after_prov(&mut self, now: SimTime) {
        let done: Vec<Finished> = std::mem::take(&mut self.prov.finished);
        for f in done {
            if f.token == u64::MAX {
                continue;
            }
            self.build_request(now);
            let user = (f.token >> 1) as u32;
            let stop = f.token & 1 == 1;
            let u = &mut self.users[user as usize];
            match (stop, f.end) {
                (false, JobEnd::Completed) => {
                    u.ws = Ws::Running;
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
                    u.ws = Ws::Stopped;
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
                    u.ws = Ws::Stopped;
                    self.ws_reserved = self.ws_reserved.saturating_sub(1);
                    self.serve_cap_waiters(now);
                    if self.users[user as usize].wants_start {
                        self.users[user as usize].wants_start = false;
                        self.request_start(now, user);
                    }
                }
            }
        }
        let busy = self.prov.n_busy() as f64;
        let k = self.costs.provisioner_cpu_vcpu_per_build;
        self.rec.set(self.ids.prov_cpu, now, busy * k);
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
        u.ws = Ws::Stopping;
        self.ws_running -= 1;
        self.rec
            .set(self.ids.workspaces, now, self.ws_running as f64);
        self.agent_disconnect(now, user);
        self.submit_build(now, user, true);
    }
}
