//! Streams `records.jsonl` of one or more runs into per-group HdrHistograms (3 significant
//! digits, nanoseconds) and counters. Memory grows with the number of groups, not records: a
//! record is read, folded into its group and dropped. Reads only: never writes into a run.

use hdrhistogram::Histogram;
use secbench_record::run::{InvocationOutcome, InvocationRecord, Manifest, Phase};
use secbench_record::{ErrorClass, FetchPhase, Outcome};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

/// A run directory or record file that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The file could not be opened or read: check the path.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A line is not a record; `--skip-invalid` skips such lines and counts them.
    #[error("{path}:{line}: {message}")]
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
}

impl Metric {
    /// Every metric, in output order.
    pub const ALL: [Metric; 11] = [
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
        }
    }
}

/// What identifies a group: stage × scenario (source, cache, fetch_at, memory, architecture) × phase.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct GroupKey {
    /// Stage.
    pub stage: String,
    /// Scenario name.
    pub scenario: String,
    /// Source.
    pub source: String,
    /// Cache mode.
    pub cache: String,
    /// `init` or `handler`.
    pub fetch_at: String,
    /// Memory in MB.
    pub memory_mb: Option<u32>,
    /// Architecture.
    pub architecture: Option<String>,
    /// `cold` or `warm`: what the probe saw (its `cold` flag), else the planned phase.
    pub phase: String,
}

impl GroupKey {
    /// The same group in another stage or run (for `compare`): everything but the stage.
    pub fn without_stage(
        &self,
    ) -> (
        String,
        String,
        String,
        String,
        Option<u32>,
        Option<String>,
        String,
    ) {
        (
            self.scenario.clone(),
            self.source.clone(),
            self.cache.clone(),
            self.fetch_at.clone(),
            self.memory_mb,
            self.architecture.clone(),
            self.phase.clone(),
        )
    }
}

/// What one group holds.
#[derive(Debug, Clone)]
pub struct Group {
    /// Histograms by metric (only metrics that had values).
    pub histograms: BTreeMap<Metric, Histogram<u64>>,
    /// Invocations by outcome.
    pub outcomes: BTreeMap<&'static str, u64>,
    /// Fetches by failure class.
    pub fetch_errors: BTreeMap<&'static str, u64>,
    /// Fetches made.
    pub fetches: u64,
    /// AWS API calls by `service:Operation`.
    pub api_calls: BTreeMap<String, u64>,
    /// Fetches served from the probe's cache.
    pub cache_hits: u64,
}

impl Group {
    fn new() -> Group {
        Group {
            histograms: BTreeMap::new(),
            outcomes: BTreeMap::new(),
            fetch_errors: BTreeMap::new(),
            fetches: 0,
            api_calls: BTreeMap::new(),
            cache_hits: 0,
        }
    }

    fn record(&mut self, metric: Metric, value_ns: u64) {
        let h = self.histograms.entry(metric).or_insert_with(new_histogram);
        // `record` grows the auto-resizing histogram; `saturating_record` would clamp instead.
        if h.record(value_ns.max(1)).is_err() {
            h.saturating_record(value_ns.max(1));
        }
    }

    /// Invocations in this group.
    pub fn invocations(&self) -> u64 {
        self.outcomes.values().sum()
    }
}

/// A histogram as the analyzer keeps them: auto-resizing, 3 significant digits.
pub fn new_histogram() -> Histogram<u64> {
    let mut h = Histogram::new(3).unwrap_or_else(|_| unreachable_sigfig());
    h.auto(true);
    h
}

fn unreachable_sigfig() -> Histogram<u64> {
    // 3 significant digits is always valid; this keeps `new_histogram` free of unwrap.
    Histogram::new_with_bounds(1, u64::MAX / 2, 3)
        .unwrap_or_else(|_| panic!("HdrHistogram rejects 3 significant digits"))
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
    pub status: Option<String>,
}

/// Groups and input facts.
#[derive(Debug, Default)]
pub struct Ingested {
    /// Groups by key.
    pub groups: BTreeMap<GroupKey, Group>,
    /// Input facts.
    pub input: InputReport,
}

fn label(outcome: InvocationOutcome) -> &'static str {
    outcome.as_str()
}

impl Ingested {
    /// Folds one record in.
    pub fn add(&mut self, r: &InvocationRecord) {
        self.input.records += 1;
        let probe = r.probe.as_ref();
        let phase = match probe.map(|p| p.cold) {
            Some(true) => "cold",
            Some(false) => "warm",
            None => r.phase.as_str(),
        };
        let key = GroupKey {
            stage: r.stage.clone(),
            scenario: r.scenario.clone(),
            source: probe.map_or_else(String::new, |p| p.source.as_str().to_owned()),
            cache: probe.map_or_else(String::new, |p| p.cache.as_str().to_owned()),
            fetch_at: probe.map_or_else(String::new, |p| p.fetch_at.as_str().to_owned()),
            memory_mb: probe.and_then(|p| p.memory_mb),
            architecture: probe
                .and_then(|p| p.architecture)
                .map(|a| a.as_str().to_owned()),
            phase: phase.to_owned(),
        };
        // Records without a probe record (throttles, crashes) join the scenario's group when
        // one exists with the same stage, scenario and phase.
        let key = if probe.is_none() {
            self.groups
                .keys()
                .find(|k| {
                    k.stage == key.stage && k.scenario == key.scenario && k.phase == key.phase
                })
                .cloned()
                .unwrap_or(key)
        } else {
            key
        };
        let g = self.groups.entry(key).or_insert_with(Group::new);
        *g.outcomes.entry(label(r.outcome)).or_insert(0) += 1;
        g.record(Metric::CallerRoundTrip, r.caller_latency_ns);
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
        let Some(p) = probe else { return };
        g.record(Metric::HandlerDuration, p.handler_duration_ns);
        if let Some(init) = &p.init {
            g.record(Metric::InitTotal, init.main_to_ready_ns);
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
                *g.api_calls
                    .entry(format!("{}:{}", c.service, c.operation))
                    .or_insert(0) += u64::from(c.count);
            }
            if f.outcome == Outcome::Hit {
                g.cache_hits += 1;
            }
            if let Some(class) = f.error_class {
                *g.fetch_errors.entry(class_name(class)).or_insert(0) += 1;
            }
            if f.phase == FetchPhase::Handler && f.outcome != Outcome::Error {
                g.record(Metric::FetchLatency, f.latency_ns);
            }
        }
    }

    /// Reads a run directory (or a `records.jsonl` file).
    pub fn read(&mut self, path: &Path, skip_invalid: bool) -> Result<(), IngestError> {
        let (dir, file) = if path.is_dir() {
            (path.to_owned(), path.join("records.jsonl"))
        } else {
            (
                path.parent().map(Path::to_owned).unwrap_or_default(),
                path.to_owned(),
            )
        };
        let manifest: Option<Manifest> = std::fs::read_to_string(dir.join("manifest.json"))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok());
        self.input.runs.push(RunInfo {
            dir: dir.display().to_string(),
            run_id: manifest.as_ref().map(|m| m.run_id.clone()),
            stage: manifest.as_ref().map(|m| m.stage.clone()),
            local_emulator: manifest.as_ref().map(|m| m.local_emulator),
            status: manifest
                .as_ref()
                .map(|m| format!("{:?}", m.status).to_lowercase()),
        });
        let io = |source| IngestError::Io {
            path: file.clone(),
            source,
        };
        let mut reader = BufReader::with_capacity(1 << 20, File::open(&file).map_err(io)?);
        let mut buf = Vec::with_capacity(4096);
        let mut line = 0u64;
        loop {
            buf.clear();
            if reader.read_until(b'\n', &mut buf).map_err(io)? == 0 {
                break;
            }
            line += 1;
            let complete = buf.last() == Some(&b'\n');
            let text = trim(&buf);
            if text.is_empty() {
                continue;
            }
            match parse(text) {
                Ok(r) => self.add(&r),
                Err(message) if !complete => {
                    self.input
                        .truncated_lines
                        .push(format!("{}:{line}: {message}", file.display()));
                }
                Err(message) if skip_invalid => {
                    let _ = message;
                    self.input.skipped_lines += 1;
                }
                Err(message) => {
                    return Err(IngestError::Invalid {
                        path: file.clone(),
                        line,
                        message,
                    })
                }
            }
        }
        Ok(())
    }
}

fn trim(buf: &[u8]) -> &[u8] {
    let end = buf
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    &buf[..end]
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
    if record.run_schema_version != secbench_record::run::RUN_SCHEMA_VERSION {
        return Err(format!(
            "field `run_schema_version`: version {} is not supported (this secbench reads {})",
            record.run_schema_version,
            secbench_record::run::RUN_SCHEMA_VERSION
        ));
    }
    Ok(record)
}

fn class_name(class: ErrorClass) -> &'static str {
    class.as_str()
}

/// The planned phase's name (for records without a probe record).
pub fn phase_name(p: Phase) -> &'static str {
    p.as_str()
}
