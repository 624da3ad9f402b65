//! The plan file as written: the serde types that mirror the TOML (`deny_unknown_fields`,
//! every value optional where the file may leave it out). [`super::resolve`] turns them into
//! the checked [`super::Plan`] the runner executes.

use crate::{
    CacheMode, ConcurrencyMode, FetchAt, InitCpu, MultiMode, Prewarm, ProbeBuild, Runtime,
    ScenarioKind, Source,
};
use serde::{Deserialize, Serialize};

/// One value or a sweep over several: a sweep expands a scenario into one per value. Read by
/// its own deserializer, whose error says what it got and what the field accepts (serde's
/// untagged enums answer "data did not match any variant").
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum OneOrSweep<T> {
    /// One value.
    One(T),
    /// A sweep.
    Sweep(Vec<T>),
}

/// What a "value or sweep" field accepts, as its error says it.
pub trait Accepted {
    /// E.g. "a whole number" or "one of rust, nodejs22.x, nodejs24.x, python3.13, python3.14".
    fn accepted() -> String;
}

impl Accepted for u32 {
    fn accepted() -> String {
        "a whole number".into()
    }
}

impl Accepted for Runtime {
    fn accepted() -> String {
        let names: Vec<&str> = Runtime::ALL.iter().map(|r| r.as_str()).collect();
        format!("one of {}", names.join(", "))
    }
}

/// One value of a [`OneOrSweep`] (alone or in its list), read so that a wrong one is named.
struct Item<T>(T);

/// Reads one value through `T`'s own deserializer; a wrong one is named with what is accepted.
struct ItemVisitor<T>(std::marker::PhantomData<T>);

impl<T> ItemVisitor<T> {
    fn wrong<E: serde::de::Error>(got: impl std::fmt::Display) -> E
    where
        T: Accepted,
    {
        E::custom(format_args!(
            "`{got}` is not {} (or a list of them)",
            T::accepted()
        ))
    }
}

macro_rules! visit_as {
    ($($method:ident($ty:ty)),*) => {$(
        fn $method<E: serde::de::Error>(self, v: $ty) -> Result<Self::Value, E> {
            use serde::de::IntoDeserializer;
            T::deserialize(v.into_deserializer()).map_err(|_: E| Self::wrong(v))
        }
    )*};
}

impl<'de, T: Deserialize<'de> + Accepted> serde::de::Visitor<'de> for ItemVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} or a list of them", T::accepted())
    }

    visit_as!(
        visit_bool(bool),
        visit_i64(i64),
        visit_u64(u64),
        visit_f64(f64)
    );

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<T, E> {
        use serde::de::IntoDeserializer;
        T::deserialize(v.into_deserializer()).map_err(|_: E| Self::wrong(v))
    }
}

impl<'de, T: Deserialize<'de> + Accepted> Deserialize<'de> for Item<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ItemVisitor(std::marker::PhantomData))
            .map(Item)
    }
}

/// Reads a value or a list of them.
struct OneOrSweepVisitor<T>(std::marker::PhantomData<T>);

impl<'de, T: Deserialize<'de> + Accepted> serde::de::Visitor<'de> for OneOrSweepVisitor<T> {
    type Value = OneOrSweep<T>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} or a list of them", T::accepted())
    }

    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Self::Value, E> {
        ItemVisitor(std::marker::PhantomData)
            .visit_bool(v)
            .map(OneOrSweep::One)
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
        ItemVisitor(std::marker::PhantomData)
            .visit_i64(v)
            .map(OneOrSweep::One)
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
        ItemVisitor(std::marker::PhantomData)
            .visit_u64(v)
            .map(OneOrSweep::One)
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Self::Value, E> {
        ItemVisitor(std::marker::PhantomData)
            .visit_f64(v)
            .map(OneOrSweep::One)
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
        ItemVisitor(std::marker::PhantomData)
            .visit_str(v)
            .map(OneOrSweep::One)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut values = Vec::new();
        while let Some(Item(v)) = seq.next_element::<Item<T>>()? {
            values.push(v);
        }
        Ok(OneOrSweep::Sweep(values))
    }
}

impl<'de, T: Deserialize<'de> + Accepted> Deserialize<'de> for OneOrSweep<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(OneOrSweepVisitor(std::marker::PhantomData))
    }
}

impl<T: Clone> OneOrSweep<T> {
    /// The values, in the order written.
    pub(super) fn list(&self) -> Vec<T> {
        match self {
            OneOrSweep::One(v) => vec![v.clone()],
            OneOrSweep::Sweep(v) => v.clone(),
        }
    }
}

/// One memory size or a sweep over several (`memory_mb = 128` or `memory_mb = [128, 1769]`):
/// a sweep expands a scenario into one per size, named `<name>-<size>mb`.
pub type MemorySizes = OneOrSweep<u32>;

/// One runtime or a sweep over several (`runtime = "python3.13"` or
/// `runtime = ["rust", "nodejs22.x", "python3.13"]`): a sweep expands a scenario into one per
/// runtime, named `<name>-<rust|node|python>`.
pub type Runtimes = OneOrSweep<Runtime>;

/// `[network]`: what the local stage's front puts between the functions and the emulator.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkSpec {
    /// TLS 1.3 to the endpoints (default true).
    pub tls: Option<bool>,
    /// Round trip added to every request, e.g. `1ms` (default 0).
    pub rtt: Option<String>,
    /// Added once per new connection (default: two round trips, TCP's and TLS 1.3's; one
    /// without TLS).
    pub connection_setup: Option<String>,
    /// The endpoints close a connection idle longer than this (default
    /// [`super::resolved::DEFAULT_IDLE_TIMEOUT`]; `0s`: never). An assumption AWS does not
    /// publish; it also decides which scenarios are "warm but idle".
    pub idle_timeout: Option<String>,
    /// A run on AWS whose service times (per API operation) and CPU (its `cpu-calibration`
    /// scenarios) the local stage takes over (`secbench local --service-time-from`).
    pub service_time_from: Option<String>,
}

/// `[local]`: how the local platform models Lambda's execution environment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalSpec {
    /// Give each environment Lambda's CPU share and memory limit and freeze it between
    /// invocations (default true; where cgroups cannot be written the stage says so and runs
    /// unconstrained).
    pub constrain: Option<bool>,
    /// The CPU quota period (default [`super::DEFAULT_CPU_PERIOD`], with its source).
    pub cpu_period: Option<String>,
    /// The CPU of an on-demand INIT: `boosted` (default) or `share`.
    pub init_cpu: Option<InitCpu>,
}
/// `[scenario.rotation]` as written: when to write a new value during the warm phase.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotationSpec {
    /// The first rotation, from the start of the warm phase (default: `every`).
    pub at: Option<String>,
    /// Rotate again this long after each rotation, while the warm phase lasts (open loop
    /// only: every new value's digest is given to the probe before the scenario starts, so
    /// their number must be known).
    pub every: Option<String>,
}

/// Traffic settings a scenario may take from `[defaults]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Traffic {
    /// Fresh execution environments per scenario.
    pub cold_starts: Option<u64>,
    /// Invocations in the warm phase.
    pub warm_invocations: Option<u64>,
    /// In-flight invocations at most.
    pub concurrency: Option<u64>,
    /// Open-loop arrival rate (`50/s`, `600/m`); absent means closed loop.
    pub rate: Option<String>,
    /// Fetches per invocation.
    pub fetches: Option<u32>,
    /// Function memory, or a sweep (AWS: `MemorySize`; local: the CPU quota and memory
    /// limit).
    pub memory_mb: Option<MemorySizes>,
    /// Function timeout, e.g. `30s`.
    pub timeout: Option<String>,
}

/// One `[[scenario]]` as written. Its traffic fields repeat `Traffic`'s rather than
/// `#[serde(flatten)]` it, because serde does not support `flatten` with `deny_unknown_fields`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioSpec {
    /// Unique name.
    pub name: String,
    /// The probe's source.
    pub source: Source,
    /// The probe's cache mode (default `none`).
    #[serde(default = "cache_none")]
    pub cache: CacheMode,
    /// TTL for `ttl` and `aws-caching-library`, e.g. `5m`.
    pub cache_ttl: Option<String>,
    /// Whether a cache serves the value it holds when a refresh fails with a transient error
    /// (`ttl`, `aws-caching-library`, the agent; default `true`, the agent's default).
    pub ignore_transient_errors: Option<bool>,
    /// How old a `ttl` cache's value may be and still be served after a failed refresh
    /// (default [`super::resolved::DEFAULT_MAX_STALE`]).
    pub max_stale: Option<String>,
    /// `ttl` in the Rust probe: concurrent misses of an environment that serves several
    /// invocations at once wait for one fetch (default `false`: each misses on its own).
    pub single_flight: Option<bool>,
    /// `init` or `handler` (default).
    #[serde(default = "fetch_handler")]
    pub fetch_at: FetchAt,
    /// Attach the Parameters and Secrets extension layer (default: for the agent sources).
    pub extension: Option<bool>,
    /// Cold starts (overrides `[defaults]`).
    pub cold_starts: Option<u64>,
    /// Warm invocations (overrides `[defaults]`).
    pub warm_invocations: Option<u64>,
    /// In-flight limit (overrides `[defaults]`).
    pub concurrency: Option<u64>,
    /// Open-loop rate (overrides `[defaults]`).
    pub rate: Option<String>,
    /// Fetches per invocation (overrides `[defaults]`).
    pub fetches: Option<u32>,
    /// Memory in MB, or a sweep (overrides `[defaults]`).
    pub memory_mb: Option<MemorySizes>,
    /// Function timeout (overrides `[defaults]`).
    pub timeout: Option<String>,
    /// Faults the local stage's proxy injects while this scenario runs (local stage only).
    pub faults: Option<crate::faults::FaultSpec>,
    /// Rotate the value during the warm phase (`[scenario.rotation] at = "20s"`).
    pub rotation: Option<RotationSpec>,
    /// Secrets per fetch, or a sweep (`secrets = [1, 3, 10]` runs the scenario per count,
    /// named `<name>-n<count>`); default 1.
    pub secrets: Option<MemorySizes>,
    /// How several secrets are read: `sequential` (default), `concurrent`, `batch`, `bundle`.
    pub multi: Option<MultiMode>,
    /// The agent's TTL for the agent sources (`SECRETS_MANAGER_TTL` and
    /// `SSM_PARAMETER_STORE_TTL` of the extension, whole seconds, at most 300 s; default 300 s).
    pub agent_ttl: Option<String>,
    /// AWS: the function this scenario drives instead of the plan's (memory can be swept by
    /// configuration, architecture cannot: deploy one function per architecture and name
    /// each here). The local stage has one function.
    pub function: Option<String>,
    /// `fetch` (default) or `cpu-calibration`.
    pub kind: Option<ScenarioKind>,
    /// `on-demand` (default) or `provisioned`.
    pub concurrency_mode: Option<ConcurrencyMode>,
    /// `on-demand` (default) or `managed-instances` (Lambda Managed Instances: environments
    /// on the stage's capacity provider, each serving `max_concurrency` invocations at once).
    pub execution: Option<crate::Execution>,
    /// Managed instances: `PerExecutionEnvironmentMaxConcurrency` (1–1,600; required: AWS's
    /// default depends on the runtime).
    pub max_concurrency: Option<u32>,
    /// Managed instances: `ExecutionEnvironmentMemoryGiBPerVCpu` (2–8, default 2): with
    /// `memory_mb` it gives the environment's vCPUs.
    pub memory_gib_per_vcpu: Option<f64>,
    /// SnapStart on the function's published versions (Python): INIT runs once per version,
    /// and every cold start restores its snapshot; `fetch_at = "restore"` fetches in the
    /// after-restore hook.
    pub snapstart: Option<bool>,
    /// What INIT does ahead of the first handler fetch: `entropy` or `connection`.
    pub prewarm: Option<Prewarm>,
    /// Which build of the probe: `default` or `no-jitter-entropy` (the local stage builds it;
    /// on AWS, deploy it and name its function).
    pub probe_build: Option<ProbeBuild>,
    /// `cpu-calibration`: rounds of the fixed workload (default
    /// [`super::CPU_CALIBRATION_ROUNDS`]).
    pub cpu_rounds: Option<u32>,
    /// The probe's runtime, or a sweep: `rust` (default), `nodejs22.x`, `nodejs24.x`,
    /// `python3.13`, `python3.14`.
    pub runtime: Option<Runtimes>,
}

impl ScenarioSpec {
    /// The traffic settings written on this scenario.
    pub(super) fn traffic(&self) -> Traffic {
        Traffic {
            cold_starts: self.cold_starts,
            warm_invocations: self.warm_invocations,
            concurrency: self.concurrency,
            rate: self.rate.clone(),
            fetches: self.fetches,
            memory_mb: self.memory_mb.clone(),
            timeout: self.timeout.clone(),
        }
    }
}

fn cache_none() -> CacheMode {
    CacheMode::None
}

fn fetch_handler() -> FetchAt {
    FetchAt::Handler
}

/// The plan file as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanFile {
    /// `local` or an AWS stage name (`dev`, `prod`, ...).
    pub stage: Option<String>,
    /// AWS region.
    pub region: Option<String>,
    /// The function to drive (AWS; the local stage names its own).
    pub function: Option<String>,
    /// ARN of the Parameters and Secrets extension layer for this region and architecture.
    pub extension_layer_arn: Option<String>,
    /// Defaults for every scenario.
    #[serde(default)]
    pub defaults: Traffic,
    /// The local stage's network (ignored on AWS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<NetworkSpec>,
    /// The local stage's execution environments (ignored on AWS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local: Option<LocalSpec>,
    /// The scenarios, in order.
    #[serde(default, rename = "scenario")]
    pub scenarios: Vec<ScenarioSpec>,
}
