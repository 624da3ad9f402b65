//! The `secbench` operator CLI as a library: `run` executes one parsed command line.
#![warn(missing_docs)]

pub mod cli;
pub mod compare;
pub mod cost;
pub mod export;
pub mod hdr;
pub mod ingest;
pub mod local;
pub mod plan;
pub mod platform_log;
pub mod plot;
pub mod provision;
pub mod report;
pub mod run;
pub mod stage_file;
pub mod stats;
pub mod summary;
pub mod validate;

use anyhow::{Context, Result};
use cli::{Cli, Command};
use secbench_record::run::RunStatus;
use std::time::Duration;

/// Runs one command and returns the process exit code.
pub fn run(cli: Cli) -> Result<i32> {
    match cli.command {
        Command::Analyze {
            runs,
            format,
            out,
            histograms,
            skip_invalid,
            seed,
        } => {
            let ingested = read_runs(&runs, skip_invalid)?;
            let summary = summary::build(&ingested, seed);
            export::write(&export::render(&summary, format), out.as_deref()).with_context(
                || {
                    format!(
                        "writing {}",
                        out.as_ref()
                            .map_or("standard output".into(), |p| p.display().to_string())
                    )
                },
            )?;
            if let Some(dir) = histograms {
                let files = hdr::write_all(&ingested, &dir)?;
                eprintln!(
                    "wrote {} HdrHistogram interval logs to {}",
                    files.len(),
                    dir.display()
                );
            }
            Ok(0)
        }
        Command::Compare {
            base,
            new,
            noise_threshold,
            fail_on_regression,
            json,
            skip_invalid,
            seed,
        } => {
            let (b, n) = (
                read_runs(&[base], skip_invalid)?,
                read_runs(&[new], skip_invalid)?,
            );
            let comparisons = compare::compare(&b, &n, noise_threshold, seed);
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&comparisons).context("serializing")?
                );
            } else {
                print!("{}", compare::render_table(&comparisons, noise_threshold));
            }
            Ok(i32::from(
                fail_on_regression && compare::any_regression(&comparisons),
            ))
        }
        Command::Cost {
            workload,
            latency,
            pricing,
            format,
            out,
            sweep,
            steps_per_decade,
            slo,
            skip_invalid,
        } => {
            let text = cost_command(&CostArgs {
                workload,
                latency,
                pricing,
                format,
                sweep,
                steps_per_decade,
                slo,
                skip_invalid,
            })?;
            export::write(&text, out.as_deref()).with_context(|| {
                format!(
                    "writing {}",
                    out.as_ref()
                        .map_or("standard output".into(), |p| p.display().to_string())
                )
            })?;
            Ok(0)
        }
        Command::Provision {
            stage,
            outputs,
            stack_name,
            value_stdin,
            new_value,
            plain_env_baseline,
            endpoint_url,
        } => {
            let cwd = std::env::current_dir().context("current directory")?;
            if let Some(outputs) = &outputs {
                let file = stage_file::from_outputs(outputs, stack_name.as_deref())?;
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
            let rt = runtime()?;
            let done = rt.block_on(async {
                let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
                    .region(aws_config::Region::new(file.region.clone()));
                if let Some(url) = &endpoint_url {
                    loader = loader.endpoint_url(url);
                }
                let sdk = loader.load().await;
                let lambda = aws_sdk_lambda::Client::new(&sdk);
                let done = provision::provision_stage(
                    &sdk,
                    &lambda,
                    &resources,
                    value,
                    plain_env_baseline,
                )
                .await?;
                run::control::wait_until_updated(
                    &lambda,
                    &resources.function,
                    Duration::from_millis(if endpoint_url.is_some() { 50 } else { 1000 }),
                    Duration::from_secs(300),
                )
                .await?;
                anyhow::Ok(done)
            })?;
            if done.secret_updated {
                println!("secret {}: new value written", resources.secret_arn);
            } else {
                println!("secret {}: its current value is used", resources.secret_arn);
            }
            println!(
                "SecureString parameter {} (key {})",
                done.parameter_name, resources.key_arn
            );
            println!(
                "function {}: SECBENCH_CIPHERTEXT and SECBENCH_EXPECTED_SHA256 set{}",
                done.function,
                if done.plain_env_set {
                    ", and SECBENCH_PLAINTEXT (the plain-env baseline: the value is now in plaintext in the function's configuration)"
                } else {
                    ""
                }
            );
            println!("sha256 of the value: {}", done.sha256_hex);
            Ok(0)
        }
        Command::Report {
            runs,
            workload,
            pricing,
            slo,
            compare,
            noise_threshold,
            out,
            skip_invalid,
        } => {
            let out = out.unwrap_or_else(|| report::default_out(&runs[0]));
            let start = std::time::Instant::now();
            let files = report::write(&report::ReportOptions {
                runs,
                workload,
                pricing,
                slo,
                compare,
                noise_threshold,
                out,
                skip_invalid,
            })?;
            println!(
                "report: {} ({} plots, {:.2} s)\nmarkdown: {}",
                files.html.display(),
                files.plots.len(),
                start.elapsed().as_secs_f64(),
                files.markdown.display()
            );
            Ok(0)
        }
        Command::Validate { files } => {
            let mut failed = false;
            for file in &files {
                let summary = validate::validate_file(file)?;
                println!("{}: {} records valid", file.display(), summary.records);
                for problem in &summary.problems {
                    eprintln!("{problem}");
                }
                failed |= !summary.problems.is_empty();
            }
            Ok(i32::from(failed))
        }
        Command::Local {
            plan,
            out_dir,
            resume,
            workload,
        } => {
            let cwd = std::env::current_dir().context("current directory")?;
            let root = local::stage::find_root(&cwd)?;
            let workload = workload.unwrap_or_else(|| root.join("scripts/workloads/example.toml"));
            let opts = local::stage::LocalOptions {
                plan: plan.unwrap_or_else(|| root.join("scripts/plans/local.toml")),
                root,
                out_dir,
                resume,
                probe_bin: None,
                skip_install: false,
            };
            let rt = runtime()?;
            let summary = rt.block_on(async {
                let cancel = interrupt_on_ctrl_c();
                local::stage::run_local(&opts, cancel).await
            })?;
            let code = report(&summary, true);
            println!("agent-ssm is not run on the local stage: no local server speaks the extension's SSM protocol, so its figures come from AWS only");
            // The analysis of what was just measured (nothing is written into the run).
            let ingested = read_runs(std::slice::from_ref(&summary.dir), false)?;
            println!();
            print!(
                "{}",
                export::render(
                    &summary::build(&ingested, stats::DEFAULT_SEED),
                    export::Format::Table
                )
            );
            println!(
                "more: secbench analyze {} --format md|json|csv",
                summary.dir.display()
            );
            let files = report::write(&report::ReportOptions {
                runs: vec![summary.dir.clone()],
                workload: Some(workload),
                pricing: None,
                slo: None,
                compare: None,
                noise_threshold: 0.05,
                out: report::default_out(&summary.dir),
                skip_invalid: false,
            })?;
            println!("report: {}", files.html.display());
            Ok(code)
        }
        Command::Run {
            plan,
            stage,
            function,
            region,
            endpoint_url,
            out_dir,
            resume,
        } => {
            let (plan, resumed) = match &resume {
                Some(dir) => {
                    let (plan, manifest) = run::plan_of(dir)?;
                    (plan, Some(manifest))
                }
                None => (
                    plan::Plan::load(plan.as_deref().context("--plan is required")?)?,
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
            let cwd = std::env::current_dir().context("current directory")?;
            let stage_file = stage_file::load(&cwd, &stage)?;
            let function = function
                .or_else(|| resumed.as_ref().map(|m| m.function.clone()))
                .or_else(|| plan.file.function.clone())
                .or_else(|| stage_file.as_ref().map(|s| s.function.clone()))
                .with_context(|| format!("no function: pass --function, set `function` in the plan, or deploy stage {stage} (its stage file {})", stage_file::path(&cwd, &stage).display()))?;
            let region = region
                .or_else(|| resumed.as_ref().map(|m| m.region.clone()))
                .or_else(|| plan.file.region.clone())
                .or_else(|| stage_file.as_ref().map(|s| s.region.clone()))
                .context("no region: pass --region or set `region` in the plan")?;
            let layer = plan
                .file
                .extension_layer_arn
                .clone()
                .or_else(|| stage_file.and_then(|s| s.extension_layer_arn));
            let local = stage == "local" || resumed.as_ref().is_some_and(|m| m.local_emulator);
            let target = run::Target {
                stage,
                region: region.clone(),
                function,
                local_emulator: local,
                extension_layer_arn: layer,
                poll: Duration::from_millis(if endpoint_url.is_some() { 20 } else { 1000 }),
                faults: None,
            };
            let longest = plan.longest_timeout();
            let rt = runtime()?;
            let summary = rt.block_on(async {
                let client = run::lambda_client(
                    &region,
                    endpoint_url.as_deref(),
                    longest,
                    endpoint_url.is_some(),
                )
                .await;
                let cancel = interrupt_on_ctrl_c();
                run::run(client, &plan, &target, &out_dir, resume.as_deref(), cancel).await
            })?;
            Ok(report(&summary, local))
        }
    }
}

/// What `secbench cost` was asked.
#[derive(Debug, Clone)]
pub struct CostArgs {
    /// The workload file.
    pub workload: std::path::PathBuf,
    /// Runs to take latencies from.
    pub latency: Vec<std::path::PathBuf>,
    /// A pricing table replacing the shipped one.
    pub pricing: Option<std::path::PathBuf>,
    /// Output format.
    pub format: cli::CostFormat,
    /// `FIELD=FROM..TO`.
    pub sweep: Option<String>,
    /// Samples per decade.
    pub steps_per_decade: u32,
    /// `p99_cold=200ms,...`.
    pub slo: Option<String>,
    /// Skip invalid record lines.
    pub skip_invalid: bool,
}

/// Runs `secbench cost` and returns its output text.
pub fn cost_command(args: &CostArgs) -> Result<String> {
    let w = cost::workload::Workload::load(&args.workload)?;
    let (p, file, overridden) = cost::pricing::load(args.pricing.as_deref(), &w.region)?;
    let info = cost::PricingInfo::new(&p, &file.display().to_string(), &w.region, overridden);
    let slo = match &args.slo {
        Some(s) => cost::recommend::Slo::parse(s)?,
        None => cost::recommend::Slo::default(),
    };
    let (latencies, notes, origin) = if args.latency.is_empty() {
        let l = cost::latencies_from_workload(&w);
        let origin = if l.is_empty() {
            cost::latency::LatencyOrigin::None
        } else {
            cost::latency::LatencyOrigin::Workload
        };
        (l, Default::default(), origin)
    } else {
        let ingested = read_runs(&args.latency, args.skip_invalid)?;
        let summary = summary::build(&ingested, stats::DEFAULT_SEED);
        let (l, n) =
            cost::latencies_from_summary(&summary, &w, &cost::fault_scenarios(&args.latency));
        let origin = cost::latency::LatencyOrigin::Runs {
            runs: args
                .latency
                .iter()
                .map(|p| p.display().to_string())
                .collect(),
            local_emulator: summary.local_emulator,
        };
        (l, n, origin)
    };
    use cli::CostFormat as F;
    if let Some(spec) = &args.sweep {
        let spec = cost::sweep::SweepSpec::parse(spec)?;
        let s = cost::sweep::sweep(&w, &spec, args.steps_per_decade, &p, info, &latencies)?;
        return Ok(match args.format {
            F::Table => cost::table::render_sweep(&s),
            F::Json => serde_json::to_string_pretty(&s).context("serializing")? + "\n",
            F::Csv => cost::csv::render_sweep(&s),
        });
    }
    let r = cost::report(&w, &p, info, &latencies, &notes, origin, &slo);
    Ok(match args.format {
        F::Table => cost::table::render(&r),
        F::Json => serde_json::to_string_pretty(&r).context("serializing")? + "\n",
        F::Csv => cost::csv::render(&r),
    })
}

/// Reads runs, telling on standard error what was skipped or cut off.
pub(crate) fn read_runs(
    runs: &[std::path::PathBuf],
    skip_invalid: bool,
) -> Result<ingest::Ingested> {
    let mut ingested = ingest::Ingested::default();
    for run in runs {
        ingested.read(run, skip_invalid)?;
    }
    if ingested.input.skipped_lines > 0 {
        eprintln!(
            "skipped {} invalid line(s) (--skip-invalid)",
            ingested.input.skipped_lines
        );
    }
    for t in &ingested.input.truncated_lines {
        eprintln!("note: truncated last line (a run cut off mid-write), not counted: {t}");
    }
    Ok(ingested)
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// Ctrl-C stops new invocations; the run then ends `partial` with everything sent recorded.
fn interrupt_on_ctrl_c() -> run::Cancel {
    let cancel = run::Cancel::default();
    let c = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!(
                "\ninterrupted: finishing the invocations in flight, then writing a partial run"
            );
            c.cancel();
        }
    });
    cancel
}

fn report(summary: &run::RunSummary, local: bool) -> i32 {
    let status = match summary.status {
        RunStatus::Complete => "complete",
        RunStatus::Partial => "partial",
        RunStatus::Failed => "failed",
        RunStatus::Running => "running",
    };
    println!("run {status}: {}", summary.dir.display());
    println!("accounting: {}", summary.accounting.line());
    if let Some(m) = &summary.message {
        println!("note: {m}");
    }
    let rate = summary
        .warm_invocations_per_second
        .map(|r| format!(", warm phases at {r:.0} invocations/s"))
        .unwrap_or_default();
    println!("wall time {:.1} s{rate}", summary.wall.as_secs_f64());
    if local {
        println!(
            "these are local emulator figures (moto + the local Lambda platform), not AWS figures"
        );
    }
    i32::from(summary.status != RunStatus::Complete)
}
