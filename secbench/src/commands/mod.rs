//! One file per command; `run` dispatches. What several commands share is in [`support`].

mod analyze;
mod compare;
mod cost;
mod in_aws;
mod local;
mod provision;
pub mod report;
mod run_plan;
pub mod support;
mod validate;

use crate::cli::{Cli, Command};
use anyhow::Result;

/// Runs one command and returns the process exit code.
pub fn run(cli: Cli) -> Result<i32> {
    match cli.command {
        Command::Analyze(args) => analyze::run(args),
        Command::Compare(args) => compare::run(args),
        Command::Cost(args) => cost::run(args),
        Command::Provision(args) => provision::run(args),
        Command::Report(args) => report::run(args),
        Command::Validate(args) => validate::run(args),
        Command::Local(args) => local::run(args),
        Command::Run(args) => run_plan::run(args),
        Command::Pull(args) => in_aws::run(args),
    }
}
