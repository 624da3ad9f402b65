//! The corpus of malformed record lines (`fixtures/bad-records/`): `secbench validate` and
//! `secbench analyze` name the file, the line and the field, and never panic. Plans, workloads
//! and pricing tables have their own corpora (`fixtures/plans`, `fixtures/workloads/invalid`,
//! `fixtures/pricing-invalid`), tested beside the code that reads them.

mod common;

use common::root;
use std::process::Command;

fn secbench(args: &[&str]) -> (Option<i32>, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_secbench"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("secbench");
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn every_malformed_line_is_named_and_nothing_panics() {
    let cases = [
        (
            "wrong-type",
            "field `caller_latency_ns`: invalid type: string \"slow\"",
        ),
        ("missing-field", "missing field `outcome`"),
        (
            "huge-number",
            "field `caller_latency_ns`: invalid type: floating point",
        ),
        (
            "negative-duration",
            "field `caller_latency_ns`: invalid value: integer `-5`",
        ),
        (
            "invalid-utf8",
            "field `scenario`: invalid unicode code point",
        ),
        ("not-json", "expected value at line 1 column 1"),
        ("empty-object", "missing field `run_schema_version`"),
        ("deep-nesting", "invalid type: sequence"),
        ("unknown-schema-version", "version 99 is not supported"),
        (
            "nan-latency",
            "field `platform.duration_ms`: invalid type: string \"NaN\"",
        ),
    ];
    let dir = "analyzer/tests/fixtures/bad-records";
    let listed = std::fs::read_dir(root().join(dir))
        .expect("corpus")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "jsonl"))
        })
        .count();
    assert_eq!(
        listed,
        cases.len() + 1,
        "every corpus file has a case (unknown-field below)"
    );
    for (name, expected) in cases {
        let file = format!("{dir}/{name}.jsonl");
        let (code, err) = secbench(&["analyze", &file]);
        assert_eq!(code, Some(2), "{name}: {err}");
        assert!(err.contains(&format!("{name}.jsonl:2:")), "{name}: {err}");
        assert!(err.contains(expected), "{name}: {err}");
        assert!(!err.contains("panicked"), "{name}: {err}");
        let (code, err) = secbench(&["validate", &file]);
        assert_eq!(code, Some(1), "{name}: {err}");
        assert!(err.contains(&format!("{name}.jsonl:2:")), "{name}: {err}");
        assert!(!err.contains("panicked"), "{name}: {err}");
        // With --skip-invalid the good line still counts.
        let (code, err) = secbench(&["analyze", &file, "--skip-invalid", "--format", "csv"]);
        assert_eq!(code, Some(0), "{name}: {err}");
        assert!(err.contains("skipped 1 invalid line"), "{name}: {err}");
    }
    // An unknown field: analyze reads what it needs (newer writers stay readable), validate
    // names it.
    let file = format!("{dir}/unknown-field.jsonl");
    assert_eq!(secbench(&["analyze", &file]).0, Some(0));
    let (code, err) = secbench(&["validate", &file]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("unknown-field.jsonl:2: field `colour`: unknown field"),
        "{err}"
    );
}

#[test]
fn files_that_are_not_utf8_are_named() {
    let (code, err) = secbench(&[
        "run",
        "--plan",
        "record/tests/fixtures/plans/invalid-utf8.toml",
    ]);
    assert_ne!(code, Some(0));
    assert!(
        err.contains("plans/invalid-utf8.toml") && err.contains("UTF-8"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    let (code, err) = secbench(&[
        "cost",
        "--workload",
        "analyzer/tests/fixtures/workloads/invalid/invalid-utf8.toml",
    ]);
    assert_ne!(code, Some(0));
    assert!(
        err.contains("invalid/invalid-utf8.toml") && err.contains("UTF-8"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn a_missing_file_is_named_with_its_cause_once() {
    for args in [
        &["analyze", "r3/records.jsonl"][..],
        &["validate", "r3/records.jsonl"],
        &["report", "r3"],
        &["cost", "--workload", "r3/workload.toml"],
        &["run", "--plan", "r3/plan.toml"],
    ] {
        let (code, err) = secbench(args);
        assert_ne!(code, Some(0), "{args:?}");
        assert!(err.contains("r3"), "{args:?}: {err}");
        assert_eq!(
            err.matches("No such file or directory").count(),
            1,
            "{args:?}: {err}"
        );
    }
}

#[test]
fn an_empty_or_incomplete_workload_or_pricing_file_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let empty = dir.path().join("empty.toml");
    std::fs::write(&empty, "").expect("write");
    let example = root().join("analyzer/tests/fixtures/workloads/example.toml");
    let no_region = dir.path().join("no-region.toml");
    let text = std::fs::read_to_string(&example).expect("example");
    let without: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("region"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&no_region, without).expect("write");
    for (args, file) in [
        (
            vec!["cost", "--workload", empty.to_str().expect("utf-8")],
            &empty,
        ),
        (
            vec!["cost", "--workload", no_region.to_str().expect("utf-8")],
            &no_region,
        ),
        (
            vec![
                "cost",
                "--workload",
                example.to_str().expect("utf-8"),
                "--pricing",
                empty.to_str().expect("utf-8"),
            ],
            &empty,
        ),
    ] {
        let (code, err) = secbench(&args);
        assert_ne!(code, Some(0), "{args:?}");
        assert!(err.contains(&file.display().to_string()), "{args:?}: {err}");
        assert!(err.contains("missing field"), "{args:?}: {err}");
    }
}

#[test]
fn no_stage_name_reaches_outside_the_output_folders() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("reports");
    for stage in ["../../../x", "..", "/tmp/x", "", &"s".repeat(65)] {
        // In a plan.
        let plan = dir.path().join("plan.toml");
        std::fs::write(
            &plan,
            format!("stage = {stage:?}\n[[scenario]]\nname = \"a\"\nsource = \"plain-env\"\n"),
        )
        .expect("write");
        let (code, err) = secbench(&[
            "run",
            "--plan",
            plan.to_str().expect("utf-8"),
            "--out-dir",
            out.to_str().expect("utf-8"),
            "--function",
            "f",
            "--region",
            "us-east-1",
        ]);
        assert_eq!(code, Some(2), "{stage}: {err}");
        assert!(
            err.contains("stage") && err.contains("stage name"),
            "{stage}: {err}"
        );
        // On the command line, for run and provision.
        let (code, err) = secbench(&[
            "run",
            "--plan",
            "record/tests/fixtures/plans/minimal.toml",
            "--stage",
            stage,
            "--out-dir",
            out.to_str().expect("utf-8"),
        ]);
        assert_eq!(code, Some(2), "{stage}: {err}");
        assert!(err.contains("stage name"), "{stage}: {err}");
        let (code, err) = secbench(&["provision", "--stage", stage]);
        assert_eq!(code, Some(2), "{stage}: {err}");
        assert!(err.contains("stage name"), "{stage}: {err}");
    }
    // Nothing was written anywhere under the temporary folder but the plan.
    let entries: Vec<_> = std::fs::read_dir(dir.path()).expect("dir").collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert!(!root().join("x").exists() && !root().join(".secbench/stages/..toml").exists());
}
