//! The error classes the emulator can produce, each recorded (not thrown) with its class, the
//! attempts it took, and no secret in the record or the logs. Also: events and environments
//! the probe refuses, each with a message that names the field or variable.

mod common;

use common::*;
use secbench_record::{ErrorClass, Outcome};

#[tokio::test]
async fn missing_secret_and_parameter_are_not_found() {
    let p = provision(&moto()).await;
    for (source, var) in [
        ("secrets-manager", "SECBENCH_SECRET_ID"),
        ("ssm", "SECBENCH_PARAMETER_NAME"),
    ] {
        let mut env = probe_env(&p, source, "none", None, "handler");
        env.insert(var.into(), "/secbench/does-not-exist".into());
        let probe = TestProbe::init(&env).await;
        let record = probe.invoke(1).await;
        assert_schema_valid(&record);
        let f = &record.fetches[0];
        assert_eq!(
            (f.outcome, f.error_class),
            (Outcome::Error, Some(ErrorClass::NotFound)),
            "{source}"
        );
        assert_eq!((f.value_length_bytes, f.verified), (None, None));
        assert_eq!(f.sdk_attempts, 1, "{source}: not-found is not retried");
    }
}

#[tokio::test]
async fn wrong_encryption_context_is_invalid_ciphertext() {
    let p = provision(&moto()).await;
    let mut env = probe_env(&p, "kms-env", "none", None, "handler");
    env.insert("AWS_LAMBDA_FUNCTION_NAME".into(), "another-function".into());
    let probe = TestProbe::init(&env).await;
    let record = probe.invoke(1).await;
    assert_schema_valid(&record);
    assert_eq!(
        record.fetches[0].error_class,
        Some(ErrorClass::InvalidCiphertext)
    );
    assert_eq!(record.fetches[0].api_calls[0].operation, "Decrypt");
    assert_no_canary(
        &p.canary,
        &[
            ("record", &serde_json::to_string(&record).expect("json")),
            ("tracing", &tracing_text()),
        ],
    );
}

#[tokio::test]
async fn unreachable_endpoint_is_connect_after_the_sdk_retries() {
    let p = provision(&moto()).await;
    let closed = format!("http://127.0.0.1:{}", free_port());
    for source in ["kms-env", "ssm", "secrets-manager"] {
        let mut env = probe_env(&p, source, "none", None, "handler");
        env.insert("AWS_ENDPOINT_URL".into(), closed.clone());
        env.insert("AWS_MAX_ATTEMPTS".into(), "2".into());
        let probe = TestProbe::init(&env).await;
        let record = probe.invoke(1).await;
        assert_schema_valid(&record);
        let f = &record.fetches[0];
        assert_eq!(f.error_class, Some(ErrorClass::Connect), "{source}");
        assert_eq!(
            f.sdk_attempts, 2,
            "{source}: the standard retry config allows 2 attempts"
        );
        assert_eq!(record.sdk_retry.as_ref().map(|r| r.max_attempts), Some(2));
    }
}

#[tokio::test]
async fn a_failed_init_fetch_is_recorded_and_the_handler_fetches_again() {
    let p = provision(&moto()).await;
    let mut env = probe_env(&p, "secrets-manager", "none", None, "init");
    env.insert("SECBENCH_SECRET_ID".into(), "missing-at-init".into());
    let probe = TestProbe::init(&env).await;
    let record = probe.invoke(1).await;
    assert_eq!(record.fetches.len(), 2);
    assert_eq!(record.fetches[0].error_class, Some(ErrorClass::NotFound));
    assert_eq!(
        record.fetches[1].outcome,
        Outcome::Error,
        "nothing pinned, so the handler tries again"
    );
}

#[tokio::test]
async fn bad_events_are_refused_with_a_stable_error_type() {
    let p = provision(&moto()).await;
    let probe = TestProbe::init(&probe_env(&p, "plain-env", "none", None, "handler")).await;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bad-events");
    let expected = std::fs::read_to_string(dir.join("expected.tsv")).expect("expected.tsv");
    let mut checked = 0;
    for line in expected.lines().filter(|l| !l.trim().is_empty()) {
        let (file, field) = line.split_once('\t').expect("FILE<TAB>TEXT");
        let text = std::fs::read_to_string(dir.join(file)).expect("event file");
        let event: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        let err = probe.probe.handle(event, "req").await.expect_err(file);
        assert_eq!(err.error_type(), "InvalidEvent", "{file}");
        assert!(err.to_string().contains(field), "{file}: {err}");
        checked += 1;
    }
    let files = std::fs::read_dir(&dir)
        .expect("corpus")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "json"))
        })
        .count();
    assert_eq!(
        checked, files,
        "every event file has a line in expected.tsv"
    );
    // The refused invocations did not consume the cold start.
    assert!(probe.invoke(1).await.cold);
}

#[tokio::test]
async fn misconfigured_environments_fail_init_naming_the_variable() {
    let p = provision(&moto()).await;
    let cases = [
        ("SECBENCH_SOURCE", Some("vault"), "SECBENCH_SOURCE"),
        ("SECBENCH_CACHE", Some("forever"), "SECBENCH_CACHE"),
        (
            "SECBENCH_EXPECTED_SHA256",
            Some("xyz"),
            "SECBENCH_EXPECTED_SHA256",
        ),
        ("SECBENCH_PARAMETER_NAME", None, "SECBENCH_PARAMETER_NAME"),
    ];
    for (var, value, named) in cases {
        let mut env = probe_env(&p, "ssm", "none", None, "handler");
        match value {
            Some(v) => env.insert(var.into(), v.into()),
            None => env.remove(var),
        };
        let err = TestProbe::try_init(&env).await.err().expect("INIT refused");
        assert!(err.to_string().contains(named), "{err}");
        assert_eq!(err.error_type(), "InvalidConfiguration");
    }
    let env = probe_env(&p, "agent-secrets-manager", "none", None, "init");
    let err = TestProbe::try_init(&env).await.err().expect("refused");
    assert_eq!(err.error_type(), "UnsupportedCombination");
    let env = probe_env(&p, "kms-env", "aws-caching-library", None, "handler");
    assert!(TestProbe::try_init(&env)
        .await
        .err()
        .expect("refused")
        .to_string()
        .contains("Secrets Manager only"));
}
