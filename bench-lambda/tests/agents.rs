//! The agent sources: `agent-secrets-manager` against the real agent (the AWS Workload
//! Credentials Provider, the Secrets Manager Agent's successor, which serves the Parameters and
//! Secrets extension's protocol) in front of moto, and `agent-ssm`
//! against a fixture server that follows AWS's documented protocol.

mod common;

use common::*;
use secbench_record::{ErrorClass, Outcome};
use secbench_test_support::MotoRecorder;

#[tokio::test]
async fn agent_secrets_manager_through_the_real_agent() {
    let p = provision(&moto()).await;
    let (_agent, port) = start_agent(&p.endpoint, 300).await;
    for cache in ["none", "ttl"] {
        let ttl = (cache == "ttl").then_some("5m");
        let mut env = probe_env(&p, "agent-secrets-manager", cache, ttl, "handler");
        env.insert(
            "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT".into(),
            port.to_string(),
        );
        let probe = TestProbe::init(&env).await;
        let cold = probe.invoke(2).await;
        let warm = probe.invoke(1).await;
        for r in [&cold, &warm] {
            assert_schema_valid(r);
            assert!(
                r.sdk_retry.is_none(),
                "no SDK in the probe for agent sources"
            );
            for f in &r.fetches {
                assert_eq!(f.verified, Some(true), "{cache}: {f:?}");
                assert!(f.api_calls.is_empty(), "the probe makes no AWS call itself");
            }
        }
        let init = cold.init.as_ref().expect("cold");
        assert_eq!(init.sdk_config_load_ns, 0);
        let outcomes: Vec<Outcome> = cold
            .fetches
            .iter()
            .chain(&warm.fetches)
            .map(|f| f.outcome)
            .collect();
        let expected = if cache == "none" {
            vec![Outcome::Delegated; 3]
        } else {
            vec![Outcome::Delegated, Outcome::Hit, Outcome::Hit]
        };
        assert_eq!(outcomes, expected, "{cache}");
        assert_eq!(cold.fetches[0].sdk_attempts, 1);
        assert_no_canary(
            &p.canary,
            &[
                (
                    "records",
                    &serde_json::to_string(&[&cold, &warm]).expect("json"),
                ),
                ("log", &probe.log_text()),
                ("tracing", &tracing_text()),
            ],
        );
    }
}

#[tokio::test]
async fn the_agent_refuses_a_wrong_token_and_reports_missing_secrets() {
    let p = provision(&moto()).await;
    let (_agent, port) = start_agent(&p.endpoint, 300).await;
    let mut env = probe_env(&p, "agent-secrets-manager", "none", None, "handler");
    env.insert(
        "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT".into(),
        port.to_string(),
    );
    env.insert("AWS_SESSION_TOKEN".into(), "not-the-agents-token".into());
    let record = TestProbe::init(&env).await.invoke(1).await;
    assert_eq!(
        record.fetches[0].error_class,
        Some(ErrorClass::AccessDenied)
    );

    let mut env = probe_env(&p, "agent-secrets-manager", "none", None, "handler");
    env.insert(
        "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT".into(),
        port.to_string(),
    );
    env.insert("SECBENCH_SECRET_ID".into(), "no-such-secret".into());
    let record = TestProbe::init(&env).await.invoke(1).await;
    assert_eq!(record.fetches[0].error_class, Some(ErrorClass::NotFound));
}

#[tokio::test]
async fn an_agent_that_is_not_listening_is_a_connect_error() {
    let p = provision(&moto()).await;
    let mut env = probe_env(&p, "agent-secrets-manager", "none", None, "handler");
    env.insert(
        "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT".into(),
        free_port().to_string(),
    );
    let record = TestProbe::init(&env).await.invoke(1).await;
    assert_schema_valid(&record);
    assert_eq!(record.fetches[0].error_class, Some(ErrorClass::Connect));
}

#[tokio::test]
async fn agent_ssm_follows_the_extension_protocol() {
    let p = provision(&moto()).await;
    let (_server, port) =
        start_ssm_extension_fixture(p.parameter_name.clone(), p.canary.clone()).await;
    for (cache, ttl, second) in [
        ("none", None, Outcome::Delegated),
        ("ttl", Some("5m"), Outcome::Hit),
    ] {
        let mut env = probe_env(&p, "agent-ssm", cache, ttl, "handler");
        env.insert(
            "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT".into(),
            port.to_string(),
        );
        let probe = TestProbe::init(&env).await;
        let record = probe.invoke(2).await;
        assert_schema_valid(&record);
        let seen: Vec<_> = record
            .fetches
            .iter()
            .map(|f| (f.outcome, f.verified))
            .collect();
        assert_eq!(
            seen,
            vec![(Outcome::Delegated, Some(true)), (second, Some(true))],
            "{cache}"
        );
        assert_no_canary(&p.canary, &[("log", &probe.log_text())]);
    }
    let mut env = probe_env(&p, "agent-ssm", "none", None, "handler");
    env.insert(
        "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT".into(),
        port.to_string(),
    );

    env.insert("SECBENCH_PARAMETER_NAME".into(), "/not/there".into());
    let record = TestProbe::init(&env).await.invoke(1).await;
    assert_eq!(record.fetches[0].error_class, Some(ErrorClass::NotFound));

    env.insert("AWS_SESSION_TOKEN".into(), "wrong".into());
    let record = TestProbe::init(&env).await.invoke(1).await;
    assert_eq!(
        record.fetches[0].error_class,
        Some(ErrorClass::AccessDenied)
    );
    assert_no_canary(&p.canary, &[("tracing", &tracing_text())]);
}

#[tokio::test]
async fn the_agent_refreshes_with_describe_secret_after_its_ttl() {
    // What the cost model assumes of the agent, checked on moto's request recorder.
    let (_moto, endpoint) = start_moto();
    let p = provision(&endpoint).await;
    let (_agent, port) = start_agent(&endpoint, 1).await;
    let mut env = probe_env(&p, "agent-secrets-manager", "none", None, "handler");
    env.insert(
        "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT".into(),
        port.to_string(),
    );
    let probe = TestProbe::init(&env).await;
    let recorder = MotoRecorder::started(&endpoint);
    probe.invoke(3).await;
    let first = recorder.operations();
    assert_eq!(
        first,
        vec!["GetSecretValue"],
        "within the agent's TTL only the first fetch reaches AWS"
    );
    // The agent's TTL (1 s) is what is under test: let it pass.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let record = probe.invoke(1).await;
    assert_eq!(record.fetches[0].verified, Some(true));
    let ops = recorder.operations();
    assert_eq!(
        ops,
        vec!["GetSecretValue", "DescribeSecret"],
        "unchanged version: DescribeSecret only"
    );
}
