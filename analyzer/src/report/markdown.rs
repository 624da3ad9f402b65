//! `report.md`: the report as GitHub-flavoured Markdown for a pull request or a wiki, with the
//! plots as linked PNGs.

use super::data::{relative, ReportData};
use crate::plot::Rendered;
use std::fmt::Write as _;
use std::path::Path;

/// Renders the Markdown.
pub fn render(d: &ReportData, plots: &[Rendered], out: &Path) -> String {
    let mut o = String::from("# secbench report: getting secrets into AWS Lambda\n\n");
    if d.local_emulator {
        o.push_str("> **Local emulator figures** (moto + the local Lambda platform on one machine), not AWS: compare approaches with them, and measure on AWS before deciding.\n\n");
        for e in d
            .summary
            .emulation
            .iter()
            .chain(&crate::summary::run_statements(&d.summary))
        {
            o.push_str(&format!("> {e}\n\n"));
        }
    }
    let _ = writeln!(
        o,
        "{} records from {} run(s); secbench {}.\n",
        d.summary.input.records,
        d.summary.input.runs.len(),
        d.summary.tool_version
    );
    o.push_str("## Decision\n\n");
    for t in &d.decision.tables {
        let _ = writeln!(o, "### {}\n", super::decision::heading(t));
        o.push_str(&crate::table::markdown(&super::decision::table(t)));
        o.push('\n');
    }
    for s in &d.decision.sentences {
        let _ = writeln!(o, "{s}\n");
    }
    o.push_str("★ recommended; ✗ fails an objective, the staleness limit or a quota at the workload's peak.\n\n");
    o.push_str("## Recommendation\n\n");
    match &d.cost {
        Some(c) => {
            let r = &c.recommendation;
            let _ = writeln!(
                o,
                "**{}**{}. {}\n\nWorkload: {} invocations/month × {} function(s), {} secret(s), {} MB, {}; pricing table {}.\n",
                &r.approach.map_or_else(|| "no approach qualifies".to_owned(), |a| a.name()),
                r.monthly_cost_usd.map(|c| format!(" at ${c:.2} a month")).unwrap_or_default(),
                r.why,
                crate::units::si(c.workload.invocations_per_month),
                c.workload.functions,
                c.workload.secrets,
                c.workload.memory_mb,
                c.workload.region,
                c.pricing.date
            );
        }
        None => o.push_str("No workload given: no cost model or recommendation (`secbench report RUN --workload FILE`).\n\n"),
    }
    if !d.cold.is_empty() {
        o.push_str("## Cold starts: where the time goes\n\n");
        o.push_str(&d.cold);
    }
    o.push_str("## Plots\n\n");
    for p in plots {
        let _ = writeln!(
            o,
            "### {}\n\n![{}]({})\n",
            p.title,
            p.title,
            relative(&p.png_path, out)
        );
    }
    o.push_str("## Fetch latency percentiles\n\n");
    for family in crate::family::Family::ALL {
        let t = super::tables::percentiles(d, family);
        if t.is_empty() {
            continue;
        }
        let _ = writeln!(o, "### {}\n", family.describe());
        o.push_str(&crate::table::markdown(
            &t.select(&super::tables::PERCENTILES_MARKDOWN),
        ));
        o.push('\n');
    }
    let _ = writeln!(o, "\n{}", crate::stats::PERCENTILE_DEFINITION);
    if let Some(c) = &d.cost {
        o.push_str("\n## Monthly cost at the workload\n\n");
        o.push_str(&crate::table::markdown(
            &super::tables::cost(c).select(&super::tables::COST_MARKDOWN),
        ));
    }
    for (title, table, empty) in [
        (
            "Against memory size",
            crate::view::memory::memory_table(&d.by_memory),
            d.by_memory.is_empty(),
        ),
        (
            "Connections at the front (TLS handshakes)",
            crate::view::memory::connection_table(&d.connections),
            d.connections.is_empty(),
        ),
        (
            "Staleness after a rotation",
            crate::view::staleness::table(&d.staleness),
            d.staleness.is_empty(),
        ),
        (
            "SnapStart: what restores share",
            crate::view::snapstart::table(&d.summary),
            crate::view::snapstart::table(&d.summary).is_empty(),
        ),
        (
            "Many secrets per fetch: all values ready",
            crate::view::many::table(&d.many),
            d.many.is_empty(),
        ),
        (
            "Many secrets per fetch: monthly cost per mode at the workload",
            crate::cost::many::table(d.cost.as_ref().map_or(&[][..], |c| &c.many[..]), true),
            d.cost.is_none(),
        ),
    ] {
        if empty {
            continue;
        }
        let _ = writeln!(o, "\n## {title}\n");
        o.push_str(&crate::table::markdown(&table));
    }
    o.push_str("\n## Raw exports\n\n");
    for (path, what) in &d.exports {
        let _ = writeln!(o, "- [{path}]({path}): {what}");
    }
    o
}
