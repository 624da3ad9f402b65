//! `secbench run --in-aws` and `secbench pull` (start or resume the stage's state machine,
//! follow it, pull the run when it ends). Built with the `in-aws` feature; without it each
//! says how to build it.

#[cfg(not(feature = "in-aws"))]
use crate::cli::PullArgs;
#[cfg(not(feature = "in-aws"))]
use anyhow::Result;
#[cfg(not(feature = "in-aws"))]
use std::path::Path;

/// What `run --in-aws` hands on: the plan and target resolved here, as `secbench run` resolves
/// them.
#[cfg_attr(not(feature = "in-aws"), allow(dead_code))]
pub(super) struct InAwsInput<'a> {
    pub(super) plan: &'a crate::plan::Plan,
    pub(super) target: &'a crate::run::Target,
    pub(super) stage_file: Option<crate::stage_file::StageFile>,
    pub(super) rotation: Option<crate::run::rotate::Resources>,
    pub(super) warm_slices: Option<u32>,
    pub(super) save_input: Option<String>,
}

#[cfg(not(feature = "in-aws"))]
const NOT_BUILT: &str = "this secbench was built without runs inside AWS: build it with `cargo run --release -p secbench --features in-aws -- ...` (docs/in-aws.md)";

/// `secbench pull URL`.
#[cfg(not(feature = "in-aws"))]
pub fn run(_: PullArgs) -> Result<i32> {
    anyhow::bail!(NOT_BUILT)
}

#[cfg(not(feature = "in-aws"))]
pub(super) fn run_in_aws(_: InAwsInput<'_>, _: &Path, _: Option<&str>) -> Result<i32> {
    anyhow::bail!(NOT_BUILT)
}

#[cfg(not(feature = "in-aws"))]
pub(super) fn resume_in_aws(_: &str, _: &Path, _: Option<&str>) -> Result<i32> {
    anyhow::bail!(NOT_BUILT)
}

#[cfg(feature = "in-aws")]
pub use with_feature::{resume_in_aws, run, run_in_aws};

/// The commands with the feature: `in_aws_commands.rs`.
#[cfg(feature = "in-aws")]
#[path = "in_aws_commands.rs"]
mod with_feature;
