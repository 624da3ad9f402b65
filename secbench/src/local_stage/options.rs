//! What `secbench local` is asked to do ([`LocalOptions`], and the plan they load), where it
//! runs (the checkout, the function's name and region), and what can go wrong ([`LocalError`]).

use crate::plan::Plan;
use crate::run;
use secbench_local_lambda::moto::MotoError;
use secbench_record::ProbeBuild;
use std::path::{Path, PathBuf};

/// The local stage's function name.
pub const FUNCTION: &str = "secbench-probe-local";
/// The region the local stage pretends to be in.
pub const REGION: &str = "us-east-1";

/// The capacity provider the local stage's managed-instances scenarios name (the local platform
/// places nothing on it: see `secbench_local_lambda`'s `managed` module).
pub const LOCAL_CAPACITY_PROVIDER: &str =
    "arn:aws:lambda:us-east-1:000000000000:capacity-provider:secbench-local";

/// What went wrong setting up the local stage.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// The uncalibrated calls a calibrated run starts with did not give their latencies.
    #[error("learning what a call costs the probe here before the calibrated run: {0}")]
    Learn(String),
    /// Not run from a secbench checkout: run it from the repository root.
    #[error("cannot find the secbench checkout (scripts/install-moto.sh) from {0}; run from the repository")]
    NoCheckout(PathBuf),
    /// An installer or the build failed: its output is above.
    #[error("{step} failed ({status})")]
    Step {
        /// What was run.
        step: String,
        /// Its exit status.
        status: String,
    },
    /// A program could not be started.
    #[error("cannot start {what}")]
    Spawn {
        /// What.
        what: String,
        /// Why.
        source: std::io::Error,
    },
    /// A probe given with `--probe-bin` has no build of the variant a scenario asks for beside it.
    #[error("the plan asks for the probe's {build} build, and there is none at {path} (beside the probe given with --probe-bin); build it with `{command}` or run without --probe-bin")]
    NoVariant {
        /// The build.
        build: ProbeBuild,
        /// Where it was looked for.
        path: PathBuf,
        /// The command that builds it there.
        command: String,
    },
    /// The CPU an AWS run showed at a memory size is below the smallest quota the kernel
    /// allows at the plan's period.
    #[error("the run calibrated from shows {share:.4} of this machine's CPU at {memory_mb} MB, less than the kernel's smallest quota (1 ms) per {period:?} period; set [local] cpu_period to at least {smallest_period:?}")]
    CalibrationBelowQuota {
        /// The memory size.
        memory_mb: u32,
        /// The share it would need.
        share: f64,
        /// The plan's period.
        period: std::time::Duration,
        /// The smallest period at which the share can be written.
        smallest_period: std::time::Duration,
    },
    /// moto did not come up.
    #[error(transparent)]
    Moto(#[from] MotoError),
    /// Provisioning in moto failed.
    #[error(transparent)]
    Provision(#[from] crate::provision::ProvisionError),
    /// The run to calibrate from does not read, or cannot calibrate.
    #[error(transparent)]
    Calibration(#[from] secbench_analyzer::calibration::CalibrationError),
    /// The plan does not read.
    #[error(transparent)]
    Plan(#[from] crate::plan::PlanError),
    /// The run failed.
    #[error(transparent)]
    Run(#[from] run::RunError),
    /// A managed runtime's interpreter is not installed.
    #[error("{runtime} has no interpreter at {path}: run scripts/install-probes.sh ({source})")]
    NoRuntime {
        /// The runtime.
        runtime: secbench_record::Runtime,
        /// Where `scripts/install-probes.sh` writes what runs it.
        path: PathBuf,
        /// Why it does not read.
        source: std::io::Error,
    },
}

/// Options of `secbench local`.
#[derive(Debug, Clone)]
pub struct LocalOptions {
    /// The checkout.
    pub root: PathBuf,
    /// The plan (default `scripts/plans/local.toml`).
    pub plan: PathBuf,
    /// Where runs go (default `reports/`).
    pub out_dir: PathBuf,
    /// Resume this run instead of starting one.
    pub resume: Option<PathBuf>,
    /// Use this probe binary (and the agent built beside it) instead of building them.
    pub probe_bin: Option<PathBuf>,
    /// Skip the installers (tests, where they already ran).
    pub skip_install: bool,
    /// The secret's value to provision (tests give a canary to search the outputs for);
    /// default: a random value nobody sees.
    pub value: Option<String>,
    /// A run on AWS whose service times and CPU the stage takes over (overrides the plan's
    /// `[network] service_time_from`).
    pub service_time_from: Option<PathBuf>,
}

impl LocalOptions {
    /// Options for a run of `plan` from the checkout `root` into `out_dir`: installs, builds,
    /// a random value, no resume and no calibration; the `with_*` methods change that.
    pub fn new(root: PathBuf, plan: PathBuf, out_dir: PathBuf) -> Self {
        LocalOptions {
            root,
            plan,
            out_dir,
            resume: None,
            probe_bin: None,
            skip_install: false,
            value: None,
            service_time_from: None,
        }
    }

    /// Runs this probe (and the agent beside it) without installing or building anything.
    pub fn with_probe(mut self, probe_bin: PathBuf) -> Self {
        self.probe_bin = Some(probe_bin);
        self.skip_install = true;
        self
    }

    /// Provisions `value` (a canary the tests search every output for).
    pub fn with_value(mut self, value: impl Into<String>) -> Self {
        self.value = Some(value.into());
        self
    }

    /// Takes over the service times and CPU of this AWS run.
    pub fn with_service_time_from(mut self, dir: Option<PathBuf>) -> Self {
        self.service_time_from = dir;
        self
    }

    /// The plan these options run: the one of the run resumed, or the plan file, checked for
    /// what the local stage cannot run.
    pub fn load_plan(&self) -> Result<Plan, LocalError> {
        let plan = match &self.resume {
            Some(dir) => run::plan_of(dir)?.0,
            None => Plan::load(&self.plan)?,
        };
        if let Some(s) = plan.scenarios.iter().find(|s| s.function.is_some()) {
            return Err(LocalError::Plan(crate::plan::PlanError::Invalid {
                path: plan.path.clone(),
                field: format!(
                    "scenario ({}).function",
                    s.swept_from.as_ref().unwrap_or(&s.name)
                ),
                message: "the local stage has one function (its architecture is the host's); name functions per scenario on AWS only".into(),
            }));
        }
        Ok(plan)
    }
}

/// Finds the checkout: `start` or a parent that has `scripts/install-moto.sh`.
pub fn find_root(start: &Path) -> Result<PathBuf, LocalError> {
    start
        .ancestors()
        .find(|d| d.join("scripts/install-moto.sh").is_file())
        .map(Path::to_owned)
        .ok_or_else(|| LocalError::NoCheckout(start.to_owned()))
}
