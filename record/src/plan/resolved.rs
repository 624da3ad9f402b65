//! The plan as the runner executes it: each [`Scenario`] with every field resolved, the local
//! stage's [`Network`] and [`Local`] settings, a scenario's [`Rotation`], the limits a plan is
//! checked against, the [`ResolvedPlan`] kept in each run's manifest, and [`PlanError`].

use crate::{
    CacheMode, ConcurrencyMode, FetchAt, InitCpu, MultiMode, Prewarm, ProbeBuild, Runtime,
    ScenarioKind, Source,
};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

/// Why a plan cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The file could not be read: check the path.
    #[error("cannot read plan {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Not valid TOML, an unknown field or a wrong type; the message gives line and field.
    #[error("plan {}: {message}", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The parser's message, with line, column and field.
        message: String,
    },
    /// A value is out of range or a combination cannot work: fix the named field.
    #[error("plan {}: {field}: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Where, e.g. `scenario[2] (ssm-ttl).cache_ttl`.
        field: String,
        /// What is wrong.
        message: String,
    },
}

/// `[network]` with its defaults applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Network {
    /// TLS 1.3 to the endpoints.
    pub tls: bool,
    /// Added per request.
    #[serde(with = "crate::duration::serde")]
    pub rtt: Duration,
    /// Added per new connection.
    #[serde(with = "crate::duration::serde")]
    pub connection_setup: Duration,
    /// The endpoints close a connection idle this long (`None`: never; absent in manifests from
    /// before it was a setting, whose front never closed one).
    #[serde(
        default,
        with = "crate::duration::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub idle_timeout: Option<Duration>,
}

/// How long an endpoint keeps an idle connection open when the plan does not say: AWS does
/// not publish its endpoints' idle timeout; 60 s is Elastic Load Balancing's default idle
/// timeout ("Configure the idle connection timeout for your Application Load Balancer"), below
/// the AWS SDK for Rust's own 90 s (hyper-util's pool idle timeout, which the SDK keeps).
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

impl Network {
    /// Plain HTTP, nothing added (the fault tests' proxy).
    pub const DIRECT: Network = Network {
        tls: false,
        rtt: Duration::ZERO,
        connection_setup: Duration::ZERO,
        idle_timeout: None,
    };

    /// The connection set-up a new connection costs when `[network] connection_setup` is not
    /// given: TCP's round trip, and TLS 1.3's one more when there is TLS.
    pub fn default_connection_setup(tls: bool, rtt: Duration) -> Duration {
        if tls {
            rtt * 2
        } else {
            rtt
        }
    }
}

/// `[local]` with its defaults applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Local {
    /// Constrain CPU and memory and freeze.
    pub constrain: bool,
    /// The quota period.
    #[serde(with = "crate::duration::serde")]
    pub cpu_period: Duration,
    /// The CPU of an on-demand INIT (absent in manifests before it existed: `share`).
    #[serde(default = "init_cpu_share")]
    pub init_cpu: InitCpu,
}

fn init_cpu_share() -> InitCpu {
    InitCpu::Share
}

/// The rounds of the fixed CPU workload of a `cpu-calibration` scenario: SHA-256 over 64 KiB
/// each, about 5 ms of CPU on one vCPU (see `bench_lambda::calibration`).
pub const CPU_CALIBRATION_ROUNDS: u32 = 40;

/// The default quota period. Observed on Lambda: using more than the share in the first 20 ms
/// pauses the function until the end of those 20 ms (pwrdrvr/lambda-dispatch issue 246,
/// measured with pwrdrvr/lambda-throttling, 2024-2025). The kernel's default of 100 ms would let
/// a 128 MB function's 7.2 ms of quota cover a whole cold start unthrottled.
pub const DEFAULT_CPU_PERIOD: Duration = Duration::from_millis(20);

/// A scenario's rotations, checked: offsets from the start of its warm phase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rotation {
    /// When each rotation is due, from the start of the warm phase, in order.
    #[serde(with = "durations")]
    pub offsets: Vec<Duration>,
}

/// A list of durations written as text.
mod durations {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(v: &[Duration], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(|d| crate::duration::format(*d)))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Duration>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|t| crate::duration::parse(t).map_err(serde::de::Error::custom))
            .collect()
    }
}

/// The most rotations one scenario may plan.
pub const MAX_ROTATIONS: usize = 100;

/// The longest TTL the Parameters and Secrets extension takes (`SECRETS_MANAGER_TTL`,
/// `SSM_PARAMETER_STORE_TTL`: 0 to 300 seconds; AWS, "Use Secrets Manager secrets in Lambda
/// functions", environment variables of the extension).
pub const AGENT_MAX_TTL: Duration = Duration::from_secs(300);

/// How old a `ttl` cache's value may be and still be served after a refresh failed with a
/// transient error, when the plan sets no `max_stale`: the probe's choice, not AWS's (the
/// caching library and the agent serve theirs without a bound).
pub const DEFAULT_MAX_STALE: Duration = Duration::from_secs(3600);

/// The most invocations one scenario may plan: a guard against a typo of a few zeros.
pub const MAX_INVOCATIONS: u64 = 100_000_000;

/// Arrivals: open loop at a rate, or closed loop.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Arrival {
    /// Send at this many invocations per second, whatever the responses do.
    Open {
        /// Invocations per second.
        per_second: f64,
    },
    /// Keep `concurrency` invocations in flight.
    Closed,
}

/// A scenario with every default applied and every value checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Name (after the sweeps: `<name>-n<N>-<memory>mb`).
    pub name: String,
    /// Source.
    pub source: Source,
    /// Cache mode.
    pub cache: CacheMode,
    /// TTL, for the cache modes that take one.
    #[serde(default, with = "crate::duration::option")]
    pub cache_ttl: Option<Duration>,
    /// When the probe fetches.
    pub fetch_at: FetchAt,
    /// Whether the extension layer is attached.
    pub extension: bool,
    /// Cold starts to collect.
    pub cold_starts: u64,
    /// Warm invocations to send.
    pub warm_invocations: u64,
    /// In-flight limit.
    pub concurrency: u64,
    /// Arrival process of the warm phase.
    pub arrival: Arrival,
    /// Fetches per invocation.
    pub fetches: u32,
    /// Memory in MB.
    pub memory_mb: u32,
    /// The scenario's name as written, when a memory or secrets sweep expanded it.
    #[serde(default)]
    pub swept_from: Option<String>,
    /// Function timeout.
    #[serde(with = "crate::duration::serde")]
    pub timeout: Duration,
    /// Faults injected on the local stage while it runs.
    #[serde(default)]
    pub faults: Option<crate::faults::Faults>,
    /// The function it drives, when not the plan's.
    #[serde(default)]
    pub function: Option<String>,
    /// Rotations during the warm phase.
    #[serde(default)]
    pub rotation: Option<Rotation>,
    /// The agent's TTL (agent sources only).
    #[serde(default, with = "crate::duration::option")]
    pub agent_ttl: Option<Duration>,
    /// Secrets per fetch.
    pub secrets: u32,
    /// How they are read, when set (always set for more than one).
    #[serde(default)]
    pub multi: Option<MultiMode>,
    /// What it measures.
    #[serde(default = "kind_fetch")]
    pub kind: ScenarioKind,
    /// How its environments are started.
    #[serde(default = "on_demand")]
    pub concurrency_mode: ConcurrencyMode,
    /// What INIT does ahead of the first handler fetch.
    #[serde(default)]
    pub prewarm: Option<Prewarm>,
    /// Which build of the probe it runs.
    #[serde(default = "default_build")]
    pub probe_build: ProbeBuild,
    /// `cpu-calibration`: rounds of the fixed workload.
    #[serde(default)]
    pub cpu_rounds: Option<u32>,
    /// The runtime its probe runs in.
    #[serde(default = "rust")]
    pub runtime: Runtime,
    /// Whether its cache (and the local agent) serves the value it holds when a refresh
    /// fails with a transient error; absent where nothing is cached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_transient_errors: Option<bool>,
    /// `ttl` serving stale: the oldest value it serves after a failed refresh.
    #[serde(
        default,
        with = "crate::duration::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_stale: Option<Duration>,
    /// `ttl` in the Rust probe: whether concurrent misses wait for one fetch (absent: not set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub single_flight: Option<bool>,
    /// Runs on Lambda Managed Instances with this shape (absent: on demand).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_instances: Option<crate::lambda::ManagedInstances>,
}

impl Scenario {
    /// The execution environments a managed-instances scenario asks for: enough for its
    /// in-flight invocations at `max_concurrency` each.
    pub fn managed_environments(&self) -> Option<u32> {
        self.managed_instances.map(|m| {
            let n = self
                .concurrency
                .div_ceil(u64::from(m.max_concurrency.max(1)));
            u32::try_from(n.max(1)).unwrap_or(u32::MAX)
        })
    }
}

fn rust() -> Runtime {
    Runtime::Rust
}

fn kind_fetch() -> ScenarioKind {
    ScenarioKind::Fetch
}

fn on_demand() -> ConcurrencyMode {
    ConcurrencyMode::OnDemand
}

fn default_build() -> ProbeBuild {
    ProbeBuild::Default
}

impl Scenario {
    /// The TTL that bounds how long this scenario can serve a value after it changed: the
    /// probe's cache TTL, the agent's, or both added when the probe caches in front of the
    /// agent; `None` when nothing expires (no cache, or a fetch at
    /// INIT kept for the life of the environment).
    pub fn effective_ttl(&self) -> Option<Duration> {
        match (self.source.is_agent(), self.cache_ttl) {
            // The probe's TTL cache in front of the agent: the worst case is both TTLs (the
            // agent's default is its longest, AGENT_MAX_TTL).
            (true, Some(cache)) => Some(cache + self.agent_ttl.unwrap_or(AGENT_MAX_TTL)),
            (true, None) => self.agent_ttl,
            (false, cache) => cache,
        }
    }

    /// The shortest wait an environment can have between two warm requests: the open loop's
    /// interval (Lambda may send every request to the same environment, so more concurrency
    /// does not lengthen it); `None` for a closed loop, which sends the next request as soon
    /// as one returns.
    pub fn warm_request_interval(&self) -> Option<Duration> {
        match self.arrival {
            Arrival::Open { per_second } if per_second > 0.0 => {
                Some(Duration::from_secs_f64(1.0 / per_second))
            }
            _ => None,
        }
    }

    /// Invocations this scenario plans.
    pub fn planned(&self) -> u64 {
        self.cold_starts + self.warm_invocations
    }
}

/// What a plan resolves to: every scenario after the sweeps with its defaults applied, and the
/// local stage's network and execution environments. Kept in each run's manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResolvedPlan {
    /// The scenarios, in the order they run.
    pub scenarios: Vec<Scenario>,
    /// The local stage's network.
    pub network: Network,
    /// The local stage's execution environments.
    pub local: Local,
    /// The run on AWS the local stage takes its service times and CPU from, as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_time_from: Option<String>,
}

impl ResolvedPlan {
    /// The scenarios that ran under injected faults (their latencies are the faults', not
    /// the approach's), by their resolved names.
    pub fn fault_scenarios(&self) -> impl Iterator<Item = &str> {
        self.scenarios
            .iter()
            .filter(|s| s.faults.is_some())
            .map(|s| s.name.as_str())
    }

    /// The scenarios whose environments sit idle longer than the idle timeout between warm
    /// requests ([`Scenario::warm_request_interval`] at least [`Network::idle_timeout`]):
    /// their warm fetches find the connection closed. By resolved names.
    pub fn idle_scenarios(&self) -> impl Iterator<Item = &str> {
        let timeout = self.network.idle_timeout;
        self.scenarios
            .iter()
            .filter(move |s| {
                matches!((s.warm_request_interval(), timeout), (Some(i), Some(t)) if i >= t)
            })
            .map(|s| s.name.as_str())
    }

    /// The scenario named `name`.
    pub fn scenario(&self, name: &str) -> Option<&Scenario> {
        self.scenarios.iter().find(|s| s.name == name)
    }
}

/// Why a rate does not read; each says the form to write.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RateError {
    /// No `/`: write a count per unit.
    #[error("`{0}` is not a rate like 50/s, 600/m or 7200/h")]
    NotARate(String),
    /// The count is not a number.
    #[error("`{count}` in `{text}` is not a number")]
    Count {
        /// The count as written.
        count: String,
        /// The whole rate.
        text: String,
    },
    /// The unit is not s, m or h.
    #[error("unit `{unit}` in `{text}` is not s, m or h")]
    Unit {
        /// The unit as written.
        unit: String,
        /// The whole rate.
        text: String,
    },
    /// Zero, negative or not finite.
    #[error("`{0}`: the rate must be positive")]
    NotPositive(String),
}

/// Parses a rate such as `50/s`, `600/m` or `7200/h` into invocations per second.
pub fn parse_rate(text: &str) -> Result<f64, RateError> {
    let (count, unit) = text
        .split_once('/')
        .ok_or_else(|| RateError::NotARate(text.to_owned()))?;
    let count: f64 = count.trim().parse().map_err(|_| RateError::Count {
        count: count.to_owned(),
        text: text.to_owned(),
    })?;
    let per = match unit.trim() {
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        other => {
            return Err(RateError::Unit {
                unit: other.to_owned(),
                text: text.to_owned(),
            })
        }
    };
    if !(count.is_finite() && count > 0.0) {
        return Err(RateError::NotPositive(text.to_owned()));
    }
    Ok(count / per)
}

/// Parses a duration such as `5s`, `5m`, `250ms`.
pub fn parse_duration(text: &str) -> Result<Duration, crate::duration::DurationError> {
    crate::duration::parse(text)
}
