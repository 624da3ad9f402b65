//! The platform's shared state: what it runs ([`PlatformConfig`]), the function as the Lambda API
//! sees it (variables, memory, timeout, layers, published versions, aliases, provisioned
//! concurrency), its code, and the environments it keeps. `api`, `configuration`, `invoke`,
//! `pool` and `versions` work on it; `lib.rs` only starts and stops it.

use crate::constraints::Constraints;
use crate::environment::{Code, Environment};
use crate::front;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The marker by which the platform recognises the Parameters and Secrets extension layer.
pub const EXTENSION_LAYER_NAME: &str = "AWS-Parameters-and-Secrets-Lambda-Extension";

/// What the platform runs.
#[derive(Debug, Clone)]
pub struct PlatformConfig {
    /// The function name.
    pub function_name: String,
    /// The region it pretends to be in.
    pub region: String,
    /// The release probe binary.
    pub probe_bin: PathBuf,
    /// The agent binary ([`crate::agent::bin`]), started beside each environment when the extension
    /// layer is attached.
    pub agent_bin: Option<PathBuf>,
    /// Variables the platform gives every process (credentials, `AWS_ENDPOINT_URL`, region).
    pub platform_vars: BTreeMap<String, String>,
    /// The function's own variables at the start.
    pub function_vars: BTreeMap<String, String>,
    /// Memory size at the start.
    pub memory_mb: u32,
    /// Timeout at the start.
    pub timeout: Duration,
    /// Most environments at once (the function's concurrency limit).
    pub max_concurrency: usize,
    /// Start the agent this long after the function and let INIT end without it (for fault
    /// tests: the real extension is sometimes not listening yet at the first invocation).
    pub agent_start_delay: Option<Duration>,
    /// CPU and memory per environment.
    pub constraints: Constraints,
    /// The front environments reach the services through (None: `AWS_ENDPOINT_URL` from
    /// `platform_vars` as it is).
    pub front: Option<Arc<front::Front>>,
}

/// What an environment of the function (or of one of its published versions) runs with.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Published {
    pub(crate) vars: BTreeMap<String, String>,
    pub(crate) memory_mb: u32,
    pub(crate) timeout: Duration,
    pub(crate) layers: Vec<String>,
    /// On a capacity provider (Lambda Managed Instances), with its shape.
    pub(crate) managed: Option<crate::capacity::ManagedInstances>,
    /// SnapStart on published versions (`ApplyOn: PublishedVersions`).
    pub(crate) snapstart: bool,
}

/// A version's provisioned concurrency (`PutProvisionedConcurrencyConfig`).
#[derive(Debug, Clone)]
pub(crate) struct Provisioning {
    /// The alias (or version) it was asked for.
    pub(crate) qualifier: String,
    /// Environments asked for.
    pub(crate) requested: u32,
    /// Environments initialised and waiting.
    pub(crate) allocated: u32,
    pub(crate) status: ProvisioningStatus,
    /// Why it failed.
    pub(crate) reason: Option<String>,
}

/// Where a provisioned-concurrency config stands (`Status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProvisioningStatus {
    InProgress,
    Ready,
    Failed,
}

impl ProvisioningStatus {
    /// The name in the Lambda API.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ProvisioningStatus::InProgress => "IN_PROGRESS",
            ProvisioningStatus::Ready => "READY",
            ProvisioningStatus::Failed => "FAILED",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct FunctionState {
    pub(crate) vars: BTreeMap<String, String>,
    pub(crate) memory_mb: u32,
    pub(crate) timeout: Duration,
    pub(crate) layers: Vec<String>,
    pub(crate) generation: u64,
    pub(crate) updating: bool,
    pub(crate) revision: u64,
    /// Published versions, by number (`PublishVersion`).
    pub(crate) versions: BTreeMap<u32, Published>,
    /// The last version number given: Lambda never gives a number twice, also after the
    /// version is deleted.
    pub(crate) last_version: u32,
    /// Aliases and the version each points to.
    pub(crate) aliases: BTreeMap<String, u32>,
    /// Provisioned concurrency, by version.
    pub(crate) provisioned: BTreeMap<u32, Provisioning>,
    /// `CapacityProviderConfig` (Lambda Managed Instances) of `$LATEST`.
    pub(crate) managed: Option<crate::capacity::ManagedInstances>,
    /// Managed-instances versions: the environments asked for and where they stand.
    pub(crate) managed_versions: BTreeMap<u32, crate::capacity::VersionEnvironments>,
    /// SnapStart on published versions (`ApplyOn: PublishedVersions`).
    pub(crate) snapstart: bool,
}

impl FunctionState {
    /// `$LATEST` as it is now.
    pub(crate) fn published(&self) -> Published {
        Published {
            vars: self.vars.clone(),
            memory_mb: self.memory_mb,
            timeout: self.timeout,
            layers: self.layers.clone(),
            managed: self.managed.clone(),
            snapstart: self.snapstart,
        }
    }
}

pub(crate) struct Platform {
    pub(crate) config: PlatformConfig,
    /// The function's code: the probe binary new environments start (a scenario may switch
    /// it, as deploying another build would).
    pub(crate) code: Mutex<Code>,
    pub(crate) state: Mutex<FunctionState>,
    pub(crate) idle: Mutex<Vec<Arc<Environment>>>,
    /// Environments provisioned ahead of traffic and waiting for an invocation.
    pub(crate) provisioned_idle: Mutex<Vec<Arc<Environment>>>,
    /// Managed-instances environments: each serves many invocations at once and stays here,
    /// busy or not, for its version's life.
    pub(crate) managed: Mutex<Vec<Arc<Environment>>>,
    /// Held while managed-instances environments are started or retired, so that a scaling
    /// config put while the version's first environment starts does not start a second.
    pub(crate) scaling: tokio::sync::Mutex<()>,
    /// The snapshots of SnapStart versions.
    pub(crate) snapshots: Mutex<crate::snapshot::Snapshots>,
    pub(crate) live: AtomicUsize,
    pub(crate) all: Mutex<Vec<Arc<Environment>>>,
}
