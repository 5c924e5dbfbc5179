//! `capsim size`: the cheapest architecture that meets every SLO.

use super::progress::Progress;
use super::{EXIT_BAD_INPUT, ui};
use crate::compare::size::{self, Resource, SizeOptions};
use crate::compare::size_report::Took;
use crate::compare::uncertainty::ConfidenceOver;
use crate::compare::{DEFAULT_REPLICATIONS, parse_set, size_report};
use crate::cost;
use crate::scenario;
use anyhow::Context;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(clap::Args, Debug, Clone)]
pub struct SizeArgs {
    /// The scenario: its workload, its SLOs, and the architecture to start from.
    pub scenario: PathBuf,
    /// Replace the scenario's SLOs: METRIC[{label=value}].STAT<=TARGET (or >=),
    /// e.g. 'api_latency_seconds{class=dashboard}.p95<=300ms'. Repeatable.
    #[arg(long, value_name = "SPEC")]
    pub slo: Vec<String>,
    /// Price file [default: the scenario's `prices`].
    #[arg(long, value_name = "FILE")]
    pub prices: Option<PathBuf>,
    /// Replications per candidate (the 95% bound needs at least 2).
    #[arg(long, default_value_t = DEFAULT_REPLICATIONS, value_parser = clap::value_parser!(u32).range(1..=crate::scenario::limits::MAX_REPLICATIONS as i64))]
    pub replications: u32,
    /// Master seed [default: the scenario's `seed`].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Repeat the search for these user counts (workload.users.count), e.g. 500,1000,2000.
    #[arg(long, value_name = "N1,N2,...", value_delimiter = ',')]
    pub growth: Vec<u32>,
    /// Resources to search [default: all the scenario has]: coderd_replicas,
    /// coderd_vcpu, provisioners, database_vcpu, proxy_vcpu, node_vcpu, node_min, node_max.
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub resources: Vec<String>,
    /// Instance types to try as every node pool's shape (sets `[sizing]
    /// node_shapes`), or with POOL= as that pool's (sets
    /// `[sizing.node_pools.POOL] shapes`). Repeatable.
    #[arg(long, value_name = "[POOL=]TYPE,...")]
    pub node_shapes: Vec<String>,
    /// Warm minimums to try for every node pool (sets `[sizing]
    /// node_pool_mins`), or with POOL= for that pool. Repeatable.
    #[arg(long, value_name = "[POOL=]N1,N2,...")]
    pub node_mins: Vec<String>,
    /// Maximums (the autoscaler's cap) to try for every node pool (sets
    /// `[sizing] node_pool_maxs`), or with POOL= for that pool. Repeatable.
    #[arg(long, value_name = "[POOL=]N1,N2,...")]
    pub node_maxs: Vec<String>,
    /// Most coderd replicas to try [default: max(12, 2 x the scenario's)].
    #[arg(long)]
    pub max_replicas: Option<u32>,
    /// Most external provisioner daemons to try [default: max(64, 4 x the scenario's)].
    #[arg(long)]
    pub max_provisioners: Option<u32>,
    /// Evaluations allowed after the per-resource binary searches.
    #[arg(long, default_value_t = 60)]
    pub max_evaluations: usize,
    /// The plain search, to check the default against: every candidate runs
    /// all its replications (no early stop once it fails for certain), and
    /// the per-resource binary searches run one after the other from the
    /// middle. Same recommendation, more simulations.
    #[arg(long)]
    pub exhaustive: bool,
    /// Set a scenario field for the whole search, e.g. duration=4h or
    /// start_time=07:00 (to simulate only the peak). Repeatable.
    #[arg(long, value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Write size.md, size.json, candidates.csv and candidates.png (with --growth: growth.*, and candidates-<users>.csv/.png per user count) here [default: reports/size/<id>/].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Bounds from Coder's deployment guidance: `coder` applies the
    /// scenario's [sizing] table (at least 3 and at most 10 coderd replicas,
    /// replicas of 1 vCPU / 2 GB or more, a database of 2 vCPU / 8 GB or
    /// more, external provisioners, peak CPU at most 80%); `none` searches
    /// without them, for experiments.
    #[arg(long, value_enum, default_value_t = PolicyArg::Coder)]
    pub policy: PolicyArg,
    /// `n-1`: a candidate must also meet its SLOs when one coderd replica
    /// is lost at the workload's busiest time; `none` skips the drill.
    #[arg(long, value_enum, default_value_t = ResilienceArg::N1)]
    pub resilience: ResilienceArg,
    /// Also judge over the model's own uncertainty: N parameter sets drawn
    /// by Latin hypercube over the model file's ranges, each with the
    /// replications (see --confidence-over).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(2..=10_000))]
    pub uncertainty: Option<u32>,
    /// With --uncertainty: `both` accepts a candidate only when every SLO
    /// and CPU ceiling (and the N-1 drill) also holds at 95% one-sided over
    /// simulation noise and model uncertainty combined; `noise` judges on
    /// noise as without --uncertainty and reports the recommendation over both.
    #[arg(long, value_enum, default_value_t = ConfidenceArg::Both, requires = "uncertainty")]
    pub confidence_over: ConfidenceArg,
    /// `table` for people; `json` prints the size.json document.
    #[arg(long, value_enum, default_value_t = super::Format::Table)]
    pub format: super::Format,
    /// Worker threads (default and at most: the cores available; more would not help). Results do not depend on it.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub jobs: Option<u32>,
    /// Run store (SQLite) a shard (--shard) writes its simulations to.
    #[arg(long, value_name = "PATH", default_value = crate::store::DEFAULT_PATH)]
    pub db: PathBuf,
    /// Evaluate only shard K of N of every candidate the search could visit
    /// (the whole grid, for every --growth user count; each with all its
    /// replications, its N-1 drill and parameter sets when it passes, and
    /// the seeds it has in one process) and store the simulations in --db,
    /// with no recommendation: `capsim runs merge` joins the shards' stores,
    /// then the same command with --from finishes the search. 0 <= K < N, as
    /// JOB_COMPLETION_INDEX and SLURM_ARRAY_TASK_ID count.
    #[arg(long, value_name = "K/N", conflicts_with = "from")]
    pub shard: Option<crate::shard::Shard>,
    /// Finish a sharded search from a merged store: the same command line as
    /// the shards' (without --shard; --out, --format, --jobs,
    /// --max-evaluations, --exhaustive and --confidence-over may differ)
    /// runs the search reading every simulation from DB instead of running
    /// it, and writes what one process would have.
    #[arg(long, value_name = "DB", conflicts_with = "db")]
    pub from: Option<PathBuf>,
}

/// The options that decide what `size` simulates, stored with each shard:
/// `--from` must be given the same (it names the first that differs).
/// `--out`, `--format`, `--jobs`, `--max-evaluations`, `--exhaustive` and
/// `--confidence-over` change only which of the simulations the search reads.
#[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
struct ShardPlan {
    seed: u64,
    replications: u32,
    growth: Vec<u32>,
    resources: Vec<String>,
    slo: Vec<String>,
    set: Vec<String>,
    node_shapes: Vec<String>,
    node_mins: Vec<String>,
    node_maxs: Vec<String>,
    /// SHA-256 of the price list as read (`--prices` or the scenario's).
    prices: String,
    max_replicas: Option<u32>,
    max_provisioners: Option<u32>,
    policy: String,
    resilience: String,
    uncertainty: Option<u32>,
}

/// Each field of [`ShardPlan`] and the flag that sets it.
const PLAN_FLAGS: [(&str, &str); 15] = [
    ("seed", "--seed"),
    ("replications", "--replications"),
    ("growth", "--growth"),
    ("resources", "--resources"),
    ("slo", "--slo"),
    ("set", "--set"),
    ("node_shapes", "--node-shapes"),
    ("node_mins", "--node-mins"),
    ("node_maxs", "--node-maxs"),
    ("prices", "--prices (the price list's sha256)"),
    ("max_replicas", "--max-replicas"),
    ("max_provisioners", "--max-provisioners"),
    ("policy", "--policy"),
    ("resilience", "--resilience"),
    ("uncertainty", "--uncertainty"),
];

impl ShardPlan {
    fn of(args: &SizeArgs, prices: &cost::PriceList, opts: &SizeOptions) -> ShardPlan {
        use sha2::{Digest, Sha256};
        let mut growth = args.growth.clone();
        growth.sort_unstable();
        growth.dedup();
        let mut resources: Vec<String> = opts
            .resources
            .iter()
            .flatten()
            .map(|r| r.name().to_string())
            .collect();
        resources.sort();
        resources.dedup();
        let prices_json = serde_json::to_string(prices).unwrap_or_default();
        fn value(v: impl clap::ValueEnum) -> String {
            v.to_possible_value()
                .map_or(String::new(), |p| p.get_name().to_string())
        }
        ShardPlan {
            seed: opts.seed,
            replications: opts.replications,
            growth,
            resources,
            slo: args.slo.clone(),
            set: args.set.clone(),
            node_shapes: args.node_shapes.clone(),
            node_mins: args.node_mins.clone(),
            node_maxs: args.node_maxs.clone(),
            prices: crate::scenario::load::hex(&Sha256::digest(prices_json.as_bytes())[..6]),
            max_replicas: args.max_replicas,
            max_provisioners: args.max_provisioners,
            policy: value(args.policy),
            resilience: value(args.resilience),
            uncertainty: args.uncertainty,
        }
    }

    /// The first option in which `stored` (a shard's plan, JSON) differs
    /// from this one: (flag, the shard's value, this command's value).
    fn differs(&self, stored: &str) -> Option<(&'static str, String, String)> {
        let ours = serde_json::to_value(self).ok()?;
        let theirs: serde_json::Value = serde_json::from_str(stored).ok()?;
        PLAN_FLAGS.iter().find_map(|(field, flag)| {
            let (a, b) = (&theirs[*field], &ours[*field]);
            (a != b).then(|| (*flag, a.to_string(), b.to_string()))
        })
    }
}

/// An error in an SLO that `--slo` gave (they replace the scenario's) is
/// about the flag, not a line of the file: `--slo SPEC: slo[i].field: what`.
fn slo_flag_error(e: scenario::ScenarioError, specs: &[String]) -> String {
    let spec = e
        .field
        .as_deref()
        .and_then(|f| f.strip_prefix("slo["))
        .and_then(|f| f.split_once(']'))
        .and_then(|(i, _)| i.parse::<usize>().ok())
        .and_then(|i| specs.get(i));
    match (spec, &e.field) {
        (Some(spec), Some(field)) => format!("--slo {spec}: {field}: {}", e.message),
        _ => e.to_string(),
    }
}

/// One `--node-shapes`/`--node-mins`/`--node-maxs` SPEC, `[POOL=]A,B,...`,
/// as the `[sizing]` override it stands for: `sizing.ALL` for every pool,
/// `sizing.node_pools.POOL.PER_POOL` for one. Counts stay signed here so
/// that the scenario's own check (at least 0 for `min`, 1 for `max`) says
/// what is wrong.
fn node_flag(
    flag: &str,
    spec: &str,
    all: &str,
    per_pool: &str,
) -> Result<(String, toml::Value), String> {
    let (pool, list) = match spec.split_once('=') {
        Some((p, l)) => (Some(p.trim()), l),
        None => (None, spec),
    };
    let key = match pool {
        Some(p) if p.is_empty() || p.contains(['.', '[', ']', '"', ' ']) => {
            return Err(format!(
                "{flag} {spec}: expected [POOL=]LIST with POOL the name of a node pool, found \"{p}\""
            ));
        }
        Some(p) => format!("sizing.node_pools.{p}.{per_pool}"),
        None => format!("sizing.{all}"),
    };
    let items: Vec<&str> = list.split(',').map(str::trim).collect();
    if items.iter().any(|i| i.is_empty()) {
        return Err(format!(
            "{flag} {spec}: expected a comma-separated list, found an empty item"
        ));
    }
    let values = if per_pool == "shapes" {
        items
            .iter()
            .map(|t| toml::Value::String(t.to_string()))
            .collect()
    } else {
        items
            .iter()
            .map(|t| {
                t.parse::<i64>().map(toml::Value::Integer).map_err(|_| {
                    format!("{flag} {spec}: expected whole numbers of nodes, found \"{t}\"")
                })
            })
            .collect::<Result<_, _>>()?
    };
    Ok((key, toml::Value::Array(values)))
}

/// An error in a `[sizing]` key a `--node-*` flag set is about the flag,
/// not a line of the file: `--node-maxs 0: sizing.node_pool_maxs[0]: what`.
fn node_flag_error(e: &scenario::ScenarioError, flags: &[(String, String)]) -> Option<String> {
    let field = e.field.as_deref()?;
    let (_, flag) = flags.iter().rev().find(|(key, _)| {
        field == key
            || field.starts_with(&format!("{key}["))
            || key.starts_with(&format!("{field}."))
    })?;
    Some(format!("{flag}: {field}: {}", e.message))
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum PolicyArg {
    Coder,
    None,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ConfidenceArg {
    Both,
    Noise,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ResilienceArg {
    #[value(name = "n-1")]
    N1,
    None,
}

fn bad(e: impl std::fmt::Display) -> anyhow::Result<i32> {
    ui::error(e);
    Ok(EXIT_BAD_INPUT)
}

pub fn size(args: &SizeArgs) -> anyhow::Result<i32> {
    let mut base: Vec<(String, toml::Value)> = Vec::new();
    for s in &args.set {
        match parse_set(s) {
            Ok(kv) => base.push(kv),
            Err(e) => return bad(e),
        }
    }
    // `--node-*` flags: the `[sizing]` key each sets, for the errors.
    let mut node_flags: Vec<(String, String)> = Vec::new();
    for (flag, specs, all, per_pool) in [
        ("--node-shapes", &args.node_shapes, "node_shapes", "shapes"),
        ("--node-mins", &args.node_mins, "node_pool_mins", "mins"),
        ("--node-maxs", &args.node_maxs, "node_pool_maxs", "maxs"),
    ] {
        for spec in specs {
            match node_flag(flag, spec, all, per_pool) {
                Ok((key, v)) => {
                    node_flags.push((key.clone(), format!("{flag} {spec}")));
                    base.push((key, v));
                }
                Err(e) => return bad(e),
            }
        }
    }
    match size::slo_override(&args.slo) {
        Ok(Some(kv)) => base.push(kv),
        Ok(None) => {}
        Err(e) => return bad(e),
    }
    let sc = match scenario::load_with_overrides(&args.scenario, &base) {
        Ok(s) => s,
        Err(e) => {
            return bad(
                node_flag_error(&e, &node_flags).unwrap_or_else(|| slo_flag_error(e, &args.slo))
            );
        }
    };
    if sc.slos.is_empty() {
        return bad(format!(
            "{}: no SLOs to size for: add [[slo]] to the scenario or give --slo",
            args.scenario.display()
        ));
    }
    let prices = match cost::for_scenario(&sc, args.prices.as_deref()) {
        Ok(Some(p)) => p,
        Ok(None) => {
            return bad(format!(
                "{}: size needs prices: give --prices FILE (e.g. models/prices/gcp-us-central1.toml) or prices = \"...\" in the scenario",
                args.scenario.display()
            ));
        }
        Err(e) => return bad(e),
    };
    if !args.growth.is_empty() && sc.workload.users.is_none() {
        return bad(format!(
            "{}: --growth changes workload.users.count, and this scenario has no users",
            args.scenario.display()
        ));
    }
    let mut opts = SizeOptions::new(args.seed.unwrap_or(sc.seed), args.replications);
    if !args.resources.is_empty() {
        let mut rs = Vec::new();
        for r in &args.resources {
            match Resource::parse(r) {
                Some(x) => rs.push(x),
                None => {
                    return bad(format!(
                        "--resources: unknown resource \"{r}\" (known: {})",
                        Resource::ALL.map(Resource::name).join(", ")
                    ));
                }
            }
        }
        opts.resources = Some(rs);
    }
    opts.max_replicas = args.max_replicas;
    opts.max_provisioners = args.max_provisioners;
    opts.max_evaluations = args.max_evaluations;
    opts.exhaustive = args.exhaustive;
    opts.policy = args.policy == PolicyArg::Coder;
    opts.resilience = match args.resilience {
        ResilienceArg::N1 => size::Resilience::N1,
        ResilienceArg::None => size::Resilience::None,
    };
    opts.uncertainty = args.uncertainty.map(|n| {
        (
            n as usize,
            match args.confidence_over {
                ConfidenceArg::Both => ConfidenceOver::Both,
                ConfidenceArg::Noise => ConfidenceOver::Noise,
            },
        )
    });
    if size::dimensions(&sc, &opts, &prices).is_empty() {
        return bad(format!(
            "{}: nothing to size (no coderd, no external provisioner count, no proxies, or all under autoscalers)",
            args.scenario.display()
        ));
    }
    if args.replications < 2 {
        ui::warning(
            "with 1 replication there is no confidence bound: SLOs are judged on the single run",
        );
    }
    // Shards: the same sweep for the same options on every machine.
    let plan = ShardPlan::of(args, &prices, &opts);
    let plan_json = serde_json::to_string(&plan)?;
    let sweep = super::study::sweep_id("size", &sc.name, opts.seed, opts.replications, &plan_json);
    let progress = std::sync::Arc::new(Progress::new("size", "simulations", 0));
    let p = std::sync::Arc::clone(&progress);
    opts.on_simulations = Some(size::OnSimulations(std::sync::Arc::new(move |n| p.inc(n))));
    if let Some(shard) = args.shard {
        let job = ShardJob {
            args,
            sc: &sc,
            prices: &prices,
            plan_json: &plan_json,
            sweep: &sweep,
            shard,
            progress: &progress,
        };
        let code = shard_size(&job, base, opts, &node_flags);
        finish(progress);
        return code;
    }
    // `--from`: every simulation the search asks for is read from the store.
    let mut misses = None;
    if let Some(from) = &args.from {
        match from_store(args, from, &sc, &base, &prices, &opts, &sweep) {
            Ok(Ok((simulator, m))) => {
                opts.simulator = simulator;
                misses = Some(m);
            }
            Ok(Err(message)) => {
                finish(progress);
                return bad(message);
            }
            Err(e) => {
                finish(progress);
                return Ok(super::store_failed(&e));
            }
        }
    }
    // A simulation the store lacked (the grid did not cover what the search
    // asked for): refused before anything is written.
    let refuse_misses = || -> Option<anyhow::Result<i32>> {
        let m = misses.as_ref()?.lock().expect("not poisoned");
        let first = m.first()?;
        Some(bad(format!(
            "{}: the search asked for {} simulation{} no shard ran (the first: {first}); nothing written",
            args.from.as_deref().unwrap_or(Path::new("")).display(),
            m.len(),
            if m.len() == 1 { "" } else { "s" },
        )))
    };
    let id = size::size_id(&args.scenario, &base, &prices, &opts, &args.growth);
    let dir = args.out.clone().unwrap_or_else(|| default_dir(&id));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let pool = super::pool(args.jobs)?;
    let wall = Instant::now();
    if args.growth.is_empty() {
        let r = pool.install(|| size::size(&args.scenario, base, &prices, opts));
        finish(progress);
        let r = match r {
            Ok(r) => r,
            Err(e) => return bad(node_flag_error(&e, &node_flags).unwrap_or(e.to_string())),
        };
        if let Some(refused) = refuse_misses() {
            return refused;
        }
        let secs = wall.elapsed().as_secs_f64();
        let json = size_report::to_json(&r);
        match args.format {
            super::Format::Json => println!("{json}"),
            super::Format::Table => print!("{}", size_report::text(&r, Took::Alone(secs))),
        }
        std::fs::write(
            dir.join("size.md"),
            size_report::markdown(&r, Took::Alone(secs), "candidates.csv", "candidates.png"),
        )
        .with_context(|| format!("cannot write {}", dir.join("size.md").display()))?;
        std::fs::write(dir.join("size.json"), format!("{json}\n"))
            .with_context(|| format!("cannot write {}", dir.join("size.json").display()))?;
        size_report::write_candidates(&dir.join("candidates.csv"), &r)?;
        size_report::write_candidates_plot(&dir.join("candidates.png"), &r)?;
        ui::info(format!(
            "wrote {} (size.md, size.json, candidates.csv, candidates.png)",
            dir.display()
        ));
        return Ok(0);
    }
    let mut sorted = args.growth.clone();
    sorted.sort_unstable();
    progress.set_message(&format!(
        "{} users",
        crate::format::thousands(u64::from(sorted[0]))
    ));
    let mut md = String::new();
    let points = pool.install(|| {
        size::growth(
            &args.scenario,
            base,
            &prices,
            opts,
            &args.growth,
            &mut |p| {
                // The user counts' searches overlap: when this one was reported.
                let took = Took::Growth(wall.elapsed().as_secs_f64());
                if let Some(next) = sorted.iter().find(|n| **n > p.users) {
                    progress.set_message(&format!(
                        "{} users",
                        crate::format::thousands(u64::from(*next))
                    ));
                }
                progress.println(&format!("size: {} users done", p.users));
                if args.format == super::Format::Table {
                    println!("== {} users", p.users);
                    print!("{}", size_report::text(&p.result, took));
                    println!();
                }
                // Each user count's candidates go to their own files.
                let csv = format!("candidates-{}.csv", p.users);
                let png = format!("candidates-{}.png", p.users);
                md += &size_report::markdown(&p.result, took, &csv, &png)
                    .replacen("# Sizing:", &format!("# {} users:", p.users), 1)
                    .replace("\n## ", "\n### ");
                md.push('\n');
            },
        )
    });
    finish(progress);
    let points = match points {
        Ok(p) => p,
        Err(e) => return bad(node_flag_error(&e, &node_flags).unwrap_or(e.to_string())),
    };
    if let Some(refused) = refuse_misses() {
        return refused;
    }
    let total_sims: u64 = points.iter().map(|p| p.result.simulations).sum();
    let total_evals: usize = points.iter().map(|p| p.result.evaluations).sum();
    let total_stopped: usize = points.iter().map(|p| p.result.stopped_early).sum();
    let md = size_report::growth_markdown(&points) + &md;
    std::fs::write(dir.join("size.md"), md)
        .with_context(|| format!("cannot write {}", dir.join("size.md").display()))?;
    let mut files = size_report::write_growth(&dir, &points)?;
    for p in &points {
        let csv = format!("candidates-{}.csv", p.users);
        size_report::write_candidates(&dir.join(&csv), &p.result)?;
        files.push(csv);
        let png = format!("candidates-{}.png", p.users);
        size_report::write_candidates_plot(&dir.join(&png), &p.result)?;
        files.push(png);
    }
    let json = size_report::growth_json(&points);
    std::fs::write(dir.join("size.json"), format!("{json}\n"))
        .with_context(|| format!("cannot write {}", dir.join("size.json").display()))?;
    files.push("size.json".into());
    if args.format == super::Format::Json {
        println!("{json}");
        ui::info(format!("wrote {}", dir.display()));
        return Ok(0);
    }
    println!(
        "growth: {} user counts, {total_evals} candidates evaluated, {total_sims} simulations (stopped early {total_stopped}) in {:.1} s",
        points.len(),
        wall.elapsed().as_secs_f64()
    );
    ui::info(format!(
        "wrote {} ({})",
        dir.display(),
        std::iter::once("size.md".to_string())
            .chain(files)
            .collect::<Vec<_>>()
            .join(", ")
    ));
    Ok(0)
}

/// Stop the progress lines (the options' hook holds the other reference).
fn finish(p: std::sync::Arc<Progress>) {
    match std::sync::Arc::try_unwrap(p) {
        Ok(p) => p.finish(),
        Err(p) => p.set_message("done"),
    }
}

/// `reports/size/<id>/`.
pub fn default_dir(id: &str) -> PathBuf {
    Path::new(super::run::REPORTS_ROOT).join("size").join(id)
}

/// What a `size --shard` process needs besides the options.
struct ShardJob<'a> {
    args: &'a SizeArgs,
    sc: &'a scenario::Scenario,
    prices: &'a cost::PriceList,
    plan_json: &'a str,
    sweep: &'a str,
    shard: crate::shard::Shard,
    progress: &'a Progress,
}

/// `size --shard K/N`: evaluate this shard's candidates of the grid and
/// store every simulation (see `compare::size::shard`).
fn shard_size(
    job: &ShardJob,
    base: Vec<(String, toml::Value)>,
    opts: SizeOptions,
    node_flags: &[(String, String)],
) -> anyhow::Result<i32> {
    use crate::store::{self, NewSizeShard, SizeTask, Store, StoredSimulation};
    let args = job.args;
    // The store is opened (and checked writable) before anything runs.
    let mut db = match Store::open(&args.db) {
        Ok(s) => s,
        Err(e) => return Ok(super::store_failed(&e)),
    };
    let started = store::now_utc();
    let mut grid =
        match size::shard::Grid::new(&args.scenario, base, job.prices, opts, &args.growth) {
            Ok(g) => g,
            Err(e) => return bad(node_flag_error(&e, node_flags).unwrap_or(e.to_string())),
        };
    let owned = job
        .shard
        .owned(&grid.costs())
        .iter()
        .filter(|o| **o)
        .count();
    let mut each = format!("{} replications each", args.replications);
    if args.resilience == ResilienceArg::N1 {
        each += ", the N-1 drill where the plain checks pass";
    }
    if let Some(n) = args.uncertainty {
        each += &format!(", the {n} parameter sets where those pass too");
    }
    ui::info(format!(
        "size {}: {} candidates in the grid{}; shard {} evaluates {} of them in full ({each}) ...",
        job.sc.name,
        crate::format::thousands(grid.tasks.len() as u64),
        if args.growth.is_empty() {
            String::new()
        } else {
            format!(" of {} user counts", grid.user_counts())
        },
        job.shard,
        crate::format::thousands(owned as u64),
    ));
    let wall = Instant::now();
    let pool = super::pool(args.jobs)?;
    // Stored in parts of a few candidates each (memory holds one part).
    let part = (2 * pool.current_num_threads()).max(4);
    let (mut candidates, mut simulations) = (0usize, 0usize);
    let stored = pool.install(|| {
        grid.run(job.shard, part, &mut |out| {
            let tasks: Vec<SizeTask> = out
                .tasks
                .into_iter()
                .map(|t| SizeTask {
                    task: t.task,
                    label: t.label,
                    simulations: t.simulations,
                })
                .collect();
            let sims: Vec<StoredSimulation> = out
                .simulations
                .iter()
                .map(|r| StoredSimulation::new(r.key.clone(), r.seed, &r.result))
                .collect();
            let id = store::new_run_id(&started);
            let finished = store::now_utc();
            let new = NewSizeShard {
                id: &id,
                started_at: &started,
                finished_at: &finished,
                scenario: job.sc,
                seed: args.seed.unwrap_or(job.sc.seed),
                replications: args.replications,
                plan_json: job.plan_json,
                sweep: job.sweep,
                shard: job.shard,
                tasks: &tasks,
                simulations: &sims,
            };
            db.insert_size_shard(&new)?;
            candidates += tasks.len();
            simulations += sims.len();
            job.progress.println(&format!(
                "{}: shard {}, {} candidates, {} simulations; run {id} in {}",
                job.sc.name,
                job.shard,
                tasks.len(),
                sims.len(),
                args.db.display()
            ));
            Ok::<(), crate::store::StoreError>(())
        })
    });
    if let Err(e) = stored {
        ui::error(format!(
            "{}: cannot store shard {}: {e}",
            job.sc.name, job.shard
        ));
        return Ok(super::EXIT_FAILURE);
    }
    ui::info(format!(
        "{}: shard {} of the size search, {candidates} candidates, {simulations} simulations in {:.1} s, in {}",
        job.sc.name,
        job.shard,
        wall.elapsed().as_secs_f64(),
        args.db.display()
    ));
    Ok(0)
}

/// Simulations the store lacked when the search asked for them.
type Misses = std::sync::Arc<std::sync::Mutex<Vec<String>>>;

/// `size --from DB`: check the store holds this search's shards (run with
/// the same options, the same inputs and every candidate), then a
/// [`size::Simulator`] that reads each simulation from it.
fn from_store(
    args: &SizeArgs,
    from: &Path,
    sc: &scenario::Scenario,
    base: &[(String, toml::Value)],
    prices: &cost::PriceList,
    opts: &SizeOptions,
    sweep: &str,
) -> Result<Result<(size::Simulator, Misses), String>, crate::store::StoreError> {
    use std::sync::{Arc, Mutex};
    let store = crate::store::Store::open_existing(from)?;
    let parts = store.sweep_results(sweep)?.parts;
    if parts.is_empty() {
        let plan = ShardPlan::of(args, prices, opts);
        let others = store.size_shards_of(&sc.name)?;
        let named = others
            .iter()
            .rev()
            .find_map(|o| plan.differs(&o.plan_json).map(|d| (o, d)));
        return Ok(Err(match named {
            Some((o, (flag, theirs, ours))) => format!(
                "{}: the size shards of {} in this store (run {}, shard {}) ran with {flag} {theirs}, and this command has {ours}: give --from the options the shards ran with",
                from.display(),
                sc.name,
                o.part.id,
                o.part.shard
            ),
            None => format!(
                "{}: no shard of the size search of {} in this store: run the same command with --shard K/N in each process, merge their stores with `capsim runs merge`, then give the merged store to --from",
                from.display(),
                sc.name
            ),
        }));
    }
    if let Err(e) = super::sweep::check_inputs(from, sc, &parts) {
        return Ok(Err(e));
    }
    let grid = match size::shard::Grid::new(
        &args.scenario,
        base.to_vec(),
        prices,
        opts.clone(),
        &args.growth,
    ) {
        Ok(g) => g,
        Err(e) => return Ok(Err(e.to_string())),
    };
    let have = store.size_tasks(sweep)?;
    let missing: Vec<usize> = (0..grid.tasks.len())
        .filter(|t| !have.contains(t))
        .collect();
    if let Some(&first) = missing.first() {
        let shards = super::sweep::owners(&parts, &grid.costs(), first);
        return Ok(Err(format!(
            "{}: the size search of {} lacks {} of its {} candidates (the first: {}{}): merge the store of every shard (or run the missing shards) before --from",
            from.display(),
            sc.name,
            missing.len(),
            grid.tasks.len(),
            grid.label(first),
            if shards.is_empty() {
                String::new()
            } else {
                format!(", which shard {} holds", shards.join(", "))
            }
        )));
    }
    let store = Mutex::new(store);
    let misses: Misses = Arc::new(Mutex::new(Vec::new()));
    let m = Arc::clone(&misses);
    let sweep = sweep.to_string();
    let simulator = size::Simulator(Arc::new(move |s: &scenario::Scenario, seed: u64| {
        let key = size::shard::simulation_key(s, seed);
        let found = store.lock().expect("not poisoned").simulation(&sweep, &key);
        match found {
            Ok(Some(r)) => r,
            other => {
                let why = match other {
                    Err(e) => e.to_string(),
                    _ => format!("{} with seed {seed} (key {key})", s.name),
                };
                m.lock().expect("not poisoned").push(why);
                size::shard::missing_result(s, seed)
            }
        }
    }));
    Ok(Ok((simulator, misses)))
}
