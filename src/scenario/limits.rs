//! What one run may hold: the limits a scenario is checked against before
//! it is simulated, so that no input can take all the memory of the machine
//! or run for ever.
//!
//! Each limit is far above every shipped scenario and every realistic
//! deployment (100,000 users, 1,000 coderd replicas, a year in 1-hour
//! buckets); the README's "Limits" section lists them. Memory is estimated
//! from what the run keeps (time buckets x series values), time from the
//! events it will process per simulated second.

use super::resolve::Ctx;
use super::units::duration_text as dt;
use super::{ConnKind, Scenario, ScenarioError};
use crate::engine::SimTime;

/// The longest run: ten years of simulated time.
pub const MAX_DURATION: SimTime = SimTime::from_secs(10 * 365 * 86_400);
/// Time buckets per run ((duration - warm-up) / bucket): a year in 5-minute buckets fits.
pub const MAX_BUCKETS: u64 = 200_000;
/// Series values kept per run (buckets x values per bucket, estimated), 8
/// bytes each: about 1.6 GB per replication running at once.
pub const MAX_BUCKET_VALUES: f64 = 2e8;
/// coderd replicas at any time (scenario, scheduled scale-up or autoscaler maximum).
pub const MAX_REPLICAS: i64 = 10_000;
/// External provisioner daemons in one group or one scheduled addition.
pub const MAX_DAEMONS: i64 = 100_000;
/// Users (and so workspaces and agents).
pub const MAX_USERS: i64 = 1_000_000;
/// API requests per dashboard action.
pub const MAX_REQUESTS_PER_ACTION: f64 = 1_000.0;
/// Events per simulated second, estimated from agents' timers, dashboard
/// requests, connection churn and builds: ten times a 100,000-user
/// deployment's.
pub const MAX_EVENTS_PER_SIM_S: f64 = 5e6;
/// Replications of one scenario in one command. Their time series are
/// folded into the aggregate as they finish (`report::Aggregate`), but each
/// keeps its scalar metrics, notes and marks (the store's per-replication
/// rows): about 1.5 kB for `scenarios/build-queue/mmc.toml`, a few tens of kB
/// for a deployment with many replicas; and past a thousand the interval of
/// the mean is as narrow as any planning question needs.
pub const MAX_REPLICATIONS: u32 = 1_000;

/// Series values per bucket that do not depend on the deployment's size
/// (every metric with its statistics and histogram bins), and those per
/// replica, template, proxy and provisioner group: an upper bound.
///
/// Measured (the stored series of a run, one value each per bucket, with
/// `capsim run`): a 200-user steady scenario with 2 replicas and 1
/// template has 259 series; 10 replicas 307 (6 per replica), 5 templates
/// 363 (26 per template); the shipped scenarios 246 to 283 (a base of about
/// 220). The constants are 5 to 7 times that base and about twice the
/// per-replica and per-template figures (proxies and provisioner groups
/// not measured), so [`MAX_BUCKET_VALUES`] is reached well before the
/// memory it names.
const VALUES_PER_BUCKET_BASE: f64 = 1_500.0;
const VALUES_PER_REPLICA: f64 = 10.0;
const VALUES_PER_TEMPLATE: f64 = 60.0;
const VALUES_PER_PROXY: f64 = 20.0;
const VALUES_PER_GROUP: f64 = 30.0;

/// Events one connection of a kind with a `duration` costs (it opens and
/// ends). Measured: 3,590 more SSH connections (1-minute connections with
/// 1-minute gaps for 200 users over 2 h) added 3,534 events, about 1 each;
/// rounded up for connections that also make API requests.
const EVENTS_PER_CONNECTION: f64 = 2.0;
/// Events one build costs (queue, daemon, coderd's and the database's work,
/// the agent that connects after it). Measured: 984 more builds of one
/// template (a 200-user scenario over 2 h) added 12,408 events, 12.6 each;
/// rounded up.
const EVENTS_PER_BUILD: f64 = 15.0;

/// `v` checked against `max`, a located error naming the limit otherwise.
pub fn at_most(ctx: &Ctx, v: i64, max: i64, what: &str, field: &str) -> Result<(), ScenarioError> {
    if v > max {
        return Err(ctx.err(
            field,
            format!("expected at most {max} {what} (capsim's limit), found {v}"),
        ));
    }
    Ok(())
}

/// Time buckets of a run (after the warm-up).
fn buckets(s: &Scenario) -> u64 {
    (s.duration - s.warmup)
        .as_nanos()
        .div_ceil(s.bucket.as_nanos().max(1))
}

/// Estimated series values one replication of `s` keeps, and per bucket.
fn series_values(s: &Scenario) -> (f64, f64) {
    let per_bucket = VALUES_PER_BUCKET_BASE
        + VALUES_PER_REPLICA * f64::from(most_replicas(s))
        + VALUES_PER_TEMPLATE * s.workload.templates.len() as f64
        + VALUES_PER_PROXY * s.deployment.proxies.len() as f64
        + VALUES_PER_GROUP * s.deployment.provisioner_groups.len() as f64;
    (buckets(s) as f64 * per_bucket, per_bucket)
}

/// The most coderd replicas the scenario can have at once.
fn most_replicas(s: &Scenario) -> u32 {
    s.events
        .iter()
        .filter_map(|e| match e.action {
            super::Action::ScaleCoderd { replicas } => Some(replicas),
            _ => None,
        })
        .chain([s.deployment.coderd.n_replicas])
        .chain(s.autoscaling.coderd.as_ref().map(|a| a.max_replicas))
        .max()
        .unwrap_or(0)
}

/// Check a resolved scenario against the limits of one run.
pub fn check(ctx: &Ctx, s: &Scenario) -> Result<(), ScenarioError> {
    if s.duration > MAX_DURATION {
        return Err(ctx.err(
            "duration",
            format!(
                "expected at most {} (capsim's limit), found {}",
                dt(MAX_DURATION),
                dt(s.duration)
            ),
        ));
    }
    let sampled = s.duration - s.warmup;
    if s.bucket > sampled {
        return Err(ctx.err(
            "bucket",
            format!(
                "expected a bucket no longer than the run after its warm-up ({}), found {}",
                dt(sampled),
                dt(s.bucket)
            ),
        ));
    }
    let buckets = buckets(s);
    if buckets > MAX_BUCKETS {
        return Err(ctx.err(
            "bucket",
            format!(
                "expected at most {MAX_BUCKETS} buckets per run (capsim's limit), found {buckets} ({} in buckets of {}): use a longer bucket",
                dt(sampled),
                dt(s.bucket)
            ),
        ));
    }
    let (values, per_bucket) = series_values(s);
    if values > MAX_BUCKET_VALUES {
        return Err(ctx.err(
            "bucket",
            format!(
                "expected at most {MAX_BUCKET_VALUES:.0} series values per run (capsim's limit), found about {values:.2e} ({buckets} buckets x about {per_bucket:.0} values per bucket for {} replicas): use a longer bucket",
                most_replicas(s)
            ),
        ));
    }
    events_per_second(ctx, s)
}

/// Estimate the events per simulated second and refuse a scenario past
/// [`MAX_EVENTS_PER_SIM_S`], naming the field that contributes most.
fn events_per_second(ctx: &Ctx, s: &Scenario) -> Result<(), ScenarioError> {
    let users = s.workload.users.as_ref().map_or(0, |u| u.n_users);
    let phase_users = s
        .workload
        .phases
        .iter()
        .map(|p| p.n_users)
        .max()
        .unwrap_or(0);
    let agents = f64::from(users.max(phase_users));
    // (field, what, events per simulated second)
    let mut parts: Vec<(String, String, f64)> = Vec::new();
    for (i, g) in s.workload.agents.metadata.iter().enumerate() {
        let per_s = agents / g.interval.as_secs_f64().max(1e-9);
        parts.push((
            format!("workload.agents.metadata[{i}].interval"),
            format!(
                "{agents:.0} agents each sending metadata every {}",
                dt(g.interval)
            ),
            per_s,
        ));
    }
    parts.push((
        "workload.agents.stats_interval".into(),
        format!(
            "{agents:.0} agents each reporting stats every {}",
            dt(s.workload.agents.stats_interval)
        ),
        agents / s.workload.agents.stats_interval.as_secs_f64().max(1e-9),
    ));
    if let Some(d) = s
        .workload
        .connections
        .iter()
        .find(|c| c.kind == ConnKind::Dashboard)
    {
        let actions = f64::from(users) * d.per_user / d.action_interval_s.mean().max(1e-9);
        // Each request is an arrival and a completion at coderd and at the database.
        let per_s = actions * (1.0 + 4.0 * d.requests_per_action);
        let field = if d.requests_per_action > 100.0 {
            "workload.connections.dashboard.requests_per_action"
        } else {
            "workload.connections.dashboard.action_interval"
        };
        parts.push((
            field.into(),
            format!(
                "{users} users x {} dashboards x {} requests per action every {:.3} s",
                d.per_user,
                d.requests_per_action,
                d.action_interval_s.mean()
            ),
            per_s,
        ));
    }
    for c in &s.workload.connections {
        let Some(d) = &c.duration_s else { continue };
        if c.kind == ConnKind::Dashboard {
            continue;
        }
        let cycle_s = d.mean() + c.gap_s.mean();
        parts.push((
            format!("workload.connections.{}.duration", c.kind.name()),
            format!(
                "{users} users x {} {} connections, a new one every {cycle_s:.3} s",
                c.per_user,
                c.kind.name()
            ),
            f64::from(users) * c.per_user / cycle_s.max(1e-9) * EVENTS_PER_CONNECTION,
        ));
    }
    for (i, t) in s.workload.templates.iter().enumerate() {
        let rate = |a: &Option<super::Arrivals>| a.as_ref().map_or(0.0, |a| a.max_rate());
        let builds_per_s = rate(&t.builds) + rate(&t.prebuilds) + rate(&t.pushes);
        parts.push((
            format!("workload.templates[{i}].builds"),
            format!("{builds_per_s:.3} builds per second of template {}", t.name),
            builds_per_s * EVENTS_PER_BUILD,
        ));
    }
    let total: f64 = parts.iter().map(|p| p.2).sum();
    if total.is_nan() || total > MAX_EVENTS_PER_SIM_S {
        let (field, what, _) = parts
            .iter()
            .max_by(|a, b| a.2.total_cmp(&b.2))
            .expect("parts is never empty");
        return Err(ctx.err(
            field,
            format!(
                "expected at most {MAX_EVENTS_PER_SIM_S:.0} events per simulated second (capsim's limit), found about {total:.2e} (mostly {what})"
            ),
        ));
    }
    Ok(())
}
