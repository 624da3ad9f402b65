//! The experiment plan: a TOML file of scenarios (the probe's environment plus the traffic
//! shape). [`spec`] mirrors the file as written (read strictly, `deny_unknown_fields`);
//! [`resolve`] checks it and applies `[defaults]` and the sweeps, one small function per field
//! group, into the [`Plan`] the runner executes. The resolved plan ([`ResolvedPlan`]) is kept
//! in each run's manifest, so every reader of a run sees the scenarios that ran. Every error
//! names the file and the field.

pub mod resolve;
pub mod resolved;
pub mod spec;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use resolved::{
    parse_duration, parse_rate, Arrival, Local, Network, PlanError, RateError, ResolvedPlan,
    Rotation, Scenario, AGENT_MAX_TTL, CPU_CALIBRATION_ROUNDS, DEFAULT_CPU_PERIOD,
    DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_STALE, MAX_INVOCATIONS, MAX_ROTATIONS,
};
pub use spec::{
    LocalSpec, MemorySizes, NetworkSpec, OneOrSweep, PlanFile, RotationSpec, Runtimes,
    ScenarioSpec, Traffic,
};

/// A checked plan.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The file it came from.
    pub path: PathBuf,
    /// As written, for the manifest.
    pub file: PlanFile,
    /// Resolved scenarios.
    pub scenarios: Vec<Scenario>,
    /// The local stage's network.
    pub network: Network,
    /// The local stage's execution environments.
    pub local: Local,
    /// The run on AWS the local stage takes its service times and CPU from.
    pub service_time_from: Option<String>,
}

impl Plan {
    /// Reads and checks a plan file.
    pub fn load(path: &Path) -> Result<Plan, PlanError> {
        let text = std::fs::read_to_string(path).map_err(|source| PlanError::Io {
            path: path.to_owned(),
            source,
        })?;
        Plan::parse(path, &text)
    }

    /// Parses and checks plan text.
    pub fn parse(path: &Path, text: &str) -> Result<Plan, PlanError> {
        let syntax = |message: String| PlanError::Syntax {
            path: path.to_owned(),
            message: message.trim_end().to_owned(),
        };
        // The field's path (`scenario[2].runtime`) in front of toml's message, which gives the
        // line, the column and the excerpt.
        let de = toml::Deserializer::parse(text).map_err(|e| syntax(e.to_string()))?;
        let file: PlanFile = serde_path_to_error::deserialize(de).map_err(|e| {
            let field = e.path().to_string();
            let inner = e.into_inner().to_string();
            if field == "." {
                syntax(inner)
            } else {
                syntax(format!("{field}: {inner}"))
            }
        })?;
        Plan::from_file(path, file)
    }

    /// Checks a parsed plan and applies its defaults.
    pub fn from_file(path: &Path, file: PlanFile) -> Result<Plan, PlanError> {
        let resolved = resolve::resolve(path, &file)?;
        Ok(Plan::from_parts(path, file, resolved))
    }

    /// A plan from its file and what it resolved to (a manifest keeps both).
    pub fn from_parts(path: &Path, file: PlanFile, resolved: ResolvedPlan) -> Plan {
        Plan {
            path: path.to_owned(),
            file,
            scenarios: resolved.scenarios,
            network: resolved.network,
            local: resolved.local,
            service_time_from: resolved.service_time_from,
        }
    }

    /// What it resolved to, for the manifest.
    pub fn resolved(&self) -> ResolvedPlan {
        ResolvedPlan {
            scenarios: self.scenarios.clone(),
            network: self.network,
            local: self.local,
            service_time_from: self.service_time_from.clone(),
        }
    }

    /// Whether any scenario injects faults (which only the local stage can do).
    pub fn has_faults(&self) -> bool {
        self.scenarios.iter().any(|s| s.faults.is_some())
    }

    /// The longest function timeout of any scenario (the caller's timeout must exceed it).
    pub fn longest_timeout(&self) -> Duration {
        self.scenarios
            .iter()
            .map(|s| s.timeout)
            .max()
            .unwrap_or(Duration::from_secs(30))
    }

    /// Invocations the whole plan sends.
    pub fn planned(&self) -> u64 {
        self.scenarios.iter().map(Scenario::planned).sum()
    }
}

#[cfg(test)]
mod tests;
