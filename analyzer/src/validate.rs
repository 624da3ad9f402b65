//! Reads record files line by line and checks each line against the record schema, naming
//! the file and line of every problem. Reads only; never writes into a run directory.

use secbench_record::ProbeRecord;
use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

/// Why a record file could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum ValidateError {
    /// The file could not be opened or read: check the path and permissions.
    #[error("cannot read {path}: {source}")]
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
    let mut reader = BufReader::new(File::open(path).map_err(io)?);
    let mut summary = Summary::default();
    let mut buf = Vec::new();
    let mut line_no = 0u64;
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf).map_err(io)? == 0 {
            break;
        }
        line_no += 1;
        let truncated = buf.last() != Some(&b'\n');
        let text = match std::str::from_utf8(&buf) {
            Ok(t) => t.trim_end(),
            Err(e) => {
                summary.problems.push(Problem {
                    path: path.to_owned(),
                    line: line_no,
                    message: format!("not UTF-8: {e}"),
                    truncated,
                });
                continue;
            }
        };
        if text.is_empty() {
            continue;
        }
        match ProbeRecord::from_json(text) {
            Ok(_) => summary.records += 1,
            Err(e) => summary.problems.push(Problem {
                path: path.to_owned(),
                line: line_no,
                message: e.to_string(),
                truncated,
            }),
        }
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const GOOD: &str = include_str!("../../record/tests/fixtures/cold-ssm-ttl.json");

    #[test]
    fn names_file_line_and_field_and_flags_a_truncated_tail() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("records.jsonl");
        let mut f = File::create(&path).expect("create");
        writeln!(f, "{}", GOOD.trim()).expect("write");
        writeln!(
            f,
            "{}",
            GOOD.trim().replace("\"cold\":true", "\"cold\":\"yes\"")
        )
        .expect("write");
        write!(f, "{}", &GOOD.trim()[..40]).expect("write");
        drop(f);
        let summary = validate_file(&path).expect("readable");
        assert_eq!(summary.records, 1);
        assert_eq!(summary.problems.len(), 2);
        assert_eq!(summary.problems[0].line, 2);
        assert!(
            summary.problems[0].message.contains("boolean"),
            "{}",
            summary.problems[0]
        );
        assert!(!summary.problems[0].truncated);
        assert_eq!(summary.problems[1].line, 3);
        assert!(summary.problems[1].truncated);
        assert!(summary.problems[0]
            .to_string()
            .starts_with(&format!("{}:2:", path.display())));
    }
}
