//! What the analysis groups records by and keeps per group: the [`GroupKey`] (stage ×
//! scenario × the probe's source, cache, fetch time, memory, architecture × phase, and for
//! several secrets the mode and count), the [`Metric`]s and the [`Group`] of histograms and
//! counters. Typed: the record's own enums stay enums until they are rendered.

use hdrhistogram::Histogram;
use secbench_record::run::{InvocationOutcome, Phase};
use secbench_record::{
    Architecture, CacheMode, ConcurrencyMode, ErrorClass, FetchAt, Prewarm, ProbeBuild, Runtime,
    Source,
};
use std::cmp::Ordering;
use std::collections::BTreeMap;

/// The metrics kept per group, all in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Metric {
    /// Each handler-phase fetch, as the probe timed it.
    FetchLatency,
    /// `main` → ready (cold only).
    InitTotal,
    /// OS process start → `main` (cold only).
    InitProcessStart,
    /// SDK configuration load (cold only).
    InitSdkConfig,
    /// Client construction (cold only).
    InitClientConstruction,
    /// Node.js and Python: importing the SDK and libraries (cold only).
    InitImports,
    /// The INIT-time fetch (cold, `fetch_at = init`).
    InitFetch,
    /// The probe's handler duration.
    HandlerDuration,
    /// REPORT `Duration`.
    PlatformDuration,
    /// REPORT `Billed Duration`.
    BilledDuration,
    /// REPORT `Init Duration` (cold only).
    PlatformInitDuration,
    /// The caller's round trip, from the intended send time.
    CallerRoundTrip,
    /// Open loop: how late the runner sent each invocation after its intended instant.
    ScheduleSlip,
    /// Before `main` (cold only): the platform's INIT measurement (on the local stage its
    /// spawn-to-ready in ns, on AWS REPORT's `Init Duration`) minus the probe's
    /// `main`-to-ready. The OS's process start time (`InitProcessStart`, 10 ms clock ticks)
    /// stays a cross-check only.
    InitBeforeMain,
    /// CPU time the environment used during INIT (local stage, from its cgroup).
    InitCpu,
    /// Time the CPU quota held INIT back (local stage).
    InitThrottled,
    /// CPU time the environment used during the invocation (local stage).
    InvokeCpu,
    /// Time the CPU quota held the invocation back (local stage).
    InvokeThrottled,
    /// The process's CPU time over each handler-phase fetch (the probe's CPU clock).
    FetchCpu,
    /// The prewarm done at INIT (`prewarm`), wall time (cold only).
    InitPrewarm,
    /// The probe process's CPU time from its start until ready (cold only).
    InitProcessCpu,
    /// `cpu-calibration`: the fixed workload's wall time at INIT (cold only).
    CpuWorkInitWall,
    /// `cpu-calibration`: its CPU time at INIT (cold only).
    CpuWorkInitCpu,
    /// `cpu-calibration`: the workload's wall time in the handler.
    CpuWorkWall,
    /// `cpu-calibration`: its CPU time in the handler.
    CpuWorkCpu,
    /// What a cold environment's first response waits for to get its secret, per invocation
    /// (cold only): on demand, importing the SDK and libraries, loading its configuration,
    /// building the client and the first fetch (at INIT for `fetch_at = init`, else the first
    /// handler fetch); in a provisioned environment, whose INIT ran before traffic, the first
    /// handler fetch. The decision's cold cells and the latency objective both use it, so a
    /// p99 is a p99 of the sums, not a sum of p99s. Invocations whose first fetch failed have
    /// none.
    ColdAdded,
}

/// A metric is written as its name ([`Metric::name`]): a summary's `metrics` map is keyed by it.
impl serde::Serialize for Metric {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl Metric {
    /// Whether a cold environment's first invocation waits for its INIT (and a fetch made
    /// there): on demand, yes; a provisioned environment's INIT ran before traffic, so what its
    /// first invocation waits for is its handler fetch. The rule behind [`Metric::headline`] and
    /// [`Metric::ColdAdded`].
    pub fn waits_for_init(fetch_at: FetchAt, concurrency: ConcurrencyMode) -> bool {
        fetch_at == FetchAt::Init && concurrency == ConcurrencyMode::OnDemand
    }

    /// Every metric, in output order.
    pub const ALL: [Metric; 26] = [
        Metric::FetchLatency,
        Metric::InitTotal,
        Metric::InitProcessStart,
        Metric::InitSdkConfig,
        Metric::InitClientConstruction,
        Metric::InitImports,
        Metric::InitFetch,
        Metric::HandlerDuration,
        Metric::PlatformDuration,
        Metric::BilledDuration,
        Metric::PlatformInitDuration,
        Metric::CallerRoundTrip,
        Metric::ScheduleSlip,
        Metric::InitBeforeMain,
        Metric::InitCpu,
        Metric::InitThrottled,
        Metric::InvokeCpu,
        Metric::InvokeThrottled,
        Metric::FetchCpu,
        Metric::InitPrewarm,
        Metric::InitProcessCpu,
        Metric::CpuWorkInitWall,
        Metric::CpuWorkInitCpu,
        Metric::CpuWorkWall,
        Metric::CpuWorkCpu,
        Metric::ColdAdded,
    ];

    /// The name in exports, with its unit.
    pub fn name(self) -> &'static str {
        match self {
            Metric::FetchLatency => "fetch_latency_ns",
            Metric::InitTotal => "init_main_to_ready_ns",
            Metric::InitProcessStart => "init_process_start_to_main_ns",
            Metric::InitSdkConfig => "init_sdk_config_load_ns",
            Metric::InitClientConstruction => "init_client_construction_ns",
            Metric::InitImports => "init_imports_ns",
            Metric::InitFetch => "init_fetch_ns",
            Metric::HandlerDuration => "handler_duration_ns",
            Metric::PlatformDuration => "platform_duration_ns",
            Metric::BilledDuration => "billed_duration_ns",
            Metric::PlatformInitDuration => "platform_init_duration_ns",
            Metric::CallerRoundTrip => "caller_round_trip_ns",
            Metric::ScheduleSlip => "schedule_slip_ns",
            Metric::InitBeforeMain => "init_before_main_ns",
            Metric::InitCpu => "init_cpu_ns",
            Metric::InitThrottled => "init_throttled_ns",
            Metric::InvokeCpu => "invoke_cpu_ns",
            Metric::InvokeThrottled => "invoke_throttled_ns",
            Metric::FetchCpu => "fetch_cpu_ns",
            Metric::InitPrewarm => "init_prewarm_ns",
            Metric::InitProcessCpu => "init_process_cpu_ns",
            Metric::CpuWorkInitWall => "cpu_work_init_wall_ns",
            Metric::CpuWorkInitCpu => "cpu_work_init_cpu_ns",
            Metric::CpuWorkWall => "cpu_work_wall_ns",
            Metric::CpuWorkCpu => "cpu_work_cpu_ns",
            Metric::ColdAdded => "cold_added_ns",
        }
    }

    /// The metric that stands for a group wherever one figure is shown (the terminal table,
    /// the Markdown and HTML tables, the plots, the cost model): the first fetch a cold
    /// environment makes, which is the INIT-time fetch for `fetch_at = init` (its handler
    /// fetches are served from memory), else the handler's fetch.
    pub fn headline(key: &GroupKey) -> Metric {
        if key.phase == Phase::Cold
            && key
                .fetch_at
                .is_some_and(|f| Metric::waits_for_init(f, key.concurrency))
        {
            Metric::InitFetch
        } else {
            Metric::FetchLatency
        }
    }
}

/// What identifies a group: stage × scenario (source, cache, fetch_at, memory, architecture) × phase.
/// The record's own types: they become text only where they are rendered (and serialize with
/// the records' names; an unknown source, cache or fetch time as an empty string).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct GroupKey {
    /// Stage.
    pub stage: String,
    /// Scenario name.
    pub scenario: String,
    /// Source (none when no invocation of the group returned a record).
    #[serde(serialize_with = "name_or_empty")]
    pub source: Option<Source>,
    /// Cache mode.
    #[serde(serialize_with = "name_or_empty")]
    pub cache: Option<CacheMode>,
    /// `init` or `handler`.
    #[serde(serialize_with = "name_or_empty")]
    pub fetch_at: Option<FetchAt>,
    /// Memory in MB.
    pub memory_mb: Option<u32>,
    /// Architecture.
    pub architecture: Option<Architecture>,
    /// `cold` or `warm`: what the probe saw (its `cold` flag), else the planned phase.
    pub phase: Phase,
    /// Several secrets per fetch: how they were read (absent for one secret).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub multi: Option<secbench_record::MultiMode>,
    /// Several secrets per fetch: how many.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secrets: Option<u32>,
    /// How the environments started (from the probe's `initialization_type`).
    #[serde(skip_serializing_if = "is_on_demand")]
    pub concurrency: ConcurrencyMode,
    /// What INIT prewarmed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prewarm: Option<Prewarm>,
    /// The probe's build.
    #[serde(skip_serializing_if = "is_default_build")]
    pub probe_build: ProbeBuild,
    /// The probe's runtime.
    #[serde(skip_serializing_if = "is_rust")]
    pub runtime: Runtime,
    /// The TTL cache coalesced concurrent misses (single flight; Managed Instances).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub single_flight: bool,
}

fn is_rust(r: &Runtime) -> bool {
    *r == Runtime::Rust
}

fn is_on_demand(c: &ConcurrencyMode) -> bool {
    *c == ConcurrencyMode::OnDemand
}

fn is_default_build(b: &ProbeBuild) -> bool {
    *b == ProbeBuild::Default
}

fn name_or_empty<T: std::fmt::Display, S: serde::Serializer>(
    v: &Option<T>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => s.collect_str(v),
        None => s.serialize_str(""),
    }
}

impl GroupKey {
    /// A cold-start remedy measured beside its approach (a prewarm at INIT, or a probe built
    /// without jitter entropy), in words; `None` for the approach as deployed by default. The
    /// cost model and the per-approach figures take the default; the report's cold-start
    /// section compares the remedies with it.
    pub fn remedy(&self) -> Option<String> {
        match (self.prewarm, self.probe_build) {
            (None, ProbeBuild::Default) => None,
            (Some(p), ProbeBuild::Default) => Some(format!("prewarm {p}")),
            (None, b) => Some(format!("{b} build")),
            (Some(p), b) => Some(format!("prewarm {p}, {b} build")),
        }
    }

    /// The same group in another stage or run (for `compare`): everything but the stage.
    pub fn without_stage(&self) -> GroupKey {
        GroupKey {
            stage: String::new(),
            ..self.clone()
        }
    }

    fn sort_key(&self) -> impl Ord + '_ {
        let name = |v: Option<&'static str>| v.unwrap_or("");
        (
            (&self.stage, &self.scenario),
            name(self.source.map(Source::as_str)),
            name(self.cache.map(CacheMode::as_str)),
            name(self.fetch_at.map(FetchAt::as_str)),
            self.memory_mb,
            self.architecture.map(Architecture::as_str),
            self.phase,
            self.secrets,
            self.multi.map(secbench_record::MultiMode::as_str),
            (
                self.concurrency.as_str(),
                self.prewarm.map(Prewarm::as_str),
                self.probe_build.as_str(),
                self.runtime,
            ),
        )
    }
}

/// Groups sort as their names do (stage, scenario, then the rest by name), so outputs keep the
/// order they had when keys were text.
impl Ord for GroupKey {
    fn cmp(&self, other: &Self) -> Ordering {
        self.sort_key().cmp(&other.sort_key())
    }
}

impl PartialOrd for GroupKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// What one group holds.
#[derive(Debug, Clone)]
pub struct Group {
    /// Histograms by metric (`Metric as usize`; `None` until a metric gets a value).
    pub histograms: [Option<Histogram<u64>>; Metric::ALL.len()],
    /// Invocations by outcome.
    pub outcomes: BTreeMap<InvocationOutcome, u64>,
    /// Fetches by failure class.
    pub fetch_errors: BTreeMap<ErrorClass, u64>,
    /// Fetches made.
    pub fetches: u64,
    /// AWS API calls by `service:Operation`.
    pub api_calls: BTreeMap<String, u64>,
    /// Fetches served from the probe's cache.
    pub cache_hits: u64,
    /// Fetches whose refresh failed with a transient error and that were served the cached
    /// value (`ignore_transient_errors`).
    pub stale_serves: u64,
    /// First invocations of environments Lambda initialised ahead of any request (their
    /// records carry `proactive`): counted here, kept out of every metric.
    pub proactive_inits: u64,
    /// API calls a prewarm made at INIT (`prewarm = "connection"`; in `api_calls` too).
    pub prewarm_calls: u64,
    /// Connections at the local stage's front, summed over the group's invocations (absent
    /// on AWS).
    pub connections: Option<Connections>,
    /// Node.js and Python probes: the interpreter that ran (`node v20.20.2`), from the cold
    /// records.
    pub interpreters: std::collections::BTreeSet<String>,
    /// Node.js and Python probes: the SDK and library versions that ran (`boto3 1.44.8`).
    pub software: std::collections::BTreeSet<String>,
    /// Lambda Managed Instances: what the cost model needs of the group's environments.
    pub managed: Option<Managed>,
    /// SnapStart: what its restores kept from their snapshot.
    pub restores: Option<Restores>,
}

/// A SnapStart group's restored environments, as their first records show them: the
/// randomness digests each drew (which the report compares across restores) and whether the
/// first call after the restore opened a new connection.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Restores {
    /// Restored environments.
    pub restores: u64,
    /// Distinct digests of `random` drawn at INIT.
    pub init_random: std::collections::BTreeSet<String>,
    /// Distinct digests of `os.urandom` drawn at INIT.
    pub init_urandom: std::collections::BTreeSet<String>,
    /// Distinct digests of `random` drawn after the restore.
    pub restore_random: std::collections::BTreeSet<String>,
    /// Distinct digests of `os.urandom` drawn after the restore.
    pub restore_urandom: std::collections::BTreeSet<String>,
    /// Restores whose first call opened a new connection, of those that made one.
    pub reconnected: (u64, u64),
}

impl Restores {
    /// Adds `other`'s (a merge of two folds).
    pub fn add(&mut self, other: Restores) {
        self.restores += other.restores;
        self.init_random.extend(other.init_random);
        self.init_urandom.extend(other.init_urandom);
        self.restore_random.extend(other.restore_random);
        self.restore_urandom.extend(other.restore_urandom);
        self.reconnected.0 += other.reconnected.0;
        self.reconnected.1 += other.reconnected.1;
    }
}

/// What the local stage's front counted for a group's invocations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Connections {
    /// Invocations that carried counts.
    pub invocations: u64,
    /// TLS handshakes.
    pub tls_handshakes: u64,
    /// Requests through the front.
    pub requests: u64,
    /// Of those, on a kept-alive connection.
    pub reused_connection_requests: u64,
}

impl Group {
    pub(crate) fn new() -> Group {
        Group {
            histograms: Default::default(),
            outcomes: BTreeMap::new(),
            fetch_errors: BTreeMap::new(),
            fetches: 0,
            api_calls: BTreeMap::new(),
            cache_hits: 0,
            stale_serves: 0,
            proactive_inits: 0,
            prewarm_calls: 0,
            connections: None,
            interpreters: Default::default(),
            software: Default::default(),
            managed: None,
            restores: None,
        }
    }

    pub(crate) fn record(&mut self, metric: Metric, value_ns: u64) {
        let h = self.histograms[metric as usize].get_or_insert_with(new_histogram);
        // `record` grows the auto-resizing histogram; `saturating_record` would clamp instead.
        if h.record(value_ns.max(1)).is_err() {
            h.saturating_record(value_ns.max(1));
        }
    }

    /// The histogram of `metric`, if it has values.
    pub fn histogram(&self, metric: Metric) -> Option<&Histogram<u64>> {
        self.histograms[metric as usize].as_ref()
    }

    /// Invocations in this group.
    pub fn invocations(&self) -> u64 {
        self.outcomes.values().sum()
    }
}

/// A Lambda Managed Instances group's environments, as its records show them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Managed {
    /// `AWS_LAMBDA_MAX_CONCURRENCY`.
    pub max_concurrency: u32,
    /// The workers (processes or threads) seen, each `environment/worker`.
    pub workers: std::collections::BTreeSet<String>,
    /// Per environment: the CPU it used after INIT and the invocations it had answered, at
    /// its latest answer (the usage line's totals).
    pub environment_cpu: BTreeMap<String, (u64, u64)>,
    /// The environment's CPU quota, thousandths of a CPU (its vCPUs), when constrained.
    pub cpu_share_millis: Option<u32>,
    /// API calls of fetches that refreshed an expired entry.
    pub refresh_calls: u64,
    /// The TTL, ms.
    pub ttl_ms: Option<u64>,
    /// The first and last intended send of the group's invocations, Unix ms.
    pub span_ms: Option<(u64, u64)>,
    /// The most invocations one environment had in flight.
    pub peak_in_flight: u32,
}

impl Managed {
    /// Adds `other`'s (a merge of two folds).
    pub fn add(&mut self, other: Managed) {
        self.max_concurrency = self.max_concurrency.max(other.max_concurrency);
        self.workers.extend(other.workers);
        for (env, (cpu, answered)) in other.environment_cpu {
            let e = self.environment_cpu.entry(env).or_insert((0, 0));
            if answered > e.1 {
                *e = (cpu, answered);
            }
        }
        self.cpu_share_millis = self.cpu_share_millis.or(other.cpu_share_millis);
        self.refresh_calls += other.refresh_calls;
        self.ttl_ms = self.ttl_ms.or(other.ttl_ms);
        self.span_ms = match (self.span_ms, other.span_ms) {
            (Some((a, b)), Some((c, d))) => Some((a.min(c), b.max(d))),
            (a, b) => a.or(b),
        };
        self.peak_in_flight = self.peak_in_flight.max(other.peak_in_flight);
    }
}

/// A histogram as the analyzer keeps them: auto-resizing, 3 significant digits.
pub fn new_histogram() -> Histogram<u64> {
    let mut h = Histogram::new(3).expect("HdrHistogram takes 0 to 5 significant digits");
    h.auto(true);
    h
}
