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

/// `DeleteFunction` of a published version: its environments go with it.
async fn delete_version(client: &aws_sdk_lambda::Client, version: &str) {
    client
        .delete_function()
        .function_name(secbench::local_stage::FUNCTION)
        .qualifier(version)
        .send()
        .await
        .expect("DeleteFunction of the version");
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

/// Waits until every worker (process or thread) of `version`'s environment has finished its INIT
/// and waits for an event (its `/next` long-polls, which the platform counts).
async fn wait_for_idle_workers(p: &LocalPlatform, version: &str, workers: u32) {
    let env = p
        .environments()
        .into_iter()
        .find(|e| e.alive() && e.version.map(|v| v.to_string()).as_deref() == Some(version))
        .expect("the version's environment");
    let mut idle = 0;
    for _ in 0..1200 {
        idle = env.workers_waiting();
        if idle == workers {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(idle, workers, "workers waiting for an event");
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
        let seen = get_parameter_calls(&recorder);
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
        delete_version(&client, &version).await;
    }
    let logs = tempfile::tempdir().expect("tempdir");
    p.write_logs(&logs.path().join("environments.log"))
        .expect("logs");
    assert_no_canary_in(logs.path(), &b.canary);
    p.shutdown().await;
}

/// The AWS path with the calls Lambda offers for Managed Instances (moto has none of them: the
/// local platform's Lambda API, which follows AWS's documented shapes, stands in): `secbench
/// run` puts the stage's function on the capacity provider the stage file names with the
/// plan's shape, publishes a version, asks for one environment, waits for `Active`, invokes the
/// version, and deletes the version when the scenario is over; the scenario after it, on
/// demand, leaves the capacity provider config alone (on AWS a function stays what the
/// template made it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_aws_path_uses_the_stage_s_capacity_provider_and_deletes_the_version_it_published() {
    let b = backend().await;
    let p = platform(&b, 4, Duration::from_secs(30)).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let plan = plan(
        dir.path(),
        r#"
[defaults]
cold_starts = 0
warm_invocations = 12
concurrency = 4
memory_mb = 2048

[[scenario]]
name = "lmi-ssm-ttl"
source = "ssm"
cache = "ttl"
cache_ttl = "5m"
single_flight = true
execution = "managed-instances"
max_concurrency = 4
"#,
    );
    let mut target = target();
    // The AWS stage's settings: a capacity provider of its own, functions kept as deployed.
    target.local_emulator = false;
    target.capacity_provider = Some(secbench::run::control::CapacityProvider {
        arn: CAPACITY_PROVIDER.into(),
        one_function: false,
    });
    let summary = run_as(&p, &plan, &target, &dir.path().join("runs")).await;
    let run = summary.dir.clone();
    let client = client(&p).await;
    let records = records(&run);
    assert_eq!(records.len(), 12, "{summary:?}");
    let probes: Vec<_> = records.iter().filter_map(|r| r.probe.as_ref()).collect();
    assert_eq!(probes.len(), 12);
    // One environment, shared by the invocations of the published version.
    let envs: BTreeSet<_> = probes.iter().map(|r| r.environment_id.clone()).collect();
    assert_eq!(envs.len(), 1);
    assert!(probes.iter().all(|r| r.max_concurrency == Some(4)));
    let version = records[0]
        .executed_version
        .clone()
        .expect("executed version");
    assert_ne!(version, "$LATEST");
    // The function is on the stage's capacity provider with the plan's shape...
    let c = client
        .get_function_configuration()
        .function_name(secbench::local_stage::FUNCTION)
        .send()
        .await
        .expect("configuration");
    let lmi = c
        .capacity_provider_config
        .and_then(|c| c.lambda_managed_instances_capacity_provider_config)
        .expect("a capacity provider config");
    assert_eq!(lmi.capacity_provider_arn, CAPACITY_PROVIDER);
    assert_eq!(lmi.per_execution_environment_max_concurrency, Some(4));
    assert_eq!(lmi.execution_environment_memory_gib_per_v_cpu, Some(2.0));
    // ...and the version it published is gone, its environment with it.
    let gone = client
        .get_function_configuration()
        .function_name(secbench::local_stage::FUNCTION)
        .qualifier(&version)
        .send()
        .await
        .expect_err("the version was deleted");
    assert_eq!(
        gone.as_service_error()
            .and_then(aws_smithy_types::error::metadata::ProvideErrorMetadata::code),
        Some("ResourceNotFoundException")
    );
    assert!(p.environments().iter().all(|e| !e.alive()));
    assert_no_canary_in(&run, &b.canary);
    p.shutdown().await;
}

/// A stage deployed with ManagedInstances=true: the stage file names the capacity provider and
/// the probe of each runtime on it, and `secbench run` gives each managed-instances scenario
/// its runtime's function; a stage without them says what to deploy.
#[test]
fn the_stage_file_names_the_capacity_provider_and_the_managed_functions() {
    use secbench::stage_file;
    use secbench_record::Runtime;
    let fixtures = root().join("secbench/tests/fixtures/deploy");
    let f = stage_file::from_outputs(&fixtures.join("describe-stacks-managed.json"), None)
        .expect("outputs");
    assert_eq!(
        f.capacity_provider_arn.as_deref(),
        Some("arn:aws:lambda:eu-central-1:123456789012:capacity-provider:secbench-dev")
    );
    assert_eq!(
        f.managed_functions,
        [
            (Runtime::Rust, "secbench-probe-dev-lmi".to_owned()),
            (
                Runtime::Python314,
                "secbench-probe-dev-lmi-python".to_owned()
            ),
            (Runtime::Nodejs24, "secbench-probe-dev-lmi-node".to_owned()),
        ]
        .into()
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let mut plan = plan(
        dir.path(),
        r#"
[[scenario]]
name = "lmi"
source = "ssm"
cold_starts = 0
warm_invocations = 1
memory_mb = 2048
runtime = ["rust", "python3.14", "nodejs24.x"]
execution = "managed-instances"
max_concurrency = 8

[[scenario]]
name = "on-demand"
source = "ssm"
"#,
    );
    stage_file::assign_managed_functions(&mut plan.scenarios, &f.managed_functions)
        .expect("assigned");
    let functions: Vec<_> = plan
        .scenarios
        .iter()
        .map(|s| (s.name.as_str(), s.function.as_deref()))
        .collect();
    assert_eq!(
        functions,
        [
            ("lmi-rust", Some("secbench-probe-dev-lmi")),
            ("lmi-python314", Some("secbench-probe-dev-lmi-python")),
            ("lmi-node24", Some("secbench-probe-dev-lmi-node")),
            ("on-demand", None),
        ]
    );
    let e = stage_file::assign_managed_functions(&mut plan.scenarios.clone(), &Default::default());
    assert!(e.is_ok(), "assigned scenarios keep their function");
    let mut fresh = plan.scenarios.clone();
    for s in &mut fresh {
        s.function = None;
    }
    let e = stage_file::assign_managed_functions(&mut fresh, &Default::default())
        .expect_err("no managed functions");
    assert!(
        e.contains("deploy the stage with ManagedInstances=true"),
        "{e}"
    );
}

/// Python on Lambda Managed Instances: the runtime interface client forks one process per
/// `AWS_LAMBDA_MAX_CONCURRENCY`, each with its own INIT and cache, so one TTL period's calls
/// grow with the processes: with every process idle and waiting, as many concurrent invocations
/// as processes make that many GetParameter calls (moto's recorder counts them), one per
/// process, where the Rust probe's shared cache with single flight makes one per environment
/// (the herd test above).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_calls_per_ttl_grow_with_its_processes() {
    let b = backend().await;
    let proxy = FaultProxy::start(&b.moto.endpoint).await.expect("proxy");
    let mut config = platform_config(&b, 4, Duration::from_secs(60));
    config
        .platform_vars
        .insert("AWS_ENDPOINT_URL".into(), proxy.endpoint.clone());
    config.probe_bin =
        secbench::local_stage::runtime_probe(&root(), secbench_record::Runtime::Python313)
            .expect("the Python probe's start script (scripts/install-probes.sh)");
    let p = LocalPlatform::start(config).await.expect("platform");
    let client = client(&p).await;
    for processes in [2u32, 4] {
        proxy.control.set(None);
        let mut vars = ssm_ttl_vars(&b, false);
        vars.remove("SECBENCH_SINGLE_FLIGHT");
        vars.insert("SECBENCH_CACHE_TTL".into(), "5m".into());
        let version =
            publish_on_capacity_provider(&client, vars, i32::try_from(processes).expect("n")).await;
        // Every process has finished its INIT and waits for an event.
        wait_for_idle_workers(&p, &version, processes).await;
        proxy.control.set(Some(slow_ssm()));
        let recorder = MotoRecorder::started(&b.moto.endpoint);
        let mut burst = tokio::task::JoinSet::new();
        for _ in 0..processes {
            let (client, version) = (client.clone(), version.clone());
            burst.spawn(async move { invoke(&client, &version).await });
        }
        let records: Vec<ProbeRecord> = burst.join_all().await;
        proxy.control.set(None);
        let seen = get_parameter_calls(&recorder);
        assert_eq!(seen, processes as usize, "{processes} processes");
        let workers: BTreeSet<_> = records.iter().map(|r| r.worker.clone()).collect();
        assert_eq!(workers.len(), processes as usize);
        assert!(records.iter().all(|r| r.max_concurrency == Some(processes)
            && r.runtime == Some(secbench_record::Runtime::Python313)));
        delete_version(&client, &version).await;
    }
    p.shutdown().await;
}

/// The Node.js probe as Lambda Managed Instances runs Node.js: aws-lambda-ric 4.x starts
/// `AWS_LAMBDA_NODEJS_WORKER_COUNT` worker threads, each with its own INIT and cache, and each
/// thread serves several invocations at once. A burst of four concurrent invocations on two
/// threads, with every fetch slowed so all four overlap: without single flight every one misses
/// (four calls: the herd inside each thread); with it, one call per thread that served the
/// burst. moto's recorder counts the calls, and each record's own calls (the probe's
/// AsyncLocalStorage log) add up to what moto saw.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_calls_per_ttl_are_one_per_worker_thread_with_single_flight() {
    const THREADS: u32 = 2;
    let b = backend().await;
    let proxy = FaultProxy::start(&b.moto.endpoint).await.expect("proxy");
    let mut config = platform_config(&b, 4, Duration::from_secs(60));
    config
        .platform_vars
        .insert("AWS_ENDPOINT_URL".into(), proxy.endpoint.clone());
    config.probe_bin =
        secbench::local_stage::runtime_probe(&root(), secbench_record::Runtime::Nodejs22)
            .expect("the Node.js probe's start script (scripts/install-probes.sh)");
    let p = LocalPlatform::start(config).await.expect("platform");
    let client = client(&p).await;
    for single_flight in [false, true] {
        proxy.control.set(None);
        let mut vars = ssm_ttl_vars(&b, single_flight);
        vars.insert("SECBENCH_CACHE_TTL".into(), "5m".into());
        vars.insert(
            secbench_record::lambda::NODE_WORKER_COUNT_VAR.into(),
            THREADS.to_string(),
        );
        let version = publish_on_capacity_provider(&client, vars, 4).await;
        wait_for_idle_workers(&p, &version, THREADS).await;
        proxy.control.set(Some(slow_ssm()));
        let recorder = MotoRecorder::started(&b.moto.endpoint);
        let mut burst = tokio::task::JoinSet::new();
        for _ in 0..4 {
            let (client, version) = (client.clone(), version.clone());
            burst.spawn(async move { invoke(&client, &version).await });
        }
        let records: Vec<ProbeRecord> = burst.join_all().await;
        proxy.control.set(None);
        let seen = get_parameter_calls(&recorder);
        let threads: BTreeSet<_> = records.iter().map(|r| r.worker.clone()).collect();
        assert!(
            threads.len() as u32 <= THREADS
                && threads.iter().all(|w| w
                    .as_deref()
                    .is_some_and(|w| w.starts_with("pid:") && w.contains("/thread:"))),
            "{threads:?}"
        );
        let envs: BTreeSet<_> = records.iter().map(|r| r.environment_id.clone()).collect();
        assert_eq!(envs.len(), 1, "one environment for its threads");
        assert!(records.iter().all(|r| r.max_concurrency == Some(4)
            && r.single_flight == Some(single_flight)
            && r.fetches[0].verified == Some(true)));
        let expected = if single_flight { threads.len() } else { 4 };
        assert_eq!(
            seen,
            expected,
            "single_flight = {single_flight}: moto saw {seen} GetParameter calls from {} threads",
            threads.len()
        );
        let counted: u32 = records
            .iter()
            .map(|r| r.fetches[0].api_calls.iter().map(|c| c.count).sum::<u32>())
            .sum();
        assert_eq!(counted as usize, seen, "each record counts its own calls");
        delete_version(&client, &version).await;
    }
    let logs = tempfile::tempdir().expect("tempdir");
    p.write_logs(&logs.path().join("environments.log"))
        .expect("logs");
    assert_no_canary_in(logs.path(), &b.canary);
    p.shutdown().await;
}

/// The whole local stage with an on-demand and two managed-instances scenarios (Rust, and
/// Node.js on its worker threads): the report's decision has the `+lmi` rows at their own size, priced as instances, and a sentence sets its
/// price beside the recommendation on demand; no canary anywhere in the run or the report.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_decision_prices_the_managed_instances_row_beside_the_on_demand_recommendation() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plan = dir.path().join("plan.toml");
    std::fs::write(
        &plan,
        r#"stage = "local"

[[scenario]]
name = "ssm-init"
source = "ssm"
fetch_at = "init"
cold_starts = 2
warm_invocations = 10
memory_mb = 128

[[scenario]]
name = "lmi-ssm-init"
source = "ssm"
fetch_at = "init"
execution = "managed-instances"
max_concurrency = 4
memory_mb = 2048
cold_starts = 0
warm_invocations = 20
concurrency = 4

[[scenario]]
name = "lmi-node-ttl"
source = "ssm"
cache = "ttl"
cache_ttl = "5m"
single_flight = true
runtime = "nodejs22.x"
execution = "managed-instances"
max_concurrency = 4
memory_mb = 2048
cold_starts = 0
warm_invocations = 20
concurrency = 4
"#,
    )
    .expect("plan");
    let out = dir.path().join("runs");
    let value = canary();
    let summary = run_local(&plan, &out, &value, None).await.expect("run");
    let run = summary.dir.clone();
    let files = write_report(&run);
    let md = std::fs::read_to_string(&files.markdown).expect("report.md");
    assert!(md.contains("ssm@init+lmi"), "{md}");
    assert!(
        md.contains("ssm+ttl+single-flight+lmi [nodejs22.x]"),
        "{md}"
    );
    assert!(
        md.contains("On Lambda Managed Instances (at 2048 MB), ssm@init+lmi comes first: $206/month, $205 more than ssm@init on demand"),
        "{md}"
    );
    assert_no_canary_in(&run, &value);
    assert_no_canary_in(files.html.parent().expect("report dir"), &value);
}
