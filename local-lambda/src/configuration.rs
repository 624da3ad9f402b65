//! `GetFunctionConfiguration` and `UpdateFunctionConfiguration` on the local platform: the
//! function's state as Lambda reports it (`LastUpdateStatus`, `RevisionId`, layers), and a
//! change that retires every environment, as on AWS (that is how cold starts are forced).

use crate::http::{architecture, function_arn, json_response, service_error, Body};
use crate::platform::Platform;
use hyper::{Response, StatusCode};
use secbench_record::sync::lock;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

pub(crate) fn configuration(p: &Platform) -> serde_json::Value {
    let s = lock(&p.state).clone();
    let mut c = serde_json::json!({
        "FunctionName": p.config.function_name,
        "FunctionArn": function_arn(&p.config.region, &p.config.function_name),
        "Runtime": "provided.al2023",
        "Role": "arn:aws:iam::000000000000:role/secbench-probe-local",
        "Handler": "bootstrap",
        "CodeSize": std::fs::metadata(&lock(&p.code).bin).map(|m| m.len()).unwrap_or(0),
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
    });
    if let Some(m) = &s.managed {
        c["CapacityProviderConfig"] = m.document();
    }
    c["SnapStart"] = crate::snapshot::document(s.snapstart, false);
    c
}

pub(crate) fn update_configuration(p: Arc<Platform>, body: &[u8]) -> Response<Body> {
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
    let managed = match crate::capacity::ManagedInstances::from_request(&request) {
        Ok(m) => m,
        Err(e) => {
            return service_error(
                StatusCode::BAD_REQUEST,
                "InvalidParameterValueException",
                &e,
            )
        }
    };
    let snapstart = match crate::snapshot::from_request(&request) {
        Ok(s) => s,
        Err(e) => {
            return service_error(
                StatusCode::BAD_REQUEST,
                "InvalidParameterValueException",
                &e,
            )
        }
    };
    {
        let mut s = lock(&p.state);
        if let Some(on) = snapstart {
            s.snapstart = on;
        }
        match managed {
            crate::capacity::Change::Keep => {}
            crate::capacity::Change::Set(m) => s.managed = Some(m),
            crate::capacity::Change::Clear => s.managed = None,
        }
        if let Some(memory) = request.get("MemorySize").and_then(|m| m.as_u64()) {
            if !u32::try_from(memory).is_ok_and(secbench_record::lambda::memory_allowed) {
                return service_error(
                    StatusCode::BAD_REQUEST,
                    "InvalidParameterValueException",
                    "MemorySize must be between 128 and 10240",
                );
            }
            s.memory_mb = memory as u32;
        }
        if let Some(t) = request.get("Timeout").and_then(|t| t.as_u64()) {
            s.timeout = Duration::from_secs(t).clamp(
                secbench_record::lambda::MIN_TIMEOUT,
                secbench_record::lambda::MAX_TIMEOUT,
            );
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
    // environment; the ones in flight are retired as they finish (`release`). Environments of
    // published versions keep their configuration.
    let old: Vec<_> = {
        let mut idle = lock(&p.idle);
        let (old, kept) = idle.drain(..).partition(|e| e.version.is_none());
        *idle = kept;
        old
    };
    p.live.fetch_sub(old.len(), Ordering::SeqCst);
    tokio::spawn(async move {
        for env in old {
            env.kill().await;
        }
        lock(&p.state).updating = false;
    });
    response
}
