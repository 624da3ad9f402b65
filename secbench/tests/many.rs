//! Many secrets per fetch on the local stage, as `secbench local` runs it: provisioning makes N
//! secrets, SecureStrings and bundles in moto, the runner points each scenario's probe at N of
//! them in its mode, every value is verified, the calls per fetch are what each mode promises,
//! and the report shows latency and cost against N. No value of the N appears anywhere.

mod common;

use common::*;
use secbench_record::run::RunStatus;
use secbench_record::{MultiMode, Outcome};
use std::process::Command;

const PLAN: &str = include_str!("fixtures/plans/many-plan.toml");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_stage_reads_n_secrets_in_each_mode_and_reports_against_n() {
    let out = tempfile::tempdir().expect("tempdir");
    let plan_path = out.path().join("plan.toml");
    std::fs::write(&plan_path, PLAN).expect("plan");
    let value = canary();
    let summary = run_local(&plan_path, out.path(), &value, None)
        .await
        .expect("the local stage runs");
    assert_eq!(summary.status, RunStatus::Complete, "{:?}", summary.message);
    assert_eq!(
        summary.accounting.ok,
        summary.accounting.sent,
        "{}",
        summary.accounting.line()
    );

    let records = records(&summary.dir);
    // (scenario, mode, N, API calls per warm fetch)
    let expected: &[(&str, MultiMode, u32, u32)] = &[
        ("ssm-batch-n1", MultiMode::Batch, 1, 1),
        ("ssm-batch-n12", MultiMode::Batch, 12, 2),
        ("sm-bundle", MultiMode::Bundle, 3, 1),
        ("sm-concurrent", MultiMode::Concurrent, 3, 3),
        ("agent-sequential", MultiMode::Sequential, 3, 0),
    ];
    for &(scenario, mode, n, calls) in expected {
        let mine: Vec<_> = records.iter().filter(|r| r.scenario == scenario).collect();
        assert!(!mine.is_empty(), "{scenario}");
        for r in mine {
            let p = r.probe.as_ref().expect("probe record");
            assert_eq!((p.multi, p.secrets), (Some(mode), Some(n)), "{scenario}");
            for f in &p.fetches {
                assert_eq!(f.values.len() as u32, n, "{scenario}");
                assert!(
                    f.values.iter().all(|v| v.verified == Some(true)),
                    "{scenario}: {f:?}"
                );
                assert_ne!(f.outcome, Outcome::Partial, "{scenario}");
                let made: u32 = f.api_calls.iter().map(|c| c.count).sum();
                assert_eq!(made, calls, "{scenario}: {:?}", f.api_calls);
            }
        }
    }
    // The single-secret scenario after a bundle reads its own secret again.
    for r in records.iter().filter(|r| r.scenario == "one-after") {
        let p = r.probe.as_ref().expect("probe record");
        assert_eq!(p.multi, None);
        assert!(p.fetches.iter().all(|f| f.verified == Some(true)));
    }

    let report_dir = out.path().join("report");
    let o = Command::new(env!("CARGO_BIN_EXE_secbench"))
        .args([
            "report",
            summary.dir.to_str().expect("utf-8"),
            "--workload",
            root()
                .join("scripts/workloads/example.toml")
                .to_str()
                .expect("utf-8"),
            "--out",
            report_dir.to_str().expect("utf-8"),
        ])
        .current_dir(root())
        .output()
        .expect("secbench report");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let md = std::fs::read_to_string(report_dir.join("report.md")).expect("report.md");
    assert!(
        md.contains("## Many secrets per fetch: all values ready"),
        "{md}"
    );
    assert!(md.contains("| ssm | batch | 12 |"), "{md}");
    assert!(md.contains("## Many secrets per fetch: monthly cost per mode at the workload"));
    assert!(report_dir.join("plots/many-secrets.svg").is_file());
    assert_no_canary_in(out.path(), &value);
    for i in 0..12 {
        assert_no_canary_in(out.path(), &format!("{value}-m{i}"));
    }
}
