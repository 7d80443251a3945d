//! The SVG chart of a side-by-side run: deliveries/s and p99 latency per server and room size.

use std::path::Path;

use plotters::prelude::*;

/// One server's values by room size.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The server's name (legend).
    pub name: String,
    /// `(room size, value)` points.
    pub points: Vec<(u32, f64)>,
}

/// Why the chart could not be drawn.
#[derive(Debug, thiserror::Error)]
#[error("cannot draw the chart: {0}")]
pub struct ChartError(String);

fn err(e: impl std::fmt::Display) -> ChartError {
    ChartError(e.to_string())
}

const COLORS: [RGBColor; 4] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0x94, 0x67, 0xbd),
];

/// Draws two panels into an SVG file at `path`: `left` (deliveries/s) and
/// `right` (p99 latency, ms), both against room size on a log axis.
///
/// # Errors
///
/// [`ChartError`] when the file cannot be written.
pub fn render(
    path: &Path,
    left: (&str, &[Series]),
    right: (&str, &[Series]),
) -> Result<(), ChartError> {
    let root = SVGBackend::new(path, (1000, 420)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let panels = root.split_evenly((1, 2));
    for (area, (title, series)) in panels.iter().zip([left, right]) {
        panel(area, title, series)?;
    }
    root.present().map_err(err)?;
    Ok(())
}

fn panel(
    area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    title: &str,
    series: &[Series],
) -> Result<(), ChartError> {
    // Room sizes become evenly spaced categories, in increasing order.
    let mut sizes: Vec<u32> = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .collect();
    sizes.sort_unstable();
    sizes.dedup();
    let slot = |size: u32| sizes.iter().position(|&s| s == size).unwrap_or(0) as i32;
    let slots = sizes.len().max(1) as f64;
    let y_max = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .fold(0.0, f64::max)
        .max(1e-9)
        * 1.35;
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(-0.5..slots - 0.5, 0.0..y_max)
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(WHITE)
        .x_desc("clients in the room")
        .x_labels(sizes.len().max(1))
        .x_label_formatter(&|x| {
            let i = x.round();
            if (x - i).abs() > 1e-6 || i < 0.0 {
                return String::new();
            }
            sizes
                .get(i as usize)
                .map(|s| s.to_string())
                .unwrap_or_default()
        })
        .y_label_formatter(&|y| {
            if y_max >= 2_000_000.0 {
                format!("{:.1}M", y / 1e6)
            } else if y_max >= 10_000.0 {
                format!("{:.0}k", y / 1000.0)
            } else {
                format!("{y:.1}")
            }
        })
        .draw()
        .map_err(err)?;
    for (i, s) in series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let mut points: Vec<(f64, f64)> = s
            .points
            .iter()
            .map(|&(x, y)| (f64::from(slot(x)), y))
            .collect();
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        chart
            .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))
            .map_err(err)?
            .label(s.name.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
            });
        chart
            .draw_series(
                points
                    .into_iter()
                    .map(|p| Circle::new(p, 4, color.filled())),
            )
            .map_err(err)?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .map_err(err)?;
    Ok(())
}
