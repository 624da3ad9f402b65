//! The cost renderers as pure functions: the example workload priced with the shipped table
//! (both compiled in), rendered as the terminal table, CSV and a sweep, without I/O.

use super::recommend::Slo;
use super::sweep::SweepSpec;
use super::workload::Workload;
use super::{latencies_from_workload, pricing, report, PricingInfo};
use crate::approach::Approach;
use crate::export::{cost_csv as csv, cost_table as table};

const EXAMPLE: &str = include_str!("../../tests/fixtures/workloads/example.toml");

fn example() -> super::CostReport {
    let w = Workload::parse(EXAMPLE).expect("example workload");
    let (p, overridden) = pricing::parse(pricing::DEFAULT_TABLE, &w.region).expect("table");
    let info = PricingInfo::new(&p, "shipped", &w.region, overridden);
    let lat = latencies_from_workload(&w);
    report(
        &w,
        &p,
        info,
        super::evaluate::Measurements {
            latencies: &lat,
            notes: &Default::default(),
            round_times: &Default::default(),
        },
        super::latency::LatencyOrigin::Workload,
        &Slo::default(),
    )
}

#[test]
fn the_table_lists_every_approach_cheapest_first_with_the_recommendation() {
    let r = example();
    let t = table::render(&r);
    for a in Approach::all() {
        assert!(
            t.contains(&format!("\n{} ", a.name())),
            "{} missing",
            a.name()
        );
    }
    let costs: Vec<f64> = r.approaches.iter().map(|c| c.monthly_cost_usd).collect();
    assert!(costs.windows(2).all(|w| w[0] <= w[1]), "{costs:?}");
    let rec = r.recommendation.approach.expect("a recommendation");
    assert!(t.contains(&format!("Recommendation: {rec}")), "{t}");
    assert!(t.contains(super::FORMULA));
}

#[test]
fn csv_has_a_row_per_priced_line_and_totals_agree() {
    let r = example();
    let text = csv::render(&r);
    let lines: usize = r.approaches.iter().map(|c| c.breakdown.len()).sum();
    assert_eq!(text.lines().count(), lines + 1);
    for c in &r.approaches {
        let name = c.approach.name();
        let sum: f64 = text
            .lines()
            .skip(1)
            // The approach leads; cost_usd, included_in_total and the date close each row
            // (the quoted fields between them may hold commas).
            .filter(|l| l.split(',').next() == Some(name.as_str()))
            .map(|l| l.rsplit(',').collect::<Vec<_>>())
            .filter(|f| f[1] == "true")
            .map(|f| f[2].parse::<f64>().expect("cost_usd"))
            .sum();
        assert!(
            (sum - c.monthly_cost_usd).abs() < 1e-9,
            "{name}: {sum} vs {}",
            c.monthly_cost_usd
        );
    }
}

#[test]
fn a_sweep_renders_a_row_per_value_and_names_its_break_even_points() {
    let w = Workload::parse(EXAMPLE).expect("example workload");
    let (p, overridden) = pricing::parse(pricing::DEFAULT_TABLE, &w.region).expect("table");
    let info = PricingInfo::new(&p, "shipped", &w.region, overridden);
    let spec = SweepSpec::parse("invocations_per_month=1e4..1e9").expect("spec");
    let s =
        super::sweep::sweep(&w, &spec, 2, &p, info, &latencies_from_workload(&w)).expect("sweep");
    let t = table::render_sweep(&s);
    assert_eq!(s.points.len(), 11);
    for b in &s.break_even {
        let from = b.from.map_or_else(|| "none".to_owned(), |a| a.name());
        assert!(t.contains(&format!(": {from} → ")), "{t}");
    }
    let c = csv::render_sweep(&s);
    assert_eq!(c.lines().count(), 1 + s.points.len() * s.approaches.len());
}
