//! Several secrets per fetch against moto (and the real agent): every mode × source reads all
//! N values right (each checked by its own digest), makes exactly the calls it should (counted
//! on moto's recorder: `batch` with 12 parameters is 2 GetParameters calls, 12 secrets one
//! BatchGetSecretValue call, `bundle` one call for N values), keeps a record per call and per
//! value, reports a partial failure as such, caches per secret, and no value of the N appears
//! in any record or log line.

mod common;

use bench_lambda::settings::Env;
use common::*;
use secbench_local_lambda::moto::Moto;
use secbench_record::{ErrorClass, MultiMode, Outcome, ProbeRecord};
use secbench_test_support::MotoRecorder;

/// N secrets and N SecureStrings holding `<canary>-<i>`, and a bundle of them in each store.
struct Many {
    /// A moto of this test's own: moto's recorder counts every request it gets.
    _moto: Moto,
    p: Provisioned,
    secret_ids: Vec<String>,
    parameter_names: Vec<String>,
    values: Vec<String>,
    bundle_secret: String,
    bundle_parameter: String,
}

async fn many(n: usize) -> Many {
    let (moto, endpoint) = start_moto();
    let p = provision(&endpoint).await;
    let config = sdk(&p.endpoint).await;
    let sm = aws_sdk_secretsmanager::Client::new(&config);
    let ssm = aws_sdk_ssm::Client::new(&config);
    let values: Vec<String> = (0..n).map(|i| format!("{}-{i}", p.canary)).collect();
    let (mut secret_ids, mut parameter_names) = (Vec::new(), Vec::new());
    for (i, v) in values.iter().enumerate() {
        let id = unique(&format!("secbench-multi-{i}"));
        sm.create_secret()
            .name(&id)
            .secret_string(v)
            .send()
            .await
            .expect("CreateSecret");
        secret_ids.push(id);
        let name = format!("/secbench/multi/{}", unique(&format!("p{i}")));
        ssm.put_parameter()
            .name(&name)
            .value(v)
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            .key_id(&p.key_id)
            .send()
            .await
            .expect("PutParameter");
        parameter_names.push(name);
    }
    let bundle: serde_json::Map<String, serde_json::Value> = values
        .iter()
        .enumerate()
        .map(|(i, v)| (format!("key{i}"), serde_json::Value::String(v.clone())))
        .collect();
    let text = serde_json::Value::Object(bundle).to_string();
    let bundle_secret = unique("secbench-bundle");
    sm.create_secret()
        .name(&bundle_secret)
        .secret_string(&text)
        .send()
        .await
        .expect("CreateSecret bundle");
    let bundle_parameter = format!("/secbench/bundle/{}", unique("b"));
    ssm.put_parameter()
        .name(&bundle_parameter)
        .value(&text)
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .key_id(&p.key_id)
        .send()
        .await
        .expect("PutParameter bundle");
    Many {
        _moto: moto,
        p,
        secret_ids,
        parameter_names,
        values,
        bundle_secret,
        bundle_parameter,
    }
}

fn env_for(m: &Many, source: &str, mode: MultiMode, cache: &str, n: usize) -> Env {
    let ttl = (cache != "none").then_some("5m");
    let mut env = probe_env(&m.p, source, cache, ttl, "handler");
    env.remove("SECBENCH_EXPECTED_SHA256");
    env.insert("SECBENCH_MULTI".into(), mode.as_str().into());
    let digests: Vec<String> = m.values[..n].iter().map(|v| sha256_hex(v)).collect();
    env.insert("SECBENCH_EXPECTED_SHA256S".into(), digests.join(","));
    let ssm = source.ends_with("ssm");
    match mode {
        MultiMode::Bundle => {
            let keys: Vec<String> = (0..n).map(|i| format!("key{i}")).collect();
            env.insert("SECBENCH_BUNDLE_KEYS".into(), keys.join(","));
            env.insert("SECBENCH_SECRET_ID".into(), m.bundle_secret.clone());
            env.insert("SECBENCH_PARAMETER_NAME".into(), m.bundle_parameter.clone());
        }
        _ if ssm => {
            env.insert(
                "SECBENCH_PARAMETER_NAMES".into(),
                m.parameter_names[..n].join(","),
            );
        }
        _ => {
            env.insert("SECBENCH_SECRET_IDS".into(), m.secret_ids[..n].join(","));
        }
    }
    env
}

fn assert_all_verified(r: &ProbeRecord, n: usize, label: &str) {
    assert_schema_valid(r);
    assert_eq!(r.secrets, Some(n as u32), "{label}");
    for f in &r.fetches {
        assert_eq!(f.values.len(), n, "{label}");
        assert!(
            f.values.iter().all(|v| v.verified == Some(true)),
            "{label}: {f:?}"
        );
        assert_eq!(f.verified, Some(true), "{label}");
        assert_ne!(f.outcome, Outcome::Partial, "{label}");
    }
}

/// (source, mode, N, the calls moto sees for one fetch).
type Case = (
    &'static str,
    MultiMode,
    usize,
    &'static [(&'static str, usize)],
);

#[tokio::test]
async fn every_mode_reads_all_values_with_the_calls_it_should() {
    let n = 12;
    let m = many(n).await;
    // (source, mode, n, moto calls of the first fetch)
    let cases: &[Case] = &[
        ("ssm", MultiMode::Sequential, 3, &[("GetParameter", 3)]),
        ("ssm", MultiMode::Concurrent, 3, &[("GetParameter", 3)]),
        ("ssm", MultiMode::Batch, 12, &[("GetParameters", 2)]),
        ("ssm", MultiMode::Batch, 3, &[("GetParameters", 1)]),
        ("ssm", MultiMode::Bundle, 10, &[("GetParameter", 1)]),
        (
            "secrets-manager",
            MultiMode::Sequential,
            3,
            &[("GetSecretValue", 3)],
        ),
        (
            "secrets-manager",
            MultiMode::Concurrent,
            10,
            &[("GetSecretValue", 10)],
        ),
        (
            "secrets-manager",
            MultiMode::Batch,
            12,
            &[("BatchGetSecretValue", 1)],
        ),
        (
            "secrets-manager",
            MultiMode::Bundle,
            3,
            &[("GetSecretValue", 1)],
        ),
    ];
    for &(source, mode, k, expected) in cases {
        let label = format!("{source}/{mode}/{k}");
        let probe = TestProbe::init(&env_for(&m, source, mode, "none", k)).await;
        let recorder = MotoRecorder::started(&m.p.endpoint);
        let r = probe.invoke(1).await;
        assert_all_verified(&r, k, &label);
        let f = &r.fetches[0];
        assert_eq!(f.multi, Some(mode), "{label}");
        let ops = recorder.operations();
        for (op, count) in expected {
            assert_eq!(
                ops.iter().filter(|o| o == op).count(),
                *count,
                "{label}: moto saw {ops:?}"
            );
            let counted: u32 = f
                .api_calls
                .iter()
                .filter(|c| c.operation == *op)
                .map(|c| c.count)
                .sum();
            assert_eq!(counted as usize, *count, "{label}: the record counts {f:?}");
        }
        assert_eq!(
            ops.len(),
            expected.iter().map(|e| e.1).sum::<usize>(),
            "{label}: {ops:?}"
        );
        // One call record per call, each naming how many secrets it asked for.
        let asked: u32 = f.calls.iter().map(|c| c.secrets).sum();
        assert_eq!(asked as usize, k, "{label}: {:?}", f.calls);
        assert_eq!(
            f.calls.len(),
            expected.iter().map(|e| e.1).sum::<usize>(),
            "{label}"
        );
        if mode == MultiMode::Concurrent {
            assert!(f.calls.iter().all(|c| c.sdk_attempts.is_none()), "{label}");
        } else {
            assert!(
                f.calls.iter().all(|c| c.sdk_attempts == Some(1)),
                "{label}: {:?}",
                f.calls
            );
        }
        // The fetch lasts until the last value is ready: at least its longest call.
        let longest = f.calls.iter().map(|c| c.latency_ns).max().unwrap_or(0);
        assert!(f.latency_ns >= longest, "{label}");
        let text = serde_json::to_string(&r).expect("json");
        for v in &m.values {
            assert!(
                !text.contains(v.as_str()),
                "{label}: a value is in the record"
            );
        }
        assert_no_canary(
            &m.p.canary,
            &[("record", &text), ("log", &probe.log_text())],
        );
    }
    assert_no_canary(&m.p.canary, &[("tracing", &tracing_text())]);
}

#[tokio::test]
async fn a_cache_holds_each_secret_and_refetches_only_the_missing() {
    let m = many(3).await;
    for mode in [MultiMode::Sequential, MultiMode::Batch] {
        let probe = TestProbe::init(&env_for(&m, "secrets-manager", mode, "ttl", 3)).await;
        let first = probe.invoke(1).await;
        assert_all_verified(&first, 3, mode.as_str());
        let recorder = MotoRecorder::started(&m.p.endpoint);
        let second = probe.invoke(1).await;
        assert_all_verified(&second, 3, mode.as_str());
        assert_eq!(second.fetches[0].outcome, Outcome::Hit, "{mode}");
        assert!(second.fetches[0]
            .values
            .iter()
            .all(|v| v.outcome == Outcome::Hit));
        assert!(
            recorder.operations().is_empty(),
            "{mode}: a cached fetch called AWS"
        );
    }
    // The caching library, one secret at a time and with its batch read.
    for mode in [MultiMode::Sequential, MultiMode::Batch] {
        let probe = TestProbe::init(&env_for(
            &m,
            "secrets-manager",
            mode,
            "aws-caching-library",
            3,
        ))
        .await;
        let recorder = MotoRecorder::started(&m.p.endpoint);
        let first = probe.invoke(1).await;
        assert_all_verified(&first, 3, mode.as_str());
        let ops = recorder.operations();
        let expected = match mode {
            MultiMode::Batch => vec!["BatchGetSecretValue".to_owned()],
            _ => vec!["GetSecretValue".to_owned(); 3],
        };
        assert_eq!(ops, expected, "{mode}");
        let recorder = MotoRecorder::started(&m.p.endpoint);
        let second = probe.invoke(1).await;
        assert_all_verified(&second, 3, mode.as_str());
        assert!(
            recorder.operations().is_empty(),
            "{mode}: the library's cache called AWS"
        );
    }
}

#[tokio::test]
async fn some_values_failing_is_a_partial_outcome_naming_each() {
    let m = many(3).await;
    for (source, mode) in [
        ("ssm", MultiMode::Batch),
        ("ssm", MultiMode::Sequential),
        ("secrets-manager", MultiMode::Batch),
        ("secrets-manager", MultiMode::Concurrent),
        ("secrets-manager", MultiMode::Bundle),
    ] {
        let label = format!("{source}/{mode}");
        let mut env = env_for(&m, source, mode, "none", 3);
        match mode {
            MultiMode::Bundle => {
                env.insert(
                    "SECBENCH_BUNDLE_KEYS".into(),
                    "key0,no-such-key,key2".into(),
                );
            }
            _ if source == "ssm" => {
                let names = [
                    m.parameter_names[0].as_str(),
                    "/secbench/multi/no-such-parameter",
                    m.parameter_names[2].as_str(),
                ];
                env.insert("SECBENCH_PARAMETER_NAMES".into(), names.join(","));
            }
            _ => {
                let ids = [
                    m.secret_ids[0].as_str(),
                    "no-such-secret",
                    m.secret_ids[2].as_str(),
                ];
                env.insert("SECBENCH_SECRET_IDS".into(), ids.join(","));
            }
        }
        let probe = TestProbe::init(&env).await;
        let r = probe.invoke(1).await;
        assert_schema_valid(&r);
        let f = &r.fetches[0];
        assert_eq!(f.outcome, Outcome::Partial, "{label}: {f:?}");
        assert_eq!(f.error_class, Some(ErrorClass::NotFound), "{label}");
        let outcomes: Vec<Outcome> = f.values.iter().map(|v| v.outcome).collect();
        assert_eq!(outcomes[1], Outcome::Error, "{label}");
        assert_eq!(
            f.values[1].error_class,
            Some(ErrorClass::NotFound),
            "{label}"
        );
        assert_eq!(f.values[0].verified, Some(true), "{label}");
        assert_eq!(f.values[2].verified, Some(true), "{label}");
    }
}

#[tokio::test]
async fn the_agent_reads_several_secrets_one_request_each() {
    let m = many(3).await;
    let (_agent, port) = start_agent(&m.p.endpoint, 300).await;
    for mode in [MultiMode::Sequential, MultiMode::Concurrent] {
        let mut env = env_for(&m, "agent-secrets-manager", mode, "none", 3);
        env.insert(
            "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT".into(),
            port.to_string(),
        );
        let probe = TestProbe::init(&env).await;
        let r = probe.invoke(1).await;
        assert_all_verified(&r, 3, mode.as_str());
        let f = &r.fetches[0];
        assert_eq!(f.outcome, Outcome::Delegated, "{mode}");
        assert_eq!(f.calls.len(), 3, "{mode}");
        assert!(f.calls.iter().all(|c| c.operation == "agent GET"));
        assert_eq!(f.sdk_attempts, 3, "{mode}");
        assert_no_canary(
            &m.p.canary,
            &[("record", &serde_json::to_string(&r).expect("json"))],
        );
    }
    // batch and bundle are refused for the agent: it answers one secret per request.
    let mut env = env_for(&m, "agent-secrets-manager", MultiMode::Batch, "none", 3);
    env.insert(
        "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT".into(),
        port.to_string(),
    );
    let err = match TestProbe::try_init(&env).await {
        Ok(_) => panic!("batch through the agent was not refused"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("one secret per request"), "{err}");
}
