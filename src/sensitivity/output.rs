//! What a sensitivity study writes: `sensitivity.csv` (tidy: one row per
//! factor, target and end), `sensitivity.md` (the one-page answer) and one
//! tornado plot per target (`tornado-<n>.png`).

use super::{Analysis, End, Factor, Plan, Source};
use crate::format::fmt_value;
use crate::report::plot::register_font;
use plotters::prelude::*;
use std::fmt::Write as _;
use std::path::Path;

/// Bars a tornado plot shows at most (the largest effects).
const TORNADO_BARS: usize = 15;
const LOW_COLOR: RGBColor = RGBColor(31, 119, 180);
const HIGH_COLOR: RGBColor = RGBColor(255, 127, 14);
const SLO_COLOR: RGBColor = RGBColor(214, 39, 40);

fn unit_of(a: &Analysis, t: usize) -> String {
    a.targets[t].unit.clone()
}

/// The targets with a value at the base or at some end (a statistic the
/// scenario never produces, such as API latency of a build-queue-only
/// scenario, is left out).
fn shown(a: &Analysis) -> Vec<usize> {
    (0..a.targets.len())
        .filter(|&t| {
            a.base[t].value.mean.is_some()
                || a.effects.iter().any(|e| {
                    e.target == t && (e.lo.value.mean.is_some() || e.hi.value.mean.is_some())
                })
        })
        .collect()
}

/// `sensitivity.csv`: `factor, source, target, end, value, ci_low,
/// ci_high, pass, delta, delta_ci_low, delta_ci_high, flips`, one row per
/// factor x target x end (the base as factor `base`).
pub fn csv_text(plan: &Plan, a: &Analysis) -> anyhow::Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "factor",
        "source",
        "unit",
        "target",
        "end",
        "setting",
        "value",
        "ci_low",
        "ci_high",
        "pass",
        "delta",
        "delta_ci_low",
        "delta_ci_high",
        "flips",
    ])?;
    let n = |x: Option<f64>| x.map_or(String::new(), |v| format!("{v}"));
    let b = |x: Option<bool>| x.map_or(String::new(), |v| v.to_string());
    for t in shown(a) {
        let (target, base) = (&a.targets[t], &a.base[t]);
        w.write_record([
            "base",
            "",
            "",
            &target.name,
            "base",
            "",
            &n(base.value.mean),
            &n(base.value.ci_low),
            &n(base.value.ci_high),
            &b(base.pass),
            "",
            "",
            "",
            "",
        ])?;
    }
    for e in a.effects.iter().filter(|e| shown(a).contains(&e.target)) {
        let f = &plan.factors[e.factor];
        let source = match &f.source {
            Source::Param { provenance } => provenance.as_str(),
            Source::Key { .. } => "key",
        };
        for (end, r) in [(End::Lo, &e.lo), (End::Hi, &e.hi)] {
            w.write_record([
                f.name.as_str(),
                source,
                &f.unit,
                &a.targets[e.target].name,
                end.as_str(),
                &f.end_text(end),
                &n(r.value.mean),
                &n(r.value.ci_low),
                &n(r.value.ci_high),
                &b(r.pass),
                &n(e.delta.mean),
                &n(e.delta.ci_low),
                &n(e.delta.ci_high),
                &e.flips.to_string(),
            ])?;
        }
    }
    Ok(String::from_utf8(w.into_inner()?)?)
}

fn range_text(f: &Factor) -> String {
    let u = if f.unit.is_empty() || f.unit == "1" {
        String::new()
    } else {
        format!(" {}", f.unit)
    };
    format!("{}–{}{u}", f.end_text(End::Lo), f.end_text(End::Hi))
}

/// `sensitivity.md`: for each target, its verdict at the base, the
/// factors that can flip it on their own, and the largest effects.
pub fn markdown(scenario: &str, plan: &Plan, a: &Analysis, tornado: &[String]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Sensitivity of {scenario}\n");
    let _ = writeln!(
        s,
        "One at a time: each of {} factors at the low and the high end of its range, the others at their values; {} replications a variant on common random numbers (master seed {}), {} simulations. An effect is the high end minus the low end, paired by replication, with its 95% interval.\n",
        plan.factors.len(),
        plan.replications,
        plan.seed,
        plan.tasks.len()
    );
    let _ = writeln!(s, "## The answer\n");
    for t in shown(a) {
        let target = &a.targets[t];
        let unit = unit_of(a, t);
        let ranked = a.ranked(t);
        let top: Vec<String> = ranked
            .iter()
            .filter(|e| {
                e.delta.excludes_zero() != Some(false) && e.delta.mean.is_some_and(|d| d != 0.0)
            })
            .take(2)
            .map(|e| format!("`{}`", plan.factors[e.factor].name))
            .collect();
        let flips: Vec<String> = ranked
            .iter()
            .filter(|e| e.flips)
            .map(|e| format!("`{}`", plan.factors[e.factor].name))
            .collect();
        let base = fmt_value(a.base[t].value.mean, &unit);
        if target.is_slo {
            let verdict = match a.base[t].pass {
                Some(true) => "holds",
                _ => "fails",
            };
            if flips.is_empty() {
                let _ = writeln!(
                    s,
                    "- **{}** {verdict} at the base ({base}), and no single factor flips it at either end of its range{}.",
                    target.name,
                    if top.is_empty() {
                        String::new()
                    } else {
                        format!("; it moves most with {}", top.join(" and "))
                    }
                );
            } else {
                let _ = writeln!(
                    s,
                    "- **{}** {verdict} at the base ({base}); the verdict depends on {}: measure {} first.",
                    target.name,
                    flips.join(" and "),
                    flips[0]
                );
            }
        } else {
            let _ = writeln!(
                s,
                "- **{}** is {base} at the base; it moves most with {}.",
                target.name,
                if top.is_empty() {
                    "nothing measurable".into()
                } else {
                    top.join(" and ")
                }
            );
        }
    }
    for (k, t) in shown(a).into_iter().enumerate() {
        let target = &a.targets[t];
        let unit = unit_of(a, t);
        let _ = writeln!(s, "\n## {}\n", target.name);
        if let Some(png) = tornado.get(k) {
            let _ = writeln!(s, "![tornado]({png})\n");
        }
        let _ = writeln!(
            s,
            "| factor | range | low end | high end | effect (high − low) [95%] | flips the verdict |\n|---|---|---|---|---|---|"
        );
        for e in a.ranked(t) {
            let f = &plan.factors[e.factor];
            let ci = match (e.delta.ci_low, e.delta.ci_high) {
                (Some(l), Some(h)) => format!(
                    " [{}, {}]",
                    fmt_value(Some(l), &unit),
                    fmt_value(Some(h), &unit)
                ),
                _ => String::new(),
            };
            let _ = writeln!(
                s,
                "| `{}` | {} | {} | {} | {}{ci} | {} |",
                f.name,
                range_text(f),
                fmt_value(e.lo.value.mean, &unit),
                fmt_value(e.hi.value.mean, &unit),
                fmt_value(e.delta.mean, &unit),
                if e.flips { "**yes**" } else { "no" }
            );
        }
    }
    if !a.morris.is_empty() {
        let k = plan.factors.len();
        let r = plan.trajectories.len();
        let _ = writeln!(
            s,
            "\n## Global: Morris elementary effects\n\n{r} trajectories over all {k} factors at once ({} points, {} simulations with the replications; {} grid levels, step 2/3 of each range). mu* (the mean absolute effect of moving a factor across its whole range, in the statistic's unit) ranks the factors with interactions included; its interval is a 95% percentile bootstrap over trajectories; sigma large against mu* means the factor's effect depends on the others.",
            r * (k + 1),
            r * (k + 1) * plan.replications as usize,
            super::morris::LEVELS
        );
        for t in shown(a) {
            let unit = unit_of(a, t);
            let _ = writeln!(
                s,
                "\n### {}\n\n| factor | mu* [95%] | mu | sigma |\n|---|---|---|---|",
                a.targets[t].name
            );
            let mut ix: Vec<&super::morris::Index> = a.morris[t].iter().collect();
            ix.sort_by(|x, y| {
                y.mu_star
                    .total_cmp(&x.mu_star)
                    .then(x.factor.cmp(&y.factor))
            });
            for i in ix {
                let v = |x: f64| fmt_value(Some(x), &unit);
                let _ = writeln!(
                    s,
                    "| `{}` | {} [{}, {}] | {} | {} |",
                    plan.factors[i.factor].name,
                    v(i.mu_star),
                    v(i.mu_star_ci.0),
                    v(i.mu_star_ci.1),
                    v(i.mu),
                    v(i.sigma)
                );
            }
        }
    }
    s
}

/// `morris.csv`: `target, factor, mu_star, mu_star_ci_low, mu_star_ci_high,
/// mu, sigma, trajectories`, one row per target and factor.
pub fn morris_csv(plan: &Plan, a: &Analysis) -> anyhow::Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "target",
        "factor",
        "mu_star",
        "mu_star_ci_low",
        "mu_star_ci_high",
        "mu",
        "sigma",
        "trajectories",
    ])?;
    for t in shown(a) {
        for i in &a.morris[t] {
            w.write_record([
                a.targets[t].name.clone(),
                plan.factors[i.factor].name.clone(),
                i.mu_star.to_string(),
                i.mu_star_ci.0.to_string(),
                i.mu_star_ci.1.to_string(),
                i.mu.to_string(),
                i.sigma.to_string(),
                i.r.to_string(),
            ])?;
        }
    }
    Ok(String::from_utf8(w.into_inner()?)?)
}

/// A tornado plot of target `t`: one bar per factor (the largest
/// [`TORNADO_BARS`] effects), from its low end's value to its high end's,
/// around the base value; the SLO's target as a red dashed line.
pub fn write_tornado(path: &Path, plan: &Plan, a: &Analysis, t: usize) -> anyhow::Result<()> {
    register_font();
    let unit = unit_of(a, t);
    let ranked: Vec<_> = a
        .ranked(t)
        .into_iter()
        .filter(|e| e.lo.value.mean.is_some() && e.hi.value.mean.is_some())
        .take(TORNADO_BARS)
        .collect();
    let base = a.base[t].value.mean.unwrap_or(0.0);
    let target = &a.targets[t];
    let mut lo = base;
    let mut hi = base;
    for e in &ranked {
        for v in [e.lo.value.mean, e.hi.value.mean].into_iter().flatten() {
            lo = lo.min(v);
            hi = hi.max(v);
        }
    }
    if target.is_slo && target.slo.target.is_finite() {
        lo = lo.min(target.slo.target);
        hi = hi.max(target.slo.target);
    }
    if hi <= lo {
        hi = lo + 1.0;
    }
    let pad = (hi - lo) * 0.05;
    let n = ranked.len().max(1);
    let height = 160 + 44 * n as u32;
    let root = BitMapBackend::new(path, (1200, height)).into_drawing_area();
    root.fill(&WHITE)?;
    let title = format!(
        "{}: one at a time, {} replications each",
        target.name, plan.replications
    );
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 24))
        .margin(16)
        .margin_bottom(44)
        .x_label_area_size(50)
        .y_label_area_size(380)
        .build_cartesian_2d((lo - pad)..(hi + pad), 0f64..n as f64)?;
    let labels: Vec<String> = ranked
        .iter()
        .map(|e| {
            let f = &plan.factors[e.factor];
            format!("{} ({})", f.name, range_text(f))
        })
        .collect();
    let unit2 = unit.clone();
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(n * 2 + 1)
        .y_label_formatter(&|y| {
            let i = (n as f64 - y - 0.5).round();
            let centre = (n as f64 - i - 0.5 - y).abs() < 1e-6;
            if centre && i >= 0.0 && (i as usize) < labels.len() {
                labels[i as usize].clone()
            } else {
                String::new()
            }
        })
        .x_label_formatter(&|x| fmt_value(Some(*x), &unit2))
        .x_desc(format!(
            "{} (base {})",
            target.name,
            fmt_value(Some(base), &unit)
        ))
        .label_style(("sans-serif", 15))
        .draw()?;
    for (i, e) in ranked.iter().enumerate() {
        let y0 = n as f64 - i as f64 - 0.85;
        let y1 = n as f64 - i as f64 - 0.15;
        for (v, color) in [(e.lo.value.mean, LOW_COLOR), (e.hi.value.mean, HIGH_COLOR)] {
            if let Some(v) = v {
                chart.draw_series(std::iter::once(Rectangle::new(
                    [(base.min(v), y0), (base.max(v), y1)],
                    color.mix(0.8).filled(),
                )))?;
            }
        }
        if e.flips {
            chart.draw_series(std::iter::once(Text::new(
                "flips",
                (hi + pad * 0.2, (y0 + y1) / 2.0),
                ("sans-serif", 14).into_font().color(&SLO_COLOR),
            )))?;
        }
    }
    chart.draw_series(std::iter::once(PathElement::new(
        vec![(base, 0.0), (base, n as f64)],
        BLACK.stroke_width(2),
    )))?;
    if target.is_slo && target.slo.target.is_finite() {
        let x = target.slo.target;
        chart.draw_series(std::iter::once(plotters::element::DashedPathElement::new(
            vec![(x, 0.0), (x, n as f64)],
            8,
            6,
            SLO_COLOR.stroke_width(2),
        )))?;
    }
    // Legend: what the colours are.
    let legend = [
        ("low end of the range", LOW_COLOR),
        ("high end of the range", HIGH_COLOR),
    ];
    for (k, (text, color)) in legend.iter().enumerate() {
        let x = 400 + k as i32 * 260;
        let y = height as i32 - 18;
        root.draw(&Rectangle::new(
            [(x, y - 10), (x + 20, y + 6)],
            color.filled(),
        ))?;
        root.draw(&Text::new(*text, (x + 28, y - 8), ("sans-serif", 15)))?;
    }
    root.present()?;
    Ok(())
}

/// Write `sensitivity.csv`, `sensitivity.md` and the tornado plots into
/// `dir`; the names of the files written.
pub fn write_all(
    dir: &Path,
    scenario: &str,
    plan: &Plan,
    a: &Analysis,
) -> anyhow::Result<Vec<String>> {
    std::fs::create_dir_all(dir)?;
    let mut files = Vec::new();
    let mut pngs = Vec::new();
    for (k, t) in shown(a).into_iter().enumerate() {
        let name = format!("tornado-{}.png", k + 1);
        write_tornado(&dir.join(&name), plan, a, t)?;
        pngs.push(name.clone());
        files.push(name);
    }
    std::fs::write(dir.join("sensitivity.csv"), csv_text(plan, a)?)?;
    std::fs::write(
        dir.join("sensitivity.md"),
        markdown(scenario, plan, a, &pngs),
    )?;
    if !a.morris.is_empty() {
        std::fs::write(dir.join("morris.csv"), morris_csv(plan, a)?)?;
        files.push("morris.csv".into());
    }
    files.insert(0, "sensitivity.md".into());
    files.insert(1, "sensitivity.csv".into());
    Ok(files)
}
