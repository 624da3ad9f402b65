//! Rotation on the local stage, as `secbench local` runs it (the real release probe and agent,
//! moto behind the TLS front): a new value is written during each scenario's warm phase, and
//! each approach is held to what its caching promises: `none` serves the new value from the
//! next invocation, the in-process TTL cache and the caching library no longer than their TTL
//! (and get it by the TTL plus the time to their next invocation), the agent no longer than its
//! TTL, a fetch at INIT until its environment ends, and a rotation of `kms-env` or `plain-env`
//! (a configuration change) retires every environment. No record, log, rotation record or
//! report holds the old value or any new one.

mod common;

use common::*;
use secbench_analyzer::approach::StalenessBound;
use secbench_analyzer::staleness::{self, RotationStaleness};
use secbench_record::rotation::Store;
use secbench_record::run::RunStatus;
use std::process::Command;

const TTL_MS: f64 = 1000.0;

const PLAN: &str = include_str!("fixtures/plans/rotation-plan.toml");

fn secbench(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_secbench"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("secbench runs");
    assert!(
        out.status.success(),
        "secbench {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The fields of one CSV line (RFC 4180 quoting; no line breaks inside fields here).
fn csv_cells(line: &str) -> Vec<String> {
    let (mut cells, mut cell, mut quoted) = (Vec::new(), String::new(), false);
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cell.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => cells.push(std::mem::take(&mut cell)),
            _ => cell.push(c),
        }
    }
    cells.push(cell);
    cells
}

fn of<'a>(all: &'a [RotationStaleness], scenario: &str) -> &'a RotationStaleness {
    all.iter()
        .find(|r| r.scenario == scenario)
        .unwrap_or_else(|| panic!("no rotation measured for {scenario}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_cache_mode_serves_the_old_value_as_long_as_it_promises_and_no_longer() {
    let out = tempfile::tempdir().expect("tempdir");
    let plan_path = out.path().join("plan.toml");
    std::fs::write(&plan_path, PLAN).expect("plan");
    let value = canary();
    let summary = run_local(&plan_path, out.path(), &value, None)
        .await
        .expect("the local stage runs");
    assert_eq!(summary.status, RunStatus::Complete, "{:?}", summary.message);
    assert_eq!(
        summary.accounting.ok,
        summary.accounting.sent,
        "{}",
        summary.accounting.line()
    );

    // One confirmed rotation per rotating scenario, written where its source reads.
    let rotations = secbench_record::rotation::read(&summary.dir).expect("rotations.jsonl");
    assert_eq!(rotations.len(), 8, "{rotations:?}");
    for r in &rotations {
        assert!(r.error.is_none() && r.confirmed_unix_ms.is_some(), "{r:?}");
        assert_eq!(r.version_index, 1);
        assert_eq!(r.planned_offset_ms, 1000);
        assert!(r.service_version.is_some(), "{r:?}");
        let expected = match r.scenario.as_str() {
            "ssm-none" | "ssm-ttl" => Store::Parameter,
            "kms-none" | "plain" => Store::FunctionConfiguration,
            _ => Store::Secret,
        };
        assert_eq!(r.store, expected, "{}", r.scenario);
    }

    let ingested = secbench_analyzer::ingest::read_runs(std::slice::from_ref(&summary.dir), false)
        .expect("the run reads");
    let all = staleness::analyze(&ingested);
    assert_eq!(all.len(), 8);
    for r in &all {
        assert_eq!(
            r.unknown_after, 0,
            "{}: a value matched no digest",
            r.scenario
        );
        assert!(r.environments >= 1, "{}: {r:?}", r.scenario);
        assert!(r.invocations_after > 50, "{}: {r:?}", r.scenario);
    }

    // No cache: every invocation sent after the confirmation got the new value.
    for name in ["ssm-none", "sm-none"] {
        let r = of(&all, name);
        assert_eq!(r.bound, Some(StalenessBound::NextFetch));
        assert_eq!(r.stale_after, 0, "{name}: {r:?}");
        assert!(r.stale_until_end_ms.is_empty(), "{name}: {r:?}");
    }

    // TTL cache, caching library and agent: the old value no longer than the TTL after the
    // rotation (the entry was cached before it), so every invocation sent later than that got
    // the new one: within the TTL plus the time to the environment's next invocation.
    for (name, bound) in [
        ("ssm-ttl", StalenessBound::CacheTtl),
        ("sm-library", StalenessBound::CacheTtl),
        ("agent", StalenessBound::AgentTtl),
    ] {
        let r = of(&all, name);
        assert_eq!(r.bound, Some(bound), "{name}");
        assert_eq!(r.ttl, Some(std::time::Duration::from_secs(1)), "{name}");
        // Whole-ms clocks on both sides: 2 ms of slack.
        let last = r.last_stale_ms.unwrap_or(0.0);
        assert!(
            last <= TTL_MS + 2.0,
            "{name}: stale {last} ms after the rotation: {r:?}"
        );
        // An environment the platform left idle after one stale invocation stays "stale at its
        // last invocation"; that invocation is within the TTL too (checked above).
        assert_eq!(
            (r.windows_ms.len() + r.stale_until_end_ms.len()) as u64,
            r.environments - r.retired,
            "{name}"
        );
        // (A window can be longer than the TTL when the platform left that environment idle
        // for a while: it ends at the environment's next invocation, which got the new value.)
    }

    // At INIT without a cache: stale until the environment ends. (An environment the platform
    // left idle after the rotation served nothing: it counts as retired, not as stale.)
    let r = of(&all, "sm-init");
    assert_eq!(r.bound, Some(StalenessBound::EnvironmentLifetime));
    assert!(r.windows_ms.is_empty(), "{r:?}");
    assert!(!r.stale_until_end_ms.is_empty(), "{r:?}");
    assert_eq!(
        r.stale_until_end_ms.len() as u64,
        r.environments - r.retired,
        "{r:?}"
    );
    assert_eq!(r.stale_after, r.invocations_after);

    // In the configuration: the change retires every environment; new ones get the new value.
    for name in ["kms-none", "plain"] {
        let r = of(&all, name);
        assert_eq!(r.bound, Some(StalenessBound::ConfigurationChange));
        assert_eq!(r.retired, r.environments, "{name}: {r:?}");
        assert_eq!(r.stale_after, 0, "{name}: {r:?}");
        assert!(
            r.cold_after >= 1,
            "{name}: the change forced no cold start: {r:?}"
        );
    }

    // A later scenario on a rotated store is given the digest the store holds now.
    let records = records(&summary.dir);
    for rec in records.iter().filter(|r| r.scenario == "ssm-after") {
        let f = &rec.probe.as_ref().expect("probe").fetches;
        assert!(f
            .iter()
            .all(|f| f.verified == Some(true) && f.version_index == Some(0)));
    }

    // The invocations after a rotation, reproduced from the records by the README's
    // definition: sent (intended instant + the runner's slip) at least GUARD_MS after the
    // confirmation, whose last handler fetch returned a value.
    for name in ["kms-none", "plain", "ssm-ttl"] {
        let r = of(&all, name);
        let at = r.rotation.confirmed_unix_ms.expect("confirmed") as f64;
        let counted = records
            .iter()
            .filter(|rec| rec.scenario == name)
            .filter(|rec| {
                let sent = rec.intended_send_unix_ms as f64
                    + rec.schedule_slip_ns.unwrap_or(0) as f64 / 1e6;
                let returned = rec.probe.as_ref().is_some_and(|p| {
                    p.fetches
                        .iter()
                        .rev()
                        .find(|f| f.phase == secbench_record::FetchPhase::Handler)
                        .is_some_and(|f| f.outcome != secbench_record::Outcome::Error)
                });
                sent >= at + staleness::GUARD_MS && returned
            })
            .count() as u64;
        assert_eq!(counted, r.invocations_after, "{name}: {r:?}");
    }

    // `secbench analyze` gives the same staleness in each format as the report's
    // staleness.json (checked below, once the report is written).
    let run = summary.dir.to_str().expect("utf-8");
    let analyzed: serde_json::Value =
        serde_json::from_str(&secbench(&["analyze", run, "--format", "json"])).expect("JSON");
    let table = secbench(&["analyze", run]);
    assert!(
        table.contains("Staleness after a rotation") && table.contains("sm-init"),
        "{table}"
    );
    let md = secbench(&["analyze", run, "--format", "md"]);
    assert!(md.contains("## Staleness after a rotation"), "{md}");
    assert!(md.contains("| sm-init |"), "{md}");
    let csv = secbench(&["analyze", run, "--format", "csv"]);
    let header = csv.lines().next().expect("header");
    let columns = header.split(',').count();
    let rotation_col = header
        .split(',')
        .position(|c| c == "invocations_after")
        .expect("invocations_after column");
    let mut rotation_rows = 0;
    for line in csv
        .lines()
        .skip(1)
        .filter(|l| l.contains(",rotation_window,"))
    {
        rotation_rows += 1;
        let cells = csv_cells(line);
        assert_eq!(cells.len(), columns, "{line}");
        let r = of(&all, &cells[1]);
        assert_eq!(
            cells[rotation_col],
            r.invocations_after.to_string(),
            "{line}"
        );
    }
    assert_eq!(rotation_rows, 8, "{csv}");
    let json = analyzed.to_string();
    for (format, out) in [
        ("table", &table),
        ("md", &md),
        ("csv", &csv),
        ("json", &json),
    ] {
        for n in 0..=8 {
            let v = if n == 0 {
                value.clone()
            } else {
                format!("{value}-rotated-{n}")
            };
            assert!(
                !out.contains(&v),
                "secbench analyze --format {format} shows a value"
            );
        }
    }

    // The report shows it; nothing anywhere holds a value, old or new.
    let report_dir = out.path().join("report");
    secbench(&[
        "report",
        summary.dir.to_str().expect("utf-8"),
        "--out",
        report_dir.to_str().expect("utf-8"),
    ]);
    let md = std::fs::read_to_string(report_dir.join("report.md")).expect("report.md");
    assert!(md.contains("## Staleness after a rotation"), "{md}");
    assert!(md.contains("| sm-init |"), "{md}");
    assert!(report_dir.join("plots/staleness.svg").is_file());
    let from_report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(report_dir.join("staleness.json")).expect("staleness.json"),
    )
    .expect("JSON");
    assert_eq!(analyzed["staleness"], from_report);
    assert_no_canary_in(out.path(), &value);
    for n in 1..=8 {
        assert_no_canary_in(out.path(), &format!("{value}-rotated-{n}"));
    }
}
