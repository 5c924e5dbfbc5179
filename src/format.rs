//! How values are shown: the one place where numbers, durations, ratios,
//! sizes, money, times of day, labels and paths become text.
//!
//! Every output uses it (the table on stdout, `report.md`, the plots, the
//! CSV files, `compare.md`, `size.md`, the cost lines and the calibration
//! table), so that a value reads the same wherever it appears. It depends on
//! nothing but the `Bound` of an SLO and the `Labels` of a metric, so every
//! layer that writes text can use it.

use crate::engine::metrics::Labels;
use crate::scenario::Bound;

/// A value in its unit, humanised: seconds as ms, s, min or h; ratios as %;
/// sizes (`B`, `B/s`) in kB, MB, GB; rates (`1/s`) as `5.16/s`; `-` when
/// there is none.
pub fn fmt_value(v: Option<f64>, unit: &str) -> String {
    let Some(v) = v else { return "-".into() };
    fmt_scaled(v, unit, v)
}

/// A value and a target in one scale, the scale of the larger: `2.6 min`
/// and `2.0 min`, not `154.7 s` and `2.0 min`.
pub fn fmt_pair(value: Option<f64>, target: f64, unit: &str) -> (String, String) {
    let reference = value.map_or(target.abs(), |v| v.abs().max(target.abs()));
    (
        value.map_or("-".into(), |v| fmt_scaled(v, unit, reference)),
        fmt_scaled(target, unit, reference),
    )
}

/// A failing value and its target as [`fmt_value`] shows them, with more
/// decimals in one scale when they would read the same (`5.02 min > 5.00 min`, never
/// `5.0 min > 5.0 min`).
pub fn fmt_distinct(value: Option<f64>, target: f64, unit: &str) -> (String, String) {
    // Each in its own scale (`3.6 min > 300.0 ms`) when that tells them apart.
    let (a, b) = (fmt_value(value, unit), fmt_value(Some(target), unit));
    let Some(v) = value else { return (a, b) };
    if a != b || v == target {
        return (a, b);
    }
    // The scale fmt_pair chose: its text of the reference gives the suffix.
    let reference = v.abs().max(target.abs());
    let (k, suffix) = match unit {
        "s" if reference < 1.0 => (1e3, " ms"),
        "s" if reference < 120.0 => (1.0, " s"),
        "s" if reference < 7200.0 => (1.0 / 60.0, " min"),
        "s" => (1.0 / 3600.0, " h"),
        "ratio" => (100.0, "%"),
        "B" | "B/s" => {
            let (d, _) = byte_unit(reference);
            let u = fmt_scaled(reference, unit, reference);
            let sfx = u
                .rsplit_once(' ')
                .map_or(String::new(), |(_, s)| format!(" {s}"));
            return distinct_digits(v / d, target / d, &sfx);
        }
        "1" | "" => (1.0, ""),
        "1/s" => (1.0, "/s"),
        _ => return distinct_digits(v, target, &format!(" {unit}")),
    };
    distinct_digits(v * k, target * k, suffix)
}

fn distinct_digits(v: f64, t: f64, suffix: &str) -> (String, String) {
    for d in 1..=9 {
        let (a, b) = (format!("{v:.d$}"), format!("{t:.d$}"));
        if a != b {
            return (format!("{a}{suffix}"), format!("{b}{suffix}"));
        }
    }
    (format!("{v}{suffix}"), format!("{t}{suffix}"))
}

/// `v` shown in the scale `reference` would be shown in (so an interval
/// reads `1.98 min .. 4.70 min`, not `118.95 s .. 4.7 min`).
fn fmt_scaled(v: f64, unit: &str, reference: f64) -> String {
    let a = reference.abs();
    match unit {
        "s" => {
            if a == 0.0 && v == 0.0 {
                "0 s".into()
            } else if a < 1.0 {
                format!("{:.1} ms", v * 1e3)
            } else if a < 120.0 {
                format!("{v:.2} s")
            } else if a < 7200.0 {
                format!("{:.1} min", v / 60.0)
            } else {
                format!("{:.2} h", v / 3600.0)
            }
        }
        "ratio" => format!("{:.1}%", v * 100.0),
        // Sizes in the decimal unit the reference reads best in.
        "B" | "B/s" => {
            let per_s = if unit == "B/s" { "/s" } else { "" };
            let (k, u) = byte_unit(a);
            format!("{} {u}{per_s}", fmt_scaled(v / k, "1", a / k))
        }
        _ => {
            let whole = v == v.trunc() && reference == v && a < 1e15;
            let n = if whole && a >= 1000.0 {
                format!("{}{}", if v < 0.0 { "-" } else { "" }, thousands(a as u64))
            } else if whole || a == 0.0 || a >= 100.0 {
                format!("{v:.0}")
            } else if a >= 1.0 {
                format!("{v:.2}")
            } else {
                format!("{v:.4}")
            };
            if unit == "1" || unit.is_empty() {
                n
            } else if unit == "1/s" {
                // A rate of events: "5.16/s", not "5.16 1/s".
                format!("{n}/s")
            } else {
                format!("{n} {unit}")
            }
        }
    }
}

/// A 95% interval in the scale of its mean, `lo .. hi` joined by `sep`;
/// empty when there is none.
pub fn fmt_interval(
    lo: Option<f64>,
    hi: Option<f64>,
    mean: Option<f64>,
    unit: &str,
    sep: &str,
) -> String {
    match (lo, hi) {
        (Some(lo), Some(hi)) => {
            let r = mean.unwrap_or(hi);
            format!(
                "{}{sep}{}",
                fmt_scaled(lo, unit, r),
                fmt_scaled(hi, unit, r)
            )
        }
        _ => String::new(),
    }
}

/// A difference in its unit with its sign: `+2.50 s`, `-1.2%`, `0`.
pub fn signed(v: Option<f64>, unit: &str) -> String {
    match v {
        Some(x) if x > 0.0 => format!("+{}", fmt_value(Some(x), unit)),
        Some(0.0) => "0".into(),
        v => fmt_value(v, unit),
    }
}

/// How values of `unit` are shown on a plot axis whose largest value is
/// `max`: (factor, unit shown). Seconds change scale where [`fmt_value`]
/// does.
pub fn axis_unit(unit: &str, max: f64) -> (f64, String) {
    match unit {
        "s" if max >= 7200.0 => (1.0 / 3600.0, "h".into()),
        "s" if max >= 120.0 => (1.0 / 60.0, "min".into()),
        "s" if max >= 1.0 => (1.0, "s".into()),
        "s" => (1e3, "ms".into()),
        "ratio" => (100.0, "%".into()),
        "1" | "" => (1.0, "count".into()),
        "1/s" => (1.0, "per second".into()),
        u => (1.0, u.to_string()),
    }
}

/// The decimal unit a size of `bytes` reads best in: (divisor, unit).
pub fn byte_unit(bytes: f64) -> (f64, &'static str) {
    [(1e12, "TB"), (1e9, "GB"), (1e6, "MB"), (1e3, "kB")]
        .into_iter()
        .find(|(k, _)| bytes.abs() >= *k)
        .unwrap_or((1.0, "B"))
}

/// A size in the decimal unit that keeps it readable, up to three
/// significant digits: `600 B`, `2.5 kB`, `512 MB`, `7.5 GB` (never rounded
/// to a whole GB).
pub fn size(bytes: f64) -> String {
    let (k, u) = byte_unit(bytes);
    format!("{} {u}", trim_number(bytes / k))
}

/// Up to three significant digits without trailing zeros: `0.25`, `33.3`, `128`.
pub fn trim_number(x: f64) -> String {
    let s = if x.abs() >= 100.0 {
        format!("{x:.0}")
    } else if x.abs() >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    };
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// A count or resource size without a needless fraction, to two decimals:
/// `3`, `0.5`, `2.25`, `120.5`.
pub fn count_str(x: f64) -> String {
    if (x - x.round()).abs() < 1e-9 {
        format!("{x:.0}")
    } else {
        let s = format!("{x:.2}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// Four significant digits (`0.0351`, `3.142`, `1235`), for fitted
/// parameters and measured figures.
pub fn sig4(x: f64) -> String {
    if !x.is_finite() {
        return format!("{x}");
    }
    if x == 0.0 {
        return "0".into();
    }
    let mag = x.abs().log10().floor() as i32;
    let decimals = (3 - mag).clamp(0, 8) as usize;
    format!("{x:.decimals$}")
}

/// A percentage (`pct` is already x 100) to `decimals` places: `12%`, `12.5%`.
pub fn pct(pct: f64, decimals: usize) -> String {
    format!("{pct:.decimals$}%")
}

/// A percentage with its sign: `+6%`, `-1.2%`.
pub fn signed_pct(pct: f64, decimals: usize) -> String {
    format!("{pct:+.decimals$}%")
}

/// An amount of money, whole units grouped by thousands: `$1,234` for USD,
/// `€1,234`, `£1,234`, `1,234 CHF` otherwise.
pub fn money(amount: f64, currency: &str) -> String {
    let rounded = amount.round();
    let grouped = thousands(rounded.abs() as u64);
    let sign = if rounded < 0.0 { "-" } else { "" };
    match currency {
        "USD" => format!("{sign}${grouped}"),
        "EUR" => format!("{sign}€{grouped}"),
        "GBP" => format!("{sign}£{grouped}"),
        c => format!("{sign}{grouped} {c}"),
    }
}

/// An amount of money with cents below 100: `$2.35`, `$1,234`.
pub fn money_cents(amount: f64, currency: &str) -> String {
    if amount.abs() >= 100.0 {
        return money(amount, currency);
    }
    let s = format!("{:.2}", amount.abs());
    let sign = if amount < 0.0 { "-" } else { "" };
    match currency {
        "USD" => format!("{sign}${s}"),
        "EUR" => format!("{sign}€{s}"),
        "GBP" => format!("{sign}£{s}"),
        c => format!("{sign}{s} {c}"),
    }
}

/// A difference of money with its sign: `+$142`, `-$30`, `$0`.
pub fn signed_money(amount: f64, currency: &str) -> String {
    let s = money(amount, currency);
    if amount > 0.0 { format!("+{s}") } else { s }
}

/// Labels as `{k=v,k2=v2}` (empty when there are none), Prometheus style.
pub fn braced(labels: &Labels) -> String {
    if labels.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", label_list(labels, ","))
    }
}

/// Labels as `k=v` joined by `sep` (`replica=0, class=agent` in a legend).
pub fn label_list(labels: &Labels, sep: &str) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(sep)
}

/// Labels as compact JSON (`{}` when empty): `{"class":"dashboard"}`.
pub fn labels_json(l: &Labels) -> String {
    serde_json::to_string(l).expect("a map of strings serialises")
}

/// `Bound` as the symbol used in tables and plots: `≤`, `≥`.
pub fn bound_symbol(b: Bound) -> &'static str {
    match b {
        Bound::AtMost => "≤",
        Bound::AtLeast => "≥",
    }
}

/// The symbol of a value that misses a bound: `>` an "at most", `<` an "at least".
pub fn miss_symbol(b: Bound) -> &'static str {
    match b {
        Bound::AtMost => ">",
        Bound::AtLeast => "<",
    }
}

/// `Bound` as a word in CSV and JSON: `max`, `min`.
pub fn bound_str(b: Bound) -> &'static str {
    match b {
        Bound::AtMost => "max",
        Bound::AtLeast => "min",
    }
}

/// A number in Rust's shortest round-trip form (`0.25`, `3937.0`, `1e-7`),
/// so a value read back from a CSV file is bit-for-bit the value computed.
pub fn exact(x: f64) -> String {
    format!("{x:?}")
}

/// [`exact`], empty when there is no value.
pub fn exact_opt(x: Option<f64>) -> String {
    x.map(exact).unwrap_or_default()
}

/// Seconds since midnight of the first day as `HH:MM` (`d2 HH:MM` from the
/// second day on when `multi_day`).
pub fn clock(s: f64, multi_day: bool) -> String {
    let total_min = (s / 60.0).round().max(0.0) as u64;
    let (day, min) = (total_min / 1440, total_min % 1440);
    let hm = format!("{:02}:{:02}", min / 60, min % 60);
    if multi_day {
        format!("d{} {hm}", day + 1)
    } else {
        hm
    }
}

/// Seconds since midnight of the first day as (day, `HH:MM:SS`): day 1 is
/// the first day.
pub fn day_and_time(s: f64) -> (u64, String) {
    let total = s.round().max(0.0) as u64;
    let (day, sec) = (total / 86_400, total % 86_400);
    (
        day + 1,
        format!("{:02}:{:02}:{:02}", sec / 3600, sec / 60 % 60, sec % 60),
    )
}

/// An integer with thousands separators: `1,500`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// A path with `a/../` folded away (lexically: `scenarios/x/../../models/m.toml`
/// reads `models/m.toml`).
pub fn tidy_path(p: &std::path::Path) -> String {
    use std::path::Component;
    let mut out: Vec<Component> = Vec::new();
    for c in p.components() {
        match c {
            Component::ParentDir if matches!(out.last(), Some(Component::Normal(_))) => {
                out.pop();
            }
            Component::CurDir => {}
            c => out.push(c),
        }
    }
    out.iter()
        .collect::<std::path::PathBuf>()
        .display()
        .to_string()
}

/// `s` as a Markdown table cell: pipes escaped, newlines folded.
pub fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// A CSV cell a spreadsheet will not run: text starting with `=`, `+`, `-`,
/// `@`, a tab or a carriage return (a formula to Excel, LibreOffice and
/// Google Sheets) gets a leading `'`, as OWASP advises. Numbers, negative
/// ones included, are left as they are.
pub fn csv_cell(s: &str) -> std::borrow::Cow<'_, str> {
    let risky = s.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if risky && s.parse::<f64>().is_err() {
        std::borrow::Cow::Owned(format!("'{s}"))
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

/// [`csv_cell`] as bytes, for `csv::Writer::write_record` (no copy unless escaped).
pub fn csv_bytes(s: &str) -> std::borrow::Cow<'_, [u8]> {
    match csv_cell(s) {
        std::borrow::Cow::Borrowed(b) => std::borrow::Cow::Borrowed(b.as_bytes()),
        std::borrow::Cow::Owned(o) => std::borrow::Cow::Owned(o.into_bytes()),
    }
}

/// The days of the week in words, Monday first (the scenario's
/// `start_day` counts from Monday = 0).
pub const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_shows_a_miss_with_enough_digits() {
        // 300.4 s against 300 s reads "5.0 min > 5.0 min" in one decimal.
        assert_eq!(fmt_pair(Some(300.4), 300.0, "s").0, "5.0 min");
        let (v, t) = fmt_distinct(Some(300.4), 300.0, "s");
        assert_ne!(v, t);
        assert_eq!((v.as_str(), t.as_str()), ("5.01 min", "5.00 min"));
        assert_eq!(
            fmt_distinct(Some(0.80012), 0.8, "ratio"),
            ("80.01%".into(), "80.00%".into())
        );
        // Values that already differ are shown as fmt_pair shows them.
        assert_eq!(
            fmt_distinct(Some(906.0), 900.0, "s"),
            fmt_pair(Some(906.0), 900.0, "s")
        );
    }
    use crate::engine::metrics::labels;
    use std::path::Path;

    #[test]
    fn values_read_in_their_unit() {
        assert_eq!(fmt_value(None, "s"), "-");
        assert_eq!(fmt_value(Some(5.16), "1/s"), "5.16/s");
        assert_eq!(fmt_value(Some(120.0), "1/s"), "120/s");
        assert_eq!(fmt_value(Some(128_000.0), "B/s"), "128 kB/s");
        assert_eq!(fmt_value(Some(16e9), "B"), "16 GB");
        assert_eq!(fmt_value(Some(512.0), "B"), "512 B");
        assert_eq!(fmt_value(Some(0.125), "ratio"), "12.5%");
        assert_eq!(fmt_value(Some(3.0), "vCPU"), "3 vCPU");
        assert_eq!(fmt_value(Some(3.25), "vCPU"), "3.25 vCPU");
        assert_eq!(fmt_value(Some(0.5), "1"), "0.5000");
        assert_eq!(fmt_value(Some(1234.4), ""), "1234");
        // Counts read as whole numbers, grouped by thousands.
        assert_eq!(fmt_value(Some(49.0), "1"), "49");
        assert_eq!(fmt_value(Some(3895.0), "1"), "3,895");
        assert_eq!(fmt_value(Some(2.0), "vCPU"), "2 vCPU");
    }

    #[test]
    fn seconds_change_scale_at_one_second_two_minutes_and_two_hours() {
        assert_eq!(fmt_value(Some(0.0), "s"), "0 s");
        assert_eq!(fmt_value(Some(0.25), "s"), "250.0 ms");
        assert_eq!(fmt_value(Some(1.0), "s"), "1.00 s");
        assert_eq!(fmt_value(Some(119.0), "s"), "119.00 s");
        assert_eq!(fmt_value(Some(120.0), "s"), "2.0 min");
        assert_eq!(fmt_value(Some(7200.0), "s"), "2.00 h");
        // The axis of a plot changes scale at the same places.
        assert_eq!(axis_unit("s", 0.5).1, "ms");
        assert_eq!(axis_unit("s", 119.0).1, "s");
        assert_eq!(axis_unit("s", 120.0), (1.0 / 60.0, "min".into()));
        assert_eq!(axis_unit("s", 7200.0).1, "h");
        assert_eq!(axis_unit("ratio", 1.0), (100.0, "%".into()));
        assert_eq!(axis_unit("1/s", 1.0).1, "per second");
        assert_eq!(axis_unit("USD/month", 1.0).1, "USD/month");
    }

    #[test]
    fn an_interval_is_shown_in_the_scale_of_its_mean() {
        assert_eq!(
            fmt_interval(Some(118.95), Some(282.0), Some(200.0), "s", " .. "),
            "2.0 min .. 4.7 min"
        );
        assert_eq!(fmt_interval(None, Some(1.0), Some(1.0), "s", " .. "), "");
        assert_eq!(signed(Some(2.5), "s"), "+2.50 s");
        assert_eq!(signed(Some(0.0), "s"), "0");
        assert_eq!(signed(Some(-0.012), "ratio"), "-1.2%");
        assert_eq!(signed(None, "s"), "-");
        // A value and its target read in one unit.
        assert_eq!(
            fmt_pair(Some(154.665), 120.0, "s"),
            ("2.6 min".into(), "2.0 min".into())
        );
        assert_eq!(
            fmt_pair(Some(0.013), 0.3, "s"),
            ("13.0 ms".into(), "300.0 ms".into())
        );
        assert_eq!(fmt_pair(None, 0.5, "ratio"), ("-".into(), "50.0%".into()));
    }

    #[test]
    fn sizes_keep_their_own_unit() {
        // 7.5 GB is not rounded to 8 GB, nor 512 MB to 0.5 GB.
        assert_eq!(size(7.5e9), "7.5 GB");
        assert_eq!(size(512e6), "512 MB");
        assert_eq!(size(16e9), "16 GB");
        assert_eq!(size(16.0 * 1024f64.powi(3)), "17.2 GB");
        assert_eq!(size(600.0), "600 B");
        assert_eq!(size(2500.0), "2.5 kB");
        assert_eq!(byte_unit(999.0), (1.0, "B"));
        assert_eq!(byte_unit(1e12), (1e12, "TB"));
    }

    #[test]
    fn numbers_without_needless_digits() {
        assert_eq!(trim_number(0.25), "0.25");
        assert_eq!(trim_number(33.33), "33.3");
        assert_eq!(trim_number(128.4), "128");
        assert_eq!(trim_number(2.0), "2");
        assert_eq!(count_str(3.0), "3");
        assert_eq!(count_str(0.5), "0.5");
        assert_eq!(count_str(2.25), "2.25");
        assert_eq!(count_str(120.5), "120.5");
        assert_eq!(sig4(0.0), "0");
        assert_eq!(sig4(1.234567), "1.235");
        assert_eq!(sig4(0.035123), "0.03512");
        assert_eq!(sig4(123456.0), "123456");
        assert_eq!(sig4(f64::INFINITY), "inf");
        assert_eq!(pct(12.4, 0), "12%");
        assert_eq!(pct(12.46, 1), "12.5%");
        assert_eq!(signed_pct(6.2, 0), "+6%");
        assert_eq!(signed_pct(-1.23, 1), "-1.2%");
        assert_eq!(exact(0.25), "0.25");
        assert_eq!(exact(3937.0), "3937.0");
        assert_eq!(exact_opt(None), "");
    }

    #[test]
    fn money_is_grouped() {
        assert_eq!(money(1234567.4, "USD"), "$1,234,567");
        assert_eq!(money(999.6, "USD"), "$1,000");
        assert_eq!(money(-1500.0, "EUR"), "-€1,500");
        assert_eq!(money(12.0, "CHF"), "12 CHF");
        assert_eq!(signed_money(142.0, "USD"), "+$142");
        assert_eq!(money_cents(2.345, "USD"), "$2.35");
        assert_eq!(money_cents(1234.4, "USD"), "$1,234");
        assert_eq!(money_cents(0.5, "CHF"), "0.50 CHF");
        assert_eq!(thousands(1500), "1,500");
        assert_eq!(thousands(12), "12");
        assert_eq!(signed_money(-30.0, "USD"), "-$30");
    }

    #[test]
    fn labels_bounds_times_and_paths() {
        let l = labels([("class", "agent"), ("replica", "0")]);
        assert_eq!(braced(&l), "{class=agent,replica=0}");
        assert_eq!(braced(&Labels::new()), "");
        assert_eq!(label_list(&l, ", "), "class=agent, replica=0");
        assert_eq!(labels_json(&l), r#"{"class":"agent","replica":"0"}"#);
        assert_eq!(labels_json(&Labels::new()), "{}");
        assert_eq!(
            (bound_symbol(Bound::AtMost), bound_symbol(Bound::AtLeast)),
            ("≤", "≥")
        );
        assert_eq!(
            (miss_symbol(Bound::AtMost), miss_symbol(Bound::AtLeast)),
            (">", "<")
        );
        assert_eq!(
            (bound_str(Bound::AtMost), bound_str(Bound::AtLeast)),
            ("max", "min")
        );
        assert_eq!(clock(9.5 * 3600.0, false), "09:30");
        assert_eq!(day_and_time(9.5 * 3600.0 + 5.0), (1, "09:30:05".into()));
        assert_eq!(day_and_time(86_400.0 + 60.0), (2, "00:01:00".into()));
        assert_eq!(clock(86_400.0 + 60.0, true), "d2 00:01");
        assert_eq!(
            tidy_path(Path::new("scenarios/x/../../models/m.toml")),
            "models/m.toml"
        );
        assert_eq!(tidy_path(Path::new("./a/../../b")), "../b");
        assert_eq!(md_cell("a|b\nc"), "a\\|b c");
    }
}

#[cfg(test)]
mod csv_cell_tests {
    use super::csv_cell;
    #[test]
    fn formulas_are_escaped_and_numbers_kept() {
        assert_eq!(csv_cell("=1+1"), "'=1+1");
        assert_eq!(csv_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_cell("+cmd"), "'+cmd");
        assert_eq!(csv_cell("-2+3"), "'-2+3");
        assert_eq!(csv_cell("-0.5"), "-0.5");
        assert_eq!(csv_cell("1e-3"), "1e-3");
        assert_eq!(csv_cell("herd-1500"), "herd-1500");
    }
}
