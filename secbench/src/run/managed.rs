//! Lambda Managed Instances for a scenario (`execution = "managed-instances"`), the same calls
//! on AWS and on the local platform: the configuration just applied (with the stage's capacity
//! provider and the scenario's shape) is published as a version, `PutFunctionScalingConfig`
//! asks for the environments the scenario's concurrency needs (minimum = maximum, so the
//! scaler neither adds nor removes any while it runs), the runner waits until the version is
//! `Active` (its environments have initialised, before any traffic: there are no cold starts)
//! and invokes the version; afterwards (and after an error or Ctrl-C) `DeleteFunction` of the
//! version retires its environments. The capacity provider's instances stay while it has
//! capacity (see scripts/README.md for what that costs).

use super::control::{api_error, publish_version, ControlError};
use std::time::{Duration, Instant};

/// The longest wait for `Active` (AWS launches instances and starts environments in minutes).
pub const ACTIVE_LIMIT: Duration = Duration::from_secs(20 * 60);

/// Publishes the function's configuration as a version, asks for `environments` of it and
/// waits until it is `Active`; returns the version.
pub async fn publish(
    client: &aws_sdk_lambda::Client,
    function: &str,
    environments: u32,
    poll: Duration,
) -> Result<String, ControlError> {
    use aws_sdk_lambda::types::{FunctionScalingConfig, State};
    let version = publish_version(client, function).await?;
    let n = i32::try_from(environments).unwrap_or(i32::MAX);
    client
        .put_function_scaling_config()
        .function_name(function)
        .qualifier(&version)
        .function_scaling_config(
            FunctionScalingConfig::builder()
                .min_execution_environments(n)
                .max_execution_environments(n)
                .build(),
        )
        .send()
        .await
        .map_err(api_error("PutFunctionScalingConfig", function))?;
    let start = Instant::now();
    loop {
        let c = client
            .get_function_configuration()
            .function_name(function)
            .qualifier(&version)
            .send()
            .await
            .map_err(api_error("GetFunctionConfiguration", function))?;
        match c.state {
            Some(State::Active) => return Ok(version),
            Some(State::Failed) => {
                return Err(ControlError::UpdateFailed {
                    function: format!("{function}:{version}"),
                    reason: c
                        .state_reason
                        .unwrap_or_else(|| "the version's environments did not start".into()),
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

/// Deletes `version` of `function` (its environments with it); a version already gone is not
/// an error.
pub async fn retire(
    client: &aws_sdk_lambda::Client,
    function: &str,
    version: &str,
) -> Result<(), ControlError> {
    match client
        .delete_function()
        .function_name(function)
        .qualifier(version)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) => {
            use aws_smithy_types::error::metadata::ProvideErrorMetadata as _;
            let gone = e
                .as_service_error()
                .and_then(|s| s.code())
                .is_some_and(|c| c == "ResourceNotFoundException");
            if gone {
                Ok(())
            } else {
                Err(ControlError::Api {
                    operation: "DeleteFunction",
                    function: format!("{function}:{version}"),
                    message: super::control::api_message(&e),
                })
            }
        }
    }
}
