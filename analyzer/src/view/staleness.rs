//! The report's staleness table: per rotation of each rotating scenario, what bounds its
//! staleness and the TTL configured, how long its environments kept the old value, the share
//! of the invocations after the rotation that got it, and the cold starts the rotation forced.

use crate::approach::StalenessBound;
use crate::staleness::RotationStaleness;
use crate::table::Table;
use crate::units::{span_label, span_label_ms};

/// What bounds it, with its TTL.
pub fn bound(r: &RotationStaleness) -> String {
    match (r.bound, r.ttl) {
        (
            Some(
                b @ (StalenessBound::CacheTtl
                | StalenessBound::AgentTtl
                | StalenessBound::AgentAndCacheTtl),
            ),
            Some(t),
        ) => {
            format!("{} {}", b.describe(), span_label(t.as_secs_f64()))
        }
        (Some(b), _) => b.describe().to_owned(),
        (None, _) => "–".to_owned(),
    }
}

/// The table.
pub fn table(rows: &[RotationStaleness]) -> Table {
    let mut t = Table::new(
        [
            "scenario",
            "approach",
            "rotation",
            "bounded by",
            "environments at rotation",
            "got the new value after (median / max)",
            "last old value served after",
            "still stale at their last invocation (observed)",
            "no invocation after (retired)",
            "stale invocations after",
            "cold starts after",
        ],
        "LLLLRLLLRLR",
    );
    for r in rows {
        let windows = match (r.median_window_ms(), r.max_window_ms()) {
            (Some(m), Some(x)) => format!(
                "{} / {} (n={})",
                span_label_ms(m),
                span_label_ms(x),
                r.windows_ms.len()
            ),
            _ => "–".to_owned(),
        };
        let until_end = match r.stale_until_end_ms.last() {
            Some(max) => format!("{} (≥ {})", r.stale_until_end_ms.len(), span_label_ms(*max)),
            None => "0".to_owned(),
        };
        let rotation = match (&r.rotation.error, r.rotation.confirmed_unix_ms) {
            (Some(e), _) => format!("failed: {e}"),
            (None, _) => format!(
                "#{} {} at {} into the warm phase",
                r.rotation.version_index,
                r.rotation.operation,
                span_label(r.rotation.planned_offset_ms as f64 / 1e3)
            ),
        };
        t.push(vec![
            r.scenario.clone(),
            r.approach.map_or_else(|| "–".to_owned(), |a| a.name()),
            rotation,
            bound(r),
            r.environments.to_string(),
            windows,
            match (r.last_stale_ms, r.ttl) {
                (None, _) => "none served".to_owned(),
                (Some(l), Some(t)) if !t.is_zero() => format!(
                    "{} ({:.0}% of the TTL)",
                    span_label_ms(l),
                    l / (t.as_secs_f64() * 1e3) * 100.0
                ),
                (Some(l), _) => span_label_ms(l),
            },
            until_end,
            r.retired.to_string(),
            match r.stale_share() {
                Some(s) => format!(
                    "{:.1}% ({} of {})",
                    s * 100.0,
                    r.stale_after,
                    r.invocations_after
                ),
                None => "no invocation after".to_owned(),
            },
            r.cold_after.to_string(),
        ]);
    }
    t
}

/// What the table means, for the page and the Markdown.
pub const EXPLANATION: &str = "Each rotation wrote a new value while the scenario's warm phase ran; times are from the instant the service confirmed the write to the send of the invocation, per execution environment, so their resolution is the gap between an environment's invocations. \"Still stale\" environments had not got the new value by their last invocation in the scenario: the figure is what was observed, not how long they would have stayed stale (a fetch at INIT without a cache stays stale until its environment is retired). On the local stage the uncached approaches show moto's consistency, which is immediate; on AWS they show the service's own lag.";

/// The table as aligned text for a terminal (the columns that fit: scenario, bound, windows,
/// still stale, stale share).
pub fn text(rows: &[RotationStaleness]) -> String {
    crate::table::text(&table(rows).select(&[0, 3, 5, 6, 7, 9]))
}
