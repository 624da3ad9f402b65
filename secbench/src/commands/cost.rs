//! `secbench cost`: the cost pipeline rendered as a table, JSON or CSV, or a sweep.

use crate::cli::CostFormat;
use anyhow::{Context, Result};
use secbench_analyzer::cost::pipeline::{self, LatencyInput};
use secbench_analyzer::cost::recommend::Slo;
use secbench_analyzer::cost::sweep::SweepSpec;
use secbench_analyzer::export::{cost_csv as csv, cost_table as table};
use secbench_analyzer::{stats, summary};
use std::path::PathBuf;

/// What `secbench cost` was asked.
#[derive(Debug, Clone)]
pub struct CostArgs {
    /// The workload file.
    pub workload: PathBuf,
    /// Runs to take latencies from.
    pub latency: Vec<PathBuf>,
    /// A pricing table replacing the shipped one.
    pub pricing: Option<PathBuf>,
    /// Output format.
    pub format: CostFormat,
    /// The sweep, if asked.
    pub sweep: Option<SweepSpec>,
    /// Samples per decade.
    pub steps_per_decade: u32,
    /// The latency objective.
    pub slo: Slo,
    /// Skip invalid record lines.
    pub skip_invalid: bool,
}

/// Runs `secbench cost` and returns its output text.
pub fn render(args: &CostArgs) -> Result<String> {
    let ingested;
    let summary;
    let latency = if args.latency.is_empty() {
        LatencyInput::Workload
    } else {
        ingested = super::support::read_runs(&args.latency, args.skip_invalid)?;
        summary = summary::build(&ingested, stats::DEFAULT_SEED);
        LatencyInput::Runs {
            ingested: &ingested,
            summary: &summary,
        }
    };
    let priced = pipeline::prepare(&args.workload, args.pricing.as_deref(), latency)?;
    if let Some(spec) = &args.sweep {
        let s = priced.sweep(spec, args.steps_per_decade)?;
        return Ok(match args.format {
            CostFormat::Table => table::render_sweep(&s),
            CostFormat::Json => serde_json::to_string_pretty(&s).context("serializing")? + "\n",
            CostFormat::Csv => csv::render_sweep(&s),
        });
    }
    let r = priced.report(&args.slo);
    Ok(match args.format {
        CostFormat::Table => table::render(&r),
        CostFormat::Json => serde_json::to_string_pretty(&r).context("serializing")? + "\n",
        CostFormat::Csv => csv::render(&r),
    })
}
