//! Faults on the local stage: the real probe under the local platform, its SDK talking to moto
//! through the fault proxy. Each kind (throttling at a rate and above a TPS, HTTP 500/503,
//! connection resets, responses slower than the SDK's attempt timeout, added latency) is
//! recorded as its error class with the SDK attempts it took, the run goes on through all of
//! them, and the accounting line holds: ok + errors by class = sent.

mod common;

use common::*;
use secbench_local_lambda::front::FaultProxy;
use secbench_local_lambda::{LocalPlatform, PlatformConfig};
use secbench_record::run::{InvocationOutcome, InvocationRecord};
use secbench_record::ErrorClass;
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

fn scenario<'a>(records: &'a [InvocationRecord], name: &str) -> Vec<&'a InvocationRecord> {
    records.iter().filter(|r| r.scenario == name).collect()
}

fn classes(records: &[&InvocationRecord]) -> BTreeMap<ErrorClass, usize> {
    let mut m = BTreeMap::new();
    for r in records {
        for f in r.probe.iter().flat_map(|p| &p.fetches) {
            if let Some(c) = f.error_class {
                *m.entry(c).or_default() += 1;
            }
        }
    }
    m
}

fn max_attempts(records: &[&InvocationRecord]) -> u32 {
    records
        .iter()
        .flat_map(|r| r.probe.iter().flat_map(|p| &p.fetches))
        .map(|f| f.sdk_attempts)
        .max()
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_fault_kind_is_recorded_and_every_invocation_accounted_for() {
    let b = backend().await;
    let proxy = FaultProxy::start(&b.moto.endpoint).await.expect("proxy");
    let mut vars = function_vars(&b);
    vars.insert("SECBENCH_SDK_ATTEMPT_TIMEOUT".into(), "500ms".into());
    let platform = LocalPlatform::start(PlatformConfig {
        function_name: secbench::local_stage::FUNCTION.into(),
        region: secbench::local_stage::REGION.into(),
        probe_bin: probe_bin(),
        agent_bin: Some(agent_bin()),
        platform_vars: secbench::local_stage::platform_vars(&proxy.endpoint, SESSION_TOKEN),
        function_vars: vars,
        memory_mb: 128,
        timeout: Duration::from_secs(20),
        max_concurrency: 8,
        agent_start_delay: None,
        constraints: secbench_local_lambda::Constraints::None(
            secbench_record::run::Constraint::NotConstrained,
        ),
        front: None,
    })
    .await
    .expect("platform");
    let plan = secbench::plan::Plan::load(&root().join("record/tests/fixtures/plans/faults.toml"))
        .expect("plan");
    let mut t = target();
    t.on_scenario_start = Some(secbench::local_stage::fault_hook(proxy.control.clone()));
    let out = tempfile::tempdir().expect("tempdir");
    let client = client(&platform).await;
    let summary = secbench::run::run(
        client,
        &plan,
        &t,
        out.path(),
        None,
        secbench::run::Cancel::default(),
    )
    .await
    .expect("run");
    platform.shutdown().await;

    // The run went through every fault and counted every invocation.
    let planned: u64 = plan.scenarios.iter().map(|s| s.planned()).sum();
    let a = &summary.accounting;
    assert_eq!(a.sent, planned, "{}", a.line());
    assert!(a.balanced(), "{}", a.line());
    let records = records(&summary.dir);
    assert_eq!(records.len() as u64, planned);
    let m = manifest(&summary.dir);
    assert_eq!(m.accounting, *a);
    eprintln!("accounting: {}", a.line());

    // Per fault kind (scenario): sent = accounted, each invocation once.
    for s in &plan.scenarios {
        let mine = scenario(&records, &s.name);
        let mut acc = secbench_record::run::Accounting::default();
        for r in &mine {
            acc.add(r.outcome);
        }
        assert_eq!(acc.sent, s.planned(), "{}", s.name);
        assert!(acc.balanced());
        let failed_fetches = mine
            .iter()
            .flat_map(|r| r.probe.iter().flat_map(|p| &p.fetches))
            .filter(|f| f.error_class.is_some())
            .count();
        eprintln!(
            "{}: {}; {failed_fetches} fetches failed after retries, most attempts {}",
            s.name,
            acc.line(),
            max_attempts(&mine)
        );
    }
    let c = &proxy.control.counts;
    for (what, n) in [
        ("throttled", c.throttled.load(Ordering::Relaxed)),
        ("server errors", c.server_errors.load(Ordering::Relaxed)),
        ("resets", c.resets.load(Ordering::Relaxed)),
        ("slowed", c.slowed.load(Ordering::Relaxed)),
        ("delayed", c.delayed.load(Ordering::Relaxed)),
    ] {
        assert!(n > 0, "the proxy injected no {what}");
        eprintln!("proxy {what}: {n}");
    }

    // The retry configuration in force is in every probe record.
    for r in &records {
        if let Some(p) = &r.probe {
            let retry = p.sdk_retry.as_ref().expect("sdk_retry");
            assert_eq!(retry.mode, "standard");
            assert_eq!(retry.max_attempts, 3);
            assert_eq!(retry.attempt_timeout_ms, Some(500));
        }
    }

    // Throttling at a rate: retried (attempts > 1), and where all 3 attempts were throttled,
    // a fetch error of class `throttled`.
    let throttled = scenario(&records, "ssm-throttled-half");
    assert!(max_attempts(&throttled) > 1);
    assert!(
        classes(&throttled).contains_key(&ErrorClass::Throttled),
        "{:?}",
        classes(&throttled)
    );
    // Above 40 TPS at 200/s: throttled too.
    let tps = scenario(&records, "ssm-above-40-tps");
    assert!(max_attempts(&tps) > 1);
    // 500/503: retried by the standard retry mode.
    let errors = scenario(&records, "kms-server-errors");
    assert!(max_attempts(&errors) > 1);
    // Resets and slow responses: retried; the slow ones time out per attempt.
    assert!(max_attempts(&scenario(&records, "secrets-manager-resets")) > 1);
    let slow = scenario(&records, "secrets-manager-slow");
    assert!(max_attempts(&slow) > 1);
    // Added latency shows in the warm fetch latency (20..30 ms added to every call).
    let warm_latency: Vec<u64> = scenario(&records, "secrets-manager-latency")
        .iter()
        .filter(|r| r.probe.as_ref().is_some_and(|p| !p.cold))
        .flat_map(|r| r.probe.iter().flat_map(|p| &p.fetches))
        .filter(|f| f.error_class.is_none())
        .map(|f| f.latency_ns)
        .collect();
    assert!(!warm_latency.is_empty());
    assert!(
        warm_latency.iter().all(|ns| *ns >= 20_000_000),
        "{warm_latency:?}"
    );
    // After the faults, the clean scenario is clean: the proxy passes everything through.
    let clean = scenario(&records, "secrets-manager-clean");
    assert!(clean.iter().all(|r| r.outcome == InvocationOutcome::Ok));
    assert!(classes(&clean).is_empty());
    // The cost model takes no latency from a scenario run under faults.
    let faulted = secbench_record::run_dir::read_manifest(&summary.dir)
        .expect("manifest")
        .fault_scenarios();
    assert!(faulted.contains("ssm-throttled-half") && faulted.contains("secrets-manager-latency"));
    assert!(!faulted.contains("secrets-manager-clean"));
    assert_no_canary_in(&summary.dir, &b.canary);
}

#[test]
fn bad_faults_are_named_in_the_plan() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = [
        (
            "throttle_rate = 1.5",
            "faults.throttle_rate: 1.5 is outside 0..=1",
        ),
        (
            "services = [\"s3\"]",
            "faults.services: `s3` is not one of kms, ssm, secretsmanager",
        ),
        (
            "latency = \"soon\"",
            "faults.latency: `soon` is not a duration",
        ),
        (
            "slow_rate = 0.1",
            "faults.slow_delay: needed with slow_rate",
        ),
        (
            "throttle_above_tps = -1",
            "faults.throttle_above_tps: -1 is outside",
        ),
        ("colour = \"red\"", "unknown field `colour`"),
    ];
    for (line, expected) in cases {
        let text = format!(
            "stage = \"local\"\n[[scenario]]\nname = \"s\"\nsource = \"ssm\"\n[scenario.faults]\n{line}\n"
        );
        let path = dir.path().join("plan.toml");
        std::fs::write(&path, text).expect("write");
        let e = secbench::plan::Plan::load(&path)
            .expect_err(line)
            .to_string();
        assert!(e.contains(expected), "{line}: {e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_emulator_stopping_mid_run_is_recorded_and_the_run_goes_on() {
    let mut b = backend().await;
    let out = tempfile::tempdir().expect("tempdir");
    let plan = plan(
        out.path(),
        include_str!("fixtures/plans/faults-the-emulator-stopping-mid-run-is-recorded-and-the-run-goes-on.toml"),
    );
    let platform = common::platform(&b, 2, Duration::from_secs(30)).await;
    let stopper = async {
        // Once 40 invocations are on disk, moto goes away.
        loop {
            let written: usize = std::fs::read_dir(out.path().join("local"))
                .into_iter()
                .flatten()
                .flatten()
                .map(|run| {
                    std::fs::read_to_string(run.path().join("records.jsonl"))
                        .map_or(0, |t| t.lines().count())
                })
                .sum();
            if written >= 40 {
                b.moto.stop();
                return written;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    let (summary, stopped_at) = tokio::join!(run_plan(&platform, &plan, out.path()), stopper);
    platform.shutdown().await;
    let a = &summary.accounting;
    assert_eq!(a.sent, 152, "{}", a.line());
    assert!(a.balanced(), "{}", a.line());
    let records = records(&summary.dir);
    assert_eq!(records.len(), 152);
    // Fetches after the stop fail as connection errors, each recorded with its attempts.
    let failed: Vec<_> = records
        .iter()
        .flat_map(|r| r.probe.iter().flat_map(|p| &p.fetches))
        .filter(|f| f.error_class == Some(ErrorClass::Connect))
        .collect();
    assert!(
        failed.len() >= 150 - stopped_at,
        "{} connect errors after stopping at {stopped_at}: {}",
        failed.len(),
        a.line()
    );
    assert!(failed.iter().all(|f| f.sdk_attempts >= 1));
    eprintln!(
        "moto stopped after {stopped_at} records: {}; {} fetches failed to connect",
        a.line(),
        failed.len()
    );
    assert_no_canary_in(&summary.dir, &b.canary);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_agent_not_up_yet_at_cold_start_is_recorded_and_later_fetches_succeed() {
    let b = backend().await;
    let platform = LocalPlatform::start(PlatformConfig {
        function_name: secbench::local_stage::FUNCTION.into(),
        region: secbench::local_stage::REGION.into(),
        probe_bin: probe_bin(),
        agent_bin: Some(agent_bin()),
        platform_vars: secbench::local_stage::platform_vars(&b.moto.endpoint, SESSION_TOKEN),
        function_vars: function_vars(&b),
        memory_mb: 128,
        timeout: Duration::from_secs(20),
        max_concurrency: 2,
        // INIT ends before the agent listens, as with the real extension now and then.
        agent_start_delay: Some(Duration::from_millis(1500)),
        constraints: secbench_local_lambda::Constraints::None(
            secbench_record::run::Constraint::NotConstrained,
        ),
        front: None,
    })
    .await
    .expect("platform");
    let out = tempfile::tempdir().expect("tempdir");
    // One at a time: each cold round applies a new configuration, which retires the last
    // environment. Two cold starts sent together are two only if the second arrives before the
    // first has finished, and a fetch that finds no agent finishes in milliseconds (CI once saw
    // one environment serve both).
    let plan = plan(
        out.path(),
        include_str!("fixtures/plans/faults-an-agent-not-up-yet-at-cold-start-is-recorded-and-later-fetches-succeed.toml"),
    );
    let summary = run_plan(&platform, &plan, out.path()).await;
    platform.shutdown().await;
    let a = &summary.accounting;
    assert_eq!(a.sent, 22, "{}", a.line());
    assert!(a.balanced(), "{}", a.line());
    let records = records(&summary.dir);
    let fetches = |cold: bool| -> Vec<&secbench_record::FetchRecord> {
        records
            .iter()
            .filter_map(|r| r.probe.as_ref())
            .filter(|p| p.cold == cold)
            .flat_map(|p| &p.fetches)
            .collect()
    };
    // The first fetch of each new environment found no agent listening.
    let cold = fetches(true);
    assert_eq!(cold.len(), 2);
    assert!(
        cold.iter()
            .all(|f| f.error_class == Some(ErrorClass::Connect)),
        "{cold:#?}"
    );
    // Once it is up (4 s of warm traffic at 5/s), fetches succeed.
    let warm = fetches(false);
    assert!(
        warm.last().is_some_and(|f| f.error_class.is_none()),
        "{warm:#?}"
    );
    eprintln!(
        "agent 1.5 s late: {}; cold fetches failed to connect: {}, warm fetches failed: {} of {}",
        a.line(),
        cold.len(),
        warm.iter().filter(|f| f.error_class.is_some()).count(),
        warm.len()
    );
    assert_no_canary_in(&summary.dir, &b.canary);
}
