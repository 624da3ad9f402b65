//! `secbench report`: one self-contained HTML page and a Markdown summary that a design review
//! can decide from: the recommendation (when a workload is given), the plots (inline SVG in the
//! page, PNG for the Markdown), percentiles with their intervals, the environment, and links to
//! the raw exports written beside them. Every figure comes from the runs' histograms and the
//! cost model; nothing is drawn from raw records.

pub mod cold;
pub mod data;
pub mod decision;
pub mod explorer;
pub mod html;
pub mod many;
pub mod markdown;
pub mod memory;
pub mod staleness;
pub mod tables;

use crate::approach::{name_of as approach_name, Approach};
use crate::cost;
use crate::cost::pipeline::Priced;
use crate::cost::recommend::Slo;
use crate::group::{GroupKey, Metric};
use crate::ingest::Ingested;
use crate::plot::{self, colour, series_label, Rendered};
use crate::summary::Summary;
pub use data::{relative, ReportData};
use secbench_record::run::{InvocationOutcome, Manifest, Phase};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What to report on: data the caller has read (the report reads no input file itself).
#[derive(Debug, Clone)]
pub struct ReportInputs {
    /// The runs, as ingested (their manifests included).
    pub ingested: Ingested,
    /// The cost pipeline at the workload and the latency objective, when a workload is given.
    pub cost: Option<(Priced, Slo)>,
    /// A base run to compare against (as ingested) and its name in titles.
    pub base: Option<(Ingested, String)>,
    /// Noise threshold of the comparison.
    pub noise_threshold: f64,
    /// Where to write.
    pub out: PathBuf,
}

/// Why a report could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A file or directory could not be written: check the output directory.
    #[error("writing {}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A chart could not be drawn.
    #[error(transparent)]
    Plot(#[from] plot::PlotError),
    /// The HdrHistogram logs could not be written.
    #[error(transparent)]
    Histograms(#[from] crate::hdr::HdrError),
    /// The cost sweep failed.
    #[error(transparent)]
    Cost(#[from] cost::CostError),
}

fn write_file(path: PathBuf, text: impl AsRef<[u8]>) -> Result<(), ReportError> {
    std::fs::write(&path, text).map_err(|source| ReportError::Write { path, source })
}

/// What was written.
#[derive(Debug, Clone)]
pub struct ReportFiles {
    /// `report.html`.
    pub html: PathBuf,
    /// `report.md`.
    pub markdown: PathBuf,
    /// The plots.
    pub plots: Vec<Rendered>,
    /// The decision tables and sentences as terminal text.
    pub decision_text: String,
}

/// Writes the report; returns the files.
pub fn write(inputs: &ReportInputs) -> Result<ReportFiles, ReportError> {
    let out = &inputs.out;
    let ingested = &inputs.ingested;
    let summary = crate::summary::build(ingested, crate::stats::DEFAULT_SEED);
    let plots_dir = out.join("plots");
    std::fs::create_dir_all(&plots_dir).map_err(|source| ReportError::Write {
        path: plots_dir.clone(),
        source,
    })?;
    let mut exports = Vec::new();
    for (name, format, what) in [
        (
            "summary.json",
            crate::export::Format::Json,
            "the analysis (schema analyzer/schema/summary.schema.json)",
        ),
        (
            "summary.csv",
            crate::export::Format::Csv,
            "one row per group × metric",
        ),
        (
            "summary.md",
            crate::export::Format::Md,
            "the analysis as Markdown tables",
        ),
    ] {
        write_file(out.join(name), crate::export::render(&summary, format))?;
        exports.push((name.to_owned(), what.to_owned()));
    }
    let hdr_dir = out.join("histograms");
    let logs = crate::hdr::write_all(ingested, &hdr_dir)?;
    exports.push((
        "histograms/".to_owned(),
        format!("{} HdrHistogram interval logs, one per group", logs.len()),
    ));

    let labels = Labels::new(&summary);
    let reference_ttl = inputs
        .cost
        .as_ref()
        .map_or(std::time::Duration::from_secs(300), |(p, _)| {
            p.workload.cache_ttl
        });
    let families = crate::family::Families::new(&summary, ingested, reference_ttl);
    let mut plots = Vec::new();
    plots.push(plot::render(
        &cdf(ingested, &summary, &families),
        &plots_dir,
    )?);
    plots.push(plot::render(
        &percentiles(
            &summary,
            &families,
            &[crate::family::Family::Main],
            plot::percentiles::Percentiles::APPROACHES,
        ),
        &plots_dir,
    )?);
    let others = percentiles(
        &summary,
        &families,
        &[
            crate::family::Family::Variant,
            crate::family::Family::Faults,
        ],
        plot::percentiles::Percentiles::OTHERS,
    );
    if !others.warm.is_empty() || !others.cold.is_empty() {
        plots.push(plot::render(&others, &plots_dir)?);
    }
    let manifests: Vec<(String, Manifest)> = ingested
        .input
        .runs
        .iter()
        .filter_map(|r| Some((r.dir.clone(), r.manifest.clone()?)))
        .collect();
    plots.push(plot::render(
        &cold_start(&summary, &labels, &manifests, &families),
        &plots_dir,
    )?);

    let mut cost_report = None;
    if let Some((priced, slo)) = &inputs.cost {
        let r = priced.report(slo);
        let sweep = priced.report_sweep()?;
        write_file(
            out.join("cost.json"),
            serde_json::to_string_pretty(&r).unwrap_or_default(),
        )?;
        write_file(
            out.join("cost-sweep.json"),
            serde_json::to_string_pretty(&sweep).unwrap_or_default(),
        )?;
        exports.push((
            "cost.json".into(),
            "the cost model at the workload (schema analyzer/schema/cost.schema.json)".into(),
        ));
        exports.push((
            "cost-sweep.json".into(),
            "cost curves and break-even points (schema analyzer/schema/cost-sweep.schema.json)"
                .into(),
        ));
        plots.push(plot::render(
            &plot::cost_curve::CostCurve {
                sweep,
                workload_invocations: priced.workload.invocations_per_month,
            },
            &plots_dir,
        )?);
        plots.push(plot::render(
            &plot::cost_breakdown::CostBreakdown { report: r.clone() },
            &plots_dir,
        )?);
        cost_report = Some(r);
    }
    plots.push(plot::render(
        &errors(&summary, &labels, &families),
        &plots_dir,
    )?);
    let sizes = decision::sizes(
        &summary,
        &families,
        inputs.cost.as_ref().map(|(p, _)| p.workload.memory_mb),
    );
    let by_size = decision::cost_by_size(&summary, &families, inputs.cost.as_ref(), &sizes);
    let decision = decision::build_all(&summary, &families, inputs.cost.as_ref(), &by_size);
    let by_memory = memory::rows(&summary, &families, &by_size);
    if !by_memory.is_empty() {
        plots.push(plot::render(
            &plot::memory::MemoryChart {
                rows: by_memory.clone(),
            },
            &plots_dir,
        )?);
    }

    let many_rows = many::rows(&summary);
    if !many_rows.is_empty() {
        let cost = match &inputs.cost {
            Some((priced, _)) => crate::cost::many::against_n(&priced.workload, &priced.pricing),
            None => Vec::new(),
        };
        plots.push(plot::render(
            &plot::many::ManyChart {
                rows: many_rows.clone(),
                cost,
            },
            &plots_dir,
        )?);
    }
    let staleness = summary.staleness.clone();
    if !staleness.is_empty() {
        write_file(
            out.join("staleness.json"),
            serde_json::to_string_pretty(&staleness).unwrap_or_default(),
        )?;
        exports.push((
            "staleness.json".into(),
            "per rotation: each environment's time to the new value, and the stale invocations"
                .into(),
        ));
        plots.push(plot::render(
            &plot::staleness::StalenessChart {
                rows: staleness.clone(),
            },
            &plots_dir,
        )?);
    }

    // Base vs new: the --compare run against these, or, with runs of exactly two stages and
    // no --compare, the first stage against the second.
    let mut stages: Vec<String> = ingested.groups.keys().map(|k| k.stage.clone()).collect();
    stages.sort();
    stages.dedup();
    let run_names = || {
        ingested
            .input
            .runs
            .iter()
            .map(|r| short(Path::new(&r.dir)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let pair: Option<(Ingested, Ingested, String, String)> = match &inputs.base {
        Some((base, name)) => Some((base.clone(), ingested.clone(), name.clone(), run_names())),
        None if stages.len() == 2 => {
            let of = |stage: &str| Ingested {
                groups: ingested
                    .groups
                    .iter()
                    .filter(|(k, _)| k.stage == stage)
                    .map(|(k, g)| (k.clone(), g.clone()))
                    .collect(),
                input: Default::default(),
                rotations: Vec::new(),
            };
            Some((
                of(&stages[0]),
                of(&stages[1]),
                format!("stage {}", stages[0]),
                format!("stage {}", stages[1]),
            ))
        }
        None => None,
    };
    let mut comparisons = Vec::new();
    let mut compared_with = None;
    if let Some((base, new, base_name, new_name)) = pair {
        comparisons = crate::compare::compare(
            &base,
            &new,
            inputs.noise_threshold,
            crate::stats::DEFAULT_SEED,
        );
        let rows = comparisons
            .iter()
            .filter(|c| c.metric == Metric::FetchLatency.name())
            .map(|c| {
                let group = summary.groups.iter().find(|g| g.key.scenario == c.scenario);
                plot::compare::Row {
                    label: format!("{} {}", c.scenario, c.phase.as_str()),
                    approach: group.and_then(|g| Approach::of(&g.key)),
                    ratio: c.p50.ratio,
                    ci: c.p50.ci,
                    verdict: c.p50.verdict,
                    tags: decision::tags_of_scenario(&summary, &families, &c.scenario),
                }
            })
            .collect::<Vec<_>>();
        // No chart of nothing: the section says no group is in both.
        if !rows.is_empty() {
            plots.push(plot::render(
                &plot::compare::Compare {
                    base: base_name.clone(),
                    new: new_name,
                    rows,
                    threshold: inputs.noise_threshold,
                },
                &plots_dir,
            )?);
        }
        compared_with = Some(base_name);
    }

    let connections = memory::connection_rows(&summary);
    let cold = cold::section(
        &cold::stories(&summary, &manifests),
        cold::init_note(&manifests).as_deref(),
        inputs.cost.as_ref().map(|(p, _)| p),
    );
    let explorer = inputs
        .cost
        .as_ref()
        .map(|(priced, slo)| explorer::grid(&summary, &families, priced, slo));
    let data = ReportData {
        explorer,
        decision,
        families,
        cold,
        many: many_rows,
        staleness,
        by_memory,
        connections,
        local_emulator: summary.local_emulator,
        summary,
        manifests,
        cost: cost_report,
        compared_with,
        comparisons,
        exports,
    };
    let html = out.join("report.html");
    write_file(html.clone(), html::render(&data, &plots, out))?;
    let markdown = out.join("report.md");
    write_file(markdown.clone(), markdown::render(&data, &plots, out))?;
    Ok(ReportFiles {
        html,
        markdown,
        plots,
        decision_text: decision::text(&data.decision),
    })
}

/// The default output directory of a run's report: beside the run, never inside it.
pub fn default_out(run: &Path) -> PathBuf {
    let name = run
        .file_name()
        .map_or_else(|| "run".into(), |n| n.to_string_lossy().into_owned());
    run.with_file_name(format!("{name}-report"))
}

/// A run's short name in titles: its directory's name (the run id).
fn short(run: &Path) -> String {
    run.file_name().map_or_else(
        || run.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// Series labels: the approach (with the stage in front when several stages are shown), and
/// the scenario's name after it when two scenarios share an approach (a memory sweep, say).
#[derive(Debug)]
pub struct Labels {
    by_key: BTreeMap<(String, String), String>,
}

impl Labels {
    /// Labels for every group of `s`.
    pub fn new(s: &Summary) -> Labels {
        let mut stages: Vec<&str> = s.groups.iter().map(|g| g.key.stage.as_str()).collect();
        stages.sort_unstable();
        stages.dedup();
        let several = stages.len() > 1;
        let base = |k: &GroupKey| series_label(&k.stage, &approach_name(k), several);
        let mut scenarios: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for g in &s.groups {
            let v = scenarios.entry(base(&g.key)).or_default();
            if !v.contains(&g.key.scenario) {
                v.push(g.key.scenario.clone());
            }
        }
        let by_key = s
            .groups
            .iter()
            .map(|g| {
                let b = base(&g.key);
                let label = if scenarios.get(&b).is_some_and(|v| v.len() > 1) {
                    format!("{b} ({})", g.key.scenario)
                } else {
                    b
                };
                ((g.key.stage.clone(), g.key.scenario.clone()), label)
            })
            .collect();
        Labels { by_key }
    }

    /// The label of a group.
    pub fn get(&self, k: &GroupKey) -> String {
        self.by_key
            .get(&(k.stage.clone(), k.scenario.clone()))
            .cloned()
            .unwrap_or_else(|| approach_name(k))
    }
}

fn label(k: &GroupKey, labels: &Labels) -> String {
    labels.get(k)
}

fn cdf(
    ingested: &Ingested,
    summary: &Summary,
    families: &crate::family::Families,
) -> plot::cdf::LatencyCdf {
    let several = several_stages(summary);
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
    let runtime_of = |k: &GroupKey| {
        secbench_record::Runtime::ALL
            .iter()
            .position(|r| *r == k.runtime)
            .unwrap_or(0)
    };
    let mut lines: Vec<(Option<usize>, String, plotters::style::RGBColor, usize)> = main()
        .map(|(k, _)| {
            let a = Approach::of(k);
            (
                a.and_then(|a| a.index()),
                approach_label(k, several),
                colour(a),
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
        plot::cdf::Stroke::nth(runtime + before)
    };
    let order_of = |label: &str| lines.iter().position(|(_, l, _, _)| l == label);
    for (k, g) in main() {
        let into = match k.phase {
            Phase::Cold => &mut cold,
            Phase::Warm => &mut warm,
        };
        let metric = Metric::headline(k);
        if let Some(h) = g.histogram(metric) {
            let label = approach_label(k, several);
            let c = colour(Approach::of(k));
            let stroke = stroke_of(&label);
            let mut tags = decision::tags_of_group(k, crate::family::Family::Main);
            tags.push(("label", label.clone()));
            let mut s = plot::cdf::Series::from_histogram(label, c, h);
            s.memory_mb = k.memory_mb;
            s.stroke = stroke;
            s.tags = tags;
            into.push(s);
        }
    }
    // The legend in the same order: an approach's runtimes side by side.
    cold.sort_by_key(|s| order_of(&s.label));
    warm.sort_by_key(|s| order_of(&s.label));
    plot::cdf::LatencyCdf {
        facets: facets(summary, families),
        cold,
        warm,
    }
}

fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

/// The label of a group's approach (with its stage when several are shown), for charts whose
/// memory sizes are facets.
fn approach_label(k: &GroupKey, several_stages: bool) -> String {
    series_label(&k.stage, &approach_name(k), several_stages)
}

fn several_stages(s: &Summary) -> bool {
    let mut stages = s.groups.iter().map(|g| g.key.stage.as_str());
    let first = stages.next();
    stages.any(|st| Some(st) != first)
}

/// The memory sizes of the main scenarios, as facets (ascending).
fn facets(s: &Summary, families: &crate::family::Families) -> Vec<Option<u32>> {
    let mut f: Vec<Option<u32>> = s
        .groups
        .iter()
        .filter(|g| families.of(&g.key) == crate::family::Family::Main)
        .map(|g| g.key.memory_mb)
        .collect();
    f.sort_unstable();
    f.dedup();
    f
}

/// The percentile chart of the groups of `of` families: the main family's rows are
/// approaches (memory sizes as facets), the others' are scenarios.
fn percentiles(
    s: &Summary,
    families: &crate::family::Families,
    of: &[crate::family::Family],
    which: (&'static str, &'static str),
) -> plot::percentiles::Percentiles {
    let several = several_stages(s);
    let main = of == [crate::family::Family::Main];
    let mut warm: Vec<plot::percentiles::Row> = Vec::new();
    let mut cold: Vec<plot::percentiles::Row> = Vec::new();
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
            approach_label(&g.key, several)
        } else {
            format!("{} ({})", approach_label(&g.key, several), g.key.scenario)
        };
        let i = match into.iter().position(|r| r.label == label) {
            Some(i) => i,
            None => {
                let mut tags = decision::tags_of_group(&g.key, families.of(&g.key));
                if main {
                    tags.retain(|(k, _)| *k != "memory");
                }
                tags.push(("label", label.clone()));
                into.push(plot::percentiles::Row {
                    label,
                    colour: colour(Approach::of(&g.key)),
                    cells: BTreeMap::new(),
                    tags,
                });
                into.len() - 1
            }
        };
        into[i].cells.insert(
            g.key.memory_mb,
            plot::percentiles::Cell {
                p_ms: [ms(m.p50_ns), ms(m.p90_ns), ms(m.p99_ns)],
                p50_ci_ms: [ms(m.p50_ci_ns[0]), ms(m.p50_ci_ns[1])],
                p99_ci_ms: [ms(m.p99_ci_ns[0]), ms(m.p99_ci_ns[1])],
                count: m.count,
            },
        );
    }
    let mut facets: Vec<Option<u32>> = if main {
        facets(s, families)
    } else {
        warm.iter()
            .chain(&cold)
            .flat_map(|r| r.cells.keys().copied())
            .collect()
    };
    facets.sort_unstable();
    facets.dedup();
    plot::percentiles::Percentiles {
        which,
        facets,
        warm,
        cold,
    }
}

fn cold_start(
    s: &Summary,
    several: &Labels,
    manifests: &[(String, Manifest)],
    families: &crate::family::Families,
) -> plot::cold_start::ColdStart {
    use crate::family::Family;
    let bars = s
        .groups
        .iter()
        .filter(|g| {
            g.key.phase == Phase::Cold
                && matches!(families.of(&g.key), Family::Main | Family::Remedy)
        })
        .map(|g| {
            let mean = |name: &str| g.metrics.get(name).map_or(0.0, |m| m.mean_ns / 1e6);
            let fetch = mean(Metric::headline(&g.key).name());
            let entropy = cold::entropy_in_first_fetch(&g.key, manifests)
                .map_or(0.0, |ns| (ns as f64 / 1e6).min(fetch));
            plot::cold_start::Bar {
                spans_ms: [
                    // Before `main` from the platform's INIT measurement; the OS's 10 ms-tick
                    // process start only where the platform gave none.
                    if g.metrics.contains_key(Metric::InitBeforeMain.name()) {
                        mean(Metric::InitBeforeMain.name())
                    } else {
                        mean(Metric::InitProcessStart.name())
                    },
                    mean(Metric::InitImports.name()),
                    mean(Metric::InitSdkConfig.name()),
                    mean(Metric::InitClientConstruction.name()),
                    mean(Metric::InitPrewarm.name()),
                    entropy,
                    fetch - entropy,
                ],
                count: g.invocations,
                tags: group_tags(&g.key, label(&g.key, several), families),
                label: match g.key.memory_mb {
                    Some(m) => format!("{}, {m} MB", approach_label(&g.key, several_stages(s))),
                    None => label(&g.key, several),
                },
            }
        })
        .collect();
    plot::cold_start::ColdStart { bars }
}

/// The page filter's tags of a group's series, with its full label.
fn group_tags(
    k: &GroupKey,
    full_label: String,
    families: &crate::family::Families,
) -> Vec<(&'static str, String)> {
    let mut tags = decision::tags_of_group(k, families.of(k));
    tags.push(("label", full_label));
    tags
}

fn errors(
    s: &Summary,
    several: &Labels,
    families: &crate::family::Families,
) -> plot::errors::Errors {
    let mut rows: BTreeMap<String, plot::errors::Row> = BTreeMap::new();
    for g in &s.groups {
        let l = label(&g.key, several);
        let row = rows.entry(l.clone()).or_insert_with(|| plot::errors::Row {
            tags: group_tags(&g.key, l.clone(), families),
            label: l,
            invocations: 0,
            outcomes: BTreeMap::new(),
            fetches: 0,
            fetch_errors: BTreeMap::new(),
        });
        row.invocations += g.invocations;
        row.fetches += g.fetches;
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
        .partition(|r| !r.outcomes.is_empty() || !r.fetch_errors.is_empty());
    plot::errors::Errors {
        rows: failed,
        clean: clean.len(),
    }
}

#[cfg(test)]
mod cdf_tests {
    use super::*;
    use crate::plot::cdf::Stroke;

    /// The default local plan's run (cut): an approach in Rust, Node.js and Python has one
    /// colour and three line styles (solid, dashed, dotted); Powertools, which only Node.js and
    /// Python have, is dashed and dotted too; every other colour is one approach's.
    #[test]
    fn an_approach_s_runtimes_share_its_colour_and_differ_in_line_style() {
        let (ingested, summary) = crate::family::default_local();
        let families =
            crate::family::Families::new(&summary, &ingested, std::time::Duration::from_secs(300));
        let chart = cdf(&ingested, &summary, &families);
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
