//! PNG plots of a run (plotters, bitmap backend, no system fonts).
//!
//! The figures and their panels are described in [`super::catalogue`]
//! (`RUN_FIGURES`): `build-queue.png`, `api.png`, `connections.png` and
//! `cpu.png`. Each is drawn only when the run has data for it: a panel
//! whose every value is 0 or missing is left out, and a figure without
//! panels is not written (a build-queue-only run gets `build-queue.png`
//! alone).
//!
//! Each panel row has the whole run on the left, for the figures of
//! `ZOOM_FIGURES` a zoom on the minutes around each main event (at most
//! two) in the middle, and its legend on the right, outside the data. The x
//! axis is the time of day (scenario start time + bucket middle); with more
//! than one replication a shaded band shows the 95% interval of the mean;
//! an SLO on a plotted statistic is a red dashed line; latency is on a
//! logarithmic axis; the events of the run are dotted vertical lines,
//! labelled once across replications ("replica killed at 10:00, 5 of 5
//! replications").
//!
//! [`write_overlay`] draws figures of the same style from given lines (one
//! per architecture for `capsim compare`, told apart by colour, dash and
//! width so that identical lines stay visible, or against a numeric x axis
//! such as users for `capsim size --growth`).

use super::ReportInput;
use super::catalogue::{
    Dash, FIGURE_REQUIRES, LOG_QUANTITIES, PanelSpec, RUN_FIGURES, SeriesLines, Stats,
    ZOOM_EVENT_KINDS, ZOOM_FIGURES, label_words, metric_words, stat_words,
};
use super::events::{Event, events_of};
use super::series::{AggPoint, AggSeries, AggTimeSeries};
use crate::format::{axis_unit, bound_symbol, clock, fmt_value, trim_number};
use crate::model::metric_names::CONNECTIONS_DROPPED_TOTAL;
use crate::scenario::Slo;
use plotters::coord::Shift;
use plotters::coord::ranged1d::{Ranged, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::FontStyle;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;

/// Width and height of every figure, pixels.
pub const SIZE: (u32, u32) = (1400, 1100);
/// Width of the legend column at the right of each panel row, pixels.
const LEGEND_W: u32 = 250;
/// Width of one zoom panel, pixels.
const ZOOM_W: u32 = 290;
/// At most this many zoom panels per row.
const MAX_ZOOMS: usize = 2;

/// DejaVu Sans (assets/LICENSE-DejaVu.txt), embedded so plots never depend
/// on the fonts of the machine.
static FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");
const FAMILY: &str = "sans-serif";

/// Register the embedded font as `sans-serif` (once per process).
pub fn register_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if plotters::style::register_font(FAMILY, FontStyle::Normal, FONT).is_err() {
            panic!("the embedded DejaVu Sans does not parse");
        }
    });
}

/// Colours for data lines (Tableau 10 without its red, which marks SLOs).
const PALETTE: [RGBColor; 9] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];
const SLO_COLOR: RGBColor = RGBColor(214, 39, 40);
const MARK_COLOR: RGBColor = RGBColor(60, 60, 60);

struct Line {
    /// The legend text of the line.
    label: String,
    /// The label set in words, which the colour stands for.
    key: String,
    /// What the dash stands for (`drops`, `reconnects`), if it stands for something.
    style_word: Option<String>,
    color: RGBColor,
    dash: Dash,
    width: u32,
    points: Vec<AggPoint>,
}

struct Threshold {
    value: f64,
    label: String,
}

struct Panel {
    title: String,
    /// What the y axis shows, without the unit ("wait", "connections").
    quantity: String,
    /// Base unit of the values (`s`, `ratio`, `1`, `1/s`, ...).
    unit: String,
    lines: Vec<Line>,
    thresholds: Vec<Threshold>,
    /// A logarithmic y axis ([`LOG_QUANTITIES`]).
    log_y: bool,
}

struct Figure {
    file: &'static str,
    title: String,
    panels: Vec<Panel>,
    /// Zoom panels around the main events ([`ZOOM_FIGURES`]).
    zoom: bool,
}

/// A plot written by [`write_plots`].
#[derive(Clone, Debug, PartialEq)]
pub struct Plot {
    pub file: String,
    pub title: String,
}

/// An event on a figure: a dotted vertical line at `t_s` (seconds since
/// t = 0) with its label.
#[derive(Clone, Debug, PartialEq)]
pub struct EventMark {
    pub t_s: f64,
    pub label: String,
}

/// A zoom window: seconds since t = 0, and its title.
#[derive(Clone, Debug, PartialEq)]
pub struct Zoom {
    pub from_s: f64,
    pub to_s: f64,
    pub title: String,
}

/// The label set of a series in words: `SSH`, `dashboard`, `replica 0`.
fn label_text(s: &AggSeries) -> String {
    s.labels
        .iter()
        .map(|(k, v)| match k.as_str() {
            "class" | "kind" => match label_words(v) {
                "" => "all".to_string(),
                w => w.to_string(),
            },
            k => format!("{} {v}", k.replace('_', " ")),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Line label: the stat and/or the labels, whichever tell lines apart.
fn line_label(s: &AggSeries, with_stat: bool) -> String {
    let l = label_text(s);
    let st = stat_words(&s.stat);
    match (with_stat, l.is_empty()) {
        (true, true) => st.to_string(),
        (true, false) => format!("{l} ({st})"),
        (false, true) => metric_words(&s.name, &s.labels),
        (false, false) => l,
    }
}

/// A consistent colour per label set within a figure.
struct Colors(Vec<String>);
impl Colors {
    fn get(&mut self, key: String) -> RGBColor {
        let i = match self.0.iter().position(|k| *k == key) {
            Some(i) => i,
            None => {
                self.0.push(key);
                self.0.len() - 1
            }
        };
        PALETTE[i % PALETTE.len()]
    }
}

/// SLOs of the scenario on `metric` with one of `stats`.
fn thresholds(slos: &[Slo], metric: &str, stats: &[&str], unit: &str) -> Vec<Threshold> {
    slos.iter()
        .filter(|s| s.metric == metric && stats.contains(&s.stat.as_str()))
        .map(|s| {
            let labels: Vec<String> = s
                .labels
                .values()
                .map(|v| label_words(v).to_string())
                .collect();
            let labels = if labels.is_empty() {
                String::new()
            } else {
                format!(" {}", labels.join(", "))
            };
            Threshold {
                value: s.target,
                label: format!(
                    "SLO:{labels} {} {} {}",
                    stat_words(&s.stat),
                    bound_symbol(s.bound),
                    fmt_value(Some(s.target), unit)
                ),
            }
        })
        .collect()
}

/// A panel with one line per (series of `metric` with a stat in `stats`),
/// coloured by label set (or by stat when there are no labels), the stats
/// after the first dashed when the lines are coloured by label set. `None`
/// when every value is 0 or missing.
fn panel(
    ts: &AggTimeSeries,
    slos: &[Slo],
    colors: &mut Colors,
    metric: &str,
    stats: &[&str],
    title: &str,
    quantity: &str,
) -> Option<Panel> {
    let series: Vec<&AggSeries> = stats.iter().flat_map(|st| ts.all(metric, st)).collect();
    // A panel whose every point is 0 (connections in a run without users,
    // drops in a run without a replica loss) says nothing a plot should.
    if series
        .iter()
        .flat_map(|s| &s.points)
        .all(|p| p.value == 0.0)
    {
        return None;
    }
    let labelled = series.iter().any(|s| !s.labels.is_empty());
    // Unlabelled lines are told apart by stat: colours restart in each panel.
    let mut by_stat = Colors(vec![]);
    let lines = series
        .iter()
        .map(|s| {
            let (color, dash) = if labelled {
                let dash = if s.stat == stats[0] {
                    Dash::Solid
                } else {
                    Dash::Dashed
                };
                (colors.get(label_text(s)), dash)
            } else {
                (by_stat.get(s.stat.clone()), Dash::Solid)
            };
            Line {
                label: line_label(s, stats.len() > 1),
                key: label_text(s),
                style_word: None,
                color,
                dash,
                width: 2,
                points: s.points.clone(),
            }
        })
        .collect();
    let unit = series[0].unit.clone();
    Some(Panel {
        title: title.to_string(),
        quantity: quantity.to_string(),
        thresholds: thresholds(slos, metric, stats, &unit),
        log_y: unit == "s" && LOG_QUANTITIES.contains(&quantity),
        unit,
        lines,
    })
}

/// The statistics of `spec` the run has: each one listed, or the first of
/// a `FirstOf` the run has (none if it has none).
fn stats_of(ts: &AggTimeSeries, spec: &SeriesLines) -> Vec<&'static str> {
    match spec.stats {
        Stats::Each(stats) => stats.to_vec(),
        Stats::FirstOf(stats) => stats
            .iter()
            .copied()
            .find(|st| !ts.all(spec.metric, st).is_empty())
            .into_iter()
            .collect(),
    }
}

/// The lines of one source of a run's panel (see [`panel`]), or `None` if
/// the run lacks them.
fn source_panel(
    input: &ReportInput,
    spec: &SeriesLines,
    panel_spec: &PanelSpec<SeriesLines>,
    colors: &mut Colors,
) -> Option<Panel> {
    let stats = stats_of(input.series, spec);
    if stats.is_empty() {
        return None;
    }
    let ts = if spec.cumulative {
        if !input.series.has(spec.metric) {
            return None;
        }
        input.cumulative
    } else {
        input.series
    };
    let slos = if spec.slos {
        &input.scenario.slos[..]
    } else {
        &[]
    };
    let mut p = panel(
        ts,
        slos,
        colors,
        spec.metric,
        &stats,
        panel_spec.title,
        panel_spec.quantity,
    )?;
    for l in &mut p.lines {
        if let Some(u) = spec.unlabelled
            && l.key.is_empty()
            && stats.len() == 1
        {
            l.label = u.to_string();
            l.key = u.to_string();
            // Named lines of one panel (users present beside running
            // workspaces) each take their own colour of the figure.
            l.color = colors.get(u.to_string());
        }
        if let Some((what, dash)) = spec.prefix {
            l.label = format!("{what}: {}", l.label);
            l.style_word = Some(what.to_string());
            l.dash = dash;
        }
    }
    Some(p)
}

/// The figures of [`RUN_FIGURES`] the run has data for, one colour per
/// label set across the panels of a figure.
fn figures(input: &ReportInput) -> Vec<Figure> {
    let mut figs = Vec::new();
    for spec in RUN_FIGURES {
        let mut colors = Colors(vec![]);
        let mut panels = Vec::new();
        for p in spec.panels {
            // The panel of its first source with data, with the lines of the
            // others after them.
            let mut merged: Option<Panel> = None;
            for l in p.lines {
                if let Some(part) = source_panel(input, l, p, &mut colors) {
                    match &mut merged {
                        Some(m) => m.lines.extend(part.lines),
                        None => merged = Some(part),
                    }
                }
            }
            panels.extend(merged);
        }
        // A figure about one part of the deployment (node pools) only when
        // the run has that part.
        let has_part = FIGURE_REQUIRES
            .iter()
            .filter(|(file, _)| *file == spec.file)
            .all(|(_, metric)| !input.series.all(metric, "mean").is_empty());
        if !panels.is_empty() && has_part {
            figs.push(Figure {
                file: spec.file,
                title: spec.title.to_string(),
                panels,
                zoom: ZOOM_FIGURES.contains(&spec.file),
            });
        }
    }
    figs
}

/// The events of the run as marks on its figures, one per event across
/// replications.
pub fn event_marks(input: &ReportInput) -> Vec<EventMark> {
    let sc = input.scenario;
    let multi_day = (sc.start_time_of_day + sc.duration).as_secs_f64() > 86_400.0;
    events_of(input.replications.marks())
        .iter()
        .map(|e| EventMark {
            t_s: e.first_s,
            label: e.label(
                sc.start_time_of_day.as_secs_f64(),
                multi_day,
                input.replications.len(),
            ),
        })
        .collect()
}

/// The zoom windows of a run: see [`zoom_windows`].
fn zooms(input: &ReportInput, ev: &[Event]) -> Vec<Zoom> {
    let dropped = input.series.all(CONNECTIONS_DROPPED_TOTAL, "count");
    zoom_windows(ev, input.scenario, input.series.bucket_s, &|from, to| {
        dropped
            .iter()
            .flat_map(|s| &s.points)
            .filter(|p| p.bucket_start_s >= from && p.bucket_start_s < to)
            .map(|p| p.value)
            .sum()
    })
}

/// Zoom windows around the main events `ev` of a scenario (kinds of
/// [`ZOOM_EVENT_KINDS`], not a replica or scale-up coming back): at most
/// [`MAX_ZOOMS`], those with the most dropped connections (`drops(from,
/// to)`) first, shown in time order, never overlapping. A window runs from
/// 15 minutes (at least 3 buckets) before the event to 30 minutes (at least
/// 6 buckets) after it, within the measured run.
pub fn zoom_windows(
    ev: &[Event],
    sc: &crate::scenario::Scenario,
    bucket_s: f64,
    drops: &dyn Fn(f64, f64) -> f64,
) -> Vec<Zoom> {
    let (before, after) = ((3.0 * bucket_s).max(900.0), (6.0 * bucket_s).max(1800.0));
    let run_from = sc.warmup.as_secs_f64();
    let run_to = sc.duration.as_secs_f64();
    let multi_day = (sc.start_time_of_day + sc.duration).as_secs_f64() > 86_400.0;
    let tod0 = sc.start_time_of_day.as_secs_f64();
    let mut cands: Vec<(f64, Zoom)> = ev
        .iter()
        .filter(|e| ZOOM_EVENT_KINDS.contains(&e.kind.as_str()))
        .filter(|e| !e.words.contains("scale up") && !e.words.contains(" up ("))
        .map(|e| {
            let from = (e.first_s - before).max(run_from);
            let to = (e.last_s + after).min(run_to);
            let z = Zoom {
                from_s: from,
                to_s: to,
                title: format!("{} at {}", e.words, clock(tod0 + e.first_s, multi_day)),
            };
            (drops(from, to), z)
        })
        .filter(|(_, z)| z.to_s > z.from_s)
        .collect();
    // Most drops first (ties: earlier first), then the chosen in time order.
    cands.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.from_s.total_cmp(&b.1.from_s)));
    let mut chosen: Vec<Zoom> = Vec::new();
    for (_, z) in cands {
        if chosen.len() < MAX_ZOOMS
            && !chosen
                .iter()
                .any(|c| z.from_s < c.to_s && c.from_s < z.to_s)
        {
            chosen.push(z);
        }
    }
    chosen.sort_by(|a, b| a.from_s.total_cmp(&b.from_s));
    chosen
}

/// Most rows of event labels at the top of a panel.
const MARK_ROWS: usize = 4;

/// One event label placed by [`layout_mark_labels`].
#[derive(Clone, Debug, PartialEq)]
struct MarkLabel {
    /// x of the mark the label belongs to (hours, the panel's x unit).
    x: f64,
    /// Row from the top (0 = highest).
    row: usize,
    /// Drawn to the left of the line (it would run past the right edge).
    left: bool,
    text: String,
}

/// Places event labels at the top of a panel so that none overlaps another.
///
/// `xs` are the marks' x in time order and `texts` their labels; `width`
/// gives a label's width in x units and `merge` the distance under which
/// marks count as one group. A group is labelled once per distinct label,
/// anchored at its first mark. Each label takes the highest row where it
/// clears every label already there, drawn to the right of its line, or to
/// the left when it would run past `x1`. Labels that fit in no row are
/// counted, and the last placed label of their group says how many
/// ("+2 more"), so that nothing is drawn over anything else; a lone mark
/// with no room keeps its line and loses its label.
fn layout_mark_labels(
    xs: &[f64],
    texts: &[&str],
    x1: f64,
    merge: f64,
    rows: usize,
    width: &dyn Fn(&str) -> f64,
) -> Vec<MarkLabel> {
    let gap = merge / 2.0;
    let mut row_end = vec![f64::NEG_INFINITY; rows];
    let mut out: Vec<MarkLabel> = Vec::new();
    let mut i = 0;
    while i < xs.len() {
        let x = xs[i];
        let mut j = i;
        let mut distinct: Vec<&str> = Vec::new();
        while j < xs.len() && xs[j] - x <= merge {
            if !distinct.contains(&texts[j]) {
                distinct.push(texts[j]);
            }
            j += 1;
        }
        let mut hidden = 0;
        let mut last_placed = None;
        for text in distinct {
            let w = width(text);
            let left = x + w > x1;
            let (start, end) = if left { (x - w, x) } else { (x, x + w) };
            match (0..rows).find(|&r| row_end[r] + gap <= start) {
                Some(row) => {
                    row_end[row] = end;
                    last_placed = Some(out.len());
                    out.push(MarkLabel {
                        x,
                        row,
                        left,
                        text: text.to_string(),
                    });
                }
                None => hidden += 1,
            }
        }
        if let (true, Some(k)) = (hidden > 0, last_placed) {
            let l = &mut out[k];
            l.text = format!("{} (+{hidden} more)", l.text);
            if !l.left {
                row_end[l.row] = l.x + width(&l.text);
            }
        }
        i = j;
    }
    out
}

/// Split points into runs of consecutive buckets (a skipped bucket is a gap).
fn segments(points: &[AggPoint], bucket_s: f64) -> Vec<&[AggPoint]> {
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..=points.len() {
        let gap = i == points.len()
            || points[i].bucket_start_s - points[i - 1].bucket_start_s > 1.5 * bucket_s;
        if gap {
            out.push(&points[start..i]);
            start = i;
        }
    }
    out.retain(|s| !s.is_empty());
    out
}

type PlotResult<T> = Result<T, Box<dyn std::error::Error>>;

/// The x axis of one chart: a time-of-day range, or plain numbers.
#[derive(Clone)]
struct View {
    /// x range: hours since midnight of the first day (or plain numbers).
    x0_h: f64,
    x1_h: f64,
    tod0_s: f64,
    bucket_s: f64,
    multi_day: bool,
    replications: usize,
    /// A numeric x axis with this description: a point's x is its
    /// `bucket_start_s` as is (see [`write_overlay`]); `None`: time of day.
    numeric_x: Option<String>,
    /// A zoom: fewer ticks, points marked, no event labels.
    zoom: bool,
}

impl View {
    fn x(&self, p: &AggPoint) -> f64 {
        if self.numeric_x.is_some() {
            return p.bucket_start_s;
        }
        (self.tod0_s + p.bucket_start_s + self.bucket_s / 2.0) / 3600.0
    }
    fn in_view(&self, p: &AggPoint) -> bool {
        let x = self.x(p);
        x >= self.x0_h - 1e-9 && x <= self.x1_h + 1e-9
    }
}

/// A tick of a logarithmic seconds axis: `5 ms`, `200 ms`, `2 s`, `3 min`.
fn tick_s(v: f64) -> String {
    if v < 1.0 {
        format!("{} ms", trim_number(v * 1e3))
    } else if v < 120.0 {
        format!("{} s", trim_number(v))
    } else {
        format!("{} min", trim_number(v / 60.0))
    }
}

/// The upper cap of a band on panel `p`: 1 for a ratio panel whose lines
/// stay within 100% (a band never reads above it), else none.
fn ratio_cap(p: &Panel) -> f64 {
    let bounded = p.unit == "ratio"
        && p.lines
            .iter()
            .flat_map(|l| &l.points)
            .all(|q| q.value <= 1.0 + 1e-9);
    if bounded { 1.0 } else { f64::INFINITY }
}

/// The y range of `p` over the points in view: (min, max, factor, unit shown).
/// `headroom` is the fraction of the height kept free above the data, for
/// the event labels.
fn y_range(p: &Panel, view: &View, headroom: f64) -> (f64, f64, f64, String) {
    let band = view.replications > 1;
    let cap = ratio_cap(p);
    let pts = || {
        p.lines
            .iter()
            .flat_map(|l| &l.points)
            .filter(|q| view.in_view(q))
    };
    let hi = |q: &AggPoint| {
        if band {
            q.value.max(q.ci_high.unwrap_or(q.value).min(cap))
        } else {
            q.value
        }
    };
    let raw_max = pts()
        .map(hi)
        .chain(p.thresholds.iter().map(|t| t.value))
        .fold(0.0_f64, f64::max);
    if p.log_y {
        // Only positive values go on a log axis; the range is whole decades
        // around them (and around the SLO targets).
        let min_pos = pts()
            .map(|q| q.value)
            .chain(p.thresholds.iter().map(|t| t.value))
            .filter(|v| *v > 0.0)
            .fold(f64::INFINITY, f64::min);
        let (lo, hi) = if min_pos.is_finite() && raw_max > 0.0 {
            (
                nice_log(min_pos * 0.8, false),
                nice_log(raw_max * 1.2, true),
            )
        } else {
            (0.001, 1.0)
        };
        let hi = if hi <= lo { lo * 10.0 } else { hi };
        let hi = lo * (hi / lo).powf(1.0 / (1.0 - headroom));
        return (lo, hi, 1.0, String::new());
    }
    let non_negative = p
        .lines
        .iter()
        .flat_map(|l| &l.points)
        .all(|q| q.value >= 0.0);
    let raw_min = if non_negative {
        0.0
    } else {
        pts()
            .map(|q| {
                q.value.min(if band {
                    q.ci_low.unwrap_or(q.value)
                } else {
                    q.value
                })
            })
            .fold(0.0_f64, f64::min)
    };
    let (k, unit_shown) = axis_unit(&p.unit, raw_max);
    let mut y1 = raw_max * k * 1.08;
    if !(y1 > 0.0) {
        y1 = 1.0;
    }
    let y0 = raw_min * k * 1.08;
    (y0, y0 + (y1 - y0) / (1.0 - headroom), k, unit_shown)
}

/// Ticks of a logarithmic axis from `lo` to `hi`: labelled ticks at 1, 2
/// and 5 times the powers of ten (every integer multiple when that gives
/// fewer than three, the powers alone when it gives more than eight), and
/// light grid lines at every integer multiple.
fn log_ticks(lo: f64, hi: f64) -> (Vec<f64>, Vec<f64>) {
    let within = |mults: &[f64]| -> Vec<f64> {
        let mut out = Vec::new();
        let mut decade = 10f64.powf(lo.log10().floor());
        while decade <= hi {
            for m in mults {
                let v = m * decade;
                if v >= lo * (1.0 - 1e-9) && v <= hi * (1.0 + 1e-9) {
                    out.push(v);
                }
            }
            decade *= 10.0;
        }
        out
    };
    let all: Vec<f64> = (1..10).map(f64::from).collect();
    let mut bold = within(&[1.0, 2.0, 5.0]);
    if bold.len() < 3 {
        bold = within(&all);
    } else if bold.len() > 8 {
        bold = within(&[1.0]);
    }
    (bold, within(&all))
}

/// The nearest 1, 2 or 5 times a power of ten below `v` (above it when
/// `up`): the ends of a logarithmic axis.
fn nice_log(v: f64, up: bool) -> f64 {
    let decade = 10f64.powf(v.log10().floor());
    let steps = [1.0, 2.0, 5.0, 10.0];
    if up {
        steps
            .iter()
            .map(|m| m * decade)
            .find(|x| *x >= v * (1.0 - 1e-9))
            .unwrap_or(10.0 * decade)
    } else {
        steps
            .iter()
            .rev()
            .map(|m| m * decade)
            .find(|x| *x <= v * (1.0 + 1e-9))
            .unwrap_or(decade)
    }
}

/// Draw a panel's chart over `view` in `area`; `marks` are drawn as dotted
/// lines, labelled when `label_marks` (the top panel of a figure, not a
/// zoom), above the data: the y range keeps room for the labels' rows.
fn draw_chart(
    area: &DrawingArea<BitMapBackend, Shift>,
    p: &Panel,
    view: &View,
    marks: &[EventMark],
    caption: &str,
    label_marks: bool,
) -> PlotResult<()> {
    let label_marks = label_marks && !view.zoom;
    let headroom = if label_marks {
        let mut labels: Vec<&str> = marks
            .iter()
            .filter(|m| {
                let x = (view.tod0_s + m.t_s) / 3600.0;
                x >= view.x0_h && x <= view.x1_h
            })
            .map(|m| m.label.as_str())
            .collect();
        labels.sort_unstable();
        labels.dedup();
        let rows = labels.len().min(MARK_ROWS);
        let (_, h) = area.dim_in_pixel();
        // The plot's height: the panel less its caption, x labels and margin.
        let plot_h = (f64::from(h) - 30.0 - 44.0 - 6.0).max(1.0);
        if rows == 0 {
            0.0
        } else {
            ((8.0 + 18.0 * rows as f64) / plot_h).min(0.5)
        }
    } else {
        0.0
    };
    let (y0, y1, k, unit_shown) = y_range(p, view, headroom);
    let mut b = ChartBuilder::on(area);
    b.caption(caption, (FAMILY, if view.zoom { 16 } else { 19 }))
        .margin_left(8)
        .margin_right(if view.zoom { 14 } else { 18 })
        .margin_top(6)
        .x_label_area_size(44)
        .y_label_area_size(if view.zoom { 74 } else { 84 });
    let y_desc = if p.log_y {
        format!("{} (log scale)", p.quantity)
    } else {
        format!("{} ({unit_shown})", p.quantity)
    };
    if p.log_y {
        let (bold, light) = log_ticks(y0, y1);
        let chart = b.build_cartesian_2d(
            view.x0_h..view.x1_h,
            (y0..y1)
                .log_scale()
                .with_key_points(bold)
                .with_light_points(light),
        )?;
        let fmt = |y: &f64| {
            if p.unit == "s" {
                tick_s(*y)
            } else {
                trim_number(*y)
            }
        };
        draw_into(
            chart,
            p,
            view,
            marks,
            label_marks,
            (y0, y1, 1.0),
            &y_desc,
            &fmt,
        )
    } else {
        let chart = b.build_cartesian_2d(view.x0_h..view.x1_h, y0..y1)?;
        let range = y1 - y0;
        let fmt = move |y: &f64| {
            if range >= 10.0 {
                format!("{y:.0}")
            } else if range >= 1.0 {
                format!("{y:.1}")
            } else {
                format!("{y:.2}")
            }
        };
        draw_into(
            chart,
            p,
            view,
            marks,
            label_marks,
            (y0, y1, k),
            &y_desc,
            &fmt,
        )
    }
}

#[allow(clippy::too_many_arguments)]
fn draw_into<'a, Y>(
    mut chart: ChartContext<'a, BitMapBackend<'a>, Cartesian2d<RangedCoordf64, Y>>,
    p: &Panel,
    view: &View,
    marks: &[EventMark],
    label_marks: bool,
    (y0, y1, k): (f64, f64, f64),
    y_desc: &str,
    yfmt: &dyn Fn(&f64) -> String,
) -> PlotResult<()>
where
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let band = view.replications > 1;
    let multi_day = view.multi_day;
    let numeric = view.numeric_x.is_some();
    let xfmt = move |x: &f64| {
        if numeric {
            format!("{x:.0}")
        } else {
            clock(x * 3600.0, multi_day)
        }
    };
    chart
        .configure_mesh()
        .x_desc(view.numeric_x.as_deref().unwrap_or(if view.zoom {
            "time of day"
        } else {
            "time of day (HH:MM)"
        }))
        .y_desc(y_desc)
        .x_label_formatter(&xfmt)
        .y_label_formatter(&yfmt)
        .x_labels(if view.zoom { 4 } else { 13 })
        .y_labels(6)
        .label_style((FAMILY, 15))
        .axis_desc_style((FAMILY, 16))
        .max_light_lines(if p.log_y { 8 } else { 2 })
        .light_line_style(RGBColor(240, 240, 240))
        .bold_line_style(RGBColor(210, 210, 210))
        .draw()?;

    // On a log axis nothing is drawn at or below 0: clamp to the bottom.
    let floor = |v: f64| if p.log_y { v.max(y0) } else { v };
    let cap = ratio_cap(p);
    let non_negative = p
        .lines
        .iter()
        .flat_map(|l| &l.points)
        .all(|q| q.value >= 0.0);
    for l in &p.lines {
        let pts: Vec<AggPoint> = l
            .points
            .iter()
            .filter(|q| view.in_view(q))
            .cloned()
            .collect();
        let segs = segments(&pts, view.bucket_s);
        if band {
            for seg in &segs {
                let upper = seg
                    .iter()
                    .map(|q| (view.x(q), floor(q.ci_high.unwrap_or(q.value).min(cap) * k)));
                let lower = seg.iter().rev().map(|q| {
                    let lo = q.ci_low.unwrap_or(q.value);
                    let lo = if non_negative { lo.max(0.0) } else { lo };
                    (view.x(q), floor(lo * k))
                });
                let poly: Vec<(f64, f64)> = upper.chain(lower).collect();
                chart.draw_series(std::iter::once(Polygon::new(
                    poly,
                    l.color.mix(0.16).filled(),
                )))?;
            }
        }
        let style = l.color.stroke_width(l.width);
        for seg in &segs {
            let pts: Vec<(f64, f64)> = if seg.len() == 1 && !view.zoom {
                // A lone bucket: a short flat line across it, so it shows.
                let q = &seg[0];
                let h = if numeric {
                    (view.x1_h - view.x0_h) / 100.0
                } else {
                    view.bucket_s / 3600.0 / 2.0
                };
                vec![
                    (view.x(q) - h, floor(q.value * k)),
                    (view.x(q) + h, floor(q.value * k)),
                ]
            } else {
                seg.iter()
                    .map(|q| (view.x(q), floor(q.value * k)))
                    .collect()
            };
            match l.dash {
                Dash::Solid => chart.draw_series(LineSeries::new(pts.clone(), style))?,
                Dash::Dashed => {
                    chart.draw_series(DashedLineSeries::new(pts.clone(), 9, 5, style))?
                }
                Dash::Dotted => {
                    chart.draw_series(DashedLineSeries::new(pts.clone(), 2, 4, style))?
                }
            };
            if view.zoom || numeric {
                // Each bucket (or each point of a numeric axis) as a dot.
                chart.draw_series(
                    pts.iter()
                        .map(|&(x, y)| Circle::new((x, y), 3, l.color.filled())),
                )?;
            }
        }
    }
    for t in &p.thresholds {
        let y = floor(t.value * k);
        if y < y0 || y > y1 {
            continue;
        }
        chart.draw_series(DashedLineSeries::new(
            vec![(view.x0_h, y), (view.x1_h, y)],
            10,
            6,
            SLO_COLOR.stroke_width(2),
        ))?;
    }
    let font = TextStyle::from((FAMILY, 14).into_font()).color(&MARK_COLOR);
    let (plot_px, plot_py) = {
        let (xr, yr) = chart.plotting_area().get_pixel_range();
        (
            f64::from((xr.end - xr.start).max(1)),
            f64::from((yr.end - yr.start).max(1)),
        )
    };
    let per_px = (view.x1_h - view.x0_h) / plot_px;
    let in_view: Vec<(f64, &EventMark)> = marks
        .iter()
        .map(|m| ((view.tod0_s + m.t_s) / 3600.0, m))
        .filter(|(x, _)| *x >= view.x0_h && *x <= view.x1_h)
        .collect();
    for (x, _) in &in_view {
        chart.draw_series(DashedLineSeries::new(
            vec![(*x, y0), (*x, y1)],
            3,
            3,
            MARK_COLOR.stroke_width(1),
        ))?;
    }
    if !label_marks {
        return Ok(());
    }
    let xs: Vec<f64> = in_view.iter().map(|(x, _)| *x).collect();
    let texts: Vec<&str> = in_view.iter().map(|(_, m)| m.label.as_str()).collect();
    let area = chart.plotting_area().strip_coord_spec();
    let width = |t: &str| {
        let w = area
            .estimate_text_size(&format!(" {t} "), &font)
            .map_or(8 * t.len() as u32, |(w, _)| w);
        f64::from(w) * per_px
    };
    // At most the rows that fit in the top half of the panel.
    let rows = MARK_ROWS.min(((plot_py / 2.0 / 18.0) as usize).max(1));
    let labels = layout_mark_labels(&xs, &texts, view.x1_h, 12.0 * per_px, rows, &width);
    let (xr, _) = chart.plotting_area().get_pixel_range();
    for l in labels {
        // Rows 18 px apart from just under the top, in pixels of the area.
        let px = xr.start as f64 + (l.x - view.x0_h) / per_px;
        let py = 4 + 18 * l.row as i32;
        let w = width(&l.text) / per_px;
        let (bx0, bx1) = if l.left { (px - w, px) } else { (px, px + w) };
        let rel = |x: f64| (x - xr.start as f64) as i32;
        area.draw(&Rectangle::new(
            [(rel(bx0), py), (rel(bx1), py + 17)],
            WHITE.mix(0.8).filled(),
        ))?;
        let style = if l.left {
            font.pos(Pos::new(HPos::Right, VPos::Top))
        } else {
            font.pos(Pos::new(HPos::Left, VPos::Top))
        };
        area.draw(&Text::new(
            format!(" {} ", l.text),
            (rel(px), py + 1),
            style.clone(),
        ))?;
    }
    Ok(())
}

/// The legend of a panel, drawn in its own column (never over the data):
/// one entry per colour (a label set) and, when the dash of a line stands
/// for something (drops, reconnects), one entry per dash; then the SLOs,
/// the band and the events.
fn draw_legend(
    area: &DrawingArea<BitMapBackend, Shift>,
    p: &Panel,
    band: bool,
    events: bool,
) -> PlotResult<()> {
    enum Sample {
        Line(RGBColor, Dash, u32),
        Band(RGBColor),
    }
    let mut entries: Vec<(Sample, String)> = Vec::new();
    let styled = p.lines.iter().any(|l| l.style_word.is_some());
    if styled {
        let mut keys: Vec<(String, RGBColor)> = Vec::new();
        let mut words: Vec<(String, Dash)> = Vec::new();
        for l in &p.lines {
            if !keys.iter().any(|k| k.0 == l.key) {
                keys.push((l.key.clone(), l.color));
            }
            if let Some(w) = &l.style_word
                && !words.iter().any(|x| &x.0 == w)
            {
                words.push((w.clone(), l.dash));
            }
        }
        for (k, c) in keys {
            entries.push((Sample::Line(c, Dash::Solid, 2), k));
        }
        for (w, d) in words {
            entries.push((Sample::Line(MARK_COLOR, d, 2), w));
        }
    } else {
        for l in &p.lines {
            entries.push((
                Sample::Line(l.color, l.dash, l.width.min(4)),
                l.label.clone(),
            ));
        }
    }
    for t in &p.thresholds {
        entries.push((Sample::Line(SLO_COLOR, Dash::Dashed, 2), t.label.clone()));
    }
    if band {
        entries.push((Sample::Band(RGBColor(120, 120, 120)), "95% interval".into()));
    }
    if events {
        entries.push((Sample::Line(MARK_COLOR, Dash::Dotted, 1), "event".into()));
    }
    let (_, h) = area.dim_in_pixel();
    let font = TextStyle::from((FAMILY, 15).into_font());
    // Each entry's text in at most two lines of the column.
    let texts: Vec<Vec<String>> = entries
        .iter()
        .map(|(_, t)| wrap_text(area, t, &font, LEGEND_W - 46, 2))
        .collect();
    let (line_h, gap, top) = (17, 6, 34);
    let bottom = h as i32 - 24;
    let mut y = top;
    let mut shown = 0;
    for ((sample, _), lines) in entries.iter().zip(&texts) {
        let need = line_h * lines.len() as i32;
        // Keep a row for "+N more" unless this is the last entry.
        let reserve = if shown + 1 < entries.len() { line_h } else { 0 };
        if y + need + reserve > bottom {
            break;
        }
        match sample {
            Sample::Line(c, d, w) => {
                let pts = vec![(6, y), (34, y)];
                let style = c.stroke_width(*w);
                match d {
                    Dash::Solid => area.draw(&PathElement::new(pts, style))?,
                    Dash::Dashed => area.draw(&DashedPathElement::new(pts, 7, 4, style))?,
                    Dash::Dotted => area.draw(&DashedPathElement::new(pts, 2, 3, style))?,
                }
            }
            Sample::Band(c) => area.draw(&Rectangle::new(
                [(6, y - 6), (34, y + 6)],
                c.mix(0.25).filled(),
            ))?,
        }
        for (i, t) in lines.iter().enumerate() {
            area.draw(&Text::new(
                t.clone(),
                (40, y + line_h * i as i32),
                font.pos(Pos::new(HPos::Left, VPos::Center)),
            ))?;
        }
        y += need + gap;
        shown += 1;
    }
    if shown < entries.len() {
        area.draw(&Text::new(
            format!("+{} more", entries.len() - shown),
            (40, y),
            font.pos(Pos::new(HPos::Left, VPos::Center)),
        ))?;
    }
    Ok(())
}

/// `text` in at most `max_lines` lines of at most `max_px` pixels of
/// `font`, broken between words; the last line ends in `…` when cut.
fn wrap_text(
    area: &DrawingArea<BitMapBackend, Shift>,
    text: &str,
    font: &TextStyle,
    max_px: u32,
    max_lines: usize,
) -> Vec<String> {
    let fits = |t: &str| {
        area.estimate_text_size(t, font)
            .is_ok_and(|(w, _)| w <= max_px)
    };
    let mut lines: Vec<String> = Vec::new();
    let mut cur = String::new();
    for word in text.split_whitespace() {
        let next = if cur.is_empty() {
            word.to_string()
        } else {
            format!("{cur} {word}")
        };
        if fits(&next) || cur.is_empty() {
            cur = next;
        } else {
            lines.push(std::mem::replace(&mut cur, word.to_string()));
        }
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    let cut = lines.len() > max_lines;
    lines.truncate(max_lines);
    if let Some(last) = lines.last_mut()
        && (cut || !fits(last))
    {
        let mut chars: Vec<char> = last.chars().collect();
        loop {
            let t = format!("{}…", chars.iter().collect::<String>().trim_end());
            if fits(&t) || chars.is_empty() {
                *last = t;
                break;
            }
            chars.pop();
        }
    }
    lines
}

fn draw_figure(
    path: &Path,
    fig: &Figure,
    view: &View,
    marks: &[EventMark],
    zooms: &[Zoom],
) -> PlotResult<()> {
    let root = BitMapBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let body = root.titled(&fig.title, (FAMILY, 28))?;
    let rows = body.split_evenly((fig.panels.len(), 1));
    let zooms: &[Zoom] = if fig.zoom { zooms } else { &[] };
    for (i, (row, p)) in rows.iter().zip(&fig.panels).enumerate() {
        let (w, _) = row.dim_in_pixel();
        let main_w = w - LEGEND_W - ZOOM_W * zooms.len() as u32;
        let (main, rest) = row.split_horizontally(main_w);
        draw_chart(&main, p, view, marks, &p.title, i == 0)?;
        let (zoom_area, legend) = rest.split_horizontally(ZOOM_W * zooms.len() as u32);
        if !zooms.is_empty() {
            let cells = zoom_area.split_evenly((1, zooms.len()));
            for (cell, z) in cells.iter().zip(zooms) {
                let zv = View {
                    x0_h: (view.tod0_s + z.from_s) / 3600.0,
                    x1_h: (view.tod0_s + z.to_s) / 3600.0,
                    zoom: true,
                    ..view.clone()
                };
                draw_chart(cell, p, &zv, marks, &format!("zoom: {}", z.title), false)?;
            }
        }
        let has_marks = marks.iter().any(|m| {
            let x = (view.tod0_s + m.t_s) / 3600.0;
            x >= view.x0_h && x <= view.x1_h
        });
        draw_legend(&legend, p, view.replications > 1, has_marks)?;
    }
    root.present()?;
    Ok(())
}

/// Draw every figure the run has data for into `dir`; returns what was written.
pub fn write_plots(dir: &Path, input: &ReportInput) -> anyhow::Result<Vec<Plot>> {
    register_font();
    let sc = input.scenario;
    let view = View {
        tod0_s: sc.start_time_of_day.as_secs_f64(),
        x0_h: (sc.start_time_of_day + sc.warmup).as_secs_f64() / 3600.0,
        x1_h: (sc.start_time_of_day + sc.duration).as_secs_f64() / 3600.0,
        bucket_s: input.series.bucket_s,
        multi_day: (sc.start_time_of_day + sc.duration).as_secs_f64() > 86_400.0,
        replications: input.replications.len(),
        numeric_x: None,
        zoom: false,
    };
    let marks = event_marks(input);
    let zooms = zooms(input, &events_of(input.replications.marks()));
    let mut out = Vec::new();
    for fig in figures(input) {
        let path = dir.join(fig.file);
        draw_figure(&path, &fig, &view, &marks, &zooms)
            .map_err(|e| anyhow::anyhow!("cannot draw {}: {e}", path.display()))?;
        out.push(Plot {
            file: fig.file.to_string(),
            title: fig.title,
        });
    }
    Ok(out)
}

/// One line of an overlay figure (one architecture, say).
pub struct OverlayLine {
    pub label: String,
    pub points: Vec<AggPoint>,
}

/// A panel of an overlay figure: lines coloured by their position, so line
/// `i` has the same colour in every panel.
pub struct OverlayPanel {
    pub title: String,
    /// What the y axis shows, without the unit.
    pub quantity: String,
    /// Base unit of the values (`s`, `ratio`, `1`, ...).
    pub unit: String,
    pub lines: Vec<OverlayLine>,
    /// Draw the SLOs on this metric and these statistics.
    pub slo_metric: Option<(String, Vec<String>)>,
}

/// The x axis of an overlay figure.
pub enum OverlayX<'a> {
    /// Time of day, from this scenario's start, warm-up and duration; points
    /// are buckets (`bucket_start_s` since t = 0).
    TimeOfDay {
        scenario: &'a crate::scenario::Scenario,
        bucket_s: f64,
    },
    /// A plain number (`bucket_start_s` holds x), with this axis description.
    Value(String),
}

/// The look of line `i` of `n` in an overlay: its own colour, dash and
/// width, the first widest and drawn first, so that lines that coincide
/// (two architectures with the same build queue) all stay visible.
fn overlay_style(i: usize, n: usize) -> (RGBColor, Dash, u32) {
    let dash = [Dash::Solid, Dash::Dashed, Dash::Dotted][i % 3];
    let width = 2 + 2 * (n.saturating_sub(1 + i)).min(3) as u32;
    (PALETTE[i % PALETTE.len()], dash, width)
}

/// The events of an overlaid figure: marks (labelled dotted lines) and the
/// windows of the zoom panels.
#[derive(Clone, Copy, Debug, Default)]
pub struct OverlayEvents<'a> {
    pub marks: &'a [EventMark],
    pub zooms: &'a [Zoom],
}

/// Draw `panels` (one above the other) into `path`, one line per
/// [`OverlayLine`], a shaded 95% band when `replications` > 1, `marks`
/// as labelled dotted lines and, beside each panel, a zoom on each of
/// `zooms` (a time-of-day axis only).
pub fn write_overlay(
    path: &Path,
    title: &str,
    x: OverlayX,
    slos: &[Slo],
    replications: usize,
    panels: Vec<OverlayPanel>,
    events: OverlayEvents,
) -> anyhow::Result<()> {
    let OverlayEvents { marks, zooms } = events;
    register_font();
    let view = match x {
        OverlayX::TimeOfDay {
            scenario: sc,
            bucket_s,
        } => View {
            tod0_s: sc.start_time_of_day.as_secs_f64(),
            x0_h: (sc.start_time_of_day + sc.warmup).as_secs_f64() / 3600.0,
            x1_h: (sc.start_time_of_day + sc.duration).as_secs_f64() / 3600.0,
            bucket_s,
            multi_day: (sc.start_time_of_day + sc.duration).as_secs_f64() > 86_400.0,
            replications,
            numeric_x: None,
            zoom: false,
        },
        OverlayX::Value(desc) => {
            let xs = panels
                .iter()
                .flat_map(|p| &p.lines)
                .flat_map(|l| &l.points)
                .map(|q| q.bucket_start_s);
            let (lo, hi) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
                (a.min(x), b.max(x))
            });
            let (lo, hi) = if lo < hi {
                (lo, hi)
            } else {
                (lo - 1.0, lo + 1.0)
            };
            let pad = (hi - lo) * 0.03;
            View {
                tod0_s: 0.0,
                x0_h: lo - pad,
                x1_h: hi + pad,
                bucket_s: f64::INFINITY,
                multi_day: false,
                replications,
                numeric_x: Some(desc),
                zoom: false,
            }
        }
    };
    let zoom = !zooms.is_empty() && view.numeric_x.is_none();
    let fig = Figure {
        file: "overlay",
        title: title.to_string(),
        zoom,
        panels: panels
            .into_iter()
            .map(|p| {
                let thresholds = match &p.slo_metric {
                    Some((m, stats)) => {
                        let stats: Vec<&str> = stats.iter().map(String::as_str).collect();
                        thresholds(slos, m, &stats, &p.unit)
                    }
                    None => Vec::new(),
                };
                let n = p.lines.len();
                Panel {
                    log_y: p.unit == "s" && LOG_QUANTITIES.contains(&p.quantity.as_str()),
                    title: p.title,
                    quantity: p.quantity,
                    unit: p.unit,
                    thresholds,
                    lines: p
                        .lines
                        .into_iter()
                        .enumerate()
                        .map(|(i, l)| {
                            let (color, dash, width) = overlay_style(i, n);
                            Line {
                                key: l.label.clone(),
                                label: l.label,
                                style_word: None,
                                color,
                                dash,
                                width,
                                points: l.points,
                            }
                        })
                        .collect(),
                }
            })
            .collect(),
    };
    draw_figure(path, &fig, &view, marks, zooms)
        .map_err(|e| anyhow::anyhow!("cannot draw {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_axis_ends_are_one_two_or_five_times_a_power_of_ten() {
        assert_eq!(nice_log(0.0124, false), 0.01);
        assert_eq!(nice_log(0.0124, true), 0.02);
        assert_eq!(nice_log(1.13, true), 2.0);
        assert_eq!(nice_log(0.3, false), 0.2);
        assert_eq!(nice_log(6.0, true), 10.0);
        assert_eq!(nice_log(5.0, true), 5.0);
    }

    #[test]
    fn log_ticks_label_one_two_five_and_never_leave_an_axis_bare() {
        let close = |a: &[f64], b: &[f64]| {
            a.len() == b.len()
                && a.iter()
                    .zip(b)
                    .all(|(x, y)| (x - y).abs() < 1e-12 * y.abs())
        };
        let (bold, light) = log_ticks(0.005, 2.0);
        // Nine 1-2-5 ticks are too many: decades alone.
        assert!(close(&bold, &[0.01, 0.1, 1.0]), "{bold:?}");
        // Light lines: 5..9 ms, 10..90 ms, 100..900 ms, 1 s and 2 s.
        assert_eq!(light.len(), 5 + 9 + 9 + 2);
        // A narrow range (a zoom on a flat 220 ms line) still gets ticks.
        let (bold, _) = log_ticks(0.1, 0.5);
        assert!(close(&bold, &[0.1, 0.2, 0.5]), "{bold:?}");
        let (bold, _) = log_ticks(0.2, 0.5);
        assert!(close(&bold, &[0.2, 0.3, 0.4, 0.5]), "{bold:?}");
    }

    #[test]
    fn overlaid_lines_differ_in_dash_and_the_first_is_widest() {
        let styles: Vec<_> = (0..3).map(|i| overlay_style(i, 3)).collect();
        assert_ne!(styles[0].1, styles[1].1);
        assert_ne!(styles[1].1, styles[2].1);
        assert!(styles[0].2 > styles[1].2 && styles[1].2 > styles[2].2);
        assert_ne!(styles[0].0, styles[1].0);
    }

    #[test]
    fn zooms_go_to_the_events_with_most_drops_never_to_a_replica_coming_back() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let sc =
            crate::scenario::load(&root.join("scenarios/coder/replica-crash-peak.toml")).unwrap();
        let ev = |kind: &str, words: &str, t: f64| Event {
            kind: kind.into(),
            words: words.into(),
            first_s: t,
            last_s: t,
            replications: 1,
        };
        let h = 3600.0;
        let events = [
            ev("replica-loss", "replica killed", 9.0 * h),
            ev("replica-loss", "replica up (3 replicas)", 9.0 * h + 60.0),
            ev("outage", "database outage", 12.0 * h),
            ev("replica-loss", "replica killed", 15.0 * h),
            ev("phase", "peak", 16.0 * h),
        ];
        // Drops: most around 15:00, then 09:00, none at 12:00.
        let drops = |from: f64, to: f64| {
            let at = |t: f64| (from..to).contains(&t);
            if at(15.0 * h) {
                100.0
            } else if at(9.0 * h) {
                10.0
            } else {
                0.0
            }
        };
        let z = zoom_windows(&events, &sc, 300.0, &drops);
        assert_eq!(z.len(), MAX_ZOOMS);
        // In time order, the crash at 09:00 and the one at 15:00.
        assert!(z[0].title.starts_with("replica killed at"), "{z:?}");
        assert!(z[0].from_s < 9.0 * h && z[0].to_s > 9.0 * h);
        assert!(z[1].from_s < 15.0 * h && z[1].to_s > 15.0 * h);
        assert!(z[0].to_s <= z[1].from_s);
        assert!(z.iter().all(|w| !w.title.contains(" up (")));
    }

    /// Every label is 1 x unit wide; the plot ends at x = 100.
    fn layout(xs: &[f64], texts: &[&str], rows: usize) -> Vec<MarkLabel> {
        layout_mark_labels(xs, texts, 100.0, 0.5, rows, &|t: &str| {
            t.len() as f64 / 10.0
        })
    }

    fn overlaps(a: &MarkLabel, b: &MarkLabel) -> bool {
        let span = |l: &MarkLabel| {
            let w = l.text.len() as f64 / 10.0;
            if l.left {
                (l.x - w, l.x)
            } else {
                (l.x, l.x + w)
            }
        };
        let ((a0, a1), (b0, b1)) = (span(a), span(b));
        a.row == b.row && a0 < b1 && b0 < a1
    }

    #[test]
    fn marks_close_together_are_labelled_once_per_distinct_label() {
        // Five replications lose replica 2 at 10:00 and get it back between
        // 10:01 and 10:02.
        let xs = [10.0, 10.01, 10.02, 10.02, 10.03, 10.03];
        let texts = [
            "replica 2 killed",
            "replica 2 up",
            "replica 2 up",
            "replica 2 up",
            "replica 2 up",
            "replica 2 up",
        ];
        let l = layout(&xs, &texts, 4);
        let shown: Vec<&str> = l.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(shown, ["replica 2 killed", "replica 2 up"]);
        assert_eq!((l[0].row, l[1].row), (0, 1));
        assert!(!overlaps(&l[0], &l[1]));
    }

    #[test]
    fn no_two_labels_overlap_when_rows_run_out() {
        let xs: Vec<f64> = (0..40).map(|i| 10.0 + 0.6 * i as f64).collect();
        let texts: Vec<String> = (0..40)
            .map(|i| format!("a much longer event number {i}"))
            .collect();
        let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
        let l = layout(&xs, &texts, 3);
        for (i, a) in l.iter().enumerate() {
            assert!(a.row < 3);
            for b in &l[i + 1..] {
                assert!(!overlaps(a, b), "{a:?} overlaps {b:?}");
            }
        }
        // Labels 2.9 wide every 0.6 need five rows: with three, some are
        // left out (their lines are still drawn).
        assert!(l.len() < 40 && l.len() >= 20, "{}", l.len());
    }

    #[test]
    fn group_beyond_its_rows_says_how_many_are_hidden() {
        let xs = [50.0, 50.1, 50.2];
        let l = layout(&xs, &["a", "b", "c"], 2);
        let shown: Vec<&str> = l.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(shown, ["a", "b (+1 more)"]);
    }

    #[test]
    fn label_near_the_right_edge_is_drawn_to_the_left_of_its_line() {
        let l = layout(&[99.5], &["a long label"], 4);
        assert!(l[0].left);
        let l = layout(&[50.0], &["a long label"], 4);
        assert!(!l[0].left);
    }
}
