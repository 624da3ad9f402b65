//! `secbench cost` through the real binary: the three formats (JSON against its committed
//! schemas), latencies from a real run, sweeps, `--max-staleness`, and bad options and pricing
//! files named. The cost model's own hand-worked cases are the analyzer's
//! (`analyzer/tests/cost.rs`).

mod common;

use common::root;
use secbench_analyzer::approach::Approach;
use secbench_analyzer::cost::pricing::{self, Pricing};
use secbench_analyzer::cost::workload::Workload;
use secbench_analyzer::cost::{self as cost, recommend::Slo};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Output};

fn fixture(name: &str) -> PathBuf {
    root().join("analyzer/tests/fixtures").join(name)
}

fn workload(name: &str) -> Workload {
    Workload::load(&fixture(&format!("workloads/{name}"))).expect("valid workload")
}

fn table(region: &str) -> Pricing {
    pricing::parse(pricing::DEFAULT_TABLE, region)
        .expect("shipped table")
        .0
}

fn secbench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_secbench"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("secbench")
}

fn ok(o: &Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout.clone()).expect("utf-8")
}

fn validate(schema: &str, json: &str) {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("analyzer/schema").join(schema)).expect("schema"),
    )
    .expect("schema json");
    let v: serde_json::Value = serde_json::from_str(json).expect("json output");
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let errors: Vec<String> = validator.iter_errors(&v).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{schema}: {errors:#?}");
}

/// Worked by hand from scripts/workloads/example.toml: environments live 45 min on average, at
/// most 4 h (assumed: the workload gives no `max_environment_lifetime`), and every cache has the
/// default TTL of 5 min. Longest staleness after a rotation: @init without a cache 4 h (the
/// longest environment lifetime), ttl, the caching library and the agent 5 min,
/// uncached 0 (next fetch), kms-env 0 after the configuration change that carries the new
/// ciphertext. Cheapest first (from the table of the same workload): ssm@init $0.11, ssm+ttl
/// $1.05, agent-ssm $1.05, kms-env@init $1.11. So: no limit picks ssm@init; 10 min rules out
/// ssm@init only (ssm+ttl); 1 min rules out the three cheaper ones (kms-env@init).
#[test]
fn max_staleness_changes_the_recommendation_and_says_which_constraint_ruled_out_each() {
    let w = workload("example.toml");
    let p = table(&w.region);
    let bare = cost::evaluate(&w, &p, &BTreeMap::new(), &BTreeMap::new());
    let by_name = |n: &str| {
        bare.iter()
            .find(|c| c.approach.name() == n)
            .unwrap_or_else(|| panic!("{n}"))
    };
    assert_eq!(by_name("ssm@init").longest_staleness_s, 4.0 * 3600.0);
    assert!(by_name("ssm@init").staleness_assumed);
    assert_eq!(by_name("ssm+ttl").longest_staleness_s, 300.0);
    assert_eq!(by_name("agent-secrets-manager").longest_staleness_s, 300.0);
    assert_eq!(by_name("secrets-manager").longest_staleness_s, 0.0);
    assert_eq!(by_name("kms-env@init").longest_staleness_s, 0.0);
    let pick = |max_s: Option<f64>| {
        let slo = Slo {
            max_staleness_s: max_s,
            ..Slo::default()
        };
        cost::recommend::recommend(&bare, &slo)
    };
    assert_eq!(
        pick(None).approach.map(|a| a.name()).as_deref(),
        Some("ssm@init")
    );
    let ten = pick(Some(600.0));
    assert_eq!(
        ten.approach.map(|a| a.name()).as_deref(),
        Some("ssm+ttl"),
        "{}",
        ten.why
    );
    assert!(
        ten.why.contains("ssm@init (staleness: can serve a value up to 4.0 h after a rotation (environment lifetime, the assumed longest; AWS publishes none) > 10.0 min)"),
        "{}",
        ten.why
    );
    let one = pick(Some(60.0));
    assert_eq!(
        one.approach.map(|a| a.name()).as_deref(),
        Some("kms-env@init"),
        "{}",
        one.why
    );
    for (name, bound) in [
        ("ssm@init", "environment lifetime"),
        ("ssm+ttl", "cache TTL"),
        ("agent-ssm", "agent TTL"),
        ("secrets-manager+aws-caching-library", "cache TTL"),
    ] {
        let e = one
            .excluded
            .iter()
            .find(|e| e.approach.name() == name)
            .unwrap_or_else(|| panic!("{name} not excluded"));
        assert!(
            e.reason.starts_with("staleness:") && e.reason.contains(bound),
            "{name}: {}",
            e.reason
        );
    }
    assert!(one.why.contains("configuration change"), "{}", one.why);
    // The same through the CLI, which parses the duration.
    let out = ok(&secbench(&[
        "cost",
        "--workload",
        fixture("workloads/example.toml").to_str().expect("utf-8"),
        "--max-staleness",
        "1m",
    ]));
    assert!(out.contains("Recommendation: kms-env@init"), "{out}");
    assert!(out.contains("stale up to"), "{out}");
    let bad = secbench(&["cost", "--workload", "w", "--max-staleness", "soon"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--max-staleness"));
}

#[test]
fn bad_pricing_tables_name_the_field() {
    let cases = [
        (
            "negative-price.toml",
            "secrets_manager.secret_per_month_usd: -0.4 is outside",
        ),
        (
            "tiers-out-of-order.toml",
            "lambda.gb_second_tiers.x86_64[1].up_to_gb_seconds",
        ),
        (
            "unknown-field-in-region.toml",
            "region.\"eu-west-1\".quotas.kms",
        ),
        ("bad-date.toml", "date: `last tuesday` is not a date"),
        (
            "missing-field.toml",
            "missing field `api_calls_per_10k_usd`",
        ),
    ];
    for (file, expected) in cases {
        let path = fixture(&format!("pricing-invalid/{file}"));
        let e = pricing::load(Some(&path), "us-east-1")
            .expect_err(file)
            .to_string();
        assert!(e.contains(expected), "{file}: {e}");
    }
}

#[test]
fn cost_cli_three_formats_from_the_workload_alone() {
    let wl = "analyzer/tests/fixtures/workloads/example.toml";
    let table = ok(&secbench(&["cost", "--workload", wl]));
    insta::assert_snapshot!("cost_example_table", table);
    let json = ok(&secbench(&["cost", "--workload", wl, "--format", "json"]));
    validate("cost.schema.json", &json);
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(v["pricing"]["date"], "2026-12-01");
    assert_eq!(v["workload"]["invocations_per_month"], 10_000_000.0);
    assert_eq!(
        v["approaches"].as_array().map(Vec::len),
        Some(Approach::all().len())
    );
    let csv = ok(&secbench(&["cost", "--workload", wl, "--format", "csv"]));
    let mut lines = csv.lines();
    assert!(lines
        .next()
        .is_some_and(|h| h.starts_with("approach,feasible,monthly_cost_usd,item")));
    let rows: Vec<&str> = lines.collect();
    assert!(
        rows.iter()
            // 30M calls ($150.00) + 3 secrets ($1.20) + 30M KMS requests on aws/secretsmanager
            // ($90.00, charged as the KMS pricing page states).
            .any(|r| r.starts_with("secrets-manager,true,241.2,Secrets Manager API calls")),
        "{csv}"
    );
    assert!(rows.iter().all(|r| r.ends_with(",2026-12-01")));
}

#[test]
fn cost_cli_with_a_run_uses_measured_latencies_and_checks_call_counts() {
    let wl = "analyzer/tests/fixtures/workloads/example.toml";
    let run = "analyzer/tests/fixtures/runs/small";
    let json = ok(&secbench(&[
        "cost",
        "--workload",
        wl,
        "--latency",
        run,
        "--format",
        "json",
        "--slo",
        "p99_cold=5s,p99_warm=1s",
    ]));
    validate("cost.schema.json", &json);
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(v["latency_origin"]["kind"], "runs");
    assert_eq!(v["latency_origin"]["local_emulator"], true);
    let approaches = v["approaches"].as_array().expect("approaches");
    let sm = approaches
        .iter()
        .find(|a| a["approach"] == "kms-env")
        .expect("kms-env");
    assert!(sm["latency"]["warm_p99_s"]
        .as_f64()
        .is_some_and(|s| s > 0.0));
    assert!(sm["breakdown"]
        .as_array()
        .expect("lines")
        .iter()
        .any(|l| l["category"] == "lambda_compute"
            && l["quantity"].as_f64().is_some_and(|q| q > 0.0)));
    assert!(sm["notes"]
        .as_array()
        .expect("notes")
        .iter()
        .any(|n| n == "latency measured in local/kms-env-none"));
    // The run's measured calls per first fetch agree with the model (one call each).
    for a in approaches {
        for n in a["notes"].as_array().expect("notes") {
            assert!(
                !n.as_str().unwrap_or("").contains("the model assumes"),
                "{a:#}"
            );
        }
    }
    assert!(v["recommendation"]["approach"].is_string());
    let table = ok(&secbench(&["cost", "--workload", wl, "--latency", run]));
    assert!(table.contains("local emulator figures, not AWS"), "{table}");
}

#[test]
fn sweep_gives_the_cost_curve_and_break_even_points() {
    let wl = "analyzer/tests/fixtures/workloads/example.toml";
    let json = ok(&secbench(&[
        "cost",
        "--workload",
        wl,
        "--sweep",
        "invocations_per_month=1e4..1e9",
        "--format",
        "json",
    ]));
    validate("cost-sweep.schema.json", &json);
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    let points = v["points"].as_array().expect("points");
    assert_eq!(points.len(), 5 * 8 + 1);
    assert!((points[0]["value"].as_f64().unwrap_or(0.0) - 1e4).abs() < 1e-6);
    assert!((points[40]["value"].as_f64().unwrap_or(0.0) - 1e9).abs() < 1e-3);
    // Uncached Secrets Manager grows with traffic; its cost at 1e9 is ~ 100 × that at 1e7.
    let sm = |i: usize| {
        points[i]["monthly_cost_usd"]["secrets-manager"]
            .as_f64()
            .unwrap_or(0.0)
    };
    assert!(sm(40) > 50.0 * sm(24));
    // Each break-even lies between samples whose cheapest approaches differ, and the
    // cheapest on each side is what the break-even says.
    for b in v["break_even"].as_array().expect("break_even") {
        let x = b["value"].as_f64().expect("value");
        let before = points
            .iter()
            .rev()
            .find(|p| p["value"].as_f64().unwrap_or(0.0) < x)
            .expect("a sample below");
        assert_eq!(before["cheapest"], b["from"]);
        assert_ne!(b["from"], b["to"]);
    }
    let csv = ok(&secbench(&[
        "cost",
        "--workload",
        wl,
        "--sweep",
        "invocations_per_month=1e4..1e9",
        "--format",
        "csv",
    ]));
    assert_eq!(csv.lines().count(), 1 + 41 * Approach::all().len());
    let text = ok(&secbench(&[
        "cost",
        "--workload",
        wl,
        "--sweep",
        "invocations_per_month=1e4..1e9",
    ]));
    assert!(text.contains("break-even"), "{text}");
}

#[test]
fn bad_options_are_named() {
    let wl = "analyzer/tests/fixtures/workloads/example.toml";
    let o = secbench(&["cost", "--workload", wl, "--slo", "p95=1s"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--slo: `p95` is not an objective"));
    let o = secbench(&["cost", "--workload", wl, "--sweep", "colour=1..2"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("--sweep: `colour` cannot be swept"));
    let o = secbench(&[
        "cost",
        "--workload",
        "analyzer/tests/fixtures/workloads/invalid/memory-too-small.toml",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("memory-too-small.toml: memory_mb: 64 is outside"),
        "{err}"
    );
}

/// The warm latency matches the workload's requests per environment: a copy of the default
/// run with an `ssm-idle` scenario (the warm records of `ssm-none-128mb`, each fetch 40 ms
/// slower, at one request per 100 s, past a 60 s idle timeout). A workload whose environments
/// see a request every 263 s (10,000 a month on one environment) takes ssm's warm figures from
/// it, and says so; the example workload (a request every 3.1 s per environment) keeps the hot
/// ones.
#[test]
fn a_workload_whose_environments_idle_past_the_timeout_takes_the_idle_warm_latency() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = dir.path().join("run");
    std::fs::create_dir_all(&run).expect("run dir");
    let from = root().join("secbench/tests/fixtures/runs/default-local");
    let mut manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(from.join("manifest.json")).expect("m"))
            .expect("manifest");
    let plan = &mut manifest["resolved_plan"];
    plan["network"]["idle_timeout"] = "60s".into();
    let scenarios = plan["scenarios"].as_array_mut().expect("scenarios");
    let mut idle = scenarios
        .iter()
        .find(|s| s["name"] == "ssm-none-128mb")
        .expect("ssm-none-128mb")
        .clone();
    idle["name"] = "ssm-idle".into();
    idle["swept_from"] = serde_json::Value::Null;
    idle["arrival"] = serde_json::json!({"open": {"per_second": 0.01}});
    scenarios.push(idle);
    std::fs::write(run.join("manifest.json"), manifest.to_string()).expect("write");
    let text = std::fs::read_to_string(from.join("records.jsonl")).expect("records");
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let mut added = 0;
    for l in text.lines() {
        let mut r: serde_json::Value = serde_json::from_str(l).expect("record");
        if r["scenario"] == "ssm-none-128mb" && r["phase"] == "warm" {
            r["scenario"] = "ssm-idle".into();
            for f in r["probe"]["fetches"].as_array_mut().expect("fetches") {
                let ns = f["latency_ns"].as_u64().expect("latency") + 40_000_000;
                f["latency_ns"] = ns.into();
            }
            lines.push(r.to_string());
            added += 1;
        }
    }
    assert!(added >= 3, "{added}");
    std::fs::write(run.join("records.jsonl"), lines.join("\n") + "\n").expect("write");
    std::fs::copy(from.join("rotations.jsonl"), run.join("rotations.jsonl")).expect("copy");
    let run = run.to_str().expect("utf-8");
    let ssm_warm_p50 = |workload: &std::path::Path| {
        let json = ok(&secbench(&[
            "cost",
            "--workload",
            workload.to_str().expect("utf-8"),
            "--latency",
            run,
            "--format",
            "json",
        ]));
        let v: serde_json::Value = serde_json::from_str(&json).expect("json");
        let ssm = v["approaches"]
            .as_array()
            .expect("approaches")
            .iter()
            .find(|a| a["approach"] == "ssm")
            .expect("ssm")
            .clone();
        (
            ssm["latency"]["warm_p50_s"].as_f64().expect("warm p50"),
            ssm["notes"]
                .as_array()
                .expect("notes")
                .iter()
                .filter_map(|n| n.as_str().map(str::to_owned))
                .collect::<Vec<_>>(),
        )
    };
    let example = root().join("scripts/workloads/example.toml");
    let (hot, hot_notes) = ssm_warm_p50(&example);
    assert!(hot < 0.030, "{hot}");
    assert!(
        !hot_notes.iter().any(|n| n.contains("ssm-idle")),
        "{hot_notes:?}"
    );
    let sparse = dir.path().join("sparse.toml");
    let body = std::fs::read_to_string(&example)
        .expect("example")
        .replace(
            "invocations_per_month = 10_000_000",
            "invocations_per_month = 10_000",
        )
        .replace(
            "avg_concurrent_environments = 12",
            "avg_concurrent_environments = 1",
        );
    assert!(body.contains("invocations_per_month = 10_000\n"));
    std::fs::write(&sparse, body).expect("write");
    let (idle_p50, notes) = ssm_warm_p50(&sparse);
    // 40 ms slower per fetch: the idle figure, not the hot one.
    assert!(
        (idle_p50 - hot - 0.040).abs() < 0.002,
        "idle {idle_p50} against hot {hot}"
    );
    assert!(
        notes.iter().any(|n| n.starts_with("warm latency from local/ssm-idle: the workload's environments see a request every 263 s, longer than the idle timeout the runs assumed (1m)")),
        "{notes:?}"
    );
}
