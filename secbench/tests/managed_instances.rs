//! Lambda Managed Instances on the local stage, with the real Rust probe: a function configured
//! onto a capacity provider through the Lambda API, a published version whose environment starts
//! before any traffic, invocations that share that environment, each with a record of its own,
//! and the herd a TTL cache meets when its entry expires under load, counted by moto's recorder.

mod common;

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{
    CapacityProviderConfig, Environment, FunctionScalingConfig,
    LambdaManagedInstancesCapacityProviderConfig, State,
};
use common::*;
use secbench_local_lambda::front::FaultProxy;
use secbench_local_lambda::LocalPlatform;
use secbench_record::faults::{Faults, Service};
use secbench_record::{Outcome, ProbeRecord};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

const CAPACITY_PROVIDER: &str =
    "arn:aws:lambda:eu-west-1:000000000000:capacity-provider:secbench-test";

fn slow_ssm() -> Faults {
    Faults {
        latency: Duration::from_millis(300),
        ..Faults::none_on(vec![Service::Ssm])
    }
}

/// Configures the function onto the capacity provider with `vars`, publishes it, asks for one
/// environment and waits until the version is `Active`; returns the version.
async fn publish_on_capacity_provider(
    client: &aws_sdk_lambda::Client,
    vars: BTreeMap<String, String>,
    max_concurrency: i32,
) -> String {
    client
        .update_function_configuration()
        .function_name(secbench::local_stage::FUNCTION)
        .memory_size(2048)
        .environment(
            Environment::builder()
                .set_variables(Some(vars.into_iter().collect()))
                .build(),
        )
        .capacity_provider_config(
            CapacityProviderConfig::builder()
                .lambda_managed_instances_capacity_provider_config(
                    LambdaManagedInstancesCapacityProviderConfig::builder()
                        .capacity_provider_arn(CAPACITY_PROVIDER)
                        .per_execution_environment_max_concurrency(max_concurrency)
                        .execution_environment_memory_gib_per_v_cpu(2.0)
                        .build()
                        .expect("config"),
                )
                .build(),
        )
        .send()
        .await
        .expect("UpdateFunctionConfiguration");
    let version = client
        .publish_version()
        .function_name(secbench::local_stage::FUNCTION)
        .send()
        .await
        .expect("PublishVersion")
        .version
        .expect("version");
    client
        .put_function_scaling_config()
        .function_name(secbench::local_stage::FUNCTION)
        .qualifier(&version)
        .function_scaling_config(
            FunctionScalingConfig::builder()
                .min_execution_environments(1)
                .max_execution_environments(1)
                .build(),
        )
        .send()
        .await
        .expect("PutFunctionScalingConfig");
    let mut state = None;
    for _ in 0..600 {
        state = client
            .get_function_configuration()
            .function_name(secbench::local_stage::FUNCTION)
            .qualifier(&version)
            .send()
            .await
            .expect("GetFunctionConfiguration")
            .state;
        if state == Some(State::Active) {
            return version;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("version {version} never became Active: {state:?}");
}

async fn invoke(client: &aws_sdk_lambda::Client, version: &str) -> ProbeRecord {
    let out = client
        .invoke()
        .function_name(secbench::local_stage::FUNCTION)
        .qualifier(version)
        .payload(Blob::new(
            r#"{"run_id":"lmi","scenario":"lmi","fetches":1}"#,
        ))
        .send()
        .await
        .expect("Invoke");
    assert_eq!(out.function_error, None, "{:?}", out.payload);
    let payload = out.payload.expect("payload");
    serde_json::from_slice(payload.as_ref()).expect("a probe record")
}

async fn platform_through(b: &Backend, proxy: &FaultProxy) -> LocalPlatform {
    let mut config = platform_config(b, 4, Duration::from_secs(30));
    config
        .platform_vars
        .insert("AWS_ENDPOINT_URL".into(), proxy.endpoint.clone());
    LocalPlatform::start(config).await.expect("platform")
}

fn ssm_ttl_vars(b: &Backend, single_flight: bool) -> BTreeMap<String, String> {
    let mut vars = function_vars(b);
    for (k, v) in [
        ("SECBENCH_SOURCE", "ssm"),
        ("SECBENCH_CACHE", "ttl"),
        ("SECBENCH_CACHE_TTL", "300ms"),
        ("SECBENCH_FETCH_AT", "handler"),
    ] {
        vars.insert(k.into(), v.into());
    }
    vars.insert("SECBENCH_SINGLE_FLIGHT".into(), single_flight.to_string());
    vars
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_invocations_share_one_environment_and_the_herd_is_one_call_with_single_flight()
{
    let b = backend().await;
    let proxy = FaultProxy::start(&b.moto.endpoint).await.expect("proxy");
    let p = platform_through(&b, &proxy).await;
    let client = client(&p).await;
    for (single_flight, herd_calls) in [(false, 4), (true, 1)] {
        proxy.control.set(None);
        let version =
            publish_on_capacity_provider(&client, ssm_ttl_vars(&b, single_flight), 4).await;
        let first = invoke(&client, &version).await;
        assert_eq!(first.max_concurrency, Some(4));
        assert_eq!(first.fetches[0].outcome, Outcome::Miss);
        // The TTL (300 ms) is the thing under test: let it pass.
        tokio::time::sleep(Duration::from_millis(400)).await;
        proxy.control.set(Some(slow_ssm()));
        let recorder = MotoRecorder::started(&b.moto.endpoint);
        let (r1, r2, r3, r4) = tokio::join!(
            invoke(&client, &version),
            invoke(&client, &version),
            invoke(&client, &version),
            invoke(&client, &version)
        );
        proxy.control.set(None);
        let seen = recorder
            .operations()
            .iter()
            .filter(|o| o.as_str() == "GetParameter")
            .count();
        assert_eq!(
            seen, herd_calls,
            "single_flight = {single_flight}: moto saw {seen} GetParameter calls"
        );
        let herd = [&r1, &r2, &r3, &r4];
        // Four records, four requests, one environment and one process, each with its own fetch.
        let ids: BTreeSet<_> = herd.iter().map(|r| r.request_id.clone()).collect();
        assert_eq!(ids.len(), 4);
        let seqs: BTreeSet<_> = herd.iter().map(|r| r.invocation_seq).collect();
        assert_eq!(seqs, (2..=5).collect());
        for r in herd {
            assert_eq!(r.environment_id, first.environment_id);
            assert_eq!(r.worker, first.worker);
            assert_eq!(r.fetches.len(), 1);
            assert_eq!(r.fetches[0].verified, Some(true));
            assert!(!r.cold);
        }
        // Each record counts its own calls: together, what moto saw.
        let counted: u32 = herd
            .iter()
            .map(|r| r.fetches[0].api_calls.iter().map(|c| c.count).sum::<u32>())
            .sum();
        assert_eq!(counted as usize, herd_calls);
        let hits = herd
            .iter()
            .filter(|r| r.fetches[0].outcome == Outcome::Hit)
            .count();
        assert_eq!(hits, 4 - herd_calls, "single_flight = {single_flight}");
        client
            .delete_function()
            .function_name(secbench::local_stage::FUNCTION)
            .qualifier(&version)
            .send()
            .await
            .expect("DeleteFunction of the version");
    }
    let logs = tempfile::tempdir().expect("tempdir");
    p.write_logs(&logs.path().join("environments.log"))
        .expect("logs");
    assert_no_canary_in(logs.path(), &b.canary);
    p.shutdown().await;
}
