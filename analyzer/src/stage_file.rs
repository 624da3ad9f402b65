//! Stage files (`.secbench/stages/<stage>.toml`), written by the deploy script, so that
//! `secbench run --stage dev` finds its function and region without retyping them.

use serde::Deserialize;
use std::path::{Path, PathBuf};

/// A deployed stage.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageFile {
    /// The probe function's name.
    pub function: String,
    /// Its region.
    pub region: String,
    /// The Parameters and Secrets extension layer ARN for that region and architecture.
    pub extension_layer_arn: Option<String>,
}

/// A stage file that exists but does not read.
#[derive(Debug, thiserror::Error)]
#[error("stage file {path}: {message}")]
pub struct StageFileError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong.
    pub message: String,
}

/// Where the stage file of `stage` lives under `root`.
pub fn path(root: &Path, stage: &str) -> PathBuf {
    root.join(".secbench")
        .join("stages")
        .join(format!("{stage}.toml"))
}

/// Reads the stage file of `stage`, if there is one.
pub fn load(root: &Path, stage: &str) -> Result<Option<StageFile>, StageFileError> {
    let path = path(root, stage);
    match std::fs::read_to_string(&path) {
        Ok(text) => toml::from_str(&text).map(Some).map_err(|e| StageFileError {
            path,
            message: e.to_string(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StageFileError {
            path,
            message: e.to_string(),
        }),
    }
}
