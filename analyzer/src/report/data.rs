//! What the page and the Markdown are rendered from ([`ReportData`]), and how they link to the
//! files beside them ([`relative`]).

use super::{decision, explorer};
use crate::cost::CostReport;
use crate::summary::Summary;
use crate::view::{many, memory};
use secbench_record::run::Manifest;
use std::path::Path;

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
    /// The decision tables and sentences.
    pub decision: decision::Decision,
    /// Each scenario's part of the report.
    pub families: crate::family::Families,
    /// The cost explorer's grid, when a workload is given.
    pub explorer: Option<explorer::Grid>,
}

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
