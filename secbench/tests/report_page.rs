//! The report page as a reader's browser lays it out (headless Chromium, Debian's package):
//! `fixtures/page-probe.js` is appended to a copy of the page and reads Chromium's layout. For
//! the report of the default local plan (a run of it with the Node.js and Python probes, cut to
//! three invocations per scenario and phase, `fixtures/runs/default-local`), of a 3-scenario
//! plan and of a two-run report (local + the synthetic AWS run): no two text elements of a
//! chart overlap and none is cut off by its SVG's edge, the decision table has one row per
//! approach and memory size, the filter hides a source's series in the charts and its rows in
//! the tables, the cost explorer's figures at the workload's own values are `secbench cost`'s
//! to the cent, the page loads nothing, and laid out for print at an A4 page's printable width
//! (718 px) nothing runs past the page and the controls are hidden.

mod common;

use common::root;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn workload() -> PathBuf {
    root().join("scripts/workloads/example.toml")
}

fn secbench(args: &[&str]) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_secbench"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("secbench");
    assert!(
        o.status.success(),
        "secbench {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn report(runs: &[&Path], out: &Path) -> String {
    report_with(runs, out, &[])
}

fn report_with(runs: &[&Path], out: &Path, more: &[&str]) -> String {
    report_in(runs, out, more, &workload())
}

fn report_in(runs: &[&Path], out: &Path, more: &[&str], workload: &Path) -> String {
    let mut args = vec!["report".to_owned()];
    args.extend(more.iter().map(|a| (*a).to_owned()));
    args.extend(runs.iter().map(|r| r.display().to_string()));
    args.extend([
        "--workload".to_owned(),
        workload.display().to_string(),
        "--out".to_owned(),
        out.display().to_string(),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    secbench(&args);
    std::fs::read_to_string(out.join("report.html")).expect("report.html")
}

/// What page-probe.js found.
fn probe(html: &str, dir: &Path) -> serde_json::Value {
    let script =
        std::fs::read_to_string(root().join("secbench/tests/fixtures/page-probe.js")).expect("js");
    let page = dir.join("probe.html");
    // The probe runs after the page's own script, as a reader's clicks would.
    std::fs::write(
        &page,
        html.replace("</body>", &format!("<script>{script}</script></body>")),
    )
    .expect("write");
    let profile = tempfile::tempdir().expect("profile");
    let o = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--window-size=1400,1000",
            "--virtual-time-budget=5000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium (scripts/install-chromium.sh)");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let dom = String::from_utf8_lossy(&o.stdout);
    let start = dom.rfind("<pre id=\"secbench-probe\">").unwrap_or_else(|| {
        panic!(
            "the probe wrote nothing: {}",
            String::from_utf8_lossy(&o.stderr)
        )
    }) + "<pre id=\"secbench-probe\">".len();
    let end = start + dom[start..].find("</pre>").expect("</pre>");
    let json = dom[start..end]
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"))
}

/// The checks every report passes; returns the probe's findings.
fn check_page(html: &str, dir: &Path) -> serde_json::Value {
    assert!(
        html.contains("Content-Security-Policy") && html.contains("default-src 'none'"),
        "the page forbids loading anything"
    );
    for bad in [" src=", "@import", "url(", "<link"] {
        assert!(!html.contains(bad), "report.html contains {bad}");
    }
    let p = probe(html, dir);
    let charts = p["charts"].as_array().expect("charts");
    assert!(charts.len() >= 5, "{p}");
    for c in charts {
        assert!(c["texts"].as_u64().expect("texts") > 0, "{c}");
        assert_eq!(
            c["overlaps"],
            serde_json::json!([]),
            "{}: overlapping labels",
            c["id"]
        );
        assert_eq!(
            c["cut"],
            serde_json::json!([]),
            "{}: labels cut off",
            c["id"]
        );
        // Every chart's data is in series the filter can hide (but the errors chart of these
        // runs, which have no failure: its one row is "N other scenario(s)", of every source).
        assert!(
            c["id"] == "errors" || c["series"].as_u64().expect("series") > 0,
            "{}: no series the filter can hide",
            c["id"]
        );
    }
    assert_eq!(
        p["resources"],
        serde_json::json!([]),
        "the page loaded something"
    );
    // One row per approach and memory size (per stage when there are several), at most one
    // recommended per table (none where only the plaintext baseline was measured).
    let rows = p["decision"].as_array().expect("decision");
    assert!(!rows.is_empty(), "{p}");
    let text = |v: &serde_json::Value| v.as_str().unwrap_or("").to_owned();
    let keys: BTreeSet<(String, String, String)> = rows
        .iter()
        .map(|r| {
            (
                text(&r["stage"]),
                text(&r["memory_mb"]),
                text(&r["approach"]),
            )
        })
        .collect();
    assert_eq!(keys.len(), rows.len(), "a repeated approach: {rows:?}");
    let tables: BTreeSet<(String, String)> = keys
        .iter()
        .map(|(s, m, _)| (s.clone(), m.clone()))
        .collect();
    for (s, m) in &tables {
        let recommended = rows
            .iter()
            .filter(|r| {
                text(&r["stage"]) == *s && text(&r["memory_mb"]) == *m && r["recommended"] == true
            })
            .count();
        let candidates = rows
            .iter()
            .filter(|r| {
                text(&r["stage"]) == *s
                    && text(&r["memory_mb"]) == *m
                    && r["approach"] != "plain-env"
            })
            .count();
        assert_eq!(
            recommended,
            usize::from(candidates > 0),
            "stage {s:?}, {m} MB: {rows:?}"
        );
    }
    // The filter hides a source's rows and series, and shows them again.
    let f = &p["filter"];
    assert!(f["before"]["rows"].as_u64().expect("rows") > 0, "{f}");
    assert!(f["before"]["series"].as_u64().expect("series") > 0, "{f}");
    assert_eq!(f["after"]["rows"], 0, "{f}");
    assert_eq!(f["after"]["series"], 0, "{f}");
    assert_eq!(f["restored"], f["before"]["rows"], "{f}");
    // On screen (1400 px) the page does not scroll sideways: wide tables scroll in their box.
    let screen = &p["screen"];
    assert!(
        screen["scroll_width_px"].as_u64() <= screen["client_width_px"].as_u64(),
        "the page scrolls sideways: {screen}"
    );
    // Printed on A4 ("Save as PDF"): the controls are left out and nothing runs past the page.
    let print = &p["print"];
    assert!(print["rules"].as_u64().expect("rules") > 0, "{print}");
    assert_eq!(
        print["controls_shown"],
        serde_json::json!([]),
        "the filter and explorer controls print"
    );
    assert_eq!(
        print["overflow"],
        serde_json::json!([]),
        "runs past an A4 page's printable width ({} px)",
        print["page_width_px"]
    );
    p
}

/// The explorer at the workload's own values against `secbench cost` on the same runs.
fn explorer_is_the_cost_model(p: &serde_json::Value, runs: &[&Path]) {
    explorer_is_the_cost_model_of(p, runs, &workload());
}

fn explorer_is_the_cost_model_of(p: &serde_json::Value, runs: &[&Path], workload: &Path) {
    let mut args = vec![
        "cost".to_owned(),
        "--workload".to_owned(),
        workload.display().to_string(),
        "--format".to_owned(),
        "json".to_owned(),
    ];
    for r in runs {
        args.push("--latency".to_owned());
        args.push(r.display().to_string());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let cost: serde_json::Value = serde_json::from_str(&secbench(&args)).expect("cost JSON");
    let model = cost["approaches"].as_array().expect("approaches");
    let shown = p["explorer"].as_array().expect("explorer");
    assert_eq!(shown.len(), model.len(), "{shown:?}");
    let cents = |v: &serde_json::Value| (v.as_f64().expect("number") * 100.0).round() as i64;
    for a in model {
        let name = a["approach"].as_str().expect("name");
        let row = shown
            .iter()
            .find(|r| r["approach"] == name)
            .unwrap_or_else(|| panic!("{name} not in the explorer: {shown:?}"));
        assert_eq!(
            cents(&row["monthly_cost_usd"]),
            cents(&a["monthly_cost_usd"]),
            "{name}"
        );
        assert_eq!(
            row["text"].as_str().expect("text"),
            format!("{:.2}", a["monthly_cost_usd"].as_f64().expect("cost")),
            "{name}"
        );
        // The lines a team's own account adds, shown beside the total as the model's lines.
        let category = |c: &str| -> f64 {
            a["breakdown"]
                .as_array()
                .expect("breakdown")
                .iter()
                .filter(|l| l["category"] == c && l["included_in_total"] == true)
                .map(|l| l["cost_usd"].as_f64().expect("cost"))
                .sum::<f64>()
                + 0.0 // an empty sum is -0.0
        };
        assert_eq!(
            (row["trail_text"].as_str(), row["vpc_text"].as_str()),
            (
                Some(format!("{:.2}", category("trail_copies")).as_str()),
                Some(format!("{:.2}", category("vpc_access")).as_str())
            ),
            "{name}"
        );
    }
}

#[test]
fn the_default_plan_report_reads_at_a_glance() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = root().join("secbench/tests/fixtures/runs/default-local");
    let out = dir.path().join("report");
    let html = report(&[&run], &out);
    let p = check_page(&html, dir.path());
    // 25 approaches measured at each of the plan's two sizes: 13 in Rust, and ssm and
    // secrets-manager without a cache, with Powertools and at INIT in Node.js and in Python.
    let rows = p["decision"].as_array().expect("decision");
    assert_eq!(rows.len(), 50, "{rows:?}");
    let runtimes = rows
        .iter()
        .filter(|r| r["approach"].as_str().is_some_and(|a| a.ends_with(']')))
        .count();
    assert_eq!(runtimes, 24, "{rows:?}");
    explorer_is_the_cost_model(&p, &[&run]);
    // The Markdown mirrors the decision.
    let md = std::fs::read_to_string(out.join("report.md")).expect("report.md");
    assert!(md.contains("## Decision") && md.contains("### 128 MB (the workload's size)"));
    assert_eq!(
        md.matches("| **★** |").count(),
        2,
        "one recommended row per size"
    );
}

#[test]
fn a_three_scenario_plan_and_a_two_run_report_read_as_well() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Three of the four scenarios of the small fixture run.
    let small = root().join("analyzer/tests/fixtures/runs/small");
    let three = dir.path().join("three");
    std::fs::create_dir_all(&three).expect("mkdir");
    std::fs::copy(small.join("manifest.json"), three.join("manifest.json")).expect("manifest");
    let records = std::fs::read_to_string(small.join("records.jsonl")).expect("records");
    let mut scenarios: Vec<String> = Vec::new();
    let kept: String = records
        .lines()
        .filter(|l| {
            let s = serde_json::from_str::<serde_json::Value>(l).expect("record")["scenario"]
                .as_str()
                .expect("scenario")
                .to_owned();
            if !scenarios.contains(&s) && scenarios.len() < 3 {
                scenarios.push(s.clone());
            }
            scenarios.contains(&s)
        })
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(three.join("records.jsonl"), kept).expect("write");
    let out = dir.path().join("three-report");
    // A workload with an extra trail and VPC endpoints: the explorer shows their lines.
    let account = root().join("secbench/tests/fixtures/workloads/account-lines.toml");
    let html = report_in(&[&three], &out, &[], &account);
    let p = check_page(&html, dir.path());
    explorer_is_the_cost_model_of(&p, &[&three], &account);
    let explorer = p["explorer"].as_array().expect("explorer");
    assert!(
        explorer
            .iter()
            .any(|r| r["trail_text"] != "0.00" && r["vpc_text"] != "0.00"),
        "{explorer:?}"
    );

    // Against a base run: the comparison chart's rows are filterable too (check_page).
    let out = dir.path().join("compared-report");
    let html = report_with(
        &[&three],
        &out,
        &["--compare", &small.display().to_string()],
    );
    assert!(html.contains("id=\"compare\""), "no comparison chart");
    check_page(&html, dir.path());

    let aws = root().join("secbench/tests/fixtures/runs/aws-synthetic");
    let out = dir.path().join("two-report");
    let html = report(&[&small, &aws], &out);
    let p = check_page(&html, dir.path());
    // Each stage is decided on its own figures, in tables of its own.
    let stages: BTreeSet<String> = p["decision"]
        .as_array()
        .expect("decision")
        .iter()
        .map(|r| r["stage"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(
        stages,
        BTreeSet::from(["dev".to_owned(), "local".to_owned()]),
        "{p}"
    );
}
