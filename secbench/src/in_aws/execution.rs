//! The CLI's side of a run inside AWS: the input written to the results bucket, the state
//! machine's execution started and followed (a progress bar of slices, records and errors,
//! from the slices' summaries as they land), and stopped.

use super::store::Store;
use super::{InAwsError, RunInput, RunRef, SliceSummary};
use aws_sdk_sfn::types::ExecutionStatus;
use secbench_record::run::Accounting;
use std::collections::BTreeSet;
use std::time::Duration;

/// A started execution.
#[derive(Debug, Clone)]
pub struct Started {
    /// Its ARN.
    pub execution_arn: String,
    /// The run it writes.
    pub run: RunRef,
}

fn sfn_error(operation: &'static str, e: impl std::error::Error) -> InAwsError {
    InAwsError::StepFunctions {
        operation,
        message: aws_smithy_types::error::display::DisplayErrorContext(e).to_string(),
    }
}

/// The execution's input (the state machine's `$`).
pub fn execution_input(bucket: &str, input_key: &str, run_id: &str) -> String {
    serde_json::json!({"bucket": bucket, "input_key": input_key, "run_id": run_id}).to_string()
}

/// Starts a new run of `input`: writes it to the run's place and starts the state machine.
pub async fn start(
    sfn: &aws_sdk_sfn::Client,
    store: &Store,
    state_machine_arn: &str,
    input: &RunInput,
) -> Result<Started, InAwsError> {
    let run = RunRef {
        bucket: store.bucket.clone(),
        stage: input.stage.clone(),
        run_id: crate::run::new_run_id(),
    };
    store.put_json(&run.input_key(), input).await?;
    resume(sfn, state_machine_arn, &run).await
}

/// Starts the state machine on a run already begun: its prepare step skips every slice
/// recorded.
pub async fn resume(
    sfn: &aws_sdk_sfn::Client,
    state_machine_arn: &str,
    run: &RunRef,
) -> Result<Started, InAwsError> {
    let out = sfn
        .start_execution()
        .state_machine_arn(state_machine_arn)
        .name(format!("{}-{:04x}", run.run_id, rand::random::<u16>()))
        .input(execution_input(&run.bucket, &run.input_key(), &run.run_id))
        .send()
        .await
        .map_err(|e| sfn_error("StartExecution", e))?;
    Ok(Started {
        execution_arn: out.execution_arn().to_owned(),
        run: run.clone(),
    })
}

/// Stops an execution (its slices in flight finish on their own; `--resume` completes the run).
pub async fn stop(sfn: &aws_sdk_sfn::Client, execution_arn: &str) -> Result<(), InAwsError> {
    sfn.stop_execution()
        .execution_arn(execution_arn)
        .cause("stopped by secbench")
        .send()
        .await
        .map_err(|e| sfn_error("StopExecution", e))?;
    Ok(())
}

/// The execution's status now.
pub async fn status(
    sfn: &aws_sdk_sfn::Client,
    execution_arn: &str,
) -> Result<ExecutionStatus, InAwsError> {
    let out = sfn
        .describe_execution()
        .execution_arn(execution_arn)
        .send()
        .await
        .map_err(|e| sfn_error("DescribeExecution", e))?;
    Ok(out.status().clone())
}

/// What the slices recorded so far add up to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Progress {
    /// Slices recorded.
    pub slices: usize,
    /// Their invocations by outcome.
    pub accounting: Accounting,
}

/// Follows an execution until it ends, every `poll`: a bar of the slices recorded of `total`,
/// with their records and errors. Returns how it ended and what was recorded.
pub async fn follow(
    sfn: &aws_sdk_sfn::Client,
    store: &Store,
    started: &Started,
    total: usize,
    poll: Duration,
) -> Result<(ExecutionStatus, Progress), InAwsError> {
    let bar = indicatif::ProgressBar::new(total as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{elapsed:>6} [{bar:30}] {pos}/{len} slices  {msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut seen = BTreeSet::new();
    let mut progress = Progress::default();
    loop {
        let status = status(sfn, &started.execution_arn).await?;
        for id in super::driver::recorded(store, &started.run).await? {
            if seen.contains(&id) {
                continue;
            }
            if let Some(s) = store
                .get_json::<SliceSummary>(&started.run.summary_key(&id))
                .await?
            {
                progress.accounting.merge(&s.accounting);
                progress.slices += 1;
            }
            seen.insert(id);
        }
        let errors = progress.accounting.sent - progress.accounting.ok;
        bar.set_position(progress.slices as u64);
        bar.set_message(format!(
            "{} records, {errors} errors",
            progress.accounting.sent
        ));
        if status != ExecutionStatus::Running {
            bar.finish();
            return Ok((status, progress));
        }
        tokio::time::sleep(poll).await;
    }
}
