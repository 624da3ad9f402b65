//! The ingest path's own tests: the parallel reader merges to exactly what one sequential fold
//! gives, and the fast record view reads every fixture record as the strict parser does.

use super::lite::{parse, parse_lite};
use super::Ingested;
use crate::group::Metric;
use std::path::PathBuf;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/runs")
}

/// Every record line of every run fixture.
fn fixture_lines() -> Vec<String> {
    let mut out = Vec::new();
    for run in ["small", "at-init", "local-v4"] {
        let text =
            std::fs::read_to_string(fixtures().join(run).join("records.jsonl")).expect("fixture");
        out.extend(
            text.lines()
                .filter(|l| !l.trim().is_empty())
                .map(str::to_owned),
        );
    }
    let v1 = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/records/v1-function-errors.jsonl"),
    )
    .expect("fixture");
    out.extend(v1.lines().map(str::to_owned));
    assert!(out.len() > 200);
    out
}

/// Version 1 had no `function_timeout`: its function errors that were timeouts (errorType
/// `Sandbox.Timedout`, or REPORT `Status: timeout`) read as timeouts in both views, so outcome
/// counts agree across versions; a plain function error stays one.
#[test]
fn a_version_1_function_error_that_timed_out_reads_as_a_function_timeout() {
    use secbench_record::run::InvocationOutcome as O;
    let text = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/records/v1-function-errors.jsonl"),
    )
    .expect("fixture");
    let strict: Vec<O> = text
        .lines()
        .map(|l| parse(l.as_bytes()).expect("strict").outcome)
        .collect();
    let lite: Vec<O> = text
        .lines()
        .map(|l| parse_lite(l.as_bytes()).expect("lite").outcome)
        .collect();
    let expected = vec![O::FunctionTimeout, O::FunctionTimeout, O::FunctionError];
    assert_eq!(strict, expected);
    assert_eq!(lite, expected);
}

#[test]
fn the_parallel_reader_merges_to_what_a_sequential_fold_gives() {
    // Several of the reader's 4 MiB chunks, so several workers fold and are merged.
    let lines = fixture_lines();
    let mut text = String::new();
    while text.len() < 3 * (4 << 20) + 12_345 {
        for l in &lines {
            text.push_str(l);
            text.push('\n');
        }
    }
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("records.jsonl");
    std::fs::write(&file, &text).expect("write");
    let mut parallel = Ingested::default();
    parallel.read(&file, false).expect("parallel read");
    let sequential = Ingested::from_bytes(text.as_bytes(), false).expect("fold");
    assert_eq!(parallel.input.records, sequential.input.records);
    assert_eq!(
        parallel.groups.keys().collect::<Vec<_>>(),
        sequential.groups.keys().collect::<Vec<_>>()
    );
    for (key, p) in &parallel.groups {
        let s = &sequential.groups[key];
        for m in Metric::ALL {
            assert_eq!(
                p.histogram(m)
                    .map(|h| (h.len(), h.max(), h.value_at_quantile(0.5))),
                s.histogram(m)
                    .map(|h| (h.len(), h.max(), h.value_at_quantile(0.5))),
                "{key:?} {m:?}"
            );
            assert!(p.histogram(m) == s.histogram(m), "{key:?} {m:?}");
        }
        assert_eq!(p.outcomes, s.outcomes, "{key:?}");
        assert_eq!(p.fetch_errors, s.fetch_errors, "{key:?}");
        assert_eq!(p.api_calls, s.api_calls, "{key:?}");
        assert_eq!(
            (p.fetches, p.cache_hits),
            (s.fetches, s.cache_hits),
            "{key:?}"
        );
        assert_eq!(p.connections, s.connections, "{key:?}");
    }
}

#[test]
fn the_fast_view_reads_every_fixture_record_as_the_strict_parser_does() {
    for line in fixture_lines() {
        let strict = parse(line.as_bytes()).expect("the strict parser reads it");
        let lite = parse_lite(line.as_bytes()).expect("the fast view reads it");
        assert_eq!(lite.run_schema_version, strict.run_schema_version);
        assert_eq!(lite.stage, strict.stage);
        assert_eq!(lite.scenario, strict.scenario);
        assert_eq!(lite.phase, strict.phase);
        assert_eq!(lite.outcome, strict.outcome);
        assert_eq!(lite.caller_latency_ns, strict.caller_latency_ns);
        assert_eq!(lite.intended_send_unix_ms, strict.intended_send_unix_ms);
        assert_eq!(lite.schedule_slip_ns, strict.schedule_slip_ns);
        assert_eq!(lite.environment_usage, strict.environment_usage);
        match (&lite.platform, &strict.platform) {
            (Some(l), Some(s)) => {
                assert_eq!(
                    (l.duration_ms, l.billed_duration_ms, l.init_duration_ms),
                    (s.duration_ms, s.billed_duration_ms, s.init_duration_ms)
                );
            }
            (None, None) => {}
            other => panic!("platform differs: {}", other.0.is_some()),
        }
        match (&lite.probe, &strict.probe) {
            (Some(l), Some(s)) => {
                assert_eq!(l.environment_id, s.environment_id);
                assert_eq!(
                    (l.cold, l.source, l.cache, l.fetch_at),
                    (s.cold, s.source, s.cache, s.fetch_at)
                );
                assert_eq!((l.memory_mb, l.architecture), (s.memory_mb, s.architecture));
                assert_eq!((l.multi, l.secrets), (s.multi, s.secrets));
                assert_eq!(l.handler_duration_ns, s.handler_duration_ns);
                assert_eq!(l.init, s.init);
                assert_eq!(l.fetches.len(), s.fetches.len());
                for (lf, sf) in l.fetches.iter().zip(&s.fetches) {
                    assert_eq!(
                        (
                            lf.phase,
                            lf.outcome,
                            lf.latency_ns,
                            lf.error_class,
                            lf.version_index
                        ),
                        (
                            sf.phase,
                            sf.outcome,
                            sf.latency_ns,
                            sf.error_class,
                            sf.version_index
                        )
                    );
                    let calls: Vec<(String, String, u32)> = lf
                        .api_calls
                        .iter()
                        .map(|c| (c.service.to_string(), c.operation.to_string(), c.count))
                        .collect();
                    let strict_calls: Vec<(String, String, u32)> = sf
                        .api_calls
                        .iter()
                        .map(|c| (c.service.clone(), c.operation.clone(), c.count))
                        .collect();
                    assert_eq!(calls, strict_calls);
                }
            }
            (None, None) => {}
            other => panic!("probe differs: {}", other.0.is_some()),
        }
    }
}

#[test]
fn a_failed_init_fetch_is_not_an_init_fetch_latency_as_a_failed_handler_fetch_is_not_one() {
    let text =
        std::fs::read_to_string(fixtures().join("at-init").join("records.jsonl")).expect("fixture");
    let mut failed = 0;
    let lines: Vec<String> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut r: serde_json::Value = serde_json::from_str(l).expect("json");
            if failed == 0 && r["phase"] == "cold" {
                // The INIT fetch failed after 9 s (a timeout), as the probe records it.
                r["probe"]["init"]["init_fetch_ns"] = 9_000_000_000u64.into();
                let f = &mut r["probe"]["fetches"][0];
                assert_eq!(f["phase"], "init");
                f["outcome"] = "error".into();
                f["error_class"] = "timeout".into();
                f["latency_ns"] = 9_000_000_000u64.into();
                failed += 1;
            }
            r.to_string()
        })
        .collect();
    let cold_inits = |text: &str| {
        let ingested = Ingested::from_bytes(text.as_bytes(), false).expect("fold");
        ingested
            .groups
            .iter()
            .filter(|(k, _)| k.phase == secbench_record::run::Phase::Cold)
            .filter_map(|(_, g)| g.histogram(Metric::InitFetch))
            .map(|h| (h.len(), h.max()))
            .fold((0, 0), |(n, m), (len, max)| (n + len, m.max(max)))
    };
    let (all, _) = cold_inits(&text);
    let (kept, longest) = cold_inits(&lines.join("\n"));
    assert_eq!(kept, all - 1, "the failed INIT fetch is left out");
    assert!(
        longest < 9_000_000_000,
        "its 9 s is not a latency: {longest}"
    );
}
