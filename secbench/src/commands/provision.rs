//! `secbench provision`: the stage file from the stack's outputs, then the SecureString, the
//! ciphertext and the digest on the function (the value is never shown; only its SHA-256).

use crate::cli::ProvisionArgs;
use anyhow::{Context, Result};
use std::time::Duration;

pub fn run(args: ProvisionArgs) -> Result<i32> {
    use crate::{provision, stage_file};
    let ProvisionArgs {
        stage,
        outputs,
        stack_name,
        value_stdin,
        new_value,
        plain_env_baseline,
        endpoint_url,
        many,
        bundles,
    } = args;
    let cwd = std::env::current_dir().context("current directory")?;
    if let Some(outputs) = &outputs {
        let mut file = stage_file::from_outputs(outputs, stack_name.as_deref())?;
        // What --many made before is kept (the outputs do not name it).
        if let Ok(Some(old)) = stage_file::load(&cwd, &stage) {
            file.many = old.many;
        }
        let path = stage_file::save(&cwd, &stage, &file)?;
        println!("stage file: {}", path.display());
    }
    let file = stage_file::load(&cwd, &stage)?.with_context(|| {
        format!(
            "no stage file {}: deploy the stage (scripts/deploy.sh {stage}) or pass --outputs",
            stage_file::path(&cwd, &stage).display()
        )
    })?;
    let missing = |what: &str| {
        anyhow::anyhow!(
            "stage file {} has no {what}: write it from the stack's outputs (--outputs)",
            stage_file::path(&cwd, &stage).display()
        )
    };
    let resources = provision::StageResources {
        function: file.function.clone(),
        other_functions: file.functions.values().cloned().collect(),
        key_arn: file.key_arn.clone().ok_or_else(|| missing("key_arn"))?,
        secret_arn: file
            .secret_arn
            .clone()
            .ok_or_else(|| missing("secret_arn"))?,
        parameter_name: file
            .parameter_name
            .clone()
            .ok_or_else(|| missing("parameter_name"))?,
    };
    let value = if value_stdin {
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .context("reading the value from standard input")?;
        let v = line.trim_end_matches(['\n', '\r']).to_owned();
        anyhow::ensure!(!v.is_empty(), "standard input gave an empty value");
        provision::ValueSource::New(provision::Value::new(v))
    } else if new_value {
        provision::ValueSource::New(provision::Value::new(provision::random_value()))
    } else {
        provision::ValueSource::Secret
    };
    let rt = super::support::runtime()?;
    let done = rt.block_on(async {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(file.region.clone()));
        if let Some(url) = &endpoint_url {
            loader = loader.endpoint_url(url);
        }
        let sdk = loader.load().await;
        let lambda = aws_sdk_lambda::Client::new(&sdk);
        let done = provision::provision_stage(&sdk, &lambda, &resources, value, plain_env_baseline)
            .await?;
        for function in std::iter::once(&resources.function).chain(&resources.other_functions) {
            crate::run::control::wait_until_updated(
                &lambda,
                function,
                Duration::from_millis(if endpoint_url.is_some() { 50 } else { 1000 }),
                Duration::from_secs(300),
            )
            .await?;
        }
        let made = match many {
            None => None,
            Some(n) => {
                anyhow::ensure!(
                    bundles.iter().all(|b| *b <= n),
                    "--bundles: a bundle holds at most the --many {n} values"
                );
                let values: Vec<provision::Value> = (0..n)
                    .map(|_| provision::Value::new(provision::random_value()))
                    .collect();
                let mut counts = bundles.clone();
                counts.sort_unstable();
                counts.dedup();
                Some(
                    provision::provision_many(
                        &sdk,
                        &format!("secbench/{stage}"),
                        &resources.key_arn,
                        &values,
                        &counts,
                        (&resources.secret_arn, &resources.parameter_name),
                    )
                    .await?,
                )
            }
        };
        anyhow::Ok((done, made))
    })?;
    let (done, made) = done;
    if let Some(m) = &made {
        let mut file = file.clone();
        file.many = Some(stage_file::StageMany::from_many(m));
        let path = stage_file::save(&cwd, &stage, &file)?;
        println!(
            "several secrets: {} secrets and SecureStrings under secbench/{stage}/many/, {} bundle(s); their names and digests are in {}",
            m.secret_ids.len(),
            m.secret_bundles.len(),
            path.display()
        );
    }
    if done.secret_updated {
        println!("secret {}: new value written", resources.secret_arn);
    } else {
        println!("secret {}: its current value is used", resources.secret_arn);
    }
    println!(
        "SecureString parameter {} (key {})",
        done.parameter_name, resources.key_arn
    );
    use secbench_record::probe_config::var;
    for function in std::iter::once(&done.function).chain(&done.other_functions) {
        println!(
            "function {}: {} (bound to its name) and {} set{}",
            function,
            var::CIPHERTEXT,
            var::EXPECTED_SHA256,
            if done.plain_env_set {
                format!(", and {} (the plain-env baseline: the value is now in plaintext in the function's configuration)", var::PLAINTEXT)
            } else {
                String::new()
            }
        );
    }
    println!("sha256 of the value: {}", done.digest);
    Ok(0)
}
