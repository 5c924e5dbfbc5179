//! Evaluating one candidate: its replications (stopped early once it fails
//! for certain), the N-1 drill, and `--uncertainty`'s parameter sets.

use super::*;
use crate::compare::sequential::certain_miss;
use crate::compare::{SloCheck, check_slos, miss, policy};
use crate::cost::{MonthlyCost, monthly_cost};
use crate::scenario::{Action, Scenario, ScheduledEvent};
use serde::Serialize;

/// Where a candidate's simulations come from: the seam between the search
/// and what runs it. The default simulates (`model::simulate`); `size
/// --shard` simulates and keeps each run, `size --from` reads each from a
/// merged store ([`shard`]). Whatever it is, it returns what
/// `model::simulate` returns for the scenario and seed, at least the
/// metrics, the saturation and the API request rate series (all the search
/// reads).
#[derive(Clone)]
pub struct Simulator(pub std::sync::Arc<SimulateFn>);

/// A simulation: the scenario and the seed in, the run's result out.
pub type SimulateFn = dyn Fn(&Scenario, u64) -> crate::RunResult + Send + Sync;

impl Simulator {
    pub fn run(&self, s: &Scenario, seed: u64) -> crate::RunResult {
        (self.0)(s, seed)
    }
}

impl Default for Simulator {
    fn default() -> Self {
        Simulator(std::sync::Arc::new(crate::model::simulate))
    }
}

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Simulator")
    }
}

/// `run` with its time series dropped but (`keep_busiest`) the API request
/// rate per bucket, the one series the search reads (to find the busiest
/// time); the rest of the search reads the metrics alone.
pub fn trimmed(mut run: crate::RunResult, keep_busiest: bool) -> crate::RunResult {
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
    pub over_sets: Option<crate::compare::uncertainty::CandidateOverSets>,
    /// Replications of the candidate run (fewer than asked when it failed
    /// for certain before the last, see [`certain_miss`]; its checks are
    /// then judged on these).
    pub replications_run: u32,
    /// Simulations run for this candidate (its replications and its drill's).
    pub simulations: u64,
    /// It failed for certain before all its replications (or its drill's) ran.
    pub stopped_early: bool,
    /// The replications a candidate that stopped early ran (`None` once it
    /// is complete): completing it runs only the missing ones.
    #[serde(skip)]
    pub(super) kept: Option<Kept>,
}

/// The replications run of a candidate that stopped early: its own and its
/// drill's (time series dropped), replication 0 first.
#[derive(Clone)]
pub struct Kept(std::sync::Arc<(Vec<crate::RunResult>, Vec<crate::RunResult>)>);

impl std::fmt::Debug for Kept {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Kept({} runs, {} drill runs)",
            self.0.0.len(),
            self.0.1.len()
        )
    }
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
pub(super) fn cents(x: f64) -> i64 {
    if x.is_finite() {
        (x * 100.0).round() as i64
    } else {
        i64::MAX
    }
}

impl Search<'_> {
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
    pub(super) fn evaluate_all(&mut self, points: &[Vec<usize>]) {
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
    pub(super) fn early(&self) -> bool {
        !self.opts.exhaustive
    }

    /// The evaluation of an evaluated point that is the same architecture
    /// as `point` (a node pool's warm minimum above its maximum is the
    /// maximum), for `point`: nothing simulated for it.
    pub(super) fn reuse(&self, point: &[usize]) -> Option<Evaluation> {
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
    pub(super) fn record(&mut self, e: Evaluation, busiest: Option<f64>) {
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
    pub(super) fn complete(&mut self, point: &[usize]) {
        if !self.cache.get(point).is_some_and(|e| e.stopped_early) {
            return;
        }
        let done = self.completed_twin(point).map(|e| Evaluation {
            point: point.to_vec(),
            simulations: 0,
            ..e.clone()
        });
        match done {
            Some(e) => {
                self.cache.insert(point.to_vec(), e);
            }
            None => {
                let e = self.completion_run(point);
                self.take_completion(point, e);
            }
        }
    }

    /// A complete evaluation of the same architecture as `point`, if any
    /// (completing `point` then takes it as it is).
    pub(super) fn completed_twin(&self, point: &[usize]) -> Option<&Evaluation> {
        self.cache
            .values()
            .find(|e| !e.stopped_early && same_architecture(&self.dims, &e.point, point))
    }

    /// The rest of the replications of `point`, which stopped early (those
    /// it kept are not run again): a pure function of the point and the
    /// seeds, so completions can run side by side.
    pub(super) fn completion_run(&self, point: &[usize]) -> Evaluation {
        let kept = self.cache[point].kept.as_ref();
        self.run_from(point, self.drill_at_s, false, kept).0
    }

    /// Put the completed evaluation `e` of `point` in place of its early stop.
    pub(super) fn take_completion(&mut self, point: &[usize], mut e: Evaluation) {
        debug_assert_eq!(e.feasible, self.cache[point].feasible);
        // The candidate's simulations: the kept ones and the new.
        self.simulations += e.simulations;
        e.simulations += self.cache[point].simulations;
        self.completed += 1;
        self.cache.insert(point.to_vec(), e);
    }

    /// Replications `range` of `s`, side by side, time series dropped as
    /// each finishes (`keep_busiest`: but the API request rate per bucket,
    /// to find the busiest time).
    pub(super) fn replicate(
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
                let run = self
                    .opts
                    .simulator
                    .run(s, crate::engine::rng::replication_seed(seed, r));
                trimmed(run, keep_busiest)
            })
            .collect();
        if let Some(f) = &self.opts.on_simulations {
            (f.0)(runs.len() as u64);
        }
        runs
    }

    /// The replications of `s` (the same seeds for every candidate), after
    /// the ones `done` already ran (replications `0..done.len()`, kept from
    /// an early stop: the same seeds, so the same results). With `early`,
    /// replication 0 runs first and the others only when the candidate does
    /// not already fail for certain ([`Self::fails_for_certain`]); the
    /// second value says it stopped.
    pub(super) fn replications(
        &self,
        s: &Scenario,
        keep_busiest: bool,
        early: bool,
        policy: bool,
        done: &[crate::RunResult],
    ) -> (Vec<crate::RunResult>, bool) {
        let n = self.opts.replications;
        let first = if early && n >= 2 { 1 } else { n };
        let mut runs = done.to_vec();
        let had = runs.len() as u32;
        if had < first {
            runs.extend(self.replicate(s, had..first, keep_busiest));
        }
        if first < n {
            let ran = runs.len() as u32;
            if self.fails_for_certain(s, &runs, (n - ran) as usize, policy) {
                return (runs, true);
            }
        }
        let ran = runs.len() as u32;
        if ran < n {
            runs.extend(self.replicate(s, ran..n, keep_busiest));
        }
        (runs, false)
    }

    /// Whatever the `remaining` replications give, the candidate fails: a
    /// replication is saturated (a candidate must have none), or an SLO or
    /// (`policy`) a CPU ceiling misses for certain ([`certain_miss`]).
    pub(super) fn fails_for_certain(
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
    pub(super) fn busiest_s(runs: &[crate::RunResult]) -> Option<f64> {
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

    pub(super) fn drill_wanted(&self, s: &Scenario) -> bool {
        self.opts.resilience == Resilience::N1
            && s.deployment.coderd.n_replicas > 0
            && self.own_kill_s.is_none()
    }

    /// Evaluate `point`: a pure function of the point, the seeds and the
    /// drill's time `drill_at` (`None`: this is the first candidate, whose
    /// runs find the busiest time, returned second). `early`: stop the
    /// replications once the candidate fails for certain.
    pub(super) fn run(
        &self,
        point: &[usize],
        drill_at: Option<f64>,
        early: bool,
    ) -> (Evaluation, Option<f64>) {
        self.run_from(point, drill_at, early, None)
    }

    /// [`Self::run`] after the replications `kept` from an early stop of
    /// the same point: only the missing ones run (and are counted in its
    /// `simulations`).
    pub(super) fn run_from(
        &self,
        point: &[usize],
        drill_at: Option<f64>,
        early: bool,
        kept: Option<&Kept>,
    ) -> (Evaluation, Option<f64>) {
        let (kept_runs, kept_drill): (&[crate::RunResult], &[crate::RunResult]) = match kept {
            Some(k) => (&k.0.0, &k.0.1),
            None => (&[], &[]),
        };
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
                        kept: None,
                    },
                    None,
                );
            }
        };
        // The busiest time is read from all the first candidate's replications.
        let want_busiest = drill_at.is_none();
        let (runs, mut stopped_early) =
            self.replications(&s, want_busiest, early && !want_busiest, true, kept_runs);
        let replications_run = runs.len() as u32;
        let mut simulations = (runs.len() - kept_runs.len()) as u64;
        let mut drill_runs = Vec::new();
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
        let mut feasible = crate::compare::meets_confidently(saturated, &slos)
            && policy.iter().all(|c| c.confident);
        let mut drill = None;
        if feasible && self.drill_wanted(&s) {
            let d = Self::drill_scenario(&s, drill_at);
            let (runs, stopped) = self.replications(&d, false, early, false, kept_drill);
            simulations += (runs.len() - kept_drill.len()) as u64;
            stopped_early |= stopped;
            let slos = check_slos(&d, &runs);
            let saturated = runs.iter().any(|r| r.saturated);
            let ok = crate::compare::meets_confidently(saturated, &slos);
            feasible = ok;
            drill = Some(DrillOutcome {
                slos,
                saturated,
                feasible: ok,
            });
            drill_runs = runs;
        }
        // `--confidence-over both`: the plain checks are necessary (the
        // model file's own values; their early stop stands), and the same
        // checks over the parameter sets, run in full, decide.
        let over_sets = match &self.uncertainty {
            Some(u) if feasible && u.over == crate::compare::uncertainty::ConfidenceOver::Both => {
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
                kept: stopped_early.then(|| Kept(std::sync::Arc::new((runs, drill_runs)))),
            },
            busiest,
        )
    }

    /// Progress: `n` more simulations ran (the count itself is kept by
    /// the caller, in a fixed order).
    pub(super) fn progress(&self, n: u64) {
        if let Some(f) = &self.opts.on_simulations {
            (f.0)(n);
        }
    }

    /// The evaluation of `p` as reported: under `--confidence-over noise`,
    /// also run on the parameter sets (reported, not judged).
    pub(super) fn reported(&mut self, p: &[usize]) -> Evaluation {
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
    pub(super) fn drill_scenario(s: &Scenario, at: Option<f64>) -> Scenario {
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
    pub(super) fn over_sets(
        &self,
        s: &Scenario,
        drill_at: Option<f64>,
        decides: bool,
    ) -> (crate::compare::uncertainty::CandidateOverSets, u64) {
        use crate::compare::uncertainty::{CandidateOverSets, judge_sets};
        let sets: &[_] = self.uncertainty.as_ref().map_or(&[], |u| &u.sets);
        let reps = self.opts.replications;
        let runs = (sets.len() * reps as usize) as u64;
        let fail = |e: String, ran: u64| {
            (
                CandidateOverSets {
                    verdict: crate::compare::uncertainty::SetsVerdict {
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
        let simulate = &*self.opts.simulator.0;
        let verdict = match judge_sets(
            s,
            sets,
            self.opts.seed,
            reps,
            self.policy.as_ref(),
            simulate,
        ) {
            Ok(v) => v,
            Err(e) => return fail(e, 0),
        };
        self.progress(runs);
        let mut ran = runs;
        let mut feasible = verdict.feasible();
        let mut drill = None;
        if feasible && self.drill_wanted(s) {
            let d = Self::drill_scenario(s, drill_at);
            match judge_sets(&d, sets, self.opts.seed, reps, None, simulate) {
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
}
