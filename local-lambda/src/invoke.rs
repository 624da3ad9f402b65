//! One Invoke on the local platform: an environment from the pool, the event delivered through
//! its Runtime API, the function's answer (or its error, timeout, crash or out-of-memory) as
//! Lambda returns it, and the log tail with the REPORT line the platform measured and the
//! `SECBENCH_USAGE` line of the environment's counters.

use crate::constraints::Constraints;
use crate::environment::{self, Environment, InvokeResult};
use crate::http::{full, read_body, service_error, Body};
use crate::logs::{self, Measured};
use crate::platform::Platform;
use crate::pool::{acquire, release, Acquired};
use base64::Engine as _;
use bytes::Bytes;
use hyper::{Request, Response, StatusCode};
use secbench_record::sync::lock;
use std::sync::Arc;
use std::time::Instant;

pub(crate) async fn invoke(
    p: Arc<Platform>,
    req: Request<hyper::body::Incoming>,
) -> Result<Response<Body>, hyper::Error> {
    let tail_wanted = req
        .headers()
        .get("x-amz-log-type")
        .and_then(|v| v.to_str().ok())
        == Some("Tail");
    let qualifier = crate::versions::qualifier_of(req.uri());
    let payload = read_body(req).await?;
    let target = match crate::versions::target(&p, qualifier.as_deref()) {
        Ok(t) => t,
        Err(e) => return Ok(e.response()),
    };
    let request_id = uuid_v4();
    let (env, init) = match acquire(&p, &target).await {
        Acquired::Warm(env) => (env, None),
        Acquired::Cold(env, init) => (env, Some(init)),
        Acquired::Throttled => {
            return Ok(service_error(
                StatusCode::TOO_MANY_REQUESTS,
                "TooManyRequestsException",
                "Rate Exceeded.",
            ))
        }
        Acquired::NotInvocable(message) => {
            return Ok(service_error(
                StatusCode::BAD_REQUEST,
                "InvalidParameterValueException",
                &message,
            ))
        }
        Acquired::NoSnapshot(error_type, message) => {
            return Ok(service_error(
                crate::snapshot::status_of(error_type),
                error_type,
                &message,
            ));
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
            // A restore that failed (an after-restore hook raised: the runtime's
            // `/restore/error`, or the restored process exited) is the Invoke's error, as
            // Lambda answers it: `SnapStartException`, the hook's error in the environment's log.
            if env.initialization_type == secbench_record::InitializationType::SnapStart {
                release(&p, env, false).await;
                return Ok(service_error(
                    crate::snapshot::status_of(crate::snapshot::RESTORE_FAILED),
                    crate::snapshot::RESTORE_FAILED,
                    &format!("The afterRestore() runtime hook failed ({error_type}). Check the function's logs."),
                ));
            }
            let mut lines = lock(&env.logs).since(0);
            let measured = Measured {
                request_id: request_id.clone(),
                duration_ms: 0.0,
                memory_size_mb: target.config.memory_mb,
                max_memory_used_mb: env.max_memory_used_mb(),
                init_duration_ms: Some(init.as_secs_f64() * 1e3),
                restored: env.initialization_type == secbench_record::InitializationType::SnapStart,
                status: Some("error"),
                error_type: None,
            };
            lines.push(secbench_record::report_line::format_init_report_line(
                &secbench_record::run::InitReport {
                    init_duration_ms: Some(init.as_secs_f64() * 1e3),
                    phase: Some("init".into()),
                    status: Some("error".into()),
                    error_type: Some(error_type.clone()),
                },
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
                &target.executed_version(),
            ));
        }
    };
    let mark = lock(&env.logs).mark();
    let in_flight = env.managed_concurrency.map(|_| env.in_flight());
    let started = Instant::now();
    let (result, window) = env
        .invoke(&request_id, payload, target.config.timeout)
        .await;
    let duration = started.elapsed();
    let usage = usage(&p, &env, window, init.is_some()).map(|mut u| {
        if in_flight.is_some() {
            u.in_flight = in_flight;
            let init_cpu = env
                .init_window()
                .and_then(|(w, _)| w.cpu)
                .map_or(0, |c| c.cpu_ns);
            u.environment_cpu_ns = env.cpu_usage().map(|c| c.cpu_ns.saturating_sub(init_cpu));
            u.environment_answered = Some(env.answered());
        }
        u
    });
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
                target.config.timeout.as_secs_f64()
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
        memory_size_mb: target.config.memory_mb,
        max_memory_used_mb: env.max_memory_used_mb(),
        init_duration_ms: init.map(|d| d.as_secs_f64() * 1e3),
        restored: env.initialization_type == secbench_record::InitializationType::SnapStart,
        status,
        error_type: error_type_field,
    };
    let tail = tail_wanted.then(|| {
        let lines = lock(&env.logs).since(mark);
        logs::tail(&lines, &measured, usage.as_ref())
    });
    release(&p, env, reusable).await;
    Ok(function_response(
        body,
        function_error,
        tail,
        &target.executed_version(),
    ))
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
    // A provisioned environment's INIT happened ahead of its first invocation: its counters
    // go with that invocation, as a cold one's do.
    let init = (cold || env.first_invocation())
        .then(|| env.init_window())
        .flatten();
    // Connections of a cold invocation count from the spawn: INIT's fetch is its fetch. A
    // SnapStart restore's SDK clients are its snapshot's, built with the snapshot environment's
    // endpoint: the snapshot's listener hands their connections to this environment's when its
    // cgroup shows whose they are (`crate::peer`); without a cgroup none is reported (the
    // probe's record says whether its first call reconnected).
    let connections = match (init, window.connections) {
        _ if env.initialization_type == secbench_record::InitializationType::SnapStart
            && env.limits().is_none() =>
        {
            None
        }
        (Some((w, _)), Some(c)) => w.connections.map(|i| i.plus(&c)),
        (_, c) => c,
    };
    Some(secbench_record::run::EnvironmentUsage {
        constrained: window.cpu.is_some(),
        cpu_share_millis: env.cpu_allowance().map(|a| a.share_millis()),
        init_cpu_share_millis: init.and(env.init_allowance()).map(|a| a.share_millis()),
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
        ..Default::default()
    })
}

pub(crate) fn function_response(
    body: Bytes,
    function_error: Option<&'static str>,
    tail: Option<String>,
    executed_version: &str,
) -> Response<Body> {
    let mut r = Response::new(full(body));
    let h = r.headers_mut();
    h.insert(
        "content-type",
        hyper::header::HeaderValue::from_static("application/json"),
    );
    h.insert(
        "x-amz-executed-version",
        hyper::header::HeaderValue::from_str(executed_version)
            .unwrap_or_else(|_| hyper::header::HeaderValue::from_static("$LATEST")),
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
