//! `capsim calibrate --write`: store fitted values and their provenance in
//! the model file, keeping its comments and layout (toml_edit).

use crate::scenario::ModelParams;
use std::path::Path;
use toml_edit::{DocumentMut, Item, Value};

/// Replace `value`, and set `provenance = "fitted"` and `source`, of each
/// named parameter in the text of a model file (dropping a `range` and
/// `range_reason` the old value had). Comments, key order and
/// the decoration of every other line stay as they were.
pub fn update_model_text(
    text: &str,
    fitted: &[(String, f64)],
    source: &str,
) -> Result<String, String> {
    let mut doc: DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| e.message().to_string())?;
    for (name, v) in fitted {
        let table = doc
            .get_mut("params")
            .and_then(|p| p.get_mut(name))
            .and_then(Item::as_table_like_mut)
            .ok_or_else(|| format!("no table [params.{name}]"))?;
        set_keeping_decor(table, "value", Value::from(*v));
        set_keeping_decor(table, "provenance", Value::from("fitted"));
        set_keeping_decor(table, "source", Value::from(source));
        // A range written for the old value (an assumption's, or an
        // earlier fit's) says nothing about the new one.
        table.remove("range");
        table.remove("range_reason");
    }
    Ok(doc.to_string())
}

fn set_keeping_decor(table: &mut dyn toml_edit::TableLike, key: &str, mut v: Value) {
    if let Some(old) = table.get(key).and_then(Item::as_value) {
        *v.decor_mut() = old.decor().clone();
    }
    table.insert(key, Item::Value(v));
}

/// Update the model file at `path` (see [`update_model_text`]). The new
/// text is checked as a model file before it replaces the old one, and it
/// replaces it in one rename: the file is never half-written.
pub fn write_model(path: &Path, fitted: &[(String, f64)], source: &str) -> Result<(), String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read model file {}: {e}", path.display()))?;
    let new = update_model_text(&text, fitted, source)
        .map_err(|e| format!("model file {}: {e}", path.display()))?;
    ModelParams::parse(path, &new).map_err(|e| e.to_string())?;
    let tmp = path.with_extension("toml.calibrate-tmp");
    std::fs::write(&tmp, &new).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("cannot replace {}: {e}", path.display())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "# header comment\n\
[model]\n\
name = \"m\"\n\
\n\
# a comment above the parameter\n\
[params.a]\n\
value = 8.0 # trailing note\n\
unit = \"ms\"\n\
description = \"d\"\n\
provenance = \"assumed\"\n\
source = \"guess\"\n\
free = true\n\
min = 0.1\n\
max = 100.0\n\
\n\
[params.b]\n\
value = 1.0\n\
unit = \"1\"\n\
description = \"d\"\n\
provenance = \"source\"\n\
source = \"doc\"\n";

    #[test]
    fn updates_values_and_provenance_and_keeps_comments() {
        let out =
            update_model_text(TEXT, &[("a".into(), 3.25)], "capsim calibrate (seed 1)").unwrap();
        assert!(out.starts_with("# header comment\n"));
        assert!(out.contains("# a comment above the parameter\n[params.a]"));
        assert!(out.contains("value = 3.25 # trailing note\n"), "{out}");
        assert!(out.contains("provenance = \"fitted\""));
        assert!(out.contains("source = \"capsim calibrate (seed 1)\""));
        // Untouched parameter and key order stay.
        assert!(out.contains("[params.b]\nvalue = 1.0\n"));
        let m = ModelParams::parse(Path::new("m.toml"), &out).unwrap();
        assert_eq!(m.number("a"), Some(3.25));
        assert!(m.file.params["a"].free);
        assert!(update_model_text(TEXT, &[("zzz".into(), 1.0)], "s").is_err());
    }

    #[test]
    fn write_refuses_values_outside_bounds_and_leaves_the_file() {
        let dir = std::env::temp_dir().join(format!("capsim-write-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("m.toml");
        std::fs::write(&p, TEXT).unwrap();
        assert!(write_model(&p, &[("a".into(), 500.0)], "s").is_err());
        assert_eq!(std::fs::read_to_string(&p).unwrap(), TEXT);
        write_model(&p, &[("a".into(), 5.0)], "s").unwrap();
        assert!(
            std::fs::read_to_string(&p)
                .unwrap()
                .contains("value = 5.0 # trailing note")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
