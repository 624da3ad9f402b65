//! Every source × cache mode × fetch_at against the real moto emulator: the value is right
//! (checked by digest), the cache calls AWS exactly when it should, every record matches the
//! committed schema, and the canary value appears in no record and no log line.

mod common;

use common::*;
use secbench_record::{CacheMode, FetchAt, FetchPhase, Outcome, ProbeRecord, Source};

fn expected_operation(source: Source) -> &'static str {
    match source {
        Source::KmsEnv => "Decrypt",
        Source::Ssm => "GetParameter",
        Source::SecretsManager => "GetSecretValue",
        other => panic!("{other} makes no SDK call"),
    }
}

fn check_common(record: &ProbeRecord, p: &Provisioned, source: Source, cache: CacheMode) {
    assert_schema_valid(record);
    assert_eq!(record.source, source);
    assert_eq!(record.cache, cache);
    assert_eq!(record.function_name.as_deref(), Some(FUNCTION_NAME));
    for f in &record.fetches {
        assert_eq!(f.outcome != Outcome::Error, f.error_class.is_none());
        assert_eq!(f.error_class, None, "{source}/{cache}: fetch failed: {f:?}");
        assert_eq!(
            f.verified,
            Some(true),
            "{source}/{cache}: wrong value fetched"
        );
        assert_eq!(f.value_length_bytes, Some(p.canary.len() as u64));
    }
}

/// Runs three invocations of two fetches each and checks what each fetch did.
async fn exercise(p: &Provisioned, source: Source, cache: CacheMode, fetch_at: FetchAt) {
    let ttl = (cache != CacheMode::None).then_some("5m");
    let env = probe_env(p, source.as_str(), cache.as_str(), ttl, fetch_at.as_str());
    let probe = TestProbe::init(&env).await;
    let mut records = Vec::new();
    for _ in 0..3 {
        records.push(probe.invoke(2).await);
    }
    let label = format!("{source}/{cache}/{fetch_at}");

    // Cold start first, then warm, all in one environment.
    assert!(
        records[0].cold && !records[1].cold && !records[2].cold,
        "{label}"
    );
    assert_eq!(
        records.iter().map(|r| r.invocation_seq).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert!(records
        .iter()
        .all(|r| r.environment_id == records[0].environment_id));
    let init = records[0]
        .init
        .as_ref()
        .expect("cold record has the init breakdown");
    assert!(records[1].init.is_none());
    assert_eq!(
        init.init_fetch_ns.is_some(),
        fetch_at == FetchAt::Init,
        "{label}"
    );
    assert!(
        init.main_to_ready_ns >= init.sdk_config_load_ns + init.client_construction_ns,
        "{label}"
    );
    for r in &records {
        check_common(r, p, source, cache);
    }

    let fetches: Vec<_> = records.iter().flat_map(|r| r.fetches.iter()).collect();
    let init_fetches = fetches
        .iter()
        .filter(|f| f.phase == FetchPhase::Init)
        .count();
    assert_eq!(
        init_fetches,
        usize::from(fetch_at == FetchAt::Init),
        "{label}"
    );
    assert_eq!(fetches.len(), 6 + init_fetches, "{label}");

    let aws_calls: Vec<u32> = fetches
        .iter()
        .map(|f| f.api_calls.iter().map(|c| c.count).sum())
        .collect();
    let outcomes: Vec<Outcome> = fetches.iter().map(|f| f.outcome).collect();
    if source == Source::PlainEnv {
        assert!(
            aws_calls.iter().all(|c| *c == 0),
            "{label}: plain-env called AWS"
        );
        assert!(fetches.iter().all(|f| f.sdk_attempts == 0));
        return;
    }
    let op = expected_operation(source);
    for f in &fetches {
        for call in &f.api_calls {
            assert_eq!(call.operation, op, "{label}: unexpected call {call:?}");
        }
        // A fetch that called AWS made at least one attempt per call; a hit made none.
        let calls: u32 = f.api_calls.iter().map(|c| c.count).sum();
        assert!(
            f.sdk_attempts >= calls && (calls > 0 || f.sdk_attempts == 0),
            "{label}: {f:?}"
        );
    }
    match (cache, fetch_at) {
        (CacheMode::None, FetchAt::Handler) => {
            assert!(aws_calls.iter().all(|c| *c == 1), "{label}: {aws_calls:?}");
            assert!(
                outcomes.iter().all(|o| *o == Outcome::Miss),
                "{label}: {outcomes:?}"
            );
        }
        // Exactly one fetch reaches AWS (the first one); every later one is served from memory.
        _ => {
            assert_eq!(aws_calls[0], 1, "{label}: {aws_calls:?}");
            assert_eq!(outcomes[0], Outcome::Miss, "{label}");
            assert!(
                aws_calls[1..].iter().all(|c| *c == 0),
                "{label}: a cache hit called AWS: {aws_calls:?}"
            );
            assert!(
                outcomes[1..].iter().all(|o| *o == Outcome::Hit),
                "{label}: {outcomes:?}"
            );
        }
    }

    let records_json = serde_json::to_string(&records).expect("json");
    assert_no_canary(
        &p.canary,
        &[
            ("records", &records_json),
            ("log lines", &probe.log_text()),
            ("tracing", &tracing_text()),
        ],
    );
}

#[tokio::test]
async fn every_sdk_source_cache_and_fetch_at_combination() {
    let p = provision(&moto()).await;
    for source in [
        Source::PlainEnv,
        Source::KmsEnv,
        Source::Ssm,
        Source::SecretsManager,
    ] {
        for cache in CacheMode::ALL {
            if *cache == CacheMode::AwsCachingLibrary && source != Source::SecretsManager {
                continue;
            }
            // Powertools is the Node.js and Python probes' cache (tests/runtimes.rs).
            if !secbench_record::Runtime::Rust.has_cache(*cache) {
                continue;
            }
            // `restore` is SnapStart's after-restore hook: no SnapStart for the Rust probe's
            // runtime (its settings refuse it; tests/snapstart.rs runs it in Python).
            for fetch_at in FetchAt::ALL.iter().filter(|f| **f != FetchAt::Restore) {
                exercise(&p, source, *cache, *fetch_at).await;
            }
        }
    }
}

#[tokio::test]
async fn log_lines_are_the_record_and_an_emf_line() {
    let p = provision(&moto()).await;
    let probe = TestProbe::init(&probe_env(&p, "ssm", "none", None, "handler")).await;
    let record = probe.invoke(1).await;
    let text = probe.log_text();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(lines.len(), 2);
    let logged: ProbeRecord =
        serde_json::from_value(lines[0]["secbench_record"].clone()).expect("record line");
    assert_eq!(logged, record);
    let emf = &lines[1];
    assert_eq!(emf["_aws"]["CloudWatchMetrics"][0]["Namespace"], "secbench");
    let names: Vec<&str> = emf["_aws"]["CloudWatchMetrics"][0]["Metrics"]
        .as_array()
        .expect("metrics")
        .iter()
        .filter_map(|m| m["Name"].as_str())
        .collect();
    for name in &names {
        assert!(emf.get(*name).is_some(), "EMF metric {name} has no value");
    }
    assert!(names.contains(&"fetch_latency_us") && names.contains(&"init_main_to_ready_us"));
    assert_eq!(
        emf["fetch_latency_us"].as_f64(),
        Some(record.fetches[0].latency_ns as f64 / 1e3)
    );
}

#[tokio::test]
async fn a_value_that_does_not_match_the_digest_is_recorded_unverified() {
    let p = provision(&moto()).await;
    let mut env = probe_env(&p, "secrets-manager", "none", None, "handler");
    env.insert(
        "SECBENCH_EXPECTED_SHA256".into(),
        sha256_hex("some other value"),
    );
    let probe = TestProbe::init(&env).await;
    let record = probe.invoke(1).await;
    assert_eq!(record.fetches[0].outcome, Outcome::Miss);
    assert_eq!(record.fetches[0].verified, Some(false));
}

#[tokio::test]
async fn force_refresh_bypasses_the_cache_on_the_first_fetch_only() {
    let p = provision(&moto()).await;
    for cache in ["ttl", "aws-caching-library"] {
        let probe = TestProbe::init(&probe_env(
            &p,
            "secrets-manager",
            cache,
            Some("5m"),
            "handler",
        ))
        .await;
        probe.invoke(1).await;
        let record = probe
            .invoke_with(serde_json::json!({"run_id": "r", "scenario": "s", "fetches": 2, "force_refresh": true}))
            .await;
        let outcomes: Vec<Outcome> = record.fetches.iter().map(|f| f.outcome).collect();
        assert_eq!(outcomes, vec![Outcome::Refresh, Outcome::Hit], "{cache}");
        assert_eq!(record.fetches[0].api_calls.len(), 1, "{cache}");
        assert_eq!(record.fetches[0].verified, Some(true));
    }
}

/// Around a rotation the probe is given both digests: each fetch says which one its value
/// matched and the version the service returned, and neither value appears in a record.
#[tokio::test]
async fn each_fetch_names_which_digest_matched_and_the_service_version() {
    let p = provision(&moto()).await;
    let config = sdk(&p.endpoint).await;
    for source in ["secrets-manager", "ssm"] {
        let new_value = format!("{}-rotated-{source}", p.canary);
        let mut env = probe_env(&p, source, "none", None, "handler");
        env.insert(
            "SECBENCH_EXPECTED_SHA256".into(),
            format!("{},{}", sha256_hex(&p.canary), sha256_hex(&new_value)),
        );
        let probe = TestProbe::init(&env).await;
        let before = probe.invoke(1).await;
        match source {
            "secrets-manager" => {
                aws_sdk_secretsmanager::Client::new(&config)
                    .put_secret_value()
                    .secret_id(&p.secret_id)
                    .secret_string(&new_value)
                    .send()
                    .await
                    .expect("PutSecretValue");
            }
            _ => {
                aws_sdk_ssm::Client::new(&config)
                    .put_parameter()
                    .name(&p.parameter_name)
                    .value(&new_value)
                    .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
                    .key_id(&p.key_id)
                    .overwrite(true)
                    .send()
                    .await
                    .expect("PutParameter");
            }
        }
        let after = probe.invoke(1).await;
        let (b, a) = (&before.fetches[0], &after.fetches[0]);
        assert_eq!(
            (b.version_index, b.verified),
            (Some(0), Some(true)),
            "{source}"
        );
        assert_eq!(
            (a.version_index, a.verified),
            (Some(1), Some(true)),
            "{source}"
        );
        assert!(
            b.service_version.is_some() && a.service_version.is_some(),
            "{source}"
        );
        assert_ne!(b.service_version, a.service_version, "{source}");
        if source == "ssm" {
            assert_eq!(
                (b.service_version.as_deref(), a.service_version.as_deref()),
                (Some("1"), Some("2"))
            );
        }
        assert_schema_valid(&after);
        for r in [&before, &after] {
            let text = serde_json::to_string(r).expect("json");
            assert!(
                !text.contains(&p.canary),
                "{source}: a value is in a record"
            );
        }
        // Back to the first value for the next source (the other store still holds it).
        if source == "secrets-manager" {
            aws_sdk_secretsmanager::Client::new(&config)
                .put_secret_value()
                .secret_id(&p.secret_id)
                .secret_string(&p.canary)
                .send()
                .await
                .expect("PutSecretValue back");
        }
    }
}
