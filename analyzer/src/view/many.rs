//! The report's many-secrets tables: per source × mode × count measured, the time until all
//! values were ready (cold first fetch and warm fetches), the calls per fetch the probe counted
//! and the partial failures (the cost of each mode at the workload is the cost model's table,
//! `cost::many::table`).

use crate::group::Metric;
use crate::summary::Summary;
use crate::table::Table;
use crate::units::human_ns_or_dash;
use secbench_record::run::Phase;
use secbench_record::{CacheMode, MultiMode, Source};
use std::collections::BTreeMap;

/// One measured group of several secrets per fetch: stage × scenario × source × mode × count ×
/// cache × memory (its cold and warm phases in one row; rows never merge two set-ups).
#[derive(Debug, Clone, PartialEq)]
pub struct ManyRow {
    /// The stage.
    pub stage: String,
    /// The scenario (as run, after any sweep).
    pub scenario: String,
    /// The probe's cache in front of the reads.
    pub cache: Option<CacheMode>,
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

/// What keeps rows apart, in the order they are listed.
type RowKey = (
    Source,
    MultiMode,
    u32,
    Option<CacheMode>,
    Option<u32>,
    String,
    String,
);

/// The rows, sorted by source, mode, count, cache, memory and stage.
pub fn rows(summary: &Summary) -> Vec<ManyRow> {
    let mut out: BTreeMap<RowKey, ManyRow> = BTreeMap::new();
    for g in &summary.groups {
        let (Some(source), Some(mode), Some(secrets)) = (g.key.source, g.key.multi, g.key.secrets)
        else {
            continue;
        };
        let row = out
            .entry((
                source,
                mode,
                secrets,
                g.key.cache,
                g.key.memory_mb,
                g.key.stage.clone(),
                g.key.scenario.clone(),
            ))
            .or_insert_with(|| ManyRow {
                stage: g.key.stage.clone(),
                scenario: g.key.scenario.clone(),
                cache: g.key.cache,
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

/// The measured table (with a stage column when the rows come from more than one stage).
pub fn table(rows: &[ManyRow]) -> Table {
    let stages = rows
        .iter()
        .map(|r| r.stage.as_str())
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    let mut header = vec![
        "source",
        "mode",
        "N",
        "cache",
        "memory MB",
        "cold: all ready p50",
        "warm: all ready p50",
        "warm: all ready p99",
        "API calls per warm fetch",
        "fetches with a failed value",
    ];
    let mut align = String::from("LLRLRRRRRR");
    if stages > 1 {
        header.insert(0, "stage");
        align.insert(0, 'L');
    }
    let mut t = Table::new(header, &align);
    for r in rows {
        let mut cells = vec![
            r.source.to_string(),
            r.mode.to_string(),
            r.secrets.to_string(),
            r.cache.map_or_else(|| "–".to_owned(), |c| c.to_string()),
            r.memory_mb
                .map_or_else(|| "–".to_owned(), |m| m.to_string()),
            human_ns_or_dash(r.cold_p50_ns),
            human_ns_or_dash(r.warm_p50_ns),
            human_ns_or_dash(r.warm_p99_ns),
            r.calls_per_fetch
                .map_or_else(|| "–".to_owned(), |c| format!("{c:.2}")),
            format!("{:.2}%", r.failed_share * 100.0),
        ];
        if stages > 1 {
            cells.insert(0, r.stage.clone());
        }
        t.push(cells);
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::Ingested;

    /// One group of several secrets three ways: as run (local, no cache), with the TTL cache,
    /// and on another stage. Each is a row of its own (keyed by source, mode and N alone, the
    /// three were one row holding whichever came last).
    #[test]
    fn groups_that_differ_in_cache_or_stage_are_rows_of_their_own() {
        let text = include_str!("../../tests/fixtures/runs/local-v4/records.jsonl");
        let ours: Vec<&str> = text
            .lines()
            .filter(|l| l.contains("\"scenario\":\"ssm-concurrent-n3\""))
            .collect();
        assert_eq!(ours.len(), 6);
        let mut all = String::new();
        for l in &ours {
            all.push_str(l);
            all.push('\n');
            all.push_str(
                &l.replace("\"cache\":\"none\"", "\"cache\":\"ttl\"")
                    .replace("ssm-concurrent-n3", "ssm-concurrent-n3-ttl"),
            );
            all.push('\n');
            all.push_str(&l.replace("\"stage\":\"local\"", "\"stage\":\"prod\""));
            all.push('\n');
        }
        let ingested = Ingested::from_bytes(all.as_bytes(), false).expect("records");
        let summary = crate::summary::build(&ingested, 1);
        let rows = rows(&summary);
        let seen: Vec<(String, Option<CacheMode>, &str)> = rows
            .iter()
            .map(|r| (r.stage.clone(), r.cache, r.scenario.as_str()))
            .collect();
        assert_eq!(
            seen,
            vec![
                (
                    "local".to_owned(),
                    Some(CacheMode::None),
                    "ssm-concurrent-n3"
                ),
                (
                    "prod".to_owned(),
                    Some(CacheMode::None),
                    "ssm-concurrent-n3"
                ),
                (
                    "local".to_owned(),
                    Some(CacheMode::Ttl),
                    "ssm-concurrent-n3-ttl"
                ),
            ]
        );
        assert!(rows
            .iter()
            .all(|r| r.warm_fetches > 0 && r.cold_p50_ns.is_some()));
        // The table names the stage once two stages are in it.
        let t = crate::table::text(&table(&rows));
        assert!(t.contains("stage") && t.contains("prod"), "{t}");
    }
}
