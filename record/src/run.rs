//! The run format: one `InvocationRecord` per invocation in `records.jsonl` (the probe's record
//! joined with the platform's REPORT fields and the caller's timing) and the run's
//! `manifest.json`. Written by the runner, read by the analyzer.

pub use crate::emulation::{
    median_ns, Calibration, Constraint, Emulation, EntropyMeasurement, InitCpuEmulation,
    Oversubscribed,
};
use crate::ProbeRecord;
use serde::{Deserialize, Serialize};

/// Version of the run format (records and manifest) this secbench writes. Version 2 split
/// the `timeout` outcome into `function_timeout` and `caller_timeout` and added
/// `schedule_slip_ns`; version 3 added `environment_usage` (the local stage's cgroup and
/// connection counters per invocation) and the manifest's `emulation`; version 4 carries
/// probe records of version 2 (`version_index`, `service_version`) and may come with
/// `rotations.jsonl`; version 5 keeps the resolved plan in the manifest (`resolved_plan`).
pub const RUN_SCHEMA_VERSION: u32 = 5;

/// The oldest run format this secbench reads (a version-1 `timeout` is a caller timeout).
pub const OLDEST_READABLE_RUN_SCHEMA_VERSION: u32 = 1;

/// Whether records and manifests of `version` can be read.
pub fn readable_run_schema(version: u32) -> bool {
    (OLDEST_READABLE_RUN_SCHEMA_VERSION..=RUN_SCHEMA_VERSION).contains(&version)
}

/// The planned phase of an invocation. The probe's `cold` flag says what really happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Sent right after a configuration change, to land on a fresh execution environment.
    Cold,
    /// Sent to warm environments at the planned rate and concurrency.
    Warm,
}

impl Phase {
    /// The name used in files.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Cold => "cold",
            Phase::Warm => "warm",
        }
    }
}

/// What one invocation came to, from the caller's side. Every invocation sent has exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvocationOutcome {
    /// The function returned a valid probe record.
    Ok,
    /// The function failed (`X-Amz-Function-Error`), crashed, or returned something that is
    /// not a probe record.
    FunctionError,
    /// Lambda refused the invocation (429 `TooManyRequestsException`).
    Throttled,
    /// The function ran past its timeout: Lambda answered 200 with `X-Amz-Function-Error`,
    /// `errorType` `Sandbox.Timedout` and a REPORT line with `Status: timeout`.
    FunctionTimeout,
    /// The caller gave up waiting (version 1 of the format called it `timeout`).
    #[serde(alias = "timeout")]
    CallerTimeout,
    /// No function result: a network error or a Lambda service error other than throttling.
    Transport,
}

impl InvocationOutcome {
    /// Every outcome, in the order the accounting line prints them.
    pub const ALL: [InvocationOutcome; 6] = [
        InvocationOutcome::Ok,
        InvocationOutcome::FunctionError,
        InvocationOutcome::Throttled,
        InvocationOutcome::FunctionTimeout,
        InvocationOutcome::CallerTimeout,
        InvocationOutcome::Transport,
    ];

    /// The name used in files and the accounting line.
    pub fn as_str(self) -> &'static str {
        match self {
            InvocationOutcome::Ok => "ok",
            InvocationOutcome::FunctionError => "function_error",
            InvocationOutcome::Throttled => "throttled",
            InvocationOutcome::FunctionTimeout => "function_timeout",
            InvocationOutcome::CallerTimeout => "caller_timeout",
            InvocationOutcome::Transport => "transport",
        }
    }
}

/// Lambda's `errorType` of a function that ran past its timeout.
pub const SANDBOX_TIMEDOUT: &str = "Sandbox.Timedout";

/// The outcome a record of run format `version` stands for in this format: version 1 had no
/// `function_timeout`, so its `function_error` with `errorType` [`SANDBOX_TIMEDOUT`] or a
/// REPORT `Status: timeout` is read as one (the one rule of the strict parser and the fast
/// view; the file is never rewritten).
pub fn outcome_as_read(
    version: u32,
    outcome: InvocationOutcome,
    error_type: Option<&str>,
    report_status: Option<&str>,
) -> InvocationOutcome {
    let timed_out = error_type == Some(SANDBOX_TIMEDOUT) || report_status == Some("timeout");
    if version < 2 && outcome == InvocationOutcome::FunctionError && timed_out {
        InvocationOutcome::FunctionTimeout
    } else {
        outcome
    }
}

/// The fields of Lambda's `REPORT` line (or `platform.report` event). Absent fields stay absent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PlatformReport {
    /// The request id the line names.
    pub request_id: Option<String>,
    /// `Duration`.
    pub duration_ms: Option<f64>,
    /// `Billed Duration`.
    pub billed_duration_ms: Option<u64>,
    /// `Memory Size`.
    pub memory_size_mb: Option<u32>,
    /// `Max Memory Used`.
    pub max_memory_used_mb: Option<u32>,
    /// `Init Duration` (cold starts only).
    pub init_duration_ms: Option<f64>,
    /// `Restore Duration` (SnapStart only).
    pub restore_duration_ms: Option<f64>,
    /// `Billed Restore Duration` (SnapStart only).
    pub billed_restore_duration_ms: Option<u64>,
    /// `Status` (`success`, `error`, `timeout`), where the line has one.
    pub status: Option<String>,
    /// `Error Type` (e.g. `Runtime.ExitError`), where the line has one.
    pub error_type: Option<String>,
}

/// Lambda's `INIT_REPORT` line, written when INIT failed or timed out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct InitReport {
    /// `Init Duration`.
    pub init_duration_ms: Option<f64>,
    /// `Phase` (`init`, `invoke`).
    pub phase: Option<String>,
    /// `Status` (`error`, `timeout`, ...).
    pub status: Option<String>,
    /// `Error Type`, where the line has one.
    pub error_type: Option<String>,
}

/// One line of `records.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InvocationRecord {
    /// Always [`RUN_SCHEMA_VERSION`].
    pub run_schema_version: u32,
    /// The run.
    pub run_id: String,
    /// The stage (`local`, `dev`, ...).
    pub stage: String,
    /// The scenario name from the plan.
    pub scenario: String,
    /// The planned phase.
    pub phase: Phase,
    /// 0-based index within (scenario, phase): what `--resume` counts.
    pub index: u64,
    /// For cold invocations: which configuration change they followed (0-based).
    pub round: Option<u32>,
    /// The outcome.
    pub outcome: InvocationOutcome,
    /// The error type (function `errorType`, or the Lambda service error code), if any.
    pub error_type: Option<String>,
    /// HTTP status of the Invoke response, when one came.
    pub status_code: Option<u16>,
    /// When the invocation was meant to be sent (open loop) or was sent (closed loop), ms since
    /// the Unix epoch.
    pub intended_send_unix_ms: u64,
    /// From the intended send time to the complete response: includes any wait for a free
    /// slot, so an open-loop run does not hide queueing (no coordinated omission).
    pub caller_latency_ns: u64,
    /// From the actual send to the complete response.
    pub caller_service_ns: u64,
    /// Open loop: how late the invocation was sent after its intended instant (the runner's
    /// own scheduling error, which `caller_latency_ns` includes). Absent in closed loop, for
    /// cold rounds and in version-1 records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule_slip_ns: Option<u64>,
    /// `X-Amz-Executed-Version`.
    pub executed_version: Option<String>,
    /// The REPORT line of this invocation, from the log tail.
    pub platform: Option<PlatformReport>,
    /// An INIT_REPORT line in the log tail, if any.
    pub init_report: Option<InitReport>,
    /// The probe's record (the function's response), on `ok`.
    pub probe: Option<ProbeRecord>,
    /// What the local platform counted for this invocation (CPU, throttling, connections):
    /// absent on AWS, where Lambda reports none of it, and in version-1 and -2 records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment_usage: Option<EnvironmentUsage>,
    /// The first invocation of an on-demand environment whose REPORT has no Init Duration:
    /// Lambda initialised it before any request needed it (AWS, "Understanding the Lambda
    /// execution environment lifecycle"), so nobody waited for its INIT. Kept out of the cold
    /// groups and counted ([`InvocationRecord::is_proactive`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub proactive: bool,
}

impl InvocationRecord {
    /// Whether Lambda initialised this invocation's environment ahead of it: the probe's first
    /// invocation in an on-demand environment (not provisioned, not restored from a snapshot)
    /// with a REPORT line that has no Init Duration. No REPORT (a log line lost) says nothing.
    pub fn is_proactive(&self) -> bool {
        let (Some(p), Some(report)) = (&self.probe, &self.platform) else {
            return false;
        };
        p.cold
            && p.initialization_type
                .is_none_or(|t| t == crate::InitializationType::OnDemand)
            && report.init_duration_ms.is_none()
            && report.restore_duration_ms.is_none()
    }
}

/// The local platform's counters for one invocation, from the environment's cgroup and from
/// the TLS front its requests went through. Written into the log tail as one
/// `SECBENCH_USAGE {json}` line after `REPORT` (see `report_line::format_usage_line`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentUsage {
    /// Whether CPU and memory were constrained by a cgroup (false: the counters below that
    /// come from it are absent).
    pub constrained: bool,
    /// The CPU share the quota gave, in thousandths of one CPU (`memory_mb / 1769`, as the
    /// kernel took it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_share_millis: Option<u32>,
    /// Cold invocations: the CPU INIT was allowed, in thousandths of one CPU (boosted, or the
    /// memory share).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_cpu_share_millis: Option<u32>,
    /// CPU time the environment's processes used from the event's delivery to the answer, ns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_ns: Option<u64>,
    /// Time the quota held them back in that window, ns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throttled_ns: Option<u64>,
    /// Cold invocations: CPU time used during INIT (spawn to ready), ns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_cpu_ns: Option<u64>,
    /// Cold invocations: time throttled during INIT, ns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_throttled_ns: Option<u64>,
    /// Cold invocations: spawn to ready as the platform measured it (monotonic clock), ns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_ns: Option<u64>,
    /// TLS handshakes the environment's processes made at the front in that window (INIT
    /// included for cold invocations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_handshakes: Option<u64>,
    /// Requests they sent through the front in that window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<u64>,
    /// Of those, requests on a connection that had already carried one (kept alive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reused_connection_requests: Option<u64>,
    /// Lambda Managed Instances: invocations in the environment when this one was delivered,
    /// itself included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_flight: Option<u32>,
    /// Lambda Managed Instances: CPU time the environment's processes used from the end of its
    /// INIT (the first worker's first `/next`) to this invocation's answer, ns (its invocations overlap, so a window per invocation would
    /// count the same CPU twice; this total over [`EnvironmentUsage::environment_answered`] is
    /// the CPU per invocation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment_cpu_ns: Option<u64>,
    /// Lambda Managed Instances: invocations the environment had answered by then, this one
    /// included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment_answered: Option<u64>,
}

/// Counts of invocations by outcome. `sent` is the sum of the others, always.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Accounting {
    /// Invocations sent.
    pub sent: u64,
    /// `ok`.
    pub ok: u64,
    /// `function_error`.
    pub function_error: u64,
    /// `throttled`.
    pub throttled: u64,
    /// `function_timeout`: the function ran past its timeout.
    #[serde(default)]
    pub function_timeout: u64,
    /// `caller_timeout`: the runner gave up waiting (version 1: `timeout`).
    #[serde(alias = "timeout")]
    pub caller_timeout: u64,
    /// `transport`.
    pub transport: u64,
}

impl Accounting {
    /// Adds another part's counts (a slice of a run inside AWS) to these.
    pub fn merge(&mut self, other: &Accounting) {
        self.sent += other.sent;
        self.ok += other.ok;
        self.function_error += other.function_error;
        self.throttled += other.throttled;
        self.function_timeout += other.function_timeout;
        self.caller_timeout += other.caller_timeout;
        self.transport += other.transport;
    }

    /// Counts one invocation.
    pub fn add(&mut self, outcome: InvocationOutcome) {
        self.sent += 1;
        *self.slot(outcome) += 1;
    }

    fn slot(&mut self, outcome: InvocationOutcome) -> &mut u64 {
        match outcome {
            InvocationOutcome::Ok => &mut self.ok,
            InvocationOutcome::FunctionError => &mut self.function_error,
            InvocationOutcome::Throttled => &mut self.throttled,
            InvocationOutcome::FunctionTimeout => &mut self.function_timeout,
            InvocationOutcome::CallerTimeout => &mut self.caller_timeout,
            InvocationOutcome::Transport => &mut self.transport,
        }
    }

    /// Whether every sent invocation is counted exactly once.
    pub fn balanced(&self) -> bool {
        self.ok
            + self.function_error
            + self.throttled
            + self.function_timeout
            + self.caller_timeout
            + self.transport
            == self.sent
    }

    /// `sent 120 = ok 117 + function_error 1 + throttled 1 + function_timeout 1 +
    /// caller_timeout 0 + transport 0`.
    pub fn line(&self) -> String {
        format!(
            "sent {} = ok {} + function_error {} + throttled {} + function_timeout {} + caller_timeout {} + transport {}",
            self.sent,
            self.ok,
            self.function_error,
            self.throttled,
            self.function_timeout,
            self.caller_timeout,
            self.transport
        )
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Still running (or killed without a chance to say otherwise).
    Running,
    /// Every planned invocation was sent and recorded.
    Complete,
    /// Stopped early (interrupted, or the platform failed); `--resume` completes it.
    Partial,
    /// Could not run at all.
    Failed,
}

impl RunStatus {
    /// The name used in files and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Complete => "complete",
            RunStatus::Partial => "partial",
            RunStatus::Failed => "failed",
        }
    }
}

/// `manifest.json`: what was run, where, with what, and how it ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always [`RUN_SCHEMA_VERSION`].
    pub run_schema_version: u32,
    /// The run id (also the directory name).
    pub run_id: String,
    /// The stage.
    pub stage: String,
    /// True when the AWS APIs were the local emulator: figures are emulator figures.
    pub local_emulator: bool,
    /// The AWS region.
    pub region: String,
    /// The function driven.
    pub function: String,
    /// secbench's version.
    pub tool_version: String,
    /// The git commit secbench was built from, when known.
    pub git_commit: Option<String>,
    /// The plan, as read (TOML converted to JSON).
    pub plan: serde_json::Value,
    /// The function's configuration at the start (no environment values: names only).
    pub function_configuration: serde_json::Value,
    /// RFC 3339 start time.
    pub started_at: String,
    /// RFC 3339 end time.
    pub ended_at: Option<String>,
    /// How it ended.
    pub status: RunStatus,
    /// Why it ended that way, in words.
    pub status_message: Option<String>,
    /// Invocations by outcome, over the whole run (resumed parts included).
    pub accounting: Accounting,
    /// Planned invocations.
    pub planned: u64,
    /// On the local stage: what was emulated and what was not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emulation: Option<Emulation>,
    /// The plan resolved (every scenario after the sweeps, defaults applied), as it ran.
    /// Written since run format 5; [`crate::run_dir::read_manifest`] resolves an older
    /// manifest's `plan` when it can, so every reader finds it here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_plan: Option<crate::plan::ResolvedPlan>,
}

impl Manifest {
    /// The plan the run was made from, as written.
    pub fn plan_file(&self) -> Result<crate::plan::PlanFile, serde_json::Error> {
        serde_json::from_value(self.plan.clone())
    }

    /// The plan as it ran (for `--resume`): the file as written and the scenarios resolved
    /// when the run started, or, for a manifest older than run format 5, resolved now.
    /// `path` is the manifest's, for the errors.
    pub fn plan(
        &self,
        path: &std::path::Path,
    ) -> Result<crate::plan::Plan, crate::plan::PlanError> {
        let file = self
            .plan_file()
            .map_err(|e| crate::plan::PlanError::Syntax {
                path: path.to_owned(),
                message: format!("the manifest's plan does not read: {e}"),
            })?;
        match &self.resolved_plan {
            Some(r) => Ok(crate::plan::Plan::from_parts(path, file, r.clone())),
            None => crate::plan::Plan::from_file(path, file),
        }
    }

    /// The scenarios of the plan that ran under injected faults, by their resolved names.
    pub fn fault_scenarios(&self) -> std::collections::BTreeSet<String> {
        self.resolved_plan
            .iter()
            .flat_map(|p| p.fault_scenarios())
            .map(str::to_owned)
            .collect()
    }

    /// The scenarios whose connections sat idle past the idle timeout between warm requests
    /// ([`crate::plan::ResolvedPlan::idle_scenarios`]).
    pub fn idle_scenarios(&self) -> std::collections::BTreeSet<String> {
        self.resolved_plan
            .iter()
            .flat_map(|p| p.idle_scenarios())
            .map(str::to_owned)
            .collect()
    }

    /// The idle timeout the run assumed (the plan's `[network] idle_timeout`).
    pub fn idle_timeout(&self) -> Option<std::time::Duration> {
        self.resolved_plan.as_ref()?.network.idle_timeout
    }
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
