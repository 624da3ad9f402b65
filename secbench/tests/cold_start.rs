//! Cold starts as Lambda runs them, on the local stage with the real release probe (and its
//! no-jitter-entropy build: the same binary where its environments see /dev/sysgenid), moto and
//! the sandbox: provisioned concurrency (INIT ahead of the
//! first invocation, at the memory share), the crypto library's entropy cost measured per
//! memory size and build, the prewarm remedy, and the calibration from a run on AWS (a
//! synthetic fixture, `fixtures/runs/aws-synthetic`); and the AWS path of provisioned
//! concurrency against moto's Lambda, its calls in order and removed after Ctrl-C and on
//! resume.

mod common;

use common::*;
use secbench::run::{self, provisioned, Cancel};
use secbench_record::run::{InvocationRecord, Phase, RunStatus};
use secbench_record::{InitializationType, ProbeBuild};
use std::path::Path;
use std::time::{Duration, Instant};

/// The local-stage runs compare times and CPU: one at a time on the 2 cores, not beside each
/// other or beside the moto-only test.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn local(plan: &str, out: &Path, service_time_from: Option<&Path>) -> run::RunSummary {
    let plan_path = out.join("plan.toml");
    std::fs::write(&plan_path, plan).expect("plan");
    let summary = run_local(&plan_path, out, &canary(), service_time_from)
        .await
        .expect("the local stage runs");
    assert_eq!(summary.status, RunStatus::Complete, "{:?}", summary.message);
    assert_eq!(summary.accounting.ok, summary.accounting.sent);
    summary
}

fn median(mut v: Vec<u64>) -> u64 {
    assert!(!v.is_empty());
    v.sort_unstable();
    v[v.len() / 2]
}

fn of<'a>(
    records: &'a [InvocationRecord],
    scenario: &str,
    phase: Phase,
) -> Vec<&'a InvocationRecord> {
    let v: Vec<_> = records
        .iter()
        .filter(|r| r.scenario == scenario && r.phase == phase)
        .collect();
    assert!(!v.is_empty(), "no {phase:?} records of {scenario}");
    v
}

/// The first handler fetch's CPU time in each cold record.
fn first_fetch_cpu(records: &[&InvocationRecord]) -> Vec<u64> {
    records
        .iter()
        .map(|r| {
            let p = r.probe.as_ref().expect("probe record");
            p.fetches[0].cpu_ns.expect("the fetch's CPU time")
        })
        .collect()
}

const PLAN: &str = include_str!("fixtures/plans/cold_start-plan.toml");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provisioned_concurrency_entropy_and_prewarm_on_the_local_stage() {
    let _one = ONE_AT_A_TIME.lock().await;
    let out = tempfile::tempdir().expect("tempdir");
    let summary = local(PLAN, out.path(), None).await;
    let records = records(&summary.dir);
    let m = manifest(&summary.dir);
    let emulation = m.emulation.expect("emulation");

    // Provisioned concurrency: the environments started ahead of the traffic, INIT at the
    // memory share (throttled), and the first invocation of each is warm-started: no INIT in
    // its REPORT or its latency.
    for r in of(&records, "ssm-init-provisioned", Phase::Cold) {
        let p = r.probe.as_ref().expect("probe record");
        assert_eq!(
            p.initialization_type,
            Some(InitializationType::ProvisionedConcurrency)
        );
        assert!(p.cold, "the first invocation of its process");
        assert_ne!(
            r.executed_version.as_deref(),
            Some("$LATEST"),
            "the alias's version ran"
        );
        let platform = r.platform.as_ref().expect("REPORT");
        assert_eq!(
            platform.init_duration_ms, None,
            "no INIT in a provisioned invocation"
        );
        let u = r.environment_usage.as_ref().expect("usage");
        assert_eq!(
            u.init_cpu_share_millis,
            Some(72),
            "INIT at the share: {u:?}"
        );
        assert!(
            u.init_throttled_ns.unwrap_or(0) > 0,
            "INIT was throttled: {u:?}"
        );
        let init_ns = u.init_ns.expect("INIT's wall time");
        assert!(
            r.caller_latency_ns < init_ns,
            "the invocation ({} ns) carried its INIT ({init_ns} ns)",
            r.caller_latency_ns
        );
        assert!(p.init.as_ref().is_some_and(|i| i.init_fetch_ns.is_some()));
    }
    // On demand, INIT got the boost (capped at the host's CPUs).
    let boost = emulation.init_cpu.expect("INIT's CPU is stated");
    assert_eq!(boost.mode, secbench_record::InitCpu::Boosted);
    for r in of(&records, "ssm-128mb", Phase::Cold) {
        let u = r.environment_usage.as_ref().expect("usage");
        assert_eq!(
            u.init_cpu_share_millis,
            Some(boost.boosted_cpu_millis),
            "{u:?}"
        );
        assert_eq!(
            u.cpu_share_millis,
            Some(72),
            "the invocation at the share: {u:?}"
        );
        assert_eq!(
            r.probe.as_ref().and_then(|p| p.initialization_type),
            Some(InitializationType::OnDemand)
        );
    }

    // The entropy cost: measured for each memory size and build, larger for the default build.
    for memory_mb in [128, 1769] {
        let cpu = |build: ProbeBuild| {
            let e = emulation
                .entropy
                .iter()
                .find(|e| e.memory_mb == memory_mb && e.probe_build == build)
                .unwrap_or_else(|| panic!("no entropy figure for {memory_mb} MB, {build}"));
            assert!(!e.cpu_ns.is_empty() && e.cpu_ns.len() == e.wall_ns.len());
            median(e.cpu_ns.clone())
        };
        let (default, no_jitter) = (cpu(ProbeBuild::Default), cpu(ProbeBuild::NoJitterEntropy));
        assert!(
            default > no_jitter,
            "{memory_mb} MB: the default build's first randomness ({default} ns of CPU) is not dearer than the no-jitter build's ({no_jitter} ns)"
        );
        // The no-jitter scenario ran the no-jitter build.
        for r in of(
            &records,
            &format!("ssm-no-jitter-{memory_mb}mb"),
            Phase::Cold,
        ) {
            assert_eq!(
                r.probe.as_ref().and_then(|p| p.probe_build),
                Some(ProbeBuild::NoJitterEntropy)
            );
            // As root (the sandbox's tests run so), the default binary seeing /dev/sysgenid;
            // the default scenarios' environments do not see it.
            assert_eq!(
                r.probe
                    .as_ref()
                    .and_then(|p| p.init.as_ref())
                    .and_then(|i| i.sysgenid),
                Some(true)
            );
        }

        // Without `prewarm` the probe does nothing more at INIT: no prewarm, no call; its
        // first fetch pays the entropy (its CPU time holds most of it), which the prewarmed
        // scenario's first fetch does not.
        let plain = of(&records, &format!("ssm-{memory_mb}mb"), Phase::Cold);
        for r in &plain {
            let p = r.probe.as_ref().expect("probe record");
            assert_eq!(p.prewarm, None);
            assert_eq!(p.probe_build, Some(ProbeBuild::Default));
            let init = p.init.as_ref().expect("INIT");
            assert_eq!(init.sysgenid, Some(false));
            assert_eq!(init.prewarm_ns, None);
            assert!(init.prewarm_calls.is_empty());
        }
        let prewarmed = of(
            &records,
            &format!("ssm-prewarm-entropy-{memory_mb}mb"),
            Phase::Cold,
        );
        for r in &prewarmed {
            let init = r
                .probe
                .as_ref()
                .and_then(|p| p.init.as_ref())
                .expect("INIT");
            assert!(init.prewarm_ns.is_some() && init.prewarm_calls.is_empty());
        }
        let (plain_cpu, prewarmed_cpu) = (
            median(first_fetch_cpu(&plain)),
            median(first_fetch_cpu(&prewarmed)),
        );
        assert!(
            plain_cpu > prewarmed_cpu + (default - no_jitter) / 2,
            "{memory_mb} MB: the first fetch used {plain_cpu} ns of CPU without prewarm and {prewarmed_cpu} ns with it; the entropy costs {default} ns"
        );
    }
    // The statement says what INIT got and what the entropy cost.
    let statement = secbench_record::run::Emulation::statement(
        &manifest(&summary.dir).emulation.expect("emulation"),
    );
    assert!(statement.contains("INIT"), "{statement}");
    assert!(statement.contains("entropy"), "{statement}");
    assert_no_canary_in(&summary.dir, &canary());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_calibrated_from_aws_takes_its_service_times_and_cpu() {
    let _one = ONE_AT_A_TIME.lock().await;
    let fixture = root().join("secbench/tests/fixtures/runs/aws-synthetic");
    let aws = secbench_analyzer::calibration::AwsCalibration::read(&fixture).expect("fixture");
    let rounds = aws.cpu.iter().map(|c| c.rounds).max().expect("cpu rounds");
    let out = tempfile::tempdir().expect("tempdir");
    // The plan bench-calibration.sh runs too, its workload the fixture's.
    let plan = std::fs::read_to_string(root().join("scripts/plans/calibration.toml"))
        .expect("scripts/plans/calibration.toml");
    assert!(
        plan.contains(&format!("\ncpu_rounds = {rounds}\n")),
        "the plan's cpu_rounds are the fixture's {rounds}"
    );
    // The share of the calibrated run's wall time in which some task waited for a CPU, as the
    // kernel counts it (pressure stall information; 0 where the kernel has none): contention
    // stretches the local stage's own side of each call (moto, the front, the probe), which
    // no calibration learned before the run can take back.
    let stall_us = || {
        std::fs::read_to_string("/proc/pressure/cpu")
            .ok()
            .and_then(|t| {
                t.lines()
                    .find(|l| l.starts_with("some "))
                    .and_then(|l| l.rsplit("total=").next())
                    .and_then(|v| v.trim().parse::<u64>().ok())
            })
    };
    let (stalled_before, started) = (stall_us(), Instant::now());
    let summary = local(&plan, out.path(), Some(&fixture)).await;
    let stall = match (stalled_before, stall_us()) {
        (Some(a), Some(b)) => {
            ((b.saturating_sub(a)) as f64 / started.elapsed().as_micros() as f64).clamp(0.0, 1.0)
        }
        _ => 0.0,
    };
    let records = records(&summary.dir);
    let m = manifest(&summary.dir);
    let emulation = m.emulation.expect("emulation");
    let from = emulation.calibrated_from.as_ref().expect("calibrated");
    assert_eq!(from.run_id, aws.run_id);
    assert!(emulation.statement().contains(&aws.run_id));

    // The same fetch scenarios uncalibrated, in a run of their own: what the local stage
    // costs by itself (moto, the round trip, TLS, the probe's side) on this machine now.
    let plain_out = tempfile::tempdir().expect("tempdir");
    let plain_plan = plan
        .split("[[scenario]]\nname = \"cpu\"")
        .next()
        .expect("the fetch scenarios")
        .to_owned();
    let plain = common::records(&local(&plain_plan, plain_out.path(), None).await.dir);
    let warm_median = |records: &[InvocationRecord], scenario: &str| {
        median(
            of(records, scenario, Phase::Warm)
                .iter()
                .map(|r| r.probe.as_ref().expect("probe").fetches[0].latency_ns)
                .collect(),
        ) as f64
    };
    // Each operation's warm latency within 10 % of the AWS run's median for it, plus the stalled
    // share (above) of what the local stage costs by itself: the front releases a response at the drawn
    // latency less the round trip and what a call costs the probe outside the front, which the
    // run learned from uncalibrated calls at its start (the manifest says how much per
    // operation). Uncalibrated, the same scenarios show what the local stage costs by itself
    // (moto, the round trip, TLS, the probe's side).
    let learned = &from.client_side_ns;
    let mut off = Vec::new();
    for (scenario, target) in [
        ("ssm", "AmazonSSM.GetParameter"),
        ("sm", "secretsmanager.GetSecretValue"),
        ("kms", "TrentService.Decrypt"),
    ] {
        let expected = aws
            .median_ns(target)
            .expect("the fixture has the operation") as f64;
        let here = warm_median(&records, scenario);
        let local_alone = warm_median(&plain, scenario);
        let client_side = learned
            .iter()
            .find(|(op, _)| op == target)
            .map(|(_, n)| *n as f64)
            .unwrap_or_else(|| panic!("{target} not learned: {learned:?}"));
        let line = format!(
            "{target}: {:.2} ms here against {:.2} ms on AWS ({:.2} ms uncalibrated; the probe's side learned as {:.2} ms; CPU stalled {:.0} % of the run)",
            here / 1e6,
            expected / 1e6,
            local_alone / 1e6,
            client_side / 1e6,
            stall * 100.0
        );
        println!("{line}");
        if (here - expected).abs() > 0.10 * expected + stall * local_alone {
            off.push(line);
        }
    }
    assert!(off.is_empty(), "{off:#?}");
    // The workload at 128 MB ran under the share the calibration fitted, and the kernel held it
    // there (its own counters): over the scenario's warm invocations the cgroup's CPU time is at
    // most that share of their wall time with the 5 % that CFS's runtime slices hand out over
    // it (about 4 % on average, local-lambda/tests/cgroup.rs), plus a period's quota per
    // invocation (one can start with a fresh period's whole quota) and one tick (CFS sees an
    // exhausted quota at the next tick, 4 ms at 250 Hz, 10 ms at 100 Hz, and a later period
    // pays the overrun back); and the quota, not the host, set the pace (throttled). How close
    // the wall time then comes to the AWS run's is a measurement that moves from run to run
    // (261-317 ms quiet and 235-313 ms beside a build against 290 ms, in 20 runs of this test
    // at a 5 % share and a 4 ms tick), not something the kernel guarantees:
    // scripts/bench-calibration.sh compares the two side by side.
    let share_millis = from
        .cpu_share_millis
        .iter()
        .find(|(m, _)| *m == 128)
        .map(|(_, s)| *s)
        .expect("a share fitted for 128 MB");
    let period = Duration::from_micros(emulation.cpu_period_us.expect("a quota period"));
    let (mut cpu, mut throttled, mut wall, mut n) = (0u64, 0u64, 0f64, 0u32);
    for r in of(&records, "cpu", Phase::Warm) {
        let u = r.environment_usage.as_ref().expect("usage");
        assert!(
            u.cpu_share_millis
                .is_some_and(|s| s.abs_diff(share_millis) <= 1),
            "the environment's share {:?} is not the fitted {share_millis} thousandths",
            u.cpu_share_millis
        );
        cpu += u.cpu_ns.expect("cpu");
        throttled += u.throttled_ns.expect("throttled");
        wall += r
            .platform
            .as_ref()
            .and_then(|p| p.duration_ms)
            .expect("Duration")
            * 1e6;
        n += 1;
    }
    let share = (f64::from(share_millis) + 0.5) / 1000.0;
    let allowed = 1.05 * share * wall
        + f64::from(n) * share * period.as_nanos() as f64
        + Duration::from_millis(10).as_nanos() as f64;
    println!(
        "the workload at 128 MB: {:.1} ms of CPU in {:.1} ms over {n} invocations, at most {:.1} ms allowed at {share_millis} thousandths of a CPU per {period:?}; throttled {:.1} ms",
        cpu as f64 / 1e6,
        wall / 1e6,
        allowed / 1e6,
        throttled as f64 / 1e6
    );
    assert!(
        cpu as f64 <= allowed,
        "{cpu} ns of CPU in {wall} ns at {share_millis} thousandths: more than the quota allows"
    );
    assert!(throttled > 0, "the quota never held the workload back");
}

/// The Lambda control-plane calls moto's recorder saw since `start`, as (method, path and
/// query) in order.
fn lambda_calls(recorder: &MotoRecorder) -> Vec<String> {
    recorder
        .entries()
        .iter()
        .filter_map(|v| {
            let url = v["url"].as_str()?;
            let path = url
                .split_once("://")
                .map_or(url, |(_, rest)| rest.find('/').map_or("", |i| &rest[i..]));
            Some(format!("{} {path}", v["method"].as_str()?))
        })
        .filter(|c| c.contains("/functions/"))
        .collect()
}

fn operation(call: &str) -> &'static str {
    let (method, path) = call.split_once(' ').unwrap_or(("", call));
    let path = path.split('?').next().unwrap_or(path);
    match (method, path) {
        ("POST", p) if p.ends_with("/versions") => "PublishVersion",
        ("GET", p) if p.contains("/aliases/") => "GetAlias",
        ("POST", p) if p.ends_with("/aliases") => "CreateAlias",
        ("PUT", p) if p.contains("/aliases/") => "UpdateAlias",
        ("PUT", p) if p.ends_with("/provisioned-concurrency") => "PutProvisionedConcurrencyConfig",
        ("GET", p) if p.ends_with("/provisioned-concurrency") => "GetProvisionedConcurrencyConfig",
        ("DELETE", p) if p.ends_with("/provisioned-concurrency") => {
            "DeleteProvisionedConcurrencyConfig"
        }
        ("POST", p) if p.ends_with("/invocations") => {
            if call.contains("Qualifier=secbench-provisioned") {
                "Invoke(alias)"
            } else {
                "Invoke"
            }
        }
        ("PUT", p) if p.ends_with("/configuration") => "UpdateFunctionConfiguration",
        ("GET", p) if p.ends_with("/configuration") => "GetFunctionConfiguration",
        _ => "other",
    }
}

/// The operations in order, consecutive repeats (polls, invocations) folded into one.
fn sequence(calls: &[String]) -> Vec<&'static str> {
    let mut ops: Vec<&'static str> = calls.iter().map(|c| operation(c)).collect();
    ops.retain(|o| *o != "other" && *o != "GetFunctionConfiguration");
    ops.dedup();
    ops
}

const AWS_PLAN: &str = include_str!("fixtures/plans/cold_start-aws-plan.toml");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provisioned_concurrency_on_aws_is_made_in_order_and_removed_after_ctrl_c() {
    let _one = ONE_AT_A_TIME.lock().await;
    let moto = secbench::local_stage::start_moto(&root()).expect("moto");
    let status = std::process::Command::new(root().join(".venv/bin/python"))
        .arg(root().join("secbench/tests/fixtures/moto_create_function.py"))
        .args([&moto.endpoint, "eu-central-1", "secbench-probe-dev"])
        .status()
        .expect("python");
    assert!(status.success());
    let recorder = MotoRecorder::new(&moto.endpoint);
    let client = moto_lambda(&moto.endpoint).await;
    let out = tempfile::tempdir().expect("tempdir");
    let plan = plan(out.path(), AWS_PLAN);
    let target = dev_target("secbench-probe-dev");

    // A whole run: version, alias, config, wait for READY, invocations of the alias, removal.
    recorder.start();
    let summary = run::run(
        client.clone(),
        &plan,
        &target,
        out.path(),
        None,
        Cancel::default(),
    )
    .await
    .expect("run");
    assert_eq!(summary.accounting.sent, plan.planned());
    let calls = lambda_calls(&recorder);
    assert_eq!(
        sequence(&calls),
        [
            // Each round removes the previous round's config first (none in the first).
            "DeleteProvisionedConcurrencyConfig",
            "UpdateFunctionConfiguration",
            "PublishVersion",
            "GetAlias",
            "CreateAlias",
            "PutProvisionedConcurrencyConfig",
            "GetProvisionedConcurrencyConfig",
            "Invoke(alias)",
            "DeleteProvisionedConcurrencyConfig",
        ],
        "{calls:#?}"
    );
    assert!(
        calls
            .iter()
            .any(|c| c.contains("provisioned-concurrency?Qualifier=secbench-provisioned")),
        "the config is on the alias: {calls:#?}"
    );
    let gone = client
        .get_provisioned_concurrency_config()
        .function_name("secbench-probe-dev")
        .qualifier(provisioned::ALIAS)
        .send()
        .await;
    assert!(gone.is_err(), "the config was removed: {gone:?}");

    // Ctrl-C in the middle of the warm phase: the config is removed all the same, and the run
    // is partial. The second run updates the alias.
    recorder.start();
    let cancel = Cancel::default();
    let out2 = tempfile::tempdir().expect("tempdir");
    let watcher = {
        let (cancel, recorder) = (cancel.clone(), MotoRecorder::new(&moto.endpoint));
        std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(60);
            // Cancel once the alias has been invoked: the provisioned config stands then. (A
            // poll of the recorder: each look is a request to moto.)
            while !lambda_calls(&recorder)
                .iter()
                .any(|c| operation(c) == "Invoke(alias)")
            {
                assert!(Instant::now() < deadline, "the alias was never invoked");
            }
            cancel.cancel();
        })
    };
    let summary = run::run(client.clone(), &plan, &target, out2.path(), None, cancel)
        .await
        .expect("run");
    watcher.join().expect("watcher");
    assert_eq!(summary.status, RunStatus::Partial, "{:?}", summary.message);
    assert!(summary.accounting.sent < plan.planned());
    let ops = sequence(&lambda_calls(&recorder));
    assert_eq!(
        ops.get(..2),
        Some(
            &[
                "DeleteProvisionedConcurrencyConfig",
                "UpdateFunctionConfiguration"
            ][..]
        ),
        "{ops:?}"
    );
    assert!(ops.contains(&"UpdateAlias"), "{ops:?}");
    assert_eq!(
        ops.last(),
        Some(&"DeleteProvisionedConcurrencyConfig"),
        "{ops:?}"
    );

    // A run killed outright leaves the config behind: `--resume` removes it before anything else.
    client
        .put_provisioned_concurrency_config()
        .function_name("secbench-probe-dev")
        .qualifier(provisioned::ALIAS)
        .provisioned_concurrent_executions(2)
        .send()
        .await
        .expect("a config left behind");
    recorder.start();
    let resumed = run::run(
        client.clone(),
        &plan,
        &target,
        out2.path(),
        Some(summary.dir.as_path()),
        Cancel::default(),
    )
    .await
    .expect("resume");
    assert_eq!(resumed.accounting.sent, plan.planned());
    let calls = lambda_calls(&recorder);
    let ops = sequence(&calls);
    assert_eq!(
        ops.get(..2),
        Some(
            &[
                "DeleteProvisionedConcurrencyConfig",
                "UpdateFunctionConfiguration"
            ][..]
        ),
        "{ops:?}"
    );
    assert_eq!(
        ops.last(),
        Some(&"DeleteProvisionedConcurrencyConfig"),
        "{ops:?}"
    );
    let deletes_before_update = calls
        .iter()
        .take_while(|c| operation(c) != "UpdateFunctionConfiguration")
        .filter(|c| operation(c) == "DeleteProvisionedConcurrencyConfig")
        .count();
    // One by the resume (the leftover), one by the scenario's round (which finds none).
    assert_eq!(
        deletes_before_update, 2,
        "the leftover config was removed before the run went on: {calls:#?}"
    );
}
