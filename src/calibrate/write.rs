//! `capsim calibrate --write`: store fitted values and their provenance in
//! the model file, keeping its comments and layout (toml_edit).

use super::fit::round_sig;
use crate::scenario::ModelParams;
use std::path::Path;
use toml_edit::{DocumentMut, Item, Value};

/// What `--write` stores for one fitted parameter.
#[derive(Clone, Debug, PartialEq)]
pub struct Written {
    pub name: String,
    /// The fitted value; `None` keeps the file's value, provenance and
    /// source (an interval computed for an existing fit).
    pub value: Option<f64>,
    /// Its 95% interval `[lo, hi]` and `range_reason`; `None` drops a range.
    pub range: Option<(f64, f64, String)>,
}

/// For each named parameter in the text of a model file, replace `value`
/// and set `provenance = "fitted"` and `source` (unless the value is kept),
/// and set `range` and `range_reason` to the fit's interval (or drop a
/// range the old value had, which says nothing about a new one). Comments,
/// key order and the decoration of every other line stay as they were.
pub fn update_model_text(text: &str, fitted: &[Written], source: &str) -> Result<String, String> {
    let mut doc: DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| e.message().to_string())?;
    for w in fitted {
        let name = &w.name;
        let table = doc
            .get_mut("params")
            .and_then(|p| p.get_mut(name))
            .and_then(Item::as_table_like_mut)
            .ok_or_else(|| format!("no table [params.{name}]"))?;
        if let Some(v) = w.value {
            set_keeping_decor(table, "value", Value::from(v));
            set_keeping_decor(table, "provenance", Value::from("fitted"));
            set_keeping_decor(table, "source", Value::from(source));
        }
        match &w.range {
            Some((lo, hi, reason)) => {
                let mut a = toml_edit::Array::new();
                a.push(*lo);
                a.push(*hi);
                set_keeping_decor(table, "range", Value::Array(a));
                set_keeping_decor(table, "range_reason", Value::from(reason.as_str()));
            }
            None => {
                table.remove("range");
                table.remove("range_reason");
            }
        }
    }
    Ok(doc.to_string())
}

/// `[lo, hi]` rounded outward to three significant digits, holding
/// `value` and inside `[min, max]`: what `--write` stores.
pub fn rounded_range(lo: f64, hi: f64, value: f64, min: f64, max: f64) -> (f64, f64) {
    let step = |x: f64| 10f64.powi(x.abs().log10().floor() as i32 - 2);
    let down = |x: f64| {
        if x == 0.0 || !x.is_finite() {
            return x;
        }
        round_sig((x / step(x)).floor() * step(x), 3)
    };
    let up = |x: f64| {
        if x == 0.0 || !x.is_finite() {
            return x;
        }
        round_sig((x / step(x)).ceil() * step(x), 3)
    };
    let lo = down(lo.min(value)).clamp(min, max).min(value);
    let hi = up(hi.max(value)).clamp(min, max).max(value);
    (lo, hi)
}

fn set_keeping_decor(table: &mut dyn toml_edit::TableLike, key: &str, mut v: Value) {
    if let Some(old) = table.get(key).and_then(Item::as_value) {
        *v.decor_mut() = old.decor().clone();
    }
    table.insert(key, Item::Value(v));
}

/// Update the model file at `path` (see [`update_model_text`]). The new
/// text is checked as a model file (a range must hold its value) before it
/// replaces the old one, and it replaces it in one rename: the file is
/// never half-written.
pub fn write_model(path: &Path, fitted: &[Written], source: &str) -> Result<(), String> {
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

    fn w(name: &str, v: f64) -> Written {
        Written {
            name: name.into(),
            value: Some(v),
            range: None,
        }
    }

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
        let out = update_model_text(TEXT, &[w("a", 3.25)], "capsim calibrate (seed 1)").unwrap();
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
        assert!(update_model_text(TEXT, &[w("zzz", 1.0)], "s").is_err());
    }

    #[test]
    fn write_refuses_values_outside_bounds_and_leaves_the_file() {
        let dir = std::env::temp_dir().join(format!("capsim-write-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("m.toml");
        std::fs::write(&p, TEXT).unwrap();
        assert!(write_model(&p, &[w("a", 500.0)], "s").is_err());
        assert_eq!(std::fs::read_to_string(&p).unwrap(), TEXT);
        write_model(&p, &[w("a", 5.0)], "s").unwrap();
        assert!(
            std::fs::read_to_string(&p)
                .unwrap()
                .contains("value = 5.0 # trailing note")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn writes_an_interval_the_model_checks_accept_and_refuses_one_without_the_value() {
        let with = |value: Option<f64>, lo: f64, hi: f64| Written {
            name: "a".into(),
            value,
            range: Some((lo, hi, "95% profile interval".into())),
        };
        let out = update_model_text(TEXT, &[with(Some(3.25), 2.5, 4.0)], "fit").unwrap();
        assert!(out.contains("range = [2.5, 4.0]"), "{out}");
        assert!(out.contains("range_reason = \"95% profile interval\""));
        let m = ModelParams::parse(Path::new("m.toml"), &out).unwrap();
        assert_eq!(m.file.params["a"].range, Some([2.5, 4.0]));
        // Keeping the value: only the range changes.
        let kept = update_model_text(TEXT, &[with(None, 7.0, 9.0)], "other").unwrap();
        assert!(kept.contains("value = 8.0 # trailing note\n"));
        assert!(kept.contains("provenance = \"assumed\""));
        assert!(!kept.contains("other"));
        ModelParams::parse(Path::new("m.toml"), &kept).unwrap();
        // A range that misses the value is refused by the model-file checks.
        let bad = update_model_text(TEXT, &[with(Some(3.25), 4.0, 5.0)], "fit").unwrap();
        let e = ModelParams::parse(Path::new("m.toml"), &bad).unwrap_err();
        assert!(e.to_string().contains("params.a.range"), "{e}");
        // A refit drops the old range.
        let refit = update_model_text(&out, &[w("a", 3.0)], "fit").unwrap();
        assert!(!refit.contains("range"));
    }

    #[test]
    fn ranges_round_outward_and_hold_the_value() {
        assert_eq!(
            rounded_range(7.0123, 7.9876, 7.407, 0.5, 50.0),
            (7.01, 7.99)
        );
        assert_eq!(
            rounded_range(0.018349, 0.02501, 0.021, 0.001, 1.0),
            (0.0183, 0.0251)
        );
        assert_eq!(rounded_range(7.5, 8.0, 7.407, 0.5, 50.0), (7.4, 8.0));
        assert_eq!(rounded_range(0.3, 60.0, 7.4, 0.5, 50.0), (0.5, 50.0));
        assert_eq!(
            rounded_range(123.45, 456.78, 200.0, 20.0, 1000.0),
            (123.0, 457.0)
        );
    }
}
