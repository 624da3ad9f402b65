//! One local execution environment: the unchanged probe binary started as a process with
//! Lambda's environment variables, its own Runtime API server on 127.0.0.1
//! (`/2018-06-01/runtime/invocation/next`, `…/{id}/response`, `…/{id}/error`,
//! `/runtime/init/error`), an optional agent beside it (the extension, [`crate::agent`]), and
//! its captured stdout/stderr (the function's log stream). With limits, every process of the
//! environment runs in one cgroup of its own ([`crate::cgroup`]) from its first instruction,
//! and the environment is frozen between invocations; with a front ([`crate::front`]), it
//! reaches the emulated services through a listener of its own.

use crate::cgroup::{Cgroup, CgroupRoot, Limits, Usage};
use crate::front::{ConnCounts, ConnSnapshot, Front, Listener};
use crate::logs::LogBuffer;
use crate::peer::Restores;
use crate::runtime_api::{Delivery, Shared};
pub use crate::runtime_api::{InitState, InvokeResult};
use bytes::Bytes;
use hyper_util::rt::TokioIo;
use secbench_record::sync::lock;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::{mpsc, oneshot, watch};

/// Lambda's limit on INIT for on-demand functions.
pub const INIT_TIMEOUT: Duration = Duration::from_secs(10);

/// Lambda Managed Instances' shortest limit on INIT ("the maximum of 130 seconds or the
/// configured function timeout", "Understanding the Lambda Managed Instances execution
/// environment"); the local platform uses this floor.
pub const MANAGED_INIT_TIMEOUT: Duration = Duration::from_secs(130);

/// SnapStart INIT's shortest limit when a version is published ("the maximum of 130 seconds or
/// the configured function timeout", "Lambda SnapStart runtime hooks for Python"); the local
/// platform uses this floor. A restore has [`INIT_TIMEOUT`] (10 s, the same page).
pub const SNAPSHOT_INIT_TIMEOUT: Duration = Duration::from_secs(130);

/// The variable naming the Unix socket a SnapStart snapshot serves restores on (the local
/// stage's protocol with `probes/python/local_snapstart.py`; Lambda has none).
pub const SNAPSHOT_SOCKET_VAR: &str = "SECBENCH_LOCAL_SNAPSHOT_SOCKET";
/// The variable naming the snapshot's socket a restored environment restores from.
pub const RESTORE_FROM_VAR: &str = "SECBENCH_LOCAL_RESTORE_FROM";
/// The variable listing (`:`-separated) the `cgroup.procs` files the restored process joins.
pub const CGROUP_PROCS_VAR: &str = "SECBENCH_LOCAL_CGROUP_PROCS";

/// A SnapStart environment's part: the snapshot a published version's INIT makes, or an
/// environment restored from one.
#[derive(Debug, Clone)]
pub enum SnapStartRole {
    /// Runs INIT once and then serves restores on `socket`; its `/restore/next` is held. Its
    /// front listener hands the connections of the environments in `restores` to theirs.
    Snapshot {
        /// The fork server's socket.
        socket: PathBuf,
        /// The environments restored from it.
        restores: Arc<Restores<ConnCounts>>,
    },
    /// Restored from the snapshot serving on `socket`; its `/restore/next` answers at once. It
    /// joins `restores` before its process starts.
    RestoreFrom {
        /// The snapshot's fork server.
        socket: PathBuf,
        /// The snapshot's restored environments.
        restores: Arc<Restores<ConnCounts>>,
    },
}

/// What to start.
#[derive(Debug, Clone)]
pub struct EnvSpec {
    /// The probe binary, and the VM generation counter its processes see.
    pub code: Code,
    /// Every environment variable of the function process except `AWS_LAMBDA_RUNTIME_API`.
    pub vars: BTreeMap<String, String>,
    /// The agent to start beside the function, when the extension layer is attached.
    pub agent: Option<AgentSpec>,
    /// The function ARN, for the `Lambda-Runtime-Invoked-Function-Arn` header.
    pub function_arn: String,
    /// CPU and memory limits, and where to make the environment's cgroup (None: unconstrained).
    pub cgroup: Option<(Arc<CgroupRoot>, Limits)>,
    /// INIT's CPU when it is not the memory share (an on-demand INIT boosted, as Lambda is
    /// observed to do): this many CPUs until INIT ends (capped at the host's).
    pub init_cpus: Option<f64>,
    /// The CPU share after INIT when it is not `memory_mb / 1769` (calibrated from a run on
    /// AWS), in CPUs.
    pub share_cpus: Option<f64>,
    /// How the environment is started (`AWS_LAMBDA_INITIALIZATION_TYPE`).
    pub initialization_type: secbench_record::InitializationType,
    /// The front the environment reaches the services through (its `AWS_ENDPOINT_URL`).
    pub front: Option<Arc<Front>>,
    /// Lambda Managed Instances: the most invocations it serves at once. Such an environment
    /// is never frozen (it runs continuously, as AWS's "Lambda Managed Instances execution
    /// environment" page says) and its Runtime API serves that many `/next` long-polls at once.
    pub managed_concurrency: Option<u32>,
    /// SnapStart: a snapshot, or restored from one.
    pub snapstart: Option<SnapStartRole>,
}

/// The agent standing in for the Parameters and Secrets extension (see [`crate::agent`]).
#[derive(Debug, Clone)]
pub struct AgentSpec {
    /// The agent binary.
    pub bin: PathBuf,
    /// `SECRETS_MANAGER_TTL` in seconds (the agent is given at most 300).
    pub ttl_seconds: u64,
    /// The provider's `ignore_transient_errors` (`SECBENCH_IGNORE_TRANSIENT_ERRORS`; the
    /// provider's default, `true`, when unset).
    pub ignore_transient_errors: bool,
    /// Variables the agent gets (region, credentials, endpoint).
    pub vars: BTreeMap<String, String>,
    /// Start it this long after the function, and do not wait for it at INIT.
    pub start_delay: Option<Duration>,
}

/// What the environment's counters moved by over one window (an invocation, or INIT).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Window {
    /// The cgroup's counters, when constrained.
    pub cpu: Option<Usage>,
    /// The front listener's counts, when there is a front.
    pub connections: Option<ConnSnapshot>,
}

impl Window {
    fn since(&self, earlier: &Window) -> Window {
        Window {
            cpu: self.cpu.zip(earlier.cpu).map(|(a, b)| a.since(&b)),
            connections: self
                .connections
                .zip(earlier.connections)
                .map(|(a, b)| a.since(&b)),
        }
    }
}

/// A running execution environment.
pub struct Environment {
    /// Random id.
    pub id: String,
    /// The configuration generation it was started with (`$LATEST`).
    pub generation: u64,
    /// The published version it runs (`None`: `$LATEST`).
    pub version: Option<u32>,
    /// Invocations delivered to it so far.
    invocations: std::sync::atomic::AtomicU64,
    /// Lambda Managed Instances: the most invocations at once (None: one at a time, frozen
    /// between them).
    pub managed_concurrency: Option<u32>,
    /// Invocations delivered and not yet answered.
    in_flight: std::sync::atomic::AtomicU32,
    /// Invocations answered so far.
    answered: std::sync::atomic::AtomicU64,
    shared: Arc<Shared>,
    next_tx: mpsc::Sender<Delivery>,
    exited: watch::Receiver<Option<String>>,
    kill: Mutex<Option<oneshot::Sender<()>>>,
    pids: Vec<u32>,
    agent: Mutex<Option<tokio::process::Child>>,
    agent_port: Option<u16>,
    _agent_dir: Option<tempfile::TempDir>,
    cgroup: Mutex<Option<Cgroup>>,
    limits: Option<Limits>,
    /// The share after INIT, when calibrated (else the limits' `memory_mb / 1769`).
    share_cpus: Option<f64>,
    /// INIT's CPU allowance as written, when constrained.
    init_allowance: Option<crate::cgroup::CpuAllowance>,
    /// How it was started.
    pub initialization_type: secbench_record::InitializationType,
    listener: Option<Listener>,
    init_window: Mutex<Option<(Window, Duration)>>,
    /// The log stream.
    pub logs: Arc<Mutex<LogBuffer>>,
}

impl std::fmt::Debug for Environment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Environment")
            .field("id", &self.id)
            .field("generation", &self.generation)
            .finish()
    }
}

/// Starts `cmd` with its stdout and stderr going to the environment's log stream.
fn spawn_captured(
    cmd: &mut tokio::process::Command,
    logs: &Arc<Mutex<LogBuffer>>,
    pids: &mut Vec<u32>,
) -> std::io::Result<tokio::process::Child> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    if let Some(out) = child.stdout.take() {
        capture(out, logs.clone());
    }
    if let Some(err) = child.stderr.take() {
        capture(err, logs.clone());
    }
    pids.extend(child.id());
    Ok(child)
}

fn capture<R: tokio::io::AsyncRead + Unpin + Send + 'static>(
    reader: R,
    logs: Arc<Mutex<LogBuffer>>,
) {
    tokio::spawn(async move {
        let mut lines = BufReader::new(reader).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            lock(&logs).push(line);
        }
    });
}

impl Environment {
    /// Starts the agent (if any) and the probe process.
    pub async fn spawn(
        spec: &EnvSpec,
        generation: u64,
        version: Option<u32>,
    ) -> std::io::Result<Arc<Environment>> {
        let id = format!("{:016x}", rand::random::<u64>());
        let cgroup = match &spec.cgroup {
            Some((root, limits)) => Some(
                root.create(&format!("secbench-env-{}-{id}", std::process::id()), limits)
                    .map_err(std::io::Error::other)?,
            ),
            None => None,
        };
        // INIT's CPU: boosted (on demand) or the share; set before any process starts.
        let host = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        let init_allowance = match (&cgroup, &spec.cgroup) {
            (Some(cg), Some((_, limits))) => Some(match spec.init_cpus.or(spec.share_cpus) {
                Some(cpus) => cg
                    .set_cpus(cpus.min(host), limits.cpu_period)
                    .map_err(std::io::Error::other)?,
                None => cg.cpu_allowance(),
            }),
            _ => None,
        };
        let mut vars = spec.vars.clone();
        vars.insert(
            "AWS_LAMBDA_INITIALIZATION_TYPE".into(),
            spec.initialization_type.as_str().into(),
        );
        let front_listener = match &spec.front {
            Some(front) => {
                let l = match &spec.snapstart {
                    Some(SnapStartRole::Snapshot { restores, .. }) => {
                        front.listen_for(Some(restores.clone())).await?
                    }
                    _ => front.listen().await?,
                };
                vars.insert("AWS_ENDPOINT_URL".into(), l.endpoint.clone());
                // The run's CA, the way each SDK reads it: rustls' native roots and OpenSSL
                // (`SSL_CERT_FILE`), boto3 (`AWS_CA_BUNDLE`), Node.js (`NODE_EXTRA_CA_CERTS`).
                if let Some(ca) = front.ca_file() {
                    for var in ["SSL_CERT_FILE", "AWS_CA_BUNDLE", "NODE_EXTRA_CA_CERTS"] {
                        vars.insert(var.into(), ca.display().to_string());
                    }
                }
                Some(l)
            }
            None => None,
        };
        let logs = Arc::new(Mutex::new(LogBuffer::default()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let runtime_api = listener.local_addr()?.to_string();
        let (next_tx, next_rx) = mpsc::channel(1);
        let (init_tx, _) = watch::channel(InitState::Starting);
        let spawned_at = Instant::now();
        let shared = Arc::new(Shared {
            next_rx: tokio::sync::Mutex::new(next_rx),
            pending: Mutex::new(HashMap::new()),
            init: init_tx,
            spawned_at,
            function_arn: spec.function_arn.clone(),
            logs: logs.clone(),
            waiting: std::sync::atomic::AtomicU32::new(0),
            snapshot: matches!(spec.snapstart, Some(SnapStartRole::Snapshot { .. })),
        });

        let (mut agent, mut agent_port, mut agent_dir, mut pids) = (None, None, None, Vec::new());
        if let Some(a) = &spec.agent {
            let port = free_port()?;
            let dir = tempfile::tempdir()?;
            let config = dir.path().join("agent.toml");
            std::fs::write(
                &config,
                crate::agent::config(port, a.ttl_seconds, a.ignore_transient_errors, None),
            )?;
            // A delayed agent starts through `sh -c 'sleep S; exec AGENT sm start --config FILE'`.
            let mut command = match a.start_delay {
                None => tokio::process::Command::new(&a.bin),
                Some(d) => {
                    let mut c = tokio::process::Command::new("/bin/sh");
                    c.arg("-c")
                        .arg(format!("sleep {:.3}; exec \"$0\" \"$@\"", d.as_secs_f64()))
                        .arg(&a.bin);
                    c
                }
            };
            if let Some(cg) = &cgroup {
                cg.enter_on_spawn(&mut command);
            }
            if let Some(s) = &spec.code.sysgenid {
                s.on_spawn(command.as_std_mut());
            }
            let mut agent_vars = a.vars.clone();
            for k in ["AWS_ENDPOINT_URL", "SSL_CERT_FILE"] {
                if let Some(v) = vars.get(k) {
                    agent_vars.insert(k.to_owned(), v.clone());
                }
            }
            let child = spawn_captured(
                command
                    .args(crate::agent::args(&config))
                    .env_clear()
                    .envs(&agent_vars)
                    .env(
                        "AWS_SESSION_TOKEN",
                        vars.get("AWS_SESSION_TOKEN").cloned().unwrap_or_default(),
                    ),
                &logs,
                &mut pids,
            )?;
            vars.insert(
                secbench_record::probe_config::var::AGENT_PORT.into(),
                port.to_string(),
            );
            agent = Some(child);
            agent_port = a.start_delay.is_none().then_some(port);
            agent_dir = Some(dir);
        }

        match &spec.snapstart {
            Some(SnapStartRole::Snapshot { socket, .. }) => {
                vars.insert(SNAPSHOT_SOCKET_VAR.into(), socket.display().to_string());
            }
            Some(SnapStartRole::RestoreFrom { socket, restores }) => {
                vars.insert(RESTORE_FROM_VAR.into(), socket.display().to_string());
                let procs: Vec<PathBuf> = cgroup.iter().flat_map(Cgroup::procs_files).collect();
                if let Some(l) = &front_listener {
                    restores.join(procs.clone(), &l.counts);
                }
                let procs: Vec<String> = procs.iter().map(|p| p.display().to_string()).collect();
                vars.insert(CGROUP_PROCS_VAR.into(), procs.join(":"));
            }
            None => {}
        }
        let mut probe = tokio::process::Command::new(&spec.code.bin);
        if let Some(cg) = &cgroup {
            cg.enter_on_spawn(&mut probe);
        }
        if let Some(s) = &spec.code.sysgenid {
            s.on_spawn(probe.as_std_mut());
        }
        let mut child = spawn_captured(
            probe
                .env_clear()
                .envs(&vars)
                .env("AWS_LAMBDA_RUNTIME_API", &runtime_api),
            &logs,
            &mut pids,
        )?;

        let (kill_tx, kill_rx) = oneshot::channel::<()>();
        let (exit_tx, exit_rx) = watch::channel(None);
        let watcher_shared = shared.clone();
        tokio::spawn(async move {
            let status = tokio::select! {
                s = child.wait() => s.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string()),
                _ = kill_rx => {
                    let _ = child.kill().await;
                    "signal: 9 (SIGKILL)".to_owned()
                }
            };
            let message = format!("Runtime exited with error: {status}");
            watcher_shared.init.send_if_modified(|s| {
                if *s == InitState::Starting {
                    *s = InitState::Exited(message.clone());
                    true
                } else {
                    false
                }
            });
            let pending: Vec<_> = lock(&watcher_shared.pending).drain().collect();
            for (_, tx) in pending {
                let _ = tx.send(InvokeResult::Exited(message.clone()));
            }
            let _ = exit_tx.send(Some(message));
        });

        let server_shared = shared.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let s = server_shared.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        crate::runtime_api::serve(s.clone(), req)
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });

        Ok(Arc::new(Environment {
            id,
            generation,
            version,
            invocations: std::sync::atomic::AtomicU64::new(0),
            managed_concurrency: spec.managed_concurrency,
            in_flight: std::sync::atomic::AtomicU32::new(0),
            answered: std::sync::atomic::AtomicU64::new(0),
            shared,
            next_tx,
            exited: exit_rx,
            kill: Mutex::new(Some(kill_tx)),
            pids,
            agent: Mutex::new(agent),
            agent_port,
            _agent_dir: agent_dir,
            cgroup: Mutex::new(cgroup),
            limits: spec.cgroup.as_ref().map(|(_, l)| *l),
            share_cpus: spec.share_cpus.map(|c| c.min(host)),
            init_allowance,
            initialization_type: spec.initialization_type,
            listener: front_listener,
            init_window: Mutex::new(None),
            logs,
        }))
    }

    /// The counters now (zero at spawn).
    fn counters(&self) -> Window {
        Window {
            cpu: lock(&self.cgroup).as_ref().map(Cgroup::usage),
            connections: self.listener.as_ref().map(|l| l.counts.snapshot()),
        }
    }

    /// The limits it runs under, when constrained.
    pub fn limits(&self) -> Option<Limits> {
        self.limits
    }

    /// The CPU allowance written now (the memory share once INIT is over), when constrained.
    pub fn cpu_allowance(&self) -> Option<crate::cgroup::CpuAllowance> {
        lock(&self.cgroup).as_ref().map(Cgroup::cpu_allowance)
    }

    /// INIT's CPU allowance as written, when constrained.
    pub fn init_allowance(&self) -> Option<crate::cgroup::CpuAllowance> {
        self.init_allowance
    }

    /// What INIT used (from spawn to ready), and how long it took, once it is over.
    pub fn init_window(&self) -> Option<(Window, Duration)> {
        *lock(&self.init_window)
    }

    /// The cgroup's counters now, when constrained (for tests of the freezer).
    pub fn cpu_usage(&self) -> Option<Usage> {
        lock(&self.cgroup).as_ref().map(Cgroup::usage)
    }

    /// Whether the freezer holds the environment (false when unconstrained).
    pub fn is_frozen(&self) -> bool {
        lock(&self.cgroup).as_ref().is_some_and(Cgroup::is_frozen)
    }

    /// Whether the OOM killer has ended one of its processes.
    pub fn out_of_memory(&self) -> bool {
        lock(&self.cgroup)
            .as_ref()
            .is_some_and(|c| c.oom_kills() > 0)
    }

    fn freeze(&self) {
        if self.managed_concurrency.is_some() {
            return;
        }
        if let Some(c) = lock(&self.cgroup).as_ref() {
            if let Err(e) = c.freeze() {
                lock(&self.logs).push(format!("secbench platform: cannot freeze: {e}"));
            }
        }
    }

    fn thaw(&self) {
        if self.managed_concurrency.is_some() {
            return;
        }
        if let Some(c) = lock(&self.cgroup).as_ref() {
            if let Err(e) = c.thaw() {
                lock(&self.logs).push(format!("secbench platform: cannot thaw: {e}"));
            }
        }
    }

    /// Waits until INIT is over, or fails, or `INIT_TIMEOUT` passes; INIT runs unfrozen to its
    /// end (the first event follows at once).
    pub async fn wait_ready(&self) -> InitState {
        let state = self.wait_ready_inner().await;
        if let InitState::Ready(d) = state {
            *lock(&self.init_window) = Some((self.counters(), d));
            // INIT is over: from the first invocation on, the memory share.
            if let (Some(cg), Some(limits)) = (lock(&self.cgroup).as_ref(), self.limits) {
                let share = self.share_cpus.unwrap_or_else(|| limits.cpus());
                if cg.cpu_allowance() != crate::cgroup::CpuAllowance::of(share, limits.cpu_period) {
                    if let Err(e) = cg.set_cpus(share, limits.cpu_period) {
                        lock(&self.logs).push(format!(
                            "secbench platform: cannot set the memory share after INIT: {e}"
                        ));
                    }
                }
            }
        }
        state
    }

    fn init_timeout(&self) -> Duration {
        match (self.managed_concurrency, self.shared.snapshot) {
            (Some(_), _) => MANAGED_INIT_TIMEOUT,
            (None, true) => SNAPSHOT_INIT_TIMEOUT,
            (None, false) => INIT_TIMEOUT,
        }
    }

    /// Freezes an environment that waits for its first event (a provisioned one).
    pub fn park(&self) {
        self.freeze();
    }

    async fn wait_ready_inner(&self) -> InitState {
        let mut rx = self.shared.init.subscribe();
        let limit = self.init_timeout();
        let state = {
            let waited =
                tokio::time::timeout(limit, rx.wait_for(|s| *s != InitState::Starting)).await;
            match waited {
                Ok(Ok(s)) => s.clone(),
                Ok(Err(_)) => InitState::Exited("the environment went away".into()),
                Err(_) => {
                    return InitState::Exited(format!("INIT did not finish within {limit:?}"))
                }
            }
        };
        // Lambda waits for every extension's INIT too: the agent must be listening.
        if let (InitState::Ready(_), Some(port)) = (&state, self.agent_port) {
            let deadline = self.shared.spawned_at + limit;
            loop {
                if tokio::net::TcpStream::connect(("127.0.0.1", port))
                    .await
                    .is_ok()
                {
                    break;
                }
                if Instant::now() > deadline {
                    return InitState::Exited(
                        "the extension (agent) did not start listening".into(),
                    );
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            return InitState::Ready(self.shared.spawned_at.elapsed());
        }
        state
    }

    /// Whether the invocation being delivered (or the last one) is its first.
    pub fn first_invocation(&self) -> bool {
        self.invocations.load(std::sync::atomic::Ordering::SeqCst) <= 1
    }

    /// The runtime's workers waiting for an event (`/invocation/next` requests held open): on
    /// Lambda Managed Instances, how many of its processes or threads have finished INIT and
    /// are idle.
    pub fn workers_waiting(&self) -> u32 {
        self.shared
            .waiting
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Invocations delivered and not yet answered.
    pub fn in_flight(&self) -> u32 {
        self.in_flight.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Claims a place for one more invocation when fewer than `max` are in flight.
    pub(crate) fn claim(&self, max: u32) -> bool {
        self.in_flight
            .fetch_update(
                std::sync::atomic::Ordering::SeqCst,
                std::sync::atomic::Ordering::SeqCst,
                |n| (n < max).then_some(n + 1),
            )
            .is_ok()
    }

    /// Gives back a place [`Environment::claim`] took.
    pub(crate) fn unclaim(&self) {
        let _ = self.in_flight.fetch_update(
            std::sync::atomic::Ordering::SeqCst,
            std::sync::atomic::Ordering::SeqCst,
            |n| Some(n.saturating_sub(1)),
        );
    }

    /// Invocations it has answered so far.
    pub fn answered(&self) -> u64 {
        self.answered.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Whether the process is still running.
    pub fn alive(&self) -> bool {
        self.exited.borrow().is_none()
    }

    /// Hands one event to the runtime (thawing the environment) and waits for its result, at
    /// most `timeout`; freezes the environment once it has answered. Returns what the
    /// counters moved by in between.
    pub async fn invoke(
        &self,
        request_id: &str,
        payload: Bytes,
        timeout: Duration,
    ) -> (InvokeResult, Window) {
        self.thaw();
        self.invocations
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let before = self.counters();
        let result = self.invoke_inner(request_id, payload, timeout).await;
        let window = self.counters().since(&before);
        self.answered
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let result = match result {
            InvokeResult::Exited(message) if self.out_of_memory() => {
                InvokeResult::OutOfMemory(message)
            }
            r @ (InvokeResult::Response(_) | InvokeResult::Error { .. }) => {
                self.freeze();
                r
            }
            r => r,
        };
        (result, window)
    }

    async fn invoke_inner(
        &self,
        request_id: &str,
        payload: Bytes,
        timeout: Duration,
    ) -> InvokeResult {
        let (tx, rx) = oneshot::channel();
        lock(&self.shared.pending).insert(request_id.to_owned(), tx);
        let deadline_ms = SystemTime::now()
            .checked_add(timeout)
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_millis());
        let delivery = Delivery {
            request_id: request_id.to_owned(),
            payload,
            deadline_ms,
        };
        if self.next_tx.send(delivery).await.is_err() {
            lock(&self.shared.pending).remove(request_id);
            return InvokeResult::Exited("the environment is gone".into());
        }
        let mut exited = self.exited.clone();
        tokio::select! {
            r = rx => r.unwrap_or(InvokeResult::Exited("the environment went away".into())),
            _ = tokio::time::sleep(timeout) => {
                lock(&self.shared.pending).remove(request_id);
                InvokeResult::TimedOut
            }
            status = exited.wait_for(|e| e.is_some()) => {
                let message = status.ok().and_then(|s| s.clone()).unwrap_or_default();
                lock(&self.shared.pending).remove(request_id);
                InvokeResult::Exited(message)
            }
        }
    }

    /// Peak resident memory of the environment's processes, in MB (VmHWM).
    pub fn max_memory_used_mb(&self) -> u32 {
        let kb: u64 = self.pids.iter().filter_map(|pid| vm_hwm_kb(*pid)).sum();
        u32::try_from(kb.div_ceil(1024)).unwrap_or(u32::MAX)
    }

    /// Kills the processes (thawed first: a frozen process does not die) and removes the
    /// cgroup.
    pub async fn kill(&self) {
        self.thaw();
        if let Some(tx) = lock(&self.kill).take() {
            let _ = tx.send(());
        }
        let agent = lock(&self.agent).take();
        if let Some(mut a) = agent {
            let _ = a.kill().await;
        }
        let mut exited = self.exited.clone();
        let _ = exited.wait_for(|e| e.is_some()).await;
        let cgroup = lock(&self.cgroup).take();
        if let Some(c) = cgroup {
            c.remove(Duration::from_secs(2)).await;
        }
    }
}

fn vm_hwm_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// The function's code as new environments run it.
#[derive(Debug, Clone)]
pub struct Code {
    /// The probe binary (or a runtime's start script).
    pub bin: PathBuf,
    /// The VM generation counter its environments see ([`crate::sysgenid`]; none: not offered).
    pub sysgenid: Option<std::sync::Arc<crate::sysgenid::Sysgenid>>,
}
