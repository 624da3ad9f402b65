//! Chart 5: the monthly cost at the user's workload per approach, as stacked bars of fixed
//! fees, API requests, KMS requests and the Lambda compute spent fetching (cheapest on top).

use super::{e, font, with_legend, Chart, DrawResult};
use crate::cost::CostReport;
use plotters::coord::Shift;
use plotters::prelude::*;

/// The cost categories, in stacking order, with their colours (Okabe–Ito).
pub const CATEGORIES: [(&str, &str, RGBColor); 4] = [
    (
        "fixed",
        "fixed fees (keys, secrets, parameters)",
        RGBColor(0x00, 0x72, 0xB2),
    ),
    ("api_requests", "API requests", RGBColor(0xE6, 0x9F, 0x00)),
    ("kms_requests", "KMS requests", RGBColor(0x00, 0x9E, 0x73)),
    (
        "lambda_compute",
        "Lambda compute for fetching",
        RGBColor(0xCC, 0x79, 0xA7),
    ),
];

/// The chart.
#[derive(Debug, Clone)]
pub struct CostBreakdown {
    /// The cost report at the workload.
    pub report: CostReport,
}

impl Chart for CostBreakdown {
    fn name(&self) -> &'static str {
        "cost-breakdown"
    }
    fn title(&self) -> String {
        format!(
            "Monthly cost at your workload ({} invocations/month), by item",
            crate::cost::table::si(self.report.workload.invocations_per_month)
        )
    }
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult {
        let items: Vec<(String, RGBColor)> = CATEGORIES
            .iter()
            .map(|(_, l, c)| ((*l).to_owned(), *c))
            .collect();
        let plot = with_legend(area, &self.title(), &items)?;
        let rows: Vec<_> = self
            .report
            .approaches
            .iter()
            .filter(|a| a.approach != "plain-env")
            .collect();
        let n = rows.len().max(1);
        let hi = rows
            .iter()
            .map(|a| a.monthly_cost_usd)
            .fold(0.0, f64::max)
            .max(0.01)
            * 1.25;
        let labels: Vec<String> = rows
            .iter()
            .map(|a| {
                if a.feasible {
                    a.approach.clone()
                } else {
                    format!("{} (infeasible)", a.approach)
                }
            })
            .collect();
        let mut chart = ChartBuilder::on(&plot)
            .margin(8)
            .x_label_area_size(40)
            .y_label_area_size(super::label_area(&labels, 360))
            .build_cartesian_2d(0.0..hi, 0.0..n as f64)
            .map_err(e)?;
        chart
            .configure_mesh()
            .x_desc("USD per month")
            .x_label_formatter(&|v| format!("${v:.0}"))
            .y_labels(n * 2 + 1)
            .y_label_formatter(&|y| super::row_label(&labels, n, *y))
            .label_style(font(12))
            .axis_desc_style(font(14))
            .disable_y_mesh()
            .draw()
            .map_err(e)?;
        for (i, a) in rows.iter().enumerate() {
            let y0 = n as f64 - i as f64 - 0.8;
            let mut x = 0.0;
            for (key, _, c) in CATEGORIES {
                let v: f64 = a
                    .breakdown
                    .iter()
                    .filter(|l| l.category == key && l.included_in_total)
                    .map(|l| l.cost_usd)
                    .sum();
                if v > 0.0 {
                    chart
                        .draw_series([Rectangle::new([(x, y0), (x + v, y0 + 0.6)], c.filled())])
                        .map_err(e)?;
                }
                x += v;
            }
            chart
                .draw_series([Text::new(
                    format!("${:.2}", a.monthly_cost_usd),
                    (x + hi * 0.01, y0 + 0.45),
                    font(12),
                )])
                .map_err(e)?;
        }
        Ok(())
    }
}
