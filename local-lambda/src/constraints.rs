//! Whether the platform's execution environments get Lambda's CPU share and memory limit (a
//! cgroup each, frozen between invocations) or run unconstrained, and why.

use crate::cgroup;
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
    },
    /// Unconstrained (the reason goes into every output).
    None(secbench_record::run::Constraint),
}

impl Constraints {
    /// Cgroups if they can be made here (checked by making and removing one), else why not.
    pub fn detect(cpu_period: Duration) -> Constraints {
        let check = || -> Result<Arc<cgroup::CgroupRoot>, cgroup::CgroupError> {
            let root = cgroup::CgroupRoot::detect()?;
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
            Ok(root) => Constraints::Cgroups { root, cpu_period },
            Err(e) => Constraints::None(secbench_record::run::Constraint::Unavailable(
                with_causes(&e),
            )),
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
