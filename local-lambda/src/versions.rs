//! Published versions, aliases and provisioned concurrency on the local platform, as the
//! Lambda API offers them: `PublishVersion` snapshots `$LATEST`; an alias points to a version;
//! `PutProvisionedConcurrencyConfig` on an alias (or version) starts that many environments of
//! its version ahead of traffic (INIT at the memory share, `AWS_LAMBDA_INITIALIZATION_TYPE =
//! provisioned-concurrency`), each frozen until its first invocation, and reports `READY` when
//! all have initialised; `DeleteProvisionedConcurrencyConfig` retires them. An invocation with
//! a `Qualifier` runs that version: on a provisioned environment while one waits, else on
//! demand (as Lambda spills over).

use crate::environment::InitState;
use crate::http::{function_arn, json_response, service_error, Body};
use crate::platform::{Platform, Provisioning, ProvisioningStatus};
use crate::pool::{reserve, spawn, Target};
use hyper::{Response, StatusCode};
use secbench_record::sync::lock;
use secbench_record::InitializationType;
use std::sync::Arc;

/// The `Qualifier` query parameter of a request, if any.
pub(crate) fn qualifier_of(uri: &hyper::Uri) -> Option<String> {
    uri.query()?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == "Qualifier").then(|| {
            percent_encoding::percent_decode_str(v)
                .decode_utf8_lossy()
                .into_owned()
        })
    })
}

/// A qualifier that names no version or alias of the function (the function's ARN with it).
#[derive(Debug)]
pub(crate) struct UnknownQualifier(String);

impl UnknownQualifier {
    /// Lambda's answer: `ResourceNotFoundException`.
    pub(crate) fn response(&self) -> Response<Body> {
        service_error(
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            &format!("Function not found: {}", self.0),
        )
    }
}

/// The version a qualifier names (`$LATEST`: `None`).
fn version_of(p: &Platform, qualifier: Option<&str>) -> Result<Option<u32>, UnknownQualifier> {
    let s = lock(&p.state);
    match qualifier {
        None | Some("$LATEST") => Ok(None),
        Some(q) => match q.parse::<u32>() {
            Ok(v) if s.versions.contains_key(&v) => Ok(Some(v)),
            _ => s.aliases.get(q).map(|v| Some(*v)).ok_or_else(|| {
                UnknownQualifier(format!(
                    "{}:{q}",
                    function_arn(&p.config.region, &p.config.function_name)
                ))
            }),
        },
    }
}

/// What an invocation with `qualifier` runs.
pub(crate) fn target(p: &Platform, qualifier: Option<&str>) -> Result<Target, UnknownQualifier> {
    let version = version_of(p, qualifier)?;
    let s = lock(&p.state);
    let config = match version {
        None => s.published(),
        Some(v) => s.versions.get(&v).cloned().unwrap_or_else(|| s.published()),
    };
    Ok(Target {
        config,
        version,
        generation: s.generation,
    })
}

/// What a new version needs before it serves: nothing, its environments started (on a
/// capacity provider), or its snapshot taken (SnapStart).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Publishing {
    /// Ready at once.
    Ready,
    /// Lambda Managed Instances: the environments start.
    Managed,
    /// SnapStart: INIT runs once, for the snapshot.
    Snapshot,
}

/// `PublishVersion`: a new version with `$LATEST`'s configuration; its number, and what the
/// caller starts for it.
pub(crate) fn publish_version(p: &Platform) -> (Response<Body>, u32, Publishing) {
    let mut s = lock(&p.state);
    s.last_version += 1;
    let next = s.last_version;
    let published = s.published();
    let publishing = match (published.managed.is_some(), published.snapstart) {
        (true, _) => Publishing::Managed,
        (false, true) => Publishing::Snapshot,
        (false, false) => Publishing::Ready,
    };
    s.versions.insert(next, published);
    drop(s);
    let mut c = crate::configuration::configuration(p);
    if publishing != Publishing::Ready {
        c["State"] = serde_json::json!("Pending");
    }
    if publishing == Publishing::Snapshot {
        c["SnapStart"] = crate::snapshot::document(true, true);
    }
    c["Version"] = serde_json::json!(next.to_string());
    c["FunctionArn"] = serde_json::json!(format!(
        "{}:{next}",
        function_arn(&p.config.region, &p.config.function_name)
    ));
    (json_response(StatusCode::CREATED, &c), next, publishing)
}

fn alias_document(p: &Platform, name: &str, version: u32) -> serde_json::Value {
    serde_json::json!({
        "AliasArn": format!("{}:{name}", function_arn(&p.config.region, &p.config.function_name)),
        "Name": name,
        "FunctionVersion": version.to_string(),
        "Description": "",
        "RevisionId": format!("{:08x}-0000-4000-8000-{:012x}", version, name.len()),
    })
}

/// `CreateAlias` (`name` absent: from the body) or `UpdateAlias`.
pub(crate) fn put_alias(
    p: &Platform,
    name: Option<&str>,
    body: &[u8],
    create: bool,
) -> Response<Body> {
    let request: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let Some(name) = name
        .map(str::to_owned)
        .or_else(|| request["Name"].as_str().map(str::to_owned))
    else {
        return service_error(
            StatusCode::BAD_REQUEST,
            "InvalidParameterValueException",
            "Name is required",
        );
    };
    let version = request["FunctionVersion"]
        .as_str()
        .and_then(|v| v.parse::<u32>().ok());
    let mut s = lock(&p.state);
    let Some(version) =
        version.or_else(|| (!create).then(|| s.aliases.get(&name).copied()).flatten())
    else {
        return service_error(
            StatusCode::BAD_REQUEST,
            "InvalidParameterValueException",
            "FunctionVersion must be a published version",
        );
    };
    if !s.versions.contains_key(&version) {
        return service_error(
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            &format!("Function version {version} not found"),
        );
    }
    match (create, s.aliases.contains_key(&name)) {
        (true, true) => {
            return service_error(
                StatusCode::CONFLICT,
                "ResourceConflictException",
                &format!("Alias already exists: {name}"),
            )
        }
        (false, false) => {
            return service_error(
                StatusCode::NOT_FOUND,
                "ResourceNotFoundException",
                &format!("Alias not found: {name}"),
            )
        }
        _ => {}
    }
    s.aliases.insert(name.clone(), version);
    drop(s);
    let status = if create {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    json_response(status, &alias_document(p, &name, version))
}

/// `GetAlias`.
/// `DeleteAlias`.
pub(crate) fn delete_alias(p: &Platform, name: &str) -> Response<Body> {
    if lock(&p.state).aliases.remove(name).is_none() {
        return service_error(
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            &format!("Alias not found: {name}"),
        );
    }
    let mut r = Response::new(crate::http::full(bytes::Bytes::new()));
    *r.status_mut() = StatusCode::NO_CONTENT;
    r
}

pub(crate) fn get_alias(p: &Platform, name: &str) -> Response<Body> {
    let version = lock(&p.state).aliases.get(name).copied();
    match version {
        Some(v) => json_response(StatusCode::OK, &alias_document(p, name, v)),
        None => service_error(
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            &format!("Alias not found: {name}"),
        ),
    }
}

fn provisioned_document(c: &Provisioning) -> serde_json::Value {
    let mut v = serde_json::json!({
        "RequestedProvisionedConcurrentExecutions": c.requested,
        "AvailableProvisionedConcurrentExecutions": c.allocated,
        "AllocatedProvisionedConcurrentExecutions": c.allocated,
        "Status": c.status.as_str(),
        "LastModified": humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string().replace('Z', "+0000"),
    });
    if let Some(r) = &c.reason {
        v["StatusReason"] = serde_json::json!(r);
    }
    v
}

fn no_config(qualifier: &str) -> Response<Body> {
    service_error(
        StatusCode::NOT_FOUND,
        "ProvisionedConcurrencyConfigNotFoundException",
        &format!("No Provisioned Concurrency Config found for this function: {qualifier}"),
    )
}

/// `PutProvisionedConcurrencyConfig`: starts the environments, reports `IN_PROGRESS` until
/// all have initialised.
pub(crate) fn put_provisioned(
    p: &Arc<Platform>,
    qualifier: Option<&str>,
    body: &[u8],
) -> Response<Body> {
    let Some(qualifier) = qualifier.filter(|q| *q != "$LATEST") else {
        return needs_qualifier();
    };
    let version = match version_of(p, Some(qualifier)) {
        Ok(Some(v)) => v,
        Ok(None) => return needs_qualifier(),
        Err(e) => return e.response(),
    };
    let request: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let Some(requested) = request["ProvisionedConcurrentExecutions"]
        .as_u64()
        .and_then(|n| u32::try_from(n).ok())
        .filter(|n| *n >= 1)
    else {
        return service_error(
            StatusCode::BAD_REQUEST,
            "InvalidParameterValueException",
            "ProvisionedConcurrentExecutions must be at least 1",
        );
    };
    let config = Provisioning {
        qualifier: qualifier.to_owned(),
        requested,
        allocated: 0,
        status: ProvisioningStatus::InProgress,
        reason: None,
    };
    let document = provisioned_document(&config);
    let previous = lock(&p.state).provisioned.insert(version, config);
    let p = p.clone();
    tokio::spawn(async move {
        if previous.is_some() {
            retire_provisioned(&p, version).await;
        }
        provision(&p, version, requested).await;
    });
    json_response(StatusCode::ACCEPTED, &document)
}

fn needs_qualifier() -> Response<Body> {
    service_error(
        StatusCode::BAD_REQUEST,
        "InvalidParameterValueException",
        "Provisioned concurrency needs a version or an alias as Qualifier",
    )
}

/// Starts `requested` environments of `version`, INIT at the memory share, each frozen once
/// ready; the config turns `READY` when all are, `FAILED` with the reason when one is not.
async fn provision(p: &Arc<Platform>, version: u32, requested: u32) {
    let target = match target(p, Some(&version.to_string())) {
        Ok(t) => t,
        Err(_) => return,
    };
    let mut failure = None;
    for _ in 0..requested {
        if !reserve(p) {
            failure = Some("the function's concurrency is used up".to_owned());
            break;
        }
        // Lambda is observed not to boost INIT under provisioned concurrency.
        let env = match spawn(p, &target, InitializationType::ProvisionedConcurrency, None).await {
            Ok(env) => env,
            Err(e) => {
                failure = Some(e);
                break;
            }
        };
        match env.wait_ready().await {
            InitState::Ready(_) => {
                env.park();
                let still = lock(&p.state).provisioned.contains_key(&version);
                if !still {
                    env.kill().await;
                    p.live.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                    return;
                }
                lock(&p.provisioned_idle).push(env);
                if let Some(c) = lock(&p.state).provisioned.get_mut(&version) {
                    c.allocated += 1;
                }
            }
            other => {
                env.kill().await;
                p.live.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                failure = Some(format!("an environment did not initialise: {other:?}"));
                break;
            }
        }
    }
    if let Some(c) = lock(&p.state).provisioned.get_mut(&version) {
        match failure {
            Some(reason) => {
                c.status = ProvisioningStatus::Failed;
                c.reason = Some(reason);
            }
            None => c.status = ProvisioningStatus::Ready,
        }
    }
}

/// Retires the idle provisioned environments of `version` (busy ones are retired as they
/// finish: their config is gone).
async fn retire_provisioned(p: &Arc<Platform>, version: u32) {
    let gone: Vec<_> = {
        let mut idle = lock(&p.provisioned_idle);
        let (gone, kept) = idle.drain(..).partition(|e| e.version == Some(version));
        *idle = kept;
        gone
    };
    for env in gone {
        env.kill().await;
        p.live.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// `GetProvisionedConcurrencyConfig`.
pub(crate) fn get_provisioned(p: &Platform, qualifier: Option<&str>) -> Response<Body> {
    let q = qualifier.unwrap_or("$LATEST");
    let version = match version_of(p, Some(q)) {
        Ok(Some(v)) => v,
        Ok(None) => return no_config(q),
        Err(e) => return e.response(),
    };
    let config = lock(&p.state).provisioned.get(&version).cloned();
    match config {
        Some(c) if c.qualifier == q => json_response(StatusCode::OK, &provisioned_document(&c)),
        _ => no_config(q),
    }
}

/// `DeleteProvisionedConcurrencyConfig`.
pub(crate) async fn delete_provisioned(
    p: &Arc<Platform>,
    qualifier: Option<&str>,
) -> Response<Body> {
    let q = qualifier.unwrap_or("$LATEST");
    let version = match version_of(p, Some(q)) {
        Ok(Some(v)) => v,
        Ok(None) => return no_config(q),
        Err(e) => return e.response(),
    };
    let removed = lock(&p.state).provisioned.remove(&version);
    if removed.is_none() {
        return no_config(q);
    }
    retire_provisioned(p, version).await;
    let mut r = Response::new(crate::http::full(bytes::Bytes::new()));
    *r.status_mut() = StatusCode::NO_CONTENT;
    r
}

/// `GetFunctionConfiguration` with a `Qualifier`: a published version's configuration and,
/// on a capacity provider, its state while its environments start.
pub(crate) fn version_configuration(p: &Platform, qualifier: Option<&str>) -> Response<Body> {
    let target = match target(p, qualifier) {
        Ok(t) => t,
        Err(e) => return e.response(),
    };
    let mut c = crate::configuration::configuration(p);
    if let Some(v) = target.version {
        let config = &target.config;
        c["Version"] = serde_json::json!(v.to_string());
        c["FunctionArn"] = serde_json::json!(format!(
            "{}:{v}",
            function_arn(&p.config.region, &p.config.function_name)
        ));
        c["MemorySize"] = serde_json::json!(config.memory_mb);
        c["Timeout"] = serde_json::json!(config.timeout.as_secs());
        c["Environment"] = serde_json::json!({"Variables": config.vars});
        match &config.managed {
            Some(m) => c["CapacityProviderConfig"] = m.document(),
            None => {
                if let Some(o) = c.as_object_mut() {
                    o.remove("CapacityProviderConfig");
                }
            }
        }
        c["SnapStart"] = crate::snapshot::document(config.snapstart, true);
        if let Some((state, reason)) = lock(&p.snapshots).state(v) {
            c["State"] = serde_json::json!(state);
            if let Some(r) = reason {
                c["StateReason"] = serde_json::json!(r);
            }
        }
        let managed = lock(&p.state).managed_versions.get(&v).cloned();
        if let Some(environments) = managed {
            let (state, reason) = environments.state();
            c["State"] = serde_json::json!(state);
            if let Some(r) = reason {
                c["StateReason"] = serde_json::json!(r);
            }
        }
    }
    json_response(StatusCode::OK, &c)
}
