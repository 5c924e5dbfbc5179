//! `capsim size`: the cheapest architecture that meets every SLO with 95%
//! confidence.
//!
//! The resources searched, each over a ladder of values:
//!
//! | resource | values | scenario field |
//! |---|---|---|
//! | coderd replicas | 1 ..= max(12, 2 x given) (`--max-replicas`) | `deployment.coderd.replicas` |
//! | coderd vCPU per replica | 1, 2, 4, 8, 16, 32 (and the given value) | `deployment.coderd.vcpu` (and `ram`) |
//! | external provisioner daemons | 1 ..= max(64, 4 x given) (`--max-provisioners`); from 0 when built-in daemons exist | `deployment.provisioners.count` |
//! | database vCPU | 1, 2, 4, 8, 16, 32, 64 (and the given value) | `deployment.database.vcpu` (and `ram`) |
//! | vCPU of every workspace proxy | 1, 2, 4, 8, 16, 32 (and the given value) | `deployment.proxies[i].vcpu` (and `ram`) |
//!
//! A resource is searched only when the scenario has it (coderd replicas > 0,
//! an external provisioner count, proxies) and no autoscaler drives it.
//! Changing a vCPU count keeps the scenario's RAM per vCPU (cloud machine
//! families sell them in a fixed ratio).
//!
//! An architecture is *feasible* when no replication is saturated and, for
//! every SLO, the one-sided 95% Student-t bound of the mean across
//! replications meets the target (the upper bound for an "at most" SLO).
//! Every candidate runs the same seeds (common random numbers), so the search
//! compares architectures, not luck.
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
//!    feasible one is the cheapest of all. It stops after `max_evaluations`.
//!
//! Finally the one-step-cheaper neighbours of the answer (one rung less of
//! one resource) are evaluated, to say which SLO each of them fails.

use super::{SloCheck, check_slos};
use crate::cost::{MonthlyCost, PriceList, monthly_cost};
use crate::scenario::{self, Scenario, ScenarioError};
use serde::Serialize;
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use std::path::Path;

/// A resource `size` can change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Resource {
    CoderdReplicas,
    CoderdVcpu,
    Provisioners,
    DatabaseVcpu,
    ProxyVcpu,
}

impl Resource {
    pub const ALL: [Resource; 5] = [
        Resource::CoderdReplicas,
        Resource::CoderdVcpu,
        Resource::Provisioners,
        Resource::DatabaseVcpu,
        Resource::ProxyVcpu,
    ];
    /// The name used by `--resources` and in CSV headers.
    pub fn name(self) -> &'static str {
        match self {
            Resource::CoderdReplicas => "coderd_replicas",
            Resource::CoderdVcpu => "coderd_vcpu",
            Resource::Provisioners => "provisioners",
            Resource::DatabaseVcpu => "database_vcpu",
            Resource::ProxyVcpu => "proxy_vcpu",
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
            Resource::CoderdVcpu => "coderd vCPU per replica",
            Resource::Provisioners => "provisioner daemons",
            Resource::DatabaseVcpu => "database vCPU",
            Resource::ProxyVcpu => "vCPU per proxy",
        }
    }
}

/// vCPU sizes tried for coderd replicas and proxies.
pub const VCPU_LADDER: [f64; 6] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0];
/// vCPU sizes tried for the database.
pub const DB_VCPU_LADDER: [f64; 7] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0];

/// One searched resource and its ladder of values.
#[derive(Clone, Debug, Serialize)]
pub struct Dimension {
    pub resource: Resource,
    /// Increasing.
    pub ladder: Vec<f64>,
    /// The scenario's own value.
    pub given: f64,
    /// RAM bytes per vCPU to keep (vCPU resources), per proxy for proxies.
    #[serde(skip)]
    ram_per_vcpu: Vec<f64>,
}

fn ladder_with(base: &[f64], given: f64) -> Vec<f64> {
    let mut v = base.to_vec();
    if !v.iter().any(|x| (x - given).abs() < 1e-9) && given > 0.0 {
        v.push(given);
    }
    v.sort_by(f64::total_cmp);
    v
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
    /// Called after each candidate's replications (progress).
    pub on_simulations: Option<OnSimulations>,
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
            on_simulations: None,
        }
    }
}

/// The dimensions `size` searches in `s`.
pub fn dimensions(s: &Scenario, opts: &SizeOptions) -> Vec<Dimension> {
    let d = &s.deployment;
    let c = &d.coderd;
    let wanted = |r: Resource| opts.resources.as_ref().is_none_or(|v| v.contains(&r));
    let mut out = Vec::new();
    let has_coderd = c.n_replicas > 0;
    if has_coderd && s.autoscaling.coderd.is_none() && wanted(Resource::CoderdReplicas) {
        let max = opts
            .max_replicas
            .unwrap_or((2 * c.n_replicas).max(12))
            .max(1);
        out.push(Dimension {
            resource: Resource::CoderdReplicas,
            ladder: (1..=max).map(f64::from).collect(),
            given: c.n_replicas as f64,
            ram_per_vcpu: vec![],
        });
    }
    if has_coderd && wanted(Resource::CoderdVcpu) {
        out.push(Dimension {
            resource: Resource::CoderdVcpu,
            ladder: ladder_with(&VCPU_LADDER, c.vcpu_per_replica),
            given: c.vcpu_per_replica,
            ram_per_vcpu: vec![c.ram_bytes_per_replica / c.vcpu_per_replica],
        });
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
        out.push(Dimension {
            resource: Resource::Provisioners,
            ladder: (lo..=max).map(f64::from).collect(),
            given: g.n_daemons as f64,
            ram_per_vcpu: vec![],
        });
    }
    if has_coderd && wanted(Resource::DatabaseVcpu) {
        out.push(Dimension {
            resource: Resource::DatabaseVcpu,
            ladder: ladder_with(&DB_VCPU_LADDER, d.database.vcpu),
            given: d.database.vcpu,
            ram_per_vcpu: vec![d.database.ram_bytes / d.database.vcpu],
        });
    }
    if !d.proxies.is_empty() && wanted(Resource::ProxyVcpu) {
        let given = d.proxies[0].vcpu;
        out.push(Dimension {
            resource: Resource::ProxyVcpu,
            ladder: ladder_with(&VCPU_LADDER, given),
            given,
            ram_per_vcpu: d.proxies.iter().map(|p| p.ram_bytes / p.vcpu).collect(),
        });
    }
    out
}

impl Dimension {
    /// Scenario overrides that set this resource to rung `i`.
    pub fn overrides(&self, i: usize) -> Vec<(String, toml::Value)> {
        let v = self.ladder[i];
        let int = |k: &str| vec![(k.to_string(), toml::Value::Integer(v as i64))];
        let vcpu = |prefix: &str, ram_per_vcpu: f64| {
            vec![
                (format!("{prefix}.vcpu"), toml::Value::Float(v)),
                (
                    format!("{prefix}.ram"),
                    toml::Value::Float((ram_per_vcpu * v).round()),
                ),
            ]
        };
        match self.resource {
            Resource::CoderdReplicas => int("deployment.coderd.replicas"),
            Resource::Provisioners => int("deployment.provisioners.count"),
            Resource::CoderdVcpu => vcpu("deployment.coderd", self.ram_per_vcpu[0]),
            Resource::DatabaseVcpu => vcpu("deployment.database", self.ram_per_vcpu[0]),
            Resource::ProxyVcpu => self
                .ram_per_vcpu
                .iter()
                .enumerate()
                .flat_map(|(p, r)| vcpu(&format!("deployment.proxies[{p}]"), *r))
                .collect(),
        }
    }
}

/// One evaluated architecture.
#[derive(Clone, Debug, Serialize)]
pub struct Evaluation {
    /// Rung of each dimension.
    pub point: Vec<usize>,
    /// Value of each dimension.
    pub values: Vec<f64>,
    /// Monthly cost (infinite when it cannot be costed or loaded).
    pub cost: f64,
    pub cost_detail: Option<MonthlyCost>,
    pub slos: Vec<SloCheck>,
    pub saturated: bool,
    pub feasible: bool,
    /// A scenario or costing error for this point.
    pub error: Option<String>,
}

impl Evaluation {
    /// The SLOs this architecture fails (with 95% confidence), in words.
    pub fn failures(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .slos
            .iter()
            .filter(|s| !s.confident)
            .map(|s| {
                use crate::format::{fmt_value, miss_symbol};
                if s.status == crate::result::SloStatus::NoData {
                    return format!("{} (no data)", s.name);
                }
                format!(
                    "{} ({} {} {})",
                    s.name,
                    fmt_value(s.bound95, &s.unit),
                    miss_symbol(s.bound),
                    fmt_value(Some(s.target), &s.unit)
                )
            })
            .collect();
        if self.saturated {
            out.insert(0, "saturated".into());
        }
        if let Some(e) = &self.error {
            out.insert(0, e.clone());
        }
        out
    }
}

/// The result of one search.
#[derive(Clone, Debug, Serialize)]
pub struct SizeResult {
    pub scenario: String,
    pub dimensions: Vec<Dimension>,
    /// The cheapest feasible architecture found.
    pub recommended: Option<Evaluation>,
    /// The largest architecture (every resource at its top), when nothing is feasible.
    pub largest: Option<Evaluation>,
    /// One rung less of one resource than the recommendation, cheapest last.
    pub cheaper: Vec<Evaluation>,
    /// Every evaluated architecture, in evaluation order.
    pub evaluated: Vec<Evaluation>,
    /// Per dimension: the smallest rung feasible with every other resource at its top.
    pub lower_bounds: Vec<usize>,
    pub evaluations: usize,
    pub simulations: u64,
    pub replications: u32,
    pub seed: u64,
    /// The best-first phase hit `max_evaluations`.
    pub truncated: bool,
    pub currency: String,
}

/// Total order on costs for the best-first heap (cheapest first, then rungs).
#[derive(PartialEq)]
struct Key(f64, Vec<usize>);
impl Eq for Key {}
impl PartialOrd for Key {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Key {
    fn cmp(&self, o: &Self) -> Ordering {
        // Reversed: BinaryHeap is a max-heap.
        o.0.total_cmp(&self.0).then_with(|| o.1.cmp(&self.1))
    }
}

/// The search state: the scenario, the evaluations made so far (cached by point).
pub struct Search<'a> {
    path: &'a Path,
    /// The scenario file and its bases, read once.
    merged: scenario::load::Merged,
    /// The scenario's name (with the base overrides).
    name: String,
    base: Vec<(String, toml::Value)>,
    prices: &'a PriceList,
    opts: SizeOptions,
    pub dims: Vec<Dimension>,
    cache: BTreeMap<Vec<usize>, Evaluation>,
    order: Vec<Vec<usize>>,
    pub simulations: u64,
}

impl<'a> Search<'a> {
    /// Prepare a search of the scenario at `path` with `base` overrides
    /// (`--slo`, `--set`, the user count of `--growth`).
    pub fn new(
        path: &'a Path,
        base: Vec<(String, toml::Value)>,
        prices: &'a PriceList,
        opts: SizeOptions,
    ) -> Result<Search<'a>, ScenarioError> {
        let merged = scenario::load::read_merged(path)?;
        let s = scenario::load::resolve_with_overrides(merged.clone(), path, &base)?;
        let dims = dimensions(&s, &opts);
        Ok(Search {
            path,
            merged,
            name: s.name,
            base,
            prices,
            opts,
            dims,
            cache: BTreeMap::new(),
            order: Vec::new(),
            simulations: 0,
        })
    }

    fn overrides(&self, point: &[usize]) -> Vec<(String, toml::Value)> {
        let mut o = self.base.clone();
        for (d, &i) in self.dims.iter().zip(point) {
            o.extend(d.overrides(i));
        }
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
        self.dims
            .iter()
            .zip(point)
            .map(|(d, &i)| d.ladder[i])
            .collect()
    }

    /// Evaluate `point` (simulating it unless it was evaluated before).
    pub fn evaluate(&mut self, point: &[usize]) -> &Evaluation {
        if !self.cache.contains_key(point) {
            let e = self.run(point);
            self.order.push(point.to_vec());
            self.cache.insert(point.to_vec(), e);
        }
        &self.cache[point]
    }

    fn run(&mut self, point: &[usize]) -> Evaluation {
        let values = self.values(point);
        let (s, cost) = match self.load(point) {
            Ok(x) => x,
            Err(e) => {
                return Evaluation {
                    point: point.to_vec(),
                    values,
                    cost: f64::INFINITY,
                    cost_detail: None,
                    slos: vec![],
                    saturated: false,
                    feasible: false,
                    error: Some(e),
                };
            }
        };
        let seed = self.opts.seed;
        // Time series are not needed here: drop each as it finishes.
        let runs = crate::model::replications_map(&s, seed, self.opts.replications, |mut run| {
            run.series.series.clear();
            run
        });
        self.simulations += runs.len() as u64;
        if let Some(f) = &self.opts.on_simulations {
            (f.0)(runs.len() as u64);
        }
        let slos = check_slos(&s, &runs);
        let saturated = runs.iter().any(|r| r.saturated);
        let feasible = super::meets_confidently(saturated, &slos);
        Evaluation {
            point: point.to_vec(),
            values,
            cost: cost.total,
            cost_detail: Some(cost),
            slos,
            saturated,
            feasible,
            error: None,
        }
    }

    fn top(&self) -> Vec<usize> {
        self.dims.iter().map(|d| d.ladder.len() - 1).collect()
    }

    /// Run the search. `lower`: known lower bounds of the rungs (from a
    /// search for fewer users), or `None`.
    pub fn run_search(mut self, lower: Option<&[usize]>) -> SizeResult {
        let top = self.top();
        let n = self.dims.len();
        let mut lower_bounds = vec![0; n];
        let mut recommended = None;
        let mut largest = None;
        let mut truncated = false;
        let top_ok = self.evaluate(&top).feasible;
        if !top_ok {
            largest = Some(self.cache[&top].clone());
        } else {
            // 2. Per-resource lower bounds, every other resource at its top.
            for i in 0..n {
                let mut lo = lower
                    .and_then(|l| l.get(i).copied())
                    .unwrap_or(0)
                    .min(top[i]);
                let mut hi = top[i];
                while lo < hi {
                    let mid = (lo + hi) / 2;
                    let mut p = top.clone();
                    p[i] = mid;
                    if self.evaluate(&p).feasible {
                        hi = mid;
                    } else {
                        lo = mid + 1;
                    }
                }
                lower_bounds[i] = lo;
            }
            // 3. Best-first from the lower bounds, in increasing cost.
            let mut heap = BinaryHeap::new();
            let mut seen = BTreeSet::new();
            heap.push(Key(self.cost(&lower_bounds), lower_bounds.clone()));
            seen.insert(lower_bounds.clone());
            let mut steps = 0;
            while let Some(Key(_, p)) = heap.pop() {
                if steps >= self.opts.max_evaluations {
                    truncated = true;
                    break;
                }
                let fresh = !self.cache.contains_key(&p);
                if self.evaluate(&p).feasible {
                    recommended = Some(p);
                    break;
                }
                if fresh {
                    steps += 1;
                }
                for i in 0..n {
                    if p[i] < top[i] {
                        let mut q = p.clone();
                        q[i] += 1;
                        if seen.insert(q.clone()) {
                            heap.push(Key(self.cost(&q), q));
                        }
                    }
                }
            }
            if recommended.is_none() {
                // Fall back on the cheapest feasible architecture evaluated.
                recommended = self
                    .cache
                    .values()
                    .filter(|e| e.feasible)
                    .min_by(|a, b| a.cost.total_cmp(&b.cost).then(a.point.cmp(&b.point)))
                    .map(|e| e.point.clone());
            }
        }
        // The one-rung-cheaper neighbours of the recommendation.
        let mut cheaper = Vec::new();
        if let Some(r) = &recommended {
            for i in 0..n {
                if r[i] > 0 {
                    let mut q = r.clone();
                    q[i] -= 1;
                    let e = self.evaluate(&q).clone();
                    if !e.feasible {
                        cheaper.push(e);
                    }
                }
            }
            cheaper.sort_by(|a, b| b.cost.total_cmp(&a.cost).then(a.point.cmp(&b.point)));
        }
        SizeResult {
            scenario: self.name.clone(),
            recommended: recommended.map(|p| self.cache[&p].clone()),
            largest,
            cheaper,
            evaluated: self.order.iter().map(|p| self.cache[p].clone()).collect(),
            lower_bounds,
            evaluations: self.order.len(),
            simulations: self.simulations,
            replications: self.opts.replications,
            seed: self.opts.seed,
            truncated,
            currency: self.prices.currency.clone(),
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
    let mut lower: Option<Vec<usize>> = None;
    for n in sorted {
        let mut b = base.clone();
        b.push((
            "workload.users.count".into(),
            toml::Value::Integer(n as i64),
        ));
        let search = Search::new(path, b, prices, opts.clone())?;
        // Ladders depend on the deployment and the options only, never on
        // the user count (`dimensions`), so the previous rungs carry over.
        let result = search.run_search(lower.as_deref());
        if result.recommended.is_some() {
            lower = Some(result.lower_bounds.clone());
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
            "{}\0{}\0{:?}\0{:?}\0{:?}\0{}\0{:?}",
            opts.seed,
            opts.replications,
            opts.resources,
            opts.max_replicas,
            opts.max_provisioners,
            opts.max_evaluations,
            growth
        )
        .as_bytes(),
    );
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
        h.push(Key(3.0, vec![0]));
        h.push(Key(1.0, vec![2]));
        h.push(Key(1.0, vec![1]));
        let order: Vec<Vec<usize>> = std::iter::from_fn(|| h.pop().map(|k| k.1)).collect();
        assert_eq!(order, vec![vec![1], vec![2], vec![0]]);
    }
}
