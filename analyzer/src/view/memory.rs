//! The report's tables against memory size and of connections: per approach and memory size,
//! the cold start (the platform's INIT, the first fetch) and the warm fetch next to the monthly
//! cost at that size (as AWS Lambda Power Tuning shows speed and cost per memory size), and per
//! group the TLS handshakes and kept-alive requests the local stage's front counted.

use crate::approach::name_of;
use crate::family::{Families, Family};
use crate::group::{Connections, Metric};
use crate::summary::Summary;
use crate::table::Table;
use crate::units::human_ns_or_dash;
use secbench_record::run::Phase;
use std::collections::BTreeMap;

/// One approach at one memory size.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MemoryRow {
    /// The approach (or scenario) name.
    pub approach: String,
    /// The approach, when the records named one (its colour in the plots).
    #[serde(skip)]
    pub approach_key: Option<crate::approach::Approach>,
    /// The memory size.
    pub memory_mb: u32,
    /// Cold: the platform's INIT, p50.
    pub init_p50_ns: Option<u64>,
    /// Cold: the first fetch (the headline), p50 and p99.
    pub cold_fetch_p50_ns: Option<u64>,
    /// Cold: p99 of the first fetch.
    pub cold_fetch_p99_ns: Option<u64>,
    /// Warm fetch p50.
    pub warm_fetch_p50_ns: Option<u64>,
    /// Warm fetch p99.
    pub warm_fetch_p99_ns: Option<u64>,
    /// CPU time of a cold start's INIT, p50 (local stage).
    pub init_cpu_p50_ns: Option<u64>,
    /// The approach's monthly cost with the workload at this memory size and the latencies
    /// measured at it.
    pub monthly_cost_usd: Option<f64>,
}

/// The rows, when the runs measured more than one memory size (else empty): the main
/// scenarios (`crate::family`), with each approach's cost at that size from `by_size`.
pub fn rows(
    summary: &Summary,
    families: &Families,
    by_size: &BTreeMap<u32, crate::cost::CostReport>,
) -> Vec<MemoryRow> {
    let sizes = crate::family::sizes(summary, families, None);
    if sizes.len() < 2 {
        return Vec::new();
    }
    let cost_at: BTreeMap<(String, u32), f64> = by_size
        .iter()
        .flat_map(|(m, r)| {
            r.approaches
                .iter()
                .map(move |a| ((a.approach.name(), *m), a.monthly_cost_usd))
        })
        .collect();
    let mut out: BTreeMap<(String, u32), MemoryRow> = BTreeMap::new();
    for g in summary
        .groups
        .iter()
        .filter(|g| families.of(&g.key) == Family::Main)
    {
        let Some(memory_mb) = g.key.memory_mb else {
            continue;
        };
        let approach = name_of(&g.key);
        let row = out
            .entry((approach.clone(), memory_mb))
            .or_insert_with(|| MemoryRow {
                approach: approach.clone(),
                approach_key: crate::approach::Approach::of(&g.key),
                memory_mb,
                init_p50_ns: None,
                cold_fetch_p50_ns: None,
                cold_fetch_p99_ns: None,
                warm_fetch_p50_ns: None,
                warm_fetch_p99_ns: None,
                init_cpu_p50_ns: None,
                monthly_cost_usd: cost_at.get(&(approach.clone(), memory_mb)).copied(),
            });
        let headline = g.headline();
        match g.key.phase {
            Phase::Cold => {
                row.init_p50_ns = g.metric(Metric::PlatformInitDuration).map(|m| m.p50_ns);
                row.cold_fetch_p50_ns = headline.map(|m| m.p50_ns);
                row.cold_fetch_p99_ns = headline.map(|m| m.p99_ns);
                row.init_cpu_p50_ns = g.metric(Metric::InitCpu).map(|m| m.p50_ns);
            }
            Phase::Warm => {
                row.warm_fetch_p50_ns = headline.map(|m| m.p50_ns);
                row.warm_fetch_p99_ns = headline.map(|m| m.p99_ns);
            }
        }
    }
    out.into_values().collect()
}

/// One group's connection counts, for the table.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ConnectionRow {
    /// The group's label (scenario and phase).
    pub group: String,
    /// The counts.
    pub connections: Connections,
}

/// The connection table's rows (empty for AWS runs).
pub fn connection_rows(summary: &Summary) -> Vec<ConnectionRow> {
    summary
        .groups
        .iter()
        .filter_map(|g| {
            Some(ConnectionRow {
                group: format!(
                    "{} {} ({})",
                    g.key.stage,
                    g.key.scenario,
                    g.key.phase.as_str()
                ),
                connections: g.connections?,
            })
        })
        .collect()
}

/// The memory table: one definition for the HTML and the Markdown.
pub fn memory_table(rows: &[MemoryRow]) -> Table {
    let mut t = Table::new(
        [
            "approach",
            "memory MB",
            "INIT p50",
            "INIT CPU p50",
            "cold first fetch p50",
            "cold first fetch p99",
            "warm fetch p50",
            "warm fetch p99",
            "USD/month",
        ],
        "LRRRRRRRR",
    );
    for r in rows {
        t.push(vec![
            r.approach.clone(),
            r.memory_mb.to_string(),
            human_ns_or_dash(r.init_p50_ns),
            human_ns_or_dash(r.init_cpu_p50_ns),
            human_ns_or_dash(r.cold_fetch_p50_ns),
            human_ns_or_dash(r.cold_fetch_p99_ns),
            human_ns_or_dash(r.warm_fetch_p50_ns),
            human_ns_or_dash(r.warm_fetch_p99_ns),
            r.monthly_cost_usd
                .map_or_else(|| "–".to_owned(), |c| format!("{c:.2}")),
        ]);
    }
    t
}

/// The connection table.
pub fn connection_table(rows: &[ConnectionRow]) -> Table {
    let mut t = Table::new(
        [
            "group",
            "invocations",
            "TLS handshakes",
            "handshakes per invocation",
            "requests",
            "on a kept-alive connection",
        ],
        "LRRRRR",
    );
    for r in rows {
        let c = &r.connections;
        t.push(vec![
            r.group.clone(),
            c.invocations.to_string(),
            c.tls_handshakes.to_string(),
            format!(
                "{:.2}",
                c.tls_handshakes as f64 / c.invocations.max(1) as f64
            ),
            c.requests.to_string(),
            c.reused_connection_requests.to_string(),
        ]);
    }
    t
}
