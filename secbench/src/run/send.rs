//! Sending one invocation and recording it: the run's context every task shares (`Ctx`),
//! one slot of a scenario's schedule (`Slot`), and the task that invokes, joins the REPORT
//! line and the caller's timing into a record, and hands it to the writer.

use super::cancel::Cancel;
use super::clock::unix_ms;
use super::invoke;
use crate::plan::Scenario;
use secbench_record::event::ProbeEvent;
use secbench_record::run::{InvocationOutcome, InvocationRecord, Phase, RUN_SCHEMA_VERSION};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::mpsc;

pub(crate) struct Ctx {
    pub(crate) client: aws_sdk_lambda::Client,
    pub(crate) function: String,
    pub(crate) run_id: String,
    pub(crate) stage: String,
    pub(crate) tx: mpsc::UnboundedSender<InvocationRecord>,
    pub(crate) cancel: Cancel,
    /// Part of every configuration tag of this process (a resumed run gets new tags).
    pub(crate) nonce: String,
    /// The run directory (the rotations' log goes there).
    pub(crate) run_path: PathBuf,
}

pub(crate) struct Slot {
    pub(crate) scenario: String,
    pub(crate) function: String,
    /// The version or alias invoked (`None`: `$LATEST`).
    pub(crate) qualifier: Option<String>,
    pub(crate) phase: Phase,
    pub(crate) index: u64,
    pub(crate) round: Option<u32>,
    /// The probe build the scenario asks for (on AWS, the function named must run it).
    pub(crate) probe_build: secbench_record::ProbeBuild,
    /// The runtime the scenario asks for (a record of another is an error).
    pub(crate) runtime: secbench_record::Runtime,
    pub(crate) fetches: u32,
    pub(crate) intended: Instant,
    pub(crate) intended_unix_ms: u64,
    /// Sent by the open-loop schedule (its slip is recorded).
    pub(crate) paced: bool,
}

pub(crate) async fn one(
    ctx: Arc<Ctx>,
    slot: Slot,
    bar: indicatif::ProgressBar,
    errors: Arc<AtomicU64>,
) {
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
        proactive: false,
    };
    // A probe of another build than the scenario's (on AWS: the function named is not the
    // variant's: deploy it with `scripts/build-lambda.sh --no-jitter-entropy` and name its
    // function in the scenario) measured something else: its record is kept, as an error.
    let mut record = record;
    record.proactive = record.is_proactive();
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
pub(crate) fn slot(
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
