//! Chart 1: the latency CDF per approach, cold above and warm below, memory sizes side by side
//! as small multiples on one shared log-scale time axis, with each series' p50 and p99 marked.
//! Drawn from the HdrHistograms (one point per recorded value bucket), never from raw records.
//! An approach keeps its colour; one whose colour repeats earlier ones' is drawn dashed, dotted
//! or in long dashes (the second, third and fourth of a colour: e.g. an approach in Rust, in
//! Node.js and in Python).

use super::{begin_series, e, end_series, font, ms_label, with_legend, Chart, DrawResult};
use crate::approach::Approach;
use crate::family::Families;
use crate::group::{GroupKey, Metric};
use crate::ingest::Ingested;
use crate::summary::Summary;
use plotters::coord::Shift;
use plotters::prelude::*;
use secbench_record::run::Phase;

/// One curve.
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend label.
    pub label: String,
    /// Colour of its approach.
    pub colour: RGBColor,
    /// (latency in ms, cumulative fraction).
    pub points: Vec<(f64, f64)>,
    /// Median in ms.
    pub p50_ms: f64,
    /// p99 in ms.
    pub p99_ms: f64,
    /// Its memory size (the facet).
    pub memory_mb: Option<u32>,
    /// Its line: other than solid where its colour repeats another approach's.
    pub stroke: Stroke,
    /// The page filter's tags.
    pub tags: Vec<(&'static str, String)>,
}

/// The style of a CDF line: the n-th approach of one colour gets the n-th style (cycling).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Stroke {
    /// The first of its colour.
    #[default]
    Solid,
    /// The second.
    Dashed,
    /// The third.
    Dotted,
    /// The fourth.
    LongDashes,
}

impl Stroke {
    /// The style of the `n`-th line (from 0) of one colour.
    pub fn nth(n: usize) -> Stroke {
        [
            Stroke::Solid,
            Stroke::Dashed,
            Stroke::Dotted,
            Stroke::LongDashes,
        ][n % 4]
    }

    /// Dash and gap lengths in pixels; `None` for a solid line.
    fn dashes(self) -> Option<(u32, u32)> {
        match self {
            Stroke::Solid => None,
            Stroke::Dashed => Some((6, 4)),
            Stroke::Dotted => Some((2, 3)),
            Stroke::LongDashes => Some((14, 4)),
        }
    }

    /// What the legend says of it; `None` for a solid line.
    fn name(self) -> Option<&'static str> {
        match self {
            Stroke::Solid => None,
            Stroke::Dashed => Some("dashed"),
            Stroke::Dotted => Some("dotted"),
            Stroke::LongDashes => Some("long dashes"),
        }
    }
}

impl Series {
    /// The CDF of a histogram of nanoseconds.
    pub fn from_histogram(
        label: String,
        colour: RGBColor,
        h: &hdrhistogram::Histogram<u64>,
    ) -> Series {
        let points = h
            .iter_recorded()
            .map(|v| {
                (
                    h.highest_equivalent(v.value_iterated_to()) as f64 / 1e6,
                    v.quantile_iterated_to(),
                )
            })
            .collect();
        Series {
            label,
            colour,
            points,
            p50_ms: h.value_at_quantile(0.5) as f64 / 1e6,
            p99_ms: h.value_at_quantile(0.99) as f64 / 1e6,
            memory_mb: None,
            stroke: Stroke::Solid,
            tags: Vec::new(),
        }
    }
}

/// The chart.
#[derive(Debug, Clone)]
pub struct LatencyCdf {
    /// The memory sizes, one facet each.
    pub facets: Vec<Option<u32>>,
    /// Cold fetches (the first fetch of an environment, at INIT or in its first invocation).
    pub cold: Vec<Series>,
    /// Warm fetches.
    pub warm: Vec<Series>,
}

fn panel<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    area: &DrawingArea<DB, Shift>,
    caption: &str,
    series: &[&Series],
    (lo, hi): (f64, f64),
    y_desc: bool,
) -> DrawResult {
    if series.is_empty() {
        return super::empty(area, caption, "no values");
    }
    let (w, _) = area.dim_in_pixel();
    let mut chart = ChartBuilder::on(area)
        .caption(caption, font(14))
        .margin(8)
        .x_label_area_size(40)
        .y_label_area_size(if y_desc { 52 } else { 34 })
        .build_cartesian_2d((lo..hi).log_scale(), 0.0..100.0)
        .map_err(e)?;
    let mut mesh = chart.configure_mesh();
    mesh.x_desc("fetch latency (log scale)")
        .x_labels((f64::from(w) / 110.0).clamp(2.0, 6.0) as usize)
        .x_label_formatter(&|v| ms_label(*v))
        .y_label_formatter(&|v| format!("{v:.0}"))
        .label_style(font(12))
        .axis_desc_style(font(13))
        .light_line_style(WHITE.mix(0.0));
    if y_desc {
        mesh.y_desc("% at or below");
    }
    mesh.draw().map_err(e)?;
    for s in series {
        // A step curve: each bucket's share rises at its value.
        let mut steps = Vec::with_capacity(s.points.len() * 2 + 1);
        let mut last = 0.0;
        for &(x, q) in &s.points {
            steps.push((x, last * 100.0));
            steps.push((x, q * 100.0));
            last = q;
        }
        begin_series(root, s.tags.clone())?;
        match s.stroke.dashes() {
            Some((size, gap)) => chart
                .draw_series(DashedLineSeries::new(
                    steps,
                    size,
                    gap,
                    s.colour.stroke_width(2),
                ))
                .map_err(e)?,
            None => chart
                .draw_series(LineSeries::new(steps, s.colour.stroke_width(2)))
                .map_err(e)?,
        };
        chart
            .draw_series([
                Circle::new((s.p50_ms, 50.0), 4, s.colour.filled()),
                Circle::new((s.p99_ms, 99.0), 4, s.colour.filled()),
            ])
            .map_err(e)?;
        end_series(root)?;
    }
    // The p50 and p99 levels the markers sit on.
    for level in [50.0, 99.0] {
        chart
            .draw_series(LineSeries::new(
                [(lo, level), (hi, level)],
                BLACK.mix(0.25).stroke_width(1),
            ))
            .map_err(e)?;
    }
    Ok(())
}

/// The shared x range of some series, with a margin.
fn range<'a>(series: impl Iterator<Item = &'a Series>) -> Option<(f64, f64)> {
    let (lo, hi) = series
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .fold((f64::INFINITY, 0.0f64), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    lo.is_finite().then(|| {
        let lo = (lo.max(1e-6) / 1.5).max(1e-6);
        (lo, (hi * 1.5).max(lo * 10.0))
    })
}

impl LatencyCdf {
    /// One legend item per label, with its line's style where it is not solid.
    fn legend(&self) -> Vec<(String, RGBColor)> {
        let mut items: Vec<(String, RGBColor)> = Vec::new();
        let mut seen: Vec<&str> = Vec::new();
        for s in self.warm.iter().chain(&self.cold) {
            if !seen.contains(&s.label.as_str()) {
                seen.push(&s.label);
                let label = match s.stroke.name() {
                    Some(style) => format!("{} ({style})", s.label),
                    None => s.label.clone(),
                };
                items.push((label, s.colour));
            }
        }
        items
    }
}

impl Chart for LatencyCdf {
    fn name(&self) -> &'static str {
        "latency-cdf"
    }
    fn title(&self) -> String {
        "Fetch latency distribution per approach and memory size (dots: p50 and p99)".into()
    }
    fn size(&self) -> (u32, u32) {
        (
            super::WIDTH,
            super::legend_height(self.legend().len()).max(820),
        )
    }
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult {
        let items = self.legend();
        let plot = with_legend(area, &self.title(), &items)?;
        let (_, h) = plot.dim_in_pixel();
        let (top, bottom) = plot.split_vertically(h / 2);
        let facets = if self.facets.is_empty() {
            vec![None]
        } else {
            self.facets.clone()
        };
        for (row, series, name) in [
            (&top, &self.cold, "cold first fetch"),
            (&bottom, &self.warm, "warm fetch"),
        ] {
            let Some(r) = range(series.iter()) else {
                super::empty(row, name, "no values")?;
                continue;
            };
            let cells = row.split_evenly((1, facets.len()));
            for (i, (m, cell)) in facets.iter().zip(&cells).enumerate() {
                let of: Vec<&Series> = series
                    .iter()
                    .filter(|s| self.facets.is_empty() || s.memory_mb == *m)
                    .collect();
                let caption = match m {
                    Some(m) => format!("{name}, {m} MB"),
                    None => name.to_owned(),
                };
                panel(area, cell, &caption, &of, r, i == 0)?;
            }
        }
        Ok(())
    }
}

// What the chart shows, from the summary.
/// The chart of the main scenarios' headline latencies, cold and warm, from their histograms.
pub fn from_groups(
    ingested: &Ingested,
    summary: &Summary,
    families: &Families,
) -> crate::plot::cdf::LatencyCdf {
    let several = super::labels::several_stages(summary);
    let mut cold = Vec::new();
    let mut warm = Vec::new();
    // Where approaches share a palette colour (one approach in several runtimes or stages) the
    // runtime decides the line: Rust solid, Node.js dashed, Python dotted; a further line of
    // the same colour and runtime (another stage) takes the next style. Lines are in the order
    // of the approaches, an approach's runtimes side by side.
    let main = || {
        ingested
            .groups
            .iter()
            .filter(|(k, _)| families.of(k) == crate::family::Family::Main)
    };
    let runtime_of = |k: &GroupKey| k.runtime.language() as usize;
    let mut lines: Vec<(Option<usize>, String, plotters::style::RGBColor, usize)> = main()
        .map(|(k, _)| {
            let a = Approach::of(k);
            (
                a.and_then(|a| a.index()),
                super::labels::approach_label(k, several),
                crate::plot::colour(a),
                runtime_of(k),
            )
        })
        .collect();
    lines.sort_by_key(|(i, label, _, _)| (i.is_none(), *i, label.clone()));
    lines.dedup_by(|a, b| a.1 == b.1);
    let stroke_of = |label: &str| {
        let at = lines
            .iter()
            .position(|(_, l, _, _)| l == label)
            .unwrap_or(0);
        let (_, _, c, runtime) = lines[at];
        let before = lines[..at]
            .iter()
            .filter(|(_, _, o, r)| *o == c && *r == runtime)
            .count();
        crate::plot::cdf::Stroke::nth(runtime + before)
    };
    let order_of = |label: &str| lines.iter().position(|(_, l, _, _)| l == label);
    for (k, g) in main() {
        let into = match k.phase {
            Phase::Cold => &mut cold,
            Phase::Warm => &mut warm,
        };
        let metric = Metric::headline(k);
        if let Some(h) = g.histogram(metric) {
            let label = super::labels::approach_label(k, several);
            let c = crate::plot::colour(Approach::of(k));
            let stroke = stroke_of(&label);
            let mut tags = crate::view::tags::tags_of_group(k, crate::family::Family::Main);
            tags.push(("label", label.clone()));
            let mut s = crate::plot::cdf::Series::from_histogram(label, c, h);
            s.memory_mb = k.memory_mb;
            s.stroke = stroke;
            s.tags = tags;
            into.push(s);
        }
    }
    // The legend in the same order: an approach's runtimes side by side.
    cold.sort_by_key(|s| order_of(&s.label));
    warm.sort_by_key(|s| order_of(&s.label));
    crate::plot::cdf::LatencyCdf {
        facets: super::labels::facets(summary, families),
        cold,
        warm,
    }
}

#[cfg(test)]
mod from_groups_tests {
    use super::*;

    /// The default local plan's run (cut): an approach in Rust, Node.js and Python has one
    /// colour and three line styles (solid, dashed, dotted); Powertools, which only Node.js and
    /// Python have, is dashed and dotted too; every other colour is one approach's.
    #[test]
    fn an_approach_s_runtimes_share_its_colour_and_differ_in_line_style() {
        let (ingested, summary) = crate::family::default_local();
        let families =
            crate::family::Families::new(&summary, &ingested, std::time::Duration::from_secs(300));
        let chart = from_groups(&ingested, &summary, &families);
        let of = |label: &str| {
            let s = chart
                .warm
                .iter()
                .find(|s| s.label == label)
                .unwrap_or_else(|| panic!("{label}"));
            (s.colour, s.stroke)
        };
        let (ssm, solid) = of("ssm");
        assert_eq!(solid, Stroke::Solid);
        assert_eq!(of("ssm [nodejs22.x]"), (ssm, Stroke::Dashed));
        assert_eq!(of("ssm [python3.13]"), (ssm, Stroke::Dotted));
        let (pt, dashed) = of("ssm+powertools [nodejs22.x]");
        assert_eq!(dashed, Stroke::Dashed);
        assert_eq!(of("ssm+powertools [python3.13]"), (pt, Stroke::Dotted));
        // One colour per approach: lines of one colour and style are one label's.
        let mut seen = std::collections::BTreeMap::new();
        for s in &chart.warm {
            let key = (
                s.colour.0,
                s.colour.1,
                s.colour.2,
                format!("{:?}", s.stroke),
            );
            let first = seen.entry(key).or_insert_with(|| s.label.clone());
            assert_eq!(*first, s.label, "two approaches drawn alike");
        }
    }
}
