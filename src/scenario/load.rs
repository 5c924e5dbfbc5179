//! Reading a scenario file and its `extends` chain into one TOML table.
//!
//! Merge rule: the child's tables merge key by key into the base's; any
//! other value (numbers, strings, arrays, arrays of tables) replaces the
//! base's value whole. `abstract` and `name` are never inherited.

use super::source::{Location, SourceMap, line_col, read_input};
use super::{Scenario, ScenarioError, resolve};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// A scenario file merged with its bases, before resolution.
#[derive(Clone, Debug)]
pub struct Merged {
    pub table: toml::Table,
    pub map: SourceMap,
    pub sha256: String,
}

/// Load, merge and resolve a scenario file.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    load_with_overrides(path, &[])
}

/// Load a scenario, then set dotted `overrides` (as `--vary` does) before resolving.
pub fn load_with_overrides(
    path: &Path,
    overrides: &[(String, toml::Value)],
) -> Result<Scenario, ScenarioError> {
    resolve_with_overrides(read_merged(path)?, path, overrides)
}

/// Set dotted `overrides` on a scenario file already read and merged from
/// `path` ([`read_merged`]), then resolve it: for callers that resolve many
/// variants of one file.
pub fn resolve_with_overrides(
    mut merged: Merged,
    path: &Path,
    overrides: &[(String, toml::Value)],
) -> Result<Scenario, ScenarioError> {
    let mut h = Sha256::new();
    h.update(merged.sha256.as_bytes());
    for (k, v) in overrides {
        set_dotted(&mut merged.table, k, v.clone()).map_err(|message| ScenarioError {
            location: Location {
                file: path.to_path_buf(),
                line: 1,
                col: 1,
            },
            field: Some(k.clone()),
            message,
        })?;
        h.update(format!("\0{k}={v}").as_bytes());
    }
    if !overrides.is_empty() {
        merged.sha256 = hex(&h.finalize());
    }
    resolve::resolve(&merged.table, &merged.map, &merged.sha256)
}

fn io_error(path: &Path, e: impl std::fmt::Display) -> ScenarioError {
    ScenarioError {
        location: Location {
            file: path.to_path_buf(),
            line: 1,
            col: 1,
        },
        field: None,
        message: format!("cannot read: {e}"),
    }
}

/// Lower-case hexadecimal of `b` (digests in file hashes and ids).
pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Read `path` and every base it extends, merged.
pub fn read_merged(path: &Path) -> Result<Merged, ScenarioError> {
    let mut chain: Vec<(PathBuf, String, toml::Table)> = Vec::new();
    // Canonical paths read so far: a loop is found in one look-up, so a
    // chain costs time linear in its depth.
    let mut seen: std::collections::BTreeSet<PathBuf> = std::collections::BTreeSet::new();
    // The file to read next, and where the `extends` that names it is.
    let mut next: Option<(PathBuf, Option<Location>)> = Some((path.to_path_buf(), None));
    while let Some((p, from)) = next.take() {
        let extends_err = |message: String| ScenarioError {
            location: from.clone().unwrap_or_else(|| Location {
                file: p.clone(),
                line: 1,
                col: 1,
            }),
            field: Some("extends".into()),
            message,
        };
        let canon = p.canonicalize().unwrap_or_else(|_| p.clone());
        if !seen.insert(canon) {
            let names: Vec<String> = chain
                .iter()
                .map(|(q, _, _)| q.display().to_string())
                .chain([p.display().to_string()])
                .collect();
            return Err(extends_err(format!(
                "extends chain loops: {}",
                names.join(" -> ")
            )));
        }
        let text = match (read_input(&p), &from) {
            (Ok(t), _) => t,
            (Err(e), Some(_)) => {
                return Err(extends_err(format!(
                    "cannot read base scenario {}: {e}",
                    p.display()
                )));
            }
            (Err(e), None) => return Err(io_error(&p, e)),
        };
        let table: toml::Table = toml::from_str(&text).map_err(|e| {
            let (line, col) = e.span().map_or((1, 1), |s| line_col(&text, s.start));
            ScenarioError {
                location: Location {
                    file: p.clone(),
                    line,
                    col,
                },
                field: None,
                message: e.message().trim().to_string(),
            }
        })?;
        if let Some(ext) = table.get("extends") {
            let mut m = SourceMap::new(&p);
            m.index(&p, &text);
            let Some(ext) = ext.as_str() else {
                return Err(ScenarioError {
                    location: m.locate("extends"),
                    field: Some("extends".into()),
                    message: "expected a path string".into(),
                });
            };
            next = Some((
                p.parent().unwrap_or(Path::new(".")).join(ext),
                Some(m.locate("extends")),
            ));
        }
        chain.push((p, text, table));
    }
    // Merge from the most basic file to the child.
    let mut map = SourceMap::new(path);
    let mut table = toml::Table::new();
    let mut h = Sha256::new();
    let n = chain.len();
    for (i, (p, text, mut t)) in chain.into_iter().rev().enumerate() {
        if i + 1 < n {
            t.remove("abstract");
            t.remove("name");
        }
        t.remove("extends");
        map.index(&p, &text);
        h.update(text.as_bytes());
        h.update([0]);
        merge(&mut table, t);
    }
    Ok(Merged {
        table,
        map,
        sha256: hex(&h.finalize()),
    })
}

fn merge(base: &mut toml::Table, over: toml::Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

/// Set `a.b.c = v`, creating tables on the way. Array items are addressed as `name[i]`.
pub fn set_dotted(table: &mut toml::Table, key: &str, v: toml::Value) -> Result<(), String> {
    let parts: Vec<&str> = key.split('.').collect();
    let mut cur = table;
    for (i, part) in parts.iter().enumerate() {
        let (name, index) = match part.split_once('[') {
            Some((n, rest)) => {
                let idx: usize = rest
                    .trim_end_matches(']')
                    .parse()
                    .map_err(|_| format!("bad index in `{part}`"))?;
                (n, Some(idx))
            }
            None => (*part, None),
        };
        let last = i + 1 == parts.len();
        if last && index.is_none() {
            cur.insert(name.to_string(), v);
            return Ok(());
        }
        let entry = cur
            .entry(name.to_string())
            .or_insert_with(|| toml::Value::Table(Default::default()));
        let target = match index {
            Some(idx) => {
                let arr = entry
                    .as_array_mut()
                    .ok_or_else(|| format!("`{name}` is not an array"))?;
                let len = arr.len();
                let item = arr
                    .get_mut(idx)
                    .ok_or_else(|| format!("`{name}` has {len} items, no [{idx}]"))?;
                if last {
                    *item = v;
                    return Ok(());
                }
                item
            }
            None => entry,
        };
        cur = target
            .as_table_mut()
            .ok_or_else(|| format!("`{part}` is not a table"))?;
    }
    Ok(())
}

/// A command-line value as TOML: an integer, a float, a boolean, or else a
/// string (`16GB`, `"09:00"`).
pub fn parse_value(s: &str) -> toml::Value {
    let s = s.trim();
    if let Ok(i) = s.parse::<i64>() {
        return toml::Value::Integer(i);
    }
    if let Ok(f) = s.parse::<f64>()
        && f.is_finite()
    {
        return toml::Value::Float(f);
    }
    match s {
        "true" => toml::Value::Boolean(true),
        "false" => toml::Value::Boolean(false),
        _ => toml::Value::String(s.trim_matches('"').to_string()),
    }
}
