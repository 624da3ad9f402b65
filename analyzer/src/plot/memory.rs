//! Chart 7: speed and cost against memory size, per approach, as AWS Lambda Power Tuning shows
//! them: on the left the cold start's first fetch (solid) and the warm fetch (dashed), p50, on
//! the right the monthly cost at the workload with the latencies measured at each size. Drawn
//! only when the runs swept memory (`memory_mb = [...]`).

use super::{colour, e, font, ms_label, with_legend, Chart, DrawResult};
use crate::view::memory::MemoryRow;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::collections::BTreeMap;

/// The chart.
#[derive(Debug, Clone)]
pub struct MemoryChart {
    /// One row per approach and memory size.
    pub rows: Vec<MemoryRow>,
}

type Line = Vec<(f64, f64)>;

impl MemoryChart {
    /// Per approach: its colour, and (memory, value) points of `pick`.
    fn lines(
        &self,
        pick: impl Fn(&MemoryRow) -> Option<f64>,
    ) -> BTreeMap<String, (RGBColor, Line)> {
        let mut out: BTreeMap<String, (RGBColor, Line)> = BTreeMap::new();
        for r in &self.rows {
            if let Some(v) = pick(r).filter(|v| *v > 0.0) {
                out.entry(r.approach.clone())
                    .or_insert_with(|| (colour(r.approach_key), Vec::new()))
                    .1
                    .push((f64::from(r.memory_mb), v));
            }
        }
        for (_, line) in out.values_mut() {
            line.sort_by(|a, b| a.0.total_cmp(&b.0));
        }
        out
    }
}

impl MemoryChart {
    /// The page filter's tags of an approach's line.
    fn tags(&self, approach: &str) -> Vec<(&'static str, String)> {
        let mut tags = vec![
            ("approach", approach.to_owned()),
            ("label", approach.to_owned()),
        ];
        if let Some(a) = self
            .rows
            .iter()
            .find(|r| r.approach == approach)
            .and_then(|r| r.approach_key)
        {
            tags.push(("source", a.source.to_string()));
            tags.push(("cache", a.cache.to_string()));
        }
        tags
    }
}

fn range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values.fold((f64::INFINITY, 0.0f64), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if lo.is_finite() {
        (lo / 2.0, hi * 2.0)
    } else {
        (0.001, 1.0)
    }
}

impl Chart for MemoryChart {
    fn name(&self) -> &'static str {
        "memory"
    }
    fn title(&self) -> String {
        "Against memory size: fetch latency (p50) and monthly cost".into()
    }
    fn size(&self) -> (u32, u32) {
        let approaches: std::collections::BTreeSet<&str> =
            self.rows.iter().map(|r| r.approach.as_str()).collect();
        (
            super::WIDTH,
            super::HEIGHT.max(super::legend_height(approaches.len())),
        )
    }
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult {
        let ms = |v: Option<u64>| v.map(|n| n as f64 / 1e6);
        let cold = self.lines(|r| ms(r.cold_fetch_p50_ns));
        let warm = self.lines(|r| ms(r.warm_fetch_p50_ns));
        // plain-env costs nothing to fetch: a line at ~$0 would only stretch the log axis.
        let cost = self.lines(|r| {
            r.monthly_cost_usd.filter(|_| {
                r.approach_key
                    .is_none_or(|a| a.source != secbench_record::Source::PlainEnv)
            })
        });
        let items: Vec<(String, RGBColor)> = cold
            .iter()
            .chain(warm.iter())
            .map(|(name, (c, _))| (name.clone(), *c))
            .collect::<BTreeMap<_, _>>()
            .into_iter()
            .collect();
        let plot = with_legend(area, &self.title(), &items)?;
        let (w, _) = plot.dim_in_pixel();
        let (left, right) = plot.split_horizontally(w / 2);
        let xs = range(self.rows.iter().map(|r| f64::from(r.memory_mb)));
        let xs = (xs.0 * 1.5, xs.1 / 1.5);
        let x_label = |v: &f64| format!("{v:.0}");

        let lat = range(
            cold.values()
                .chain(warm.values())
                .flat_map(|(_, l)| l.iter().map(|p| p.1)),
        );
        let mut chart = ChartBuilder::on(&left)
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d((xs.0..xs.1).log_scale(), (lat.0..lat.1).log_scale())
            .map_err(e)?;
        chart
            .configure_mesh()
            .x_desc("memory MB (log scale)")
            .x_labels(6)
            .light_line_style(TRANSPARENT)
            .y_desc("fetch p50: cold solid, warm dashed (log)")
            .x_label_formatter(&x_label)
            .y_label_formatter(&|v| ms_label(*v))
            .label_style(font(12))
            .axis_desc_style(font(13))
            .draw()
            .map_err(e)?;
        for (name, (c, line)) in &cold {
            super::begin_series(area, self.tags(name))?;
            chart
                .draw_series(LineSeries::new(line.clone(), c.stroke_width(2)))
                .map_err(e)?;
            chart
                .draw_series(line.iter().map(|p| Circle::new(*p, 3, c.filled())))
                .map_err(e)?;
            super::end_series(area)?;
        }
        for (name, (c, line)) in &warm {
            super::begin_series(area, self.tags(name))?;
            chart
                .draw_series(DashedLineSeries::new(line.clone(), 6, 4, c.stroke_width(2)))
                .map_err(e)?;
            super::end_series(area)?;
        }

        let usd = range(cost.values().flat_map(|(_, l)| l.iter().map(|p| p.1)));
        let mut chart = ChartBuilder::on(&right)
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d((xs.0..xs.1).log_scale(), (usd.0..usd.1).log_scale())
            .map_err(e)?;
        chart
            .configure_mesh()
            .x_desc("memory MB (log scale)")
            .x_labels(6)
            .light_line_style(TRANSPARENT)
            .y_desc("USD per month at the workload (log)")
            .x_label_formatter(&x_label)
            .y_label_formatter(&|v| {
                if *v >= 0.01 {
                    format!("${v:.2}")
                } else {
                    format!("${v:.1e}")
                }
            })
            .label_style(font(12))
            .axis_desc_style(font(13))
            .draw()
            .map_err(e)?;
        for (name, (c, line)) in &cost {
            super::begin_series(area, self.tags(name))?;
            chart
                .draw_series(LineSeries::new(line.clone(), c.stroke_width(2)))
                .map_err(e)?;
            chart
                .draw_series(line.iter().map(|p| Circle::new(*p, 3, c.filled())))
                .map_err(e)?;
            super::end_series(area)?;
        }
        Ok(())
    }
}
