//! The snapshots of a function's SnapStart versions (see [`crate::snapstart`]): where each
//! serves restores, the environment that took it, and what a version's state and a cold start
//! of it come to; and the `SnapStart` setting as the Lambda API reads and writes it.

use crate::environment::{Environment, SnapStartRole};
use crate::front::ConnCounts;
use crate::peer::Restores;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

/// `ApplyOn` from an `UpdateFunctionConfiguration` request: `Some(true)` for
/// `PublishedVersions`, `Some(false)` for `None`, `None` when the request leaves it alone.
pub(crate) fn from_request(request: &serde_json::Value) -> Result<Option<bool>, String> {
    let Some(s) = request.get("SnapStart") else {
        return Ok(None);
    };
    match s.get("ApplyOn").and_then(|a| a.as_str()) {
        Some("PublishedVersions") => Ok(Some(true)),
        Some("None") => Ok(Some(false)),
        other => Err(format!(
            "SnapStart.ApplyOn must be PublishedVersions or None, not {other:?}"
        )),
    }
}

/// The `SnapStart` of a configuration document (`OptimizationStatus` is `On` for a version
/// published with it, `Off` for `$LATEST`, as Lambda reports them).
pub(crate) fn document(on: bool, version: bool) -> serde_json::Value {
    serde_json::json!({
        "ApplyOn": if on { "PublishedVersions" } else { "None" },
        "OptimizationStatus": if on && version { "On" } else { "Off" },
    })
}

/// The error Invoke answers when a restore failed or the version's snapshot did.
pub(crate) const RESTORE_FAILED: &str = "SnapStartException";

/// The HTTP status of a SnapStart error of Invoke (the Lambda API reference's Invoke errors:
/// `SnapStartException` 400, `SnapStartNotReadyException` 409, `SnapStartTimeoutException`
/// 408).
pub(crate) fn status_of(error_type: &str) -> hyper::StatusCode {
    match error_type {
        "SnapStartNotReadyException" => hyper::StatusCode::CONFLICT,
        "SnapStartTimeoutException" => hyper::StatusCode::REQUEST_TIMEOUT,
        _ => hyper::StatusCode::BAD_REQUEST,
    }
}

/// A published version's snapshot.
pub(crate) struct Snapshot {
    /// Where its process serves restores.
    pub(crate) socket: PathBuf,
    /// The environments restored from it (their connections reach its front listener).
    pub(crate) restores: Arc<Restores<ConnCounts>>,
    pub(crate) _dir: tempfile::TempDir,
    /// The environment that ran INIT and serves restores, once INIT is over.
    pub(crate) env: Option<Arc<Environment>>,
    /// Why it could not be taken.
    pub(crate) failure: Option<String>,
}

/// The snapshots of the function's SnapStart versions, by version.
#[derive(Default)]
pub(crate) struct Snapshots(pub(crate) BTreeMap<u32, Snapshot>);

impl Snapshots {
    /// The version's state as `GetFunctionConfiguration` reports it: `Pending` while the
    /// snapshot is taken, `Active`, or `Failed` with the reason; `None` without a snapshot.
    pub(crate) fn state(&self, version: u32) -> Option<(&'static str, Option<String>)> {
        let s = self.0.get(&version)?;
        Some(match (&s.env, &s.failure) {
            (_, Some(reason)) => ("Failed", Some(reason.clone())),
            (Some(_), None) => ("Active", None),
            (None, None) => ("Pending", None),
        })
    }

    /// What a cold start of the SnapStart `version` restores from; the error Lambda answers
    /// while the snapshot is not ready (`SnapStartNotReadyException`) or failed
    /// (`SnapStartException`), as (error type, message).
    pub(crate) fn restore_from(
        &self,
        version: u32,
    ) -> Result<SnapStartRole, (&'static str, String)> {
        match self.0.get(&version) {
            Some(Snapshot {
                env: Some(env),
                socket,
                restores,
                ..
            }) if env.alive() => Ok(SnapStartRole::RestoreFrom {
                socket: socket.clone(),
                restores: restores.clone(),
            }),
            Some(Snapshot {
                failure: Some(reason),
                ..
            }) => Err((RESTORE_FAILED, reason.clone())),
            _ => Err((
                "SnapStartNotReadyException",
                format!("Lambda is initializing your function. It will be ready to invoke once the version {version} is Active."),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apply_on_is_read_as_lambda_spells_it() {
        let on = serde_json::json!({"SnapStart": {"ApplyOn": "PublishedVersions"}});
        assert_eq!(from_request(&on), Ok(Some(true)));
        let off = serde_json::json!({"SnapStart": {"ApplyOn": "None"}});
        assert_eq!(from_request(&off), Ok(Some(false)));
        assert_eq!(from_request(&serde_json::json!({})), Ok(None));
        let bad = serde_json::json!({"SnapStart": {"ApplyOn": "Always"}});
        assert!(from_request(&bad)
            .expect_err("not an ApplyOn")
            .contains("PublishedVersions"));
        assert_eq!(document(true, true)["OptimizationStatus"], "On");
        assert_eq!(document(true, false)["OptimizationStatus"], "Off");
    }
}
