//! Where and how a run is sent: the stage, region and function ([`Target`]), and what the
//! stage does as each scenario starts ([`ScenarioHook`]: the local stage switches its faults
//! and the probe's build there).

use crate::plan::Scenario;
use std::sync::Arc;
use std::time::Duration;

/// Where and how to run.
#[derive(Debug, Clone)]
pub struct Target {
    /// The stage name.
    pub stage: String,
    /// The region.
    pub region: String,
    /// The function.
    pub function: String,
    /// True on the local stage.
    pub local_emulator: bool,
    /// The extension layer to attach for scenarios that want it; `None` leaves layers alone.
    pub extension_layer_arn: Option<String>,
    /// How often to poll `GetFunctionConfiguration` while an update is in progress.
    pub poll: Duration,
    /// Called as each scenario starts, before its first invocation (the local stage switches
    /// its fault proxy to the scenario's faults with it).
    pub on_scenario_start: Option<ScenarioHook>,
    /// On the local stage: what is emulated and what is not (goes into the manifest).
    pub emulation: Option<secbench_record::run::Emulation>,
    /// Writes new values for the scenarios that rotate (and gives every scenario the digest
    /// its store holds); a plan with rotations needs one.
    pub rotator: Option<Arc<super::rotate::Rotator>>,
    /// The secrets, parameters and bundles of the scenarios that read several secrets; a plan
    /// with such scenarios needs them.
    pub many: Option<crate::targets::ManySecrets>,
    /// The stage's capacity provider, which managed-instances scenarios run on.
    pub capacity_provider: Option<super::control::CapacityProvider>,
}

/// What the runner calls as each scenario starts.
#[derive(Clone)]
pub struct ScenarioHook(pub Arc<dyn Fn(&Scenario) + Send + Sync>);

impl std::fmt::Debug for ScenarioHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ScenarioHook")
    }
}
