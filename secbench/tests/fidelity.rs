//! The local stage as `secbench local` runs it, with Lambda's constraints: the real release
//! probe and agent in a cgroup per execution environment at 128 MB and 1,769 MB (a memory
//! sweep), frozen between invocations, reaching moto over TLS 1.3 through the front. Checked:
//! a cold fetch makes exactly one TLS handshake and warm fetches none, unless the connection
//! sat idle past the idle timeout (then each warm fetch makes one); every record carries the
//! environment's CPU counters; every output (the manifest, the analysis in each format, the
//! report) says what was emulated and what was not; no output holds the secret.

mod common;

use common::*;
use secbench_record::run::{Constraint, Phase, RunStatus};
use secbench_record::{CacheMode, Source};
use std::process::Command;

const PLAN: &str = include_str!("fixtures/plans/fidelity-plan.toml");

fn secbench(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_secbench"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("secbench runs");
    assert!(
        out.status.success(),
        "secbench {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_constrained_tls_run_counts_handshakes_and_says_what_was_emulated() {
    let out = tempfile::tempdir().expect("tempdir");
    let plan_path = out.path().join("plan.toml");
    std::fs::write(&plan_path, PLAN).expect("plan");
    let value = canary();
    let summary = run_local(&plan_path, out.path(), &value, None)
        .await
        .expect("the local stage runs");
    assert_eq!(summary.status, RunStatus::Complete, "{:?}", summary.message);
    assert!(summary.accounting.balanced());
    assert_eq!(summary.accounting.ok, summary.accounting.sent);

    let m = manifest(&summary.dir);
    let emulation = m
        .emulation
        .clone()
        .expect("the manifest says what was emulated");
    assert!(
        matches!(emulation.cpu_and_memory, Constraint::Cgroup(_)),
        "{emulation:?}"
    );
    assert!(emulation.tls && emulation.frozen_between_invocations);
    assert_eq!(emulation.rtt_ns, 1_000_000);
    assert_eq!(emulation.connection_setup_ns, 2_000_000);
    assert_eq!(emulation.idle_timeout_ns, Some(1_000_000_000));
    let statement = emulation.statement();
    for part in [
        "CPU share by memory size",
        "frozen between invocations",
        "TLS 1.3",
        "1.000 ms per request",
        "connections idle longer than 1s closed by the endpoint",
        "Not emulated: AWS's own service time",
        "Firecracker",
    ] {
        assert!(statement.contains(part), "{part}: {statement}");
    }

    // It names the agent that stood in for the extension, at its pinned version.
    let agent = format!(
        "the Parameters and Secrets extension by {} {}",
        secbench_local_lambda::agent::CRATE,
        secbench_local_lambda::agent::VERSION
    );
    assert!(statement.contains(&agent), "{statement}");

    let records = records(&summary.dir);
    assert_eq!(records.len() as u64, summary.accounting.sent);
    for r in &records {
        let u = r
            .environment_usage
            .as_ref()
            .unwrap_or_else(|| panic!("{}: no usage", r.scenario));
        let probe = r
            .probe
            .as_ref()
            .expect("ok records carry the probe's record");
        let memory = probe.memory_mb.expect("memory size");
        assert!(u.constrained, "{}", r.scenario);
        assert_eq!(
            u.cpu_share_millis,
            Some(if memory == 128 { 72 } else { 1000 }),
            "{}",
            r.scenario
        );
        assert!(u.cpu_ns.is_some() && u.throttled_ns.is_some());
        let handshakes = u.tls_handshakes.expect("TLS counts");
        match r.phase {
            Phase::Cold => {
                assert_eq!(
                    handshakes, 1,
                    "{} cold: one new connection, one handshake ({u:?})",
                    r.scenario
                );
                assert!(u.init_cpu_ns.is_some() && u.init_ns.is_some());
            }
            // A request every 2 s (at 1,769 MB the cold start takes tens of ms, so each gap is
            // nearly 2 s even on a busy host), an idle timeout of 1 s: the front closed the
            // connection,
            // and each warm fetch opens another (no cold round: the first request starts the
            // environment, and every later one comes after an idle gap).
            Phase::Warm if r.scenario == "kms-idle" => {
                assert_eq!(handshakes, 1, "{} warm, idle: {u:?}", r.scenario);
                assert_eq!(u.reused_connection_requests, Some(0), "{u:?}");
            }
            Phase::Warm => {
                assert_eq!(handshakes, 0, "{} warm: {u:?}", r.scenario);
                assert_eq!(
                    u.requests, u.reused_connection_requests,
                    "{}: every warm request reuses the connection",
                    r.scenario
                );
                // Without a cache, every warm invocation fetches over the kept connection.
                if probe.cache == CacheMode::None && probe.source == Source::KmsEnv {
                    assert!(u.requests.unwrap_or(0) >= 1, "{}: {u:?}", r.scenario);
                }
            }
        }
    }
    let at = |mb: u32| {
        records
            .iter()
            .filter(|r| r.scenario == format!("kms-{mb}mb"))
            .count()
    };
    assert_eq!((at(128), at(1769)), (14, 14), "the sweep ran both sizes");
    assert_eq!(
        manifest(&summary.dir)
            .idle_scenarios()
            .into_iter()
            .collect::<Vec<_>>(),
        ["kms-idle"]
    );

    // Every output says what was emulated.
    let dir = summary.dir.to_str().expect("utf-8");
    for format in ["table", "md", "json", "csv"] {
        let text = secbench(&["analyze", dir, "--format", format]);
        assert!(
            text.contains("CPU share by memory size") && text.contains("Not emulated"),
            "analyze --format {format} does not say what was emulated:\n{text}"
        );
    }
    let report_dir = out.path().join("report");
    secbench(&[
        "report",
        dir,
        "--out",
        report_dir.to_str().expect("utf-8"),
        "--workload",
        root()
            .join("scripts/workloads/example.toml")
            .to_str()
            .expect("utf-8"),
    ]);
    for file in ["report.md", "report.html"] {
        let text = std::fs::read_to_string(report_dir.join(file)).expect(file);
        assert!(
            text.contains("CPU share by memory size") && text.contains("Not emulated"),
            "{file} does not say what was emulated"
        );
        assert!(
            text.contains("TLS handshakes"),
            "{file}: no connection table"
        );
        assert!(
            text.contains("Against memory size"),
            "{file}: no figures against memory"
        );
    }
    // One row per approach and size in the memory table, and its chart.
    let md = std::fs::read_to_string(report_dir.join("report.md")).expect("report.md");
    for row in [
        "| kms-env | 128 |",
        "| kms-env | 1769 |",
        "| ssm+ttl | 1769 |",
    ] {
        assert!(md.contains(row), "report.md has no row {row}");
    }
    assert!(report_dir.join("plots/memory.svg").is_file());
    assert_no_canary_in(&summary.dir, &value);
    assert_no_canary_in(&report_dir, &value);
}
