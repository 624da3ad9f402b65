//! Lambda Managed Instances' environments on the local platform, through the Lambda API calls
//! AWS offers for them: a published version whose environments start when it is published and
//! before any traffic (its state `Pending`, then `Active`), `Put`/`GetFunctionScalingConfig` for
//! how many environments the version keeps, and `DeleteFunction` with a `Qualifier` to retire
//! the version. (A function's `CapacityProviderConfig` is kept in [`crate::capacity`]'s types;
//! the pool hands a version's environments to invocations.) Each environment serves up to
//! `PerExecutionEnvironmentMaxConcurrency` invocations at once, is never frozen, and gets the
//! vCPUs its memory and `ExecutionEnvironmentMemoryGiBPerVCpu` give it (not the on-demand memory
//! share). Invocations go to the least busy environment; when all are full the invocation is
//! throttled, as the router does while the scaler catches up.
//!
//! Not emulated: the capacity provider's instances (their types, placement across
//! Availability Zones, the three instances AWS launches at publish) and the asynchronous
//! scaling on CPU utilisation: a version keeps exactly the environments its scaling config asks
//! for (one when none is set).

use crate::capacity::{ManagedInstances, VersionEnvironments, ENVIRONMENTS_AT_PUBLISH};
use crate::environment::{Environment, InitState};
use crate::http::{function_arn, json_response, service_error, Body};
use crate::platform::Platform;
use crate::pool::{reserve, retire, spawn, Target};
use hyper::{Response, StatusCode};
use secbench_record::sync::lock;
use secbench_record::InitializationType;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// After `PublishVersion` of a managed-instances configuration: starts the version's
/// environments ahead of traffic.
pub(crate) fn published(p: &Arc<Platform>, version: u32) {
    lock(&p.state).managed_versions.insert(
        version,
        VersionEnvironments {
            wanted: ENVIRONMENTS_AT_PUBLISH,
            ..Default::default()
        },
    );
    let p = p.clone();
    tokio::spawn(async move { scale(&p, version).await });
}

fn environments_of(p: &Platform, version: u32) -> Vec<Arc<Environment>> {
    lock(&p.managed)
        .iter()
        .filter(|e| e.version == Some(version))
        .cloned()
        .collect()
}

/// Brings `version`'s environments to what its scaling config asks: starts the missing ones
/// (INIT with the environment's vCPUs), retires idle extra ones.
async fn scale(p: &Arc<Platform>, version: u32) {
    let _one_at_a_time = p.scaling.lock().await;
    let Ok(target) = crate::versions::target(p, Some(&version.to_string())) else {
        return;
    };
    let Some(managed) = target.config.managed.clone() else {
        return;
    };
    loop {
        let wanted = match lock(&p.state).managed_versions.get(&version) {
            Some(v) if v.failure.is_none() => v.wanted,
            _ => return,
        };
        let have = environments_of(p, version);
        if have.len() as u32 > wanted {
            let extra = have.iter().find(|e| e.in_flight() == 0).cloned();
            match extra {
                Some(env) => retire(p, &env).await,
                None => return,
            }
            continue;
        }
        if have.len() as u32 == wanted {
            if let Some(v) = lock(&p.state).managed_versions.get_mut(&version) {
                v.ready = wanted;
            }
            return;
        }
        let failure = start_one(p, &target, &managed).await.err();
        let mut s = lock(&p.state);
        match (s.managed_versions.get_mut(&version), failure) {
            (Some(v), Some(reason)) => {
                v.failure = Some(reason);
                return;
            }
            (Some(v), None) => v.ready = v.ready.max(have.len() as u32 + 1),
            (None, _) => return,
        }
    }
}

async fn start_one(
    p: &Arc<Platform>,
    target: &Target,
    managed: &ManagedInstances,
) -> Result<(), String> {
    if !reserve(p) {
        return Err("the function's concurrency is used up".into());
    }
    let cpus = managed.vcpus(target.config.memory_mb);
    let env = spawn(p, target, InitializationType::OnDemand, Some(cpus)).await?;
    match env.wait_ready().await {
        InitState::Ready(_) => {
            lock(&p.managed).push(env);
            Ok(())
        }
        other => {
            env.kill().await;
            p.live.fetch_sub(1, Ordering::SeqCst);
            Err(format!(
                "an execution environment did not initialise: {other:?}"
            ))
        }
    }
}

fn version_qualifier(p: &Platform, qualifier: Option<&str>) -> Result<u32, Box<Response<Body>>> {
    let q = qualifier.filter(|q| *q != "$LATEST").ok_or_else(|| {
        Box::new(service_error(
            StatusCode::BAD_REQUEST,
            "InvalidParameterValueException",
            "a function scaling config needs a published version as Qualifier",
        ))
    })?;
    let s = lock(&p.state);
    let version = q
        .parse::<u32>()
        .ok()
        .filter(|v| s.versions.contains_key(v))
        .or_else(|| s.aliases.get(q).copied());
    match version {
        Some(v) if s.managed_versions.contains_key(&v) => Ok(v),
        Some(_) => Err(Box::new(service_error(
            StatusCode::BAD_REQUEST,
            "InvalidParameterValueException",
            "the version does not run on a capacity provider",
        ))),
        None => Err(Box::new(service_error(
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            &format!(
                "Function not found: {}:{q}",
                function_arn(&p.config.region, &p.config.function_name)
            ),
        ))),
    }
}

fn scaling_document(v: &VersionEnvironments) -> serde_json::Value {
    let mut d = serde_json::json!({"MinExecutionEnvironments": v.wanted});
    if let Some(max) = v.max {
        d["MaxExecutionEnvironments"] = serde_json::json!(max);
    }
    d
}

/// `PutFunctionScalingConfig`: how many environments the version keeps; answers the
/// version's state (`Pending` while environments start).
pub(crate) fn put_scaling(
    p: &Arc<Platform>,
    qualifier: Option<&str>,
    body: &[u8],
) -> Response<Body> {
    let version = match version_qualifier(p, qualifier) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let request: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let config = &request["FunctionScalingConfig"];
    let min = config["MinExecutionEnvironments"]
        .as_u64()
        .and_then(|n| u32::try_from(n).ok());
    let max = config["MaxExecutionEnvironments"]
        .as_u64()
        .and_then(|n| u32::try_from(n).ok());
    let Some(min) = min.filter(|m| max.is_none_or(|x| *m <= x)) else {
        return service_error(
            StatusCode::BAD_REQUEST,
            "InvalidParameterValueException",
            "FunctionScalingConfig needs MinExecutionEnvironments, at most MaxExecutionEnvironments",
        );
    };
    let state = {
        let mut s = lock(&p.state);
        let Some(v) = s.managed_versions.get_mut(&version) else {
            return service_error(
                StatusCode::NOT_FOUND,
                "ResourceNotFoundException",
                "version gone",
            );
        };
        v.wanted = min;
        v.max = max;
        v.ready = v.ready.min(min);
        v.state().0
    };
    let p2 = p.clone();
    tokio::spawn(async move { scale(&p2, version).await });
    json_response(
        StatusCode::ACCEPTED,
        &serde_json::json!({"FunctionState": state}),
    )
}

/// `GetFunctionScalingConfig`.
pub(crate) fn get_scaling(p: &Platform, qualifier: Option<&str>) -> Response<Body> {
    let version = match version_qualifier(p, qualifier) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let v = lock(&p.state)
        .managed_versions
        .get(&version)
        .cloned()
        .unwrap_or_default();
    json_response(
        StatusCode::OK,
        &serde_json::json!({
            "FunctionArn": format!("{}:{version}", function_arn(&p.config.region, &p.config.function_name)),
            "AppliedFunctionScalingConfig": scaling_document(&VersionEnvironments { wanted: v.ready, ..v.clone() }),
            "RequestedFunctionScalingConfig": scaling_document(&v),
        }),
    )
}

/// `DeleteFunction` with a version as `Qualifier`: the version and its environments go.
pub(crate) async fn delete_version(p: &Arc<Platform>, qualifier: Option<&str>) -> Response<Body> {
    let Some(version) = qualifier.and_then(|q| q.parse::<u32>().ok()) else {
        return service_error(
            StatusCode::BAD_REQUEST,
            "InvalidParameterValueException",
            "the local platform deletes published versions only (Qualifier = a version number)",
        );
    };
    {
        let mut s = lock(&p.state);
        if s.versions.remove(&version).is_none() {
            return service_error(
                StatusCode::NOT_FOUND,
                "ResourceNotFoundException",
                &format!("Function version {version} not found"),
            );
        }
        s.managed_versions.remove(&version);
        s.aliases.retain(|_, v| *v != version);
    }
    crate::snapstart::forget(p, version).await;
    // Its idle on-demand environments go with it.
    let idle: Vec<_> = {
        let mut idle = lock(&p.idle);
        let (gone, kept) = idle.drain(..).partition(|e| e.version == Some(version));
        *idle = kept;
        gone
    };
    p.live.fetch_sub(idle.len(), Ordering::SeqCst);
    for env in idle {
        env.kill().await;
    }
    for env in environments_of(p, version) {
        retire(p, &env).await;
    }
    let mut r = Response::new(crate::http::full(bytes::Bytes::new()));
    *r.status_mut() = StatusCode::NO_CONTENT;
    r
}
