//! Chart 1: the latency CDF per approach, cold and warm side by side, on a log-scale time
//! axis, with each series' p50 and p99 marked. Drawn from the HdrHistograms (one point per
//! recorded value bucket), never from raw records.

use super::{e, font, ms_label, with_legend, Chart, DrawResult};
use plotters::coord::Shift;
use plotters::prelude::*;

/// One curve.
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend label.
    pub label: String,
    /// Colour of its approach.
    pub colour: RGBColor,
    /// (latency in ms, cumulative fraction).
    pub points: Vec<(f64, f64)>,
    /// Median in ms.
    pub p50_ms: f64,
    /// p99 in ms.
    pub p99_ms: f64,
}

impl Series {
    /// The CDF of a histogram of nanoseconds.
    pub fn from_histogram(
        label: String,
        colour: RGBColor,
        h: &hdrhistogram::Histogram<u64>,
    ) -> Series {
        let points = h
            .iter_recorded()
            .map(|v| {
                (
                    h.highest_equivalent(v.value_iterated_to()) as f64 / 1e6,
                    v.quantile_iterated_to(),
                )
            })
            .collect();
        Series {
            label,
            colour,
            points,
            p50_ms: h.value_at_quantile(0.5) as f64 / 1e6,
            p99_ms: h.value_at_quantile(0.99) as f64 / 1e6,
        }
    }
}

/// The chart.
#[derive(Debug, Clone)]
pub struct LatencyCdf {
    /// Cold fetches (the first fetch of an environment, at INIT or in its first invocation).
    pub cold: Vec<Series>,
    /// Warm fetches.
    pub warm: Vec<Series>,
}

fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    caption: &str,
    series: &[Series],
) -> DrawResult {
    let (lo, hi) = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .fold((f64::INFINITY, 0.0f64), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if series.is_empty() || !lo.is_finite() {
        return super::empty(area, caption, "no values");
    }
    let lo = (lo.max(1e-6) / 1.5).max(1e-6);
    let hi = (hi * 1.5).max(lo * 10.0);
    let mut chart = ChartBuilder::on(area)
        .caption(caption, font(17))
        .margin(8)
        .x_label_area_size(40)
        .y_label_area_size(48)
        .build_cartesian_2d((lo..hi).log_scale(), 0.0..100.0)
        .map_err(e)?;
    chart
        .configure_mesh()
        .x_desc("fetch latency (log scale)")
        .y_desc("% of fetches at or below")
        .x_labels(6)
        .x_label_formatter(&|v| ms_label(*v))
        .y_label_formatter(&|v| format!("{v:.0}"))
        .label_style(font(12))
        .axis_desc_style(font(14))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(e)?;
    for s in series {
        // A step curve: each bucket's share rises at its value.
        let mut steps = Vec::with_capacity(s.points.len() * 2 + 1);
        let mut last = 0.0;
        for &(x, q) in &s.points {
            steps.push((x, last * 100.0));
            steps.push((x, q * 100.0));
            last = q;
        }
        chart
            .draw_series(LineSeries::new(steps, s.colour.stroke_width(2)))
            .map_err(e)?;
        chart
            .draw_series([
                Circle::new((s.p50_ms, 50.0), 4, s.colour.filled()),
                Circle::new((s.p99_ms, 99.0), 4, s.colour.filled()),
            ])
            .map_err(e)?;
    }
    // The p50 and p99 levels the markers sit on.
    for level in [50.0, 99.0] {
        chart
            .draw_series(LineSeries::new(
                [(lo, level), (hi, level)],
                BLACK.mix(0.25).stroke_width(1),
            ))
            .map_err(e)?;
    }
    Ok(())
}

impl Chart for LatencyCdf {
    fn name(&self) -> &'static str {
        "latency-cdf"
    }
    fn title(&self) -> String {
        "Fetch latency distribution per approach (dots: p50 and p99)".into()
    }
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult {
        let mut items: Vec<(String, RGBColor)> = Vec::new();
        for s in self.warm.iter().chain(&self.cold) {
            if !items.iter().any(|(l, _)| *l == s.label) {
                items.push((s.label.clone(), s.colour));
            }
        }
        let plot = with_legend(area, &self.title(), &items)?;
        let (left, right) = plot.split_horizontally(plot.dim_in_pixel().0 / 2);
        panel(&left, "cold: first fetch of a new environment", &self.cold)?;
        panel(&right, "warm: fetches in warm invocations", &self.warm)
    }
}
