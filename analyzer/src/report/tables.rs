//! The report's own tables, each built once for the page and the Markdown (which shows fewer
//! columns of some): fetch latency percentiles per group, the monthly cost per approach, the
//! comparison with a base run, and the runs' environment.

use super::data::ReportData;
use crate::approach::name_of as approach_name;
use crate::cost::CostReport;
use crate::table::Table;
use crate::units::human_ns as ms;
use crate::view::percentiles::{error_rate, headline_cells, Notation};

/// Per stage × approach × phase of one family's scenarios (`crate::family`): the headline
/// fetch's percentiles with their intervals, each row tagged for the page's filter. Columns:
/// stage, approach, scenario, phase, n, p50 with its interval, p90, p99 with its interval,
/// p99.9, max, errors.
pub fn percentiles(d: &ReportData, family: crate::family::Family) -> Table {
    let mut t = Table::new(
        [
            "stage",
            "approach",
            "scenario",
            "phase",
            "n",
            "p50 [95% CI]",
            "p90",
            "p99 [95% CI]",
            "p99.9",
            "max",
            "errors",
        ],
        "LLLLRRRRRRR",
    );
    for g in d
        .summary
        .groups
        .iter()
        .filter(|g| d.families.of(&g.key) == family)
    {
        let (Some(m), Some(p)) = (g.headline(), headline_cells(g, Notation::Brackets)) else {
            continue;
        };
        let cells: Vec<crate::table::Cell> = vec![
            g.key.stage.clone(),
            approach_name(&g.key),
            g.key.scenario.clone(),
            g.key.phase.as_str().to_owned(),
            m.count.to_string(),
            p.p50,
            p.p90,
            p.p99,
            p.p999,
            p.max,
            error_rate(g),
        ]
        .into_iter()
        .map(Into::into)
        .collect();
        t.push(crate::table::Row {
            cells,
            mark: None,
            tags: crate::view::tags::tags_of_group(&g.key, family),
        });
    }
    t
}

/// The Markdown's columns of [`percentiles`].
pub const PERCENTILES_MARKDOWN: [usize; 7] = [0, 1, 3, 4, 5, 7, 10];

/// Per approach: the monthly cost at the workload, feasibility, the latencies it used, the
/// longest staleness and the notes. Columns: approach, USD/month, feasible, cold p99, warm p99,
/// longest possible staleness, notes.
pub fn cost(c: &CostReport) -> Table {
    let mut t = Table::new(
        [
            "approach",
            "USD/month",
            "feasible",
            "cold p99",
            "warm p99",
            "longest possible staleness",
            "notes",
        ],
        "LRLRRLL",
    );
    for a in &c.approaches {
        t.push(vec![
            a.approach.name(),
            format!("{:.2}", a.monthly_cost_usd),
            if a.feasible { "yes" } else { "no" }.to_owned(),
            a.latency
                .map_or("–".into(), |l| ms((l.cold_p99_s * 1e9) as u64)),
            a.latency
                .map_or("–".into(), |l| ms((l.warm_p99_s * 1e9) as u64)),
            format!(
                "{} ({}{})",
                crate::units::span_label(a.longest_staleness_s),
                a.staleness_bound.describe(),
                if a.staleness_assumed {
                    ", assumed: set max_environment_lifetime"
                } else {
                    ""
                }
            ),
            a.notes
                .iter()
                .filter(|n| !n.starts_with("latency measured"))
                .cloned()
                .collect::<Vec<_>>()
                .join("; "),
        ]);
    }
    t
}

/// The Markdown's columns of [`cost`].
pub const COST_MARKDOWN: [usize; 4] = [0, 1, 2, 5];

/// NEW/BASE ratios of the median and p99 per group, with their verdicts.
pub fn comparison(
    comparisons: &[crate::compare::Comparison],
    summary: &crate::summary::Summary,
    families: &crate::family::Families,
) -> Table {
    let mut t = Table::new(
        [
            "scenario",
            "phase",
            "metric",
            "p50 NEW/BASE [95% CI]",
            "verdict",
            "p99 NEW/BASE [95% CI]",
            "verdict",
        ],
        "LLLRLRL",
    );
    for c in comparisons {
        let cells = vec![
            c.scenario.clone(),
            c.phase.as_str().to_owned(),
            c.metric.name().to_owned(),
            format!(
                "{:.3} [{:.3}, {:.3}]",
                c.p50.ratio, c.p50.ci[0], c.p50.ci[1]
            ),
            c.p50.verdict.as_str().to_owned(),
            format!(
                "{:.3} [{:.3}, {:.3}]",
                c.p99.ratio, c.p99.ci[0], c.p99.ci[1]
            ),
            c.p99.verdict.as_str().to_owned(),
        ]
        .into_iter()
        .map(Into::into)
        .collect();
        t.push(crate::table::Row {
            cells,
            mark: None,
            tags: crate::view::tags::tags_of_scenario(summary, families, &c.scenario),
        });
    }
    t
}

/// Each run: where it ran, how it ended, its accounting.
pub fn environment(d: &ReportData) -> Table {
    let mut t = Table::new(
        [
            "run",
            "stage",
            "region",
            "function",
            "where",
            "status",
            "accounting",
            "secbench",
            "started",
        ],
        "LLLLLLLLL",
    );
    for (dir, m) in &d.manifests {
        t.push(vec![
            dir.clone(),
            m.stage.clone(),
            m.region.clone(),
            m.function.clone(),
            if m.local_emulator {
                "local emulator"
            } else {
                "AWS"
            }
            .to_owned(),
            m.status.as_str().to_owned(),
            m.accounting.line(),
            m.tool_version.clone(),
            m.started_at.clone(),
        ]);
    }
    t
}
