//! The local stage's parts around the platform: moto and the SDK configuration that reaches it,
//! what is provisioned there, the variables the probe's processes get, the hook that switches
//! faults and code as each scenario starts, the rotator, and the emulation statement.

use super::options::{LocalError, REGION};
use crate::plan::Plan;
use crate::run::ScenarioHook;
use secbench_local_lambda::faults::FaultControl;
use secbench_local_lambda::front::Front;
use secbench_local_lambda::moto::{self, Moto};
use secbench_local_lambda::{Code, Constraints};
use secbench_record::probe_config::{EncryptionContext, Plaintext, ProbeConfig};
use secbench_record::run::{Emulation, InitCpuEmulation, Oversubscribed};
use secbench_record::{ProbeBuild, Runtime};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Starts moto from the project venv.
pub fn start_moto(root: &Path) -> Result<Moto, LocalError> {
    Ok(moto::start(root)?)
}

/// The hook that switches the fault proxy to each scenario's faults as it starts.
pub fn fault_hook(control: FaultControl) -> ScenarioHook {
    ScenarioHook(Arc::new(move |s| control.set(s.faults.clone())))
}

/// The local stage's hook as each scenario starts: its faults at the front, and its build of
/// the probe as the function's code (the configuration change that starts the scenario
/// retires the environments of the build before): a binary, or the default one with the VM
/// generation counter.
pub fn scenario_hook(
    control: FaultControl,
    probe: secbench_local_lambda::ProbeSwitch,
    builds: BTreeMap<ProbeBuild, Code>,
    runtimes: BTreeMap<Runtime, PathBuf>,
) -> ScenarioHook {
    ScenarioHook(Arc::new(move |s| {
        control.set(s.faults.clone());
        let code = match s.runtime {
            Runtime::Rust => builds.get(&s.probe_build).cloned(),
            other => runtimes.get(&other).map(|bin| Code {
                bin: bin.clone(),
                sysgenid: None,
            }),
        };
        if let Some(code) = code {
            probe.set(code);
        }
    }))
}

/// SDK configuration for the emulator at `endpoint` (static local credentials).
pub async fn emulator_sdk(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_kms::config::Credentials::new(
            "local", "local", None, None, "local",
        ))
        .load()
        .await
}

/// The function's own variables on the local stage: where the provisioned secret is, and the
/// plaintext for `plain-env` (that approach keeps it in the function's environment by design).
pub fn function_vars(p: &crate::provision::Provisioned, value: &str) -> BTreeMap<String, String> {
    let config = ProbeConfig {
        stage: Some("local".into()),
        source: Some(secbench_record::Source::PlainEnv),
        plaintext: Some(Plaintext(value.to_owned())),
        ciphertext_b64: Some(p.ciphertext_b64.clone()),
        kms_encryption_context: Some(EncryptionContext::LambdaFunctionName),
        parameter_name: Some(p.parameter_name.clone()),
        secret_id: Some(p.secret_id.clone()),
        expected_sha256: Some(vec![p.digest]),
        ..ProbeConfig::default()
    };
    let mut vars = BTreeMap::new();
    config.apply(&mut vars);
    vars
}

/// The variables the platform gives every process of the local stage.
/// The secret access key is made from the session token, so a search for the token (which
/// the tests make) finds a leaked key too.
pub fn platform_vars(moto: &str, session_token: &str) -> BTreeMap<String, String> {
    let secret_key = format!("sk-{session_token}");
    [
        ("AWS_ACCESS_KEY_ID", "local"),
        ("AWS_SECRET_ACCESS_KEY", secret_key.as_str()),
        ("AWS_SESSION_TOKEN", session_token),
        ("AWS_ENDPOINT_URL", moto),
        ("AWS_REGION", REGION),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// What this run emulates: from the plan, the front and the constraints in force. A scenario
/// whose environments' quotas (concurrency x memory share) add up to more than the host's
/// CPUs is named: its figures include host contention.
pub fn emulation(
    plan: &Plan,
    front: &Front,
    constraints: &Constraints,
    agent: Option<String>,
) -> Emulation {
    let host_cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let constrained = matches!(constraints, Constraints::Cgroups { .. });
    // The period environments get: the plan's, or the one a calibration raised it to.
    let cpu_period = constraints.cpu_period().unwrap_or(plan.local.cpu_period);
    let oversubscribed = plan
        .scenarios
        .iter()
        .filter(|_| constrained)
        .filter_map(|s| {
            let share = secbench_local_lambda::cgroup::Limits {
                memory_mb: s.memory_mb,
                cpu_period,
            }
            .cpus();
            // Managed instances: the version's environments, each with its vCPUs.
            let total = match (s.managed_instances, s.managed_environments()) {
                (Some(m), Some(n)) => m.vcpus(s.memory_mb) * f64::from(n),
                _ => share * s.concurrency as f64,
            };
            (total > host_cpus as f64).then(|| Oversubscribed {
                scenario: s.name.clone(),
                cpu_millis: (total * 1000.0).round() as u32,
            })
        })
        .collect();
    Emulation {
        cpu_and_memory: constraints.describe(),
        cpu_period_us: constrained
            .then(|| u64::try_from(cpu_period.as_micros()).unwrap_or(u64::MAX)),
        frozen_between_invocations: constrained,
        tls: front.tls(),
        rtt_ns: u64::try_from(front.network().rtt.as_nanos()).unwrap_or(u64::MAX),
        connection_setup_ns: u64::try_from(front.network().connection_setup.as_nanos())
            .unwrap_or(u64::MAX),
        idle_timeout_ns: front
            .network()
            .idle_timeout
            .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)),
        oversubscribed,
        host_cpus: u32::try_from(host_cpus).unwrap_or(u32::MAX),
        agent,
        init_cpu: constrained.then(|| InitCpuEmulation {
            mode: plan.local.init_cpu,
            boosted_cpu_millis: (secbench_record::lambda::INIT_BOOST_CPUS.min(host_cpus as f64)
                * 1000.0)
                .round() as u32,
        }),
        entropy: Vec::new(),
        calibrated_from: None,
        runtimes: Vec::new(),
        managed_instances: plan
            .scenarios
            .iter()
            .filter_map(|s| {
                let m = s.managed_instances?;
                Some(secbench_record::emulation::ManagedInstancesEmulation {
                    scenario: s.name.clone(),
                    environments: s.managed_environments()?,
                    max_concurrency: m.max_concurrency,
                    vcpus: m.vcpus(s.memory_mb),
                })
            })
            .collect(),
        snapstart: plan
            .scenarios
            .iter()
            .filter(|s| s.concurrency_mode == secbench_record::ConcurrencyMode::SnapStart)
            .map(|s| s.name.clone())
            .collect(),
    }
}

/// The rotator of the local stage: it writes into what provisioning created in moto, with
/// random values, or with `<canary>-rotated-<n>` when the tests gave a canary (so a search for
/// the canary finds every rotated value too).
pub fn rotator(
    sdk: aws_config::SdkConfig,
    p: &crate::provision::Provisioned,
    canary: Option<String>,
) -> crate::run::rotate::Rotator {
    use crate::provision::Value;
    let values: crate::run::rotate::ValueMaker = match canary {
        Some(c) => Box::new(move |n| Value::new(format!("{c}-rotated-{n}"))),
        None => Box::new(|_| Value::new(crate::provision::random_value())),
    };
    crate::run::rotate::Rotator::new(
        sdk,
        crate::run::rotate::Resources {
            secret_id: p.secret_id.clone(),
            parameter_name: p.parameter_name.clone(),
            key_id: p.key_id.clone(),
        },
        p.digest,
        values,
    )
}
/// Provisions in moto what `plan` reads: a key, the ciphertext, a `SecureString` and a secret
/// holding `value`, and for scenarios that read several secrets as many more values as the
/// largest count (`canary-m<i>` when the tests gave a canary, else random) with a bundle per
/// count read with `multi = "bundle"`.
pub async fn provision(
    sdk: &aws_config::SdkConfig,
    plan: &Plan,
    value: &str,
    canary: Option<&str>,
) -> Result<
    (
        crate::provision::Provisioned,
        Option<crate::targets::ManySecrets>,
    ),
    LocalError,
> {
    let prefix = format!("secbench/local/{:08x}", rand::random::<u32>());
    let p = crate::provision::provision(sdk, &prefix, super::options::FUNCTION, value).await?;
    eprintln!(
        "secbench local: provisioned key, ciphertext, SecureString and secret in moto (SHA-256 {})",
        p.digest
    );
    if !plan.scenarios.iter().any(|s| s.multi.is_some()) {
        return Ok((p, None));
    }
    let most = plan.scenarios.iter().map(|s| s.secrets).max().unwrap_or(1);
    let values: Vec<crate::provision::Value> = (0..most)
        .map(|i| {
            crate::provision::Value::new(match canary {
                Some(c) => format!("{c}-m{i}"),
                None => crate::provision::random_value(),
            })
        })
        .collect();
    let mut bundles: Vec<u32> = plan
        .scenarios
        .iter()
        .filter(|s| s.multi == Some(secbench_record::MultiMode::Bundle))
        .map(|s| s.secrets)
        .collect();
    bundles.sort_unstable();
    bundles.dedup();
    let m = crate::provision::provision_many(
        sdk,
        &prefix,
        &p.key_id,
        &values,
        &bundles,
        (&p.secret_id, &p.parameter_name),
    )
    .await?;
    eprintln!(
        "secbench local: provisioned {most} more secrets and SecureStrings and {} bundle(s) of each for the scenarios that read several",
        bundles.len()
    );
    Ok((p, Some(m)))
}

/// Requests [`Front::measure_overhead`] times before a calibrated run.
const OVERHEAD_SAMPLES: usize = 40;

/// The TLS front every request of the probe and the agent goes through (the plan's round trip,
/// the scenario's faults; one listener per execution environment), drawing AWS's service
/// times when `calibration` gives them (its own overhead measured first).
pub async fn start_front(
    moto: &str,
    plan: &Plan,
    calibration: Option<&secbench_analyzer::calibration::AwsCalibration>,
) -> Result<Arc<Front>, LocalError> {
    let front = match calibration {
        Some(c) => Front::calibrated(moto, plan.network, c.service_ns.clone()),
        None => Front::new(moto, plan.network),
    }
    .map_err(|e| LocalError::Spawn {
        what: "the TLS front".into(),
        source: std::io::Error::other(e),
    })?;
    if front.is_calibrated() {
        front
            .measure_overhead(OVERHEAD_SAMPLES)
            .await
            .map_err(|source| LocalError::Spawn {
                what: "the TLS front's overhead measurement".into(),
                source,
            })?;
    }
    Ok(front)
}

/// Starts the local Lambda platform for `plan`: the function's code and variables, the agent
/// when it was built, environments under `constraints`, every request through `front`.
pub async fn start_platform(
    plan: &Plan,
    builds: &super::build::Builds,
    moto: &str,
    function_vars: BTreeMap<String, String>,
    constraints: Constraints,
    front: &Arc<Front>,
) -> Result<secbench_local_lambda::LocalPlatform, LocalError> {
    let session_token = format!("local-{:032x}", rand::random::<u128>());
    let max_concurrency = plan
        .scenarios
        .iter()
        .map(|s| s.concurrency)
        .max()
        .unwrap_or(1);
    let agent = &builds.main.agent;
    let platform =
        secbench_local_lambda::LocalPlatform::start(secbench_local_lambda::PlatformConfig {
            function_name: super::options::FUNCTION.into(),
            region: REGION.into(),
            probe_bin: builds.main.probe.clone(),
            agent_bin: agent.is_file().then(|| agent.clone()),
            platform_vars: platform_vars(moto, &session_token),
            function_vars,
            memory_mb: 128,
            timeout: plan.longest_timeout(),
            max_concurrency: usize::try_from(max_concurrency).unwrap_or(1),
            agent_start_delay: None,
            constraints,
            front: Some(front.clone()),
        })
        .await
        .map_err(|source| LocalError::Spawn {
            what: "the local Lambda platform".into(),
            source,
        })?;
    eprintln!(
        "secbench local: local Lambda platform at {}",
        platform.endpoint
    );
    Ok(platform)
}
