//! A run inside AWS on the local stage, with real parts: the template's state machine
//! (`scripts/statemachine/run.asl.json`) executed by moto's ASL interpreter, its Lambda tasks
//! routed by the project's moto launcher to the driver (this crate's binary) running on a local
//! Lambda platform, the driver invoking the release probe on another local platform with the
//! runner's own code, and the slices' records landing in moto's S3. The run pulled from S3 is
//! compared with the same plan run by `secbench run`'s code on the local platform.

#[path = "../../secbench/tests/common/mod.rs"]
mod common;

use common::*;
use secbench::in_aws::execution::{follow, resume, start, stop, Started};
use secbench::in_aws::pull::pull;
use secbench::in_aws::store::Store;
use secbench::in_aws::{RunInput, RunRef};
use secbench::local_stage::{platform_vars, REGION};
use secbench_local_lambda::{LocalPlatform, PlatformConfig};
use secbench_record::run::{Phase, RunStatus};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

const DRIVER: &str = "secbench-driver-local";
const BUCKET: &str = "secbench-results-local";

const PLAN: &str = r#"stage = "local"

[defaults]
cold_starts = 2
concurrency = 2
warm_invocations = 8

[[scenario]]
name = "ssm-init"
source = "ssm"
fetch_at = "init"

[[scenario]]
name = "sm-ttl"
source = "secrets-manager"
cache = "ttl"
cache_ttl = "5m"
rate = "40/s"

[[scenario]]
name = "kms-env"
source = "kms-env"
"#;

/// Posts moto's config: execute state machines, and route their Lambda tasks to `lambda`.
fn configure_moto(moto: &str, lambda: &str) {
    let body = serde_json::json!({
        "stepfunctions": {"execute_state_machine": true},
        "lambda": {"use_docker": false, "secbench_invoke_endpoint": lambda},
    });
    let out = std::process::Command::new("curl")
        .args(["-sf", "-X", "POST", "-H", "content-type: application/json"])
        .arg("--data")
        .arg(body.to_string())
        .arg(format!("{moto}/moto-api/config"))
        .output()
        .expect("curl");
    assert!(out.status.success(), "moto config: {out:?}");
}

struct Stage {
    b: Backend,
    probes: LocalPlatform,
    driver: LocalPlatform,
    sfn: aws_sdk_sfn::Client,
    store: Store,
    state_machine: String,
}

async fn stage(fail_first_attempt_of: &str) -> Stage {
    let b = backend().await;
    let probes = platform(&b, 8, Duration::from_secs(30)).await;
    let mut vars = platform_vars(&b.moto.endpoint, SESSION_TOKEN);
    vars.insert("AWS_ENDPOINT_URL_LAMBDA".into(), probes.endpoint.clone());
    vars.insert(
        secbench::in_aws::driver::FAIL_FIRST_ATTEMPT_VAR.into(),
        fail_first_attempt_of.into(),
    );
    let driver = LocalPlatform::start(PlatformConfig {
        function_name: DRIVER.into(),
        probe_bin: env!("CARGO_BIN_EXE_secbench-driver").into(),
        agent_bin: None,
        platform_vars: vars,
        function_vars: BTreeMap::new(),
        memory_mb: 1024,
        ..platform_config(&b, 8, Duration::from_secs(900))
    })
    .await
    .expect("the driver's platform");
    configure_moto(&b.moto.endpoint, &driver.endpoint);
    let sdk = secbench::local_stage::emulator_sdk(&b.moto.endpoint).await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build(),
    );
    s3.create_bucket()
        .bucket(BUCKET)
        .send()
        .await
        .expect("CreateBucket");
    let sfn = aws_sdk_sfn::Client::new(&sdk);
    let definition = std::fs::read_to_string(root().join("scripts/statemachine/run.asl.json"))
        .expect("the state machine")
        .replace(
            "${DriverArn}",
            &format!("arn:aws:lambda:{REGION}:123456789012:function:{DRIVER}"),
        );
    let state_machine = sfn
        .create_state_machine()
        .name(format!("secbench-run-{:08x}", rand::random::<u32>()))
        .definition(definition)
        .role_arn("arn:aws:iam::123456789012:role/secbench-run")
        .send()
        .await
        .expect("CreateStateMachine")
        .state_machine_arn()
        .to_owned();
    Stage {
        store: Store::new(&sdk, BUCKET),
        b,
        probes,
        driver,
        sfn,
        state_machine,
    }
}

fn input(plan: &secbench::plan::Plan) -> RunInput {
    let t = target();
    RunInput {
        plan: plan.file.clone(),
        resolved: plan.resolved(),
        stage: t.stage,
        region: t.region,
        function: t.function,
        extension_layer_arn: t.extension_layer_arn,
        stage_file: None,
        rotation: None,
        warm_slices: Some(2),
        local_emulator: true,
    }
}

/// Every S3 object under the bucket, written into `dir` (for the canary search).
async fn download_all(s: &Stage, dir: &Path) -> usize {
    let keys = s.store.list("").await.expect("list");
    for k in &keys {
        let body = s.store.get(k).await.expect("get").expect("object");
        std::fs::write(dir.join(k.replace('/', "__")), body).expect("write");
    }
    keys.len()
}

/// (scenario, phase, index) of each record, and how many times.
fn keys(run: &Path) -> BTreeMap<(String, Phase, u64), usize> {
    let mut seen = BTreeMap::new();
    for r in records(run) {
        *seen.entry((r.scenario, r.phase, r.index)).or_insert(0) += 1;
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_runs_on_the_state_machine_and_pulls_into_the_run_a_local_run_makes() {
    let started_at = std::time::Instant::now();
    let s = stage("001-sm-ttl-warm-1-of-2").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let plan = plan(dir.path(), PLAN);
    let input = input(&plan);
    let all = input.slices();
    assert_eq!(all.len(), 3);
    assert!(
        all.iter().all(|sc| sc.warm.len() == 2),
        "a lead and two warm slices each"
    );
    let total = input.slice_ids().len();

    let started = start(&s.sfn, &s.store, &s.state_machine, &input)
        .await
        .expect("StartExecution");
    let (status, progress) = follow(
        &s.sfn,
        &s.store,
        &started,
        total,
        Duration::from_millis(200),
    )
    .await
    .expect("follow");
    assert_eq!(status, aws_sdk_sfn::types::ExecutionStatus::Succeeded);
    assert_eq!(progress.slices, total);
    assert_eq!(progress.accounting.sent, plan.planned());

    let pulled = pull(&s.store, &started.run, &dir.path().join("pulled"))
        .await
        .expect("pull");
    assert_eq!(
        pulled.manifest.status,
        RunStatus::Complete,
        "{:?}",
        pulled.manifest.status_message
    );
    assert_eq!(pulled.slices, (total, total));
    assert!(pulled.manifest.accounting.balanced());
    assert_eq!(pulled.manifest.accounting.ok, plan.planned());
    assert_probe_records_schema_valid(&pulled.dir);
    // The slice that failed on its first attempt was retried and recorded once.
    let in_aws = keys(&pulled.dir);
    assert!(
        in_aws.values().all(|n| *n == 1),
        "every invocation recorded once"
    );
    let wall = started_at.elapsed();
    // The cost model's PUTs are the run's objects (the input, the manifest, each slice's
    // records and summary) with the manifest written twice, and prepare's LIST. (Counted in the
    // bucket: moto's request recorder appends large request bodies from several threads to one
    // file, and on a busy machine their lines interleave and do not read back.)
    let objects = s.store.list(&started.run.prefix()).await.expect("list");
    let shape = secbench::in_aws::cost::shape(&input, &pulled.summaries, 0, 0);
    assert_eq!(objects.len(), 2 + 2 * total, "{objects:#?}");
    assert_eq!(shape.s3_put_list_requests, (objects.len() + 1 + 1) as u64);
    assert_eq!(shape.state_transitions, 3 + 2 * 3 + 6);
    assert_eq!(shape.driver_invocations, 2 + total as u64);
    assert!(shape.driver_gb_seconds > 0.0);

    // The same plan by `secbench run`'s code on the local platform.
    let local = run_plan(&s.probes, &plan, &dir.path().join("local")).await;
    assert_eq!(local.status, RunStatus::Complete);
    let here = keys(&local.dir);
    assert_eq!(
        in_aws.keys().collect::<BTreeSet<_>>(),
        here.keys().collect::<BTreeSet<_>>(),
        "the same scenarios, phases and indices"
    );
    assert_eq!(pulled.manifest.accounting, local.accounting);
    assert_eq!(pulled.manifest.planned, manifest(&local.dir).planned);
    // The report reads the pulled run as any other.
    let files = write_report(&pulled.dir);
    let md = std::fs::read_to_string(&files.markdown).expect("report");
    assert!(md.contains("ssm@init"), "{md}");

    // No canary in any S3 object, the pulled run, or the platforms' logs.
    let object_dir = dir.path().join("objects");
    std::fs::create_dir_all(&object_dir).expect("objects dir");
    assert!(download_all(&s, &object_dir).await >= 2 * total + 2);
    s.driver
        .write_logs(&dir.path().join("driver.log"))
        .expect("driver logs");
    s.probes
        .write_logs(&dir.path().join("probes.log"))
        .expect("probe logs");
    assert_no_canary_in(dir.path(), &s.b.canary);
    // The driver ran prepare, the nine slices, the first attempt of 001-sm-ttl-warm-1-of-2
    // (which failed: its records are those of the second), and finish.
    let driver_invocations: u64 = s.driver.environments().iter().map(|e| e.answered()).sum();
    assert_eq!(driver_invocations, 1 + total as u64 + 1 + 1);
    eprintln!(
        "in-aws run: {} records in {total} slices, {:.1} s (wall, with the setup)",
        progress.accounting.sent,
        wall.as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_execution_pulls_as_partial_and_resume_records_every_invocation_once() {
    let s = stage("").await;
    let dir = tempfile::tempdir().expect("tempdir");
    // Every warm slice paced to take two seconds (4 invocations at 2/s): the stop lands while
    // slices are left, however fast the machine.
    let paced = PLAN
        .replace(
            "warm_invocations = 8\n",
            "warm_invocations = 8\nrate = \"4/s\"\n",
        )
        .replace("rate = \"40/s\"\n", "");
    let plan = plan(dir.path(), &paced);
    let input = input(&plan);
    let total = input.slice_ids().len();
    let started = start(&s.sfn, &s.store, &s.state_machine, &input)
        .await
        .expect("StartExecution");
    // Stop it once the first slice is recorded.
    let run = started.run.clone();
    for _ in 0..600 {
        if !secbench::in_aws::driver::recorded(&s.store, &run)
            .await
            .expect("list")
            .is_empty()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop(&s.sfn, &started.execution_arn)
        .await
        .expect("StopExecution");
    let stopped = wait_for_end(&s, &started).await;
    let d = s
        .sfn
        .describe_execution()
        .execution_arn(&started.execution_arn)
        .send()
        .await
        .expect("describe");
    assert_eq!(
        stopped,
        aws_sdk_sfn::types::ExecutionStatus::Aborted,
        "{:?} {:?}",
        d.error(),
        d.cause()
    );
    // Slices already in flight finish on their own: wait until the driver is idle.
    wait_driver_idle(&s.driver).await;

    let first = pull(&s.store, &run, &dir.path().join("first"))
        .await
        .expect("pull");
    assert_eq!(
        first.manifest.status,
        RunStatus::Partial,
        "{:?}",
        first.manifest.status_message
    );
    assert!(
        first.slices.0 >= 1 && first.slices.0 < total,
        "{:?}",
        first.slices
    );
    let message = first.manifest.status_message.clone().unwrap_or_default();
    assert!(
        message.contains(&format!("--resume {}", run.url())),
        "{message}"
    );
    assert!(keys(&first.dir).values().all(|n| *n == 1));

    // A slice its driver's deadline stopped is run again on resume (its summary says so):
    // one recorded slice's summary is made to say it.
    let rerun = secbench::in_aws::driver::recorded(&s.store, &run)
        .await
        .expect("list")
        .into_iter()
        .next()
        .expect("a recorded slice");
    let mut summary: secbench::in_aws::SliceSummary = s
        .store
        .get_json(&run.summary_key(&rerun))
        .await
        .expect("get")
        .expect("its summary");
    summary.stopped = Some("stopped 60 s before its deadline".into());
    s.store
        .put_json(&run.summary_key(&rerun), &summary)
        .await
        .expect("put");

    // --resume: the missing slices only, and the stopped one.
    let again = resume(
        &s.sfn,
        &s.state_machine,
        &RunRef::parse(&run.url()).expect("url"),
    )
    .await
    .expect("resume");
    let (status, _) = follow(&s.sfn, &s.store, &again, total, Duration::from_millis(200))
        .await
        .expect("follow");
    assert_eq!(status, aws_sdk_sfn::types::ExecutionStatus::Succeeded);
    let done = pull(&s.store, &run, &dir.path().join("done"))
        .await
        .expect("pull");
    assert_eq!(
        done.manifest.status,
        RunStatus::Complete,
        "{:?}",
        done.manifest.status_message
    );
    let again_summary: secbench::in_aws::SliceSummary = s
        .store
        .get_json(&run.summary_key(&rerun))
        .await
        .expect("get")
        .expect("its summary");
    assert_eq!(again_summary.stopped, None, "{rerun} ran again");
    let seen = keys(&done.dir);
    assert_eq!(
        seen.len() as u64,
        plan.planned(),
        "every planned invocation"
    );
    assert!(seen.values().all(|n| *n == 1), "recorded once");
    assert_eq!(done.manifest.accounting.sent, plan.planned());
}

async fn wait_for_end(s: &Stage, started: &Started) -> aws_sdk_sfn::types::ExecutionStatus {
    for _ in 0..600 {
        let st = secbench::in_aws::execution::status(&s.sfn, &started.execution_arn)
            .await
            .expect("DescribeExecution");
        if st != aws_sdk_sfn::types::ExecutionStatus::Running {
            return st;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the execution did not end");
}

async fn wait_driver_idle(driver: &LocalPlatform) {
    for _ in 0..1200 {
        if driver.environments().iter().all(|e| e.in_flight() == 0) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the driver did not go idle");
}
