//! Chart 2: p50, p90 and p99 of fetch latency per approach as horizontal bars on a log-scale
//! time axis, with the 95% bootstrap intervals of p50 and p99 as whiskers; warm above, cold
//! below. One row per approach, memory sizes side by side as small multiples on one shared
//! axis; the chart grows with its rows, labels are shortened to their column (the full name in
//! the row's title) and each row is a series the page's filter can hide.

use super::{begin_series, e, end_series, font, lighter, ms_label, Chart, DrawResult};
use crate::approach::Approach;
use crate::family::Families;
use crate::summary::Summary;
use crate::units::ns_to_ms;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use secbench_record::run::Phase;
use std::collections::BTreeMap;

/// One approach at one memory size.
#[derive(Debug, Clone)]
pub struct Cell {
    /// p50, p90, p99 in ms.
    pub p_ms: [f64; 3],
    /// 95% interval of p50, ms.
    pub p50_ci_ms: [f64; 2],
    /// 95% interval of p99, ms.
    pub p99_ci_ms: [f64; 2],
    /// Values in the group.
    pub count: u64,
}

/// One approach's row.
#[derive(Debug, Clone)]
pub struct Row {
    /// Label.
    pub label: String,
    /// Colour of its approach.
    pub colour: RGBColor,
    /// Its cells by memory size (`None`: the records named none).
    pub cells: BTreeMap<Option<u32>, Cell>,
    /// The page filter's tags.
    pub tags: Vec<(&'static str, String)>,
}

/// The chart.
#[derive(Debug, Clone)]
pub struct Percentiles {
    /// The chart's file stem and title: the approaches' chart, or the other scenarios' one
    /// ([`Percentiles::OTHERS`]).
    pub which: (&'static str, &'static str),
    /// The memory sizes, one facet each, left to right.
    pub facets: Vec<Option<u32>>,
    /// Warm rows.
    pub warm: Vec<Row>,
    /// Cold rows.
    pub cold: Vec<Row>,
}

/// Pixels per row: three bars and their whiskers.
const ROW_PX: u32 = 40;
/// The label column.
const LABEL_PX: u32 = 300;

fn facet_name(m: Option<u32>) -> String {
    m.map_or_else(|| "memory not recorded".to_owned(), |m| format!("{m} MB"))
}

fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    caption: &str,
    facets: &[Option<u32>],
    rows: &[Row],
) -> DrawResult {
    let cells = || rows.iter().flat_map(|r| r.cells.values());
    let lo = cells()
        .map(|c| c.p50_ci_ms[0].min(c.p_ms[0]))
        .fold(f64::INFINITY, f64::min);
    let hi = cells()
        .map(|c| c.p99_ci_ms[1].max(c.p_ms[2]))
        .fold(0.0, f64::max);
    if rows.is_empty() || !lo.is_finite() {
        return super::empty(area, caption, "no values");
    }
    let lo = (lo.max(1e-6) / 2.0).max(1e-6);
    let hi = (hi * 2.0).max(lo * 10.0);
    let n = rows.len();
    let titled = area.titled(caption, font(17)).map_err(e)?;
    let (w, _) = titled.dim_in_pixel();
    let (labels_area, plots) = titled.split_horizontally(LABEL_PX);
    let k = facets.len().max(1);
    let facet_w = (w - LABEL_PX) / k as u32;
    let areas = plots.split_evenly((1, k));
    let mut charts = Vec::new();
    for (m, a) in facets.iter().zip(&areas) {
        let mut chart = ChartBuilder::on(a)
            .caption(facet_name(*m), font(14))
            .margin_right(super::TICK_OVERHANG_PX)
            .margin_left(4)
            .x_label_area_size(34)
            .y_label_area_size(0)
            .build_cartesian_2d((lo..hi).log_scale(), 0.0..n as f64)
            .map_err(e)?;
        chart
            .configure_mesh()
            .x_labels(((facet_w as f64) / 110.0).clamp(2.0, 6.0) as usize)
            .x_label_formatter(&|v| ms_label(*v))
            .label_style(font(12))
            .disable_y_mesh()
            .disable_y_axis()
            .draw()
            .map_err(e)?;
        charts.push(chart);
    }
    let room = super::chars_in(LABEL_PX - 16);
    let (_, base_y) = labels_area.get_base_pixel();
    for (i, r) in rows.iter().enumerate() {
        begin_series(area, r.tags.clone())?;
        let top = n as f64 - i as f64 - 0.12;
        let h = 0.25;
        if let Some(c0) = charts.first() {
            let (_, y) = c0.backend_coord(&(lo, top - 1.5 * h));
            let count: u64 = r.cells.values().map(|c| c.count).max().unwrap_or(0);
            labels_area
                .draw(&Text::new(
                    super::fit(&format!("{} (n={count})", r.label), room),
                    (LABEL_PX as i32 - 8, y - base_y),
                    font(12).pos(Pos::new(HPos::Right, VPos::Center)),
                ))
                .map_err(e)?;
        }
        for (m, chart) in facets.iter().zip(charts.iter_mut()) {
            let Some(c) = r.cells.get(m) else {
                continue;
            };
            for (k, v) in c.p_ms.iter().enumerate() {
                let shade = lighter(r.colour, [0.0, 0.35, 0.6][k]);
                let y0 = top - h * (k as f64 + 1.0);
                chart
                    .draw_series([Rectangle::new(
                        [(lo, y0), (v.max(lo), y0 + h * 0.9)],
                        shade.filled(),
                    )])
                    .map_err(e)?;
            }
            for (k, ci) in [(0usize, c.p50_ci_ms), (2, c.p99_ci_ms)] {
                let y = top - h * (k as f64 + 0.55);
                let style = BLACK.stroke_width(2);
                chart
                    .draw_series([
                        PathElement::new(vec![(ci[0].max(lo), y), (ci[1].max(lo), y)], style),
                        PathElement::new(
                            vec![(ci[0].max(lo), y - 0.08), (ci[0].max(lo), y + 0.08)],
                            style,
                        ),
                        PathElement::new(
                            vec![(ci[1].max(lo), y - 0.08), (ci[1].max(lo), y + 0.08)],
                            style,
                        ),
                    ])
                    .map_err(e)?;
            }
        }
        end_series(area)?;
    }
    Ok(())
}

impl Percentiles {
    /// The approaches' chart (their main scenarios).
    pub const APPROACHES: (&'static str, &'static str) = (
        "latency-percentiles",
        "Fetch latency percentiles per approach and memory size (95% bootstrap intervals)",
    );
    /// The other scenarios' chart: other settings (such as a 5 s TTL) and those under faults.
    pub const OTHERS: (&'static str, &'static str) = (
        "latency-percentiles-other",
        "Other settings and scenarios under faults: fetch latency percentiles (95% intervals)",
    );
}

impl Chart for Percentiles {
    fn name(&self) -> &'static str {
        self.which.0
    }
    fn title(&self) -> String {
        self.which.1.into()
    }
    fn size(&self) -> (u32, u32) {
        let rows = (self.warm.len() + self.cold.len()) as u32;
        (super::WIDTH, (200 + rows * ROW_PX).max(super::HEIGHT))
    }
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult {
        let titled = area.titled(&self.title(), font(20)).map_err(e)?;
        let (_, h) = titled.dim_in_pixel();
        let (legend, body) = titled.split_vertically(22);
        legend
            .draw(&Text::new(
                "bars: p50, p90, p99 (lighter); whiskers: 95% intervals of p50 and p99; log scale"
                    .to_owned(),
                (8, 2),
                font(13),
            ))
            .map_err(e)?;
        let warm_rows = self.warm.len().max(1) as f64;
        let share = warm_rows / (warm_rows + self.cold.len().max(1) as f64);
        let (top, bottom) = body.split_vertically((f64::from(h - 22) * share).round() as u32 + 10);
        panel(&top, "warm fetch", &self.facets, &self.warm)?;
        panel(
            &bottom,
            "cold: first fetch of a new environment (at INIT for @init)",
            &self.facets,
            &self.cold,
        )?;
        Ok(())
    }
}

// What the chart shows, from the summary.
/// The percentile chart of the groups of `of` families: the main family's rows are
/// approaches (memory sizes as facets), the others' are scenarios.
pub fn from_summary(
    s: &Summary,
    families: &Families,
    of: &[crate::family::Family],
    which: (&'static str, &'static str),
) -> crate::plot::percentiles::Percentiles {
    let several = super::labels::several_stages(s);
    let main = of == [crate::family::Family::Main];
    let mut warm: Vec<crate::plot::percentiles::Row> = Vec::new();
    let mut cold: Vec<crate::plot::percentiles::Row> = Vec::new();
    for g in s
        .groups
        .iter()
        .filter(|g| of.contains(&families.of(&g.key)))
    {
        let Some(m) = g.headline() else {
            continue;
        };
        let into = match g.key.phase {
            Phase::Cold => &mut cold,
            Phase::Warm => &mut warm,
        };
        let label = if main {
            super::labels::approach_label(&g.key, several)
        } else {
            format!(
                "{} ({})",
                super::labels::approach_label(&g.key, several),
                g.key.scenario
            )
        };
        let i = match into.iter().position(|r| r.label == label) {
            Some(i) => i,
            None => {
                let mut tags = crate::view::tags::tags_of_group(&g.key, families.of(&g.key));
                if main {
                    tags.retain(|(k, _)| *k != "memory");
                }
                tags.push(("label", label.clone()));
                into.push(crate::plot::percentiles::Row {
                    label,
                    colour: crate::plot::colour(Approach::of(&g.key)),
                    cells: BTreeMap::new(),
                    tags,
                });
                into.len() - 1
            }
        };
        into[i].cells.insert(
            g.key.memory_mb,
            crate::plot::percentiles::Cell {
                p_ms: [ns_to_ms(m.p50_ns), ns_to_ms(m.p90_ns), ns_to_ms(m.p99_ns)],
                p50_ci_ms: [ns_to_ms(m.p50_ci_ns[0]), ns_to_ms(m.p50_ci_ns[1])],
                p99_ci_ms: [ns_to_ms(m.p99_ci_ns[0]), ns_to_ms(m.p99_ci_ns[1])],
                count: m.count,
            },
        );
    }
    let mut facets: Vec<Option<u32>> = if main {
        super::labels::facets(s, families)
    } else {
        warm.iter()
            .chain(&cold)
            .flat_map(|r| r.cells.keys().copied())
            .collect()
    };
    facets.sort_unstable();
    facets.dedup();
    crate::plot::percentiles::Percentiles {
        which,
        facets,
        warm,
        cold,
    }
}
