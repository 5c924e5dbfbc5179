//! The provisioner build queue.
//!
//! Daemons (external groups with tags, plus the built-in daemons of each
//! coderd replica, untagged) run one build at a time
//! (`../shared/data/coder-timing-constants.csv`: "concurrent jobs per daemon,
//! 1"). Waiting jobs are served by priority (human-started builds before
//! prebuilds), then by creation time. A daemon takes a job when every tag
//! of the job is on the daemon.
//!
//! Common random numbers: a job's build time and outcome are drawn from its
//! template's own streams when the job is created, so the k-th job of a
//! template takes the same time in every architecture run on the same seed.

use super::Ev;
use super::coder_metrics::{BUILD_TIME_BOUNDS_S, QUEUE_WAIT_BOUNDS_S};
use crate::engine::dist::Dist;
use crate::engine::metrics::{CounterId, GaugeId, HistId, Labels, Recorder, labels};
use crate::engine::station::{Ticket, WaitingLine};
use crate::engine::{DefaultEventSet, EventSet, SimRng, SimTime, Streams};
use crate::model::metric_names as m;
use crate::scenario::resolve::tags_match;
use crate::scenario::{Scenario, Template};
use rand::RngExt;
use slab::Slab;

/// Beyond this many waiting jobs new jobs are rejected and the run is
/// reported as saturated: it keeps memory bounded when arrivals outpace
/// the daemons. A model file may lower it with
/// `params.provisioner_max_waiting_jobs` (a capsim safety cap, not a Coder
/// limit: Coder's queue is a database table).
pub const MAX_WAITING_JOBS: usize = 1_000_000;

/// Event priorities (lower first at equal times): a finishing build frees
/// its daemon before a simultaneous arrival looks for one.
pub const PRIO_BUILD_DONE: u8 = 10;
pub const PRIO_RENEGE: u8 = 20;
pub const PRIO_ARRIVAL: u8 = 30;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobKind {
    /// Started by a person (or by their autostart schedule).
    Human,
    /// A prebuild: served only when no human-started build waits.
    Prebuild,
}

/// What a job does, for what it costs coderd and the database.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BuildKind {
    /// A workspace start (a prebuild too).
    Start,
    /// A workspace stop.
    Stop,
    /// A template version import (`pushes`).
    Import,
}

/// A step in a job's life the world charges coderd and the database for;
/// drained by the world after every provisioner event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobNote {
    /// The job row was created (and its NOTIFY sent).
    Created(BuildKind),
    /// A daemon of `group` acquired the job and starts running it.
    Acquired { group: u32, kind: BuildKind },
    /// A user's start build finished its run and its workspace needs a
    /// node (node pools only): the job keeps `daemon` until the world calls
    /// [`Provisioners::finish_held`].
    NeedsNode { job: u32, daemon: u32, token: u64 },
}

/// Why a job ended without completing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobEnd {
    Completed,
    /// The build itself failed (template failure probability).
    Failed,
    /// Waited past the pending time-out (Coder: pending job considered dead after 30 min).
    TimedOut,
    /// Cancelled (its daemon got SIGINT, or its replica died).
    Cancelled,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProvEv {
    /// Next candidate arrival of template `t`'s stream: human builds (0),
    /// prebuilds (1) or template imports (2).
    Arrival {
        template: u32,
        stream: u8,
    },
    BuildDone {
        daemon: u32,
        job: u32,
        serial: u32,
    },
    Renege {
        job: u32,
        serial: u32,
    },
}

#[derive(Clone, Debug)]
struct Job {
    template: u32,
    kind: BuildKind,
    created: SimTime,
    build_s: f64,
    fails: bool,
    ticket: Option<Ticket>,
    /// Distinguishes reuses of one job slot (stale time-outs are ignored).
    serial: u32,
    /// Caller's token, returned when the job ends.
    token: u64,
}

#[derive(Clone, Debug)]
struct Daemon {
    group: u32,
    busy: Option<u32>,
    /// False once removed (scale-down or replica loss).
    alive: bool,
    /// Exit after the current build (SIGHUP).
    draining: bool,
}

struct Group {
    tags: std::collections::BTreeMap<String, String>,
    free: Vec<u32>,
    templates: Vec<u32>,
}

struct Stream {
    dist_gap: Option<(f64, SimRng)>,
}

/// A finished job, for the caller to react to (e.g. a workspace is now running).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Finished {
    pub token: u64,
    pub template: u32,
    pub end: JobEnd,
    pub kind: BuildKind,
    /// The group of the daemon that ran it (`None`: it never ran).
    pub group: Option<u32>,
    /// When the job was created.
    pub created: SimTime,
}

struct Ids {
    wait: HistId,
    /// Successful builds' time on their daemon, per template: start builds
    /// (prebuilds and template imports included) and stop builds.
    build_time: Vec<(HistId, Option<HistId>)>,
    started: CounterId,
    completed: CounterId,
    failed: CounterId,
    cancelled: CounterId,
    created: CounterId,
    busy: GaugeId,
    util: GaugeId,
    qlen: GaugeId,
    daemons: GaugeId,
}

pub struct Provisioners {
    templates: Vec<Template>,
    groups: Vec<Group>,
    daemons: Vec<Daemon>,
    lines: Vec<WaitingLine<u32>>,
    /// Jobs waiting or running; a finished job's slot is reused.
    jobs: Slab<Job>,
    build_rng: Vec<SimRng>,
    stop_rng: Vec<SimRng>,
    import_rng: Vec<SimRng>,
    /// Run time of an import relative to a start build.
    import_time_ratio: f64,
    arrivals: Vec<[Stream; 3]>,
    pending_timeout: Option<SimTime>,
    max_waiting: usize,
    day_offset: SimTime,
    n_waiting: usize,
    n_busy: usize,
    n_alive: usize,
    ids: Ids,
    /// Jobs started with zero wait / all started (for P(wait > 0)).
    started_after_warmup: u64,
    waited_after_warmup: u64,
    warmup: SimTime,
    /// Users' start builds hold their daemon at the end of their run until
    /// their workspace has a node (the deployment has node pools).
    hold_starts: bool,
    pub rejected: u64,
    pub created: u64,
    pub finished: Vec<Finished>,
    /// Job creations and acquisitions since the world last looked.
    pub notes: Vec<JobNote>,
}

impl Provisioners {
    /// Build the daemon pool of `s` and schedule the first arrivals.
    pub fn new(
        s: &Scenario,
        streams: &Streams,
        rec: &mut Recorder,
        q: &mut DefaultEventSet<Ev>,
    ) -> Provisioners {
        let templates = s.workload.templates.clone();
        let mut groups: Vec<Group> = Vec::new();
        let mut daemons = Vec::new();
        let mut add_group = |tags: std::collections::BTreeMap<String, String>,
                             n: u32,
                             daemons: &mut Vec<Daemon>| {
            let g = groups.len() as u32;
            let mut free = Vec::new();
            for _ in 0..n {
                free.push(daemons.len() as u32);
                daemons.push(Daemon {
                    group: g,
                    busy: None,
                    alive: true,
                    draining: false,
                });
            }
            free.reverse(); // pop() hands out the lowest index first
            let ts = templates
                .iter()
                .enumerate()
                .filter(|(_, t)| tags_match(&t.tags, &tags))
                .map(|(i, _)| i as u32)
                .collect();
            groups.push(Group {
                tags,
                free,
                templates: ts,
            });
        };
        for g in &s.deployment.provisioner_groups {
            add_group(g.tags.clone(), g.n_daemons, &mut daemons);
        }
        let c = &s.deployment.coderd;
        for _ in 0..c.n_replicas {
            add_group(
                Default::default(),
                c.builtin_provisioners_per_replica,
                &mut daemons,
            );
        }
        let n_alive = daemons.len();
        let ids = Ids {
            wait: rec.histogram_with_bounds(
                m::BUILD_QUEUE_WAIT_SECONDS,
                Labels::new(),
                "s",
                &QUEUE_WAIT_BOUNDS_S,
            ),
            build_time: templates
                .iter()
                .map(|t| {
                    let mut h = |transition: &str| {
                        rec.histogram_with_bounds(
                            m::BUILD_TIME_SECONDS,
                            labels([("template", &t.name), ("transition", transition)]),
                            "s",
                            &BUILD_TIME_BOUNDS_S,
                        )
                    };
                    // Only users' workspaces are ever stopped.
                    (h("start"), s.workload.users.is_some().then(|| h("stop")))
                })
                .collect(),
            started: rec.counter(m::BUILDS_STARTED_TOTAL, Labels::new(), "1"),
            completed: rec.counter(m::BUILDS_COMPLETED_TOTAL, Labels::new(), "1"),
            failed: rec.counter(m::BUILDS_FAILED_TOTAL, Labels::new(), "1"),
            cancelled: rec.counter(m::BUILDS_CANCELLED_TOTAL, Labels::new(), "1"),
            created: rec.counter(m::BUILDS_CREATED_TOTAL, Labels::new(), "1"),
            busy: rec.gauge(m::PROVISIONER_BUSY_DAEMONS, Labels::new(), "1"),
            util: rec.gauge(m::PROVISIONER_UTILIZATION, Labels::new(), "ratio"),
            qlen: rec.gauge(m::BUILD_QUEUE_LENGTH, Labels::new(), "1"),
            daemons: rec.gauge(m::PROVISIONER_DAEMONS, Labels::new(), "1"),
        };
        rec.set(ids.daemons, SimTime::ZERO, n_alive as f64);
        let timeout_s = s.costs.provisioner_pending_timeout_s;
        let mut p = Provisioners {
            build_rng: (0..templates.len())
                .map(|i| streams.stream(&format!("build/{}", templates[i].name), 0))
                .collect(),
            stop_rng: (0..templates.len())
                .map(|i| streams.stream(&format!("stop/{}", templates[i].name), 0))
                .collect(),
            import_rng: (0..templates.len())
                .map(|i| streams.stream(&format!("import/{}", templates[i].name), 0))
                .collect(),
            import_time_ratio: s.costs.import_time_ratio,
            arrivals: Vec::new(),
            lines: (0..templates.len()).map(|_| WaitingLine::new()).collect(),
            templates,
            groups,
            daemons,
            jobs: Slab::new(),
            pending_timeout: (timeout_s > 0.0).then(|| SimTime::from_secs_f64(timeout_s)),
            max_waiting: s
                .costs
                .provisioner_max_waiting_jobs
                .map_or(MAX_WAITING_JOBS, |n| n.max(0.0) as usize),
            day_offset: s.start_time_of_day,
            n_waiting: 0,
            n_busy: 0,
            n_alive,
            ids,
            started_after_warmup: 0,
            waited_after_warmup: 0,
            warmup: s.warmup,
            hold_starts: !s.deployment.node_pools.is_empty(),
            rejected: 0,
            created: 0,
            finished: Vec::new(),
            notes: Vec::new(),
        };
        for t in p.templates.iter() {
            let mk = |a: &Option<crate::scenario::Arrivals>, kind: &str| Stream {
                dist_gap: a.as_ref().filter(|a| a.max_rate() > 0.0).map(|a| {
                    (
                        a.max_rate(),
                        streams.stream(&format!("arrivals/{}/{kind}", t.name), 0),
                    )
                }),
            };
            p.arrivals.push([
                mk(&t.builds, "human"),
                mk(&t.prebuilds, "prebuild"),
                mk(&t.pushes, "push"),
            ]);
        }
        for i in 0..p.templates.len() {
            for stream in 0..3 {
                p.schedule_arrival(SimTime::ZERO, i as u32, stream, q);
            }
        }
        p
    }

    fn schedule_arrival(
        &mut self,
        now: SimTime,
        template: u32,
        stream: u8,
        q: &mut DefaultEventSet<Ev>,
    ) {
        if let Some((max_rate, rng)) =
            &mut self.arrivals[template as usize][stream as usize].dist_gap
        {
            let u: f64 = rng.random();
            let gap = -(1.0 - u).ln() / *max_rate;
            q.push(
                now + SimTime::from_secs_f64(gap),
                PRIO_ARRIVAL,
                Ev::Prov(ProvEv::Arrival { template, stream }),
            );
        }
    }

    /// Offered load (build demand in daemon-seconds per second, over the
    /// daemons) at the peak arrival rates.
    pub fn peak_offered_load(&self) -> f64 {
        self.offered_load(|a| a.max_rate())
    }

    /// Offered load averaged over a day of the arrival profiles.
    pub fn mean_offered_load(&self) -> f64 {
        self.offered_load(|a| a.mean_rate())
    }

    fn offered_load(&self, rate: impl Fn(&crate::scenario::Arrivals) -> f64) -> f64 {
        let demand: f64 = self
            .templates
            .iter()
            .map(|t| {
                let r =
                    t.builds.as_ref().map_or(0.0, &rate) + t.prebuilds.as_ref().map_or(0.0, &rate);
                r * t.build_time_s.mean()
            })
            .sum();
        if self.n_alive == 0 {
            if demand > 0.0 { f64::INFINITY } else { 0.0 }
        } else {
            demand / self.n_alive as f64
        }
    }

    pub fn handle(
        &mut self,
        now: SimTime,
        ev: ProvEv,
        rec: &mut Recorder,
        q: &mut DefaultEventSet<Ev>,
    ) {
        match ev {
            ProvEv::Arrival { template, stream } => {
                let accept = {
                    let t = &self.templates[template as usize];
                    let a = [&t.builds, &t.prebuilds, &t.pushes][stream as usize];
                    let a = a.as_ref().expect("scheduled only when present");
                    let (max_rate, rng) = self.arrivals[template as usize][stream as usize]
                        .dist_gap
                        .as_mut()
                        .expect("stream");
                    let tod = now.time_of_day_s(self.day_offset);
                    let r = a.rate_at(tod);
                    r >= *max_rate || rng.random::<f64>() * *max_rate < r
                };
                if accept {
                    match stream {
                        0 => self.submit(now, template, JobKind::Human, u64::MAX, rec, q),
                        1 => self.submit(now, template, JobKind::Prebuild, u64::MAX, rec, q),
                        _ => self.submit_import(now, template, rec, q),
                    }
                }
                self.schedule_arrival(now, template, stream, q);
            }
            ProvEv::BuildDone {
                daemon,
                job,
                serial,
            } => {
                if self.daemons[daemon as usize].busy != Some(job)
                    || self
                        .jobs
                        .get(job as usize)
                        .is_none_or(|j| j.serial != serial)
                {
                    return; // the build was cancelled
                }
                let held = {
                    let j = &self.jobs[job as usize];
                    self.hold_starts
                        && j.kind == BuildKind::Start
                        && j.token != u64::MAX
                        && !j.fails
                };
                if held {
                    // Terraform has created the pod and waits for it: the
                    // build's own work is done, the daemon stays busy.
                    let j = &self.jobs[job as usize];
                    rec.record(self.ids.build_time[j.template as usize].0, now, j.build_s);
                    self.notes.push(JobNote::NeedsNode {
                        job,
                        daemon,
                        token: j.token,
                    });
                    return;
                }
                let j = self.take_job(job);
                let end = if j.fails {
                    JobEnd::Failed
                } else {
                    let (start, stop) = self.ids.build_time[j.template as usize];
                    let stopping = j.kind == BuildKind::Stop;
                    if let Some(h) = if stopping { stop } else { Some(start) } {
                        rec.record(h, now, j.build_s);
                    }
                    JobEnd::Completed
                };
                self.end_on_daemon(now, daemon, j, end, rec, q);
            }
            ProvEv::Renege { job, serial } => {
                let Some(j) = self.jobs.get(job as usize) else {
                    return;
                };
                let Some(ticket) = j.ticket.filter(|_| j.serial == serial) else {
                    return;
                };
                let t = j.template as usize;
                if self.lines[t].withdraw(ticket) == Some(job) {
                    self.n_waiting -= 1;
                    let j = self.take_job(job);
                    rec.inc(self.ids.failed, now);
                    self.finished.push(Finished {
                        token: j.token,
                        template: j.template,
                        end: JobEnd::TimedOut,
                        kind: j.kind,
                        group: None,
                        created: j.created,
                    });
                    self.update_gauges(now, rec);
                }
            }
        }
    }

    /// End a start build that held `daemon` while its workspace waited for
    /// a node (see [`JobNote::NeedsNode`]): completed if it got one, failed
    /// if the wait passed the provider's time-out.
    pub fn finish_held(
        &mut self,
        now: SimTime,
        daemon: u32,
        job: u32,
        placed: bool,
        rec: &mut Recorder,
        q: &mut DefaultEventSet<Ev>,
    ) {
        if self.daemons[daemon as usize].busy != Some(job) {
            return; // cancelled meanwhile
        }
        let j = self.take_job(job);
        let end = if placed {
            JobEnd::Completed
        } else {
            JobEnd::Failed
        };
        self.end_on_daemon(now, daemon, j, end, rec, q);
    }

    /// Count and report the end of build `j` that ran on `daemon`, and free
    /// the daemon for the next job.
    fn end_on_daemon(
        &mut self,
        now: SimTime,
        daemon: u32,
        j: Job,
        end: JobEnd,
        rec: &mut Recorder,
        q: &mut DefaultEventSet<Ev>,
    ) {
        rec.inc(
            if end == JobEnd::Failed {
                self.ids.failed
            } else {
                self.ids.completed
            },
            now,
        );
        self.finished.push(Finished {
            token: j.token,
            template: j.template,
            end,
            kind: j.kind,
            group: Some(self.daemons[daemon as usize].group),
            created: j.created,
        });
        self.n_busy -= 1;
        self.daemons[daemon as usize].busy = None;
        self.release_daemon(now, daemon, rec, q);
        self.update_gauges(now, rec);
    }

    fn take_job(&mut self, id: u32) -> Job {
        self.jobs.remove(id as usize)
    }

    /// Create a stop build of `template` now (human priority, never fails).
    pub fn submit_stop(
        &mut self,
        now: SimTime,
        template: u32,
        token: u64,
        rec: &mut Recorder,
        q: &mut DefaultEventSet<Ev>,
    ) {
        let rng = &mut self.stop_rng[template as usize];
        let stop_s = self.templates[template as usize]
            .stop_time_s
            .sample(rng)
            .max(0.0);
        self.enqueue(
            now,
            template,
            JobKind::Human,
            token,
            stop_s,
            false,
            BuildKind::Stop,
            rec,
            q,
        );
    }

    /// Create a template import job of `template` now (human priority; it
    /// runs `import_time_ratio` of a start build's time and never fails).
    pub fn submit_import(
        &mut self,
        now: SimTime,
        template: u32,
        rec: &mut Recorder,
        q: &mut DefaultEventSet<Ev>,
    ) {
        let rng = &mut self.import_rng[template as usize];
        let run_s = self.templates[template as usize]
            .build_time_s
            .sample(rng)
            .max(0.0)
            * self.import_time_ratio;
        self.enqueue(
            now,
            template,
            JobKind::Human,
            u64::MAX,
            run_s,
            false,
            BuildKind::Import,
            rec,
            q,
        );
    }

    /// Create a build job of `template` now. `token` comes back in [`Finished`].
    pub fn submit(
        &mut self,
        now: SimTime,
        template: u32,
        kind: JobKind,
        token: u64,
        rec: &mut Recorder,
        q: &mut DefaultEventSet<Ev>,
    ) {
        let t = &self.templates[template as usize];
        let rng = &mut self.build_rng[template as usize];
        let build_s = t.build_time_s.sample(rng).max(0.0);
        let fails = t.failure_probability > 0.0 && rng.random::<f64>() < t.failure_probability;
        self.enqueue(
            now,
            template,
            kind,
            token,
            build_s,
            fails,
            BuildKind::Start,
            rec,
            q,
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn enqueue(
        &mut self,
        now: SimTime,
        template: u32,
        kind: JobKind,
        token: u64,
        build_s: f64,
        fails: bool,
        build: BuildKind,
        rec: &mut Recorder,
        q: &mut DefaultEventSet<Ev>,
    ) {
        self.created += 1;
        rec.inc(self.ids.created, now);
        self.notes.push(JobNote::Created(build));
        let serial = self.created as u32;
        let job = Job {
            template,
            kind: build,
            created: now,
            build_s,
            fails,
            ticket: None,
            serial,
            token,
        };
        let id = self.jobs.insert(job) as u32;
        // A free daemon in the first compatible group (groups in declaration order).
        let g = (0..self.groups.len()).find(|&g| {
            !self.groups[g].free.is_empty() && self.groups[g].templates.contains(&template)
        });
        match g {
            Some(g) => {
                let d = self.groups[g].free.pop().expect("non-empty");
                self.start(now, d, id, rec, q);
            }
            None if self.n_waiting >= self.max_waiting => {
                self.rejected += 1;
                let j = self.take_job(id);
                rec.inc(self.ids.failed, now);
                self.finished.push(Finished {
                    token: j.token,
                    template,
                    end: JobEnd::Cancelled,
                    kind: j.kind,
                    group: None,
                    created: j.created,
                });
            }
            None => {
                let prio = if kind == JobKind::Human { 0 } else { 1 };
                let ticket = self.lines[template as usize].push(prio, now.0, id);
                self.jobs[id as usize].ticket = Some(ticket);
                self.n_waiting += 1;
                if let Some(to) = self.pending_timeout {
                    q.push(
                        now + to,
                        PRIO_RENEGE,
                        Ev::Prov(ProvEv::Renege { job: id, serial }),
                    );
                }
            }
        }
        self.update_gauges(now, rec);
    }

    fn start(
        &mut self,
        now: SimTime,
        daemon: u32,
        job: u32,
        rec: &mut Recorder,
        q: &mut DefaultEventSet<Ev>,
    ) {
        let j = &mut self.jobs[job as usize];
        j.ticket = None;
        let wait_s = now.saturating_sub(j.created).as_secs_f64();
        let run_s = if j.fails { j.build_s * 0.5 } else { j.build_s };
        rec.record(self.ids.wait, now, wait_s);
        rec.inc(self.ids.started, now);
        if now >= self.warmup {
            self.started_after_warmup += 1;
            if wait_s > 0.0 {
                self.waited_after_warmup += 1;
            }
        }
        let serial = j.serial;
        self.notes.push(JobNote::Acquired {
            group: self.daemons[daemon as usize].group,
            kind: j.kind,
        });
        self.daemons[daemon as usize].busy = Some(job);
        self.n_busy += 1;
        q.push(
            now + SimTime::from_secs_f64(run_s),
            PRIO_BUILD_DONE,
            Ev::Prov(ProvEv::BuildDone {
                daemon,
                job,
                serial,
            }),
        );
    }

    /// A daemon became free: exit if draining, else take the best waiting compatible job.
    fn release_daemon(
        &mut self,
        now: SimTime,
        daemon: u32,
        rec: &mut Recorder,
        q: &mut DefaultEventSet<Ev>,
    ) {
        let d = &mut self.daemons[daemon as usize];
        if d.draining || !d.alive {
            if d.alive {
                d.alive = false;
                self.n_alive -= 1;
                rec.set(self.ids.daemons, now, self.n_alive as f64);
            }
            return;
        }
        let g = d.group as usize;
        let best = self.groups[g]
            .templates
            .iter()
            .filter_map(|&t| self.lines[t as usize].peek().map(|(tk, _)| (*tk, t)))
            .min_by_key(|(tk, t)| (tk.priority(), tk.order(), *t));
        match best {
            Some((_, t)) => {
                let (_, job) = self.lines[t as usize].pop().expect("peeked");
                self.n_waiting -= 1;
                self.start(now, daemon, job, rec, q);
            }
            None => self.groups[g].free.push(daemon),
        }
    }

    fn update_gauges(&mut self, now: SimTime, rec: &mut Recorder) {
        rec.set(self.ids.qlen, now, self.n_waiting as f64);
        rec.set(self.ids.busy, now, self.n_busy as f64);
        let u = if self.n_alive == 0 {
            0.0
        } else {
            self.n_busy as f64 / self.n_alive as f64
        };
        rec.set(self.ids.util, now, u.min(1.0));
    }

    /// A new daemon group (a new replica's built-in daemons, or autoscaled
    /// external daemons); returns its index.
    pub fn add_group(&mut self, tags: std::collections::BTreeMap<String, String>) -> usize {
        let ts = self
            .templates
            .iter()
            .enumerate()
            .filter(|(_, t)| tags_match(&t.tags, &tags))
            .map(|(i, _)| i as u32)
            .collect();
        self.groups.push(Group {
            tags,
            free: Vec::new(),
            templates: ts,
        });
        self.groups.len() - 1
    }

    /// Add `n` daemons to group `g`; they take waiting jobs at once.
    pub fn add_daemons(
        &mut self,
        now: SimTime,
        g: usize,
        n: u32,
        rec: &mut Recorder,
        q: &mut DefaultEventSet<Ev>,
    ) {
        for _ in 0..n {
            let d = self.daemons.len() as u32;
            self.daemons.push(Daemon {
                group: g as u32,
                busy: None,
                alive: true,
                draining: false,
            });
            self.n_alive += 1;
            self.release_daemon(now, d, rec, q);
        }
        rec.set(self.ids.daemons, now, self.n_alive as f64);
        self.update_gauges(now, rec);
    }

    fn cancel_running(&mut self, now: SimTime, d: u32, rec: &mut Recorder) {
        if let Some(job) = self.daemons[d as usize].busy.take() {
            let j = self.take_job(job);
            self.n_busy -= 1;
            rec.inc(self.ids.cancelled, now);
            self.finished.push(Finished {
                token: j.token,
                template: j.template,
                end: JobEnd::Cancelled,
                kind: j.kind,
                group: Some(self.daemons[d as usize].group),
                created: j.created,
            });
        }
    }

    fn retire(&mut self, now: SimTime, d: u32, rec: &mut Recorder) {
        let dm = &mut self.daemons[d as usize];
        if dm.alive {
            dm.alive = false;
            self.n_alive -= 1;
            let g = dm.group as usize;
            self.groups[g].free.retain(|&x| x != d);
        }
        rec.set(self.ids.daemons, now, self.n_alive as f64);
    }

    /// Remove up to `n` daemons of the external groups, newest first.
    /// SIGHUP lets a busy daemon finish its build; SIGINT cancels it.
    /// Returns how many were removed or told to drain.
    pub fn remove_daemons(
        &mut self,
        now: SimTime,
        n: u32,
        sigint: bool,
        builtin_groups: &[usize],
        rec: &mut Recorder,
    ) -> u32 {
        let mut removed = 0;
        for d in (0..self.daemons.len() as u32).rev() {
            if removed == n {
                break;
            }
            let dm = &self.daemons[d as usize];
            if !dm.alive || dm.draining || builtin_groups.contains(&(dm.group as usize)) {
                continue;
            }
            removed += 1;
            if dm.busy.is_some() && !sigint {
                self.daemons[d as usize].draining = true;
            } else {
                self.cancel_running(now, d, rec);
                self.retire(now, d, rec);
            }
        }
        self.update_gauges(now, rec);
        removed
    }

    /// Every daemon of group `g` dies at once (its replica went away): running builds are cancelled.
    pub fn kill_group(&mut self, now: SimTime, g: usize, rec: &mut Recorder) {
        for d in 0..self.daemons.len() as u32 {
            if self.daemons[d as usize].group as usize == g && self.daemons[d as usize].alive {
                self.cancel_running(now, d, rec);
                self.retire(now, d, rec);
            }
        }
        self.update_gauges(now, rec);
    }

    /// External daemons alive and not draining (what an autoscaler counts).
    pub fn n_external_active(&self, builtin_groups: &[usize]) -> u32 {
        self.daemons
            .iter()
            .filter(|d| d.alive && !d.draining && !builtin_groups.contains(&(d.group as usize)))
            .count() as u32
    }

    /// The cap on waiting jobs beyond which new jobs are rejected.
    pub fn max_waiting_jobs(&self) -> usize {
        self.max_waiting
    }
    pub fn n_waiting(&self) -> usize {
        self.n_waiting
    }
    pub fn n_busy(&self) -> usize {
        self.n_busy
    }
    pub fn n_daemons(&self) -> usize {
        self.n_alive
    }
    /// Fraction of started jobs (after warm-up) that waited at all.
    pub fn wait_probability(&self) -> f64 {
        if self.started_after_warmup == 0 {
            0.0
        } else {
            self.waited_after_warmup as f64 / self.started_after_warmup as f64
        }
    }
    pub fn template_index(&self, name: &str) -> Option<u32> {
        self.templates
            .iter()
            .position(|t| t.name == name)
            .map(|i| i as u32)
    }
    /// Labels of template `t` (for per-template metrics by callers).
    pub fn template_labels(&self, t: u32) -> Labels {
        labels([("template", self.templates[t as usize].name.as_str())])
    }
    pub fn build_time_dist(&self, t: u32) -> &Dist {
        &self.templates[t as usize].build_time_s
    }
    pub fn group_tags(&self, g: usize) -> &std::collections::BTreeMap<String, String> {
        &self.groups[g].tags
    }
}
