//! A run inside AWS as AWS bills it ([`secbench_analyzer::cost::in_aws::RunShape`]): counted
//! from its input (the state machine's states per scenario and slice) and its slices'
//! summaries (the driver's time), with the S3 requests the driver, `follow` and `pull` make.

use super::{RunInput, SliceSummary};
use secbench_analyzer::cost::in_aws::RunShape;

/// The driver's memory, GB (`scripts/template.yaml`'s `DriverFunction` `MemorySize: 1024`,
/// which `scripts/check_template.py` checks).
pub const DRIVER_MEMORY_GB: f64 = 1.0;

/// The shape of a run of `input` whose recorded slices are `summaries`, with `records_bytes`
/// kept in the bucket and `polls` rounds of `follow` (one LIST and a GET per new summary
/// each). Retried tasks add a transition, a driver invocation and its time each; they are not
/// counted here (the execution's history has them), nor prepare's and finish's time (under a
/// second each).
pub fn shape(
    input: &RunInput,
    summaries: &[SliceSummary],
    records_bytes: u64,
    polls: u64,
) -> RunShape {
    let all = input.slices();
    let scenarios = all.len() as u64;
    let warm: u64 = all.iter().map(|s| s.warm.len() as u64).sum();
    let recorded = summaries.len() as u64;
    let rotations = summaries
        .iter()
        .filter(|s| s.slice.kind == crate::run::slice::SliceKind::Whole)
        .count() as u64;
    RunShape {
        // Prepare, the scenarios' Map, finish; per scenario its lead and its warm Map; per
        // warm slice its task.
        state_transitions: 3 + 2 * scenarios + warm,
        driver_invocations: 2 + recorded,
        driver_gb_seconds: summaries.iter().map(|s| s.seconds).sum::<f64>() * DRIVER_MEMORY_GB,
        // The input and the manifest twice; each slice's records and summary (a whole slice's
        // rotations at most); prepare's LIST and follow's.
        s3_put_list_requests: 3 + 2 * recorded + rotations + 1 + polls,
        // Prepare (input, manifest), each slice (input), finish (input, manifest, summaries),
        // follow (each summary once), pull (manifest, input, each summary, records, rotations).
        s3_get_requests: 2 + recorded + (2 + recorded) + recorded + (2 + 2 * recorded + rotations),
        stored_gb: records_bytes as f64 / 1e9,
    }
}
