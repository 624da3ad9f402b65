//! The AWS path of the runner against moto's Lambda (no Docker): `UpdateFunctionConfiguration`,
//! the wait on `LastUpdateStatus`, `GetFunctionConfiguration`, Invoke and the accounting. moto
//! runs no code and returns no log tail, so every invocation comes back as a function error
//! (not a probe record) with no REPORT: the runner must say so and count each one. The invoke
//! path with real REPORT lines is covered by the local platform tests.

mod common;

use common::*;
use secbench::run::{self, control, Cancel};
use secbench_record::run::{InvocationOutcome, RunStatus};
use std::time::Duration;

/// Creates an IAM role and a function in moto with boto3 (moto's own client library).
fn create_function(endpoint: &str, name: &str) {
    let status = std::process::Command::new(root().join(".venv/bin/python"))
        .arg(root().join("secbench/tests/fixtures/moto_create_function.py"))
        .args([endpoint, "eu-central-1", name])
        .status()
        .expect("python");
    assert!(status.success(), "creating the function in moto failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_plane_and_accounting_against_moto_lambda() {
    let moto = secbench::local_stage::start_moto(&root()).expect("moto");
    create_function(&moto.endpoint, "secbench-probe-dev");
    let client = moto_lambda(&moto.endpoint).await;
    let out = tempfile::tempdir().expect("tempdir");
    let plan = plan(
        out.path(),
        include_str!(
            "fixtures/plans/aws_path-control-plane-and-accounting-against-moto-lambda.toml"
        ),
    );
    let target = dev_target("secbench-probe-dev");
    let summary = run::run(
        client.clone(),
        &plan,
        &target,
        out.path(),
        None,
        Cancel::default(),
    )
    .await
    .expect("run");

    // The scenario's configuration reached the function; the deploy-time variable was kept.
    let c = client
        .get_function_configuration()
        .function_name("secbench-probe-dev")
        .send()
        .await
        .expect("get");
    let vars = c.environment.and_then(|e| e.variables).expect("variables");
    assert_eq!(
        vars.get("SECBENCH_SOURCE").map(String::as_str),
        Some("secrets-manager")
    );
    assert_eq!(
        vars.get("SECBENCH_CACHE_TTL").map(String::as_str),
        Some("5m")
    );
    assert_eq!(
        vars.get("SECBENCH_SECRET_ID").map(String::as_str),
        Some("kept-from-deploy")
    );
    assert!(vars
        .get("SECBENCH_CONFIG_ROUND")
        .is_some_and(|r| r.ends_with("-warm") || r.contains("sm-ttl")));
    assert_eq!(c.memory_size, Some(256));

    // moto echoes the payload: not a probe record, and no log tail. Counted, not dropped.
    assert_eq!(summary.accounting.sent, 8);
    assert_eq!(
        summary.accounting.function_error,
        8,
        "{}",
        summary.accounting.line()
    );
    assert!(summary.accounting.balanced());
    assert_eq!(summary.status, RunStatus::Complete);
    for r in records(&summary.dir) {
        assert_eq!(
            (r.outcome, r.error_type.as_deref()),
            (
                InvocationOutcome::FunctionError,
                Some("secbench.InvalidProbeRecord")
            )
        );
        assert_eq!(r.platform, None);
        assert_eq!(r.status_code, Some(200));
    }
    let m = manifest(&summary.dir);
    assert!(!m.local_emulator);
    assert_eq!(m.function_configuration["runtime"], "provided.al2023");
    let names = m.function_configuration["environment_variable_names"]
        .as_array()
        .expect("names");
    assert!(names.iter().any(|n| n == "SECBENCH_SECRET_ID"));
    assert!(
        !m.function_configuration
            .to_string()
            .contains("kept-from-deploy"),
        "environment values must not reach the manifest"
    );
}

#[tokio::test]
async fn an_unknown_function_fails_the_run_with_the_lambda_error() {
    let moto = secbench::local_stage::start_moto(&root()).expect("moto");
    let client = moto_lambda(&moto.endpoint).await;
    let s = common::plan(
        tempfile::tempdir().expect("tmp").path(),
        "[[scenario]]\nname = \"a\"\nsource = \"ssm\"\n",
    )
    .scenarios[0]
        .clone();
    let err = control::apply(
        &client,
        "no-such-function",
        &s,
        "t",
        None,
        Duration::from_millis(10),
        &Default::default(),
    )
    .await
    .expect_err("refused");
    assert!(
        err.to_string().contains("ResourceNotFoundException"),
        "{err}"
    );
}

#[tokio::test]
async fn a_run_against_a_missing_function_leaves_no_run_directory() {
    let moto = secbench::local_stage::start_moto(&root()).expect("moto");
    let client = moto_lambda(&moto.endpoint).await;
    let out = tempfile::tempdir().expect("tmp");
    let plan = common::plan(out.path(), "[[scenario]]\nname = \"a\"\nsource = \"ssm\"\n");
    let target = dev_target("no-such-function");
    let err = run::run(client, &plan, &target, out.path(), None, Cancel::default())
        .await
        .expect_err("refused");
    assert!(
        err.to_string().contains("no-such-function")
            && err.to_string().contains("ResourceNotFoundException"),
        "{err}"
    );
    assert!(
        !out.path().join("dev").exists(),
        "an empty run directory was left behind"
    );
}
