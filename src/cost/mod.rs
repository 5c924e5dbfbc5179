//! The monthly cost of an architecture: what it deploys, priced by a price
//! file ([`prices`]).
//!
//! The cost of an architecture is what it deploys, for `hours_per_month`
//! hours: coderd replicas x their vCPU and RAM, every external provisioner
//! daemon, the database (only when there is a coderd: a build-queue-only
//! scenario has none), every workspace proxy, the workspace cluster's nodes
//! (its initial `nodes`; scale-ups are not costed), the nodes of every node
//! pool (their time average over the run: node-hours priced per hour) and
//! the fixed fees. A
//! component under an autoscaler is costed at its time-average size over the
//! run when the run's summary is given (else at its initial size).
//! Built-in provisioner daemons run inside coderd and cost nothing extra.
//!
//! This module is arithmetic and data: [`MonthlyCost`] is the
//! `monthly_cost` object of `capsim run --format json` and of
//! `compare.json`; its text (the table on stdout, the Markdown of
//! `report.md`, `compare.md` and `size.md`) is written by `report::cost`.

pub mod prices;

pub use prices::{
    ComponentPrice, HOURS_PER_MONTH, InstanceType, PriceList, Pricing, for_scenario, load_for_all,
};

use crate::format::{count_str, size};
use crate::result::Summary;
use crate::scenario::Scenario;
use serde::Serialize;

/// One line of a cost breakdown.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CostLine {
    /// `coderd`, `provisioners`, `database`, `proxy <name>`, `workspace nodes`, or a fixed fee.
    pub component: String,
    /// What one unit is (`4 vCPU, 16 GB`, `m6i.xlarge`).
    pub unit: String,
    /// Units deployed (a time average under an autoscaler).
    pub count: f64,
    /// Price of one unit per hour (multiplier included).
    pub per_unit_hour: f64,
    /// count x per_unit_hour x hours_per_month.
    pub monthly: f64,
}

/// The monthly cost of an architecture: the `monthly_cost` object of
/// `capsim run --format json` and of `compare.json`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MonthlyCost {
    pub currency: String,
    pub total: f64,
    pub hours_per_month: f64,
    pub price_file: String,
    pub prices_date: String,
    pub lines: Vec<CostLine>,
    /// What is not costed, and why.
    pub notes: Vec<String>,
    /// The users the architecture serves (`workload.users.count`), if any.
    pub users: Option<u32>,
    /// `total / users`: the monthly cost per user (every user, not only
    /// the active ones).
    pub per_user: Option<f64>,
}

impl ComponentPrice {
    /// (what one unit is, its price per hour) for a unit of `vcpu` and `ram_bytes`.
    pub fn unit(&self, vcpu: f64, ram_bytes: f64) -> Result<(String, f64), String> {
        let shape = format!("{} vCPU, {}", count_str(vcpu), size(ram_bytes));
        let (what, per_hour) = match &self.pricing {
            Pricing::Rates { vcpu_hour, gb_hour } => {
                (shape, vcpu * vcpu_hour + ram_bytes / 1e9 * gb_hour)
            }
            Pricing::Instances(types) => {
                let best = types
                    .iter()
                    .filter(|t| t.vcpu >= vcpu - 1e-9 && t.ram_bytes >= ram_bytes * (1.0 - 1e-9))
                    .min_by(|a, b| a.per_hour.total_cmp(&b.per_hour));
                match best {
                    Some(t) => (format!("{} ({shape})", t.name), t.per_hour),
                    None => {
                        return Err(format!(
                            "no instance type fits {shape} (largest listed: {})",
                            types
                                .iter()
                                .map(|t| format!(
                                    "{} {} vCPU {}",
                                    t.name,
                                    count_str(t.vcpu),
                                    size(t.ram_bytes)
                                ))
                                .collect::<Vec<_>>()
                                .join("; ")
                        ));
                    }
                }
            }
        };
        let what = if self.multiplier != 1.0 {
            format!("{what} x{}", self.multiplier)
        } else {
            what
        };
        Ok((what, per_hour * self.multiplier))
    }
}

/// The monthly cost of what `s` deploys at `prices`. `usage` (the run's
/// summary) gives the time-average size of autoscaled components.
pub fn monthly_cost(
    s: &Scenario,
    prices: &PriceList,
    usage: Option<&Summary>,
) -> Result<MonthlyCost, String> {
    let h = prices.hours_per_month;
    let mut lines = Vec::new();
    let mut notes = Vec::new();
    let mut push = |component: &str, unit: String, count: f64, per_unit_hour: f64| {
        if count > 0.0 {
            lines.push(CostLine {
                component: component.to_string(),
                unit,
                count,
                per_unit_hour,
                monthly: count * per_unit_hour * h,
            });
        }
    };
    let d = &s.deployment;
    let c = &d.coderd;
    let mean_of = |metric: &str| usage.and_then(|u| u.value(metric, "mean"));
    let replicas = match (&s.autoscaling.coderd, mean_of("coderd_replicas")) {
        (Some(_), Some(m)) => m,
        _ => c.n_replicas as f64,
    };
    if c.n_replicas > 0 {
        let (unit, p) = prices
            .coderd
            .unit(c.vcpu_per_replica, c.ram_bytes_per_replica)
            .map_err(|e| format!("coderd: {e} in {}", prices.path.display()))?;
        push("coderd", unit, replicas, p);
    }
    let builtin = replicas * c.builtin_provisioners_per_replica as f64;
    let autoscaled_daemons = match (&s.autoscaling.provisioners, mean_of("provisioner_daemons")) {
        (Some(_), Some(m)) => Some((m - builtin).max(0.0)),
        _ => None,
    };
    for (i, g) in d.provisioner_groups.iter().enumerate() {
        let (unit, p) = prices
            .provisioners
            .unit(g.vcpu_per_daemon, g.ram_bytes_per_daemon)
            .map_err(|e| format!("provisioners: {e} in {}", prices.path.display()))?;
        // The autoscaler drives the external daemons as one pool: its average
        // is booked on the first group.
        let n = match autoscaled_daemons {
            Some(m) if i == 0 => m,
            _ => g.n_daemons as f64,
        };
        let name = if d.provisioner_groups.len() == 1 {
            "provisioners".to_string()
        } else {
            format!("provisioners {}", g.name)
        };
        push(&name, unit, n, p);
    }
    if c.n_replicas > 0 {
        let (unit, p) = prices
            .database
            .unit(d.database.vcpu, d.database.ram_bytes)
            .map_err(|e| format!("database: {e} in {}", prices.path.display()))?;
        push("database", unit, 1.0, p);
        if let Some((gb, per_gb_month)) = prices.database_storage {
            push(
                "database storage",
                format!("{gb:.0} GB"),
                1.0,
                gb * per_gb_month * prices.database.multiplier / h,
            );
        }
    }
    for px in &d.proxies {
        let (unit, p) = prices
            .proxies
            .unit(px.vcpu, px.ram_bytes)
            .map_err(|e| format!("proxies: {e} in {}", prices.path.display()))?;
        push(&format!("proxy {}", px.name), unit, 1.0, p);
    }
    if let Some(cl) = &d.cluster {
        match &prices.workspace_node {
            Some((what, p)) => push("workspace nodes", what.clone(), cl.n_nodes as f64, *p),
            None => notes.push(format!(
                "the {} workspace nodes are not costed: {} has no [workspace_nodes]",
                cl.n_nodes,
                prices.path.display()
            )),
        }
        if cl.max_nodes > cl.n_nodes {
            notes.push(format!(
                "workspace nodes costed at the initial {}; scale-ups (up to {}) are not",
                cl.n_nodes, cl.max_nodes
            ));
        }
    }
    for pool in &d.node_pools {
        let name = if d.node_pools.len() == 1 {
            "workspace nodes".to_string()
        } else {
            format!("workspace nodes {}", pool.name)
        };
        let mean = usage.and_then(|u| {
            u.metrics
                .iter()
                .find(|m| {
                    m.name == "workspace_nodes"
                        && m.stat == "mean"
                        && m.labels.get("pool") == Some(&pool.name)
                })
                .and_then(|m| m.value)
        });
        let count = mean.unwrap_or(pool.min_nodes as f64);
        match node_price(prices, pool.vcpu, pool.ram_bytes) {
            Ok((unit, p)) => push(&name, unit, count, p),
            Err(e) => notes.push(format!("{name}: not costed: {e}")),
        }
    }
    if !d.node_pools.is_empty() {
        notes.push(if usage.is_some() {
            "workspace nodes are costed at their time-average count over the run (node-hours x price per node-hour)".into()
        } else {
            "workspace nodes are costed at each pool's `min`".into()
        });
    }
    for (name, p) in &prices.fixed {
        push(name, "flat fee".into(), 1.0, *p);
    }
    if s.autoscaling.coderd.is_some() || s.autoscaling.provisioners.is_some() {
        notes.push(if usage.is_some() {
            "autoscaled components are costed at their time-average size over the run".into()
        } else {
            "autoscaled components are costed at their initial size".into()
        });
    }
    let total: f64 = lines.iter().map(|l| l.monthly).sum();
    let users = s.workload.users.as_ref().map(|u| u.n_users);
    Ok(MonthlyCost {
        users,
        per_user: users.filter(|n| *n > 0).map(|n| total / f64::from(n)),
        currency: prices.currency.clone(),
        total,
        hours_per_month: h,
        price_file: crate::format::tidy_path(&prices.path),
        prices_date: prices.date.clone(),
        lines,
        notes,
    })
}

/// (what one node of `vcpu` and `ram_bytes` is, its price per hour): the
/// price file's `[workspace_nodes] per_node_hour` when it gives one, else
/// the cheapest of its `[instance_types]` with that vCPU and RAM.
pub fn node_price(prices: &PriceList, vcpu: f64, ram_bytes: f64) -> Result<(String, f64), String> {
    if let Some((what, p)) = &prices.workspace_node
        && what == "node"
    {
        return Ok((what.clone(), *p));
    }
    ComponentPrice {
        pricing: Pricing::Instances(prices.instance_types.clone()),
        multiplier: 1.0,
    }
    .unit(vcpu, ram_bytes)
    .map_err(|e| format!("{e} in {}", prices.path.display()))
}

/// The monthly cost of a finished run: on `prices` when given (loaded
/// already), else on the price file the scenario names; `None` when it
/// names none.
pub fn cost_of_run(
    s: &Scenario,
    prices: Option<&PriceList>,
    summary: &Summary,
) -> Option<Result<MonthlyCost, String>> {
    let loaded;
    let p = match prices {
        Some(p) => p,
        None => match PriceList::load(s.prices_path.as_deref()?) {
            Ok(l) => {
                loaded = l;
                &loaded
            }
            Err(e) => return Some(Err(e.to_string())),
        },
    };
    Some(monthly_cost(s, p, Some(summary)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_unit_shows_its_ram_in_its_own_unit() {
        let rates = ComponentPrice {
            pricing: Pricing::Rates {
                vcpu_hour: 0.03,
                gb_hour: 0.004,
            },
            multiplier: 1.0,
        };
        // 512 MB is not rounded to 0.5 GB, nor 7.5 GB to 8 GB.
        assert_eq!(rates.unit(0.5, 512e6).unwrap().0, "0.5 vCPU, 512 MB");
        assert_eq!(rates.unit(2.0, 7.5e9).unwrap().0, "2 vCPU, 7.5 GB");
        assert_eq!(rates.unit(4.0, 16e9).unwrap().0, "4 vCPU, 16 GB");
        let small = InstanceType {
            name: "small".into(),
            vcpu: 2.0,
            ram_bytes: 8.0 * 1024f64.powi(3),
            per_hour: 0.1,
        };
        let types = ComponentPrice {
            pricing: Pricing::Instances(vec![small]),
            multiplier: 2.0,
        };
        let (what, per_hour) = types.unit(0.5, 512e6).unwrap();
        assert_eq!(
            (what.as_str(), per_hour),
            ("small (0.5 vCPU, 512 MB) x2", 0.2)
        );
        let e = types.unit(4.0, 16e9).unwrap_err();
        assert_eq!(
            e,
            "no instance type fits 4 vCPU, 16 GB (largest listed: small 2 vCPU 8.59 GB)"
        );
    }
}
