//! `capsim calibrate`: fit a model file's free parameters to measured targets.

use super::progress::Progress;
use super::{EXIT_BAD_INPUT, Format, ui};
use crate::calibrate::{self, Calibration, Options, Setup};
use crate::format::{sig4, signed_pct};
use std::fmt::Write as _;
use std::path::PathBuf;

#[derive(clap::Args, Debug, Clone)]
pub struct CalibrateArgs {
    /// Targets file (CSV; format in the README and src/calibrate/targets.rs).
    #[arg(long)]
    pub targets: PathBuf,
    /// Model file whose `free = true` parameters are fitted.
    #[arg(long)]
    pub model: PathBuf,
    /// Store the fitted values and their provenance in the model file.
    #[arg(long)]
    pub write: bool,
    /// Master seed for every scenario (default: each scenario's own seed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Replications for the fit table and leave-one-out predictions.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=crate::scenario::limits::MAX_REPLICATIONS as i64))]
    pub replications: u32,
    /// Replications per evaluation during the search.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=crate::scenario::limits::MAX_REPLICATIONS as i64))]
    pub search_replications: u32,
    /// Evaluations per fit at most.
    #[arg(long, default_value_t = 250)]
    pub max_evals: usize,
    /// Leave-one-out: refit without each target and predict it.
    #[arg(long)]
    pub loo: bool,
    /// Output format on stdout.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Worker threads (default and at most: the cores available; more would not help). Results do not depend on it.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub jobs: Option<u32>,
}

pub fn calibrate(args: &CalibrateArgs) -> anyhow::Result<i32> {
    let setup = match Setup::load(&args.targets, &args.model, args.seed) {
        Ok(s) => s,
        Err(e) => {
            ui::error(e);
            return Ok(EXIT_BAD_INPUT);
        }
    };
    let pool = super::pool(args.jobs)?;
    if let Err(e) = pool.install(|| setup.check()) {
        ui::error(e);
        return Ok(EXIT_BAD_INPUT);
    }
    let opts = Options {
        replications: args.replications,
        search_replications: args.search_replications,
        max_evals: args.max_evals,
        loo: args.loo,
        ..Options::default()
    };
    let pb = Progress::new("calibrate", "simulations", 0);
    let tick = |n: u64| pb.inc(n);
    let c = pool.install(|| calibrate::calibrate(&setup, &opts, &tick));
    pb.finish();
    if args.write {
        let fitted: Vec<(String, f64)> =
            c.params.iter().map(|p| (p.name.clone(), p.value)).collect();
        calibrate::write::write_model(&args.model, &fitted, &provenance(args, &c))
            .map_err(anyhow::Error::msg)?;
        ui::info(format!(
            "wrote {} fitted values to {}",
            fitted.len(),
            args.model.display()
        ));
    }
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&c)?),
        Format::Table => print!("{}", report(&c)),
    }
    Ok(0)
}

/// The `source` text of a fitted parameter: how to reproduce the fit.
fn provenance(args: &CalibrateArgs, c: &Calibration) -> String {
    let seed = args
        .seed
        .map_or("each scenario's own seed".to_string(), |s| {
            format!("seed {s}")
        });
    let met = c.fit.iter().filter(|r| r.met).count();
    format!(
        "capsim calibrate --targets {} --model {}{} --replications {} --search-replications {} --max-evals {}: \
         Nelder-Mead on the weighted squared log errors of {} targets ({seed}, common random numbers); \
         {met} of {} targets met",
        args.targets.display(),
        args.model.display(),
        args.seed.map_or(String::new(), |s| format!(" --seed {s}")),
        args.replications,
        args.search_replications,
        args.max_evals,
        c.fit.iter().filter(|r| r.weight > 0.0).count(),
        c.fit.len(),
    )
}

/// The text report: parameters, fit table, leave-one-out.
pub fn report(c: &Calibration) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "calibration of {} against {} ({} evaluations, {}; objective {:.3e})",
        c.model_file,
        c.targets_file,
        c.evals,
        if c.converged {
            "converged"
        } else {
            "stopped at --max-evals"
        },
        c.objective
    );
    for n in &c.notes {
        let _ = writeln!(s, "note: {n}");
    }
    let _ = writeln!(s, "\nparameters:");
    let w = c.params.iter().map(|p| p.name.len()).max().unwrap_or(4);
    let _ = writeln!(
        s,
        "  {:w$}  {:>10}  {:8}  {:>10}  bounds",
        "name", "fitted", "unit", "was"
    );
    for p in &c.params {
        let _ = writeln!(
            s,
            "  {:w$}  {:>10}  {:8}  {:>10}  [{}, {}]",
            p.name,
            sig4(p.value),
            p.unit,
            sig4(p.file_value),
            sig4(p.min),
            sig4(p.max)
        );
    }
    let w = c.fit.iter().map(|r| r.target.len()).max().unwrap_or(6);
    let _ = writeln!(
        s,
        "\nfit ({} replications; simulated = mean [95% CI]):",
        c.options.replications
    );
    let _ = writeln!(
        s,
        "  {:w$}  {:>13}  {:>28}  {:>7}  ok  weight",
        "target", "measured", "simulated", "error"
    );
    for r in &c.fit {
        let measured = match (r.measured, r.low, r.high) {
            (Some(m), _, _) => sig4(m),
            (_, Some(a), Some(b)) => format!("{}-{}", sig4(a), sig4(b)),
            _ => "?".into(),
        };
        let ci = match (r.ci_low, r.ci_high) {
            (Some(a), Some(b)) => format!(" [{}, {}]", sig4(a), sig4(b)),
            _ => String::new(),
        };
        let _ = writeln!(
            s,
            "  {:w$}  {:>13}  {:>28}  {:>7}  {}  {}",
            r.target,
            format!("{measured} {}", r.unit),
            format!("{}{ci}", sig4(r.simulated)),
            signed_pct(r.error * 100.0, 1),
            if r.met { "ok" } else { "--" },
            sig4(r.weight)
        );
    }
    let met = c.fit.iter().filter(|r| r.met).count();
    let _ = writeln!(s, "  {met} of {} targets met", c.fit.len());
    if let Some(loo) = &c.loo {
        let _ = writeln!(
            s,
            "\nleave-one-out (fit without the target, then predict it):"
        );
        let _ = writeln!(
            s,
            "  {:w$}  {:>12}  {:>7}  ok  how",
            "target", "predicted", "error"
        );
        for r in loo {
            let how = match (r.how.as_str(), r.converged) {
                ("refit", true) => format!("refit ({} evaluations)", r.evals),
                ("refit", false) => format!("refit (stopped at {} evaluations)", r.evals),
                (h, _) => h.to_string(),
            };
            let _ = writeln!(
                s,
                "  {:w$}  {:>12}  {:>7}  {}  {how}",
                r.target,
                sig4(r.predicted),
                signed_pct(r.error * 100.0, 1),
                if r.met { "ok" } else { "--" },
            );
        }
    }
    s
}
