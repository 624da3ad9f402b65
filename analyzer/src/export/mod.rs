//! Exports of the summary: one file per format, each a pure function from the summary to
//! text. `write` is the one place that decides between a file and standard output.

pub mod cost_csv;
pub mod cost_table;
pub mod csv;
pub mod json;
pub mod markdown;
pub mod note;
pub mod table;

use crate::summary::Summary;
use std::path::Path;

/// The formats of `secbench analyze --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Format {
    /// Aligned text for a terminal.
    Table,
    /// The JSON summary (schema: analyzer/schema/summary.schema.json).
    Json,
    /// One row per group × metric.
    Csv,
    /// A GitHub-flavoured Markdown table.
    Md,
}

/// Renders `summary` in `format`.
pub fn render(summary: &Summary, format: Format) -> String {
    match format {
        Format::Table => table::render(summary),
        Format::Json => json::render(summary),
        Format::Csv => csv::render(summary),
        Format::Md => markdown::render(summary),
    }
}

/// Writes `text` to `out`, or to standard output when there is none.
pub fn write(text: &str, out: Option<&Path>) -> std::io::Result<()> {
    match out {
        Some(path) => std::fs::write(path, text),
        None => {
            use std::io::Write;
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(text.as_bytes())?;
            stdout.flush()
        }
    }
}

pub use note::LOCAL_NOTE;

#[cfg(test)]
mod tests;
