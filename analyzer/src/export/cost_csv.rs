//! The cost answer as CSV: one row per approach × priced line (so a spreadsheet can pivot
//! it), and the sweep as one row per value × approach.

use crate::cost::evaluate::CostReport;
use crate::cost::sweep::Sweep;
use std::fmt::Write as _;

use super::csv::field;

/// Renders a cost report.
pub fn render(r: &CostReport) -> String {
    let mut o = String::from(
        "approach,feasible,monthly_cost_usd,item,category,quantity,unit,unit_price_usd,cost_usd,included_in_total,pricing_date\n",
    );
    for c in &r.approaches {
        for l in &c.breakdown {
            let _ = writeln!(
                o,
                "{},{},{},{},{},{},{},{},{},{},{}",
                field(&c.approach.name()),
                c.feasible,
                c.monthly_cost_usd,
                field(&l.item),
                l.category,
                l.quantity,
                field(l.unit),
                l.unit_price_usd,
                l.cost_usd,
                l.included_in_total,
                r.pricing.date
            );
        }
    }
    o
}

/// Renders a sweep.
pub fn render_sweep(s: &Sweep) -> String {
    let mut o = format!(
        "{},approach,monthly_cost_usd,feasible,cheapest\n",
        s.parameter
    );
    for p in &s.points {
        for a in &s.approaches {
            let _ = writeln!(
                o,
                "{},{},{},{},{}",
                p.value,
                field(&a.name()),
                p.monthly_cost_usd.get(a).copied().unwrap_or(f64::NAN),
                p.feasible.get(a).copied().unwrap_or(false),
                p.cheapest == Some(*a)
            );
        }
    }
    o
}
