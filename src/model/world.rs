//! The deployment world: coderd replicas, the database, proxies, users and
//! their connections, workspace agents, the build queue, autoscalers and
//! scheduled events, advanced event by event.
//!
//! This file holds the state machine: users and their sessions,
//! connections and the load balancer, replicas. The leaves live beside it:
//! `requests.rs` (the request pipeline through coderd and database CPU),
//! `agents.rs` (agents, their reports and coderd's write batchers),
//! `workspaces.rs` (workspace starts and stops as build jobs, cluster
//! capacity), `control.rs` (event dispatch, scheduled events, autoscalers,
//! phases), `ids.rs` (the metrics' handles) and `accounting.rs` (CPU
//! accounting and the end-of-run verdicts).
//!
//! # How a request is modelled
//!
//! An API request queues for its replica's CPU (processor sharing over the
//! replica's vCPUs, less the cores taken by relayed traffic and heartbeats),
//! then for the database's CPU (processor sharing over the database's vCPUs,
//! less heartbeat writes), and its latency is both sojourns plus one network
//! round trip per query. Long-lived connections are pinned to the replica
//! the load balancer chose when they opened; when that replica goes away
//! they drop and their clients reconnect with back-off.
//!
//! # Event priorities at equal times (lower first)
//!
//! CPU completions (0) before everything else, so a finishing request frees
//! its core before a simultaneous arrival; then build completions (10),
//! time-outs (20), arrivals and user actions (30), control loops (40).

use super::provisioner::{BuildKind, Finished, JobEnd, JobKind, JobNote, Provisioners};
use super::{Ev, Next};
use crate::engine::lock::FifoLock;
use crate::engine::metrics::{CounterId, GaugeId, HistId, Labels, RateId, SampleId, labels};
use crate::engine::ps::PsCpu;
use crate::engine::{DefaultEventSet, EventSet, Recorder, SimRng, SimTime, Streams, Timers};
use crate::result::Mark;
use crate::scenario::{
    Action, ConnKind, Costs, LoadBalancer, MetadataWritePath, Scenario, StopSignal, UserMode,
    WhenFull,
};
use agents::{Agent, AgentTimer, BatchSpec, Batcher};
use ids::{Ids, ReplicaIds};
use rand::RngExt;
use requests::{Request, RequestClass};
use slab::Slab;
use std::collections::VecDeque;

mod accounting;
mod agents;
mod control;
mod fleet;
mod ids;
mod nodes;
mod requests;
mod workspaces;

pub use accounting::{derive_node_hours, derive_success_ratio, derive_total_cpu};
pub use agents::Batch;
pub use requests::MAX_IN_SERVICE;

pub const PRIO_CPU: u8 = 0;
/// The database CPU's wake-up timer slot.
const DB_TIMER: usize = 0;
/// Replica `r`'s CPU wake-up timer slot is `CPU_TIMER0 + r`.
const CPU_TIMER0: usize = 1;
pub const PRIO_ACTION: u8 = 30;
pub const PRIO_CONTROL: u8 = 40;

/// No user, connection, replica, proxy or phase (ids are `u32` indices).
const NONE: u32 = u32::MAX;

/// Who holds a long-lived connection: a user, through one of the five
/// kinds, or a workspace agent (its API connection).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Client {
    User(ConnKind),
    Agent,
}

impl Client {
    /// Every client, in the order of their metrics (`kind` label).
    const ALL: [Client; 6] = [
        Client::User(ConnKind::Ssh),
        Client::User(ConnKind::Ide),
        Client::User(ConnKind::WebTerminal),
        Client::User(ConnKind::App),
        Client::User(ConnKind::Dashboard),
        Client::Agent,
    ];

    /// Position in [`Client::ALL`] (the user kinds in `ConnKind::ALL` order).
    fn index(self) -> usize {
        match self {
            Client::User(k) => k as usize,
            Client::Agent => 5,
        }
    }

    /// The `kind` label.
    fn name(self) -> &'static str {
        match self {
            Client::User(k) => k.name(),
            Client::Agent => "agent",
        }
    }
}

/// What dialling a long-lived connection came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dial {
    /// Open, with this id.
    Open(u32),
    /// No replica was ready to take it (the load balancer had no backend):
    /// the caller retries with back-off.
    NoReplica,
    /// It opened, but its load pushed its replica over its memory and the
    /// replica's loss closed it again at once; that loss has already
    /// scheduled the client's reconnect, so the caller does nothing more.
    DroppedAtOnce,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ws {
    Stopped,
    Starting,
    Running,
    Stopping,
}

#[derive(Clone, Debug)]
struct Slot {
    kind: ConnKind,
    conn: u32,
    bytes_per_s: f64,
    alive: bool,
    /// Paused for lunch.
    paused: bool,
    dropped_at: Option<SimTime>,
    epoch: u32,
    phase: u32,
}

struct User {
    group: u32,
    template: u32,
    p2p: bool,
    proxy: u32,
    ws: Ws,
    present: bool,
    /// (pool, node) its workspace is placed on (`NONE`: none).
    node: (u32, u32),
    wants_start: bool,
    epoch: u32,
    slots: Vec<Slot>,
    build_attempts: u32,
    autostart: bool,
    day_rng: SimRng,
    conn_rng: SimRng,
    /// The user's network stream (its agent's connection back-offs and
    /// timer phase, its clients' reconnect back-offs).
    net_rng: SimRng,
}

impl User {
    /// Set the workspace's state, keeping `eligible` (the world's count of
    /// stopped workspaces with an autostart schedule) up to date.
    #[inline]
    fn set_ws(&mut self, ws: Ws, eligible: &mut u32) {
        if self.autostart {
            *eligible =
                *eligible + u32::from(ws == Ws::Stopped) - u32::from(self.ws == Ws::Stopped);
        }
        self.ws = ws;
    }
}

#[derive(Clone, Debug)]
struct Conn {
    user: u32,
    client: Client,
    /// The user's slot (`NONE` for an agent).
    slot: u32,
    /// The replica it is pinned to (`NONE`: direct or through a proxy).
    replica: u32,
    proxy: u32,
    /// Its index in the replica's `pins`.
    pos: u32,
    bytes_per_s: f64,
    /// Distinguishes this connection from earlier ones in the same slab
    /// slot: timers of a closed connection are ignored.
    epoch: u32,
}

struct Replica {
    alive: bool,
    ready: bool,
    /// Scheduled to come up (restart or scale-up).
    starting: bool,
    epoch: u32,
    vcpu: f64,
    cpu: PsCpu,
    relay_cores: f64,
    n_agents: u32,
    pins: Vec<u32>,
    websockets: f64,
    /// coderd's write batchers, indexed by [`Batch`].
    batchers: [Batcher; 2],
    builtin_group: Option<usize>,
    busy_mark_core_s: f64,
    /// CPU work of the requests this replica finished, core-seconds, whole run.
    cpu_work_done_s: f64,
    /// Busy core-seconds of earlier incarnations (before a restart), whole run.
    cpu_busy_before_s: f64,
    /// Busy plus background core-seconds of earlier incarnations, whole run.
    cpu_used_before_s: f64,
    /// Used core-seconds at the last bucket boundary.
    used_mark_core_s: f64,
    /// Alive at some time in the open bucket: otherwise its utilisation for
    /// the bucket is absent (NaN), not 0%, so a removed replica's series
    /// stops instead of dragging means and plots down.
    up_in_bucket: bool,
    ids: ReplicaIds,
}

pub struct World<'s> {
    s: &'s Scenario,
    pub q: DefaultEventSet<Ev>,
    /// The processor-sharing CPUs' wake-ups, one slot each: slot
    /// [`DB_TIMER`] the database, `CPU_TIMER0 + r` replica `r` (see
    /// [`crate::engine::Timers`]; [`World::next_event`] merges them with `q`).
    pub timers: Timers,
    pub rec: Recorder,
    pub prov: Provisioners,
    /// The model's parameters, resolved with the scenario: a shared
    /// reference, so a handler holds them while it mutates the world.
    costs: &'s Costs,
    /// The agents' timer, derived once from the scenario and the costs.
    timer: AgentTimer,
    /// The batchers' flush rules and write costs, indexed by [`Batch`].
    batches: [BatchSpec; 2],
    replicas: Vec<Replica>,
    db: PsCpu,
    db_vcpu: f64,
    db_bg_cores: f64,
    db_outage_depth: u32,
    db_used_mark_core_s: f64,
    /// The database's CPU utilisation, smoothed over about 10 s (the
    /// activity bump's commit wait grows with it).
    db_rho: f64,
    db_rho_mark_core_s: f64,
    /// The activity bumps' write path: one holder at a time, in arrival order.
    bump_lock: FifoLock<u32>,
    /// Running builds by daemon group, weighted (a stop counts
    /// `stop_build_cost_ratio`), and their sums: all, and external daemons'.
    build_load: Vec<f64>,
    build_load_all: f64,
    build_load_ext: f64,
    proxies: Vec<(f64, f64, GaugeId)>,
    users: Vec<User>,
    agents: Vec<Agent>,
    conns: Slab<Conn>,
    /// The epoch of the last connection opened.
    conn_epoch: u32,
    requests: Slab<Request>,
    /// One database round trip, s (`db_rtt_ms / 1e3`, divided once: a
    /// finished request adds one per query to its latency).
    db_rtt_s: f64,
    n_connected_agents: u32,
    n_active: [f64; 6],
    rr: usize,
    rr_http: usize,
    spike_factor: f64,
    spike_depth: u32,
    ws_running: u32,
    /// Users with an autostart schedule whose workspace is stopped (the
    /// autobuild executor's eligible workspaces), kept by [`User::set_ws`]
    /// so that its tick does not walk every user.
    autobuild_eligible: u32,
    ws_reserved: u32,
    nodes: u32,
    nodes_pending: u32,
    cap_waiters: VecDeque<u32>,
    /// Node pools and their autoscaler (`None`: the deployment has none).
    node_pools: Option<nodes::Nodes>,
    hpa_history: VecDeque<(SimTime, u32)>,
    last_scale: Option<SimTime>,
    pending_replicas: u32,
    prov_pending: u32,
    ext_group: Option<usize>,
    phase_users: Vec<Vec<(u32, u32)>>,
    ids: Ids,
    pub marks: Vec<Mark>,
    pub notes: Vec<String>,
    pub rejected_requests: u64,
}

fn backoff_s(rng: &mut SimRng, attempt: u32, min_s: f64, max_s: f64) -> f64 {
    let base = (min_s * 2f64.powi(attempt.min(30) as i32)).min(max_s);
    base * rng.random_range(0.8..1.2)
}

impl<'s> World<'s> {
    pub fn new(s: &'s Scenario, streams: &Streams) -> World<'s> {
        let mut rec = Recorder::new(s.warmup, s.bucket, s.duration);
        let mut q = DefaultEventSet::new();
        let prov = Provisioners::new(s, streams, &mut rec, &mut q);
        let ids = Ids::register(&mut rec, s);
        let batches = BatchSpec::of(&s.costs);
        let node_pools = nodes::Nodes::new(s, streams, &mut rec);
        let db_vcpu = s.deployment.database.vcpu;
        let proxies = s
            .deployment
            .proxies
            .iter()
            .zip(&ids.proxy_util)
            .map(|(p, g)| (p.vcpu, 0.0, *g))
            .collect();
        let cluster_nodes = s.deployment.cluster.as_ref().map_or(0, |c| c.n_nodes);
        let mut w = World {
            s,
            q,
            timers: Timers::new(),
            rec,
            prov,
            timer: AgentTimer::new(
                &s.workload.agents,
                &s.costs,
                &batches[Batch::Metadata as usize],
            ),
            batches,
            costs: &s.costs,
            replicas: Vec::new(),
            db: PsCpu::new(db_vcpu),
            db_vcpu,
            db_bg_cores: 0.0,
            db_outage_depth: 0,
            db_used_mark_core_s: 0.0,
            db_rho: 0.0,
            db_rho_mark_core_s: 0.0,
            bump_lock: FifoLock::new(),
            build_load: Vec::new(),
            build_load_all: 0.0,
            build_load_ext: 0.0,
            proxies,
            users: Vec::new(),
            agents: Vec::new(),
            conns: Slab::new(),
            conn_epoch: 0,
            requests: Slab::new(),
            db_rtt_s: s.costs.db_rtt_ms / 1e3,
            n_connected_agents: 0,
            n_active: [0.0; 6],
            rr: 0,
            rr_http: 0,
            spike_factor: 1.0,
            spike_depth: 0,
            ws_running: 0,
            autobuild_eligible: 0,
            ws_reserved: 0,
            nodes: cluster_nodes,
            nodes_pending: 0,
            cap_waiters: VecDeque::new(),
            node_pools,
            hpa_history: VecDeque::new(),
            last_scale: None,
            pending_replicas: 0,
            prov_pending: 0,
            ext_group: if s.deployment.provisioner_groups.is_empty() {
                None
            } else {
                Some(0)
            },
            phase_users: vec![Vec::new(); s.workload.phases.len()],
            ids,
            marks: Vec::new(),
            notes: Vec::new(),
            rejected_requests: 0,
        };
        // Replicas: their built-in provisioner groups follow the external groups.
        let n_ext = s.deployment.provisioner_groups.len();
        for i in 0..s.deployment.coderd.n_replicas as usize {
            w.new_replica_slot(Some(n_ext + i));
        }
        for i in 0..w.replicas.len() {
            w.replicas[i].alive = true;
            w.replicas[i].ready = true;
            w.refresh_capacity(SimTime::ZERO, i);
        }
        w.rec
            .set(w.ids.replicas, SimTime::ZERO, w.replicas.len() as f64);
        w.set_available(SimTime::ZERO);
        w.setup_users(streams);
        if w.node_pools.is_some() {
            let running: Vec<u32> = (0..w.users.len() as u32)
                .filter(|&u| w.users[u as usize].ws == Ws::Running)
                .collect();
            w.start_pools(&running);
        }
        for (i, e) in s.events.iter().enumerate() {
            w.q.push(e.at, PRIO_CONTROL, Ev::Scheduled { idx: i as u32 });
        }
        for (i, p) in s.workload.phases.iter().enumerate() {
            w.q.push(p.start, PRIO_ACTION, Ev::PhaseStart { idx: i as u32 });
            w.q.push(p.end, PRIO_ACTION - 1, Ev::PhaseEnd { idx: i as u32 });
        }
        if let Some(a) = &s.autoscaling.coderd {
            w.q.push(a.sync_period, PRIO_CONTROL, Ev::Hpa);
        }
        if let Some(a) = &s.autoscaling.provisioners {
            w.q.push(a.interval, PRIO_CONTROL, Ev::ProvScale);
        }
        if !w.replicas.is_empty() {
            w.q.push(SimTime::SECOND, PRIO_CONTROL, Ev::Fluid);
            w.schedule_fleet_work();
        }
        w
    }

    fn new_replica_slot(&mut self, builtin_group: Option<usize>) -> usize {
        let i = self.replicas.len();
        let vcpu = self.s.deployment.coderd.vcpu_per_replica;
        self.replicas.push(Replica {
            alive: false,
            ready: false,
            starting: false,
            epoch: 0,
            vcpu,
            cpu: PsCpu::new(vcpu),
            relay_cores: 0.0,
            n_agents: 0,
            pins: Vec::new(),
            websockets: 0.0,
            batchers: Default::default(),
            builtin_group,
            busy_mark_core_s: 0.0,
            cpu_work_done_s: 0.0,
            cpu_busy_before_s: 0.0,
            cpu_used_before_s: 0.0,
            used_mark_core_s: 0.0,
            up_in_bucket: false,
            ids: ReplicaIds::register(&mut self.rec, i),
        });
        i
    }

    // ----- users ---------------------------------------------------------

    fn setup_users(&mut self, streams: &Streams) {
        let s = self.s;
        let Some(u) = &s.workload.users else { return };
        let n = u.n_users as usize;
        // Deterministic assignment by index: group, template and proxy by cumulative shares.
        let pick = |shares: &[f64], x: f64| -> usize {
            let mut acc = 0.0;
            for (i, sh) in shares.iter().enumerate() {
                acc += sh;
                if x < acc {
                    return i;
                }
            }
            shares.len().saturating_sub(1)
        };
        let gshares: Vec<f64> = u.groups.iter().map(|g| g.share).collect();
        let tshares: Vec<f64> = s.workload.templates.iter().map(|t| t.user_share).collect();
        for i in 0..n {
            let frac = (i as f64 + 0.5) / n as f64;
            let mut attr = streams.stream("user/attributes", i as u64);
            let p2p = attr.random::<f64>() < u.p2p_fraction;
            let autostart = attr.random::<f64>() < u.autostart_fraction;
            let mut acc = 0.0;
            let mut proxy = NONE;
            for (pi, p) in s.deployment.proxies.iter().enumerate() {
                acc += p.user_share;
                if frac < acc {
                    proxy = pi as u32;
                    break;
                }
            }
            self.users.push(User {
                group: pick(&gshares, frac) as u32,
                template: pick(&tshares, attr.random::<f64>()) as u32,
                p2p,
                proxy,
                ws: Ws::Stopped,
                present: false,
                node: (NONE, NONE),
                wants_start: false,
                epoch: 0,
                slots: Vec::new(),
                build_attempts: 0,
                autostart,
                day_rng: streams.stream("user/day", i as u64),
                conn_rng: streams.stream("user/conn", i as u64),
                net_rng: streams.stream("user/net", i as u64),
            });
            self.autobuild_eligible += u32::from(autostart);
            self.agents
                .push(Agent::new(streams.small_stream("agent/lag", i as u64)));
        }
        if u.workspaces_running_at_start {
            for i in 0..n {
                self.users[i].set_ws(Ws::Running, &mut self.autobuild_eligible);
                self.ws_running += 1;
                let delay = SimTime::from_secs_f64(self.users[i].net_rng.random_range(0.0..10.0));
                let e = self.agents[i].epoch;
                self.q.push(
                    delay,
                    PRIO_ACTION,
                    Ev::AgentConnect {
                        user: i as u32,
                        epoch: e,
                    },
                );
            }
            self.rec
                .set(self.ids.workspaces, SimTime::ZERO, self.ws_running as f64);
        }
        match u.mode {
            UserMode::Steady => {
                let n_active = ((n as f64) * u.active_fraction).round() as usize;
                for i in 0..n_active {
                    let t = SimTime::from_secs_f64(self.users[i].day_rng.random_range(0.0..60.0));
                    self.q.push(
                        t,
                        PRIO_ACTION,
                        Ev::UserArrive {
                            user: i as u32,
                            day: 0,
                        },
                    );
                }
            }
            UserMode::Calendar => {
                self.q
                    .push(SimTime::ZERO, PRIO_CONTROL, Ev::DayPlan { day: 0 });
            }
        }
    }

    fn day_midnight(&self, day: u32) -> f64 {
        day as f64 * 86_400.0 - self.s.start_time_of_day.as_secs_f64()
    }

    fn plan_day(&mut self, now: SimTime, day: u32) {
        let s = self.s;
        let u = s.workload.users.as_ref().expect("calendar needs users");
        let midnight = self.day_midnight(day);
        let end_s = s.duration.as_secs_f64();
        if midnight > end_s {
            return;
        }
        for i in 0..self.users.len() {
            let g = &u.groups[self.users[i].group as usize];
            let local_midnight = midnight - g.offset_s;
            let weekday = (u.start_weekday + day + ((-g.offset_s).max(0.0) / 86_400.0) as u32) % 7;
            let frac = if weekday >= 5 {
                u.weekend_active_fraction
            } else {
                u.active_fraction
            };
            let usr = &mut self.users[i];
            let active = usr.day_rng.random::<f64>() < frac;
            let start = local_midnight + g.day_start_s.sample(&mut usr.day_rng);
            let length = g.session_length_s.sample(&mut usr.day_rng).max(60.0);
            if usr.autostart && weekday < 5 {
                // Coder's autobuild runs once a minute (timing constants: autobuild poll interval 1m):
                // every schedule due in that minute starts together.
                let at = local_midnight + u.autostart_time_s;
                if at >= now.as_secs_f64() && at < end_s {
                    self.q.push(
                        SimTime::from_secs_f64(at),
                        PRIO_ACTION,
                        Ev::Autostart { user: i as u32 },
                    );
                }
            }
            if active && start + length > now.as_secs_f64() && start < end_s {
                let at = SimTime::from_secs_f64(start.max(now.as_secs_f64()));
                self.q.push(
                    at,
                    PRIO_ACTION,
                    Ev::UserArrive {
                        user: i as u32,
                        day,
                    },
                );
                let leave = SimTime::from_secs_f64(start + length);
                let lunch = self.users[i].day_rng.random::<f64>() < g.lunch_fraction;
                let lunch_at = local_midnight + g.lunch_start_s.sample(&mut self.users[i].day_rng);
                let lunch_len = g.lunch_length_s.sample(&mut self.users[i].day_rng);
                self.q.push(
                    leave,
                    PRIO_ACTION,
                    Ev::UserLeave {
                        user: i as u32,
                        day,
                    },
                );
                if lunch
                    && lunch_at > start
                    && lunch_at + lunch_len < start + length
                    && lunch_at > now.as_secs_f64()
                {
                    self.q.push(
                        SimTime::from_secs_f64(lunch_at),
                        PRIO_ACTION,
                        Ev::Lunch {
                            user: i as u32,
                            day,
                            back: false,
                        },
                    );
                    self.q.push(
                        SimTime::from_secs_f64(lunch_at + lunch_len),
                        PRIO_ACTION,
                        Ev::Lunch {
                            user: i as u32,
                            day,
                            back: true,
                        },
                    );
                }
            }
        }
        let next = self.day_midnight(day + 1) - 6.0 * 3600.0;
        if next < end_s {
            self.q.push(
                SimTime::from_secs_f64(next.max(now.as_secs_f64())),
                PRIO_CONTROL,
                Ev::DayPlan { day: day + 1 },
            );
        }
    }

    fn user_arrive(&mut self, now: SimTime, user: u32) {
        let u = &mut self.users[user as usize];
        if u.present {
            return;
        }
        u.present = true;
        self.rec.inc(self.ids.sessions, now);
        u.epoch += 1;
        u.build_attempts = 0;
        self.rec.shift(self.ids.users_present, now, 1.0);
        self.ws_presence_changed(now, user);
        let u = &mut self.users[user as usize];
        match u.ws {
            Ws::Running => self.open_session(now, user),
            Ws::Stopped => self.request_start(now, user),
            Ws::Starting => {}
            Ws::Stopping => u.wants_start = true,
        }
    }

    fn user_leave(&mut self, now: SimTime, user: u32) {
        let u = &mut self.users[user as usize];
        if !u.present {
            return;
        }
        u.present = false;
        u.epoch += 1;
        u.wants_start = false;
        let epoch = u.epoch;
        self.rec.shift(self.ids.users_present, now, -1.0);
        self.ws_presence_changed(now, user);
        let slots: Vec<u32> = (0..self.users[user as usize].slots.len() as u32).collect();
        for sl in slots {
            self.close_slot(now, user, sl);
        }
        self.users[user as usize].slots.retain(|s| s.phase != NONE);
        if let Some(after) = self
            .s
            .workload
            .users
            .as_ref()
            .and_then(|u| u.autostop_after)
        {
            self.q
                .push(now + after, PRIO_ACTION, Ev::Autostop { user, epoch });
        }
    }

    /// Open the user's connection slots (their workspace is running).
    fn open_session(&mut self, now: SimTime, user: u32) {
        let s = self.s;
        if !s.workload.phases.is_empty() {
            return; // scale-test phases open every connection
        }
        let epoch = self.users[user as usize].epoch;
        for spec in &s.workload.connections {
            let u = &mut self.users[user as usize];
            let n = spec.per_user.floor() as u32
                + u32::from(u.conn_rng.random::<f64>() < spec.per_user.fract());
            for _ in 0..n {
                let sl = u.slots.len() as u32;
                u.slots.push(Slot {
                    kind: spec.kind,
                    conn: NONE,
                    bytes_per_s: spec.bytes_per_s,
                    alive: true,
                    paused: false,
                    dropped_at: None,
                    epoch,
                    phase: NONE,
                });
                let delay = SimTime::from_secs_f64(u.conn_rng.random_range(0.0..60.0));
                self.q.push(
                    now + delay,
                    PRIO_ACTION,
                    Ev::SlotOpen {
                        user,
                        slot: sl,
                        epoch,
                    },
                );
            }
        }
    }

    fn lunch(&mut self, now: SimTime, user: u32, back: bool) {
        if !self.users[user as usize].present {
            return;
        }
        let n = self.users[user as usize].slots.len();
        for sl in 0..n {
            let slot = &self.users[user as usize].slots[sl];
            let k = slot.kind;
            if !slot.alive || !(k == ConnKind::Dashboard || k == ConnKind::WebTerminal) {
                continue;
            }
            if back {
                let slot = &mut self.users[user as usize].slots[sl];
                if slot.paused {
                    slot.paused = false;
                    let epoch = slot.epoch;
                    self.q.push(
                        now,
                        PRIO_ACTION,
                        Ev::SlotOpen {
                            user,
                            slot: sl as u32,
                            epoch,
                        },
                    );
                }
            } else {
                self.close_conn_of_slot(now, user, sl as u32);
                self.users[user as usize].slots[sl].paused = true;
            }
        }
    }

    fn slot_open(&mut self, now: SimTime, user: u32, sl: u32, epoch: u32) {
        let u = &self.users[user as usize];
        let Some(slot) = u.slots.get(sl as usize) else {
            return;
        };
        if !slot.alive || slot.paused || slot.epoch != epoch || slot.conn != NONE {
            return;
        }
        if slot.phase == NONE && (!u.present || u.ws != Ws::Running) {
            return;
        }
        let kind = slot.kind;
        let bytes = slot.bytes_per_s;
        let c = match self.open_conn(now, user, Client::User(kind), sl, bytes) {
            Dial::Open(c) => c,
            // No replica to take it: try again with back-off.
            Dial::NoReplica => return self.schedule_reconnect(now, user, sl, 0),
            Dial::DroppedAtOnce => return,
        };
        self.set_slot_conn(user, sl, c);
        let spec = &self.s.workload.connections[kind as usize];
        if let Some(d) = &spec.duration_s
            && self.users[user as usize].slots[sl as usize].phase == NONE
        {
            let len = d.sample(&mut self.users[user as usize].conn_rng);
            let e = self.conns[c as usize].epoch;
            self.q.push(
                now + SimTime::from_secs_f64(len),
                PRIO_ACTION,
                Ev::ConnEnd { conn: c, epoch: e },
            );
        }
        if kind == ConnKind::Dashboard {
            self.schedule_action(now, c);
        }
    }

    fn schedule_action(&mut self, now: SimTime, c: u32) {
        let user = self.conns[c as usize].user;
        let spec = &self.s.workload.connections[ConnKind::Dashboard as usize];
        let gap = spec
            .action_interval_s
            .sample(&mut self.users[user as usize].conn_rng)
            / self.spike_factor;
        let e = self.conns[c as usize].epoch;
        self.q.push(
            now + SimTime::from_secs_f64(gap.max(0.001)),
            PRIO_ACTION,
            Ev::DashAction { conn: c, epoch: e },
        );
    }

    fn dash_action(&mut self, now: SimTime, c: u32, epoch: u32) {
        let Some(cn) = self.conns.get(c as usize).filter(|cn| cn.epoch == epoch) else {
            return; // closed
        };
        let spec = &self.s.workload.connections[ConnKind::Dashboard as usize];
        let user = cn.user as usize;
        let n = spec.requests_per_action.floor() as u32
            + u32::from(
                self.users[user].conn_rng.random::<f64>() < spec.requests_per_action.fract(),
            );
        let (cpu, q) = {
            let k = self.costs;
            (
                k.coderd_cpu_ms_dashboard_request,
                k.db_queries_dashboard_request,
            )
        };
        for _ in 0..n {
            if let Some(r) = self.http_replica() {
                let read = self.costs.db_cpu_ms_read_query;
                self.start_request(now, RequestClass::Dashboard, r, cpu, q, q * read, 0.0);
            } else {
                self.api_error(now, RequestClass::Dashboard);
            }
        }
        self.schedule_action(now, c);
    }

    fn conn_end(&mut self, now: SimTime, c: u32, epoch: u32) {
        let Some(cn) = self.conns.get(c as usize).filter(|cn| cn.epoch == epoch) else {
            return; // closed
        };
        let (user, sl) = (cn.user, cn.slot);
        self.close_conn(now, c, false);
        self.set_slot_conn(user, sl, NONE);
        let slot = &self.users[user as usize].slots[sl as usize];
        let (e, kind) = (slot.epoch, slot.kind);
        let spec = &self.s.workload.connections[kind as usize];
        let gap = spec.gap_s.sample(&mut self.users[user as usize].conn_rng);
        self.q.push(
            now + SimTime::from_secs_f64(gap),
            PRIO_ACTION,
            Ev::SlotOpen {
                user,
                slot: sl,
                epoch: e,
            },
        );
    }

    /// Slot `sl` of `user` holds connection `c` (`NONE`: none), and the
    /// user's count of open sessions (`Agent::sessions`) follows.
    fn set_slot_conn(&mut self, user: u32, sl: u32, c: u32) {
        let slot = &mut self.users[user as usize].slots[sl as usize];
        let was = slot.conn != NONE;
        slot.conn = c;
        if slot.kind != ConnKind::Dashboard {
            let n = &mut self.agents[user as usize].sessions;
            match (was, c != NONE) {
                (false, true) => *n += 1,
                (true, false) => *n -= 1,
                _ => {}
            }
        }
        debug_assert_eq!(
            self.agents[user as usize].sessions as usize,
            self.users[user as usize]
                .slots
                .iter()
                .filter(|s| s.conn != NONE && s.kind != ConnKind::Dashboard)
                .count()
        );
    }

    fn close_conn_of_slot(&mut self, now: SimTime, user: u32, sl: u32) {
        let c = self.users[user as usize].slots[sl as usize].conn;
        if c != NONE {
            self.close_conn(now, c, false);
            self.set_slot_conn(user, sl, NONE);
        }
    }

    fn close_slot(&mut self, now: SimTime, user: u32, sl: u32) {
        self.close_conn_of_slot(now, user, sl);
        let slot = &mut self.users[user as usize].slots[sl as usize];
        slot.alive = false;
        slot.epoch = slot.epoch.wrapping_add(1);
    }

    // ----- connections --------------------------------------------------

    /// A replica for a new long-lived connection, by the load balancer's rule.
    fn lb_pick(&mut self) -> Option<u32> {
        let ready: Vec<usize> = (0..self.replicas.len())
            .filter(|&i| self.replicas[i].ready)
            .collect();
        if ready.is_empty() {
            return None;
        }
        let i = match self.s.deployment.coderd.load_balancer {
            LoadBalancer::RoundRobin => {
                self.rr = self.rr.wrapping_add(1);
                ready[self.rr % ready.len()]
            }
            LoadBalancer::LeastConnections => *ready
                .iter()
                .min_by_key(|&&i| (self.replicas[i].pins.len(), i))
                .expect("non-empty"),
        };
        Some(i as u32)
    }

    /// A replica for one HTTP request (round robin over ready replicas).
    fn http_replica(&mut self) -> Option<u32> {
        let n = self.replicas.len();
        for _ in 0..n {
            self.rr_http = (self.rr_http + 1) % n;
            if self.replicas[self.rr_http].ready {
                return Some(self.rr_http as u32);
            }
        }
        None
    }

    /// Open a connection for `client` of `user`. The caller owns what
    /// follows each outcome except [`Dial::DroppedAtOnce`], which the
    /// replica's loss has already handled (the client's reconnect is
    /// scheduled).
    fn open_conn(
        &mut self,
        now: SimTime,
        user: u32,
        client: Client,
        slot: u32,
        bytes_per_s: f64,
    ) -> Dial {
        let (p2p, proxy) = match client {
            Client::Agent => (false, NONE),
            Client::User(kind) => {
                let u = &self.users[user as usize];
                (
                    u.p2p && kind.can_be_direct(),
                    if kind == ConnKind::Dashboard {
                        NONE
                    } else {
                        u.proxy
                    },
                )
            }
        };
        // Coordination / websocket upgrade goes to coderd in every case. With
        // no replica ready the dial fails (the load balancer has no backend):
        // one lost API request, an agent's of class `agent` (its API
        // connection), a user's of class `connect`; the caller retries with
        // back-off.
        let Some(r) = self.lb_pick() else {
            let class = match client {
                Client::Agent => RequestClass::Agent,
                Client::User(_) => RequestClass::Connect,
            };
            self.api_error(now, class);
            return Dial::NoReplica;
        };
        let pinned = !p2p && proxy == NONE;
        self.conn_epoch = self.conn_epoch.wrapping_add(1);
        let c = self.conns.insert(Conn {
            user,
            client,
            slot,
            replica: if pinned { r } else { NONE },
            proxy: if p2p { NONE } else { proxy },
            pos: 0,
            bytes_per_s,
            epoch: self.conn_epoch,
        }) as u32;
        let (cpu, q, read) = {
            let k = self.costs;
            (
                k.coderd_cpu_ms_connect,
                k.db_queries_connect,
                k.db_cpu_ms_read_query,
            )
        };
        self.start_request(now, RequestClass::Connect, r, cpu, q, q * read, 0.0);
        if pinned {
            let ws = self.websockets_of(client);
            let rep = &mut self.replicas[r as usize];
            self.conns[c as usize].pos = rep.pins.len() as u32;
            rep.pins.push(c);
            if client == Client::Agent {
                rep.n_agents += 1;
            }
            rep.websockets += ws;
            let mb = bytes_per_s / 1e6;
            let k = self.costs.coderd_cpu_ms_per_relayed_mb;
            self.replicas[r as usize].relay_cores += mb * k / 1e3;
            self.refresh_capacity(now, r as usize);
        } else if !p2p && proxy != NONE {
            let k = self.costs.proxy_cpu_ms_per_relayed_mb;
            self.proxies[proxy as usize].1 += bytes_per_s / 1e6 * k / 1e3;
            self.update_proxy_gauge(now, proxy as usize);
        }
        let i = client.index();
        self.n_active[i] += 1.0;
        self.rec.set(self.ids.active[i], now, self.n_active[i]);
        self.rec.inc(self.ids.opened[i], now);
        self.update_ws_gauge(now);
        if pinned {
            // Last, once the connection is fully counted: the new load can
            // push the replica over its memory, and its loss closes this
            // connection with the others and schedules the client's
            // reconnect.
            let epoch = self.conn_epoch;
            self.check_memory(now, r as usize);
            if self
                .conns
                .get(c as usize)
                .is_none_or(|cn| cn.epoch != epoch)
            {
                return Dial::DroppedAtOnce;
            }
        }
        Dial::Open(c)
    }

    fn websockets_of(&self, client: Client) -> f64 {
        if client == Client::User(ConnKind::Dashboard) {
            self.s.workload.connections[ConnKind::Dashboard as usize].websockets as f64
        } else {
            1.0
        }
    }

    /// Close (or, with `dropped`, lose) connection `c`; what it was, or
    /// `None` if it was closed already.
    fn close_conn(&mut self, now: SimTime, c: u32, dropped: bool) -> Option<Conn> {
        let cn = self.conns.try_remove(c as usize)?;
        if cn.replica != NONE {
            let r = cn.replica as usize;
            if !dropped {
                // Swap-remove from the replica's pin list.
                let rep = &mut self.replicas[r];
                let pos = cn.pos as usize;
                let last = *rep.pins.last().expect("pinned");
                rep.pins.swap_remove(pos);
                if last != c {
                    self.conns[last as usize].pos = pos as u32;
                }
            }
            let ws = self.websockets_of(cn.client);
            let k = self.costs.coderd_cpu_ms_per_relayed_mb;
            let rep = &mut self.replicas[r];
            rep.websockets -= ws;
            rep.relay_cores = (rep.relay_cores - cn.bytes_per_s / 1e6 * k / 1e3).max(0.0);
            if cn.client == Client::Agent {
                rep.n_agents -= 1;
            }
            if rep.pins.is_empty() {
                rep.relay_cores = 0.0;
                rep.websockets = 0.0;
            }
            if !dropped {
                self.refresh_capacity(now, r);
            }
        } else if cn.proxy != NONE {
            let k = self.costs.proxy_cpu_ms_per_relayed_mb;
            let p = &mut self.proxies[cn.proxy as usize];
            p.1 = (p.1 - cn.bytes_per_s / 1e6 * k / 1e3).max(0.0);
            self.update_proxy_gauge(now, cn.proxy as usize);
        }
        let i = cn.client.index();
        self.n_active[i] -= 1.0;
        self.rec.set(self.ids.active[i], now, self.n_active[i]);
        if dropped {
            self.rec.inc(self.ids.dropped[i], now);
        } else {
            self.rec.inc(self.ids.closed[i], now);
        }
        self.update_ws_gauge(now);
        Some(cn)
    }

    fn schedule_reconnect(&mut self, now: SimTime, user: u32, sl: u32, attempt: u32) {
        let (lo, hi) = {
            let k = self.costs;
            (k.client_reconnect_min_s, k.client_reconnect_max_s)
        };
        let d = backoff_s(&mut self.users[user as usize].net_rng, attempt, lo, hi);
        let epoch = self.users[user as usize].slots[sl as usize].epoch;
        self.q.push(
            now + SimTime::from_secs_f64(d),
            PRIO_ACTION,
            Ev::Reconnect {
                user,
                slot: sl,
                epoch,
                attempt,
            },
        );
    }

    fn reconnect(&mut self, now: SimTime, user: u32, sl: u32, epoch: u32, attempt: u32) {
        let u = &self.users[user as usize];
        let Some(slot) = u.slots.get(sl as usize) else {
            return;
        };
        if !slot.alive || slot.epoch != epoch || slot.conn != NONE || slot.paused {
            return;
        }
        let (kind, bytes) = (slot.kind, slot.bytes_per_s);
        match self.open_conn(now, user, Client::User(kind), sl, bytes) {
            Dial::Open(c) => {
                self.rec
                    .inc(self.ids.reconnects[Client::User(kind).index()], now);
                self.set_slot_conn(user, sl, c);
                let slot = &mut self.users[user as usize].slots[sl as usize];
                if let Some(t) = slot.dropped_at.take()
                    && kind == ConnKind::WebTerminal
                    && (now - t).as_secs_f64() > self.costs.pty_reattach_timeout_s
                {
                    self.interrupt(now, kind);
                }
                if kind == ConnKind::Dashboard {
                    self.schedule_action(now, c);
                }
            }
            Dial::NoReplica => self.schedule_reconnect(now, user, sl, attempt + 1),
            Dial::DroppedAtOnce => {}
        }
    }

    /// A user lost a session on a connection of `kind`.
    fn interrupt(&mut self, now: SimTime, kind: ConnKind) {
        self.rec.inc(self.ids.interruptions, now);
        if let Some(&id) = self.ids.interruptions_kind.get(kind as usize) {
            self.rec.inc(id, now);
        }
    }

    fn check_memory(&mut self, now: SimTime, r: usize) {
        let k = self.costs;
        let rep = &self.replicas[r];
        // `websockets` counts one per agent connection plus each user connection's websockets.
        let user_ws = (rep.websockets - rep.n_agents as f64).max(0.0);
        let mb = k.coderd_ram_base_mb
            + k.coderd_ram_mb_per_agent * rep.n_agents as f64
            + k.coderd_ram_mb_per_connection * user_ws;
        let bytes = mb * 1e6;
        let (gm, gc, n) = (rep.ids.mem, rep.ids.conns, rep.pins.len());
        self.rec.set(gm, now, bytes);
        self.rec.set(gc, now, n as f64);
        if bytes > self.s.deployment.coderd.ram_bytes_per_replica {
            self.marks.push(Mark {
                t_s: now.as_secs_f64(),
                kind: "replica-loss".into(),
                label: format!("replica {r} out of memory"),
            });
            self.notes.push(format!(
                "coderd replica {r} ran out of memory at {:.0} s and was restarted",
                now.as_secs_f64()
            ));
            self.kill_replica(now, r, true);
        }
    }

    fn update_proxy_gauge(&mut self, now: SimTime, p: usize) {
        let (vcpu, used, g) = self.proxies[p];
        self.rec.set(g, now, (used / vcpu).min(1.0));
    }

    fn update_ws_gauge(&mut self, now: SimTime) {
        let ws: f64 = self
            .replicas
            .iter()
            .filter(|r| r.alive)
            .map(|r| r.websockets)
            .sum();
        self.rec.set(self.ids.websockets, now, ws);
    }

    // ----- replicas: loss, scaling, autoscaling ----------------------------

    /// Replica `r` goes away: every connection pinned to it drops, its
    /// in-flight requests fail, its built-in provisioners' builds are cancelled.
    fn kill_replica(&mut self, now: SimTime, r: usize, restart: bool) {
        if !self.replicas[r].alive {
            return;
        }
        {
            let rep = &mut self.replicas[r];
            rep.alive = false;
            rep.ready = false;
            rep.epoch = rep.epoch.wrapping_add(1);
            // What the batchers held is lost, and their flushes are stale.
            rep.batchers = Default::default();
        }
        self.fail_requests_of(now, r);
        let pins = std::mem::take(&mut self.replicas[r].pins);
        for c in pins {
            let cn = self
                .close_conn(now, c, true)
                .expect("pinned connections are open");
            let (user, sl) = (cn.user, cn.slot);
            match cn.client {
                Client::Agent => self.agent_dropped(now, user),
                Client::User(kind) => {
                    match kind {
                        ConnKind::Ssh | ConnKind::Ide | ConnKind::App => self.interrupt(now, kind),
                        ConnKind::WebTerminal => {
                            self.users[user as usize].slots[sl as usize].dropped_at = Some(now)
                        }
                        ConnKind::Dashboard => {}
                    }
                    self.set_slot_conn(user, sl, NONE);
                    self.schedule_reconnect(now, user, sl, 0);
                }
            }
        }
        {
            let rep = &mut self.replicas[r];
            rep.relay_cores = 0.0;
            rep.websockets = 0.0;
            rep.n_agents = 0;
        }
        let vcpu = self.replicas[r].vcpu;
        let busy = self.replicas[r].cpu.busy_core_s(now);
        let used = self.replicas[r].cpu.used_core_s(now);
        self.replicas[r].cpu_busy_before_s += busy;
        self.replicas[r].cpu_used_before_s += used;
        self.replicas[r].cpu = PsCpu::new(vcpu);
        self.refresh_db_capacity(now);
        if let Some(g) = self.replicas[r].builtin_group {
            self.prov.kill_group(now, g, &mut self.rec);
            self.after_prov(now);
        }
        let (gm, gc) = (self.replicas[r].ids.mem, self.replicas[r].ids.conns);
        self.rec.set(gm, now, 0.0);
        self.rec.set(gc, now, 0.0);
        self.update_ws_gauge(now);
        self.rec.set(
            self.ids.replicas,
            now,
            self.replicas.iter().filter(|x| x.alive).count() as f64,
        );
        self.set_available(now);
        if restart {
            let d = SimTime::from_secs_f64(self.costs.coderd_restart_delay_s);
            self.replicas[r].starting = true;
            self.pending_replicas += 1;
            self.q
                .push(now + d, PRIO_CONTROL, Ev::ReplicaUp { replica: r as u32 });
        }
    }

    /// `coderd_available` is 1 while at least one replica is ready (serves
    /// requests and takes connections), else 0: killed, starting up or
    /// scaled to zero.
    fn set_available(&mut self, now: SimTime) {
        let up = self.replicas.iter().any(|r| r.ready);
        self.rec
            .set(self.ids.available, now, if up { 1.0 } else { 0.0 });
    }

    /// Start a replica (a free slot or a new one); it is ready after `delay`.
    fn add_replica(&mut self, now: SimTime, delay: SimTime) {
        let slot = (0..self.replicas.len())
            .find(|&i| !self.replicas[i].alive && !self.replicas[i].starting);
        let r = match slot {
            Some(r) => r,
            None => self.new_replica_slot(None),
        };
        self.replicas[r].starting = true;
        self.pending_replicas += 1;
        self.q.push(
            now + delay,
            PRIO_CONTROL,
            Ev::ReplicaUp { replica: r as u32 },
        );
    }
}
