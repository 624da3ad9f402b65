//! `secbench report`: reads the runs (and a base run), runs the cost pipeline at a workload,
//! and has the analyzer write the report.

use crate::cli::ReportArgs;
use anyhow::{Context, Result};
use secbench_analyzer::cost::pipeline::{self, LatencyInput};
use secbench_analyzer::cost::recommend::Slo;
use secbench_analyzer::report::{self, ReportFiles, ReportInputs};
use secbench_analyzer::{stats, summary};
use std::path::{Path, PathBuf};

/// Runs `secbench report`: the options resolved from the arguments, the report written, and
/// where it is.
pub fn run(args: ReportArgs) -> Result<i32> {
    let start = std::time::Instant::now();
    let files = write(&ReportOptions::from_args(args))?;
    println!(
        "report: {} ({} plots, {:.2} s)\nmarkdown: {}",
        files.html.display(),
        files.plots.len(),
        start.elapsed().as_secs_f64(),
        files.markdown.display()
    );
    Ok(0)
}

/// What to report on, resolved (the objective with `--max-staleness` in it, the output
/// directory chosen); `secbench local` makes one too.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// Run directories.
    pub runs: Vec<PathBuf>,
    /// A workload for the cost model and the recommendation.
    pub workload: Option<PathBuf>,
    /// A pricing table replacing the shipped one.
    pub pricing: Option<PathBuf>,
    /// The latency objective of the recommendation.
    pub slo: Slo,
    /// A base run to compare against.
    pub compare: Option<PathBuf>,
    /// Noise threshold of the comparison.
    pub noise_threshold: f64,
    /// Where to write.
    pub out: PathBuf,
    /// Skip invalid record lines.
    pub skip_invalid: bool,
}

impl ReportOptions {
    /// The options `secbench report` was given.
    pub fn from_args(args: ReportArgs) -> ReportOptions {
        ReportOptions {
            out: args
                .out
                .unwrap_or_else(|| secbench_analyzer::report::default_out(&args.runs[0])),
            slo: super::support::with_staleness(args.slo.unwrap_or_default(), args.max_staleness),
            runs: args.runs,
            workload: args.workload,
            pricing: args.pricing,
            compare: args.compare,
            noise_threshold: args.noise_threshold,
            skip_invalid: args.skip_invalid,
        }
    }
}

/// Writes the report; returns the files.
pub fn write(args: &ReportOptions) -> Result<ReportFiles> {
    let ingested = super::support::read_runs(&args.runs, args.skip_invalid)?;
    let cost = match &args.workload {
        Some(w) => {
            let summary = summary::build(&ingested, stats::DEFAULT_SEED);
            let latency = LatencyInput::Runs {
                ingested: &ingested,
                summary: &summary,
            };
            Some((
                pipeline::prepare(w, args.pricing.as_deref(), latency)?,
                args.slo.clone(),
            ))
        }
        None => None,
    };
    let base = match &args.compare {
        Some(b) => Some((
            super::support::read_runs(std::slice::from_ref(b), args.skip_invalid)?,
            short(b),
        )),
        None => None,
    };
    report::write(&ReportInputs {
        ingested,
        cost,
        base,
        noise_threshold: args.noise_threshold,
        out: args.out.clone(),
    })
    .with_context(|| format!("writing the report into {}", args.out.display()))
}

/// A run's short name in titles: its directory's name (the run id).
fn short(run: &Path) -> String {
    run.file_name().map_or_else(
        || run.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}
