//! The crypto library's one-time entropy cost in an environment's CPU quota: the probe binary
//! run with `secbench_record::probe_config::MEASURE_ENTROPY_ARG` (it draws its first randomness through aws-lc and
//! prints what that cost) in a cgroup of its own at a memory size's CPU share, a few times
//! (each a new process: the cost is once per process). The local stage measures it at the
//! start of a run, per memory size and probe build, so the report can say what part of a cold
//! fetch it is.

use crate::cgroup::{CgroupRoot, Limits};
use secbench_record::run::EntropyMeasurement;
use secbench_record::ProbeBuild;
use std::path::Path;
use std::time::Duration;

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

/// Why a measurement failed.
#[derive(Debug, thiserror::Error)]
pub enum EntropyError {
    /// The probe could not be started or its cgroup made.
    #[error("running {} --measure-entropy", probe.display())]
    Run {
        /// The probe binary.
        probe: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// It printed something else than its measurement.
    #[error("{} --measure-entropy printed no measurement: {output}", probe.display())]
    Output {
        /// The probe binary.
        probe: std::path::PathBuf,
        /// What it printed (never a secret: the process holds none).
        output: String,
    },
}

/// Where and how to measure: under the limits of `memory_mb` in a cgroup under `root` (none:
/// unconstrained), with `cpus` of a CPU (none: the memory share), marked `at_init` when that
/// is an on-demand INIT's allowance.
#[derive(Debug, Clone, Copy)]
pub struct Allowance<'a> {
    /// The sandbox's cgroups.
    pub root: Option<&'a CgroupRoot>,
    /// The memory size.
    pub memory_mb: u32,
    /// The CPUs, when not the memory share.
    pub cpus: Option<f64>,
    /// The quota period.
    pub cpu_period: Duration,
    /// Whether `cpus` is INIT's allowance.
    pub at_init: bool,
}

/// Measures `probe`'s first randomness [`REPEATS`] times, each in a new process under `at`.
pub async fn measure(probe: &Path, at: Allowance<'_>) -> Result<EntropyMeasurement, EntropyError> {
    let Allowance {
        root,
        memory_mb,
        cpus,
        cpu_period,
        at_init,
    } = at;
    let run_error = |source: std::io::Error| EntropyError::Run {
        probe: probe.to_owned(),
        source,
    };
    let mut wall_ns = Vec::new();
    let mut cpu_ns = Vec::new();
    let mut last = None;
    let mut share_millis = None;
    // Unique per measurement: several can run at once in one process (the tests).
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    for i in 0..REPEATS {
        let cgroup = match root {
            Some(r) => Some(
                r.create(
                    &format!(
                        "secbench-entropy-{}-{}-{memory_mb}-{}-{i}",
                        std::process::id(),
                        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
                        if at_init { "init" } else { "share" }
                    ),
                    &Limits {
                        memory_mb,
                        cpu_period,
                    },
                )
                .map_err(|e| run_error(std::io::Error::other(e)))?,
            ),
            None => None,
        };
        if let Some(cg) = &cgroup {
            let allowance = match cpus {
                Some(c) => cg
                    .set_cpus(c, cpu_period)
                    .map_err(|e| run_error(std::io::Error::other(e)))?,
                None => cg.cpu_allowance(),
            };
            share_millis = Some(allowance.share_millis());
        }
        let mut cmd = tokio::process::Command::new(probe);
        cmd.arg(secbench_record::probe_config::MEASURE_ENTROPY_ARG)
            .env_clear()
            .kill_on_drop(true);
        if let Some(cg) = &cgroup {
            cg.enter_on_spawn(&mut cmd);
        }
        let out = cmd.output().await.map_err(run_error)?;
        if let Some(cg) = cgroup {
            cg.remove(Duration::from_secs(2)).await;
        }
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let printed: Printed =
            serde_json::from_str(text.trim()).map_err(|_| EntropyError::Output {
                probe: probe.to_owned(),
                output: format!(
                    "{}{}",
                    text.trim(),
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
            })?;
        wall_ns.push(printed.wall_ns);
        cpu_ns.push(printed.cpu_ns);
        last = Some(printed);
    }
    let last = last.ok_or_else(|| EntropyError::Output {
        probe: probe.to_owned(),
        output: String::new(),
    })?;
    Ok(EntropyMeasurement {
        memory_mb,
        cpu_share_millis: share_millis,
        at_init,
        probe_build: last.probe_build,
        wall_ns,
        cpu_ns,
        sysgenid: last.sysgenid,
    })
}
