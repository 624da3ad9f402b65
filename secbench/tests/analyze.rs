//! `secbench analyze` and `secbench compare` through the real binary on a real (cut) run:
//! snapshots of the text exports, the JSON summary against its committed schema, bad input
//! named by file, line and field, HdrHistogram logs that read back, and compare verdicts.

mod common;

use common::root;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixture() -> PathBuf {
    root().join("analyzer/tests/fixtures/runs/small")
}

fn secbench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_secbench"))
        .args(args)
        .output()
        .expect("secbench")
}

fn stdout(o: &Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn text_exports_match_their_snapshots() {
    let run = fixture();
    for format in ["table", "md", "csv"] {
        let out = stdout(&secbench(&["analyze", path(&run), "--format", format]));
        insta::assert_snapshot!(format!("analyze_{format}"), out);
    }
}

#[test]
fn json_summary_matches_the_committed_schema() {
    let out = stdout(&secbench(&[
        "analyze",
        path(&fixture()),
        "--format",
        "json",
    ]));
    let summary: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("analyzer/schema/summary.schema.json"))
            .expect("schema"),
    )
    .expect("schema JSON");
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&summary)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    let groups = summary["groups"].as_array().expect("groups");
    assert_eq!(groups.len(), 8, "4 scenarios x cold/warm");
    assert_eq!(summary["input"]["records"], 152);
    assert_eq!(summary["local_emulator"], true);
    // The cost model's inputs: exact API-call counts per group.
    let kms_warm = groups
        .iter()
        .find(|g| g["scenario"] == "kms-env-none" && g["phase"] == "warm")
        .expect("group");
    assert_eq!(kms_warm["api_calls"]["KMS:Decrypt"], kms_warm["fetches"]);
    let ttl_warm = groups
        .iter()
        .find(|g| g["scenario"] == "secrets-manager-ttl" && g["phase"] == "warm")
        .expect("group");
    assert_eq!(ttl_warm["cache_hit_ratio"], 1.0);
    assert!(ttl_warm["api_calls"].as_object().expect("calls").is_empty());
    // Same input, same seed: the same output, byte for byte.
    assert_eq!(
        out,
        stdout(&secbench(&[
            "analyze",
            path(&fixture()),
            "--format",
            "json"
        ]))
    );
}

#[test]
fn bad_lines_are_named_skipped_on_request_and_a_cut_tail_is_only_reported() {
    let dir = tempfile::tempdir().expect("tmp");
    let good: Vec<String> = std::fs::read_to_string(fixture().join("records.jsonl"))
        .expect("records")
        .lines()
        .take(5)
        .map(str::to_owned)
        .collect();
    let records = dir.path().join("records.jsonl");
    let bad_type = good[1].replacen(
        "\"caller_latency_ns\":",
        "\"caller_latency_ns\":\"slow\",\"x\":",
        1,
    );
    let bad_version = good[2].replacen("\"run_schema_version\":1", "\"run_schema_version\":7", 1);
    let text = format!(
        "{}\n{bad_type}\n{}\n{}",
        good[0],
        good[3],
        &good[4][..good[4].len() / 2]
    );
    std::fs::write(&records, &text).expect("write");
    let before = std::fs::read(&records).expect("read");

    let o = secbench(&["analyze", path(dir.path())]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("records.jsonl:2:") && err.contains("caller_latency_ns"),
        "{err}"
    );

    let o = secbench(&[
        "analyze",
        path(dir.path()),
        "--skip-invalid",
        "--format",
        "json",
    ]);
    let summary: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("json");
    assert_eq!(summary["input"]["records"], 2);
    assert_eq!(summary["input"]["skipped_lines"], 1);
    assert_eq!(
        summary["input"]["truncated_lines"].as_array().map(Vec::len),
        Some(1)
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("skipped 1 invalid line") && err.contains("truncated last line"),
        "{err}"
    );

    std::fs::write(&records, format!("{}\n{bad_version}\n", good[0])).expect("write");
    let o = secbench(&["analyze", path(dir.path())]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(":2:") && err.contains("run_schema_version") && err.contains("version 7"),
        "{err}"
    );
    // The analyzer read, and wrote nothing, in the run directory.
    assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 1);
    let _ = before;
}

#[test]
fn histogram_logs_read_back_with_hdrhistogram() {
    use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
    use hdrhistogram::serialization::Deserializer;
    let out = tempfile::tempdir().expect("tmp");
    let o = secbench(&[
        "analyze",
        path(&fixture()),
        "--histograms",
        path(out.path()),
        "--format",
        "json",
    ]);
    let summary: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("json");
    let file = out.path().join("local__kms-env-none__warm.hlog");
    let bytes = std::fs::read(&file).expect("log written");
    let mut found = 0;
    for entry in IntervalLogIterator::new(&bytes) {
        if let Ok(LogEntry::Interval(h)) = entry {
            let tag = h.tag().map(|t| t.as_str().to_owned()).expect("tagged");
            let decoded = base64::Engine::decode(
                &base64::engine::general_purpose::STANDARD,
                h.encoded_histogram(),
            )
            .expect("base64");
            let hist: hdrhistogram::Histogram<u64> = Deserializer::new()
                .deserialize(&mut decoded.as_slice())
                .expect("V2");
            let group = summary["groups"]
                .as_array()
                .expect("groups")
                .iter()
                .find(|g| g["scenario"] == "kms-env-none" && g["phase"] == "warm")
                .expect("group");
            assert_eq!(group["metrics"][&tag]["count"], hist.len(), "{tag}");
            assert_eq!(
                group["metrics"][&tag]["p50_ns"],
                hist.value_at_quantile(0.5),
                "{tag}"
            );
            found += 1;
        }
    }
    assert!(found >= 5, "{found} histograms in {}", file.display());
}

/// A copy of the fixture run with every fetch latency multiplied by `factor`.
fn scaled(factor: f64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tmp");
    let mut out = String::new();
    for line in std::fs::read_to_string(fixture().join("records.jsonl"))
        .expect("records")
        .lines()
    {
        let mut r: serde_json::Value = serde_json::from_str(line).expect("json");
        if let Some(fetches) = r
            .pointer_mut("/probe/fetches")
            .and_then(|f| f.as_array_mut())
        {
            for f in fetches {
                let v = f["latency_ns"].as_f64().expect("latency");
                f["latency_ns"] = serde_json::json!((v * factor) as u64);
            }
        }
        out.push_str(&r.to_string());
        out.push('\n');
    }
    std::fs::write(dir.path().join("records.jsonl"), out).expect("write");
    std::fs::copy(
        fixture().join("manifest.json"),
        dir.path().join("manifest.json"),
    )
    .expect("manifest");
    dir
}

#[test]
fn compare_gives_verdicts_and_gates_on_regressions() {
    let base = fixture();
    let same = secbench(&[
        "compare",
        path(&base),
        path(&base),
        "--json",
        "--fail-on-regression",
    ]);
    assert!(same.status.success());
    let c: serde_json::Value = serde_json::from_str(&stdout(&same)).expect("json");
    let rows = c.as_array().expect("rows");
    assert_eq!(rows.len(), 16, "8 groups x 2 metrics");
    assert!(rows
        .iter()
        .all(|r| r["p50"]["verdict"] == "no_change" && r["p50"]["ratio"] == 1.0));

    let slower = scaled(2.0);
    let o = secbench(&[
        "compare",
        path(&base),
        path(slower.path()),
        "--json",
        "--fail-on-regression",
    ]);
    assert_eq!(o.status.code(), Some(1), "a 2x slowdown must fail the gate");
    let c: serde_json::Value =
        serde_json::from_str(&String::from_utf8_lossy(&o.stdout)).expect("json");
    let warm_kms = c
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| {
            r["scenario"] == "kms-env-none"
                && r["phase"] == "warm"
                && r["metric"] == "fetch_latency_ns"
        })
        .expect("row");
    assert_eq!(warm_kms["p50"]["verdict"], "slower");
    let ratio = warm_kms["p50"]["ratio"].as_f64().expect("ratio");
    assert!((1.95..2.05).contains(&ratio), "{ratio}");

    let faster = scaled(0.5);
    let o = secbench(&["compare", path(&base), path(faster.path())]);
    let table = stdout(&o);
    assert!(table.contains("faster"), "{table}");
}

#[test]
fn line_numbers_hold_across_the_parallel_chunks() {
    // 10,000 lines (about 14 MB: several 4 MB chunks read by several workers), one bad.
    let good: Vec<String> = std::fs::read_to_string(fixture().join("records.jsonl"))
        .expect("records")
        .lines()
        .map(str::to_owned)
        .collect();
    let dir = tempfile::tempdir().expect("tmp");
    let mut text = String::new();
    for i in 1..=10_000u32 {
        if i == 7777 {
            text.push_str(&good[0].replacen("\"outcome\":\"ok\"", "\"outcome\":\"fine\"", 1));
        } else {
            text.push_str(&good[i as usize % good.len()]);
        }
        text.push('\n');
    }
    std::fs::write(dir.path().join("records.jsonl"), text).expect("write");
    let o = secbench(&["analyze", path(dir.path())]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("records.jsonl:7777:") && err.contains("outcome"),
        "{err}"
    );
    let o = secbench(&[
        "analyze",
        path(dir.path()),
        "--skip-invalid",
        "--format",
        "json",
    ]);
    let summary: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("json");
    assert_eq!(
        (
            summary["input"]["records"].as_u64(),
            summary["input"]["skipped_lines"].as_u64()
        ),
        (Some(9999), Some(1))
    );
    let invocations: u64 = summary["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| g["invocations"].as_u64().expect("n"))
        .sum();
    assert_eq!(
        invocations, 9999,
        "every record counted once across workers"
    );
}
