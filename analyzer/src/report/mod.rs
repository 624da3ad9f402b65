//! `secbench report`: one self-contained HTML page and a Markdown summary that a design review
//! can decide from: the recommendation (when a workload is given), the plots (inline SVG in the
//! page, PNG for the Markdown), percentiles with their intervals, the environment, and links to
//! the raw exports written beside them. Every figure comes from the runs' histograms and the
//! cost model; nothing is drawn from raw records.

pub mod cold;
pub mod html;
pub mod many;
pub mod markdown;
pub mod memory;
pub mod staleness;
pub mod tables;

use crate::approach::{name_of as approach_name, Approach};
use crate::cost::pipeline::Priced;
use crate::cost::recommend::Slo;
use crate::cost::{self, CostReport};
use crate::group::{GroupKey, Metric};
use crate::ingest::Ingested;
use crate::plot::{self, colour, series_label, Rendered};
use crate::summary::Summary;
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
}

/// Everything the page and the Markdown show.
#[derive(Debug)]
pub struct ReportData {
    /// The analysis.
    pub summary: Summary,
    /// The runs' manifests (when they have one).
    pub manifests: Vec<(String, Manifest)>,
    /// The cost model at the workload, if one was given.
    pub cost: Option<CostReport>,
    /// The base run's directory, if compared.
    pub compared_with: Option<String>,
    /// The comparison, if any.
    pub comparisons: Vec<crate::compare::Comparison>,
    /// Files written beside the report (relative path, what it is).
    pub exports: Vec<(String, String)>,
    /// Whether any run is a local-emulator run.
    pub local_emulator: bool,
    /// Per approach and memory size, when the runs swept memory.
    pub by_memory: Vec<memory::MemoryRow>,
    /// The local stage's connection counts per group.
    pub connections: Vec<memory::ConnectionRow>,
    /// Staleness after each rotation, when the runs rotated values.
    pub staleness: Vec<crate::staleness::RotationStaleness>,
    /// Many secrets per fetch, measured, when the runs read several.
    pub many: Vec<many::ManyRow>,
    /// Where a cold fetch's time goes and what each remedy moves (Markdown; empty when no
    /// run measured a remedy).
    pub cold: String,
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
    let mut plots = Vec::new();
    plots.push(plot::render(&cdf(ingested, &labels), &plots_dir)?);
    plots.push(plot::render(&percentiles(&summary, &labels), &plots_dir)?);
    let manifests: Vec<(String, Manifest)> = ingested
        .input
        .runs
        .iter()
        .filter_map(|r| Some((r.dir.clone(), r.manifest.clone()?)))
        .collect();
    plots.push(plot::render(
        &cold_start(&summary, &labels, &manifests),
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
    plots.push(plot::render(&errors(&summary, &labels), &plots_dir)?);
    let by_memory = memory::rows(&summary, ingested, inputs.cost.as_ref());
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
                let approach = summary
                    .groups
                    .iter()
                    .find(|g| g.key.scenario == c.scenario)
                    .and_then(|g| Approach::of(&g.key));
                plot::compare::Row {
                    label: format!("{} {}", c.scenario, c.phase.as_str()),
                    approach,
                    ratio: c.p50.ratio,
                    ci: c.p50.ci,
                    verdict: c.p50.verdict,
                }
            })
            .collect();
        plots.push(plot::render(
            &plot::compare::Compare {
                base: base_name.clone(),
                new: new_name,
                rows,
                threshold: inputs.noise_threshold,
            },
            &plots_dir,
        )?);
        compared_with = Some(base_name);
    }

    let connections = memory::connection_rows(&summary);
    let cold = cold::section(
        &cold::stories(&summary, &manifests),
        cold::init_note(&manifests).as_deref(),
        inputs.cost.as_ref().map(|(p, _)| p),
    );
    let data = ReportData {
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

fn cdf(ingested: &Ingested, several: &Labels) -> plot::cdf::LatencyCdf {
    let mut cold = Vec::new();
    let mut warm = Vec::new();
    for (k, g) in &ingested.groups {
        let into = match k.phase {
            Phase::Cold => &mut cold,
            Phase::Warm => &mut warm,
        };
        let metric = Metric::headline(k);
        if let Some(h) = g.histogram(metric) {
            into.push(plot::cdf::Series::from_histogram(
                label(k, several),
                colour(Approach::of(k)),
                h,
            ));
        }
    }
    plot::cdf::LatencyCdf { cold, warm }
}

fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

fn percentiles(s: &Summary, several: &Labels) -> plot::percentiles::Percentiles {
    let mut warm = Vec::new();
    let mut cold = Vec::new();
    for g in &s.groups {
        let into = match g.key.phase {
            Phase::Cold => &mut cold,
            Phase::Warm => &mut warm,
        };
        if let Some(m) = g.headline() {
            into.push(plot::percentiles::Row {
                label: label(&g.key, several),
                colour: colour(Approach::of(&g.key)),
                p_ms: [ms(m.p50_ns), ms(m.p90_ns), ms(m.p99_ns)],
                p50_ci_ms: [ms(m.p50_ci_ns[0]), ms(m.p50_ci_ns[1])],
                p99_ci_ms: [ms(m.p99_ci_ns[0]), ms(m.p99_ci_ns[1])],
                count: m.count,
            });
        }
    }
    plot::percentiles::Percentiles { warm, cold }
}

fn cold_start(
    s: &Summary,
    several: &Labels,
    manifests: &[(String, Manifest)],
) -> plot::cold_start::ColdStart {
    let bars = s
        .groups
        .iter()
        .filter(|g| g.key.phase == Phase::Cold)
        .map(|g| {
            let mean = |name: &str| g.metrics.get(name).map_or(0.0, |m| m.mean_ns / 1e6);
            let fetch = mean(Metric::headline(&g.key).name());
            let entropy = cold::entropy_in_first_fetch(&g.key, manifests)
                .map_or(0.0, |ns| (ns as f64 / 1e6).min(fetch));
            plot::cold_start::Bar {
                label: label(&g.key, several),
                spans_ms: [
                    // Before `main` from the platform's INIT measurement; the OS's 10 ms-tick
                    // process start only where the platform gave none.
                    if g.metrics.contains_key(Metric::InitBeforeMain.name()) {
                        mean(Metric::InitBeforeMain.name())
                    } else {
                        mean(Metric::InitProcessStart.name())
                    },
                    mean(Metric::InitSdkConfig.name()),
                    mean(Metric::InitClientConstruction.name()),
                    mean(Metric::InitPrewarm.name()),
                    entropy,
                    fetch - entropy,
                ],
                count: g.invocations,
            }
        })
        .collect();
    plot::cold_start::ColdStart { bars }
}

fn errors(s: &Summary, several: &Labels) -> plot::errors::Errors {
    let mut rows: BTreeMap<String, plot::errors::Row> = BTreeMap::new();
    for g in &s.groups {
        let l = label(&g.key, several);
        let row = rows.entry(l.clone()).or_insert_with(|| plot::errors::Row {
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
    plot::errors::Errors {
        rows: rows.into_values().collect(),
    }
}

pub use crate::table::esc;

/// A path relative to the report directory, for links (absolute when it is elsewhere).
pub fn relative(path: &Path, out: &Path) -> String {
    let abs = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let (p, o) = (abs(path), abs(out));
    match p.strip_prefix(&o) {
        Ok(r) => r.display().to_string(),
        Err(_) => {
            // One level up is the common case (the run beside its report).
            match o.parent().and_then(|parent| p.strip_prefix(parent).ok()) {
                Some(r) => format!("../{}", r.display()),
                None => p.display().to_string(),
            }
        }
    }
}
