//! `secbench run`: a plan against a deployed probe (AWS, or any Lambda API endpoint), with
//! function and region from the options, the plan, a resumed run or the stage file.

use crate::cli::RunArgs;
use anyhow::{Context, Result};
use std::time::Duration;

pub fn run(args: RunArgs) -> Result<i32> {
    let RunArgs {
        plan,
        stage,
        function,
        region,
        endpoint_url,
        out_dir,
        resume,
        in_aws,
        warm_slices,
        save_input,
    } = args;
    if in_aws {
        if let Some(url) = &resume {
            return super::in_aws::resume_in_aws(
                &url.to_string_lossy(),
                &out_dir,
                endpoint_url.as_deref(),
            );
        }
    }
    let (mut plan, resumed) = match &resume {
        Some(dir) => {
            let (plan, manifest) = crate::run::plan_of(dir)?;
            (plan, Some(manifest))
        }
        None => (
            crate::plan::Plan::load(plan.as_deref().context("--plan is required")?)?,
            None,
        ),
    };
    anyhow::ensure!(
        !plan.has_faults(),
        "plan {}: [scenario.faults] are injected by the local stage's proxy; run this plan with `secbench local --plan`",
        plan.path.display()
    );
    let stage = stage
        .or_else(|| resumed.as_ref().map(|m| m.stage.clone()))
        .or_else(|| plan.file.stage.clone())
        .context("no stage: pass --stage or set `stage` in the plan")?;
    // A resumed manifest's stage goes into paths as a plan's does.
    secbench_record::names::check("stage", &stage)?;
    let cwd = std::env::current_dir().context("current directory")?;
    let stage_file = crate::stage_file::load(&cwd, &stage)?;
    let function = function
        .or_else(|| resumed.as_ref().map(|m| m.function.clone()))
        .or_else(|| plan.file.function.clone())
        .or_else(|| stage_file.as_ref().map(|s| s.function.clone()))
        .with_context(|| format!("no function: pass --function, set `function` in the plan, or deploy stage {stage} (its stage file {})", crate::stage_file::path(&cwd, &stage).display()))?;
    let region = region
        .or_else(|| resumed.as_ref().map(|m| m.region.clone()))
        .or_else(|| plan.file.region.clone())
        .or_else(|| stage_file.as_ref().map(|s| s.region.clone()))
        .context("no region: pass --region or set `region` in the plan")?;
    let layer = plan.file.extension_layer_arn.clone().or_else(|| {
        stage_file
            .as_ref()
            .and_then(|s| s.extension_layer_arn.clone())
    });
    let many = match (
        plan.scenarios.iter().find(|s| s.multi.is_some()),
        match stage_file.as_ref().and_then(|sf| sf.many.as_ref().map(|m| (sf, m))) {
            Some((sf, m)) => Some(m.to_many(sf, &crate::stage_file::path(&cwd, &stage))?),
            None => None,
        },
    ) {
        (None, _) => None,
        (Some(_), Some(m)) => Some(m),
        (Some(s), None) => anyhow::bail!(
            "plan {}: scenario {} reads {} secrets per fetch; make them with `secbench provision --stage {stage} --many N --bundles 1,3,10` (the stage file {} then names them)",
            plan.path.display(),
            s.name,
            s.secrets,
            crate::stage_file::path(&cwd, &stage).display()
        ),
    };
    let rotates = plan.scenarios.iter().any(|s| s.rotation.is_some());
    let resources = match (rotates, &stage_file) {
        (false, _) => None,
        (true, Some(sf)) => Some(crate::run::rotate::Resources {
            secret_id: sf.secret_arn.clone().context("the stage file names no SecretArn; rotations write the stage's secret")?,
            parameter_name: sf.parameter_name.clone().context("the stage file names no ParameterName; rotations write the stage's parameter")?,
            key_id: sf.key_arn.clone().context("the stage file names no KeyArn; rotations encrypt with the stage's key")?,
        }),
        (true, None) => anyhow::bail!(
            "plan {}: [scenario.rotation] writes the stage's secret, parameter and ciphertext: deploy stage {stage} first (its stage file {} names them)",
            plan.path.display(),
            crate::stage_file::path(&cwd, &stage).display()
        ),
    };
    let local = stage == "local" || resumed.as_ref().is_some_and(|m| m.local_emulator);
    // The Node.js and Python scenarios drive the stage's function of their runtime.
    if !local {
        let functions = stage_file
            .as_ref()
            .map(|f| f.functions.clone())
            .unwrap_or_default();
        let managed = stage_file
            .as_ref()
            .map(|f| f.managed_functions.clone())
            .unwrap_or_default();
        // Managed-instances scenarios first: they drive the functions on the capacity provider.
        crate::stage_file::assign_managed_functions(&mut plan.scenarios, &managed)
            .map_err(|e| anyhow::anyhow!("plan {}: {e}", plan.path.display()))?;
        crate::stage_file::assign_runtime_functions(&mut plan.scenarios, &functions)
            .map_err(|e| anyhow::anyhow!("plan {}: {e}", plan.path.display()))?;
    }
    let capacity_provider = if local {
        Some(crate::run::control::CapacityProvider {
            arn: crate::local_stage::LOCAL_CAPACITY_PROVIDER.into(),
            one_function: true,
        })
    } else {
        stage_file
            .as_ref()
            .and_then(|f| f.capacity_provider_arn.clone())
            .map(|arn| crate::run::control::CapacityProvider {
                arn,
                one_function: false,
            })
    };
    let target = crate::run::Target {
        stage,
        region: region.clone(),
        function,
        local_emulator: local,
        extension_layer_arn: layer,
        poll: Duration::from_millis(if endpoint_url.is_some() { 20 } else { 1000 }),
        on_scenario_start: None,
        emulation: None,
        rotator: None,
        many,
        capacity_provider,
    };
    if in_aws {
        let input = super::in_aws::InAwsInput {
            plan: &plan,
            target: &target,
            stage_file: stage_file.clone(),
            rotation: resources,
            warm_slices,
            save_input,
        };
        return super::in_aws::run_in_aws(input, &out_dir, endpoint_url.as_deref());
    }
    let longest = plan.longest_timeout();
    let rt = super::support::runtime()?;
    let summary = rt.block_on(async {
        let client = crate::run::lambda_client(
            &region,
            endpoint_url.as_deref(),
            longest,
            endpoint_url.is_some(),
        )
        .await;
        let mut target = target;
        if let Some(resources) = resources {
            target.rotator = Some(std::sync::Arc::new(
                crate::run::rotate::on_stage(
                    &client,
                    &target.function,
                    &region,
                    endpoint_url.as_deref(),
                    resources,
                )
                .await
                .context(
                    "reading what the stage's secret, parameter and function hold before rotating",
                )?,
            ));
        }
        let cancel = super::support::interrupt_on_ctrl_c();
        anyhow::Ok(
            crate::run::run(client, &plan, &target, &out_dir, resume.as_deref(), cancel).await?,
        )
    })?;
    Ok(super::support::print_run_end(&summary, local))
}
