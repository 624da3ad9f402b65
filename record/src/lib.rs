//! The record schema of secbench: what the probe returns for each invocation and what the
//! analyzer reads. This crate is the only definition of it (the probe and the analyzer both
//! depend on it) and it needs no AWS SDK. `schema/probe-record.schema.json` is the same
//! schema as JSON Schema for other tools; a test keeps the two in step.
#![warn(missing_docs)]

pub mod duration;
pub mod emulation;
pub mod event;
pub mod faults;
pub mod lambda;
pub mod names;
pub mod plan;
pub mod probe_config;
pub mod report_line;
pub mod rotation;
pub mod run;
pub mod run_dir;
pub mod sync;
pub mod units;

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// Version of the record format. Bump it on any change a reader must know about. Version 2
/// added each fetch's `version_index` (which of several configured digests the value matched)
/// and `service_version` (the version the service returned); version 3 added many secrets per
/// fetch (`multi`, `secrets`, each value's and each call's record, the `partial` outcome);
/// version 4 added each fetch's CPU time (`cpu_ns`), INIT's CPU time and prewarm, the
/// environment's initialization type, the probe's build and prewarm, and the CPU workload of a
/// `cpu-calibration` scenario (`cpu_work`); version 5 added the runtime (`runtime`,
/// `runtime_version`, `libraries`, INIT's `imports_ns`) and the `powertools` cache mode.
pub const SCHEMA_VERSION: u32 = 5;

/// The oldest record format this crate reads (version 1 has no `version_index` or
/// `service_version`: they read as absent).
pub const OLDEST_READABLE_SCHEMA_VERSION: u32 = 1;

/// The JSON Schema of [`ProbeRecord`], as committed.
pub const PROBE_RECORD_SCHEMA: &str = include_str!("../schema/probe-record.schema.json");

/// Declares a closed set of kebab-case names with `FromStr`/`Display` that agree with serde.
macro_rules! closed_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The name used in environment variables, plans and records.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownName;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(UnknownName {
                        kind: stringify!($name),
                        given: s.to_owned(),
                        allowed: &[$($text),+],
                    }),
                }
            }
        }
    };
}

/// A name that is not one of a closed set (a source, a cache mode, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownName {
    /// Which set was asked for.
    pub kind: &'static str,
    /// What was given.
    pub given: String,
    /// What would have been accepted.
    pub allowed: &'static [&'static str],
}

impl fmt::Display for UnknownName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` is not a known {}; expected one of: {}",
            self.given,
            self.kind,
            self.allowed.join(", ")
        )
    }
}

impl std::error::Error for UnknownName {}

closed_enum! {
    /// Where the probe gets its secret from.
    Source {
        /// Plaintext in an environment variable: the zero-cost baseline.
        PlainEnv = "plain-env",
        /// Base64 KMS ciphertext in an environment variable, decrypted with KMS `Decrypt`.
        KmsEnv = "kms-env",
        /// SSM Parameter Store `GetParameter` with decryption on a `SecureString`.
        Ssm = "ssm",
        /// Secrets Manager `GetSecretValue`.
        SecretsManager = "secrets-manager",
        /// Secrets Manager through the Parameters and Secrets extension / agent on localhost.
        AgentSecretsManager = "agent-secrets-manager",
        /// SSM through the Parameters and Secrets extension on localhost.
        AgentSsm = "agent-ssm",
    }
}

impl Source {
    /// Whether the value comes through the local agent (which caches it itself).
    pub fn is_agent(self) -> bool {
        matches!(self, Source::AgentSecretsManager | Source::AgentSsm)
    }
}

closed_enum! {
    /// How the probe caches what it fetched.
    CacheMode {
        /// No cache in the probe: every fetch goes to the source.
        None = "none",
        /// An in-process cache with a time to live (like Powertools' `max_age`).
        Ttl = "ttl",
        /// AWS's Secrets Manager caching library (Secrets Manager only): the
        /// `aws_secretsmanager_caching` crate in Rust, `aws-secretsmanager-caching` in Python.
        AwsCachingLibrary = "aws-caching-library",
        /// Powertools for AWS Lambda's Parameters utility (Node.js and Python probes): its own
        /// cache with `max_age` (5 s by default).
        Powertools = "powertools",
    }
}

closed_enum! {
    /// The Lambda runtime a probe runs in (a scenario's `runtime`).
    Runtime {
        /// The Rust probe (`bench-lambda`), a custom runtime (`provided.al2023`).
        Rust = "rust",
        /// The Node.js probe (`probes/node`), AWS SDK for JavaScript v3, on Node.js 22.
        Nodejs22 = "nodejs22.x",
        /// The Node.js probe on Node.js 24 (Lambda's current Node.js runtime).
        Nodejs24 = "nodejs24.x",
        /// The Python probe (`probes/python`), boto3, on Python 3.13.
        Python313 = "python3.13",
        /// The Python probe on Python 3.14 (Lambda's current Python runtime).
        Python314 = "python3.14",
    }
}

/// The language of a runtime's probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Language {
    /// `bench-lambda`.
    Rust,
    /// `probes/node`.
    Node,
    /// `probes/python`.
    Python,
}

impl Language {
    /// The probe's folder under `probes/` (none for Rust).
    pub fn probe_dir(self) -> Option<&'static str> {
        match self {
            Language::Rust => None,
            Language::Node => Some("node"),
            Language::Python => Some("python"),
        }
    }
}

impl Runtime {
    /// The short word a swept scenario's name gets (`ssm-node`, `ssm-node24`, `ssm-python`).
    pub fn short(self) -> &'static str {
        match self {
            Runtime::Rust => "rust",
            Runtime::Nodejs22 => "node",
            Runtime::Nodejs24 => "node24",
            Runtime::Python313 => "python",
            Runtime::Python314 => "python314",
        }
    }

    /// The language of its probe.
    pub fn language(self) -> Language {
        match self {
            Runtime::Rust => Language::Rust,
            Runtime::Nodejs22 | Runtime::Nodejs24 => Language::Node,
            Runtime::Python313 | Runtime::Python314 => Language::Python,
        }
    }

    /// `AWS_EXECUTION_ENV` in a managed runtime (`AWS_Lambda_nodejs24.x`); none for Rust's
    /// custom runtime.
    pub fn execution_env(self) -> Option<String> {
        (self.language() != Language::Rust).then(|| format!("AWS_Lambda_{}", self.as_str()))
    }

    /// The cache modes the runtime's probe has.
    pub fn has_cache(self, cache: CacheMode) -> bool {
        let l = self.language();
        match cache {
            CacheMode::None | CacheMode::Ttl => true,
            CacheMode::AwsCachingLibrary => matches!(l, Language::Rust | Language::Python),
            CacheMode::Powertools => matches!(l, Language::Node | Language::Python),
        }
    }
}

closed_enum! {
    /// When the probe fetches.
    FetchAt {
        /// Once during INIT, before the runtime loop (counted in Init Duration).
        Init = "init",
        /// In the handler, on each invocation.
        Handler = "handler",
        /// SnapStart: in the after-restore hook, once per restored environment (INIT runs
        /// once per published version, and its memory is every restore's).
        Restore = "restore",
    }
}

closed_enum! {
    /// The CPU architecture the probe was built for.
    Architecture {
        /// 64-bit x86.
        X86_64 = "x86_64",
        /// 64-bit ARM (Graviton on AWS).
        Arm64 = "arm64",
    }
}

impl Architecture {
    /// The architecture of the running binary, if it is one Lambda offers.
    pub fn current() -> Option<Architecture> {
        match std::env::consts::ARCH {
            "x86_64" => Some(Architecture::X86_64),
            "aarch64" => Some(Architecture::Arm64),
            _ => None,
        }
    }
}

closed_enum! {
    /// What happened to one fetch.
    Outcome {
        /// Fetched from the source (nothing cached, or nothing cached yet).
        Miss = "miss",
        /// Served from the probe's cache without calling AWS.
        Hit = "hit",
        /// A cached entry was expired (or a refresh was forced) and was fetched again.
        Refresh = "refresh",
        /// Served by the local agent, whose cache the probe cannot see into.
        Delegated = "delegated",
        /// A refresh failed with a transient error (a timeout, a broken connection, HTTP
        /// 5xx) and the cache served the value it held (`ignore_transient_errors`).
        Stale = "stale",
        /// The fetch failed; see `error_class`.
        Error = "error",
        /// Some of the fetch's values failed and some did not (many secrets per fetch); see
        /// `values`.
        Partial = "partial",
    }
}

closed_enum! {
    /// What the probe does at INIT so that the first handler fetch of a cold environment finds
    /// a one-time cost already paid (`SECBENCH_PREWARM`, a scenario's `prewarm`).
    Prewarm {
        /// Draw the process's first randomness: it seeds the crypto library's generator (aws-lc's
        /// CPU jitter entropy, 10-50 ms of CPU). No API call.
        Entropy = "entropy",
        /// Also open the connection the first fetch will use, with the cheapest call the probe
        /// may make (an extra API call per cold start).
        Connection = "connection",
    }
}

closed_enum! {
    /// How the function's environments are started (`AWS_LAMBDA_INITIALIZATION_TYPE`, a
    /// scenario's `concurrency_mode`).
    ConcurrencyMode {
        /// Started when an invocation needs one (INIT in the invocation's way).
        OnDemand = "on-demand",
        /// Started ahead of traffic by provisioned concurrency (INIT before the first
        /// invocation, which is warm-started).
        Provisioned = "provisioned",
        /// Lambda Managed Instances: started when the version is published, before traffic,
        /// each serving many invocations at once (a scenario's `execution`; records say it
        /// with `max_concurrency`).
        ManagedInstances = "managed-instances",
        /// SnapStart: restored from the snapshot of a published version, whose INIT ran once
        /// when it was published (a scenario's `snapstart`; records say it with
        /// `initialization_type = snap-start`).
        SnapStart = "snapstart",
    }
}

closed_enum! {
    /// How the function runs (a scenario's `execution`).
    Execution {
        /// Lambda's default: one invocation per execution environment at a time.
        OnDemand = "on-demand",
        /// Lambda Managed Instances: execution environments on EC2 instances of a capacity
        /// provider, each serving many invocations at once, started before traffic.
        ManagedInstances = "managed-instances",
    }
}

/// Where a kernel offers a VM generation counter, the path aws-lc looks at
/// (`AWSLC_SYSGENID_PATH`): the probe reports whether it is there, and the local stage offers
/// it to run [`ProbeBuild::NoJitterEntropy`] with the release build.
pub const SYSGENID_PATH: &str = "/dev/sysgenid";

closed_enum! {
    /// Which build of the probe ran (a scenario's `probe_build`), as aws-lc seeds its
    /// generator.
    ProbeBuild {
        /// The release build.
        Default = "default",
        /// Built with `AWS_LC_SYS_NO_JITTER_ENTROPY=1`: aws-lc seeds its generator from the OS
        /// alone, without CPU jitter entropy. The release build reports it too where the kernel
        /// offers a VM generation counter (`/dev/sysgenid`): aws-lc takes the same source
        /// there. The local stage runs this build so (the INIT record's `sysgenid` says it).
        NoJitterEntropy = "no-jitter-entropy",
    }
}

closed_enum! {
    /// What a scenario measures (`kind`).
    ScenarioKind {
        /// Secrets fetched as configured.
        Fetch = "fetch",
        /// A fixed CPU-bound workload timed at INIT and in the handler: the CPU Lambda gives at
        /// each memory size and to INIT (no secret is fetched).
        CpuCalibration = "cpu-calibration",
    }
}

closed_enum! {
    /// The CPU an on-demand environment's INIT gets on the local stage (`[local] init_cpu`).
    InitCpu {
        /// Up to [`lambda::INIT_BOOST_CPUS`] CPUs (capped at the host's), then the memory share
        /// from the first invocation on: what on-demand Lambda is observed to do. An assumption
        /// AWS does not document; every emulation statement names it.
        Boosted = "boosted",
        /// The memory share from the start, like an invocation (what provisioned concurrency
        /// is observed to get).
        Share = "share",
    }
}

closed_enum! {
    /// How Lambda started the execution environment (`AWS_LAMBDA_INITIALIZATION_TYPE`).
    InitializationType {
        /// On demand.
        OnDemand = "on-demand",
        /// Ahead of traffic, by provisioned concurrency.
        ProvisionedConcurrency = "provisioned-concurrency",
        /// From a SnapStart snapshot.
        SnapStart = "snap-start",
    }
}

closed_enum! {
    /// How a fetch of several secrets reads them.
    MultiMode {
        /// One call per secret, one after another.
        Sequential = "sequential",
        /// One call per secret, all at once on one client.
        Concurrent = "concurrent",
        /// `GetParameters` (10 names per call) or `BatchGetSecretValue` (20 ids per call).
        Batch = "batch",
        /// One secret (or SecureString) holding a JSON object of the values, parsed in the
        /// probe.
        Bundle = "bundle",
    }
}

/// The most secrets one fetch reads.
pub const MAX_SECRETS: usize = 20;

/// One value of a fetch of several secrets (never the value).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValueRecord {
    /// Its position in the configured list (from 0).
    pub index: u32,
    /// Hit, miss, refresh, delegated or error.
    pub outcome: Outcome,
    /// Whether its SHA-256 matched its digest in `SECBENCH_EXPECTED_SHA256S`.
    pub verified: Option<bool>,
    /// Its length in bytes.
    pub value_length_bytes: Option<u64>,
    /// Set when it failed.
    pub error_class: Option<ErrorClass>,
}

/// One API call (or agent request) of a fetch of several secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallRecord {
    /// The operation (`GetSecretValue`, `BatchGetSecretValue`, `GetParameter`,
    /// `GetParameters`, `agent GET`).
    pub operation: String,
    /// How many secrets it asked for.
    pub secrets: u32,
    /// Its wall time.
    pub latency_ns: u64,
    /// Set when the call itself failed.
    pub error_class: Option<ErrorClass>,
    /// HTTP attempts it made; absent for concurrent calls on one client, whose retries cannot
    /// be told apart (the fetch's `sdk_attempts` has their sum).
    pub sdk_attempts: Option<u32>,
}

closed_enum! {
    /// Why a fetch failed, in classes stable across services.
    ErrorClass {
        /// The service throttled the request (`ThrottlingException`, `TooManyRequests...`).
        Throttled = "throttled",
        /// The request timed out.
        Timeout = "timeout",
        /// The caller may not do this (`AccessDeniedException`, agent 403).
        AccessDenied = "access_denied",
        /// The secret, parameter or key does not exist.
        NotFound = "not_found",
        /// KMS refused the ciphertext (wrong key, wrong encryption context, corrupt).
        InvalidCiphertext = "invalid_ciphertext",
        /// The endpoint could not be reached.
        Connect = "connect",
        /// Anything else.
        Other = "other",
    }
}

closed_enum! {
    /// The part of the lifecycle a fetch happened in.
    FetchPhase {
        /// During INIT (`fetch_at = init`).
        Init = "init",
        /// In the handler.
        Handler = "handler",
        /// SnapStart: in the after-restore hook (`fetch_at = restore`).
        Restore = "restore",
    }
}

/// One AWS API operation and how many times a fetch called it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiCall {
    /// Service name as the SDK names it, e.g. `kms`, `ssm`, `secretsmanager`.
    pub service: String,
    /// Operation name, e.g. `Decrypt`, `GetParameter`, `DescribeSecret`.
    pub operation: String,
    /// How many operations (not attempts) were made.
    pub count: u32,
}

/// The SDK's retry settings in force, as loaded from its standard configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetrySettings {
    /// `standard` or `adaptive`.
    pub mode: String,
    /// Attempts per operation, the first included.
    pub max_attempts: u32,
    /// Time limit of one attempt (`SECBENCH_SDK_ATTEMPT_TIMEOUT`), if set; an attempt that
    /// takes longer fails as a timeout and is retried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempt_timeout_ms: Option<u64>,
}

/// The fixed CPU-bound workload of a `cpu-calibration` scenario, timed once (SHA-256 over
/// 64 KiB, `rounds` times).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CpuWork {
    /// Rounds of the workload.
    pub rounds: u32,
    /// Its wall time.
    pub wall_ns: u64,
    /// The process's CPU time over it (`CLOCK_PROCESS_CPUTIME_ID`).
    pub cpu_ns: u64,
}

/// How long each part of INIT took, on cold invocations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InitBreakdown {
    /// From the process start time the OS keeps (`/proc/self/stat`) to the first line of
    /// `main`. Absent where the OS does not say.
    pub process_start_to_main_ns: Option<u64>,
    /// The resolution of the OS process start time (clock ticks), so readers know how far to
    /// trust `process_start_to_main_ns`.
    pub process_start_resolution_ns: Option<u64>,
    /// Loading the SDK configuration (region, credentials, endpoint, retry settings).
    pub sdk_config_load_ns: u64,
    /// Building the service clients (and caches) the source needs.
    pub client_construction_ns: u64,
    /// The fetch made during INIT, when `fetch_at = init`.
    pub init_fetch_ns: Option<u64>,
    /// From the first line of `main` until the probe was ready to ask for its first event.
    pub main_to_ready_ns: u64,
    /// The process's CPU time from its start until ready (`CLOCK_PROCESS_CPUTIME_ID`). Absent
    /// before version 4.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_ns: Option<u64>,
    /// The prewarm done at INIT (`SECBENCH_PREWARM`): its wall time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prewarm_ns: Option<u64>,
    /// A `cpu-calibration` scenario: the workload timed at INIT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_work: Option<CpuWork>,
    /// Whether the kernel offers a VM generation counter (`/dev/sysgenid`): where it does,
    /// aws-lc seeds its generator without CPU jitter entropy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sysgenid: Option<bool>,
    /// The API calls the prewarm made (`prewarm = "connection"`: one per cold start).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prewarm_calls: Vec<ApiCall>,
    /// Node.js and Python: importing the SDK and the libraries (the handler module's own
    /// loading, after the runtime started it). Absent for the Rust probe, whose code is linked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imports_ns: Option<u64>,
}

/// One fetch of the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FetchRecord {
    /// INIT or handler.
    pub phase: FetchPhase,
    /// Where the value came from.
    pub source: Source,
    /// The probe's cache mode.
    pub cache: CacheMode,
    /// Hit, miss, refresh, delegated or error.
    pub outcome: Outcome,
    /// Wall time of the fetch, cache lookup included.
    pub latency_ns: u64,
    /// HTTP attempts the SDK (or the agent client) made, retries included; 0 on a cache hit.
    pub sdk_attempts: u32,
    /// Set when `outcome` is `error`.
    pub error_class: Option<ErrorClass>,
    /// Length of the fetched value in bytes (never the value).
    pub value_length_bytes: Option<u64>,
    /// Whether the value's SHA-256 matched one of the digests in `SECBENCH_EXPECTED_SHA256`;
    /// absent when no digest was configured or the fetch failed.
    pub verified: Option<bool>,
    /// Which of the configured digests matched (0 for the first: the value before any
    /// rotation, 1 for the next, ...); absent when none matched, none was configured or the
    /// fetch failed. Absent in version-1 records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_index: Option<u32>,
    /// The version the service returned with the value, where it returns one: Secrets
    /// Manager's `VersionId`, SSM's `Version`, the same fields in the agent's JSON. Not secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_version: Option<String>,
    /// AWS API operations the probe's SDK clients made for this fetch.
    pub api_calls: Vec<ApiCall>,
    /// Several secrets: how they were read (the fetch's latency is until all are ready).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multi: Option<MultiMode>,
    /// Several secrets: each value's record, in the configured order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<ValueRecord>,
    /// Several secrets: each call's record, in the order they were made.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub calls: Vec<CallRecord>,
    /// The process's CPU time over the fetch (`CLOCK_PROCESS_CPUTIME_ID`). Absent before
    /// version 4.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_ns: Option<u64>,
}

/// What a SnapStart environment's restore kept from its snapshot: digests (the first 16 hex
/// digits of a SHA-256) of randomness drawn at INIT and after the restore, from the language's
/// generator (Python's `random`) and the kernel's (`os.urandom`); equal digests in two
/// environments mean they drew the same values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnapStartRestore {
    /// The after-restore hooks' time, from the first hook's start to the last one's end.
    pub restore_hooks_ns: u64,
    /// `random` drawn at INIT (in the snapshot).
    pub init_random: String,
    /// `os.urandom` drawn at INIT (in the snapshot).
    pub init_urandom: String,
    /// `random` drawn in the after-restore hook.
    pub restore_random: String,
    /// `os.urandom` drawn in the after-restore hook.
    pub restore_urandom: String,
    /// Whether the first API call after the restore opened a new connection (absent: no call
    /// by the end of the first invocation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconnected: Option<bool>,
}

/// One invocation of the probe, as returned and logged by it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeRecord {
    /// [`SCHEMA_VERSION`] for records this crate writes; older readable versions are read.
    pub schema_version: u32,
    /// The run this invocation belongs to (from the event).
    pub run_id: String,
    /// The scenario name (from the event).
    pub scenario: String,
    /// The stage the probe is deployed in (`SECBENCH_STAGE`), e.g. `dev`, `local`.
    pub stage: Option<String>,
    /// `AWS_REGION`.
    pub region: Option<String>,
    /// `AWS_LAMBDA_FUNCTION_NAME`.
    pub function_name: Option<String>,
    /// `AWS_LAMBDA_FUNCTION_VERSION`.
    pub function_version: Option<String>,
    /// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`.
    pub memory_mb: Option<u32>,
    /// What the probe binary was built for.
    pub architecture: Option<Architecture>,
    /// Random per execution environment (process).
    pub environment_id: String,
    /// 1 for the first invocation in this environment, then 2, 3, ...
    pub invocation_seq: u64,
    /// True on the first invocation of an environment.
    pub cold: bool,
    /// The Lambda request id.
    pub request_id: String,
    /// The configured source.
    pub source: Source,
    /// The configured cache mode.
    pub cache: CacheMode,
    /// Several secrets per fetch: how they are read (absent for one secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multi: Option<MultiMode>,
    /// Several secrets per fetch: how many (absent for one secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secrets: Option<u32>,
    /// The configured TTL, for `ttl` and `aws-caching-library`.
    pub cache_ttl_ms: Option<u64>,
    /// Whether the cache serves what it holds when a refresh fails with a transient error
    /// (`ttl`, `aws-caching-library`, the agent); absent where there is no such choice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_transient_errors: Option<bool>,
    /// The `ttl` cache coalesces concurrent misses into one fetch (absent: not set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub single_flight: Option<bool>,
    /// Lambda Managed Instances: the most invocations the environment serves at once
    /// (`AWS_LAMBDA_MAX_CONCURRENCY`); absent when it serves one at a time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrency: Option<u32>,
    /// Lambda Managed Instances: the process (`pid:N`) or worker thread (`pid:N/thread:M`) of
    /// the environment that served the invocation, each with its own INIT and cache where the
    /// runtime runs processes or workers; absent when the environment serves one at a time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker: Option<String>,
    /// When the probe fetches.
    pub fetch_at: FetchAt,
    /// SnapStart, on the first invocation of a restored environment: what the restore kept
    /// from the snapshot and what it did not (absent otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapstart: Option<SnapStartRestore>,
    /// The SDK retry settings in force (absent for sources that use no SDK client).
    pub sdk_retry: Option<RetrySettings>,
    /// On cold invocations, how INIT was spent.
    pub init: Option<InitBreakdown>,
    /// The fetches of this invocation, INIT-time fetch first on a cold start.
    pub fetches: Vec<FetchRecord>,
    /// The handler's own wall time, as the probe measured it.
    pub handler_duration_ns: u64,
    /// Version of the probe that wrote the record.
    pub probe_version: String,
    /// How Lambda started this environment (`AWS_LAMBDA_INITIALIZATION_TYPE`), where it says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initialization_type: Option<InitializationType>,
    /// The probe's build. Absent before version 4 (the default build).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe_build: Option<ProbeBuild>,
    /// What INIT prewarmed (`SECBENCH_PREWARM`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prewarm: Option<Prewarm>,
    /// A `cpu-calibration` scenario: the workload timed in this invocation's handler.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_work: Option<CpuWork>,
    /// The runtime the probe ran in. Absent before version 5 (the Rust probe).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<Runtime>,
    /// The interpreter that actually ran (`node v20.20.2`, `CPython 3.13.0`): a local
    /// Node.js 20 figure is never `nodejs22.x`'s. Absent for the Rust probe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_version: Option<String>,
    /// The SDK and library versions the probe loaded (package name to version).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub libraries: BTreeMap<String, String>,
}

impl ProbeRecord {
    /// The runtime that wrote the record (the Rust probe when it does not say).
    pub fn runtime(&self) -> Runtime {
        self.runtime.unwrap_or(Runtime::Rust)
    }
}

impl ProbeRecord {
    /// Parses one record line and checks its schema version.
    pub fn from_json(line: &str) -> Result<ProbeRecord, RecordError> {
        let value: serde_json::Value =
            serde_json::from_str(line).map_err(|e| RecordError::Json(e.to_string()))?;
        match value.get("schema_version").and_then(|v| v.as_u64()) {
            Some(v)
                if (u64::from(OLDEST_READABLE_SCHEMA_VERSION)..=u64::from(SCHEMA_VERSION))
                    .contains(&v) => {}
            Some(v) => return Err(RecordError::UnknownVersion(v)),
            None => return Err(RecordError::MissingField("schema_version".to_owned())),
        }
        serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            RecordError::Json(format!("field `{path}`: {}", e.into_inner()))
        })
    }
}

/// A record that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordError {
    /// Not JSON, or a field of the wrong type, or missing or unknown (serde names the field).
    Json(String),
    /// A required field is missing.
    MissingField(String),
    /// The record was written by a newer or older format; use the matching secbench.
    UnknownVersion(u64),
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordError::Json(e) => write!(f, "{e}"),
            RecordError::MissingField(field) => write!(f, "missing field `{field}`"),
            RecordError::UnknownVersion(v) => write!(
                f,
                "field `schema_version`: version {v} is not supported (this secbench reads {OLDEST_READABLE_SCHEMA_VERSION} to {SCHEMA_VERSION})"
            ),
        }
    }
}

impl std::error::Error for RecordError {}

#[cfg(test)]
mod tests;

/// Refuses the ways of reading several secrets that cannot work, saying why (the probe at INIT,
/// the runner for plans).
pub fn check_multi(
    source: Source,
    cache: CacheMode,
    mode: MultiMode,
    secrets: usize,
) -> Result<(), String> {
    if secrets == 0 || secrets > MAX_SECRETS {
        return Err(format!("{secrets} secrets: 1 to {MAX_SECRETS} per fetch"));
    }
    match (source, mode) {
        (Source::PlainEnv | Source::KmsEnv, _) => Err(format!(
            "source = {source} holds one value in the configuration; several secrets are read from ssm, secrets-manager or the agent"
        )),
        (s, MultiMode::Batch | MultiMode::Bundle) if s.is_agent() => Err(format!(
            "source = {source}: the extension answers one secret per request; use sequential or concurrent"
        )),
        (Source::Ssm, MultiMode::Batch) if cache == CacheMode::AwsCachingLibrary => Err(
            "the caching library caches Secrets Manager only".into(),
        ),
        _ => Ok(()),
    }
}

/// Refuses the combinations of settings that cannot work, saying why. The probe checks this at
/// INIT and the runner checks plans with it, so a plan is refused before anything is deployed.
pub fn check_combination(
    source: Source,
    cache: CacheMode,
    fetch_at: FetchAt,
) -> Result<(), String> {
    if cache == CacheMode::AwsCachingLibrary && source != Source::SecretsManager {
        return Err(format!(
            "cache = aws-caching-library caches Secrets Manager only, but source = {source}"
        ));
    }
    if cache == CacheMode::Powertools && !matches!(source, Source::Ssm | Source::SecretsManager) {
        return Err(format!(
            "cache = powertools reads through Powertools' SSM and Secrets Manager providers, but source = {source}"
        ));
    }
    if source.is_agent() && fetch_at != FetchAt::Handler {
        return Err(format!(
            "source = {source} with fetch_at = {fetch_at}: the Parameters and Secrets extension answers only in the INVOKE phase, so fetch in the handler"
        ));
    }
    if fetch_at == FetchAt::Restore && cache != CacheMode::None {
        return Err(format!(
            "fetch_at = restore with cache = {cache}: the after-restore hook's fetch is kept for the environment's life (cache = none)"
        ));
    }
    Ok(())
}
