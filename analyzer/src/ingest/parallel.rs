//! Reads a run directory (or a `records.jsonl` file) on every core: the file is cut into
//! chunks at line ends, each worker folds chunks into its own groups, and the groups are
//! merged at the end (histograms add exactly). A last line without its newline (a run cut off
//! mid-write) is reported, not fatal.

use super::fold::{absorb, fold_chunk, Accum, BadLine};
use super::ingested::{IngestError, Ingested, RunInfo, RunRotations};
use super::read::parse_lite;
use secbench_record::run_dir::{self, Chunk, Chunks};
use secbench_record::sync::lock;
use std::fs::File;
use std::path::Path;

impl Ingested {
    /// Reads a run directory (or a `records.jsonl` file), on every core: the file is cut into
    /// chunks at line ends, each worker folds chunks into its own groups, and the groups are
    /// merged at the end (histograms add exactly).
    pub fn read(&mut self, path: &Path, skip_invalid: bool) -> Result<(), IngestError> {
        let (dir, file) = run_dir::locate(path);
        let manifest = run_dir::read_manifest_if_present(&dir)?;
        let rotations = secbench_record::rotation::read(&dir)?;
        let observe: std::sync::Arc<std::collections::HashSet<String>> =
            std::sync::Arc::new(rotations.iter().map(|r| r.scenario.clone()).collect());
        self.input.runs.push(RunInfo {
            dir: dir.display().to_string(),
            run_id: manifest.as_ref().map(|m| m.run_id.clone()),
            stage: manifest.as_ref().map(|m| m.stage.clone()),
            local_emulator: manifest.as_ref().map(|m| m.local_emulator),
            status: manifest.as_ref().map(|m| m.status),
            manifest,
        });
        let io = |source| IngestError::Io {
            path: file.clone(),
            source,
        };
        let mut chunks = Chunks::new(File::open(&file).map_err(io)?);
        let workers = std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .clamp(1, 8);
        let (tx, rx) = std::sync::mpsc::sync_channel::<Chunk>(workers * 2);
        let rx = std::sync::Mutex::new(rx);
        // Chunk buffers go back to the reader: a fixed set of them is allocated once, so memory
        // does not grow with the file (buffers freed on another thread would).
        let (free_tx, free_rx) = std::sync::mpsc::channel::<Vec<u8>>();
        let mut tail: Option<Chunk> = None;
        let results: Vec<(Accum, Option<BadLine>)> =
            std::thread::scope(|scope| -> Result<_, IngestError> {
                let handles: Vec<_> = (0..workers)
                    .map(|_| {
                        let free_tx = free_tx.clone();
                        let rx = &rx;
                        let observe = observe.clone();
                        scope.spawn(move || {
                            let mut acc = Accum::observing(observe);
                            let mut bad: Option<BadLine> = None;
                            loop {
                                let next = lock(rx).recv();
                                let Ok(chunk) = next else { break };
                                if bad.as_ref().is_none_or(|b| b.line > chunk.first_line) {
                                    if let Err(b) = fold_chunk(&mut acc, &chunk, skip_invalid) {
                                        if bad.as_ref().is_none_or(|old| b.line < old.line) {
                                            bad = Some(b);
                                        }
                                    }
                                }
                                let _ = free_tx.send(chunk.bytes);
                            }
                            (acc, bad)
                        })
                    })
                    .collect();
                drop(free_tx);
                loop {
                    let buf = free_rx
                        .try_recv()
                        .unwrap_or_else(|_| Vec::with_capacity(CHUNK_CAPACITY));
                    let Some(chunk) = chunks.next_into(buf).map_err(io)? else {
                        break;
                    };
                    if !chunk.terminated {
                        tail = Some(chunk);
                        break;
                    }
                    if tx.send(chunk).is_err() {
                        break;
                    }
                }
                drop(tx);
                Ok(handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or_else(|_| (Accum::default(), None)))
                    .collect())
            })?;
        let mut first_bad: Option<BadLine> = None;
        let mut merged = Accum::default();
        for (acc, bad) in results {
            if let Some(b) = bad {
                if first_bad.as_ref().is_none_or(|old| b.line < old.line) {
                    first_bad = Some(b);
                }
            }
            merged.records += acc.records;
            merged.skipped += acc.skipped;
            absorb(&mut self.groups, &mut merged.observations, acc);
        }
        if let Some(b) = first_bad {
            return Err(IngestError::Invalid {
                path: file.clone(),
                line: b.line,
                error: b.error,
            });
        }
        // A last line without its newline: a run cut off mid-write. Reported, not fatal.
        for line in tail.iter().flat_map(run_dir::lines) {
            match parse_lite(line.text) {
                Ok(r) => {
                    let mut acc = Accum::observing(observe.clone());
                    acc.add(&r);
                    merged.records += 1;
                    absorb(&mut self.groups, &mut merged.observations, acc);
                }
                Err(message) => self.input.truncated_lines.push(format!(
                    "{}:{}: {message}",
                    file.display(),
                    line.number
                )),
            }
        }
        super::fold::attach_unidentified(&mut self.groups);
        self.input.records += merged.records;
        self.input.skipped_lines += merged.skipped;
        if !rotations.is_empty() {
            // Workers took chunks in any order: put each scenario's invocations in time order.
            for obs in merged.observations.values_mut() {
                obs.sort_by(|a, b| a.sent_unix_ms.total_cmp(&b.sent_unix_ms));
            }
            let stage = self
                .input
                .runs
                .last()
                .and_then(|r| r.stage.clone())
                .unwrap_or_default();
            self.rotations.push(RunRotations {
                dir: dir.display().to_string(),
                stage,
                rotations,
                observations: merged.observations,
            });
        }
        Ok(())
    }
}

/// A chunk buffer's capacity: a chunk and the start of the line it cut.
const CHUNK_CAPACITY: usize = Chunks::<File>::CHUNK_BYTES + (64 << 10);
