//! `secbench cost`: the cost pipeline rendered as a table, JSON or CSV, or a sweep.

use crate::cli::{CostArgs, CostFormat};
use anyhow::{Context, Result};
use secbench_analyzer::cost::pipeline::{self, LatencyInput};
use secbench_analyzer::export::{cost_csv as csv, cost_table as table};
use secbench_analyzer::{stats, summary};

/// Runs `secbench cost`: the text to standard output or `--out`.
pub fn run(args: CostArgs) -> Result<i32> {
    let text = render(&args)?;
    super::support::write_output(&text, args.out.as_deref())?;
    Ok(0)
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
    let slo =
        super::support::with_staleness(args.slo.clone().unwrap_or_default(), args.max_staleness);
    let r = priced.report(&slo);
    Ok(match args.format {
        CostFormat::Table => table::render(&r),
        CostFormat::Json => serde_json::to_string_pretty(&r).context("serializing")? + "\n",
        CostFormat::Csv => csv::render(&r),
    })
}
