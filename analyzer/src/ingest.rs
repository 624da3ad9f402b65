//! Streams `records.jsonl` of one or more runs into per-group HdrHistograms (3 significant
//! digits, nanoseconds) and counters. Memory grows with the number of groups, not records: a
//! record is read, folded into its group and dropped. Reads only: never writes into a run.

use hdrhistogram::Histogram;
use secbench_record::run::{InvocationOutcome, InvocationRecord, Phase};
use secbench_record::run_dir::{self, Chunk, Chunks, RunDirError};
use secbench_record::sync::lock;
use secbench_record::{Architecture, CacheMode, ErrorClass, FetchAt, FetchPhase, Outcome, Source};
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

/// A run directory or record file that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The file could not be opened or read: check the path.
    #[error("{}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The run's manifest does not read: check the directory.
    #[error(transparent)]
    Manifest(#[from] RunDirError),
    /// The run's `rotations.jsonl` does not read (the line and field are named).
    #[error(transparent)]
    Rotations(#[from] secbench_record::rotation::RotationError),
    /// A line is not a record; `--skip-invalid` skips such lines and counts them.
    #[error("{}:{line}: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: u64,
        /// What is wrong, naming the field.
        message: String,
    },
}

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
}

impl Metric {
    /// Every metric, in output order.
    pub const ALL: [Metric; 17] = [
        Metric::FetchLatency,
        Metric::InitTotal,
        Metric::InitProcessStart,
        Metric::InitSdkConfig,
        Metric::InitClientConstruction,
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
    ];

    /// The name in exports, with its unit.
    pub fn name(self) -> &'static str {
        match self {
            Metric::FetchLatency => "fetch_latency_ns",
            Metric::InitTotal => "init_main_to_ready_ns",
            Metric::InitProcessStart => "init_process_start_to_main_ns",
            Metric::InitSdkConfig => "init_sdk_config_load_ns",
            Metric::InitClientConstruction => "init_client_construction_ns",
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
        }
    }

    /// The metric that stands for a group wherever one figure is shown (the terminal table,
    /// the Markdown and HTML tables, the plots, the cost model): the first fetch a cold
    /// environment makes, which is the INIT-time fetch for `fetch_at = init` (its handler
    /// fetches are served from memory), else the handler's fetch.
    pub fn headline(key: &GroupKey) -> Metric {
        if key.phase == Phase::Cold && key.fetch_at == Some(FetchAt::Init) {
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

/// The same group in another stage or run (for `compare`): everything but the stage.
pub type StagelessKey = (
    String,
    Option<Source>,
    Option<CacheMode>,
    Option<FetchAt>,
    Option<u32>,
    Option<Architecture>,
    Phase,
);

impl GroupKey {
    /// The same group in another stage or run (for `compare`): everything but the stage.
    pub fn without_stage(&self) -> StagelessKey {
        (
            self.scenario.clone(),
            self.source,
            self.cache,
            self.fetch_at,
            self.memory_mb,
            self.architecture,
            self.phase,
        )
    }

    /// Whether the group's records are of `approach`.
    pub fn is(&self, approach: &crate::approach::Approach) -> bool {
        crate::approach::Approach::of(self).as_ref() == Some(approach)
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
    /// Connections at the local stage's front, summed over the group's invocations (absent
    /// on AWS).
    pub connections: Option<Connections>,
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
    fn new() -> Group {
        Group {
            histograms: Default::default(),
            outcomes: BTreeMap::new(),
            fetch_errors: BTreeMap::new(),
            fetches: 0,
            api_calls: BTreeMap::new(),
            cache_hits: 0,
            connections: None,
        }
    }

    fn record(&mut self, metric: Metric, value_ns: u64) {
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

/// A histogram as the analyzer keeps them: auto-resizing, 3 significant digits.
pub fn new_histogram() -> Histogram<u64> {
    let mut h = Histogram::new(3).expect("HdrHistogram takes 0 to 5 significant digits");
    h.auto(true);
    h
}

/// What the input held, besides the groups.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct InputReport {
    /// Runs read: directory, stage, run id, local emulator or not.
    pub runs: Vec<RunInfo>,
    /// Records read.
    pub records: u64,
    /// Invalid lines skipped (with `--skip-invalid`).
    pub skipped_lines: u64,
    /// Last lines cut off mid-write (reported, not fatal).
    pub truncated_lines: Vec<String>,
}

/// A run that was read.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RunInfo {
    /// Its directory.
    pub dir: String,
    /// Run id.
    pub run_id: Option<String>,
    /// Stage.
    pub stage: Option<String>,
    /// Local emulator figures?
    pub local_emulator: Option<bool>,
    /// Run status.
    pub status: Option<secbench_record::run::RunStatus>,
    /// The manifest, when the run has one.
    #[serde(skip)]
    pub manifest: Option<secbench_record::run::Manifest>,
}

/// Groups and input facts.
#[derive(Debug, Default, Clone)]
pub struct Ingested {
    /// Groups by key.
    pub groups: BTreeMap<GroupKey, Group>,
    /// Input facts.
    pub input: InputReport,
    /// Per run that rotated values: its rotations and what each invocation of the rotating
    /// scenarios got (what `staleness` is computed from).
    pub rotations: Vec<RunRotations>,
}

/// A run's rotations and the invocations of the scenarios that rotated.
#[derive(Debug, Default, Clone)]
pub struct RunRotations {
    /// The run directory.
    pub dir: String,
    /// The stage.
    pub stage: String,
    /// `rotations.jsonl`, in order.
    pub rotations: Vec<secbench_record::rotation::RotationRecord>,
    /// Per scenario, one entry per invocation that returned a record, in file order.
    pub observations: BTreeMap<String, Vec<Observation>>,
}

/// What one invocation of a rotating scenario got, and when it was sent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Observation {
    /// When it was sent: the intended instant plus the runner's slip, ms since the Unix epoch.
    pub sent_unix_ms: f64,
    /// When its response was complete, ms since the Unix epoch.
    pub done_unix_ms: f64,
    /// Its execution environment (a hash of the probe's `environment_id`).
    pub environment: u64,
    /// The environment's first invocation.
    pub cold: bool,
    /// Sent in the warm phase (as planned).
    pub warm: bool,
    /// The digest its last handler fetch matched (`None`: it failed, matched none, or the
    /// probe was given no digests).
    pub version_index: Option<u32>,
    /// Whether its last handler fetch returned a value.
    pub fetched: bool,
}

impl Ingested {
    /// The scenarios that ran under injected faults, in any of the runs (their latencies are
    /// the faults', not the approach's).
    pub fn fault_scenarios(&self) -> std::collections::BTreeSet<String> {
        self.input
            .runs
            .iter()
            .filter_map(|r| r.manifest.as_ref())
            .flat_map(|m| m.fault_scenarios())
            .collect()
    }
}

/// The fields of a record the analysis uses, borrowed from the line: fields it does not use
/// are skipped, not built. `secbench validate` checks whole records.
#[derive(serde::Deserialize)]
struct Lite<'a> {
    run_schema_version: u32,
    #[serde(default)]
    intended_send_unix_ms: u64,
    #[serde(borrow)]
    stage: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    scenario: std::borrow::Cow<'a, str>,
    phase: Phase,
    outcome: InvocationOutcome,
    caller_latency_ns: u64,
    #[serde(default)]
    schedule_slip_ns: Option<u64>,
    platform: Option<LitePlatform>,
    #[serde(borrow)]
    probe: Option<LiteProbe<'a>>,
    #[serde(default)]
    environment_usage: Option<secbench_record::run::EnvironmentUsage>,
}

#[derive(serde::Deserialize)]
struct LitePlatform {
    duration_ms: Option<f64>,
    billed_duration_ms: Option<u64>,
    init_duration_ms: Option<f64>,
}

#[derive(serde::Deserialize)]
struct LiteProbe<'a> {
    #[serde(borrow, default)]
    environment_id: std::borrow::Cow<'a, str>,
    cold: bool,
    source: Source,
    cache: CacheMode,
    fetch_at: FetchAt,
    memory_mb: Option<u32>,
    architecture: Option<Architecture>,
    #[serde(default)]
    multi: Option<secbench_record::MultiMode>,
    #[serde(default)]
    secrets: Option<u32>,
    handler_duration_ns: u64,
    init: Option<secbench_record::InitBreakdown>,
    #[serde(borrow)]
    fetches: Vec<LiteFetch<'a>>,
}

#[derive(serde::Deserialize)]
struct LiteFetch<'a> {
    phase: FetchPhase,
    outcome: Outcome,
    #[serde(default)]
    version_index: Option<u32>,
    latency_ns: u64,
    error_class: Option<ErrorClass>,
    #[serde(borrow)]
    api_calls: Vec<LiteCall<'a>>,
}

#[derive(serde::Deserialize)]
struct LiteCall<'a> {
    #[serde(borrow)]
    service: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    operation: std::borrow::Cow<'a, str>,
    count: u32,
}

/// One worker's groups, found by a hash of (stage, scenario, phase) and then a check of the
/// whole key, so the hot path allocates nothing.
#[derive(Default)]
struct Accum {
    groups: Vec<(GroupKey, Group)>,
    index: std::collections::HashMap<u64, Vec<usize>>,
    records: u64,
    skipped: u64,
    /// The scenarios whose invocations are kept as observations (those that rotated).
    observe: std::sync::Arc<std::collections::HashSet<String>>,
    observations: BTreeMap<String, Vec<Observation>>,
}

fn short_hash(parts: [&str; 3]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in part.bytes().chain(std::iter::once(0xff)) {
            h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

impl Accum {
    fn group(
        &mut self,
        stage: &str,
        scenario: &str,
        phase: Phase,
        probe: Option<&LiteProbe<'_>>,
    ) -> &mut Group {
        let matches = |k: &GroupKey| {
            k.stage == stage
                && k.scenario == scenario
                && k.phase == phase
                && probe.is_none_or(|p| {
                    k.source == Some(p.source)
                        && k.cache == Some(p.cache)
                        && k.fetch_at == Some(p.fetch_at)
                        && k.memory_mb == p.memory_mb
                        && k.architecture == p.architecture
                        && k.multi == p.multi
                        && k.secrets == p.secrets
                })
        };
        let hash = short_hash([stage, scenario, phase.as_str()]);
        let found = self.index.get(&hash).and_then(|candidates| {
            candidates
                .iter()
                .copied()
                .find(|i| matches(&self.groups[*i].0))
        });
        let i = match found {
            Some(i) => i,
            None => {
                let key = GroupKey {
                    stage: stage.to_owned(),
                    scenario: scenario.to_owned(),
                    source: probe.map(|p| p.source),
                    cache: probe.map(|p| p.cache),
                    fetch_at: probe.map(|p| p.fetch_at),
                    memory_mb: probe.and_then(|p| p.memory_mb),
                    architecture: probe.and_then(|p| p.architecture),
                    phase,
                    multi: probe.and_then(|p| p.multi),
                    secrets: probe.and_then(|p| p.secrets),
                };
                self.groups.push((key, Group::new()));
                self.index
                    .entry(hash)
                    .or_default()
                    .push(self.groups.len() - 1);
                self.groups.len() - 1
            }
        };
        &mut self.groups[i].1
    }

    fn observe(&mut self, r: &Lite<'_>) {
        let Some(p) = &r.probe else { return };
        if !self.observe.contains(r.scenario.as_ref()) {
            return;
        }
        let last = p
            .fetches
            .iter()
            .rev()
            .find(|f| f.phase == FetchPhase::Handler);
        let sent = r.intended_send_unix_ms as f64 + r.schedule_slip_ns.unwrap_or(0) as f64 / 1e6;
        let o = Observation {
            sent_unix_ms: sent,
            done_unix_ms: r.intended_send_unix_ms as f64 + r.caller_latency_ns as f64 / 1e6,
            environment: short_hash([p.environment_id.as_ref(), "", ""]),
            cold: p.cold,
            warm: r.phase == Phase::Warm,
            version_index: last.and_then(|f| f.version_index),
            fetched: last.is_some_and(|f| f.outcome != Outcome::Error),
        };
        match self.observations.get_mut(r.scenario.as_ref()) {
            Some(v) => v.push(o),
            None => {
                self.observations.insert(r.scenario.to_string(), vec![o]);
            }
        }
    }

    fn add(&mut self, r: &Lite<'_>) {
        self.records += 1;
        if !self.observe.is_empty() {
            self.observe(r);
        }
        let probe = r.probe.as_ref();
        let phase = match probe.map(|p| p.cold) {
            Some(true) => Phase::Cold,
            Some(false) => Phase::Warm,
            None => r.phase,
        };
        let g = self.group(&r.stage, &r.scenario, phase, probe);
        *g.outcomes.entry(r.outcome).or_insert(0) += 1;
        g.record(Metric::CallerRoundTrip, r.caller_latency_ns);
        if let Some(slip) = r.schedule_slip_ns {
            g.record(Metric::ScheduleSlip, slip);
        }
        if let Some(pl) = &r.platform {
            let ms = |v: f64| (v * 1e6).round() as u64;
            if let Some(d) = pl.duration_ms {
                g.record(Metric::PlatformDuration, ms(d));
            }
            if let Some(b) = pl.billed_duration_ms {
                g.record(Metric::BilledDuration, b.saturating_mul(1_000_000));
            }
            if let Some(i) = pl.init_duration_ms {
                g.record(Metric::PlatformInitDuration, ms(i));
            }
        }
        if let Some(u) = &r.environment_usage {
            if let Some(requests) = u.requests {
                let c = g.connections.get_or_insert_with(Connections::default);
                c.invocations += 1;
                c.tls_handshakes += u.tls_handshakes.unwrap_or(0);
                c.requests += requests;
                c.reused_connection_requests += u.reused_connection_requests.unwrap_or(0);
            }
            let pairs = [
                (Metric::InitCpu, u.init_cpu_ns),
                (Metric::InitThrottled, u.init_throttled_ns),
                (Metric::InvokeCpu, u.cpu_ns),
                (Metric::InvokeThrottled, u.throttled_ns),
            ];
            for (m, v) in pairs {
                if let Some(v) = v {
                    g.record(m, v);
                }
            }
        }
        let Some(p) = probe else { return };
        g.record(Metric::HandlerDuration, p.handler_duration_ns);
        if let Some(init) = &p.init {
            g.record(Metric::InitTotal, init.main_to_ready_ns);
            let platform_init_ns = r
                .environment_usage
                .as_ref()
                .and_then(|u| u.init_ns)
                .or_else(|| {
                    r.platform
                        .as_ref()
                        .and_then(|pl| pl.init_duration_ms)
                        .map(|ms| (ms * 1e6).round() as u64)
                });
            if let Some(before) =
                platform_init_ns.and_then(|i| i.checked_sub(init.main_to_ready_ns))
            {
                g.record(Metric::InitBeforeMain, before);
            }
            if let Some(v) = init.process_start_to_main_ns {
                g.record(Metric::InitProcessStart, v);
            }
            g.record(Metric::InitSdkConfig, init.sdk_config_load_ns);
            g.record(Metric::InitClientConstruction, init.client_construction_ns);
            if let Some(v) = init.init_fetch_ns {
                g.record(Metric::InitFetch, v);
            }
        }
        for f in &p.fetches {
            g.fetches += 1;
            for c in &f.api_calls {
                let (s, o) = (c.service.as_ref(), c.operation.as_ref());
                let known = g.api_calls.iter_mut().find(|(k, _)| {
                    k.len() == s.len() + 1 + o.len() && k.starts_with(s) && k.ends_with(o)
                });
                match known {
                    Some((_, n)) => *n += u64::from(c.count),
                    None => {
                        g.api_calls.insert(format!("{s}:{o}"), u64::from(c.count));
                    }
                }
            }
            if f.outcome == Outcome::Hit {
                g.cache_hits += 1;
            }
            if let Some(class) = f.error_class {
                *g.fetch_errors.entry(class).or_insert(0) += 1;
            }
            // A partial fetch of several secrets never had all its values ready.
            if f.phase == FetchPhase::Handler
                && f.outcome != Outcome::Error
                && f.outcome != Outcome::Partial
            {
                g.record(Metric::FetchLatency, f.latency_ns);
            }
        }
    }
}

/// A bad line found by a worker.
struct BadLine {
    line: u64,
    message: String,
}

/// Parses one line: the fast borrowed parse, and on failure the strict parse for a message that
/// names the field.
fn parse_lite(line: &[u8]) -> Result<Lite<'_>, String> {
    // One UTF-8 check of the whole line (std's, fast on ASCII) instead of one per string.
    let parsed = std::str::from_utf8(line)
        .ok()
        .and_then(|text| serde_json::from_str::<Lite<'_>>(text).ok());
    match parsed {
        Some(r) if secbench_record::run::readable_run_schema(r.run_schema_version) => Ok(r),
        _ => Err(parse(line)
            .err()
            .unwrap_or_else(|| "not a record".to_owned())),
    }
}

/// Folds the lines of `chunk` into `acc`.
fn fold_chunk(acc: &mut Accum, chunk: &Chunk, skip_invalid: bool) -> Result<(), BadLine> {
    for line in run_dir::lines(chunk) {
        match parse_lite(line.text) {
            Ok(r) => acc.add(&r),
            Err(_) if skip_invalid => acc.skipped += 1,
            Err(message) => {
                return Err(BadLine {
                    line: line.number,
                    message,
                })
            }
        }
    }
    Ok(())
}

/// Folds record lines held in memory, as a worker folds a chunk of a file; returns how many
/// records it counted. The fuzz target's entry into the ingest path.
pub fn fold_bytes(data: &[u8], skip_invalid: bool) -> Result<u64, String> {
    Ingested::from_bytes(data, skip_invalid).map(|i| i.input.records)
}

impl Ingested {
    /// Groups record lines held in memory (no run, no manifest): what tests and the fuzzer
    /// fold. A bad line is an error naming its line and field.
    pub fn from_bytes(data: &[u8], skip_invalid: bool) -> Result<Ingested, String> {
        let mut acc = Accum::default();
        let mut chunks = Chunks::new(data);
        let mut buf = Vec::new();
        while let Some(chunk) = chunks.next_into(buf).map_err(|e| format!("reading: {e}"))? {
            fold_chunk(&mut acc, &chunk, skip_invalid)
                .map_err(|b| format!("line {}: {}", b.line, b.message))?;
            buf = chunk.bytes;
        }
        let mut ingested = Ingested::default();
        ingested.input.records = acc.records;
        ingested.input.skipped_lines = acc.skipped;
        for (key, group) in acc.groups {
            merge_into(&mut ingested.groups, key, group);
        }
        Ok(ingested)
    }
}

impl Ingested {
    /// Reads a run directory (or a `records.jsonl` file), on every core: the file is cut into
    /// chunks at line ends, each worker folds chunks into its own groups, and the groups are
    /// merged at the end (histograms add exactly).
    pub fn read(&mut self, path: &Path, skip_invalid: bool) -> Result<(), IngestError> {
        let (dir, file) = run_dir::locate(path);
        let manifest = run_dir::read_manifest_if_present(&dir)?;
        let rotations = secbench_record::rotation::read(&dir)?;
        let observe: std::sync::Arc<std::collections::HashSet<String>> =
            std::sync::Arc::new(rotations.iter().map(|r| r.scenario.clone()).collect());
        self.input.runs.push(RunInfo {
            dir: dir.display().to_string(),
            run_id: manifest.as_ref().map(|m| m.run_id.clone()),
            stage: manifest.as_ref().map(|m| m.stage.clone()),
            local_emulator: manifest.as_ref().map(|m| m.local_emulator),
            status: manifest.as_ref().map(|m| m.status),
            manifest,
        });
        let io = |source| IngestError::Io {
            path: file.clone(),
            source,
        };
        let mut chunks = Chunks::new(File::open(&file).map_err(io)?);
        let workers = std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .clamp(1, 8);
        let (tx, rx) = std::sync::mpsc::sync_channel::<Chunk>(workers * 2);
        let rx = std::sync::Mutex::new(rx);
        // Chunk buffers go back to the reader: a fixed set of them is allocated once, so memory
        // does not grow with the file (buffers freed on another thread would).
        let (free_tx, free_rx) = std::sync::mpsc::channel::<Vec<u8>>();
        let mut tail: Option<Chunk> = None;
        let results: Vec<(Accum, Option<BadLine>)> =
            std::thread::scope(|scope| -> Result<_, IngestError> {
                let handles: Vec<_> = (0..workers)
                    .map(|_| {
                        let free_tx = free_tx.clone();
                        let rx = &rx;
                        let observe = observe.clone();
                        scope.spawn(move || {
                            let mut acc = Accum {
                                observe,
                                ..Accum::default()
                            };
                            let mut bad: Option<BadLine> = None;
                            loop {
                                let next = lock(rx).recv();
                                let Ok(chunk) = next else { break };
                                if bad.as_ref().is_none_or(|b| b.line > chunk.first_line) {
                                    if let Err(b) = fold_chunk(&mut acc, &chunk, skip_invalid) {
                                        if bad.as_ref().is_none_or(|old| b.line < old.line) {
                                            bad = Some(b);
                                        }
                                    }
                                }
                                let _ = free_tx.send(chunk.bytes);
                            }
                            (acc, bad)
                        })
                    })
                    .collect();
                drop(free_tx);
                loop {
                    let buf = free_rx
                        .try_recv()
                        .unwrap_or_else(|_| Vec::with_capacity(CHUNK_CAPACITY));
                    let Some(chunk) = chunks.next_into(buf).map_err(io)? else {
                        break;
                    };
                    if !chunk.terminated {
                        tail = Some(chunk);
                        break;
                    }
                    if tx.send(chunk).is_err() {
                        break;
                    }
                }
                drop(tx);
                Ok(handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or_else(|_| (Accum::default(), None)))
                    .collect())
            })?;
        let mut first_bad: Option<BadLine> = None;
        let mut merged = Accum::default();
        for (acc, bad) in results {
            if let Some(b) = bad {
                if first_bad.as_ref().is_none_or(|old| b.line < old.line) {
                    first_bad = Some(b);
                }
            }
            merged.records += acc.records;
            merged.skipped += acc.skipped;
            absorb(&mut self.groups, &mut merged.observations, acc);
        }
        if let Some(b) = first_bad {
            return Err(IngestError::Invalid {
                path: file.clone(),
                line: b.line,
                message: b.message,
            });
        }
        // A last line without its newline: a run cut off mid-write. Reported, not fatal.
        for line in tail.iter().flat_map(run_dir::lines) {
            match parse_lite(line.text) {
                Ok(r) => {
                    let mut acc = Accum {
                        observe: observe.clone(),
                        ..Accum::default()
                    };
                    acc.add(&r);
                    merged.records += 1;
                    absorb(&mut self.groups, &mut merged.observations, acc);
                }
                Err(message) => self.input.truncated_lines.push(format!(
                    "{}:{}: {message}",
                    file.display(),
                    line.number
                )),
            }
        }
        self.input.records += merged.records;
        self.input.skipped_lines += merged.skipped;
        if !rotations.is_empty() {
            // Workers took chunks in any order: put each scenario's invocations in time order.
            for obs in merged.observations.values_mut() {
                obs.sort_by(|a, b| a.sent_unix_ms.total_cmp(&b.sent_unix_ms));
            }
            let stage = self
                .input
                .runs
                .last()
                .and_then(|r| r.stage.clone())
                .unwrap_or_default();
            self.rotations.push(RunRotations {
                dir: dir.display().to_string(),
                stage,
                rotations,
                observations: merged.observations,
            });
        }
        Ok(())
    }
}

/// A chunk buffer's capacity: a chunk and the start of the line it cut.
const CHUNK_CAPACITY: usize = Chunks::<File>::CHUNK_BYTES + (64 << 10);

/// Moves a worker's groups and observations into the run's.
fn absorb(
    groups: &mut BTreeMap<GroupKey, Group>,
    observations: &mut BTreeMap<String, Vec<Observation>>,
    acc: Accum,
) {
    for (key, group) in acc.groups {
        merge_into(groups, key, group);
    }
    for (scenario, mut obs) in acc.observations {
        observations.entry(scenario).or_default().append(&mut obs);
    }
}

fn merge_into(groups: &mut BTreeMap<GroupKey, Group>, key: GroupKey, group: Group) {
    match groups.get_mut(&key) {
        None => {
            groups.insert(key, group);
        }
        Some(g) => {
            for (mine, theirs) in g.histograms.iter_mut().zip(group.histograms) {
                match (mine.as_mut(), theirs) {
                    // Auto-resizing histograms of the same precision always add.
                    (Some(m), Some(t)) => {
                        let _ = m.add(&t);
                    }
                    (None, Some(t)) => *mine = Some(t),
                    _ => {}
                }
            }
            for (k, v) in group.outcomes {
                *g.outcomes.entry(k).or_insert(0) += v;
            }
            for (k, v) in group.fetch_errors {
                *g.fetch_errors.entry(k).or_insert(0) += v;
            }
            for (k, v) in group.api_calls {
                *g.api_calls.entry(k).or_insert(0) += v;
            }
            g.fetches += group.fetches;
            g.cache_hits += group.cache_hits;
            if let Some(t) = group.connections {
                let c = g.connections.get_or_insert_with(Connections::default);
                c.invocations += t.invocations;
                c.tls_handshakes += t.tls_handshakes;
                c.requests += t.requests;
                c.reused_connection_requests += t.reused_connection_requests;
            }
        }
    }
}

/// Parses one record line; errors name the field.
pub fn parse(line: &[u8]) -> Result<InvocationRecord, String> {
    let mut de = serde_json::Deserializer::from_slice(line);
    let record: InvocationRecord = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." {
            inner.to_string()
        } else {
            format!("field `{path}`: {inner}")
        }
    })?;
    if !secbench_record::run::readable_run_schema(record.run_schema_version) {
        return Err(format!(
            "field `run_schema_version`: version {} is not supported (this secbench reads {} to {})",
            record.run_schema_version,
            secbench_record::run::OLDEST_READABLE_RUN_SCHEMA_VERSION,
            secbench_record::run::RUN_SCHEMA_VERSION
        ));
    }
    Ok(record)
}

/// Reads several runs into one set of groups. What was skipped or cut off is in
/// [`Ingested::input`], for the caller to tell.
pub fn read_runs(runs: &[PathBuf], skip_invalid: bool) -> Result<Ingested, IngestError> {
    let mut ingested = Ingested::default();
    for run in runs {
        ingested.read(run, skip_invalid)?;
    }
    Ok(ingested)
}
