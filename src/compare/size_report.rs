//! What `capsim size` prints and writes: the recommendation with its
//! headroom and cost, the next-cheaper candidates, `size.md`,
//! `candidates.csv`, and for `--growth` `growth.csv` and `growth.png`.

use super::size::{Evaluation, GrowthPoint, SizeResult};
use crate::format::{bound_symbol, count_str, exact, fmt_value, md_cell as cell, money, pct};
use crate::report::catalogue::{GROWTH_FIGURE, GrowthLine};
use crate::report::cost;
use crate::report::plot::{OverlayEvents, OverlayLine, OverlayPanel, OverlayX, write_overlay};
use crate::report::series::AggPoint;
use anyhow::Context;
use std::fmt::Write;
use std::path::Path;

/// `coderd replicas 3, coderd vCPU per replica 4, ...`.
pub fn describe(r: &SizeResult, e: &Evaluation) -> String {
    r.dimensions
        .iter()
        .zip(&e.values)
        .map(|(d, v)| format!("{} {}", d.resource.label(), count_str(*v)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn headroom(s: &super::SloCheck) -> String {
    match s.headroom() {
        Some(h) => pct(100.0 * h, 0),
        None => "at target".into(),
    }
}

/// The text printed for one search (`elapsed_s`: wall time it took).
pub fn text(r: &SizeResult, elapsed_s: f64) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "size {}: {} architectures evaluated x {} replications = {} simulations in {:.1} s (seed {})",
        r.scenario, r.evaluations, r.replications, r.simulations, elapsed_s, r.seed
    );
    let _ = writeln!(
        o,
        "  searched: {}",
        r.dimensions
            .iter()
            .map(|d| format!(
                "{} {}..{}",
                d.resource.label(),
                count_str(d.ladder[0]),
                count_str(*d.ladder.last().expect("non-empty ladder"))
            ))
            .collect::<Vec<_>>()
            .join("; ")
    );
    if r.truncated {
        let _ = writeln!(
            o,
            "  warning: the search stopped at its evaluation limit (--max-evaluations); the recommendation is the cheapest feasible architecture found, maybe not the cheapest there is"
        );
    }
    let Some(rec) = &r.recommended else {
        let _ = writeln!(
            o,
            "no architecture within the search bounds meets every SLO with 95% confidence."
        );
        if let Some(l) = &r.largest {
            let _ = writeln!(
                o,
                "  the largest ({}) fails: {}",
                describe(r, l),
                l.failures().join("; ")
            );
        }
        return o;
    };
    let _ = writeln!(o, "recommended: {}/month", money(rec.cost, &r.currency));
    let w = r
        .dimensions
        .iter()
        .map(|d| d.resource.label().len())
        .max()
        .unwrap_or(0);
    for (d, v) in r.dimensions.iter().zip(&rec.values) {
        let _ = writeln!(
            o,
            "  {:<w$}  {:>4}   (scenario: {})",
            d.resource.label(),
            count_str(*v),
            count_str(d.given)
        );
    }
    if !rec.slos.is_empty() {
        let rows: Vec<[String; 5]> = rec
            .slos
            .iter()
            .map(|s| {
                [
                    s.name.clone(),
                    format!(
                        "{} {}",
                        bound_symbol(s.bound),
                        fmt_value(Some(s.target), &s.unit)
                    ),
                    fmt_value(s.mean, &s.unit),
                    fmt_value(s.bound95, &s.unit),
                    headroom(s),
                ]
            })
            .collect();
        let head = ["SLO", "target", "mean", "95% bound", "headroom"].map(String::from);
        let all: Vec<&[String; 5]> = std::iter::once(&head).chain(&rows).collect();
        let ws: Vec<usize> = (0..5)
            .map(|j| all.iter().map(|r| r[j].chars().count()).max().unwrap_or(0))
            .collect();
        for r in all {
            let _ = writeln!(
                o,
                "  {:<w0$}  {:>w1$}  {:>w2$}  {:>w3$}  {:>w4$}",
                r[0],
                r[1],
                r[2],
                r[3],
                r[4],
                w0 = ws[0],
                w1 = ws[1],
                w2 = ws[2],
                w3 = ws[3],
                w4 = ws[4]
            );
        }
    }
    if let Some(c) = &rec.cost_detail {
        o += &cost::text(c);
    }
    if !r.cheaper.is_empty() {
        let _ = writeln!(
            o,
            "next cheaper candidates (one step less of one resource):"
        );
        for e in &r.cheaper {
            let _ = writeln!(
                o,
                "  {}/month  {}\n      fails: {}",
                money(e.cost, &r.currency),
                changed(r, rec, e),
                e.failures().join("; ")
            );
        }
    }
    o
}

/// What differs from the recommendation (`provisioner daemons 11`).
fn changed(r: &SizeResult, rec: &Evaluation, e: &Evaluation) -> String {
    r.dimensions
        .iter()
        .zip(rec.values.iter().zip(&e.values))
        .filter(|(_, (a, b))| a != b)
        .map(|(d, (_, b))| format!("{} {}", d.resource.label(), count_str(*b)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `size.md`.
pub fn markdown(r: &SizeResult, elapsed_s: f64) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# Sizing: {}\n", r.scenario);
    match &r.recommended {
        None => {
            let _ = writeln!(
                o,
                "**No architecture within the search bounds meets every SLO with 95% confidence.**\n"
            );
            if let Some(l) = &r.largest {
                let _ = writeln!(
                    o,
                    "The largest one tried ({}) fails: {}.\n",
                    describe(r, l),
                    l.failures().join("; ")
                );
            }
        }
        Some(rec) => {
            let _ = writeln!(
                o,
                "**Recommended: {}/month.** It is the cheapest architecture found that meets every SLO with 95% confidence across {} replications.\n",
                money(rec.cost, &r.currency),
                r.replications
            );
            let _ = writeln!(
                o,
                "| resource | recommended | in the scenario |\n|---|---|---|"
            );
            for (d, v) in r.dimensions.iter().zip(&rec.values) {
                let _ = writeln!(
                    o,
                    "| {} | **{}** | {} |",
                    d.resource.label(),
                    count_str(*v),
                    count_str(d.given)
                );
            }
            if !rec.slos.is_empty() {
                let _ = writeln!(
                    o,
                    "\n| SLO | target | mean | 95% bound | headroom |\n|---|---|---|---|---|"
                );
                for s in &rec.slos {
                    let _ = writeln!(
                        o,
                        "| {} | {} {} | {} | {} | {} |",
                        cell(&s.name),
                        bound_symbol(s.bound),
                        fmt_value(Some(s.target), &s.unit),
                        fmt_value(s.mean, &s.unit),
                        fmt_value(s.bound95, &s.unit),
                        headroom(s)
                    );
                }
            }
            if let Some(c) = &rec.cost_detail {
                o += &cost::markdown(c);
            }
            if !r.cheaper.is_empty() {
                let _ = writeln!(
                    o,
                    "\n## Why not cheaper\n\n| architecture | per month | fails |\n|---|---|---|"
                );
                for e in &r.cheaper {
                    let _ = writeln!(
                        o,
                        "| {} | {} | {} |",
                        changed(r, rec, e),
                        money(e.cost, &r.currency),
                        cell(&e.failures().join("; "))
                    );
                }
            }
        }
    }
    let _ = writeln!(
        o,
        "\n---\n{} architectures evaluated x {} replications = {} simulations ({:.0} s); every one on the same seeds (master seed {}). All of them are in [candidates.csv](candidates.csv).",
        r.evaluations, r.replications, r.simulations, elapsed_s, r.seed
    );
    o
}

/// `candidates.csv`: every evaluated architecture in evaluation order.
pub fn write_candidates(path: &Path, r: &SizeResult) -> anyhow::Result<()> {
    let mut w =
        csv::Writer::from_path(path).with_context(|| format!("cannot write {}", path.display()))?;
    let mut head = vec!["order".to_string()];
    head.extend(r.dimensions.iter().map(|d| d.resource.name().to_string()));
    head.extend(["monthly_cost", "feasible", "saturated", "fails"].map(String::from));
    w.write_record(head.iter().map(|c| crate::format::csv_bytes(c.as_ref())))?;
    for (i, e) in r.evaluated.iter().enumerate() {
        let mut row = vec![(i + 1).to_string()];
        row.extend(e.values.iter().map(|v| count_str(*v)));
        row.push(if e.cost.is_finite() {
            exact(e.cost)
        } else {
            String::new()
        });
        row.push(e.feasible.to_string());
        row.push(e.saturated.to_string());
        row.push(e.failures().join("; "));
        w.write_record(row.iter().map(|c| crate::format::csv_bytes(c.as_ref())))?;
    }
    w.flush()?;
    Ok(())
}

/// The top of `size.md` for `--growth`: one row per user count, and the plot.
pub fn growth_markdown(points: &[GrowthPoint]) -> String {
    let Some(first) = points.first() else {
        return String::new();
    };
    let dims = &first.result.dimensions;
    let mut o = format!(
        "# Growth: {}\n\nThe cheapest architecture that meets every SLO with 95% confidence, per user count.\n\n| users | per month |",
        first.result.scenario
    );
    for d in dims {
        let _ = write!(o, " {} |", d.resource.label());
    }
    let _ = write!(o, "\n|---|---|");
    for _ in dims {
        o += "---|";
    }
    o.push('\n');
    for p in points {
        let _ = write!(o, "| {} |", p.users);
        match &p.result.recommended {
            Some(e) => {
                let _ = write!(o, " {} |", money(e.cost, &p.result.currency));
                for v in &e.values {
                    let _ = write!(o, " {} |", count_str(*v));
                }
            }
            None => {
                o += " none within the bounds |";
                for _ in dims {
                    o += " |";
                }
            }
        }
        o.push('\n');
    }
    o += "\n![Cost and sizes against users](growth.png)\n\n";
    o
}

/// `growth.csv` and `growth.png` (cost and recommended sizes against users).
pub fn write_growth(dir: &Path, points: &[GrowthPoint]) -> anyhow::Result<Vec<String>> {
    let Some(first) = points.first() else {
        return Ok(vec![]);
    };
    let dims = &first.result.dimensions;
    let path = dir.join("growth.csv");
    let mut w = csv::Writer::from_path(&path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    let mut head = vec![
        "users".to_string(),
        "feasible".into(),
        "monthly_cost".into(),
    ];
    head.extend(dims.iter().map(|d| d.resource.name().to_string()));
    head.extend(["evaluations", "simulations", "fails"].map(String::from));
    w.write_record(head.iter().map(|c| crate::format::csv_bytes(c.as_ref())))?;
    for p in points {
        let r = &p.result;
        let mut row = vec![p.users.to_string()];
        match &r.recommended {
            Some(e) => {
                row.push("true".into());
                row.push(exact(e.cost));
                row.extend(e.values.iter().map(|v| count_str(*v)));
            }
            None => {
                row.push("false".into());
                row.push(String::new());
                row.extend(dims.iter().map(|_| String::new()));
            }
        }
        row.push(r.evaluations.to_string());
        row.push(r.simulations.to_string());
        row.push(
            r.largest
                .as_ref()
                .map(|l| l.failures().join("; "))
                .unwrap_or_default(),
        );
        w.write_record(row.iter().map(|c| crate::format::csv_bytes(c.as_ref())))?;
    }
    w.flush()?;
    let mut files = vec!["growth.csv".to_string()];
    let pt = |x: f64, y: f64| AggPoint {
        bucket_start_s: x,
        value: y,
        ci_low: None,
        ci_high: None,
        n: 1,
    };
    let ok: Vec<(&GrowthPoint, &Evaluation)> = points
        .iter()
        .filter_map(|p| p.result.recommended.as_ref().map(|e| (p, e)))
        .collect();
    if ok.len() >= 2 {
        let fig = &GROWTH_FIGURE;
        let currency = &first.result.currency;
        let line = |spec: &GrowthLine| -> Vec<OverlayLine> {
            match *spec {
                GrowthLine::Cost => vec![OverlayLine {
                    label: "monthly cost".into(),
                    points: ok.iter().map(|(p, e)| pt(p.users as f64, e.cost)).collect(),
                }],
                GrowthLine::Sizes(which) => dims
                    .iter()
                    .enumerate()
                    .filter(|(_, d)| which.contains(d.resource.name()))
                    .map(|(i, d)| OverlayLine {
                        label: d.resource.label().into(),
                        points: ok
                            .iter()
                            .map(|(p, e)| pt(p.users as f64, e.values[i]))
                            .collect(),
                    })
                    .collect(),
            }
        };
        let panels: Vec<OverlayPanel> = fig
            .panels
            .iter()
            .map(|p| OverlayPanel {
                title: p.title.into(),
                quantity: p.quantity.into(),
                unit: match p.lines.first() {
                    Some(GrowthLine::Cost) => format!("{currency}/month"),
                    _ => "1".into(),
                },
                lines: p.lines.iter().flat_map(&line).collect(),
                slo_metric: None,
            })
            .filter(|p| !p.lines.is_empty())
            .collect();
        write_overlay(
            &dir.join(fig.file),
            &fig.title.replace("{scenario}", &first.result.scenario),
            OverlayX::Value(fig.x_axis.expect("growth is drawn against users").into()),
            &[],
            1,
            panels,
            OverlayEvents::default(),
        )?;
        files.push(fig.file.into());
    }
    Ok(files)
}
