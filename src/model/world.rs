//! The deployment world: coderd replicas, the database, proxies, users and
//! their connections, workspace agents, the build queue, autoscalers and
//! scheduled events, advanced event by event.
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

use super::provisioner::{Finished, JobEnd, JobKind, Provisioners};
use super::{Ev, ProvEv};
use crate::engine::metrics::{CounterId, GaugeId, HistId, Labels, RateId, SampleId, labels};
use crate::engine::ps::PsCpu;
use crate::engine::{DefaultEventSet, EventSet, Recorder, SimRng, SimTime, Streams};
use crate::result::Mark;
use crate::scenario::{
    Action, ConnKind, Costs, LoadBalancer, MetadataWritePath, Scenario, StopSignal, UserMode,
    WhenFull,
};
use rand::RngExt;
use std::collections::VecDeque;

mod control;

pub const PRIO_CPU: u8 = 0;
pub const PRIO_ACTION: u8 = 30;
pub const PRIO_CONTROL: u8 = 40;

const NONE: u32 = u32::MAX;
/// Requests in service on one CPU beyond which new ones are refused (and the
/// run reported saturated): keeps memory bounded under overload.
pub const MAX_IN_SERVICE: usize = 200_000;

/// API request classes.
pub const CLASSES: [&str; 4] = ["dashboard", "agent", "connect", "build"];
const C_DASHBOARD: u8 = 0;
const C_AGENT: u8 = 1;
const C_CONNECT: u8 = 2;
const C_BUILD: u8 = 3;
/// Internal database work (batch flushes): no API metrics.
const C_INTERNAL: u8 = 4;

/// Connection kinds: the five user kinds, then the agent's API connection.
const K_AGENT: u8 = 5;
const KIND_NAMES: [&str; 6] = ["ssh", "ide", "web_terminal", "app", "dashboard", "agent"];

fn kind_of(k: ConnKind) -> u8 {
    ConnKind::ALL
        .iter()
        .position(|x| *x == k)
        .expect("known kind") as u8
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
    kind: u8,
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
    wants_start: bool,
    epoch: u32,
    slots: Vec<Slot>,
    build_attempts: u32,
    autostart: bool,
    day_rng: SimRng,
    conn_rng: SimRng,
    net_rng: SimRng,
}

#[derive(Clone, Debug)]
struct Agent {
    conn: u32,
    epoch: u32,
    attempt: u32,
    stats_phase: u32,
    /// Delay of the current metadata report behind its tick (see `agent_meta`).
    meta_lag: SimTime,
}

#[derive(Clone, Debug)]
struct Conn {
    user: u32,
    kind: u8,
    slot: u32,
    replica: u32,
    proxy: u32,
    pos: u32,
    bytes_per_s: f64,
    epoch: u32,
    open: bool,
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
    meta_entries: f64,
    /// Metadata values waiting in the batcher, kB as stored.
    meta_kb: f64,
    meta_flush_at: Option<SimTime>,
    stats_rows: f64,
    stats_flush_at: Option<SimTime>,
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
    g_util: SampleId,
    g_mem: GaugeId,
    g_conns: GaugeId,
}

struct Request {
    class: u8,
    t0: SimTime,
    /// coderd CPU the request needs, core-seconds (for the accounting check).
    cpu_work_s: f64,
    db_work_s: f64,
    n_queries: f64,
    /// Latency that is neither CPU nor a round trip (lock and commit waits).
    wait_s: f64,
}

struct Ids {
    rps: Vec<RateId>,
    rps_total: RateId,
    latency: Vec<HistId>,
    errors: CounterId,
    replicas: GaugeId,
    db_util: SampleId,
    db_writes: RateId,
    db_disk_writes: RateId,
    active: Vec<GaugeId>,
    opened: Vec<CounterId>,
    closed: Vec<CounterId>,
    dropped: Vec<CounterId>,
    reconnects: Vec<CounterId>,
    interruptions: CounterId,
    interruptions_kind: Vec<CounterId>,
    websockets: GaugeId,
    workspaces: GaugeId,
    users_present: GaugeId,
    prov_cpu: GaugeId,
    proxy_util: Vec<GaugeId>,
    capacity_failed: CounterId,
    meta_calls: RateId,
    meta_items: RateId,
    meta_bytes: RateId,
    sessions: CounterId,
}

pub struct World<'s> {
    s: &'s Scenario,
    pub q: DefaultEventSet<Ev>,
    pub rec: Recorder,
    pub prov: Provisioners,
    /// The model's parameters, resolved with the scenario: a shared
    /// reference, so a handler holds them while it mutates the world.
    costs: &'s Costs,
    /// The agents' timer, derived once from the scenario and the costs.
    timer: AgentTimer,
    replicas: Vec<Replica>,
    db: PsCpu,
    db_vcpu: f64,
    db_bg_cores: f64,
    db_outage_depth: u32,
    db_used_mark_core_s: f64,
    proxies: Vec<(f64, f64, GaugeId)>,
    users: Vec<User>,
    agents: Vec<Agent>,
    conns: Vec<Conn>,
    free_conns: Vec<u32>,
    requests: Vec<Request>,
    free_requests: Vec<u32>,
    n_connected_agents: u32,
    n_active: [f64; 6],
    rr: usize,
    rr_http: usize,
    spike_factor: f64,
    spike_depth: u32,
    ws_running: u32,
    ws_reserved: u32,
    nodes: u32,
    nodes_pending: u32,
    cap_waiters: VecDeque<u32>,
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

/// One metadata group as the agent timer sees it.
struct MetaGroupTick {
    interval_ns: u64,
    n_items: u32,
    /// Its items' values per report, kB as sent.
    kb_sent: f64,
    /// The same as stored: coderd truncates each value to
    /// `metadata_value_max_bytes`.
    kb_stored: f64,
}

/// The agent timer: constants of a run, computed once instead of on every
/// tick of every agent.
struct AgentTimer {
    /// Period, ns: the fastest metadata interval, or the stats interval for
    /// a template without metadata.
    base_ns: u64,
    /// Agent stats go every this many ticks (the stats interval rounded to
    /// whole ticks).
    stats_every: u32,
    groups: Vec<MetaGroupTick>,
}

impl AgentTimer {
    fn new(ag: &crate::scenario::Agents, costs: &Costs) -> AgentTimer {
        let base_ns = ag
            .metadata
            .iter()
            .map(|m| m.interval.0)
            .min()
            .unwrap_or(ag.stats_interval.0);
        let max_value_b = costs.metadata_value_max_bytes;
        AgentTimer {
            base_ns,
            stats_every: ((ag.stats_interval.0 as f64 / base_ns as f64).round() as u32).max(1),
            groups: ag
                .metadata
                .iter()
                .map(|m| {
                    let k = f64::from(m.n_items) / 1e3;
                    MetaGroupTick {
                        interval_ns: m.interval.0,
                        n_items: m.n_items,
                        kb_sent: k * m.item_bytes,
                        kb_stored: k * m.item_bytes.min(max_value_b),
                    }
                })
                .collect(),
        }
    }

    fn base_s(&self) -> f64 {
        self.base_ns as f64 / 1e9
    }

    /// Items due at tick `tick` (a group is due when its interval divides
    /// the elapsed time) and their values in kB, as sent and as stored.
    fn due(&self, tick: u32) -> (u32, f64, f64) {
        let elapsed = self.base_ns * tick as u64;
        self.groups
            .iter()
            .filter(|g| elapsed % g.interval_ns < self.base_ns)
            .fold((0, 0.0, 0.0), |(n, sent, stored), g| {
                (n + g.n_items, sent + g.kb_sent, stored + g.kb_stored)
            })
    }
}

impl<'s> World<'s> {
    pub fn new(s: &'s Scenario, streams: &Streams) -> World<'s> {
        let mut rec = Recorder::new(s.warmup, s.bucket, s.duration);
        let mut q = DefaultEventSet::new();
        let prov = Provisioners::new(s, streams, &mut rec, &mut q);
        let ids = Ids {
            rps: CLASSES
                .iter()
                .map(|c| rec.rate("api_requests_per_second", labels([("class", c)]), "1/s"))
                .collect(),
            rps_total: rec.rate(
                "api_requests_per_second",
                labels([("class", "total")]),
                "1/s",
            ),
            latency: CLASSES
                .iter()
                .map(|c| {
                    rec.histogram_with_bounds(
                        "api_latency_seconds",
                        labels([("class", c)]),
                        "s",
                        &super::coder_metrics::API_LATENCY_BOUNDS_S,
                    )
                })
                .collect(),
            errors: rec.counter("api_errors_total", Labels::new(), "1"),
            replicas: rec.gauge("coderd_replicas", Labels::new(), "1"),
            db_util: rec.sampled("database_cpu_utilization", Labels::new(), "ratio"),
            db_writes: rec.rate("database_writes_per_second", Labels::new(), "1/s"),
            db_disk_writes: rec.rate("database_disk_write_ops_per_second", Labels::new(), "1/s"),
            active: KIND_NAMES
                .iter()
                .map(|k| rec.gauge("connections_active", labels([("kind", k)]), "1"))
                .collect(),
            opened: KIND_NAMES
                .iter()
                .map(|k| rec.counter("connections_opened_total", labels([("kind", k)]), "1"))
                .collect(),
            closed: KIND_NAMES
                .iter()
                .map(|k| rec.counter("connections_closed_total", labels([("kind", k)]), "1"))
                .collect(),
            dropped: KIND_NAMES
                .iter()
                .map(|k| rec.counter("connections_dropped_total", labels([("kind", k)]), "1"))
                .collect(),
            reconnects: KIND_NAMES
                .iter()
                .map(|k| rec.counter("reconnects_total", labels([("kind", k)]), "1"))
                .collect(),
            interruptions: rec.counter("interruptions_total", Labels::new(), "1"),
            interruptions_kind: KIND_NAMES[..4]
                .iter()
                .map(|k| rec.counter("interruptions_total", labels([("kind", k)]), "1"))
                .collect(),
            websockets: rec.gauge("coderd_websockets", Labels::new(), "1"),
            workspaces: rec.gauge("workspaces_running", Labels::new(), "1"),
            users_present: rec.gauge("users_present", Labels::new(), "1"),
            prov_cpu: rec.gauge("provisioner_cpu_cores", Labels::new(), "vCPU"),
            proxy_util: s
                .deployment
                .proxies
                .iter()
                .map(|p| {
                    rec.gauge(
                        "proxy_cpu_utilization",
                        labels([("proxy", &p.name)]),
                        "ratio",
                    )
                })
                .collect(),
            capacity_failed: rec.counter("builds_capacity_failed_total", Labels::new(), "1"),
            meta_calls: rec.rate("agent_metadata_calls_per_second", Labels::new(), "1/s"),
            meta_items: rec.rate("agent_metadata_items_per_second", Labels::new(), "1/s"),
            meta_bytes: rec.rate("agent_metadata_bytes_per_second", Labels::new(), "B/s"),
            sessions: rec.counter("user_sessions_total", Labels::new(), "1"),
        };
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
            rec,
            prov,
            timer: AgentTimer::new(&s.workload.agents, &s.costs),
            costs: &s.costs,
            replicas: Vec::new(),
            db: PsCpu::new(db_vcpu),
            db_vcpu,
            db_bg_cores: 0.0,
            db_outage_depth: 0,
            db_used_mark_core_s: 0.0,
            proxies,
            users: Vec::new(),
            agents: Vec::new(),
            conns: Vec::new(),
            free_conns: Vec::new(),
            requests: Vec::new(),
            free_requests: Vec::new(),
            n_connected_agents: 0,
            n_active: [0.0; 6],
            rr: 0,
            rr_http: 0,
            spike_factor: 1.0,
            spike_depth: 0,
            ws_running: 0,
            ws_reserved: 0,
            nodes: cluster_nodes,
            nodes_pending: 0,
            cap_waiters: VecDeque::new(),
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
        }
        w.rec
            .set(w.ids.replicas, SimTime::ZERO, w.replicas.len() as f64);
        w.setup_users(streams);
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
        }
        w
    }

    fn new_replica_slot(&mut self, builtin_group: Option<usize>) -> usize {
        let i = self.replicas.len();
        let l = i.to_string();
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
            meta_entries: 0.0,
            meta_kb: 0.0,
            meta_flush_at: None,
            stats_rows: 0.0,
            stats_flush_at: None,
            builtin_group,
            busy_mark_core_s: 0.0,
            cpu_work_done_s: 0.0,
            cpu_busy_before_s: 0.0,
            cpu_used_before_s: 0.0,
            used_mark_core_s: 0.0,
            up_in_bucket: false,
            g_util: self
                .rec
                .sampled("coderd_cpu_utilization", labels([("replica", &l)]), "ratio"),
            g_mem: self
                .rec
                .gauge("coderd_memory_bytes", labels([("replica", &l)]), "B"),
            g_conns: self
                .rec
                .gauge("coderd_connections", labels([("replica", &l)]), "1"),
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
                wants_start: false,
                epoch: 0,
                slots: Vec::new(),
                build_attempts: 0,
                autostart,
                day_rng: streams.stream("user/day", i as u64),
                conn_rng: streams.stream("user/conn", i as u64),
                net_rng: streams.stream("user/net", i as u64),
            });
            self.agents.push(Agent {
                conn: NONE,
                epoch: 0,
                attempt: 0,
                stats_phase: 0,
                meta_lag: SimTime::ZERO,
            });
        }
        if u.workspaces_running_at_start {
            for i in 0..n {
                self.users[i].ws = Ws::Running;
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
                    kind: kind_of(spec.kind),
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
            if !slot.alive
                || !(k == kind_of(ConnKind::Dashboard) || k == kind_of(ConnKind::WebTerminal))
            {
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
        let Some(c) = self.open_conn(now, user, kind, sl, bytes) else {
            // No replica to take it: try again with back-off.
            self.schedule_reconnect(now, user, sl, 0);
            return;
        };
        self.users[user as usize].slots[sl as usize].conn = c;
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
        if kind == kind_of(ConnKind::Dashboard) {
            self.schedule_action(now, c);
        }
    }

    fn schedule_action(&mut self, now: SimTime, c: u32) {
        let user = self.conns[c as usize].user;
        let spec = &self.s.workload.connections[kind_of(ConnKind::Dashboard) as usize];
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
        let cn = &self.conns[c as usize];
        if !cn.open || cn.epoch != epoch {
            return;
        }
        let spec = &self.s.workload.connections[kind_of(ConnKind::Dashboard) as usize];
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
                self.start_request(now, C_DASHBOARD, r, cpu, q, q * read, 0.0);
            } else {
                self.rec.inc(self.ids.errors, now);
            }
        }
        self.schedule_action(now, c);
    }

    fn conn_end(&mut self, now: SimTime, c: u32, epoch: u32) {
        let cn = &self.conns[c as usize];
        if !cn.open || cn.epoch != epoch {
            return;
        }
        let (user, sl, kind) = (cn.user, cn.slot, cn.kind);
        self.close_conn(now, c, false);
        let slot = &mut self.users[user as usize].slots[sl as usize];
        slot.conn = NONE;
        let e = slot.epoch;
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

    fn close_conn_of_slot(&mut self, now: SimTime, user: u32, sl: u32) {
        let c = self.users[user as usize].slots[sl as usize].conn;
        if c != NONE {
            self.close_conn(now, c, false);
            self.users[user as usize].slots[sl as usize].conn = NONE;
        }
    }

    fn close_slot(&mut self, now: SimTime, user: u32, sl: u32) {
        self.close_conn_of_slot(now, user, sl);
        let slot = &mut self.users[user as usize].slots[sl as usize];
        slot.alive = false;
        slot.epoch = slot.epoch.wrapping_add(1);
    }

    // ----- workspaces and builds ----------------------------------------

    fn request_start(&mut self, now: SimTime, user: u32) {
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

    fn submit_build(&mut self, now: SimTime, user: u32, stop: bool) {
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
    fn build_request(&mut self, now: SimTime) {
        if let Some(r) = self.http_replica() {
            let k = self.costs;
            let (cpu, q, w) = (
                k.coderd_cpu_ms_build_request,
                k.db_queries_build_request,
                k.db_cpu_ms_build_write,
            );
            let read = k.db_cpu_ms_read_query;
            self.start_request(now, C_BUILD, r, cpu, q, q * read + w, 1.0);
        }
    }

    /// React to builds that finished in the provisioner model.
    fn after_prov(&mut self, now: SimTime) {
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

    fn serve_cap_waiters(&mut self, now: SimTime) {
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

    fn stop_workspace(&mut self, now: SimTime, user: u32) {
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

    fn alloc_conn(&mut self, c: Conn) -> u32 {
        match self.free_conns.pop() {
            Some(i) => {
                let epoch = self.conns[i as usize].epoch.wrapping_add(1);
                self.conns[i as usize] = Conn { epoch, ..c };
                i
            }
            None => {
                self.conns.push(c);
                self.conns.len() as u32 - 1
            }
        }
    }

    /// Open a connection of `kind` for `user`; `None` if no replica can take it.
    fn open_conn(
        &mut self,
        now: SimTime,
        user: u32,
        kind: u8,
        slot: u32,
        bytes_per_s: f64,
    ) -> Option<u32> {
        let (p2p, proxy) = if kind == K_AGENT {
            (false, NONE)
        } else {
            let u = &self.users[user as usize];
            let ck = ConnKind::ALL[kind as usize];
            (
                u.p2p && ck.can_be_direct(),
                if ck == ConnKind::Dashboard {
                    NONE
                } else {
                    u.proxy
                },
            )
        };
        // Coordination / websocket upgrade goes to coderd in every case.
        let r = self.lb_pick()?;
        let pinned = !p2p && proxy == NONE;
        let c = self.alloc_conn(Conn {
            user,
            kind,
            slot,
            replica: if pinned { r } else { NONE },
            proxy: if p2p { NONE } else { proxy },
            pos: 0,
            bytes_per_s,
            epoch: 0,
            open: true,
        });
        let (cpu, q, read) = {
            let k = self.costs;
            (
                k.coderd_cpu_ms_connect,
                k.db_queries_connect,
                k.db_cpu_ms_read_query,
            )
        };
        self.start_request(now, C_CONNECT, r, cpu, q, q * read, 0.0);
        if pinned {
            let ws = self.websockets_of(kind);
            let rep = &mut self.replicas[r as usize];
            self.conns[c as usize].pos = rep.pins.len() as u32;
            rep.pins.push(c);
            if kind == K_AGENT {
                rep.n_agents += 1;
            }
            rep.websockets += ws;
            let mb = bytes_per_s / 1e6;
            let k = self.costs.coderd_cpu_ms_per_relayed_mb;
            self.replicas[r as usize].relay_cores += mb * k / 1e3;
            self.refresh_capacity(now, r as usize);
            self.check_memory(now, r as usize);
        } else if !p2p && proxy != NONE {
            let k = self.costs.proxy_cpu_ms_per_relayed_mb;
            self.proxies[proxy as usize].1 += bytes_per_s / 1e6 * k / 1e3;
            self.update_proxy_gauge(now, proxy as usize);
        }
        self.n_active[kind as usize] += 1.0;
        self.rec.set(
            self.ids.active[kind as usize],
            now,
            self.n_active[kind as usize],
        );
        self.rec.inc(self.ids.opened[kind as usize], now);
        self.update_ws_gauge(now);
        Some(c)
    }

    fn websockets_of(&self, kind: u8) -> f64 {
        if kind == kind_of(ConnKind::Dashboard) {
            self.s.workload.connections[kind as usize].websockets as f64
        } else {
            1.0
        }
    }

    /// Close (or, with `dropped`, lose) connection `c`.
    fn close_conn(&mut self, now: SimTime, c: u32, dropped: bool) {
        let cn = self.conns[c as usize].clone();
        if !cn.open {
            return;
        }
        self.conns[c as usize].open = false;
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
            let ws = self.websockets_of(cn.kind);
            let k = self.costs.coderd_cpu_ms_per_relayed_mb;
            let rep = &mut self.replicas[r];
            rep.websockets -= ws;
            rep.relay_cores = (rep.relay_cores - cn.bytes_per_s / 1e6 * k / 1e3).max(0.0);
            if cn.kind == K_AGENT {
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
        self.n_active[cn.kind as usize] -= 1.0;
        self.rec.set(
            self.ids.active[cn.kind as usize],
            now,
            self.n_active[cn.kind as usize],
        );
        if dropped {
            self.rec.inc(self.ids.dropped[cn.kind as usize], now);
        } else {
            self.rec.inc(self.ids.closed[cn.kind as usize], now);
        }
        self.free_conns.push(c);
        self.update_ws_gauge(now);
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
        match self.open_conn(now, user, kind, sl, bytes) {
            Some(c) => {
                self.rec.inc(self.ids.reconnects[kind as usize], now);
                let slot = &mut self.users[user as usize].slots[sl as usize];
                slot.conn = c;
                if let Some(t) = slot.dropped_at.take()
                    && kind == kind_of(ConnKind::WebTerminal)
                    && (now - t).as_secs_f64() > self.costs.pty_reattach_timeout_s
                {
                    self.interrupt(now, kind);
                }
                if kind == kind_of(ConnKind::Dashboard) {
                    self.schedule_action(now, c);
                }
            }
            None => self.schedule_reconnect(now, user, sl, attempt + 1),
        }
    }

    fn interrupt(&mut self, now: SimTime, kind: u8) {
        self.rec.inc(self.ids.interruptions, now);
        if (kind as usize) < self.ids.interruptions_kind.len() {
            self.rec
                .inc(self.ids.interruptions_kind[kind as usize], now);
        }
    }

    // ----- agents -------------------------------------------------------

    fn agent_connect(&mut self, now: SimTime, user: u32, epoch: u32) {
        let a = &self.agents[user as usize];
        if a.epoch != epoch || a.conn != NONE || self.users[user as usize].ws != Ws::Running {
            return;
        }
        match self.open_conn(now, user, K_AGENT, NONE, 0.0) {
            Some(c) => {
                if self.agents[user as usize].attempt > 0 {
                    self.rec.inc(self.ids.reconnects[K_AGENT as usize], now);
                }
                let a = &mut self.agents[user as usize];
                a.conn = c;
                a.attempt = 0;
                self.n_connected_agents += 1;
                self.refresh_db_capacity(now);
                // Ticks run on the fastest metadata interval (the stats interval
                // without metadata), first at a random phase; stats ride on every
                // n-th tick at a random phase.
                let m0 = self.timer.base_s();
                let rng = &mut self.users[user as usize].net_rng;
                let meta = SimTime::from_secs_f64(rng.random_range(0.0..m0));
                let ticks_per_stats = self.timer.stats_every;
                let phase = self.users[user as usize]
                    .net_rng
                    .random_range(0..ticks_per_stats);
                self.agents[user as usize].stats_phase = phase;
                self.q.push(
                    now + meta,
                    PRIO_ACTION,
                    Ev::AgentMeta {
                        user,
                        epoch,
                        tick: 0,
                    },
                );
            }
            None => {
                let a = &mut self.agents[user as usize];
                a.attempt += 1;
                let att = a.attempt;
                let (lo, hi) = {
                    let k = self.costs;
                    (k.agent_reconnect_min_s, k.agent_reconnect_max_s)
                };
                let d = backoff_s(&mut self.users[user as usize].net_rng, att, lo, hi);
                self.q.push(
                    now + SimTime::from_secs_f64(d),
                    PRIO_ACTION,
                    Ev::AgentConnect { user, epoch },
                );
            }
        }
    }

    fn agent_disconnect(&mut self, now: SimTime, user: u32) {
        let a = &mut self.agents[user as usize];
        a.epoch = a.epoch.wrapping_add(1);
        a.attempt = 0;
        let c = std::mem::replace(&mut a.conn, NONE);
        if c != NONE {
            self.n_connected_agents -= 1;
            self.close_conn(now, c, false);
            self.refresh_db_capacity(now);
        }
    }

    /// A metadata tick: all groups due now go in one call (or one call per
    /// item without agent-side batching). `tick` counts ticks since connect.
    fn agent_meta(&mut self, now: SimTime, user: u32, epoch: u32, tick: u32) {
        let a = &self.agents[user as usize];
        if a.epoch != epoch || a.conn == NONE {
            return;
        }
        let r = self.conns[a.conn as usize].replica;
        let (items, kb_sent, kb_stored) = self.timer.due(tick);
        if items > 0 && r != NONE {
            let k = self.costs;
            let calls = if k.metadata_agent_batching { 1 } else { items };
            let items_per_call = items as f64 / calls as f64;
            let kb_sent_per_call = kb_sent / calls as f64;
            let kb_stored_per_call = kb_stored / calls as f64;
            self.rec.tick(self.ids.meta_calls, now, calls as f64);
            self.rec.tick(self.ids.meta_items, now, items as f64);
            self.rec.tick(self.ids.meta_bytes, now, kb_sent * 1e3);
            for _ in 0..calls {
                let cpu = k.coderd_cpu_ms_agent_metadata_call
                    + items_per_call * k.coderd_cpu_ms_agent_metadata_item
                    + kb_sent_per_call * k.coderd_cpu_ms_per_metadata_kb;
                let reads = k.db_queries_agent_metadata_call;
                match k.metadata_write_path {
                    MetadataWritePath::PerCall => {
                        let w = k.db_cpu_ms_metadata_write
                            + items_per_call * k.db_cpu_ms_metadata_write_item
                            + kb_stored_per_call * k.db_cpu_ms_per_metadata_kb;
                        self.start_request(
                            now,
                            C_AGENT,
                            r,
                            cpu,
                            reads + 1.0,
                            reads * k.db_cpu_ms_read_query + w,
                            1.0,
                        );
                    }
                    MetadataWritePath::Batched => {
                        self.start_request(
                            now,
                            C_AGENT,
                            r,
                            cpu,
                            reads,
                            reads * k.db_cpu_ms_read_query,
                            0.0,
                        );
                        let rep = &mut self.replicas[r as usize];
                        rep.meta_entries += items_per_call;
                        rep.meta_kb += kb_stored_per_call;
                        if rep.meta_entries >= k.metadata_flush_max_entries {
                            self.flush_meta(now, r as usize);
                        } else if rep.meta_flush_at.is_none() {
                            let at = now + SimTime::from_secs_f64(k.metadata_flush_interval_s);
                            rep.meta_flush_at = Some(at);
                            let e = rep.epoch;
                            self.q.push(
                                at,
                                PRIO_ACTION,
                                Ev::MetaFlush {
                                    replica: r,
                                    epoch: e,
                                },
                            );
                        }
                    }
                }
            }
        }
        if r != NONE && tick % self.timer.stats_every == self.agents[user as usize].stats_phase {
            self.agent_stats(now, user, r);
        }
        // The agent sends a report on its 1 s report tick after the items'
        // scripts finish (../shared/data/coder-timing-constants.csv: metadata
        // report tick 1s), so each report lags its interval's tick by a
        // varying fraction of a second: drawn anew each tick, without drift.
        let lag = SimTime::from_secs_f64(
            self.users[user as usize].net_rng.random_range(0.0..1.0) * self.timer.base_s().min(1.0),
        );
        let a = &mut self.agents[user as usize];
        // Tick 0 of a connection is not lagged.
        let prev = std::mem::replace(&mut a.meta_lag, lag);
        let prev = if tick == 0 { SimTime::ZERO } else { prev };
        self.q.push(
            now - prev + SimTime(self.timer.base_ns) + lag,
            PRIO_ACTION,
            Ev::AgentMeta {
                user,
                epoch,
                tick: tick.wrapping_add(1),
            },
        );
    }

    fn flush_meta(&mut self, now: SimTime, r: usize) {
        let entries = std::mem::take(&mut self.replicas[r].meta_entries);
        let kb = std::mem::take(&mut self.replicas[r].meta_kb);
        self.replicas[r].meta_flush_at = None;
        if entries > 0.0 {
            let k = self.costs;
            let w = k.db_cpu_ms_metadata_write
                + entries * k.db_cpu_ms_metadata_write_item
                + kb * k.db_cpu_ms_per_metadata_kb;
            self.start_db_only(now, w, 1.0);
        }
    }

    fn agent_stats(&mut self, now: SimTime, user: u32, r: u32) {
        {
            let k = self.costs;
            let reads = k.db_queries_agent_stats_call;
            // A report that counts open sessions bumps the workspace's activity
            // (deadline and last_used_at) inside the request, as coderd v2.x did.
            let bump = self.users[user as usize]
                .slots
                .iter()
                .any(|s| s.conn != NONE && s.kind < kind_of(ConnKind::Dashboard));
            let (n_q, db_ms, n_w) = if bump {
                (
                    reads + 1.0,
                    reads * k.db_cpu_ms_read_query + k.db_cpu_ms_activity_bump,
                    1.0,
                )
            } else {
                (reads, reads * k.db_cpu_ms_read_query, 0.0)
            };
            let id = self.start_request(
                now,
                C_AGENT,
                r,
                k.coderd_cpu_ms_agent_stats_call,
                n_q,
                db_ms,
                n_w,
            );
            if let (true, Some(id)) = (bump, id) {
                self.requests[id as usize].wait_s = k.db_activity_bump_wait_ms / 1e3;
            }
            let rep = &mut self.replicas[r as usize];
            rep.stats_rows += 1.0;
            if rep.stats_rows >= k.stats_flush_max_rows {
                self.flush_stats(now, r as usize);
            } else if rep.stats_flush_at.is_none() {
                let at = now + SimTime::from_secs_f64(k.stats_flush_interval_s);
                rep.stats_flush_at = Some(at);
                let e = rep.epoch;
                self.q.push(
                    at,
                    PRIO_ACTION,
                    Ev::StatsFlush {
                        replica: r,
                        epoch: e,
                    },
                );
            }
        }
    }

    fn flush_stats(&mut self, now: SimTime, r: usize) {
        let rows = std::mem::take(&mut self.replicas[r].stats_rows);
        self.replicas[r].stats_flush_at = None;
        if rows > 0.0 {
            let k = self.costs;
            let w = k.db_cpu_ms_stats_flush + rows * k.db_cpu_ms_stats_row;
            self.start_db_only(now, w, 1.0);
        }
    }

    // ----- CPU and database ----------------------------------------------

    fn alloc_request(&mut self, r: Request) -> u32 {
        match self.free_requests.pop() {
            Some(i) => {
                self.requests[i as usize] = r;
                i
            }
            None => {
                self.requests.push(r);
                self.requests.len() as u32 - 1
            }
        }
    }

    /// An API request of `class` on replica `r`: `cpu_ms` of coderd CPU, then
    /// `db_cpu_ms` of database CPU over `n_queries` queries, `n_writes` of them writes.
    /// Returns the request's id (`None` if the replica refused it).
    #[allow(clippy::too_many_arguments)]
    fn start_request(
        &mut self,
        now: SimTime,
        class: u8,
        r: u32,
        cpu_ms: f64,
        n_queries: f64,
        db_cpu_ms: f64,
        n_writes: f64,
    ) -> Option<u32> {
        let rep = &mut self.replicas[r as usize];
        if rep.cpu.in_service() >= MAX_IN_SERVICE {
            self.rejected_requests += 1;
            self.rec.inc(self.ids.errors, now);
            return None;
        }
        self.rec.tick(self.ids.rps[class as usize], now, 1.0);
        self.rec.tick(self.ids.rps_total, now, 1.0);
        if n_writes > 0.0 {
            self.count_writes(now, n_writes);
        }
        let id = self.alloc_request(Request {
            class,
            t0: now,
            cpu_work_s: cpu_ms / 1e3,
            db_work_s: db_cpu_ms / 1e3,
            n_queries,
            wait_s: 0.0,
        });
        let rep = &mut self.replicas[r as usize];
        rep.cpu.arrive(now, cpu_ms / 1e3, id);
        if let Some(t) = rep.cpu.wakeup_needed() {
            self.q.push(t, PRIO_CPU, Ev::Cpu { replica: r });
        }
        Some(id)
    }

    /// Database work with no API request in front of it (batch flushes).
    fn start_db_only(&mut self, now: SimTime, db_cpu_ms: f64, n_writes: f64) {
        self.count_writes(now, n_writes);
        let id = self.alloc_request(Request {
            class: C_INTERNAL,
            t0: now,
            cpu_work_s: 0.0,
            db_work_s: db_cpu_ms / 1e3,
            n_queries: 1.0,
            wait_s: 0.0,
        });
        self.db_arrive(now, id);
    }

    fn count_writes(&mut self, now: SimTime, n: f64) {
        self.rec.tick(self.ids.db_writes, now, n);
        let f = self.costs.db_disk_write_ops_per_write;
        self.rec.tick(self.ids.db_disk_writes, now, n * f);
    }

    fn db_arrive(&mut self, now: SimTime, id: u32) {
        if self.db.in_service() >= MAX_IN_SERVICE {
            self.rejected_requests += 1;
            self.rec.inc(self.ids.errors, now);
            self.free_requests.push(id);
            return;
        }
        let w = self.requests[id as usize].db_work_s;
        self.db.arrive(now, w, id);
        if let Some(t) = self.db.wakeup_needed() {
            self.q.push(t, PRIO_CPU, Ev::Db);
        }
    }

    fn cpu_wakeup(&mut self, now: SimTime, r: u32) {
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

    fn db_wakeup(&mut self, now: SimTime) {
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
        let r = &self.requests[id as usize];
        if r.class != C_INTERNAL {
            let rtt = self.costs.db_rtt_ms / 1e3;
            let lat = (now - r.t0).as_secs_f64() + r.n_queries * rtt + r.wait_s;
            self.rec
                .record(self.ids.latency[r.class as usize], now, lat);
        }
        self.free_requests.push(id);
    }

    /// Request capacity of replica `r`: its vCPUs less relayed traffic and heartbeats.
    fn refresh_capacity(&mut self, now: SimTime, r: usize) {
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

    fn background_cores(&self, r: usize) -> f64 {
        let rep = &self.replicas[r];
        rep.vcpu - rep.cpu.cores()
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
        let (gm, gc, n) = (rep.g_mem, rep.g_conns, rep.pins.len());
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

    fn refresh_db_capacity(&mut self, now: SimTime) {
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

    /// Once a second: heartbeat writes (folded into a rate rather than one
    /// event per heartbeat).
    fn fluid(&mut self, now: SimTime) {
        let hb_per_s = self.n_connected_agents as f64
            / self.s.workload.agents.heartbeat_interval.as_secs_f64();
        if hb_per_s > 0.0 {
            self.count_writes(now, hb_per_s);
        }
        self.q.push(now + SimTime::SECOND, PRIO_CONTROL, Ev::Fluid);
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
            rep.meta_entries = 0.0;
            rep.meta_kb = 0.0;
            rep.stats_rows = 0.0;
            rep.meta_flush_at = None;
            rep.stats_flush_at = None;
        }
        for id in self.replicas[r].cpu.drain(now) {
            self.rec.inc(self.ids.errors, now);
            self.free_requests.push(id);
        }
        let pins = std::mem::take(&mut self.replicas[r].pins);
        for c in pins {
            let cn = self.conns[c as usize].clone();
            self.close_conn(now, c, true);
            if cn.kind == K_AGENT {
                let user = cn.user;
                self.n_connected_agents -= 1;
                let a = &mut self.agents[user as usize];
                a.conn = NONE;
                a.epoch = a.epoch.wrapping_add(1);
                a.attempt = 1;
                let e = a.epoch;
                let (lo, hi) = {
                    let k = self.costs;
                    (k.agent_reconnect_min_s, k.agent_reconnect_max_s)
                };
                let d = backoff_s(&mut self.users[user as usize].net_rng, 0, lo, hi);
                self.q.push(
                    now + SimTime::from_secs_f64(d),
                    PRIO_ACTION,
                    Ev::AgentConnect { user, epoch: e },
                );
            } else {
                let (user, sl) = (cn.user, cn.slot);
                let kind = ConnKind::ALL[cn.kind as usize];
                match kind {
                    ConnKind::Ssh | ConnKind::Ide | ConnKind::App => self.interrupt(now, cn.kind),
                    ConnKind::WebTerminal => {
                        self.users[user as usize].slots[sl as usize].dropped_at = Some(now)
                    }
                    ConnKind::Dashboard => {}
                }
                self.users[user as usize].slots[sl as usize].conn = NONE;
                self.schedule_reconnect(now, user, sl, 0);
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
        let (gm, gc) = (self.replicas[r].g_mem, self.replicas[r].g_conns);
        self.rec.set(gm, now, 0.0);
        self.rec.set(gc, now, 0.0);
        self.update_ws_gauge(now);
        self.rec.set(
            self.ids.replicas,
            now,
            self.replicas.iter().filter(|x| x.alive).count() as f64,
        );
        if restart {
            let d = SimTime::from_secs_f64(self.costs.coderd_restart_delay_s);
            self.replicas[r].starting = true;
            self.pending_replicas += 1;
            self.q
                .push(now + d, PRIO_CONTROL, Ev::ReplicaUp { replica: r as u32 });
        }
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

/// `coderd_cpu_cores`: the vCPUs in use across replicas, per bucket. The
/// time-weighted mean of a sum is the sum of the means, so it is derived
/// exactly from the per-replica utilisation series instead of being updated
/// on every request.
pub fn derive_total_cpu(
    s: &Scenario,
    metrics: &mut Vec<crate::engine::Metric>,
    series: &mut crate::engine::TimeSeries,
) {
    let vcpu = s.deployment.coderd.vcpu_per_replica;
    let n = series.n_buckets();
    let mut total = vec![0.0; n];
    let mut any = false;
    for sr in series
        .series
        .iter()
        .filter(|x| x.name == "coderd_cpu_utilization" && x.stat == "mean")
    {
        any = true;
        // A replica absent in a bucket (NaN) contributes no cores.
        for (t, v) in total.iter_mut().zip(&sr.values) {
            if v.is_finite() {
                *t += v * vcpu;
            }
        }
    }
    if !any {
        return;
    }
    let mean = if n == 0 {
        0.0
    } else {
        total.iter().sum::<f64>() / n as f64
    };
    let mut sorted = total.clone();
    sorted.sort_by(f64::total_cmp);
    let p50 = if n == 0 {
        0.0
    } else if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    };
    let peak = sorted.last().copied().unwrap_or(0.0);
    for (stat, v) in [("mean", mean), ("p50", p50), ("peak", peak)] {
        metrics.push(crate::engine::Metric {
            name: "coderd_cpu_cores".into(),
            stat: stat.into(),
            labels: Labels::new(),
            value: v,
            unit: "vCPU".into(),
        });
    }
    series.series.push(crate::engine::Series {
        name: "coderd_cpu_cores".into(),
        stat: "mean".into(),
        labels: Labels::new(),
        unit: "vCPU".into(),
        values: total,
    });
}

impl World<'_> {
    /// Whole-run CPU accounting per replica: (busy core-seconds, work of the
    /// requests finished), both in core-seconds. They agree to rounding, less
    /// the work of requests still in service at the end.
    pub fn cpu_accounting(&mut self, end: SimTime) -> Vec<(f64, f64)> {
        self.replicas
            .iter_mut()
            .map(|r| {
                (
                    r.cpu_busy_before_s + r.cpu.busy_core_s(end),
                    r.cpu_work_done_s,
                )
            })
            .collect()
    }
}

impl World<'_> {
    /// Start the per-bucket CPU accounting at the end of the warm-up.
    pub fn start_sampling(&mut self, at: SimTime) {
        for r in &mut self.replicas {
            r.used_mark_core_s = r.cpu_used_before_s + r.cpu.used_core_s(at);
            r.up_in_bucket = r.alive;
        }
        self.db_used_mark_core_s = self.db.used_core_s(at);
    }

    /// Close the open bucket at `end`: CPU utilisation of each replica and of
    /// the database over the bucket, from the exact busy core-seconds.
    pub fn sample_bucket(&mut self, end: SimTime) {
        let len_s = (end - self.rec.bucket_start()).as_secs_f64();
        if len_s <= 0.0 {
            return;
        }
        for i in 0..self.replicas.len() {
            let r = &mut self.replicas[i];
            let used = r.cpu_used_before_s + r.cpu.used_core_s(end);
            let util = if r.alive || r.up_in_bucket {
                ((used - r.used_mark_core_s) / (r.vcpu * len_s)).clamp(0.0, 1.0)
            } else {
                f64::NAN
            };
            r.used_mark_core_s = used;
            r.up_in_bucket = r.alive;
            let g = r.g_util;
            self.rec.sample(g, util);
        }
        let used = self.db.used_core_s(end);
        let util = ((used - self.db_used_mark_core_s) / (self.db_vcpu * len_s)).clamp(0.0, 1.0);
        self.db_used_mark_core_s = used;
        self.rec.sample(self.ids.db_util, util);
    }
}
