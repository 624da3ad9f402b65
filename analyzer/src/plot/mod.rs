//! Plots of the report (plotters): sizes, the colour-blind-safe palette, the fonts compiled
//! into the binary, and rendering of one chart to an SVG string and a PNG file. One file per
//! chart; each is a [`Chart`] drawn the same way on both backends.

pub mod cdf;
pub mod cold_start;
pub mod compare;
pub mod cost_breakdown;
pub mod cost_curve;
pub mod errors;
pub mod labels;
pub mod many;
pub mod memory;
pub mod percentiles;
pub mod staleness;

use crate::approach::Approach;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::{Path, PathBuf};

/// Width of every chart, in pixels.
pub const WIDTH: u32 = 1000;
/// Height of every chart, in pixels.
pub const HEIGHT: u32 = 560;

/// A chart could not be drawn or written.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// plotters failed while drawing: the chart's name says which.
    #[error("drawing {chart}: {error}")]
    Draw {
        /// The chart.
        chart: String,
        /// plotters' error.
        error: DrawError,
    },
    /// The PNG file could not be written: check the output directory.
    #[error("writing {path}: {message}")]
    Write {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

/// A drawing call failed in its backend. The SVG and bitmap backends' error types differ, so
/// it keeps the backend's own description; [`render`] names the chart it happened in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DrawError(pub String);

/// The result of a drawing call, whatever the backend.
pub type DrawResult = Result<(), DrawError>;

/// A plotters error as a [`DrawError`].
pub fn e<E: std::fmt::Debug>(err: E) -> DrawError {
    DrawError(format!("{err:?}"))
}

/// One chart.
pub trait Chart {
    /// File stem (`latency-cdf`).
    fn name(&self) -> &'static str;
    /// Title shown above it.
    fn title(&self) -> String;
    /// Size in pixels.
    fn size(&self) -> (u32, u32) {
        (WIDTH, HEIGHT)
    }
    /// Draws onto `area`.
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult;
}

/// A rendered chart.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// File stem.
    pub name: &'static str,
    /// Title.
    pub title: String,
    /// The SVG document, for inlining.
    pub svg: String,
    /// The SVG file.
    pub svg_path: PathBuf,
    /// The PNG file.
    pub png_path: PathBuf,
}

/// Registers the DejaVu fonts (compiled in) as the sans-serif family, once.
pub fn fonts() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // The bytes are valid TrueType shipped by the dejavu crate; a failure would only lose
        // text, never data, so it is reported and drawing goes on.
        for (style, bytes) in [
            (FontStyle::Normal, dejavu::sans::regular()),
            (FontStyle::Bold, dejavu::sans::bold()),
        ] {
            if plotters::style::register_font("sans-serif", style, bytes).is_err() {
                eprintln!("warning: the built-in DejaVu font did not load; plots lose their text");
            }
        }
    });
}

std::thread_local! {
    /// The tags of the series drawn so far in the chart being rendered (see [`begin_series`]).
    static SERIES: std::cell::RefCell<Vec<Vec<(&'static str, String)>>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// The opacity of a series marker: invisible in the PNG, recognisable in the SVG.
const MARKER_ALPHA: f64 = 0.01;

/// Starts a series the page's filter can hide: everything drawn until [`end_series`] becomes
/// one `<g data-KEY="VALUE"…>` in the SVG, with a `<title>` holding the tag `label` (the full
/// name, for a shortened label). Drawn as an invisible 1-pixel marker the SVG is rewritten
/// from (plotters has no groups).
pub fn begin_series<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    tags: Vec<(&'static str, String)>,
) -> DrawResult {
    let i = SERIES.with(|s| {
        let mut s = s.borrow_mut();
        s.push(tags);
        s.len()
    });
    let c = RGBColor(0x01, (i >> 8) as u8, (i & 0xFF) as u8);
    area.draw(&Rectangle::new(
        [(0, 0), (1, 1)],
        c.mix(MARKER_ALPHA).filled(),
    ))
    .map_err(e)
}

/// Ends the series [`begin_series`] started.
pub fn end_series<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>) -> DrawResult {
    area.draw(&Rectangle::new(
        [(0, 0), (1, 1)],
        RGBColor(0x02, 0, 0).mix(MARKER_ALPHA).filled(),
    ))
    .map_err(e)
}

/// Rewrites the series markers of `svg` into groups.
fn group_series(svg: &str, series: &[Vec<(&'static str, String)>]) -> String {
    let mut out = String::with_capacity(svg.len() + series.len() * 64);
    let mut rest = svg;
    while let Some(at) = rest.find("<rect ") {
        out.push_str(&rest[..at]);
        let end = rest[at..].find("/>").map_or(rest.len(), |e| at + e + 2);
        let element = &rest[at..end];
        let fill = element
            .split_once("fill=\"#")
            .map(|(_, f)| &f[..f.len().min(6)]);
        let marker = element.contains(&format!("opacity=\"{MARKER_ALPHA}\""));
        match fill {
            Some(f) if marker && f.starts_with("01") => {
                let i = usize::from_str_radix(&f[2..], 16).unwrap_or(0);
                out.push_str("<g class=\"series\"");
                let mut title = None;
                for (k, v) in series.get(i.wrapping_sub(1)).into_iter().flatten() {
                    if *k == "label" {
                        title = Some(v);
                    } else {
                        out.push_str(&format!(" data-{k}=\"{}\"", crate::table::esc(v)));
                    }
                }
                out.push('>');
                if let Some(t) = title {
                    out.push_str(&format!("<title>{}</title>", crate::table::esc(t)));
                }
            }
            Some(f) if marker && f.starts_with("02") => out.push_str("</g>"),
            _ => out.push_str(element),
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// `label` shortened to at most `max_chars` characters (with "…"); the full name goes into
/// the series' title.
pub fn fit(label: &str, max_chars: usize) -> String {
    if label.chars().count() <= max_chars {
        label.to_owned()
    } else {
        let mut s: String = label.chars().take(max_chars.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

/// Characters of 12-pixel text that fit in `px` pixels (DejaVu Sans averages under 7.5 px a
/// character at that size).
pub fn chars_in(px: u32) -> usize {
    (f64::from(px) / 7.5).floor() as usize
}

/// The room an x axis needs past its last tick: half of the widest tick label ("1000 ms", 7
/// characters at `chars_in`'s 7.5 pixels), which is centred on the tick.
pub const TICK_OVERHANG_PX: u32 = 28;

/// Draws `chart` to `dir/NAME.svg` and `dir/NAME.png`.
pub fn render<C: Chart>(chart: &C, dir: &Path) -> Result<Rendered, PlotError> {
    fonts();
    SERIES.with(|s| s.borrow_mut().clear());
    let draw_err = |error: DrawError| PlotError::Draw {
        chart: chart.name().to_owned(),
        error,
    };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, chart.size()).into_drawing_area();
        root.fill(&WHITE).map_err(|x| draw_err(e(x)))?;
        chart.draw(&root).map_err(draw_err)?;
        root.present().map_err(|x| draw_err(e(x)))?;
    }
    let svg = SERIES.with(|s| group_series(&svg, &s.borrow()));
    let svg_path = dir.join(format!("{}.svg", chart.name()));
    std::fs::write(&svg_path, &svg).map_err(|x| PlotError::Write {
        path: svg_path.clone(),
        message: x.to_string(),
    })?;
    let png_path = dir.join(format!("{}.png", chart.name()));
    {
        let root = BitMapBackend::new(&png_path, chart.size()).into_drawing_area();
        root.fill(&WHITE).map_err(|x| draw_err(e(x)))?;
        chart.draw(&root).map_err(draw_err)?;
        root.present().map_err(|x| PlotError::Write {
            path: png_path.clone(),
            message: e(x).0,
        })?;
    }
    Ok(Rendered {
        name: chart.name(),
        title: chart.title(),
        svg,
        svg_path,
        png_path,
    })
}

/// Paul Tol's "muted" scheme and Okabe–Ito extras: distinguishable with the common colour
/// vision deficiencies; then five more (black, Tol's vibrant magenta and light pear, brown,
/// lavender) so that each of the 18 approaches (Powertools' two last) has a colour of its own.
/// An approach keeps its colour in every chart (its place in [`Approach::all`], its
/// Powertools approaches after; an approach in Node.js or Python has its Rust colour, and the
/// CDF tells them apart by line style).
pub const PALETTE: [RGBColor; 18] = [
    RGBColor(0x33, 0x22, 0x88), // indigo
    RGBColor(0x88, 0xCC, 0xEE), // cyan
    RGBColor(0x44, 0xAA, 0x99), // teal
    RGBColor(0x11, 0x77, 0x33), // green
    RGBColor(0x99, 0x99, 0x33), // olive
    RGBColor(0xDD, 0xCC, 0x77), // sand
    RGBColor(0xCC, 0x66, 0x77), // rose
    RGBColor(0x88, 0x22, 0x55), // wine
    RGBColor(0xAA, 0x44, 0x99), // purple
    RGBColor(0xE6, 0x9F, 0x00), // orange
    RGBColor(0x00, 0x72, 0xB2), // blue
    RGBColor(0x55, 0x55, 0x55), // dark grey
    RGBColor(0xD5, 0x5E, 0x00), // vermilion
    RGBColor(0x00, 0x00, 0x00), // black
    RGBColor(0xEE, 0x33, 0x77), // magenta
    RGBColor(0x99, 0x66, 0x33), // brown
    RGBColor(0xBB, 0xCC, 0x33), // pear
    RGBColor(0x99, 0x88, 0xDD), // lavender
];

/// The colour of an approach (grey when unknown): its place in [`Approach::all`].
pub fn colour(approach: Option<Approach>) -> RGBColor {
    approach
        .and_then(|a| a.index())
        .map_or(RGBColor(0x99, 0x99, 0x99), |i| PALETTE[i % PALETTE.len()])
}

/// The text style of titles, labels and legends.
pub fn font(size: u32) -> TextStyle<'static> {
    ("sans-serif", size).into_font().color(&BLACK)
}

/// A label for a group: its approach, with the stage in front when several are shown.
pub fn series_label(stage: &str, approach: &str, several_stages: bool) -> String {
    if several_stages {
        format!("{stage}: {approach}")
    } else {
        approach.to_owned()
    }
}

pub use crate::units::ms_label;

/// Draws a centred message in an empty chart (e.g. "no errors").
pub fn empty<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    message: &str,
) -> DrawResult {
    area.titled(title, font(22)).map_err(e)?;
    let (w, h) = area.dim_in_pixel();
    area.draw(&Text::new(
        message.to_owned(),
        (w as i32 / 2 - 160, h as i32 / 2 - 40),
        font(18),
    ))
    .map_err(e)
}

/// Where a legend's first item is, below the title, and the height of each item.
const LEGEND_TOP_PX: u32 = 30;
const LEGEND_ITEM_PX: u32 = 22;
/// The height a 22-pixel title takes.
const TITLE_PX: u32 = 40;

/// The least height of a chart whose legend ([`with_legend`]) has `items` items: the title, the
/// items and a margin below them.
pub fn legend_height(items: usize) -> u32 {
    TITLE_PX + LEGEND_TOP_PX + u32::try_from(items).unwrap_or(u32::MAX / 32) * LEGEND_ITEM_PX + 10
}

/// Splits `area` into the plot (left) and a legend column (right) that never covers data.
pub fn with_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    items: &[(String, RGBColor)],
) -> Result<DrawingArea<DB, Shift>, DrawError> {
    let titled = area.titled(title, font(22)).map_err(e)?;
    let (w, h) = titled.dim_in_pixel();
    // Items below the area's edge would all be drawn on its last line: size the chart with
    // `legend_height` instead.
    if legend_height(items.len()) > h + TITLE_PX {
        return Err(DrawError(format!(
            "a legend of {} items needs {} px below the title, the chart has {h}",
            items.len(),
            legend_height(items.len()) - TITLE_PX,
        )));
    }
    let longest = items
        .iter()
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(0) as u32;
    let legend_w = (longest * 8 + 40).clamp(120, w * 2 / 5);
    let (plot, legend) = titled.split_horizontally(w - legend_w);
    // Labels longer than the column are shortened (13-pixel text: about 8 px a character).
    let room = ((legend_w.saturating_sub(32)) / 8) as usize;
    for (i, (label, colour)) in items.iter().enumerate() {
        let y = (LEGEND_TOP_PX + i as u32 * LEGEND_ITEM_PX) as i32;
        legend
            .draw(&Rectangle::new([(6, y), (20, y + 12)], colour.filled()))
            .map_err(e)?;
        legend
            .draw(&Text::new(fit(label, room), (26, y - 1), font(13)))
            .map_err(e)?;
    }
    Ok(plot)
}

/// A lighter shade of `c` (towards white by `t` in 0..1).
pub fn lighter(c: RGBColor, t: f64) -> RGBColor {
    let mix = |v: u8| (f64::from(v) + (255.0 - f64::from(v)) * t).round() as u8;
    RGBColor(mix(c.0), mix(c.1), mix(c.2))
}

/// Width of the label area for row labels (7.5 px a character of 12-pixel text), at most
/// `max`; labels that do not fit are shortened by [`fit_labels`].
pub fn label_area(labels: &[String], max: u32) -> u32 {
    let longest = labels.iter().map(|l| l.chars().count()).max().unwrap_or(10) as u32;
    ((longest as f64 * 7.5).ceil() as u32 + 14).min(max)
}

/// `labels` shortened to fit a label area of `px` pixels.
pub fn fit_labels(labels: &[String], px: u32) -> Vec<String> {
    let room = chars_in(px.saturating_sub(14));
    labels.iter().map(|l| fit(l, room)).collect()
}

/// The pixels each row of a row chart takes: room for a 12-pixel label and its bar.
pub const ROW_PX: u32 = 26;

/// The label of the row whose middle is at `y`, for charts with one row per unit of the y axis
/// (row 0 at the top of `n` rows); empty between rows. Use with `y_labels(n * 2 + 1)`.
pub fn row_label(labels: &[String], n: usize, y: f64) -> String {
    let i = (n as f64 - y - 0.5).round();
    if (n as f64 - y - 0.5 - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < labels.len() {
        labels[i as usize].clone()
    } else {
        String::new()
    }
}

/// One row of a stacked horizontal bar chart: its segments (value, colour) left to right, and
/// the text written after the bar.
#[derive(Debug, Clone)]
pub struct StackedRow {
    /// Segments, left to right.
    pub segments: Vec<(f64, RGBColor)>,
    /// Text after the bar.
    pub end_text: String,
    /// The page filter's tags of the row (its full label as `label`).
    pub tags: Vec<(&'static str, String)>,
}

/// Draws one stacked horizontal bar per row, top to bottom, each labelled on the left (labels
/// shortened to the label area, the full one in the row's title); the x axis runs to the
/// longest bar (at least `min_hi`) with 20% headroom for the end texts, with as many ticks as
/// fit the width.
pub fn stacked_rows<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    labels: &[String],
    rows: &[StackedRow],
    x_desc: &str,
    x_label: Option<&dyn Fn(&f64) -> String>,
    min_hi: f64,
) -> DrawResult {
    let n = rows.len().max(1);
    let longest_end = rows
        .iter()
        .map(|r| r.end_text.chars().count())
        .max()
        .unwrap_or(0) as f64;
    let hi = rows
        .iter()
        .map(|r| r.segments.iter().map(|s| s.0).sum::<f64>())
        .fold(min_hi, f64::max);
    let label_w = label_area(labels, 380);
    let labels = fit_labels(labels, label_w);
    let (w, _) = area.dim_in_pixel();
    let plot_w = f64::from(w.saturating_sub(label_w + 16).max(100));
    // Room after the longest bar for its end text (7 px a character).
    let hi = hi / (1.0 - ((longest_end * 7.0 + 12.0) / plot_w).min(0.6));
    let mut chart = ChartBuilder::on(area)
        .margin(8)
        .x_label_area_size(40)
        .y_label_area_size(label_w)
        .build_cartesian_2d(0.0..hi, 0.0..n as f64)
        .map_err(e)?;
    let row_labels = |y: &f64| row_label(&labels, n, *y);
    let mut mesh = chart.configure_mesh();
    mesh.x_desc(x_desc)
        .x_labels((plot_w / 90.0) as usize)
        .y_labels(n * 2 + 1)
        .y_label_formatter(&row_labels)
        .label_style(font(12))
        .axis_desc_style(font(13))
        .disable_y_mesh();
    if let Some(f) = x_label {
        mesh.x_label_formatter(f);
    }
    mesh.draw().map_err(e)?;
    for (i, r) in rows.iter().enumerate() {
        if !r.tags.is_empty() {
            begin_series(area, r.tags.clone())?;
        }
        let y0 = n as f64 - i as f64 - 0.8;
        let mut x = 0.0;
        for (v, c) in &r.segments {
            if *v > 0.0 {
                chart
                    .draw_series([Rectangle::new([(x, y0), (x + v, y0 + 0.6)], c.filled())])
                    .map_err(e)?;
            }
            x += v;
        }
        chart
            .draw_series([Text::new(
                r.end_text.clone(),
                (x + hi * 0.01, y0 + 0.45),
                font(12),
            )])
            .map_err(e)?;
        if !r.tags.is_empty() {
            end_series(area)?;
        }
    }
    Ok(())
}

/// The height of a chart of `rows` rows below a title and an axis.
pub fn rows_height(rows: usize) -> u32 {
    (140 + rows as u32 * ROW_PX).max(HEIGHT)
}
