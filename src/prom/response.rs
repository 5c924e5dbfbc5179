//! Prometheus's HTTP API answers (`/api/v1/query_range`), parsed as they
//! come: `{"status": "success", "data": {"resultType": "matrix", "result":
//! [{"metric": {...}, "values": [[<unix time>, "<value>"], ...]}]}}`, with
//! values as strings (`"1.5"`, `"NaN"`, `"+Inf"`), or `{"status": "error",
//! "errorType": ..., "error": ...}`.

use serde::Deserialize;
use std::collections::BTreeMap;

/// One series of a range answer.
#[derive(Clone, Debug, PartialEq)]
pub struct RangeSeries {
    /// The series' labels (`__name__` included when Prometheus kept it).
    pub labels: BTreeMap<String, String>,
    /// `(unix time in seconds, value)`, in time order; `NaN` as sent.
    pub points: Vec<(f64, f64)>,
}

/// A parsed `query_range` answer.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Matrix {
    pub series: Vec<RangeSeries>,
    /// Prometheus's own warnings (e.g. a partial answer).
    pub warnings: Vec<String>,
    /// Series that carried native histograms, which capsim does not read.
    pub native_histograms: usize,
}

/// An answer capsim cannot use, located in its file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ResponseError {
    /// Not the JSON of a Prometheus answer.
    #[error("{file}:{line}:{column}: {path}: {message}")]
    Json {
        file: String,
        line: usize,
        column: usize,
        /// Dotted JSON path, e.g. `data.result[2].values[7][1]`.
        path: String,
        message: String,
    },
    /// Prometheus answered with an error.
    #[error("{file}: Prometheus answered with an error ({error_type}): {error}")]
    Prometheus {
        file: String,
        error_type: String,
        error: String,
    },
    /// An answer of another kind of query.
    #[error(
        "{file}: data.resultType: expected \"matrix\" (an answer of /api/v1/query_range), found {found:?}"
    )]
    NotMatrix { file: String, found: String },
}

#[derive(Deserialize)]
struct Raw {
    status: String,
    data: Option<RawData>,
    #[serde(rename = "errorType")]
    error_type: Option<String>,
    error: Option<String>,
    #[serde(default)]
    warnings: Vec<String>,
}

/// The head of `data`: what kind of answer it is (the result is read in a
/// second pass, once it is known to be a matrix).
#[derive(Deserialize)]
struct RawData {
    #[serde(rename = "resultType")]
    result_type: String,
    #[allow(dead_code)]
    result: serde::de::IgnoredAny,
}

#[derive(Deserialize)]
struct RawSeries {
    #[serde(default)]
    metric: BTreeMap<String, String>,
    #[serde(default)]
    values: Vec<Sample>,
    #[serde(default)]
    histograms: Option<serde_json::Value>,
}

/// `[<unix time>, "<value>"]`.
struct Sample(f64, f64);

impl<'de> Deserialize<'de> for Sample {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Sample, D::Error> {
        let (t, v): (f64, String) = Deserialize::deserialize(d)?;
        let x = parse_value(&v).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "expected a number as a string (\"1.5\", \"NaN\", \"+Inf\"), found {v:?}"
            ))
        })?;
        Ok(Sample(t, x))
    }
}

/// A Prometheus sample value: a float, `NaN`, `+Inf` or `-Inf`.
pub fn parse_value(s: &str) -> Option<f64> {
    match s {
        "NaN" => Some(f64::NAN),
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        _ => s.parse::<f64>().ok().filter(|x| x.is_finite()),
    }
}

fn json_error(file: &str, e: serde_path_to_error::Error<serde_json::Error>) -> ResponseError {
    let path = e.path().to_string();
    let inner = e.into_inner();
    let message = inner.to_string();
    // serde_json appends " at line L column C": keep the message bare.
    let message = match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message,
    };
    let (line, column) = if inner.line() == 0 {
        (1, 1)
    } else {
        (inner.line(), inner.column())
    };
    ResponseError::Json {
        file: file.to_string(),
        line,
        column,
        path: if path == "." {
            "(top level)".into()
        } else {
            path
        },
        message,
    }
}

fn from_str<'a, T: Deserialize<'a>>(file: &str, text: &'a str) -> Result<T, ResponseError> {
    let mut de = serde_json::Deserializer::from_str(text);
    let v = serde_path_to_error::deserialize(&mut de).map_err(|e| json_error(file, e))?;
    de.end().map_err(|e| ResponseError::Json {
        file: file.to_string(),
        line: e.line(),
        column: e.column(),
        path: "(top level)".into(),
        message: "text after the JSON answer".into(),
    })?;
    Ok(v)
}

/// Parse the text of one answer; `file` names it in errors.
pub fn parse(file: &str, text: &str) -> Result<Matrix, ResponseError> {
    let raw: Raw = from_str(file, text)?;
    if raw.status != "success" {
        return Err(ResponseError::Prometheus {
            file: file.to_string(),
            error_type: raw.error_type.unwrap_or_else(|| raw.status.clone()),
            error: raw.error.unwrap_or_default(),
        });
    }
    let Some(data) = raw.data else {
        return Err(ResponseError::Json {
            file: file.to_string(),
            line: 1,
            column: 1,
            path: "data".into(),
            message: "missing field `data` in a successful answer".into(),
        });
    };
    if data.result_type != "matrix" {
        return Err(ResponseError::NotMatrix {
            file: file.to_string(),
            found: data.result_type,
        });
    }
    // The result, from the text again, so that errors inside it carry their
    // line, column and full path.
    #[derive(Deserialize)]
    struct Full {
        data: FullData,
    }
    #[derive(Deserialize)]
    struct FullData {
        result: Vec<RawSeries>,
    }
    let full: Full = from_str(file, text)?;
    let mut m = Matrix {
        warnings: raw.warnings,
        ..Matrix::default()
    };
    for s in full.data.result {
        if s.histograms.is_some() {
            m.native_histograms += 1;
        }
        let mut points: Vec<(f64, f64)> = s.values.into_iter().map(|x| (x.0, x.1)).collect();
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        m.series.push(RangeSeries {
            labels: s.metric,
            points,
        });
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_strings_with_nan_and_inf() {
        let text = r#"{"status":"success","data":{"resultType":"matrix","result":[
            {"metric":{"path":"/a"},"values":[[1741000000,"1.5"],[1741000300.5,"NaN"],[1741000600,"+Inf"]]},
            {"metric":{},"values":[]}]}}"#;
        let m = parse("x.json", text).unwrap();
        assert_eq!(m.series.len(), 2);
        let p = &m.series[0].points;
        assert_eq!(p[0], (1_741_000_000.0, 1.5));
        assert!(p[1].1.is_nan());
        assert_eq!(p[2].1, f64::INFINITY);
    }

    #[test]
    fn a_bad_value_is_located() {
        let text = "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[\n{\"metric\":{},\"values\":[[1,\"1\"],[2,\"lots\"]]}]}}";
        let e = parse("x.json", text).unwrap_err().to_string();
        assert!(e.starts_with("x.json:2:"), "{e}");
        assert!(e.contains("data.result[0].values[1]"), "{e}");
        assert!(e.contains("found \"lots\""), "{e}");
    }
}
