//! The exporters as pure functions: a summary built in memory from the committed run fixture
//! (a real local run, cut to four scenarios), rendered without any I/O.

use super::{csv, markdown, render, table, Format, LOCAL_NOTE};
use crate::group::Metric;
use crate::ingest::Ingested;
use crate::summary::{build, Summary};
use crate::units::human_ns;

const SMALL: &str = include_str!("../../tests/fixtures/runs/small/records.jsonl");
const AT_INIT: &str = include_str!("../../tests/fixtures/runs/at-init/records.jsonl");

fn summary(records: &str, local: bool) -> Summary {
    let ingested = Ingested::from_bytes(records.as_bytes(), false).expect("fixture reads");
    let mut s = build(&ingested, crate::stats::DEFAULT_SEED);
    s.local_emulator = local;
    s
}

#[test]
fn table_has_a_row_per_group_and_says_local() {
    let s = summary(SMALL, true);
    let t = table::render(&s);
    assert!(t.starts_with(LOCAL_NOTE), "{t}");
    assert_eq!(t.lines().count(), 2 + s.groups.len());
    for g in &s.groups {
        assert!(t.contains(&g.key.scenario));
    }
    // Fewer than 1,000 samples in every group of the fixture: each p99 is flagged.
    assert_eq!(t.matches("(few samples)").count(), s.groups.len());
    let t = table::render(&summary(SMALL, false));
    assert!(!t.contains(LOCAL_NOTE));
}

#[test]
fn the_cold_headline_of_an_init_fetch_is_the_init_fetch_everywhere() {
    let s = summary(AT_INIT, false);
    let cold = s
        .groups
        .iter()
        .find(|g| g.key.phase == secbench_record::run::Phase::Cold)
        .expect("a cold group");
    let init = cold.metric(Metric::InitFetch).expect("INIT-time fetches");
    let handler = cold.metric(Metric::FetchLatency).expect("handler fetches");
    // The handler's fetch is the value kept from INIT: far below the INIT-time fetch.
    assert!(handler.p50_ns * 10 < init.p50_ns, "{handler:?} vs {init:?}");
    assert_eq!(Metric::headline(&cold.key), Metric::InitFetch);
    let shown = format!(
        "{} [{}, {}]",
        human_ns(init.p50_ns),
        human_ns(init.p50_ci_ns[0]),
        human_ns(init.p50_ci_ns[1])
    );
    let t = table::render(&s);
    let row = t
        .lines()
        .find(|l| l.contains(" cold "))
        .expect("the cold row");
    assert!(row.contains(&shown), "terminal table: {row} lacks {shown}");
    assert!(!row.contains(&human_ns(handler.p50_ns)), "{row}");
    let md = markdown::render(&s);
    assert!(
        md.contains(
            &shown
                .replace('[', "(")
                .replace(", ", " – ")
                .replace(']', ")")
        ),
        "{md}"
    );
    // Warm groups keep the handler's fetch.
    let warm = s
        .groups
        .iter()
        .find(|g| g.key.phase == secbench_record::run::Phase::Warm)
        .expect("a warm group");
    assert_eq!(Metric::headline(&warm.key), Metric::FetchLatency);
}

#[test]
fn csv_has_a_row_per_group_and_metric_and_quotes_what_it_must() {
    let s = summary(SMALL, true);
    let text = csv::render(&s);
    let rows: usize = s.groups.iter().map(|g| g.metrics.len()).sum();
    assert_eq!(text.lines().count(), rows + 1);
    // local_emulator, then the emulation statement (none for these records: no manifest), then
    // the 12 rotation columns, empty on a group × metric row.
    let columns = text.lines().next().expect("header").split(',').count();
    assert!(text
        .lines()
        .skip(1)
        .all(|l| l.ends_with(&format!(",true,{}", ",".repeat(12)))
            && l.split(',').count() == columns));
    assert_eq!(csv::field("plain"), "plain");
    assert_eq!(csv::field("a,b"), "\"a,b\"");
    assert_eq!(csv::field("say \"hi\""), "\"say \"\"hi\"\"\"");
    assert_eq!(csv::field("two\nlines"), "\"two\nlines\"");
}

#[test]
fn markdown_marks_unstable_p99s_and_json_is_the_schema_version() {
    let s = summary(SMALL, true);
    let md = markdown::render(&s);
    assert!(md.contains("† fewer than 1,000 samples"));
    assert_eq!(md.matches("| local |").count(), s.groups.len());
    let json: serde_json::Value = serde_json::from_str(&render(&s, Format::Json)).expect("JSON");
    assert_eq!(json["summary_schema_version"], 1);
    assert_eq!(json["groups"][0]["phase"], "cold");
}
