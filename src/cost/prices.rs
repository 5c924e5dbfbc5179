//! Price files (`models/prices/*.toml`): reading and validating them.
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
//!                                      # (node pools: the cheapest [instance_types]
//!                                      # entry with the pool's vcpu and ram, or
//!                                      # per_node_hour when given)
//! [fixed]                              # optional: flat fees per hour
//! kubernetes_control_plane = 0.10
//! ```
//!
//! RAM sizes in the scenario and in instance types use the scenario's units
//! (`"16GB"` is 16e9 bytes, `"16GiB"` is 16 x 2^30); a `gb_hour` rate is per
//! GB as written in the scenario (`ram = "16GB"` costs 16 x `gb_hour`).

use crate::scenario::source::SourceMap;
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
    /// Every `[instance_types]` entry, by name: node pools are priced as
    /// the cheapest that has their shape.
    pub instance_types: Vec<InstanceType>,
    /// (name, price per hour).
    pub fixed: Vec<(String, f64)>,
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

impl PriceList {
    /// Read and validate a price file; errors name the file, line and field.
    pub fn load(path: &Path) -> Result<PriceList, ScenarioError> {
        let text = crate::scenario::source::read_input(path)
            .map_err(|e| located(path, None, "", format!("cannot read price file: {e}")))?;
        Self::parse(path, &text)
    }

    /// Parse the text of a price file (`path` is for messages).
    pub fn parse(path: &Path, text: &str) -> Result<PriceList, ScenarioError> {
        let value = crate::scenario::source::parse_table(path, text)?;
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
            instance_types: types.values().cloned().collect(),
            fixed,
        })
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
/// names none). A file named by several scenarios is read once; every bad
/// file is an error, in scenario order.
pub fn load_for_all(
    scenarios: &mut [Scenario],
    cli: Option<&Path>,
) -> Result<Vec<Option<PriceList>>, Vec<ScenarioError>> {
    if let Some(p) = cli {
        for s in scenarios.iter_mut() {
            s.prices_path = Some(p.to_path_buf());
        }
    }
    let mut loaded: BTreeMap<PathBuf, PriceList> = BTreeMap::new();
    let mut errors = Vec::new();
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
                        errors.push(e);
                        None
                    }
                },
            },
        });
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
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
