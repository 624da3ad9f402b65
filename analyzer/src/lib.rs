//! The `secbench` operator CLI as a library: `run` executes one parsed command line.
#![warn(missing_docs)]

pub mod cli;
pub mod validate;

use anyhow::Result;
use cli::{Cli, Command};

/// Runs one command and returns the process exit code.
pub fn run(cli: Cli) -> Result<i32> {
    match cli.command {
        Command::Validate { files } => {
            let mut failed = false;
            for file in &files {
                let summary = validate::validate_file(file)?;
                println!("{}: {} records valid", file.display(), summary.records);
                for problem in &summary.problems {
                    eprintln!("{problem}");
                }
                failed |= !summary.problems.is_empty();
            }
            Ok(i32::from(failed))
        }
    }
}
