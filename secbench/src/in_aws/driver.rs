//! What the driver function does for the state machine (`secbench-driver` is a thin
//! `lambda_runtime` main around [`handle`]): **prepare** a run (freeze its input, write the
//! manifest, say which slices are still to run), run one **slice** with the runner's code and
//! put its records in S3, and **finish** the run (the manifest's accounting and status from the
//! slices' summaries). Every request names the run; nothing is kept between invocations.

use super::store::Store;
use super::{InAwsError, RunInput, RunRef, SliceSummary};
use crate::run::slice::{run_slice, ScenarioSlices, Slice, SliceKind, SliceRun};
use crate::run::{Cancel, Target};
use secbench_record::run::{Accounting, Manifest, RunStatus};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

/// The driver's fault switch for the retry path's test (never set by the template): the first
/// attempt of the slice it names fails before sending anything.
pub const FAIL_FIRST_ATTEMPT_VAR: &str = "SECBENCH_DRIVER_FAIL_FIRST_ATTEMPT";

/// How long before the invocation's deadline a slice stops sending (its records and summary
/// are written after): a slice planned within [`crate::run::slice::SLICE_BUDGET`] does not
/// reach it.
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(60);

/// A request from the state machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// Starts (or resumes) a run.
    Prepare {
        /// The results bucket.
        bucket: String,
        /// The input to run (a [`RunInput`]); a resumed run's is its own frozen one.
        input_key: String,
        /// The run's id: a run already prepared under it is resumed; absent: a new id.
        #[serde(default)]
        run_id: Option<String>,
    },
    /// Runs one slice.
    Slice {
        /// The run.
        run: RunRef,
        /// The slice.
        slice: Slice,
        /// What a warm slice invokes (its lead's).
        #[serde(default)]
        qualifier: Option<String>,
        /// Step Functions' retry count of this task (`$$.State.RetryCount`).
        #[serde(default)]
        attempt: u32,
    },
    /// Ends a run.
    Finish {
        /// The run.
        run: RunRef,
    },
}

/// A scenario still to run, as prepare hands it to the state machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    /// The scenario.
    pub scenario: String,
    /// Its lead (or whole, or configuration-only) slice.
    pub lead: Slice,
    /// Its warm slices still to run.
    pub warm: Vec<Slice>,
    /// How many run at once.
    pub parallel: u32,
}

/// The driver's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Response {
    /// The run and what is left of it.
    Prepared {
        /// The run.
        run: RunRef,
        /// Its scenarios with slices still to run, in the plan's order.
        scenarios: Vec<Pending>,
        /// Slices of the run in all, and already recorded.
        slices: usize,
        /// Already recorded (a resumed run).
        recorded: usize,
    },
    /// A slice ran.
    Sliced {
        /// The slice.
        slice: String,
        /// What it invoked.
        qualifier: Option<String>,
        /// Its invocations by outcome.
        accounting: Accounting,
    },
    /// The run ended.
    Finished {
        /// Its status.
        status: RunStatus,
        /// Its invocations by outcome.
        accounting: Accounting,
        /// Why, when not complete.
        message: Option<String>,
    },
}

/// Where the driver runs: its SDK configuration, and the Lambda API of the probes (AWS's, or
/// the local platform's in the end-to-end test).
#[derive(Debug, Clone)]
pub struct DriverEnv {
    /// From the function's environment (region, role credentials).
    pub sdk: aws_config::SdkConfig,
    /// `AWS_ENDPOINT_URL_LAMBDA`, when not AWS's.
    pub lambda_endpoint: Option<String>,
    /// `AWS_ENDPOINT_URL`, for the rotations' SSM, Secrets Manager and KMS, when not AWS's.
    pub endpoint: Option<String>,
}

impl DriverEnv {
    /// From the process's environment.
    pub async fn from_env() -> DriverEnv {
        DriverEnv {
            sdk: aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await,
            lambda_endpoint: std::env::var("AWS_ENDPOINT_URL_LAMBDA").ok(),
            endpoint: std::env::var("AWS_ENDPOINT_URL").ok(),
        }
    }
}

/// Handles one request; `deadline` is the invocation's (a slice stops sending
/// [`DEADLINE_MARGIN`] before it).
pub async fn handle(
    env: &DriverEnv,
    request: Request,
    deadline: Option<SystemTime>,
) -> Result<Response, InAwsError> {
    match request {
        Request::Prepare {
            bucket,
            input_key,
            run_id,
        } => prepare(env, &bucket, &input_key, run_id).await,
        Request::Slice {
            run,
            slice,
            qualifier,
            attempt,
        } => {
            if attempt == 0 && std::env::var(FAIL_FIRST_ATTEMPT_VAR).is_ok_and(|id| id == slice.id)
            {
                return Err(InAwsError::Format {
                    what: format!("slice {}", slice.id),
                    message: format!("failed on purpose ({FAIL_FIRST_ATTEMPT_VAR})"),
                });
            }
            run_one(env, &run, &slice, qualifier, deadline).await
        }
        Request::Finish { run } => finish(env, &run).await,
    }
}

async fn input_of(store: &Store, key: &str) -> Result<RunInput, InAwsError> {
    store
        .get_json::<RunInput>(key)
        .await?
        .ok_or_else(|| InAwsError::Format {
            what: format!("s3://{}/{key}", store.bucket),
            message: "no such object: the run's input".into(),
        })
}

async fn lambda(env: &DriverEnv, input: &RunInput) -> aws_sdk_lambda::Client {
    crate::run::lambda_client(
        &input.region,
        env.lambda_endpoint.as_deref(),
        input.plan().longest_timeout(),
        input.local_emulator,
    )
    .await
}

/// The runner's target for an input, as `secbench run` makes it from the same stage file.
async fn target_of(
    env: &DriverEnv,
    input: &RunInput,
    lambda: &aws_sdk_lambda::Client,
) -> Result<Target, InAwsError> {
    let many = match input
        .stage_file
        .as_ref()
        .and_then(|f| f.many.as_ref().map(|m| (f, m)))
    {
        Some((f, m)) => Some(m.to_many(f, std::path::Path::new("input.json"))?),
        None => None,
    };
    let capacity_provider = if input.local_emulator {
        Some(crate::run::control::CapacityProvider {
            arn: crate::local_stage::LOCAL_CAPACITY_PROVIDER.into(),
            one_function: true,
        })
    } else {
        input
            .stage_file
            .as_ref()
            .and_then(|f| f.capacity_provider_arn.clone())
            .map(|arn| crate::run::control::CapacityProvider {
                arn,
                one_function: false,
            })
    };
    let rotator = match &input.rotation {
        Some(resources) => Some(std::sync::Arc::new(
            crate::run::rotate::on_stage(
                lambda,
                &input.function,
                &input.region,
                env.endpoint.as_deref(),
                resources.clone(),
            )
            .await
            .map_err(|e| InAwsError::Format {
                what: "the stage's secret, parameter and function".into(),
                message: e.to_string(),
            })?,
        )),
        None => None,
    };
    Ok(Target {
        stage: input.stage.clone(),
        region: input.region.clone(),
        function: input.function.clone(),
        local_emulator: input.local_emulator,
        extension_layer_arn: input.extension_layer_arn.clone(),
        poll: Duration::from_millis(if input.local_emulator { 20 } else { 1000 }),
        on_scenario_start: None,
        emulation: None,
        rotator,
        many,
        capacity_provider,
    })
}

/// The ids of the slices a run has recorded (their summaries).
pub async fn recorded(store: &Store, run: &RunRef) -> Result<BTreeSet<String>, InAwsError> {
    let prefix = run.slices_prefix();
    Ok(store
        .list(&prefix)
        .await?
        .into_iter()
        .filter_map(|k| {
            k.strip_prefix(&prefix)?
                .strip_suffix(".json")
                .map(str::to_owned)
        })
        .collect())
}

/// The slices a run has recorded whole: a slice that stopped early (its driver's deadline) is
/// run again, and its new object replaces the old.
async fn complete(store: &Store, run: &RunRef) -> Result<BTreeSet<String>, InAwsError> {
    let mut done = BTreeSet::new();
    for id in recorded(store, run).await? {
        let summary = store
            .get_json::<SliceSummary>(&run.summary_key(&id))
            .await?;
        if summary.is_some_and(|s| s.stopped.is_none()) {
            done.insert(id);
        }
    }
    Ok(done)
}

async fn prepare(
    env: &DriverEnv,
    bucket: &str,
    input_key: &str,
    run_id: Option<String>,
) -> Result<Response, InAwsError> {
    let store = Store::new(&env.sdk, bucket);
    // A run id given and a manifest under it: the run is resumed, from the input it froze
    // (the caller names that one); else a new run freezes the input it was given.
    let input = input_of(&store, input_key).await?;
    let run = RunRef {
        bucket: bucket.to_owned(),
        stage: input.stage.clone(),
        run_id: run_id.unwrap_or_else(crate::run::new_run_id),
    };
    let plan = input.plan();
    let client = lambda(env, &input).await;
    let manifest = match store.get_json::<Manifest>(&run.manifest_key()).await? {
        Some(mut m) => {
            m.status = RunStatus::Running;
            m.ended_at = None;
            m
        }
        None => {
            if input_key != run.input_key() {
                store.put_json(&run.input_key(), &input).await?;
            }
            let target = target_of(env, &input, &client).await?;
            crate::run::new_manifest(&client, &plan, &target, &run.run_id).await?
        }
    };
    store.put_json(&run.manifest_key(), &manifest).await?;
    let done = complete(&store, &run).await?;
    let all = input.slices();
    let slices = input.slice_ids().len();
    let scenarios = all
        .into_iter()
        .filter_map(
            |ScenarioSlices {
                 scenario,
                 lead,
                 warm,
                 parallel,
             }| {
                let warm: Vec<Slice> = warm.into_iter().filter(|w| !done.contains(&w.id)).collect();
                let lead = match (done.contains(&lead.id), warm.is_empty()) {
                    (true, true) => return None,
                    (true, false) => lead.configure_only(),
                    (false, _) => lead,
                };
                Some(Pending {
                    scenario,
                    lead,
                    parallel: parallel
                        .min(u32::try_from(warm.len()).unwrap_or(u32::MAX))
                        .max(1),
                    warm,
                })
            },
        )
        .collect();
    Ok(Response::Prepared {
        run,
        scenarios,
        slices,
        recorded: done.len(),
    })
}

async fn run_one(
    env: &DriverEnv,
    run: &RunRef,
    slice: &Slice,
    qualifier: Option<String>,
    deadline: Option<SystemTime>,
) -> Result<Response, InAwsError> {
    let store = Store::new(&env.sdk, &run.bucket);
    let input = input_of(&store, &run.input_key()).await?;
    let plan = input.plan();
    let client = lambda(env, &input).await;
    let target = target_of(env, &input, &client).await?;
    let began = std::time::Instant::now();
    let cancel = Cancel::default();
    if let Some(at) = deadline.and_then(|d| d.checked_sub(DEADLINE_MARGIN)) {
        let cancel = cancel.clone();
        let wait = at.duration_since(SystemTime::now()).unwrap_or_default();
        tokio::spawn(async move {
            tokio::time::sleep(wait).await;
            cancel.cancel();
        });
    }
    let dir = tempfile::Builder::new()
        .prefix("secbench-slice-")
        .tempdir()
        .map_err(|source| InAwsError::Io {
            path: std::env::temp_dir(),
            source,
        })?;
    let outcome = run_slice(
        client,
        &plan,
        &target,
        SliceRun {
            slice,
            run_id: &run.run_id,
            qualifier,
            dir: dir.path(),
        },
        cancel,
    )
    .await?;
    if slice.kind != SliceKind::Configure {
        store
            .put_file(&run.records_key(&slice.id), &outcome.records)
            .await?;
        let rotations = outcome
            .records
            .with_file_name(secbench_record::rotation::ROTATIONS_FILE);
        if rotations.exists() {
            store
                .put_file(&run.rotations_key(&slice.id), &rotations)
                .await?;
        }
        // The summary goes last: a slice with a summary has its records.
        store
            .put_json(
                &run.summary_key(&slice.id),
                &SliceSummary {
                    slice: slice.clone(),
                    accounting: outcome.accounting.clone(),
                    qualifier: outcome.qualifier.clone(),
                    stopped: outcome.stopped.clone(),
                    seconds: began.elapsed().as_secs_f64(),
                },
            )
            .await?;
    }
    Ok(Response::Sliced {
        slice: slice.id.clone(),
        qualifier: outcome.qualifier,
        accounting: outcome.accounting,
    })
}

/// The accounting and status of a run from its slices' summaries: complete when every slice
/// of the plan is recorded with all it planned, failed when nothing was sent, else partial.
pub async fn ending(
    store: &Store,
    run: &RunRef,
    input: &RunInput,
) -> Result<(Accounting, RunStatus, Option<String>), InAwsError> {
    let ids = input.slice_ids();
    let mut accounting = Accounting::default();
    let mut recorded = 0usize;
    for id in &ids {
        if let Some(summary) = store.get_json::<SliceSummary>(&run.summary_key(id)).await? {
            accounting.merge(&summary.accounting);
            // A slice that stopped early is in the accounting, and is run again on resume.
            recorded += usize::from(summary.stopped.is_none());
        }
    }
    let planned = input.plan().planned();
    let (status, message) = if recorded == ids.len() && accounting.sent >= planned {
        (RunStatus::Complete, None)
    } else if accounting.sent == 0 {
        (
            RunStatus::Failed,
            Some(format!(
                "no slice recorded; run it again with `secbench run --in-aws --resume {}`",
                run.url()
            )),
        )
    } else {
        (
            RunStatus::Partial,
            Some(format!(
                "{recorded} of {} slices recorded ({} of {planned} planned invocations); complete it with `secbench run --in-aws --resume {}`",
                ids.len(),
                accounting.sent,
                run.url()
            )),
        )
    };
    Ok((accounting, status, message))
}

async fn finish(env: &DriverEnv, run: &RunRef) -> Result<Response, InAwsError> {
    let store = Store::new(&env.sdk, &run.bucket);
    let input = input_of(&store, &run.input_key()).await?;
    let (accounting, status, message) = ending(&store, run, &input).await?;
    let mut manifest = store
        .get_json::<Manifest>(&run.manifest_key())
        .await?
        .ok_or_else(|| InAwsError::Format {
            what: run.manifest_key(),
            message: "no manifest: the run was never prepared".into(),
        })?;
    manifest.accounting = accounting.clone();
    manifest.status = status;
    manifest.status_message = message.clone();
    manifest.ended_at = Some(humantime::format_rfc3339_millis(SystemTime::now()).to_string());
    store.put_json(&run.manifest_key(), &manifest).await?;
    Ok(Response::Finished {
        status,
        accounting,
        message,
    })
}
