//! Parsing of quantities with units: durations, rates, sizes, times of day.
//!
//! Durations: `"250ms"`, `"10s"`, `"5m"`, `"1.5h"`, `"24h"`, `"2d"`, or a bare
//! number of seconds. Rates: `"8/s"`, `"120/h"`, `"5/m"`, `"100/d"`.
//! Sizes: `"512MB"`, `"16GB"`, `"40KB"` (decimal units), or a bare number of
//! bytes. Times of day: `"09:00"` or `"17:30:15"`.

use serde::{Deserialize, Serialize};

/// A TOML value that is either a number or a string with a unit.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Quantity {
    Number(f64),
    Text(String),
}

/// Hand-written so that a wrong type says what was expected (serde's
/// untagged enums only say "data did not match any variant").
impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Quantity;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(
                    "a number or a string with a unit, such as \"10s\", \"120/h\" or \"16GB\"",
                )
            }
            fn visit_i64<E>(self, v: i64) -> Result<Quantity, E> {
                Ok(Quantity::Number(v as f64))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Quantity, E> {
                Ok(Quantity::Number(v as f64))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Quantity, E> {
                Ok(Quantity::Number(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<Quantity, E> {
                Ok(Quantity::Text(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

impl std::fmt::Display for Quantity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            // 1e308 rather than its 309 digits.
            Quantity::Number(n) if n.abs() >= 1e15 => write!(f, "{n:e}"),
            Quantity::Number(n) => write!(f, "{n}"),
            Quantity::Text(s) => write!(f, "\"{s}\""),
        }
    }
}

fn split_number(s: &str) -> Option<(f64, &str)> {
    let s = s.trim();
    let end = s
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_digit() || *c == '.' || *c == '-' || *c == '+'))
        .map_or(s.len(), |(i, _)| i);
    let n: f64 = s[..end].parse().ok()?;
    Some((n, s[end..].trim()))
}

/// Seconds in a duration string such as `"250ms"` or `"1.5h"`.
pub fn parse_duration_s(q: &Quantity) -> Result<f64, String> {
    let expected =
        "expected a duration such as \"250ms\", \"10s\", \"5m\", \"24h\" or a number of seconds";
    let v = match q {
        Quantity::Number(n) => *n,
        Quantity::Text(s) => {
            let (n, unit) = split_number(s).ok_or_else(|| format!("{expected}, found \"{s}\""))?;
            let k = match unit {
                "ns" => 1e-9,
                "us" | "µs" => 1e-6,
                "ms" => 1e-3,
                "s" | "" => 1.0,
                "m" | "min" => 60.0,
                "h" => 3600.0,
                "d" => 86400.0,
                _ => {
                    return Err(format!(
                        "{expected}, found \"{s}\" (unknown unit \"{unit}\")"
                    ));
                }
            };
            n * k
        }
    };
    if !v.is_finite() {
        return Err(format!("{expected}, found {q}"));
    }
    Ok(v)
}

/// Events per second in a rate string such as `"8/s"` or `"120/h"`.
pub fn parse_rate_per_s(q: &Quantity) -> Result<f64, String> {
    let expected = "expected a rate such as \"8/s\", \"5/m\" or \"120/h\"";
    let v = match q {
        Quantity::Number(n) => *n,
        Quantity::Text(s) => {
            let (num, per) = s
                .split_once('/')
                .ok_or_else(|| format!("{expected}, found \"{s}\""))?;
            let n: f64 = num
                .trim()
                .parse()
                .map_err(|_| format!("{expected}, found \"{s}\""))?;
            let secs = match per.trim() {
                "s" => 1.0,
                "m" | "min" => 60.0,
                "h" => 3600.0,
                "d" => 86400.0,
                other => {
                    return Err(format!(
                        "{expected}, found \"{s}\" (unknown period \"{other}\")"
                    ));
                }
            };
            n / secs
        }
    };
    if !v.is_finite() {
        return Err(format!("{expected}, found {q}"));
    }
    Ok(v)
}

/// Bytes in a size string such as `"16GB"` (decimal: 1 GB = 1e9 bytes; `GiB` is binary).
pub fn parse_bytes(q: &Quantity) -> Result<f64, String> {
    let expected = "expected a size such as \"512MB\", \"16GB\" or \"40KB\"";
    match q {
        Quantity::Number(n) => Ok(*n),
        Quantity::Text(s) => {
            let (n, unit) = split_number(s).ok_or_else(|| format!("{expected}, found \"{s}\""))?;
            let k = match unit {
                "B" | "" => 1.0,
                "KB" | "kB" => 1e3,
                "MB" => 1e6,
                "GB" => 1e9,
                "TB" => 1e12,
                "KiB" => 1024.0,
                "MiB" => 1024.0 * 1024.0,
                "GiB" => 1024.0 * 1024.0 * 1024.0,
                _ => {
                    return Err(format!(
                        "{expected}, found \"{s}\" (unknown unit \"{unit}\")"
                    ));
                }
            };
            Ok(n * k)
        }
    }
}

/// Seconds since midnight in `"HH:MM"` or `"HH:MM:SS"`.
pub fn parse_time_of_day_s(s: &str) -> Result<f64, String> {
    let bad = || format!("expected a time of day such as \"09:00\", found \"{s}\"");
    let parts: Vec<&str> = s.trim().split(':').collect();
    if !(2..=3).contains(&parts.len()) {
        return Err(bad());
    }
    let h: u32 = parts[0].parse().map_err(|_| bad())?;
    let m: u32 = parts[1].parse().map_err(|_| bad())?;
    let sec: u32 = parts
        .get(2)
        .map_or(Ok(0), |p| p.parse())
        .map_err(|_| bad())?;
    if h > 24 || m > 59 || sec > 59 || (h == 24 && (m > 0 || sec > 0)) {
        return Err(bad());
    }
    Ok((h * 3600 + m * 60 + sec) as f64)
}

/// A duration as a scenario file would write it, in the largest unit that
/// keeps it readable: `"1ns"`, `"250ms"`, `"90s"`, `"10m"`, `"36h"`, `"3650d"`.
pub fn duration_text(t: crate::engine::SimTime) -> String {
    let ns = t.as_nanos();
    const UNITS: [(&str, u64); 7] = [
        ("d", 86_400_000_000_000),
        ("h", 3_600_000_000_000),
        ("m", 60_000_000_000),
        ("s", 1_000_000_000),
        ("ms", 1_000_000),
        ("us", 1_000),
        ("ns", 1),
    ];
    let (unit, k) = UNITS
        .iter()
        .find(|(_, k)| ns >= *k && (ns.is_multiple_of(*k) || ns / k >= 10))
        .copied()
        .unwrap_or(("s", 1_000_000_000));
    let v = ns as f64 / k as f64;
    let text = format!("{v:.3}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("\"{text}{unit}\"")
}

#[cfg(test)]
mod tests {
    use super::*;
    fn t(s: &str) -> Quantity {
        Quantity::Text(s.into())
    }
    #[test]
    fn durations() {
        assert_eq!(parse_duration_s(&t("250ms")).unwrap(), 0.25);
        assert_eq!(parse_duration_s(&t("5m")).unwrap(), 300.0);
        assert_eq!(parse_duration_s(&t("1.5h")).unwrap(), 5400.0);
        assert_eq!(parse_duration_s(&Quantity::Number(3.0)).unwrap(), 3.0);
        assert!(parse_duration_s(&t("5 parsecs")).is_err());
        assert!(parse_duration_s(&t("fast")).is_err());
    }
    #[test]
    fn quantities_deserialize_from_numbers_and_strings_only() {
        #[derive(Deserialize)]
        struct W {
            q: Quantity,
        }
        let q = |s: &str| toml::from_str::<W>(s).map(|w| w.q);
        assert_eq!(q("q = 3").unwrap(), Quantity::Number(3.0));
        assert_eq!(q("q = 2.5").unwrap(), Quantity::Number(2.5));
        assert_eq!(q("q = \"5m\"").unwrap(), t("5m"));
        let e = q("q = true").unwrap_err().to_string();
        assert!(
            e.contains("expected a number or a string with a unit"),
            "{e}"
        );
    }
    #[test]
    fn rates_sizes_times() {
        assert_eq!(parse_rate_per_s(&t("120/h")).unwrap(), 120.0 / 3600.0);
        assert_eq!(parse_rate_per_s(&t("8/s")).unwrap(), 8.0);
        assert!(parse_rate_per_s(&t("8")).is_err());
        assert_eq!(parse_bytes(&t("16GB")).unwrap(), 16e9);
        assert_eq!(parse_bytes(&t("40KB")).unwrap(), 40e3);
        assert_eq!(parse_time_of_day_s("09:30").unwrap(), 34200.0);
        assert!(parse_time_of_day_s("25:00").is_err());
    }
}
