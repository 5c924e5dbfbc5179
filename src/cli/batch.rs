//! `capsim batch`: every scenario of folders and files, all cores, one
//! progress bar, one line per finished scenario, then `batch-summary.csv`.

use super::run::{REPORTS_ROOT, path_str, run_all};
use super::{BatchArgs, EXIT_BAD_INPUT, EXIT_FAILURE, ui};
use crate::report::csv::{BatchRow, write_batch_summary};
use crate::scenario::{self, Scenario};
use anyhow::Context;
use std::path::{Path, PathBuf};

/// Every `*.toml` under `paths` (folders searched recursively), sorted and
/// without repeats. A file named directly is taken whatever its extension.
pub fn discover(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
        let entries = std::fs::read_dir(dir)
            .with_context(|| format!("cannot read folder {}", dir.display()))?;
        for e in entries {
            let p = e?.path();
            if p.is_dir() {
                walk(&p, out)?;
            } else if p.extension().is_some_and(|x| x == "toml") {
                out.push(p);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            walk(p, &mut out)?;
        } else if p.exists() {
            out.push(p.clone());
        } else {
            anyhow::bail!("no such file or folder: {}", p.display());
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

enum Entry {
    Run(usize),
    Invalid(String),
}

pub fn batch(args: &BatchArgs) -> anyhow::Result<i32> {
    let exec = &args.exec;
    let files = match discover(&args.paths) {
        Ok(f) => f,
        Err(e) => {
            ui::error(format!("{e:#}"));
            return Ok(EXIT_BAD_INPUT);
        }
    };
    let mut scenarios: Vec<Scenario> = Vec::new();
    let mut entries: Vec<(PathBuf, Entry)> = Vec::new();
    let mut skipped = 0;
    for f in files {
        match scenario::load(&f) {
            Ok(s) if s.is_abstract => skipped += 1,
            Ok(s) => {
                entries.push((f, Entry::Run(scenarios.len())));
                scenarios.push(s);
            }
            Err(e) => {
                ui::error(format!("invalid: {e}"));
                entries.push((f, Entry::Invalid(e.to_string())));
            }
        }
    }
    let n_invalid = entries.len() - scenarios.len();
    ui::info(format!(
        "batch: {} scenarios to run x {} replications{}{}",
        scenarios.len(),
        exec.replications,
        if skipped > 0 {
            format!(", {skipped} abstract base(s) skipped")
        } else {
            String::new()
        },
        if n_invalid > 0 {
            format!(", {n_invalid} invalid")
        } else {
            String::new()
        }
    ));
    if entries.is_empty() {
        ui::error("no scenario files (*.toml) found");
        return Ok(EXIT_BAD_INPUT);
    }
    let done = match run_all(exec, scenarios, Vec::new(), "batch", "batch")? {
        Ok(done) => done,
        // A shard stored its share: no summary yet (`--from` makes it).
        Err(0) if n_invalid > 0 => return Ok(EXIT_BAD_INPUT),
        Err(code) => return Ok(code),
    };
    let rows: Vec<BatchRow> = entries
        .iter()
        .map(|(f, e)| match e {
            Entry::Run(i) => {
                let d = &done[*i];
                BatchRow {
                    file: path_str(Some(f)),
                    scenario: d.summary.scenario.clone(),
                    status: if d.error.is_some() { "error" } else { "ok" }.into(),
                    error: d.error.clone().unwrap_or_default(),
                    summary: Some(d.summary.clone()),
                }
            }
            Entry::Invalid(msg) => BatchRow {
                file: path_str(Some(f)),
                status: "invalid".into(),
                error: msg.clone(),
                ..Default::default()
            },
        })
        .collect();
    let out_dir = exec
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(REPORTS_ROOT));
    std::fs::create_dir_all(&out_dir)
        .with_context(|| format!("cannot create {}", out_dir.display()))?;
    let summary_path = out_dir.join("batch-summary.csv");
    let file = std::fs::File::create(&summary_path)
        .with_context(|| format!("cannot write {}", summary_path.display()))?;
    write_batch_summary(std::io::BufWriter::new(file), &rows)?;
    let n_err = done.iter().filter(|d| d.error.is_some()).count();
    ui::info(format!(
        "batch: {} ok, {n_invalid} invalid, {n_err} failed; summary {}",
        done.len() - n_err,
        summary_path.display()
    ));
    Ok(if n_invalid > 0 {
        EXIT_BAD_INPUT
    } else if n_err > 0 {
        EXIT_FAILURE
    } else {
        0
    })
}
