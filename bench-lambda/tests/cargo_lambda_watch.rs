//! The probe under `cargo lambda watch --only-lambda-apis` (cargo-lambda from PyPI), the tool
//! Rust Lambda developers run locally: the probe must work there too.

mod common;

use common::*;
use std::process::{Command, Stdio};
use std::time::Duration;

#[tokio::test]
async fn the_probe_answers_under_cargo_lambda_watch() {
    let watch_bin = root().join(".venv/bin/cargo-lambda");
    assert!(
        watch_bin.exists(),
        "cargo-lambda is not installed: run scripts/install-moto.sh"
    );
    let port = free_port();
    let watch = Command::new(&watch_bin)
        .args([
            "lambda",
            "watch",
            "--only-lambda-apis",
            "-A",
            "127.0.0.1",
            "-P",
            &port.to_string(),
        ])
        .current_dir(root())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("cargo lambda watch");
    let _watch = Managed::from_child(watch);
    wait_until_listening(port, Duration::from_secs(30)).await;

    let canary = canary();
    let probe = Command::new(env!("CARGO_BIN_EXE_bench-lambda"))
        .env_clear()
        // What `cargo lambda watch --only-lambda-apis` tells a function to use.
        .env(
            "AWS_LAMBDA_RUNTIME_API",
            format!("http://127.0.0.1:{port}/.rt"),
        )
        .env("AWS_LAMBDA_FUNCTION_NAME", "_")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "4096")
        .env("SECBENCH_SOURCE", "plain-env")
        .env("SECBENCH_PLAINTEXT", &canary)
        .env("SECBENCH_EXPECTED_SHA256", sha256_hex(&canary))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("probe");
    let probe = Managed::from_child(probe);

    let url = format!("http://127.0.0.1:{port}/2015-03-31/functions/_/invocations");
    let mut records = Vec::new();
    for _ in 0..2 {
        let body = tokio::time::timeout(
            Duration::from_secs(20),
            http_post_json(&url, r#"{"run_id":"r","scenario":"watch","fetches":2}"#),
        )
        .await
        .expect("cargo lambda watch answered");
        let record = secbench_record::ProbeRecord::from_json(&body.1)
            .unwrap_or_else(|e| panic!("{e}: {}", body.1));
        assert_eq!(body.0, 200);
        assert_schema_valid(&record);
        records.push(record);
    }
    assert!(records[0].cold && !records[1].cold);
    assert!(records
        .iter()
        .flat_map(|r| &r.fetches)
        .all(|f| f.verified == Some(true)));

    // cargo lambda returns function errors as HTTP 500 (no X-Amz-Function-Error): the body says which.
    let (status, body) =
        http_post_json(&url, r#"{"run_id":"r","scenario":"watch","extra":1}"#).await;
    assert_eq!(status, 500, "{body}");
    assert!(
        body.contains("InvalidEvent") && body.contains("extra"),
        "{body}"
    );

    let output = probe.kill_and_output();
    assert_no_canary(
        &canary,
        &[
            ("records", &serde_json::to_string(&records).expect("json")),
            ("probe output", &output),
        ],
    );
}
