//! `report.md`: a one-page planning summary of a run, readable on GitHub
//! (verdict against the SLOs, architecture, workload, key results and the
//! plots, linked relatively so the folder can be moved or committed as is).

use super::ReportInput;
use super::catalogue::KEY_METRICS;
use super::plot::Plot;
use crate::format::{
    bound_symbol, braced, clock, fmt_interval, fmt_value, label_list, md_cell as cell, size,
    tidy_path, trim_number,
};
use crate::result::SummaryMetric;
use crate::scenario::Arrivals;
use serde_json::Value;
use std::fmt::Write;

fn ci_str(lo: Option<f64>, hi: Option<f64>, mean: Option<f64>, unit: &str) -> String {
    match fmt_interval(lo, hi, mean, unit, " – ") {
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
            if key.contains("bytes") && key.ends_with("_per_s") {
                format!("{}/s", size(x))
            } else if key.contains("bytes") {
                size(x)
            } else if key.ends_with("_per_s") {
                format!("{}/s", trim_number(x))
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
        Value::Array(a) if a.is_empty() => "none".into(),
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
    // The unit of a distribution's parameters (`gap_s.exponential.mean`) is
    // the one its setting names: the nearest key with a unit suffix.
    let keys: Vec<&str> = prefix
        .split(['.', '[', ']'])
        .filter(|k| !k.is_empty() && k.parse::<usize>().is_err())
        .collect();
    let last = keys.last().copied().unwrap_or(prefix);
    let key = keys
        .iter()
        .rev()
        .find(|k| k.ends_with("_s") || k.contains("bytes"))
        .filter(|_| !(last.ends_with("_s") || last.contains("bytes") || is_time_key(last)))
        .copied()
        .unwrap_or(last);
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
        cell(&tidy_path(&sc.model.path)),
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
    let notes = crate::result::distinct_notes(input.runs.iter().flat_map(|r| &r.notes));
    if !notes.is_empty() {
        let _ = writeln!(o);
        for n in notes {
            let _ = writeln!(o, "- {}", cell(&n));
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
                bound_symbol(def.bound),
                fmt_value(Some(v.target), unit),
                fmt_value(v.value, unit),
                m.map_or("–".into(), |m| ci_str(m.ci_low, m.ci_high, m.value, unit)),
                if v.pass { "✅ pass" } else { "❌ **fail**" }
            );
        }
    }

    match input.cost {
        Some(Ok(c)) => o += &super::cost::markdown(c),
        Some(Err(e)) => {
            let _ = write!(
                o,
                "\n## Monthly cost\n\nCannot cost this architecture: {e}\n"
            );
        }
        None => {}
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
        size(c.ram_bytes_per_replica),
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
            label_list(&g.tags, ", ")
        };
        let _ = writeln!(
            o,
            "| provisioners `{}` | {} external daemons × {} vCPU, {} RAM; {} |",
            cell(&g.name),
            g.n_daemons,
            g.vcpu_per_daemon,
            size(g.ram_bytes_per_daemon),
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
            // Without a build rate of its own, a template is built when its
            // users start and stop their workspaces.
            let builds = match (&t.builds, &w.users) {
                (None, Some(_)) if t.user_share > 0.0 => format!(
                    "by users' starts and stops ({} of users)",
                    fmt_value(Some(t.user_share), "ratio")
                ),
                (b, _) => per_hour(b),
            };
            let _ = writeln!(
                o,
                "| `{}` | {} | {} | {} | {} |",
                cell(&t.name),
                builds,
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
                cell(&braced(&m.labels)),
                m.stat,
                fmt_value(m.value, &m.unit),
                ci_str(m.ci_low, m.ci_high, m.value, &m.unit)
            );
        }
    }

    events(&mut o, input);

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

/// The events of the run (replica losses, scale events, outages) as a
/// table: one row per distinct event, with how many replications saw it and
/// when (the first and last time across them).
fn events(o: &mut String, input: &ReportInput) {
    let sc = input.scenario;
    let multi_day = (sc.start_time_of_day + sc.duration).as_secs_f64() > 86_400.0;
    // (label, kind) -> (replications that saw it, first t_s, last t_s); in
    // order of first occurrence.
    let mut rows: Vec<(&str, &str, usize, f64, f64)> = Vec::new();
    for run in input.runs {
        let mut seen: Vec<(&str, &str)> = Vec::new();
        for m in &run.marks {
            let key = (m.label.as_str(), m.kind.as_str());
            let first_here = !seen.contains(&key);
            if first_here {
                seen.push(key);
            }
            match rows.iter_mut().find(|r| (r.0, r.1) == key) {
                Some(r) => {
                    r.2 += usize::from(first_here);
                    r.3 = r.3.min(m.t_s);
                    r.4 = r.4.max(m.t_s);
                }
                None => rows.push((key.0, key.1, 1, m.t_s, m.t_s)),
            }
        }
    }
    if rows.is_empty() {
        return;
    }
    rows.sort_by(|a, b| a.3.total_cmp(&b.3).then_with(|| a.0.cmp(b.0)));
    let tod = |t: f64| clock(sc.start_time_of_day.as_secs_f64() + t, multi_day);
    let n = input.runs.len();
    let _ = writeln!(
        o,
        "\n## Events\n\nMarked as dotted lines on the plots.\n\n| event | kind | time of day | replications |\n|---|---|---|---|"
    );
    for (label, kind, count, first, last) in rows {
        let when = if tod(first) == tod(last) {
            tod(first)
        } else {
            format!("{} – {}", tod(first), tod(last))
        };
        let _ = writeln!(
            o,
            "| {} | {} | {when} | {count} of {n} |",
            cell(label),
            cell(kind)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn settings_are_shown_in_the_unit_their_key_names() {
        assert_eq!(leaf("bytes_per_s", &json!(33.3)), "33.3 B/s");
        assert_eq!(leaf("bytes_per_s", &json!(2500.0)), "2.5 kB/s");
        assert_eq!(leaf("item_bytes", &json!(600)), "600 B");
        assert_eq!(leaf("ram_bytes", &json!(16_000_000_000u64)), "16 GB");
        assert_eq!(leaf("rate_per_s", &json!(0.25)), "0.25/s");
        assert_eq!(leaf("proxies", &json!([])), "none");
        assert_eq!(leaf("mean_s", &json!(90.0)), fmt_value(Some(90.0), "s"));
        assert_eq!(
            leaf("interval", &json!(10_000_000_000u64)),
            fmt_value(Some(10.0), "s")
        );
    }

    #[test]
    fn distribution_parameters_take_the_unit_of_their_setting() {
        let v = json!({"gap_s": {"exponential": {"mean": 300.0}}, "per_user": 0.5,
                       "groups": [{"day_start_s": {"trunc_normal": {"mean": 32400.0}}}]});
        let mut rows = Vec::new();
        flatten("", &v, &mut rows);
        let get = |k: &str| rows.iter().find(|(p, _)| p == k).unwrap().1.clone();
        assert_eq!(get("gap_s.exponential.mean"), fmt_value(Some(300.0), "s"));
        assert_eq!(
            get("groups[0].day_start_s.trunc_normal.mean"),
            fmt_value(Some(32400.0), "s")
        );
        assert_eq!(get("per_user"), "0.5000");
    }
}
