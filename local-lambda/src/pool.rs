//! The function's execution environments: for an invocation of `$LATEST` or of a published
//! version, a provisioned one of that version if one waits, else a warm one if one is idle,
//! else a new one (INIT, on demand), within the function's concurrency (beyond it: throttled);
//! after an invocation, back to where it waited, or retired. A provisioned environment is
//! started ahead of traffic with INIT at the memory share (as Lambda is observed to do) and
//! frozen until its first invocation, which is warm-started; an on-demand INIT gets the CPU
//! `[local] init_cpu` says.

use crate::cgroup;
use crate::constraints::Constraints;
use crate::environment::{AgentSpec, EnvSpec, Environment, InitState, SnapStartRole};
use crate::http::function_arn;
use crate::platform::{Platform, Published, EXTENSION_LAYER_NAME};
use bytes::Bytes;
use secbench_record::sync::lock;
use secbench_record::InitializationType;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// What an invocation runs: `$LATEST` at its configuration generation, or a version.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// The configuration.
    pub config: Published,
    /// The published version (`None`: `$LATEST`).
    pub version: Option<u32>,
    /// `$LATEST`'s configuration generation.
    pub generation: u64,
}

impl Target {
    /// Whether `env` runs this target's configuration.
    fn runs(&self, env: &Environment) -> bool {
        env.version == self.version && (self.version.is_some() || env.generation == self.generation)
    }

    /// `X-Amz-Executed-Version`.
    pub fn executed_version(&self) -> String {
        self.version
            .map_or_else(|| "$LATEST".to_owned(), |v| v.to_string())
    }
}

pub(crate) enum Acquired {
    /// An environment that has answered before, or a provisioned one (INIT done ahead).
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
    /// The function runs on a capacity provider and `$LATEST` was invoked.
    NotInvocable(String),
    /// SnapStart: the version's snapshot is not ready or failed (error type, message).
    NoSnapshot(&'static str, String),
}

pub(crate) async fn acquire(p: &Arc<Platform>, target: &Target) -> Acquired {
    // Lambda Managed Instances: environments started at publish, shared by concurrent
    // invocations; none starts on demand.
    if target.config.managed.is_some() {
        if target.version.is_none() {
            return Acquired::NotInvocable(
                "the function runs on a capacity provider: invoke a published version".into(),
            );
        }
        return match acquire_managed(p, target) {
            Some(env) => Acquired::Warm(env),
            None => Acquired::Throttled,
        };
    }
    if target.version.is_some() {
        let provisioned = {
            let mut idle = lock(&p.provisioned_idle);
            let at = idle.iter().position(|e| target.runs(e) && e.alive());
            at.map(|i| idle.swap_remove(i))
        };
        if let Some(env) = provisioned {
            return Acquired::Warm(env);
        }
    }
    loop {
        let candidate = {
            let mut idle = lock(&p.idle);
            let at = idle.iter().position(|e| target.runs(e));
            // Environments of a configuration no longer in force are retired on the way.
            match at {
                Some(i) => Some(idle.swap_remove(i)),
                None => idle
                    .iter()
                    .position(|e| e.version.is_none() && e.generation != target.generation)
                    .filter(|_| target.version.is_none())
                    .map(|i| idle.swap_remove(i)),
            }
        };
        match candidate {
            Some(env) if target.runs(&env) && env.alive() => return Acquired::Warm(env),
            Some(env) => {
                env.kill().await;
                p.live.fetch_sub(1, Ordering::SeqCst);
            }
            None => break,
        }
    }
    // SnapStart: a published version's cold start is a restore of its snapshot.
    let restore = match target.version.filter(|_| target.config.snapstart) {
        Some(v) => match lock(&p.snapshots).restore_from(v) {
            Ok(role) => Some(role),
            Err((error_type, message)) => return Acquired::NoSnapshot(error_type, message),
        },
        None => None,
    };
    if !reserve(p) {
        return Acquired::Throttled;
    }
    let (_, init_cpus) = p.config.constraints.cpus_for(target.config.memory_mb);
    let kind = match restore {
        Some(_) => InitializationType::SnapStart,
        None => InitializationType::OnDemand,
    };
    let env = match spawn_as(p, target, kind, init_cpus, restore).await {
        Ok(env) => env,
        Err(message) => return Acquired::SpawnFailed(message),
    };
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

/// Takes one of the function's concurrency; false when all are in use.
pub(crate) fn reserve(p: &Platform) -> bool {
    p.live
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
            (n < p.config.max_concurrency).then_some(n + 1)
        })
        .is_ok()
}

/// Starts an environment of `target` (its concurrency already reserved; given back when the
/// start fails).
pub(crate) async fn spawn(
    p: &Arc<Platform>,
    target: &Target,
    initialization_type: InitializationType,
    init_cpus: Option<f64>,
) -> Result<Arc<Environment>, String> {
    spawn_as(p, target, initialization_type, init_cpus, None).await
}

/// [`spawn`], with a SnapStart part: a version's snapshot, or a restore of one.
pub(crate) async fn spawn_as(
    p: &Arc<Platform>,
    target: &Target,
    initialization_type: InitializationType,
    init_cpus: Option<f64>,
    snapstart: Option<SnapStartRole>,
) -> Result<Arc<Environment>, String> {
    let config = &target.config;
    let qualifier = target.executed_version();
    let mut vars = p.config.platform_vars.clone();
    vars.extend(config.vars.clone());
    vars.insert(
        "AWS_LAMBDA_FUNCTION_NAME".into(),
        p.config.function_name.clone(),
    );
    vars.insert(
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE".into(),
        config.memory_mb.to_string(),
    );
    vars.insert("AWS_LAMBDA_FUNCTION_VERSION".into(), qualifier.clone());
    vars.insert(
        "AWS_LAMBDA_LOG_GROUP_NAME".into(),
        format!("/aws/lambda/{}", p.config.function_name),
    );
    vars.insert(
        "AWS_LAMBDA_LOG_STREAM_NAME".into(),
        format!("local/[{qualifier}]{:032x}", rand::random::<u128>()),
    );
    vars.insert("AWS_REGION".into(), p.config.region.clone());
    vars.insert("AWS_DEFAULT_REGION".into(), p.config.region.clone());
    vars.insert("_HANDLER".into(), "bootstrap".into());
    vars.insert("TZ".into(), ":UTC".into());
    // As Lambda sets them (the managed runtimes' bootstraps find their interpreter on PATH).
    vars.insert(
        "PATH".into(),
        "/usr/local/bin:/usr/bin/:/bin:/opt/bin".into(),
    );
    vars.insert("LANG".into(), "en_US.UTF-8".into());
    if let Some(m) = &config.managed {
        vars.insert(
            secbench_record::lambda::MAX_CONCURRENCY_VAR.into(),
            m.max_concurrency().to_string(),
        );
        // aws-lambda-ric 4.x counts its worker threads from `/sys/fs/cgroup/cpu.max`, which
        // inside an environment here is the host's (or absent: cgroup v1), not the
        // environment's vCPUs; the platform tells it those (a function's own setting wins).
        let vcpus = m.vcpus(config.memory_mb).ceil() as u32;
        vars.entry(secbench_record::lambda::NODE_WORKER_COUNT_VAR.into())
            .or_insert_with(|| {
                (secbench_record::lambda::NODE_WORKERS_PER_VCPU * vcpus.max(1)).to_string()
            });
    }
    let agent = match (
        &p.config.agent_bin,
        config
            .layers
            .iter()
            .any(|l| l.contains(EXTENSION_LAYER_NAME)),
    ) {
        (Some(bin), true) => Some(AgentSpec {
            bin: bin.clone(),
            ttl_seconds: config
                .vars
                .get(secbench_record::probe_config::var::AGENT_SECRETS_MANAGER_TTL)
                .and_then(|t| t.parse().ok())
                .unwrap_or(300),
            ignore_transient_errors: config
                .vars
                .get(secbench_record::probe_config::var::IGNORE_TRANSIENT_ERRORS)
                .is_none_or(|v| v != "false"),
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
            return Err("the extension layer is attached but no agent binary was given".into());
        }
        _ => None,
    };
    let spec = EnvSpec {
        code: lock(&p.code).clone(),
        vars,
        agent,
        function_arn: function_arn(&p.config.region, &p.config.function_name),
        cgroup: match &p.config.constraints {
            Constraints::Cgroups {
                root, cpu_period, ..
            } => Some((
                root.clone(),
                cgroup::Limits {
                    memory_mb: config.memory_mb,
                    cpu_period: *cpu_period,
                },
            )),
            Constraints::None(_) => None,
        },
        init_cpus,
        // Managed instances: the environment's vCPUs, INIT and after.
        share_cpus: match &config.managed {
            Some(m) => Some(m.vcpus(config.memory_mb)),
            None => p.config.constraints.cpus_for(config.memory_mb).0,
        },
        managed_concurrency: config.managed.as_ref().map(|m| m.max_concurrency()),
        initialization_type,
        front: p.config.front.clone(),
        snapstart,
    };
    let mut spec = spec;
    if spec.snapstart.is_some() {
        // "The AWS_LAMBDA_LOG_GROUP_NAME and AWS_LAMBDA_LOG_STREAM_NAME environment variables
        // are not available in Lambda SnapStart functions" ("Monitoring for Lambda SnapStart").
        spec.vars.remove("AWS_LAMBDA_LOG_GROUP_NAME");
        spec.vars.remove("AWS_LAMBDA_LOG_STREAM_NAME");
    }
    match Environment::spawn(&spec, target.generation, target.version).await {
        Ok(env) => {
            lock(&p.all).push(env.clone());
            Ok(env)
        }
        Err(e) => {
            p.live.fetch_sub(1, Ordering::SeqCst);
            Err(format!("cannot start the execution environment: {e}"))
        }
    }
}

/// After an invocation: back to the provisioned environments (while its version's
/// provisioned concurrency stands) or the idle ones (while its configuration is in force), or
/// retired.
pub(crate) async fn release(p: &Arc<Platform>, env: Arc<Environment>, reusable: bool) {
    if env.managed_concurrency.is_some() {
        return release_managed(p, env, reusable).await;
    }
    let (current, provisioned) = {
        let s = lock(&p.state);
        (
            s.generation,
            env.version.is_some_and(|v| s.provisioned.contains_key(&v)),
        )
    };
    let in_force = env.version.is_some() || env.generation == current;
    if reusable && env.alive() && in_force {
        if provisioned && env.initialization_type == InitializationType::ProvisionedConcurrency {
            lock(&p.provisioned_idle).push(env);
        } else {
            lock(&p.idle).push(env);
        }
    } else {
        env.kill().await;
        p.live.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Takes a managed-instances environment out of its version and kills it.
pub(crate) async fn retire(p: &Platform, env: &Arc<Environment>) {
    lock(&p.managed).retain(|e| !Arc::ptr_eq(e, env));
    env.kill().await;
    p.live.fetch_sub(1, Ordering::SeqCst);
}

/// An environment of the managed-instances `target` with room for one more invocation (the
/// least busy), claimed; `None` when all are full or none has started.
fn acquire_managed(p: &Platform, target: &Target) -> Option<Arc<Environment>> {
    let version = target.version?;
    let max = target.config.managed.as_ref()?.max_concurrency();
    let mut candidates: Vec<Arc<Environment>> = lock(&p.managed)
        .iter()
        .filter(|e| e.version == Some(version) && e.alive())
        .cloned()
        .collect();
    candidates.sort_by_key(|e| e.in_flight());
    candidates.into_iter().find(|e| e.claim(max))
}

/// After an invocation on a managed-instances environment: its place is free again; an
/// environment that crashed is retired.
async fn release_managed(p: &Platform, env: Arc<Environment>, reusable: bool) {
    env.unclaim();
    if !(reusable && env.alive()) {
        retire(p, &env).await;
    }
}
