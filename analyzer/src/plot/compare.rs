//! Chart 7: base vs new per approach and phase: the ratio NEW/BASE of the median fetch latency
//! with its 95% bootstrap interval, coloured by verdict, against the noise band around 1.

use super::{colour, e, font, Chart, DrawResult};
use crate::compare::Verdict;
use plotters::coord::Shift;
use plotters::prelude::*;

/// One compared group.
#[derive(Debug, Clone)]
pub struct Row {
    /// Label (approach and phase).
    pub label: String,
    /// Approach name (for its colour).
    pub approach: Option<crate::approach::Approach>,
    /// NEW/BASE of the median.
    pub ratio: f64,
    /// Its interval.
    pub ci: [f64; 2],
    /// The verdict.
    pub verdict: Verdict,
    /// The page filter's tags (see [`super::begin_series`]).
    pub tags: Vec<(&'static str, String)>,
}

/// The chart.
#[derive(Debug, Clone)]
pub struct Compare {
    /// What BASE and NEW are.
    pub base: String,
    /// NEW.
    pub new: String,
    /// Rows.
    pub rows: Vec<Row>,
    /// Noise threshold (0.05 = 5%).
    pub threshold: f64,
}

impl Chart for Compare {
    fn name(&self) -> &'static str {
        "compare"
    }
    fn title(&self) -> String {
        format!(
            "{} vs {}: median fetch latency, NEW / BASE",
            self.new, self.base
        )
    }
    fn size(&self) -> (u32, u32) {
        (
            super::WIDTH,
            (140 + self.rows.len() as u32 * 30).max(super::HEIGHT),
        )
    }
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult {
        let titled = area.titled(&self.title(), font(22)).map_err(e)?;
        if self.rows.is_empty() {
            return super::empty(&titled, "", "no group is in both runs");
        }
        let lo = self
            .rows
            .iter()
            .map(|r| r.ci[0].min(r.ratio))
            .fold(1.0 - self.threshold, f64::min)
            / 1.3;
        let hi = self
            .rows
            .iter()
            .map(|r| r.ci[1].max(r.ratio))
            .fold(1.0 + self.threshold, f64::max)
            * 1.3;
        let n = self.rows.len();
        let labels: Vec<String> = self
            .rows
            .iter()
            .map(|r| format!("{} ({})", r.label, r.verdict.as_str()))
            .collect();
        let mut chart = ChartBuilder::on(&titled)
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(super::label_area(&labels, 400))
            .build_cartesian_2d((lo.max(1e-3)..hi).log_scale(), 0.0..n as f64)
            .map_err(e)?;
        chart
            .configure_mesh()
            .x_desc(format!(
                "NEW / BASE (log scale; < 1 is faster; grey band: ±{:.0}% noise)",
                self.threshold * 100.0
            ))
            .x_labels(6)
            .x_label_formatter(&|v| format!("{v:.2}×"))
            .y_labels(n * 2 + 1)
            .y_label_formatter(&|y| super::row_label(&labels, n, *y))
            .label_style(font(12))
            .axis_desc_style(font(13))
            .disable_y_mesh()
            .draw()
            .map_err(e)?;
        chart
            .draw_series([Rectangle::new(
                [
                    (1.0 - self.threshold, 0.0),
                    (1.0 + self.threshold, n as f64),
                ],
                BLACK.mix(0.08).filled(),
            )])
            .map_err(e)?;
        chart
            .draw_series(LineSeries::new(
                [(1.0, 0.0), (1.0, n as f64)],
                BLACK.stroke_width(1),
            ))
            .map_err(e)?;
        for (i, r) in self.rows.iter().enumerate() {
            let y = n as f64 - i as f64 - 0.5;
            let c = colour(r.approach);
            super::begin_series(area, r.tags.clone())?;
            chart
                .draw_series([
                    PathElement::new(vec![(r.ci[0], y), (r.ci[1], y)], c.stroke_width(2)),
                    PathElement::new(
                        vec![(r.ci[0], y - 0.15), (r.ci[0], y + 0.15)],
                        c.stroke_width(2),
                    ),
                    PathElement::new(
                        vec![(r.ci[1], y - 0.15), (r.ci[1], y + 0.15)],
                        c.stroke_width(2),
                    ),
                ])
                .map_err(e)?;
            let marker = match r.verdict {
                Verdict::Slower => TriangleMarker::new((r.ratio, y), 7, c.filled()).into_dyn(),
                Verdict::Faster => Circle::new((r.ratio, y), 6, c.filled()).into_dyn(),
                Verdict::NoChange => Circle::new((r.ratio, y), 6, c.stroke_width(2)).into_dyn(),
            };
            chart.draw_series([marker]).map_err(e)?;
            super::end_series(area)?;
        }
        Ok(())
    }
}
