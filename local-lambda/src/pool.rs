//! The function's execution environments: a warm one of the current configuration if one is
//! idle, else a new one (INIT), within the function's concurrency (beyond it: throttled); and
//! after an invocation, back to the idle ones or retired.

use crate::environment::{AgentSpec, EnvSpec, Environment, InitState};
use crate::http::function_arn;
use crate::{cgroup, Constraints, FunctionState, Platform, EXTENSION_LAYER_NAME};
use bytes::Bytes;
use secbench_record::sync::lock;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

pub(crate) enum Acquired {
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

pub(crate) async fn acquire(p: &Arc<Platform>, state: &FunctionState) -> Acquired {
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
                .get(secbench_record::probe_config::var::AGENT_SECRETS_MANAGER_TTL)
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
        function_arn: function_arn(&p.config.region, &p.config.function_name),
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

pub(crate) async fn release(p: &Arc<Platform>, env: Arc<Environment>, reusable: bool) {
    let current = lock(&p.state).generation;
    if reusable && env.alive() && env.generation == current {
        lock(&p.idle).push(env);
    } else {
        env.kill().await;
        p.live.fetch_sub(1, Ordering::SeqCst);
    }
}
