//! `secbench local`: the whole experiment on this machine, then its analysis and its report.

use crate::cli::LocalArgs;
use anyhow::{Context, Result};
use secbench_analyzer::cost::recommend::Slo;
use secbench_local_lambda::cgroup_layout::{UserSystemd, DELEGATED_SCOPE};
use std::path::{Path, PathBuf};

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
        return build_only(&root, &plan, args.json);
    }
    start_in_delegated_scope();
    let workload = args
        .workload
        .unwrap_or_else(|| root.join("scripts/workloads/example.toml"));
    let plan = args
        .plan
        .unwrap_or_else(|| root.join("scripts/plans/local.toml"));
    let mut opts = crate::local_stage::LocalOptions::new(root, plan, args.out_dir)
        .with_service_time_from(args.service_time_from);
    opts.resume = args.resume;
    let plan = opts.load_plan()?;
    let rt = super::support::runtime()?;
    let summary = rt.block_on(async {
        let cancel = super::support::interrupt_on_ctrl_c();
        crate::local_stage::run_local(&opts, &plan, cancel).await
    })?;
    let code = super::support::print_run_end(&summary, true);
    println!("agent-ssm is not run on the local stage: no local server speaks the extension's SSM protocol, so its figures come from AWS only");
    // The decision from what was just measured (nothing is written into the run); the full
    // per-scenario table is `secbench analyze`'s.
    let files = super::report::write(&super::report::ReportOptions {
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
/// and what was built and compiled: as lines, or as JSON with `--json`
/// (`scripts/check-build-once.sh` reads that).
fn build_only(root: &Path, plan: &Path, json: bool) -> Result<i32> {
    let plan = crate::plan::Plan::load(plan)?;
    let builds = crate::local_stage::install_and_build(
        root,
        &plan,
        true,
        true,
        crate::local_stage::sysgenid_for(&plan).is_some(),
    )?
    .context("the build was asked for")?;
    let report = crate::local_stage::build::BuildReport::new(root, &plan, &builds);
    if json {
        println!(
            "{}",
            serde_json::to_string(&report).context("writing the build report")?
        );
    } else {
        print!("{}", report.text());
    }
    Ok(0)
}

/// Set for a `secbench local` that started itself again in a delegated scope, so it does not
/// do it twice.
const IN_DELEGATED_SCOPE: &str = "SECBENCH_IN_DELEGATED_SCOPE";

/// On cgroup v2 as a user whose systemd instance has `cpu` and `memory` to delegate while
/// secbench runs outside it (a login session's scope, which is root's): replaces this process
/// with the same command in a scope of it (`systemd-run --user --scope -p Delegate=yes`, which
/// runs the command itself, with this terminal and environment), where the sandbox can divide
/// its own cgroup. Returns when that does not apply or cannot be done (and then says why);
/// the sandbox's own detection then reports what it can and cannot constrain.
fn start_in_delegated_scope() {
    if std::env::var_os(IN_DELEGATED_SCOPE).is_some() {
        return;
    }
    let Some(user @ UserSystemd::Outside { .. }) =
        secbench_local_lambda::cgroup_layout::this_users_systemd()
    else {
        return;
    };
    if !user.delegates_cpu_and_memory() {
        return;
    }
    // `systemd-run --user` asks the user's manager over the user's bus.
    let bus = std::env::var_os("XDG_RUNTIME_DIR")
        .map(|d| PathBuf::from(d).join("bus"))
        .is_some_and(|b| b.exists())
        || std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some();
    if !bus {
        eprintln!(
            "secbench: {}; but there is no user bus ($XDG_RUNTIME_DIR/bus) to ask it for a scope",
            user.advice()
        );
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    eprintln!("secbench: starting again in a scope of your systemd instance, which can delegate cpu and memory to it ({DELEGATED_SCOPE})");
    let error = std::os::unix::process::CommandExt::exec(
        std::process::Command::new("systemd-run")
            .args(["--user", "--scope", "--quiet", "-p", "Delegate=yes", "--"])
            .arg(exe)
            .args(std::env::args_os().skip(1))
            .env(IN_DELEGATED_SCOPE, "1"),
    );
    eprintln!("secbench: cannot start systemd-run ({error}); going on in this cgroup");
}
