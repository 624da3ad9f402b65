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
pub mod markdown;
pub mod tables;

use crate::approach::Approach;
use crate::cost;
use crate::cost::pipeline::Priced;
use crate::cost::recommend::Slo;
use crate::group::Metric;
use crate::ingest::Ingested;
use crate::plot::{self, Rendered};
use crate::summary::Summary;
use crate::view::tags::tags_of_scenario;
use crate::view::{many, memory};
pub use data::{relative, ReportData};
use secbench_record::run::Manifest;
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

/// Writes the report; returns the files. Each section adds its exports, its charts and its part
/// of the page's data, in the order the page shows them.
pub fn write(inputs: &ReportInputs) -> Result<ReportFiles, ReportError> {
    let mut r = Report::start(inputs)?;
    r.exports()?;
    r.latency_charts()?;
    r.cost()?;
    r.errors()?;
    r.decision_and_memory()?;
    r.several_secrets()?;
    r.staleness()?;
    r.comparison()?;
    r.finish()
}

/// A report being written: what every section reads, and what the sections have made so far.
struct Report<'a> {
    inputs: &'a ReportInputs,
    summary: Summary,
    families: crate::family::Families,
    manifests: Vec<(String, Manifest)>,
    labels: plot::labels::Labels,
    plots_dir: PathBuf,
    plots: Vec<Rendered>,
    exports: Vec<(String, String)>,
    cost_report: Option<cost::CostReport>,
    decision: Option<decision::Decision>,
    by_memory: Vec<memory::MemoryRow>,
    many: Vec<many::ManyRow>,
    comparisons: Vec<crate::compare::Comparison>,
    compared_with: Option<String>,
}

impl<'a> Report<'a> {
    /// The summary, the families and the manifests every section reads; the plots' folder.
    fn start(inputs: &'a ReportInputs) -> Result<Self, ReportError> {
        let summary = crate::summary::build(&inputs.ingested, crate::stats::DEFAULT_SEED);
        let plots_dir = inputs.out.join("plots");
        std::fs::create_dir_all(&plots_dir).map_err(|source| ReportError::Write {
            path: plots_dir.clone(),
            source,
        })?;
        let reference_ttl = inputs
            .cost
            .as_ref()
            .map_or(std::time::Duration::from_secs(300), |(p, _)| {
                p.workload.cache_ttl
            });
        let families = crate::family::Families::new(&summary, &inputs.ingested, reference_ttl);
        let manifests = inputs
            .ingested
            .input
            .runs
            .iter()
            .filter_map(|r| Some((r.dir.clone(), r.manifest.clone()?)))
            .collect();
        Ok(Report {
            inputs,
            labels: plot::labels::Labels::new(&summary),
            summary,
            families,
            manifests,
            plots_dir,
            plots: Vec::new(),
            exports: Vec::new(),
            cost_report: None,
            decision: None,
            by_memory: Vec::new(),
            many: Vec::new(),
            comparisons: Vec::new(),
            compared_with: None,
        })
    }

    fn draw<C: plot::Chart>(&mut self, chart: &C) -> Result<(), ReportError> {
        self.plots.push(plot::render(chart, &self.plots_dir)?);
        Ok(())
    }

    fn export(
        &mut self,
        name: &str,
        text: impl AsRef<[u8]>,
        what: &str,
    ) -> Result<(), ReportError> {
        write_file(self.inputs.out.join(name), text)?;
        self.exports.push((name.to_owned(), what.to_owned()));
        Ok(())
    }

    /// The analysis in every export format, and one HdrHistogram log per group.
    fn exports(&mut self) -> Result<(), ReportError> {
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
            let text = crate::export::render(&self.summary, format);
            self.export(name, text, what)?;
        }
        let logs =
            crate::hdr::write_all(&self.inputs.ingested, &self.inputs.out.join("histograms"))?;
        self.exports.push((
            "histograms/".to_owned(),
            format!("{} HdrHistogram interval logs, one per group", logs.len()),
        ));
        Ok(())
    }

    /// The latency CDFs, the percentiles of the main scenarios and of the others, and the
    /// cold-start breakdown.
    fn latency_charts(&mut self) -> Result<(), ReportError> {
        use crate::family::Family;
        let (s, f) = (&self.summary, &self.families);
        let cdf = plot::cdf::from_groups(&self.inputs.ingested, s, f);
        let main = plot::percentiles::from_summary(
            s,
            f,
            &[Family::Main],
            plot::percentiles::Percentiles::APPROACHES,
        );
        let others = plot::percentiles::from_summary(
            s,
            f,
            &[Family::Variant, Family::Idle, Family::Faults],
            plot::percentiles::Percentiles::OTHERS,
        );
        let cold = plot::cold_start::from_summary(s, &self.labels, &self.manifests, f);
        self.draw(&cdf)?;
        self.draw(&main)?;
        if !others.warm.is_empty() || !others.cold.is_empty() {
            self.draw(&others)?;
        }
        self.draw(&cold)
    }

    /// The cost model at the workload and its sweep (exports and charts), when a workload is
    /// given.
    fn cost(&mut self) -> Result<(), ReportError> {
        let Some((priced, slo)) = &self.inputs.cost else {
            return Ok(());
        };
        let r = priced.report(slo);
        let sweep = priced.report_sweep()?;
        self.export(
            "cost.json",
            serde_json::to_string_pretty(&r).unwrap_or_default(),
            "the cost model at the workload (schema analyzer/schema/cost.schema.json)",
        )?;
        self.export(
            "cost-sweep.json",
            serde_json::to_string_pretty(&sweep).unwrap_or_default(),
            "cost curves and break-even points (schema analyzer/schema/cost-sweep.schema.json)",
        )?;
        self.draw(&plot::cost_curve::CostCurve {
            sweep,
            workload_invocations: priced.workload.invocations_per_month,
        })?;
        self.draw(&plot::cost_breakdown::CostBreakdown { report: r.clone() })?;
        self.cost_report = Some(r);
        Ok(())
    }

    /// Errors and throttles per series.
    fn errors(&mut self) -> Result<(), ReportError> {
        let chart = plot::errors::from_summary(&self.summary, &self.labels, &self.families);
        self.draw(&chart)
    }

    /// The decision per memory size, and the memory chart when the runs swept memory.
    fn decision_and_memory(&mut self) -> Result<(), ReportError> {
        let (s, f, cost) = (&self.summary, &self.families, self.inputs.cost.as_ref());
        let sizes = crate::family::sizes(s, f, cost.map(|(p, _)| p.workload.memory_mb));
        let by_size = decision::cost_by_size(s, f, cost, &sizes);
        self.decision = Some(decision::build_all(s, f, cost, &by_size));
        self.by_memory = memory::rows(s, f, &by_size);
        if !self.by_memory.is_empty() {
            let chart = plot::memory::MemoryChart {
                rows: self.by_memory.clone(),
            };
            self.draw(&chart)?;
        }
        Ok(())
    }

    /// Several secrets per fetch, measured and priced, when the runs read several.
    fn several_secrets(&mut self) -> Result<(), ReportError> {
        self.many = many::rows(&self.summary);
        if self.many.is_empty() {
            return Ok(());
        }
        let cost = match &self.inputs.cost {
            Some((priced, _)) => {
                crate::cost::many::against_n(&priced.workload, &priced.pricing, &priced.round_times)
            }
            None => Vec::new(),
        };
        let chart = plot::many::ManyChart {
            rows: self.many.clone(),
            cost,
        };
        self.draw(&chart)
    }

    /// Staleness after each rotation (its export and chart), when the runs rotated values.
    fn staleness(&mut self) -> Result<(), ReportError> {
        if self.summary.staleness.is_empty() {
            return Ok(());
        }
        let rows = self.summary.staleness.clone();
        self.export(
            "staleness.json",
            serde_json::to_string_pretty(&rows).unwrap_or_default(),
            "per rotation: each environment's time to the new value, and the stale invocations",
        )?;
        self.draw(&plot::staleness::StalenessChart { rows })
    }

    /// Base vs new: the --compare run against these, or, with runs of exactly two stages and
    /// no --compare, the first stage against the second.
    fn comparison(&mut self) -> Result<(), ReportError> {
        let ingested = &self.inputs.ingested;
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
        let pair: Option<(Ingested, Ingested, String, String)> = match &self.inputs.base {
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
        let Some((base, new, base_name, new_name)) = pair else {
            return Ok(());
        };
        self.comparisons = crate::compare::compare(
            &base,
            &new,
            self.inputs.noise_threshold,
            crate::stats::DEFAULT_SEED,
        );
        let rows = self
            .comparisons
            .iter()
            .filter(|c| c.metric == Metric::FetchLatency)
            .map(|c| {
                let group = self
                    .summary
                    .groups
                    .iter()
                    .find(|g| g.key.scenario == c.scenario);
                plot::compare::Row {
                    label: format!("{} {}", c.scenario, c.phase.as_str()),
                    approach: group.and_then(|g| Approach::of(&g.key)),
                    ratio: c.p50.ratio,
                    ci: c.p50.ci,
                    verdict: c.p50.verdict,
                    tags: tags_of_scenario(&self.summary, &self.families, &c.scenario),
                }
            })
            .collect::<Vec<_>>();
        // No chart of nothing: the section says no group is in both.
        if !rows.is_empty() {
            self.draw(&plot::compare::Compare {
                base: base_name.clone(),
                new: new_name,
                rows,
                threshold: self.inputs.noise_threshold,
            })?;
        }
        self.compared_with = Some(base_name);
        Ok(())
    }

    /// The cold-start section, the cost explorer, and the page and the Markdown from it all.
    fn finish(self) -> Result<ReportFiles, ReportError> {
        let out = &self.inputs.out;
        let connections = memory::connection_rows(&self.summary);
        let cold = cold::section(
            &cold::stories(&self.summary, &self.manifests),
            cold::init_note(&self.manifests).as_deref(),
            self.inputs.cost.as_ref().map(|(p, _)| p),
        );
        let explorer = self
            .inputs
            .cost
            .as_ref()
            .map(|(priced, slo)| explorer::grid(&self.summary, &self.families, priced, slo));
        let data = ReportData {
            explorer,
            decision: self.decision.unwrap_or_default(),
            families: self.families,
            cold,
            many: self.many,
            staleness: self.summary.staleness.clone(),
            by_memory: self.by_memory,
            connections,
            local_emulator: self.summary.local_emulator,
            summary: self.summary,
            manifests: self.manifests,
            cost: self.cost_report,
            compared_with: self.compared_with,
            comparisons: self.comparisons,
            exports: self.exports,
        };
        let html = out.join("report.html");
        write_file(html.clone(), html::render(&data, &self.plots, out))?;
        let markdown = out.join("report.md");
        write_file(markdown.clone(), markdown::render(&data, &self.plots, out))?;
        Ok(ReportFiles {
            html,
            markdown,
            plots: self.plots,
            decision_text: decision::text(&data.decision),
        })
    }
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
