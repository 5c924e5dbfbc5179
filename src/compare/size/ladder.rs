//! The ladders `size` searches: the resources, their rungs (shapes an
//! instance type of the price file can buy), and the overrides that set a
//! candidate.

use super::*;
use crate::compare::policy;
use crate::cost::{PriceList, Pricing};
use crate::format::{count_str, size as fmt_size};
use crate::scenario::Scenario;
use serde::{Deserialize, Serialize};

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
pub(super) fn node_min_clamps(dims: &[Dimension], point: &[usize]) -> Vec<(String, toml::Value)> {
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
pub(super) fn clamped_min(dims: &[Dimension], point: &[usize], i: usize) -> Option<f64> {
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
pub(super) fn same_architecture(dims: &[Dimension], a: &[usize], b: &[usize]) -> bool {
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
