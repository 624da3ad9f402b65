//! A run directory `reports/<stage>/<run-id>/`: `manifest.json` (rewritten atomically as the
//! run goes) and `records.jsonl` (append-only: opened for append, never truncated or
//! rewritten; flushed at checkpoints). `--resume` reads which invocations are already there.

use secbench_record::run::{Accounting, InvocationRecord, Manifest, Phase};
use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Problems with a run directory.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// A file could not be read or written: check the path, permissions and free space.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The manifest is not one secbench wrote: check the directory given to `--resume`.
    #[error("{path}: not a secbench manifest: {message}")]
    BadManifest {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> OutputError + '_ {
    move |source| OutputError::Io {
        path: path.to_owned(),
        source,
    }
}

/// What an existing run already holds.
#[derive(Debug, Default)]
pub struct Existing {
    /// (scenario, phase, index) of every recorded invocation.
    pub done: HashSet<(String, Phase, u64)>,
    /// Accounting of the recorded invocations.
    pub accounting: Accounting,
    /// Lines that are not records (e.g. a last line cut off mid-write), by line number.
    pub unreadable_lines: Vec<u64>,
}

/// An open run directory.
#[derive(Debug)]
pub struct RunDir {
    /// The directory.
    pub path: PathBuf,
    records: BufWriter<File>,
    records_path: PathBuf,
}

impl RunDir {
    /// Creates `<out>/<stage>/<run_id>/`.
    pub fn create(out: &Path, stage: &str, run_id: &str) -> Result<RunDir, OutputError> {
        let path = out.join(stage).join(run_id);
        std::fs::create_dir_all(&path).map_err(io(&path))?;
        RunDir::open(path)
    }

    /// Opens an existing run directory for appending.
    pub fn open(path: PathBuf) -> Result<RunDir, OutputError> {
        let records_path = path.join("records.jsonl");
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(&records_path)
            .map_err(io(&records_path))?;
        // A run cut off mid-line leaves no newline at the end: start the next record on its own line.
        let len = file.metadata().map_err(io(&records_path))?.len();
        if len > 0 {
            let mut last = [0u8; 1];
            file.seek(SeekFrom::Start(len - 1))
                .map_err(io(&records_path))?;
            file.read_exact(&mut last).map_err(io(&records_path))?;
            if last[0] != b'\n' {
                file.write_all(b"\n").map_err(io(&records_path))?;
            }
        }
        Ok(RunDir {
            path,
            records: BufWriter::new(file),
            records_path,
        })
    }

    /// Reads the manifest.
    pub fn read_manifest(path: &Path) -> Result<Manifest, OutputError> {
        let file = path.join("manifest.json");
        let text = std::fs::read_to_string(&file).map_err(io(&file))?;
        serde_json::from_str(&text).map_err(|e| OutputError::BadManifest {
            path: file,
            message: e.to_string(),
        })
    }

    /// Writes the manifest atomically (temp file + rename).
    pub fn write_manifest(&self, manifest: &Manifest) -> Result<(), OutputError> {
        let file = self.path.join("manifest.json");
        let tmp = self.path.join(".manifest.json.tmp");
        let text =
            serde_json::to_string_pretty(manifest).map_err(|e| OutputError::BadManifest {
                path: file.clone(),
                message: e.to_string(),
            })?;
        std::fs::write(&tmp, text + "\n").map_err(io(&tmp))?;
        std::fs::rename(&tmp, &file).map_err(io(&file))
    }

    /// Appends one record (buffered).
    pub fn append(&mut self, record: &InvocationRecord) -> Result<(), OutputError> {
        let line = serde_json::to_string(record).map_err(|e| OutputError::BadManifest {
            path: self.records_path.clone(),
            message: e.to_string(),
        })?;
        self.records
            .write_all(line.as_bytes())
            .map_err(io(&self.records_path))?;
        self.records
            .write_all(b"\n")
            .map_err(io(&self.records_path))
    }

    /// Flushes buffered records to the file (a checkpoint).
    pub fn checkpoint(&mut self) -> Result<(), OutputError> {
        self.records.flush().map_err(io(&self.records_path))
    }

    /// Flushes and syncs to disk.
    pub fn sync(&mut self) -> Result<(), OutputError> {
        self.checkpoint()?;
        self.records
            .get_ref()
            .sync_all()
            .map_err(io(&self.records_path))
    }

    /// Reads what `records.jsonl` already holds.
    pub fn existing(path: &Path) -> Result<Existing, OutputError> {
        let file = path.join("records.jsonl");
        let mut existing = Existing::default();
        let f = match File::open(&file) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(existing),
            Err(e) => {
                return Err(OutputError::Io {
                    path: file,
                    source: e,
                })
            }
        };
        for (n, line) in BufReader::new(f).split(b'\n').enumerate() {
            let line = line.map_err(io(&file))?;
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match serde_json::from_slice::<InvocationRecord>(&line) {
                Ok(r) => {
                    if existing.done.insert((r.scenario.clone(), r.phase, r.index)) {
                        existing.accounting.add(r.outcome);
                    }
                }
                Err(_) => existing.unreadable_lines.push(n as u64 + 1),
            }
        }
        Ok(existing)
    }
}
