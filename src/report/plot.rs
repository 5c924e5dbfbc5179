//! PNG plots of a run (plotters, bitmap backend, no system fonts).
//!
//! The figures and their panels are described in [`super::catalogue`]
//! (`RUN_FIGURES`): `build-queue.png`, `api.png`, `connections.png` and
//! `cpu.png`. Each is drawn only when the run has at least one of its
//! metrics, and each panel only when its metric is there (so the code works
//! with a build-queue-only model and lights up as the model grows).
//!
//! Every panel has a title, axis labels with units, a legend and the time of
//! day on the x axis (scenario start time + bucket middle). With more than one
//! replication a shaded band shows the 95% interval of the mean; an SLO on a
//! plotted statistic is a red dashed line; replica losses, scale events and
//! other marks of the run are dotted vertical lines.
//!
//! [`write_overlay`] draws figures of the same style from given lines (one
//! per architecture for `capsim compare`, or against a numeric x axis such
//! as users for `capsim size --growth`).

use super::ReportInput;
use super::catalogue::{Dash, PanelSpec, RUN_FIGURES, SeriesLines, Stats};
use super::series::{AggPoint, AggSeries, AggTimeSeries, aggregate_with, cumulative};
use crate::format::{axis_unit, bound_symbol, braced, clock, fmt_value, label_list};
use crate::result::Mark;
use crate::scenario::Slo;
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::FontStyle;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;

/// Width and height of every figure, pixels.
pub const SIZE: (u32, u32) = (1200, 1000);

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
    label: String,
    color: RGBColor,
    dash: Dash,
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
}

struct Figure {
    file: &'static str,
    title: String,
    panels: Vec<Panel>,
}

/// A plot written by [`write_plots`].
#[derive(Clone, Debug, PartialEq)]
pub struct Plot {
    pub file: String,
    pub title: String,
}

fn label_text(s: &AggSeries) -> String {
    label_list(&s.labels, ", ")
}

/// Line label: the stat and/or the labels, whichever tell lines apart.
fn line_label(s: &AggSeries, with_stat: bool) -> String {
    let l = label_text(s);
    match (with_stat, l.is_empty()) {
        (true, true) => s.stat.clone(),
        (true, false) => format!("{} {l}", s.stat),
        (false, true) => s.name.clone(),
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
            let labels = braced(&s.labels);
            Threshold {
                value: s.target,
                label: format!(
                    "SLO: {}{labels} {} {}",
                    s.stat,
                    bound_symbol(s.bound),
                    fmt_value(Some(s.target), unit)
                ),
            }
        })
        .collect()
}

/// A panel with one line per (series of `metric` with a stat in `stats`),
/// coloured by label set (or by stat when there are no labels), the stats
/// after the first dashed when the lines are coloured by label set.
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
                color,
                dash,
                points: s.points.clone(),
            }
        })
        .collect();
    let unit = series[0].unit.clone();
    Some(Panel {
        title: title.to_string(),
        quantity: quantity.to_string(),
        thresholds: thresholds(slos, metric, stats, &unit),
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
    let cum;
    let ts = if spec.cumulative {
        if !input.series.has(spec.metric) {
            return None;
        }
        cum = aggregate_with(input.runs, |s| {
            if s.name == spec.metric && stats.contains(&s.stat.as_str()) {
                cumulative(&s.values)
            } else {
                Vec::new()
            }
        });
        &cum
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
            && l.label == spec.metric
        {
            l.label = u.to_string();
        }
        if let Some((what, dash)) = spec.prefix {
            l.label = format!("{what} {}", l.label);
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
        if !panels.is_empty() {
            figs.push(Figure {
                file: spec.file,
                title: spec.title.to_string(),
                panels,
            });
        }
    }
    figs
}

/// Marks of every replication, once each, in time order.
pub fn marks(input: &ReportInput) -> Vec<Mark> {
    let mut all: Vec<Mark> = input.runs.iter().flat_map(|r| r.marks.clone()).collect();
    all.sort_by(|a, b| {
        a.t_s
            .total_cmp(&b.t_s)
            .then_with(|| a.kind.cmp(&b.kind))
            .then_with(|| a.label.cmp(&b.label))
    });
    all.dedup();
    all
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
/// anchored at its first mark (replications that lose a replica a few
/// seconds apart get one label, not five). Each label takes the highest row
/// where it clears every label already there, drawn to the right of its
/// line, or to the left when it would run past `x1`. Labels that fit in no
/// row are counted, and the last placed label of their group says how many
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

struct Axes {
    /// x of a point: hours since midnight of the first day (bucket middle).
    x0_h: f64,
    x1_h: f64,
    tod0_s: f64,
    bucket_s: f64,
    multi_day: bool,
    replications: usize,
    /// A numeric x axis with this description: a point's x is its
    /// `bucket_start_s` as is (see [`write_overlay`]); `None`: time of day.
    numeric_x: Option<String>,
}

impl Axes {
    fn x(&self, p: &AggPoint) -> f64 {
        if self.numeric_x.is_some() {
            return p.bucket_start_s;
        }
        (self.tod0_s + p.bucket_start_s + self.bucket_s / 2.0) / 3600.0
    }
}

fn draw_panel(
    area: &DrawingArea<BitMapBackend, Shift>,
    p: &Panel,
    ax: &Axes,
    marks: &[Mark],
) -> PlotResult<()> {
    let band = ax.replications > 1;
    // A ratio that never exceeds 1 (a utilisation, a probability) keeps its
    // band at or below 100%.
    let bounded = p.unit == "ratio"
        && p.lines
            .iter()
            .flat_map(|l| &l.points)
            .all(|q| q.value <= 1.0 + 1e-9);
    let cap = if bounded { 1.0 } else { f64::INFINITY };
    let hi = |q: &AggPoint| q.ci_high.unwrap_or(q.value).min(cap);
    let raw_max = p
        .lines
        .iter()
        .flat_map(|l| &l.points)
        .map(|q| if band { q.value.max(hi(q)) } else { q.value })
        .chain(p.thresholds.iter().map(|t| t.value))
        .fold(0.0_f64, f64::max);
    // A quantity that is never negative keeps its axis (and its band) at 0 and
    // above: a Student-t interval below 0 is an artefact of few replications.
    let non_negative = p
        .lines
        .iter()
        .flat_map(|l| &l.points)
        .all(|q| q.value >= 0.0);
    let raw_min = if non_negative {
        0.0
    } else {
        p.lines
            .iter()
            .flat_map(|l| &l.points)
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
    let mut chart = ChartBuilder::on(area)
        .caption(&p.title, (FAMILY, 19))
        .margin_left(12)
        .margin_right(24)
        .margin_top(6)
        .x_label_area_size(44)
        .y_label_area_size(78)
        .build_cartesian_2d(ax.x0_h..ax.x1_h, y0..y1)?;
    let multi_day = ax.multi_day;
    let numeric = ax.numeric_x.is_some();
    let xfmt = move |x: &f64| {
        if numeric {
            format!("{x:.0}")
        } else {
            clock(x * 3600.0, multi_day)
        }
    };
    let yfmt = |y: &f64| {
        let range = y1 - y0;
        if range >= 10.0 {
            format!("{y:.0}")
        } else if range >= 1.0 {
            format!("{y:.1}")
        } else {
            format!("{y:.2}")
        }
    };
    chart
        .configure_mesh()
        .x_desc(ax.numeric_x.as_deref().unwrap_or("time of day (HH:MM)"))
        .y_desc(format!("{} ({unit_shown})", p.quantity))
        .x_label_formatter(&xfmt)
        .y_label_formatter(&yfmt)
        .x_labels(14)
        .y_labels(6)
        .label_style((FAMILY, 14))
        .axis_desc_style((FAMILY, 15))
        .max_light_lines(2)
        .light_line_style(RGBColor(240, 240, 240))
        .bold_line_style(RGBColor(210, 210, 210))
        .draw()?;

    for l in &p.lines {
        let segs = segments(&l.points, ax.bucket_s);
        if band {
            for seg in &segs {
                let upper = seg.iter().map(|q| (ax.x(q), hi(q) * k));
                let lower = seg
                    .iter()
                    .rev()
                    .map(|q| (ax.x(q), q.ci_low.unwrap_or(q.value).max(raw_min) * k));
                let poly: Vec<(f64, f64)> = upper.chain(lower).collect();
                chart.draw_series(std::iter::once(Polygon::new(
                    poly,
                    l.color.mix(0.18).filled(),
                )))?;
            }
        }
        let style = l.color.stroke_width(2);
        for (i, seg) in segs.iter().enumerate() {
            let pts: Vec<(f64, f64)> = if seg.len() == 1 {
                // A lone bucket: a short flat line across it, so it shows.
                let q = &seg[0];
                let h = if numeric {
                    (ax.x1_h - ax.x0_h) / 100.0
                } else {
                    ax.bucket_s / 3600.0 / 2.0
                };
                vec![(ax.x(q) - h, q.value * k), (ax.x(q) + h, q.value * k)]
            } else {
                seg.iter().map(|q| (ax.x(q), q.value * k)).collect()
            };
            let anno = match l.dash {
                Dash::Solid => chart.draw_series(LineSeries::new(pts, style))?,
                Dash::Dashed => chart.draw_series(DashedLineSeries::new(pts, 9, 5, style))?,
            };
            if i == 0 {
                let (c, dash) = (l.color, l.dash);
                anno.label(l.label.clone()).legend(move |(x, y)| {
                    if dash == Dash::Solid {
                        PathElement::new(vec![(x, y), (x + 22, y)], c.stroke_width(2)).into_dyn()
                    } else {
                        DashedPathElement::new(vec![(x, y), (x + 22, y)], 6, 4, c.stroke_width(2))
                            .into_dyn()
                    }
                });
            }
        }
    }
    for t in &p.thresholds {
        let y = t.value * k;
        chart
            .draw_series(DashedLineSeries::new(
                vec![(ax.x0_h, y), (ax.x1_h, y)],
                10,
                6,
                SLO_COLOR.stroke_width(2),
            ))?
            .label(t.label.clone())
            .legend(|(x, y)| {
                DashedPathElement::new(vec![(x, y), (x + 22, y)], 6, 4, SLO_COLOR.stroke_width(2))
            });
    }
    let font = (FAMILY, 13).into_font().color(&MARK_COLOR);
    let (plot_px, plot_py) = {
        let (xr, yr) = chart.plotting_area().get_pixel_range();
        (
            f64::from((xr.end - xr.start).max(1)),
            f64::from((yr.end - yr.start).max(1)),
        )
    };
    let per_px = (ax.x1_h - ax.x0_h) / plot_px;
    let per_py = (y1 - y0) / plot_py;
    let in_view: Vec<(f64, &Mark)> = marks
        .iter()
        .map(|m| ((ax.tod0_s + m.t_s) / 3600.0, m))
        .filter(|(x, _)| *x >= ax.x0_h && *x <= ax.x1_h)
        .collect();
    for (i, (x, _)) in in_view.iter().enumerate() {
        let anno = chart.draw_series(DashedLineSeries::new(
            vec![(*x, y0), (*x, y1)],
            3,
            3,
            MARK_COLOR.stroke_width(1),
        ))?;
        if i == 0 {
            anno.label("event (labelled at the top)").legend(|(x, y)| {
                DashedPathElement::new(vec![(x, y), (x + 22, y)], 3, 3, MARK_COLOR.stroke_width(1))
            });
        }
    }
    let xs: Vec<f64> = in_view.iter().map(|(x, _)| *x).collect();
    let texts: Vec<&str> = in_view.iter().map(|(_, m)| m.label.as_str()).collect();
    let width = |t: &str| {
        let w = area
            .estimate_text_size(&format!(" {t} "), &font)
            .map_or(7 * t.len() as u32, |(w, _)| w);
        f64::from(w) * per_px
    };
    // At most the rows that fit in the top half of the panel.
    let rows = MARK_ROWS.min(((plot_py / 2.0 / 16.0) as usize).max(1));
    for l in layout_mark_labels(&xs, &texts, ax.x1_h, 12.0 * per_px, rows, &width) {
        // Rows 16 px apart from just under the top, whatever the panel height.
        let y = y1 - (4.0 + 16.0 * l.row as f64) * per_py;
        // A light box behind the text keeps it legible over data lines.
        let w = width(&l.text);
        let (bx0, bx1) = if l.left {
            (l.x - w, l.x)
        } else {
            (l.x, l.x + w)
        };
        chart.draw_series(std::iter::once(Rectangle::new(
            [(bx0, y), (bx1, y - 15.0 * per_py)],
            WHITE.mix(0.75).filled(),
        )))?;
        let style = if l.left {
            font.pos(Pos::new(HPos::Right, VPos::Top))
        } else {
            font.pos(Pos::new(HPos::Left, VPos::Top))
        };
        chart.draw_series(std::iter::once(Text::new(
            format!(" {} ", l.text),
            (l.x, y),
            style.clone(),
        )))?;
    }
    // The legend goes in the upper corner whose third of the panel has the
    // lower data.
    let third_max = |left: bool| {
        let cut = (ax.x1_h - ax.x0_h) / 3.0;
        p.lines
            .iter()
            .flat_map(|l| &l.points)
            .filter(|q| {
                let x = ax.x(q);
                if left {
                    x < ax.x0_h + cut
                } else {
                    x > ax.x1_h - cut
                }
            })
            .map(|q| q.value)
            .fold(f64::NEG_INFINITY, f64::max)
    };
    let corner = if third_max(true) < third_max(false) {
        SeriesLabelPosition::UpperLeft
    } else {
        SeriesLabelPosition::UpperRight
    };
    chart
        .configure_series_labels()
        .position(corner)
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(180, 180, 180))
        .label_font((FAMILY, 14))
        .draw()?;
    Ok(())
}

fn draw_figure(path: &Path, fig: &Figure, ax: &Axes, marks: &[Mark]) -> PlotResult<()> {
    let root = BitMapBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let body = root.titled(&fig.title, (FAMILY, 26))?;
    let areas = body.split_evenly((fig.panels.len(), 1));
    for (area, p) in areas.iter().zip(&fig.panels) {
        draw_panel(area, p, ax, marks)?;
    }
    root.present()?;
    Ok(())
}

/// Draw every figure the run has data for into `dir`; returns what was written.
pub fn write_plots(dir: &Path, input: &ReportInput) -> anyhow::Result<Vec<Plot>> {
    register_font();
    let sc = input.scenario;
    let ax = Axes {
        tod0_s: sc.start_time_of_day.as_secs_f64(),
        x0_h: (sc.start_time_of_day + sc.warmup).as_secs_f64() / 3600.0,
        x1_h: (sc.start_time_of_day + sc.duration).as_secs_f64() / 3600.0,
        bucket_s: input.series.bucket_s,
        multi_day: (sc.start_time_of_day + sc.duration).as_secs_f64() > 86_400.0,
        replications: input.runs.len(),
        numeric_x: None,
    };
    let marks = marks(input);
    let mut out = Vec::new();
    for fig in figures(input) {
        let path = dir.join(fig.file);
        draw_figure(&path, &fig, &ax, &marks)
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

/// Draw `panels` (one above the other) into `path`, one line per
/// [`OverlayLine`] and a shaded 95% band when `replications` > 1.
pub fn write_overlay(
    path: &Path,
    title: &str,
    x: OverlayX,
    slos: &[Slo],
    replications: usize,
    panels: Vec<OverlayPanel>,
) -> anyhow::Result<()> {
    register_font();
    let ax = match x {
        OverlayX::TimeOfDay {
            scenario: sc,
            bucket_s,
        } => Axes {
            tod0_s: sc.start_time_of_day.as_secs_f64(),
            x0_h: (sc.start_time_of_day + sc.warmup).as_secs_f64() / 3600.0,
            x1_h: (sc.start_time_of_day + sc.duration).as_secs_f64() / 3600.0,
            bucket_s,
            multi_day: (sc.start_time_of_day + sc.duration).as_secs_f64() > 86_400.0,
            replications,
            numeric_x: None,
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
            Axes {
                tod0_s: 0.0,
                x0_h: lo - pad,
                x1_h: hi + pad,
                bucket_s: f64::INFINITY,
                multi_day: false,
                replications,
                numeric_x: Some(desc),
            }
        }
    };
    let fig = Figure {
        file: "overlay",
        title: title.to_string(),
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
                Panel {
                    title: p.title,
                    quantity: p.quantity,
                    unit: p.unit,
                    thresholds,
                    lines: p
                        .lines
                        .into_iter()
                        .enumerate()
                        .map(|(i, l)| Line {
                            label: l.label,
                            color: PALETTE[i % PALETTE.len()],
                            dash: Dash::Solid,
                            points: l.points,
                        })
                        .collect(),
                }
            })
            .collect(),
    };
    draw_figure(path, &fig, &ax, &[])
        .map_err(|e| anyhow::anyhow!("cannot draw {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

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
