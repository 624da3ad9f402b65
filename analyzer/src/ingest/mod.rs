//! Streams `records.jsonl` of one or more runs into per-group HdrHistograms (3 significant
//! digits, nanoseconds) and counters. Memory grows with the number of groups, not records: a
//! record is read, folded into its group and dropped. Reads only: never writes into a run.
//! [`lite`] is the borrowed view of a record and the strict parser beside it (`scan` the
//! reader made for the record's layout that fills the view), [`fold`]
//! folds records into groups (and, for rotating scenarios, observations), [`parallel`] reads a
//! file on every core and merges what the workers folded.

pub mod fold;
pub mod ingested;
pub mod lite;
pub mod parallel;
mod read;
mod scan;

use std::path::PathBuf;

pub use fold::{fold_bytes, FoldError};
pub use ingested::{IngestError, Ingested, InputReport, Observation, RunInfo, RunRotations};
pub use lite::{parse, RecordError};
pub use read::readers_agree;

/// Reads several runs into one set of groups. What was skipped or cut off is in
/// [`Ingested::input`], for the caller to tell.
pub fn read_runs(runs: &[PathBuf], skip_invalid: bool) -> Result<Ingested, IngestError> {
    let mut ingested = Ingested::default();
    for run in runs {
        ingested.read(run, skip_invalid)?;
    }
    Ok(ingested)
}

#[cfg(test)]
mod tests;
