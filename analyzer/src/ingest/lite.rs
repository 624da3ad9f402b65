//! The fields of a record the analysis uses, borrowed from the line (`Lite`): what every
//! worker reads; and the strict parser ([`parse`]) that reads a whole [`InvocationRecord`] and
//! names the field that is wrong, used for the error message of a line the view refuses and by
//! `secbench validate`. Both check the run schema version. `ingest::read` says which reader
//! reads a line.

use secbench_record::run::{InvocationOutcome, InvocationRecord, Phase};
use secbench_record::{Architecture, CacheMode, ErrorClass, FetchAt, FetchPhase, Outcome, Source};
use std::collections::BTreeMap;

/// The fields of a record the analysis uses, borrowed from the line: fields it does not use
/// are skipped, not built. `secbench validate` checks whole records. What most records leave
/// out (`init`, `environment_usage`) is boxed, so the view is small to move.
#[derive(Debug, PartialEq, serde::Deserialize)]
pub(crate) struct Lite<'a> {
    pub(crate) run_schema_version: u32,
    #[serde(default)]
    pub(crate) intended_send_unix_ms: u64,
    #[serde(borrow)]
    pub(crate) stage: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    pub(crate) scenario: std::borrow::Cow<'a, str>,
    pub(crate) phase: Phase,
    pub(crate) outcome: InvocationOutcome,
    #[serde(borrow, default)]
    pub(crate) error_type: Option<std::borrow::Cow<'a, str>>,
    pub(crate) caller_latency_ns: u64,
    #[serde(default)]
    pub(crate) schedule_slip_ns: Option<u64>,
    #[serde(borrow)]
    pub(crate) platform: Option<LitePlatform<'a>>,
    #[serde(borrow)]
    pub(crate) probe: Option<LiteProbe<'a>>,
    #[serde(default)]
    pub(crate) environment_usage: Option<Box<secbench_record::run::EnvironmentUsage>>,
    #[serde(default)]
    pub(crate) proactive: bool,
}

#[derive(Debug, PartialEq, serde::Deserialize)]
pub(crate) struct LitePlatform<'a> {
    pub(crate) duration_ms: Option<f64>,
    pub(crate) billed_duration_ms: Option<u64>,
    pub(crate) init_duration_ms: Option<f64>,
    /// SnapStart: the restore's `Restore Duration`.
    #[serde(default)]
    pub(crate) restore_duration_ms: Option<f64>,
    #[serde(borrow, default)]
    pub(crate) status: Option<std::borrow::Cow<'a, str>>,
}

#[derive(Debug, PartialEq, serde::Deserialize)]
pub(crate) struct LiteProbe<'a> {
    #[serde(borrow, default)]
    pub(crate) environment_id: std::borrow::Cow<'a, str>,
    pub(crate) cold: bool,
    pub(crate) source: Source,
    pub(crate) cache: CacheMode,
    pub(crate) fetch_at: FetchAt,
    pub(crate) memory_mb: Option<u32>,
    pub(crate) architecture: Option<Architecture>,
    #[serde(default)]
    pub(crate) multi: Option<secbench_record::MultiMode>,
    #[serde(default)]
    pub(crate) secrets: Option<u32>,
    #[serde(default)]
    pub(crate) initialization_type: Option<secbench_record::InitializationType>,
    #[serde(default)]
    pub(crate) single_flight: Option<bool>,
    #[serde(default)]
    pub(crate) max_concurrency: Option<u32>,
    #[serde(default, borrow)]
    pub(crate) worker: Option<std::borrow::Cow<'a, str>>,
    #[serde(default)]
    pub(crate) cache_ttl_ms: Option<u64>,
    #[serde(default)]
    pub(crate) prewarm: Option<secbench_record::Prewarm>,
    #[serde(default)]
    pub(crate) probe_build: Option<secbench_record::ProbeBuild>,
    #[serde(default)]
    pub(crate) runtime: Option<secbench_record::Runtime>,
    #[serde(default, borrow)]
    pub(crate) runtime_version: Option<std::borrow::Cow<'a, str>>,
    #[serde(default, borrow)]
    pub(crate) libraries: BTreeMap<std::borrow::Cow<'a, str>, std::borrow::Cow<'a, str>>,
    #[serde(default)]
    pub(crate) cpu_work: Option<secbench_record::CpuWork>,
    pub(crate) handler_duration_ns: u64,
    pub(crate) init: Option<Box<secbench_record::InitBreakdown>>,
    /// SnapStart: what the restore kept (the first invocation of a restored environment).
    #[serde(default)]
    pub(crate) snapstart: Option<Box<secbench_record::SnapStartRestore>>,
    #[serde(borrow)]
    pub(crate) fetches: Vec<LiteFetch<'a>>,
}

#[derive(Debug, PartialEq, serde::Deserialize)]
pub(crate) struct LiteFetch<'a> {
    pub(crate) phase: FetchPhase,
    pub(crate) outcome: Outcome,
    #[serde(default)]
    pub(crate) version_index: Option<u32>,
    pub(crate) latency_ns: u64,
    #[serde(default)]
    pub(crate) cpu_ns: Option<u64>,
    pub(crate) error_class: Option<ErrorClass>,
    #[serde(borrow)]
    pub(crate) api_calls: Vec<LiteCall<'a>>,
}

#[derive(Debug, PartialEq, serde::Deserialize)]
pub(crate) struct LiteCall<'a> {
    #[serde(borrow)]
    pub(crate) service: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    pub(crate) operation: std::borrow::Cow<'a, str>,
    pub(crate) count: u32,
}

/// Why a line is not a record. Each says what to fix: the field, or the version this secbench
/// reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// The JSON does not read, or a field has the wrong type or value: fix the named field.
    #[error("field `{field}`: {message}")]
    Field {
        /// The field's path in the record (`probe.cold`).
        field: String,
        /// What the JSON reader said.
        message: String,
    },
    /// The line is not a JSON record at all (the reader names no field).
    #[error("{0}")]
    Json(String),
    /// The record was written by a secbench whose format this one does not read: read it with
    /// that version.
    #[error("field `run_schema_version`: version {version} is not supported (this secbench reads {oldest} to {newest})")]
    UnsupportedVersion {
        /// The record's version.
        version: u32,
        /// The oldest version read.
        oldest: u32,
        /// The newest version read.
        newest: u32,
    },
    /// The fast view failed and the strict parser did not (cannot happen on valid input).
    #[error("not a record")]
    NotARecord,
}

/// Parses one record line; errors name the field. A version-1 function timeout is read as one
/// (`secbench_record::run::outcome_as_read`).
pub fn parse(line: &[u8]) -> Result<InvocationRecord, RecordError> {
    let mut de = serde_json::Deserializer::from_slice(line);
    let mut record: InvocationRecord = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let message = e.into_inner().to_string();
        if path == "." {
            RecordError::Json(message)
        } else {
            RecordError::Field {
                field: path,
                message,
            }
        }
    })?;
    if !secbench_record::run::readable_run_schema(record.run_schema_version) {
        return Err(RecordError::UnsupportedVersion {
            version: record.run_schema_version,
            oldest: secbench_record::run::OLDEST_READABLE_RUN_SCHEMA_VERSION,
            newest: secbench_record::run::RUN_SCHEMA_VERSION,
        });
    }
    record.outcome = secbench_record::run::outcome_as_read(
        record.run_schema_version,
        record.outcome,
        record.error_type.as_deref(),
        record.platform.as_ref().and_then(|p| p.status.as_deref()),
    );
    Ok(record)
}
