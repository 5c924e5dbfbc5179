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
                    let mut all = Vec::new();
                    for r in &runs {
                        let mut v = serde_json::to_value(report::RunJson {
                            summary: &r.summary,
                            monthly_cost: r.cost.as_ref(),
                        })?;
                        if let Some(o) = v.as_object_mut() {
                            for (k, x) in extra_json(&store, &r.info)? {
                                o.insert(k.into(), x);
                            }
                        }
                        all.push(v);
                    }
                    println!("{}", serde_json::to_string_pretty(&all)?);
                }
                Format::Table => {
                    for r in &runs {
                        let i = &r.info;
                        println!("run {}  ({})", i.id, i.status);
                        match i.kind.as_str() {
                            "run" => {}
                            "size" => println!("  kind      size search"),
                            k => println!("  kind      {k} study"),
                        }
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
                        println!("  capsim    {}", i.capsim_version);
                        if let (Some(sweep), Some(shard)) = (&i.sweep, &i.shard) {
                            println!("  shard     {shard} of sweep {sweep}");
                        }
                        println!();
                        if i.kind != "run" {
                            ui::out(&study_text(&store, i)?);
                        } else if i.status == "shard" {
                            ui::out(&shard_text(&store, i)?);
                        } else {
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

/// What the shard of a `run` or `batch` sweep holds, and where its summary
/// comes from.
fn shard_text(store: &Store, i: &RunInfo) -> anyhow::Result<String> {
    let reps = store.shard_replications(&i.id)?;
    Ok(format!(
        "This is shard {} of a sweep: it holds replication{} {} of scenario {} ({} here, seed {}), \
         each with its full result, and no summary of its own. The summary, SLO verdicts and \
         report come after `capsim runs merge` of every shard's store and the same command \
         (without --shard) with --from MERGED.db.\n",
        i.shard.as_deref().unwrap_or("?"),
        if reps.len() == 1 { "" } else { "s" },
        super::sweep::ranges(reps.iter().copied()),
        i.scenario,
        reps.len(),
        i.seed
    ))
}

/// A study: its factors, its simulations and its answer (or, for a shard,
/// what it holds and where the answer comes from).
fn study_text(store: &Store, i: &RunInfo) -> anyhow::Result<String> {
    if i.kind == "size" {
        let (tasks, sims) = store.size_shard_counts(&i.id)?;
        return Ok(format!(
            "{tasks} candidate{} evaluated, {sims} simulation{} stored ({} replication{} each, seed {}).\n\
             This is shard {} of a `capsim size` search: its simulations only, no recommendation of its \
             own. The recommendation comes after `capsim runs merge` of every shard's store and the same \
             `capsim size` command (without --shard) with --from MERGED.db.\n",
            if tasks == 1 { "" } else { "s" },
            if sims == 1 { "" } else { "s" },
            i.replications,
            if i.replications == 1 { "" } else { "s" },
            i.seed,
            i.shard.as_deref().unwrap_or("?")
        ));
    }
    let Some(st) = store.study(&i.id)? else {
        return Ok(format!("(no study stored for run {})\n", i.id));
    };
    let mut out = String::new();
    let command = if st.kind == "sensitivity" {
        "capsim sensitivity"
    } else {
        "capsim run --uncertainty N"
    };
    let _ = writeln!(
        out,
        "{} factor{} varied; {} simulation{} stored ({} variant{} x up to {} replication{}, seed {}){}",
        st.factors.len(),
        if st.factors.len() == 1 { "" } else { "s" },
        st.tasks,
        if st.tasks == 1 { "" } else { "s" },
        st.variants,
        if st.variants == 1 { "" } else { "s" },
        i.replications,
        if i.replications == 1 { "" } else { "s" },
        i.seed,
        st.of_run
            .as_ref()
            .map_or(String::new(), |r| format!("; widens run {r}"))
    );
    for f in &st.factors {
        let unit = if f.unit.is_empty() || f.unit == "1" {
            String::new()
        } else {
            format!(" {}", f.unit)
        };
        let _ = writeln!(
            out,
            "  {:<44} {}..{}{unit} ({})",
            f.name, f.lo, f.hi, f.source
        );
    }
    out.push('\n');
    match &st.answer {
        Some(a) => out.push_str(a),
        None => {
            let _ = writeln!(
                out,
                "This is shard {} of the study: its simulations only, no answer of its own. The answer \
                 comes after `capsim runs merge` of every shard's store and the same `{command}` \
                 command (without --shard) with --from MERGED.db.",
                i.shard.as_deref().unwrap_or("?")
            );
        }
    }
    if !out.ends_with('\n') {
        out.push('\n');
    }
    Ok(out)
}

/// What `runs show --format json` adds to a run that is not a plain,
/// complete run: its kind, its shard, its study.
fn extra_json(
    store: &Store,
    i: &RunInfo,
) -> anyhow::Result<Vec<(&'static str, serde_json::Value)>> {
    use serde_json::json;
    let mut out = Vec::new();
    if i.kind != "run" {
        out.push(("kind", json!(i.kind)));
    }
    if let (Some(sweep), Some(shard)) = (&i.sweep, &i.shard) {
        let mut v = json!({"sweep": sweep, "shard": shard});
        if i.kind == "run" {
            v["replications"] = json!(store.shard_replications(&i.id)?);
        }
        out.push(("shard", v));
    }
    if let Some(st) = store.study(&i.id)? {
        let plan: serde_json::Value = serde_json::from_str(&st.plan_json)?;
        let factors: Vec<serde_json::Value> = st
            .factors
            .iter()
            .map(|f| {
                json!({"name": f.name, "unit": f.unit, "source": f.source, "value": f.value,
                       "low": f.lo, "high": f.hi, "reason": f.reason})
            })
            .collect();
        out.push((
            "study",
            json!({"of_run": st.of_run, "plan": plan, "factors": factors,
                   "simulations": st.tasks, "answer": st.answer, "table_csv": st.table_csv}),
        ));
    }
    Ok(out)
}

/// The weekday note for a stored scenario (see [`super::run::weekday_note`]).
fn weekday_note(scenario_json: &str, start: &openmetrics::Start) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(scenario_json).ok()?;
    let day = v.pointer("/workload/users/start_weekday")?.as_u64()? as u32;
    let tod = v.get("start_time_of_day")?.as_f64()? / 1e9;
    super::run::weekday_note(*start, tod, day)
}

fn list_table(rows: &[RunInfo]) -> String {
    let mut t: Vec<[String; 8]> = vec![[
        "ID".into(),
        "STARTED (UTC)".into(),
        "SCENARIO".into(),
        "KIND".into(),
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
            r.kind.clone(),
            r.replications.to_string(),
            r.seed.clone(),
            if r.kind == "run" && r.status != "shard" {
                format!("{}/{}", r.slo_passed, r.slo_total)
            } else {
                "-".into()
            },
            if r.saturated {
                format!("{} (saturated)", r.status)
            } else {
                r.status.clone()
            },
        ]);
    }
    let mut w = [0usize; 8];
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
