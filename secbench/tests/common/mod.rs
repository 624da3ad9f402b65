//! Shared helpers of the CLI's integration tests (with `secbench-test-support`): the release probe, moto, provisioning
//! with a canary value, a local platform, and plans written to temporary files.
#![allow(dead_code)]

use secbench::local_stage::{platform_vars, start_moto, FUNCTION, REGION};
use secbench::plan::Plan;
use secbench::provision::Provisioned;
use secbench::run::{self, Target};
use secbench_local_lambda::moto::Moto;
use secbench_local_lambda::{LocalPlatform, PlatformConfig};
use secbench_record::run::{InvocationRecord, Manifest};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[allow(unused_imports)]
pub use secbench_test_support::{assert_no_canary_in, canary, root, MotoRecorder};

/// The release probe (scripts/test.sh builds it before the tests).
pub fn probe_bin() -> PathBuf {
    secbench_test_support::release_bin("bench-lambda")
}

/// The agent of the same release build (scripts/test.sh builds it).
pub fn agent_bin() -> PathBuf {
    secbench_test_support::release_bin(secbench_local_lambda::agent::BIN_NAME)
}

/// moto with a key, ciphertext, parameter and secret holding `canary`.
pub struct Backend {
    pub moto: Moto,
    pub provisioned: Provisioned,
    pub canary: String,
}

pub async fn backend() -> Backend {
    let moto = start_moto(&root()).expect("moto starts (scripts/install-moto.sh)");
    let sdk = secbench::local_stage::emulator_sdk(&moto.endpoint).await;
    let canary = canary();
    let provisioned = secbench::provision::provision(
        &sdk,
        &format!("t{:08x}", rand::random::<u32>()),
        FUNCTION,
        &canary,
    )
    .await
    .expect("provision");
    Backend {
        moto,
        provisioned,
        canary,
    }
}

pub const SESSION_TOKEN: &str = "test-session-token";

pub fn function_vars(b: &Backend) -> BTreeMap<String, String> {
    secbench::local_stage::function_vars(&b.provisioned, &b.canary)
}

pub async fn platform(b: &Backend, max_concurrency: usize, timeout: Duration) -> LocalPlatform {
    LocalPlatform::start(platform_config(b, max_concurrency, timeout))
        .await
        .expect("platform starts")
}

pub fn target() -> Target {
    Target {
        stage: "local".into(),
        region: REGION.into(),
        function: FUNCTION.into(),
        local_emulator: true,
        extension_layer_arn: Some(format!(
            "arn:aws:lambda:{REGION}:000000000000:layer:{}:local",
            secbench_local_lambda::EXTENSION_LAYER_NAME
        )),
        poll: Duration::from_millis(10),
        on_scenario_start: None,
        emulation: None,
        rotator: None,
        many: None,
        capacity_provider: Some(secbench::run::control::CapacityProvider {
            arn: secbench::local_stage::LOCAL_CAPACITY_PROVIDER.into(),
            one_function: true,
        }),
    }
}

pub fn plan(dir: &Path, text: &str) -> Plan {
    let path = dir.join("plan.toml");
    std::fs::write(&path, text).expect("write plan");
    Plan::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

/// Runs `plan` against the local platform into `out` (no resume, no cancel).
pub async fn run_plan(p: &LocalPlatform, plan: &Plan, out: &Path) -> run::RunSummary {
    run_as(p, plan, &target(), out).await
}

/// [`run_plan`] as `target` (the AWS path's settings, a capacity provider).
pub async fn run_as(
    p: &LocalPlatform,
    plan: &Plan,
    target: &Target,
    out: &Path,
) -> run::RunSummary {
    run::run(
        client(p).await,
        plan,
        target,
        out,
        None,
        run::Cancel::default(),
    )
    .await
    .expect("run")
}

/// The `GetParameter` calls moto's recorder saw.
pub fn get_parameter_calls(recorder: &MotoRecorder) -> usize {
    recorder
        .operations()
        .iter()
        .filter(|o| o.as_str() == "GetParameter")
        .count()
}

/// A Lambda client for moto's Lambda in eu-central-1, as the AWS-path tests use it.
pub async fn moto_lambda(endpoint: &str) -> aws_sdk_lambda::Client {
    run::lambda_client(
        "eu-central-1",
        Some(endpoint),
        Duration::from_secs(10),
        true,
    )
    .await
}

/// The `dev` stage's target in eu-central-1, driving `function`.
pub fn dev_target(function: &str) -> Target {
    Target {
        stage: "dev".into(),
        region: "eu-central-1".into(),
        function: function.into(),
        local_emulator: false,
        extension_layer_arn: None,
        poll: Duration::from_millis(10),
        on_scenario_start: None,
        emulation: None,
        rotator: None,
        many: None,
        capacity_provider: None,
    }
}

pub async fn client(p: &LocalPlatform) -> aws_sdk_lambda::Client {
    run::lambda_client(REGION, Some(&p.endpoint), Duration::from_secs(30), true).await
}

pub fn records(dir: &Path) -> Vec<InvocationRecord> {
    std::fs::read_to_string(dir.join(secbench_record::run_dir::RECORDS_FILE))
        .expect("records.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad record line: {e}")))
        .collect()
}

pub fn manifest(dir: &Path) -> Manifest {
    secbench_record::run_dir::read_manifest(dir).expect("manifest")
}

/// The platform [`platform`] starts, for tests that change a part of it.
pub fn platform_config(b: &Backend, max_concurrency: usize, timeout: Duration) -> PlatformConfig {
    PlatformConfig {
        function_name: FUNCTION.into(),
        region: REGION.into(),
        probe_bin: probe_bin(),
        agent_bin: Some(agent_bin()),
        platform_vars: platform_vars(&b.moto.endpoint, SESSION_TOKEN),
        function_vars: function_vars(b),
        memory_mb: 128,
        timeout,
        max_concurrency,
        agent_start_delay: None,
        constraints: secbench_local_lambda::Constraints::None(
            secbench_record::run::Constraint::NotConstrained,
        ),
        front: None,
    }
}

/// The report of a run (with the example workload), written beside it.
pub fn write_report(run: &Path) -> secbench_analyzer::report::ReportFiles {
    secbench::commands::report::write(&secbench::commands::report::ReportOptions {
        runs: vec![run.to_path_buf()],
        workload: Some(root().join("scripts/workloads/example.toml")),
        pricing: None,
        slo: Default::default(),
        compare: None,
        noise_threshold: 0.05,
        out: secbench_analyzer::report::default_out(run),
        skip_invalid: false,
    })
    .expect("report")
}

/// Runs the plan file `plan` on the local stage into `out`, with the release probe (nothing
/// installed or built) and `value` provisioned (a canary the tests search the outputs for).
pub async fn run_local(
    plan: &Path,
    out: &Path,
    value: &str,
    service_time_from: Option<&Path>,
) -> Result<run::RunSummary, secbench::local_stage::LocalError> {
    let opts = secbench::local_stage::LocalOptions::new(root(), plan.to_owned(), out.to_owned())
        .with_probe(probe_bin())
        .with_value(value)
        .with_service_time_from(service_time_from.map(Path::to_owned));
    let plan = opts.load_plan()?;
    secbench::local_stage::run_local(&opts, &plan, run::Cancel::default()).await
}

/// Every probe record of a run (a record without one is an invocation that failed before the
/// probe answered) validates against the one probe-record schema.
pub fn assert_probe_records_schema_valid(run: &Path) {
    let schema: serde_json::Value =
        serde_json::from_str(secbench_record::PROBE_RECORD_SCHEMA).expect("schema");
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let text =
        std::fs::read_to_string(run.join(secbench_record::run_dir::RECORDS_FILE)).expect("records");
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("json");
        if v["probe"].is_null() {
            continue;
        }
        let errors: Vec<String> = validator
            .iter_errors(&v["probe"])
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{errors:#?}");
    }
}
