//! Price files (`models/prices/*.toml`) and the monthly cost of an architecture.
//!
//! A price file gives, for each component, either rates per vCPU-hour and
//! per GB-hour of RAM, or a list of named instance types of which the
//! cheapest that fits a unit (replica, daemon, database, proxy) is bought:
//!
//! ```toml
//! currency = "USD"
//! date = "2025-01"                     # when the prices were read
//! source = "https://cloud.google.com/compute/vm-instance-pricing"
//! note = "Indicative on-demand list prices: put in your own."
//! hours_per_month = 730                # optional, 730 by default
//!
//! [instance_types]                     # optional, for `instance_types = [...]`
//! "m6i.xlarge" = { vcpu = 4, ram = "16GiB", per_hour = 0.192 }
//!
//! [coderd]                             # coderd replicas
//! vcpu_hour = 0.031611
//! gb_hour = 0.004237
//! [provisioners]                       # external provisioner daemons
//! instance_types = ["m6i.large", "m6i.xlarge"]
//! [database]                           # the PostgreSQL server
//! vcpu_hour = 0.0413
//! gb_hour = 0.0070
//! multiplier = 2                       # optional: e.g. a high-availability pair
//! [proxies]                            # workspace proxies
//! vcpu_hour = 0.031611
//! gb_hour = 0.004237
//! [workspace_nodes]                    # optional: nodes of the workspace cluster
//! instance_type = "n2-standard-16"     # or per_node_hour = 0.777
//! [fixed]                              # optional: flat fees per hour
//! kubernetes_control_plane = 0.10
//! ```
//!
//! RAM sizes in the scenario and in instance types use the scenario's units
//! (`"16GB"` is 16e9 bytes, `"16GiB"` is 16 x 2^30); a `gb_hour` rate is per
//! GB as written in the scenario (`ram = "16GB"` costs 16 x `gb_hour`).
//!
//! The cost of an architecture is what it deploys, for `hours_per_month`
//! hours: coderd replicas x their vCPU and RAM, every external provisioner
//! daemon, the database (only when there is a coderd: a build-queue-only
//! scenario has none), every workspace proxy, the workspace cluster's nodes
//! (its initial `nodes`; scale-ups are not costed) and the fixed fees. A
//! component under an autoscaler is costed at its time-average size over the
//! run when the run's summary is given (else at its initial size).
//! Built-in provisioner daemons run inside coderd and cost nothing extra.

use crate::format::{count_str, money};
use crate::result::Summary;
use crate::scenario::source::{SourceMap, line_col};
use crate::scenario::units::{Quantity, parse_bytes};
use crate::scenario::{Location, Scenario, ScenarioError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Hours in a month: 365 x 24 / 12 (the figure cloud price calculators use).
pub const HOURS_PER_MONTH: f64 = 730.0;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PriceFile {
    currency: String,
    date: String,
    source: String,
    note: String,
    region: Option<String>,
    hours_per_month: Option<f64>,
    instance_types: Option<BTreeMap<String, InstanceTypeFile>>,
    coderd: ComponentFile,
    provisioners: ComponentFile,
    database: ComponentFile,
    proxies: ComponentFile,
    workspace_nodes: Option<NodesFile>,
    fixed: Option<BTreeMap<String, f64>>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InstanceTypeFile {
    vcpu: f64,
    ram: Quantity,
    per_hour: f64,
    description: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ComponentFile {
    vcpu_hour: Option<f64>,
    gb_hour: Option<f64>,
    instance_types: Option<Vec<String>>,
    multiplier: Option<f64>,
    description: Option<String>,
    /// Database only: provisioned storage and its price per GB-month.
    storage_gb: Option<f64>,
    storage_gb_month: Option<f64>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NodesFile {
    instance_type: Option<String>,
    per_node_hour: Option<f64>,
}

/// A named instance type.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct InstanceType {
    pub name: String,
    pub vcpu: f64,
    pub ram_bytes: f64,
    pub per_hour: f64,
}

/// How one component is priced.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Pricing {
    /// Per vCPU-hour and per GB-hour of RAM.
    Rates { vcpu_hour: f64, gb_hour: f64 },
    /// The cheapest of these instance types that has the vCPU and RAM.
    Instances(Vec<InstanceType>),
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ComponentPrice {
    pub pricing: Pricing,
    /// Every unit is bought this many times (2 for a high-availability pair).
    pub multiplier: f64,
}

/// A loaded, validated price file.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PriceList {
    pub path: PathBuf,
    pub currency: String,
    pub date: String,
    pub source: String,
    pub note: String,
    pub region: Option<String>,
    pub hours_per_month: f64,
    pub coderd: ComponentPrice,
    pub provisioners: ComponentPrice,
    pub database: ComponentPrice,
    pub proxies: ComponentPrice,
    /// Database storage: (GB, price per GB-month).
    pub database_storage: Option<(f64, f64)>,
    /// (what, price per node-hour).
    pub workspace_node: Option<(String, f64)>,
    /// (name, price per hour).
    pub fixed: Vec<(String, f64)>,
}

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
}

fn located(path: &Path, map: Option<&SourceMap>, field: &str, msg: String) -> ScenarioError {
    ScenarioError {
        location: map.map_or_else(
            || Location {
                file: path.to_path_buf(),
                line: 1,
                col: 1,
            },
            |m| m.locate(field),
        ),
        field: (!field.is_empty()).then(|| field.to_string()),
        message: msg,
    }
}

fn gb(bytes: f64) -> String {
    let g = bytes / 1e9;
    if (g - g.round()).abs() < 0.05 {
        format!("{g:.0} GB")
    } else {
        format!("{g:.1} GB")
    }
}

impl PriceList {
    /// Read and validate a price file; errors name the file, line and field.
    pub fn load(path: &Path) -> Result<PriceList, ScenarioError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| located(path, None, "", format!("cannot read price file: {e}")))?;
        Self::parse(path, &text)
    }

    /// Parse the text of a price file (`path` is for messages).
    pub fn parse(path: &Path, text: &str) -> Result<PriceList, ScenarioError> {
        let value: toml::Table = toml::from_str(text).map_err(|e| {
            let (line, col) = e.span().map_or((1, 1), |s| line_col(text, s.start));
            ScenarioError {
                location: Location {
                    file: path.to_path_buf(),
                    line,
                    col,
                },
                field: None,
                message: e.message().trim().to_string(),
            }
        })?;
        let mut map = SourceMap::new(path);
        map.index(path, text);
        let map = Some(&map);
        let file: PriceFile =
            serde_path_to_error::deserialize(toml::Value::Table(value)).map_err(|e| {
                let field = e.path().to_string();
                let msg = e.into_inner().message().trim().to_string();
                located(path, map, &field, msg)
            })?;
        let err = |field: &str, msg: String| located(path, map, field, msg);
        let non_negative = |v: f64, field: &str| -> Result<f64, ScenarioError> {
            if v.is_finite() && v >= 0.0 {
                Ok(v)
            } else {
                Err(err(field, format!("must be a price >= 0, found {v}")))
            }
        };
        let mut types: BTreeMap<String, InstanceType> = BTreeMap::new();
        for (name, t) in file.instance_types.iter().flatten() {
            let f = format!("instance_types.{name}");
            if !(t.vcpu > 0.0) {
                return Err(err(
                    &format!("{f}.vcpu"),
                    "must be greater than zero".into(),
                ));
            }
            let ram_bytes = parse_bytes(&t.ram).map_err(|m| err(&format!("{f}.ram"), m))?;
            if !(ram_bytes > 0.0) {
                return Err(err(&format!("{f}.ram"), "must be greater than zero".into()));
            }
            let _ = &t.description;
            types.insert(
                name.clone(),
                InstanceType {
                    name: name.clone(),
                    vcpu: t.vcpu,
                    ram_bytes,
                    per_hour: non_negative(t.per_hour, &format!("{f}.per_hour"))?,
                },
            );
        }
        let component = |c: &ComponentFile, f: &str| -> Result<ComponentPrice, ScenarioError> {
            let _ = &c.description;
            let pricing = match (&c.instance_types, c.vcpu_hour, c.gb_hour) {
                (Some(names), None, None) => {
                    if names.is_empty() {
                        return Err(err(
                            &format!("{f}.instance_types"),
                            "name at least one instance type".into(),
                        ));
                    }
                    let mut list = Vec::new();
                    for (i, n) in names.iter().enumerate() {
                        let t = types.get(n).ok_or_else(|| {
                            err(
                                &format!("{f}.instance_types[{i}]"),
                                format!(
                                    "no instance type \"{n}\" in [instance_types] (known: {})",
                                    types.keys().cloned().collect::<Vec<_>>().join(", ")
                                ),
                            )
                        })?;
                        list.push(t.clone());
                    }
                    Pricing::Instances(list)
                }
                (None, Some(v), Some(g)) => Pricing::Rates {
                    vcpu_hour: non_negative(v, &format!("{f}.vcpu_hour"))?,
                    gb_hour: non_negative(g, &format!("{f}.gb_hour"))?,
                },
                _ => {
                    return Err(err(
                        f,
                        "give either `vcpu_hour` and `gb_hour`, or `instance_types`".into(),
                    ));
                }
            };
            let multiplier = match c.multiplier {
                Some(m) if m.is_finite() && m > 0.0 => m,
                Some(m) => {
                    return Err(err(
                        &format!("{f}.multiplier"),
                        format!("must be greater than zero, found {m}"),
                    ));
                }
                None => 1.0,
            };
            Ok(ComponentPrice {
                pricing,
                multiplier,
            })
        };
        let workspace_node = match &file.workspace_nodes {
            None => None,
            Some(n) => match (&n.instance_type, n.per_node_hour) {
                (Some(name), None) => {
                    let t = types.get(name).ok_or_else(|| {
                        err(
                            "workspace_nodes.instance_type",
                            format!("no instance type \"{name}\" in [instance_types]"),
                        )
                    })?;
                    Some((name.clone(), t.per_hour))
                }
                (None, Some(p)) => Some((
                    "node".into(),
                    non_negative(p, "workspace_nodes.per_node_hour")?,
                )),
                _ => {
                    return Err(err(
                        "workspace_nodes",
                        "give either `instance_type` or `per_node_hour`".into(),
                    ));
                }
            },
        };
        for (f, c) in [
            ("coderd", &file.coderd),
            ("provisioners", &file.provisioners),
            ("proxies", &file.proxies),
        ] {
            if c.storage_gb.is_some() || c.storage_gb_month.is_some() {
                return Err(err(f, "storage is priced in [database] only".into()));
            }
        }
        let database_storage = match (file.database.storage_gb, file.database.storage_gb_month) {
            (None, None) => None,
            (Some(g), Some(p)) => Some((
                non_negative(g, "database.storage_gb")?,
                non_negative(p, "database.storage_gb_month")?,
            )),
            _ => {
                return Err(err(
                    "database",
                    "give both `storage_gb` and `storage_gb_month`, or neither".into(),
                ));
            }
        };
        let hours_per_month = match file.hours_per_month {
            Some(h) if h > 0.0 && h <= 744.0 => h,
            Some(h) => {
                return Err(err(
                    "hours_per_month",
                    format!("must be in (0, 744], found {h}"),
                ));
            }
            None => HOURS_PER_MONTH,
        };
        let mut fixed = Vec::new();
        for (k, v) in file.fixed.iter().flatten() {
            fixed.push((k.clone(), non_negative(*v, &format!("fixed.{k}"))?));
        }
        Ok(PriceList {
            path: path.to_path_buf(),
            currency: file.currency.clone(),
            date: file.date.clone(),
            source: file.source.clone(),
            note: file.note.clone(),
            region: file.region.clone(),
            hours_per_month,
            coderd: component(&file.coderd, "coderd")?,
            provisioners: component(&file.provisioners, "provisioners")?,
            database: component(&file.database, "database")?,
            proxies: component(&file.proxies, "proxies")?,
            database_storage,
            workspace_node,
            fixed,
        })
    }
}

impl ComponentPrice {
    /// (what one unit is, its price per hour) for a unit of `vcpu` and `ram_bytes`.
    pub fn unit(&self, vcpu: f64, ram_bytes: f64) -> Result<(String, f64), String> {
        let size = format!("{} vCPU, {}", count_str(vcpu), gb(ram_bytes));
        let (what, per_hour) = match &self.pricing {
            Pricing::Rates { vcpu_hour, gb_hour } => {
                (size, vcpu * vcpu_hour + ram_bytes / 1e9 * gb_hour)
            }
            Pricing::Instances(types) => {
                let best = types
                    .iter()
                    .filter(|t| t.vcpu >= vcpu - 1e-9 && t.ram_bytes >= ram_bytes * (1.0 - 1e-9))
                    .min_by(|a, b| a.per_hour.total_cmp(&b.per_hour));
                match best {
                    Some(t) => (format!("{} ({size})", t.name), t.per_hour),
                    None => {
                        return Err(format!(
                            "no instance type fits {size} (largest listed: {})",
                            types
                                .iter()
                                .map(|t| format!(
                                    "{} {} vCPU {}",
                                    t.name,
                                    count_str(t.vcpu),
                                    gb(t.ram_bytes)
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
    let total = lines.iter().map(|l| l.monthly).sum();
    Ok(MonthlyCost {
        currency: prices.currency.clone(),
        total,
        hours_per_month: h,
        price_file: crate::format::tidy_path(&prices.path),
        prices_date: prices.date.clone(),
        lines,
        notes,
    })
}

impl MonthlyCost {
    /// `$1,234/month`.
    pub fn per_month(&self) -> String {
        format!("{}/month", money(self.total, &self.currency))
    }

    /// A few lines for the text table of `capsim run`.
    pub fn text(&self) -> String {
        use std::fmt::Write;
        let mut o = String::new();
        let _ = writeln!(
            o,
            "  monthly cost: {}  ({} h/month at {} prices of {}; indicative, put in your own)",
            self.per_month(),
            self.hours_per_month,
            self.price_file,
            self.prices_date
        );
        let w0 = self
            .lines
            .iter()
            .map(|l| l.component.len())
            .max()
            .unwrap_or(0);
        let w2 = self.lines.iter().map(|l| l.unit.len()).max().unwrap_or(0);
        for l in &self.lines {
            let _ = writeln!(
                o,
                "    {:<w0$}  {:>6} x {:<w2$}  {:>10}",
                l.component,
                count_str(l.count),
                l.unit,
                money(l.monthly, &self.currency)
            );
        }
        for n in &self.notes {
            let _ = writeln!(o, "    - {n}");
        }
        o
    }

    /// One Markdown bullet per cost line, then the notes.
    pub fn bullets(&self) -> String {
        use std::fmt::Write;
        let mut o = String::new();
        for l in &self.lines {
            let _ = writeln!(
                o,
                "- {}: {} x {} = {}",
                l.component,
                count_str(l.count),
                l.unit,
                money(l.monthly, &self.currency)
            );
        }
        for n in &self.notes {
            let _ = writeln!(o, "- note: {n}");
        }
        o
    }

    /// A Markdown section for `report.md`.
    pub fn markdown(&self) -> String {
        use std::fmt::Write;
        let mut o = String::new();
        let _ = writeln!(
            o,
            "\n## Monthly cost\n\n**{}** at the prices of `{}` ({}, {} hours a month). These are indicative list prices: put in your own.\n\n| component | units | unit | per month |\n|---|---|---|---|",
            self.per_month(),
            self.price_file,
            self.prices_date,
            self.hours_per_month
        );
        for l in &self.lines {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} |",
                l.component,
                count_str(l.count),
                l.unit,
                money(l.monthly, &self.currency)
            );
        }
        for n in &self.notes {
            let _ = writeln!(o, "\n- {n}");
        }
        o
    }
}

/// The price list for `s`: `cli` (from `--prices`) if given, else the
/// scenario's `prices = "..."`, else none.
pub fn for_scenario(s: &Scenario, cli: Option<&Path>) -> Result<Option<PriceList>, ScenarioError> {
    match cli.or(s.prices_path.as_deref()) {
        Some(p) => PriceList::load(p).map(Some),
        None => Ok(None),
    }
}

/// For `capsim run`: point every scenario at `cli` (from `--prices`) when
/// given, then load each scenario's price list (`None` for a scenario that
/// names none). Prints every error and returns `None` if any file is bad.
pub fn for_all(scenarios: &mut [Scenario], cli: Option<&Path>) -> Option<Vec<Option<PriceList>>> {
    if let Some(p) = cli {
        for s in scenarios.iter_mut() {
            s.prices_path = Some(p.to_path_buf());
        }
    }
    let mut loaded: BTreeMap<PathBuf, PriceList> = BTreeMap::new();
    let mut failed = false;
    let mut out = Vec::new();
    for s in scenarios.iter() {
        out.push(match &s.prices_path {
            None => None,
            Some(p) => match loaded.get(p) {
                Some(l) => Some(l.clone()),
                None => match PriceList::load(p) {
                    Ok(l) => {
                        loaded.insert(p.clone(), l.clone());
                        Some(l)
                    }
                    Err(e) => {
                        eprintln!("error: {e}");
                        failed = true;
                        None
                    }
                },
            },
        });
    }
    (!failed).then_some(out)
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

    const RATES: &str = r#"
currency = "USD"
date = "2025-01"
source = "test"
note = "test"
[instance_types]
small = { vcpu = 2, ram = "8GiB", per_hour = 0.1 }
big = { vcpu = 8, ram = "32GiB", per_hour = 0.4 }
[coderd]
vcpu_hour = 0.03
gb_hour = 0.004
[provisioners]
instance_types = ["small", "big"]
[database]
vcpu_hour = 0.04
gb_hour = 0.007
multiplier = 2
[proxies]
vcpu_hour = 0.03
gb_hour = 0.004
[fixed]
control_plane = 0.1
"#;

    #[test]
    fn rates_and_instance_types() {
        let p = PriceList::parse(Path::new("p.toml"), RATES).unwrap();
        let (_, h) = p.coderd.unit(4.0, 16e9).unwrap();
        assert!((h - (4.0 * 0.03 + 16.0 * 0.004)).abs() < 1e-12);
        let (what, h) = p.provisioners.unit(1.0, 2e9).unwrap();
        assert_eq!((what.starts_with("small"), h), (true, 0.1));
        let (what, h) = p.provisioners.unit(4.0, 2e9).unwrap();
        assert_eq!((what.starts_with("big"), h), (true, 0.4));
        assert!(p.provisioners.unit(16.0, 2e9).is_err());
        let (_, h) = p.database.unit(2.0, 8e9).unwrap();
        assert!((h - 2.0 * (2.0 * 0.04 + 8.0 * 0.007)).abs() < 1e-12);
        assert_eq!(p.hours_per_month, 730.0);
    }

    #[test]
    fn errors_name_the_line_and_field() {
        let bad = RATES.replace(
            "instance_types = [\"small\", \"big\"]",
            "instance_types = [\"tiny\"]",
        );
        let e = PriceList::parse(Path::new("p.toml"), &bad).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("provisioners.instance_types[0]"));
        assert_eq!(e.location.line, 13, "{e}");
        let bad = RATES.replace("gb_hour = 0.007", "gb_hour = 0.007\nspeed = 1");
        let e = PriceList::parse(Path::new("p.toml"), &bad).unwrap_err();
        assert!(e.to_string().contains("speed"), "{e}");
        let bad = RATES.replace("vcpu_hour = 0.04", "vcpu_hour = -1.0");
        let e = PriceList::parse(Path::new("p.toml"), &bad).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("database.vcpu_hour"), "{e}");
        assert_eq!(e.location.line, 15, "{e}");
    }
}
