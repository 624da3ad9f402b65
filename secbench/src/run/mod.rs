//! The experiment runner, the same on AWS and on the local stage (both are the Lambda API to
//! it). Per scenario: cold rounds (apply the configuration, which retires every environment,
//! then send `concurrency` invocations at once), then the warm phase at the planned rate
//! (open loop, scheduled ahead, latency counted from the intended send time) or concurrency
//! (closed loop), with the scenario's rotations (`rotate`) at their instants in it. Every
//! invocation sent is recorded exactly once, whatever its outcome.

pub mod cancel;
pub mod clock;
pub mod control;
pub mod invoke;
pub mod pacer;
pub mod progress;
pub mod provisioned;
pub mod rotate;

use crate::plan::{Arrival, Plan, Scenario};
pub use cancel::Cancel;
use clock::unix_ms;
use secbench_record::event::ProbeEvent;
use secbench_record::run::{
    Accounting, InvocationOutcome, InvocationRecord, Manifest, Phase, RunStatus, RUN_SCHEMA_VERSION,
};
use secbench_record::run_dir::{RunDir, RunDirError, MANIFEST_FILE};
use secbench_record::sync::lock;
use std::collections::{HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinSet;

/// Why a run could not start or go on.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The run directory could not be written or read.
    #[error(transparent)]
    Output(#[from] RunDirError),
    /// The plan in a manifest given to `--resume` no longer reads.
    #[error(transparent)]
    Plan(#[from] crate::plan::PlanError),
    /// The manifest of `--resume` is not usable.
    #[error("cannot resume {dir}: {message}")]
    Resume {
        /// The run directory.
        dir: PathBuf,
        /// Why.
        message: String,
    },
    /// The function could not be read before the run.
    #[error(transparent)]
    Control(#[from] control::ControlError),
}

/// Where and how to run.
#[derive(Debug, Clone)]
pub struct Target {
    /// The stage name.
    pub stage: String,
    /// The region.
    pub region: String,
    /// The function.
    pub function: String,
    /// True on the local stage.
    pub local_emulator: bool,
    /// The extension layer to attach for scenarios that want it; `None` leaves layers alone.
    pub extension_layer_arn: Option<String>,
    /// How often to poll `GetFunctionConfiguration` while an update is in progress.
    pub poll: Duration,
    /// Called as each scenario starts, before its first invocation (the local stage switches
    /// its fault proxy to the scenario's faults with it).
    pub on_scenario_start: Option<ScenarioHook>,
    /// On the local stage: what is emulated and what is not (goes into the manifest).
    pub emulation: Option<secbench_record::run::Emulation>,
    /// Writes new values for the scenarios that rotate (and gives every scenario the digest
    /// its store holds); a plan with rotations needs one.
    pub rotator: Option<Arc<rotate::Rotator>>,
    /// The secrets, parameters and bundles of the scenarios that read several secrets; a plan
    /// with such scenarios needs them.
    pub many: Option<crate::targets::ManySecrets>,
}

/// What the runner calls as each scenario starts.
#[derive(Clone)]
pub struct ScenarioHook(pub Arc<dyn Fn(&Scenario) + Send + Sync>);

impl std::fmt::Debug for ScenarioHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ScenarioHook")
    }
}

/// What a run came to.
#[derive(Debug, Clone)]
pub struct RunSummary {
    /// The run directory.
    pub dir: PathBuf,
    /// How it ended.
    pub status: RunStatus,
    /// Why, in words.
    pub message: Option<String>,
    /// Accounting over the whole run.
    pub accounting: Accounting,
    /// Wall time of this process's part of the run.
    pub wall: Duration,
    /// Warm-phase invocations per second this process sustained (all warm phases together).
    pub warm_invocations_per_second: Option<f64>,
}

/// A new run id: UTC time plus a random suffix, e.g. `20261128-235800-3f9c`.
pub fn new_run_id() -> String {
    let now = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let compact: String = now.chars().filter(|c| c.is_ascii_digit()).collect();
    format!(
        "{}-{}-{:04x}",
        &compact[..8],
        &compact[8..14],
        rand::random::<u16>()
    )
}

fn git_commit() -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .filter(|s| !s.is_empty())
}

struct Ctx {
    client: aws_sdk_lambda::Client,
    function: String,
    run_id: String,
    stage: String,
    tx: mpsc::UnboundedSender<InvocationRecord>,
    cancel: Cancel,
    /// Part of every configuration tag of this process (a resumed run gets new tags).
    nonce: String,
    /// The run directory (the rotations' log goes there).
    run_path: PathBuf,
}

struct Slot {
    scenario: String,
    function: String,
    /// The version or alias invoked (`None`: `$LATEST`).
    qualifier: Option<String>,
    phase: Phase,
    index: u64,
    round: Option<u32>,
    /// The probe build the scenario asks for (on AWS, the function named must run it).
    probe_build: secbench_record::ProbeBuild,
    /// The runtime the scenario asks for (a record of another is an error).
    runtime: secbench_record::Runtime,
    fetches: u32,
    intended: Instant,
    intended_unix_ms: u64,
    /// Sent by the open-loop schedule (its slip is recorded).
    paced: bool,
}

async fn one(ctx: Arc<Ctx>, slot: Slot, bar: indicatif::ProgressBar, errors: Arc<AtomicU64>) {
    let event = ProbeEvent {
        run_id: ctx.run_id.clone(),
        scenario: slot.scenario.clone(),
        fetches: slot.fetches,
        force_refresh: false,
    }
    .to_json();
    let r = invoke::invoke_at(
        &ctx.client,
        &slot.function,
        slot.qualifier.as_deref(),
        event.as_bytes(),
    )
    .await;
    let nanos = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
    let record = InvocationRecord {
        run_schema_version: RUN_SCHEMA_VERSION,
        run_id: ctx.run_id.clone(),
        stage: ctx.stage.clone(),
        scenario: slot.scenario,
        phase: slot.phase,
        index: slot.index,
        round: slot.round,
        outcome: r.outcome,
        error_type: r.error_type,
        status_code: r.status_code,
        intended_send_unix_ms: slot.intended_unix_ms,
        caller_latency_ns: nanos(r.done.saturating_duration_since(slot.intended)),
        caller_service_ns: nanos(r.done.saturating_duration_since(r.sent)),
        schedule_slip_ns: slot
            .paced
            .then(|| nanos(r.sent.saturating_duration_since(slot.intended))),
        executed_version: r.executed_version,
        platform: r.platform,
        init_report: r.init_report,
        environment_usage: r.environment_usage,
        probe: r.probe,
    };
    // A probe of another build than the scenario's (on AWS: the function named is not the
    // variant's: deploy it with `scripts/build-lambda.sh --no-jitter-entropy` and name its
    // function in the scenario) measured something else: its record is kept, as an error.
    let mut record = record;
    if let Some(ran) = record.probe.as_ref().and_then(|p| p.probe_build) {
        if record.outcome == InvocationOutcome::Ok && ran != slot.probe_build {
            record.outcome = InvocationOutcome::FunctionError;
            record.error_type = Some("secbench.WrongProbeBuild".into());
        }
    }
    // Likewise a probe of another runtime than the scenario's (on AWS: the stage names one
    // function per runtime).
    if let Some(ran) = record.probe.as_ref().map(|p| p.runtime()) {
        if record.outcome == InvocationOutcome::Ok && ran != slot.runtime {
            record.outcome = InvocationOutcome::FunctionError;
            record.error_type = Some("secbench.WrongRuntime".into());
        }
    }
    if record.outcome != InvocationOutcome::Ok {
        let n = errors.fetch_add(1, Ordering::Relaxed) + 1;
        bar.set_message(format!("errors {n}"));
    }
    bar.inc(1);
    // The writer outlives every invocation task; a send can only fail after it stopped.
    let _ = ctx.tx.send(record);
}

#[allow(clippy::too_many_arguments)]
fn slot(
    default_function: &str,
    qualifier: Option<&str>,
    scenario: &Scenario,
    phase: Phase,
    index: u64,
    round: Option<u32>,
    start: (Instant, SystemTime),
    offset: Duration,
) -> Slot {
    Slot {
        scenario: scenario.name.clone(),
        function: scenario
            .function
            .clone()
            .unwrap_or_else(|| default_function.to_owned()),
        qualifier: qualifier.map(str::to_owned),
        phase,
        index,
        round,
        probe_build: scenario.probe_build,
        runtime: scenario.runtime,
        fetches: scenario.fetches,
        intended: start.0 + offset,
        intended_unix_ms: unix_ms(start.1 + offset),
        paced: false,
    }
}

/// Runs (or resumes) a plan against `client`'s Lambda endpoint: start (or resume) the run
/// directory, run each scenario in order, and finish the manifest with how it ended.
pub async fn run(
    client: aws_sdk_lambda::Client,
    plan: &Plan,
    target: &Target,
    out_dir: &Path,
    resume: Option<&Path>,
    cancel: Cancel,
) -> Result<RunSummary, RunError> {
    let started = Instant::now();
    let Started {
        dir,
        mut manifest,
        done,
        rotated_before,
    } = start_or_resume(&client, plan, target, out_dir, resume).await?;
    let run_path = dir.path.clone();
    let accounting = Arc::new(Mutex::new(manifest.accounting.clone()));
    let (tx, writer) = spawn_writer(dir, accounting.clone());
    let ctx = Arc::new(Ctx {
        client: client.clone(),
        function: target.function.clone(),
        run_id: manifest.run_id.clone(),
        stage: manifest.stage.clone(),
        tx,
        cancel: cancel.clone(),
        nonce: format!("{:04x}", rand::random::<u16>()),
        run_path,
    });
    let mut stop: Option<String> = None;
    let mut warm = WarmRate::default();
    for s in &plan.scenarios {
        if ctx.cancel.is_cancelled() {
            break;
        }
        let pending = Pending::of(s, &done);
        if pending.is_empty() {
            continue;
        }
        let resumed_after_rotation = rotated_before.contains(&s.name);
        match run_scenario(&ctx, target, s, &pending, resumed_after_rotation).await {
            Ok(w) => warm.add(w),
            Err(why) => {
                stop = Some(why.to_string());
                break;
            }
        }
    }
    // Every task holding a clone was joined: dropping the last one closes the channel.
    drop(ctx);
    let dir = writer.await.map_err(|e| RunError::Resume {
        dir: out_dir.to_owned(),
        message: e.to_string(),
    })??;
    let accounting = lock(&accounting).clone();
    let (status, message) = ending(&accounting, &manifest, stop, &cancel, &dir.path);
    manifest.accounting = accounting.clone();
    manifest.status = status;
    manifest.status_message = message.clone();
    manifest.ended_at = Some(humantime::format_rfc3339_millis(SystemTime::now()).to_string());
    dir.write_manifest(&manifest)?;
    Ok(RunSummary {
        dir: dir.path.clone(),
        status,
        message,
        accounting,
        wall: started.elapsed(),
        warm_invocations_per_second: warm.per_second(),
    })
}

/// A run directory ready to take records: new, or resumed with what it already holds.
struct Started {
    dir: RunDir,
    manifest: Manifest,
    /// (scenario, phase, index) of every invocation already recorded.
    done: HashSet<(String, Phase, u64)>,
    /// Scenarios whose rotations were already made (a resumed run does not rotate again).
    rotated_before: HashSet<String>,
}

/// Creates the run directory and its manifest, or opens the one to resume (counting what it
/// holds); the manifest says `running` from here on.
async fn start_or_resume(
    client: &aws_sdk_lambda::Client,
    plan: &Plan,
    target: &Target,
    out_dir: &Path,
    resume: Option<&Path>,
) -> Result<Started, RunError> {
    let (dir, mut manifest, done) = match resume {
        Some(path) => {
            let mut manifest = RunDir::read_manifest(path)?;
            let existing = RunDir::existing(path)?;
            if !existing.unreadable_lines.is_empty() {
                eprintln!(
                    "note: {} has {} unreadable line(s) (e.g. cut off mid-write): line(s) {:?}; they are kept and not counted",
                    path.join(secbench_record::run_dir::RECORDS_FILE).display(),
                    existing.unreadable_lines.len(),
                    existing.unreadable_lines
                );
            }
            manifest.accounting = existing.accounting;
            // An interrupted run may have left provisioned concurrency behind (billed while it
            // stands): removed before anything else.
            let mut functions: Vec<&str> = plan
                .scenarios
                .iter()
                .filter(|s| s.concurrency_mode == secbench_record::ConcurrencyMode::Provisioned)
                .map(|s| s.function.as_deref().unwrap_or(&target.function))
                .collect();
            functions.sort_unstable();
            functions.dedup();
            for f in functions {
                if provisioned::remove(client, f).await? {
                    eprintln!(
                        "note: removed the provisioned concurrency an interrupted run left on {f}:{}",
                        provisioned::ALIAS
                    );
                }
            }
            (RunDir::open(path.to_owned())?, manifest, existing.done)
        }
        None => {
            // Read the function first: a wrong name fails here, before a run directory exists.
            let configuration = describe_function(client, &target.function).await?;
            let run_id = new_run_id();
            let dir = RunDir::create(out_dir, &target.stage, &run_id)?;
            let manifest = Manifest {
                run_schema_version: RUN_SCHEMA_VERSION,
                run_id,
                stage: target.stage.clone(),
                local_emulator: target.local_emulator,
                region: target.region.clone(),
                function: target.function.clone(),
                tool_version: env!("CARGO_PKG_VERSION").to_owned(),
                git_commit: git_commit(),
                plan: serde_json::to_value(&plan.file).unwrap_or_default(),
                function_configuration: configuration,
                started_at: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
                ended_at: None,
                status: RunStatus::Running,
                status_message: None,
                accounting: Accounting::default(),
                planned: plan.planned(),
                emulation: target.emulation.clone(),
                resolved_plan: Some(plan.resolved()),
            };
            (dir, manifest, HashSet::new())
        }
    };
    manifest.status = RunStatus::Running;
    manifest.ended_at = None;
    dir.write_manifest(&manifest)?;
    let rotated_before: HashSet<String> = secbench_record::rotation::read(&dir.path)
        .map_err(|e| RunError::Resume {
            dir: dir.path.clone(),
            message: e.to_string(),
        })?
        .into_iter()
        .map(|r| r.scenario)
        .collect();
    if target.rotator.is_none() {
        if let Some(s) = plan.scenarios.iter().find(|s| s.rotation.is_some()) {
            return Err(RunError::Resume {
                dir: dir.path.clone(),
                message: format!(
                    "scenario {} rotates its value, but no rotator was set up (on AWS the stage file must name the secret, parameter and key: deploy the stage with `secbench deploy`)",
                    s.name
                ),
            });
        }
    }
    Ok(Started {
        dir,
        manifest,
        done,
        rotated_before,
    })
}

/// The task that appends each record to `records.jsonl` (checkpointing every 256) and counts
/// it; it ends when the last sender is dropped and returns the directory, or the first write
/// that failed.
fn spawn_writer(
    mut dir: RunDir,
    accounting: Arc<Mutex<Accounting>>,
) -> (
    mpsc::UnboundedSender<InvocationRecord>,
    tokio::task::JoinHandle<Result<RunDir, RunDirError>>,
) {
    let (tx, mut rx) = mpsc::unbounded_channel::<InvocationRecord>();
    let task = tokio::spawn(async move {
        let mut since_checkpoint = 0u32;
        let mut failure = None;
        while let Some(record) = rx.recv().await {
            if let Err(e) = dir.append(&record) {
                failure.get_or_insert(e);
            }
            lock(&accounting).add(record.outcome);
            since_checkpoint += 1;
            if since_checkpoint >= 256 {
                since_checkpoint = 0;
                if let Err(e) = dir.checkpoint() {
                    failure.get_or_insert(e);
                }
            }
        }
        if let Err(e) = dir.sync() {
            failure.get_or_insert(e);
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(dir),
        }
    });
    (tx, task)
}

/// How the run ended, and why in words.
fn ending(
    accounting: &Accounting,
    manifest: &Manifest,
    stop: Option<String>,
    cancel: &Cancel,
    dir: &Path,
) -> (RunStatus, Option<String>) {
    let recorded = accounting.sent;
    if let Some(why) = stop {
        let status = if recorded == 0 {
            RunStatus::Failed
        } else {
            RunStatus::Partial
        };
        (status, Some(why))
    } else if cancel.is_cancelled() {
        (
            RunStatus::Partial,
            Some(format!(
                "interrupted; complete it with --resume {}",
                dir.display()
            )),
        )
    } else if recorded < manifest.planned {
        (
            RunStatus::Partial,
            Some(format!(
                "{recorded} of {} planned invocations recorded",
                manifest.planned
            )),
        )
    } else {
        (RunStatus::Complete, None)
    }
}

/// The invocations of a scenario still to send.
struct Pending {
    cold: Vec<u64>,
    warm: Vec<u64>,
}

impl Pending {
    fn of(s: &Scenario, done: &HashSet<(String, Phase, u64)>) -> Pending {
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

    fn is_empty(&self) -> bool {
        self.cold.is_empty() && self.warm.is_empty()
    }

    fn len(&self) -> u64 {
        (self.cold.len() + self.warm.len()) as u64
    }
}

/// Warm-phase invocations sent and the time the warm phases took, over the run.
#[derive(Default)]
struct WarmRate {
    sent: u64,
    time: Duration,
}

impl WarmRate {
    fn add(&mut self, other: WarmRate) {
        self.sent += other.sent;
        self.time += other.time;
    }

    fn per_second(&self) -> Option<f64> {
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
async fn run_scenario(
    ctx: &Arc<Ctx>,
    target: &Target,
    s: &Scenario,
    pending: &Pending,
    resumed_after_rotation: bool,
) -> Result<WarmRate, ScenarioError> {
    if let Some(hook) = &target.on_scenario_start {
        (hook.0)(s);
    }
    let bar = progress::scenario_bar(&s.name, s.planned());
    bar.set_position(s.planned() - pending.len());
    let result = scenario_phases(ctx, target, s, pending, resumed_after_rotation, &bar).await;
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
    resumed_after_rotation: bool,
    bar: &indicatif::ProgressBar,
) -> Result<WarmRate, ScenarioError> {
    let function = s.function.as_deref().unwrap_or(&target.function);
    let provisioned = s.concurrency_mode == secbench_record::ConcurrencyMode::Provisioned;
    let result = phases(ctx, target, s, pending, resumed_after_rotation, bar).await;
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
    resumed_after_rotation: bool,
    bar: &indicatif::ProgressBar,
) -> Result<WarmRate, ScenarioError> {
    let errors = Arc::new(AtomicU64::new(0));
    let function = s.function.as_deref().unwrap_or(&target.function);
    let prepared = prepare_scenario(target, s, function, resumed_after_rotation).await?;
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
    if ctx.cancel.is_cancelled() || pending.warm.is_empty() {
        return Ok(WarmRate::default());
    }
    if !applied {
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
    Ok(WarmRate { sent, time })
}

/// What a scenario is applied with: its layers, what the stage holds for it, its rotations.
struct ScenarioSetup {
    layers: Option<Vec<String>>,
    stage: control::StageSettings,
    rotation: Option<rotate::Prepared>,
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
    let mut stage = control::StageSettings::default();
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
struct RotationContext {
    lambda: aws_sdk_lambda::Client,
    function: String,
    poll: Duration,
    run_id: String,
    scenario: String,
    dir: PathBuf,
    start: Instant,
    cancel: Cancel,
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

/// The function's configuration for the manifest, without environment values.
async fn describe_function(
    client: &aws_sdk_lambda::Client,
    function: &str,
) -> Result<serde_json::Value, RunError> {
    let c = control::get_configuration(client, function).await?;
    let mut names: Vec<String> = c
        .environment
        .and_then(|e| e.variables)
        .map(|v| v.into_keys().collect())
        .unwrap_or_default();
    names.sort();
    Ok(serde_json::json!({
        "function_arn": c.function_arn,
        "runtime": c.runtime.map(|r| r.as_str().to_owned()),
        "memory_mb": c.memory_size,
        "timeout_s": c.timeout,
        "architectures": c.architectures.unwrap_or_default().iter().map(|a| a.as_str().to_owned()).collect::<Vec<_>>(),
        "layers": c.layers.unwrap_or_default().into_iter().filter_map(|l| l.arn).collect::<Vec<_>>(),
        "code_size_bytes": c.code_size,
        "environment_variable_names": names,
    }))
}

/// Builds a Lambda client for the runner: no SDK retries (an invocation is sent once and its
/// outcome recorded), an operation timeout above the longest function timeout.
pub async fn lambda_client(
    region: &str,
    endpoint_url: Option<&str>,
    longest_timeout: Duration,
    local: bool,
) -> aws_sdk_lambda::Client {
    use aws_config::{retry::RetryConfig, timeout::TimeoutConfig, BehaviorVersion, Region};
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .retry_config(RetryConfig::disabled())
        .timeout_config(
            TimeoutConfig::builder()
                .operation_timeout(longest_timeout + Duration::from_secs(15))
                .build(),
        );
    if let Some(url) = endpoint_url {
        loader = loader.endpoint_url(url);
    }
    if local {
        loader = loader.credentials_provider(aws_sdk_lambda::config::Credentials::new(
            "local", "local", None, None, "local",
        ));
    }
    aws_sdk_lambda::Client::new(&loader.load().await)
}

/// Reads the plan stored in a run's manifest (for `--resume`): the scenarios as they were
/// resolved when the run started.
pub fn plan_of(dir: &Path) -> Result<(Plan, Manifest), RunError> {
    let manifest = RunDir::read_manifest(dir)?;
    let plan = manifest.plan(&dir.join(MANIFEST_FILE))?;
    Ok((plan, manifest))
}
