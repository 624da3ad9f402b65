//! The run format: one `InvocationRecord` per invocation in `records.jsonl` (the probe's record
//! joined with the platform's REPORT fields and the caller's timing) and the run's
//! `manifest.json`. Written by the runner, read by the analyzer.

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
}

/// What the local stage emulated for a run, and what it did not: written into the manifest so
/// every output can say it. Absent for runs on AWS and before version 3.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Emulation {
    /// Whether CPU and memory were constrained per environment (and how), or why not.
    pub cpu_and_memory: Constraint,
    /// The CPU quota period, µs (when constrained).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_period_us: Option<u64>,
    /// Environments were frozen between invocations.
    pub frozen_between_invocations: bool,
    /// The probe and the agent reached the emulated endpoints over TLS 1.3.
    pub tls: bool,
    /// Round trip added per request at the front, ns.
    pub rtt_ns: u64,
    /// Added per new connection (TCP and TLS set-up), ns.
    pub connection_setup_ns: u64,
    /// The CPU quotas of the environments that could run at once, summed, in thousandths of
    /// a CPU, per scenario where that exceeds the host's CPUs (those figures include host
    /// contention).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub oversubscribed: Vec<Oversubscribed>,
    /// The host's CPUs.
    pub host_cpus: u32,
    /// The agent that stood in for the Parameters and Secrets extension, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// The CPU an on-demand INIT got (absent before it was a setting: the memory share).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_cpu: Option<InitCpuEmulation>,
    /// The crypto library's one-time entropy cost, measured at the start of the run per
    /// memory size and probe build.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entropy: Vec<EntropyMeasurement>,
    /// The run on AWS whose service times (and CPU) the local stage took over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibrated_from: Option<Calibration>,
}

/// The CPU an on-demand INIT got on the local stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InitCpuEmulation {
    /// `boosted` or `share` (`[local] init_cpu`).
    pub mode: crate::InitCpu,
    /// The CPUs a boosted INIT was allowed, thousandths (capped at the host's).
    pub boosted_cpu_millis: u32,
}

/// What the crypto library's first randomness cost in one environment's quota.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntropyMeasurement {
    /// The memory size whose limits it ran under.
    pub memory_mb: u32,
    /// The CPU allowance it ran under, thousandths of a CPU (absent: unconstrained).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_share_millis: Option<u32>,
    /// Measured at an on-demand INIT's allowance (the boost) rather than the memory share.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub at_init: bool,
    /// The probe build that measured it.
    pub probe_build: crate::ProbeBuild,
    /// Its wall time, ns (one measurement per process: the cost is once per process).
    pub wall_ns: Vec<u64>,
    /// The CPU time it used, ns, per measurement.
    pub cpu_ns: Vec<u64>,
    /// Whether the kernel offered `/dev/sysgenid` (aws-lc then skips CPU jitter entropy).
    pub sysgenid: bool,
}

/// The AWS run the local stage's service times (and CPU) came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Calibration {
    /// Its run id.
    pub run_id: String,
    /// Its directory, as given.
    pub dir: String,
    /// The operations whose latencies the front draws from, with the count of calls each had.
    pub operations: Vec<(String, u64)>,
    /// The CPU share the calibration set per memory size (thousandths of a CPU), from the
    /// run's `cpu-calibration` scenarios; empty when it had none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cpu_share_millis: Vec<(u32, u32)>,
    /// The CPUs INIT was given, thousandths, from the same scenarios.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_cpu_millis: Option<u32>,
    /// The plan's quota period, µs, when the calibration raised it (`Emulation::cpu_period_us`
    /// is the one used): the smallest share was below the kernel's 1 ms quota at it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_period_raised_from_us: Option<u64>,
    /// The local stage's own cost of a request outside the front's timing (TLS records, HTTP,
    /// the client's side), measured at the start and taken off each drawn latency, ns.
    #[serde(default)]
    pub local_overhead_ns: u64,
    /// Per operation, what a call costs the probe outside the front (its SDK, TLS, HTTP and
    /// scheduling), learned from uncalibrated calls at the start of the run and taken off
    /// that operation's drawn latencies instead of `local_overhead_ns`, ns.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub client_side_ns: Vec<(String, u64)>,
}

/// How CPU and memory were (or were not) constrained.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "detail")]
pub enum Constraint {
    /// By a cgroup per environment (`cgroup v1` or `cgroup v2`).
    Cgroup(String),
    /// Not constrained: the plan said so (`[local] constrain = false`).
    #[default]
    NotConstrained,
    /// Not constrained because the cgroups could not be written (the reason).
    Unavailable(String),
}

/// A scenario whose environments' quotas add up to more than the host's CPUs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Oversubscribed {
    /// The scenario.
    pub scenario: String,
    /// Its quotas summed, thousandths of a CPU.
    pub cpu_millis: u32,
}

/// The median of some durations (the upper one of an even count).
pub fn median_ns(v: &[u64]) -> Option<u64> {
    let mut v = v.to_vec();
    v.sort_unstable();
    v.get(v.len() / 2).copied()
}

/// A duration in ms with three significant digits (`290 ms`, `21.3 ms`, `0.0312 ms`).
pub fn ms_text(ns: u64) -> String {
    let ms = ns as f64 / 1e6;
    let decimals = if ms >= 100.0 {
        0
    } else if ms >= 10.0 {
        1
    } else if ms >= 1.0 {
        2
    } else {
        (2.0 - ms.max(1e-6).log10().floor()) as usize
    };
    format!("{ms:.decimals$} ms")
}

impl Emulation {
    /// The sentence every output of a local run carries: what was emulated and what was not.
    pub fn statement(&self) -> String {
        let cpu = match &self.cpu_and_memory {
            Constraint::Cgroup(how) => format!(
                "CPU share by memory size (memory_mb/1769 of a CPU per {} ms, {how}), memory limit at memory_mb",
                self.cpu_period_us.unwrap_or(0) as f64 / 1000.0
            ),
            Constraint::NotConstrained => "CPU and memory not constrained".to_owned(),
            Constraint::Unavailable(why) => {
                format!("CPU and memory not constrained ({why})")
            }
        };
        let mut emulated = vec![cpu];
        match (&self.init_cpu, &self.cpu_and_memory) {
            (Some(i), Constraint::Cgroup(_)) if i.mode == crate::InitCpu::Boosted => emulated.push(format!(
                "an on-demand INIT with up to {:.2} CPUs, the memory share from the first invocation on (an assumption: on-demand Lambda is observed to boost INIT, and AWS does not document by how much; the plan's [local] init_cpu = \"share\" turns it off), a provisioned INIT at the memory share",
                f64::from(i.boosted_cpu_millis) / 1000.0
            )),
            (Some(_), Constraint::Cgroup(_)) => emulated.push(
                "INIT at the memory share, like an invocation (`[local] init_cpu = \"share\"`)".into(),
            ),
            _ => {}
        }
        if self.frozen_between_invocations {
            emulated.push("environments frozen between invocations".into());
        }
        if self.tls {
            emulated.push(
                "TLS 1.3 to the endpoints (new connection per cold fetch, reused warm)".into(),
            );
        }
        if let Some(agent) = &self.agent {
            emulated.push(format!(
                "the Parameters and Secrets extension by {agent} on localhost (TTL at most 300 s, as the extension's)"
            ));
        }
        if self.rtt_ns > 0 || self.connection_setup_ns > 0 {
            emulated.push(format!(
                "an assumed network round trip of {:.3} ms per request and {:.3} ms per new connection",
                self.rtt_ns as f64 / 1e6,
                self.connection_setup_ns as f64 / 1e6
            ));
        }
        let not_emulated = match &self.calibrated_from {
            Some(c) => {
                let own = if c.client_side_ns.is_empty() {
                    format!(
                        "less the local stage's own {:.2} ms per request",
                        c.local_overhead_ns as f64 / 1e6
                    )
                } else {
                    format!(
                        "less what a call costs the probe here outside the service, learned from uncalibrated calls at the start: {}; other operations less the local stage's own {:.2} ms per request",
                        c.client_side_ns
                            .iter()
                            .map(|(op, n)| format!("{op} {:.2} ms", *n as f64 / 1e6))
                            .collect::<Vec<_>>()
                            .join(", "),
                        c.local_overhead_ns as f64 / 1e6
                    )
                };
                emulated.push(format!(
                    "AWS's service time per API operation, drawn from run {} ({}; {own}){}",
                    c.run_id,
                    c.operations
                        .iter()
                        .map(|(op, n)| format!("{op}: {n} calls"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    if c.cpu_share_millis.is_empty() {
                        String::new()
                    } else {
                        format!(
                            ", and its vCPU: CPU shares {} and INIT {}",
                            c.cpu_share_millis
                                .iter()
                                .map(|(m, s)| format!("{:.3} at {m} MB", f64::from(*s) / 1000.0))
                                .collect::<Vec<_>>()
                                .join(", "),
                            c.init_cpu_millis
                                .map_or_else(|| "as set".into(), |i| format!("{:.2} CPUs", f64::from(i) / 1000.0))
                        ) + &c.cpu_period_raised_from_us.map_or_else(String::new, |from| format!(
                            " (the quota period raised from the plan's {} ms to {} ms: the smallest share is below the kernel's 1 ms quota at the plan's)",
                            from as f64 / 1000.0,
                            self.cpu_period_us.unwrap_or(0) as f64 / 1000.0
                        ))
                    }
                ));
                "the network distance to AWS beyond what that run measured, Firecracker"
            }
            None => "AWS's own service time (moto answers), the network distance to AWS beyond the assumed round trip, Firecracker",
        };
        let mut s = format!(
            "Emulated: {}. Not emulated: {not_emulated}.",
            emulated.join("; ")
        );
        let entropy: Vec<String> = self
            .entropy
            .iter()
            .filter(|e| !e.at_init)
            .filter_map(|e| {
                Some(format!(
                    "{} MB {} build {} ({} of CPU)",
                    e.memory_mb,
                    e.probe_build,
                    ms_text(median_ns(&e.wall_ns)?),
                    ms_text(median_ns(&e.cpu_ns)?),
                ))
            })
            .collect();
        if !entropy.is_empty() {
            s.push_str(&format!(
                " Measured beside the probe: the crypto library's one-time entropy seeding (aws-lc's first randomness in a process, median, under each size's CPU quota): {}.",
                entropy.join(", ")
            ));
        }
        if self
            .entropy
            .iter()
            .any(|e| e.sysgenid && e.probe_build == crate::ProbeBuild::NoJitterEntropy)
        {
            s.push_str(" The no-jitter-entropy build is the default probe in environments that see a VM generation counter (/dev/sysgenid, mounted for them alone), where aws-lc takes the entropy source a build with AWS_LC_SYS_NO_JITTER_ENTROPY=1 takes; on AWS it is a build of its own.");
        }
        for o in &self.oversubscribed {
            s.push_str(&format!(
                " Scenario {}: its environments' CPU quotas add up to {:.2} CPUs, more than the host's {}: its figures include host contention.",
                o.scenario,
                f64::from(o.cpu_millis) / 1000.0,
                self.host_cpus
            ));
        }
        s
    }
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
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod emulation_tests {
    use super::*;

    fn constrained() -> Emulation {
        Emulation {
            cpu_and_memory: Constraint::Cgroup("cgroup v1".into()),
            cpu_period_us: Some(20_000),
            frozen_between_invocations: true,
            tls: true,
            rtt_ns: 1_000_000,
            connection_setup_ns: 2_000_000,
            oversubscribed: vec![],
            host_cpus: 2,
            agent: None,
            init_cpu: None,
            entropy: Vec::new(),
            calibrated_from: None,
        }
    }

    #[test]
    fn the_statement_says_what_was_emulated_and_what_was_not() {
        let s = constrained().statement();
        for part in [
            "CPU share by memory size (memory_mb/1769 of a CPU per 20 ms, cgroup v1)",
            "memory limit at memory_mb",
            "frozen between invocations",
            "TLS 1.3",
            "1.000 ms per request and 2.000 ms per new connection",
            "Not emulated: AWS's own service time",
            "Firecracker",
        ] {
            assert!(s.contains(part), "{part}: {s}");
        }
        assert!(!s.contains("not constrained"));
    }

    #[test]
    fn an_unconstrained_run_says_so_and_why() {
        let e = Emulation {
            cpu_and_memory: Constraint::Unavailable("cannot write /sys/fs/cgroup/cpu/x".into()),
            cpu_period_us: None,
            frozen_between_invocations: false,
            ..constrained()
        };
        let s = e.statement();
        assert!(
            s.contains("CPU and memory not constrained (cannot write /sys/fs/cgroup/cpu/x)"),
            "{s}"
        );
        assert!(!s.contains("frozen"), "{s}");
        let off = Emulation {
            cpu_and_memory: Constraint::NotConstrained,
            ..e
        };
        assert!(off.statement().contains("CPU and memory not constrained"));
    }

    #[test]
    fn the_init_cpu_assumption_is_stated_with_its_switch() {
        let boosted = Emulation {
            init_cpu: Some(InitCpuEmulation {
                mode: crate::InitCpu::Boosted,
                boosted_cpu_millis: 2000,
            }),
            ..constrained()
        };
        let s = boosted.statement();
        assert!(s.contains("on-demand INIT with up to 2.00 CPUs"), "{s}");
        assert!(s.contains("AWS does not document"), "{s}");
        assert!(s.contains("init_cpu = \"share\""), "{s}");
        let share = Emulation {
            init_cpu: Some(InitCpuEmulation {
                mode: crate::InitCpu::Share,
                boosted_cpu_millis: 2000,
            }),
            ..constrained()
        };
        assert!(share.statement().contains("INIT at the memory share"));
        let calibrated = Emulation {
            calibrated_from: Some(Calibration {
                run_id: "20261201-000000-abcd".into(),
                dir: "reports/dev/20261201-000000-abcd".into(),
                operations: vec![("ssm:GetParameter".into(), 1000)],
                cpu_share_millis: vec![(128, 80)],
                init_cpu_millis: Some(1900),
                cpu_period_raised_from_us: None,
                local_overhead_ns: 1_200_000,
                client_side_ns: Vec::new(),
            }),
            ..constrained()
        };
        let s = calibrated.statement();
        assert!(s.contains("drawn from run 20261201-000000-abcd"), "{s}");
        assert!(
            s.contains("less the local stage's own 1.20 ms per request"),
            "{s}"
        );
        let mut learned = calibrated.clone();
        if let Some(c) = learned.calibrated_from.as_mut() {
            c.client_side_ns = vec![("AmazonSSM.GetParameter".into(), 1_650_000)];
        }
        let s = learned.statement();
        assert!(
            s.contains("learned from uncalibrated calls at the start: AmazonSSM.GetParameter 1.65 ms; other operations less the local stage's own 1.20 ms per request"),
            "{s}"
        );
        assert!(!s.contains("Not emulated: AWS's own service time"), "{s}");
        assert!(!s.contains("raised"), "{s}");
        let mut raised = calibrated.clone();
        raised.cpu_period_us = Some(23_000);
        if let Some(c) = raised.calibrated_from.as_mut() {
            c.cpu_period_raised_from_us = Some(20_000);
        }
        let s = raised.statement();
        assert!(s.contains("per 23 ms"), "{s}");
        assert!(
            s.contains("the quota period raised from the plan's 20 ms to 23 ms"),
            "{s}"
        );
    }

    #[test]
    fn a_no_jitter_build_run_with_the_vm_generation_counter_says_so() {
        let measured = |probe_build, sysgenid| EntropyMeasurement {
            memory_mb: 128,
            cpu_share_millis: Some(72),
            at_init: false,
            probe_build,
            wall_ns: vec![1_000_000],
            cpu_ns: vec![50_000],
            sysgenid,
        };
        let built = Emulation {
            entropy: vec![
                measured(crate::ProbeBuild::Default, false),
                measured(crate::ProbeBuild::NoJitterEntropy, false),
            ],
            ..constrained()
        };
        assert!(!built.statement().contains("/dev/sysgenid"));
        let counter = Emulation {
            entropy: vec![
                measured(crate::ProbeBuild::Default, false),
                measured(crate::ProbeBuild::NoJitterEntropy, true),
            ],
            ..constrained()
        };
        let s = counter.statement();
        assert!(
            s.contains("The no-jitter-entropy build is the default probe in environments that see a VM generation counter (/dev/sysgenid"),
            "{s}"
        );
        assert!(s.contains("on AWS it is a build of its own"), "{s}");
    }

    #[test]
    fn oversubscribed_scenarios_are_named_as_including_host_contention() {
        let e = Emulation {
            oversubscribed: vec![Oversubscribed {
                scenario: "storm".into(),
                cpu_millis: 3472,
            }],
            ..constrained()
        };
        let s = e.statement();
        assert!(
            s.contains("Scenario storm: its environments' CPU quotas add up to 3.47 CPUs, more than the host's 2: its figures include host contention."),
            "{s}"
        );
    }
}
