//! Lambda's own limits and constants, each written once and used by the plan, the local
//! platform and the cost model: the memory sizes and timeouts a function may have, and the
//! memory size at which it has one vCPU.

use std::ops::RangeInclusive;
use std::time::Duration;

/// The variable Lambda Managed Instances sets to the most invocations an execution environment
/// serves at once (the function's `PerExecutionEnvironmentMaxConcurrency`); the runtimes run
/// that many at once (aws-lambda-rust-runtime's `run_concurrent` reads it).
pub const MAX_CONCURRENCY_VAR: &str = "AWS_LAMBDA_MAX_CONCURRENCY";

/// The variable that sets how many worker threads AWS's Node.js runtime interface client
/// (`aws-lambda-ric` 4.x) starts on Lambda Managed Instances ("Node.js runtime for Lambda
/// Managed Instances"); without it the client starts [`NODE_WORKERS_PER_VCPU`] per vCPU it
/// reads from cgroup v2's `cpu.max`.
pub const NODE_WORKER_COUNT_VAR: &str = "AWS_LAMBDA_NODEJS_WORKER_COUNT";

/// Worker threads per vCPU `aws-lambda-ric` 4.0.2 starts when [`NODE_WORKER_COUNT_VAR`] is
/// unset (its `getWorkerCount`: `8 * detectedCpus`).
pub const NODE_WORKERS_PER_VCPU: u32 = 8;

/// `AWS_LAMBDA_MAX_CONCURRENCY` from an environment's variables, when set to a number.
pub fn max_concurrency<K: AsRef<str>, V: AsRef<str>>(
    vars: impl IntoIterator<Item = (K, V)>,
) -> Option<u32> {
    vars.into_iter()
        .find(|(k, _)| k.as_ref() == MAX_CONCURRENCY_VAR)
        .and_then(|(_, v)| v.as_ref().trim().parse().ok())
}

/// Lambda Managed Instances' `PerExecutionEnvironmentMaxConcurrency` (Lambda API reference,
/// `LambdaManagedInstancesCapacityProviderConfig`).
pub const MANAGED_MAX_CONCURRENCY: RangeInclusive<u32> = 1..=1600;

/// Lambda Managed Instances' `ExecutionEnvironmentMemoryGiBPerVCpu` (same page).
pub const MANAGED_MEMORY_GIB_PER_VCPU: RangeInclusive<f64> = 2.0..=8.0;

/// The smallest function on Lambda Managed Instances: 2 GB and one vCPU ("Best practices for
/// Lambda Managed Instances": "The minimum supported function size is 2GB and 1 vCPU").
pub const MANAGED_MIN_MEMORY_MB: u32 = 2048;

/// A function's shape on Lambda Managed Instances: how many invocations an execution
/// environment serves at once and how much memory each of its vCPUs comes with.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManagedInstances {
    /// `PerExecutionEnvironmentMaxConcurrency`.
    pub max_concurrency: u32,
    /// `ExecutionEnvironmentMemoryGiBPerVCpu`.
    pub memory_gib_per_vcpu: f64,
}

impl ManagedInstances {
    /// The vCPUs an execution environment of `memory_mb` gets: its memory over the GiB per
    /// vCPU.
    pub fn vcpus(&self, memory_mb: u32) -> f64 {
        f64::from(memory_mb) / 1024.0 / self.memory_gib_per_vcpu
    }
}

/// The memory sizes a function may have, MB (AWS Lambda developer guide, "Configure Lambda
/// function memory": 128 MB to 10,240 MB in 1-MB increments).
pub const MEMORY_MB: RangeInclusive<u32> = 128..=10_240;

/// The shortest function timeout.
pub const MIN_TIMEOUT: Duration = Duration::from_secs(1);

/// The longest function timeout (900 seconds, "Configure Lambda function timeout").
pub const MAX_TIMEOUT: Duration = Duration::from_secs(900);

/// The memory size at which a function has one vCPU's worth of CPU time, in proportion below
/// and above ("Configure Lambda function memory": "At 1,769 MB, a function has the equivalent
/// of one vCPU").
pub const MB_PER_VCPU: u32 = 1769;

/// Whether `memory_mb` is a size Lambda allows.
pub fn memory_allowed(memory_mb: u32) -> bool {
    MEMORY_MB.contains(&memory_mb)
}

/// Whether `timeout` is one Lambda allows.
pub fn timeout_allowed(timeout: Duration) -> bool {
    (MIN_TIMEOUT..=MAX_TIMEOUT).contains(&timeout)
}

/// The share of one CPU Lambda gives at `memory_mb` (`memory_mb / 1769`), before any cap.
pub fn cpu_share(memory_mb: u32) -> f64 {
    f64::from(memory_mb) / f64::from(MB_PER_VCPU)
}

/// The CPUs the local stage gives an on-demand INIT when `[local] init_cpu = "boosted"`. On
/// Lambda, on-demand INIT is observed to run with more CPU than the memory share, and AWS does
/// not document how much: "the init phase gets two unthrottled vCPUs, even at the lowest memory
/// configurations" (Luc van Donkersgoed, 2022, a Go prime-counting test,
/// github.com/donkersgoed/when-is-the-lambda-init-phase-free-and-when-is-it-billed); "during the
/// init phase Lambda has access to more of the host CPU" (AWS, in aws/aws-sdk-java-v2 issue
/// 1999); "initializations occurring under provisioned concurrency do not receive this CPU
/// boost" (DataDog/datadog-lambda-extension pull request 700, 2025). A `cpu-calibration`
/// scenario on AWS measures it.
pub const INIT_BOOST_CPUS: f64 = 2.0;
