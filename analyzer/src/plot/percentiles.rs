//! Chart 2: p50, p90 and p99 of fetch latency per approach as horizontal bars on a log-scale
//! time axis, with the 95% bootstrap intervals of p50 and p99 as whiskers; warm above, cold
//! below.

use super::{e, font, lighter, ms_label, Chart, DrawResult};
use plotters::coord::Shift;
use plotters::prelude::*;

/// One approach's row.
#[derive(Debug, Clone)]
pub struct Row {
    /// Label.
    pub label: String,
    /// Colour of its approach.
    pub colour: RGBColor,
    /// p50, p90, p99 in ms.
    pub p_ms: [f64; 3],
    /// 95% interval of p50, ms.
    pub p50_ci_ms: [f64; 2],
    /// 95% interval of p99, ms.
    pub p99_ci_ms: [f64; 2],
    /// Values in the group.
    pub count: u64,
}

/// The chart.
#[derive(Debug, Clone)]
pub struct Percentiles {
    /// Warm rows.
    pub warm: Vec<Row>,
    /// Cold rows.
    pub cold: Vec<Row>,
}

fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    caption: &str,
    rows: &[Row],
) -> DrawResult {
    let lo = rows
        .iter()
        .map(|r| r.p50_ci_ms[0].min(r.p_ms[0]))
        .fold(f64::INFINITY, f64::min);
    let hi = rows
        .iter()
        .map(|r| r.p99_ci_ms[1].max(r.p_ms[2]))
        .fold(0.0, f64::max);
    if rows.is_empty() || !lo.is_finite() {
        return super::empty(area, caption, "no values");
    }
    let lo = (lo.max(1e-6) / 2.0).max(1e-6);
    let hi = (hi * 2.0).max(lo * 10.0);
    let n = rows.len();
    let labels: Vec<String> = rows
        .iter()
        .map(|r| format!("{} (n={})", r.label, r.count))
        .collect();
    let mut chart = ChartBuilder::on(area)
        .caption(caption, font(17))
        .margin(8)
        .x_label_area_size(36)
        .y_label_area_size(super::label_area(&labels, 360))
        .build_cartesian_2d((lo..hi).log_scale(), 0.0..n as f64)
        .map_err(e)?;
    chart
        .configure_mesh()
        .x_desc("fetch latency (log scale): bars p50 / p90 / p99, whiskers 95% intervals of p50 and p99")
        .x_labels(6)
        .x_label_formatter(&|v| ms_label(*v))
        .y_labels(n * 2 + 1)
        .y_label_formatter(&|y| super::row_label(&labels, n, *y))
        .label_style(font(12))
        .axis_desc_style(font(13))
        .disable_y_mesh()
        .draw()
        .map_err(e)?;
    for (i, r) in rows.iter().enumerate() {
        let top = n as f64 - i as f64 - 0.12;
        let h = 0.25;
        for (k, v) in r.p_ms.iter().enumerate() {
            let shade = lighter(r.colour, [0.0, 0.35, 0.6][k]);
            let y0 = top - h * (k as f64 + 1.0);
            chart
                .draw_series([Rectangle::new(
                    [(lo, y0), (v.max(lo), y0 + h * 0.9)],
                    shade.filled(),
                )])
                .map_err(e)?;
        }
        for (k, ci) in [(0usize, r.p50_ci_ms), (2, r.p99_ci_ms)] {
            let y = top - h * (k as f64 + 0.55);
            let style = BLACK.stroke_width(2);
            chart
                .draw_series([
                    PathElement::new(vec![(ci[0].max(lo), y), (ci[1].max(lo), y)], style),
                    PathElement::new(
                        vec![(ci[0].max(lo), y - 0.08), (ci[0].max(lo), y + 0.08)],
                        style,
                    ),
                    PathElement::new(
                        vec![(ci[1].max(lo), y - 0.08), (ci[1].max(lo), y + 0.08)],
                        style,
                    ),
                ])
                .map_err(e)?;
        }
    }
    Ok(())
}

impl Chart for Percentiles {
    fn name(&self) -> &'static str {
        "latency-percentiles"
    }
    fn title(&self) -> String {
        "Fetch latency percentiles per approach with 95% bootstrap intervals".into()
    }
    fn size(&self) -> (u32, u32) {
        let rows = (self.warm.len() + self.cold.len()) as u32;
        (super::WIDTH, (160 + rows * 44).max(super::HEIGHT))
    }
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult {
        let titled = area.titled(&self.title(), font(22)).map_err(e)?;
        let (_, h) = titled.dim_in_pixel();
        let share =
            (self.warm.len().max(1) as f64) / ((self.warm.len() + self.cold.len()).max(2) as f64);
        let (top, bottom) = titled.split_vertically((f64::from(h) * share).round() as u32 + 20);
        panel(&top, "warm", &self.warm)?;
        panel(
            &bottom,
            "cold: first fetch of a new environment (at INIT for @init)",
            &self.cold,
        )?;
        Ok(())
    }
}
