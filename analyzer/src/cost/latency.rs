//! Latencies per approach for the cost model and the SLO check: from the analyzer's summary
//! of a run, or from the workload's `[[latency]]` table. "Cold" is what a new execution
//! environment's first response waits for to get its secret ([`Metric::ColdAdded`]: imports,
//! SDK config load, client construction and the first fetch, summed per invocation, so its
//! p99 is a p99 of the sums); "warm" is one fetch in a warm invocation. The decision shows
//! exactly these figures, and the latency objective is judged against them.

use super::workload::Workload;
use crate::approach::Approach;
use crate::group::Metric;
use crate::summary::{GroupSummary, Summary};
use secbench_record::run::Phase;
use serde::Serialize;

/// The latencies of one approach, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Latency {
    /// Cold: median.
    pub cold_p50_s: f64,
    /// Cold: 99th percentile (from a run: of the per-invocation sums, [`Metric::ColdAdded`]).
    pub cold_p99_s: f64,
    /// Cold: mean (what compute is priced with; the p50 when only percentiles are known).
    pub cold_mean_s: f64,
    /// Warm: median.
    pub warm_p50_s: f64,
    /// Warm: 99th percentile.
    pub warm_p99_s: f64,
    /// Warm: mean.
    pub warm_mean_s: f64,
    /// The Parameters and Secrets extension's share of a cold start's INIT (agent approaches):
    /// from a run, the mean platform Init Duration of the approach's cold starts less that of
    /// the plaintext baseline in the same runtime; from a workload, its `extension_init`.
    pub extension_init_s: Option<f64>,
    /// A Lambda Managed Instances approach: what its run measured of its environments.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub managed: Option<super::managed::ManagedMeasure>,
}

/// Where latencies came from.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum LatencyOrigin {
    /// None given: compute for fetching is left out.
    None,
    /// The workload file's `[[latency]]` table.
    Workload,
    /// Measured runs.
    Runs {
        /// The run directories.
        runs: Vec<String>,
        /// Whether they are local-emulator figures.
        local_emulator: bool,
        /// What the local stage emulated (empty on AWS).
        emulation: Vec<String>,
    },
}

/// Latencies from the workload table.
pub fn from_workload(w: &Workload, a: &Approach) -> Option<Latency> {
    w.latency
        .iter()
        .find(|l| l.source == a.source && l.cache == a.cache && l.fetch_at == a.fetch_at)
        .map(|l| Latency {
            cold_p50_s: l.cold_p50.as_secs_f64(),
            cold_p99_s: l.cold_p99.as_secs_f64(),
            cold_mean_s: l.cold_p50.as_secs_f64(),
            warm_p50_s: l.warm_p50.as_secs_f64(),
            warm_p99_s: l.warm_p99.as_secs_f64(),
            warm_mean_s: l.warm_p50.as_secs_f64(),
            extension_init_s: l.extension_init.map(|d| d.as_secs_f64()),
            managed: None,
        })
}

/// The warm figures of `a` measured in one of the `idle` scenarios (warm requests further apart
/// than the idle timeout), preferring the workload's memory size: (p50, p99, mean) in seconds
/// and the scenario. What an environment that sees a request only every so often pays.
pub fn idle_warm(
    s: &Summary,
    w: &Workload,
    a: &Approach,
    idle: &std::collections::BTreeSet<String>,
) -> Option<([f64; 3], String)> {
    let g = s
        .groups
        .iter()
        .filter(|g| {
            g.key.phase == Phase::Warm
                && idle.contains(&g.key.scenario)
                && crate::approach::Approach::of(&g.key).as_ref() == Some(a)
        })
        .max_by_key(|g| {
            (
                u8::from(g.key.memory_mb == Some(w.memory_mb)),
                g.invocations,
            )
        })?;
    let m = g.headline()?;
    Some((
        [
            m.p50_ns as f64 / 1e9,
            m.p99_ns as f64 / 1e9,
            m.mean_ns / 1e9,
        ],
        format!("{}/{}", g.key.stage, g.key.scenario),
    ))
}

/// A Lambda Managed Instances group's measure for the cost model: absent without a CPU figure.
fn managed_measure(
    m: &crate::summary::ManagedSummary,
    g: &GroupSummary,
) -> Option<super::managed::ManagedMeasure> {
    let cpu_ms = m.cpu_ms_per_invocation?;
    // Off the local stage no quota is read: the memory over 2 GiB per vCPU, the API's default.
    let vcpus = m.vcpus.or_else(|| {
        g.key.memory_mb.map(|mb| {
            f64::from(mb) / 1024.0 / secbench_record::lambda::MANAGED_MEMORY_GIB_PER_VCPU.start()
        })
    })?;
    Some(super::managed::ManagedMeasure {
        max_concurrency: m.max_concurrency,
        vcpus,
        workers_per_environment: m.workers as f64 / (m.environments.max(1)) as f64,
        cpu_s_per_invocation: cpu_ms / 1e3,
        refresh_calls_per_ttl: m.refresh_calls_per_ttl_per_worker.unwrap_or(1.0).max(1.0),
    })
}

/// What a run says about one approach: latencies and the API calls it measured per fetch.
#[derive(Debug, Clone)]
pub struct Measured {
    /// Latencies, when both a cold and a warm group were found.
    pub latency: Option<Latency>,
    /// `service:Operation` → calls per fetch in the cold phase (first fetches).
    pub cold_calls_per_fetch: Vec<(String, f64)>,
    /// Which scenario(s) the figures came from.
    pub scenarios: Vec<String>,
    /// The mean platform Init Duration of its cold starts, s (what REPORT says).
    pub platform_init_mean_s: Option<f64>,
}

/// Latencies from a summary: the groups of the approach, preferring the workload's memory
/// and architecture when the run has several, leaving out the `exclude`d scenarios (those run
/// under injected faults, whose latencies are the faults') and the cold-start remedies
/// measured beside the approach (`GroupKey::remedy`: the approach as deployed by default).
pub fn from_summary(
    s: &Summary,
    w: &Workload,
    a: &Approach,
    exclude: &std::collections::BTreeSet<String>,
) -> Option<Measured> {
    let matching: Vec<&GroupSummary> = s
        .groups
        .iter()
        .filter(|g| {
            !exclude.contains(&g.key.scenario)
                && g.key.remedy().is_none()
                && crate::approach::Approach::of(&g.key).as_ref() == Some(a)
        })
        .collect();
    if matching.is_empty() {
        return None;
    }
    let best = |phase: Phase| -> Option<&GroupSummary> {
        let of_phase = matching.iter().filter(|g| g.key.phase == phase);
        of_phase
            .clone()
            .max_by_key(|g| {
                (
                    u8::from(g.key.memory_mb == Some(w.memory_mb)),
                    u8::from(g.key.architecture == Some(w.architecture)),
                    g.invocations,
                )
            })
            .copied()
    };
    let cold = best(Phase::Cold);
    let warm = best(Phase::Warm);
    let secs = |ns: f64| ns / 1e9;
    let latency = match (cold, warm) {
        (Some(c), Some(wg)) => {
            let cold = c
                .metric(Metric::ColdAdded)
                .map_or([0.0; 3], |m| [m.p50_ns as f64, m.p99_ns as f64, m.mean_ns]);
            let (w50, w99, wmean) = wg.headline().map_or((0.0, 0.0, 0.0), |m| {
                (m.p50_ns as f64, m.p99_ns as f64, m.mean_ns)
            });
            Some(Latency {
                cold_p50_s: secs(cold[0]),
                cold_p99_s: secs(cold[1]),
                cold_mean_s: secs(cold[2]),
                warm_p50_s: secs(w50),
                warm_p99_s: secs(w99),
                warm_mean_s: secs(wmean),
                extension_init_s: None,
                managed: wg.managed.as_ref().and_then(|m| managed_measure(m, wg)),
            })
        }
        _ => None,
    };
    let cold_calls_per_fetch = cold
        .filter(|c| c.fetches > 0)
        .map(|c| {
            c.api_calls
                .iter()
                .map(|(k, v)| (k.clone(), *v as f64 / c.fetches as f64))
                .collect()
        })
        .unwrap_or_default();
    let mut scenarios: Vec<String> = [cold, warm]
        .into_iter()
        .flatten()
        .map(|g| format!("{}/{}", g.key.stage, g.key.scenario))
        .collect();
    scenarios.dedup();
    let platform_init_mean_s = cold
        .and_then(|c| c.metric(Metric::PlatformInitDuration))
        .map(|m| secs(m.mean_ns));
    Some(Measured {
        latency,
        cold_calls_per_fetch,
        scenarios,
        platform_init_mean_s,
    })
}
