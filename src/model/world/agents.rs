//! Workspace agents: their API connection to coderd, the metadata and stats
//! reports on one timer, heartbeats folded into a rate, and coderd's write
//! batchers that turn reports into database writes.

use super::*;
use crate::engine::PcgRng;
use rand::distr::{Distribution, Uniform};

/// The agent of one user's workspace, and what of its user the agent's
/// tick reads: one 64-byte cache line (a test holds the size), with the
/// tick's own small random stream, so a tick touches that line only, not
/// the user's whole record, its slots or a ChaCha stream's 256-byte buffer.
#[derive(Debug)]
#[repr(C, align(64))]
pub(super) struct Agent {
    /// Its API connection, or `NONE`.
    pub(super) conn: u32,
    /// Bumped on every (dis)connection: stale timers are ignored.
    pub(super) epoch: u32,
    /// Connection attempts since the last success (back-off).
    pub(super) attempt: u32,
    /// Ticks until the next one that carries stats (0: this one); drawn
    /// at connection as the tick modulo `AgentTimer::stats_every` that
    /// carries stats, then counted down.
    stats_in: u32,
    /// The replica its connection is pinned to (`NONE` while unconnected).
    replica: u32,
    /// The user's open connections other than dashboards (their count is
    /// what an agent's stats report counts as sessions; see
    /// [`World::set_slot_conn`]).
    pub(super) sessions: u32,
    /// Delay of the current metadata report behind its tick (see `agent_meta`).
    meta_lag: SimTime,
    /// The agent's stream of report lags (`agent/lag`), one draw per tick.
    lag_rng: PcgRng,
}

impl Agent {
    pub(super) fn new(lag_rng: PcgRng) -> Agent {
        Agent {
            conn: NONE,
            epoch: 0,
            attempt: 0,
            stats_in: 0,
            replica: NONE,
            sessions: 0,
            meta_lag: SimTime::ZERO,
            lag_rng,
        }
    }
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

/// What one metadata tick sends when `items > 0` items are due (`kb_sent`
/// of values as sent, `kb_stored` as stored): the calls, each one's cost,
/// and what the recorder counts. Derived from the run's constants only, so
/// a timer whose ticks are all alike computes it once.
#[derive(Clone, Copy, Debug)]
struct MetaCalls {
    /// API calls: one with agent-side batching, else one per item.
    calls: u32,
    /// Items and kB (as sent) of values, whole tick.
    items: f64,
    kb_sent: f64,
    /// coderd CPU of one call, ms.
    cpu_ms: f64,
    /// One call's database queries and their CPU, ms, and its writes.
    n_queries: f64,
    db_cpu_ms: f64,
    n_writes: f64,
    /// With `metadata_write_path = "batched"`: the items and kB (as
    /// stored) each call puts into its replica's metadata batcher.
    batched: Option<(f64, f64)>,
}

impl MetaCalls {
    fn new(items: u32, kb_sent: f64, kb_stored: f64, k: &Costs, write: &BatchSpec) -> MetaCalls {
        let calls = if k.metadata_agent_batching { 1 } else { items };
        let items_per_call = items as f64 / calls as f64;
        let kb_sent_per_call = kb_sent / calls as f64;
        let kb_stored_per_call = kb_stored / calls as f64;
        let cpu_ms = k.coderd_cpu_ms_agent_metadata_call
            + items_per_call * k.coderd_cpu_ms_agent_metadata_item
            + kb_sent_per_call * k.coderd_cpu_ms_per_metadata_kb;
        let reads = k.db_queries_agent_metadata_call;
        let (n_queries, db_cpu_ms, n_writes, batched) = match k.metadata_write_path {
            MetadataWritePath::PerCall => (
                reads + 1.0,
                reads * k.db_cpu_ms_read_query + write.write_ms(items_per_call, kb_stored_per_call),
                1.0,
                None,
            ),
            MetadataWritePath::Batched => (
                reads,
                reads * k.db_cpu_ms_read_query,
                0.0,
                Some((items_per_call, kb_stored_per_call)),
            ),
        };
        MetaCalls {
            calls,
            items: items as f64,
            kb_sent,
            cpu_ms,
            n_queries,
            db_cpu_ms,
            n_writes,
            batched,
        }
    }
}

/// The agent timer: constants of a run, computed once instead of on every
/// tick of every agent.
pub(super) struct AgentTimer {
    /// Period, ns: the fastest metadata interval, or the stats interval for
    /// a template without metadata.
    base_ns: u64,
    /// Agent stats go every this many ticks (the stats interval rounded to
    /// whole ticks).
    stats_every: u32,
    groups: Vec<MetaGroupTick>,
    /// `base_ns` in seconds.
    base_s: f64,
    /// A report's lag behind its tick, s: uniform below `min(base_s, 1)`
    /// (see [`World::agent_meta`]).
    lag_s: Uniform<f64>,
    /// [`AgentTimer::calls_at`] when it is the same at every tick (every
    /// group on the base interval): computed once.
    calls_always: Option<Option<MetaCalls>>,
}

impl AgentTimer {
    pub(super) fn new(
        ag: &crate::scenario::Agents,
        costs: &Costs,
        write: &BatchSpec,
    ) -> AgentTimer {
        let base_ns = ag
            .metadata
            .iter()
            .map(|m| m.interval.0)
            .min()
            .unwrap_or(ag.stats_interval.0);
        let max_value_b = costs.metadata_value_max_bytes;
        let base_s = base_ns as f64 / 1e9;
        let mut timer = AgentTimer {
            base_ns,
            stats_every: ((ag.stats_interval.0 as f64 / base_ns as f64).round() as u32).max(1),
            base_s,
            lag_s: lag_sampler(base_s.min(1.0)),
            calls_always: None,
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
        };
        if timer.groups.iter().all(|g| g.interval_ns == base_ns) {
            timer.calls_always = Some(timer.calls_at(0, costs, write));
        }
        timer
    }

    fn base_s(&self) -> f64 {
        self.base_s
    }

    /// The metadata calls of tick `tick` (`None`: no item due), with
    /// `write` the metadata batcher's spec (its write cost).
    fn calls_at(&self, tick: u32, costs: &Costs, write: &BatchSpec) -> Option<MetaCalls> {
        let (items, kb_sent, kb_stored) = self.due_at(tick);
        (items > 0).then(|| MetaCalls::new(items, kb_sent, kb_stored, costs, write))
    }

    /// Items due at tick `tick` (a group is due when its interval divides
    /// the elapsed time) and their values in kB, as sent and as stored.
    fn due_at(&self, tick: u32) -> (u32, f64, f64) {
        let elapsed = self.base_ns * tick as u64;
        self.groups
            .iter()
            .filter(|g| elapsed % g.interval_ns < self.base_ns)
            .fold((0, 0.0, 0.0), |(n, sent, stored), g| {
                (n + g.n_items, sent + g.kb_sent, stored + g.kb_stored)
            })
    }
}

/// A uniform sampler on `[0, max_s)` (a constant 0 when `max_s` is not
/// positive). Its draws are `random_range(0.0..1.0) * max_s` bit for bit:
/// rand's uniform float maps a draw `u` in `[0, 1)` to `u * scale + low`,
/// the sampler built once with `scale = max_s` (kept whole: `u * max_s`
/// never rounds above `max_s`) and `random_range` with `scale = 1` then
/// the product; without the per-draw range checks.
fn lag_sampler(max_s: f64) -> Uniform<f64> {
    if max_s > 0.0 {
        Uniform::new(0.0, max_s).expect("a positive, finite range")
    } else {
        Uniform::new_inclusive(0.0, 0.0).expect("a one-point range")
    }
}

/// coderd's two write batchers of agent reports, one of each per replica.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Batch {
    /// Metadata entries (`coderd/agentapi/metadatabatcher`), when the model's
    /// `metadata_write_path` is `batched`.
    Metadata,
    /// Agent stats rows.
    Stats,
}

/// How a batcher flushes and what its write costs (from the model file).
#[derive(Clone, Copy, Debug)]
pub(super) struct BatchSpec {
    /// A batch holding this many entries flushes at once.
    max_entries: f64,
    /// Otherwise it flushes this long after its first entry.
    interval: SimTime,
    /// Database CPU of one write, ms: a base, per entry and per kB of values.
    db_ms: f64,
    db_ms_per_entry: f64,
    db_ms_per_kb: f64,
}

impl BatchSpec {
    /// The specs of [`Batch::Metadata`] and [`Batch::Stats`], in that order.
    pub(super) fn of(k: &Costs) -> [BatchSpec; 2] {
        [
            BatchSpec {
                max_entries: k.metadata_flush_max_entries,
                interval: SimTime::from_secs_f64(k.metadata_flush_interval_s),
                db_ms: k.db_cpu_ms_metadata_write,
                db_ms_per_entry: k.db_cpu_ms_metadata_write_item,
                db_ms_per_kb: k.db_cpu_ms_per_metadata_kb,
            },
            BatchSpec {
                max_entries: k.stats_flush_max_rows,
                interval: SimTime::from_secs_f64(k.stats_flush_interval_s),
                db_ms: k.db_cpu_ms_stats_flush,
                db_ms_per_entry: k.db_cpu_ms_stats_row,
                // Stats rows carry no values whose size costs.
                db_ms_per_kb: 0.0,
            },
        ]
    }

    /// Database CPU of one write of `entries` with `kb` of values, ms.
    fn write_ms(&self, entries: f64, kb: f64) -> f64 {
        self.db_ms + entries * self.db_ms_per_entry + kb * self.db_ms_per_kb
    }
}

/// What one batcher of one replica holds.
#[derive(Clone, Debug, Default)]
pub(super) struct Batcher {
    entries: f64,
    /// Values waiting, kB as stored.
    kb: f64,
    /// When the pending flush is due (`None`: empty, nothing scheduled).
    pub(super) flush_at: Option<SimTime>,
}

impl Batcher {
    /// Empty it: what it held, and no flush pending.
    fn take(&mut self) -> (f64, f64) {
        self.flush_at = None;
        (
            std::mem::take(&mut self.entries),
            std::mem::take(&mut self.kb),
        )
    }
}

impl World<'_> {
    pub(super) fn agent_connect(&mut self, now: SimTime, user: u32, epoch: u32) {
        let a = &self.agents[user as usize];
        if a.epoch != epoch || a.conn != NONE || self.users[user as usize].ws != Ws::Running {
            return;
        }
        match self.open_conn(now, user, Client::Agent, NONE, 0.0) {
            Dial::Open(c) => {
                if self.agents[user as usize].attempt > 0 {
                    self.rec
                        .inc(self.ids.reconnects[Client::Agent.index()], now);
                }
                let replica = self.conns[c as usize].replica;
                let a = &mut self.agents[user as usize];
                a.conn = c;
                a.replica = replica;
                a.attempt = 0;
                self.n_connected_agents += 1;
                self.refresh_db_capacity(now);
                // Ticks run on the fastest metadata interval (the stats interval
                // without metadata), first at a random phase; stats ride on every
                // n-th tick at a random phase.
                let m0 = self.timer.base_s();
                let ticks_per_stats = self.timer.stats_every;
                let rng = &mut self.users[user as usize].net_rng;
                let meta = SimTime::from_secs_f64(rng.random_range(0.0..m0));
                self.agents[user as usize].stats_in = rng.random_range(0..ticks_per_stats);
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
            // Its replica's loss dropped the agent (`agent_dropped`: epoch
            // moved on, reconnect scheduled).
            Dial::DroppedAtOnce => {}
            Dial::NoReplica => {
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

    /// The workspace stops: its agent closes its connection.
    pub(super) fn agent_disconnect(&mut self, now: SimTime, user: u32) {
        let a = &mut self.agents[user as usize];
        a.epoch = a.epoch.wrapping_add(1);
        a.attempt = 0;
        a.replica = NONE;
        let c = std::mem::replace(&mut a.conn, NONE);
        if c != NONE {
            self.n_connected_agents -= 1;
            self.close_conn(now, c, false);
            self.refresh_db_capacity(now);
        }
    }

    /// The agent's connection dropped (its replica went away): it
    /// reconnects after a back-off.
    pub(super) fn agent_dropped(&mut self, now: SimTime, user: u32) {
        // Not yet counted when the connection is dropped while it opens
        // (`Dial::DroppedAtOnce`): `conn` is set only once it is open.
        if self.agents[user as usize].conn != NONE {
            self.n_connected_agents -= 1;
        }
        let a = &mut self.agents[user as usize];
        a.conn = NONE;
        a.replica = NONE;
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
    }

    /// A metadata tick: all groups due now go in one call (or one call per
    /// item without agent-side batching). `tick` counts ticks since connect.
    pub(super) fn agent_meta(&mut self, now: SimTime, user: u32, epoch: u32, tick: u32) {
        let a = &mut self.agents[user as usize];
        if a.epoch != epoch || a.conn == NONE {
            return;
        }
        let r = a.replica;
        // The agent sends a report on its 1 s report tick after the items'
        // scripts finish (../shared/data/coder-timing-constants.csv: metadata
        // report tick 1s), so each report lags its interval's tick by a
        // varying fraction of a second: drawn anew each tick, without drift.
        // From the agent's own stream, in the record already loaded.
        let lag = SimTime::from_secs_f64(self.timer.lag_s.sample(&mut a.lag_rng));
        // Stats ride on the ticks `phase + n * stats_every` since
        // connection (the tick number only grows; it would wrap after 2^32
        // ticks, centuries of simulated time). The record's tick state is
        // moved on here, while it is at hand: nothing below reads it.
        let stats_due = a.stats_in == 0;
        a.stats_in = if stats_due {
            self.timer.stats_every - 1
        } else {
            a.stats_in - 1
        };
        // Tick 0 of a connection is not lagged.
        let prev = std::mem::replace(&mut a.meta_lag, lag);
        let prev = if tick == 0 { SimTime::ZERO } else { prev };
        if r != NONE {
            // The constant case apart, so that its calls' costs are read
            // straight from the timer rather than through a copy.
            match self.timer.calls_always {
                Some(Some(m)) => self.send_metadata(now, r, m),
                Some(None) => {}
                None => {
                    let write = &self.batches[Batch::Metadata as usize];
                    if let Some(m) = self.timer.calls_at(tick, self.costs, write) {
                        self.send_metadata(now, r, m);
                    }
                }
            }
        }
        if r != NONE && stats_due {
            self.agent_stats(now, user, r);
        }
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

    /// A tick's metadata calls to replica `r`.
    #[inline(always)]
    fn send_metadata(&mut self, now: SimTime, r: u32, m: MetaCalls) {
        self.rec.tick(self.ids.meta_calls, now, f64::from(m.calls));
        self.rec.tick(self.ids.meta_items, now, m.items);
        self.rec.tick(self.ids.meta_bytes, now, m.kb_sent * 1e3);
        for _ in 0..m.calls {
            self.start_request(
                now,
                RequestClass::Agent,
                r,
                m.cpu_ms,
                m.n_queries,
                m.db_cpu_ms,
                m.n_writes,
            );
            if let Some((items, kb)) = m.batched {
                self.batch(now, r, Batch::Metadata, items, kb);
            }
        }
    }

    fn agent_stats(&mut self, now: SimTime, user: u32, r: u32) {
        let k = self.costs;
        let reads = k.db_queries_agent_stats_call;
        // A report that counts open sessions bumps the workspace's activity
        // (deadline and last_used_at) inside the request, as coderd v2.x did:
        // after its reads it takes the bump lock (requests.rs).
        let bump = self.agents[user as usize].sessions > 0;
        let (n_q, n_w) = if bump {
            (reads + 1.0, 1.0)
        } else {
            (reads, 0.0)
        };
        let id = self.start_request(
            now,
            RequestClass::Agent,
            r,
            k.coderd_cpu_ms_agent_stats_call,
            n_q,
            reads * k.db_cpu_ms_read_query,
            n_w,
        );
        if let (true, Some(id)) = (bump, id) {
            self.requests[id as usize].bump_s = k.db_cpu_ms_activity_bump / 1e3;
        }
        self.batch(now, r, Batch::Stats, 1.0, 0.0);
    }

    /// Put `entries` with `kb` of values into replica `r`'s `batch`: flush
    /// when it is full, else make sure a flush is scheduled.
    fn batch(&mut self, now: SimTime, r: u32, batch: Batch, entries: f64, kb: f64) {
        let spec = self.batches[batch as usize];
        let rep = &mut self.replicas[r as usize];
        let b = &mut rep.batchers[batch as usize];
        b.entries += entries;
        b.kb += kb;
        if b.entries >= spec.max_entries {
            self.flush(now, r as usize, batch);
        } else if b.flush_at.is_none() {
            let at = now + spec.interval;
            b.flush_at = Some(at);
            let epoch = rep.epoch;
            self.q.push(
                at,
                PRIO_ACTION,
                Ev::Flush {
                    replica: r,
                    epoch,
                    batch,
                },
            );
        }
    }

    /// Replica `r` writes what its `batch` holds to the database.
    pub(super) fn flush(&mut self, now: SimTime, r: usize, batch: Batch) {
        let (entries, kb) = self.replicas[r].batchers[batch as usize].take();
        if entries > 0.0 {
            let w = self.batches[batch as usize].write_ms(entries, kb);
            self.start_db_only(now, w, 1.0);
        }
    }

    /// Once a second: heartbeat writes and the running builds' log writes
    /// (folded into rates rather than one event each), and the database's
    /// smoothed utilisation.
    pub(super) fn fluid(&mut self, now: SimTime) {
        let hb_per_s = self.n_connected_agents as f64
            / self.s.workload.agents.heartbeat_interval.as_secs_f64();
        let writes = hb_per_s + self.build_load_all * self.costs.build_log_calls_per_s;
        if writes > 0.0 {
            self.count_writes(now, writes);
        }
        self.update_db_rho(now);
        self.q.push(now + SimTime::SECOND, PRIO_CONTROL, Ev::Fluid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Streams;

    /// A tick touches one cache line of agent state.
    #[test]
    fn an_agent_is_one_cache_line() {
        assert_eq!(std::mem::size_of::<Agent>(), 64);
        assert_eq!(std::mem::align_of::<Agent>(), 64);
    }

    /// The lag sampler draws `random_range(0.0..1.0) * max_s` (the draw
    /// it replaced), bit for bit, word for word.
    #[test]
    fn lag_sampler_matches_random_range_times_the_bound() {
        for max_s in [1.0, 0.5, 0.25, 0.1, 1e-3, 0.3, 0.7, 0.123_456_789, 1e-9] {
            let mut a = Streams::new(11).stream("net", 3);
            let mut b = Streams::new(11).stream("net", 3);
            let lag = lag_sampler(max_s);
            for _ in 0..10_000 {
                let want = a.random_range(0.0..1.0) * max_s;
                let got = lag.sample(&mut b);
                assert_eq!(got.to_bits(), want.to_bits(), "max_s {max_s}");
            }
        }
        let mut a = Streams::new(11).stream("net", 3);
        let mut b = Streams::new(11).stream("net", 3);
        assert_eq!(lag_sampler(0.0).sample(&mut a), 0.0);
        // The one-point range still consumes a draw, like the product did.
        b.random_range(0.0..1.0);
        assert_eq!(a.random_range(0.0..1.0), b.random_range(0.0..1.0));
    }
}
