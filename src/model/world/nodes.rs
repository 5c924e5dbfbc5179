//! Workspace compute: node pools, placement and the cluster autoscaler
//! (`[[deployment.node_pools]]`).
//!
//! # What a workspace takes
//!
//! A running workspace requests its template's `vcpu` and `ram` on the node
//! it is placed on, and uses its agent's own share plus its working use
//! while its user is present, its idle use while they are away (defaults in
//! `scenario::resolve_model::workspace`).
//!
//! # Placement (the packing rule)
//!
//! A user's start build runs its Terraform on a daemon; at the end of the
//! run the workspace pod needs a node. The pools whose labels include the
//! template's `node_selector` are tried in declaration order; in a pool the
//! pod goes to the ready node with the most requested CPU (most-allocated
//! bin packing, as operators configure the scheduler for cost; ties to the
//! oldest node) among those with room for its CPU, memory and one more
//! pod. When no node has room the build keeps its daemon (Terraform waits
//! for the pod) and the workspace waits, first come first placed, until a
//! node comes up; after `terraform_provider_timeout_s` the build fails
//! (counted in `builds_failed_total` and `workspace_node_timeouts_total`),
//! and a user still present retries after a minute like any failed start.
//! A workspace stays on its node until its stop build finishes:
//! workspaces are never moved, because a workspace pod holds a user's
//! session and home volume (the cluster autoscaler's `safe-to-evict:
//! false`).
//!
//! # The cluster autoscaler
//!
//! Every `scan_interval` each pool:
//! - scales up for the workspaces waiting that it is the first pool able
//!   to take (labels, shape, room below `max`): it packs them first-fit onto
//!   the nodes already starting, then onto new ones, and starts that many;
//! - scales up by one node when its used CPU or memory over its ready nodes'
//!   allocatable passes `scale_up_utilization` and no node is starting;
//! - removes a ready node whose requests have been below
//!   `scale_down_utilization` of its allocatable for `scale_down_unneeded`
//!   and whose workspaces fit elsewhere, keeping `min` nodes and the
//!   headroom of the utilisation trigger (not if the nodes left would pass
//!   `scale_up_utilization`). As workspaces are never moved, only a node
//!   with none left fits elsewhere.
//!
//! A new node takes pods after a start-up delay drawn from the pool's
//! `startup_delay`, on the stream `nodes/<pool>` (so the other components'
//! draws are the same with or without pools: common random numbers).

use super::*;
use crate::model::metric_names as m;
use crate::scenario::{NodePool, WorkspaceResources, resolve::tags_match};

/// A node of a pool.
#[derive(Clone, Debug)]
pub(super) struct Node {
    /// Exists (starting or ready); a removed node's slot is reused.
    alive: bool,
    ready: bool,
    cpu_req: f64,
    mem_req: f64,
    pods: u32,
    underused_since: Option<SimTime>,
    /// Tells a node from an earlier one in the same slot.
    serial: u32,
}

struct PoolIds {
    nodes: GaugeId,
    cpu_req: GaugeId,
    cpu_used: GaugeId,
    mem_req: GaugeId,
    mem_used: GaugeId,
    util: GaugeId,
}

/// One pool's state.
pub(super) struct PoolState {
    nodes: Vec<Node>,
    free_slots: Vec<u32>,
    n_ready: u32,
    n_starting: u32,
    cpu_req: f64,
    mem_req: f64,
    cpu_used: f64,
    mem_used: f64,
    rng: SimRng,
    ids: PoolIds,
}

/// A start build whose workspace waits for a node.
#[derive(Clone, Copy, Debug)]
pub(super) struct Waiter {
    user: u32,
    job: u32,
    daemon: u32,
    since: SimTime,
    serial: u32,
}

/// The world's node pools.
pub(super) struct Nodes {
    pools: Vec<PoolState>,
    /// For each template, the pools its workspace may land on, in order.
    template_pools: Vec<Vec<u32>>,
    waiting: VecDeque<Waiter>,
    wait_serial: u32,
    waiting_gauge: GaugeId,
    wait_hist: HistId,
    start_hist: HistId,
    timeouts: CounterId,
    timeout: Option<SimTime>,
}

/// Does a pod of `w` fit on `n` of pool `p`?
fn fits(p: &NodePool, n: &Node, w: &WorkspaceResources) -> bool {
    n.pods < p.max_pods
        && n.cpu_req + w.vcpu <= p.alloc_vcpu() + 1e-9
        && n.mem_req + w.ram_bytes <= p.alloc_bytes() * (1.0 + 1e-12)
}

/// The node of `nodes` a pod of `w` goes to: the ready node with room and
/// the most requested CPU, ties to the lowest index.
pub(super) fn pick_node(p: &NodePool, nodes: &[Node], w: &WorkspaceResources) -> Option<usize> {
    let mut best: Option<(usize, f64)> = None;
    for (i, n) in nodes.iter().enumerate() {
        if n.alive && n.ready && fits(p, n, w) && best.is_none_or(|(_, c)| n.cpu_req > c) {
            best = Some((i, n.cpu_req));
        }
    }
    best.map(|(i, _)| i)
}

/// How many new nodes of `p` the pods `ws` need beyond `starting` empty
/// nodes already coming up: first fit onto those, then onto new ones.
pub(super) fn nodes_needed(p: &NodePool, starting: u32, ws: &[&WorkspaceResources]) -> u32 {
    let mut bins: Vec<Node> = (0..starting).map(|_| empty_node(true, 0)).collect();
    let mut new = 0;
    for w in ws {
        match bins.iter_mut().find(|n| fits(p, n, w)) {
            Some(n) => {
                n.cpu_req += w.vcpu;
                n.mem_req += w.ram_bytes;
                n.pods += 1;
            }
            None => {
                let mut n = empty_node(true, 0);
                n.cpu_req = w.vcpu;
                n.mem_req = w.ram_bytes;
                n.pods = 1;
                bins.push(n);
                new += 1;
            }
        }
    }
    new
}

fn empty_node(ready: bool, serial: u32) -> Node {
    Node {
        alive: true,
        ready,
        cpu_req: 0.0,
        mem_req: 0.0,
        pods: 0,
        underused_since: None,
        serial,
    }
}

impl Nodes {
    pub(super) fn new(s: &Scenario, streams: &Streams, rec: &mut Recorder) -> Option<Nodes> {
        let pools_spec = &s.deployment.node_pools;
        if pools_spec.is_empty() {
            return None;
        }
        let pools = pools_spec
            .iter()
            .map(|p| {
                let l = || labels([("pool", &p.name)]);
                PoolState {
                    nodes: Vec::new(),
                    free_slots: Vec::new(),
                    n_ready: 0,
                    n_starting: 0,
                    cpu_req: 0.0,
                    mem_req: 0.0,
                    cpu_used: 0.0,
                    mem_used: 0.0,
                    rng: streams.stream(&format!("nodes/{}", p.name), 0),
                    ids: PoolIds {
                        nodes: rec.gauge(m::WORKSPACE_NODES, l(), "1"),
                        cpu_req: rec.gauge(m::WORKSPACE_POOL_CPU_REQUESTED_VCPU, l(), "vCPU"),
                        cpu_used: rec.gauge(m::WORKSPACE_POOL_CPU_USED_VCPU, l(), "vCPU"),
                        mem_req: rec.gauge(m::WORKSPACE_POOL_MEMORY_REQUESTED_BYTES, l(), "B"),
                        mem_used: rec.gauge(m::WORKSPACE_POOL_MEMORY_USED_BYTES, l(), "B"),
                        util: rec.gauge(m::WORKSPACE_POOL_UTILIZATION, l(), "ratio"),
                    },
                }
            })
            .collect();
        let template_pools = s
            .workload
            .templates
            .iter()
            .map(|t| {
                pools_spec
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| {
                        tags_match(&t.workspace.node_selector, &p.labels)
                            && t.workspace.vcpu <= p.alloc_vcpu() + 1e-9
                            && t.workspace.ram_bytes <= p.alloc_bytes() * (1.0 + 1e-12)
                    })
                    .map(|(i, _)| i as u32)
                    .collect()
            })
            .collect();
        let timeout_s = s.costs.terraform_provider_timeout_s;
        Some(Nodes {
            pools,
            template_pools,
            waiting: VecDeque::new(),
            wait_serial: 0,
            waiting_gauge: rec.gauge(m::WORKSPACES_WAITING_FOR_NODE, Labels::new(), "1"),
            wait_hist: rec.histogram(m::WORKSPACE_NODE_WAIT_SECONDS, Labels::new(), "s"),
            start_hist: rec.histogram(m::WORKSPACE_START_SECONDS, Labels::new(), "s"),
            timeouts: rec.counter(m::WORKSPACE_NODE_TIMEOUTS_TOTAL, Labels::new(), "1"),
            timeout: (timeout_s > 0.0).then(|| SimTime::from_secs_f64(timeout_s)),
        })
    }
}

impl World<'_> {
    /// The workspace resources of `user`'s template.
    fn ws_of(&self, user: u32) -> &WorkspaceResources {
        &self.s.workload.templates[self.users[user as usize].template as usize].workspace
    }

    /// (vCPU, bytes) `user`'s workspace uses now.
    fn ws_use(&self, user: u32) -> (f64, f64) {
        let w = self.ws_of(user);
        if self.users[user as usize].present {
            (
                w.agent_vcpu + w.working_vcpu,
                w.agent_ram_bytes + w.working_ram_bytes,
            )
        } else {
            (
                w.agent_vcpu + w.idle_vcpu,
                w.agent_ram_bytes + w.idle_ram_bytes,
            )
        }
    }

    /// Set pool `p`'s gauges from its state.
    fn pool_gauges(&mut self, now: SimTime, p: u32) {
        let spec = &self.s.deployment.node_pools[p as usize];
        let Some(n) = self.node_pools.as_mut() else {
            return;
        };
        let ps = &n.pools[p as usize];
        let ready = ps.n_ready as f64;
        let util = if ready > 0.0 {
            (ps.cpu_used / (ready * spec.alloc_vcpu()))
                .max(ps.mem_used / (ready * spec.alloc_bytes()))
        } else {
            0.0
        };
        let ids = &ps.ids;
        let vals = [
            (ids.nodes, (ps.n_ready + ps.n_starting) as f64),
            (ids.cpu_req, ps.cpu_req),
            (ids.cpu_used, ps.cpu_used),
            (ids.mem_req, ps.mem_req),
            (ids.mem_used, ps.mem_used),
            (ids.util, util),
        ];
        for (id, v) in vals {
            self.rec.set(id, now, v);
        }
    }

    /// Start the pools: `min` ready nodes each, the workspaces running at
    /// the start placed (with ready nodes added up to `max` for them), the
    /// autoscalers' first scans.
    pub(super) fn start_pools(&mut self, running: &[u32]) {
        let Some(n) = self.node_pools.as_mut() else {
            return;
        };
        for (p, spec) in self.s.deployment.node_pools.iter().enumerate() {
            for _ in 0..spec.min_nodes {
                n.pools[p].nodes.push(empty_node(true, 0));
                n.pools[p].n_ready += 1;
            }
            self.q.push(
                spec.scan_interval,
                PRIO_CONTROL,
                Ev::PoolScan { pool: p as u32 },
            );
        }
        let mut unplaced = 0;
        for &u in running {
            if !self.place(SimTime::ZERO, u) {
                // The cluster as it stood at the start held these workspaces.
                let t = self.users[u as usize].template as usize;
                let pools = self.node_pools.as_ref().expect("pools").template_pools[t].clone();
                let grown = pools.iter().any(|&p| {
                    let spec = &self.s.deployment.node_pools[p as usize];
                    let ps = &mut self.node_pools.as_mut().expect("pools").pools[p as usize];
                    if ps.n_ready < spec.max_nodes {
                        ps.nodes.push(empty_node(true, 0));
                        ps.n_ready += 1;
                        true
                    } else {
                        false
                    }
                });
                if !grown || !self.place(SimTime::ZERO, u) {
                    unplaced += 1;
                }
            }
        }
        if unplaced > 0 {
            self.notes.push(format!(
                "node pools: {unplaced} workspaces running at the start did not fit in their pools' `max` nodes and run without a node"
            ));
        }
        for p in 0..self.s.deployment.node_pools.len() {
            self.pool_gauges(SimTime::ZERO, p as u32);
        }
    }

    /// Place `user`'s workspace on a node now, if one has room.
    fn place(&mut self, now: SimTime, user: u32) -> bool {
        let t = self.users[user as usize].template as usize;
        let (cpu_use, mem_use) = self.ws_use(user);
        let s = self.s;
        let w = &s.workload.templates[t].workspace;
        let Some(n) = self.node_pools.as_mut() else {
            return true;
        };
        for &p in &n.template_pools[t] {
            let spec = &s.deployment.node_pools[p as usize];
            let ps = &mut n.pools[p as usize];
            if let Some(i) = pick_node(spec, &ps.nodes, w) {
                let node = &mut ps.nodes[i];
                node.cpu_req += w.vcpu;
                node.mem_req += w.ram_bytes;
                node.pods += 1;
                node.underused_since = None;
                ps.cpu_req += w.vcpu;
                ps.mem_req += w.ram_bytes;
                ps.cpu_used += cpu_use;
                ps.mem_used += mem_use;
                self.users[user as usize].node = (p, i as u32);
                self.pool_gauges(now, p);
                return true;
            }
        }
        false
    }

    /// `user`'s workspace leaves its node (its stop build finished).
    pub(super) fn unplace(&mut self, now: SimTime, user: u32) {
        let (p, i) = self.users[user as usize].node;
        if p == NONE {
            return;
        }
        let (cpu_use, mem_use) = self.ws_use(user);
        let t = self.users[user as usize].template as usize;
        let w = &self.s.workload.templates[t].workspace;
        let n = self.node_pools.as_mut().expect("placed on a pool");
        let ps = &mut n.pools[p as usize];
        let node = &mut ps.nodes[i as usize];
        node.cpu_req = (node.cpu_req - w.vcpu).max(0.0);
        node.mem_req = (node.mem_req - w.ram_bytes).max(0.0);
        node.pods -= 1;
        ps.cpu_req = (ps.cpu_req - w.vcpu).max(0.0);
        ps.mem_req = (ps.mem_req - w.ram_bytes).max(0.0);
        ps.cpu_used = (ps.cpu_used - cpu_use).max(0.0);
        ps.mem_used = (ps.mem_used - mem_use).max(0.0);
        self.users[user as usize].node = (NONE, NONE);
        self.pool_gauges(now, p);
    }

    /// `user` arrived (`present`) or left: their placed workspace's use moves
    /// between working and idle. Call after flipping `present`.
    pub(super) fn ws_presence_changed(&mut self, now: SimTime, user: u32) {
        let (p, _) = self.users[user as usize].node;
        if p == NONE {
            return;
        }
        let w = self.ws_of(user);
        let (dc, dm) = (
            w.working_vcpu - w.idle_vcpu,
            w.working_ram_bytes - w.idle_ram_bytes,
        );
        let sign = if self.users[user as usize].present {
            1.0
        } else {
            -1.0
        };
        let ps = &mut self.node_pools.as_mut().expect("placed").pools[p as usize];
        ps.cpu_used = (ps.cpu_used + sign * dc).max(0.0);
        ps.mem_used = (ps.mem_used + sign * dm).max(0.0);
        self.pool_gauges(now, p);
    }

    /// A user's start build finished its run (it holds `daemon`): place the
    /// workspace, or make it wait for a node.
    pub(super) fn needs_node(&mut self, now: SimTime, job: u32, daemon: u32, user: u32) {
        if self.place(now, user) {
            let n = self.node_pools.as_ref().expect("pools");
            let h = n.wait_hist;
            self.rec.record(h, now, 0.0);
            self.prov
                .finish_held(now, daemon, job, true, &mut self.rec, &mut self.q);
            return;
        }
        let n = self.node_pools.as_mut().expect("pools");
        n.wait_serial = n.wait_serial.wrapping_add(1);
        let serial = n.wait_serial;
        n.waiting.push_back(Waiter {
            user,
            job,
            daemon,
            since: now,
            serial,
        });
        let (g, len, timeout) = (n.waiting_gauge, n.waiting.len(), n.timeout);
        self.rec.set(g, now, len as f64);
        if let Some(to) = timeout {
            self.q.push(
                now + to,
                prov_prio_renege(),
                Ev::NodeWaitTimeout { user, serial },
            );
        }
    }

    /// A successful user's start ended: its start time (queue wait + build
    /// + node wait).
    pub(super) fn record_start_time(&mut self, now: SimTime, created: SimTime) {
        if let Some(n) = &self.node_pools {
            let h = n.start_hist;
            self.rec
                .record(h, now, now.saturating_sub(created).as_secs_f64());
        }
    }

    /// A start build that held its daemon ended some other way (cancelled
    /// with its daemon): forget its wait.
    pub(super) fn forget_waiter(&mut self, now: SimTime, user: u32) {
        let Some(n) = self.node_pools.as_mut() else {
            return;
        };
        let before = n.waiting.len();
        n.waiting.retain(|w| w.user != user);
        if n.waiting.len() != before {
            let (g, len) = (n.waiting_gauge, n.waiting.len());
            self.rec.set(g, now, len as f64);
        }
    }

    /// The provider's time-out for a waiting workspace.
    pub(super) fn node_wait_timeout(&mut self, now: SimTime, user: u32, serial: u32) {
        let Some(n) = self.node_pools.as_mut() else {
            return;
        };
        let Some(pos) = n
            .waiting
            .iter()
            .position(|w| w.user == user && w.serial == serial)
        else {
            return;
        };
        let w = n.waiting.remove(pos).expect("found");
        let (g, len, c, h) = (n.waiting_gauge, n.waiting.len(), n.timeouts, n.wait_hist);
        self.rec.set(g, now, len as f64);
        self.rec.inc(c, now);
        self.rec
            .record(h, now, now.saturating_sub(w.since).as_secs_f64());
        self.prov
            .finish_held(now, w.daemon, w.job, false, &mut self.rec, &mut self.q);
        self.after_prov(now);
    }

    /// Place the waiting workspaces that fit now, first come first placed.
    fn serve_node_waiters(&mut self, now: SimTime) {
        let Some(n) = self.node_pools.as_mut() else {
            return;
        };
        let waiting = std::mem::take(&mut n.waiting);
        let mut kept = VecDeque::with_capacity(waiting.len());
        let mut placed = Vec::new();
        for w in waiting {
            if self.place(now, w.user) {
                placed.push(w);
            } else {
                kept.push_back(w);
            }
        }
        let n = self.node_pools.as_mut().expect("pools");
        n.waiting = kept;
        let (g, len, h) = (n.waiting_gauge, n.waiting.len(), n.wait_hist);
        self.rec.set(g, now, len as f64);
        for w in placed {
            self.rec
                .record(h, now, now.saturating_sub(w.since).as_secs_f64());
            self.prov
                .finish_held(now, w.daemon, w.job, true, &mut self.rec, &mut self.q);
        }
        self.after_prov(now);
    }

    /// A node of pool `p` finished starting.
    pub(super) fn node_ready(&mut self, now: SimTime, p: u32, i: u32, serial: u32) {
        let Some(n) = self.node_pools.as_mut() else {
            return;
        };
        let ps = &mut n.pools[p as usize];
        let node = &mut ps.nodes[i as usize];
        if !node.alive || node.ready || node.serial != serial {
            return;
        }
        node.ready = true;
        ps.n_starting -= 1;
        ps.n_ready += 1;
        self.pool_gauges(now, p);
        self.serve_node_waiters(now);
    }

    /// Start `k` nodes in pool `p`.
    fn add_nodes(&mut self, now: SimTime, p: u32, k: u32) {
        let spec = &self.s.deployment.node_pools[p as usize];
        let ps = &mut self.node_pools.as_mut().expect("pools").pools[p as usize];
        for _ in 0..k {
            let delay = spec.startup_delay_s.sample(&mut ps.rng).max(0.0);
            let (i, serial) = match ps.free_slots.pop() {
                Some(i) => {
                    let serial = ps.nodes[i as usize].serial.wrapping_add(1);
                    ps.nodes[i as usize] = empty_node(false, serial);
                    (i, serial)
                }
                None => {
                    ps.nodes.push(empty_node(false, 0));
                    (ps.nodes.len() as u32 - 1, 0)
                }
            };
            ps.n_starting += 1;
            self.q.push(
                now + SimTime::from_secs_f64(delay),
                PRIO_CONTROL,
                Ev::NodeReady {
                    pool: p,
                    node: i,
                    serial,
                },
            );
        }
        // No event mark: a day has hundreds of node changes, and the
        // nodes figure draws them.
        self.pool_gauges(now, p);
    }

    /// The cluster autoscaler's scan of pool `p`.
    pub(super) fn pool_scan(&mut self, now: SimTime, p: u32) {
        let s = self.s;
        let spec = &s.deployment.node_pools[p as usize];
        self.q.push(
            now + spec.scan_interval,
            PRIO_CONTROL,
            Ev::PoolScan { pool: p },
        );
        let Some(n) = self.node_pools.as_ref() else {
            return;
        };
        // Scale up for the waiting workspaces this pool is first to take.
        let room = |q: u32| {
            let ps = &n.pools[q as usize];
            ps.n_ready + ps.n_starting < s.deployment.node_pools[q as usize].max_nodes
        };
        let mine: Vec<&WorkspaceResources> = n
            .waiting
            .iter()
            .filter_map(|w| {
                let t = self.users[w.user as usize].template as usize;
                let first = n.template_pools[t]
                    .iter()
                    .copied()
                    .find(|&q| room(q) || q == p);
                (first == Some(p)).then_some(&s.workload.templates[t].workspace)
            })
            .collect();
        let ps = &n.pools[p as usize];
        let total = ps.n_ready + ps.n_starting;
        let mut add = if mine.is_empty() {
            0
        } else {
            nodes_needed(spec, ps.n_starting, &mine)
        };
        // Coder's guidance: scale up at 80% CPU or memory used.
        if add == 0 && ps.n_starting == 0 && ps.n_ready > 0 {
            let ready = ps.n_ready as f64;
            let util = (ps.cpu_used / (ready * spec.alloc_vcpu()))
                .max(ps.mem_used / (ready * spec.alloc_bytes()));
            if util > spec.scale_up_utilization {
                add = 1;
            }
        }
        let add = add.min(spec.max_nodes.saturating_sub(total));
        if add > 0 {
            self.add_nodes(now, p, add);
            return;
        }
        // Scale down: underused for long enough, and its workspaces fit
        // elsewhere (none are moved, so: it has none).
        let ps = &mut self.node_pools.as_mut().expect("pools").pools[p as usize];
        let mut removed = 0;
        for (i, node) in ps.nodes.iter_mut().enumerate() {
            if !node.alive || !node.ready {
                continue;
            }
            let share = (node.cpu_req / spec.alloc_vcpu()).max(node.mem_req / spec.alloc_bytes());
            if share >= spec.scale_down_utilization || node.pods > 0 {
                node.underused_since = None;
                continue;
            }
            let since = *node.underused_since.get_or_insert(now);
            // Keep the headroom the utilisation trigger asked for: do not
            // remove a node if the rest would pass `scale_up_utilization`
            // (it would only be added again).
            let rest = (ps.n_ready - 1) as f64;
            let util_after = if rest > 0.0 {
                (ps.cpu_used / (rest * spec.alloc_vcpu()))
                    .max(ps.mem_used / (rest * spec.alloc_bytes()))
            } else if ps.cpu_used > 0.0 || ps.mem_used > 0.0 {
                f64::INFINITY
            } else {
                0.0
            };
            if now.saturating_sub(since) >= spec.scale_down_unneeded
                && ps.n_ready + ps.n_starting > spec.min_nodes
                && util_after <= spec.scale_up_utilization
            {
                node.alive = false;
                node.ready = false;
                ps.n_ready -= 1;
                ps.free_slots.push(i as u32);
                removed += 1;
            }
        }
        if removed > 0 {
            self.pool_gauges(now, p);
        }
    }
}

fn prov_prio_renege() -> u8 {
    crate::model::provisioner::PRIO_RENEGE
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Dist;

    fn pool(vcpu: f64, ram_gb: f64, alloc: f64, max_pods: u32) -> NodePool {
        NodePool {
            name: "p".into(),
            vcpu,
            ram_bytes: ram_gb * 1e9,
            allocatable: alloc,
            max_pods,
            min_nodes: 0,
            max_nodes: 10_000,
            labels: Default::default(),
            startup_delay_s: Dist::constant(60.0).unwrap(),
            scale_up_utilization: 0.8,
            scale_down_utilization: 0.5,
            scale_down_unneeded: SimTime::from_secs_f64(600.0),
            scan_interval: SimTime::from_secs_f64(10.0),
        }
    }

    fn ws(vcpu: f64, ram_gb: f64) -> WorkspaceResources {
        WorkspaceResources {
            vcpu,
            ram_bytes: ram_gb * 1e9,
            working_vcpu: 0.0,
            working_ram_bytes: 0.0,
            idle_vcpu: 0.0,
            idle_ram_bytes: 0.0,
            agent_vcpu: 0.0,
            agent_ram_bytes: 0.0,
            node_selector: Default::default(),
        }
    }

    /// Place `n` pods of `w` the way the world does: on the most-allocated
    /// ready node with room, else on a new node.
    fn pack(p: &NodePool, w: &WorkspaceResources, n: usize) -> Vec<Node> {
        let mut nodes: Vec<Node> = Vec::new();
        for _ in 0..n {
            let i = match pick_node(p, &nodes, w) {
                Some(i) => i,
                None => {
                    nodes.push(empty_node(true, 0));
                    nodes.len() - 1
                }
            };
            nodes[i].cpu_req += w.vcpu;
            nodes[i].mem_req += w.ram_bytes;
            nodes[i].pods += 1;
        }
        nodes
    }

    #[test]
    fn packing_uses_the_number_of_nodes_the_rule_gives_by_hand() {
        // 8 vCPU / 32 GB at 90% allocatable: 7.2 vCPU and 28.8 GB, so
        // floor(7.2 / 1) = 7 workspaces of 1 vCPU / 2 GB (memory would
        // allow 14): 100 workspaces need ceil(100 / 7) = 15 nodes.
        let p = pool(8.0, 32.0, 0.9, 110);
        let w = ws(1.0, 2.0);
        let nodes = pack(&p, &w, 100);
        assert_eq!(nodes.len(), 15);
        assert_eq!(nodes.iter().filter(|n| n.pods == 7).count(), 14);
        assert_eq!(nodes_needed(&p, 0, &vec![&w; 100]), 15);
        // Memory binds at 4 GB each: floor(28.8 / 4) = 7 too; at 5 GB, 5.
        assert_eq!(pack(&p, &ws(1.0, 5.0), 100).len(), 20);
        // The pod limit binds: 4 pods a node, 25 nodes.
        assert_eq!(pack(&pool(8.0, 32.0, 0.9, 4), &w, 100).len(), 25);
        // Two nodes already starting take the first 14.
        assert_eq!(nodes_needed(&p, 2, &vec![&w; 100]), 13);
    }
}
