//! What a run on AWS says about AWS, for the local stage to take over (`secbench local
//! --service-time-from RUN`): each API operation's call latencies as the probe measured them
//! on AWS (a warm fetch that made exactly one call of that operation, or a call record of a
//! several-secrets fetch), and, from its `cpu-calibration` scenarios, how long the fixed CPU
//! workload took at each memory size and at INIT. The local stage's front then delays each
//! request of an operation so that it takes a latency drawn from that operation's
//! distribution, and its quotas are set so that the workload takes what it took on AWS.

use crate::ingest::parse;
use secbench_record::faults::Service;
use secbench_record::run::Phase;
use secbench_record::run_dir::{self, Chunks};
use secbench_record::{FetchPhase, Outcome};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The most latencies kept per operation (a uniform sample of a run's calls is enough).
pub const MAX_SAMPLES: usize = 50_000;

/// Why a run cannot calibrate the local stage.
#[derive(Debug, thiserror::Error)]
pub enum CalibrationError {
    /// The run does not read.
    #[error(transparent)]
    Manifest(#[from] secbench_record::run_dir::RunDirError),
    /// Its records do not read.
    #[error("{}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A line is not a record.
    #[error("{}:{line}: {error}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The line.
        line: u64,
        /// What is wrong, naming the field.
        error: crate::ingest::RecordError,
    },
    /// The run is the local emulator's: calibrating from it would measure moto.
    #[error("{} is a local-stage run: calibrate from a run on AWS", path.display())]
    Local {
        /// The run.
        path: PathBuf,
    },
    /// Nothing in it can calibrate: no warm single-call fetch and no cpu-calibration scenario.
    #[error("{}: no warm fetch made exactly one API call, and no cpu-calibration scenario ran: nothing to calibrate from", path.display())]
    Empty {
        /// The run.
        path: PathBuf,
    },
}

/// The fixed CPU workload's wall time on AWS at one memory size.
#[derive(Debug, Clone, PartialEq)]
pub struct CpuAt {
    /// The memory size.
    pub memory_mb: u32,
    /// The workload's rounds.
    pub rounds: u32,
    /// Median wall time in the handler, ns.
    pub handler_wall_ns: u64,
    /// Median wall time at INIT (on-demand environments), ns.
    pub init_wall_ns: Option<u64>,
}

/// What a run on AWS measured.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AwsCalibration {
    /// The run's id.
    pub run_id: String,
    /// The run's directory.
    pub dir: PathBuf,
    /// Per operation, by the `X-Amz-Target` that names it (`AmazonSSM.GetParameter`): call
    /// latencies in ns, sorted, as measured on AWS at the largest memory size that measured it
    /// (where the client's own time is least).
    pub service_ns: BTreeMap<String, Vec<u64>>,
    /// The workload per memory size.
    pub cpu: Vec<CpuAt>,
}

fn median(v: &mut [u64]) -> Option<u64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    Some(v[v.len() / 2])
}

impl AwsCalibration {
    /// Reads a run directory on AWS.
    pub fn read(dir: &Path) -> Result<AwsCalibration, CalibrationError> {
        let manifest = run_dir::read_manifest(dir)?;
        if manifest.local_emulator {
            return Err(CalibrationError::Local {
                path: dir.to_owned(),
            });
        }
        let (_, file) = run_dir::locate(dir);
        let io = |source| CalibrationError::Io {
            path: file.clone(),
            source,
        };
        // Per operation and memory size, the latencies; per memory size, the workload's.
        let mut by_op: BTreeMap<(String, u32), Vec<u64>> = BTreeMap::new();
        let mut handler: BTreeMap<u32, (u32, Vec<u64>)> = BTreeMap::new();
        let mut init: BTreeMap<u32, Vec<u64>> = BTreeMap::new();
        let mut chunks = Chunks::new(std::fs::File::open(&file).map_err(io)?);
        let mut buf = Vec::new();
        while let Some(chunk) = chunks.next_into(buf).map_err(io)? {
            for line in run_dir::lines(&chunk) {
                if !line.terminated {
                    continue;
                }
                let r = parse(line.text).map_err(|error| CalibrationError::Invalid {
                    path: file.clone(),
                    line: line.number,
                    error,
                })?;
                let Some(p) = r.probe else { continue };
                let memory = p.memory_mb.unwrap_or(0);
                if let Some(w) = p.cpu_work {
                    let e = handler.entry(memory).or_insert((w.rounds, Vec::new()));
                    e.1.push(w.wall_ns);
                }
                if let Some(w) = p.init.as_ref().and_then(|i| i.cpu_work) {
                    if p.initialization_type
                        != Some(secbench_record::InitializationType::ProvisionedConcurrency)
                    {
                        init.entry(memory).or_default().push(w.wall_ns);
                    }
                }
                if r.phase != Phase::Warm || p.cold {
                    continue;
                }
                for f in &p.fetches {
                    if f.phase != FetchPhase::Handler
                        || !matches!(f.outcome, Outcome::Miss | Outcome::Refresh)
                    {
                        continue;
                    }
                    let calls: u32 = f.api_calls.iter().map(|c| c.count).sum();
                    if calls == 1 && f.calls.is_empty() {
                        let op = &f.api_calls[0].operation;
                        if let Some(service) = Service::of_operation(op) {
                            by_op
                                .entry((service.target(op), memory))
                                .or_default()
                                .push(f.latency_ns);
                        }
                    }
                    // The calls of a several-secrets fetch each have their own latency.
                    for c in f.calls.iter().filter(|c| c.error_class.is_none()) {
                        if let Some(service) = Service::of_operation(&c.operation) {
                            by_op
                                .entry((service.target(&c.operation), memory))
                                .or_default()
                                .push(c.latency_ns);
                        }
                    }
                }
            }
            buf = chunk.bytes;
        }
        let mut service_ns: BTreeMap<String, Vec<u64>> = BTreeMap::new();
        // BTreeMap order: for each operation, the largest memory size comes last and wins.
        for ((op, _), mut v) in by_op {
            v.sort_unstable();
            if v.len() > MAX_SAMPLES {
                let step = v.len() as f64 / MAX_SAMPLES as f64;
                v = (0..MAX_SAMPLES)
                    .map(|i| v[(i as f64 * step) as usize])
                    .collect();
            }
            service_ns.insert(op, v);
        }
        let cpu: Vec<CpuAt> = handler
            .into_iter()
            .filter_map(|(memory_mb, (rounds, mut walls))| {
                Some(CpuAt {
                    memory_mb,
                    rounds,
                    handler_wall_ns: median(&mut walls)?,
                    init_wall_ns: init.get_mut(&memory_mb).and_then(|v| median(v)),
                })
            })
            .collect();
        if service_ns.is_empty() && cpu.is_empty() {
            return Err(CalibrationError::Empty {
                path: dir.to_owned(),
            });
        }
        Ok(AwsCalibration {
            run_id: manifest.run_id,
            dir: dir.to_owned(),
            service_ns,
            cpu,
        })
    }

    /// The median latency of an operation (its `X-Amz-Target`), ns.
    pub fn median_ns(&self, target: &str) -> Option<u64> {
        let v = self.service_ns.get(target)?;
        v.get(v.len() / 2).copied()
    }
}
