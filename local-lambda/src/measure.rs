//! The probe binary's measurement modes run as processes of their own, each in a cgroup of
//! its own under a memory size's limits and a CPU allowance (or unconstrained): the crypto
//! library's entropy cost ([`crate::entropy`]) and the calibration workload ([`cpu_work`]).

use crate::cgroup::{CgroupRoot, Limits};
use secbench_record::probe_config::{CpuWorkRequest, MEASURE_CPU_WORK_ARG};
use secbench_record::CpuWork;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Why a measurement failed.
#[derive(Debug, thiserror::Error)]
pub enum MeasureError {
    /// The probe could not be started or its cgroup made.
    #[error("running {} {arg}", probe.display())]
    Run {
        /// The probe binary.
        probe: PathBuf,
        /// The measurement argument.
        arg: &'static str,
        /// Why.
        source: std::io::Error,
    },
    /// It printed something else than its measurement.
    #[error("{} {arg} printed no measurement: {output}", probe.display())]
    Output {
        /// The probe binary.
        probe: PathBuf,
        /// The measurement argument.
        arg: &'static str,
        /// What it printed (never a secret: the process holds none).
        output: String,
    },
}

/// Where and how to measure: under the limits of `memory_mb` in a cgroup under `root` (none:
/// unconstrained), with `cpus` of a CPU (none: the memory share), marked `at_init` when that
/// is an on-demand INIT's allowance, seeing a VM generation counter when `sysgenid` is given.
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
    /// The VM generation counter the process sees ([`crate::sysgenid`]; none: not offered).
    pub sysgenid: Option<&'a crate::sysgenid::Sysgenid>,
}

/// What one process printed, line by line, and the CPU share it ran under (‰; none:
/// unconstrained).
pub(crate) struct Printed {
    pub lines: Vec<String>,
    pub share_millis: Option<u32>,
}

/// Runs `probe arg rest` once, in a cgroup of its own under `at` (removed afterwards).
pub(crate) async fn run(
    probe: &Path,
    arg: &'static str,
    rest: &[String],
    at: Allowance<'_>,
) -> Result<Printed, MeasureError> {
    let run_error = |source: std::io::Error| MeasureError::Run {
        probe: probe.to_owned(),
        arg,
        source,
    };
    // Unique per process: several measurements can run at once in one process (the tests).
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let cgroup = match at.root {
        Some(r) => Some(
            r.create(
                &format!(
                    "secbench-measure-{}-{}-{}",
                    std::process::id(),
                    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
                    at.memory_mb,
                ),
                &Limits {
                    memory_mb: at.memory_mb,
                    cpu_period: at.cpu_period,
                },
            )
            .map_err(|e| run_error(std::io::Error::other(e)))?,
        ),
        None => None,
    };
    let mut share_millis = None;
    if let Some(cg) = &cgroup {
        let allowance = match at.cpus {
            Some(c) => cg
                .set_cpus(c, at.cpu_period)
                .map_err(|e| run_error(std::io::Error::other(e)))?,
            None => cg.cpu_allowance(),
        };
        share_millis = Some(allowance.share_millis());
    }
    let mut cmd = tokio::process::Command::new(probe);
    cmd.arg(arg).args(rest).env_clear().kill_on_drop(true);
    if let Some(cg) = &cgroup {
        cg.enter_on_spawn(&mut cmd);
    }
    if let Some(s) = at.sysgenid {
        s.on_spawn(cmd.as_std_mut());
    }
    let out = cmd.output().await;
    if let Some(cg) = cgroup {
        cg.remove(Duration::from_secs(2)).await;
    }
    let out = out.map_err(run_error)?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let lines: Vec<String> = text.lines().map(str::to_owned).collect();
    if !out.status.success() || lines.is_empty() {
        return Err(MeasureError::Output {
            probe: probe.to_owned(),
            arg,
            output: format!(
                "{} ({}) {}",
                text.trim(),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        });
    }
    Ok(Printed {
        lines,
        share_millis,
    })
}

/// Reads one printed line of `probe arg` as `T`.
pub(crate) fn parse<T: serde::de::DeserializeOwned>(
    probe: &Path,
    arg: &'static str,
    line: &str,
) -> Result<T, MeasureError> {
    serde_json::from_str(line.trim()).map_err(|e| MeasureError::Output {
        probe: probe.to_owned(),
        arg,
        output: format!("{}: {e}", line.trim()),
    })
}

/// The calibration workload `request` asks for, in one process under `at` (unconstrained
/// without a root): each run's `CpuWork`.
pub async fn cpu_work(
    probe: &Path,
    request: CpuWorkRequest,
    at: Allowance<'_>,
) -> Result<Vec<CpuWork>, MeasureError> {
    let [arg, rest @ ..] = request.args();
    debug_assert_eq!(arg, MEASURE_CPU_WORK_ARG);
    let printed = run(probe, MEASURE_CPU_WORK_ARG, &rest, at).await?;
    printed
        .lines
        .iter()
        .map(|l| parse(probe, MEASURE_CPU_WORK_ARG, l))
        .collect()
}
