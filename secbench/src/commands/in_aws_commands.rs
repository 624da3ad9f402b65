//! `secbench run --in-aws` and `secbench pull` with the `in-aws` feature (see `in_aws.rs`).

use super::InAwsInput;
use crate::cli::PullArgs;
use crate::commands::support::{print_run_end, runtime};
use crate::in_aws::execution::{follow, resume, start, stop, Started};
use crate::in_aws::pull::pull;
use crate::in_aws::store::Store;
use crate::in_aws::{RunInput, RunRef};
use anyhow::{Context, Result};
use secbench_record::run::RunStatus;
use std::path::Path;
use std::time::{Duration, Instant};

async fn sdk(region: Option<&str>, endpoint: Option<&str>) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(r) = region {
        loader = loader.region(aws_config::Region::new(r.to_owned()));
    }
    if let Some(url) = endpoint {
        loader = loader.endpoint_url(url);
    }
    loader.load().await
}

/// `secbench pull URL`.
pub fn run(args: PullArgs) -> Result<i32> {
    let run = RunRef::parse(&args.url)?;
    runtime()?.block_on(async {
        let sdk = sdk(None, args.endpoint_url.as_deref()).await;
        let store = Store::new(&sdk, &run.bucket);
        let pulled = pull(&store, &run, &args.out_dir).await?;
        println!(
            "run {}: {} ({} of {} slices)",
            pulled.manifest.status.as_str(),
            pulled.dir.display(),
            pulled.slices.0,
            pulled.slices.1
        );
        println!("accounting: {}", pulled.manifest.accounting.line());
        if let Some(m) = &pulled.manifest.status_message {
            println!("note: {m}");
        }
        print_cost(&pulled, 0)?;
        Ok(i32::from(pulled.manifest.status != RunStatus::Complete))
    })
}

/// The stage's results bucket and state machine, from its stage file.
fn stage_resources(
    stage_file: Option<&crate::stage_file::StageFile>,
    stage: &str,
) -> Result<(String, String, String)> {
    let hint = || {
        format!("stage {stage} has no results bucket or state machine: deploy it with `scripts/deploy.sh {stage} --in-aws` (its stage file then names them)")
    };
    let f = stage_file.with_context(hint)?;
    Ok((
        f.results_bucket.clone().with_context(hint)?,
        f.state_machine_arn.clone().with_context(hint)?,
        f.region.clone(),
    ))
}

/// `secbench run --in-aws --plan P --stage S`.
pub fn run_in_aws(input: InAwsInput<'_>, out_dir: &Path, endpoint: Option<&str>) -> Result<i32> {
    let (bucket, state_machine, region) =
        stage_resources(input.stage_file.as_ref(), &input.target.stage)?;
    let run_input = RunInput {
        plan: input.plan.file.clone(),
        resolved: input.plan.resolved(),
        stage: input.target.stage.clone(),
        region: input.target.region.clone(),
        function: input.target.function.clone(),
        extension_layer_arn: input.target.extension_layer_arn.clone(),
        stage_file: input.stage_file.clone(),
        rotation: input.rotation,
        warm_slices: input.warm_slices,
        local_emulator: false,
    };
    let total = run_input.slice_ids().len();
    runtime()?.block_on(async {
        let sdk = sdk(Some(&region), endpoint).await;
        if let Some(url) = &input.save_input {
            let (target_bucket, key) = url
                .strip_prefix("s3://")
                .and_then(|r| r.split_once('/'))
                .filter(|(_, k)| k.starts_with("plans/") && k.ends_with(".json"))
                .with_context(|| format!("--save-input {url}: expected s3://BUCKET/plans/NAME.json (the driver reads stored inputs under plans/)"))?;
            Store::new(&sdk, target_bucket).put_json(key, &run_input).await?;
            println!("saved the run's input to {url}: {total} slices; the stage's schedule runs it");
            return Ok(0);
        }
        let (store, sfn) = (Store::new(&sdk, &bucket), aws_sdk_sfn::Client::new(&sdk));
        let started = start(&sfn, &store, &state_machine, &run_input).await?;
        drive(&sfn, &store, started, total, out_dir).await
    })
}

/// `secbench run --in-aws --resume s3://BUCKET/runs/STAGE/RUN`.
pub fn resume_in_aws(url: &str, out_dir: &Path, endpoint: Option<&str>) -> Result<i32> {
    let run = RunRef::parse(url)?;
    let cwd = std::env::current_dir().context("current directory")?;
    let stage_file = crate::stage_file::load(&cwd, &run.stage)?;
    let (_, state_machine, region) = stage_resources(stage_file.as_ref(), &run.stage)?;
    runtime()?.block_on(async {
        let sdk = sdk(Some(&region), endpoint).await;
        let (store, sfn) = (
            Store::new(&sdk, &run.bucket),
            aws_sdk_sfn::Client::new(&sdk),
        );
        let input = store
            .get_json::<RunInput>(&run.input_key())
            .await?
            .with_context(|| format!("{url}: no run input there"))?;
        let total = input.slice_ids().len();
        let started = resume(&sfn, &state_machine, &run).await?;
        drive(&sfn, &store, started, total, out_dir).await
    })
}

/// What the run cost inside AWS, from the dated table (its region's prices).
fn print_cost(pulled: &crate::in_aws::pull::Pulled, polls: u64) -> Result<()> {
    let bytes = std::fs::metadata(pulled.dir.join(secbench_record::run_dir::RECORDS_FILE))
        .map(|m| m.len())
        .unwrap_or(0);
    let shape = crate::in_aws::cost::shape(&pulled.input, &pulled.summaries, bytes, polls);
    let (pricing, path, _) = secbench_analyzer::cost::pricing::load(None, &pulled.manifest.region)?;
    let architecture = match pulled
        .input
        .stage_file
        .as_ref()
        .and_then(|f| f.architecture.as_deref())
    {
        Some("x86_64") => secbench_analyzer::cost::workload::Architecture::X86_64,
        _ => secbench_analyzer::cost::workload::Architecture::Arm64,
    };
    let c = secbench_analyzer::cost::in_aws::run_cost(&shape, &pricing, architecture);
    println!(
        "inside AWS this run cost about ${:.4} ({} state transitions ${:.4}, {} driver invocations and {:.0} GB-s ${:.4}, {} S3 PUT/LIST and {} GET ${:.4}; the records kept ${:.4} a month), priced from {} ({}); retried tasks and prepare's and finish's time are not counted",
        c.total_usd(),
        shape.state_transitions,
        c.state_transitions_usd,
        shape.driver_invocations,
        shape.driver_gb_seconds,
        c.driver_requests_usd + c.driver_duration_usd,
        shape.s3_put_list_requests,
        shape.s3_get_requests,
        c.s3_requests_usd,
        c.storage_per_month_usd,
        path.display(),
        pricing.date
    );
    Ok(())
}

/// Follows the execution (Ctrl-C stops it: the slices in flight finish on their own and
/// `--resume` completes the run), then pulls the run.
async fn drive(
    sfn: &aws_sdk_sfn::Client,
    store: &Store,
    started: Started,
    total: usize,
    out_dir: &Path,
) -> Result<i32> {
    let began = Instant::now();
    println!(
        "execution {}\nrecords: {}",
        started.execution_arn,
        started.run.url()
    );
    let poll = Duration::from_secs(2);
    let followed = tokio::select! {
        r = follow(sfn, store, &started, total, poll) => Some(r?),
        _ = tokio::signal::ctrl_c() => None,
    };
    let polls = (began.elapsed().as_secs_f64() / poll.as_secs_f64()).ceil() as u64;
    let execution = match followed {
        Some((status, _)) => status.as_str().to_owned(),
        None => {
            stop(sfn, &started.execution_arn).await?;
            "ABORTED (Ctrl-C)".to_owned()
        }
    };
    let pulled = pull(store, &started.run, out_dir).await?;
    let summary = crate::run::RunSummary {
        dir: pulled.dir.clone(),
        status: pulled.manifest.status,
        message: pulled.manifest.status_message.clone(),
        accounting: pulled.manifest.accounting.clone(),
        wall: began.elapsed(),
        warm_invocations_per_second: None,
    };
    println!(
        "execution {execution}; {} of {} slices recorded",
        pulled.slices.0, pulled.slices.1
    );
    print_cost(&pulled, polls)?;
    Ok(print_run_end(&summary, false))
}
