//! Coder's deployment guidance (`[sizing]`, [`SizingPolicy`]) applied to an
//! architecture: the structural bounds (replicas, smallest replica and
//! database, built-in provisioners) and the CPU ceilings judged on runs.
//! `size` searches only inside the bounds; `compare` names what breaks them.

use super::{SloCheck, judge};
use crate::format::{count_str, pct, size};
use crate::model::metric_names as m;
use crate::result::RunResult;
use crate::scenario::{Bound, Scenario, SizingPolicy, Slo};

/// Where the defaults come from, for reports.
pub const SOURCES: &str = "../shared/seeds/003_9157b9f0f3b42389.txt (at least three coderd instances, preferably under ten, external provisioners), ../shared/data/sizing-rules.csv (1 vCPU / 2 GB per replica at least; database baseline 2 vCPU / 8 GB)";

/// `at least 3 coderd replicas (high availability)`.
pub fn min_replicas_text(p: &SizingPolicy) -> String {
    format!(
        "policy: at least {} coderd replicas (high availability)",
        p.min_coderd_replicas
    )
}

/// `at most 10 coderd replicas (prefer vertical scale)`.
pub fn max_replicas_text(p: &SizingPolicy) -> String {
    format!(
        "policy: at most {} coderd replicas (prefer vertical scale)",
        p.max_coderd_replicas
    )
}

pub fn min_coderd_shape_text(p: &SizingPolicy) -> String {
    format!(
        "policy: at least {} vCPU and {} per coderd replica",
        count_str(p.min_coderd_vcpu),
        size(p.min_coderd_ram_bytes)
    )
}

pub fn min_database_text(p: &SizingPolicy) -> String {
    format!(
        "policy: database at least {} vCPU and {} (Coder's baseline)",
        count_str(p.min_database_vcpu),
        size(p.min_database_ram_bytes)
    )
}

/// The CPU ceilings as SLO-like checks, each judged on one value per
/// replication ([`cpu_value`]): the peak (busiest bucket) CPU of the
/// busiest coderd replica, and of the database.
pub fn cpu_checks(s: &Scenario, p: &SizingPolicy, runs: &[RunResult]) -> Vec<SloCheck> {
    cpu_slos(s, p)
        .iter()
        .map(|slo| {
            let xs: Vec<f64> = runs.iter().filter_map(|r| cpu_value(slo, r)).collect();
            judge(slo, Default::default(), "ratio".into(), &xs)
        })
        .collect()
}

/// The CPU ceilings of [`cpu_checks`] as SLOs on the `peak` of the CPU
/// utilisation metrics (none without coderd replicas).
pub fn cpu_slos(s: &Scenario, p: &SizingPolicy) -> Vec<Slo> {
    let one = |metric: &str, what: &str, ceiling: f64| Slo {
        name: format!(
            "policy: {what} peak CPU at most {}",
            pct(100.0 * ceiling, 0)
        ),
        metric: metric.into(),
        stat: "peak".into(),
        labels: Default::default(),
        bound: Bound::AtMost,
        target: ceiling,
    };
    if s.deployment.coderd.n_replicas == 0 {
        return Vec::new();
    }
    vec![
        one(m::CODERD_CPU_UTILIZATION, "coderd", p.max_coderd_cpu),
        one(m::DATABASE_CPU_UTILIZATION, "database", p.max_database_cpu),
    ]
}

/// A CPU ceiling's value in one replication: the highest `peak` of its
/// metric over every label set (the busiest replica).
pub fn cpu_value(slo: &Slo, run: &RunResult) -> Option<f64> {
    run.metrics
        .iter()
        .filter(|x| x.name == slo.metric && x.stat == slo.stat && x.value.is_finite())
        .map(|x| x.value)
        .reduce(f64::max)
}

/// Users of the scenario (0 without a user model).
fn users(s: &Scenario) -> u32 {
    s.workload.users.as_ref().map_or(0, |u| u.n_users)
}

/// Built-in provisioner daemons the policy would move out of coderd.
pub fn builtin_to_move(s: &Scenario, p: &SizingPolicy) -> u32 {
    let c = &s.deployment.coderd;
    if users(s) > p.builtin_provisioners_max_users {
        c.n_replicas * c.builtin_provisioners_per_replica
    } else {
        0
    }
}

/// What in the architecture itself breaks the policy, in words (empty when
/// nothing does). An autoscaled coderd is judged by its scenario's count.
pub fn violations(s: &Scenario, p: &SizingPolicy) -> Vec<String> {
    let c = &s.deployment.coderd;
    let mut out = Vec::new();
    if c.n_replicas == 0 {
        return out;
    }
    if c.n_replicas < p.min_coderd_replicas {
        out.push(format!(
            "{} coderd replica{}, fewer than the {} Coder's guidance asks for high availability",
            c.n_replicas,
            if c.n_replicas == 1 { "" } else { "s" },
            p.min_coderd_replicas
        ));
    }
    if c.n_replicas > p.max_coderd_replicas {
        out.push(format!(
            "{} coderd replicas, more than the {} Coder's guidance prefers (scale vertically)",
            c.n_replicas, p.max_coderd_replicas
        ));
    }
    if c.vcpu_per_replica < p.min_coderd_vcpu - 1e-9
        || c.ram_bytes_per_replica < p.min_coderd_ram_bytes - 1.0
    {
        out.push(format!(
            "coderd replicas of {} vCPU and {}, under {} vCPU and {}",
            count_str(c.vcpu_per_replica),
            size(c.ram_bytes_per_replica),
            count_str(p.min_coderd_vcpu),
            size(p.min_coderd_ram_bytes)
        ));
    }
    let d = &s.deployment.database;
    if d.vcpu < p.min_database_vcpu - 1e-9 || d.ram_bytes < p.min_database_ram_bytes - 1.0 {
        out.push(format!(
            "a database of {} vCPU and {}, under Coder's baseline of {} vCPU and {}",
            count_str(d.vcpu),
            size(d.ram_bytes),
            count_str(p.min_database_vcpu),
            size(p.min_database_ram_bytes)
        ));
    }
    let b = builtin_to_move(s, p);
    if b > 0 {
        out.push(format!(
            "{b} built-in provisioner daemons in coderd at {} users (Coder's guidance: external provisioners, CODER_PROVISIONER_DAEMONS=0)",
            users(s)
        ));
    }
    out
}
