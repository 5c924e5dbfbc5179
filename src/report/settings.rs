//! A scenario in words: the architecture and the workload as sentences for
//! the first screen of `report.md`, and every setting as a row of a table
//! with a human name and its value in units (never a Rust name such as
//! `RoundRobin` or a path such as `connections[0].kind`).

use super::catalogue::label_words;
use crate::engine::{Dist, SimTime};
use crate::format::{clock, count_str, fmt_value, label_list, size, thousands};
use crate::scenario::{
    Action, Arrivals, ConnKind, LoadBalancer, Scenario, StopSignal, UserMode, WhenFull,
};

/// One setting: the section it belongs to, its name and its value.
pub type Setting = (&'static str, String, String);

fn secs(t: SimTime) -> String {
    fmt_value(Some(t.as_secs_f64()), "s")
}

fn pct(x: f64) -> String {
    let p = x * 100.0;
    if (p - p.round()).abs() < 1e-9 {
        format!("{p:.0}%")
    } else {
        format!("{p:.1}%")
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

/// A distribution in words, its values in `unit` (`s`, `B`, or `tod` for
/// times of day).
pub fn dist_words(d: &Dist, unit: &str) -> String {
    let v = |x: f64| match unit {
        "tod" => clock(x, false),
        u => fmt_value(Some(x), u),
    };
    // A spread around a time of day is a duration.
    let spread = |x: f64| match unit {
        "tod" => fmt_value(Some(x), "s"),
        u => fmt_value(Some(x), u),
    };
    match d {
        Dist::Constant(x) => format!("always {}", v(*x)),
        Dist::Exponential { mean, .. } => format!("exponential, mean {}", spread(*mean)),
        Dist::LogNormal { mu, sigma, .. } => format!(
            "lognormal, median {}, p95 {}",
            v(mu.exp()),
            v((mu + crate::engine::dist::Z95 * sigma).exp())
        ),
        Dist::Gamma { shape, scale, .. } => format!(
            "gamma, mean {}, shape {}",
            spread(shape * scale),
            count_str(*shape)
        ),
        Dist::TruncNormal {
            mean, sd, min, max, ..
        } => {
            let mut s = format!("{} ± {}", v(*mean), spread(*sd));
            if *min > 0.0 && unit != "tod" {
                s += &format!(", at least {}", v(*min));
            }
            if max.is_finite() {
                s += &format!(", at most {}", v(*max));
            }
            s
        }
        Dist::Uniform { min, max } => format!("between {} and {}", v(*min), v(*max)),
        Dist::Empirical(xs) => format!(
            "one of {} measured values, mean {}",
            xs.len(),
            spread(d.mean())
        ),
    }
}

/// Arrivals in words: `30/h` or `20/h to 600/h over the day, 210/h on average`.
pub fn arrivals_words(a: &Arrivals) -> String {
    let h = |r: f64| format!("{}/h", count_str((r * 3600.0 * 10.0).round() / 10.0));
    match a {
        Arrivals::Poisson { rate_per_s } => h(*rate_per_s),
        Arrivals::Profile { points } => {
            let lo = points.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
            format!(
                "{} to {} by time of day, {} on average",
                h(lo),
                h(a.max_rate()),
                h(a.mean_rate())
            )
        }
    }
}

/// A connection kind in words (`web terminal`).
pub fn kind_words(k: ConnKind) -> &'static str {
    label_words(k.name())
}

/// An offset from the scenario's clock: `UTC+1`, `-6 h`.
fn offset_words(s: f64) -> String {
    if s == 0.0 {
        "the scenario's clock".into()
    } else {
        let h = s / 3600.0;
        format!(
            "{}{} h from the scenario's clock",
            if h > 0.0 { "+" } else { "" },
            count_str(h)
        )
    }
}

/// A scheduled action in words.
pub fn action_words(a: &Action, sc: &Scenario) -> String {
    match a {
        Action::KillReplica { replica: Some(r) } => format!("kill coderd replica {r}"),
        Action::KillReplica { replica: None } => {
            "kill the coderd replica with the most connections".into()
        }
        Action::ScaleCoderd { replicas } => format!("scale coderd to {replicas} replicas"),
        Action::AddProvisioners { count } => format!("add {count} provisioner daemons"),
        Action::RemoveProvisioners { count, signal } => format!(
            "remove {count} provisioner daemons ({})",
            signal_words(*signal)
        ),
        Action::DatabaseOutage { duration } => {
            format!("database outage for {}", secs(*duration))
        }
        Action::TrafficSpike { factor, duration } => format!(
            "dashboard traffic x{} for {}",
            count_str(*factor),
            secs(*duration)
        ),
        Action::TemplatePush { template, count } => format!(
            "{count} template version imports of {}",
            sc.workload
                .templates
                .get(*template as usize)
                .map_or("?", |t| t.name.as_str())
        ),
    }
}

fn signal_words(s: StopSignal) -> &'static str {
    match s {
        StopSignal::Sighup => "SIGHUP: each finishes its build first",
        StopSignal::Sigint => "SIGINT: running builds are cancelled",
    }
}

/// The architecture in one paragraph.
pub fn architecture_words(sc: &Scenario) -> String {
    let d = &sc.deployment;
    let c = &d.coderd;
    let mut parts = Vec::new();
    if c.n_replicas > 0 {
        let lb = match c.load_balancer {
            LoadBalancer::RoundRobin => "round-robin",
            LoadBalancer::LeastConnections => "least-connections",
        };
        let mut s = format!(
            "{} of {} vCPU and {} behind a {lb} load balancer",
            plural(u64::from(c.n_replicas), "coderd replica", "coderd replicas"),
            count_str(c.vcpu_per_replica),
            size(c.ram_bytes_per_replica)
        );
        if c.builtin_provisioners_per_replica > 0 {
            s += &format!(
                ", each running {}",
                plural(
                    u64::from(c.builtin_provisioners_per_replica),
                    "built-in provisioner daemon",
                    "built-in provisioner daemons"
                )
            );
        }
        if let Some(a) = &sc.autoscaling.coderd {
            s += &format!(
                " (autoscaled between {} and {} replicas at {} CPU)",
                a.min_replicas,
                a.max_replicas,
                pct(a.target_cpu)
            );
        }
        parts.push(s);
    } else {
        parts.push("no coderd (the build queue alone)".into());
    }
    for g in &d.provisioner_groups {
        let tags = if g.tags.is_empty() {
            String::new()
        } else {
            format!(" tagged {}", label_list(&g.tags, ", "))
        };
        parts.push(format!(
            "{} of {} vCPU and {}{tags}{}",
            plural(
                u64::from(g.n_daemons),
                "external provisioner daemon",
                "external provisioner daemons"
            ),
            count_str(g.vcpu_per_daemon),
            size(g.ram_bytes_per_daemon),
            if d.provisioner_groups.len() > 1 {
                format!(" (group {})", g.name)
            } else {
                String::new()
            }
        ));
    }
    if let Some(a) = &sc.autoscaling.provisioners {
        parts.push(format!(
            "a provisioner autoscaler keeping {} to {} external daemons",
            a.min_daemons, a.max_daemons
        ));
    }
    if c.n_replicas > 0 {
        parts.push(format!(
            "a PostgreSQL database of {} vCPU and {}",
            count_str(d.database.vcpu),
            size(d.database.ram_bytes)
        ));
    }
    if d.proxies.is_empty() {
        if c.n_replicas > 0 {
            parts.push("no workspace proxies".into());
        }
    } else {
        for p in &d.proxies {
            parts.push(format!(
                "workspace proxy {} of {} vCPU carrying {} of users",
                p.name,
                count_str(p.vcpu),
                pct(p.user_share)
            ));
        }
    }
    if let Some(cl) = &d.cluster {
        parts.push(format!(
            "a workspace cluster of {} nodes ({} workspaces each, up to {} nodes)",
            cl.n_nodes, cl.workspaces_per_node, cl.max_nodes
        ));
    }
    for p in &d.node_pools {
        parts.push(format!(
            "workspace node pool {} of {} to {} nodes of {} vCPU and {}",
            p.name,
            p.min_nodes,
            p.max_nodes,
            count_str(p.vcpu),
            size(p.ram_bytes)
        ));
    }
    sentence(&parts)
}

/// `a, b and c.`
fn sentence(parts: &[String]) -> String {
    let s = match parts {
        [] => String::new(),
        [a] => a.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    };
    let mut c = s.chars();
    match c.next() {
        Some(f) => format!("{}{}.", f.to_uppercase(), c.as_str()),
        None => s,
    }
}

/// The workload in a few sentences: users, when they work, time zones,
/// templates and builds, connections, agents.
pub fn workload_words(sc: &Scenario) -> String {
    let w = &sc.workload;
    let mut out = Vec::new();
    if let Some(u) = &w.users {
        let mut s = match u.mode {
            UserMode::Calendar => format!(
                "{}, {} of them at work on a weekday ({} at weekends), from {}",
                plural(u64::from(u.n_users), "user", "users"),
                pct(u.active_fraction),
                pct(u.weekend_active_fraction),
                crate::format::WEEKDAYS[u.start_weekday as usize % 7]
            ),
            UserMode::Steady => format!(
                "{}, {} of them present all the time (steady load)",
                plural(u64::from(u.n_users), "user", "users"),
                pct(u.active_fraction)
            ),
        };
        if u.mode == UserMode::Calendar {
            let zones: Vec<String> = u
                .groups
                .iter()
                .map(|g| {
                    format!(
                        "{} of users{} at {}, arriving {} and working {}",
                        pct(g.share),
                        if u.groups.len() > 1 {
                            format!(" ({})", g.name)
                        } else {
                            String::new()
                        },
                        offset_words(g.offset_s),
                        dist_words(&g.day_start_s, "tod"),
                        dist_words(&g.session_length_s, "s")
                    )
                })
                .collect();
            s += &format!(
                "; {} time zone{}: {}",
                u.groups.len(),
                if u.groups.len() == 1 { "" } else { "s" },
                zones.join("; ")
            );
        }
        out.push(s);
        let mut ws = "Each has one workspace".to_string();
        if u.autostart_fraction > 0.0 {
            ws += &format!(
                "; {} of workspaces start on a schedule at {} on weekdays",
                pct(u.autostart_fraction),
                clock(u.autostart_time_s, false)
            );
        }
        match u.autostop_after {
            Some(t) => ws += &format!(", stopped {} after its user leaves", secs(t)),
            None => ws += ", never stopped",
        }
        if u.p2p_fraction > 0.0 {
            ws += &format!("; {} of users connect peer-to-peer", pct(u.p2p_fraction));
        }
        out.push(ws);
    }
    for t in &w.templates {
        let mut s = format!(
            "Template {}: builds take {}",
            t.name,
            dist_words(&t.build_time_s, "s")
        );
        if t.failure_probability > 0.0 {
            s += &format!(", {} fail", pct(t.failure_probability));
        }
        if let Some(b) = &t.builds {
            s += &format!("; {} builds", arrivals_words(b));
        } else if w.users.is_some() && t.user_share > 0.0 {
            s += &format!(
                "; built when its users ({}) start and stop workspaces",
                pct(t.user_share)
            );
        }
        if let Some(p) = &t.prebuilds {
            s += &format!(", {} prebuilds", arrivals_words(p));
        }
        out.push(s);
    }
    if w.users.is_some() && w.phases.is_empty() {
        let conns: Vec<String> = w
            .connections
            .iter()
            .filter(|c| c.per_user > 0.0)
            .map(|c| format!("{} {}", count_str(c.per_user), kind_words(c.kind)))
            .collect();
        if !conns.is_empty() {
            out.push(format!(
                "While at work a user keeps on average {} connections open",
                conns.join(", ")
            ));
        }
    }
    for p in &w.phases {
        out.push(format!(
            "Phase {}: {} users open one {} connection each from {} to {}",
            p.name,
            thousands(u64::from(p.n_users)),
            kind_words(p.kind),
            secs(p.start),
            secs(p.end)
        ));
    }
    if w.users.is_some() || !w.phases.is_empty() {
        let md: Vec<String> = w
            .agents
            .metadata
            .iter()
            .map(|m| {
                format!(
                    "{} metadata item{} of {} every {}",
                    m.n_items,
                    if m.n_items == 1 { "" } else { "s" },
                    size(m.item_bytes),
                    secs(m.interval)
                )
            })
            .collect();
        out.push(format!(
            "Each running workspace's agent sends {}, stats every {} and a heartbeat every {}",
            if md.is_empty() {
                "no metadata".to_string()
            } else {
                md.join(" and ")
            },
            secs(w.agents.stats_interval),
            secs(w.agents.heartbeat_interval)
        ));
    }
    out.iter()
        .map(|s| format!("{s}."))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Every setting of the scenario, by section, with a human name and its
/// value in units.
pub fn all_settings(sc: &Scenario) -> Vec<Setting> {
    let mut o: Vec<Setting> = Vec::new();
    let mut add = |sec: &'static str, name: &str, value: String| {
        o.push((sec, name.to_string(), value));
    };
    const A: &str = "Architecture";
    const W: &str = "Workload";
    const R: &str = "Run";
    let d = &sc.deployment;
    let c = &d.coderd;
    add(A, "coderd replicas", c.n_replicas.to_string());
    add(A, "coderd vCPU per replica", count_str(c.vcpu_per_replica));
    add(
        A,
        "coderd memory per replica",
        size(c.ram_bytes_per_replica),
    );
    add(
        A,
        "built-in provisioner daemons per replica",
        c.builtin_provisioners_per_replica.to_string(),
    );
    add(
        A,
        "database encryption",
        if c.database_encryption { "on" } else { "off" }.into(),
    );
    add(
        A,
        "load balancer",
        match c.load_balancer {
            LoadBalancer::RoundRobin => "round robin (new connections in turn)".into(),
            LoadBalancer::LeastConnections => {
                "least connections (new connections to the least loaded replica)".into()
            }
        },
    );
    for g in &d.provisioner_groups {
        let p = format!("provisioner group {}", g.name);
        add(A, &format!("{p}: daemons"), g.n_daemons.to_string());
        add(
            A,
            &format!("{p}: tags"),
            if g.tags.is_empty() {
                "none".into()
            } else {
                label_list(&g.tags, ", ")
            },
        );
        add(
            A,
            &format!("{p}: vCPU per daemon"),
            count_str(g.vcpu_per_daemon),
        );
        add(
            A,
            &format!("{p}: memory per daemon"),
            size(g.ram_bytes_per_daemon),
        );
    }
    add(A, "database vCPU", count_str(d.database.vcpu));
    add(A, "database memory", size(d.database.ram_bytes));
    if d.proxies.is_empty() {
        add(A, "workspace proxies", "none".into());
    }
    for p in &d.proxies {
        let n = format!("workspace proxy {}", p.name);
        add(A, &format!("{n}: vCPU"), count_str(p.vcpu));
        add(A, &format!("{n}: memory"), size(p.ram_bytes));
        add(A, &format!("{n}: share of users"), pct(p.user_share));
    }
    for p in &d.node_pools {
        let n = format!("node pool {}", p.name);
        add(A, &format!("{n}: node vCPU"), count_str(p.vcpu));
        add(A, &format!("{n}: node memory"), size(p.ram_bytes));
        add(A, &format!("{n}: allocatable"), pct(p.allocatable));
        add(A, &format!("{n}: pods per node"), p.max_pods.to_string());
        add(A, &format!("{n}: nodes at least"), p.min_nodes.to_string());
        add(A, &format!("{n}: nodes at most"), p.max_nodes.to_string());
        add(
            A,
            &format!("{n}: scale up at utilisation"),
            pct(p.scale_up_utilization),
        );
        add(
            A,
            &format!("{n}: scale down under requests"),
            pct(p.scale_down_utilization),
        );
        add(
            A,
            &format!("{n}: underused before removal"),
            secs(p.scale_down_unneeded),
        );
    }
    match &d.cluster {
        None if !d.node_pools.is_empty() => {}
        None => add(A, "workspace cluster", "unlimited room".into()),
        Some(cl) => {
            add(A, "workspace nodes at the start", cl.n_nodes.to_string());
            add(A, "workspaces per node", cl.workspaces_per_node.to_string());
            add(A, "workspace nodes at most", cl.max_nodes.to_string());
            add(A, "time for a new node to join", secs(cl.scale_up_delay));
            add(
                A,
                "a start that finds no room",
                match cl.when_full {
                    WhenFull::Wait => "waits for a node".into(),
                    WhenFull::Fail => "fails".into(),
                },
            );
        }
    }
    match &sc.autoscaling.coderd {
        None => add(A, "coderd autoscaler", "none".into()),
        Some(a) => {
            let n = "coderd autoscaler (HPA)";
            add(A, &format!("{n}: target CPU"), pct(a.target_cpu));
            add(
                A,
                &format!("{n}: replicas"),
                format!("{} to {}", a.min_replicas, a.max_replicas),
            );
            add(A, &format!("{n}: scale-up window"), secs(a.scale_up_window));
            add(
                A,
                &format!("{n}: scale-down window"),
                secs(a.scale_down_window),
            );
            add(
                A,
                &format!("{n}: cool-down between changes"),
                secs(a.cooldown),
            );
            add(A, &format!("{n}: sync period"), secs(a.sync_period));
            add(A, &format!("{n}: replica start-up"), secs(a.startup));
        }
    }
    match &sc.autoscaling.provisioners {
        None => add(A, "provisioner autoscaler", "none".into()),
        Some(a) => {
            let n = "provisioner autoscaler";
            add(
                A,
                &format!("{n}: external daemons"),
                format!("{} to {}", a.min_daemons, a.max_daemons),
            );
            add(
                A,
                &format!("{n}: waiting builds per daemon"),
                count_str(a.queue_per_daemon),
            );
            add(A, &format!("{n}: check interval"), secs(a.interval));
            add(A, &format!("{n}: daemon start-up"), secs(a.startup));
            add(
                A,
                &format!("{n}: scale-down"),
                signal_words(a.signal).into(),
            );
        }
    }
    let w = &sc.workload;
    for t in &w.templates {
        let n = format!("template {}", t.name);
        if !t.tags.is_empty() {
            add(
                W,
                &format!("{n}: provisioner tags"),
                label_list(&t.tags, ", "),
            );
        }
        add(
            W,
            &format!("{n}: build time"),
            dist_words(&t.build_time_s, "s"),
        );
        add(
            W,
            &format!("{n}: stop build time"),
            dist_words(&t.stop_time_s, "s"),
        );
        add(
            W,
            &format!("{n}: failed builds"),
            pct(t.failure_probability),
        );
        if let Some(b) = &t.builds {
            add(W, &format!("{n}: builds"), arrivals_words(b));
        }
        if let Some(b) = &t.prebuilds {
            add(W, &format!("{n}: prebuilds"), arrivals_words(b));
        }
        if let Some(b) = &t.pushes {
            add(
                W,
                &format!("{n}: template version imports"),
                arrivals_words(b),
            );
        }
        if w.users.is_some() {
            add(W, &format!("{n}: share of users"), pct(t.user_share));
        }
    }
    if let Some(u) = &w.users {
        add(W, "users", thousands(u64::from(u.n_users)));
        add(
            W,
            "user days",
            match u.mode {
                UserMode::Calendar => "working days (arrivals, lunch, weekends)".into(),
                UserMode::Steady => "steady (present the whole run)".into(),
            },
        );
        add(W, "users at work on a weekday", pct(u.active_fraction));
        add(
            W,
            "users at work at weekends",
            pct(u.weekend_active_fraction),
        );
        add(
            W,
            "first day",
            crate::format::WEEKDAYS[u.start_weekday as usize % 7].into(),
        );
        add(W, "peer-to-peer SSH and IDE", pct(u.p2p_fraction));
        add(
            W,
            "workspaces running at the start",
            if u.workspaces_running_at_start {
                "yes"
            } else {
                "no"
            }
            .into(),
        );
        add(
            W,
            "workspaces with an autostart schedule",
            pct(u.autostart_fraction),
        );
        if u.autostart_fraction > 0.0 {
            add(W, "autostart time", clock(u.autostart_time_s, false));
        }
        add(
            W,
            "workspace stops after its user leaves",
            u.autostop_after.map_or("never".into(), secs),
        );
        for g in &u.groups {
            let n = format!("time zone {}", g.name);
            add(W, &format!("{n}: share of users"), pct(g.share));
            add(W, &format!("{n}: offset"), offset_words(g.offset_s));
            add(
                W,
                &format!("{n}: arrival (local time)"),
                dist_words(&g.day_start_s, "tod"),
            );
            add(
                W,
                &format!("{n}: working day"),
                dist_words(&g.session_length_s, "s"),
            );
            add(
                W,
                &format!("{n}: users who take lunch"),
                pct(g.lunch_fraction),
            );
            add(
                W,
                &format!("{n}: lunch starts"),
                dist_words(&g.lunch_start_s, "tod"),
            );
            add(
                W,
                &format!("{n}: lunch lasts"),
                dist_words(&g.lunch_length_s, "s"),
            );
        }
        for cs in &w.connections {
            let n = format!("{} connections", kind_words(cs.kind));
            add(W, &format!("{n}: per user at work"), count_str(cs.per_user));
            if cs.kind != ConnKind::Dashboard {
                add(
                    W,
                    &format!("{n}: traffic"),
                    format!("{}/s", size(cs.bytes_per_s)),
                );
            }
            add(
                W,
                &format!("{n}: each lasts"),
                cs.duration_s
                    .as_ref()
                    .map_or("the whole session".into(), |d| dist_words(d, "s")),
            );
            add(
                W,
                &format!("{n}: pause before the next"),
                dist_words(&cs.gap_s, "s"),
            );
            if cs.kind == ConnKind::Dashboard {
                add(
                    W,
                    &format!("{n}: time between actions"),
                    dist_words(&cs.action_interval_s, "s"),
                );
                add(
                    W,
                    &format!("{n}: API requests per action"),
                    count_str(cs.requests_per_action),
                );
                add(
                    W,
                    &format!("{n}: websockets each"),
                    cs.websockets.to_string(),
                );
            }
        }
    }
    for p in &w.phases {
        add(
            W,
            &format!("phase {}", p.name),
            format!(
                "{} users, one {} connection each ({}/s), from {} to {}",
                thousands(u64::from(p.n_users)),
                kind_words(p.kind),
                size(p.bytes_per_s),
                secs(p.start),
                secs(p.end)
            ),
        );
    }
    if w.users.is_some() || !w.phases.is_empty() {
        for (i, m) in w.agents.metadata.iter().enumerate() {
            add(
                W,
                &format!("agent metadata, group {}", i + 1),
                format!(
                    "{} items of {} every {}",
                    m.n_items,
                    size(m.item_bytes),
                    secs(m.interval)
                ),
            );
        }
        add(W, "agent stats every", secs(w.agents.stats_interval));
        add(
            W,
            "agent heartbeat every",
            secs(w.agents.heartbeat_interval),
        );
    }
    for e in &sc.events {
        add(
            R,
            &format!(
                "event at {}",
                clock((sc.start_time_of_day + e.at).as_secs_f64(), false)
            ),
            action_words(&e.action, sc),
        );
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distributions_read_in_their_units() {
        let ln = Dist::lognormal_median_p95(90.0, 360.0).unwrap();
        assert_eq!(
            dist_words(&ln, "s"),
            "lognormal, median 90.00 s, p95 6.0 min"
        );
        let n = Dist::truncated_normal(9.0 * 3600.0, 2700.0, 0.0, f64::INFINITY).unwrap();
        assert_eq!(dist_words(&n, "tod"), "09:00 ± 45.0 min");
        assert_eq!(
            arrivals_words(&Arrivals::Poisson {
                rate_per_s: 30.0 / 3600.0
            }),
            "30/h"
        );
        assert_eq!(
            offset_words(-6.0 * 3600.0),
            "-6 h from the scenario's clock"
        );
        assert_eq!(
            sentence(&["a".into(), "b".into(), "c".into()]),
            "A, b and c."
        );
    }
}
