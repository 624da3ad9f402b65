//! The human table for a terminal: per group, the headline fetch ([`crate::group::Metric::headline`])
//! with its intervals, INIT, errors and cache hits.

use super::note::LOCAL_NOTE;
use crate::group::Metric;
use crate::summary::Summary;
use crate::table::Table;
use crate::units::human_ns;

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
        let fetch = g.headline();
        let p50 = fetch.map_or("-".into(), |m| {
            format!(
                "{} [{}, {}]",
                human_ns(m.p50_ns),
                human_ns(m.p50_ci_ns[0]),
                human_ns(m.p50_ci_ns[1])
            )
        });
        let p99 = fetch.map_or("-".into(), |m| {
            format!(
                "{} [{}, {}]{}",
                human_ns(m.p99_ns),
                human_ns(m.p99_ci_ns[0]),
                human_ns(m.p99_ci_ns[1]),
                if m.p99_stable { "" } else { " (few samples)" }
            )
        });
        let init = g
            .metrics
            .get("init_main_to_ready_ns")
            .map_or("-".into(), |m| human_ns(m.p50_ns));
        let mut row = vec![
            k.stage.clone(),
            k.scenario.clone(),
            k.phase.as_str().to_owned(),
            g.invocations.to_string(),
            p50,
            p99,
            init,
            format!("{:.2}%", g.error_rate * 100.0),
            format!("{:.1}%", g.cache_hit_ratio * 100.0),
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
            .chain(&crate::summary::runtime_statements(summary))
        {
            out.push_str(&format!("{e}\n"));
        }
    }
    out.push_str(&crate::table::text(&table));
    if !summary.staleness.is_empty() {
        out.push_str("\nStaleness after a rotation\n");
        out.push_str(&crate::table::text(&crate::report::staleness::table(
            &summary.staleness,
        )));
    }
    out
}
