//! Scatter figures: every candidate of `capsim size` as a point of monthly
//! cost against one checked value (an SLO's 95% bound), coloured by verdict,
//! with the front (the best value reachable for at most that cost) and the
//! target. The figure is `catalogue::CANDIDATES_FIGURE`.

use super::plot::{SIZE, register_font};
use crate::format::axis_unit;
use plotters::prelude::*;
use std::path::Path;

/// One point: x (money), y (base unit), and the index of its group.
pub struct ScatterPoint {
    pub x: f64,
    pub y: f64,
    pub group: usize,
}

/// One panel: a quantity against cost.
pub struct ScatterPanel {
    pub title: String,
    /// Base unit of y (`s`, `ratio`, `1`).
    pub unit: String,
    pub points: Vec<ScatterPoint>,
    /// A horizontal target line (base unit).
    pub target: Option<f64>,
    /// Lower is better (an "at most" target): the front takes the running
    /// minimum; otherwise the running maximum.
    pub lower_is_better: bool,
    /// Highlight this point (the recommendation).
    pub chosen: Option<(f64, f64)>,
}

const GROUP_COLORS: [RGBColor; 6] = [
    RGBColor(44, 160, 44),   // pass
    RGBColor(214, 39, 40),   // fails SLO
    RGBColor(255, 127, 14),  // fails policy
    RGBColor(148, 103, 189), // fails N-1 drill
    RGBColor(127, 127, 127), // saturated
    RGBColor(31, 119, 180),
];

/// Draw `panels` one above the other into `path`; `groups` names the
/// colours, `x_desc` the x axis.
pub fn write_scatter(
    path: &Path,
    title: &str,
    x_desc: &str,
    groups: &[&str],
    panels: &[ScatterPanel],
) -> anyhow::Result<()> {
    register_font();
    draw(path, title, x_desc, groups, panels)
        .map_err(|e| anyhow::anyhow!("cannot draw {}: {e}", path.display()))
}

type R = Result<(), Box<dyn std::error::Error>>;

fn draw(path: &Path, title: &str, x_desc: &str, groups: &[&str], panels: &[ScatterPanel]) -> R {
    let root = BitMapBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let body = root.titled(title, ("sans-serif", 26))?;
    let areas = body.split_evenly((panels.len().max(1), 1));
    for (area, p) in areas.iter().zip(panels) {
        let finite = |v: f64| v.is_finite();
        let pts: Vec<&ScatterPoint> = p
            .points
            .iter()
            .filter(|q| finite(q.x) && finite(q.y))
            .collect();
        let (x0, x1) = span(pts.iter().map(|q| q.x));
        let (y0, y1) = span(
            pts.iter()
                .map(|q| q.y)
                .chain(p.target)
                .chain(std::iter::once(0.0)),
        );
        let (k, unit) = axis_unit(&p.unit, y1.abs().max(y0.abs()));
        let mut chart = ChartBuilder::on(area)
            .caption(&p.title, ("sans-serif", 19))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(x0..x1, y0 * k..y1 * k)?;
        chart
            .configure_mesh()
            .x_desc(x_desc)
            .y_desc(unit)
            .label_style(("sans-serif", 14))
            .draw()?;
        if let Some(t) = p.target {
            chart
                .draw_series(LineSeries::new(
                    [(x0, t * k), (x1, t * k)],
                    RGBColor(214, 39, 40).stroke_width(1),
                ))?
                .label("target")
                .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], RGBColor(214, 39, 40)));
        }
        // The front: the best value among candidates of at most each cost.
        let mut sorted: Vec<&ScatterPoint> = pts.clone();
        sorted.sort_by(|a, b| a.x.total_cmp(&b.x));
        let mut front: Vec<(f64, f64)> = Vec::new();
        for q in sorted {
            let better = front.last().is_none_or(
                |&(_, y)| {
                    if p.lower_is_better { q.y < y } else { q.y > y }
                },
            );
            if better {
                if let Some(&(_, y)) = front.last() {
                    front.push((q.x, y));
                }
                front.push((q.x, q.y));
            }
        }
        if front.len() > 1 {
            chart
                .draw_series(LineSeries::new(
                    front.iter().map(|&(x, y)| (x, y * k)),
                    BLACK.stroke_width(1),
                ))?
                .label("front (best value for the cost)")
                .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], BLACK));
        }
        for (g, name) in groups.iter().enumerate() {
            let c = GROUP_COLORS[g % GROUP_COLORS.len()];
            let these: Vec<(f64, f64)> = pts
                .iter()
                .filter(|q| q.group == g)
                .map(|q| (q.x, q.y * k))
                .collect();
            if these.is_empty() {
                continue;
            }
            chart
                .draw_series(these.into_iter().map(|xy| Circle::new(xy, 4, c.filled())))?
                .label(*name)
                .legend(move |(x, y)| Circle::new((x + 8, y), 4, c.filled()));
        }
        if let Some((x, y)) = p.chosen.filter(|(x, y)| finite(*x) && finite(*y)) {
            chart
                .draw_series(std::iter::once(Circle::new(
                    (x, y * k),
                    9,
                    BLACK.stroke_width(2),
                )))?
                .label("recommended")
                .legend(|(x, y)| Circle::new((x + 8, y), 6, BLACK.stroke_width(2)));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 13))
            .position(SeriesLabelPosition::UpperRight)
            .draw()?;
    }
    root.present()?;
    Ok(())
}

/// A padded range that contains every value (a unit range around one value).
fn span(xs: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
        (a.min(x), b.max(x))
    });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if hi - lo < 1e-12 {
        return (
            lo - 1.0_f64.max(lo.abs() * 0.05),
            hi + 1.0_f64.max(hi.abs() * 0.05),
        );
    }
    let pad = (hi - lo) * 0.05;
    (lo - pad, hi + pad)
}
