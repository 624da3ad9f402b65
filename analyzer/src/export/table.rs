//! The human table for a terminal: per group, the headline fetch ([`crate::ingest::Metric::headline`])
//! with its intervals, INIT, errors and cache hits.

use super::{human_ns, LOCAL_NOTE};
use crate::summary::Summary;

/// The table text.
pub fn render(summary: &Summary) -> String {
    let mut rows: Vec<[String; 9]> = vec![[
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
        rows.push([
            k.stage.clone(),
            k.scenario.clone(),
            k.phase.as_str().to_owned(),
            g.invocations.to_string(),
            p50,
            p99,
            init,
            format!("{:.2}%", g.error_rate * 100.0),
            format!("{:.1}%", g.cache_hit_ratio * 100.0),
        ]);
    }
    let widths: Vec<usize> = (0..9)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    if summary.local_emulator {
        out.push_str(&format!("{LOCAL_NOTE}\n"));
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
