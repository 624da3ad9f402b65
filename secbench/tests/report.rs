//! `secbench report` through the real binary on a real (cut) run: the files it writes, PNGs
//! that decode and are not blank, a page with no script and nothing fetched, the Markdown as a
//! snapshot, and the page opened in headless Chromium (Debian's package) as a person would:
//! it must render every plot, fill a screenshot, and log no console error (its layout, filter
//! and cost explorer: `report_page.rs`).

mod common;

use common::root;
use std::path::{Path, PathBuf};
use std::process::Command;

fn run() -> PathBuf {
    root().join("analyzer/tests/fixtures/runs/small")
}

fn report(out: &Path, extra: &[&str]) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_secbench"))
        .arg("report")
        .arg(run())
        .args(["--workload"])
        .arg(root().join("scripts/workloads/example.toml"))
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .expect("secbench");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Share of pixels that are not (nearly) white.
fn ink(img: &image::RgbaImage) -> f64 {
    let inked = img
        .pixels()
        .filter(|p| p.0[0] < 235 || p.0[1] < 235 || p.0[2] < 235)
        .count();
    inked as f64 / (img.width() * img.height()) as f64
}

const CHARTS: [&str; 7] = [
    "latency-cdf",
    "latency-percentiles",
    "cold-start-breakdown",
    "cost-curve",
    "cost-breakdown",
    "errors",
    "compare",
];

#[test]
fn report_writes_the_page_the_markdown_the_plots_and_the_exports() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("report");
    let printed = report(&out, &["--compare", run().to_str().expect("utf-8")]);
    assert!(printed.contains("report.html"), "{printed}");
    for name in CHARTS {
        let png = out.join(format!("plots/{name}.png"));
        let img = image::open(&png)
            .unwrap_or_else(|e| panic!("{}: {e}", png.display()))
            .to_rgba8();
        assert!(
            img.width() >= 1000 && img.height() >= 560,
            "{name}: {:?}",
            img.dimensions()
        );
        let share = ink(&img);
        assert!(share > 0.01, "{name}: only {share:.4} of the PNG is drawn");
        let svg = std::fs::read_to_string(out.join(format!("plots/{name}.svg"))).expect("svg");
        assert!(svg.contains("<svg") && svg.contains("</svg>"), "{name}");
    }
    for file in [
        "summary.json",
        "summary.csv",
        "summary.md",
        "cost.json",
        "cost-sweep.json",
        "report.md",
    ] {
        assert!(out.join(file).is_file(), "{file}");
    }
    assert!(
        std::fs::read_dir(out.join("histograms"))
            .expect("histograms")
            .count()
            > 0
    );
    let html = std::fs::read_to_string(out.join("report.html")).expect("html");
    // Self-contained: its one script is inline, nothing is loaded from anywhere.
    assert_eq!(
        html.matches("<script").count(),
        2,
        "the script and the explorer's data"
    );
    for bad in [" src=", "@import", "url(", "<link"] {
        assert!(!html.contains(bad), "report.html contains {bad}");
    }
    assert_eq!(html.matches("<svg").count(), CHARTS.len());
    assert!(html.contains("Local emulator figures"));
    assert!(html.contains("Recommendation"));
    assert!(html.contains("2026-12-01"), "the pricing table's date");
    // Nothing was written into the run.
    let names: Vec<String> = std::fs::read_dir(run())
        .expect("run")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn markdown_matches_its_snapshot() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("report");
    report(&out, &[]);
    let md = std::fs::read_to_string(out.join("report.md")).expect("md");
    insta::assert_snapshot!("report_md", md);
}

#[test]
fn the_page_renders_in_headless_chromium() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("report");
    report(&out, &[]);
    let page = format!("file://{}", out.join("report.html").display());
    let chromium = |args: &[&str]| {
        let profile = tempfile::tempdir().expect("profile");
        Command::new("chromium")
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                "--enable-logging=stderr",
                "--v=0",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args(args)
            .arg(&page)
            .output()
            .expect("chromium (scripts/install-chromium.sh)")
    };
    let shot = dir.path().join("shot.png");
    let o = chromium(&[
        "--window-size=1200,5200",
        &format!("--screenshot={}", shot.display()),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let log = String::from_utf8_lossy(&o.stderr);
    // Console messages of the page are logged as CONSOLE(...); none may be an error.
    let console: Vec<&str> = log.lines().filter(|l| l.contains("CONSOLE")).collect();
    assert!(console.is_empty(), "console output: {console:#?}");
    assert!(!log.contains("Uncaught"), "{log}");
    let img = image::open(&shot).expect("screenshot").to_rgba8();
    assert_eq!(img.dimensions(), (1200, 5200));
    let share = ink(&img);
    assert!(share > 0.05, "only {share:.4} of the screenshot is drawn");
    // The DOM Chromium built has every plot and the tables.
    let dom = chromium(&["--dump-dom"]);
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert_eq!(
        dom.matches("<svg").count(),
        CHARTS.len() - 1,
        "no --compare: six plots"
    );
    assert!(dom.contains("Fetch latency percentiles") && dom.contains("<table"));
}

#[test]
fn two_stages_are_compared_without_being_asked() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The same run as stage `dev`: a second stage for the page to set against `local`.
    let dev = dir.path().join("dev-run");
    std::fs::create_dir_all(&dev).expect("mkdir");
    let records = std::fs::read_to_string(run().join("records.jsonl")).expect("records");
    std::fs::write(
        dev.join("records.jsonl"),
        records.replace("\"stage\":\"local\"", "\"stage\":\"dev\""),
    )
    .expect("write");
    let out = dir.path().join("report");
    let o = Command::new(env!("CARGO_BIN_EXE_secbench"))
        .arg("report")
        .arg(run())
        .arg(&dev)
        .arg("--out")
        .arg(&out)
        .output()
        .expect("secbench");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let html = std::fs::read_to_string(out.join("report.html")).expect("html");
    assert!(out.join("plots/compare.png").is_file());
    assert!(
        html.contains("Compared with stage dev"),
        "the first stage is the base"
    );
    // Series carry their stage when several are shown.
    let svg = std::fs::read_to_string(out.join("plots/latency-cdf.svg")).expect("svg");
    assert!(svg.contains("dev: kms-env") && svg.contains("local: kms-env"));
}
