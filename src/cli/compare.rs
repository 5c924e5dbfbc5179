//! `capsim compare`: architectures side by side on the same seeds.

use super::{EXIT_BAD_INPUT, Format, ui};
use crate::compare::{self, Arch, DEFAULT_REPLICATIONS, output};
use crate::cost::{self, PriceList};
use crate::scenario;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(clap::Args, Debug, Clone)]
pub struct CompareArgs {
    /// Scenario files (the first is the reference), or one file with --vary.
    #[arg(required = true)]
    pub scenarios: Vec<PathBuf>,
    /// Variants of one scenario: a dotted field and its values, e.g.
    /// deployment.coderd.replicas=2,3,4. Several --vary make a grid.
    #[arg(long, value_name = "KEY=V1,V2,...")]
    pub vary: Vec<String>,
    /// Replications per architecture (replication r of every one uses the same seed).
    #[arg(long, default_value_t = DEFAULT_REPLICATIONS, value_parser = clap::value_parser!(u32).range(1..=crate::scenario::limits::MAX_REPLICATIONS as i64))]
    pub replications: u32,
    /// Master seed [default: the first scenario's `seed`].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Price file for every architecture [default: each scenario's `prices`].
    #[arg(long, value_name = "FILE")]
    pub prices: Option<PathBuf>,
    /// Write the comparison here [default: reports/compare/<id>/].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Worker threads (default and at most: the cores available; more would not help). Results do not depend on it.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub jobs: Option<u32>,
    /// `coder`: an architecture must also keep to Coder's deployment
    /// guidance (the scenario's [sizing] table) to be recommended; `none`
    /// ignores it.
    #[arg(long, value_enum, default_value_t = super::size::PolicyArg::Coder)]
    pub policy: super::size::PolicyArg,
    /// Output on stdout: the table, or compare.json.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Also run every architecture on the same N model-parameter sets
    /// (Latin hypercube over the model files' ranges, same seeds) and
    /// report, per architecture and per difference from the first,
    /// simulation noise, model uncertainty and both combined (after the
    /// plain comparison; uncertainty.csv, compare.md, compare.json).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(2..=10_000))]
    pub uncertainty: Option<u32>,
}

/// The architectures named on the command line, or `Err(message)`.
pub fn architectures(args: &CompareArgs) -> Result<Vec<Arch>, String> {
    let cli_prices = match &args.prices {
        Some(p) => Some(PriceList::load(p).map_err(|e| e.to_string())?),
        None => None,
    };
    let with_prices = |s: scenario::Scenario| -> Result<Arch, String> {
        let prices = match &cli_prices {
            Some(p) => Some(p.clone()),
            None => cost::for_scenario(&s, None).map_err(|e| e.to_string())?,
        };
        Ok(Arch {
            name: s.name.clone(),
            scenario: s,
            prices,
        })
    };
    if !args.vary.is_empty() {
        let [path] = args.scenarios.as_slice() else {
            return Err("--vary takes exactly one scenario file".into());
        };
        let varies: Vec<compare::Vary> = args
            .vary
            .iter()
            .map(|v| compare::parse_vary(v))
            .collect::<Result<_, _>>()?;
        let grid = compare::vary_grid(&varies);
        if grid.len() < 2 {
            return Err("--vary gives a single variant: give at least two values".into());
        }
        return grid
            .into_iter()
            .map(|(name, ov)| {
                let s = scenario::load_with_overrides(path, &ov).map_err(|e| e.to_string())?;
                let mut a = with_prices(s)?;
                a.name = name;
                Ok(a)
            })
            .collect();
    }
    if args.scenarios.len() < 2 {
        return Err("give two or more scenario files, or one with --vary KEY=V1,V2,...".into());
    }
    let mut out = Vec::new();
    for p in &args.scenarios {
        out.push(with_prices(scenario::load(p).map_err(|e| e.to_string())?)?);
    }
    let names = compare::unique_names(out.iter().map(|a| a.name.clone()).collect());
    for (a, n) in out.iter_mut().zip(names) {
        a.name = n;
    }
    Ok(out)
}

pub fn compare(args: &CompareArgs) -> anyhow::Result<i32> {
    let archs = match architectures(args) {
        Ok(a) => a,
        Err(e) => {
            ui::error(e);
            return Ok(EXIT_BAD_INPUT);
        }
    };
    let seed = args.seed.unwrap_or(archs[0].scenario.seed);
    let pool = super::pool(args.jobs)?;
    let wall = Instant::now();
    ui::info(format!(
        "comparing {} architectures x {} replications on master seed {seed} ...",
        archs.len(),
        args.replications
    ));
    let mut c = pool.install(|| compare::compare(archs, seed, args.replications));
    if args.policy == super::size::PolicyArg::None {
        c = c.without_policy();
    }
    if let Some(n) = args.uncertainty {
        ui::info(format!(
            "model uncertainty: {} architectures x {n} parameter sets x {} replications ...",
            c.archs.len(),
            args.replications
        ));
        match pool.install(|| compare::uncertainty::compare_study(&c, n as usize)) {
            Ok(u) => c.uncertainty = Some(u),
            Err(e) => {
                ui::error(e);
                return Ok(EXIT_BAD_INPUT);
            }
        }
    }
    let sim_s = wall.elapsed().as_secs_f64();
    let dir = args.out.clone().unwrap_or_else(|| default_dir(&c.id));
    let files = output::write_all(&dir, &c)?;
    match args.format {
        Format::Table => {
            print!("{}", output::text_table(&c));
            if let Some(u) = &c.uncertainty {
                print!("{}", compare::uncertainty::text(u));
            }
        }
        Format::Json => println!("{}", serde_json::to_string_pretty(&output::to_json(&c))?),
    }
    let sets = c
        .uncertainty
        .as_ref()
        .map_or(0, |u| u.parameter_sets as u32);
    ui::info(format!(
        "{} simulations in {sim_s:.1} s; wrote {} ({})",
        c.archs.len() as u32 * c.replications * (1 + sets),
        dir.join("compare.md").display(),
        files.join(", ")
    ));
    Ok(0)
}

/// `reports/compare/<id>/`.
pub fn default_dir(id: &str) -> PathBuf {
    Path::new(super::run::REPORTS_ROOT).join("compare").join(id)
}
