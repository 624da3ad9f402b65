//! Provisioned concurrency for a scenario (`concurrency_mode = "provisioned"`), the same calls
//! on AWS and on the local platform: publish a version of the configuration just applied,
//! point the alias [`ALIAS`] at it (create or update), `PutProvisionedConcurrencyConfig` on the
//! alias for the scenario's concurrency, wait for `READY`, invoke the alias; afterwards (and
//! after Ctrl-C, and when a run is resumed) `DeleteProvisionedConcurrencyConfig`. The version
//! stays (Lambda keeps versions; they cost nothing while nothing is provisioned on them).

use super::control::{api_error, publish_version, ControlError};
use std::time::{Duration, Instant};

/// The alias the runner provisions.
pub const ALIAS: &str = "secbench-provisioned";

/// The longest wait for `READY` (AWS provisions in minutes).
pub const READY_LIMIT: Duration = Duration::from_secs(20 * 60);

/// A version provisioned behind [`ALIAS`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provisioned {
    /// The version published.
    pub version: String,
    /// What invocations name (`Qualifier`).
    pub qualifier: String,
}

/// Points `alias` of `function` at `version`, creating it the first time.
pub async fn point_alias(
    client: &aws_sdk_lambda::Client,
    function: &str,
    alias: &str,
    version: &str,
) -> Result<(), ControlError> {
    let exists = client
        .get_alias()
        .function_name(function)
        .name(alias)
        .send()
        .await
        .is_ok();
    if exists {
        client
            .update_alias()
            .function_name(function)
            .name(alias)
            .function_version(version)
            .send()
            .await
            .map_err(api_error("UpdateAlias", function))?;
    } else {
        client
            .create_alias()
            .function_name(function)
            .name(alias)
            .function_version(version)
            .send()
            .await
            .map_err(api_error("CreateAlias", function))?;
    }
    Ok(())
}

/// Deletes `alias` of `function`; an alias already gone is not an error.
pub async fn delete_alias(
    client: &aws_sdk_lambda::Client,
    function: &str,
    alias: &str,
) -> Result<(), ControlError> {
    let result = client
        .delete_alias()
        .function_name(function)
        .name(alias)
        .send()
        .await;
    super::control::gone_is_done(result, "DeleteAlias", function.to_owned())
}

/// Publishes the function's configuration as a version, points [`ALIAS`] at it, provisions
/// `environments` on it and waits until they are `READY`.
pub async fn provision(
    client: &aws_sdk_lambda::Client,
    function: &str,
    environments: u32,
    poll: Duration,
) -> Result<Provisioned, ControlError> {
    let version = publish_version(client, function).await?;
    point_alias(client, function, ALIAS, &version).await?;
    client
        .put_provisioned_concurrency_config()
        .function_name(function)
        .qualifier(ALIAS)
        .provisioned_concurrent_executions(i32::try_from(environments).unwrap_or(i32::MAX))
        .send()
        .await
        .map_err(api_error("PutProvisionedConcurrencyConfig", function))?;
    let start = Instant::now();
    loop {
        let c = client
            .get_provisioned_concurrency_config()
            .function_name(function)
            .qualifier(ALIAS)
            .send()
            .await
            .map_err(api_error("GetProvisionedConcurrencyConfig", function))?;
        use aws_sdk_lambda::types::ProvisionedConcurrencyStatusEnum as S;
        match c.status {
            Some(S::Ready) => break,
            Some(S::Failed) => {
                return Err(ControlError::UpdateFailed {
                    function: format!("{function}:{ALIAS}"),
                    reason: c
                        .status_reason
                        .unwrap_or_else(|| "provisioned concurrency FAILED".into()),
                })
            }
            _ if start.elapsed() > READY_LIMIT => {
                return Err(ControlError::Stuck {
                    function: format!("{function}:{ALIAS}"),
                    waited: start.elapsed(),
                })
            }
            _ => tokio::time::sleep(poll).await,
        }
    }
    Ok(Provisioned {
        version,
        qualifier: ALIAS.to_owned(),
    })
}

/// Removes the provisioned concurrency of [`ALIAS`]; none there is not an error. Returns
/// whether there was one.
pub async fn remove(client: &aws_sdk_lambda::Client, function: &str) -> Result<bool, ControlError> {
    match client
        .delete_provisioned_concurrency_config()
        .function_name(function)
        .qualifier(ALIAS)
        .send()
        .await
    {
        Ok(_) => Ok(true),
        Err(e) => {
            use aws_smithy_types::error::metadata::ProvideErrorMetadata as _;
            let code = e
                .as_service_error()
                .and_then(|s| s.code().map(str::to_owned));
            match code.as_deref() {
                Some(
                    "ProvisionedConcurrencyConfigNotFoundException" | "ResourceNotFoundException",
                ) => Ok(false),
                _ => Err(ControlError::Api {
                    operation: "DeleteProvisionedConcurrencyConfig",
                    function: function.to_owned(),
                    message: super::control::api_message(&e),
                }),
            }
        }
    }
}
