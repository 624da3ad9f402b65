//! A plan in slices, for a run inside AWS (`secbench run --in-aws`: a Step Functions state
//! machine fans the slices out over driver functions, `crate::in_aws`): what a slice is, how a
//! plan is cut into slices, and running one slice with the runner's own code (the same
//! scenario phases `secbench run` runs, `scenario::Part`), its records written to a
//! `records.jsonl` of its own.
//!
//! A scenario is cut only where cutting does not change what it measures: an on-demand
//! scenario without rotations or faults is a **lead** slice (its configuration and cold
//! rounds, which leave `concurrency` environments warm) and `parts` **warm** slices run at
//! once, each sending every `parts`-th warm invocation at `1/parts` of the rate (open loop) or
//! of the in-flight limit (closed loop), so the scenario's environments are the ones the plan
//! asks for. Every other scenario (provisioned, SnapStart, Lambda Managed Instances: versions
//! and aliases that live for the scenario; rotations, which are timed from the warm phase's
//! start) is one **whole** slice.

use super::scenario::{run_scenario, Part, Pending};
use super::send::Ctx;
use super::{Cancel, RunError, Target};
use crate::plan::{Arrival, Plan, Scenario};
use secbench_record::run::Accounting;
use secbench_record::run_dir::{RunDir, RECORDS_FILE};
use secbench_record::sync::lock;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a slice's warm phase may be planned to take: well within Lambda's 15 minutes, with
/// room for the cold rounds before it and the upload after it.
pub const SLICE_BUDGET: Duration = Duration::from_secs(600);

/// What part of its scenario a slice runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", deny_unknown_fields)]
pub enum SliceKind {
    /// All of it, as `secbench run` runs a scenario.
    Whole,
    /// Its configuration and cold rounds.
    Lead,
    /// Its configuration only, sending nothing: a resumed run's lead when the lead was
    /// recorded and some of its warm slices were not (a later scenario changed the function).
    Configure,
    /// Every `parts`-th warm invocation from `part`.
    Warm {
        /// This share (0-based).
        part: u32,
        /// Shares of the warm phase.
        parts: u32,
    },
}

/// One slice of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Slice {
    /// Unique in the run, and a file name: `NNN-<scenario>-whole|lead|warm-K-of-N`.
    pub id: String,
    /// The scenario.
    pub scenario: String,
    /// Its part.
    pub kind: SliceKind,
}

/// A scenario's slices: its lead (or whole) slice, then its warm slices, run `parallel` at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioSlices {
    /// The scenario.
    pub scenario: String,
    /// Runs first, alone.
    pub lead: Slice,
    /// Run after it, all at once.
    pub warm: Vec<Slice>,
    /// How many warm slices run at once (the Map state's concurrency; at least 1).
    pub parallel: u32,
}

/// Why a plan cannot be cut as asked.
#[derive(Debug, thiserror::Error)]
pub enum SliceError {
    /// No scenario of that name in the plan.
    #[error("no scenario {0} in the plan")]
    NoScenario(String),
}

/// Whether a scenario may be cut into a lead and warm slices.
pub fn sliceable(s: &Scenario) -> bool {
    s.concurrency_mode == secbench_record::ConcurrencyMode::OnDemand
        && s.managed_instances.is_none()
        && s.rotation.is_none()
        && s.faults.is_none()
        && s.warm_invocations > 0
}

/// How many warm slices a sliceable scenario gets: `requested` (at most its in-flight limit
/// in a closed loop, at most its warm invocations), else as many as keep each within
/// [`SLICE_BUDGET`] at the planned rate (a closed loop's time is not known ahead: one).
pub fn warm_parts(s: &Scenario, requested: Option<u32>) -> u32 {
    let most = match s.arrival {
        Arrival::Closed => s.concurrency,
        Arrival::Open { .. } => s.warm_invocations,
    }
    .max(1);
    let wanted = match (requested, s.arrival) {
        (Some(n), _) => u64::from(n),
        (None, Arrival::Open { per_second }) if per_second > 0.0 => {
            (s.warm_invocations as f64 / per_second / SLICE_BUDGET.as_secs_f64()).ceil() as u64
        }
        (None, _) => 1,
    };
    u32::try_from(wanted.clamp(1, most)).unwrap_or(u32::MAX)
}

/// Cuts a plan into slices, in the plan's order; `warm_slices` asks for that many warm slices
/// per sliceable scenario.
pub fn slices(plan: &Plan, warm_slices: Option<u32>) -> Vec<ScenarioSlices> {
    plan.scenarios
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let slice = |kind: SliceKind| {
                let label = match &kind {
                    SliceKind::Whole => "whole".to_owned(),
                    SliceKind::Lead => "lead".to_owned(),
                    SliceKind::Configure => "configure".to_owned(),
                    SliceKind::Warm { part, parts } => format!("warm-{}-of-{parts}", part + 1),
                };
                Slice {
                    id: format!("{i:03}-{}-{label}", s.name),
                    scenario: s.name.clone(),
                    kind,
                }
            };
            if !sliceable(s) {
                return ScenarioSlices {
                    scenario: s.name.clone(),
                    lead: slice(SliceKind::Whole),
                    warm: Vec::new(),
                    parallel: 1,
                };
            }
            let parts = warm_parts(s, warm_slices);
            ScenarioSlices {
                scenario: s.name.clone(),
                lead: slice(SliceKind::Lead),
                warm: (0..parts)
                    .map(|part| slice(SliceKind::Warm { part, parts }))
                    .collect(),
                parallel: parts,
            }
        })
        .collect()
}

impl Slice {
    /// The same scenario's configuration step (see [`SliceKind::Configure`]).
    pub fn configure_only(&self) -> Slice {
        Slice {
            id: format!(
                "{}-configure",
                self.id.strip_suffix("-lead").unwrap_or(&self.id)
            ),
            scenario: self.scenario.clone(),
            kind: SliceKind::Configure,
        }
    }

    /// The invocations it sends, by index: the cold rounds (lead, whole), every `parts`-th
    /// warm invocation from `part` (warm), or all (whole).
    fn pending(&self, s: &Scenario) -> Pending {
        let all = Pending::of(s, &HashSet::new());
        match self.kind {
            SliceKind::Whole => all,
            SliceKind::Lead => Pending {
                cold: all.cold,
                warm: Vec::new(),
            },
            SliceKind::Configure => Pending {
                cold: Vec::new(),
                warm: Vec::new(),
            },
            SliceKind::Warm { part, parts } => Pending {
                cold: Vec::new(),
                warm: all
                    .warm
                    .into_iter()
                    .filter(|i| i % u64::from(parts) == u64::from(part))
                    .collect(),
            },
        }
    }

    fn scenario_in<'a>(&self, plan: &'a Plan) -> Result<&'a Scenario, SliceError> {
        plan.scenarios
            .iter()
            .find(|s| s.name == self.scenario)
            .ok_or_else(|| SliceError::NoScenario(self.scenario.clone()))
    }

    /// The scenario as this slice runs it: a warm share at its share of the rate or of the
    /// in-flight limit (the shares add up to the plan's).
    fn share_of(&self, s: &Scenario) -> Scenario {
        let mut share = s.clone();
        if let SliceKind::Warm { part, parts } = self.kind {
            let (part, parts) = (u64::from(part), u64::from(parts));
            share.concurrency =
                (s.concurrency / parts + u64::from(part < s.concurrency % parts)).max(1);
            if let Arrival::Open { per_second } = s.arrival {
                share.arrival = Arrival::Open {
                    per_second: per_second / parts as f64,
                };
            }
        }
        share
    }
}

/// What a slice came to.
#[derive(Debug, Clone)]
pub struct SliceOutcome {
    /// Its invocations, counted by outcome.
    pub accounting: Accounting,
    /// What the lead (or whole) slice invoked: the warm slices invoke it too.
    pub qualifier: Option<String>,
    /// Its records (`records.jsonl`, one line per invocation sent).
    pub records: PathBuf,
    /// Why it stopped early (cancelled: the driver's time ran short), if it did.
    pub stopped: Option<String>,
}

/// Which slice of which run to run, and where its records go.
#[derive(Debug, Clone)]
pub struct SliceRun<'a> {
    /// The slice.
    pub slice: &'a Slice,
    /// The run it is part of.
    pub run_id: &'a str,
    /// What a warm slice invokes (its lead's qualifier).
    pub qualifier: Option<String>,
    /// Its records go to `dir/<stage>/<run_id>/records.jsonl`.
    pub dir: &'a Path,
}

/// Runs one slice of `plan`. A scenario error (a configuration that cannot be applied) is the
/// slice's error: nothing of it is kept, and it is run again.
pub async fn run_slice(
    client: aws_sdk_lambda::Client,
    plan: &Plan,
    target: &Target,
    run: SliceRun<'_>,
    cancel: Cancel,
) -> Result<SliceOutcome, RunError> {
    let SliceRun {
        slice,
        run_id,
        qualifier,
        dir,
    } = run;
    let s = slice
        .scenario_in(plan)
        .map_err(|e| RunError::Slice(e.to_string()))?;
    let share = slice.share_of(s);
    let pending = slice.pending(s);
    let run_dir = RunDir::create(dir, &target.stage, run_id)?;
    let records = run_dir.path.join(RECORDS_FILE);
    let accounting = Arc::new(Mutex::new(Accounting::default()));
    let (tx, writer) = super::spawn_writer(run_dir, accounting.clone());
    let ctx = Arc::new(Ctx {
        client,
        function: target.function.clone(),
        run_id: run_id.to_owned(),
        stage: target.stage.clone(),
        tx,
        cancel: cancel.clone(),
        nonce: format!("{:04x}", rand::random::<u16>()),
        run_path: records.parent().map(Path::to_owned).unwrap_or_default(),
    });
    let part = match &slice.kind {
        SliceKind::Whole => Part::Whole {
            resumed_after_rotation: false,
        },
        SliceKind::Lead | SliceKind::Configure => Part::Lead,
        SliceKind::Warm { .. } => Part::Warm(qualifier),
    };
    let result = run_scenario(&ctx, target, &share, &pending, &part).await;
    drop(ctx);
    writer.await.map_err(|e| RunError::Slice(e.to_string()))??;
    let (_, qualifier) = result.map_err(|e| RunError::Slice(e.to_string()))?;
    let accounting = lock(&accounting).clone();
    let stopped = (accounting.sent < pending.len()).then(|| {
        format!(
            "{} of {} invocations sent before the slice stopped",
            accounting.sent,
            pending.len()
        )
    });
    Ok(SliceOutcome {
        accounting,
        qualifier,
        records,
        stopped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use secbench_record::run::Phase;

    /// Every (scenario, phase, index) a plan's slices send, once each (the slices partition the
    /// plan).
    pub fn partition_is_exact(plan: &Plan, all: &[ScenarioSlices]) -> bool {
        let mut seen = HashSet::new();
        for sc in all {
            let Some(s) = plan.scenarios.iter().find(|s| s.name == sc.scenario) else {
                return false;
            };
            for slice in std::iter::once(&sc.lead).chain(&sc.warm) {
                let p = slice.pending(s);
                let keys = p
                    .cold
                    .iter()
                    .map(|i| (Phase::Cold, *i))
                    .chain(p.warm.iter().map(|i| (Phase::Warm, *i)));
                for (phase, i) in keys {
                    if !seen.insert((s.name.clone(), phase, i)) {
                        return false;
                    }
                }
            }
        }
        seen.len() as u64 == plan.planned()
    }

    fn plan(text: &str) -> Plan {
        Plan::parse(Path::new("plan.toml"), text).expect("plan")
    }

    const PLAN: &str = r#"
[defaults]
cold_starts = 5
concurrency = 3
warm_invocations = 10

[[scenario]]
name = "open"
source = "ssm"
rate = "20/s"

[[scenario]]
name = "closed"
source = "secrets-manager"

[[scenario]]
name = "provisioned"
source = "ssm"
concurrency_mode = "provisioned"
"#;

    #[test]
    fn a_plan_is_cut_into_leads_and_warm_shares_that_send_each_invocation_once() {
        let p = plan(PLAN);
        let all = slices(&p, Some(2));
        assert_eq!(all.len(), 3);
        assert_eq!(all[0].lead.id, "000-open-lead");
        assert_eq!(
            all[0]
                .warm
                .iter()
                .map(|s| s.id.as_str())
                .collect::<Vec<_>>(),
            ["000-open-warm-1-of-2", "000-open-warm-2-of-2"]
        );
        assert_eq!(all[1].parallel, 2);
        // Provisioned concurrency lives for the scenario: one whole slice.
        assert_eq!(all[2].lead.kind, SliceKind::Whole);
        assert!(all[2].warm.is_empty());
        assert!(partition_is_exact(&p, &all));
        for n in [1, 3, 7, 50] {
            assert!(partition_is_exact(&p, &slices(&p, Some(n))), "{n} parts");
        }
        // A closed loop is cut into at most its in-flight limit.
        assert_eq!(slices(&p, Some(7))[1].parallel, 3);
        // The shares add up to the plan's rate and in-flight limit.
        let s = &p.scenarios[0];
        let shares: Vec<Scenario> = slices(&p, Some(2))[0]
            .warm
            .iter()
            .map(|w| w.share_of(s))
            .collect();
        let rate: f64 = shares
            .iter()
            .map(|s| match s.arrival {
                Arrival::Open { per_second } => per_second,
                Arrival::Closed => 0.0,
            })
            .sum();
        assert!((rate - 20.0).abs() < 1e-9, "{rate}");
        assert_eq!(shares.iter().map(|s| s.concurrency).sum::<u64>(), 3);
    }

    #[test]
    fn without_a_request_a_warm_phase_gets_as_many_slices_as_keep_each_within_the_budget() {
        let p = plan(
            r#"
[[scenario]]
name = "long"
source = "ssm"
warm_invocations = 30000
rate = "20/s"
"#,
        );
        // 1,500 s at 20/s: three slices of 500 s.
        assert_eq!(warm_parts(&p.scenarios[0], None), 3);
    }
}
