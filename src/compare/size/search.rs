//! The search: bounds, binary searches, best-first from the lower bound,
//! and what binds each resource of the answer.

use super::*;
use crate::compare::sequential::{lower_bound, lower_bound_from};
use crate::compare::{SloCheck, miss, policy};
use crate::cost::{MonthlyCost, PriceList, monthly_cost};
use crate::format::count_str;
use crate::scenario::{self, Action, Scenario, ScenarioError, SizingPolicy};
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use std::path::Path;

/// Order of the best-first heap: cheapest (to the cent) first; at equal
/// cost more than one replica (survives losing one) first, then fewer
/// replicas (vertical first), then rungs.
#[derive(PartialEq, Eq)]
pub(super) struct Key(
    pub(super) i64,
    pub(super) (bool, u32),
    pub(super) Vec<usize>,
);
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
    pub(super) path: &'a Path,
    /// The scenario file and its bases, read once.
    pub(super) merged: scenario::load::Merged,
    /// The scenario's name (with the base overrides).
    pub(super) name: String,
    pub(super) users: u32,
    pub(super) base: Vec<(String, toml::Value)>,
    pub(super) prices: &'a PriceList,
    pub(super) opts: SizeOptions,
    pub(super) policy: Option<SizingPolicy>,
    pub(super) policy_notes: Vec<String>,
    /// The scenario's own coderd replica loss (its own drill), s.
    pub(super) own_kill_s: Option<f64>,
    pub(super) drill_at_s: Option<f64>,
    pub(super) start_tod_s: f64,
    pub dims: Vec<Dimension>,
    pub(super) cache: BTreeMap<Vec<usize>, Evaluation>,
    pub(super) order: Vec<Vec<usize>>,
    pub simulations: u64,
    /// `--uncertainty`: the parameter sets and the mode.
    pub(super) uncertainty: Option<crate::compare::uncertainty::SizeUncertainty>,
    /// Candidates whose replications stopped early.
    pub(super) stopped_early: usize,
    /// Candidates that stopped early and were completed later.
    pub(super) completed: usize,
    /// Per dimension, the rung its binary search probes first after its
    /// lower end (from smaller user counts, see [`Search::with_guesses`]).
    pub(super) guesses: Vec<Option<usize>>,
}

/// One resource's binary search: its lower bound (rung) and the candidates
/// it evaluated, in order.
pub(super) type Chain = (usize, Vec<Evaluation>);

/// What the first part of a search ([`Search::bounds`]) found: the top of
/// every ladder, whether it is feasible, and the per-resource lower bounds.
pub struct Bounds {
    top: Vec<usize>,
    top_ok: bool,
    /// Per dimension: the smallest rung feasible with every other resource
    /// at its top (zeros when the top is not feasible).
    pub lower_bounds: Vec<usize>,
}

impl Bounds {
    /// The largest architecture is feasible (else nothing is).
    pub fn feasible(&self) -> bool {
        self.top_ok
    }
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
        let uncertainty =
            opts.uncertainty
                .map(|(n, over)| crate::compare::uncertainty::SizeUncertainty {
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
            guesses: Vec::new(),
        })
    }

    /// Per dimension, a rung to probe right after the lower end in its
    /// binary search (`None`: plain bisection): the answer expected from
    /// smaller user counts ([`crate::compare::sequential::guess_rung`]). It
    /// orders the probes only: the lower bound found is the smallest
    /// feasible rung whatever the guess ([`lower_bound_from`]). Not used
    /// with `--exhaustive`.
    pub fn with_guesses(mut self, guesses: Vec<Option<usize>>) -> Self {
        self.guesses = guesses;
        self
    }

    pub(super) fn overrides(&self, point: &[usize]) -> Vec<(String, toml::Value)> {
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

    pub(super) fn cost(&self, point: &[usize]) -> f64 {
        self.load(point).map_or(f64::INFINITY, |(_, c)| c.total)
    }

    pub(super) fn values(&self, point: &[usize]) -> Vec<f64> {
        point_values(&self.dims, point)
    }

    /// Coderd replicas at `point`.
    pub(super) fn replicas(&self, point: &[usize]) -> u32 {
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

    pub(super) fn key(&self, point: Vec<usize>) -> Key {
        let n = self.replicas(&point);
        Key(cents(self.cost(&point)), (n < 2, n), point)
    }
}

impl<'a> Search<'a> {
    /// [`Self::complete`] each of `points`, the runs side by side (each a
    /// pure function of its point and the seeds), counted in a fixed order.
    fn complete_all(&mut self, points: &[Vec<usize>]) {
        use rayon::prelude::*;
        let mut fresh: Vec<&Vec<usize>> = Vec::new();
        for p in points {
            let stopped = self.cache.get(p).is_some_and(|e| e.stopped_early);
            let done_before = self.completed_twin(p).is_some();
            if stopped && !done_before && !fresh.iter().any(|q| same_architecture(&self.dims, q, p))
            {
                fresh.push(p);
            }
        }
        // Each runs only the replications its early stop did not.
        let runs: Vec<Evaluation> = fresh.par_iter().map(|p| self.completion_run(p)).collect();
        for (p, e) in fresh.iter().zip(runs) {
            self.take_completion(p, e);
        }
        // The others take a completed same architecture.
        for p in points {
            self.complete(p);
        }
    }

    /// `coderd replicas 8, coderd replica shape 1 vCPU, 4 GB, ...`.
    pub(super) fn describe_point(&self, p: &[usize]) -> String {
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
    pub(super) fn neighbours(&self, r: &[usize]) -> Vec<Vec<usize>> {
        (0..r.len())
            .filter(|&i| r[i] > 0)
            .map(|i| {
                let mut q = r.to_vec();
                q[i] -= 1;
                q
            })
            .collect()
    }

    pub(super) fn top(&self) -> Vec<usize> {
        self.dims.iter().map(|d| d.ladder.len() - 1).collect()
    }

    /// Survives losing a replica: passed the drill (or, without one, has
    /// more than one replica).
    pub(super) fn survives(&self, e: &Evaluation) -> bool {
        match &e.drill {
            Some(d) => d.feasible,
            None => self.replicas(&e.point) >= 2,
        }
    }

    /// The step down from `r` takes its evaluated neighbour `q`: feasible,
    /// no dearer, and no worse by the tie rule (survives losing a replica,
    /// then fewer replicas).
    fn steps_to(&self, r: &[usize], q: &[usize]) -> bool {
        let rank = |p: &[usize]| {
            let e = &self.cache[p];
            (e.cents(), !self.survives(e), self.replicas(p))
        };
        let e = &self.cache[q];
        e.feasible && e.cents() <= self.cache[r].cents() && rank(q) <= rank(r)
    }

    /// What set each resource of the recommendation `r`.
    pub(super) fn bindings(&mut self, r: &[usize], truncated: bool) -> Vec<Binding> {
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
        let b = self.bounds(lower);
        self.finish(b)
    }

    /// The search needs the busiest time of a candidate's runs: the N-1
    /// drill is its own replica loss at that time (not the scenario's).
    pub(super) fn needs_busiest(&self) -> bool {
        self.opts.resilience == Resilience::N1 && self.own_kill_s.is_none()
    }

    /// The first part of the search: the largest architecture (1.) and,
    /// when it is feasible, each resource's lower bound (2.). `lower`:
    /// known lower bounds of the rungs (from a search for fewer users).
    pub fn bounds(&mut self, lower: Option<&[usize]>) -> Bounds {
        let top = self.top();
        let n = self.dims.len();
        // 1. The largest architecture, first when its runs find the N-1
        // drill's time (and with `--exhaustive`); otherwise only when no
        // probe of the binary searches below passes ([`Self::take_chains`]).
        let lazy = self.lazy();
        if !lazy && !self.evaluate(&top).feasible {
            return Bounds {
                top,
                top_ok: false,
                lower_bounds: vec![0; n],
            };
        }
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
            let mut lower_bounds = vec![0; n];
            for i in 0..n {
                lower_bounds[i] = lower_bound(los[i], top[i], false, |rung| {
                    let mut p = top.clone();
                    p[i] = rung;
                    self.evaluate(&p).feasible
                });
            }
            return Bounds {
                top,
                top_ok: true,
                lower_bounds,
            };
        }
        // The resources' searches are independent (no two share a point
        // but the top): side by side, recorded in resource order.
        use rayon::prelude::*;
        let this = &*self;
        let chains: Vec<Chain> = (0..n)
            .into_par_iter()
            .map(|i| this.chain(i, los[i], this.guesses.get(i).copied().flatten()))
            .collect();
        self.take_chains(chains, lazy)
    }

    /// Whether the largest architecture waits for the binary searches (it
    /// has no drill time to find, and not `--exhaustive`); then the drill's
    /// time is set (the scenario's own loss, or none), so the first
    /// candidate runs no differently from the others.
    pub(super) fn lazy(&mut self) -> bool {
        let lazy = !self.opts.exhaustive && !self.needs_busiest();
        if lazy && self.drill_at_s.is_none() {
            self.drill_at_s = Some(self.own_kill_s.unwrap_or(0.0));
        }
        lazy
    }

    /// Resource `i`'s binary search (2.), every other resource at its top,
    /// from rung `lo`, trying the lower end first and then `guess`
    /// ([`lower_bound_from`]): its lower bound and the candidates it
    /// evaluated, in order. A pure function of its arguments, the
    /// evaluations so far and the seeds (it records nothing), so the
    /// resources' searches, and with `--growth` those of other user
    /// counts, can run side by side.
    pub(super) fn chain(&self, i: usize, lo: usize, guess: Option<usize>) -> Chain {
        let top = self.top();
        let (at, early) = (self.drill_at_s, self.early());
        let mut done: Vec<Evaluation> = Vec::new();
        let lb = lower_bound_from(lo, top[i], true, guess, |rung| {
            let mut p = top.clone();
            p[i] = rung;
            if let Some(e) = self.cache.get(&p) {
                return e.feasible;
            }
            if let Some(e) = done.iter().find(|e| e.point == p) {
                return e.feasible;
            }
            // The same architecture (evaluated, or earlier in this chain)
            // is taken, as `evaluate` does.
            let e = self.reuse(&p).unwrap_or_else(|| {
                match done
                    .iter()
                    .find(|e| same_architecture(&self.dims, &e.point, &p))
                {
                    Some(e) => Evaluation {
                        point: p.clone(),
                        simulations: 0,
                        ..e.clone()
                    },
                    None => self.run(&p, at, early).0,
                }
            });
            let ok = e.feasible;
            done.push(e);
            ok
        });
        (lb, done)
    }

    /// The bounds from the resources' [`Self::chain`]s (in resource order),
    /// their candidates recorded in that order. `lazy`: the largest
    /// architecture was not evaluated first; it is now only when no probe
    /// passed (a passing probe is the largest with less of one resource, so
    /// the largest passes too), and then says whether anything is feasible.
    pub(super) fn take_chains(&mut self, chains: Vec<Chain>, lazy: bool) -> Bounds {
        let top = self.top();
        let mut lower_bounds = Vec::with_capacity(chains.len());
        for (lb, done) in chains {
            lower_bounds.push(lb);
            for e in done {
                self.record(e, None);
            }
        }
        let mut top_ok = true;
        if lazy && !self.cache.values().any(|e| e.feasible) {
            top_ok = self.evaluate(&top).feasible;
            if !top_ok {
                lower_bounds = vec![0; top.len()];
            }
        }
        Bounds {
            top,
            top_ok,
            lower_bounds,
        }
    }

    /// The rest of the search from its [`Self::bounds`]: the best-first
    /// phase (3.), the step down, the neighbours and what binds each
    /// resource.
    pub fn finish(mut self, bounds: Bounds) -> SizeResult {
        let Bounds {
            top,
            top_ok,
            lower_bounds,
        } = bounds;
        let n = self.dims.len();
        let mut recommended: Option<Vec<usize>> = None;
        let mut largest = None;
        let mut truncated = false;
        if !top_ok {
            largest = Some(self.cache[&top].clone());
        } else {
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
                    // The one-rung-less neighbours, two side by side, in
                    // the order the step below tries them: the first it
                    // steps to ends this step, and the ones after it are
                    // not needed (at the answer every one is evaluated,
                    // for the report). Two, not the thread count, so the
                    // candidates evaluated do not depend on the threads.
                    let near = self.neighbours(&r);
                    for pair in near.chunks(2) {
                        self.evaluate_all(pair);
                        if pair.iter().any(|q| self.steps_to(&r, q)) {
                            break;
                        }
                    }
                }
                for i in 0..n {
                    if r[i] == 0 {
                        continue;
                    }
                    let mut q = r.clone();
                    q[i] -= 1;
                    self.evaluate(&q);
                    if self.steps_to(&r, &q) {
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
            let near = self.neighbours(&r);
            self.complete_all(&near);
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
        // The runs kept for completing a candidate are no longer needed.
        for e in self.cache.values_mut() {
            e.kept = None;
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
