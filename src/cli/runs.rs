//! `capsim runs list|show|export|delete|merge`: the run store from the command line.

use super::{EXIT_BAD_INPUT, ExportFormat, Format, RunsArgs, RunsCommand, ui};
use crate::prom::openmetrics::{self, ExportContext};
use crate::report::{self, csv, text};
use crate::store::{RunInfo, Store, StoreError};
use std::fmt::Write;

pub fn runs(args: &RunsArgs) -> anyhow::Result<i32> {
    match exec(args) {
        Ok(code) => Ok(code),
        Err(e) => match e.downcast_ref::<StoreError>() {
            Some(se) if se.is_bad_input() => {
                ui::error(se);
                Ok(EXIT_BAD_INPUT)
            }
            _ => Err(e),
        },
    }
}

fn exec(args: &RunsArgs) -> anyhow::Result<i32> {
    if let RunsCommand::Merge { stores, into } = &args.command {
        // Every source is a store before the target is made.
        for s in stores {
            Store::open_existing(s)?;
        }
        let mut target = Store::open(into)?;
        let m = target.merge(stores)?;
        ui::info(format!(
            "merged {} store{} into {}: {} run{} added, {} there already",
            stores.len(),
            if stores.len() == 1 { "" } else { "s" },
            into.display(),
            m.added,
            if m.added == 1 { "" } else { "s" },
            m.present
        ));
        return Ok(0);
    }
    let mut store = Store::open_existing(&args.db)?;
    match &args.command {
        RunsCommand::List {
            scenario,
            limit,
            format,
        } => {
            let rows = store.list(scenario.as_deref(), *limit)?;
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&rows)?),
                Format::Table => print!("{}", list_table(&rows)),
            }
        }
        RunsCommand::Show { ids, format } => {
            let ids = ids
                .iter()
                .map(|id| store.resolve_id(id))
                .collect::<Result<Vec<_>, _>>()?;
            let runs = ids
                .iter()
                .map(|id| store.get(id))
                .collect::<Result<Vec<_>, _>>()?;
            match format {
                Format::Json => {
                    let all: Vec<report::RunJson> = runs
                        .iter()
                        .map(|r| report::RunJson {
                            summary: &r.summary,
                            monthly_cost: r.cost.as_ref(),
                        })
                        .collect();
                    println!("{}", serde_json::to_string_pretty(&all)?);
                }
                Format::Table => {
                    for r in &runs {
                        let i = &r.info;
                        println!("run {}  ({})", i.id, i.status);
                        println!("  started   {}", i.started_at);
                        println!("  finished  {}", i.finished_at.as_deref().unwrap_or("-"));
                        println!(
                            "  scenario  {} ({}), sha256 {}",
                            i.scenario,
                            i.scenario_path.as_deref().unwrap_or("-"),
                            i.scenario_sha256
                        );
                        println!(
                            "  model     {}, sha256 {}",
                            i.model_path.as_deref().unwrap_or("-"),
                            i.model_sha256
                        );
                        println!("  capsim    {}\n", i.capsim_version);
                        let cost = r.cost.clone().map(Ok);
                        let t = text::RunText {
                            summary: &r.summary,
                            slos: &r.slos,
                            notes: &r.notes,
                            cost: cost.as_ref(),
                        };
                        ui::out(&text::run_text(&t, true));
                    }
                }
            }
        }
        RunsCommand::Export {
            ids,
            csv: dir,
            format,
            start,
            out,
        } => {
            let ids = ids
                .iter()
                .map(|id| store.resolve_id(id))
                .collect::<Result<Vec<_>, _>>()?;
            match (format, dir, start) {
                (ExportFormat::Csv, Some(dir), _) => {
                    for id in &ids {
                        let run = store.get(id)?;
                        let ts = store.series(id, run.bucket_s())?;
                        let out = dir.join(id);
                        std::fs::create_dir_all(&out)?;
                        let cols = csv::RunColumns {
                            run_id: id,
                            scenario: &run.summary.scenario,
                            seed: run.summary.seed,
                            replications: run.summary.replications,
                            start_time_of_day_s: run.start_time_of_day_s(),
                        };
                        csv::write_pair(
                            &out,
                            &cols,
                            &run.summary,
                            &run.slos,
                            run.cost.as_ref(),
                            &ts,
                        )?;
                        ui::info(format!("exported {id} to {}", out.display()));
                    }
                }
                (ExportFormat::Csv, None, _) => {
                    ui::error("runs export: --csv DIR is required (or --format openmetrics)");
                    return Ok(EXIT_BAD_INPUT);
                }
                (ExportFormat::Openmetrics, _, None) => {
                    ui::error(
                        "runs export --format openmetrics: --start DATE is required (the date of t = 0, e.g. 2025-03-10)",
                    );
                    return Ok(EXIT_BAD_INPUT);
                }
                (ExportFormat::Openmetrics, _, Some(start)) => {
                    let mut all = Vec::new();
                    for id in &ids {
                        let run = store.get(id)?;
                        let ctx = match ExportContext::for_stored(id, &run.scenario_json, *start) {
                            Ok(c) => c,
                            Err(e) => anyhow::bail!(e),
                        };
                        if let Some(note) = weekday_note(&run.scenario_json, start) {
                            ui::note(format!("run {id}: {note}"));
                        }
                        let ts = store.series(id, run.bucket_s())?;
                        all.push(openmetrics::families(&ts, &ctx));
                    }
                    let text = openmetrics::render(&openmetrics::merge(all));
                    match out {
                        Some(path) => {
                            std::fs::write(path, text)?;
                            ui::info(format!("exported {} to {}", ids.join(" "), path.display()));
                        }
                        None => print!("{text}"),
                    }
                }
            }
        }
        RunsCommand::Delete { ids } => {
            let n = store.delete(ids)?;
            ui::info(format!(
                "deleted {n} run{} from {}",
                if n == 1 { "" } else { "s" },
                store.path().display()
            ));
        }
        RunsCommand::Merge { .. } => {} // done above, before the store is opened
    }
    Ok(0)
}

/// The weekday note for a stored scenario (see [`super::run::weekday_note`]).
fn weekday_note(scenario_json: &str, start: &openmetrics::Start) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(scenario_json).ok()?;
    let day = v.pointer("/workload/users/start_weekday")?.as_u64()? as u32;
    let tod = v.get("start_time_of_day")?.as_f64()? / 1e9;
    super::run::weekday_note(*start, tod, day)
}

fn list_table(rows: &[RunInfo]) -> String {
    let mut t: Vec<[String; 7]> = vec![[
        "ID".into(),
        "STARTED (UTC)".into(),
        "SCENARIO".into(),
        "REPS".into(),
        "SEED".into(),
        "SLO PASS".into(),
        "STATUS".into(),
    ]];
    for r in rows {
        t.push([
            r.id.clone(),
            r.started_at
                .chars()
                .take(19)
                .collect::<String>()
                .replace('T', " "),
            r.scenario.clone(),
            r.replications.to_string(),
            r.seed.clone(),
            format!("{}/{}", r.slo_passed, r.slo_total),
            if r.saturated {
                format!("{} (saturated)", r.status)
            } else {
                r.status.clone()
            },
        ]);
    }
    let mut w = [0usize; 7];
    for row in &t {
        for (i, c) in row.iter().enumerate() {
            w[i] = w[i].max(c.chars().count());
        }
    }
    let mut out = String::new();
    for row in &t {
        let mut line = String::new();
        for (i, c) in row.iter().enumerate() {
            let _ = write!(line, "{c:<width$}  ", width = w[i]);
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
    if rows.is_empty() {
        out.push_str("(no runs)\n");
    }
    out
}
