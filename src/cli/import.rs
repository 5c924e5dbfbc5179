//! `capsim import prometheus DIR --out SCENARIO.toml [--targets TARGETS.csv]`:
//! read the saved answers of the documented queries, write a scenario (and
//! targets), check that the scenario validates.

use super::{EXIT_BAD_INPUT, EXIT_FAILURE, ui};
use crate::prom::import::{ImportOptions, import as import_answers};
use crate::prom::mapping::QUERIES;
use crate::prom::response::{self, Matrix};
use anyhow::Context;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug, Clone)]
pub struct ImportArgs {
    #[command(subcommand)]
    pub source: ImportSource,
}

#[derive(clap::Subcommand, Debug, Clone)]
pub enum ImportSource {
    /// From Prometheus's answers to the documented queries (README, "Importing from Prometheus").
    Prometheus(PrometheusArgs),
}

#[derive(clap::Args, Debug, Clone)]
pub struct PrometheusArgs {
    /// Folder holding one `/api/v1/query_range` answer per query, `<query name>.json`.
    pub dir: PathBuf,
    /// The scenario file to write.
    #[arg(long, value_name = "SCENARIO.toml")]
    pub out: PathBuf,
    /// Also write calibration targets (for `capsim calibrate`).
    #[arg(long, value_name = "TARGETS.csv")]
    pub targets: Option<PathBuf>,
    /// The model file the scenario names (written relative to the scenario).
    #[arg(long, value_name = "MODEL.toml", default_value = "models/coder.toml")]
    pub model: PathBuf,
    /// The scenario's name [default: the file stem of --out].
    #[arg(long)]
    pub name: Option<String>,
    /// Local time minus UTC (`+2h`, `-6h`, `5.5h`): times of day and weekdays are local.
    #[arg(
        long,
        value_name = "OFFSET",
        default_value = "0",
        allow_hyphen_values = true
    )]
    pub utc_offset: String,
}

pub fn import(args: &ImportArgs) -> anyhow::Result<i32> {
    match &args.source {
        ImportSource::Prometheus(a) => prometheus(a),
    }
}

/// `to` relative to the folder of `from_file` (absolute when there is no such path).
fn relative(to: &Path, from_file: &Path) -> String {
    let abs = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let base = abs(from_file)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    pathdiff::diff_paths(abs(to), base)
        .unwrap_or_else(|| abs(to))
        .to_string_lossy()
        .replace('\\', "/")
}

fn prometheus(a: &PrometheusArgs) -> anyhow::Result<i32> {
    let offset = crate::scenario::units::parse_duration_s(&crate::scenario::units::Quantity::Text(
        a.utc_offset.trim_start_matches('+').into(),
    ));
    let utc_offset_s = match offset {
        Ok(s) if s.abs() <= 14.0 * 3600.0 => s,
        Ok(_) => {
            ui::error(format!(
                "--utc-offset: expected an offset within 14 hours of UTC, found {:?}",
                a.utc_offset
            ));
            return Ok(EXIT_BAD_INPUT);
        }
        Err(e) => {
            ui::error(format!("--utc-offset: {e}"));
            return Ok(EXIT_BAD_INPUT);
        }
    };
    if !a.model.is_file() {
        ui::error(format!(
            "--model: no model file at {} (give the path of models/coder.toml)",
            a.model.display()
        ));
        return Ok(EXIT_BAD_INPUT);
    }
    if !a.dir.is_dir() {
        ui::error(format!("{}: no such folder", a.dir.display()));
        return Ok(EXIT_BAD_INPUT);
    }
    let mut answers: BTreeMap<String, Matrix> = BTreeMap::new();
    let mut bad = false;
    for q in &QUERIES {
        let path = a.dir.join(format!("{}.json", q.name));
        if !path.exists() {
            continue;
        }
        // The same reader as scenario files: a regular file within the size cap.
        let text = match crate::scenario::source::read_input(&path) {
            Ok(t) => t,
            Err(e) => {
                ui::error(format!("{}: {e}", path.display()));
                bad = true;
                continue;
            }
        };
        match response::parse(&path.display().to_string(), &text) {
            Ok(m) => {
                answers.insert(q.name.to_string(), m);
            }
            Err(e) => {
                ui::error(format!("{e}"));
                bad = true;
            }
        }
    }
    if bad {
        return Ok(EXIT_BAD_INPUT);
    }
    let mut others: Vec<String> = std::fs::read_dir(&a.dir)
        .with_context(|| format!("cannot read folder {}", a.dir.display()))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| {
            n.ends_with(".json") && !QUERIES.iter().any(|q| format!("{}.json", q.name) == *n)
        })
        .collect();
    others.sort();
    for n in others {
        ui::warning(format!(
            "{}: not one of the documented queries; ignored",
            a.dir.join(n).display()
        ));
    }
    let targets_path = a.targets.clone();
    let opts = ImportOptions {
        name: a.name.clone().unwrap_or_else(|| {
            a.out
                .file_stem()
                .map_or("imported".into(), |s| s.to_string_lossy().into_owned())
        }),
        model: relative(&a.model, &a.out),
        scenario_ref: targets_path
            .as_deref()
            .map_or_else(|| a.out.display().to_string(), |t| relative(&a.out, t)),
        utc_offset_s,
        source: crate::format::tidy_path(&a.dir),
    };
    let imported = match import_answers(&answers, &opts) {
        Ok(i) => i,
        Err(e) => {
            for line in e.to_string().lines() {
                ui::error(relative_line(line, &a.dir));
            }
            return Ok(EXIT_BAD_INPUT);
        }
    };
    for w in &imported.warnings {
        ui::warning(format!("{w}"));
    }
    write(&a.out, &imported.scenario_toml)?;
    if let Some(t) = &targets_path {
        write(t, &imported.targets_csv)?;
    }
    // The import writes only what `capsim validate` accepts; anything else is a bug here.
    match crate::scenario::load(&a.out) {
        Ok(s) => {
            ui::info(format!("wrote {} ({})", a.out.display(), s.description));
            if let Some(t) = &targets_path {
                ui::info(format!(
                    "wrote {} (targets for capsim calibrate)",
                    t.display()
                ));
            }
            Ok(0)
        }
        Err(e) => {
            ui::error(format!(
                "the imported scenario does not validate (a bug in capsim import): {e}"
            ));
            Ok(EXIT_FAILURE)
        }
    }
}

/// An import error names `<query>.json`: say where it is.
fn relative_line(line: &str, dir: &Path) -> String {
    if line.split(':').next().is_some_and(|f| f.ends_with(".json")) {
        format!("{}", dir.join(line).display())
    } else {
        line.to_string()
    }
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    if let Some(d) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}
