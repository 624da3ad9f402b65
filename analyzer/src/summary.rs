//! The analysis summary: per group (stage × scenario × phase) its counters and, per metric,
//! the statistics. This is what every export renders and what `schema/summary.schema.json`
//! describes.

use crate::group::{GroupKey, Metric};
use crate::ingest::{Ingested, InputReport};
use crate::stats::{seed_for, summarize, MetricSummary};
use secbench_record::run::InvocationOutcome;
use secbench_record::ErrorClass;
use serde::Serialize;
use std::collections::BTreeMap;

/// Version of the summary format.
pub const SUMMARY_SCHEMA_VERSION: u32 = 1;

/// The whole summary.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Always [`SUMMARY_SCHEMA_VERSION`].
    pub summary_schema_version: u32,
    /// secbench's version.
    pub tool_version: String,
    /// The bootstrap seed.
    pub seed: u64,
    /// True when any input run is a local-emulator run.
    pub local_emulator: bool,
    /// What the local stage emulated and did not, one statement per distinct set-up of the
    /// input runs (`Emulation::statement`); empty for AWS runs and older local runs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub emulation: Vec<String>,
    /// What was read.
    pub input: InputReport,
    /// The groups.
    pub groups: Vec<GroupSummary>,
    /// Per rotation of each rotating scenario, how long its environments kept the old value
    /// (the report's `staleness.json` holds the same list); empty without rotations.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub staleness: Vec<crate::staleness::RotationStaleness>,
}

/// What every output says about how the runs ran beside what the local stage emulated: each
/// runtime's interpreter and libraries, and the first invocations Lambda initialised ahead of
/// any request (kept out of the cold figures).
pub fn run_statements(s: &Summary) -> Vec<String> {
    let mut out = runtime_statements(s);
    let proactive: u64 = s.groups.iter().map(|g| g.proactive_inits).sum();
    if proactive > 0 {
        let scenarios: std::collections::BTreeSet<&str> = s
            .groups
            .iter()
            .filter(|g| g.proactive_inits > 0)
            .map(|g| g.key.scenario.as_str())
            .collect();
        out.push(format!(
            "{proactive} first invocation(s) ran in environments Lambda initialised ahead of any request (no Init Duration in REPORT; {}): counted, kept out of the cold-start figures.",
            scenarios.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    out
}

/// One sentence per runtime other than Rust that ran: the interpreter and the SDK and library
/// versions its probe loaded.
pub fn runtime_statements(s: &Summary) -> Vec<String> {
    type Seen<'a> = (
        std::collections::BTreeSet<&'a str>,
        std::collections::BTreeSet<&'a str>,
    );
    let mut by: BTreeMap<secbench_record::Runtime, Seen<'_>> = BTreeMap::new();
    for g in &s.groups {
        if !g.interpreters.is_empty() || !g.software.is_empty() {
            let (interpreters, software) = by.entry(g.key.runtime).or_default();
            interpreters.extend(g.interpreters.iter().map(String::as_str));
            software.extend(g.software.iter().map(String::as_str));
        }
    }
    by.into_iter()
        .map(|(r, (interpreters, software))| {
            format!(
                "The {r} probe ran as: {}.",
                interpreters
                    .into_iter()
                    .chain(software)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
        .collect()
}

/// The distinct emulation statements of the input runs, in input order.
pub fn emulation_statements(ingested: &Ingested) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in &ingested.input.runs {
        if let Some(e) = r.manifest.as_ref().and_then(|m| m.emulation.as_ref()) {
            let s = e.statement();
            if !out.contains(&s) {
                out.push(s);
            }
        }
    }
    out
}

/// One group.
#[derive(Debug, Clone, Serialize)]
pub struct GroupSummary {
    /// The key.
    #[serde(flatten)]
    pub key: GroupKey,
    /// Invocations.
    pub invocations: u64,
    /// Invocations by outcome.
    pub outcomes: BTreeMap<InvocationOutcome, u64>,
    /// Share of invocations that were not `ok`.
    pub error_rate: f64,
    /// Fetches.
    pub fetches: u64,
    /// Failed fetches by class.
    pub fetch_errors: BTreeMap<ErrorClass, u64>,
    /// AWS API calls by `service:Operation` (for the cost model).
    pub api_calls: BTreeMap<String, u64>,
    /// Share of fetches served from the probe's cache.
    pub cache_hit_ratio: f64,
    /// API calls a prewarm made at INIT (in `api_calls` too).
    #[serde(skip_serializing_if = "is_zero")]
    pub prewarm_calls: u64,
    /// Fetches served the cached value after a refresh failed with a transient error
    /// (`ignore_transient_errors`).
    #[serde(skip_serializing_if = "is_zero")]
    pub stale_serves: u64,
    /// First invocations of environments Lambda initialised ahead of any request (no Init
    /// Duration in REPORT): counted, kept out of the cold metrics.
    #[serde(skip_serializing_if = "is_zero")]
    pub proactive_inits: u64,
    /// Metrics, written by their names (with unit: [`Metric::name`]).
    pub metrics: BTreeMap<Metric, MetricSummary>,
    /// The local stage's front: handshakes and connection reuse (absent on AWS).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connections: Option<crate::group::Connections>,
    /// Node.js and Python probes: the interpreter that ran.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub interpreters: Vec<String>,
    /// Lambda Managed Instances: what the cost model reads of the group's environments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed: Option<ManagedSummary>,
    /// SnapStart: what the group's restores kept from their snapshot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapstart: Option<SnapStartSummary>,
    /// Node.js and Python probes: the SDK and library versions that ran.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub software: Vec<String>,
}

impl GroupSummary {
    /// The statistics of `metric`, if the group has values of it.
    pub fn metric(&self, metric: Metric) -> Option<&MetricSummary> {
        self.metrics.get(&metric)
    }

    /// The statistics of the group's headline metric ([`Metric::headline`]).
    pub fn headline(&self) -> Option<&MetricSummary> {
        self.metric(Metric::headline(&self.key))
    }
}

fn group_summary(key: &GroupKey, g: &crate::group::Group, seed: u64) -> GroupSummary {
    let invocations = g.invocations();
    let ok = g.outcomes.get(&InvocationOutcome::Ok).copied().unwrap_or(0);
    let metrics = Metric::ALL
        .iter()
        .filter_map(|m| {
            let h = g.histogram(*m)?;
            let s = seed_for(
                seed,
                &[&key.stage, &key.scenario, key.phase.as_str(), m.name()],
            );
            Some((*m, summarize(h, s)))
        })
        .collect();
    GroupSummary {
        key: key.clone(),
        invocations,
        outcomes: g.outcomes.clone(),
        error_rate: if invocations == 0 {
            0.0
        } else {
            (invocations - ok) as f64 / invocations as f64
        },
        fetches: g.fetches,
        fetch_errors: g.fetch_errors.clone(),
        api_calls: g.api_calls.clone(),
        cache_hit_ratio: if g.fetches == 0 {
            0.0
        } else {
            g.cache_hits as f64 / g.fetches as f64
        },
        metrics,
        connections: g.connections,
        prewarm_calls: g.prewarm_calls,
        stale_serves: g.stale_serves,
        proactive_inits: g.proactive_inits,
        interpreters: g.interpreters.iter().cloned().collect(),
        software: g.software.iter().cloned().collect(),
        managed: g.managed.as_ref().map(ManagedSummary::of),
        snapstart: g.restores.as_ref().map(SnapStartSummary::of),
    }
}

/// A SnapStart group's restores: how many, how many distinct values each kind of randomness
/// took across them (1 for `n` restores: every restore drew the same), and how many reconnected.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SnapStartSummary {
    /// Restored environments.
    pub restores: u64,
    /// Distinct `random` draws made at INIT.
    pub distinct_init_random: u64,
    /// Distinct `os.urandom` draws made at INIT.
    pub distinct_init_urandom: u64,
    /// Distinct `random` draws made after the restore.
    pub distinct_restore_random: u64,
    /// Distinct `os.urandom` draws made after the restore.
    pub distinct_restore_urandom: u64,
    /// Restores whose first API call opened a new connection.
    pub reconnected: u64,
    /// Restores that made an API call by the end of their first invocation.
    pub called: u64,
}

impl SnapStartSummary {
    /// From the group's accumulated figures.
    pub fn of(r: &crate::group::Restores) -> SnapStartSummary {
        SnapStartSummary {
            restores: r.restores,
            distinct_init_random: r.init_random.len() as u64,
            distinct_init_urandom: r.init_urandom.len() as u64,
            distinct_restore_random: r.restore_random.len() as u64,
            distinct_restore_urandom: r.restore_urandom.len() as u64,
            reconnected: r.reconnected.0,
            called: r.reconnected.1,
        }
    }

    /// Whether a kind of randomness was the same in every restore (with two or more).
    pub fn shared(&self, distinct: u64) -> Option<bool> {
        (self.restores >= 2).then_some(distinct == 1)
    }
}

/// A Lambda Managed Instances group's environments, summarized for the cost model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ManagedSummary {
    /// `AWS_LAMBDA_MAX_CONCURRENCY`.
    pub max_concurrency: u32,
    /// Environments seen.
    pub environments: u64,
    /// Workers (processes or threads, each with its own cache) seen.
    pub workers: u64,
    /// The environments' CPU after INIT over the invocations they answered, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_ms_per_invocation: Option<f64>,
    /// Each environment's CPU quota, vCPUs (local stage).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vcpus: Option<f64>,
    /// API calls of refreshes per TTL period per worker (1: one call per expiry; more: a herd
    /// of concurrent misses each calling).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_calls_per_ttl_per_worker: Option<f64>,
    /// The most invocations one environment had in flight.
    pub peak_in_flight: u32,
}

impl ManagedSummary {
    /// From the group's accumulated figures.
    pub fn of(m: &crate::group::Managed) -> ManagedSummary {
        let (cpu, answered) = m
            .environment_cpu
            .values()
            .fold((0u64, 0u64), |(c, a), (ec, ea)| (c + ec, a + ea));
        let environments: std::collections::BTreeSet<&str> = m
            .workers
            .iter()
            .filter_map(|w| w.split_once('/').map(|(e, _)| e))
            .collect();
        let workers = m.workers.len() as u64;
        let periods = match (m.span_ms, m.ttl_ms) {
            (Some((a, b)), Some(ttl)) if ttl > 0 => Some(((b - a) as f64 / ttl as f64).max(1.0)),
            _ => None,
        };
        ManagedSummary {
            max_concurrency: m.max_concurrency,
            environments: environments.len() as u64,
            workers,
            cpu_ms_per_invocation: (answered > 0).then(|| cpu as f64 / answered as f64 / 1e6),
            vcpus: m.cpu_share_millis.map(|c| f64::from(c) / 1000.0),
            refresh_calls_per_ttl_per_worker: periods
                .filter(|_| workers > 0)
                .map(|p| m.refresh_calls as f64 / p / workers as f64),
            peak_in_flight: m.peak_in_flight,
        }
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Builds the summary.
pub fn build(ingested: &Ingested, seed: u64) -> Summary {
    // The bootstrap is the costly part: the groups are summarized on every core (each group's
    // seed comes from its key, so the result does not depend on how the work is split).
    let all: Vec<(&GroupKey, &crate::group::Group)> = ingested.groups.iter().collect();
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, 8);
    let per = all.len().div_ceil(workers).max(1);
    let groups: Vec<GroupSummary> = std::thread::scope(|scope| {
        let handles: Vec<_> = all
            .chunks(per)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|(key, g)| group_summary(key, g, seed))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    Summary {
        summary_schema_version: SUMMARY_SCHEMA_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").to_owned(),
        seed,
        local_emulator: ingested
            .input
            .runs
            .iter()
            .any(|r| r.local_emulator == Some(true)),
        emulation: emulation_statements(ingested),
        input: ingested.input.clone(),
        groups,
        staleness: crate::staleness::analyze(ingested),
    }
}
