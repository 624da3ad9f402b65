//! A GitHub-flavoured Markdown table of the headline metric ([`crate::group::Metric::headline`]: the first
//! fetch of a cold environment, else the handler's fetch) per group, with its confidence
//! intervals, errors and cache hits.

use super::note::LOCAL_NOTE;
use crate::summary::Summary;
use crate::table::Table;
use crate::view::percentiles::{
    cache_hits, error_rate, headline_cells, Notation, FEW_SAMPLES_FOOTNOTE,
};

/// The Markdown text.
pub fn render(summary: &Summary) -> String {
    let mut out = String::new();
    if summary.local_emulator {
        out.push_str(&format!("> **{LOCAL_NOTE}.**\n"));
        for e in summary
            .emulation
            .iter()
            .chain(&crate::summary::run_statements(summary))
        {
            out.push_str(&format!(">\n> {e}\n"));
        }
        out.push('\n');
    }
    let mut table = Table::new(
        [
            "stage",
            "scenario",
            "phase",
            "n",
            "fetch p50 (95% CI)",
            "fetch p90",
            "fetch p99 (95% CI)",
            "errors",
            "cache hits",
        ],
        "LLLRRRRRR",
    );
    for g in &summary.groups {
        let k = &g.key;
        let (p50, p90, p99) = headline_cells(g, Notation::Dagger)
            .map_or(("–".into(), "–".into(), "–".into()), |c| {
                (c.p50, c.p90, c.p99)
            });
        table.push(vec![
            k.stage.clone(),
            k.scenario.clone(),
            k.phase.as_str().to_owned(),
            g.invocations.to_string(),
            p50,
            p90,
            p99,
            error_rate(g),
            cache_hits(g),
        ]);
    }
    out.push_str(&crate::table::markdown(&table));
    if summary
        .groups
        .iter()
        .any(|g| g.headline().is_some_and(|m| !m.p99_stable))
    {
        out.push_str(&format!("\n{FEW_SAMPLES_FOOTNOTE}\n"));
    }
    if !summary.staleness.is_empty() {
        out.push_str("\n## Staleness after a rotation\n\n");
        out.push_str(&crate::table::markdown(&crate::view::staleness::table(
            &summary.staleness,
        )));
    }
    out
}
