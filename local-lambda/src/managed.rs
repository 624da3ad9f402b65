//! Lambda Managed Instances on the local platform, through the Lambda API calls AWS offers for
//! them: a function's `CapacityProviderConfig` (`UpdateFunctionConfiguration`), a published
//! version whose environments start when it is published and before any traffic (its state
//! `Pending`, then `Active`), `Put`/`GetFunctionScalingConfig` for how many environments the
//! version keeps, and `DeleteFunction` with a `Qualifier` to retire the version. Each
//! environment serves up to `PerExecutionEnvironmentMaxConcurrency` invocations at once, is
//! never frozen, and gets the vCPUs its memory and `ExecutionEnvironmentMemoryGiBPerVCpu` give
//! it (not the on-demand memory share). Invocations go to the least busy environment; when all
//! are full the invocation is throttled, as the router does while the scaler catches up.
//!
//! Not emulated: the capacity provider's instances (their types, placement across
//! Availability Zones, the three instances AWS launches at publish) and the asynchronous
//! scaling on CPU utilisation: a version keeps exactly the environments its scaling config asks
//! for (one when none is set).

use crate::environment::{Environment, InitState};
use crate::http::{function_arn, json_response, service_error, Body};
use crate::platform::Platform;
use crate::pool::{reserve, spawn, Target};
use hyper::{Response, StatusCode};
use secbench_record::sync::lock;
use secbench_record::InitializationType;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// The environments a managed-instances version starts with when no scaling config says
/// otherwise. AWS starts three (one per Availability Zone); the local stage, on one machine,
/// starts one so that the plan's concurrency meets one environment.
pub(crate) const ENVIRONMENTS_AT_PUBLISH: u32 = 1;

/// A function's `LambdaManagedInstancesCapacityProviderConfig`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ManagedInstances {
    /// `CapacityProviderArn`.
    pub(crate) capacity_provider_arn: String,
    /// `PerExecutionEnvironmentMaxConcurrency` and `ExecutionEnvironmentMemoryGiBPerVCpu`.
    pub(crate) shape: secbench_record::lambda::ManagedInstances,
}

/// What an `UpdateFunctionConfiguration` does to the capacity provider config.
pub(crate) enum Change {
    /// Leaves it (the body does not name it).
    Keep,
    /// Sets it.
    Set(ManagedInstances),
    /// Removes it: `"CapacityProviderConfig": {}`. On AWS a function stays on (or off) a
    /// capacity provider for its life (the template makes a function of each kind); the local
    /// platform's one function takes this so that the scenarios after a managed-instances one
    /// run on demand again.
    Clear,
}

impl ManagedInstances {
    /// Reads `CapacityProviderConfig` from an `UpdateFunctionConfiguration` body.
    pub(crate) fn from_request(request: &serde_json::Value) -> Result<Change, String> {
        use secbench_record::lambda::{MANAGED_MAX_CONCURRENCY, MANAGED_MEMORY_GIB_PER_VCPU};
        let Some(config) = request.get("CapacityProviderConfig") else {
            return Ok(Change::Keep);
        };
        let Some(lmi) = config.get("LambdaManagedInstancesCapacityProviderConfig") else {
            return Ok(Change::Clear);
        };
        let arn = lmi["CapacityProviderArn"]
            .as_str()
            .filter(|a| a.contains(":capacity-provider:"))
            .ok_or("CapacityProviderArn must be a capacity provider's ARN")?;
        let max_concurrency = match lmi.get("PerExecutionEnvironmentMaxConcurrency") {
            None => {
                return Err("the local platform needs PerExecutionEnvironmentMaxConcurrency (AWS's default depends on the runtime)".into())
            }
            Some(v) => v
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .filter(|n| MANAGED_MAX_CONCURRENCY.contains(n))
                .ok_or("PerExecutionEnvironmentMaxConcurrency must be between 1 and 1600")?,
        };
        let memory_gib_per_vcpu = match lmi.get("ExecutionEnvironmentMemoryGiBPerVCpu") {
            None => *MANAGED_MEMORY_GIB_PER_VCPU.start(),
            Some(v) => v
                .as_f64()
                .filter(|r| MANAGED_MEMORY_GIB_PER_VCPU.contains(r))
                .ok_or("ExecutionEnvironmentMemoryGiBPerVCpu must be between 2.0 and 8.0")?,
        };
        Ok(Change::Set(ManagedInstances {
            capacity_provider_arn: arn.to_owned(),
            shape: secbench_record::lambda::ManagedInstances {
                max_concurrency,
                memory_gib_per_vcpu,
            },
        }))
    }

    /// `CapacityProviderConfig` as `GetFunctionConfiguration` returns it.
    pub(crate) fn document(&self) -> serde_json::Value {
        serde_json::json!({
            "LambdaManagedInstancesCapacityProviderConfig": {
                "CapacityProviderArn": self.capacity_provider_arn,
                "PerExecutionEnvironmentMaxConcurrency": self.shape.max_concurrency,
                "ExecutionEnvironmentMemoryGiBPerVCpu": self.shape.memory_gib_per_vcpu,
            }
        })
    }

    /// The vCPUs an environment of `memory_mb` gets.
    pub(crate) fn vcpus(&self, memory_mb: u32) -> f64 {
        self.shape.vcpus(memory_mb)
    }

    /// `PerExecutionEnvironmentMaxConcurrency`.
    pub(crate) fn max_concurrency(&self) -> u32 {
        self.shape.max_concurrency
    }
}

/// A managed-instances version's environments: asked for, initialised, and why not.
#[derive(Debug, Clone, Default)]
pub(crate) struct VersionEnvironments {
    /// `MinExecutionEnvironments` (or [`ENVIRONMENTS_AT_PUBLISH`]).
    pub(crate) wanted: u32,
    /// `MaxExecutionEnvironments` as asked (reported, not otherwise used).
    pub(crate) max: Option<u32>,
    /// Initialised and serving.
    pub(crate) ready: u32,
    /// Why one did not start.
    pub(crate) failure: Option<String>,
}

impl VersionEnvironments {
    /// The version's `State` and `StateReason`.
    pub(crate) fn state(&self) -> (&'static str, Option<&str>) {
        match (&self.failure, self.ready >= self.wanted) {
            (Some(reason), _) => ("Failed", Some(reason.as_str())),
            (None, true) => ("Active", None),
            (None, false) => ("Pending", None),
        }
    }
}

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

async fn retire(p: &Platform, env: &Arc<Environment>) {
    lock(&p.managed).retain(|e| !Arc::ptr_eq(e, env));
    env.kill().await;
    p.live.fetch_sub(1, Ordering::SeqCst);
}

/// An environment of the managed-instances `target` with room for one more invocation (the
/// least busy), claimed; `None` when all are full or none has started.
pub(crate) fn acquire(p: &Platform, target: &Target) -> Option<Arc<Environment>> {
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
pub(crate) async fn release(p: &Platform, env: Arc<Environment>, reusable: bool) {
    env.unclaim();
    if !(reusable && env.alive()) {
        retire(p, &env).await;
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
    for env in environments_of(p, version) {
        retire(p, &env).await;
    }
    let mut r = Response::new(crate::http::full(bytes::Bytes::new()));
    *r.status_mut() = StatusCode::NO_CONTENT;
    r
}

/// What a version's `GetFunctionConfiguration` adds: its state while its environments start.
pub(crate) fn version_state(p: &Platform, version: u32) -> Option<(String, Option<String>)> {
    lock(&p.state).managed_versions.get(&version).map(|v| {
        let (state, reason) = v.state();
        (state.to_owned(), reason.map(str::to_owned))
    })
}
