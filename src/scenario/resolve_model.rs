//! Resolution of the deployment-model sections: database, proxies, cluster,
//! users, agents, connections, phases, autoscaling and scheduled events.
//!
//! Defaults carry their source. `../shared/data/coder-timing-constants.csv`
//! is "timing constants" below; `../shared/data/sizing-rules.csv` is
//! "sizing rules".

use super::file::*;
use super::resolve::Ctx;
use super::units::{Quantity, parse_time_of_day_s};
use super::*;
use crate::engine::{Dist, SimTime};

/// Assumed: a coderd pod is ready about 30 s after it is scheduled (the
/// autoscaler's `startup` default, and the start-up of replicas a
/// `scale_coderd` event adds without an autoscaler).
pub const CODERD_STARTUP_S: u64 = 30;

fn dur_or(
    ctx: &Ctx,
    q: &Option<Quantity>,
    field: &str,
    default_s: f64,
) -> Result<SimTime, ScenarioError> {
    match q {
        Some(q) => ctx.duration(q, field),
        None => Ok(SimTime::from_secs_f64(default_s)),
    }
}

fn pos_dur_or(
    ctx: &Ctx,
    q: &Option<Quantity>,
    field: &str,
    default_s: f64,
) -> Result<SimTime, ScenarioError> {
    match q {
        Some(q) => ctx.positive_duration(q, field),
        None => Ok(SimTime::from_secs_f64(default_s)),
    }
}

fn dist_or(
    ctx: &Ctx,
    d: &Option<DistFile>,
    field: &str,
    default: Dist,
) -> Result<Dist, ScenarioError> {
    match d {
        Some(d) => ctx.duration_dist(d, field),
        None => Ok(default),
    }
}

fn prob_or(ctx: &Ctx, v: Option<f64>, field: &str, default: f64) -> Result<f64, ScenarioError> {
    ctx.probability(v.unwrap_or(default), field)
}

pub fn database(ctx: &Ctx, d: &Option<DatabaseFile>) -> Result<Database, ScenarioError> {
    let d = d.clone().unwrap_or_default();
    Ok(Database {
        // Sizing rules: database baseline 2 vCPU / 8 GB for < 1,000 users.
        vcpu: match d.vcpu {
            Some(v) => ctx.positive(v, "deployment.database.vcpu")?,
            None => 2.0,
        },
        ram_bytes: match &d.ram {
            Some(q) => ctx.bytes(q, "deployment.database.ram")?,
            None => 8e9,
        },
    })
}

pub fn proxies(ctx: &Ctx, p: &Option<Vec<ProxyFile>>) -> Result<Vec<Proxy>, ScenarioError> {
    let mut out: Vec<Proxy> = Vec::new();
    for (i, x) in p.iter().flatten().enumerate() {
        let f = format!("deployment.proxies[{i}]");
        out.push(Proxy {
            name: x.name.clone().unwrap_or_else(|| format!("proxy-{i}")),
            vcpu: ctx.positive(x.vcpu.unwrap_or(2.0), &format!("{f}.vcpu"))?,
            ram_bytes: match &x.ram {
                Some(q) => ctx.bytes(q, &format!("{f}.ram"))?,
                None => 4e9,
            },
            user_share: ctx.probability(
                *ctx.required(&x.user_share, &format!("{f}.user_share"))?,
                &format!("{f}.user_share"),
            )?,
        });
    }
    if out.iter().map(|p| p.user_share).sum::<f64>() > 1.0 + 1e-9 {
        return Err(ctx.err(
            "deployment.proxies",
            "the proxies' user_share values add up to more than 1",
        ));
    }
    Ok(out)
}

pub fn cluster(ctx: &Ctx, c: &Option<ClusterFile>) -> Result<Option<Cluster>, ScenarioError> {
    let Some(c) = c else { return Ok(None) };
    let f = "deployment.cluster";
    let n_nodes = ctx.count(
        *ctx.required(&c.nodes, &format!("{f}.nodes"))?,
        &format!("{f}.nodes"),
        0,
    )?;
    let per = ctx.count(
        *ctx.required(&c.workspaces_per_node, &format!("{f}.workspaces_per_node"))?,
        &format!("{f}.workspaces_per_node"),
        1,
    )?;
    let max_nodes = ctx.count(
        c.max_nodes.unwrap_or(n_nodes as i64),
        &format!("{f}.max_nodes"),
        0,
    )?;
    if max_nodes < n_nodes {
        return Err(ctx.err(
            &format!("{f}.max_nodes"),
            format!("must be at least `nodes` ({n_nodes}), found {max_nodes}"),
        ));
    }
    let when_full = match c.when_full.as_deref().unwrap_or("wait") {
        "wait" => WhenFull::Wait,
        "fail" => WhenFull::Fail,
        o => {
            return Err(ctx.err(
                &format!("{f}.when_full"),
                format!("expected \"wait\" or \"fail\", found \"{o}\""),
            ));
        }
    };
    Ok(Some(Cluster {
        n_nodes,
        workspaces_per_node: per,
        max_nodes,
        // Assumed: a cloud node takes about 3 minutes to join a Kubernetes cluster.
        scale_up_delay: dur_or(
            ctx,
            &c.scale_up_delay,
            &format!("{f}.scale_up_delay"),
            180.0,
        )?,
        when_full,
    }))
}

/// `[[deployment.node_pools]]`. Defaults and their sources:
/// - `allocatable`: the model's `node_allocatable_share`;
/// - `max_pods`: 110, Kubernetes' default kubelet `--max-pods` (assumed:
///   managed offerings set their own, e.g. by the pod network's addresses);
/// - `min` 0, `max` 100 nodes (assumed: an operator's cap, set your own);
/// - `startup_delay`: lognormal with the model's `node_startup_median_s`
///   and `node_startup_p95_s`;
/// - `scale_up_utilization` 0.8: Coder's guidance, "scale up workspace
///   nodes when total CPU usage or memory consumption reaches 80%"
///   (../shared/data/sizing-rules.csv "autoscale trigger",
///   ../shared/seeds/000_b84c2d4b73a02dd7.txt);
/// - `scale_down_utilization` 0.5, `scale_down_unneeded` 10 min and
///   `scan_interval` 10 s: the Kubernetes cluster autoscaler's defaults
///   (`--scale-down-utilization-threshold`, `--scale-down-unneeded-time`,
///   `--scan-interval`; assumed, as no file in ../shared gives them).
pub fn node_pools(
    ctx: &Ctx,
    pools: &Option<Vec<NodePoolFile>>,
    costs: &Costs,
) -> Result<Vec<NodePool>, ScenarioError> {
    let mut out: Vec<NodePool> = Vec::new();
    for (i, p) in pools.iter().flatten().enumerate() {
        let f = format!("deployment.node_pools[{i}]");
        let name = match &p.name {
            Some(n) => super::resolve::check_name(ctx, n, &format!("{f}.name"))?.to_string(),
            None => format!("pool-{i}"),
        };
        if out.iter().any(|x| x.name == name) {
            return Err(ctx.err(
                &format!("{f}.name"),
                format!("duplicate node pool name \"{name}\""),
            ));
        }
        let vcpu = ctx.positive(
            *ctx.required(&p.vcpu, &format!("{f}.vcpu"))?,
            &format!("{f}.vcpu"),
        )?;
        let ram_bytes = ctx.bytes(
            ctx.required(&p.ram, &format!("{f}.ram"))?,
            &format!("{f}.ram"),
        )?;
        let allocatable = match p.allocatable {
            Some(a) if !(a > 0.0 && a <= 1.0) => {
                return Err(ctx.err(
                    &format!("{f}.allocatable"),
                    format!("expected a share in (0, 1], found {a}"),
                ));
            }
            Some(a) => a,
            None => costs.node_allocatable_share,
        };
        let max_pods = ctx.count(p.max_pods.unwrap_or(110), &format!("{f}.max_pods"), 1)?;
        let min_nodes = ctx.count(p.min.unwrap_or(0), &format!("{f}.min"), 0)?;
        let max_nodes = ctx.count(p.max.unwrap_or(100), &format!("{f}.max"), 1)?;
        if max_nodes < min_nodes {
            return Err(ctx.err(
                &format!("{f}.max"),
                format!("must be at least `min` ({min_nodes}), found {max_nodes}"),
            ));
        }
        let (med, p95) = (costs.node_startup_median_s, costs.node_startup_p95_s);
        let default_delay = if p95 > med && med > 0.0 {
            Dist::lognormal_median_p95(med, p95).expect("checked by the model file")
        } else {
            Dist::constant(med).expect("checked by the model file")
        };
        let startup_delay_s = dist_or(
            ctx,
            &p.startup_delay,
            &format!("{f}.startup_delay"),
            default_delay,
        )?;
        let util = |v: Option<f64>, field: &str, default: f64| -> Result<f64, ScenarioError> {
            match v {
                Some(x) if !(x > 0.0 && x <= 1.0) => Err(ctx.err(
                    &format!("{f}.{field}"),
                    format!("expected a utilisation in (0, 1], found {x}"),
                )),
                Some(x) => Ok(x),
                None => Ok(default),
            }
        };
        let scale_up_utilization = util(p.scale_up_utilization, "scale_up_utilization", 0.8)?;
        let scale_down_utilization = util(p.scale_down_utilization, "scale_down_utilization", 0.5)?;
        if scale_down_utilization >= scale_up_utilization {
            return Err(ctx.err(
                &format!("{f}.scale_down_utilization"),
                format!(
                    "must be below scale_up_utilization ({scale_up_utilization}), found {scale_down_utilization}"
                ),
            ));
        }
        out.push(NodePool {
            name,
            vcpu,
            ram_bytes,
            allocatable,
            max_pods,
            min_nodes,
            max_nodes,
            labels: p.labels.clone().unwrap_or_default(),
            startup_delay_s,
            scale_up_utilization,
            scale_down_utilization,
            scale_down_unneeded: dur_or(
                ctx,
                &p.scale_down_unneeded,
                &format!("{f}.scale_down_unneeded"),
                600.0,
            )?,
            scan_interval: pos_dur_or(ctx, &p.scan_interval, &format!("{f}.scan_interval"), 10.0)?,
        });
    }
    Ok(out)
}

/// `workload.templates[i].workspace` over the model's defaults: requests
/// `workspace_vcpu_request` and `workspace_memory_request_mb`; the agent's
/// own use `agent_idle_vcpu` and `agent_idle_memory_mb`; while its user
/// works it uses its requests (working = request - agent, derived: the
/// seeds size a workspace for a working user); while they are away only
/// the agent (idle = 0, the seeds' "idle agent").
pub fn workspace(
    ctx: &Ctx,
    w: &Option<WorkspaceFile>,
    field: &str,
    costs: &Costs,
) -> Result<WorkspaceResources, ScenarioError> {
    let w = w.clone().unwrap_or_default();
    let f = |k: &str| format!("{field}.workspace.{k}");
    let num = |v: Option<f64>, k: &str, default: f64| -> Result<f64, ScenarioError> {
        match v {
            Some(x) if !(x.is_finite() && x >= 0.0) => {
                Err(ctx.err(&f(k), format!("expected vCPU >= 0, found {x}")))
            }
            Some(x) => Ok(x),
            None => Ok(default),
        }
    };
    let bytes = |q: &Option<Quantity>, k: &str, default: f64| -> Result<f64, ScenarioError> {
        match q {
            Some(q) => ctx.bytes(q, &f(k)),
            None => Ok(default),
        }
    };
    let vcpu = num(w.vcpu, "vcpu", costs.workspace_vcpu_request)?;
    if vcpu <= 0.0 {
        return Err(ctx.err(&f("vcpu"), "must be greater than zero"));
    }
    let ram_bytes = bytes(&w.ram, "ram", costs.workspace_memory_request_mb * 1e6)?;
    let agent_vcpu = num(w.agent_vcpu, "agent_vcpu", costs.agent_idle_vcpu)?;
    let agent_ram_bytes = bytes(&w.agent_ram, "agent_ram", costs.agent_idle_memory_mb * 1e6)?;
    Ok(WorkspaceResources {
        vcpu,
        ram_bytes,
        working_vcpu: num(w.working_vcpu, "working_vcpu", (vcpu - agent_vcpu).max(0.0))?,
        working_ram_bytes: bytes(
            &w.working_ram,
            "working_ram",
            (ram_bytes - agent_ram_bytes).max(0.0),
        )?,
        idle_vcpu: num(w.idle_vcpu, "idle_vcpu", 0.0)?,
        idle_ram_bytes: match &w.idle_ram {
            Some(q) => super::units::parse_bytes(q)
                .map_err(|m| ctx.err(&f("idle_ram"), m))
                .and_then(|b| {
                    if b >= 0.0 {
                        Ok(b)
                    } else {
                        Err(ctx.err(&f("idle_ram"), format!("must not be negative, found {q}")))
                    }
                })?,
            None => 0.0,
        },
        agent_vcpu,
        agent_ram_bytes,
        node_selector: w.node_selector.clone().unwrap_or_default(),
    })
}

fn normal_s(mean: f64, sd: f64) -> Dist {
    Dist::truncated_normal(mean, sd, 0.0, f64::INFINITY).expect("valid defaults")
}

pub fn users(ctx: &Ctx, u: &Option<UsersFile>) -> Result<Option<Users>, ScenarioError> {
    let Some(u) = u else { return Ok(None) };
    let f = "workload.users";
    super::limits::at_most(
        ctx,
        *ctx.required(&u.count, &format!("{f}.count"))?,
        super::limits::MAX_USERS,
        "users",
        &format!("{f}.count"),
    )?;
    let n_users = ctx.count(
        *ctx.required(&u.count, &format!("{f}.count"))?,
        &format!("{f}.count"),
        1,
    )?;
    let mode = match u.mode.as_deref().unwrap_or("calendar") {
        "calendar" => UserMode::Calendar,
        "steady" => UserMode::Steady,
        o => {
            return Err(ctx.err(
                &format!("{f}.mode"),
                format!("expected \"calendar\" or \"steady\", found \"{o}\""),
            ));
        }
    };
    let days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let start_weekday = match &u.start_day {
        Some(d) => days
            .iter()
            .position(|x| x.eq_ignore_ascii_case(d))
            .ok_or_else(|| {
                ctx.err(
                    &format!("{f}.start_day"),
                    format!("expected one of {}, found \"{d}\"", days.join(", ")),
                )
            })? as u32,
        None => 0,
    };
    let mut groups = Vec::new();
    for (i, g) in u.groups.iter().flatten().enumerate() {
        let gf = format!("{f}.groups[{i}]");
        let offset_s = match &g.offset {
            Some(o) => {
                let (neg, body) = o
                    .strip_prefix('-')
                    .map_or((false, o.trim_start_matches('+')), |b| (true, b));
                let v = super::units::parse_duration_s(&Quantity::Text(body.to_string()))
                    .map_err(|m| ctx.err(&format!("{gf}.offset"), m))?;
                if neg { -v } else { v }
            }
            None => 0.0,
        };
        groups.push(user_group(ctx, g, &gf, offset_s, i)?);
    }
    if groups.is_empty() {
        groups.push(user_group(
            ctx,
            &UserGroupFile::default(),
            &format!("{f}.groups"),
            0.0,
            0,
        )?);
    }
    let total: f64 = groups.iter().map(|g| g.share).sum();
    if !(total > 0.0) {
        return Err(ctx.err(
            &format!("{f}.groups"),
            "group shares must add up to more than 0",
        ));
    }
    for g in &mut groups {
        g.share /= total;
    }
    let autostart_time_s = match &u.autostart_time {
        Some(t) => {
            parse_time_of_day_s(t).map_err(|m| ctx.err(&format!("{f}.autostart_time"), m))?
        }
        None => 9.0 * 3600.0,
    };
    let autostop = dur_or(
        ctx,
        &u.autostop_after,
        &format!("{f}.autostop_after"),
        3600.0,
    )?;
    Ok(Some(Users {
        n_users,
        mode,
        // Sizing rules: "database baseline ... (30% active users)".
        active_fraction: prob_or(ctx, u.active_fraction, &format!("{f}.active_fraction"), 0.3)?,
        // Assumed: few people work weekends.
        weekend_active_fraction: prob_or(
            ctx,
            u.weekend_active_fraction,
            &format!("{f}.weekend_active_fraction"),
            0.03,
        )?,
        start_weekday,
        // Assumed conservative default: every SSH/IDE connection is relayed.
        p2p_fraction: prob_or(ctx, u.p2p_fraction, &format!("{f}.p2p_fraction"), 0.0)?,
        workspaces_running_at_start: u
            .workspaces_running_at_start
            .unwrap_or(mode == UserMode::Steady),
        autostart_fraction: prob_or(
            ctx,
            u.autostart_fraction,
            &format!("{f}.autostart_fraction"),
            0.0,
        )?,
        autostart_time_s,
        autostop_after: (autostop > SimTime::ZERO).then_some(autostop),
        groups,
    }))
}

fn user_group(
    ctx: &Ctx,
    g: &UserGroupFile,
    gf: &str,
    offset_s: f64,
    i: usize,
) -> Result<UserGroup, ScenarioError> {
    Ok(UserGroup {
        name: g.name.clone().unwrap_or_else(|| {
            if i == 0 {
                "default".into()
            } else {
                format!("group-{i}")
            }
        }),
        share: match g.share {
            Some(s) => ctx.probability(s, &format!("{gf}.share"))?,
            None => 1.0,
        },
        offset_s,
        // Assumed: people start around 9 a.m. local, give or take 45 minutes.
        day_start_s: dist_or(
            ctx,
            &g.day_start,
            &format!("{gf}.day_start"),
            normal_s(9.0 * 3600.0, 2700.0),
        )?,
        session_length_s: dist_or(
            ctx,
            &g.session_length,
            &format!("{gf}.session_length"),
            normal_s(8.0 * 3600.0, 3600.0),
        )?,
        lunch_fraction: prob_or(ctx, g.lunch_fraction, &format!("{gf}.lunch_fraction"), 0.6)?,
        lunch_start_s: dist_or(
            ctx,
            &g.lunch_start,
            &format!("{gf}.lunch_start"),
            normal_s(12.5 * 3600.0, 1800.0),
        )?,
        lunch_length_s: dist_or(
            ctx,
            &g.lunch_length,
            &format!("{gf}.lunch_length"),
            normal_s(2700.0, 900.0),
        )?,
    })
}

pub fn agents(ctx: &Ctx, a: &Option<AgentsFile>) -> Result<Agents, ScenarioError> {
    let a = a.clone().unwrap_or_default();
    let f = "workload.agents";
    let mut metadata = Vec::new();
    match &a.metadata {
        Some(ms) => {
            for (i, m) in ms.iter().enumerate() {
                let mf = format!("{f}.metadata[{i}]");
                metadata.push(MetadataGroup {
                    n_items: ctx.count(
                        *ctx.required(&m.items, &format!("{mf}.items"))?,
                        &format!("{mf}.items"),
                        1,
                    )?,
                    interval: ctx.positive_duration(
                        ctx.required(&m.interval, &format!("{mf}.interval"))?,
                        &format!("{mf}.interval"),
                    )?,
                    item_bytes: match &m.size {
                        Some(q) => ctx.bytes(q, &format!("{mf}.size"))?,
                        None => 64.0,
                    },
                });
            }
        }
        // ../shared/data/scaletest-templates.csv: kubernetes-minimal, 2 items every 10 s.
        None => metadata.push(MetadataGroup {
            n_items: 2,
            interval: SimTime::from_secs(10),
            item_bytes: 64.0,
        }),
    }
    Ok(Agents {
        metadata,
        // Timing constants: agent stats report interval 30 s.
        stats_interval: pos_dur_or(ctx, &a.stats_interval, &format!("{f}.stats_interval"), 30.0)?,
        // Timing constants: agent connection update frequency 15 s.
        heartbeat_interval: pos_dur_or(
            ctx,
            &a.heartbeat_interval,
            &format!("{f}.heartbeat_interval"),
            15.0,
        )?,
    })
}

/// Default per-kind behaviour in calendar mode (all assumed, except the
/// dashboard's one action every ~10 s, which the issue and Coder's
/// dashboard scale test describe).
fn conn_default(kind: ConnKind) -> (f64, f64) {
    match kind {
        ConnKind::Ssh => (0.5, 2e3),
        ConnKind::Ide => (1.0, 5e3),
        ConnKind::WebTerminal => (0.1, 1e3),
        ConnKind::App => (0.3, 5e3),
        ConnKind::Dashboard => (0.5, 0.0),
    }
}

pub fn connections(ctx: &Ctx, c: &Option<ConnectionsFile>) -> Result<Vec<ConnSpec>, ScenarioError> {
    let c = c.clone().unwrap_or_default();
    let mut out = Vec::new();
    for kind in ConnKind::ALL {
        let k = match kind {
            ConnKind::Ssh => &c.ssh,
            ConnKind::Ide => &c.ide,
            ConnKind::WebTerminal => &c.web_terminal,
            ConnKind::App => &c.app,
            ConnKind::Dashboard => &c.dashboard,
        }
        .clone()
        .unwrap_or_default();
        let f = format!("workload.connections.{}", kind.name());
        let (per_user, bytes) = conn_default(kind);
        let per_user = k.per_user.unwrap_or(per_user);
        if !(0.0..=100.0).contains(&per_user) {
            return Err(ctx.err(
                &format!("{f}.per_user"),
                format!("expected a number in [0, 100], found {per_user}"),
            ));
        }
        if kind != ConnKind::Dashboard
            && (k.action_interval.is_some()
                || k.requests_per_action.is_some()
                || k.websockets.is_some())
        {
            return Err(ctx.err(
                &f,
                "action_interval, requests_per_action and websockets apply to the dashboard only",
            ));
        }
        let bytes_per_s = match &k.bytes_per_s {
            Some(q) => {
                let b = super::units::parse_bytes(q)
                    .map_err(|m| ctx.err(&format!("{f}.bytes_per_s"), m))?;
                if b < 0.0 {
                    return Err(ctx.err(&format!("{f}.bytes_per_s"), "must not be negative"));
                }
                b
            }
            None => bytes,
        };
        out.push(ConnSpec {
            kind,
            per_user,
            bytes_per_s,
            duration_s: k
                .duration
                .as_ref()
                .map(|d| ctx.duration_dist(d, &format!("{f}.duration")))
                .transpose()?,
            gap_s: dist_or(
                ctx,
                &k.gap,
                &format!("{f}.gap"),
                Dist::exponential(300.0).expect("valid"),
            )?,
            action_interval_s: dist_or(
                ctx,
                &k.action_interval,
                &format!("{f}.action_interval"),
                Dist::uniform(5.0, 15.0).expect("valid"),
            )?,
            requests_per_action: match k.requests_per_action {
                Some(r) if r > super::limits::MAX_REQUESTS_PER_ACTION => {
                    return Err(ctx.err(
                        &format!("{f}.requests_per_action"),
                        format!(
                            "expected at most {} requests per action (capsim's limit), found {r}",
                            super::limits::MAX_REQUESTS_PER_ACTION
                        ),
                    ));
                }
                Some(r) => ctx.positive(r, &format!("{f}.requests_per_action"))?,
                None => 3.0,
            },
            websockets: ctx.count(k.websockets.unwrap_or(1), &format!("{f}.websockets"), 0)?,
        });
    }
    Ok(out)
}

pub fn phases(
    ctx: &Ctx,
    p: &Option<Vec<PhaseFile>>,
    duration: SimTime,
) -> Result<Vec<Phase>, ScenarioError> {
    let mut out = Vec::new();
    for (i, x) in p.iter().flatten().enumerate() {
        let f = format!("workload.phases[{i}]");
        let kind_s = ctx.required(&x.kind, &format!("{f}.kind"))?;
        let kind = ConnKind::parse(kind_s).ok_or_else(|| {
            ctx.err(
                &format!("{f}.kind"),
                format!(
                    "expected one of ssh, ide, web_terminal, app, dashboard; found \"{kind_s}\""
                ),
            )
        })?;
        let start = ctx.duration(
            ctx.required(&x.start, &format!("{f}.start"))?,
            &format!("{f}.start"),
        )?;
        let end = match &x.end {
            Some(q) => ctx.duration(q, &format!("{f}.end"))?,
            None => duration,
        };
        if end <= start {
            return Err(ctx.err(
                &format!("{f}.end"),
                format!("must be after start ({start}), found {end}"),
            ));
        }
        let bytes_per_s = match &x.bytes_per_s {
            Some(q) => {
                super::units::parse_bytes(q).map_err(|m| ctx.err(&format!("{f}.bytes_per_s"), m))?
            }
            // ../shared/data/traffic-projections-2000-users.csv: simulated_connection_rate 40 KB/s.
            None => 40e3,
        };
        out.push(Phase {
            name: x.name.clone().unwrap_or_else(|| kind.name().to_string()),
            kind,
            start,
            end,
            n_users: ctx.count(
                *ctx.required(&x.users, &format!("{f}.users"))?,
                &format!("{f}.users"),
                1,
            )?,
            bytes_per_s,
        });
    }
    Ok(out)
}

fn signal(ctx: &Ctx, s: &Option<String>, field: &str) -> Result<StopSignal, ScenarioError> {
    match s.as_deref().unwrap_or("sighup") {
        "sighup" | "SIGHUP" => Ok(StopSignal::Sighup),
        "sigint" | "SIGINT" => Ok(StopSignal::Sigint),
        o => Err(ctx.err(
            field,
            format!("expected \"sighup\" or \"sigint\", found \"{o}\""),
        )),
    }
}

pub fn autoscaling(
    ctx: &Ctx,
    a: &Option<AutoscalingFile>,
    n_replicas: u32,
) -> Result<Autoscaling, ScenarioError> {
    let Some(a) = a else {
        return Ok(Autoscaling::default());
    };
    let coderd = match &a.coderd {
        None => None,
        Some(c) => {
            let f = "autoscaling.coderd";
            let min = ctx.count(
                c.min.unwrap_or(n_replicas.max(1) as i64),
                &format!("{f}.min"),
                1,
            )?;
            super::limits::at_most(
                ctx,
                *ctx.required(&c.max, &format!("{f}.max"))?,
                super::limits::MAX_REPLICAS,
                "replicas",
                &format!("{f}.max"),
            )?;
            let max = ctx.count(
                *ctx.required(&c.max, &format!("{f}.max"))?,
                &format!("{f}.max"),
                1,
            )?;
            if max < min {
                return Err(ctx.err(
                    &format!("{f}.max"),
                    format!("must be at least min ({min}), found {max}"),
                ));
            }
            let target = c.target_cpu.unwrap_or(0.7);
            if !(target > 0.0 && target <= 1.0) {
                return Err(ctx.err(
                    &format!("{f}.target_cpu"),
                    format!("expected a fraction in (0, 1], found {target}"),
                ));
            }
            // Kubernetes HPA defaults: 15 s sync, no scale-up window, 5 min scale-down window.
            Some(CoderdAutoscaler {
                target_cpu: target,
                min_replicas: min,
                max_replicas: max,
                scale_up_window: dur_or(
                    ctx,
                    &c.scale_up_window,
                    &format!("{f}.scale_up_window"),
                    0.0,
                )?,
                scale_down_window: dur_or(
                    ctx,
                    &c.scale_down_window,
                    &format!("{f}.scale_down_window"),
                    300.0,
                )?,
                cooldown: dur_or(ctx, &c.cooldown, &format!("{f}.cooldown"), 60.0)?,
                sync_period: pos_dur_or(ctx, &c.sync_period, &format!("{f}.sync_period"), 15.0)?,
                startup: dur_or(
                    ctx,
                    &c.startup,
                    &format!("{f}.startup"),
                    CODERD_STARTUP_S as f64,
                )?,
            })
        }
    };
    let provisioners = match &a.provisioners {
        None => None,
        Some(p) => {
            let f = "autoscaling.provisioners";
            let min = ctx.count(p.min.unwrap_or(0), &format!("{f}.min"), 0)?;
            let max = ctx.count(
                *ctx.required(&p.max, &format!("{f}.max"))?,
                &format!("{f}.max"),
                1,
            )?;
            if max < min {
                return Err(ctx.err(
                    &format!("{f}.max"),
                    format!("must be at least min ({min}), found {max}"),
                ));
            }
            Some(ProvisionerAutoscaler {
                min_daemons: min,
                max_daemons: max,
                queue_per_daemon: match p.queue_per_daemon {
                    Some(q) => ctx.positive(q, &format!("{f}.queue_per_daemon"))?,
                    None => 1.0,
                },
                interval: pos_dur_or(ctx, &p.interval, &format!("{f}.interval"), 30.0)?,
                startup: dur_or(ctx, &p.startup, &format!("{f}.startup"), 60.0)?,
                signal: signal(ctx, &p.scale_down_signal, &format!("{f}.scale_down_signal"))?,
            })
        }
    };
    Ok(Autoscaling {
        coderd,
        provisioners,
    })
}

/// `"11:00"` (the first time that time of day comes) or `"+2h"` (offset from the start).
fn event_time(
    ctx: &Ctx,
    at: &str,
    field: &str,
    start_tod: SimTime,
) -> Result<SimTime, ScenarioError> {
    if let Some(off) = at.strip_prefix('+') {
        return ctx.duration(&Quantity::Text(off.to_string()), field);
    }
    let tod = SimTime::from_secs_f64(parse_time_of_day_s(at).map_err(|m| ctx.err(field, m))?);
    Ok(if tod >= start_tod {
        tod - start_tod
    } else {
        tod + SimTime::DAY - start_tod
    })
}

pub fn events(
    ctx: &Ctx,
    e: &Option<Vec<EventFile>>,
    start_tod: SimTime,
    templates: &[Template],
    n_replicas: u32,
    autoscaling: &Autoscaling,
) -> Result<Vec<ScheduledEvent>, ScenarioError> {
    let mut out = Vec::new();
    // (event index, replica index) of each kill_replica that names one.
    let mut named_replicas: Vec<(usize, u32)> = Vec::new();
    for (i, x) in e.iter().flatten().enumerate() {
        let f = format!("events[{i}]");
        let at = event_time(
            ctx,
            ctx.required(&x.at, &format!("{f}.at"))?,
            &format!("{f}.at"),
            start_tod,
        )?;
        let action_s = ctx.required(&x.action, &format!("{f}.action"))?;
        // The keys each action reads; any other is a mistake (a key of
        // another action), not something to ignore.
        let keys: &[&str] = match action_s.as_str() {
            "kill_replica" => &["replica"],
            "scale_coderd" => &["replicas"],
            "add_provisioners" => &["count"],
            "remove_provisioners" => &["count", "signal"],
            "database_outage" => &["duration"],
            "traffic_spike" => &["factor", "duration"],
            "template_push" => &["template", "count"],
            _ => &[],
        };
        let given = [
            ("replica", x.replica.is_some()),
            ("replicas", x.replicas.is_some()),
            ("count", x.count.is_some()),
            ("signal", x.signal.is_some()),
            ("duration", x.duration.is_some()),
            ("factor", x.factor.is_some()),
            ("template", x.template.is_some()),
        ];
        if !keys.is_empty()
            && let Some((k, _)) = given.iter().find(|(k, g)| *g && !keys.contains(k))
        {
            return Err(ctx.err(
                &format!("{f}.{k}"),
                format!(
                    "not a key of a {action_s} event (it takes at, action and {})",
                    keys.join(", ")
                ),
            ));
        }
        if let (Some(r), "kill_replica") = (x.replica, action_s.as_str())
            && let Ok(r) = u32::try_from(r)
        {
            named_replicas.push((out.len(), r));
        }
        let req_count = |name: &str, v: Option<i64>, min: i64| -> Result<u32, ScenarioError> {
            ctx.count(
                *ctx.required(&v, &format!("{f}.{name}"))?,
                &format!("{f}.{name}"),
                min,
            )
        };
        use super::limits::{MAX_DAEMONS, MAX_REPLICAS, at_most};
        match (action_s.as_str(), x.replicas, x.count) {
            ("scale_coderd", Some(r), _) => {
                at_most(ctx, r, MAX_REPLICAS, "replicas", &format!("{f}.replicas"))?;
            }
            ("add_provisioners" | "remove_provisioners", _, Some(c)) => {
                at_most(ctx, c, MAX_DAEMONS, "daemons", &format!("{f}.count"))?;
            }
            _ => {}
        }
        let action = match action_s.as_str() {
            "kill_replica" => Action::KillReplica {
                replica: x
                    .replica
                    .map(|r| ctx.count(r, &format!("{f}.replica"), 0))
                    .transpose()?,
            },
            "scale_coderd" => Action::ScaleCoderd {
                replicas: req_count("replicas", x.replicas, 0)?,
            },
            "add_provisioners" => Action::AddProvisioners {
                count: req_count("count", x.count, 1)?,
            },
            "remove_provisioners" => Action::RemoveProvisioners {
                count: req_count("count", x.count, 1)?,
                signal: signal(ctx, &x.signal, &format!("{f}.signal"))?,
            },
            "database_outage" => Action::DatabaseOutage {
                duration: ctx.positive_duration(
                    ctx.required(&x.duration, &format!("{f}.duration"))?,
                    &format!("{f}.duration"),
                )?,
            },
            "traffic_spike" => Action::TrafficSpike {
                factor: ctx.positive(
                    *ctx.required(&x.factor, &format!("{f}.factor"))?,
                    &format!("{f}.factor"),
                )?,
                duration: ctx.positive_duration(
                    ctx.required(&x.duration, &format!("{f}.duration"))?,
                    &format!("{f}.duration"),
                )?,
            },
            "template_push" => {
                let name = ctx.required(&x.template, &format!("{f}.template"))?;
                let t = templates
                    .iter()
                    .position(|t| &t.name == name)
                    .ok_or_else(|| {
                        ctx.err(
                            &format!("{f}.template"),
                            format!("no template named \"{name}\""),
                        )
                    })?;
                Action::TemplatePush {
                    template: t as u32,
                    count: x
                        .count
                        .map_or(Ok(1), |c| ctx.count(c, &format!("{f}.count"), 1))?,
                }
            }
            o => {
                return Err(ctx.err(
                    &format!("{f}.action"),
                    format!("unknown action \"{o}\"; expected kill_replica, scale_coderd, add_provisioners, remove_provisioners, database_outage, traffic_spike or template_push"),
                ));
            }
        };
        out.push(ScheduledEvent { at, action });
    }
    // A replica index must name a replica the deployment can have when the
    // event happens: the replicas it starts with, as many as a scheduled
    // scale-up before it added, or the autoscaler's maximum.
    for &(i, r) in &named_replicas {
        let at = out[i].at;
        let most = out
            .iter()
            .filter(|e| e.at <= at)
            .filter_map(|e| match e.action {
                Action::ScaleCoderd { replicas } => Some(replicas),
                _ => None,
            })
            .chain([n_replicas])
            .chain(autoscaling.coderd.as_ref().map(|a| a.max_replicas))
            .max()
            .unwrap_or(0);
        if r >= most {
            let f = format!("events[{i}].replica");
            return Err(ctx.err(
                &f,
                if most == 0 {
                    format!(
                        "no coderd replica to kill at {} from the start, found replica {r}",
                        super::units::duration_text(at)
                    )
                } else {
                    format!(
                        "expected a replica index from 0 to {} (the deployment has at most {most} replica{} at {} from the start), found {r}",
                        most - 1,
                        if most == 1 { "" } else { "s" },
                        super::units::duration_text(at)
                    )
                },
            ));
        }
    }
    out.sort_by_key(|e| e.at);
    Ok(out)
}
