//! What several commands share: reading runs (and telling what was skipped), writing to a file
//! or standard output, the async runtime, Ctrl-C, the lines that close a run, and the objective
//! with `--max-staleness` in it.

use anyhow::{Context, Result};
use secbench_analyzer::ingest::{self, Ingested};
use secbench_record::run::RunStatus;
use std::path::{Path, PathBuf};

/// Reads runs, telling on standard error what was skipped or cut off.
pub fn read_runs(runs: &[PathBuf], skip_invalid: bool) -> Result<Ingested> {
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
pub fn write_output(text: &str, out: Option<&Path>) -> Result<()> {
    secbench_analyzer::export::write(text, out).with_context(|| {
        format!(
            "writing {}",
            out.map_or("standard output".into(), |p| p.display().to_string())
        )
    })
}

/// The multi-threaded async runtime the commands that talk to AWS or the local stage run on.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// Ctrl-C (SIGINT), SIGTERM and SIGHUP stop new invocations; the run then ends `partial` with
/// everything sent recorded, and the local stage thaws and removes its environments and stops
/// moto and the agent on its way out.
pub fn interrupt_on_ctrl_c() -> crate::run::Cancel {
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
pub fn print_run_end(summary: &crate::run::RunSummary, local: bool) -> i32 {
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
pub fn with_staleness(
    mut slo: secbench_analyzer::cost::recommend::Slo,
    max: Option<std::time::Duration>,
) -> secbench_analyzer::cost::recommend::Slo {
    slo.max_staleness_s = max.map(|d| d.as_secs_f64());
    slo
}
