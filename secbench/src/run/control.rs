//! Applying a scenario to the function (`UpdateFunctionConfiguration`) and waiting until
//! Lambda reports `LastUpdateStatus = Successful`. A configuration change retires every
//! execution environment, which is how cold starts are forced.

use crate::plan::Scenario;
use aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput;
use aws_sdk_lambda::types::{Environment, LastUpdateStatus};
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

/// Why a configuration could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// The Lambda API refused or failed: the message has its error code.
    #[error("{operation} on {function}: {message}")]
    Api {
        /// `UpdateFunctionConfiguration` or `GetFunctionConfiguration`.
        operation: &'static str,
        /// The function.
        function: String,
        /// What Lambda said (code and message).
        message: String,
    },
    /// Lambda reported the update `Failed`: fix what the reason says.
    #[error("the update of {function} failed: {reason}")]
    UpdateFailed {
        /// The function.
        function: String,
        /// `LastUpdateStatusReason`.
        reason: String,
    },
    /// The update stayed `InProgress` too long.
    #[error("the update of {function} was still in progress after {waited:?}")]
    Stuck {
        /// The function.
        function: String,
        /// How long we waited.
        waited: Duration,
    },
}

/// What the last-update status means for the waiter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpdateState {
    /// Keep polling.
    InProgress,
    /// Done.
    Successful,
    /// Lambda gave up, with this reason.
    Failed(String),
}

/// Reads `LastUpdateStatus` (and its reason). An absent status means no update is pending.
pub fn update_state(
    status: Option<&str>,
    reason: Option<&str>,
    reason_code: Option<&str>,
) -> UpdateState {
    match status {
        None | Some("Successful") => UpdateState::Successful,
        Some("InProgress") => UpdateState::InProgress,
        Some(_) => UpdateState::Failed(match (reason_code, reason) {
            (Some(c), Some(r)) => format!("{c}: {r}"),
            (Some(c), None) => c.to_owned(),
            (None, Some(r)) => r.to_owned(),
            (None, None) => "no reason given".to_owned(),
        }),
    }
}

/// The agent's TTL variables (the extension's names; the local agent reads the first).
pub const AGENT_TTL_VARS: [&str; 2] = ["SECRETS_MANAGER_TTL", "SSM_PARAMETER_STORE_TTL"];

/// The probe variables a scenario sets, then `extra` (the rotator's digests, the
/// several-secrets variables; `None` removes one); every other variable of the function is
/// kept.
pub fn scenario_vars(
    current: &HashMap<String, String>,
    s: &Scenario,
    round_tag: &str,
    extra: &BTreeMap<String, Option<String>>,
) -> HashMap<String, String> {
    let mut vars = current.clone();
    vars.insert("SECBENCH_SOURCE".into(), s.source.as_str().into());
    vars.insert("SECBENCH_CACHE".into(), s.cache.as_str().into());
    vars.insert("SECBENCH_FETCH_AT".into(), s.fetch_at.as_str().into());
    // A new value on every round: any configuration change retires the environments.
    vars.insert("SECBENCH_CONFIG_ROUND".into(), round_tag.into());
    match &s.cache_ttl_text {
        Some(ttl) => vars.insert("SECBENCH_CACHE_TTL".into(), ttl.clone()),
        None => vars.remove("SECBENCH_CACHE_TTL"),
    };
    for name in AGENT_TTL_VARS {
        match s.agent_ttl {
            Some(ttl) => vars.insert(name.into(), ttl.as_secs().to_string()),
            None => vars.remove(name),
        };
    }
    for (k, v) in extra {
        match v {
            Some(v) => vars.insert(k.clone(), v.clone()),
            None => vars.remove(k),
        };
    }
    vars
}

fn api_message<
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
>(
    e: &aws_smithy_runtime_api::client::result::SdkError<E, R>,
) -> String {
    use aws_smithy_runtime_api::client::result::SdkError;
    match e {
        SdkError::ServiceError(s) => format!(
            "{}: {}",
            s.err().code().unwrap_or("ServiceError"),
            s.err().message().unwrap_or("no message")
        ),
        SdkError::TimeoutError(_) => "timed out".into(),
        SdkError::DispatchFailure(d) => format!("could not reach Lambda ({d:?})"),
        other => format!("{other:?}"),
    }
}

/// `GetFunctionConfiguration`.
pub async fn get_configuration(
    client: &aws_sdk_lambda::Client,
    function: &str,
) -> Result<GetFunctionConfigurationOutput, ControlError> {
    client
        .get_function_configuration()
        .function_name(function)
        .send()
        .await
        .map_err(|e| ControlError::Api {
            operation: "GetFunctionConfiguration",
            function: function.into(),
            message: api_message(&e),
        })
}

/// The function's current environment variables.
pub async fn current_vars(
    client: &aws_sdk_lambda::Client,
    function: &str,
) -> Result<HashMap<String, String>, ControlError> {
    let config = get_configuration(client, function).await?;
    Ok(config
        .environment
        .and_then(|e| e.variables)
        .unwrap_or_default())
}

/// Applies `s` (variables, memory, timeout, layers) and waits for `Successful`.
pub async fn apply(
    client: &aws_sdk_lambda::Client,
    function: &str,
    s: &Scenario,
    round_tag: &str,
    layers: Option<Vec<String>>,
    poll: Duration,
    extra: &BTreeMap<String, Option<String>>,
) -> Result<(), ControlError> {
    let vars = scenario_vars(&current_vars(client, function).await?, s, round_tag, extra);
    let update = client
        .update_function_configuration()
        .memory_size(i32::try_from(s.memory_mb).unwrap_or(i32::MAX))
        .timeout(i32::try_from(s.timeout.as_secs()).unwrap_or(900))
        .set_layers(layers);
    update_and_wait(client, function, update, vars, poll).await
}

/// Sends `update` with `vars` as the function's whole environment and waits for `Successful`.
async fn update_and_wait(
    client: &aws_sdk_lambda::Client,
    function: &str,
    update: aws_sdk_lambda::operation::update_function_configuration::builders::UpdateFunctionConfigurationFluentBuilder,
    vars: HashMap<String, String>,
    poll: Duration,
) -> Result<(), ControlError> {
    update
        .function_name(function)
        .environment(Environment::builder().set_variables(Some(vars)).build())
        .send()
        .await
        .map_err(|e| ControlError::Api {
            operation: "UpdateFunctionConfiguration",
            function: function.into(),
            message: api_message(&e),
        })?;
    wait_until_updated(client, function, poll, Duration::from_secs(300)).await
}

/// Changes the function's variables with `patch` (keeping the rest and every other setting),
/// waits for `Successful` and returns the new `RevisionId`. A rotation of `kms-env` is this.
pub async fn update_vars(
    client: &aws_sdk_lambda::Client,
    function: &str,
    patch: impl FnOnce(&mut HashMap<String, String>),
    poll: Duration,
) -> Result<Option<String>, ControlError> {
    let mut vars = current_vars(client, function).await?;
    patch(&mut vars);
    let update = client.update_function_configuration();
    update_and_wait(client, function, update, vars, poll).await?;
    Ok(get_configuration(client, function).await?.revision_id)
}

/// Polls `GetFunctionConfiguration` until the update is done.
pub async fn wait_until_updated(
    client: &aws_sdk_lambda::Client,
    function: &str,
    poll: Duration,
    limit: Duration,
) -> Result<(), ControlError> {
    let start = Instant::now();
    loop {
        let c = get_configuration(client, function).await?;
        let status = c.last_update_status.as_ref().map(LastUpdateStatus::as_str);
        let code = c
            .last_update_status_reason_code
            .as_ref()
            .map(|c| c.as_str());
        match update_state(status, c.last_update_status_reason.as_deref(), code) {
            UpdateState::Successful => return Ok(()),
            UpdateState::Failed(reason) => {
                return Err(ControlError::UpdateFailed {
                    function: function.into(),
                    reason,
                })
            }
            UpdateState::InProgress if start.elapsed() > limit => {
                return Err(ControlError::Stuck {
                    function: function.into(),
                    waited: start.elapsed(),
                })
            }
            UpdateState::InProgress => tokio::time::sleep(poll).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> serde_json::Value {
        let path = format!(
            "{}/tests/fixtures/lambda/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("json")
    }

    fn state_of(v: &serde_json::Value) -> UpdateState {
        update_state(
            v["LastUpdateStatus"].as_str(),
            v["LastUpdateStatusReason"].as_str(),
            v["LastUpdateStatusReasonCode"].as_str(),
        )
    }

    #[test]
    fn update_states_from_recorded_configurations() {
        assert_eq!(
            state_of(&fixture("configuration-in-progress.json")),
            UpdateState::InProgress
        );
        assert_eq!(
            state_of(&fixture("configuration-successful.json")),
            UpdateState::Successful
        );
        match state_of(&fixture("configuration-failed.json")) {
            UpdateState::Failed(reason) => {
                assert!(reason.starts_with("EniLimitExceeded"), "{reason}")
            }
            other => panic!("{other:?}"),
        }
    }
}
