//! Chart 3: where a cold start's time goes, per approach: stacked bars of the INIT spans (before
//! `main`, from the platform's INIT measurement minus the probe's own, which for Node.js and
//! Python is the runtime's own start; their imports; SDK configuration; client
//! construction; a prewarm) and the first fetch (at INIT or in the first invocation), split
//! into aws-lc's entropy seeding (measured alone beside the probe, local runs) and the rest.
//! Means over the run's cold starts (the entropy: the median of its measurements).

use super::{stacked_rows, with_legend, Chart, DrawResult, StackedRow};
use plotters::coord::Shift;
use plotters::prelude::*;

/// The spans, in stacking order, with their colours (Okabe–Ito).
pub const SPANS: [(&str, RGBColor); 7] = [
    (
        "before main / runtime start (platform INIT − main→ready)",
        RGBColor(0xE6, 0x9F, 0x00),
    ),
    ("imports (Node.js, Python)", RGBColor(0x00, 0x72, 0xB2)),
    ("SDK config load", RGBColor(0x56, 0xB4, 0xE9)),
    ("client construction", RGBColor(0x00, 0x9E, 0x73)),
    ("prewarm at INIT", RGBColor(0xF0, 0xE4, 0x42)),
    (
        "first fetch: aws-lc entropy (measured alone)",
        RGBColor(0xD5, 0x5E, 0x00),
    ),
    ("first fetch: the rest", RGBColor(0xCC, 0x79, 0xA7)),
];

/// One approach's bar.
#[derive(Debug, Clone)]
pub struct Bar {
    /// Label.
    pub label: String,
    /// Mean of each span in ms, in [`SPANS`] order.
    pub spans_ms: [f64; 7],
    /// Cold starts measured.
    pub count: u64,
    /// The page filter's tags.
    pub tags: Vec<(&'static str, String)>,
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
    fn size(&self) -> (u32, u32) {
        (super::WIDTH, super::rows_height(self.bars.len()))
    }
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult {
        let items: Vec<(String, RGBColor)> =
            SPANS.iter().map(|(l, c)| ((*l).to_owned(), *c)).collect();
        let plot = with_legend(area, &self.title(), &items)?;
        if self.bars.is_empty() {
            return super::empty(&plot, "", "no cold starts in these runs");
        }
        let labels: Vec<String> = self
            .bars
            .iter()
            .map(|b| format!("{} (n={})", b.label, b.count))
            .collect();
        let rows: Vec<StackedRow> = self
            .bars
            .iter()
            .map(|b| StackedRow {
                segments: b
                    .spans_ms
                    .iter()
                    .zip(SPANS)
                    .map(|(v, (_, c))| (*v, c))
                    .collect(),
                end_text: format!("{:.1} ms", b.spans_ms.iter().sum::<f64>()),
                tags: b.tags.clone(),
            })
            .collect();
        stacked_rows(&plot, &labels, &rows, "time (ms)", None, 0.001)
    }
}
