//! The ingest path's own tests: the parallel reader merges to exactly what one sequential fold
//! gives, and the fast record view reads every fixture record as the strict parser does.

use super::lite::parse;
use super::read::parse_lite;
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
        assert_eq!(lite.environment_usage.map(|u| *u), strict.environment_usage);
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
                assert_eq!(l.init.as_deref(), s.init.as_ref());
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

/// The reader made for the record's layout reads every fixture record itself (it does not
/// hand them all to serde_json) and reads exactly what serde_json reads, alone and in a chunk.
#[test]
fn the_layout_reader_reads_every_fixture_record_as_serde_json_does() {
    for line in fixture_lines() {
        let fast = super::scan::lite(&line);
        assert!(
            fast.is_some(),
            "the layout reader declined a fixture record: {line}"
        );
        assert!(
            super::readers_agree(line.as_bytes()),
            "readers differ on: {line}"
        );
    }
}

/// Damaged lines: wherever a byte is cut out, doubled or replaced, the layout reader either
/// declines the line (serde_json then decides) or reads what serde_json reads; never more.
#[test]
fn on_damaged_lines_the_layout_reader_declines_or_agrees_with_serde_json() {
    let lines = fixture_lines();
    // A cold record with its INIT, a warm one, and a failed one: the shapes the reader walks.
    let samples: Vec<&String> = [
        lines.iter().find(|l| l.contains("\"init\":{")),
        lines.iter().find(|l| l.contains("\"cold\":false")),
        lines.iter().find(|l| !l.contains("\"outcome\":\"ok\"")),
    ]
    .into_iter()
    .flatten()
    .collect();
    assert_eq!(samples.len(), 3);
    let mut accepted = 0;
    for line in samples {
        let bytes = line.as_bytes();
        for at in 0..bytes.len() {
            let mut cut = bytes.to_vec();
            cut.remove(at);
            let mut doubled = bytes.to_vec();
            doubled.insert(at, bytes[at]);
            let replacements = [b'0', b'"', b'\\', b'{', b']', b' ', b'.', b'-', 0x1f];
            let mut damaged = vec![cut, doubled];
            damaged.extend(replacements.iter().map(|&b| {
                let mut v = bytes.to_vec();
                v[at] = b;
                v
            }));
            for d in damaged {
                assert!(
                    super::readers_agree(&d),
                    "readers differ on: {}",
                    String::from_utf8_lossy(&d)
                );
                accepted += usize::from(
                    std::str::from_utf8(&d).is_ok_and(|t| super::scan::lite(t).is_some()),
                );
            }
        }
    }
    // Most damage to an unused field's value still leaves a record both readers take.
    assert!(accepted > 1000, "only {accepted} damaged lines read");
}

/// What the layout reader leaves to serde_json, each a form its derive treats its own way.
#[test]
fn the_layout_reader_declines_what_serde_json_must_decide() {
    let line = fixture_lines()
        .into_iter()
        .find(|l| l.contains("\"cold\":false"))
        .expect("a warm record");
    let cases = [
        (
            "an escaped string",
            line.replacen("\"stage\":\"", "\"stage\":\"\\u0041", 1),
        ),
        (
            "an escaped key",
            line.replacen("\"stage\":", "\"st\\u0061ge\":", 1),
        ),
        (
            "a duplicate field",
            line.replacen("\"stage\":", "\"stage\":\"x\",\"stage\":", 1),
        ),
        (
            "a leading zero",
            line.replacen("\"caller_latency_ns\":", "\"caller_latency_ns\":0", 1),
        ),
        (
            "a fraction where an integer is read",
            line.replacen("\"caller_latency_ns\":1", "\"caller_latency_ns\":1.5", 1),
        ),
        ("bytes after the record", format!("{line}x")),
        (
            "a missing field",
            line.replacen("\"caller_latency_ns\":", "\"caller_latency_nz\":", 1),
        ),
        (
            "a newline inside",
            line.replacen(",\"stage\":", ",\n\"stage\":", 1),
        ),
        (
            "deep nesting",
            line.replacen(
                "{",
                &format!("{{\"deep\":{}0{},", "[".repeat(100), "]".repeat(100)),
                1,
            ),
        ),
    ];
    for (what, text) in cases {
        assert_ne!(text, line, "{what}: the case did not change the line");
        assert!(
            super::scan::lite(&text).is_none(),
            "{what}: the layout reader took it"
        );
        assert!(super::readers_agree(text.as_bytes()), "{what}");
    }
    // The same line as it is: taken.
    assert!(super::scan::lite(&line).is_some());
}

/// Read in place, a chunk's lines keep their numbers: blank lines, a line with leading spaces
/// (read on its own) and a bad line after them are numbered as in the file.
#[test]
fn records_read_in_place_keep_their_line_numbers() {
    let lines = fixture_lines();
    let good = &lines[0];
    let text = format!("{good}\n\n   {good}\r\n{good}\n{{\"run_schema_version\":5}}\n{good}\n");
    match Ingested::from_bytes(text.as_bytes(), false) {
        Err(super::FoldError::Line { line, .. }) => assert_eq!(line, 5),
        other => panic!(
            "expected line 5 to be refused, got {:?}",
            other.map(|i| i.input.records)
        ),
    }
    let skipped = Ingested::from_bytes(text.as_bytes(), true).expect("skipping");
    assert_eq!((skipped.input.records, skipped.input.skipped_lines), (4, 1));
}

/// A first invocation whose environment Lambda initialised ahead of it (`proactive`, no Init
/// Duration in REPORT) is counted in its cold group and kept out of every cold metric; both
/// readers read the field.
#[test]
fn a_proactive_first_invocation_is_counted_not_measured_as_a_cold_start() {
    let text =
        std::fs::read_to_string(fixtures().join("small").join("records.jsonl")).expect("fixture");
    let mut marked = 0;
    let lines: Vec<String> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut r: serde_json::Value = serde_json::from_str(l).expect("json");
            if marked == 0 && r["probe"]["cold"] == true {
                r["proactive"] = true.into();
                r["platform"]["init_duration_ms"] = serde_json::Value::Null;
                marked += 1;
            }
            r.to_string()
        })
        .collect();
    assert_eq!(marked, 1);
    let marked_line = lines
        .iter()
        .find(|l| l.contains("\"proactive\":true"))
        .expect("marked");
    assert!(parse_lite(marked_line.as_bytes()).expect("lite").proactive);
    let cold = |text: &str| {
        let ingested = Ingested::from_bytes(text.as_bytes(), false).expect("fold");
        ingested
            .groups
            .iter()
            .filter(|(k, _)| k.phase == secbench_record::run::Phase::Cold)
            .fold((0u64, 0u64, 0u64), |(inv, added, pro), (_, g)| {
                (
                    inv + g.invocations(),
                    added + g.histogram(Metric::ColdAdded).map_or(0, |h| h.len()),
                    pro + g.proactive_inits,
                )
            })
    };
    let (invocations, measured, proactive) = cold(&text);
    assert_eq!(proactive, 0);
    assert_eq!(cold(&lines.join("\n")), (invocations, measured - 1, 1));
}
