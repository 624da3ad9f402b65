//! The human table for a terminal: per group, the headline fetch ([`crate::group::Metric::headline`])
//! with its intervals, INIT, errors and cache hits.

use super::note::LOCAL_NOTE;
use crate::group::Metric;
use crate::summary::Summary;
use crate::table::Table;
use crate::units::human_ns;
use crate::view::percentiles::{cache_hits, error_rate, headline_cells, Notation};

/// The table text.
pub fn render(summary: &Summary) -> String {
    // The runner's own send slip, where a run was open loop (runs before it was recorded and
    // closed-loop runs have none).
    let slip = summary
        .groups
        .iter()
        .any(|g| g.metric(Metric::ScheduleSlip).is_some());
    let mut header = vec![
        "stage",
        "scenario",
        "phase",
        "n",
        "fetch p50 [95% CI]",
        "fetch p99 [95% CI]",
        "init (main→ready) p50",
        "errors",
        "hits",
    ];
    if slip {
        header.push("send slip p50 / p99");
    }
    let mut table = Table::new(header, "");
    for g in &summary.groups {
        let k = &g.key;
        let (p50, p99) = headline_cells(g, Notation::Brackets)
            .map_or(("-".into(), "-".into()), |c| (c.p50, c.p99));
        let init = g
            .metric(Metric::InitTotal)
            .map_or("-".into(), |m| human_ns(m.p50_ns));
        let mut row = vec![
            k.stage.clone(),
            k.scenario.clone(),
            k.phase.as_str().to_owned(),
            g.invocations.to_string(),
            p50,
            p99,
            init,
            error_rate(g),
            cache_hits(g),
        ];
        if slip {
            row.push(g.metric(Metric::ScheduleSlip).map_or("-".into(), |m| {
                format!("{} / {}", human_ns(m.p50_ns), human_ns(m.p99_ns))
            }));
        }
        table.push(row);
    }
    let mut out = String::new();
    if summary.local_emulator {
        out.push_str(&format!("{LOCAL_NOTE}\n"));
        for e in summary
            .emulation
            .iter()
            .chain(&crate::summary::run_statements(summary))
        {
            out.push_str(&format!("{e}\n"));
        }
    }
    out.push_str(&crate::table::text(&table));
    if !summary.staleness.is_empty() {
        out.push_str("\nStaleness after a rotation\n");
        out.push_str(&crate::table::text(&crate::view::staleness::table(
            &summary.staleness,
        )));
    }
    out
}
