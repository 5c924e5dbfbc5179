//! `report.md`: a one-page planning summary of a run, readable on GitHub
//! (verdict against the SLOs, architecture, workload, key results and the
//! plots, linked relatively so the folder can be moved or committed as is).

use super::plot::Plot;
use super::text::fmt_value;
use super::{KEY_METRICS, ReportInput, clock};
use crate::result::SummaryMetric;
use crate::scenario::{Arrivals, Bound};
use serde_json::Value;
use std::fmt::Write;

/// Characters that would break a table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn ci_str(lo: Option<f64>, hi: Option<f64>, mean: Option<f64>, unit: &str) -> String {
    match super::text::fmt_interval(lo, hi, mean, unit, " – ") {
        i if i.is_empty() => "–".into(),
        i => i,
    }
}

fn per_hour(a: &Option<Arrivals>) -> String {
    match a {
        None => "–".into(),
        Some(a @ Arrivals::Poisson { .. }) => format!("{:.0}", a.mean_rate() * 3600.0),
        Some(a) => format!(
            "{:.0} (peak {:.0})",
            a.mean_rate() * 3600.0,
            a.max_rate() * 3600.0
        ),
    }
}

fn gb(bytes: f64) -> String {
    format!("{:.0} GB", bytes / 1e9)
}

/// Keys whose integer value is a simulated time in nanoseconds.
fn is_time_key(key: &str) -> bool {
    [
        "interval", "delay", "window", "cooldown", "startup", "duration", "period", "timeout",
        "after", "at", "start", "end",
    ]
    .iter()
    .any(|w| key == *w || key.ends_with(&format!("_{w}")) || key.starts_with(&format!("{w}_")))
}

/// A JSON leaf shown by its key's unit convention (`_bytes`, `_s`, times).
fn leaf(key: &str, v: &Value) -> String {
    match v {
        Value::Null => "–".into(),
        Value::Bool(b) => if *b { "yes" } else { "no" }.into(),
        Value::String(s) => s.clone(),
        Value::Number(n) => {
            let x = n.as_f64().unwrap_or(f64::NAN);
            let time_ns = is_time_key(key) && n.is_u64();
            if key.contains("bytes") && !key.ends_with("_per_s") {
                gb(x)
            } else if key.ends_with("_s") {
                fmt_value(Some(x), "s")
            } else if time_ns {
                fmt_value(Some(x / 1e9), "s")
            } else if key.contains("fraction") || key.contains("share") {
                fmt_value(Some(x), "ratio")
            } else if n.is_u64() || n.is_i64() {
                n.to_string()
            } else {
                fmt_value(Some(x), "1")
            }
        }
        Value::Array(a) => a
            .iter()
            .map(|x| leaf(key, x))
            .collect::<Vec<_>>()
            .join(", "),
        Value::Object(_) => String::new(),
    }
}

/// Flatten a JSON value into `(dotted path, shown value)` rows, skipping the
/// internals of distributions (`inner`).
fn flatten(prefix: &str, v: &Value, out: &mut Vec<(String, String)>) {
    let key = prefix.rsplit(['.', ']']).next().unwrap_or(prefix);
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if k == "inner" {
                    continue;
                }
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&p, x, out);
            }
        }
        Value::Array(a) if a.iter().any(|x| x.is_object() || x.is_array()) => {
            for (i, x) in a.iter().enumerate() {
                flatten(&format!("{prefix}[{i}]"), x, out);
            }
        }
        _ => out.push((prefix.to_string(), leaf(key, v))),
    }
}

/// Other settings of a section (every dotted path not in `shown`), as a
/// collapsed table.
fn other_settings(out: &mut String, title: &str, v: &Value, shown: &[&str]) {
    let mut all = Vec::new();
    flatten("", v, &mut all);
    let rows: Vec<(String, String)> = all
        .into_iter()
        .filter(|(k, _)| {
            !shown.iter().any(|s| {
                k == s || k.starts_with(&format!("{s}.")) || k.starts_with(&format!("{s}["))
            })
        })
        .collect();
    if rows.is_empty() {
        return;
    }
    const MAX_ROWS: usize = 60;
    let _ = writeln!(
        out,
        "\n<details><summary>{title} ({} settings)</summary>\n\n| setting | value |\n|---|---|",
        rows.len()
    );
    for (k, x) in rows.iter().take(MAX_ROWS) {
        let _ = writeln!(out, "| `{}` | {} |", cell(k), cell(x));
    }
    if rows.len() > MAX_ROWS {
        let _ = writeln!(
            out,
            "| … | {} more in the scenario JSON (`capsim runs show`) |",
            rows.len() - MAX_ROWS
        );
    }
    let _ = writeln!(out, "\n</details>");
}

/// The Markdown text of `report.md`.
pub fn report(input: &ReportInput, plots: &[Plot]) -> String {
    let sc = input.scenario;
    let sm = input.summary;
    let mut o = String::new();
    let _ = writeln!(o, "# Capacity report: {}\n", sc.name);
    if !sc.description.is_empty() {
        let _ = writeln!(o, "{}\n", sc.description);
    }
    let dur = |t: crate::engine::SimTime| fmt_value(Some(t.as_secs_f64()), "s");
    let _ = writeln!(o, "| | |\n|---|---|");
    let _ = writeln!(
        o,
        "| run | `{}`, started {} |",
        input.run_id, input.started_at
    );
    let path = sc
        .path
        .as_ref()
        .map_or("(in memory)".into(), |p| p.display().to_string());
    let _ = writeln!(
        o,
        "| scenario | `{}` (sha256 `{}`) |",
        cell(&path),
        &sm.scenario_sha256[..sm.scenario_sha256.len().min(12)]
    );
    let _ = writeln!(
        o,
        "| model | `{}` from `{}` (sha256 `{}`) |",
        cell(&sc.model.file.model.name),
        cell(&super::tidy_path(&sc.model.path)),
        &sc.model.sha256[..sc.model.sha256.len().min(12)]
    );
    let _ = writeln!(
        o,
        "| simulated | {} from {}; the first {} are warm-up and not counted; {} buckets |",
        dur(sc.duration),
        clock(sc.start_time_of_day.as_secs_f64(), false),
        dur(sc.warmup),
        dur(sc.bucket)
    );
    let _ = writeln!(
        o,
        "| replications | {} (master seed {}){} |",
        sm.replications,
        sm.seed,
        if sm.replications > 1 {
            "; ranges are 95% Student-t intervals of the mean across replications"
        } else {
            "; run more (`--replications 5`) for confidence intervals"
        }
    );
    let _ = writeln!(o, "| capsim | {} |", sm.capsim_version);

    // Verdict.
    let _ = writeln!(o, "\n## Verdict\n");
    let failed = sm.slo.iter().filter(|v| !v.pass).count();
    if sm.slo.is_empty() {
        let _ = writeln!(o, "This scenario sets no SLOs (`[[slo]]`).");
    } else if failed == 0 {
        let _ = writeln!(o, "**All {} SLOs pass.**", sm.slo.len());
    } else {
        let _ = writeln!(o, "**{failed} of {} SLOs fail.**", sm.slo.len());
    }
    if sm.saturated {
        let _ = writeln!(
            o,
            "\n**Saturated**: a resource was at or over capacity; its queue grows without bound and the figures describe a system that cannot keep up."
        );
    }
    let mut notes: Vec<&String> = input.runs.iter().flat_map(|r| &r.notes).collect();
    notes.sort();
    notes.dedup();
    if !notes.is_empty() {
        let _ = writeln!(o);
        for n in notes {
            let _ = writeln!(o, "- {}", cell(n));
        }
    }
    if !sm.slo.is_empty() {
        let _ = writeln!(
            o,
            "\n| SLO | target | result | 95% interval | verdict |\n|---|---|---|---|---|"
        );
        for (def, v) in sc.slos.iter().zip(&sm.slo) {
            let m = crate::result::find_for_slo(def, &sm.metrics);
            let unit = m.map_or("", |m| m.unit.as_str());
            let _ = writeln!(
                o,
                "| {} | {} {} | {} | {} | {} |",
                cell(&v.name),
                if def.bound == Bound::AtMost {
                    "≤"
                } else {
                    "≥"
                },
                fmt_value(Some(v.target), unit),
                fmt_value(v.value, unit),
                m.map_or("–".into(), |m| ci_str(m.ci_low, m.ci_high, m.value, unit)),
                if v.pass { "✅ pass" } else { "❌ **fail**" }
            );
        }
    }

    if let Some(cost) = crate::compare::prices::report_section(sc, sm) {
        o += &cost;
    }

    // Architecture.
    let d = &sc.deployment;
    let _ = writeln!(o, "\n## Architecture\n\n| component | size |\n|---|---|");
    let c = &d.coderd;
    let _ = writeln!(
        o,
        "| coderd | {} replica{} × {} vCPU, {} RAM; {} built-in provisioner daemon{} each |",
        c.n_replicas,
        if c.n_replicas == 1 { "" } else { "s" },
        c.vcpu_per_replica,
        gb(c.ram_bytes_per_replica),
        c.builtin_provisioners_per_replica,
        if c.builtin_provisioners_per_replica == 1 {
            ""
        } else {
            "s"
        }
    );
    for g in &d.provisioner_groups {
        let tags = if g.tags.is_empty() {
            "untagged".to_string()
        } else {
            g.tags
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(
            o,
            "| provisioners `{}` | {} external daemons × {} vCPU, {} RAM; {} |",
            cell(&g.name),
            g.n_daemons,
            g.vcpu_per_daemon,
            gb(g.ram_bytes_per_daemon),
            cell(&tags)
        );
    }
    if let Ok(v) = serde_json::to_value(d) {
        other_settings(
            &mut o,
            "Other deployment settings",
            &v,
            &[
                "provisioner_groups",
                "coderd.n_replicas",
                "coderd.vcpu_per_replica",
                "coderd.ram_bytes_per_replica",
                "coderd.builtin_provisioners_per_replica",
            ],
        );
    }

    // Workload.
    let _ = writeln!(o, "\n## Workload\n");
    let w = &sc.workload;
    if !w.templates.is_empty() {
        let _ = writeln!(
            o,
            "| template | builds/h, mean over the day | prebuilds/h | build time, mean | failure probability |\n|---|---|---|---|---|"
        );
        for t in &w.templates {
            let _ = writeln!(
                o,
                "| `{}` | {} | {} | {} | {} |",
                cell(&t.name),
                per_hour(&t.builds),
                per_hour(&t.prebuilds),
                fmt_value(Some(t.build_time_s.mean()), "s"),
                fmt_value(Some(t.failure_probability), "ratio")
            );
        }
    }
    if let Ok(v) = serde_json::to_value(w) {
        other_settings(&mut o, "Other workload settings", &v, &["templates"]);
    }

    // Key results.
    let key: Vec<&SummaryMetric> = KEY_METRICS
        .iter()
        .flat_map(|(name, stats)| {
            stats.iter().flat_map(move |st| {
                sm.metrics
                    .iter()
                    .filter(move |m| m.name == *name && m.stat == *st)
            })
        })
        .collect();
    if !key.is_empty() {
        let _ = writeln!(
            o,
            "\n## Key results\n\nAll statistics are in `summary.csv`, per-bucket series in `timeseries.csv`.\n\n| metric | statistic | mean | 95% interval |\n|---|---|---|---|"
        );
        for m in key {
            let _ = writeln!(
                o,
                "| `{}{}` | {} | {} | {} |",
                m.name,
                cell(&super::text::braced(&m.labels)),
                m.stat,
                fmt_value(m.value, &m.unit),
                ci_str(m.ci_low, m.ci_high, m.value, &m.unit)
            );
        }
    }

    // Plots.
    if !plots.is_empty() {
        let _ = writeln!(
            o,
            "\n## Plots\n\nTime of day on the x axis; {}SLO targets as red dashed lines.\n",
            if sm.replications > 1 {
                "shaded bands are 95% intervals across replications; "
            } else {
                ""
            }
        );
        for p in plots {
            let _ = writeln!(o, "### {}\n\n![{}]({})\n", p.title, p.title, p.file);
        }
    }
    let _ = write!(
        o,
        "---\nFiles: [summary.csv](summary.csv), [timeseries.csv](timeseries.csv), [summary.json](summary.json)."
    );
    if input.stored {
        let _ = writeln!(o, " Stored run: `capsim runs show {}`.", input.run_id);
    } else {
        let _ = writeln!(o, " Not stored in a run database (`--no-store`).");
    }
    o
}
