//! Chart 3: where a cold start's time goes, per approach: stacked bars of the INIT spans (before
//! `main`, from the platform's INIT measurement minus the probe's own, which for Node.js and
//! Python is the runtime's own start; their imports; SDK configuration; client
//! construction; a prewarm) and the first fetch (at INIT or in the first invocation), split
//! into aws-lc's entropy seeding (measured alone beside the probe, local runs) and the rest.
//! Means over the run's cold starts (the entropy: the median of its measurements).

use super::{stacked_rows, with_legend, Chart, DrawResult, StackedRow};
use crate::family::Families;
use crate::group::Metric;
use crate::summary::Summary;
use plotters::coord::Shift;
use plotters::prelude::*;
use secbench_record::run::{Manifest, Phase};

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

// What the chart shows, from the summary.
/// The cold-start breakdown of the main scenarios and the remedies: each INIT span's mean, the
/// entropy share of the first fetch, and the rest of the fetch.
pub fn from_summary(
    s: &Summary,
    several: &super::labels::Labels,
    manifests: &[(String, Manifest)],
    families: &Families,
) -> crate::plot::cold_start::ColdStart {
    use crate::family::Family;
    let bars = s
        .groups
        .iter()
        .filter(|g| {
            g.key.phase == Phase::Cold
                && matches!(families.of(&g.key), Family::Main | Family::Remedy)
        })
        .map(|g| {
            let mean = |metric: Metric| g.metric(metric).map_or(0.0, |m| m.mean_ns / 1e6);
            let fetch = mean(Metric::headline(&g.key));
            let entropy = crate::view::cold::entropy_in_first_fetch(&g.key, manifests)
                .map_or(0.0, |ns| (ns as f64 / 1e6).min(fetch));
            crate::plot::cold_start::Bar {
                spans_ms: [
                    // Before `main` from the platform's INIT measurement; the OS's 10 ms-tick
                    // process start only where the platform gave none.
                    if g.metric(Metric::InitBeforeMain).is_some() {
                        mean(Metric::InitBeforeMain)
                    } else {
                        mean(Metric::InitProcessStart)
                    },
                    mean(Metric::InitImports),
                    mean(Metric::InitSdkConfig),
                    mean(Metric::InitClientConstruction),
                    mean(Metric::InitPrewarm),
                    entropy,
                    fetch - entropy,
                ],
                count: g.invocations,
                tags: super::labels::group_tags(
                    &g.key,
                    super::labels::label(&g.key, several),
                    families,
                ),
                label: match g.key.memory_mb {
                    Some(m) => format!(
                        "{}, {m} MB",
                        super::labels::approach_label(&g.key, super::labels::several_stages(s))
                    ),
                    None => super::labels::label(&g.key, several),
                },
            }
        })
        .collect();
    crate::plot::cold_start::ColdStart { bars }
}
