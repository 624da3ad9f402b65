//! One scenario: its preparation (the extension layer, its several secrets, its rotations),
//! its cold rounds, its warm phase (open loop on the pacer, or closed loop), its rotations,
//! and why it stopped the run ([`ScenarioError`]).

use super::cancel::Cancel;
use crate::plan::{Arrival, Scenario};
use secbench_record::run::Phase;
use secbench_record::sync::lock;
use std::collections::{HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::send::{one, slot, Ctx, Slot};
use super::target::Target;
use super::{control, managed, pacer, progress, provisioned, rotate, snapstart};

/// The invocations of a scenario still to send.
pub(crate) struct Pending {
    pub(crate) cold: Vec<u64>,
    pub(crate) warm: Vec<u64>,
}

impl Pending {
    pub(crate) fn of(s: &Scenario, done: &HashSet<(String, Phase, u64)>) -> Pending {
        let left = |phase: Phase, n: u64| {
            (0..n)
                .filter(|i| !done.contains(&(s.name.clone(), phase, *i)))
                .collect()
        };
        Pending {
            cold: left(Phase::Cold, s.cold_starts),
            warm: left(Phase::Warm, s.warm_invocations),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.cold.is_empty() && self.warm.is_empty()
    }

    pub(crate) fn len(&self) -> u64 {
        (self.cold.len() + self.warm.len()) as u64
    }
}

/// Which part of a scenario one process runs: all of it (`secbench run`), or a slice of it
/// (a driver inside AWS, `run::slice`): the lead (its configuration and cold rounds, which
/// leave its environments warm) or a share of its warm phase (no configuration change, which
/// would retire the environments the other shares are using).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Part {
    /// Preparation, cold rounds, warm phase, rotations and the clean-up; `resumed_after_rotation`:
    /// a resumed run already rotated it (it is not rotated again).
    Whole {
        /// See above.
        resumed_after_rotation: bool,
    },
    /// The configuration (once, or once per cold round) and the cold rounds.
    Lead,
    /// A share of the warm phase, invoking this qualifier (`None`: `$LATEST`).
    Warm(Option<String>),
}

/// Warm-phase invocations sent and the time the warm phases took, over the run.
#[derive(Default)]
pub(crate) struct WarmRate {
    pub(crate) sent: u64,
    pub(crate) time: Duration,
}

impl WarmRate {
    pub(crate) fn add(&mut self, other: WarmRate) {
        self.sent += other.sent;
        self.time += other.time;
    }

    pub(crate) fn per_second(&self) -> Option<f64> {
        (self.time > Duration::ZERO && self.sent > 0)
            .then(|| self.sent as f64 / self.time.as_secs_f64())
    }
}

/// Why a scenario stopped the run; each names the scenario, and the run's message says it.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// Provisioned concurrency could not be made or removed: the message says which call.
    #[error("scenario {scenario}: provisioning: {error}")]
    Provisioning {
        /// The scenario.
        scenario: String,
        /// The Lambda call that failed.
        error: control::ControlError,
    },
    /// The scenario's configuration could not be applied.
    #[error("scenario {scenario}: {error}")]
    Configuration {
        /// The scenario.
        scenario: String,
        /// The Lambda call that failed.
        error: control::ControlError,
    },
    /// The values of its rotations could not be prepared.
    #[error("scenario {scenario}: preparing its rotation: {error}")]
    PreparingRotation {
        /// The scenario.
        scenario: String,
        /// The call that failed.
        error: crate::provision::ProvisionError,
    },
    /// A rotation's record could not be appended to `rotations.jsonl`.
    #[error("scenario {scenario}: recording a rotation: {error}")]
    RecordingRotation {
        /// The scenario.
        scenario: String,
        /// What went wrong.
        error: secbench_record::rotation::RotationError,
    },
    /// It reads several secrets and the stage holds none: provision them.
    #[error("scenario {scenario} reads {secrets} secrets, but the stage names no set of them (the local stage provisions them; on AWS, `secbench provision --many N`)")]
    NoSecretsSet {
        /// The scenario.
        scenario: String,
        /// Secrets it reads.
        secrets: u32,
    },
    /// The stage holds too few secrets, or no bundle of its size.
    #[error(transparent)]
    Targets(#[from] crate::targets::TargetsError),
}

/// One scenario: its preparation, its cold rounds, then its warm phase with its rotations.
/// An error stops the run with the scenario named; the progress bar is abandoned then.
pub(crate) async fn run_scenario(
    ctx: &Arc<Ctx>,
    target: &Target,
    s: &Scenario,
    pending: &Pending,
    part: &Part,
) -> Result<(WarmRate, Option<String>), ScenarioError> {
    if let Some(hook) = &target.on_scenario_start {
        (hook.0)(s);
    }
    let bar = progress::scenario_bar(&s.name, s.planned());
    bar.set_position(s.planned() - pending.len());
    let result = scenario_phases(ctx, target, s, pending, &bar, part).await;
    match &result {
        Ok(_) if !ctx.cancel.is_cancelled() => bar.finish(),
        _ => bar.abandon(),
    }
    result
}

async fn scenario_phases(
    ctx: &Arc<Ctx>,
    target: &Target,
    s: &Scenario,
    pending: &Pending,
    bar: &indicatif::ProgressBar,
    part: &Part,
) -> Result<(WarmRate, Option<String>), ScenarioError> {
    let function = s.function.as_deref().unwrap_or(&target.function);
    let provisioned = s.concurrency_mode == secbench_record::ConcurrencyMode::Provisioned;
    let published = std::sync::Mutex::new(Vec::new());
    let result = phases(ctx, target, s, pending, bar, &published, part).await;
    // A managed-instances version's environments run (and its instances are billed) until
    // it goes, as a SnapStart version's snapshot is cached (and billed): retired whatever
    // happened, the alias first (AWS deletes no version an alias names).
    let versions = std::mem::take(&mut *secbench_record::sync::lock(&published));
    if s.concurrency_mode == secbench_record::ConcurrencyMode::SnapStart && !versions.is_empty() {
        if let Err(e) = provisioned::delete_alias(&ctx.client, function, snapstart::ALIAS).await {
            eprintln!(
                "note: scenario {}: could not delete the alias {}: {e}",
                s.name,
                snapstart::ALIAS
            );
        }
    }
    for version in versions {
        if let Err(e) = managed::retire(&ctx.client, function, &version).await {
            eprintln!(
                "note: scenario {}: could not delete its version {version}: {e} (delete it with `aws lambda delete-function --function-name {function} --qualifier {version}`)",
                s.name
            );
        }
    }
    // Provisioned concurrency is billed while it stands: removed whatever happened (an error,
    // Ctrl-C).
    if provisioned {
        if let Err(e) = provisioned::remove(&ctx.client, function).await {
            eprintln!(
                "note: scenario {}: could not remove its provisioned concurrency: {e} (remove it with `aws lambda delete-provisioned-concurrency-config --function-name {function} --qualifier {}`)",
                s.name,
                provisioned::ALIAS
            );
        }
    }
    result
}

async fn phases(
    ctx: &Arc<Ctx>,
    target: &Target,
    s: &Scenario,
    pending: &Pending,
    bar: &indicatif::ProgressBar,
    published: &std::sync::Mutex<Vec<String>>,
    part: &Part,
) -> Result<(WarmRate, Option<String>), ScenarioError> {
    let errors = Arc::new(AtomicU64::new(0));
    let function = s.function.as_deref().unwrap_or(&target.function);
    // A warm share changes nothing: the lead configured the function for it.
    let prepared = match part {
        Part::Warm(_) => ScenarioSetup {
            layers: None,
            stage: control::StageSettings::default(),
            rotation: None,
        },
        Part::Whole {
            resumed_after_rotation,
        } => prepare_scenario(target, s, function, *resumed_after_rotation).await?,
        Part::Lead => prepare_scenario(target, s, function, false).await?,
    };
    let provisioned = s.concurrency_mode == secbench_record::ConcurrencyMode::Provisioned;
    // Applies the scenario under a new tag (a configuration change, which retires every
    // environment) and, for provisioned concurrency, provisions a version of it; returns the
    // qualifier to invoke.
    let apply = |tag: String| {
        let (client, prepared) = (&ctx.client, &prepared);
        async move {
            if provisioned {
                // The previous round's environments go first (each round provisions its own).
                provisioned::remove(client, function)
                    .await
                    .map_err(|error| ScenarioError::Provisioning {
                        scenario: s.name.clone(),
                        error,
                    })?;
            }
            control::apply(
                client,
                function,
                s,
                &tag,
                prepared.layers.clone(),
                target.poll,
                &prepared.stage,
            )
            .await
            .map_err(|error| ScenarioError::Configuration {
                scenario: s.name.clone(),
                error,
            })?;
            if s.concurrency_mode == secbench_record::ConcurrencyMode::SnapStart {
                let v = snapstart::publish(client, function, target.poll)
                    .await
                    .map_err(|error| ScenarioError::Provisioning {
                        scenario: s.name.clone(),
                        error,
                    })?;
                secbench_record::sync::lock(published).push(v.version);
                return Ok(Some(v.qualifier));
            }
            if let Some(environments) = s.managed_environments() {
                let version = managed::publish(client, function, environments, target.poll)
                    .await
                    .map_err(|error| ScenarioError::Provisioning {
                        scenario: s.name.clone(),
                        error,
                    })?;
                secbench_record::sync::lock(published).push(version.clone());
                return Ok(Some(version));
            }
            if !provisioned {
                return Ok(None);
            }
            let environments = u32::try_from(s.concurrency).unwrap_or(u32::MAX);
            provisioned::provision(client, function, environments, target.poll)
                .await
                .map(|p| Some(p.qualifier))
                .map_err(|error| ScenarioError::Provisioning {
                    scenario: s.name.clone(),
                    error,
                })
        }
    };
    let mut qualifier: Option<String> = None;
    // The short round (if any) goes first, so the last round leaves `concurrency` warm
    // environments for the warm phase.
    let size = usize::try_from(s.concurrency).unwrap_or(1);
    let rounds: Vec<&[u64]> = pending.cold.rchunks(size).rev().collect();
    let mut applied = false;
    for (round, chunk) in rounds.into_iter().enumerate() {
        if ctx.cancel.is_cancelled() {
            break;
        }
        // A new tag is a configuration change, which retires every environment.
        qualifier = apply(format!("{}-{}-{}-{round}", ctx.run_id, s.name, ctx.nonce)).await?;
        applied = true;
        let start = (Instant::now(), SystemTime::now());
        let mut set = JoinSet::new();
        for &index in chunk {
            let slot = slot(
                &ctx.function,
                qualifier.as_deref(),
                s,
                Phase::Cold,
                index,
                Some(round as u32),
                start,
                Duration::ZERO,
            );
            set.spawn(one(ctx.clone(), slot, bar.clone(), errors.clone()));
        }
        while set.join_next().await.is_some() {}
    }
    match part {
        Part::Lead if !applied && !ctx.cancel.is_cancelled() => {
            qualifier = apply(format!("{}-{}-{}-warm", ctx.run_id, s.name, ctx.nonce)).await?;
            return Ok((WarmRate::default(), qualifier));
        }
        Part::Lead => return Ok((WarmRate::default(), qualifier)),
        Part::Warm(q) => qualifier = q.clone(),
        Part::Whole { .. } => {}
    }
    if ctx.cancel.is_cancelled() || pending.warm.is_empty() {
        return Ok((WarmRate::default(), qualifier));
    }
    if !applied && matches!(part, Part::Whole { .. }) {
        qualifier = apply(format!("{}-{}-{}-warm", ctx.run_id, s.name, ctx.nonce)).await?;
    }
    let warm_start = (Instant::now(), SystemTime::now());
    let rotations = match (&target.rotator, prepared.rotation) {
        (Some(r), Some(p)) => Some(spawn_rotations(
            r.clone(),
            p,
            RotationContext {
                lambda: ctx.client.clone(),
                function: function.to_owned(),
                poll: target.poll,
                run_id: ctx.run_id.clone(),
                scenario: s.name.clone(),
                dir: ctx.run_path.clone(),
                start: warm_start.0,
                cancel: ctx.cancel.clone(),
            },
        )),
        _ => None,
    };
    let sent = warm_phase(
        ctx,
        s,
        qualifier.as_deref(),
        &pending.warm,
        bar,
        &errors,
        warm_start,
    )
    .await;
    let time = warm_start.0.elapsed();
    if let Some((done, task)) = rotations {
        // Rotations not yet due when the warm phase ended are not made.
        done.cancel();
        match task.await {
            Ok(Err(error)) => {
                return Err(ScenarioError::RecordingRotation {
                    scenario: s.name.clone(),
                    error,
                })
            }
            Ok(Ok(skipped)) if skipped > 0 => eprintln!(
                "note: scenario {}: {skipped} rotation(s) were not made: the warm phase ended first",
                s.name
            ),
            _ => {}
        }
    }
    Ok((WarmRate { sent, time }, qualifier))
}

/// What a scenario is applied with: its layers, what the stage holds for it, its rotations.
pub(crate) struct ScenarioSetup {
    pub(crate) layers: Option<Vec<String>>,
    pub(crate) stage: control::StageSettings,
    pub(crate) rotation: Option<rotate::Prepared>,
}

/// Prepares a scenario: the extension layer, the several secrets the stage holds for it, its
/// rotations' values (not again when a resumed run already rotated it) and the digests its
/// store holds.
async fn prepare_scenario(
    target: &Target,
    s: &Scenario,
    function: &str,
    resumed_after_rotation: bool,
) -> Result<ScenarioSetup, ScenarioError> {
    let layers = target.extension_layer_arn.as_ref().map(|arn| {
        if s.extension {
            vec![arn.clone()]
        } else {
            Vec::new()
        }
    });
    let rotation = match &target.rotator {
        Some(r) if !resumed_after_rotation => {
            r.prepare(s, function)
                .await
                .map_err(|error| ScenarioError::PreparingRotation {
                    scenario: s.name.clone(),
                    error,
                })?
        }
        _ => None,
    };
    if s.rotation.is_some() && resumed_after_rotation {
        eprintln!(
            "note: scenario {} rotated before the run was interrupted; it is resumed without rotating again",
            s.name
        );
    }
    let mut stage = control::StageSettings {
        capacity_provider: target.capacity_provider.clone(),
        ..Default::default()
    };
    match (&target.many, s.multi) {
        (Some(m), _) => stage.targets = Some(m.targets(s)?),
        (None, Some(_)) => {
            return Err(ScenarioError::NoSecretsSet {
                scenario: s.name.clone(),
                secrets: s.secrets,
            })
        }
        (None, None) => {}
    }
    if let Some(r) = &target.rotator {
        stage.expected_sha256 = Some(match &rotation {
            Some(p) => p.digests.clone(),
            None => vec![r.current_digest(s)],
        });
    }
    Ok(ScenarioSetup {
        layers,
        stage,
        rotation,
    })
}

/// What the rotation task needs besides the rotator.
pub(crate) struct RotationContext {
    pub(crate) lambda: aws_sdk_lambda::Client,
    pub(crate) function: String,
    pub(crate) poll: Duration,
    pub(crate) run_id: String,
    pub(crate) scenario: String,
    pub(crate) dir: PathBuf,
    pub(crate) start: Instant,
    pub(crate) cancel: Cancel,
}

/// Makes the prepared rotations at their instants from the start of the warm phase and
/// appends each one's record to `rotations.jsonl`. Setting the returned flag stops it before
/// the next one; the task returns how many were not made.
fn spawn_rotations(
    rotator: Arc<rotate::Rotator>,
    prepared: rotate::Prepared,
    c: RotationContext,
) -> (
    Cancel,
    tokio::task::JoinHandle<Result<usize, secbench_record::rotation::RotationError>>,
) {
    let done = Cancel::default();
    let stop = done.clone();
    let task = tokio::spawn(async move {
        let mut log = secbench_record::rotation::RotationLog::open(&c.dir)?;
        let total = prepared.steps.len();
        for (made, step) in prepared.steps.into_iter().enumerate() {
            // tokio's timer fires up to a millisecond late; the record keeps the instants as
            // they happened, so the lateness does not enter any figure.
            tokio::select! {
                _ = tokio::time::sleep_until((c.start + step.offset).into()) => {}
                _ = stop.cancelled() => return Ok(total - made),
                _ = c.cancel.cancelled() => return Ok(total - made),
            }
            let function = rotate::Function {
                lambda: &c.lambda,
                function: &c.function,
                poll: c.poll,
            };
            let record = rotator
                .rotate(function, prepared.store, step, &c.run_id, &c.scenario)
                .await;
            if let Some(e) = &record.error {
                eprintln!("note: scenario {}: rotation failed: {e}", c.scenario);
            }
            log.append(&record)?;
        }
        Ok(0)
    });
    (done, task)
}

/// Sends the warm phase from `start`; returns how many invocations were sent.
async fn warm_phase(
    ctx: &Arc<Ctx>,
    s: &Scenario,
    qualifier: Option<&str>,
    pending: &[u64],
    bar: &indicatif::ProgressBar,
    errors: &Arc<AtomicU64>,
    start: (Instant, SystemTime),
) -> u64 {
    let mut set = JoinSet::new();
    let mut sent = 0u64;
    match s.arrival {
        Arrival::Open { per_second } => {
            let permits = Arc::new(Semaphore::new(usize::try_from(s.concurrency).unwrap_or(1)));
            let mut slots: Vec<Option<Slot>> = pending
                .iter()
                .enumerate()
                .map(|(k, &index)| {
                    let offset = Duration::from_secs_f64(k as f64 / per_second);
                    let mut slot = slot(
                        &ctx.function,
                        qualifier,
                        s,
                        Phase::Warm,
                        index,
                        None,
                        start,
                        offset,
                    );
                    slot.paced = true;
                    Some(slot)
                })
                .collect();
            let instants = slots.iter().flatten().map(|s| s.intended).collect();
            let mut due = pacer::start(instants, ctx.cancel.clone());
            loop {
                let k = tokio::select! {
                    k = due.recv() => match k { Some(k) => k, None => break },
                    _ = ctx.cancel.cancelled() => break,
                };
                let Some(slot) = slots.get_mut(k).and_then(Option::take) else {
                    continue;
                };
                // Waiting for a free slot counts: latency is measured from `intended`.
                let permit = tokio::select! {
                    p = permits.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
                    _ = ctx.cancel.cancelled() => break,
                };
                let (ctx, bar, errors) = (ctx.clone(), bar.clone(), errors.clone());
                set.spawn(async move {
                    one(ctx, slot, bar, errors).await;
                    drop(permit);
                });
                sent += 1;
            }
        }
        Arrival::Closed => {
            let queue = Arc::new(Mutex::new(
                pending.iter().copied().collect::<VecDeque<u64>>(),
            ));
            let counter = Arc::new(AtomicU64::new(0));
            for _ in 0..s.concurrency {
                let (ctx, bar, errors, queue, counter, s, qualifier) = (
                    ctx.clone(),
                    bar.clone(),
                    errors.clone(),
                    queue.clone(),
                    counter.clone(),
                    s.clone(),
                    qualifier.map(str::to_owned),
                );
                set.spawn(async move {
                    loop {
                        if ctx.cancel.is_cancelled() {
                            break;
                        }
                        let Some(index) = lock(&queue).pop_front() else {
                            break;
                        };
                        let now = (Instant::now(), SystemTime::now());
                        one(
                            ctx.clone(),
                            slot(
                                &ctx.function,
                                qualifier.as_deref(),
                                &s,
                                Phase::Warm,
                                index,
                                None,
                                now,
                                Duration::ZERO,
                            ),
                            bar.clone(),
                            errors.clone(),
                        )
                        .await;
                        counter.fetch_add(1, Ordering::Relaxed);
                    }
                });
            }
            while set.join_next().await.is_some() {}
            return counter.load(Ordering::Relaxed);
        }
    }
    while set.join_next().await.is_some() {}
    sent
}
