//! The model parameter file (`models/*.toml`): every cost parameter the
//! simulation uses, each with a unit, a description and its provenance.
//! Read and hashed here, on the input side; [`super::costs::Costs`] is its
//! typed view, resolved once into the `Scenario`.
//!
//! ```toml
//! [model]
//! name = "coder-v2"
//! description = "..."
//!
//! [params.coderd_cpu_ms_per_dashboard_request]
//! value = 6.0
//! unit = "ms"
//! provenance = "fitted"        # fitted | source | derived | assumed
//! source = "capsim calibrate, targets scenarios/scale-tests/targets.csv"
//! description = "coderd CPU per dashboard API request"
//! ```

use super::ScenarioError;
use super::costs::{ORDERED_PARAMS, PARAMS, ParamKind};
use super::resolve::plain_expectation;
use super::source::{Location, SourceMap, read_input};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ModelFile {
    pub model: ModelMeta,
    #[serde(default)]
    pub params: BTreeMap<String, Param>,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ModelMeta {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Coder versions this parameter set describes.
    #[serde(default)]
    pub coder_versions: String,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Provenance {
    /// Fitted by `capsim calibrate`.
    Fitted,
    /// Read from a published source: the cited text says this number.
    Source,
    /// Computed from published figures; `source` shows the arithmetic.
    Derived,
    /// Assumed, with a reason.
    Assumed,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(untagged)]
pub enum ParamValue {
    Number(f64),
    Text(String),
}

/// Hand-written so that a wrong type says what was expected in the file's
/// terms (serde's untagged enums only say "data did not match any variant").
impl<'de> Deserialize<'de> for ParamValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = ParamValue;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a number or a string")
            }
            fn visit_i64<E>(self, v: i64) -> Result<ParamValue, E> {
                Ok(ParamValue::Number(v as f64))
            }
            fn visit_u64<E>(self, v: u64) -> Result<ParamValue, E> {
                Ok(ParamValue::Number(v as f64))
            }
            fn visit_f64<E>(self, v: f64) -> Result<ParamValue, E> {
                Ok(ParamValue::Number(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<ParamValue, E> {
                Ok(ParamValue::Text(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Param {
    pub value: ParamValue,
    pub unit: String,
    pub description: String,
    pub provenance: Provenance,
    /// The file and figure, the calibration run, or the reason for the assumption.
    pub source: String,
    /// Bounds a calibration may not leave.
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// Free for `capsim calibrate` to adjust.
    #[serde(default)]
    pub free: bool,
    /// The parameter's uncertainty, `[lo, hi]` in `unit`, holding `value`
    /// (see [`super::uncertain`]): required of every numeric `assumed`
    /// parameter; for `fitted` ones the interval `capsim calibrate --write`
    /// computes; for `source` and `derived` ones the precision of the
    /// figure (absent: exact).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<[f64; 2]>,
    /// Why the range is what it is (the files and figures it rests on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range_reason: Option<String>,
}

/// A loaded model parameter file.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ModelParams {
    pub path: PathBuf,
    pub sha256: String,
    pub file: ModelFile,
    /// Where each key of the file is, for errors located in the model file.
    #[serde(skip)]
    pub map: SourceMap,
}

/// `lo` and `hi` as a range in words.
fn range_str(lo: f64, hi: f64) -> String {
    match (lo.is_finite(), hi.is_finite()) {
        (true, true) => format!("between {lo} and {hi}"),
        (true, false) => format!("at least {lo}"),
        (false, true) => format!("at most {hi}"),
        (false, false) => "a finite number".into(),
    }
}

/// A choice or an on/off switch is structural: the model file that makes
/// the other choice is the other model, not a range of this one.
const NO_RANGE_ON_SWITCH: &str = "expected no range on a choice or an on/off switch (the other setting is another model file), found one";

/// Check a numeric parameter's `range` and `range_reason` against its
/// value `v` and what the model accepts (`spec`): the key at fault and
/// what was expected.
fn check_range(
    p: &Param,
    v: f64,
    spec: Option<&super::costs::ParamSpec>,
) -> Result<(), (&'static str, String)> {
    let reason = p.range_reason.as_deref().map(str::trim);
    let Some([lo, hi]) = p.range else {
        return match reason {
            Some(_) => Err((
                "range_reason",
                "expected `range = [lo, hi]` beside a range reason, found no range".into(),
            )),
            None => Ok(()),
        };
    };
    let found = format!("found [{lo}, {hi}]");
    if !lo.is_finite() || !hi.is_finite() {
        return Err(("range", format!("expected two finite numbers, {found}")));
    }
    if lo > hi {
        return Err((
            "range",
            format!("expected [lo, hi] with lo at most hi, {found}"),
        ));
    }
    if !(lo..=hi).contains(&v) {
        return Err((
            "range",
            format!("expected a range holding the value ({v}), {found}"),
        ));
    }
    if let Some(s) = spec {
        if lo < s.min || hi > s.max {
            return Err((
                "range",
                format!(
                    "expected a range {} {} (what the model accepts), {found}",
                    range_str(s.min, s.max),
                    s.unit
                )
                .replace("  (", " ("),
            ));
        }
        if s.kind == ParamKind::Integer && (lo.fract() != 0.0 || hi.fract() != 0.0) {
            return Err(("range", format!("expected whole numbers, {found}")));
        }
    }
    match reason {
        Some(r) if !r.is_empty() => Ok(()),
        _ => Err((
            "range",
            "expected `range_reason = \"...\"` beside the range (why it is this wide, citing the figures it rests on), found none".into(),
        )),
    }
}

impl ModelParams {
    /// Read and check a model file ([`ModelParams::parse`]); a file that
    /// cannot be read is an error at its first line.
    pub fn load(path: &Path) -> Result<ModelParams, ScenarioError> {
        let text = read_input(path).map_err(|e| ScenarioError {
            location: Location {
                file: path.to_path_buf(),
                line: 1,
                col: 1,
            },
            field: None,
            message: format!("cannot read model file: {e}"),
        })?;
        Self::parse(path, &text)
    }

    /// Parse the text of a model file and check each parameter in it:
    /// numbers finite, the file's own `min`/`max` ordered and holding the
    /// value, and for every parameter the model knows ([`PARAMS`]) its unit,
    /// kind and range. Errors are located at the model file's own line and
    /// column. Whether every parameter the model needs is there is
    /// [`ModelParams::check_complete`].
    pub fn parse(path: &Path, text: &str) -> Result<ModelParams, ScenarioError> {
        let table = super::source::parse_table(path, text)?;
        let mut map = SourceMap::new(path);
        map.index(path, text);
        let err = |field: &str, message: String| ScenarioError {
            location: map.locate(field),
            field: Some(field.to_string()),
            message,
        };
        let file: ModelFile =
            serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
                let field = e.path().to_string();
                let inner = e.into_inner();
                err(&field, plain_expectation(inner.message().trim()))
            })?;
        for (k, p) in &file.params {
            let f = |key: &str| format!("params.{k}.{key}");
            for (key, b) in [("min", p.min), ("max", p.max)] {
                if let Some(b) = b
                    && !b.is_finite()
                {
                    return Err(err(&f(key), format!("expected a finite number, found {b}")));
                }
            }
            if let (Some(lo), Some(hi)) = (p.min, p.max)
                && lo > hi
            {
                return Err(err(
                    &f("max"),
                    format!("expected a maximum of at least the minimum ({lo}), found {hi}"),
                ));
            }
            let spec = PARAMS.iter().find(|s| s.name == k);
            if let Some(spec) = spec
                && p.unit != spec.unit
            {
                return Err(err(
                    &f("unit"),
                    format!(
                        "expected the unit \"{}\" (the model reads {k} in it), found \"{}\"",
                        spec.unit, p.unit
                    ),
                ));
            }
            match (&p.value, spec.map(|s| &s.kind)) {
                (ParamValue::Number(v), kind) => {
                    let v = *v;
                    if !v.is_finite() {
                        return Err(err(
                            &f("value"),
                            format!("expected a finite number, found {v}"),
                        ));
                    }
                    if let Some(ParamKind::Choice(c)) = kind {
                        return Err(err(
                            &f("value"),
                            format!("expected one of \"{}\", found {v}", c.join("\", \"")),
                        ));
                    }
                    if matches!(kind, Some(ParamKind::Flag)) && v != 0.0 && v != 1.0 {
                        return Err(err(
                            &f("value"),
                            format!("expected 0 (off) or 1 (on), found {v}"),
                        ));
                    }
                    if matches!(kind, Some(ParamKind::Flag)) && p.range.is_some() {
                        return Err(err(&f("range"), NO_RANGE_ON_SWITCH.into()));
                    }
                    if matches!(kind, Some(ParamKind::Integer)) && v.fract() != 0.0 {
                        return Err(err(
                            &f("value"),
                            format!("expected a whole number, found {v}"),
                        ));
                    }
                    if let Some(s) = spec
                        && !(s.min..=s.max).contains(&v)
                    {
                        return Err(err(
                            &f("value"),
                            format!(
                                "expected a value {} {} (what the model accepts), found {v}",
                                range_str(s.min, s.max),
                                s.unit
                            )
                            .replace("  (", " ("),
                        ));
                    }
                    let (lo, hi) = (
                        p.min.unwrap_or(f64::NEG_INFINITY),
                        p.max.unwrap_or(f64::INFINITY),
                    );
                    if !(lo..=hi).contains(&v) {
                        return Err(err(
                            &f("value"),
                            format!(
                                "expected a value {} (the parameter's own min and max), found {v}",
                                range_str(lo, hi)
                            ),
                        ));
                    }
                    check_range(p, v, spec).map_err(|(key, m)| err(&f(key), m))?;
                }
                (ParamValue::Text(_), Some(ParamKind::Choice(_)) | None) if p.range.is_some() => {
                    return Err(err(&f("range"), NO_RANGE_ON_SWITCH.into()));
                }
                (ParamValue::Text(t), Some(ParamKind::Choice(c))) => {
                    if !c.contains(&t.as_str()) {
                        return Err(err(
                            &f("value"),
                            format!("expected one of \"{}\", found \"{t}\"", c.join("\", \"")),
                        ));
                    }
                }
                (ParamValue::Text(t), Some(_)) => {
                    return Err(err(
                        &f("value"),
                        format!("expected a number, found \"{t}\""),
                    ));
                }
                (ParamValue::Text(_), None) => {}
            }
        }
        let sha256 = format!("{:x}", Sha256::digest(text.as_bytes()));
        Ok(ModelParams {
            path: path.to_path_buf(),
            sha256,
            file,
            map,
        })
    }

    /// Every parameter the model needs is in the file and every parameter in
    /// the file is one the model knows (a misspelt name would otherwise be
    /// ignored silently).
    pub fn check_complete(&self) -> Result<(), ScenarioError> {
        if let Some(k) = self
            .file
            .params
            .keys()
            .find(|k| !PARAMS.iter().any(|s| s.name == k.as_str()))
        {
            // The known names that share the longest start with it.
            let common = |n: &str| n.bytes().zip(k.bytes()).take_while(|(a, b)| a == b).count();
            let best = PARAMS.iter().map(|s| common(s.name)).max().unwrap_or(0);
            let near: Vec<&str> = PARAMS
                .iter()
                .map(|s| s.name)
                .filter(|n| best >= 3 && common(n) == best)
                .take(4)
                .collect();
            let field = format!("params.{k}");
            return Err(ScenarioError {
                location: self.map.locate(&field),
                message: if near.is_empty() {
                    "not a parameter of the model (models/coder.toml lists them)".to_string()
                } else {
                    format!(
                        "not a parameter of the model (did you mean {}?)",
                        near.join(" or ")
                    )
                },
                field: Some(field),
            });
        }
        if let Some(s) = PARAMS
            .iter()
            .find(|s| s.required && !self.file.params.contains_key(s.name))
        {
            return Err(ScenarioError {
                location: self.map.locate("params"),
                field: Some(format!("params.{}", s.name)),
                message: format!(
                    "missing required parameter (a table [params.{}] with a value {} {}, unit, description, provenance and source)",
                    s.name,
                    range_str(s.min, s.max),
                    s.unit
                ),
            });
        }
        // Every numeric assumption says how wrong it may be (a switch is
        // structural, like a choice).
        let switch = |k: &str| {
            PARAMS
                .iter()
                .any(|s| s.name == k && s.kind == ParamKind::Flag)
        };
        if let Some((k, _)) = self.file.params.iter().find(|(k, p)| {
            p.provenance == Provenance::Assumed
                && matches!(p.value, ParamValue::Number(_))
                && p.range.is_none()
                && !switch(k)
        }) {
            let field = format!("params.{k}");
            return Err(ScenarioError {
                location: self.map.locate(&field),
                field: Some(field),
                message: "expected `range = [lo, hi]` and `range_reason` on an assumed parameter (how far the assumption may be off, and why), found none".into(),
            });
        }
        for (lo, hi) in ORDERED_PARAMS {
            if let (Some(a), Some(b)) = (self.number(lo), self.number(hi))
                && a > b
            {
                let field = format!("params.{hi}.value");
                return Err(ScenarioError {
                    location: self.map.locate(&field),
                    field: Some(field),
                    message: format!("expected at least params.{lo} ({a}), found {b}"),
                });
            }
        }
        Ok(())
    }

    pub fn number(&self, name: &str) -> Option<f64> {
        match self.file.params.get(name)?.value {
            ParamValue::Number(v) => Some(v),
            ParamValue::Text(_) => None,
        }
    }

    /// A required numeric parameter.
    pub fn require(&self, name: &str) -> Result<f64, String> {
        self.number(name).ok_or_else(|| {
            format!(
                "model file {} has no numeric parameter `params.{name}`",
                self.path.display()
            )
        })
    }

    pub fn text(&self, name: &str) -> Option<&str> {
        match &self.file.params.get(name)?.value {
            ParamValue::Text(s) => Some(s),
            ParamValue::Number(_) => None,
        }
    }

    /// Set a numeric parameter. A scenario's costs are resolved from its
    /// model: set parameters through `Scenario::set_model_param`, which
    /// resolves them again.
    pub(crate) fn set(&mut self, name: &str, v: f64) {
        if let Some(p) = self.file.params.get_mut(name) {
            p.value = ParamValue::Number(v);
        }
    }
}
