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
pub mod managed;
pub mod pacer;
pub mod progress;
pub mod provisioned;
pub mod rotate;
pub mod scenario;
pub mod send;
pub mod slice;
pub mod snapstart;
pub mod target;

use crate::plan::Plan;
pub use cancel::Cancel;
pub use scenario::ScenarioError;
use scenario::{run_scenario, Pending, WarmRate};
use secbench_record::run::{
    Accounting, InvocationRecord, Manifest, Phase, RunStatus, RUN_SCHEMA_VERSION,
};
use secbench_record::run_dir::{RunDir, RunDirError, MANIFEST_FILE};
use secbench_record::sync::lock;
use send::Ctx;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
pub use target::{ScenarioHook, Target};
use tokio::sync::mpsc;

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
    /// A slice of a run inside AWS could not be run (it is run again).
    #[error("slice: {0}")]
    Slice(String),
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
        match run_scenario(
            &ctx,
            target,
            s,
            &pending,
            &scenario::Part::Whole {
                resumed_after_rotation,
            },
        )
        .await
        {
            Ok((w, _)) => warm.add(w),
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
            let run_id = new_run_id();
            let manifest = new_manifest(client, plan, target, &run_id).await?;
            let dir = RunDir::create(out_dir, &target.stage, &run_id)?;
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

/// A new run's manifest (`running`), with the function's configuration read first: a wrong
/// name fails here, before anything is written.
pub async fn new_manifest(
    client: &aws_sdk_lambda::Client,
    plan: &Plan,
    target: &Target,
    run_id: &str,
) -> Result<Manifest, RunError> {
    let configuration = describe_function(client, &target.function).await?;
    Ok(Manifest {
        run_schema_version: RUN_SCHEMA_VERSION,
        run_id: run_id.to_owned(),
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
