//! Whether the platform's execution environments get Lambda's CPU share and memory limit (a
//! cgroup each, frozen between invocations) or run unconstrained, and why.

use crate::cgroup;
use secbench_record::InitCpu;
use std::sync::Arc;
use std::time::Duration;

/// Whether environments get Lambda's CPU share and memory limit.
#[derive(Debug, Clone)]
pub enum Constraints {
    /// A cgroup per environment under secbench's own; frozen between invocations.
    Cgroups {
        /// Where the cgroups are made.
        root: Arc<cgroup::CgroupRoot>,
        /// The CPU quota period.
        cpu_period: Duration,
        /// The CPU of an on-demand INIT (a provisioned one always gets the memory share).
        init_cpu: InitCpu,
        /// The CPU taken from a run on AWS instead of `memory_mb / 1769` and the assumed boost.
        calibrated: Option<CpuCalibration>,
    },
    /// Unconstrained (the reason goes into every output).
    None(secbench_record::run::Constraint),
}

impl Constraints {
    /// Cgroups if they can be made here (checked by making and removing one, after removing
    /// what an earlier run left behind), else why not.
    pub fn detect(cpu_period: Duration) -> Constraints {
        let check = || -> Result<Arc<cgroup::CgroupRoot>, cgroup::CgroupError> {
            let root = cgroup::CgroupRoot::detect()?;
            let stale = root.remove_stale();
            if stale > 0 {
                eprintln!("secbench: removed {stale} cgroup(s) an earlier run left behind (thawed, emptied, deleted)");
            }
            let probe = root.create(
                &format!("secbench-check-{}", std::process::id()),
                &cgroup::Limits {
                    memory_mb: 128,
                    cpu_period,
                },
            )?;
            drop(probe);
            Ok(Arc::new(root))
        };
        match check() {
            Ok(root) => Constraints::Cgroups {
                root,
                cpu_period,
                init_cpu: InitCpu::Share,
                calibrated: None,
            },
            Err(e) => Constraints::None(secbench_record::run::Constraint::Unavailable(
                with_causes(&e),
            )),
        }
    }

    /// The same constraints with an on-demand INIT's CPU as `init_cpu` says (they give INIT
    /// the memory share unless told).
    pub fn with_init_cpu(self, init_cpu: InitCpu) -> Constraints {
        match self {
            Constraints::Cgroups {
                root,
                cpu_period,
                calibrated,
                ..
            } => Constraints::Cgroups {
                root,
                cpu_period,
                init_cpu,
                calibrated,
            },
            none => none,
        }
    }

    /// The same constraints with the CPU a run on AWS showed (and the period it was fitted at).
    pub fn with_calibration(self, c: CpuCalibration) -> Constraints {
        match self {
            Constraints::Cgroups {
                root,
                cpu_period,
                init_cpu,
                ..
            } => Constraints::Cgroups {
                root,
                cpu_period: c.cpu_period.unwrap_or(cpu_period),
                init_cpu,
                calibrated: Some(c),
            },
            none => none,
        }
    }

    /// The CPUs an environment of `memory_mb` gets after INIT, and an on-demand INIT's (None:
    /// the share), as these constraints give them.
    pub fn cpus_for(&self, memory_mb: u32) -> (Option<f64>, Option<f64>) {
        match self {
            Constraints::Cgroups {
                init_cpu,
                calibrated,
                ..
            } => {
                let share = calibrated.as_ref().and_then(|c| c.share_at(memory_mb));
                let init = match (calibrated.as_ref().and_then(|c| c.init_cpus), init_cpu) {
                    (Some(c), _) => Some(c),
                    (None, InitCpu::Boosted) => Some(secbench_record::lambda::INIT_BOOST_CPUS),
                    (None, InitCpu::Share) => None,
                };
                (share, init)
            }
            Constraints::None(_) => (None, None),
        }
    }

    /// The quota period environments get (none: unconstrained).
    pub fn cpu_period(&self) -> Option<Duration> {
        match self {
            Constraints::Cgroups { cpu_period, .. } => Some(*cpu_period),
            Constraints::None(_) => None,
        }
    }

    /// What the manifest says about it.
    pub fn describe(&self) -> secbench_record::run::Constraint {
        match self {
            Constraints::Cgroups { root, .. } => {
                secbench_record::run::Constraint::Cgroup(root.version().to_owned())
            }
            Constraints::None(why) => why.clone(),
        }
    }
}

/// CPU as a run on AWS showed it (its `cpu-calibration` scenarios against the same workload
/// here): the share after INIT per memory size, and INIT's.
#[derive(Debug, Clone, PartialEq)]
pub struct CpuCalibration {
    /// CPUs per memory size measured; other sizes in proportion to the nearest.
    pub share_by_memory: std::collections::BTreeMap<u32, f64>,
    /// An on-demand INIT's CPUs, when measured.
    pub init_cpus: Option<f64>,
    /// The quota period the shares were fitted at, when the plan's was too short for the
    /// smallest of them (the kernel's smallest quota is 1 ms per period).
    pub cpu_period: Option<Duration>,
}

impl CpuCalibration {
    /// The share at `memory_mb`: measured, or scaled from the nearest size measured.
    pub fn share_at(&self, memory_mb: u32) -> Option<f64> {
        if let Some(s) = self.share_by_memory.get(&memory_mb) {
            return Some(*s);
        }
        let (m, s) = self
            .share_by_memory
            .iter()
            .min_by_key(|(m, _)| m.abs_diff(memory_mb))?;
        Some(s * f64::from(memory_mb) / f64::from(*m))
    }
}

/// An error and its causes on one line.
pub(crate) fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}
