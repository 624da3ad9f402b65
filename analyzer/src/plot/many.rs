//! Chart 9: many secrets per fetch. Left: the time until all N values were ready (warm p50,
//! measured), per source and mode, against N. Right: the monthly cost of reading N values per
//! invocation at the workload, per source and mode, without a cache (the cost model). Drawn only
//! when the runs read several secrets per fetch.

use super::{e, font, with_legend, Chart, DrawResult};
use crate::cost::many::ModeCost;
use crate::units::ms_label;
use crate::view::many::ManyRow;
use plotters::coord::Shift;
use plotters::prelude::*;
use secbench_record::{CacheMode, MultiMode, Source};
use std::collections::BTreeMap;

/// The chart.
#[derive(Debug, Clone)]
pub struct ManyChart {
    /// Measured rows.
    pub rows: Vec<ManyRow>,
    /// The cost model per N (1..=20), when a workload was given.
    pub cost: Vec<(u32, Vec<ModeCost>)>,
}

/// A colour per mode (Okabe–Ito), a dash per source.
fn colour(mode: MultiMode) -> RGBColor {
    match mode {
        MultiMode::Sequential => RGBColor(0xD5, 0x5E, 0x00),
        MultiMode::Concurrent => RGBColor(0x00, 0x72, 0xB2),
        MultiMode::Batch => RGBColor(0x00, 0x9E, 0x73),
        MultiMode::Bundle => RGBColor(0xCC, 0x79, 0xA7),
    }
}

/// One line per set-up: source, mode, and for measured lines cache, memory and stage (the
/// cost lines leave the last three empty).
type LineKey = (Source, MultiMode, Option<CacheMode>, Option<u32>, String);
type Lines = BTreeMap<LineKey, Vec<(f64, f64)>>;

/// Ticks of a log axis from `lo` to `hi`: 1, 2 and 5 times each power of ten in the range,
/// each once.
fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let (first, last) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    (first..=last)
        .flat_map(|k| [1.0, 2.0, 5.0].map(|m| m * 10f64.powi(k)))
        .filter(|v| (lo..=hi).contains(v))
        .collect()
}

fn draw_lines<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    area: &DrawingArea<DB, Shift>,
    lines: &Lines,
    y_desc: &str,
    y_fmt: &dyn Fn(&f64) -> String,
) -> DrawResult {
    let ys = lines.values().flatten().map(|p| p.1).filter(|v| *v > 0.0);
    let (lo, hi) = ys.fold((f64::INFINITY, 0.0f64), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    let (lo, hi) = if lo.is_finite() {
        (lo / 2.0, hi * 2.0)
    } else {
        (0.001, 1.0)
    };
    let mut chart = ChartBuilder::on(area)
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(70)
        // Ticks of its own: plotters' log axis gave a decade's end and the next one's start
        // as two ticks (two "$1000.00" drawn on each other).
        .build_cartesian_2d(
            0.5f64..20.5f64,
            (lo..hi).log_scale().with_key_points(log_ticks(lo, hi)),
        )
        .map_err(e)?;
    chart
        .configure_mesh()
        .x_desc("secrets per fetch (N)")
        .y_desc(y_desc)
        .light_line_style(TRANSPARENT)
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(y_fmt)
        .label_style(font(12))
        .axis_desc_style(font(13))
        .draw()
        .map_err(e)?;
    for ((source, mode, cache, memory, _), pts) in lines {
        let c = colour(*mode);
        let mut tags = vec![
            ("family", crate::family::Family::Many.as_str().to_owned()),
            ("source", source.to_string()),
            ("label", format!("{source} {mode}")),
        ];
        if let Some(cache) = cache {
            tags.push(("cache", cache.to_string()));
        }
        if let Some(m) = memory {
            tags.push(("memory", m.to_string()));
        }
        super::begin_series(root, tags)?;
        let pts: Vec<(f64, f64)> = pts.iter().copied().filter(|p| p.1 > 0.0).collect();
        match source {
            Source::Ssm | Source::AgentSsm => {
                chart
                    .draw_series(LineSeries::new(pts.clone(), c.stroke_width(2)))
                    .map_err(e)?;
            }
            Source::SecretsManager => {
                chart
                    .draw_series(DashedLineSeries::new(pts.clone(), 6, 4, c.stroke_width(2)))
                    .map_err(e)?;
            }
            _ => {
                chart
                    .draw_series(DashedLineSeries::new(pts.clone(), 2, 3, c.stroke_width(1)))
                    .map_err(e)?;
            }
        }
        // A cached set-up is marked with triangles, so it stays apart from the same mode and
        // source without a cache.
        if cache.is_some_and(|c| c != CacheMode::None) {
            chart
                .draw_series(pts.iter().map(|p| TriangleMarker::new(*p, 5, c.filled())))
                .map_err(e)?;
        } else {
            chart
                .draw_series(pts.iter().map(|p| Circle::new(*p, 3, c.filled())))
                .map_err(e)?;
        }
        super::end_series(root)?;
    }
    Ok(())
}

impl Chart for ManyChart {
    fn name(&self) -> &'static str {
        "many-secrets"
    }
    fn title(&self) -> String {
        "Many secrets per fetch: all values ready (warm p50) and monthly cost, against N".into()
    }
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult {
        let mut latency: Lines = BTreeMap::new();
        for r in &self.rows {
            if let Some(p50) = r.warm_p50_ns {
                latency
                    .entry((r.source, r.mode, r.cache, r.memory_mb, r.stage.clone()))
                    .or_default()
                    .push((f64::from(r.secrets), p50 as f64 / 1e6));
            }
        }
        for pts in latency.values_mut() {
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        }
        let mut cost: Lines = BTreeMap::new();
        for (n, modes) in &self.cost {
            for m in modes.iter().filter(|m| m.cache == CacheMode::None) {
                cost.entry((m.source, m.mode, None, None, String::new()))
                    .or_default()
                    .push((f64::from(*n), m.monthly_cost_usd));
            }
        }
        let mut items: Vec<(String, RGBColor)> = MultiMode::ALL
            .iter()
            .map(|m| (m.to_string(), colour(*m)))
            .collect();
        let grey = RGBColor(0x60, 0x60, 0x60);
        items.push(("ssm: solid line".into(), grey));
        items.push(("secrets-manager: dashed".into(), grey));
        items.push(("the agent: dotted (sub-ms)".into(), grey));
        items.push(("triangles: with a cache".into(), grey));
        items.push(("equal costs overlap".into(), grey));
        let plot = with_legend(area, &self.title(), &items)?;
        let (w, _) = plot.dim_in_pixel();
        let (left, right) = plot.split_horizontally(w / 2);
        draw_lines(area, &left, &latency, "warm p50, all N ready (log)", &|v| {
            ms_label(*v)
        })?;
        if cost.is_empty() {
            return super::empty(&right, "", "no workload: pass --workload for the cost");
        }
        draw_lines(
            area,
            &right,
            &cost,
            "USD/month, no cache, at the workload (log)",
            &|v| {
                if *v >= 0.01 {
                    format!("${v:.2}")
                } else {
                    format!("${v:.1e}")
                }
            },
        )
    }
}
