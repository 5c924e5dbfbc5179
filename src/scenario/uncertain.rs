//! The model's own uncertainty: the parameters whose model-file table gives
//! a `range = [lo, hi]`, and a scenario with one of them set to another
//! value. What `capsim sensitivity` varies one at a time and what
//! `--uncertainty` samples.
//!
//! What a range means by provenance (checked when the model file is read,
//! [`super::ModelParams::parse`] and [`super::ModelParams::check_complete`]):
//! - `assumed`: required on every numeric one; how far the judgement may be
//!   off, with `range_reason` citing what bounds it.
//! - `fitted`: the interval `capsim calibrate --write` computes.
//! - `source` and `derived`: the precision of the published figure (a
//!   rounded "about 2 s" gets the rounding interval); absent means the
//!   cited text gives the number exactly (a default in Coder's code), so
//!   it is not uncertain.
//! - a choice (`metadata_write_path`) or an on/off switch
//!   (`metadata_agent_batching`) is structural and has no range: the other
//!   setting is the other model file.

use super::Scenario;
use super::costs::{ORDERED_PARAMS, PARAMS, ParamKind};
use super::model_file::{ParamValue, Provenance};
use super::{Costs, load::hex};
use sha2::{Digest, Sha256};

/// One uncertain model parameter of a scenario, in its unit.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Uncertain {
    /// Its name in the model file (`params.<name>`).
    pub name: &'static str,
    pub unit: &'static str,
    /// Its value in the model file.
    pub value: f64,
    /// Its range, `lo <= value <= hi`.
    pub lo: f64,
    pub hi: f64,
    pub provenance: Provenance,
    /// The file's `range_reason`.
    pub reason: String,
    /// Only whole numbers are valid (a count): a sampler rounds what it
    /// draws.
    pub whole: bool,
}

impl Uncertain {
    /// A zero-width range: the parameter is known exactly.
    pub fn is_exact(&self) -> bool {
        self.lo == self.hi
    }
}

/// Setting a model parameter failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("params.{name}: {message}")]
pub struct ParamError {
    pub name: String,
    pub message: String,
}

/// Parameters the scenario resolved into its own fields when it was loaded
/// (a default for a key the scenario file leaves out): setting them later
/// would not reach those fields, so [`Scenario::with_param`] refuses them.
const RESOLVED_AT_LOAD: &[(&str, &str)] = &[(
    "builtin_provisioners_per_replica",
    "deployment.coderd.builtin_provisioners",
)];

impl Scenario {
    /// Every model parameter with a `range`, zero-width ones included, in
    /// the order of [`PARAMS`] (deterministic, whatever the file's order).
    pub fn uncertain_params(&self) -> Vec<Uncertain> {
        PARAMS
            .iter()
            .filter_map(|s| {
                let p = self.model.file.params.get(s.name)?;
                let [lo, hi] = p.range?;
                let ParamValue::Number(value) = p.value else {
                    return None;
                };
                Some(Uncertain {
                    name: s.name,
                    unit: s.unit,
                    value,
                    lo,
                    hi,
                    provenance: p.provenance,
                    reason: p.range_reason.clone().unwrap_or_default(),
                    whole: s.kind == ParamKind::Integer,
                })
            })
            .collect()
    }

    /// This scenario with the numeric model parameter `name` set to
    /// `value` and its [`Costs`] resolved again from the model, so every
    /// field derived from the parameter follows. The value must be one the
    /// model accepts (finite, inside the parameter's accepted range, whole
    /// where it must be, ordered pairs kept); it need not be inside the
    /// file's `range`. The model's hash changes with the value, so stored
    /// runs of the variant are told apart from the original's. Setting a
    /// parameter to the value it has returns an identical scenario.
    pub fn with_param(&self, name: &str, value: f64) -> Result<Scenario, ParamError> {
        let fail = |message: String| ParamError {
            name: name.to_string(),
            message,
        };
        let spec = PARAMS
            .iter()
            .find(|s| s.name == name)
            .ok_or_else(|| fail("not a parameter of the model".into()))?;
        let current = self
            .model
            .number(name)
            .ok_or_else(|| fail("expected a numeric parameter the model file sets".into()))?;
        if value == current {
            return Ok(self.clone());
        }
        if !value.is_finite() {
            return Err(fail(format!("expected a finite number, found {value}")));
        }
        if !(spec.min..=spec.max).contains(&value) {
            return Err(fail(format!(
                "expected a value between {} and {} {} (what the model accepts), found {value}",
                spec.min, spec.max, spec.unit
            )));
        }
        match spec.kind {
            ParamKind::Integer | ParamKind::Flag if value.fract() != 0.0 => {
                return Err(fail(format!("expected a whole number, found {value}")));
            }
            ParamKind::Choice(_) => {
                return Err(fail("expected a numeric parameter, found a choice".into()));
            }
            _ => {}
        }
        if let Some((_, key)) = RESOLVED_AT_LOAD.iter().find(|(n, _)| *n == name) {
            return Err(fail(format!(
                "resolved into the scenario's {key} when it was loaded; set that key (as --vary does) instead"
            )));
        }
        let mut s = self.clone();
        s.model.set(name, value);
        for (lo, hi) in ORDERED_PARAMS {
            if let (Some(a), Some(b)) = (s.model.number(lo), s.model.number(hi))
                && a > b
            {
                return Err(fail(format!(
                    "expected params.{lo} ({a}) at most params.{hi} ({b})"
                )));
            }
        }
        s.costs = Costs::from_model(&s.model).map_err(fail)?;
        let mut h = Sha256::new();
        h.update(s.model.sha256.as_bytes());
        h.update(format!("\0{name}={value:?}").as_bytes());
        s.model.sha256 = hex(&h.finalize());
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn scenario() -> Scenario {
        super::super::load(
            &Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("scenarios/scale-tests/published-v2.8.4-2000-users.toml"),
        )
        .unwrap()
    }

    #[test]
    fn uncertain_params_come_in_table_order_and_hold_their_values() {
        let s = scenario();
        let u = s.uncertain_params();
        assert!(!u.is_empty());
        let order: Vec<usize> = u
            .iter()
            .map(|p| PARAMS.iter().position(|s| s.name == p.name).unwrap())
            .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
        for p in &u {
            assert!(p.lo <= p.value && p.value <= p.hi, "{p:?}");
            assert!(!p.reason.trim().is_empty(), "{}", p.name);
        }
        // Every numeric assumption is there.
        for (k, p) in &s.model.file.params {
            let switch = PARAMS
                .iter()
                .any(|s| s.name == k && s.kind == ParamKind::Flag);
            if p.provenance == Provenance::Assumed
                && matches!(p.value, ParamValue::Number(_))
                && !switch
            {
                assert!(u.iter().any(|x| x.name == k), "{k}");
            }
        }
    }

    #[test]
    fn with_param_resolves_the_costs_and_changes_the_hash() {
        let s = scenario();
        let t = s.with_param("db_cpu_ms_read_query", 0.9).unwrap();
        assert_eq!(t.costs.db_cpu_ms_read_query, 0.9);
        assert_eq!(t.model.number("db_cpu_ms_read_query"), Some(0.9));
        assert_ne!(t.model.sha256, s.model.sha256);
        // Everything else as it was.
        let mut back = t.costs.clone();
        back.db_cpu_ms_read_query = s.costs.db_cpu_ms_read_query;
        assert_eq!(back, s.costs);
        // The same value: the same scenario, hash and all.
        let same = s.with_param("db_cpu_ms_read_query", s.costs.db_cpu_ms_read_query);
        assert_eq!(same.unwrap().model.sha256, s.model.sha256);
        // The flag resolves into its typed field.
        let t = s.with_param("metadata_agent_batching", 0.0).unwrap();
        assert!(!t.costs.metadata_agent_batching);
    }

    #[test]
    fn with_param_refuses_what_the_model_does_not_accept() {
        let s = scenario();
        for (name, v, says) in [
            ("no_such_param", 1.0, "not a parameter"),
            ("metadata_write_path", 1.0, "numeric"),
            ("db_cpu_ms_read_query", -1.0, "between 0 and"),
            ("db_cpu_ms_read_query", f64::NAN, "finite"),
            ("metadata_flush_max_entries", 10.5, "whole"),
            ("metadata_agent_batching", 0.5, "whole"),
            (
                "agent_reconnect_min_s",
                60.0,
                "at most params.agent_reconnect_max_s",
            ),
            ("builtin_provisioners_per_replica", 2.0, "deployment.coderd"),
        ] {
            let e = s.with_param(name, v).unwrap_err().to_string();
            assert!(e.starts_with(&format!("params.{name}: ")), "{e}");
            assert!(e.contains(says), "{name}: {e}");
        }
    }
}
