//! `secbench local`: the whole experiment on this machine, then its analysis and its report.

use crate::cli::LocalArgs;
use anyhow::{Context, Result};
use secbench_analyzer::cost::recommend::Slo;
use std::path::Path;

pub fn run(args: LocalArgs) -> Result<i32> {
    if args.check_sandbox {
        print!(
            "{}",
            secbench_local_lambda::cgroup_layout::check_this_machine()
        );
        return Ok(0);
    }
    let cwd = std::env::current_dir().context("current directory")?;
    let root = crate::local_stage::find_root(&cwd)?;
    if args.build_only {
        let plan = args
            .plan
            .clone()
            .unwrap_or_else(|| root.join("scripts/plans/local.toml"));
        return build_only(&root, &plan);
    }
    let workload = args
        .workload
        .unwrap_or_else(|| root.join("scripts/workloads/example.toml"));
    let opts = crate::local_stage::LocalOptions {
        plan: args
            .plan
            .unwrap_or_else(|| root.join("scripts/plans/local.toml")),
        root,
        out_dir: args.out_dir,
        resume: args.resume,
        probe_bin: None,
        skip_install: false,
        value: None,
        service_time_from: args.service_time_from,
    };
    let rt = super::runtime()?;
    let summary = rt.block_on(async {
        let cancel = super::interrupt_on_ctrl_c();
        crate::local_stage::run_local(&opts, cancel).await
    })?;
    let code = super::print_run_end(&summary, true);
    println!("agent-ssm is not run on the local stage: no local server speaks the extension's SSM protocol, so its figures come from AWS only");
    // The decision from what was just measured (nothing is written into the run); the full
    // per-scenario table is `secbench analyze`'s.
    let files = super::report::write(&super::report::ReportArgs {
        runs: vec![summary.dir.clone()],
        workload: Some(workload),
        pricing: None,
        slo: Slo::default(),
        compare: None,
        noise_threshold: 0.05,
        out: secbench_analyzer::report::default_out(&summary.dir),
        skip_invalid: false,
    })?;
    println!();
    println!("{}", secbench_analyzer::export::LOCAL_NOTE);
    print!("{}", files.decision_text);
    println!(
        "every scenario, with intervals and staleness: secbench analyze {} [--format md|json|csv]",
        summary.dir.display()
    );
    println!("report: {}", files.html.display());
    Ok(code)
}

/// `--build-only`: the installers and the build (with the other probe builds `plan` asks for),
/// and what the main build compiled (`scripts/check-build-once.sh` reads that line).
fn build_only(root: &Path, plan: &Path) -> Result<i32> {
    crate::local_stage::install(root)?;
    let b = crate::local_stage::build(root)?;
    println!("probe: {}", b.probe.display());
    println!("agent: {}", b.agent.display());
    let plan = crate::plan::Plan::load(plan)?;
    let mut variants: Vec<secbench_record::ProbeBuild> = plan
        .scenarios
        .iter()
        .map(|s| s.probe_build)
        .filter(|b| *b != secbench_record::ProbeBuild::Default)
        .collect();
    variants.sort();
    variants.dedup();
    for v in variants {
        let bin = crate::local_stage::build_variant(root, v)?;
        println!("probe ({v}): {}", bin.display());
    }
    println!(
        "compiled: {}",
        if b.compiled.is_empty() {
            "nothing".to_owned()
        } else {
            b.compiled.join(", ")
        }
    );
    Ok(0)
}
