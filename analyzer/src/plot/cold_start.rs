//! Chart 3: where a cold start's time goes, per approach: stacked bars of the INIT spans the
//! probe measures (process start to `main`, SDK configuration, client construction) and the
//! first fetch (at INIT or in the first invocation). Means over the run's cold starts.

use super::{e, font, with_legend, Chart, DrawResult};
use plotters::coord::Shift;
use plotters::prelude::*;

/// The spans, in stacking order, with their colours (Okabe–Ito).
pub const SPANS: [(&str, RGBColor); 4] = [
    ("process start → main", RGBColor(0xE6, 0x9F, 0x00)),
    ("SDK config load", RGBColor(0x56, 0xB4, 0xE9)),
    ("client construction", RGBColor(0x00, 0x9E, 0x73)),
    ("first fetch", RGBColor(0xCC, 0x79, 0xA7)),
];

/// One approach's bar.
#[derive(Debug, Clone)]
pub struct Bar {
    /// Label.
    pub label: String,
    /// Mean of each span in ms, in [`SPANS`] order.
    pub spans_ms: [f64; 4],
    /// Cold starts measured.
    pub count: u64,
}

/// The chart.
#[derive(Debug, Clone)]
pub struct ColdStart {
    /// Bars, one per approach.
    pub bars: Vec<Bar>,
}

impl Chart for ColdStart {
    fn name(&self) -> &'static str {
        "cold-start-breakdown"
    }
    fn title(&self) -> String {
        "Cold start: where the time goes (means over the cold starts)".into()
    }
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult {
        let items: Vec<(String, RGBColor)> =
            SPANS.iter().map(|(l, c)| ((*l).to_owned(), *c)).collect();
        let plot = with_legend(area, &self.title(), &items)?;
        if self.bars.is_empty() {
            return super::empty(&plot, "", "no cold starts in these runs");
        }
        let n = self.bars.len();
        let hi = self
            .bars
            .iter()
            .map(|b| b.spans_ms.iter().sum::<f64>())
            .fold(0.0, f64::max)
            .max(0.001)
            * 1.15;
        let labels: Vec<String> = self
            .bars
            .iter()
            .map(|b| format!("{} (n={})", b.label, b.count))
            .collect();
        let mut chart = ChartBuilder::on(&plot)
            .margin(8)
            .x_label_area_size(40)
            .y_label_area_size(super::label_area(&labels, 360))
            .build_cartesian_2d(0.0..hi, 0.0..n as f64)
            .map_err(e)?;
        chart
            .configure_mesh()
            .x_desc("time (ms)")
            .y_labels(n * 2 + 1)
            .y_label_formatter(&|y| super::row_label(&labels, n, *y))
            .label_style(font(12))
            .axis_desc_style(font(14))
            .disable_y_mesh()
            .draw()
            .map_err(e)?;
        for (i, b) in self.bars.iter().enumerate() {
            let y0 = n as f64 - i as f64 - 0.8;
            let mut x = 0.0;
            for (k, v) in b.spans_ms.iter().enumerate() {
                chart
                    .draw_series([Rectangle::new(
                        [(x, y0), (x + v, y0 + 0.6)],
                        SPANS[k].1.filled(),
                    )])
                    .map_err(e)?;
                x += v;
            }
            chart
                .draw_series([Text::new(
                    format!("{x:.1} ms"),
                    (x + hi * 0.01, y0 + 0.45),
                    font(12),
                )])
                .map_err(e)?;
        }
        Ok(())
    }
}
