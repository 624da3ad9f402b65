//! One file per command; `run` dispatches. What several commands share is in [`support`].

mod analyze;
mod compare;
mod cost;
mod local;
mod provision;
pub mod report;
mod run_plan;
pub mod support;
mod validate;

use crate::cli::{Cli, Command};
use anyhow::Result;
use support::{with_staleness, write_output};

/// Runs one command and returns the process exit code.
pub fn run(cli: Cli) -> Result<i32> {
    match cli.command {
        Command::Analyze {
            runs,
            format,
            out,
            histograms,
            skip_invalid,
            seed,
        } => analyze::run(
            &runs,
            format,
            out.as_deref(),
            histograms.as_deref(),
            skip_invalid,
            seed,
        ),
        Command::Compare {
            base,
            new,
            noise_threshold,
            fail_on_regression,
            json,
            skip_invalid,
            seed,
        } => compare::run(
            &base,
            &new,
            noise_threshold,
            fail_on_regression,
            json,
            skip_invalid,
            seed,
        ),
        Command::Cost {
            workload,
            latency,
            pricing,
            format,
            out,
            sweep,
            steps_per_decade,
            slo,
            max_staleness,
            skip_invalid,
        } => {
            let text = cost::render(&cost::CostArgs {
                workload,
                latency,
                pricing,
                format,
                sweep,
                steps_per_decade,
                slo: with_staleness(slo.unwrap_or_default(), max_staleness),
                skip_invalid,
            })?;
            write_output(&text, out.as_deref())?;
            Ok(0)
        }
        Command::Provision(args) => provision::run(args),
        Command::Report {
            runs,
            workload,
            pricing,
            slo,
            max_staleness,
            compare,
            noise_threshold,
            out,
            skip_invalid,
        } => {
            let out = out.unwrap_or_else(|| secbench_analyzer::report::default_out(&runs[0]));
            let start = std::time::Instant::now();
            let files = report::write(&report::ReportArgs {
                runs,
                workload,
                pricing,
                slo: with_staleness(slo.unwrap_or_default(), max_staleness),
                compare,
                noise_threshold,
                out,
                skip_invalid,
            })?;
            println!(
                "report: {} ({} plots, {:.2} s)\nmarkdown: {}",
                files.html.display(),
                files.plots.len(),
                start.elapsed().as_secs_f64(),
                files.markdown.display()
            );
            Ok(0)
        }
        Command::Validate { files } => validate::run(&files),
        Command::Local(args) => local::run(args),
        Command::Run(args) => run_plan::run(args),
    }
}
