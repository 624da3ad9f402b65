//! Why a cost cannot be computed: a pricing table, workload or option that does not read.

use std::path::PathBuf;

/// Why a cost cannot be computed.
#[derive(Debug, thiserror::Error)]
pub enum CostError {
    /// The file could not be read: check the path.
    #[error("cannot read {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Not valid TOML, an unknown field or a wrong type; the message gives line and field.
    #[error("{}: {message}", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// A value is out of range: fix the named field.
    #[error("{}: {field}: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The field.
        field: String,
        /// What is wrong and the allowed range.
        message: String,
    },
    /// A command-line value (`--slo`, `--sweep`) is malformed: the message says the form.
    #[error("{option}: {message}")]
    Option {
        /// The option.
        option: &'static str,
        /// What is wrong.
        message: String,
    },
}
