//! `secbench analyze`: the summary of runs in a format, optionally with HdrHistogram logs.

use crate::cli::AnalyzeArgs;
use anyhow::Result;
use secbench_analyzer::{export, hdr, summary};

/// Runs `secbench analyze`.
pub fn run(args: AnalyzeArgs) -> Result<i32> {
    let ingested = super::support::read_runs(&args.runs, args.skip_invalid)?;
    let summary = summary::build(&ingested, args.seed);
    super::support::write_output(&export::render(&summary, args.format), args.out.as_deref())?;
    if let Some(dir) = &args.histograms {
        let files = hdr::write_all(&ingested, dir)?;
        eprintln!(
            "wrote {} HdrHistogram interval logs to {}",
            files.len(),
            dir.display()
        );
    }
    Ok(0)
}
