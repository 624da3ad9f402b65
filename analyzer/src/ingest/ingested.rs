//! What reading runs gives: the groups ([`Ingested`]), what was read and skipped
//! ([`InputReport`], [`RunInfo`]), what each rotating scenario's invocations got
//! ([`RunRotations`], [`Observation`]), and why a run could not be read ([`IngestError`]).

use crate::group::{Group, GroupKey};
use secbench_record::run_dir::RunDirError;
use std::collections::BTreeMap;
use std::path::PathBuf;

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
    #[error("{}:{line}: {error}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: u64,
        /// What is wrong, naming the field.
        error: super::lite::RecordError,
    },
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
    /// The scenarios that ran under injected faults, in any of the runs, by their resolved
    /// names (their latencies are the faults', not the approach's).
    pub fn fault_scenarios(&self) -> std::collections::BTreeSet<String> {
        self.input
            .runs
            .iter()
            .filter_map(|r| r.manifest.as_ref())
            .flat_map(|m| m.fault_scenarios())
            .collect()
    }

    /// The scenarios whose environments sat idle past the idle timeout between warm requests
    /// (their warm fetches found the connection closed), from the manifests.
    pub fn idle_scenarios(&self) -> std::collections::BTreeSet<String> {
        self.input
            .runs
            .iter()
            .filter_map(|r| r.manifest.as_ref())
            .flat_map(|m| m.idle_scenarios())
            .collect()
    }

    /// The idle timeout the runs assumed (the longest, when they differ).
    pub fn idle_timeout(&self) -> Option<std::time::Duration> {
        self.input
            .runs
            .iter()
            .filter_map(|r| r.manifest.as_ref()?.idle_timeout())
            .max()
    }
}
