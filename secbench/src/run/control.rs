//! Applying a scenario to the function (`UpdateFunctionConfiguration`) and waiting until
//! Lambda reports `LastUpdateStatus = Successful`. A configuration change retires every
//! execution environment, which is how cold starts are forced.

use crate::plan::Scenario;
use aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput;
use aws_sdk_lambda::types::{Environment, LastUpdateStatus};
use secbench_record::probe_config::{Digest, ProbeConfig};
use std::collections::HashMap;
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
    /// The function's variables hold a probe setting that does not read: fix or remove it.
    #[error("the configuration of {function}")]
    Config {
        /// The function.
        function: String,
        /// The variable and what is wrong with it.
        source: secbench_record::probe_config::ConfigError,
    },
    /// A managed-instances scenario on a stage without a capacity provider.
    #[error("{function}: the scenario runs on Lambda Managed Instances and the stage has no capacity provider (deploy the template with ManagedInstances=true and run `secbench provision --outputs` again)")]
    NoCapacityProvider {
        /// The function.
        function: String,
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

/// What the runner adds to a scenario's own probe settings: what the stage holds for it.
#[derive(Debug, Clone, Default)]
pub struct StageSettings {
    /// The digests the scenario's store holds (the value before its rotations, then each new
    /// one), when the runner knows them.
    pub expected_sha256: Option<Vec<Digest>>,
    /// Where the secrets are (the one secret and parameter, or a several-secrets scenario's),
    /// when the stage names them.
    pub targets: Option<crate::targets::Targets>,
    /// The stage's capacity provider, for managed-instances scenarios.
    pub capacity_provider: Option<CapacityProvider>,
}

/// A stage's capacity provider (Lambda Managed Instances).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapacityProvider {
    /// Its ARN.
    pub arn: String,
    /// The local platform's one function takes the config for a managed-instances scenario
    /// and gives it up for the next scenario (`"CapacityProviderConfig": {}`); on AWS each
    /// function stays what the template made it.
    pub one_function: bool,
}

/// The probe configuration for `s` on top of the function's `current` one: the scenario's
/// source, cache and fetch time, its TTLs, what INIT prewarms, the CPU workload of a
/// cpu-calibration scenario, a new round tag (any configuration change retires
/// the environments) and what the stage holds for it.
pub fn scenario_config(
    current: &ProbeConfig,
    s: &Scenario,
    round_tag: &str,
    stage: &StageSettings,
) -> ProbeConfig {
    let mut c = current.clone();
    c.source = Some(s.source);
    c.cache = Some(s.cache);
    c.fetch_at = Some(s.fetch_at);
    c.config_round = Some(round_tag.to_owned());
    c.cache_ttl = s.cache_ttl;
    c.ignore_transient_errors = s.ignore_transient_errors;
    c.cache_max_stale = s.max_stale;
    c.single_flight = s.single_flight;
    c.agent_ttl = s.agent_ttl;
    c.prewarm = s.prewarm;
    c.cpu_calibration_rounds = s.cpu_rounds;
    if let Some(d) = &stage.expected_sha256 {
        c.expected_sha256 = Some(d.clone());
    }
    if let Some(t) = &stage.targets {
        t.configure(&mut c);
    }
    c
}

/// The function's variables with `config` written into them (every other variable kept).
pub fn with_config(
    mut vars: HashMap<String, String>,
    config: &ProbeConfig,
) -> HashMap<String, String> {
    config.apply(&mut vars);
    vars
}

/// Maps an SDK error of `operation` on `function` to [`ControlError::Api`].
pub(crate) fn api_error<
    'a,
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
>(
    operation: &'static str,
    function: &'a str,
) -> impl FnOnce(aws_smithy_runtime_api::client::result::SdkError<E, R>) -> ControlError + 'a {
    move |e| ControlError::Api {
        operation,
        function: function.to_owned(),
        message: api_message(&e),
    }
}

pub(crate) fn api_message<
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

/// The longest wait for a published version to be `Active` (on Lambda Managed Instances AWS
/// launches instances and starts environments; with SnapStart it runs INIT and takes the
/// snapshot: minutes either way).
pub const ACTIVE_LIMIT: Duration = Duration::from_secs(20 * 60);

/// Polls `version` of `function` until it is `Active`; `Failed` is an error with Lambda's
/// reason (or `failed` when it gives none), and so is a wait past [`ACTIVE_LIMIT`].
pub async fn wait_active(
    client: &aws_sdk_lambda::Client,
    function: &str,
    version: &str,
    poll: Duration,
    failed: &str,
) -> Result<(), ControlError> {
    use aws_sdk_lambda::types::State;
    let start = Instant::now();
    loop {
        let c = client
            .get_function_configuration()
            .function_name(function)
            .qualifier(version)
            .send()
            .await
            .map_err(api_error("GetFunctionConfiguration", function))?;
        match c.state {
            Some(State::Active) => return Ok(()),
            Some(State::Failed) => {
                return Err(ControlError::UpdateFailed {
                    function: format!("{function}:{version}"),
                    reason: c.state_reason.unwrap_or_else(|| failed.to_owned()),
                })
            }
            _ if start.elapsed() > ACTIVE_LIMIT => {
                return Err(ControlError::Stuck {
                    function: format!("{function}:{version}"),
                    waited: start.elapsed(),
                })
            }
            _ => tokio::time::sleep(poll).await,
        }
    }
}

/// A delete's result with "already gone" (`ResourceNotFoundException`) taken as done.
pub(crate) fn gone_is_done<T, E, R>(
    result: Result<T, aws_smithy_runtime_api::client::result::SdkError<E, R>>,
    operation: &'static str,
    what: String,
) -> Result<(), ControlError>
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
{
    match result {
        Ok(_) => Ok(()),
        Err(e) => {
            if e.as_service_error().and_then(|s| s.code()) == Some("ResourceNotFoundException") {
                Ok(())
            } else {
                Err(ControlError::Api {
                    operation,
                    function: what,
                    message: api_message(&e),
                })
            }
        }
    }
}

/// `PublishVersion` of the configuration in force; returns the version's number.
pub async fn publish_version(
    client: &aws_sdk_lambda::Client,
    function: &str,
) -> Result<String, ControlError> {
    let version = client
        .publish_version()
        .function_name(function)
        .send()
        .await
        .map_err(api_error("PublishVersion", function))?
        .version
        .ok_or_else(|| ControlError::Api {
            operation: "PublishVersion",
            function: function.to_owned(),
            message: "no version in the answer".into(),
        })?;
    Ok(version)
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
        .map_err(api_error("GetFunctionConfiguration", function))
}

/// The probe configuration in the function's variables.
pub async fn current_config(
    client: &aws_sdk_lambda::Client,
    function: &str,
) -> Result<ProbeConfig, ControlError> {
    let vars = current_vars(client, function).await?;
    config_of(&vars, function)
}

fn config_of(vars: &HashMap<String, String>, function: &str) -> Result<ProbeConfig, ControlError> {
    ProbeConfig::from_map(vars).map_err(|source| ControlError::Config {
        function: function.into(),
        source,
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
    stage: &StageSettings,
) -> Result<(), ControlError> {
    let vars = current_vars(client, function).await?;
    let current = config_of(&vars, function)?;
    let vars = with_config(vars, &scenario_config(&current, s, round_tag, stage));
    let update = client
        .update_function_configuration()
        .memory_size(i32::try_from(s.memory_mb).unwrap_or(i32::MAX))
        .timeout(i32::try_from(s.timeout.as_secs()).unwrap_or(900))
        .set_layers(layers);
    let update = match (s.managed_instances, &stage.capacity_provider) {
        (Some(m), Some(p)) => update.capacity_provider_config(capacity_provider_config(&p.arn, m)),
        (Some(_), None) => {
            return Err(ControlError::NoCapacityProvider {
                function: function.to_owned(),
            })
        }
        (None, Some(p)) if p.one_function => update.capacity_provider_config(
            aws_sdk_lambda::types::CapacityProviderConfig::builder().build(),
        ),
        (None, _) => update,
    };
    // SnapStart as the scenario has it: on the function's published versions, or off (a
    // function shared by scenarios is what each one needs).
    use aws_sdk_lambda::types::{SnapStart, SnapStartApplyOn};
    let apply_on = if s.concurrency_mode == secbench_record::ConcurrencyMode::SnapStart {
        SnapStartApplyOn::PublishedVersions
    } else {
        SnapStartApplyOn::None
    };
    let update = update.snap_start(SnapStart::builder().apply_on(apply_on).build());
    update_and_wait(client, function, update, vars, poll).await
}

/// The `CapacityProviderConfig` of a managed-instances scenario on the capacity provider `arn`.
pub fn capacity_provider_config(
    arn: &str,
    m: secbench_record::lambda::ManagedInstances,
) -> aws_sdk_lambda::types::CapacityProviderConfig {
    use aws_sdk_lambda::types::{
        CapacityProviderConfig, LambdaManagedInstancesCapacityProviderConfig,
    };
    CapacityProviderConfig::builder()
        .set_lambda_managed_instances_capacity_provider_config(
            LambdaManagedInstancesCapacityProviderConfig::builder()
                .capacity_provider_arn(arn)
                .per_execution_environment_max_concurrency(
                    i32::try_from(m.max_concurrency).unwrap_or(i32::MAX),
                )
                .execution_environment_memory_gib_per_v_cpu(m.memory_gib_per_vcpu)
                .build()
                .ok(),
        )
        .build()
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
        .map_err(api_error("UpdateFunctionConfiguration", function))?;
    wait_until_updated(client, function, poll, Duration::from_secs(300)).await
}

/// Changes the function's probe configuration with `patch` (keeping every other variable and
/// setting), waits for `Successful` and returns the new `RevisionId`. A rotation of `kms-env`
/// is this.
pub async fn update_config(
    client: &aws_sdk_lambda::Client,
    function: &str,
    patch: impl FnOnce(&mut ProbeConfig),
    poll: Duration,
) -> Result<Option<String>, ControlError> {
    let vars = current_vars(client, function).await?;
    let mut config = config_of(&vars, function)?;
    patch(&mut config);
    let vars = with_config(vars, &config);
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
