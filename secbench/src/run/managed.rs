//! Lambda Managed Instances for a scenario (`execution = "managed-instances"`), the same calls
//! on AWS and on the local platform: the configuration just applied (with the stage's capacity
//! provider and the scenario's shape) is published as a version, `PutFunctionScalingConfig`
//! asks for the environments the scenario's concurrency needs (minimum = maximum, so the
//! scaler neither adds nor removes any while it runs), the runner waits until the version is
//! `Active` (its environments have initialised, before any traffic: there are no cold starts)
//! and invokes the version; afterwards (and after an error or Ctrl-C) `DeleteFunction` of the
//! version retires its environments. The capacity provider's instances stay while it has
//! capacity (see scripts/README.md for what that costs).

use super::control::{api_error, gone_is_done, publish_version, wait_active, ControlError};
use std::time::Duration;

/// Publishes the function's configuration as a version, asks for `environments` of it and
/// waits until it is `Active`; returns the version.
pub async fn publish(
    client: &aws_sdk_lambda::Client,
    function: &str,
    environments: u32,
    poll: Duration,
) -> Result<String, ControlError> {
    use aws_sdk_lambda::types::FunctionScalingConfig;
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
    wait_active(
        client,
        function,
        &version,
        poll,
        "the version's environments did not start",
    )
    .await?;
    Ok(version)
}

/// Deletes `version` of `function` (its environments with it); a version already gone is not
/// an error.
pub async fn retire(
    client: &aws_sdk_lambda::Client,
    function: &str,
    version: &str,
) -> Result<(), ControlError> {
    let result = client
        .delete_function()
        .function_name(function)
        .qualifier(version)
        .send()
        .await;
    gone_is_done(result, "DeleteFunction", format!("{function}:{version}"))
}
