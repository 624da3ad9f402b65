//! Chart 6: errors and throttles per approach: the share of invocations that did not end `ok`,
//! stacked by outcome, and the share of fetches that failed, by error class.

use super::{stacked_rows, with_legend, Chart, DrawResult, StackedRow};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::collections::BTreeMap;

/// One approach's counts.
#[derive(Debug, Clone)]
pub struct Row {
    /// Label.
    pub label: String,
    /// Invocations.
    pub invocations: u64,
    /// Invocations by non-`ok` outcome.
    pub outcomes: BTreeMap<String, u64>,
    /// Fetches.
    pub fetches: u64,
    /// Failed fetches by class.
    pub fetch_errors: BTreeMap<String, u64>,
}

/// The chart.
#[derive(Debug, Clone)]
pub struct Errors {
    /// Rows.
    pub rows: Vec<Row>,
}

const COLOURS: [RGBColor; 8] = [
    RGBColor(0xD5, 0x5E, 0x00),
    RGBColor(0x00, 0x72, 0xB2),
    RGBColor(0xE6, 0x9F, 0x00),
    RGBColor(0x00, 0x9E, 0x73),
    RGBColor(0xCC, 0x79, 0xA7),
    RGBColor(0x56, 0xB4, 0xE9),
    RGBColor(0xF0, 0xE4, 0x42),
    RGBColor(0x55, 0x55, 0x55),
];

impl Errors {
    fn kinds(&self) -> Vec<String> {
        let mut kinds: Vec<String> = Vec::new();
        for r in &self.rows {
            for k in r
                .outcomes
                .keys()
                .map(|k| format!("invocation: {k}"))
                .chain(r.fetch_errors.keys().map(|k| format!("fetch: {k}")))
            {
                if !kinds.contains(&k) {
                    kinds.push(k);
                }
            }
        }
        kinds.sort();
        kinds
    }
}

impl Chart for Errors {
    fn name(&self) -> &'static str {
        "errors"
    }
    fn title(&self) -> String {
        "Errors and throttles per approach (% of invocations / of fetches)".into()
    }
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult {
        let kinds = self.kinds();
        // With no errors the rows still show, each with its count of clean invocations.
        let items: Vec<(String, RGBColor)> = if kinds.is_empty() {
            vec![(
                "no errors in these runs".to_owned(),
                RGBColor(0xBB, 0xBB, 0xBB),
            )]
        } else {
            kinds
                .iter()
                .enumerate()
                .map(|(i, k)| (k.clone(), COLOURS[i % COLOURS.len()]))
                .collect()
        };
        let plot = with_legend(area, &self.title(), &items)?;
        let share = |r: &Row, k: &str| -> f64 {
            if let Some(o) = k.strip_prefix("invocation: ") {
                r.outcomes.get(o).copied().unwrap_or(0) as f64 * 100.0 / r.invocations.max(1) as f64
            } else if let Some(c) = k.strip_prefix("fetch: ") {
                r.fetch_errors.get(c).copied().unwrap_or(0) as f64 * 100.0 / r.fetches.max(1) as f64
            } else {
                0.0
            }
        };
        let labels: Vec<String> = self.rows.iter().map(|r| r.label.clone()).collect();
        let bars: Vec<StackedRow> = self
            .rows
            .iter()
            .map(|r| {
                let errors: u64 = r.outcomes.values().sum();
                let mut segments: Vec<(f64, RGBColor)> = kinds
                    .iter()
                    .enumerate()
                    .map(|(k, kind)| (share(r, kind), COLOURS[k % COLOURS.len()]))
                    .collect();
                if errors == 0 && r.fetch_errors.is_empty() {
                    // A sliver, so a clean row still shows where its bar would be.
                    segments.push((0.006, RGBColor(0xBB, 0xBB, 0xBB)));
                }
                StackedRow {
                    segments,
                    end_text: format!(
                        "{errors} of {} invocations failed; {} of {} fetches",
                        r.invocations,
                        r.fetch_errors.values().sum::<u64>(),
                        r.fetches
                    ),
                }
            })
            .collect();
        stacked_rows(
            &plot,
            &labels,
            &bars,
            "% (invocation outcomes of invocations; fetch error classes of fetches)",
            None,
            1.0,
        )
    }
}
