//! `secbench pull s3://BUCKET/runs/STAGE/RUN`: a run inside AWS brought into the usual run
//! directory (`OUT/STAGE/RUN/`): its manifest, its slices' records concatenated in the plan's
//! order into `records.jsonl` (each slice's object is already in that format), and their
//! rotations. A run whose execution never finished (stopped, or failed before its finish
//! step) still says `running` in S3: its status and accounting are worked out here from the
//! slices recorded, as finish would have (`partial` with the `--resume` command).

use super::driver::ending;
use super::store::Store;
use super::{InAwsError, RunInput, RunRef};
use secbench_record::run::{Manifest, RunStatus};
use secbench_record::run_dir::{RunDir, RECORDS_FILE};
use std::path::{Path, PathBuf};

/// What a pull brought.
#[derive(Debug, Clone)]
pub struct Pulled {
    /// The run directory.
    pub dir: PathBuf,
    /// The run's manifest, as written there.
    pub manifest: Manifest,
    /// Slices recorded, of the plan's.
    pub slices: (usize, usize),
    /// The run's input.
    pub input: RunInput,
    /// The recorded slices' summaries.
    pub summaries: Vec<super::SliceSummary>,
}

/// Pulls `run` into `out/STAGE/RUN/` (replacing an earlier pull of it).
pub async fn pull(store: &Store, run: &RunRef, out: &Path) -> Result<Pulled, InAwsError> {
    let missing = |key: String| InAwsError::Format {
        what: format!("s3://{}/{key}", run.bucket),
        message: "no such object: is this a run inside AWS?".into(),
    };
    let mut manifest = store
        .get_json::<Manifest>(&run.manifest_key())
        .await?
        .ok_or_else(|| missing(run.manifest_key()))?;
    let input = store
        .get_json::<RunInput>(&run.input_key())
        .await?
        .ok_or_else(|| missing(run.input_key()))?;
    let dir = out.join(&run.stage).join(&run.run_id);
    std::fs::create_dir_all(&dir).map_err(|source| InAwsError::Io {
        path: dir.clone(),
        source,
    })?;
    let (mut records, mut rotations) = (Vec::new(), Vec::new());
    let ids = input.slice_ids();
    let mut summaries = Vec::new();
    for id in &ids {
        // A slice counts once its summary is there (written after its records).
        let Some(summary) = store.get_json(&run.summary_key(id)).await? else {
            continue;
        };
        summaries.push(summary);
        let body = store
            .get(&run.records_key(id))
            .await?
            .ok_or_else(|| missing(run.records_key(id)))?;
        records.extend_from_slice(&body);
        if let Some(r) = store.get(&run.rotations_key(id)).await? {
            rotations.extend_from_slice(&r);
        }
    }
    let write = |name: &str, bytes: &[u8]| -> Result<(), InAwsError> {
        let path = dir.join(name);
        let tmp = dir.join(format!(".{name}.tmp"));
        std::fs::write(&tmp, bytes)
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|source| InAwsError::Io { path, source })
    };
    write(RECORDS_FILE, &records)?;
    if !rotations.is_empty() {
        write(secbench_record::rotation::ROTATIONS_FILE, &rotations)?;
    }
    if manifest.status == RunStatus::Running {
        let (accounting, status, message) = ending(store, run, &input).await?;
        manifest.accounting = accounting;
        manifest.status = status;
        manifest.status_message = Some(format!(
            "the execution did not finish; {}",
            message.unwrap_or_else(|| "every slice was recorded".into())
        ));
    }
    RunDir::open(dir.clone())?.write_manifest(&manifest)?;
    Ok(Pulled {
        dir,
        manifest,
        slices: (summaries.len(), ids.len()),
        input,
        summaries,
    })
}
