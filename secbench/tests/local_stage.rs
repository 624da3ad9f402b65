//! The runner and the local Lambda platform, end to end with the real release probe, moto and
//! the Secrets Manager Agent: records for every scenario, cold and warm; every invocation
//! accounted for through crashes, throttles, INIT failures and timeouts; interrupt and resume.

mod common;

use common::*;
use secbench::run::{self, Cancel};
use secbench_record::run::{InvocationOutcome, Phase, RunStatus};
use std::collections::HashSet;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scenario_gets_cold_and_warm_records() {
    let b = backend().await;
    let out = tempfile::tempdir().expect("tempdir");
    let plan = plan(
        out.path(),
        include_str!("fixtures/plans/local_stage-every-scenario-gets-cold-and-warm-records.toml"),
    );
    let platform = common::platform(&b, 3, Duration::from_secs(30)).await;
    let summary = run_plan(&platform, &plan, out.path()).await;
    let log = summary.dir.join("platform.log");
    platform.write_logs(&log).expect("platform.log");
    platform.shutdown().await;
    // The probe's and the agent's logs are there, and carry no value (checked below).
    let logged = std::fs::read_to_string(&log).expect("log");
    assert!(logged.contains("=== environment 0 ===") && logged.contains("\"run_id\""));

    assert_eq!(summary.status, RunStatus::Complete, "{:?}", summary.message);
    assert!(summary.accounting.balanced());
    assert_eq!(summary.accounting.sent, plan.planned());
    assert_eq!(
        summary.accounting.ok,
        plan.planned(),
        "{}",
        summary.accounting.line()
    );
    let records = records(&summary.dir);
    assert_eq!(records.len() as u64, plan.planned());
    for s in &plan.scenarios {
        let mine: Vec<_> = records.iter().filter(|r| r.scenario == s.name).collect();
        let cold: Vec<_> = mine.iter().filter(|r| r.phase == Phase::Cold).collect();
        let warm: Vec<_> = mine.iter().filter(|r| r.phase == Phase::Warm).collect();
        assert_eq!(
            (cold.len() as u64, warm.len() as u64),
            (s.cold_starts, s.warm_invocations),
            "{}",
            s.name
        );
        for r in &cold {
            let probe = r.probe.as_ref().expect("probe record");
            assert!(
                probe.cold,
                "{}: a planned cold start landed on a warm environment",
                s.name
            );
            assert_eq!(probe.source, s.source);
            let platform = r
                .platform
                .as_ref()
                .expect("REPORT parsed from the log tail");
            assert!(
                platform.init_duration_ms.is_some_and(|ms| ms > 0.0),
                "{}: no Init Duration",
                s.name
            );
            assert!(
                platform.billed_duration_ms.is_some()
                    && platform.max_memory_used_mb.is_some_and(|m| m > 0)
            );
            assert_eq!(platform.memory_size_mb, Some(s.memory_mb));
        }
        for r in &warm {
            let probe = r.probe.as_ref().expect("probe record");
            assert!(!probe.cold, "{}: warm phase hit a cold environment", s.name);
            assert!(r
                .platform
                .as_ref()
                .is_some_and(|p| p.init_duration_ms.is_none()));
            assert!(r.caller_latency_ns >= r.caller_service_ns);
        }
        assert!(mine.iter().all(|r| r
            .probe
            .as_ref()
            .is_some_and(|p| p.fetches.iter().all(|f| f.verified == Some(true)))));
        // A configuration change per round of `concurrency` cold starts.
        let rounds: HashSet<_> = cold.iter().map(|r| r.round).collect();
        assert_eq!(
            rounds.len() as u64,
            s.cold_starts.div_ceil(s.concurrency),
            "{}",
            s.name
        );
    }
    let m = manifest(&summary.dir);
    assert!(m.local_emulator);
    assert_eq!(m.accounting, summary.accounting);
    assert_no_canary_in(&summary.dir, &b.canary);
    // The report of this run (HTML, Markdown, plots, exports, HdrHistogram logs) carries no
    // trace of the value either.
    let report = write_report(&summary.dir);
    assert!(report
        .html
        .starts_with(summary.dir.parent().expect("parent")));
    assert_no_canary_in(report.html.parent().expect("report dir"), &b.canary);
    // Nor the session token (the agent's X-Aws-Parameters-Secrets-Token), nor the secret
    // access key (made from it).
    assert_no_canary_in(&summary.dir, SESSION_TOKEN);
    assert_no_canary_in(report.html.parent().expect("report dir"), SESSION_TOKEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_environment_is_recorded_and_the_run_goes_on() {
    let b = backend().await;
    let out = tempfile::tempdir().expect("tempdir");
    // 150 uncached KMS decrypts per invocation keep each invocation busy long enough to kill.
    let plan = plan(
        out.path(),
        include_str!(
            "fixtures/plans/local_stage-a-killed-environment-is-recorded-and-the-run-goes-on.toml"
        ),
    );
    let platform = std::sync::Arc::new(common::platform(&b, 2, Duration::from_secs(30)).await);
    let killer = {
        let platform = platform.clone();
        tokio::spawn(async move {
            let mut killed = 0;
            let deadline = std::time::Instant::now() + Duration::from_secs(60);
            while killed < 2 && std::time::Instant::now() < deadline {
                if platform.kill_a_busy_environment().await {
                    killed += 1;
                }
                tokio::time::sleep(Duration::from_millis(150)).await;
            }
            killed
        })
    };
    let summary = run_plan(&platform, &plan, out.path()).await;
    let killed = killer.await.expect("killer");
    assert!(killed >= 1, "no environment was busy to kill");
    let records = records(&summary.dir);
    let crashed: Vec<_> = records
        .iter()
        .filter(|r| r.error_type.as_deref() == Some("Runtime.ExitError"))
        .collect();
    // A kill that lands between a response and the environment's release crashes nothing.
    assert!(
        (1..=killed).contains(&crashed.len()),
        "{} crashed of {killed} killed: {}",
        crashed.len(),
        summary.accounting.line()
    );
    assert!(crashed
        .iter()
        .all(|r| r.outcome == InvocationOutcome::FunctionError));
    assert_eq!(
        summary.accounting.sent,
        plan.planned(),
        "{}",
        summary.accounting.line()
    );
    assert!(summary.accounting.balanced());
    assert_eq!(summary.status, RunStatus::Complete);
    eprintln!("killed environments: {}", summary.accounting.line());
    if let Ok(p) = std::sync::Arc::try_unwrap(platform) {
        p.shutdown().await;
    }
    assert_no_canary_in(&summary.dir, &b.canary);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttles_init_failures_and_timeouts_are_outcomes() {
    let b = backend().await;
    let out = tempfile::tempdir().expect("tempdir");
    // The platform allows 1 environment; the plan asks for 3 at once: 2 of each round throttled.
    let plan_text = include_str!(
        "fixtures/plans/local_stage-throttles-init-failures-and-timeouts-are-outcomes.toml"
    );
    let platform = common::platform(&b, 1, Duration::from_secs(30)).await;
    let summary = run_plan(&platform, &plan(out.path(), plan_text), out.path()).await;
    let a = &summary.accounting;
    assert_eq!((a.sent, a.ok, a.throttled), (6, 2, 4), "{}", a.line());
    assert!(a.balanced());
    assert!(records(&summary.dir)
        .iter()
        .filter(|r| r.outcome == InvocationOutcome::Throttled)
        .all(|r| r.status_code == Some(429)
            && r.error_type.as_deref() == Some("TooManyRequestsException")));
    eprintln!("throttled: {}", a.line());
    platform.shutdown().await;

    // INIT fails: the probe reports /runtime/init/error and Lambda answers with a function error.
    let platform = common::platform(&b, 2, Duration::from_secs(30)).await;
    let mut bad = function_vars(&b);
    bad.insert("SECBENCH_SOURCE".into(), "ssm".into());
    bad.remove("SECBENCH_PARAMETER_NAME");
    let c = client(&platform).await;
    c.update_function_configuration()
        .function_name(secbench::local_stage::FUNCTION)
        .environment(
            aws_sdk_lambda::types::Environment::builder()
                .set_variables(Some(bad.into_iter().collect()))
                .build(),
        )
        .send()
        .await
        .expect("update");
    let r = run::invoke::invoke(
        &c,
        secbench::local_stage::FUNCTION,
        br#"{"run_id":"r","scenario":"s"}"#,
    )
    .await;
    // The runner applies scenarios itself; invoke directly to see the platform's answer.
    assert_eq!(r.outcome, InvocationOutcome::FunctionError);
    assert_eq!(r.error_type.as_deref(), Some("InvalidConfiguration"));
    let init = r.init_report.expect("INIT_REPORT in the tail");
    assert_eq!(init.status.as_deref(), Some("error"));
    platform.shutdown().await;

    // The function timeout kills the environment.
    let platform = common::platform(&b, 1, Duration::from_secs(1)).await;
    let out2 = tempfile::tempdir().expect("tempdir");
    let plan_text = include_str!(
        "fixtures/plans/local_stage-throttles-init-failures-and-timeouts-are-outcomes-2.toml"
    );
    let summary = run_plan(&platform, &plan(out2.path(), plan_text), out2.path()).await;
    let recs = records(&summary.dir);
    assert_eq!(recs.len(), 2);
    for r in &recs {
        assert_eq!(
            (r.outcome, r.error_type.as_deref()),
            (InvocationOutcome::FunctionTimeout, Some("Sandbox.Timedout"))
        );
        assert_eq!(
            r.platform.as_ref().and_then(|p| p.status.as_deref()),
            Some("timeout")
        );
        assert!(r
            .platform
            .as_ref()
            .and_then(|p| p.duration_ms)
            .is_some_and(|d| d >= 1000.0));
    }
    platform.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_run_resumes_with_every_invocation_exactly_once() {
    let b = backend().await;
    let out = tempfile::tempdir().expect("tempdir");
    let plan = plan(
        out.path(),
        include_str!("fixtures/plans/local_stage-an-interrupted-run-resumes-with-every-invocation-exactly-once.toml"),
    );
    let platform = common::platform(&b, 2, Duration::from_secs(30)).await;
    let cancel = Cancel::default();
    let watcher = {
        let (cancel, dir) = (cancel.clone(), out.path().to_owned());
        tokio::spawn(async move {
            // Interrupt once some records have reached the file (checkpointed), as Ctrl-C would.
            loop {
                let lines = walk_records(&dir);
                if lines >= 1 {
                    cancel.cancel();
                    return;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let first = run::run(
        client(&platform).await,
        &plan,
        &target(),
        out.path(),
        None,
        cancel,
    )
    .await
    .expect("run");
    watcher.await.expect("watcher");
    assert_eq!(first.status, RunStatus::Partial, "{:?}", first.message);
    assert!(first.accounting.sent < plan.planned());
    assert!(first
        .message
        .as_deref()
        .is_some_and(|m| m.contains("--resume")));
    assert_eq!(manifest(&first.dir).status, RunStatus::Partial);

    let second = run::run(
        client(&platform).await,
        &plan,
        &target(),
        out.path(),
        Some(&first.dir),
        Cancel::default(),
    )
    .await
    .expect("resume");
    platform.shutdown().await;
    assert_eq!(second.status, RunStatus::Complete, "{:?}", second.message);
    assert_eq!(second.dir, first.dir);
    let records = records(&second.dir);
    let keys: HashSet<_> = records
        .iter()
        .map(|r| (r.scenario.clone(), r.phase, r.index))
        .collect();
    assert_eq!(records.len() as u64, plan.planned(), "duplicates or losses");
    assert_eq!(keys.len() as u64, plan.planned());
    assert_eq!(second.accounting.sent, plan.planned());
    assert_eq!(manifest(&second.dir).accounting, second.accounting);
}

fn walk_records(dir: &std::path::Path) -> usize {
    let Ok(stages) = std::fs::read_dir(dir.join("local")) else {
        return 0;
    };
    stages
        .filter_map(|e| e.ok())
        .filter_map(|e| std::fs::read_to_string(e.path().join("records.jsonl")).ok())
        .map(|t| t.lines().count())
        .sum()
}
