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

#![warn(missing_docs)]

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
pub mod peer;
pub mod sysgenid;

mod api;
mod capacity;
mod configuration;
mod constraints;
mod invoke;
mod managed;
mod platform;
mod pool;
mod runtime_api;
mod snapshot;
mod snapstart;
mod versions;

use environment::Environment;
use platform::{FunctionState, Platform};
use secbench_record::sync::lock;
use std::collections::BTreeMap;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};

pub use constraints::{Constraints, CpuCalibration};
pub use environment::Code;
pub use invoke::uuid_v4;
pub use platform::{PlatformConfig, EXTENSION_LAYER_NAME};

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
            last_version: 0,
            aliases: BTreeMap::new(),
            provisioned: BTreeMap::new(),
            managed: None,
            managed_versions: BTreeMap::new(),
            snapstart: false,
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
            managed: Mutex::new(Vec::new()),
            scaling: tokio::sync::Mutex::new(()),
            snapshots: Mutex::new(Default::default()),
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
