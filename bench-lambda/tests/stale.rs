//! `ignore_transient_errors`, like with like: the probe's TTL cache, the caching library and the
//! agent each serve the value they hold through a refresh that fails with HTTP 500/503 when the
//! setting is `true`, and fail when it is `false`; a throttle (HTTP 400) is not transient for
//! any of them. The real probe and the real agent, moto behind the local stage's fault proxy.

mod common;

use common::*;
use secbench_local_lambda::front::FaultProxy;
use secbench_record::faults::{Faults, Service};
use secbench_record::{ErrorClass, Outcome, ProbeRecord};
use std::time::Duration;

fn faults(service: Service, error_rate: f64, throttle_rate: f64) -> Faults {
    Faults {
        throttle_rate,
        error_rate,
        ..Faults::none_on(vec![service])
    }
}

fn only(record: &ProbeRecord) -> (Outcome, Option<ErrorClass>, Option<bool>) {
    assert_eq!(record.fetches.len(), 1);
    let f = &record.fetches[0];
    (f.outcome, f.error_class, f.verified)
}

/// First a fetch that fills the cache, then (after the TTL) one under server errors, then
/// (after the TTL again) one under throttling.
async fn under_faults(
    probe: &TestProbe,
    proxy: &FaultProxy,
    service: Service,
    ttl: Duration,
) -> [(Outcome, Option<ErrorClass>, Option<bool>); 3] {
    proxy.control.set(None);
    let filled = only(&probe.invoke(1).await);
    proxy.control.set(Some(faults(service, 1.0, 0.0)));
    // The TTL is the thing under test: let it pass.
    tokio::time::sleep(ttl + Duration::from_millis(100)).await;
    let server_errors = only(&probe.invoke(1).await);
    proxy.control.set(Some(faults(service, 0.0, 1.0)));
    tokio::time::sleep(ttl + Duration::from_millis(100)).await;
    let throttled = only(&probe.invoke(1).await);
    proxy.control.set(None);
    [filled, server_errors, throttled]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ttl_cache_and_the_library_serve_stale_through_server_errors_only_when_told_to() {
    let endpoint = moto();
    let p = provision(&endpoint).await;
    let proxy = FaultProxy::start(&endpoint).await.expect("proxy");
    let ttl = Duration::from_millis(300);
    for (source, cache, service) in [
        ("ssm", "ttl", Service::Ssm),
        (
            "secrets-manager",
            "aws-caching-library",
            Service::SecretsManager,
        ),
    ] {
        for ignore in [true, false] {
            let mut env = probe_env(&p, source, cache, Some("300ms"), "handler");
            env.insert("AWS_ENDPOINT_URL".into(), proxy.endpoint.clone());
            env.insert(
                "SECBENCH_IGNORE_TRANSIENT_ERRORS".into(),
                ignore.to_string(),
            );
            let probe = TestProbe::init(&env).await;
            let [filled, server_errors, throttled] =
                under_faults(&probe, &proxy, service, ttl).await;
            let case = format!("{cache}, ignore_transient_errors = {ignore}");
            assert_eq!(filled, (Outcome::Miss, None, Some(true)), "{case}");
            if ignore {
                assert_eq!(server_errors, (Outcome::Stale, None, Some(true)), "{case}");
            } else {
                assert_eq!(
                    server_errors,
                    (Outcome::Error, Some(ErrorClass::Other), None),
                    "{case}"
                );
            }
            assert_eq!(
                throttled,
                (Outcome::Error, Some(ErrorClass::Throttled), None),
                "{case}: a throttle is not transient"
            );
            let record = probe.invoke(1).await;
            assert_eq!(record.ignore_transient_errors, Some(ignore), "{case}");
            assert!(!probe.log_text().contains(&p.canary), "{case}");
        }
    }
    let uncached = TestProbe::try_init(&{
        let mut env = probe_env(&p, "ssm", "none", None, "handler");
        env.insert("SECBENCH_IGNORE_TRANSIENT_ERRORS".into(), "true".into());
        env
    })
    .await
    .err()
    .expect("refused without a cache");
    assert!(
        uncached
            .to_string()
            .contains("SECBENCH_IGNORE_TRANSIENT_ERRORS is set but SECBENCH_CACHE=none"),
        "{uncached}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_serves_stale_through_server_errors_only_when_told_to() {
    let endpoint = moto();
    let p = provision(&endpoint).await;
    let proxy = FaultProxy::start(&endpoint).await.expect("proxy");
    for ignore in [true, false] {
        // The agent's TTL is whole seconds; it reaches moto through the proxy.
        let (_agent, port) = start_agent_with(&proxy.endpoint, 1, ignore).await;
        let mut env = probe_env(&p, "agent-secrets-manager", "none", None, "handler");
        env.insert(
            "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT".into(),
            port.to_string(),
        );
        env.insert(
            "SECBENCH_IGNORE_TRANSIENT_ERRORS".into(),
            ignore.to_string(),
        );
        let probe = TestProbe::init(&env).await;
        let [filled, server_errors, throttled] = under_faults(
            &probe,
            &proxy,
            Service::SecretsManager,
            Duration::from_secs(1),
        )
        .await;
        let case = format!("agent, ignore_transient_errors = {ignore}");
        assert_eq!(filled, (Outcome::Delegated, None, Some(true)), "{case}");
        if ignore {
            assert_eq!(
                server_errors,
                (Outcome::Delegated, None, Some(true)),
                "{case}"
            );
        } else {
            assert_eq!(server_errors.0, Outcome::Error, "{case}");
        }
        assert_eq!(
            throttled.0,
            Outcome::Error,
            "{case}: a throttle is not transient"
        );
        assert_eq!(
            probe.invoke(1).await.ignore_transient_errors,
            Some(ignore),
            "{case}"
        );
    }
}
