//! The human table for a terminal: per group, the headline fetch ([`crate::ingest::Metric::headline`])
//! with its intervals, INIT, errors and cache hits.

use super::{human_ns, LOCAL_NOTE};
use crate::ingest::Metric;
use crate::summary::Summary;

/// The table text.
pub fn render(summary: &Summary) -> String {
    // The runner's own send slip, where a run was open loop (runs before it was recorded and
    // closed-loop runs have none).
    let slip = summary
        .groups
        .iter()
        .any(|g| g.metric(Metric::ScheduleSlip).is_some());
    let mut rows: Vec<Vec<String>> = vec![vec![
        "stage".into(),
        "scenario".into(),
        "phase".into(),
        "n".into(),
        "fetch p50 [95% CI]".into(),
        "fetch p99 [95% CI]".into(),
        "init (main→ready) p50".into(),
        "errors".into(),
        "hits".into(),
    ]];
    if slip {
        rows[0].push("send slip p50 / p99".into());
    }
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
        rows.push(row);
    }
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    if summary.local_emulator {
        out.push_str(&format!("{LOCAL_NOTE}\n"));
        for e in &summary.emulation {
            out.push_str(&format!("{e}\n"));
        }
    }
    for row in &rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}
