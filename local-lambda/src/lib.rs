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
pub mod environment;
pub mod faults;
pub mod front;
pub mod http;
pub mod logs;
pub mod moto;

use base64::Engine as _;
use bytes::Bytes;
use environment::{AgentSpec, EnvSpec, Environment, InitState, InvokeResult};
use http::{full, read_body, Body};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use logs::Measured;
use secbench_record::sync::lock;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The marker by which the platform recognises the Parameters and Secrets extension layer.
pub const EXTENSION_LAYER_NAME: &str = "AWS-Parameters-and-Secrets-Lambda-Extension";

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
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

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

#[derive(Debug, Clone)]
struct FunctionState {
    vars: BTreeMap<String, String>,
    memory_mb: u32,
    timeout: Duration,
    layers: Vec<String>,
    generation: u64,
    updating: bool,
    revision: u64,
}

struct Platform {
    config: PlatformConfig,
    state: Mutex<FunctionState>,
    idle: Mutex<Vec<Arc<Environment>>>,
    live: AtomicUsize,
    all: Mutex<Vec<Arc<Environment>>>,
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
        };
        let platform = Arc::new(Platform {
            config,
            state: Mutex::new(state),
            idle: Mutex::new(Vec::new()),
            live: AtomicUsize::new(0),
            all: Mutex::new(Vec::new()),
        });
        let p = platform.clone();
        let server = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let p = p.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| handle(p.clone(), req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
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

fn json_response(status: StatusCode, value: &serde_json::Value) -> Response<Body> {
    let mut r = Response::new(full(Bytes::from(value.to_string())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        "content-type",
        hyper::header::HeaderValue::from_static("application/json"),
    );
    r
}

/// A Lambda service error in the REST-JSON shape the SDK reads.
fn service_error(status: StatusCode, code: &'static str, message: &str) -> Response<Body> {
    let mut r = json_response(
        status,
        &serde_json::json!({"Type": "User", "message": message, "__type": code}),
    );
    r.headers_mut().insert(
        "x-amzn-errortype",
        hyper::header::HeaderValue::from_static(code),
    );
    r
}

async fn handle(
    p: Arc<Platform>,
    req: Request<hyper::body::Incoming>,
) -> Result<Response<Body>, hyper::Error> {
    let path = req.uri().path().to_owned();
    let Some(rest) = path.strip_prefix("/2015-03-31/functions/") else {
        return Ok(service_error(
            StatusCode::NOT_FOUND,
            "UnknownOperationException",
            "unknown operation",
        ));
    };
    let (name, op) = rest.split_once('/').unwrap_or((rest, ""));
    let name = percent_decode(name);
    // A name, or an ARN that ends in it.
    if name != p.config.function_name
        && !name.ends_with(&format!(":function:{}", p.config.function_name))
    {
        return Ok(service_error(
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            &format!("Function not found: {name}"),
        ));
    }
    match (req.method().clone(), op) {
        (Method::POST, "invocations") => invoke(p, req).await,
        (Method::GET, "configuration") => Ok(json_response(StatusCode::OK, &configuration(&p))),
        (Method::PUT, "configuration") => {
            let body = read_body(req).await?;
            Ok(update_configuration(p, &body))
        }
        _ => Ok(service_error(
            StatusCode::NOT_FOUND,
            "UnknownOperationException",
            "unknown operation",
        )),
    }
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

fn function_arn(p: &Platform) -> String {
    format!(
        "arn:aws:lambda:{}:000000000000:function:{}",
        p.config.region, p.config.function_name
    )
}

fn architecture() -> &'static str {
    secbench_record::Architecture::current().map_or("x86_64", |a| a.as_str())
}

fn configuration(p: &Platform) -> serde_json::Value {
    let s = lock(&p.state).clone();
    serde_json::json!({
        "FunctionName": p.config.function_name,
        "FunctionArn": function_arn(p),
        "Runtime": "provided.al2023",
        "Role": "arn:aws:iam::000000000000:role/secbench-probe-local",
        "Handler": "bootstrap",
        "CodeSize": std::fs::metadata(&p.config.probe_bin).map(|m| m.len()).unwrap_or(0),
        "Description": "secbench probe on the local platform",
        "Timeout": s.timeout.as_secs(),
        "MemorySize": s.memory_mb,
        "LastModified": humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string().replace('Z', "+0000"),
        "Version": "$LATEST",
        "Environment": {"Variables": s.vars},
        "Layers": s.layers.iter().map(|a| serde_json::json!({"Arn": a, "CodeSize": 0})).collect::<Vec<_>>(),
        "RevisionId": format!("{:08x}-0000-4000-8000-{:012x}", s.revision, s.generation),
        "State": "Active",
        "LastUpdateStatus": if s.updating { "InProgress" } else { "Successful" },
        "PackageType": "Zip",
        "Architectures": [architecture()],
    })
}

fn update_configuration(p: Arc<Platform>, body: &[u8]) -> Response<Body> {
    let request: serde_json::Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            return service_error(
                StatusCode::BAD_REQUEST,
                "InvalidParameterValueException",
                &format!("invalid JSON: {e}"),
            )
        }
    };
    {
        let mut s = lock(&p.state);
        if let Some(memory) = request.get("MemorySize").and_then(|m| m.as_u64()) {
            if !(128..=10_240).contains(&memory) {
                return service_error(
                    StatusCode::BAD_REQUEST,
                    "InvalidParameterValueException",
                    "MemorySize must be between 128 and 10240",
                );
            }
            s.memory_mb = memory as u32;
        }
        if let Some(t) = request.get("Timeout").and_then(|t| t.as_u64()) {
            s.timeout = Duration::from_secs(t.clamp(1, 900));
        }
        if let Some(vars) = request
            .pointer("/Environment/Variables")
            .and_then(|v| v.as_object())
        {
            s.vars = vars
                .iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned())))
                .collect();
        }
        if let Some(layers) = request.get("Layers").and_then(|l| l.as_array()) {
            s.layers = layers
                .iter()
                .filter_map(|l| l.as_str().map(str::to_owned))
                .collect();
        }
        s.generation += 1;
        s.revision += 1;
        s.updating = true;
    }
    let response = json_response(StatusCode::OK, &configuration(&p));
    // Retire the old environments, then report the update done, as Lambda does asynchronously.
    // The idle ones leave the count before the answer goes out, so an invocation sent right
    // after a change made during traffic (a rotation of kms-env) finds room for its new
    // environment; the ones in flight are retired as they finish (`release`).
    let old: Vec<_> = lock(&p.idle).drain(..).collect();
    p.live.fetch_sub(old.len(), Ordering::SeqCst);
    tokio::spawn(async move {
        for env in old {
            env.kill().await;
        }
        lock(&p.state).updating = false;
    });
    response
}

enum Acquired {
    Warm(Arc<Environment>),
    Cold(Arc<Environment>, Duration),
    InitFailed {
        error_type: String,
        message: String,
        body: Option<Bytes>,
        init: Duration,
        env: Arc<Environment>,
    },
    Throttled,
    SpawnFailed(String),
}

async fn acquire(p: &Arc<Platform>, state: &FunctionState) -> Acquired {
    loop {
        let candidate = lock(&p.idle).pop();
        match candidate {
            Some(env) if env.generation == state.generation && env.alive() => {
                return Acquired::Warm(env)
            }
            Some(env) => {
                env.kill().await;
                p.live.fetch_sub(1, Ordering::SeqCst);
            }
            None => break,
        }
    }
    let reserved = p
        .live
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
            (n < p.config.max_concurrency).then_some(n + 1)
        });
    if reserved.is_err() {
        return Acquired::Throttled;
    }
    let mut vars = p.config.platform_vars.clone();
    vars.extend(state.vars.clone());
    vars.insert(
        "AWS_LAMBDA_FUNCTION_NAME".into(),
        p.config.function_name.clone(),
    );
    vars.insert(
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE".into(),
        state.memory_mb.to_string(),
    );
    vars.insert("AWS_LAMBDA_FUNCTION_VERSION".into(), "$LATEST".into());
    vars.insert(
        "AWS_LAMBDA_LOG_GROUP_NAME".into(),
        format!("/aws/lambda/{}", p.config.function_name),
    );
    vars.insert(
        "AWS_LAMBDA_LOG_STREAM_NAME".into(),
        format!("local/[$LATEST]{:032x}", rand::random::<u128>()),
    );
    vars.insert("AWS_REGION".into(), p.config.region.clone());
    vars.insert("AWS_DEFAULT_REGION".into(), p.config.region.clone());
    vars.insert("_HANDLER".into(), "bootstrap".into());
    vars.insert("TZ".into(), ":UTC".into());
    let agent = match (
        &p.config.agent_bin,
        state
            .layers
            .iter()
            .any(|l| l.contains(EXTENSION_LAYER_NAME)),
    ) {
        (Some(bin), true) => Some(AgentSpec {
            bin: bin.clone(),
            ttl_seconds: state
                .vars
                .get("SECRETS_MANAGER_TTL")
                .and_then(|t| t.parse().ok())
                .unwrap_or(300),
            vars: p
                .config
                .platform_vars
                .clone()
                .into_iter()
                .chain([("AWS_REGION".to_owned(), p.config.region.clone())])
                .collect(),
            start_delay: p.config.agent_start_delay,
        }),
        (None, true) => {
            p.live.fetch_sub(1, Ordering::SeqCst);
            return Acquired::SpawnFailed(
                "the extension layer is attached but no agent binary was given".into(),
            );
        }
        _ => None,
    };
    let spec = EnvSpec {
        probe_bin: p.config.probe_bin.clone(),
        vars,
        agent,
        function_arn: function_arn(p),
        cgroup: match &p.config.constraints {
            Constraints::Cgroups { root, cpu_period } => Some((
                root.clone(),
                cgroup::Limits {
                    memory_mb: state.memory_mb,
                    cpu_period: *cpu_period,
                },
            )),
            Constraints::None(_) => None,
        },
        front: p.config.front.clone(),
    };
    let env = match Environment::spawn(&spec, state.generation).await {
        Ok(env) => env,
        Err(e) => {
            p.live.fetch_sub(1, Ordering::SeqCst);
            return Acquired::SpawnFailed(format!("cannot start the execution environment: {e}"));
        }
    };
    lock(&p.all).push(env.clone());
    match env.wait_ready().await {
        InitState::Ready(init) => Acquired::Cold(env, init),
        InitState::Failed {
            error_type,
            body,
            after,
        } => {
            let message = String::from_utf8_lossy(&body).into_owned();
            Acquired::InitFailed {
                error_type,
                message,
                body: Some(body),
                init: after,
                env,
            }
        }
        InitState::Exited(message) => Acquired::InitFailed {
            error_type: if env.out_of_memory() {
                "Runtime.OutOfMemory".into()
            } else {
                "Runtime.ExitError".into()
            },
            message,
            body: None,
            init: Duration::ZERO,
            env,
        },
        InitState::Starting => Acquired::InitFailed {
            error_type: "Runtime.Unknown".into(),
            message: "INIT did not finish".into(),
            body: None,
            init: Duration::ZERO,
            env,
        },
    }
}

async fn release(p: &Arc<Platform>, env: Arc<Environment>, reusable: bool) {
    let current = lock(&p.state).generation;
    if reusable && env.alive() && env.generation == current {
        lock(&p.idle).push(env);
    } else {
        env.kill().await;
        p.live.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn invoke(
    p: Arc<Platform>,
    req: Request<hyper::body::Incoming>,
) -> Result<Response<Body>, hyper::Error> {
    let tail_wanted = req
        .headers()
        .get("x-amz-log-type")
        .and_then(|v| v.to_str().ok())
        == Some("Tail");
    let payload = read_body(req).await?;
    let state = lock(&p.state).clone();
    let request_id = uuid_v4();
    let (env, init) = match acquire(&p, &state).await {
        Acquired::Warm(env) => (env, None),
        Acquired::Cold(env, init) => (env, Some(init)),
        Acquired::Throttled => {
            return Ok(service_error(
                StatusCode::TOO_MANY_REQUESTS,
                "TooManyRequestsException",
                "Rate Exceeded.",
            ))
        }
        Acquired::SpawnFailed(message) => {
            return Ok(service_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "ServiceException",
                &message,
            ))
        }
        Acquired::InitFailed {
            error_type,
            message,
            body,
            init,
            env,
        } => {
            let mut lines = lock(&env.logs).since(0);
            let measured = Measured {
                request_id: request_id.clone(),
                duration_ms: 0.0,
                memory_size_mb: state.memory_mb,
                max_memory_used_mb: env.max_memory_used_mb(),
                init_duration_ms: Some(init.as_secs_f64() * 1e3),
                status: Some("error"),
                error_type: None,
            };
            lines.push(format!(
                "INIT_REPORT Init Duration: {:.2} ms\tPhase: init\tStatus: error\tError Type: {error_type}",
                init.as_secs_f64() * 1e3
            ));
            let doc = body
                .filter(|b| serde_json::from_slice::<serde_json::Value>(b).is_ok())
                .unwrap_or_else(|| {
                    Bytes::from(
                        serde_json::json!({"errorType": error_type, "errorMessage": message})
                            .to_string(),
                    )
                });
            release(&p, env, false).await;
            return Ok(function_response(
                doc,
                Some("Unhandled"),
                tail_wanted.then(|| logs::tail(&lines, &measured, None)),
            ));
        }
    };
    let mark = lock(&env.logs).mark();
    let started = Instant::now();
    let (result, window) = env.invoke(&request_id, payload, state.timeout).await;
    let duration = started.elapsed();
    let usage = usage(&p, &env, window, init.is_some());
    let mut error_type_field = None;
    let (body, function_error, status, reusable) = match result {
        InvokeResult::Response(body) => (body, None, None, true),
        InvokeResult::OutOfMemory(message) => {
            error_type_field = Some("Runtime.OutOfMemory");
            let doc = serde_json::json!({"errorType": "Runtime.OutOfMemory", "errorMessage": format!("RequestId: {request_id} Error: {message}")});
            (
                Bytes::from(doc.to_string()),
                Some("Unhandled"),
                Some("error"),
                false,
            )
        }
        InvokeResult::Error { error_type, body } => {
            let doc = if serde_json::from_slice::<serde_json::Value>(&body).is_ok() {
                body
            } else {
                Bytes::from(serde_json::json!({"errorType": error_type, "errorMessage": String::from_utf8_lossy(&body)}).to_string())
            };
            (doc, Some("Unhandled"), Some("error"), true)
        }
        InvokeResult::Exited(message) => {
            let doc = serde_json::json!({"errorType": "Runtime.ExitError", "errorMessage": format!("RequestId: {request_id} Error: {message}")});
            (
                Bytes::from(doc.to_string()),
                Some("Unhandled"),
                Some("error"),
                false,
            )
        }
        InvokeResult::TimedOut => {
            let message = format!(
                "{request_id} Task timed out after {:.2} seconds",
                state.timeout.as_secs_f64()
            );
            lock(&env.logs).push(format!(
                "{} {message}",
                humantime::format_rfc3339_millis(std::time::SystemTime::now())
            ));
            let doc = serde_json::json!({"errorType": "Sandbox.Timedout", "errorMessage": message});
            (
                Bytes::from(doc.to_string()),
                Some("Unhandled"),
                Some("timeout"),
                false,
            )
        }
    };
    let measured = Measured {
        request_id: request_id.clone(),
        duration_ms: duration.as_secs_f64() * 1e3,
        memory_size_mb: state.memory_mb,
        max_memory_used_mb: env.max_memory_used_mb(),
        init_duration_ms: init.map(|d| d.as_secs_f64() * 1e3),
        status,
        error_type: error_type_field,
    };
    let tail = tail_wanted.then(|| {
        let lines = lock(&env.logs).since(mark);
        logs::tail(&lines, &measured, usage.as_ref())
    });
    release(&p, env, reusable).await;
    Ok(function_response(body, function_error, tail))
}

/// The usage line of one invocation: the invocation's window and, for a cold one, INIT's.
fn usage(
    p: &Platform,
    env: &Environment,
    window: environment::Window,
    cold: bool,
) -> Option<secbench_record::run::EnvironmentUsage> {
    if p.config.front.is_none() && matches!(p.config.constraints, Constraints::None(_)) {
        return None;
    }
    let init = cold.then(|| env.init_window()).flatten();
    // Connections of a cold invocation count from the spawn: INIT's fetch is its fetch.
    let connections = match (init, window.connections) {
        (Some((w, _)), Some(c)) => w.connections.map(|i| i.plus(&c)),
        (_, c) => c,
    };
    Some(secbench_record::run::EnvironmentUsage {
        constrained: window.cpu.is_some(),
        cpu_share_millis: env.limits().map(|l| (l.cpus() * 1000.0).round() as u32),
        cpu_ns: window.cpu.map(|u| u.cpu_ns),
        throttled_ns: window.cpu.map(|u| u.throttled_ns),
        init_cpu_ns: init.and_then(|(w, _)| w.cpu).map(|u| u.cpu_ns),
        init_throttled_ns: init.and_then(|(w, _)| w.cpu).map(|u| u.throttled_ns),
        init_ns: init.map(|(_, d)| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)),
        tls_handshakes: connections
            .filter(|_| p.config.front.as_ref().is_some_and(|f| f.tls()))
            .map(|c| c.handshakes),
        requests: connections.map(|c| c.requests),
        reused_connection_requests: connections.map(|c| c.reused),
    })
}

fn function_response(
    body: Bytes,
    function_error: Option<&'static str>,
    tail: Option<String>,
) -> Response<Body> {
    let mut r = Response::new(full(body));
    let h = r.headers_mut();
    h.insert(
        "content-type",
        hyper::header::HeaderValue::from_static("application/json"),
    );
    h.insert(
        "x-amz-executed-version",
        hyper::header::HeaderValue::from_static("$LATEST"),
    );
    if let Some(e) = function_error {
        h.insert(
            "x-amz-function-error",
            hyper::header::HeaderValue::from_static(e),
        );
    }
    if let Some(t) = tail {
        let encoded = base64::engine::general_purpose::STANDARD.encode(t);
        if let Ok(v) = hyper::header::HeaderValue::from_str(&encoded) {
            h.insert("x-amz-log-result", v);
        }
    }
    r
}

/// A random UUID v4 string, the shape of Lambda request ids.
pub fn uuid_v4() -> String {
    let b: u128 = rand::random::<u128>() & !(0xf << 76) & !(0x3 << 62) | (0x4 << 76) | (0x2 << 62);
    let h = format!("{b:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}
