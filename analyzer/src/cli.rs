//! Command-line interface of `secbench` (clap derive). Parsing only: `lib.rs` runs it.

use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// Measure and price the ways an AWS Lambda function can get its secrets.
#[derive(Debug, Parser)]
#[command(name = "secbench", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check record files (records.jsonl) against the record schema and count them.
    Validate {
        /// Record files, one JSON record per line.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}
