//! Chart 5: the monthly cost at the user's workload per approach, as stacked bars of fixed
//! fees, API requests, KMS requests, the Lambda compute spent fetching, CloudTrail's extra trail
//! copies and VPC access (cheapest on top).

use super::{stacked_rows, with_legend, Chart, DrawResult, StackedRow};
use crate::cost::CostReport;
use plotters::coord::Shift;
use plotters::prelude::*;

/// The cost categories, in stacking order, with their colours (Okabe–Ito).
pub const CATEGORIES: [(&str, &str, RGBColor); 6] = [
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
    (
        "trail_copies",
        "CloudTrail extra trail copies",
        RGBColor(0xD5, 0x5E, 0x00),
    ),
    (
        "vpc_access",
        "VPC endpoints / NAT",
        RGBColor(0x56, 0xB4, 0xE9),
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
            crate::units::si(self.report.workload.invocations_per_month)
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
            .filter(|a| a.source != secbench_record::Source::PlainEnv)
            .collect();
        let labels: Vec<String> = rows
            .iter()
            .map(|a| {
                if a.feasible {
                    a.approach.name()
                } else {
                    format!("{} (infeasible)", a.approach)
                }
            })
            .collect();
        let bars: Vec<StackedRow> = rows
            .iter()
            .map(|a| StackedRow {
                segments: CATEGORIES
                    .iter()
                    .map(|(key, _, c)| (a.category_usd(key), *c))
                    .collect(),
                end_text: format!("${:.2}", a.monthly_cost_usd),
                tags: {
                    let mut t = vec![
                        ("approach", a.approach.name()),
                        ("source", a.source.to_string()),
                        ("cache", a.cache.to_string()),
                    ];
                    t.push(("label", a.approach.name()));
                    t
                },
            })
            .collect();
        let usd = |v: &f64| format!("${v:.0}");
        stacked_rows(&plot, &labels, &bars, "USD per month", Some(&usd), 0.01)
    }
}
