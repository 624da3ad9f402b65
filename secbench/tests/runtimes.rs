//! The probe in each runtime (Rust, Node.js, Python), driven by one parameterised test: the
//! real probe (the release binary, or `probes/<node|python>/bootstrap` under its runtime
//! interface client) under the local platform against moto. For each runtime, per source ×
//! cache × fetch_at: the API calls each fetch records are the calls moto's recorder saw, a
//! cache's second read within its max age makes no call and a read after it one, every value
//! is verified by its digest, several secrets of which one is missing are a partial outcome
//! naming it, every record validates against the one JSON Schema and names its runtime (the
//! report names the interpreter and libraries), and the canary is in no record, log or report.

mod common;

use common::*;
use secbench::targets::ManySecrets;
use secbench_record::probe_config::Digest;
use secbench_record::{CacheMode, ErrorClass, Outcome, Runtime};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// The runtime's probe: the release binary, or its start script.
fn probe_of(runtime: Runtime) -> PathBuf {
    secbench::local_stage::runtime_probe(&root(), runtime).unwrap_or_else(probe_bin)
}

/// The cache a runtime's functions usually use (Powertools in Node.js and Python).
fn usual_cache(runtime: Runtime) -> CacheMode {
    match runtime {
        Runtime::Rust => CacheMode::Ttl,
        _ => CacheMode::Powertools,
    }
}

/// The service operations (`X-Amz-Target`) moto's recorder saw, with how many of each.
fn operations(recorder: &MotoRecorder) -> BTreeMap<String, u32> {
    let mut out = BTreeMap::new();
    for v in recorder.entries() {
        let target = v["headers"]
            .as_object()
            .and_then(|h| {
                h.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("x-amz-target"))
                    .and_then(|(_, v)| v.as_str())
            })
            .map(|t| t.rsplit('.').next().unwrap_or(t).to_owned());
        if let Some(op) = target {
            *out.entry(op).or_insert(0) += 1;
        }
    }
    out
}

fn plan_text(runtime: Runtime) -> String {
    let cache = usual_cache(runtime);
    let mut s = format!(
        r#"
[defaults]
cold_starts = 1
warm_invocations = 2
concurrency = 1
rate = "20/s"

[[scenario]]
name = "plain"
source = "plain-env"
runtime = "{runtime}"

[[scenario]]
name = "kms"
source = "kms-env"
runtime = "{runtime}"

[[scenario]]
name = "ssm"
source = "ssm"
runtime = "{runtime}"

[[scenario]]
name = "ssm-init"
source = "ssm"
fetch_at = "init"
runtime = "{runtime}"

[[scenario]]
name = "kms-init"
source = "kms-env"
fetch_at = "init"
runtime = "{runtime}"

[[scenario]]
name = "kms-ttl"
source = "kms-env"
cache = "ttl"
cache_ttl = "5m"
runtime = "{runtime}"

[[scenario]]
name = "ssm-ttl"
source = "ssm"
cache = "ttl"
cache_ttl = "5m"
runtime = "{runtime}"

[[scenario]]
name = "sm-init"
source = "secrets-manager"
fetch_at = "init"
runtime = "{runtime}"

[[scenario]]
name = "cached"
source = "secrets-manager"
cache = "{cache}"
cache_ttl = "1s"
fetches = 2
warm_invocations = 3
rate = "40/m"
runtime = "{runtime}"

[[scenario]]
name = "agent"
source = "agent-secrets-manager"
runtime = "{runtime}"

[[scenario]]
name = "many-ssm-batch"
source = "ssm"
secrets = 3
multi = "batch"
runtime = "{runtime}"

[[scenario]]
name = "many-secrets-manager"
source = "secrets-manager"
secrets = 3
multi = "sequential"
runtime = "{runtime}"
"#
    );
    if runtime.has_cache(CacheMode::Powertools) {
        s.push_str(&format!(
            r#"
[[scenario]]
name = "many-ssm-powertools"
source = "ssm"
cache = "powertools"
secrets = 3
multi = "batch"
runtime = "{runtime}"

[[scenario]]
name = "powertools-default"
source = "ssm"
cache = "powertools"
fetches = 2
runtime = "{runtime}"
"#
        ));
    }
    if runtime.has_cache(CacheMode::AwsCachingLibrary) {
        s.push_str(&format!(
            r#"
[[scenario]]
name = "library"
source = "secrets-manager"
cache = "aws-caching-library"
cache_ttl = "5m"
fetches = 2
runtime = "{runtime}"
"#
        ));
    }
    s
}

async fn each_source_and_cache_behaves_the_same(runtime: Runtime) {
    let b = backend().await;
    let recorder = MotoRecorder::new(&b.moto.endpoint);
    let platform =
        secbench_local_lambda::LocalPlatform::start(secbench_local_lambda::PlatformConfig {
            probe_bin: probe_of(runtime),
            memory_mb: 1769,
            ..platform_config(&b, 2, Duration::from_secs(30))
        })
        .await
        .expect("platform");
    let out = tempfile::tempdir().expect("tempdir");
    let plan = plan(out.path(), &plan_text(runtime));
    let mut target = target();
    target.many = Some(three_with_one_missing(&b).await);
    recorder.start();
    let summary = secbench::run::run(
        client(&platform).await,
        &plan,
        &target,
        out.path(),
        None,
        secbench::run::Cancel::default(),
    )
    .await
    .expect("run");
    platform.shutdown().await;
    let seen_by_moto = operations(&recorder);
    let a = &summary.accounting;
    assert_eq!(a.ok, plan.planned(), "{runtime}: {}", a.line());

    // Every record validates against the one schema and names the runtime that ran.
    let schema: serde_json::Value =
        serde_json::from_str(secbench_record::PROBE_RECORD_SCHEMA).expect("schema");
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let text = std::fs::read_to_string(summary.dir.join(secbench_record::run_dir::RECORDS_FILE))
        .expect("records");
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("json");
        let probe = &v["probe"];
        let errors: Vec<String> = validator
            .iter_errors(probe)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{runtime}: {errors:#?}");
    }
    let records = records(&summary.dir);
    let mut recorded: BTreeMap<String, u32> = BTreeMap::new();
    for r in &records {
        let p = r.probe.as_ref().expect("probe record");
        assert_eq!(p.runtime(), runtime);
        if runtime == Runtime::Rust {
            assert!(p.runtime_version.is_none());
        } else {
            let v = p.runtime_version.as_deref().expect("runtime_version");
            assert!(
                v.starts_with("node v") || v.starts_with("CPython 3."),
                "{v}"
            );
            // Node.js runs its runtime's own major (Python as this machine has it).
            if runtime.language() == secbench_record::Language::Node {
                let ran = secbench_record::emulation::RuntimeInterpreter {
                    runtime,
                    interpreter: v.to_owned(),
                };
                assert!(ran.matches(), "{runtime} ran {v}");
            }
            assert!(!p.libraries.is_empty(), "{runtime}: no library versions");
            if p.cold {
                let init = p.init.as_ref().expect("INIT breakdown");
                assert!(init.imports_ns.is_some(), "{runtime}: no imports_ns");
            }
        }
        for f in &p.fetches {
            for c in &f.api_calls {
                *recorded.entry(c.operation.clone()).or_insert(0) += c.count;
            }
            if r.scenario.starts_with("many-") {
                // The second of the three does not exist: a partial outcome naming it.
                assert_eq!(
                    f.outcome,
                    Outcome::Partial,
                    "{runtime} {}: {f:?}",
                    r.scenario
                );
                assert_eq!(
                    f.error_class,
                    Some(ErrorClass::NotFound),
                    "{runtime} {}",
                    r.scenario
                );
                let v = &f.values;
                assert_eq!(v.len(), 3, "{runtime} {}", r.scenario);
                assert_eq!(
                    v[1].outcome,
                    Outcome::Error,
                    "{runtime} {}: {f:?}",
                    r.scenario
                );
                assert_eq!(
                    v[1].error_class,
                    Some(ErrorClass::NotFound),
                    "{runtime} {}",
                    r.scenario
                );
                assert_eq!(
                    (v[0].verified, v[2].verified),
                    (Some(true), Some(true)),
                    "{runtime} {}",
                    r.scenario
                );
                assert!(
                    !f.calls.is_empty(),
                    "{runtime} {}: no call records",
                    r.scenario
                );
                continue;
            }
            assert_eq!(f.error_class, None, "{runtime} {}: {f:?}", r.scenario);
            assert_eq!(f.verified, Some(true), "{runtime} {}: {f:?}", r.scenario);
            let calls: u32 = f.api_calls.iter().map(|c| c.count).sum();
            // A hit makes no call; a miss or refresh of the SDK sources makes one at least.
            match f.outcome {
                Outcome::Hit => assert_eq!(calls, 0, "{runtime} {}: {f:?}", r.scenario),
                Outcome::Miss | Outcome::Refresh
                    if p.source != secbench_record::Source::PlainEnv =>
                {
                    assert!(calls >= 1, "{runtime} {}: {f:?}", r.scenario)
                }
                _ => {}
            }
        }
    }
    let fetches = |name: &str| -> Vec<&secbench_record::FetchRecord> {
        records
            .iter()
            .filter(|r| r.scenario == name)
            .flat_map(|r| &r.probe.as_ref().expect("probe").fetches)
            .collect()
    };
    let calls = |name: &str| -> u32 {
        fetches(name)
            .iter()
            .flat_map(|f| &f.api_calls)
            .map(|c| c.count)
            .sum()
    };
    assert_eq!(calls("plain"), 0, "{runtime}");
    assert_eq!(calls("kms"), 3, "{runtime}: one Decrypt per fetch");
    assert_eq!(calls("ssm"), 3, "{runtime}: one GetParameter per fetch");
    assert_eq!(calls("ssm-init"), 1, "{runtime}: fetched once, at INIT");
    assert_eq!(calls("kms-init"), 1, "{runtime}: decrypted once, at INIT");
    assert_eq!(calls("sm-init"), 1, "{runtime}: fetched once, at INIT");
    // A 5-minute TTL: the first fetch calls, the two warm ones are hits.
    for name in ["kms-ttl", "ssm-ttl"] {
        assert_eq!(calls(name), 1, "{runtime} {name}");
        let f = fetches(name);
        assert!(
            f[1..].iter().all(|f| f.outcome == Outcome::Hit),
            "{runtime} {name}: {f:?}"
        );
    }
    // The cache: each invocation's second read, within the max age, makes no call; a read
    // after it (the warm invocations are 1.5 s apart, the max age 1 s) makes one.
    let cached = fetches("cached");
    assert_eq!(cached.len(), 8);
    for pair in cached.chunks(2) {
        assert_eq!(pair[1].outcome, Outcome::Hit, "{runtime}: {pair:?}");
    }
    assert!(
        cached.iter().any(|f| f.outcome == Outcome::Refresh),
        "{runtime}: no read after the max age: {cached:?}"
    );
    // The agent's own call is moto's, not the probe's: one per environment (its TTL is 300 s).
    assert!(fetches("agent")
        .iter()
        .all(|f| f.outcome == Outcome::Delegated && f.api_calls.is_empty()));
    if runtime.has_cache(CacheMode::Powertools) {
        let p = records
            .iter()
            .find(|r| r.scenario == "powertools-default")
            .and_then(|r| r.probe.as_ref())
            .expect("record");
        assert_eq!(p.cache_ttl_ms, Some(5000), "Powertools' default max_age");
        let f = fetches("powertools-default");
        assert!(f.iter().skip(1).all(|f| f.outcome == Outcome::Hit), "{f:?}");
    }
    if runtime.has_cache(CacheMode::AwsCachingLibrary) {
        let f = fetches("library");
        assert!(f.iter().skip(1).all(|f| f.outcome == Outcome::Hit), "{f:?}");
    }
    // What moto answered is what the records say the probe asked for, and the agent's one
    // GetSecretValue.
    let mut expected = recorded.clone();
    *expected.entry("GetSecretValue".into()).or_insert(0) += 1;
    assert_eq!(
        seen_by_moto, expected,
        "{runtime}: moto's recorder vs the records"
    );

    assert_no_canary_in(&summary.dir, &b.canary);
    let report = write_report(&summary.dir);
    assert_no_canary_in(report.html.parent().expect("report dir"), &b.canary);
    // The report names the interpreter and the libraries that ran.
    if runtime != Runtime::Rust {
        let html = std::fs::read_to_string(&report.html).expect("report.html");
        let version = records
            .iter()
            .find_map(|r| r.probe.as_ref()?.runtime_version.clone())
            .expect("runtime_version");
        assert!(
            html.contains(&format!("The {runtime} probe ran as: ")) && html.contains(&version),
            "{runtime}: the report does not name {version}"
        );
    }
    eprintln!("{runtime}: {} ; moto saw {seen_by_moto:?}", a.line());
}

/// Three secrets and three SecureStrings of which the second does not exist (values
/// `<canary>-0` and `<canary>-2`).
async fn three_with_one_missing(b: &Backend) -> ManySecrets {
    let sdk = secbench::local_stage::emulator_sdk(&b.moto.endpoint).await;
    let sm = aws_sdk_secretsmanager::Client::new(&sdk);
    let ssm = aws_sdk_ssm::Client::new(&sdk);
    let tag = format!("{:08x}", rand::random::<u32>());
    let (mut secret_ids, mut parameter_names, mut digests) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..3 {
        let value = format!("{}-{i}", b.canary);
        digests.push(Digest::from_hex(&secbench_test_support::sha256_hex(&value)).expect("digest"));
        if i == 1 {
            secret_ids.push(format!("secbench-{tag}-missing"));
            parameter_names.push(format!("/secbench/{tag}/missing"));
            continue;
        }
        let id = format!("secbench-{tag}-{i}");
        sm.create_secret()
            .name(&id)
            .secret_string(&value)
            .send()
            .await
            .expect("CreateSecret");
        secret_ids.push(id);
        let name = format!("/secbench/{tag}/{i}");
        ssm.put_parameter()
            .name(&name)
            .value(&value)
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            .key_id(&b.provisioned.key_id)
            .send()
            .await
            .expect("PutParameter");
        parameter_names.push(name);
    }
    ManySecrets {
        secret_ids,
        parameter_names,
        digests,
        secret_bundles: Default::default(),
        parameter_bundles: Default::default(),
        single_secret_id: b.provisioned.secret_id.clone(),
        single_parameter_name: b.provisioned.parameter_name.clone(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_probe() {
    each_source_and_cache_behaves_the_same(Runtime::Rust).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_probe() {
    each_source_and_cache_behaves_the_same(Runtime::Nodejs22).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node24_probe() {
    each_source_and_cache_behaves_the_same(Runtime::Nodejs24).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_probe() {
    each_source_and_cache_behaves_the_same(Runtime::Python313).await;
}

/// `ignore_transient_errors` in the Node.js and Python probes' TTL cache, as in the Rust
/// probe's (`bench-lambda/tests/stale.rs`): SSM answers HTTP 500/503 to every request once a
/// scenario's cold fetch has reached it; a refresh after the TTL then serves the value held
/// (`stale`) with the default setting and fails with `false`.
async fn the_ttl_cache_serves_stale_only_when_told_to(runtime: Runtime) {
    use secbench_record::faults::{Faults, Service};
    let b = backend().await;
    let proxy = secbench_local_lambda::front::FaultProxy::start(&b.moto.endpoint)
        .await
        .expect("proxy");
    let platform =
        secbench_local_lambda::LocalPlatform::start(secbench_local_lambda::PlatformConfig {
            probe_bin: probe_of(runtime),
            memory_mb: 1769,
            platform_vars: secbench::local_stage::platform_vars(&proxy.endpoint, SESSION_TOKEN),
            ..platform_config(&b, 1, Duration::from_secs(30))
        })
        .await
        .expect("platform");
    let out = tempfile::tempdir().expect("tempdir");
    let scenario = |name: &str, extra: &str| {
        format!(
            "[[scenario]]\nname = \"{name}\"\nsource = \"ssm\"\ncache = \"ttl\"\ncache_ttl = \"300ms\"\nruntime = \"{runtime}\"\n{extra}\n"
        )
    };
    let plan = plan(
        out.path(),
        &format!(
            "[defaults]\ncold_starts = 1\nwarm_invocations = 6\nconcurrency = 1\nrate = \"4/s\"\n{}{}",
            scenario("stale", ""),
            scenario("closed", "ignore_transient_errors = false")
        ),
    );
    let mut t = target();
    let control = proxy.control.clone();
    t.on_scenario_start = Some(secbench::run::ScenarioHook(std::sync::Arc::new(
        move |_| {
            control.set(None);
            let (control, seen) = (control.clone(), control.requests());
            // Wait (a thread polling the proxy's counter) for the cold fetch to reach SSM.
            std::thread::spawn(move || {
                while control.requests() == seen {
                    std::thread::sleep(Duration::from_millis(2));
                }
                control.set(Some(Faults {
                    error_rate: 1.0,
                    ..Faults::none_on(vec![Service::Ssm])
                }));
            });
        },
    )));
    let summary = secbench::run::run(
        client(&platform).await,
        &plan,
        &t,
        out.path(),
        None,
        secbench::run::Cancel::default(),
    )
    .await
    .expect("run");
    platform.shutdown().await;
    let records = records(&summary.dir);
    for (name, serves) in [("stale", true), ("closed", false)] {
        let mine: Vec<_> = records
            .iter()
            .filter(|r| r.scenario == name)
            .filter_map(|r| r.probe.as_ref())
            .collect();
        assert_eq!(mine.len(), 7, "{runtime} {name}");
        let outcomes: Vec<Outcome> = mine
            .iter()
            .flat_map(|p| &p.fetches)
            .map(|f| f.outcome)
            .collect();
        assert_eq!(outcomes[0], Outcome::Miss, "{runtime} {name}: {outcomes:?}");
        let stale = outcomes.iter().filter(|o| **o == Outcome::Stale).count();
        let errors = outcomes.iter().filter(|o| **o == Outcome::Error).count();
        if serves {
            assert!(stale > 0 && errors == 0, "{runtime} {name}: {outcomes:?}");
        } else {
            assert!(stale == 0 && errors > 0, "{runtime} {name}: {outcomes:?}");
        }
        for p in &mine {
            assert_eq!(p.ignore_transient_errors, Some(serves), "{runtime} {name}");
            for f in p.fetches.iter().filter(|f| f.outcome == Outcome::Stale) {
                assert_eq!(f.verified, Some(true), "{runtime} {name}");
            }
        }
    }
    assert_no_canary_in(&summary.dir, &b.canary);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_ttl_cache_serves_stale_only_when_told_to() {
    the_ttl_cache_serves_stale_only_when_told_to(Runtime::Nodejs22).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_ttl_cache_serves_stale_only_when_told_to() {
    the_ttl_cache_serves_stale_only_when_told_to(Runtime::Python313).await;
}
