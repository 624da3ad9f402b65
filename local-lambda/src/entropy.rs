//! The crypto library's one-time entropy cost in an environment's CPU quota: the probe binary
//! run with `secbench_record::probe_config::MEASURE_ENTROPY_ARG` (it draws its first randomness through aws-lc and
//! prints what that cost) in a cgroup of its own at a memory size's CPU share, a few times
//! (each a new process: the cost is once per process). The local stage measures it at the
//! start of a run, per memory size and probe build, so the report can say what part of a cold
//! fetch it is.

use crate::measure::{self, MeasureError};
use secbench_record::probe_config::MEASURE_ENTROPY_ARG;
use secbench_record::run::EntropyMeasurement;
use secbench_record::ProbeBuild;
use std::path::Path;

pub use crate::measure::Allowance;

/// Processes per measurement.
pub const REPEATS: usize = 3;

/// What one process printed.
#[derive(Debug, serde::Deserialize)]
struct Printed {
    wall_ns: u64,
    cpu_ns: u64,
    probe_build: ProbeBuild,
    sysgenid: bool,
}

/// Measures `probe`'s first randomness [`REPEATS`] times, each in a new process under `at`.
pub async fn measure(probe: &Path, at: Allowance<'_>) -> Result<EntropyMeasurement, MeasureError> {
    let mut wall_ns = Vec::new();
    let mut cpu_ns = Vec::new();
    let mut last = None;
    let mut share_millis = None;
    for _ in 0..REPEATS {
        let out = measure::run(probe, MEASURE_ENTROPY_ARG, &[], at).await?;
        share_millis = out.share_millis;
        let printed: Printed = measure::parse(probe, MEASURE_ENTROPY_ARG, &out.lines[0])?;
        wall_ns.push(printed.wall_ns);
        cpu_ns.push(printed.cpu_ns);
        last = Some(printed);
    }
    let last = last.ok_or_else(|| MeasureError::Output {
        probe: probe.to_owned(),
        arg: MEASURE_ENTROPY_ARG,
        output: String::new(),
    })?;
    Ok(EntropyMeasurement {
        memory_mb: at.memory_mb,
        cpu_share_millis: share_millis,
        at_init: at.at_init,
        probe_build: last.probe_build,
        wall_ns,
        cpu_ns,
        sysgenid: last.sysgenid,
    })
}
