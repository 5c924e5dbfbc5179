//! `report.md`: the planning summary of a run, readable on GitHub by someone
//! who has not read the scenario file.
//!
//! The first screen says what a manager needs: the verdict (each SLO with
//! its value and target in one unit: pass, fail or no data), the monthly
//! cost and the cost per user, the architecture and the workload in words,
//! and the events of the run. Then the key results, the plots (linked
//! relatively, so the folder can be moved or committed as is), the cost
//! breakdown, every setting with a human name, and where the run came from.

use super::ReportInput;
use super::catalogue::{KEY_METRICS, metric_words, stat_words};
use super::events::events_of;
use super::plot::Plot;
use super::settings::{all_settings, architecture_words, workload_words};
use super::text::{slo_unit, slo_words};
use crate::format::{
    bound_symbol, clock, fmt_interval, fmt_pair, fmt_value, md_cell as cell, tidy_path,
};
use crate::result::{SloStatus, SummaryMetric};
use std::fmt::Write;

fn ci_str(lo: Option<f64>, hi: Option<f64>, mean: Option<f64>, unit: &str) -> String {
    match fmt_interval(lo, hi, mean, unit, " – ") {
        i if i.is_empty() => "–".into(),
        i => i,
    }
}

fn status_cell(st: SloStatus) -> &'static str {
    match st {
        SloStatus::Pass => "✅ pass",
        SloStatus::Fail => "❌ **fail**",
        SloStatus::NoData => "⚠️ no data",
    }
}

/// The verdict: one sentence and the SLO table.
fn verdict(o: &mut String, input: &ReportInput) {
    let sc = input.scenario;
    let sm = input.summary;
    let (pass, fail, no_data) = sm.slo_counts();
    let n = sm.slo.len();
    let reps = if sm.replications > 1 {
        format!(
            " (means of {} replications; ranges are 95% intervals of the mean)",
            sm.replications
        )
    } else {
        " (one replication: run `--replications 5` for confidence intervals)".into()
    };
    let head = if n == 0 {
        "**No SLOs set** (add `[[slo]]` to the scenario to get a verdict)".to_string()
    } else if fail > 0 {
        format!("**Verdict: fail.** {fail} of {n} SLOs missed")
    } else if no_data > 0 {
        format!("**Verdict: no data.** {pass} of {n} SLOs met, {no_data} without data")
    } else {
        format!("**Verdict: pass.** All {n} SLOs met")
    };
    let _ = writeln!(o, "{head}{reps}.\n");
    if sm.saturated {
        let _ = writeln!(
            o,
            "**Saturated**: a resource was at or over capacity; its queue grows without bound and the figures describe a system that cannot keep up.\n"
        );
    }
    if n > 0 {
        let _ = writeln!(
            o,
            "| SLO | result | target | 95% interval | verdict |\n|---|---|---|---|---|"
        );
        for (def, v) in sc.slos.iter().zip(&sm.slo) {
            let unit = slo_unit(def, &sm.metrics);
            let (value, target) = fmt_pair(v.value, v.target, &unit);
            let m = crate::result::find_for_slo(def, &sm.metrics);
            let _ = writeln!(
                o,
                "| {} | {} | {} {} | {} | {} |",
                cell(&slo_words(def)),
                if v.status == SloStatus::NoData {
                    "no data".into()
                } else {
                    value
                },
                bound_symbol(def.bound),
                target,
                m.map_or("–".into(), |m| ci_str(
                    m.ci_low, m.ci_high, m.value, &unit
                )),
                status_cell(v.status)
            );
        }
        let _ = writeln!(o);
    }
    let notes = input.replications.notes();
    for n in notes {
        let _ = writeln!(o, "- ⚠️ {}", cell(&n));
    }
}

/// The first screen: verdict, cost, architecture, workload, events.
fn first_screen(o: &mut String, input: &ReportInput) {
    let sc = input.scenario;
    verdict(o, input);
    match input.cost {
        Some(Ok(c)) => {
            let _ = writeln!(
                o,
                "\n**Cost: {}** at the list prices of `{}` ({}); breakdown [below](#monthly-cost).",
                super::cost::headline(c),
                cell(&c.price_file),
                c.prices_date
            );
        }
        Some(Err(e)) => {
            let _ = writeln!(o, "\n**Cost**: cannot cost this architecture: {}", cell(e));
        }
        None => {
            let _ = writeln!(
                o,
                "\n**Cost**: not priced (give the scenario `prices = \"...\"` or run with `--prices FILE`)."
            );
        }
    }
    let _ = writeln!(o, "\n**Architecture.** {}", architecture_words(sc));
    let _ = writeln!(o, "\n**Workload.** {}", workload_words(sc));
    let ev = events_of(input.replications.marks());
    let multi_day = (sc.start_time_of_day + sc.duration).as_secs_f64() > 86_400.0;
    let tod0 = sc.start_time_of_day.as_secs_f64();
    if ev.is_empty() {
        let _ = writeln!(o, "\n**Events.** None.");
    } else {
        const SHOWN: usize = 8;
        let mut list: Vec<String> = ev
            .iter()
            .take(SHOWN)
            .map(|e| e.label(tod0, multi_day, input.replications.len()))
            .collect();
        if ev.len() > SHOWN {
            list.push(format!(
                "and {} more (see [Events](#events))",
                ev.len() - SHOWN
            ));
        }
        let _ = writeln!(o, "\n**Events.** {}.", list.join("; "));
    }
    let dur = |t: crate::engine::SimTime| fmt_value(Some(t.as_secs_f64()), "s");
    let _ = writeln!(
        o,
        "\n**Simulated.** {} from {}{}, in {} buckets; {} replication{} on master seed {}.",
        dur(sc.duration),
        clock(sc.start_time_of_day.as_secs_f64(), false),
        if sc.warmup.as_secs_f64() > 0.0 {
            format!(" (the first {} are warm-up, not counted)", dur(sc.warmup))
        } else {
            String::new()
        },
        dur(sc.bucket),
        input.summary.replications,
        if input.summary.replications == 1 {
            ""
        } else {
            "s"
        },
        input.summary.seed
    );
}

/// The Markdown text of `report.md`.
pub fn report(input: &ReportInput, plots: &[Plot]) -> String {
    let sc = input.scenario;
    let sm = input.summary;
    let mut o = String::new();
    let _ = writeln!(o, "# Capacity report: {}\n", sc.name);
    if !sc.description.is_empty() {
        let _ = writeln!(o, "*{}*\n", cell(&sc.description));
    }
    first_screen(&mut o, input);

    // Key results, in words.
    let key: Vec<&SummaryMetric> = KEY_METRICS
        .iter()
        .flat_map(|(name, stats)| {
            stats.iter().flat_map(move |st| {
                sm.metrics
                    .iter()
                    .filter(move |m| m.name == *name && m.stat == *st)
            })
        })
        .filter(|m| m.value.is_some_and(|v| v != 0.0))
        .collect();
    if !key.is_empty() {
        let _ = writeln!(
            o,
            "\n## Key results\n\nStatistics over the run after the warm-up; every one is in `summary.csv`, per-bucket series in `timeseries.csv`. Statistics that are 0 (no dropped connection, say) are left out here.\n\n| what | statistic | mean | 95% interval |\n|---|---|---|---|"
        );
        for m in key {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} |",
                cell(&metric_words(&m.name, &m.labels)),
                stat_words(&m.stat),
                fmt_value(m.value, &m.unit),
                ci_str(m.ci_low, m.ci_high, m.value, &m.unit)
            );
        }
    }

    if !plots.is_empty() {
        let _ = writeln!(
            o,
            "\n## Plots\n\nTime of day on the x axis; lines are {}; red dashed lines are SLO targets; dotted vertical lines are the events above, labelled once across replications. Latency is on a logarithmic axis, so milliseconds and seconds both read. A figure or panel without data is not drawn.\n",
            if sm.replications > 1 {
                "means across replications with their 95% intervals shaded"
            } else {
                "the one replication"
            }
        );
        for p in plots {
            let _ = writeln!(o, "### {}\n\n![{}]({})\n", p.title, p.title, p.file);
        }
    }

    match input.cost {
        Some(Ok(c)) => o += &super::cost::markdown(c),
        Some(Err(e)) => {
            let _ = write!(
                o,
                "\n## Monthly cost\n\nCannot cost this architecture: {}\n",
                cell(e)
            );
        }
        None => {}
    }

    events_table(&mut o, input);

    // Every setting, by section, with a human name.
    let settings = all_settings(sc);
    for section in ["Architecture", "Workload", "Run"] {
        let rows: Vec<_> = settings.iter().filter(|s| s.0 == section).collect();
        if rows.is_empty() {
            continue;
        }
        let title = match section {
            "Run" => "Scheduled events",
            s => s,
        };
        let _ = writeln!(
            o,
            "\n<details><summary>{title}: every setting ({})</summary>\n\n| setting | value |\n|---|---|",
            rows.len()
        );
        for (_, name, value) in rows {
            let _ = writeln!(o, "| {} | {} |", cell(name), cell(value));
        }
        let _ = writeln!(o, "\n</details>");
    }

    // Provenance.
    let path = sc
        .path
        .as_ref()
        .map_or("(in memory)".into(), |p| p.display().to_string());
    let _ = writeln!(
        o,
        "\n## The run\n\n| | |\n|---|---|\n| run | `{}`, started {} |\n| scenario | `{}` (sha256 `{}`) |\n| model | `{}` from `{}` (sha256 `{}`) |\n| capsim | {} |",
        input.run_id,
        input.started_at,
        cell(&path),
        &sm.scenario_sha256[..sm.scenario_sha256.len().min(12)],
        cell(&sc.model.file.model.name),
        cell(&tidy_path(&sc.model.path)),
        &sc.model.sha256[..sc.model.sha256.len().min(12)],
        sm.capsim_version
    );
    let _ = write!(
        o,
        "\nFiles: [summary.csv](summary.csv), [timeseries.csv](timeseries.csv), [summary.json](summary.json)."
    );
    if input.stored {
        let _ = writeln!(o, " Stored run: `capsim runs show {}`.", input.run_id);
    } else {
        let _ = writeln!(o, " Not stored in a run database (`--no-store`).");
    }
    o
}

/// Every event of the run, one row per event across replications.
fn events_table(o: &mut String, input: &ReportInput) {
    let sc = input.scenario;
    let ev = events_of(input.replications.marks());
    if ev.is_empty() {
        return;
    }
    let multi_day = (sc.start_time_of_day + sc.duration).as_secs_f64() > 86_400.0;
    let tod = |t: f64| clock(sc.start_time_of_day.as_secs_f64() + t, multi_day);
    let n = input.replications.len();
    let _ = writeln!(
        o,
        "\n## Events\n\nMarked as dotted lines on the plots.\n\n| event | time of day | replications |\n|---|---|---|"
    );
    for e in ev {
        let when = if tod(e.first_s) == tod(e.last_s) {
            tod(e.first_s)
        } else {
            format!("{} – {}", tod(e.first_s), tod(e.last_s))
        };
        let _ = writeln!(
            o,
            "| {} | {when} | {} of {n} |",
            cell(&e.words),
            e.replications
        );
    }
}
