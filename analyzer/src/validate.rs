//! Reads run record files (`records.jsonl`) line by line and checks each whole line strictly
//! (every field, the embedded probe record included), naming the file, line and field of every
//! problem. `analyze` reads only the fields it needs; this reads them all. Never writes.

use secbench_record::run_dir::Chunks;
use std::fmt;
use std::fs::File;
use std::path::{Path, PathBuf};

/// Why a record file could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum ValidateError {
    /// The file could not be opened or read: check the path and permissions.
    #[error("cannot read {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// One bad line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file.
    pub path: PathBuf,
    /// 1-based line number.
    pub line: u64,
    /// What is wrong, naming the field where serde can.
    pub message: String,
    /// The line is the last one and has no newline: a run cut off mid-write.
    pub truncated: bool,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = if self.truncated {
            " (truncated last line)"
        } else {
            ""
        };
        write!(
            f,
            "{}:{}: {}{}",
            self.path.display(),
            self.line,
            self.message,
            what
        )
    }
}

/// What a file held.
#[derive(Debug, Default)]
pub struct Summary {
    /// Valid records.
    pub records: u64,
    /// Lines that are not valid records.
    pub problems: Vec<Problem>,
}

/// Checks every line of `path`.
pub fn validate_file(path: &Path) -> Result<Summary, ValidateError> {
    let io = |source| ValidateError::Io {
        path: path.to_owned(),
        source,
    };
    let mut summary = Summary::default();
    Chunks::new(File::open(path).map_err(io)?)
        .for_each_line(|line| {
            let problem = |message| Problem {
                path: path.to_owned(),
                line: line.number,
                message,
                truncated: !line.terminated,
            };
            match std::str::from_utf8(line.text) {
                Err(e) => summary.problems.push(problem(format!("not UTF-8: {e}"))),
                Ok(text) => match crate::ingest::parse(text.as_bytes()) {
                    Ok(_) => summary.records += 1,
                    Err(e) => summary.problems.push(problem(e.to_string())),
                },
            }
        })
        .map_err(io)?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const RUN: &str = include_str!("../tests/fixtures/runs/small/records.jsonl");

    #[test]
    fn names_file_line_and_field_and_flags_a_truncated_tail() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("records.jsonl");
        let good = RUN.lines().next().expect("a record");
        let mut f = File::create(&path).expect("create");
        writeln!(f, "{good}").expect("write");
        writeln!(
            f,
            "{}",
            good.replacen("\"cold\":true", "\"cold\":\"yes\"", 1)
        )
        .expect("write");
        write!(f, "{}", &good[..40]).expect("write");
        drop(f);
        let summary = validate_file(&path).expect("readable");
        assert_eq!(summary.records, 1);
        assert_eq!(summary.problems.len(), 2);
        assert_eq!(summary.problems[0].line, 2);
        let message = &summary.problems[0].message;
        assert!(
            message.contains("boolean") && message.contains("probe.cold"),
            "{message}"
        );
        assert!(!summary.problems[0].truncated);
        assert_eq!(summary.problems[1].line, 3);
        assert!(summary.problems[1].truncated);
        assert!(summary.problems[0]
            .to_string()
            .starts_with(&format!("{}:2:", path.display())));
    }
}
