//! `capsim size`: the cheapest architecture that meets every SLO with 95%
//! confidence, inside Coder's deployment guidance, and that survives losing
//! a coderd replica at the busiest time.
//!
//! The resources searched:
//!
//! | resource | values | scenario fields |
//! |---|---|---|
//! | coderd replicas | policy: `[sizing]` min..=max (3..=10); `--policy none`: 1 ..= max(12, 2 x given); `--max-replicas` caps either | `deployment.coderd.replicas` |
//! | coderd shape | the price file's `[coderd]` instance types, or [`RATE_VCPUS`] with [`RATE_RAM_PER_VCPU_BYTES`] when priced per vCPU; policy: at least 1 vCPU / 2 GB | `deployment.coderd.vcpu`, `.ram` |
//! | external provisioner daemons | 1 ..= max(64, 4 x given) (`--max-provisioners`); from 0 when built-in daemons exist | `deployment.provisioners.count` |
//! | database shape | `[database]` instance types, or [`DB_RATE_VCPUS`]; policy: at least 2 vCPU / 8 GB | `deployment.database.vcpu`, `.ram` |
//! | shape of every workspace proxy | `[proxies]` instance types, or [`RATE_VCPUS`] | `deployment.proxies[i].vcpu`, `.ram` |
//! | node shape, per node pool | the price file's `instance_types` named in `[sizing] node_shapes` (none: not searched) | `deployment.node_pools[i].vcpu`, `.ram` |
//! | warm nodes `min`, per node pool | `[sizing] node_pool_mins` (default 0, max/4, max/2, 3max/4) | `deployment.node_pools[i].min` |
//! | most nodes `max`, per node pool | `[sizing] node_pool_maxs` (default max/4, max/2, 3max/4, max, rounded up) | `deployment.node_pools[i].max` |
//!
//! A pool's `[sizing.node_pools.<pool>]` table (`shapes`, `mins`, `maxs`)
//! gives it its own ladders: each pool is searched on its own axes.
//!
//! With node pools an evaluation is costed on its runs' node-hours; the
//! pre-run cost (nodes at `min`) is a lower bound that orders the
//! best-first search, which keeps going while a key is below the cheapest
//! evaluated feasible cost.
//!
//! Coderd is searched as replicas x shape together (the best-first phase
//! steps either), so 3 x 2 vCPU and 6 x 1 vCPU are both candidates. A shape
//! is something one can buy: an instance type of the price file (two types
//! of the same vCPU and RAM are one shape, the cheaper), so no two
//! candidates share both price and shape.
//!
//! A resource is searched only when the scenario has it (coderd replicas > 0,
//! an external provisioner count, proxies) and no autoscaler drives it. With
//! the policy on and more users than `builtin_provisioners_max_users`, the
//! built-in daemons move to an external deployment that is sized instead.
//!
//! An architecture is *feasible* when no replication is saturated, for
//! every SLO the one-sided 95% Student-t bound of the mean across
//! replications meets the target, the policy's CPU ceilings hold the same
//! way, and (`--resilience n-1`, the default) the N-1 drill passes: the same
//! replications with one coderd replica killed (and restarted, as Kubernetes
//! does) at the workload's busiest time meet every SLO too. The busiest time
//! is the bucket of the highest API request rate in the first (largest)
//! architecture's runs. A scenario that kills a coderd replica itself is its
//! own drill. Every candidate runs the same seeds (common random numbers),
//! so the search compares architectures, not luck.
//!
//! The search uses monotonicity (more of a resource never makes an SLO
//! worse, which holds in the model up to noise):
//!
//! 1. the largest architecture (every resource at the top of its ladder) must
//!    be feasible, or nothing is;
//! 2. for each resource, with every other resource at its top, a binary
//!    search finds the smallest value that is feasible: no feasible
//!    architecture can have less of that resource, so these values are a
//!    lower bound `L` of the answer;
//! 3. a best-first search from `L` visits architectures in increasing cost
//!    (each step adds one rung of one resource); under monotonicity the first
//!    feasible one is the cheapest of all. Candidates of the same cost (to
//!    the cent) are all evaluated, and the one that survives losing a
//!    replica wins, then the one with fewer replicas (vertical first). It
//!    stops after `max_evaluations`.
//!
//! Finally the one-step-cheaper neighbours of the answer (one rung less of
//! one resource) are evaluated, to say which SLO, policy bound or drill each
//! of them fails: that is what binds each resource.

use super::sequential::{certain_miss, lower_bound};
use super::{SloCheck, check_slos, miss, policy};
use crate::cost::{MonthlyCost, PriceList, Pricing, monthly_cost};
use crate::format::{count_str, size as fmt_size};
use crate::scenario::{self, Action, Scenario, ScenarioError, ScheduledEvent, SizingPolicy};
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use std::path::Path;

/// A resource `size` can change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Resource {
    CoderdReplicas,
    CoderdVcpu,
    Provisioners,
    DatabaseVcpu,
    ProxyVcpu,
    /// A node pool's node shape (per pool).
    NodeShape,
    /// A node pool's warm minimum `min` (per pool).
    NodeMin,
    /// A node pool's maximum `max` (per pool): the autoscaler's cap.
    NodeMax,
}

impl Resource {
    pub const ALL: [Resource; 8] = [
        Resource::CoderdReplicas,
        Resource::CoderdVcpu,
        Resource::Provisioners,
        Resource::DatabaseVcpu,
        Resource::ProxyVcpu,
        Resource::NodeShape,
        Resource::NodeMin,
        Resource::NodeMax,
    ];
    /// The name used by `--resources` and in CSV headers.
    pub fn name(self) -> &'static str {
        match self {
            Resource::CoderdReplicas => "coderd_replicas",
            Resource::CoderdVcpu => "coderd_vcpu",
            Resource::Provisioners => "provisioners",
            Resource::DatabaseVcpu => "database_vcpu",
            Resource::ProxyVcpu => "proxy_vcpu",
            Resource::NodeShape => "node_vcpu",
            Resource::NodeMin => "node_min",
            Resource::NodeMax => "node_max",
        }
    }
    pub fn parse(s: &str) -> Option<Resource> {
        let s = s.trim().replace('-', "_");
        Resource::ALL.into_iter().find(|r| r.name() == s)
    }
    /// Words for tables.
    pub fn label(self) -> &'static str {
        match self {
            Resource::CoderdReplicas => "coderd replicas",
            Resource::CoderdVcpu => "coderd replica shape",
            Resource::Provisioners => "provisioner daemons",
            Resource::DatabaseVcpu => "database shape",
            Resource::ProxyVcpu => "proxy shape",
            Resource::NodeShape => "node shape",
            Resource::NodeMin => "minimum nodes",
            Resource::NodeMax => "maximum nodes",
        }
    }
}

/// vCPU sizes tried for a coderd replica or a proxy priced per vCPU.
pub const RATE_VCPUS: [f64; 6] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0];
/// vCPU sizes tried for a database priced per vCPU.
pub const DB_RATE_VCPUS: [f64; 7] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0];
/// RAM per vCPU of a shape priced per vCPU: 4 GB, the ratio of the standard
/// machine families the example price files list (n2-standard, m6i, and
/// Cloud SQL's baseline 2 vCPU / 8 GB in ../shared/data/sizing-rules.csv).
pub const RATE_RAM_PER_VCPU_BYTES: f64 = 4e9;

/// A machine shape one can buy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Shape {
    /// The price file's instance type (`None`: priced per vCPU and GB).
    pub instance: Option<String>,
    pub vcpu: f64,
    pub ram_bytes: f64,
}

impl Shape {
    /// `4 vCPU, 16 GB (n2-standard-4)`.
    pub fn label(&self) -> String {
        let base = format!(
            "{} vCPU, {}",
            count_str(self.vcpu),
            fmt_size(self.ram_bytes)
        );
        match &self.instance {
            Some(i) => format!("{base} ({i})"),
            None => base,
        }
    }
}

/// The shapes on offer for a component, smallest first, policy minimum applied.
pub fn shapes(pricing: &Pricing, rate_vcpus: &[f64], min_vcpu: f64, min_ram: f64) -> Vec<Shape> {
    let mut v: Vec<(Shape, f64)> = match pricing {
        Pricing::Instances(ts) => ts
            .iter()
            .map(|t| {
                (
                    Shape {
                        instance: Some(t.name.clone()),
                        vcpu: t.vcpu,
                        ram_bytes: t.ram_bytes,
                    },
                    t.per_hour,
                )
            })
            .collect(),
        Pricing::Rates { vcpu_hour, gb_hour } => rate_vcpus
            .iter()
            .map(|&c| {
                let ram = c * RATE_RAM_PER_VCPU_BYTES;
                (
                    Shape {
                        instance: None,
                        vcpu: c,
                        ram_bytes: ram,
                    },
                    c * vcpu_hour + ram / 1e9 * gb_hour,
                )
            })
            .collect(),
    };
    v.retain(|(s, _)| s.vcpu >= min_vcpu - 1e-9 && s.ram_bytes >= min_ram - 1.0);
    v.sort_by(|a, b| {
        a.0.vcpu
            .total_cmp(&b.0.vcpu)
            .then(a.0.ram_bytes.total_cmp(&b.0.ram_bytes))
            .then(a.1.total_cmp(&b.1))
    });
    // Two types of the same vCPU and RAM are one shape: keep the cheaper.
    v.dedup_by(|b, a| a.0.vcpu == b.0.vcpu && a.0.ram_bytes == b.0.ram_bytes);
    v.into_iter().map(|(s, _)| s).collect()
}

/// One searched resource and its ladder of values.
#[derive(Clone, Debug, Serialize)]
pub struct Dimension {
    pub resource: Resource,
    /// Increasing: counts, or the vCPU of each shape.
    pub ladder: Vec<f64>,
    /// For shape resources: the shape of each rung.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shapes: Vec<Shape>,
    /// The scenario's own value (vCPU for shapes).
    pub given: f64,
    /// The policy bound that set the bottom of the ladder, if any.
    pub floor: Option<String>,
    /// The policy bound that set the top of the ladder, if any.
    pub ceiling: Option<String>,
    /// Proxies the shape applies to.
    #[serde(skip)]
    n_proxies: usize,
    /// The node pool (index) a node resource applies to.
    #[serde(skip)]
    pool: usize,
    /// The node pool's name, for node resources.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pool_name: Option<String>,
    /// CSV columns carry the pool's name (more than one pool).
    #[serde(skip)]
    pool_in_column: bool,
}

impl Dimension {
    /// The value of rung `i` in words: `3`, `4 vCPU, 16 GB (n2-standard-4)`.
    pub fn show(&self, i: usize) -> String {
        match self.shapes.get(i) {
            Some(s) => s.label(),
            None => count_str(self.ladder[i]),
        }
    }
    /// Words for tables: the resource's, with the node pool's name.
    pub fn label(&self) -> String {
        match &self.pool_name {
            Some(p) => format!("{} (pool {p})", self.resource.label()),
            None => self.resource.label().to_string(),
        }
    }
    /// The CSV column: the resource's name, with the node pool's name when
    /// there is more than one pool.
    pub fn column(&self) -> String {
        match &self.pool_name {
            Some(p) if self.pool_in_column => format!("{}_{p}", self.resource.name()),
            _ => self.resource.name().to_string(),
        }
    }
    /// The rung whose value is `v` (for results that carry values).
    pub fn rung_of(&self, v: f64) -> Option<usize> {
        self.ladder.iter().position(|x| (x - v).abs() < 1e-9)
    }
}

/// Told how many simulations have just finished (for progress lines; it
/// changes no result).
#[derive(Clone)]
pub struct OnSimulations(pub std::sync::Arc<dyn Fn(u64) + Send + Sync>);

impl std::fmt::Debug for OnSimulations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OnSimulations")
    }
}

/// Whether a candidate must survive losing a coderd replica.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Resilience {
    /// The N-1 drill: lose one replica at the busiest time.
    N1,
    None,
}

/// Search bounds and choices.
#[derive(Clone, Debug)]
pub struct SizeOptions {
    pub seed: u64,
    pub replications: u32,
    /// Resources to search (`None`: every one the scenario has).
    pub resources: Option<Vec<Resource>>,
    pub max_replicas: Option<u32>,
    pub max_provisioners: Option<u32>,
    /// Evaluations allowed in the best-first phase.
    pub max_evaluations: usize,
    /// Apply the scenario's `[sizing]` policy (`--policy coder`, the default).
    pub policy: bool,
    pub resilience: Resilience,
    /// Called after each candidate's replications (progress).
    pub on_simulations: Option<OnSimulations>,
    /// `--uncertainty N`: judge candidates over the model's uncertainty
    /// too ([`super::uncertainty::ConfidenceOver`]); the sets are drawn in
    /// [`Search::new`].
    pub uncertainty: Option<(usize, super::uncertainty::ConfidenceOver)>,
    /// The old search (`--exhaustive`): every candidate runs all its
    /// replications, each resource's binary search runs cold and alone.
    /// The default (`false`) stops a candidate's replications once it fails
    /// for certain ([`certain_miss`]), tries each resource's lower end
    /// first and runs the resources' binary searches side by side.
    pub exhaustive: bool,
}

impl SizeOptions {
    pub fn new(seed: u64, replications: u32) -> Self {
        SizeOptions {
            seed,
            replications,
            resources: None,
            max_replicas: None,
            max_provisioners: None,
            max_evaluations: 60,
            policy: true,
            resilience: Resilience::N1,
            on_simulations: None,
            uncertainty: None,
            exhaustive: false,
        }
    }
}

/// The dimensions `size` searches in `s` (already with the policy's moves,
/// see [`Search::new`]).
pub fn dimensions(s: &Scenario, opts: &SizeOptions, prices: &PriceList) -> Vec<Dimension> {
    let pol = opts.policy.then_some(&s.sizing);
    let d = &s.deployment;
    let c = &d.coderd;
    let wanted = |r: Resource| opts.resources.as_ref().is_none_or(|v| v.contains(&r));
    let mut out = Vec::new();
    let has_coderd = c.n_replicas > 0;
    let counts = |resource, lo: u32, hi: u32, given: u32, floor, ceiling| Dimension {
        resource,
        ladder: (lo..=hi.max(lo)).map(f64::from).collect(),
        shapes: vec![],
        given: given as f64,
        floor,
        ceiling,
        n_proxies: 0,
        pool: 0,
        pool_name: None,
        pool_in_column: false,
    };
    if has_coderd && s.autoscaling.coderd.is_none() && wanted(Resource::CoderdReplicas) {
        let (lo, hi, floor, ceiling) = match pol {
            Some(p) => {
                let hi = opts
                    .max_replicas
                    .map_or(p.max_coderd_replicas, |m| m.min(p.max_coderd_replicas));
                let ceiling = (hi == p.max_coderd_replicas).then(|| policy::max_replicas_text(p));
                (
                    p.min_coderd_replicas,
                    hi,
                    Some(policy::min_replicas_text(p)),
                    ceiling,
                )
            }
            None => (
                1,
                opts.max_replicas.unwrap_or((2 * c.n_replicas).max(12)),
                None,
                None,
            ),
        };
        out.push(counts(
            Resource::CoderdReplicas,
            lo.max(1),
            hi,
            c.n_replicas,
            floor,
            ceiling,
        ));
    }
    let shaped = |resource, pricing: &Pricing, rates: &[f64], min: (f64, f64), floor, given, n| {
        let sh = shapes(pricing, rates, min.0, min.1);
        (!sh.is_empty()).then(|| Dimension {
            resource,
            ladder: sh.iter().map(|x| x.vcpu).collect(),
            shapes: sh,
            given,
            floor,
            ceiling: None,
            n_proxies: n,
            pool: 0,
            pool_name: None,
            pool_in_column: false,
        })
    };
    if has_coderd && wanted(Resource::CoderdVcpu) {
        let (min, floor) = match pol {
            Some(p) => (
                (p.min_coderd_vcpu, p.min_coderd_ram_bytes),
                Some(policy::min_coderd_shape_text(p)),
            ),
            None => ((0.0, 0.0), None),
        };
        out.extend(shaped(
            Resource::CoderdVcpu,
            &prices.coderd.pricing,
            &RATE_VCPUS,
            min,
            floor,
            c.vcpu_per_replica,
            0,
        ));
    }
    let external = d.provisioner_groups.iter().find(|g| g.name == "external");
    if let Some(g) = external
        && s.autoscaling.provisioners.is_none()
        && wanted(Resource::Provisioners)
    {
        let builtin = c.n_replicas * c.builtin_provisioners_per_replica;
        let lo = if builtin > 0 { 0 } else { 1 };
        let max = opts
            .max_provisioners
            .unwrap_or((4 * g.n_daemons).max(64))
            .max(lo);
        out.push(counts(
            Resource::Provisioners,
            lo,
            max,
            g.n_daemons,
            None,
            None,
        ));
    }
    if has_coderd && wanted(Resource::DatabaseVcpu) {
        let (min, floor) = match pol {
            Some(p) => (
                (p.min_database_vcpu, p.min_database_ram_bytes),
                Some(policy::min_database_text(p)),
            ),
            None => ((0.0, 0.0), None),
        };
        out.extend(shaped(
            Resource::DatabaseVcpu,
            &prices.database.pricing,
            &DB_RATE_VCPUS,
            min,
            floor,
            d.database.vcpu,
            0,
        ));
    }
    if !d.proxies.is_empty() && wanted(Resource::ProxyVcpu) {
        out.extend(shaped(
            Resource::ProxyVcpu,
            &prices.proxies.pricing,
            &RATE_VCPUS,
            (0.0, 0.0),
            None,
            d.proxies[0].vcpu,
            d.proxies.len(),
        ));
    }
    out.extend(node_dimensions(s, opts, prices));
    out
}

/// Per node pool, each on its own axes: its shape among the instance
/// types of the price file named in `[sizing.node_pools.<pool>] shapes`
/// (else `[sizing] node_shapes`; none: not searched), its warm minimum
/// among `mins` (else `node_pool_mins`, else 0 and a quarter, half and
/// three quarters of the pool's `max`) and its maximum among `maxs` (else
/// `node_pool_maxs`, else a quarter, half, three quarters and all of the
/// pool's `max`, rounded up). Node-hours are priced from the runs.
///
/// What `max` means to a planner: it caps the autoscaler's scale-up, a
/// guard rail on cost (a herd never buys more than `max` nodes). Too low,
/// and starts wait for room, past the provider's time-out fail: the
/// start-time and failed-build SLOs decide how low it can go. A candidate
/// whose warm minimum is above its maximum keeps `max` warm nodes (see
/// [`node_min_clamps`]); warm minimums above the largest maximum tried are
/// dropped.
fn node_dimensions(s: &Scenario, opts: &SizeOptions, prices: &PriceList) -> Vec<Dimension> {
    let wanted = |r: Resource| opts.resources.as_ref().is_none_or(|v| v.contains(&r));
    let sz = &s.sizing;
    let n_pools = s.deployment.node_pools.len();
    let mut out = Vec::new();
    for (k, p) in s.deployment.node_pools.iter().enumerate() {
        let own = sz.node_pools.get(&p.name).cloned().unwrap_or_default();
        let or = |a: Vec<u32>, b: &[u32]| if a.is_empty() { b.to_vec() } else { a };
        let dim = |resource, ladder: Vec<f64>, shapes: Vec<Shape>, given| Dimension {
            resource,
            ladder,
            shapes,
            given,
            floor: None,
            ceiling: None,
            n_proxies: 0,
            pool: k,
            pool_name: Some(p.name.clone()),
            pool_in_column: n_pools > 1,
        };
        let names = if own.shapes.is_empty() {
            &sz.node_shapes
        } else {
            &own.shapes
        };
        if wanted(Resource::NodeShape) && !names.is_empty() {
            let listed: Vec<_> = prices
                .instance_types
                .iter()
                .filter(|t| names.contains(&t.name))
                .cloned()
                .collect();
            let sh = shapes(&Pricing::Instances(listed), &[], 0.0, 0.0);
            if !sh.is_empty() {
                let ladder = sh.iter().map(|x| x.vcpu).collect();
                out.push(dim(Resource::NodeShape, ladder, sh, p.vcpu));
            }
        }
        let mut maxs = or(own.maxs, &sz.node_pool_maxs);
        if maxs.is_empty() {
            maxs = (1..=4).map(|q| (p.max_nodes * q).div_ceil(4)).collect();
        }
        let search_max = wanted(Resource::NodeMax);
        let search_min = wanted(Resource::NodeMin);
        if !search_min {
            // The pool's own `min` stays: a smaller cap is no architecture.
            maxs.retain(|&m| m >= p.min_nodes);
        }
        maxs.sort_unstable();
        maxs.dedup();
        let top_max = if search_max {
            maxs.last().copied()
        } else {
            Some(p.max_nodes)
        };
        if search_min {
            let mut mins = or(own.mins, &sz.node_pool_mins);
            if mins.is_empty() {
                mins = (0..4).map(|q| p.max_nodes * q / 4).collect();
            }
            mins.retain(|&n| top_max.is_some_and(|m| n <= m));
            mins.sort_unstable();
            mins.dedup();
            if !mins.is_empty() {
                let ladder = mins.into_iter().map(f64::from).collect();
                out.push(dim(
                    Resource::NodeMin,
                    ladder,
                    vec![],
                    f64::from(p.min_nodes),
                ));
            }
        }
        if search_max && !maxs.is_empty() {
            let ladder = maxs.into_iter().map(f64::from).collect();
            out.push(dim(
                Resource::NodeMax,
                ladder,
                vec![],
                f64::from(p.max_nodes),
            ));
        }
    }
    out
}

/// Overrides that keep a candidate's warm minimum within its maximum: a
/// pool whose `min` rung is above its `max` rung keeps `max` warm nodes
/// (the same architecture as `min = max`), so more of either never loads
/// less. Applied after the dimensions' own overrides.
fn node_min_clamps(dims: &[Dimension], point: &[usize]) -> Vec<(String, toml::Value)> {
    (0..dims.len())
        .filter_map(|i| {
            let v = clamped_min(dims, point, i)?;
            Some((
                format!("deployment.node_pools[{}].min", dims[i].pool),
                toml::Value::Integer(v as i64),
            ))
        })
        .collect()
}

/// The maximum of the same pool when dimension `i` is a warm minimum above
/// it at `point`.
fn clamped_min(dims: &[Dimension], point: &[usize], i: usize) -> Option<f64> {
    let d = &dims[i];
    if d.resource != Resource::NodeMin {
        return None;
    }
    let j = dims
        .iter()
        .position(|x| x.resource == Resource::NodeMax && x.pool == d.pool)?;
    let (min, max) = (d.ladder[point[i]], dims[j].ladder[point[j]]);
    (min > max).then_some(max)
}

/// Points `a` and `b` are one architecture: every rung the same but warm
/// minimums clamped to the same maximum (not simulated twice).
fn same_architecture(dims: &[Dimension], a: &[usize], b: &[usize]) -> bool {
    let (va, vb) = (point_values(dims, a), point_values(dims, b));
    dims.iter().enumerate().all(|(k, d)| match d.resource {
        Resource::NodeMin => va[k] == vb[k],
        _ => a[k] == b[k],
    })
}

/// Each dimension's value at `point` (vCPU for shapes), as simulated: a
/// warm minimum above its pool's maximum is the maximum.
pub fn point_values(dims: &[Dimension], point: &[usize]) -> Vec<f64> {
    dims.iter()
        .zip(point)
        .enumerate()
        .map(|(k, (d, &i))| clamped_min(dims, point, k).unwrap_or(d.ladder[i]))
        .collect()
}

impl Dimension {
    /// Scenario overrides that set this resource to rung `i`.
    pub fn overrides(&self, i: usize) -> Vec<(String, toml::Value)> {
        let int = |k: &str, v: f64| vec![(k.to_string(), toml::Value::Integer(v as i64))];
        let shape = |prefix: &str| {
            let s = &self.shapes[i];
            vec![
                (format!("{prefix}.vcpu"), toml::Value::Float(s.vcpu)),
                (
                    format!("{prefix}.ram"),
                    toml::Value::Integer(s.ram_bytes.round() as i64),
                ),
            ]
        };
        match self.resource {
            Resource::CoderdReplicas => int("deployment.coderd.replicas", self.ladder[i]),
            Resource::Provisioners => int("deployment.provisioners.count", self.ladder[i]),
            Resource::CoderdVcpu => shape("deployment.coderd"),
            Resource::DatabaseVcpu => shape("deployment.database"),
            Resource::ProxyVcpu => (0..self.n_proxies)
                .flat_map(|p| shape(&format!("deployment.proxies[{p}]")))
                .collect(),
            Resource::NodeShape => shape(&format!("deployment.node_pools[{}]", self.pool)),
            Resource::NodeMin => int(
                &format!("deployment.node_pools[{}].min", self.pool),
                self.ladder[i],
            ),
            Resource::NodeMax => int(
                &format!("deployment.node_pools[{}].max", self.pool),
                self.ladder[i],
            ),
        }
    }
}

/// The N-1 drill's outcome for one candidate.
#[derive(Clone, Debug, Serialize)]
pub struct DrillOutcome {
    pub slos: Vec<SloCheck>,
    pub saturated: bool,
    pub feasible: bool,
}

/// One evaluated architecture.
#[derive(Clone, Debug, Serialize)]
pub struct Evaluation {
    /// Rung of each dimension.
    pub point: Vec<usize>,
    /// Value of each dimension (vCPU for shapes).
    pub values: Vec<f64>,
    /// Monthly cost (infinite when it cannot be costed or loaded).
    pub cost: f64,
    pub cost_detail: Option<MonthlyCost>,
    pub slos: Vec<SloCheck>,
    /// The policy's CPU ceilings (empty with `--policy none`).
    pub policy: Vec<SloCheck>,
    /// The N-1 drill (`None`: not run, because the candidate already fails,
    /// the scenario is its own drill, or `--resilience none`).
    pub drill: Option<DrillOutcome>,
    pub saturated: bool,
    pub feasible: bool,
    /// A scenario or costing error for this point.
    pub error: Option<String>,
    /// The candidate on the parameter sets of `--uncertainty` (`None`: not
    /// asked for, or not run because the plain checks already fail).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub over_sets: Option<super::uncertainty::CandidateOverSets>,
    /// Replications of the candidate run (fewer than asked when it failed
    /// for certain before the last, see [`certain_miss`]; its checks are
    /// then judged on these).
    pub replications_run: u32,
    /// Simulations run for this candidate (its replications and its drill's).
    pub simulations: u64,
    /// It failed for certain before all its replications (or its drill's) ran.
    pub stopped_early: bool,
}

impl Evaluation {
    /// The monthly cost in cents (ties are judged to the cent).
    pub fn cents(&self) -> i64 {
        cents(self.cost)
    }
    /// What this architecture fails (with 95% confidence), in words.
    pub fn failures(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        if let Some(e) = &self.error {
            out.push(e.clone());
        }
        if self.saturated {
            out.push("saturated".into());
        }
        out.extend(self.slos.iter().filter(|s| !s.confident).map(miss));
        out.extend(self.policy.iter().filter(|s| !s.confident).map(miss));
        if let Some(d) = &self.drill {
            if d.saturated {
                out.push("N-1 drill: saturated".into());
            }
            out.extend(
                d.slos
                    .iter()
                    .filter(|s| !s.confident)
                    .map(|s| format!("N-1 drill: {}", miss(s))),
            );
        }
        if let Some(u) = self.over_sets.as_ref().filter(|u| u.decides) {
            out.extend(u.failures());
        }
        out
    }
    /// `pass`, `fails SLO`, `fails policy`, `fails N-1 drill`, `saturated`
    /// or `error`: the first thing that fails.
    pub fn verdict(&self) -> &'static str {
        if self.error.is_some() {
            "error"
        } else if self.saturated {
            "saturated"
        } else if self.slos.iter().any(|s| !s.confident) {
            "fails SLO"
        } else if self.policy.iter().any(|s| !s.confident) {
            "fails policy"
        } else if self.drill.as_ref().is_some_and(|d| !d.feasible) {
            "fails N-1 drill"
        } else if self
            .over_sets
            .as_ref()
            .is_some_and(|u| u.decides && !u.feasible)
        {
            "fails over model uncertainty"
        } else {
            "pass"
        }
    }
}

/// `x` in cents (`i64::MAX` when not finite).
fn cents(x: f64) -> i64 {
    if x.is_finite() {
        (x * 100.0).round() as i64
    } else {
        i64::MAX
    }
}

/// What set one resource of the recommendation.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Binding {
    pub resource: Resource,
    /// The node pool, for a node resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<String>,
    /// `slo`, `policy`, `drill`, `saturation`, `offer` (the smallest on
    /// offer), `tie` (a same-cost candidate lost the tie rule) or `limit`
    /// (the search stopped).
    pub kind: String,
    /// In words: the SLO and its value against the target, or the bound.
    pub what: String,
}

impl Binding {
    /// The resource in words, with its node pool: `minimum nodes (pool gpu)`.
    pub fn label(&self) -> String {
        match &self.pool {
            Some(p) => format!("{} (pool {p})", self.resource.label()),
            None => self.resource.label().to_string(),
        }
    }
}

/// The drill's time and how it was chosen.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Drill {
    /// Simulated time of the replica loss, s.
    pub at_s: f64,
    /// The time of day, `09:10`.
    pub time_of_day: String,
    /// `busiest`: the drill's own loss at the busiest bucket; `scenario`:
    /// the scenario's own `kill_replica`.
    pub source: String,
}

/// The result of one search.
#[derive(Clone, Debug, Serialize)]
pub struct SizeResult {
    pub scenario: String,
    pub dimensions: Vec<Dimension>,
    /// The cheapest feasible architecture found.
    pub recommended: Option<Evaluation>,
    /// Users of the scenario (0 without users), for cost per user.
    pub users: u32,
    /// What set each resource of the recommendation.
    pub binding: Vec<Binding>,
    /// The policy applied (`None`: `--policy none`).
    pub policy: Option<SizingPolicy>,
    /// What the policy changed in the scenario before the search.
    pub policy_notes: Vec<String>,
    /// What else a reader should know about this search.
    pub notes: Vec<String>,
    pub resilience: Resilience,
    /// The N-1 drill (`None`: `--resilience none` or no coderd).
    pub drill: Option<Drill>,
    /// The largest architecture (every resource at its top), when nothing is feasible.
    pub largest: Option<Evaluation>,
    /// Strictly cheaper than the recommendation by one rung less of one
    /// resource, most expensive first.
    pub cheaper: Vec<Evaluation>,
    /// Every evaluated architecture, in evaluation order.
    pub evaluated: Vec<Evaluation>,
    /// Per dimension: the smallest rung feasible with every other resource at its top.
    pub lower_bounds: Vec<usize>,
    pub evaluations: usize,
    pub simulations: u64,
    /// Candidates whose replications stopped once they failed for certain.
    pub stopped_early: usize,
    /// Of those, the ones run to the end later (the recommendation's
    /// neighbours, whose values the report shows).
    pub completed: usize,
    /// Candidates in the whole grid (the product of the ladders' lengths).
    pub grid: u64,
    /// The old search (`--exhaustive`).
    pub exhaustive: bool,
    pub replications: u32,
    pub seed: u64,
    /// The best-first phase hit `max_evaluations`.
    pub truncated: bool,
    pub currency: String,
    /// `--uncertainty`: the parameter sets and the mode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uncertainty: Option<super::uncertainty::SizeUncertainty>,
}

impl SizeResult {
    /// The monthly cost per user of the recommendation.
    pub fn cost_per_user(&self) -> Option<f64> {
        let r = self.recommended.as_ref()?;
        (self.users > 0 && r.cost.is_finite()).then(|| r.cost / self.users as f64)
    }
}

/// Order of the best-first heap: cheapest (to the cent) first; at equal
/// cost more than one replica (survives losing one) first, then fewer
/// replicas (vertical first), then rungs.
#[derive(PartialEq, Eq)]
struct Key(i64, (bool, u32), Vec<usize>);
impl PartialOrd for Key {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Key {
    fn cmp(&self, o: &Self) -> Ordering {
        // Reversed: BinaryHeap is a max-heap.
        (o.0, o.1, &o.2).cmp(&(self.0, self.1, &self.2))
    }
}

/// The search state: the scenario, the evaluations made so far (cached by point).
pub struct Search<'a> {
    path: &'a Path,
    /// The scenario file and its bases, read once.
    merged: scenario::load::Merged,
    /// The scenario's name (with the base overrides).
    name: String,
    users: u32,
    base: Vec<(String, toml::Value)>,
    prices: &'a PriceList,
    opts: SizeOptions,
    policy: Option<SizingPolicy>,
    policy_notes: Vec<String>,
    /// The scenario's own coderd replica loss (its own drill), s.
    own_kill_s: Option<f64>,
    drill_at_s: Option<f64>,
    start_tod_s: f64,
    pub dims: Vec<Dimension>,
    cache: BTreeMap<Vec<usize>, Evaluation>,
    order: Vec<Vec<usize>>,
    pub simulations: u64,
    /// `--uncertainty`: the parameter sets and the mode.
    uncertainty: Option<super::uncertainty::SizeUncertainty>,
    /// Candidates whose replications stopped early.
    stopped_early: usize,
    /// Candidates that stopped early and were completed later.
    completed: usize,
}

impl<'a> Search<'a> {
    /// Prepare a search of the scenario at `path` with `base` overrides
    /// (`--slo`, `--set`, the user count of `--growth`).
    pub fn new(
        path: &'a Path,
        mut base: Vec<(String, toml::Value)>,
        prices: &'a PriceList,
        opts: SizeOptions,
    ) -> Result<Search<'a>, ScenarioError> {
        let merged = scenario::load::read_merged(path)?;
        let s0 = scenario::load::resolve_with_overrides(merged.clone(), path, &base)?;
        let policy = opts.policy.then(|| s0.sizing.clone());
        let mut policy_notes = Vec::new();
        if let Some(p) = &policy {
            let moved = policy::builtin_to_move(&s0, p);
            if moved > 0 {
                base.push((
                    "deployment.coderd.builtin_provisioners".into(),
                    toml::Value::Integer(0),
                ));
                let has_external = s0
                    .deployment
                    .provisioner_groups
                    .iter()
                    .any(|g| g.name == "external");
                if !has_external {
                    base.push((
                        "deployment.provisioners.count".into(),
                        toml::Value::Integer(moved as i64),
                    ));
                }
                policy_notes.push(format!(
                    "policy: the {moved} built-in provisioner daemons run as external daemons instead (Coder's guidance: CODER_PROVISIONER_DAEMONS=0 above {} users)",
                    p.builtin_provisioners_max_users
                ));
            }
        }
        let s = scenario::load::resolve_with_overrides(merged.clone(), path, &base)?;
        // Node shapes, for every pool and per pool, are instance types of
        // the price file.
        let listed = std::iter::once(("sizing.node_shapes".to_string(), &s.sizing.node_shapes))
            .chain(
                s.sizing
                    .node_pools
                    .iter()
                    .map(|(p, l)| (format!("sizing.node_pools.{p}.shapes"), &l.shapes)),
            );
        for (field, names) in listed {
            if let Some(unknown) = names
                .iter()
                .find(|n| !prices.instance_types.iter().any(|t| &t.name == *n))
            {
                let known: Vec<&str> = prices
                    .instance_types
                    .iter()
                    .map(|t| t.name.as_str())
                    .collect();
                return Err(ScenarioError {
                    location: merged.map.locate(&field),
                    field: Some(field),
                    message: format!(
                        "expected instance types of the price file ({}), found {unknown:?}",
                        known.join(", ")
                    ),
                });
            }
        }
        let dims = dimensions(&s, &opts, prices);
        // The sets come from the model, which no candidate changes: drawn
        // once, as `run --uncertainty` draws them for this scenario and seed.
        let uncertainty = opts
            .uncertainty
            .map(|(n, over)| super::uncertainty::SizeUncertainty {
                sets: crate::sensitivity::uncertainty::latin_hypercube(
                    &s.uncertain_params(),
                    n,
                    opts.seed,
                ),
                over,
            });
        let own_kill_s = s
            .events
            .iter()
            .find(|e| matches!(e.action, Action::KillReplica { .. }))
            .map(|e| e.at.as_secs_f64());
        Ok(Search {
            path,
            merged,
            name: s.name.clone(),
            users: s.workload.users.as_ref().map_or(0, |u| u.n_users),
            base,
            prices,
            policy,
            policy_notes,
            own_kill_s,
            drill_at_s: None,
            start_tod_s: s.start_time_of_day.as_secs_f64(),
            opts,
            dims,
            cache: BTreeMap::new(),
            order: Vec::new(),
            simulations: 0,
            uncertainty,
            stopped_early: 0,
            completed: 0,
        })
    }

    fn overrides(&self, point: &[usize]) -> Vec<(String, toml::Value)> {
        let mut o = self.base.clone();
        for (d, &i) in self.dims.iter().zip(point) {
            o.extend(d.overrides(i));
        }
        o.extend(node_min_clamps(&self.dims, point));
        o
    }

    /// Load the architecture at `point` and cost it (no simulation).
    pub fn load(&self, point: &[usize]) -> Result<(Scenario, MonthlyCost), String> {
        let s = scenario::load::resolve_with_overrides(
            self.merged.clone(),
            self.path,
            &self.overrides(point),
        )
        .map_err(|e| e.to_string())?;
        let c = monthly_cost(&s, self.prices, None)?;
        Ok((s, c))
    }

    fn cost(&self, point: &[usize]) -> f64 {
        self.load(point).map_or(f64::INFINITY, |(_, c)| c.total)
    }

    fn values(&self, point: &[usize]) -> Vec<f64> {
        point_values(&self.dims, point)
    }

    /// Coderd replicas at `point`.
    fn replicas(&self, point: &[usize]) -> u32 {
        match self
            .dims
            .iter()
            .position(|d| d.resource == Resource::CoderdReplicas)
        {
            Some(i) => self.dims[i].ladder[point[i]] as u32,
            None => self
                .load(point)
                .map_or(0, |(s, _)| s.deployment.coderd.n_replicas),
        }
    }

    fn key(&self, point: Vec<usize>) -> Key {
        let n = self.replicas(&point);
        Key(cents(self.cost(&point)), (n < 2, n), point)
    }

    /// Evaluate `point` (simulating it unless it was evaluated before).
    pub fn evaluate(&mut self, point: &[usize]) -> &Evaluation {
        if !self.cache.contains_key(point) {
            let (e, busiest) = match self.reuse(point) {
                Some(e) => (e, None),
                None => self.run(point, self.drill_at_s, self.early()),
            };
            self.record(e, busiest);
        }
        &self.cache[point]
    }

    /// Evaluate the points not evaluated yet side by side (each is a pure
    /// function of its point and the seeds), recorded in the order given, so
    /// the result does not depend on the threads. A point that is the same
    /// architecture as one evaluated (or as an earlier one here) takes its
    /// evaluation, as [`Self::evaluate`] does.
    fn evaluate_all(&mut self, points: &[Vec<usize>]) {
        use rayon::prelude::*;
        let mut todo: Vec<&Vec<usize>> = Vec::new();
        for p in points {
            if !self.cache.contains_key(p) && !todo.contains(&p) {
                todo.push(p);
            }
        }
        // The ones to simulate: no architecture evaluated or earlier here.
        let mut fresh: Vec<&Vec<usize>> = Vec::new();
        for &p in &todo {
            if self.reuse(p).is_none() && !fresh.iter().any(|q| same_architecture(&self.dims, q, p))
            {
                fresh.push(p);
            }
        }
        if fresh.len() < 2 || self.drill_at_s.is_none() {
            for p in todo {
                self.evaluate(p);
            }
            return;
        }
        let (at, early) = (self.drill_at_s, self.early());
        let mut done: Vec<Option<Evaluation>> = fresh
            .par_iter()
            .map(|p| Some(self.run(p, at, early).0))
            .collect();
        for p in todo {
            match fresh.iter().position(|q| *q == p) {
                Some(k) => {
                    let e = done[k].take().expect("each fresh point is recorded once");
                    self.record(e, None);
                }
                None => {
                    self.evaluate(p);
                }
            }
        }
    }

    /// Stop a candidate's replications once it fails for certain (not with
    /// `--exhaustive`).
    fn early(&self) -> bool {
        !self.opts.exhaustive
    }

    /// The evaluation of an evaluated point that is the same architecture
    /// as `point` (a node pool's warm minimum above its maximum is the
    /// maximum), for `point`: nothing simulated for it.
    fn reuse(&self, point: &[usize]) -> Option<Evaluation> {
        let e = self
            .cache
            .values()
            .find(|e| same_architecture(&self.dims, &e.point, point))?;
        Some(Evaluation {
            point: point.to_vec(),
            simulations: 0,
            ..e.clone()
        })
    }

    /// Record an evaluation (in the order of the calls, whatever ran it)
    /// and count its simulations; `busiest`: the drill's time its runs found.
    fn record(&mut self, e: Evaluation, busiest: Option<f64>) {
        if self.drill_at_s.is_none() {
            self.drill_at_s = busiest;
        }
        self.simulations += e.simulations;
        // A reused evaluation stopped (and was counted) once.
        self.stopped_early += usize::from(e.stopped_early && e.simulations > 0);
        self.order.push(e.point.clone());
        self.cache.insert(e.point.clone(), e);
    }

    /// Run the rest of the replications of a candidate that stopped early,
    /// so that its checks are judged on all of them (the recommendation's
    /// neighbours, whose values the report shows). The verdict stays: it was
    /// certain. The same architecture completed before is taken as it is.
    fn complete(&mut self, point: &[usize]) {
        if !self.cache.get(point).is_some_and(|e| e.stopped_early) {
            return;
        }
        let done = self
            .cache
            .values()
            .find(|e| !e.stopped_early && same_architecture(&self.dims, &e.point, point))
            .map(|e| Evaluation {
                point: point.to_vec(),
                simulations: 0,
                ..e.clone()
            });
        let e = match done {
            Some(e) => e,
            None => {
                let (e, _) = self.run(point, self.drill_at_s, false);
                debug_assert_eq!(e.feasible, self.cache[point].feasible);
                self.simulations += e.simulations;
                self.completed += 1;
                e
            }
        };
        self.cache.insert(point.to_vec(), e);
    }

    /// Replications `range` of `s`, side by side, time series dropped as
    /// each finishes (`keep_busiest`: but the API request rate per bucket,
    /// to find the busiest time).
    fn replicate(
        &self,
        s: &Scenario,
        range: std::ops::Range<u32>,
        keep_busiest: bool,
    ) -> Vec<crate::RunResult> {
        use rayon::prelude::*;
        let seed = self.opts.seed;
        let runs: Vec<crate::RunResult> = range
            .into_par_iter()
            .map(|r| {
                let mut run =
                    crate::model::simulate(s, crate::engine::rng::replication_seed(seed, r));
                let keep = keep_busiest
                    .then(|| {
                        run.series
                            .find(
                                crate::model::metric_names::API_REQUESTS_PER_SECOND,
                                "mean",
                                &[("class", "total")],
                            )
                            .cloned()
                    })
                    .flatten();
                run.series.series.clear();
                run.series.series.extend(keep);
                run
            })
            .collect();
        if let Some(f) = &self.opts.on_simulations {
            (f.0)(runs.len() as u64);
        }
        runs
    }

    /// The replications of `s` (the same seeds for every candidate). With
    /// `early`, replication 0 runs first and the others only when the
    /// candidate does not already fail for certain ([`Self::fails_for_certain`]);
    /// the second value says it stopped.
    fn replications(
        &self,
        s: &Scenario,
        keep_busiest: bool,
        early: bool,
        policy: bool,
    ) -> (Vec<crate::RunResult>, bool) {
        let n = self.opts.replications;
        let first = if early && n >= 2 { 1 } else { n };
        let mut runs = self.replicate(s, 0..first, keep_busiest);
        if first < n {
            if self.fails_for_certain(s, &runs, (n - first) as usize, policy) {
                return (runs, true);
            }
            runs.extend(self.replicate(s, first..n, keep_busiest));
        }
        (runs, false)
    }

    /// Whatever the `remaining` replications give, the candidate fails: a
    /// replication is saturated (a candidate must have none), or an SLO or
    /// (`policy`) a CPU ceiling misses for certain ([`certain_miss`]).
    fn fails_for_certain(
        &self,
        s: &Scenario,
        runs: &[crate::RunResult],
        remaining: usize,
        policy: bool,
    ) -> bool {
        if runs.iter().any(|r| r.saturated) {
            return true;
        }
        let cpu = match (&self.policy, policy) {
            (Some(p), true) => policy::cpu_checks(s, p, runs),
            _ => vec![],
        };
        check_slos(s, runs)
            .iter()
            .chain(&cpu)
            .any(|c| certain_miss(c, remaining))
    }

    /// The middle of the bucket with the highest mean API request rate
    /// across `runs` (earliest on ties), s.
    fn busiest_s(runs: &[crate::RunResult]) -> Option<f64> {
        let first = runs.first()?;
        let n = first.series.series.first()?.values.len();
        let mean: Vec<f64> = (0..n)
            .map(|b| {
                runs.iter()
                    .filter_map(|r| r.series.series.first()?.values.get(b).copied())
                    .filter(|v| v.is_finite())
                    .sum::<f64>()
            })
            .collect();
        let best = (0..n).fold(None, |acc: Option<usize>, b| match acc {
            Some(a) if mean[a] >= mean[b] => Some(a),
            _ => Some(b),
        })?;
        Some(first.series.start_s + (best as f64 + 0.5) * first.series.bucket_s)
    }

    fn drill_wanted(&self, s: &Scenario) -> bool {
        self.opts.resilience == Resilience::N1
            && s.deployment.coderd.n_replicas > 0
            && self.own_kill_s.is_none()
    }

    /// Evaluate `point`: a pure function of the point, the seeds and the
    /// drill's time `drill_at` (`None`: this is the first candidate, whose
    /// runs find the busiest time, returned second). `early`: stop the
    /// replications once the candidate fails for certain.
    fn run(
        &self,
        point: &[usize],
        drill_at: Option<f64>,
        early: bool,
    ) -> (Evaluation, Option<f64>) {
        let values = self.values(point);
        let (s, cost) = match self.load(point) {
            Ok(x) => x,
            Err(e) => {
                return (
                    Evaluation {
                        point: point.to_vec(),
                        values,
                        cost: f64::INFINITY,
                        cost_detail: None,
                        slos: vec![],
                        policy: vec![],
                        drill: None,
                        saturated: false,
                        feasible: false,
                        error: Some(e),
                        over_sets: None,
                        replications_run: 0,
                        simulations: 0,
                        stopped_early: false,
                    },
                    None,
                );
            }
        };
        // The busiest time is read from all the first candidate's replications.
        let want_busiest = drill_at.is_none();
        let (runs, mut stopped_early) =
            self.replications(&s, want_busiest, early && !want_busiest, true);
        let replications_run = runs.len() as u32;
        let mut simulations = runs.len() as u64;
        // Node pools: node-hours come from the runs, so the evaluation is
        // costed on them (the pre-run cost, at each pool's `min`, is a lower
        // bound that orders the best-first search).
        let cost = if s.deployment.node_pools.is_empty() {
            cost
        } else {
            let summary = crate::result::Summary::from_runs(&s, self.opts.seed, &runs);
            monthly_cost(&s, self.prices, Some(&summary)).unwrap_or(cost)
        };
        let busiest =
            want_busiest.then(|| Self::busiest_s(&runs).unwrap_or(s.warmup.as_secs_f64()));
        let drill_at = drill_at.or(busiest);
        let slos = check_slos(&s, &runs);
        let saturated = runs.iter().any(|r| r.saturated);
        let policy = match &self.policy {
            Some(p) => policy::cpu_checks(&s, p, &runs),
            None => vec![],
        };
        let mut feasible =
            super::meets_confidently(saturated, &slos) && policy.iter().all(|c| c.confident);
        let mut drill = None;
        if feasible && self.drill_wanted(&s) {
            let d = Self::drill_scenario(&s, drill_at);
            let (runs, stopped) = self.replications(&d, false, early, false);
            simulations += runs.len() as u64;
            stopped_early |= stopped;
            let slos = check_slos(&d, &runs);
            let saturated = runs.iter().any(|r| r.saturated);
            let ok = super::meets_confidently(saturated, &slos);
            feasible = ok;
            drill = Some(DrillOutcome {
                slos,
                saturated,
                feasible: ok,
            });
        }
        // `--confidence-over both`: the plain checks are necessary (the
        // model file's own values; their early stop stands), and the same
        // checks over the parameter sets, run in full, decide.
        let over_sets = match &self.uncertainty {
            Some(u) if feasible && u.over == super::uncertainty::ConfidenceOver::Both => {
                let (o, n) = self.over_sets(&s, drill_at, true);
                simulations += n;
                feasible = o.feasible;
                Some(o)
            }
            _ => None,
        };
        (
            Evaluation {
                point: point.to_vec(),
                values,
                cost: cost.total,
                cost_detail: Some(cost),
                slos,
                policy,
                drill,
                saturated,
                feasible,
                error: None,
                over_sets,
                replications_run,
                simulations,
                stopped_early,
            },
            busiest,
        )
    }

    /// Progress: `n` more simulations ran (the count itself is kept by
    /// the caller, in a fixed order).
    fn progress(&self, n: u64) {
        if let Some(f) = &self.opts.on_simulations {
            (f.0)(n);
        }
    }

    /// The evaluation of `p` as reported: under `--confidence-over noise`,
    /// also run on the parameter sets (reported, not judged).
    fn reported(&mut self, p: &[usize]) -> Evaluation {
        let mut e = self.cache[p].clone();
        if e.over_sets.is_none()
            && e.error.is_none()
            && self.uncertainty.is_some()
            && let Ok((s, _)) = self.load(p)
        {
            let (o, n) = self.over_sets(&s, self.drill_at_s, false);
            self.simulations += n;
            e.simulations += n;
            e.over_sets = Some(o);
        }
        e
    }

    /// `s` with a coderd replica lost at the drill's time `at`, s.
    fn drill_scenario(s: &Scenario, at: Option<f64>) -> Scenario {
        let mut d = s.clone();
        d.events.push(ScheduledEvent {
            at: crate::engine::SimTime::from_secs_f64(at.unwrap_or(0.0)),
            action: Action::KillReplica { replica: None },
        });
        d.events.sort_by_key(|e| e.at);
        d
    }

    /// The candidate `s` on the `--uncertainty` parameter sets, each with
    /// the search's replications and seeds: its SLOs and the policy's CPU
    /// ceilings judged over noise and model combined, then (when they pass
    /// and the candidate has a drill) the N-1 drill at `drill_at` on the
    /// same sets. `decides`: part of the verdict, not only reported. Pure
    /// (it may run beside other candidates): the simulations it ran are
    /// returned second, for the caller to count.
    fn over_sets(
        &self,
        s: &Scenario,
        drill_at: Option<f64>,
        decides: bool,
    ) -> (super::uncertainty::CandidateOverSets, u64) {
        use super::uncertainty::{CandidateOverSets, judge_sets};
        let sets: &[_] = self.uncertainty.as_ref().map_or(&[], |u| &u.sets);
        let reps = self.opts.replications;
        let runs = (sets.len() * reps as usize) as u64;
        let fail = |e: String, ran: u64| {
            (
                CandidateOverSets {
                    verdict: super::uncertainty::SetsVerdict {
                        slos: vec![],
                        policy: vec![],
                        saturated_sets: 0,
                    },
                    drill: None,
                    feasible: false,
                    error: Some(e),
                    decides,
                },
                ran,
            )
        };
        let verdict = match judge_sets(s, sets, self.opts.seed, reps, self.policy.as_ref()) {
            Ok(v) => v,
            Err(e) => return fail(e, 0),
        };
        self.progress(runs);
        let mut ran = runs;
        let mut feasible = verdict.feasible();
        let mut drill = None;
        if feasible && self.drill_wanted(s) {
            let d = Self::drill_scenario(s, drill_at);
            match judge_sets(&d, sets, self.opts.seed, reps, None) {
                Ok(v) => {
                    feasible = v.feasible();
                    drill = Some(v);
                }
                Err(e) => return fail(e, ran),
            }
            self.progress(runs);
            ran += runs;
        }
        (
            CandidateOverSets {
                verdict,
                drill,
                feasible,
                error: None,
                decides,
            },
            ran,
        )
    }

    /// `coderd replicas 8, coderd replica shape 1 vCPU, 4 GB, ...`.
    fn describe_point(&self, p: &[usize]) -> String {
        let values = point_values(&self.dims, p);
        self.dims
            .iter()
            .zip(p)
            .zip(values)
            .map(|((d, &i), v)| match d.shapes.get(i) {
                Some(s) => format!("{} {}", d.label(), s.label()),
                None => format!("{} {}", d.label(), count_str(v)),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// One rung less of one resource, for each resource not at its bottom.
    fn neighbours(&self, r: &[usize]) -> Vec<Vec<usize>> {
        (0..r.len())
            .filter(|&i| r[i] > 0)
            .map(|i| {
                let mut q = r.to_vec();
                q[i] -= 1;
                q
            })
            .collect()
    }

    fn top(&self) -> Vec<usize> {
        self.dims.iter().map(|d| d.ladder.len() - 1).collect()
    }

    /// Survives losing a replica: passed the drill (or, without one, has
    /// more than one replica).
    fn survives(&self, e: &Evaluation) -> bool {
        match &e.drill {
            Some(d) => d.feasible,
            None => self.replicas(&e.point) >= 2,
        }
    }

    /// What set each resource of the recommendation `r`.
    fn bindings(&mut self, r: &[usize], truncated: bool) -> Vec<Binding> {
        let mut out = Vec::new();
        for i in 0..self.dims.len() {
            let resource = self.dims[i].resource;
            let pool = self.dims[i].pool_name.clone();
            // A node resource's note names its pool.
            let b = |kind: &str, what: String| Binding {
                resource,
                kind: kind.into(),
                what: match &pool {
                    Some(p) => format!("pool {p}: {what}"),
                    None => what,
                },
                pool: pool.clone(),
            };
            if r[i] == 0 {
                out.push(match &self.dims[i].floor {
                    Some(f) => b("policy", f.clone()),
                    None => b("offer", "the smallest on offer".into()),
                });
                continue;
            }
            let mut q = r.to_vec();
            q[i] -= 1;
            let rec_cents = self.cache[r].cents();
            let e = self.evaluate(&q).clone();
            let first_slo = |v: &[SloCheck]| v.iter().find(|s| !s.confident).map(miss);
            out.push(if let Some(err) = &e.error {
                b("offer", format!("one less does not load: {err}"))
            } else if e.saturated {
                b("saturation", "one less is saturated".into())
            } else if let Some(m) = first_slo(&e.slos) {
                b("slo", m)
            } else if let Some(m) = first_slo(&e.policy) {
                b("policy", m)
            } else if let Some(d) = e.drill.as_ref().filter(|d| !d.feasible) {
                b(
                    "drill",
                    match first_slo(&d.slos) {
                        Some(m) => format!("N-1 drill: {m}"),
                        None => "N-1 drill: saturated".into(),
                    },
                )
            } else if let Some(u) = e.over_sets.as_ref().filter(|u| u.decides && !u.feasible) {
                b(
                    "model",
                    u.failures()
                        .into_iter()
                        .next()
                        .unwrap_or_else(|| "fails over model uncertainty".into()),
                )
            } else if e.feasible && e.cents() >= rec_cents {
                b(
                    "tie",
                    "one less costs the same: the tie rule (survives losing a replica, then fewer replicas) chose this".into(),
                )
            } else if truncated {
                b("limit", "the search stopped at its evaluation limit".into())
            } else {
                b("tie", "one less meets every check; the tie rule chose this".into())
            });
        }
        out
    }

    /// Run the search. `lower`: known lower bounds of the rungs (from a
    /// search for fewer users), or `None`.
    pub fn run_search(mut self, lower: Option<&[usize]>) -> SizeResult {
        let top = self.top();
        let n = self.dims.len();
        let mut lower_bounds = vec![0; n];
        let mut recommended: Option<Vec<usize>> = None;
        let mut largest = None;
        let mut truncated = false;
        let top_ok = self.evaluate(&top).feasible;
        if !top_ok {
            largest = Some(self.cache[&top].clone());
        } else {
            // 2. Per-resource lower bounds, every other resource at its top.
            let los: Vec<usize> = (0..n)
                .map(|i| {
                    lower
                        .and_then(|l| l.get(i).copied())
                        .unwrap_or(0)
                        .min(top[i])
                })
                .collect();
            if self.opts.exhaustive {
                for i in 0..n {
                    lower_bounds[i] = lower_bound(los[i], top[i], false, |rung| {
                        let mut p = top.clone();
                        p[i] = rung;
                        self.evaluate(&p).feasible
                    });
                }
            } else {
                // The resources' searches are independent (no two share a
                // point but the top): side by side, each trying its lower
                // end first, recorded in resource order.
                use rayon::prelude::*;
                let (at, early) = (self.drill_at_s, self.early());
                let this = &self;
                let chains: Vec<(usize, Vec<Evaluation>)> = (0..n)
                    .into_par_iter()
                    .map(|i| {
                        let mut done: Vec<Evaluation> = Vec::new();
                        let lb = lower_bound(los[i], top[i], true, |rung| {
                            let mut p = top.clone();
                            p[i] = rung;
                            if let Some(e) = this.cache.get(&p) {
                                return e.feasible;
                            }
                            if let Some(e) = done.iter().find(|e| e.point == p) {
                                return e.feasible;
                            }
                            // The same architecture (evaluated, or earlier
                            // in this chain) is taken, as `evaluate` does.
                            let e = this.reuse(&p).unwrap_or_else(|| {
                                match done
                                    .iter()
                                    .find(|e| same_architecture(&this.dims, &e.point, &p))
                                {
                                    Some(e) => Evaluation {
                                        point: p.clone(),
                                        simulations: 0,
                                        ..e.clone()
                                    },
                                    None => this.run(&p, at, early).0,
                                }
                            });
                            let ok = e.feasible;
                            done.push(e);
                            ok
                        });
                        (lb, done)
                    })
                    .collect();
                for (i, (lb, done)) in chains.into_iter().enumerate() {
                    lower_bounds[i] = lb;
                    for e in done {
                        self.record(e, None);
                    }
                }
            }
            // 3. Best-first from the lower bounds, in increasing cost; every
            // candidate of the first feasible cost is evaluated.
            let mut heap = BinaryHeap::new();
            let mut seen = BTreeSet::new();
            heap.push(self.key(lower_bounds.clone()));
            seen.insert(lower_bounds.clone());
            let mut steps = 0;
            let mut found: Option<i64> = None;
            let mut ties: Vec<Vec<usize>> = Vec::new();
            while let Some(Key(c, _, p)) = heap.pop() {
                if found.is_some_and(|f| c > f) {
                    break;
                }
                if steps >= self.opts.max_evaluations {
                    truncated = true;
                    break;
                }
                let fresh = !self.cache.contains_key(&p);
                let e = self.evaluate(&p);
                if e.feasible {
                    // The key is a lower bound of the evaluated cost (equal
                    // to it without node pools): keep the cheapest evaluated.
                    let a = e.cents().max(c);
                    match found {
                        Some(f) if a > f => {}
                        Some(f) if a == f => ties.push(p.clone()),
                        _ => {
                            found = Some(a);
                            ties = vec![p.clone()];
                        }
                    }
                    continue;
                }
                if fresh {
                    steps += 1;
                }
                for i in 0..n {
                    if p[i] < top[i] {
                        let mut q = p.clone();
                        q[i] += 1;
                        if seen.insert(q.clone()) {
                            heap.push(self.key(q));
                        }
                    }
                }
            }
            // The tie rule: survives losing a replica, then fewer replicas.
            recommended = ties
                .iter()
                .min_by_key(|p| {
                    let e = &self.cache[*p];
                    (!self.survives(e), self.replicas(p), (*p).clone())
                })
                .cloned();
            if recommended.is_none() {
                // Fall back on the cheapest feasible architecture evaluated.
                recommended = self
                    .cache
                    .values()
                    .filter(|e| e.feasible)
                    .min_by(|a, b| a.cents().cmp(&b.cents()).then(a.point.cmp(&b.point)))
                    .map(|e| e.point.clone());
            }
        }
        // Monotonicity holds up to noise only: if one rung less of some
        // resource is feasible and no dearer (and no worse by the tie rule),
        // step down to it, until no neighbour is: ties in cost go to less
        // (a node pool's lower `max` or `min` that costs the same).
        let mut notes = Vec::new();
        if let Some(mut r) = recommended.clone() {
            let start = r.clone();
            'descend: loop {
                if !self.opts.exhaustive {
                    // Every one-rung-less neighbour of the answer is
                    // evaluated (below and for the report): side by side.
                    let near = self.neighbours(&r);
                    self.evaluate_all(&near);
                }
                let rc = self.cache[&r].cents();
                let rank = |s: &Self, p: &[usize]| {
                    let e = &s.cache[p];
                    (e.cents(), !s.survives(e), s.replicas(p))
                };
                for i in 0..n {
                    if r[i] == 0 {
                        continue;
                    }
                    let mut q = r.clone();
                    q[i] -= 1;
                    let e = self.evaluate(&q).clone();
                    if e.feasible && e.cents() <= rc && rank(&self, &q) <= rank(&self, &r) {
                        r = q;
                        continue 'descend;
                    }
                }
                break;
            }
            if r != start {
                notes.push(if self.cache[&r].cents() < self.cache[&start].cents() {
                    format!(
                        "the best-first search stopped at {}; one rung less of a resource was also feasible and cheaper (the SLOs are not monotone in every resource here, e.g. a lost replica's connections), so the recommendation stepped down to it",
                        self.describe_point(&start)
                    )
                } else {
                    format!(
                        "the best-first search stopped at {}; less of a resource costs the same and meets every check (ties in cost go to less, e.g. a lower node pool `max` the runs never reach), so the recommendation stepped down to it",
                        self.describe_point(&start)
                    )
                });
                recommended = Some(r);
            }
        }
        // The strictly cheaper one-rung-less neighbours, and the bindings.
        let mut cheaper = Vec::new();
        let mut binding = Vec::new();
        if let Some(r) = recommended.clone() {
            // The neighbours' values are shown (what binds each resource,
            // why not cheaper): judged on all the replications.
            for q in self.neighbours(&r) {
                self.complete(&q);
            }
            binding = self.bindings(&r, truncated);
            let rc = self.cache[&r].cents();
            for i in 0..n {
                if r[i] > 0 {
                    let mut q = r.clone();
                    q[i] -= 1;
                    let e = self.evaluate(&q).clone();
                    if !e.feasible && e.cents() < rc {
                        cheaper.push(e);
                    }
                }
            }
            cheaper.sort_by(|a, b| b.cents().cmp(&a.cents()).then(a.point.cmp(&b.point)));
        }
        let drill = match (self.opts.resilience, self.own_kill_s, self.drill_at_s) {
            (Resilience::None, _, _) => None,
            (_, Some(at), _) => Some(("scenario", at)),
            // Also when only node pools are searched: their candidates run
            // the drill too, and the reader is told.
            (_, None, Some(at))
                if self.dims.iter().any(|d| {
                    matches!(d.resource, Resource::CoderdReplicas | Resource::CoderdVcpu)
                }) || self.cache.values().any(|e| e.drill.is_some()) =>
            {
                Some(("busiest", at))
            }
            _ => None,
        }
        .map(|(source, at_s)| Drill {
            at_s,
            time_of_day: crate::format::clock(self.start_tod_s + at_s, false),
            source: source.into(),
        });
        SizeResult {
            scenario: self.name.clone(),
            recommended: recommended.map(|p| self.reported(&p)),
            users: self.users,
            binding,
            policy: self.policy.clone(),
            policy_notes: self.policy_notes.clone(),
            notes,
            resilience: self.opts.resilience,
            drill,
            largest,
            cheaper,
            evaluated: self.order.iter().map(|p| self.cache[p].clone()).collect(),
            lower_bounds,
            evaluations: self.order.len(),
            simulations: self.simulations,
            stopped_early: self.stopped_early,
            completed: self.completed,
            grid: self
                .dims
                .iter()
                .map(|d| d.ladder.len() as u64)
                .fold(1u64, u64::saturating_mul),
            exhaustive: self.opts.exhaustive,
            replications: self.opts.replications,
            seed: self.opts.seed,
            truncated,
            currency: self.prices.currency.clone(),
            uncertainty: self.uncertainty.clone(),
            dimensions: self.dims,
        }
    }
}

/// Search the cheapest feasible architecture for the scenario at `path`.
pub fn size(
    path: &Path,
    base: Vec<(String, toml::Value)>,
    prices: &PriceList,
    opts: SizeOptions,
) -> Result<SizeResult, ScenarioError> {
    Ok(Search::new(path, base, prices, opts)?.run_search(None))
}

/// `--slo` in a compact form, as a scenario `[[slo]]` table:
/// `METRIC[{label=value,...}].STAT<=TARGET` or `>=TARGET`, for example
/// `build_queue_wait_seconds.mean<=30s` or
/// `api_latency_seconds{class=dashboard}.p95<=300ms`.
pub fn parse_slo(spec: &str) -> Result<toml::Value, String> {
    let bad = |why: &str| {
        format!(
            "--slo {spec}: {why}; expected METRIC[{{label=value}}].STAT<=TARGET such as api_latency_seconds{{class=dashboard}}.p95<=300ms"
        )
    };
    let (lhs, op, target) = if let Some((l, r)) = spec.split_once("<=") {
        (l, "max", r)
    } else if let Some((l, r)) = spec.split_once(">=") {
        (l, "min", r)
    } else {
        return Err(bad("no <= or >="));
    };
    let lhs = lhs.trim();
    let after_labels = lhs.rfind('}').map_or(0, |i| i + 1);
    let dot = lhs[after_labels..]
        .rfind('.')
        .map(|i| i + after_labels)
        .ok_or_else(|| bad("no .STAT"))?;
    let (metric_part, stat) = (&lhs[..dot], &lhs[dot + 1..]);
    let (metric, labels) = match metric_part.split_once('{') {
        Some((m, rest)) => {
            let inner = rest.strip_suffix('}').ok_or_else(|| bad("unclosed {"))?;
            let mut t = toml::Table::new();
            for kv in inner.split(',').filter(|s| !s.trim().is_empty()) {
                let (k, v) = kv.split_once('=').ok_or_else(|| bad("labels are k=v"))?;
                t.insert(
                    k.trim().to_string(),
                    toml::Value::String(v.trim().trim_matches('"').to_string()),
                );
            }
            (m, Some(t))
        }
        None => (metric_part, None),
    };
    if metric.trim().is_empty() || stat.trim().is_empty() || target.trim().is_empty() {
        return Err(bad("empty metric, statistic or target"));
    }
    let mut t = toml::Table::new();
    t.insert("name".into(), toml::Value::String(spec.trim().to_string()));
    t.insert("metric".into(), toml::Value::String(metric.trim().into()));
    t.insert("stat".into(), toml::Value::String(stat.trim().into()));
    if let Some(l) = labels {
        t.insert("labels".into(), toml::Value::Table(l));
    }
    t.insert(op.into(), super::parse_value(target));
    Ok(toml::Value::Table(t))
}

/// The `slo` override that replaces a scenario's SLOs with `--slo` ones.
pub fn slo_override(specs: &[String]) -> Result<Option<(String, toml::Value)>, String> {
    if specs.is_empty() {
        return Ok(None);
    }
    let v: Vec<toml::Value> = specs
        .iter()
        .map(|s| parse_slo(s))
        .collect::<Result<_, _>>()?;
    Ok(Some(("slo".into(), toml::Value::Array(v))))
}

/// Each dimension's resource and ladder (to tell whether rungs carry over).
type Ladders = Vec<(Resource, Vec<f64>)>;

/// One user count of `--growth` and its search.
#[derive(Clone, Debug, Serialize)]
pub struct GrowthPoint {
    pub users: u32,
    pub result: SizeResult,
}

/// Repeat the search for each user count (`workload.users.count`), using
/// each search's lower bounds as the next one's starting point (more users
/// never need less of a resource).
pub fn growth(
    path: &Path,
    base: Vec<(String, toml::Value)>,
    prices: &PriceList,
    opts: SizeOptions,
    users: &[u32],
    on_point: &mut dyn FnMut(&GrowthPoint),
) -> Result<Vec<GrowthPoint>, ScenarioError> {
    let mut sorted = users.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut out: Vec<GrowthPoint> = Vec::new();
    let mut lower: Option<(Ladders, Vec<usize>)> = None;
    for n in sorted {
        let mut b = base.clone();
        b.push((
            "workload.users.count".into(),
            toml::Value::Integer(n as i64),
        ));
        let search = Search::new(path, b, prices, opts.clone())?;
        // Ladders depend on the deployment and the options, not on the user
        // count, so the previous rungs carry over, unless the policy moved
        // built-in provisioners at this count (other dimensions).
        let ladders: Ladders = search
            .dims
            .iter()
            .map(|d| (d.resource, d.ladder.clone()))
            .collect();
        let carry = lower
            .as_ref()
            .filter(|(l, _)| *l == ladders)
            .map(|(_, b)| b.as_slice());
        let result = search.run_search(carry);
        if result.recommended.is_some() {
            lower = Some((ladders, result.lower_bounds.clone()));
        }
        let p = GrowthPoint { users: n, result };
        on_point(&p);
        out.push(p);
    }
    Ok(out)
}

/// A short deterministic id for a search's output folder.
pub fn size_id(
    path: &Path,
    base: &[(String, toml::Value)],
    prices: &PriceList,
    opts: &SizeOptions,
    growth: &[u32],
) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(b"capsim-size-v1\0");
    if let Ok(s) = scenario::load_with_overrides(path, base) {
        h.update(s.sha256.as_bytes());
    }
    h.update(serde_json::to_string(prices).unwrap_or_default().as_bytes());
    h.update(
        format!(
            "{}\0{}\0{:?}\0{:?}\0{:?}\0{}\0{:?}\0{}\0{:?}",
            opts.seed,
            opts.replications,
            opts.resources,
            opts.max_replicas,
            opts.max_provisioners,
            opts.max_evaluations,
            growth,
            opts.policy,
            opts.resilience
        )
        .as_bytes(),
    );
    if let Some((n, over)) = opts.uncertainty {
        h.update(format!("\0uncertainty {n} {}", over.as_str()).as_bytes());
    }
    if opts.exhaustive {
        // The same answer, other candidates: its own folder.
        h.update(b"\0exhaustive");
    }
    crate::scenario::load::hex(&h.finalize()[..6])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slo_specs() {
        let v = parse_slo("api_latency_seconds{class=dashboard}.p95<=300ms").unwrap();
        let t = v.as_table().unwrap();
        assert_eq!(t["metric"].as_str(), Some("api_latency_seconds"));
        assert_eq!(t["stat"].as_str(), Some("p95"));
        assert_eq!(t["labels"]["class"].as_str(), Some("dashboard"));
        assert_eq!(t["max"].as_str(), Some("300ms"));
        let v = parse_slo("build_queue_wait_seconds.mean <= 30").unwrap();
        assert_eq!(v["max"].as_integer(), Some(30));
        let v = parse_slo("provisioner_utilization.mean>=0.5").unwrap();
        assert_eq!(v["min"].as_float(), Some(0.5));
        assert!(parse_slo("x<=1").is_err());
        assert!(parse_slo("x.mean").is_err());
    }

    #[test]
    fn cost_order_is_cheapest_first() {
        let mut h = BinaryHeap::new();
        h.push(Key(300, (false, 3), vec![0]));
        h.push(Key(100, (false, 3), vec![2]));
        h.push(Key(100, (false, 3), vec![1]));
        // Same cost: one replica (does not survive losing it) comes last,
        // and fewer replicas first.
        h.push(Key(100, (true, 1), vec![3]));
        h.push(Key(100, (false, 2), vec![4]));
        let order: Vec<Vec<usize>> = std::iter::from_fn(|| h.pop().map(|k| k.2)).collect();
        assert_eq!(order, vec![vec![4], vec![1], vec![2], vec![3], vec![0]]);
    }
}
