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
//!    be feasible, or nothing is (the fast search evaluates it first only
//!    when its runs find the drill's busiest time; otherwise only when no
//!    probe of step 2 passes, since a passing probe, the largest with less
//!    of one resource, says the largest passes too);
//! 2. for each resource, with every other resource at its top, a binary
//!    search finds the smallest value that is feasible: no feasible
//!    architecture can have less of that resource, so these values are a
//!    lower bound `L` of the answer (with `--growth`, each search tries its
//!    lower end, then the value the smaller user counts extrapolate to,
//!    then outwards from it: the same smallest feasible rung, in fewer
//!    evaluations when the guess is close, see
//!    [`crate::compare::sequential::lower_bound_from`]);
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
//!
//! `--growth` runs each resource's binary searches (step 2) count after
//! count on their own (one needs only that resource's lower bounds at the
//! smaller counts), and a count's step 3 as soon as its last resource is
//! done (or, when the largest runs first, one count's step 3 beside the
//! next count's steps 1 and 2): every search is a pure function of its
//! inputs, so that changes the wall time, not a result.

use crate::cost::PriceList;
use crate::scenario::{self, ScenarioError, SizingPolicy};
use serde::{Deserialize, Serialize};
use std::path::Path;

mod evaluate;
mod growth;
mod ladder;
mod search;
pub mod shard;

pub use evaluate::*;
pub use growth::*;
pub use ladder::*;
pub use search::*;

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
    /// Where the simulations come from: run here (the default), or read
    /// from a merged store of shards (`--from`, see [`shard`]).
    pub simulator: Simulator,
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
            simulator: Simulator::default(),
            uncertainty: None,
            exhaustive: false,
        }
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
    use std::collections::BinaryHeap;

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
