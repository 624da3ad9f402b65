//! Chart 8: staleness after a rotation, per rotating scenario: one dot per execution
//! environment at the time it first got the new value (filled), or at its last invocation
//! while still stale (hollow: a lower bound), and the TTL that bounds it as a tick. Log time
//! axis. Drawn only when the runs rotated values.

use super::{colour, e, font, row_label, with_legend, Chart, DrawResult};
use crate::approach::StalenessBound;
use crate::staleness::RotationStaleness;
use crate::units::span_label;

/// The TTL tick's colour (Okabe–Ito vermillion).
const TTL_COLOUR: RGBColor = RGBColor(0xD5, 0x5E, 0x00);

/// The TTL that bounds the row, when a TTL does (not for a configuration change).
fn ttl_ms(r: &RotationStaleness) -> Option<f64> {
    match r.bound {
        Some(
            StalenessBound::CacheTtl | StalenessBound::AgentTtl | StalenessBound::AgentAndCacheTtl,
        ) => r.ttl.map(|t| t.as_secs_f64() * 1e3).filter(|t| *t > 0.0),
        _ => None,
    }
}
use plotters::coord::Shift;
use plotters::prelude::*;

/// The chart.
#[derive(Debug, Clone)]
pub struct StalenessChart {
    /// One row per scenario and rotation.
    pub rows: Vec<RotationStaleness>,
}

impl Chart for StalenessChart {
    fn name(&self) -> &'static str {
        "staleness"
    }
    fn title(&self) -> String {
        "After a rotation: when each environment first got the new value".into()
    }
    fn size(&self) -> (u32, u32) {
        (super::WIDTH, super::rows_height(self.rows.len()))
    }
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult {
        let grey = RGBColor(0x60, 0x60, 0x60);
        let items = vec![
            ("dot: got the new value".to_owned(), grey),
            ("triangle: still stale at its last".to_owned(), grey),
            ("  invocation (a lower bound)".to_owned(), WHITE),
            ("bar: the TTL".to_owned(), TTL_COLOUR),
        ];
        let plot = with_legend(area, &self.title(), &items)?;
        if self.rows.is_empty() {
            return super::empty(&plot, "", "no rotations in these runs");
        }
        let labels: Vec<String> = self
            .rows
            .iter()
            .map(|r| format!("{} #{}", r.scenario, r.rotation.version_index))
            .collect();
        let all = self.rows.iter().flat_map(|r| {
            r.windows_ms
                .iter()
                .chain(&r.stale_until_end_ms)
                .copied()
                .chain(ttl_ms(r))
        });
        let hi = all.fold(10.0f64, f64::max) * 2.0;
        let lo = 0.5f64;
        let n = self.rows.len();
        let mut chart = ChartBuilder::on(&plot)
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(super::label_area(&labels, 320))
            .build_cartesian_2d((lo..hi).log_scale(), 0f64..n as f64)
            .map_err(e)?;
        chart
            .configure_mesh()
            .x_desc("from the confirmed write (log scale; values below 0.5 ms drawn at 0.5 ms)")
            .y_labels(n * 2 + 1)
            .light_line_style(TRANSPARENT)
            .x_label_formatter(&|v| span_label(*v / 1e3))
            .y_label_formatter(&|y| row_label(&labels, n, *y))
            .label_style(font(12))
            .axis_desc_style(font(13))
            .draw()
            .map_err(e)?;
        for (i, r) in self.rows.iter().enumerate() {
            let y = n as f64 - i as f64 - 0.5;
            let c = colour(r.approach);
            let mut tags = vec![("label", labels[i].clone())];
            if let Some(a) = r.approach {
                tags.push(("source", a.source.to_string()));
                tags.push(("cache", a.cache.to_string()));
            }
            if let Some(m) = r.memory_mb {
                tags.push(("memory", m.to_string()));
            }
            super::begin_series(&plot, tags)?;
            // Spread an environment's dots a little so equal times stay visible.
            let jitter = |k: usize| ((k % 5) as f64 - 2.0) * 0.06;
            chart
                .draw_series(
                    r.windows_ms
                        .iter()
                        .enumerate()
                        .map(|(k, w)| Circle::new((w.max(lo), y + jitter(k)), 3, c.filled())),
                )
                .map_err(e)?;
            chart
                .draw_series(r.stale_until_end_ms.iter().enumerate().map(|(k, w)| {
                    TriangleMarker::new((w.max(lo), y + jitter(k)), 5, c.stroke_width(1))
                }))
                .map_err(e)?;
            if let Some(t) = ttl_ms(r) {
                chart
                    .draw_series(LineSeries::new(
                        [(t, y - 0.35), (t, y + 0.35)],
                        TTL_COLOUR.stroke_width(2),
                    ))
                    .map_err(e)?;
            }
            if r.windows_ms.is_empty() && r.stale_until_end_ms.is_empty() {
                let text = format!(
                    "no environment served after it ({} retired); {} cold starts after",
                    r.retired, r.cold_after
                );
                chart
                    .draw_series(std::iter::once(Text::new(
                        text,
                        (lo * 1.3, y + 0.3),
                        font(11),
                    )))
                    .map_err(e)?;
            }
            super::end_series(&plot)?;
        }
        Ok(())
    }
}
