//! Which part of the analysis each scenario belongs to. The decision (the report's decision
//! table, the cost model's latencies, the per-approach charts) compares approaches on their
//! *main* scenarios: one per stage, approach and memory size, single secret, no injected faults,
//! no cold-start remedy. The rest have sections of their own: the remedies (the cold-start
//! section), other settings of an approach (another TTL, such as Powertools' 5 s default),
//! several secrets per fetch, warm requests far enough apart that the connection was closed in
//! between (idle), and scenarios under injected faults (the throttling storm).

use crate::approach::Approach;
use crate::group::GroupKey;
use crate::ingest::Ingested;
use crate::summary::Summary;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// A scenario's part of the analysis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Family {
    /// The approach as the decision compares it.
    Main,
    /// A cold-start remedy (prewarm at INIT, a build without jitter entropy).
    Remedy,
    /// Another setting of an approach already measured at that stage and size (another TTL).
    Variant,
    /// Warm requests to an environment further apart than the idle timeout: each warm fetch
    /// finds its connection closed.
    Idle,
    /// Several secrets per fetch.
    Many,
    /// Under injected faults (their latencies are the faults').
    Faults,
}

impl Family {
    /// Every family, in the report's order.
    pub const ALL: [Family; 6] = [
        Family::Main,
        Family::Remedy,
        Family::Variant,
        Family::Idle,
        Family::Many,
        Family::Faults,
    ];

    /// Its name in files and the page's filter.
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Main => "main",
            Family::Remedy => "cold-start-remedy",
            Family::Variant => "other-setting",
            Family::Idle => "idle",
            Family::Many => "many-secrets",
            Family::Faults => "faults",
        }
    }

    /// In words, for headings and the filter.
    pub fn describe(self) -> &'static str {
        match self {
            Family::Main => "approaches",
            Family::Remedy => "cold-start remedies",
            Family::Variant => "other settings (e.g. a 5 s TTL)",
            Family::Idle => "warm, connection idle past the idle timeout",
            Family::Many => "several secrets per fetch",
            Family::Faults => "under injected faults",
        }
    }
}

/// The family of every (stage, scenario) of a set of runs.
#[derive(Debug, Clone, Default)]
pub struct Families {
    by_scenario: BTreeMap<(String, String), Family>,
    /// The idle timeout the runs assumed (which scenarios are [`Family::Idle`]).
    idle_timeout: Option<Duration>,
}

impl Families {
    /// Classifies the groups of `summary`. Among scenarios of one stage, approach and memory
    /// size, the main one is the one whose TTL is nearest `reference_ttl` (the workload's
    /// `cache_ttl`; an uncached scenario counts as that TTL), then the one with more
    /// invocations; the others are [`Family::Variant`].
    pub fn new(summary: &Summary, ingested: &Ingested, reference_ttl: Duration) -> Families {
        let faults = ingested.fault_scenarios();
        let idle = ingested.idle_scenarios();
        let ttl = scenario_ttls(ingested);
        let mut by_scenario = BTreeMap::new();
        // (stage, approach, memory) → (scenario, its TTL distance, invocations)
        let mut contenders: BTreeMap<(String, Approach, Option<u32>), BTreeMap<String, u64>> =
            BTreeMap::new();
        for g in &summary.groups {
            let k = &g.key;
            let id = (k.stage.clone(), k.scenario.clone());
            let family = if faults.contains(&k.scenario) {
                Family::Faults
            } else if idle.contains(&k.scenario) {
                Family::Idle
            } else if k.multi.is_some() {
                Family::Many
            } else if k.remedy().is_some() {
                Family::Remedy
            } else if let Some(a) = Approach::of(k) {
                *contenders
                    .entry((k.stage.clone(), a, k.memory_mb))
                    .or_default()
                    .entry(k.scenario.clone())
                    .or_default() += g.invocations;
                Family::Main
            } else {
                // No record named an approach (every invocation failed): shown, not compared.
                Family::Variant
            };
            let e = by_scenario.entry(id).or_insert(family);
            if family != Family::Main {
                *e = family;
            }
        }
        for ((stage, _, _), scenarios) in contenders {
            if scenarios.len() < 2 {
                continue;
            }
            let distance = |s: &str| {
                let t = ttl
                    .get(&(stage.clone(), s.to_owned()))
                    .copied()
                    .flatten()
                    .unwrap_or(reference_ttl);
                t.abs_diff(reference_ttl)
            };
            let main = scenarios
                .iter()
                .filter(|(s, _)| {
                    by_scenario.get(&(stage.clone(), (*s).clone())) == Some(&Family::Main)
                })
                .min_by(|(a, na), (b, nb)| {
                    distance(a)
                        .cmp(&distance(b))
                        .then(nb.cmp(na))
                        .then(a.cmp(b))
                })
                .map(|(s, _)| s.clone());
            for s in scenarios.keys() {
                if Some(s) != main.as_ref() {
                    by_scenario.insert((stage.clone(), s.clone()), Family::Variant);
                }
            }
        }
        Families {
            by_scenario,
            idle_timeout: ingested.idle_timeout(),
        }
    }

    /// The family of a group.
    pub fn of(&self, key: &GroupKey) -> Family {
        self.by_scenario
            .get(&(key.stage.clone(), key.scenario.clone()))
            .copied()
            .unwrap_or(Family::Main)
    }

    /// The idle timeout the runs assumed.
    pub fn idle_timeout(&self) -> Option<Duration> {
        self.idle_timeout
    }

    /// The scenarios of `family`.
    pub fn scenarios_of(&self, family: Family) -> BTreeSet<String> {
        self.by_scenario
            .iter()
            .filter(|(_, f)| **f == family)
            .map(|((_, s), _)| s.clone())
            .collect()
    }

    /// The scenarios outside the main family (left out of the cost model's latencies).
    pub fn outside_main(&self) -> BTreeSet<String> {
        self.by_scenario
            .iter()
            .filter(|(_, f)| **f != Family::Main)
            .map(|((_, s), _)| s.clone())
            .collect()
    }
}

/// Each (stage, scenario)'s TTL as its run's resolved plan gives it (`None`: no cache).
fn scenario_ttls(ingested: &Ingested) -> BTreeMap<(String, String), Option<Duration>> {
    let mut out = BTreeMap::new();
    for m in ingested
        .input
        .runs
        .iter()
        .filter_map(|r| r.manifest.as_ref())
    {
        if let Some(plan) = &m.resolved_plan {
            for s in &plan.scenarios {
                out.insert((m.stage.clone(), s.name.clone()), s.effective_ttl());
            }
        }
    }
    out
}

/// The memory sizes of the main scenarios, the workload's first, then ascending.
pub fn sizes(summary: &Summary, families: &Families, workload_mb: Option<u32>) -> Vec<u32> {
    let mut sizes: Vec<u32> = summary
        .groups
        .iter()
        .filter(|g| families.of(&g.key) == Family::Main)
        .filter_map(|g| g.key.memory_mb)
        .collect::<BTreeSet<u32>>()
        .into_iter()
        .collect();
    if let Some(w) = workload_mb {
        if let Some(i) = sizes.iter().position(|m| *m == w) {
            let m = sizes.remove(i);
            sizes.insert(0, m);
        }
    }
    sizes
}

/// The default local plan's run (cut to three invocations per scenario and phase) that the
/// report's page test reads too, ingested and summarised, for unit tests.
#[cfg(test)]
pub(crate) fn default_local() -> (crate::ingest::Ingested, crate::summary::Summary) {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../secbench/tests/fixtures/runs/default-local");
    let ingested = crate::ingest::read_runs(&[dir], false).expect("fixture");
    let summary = crate::summary::build(&ingested, 1);
    (ingested, summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The default local plan's run (cut): ssm+ttl at 1,769 MB was run at 5 min and at 5 s;
    /// against a 5-minute workload the 5 s one is the other setting, and against a 5 s workload
    /// the other way round. The throttled scenarios are faults, the prewarms remedies, the
    /// several-secret ones their own family.
    #[test]
    fn the_default_plan_splits_into_its_families() {
        let (ingested, summary) = default_local();
        let key = |scenario: &str| {
            summary
                .groups
                .iter()
                .find(|g| g.key.scenario == scenario)
                .unwrap_or_else(|| panic!("{scenario}"))
                .key
                .clone()
        };
        let five_min = Families::new(&summary, &ingested, Duration::from_secs(300));
        assert_eq!(five_min.of(&key("ssm-ttl-1769mb")), Family::Main);
        assert_eq!(five_min.of(&key("ssm-ttl-5s")), Family::Variant);
        assert_eq!(five_min.of(&key("ssm-ttl-128mb")), Family::Main);
        assert_eq!(five_min.of(&key("ssm-throttled-none")), Family::Faults);
        assert_eq!(
            five_min.of(&key("ssm-none-prewarm-entropy-128mb")),
            Family::Remedy
        );
        assert_eq!(five_min.of(&key("ssm-batch-n10")), Family::Many);
        assert_eq!(
            five_min.of(&key("ssm-init-provisioned-128mb")),
            Family::Main
        );
        let five_s = Families::new(&summary, &ingested, Duration::from_secs(5));
        assert_eq!(five_s.of(&key("ssm-ttl-1769mb")), Family::Variant);
        assert_eq!(five_s.of(&key("ssm-ttl-5s")), Family::Main);
    }
}
