//! Staleness after a rotation: per rotating scenario and rotation, how long each execution
//! environment kept serving the value from before it, and what share of the invocations after
//! it got the old value. Computed from the run's `rotations.jsonl` (the instant the service
//! confirmed each write) and what each invocation's last handler fetch matched
//! (`version_index`), as [`crate::ingest`] collected them.
//!
//! Times are the invocations' send instants (intended instant plus the runner's slip) against
//! the confirmation, in ms: an environment's window ends at the send of its first invocation
//! that got the new value, so its resolution is the gap between that environment's
//! invocations. Invocations sent within [`GUARD_MS`] of the confirmation are left out (the
//! clocks are read in whole ms). An environment that got no new value before its last
//! invocation is reported as stale until the end of the scenario, with the time observed, not
//! a window; for a fetch at INIT without a cache that is expected: it stays stale until its
//! environment is retired.

use crate::approach::{Approach, StalenessBound};
use crate::ingest::{Ingested, Observation};
use secbench_record::plan::ResolvedPlan;
use secbench_record::rotation::RotationRecord;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// Invocations sent less than this after the confirmation are neither before nor after it.
pub const GUARD_MS: f64 = 1.0;

/// One rotation of one scenario, measured.
#[derive(Debug, Clone, Serialize)]
pub struct RotationStaleness {
    /// The run directory.
    pub run: String,
    /// The stage.
    pub stage: String,
    /// The scenario.
    pub scenario: String,
    /// Its approach (from the plan in the manifest).
    pub approach: Option<Approach>,
    /// Its memory size.
    pub memory_mb: Option<u32>,
    /// What bounds its staleness.
    pub bound: Option<StalenessBound>,
    /// The TTL that applies (cache or agent), when one does.
    #[serde(with = "secbench_record::duration::option")]
    pub ttl: Option<Duration>,
    /// The rotation.
    pub rotation: RotationRecord,
    /// Environments that served a warm-phase invocation sent before the write was requested.
    pub environments: u64,
    /// Per such environment that got the new value: confirmation → the send of its first
    /// invocation with it, ms (sorted).
    pub windows_ms: Vec<f64>,
    /// Per such environment still serving the old value at its last invocation:
    /// confirmation → that invocation's send, ms (a lower bound of its staleness; sorted).
    pub stale_until_end_ms: Vec<f64>,
    /// Such environments that served no invocation after the rotation (retired, or idle).
    pub retired: u64,
    /// Invocations sent after the rotation (until the next one) that returned a value.
    pub invocations_after: u64,
    /// Of those, the ones that got the old value.
    pub stale_after: u64,
    /// Of those, the ones whose value matched no digest given to the probe.
    pub unknown_after: u64,
    /// Cold starts sent from the request on, until the next rotation (a configuration change
    /// forces them).
    pub cold_after: u64,
    /// The latest send of an invocation that got the old value, after the confirmation, ms.
    pub last_stale_ms: Option<f64>,
}

impl RotationStaleness {
    /// The share of the invocations after the rotation that got the old value.
    pub fn stale_share(&self) -> Option<f64> {
        (self.invocations_after > 0)
            .then(|| self.stale_after as f64 / self.invocations_after as f64)
    }

    /// The longest window, when every environment got the new value.
    pub fn max_window_ms(&self) -> Option<f64> {
        self.windows_ms.last().copied()
    }

    /// The median window over the environments that got the new value.
    pub fn median_window_ms(&self) -> Option<f64> {
        let w = &self.windows_ms;
        (!w.is_empty()).then(|| {
            let m = w.len() / 2;
            if w.len() % 2 == 1 {
                w[m]
            } else {
                (w[m - 1] + w[m]) / 2.0
            }
        })
    }
}

/// The run's resolved plan, as its manifest keeps it (read once, at ingest).
fn plan_of<'a>(ingested: &'a Ingested, dir: &str) -> Option<&'a ResolvedPlan> {
    ingested
        .input
        .runs
        .iter()
        .find(|r| r.dir == dir)?
        .manifest
        .as_ref()?
        .resolved_plan
        .as_ref()
}

/// Every rotation of every run, measured, in run and file order.
pub fn analyze(ingested: &Ingested) -> Vec<RotationStaleness> {
    let mut out = Vec::new();
    for run in &ingested.rotations {
        let plan = plan_of(ingested, &run.dir);
        let mut by_scenario: BTreeMap<&str, Vec<&RotationRecord>> = BTreeMap::new();
        for r in &run.rotations {
            by_scenario.entry(r.scenario.as_str()).or_default().push(r);
        }
        for (scenario, rotations) in by_scenario {
            let spec = plan.and_then(|p| p.scenario(scenario));
            let approach = spec.map(|s| Approach {
                source: s.source,
                cache: s.cache,
                fetch_at: s.fetch_at,
                concurrency: s.concurrency_mode,
                runtime: s.runtime,
                single_flight: s.single_flight == Some(true),
            });
            let empty = Vec::new();
            let obs = run.observations.get(scenario).unwrap_or(&empty);
            let confirmed: Vec<&RotationRecord> = rotations
                .iter()
                .copied()
                .filter(|r| r.confirmed_unix_ms.is_some())
                .collect();
            for (k, r) in confirmed.iter().enumerate() {
                let Some(at) = r.confirmed_unix_ms.map(|c| c as f64) else {
                    continue;
                };
                let until = confirmed
                    .get(k + 1)
                    .and_then(|n| n.confirmed_unix_ms)
                    .map_or(f64::INFINITY, |c| c as f64);
                let since = k
                    .checked_sub(1)
                    .and_then(|p| confirmed[p].confirmed_unix_ms)
                    .map_or(f64::NEG_INFINITY, |c| c as f64);
                let mut m = measure(
                    obs,
                    r.version_index,
                    Window {
                        since,
                        requested: r.requested_unix_ms as f64,
                        at,
                        until,
                    },
                );
                m.run.clone_from(&run.dir);
                m.stage.clone_from(&run.stage);
                m.scenario = scenario.to_owned();
                m.approach = approach;
                m.memory_mb = spec.map(|s| s.memory_mb);
                m.bound = approach.map(|a| a.staleness_bound());
                m.ttl = spec.and_then(|s| s.effective_ttl());
                m.rotation = (*r).clone();
                out.push(m);
            }
        }
    }
    out
}

/// The instants that delimit one rotation, ms since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    /// The previous rotation's confirmation (`-inf` for the first rotation of a scenario).
    pub since: f64,
    /// This rotation's write was requested.
    pub requested: f64,
    /// The service confirmed it.
    pub at: f64,
    /// The next rotation's confirmation (`+inf` for the last).
    pub until: f64,
}

/// Measures one rotation to `version_index` over the window `w`. The definitions (docs/rotation.md
/// gives them too):
/// - the environments at the rotation are those that completed a warm-phase invocation before
///   the write was requested (so they existed before it: an invocation sent before the request
///   can still wait for a slot and start a new environment during a configuration change, which
///   then has the new value) and served any invocation sent after the previous rotation's
///   confirmation (so one retired by an earlier rotation of the scenario is not counted again;
///   the cold rounds' earlier environments were retired by the next round);
/// - an invocation's send instant is its intended instant plus the runner's slip (the record's
///   `intended_send_unix_ms + schedule_slip_ns`);
/// - the invocations after it are those sent at least [`GUARD_MS`] after the confirmation and
///   before the next rotation's confirmation, whose last handler fetch returned a value;
/// - cold starts are counted from the request to the next confirmation (a configuration change
///   forces them while it is in progress).
pub fn measure(obs: &[Observation], version_index: u32, w: Window) -> RotationStaleness {
    let Window {
        since,
        requested,
        at,
        until,
    } = w;
    let alive_since: BTreeSet<u64> = obs
        .iter()
        .filter(|o| o.sent_unix_ms >= since)
        .map(|o| o.environment)
        .collect();
    let before: BTreeSet<u64> = obs
        .iter()
        .filter(|o| o.warm && o.done_unix_ms < requested && alive_since.contains(&o.environment))
        .map(|o| o.environment)
        .collect();
    let cold = obs
        .iter()
        .filter(|o| o.cold && o.sent_unix_ms >= requested && o.sent_unix_ms < until)
        .count() as u64;
    let after: Vec<&Observation> = obs
        .iter()
        .filter(|o| o.sent_unix_ms >= at + GUARD_MS && o.sent_unix_ms < until && o.fetched)
        .collect();
    let mut first_fresh: BTreeMap<u64, f64> = BTreeMap::new();
    let mut last_seen: BTreeMap<u64, (f64, bool)> = BTreeMap::new();
    let (mut stale, mut unknown) = (0u64, 0u64);
    let mut last_stale: Option<f64> = None;
    for o in &after {
        let t = o.sent_unix_ms - at;
        let fresh = match o.version_index {
            Some(v) if v >= version_index => true,
            Some(_) => {
                stale += 1;
                last_stale = Some(last_stale.map_or(t, |l: f64| l.max(t)));
                false
            }
            None => {
                unknown += 1;
                false
            }
        };
        if fresh {
            first_fresh.entry(o.environment).or_insert(t);
        }
        let e = last_seen.entry(o.environment).or_insert((t, fresh));
        if t >= e.0 {
            *e = (t, fresh);
        }
    }
    let mut windows = Vec::new();
    let mut stale_until_end = Vec::new();
    let mut retired = 0;
    for env in &before {
        match (first_fresh.get(env), last_seen.get(env)) {
            (Some(t), _) => windows.push(*t),
            (None, Some((t, _))) => stale_until_end.push(*t),
            (None, None) => retired += 1,
        }
    }
    windows.sort_by(f64::total_cmp);
    stale_until_end.sort_by(f64::total_cmp);
    RotationStaleness {
        run: String::new(),
        stage: String::new(),
        scenario: String::new(),
        approach: None,
        memory_mb: None,
        bound: None,
        ttl: None,
        rotation: RotationRecord {
            rotation_schema_version: secbench_record::rotation::ROTATION_SCHEMA_VERSION,
            run_id: String::new(),
            scenario: String::new(),
            version_index,
            store: secbench_record::rotation::Store::Secret,
            operation: String::new(),
            planned_offset_ms: 0,
            requested_unix_ms: 0,
            confirmed_unix_ms: None,
            service_version: None,
            error: None,
        },
        environments: before.len() as u64,
        windows_ms: windows,
        stale_until_end_ms: stale_until_end,
        retired,
        invocations_after: after.len() as u64,
        stale_after: stale,
        unknown_after: unknown,
        cold_after: cold,
        last_stale_ms: last_stale,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn o(sent: f64, environment: u64, version_index: u32) -> Observation {
        Observation {
            sent_unix_ms: sent,
            done_unix_ms: sent + 5.0,
            environment,
            cold: false,
            warm: true,
            version_index: Some(version_index),
            fetched: true,
        }
    }

    #[test]
    fn windows_stale_share_and_environments_stale_to_the_end() {
        // Rotation confirmed at 1000 ms. Environment 1 turns fresh at 1300, environment 2
        // never does, environment 3 serves nothing after; environment 4 is born after.
        let obs = [
            o(900.0, 1, 0),
            o(950.0, 2, 0),
            o(980.0, 3, 0),
            o(1000.5, 1, 0), // within the guard: neither before nor after
            o(1100.0, 1, 0),
            o(1200.0, 2, 0),
            o(1300.0, 1, 1),
            o(1400.0, 2, 0),
            o(1500.0, 4, 1),
        ];
        let w = |until| Window {
            since: f64::NEG_INFINITY,
            requested: 990.0,
            at: 1000.0,
            until,
        };
        let m = measure(&obs, 1, w(f64::INFINITY));
        assert_eq!(m.environments, 3);
        assert_eq!(m.windows_ms, vec![300.0]);
        assert_eq!(m.stale_until_end_ms, vec![400.0]);
        assert_eq!(m.retired, 1);
        assert_eq!((m.invocations_after, m.stale_after), (5, 3));
        assert_eq!(m.last_stale_ms, Some(400.0));
        assert_eq!(m.stale_share(), Some(0.6));
        // Up to the next rotation only.
        let m = measure(&obs, 1, w(1350.0));
        assert_eq!((m.invocations_after, m.stale_after), (3, 2));
    }

    #[test]
    fn a_second_rotation_counts_only_the_environments_alive_after_the_first() {
        // Two configuration changes: the first (requested 1000, confirmed 1100) retires
        // environments 1 and 2; 3 and 4 start after it and serve until the second (requested
        // 2000, confirmed 2100) retires them; 5 starts after that.
        let cold = |sent, env, v| Observation {
            cold: true,
            ..o(sent, env, v)
        };
        let obs = [
            o(900.0, 1, 0),
            o(950.0, 2, 0),
            cold(1150.0, 3, 1),
            cold(1160.0, 4, 1),
            o(1500.0, 3, 1),
            o(1900.0, 4, 1),
            cold(2200.0, 5, 2),
            o(2300.0, 5, 2),
        ];
        let second = Window {
            since: 1100.0,
            requested: 2000.0,
            at: 2100.0,
            until: f64::INFINITY,
        };
        let m = measure(&obs, 2, second);
        // Counting from the start, 1 and 2 were counted again, as retired by this rotation.
        assert_eq!((m.environments, m.retired), (2, 2));
        assert_eq!(
            (m.invocations_after, m.stale_after, m.cold_after),
            (2, 0, 1)
        );
        let from_start = Window {
            since: f64::NEG_INFINITY,
            ..second
        };
        assert_eq!(measure(&obs, 2, from_start).environments, 4);
    }
}
