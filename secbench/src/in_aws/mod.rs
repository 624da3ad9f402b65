//! A plan run inside AWS (`secbench run --in-aws`, feature `in-aws`): a Step Functions state
//! machine (`scripts/statemachine/run.asl.json`) prepares the run, runs each scenario's slices
//! ([`crate::run::slice`]) on driver functions (`secbench-driver`, the runner's own code in a
//! Lambda function in the probe's region) and finishes it; every slice writes its records to
//! S3 as one object in exactly the `records.jsonl` format, and `secbench pull` brings a run
//! into the usual run directory.
//!
//! The layout under the results bucket, for run `R` of stage `S`:
//!
//! ```text
//! runs/S/R/input.json              the run's input (plan, stage), frozen for the run
//! runs/S/R/manifest.json           the manifest: `running` from prepare, its end from finish
//! runs/S/R/slices/ID.jsonl         a slice's records (written once, when it has run)
//! runs/S/R/slices/ID.json          its summary (accounting, qualifier), written after them
//! runs/S/R/slices/ID.rotations.jsonl  a whole slice's rotations, when it rotated
//! ```

pub mod cost;
pub mod driver;
pub mod execution;
pub mod pull;
pub mod store;

use crate::plan::{Plan, PlanFile, ResolvedPlan};
use crate::stage_file::StageFile;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Why a run inside AWS could not be started, driven, pulled or finished.
#[derive(Debug, thiserror::Error)]
pub enum InAwsError {
    /// An S3 call failed.
    #[error("s3://{bucket}/{key}: {message}")]
    S3 {
        /// The bucket.
        bucket: String,
        /// The key (or prefix).
        key: String,
        /// The service's answer.
        message: String,
    },
    /// A Step Functions call failed.
    #[error("Step Functions {operation}: {message}")]
    StepFunctions {
        /// The operation.
        operation: &'static str,
        /// The service's answer.
        message: String,
    },
    /// An object or input does not read.
    #[error("{what}: {message}")]
    Format {
        /// The object or input.
        what: String,
        /// Why.
        message: String,
    },
    /// Not an `s3://bucket/runs/STAGE/RUN` URL.
    #[error("{0} is not a run's S3 URL (s3://BUCKET/runs/STAGE/RUN_ID)")]
    NotARunUrl(String),
    /// The runner's own error (a slice, the manifest, the function).
    #[error(transparent)]
    Run(#[from] crate::run::RunError),
    /// A run directory could not be written.
    #[error(transparent)]
    RunDir(#[from] secbench_record::run_dir::RunDirError),
    /// The stage file in the input does not read.
    #[error(transparent)]
    Stage(#[from] crate::stage_file::StageFileError),
    /// A local file.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// What an execution runs: the plan resolved the way `secbench run` resolves it (functions
/// assigned per runtime from the stage file) and where. Written by the CLI, read by the driver;
/// a schedule's stored input is one of these.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunInput {
    /// The plan as written (for the manifest).
    pub plan: PlanFile,
    /// Every scenario resolved.
    pub resolved: ResolvedPlan,
    /// The stage.
    pub stage: String,
    /// Its region.
    pub region: String,
    /// The function of the plan's Rust scenarios.
    pub function: String,
    /// The extension layer, for scenarios that attach it.
    #[serde(default)]
    pub extension_layer_arn: Option<String>,
    /// The stage file (its secrets for `--many`, its capacity provider, its rotated resources).
    #[serde(default)]
    pub stage_file: Option<StageFile>,
    /// The stage's secret, parameter and key, when a scenario rotates.
    #[serde(default)]
    pub rotation: Option<crate::run::rotate::Resources>,
    /// Warm slices per sliceable scenario (absent: as many as keep each within the budget).
    #[serde(default)]
    pub warm_slices: Option<u32>,
    /// The local stage (the end-to-end test): a Lambda API that is not AWS's.
    #[serde(default)]
    pub local_emulator: bool,
}

impl RunInput {
    /// The plan it runs.
    pub fn plan(&self) -> Plan {
        Plan::from_parts(
            Path::new("input.json"),
            self.plan.clone(),
            self.resolved.clone(),
        )
    }

    /// Its slices, the same for the CLI, prepare and finish.
    pub fn slices(&self) -> Vec<crate::run::slice::ScenarioSlices> {
        crate::run::slice::slices(&self.plan(), self.warm_slices)
    }

    /// The ids of its slices in the plan's order (each scenario's lead, then its warm slices).
    pub fn slice_ids(&self) -> Vec<String> {
        self.slices()
            .iter()
            .flat_map(|s| std::iter::once(&s.lead).chain(&s.warm))
            .map(|s| s.id.clone())
            .collect()
    }
}

/// Where a run's objects are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunRef {
    /// The results bucket.
    pub bucket: String,
    /// The stage.
    pub stage: String,
    /// The run id.
    pub run_id: String,
}

impl RunRef {
    /// `runs/STAGE/RUN/`.
    pub fn prefix(&self) -> String {
        format!("runs/{}/{}/", self.stage, self.run_id)
    }

    /// The run's frozen input.
    pub fn input_key(&self) -> String {
        format!("{}input.json", self.prefix())
    }

    /// The manifest.
    pub fn manifest_key(&self) -> String {
        format!(
            "{}{}",
            self.prefix(),
            secbench_record::run_dir::MANIFEST_FILE
        )
    }

    /// Where the slices' objects are.
    pub fn slices_prefix(&self) -> String {
        format!("{}slices/", self.prefix())
    }

    /// A slice's records.
    pub fn records_key(&self, slice: &str) -> String {
        format!("{}{slice}.jsonl", self.slices_prefix())
    }

    /// A slice's summary.
    pub fn summary_key(&self, slice: &str) -> String {
        format!("{}{slice}.json", self.slices_prefix())
    }

    /// A whole slice's rotations.
    pub fn rotations_key(&self, slice: &str) -> String {
        format!("{}{slice}.rotations.jsonl", self.slices_prefix())
    }

    /// `s3://BUCKET/runs/STAGE/RUN`.
    pub fn url(&self) -> String {
        format!("s3://{}/runs/{}/{}", self.bucket, self.stage, self.run_id)
    }

    /// Reads `s3://BUCKET/runs/STAGE/RUN` (a trailing `/` allowed).
    pub fn parse(url: &str) -> Result<RunRef, InAwsError> {
        let bad = || InAwsError::NotARunUrl(url.to_owned());
        let rest = url.strip_prefix("s3://").ok_or_else(bad)?;
        let parts: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
        match parts.as_slice() {
            [bucket, "runs", stage, run_id] if !bucket.is_empty() => {
                secbench_record::names::check("stage", stage).map_err(|_| bad())?;
                secbench_record::names::check("run id", run_id).map_err(|_| bad())?;
                Ok(RunRef {
                    bucket: (*bucket).to_owned(),
                    stage: (*stage).to_owned(),
                    run_id: (*run_id).to_owned(),
                })
            }
            _ => Err(bad()),
        }
    }
}

/// A slice's summary object: what it sent and what the warm slices after it invoke.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SliceSummary {
    /// The slice.
    pub slice: crate::run::slice::Slice,
    /// Its invocations by outcome.
    pub accounting: secbench_record::run::Accounting,
    /// What it invoked (a lead's qualifier is its warm slices').
    pub qualifier: Option<String>,
    /// Why it stopped before sending all it planned, if it did.
    pub stopped: Option<String>,
    /// Its wall time on the driver, seconds (what its invocation is billed for, about).
    #[serde(default)]
    pub seconds: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_url_reads_back_and_a_wrong_one_is_named() {
        let r = RunRef::parse("s3://results-bucket/runs/dev/20261207-041900-ab12/").expect("url");
        assert_eq!(r.url(), "s3://results-bucket/runs/dev/20261207-041900-ab12");
        assert_eq!(
            r.records_key("000-a-lead"),
            "runs/dev/20261207-041900-ab12/slices/000-a-lead.jsonl"
        );
        for bad in [
            "s3://b/dev/r",
            "https://b/runs/dev/r",
            "s3://b/runs/../r",
            "s3:///runs/dev/r",
        ] {
            let e = RunRef::parse(bad).expect_err(bad).to_string();
            assert!(e.contains(bad), "{e}");
        }
    }
}
