//! From the merged file to a validated [`Scenario`] with real units.

use super::file::{ArrivalFile, DistFile, ScenarioFile, SloFile};
use super::source::SourceMap;
use super::units::{
    Quantity, parse_bytes, parse_duration_s, parse_rate_per_s, parse_time_of_day_s,
};
use super::*;
use crate::engine::{Dist, SimTime};
use std::path::Path;

/// The longest duration any field may hold, seconds (100 years; the run
/// itself is limited further by `limits::MAX_DURATION`).
const MAX_ANY_DURATION_S: f64 = 100.0 * 365.0 * 86_400.0;

/// Resolution context: turns field paths into located errors.
pub struct Ctx<'a> {
    pub map: &'a SourceMap,
}

impl Ctx<'_> {
    pub fn err(&self, field: &str, message: impl Into<String>) -> ScenarioError {
        ScenarioError {
            location: self.map.locate(field),
            field: Some(field.to_string()),
            message: message.into(),
        }
    }
    pub fn required<'v, T>(&self, v: &'v Option<T>, field: &str) -> Result<&'v T, ScenarioError> {
        v.as_ref()
            .ok_or_else(|| self.err(field, "missing required field"))
    }
    pub fn duration(&self, q: &Quantity, field: &str) -> Result<SimTime, ScenarioError> {
        let s = parse_duration_s(q).map_err(|m| self.err(field, m))?;
        if s < 0.0 {
            return Err(self.err(field, format!("must not be negative, found {q}")));
        }
        // Simulated time is u64 nanoseconds: about 584 years.
        if s > MAX_ANY_DURATION_S {
            return Err(self.err(
                field,
                format!("expected a duration of at most 100 years, found {q}"),
            ));
        }
        Ok(SimTime::from_secs_f64(s))
    }
    pub fn positive_duration(&self, q: &Quantity, field: &str) -> Result<SimTime, ScenarioError> {
        let d = self.duration(q, field)?;
        if d == SimTime::ZERO {
            return Err(self.err(field, format!("must be greater than zero, found {q}")));
        }
        Ok(d)
    }
    pub fn rate(&self, q: &Quantity, field: &str) -> Result<f64, ScenarioError> {
        let r = parse_rate_per_s(q).map_err(|m| self.err(field, m))?;
        if r < 0.0 {
            return Err(self.err(field, format!("must not be negative, found {q}")));
        }
        Ok(r)
    }
    pub fn bytes(&self, q: &Quantity, field: &str) -> Result<f64, ScenarioError> {
        let b = parse_bytes(q).map_err(|m| self.err(field, m))?;
        if !(b > 0.0) {
            return Err(self.err(field, format!("must be greater than zero, found {q}")));
        }
        Ok(b)
    }
    pub fn count(&self, v: i64, field: &str, min: i64) -> Result<u32, ScenarioError> {
        if v < min || v > u32::MAX as i64 {
            return Err(self.err(field, format!("expected an integer >= {min}, found {v}")));
        }
        Ok(v as u32)
    }
    pub fn positive(&self, v: f64, field: &str) -> Result<f64, ScenarioError> {
        if !(v > 0.0 && v.is_finite()) {
            return Err(self.err(field, format!("expected a number > 0, found {v}")));
        }
        Ok(v)
    }
    pub fn probability(&self, v: f64, field: &str) -> Result<f64, ScenarioError> {
        if !(0.0..=1.0).contains(&v) {
            return Err(self.err(
                field,
                format!("expected a probability in [0, 1], found {v}"),
            ));
        }
        Ok(v)
    }
    /// A distribution of durations (seconds).
    pub fn duration_dist(&self, d: &DistFile, field: &str) -> Result<Dist, ScenarioError> {
        self.dist(d, field, &|q, f| {
            self.duration(q, f).map(|t| t.as_secs_f64())
        })
    }
    /// A distribution of plain numbers.
    pub fn number_dist(&self, d: &DistFile, field: &str) -> Result<Dist, ScenarioError> {
        self.dist(d, field, &|q, f| match q {
            Quantity::Number(n) => Ok(*n),
            Quantity::Text(s) => Err(self.err(f, format!("expected a number, found \"{s}\""))),
        })
    }
    fn dist(
        &self,
        d: &DistFile,
        field: &str,
        num: &dyn Fn(&Quantity, &str) -> Result<f64, ScenarioError>,
    ) -> Result<Dist, ScenarioError> {
        let get = |name: &str, q: &Option<Quantity>| -> Result<f64, ScenarioError> {
            let f = format!("{field}.{name}");
            num(self.required(q, &f)?, &f)
        };
        let allowed: &[&str] = match d.dist.as_str() {
            "constant" => &["value"],
            "exponential" => &["mean"],
            "lognormal" => &["median", "p95", "mean", "sd"],
            "gamma" => &["shape", "mean"],
            "normal" => &["mean", "sd", "min", "max"],
            "uniform" => &["min", "max"],
            "empirical" => &["values"],
            other => {
                return Err(self.err(
                    &format!("{field}.dist"),
                    format!(
                        "unknown distribution \"{other}\"; expected one of constant, exponential, lognormal, gamma, normal, uniform, empirical"
                    ),
                ));
            }
        };
        let present: [(&str, bool); 9] = [
            ("value", d.value.is_some()),
            ("mean", d.mean.is_some()),
            ("median", d.median.is_some()),
            ("p95", d.p95.is_some()),
            ("sd", d.sd.is_some()),
            ("shape", d.shape.is_some()),
            ("min", d.min.is_some()),
            ("max", d.max.is_some()),
            ("values", d.values.is_some()),
        ];
        if let Some((k, _)) = present.iter().find(|(k, p)| *p && !allowed.contains(k)) {
            return Err(self.err(
                &format!("{field}.{k}"),
                format!(
                    "not a parameter of a {} distribution (expected {})",
                    d.dist,
                    allowed.join(", ")
                ),
            ));
        }
        let built = match d.dist.as_str() {
            "constant" => Dist::constant(get("value", &d.value)?),
            "exponential" => Dist::exponential(get("mean", &d.mean)?),
            "lognormal" => {
                if d.median.is_some() || d.p95.is_some() {
                    Dist::lognormal_median_p95(get("median", &d.median)?, get("p95", &d.p95)?)
                } else {
                    Dist::lognormal_mean_sd(get("mean", &d.mean)?, get("sd", &d.sd)?)
                }
            }
            "gamma" => {
                let shape = *self.required(&d.shape, &format!("{field}.shape"))?;
                Dist::gamma_shape_mean(shape, get("mean", &d.mean)?)
            }
            "normal" => {
                let min = match &d.min {
                    Some(q) => num(q, &format!("{field}.min"))?,
                    None => 0.0,
                };
                let max = match &d.max {
                    Some(q) => num(q, &format!("{field}.max"))?,
                    None => f64::INFINITY,
                };
                Dist::truncated_normal(get("mean", &d.mean)?, get("sd", &d.sd)?, min, max)
            }
            "uniform" => Dist::uniform(get("min", &d.min)?, get("max", &d.max)?),
            "empirical" => {
                let vals = self.required(&d.values, &format!("{field}.values"))?;
                let v: Result<Vec<f64>, _> = vals
                    .iter()
                    .enumerate()
                    .map(|(i, q)| num(q, &format!("{field}.values[{i}]")))
                    .collect();
                Dist::empirical(v?)
            }
            _ => unreachable!("checked above"),
        };
        built.map_err(|e| self.err(field, e.0))
    }

    pub fn arrivals(&self, a: &ArrivalFile, field: &str) -> Result<Arrivals, ScenarioError> {
        match (&a.rate, &a.profile) {
            (Some(r), None) => Ok(Arrivals::Poisson {
                rate_per_s: self.rate(r, &format!("{field}.rate"))?,
            }),
            (None, Some(p)) => {
                if p.is_empty() {
                    return Err(self.err(
                        &format!("{field}.profile"),
                        "needs at least one [time, rate] point",
                    ));
                }
                let mut points = Vec::with_capacity(p.len());
                for (i, (t, r)) in p.iter().enumerate() {
                    let f = format!("{field}.profile[{i}]");
                    let tod = parse_time_of_day_s(t).map_err(|m| self.err(&f, m))?;
                    points.push((tod, self.rate(r, &f)?));
                }
                if points.windows(2).any(|w| w[0].0 >= w[1].0) {
                    return Err(self.err(
                        &format!("{field}.profile"),
                        "times must be strictly increasing",
                    ));
                }
                Ok(Arrivals::Profile { points })
            }
            (Some(_), Some(_)) => Err(self.err(field, "give either `rate` or `profile`, not both")),
            (None, None) => Err(self.err(field, "give `rate` (e.g. \"120/h\") or `profile`")),
        }
    }
}

/// Units in which SLO targets of each metric are written.
fn slo_target(ctx: &Ctx, metric: &str, q: &Quantity, field: &str) -> Result<f64, ScenarioError> {
    if metric.ends_with("_seconds") {
        ctx.duration(q, field).map(|d| d.as_secs_f64())
    } else {
        match q {
            Quantity::Number(n) => Ok(*n),
            Quantity::Text(s) => {
                if let Some(p) = s.strip_suffix('%') {
                    p.trim()
                        .parse::<f64>()
                        .map(|v| v / 100.0)
                        .map_err(|_| ctx.err(field, format!("bad percentage \"{s}\"")))
                } else {
                    Err(ctx.err(
                        field,
                        format!("expected a number or a percentage, found \"{s}\""),
                    ))
                }
            }
        }
    }
}

/// An SLO target must be a finite number: NaN compares false with
/// everything and would pass or fail every run silently.
fn finite_target(ctx: &Ctx, v: f64, field: &str) -> Result<f64, ScenarioError> {
    if v.is_finite() {
        Ok(v)
    } else {
        Err(ctx.err(field, format!("expected a finite target, found {v}")))
    }
}

fn resolve_slo(
    ctx: &Ctx,
    s: &SloFile,
    i: usize,
    names: &emitted::ScenarioNames,
) -> Result<Slo, ScenarioError> {
    let f = format!("slo[{i}]");
    let metric = ctx.required(&s.metric, &format!("{f}.metric"))?.clone();
    let stat = s.stat.clone().unwrap_or_else(|| "mean".into());
    // An SLO that can match nothing the model reports is an input error,
    // not a verdict after the run.
    let no_labels = BTreeMap::new();
    emitted::check_slo(
        &metric,
        &stat,
        s.stat.is_some(),
        s.labels.as_ref().unwrap_or(&no_labels),
        names,
    )
    .map_err(|(field, why)| ctx.err(&format!("{f}.{field}"), why))?;
    let (bound, target) = match (&s.max, &s.min) {
        (Some(q), None) => (
            Bound::AtMost,
            finite_target(
                ctx,
                slo_target(ctx, &metric, q, &format!("{f}.max"))?,
                &format!("{f}.max"),
            )?,
        ),
        (None, Some(q)) => (
            Bound::AtLeast,
            finite_target(
                ctx,
                slo_target(ctx, &metric, q, &format!("{f}.min"))?,
                &format!("{f}.min"),
            )?,
        ),
        _ => return Err(ctx.err(&f, "give exactly one of `max` or `min`")),
    };
    let labels = s.labels.clone().unwrap_or_default();
    let name = s.name.clone().unwrap_or_else(|| {
        let l: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let l = if l.is_empty() {
            String::new()
        } else {
            format!("{{{}}}", l.join(","))
        };
        format!(
            "{metric}{l} {stat} {} {target}",
            if bound == Bound::AtMost { "<=" } else { ">=" }
        )
    });
    Ok(Slo {
        name,
        metric,
        stat,
        labels,
        bound,
        target,
    })
}

/// The longest name of a scenario, in characters: it names report folders
/// and rows of `runs list`.
pub const MAX_NAME_CHARS: usize = 100;

/// A name people read in lists, file names and tables: not empty, no
/// control characters (a newline would break `runs list`), at most
/// [`MAX_NAME_CHARS`] characters.
pub fn check_name<'n>(ctx: &Ctx, name: &'n str, field: &str) -> Result<&'n str, ScenarioError> {
    let n = name.chars().count();
    if name.trim().is_empty() {
        return Err(ctx.err(field, "expected a name, found an empty string"));
    }
    if let Some(c) = name.chars().find(|c| c.is_control()) {
        return Err(ctx.err(
            field,
            format!("expected a name without control characters, found {c:?}"),
        ));
    }
    if n > MAX_NAME_CHARS {
        return Err(ctx.err(
            field,
            format!("expected a name of at most {MAX_NAME_CHARS} characters, found {n}"),
        ));
    }
    Ok(name)
}

/// Serde names Rust types in what it expected ("expected i64", "expected
/// struct DistFile"); say it in the scenario file's terms instead.
pub(crate) fn plain_expectation(msg: &str) -> String {
    const TERMS: [(&str, &str); 8] = [
        ("expected i64", "expected an integer"),
        // The only tuples in a scenario are profile points.
        (
            "expected a tuple of size 2",
            "expected a [time of day, rate] pair such as [\"09:00\", \"120/h\"]",
        ),
        ("expected u64", "expected an integer >= 0"),
        ("expected u32", "expected an integer >= 0"),
        ("expected f64", "expected a number"),
        ("expected a sequence", "expected an array"),
        (
            "expected struct DistFile",
            "expected a distribution as an inline table, such as { dist = \"lognormal\", median = \"90s\", p95 = \"6m\" }",
        ),
        ("expected struct ", "expected a table "),
    ];
    for (rust, plain) in TERMS {
        if let Some(i) = msg.find(rust) {
            return format!("{}{plain}{}", &msg[..i], &msg[i + rust.len()..]);
        }
    }
    msg.to_string()
}

/// Resolve a scenario merged with its bases (`load::Merged`): its table,
/// where each value came from, and the hash of every input.
pub fn resolve(
    table: &toml::Table,
    map: &SourceMap,
    sha256: &str,
) -> Result<Scenario, ScenarioError> {
    let ctx = Ctx { map };
    let file: ScenarioFile = serde_path_to_error::deserialize(toml::Value::Table(table.clone()))
        .map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            ctx.err(&path, plain_expectation(inner.message().trim()))
        })?;
    let root = &map.root;
    let name = match &file.name {
        Some(n) => check_name(&ctx, n, "name")?.to_string(),
        None => root
            .file_stem()
            .map_or("scenario".into(), |s| s.to_string_lossy().into_owned()),
    };

    let rel = |field: &str, p: &str| -> PathBuf {
        let decl = map.locate(field).file;
        decl.parent().unwrap_or(Path::new(".")).join(p)
    };
    let model_rel = ctx.required(&file.model, "model")?;
    let model_path = rel("model", model_rel);
    // A model file that cannot be read is the scenario's `model =` line's
    // error; anything wrong inside it is located in the model file.
    let model_text = super::source::read_input(&model_path).map_err(|e| {
        ctx.err(
            "model",
            format!("cannot read model file {}: {e}", model_path.display()),
        )
    })?;
    let model = ModelParams::parse(&model_path, &model_text)?;
    model.check_complete()?;
    let costs = Costs::from_model(&model).map_err(|m| ctx.err("model", m))?;
    let prices_path = file.prices.as_ref().map(|p| rel("prices", p));

    let duration = ctx.positive_duration(ctx.required(&file.duration, "duration")?, "duration")?;
    let warmup = match &file.warmup {
        Some(q) => ctx.duration(q, "warmup")?,
        None => SimTime::ZERO,
    };
    if warmup >= duration {
        return Err(ctx.err(
            "warmup",
            format!("warm-up ({warmup}) must be shorter than the run ({duration})"),
        ));
    }
    let bucket = match &file.bucket {
        Some(q) => ctx.positive_duration(q, "bucket")?,
        None => SimTime::MINUTE,
    };
    let start_time_of_day = match &file.start_time {
        Some(s) => {
            SimTime::from_secs_f64(parse_time_of_day_s(s).map_err(|m| ctx.err("start_time", m))?)
        }
        None => SimTime::ZERO,
    };

    let dep = file.deployment.clone().unwrap_or_default();
    let cd = dep.coderd.clone().unwrap_or_default();
    use super::limits::{self, at_most};
    at_most(
        &ctx,
        cd.replicas.unwrap_or(0),
        limits::MAX_REPLICAS,
        "replicas",
        "deployment.coderd.replicas",
    )?;
    let coderd = Coderd {
        n_replicas: ctx.count(cd.replicas.unwrap_or(0), "deployment.coderd.replicas", 0)?,
        vcpu_per_replica: match cd.vcpu {
            Some(v) => ctx.positive(v, "deployment.coderd.vcpu")?,
            None => 4.0,
        },
        ram_bytes_per_replica: match &cd.ram {
            Some(q) => ctx.bytes(q, "deployment.coderd.ram")?,
            None => 16e9,
        },
        load_balancer: match cd.load_balancer.as_deref().unwrap_or("round_robin") {
            "round_robin" => LoadBalancer::RoundRobin,
            "least_connections" => LoadBalancer::LeastConnections,
            o => {
                return Err(ctx.err(
                    "deployment.coderd.load_balancer",
                    format!("expected \"round_robin\" or \"least_connections\", found \"{o}\""),
                ));
            }
        },
        builtin_provisioners_per_replica: ctx.count(
            cd.builtin_provisioners
                .unwrap_or(costs.builtin_provisioners_per_replica as i64),
            "deployment.coderd.builtin_provisioners",
            0,
        )?,
        database_encryption: cd.database_encryption.unwrap_or(false),
    };
    let mut provisioner_groups = Vec::new();
    if let Some(p) = &dep.provisioners {
        let vcpu = match p.vcpu {
            Some(v) => ctx.positive(v, "deployment.provisioners.vcpu")?,
            None => 0.5,
        };
        let ram = match &p.ram {
            Some(q) => ctx.bytes(q, "deployment.provisioners.ram")?,
            None => 512e6,
        };
        if let Some(c) = p.count {
            at_most(
                &ctx,
                c,
                limits::MAX_DAEMONS,
                "daemons",
                "deployment.provisioners.count",
            )?;
            provisioner_groups.push(ProvisionerGroup {
                name: "external".into(),
                n_daemons: ctx.count(c, "deployment.provisioners.count", 0)?,
                tags: p.tags.clone().unwrap_or_default(),
                vcpu_per_daemon: vcpu,
                ram_bytes_per_daemon: ram,
            });
        }
        for (i, g) in p.groups.iter().flatten().enumerate() {
            let f = format!("deployment.provisioners.groups[{i}]");
            if let Some(c) = g.count {
                at_most(
                    &ctx,
                    c,
                    limits::MAX_DAEMONS,
                    "daemons",
                    &format!("{f}.count"),
                )?;
            }
            provisioner_groups.push(ProvisionerGroup {
                name: match &g.name {
                    Some(n) => check_name(&ctx, n, &format!("{f}.name"))?.to_string(),
                    None => format!("group-{i}"),
                },
                n_daemons: ctx.count(
                    *ctx.required(&g.count, &format!("{f}.count"))?,
                    &format!("{f}.count"),
                    0,
                )?,
                tags: g.tags.clone().unwrap_or_default(),
                vcpu_per_daemon: vcpu,
                ram_bytes_per_daemon: ram,
            });
        }
    }

    let wl = file.workload.clone().unwrap_or_default();
    let mut templates = Vec::new();
    for (i, t) in wl.templates.iter().flatten().enumerate() {
        let f = format!("workload.templates[{i}]");
        let name = match &t.name {
            Some(n) => check_name(&ctx, n, &format!("{f}.name"))?.to_string(),
            None => format!("template-{i}"),
        };
        if templates.iter().any(|x: &Template| x.name == name) {
            return Err(ctx.err(
                &format!("{f}.name"),
                format!("duplicate template name \"{name}\""),
            ));
        }
        let build_time_s = ctx.duration_dist(
            ctx.required(&t.build_time, &format!("{f}.build_time"))?,
            &format!("{f}.build_time"),
        )?;
        let failure_probability = ctx.probability(
            t.failure_probability.unwrap_or(0.0),
            &format!("{f}.failure_probability"),
        )?;
        let builds = t
            .builds
            .as_ref()
            .map(|a| ctx.arrivals(a, &format!("{f}.builds")))
            .transpose()?;
        let prebuilds = t
            .prebuilds
            .as_ref()
            .map(|a| ctx.arrivals(a, &format!("{f}.prebuilds")))
            .transpose()?;
        let pushes = t
            .pushes
            .as_ref()
            .map(|a| ctx.arrivals(a, &format!("{f}.pushes")))
            .transpose()?;
        let stop_time_s = match &t.stop_time {
            Some(d) => ctx.duration_dist(d, &format!("{f}.stop_time"))?,
            // Assumed: a stop build (terraform destroy of the pod) takes about 30 s.
            None => Dist::lognormal_median_p95(30.0, 90.0).expect("valid"),
        };
        let user_share = match t.user_share {
            Some(v) => ctx.probability(v, &format!("{f}.user_share"))?,
            None => f64::NAN,
        };
        let tags = t.tags.clone().unwrap_or_default();
        let total_daemons: u32 = provisioner_groups
            .iter()
            .filter(|g| tags_match(&tags, &g.tags))
            .map(|g| g.n_daemons)
            .sum::<u32>()
            + if tags.is_empty() {
                coderd.n_replicas * coderd.builtin_provisioners_per_replica
            } else {
                0
            };
        if total_daemons == 0 && (builds.is_some() || prebuilds.is_some() || pushes.is_some()) {
            return Err(ctx.err(
                &format!("{f}.tags"),
                format!("no provisioner daemon can build template \"{name}\" (no daemons, or none whose tags include {tags:?})"),
            ));
        }
        let workspace = resolve_model::workspace(&ctx, &t.workspace, &f, &costs)?;
        templates.push(Template {
            workspace,
            name,
            tags,
            build_time_s,
            failure_probability,
            builds,
            prebuilds,
            pushes,
            stop_time_s,
            user_share,
        });
    }
    // Templates without a user_share split what the others leave, equally.
    let given: f64 = templates
        .iter()
        .filter(|t| !t.user_share.is_nan())
        .map(|t| t.user_share)
        .sum();
    let n_unset = templates.iter().filter(|t| t.user_share.is_nan()).count();
    if given > 1.0 + 1e-9 {
        return Err(ctx.err(
            "workload.templates",
            format!("user_share values add up to {given}, more than 1"),
        ));
    }
    for t in &mut templates {
        if t.user_share.is_nan() {
            t.user_share = (1.0 - given).max(0.0) / n_unset as f64;
        }
    }
    let users = resolve_model::users(&ctx, &wl.users)?;
    if users.is_some() && templates.is_empty() {
        return Err(ctx.err(
            "workload.templates",
            "users need at least one template for their workspaces",
        ));
    }
    if users.is_some() && coderd.n_replicas == 0 {
        return Err(ctx.err(
            "deployment.coderd.replicas",
            "a deployment with users needs at least one coderd replica",
        ));
    }
    let workload = Workload {
        templates,
        users,
        agents: resolve_model::agents(&ctx, &wl.agents)?,
        connections: resolve_model::connections(&ctx, &wl.connections)?,
        phases: resolve_model::phases(&ctx, &wl.phases, duration)?,
    };
    if !workload.phases.is_empty() {
        let n = workload.users.as_ref().map_or(0, |u| u.n_users);
        if let Some((i, p)) = workload
            .phases
            .iter()
            .enumerate()
            .find(|(_, p)| p.n_users > n)
        {
            return Err(ctx.err(
                &format!("workload.phases[{i}].users"),
                format!("{} users but the workload has only {n}", p.n_users),
            ));
        }
    }
    let autoscaling = resolve_model::autoscaling(&ctx, &file.autoscaling, coderd.n_replicas)?;
    let events = resolve_model::events(
        &ctx,
        &file.events,
        start_time_of_day,
        &workload.templates,
        coderd.n_replicas,
        &autoscaling,
    )?;

    let proxies = resolve_model::proxies(&ctx, &dep.proxies)?;
    let node_pools = resolve_model::node_pools(&ctx, &dep.node_pools, &costs)?;
    if dep.cluster.is_some() && !node_pools.is_empty() {
        return Err(ctx.err(
            "deployment.cluster",
            "give either [deployment.cluster] (workspace slots per node) or [[deployment.node_pools]] (nodes with vCPU and RAM under a cluster autoscaler), not both: move `nodes` to a pool's `min`, `max_nodes` to its `max`, and give the pool's `vcpu` and `ram`",
        ));
    }
    if !node_pools.is_empty() && workload.users.is_some() {
        for (i, t) in workload.templates.iter().enumerate() {
            let w = &t.workspace;
            let fits = node_pools.iter().any(|p| {
                tags_match(&w.node_selector, &p.labels)
                    && w.vcpu <= p.alloc_vcpu() + 1e-9
                    && w.ram_bytes <= p.alloc_bytes() * (1.0 + 1e-9)
            });
            if t.user_share > 0.0 && !fits {
                return Err(ctx.err(
                    &format!("workload.templates[{i}].workspace"),
                    format!(
                        "no node pool can run template \"{}\"'s workspace ({} vCPU, {} bytes, node_selector {:?}): none has all its labels and that much allocatable vCPU and RAM",
                        t.name, w.vcpu, w.ram_bytes, w.node_selector
                    ),
                ));
            }
        }
    }
    let names = emitted::ScenarioNames {
        templates: workload.templates.iter().map(|t| t.name.clone()).collect(),
        proxies: proxies.iter().map(|p| p.name.clone()).collect(),
        pools: node_pools.iter().map(|p| p.name.clone()).collect(),
    };
    let slos = file
        .slo
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, s)| resolve_slo(&ctx, s, i, &names))
        .collect::<Result<Vec<_>, _>>()?;

    let sizing = sizing(&ctx, &file.sizing, &node_pools)?;
    let scenario = Scenario {
        name,
        description: file.description.clone().unwrap_or_default(),
        path: Some(root.clone()),
        sha256: sha256.to_string(),
        is_abstract: file.is_abstract.unwrap_or(false),
        model,
        costs,
        prices_path,
        seed: file.seed.unwrap_or(1),
        duration,
        warmup,
        bucket,
        start_time_of_day,
        deployment: Deployment {
            coderd,
            provisioner_groups,
            database: resolve_model::database(&ctx, &dep.database)?,
            proxies,
            cluster: resolve_model::cluster(&ctx, &dep.cluster)?,
            node_pools,
        },
        workload,
        autoscaling,
        events,
        slos,
        sizing,
    };
    super::limits::check(&ctx, &scenario)?;
    Ok(scenario)
}

/// `[sizing]` over the defaults of [`SizingPolicy`].
fn sizing(
    ctx: &Ctx,
    f: &Option<super::file::SizingFile>,
    pools: &[NodePool],
) -> Result<SizingPolicy, ScenarioError> {
    let d = SizingPolicy::default();
    let Some(f) = f else { return Ok(d) };
    let ratio = |v: Option<f64>, field: &str, default: f64| -> Result<f64, ScenarioError> {
        match v {
            Some(x) if !(x > 0.0 && x <= 1.0) => {
                Err(ctx.err(field, format!("expected a CPU ratio in (0, 1], found {x}")))
            }
            Some(x) => Ok(x),
            None => Ok(default),
        }
    };
    let p = SizingPolicy {
        min_coderd_replicas: match f.min_coderd_replicas {
            Some(v) => ctx.count(v, "sizing.min_coderd_replicas", 1)?,
            None => d.min_coderd_replicas,
        },
        max_coderd_replicas: match f.max_coderd_replicas {
            Some(v) => ctx.count(v, "sizing.max_coderd_replicas", 1)?,
            None => d.max_coderd_replicas,
        },
        min_coderd_vcpu: match f.min_coderd_vcpu {
            Some(v) => ctx.positive(v, "sizing.min_coderd_vcpu")?,
            None => d.min_coderd_vcpu,
        },
        min_coderd_ram_bytes: match &f.min_coderd_ram {
            Some(q) => ctx.bytes(q, "sizing.min_coderd_ram")?,
            None => d.min_coderd_ram_bytes,
        },
        min_database_vcpu: match f.min_database_vcpu {
            Some(v) => ctx.positive(v, "sizing.min_database_vcpu")?,
            None => d.min_database_vcpu,
        },
        min_database_ram_bytes: match &f.min_database_ram {
            Some(q) => ctx.bytes(q, "sizing.min_database_ram")?,
            None => d.min_database_ram_bytes,
        },
        builtin_provisioners_max_users: match f.builtin_provisioners_max_users {
            Some(v) => ctx.count(v, "sizing.builtin_provisioners_max_users", 0)?,
            None => d.builtin_provisioners_max_users,
        },
        max_coderd_cpu: ratio(f.max_coderd_cpu, "sizing.max_coderd_cpu", d.max_coderd_cpu)?,
        max_database_cpu: ratio(
            f.max_database_cpu,
            "sizing.max_database_cpu",
            d.max_database_cpu,
        )?,
        node_pool_mins: node_counts(ctx, &f.node_pool_mins, "sizing.node_pool_mins", 0)?,
        node_shapes: f.node_shapes.clone().unwrap_or_default(),
        node_pool_maxs: node_counts(ctx, &f.node_pool_maxs, "sizing.node_pool_maxs", 1)?,
        node_pools: match &f.node_pools {
            Some(m) => m
                .iter()
                .map(|(name, l)| {
                    let f = format!("sizing.node_pools.{name}");
                    Ok((
                        name.clone(),
                        super::PoolLadders {
                            shapes: l.shapes.clone().unwrap_or_default(),
                            mins: node_counts(ctx, &l.mins, &format!("{f}.mins"), 0)?,
                            maxs: node_counts(ctx, &l.maxs, &format!("{f}.maxs"), 1)?,
                        },
                    ))
                })
                .collect::<Result<_, ScenarioError>>()?,
            None => BTreeMap::new(),
        },
    };
    if let Some(name) = p
        .node_pools
        .keys()
        .find(|n| !pools.iter().any(|x| &x.name == *n))
    {
        let names: Vec<String> = pools.iter().map(|x| format!("\"{}\"", x.name)).collect();
        return Err(ctx.err(
            &format!("sizing.node_pools.{name}"),
            if names.is_empty() {
                format!(
                    "the scenario has no node pool \"{name}\" (it has no [[deployment.node_pools]])"
                )
            } else {
                format!(
                    "expected the name of a node pool ({}), found \"{name}\"",
                    names.join(", ")
                )
            },
        ));
    }
    if p.max_coderd_replicas < p.min_coderd_replicas {
        return Err(ctx.err(
            "sizing.max_coderd_replicas",
            format!(
                "expected at least min_coderd_replicas ({}), found {}",
                p.min_coderd_replicas, p.max_coderd_replicas
            ),
        ));
    }
    Ok(p)
}

/// A `[sizing]` list of node counts, each at least `min`, sorted and
/// distinct (a search ladder: the order given does not matter).
fn node_counts(
    ctx: &Ctx,
    v: &Option<Vec<i64>>,
    field: &str,
    min: i64,
) -> Result<Vec<u32>, ScenarioError> {
    let mut out = v
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, &n)| ctx.count(n, &format!("{field}[{i}]"), min))
        .collect::<Result<Vec<u32>, _>>()?;
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// A daemon can build a job when every tag of the job is on the daemon
/// (Coder's rule: job tags are a subset of daemon tags).
pub fn tags_match(job: &BTreeMap<String, String>, daemon: &BTreeMap<String, String>) -> bool {
    job.iter().all(|(k, v)| daemon.get(k) == Some(v))
}
