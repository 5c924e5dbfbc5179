//! Where each field of a scenario came from: file, line and column, for
//! error messages that point at the text a user must change.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use toml::de::{DeTable, DeValue};

/// A position in a source file (1-based line and column).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    pub file: PathBuf,
    pub line: usize,
    pub col: usize,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.col)
    }
}

/// The largest input file capsim reads (scenario, model, price and targets
/// files, Prometheus answer files), bytes. The largest shipped input is a few tens of kilobytes; a
/// file past this is a mistake (a log, a device, a data dump), refused before
/// it is read.
pub const MAX_INPUT_BYTES: u64 = 16 * 1024 * 1024;

/// Read an input file as text: a regular file (or a link to one) of at most
/// [`MAX_INPUT_BYTES`]. A device, a FIFO or a folder is refused before any
/// byte is read, so `extends = "/dev/zero"` cannot read forever.
pub fn read_input(path: &Path) -> Result<String, String> {
    use std::io::Read;
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if !meta.is_file() {
        let what = if meta.is_dir() {
            "a folder"
        } else {
            "not a regular file (a device, a pipe or a socket)"
        };
        return Err(format!("expected a regular file, found {what}"));
    }
    if meta.len() > MAX_INPUT_BYTES {
        return Err(format!(
            "expected a file of at most {} MiB, found {:.1} MiB",
            MAX_INPUT_BYTES / (1024 * 1024),
            meta.len() as f64 / (1024.0 * 1024.0)
        ));
    }
    let f = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut text = String::new();
    // A file that grows while it is read stops at the cap all the same.
    f.take(MAX_INPUT_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| e.to_string())?;
    if text.len() as u64 > MAX_INPUT_BYTES {
        return Err(format!(
            "expected a file of at most {} MiB, found a larger one",
            MAX_INPUT_BYTES / (1024 * 1024)
        ));
    }
    Ok(text)
}

/// Parse `text` (the file at `path`) as a TOML table; a syntax error is
/// located at its line and column.
pub fn parse_table(path: &Path, text: &str) -> Result<toml::Table, crate::scenario::ScenarioError> {
    toml::from_str(text).map_err(|e| {
        let (line, col) = e.span().map_or((1, 1), |s| line_col(text, s.start));
        crate::scenario::ScenarioError {
            location: Location {
                file: path.to_path_buf(),
                line,
                col,
            },
            field: None,
            message: e.message().trim().to_string(),
        }
    })
}

/// Line and column (1-based) of byte offset `at` in `text`.
pub fn line_col(text: &str, at: usize) -> (usize, usize) {
    let at = at.min(text.len());
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let col = before.rfind('\n').map_or(at, |nl| at - nl - 1) + 1;
    (line, col)
}

/// Field path (`deployment.provisioners.count`, `workload.templates[0].name`)
/// to the location of its key in the file that last set it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SourceMap {
    spans: BTreeMap<String, Location>,
    /// The file of the scenario itself (the child of any `extends` chain).
    pub root: PathBuf,
}

impl SourceMap {
    pub fn new(root: &Path) -> Self {
        SourceMap {
            spans: BTreeMap::new(),
            root: root.to_path_buf(),
        }
    }

    /// Index every key of `text` (already known to parse).
    pub fn index(&mut self, file: &Path, text: &str) {
        if let Ok(doc) = DeTable::parse(text) {
            walk_table(doc.get_ref(), "", file, text, &mut self.spans);
        }
    }

    /// Location of `path`, or of its nearest ancestor that has one, or the
    /// start of the root file.
    pub fn locate(&self, path: &str) -> Location {
        let mut p = path.to_string();
        loop {
            if let Some(l) = self.spans.get(&p) {
                return l.clone();
            }
            match p.rfind(['.', '[']) {
                Some(i) => p.truncate(i),
                None => {
                    return Location {
                        file: self.root.clone(),
                        line: 1,
                        col: 1,
                    };
                }
            }
        }
    }
}

fn walk_table(
    t: &DeTable<'_>,
    prefix: &str,
    file: &Path,
    text: &str,
    out: &mut BTreeMap<String, Location>,
) {
    for (k, v) in t.iter() {
        let path = if prefix.is_empty() {
            k.get_ref().to_string()
        } else {
            format!("{prefix}.{}", k.get_ref())
        };
        let (line, col) = line_col(text, k.span().start);
        out.insert(
            path.clone(),
            Location {
                file: file.to_path_buf(),
                line,
                col,
            },
        );
        walk_value(v.get_ref(), &path, file, text, out);
    }
}

fn walk_value(
    v: &DeValue<'_>,
    path: &str,
    file: &Path,
    text: &str,
    out: &mut BTreeMap<String, Location>,
) {
    match v {
        DeValue::Table(t) => walk_table(t, path, file, text, out),
        DeValue::Array(a) => {
            // An array replaces a base file's array whole (see `load`): forget
            // the base's item locations so errors point at this file.
            let items = format!("{path}[");
            out.retain(|k, _| !k.starts_with(&items));
            for (i, item) in a.iter().enumerate() {
                let p = format!("{path}[{i}]");
                let (line, col) = line_col(text, item.span().start);
                out.insert(
                    p.clone(),
                    Location {
                        file: file.to_path_buf(),
                        line,
                        col,
                    },
                );
                walk_value(item.get_ref(), &p, file, text, out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_nested_keys_and_falls_back_to_parents() {
        let text = "seed = 1\n[deployment.provisioners]\ncount = 0\n[[workload.templates]]\nname = \"a\"\n";
        let mut m = SourceMap::new(Path::new("x.toml"));
        m.index(Path::new("x.toml"), text);
        let l = m.locate("deployment.provisioners.count");
        assert_eq!((l.line, l.col), (3, 1));
        let l = m.locate("workload.templates[0].name");
        assert_eq!(l.line, 5);
        let l = m.locate("workload.templates[0].build_time.median");
        assert_eq!(l.line, 4, "falls back to the array item");
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
    }

    #[test]
    fn a_child_array_hides_the_base_items_it_replaces() {
        let base = "[[t]]\nname = \"a\"\nbuild = 1\n";
        let child = "\n\n[[t]]\nname = \"b\"\n";
        let mut m = SourceMap::new(Path::new("child.toml"));
        m.index(Path::new("base.toml"), base);
        m.index(Path::new("child.toml"), child);
        let l = m.locate("t[0].build");
        assert_eq!((l.file.to_str(), l.line), (Some("child.toml"), 3));
    }
}
