//! The local Lambda platform: on 127.0.0.1 it serves the Lambda Invoke API
//! (`POST /2015-03-31/functions/{name}/invocations`) and the configuration calls the runner
//! makes (`PUT`/`GET /2015-03-31/functions/{name}/configuration`), and runs the unchanged
//! release probe as execution-environment processes that speak the real Runtime API. As on
//! AWS: a configuration change retires every environment (that is what forces cold starts),
//! at most `max_concurrency` environments exist (beyond that: 429), the function timeout kills
//! the environment, and the log tail ends in a REPORT line the platform measured. With
//! [`Constraints::Cgroups`], each environment gets Lambda's CPU share and memory limit for its
//! memory size and is frozen between invocations; with a [`front::Front`], it reaches the
//! emulated services over TLS through a listener of its own. The tail then ends with a
//! `SECBENCH_USAGE` line: the environment's CPU time, throttled time and connections for
//! the invocation.

pub mod agent;
pub mod cgroup;
pub mod cgroup_layout;
pub mod entropy;
pub mod environment;
pub mod faults;
pub mod front;
pub mod http;
pub mod logs;
pub mod measure;
pub mod moto;
pub mod sysgenid;

mod api;
mod configuration;
mod constraints;
mod invoke;
mod pool;
mod versions;

use environment::Environment;
use secbench_record::sync::lock;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use constraints::{Constraints, CpuCalibration};
pub use invoke::uuid_v4;

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
    /// The agent binary ([`agent::bin`]), started beside each environment when the extension
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
struct Published {
    vars: BTreeMap<String, String>,
    memory_mb: u32,
    timeout: Duration,
    layers: Vec<String>,
}

/// A version's provisioned concurrency (`PutProvisionedConcurrencyConfig`).
#[derive(Debug, Clone)]
struct Provisioning {
    /// The alias (or version) it was asked for.
    qualifier: String,
    /// Environments asked for.
    requested: u32,
    /// Environments initialised and waiting.
    allocated: u32,
    status: ProvisioningStatus,
    /// Why it failed.
    reason: Option<String>,
}

/// Where a provisioned-concurrency config stands (`Status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ProvisioningStatus {
    InProgress,
    Ready,
    Failed,
}

impl ProvisioningStatus {
    /// The name in the Lambda API.
    fn as_str(self) -> &'static str {
        match self {
            ProvisioningStatus::InProgress => "IN_PROGRESS",
            ProvisioningStatus::Ready => "READY",
            ProvisioningStatus::Failed => "FAILED",
        }
    }
}

#[derive(Debug, Clone)]
struct FunctionState {
    vars: BTreeMap<String, String>,
    memory_mb: u32,
    timeout: Duration,
    layers: Vec<String>,
    generation: u64,
    updating: bool,
    revision: u64,
    /// Published versions, by number (`PublishVersion`).
    versions: BTreeMap<u32, Published>,
    /// Aliases and the version each points to.
    aliases: BTreeMap<String, u32>,
    /// Provisioned concurrency, by version.
    provisioned: BTreeMap<u32, Provisioning>,
}

impl FunctionState {
    /// `$LATEST` as it is now.
    fn published(&self) -> Published {
        Published {
            vars: self.vars.clone(),
            memory_mb: self.memory_mb,
            timeout: self.timeout,
            layers: self.layers.clone(),
        }
    }
}

struct Platform {
    config: PlatformConfig,
    /// The function's code: the probe binary new environments start (a scenario may switch
    /// it, as deploying another build would).
    code: Mutex<Code>,
    state: Mutex<FunctionState>,
    idle: Mutex<Vec<Arc<Environment>>>,
    /// Environments provisioned ahead of traffic and waiting for an invocation.
    provisioned_idle: Mutex<Vec<Arc<Environment>>>,
    live: AtomicUsize,
    all: Mutex<Vec<Arc<Environment>>>,
}

/// The function's code as new environments run it.
#[derive(Debug, Clone)]
pub struct Code {
    /// The probe binary (or a runtime's start script).
    pub bin: PathBuf,
    /// The VM generation counter its environments see ([`sysgenid`]; none: not offered).
    pub sysgenid: Option<Arc<sysgenid::Sysgenid>>,
}

/// Switches the function's code (see [`LocalPlatform::probe_switch`]).
#[derive(Clone)]
pub struct ProbeSwitch(Arc<Platform>);

impl ProbeSwitch {
    /// New environments run `code`.
    pub fn set(&self, code: Code) {
        *lock(&self.0.code) = code;
    }
}

impl std::fmt::Debug for ProbeSwitch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProbeSwitch")
    }
}

/// A running local platform.
pub struct LocalPlatform {
    /// `http://127.0.0.1:PORT`: the Lambda endpoint for the SDK.
    pub endpoint: String,
    platform: Arc<Platform>,
    server: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for LocalPlatform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalPlatform")
            .field("endpoint", &self.endpoint)
            .finish()
    }
}

impl LocalPlatform {
    /// Binds 127.0.0.1 on a free port and serves.
    pub async fn start(config: PlatformConfig) -> std::io::Result<LocalPlatform> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let endpoint = format!("http://{}", listener.local_addr()?);
        let state = FunctionState {
            vars: config.function_vars.clone(),
            memory_mb: config.memory_mb,
            timeout: config.timeout,
            layers: Vec::new(),
            generation: 0,
            updating: false,
            revision: 1,
            versions: BTreeMap::new(),
            aliases: BTreeMap::new(),
            provisioned: BTreeMap::new(),
        };
        let platform = Arc::new(Platform {
            code: Mutex::new(Code {
                bin: config.probe_bin.clone(),
                sysgenid: None,
            }),
            config,
            state: Mutex::new(state),
            idle: Mutex::new(Vec::new()),
            provisioned_idle: Mutex::new(Vec::new()),
            live: AtomicUsize::new(0),
            all: Mutex::new(Vec::new()),
        });
        let p = platform.clone();
        let server = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let p = p.clone();
                tokio::spawn(async move {
                    let service =
                        hyper::service::service_fn(move |req| api::handle(p.clone(), req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(LocalPlatform {
            endpoint,
            platform,
            server,
        })
    }

    /// Kills one environment that is busy with an invocation (for fault tests); returns
    /// whether there was one.
    pub async fn kill_a_busy_environment(&self) -> bool {
        let idle: Vec<String> = lock(&self.platform.idle)
            .iter()
            .map(|e| e.id.clone())
            .collect();
        let victim = lock(&self.platform.all)
            .iter()
            .find(|e| e.alive() && !idle.contains(&e.id))
            .cloned();
        match victim {
            Some(env) => {
                env.kill().await;
                true
            }
            None => false,
        }
    }

    /// A handle that makes environments started from then on run another probe binary (another
    /// build, as deploying it would); the next configuration change retires the ones running.
    pub fn probe_switch(&self) -> ProbeSwitch {
        ProbeSwitch(self.platform.clone())
    }

    /// The environments started so far (for tests of the freezer and the counters).
    pub fn environments(&self) -> Vec<Arc<Environment>> {
        lock(&self.platform.all).clone()
    }

    /// Environments started so far.
    pub fn environments_started(&self) -> usize {
        lock(&self.platform.all).len()
    }

    /// Appends every environment's captured log lines (the probe's output and the agent's
    /// log, up to the last 2,048 lines each) to `path`, one section per environment.
    pub fn write_logs(&self, path: &std::path::Path) -> std::io::Result<()> {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        let all: Vec<_> = lock(&self.platform.all).clone();
        for (i, env) in all.iter().enumerate() {
            writeln!(f, "=== environment {i} ===")?;
            for line in lock(&env.logs).since(0) {
                writeln!(f, "{line}")?;
            }
        }
        f.flush()
    }

    /// Stops serving and kills every environment.
    pub async fn shutdown(self) {
        self.server.abort();
        let all: Vec<_> = lock(&self.platform.all).drain(..).collect();
        for env in all {
            env.kill().await;
        }
    }
}
