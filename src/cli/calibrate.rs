//! `capsim calibrate`: fit a model file's free parameters to measured targets.

use super::progress::Progress;
use super::{EXIT_BAD_INPUT, Format, ui};
use crate::calibrate::{self, Calibration, Intervals, Options, Setup};
use crate::format::{pct, sig4, signed_pct};
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
    /// Store the fitted values, their provenance and their 95% intervals (`range`) in the model file.
    #[arg(long)]
    pub write: bool,
    /// Take the model file's values as the fit (no search): the fit table, intervals and leave-one-out of an existing fit; with --write only the ranges change.
    #[arg(long)]
    pub keep_values: bool,
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
        keep_values: args.keep_values,
        ..Options::default()
    };
    let pb = Progress::new("calibrate", "simulations", 0);
    let tick = |n: u64| pb.inc(n);
    let c = pool.install(|| calibrate::calibrate(&setup, &opts, &tick));
    pb.finish();
    if args.write {
        let fitted = written(args, &c, &setup);
        calibrate::write::write_model(&args.model, &fitted, &provenance(args, &c))
            .map_err(anyhow::Error::msg)?;
        ui::info(format!(
            "wrote {} fitted {} to {}",
            fitted.len(),
            match (args.keep_values, c.intervals.is_some()) {
                (true, _) => "parameters' intervals",
                (false, true) => "values and their intervals",
                (false, false) => "values",
            },
            args.model.display()
        ));
    }
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&c)?),
        Format::Table => print!("{}", report(&c)),
    }
    Ok(0)
}

/// What `--write` stores: each fitted value (unless kept) and its interval.
fn written(args: &CalibrateArgs, c: &Calibration, setup: &Setup) -> Vec<calibrate::write::Written> {
    c.params
        .iter()
        .enumerate()
        .map(|(j, p)| calibrate::write::Written {
            name: p.name.clone(),
            value: (!args.keep_values).then_some(p.value),
            range: c.intervals.as_ref().map(|iv| {
                let i = &iv.params[j];
                let (lo, hi) = calibrate::write::rounded_range(i.lo, i.hi, p.value, p.min, p.max);
                (lo, hi, range_reason(args, iv, j, setup))
            }),
        })
        .collect()
}

/// The command that reproduces the intervals.
fn interval_command(args: &CalibrateArgs) -> String {
    format!(
        "capsim calibrate --targets {} --model {}{}{} --replications {} --search-replications {}",
        args.targets.display(),
        args.model.display(),
        args.seed.map_or(String::new(), |s| format!(" --seed {s}")),
        if args.keep_values {
            " --keep-values"
        } else {
            ""
        },
        args.replications,
        args.search_replications,
    )
}

/// The `range_reason` of fitted parameter `j`: the method and its numbers.
fn range_reason(args: &CalibrateArgs, iv: &Intervals, j: usize, setup: &Setup) -> String {
    let p = &iv.params[j];
    let moved = iv.targets.iter().filter(|t| t.moved).count();
    let head = format!(
        "95% profile interval ({}): the values for which the fitted targets, each weighed by its own precision \
         (the rounding of the published figure, uniform) and the simulation noise of {} search replication{}, \
         stay within a chi-square of {:.2} of the fit, the other fitted parameters refitted along the way \
         (linearised; README, Calibration)",
        interval_command(args),
        iv.search_replications,
        if iv.search_replications == 1 { "" } else { "s" },
        iv.threshold,
    );
    if !p.identified {
        return format!(
            "{head}; no fitted target moves it, so the interval is its calibration bounds"
        );
    }
    let mut s = head;
    if let Some(t) = p.pinned_by {
        let ts = &iv.targets[t];
        let _ = write!(
            s,
            "; pinned mostly by {} ({}: sigma {} from its precision, {} simulation noise per replication)",
            ts.target,
            ts.figure,
            pct(ts.precision * 100.0, 1),
            pct(ts.noise * 100.0, 1),
        );
    }
    let _ = write!(
        s,
        "; {} targets, {moved} moved by a fitted parameter, {} degree{} of freedom, chi-square {:.2} at the fit",
        iv.targets.len(),
        iv.dof,
        if iv.dof == 1 { "" } else { "s" },
        iv.chi2
    );
    if iv.scale > 1.0 {
        let _ = write!(
            s,
            " (threshold widened by the reduced chi-square {:.2})",
            iv.scale
        );
    }
    match (p.lo_at_bound, p.hi_at_bound) {
        (true, true) => s.push_str("; both ends reach the calibration bounds"),
        (true, false) => s.push_str("; the lower end reaches the calibration bound"),
        (false, true) => s.push_str("; the upper end reaches the calibration bound"),
        _ => {}
    }
    let _ = write!(
        s,
        "; {} points of {} replications of {}. It leaves out the model's structural error (the leave-one-out table)",
        iv.points,
        iv.replications,
        scenarios_of(setup)
    );
    s
}

/// The scenarios the fitted targets run.
fn scenarios_of(setup: &Setup) -> String {
    let mut names: Vec<String> = setup
        .targets
        .iter()
        .filter(|t| t.weight > 0.0)
        .map(|t| t.scenario.clone())
        .collect();
    names.sort();
    names.dedup();
    names.join(", ")
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
    let how = if c.options.keep_values {
        "the model file's values kept, no search".to_string()
    } else {
        format!(
            "{} evaluations, {}",
            c.evals,
            if c.converged {
                "converged"
            } else {
                "stopped at --max-evals"
            }
        )
    };
    let _ = writeln!(
        s,
        "calibration of {} against {} ({how}; objective {:.3e})",
        c.model_file, c.targets_file, c.objective
    );
    for n in &c.notes {
        let _ = writeln!(s, "note: {n}");
    }
    let _ = writeln!(s, "\nparameters:");
    let w = c.params.iter().map(|p| p.name.len()).max().unwrap_or(4);
    let _ = writeln!(
        s,
        "  {:w$}  {:>10}  {:8}  {:>10}  {:>22}  bounds",
        "name", "fitted", "unit", "was", "95% interval"
    );
    for (j, p) in c.params.iter().enumerate() {
        let interval = c.intervals.as_ref().map_or(String::new(), |iv| {
            let i = &iv.params[j];
            let (lo, hi) = calibrate::write::rounded_range(i.lo, i.hi, p.value, p.min, p.max);
            format!("[{}, {}]", sig4(lo), sig4(hi))
        });
        let _ = writeln!(
            s,
            "  {:w$}  {:>10}  {:8}  {:>10}  {interval:>22}  [{}, {}]",
            p.name,
            sig4(p.value),
            p.unit,
            sig4(p.file_value),
            sig4(p.min),
            sig4(p.max)
        );
    }
    if let Some(iv) = &c.intervals {
        let _ = writeln!(
            s,
            "\nintervals: 95% profile of the objective ({} points of {} replications; chi-square {:.2} at the fit, {} degree{} of freedom, threshold {:.2}); per target, sigma of its log error:",
            iv.points,
            iv.replications,
            iv.chi2,
            iv.dof,
            if iv.dof == 1 { "" } else { "s" },
            iv.threshold
        );
        let w = iv.targets.iter().map(|t| t.target.len()).max().unwrap_or(6);
        let _ = writeln!(
            s,
            "  {:w$}  {:>22}  {:>9}  {:>9}  {:>7}  pins",
            "target", "measured", "precision", "noise", "sigma"
        );
        for (t, ts) in iv.targets.iter().enumerate() {
            let pins: Vec<&str> = iv
                .params
                .iter()
                .filter(|p| p.pinned_by == Some(t))
                .map(|p| p.name.as_str())
                .collect();
            let _ = writeln!(
                s,
                "  {:w$}  {:>22}  {:>9}  {:>9}  {:>7}  {}",
                ts.target,
                ts.figure,
                pct(ts.precision * 100.0, 2),
                pct(ts.noise * 100.0, 2),
                pct(ts.sigma * 100.0, 2),
                if ts.moved {
                    pins.join(", ")
                } else {
                    "(no fitted parameter moves it)".into()
                }
            );
        }
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
