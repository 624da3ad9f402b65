//! HdrHistogram files: one interval log per group (`<stage>__<scenario>__<phase>.hlog`), each
//! metric a tagged histogram in HdrHistogram's compressed V2 encoding, so HistogramLogAnalyzer
//! and other HdrHistogram tools read them. Values are nanoseconds.

use crate::group::{GroupKey, Metric};
use crate::ingest::Ingested;
use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};
use hdrhistogram::serialization::V2DeflateSerializer;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Writing a histogram file failed.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct HdrError {
    /// The file.
    pub path: PathBuf,
    /// What failed.
    pub message: String,
}

fn safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The file name of a group's log.
pub fn file_name(key: &GroupKey) -> String {
    format!(
        "{}__{}__{}.hlog",
        safe(&key.stage),
        safe(&key.scenario),
        safe(key.phase.as_str())
    )
}

/// Writes one log per group into `dir`; returns the files written.
pub fn write_all(ingested: &Ingested, dir: &Path) -> Result<Vec<PathBuf>, HdrError> {
    std::fs::create_dir_all(dir).map_err(|e| HdrError {
        path: dir.to_owned(),
        message: e.to_string(),
    })?;
    let mut written = Vec::new();
    for (key, group) in &ingested.groups {
        let path = dir.join(file_name(key));
        let err = |message: String| HdrError {
            path: path.clone(),
            message,
        };
        let mut text = Vec::new();
        let mut serializer = V2DeflateSerializer::new();
        {
            let mut builder = IntervalLogWriterBuilder::new();
            builder
                .add_comment(&format!(
                    "secbench {}: stage {}, scenario {}, phase {}",
                    env!("CARGO_PKG_VERSION"),
                    key.stage,
                    key.scenario,
                    key.phase
                ))
                .add_comment("values in nanoseconds; one tagged histogram per metric")
                .with_start_time(SystemTime::now())
                .with_max_value_divisor(1e6);
            let mut log = builder
                .begin_log_with(&mut text, &mut serializer)
                .map_err(|e| err(e.to_string()))?;
            for metric in Metric::ALL {
                if let Some(h) = group.histogram(metric) {
                    let tag = Tag::new(metric.name())
                        .ok_or_else(|| err(format!("bad tag {}", metric.name())))?;
                    log.write_histogram(h, Duration::ZERO, Duration::from_secs(1), Some(tag))
                        .map_err(|e| err(format!("{e}")))?;
                }
            }
        }
        std::fs::write(&path, &text).map_err(|e| err(e.to_string()))?;
        written.push(path);
    }
    Ok(written)
}
