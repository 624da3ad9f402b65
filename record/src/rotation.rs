//! Rotations: a plan's `[scenario.rotation]` writes a new value while the scenario's warm
//! phase runs, and the runner appends one [`RotationRecord`] per write to the run's
//! `rotations.jsonl` (append-only, flushed on every line), with the instant the service
//! confirmed the write. The value itself is in no record: only its position in the list of
//! digests the probe was given (`SECBENCH_EXPECTED_SHA256=old,new,...`).

use crate::Source;
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// `rotations.jsonl`.
pub const ROTATIONS_FILE: &str = "rotations.jsonl";

/// Version of the rotation record.
pub const ROTATION_SCHEMA_VERSION: u32 = 1;

/// Where a source's value lives, which is what a rotation writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Store {
    /// The function's configuration (`plain-env`'s plaintext, `kms-env`'s ciphertext): a
    /// rotation is a configuration change, which retires every environment.
    FunctionConfiguration,
    /// The SSM `SecureString` (`ssm`, `agent-ssm`): `PutParameter` with `Overwrite`.
    Parameter,
    /// The Secrets Manager secret (`secrets-manager`, `agent-secrets-manager`):
    /// `PutSecretValue`, which moves `AWSCURRENT` to the new version.
    Secret,
}

impl Store {
    /// The store a source reads.
    pub fn of(source: Source) -> Store {
        match source {
            Source::PlainEnv | Source::KmsEnv => Store::FunctionConfiguration,
            Source::Ssm | Source::AgentSsm => Store::Parameter,
            Source::SecretsManager | Source::AgentSecretsManager => Store::Secret,
        }
    }

    /// The API operation a rotation of this store makes.
    pub fn operation(self) -> &'static str {
        match self {
            Store::FunctionConfiguration => "UpdateFunctionConfiguration",
            Store::Parameter => "PutParameter",
            Store::Secret => "PutSecretValue", // pragma: allowlist secret (an operation name)
        }
    }
}

/// One rotation, as the runner made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotationRecord {
    /// Always [`ROTATION_SCHEMA_VERSION`].
    pub rotation_schema_version: u32,
    /// The run.
    pub run_id: String,
    /// The scenario whose warm phase it happened in.
    pub scenario: String,
    /// 1 for the scenario's first rotation, 2 for the next, ...: the position of the new
    /// value's digest in the list the probe was given (0 is the value before).
    pub version_index: u32,
    /// What was written.
    pub store: Store,
    /// The API operation (`PutSecretValue`, `PutParameter`, `UpdateFunctionConfiguration`).
    pub operation: String,
    /// When the plan asked for it, from the start of the warm phase, ms.
    pub planned_offset_ms: u64,
    /// When the write was sent, ms since the Unix epoch.
    pub requested_unix_ms: u64,
    /// When the service confirmed it (the write's response; for a configuration change, the
    /// update reported `Successful`), ms since the Unix epoch. Absent when it failed.
    pub confirmed_unix_ms: Option<u64>,
    /// The version the service gave the new value (`VersionId`, `Version`, `RevisionId`).
    pub service_version: Option<String>,
    /// Why the write failed (operation, error code and message; never the value).
    pub error: Option<String>,
}

/// Why the rotations of a run cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum RotationError {
    /// The file could not be read or written: check the path, permissions and free space.
    #[error("{}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A line is not a rotation record.
    #[error("{}:{line}: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The line, from 1.
        line: u64,
        /// What is wrong (serde names the field).
        message: String,
    },
}

/// Reads a run's rotations (none when the file is absent). A last line without its newline
/// is a line cut off mid-write and is left out, as for records.
pub fn read(dir: &Path) -> Result<Vec<RotationRecord>, RotationError> {
    let path = dir.join(ROTATIONS_FILE);
    let text = match std::fs::read(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(RotationError::Io { path, source }),
    };
    let chunk = crate::run_dir::Chunk {
        bytes: text,
        first_line: 1,
        terminated: true,
    };
    let terminated = chunk.bytes.last().is_none_or(|b| *b == b'\n');
    let mut out = Vec::new();
    let lines: Vec<_> = crate::run_dir::lines(&chunk).collect();
    let last = lines.last().map(|l| l.number);
    for line in lines {
        if !terminated && Some(line.number) == last {
            break;
        }
        // A line that ends mid-document was cut off mid-write and later closed by the newline
        // a resumed run's writer adds before its first line: left out, as the last one is.
        if serde_json::from_slice::<serde_json::Value>(line.text).is_err_and(|e| e.is_eof()) {
            continue;
        }
        let mut de = serde_json::Deserializer::from_slice(line.text);
        let r: RotationRecord = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let field = e.path().to_string();
            RotationError::Invalid {
                path: path.clone(),
                line: line.number,
                message: format!("field `{field}`: {}", e.into_inner()),
            }
        })?;
        out.push(r);
    }
    Ok(out)
}

/// The append-only writer of `rotations.jsonl`.
#[derive(Debug)]
pub struct RotationLog {
    path: PathBuf,
    file: File,
}

impl RotationLog {
    /// Opens (or creates) the file in `dir` for appending. A file cut off mid-line (a run
    /// killed while writing) gets a newline first, so the next record starts a line of its
    /// own instead of being glued to the cut-off one (nothing written is changed).
    pub fn open(dir: &Path) -> Result<RotationLog, RotationError> {
        use std::io::{Read as _, Seek as _, SeekFrom};
        let path = dir.join(ROTATIONS_FILE);
        let io = |source| RotationError::Io {
            path: path.clone(),
            source,
        };
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(&path)
            .map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        if len > 0 {
            let mut last = [0u8; 1];
            file.seek(SeekFrom::Start(len - 1)).map_err(io)?;
            file.read_exact(&mut last).map_err(io)?;
            if last[0] != b'\n' {
                file.write_all(b"\n").map_err(io)?;
            }
        }
        Ok(RotationLog { path, file })
    }

    /// Appends one record as one line and syncs it.
    pub fn append(&mut self, r: &RotationRecord) -> Result<(), RotationError> {
        let io = |source| RotationError::Io {
            path: self.path.clone(),
            source,
        };
        let mut line = serde_json::to_vec(r).map_err(|e| io(std::io::Error::other(e)))?;
        line.push(b'\n');
        self.file.write_all(&line).map_err(io)?;
        self.file.sync_data().map_err(io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(index: u32) -> RotationRecord {
        RotationRecord {
            rotation_schema_version: ROTATION_SCHEMA_VERSION,
            run_id: "r".into(),
            scenario: "ssm-ttl".into(),
            version_index: index,
            store: Store::Parameter,
            operation: Store::Parameter.operation().into(),
            planned_offset_ms: 2000,
            requested_unix_ms: 1_000,
            confirmed_unix_ms: Some(1_004),
            service_version: Some("2".into()),
            error: None,
        }
    }

    #[test]
    fn appends_and_reads_back_and_names_a_bad_line() {
        let dir = std::env::temp_dir().join(format!("rot-{:08x}", rand_suffix()));
        std::fs::create_dir_all(&dir).expect("dir");
        assert!(read(&dir).expect("absent is empty").is_empty());
        let mut log = RotationLog::open(&dir).expect("open");
        log.append(&record(1)).expect("append");
        log.append(&record(2)).expect("append");
        assert_eq!(read(&dir).expect("read"), vec![record(1), record(2)]);
        // A line cut off mid-write is left out; a bad whole line is named.
        std::fs::OpenOptions::new()
            .append(true)
            .open(dir.join(ROTATIONS_FILE))
            .and_then(|mut f| f.write_all(b"{\"rotation_schema"))
            .expect("cut");
        assert_eq!(read(&dir).expect("read").len(), 2);
        std::fs::OpenOptions::new()
            .append(true)
            .open(dir.join(ROTATIONS_FILE))
            .and_then(|mut f| f.write_all(b"\n{\"scenario\":1}\n"))
            .expect("bad");
        let e = read(&dir).expect_err("bad line").to_string();
        assert!(
            e.contains("rotations.jsonl:3") || e.contains("rotations.jsonl:4"),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn a_resumed_log_after_a_cut_off_line_starts_a_line_of_its_own_and_reads() {
        let dir = std::env::temp_dir().join(format!("rot-cut-{:08x}", rand_suffix()));
        std::fs::create_dir_all(&dir).expect("dir");
        let mut log = RotationLog::open(&dir).expect("open");
        log.append(&record(1)).expect("append");
        drop(log);
        // Killed mid-write.
        std::fs::OpenOptions::new()
            .append(true)
            .open(dir.join(ROTATIONS_FILE))
            .and_then(|mut f| f.write_all(b"{\"rotation_schema"))
            .expect("cut");
        // Resumed: the next rotation is appended.
        let mut log = RotationLog::open(&dir).expect("reopen");
        log.append(&record(2)).expect("append");
        assert_eq!(read(&dir).expect("readable"), vec![record(1), record(2)]);
        // What was written stays: the cut-off bytes are still there.
        let text = std::fs::read_to_string(dir.join(ROTATIONS_FILE)).expect("text");
        assert!(text.contains("{\"rotation_schema\n"), "{text}");
        std::fs::remove_dir_all(&dir).ok();
    }

    fn rand_suffix() -> u32 {
        std::process::id()
            ^ (std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos()))
    }

    #[test]
    fn every_source_has_a_store() {
        assert_eq!(Store::of(Source::AgentSsm), Store::Parameter);
        assert_eq!(Store::of(Source::KmsEnv), Store::FunctionConfiguration);
        assert_eq!(Store::of(Source::AgentSecretsManager), Store::Secret);
    }
}
