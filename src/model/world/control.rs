//! Event dispatch, scheduled events, autoscalers, phases and the end-of-run
//! verdicts of the world.

use super::*;

impl World<'_> {
    /// Handle one event at `now`.
    pub fn handle(&mut self, now: SimTime, ev: Ev) {
        match ev {
            Ev::Prov(e) => {
                self.prov.handle(now, e, &mut self.rec, &mut self.q);
                self.after_prov(now);
            }
            Ev::Commit { id } => self.commit(now, id),
            Ev::Autobuild => self.autobuild_tick(now),
            Ev::DeploymentStats => self.deployment_stats_tick(now),
            Ev::DayPlan { day } => self.plan_day(now, day),
            Ev::UserArrive { user, .. } => self.user_arrive(now, user),
            Ev::UserLeave { user, .. } => self.user_leave(now, user),
            Ev::Lunch { user, back, .. } => self.lunch(now, user, back),
            Ev::SlotOpen { user, slot, epoch } => self.slot_open(now, user, slot, epoch),
            Ev::ConnEnd { conn, epoch } => self.conn_end(now, conn, epoch),
            Ev::DashAction { conn, epoch } => self.dash_action(now, conn, epoch),
            Ev::Reconnect {
                user,
                slot,
                epoch,
                attempt,
            } => self.reconnect(now, user, slot, epoch, attempt),
            Ev::AgentConnect { user, epoch } => self.agent_connect(now, user, epoch),
            Ev::AgentMeta { user, epoch, tick } => self.agent_meta(now, user, epoch, tick),
            Ev::Flush {
                replica,
                epoch,
                batch,
            } => {
                let rep = &self.replicas[replica as usize];
                if rep.epoch == epoch && rep.batchers[batch as usize].flush_at == Some(now) {
                    self.flush(now, replica as usize, batch);
                }
            }
            Ev::Autostart { user } => {
                if self.users[user as usize].ws == Ws::Stopped {
                    self.request_start(now, user);
                }
            }
            Ev::Autostop { user, epoch } => {
                if self.users[user as usize].epoch == epoch {
                    self.stop_workspace(now, user);
                }
            }
            Ev::BuildRetry { user, epoch } => {
                let u = &self.users[user as usize];
                if u.epoch == epoch && u.present && u.ws == Ws::Stopped {
                    self.request_start(now, user);
                }
            }
            Ev::Fluid => self.fluid(now),
            Ev::Scheduled { idx } => self.scheduled(now, idx as usize),
            Ev::Hpa => self.hpa(now),
            Ev::ProvScale => self.prov_scale(now),
            Ev::ProvAdd { count } => {
                self.prov_pending -= count;
                let g = self.external_group();
                self.prov
                    .add_daemons(now, g, count, &mut self.rec, &mut self.q);
                self.after_prov(now);
            }
            Ev::ReplicaUp { replica } => self.replica_up(now, replica as usize),
            Ev::NodeUp => {
                self.nodes += 1;
                self.nodes_pending -= 1;
                self.marks.push(Mark {
                    t_s: now.as_secs_f64(),
                    kind: "scale".into(),
                    label: format!("node added ({} nodes)", self.nodes),
                });
                self.serve_cap_waiters(now);
            }
            Ev::NodeReady { pool, node, serial } => self.node_ready(now, pool, node, serial),
            Ev::PoolScan { pool } => self.pool_scan(now, pool),
            Ev::NodeWaitTimeout { user, serial } => self.node_wait_timeout(now, user, serial),
            Ev::DbRestore => {
                self.db_outage_depth -= 1;
                if self.db_outage_depth == 0 {
                    self.marks.push(Mark {
                        t_s: now.as_secs_f64(),
                        kind: "outage".into(),
                        label: "database back".into(),
                    });
                }
                self.refresh_db_capacity(now);
            }
            Ev::SpikeEnd { idx } => {
                self.spike_depth -= 1;
                if let Action::TrafficSpike { factor, .. } = self.s.events[idx as usize].action {
                    self.spike_factor /= factor;
                }
                if self.spike_depth == 0 {
                    self.spike_factor = 1.0;
                }
            }
            Ev::PhaseStart { idx } => self.phase_start(now, idx as usize),
            Ev::PhaseEnd { idx } => self.phase_end(now, idx as usize),
        }
    }

    fn external_group(&mut self) -> usize {
        match self.ext_group {
            Some(g) => g,
            None => {
                let g = self.prov.add_group(Default::default());
                self.ext_group = Some(g);
                g
            }
        }
    }

    fn builtin_groups(&self) -> Vec<usize> {
        self.replicas
            .iter()
            .filter_map(|r| r.builtin_group)
            .collect()
    }

    fn alive_replicas(&self) -> Vec<usize> {
        (0..self.replicas.len())
            .filter(|&i| self.replicas[i].alive)
            .collect()
    }

    fn replica_up(&mut self, now: SimTime, r: usize) {
        self.pending_replicas -= 1;
        let rep = &mut self.replicas[r];
        rep.starting = false;
        if rep.alive {
            return;
        }
        rep.alive = true;
        rep.up_in_bucket = true;
        rep.ready = true;
        let vcpu = rep.vcpu;
        rep.cpu = PsCpu::new(vcpu);
        rep.busy_mark_core_s = 0.0;
        let n_builtin = self.s.deployment.coderd.builtin_provisioners_per_replica;
        if n_builtin > 0 {
            let g = match self.replicas[r].builtin_group {
                Some(g) => g,
                None => {
                    let g = self.prov.add_group(Default::default());
                    self.replicas[r].builtin_group = Some(g);
                    g
                }
            };
            self.prov
                .add_daemons(now, g, n_builtin, &mut self.rec, &mut self.q);
            self.after_prov(now);
        }
        let n = self.alive_replicas().len();
        self.rec.set(self.ids.replicas, now, n as f64);
        self.set_available(now);
        self.marks.push(Mark {
            t_s: now.as_secs_f64(),
            kind: "scale".into(),
            label: format!("replica {r} up ({n} replicas)"),
        });
        self.refresh_capacity(now, r);
        self.check_memory(now, r);
    }

    /// Scale coderd to `n` replicas: add (ready after `startup`) or remove the newest.
    fn scale_coderd(&mut self, now: SimTime, n: u32, startup: SimTime, why: &str) {
        let alive = self.alive_replicas();
        let have = alive.len() as u32 + self.pending_replicas;
        if n > have {
            for _ in 0..(n - have) {
                self.add_replica(now, startup);
            }
            self.marks.push(Mark {
                t_s: now.as_secs_f64(),
                kind: "scale".into(),
                label: format!("{why}: scale up to {n}"),
            });
        } else if n < alive.len() as u32 {
            for &r in alive.iter().rev().take(alive.len() - n as usize) {
                self.kill_replica(now, r, false);
            }
            self.marks.push(Mark {
                t_s: now.as_secs_f64(),
                kind: "replica-loss".into(),
                label: format!("{why}: scale down to {n}"),
            });
        }
        self.last_scale = Some(now);
    }

    fn scheduled(&mut self, now: SimTime, idx: usize) {
        let action = self.s.events[idx].action.clone();
        match action {
            Action::KillReplica { replica } => {
                let alive = self.alive_replicas();
                let target = match replica {
                    Some(r) => alive.into_iter().find(|&i| i == r as usize),
                    None => alive
                        .into_iter()
                        .max_by_key(|&i| (self.replicas[i].pins.len(), std::cmp::Reverse(i))),
                };
                if let Some(r) = target {
                    self.marks.push(Mark {
                        t_s: now.as_secs_f64(),
                        kind: "replica-loss".into(),
                        label: format!("replica {r} killed"),
                    });
                    self.kill_replica(now, r, true);
                }
            }
            Action::ScaleCoderd { replicas } => {
                let startup = self.s.autoscaling.coderd.as_ref().map_or(
                    SimTime::from_secs(crate::scenario::resolve_model::CODERD_STARTUP_S),
                    |a| a.startup,
                );
                self.scale_coderd(now, replicas, startup, "scheduled");
            }
            Action::AddProvisioners { count } => {
                let g = self.external_group();
                self.prov
                    .add_daemons(now, g, count, &mut self.rec, &mut self.q);
                self.marks.push(Mark {
                    t_s: now.as_secs_f64(),
                    kind: "scale".into(),
                    label: format!("+{count} provisioners"),
                });
                self.after_prov(now);
            }
            Action::RemoveProvisioners { count, signal } => {
                let b = self.builtin_groups();
                self.prov.remove_daemons(
                    now,
                    count,
                    signal == StopSignal::Sigint,
                    &b,
                    &mut self.rec,
                );
                self.marks.push(Mark {
                    t_s: now.as_secs_f64(),
                    kind: "scale".into(),
                    label: format!("-{count} provisioners"),
                });
                self.after_prov(now);
            }
            Action::DatabaseOutage { duration } => {
                self.db_outage_depth += 1;
                self.marks.push(Mark {
                    t_s: now.as_secs_f64(),
                    kind: "outage".into(),
                    label: "database outage".into(),
                });
                self.refresh_db_capacity(now);
                self.q.push(now + duration, PRIO_CONTROL, Ev::DbRestore);
            }
            Action::TrafficSpike { factor, duration } => {
                self.spike_depth += 1;
                self.spike_factor *= factor;
                self.marks.push(Mark {
                    t_s: now.as_secs_f64(),
                    kind: "spike".into(),
                    label: format!("traffic x{factor}"),
                });
                self.q.push(
                    now + duration,
                    PRIO_CONTROL,
                    Ev::SpikeEnd { idx: idx as u32 },
                );
            }
            Action::TemplatePush { template, count } => {
                for _ in 0..count {
                    self.prov
                        .submit_import(now, template, &mut self.rec, &mut self.q);
                }
                self.after_prov(now);
            }
        }
    }

    /// The Kubernetes horizontal pod autoscaler on coderd CPU.
    fn hpa(&mut self, now: SimTime) {
        let a = self
            .s
            .autoscaling
            .coderd
            .clone()
            .expect("scheduled only with an autoscaler");
        let period = a.sync_period.as_secs_f64();
        let alive = self.alive_replicas();
        let mut util_sum = 0.0;
        for &r in &alive {
            let bg = self.background_cores(r);
            let rep = &mut self.replicas[r];
            let busy = rep.cpu.busy_core_s(now);
            let used = (busy - rep.busy_mark_core_s) + bg * period;
            rep.busy_mark_core_s = busy;
            util_sum += (used / (rep.vcpu * period)).min(1.0);
        }
        let n = alive.len() as u32;
        if n > 0 {
            let desired =
                ((util_sum / a.target_cpu).ceil() as u32).clamp(a.min_replicas, a.max_replicas);
            self.hpa_history.push_back((now, desired));
            let keep = a.scale_up_window.max(a.scale_down_window);
            while self
                .hpa_history
                .front()
                .is_some_and(|(t, _)| now - *t > keep)
            {
                self.hpa_history.pop_front();
            }
            let within = |w: SimTime| {
                self.hpa_history
                    .iter()
                    .filter(move |(t, _)| now - *t <= w)
                    .map(|(_, d)| *d)
            };
            let up = within(a.scale_up_window).min().unwrap_or(desired);
            let down = within(a.scale_down_window).max().unwrap_or(desired);
            let current = n + self.pending_replicas;
            let cooled = self.last_scale.is_none_or(|t| now - t >= a.cooldown);
            if cooled && up > current {
                self.scale_coderd(now, up, a.startup, "autoscaler");
            } else if cooled && down < current && self.pending_replicas == 0 {
                self.scale_coderd(now, down, a.startup, "autoscaler");
            }
        }
        self.q.push(now + a.sync_period, PRIO_CONTROL, Ev::Hpa);
    }

    /// The provisioner autoscaler: enough daemons for the busy ones plus
    /// `queue_per_daemon` waiting jobs each.
    fn prov_scale(&mut self, now: SimTime) {
        let a = self
            .s
            .autoscaling
            .provisioners
            .clone()
            .expect("scheduled only with an autoscaler");
        let b = self.builtin_groups();
        let have = self.prov.n_external_active(&b);
        let builtin = self.prov.n_daemons() as u32 - have.min(self.prov.n_daemons() as u32);
        let need = self.prov.n_busy() as f64 + self.prov.n_waiting() as f64 / a.queue_per_daemon;
        let desired =
            ((need.ceil() as u32).saturating_sub(builtin)).clamp(a.min_daemons, a.max_daemons);
        let pending = self.prov_pending;
        if desired > have + pending {
            let add = desired - have - pending;
            self.prov_pending += add;
            self.q
                .push(now + a.startup, PRIO_CONTROL, Ev::ProvAdd { count: add });
        } else if desired < have && pending == 0 {
            self.prov.remove_daemons(
                now,
                have - desired,
                a.signal == StopSignal::Sigint,
                &b,
                &mut self.rec,
            );
            self.after_prov(now);
        }
        self.q.push(now + a.interval, PRIO_CONTROL, Ev::ProvScale);
    }

    fn phase_start(&mut self, now: SimTime, idx: usize) {
        let p = self.s.workload.phases[idx].clone();
        let kind = p.kind;
        let mut opened = Vec::with_capacity(p.n_users as usize);
        for user in 0..p.n_users.min(self.users.len() as u32) {
            let u = &mut self.users[user as usize];
            let sl = u.slots.len() as u32;
            u.slots.push(Slot {
                kind,
                conn: NONE,
                bytes_per_s: p.bytes_per_s,
                alive: true,
                paused: false,
                dropped_at: None,
                epoch: 0,
                phase: idx as u32,
            });
            // Scale-test runners ramp connections up over the first minute.
            let d = SimTime::from_secs_f64(u.conn_rng.random_range(0.0..60.0));
            self.q.push(
                now + d,
                PRIO_ACTION,
                Ev::SlotOpen {
                    user,
                    slot: sl,
                    epoch: 0,
                },
            );
            opened.push((user, sl));
        }
        self.phase_users[idx] = opened;
        self.marks.push(Mark {
            t_s: now.as_secs_f64(),
            kind: "phase".into(),
            label: format!("{} starts", p.name),
        });
    }

    fn phase_end(&mut self, now: SimTime, idx: usize) {
        for (user, sl) in std::mem::take(&mut self.phase_users[idx]) {
            self.close_slot(now, user, sl);
        }
    }
}
