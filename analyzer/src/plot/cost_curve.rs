//! Chart 4: monthly cost against invocations per month, log–log, one line per approach (where
//! it is feasible), the break-even points where the cheapest approach changes, and the user's
//! workload as a vertical line. Drawn from `secbench cost --sweep`.

use super::{colour, e, font, with_legend, Chart, DrawResult};
use crate::approach::Approach;
use crate::cost::sweep::Sweep;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// The chart.
#[derive(Debug, Clone)]
pub struct CostCurve {
    /// The sweep over invocations per month.
    pub sweep: Sweep,
    /// The workload's invocations per month.
    pub workload_invocations: f64,
}

impl CostCurve {
    /// The approaches drawn: all but the plaintext baseline, which costs nothing to fetch.
    fn shown(&self) -> Vec<&Approach> {
        self.sweep
            .approaches
            .iter()
            .filter(|a| a.source != secbench_record::Source::PlainEnv)
            .collect()
    }
}

fn usd(v: f64) -> String {
    if v >= 1000.0 {
        format!("${:.0}k", v / 1000.0)
    } else if v >= 1.0 {
        format!("${v:.0}")
    } else if v >= 0.01 {
        format!("${v:.2}")
    } else {
        format!("${v:.1e}")
    }
}

fn count(v: f64) -> String {
    crate::units::si(v)
}

impl Chart for CostCurve {
    fn name(&self) -> &'static str {
        "cost-curve"
    }
    fn title(&self) -> String {
        format!(
            "Monthly cost vs invocations per month (pricing table {})",
            self.sweep.pricing.date
        )
    }
    fn size(&self) -> (u32, u32) {
        (
            super::WIDTH,
            super::HEIGHT.max(super::legend_height(self.shown().len())),
        )
    }
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult {
        let s = &self.sweep;
        let shown = self.shown();
        let items: Vec<(String, RGBColor)> = shown
            .iter()
            .map(|a| (a.name(), colour(Some(**a))))
            .collect();
        let plot = with_legend(area, &self.title(), &items)?;
        let xs = (
            s.points.first().map_or(1.0, |p| p.value),
            s.points.last().map_or(10.0, |p| p.value),
        );
        let ymax = s
            .points
            .iter()
            .flat_map(|p| p.monthly_cost_usd.values())
            .fold(0.0f64, |a, b| a.max(*b))
            .max(1.0)
            * 2.0;
        // The floor sits under the cheapest non-zero cost, so no line is clipped to it.
        let ymin = s
            .points
            .iter()
            .flat_map(|p| p.monthly_cost_usd.iter())
            .filter(|(a, c)| a.source != secbench_record::Source::PlainEnv && **c > 0.0)
            .map(|(_, c)| *c)
            .fold(f64::INFINITY, f64::min)
            .clamp(1e-4, 1.0)
            / 2.0;
        let mut chart = ChartBuilder::on(&plot)
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d((xs.0..xs.1).log_scale(), (ymin..ymax).log_scale())
            .map_err(e)?;
        chart
            .configure_mesh()
            .x_desc("invocations per month (log scale); a line stops where its approach exceeds a quota")
            .y_desc("USD per month (log scale)")
            .x_label_formatter(&|v| count(*v))
            .y_label_formatter(&|v| usd(*v))
            .label_style(font(12))
            .axis_desc_style(font(14))
            .draw()
            .map_err(e)?;
        for a in &shown {
            // Feasible stretches only: an approach the quotas rule out has no line there.
            let mut segment: Vec<(f64, f64)> = Vec::new();
            let mut segments = Vec::new();
            for p in &s.points {
                let feasible = p.feasible.get(*a).copied().unwrap_or(false);
                match p.monthly_cost_usd.get(*a) {
                    Some(c) if feasible => segment.push((p.value, c.max(ymin))),
                    _ => {
                        if !segment.is_empty() {
                            segments.push(std::mem::take(&mut segment));
                        }
                    }
                }
            }
            if !segment.is_empty() {
                segments.push(segment);
            }
            super::begin_series(
                area,
                vec![
                    ("approach", a.name()),
                    ("source", a.source.to_string()),
                    ("cache", a.cache.to_string()),
                    ("label", a.name()),
                ],
            )?;
            for seg in segments {
                chart
                    .draw_series(LineSeries::new(seg, colour(Some(**a)).stroke_width(2)))
                    .map_err(e)?;
            }
            super::end_series(area)?;
        }
        for b in &s.break_even {
            chart
                .draw_series(DashedLineSeries::new(
                    [(b.value, ymin), (b.value, ymax)],
                    6,
                    4,
                    BLACK.mix(0.5).stroke_width(1),
                ))
                .map_err(e)?;
            // Labels right of the line in the left half, left of it in the right half, so they
            // stay inside the plot; successive ones step down.
            let k = s
                .break_even
                .iter()
                .position(|x| std::ptr::eq(x, b))
                .unwrap_or(0) as i32;
            let right_half = (b.value / xs.0).ln() > (xs.1 / xs.0).ln() / 2.0;
            let style = if right_half {
                font(12).pos(Pos::new(HPos::Right, VPos::Top))
            } else {
                font(12)
            };
            let x = if right_half {
                b.value / 1.05
            } else {
                b.value * 1.05
            };
            chart
                .draw_series([Text::new(
                    format!(
                        "break-even {}: {} → {}",
                        count(b.value),
                        b.from.map_or_else(|| "none".to_owned(), |a| a.name()),
                        b.to.map_or_else(|| "none".to_owned(), |a| a.name())
                    ),
                    (x, ymax / 2.5 / 3f64.powi(k)),
                    style,
                )])
                .map_err(e)?;
        }
        let w = self.workload_invocations;
        if w >= xs.0 && w <= xs.1 {
            chart
                .draw_series(LineSeries::new(
                    [(w, ymin), (w, ymax)],
                    BLACK.stroke_width(2),
                ))
                .map_err(e)?;
            let right_half = (w / xs.0).ln() > (xs.1 / xs.0).ln() / 2.0;
            let (x, style) = if right_half {
                (w / 1.05, font(13).pos(Pos::new(HPos::Right, VPos::Top)))
            } else {
                (w * 1.05, font(13))
            };
            chart
                .draw_series([Text::new(
                    format!("your workload: {}", count(w)),
                    (x, ymax / 1.4),
                    style,
                )])
                .map_err(e)?;
        }
        Ok(())
    }
}
