//! The run directory `<out>/<stage>/<run-id>/`: its file names, `manifest.json` (one typed
//! reader; rewritten atomically as the run goes), `records.jsonl` (append-only: opened for
//! append, never truncated or rewritten; flushed at checkpoints) and the one reader of record
//! lines, with one policy for every reader: lines are numbered from 1, trailing white space is
//! not part of a line, blank lines are skipped, and a last line without its newline is a line
//! cut off mid-write (each reader says what it does with it).

use crate::run::{Accounting, InvocationRecord, Manifest, Phase};
use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// `manifest.json`.
pub const MANIFEST_FILE: &str = "manifest.json";
/// `records.jsonl`.
pub const RECORDS_FILE: &str = "records.jsonl";
/// `platform.log`: the local stage's log lines per execution environment.
pub const PLATFORM_LOG_FILE: &str = "platform.log";

/// Problems with a run directory.
#[derive(Debug, thiserror::Error)]
pub enum RunDirError {
    /// A file could not be read or written: check the path, permissions and free space.
    #[error("{}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A stage or run id that would put the run outside the output directory.
    #[error(transparent)]
    Name(#[from] crate::names::NameError),
    /// The manifest is not one secbench wrote: check the directory.
    #[error("{}: not a secbench manifest: {message}", path.display())]
    BadManifest {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> RunDirError + '_ {
    move |source| RunDirError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The directory and the records file of a run given either way (the directory, or its
/// `records.jsonl`).
pub fn locate(path: &Path) -> (PathBuf, PathBuf) {
    if path.is_dir() {
        (path.to_owned(), path.join(RECORDS_FILE))
    } else {
        (
            path.parent().map(Path::to_owned).unwrap_or_default(),
            path.to_owned(),
        )
    }
}

/// Reads a run's manifest. A manifest older than run format 5 has no resolved plan: its plan
/// as written is resolved here, once, when it still resolves.
pub fn read_manifest(dir: &Path) -> Result<Manifest, RunDirError> {
    let file = dir.join(MANIFEST_FILE);
    let text = std::fs::read_to_string(&file).map_err(io(&file))?;
    let mut manifest: Manifest =
        serde_json::from_str(&text).map_err(|e| RunDirError::BadManifest {
            path: file.clone(),
            message: e.to_string(),
        })?;
    if manifest.resolved_plan.is_none() {
        manifest.resolved_plan = manifest
            .plan_file()
            .ok()
            .and_then(|f| crate::plan::resolve::resolve(&file, &f).ok());
    }
    Ok(manifest)
}

/// Reads a run's manifest where there is one (a bare `records.jsonl` has none); a manifest
/// that is there but does not read is an error.
pub fn read_manifest_if_present(dir: &Path) -> Result<Option<Manifest>, RunDirError> {
    if dir.join(MANIFEST_FILE).is_file() {
        read_manifest(dir).map(Some)
    } else {
        Ok(None)
    }
}

/// One line of a records file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line<'a> {
    /// 1-based line number.
    pub number: u64,
    /// The line without its trailing white space.
    pub text: &'a [u8],
    /// False for a last line without its newline: a run cut off mid-write.
    pub terminated: bool,
}

/// The lines of `chunk` (as [`Chunks`] yields them), numbered from `first_line`, blank ones
/// skipped.
pub fn lines(chunk: &Chunk) -> impl Iterator<Item = Line<'_>> {
    let bytes = &chunk.bytes[..];
    let mut start = 0;
    memchr::memchr_iter(b'\n', bytes)
        .chain((!bytes.ends_with(b"\n")).then_some(bytes.len()))
        .enumerate()
        .filter_map(move |(n, end)| {
            let text = trim_end(&bytes[start..end]);
            start = end + 1;
            (!text.is_empty()).then_some(Line {
                number: chunk.first_line + n as u64,
                text,
                terminated: chunk.terminated,
            })
        })
}

/// `buf` without its trailing ASCII whitespace (a line as [`lines`] yields it).
pub fn trim_end(buf: &[u8]) -> &[u8] {
    let end = buf
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    &buf[..end]
}

/// Whole lines of a records file, read in chunks of about [`Chunks::CHUNK_BYTES`].
#[derive(Debug, Clone, Default)]
pub struct Chunk {
    /// The number of the chunk's first line.
    pub first_line: u64,
    /// Complete lines (each ending in a newline), or the unterminated last line.
    pub bytes: Vec<u8>,
    /// False for the last line of a file that does not end in a newline.
    pub terminated: bool,
}

/// Reads a records file as chunks of whole lines, reusing the buffers it is given back, so
/// memory does not grow with the file.
#[derive(Debug)]
pub struct Chunks<R> {
    reader: R,
    carry: Vec<u8>,
    line: u64,
    done: bool,
}

impl<R: Read> Chunks<R> {
    /// How much is read at a time.
    pub const CHUNK_BYTES: usize = 1 << 20;

    /// Starts at the first line.
    pub fn new(reader: R) -> Chunks<R> {
        Chunks {
            reader,
            carry: Vec::new(),
            line: 1,
            done: false,
        }
    }

    /// The next chunk, read into `buf` (cleared first); `None` at the end.
    pub fn next_into(&mut self, mut buf: Vec<u8>) -> std::io::Result<Option<Chunk>> {
        loop {
            if self.done {
                return Ok(None);
            }
            buf.clear();
            buf.extend_from_slice(&self.carry);
            self.carry.clear();
            let n = (&mut self.reader)
                .take(Self::CHUNK_BYTES as u64)
                .read_to_end(&mut buf)?;
            if n == 0 {
                self.done = true;
                if buf.is_empty() {
                    return Ok(None);
                }
                return Ok(Some(Chunk {
                    first_line: self.line,
                    bytes: buf,
                    terminated: false,
                }));
            }
            let Some(cut) = memchr::memrchr(b'\n', &buf) else {
                std::mem::swap(&mut self.carry, &mut buf);
                continue;
            };
            self.carry.extend_from_slice(&buf[cut + 1..]);
            buf.truncate(cut + 1);
            let first_line = self.line;
            self.line += memchr::memchr_iter(b'\n', &buf).count() as u64;
            return Ok(Some(Chunk {
                first_line,
                bytes: buf,
                terminated: true,
            }));
        }
    }

    /// Calls `f` on every line, in order.
    pub fn for_each_line(mut self, mut f: impl FnMut(Line<'_>)) -> std::io::Result<()> {
        let mut buf = Vec::new();
        while let Some(chunk) = self.next_into(buf)? {
            lines(&chunk).for_each(&mut f);
            buf = chunk.bytes;
        }
        Ok(())
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
    pub fn create(out: &Path, stage: &str, run_id: &str) -> Result<RunDir, RunDirError> {
        crate::names::check("stage", stage)?;
        crate::names::check("run id", run_id)?;
        let path = out.join(stage).join(run_id);
        std::fs::create_dir_all(&path).map_err(io(&path))?;
        RunDir::open(path)
    }

    /// Opens an existing run directory for appending.
    pub fn open(path: PathBuf) -> Result<RunDir, RunDirError> {
        let records_path = path.join(RECORDS_FILE);
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
    pub fn read_manifest(path: &Path) -> Result<Manifest, RunDirError> {
        read_manifest(path)
    }

    /// Writes the manifest atomically (temp file + rename).
    pub fn write_manifest(&self, manifest: &Manifest) -> Result<(), RunDirError> {
        let file = self.path.join(MANIFEST_FILE);
        let tmp = self.path.join(".manifest.json.tmp");
        let text =
            serde_json::to_string_pretty(manifest).map_err(|e| RunDirError::BadManifest {
                path: file.clone(),
                message: e.to_string(),
            })?;
        std::fs::write(&tmp, text + "\n").map_err(io(&tmp))?;
        std::fs::rename(&tmp, &file).map_err(io(&file))
    }

    /// Appends one record (buffered).
    pub fn append(&mut self, record: &InvocationRecord) -> Result<(), RunDirError> {
        let line = serde_json::to_string(record).map_err(|e| RunDirError::BadManifest {
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
    pub fn checkpoint(&mut self) -> Result<(), RunDirError> {
        self.records.flush().map_err(io(&self.records_path))
    }

    /// Flushes and syncs to disk.
    pub fn sync(&mut self) -> Result<(), RunDirError> {
        self.checkpoint()?;
        self.records
            .get_ref()
            .sync_all()
            .map_err(io(&self.records_path))
    }

    /// Reads what `records.jsonl` already holds.
    pub fn existing(path: &Path) -> Result<Existing, RunDirError> {
        let file = path.join(RECORDS_FILE);
        let mut existing = Existing::default();
        let f = match File::open(&file) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(existing),
            Err(e) => {
                return Err(RunDirError::Io {
                    path: file,
                    source: e,
                })
            }
        };
        Chunks::new(f)
            .for_each_line(
                |line| match serde_json::from_slice::<InvocationRecord>(line.text) {
                    Ok(r) => {
                        if existing.done.insert((r.scenario.clone(), r.phase, r.index)) {
                            existing.accounting.add(r.outcome);
                        }
                    }
                    Err(_) => existing.unreadable_lines.push(line.number),
                },
            )
            .map_err(io(&file))?;
        Ok(existing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(text: &[u8]) -> Vec<(u64, String, bool)> {
        let mut out = Vec::new();
        Chunks::new(text)
            .for_each_line(|l| {
                out.push((
                    l.number,
                    String::from_utf8_lossy(l.text).into_owned(),
                    l.terminated,
                ))
            })
            .expect("in memory");
        out
    }

    #[test]
    fn one_policy_for_blank_trailing_space_and_a_cut_off_last_line() {
        assert_eq!(
            all(b"a\n\n  \nb \r\nc"),
            vec![
                (1, "a".into(), true),
                (4, "b".into(), true),
                (5, "c".into(), false)
            ]
        );
        assert_eq!(all(b""), vec![]);
        assert_eq!(all(b"a\n"), vec![(1, "a".into(), true)]);
    }

    #[test]
    fn a_run_directory_stays_inside_the_output_directory() {
        let out = tempfile::tempdir().expect("tempdir");
        for stage in ["..", "../../x", "/tmp", "", "a/b", &"s".repeat(65)] {
            let e = RunDir::create(out.path(), stage, "r1").expect_err(stage);
            assert!(matches!(e, RunDirError::Name(_)), "{stage}: {e}");
        }
        assert!(RunDir::create(out.path(), "dev", "../r").is_err());
        let dir = RunDir::create(out.path(), "dev", "r1").expect("a good name");
        assert_eq!(dir.path, out.path().join("dev").join("r1"));
        assert_eq!(std::fs::read_dir(out.path()).expect("out").count(), 1);
    }

    #[test]
    fn lines_longer_than_a_chunk_stay_whole() {
        let long = "x".repeat(Chunks::<&[u8]>::CHUNK_BYTES + 10);
        let text = format!("{long}\nshort\n");
        let got = all(text.as_bytes());
        assert_eq!(got.len(), 2);
        assert_eq!((got[0].1.len(), got[1].0), (long.len(), 2));
    }
}
