//! SnapStart for a scenario (`snapstart = true`), the same calls on AWS and on the local
//! platform: the configuration just applied (with `SnapStart: ApplyOn PublishedVersions`) is
//! published as a version, whose INIT runs once for its snapshot; the runner waits until the
//! version is `Active` (the snapshot taken: AWS's "optimization"), points the alias [`ALIAS`] at
//! it and invokes the alias. Every cold start of the round is then a restore of that snapshot:
//! a round's `concurrency` invocations at once are that many restores, the way AWS allows new
//! environments of one version to be forced (a version cannot be reconfigured, and each new
//! version is a new snapshot). Afterwards (and after an error or Ctrl-C) `DeleteFunction` of
//! each version published ends its snapshot's cache charge.

use super::control::{publish_version, wait_active, ControlError};
use std::time::Duration;

/// The alias the runner invokes a SnapStart version through.
pub const ALIAS: &str = "secbench-snapstart";

/// A SnapStart version, ready, behind [`ALIAS`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshotted {
    /// The version published.
    pub version: String,
    /// What invocations name (`Qualifier`).
    pub qualifier: String,
}

/// Publishes the function's configuration as a version, waits until its snapshot is taken
/// (`State` `Active`), and points [`ALIAS`] at it.
pub async fn publish(
    client: &aws_sdk_lambda::Client,
    function: &str,
    poll: Duration,
) -> Result<Snapshotted, ControlError> {
    let version = publish_version(client, function).await?;
    wait_active(
        client,
        function,
        &version,
        poll,
        "the version's snapshot was not taken",
    )
    .await?;
    super::provisioned::point_alias(client, function, ALIAS, &version).await?;
    Ok(Snapshotted {
        version,
        qualifier: ALIAS.to_owned(),
    })
}
