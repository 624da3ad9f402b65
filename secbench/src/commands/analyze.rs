//! `secbench analyze`: the summary of runs in a format, optionally with HdrHistogram logs.

use anyhow::Result;
use secbench_analyzer::{export, hdr, summary};
use std::path::{Path, PathBuf};

pub fn run(
    runs: &[PathBuf],
    format: export::Format,
    out: Option<&Path>,
    histograms: Option<&Path>,
    skip_invalid: bool,
    seed: u64,
) -> Result<i32> {
    let ingested = super::support::read_runs(runs, skip_invalid)?;
    let summary = summary::build(&ingested, seed);
    super::support::write_output(&export::render(&summary, format), out)?;
    if let Some(dir) = histograms {
        let files = hdr::write_all(&ingested, dir)?;
        eprintln!(
            "wrote {} HdrHistogram interval logs to {}",
            files.len(),
            dir.display()
        );
    }
    Ok(0)
}
