//! The report's many-secrets tables: per source × mode × count measured, the time until all
//! values were ready (cold first fetch and warm fetches), the calls per fetch the probe counted
//! and the partial failures (the cost of each mode at the workload is the cost model's table,
//! `cost::many::table`).

use crate::group::Metric;
use crate::summary::Summary;
use crate::table::Table;
use crate::units::human_ns;
use secbench_record::run::Phase;
use secbench_record::{MultiMode, Source};
use std::collections::BTreeMap;

/// One measured source × mode × count (× memory).
#[derive(Debug, Clone, PartialEq)]
pub struct ManyRow {
    /// The source.
    pub source: Source,
    /// The mode.
    pub mode: MultiMode,
    /// Values per fetch.
    pub secrets: u32,
    /// Memory size.
    pub memory_mb: Option<u32>,
    /// Cold: the first fetch of all values, p50.
    pub cold_p50_ns: Option<u64>,
    /// Warm: all values ready, p50.
    pub warm_p50_ns: Option<u64>,
    /// Warm: all values ready, p99.
    pub warm_p99_ns: Option<u64>,
    /// AWS API calls per fetch (cold and warm together), as the probe counted them.
    pub calls_per_fetch: Option<f64>,
    /// Fetches with a failed value, of all fetches.
    pub failed_share: f64,
    /// Warm fetches measured.
    pub warm_fetches: u64,
}

/// The rows, sorted by source, mode and count.
pub fn rows(summary: &Summary) -> Vec<ManyRow> {
    let mut out: BTreeMap<(Source, MultiMode, u32, Option<u32>), ManyRow> = BTreeMap::new();
    for g in &summary.groups {
        let (Some(source), Some(mode), Some(secrets)) = (g.key.source, g.key.multi, g.key.secrets)
        else {
            continue;
        };
        let row = out
            .entry((source, mode, secrets, g.key.memory_mb))
            .or_insert_with(|| ManyRow {
                source,
                mode,
                secrets,
                memory_mb: g.key.memory_mb,
                cold_p50_ns: None,
                warm_p50_ns: None,
                warm_p99_ns: None,
                calls_per_fetch: None,
                failed_share: 0.0,
                warm_fetches: 0,
            });
        let headline = g.headline();
        match g.key.phase {
            Phase::Cold => row.cold_p50_ns = headline.map(|m| m.p50_ns),
            Phase::Warm => {
                row.warm_p50_ns = g.metric(Metric::FetchLatency).map(|m| m.p50_ns);
                row.warm_p99_ns = g.metric(Metric::FetchLatency).map(|m| m.p99_ns);
                row.warm_fetches = g.metric(Metric::FetchLatency).map_or(0, |m| m.count);
                let calls: u64 = g.api_calls.values().sum();
                if g.fetches > 0 {
                    row.calls_per_fetch = Some(calls as f64 / g.fetches as f64);
                    row.failed_share =
                        g.fetch_errors.values().sum::<u64>() as f64 / g.fetches as f64;
                }
            }
        }
    }
    out.into_values().collect()
}

/// The measured table.
pub fn table(rows: &[ManyRow]) -> Table {
    let mut t = Table::new(
        [
            "source",
            "mode",
            "N",
            "memory MB",
            "cold: all ready p50",
            "warm: all ready p50",
            "warm: all ready p99",
            "API calls per warm fetch",
            "fetches with a failed value",
        ],
        "LLRRRRRRR",
    );
    let ns = |v: Option<u64>| v.map_or_else(|| "–".to_owned(), human_ns);
    for r in rows {
        t.push(vec![
            r.source.to_string(),
            r.mode.to_string(),
            r.secrets.to_string(),
            r.memory_mb
                .map_or_else(|| "–".to_owned(), |m| m.to_string()),
            ns(r.cold_p50_ns),
            ns(r.warm_p50_ns),
            ns(r.warm_p99_ns),
            r.calls_per_fetch
                .map_or_else(|| "–".to_owned(), |c| format!("{c:.2}")),
            format!("{:.2}%", r.failed_share * 100.0),
        ]);
    }
    t
}
