//! The `secbench` binary itself: `run` against a Lambda endpoint (the local platform), a real
//! SIGINT mid-run (a partial run, exit status 1), then `run --resume` (complete, every planned
//! invocation exactly once); and bad plans refused with the file and field named.

mod common;

use common::*;
use secbench::local_stage::{FUNCTION, REGION};
use secbench_record::run::RunStatus;
use std::collections::HashSet;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn secbench() -> Command {
    Command::new(env!("CARGO_BIN_EXE_secbench"))
}

fn run_dirs(out: &std::path::Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(out.join("local"))
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_leaves_a_partial_run_that_resume_completes() {
    let b = backend().await;
    let platform = common::platform(&b, 2, Duration::from_secs(30)).await;
    let out = tempfile::tempdir().expect("tempdir");
    let plan_path = out.path().join("plan.toml");
    std::fs::write(
        &plan_path,
        "[defaults]\ncold_starts = 2\nwarm_invocations = 600\nconcurrency = 2\nrate = \"300/s\"\n\
         [[scenario]]\nname = \"a\"\nsource = \"plain-env\"\n[[scenario]]\nname = \"b\"\nsource = \"kms-env\"\ncache = \"ttl\"\ncache_ttl = \"1m\"\n",
    )
    .expect("plan");
    let planned = 2 * 602;
    let args = |extra: &[&str]| {
        let mut c = secbench();
        c.args([
            "run",
            "--stage",
            "local",
            "--function",
            FUNCTION,
            "--region",
            REGION,
            "--endpoint-url",
            &platform.endpoint,
        ])
        .arg("--out-dir")
        .arg(out.path())
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        c
    };
    let child = args(&["--plan", plan_path.to_str().expect("utf-8")])
        .spawn()
        .expect("secbench run");
    let pid = child.id();
    // Interrupt once records have been checkpointed to the file.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let lines: usize = run_dirs(out.path())
            .iter()
            .filter_map(|d| std::fs::read_to_string(d.join("records.jsonl")).ok())
            .map(|t| t.lines().count())
            .sum();
        if lines > 0 {
            break;
        }
        assert!(Instant::now() < deadline, "no records were written");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let status = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let output = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .expect("join")
        .expect("wait");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(1),
        "a partial run exits 1: {stdout}"
    );
    assert!(
        stdout.contains("run partial") && stdout.contains("accounting: sent"),
        "{stdout}"
    );
    let dirs = run_dirs(out.path());
    assert_eq!(dirs.len(), 1);
    let dir = &dirs[0];
    assert_eq!(manifest(dir).status, RunStatus::Partial);
    let first = records(dir).len();
    assert!(first > 0 && first < planned, "{first} of {planned}");

    let interrupted = format!("{stdout}{}", String::from_utf8_lossy(&output.stderr));
    let output = args(&["--resume", dir.to_str().expect("utf-8")])
        .output()
        .expect("resume");
    let stdout = String::from_utf8_lossy(&output.stdout);
    // Nothing the runner printed, interrupted or resumed, holds the value.
    {
        use base64::Engine as _;
        let resumed = format!("{stdout}{}", String::from_utf8_lossy(&output.stderr));
        for form in [
            b.canary.clone(),
            base64::engine::general_purpose::STANDARD.encode(&b.canary),
            hex::encode(&b.canary),
        ] {
            assert!(
                !interrupted.contains(&form) && !resumed.contains(&form),
                "the canary leaked into the runner's output"
            );
        }
    }
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("run complete"), "{stdout}");
    let all = records(dir);
    let keys: HashSet<_> = all
        .iter()
        .map(|r| (r.scenario.clone(), r.phase, r.index))
        .collect();
    assert_eq!(
        (all.len(), keys.len()),
        (planned, planned),
        "every planned invocation exactly once"
    );
    let m = manifest(dir);
    assert_eq!(
        (m.status, m.accounting.sent),
        (RunStatus::Complete, planned as u64)
    );
    eprintln!(
        "SIGINT after {first} records; resumed to {}",
        m.accounting.line()
    );
    platform.shutdown().await;
    assert_no_canary_in(out.path(), &b.canary);
}

#[test]
fn a_bad_plan_is_refused_naming_file_and_field() {
    let dir = root().join("record/tests/fixtures/plans");
    let output = secbench()
        .args([
            "run",
            "--stage",
            "dev",
            "--function",
            "f",
            "--region",
            "eu-central-1",
            "--plan",
        ])
        .arg(dir.join("bad-rate.toml"))
        .output()
        .expect("secbench");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("bad-rate.toml") && stderr.contains("rate"),
        "{stderr}"
    );
}
