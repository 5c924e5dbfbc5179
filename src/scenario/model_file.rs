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
//! provenance = "fitted"        # fitted | source | assumed
//! source = "capsim calibrate, targets scenarios/scale-tests/targets.csv"
//! description = "coderd CPU per dashboard API request"
//! ```

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
    /// Read from a published source.
    Source,
    /// Assumed, with a reason.
    Assumed,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(untagged)]
pub enum ParamValue {
    Number(f64),
    Text(String),
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
}

/// A loaded model parameter file.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ModelParams {
    pub path: PathBuf,
    pub sha256: String,
    pub file: ModelFile,
}

impl ModelParams {
    pub fn load(path: &Path) -> Result<ModelParams, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read model file {}: {e}", path.display()))?;
        Self::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<ModelParams, String> {
        let file: ModelFile = toml::from_str(text).map_err(|e| {
            let (line, col) = e
                .span()
                .map_or((1, 1), |s| super::source::line_col(text, s.start));
            format!(
                "model file {}:{line}:{col}: {}",
                path.display(),
                e.message().trim()
            )
        })?;
        for (k, p) in &file.params {
            if let ParamValue::Number(v) = p.value
                && (p.min.is_some_and(|m| v < m) || p.max.is_some_and(|m| v > m))
            {
                return Err(format!(
                    "model file {}: params.{k}: value {v} outside [{:?}, {:?}]",
                    path.display(),
                    p.min,
                    p.max
                ));
            }
        }
        let sha256 = format!("{:x}", Sha256::digest(text.as_bytes()));
        Ok(ModelParams {
            path: path.to_path_buf(),
            sha256,
            file,
        })
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
