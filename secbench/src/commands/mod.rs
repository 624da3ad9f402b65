//! One file per command; `run` dispatches. The helpers here are what several commands share:
//! reading runs (and telling what was skipped), the async runtime, Ctrl-C, and the lines that
//! close a run.

mod analyze;
mod compare;
mod cost;
mod local;
mod provision;
pub mod report;
mod run_plan;
mod validate;

use crate::cli::{Cli, Command};
use anyhow::{Context, Result};
use secbench_analyzer::ingest::{self, Ingested};
use secbench_record::run::RunStatus;
use std::path::{Path, PathBuf};

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

/// Reads runs, telling on standard error what was skipped or cut off.
pub(crate) fn read_runs(runs: &[PathBuf], skip_invalid: bool) -> Result<Ingested> {
    let ingested = ingest::read_runs(runs, skip_invalid)?;
    if ingested.input.skipped_lines > 0 {
        eprintln!(
            "skipped {} invalid line(s) (--skip-invalid)",
            ingested.input.skipped_lines
        );
    }
    for t in &ingested.input.truncated_lines {
        eprintln!("note: truncated last line (a run cut off mid-write), not counted: {t}");
    }
    Ok(ingested)
}

/// Writes `text` to `out`, or to standard output when there is none.
fn write_output(text: &str, out: Option<&Path>) -> Result<()> {
    secbench_analyzer::export::write(text, out).with_context(|| {
        format!(
            "writing {}",
            out.map_or("standard output".into(), |p| p.display().to_string())
        )
    })
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// Ctrl-C (SIGINT), SIGTERM and SIGHUP stop new invocations; the run then ends `partial` with
/// everything sent recorded, and the local stage thaws and removes its environments and stops
/// moto and the agent on its way out.
fn interrupt_on_ctrl_c() -> crate::run::Cancel {
    use tokio::signal::unix::{signal, SignalKind};
    let cancel = crate::run::Cancel::default();
    let c = cancel.clone();
    tokio::spawn(async move {
        let (Ok(mut term), Ok(mut hup)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
        ) else {
            // Without the handlers, Ctrl-C alone.
            if tokio::signal::ctrl_c().await.is_ok() {
                c.cancel();
            }
            return;
        };
        let name = tokio::select! {
            r = tokio::signal::ctrl_c() => if r.is_ok() { "interrupted" } else { return },
            _ = term.recv() => "SIGTERM",
            _ = hup.recv() => "SIGHUP",
        };
        eprintln!("\n{name}: finishing the invocations in flight, then writing a partial run");
        c.cancel();
    });
    cancel
}

/// Prints how a run ended; its exit code.
fn print_run_end(summary: &crate::run::RunSummary, local: bool) -> i32 {
    println!("run {}: {}", summary.status.as_str(), summary.dir.display());
    println!("accounting: {}", summary.accounting.line());
    if let Some(m) = &summary.message {
        println!("note: {m}");
    }
    let rate = summary
        .warm_invocations_per_second
        .map(|r| format!(", warm phases at {r:.0} invocations/s"))
        .unwrap_or_default();
    println!("wall time {:.1} s{rate}", summary.wall.as_secs_f64());
    if local {
        println!(
            "these are local emulator figures (moto + the local Lambda platform), not AWS figures"
        );
    }
    i32::from(summary.status != RunStatus::Complete)
}

/// The objective with `--max-staleness` in it.
fn with_staleness(
    mut slo: secbench_analyzer::cost::recommend::Slo,
    max: Option<std::time::Duration>,
) -> secbench_analyzer::cost::recommend::Slo {
    slo.max_staleness_s = max.map(|d| d.as_secs_f64());
    slo
}
