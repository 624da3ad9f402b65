//! `secbench local`: the whole experiment on one machine, no AWS account. [`run_local`] takes a
//! resolved plan, makes sure what it runs is installed and built ([`mod@build`]), starts moto,
//! provisions a key, ciphertext, parameter and secret with a random value ([`setup`]), calibrates
//! from an AWS run when asked ([`calibrate`]), starts the local Lambda platform, and runs the
//! plan through the same runner as AWS. Every figure it produces is a local-emulator figure.

pub mod build;
pub mod calibrate;
pub mod options;
pub mod setup;

pub use build::{
    build, build_all, install, install_and_build, install_probes, runtime_probe, runtime_probes,
    sysgenid_for, variant_builds, variant_setting, Binaries, Builds, Variant, BUILD_COMMAND,
};
pub use options::{find_root, LocalError, LocalOptions, FUNCTION, LOCAL_CAPACITY_PROVIDER, REGION};
pub use setup::{
    emulation, emulator_sdk, fault_hook, function_vars, platform_vars, rotator, scenario_hook,
    start_moto,
};

use crate::plan::Plan;
use crate::run::{self, Cancel, RunSummary, Target};
use secbench_local_lambda::EXTENSION_LAYER_NAME;
use secbench_record::run_dir::PLATFORM_LOG_FILE;
use std::sync::Arc;
use std::time::Duration;

/// Runs `plan` (from [`LocalOptions::load_plan`]) on the local stage.
pub async fn run_local(
    opts: &LocalOptions,
    plan: &Plan,
    cancel: Cancel,
) -> Result<RunSummary, LocalError> {
    let root = &opts.root;
    let sysgenid = sysgenid_for(plan);
    let built = install_and_build(
        root,
        plan,
        !opts.skip_install,
        opts.probe_bin.is_none(),
        sysgenid.is_some(),
    )?;
    let builds = build::binaries(opts.probe_bin.as_deref(), built);
    let moto = start_moto(root)?;
    eprintln!("secbench local: moto (local emulator) at {}", moto.endpoint);
    let sdk = emulator_sdk(&moto.endpoint).await;
    let value = opts
        .value
        .clone()
        .unwrap_or_else(crate::provision::random_value);
    let (provisioned, many) = setup::provision(&sdk, plan, &value, opts.value.as_deref()).await?;

    // AWS's service times and CPU, when a run on AWS is given to calibrate from.
    let calibration = match opts
        .service_time_from
        .clone()
        .or_else(|| plan.service_time_from.as_ref().map(|d| root.join(d)))
    {
        Some(dir) => Some(secbench_analyzer::calibration::AwsCalibration::read(&dir)?),
        None => None,
    };
    let front = setup::start_front(&moto.endpoint, plan, calibration.as_ref()).await?;
    let (constraints, cpu_calibration) =
        calibrate::constraints(plan, &builds.main.probe, calibration.as_ref()).await?;
    let agent = builds
        .main
        .agent
        .is_file()
        .then(secbench_local_lambda::agent::describe);
    let mut emulation = emulation(plan, &front, &constraints, agent);
    emulation.runtimes = build::runtime_interpreters(root, plan)?;
    let codes = build::probe_codes(plan, &builds, sysgenid)?;
    emulation.entropy = calibrate::measure_entropy(plan, &codes, &constraints).await?;
    emulation.calibrated_from = calibration
        .as_ref()
        .map(|c| calibrate::calibrated_from(c, cpu_calibration.as_ref(), plan, &front));
    let platform = setup::start_platform(
        plan,
        &builds,
        &moto.endpoint,
        setup::function_vars(&provisioned, &value),
        constraints,
        &front,
    )
    .await?;
    drop(value);
    let client = run::lambda_client(
        REGION,
        Some(&platform.endpoint),
        plan.longest_timeout(),
        true,
    )
    .await;
    if let Some(c) = emulation.calibrated_from.as_mut() {
        match calibrate::learn_client_side(&client, &front, plan, plan.network.rtt).await {
            Ok(learned) => c.client_side_ns = calibrate::nanos(learned),
            Err(e) => {
                platform.shutdown().await;
                return Err(e);
            }
        }
    }
    eprintln!("secbench local: {}", emulation.statement());
    let target = Target {
        stage: "local".into(),
        region: REGION.into(),
        function: FUNCTION.into(),
        local_emulator: true,
        extension_layer_arn: Some(format!(
            "arn:aws:lambda:{REGION}:000000000000:layer:{EXTENSION_LAYER_NAME}:local"
        )),
        poll: Duration::from_millis(10),
        on_scenario_start: Some(scenario_hook(
            front.control.clone(),
            platform.probe_switch(),
            codes,
            runtime_probes(root, plan),
        )),
        emulation: Some(emulation),
        rotator: Some(Arc::new(rotator(sdk, &provisioned, opts.value.clone()))),
        many,
        capacity_provider: Some(run::control::CapacityProvider {
            arn: LOCAL_CAPACITY_PROVIDER.into(),
            one_function: true,
        }),
    };
    let summary = run::run(
        client,
        plan,
        &target,
        &opts.out_dir,
        opts.resume.as_deref(),
        cancel,
    )
    .await;
    // The probe's and the agent's logs go beside the records (the tests search them for the
    // value too).
    if let Ok(s) = &summary {
        if let Err(e) = platform.write_logs(&s.dir.join(PLATFORM_LOG_FILE)) {
            eprintln!("secbench local: could not write platform.log: {e}");
        }
    }
    platform.shutdown().await;
    drop(front);
    drop(moto);
    Ok(summary?)
}
