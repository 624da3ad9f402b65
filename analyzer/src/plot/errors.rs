//! Chart 6: errors and throttles per approach: the share of invocations that did not end `ok`,
//! stacked by outcome, the share of fetches that failed, by error class, and the share served
//! a cached value after a failed refresh (`ignore_transient_errors`: what that setting buys).

use super::{stacked_rows, with_legend, Chart, DrawResult, StackedRow};
use crate::family::Families;
use crate::summary::Summary;
use plotters::coord::Shift;
use plotters::prelude::*;
use secbench_record::run::InvocationOutcome;
use secbench_record::ErrorClass;
use std::collections::BTreeMap;

/// One approach's counts.
#[derive(Debug, Clone)]
pub struct Row {
    /// Label.
    pub label: String,
    /// Invocations.
    pub invocations: u64,
    /// Invocations by non-`ok` outcome.
    pub outcomes: BTreeMap<InvocationOutcome, u64>,
    /// Fetches.
    pub fetches: u64,
    /// Failed fetches by class.
    pub fetch_errors: BTreeMap<ErrorClass, u64>,
    /// Fetches served the cached value after a transient failure.
    pub stale_serves: u64,
    /// The page filter's tags.
    pub tags: Vec<(&'static str, String)>,
}

/// One stacked segment: an invocation outcome or a fetch error class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Invocation(InvocationOutcome),
    Fetch(ErrorClass),
    /// Served the cached value after a failed refresh.
    Stale,
}

impl Kind {
    fn label(self) -> String {
        match self {
            Kind::Invocation(o) => format!("invocation: {}", o.as_str()),
            Kind::Fetch(c) => format!("fetch: {c}"),
            Kind::Stale => "fetch: served stale after a failed refresh".to_owned(),
        }
    }

    /// Its share in `r`, in percent (of invocations, or of fetches).
    fn share(self, r: &Row) -> f64 {
        let pct =
            |n: Option<&u64>, of: u64| n.copied().unwrap_or(0) as f64 * 100.0 / of.max(1) as f64;
        match self {
            Kind::Invocation(o) => pct(r.outcomes.get(&o), r.invocations),
            Kind::Fetch(c) => pct(r.fetch_errors.get(&c), r.fetches),
            Kind::Stale => pct(Some(&r.stale_serves), r.fetches),
        }
    }
}

/// The chart: the rows with an error, and how many had none.
#[derive(Debug, Clone)]
pub struct Errors {
    /// Rows with a failed invocation or fetch.
    pub rows: Vec<Row>,
    /// Rows (scenarios) without any, not drawn.
    pub clean: usize,
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
    fn kinds(&self) -> Vec<Kind> {
        let mut kinds: Vec<Kind> = Vec::new();
        for r in &self.rows {
            for k in r
                .outcomes
                .keys()
                .map(|o| Kind::Invocation(*o))
                .chain(r.fetch_errors.keys().map(|c| Kind::Fetch(*c)))
                .chain((r.stale_serves > 0).then_some(Kind::Stale))
            {
                if !kinds.contains(&k) {
                    kinds.push(k);
                }
            }
        }
        // In the order of their labels, as the legend reads.
        kinds.sort_by_key(|k| k.label());
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
    fn size(&self) -> (u32, u32) {
        (super::WIDTH, super::rows_height(self.rows.len() + 1))
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
                .map(|(i, k)| (k.label(), COLOURS[i % COLOURS.len()]))
                .collect()
        };
        let plot = with_legend(area, &self.title(), &items)?;
        let mut labels: Vec<String> = self.rows.iter().map(|r| r.label.clone()).collect();
        let mut bars: Vec<StackedRow> = self
            .rows
            .iter()
            .map(|r| {
                let errors: u64 = r.outcomes.values().sum();
                let mut segments: Vec<(f64, RGBColor)> = kinds
                    .iter()
                    .enumerate()
                    .map(|(k, kind)| (kind.share(r), COLOURS[k % COLOURS.len()]))
                    .collect();
                if errors == 0 && r.fetch_errors.is_empty() && r.stale_serves == 0 {
                    // A sliver, so a clean row still shows where its bar would be.
                    segments.push((0.006, RGBColor(0xBB, 0xBB, 0xBB)));
                }
                StackedRow {
                    segments,
                    end_text: format!(
                        "{errors} of {} invocations failed; {} of {} fetches{}",
                        r.invocations,
                        r.fetch_errors.values().sum::<u64>(),
                        r.fetches,
                        if r.stale_serves > 0 {
                            format!("; {} served stale", r.stale_serves)
                        } else {
                            String::new()
                        }
                    ),
                    tags: r.tags.clone(),
                }
            })
            .collect();
        if self.clean > 0 {
            labels.push(format!("{} other scenario(s)", self.clean));
            bars.push(StackedRow {
                segments: vec![(0.006, RGBColor(0xBB, 0xBB, 0xBB))],
                end_text: "no failed invocation or fetch".into(),
                tags: Vec::new(),
            });
        }
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

// What the chart shows, from the summary.
/// The errors and throttles per series (the rows with any), and how many series had none.
pub fn from_summary(
    s: &Summary,
    several: &super::labels::Labels,
    families: &Families,
) -> crate::plot::errors::Errors {
    let mut rows: BTreeMap<String, crate::plot::errors::Row> = BTreeMap::new();
    for g in &s.groups {
        let l = super::labels::label(&g.key, several);
        let row = rows
            .entry(l.clone())
            .or_insert_with(|| crate::plot::errors::Row {
                tags: super::labels::group_tags(&g.key, l.clone(), families),
                label: l,
                invocations: 0,
                outcomes: BTreeMap::new(),
                fetches: 0,
                fetch_errors: BTreeMap::new(),
                stale_serves: 0,
            });
        row.invocations += g.invocations;
        row.fetches += g.fetches;
        row.stale_serves += g.stale_serves;
        for (o, n) in &g.outcomes {
            if *o != InvocationOutcome::Ok {
                *row.outcomes.entry(*o).or_default() += n;
            }
        }
        for (c, n) in &g.fetch_errors {
            *row.fetch_errors.entry(*c).or_default() += n;
        }
    }
    let (failed, clean): (Vec<_>, Vec<_>) = rows
        .into_values()
        .partition(|r| !r.outcomes.is_empty() || !r.fetch_errors.is_empty() || r.stale_serves > 0);
    crate::plot::errors::Errors {
        rows: failed,
        clean: clean.len(),
    }
}
