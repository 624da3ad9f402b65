//! `aws-caching-library`: the `aws_secretsmanager_caching` crate. When an entry expires it
//! calls `DescribeSecret`, then `GetSecretValue` only if the version changed; the call
//! recorder sees both, and the outcome is read from what was called. With
//! `ignore_transient_errors` it serves its value through a refresh that failed with a timeout,
//! a broken connection or HTTP 5xx (and re-ups the entry for another TTL); the recorder sees
//! the failed operation, so such a fetch is recorded `stale`.

use crate::calls::{CallRecorder, Calls};
use crate::classify::{classify_sdk, FetchError};
use crate::secret::Secret;
use crate::source::secrets_manager;
use aws_config::SdkConfig;
use aws_sdk_secretsmanager::operation::describe_secret::DescribeSecretError;
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;
use aws_secretsmanager_caching::SecretsManagerCachingClient;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use secbench_record::{ErrorClass, Outcome};
use std::num::NonZeroUsize;
use std::time::Duration;

/// The caching client and the secret id.
#[derive(Debug)]
pub struct LibraryCache {
    client: SecretsManagerCachingClient,
    id: String,
}

impl LibraryCache {
    /// Builds the caching client on an SDK client whose calls `recorder` counts.
    pub fn new(
        sdk: &SdkConfig,
        recorder: &CallRecorder,
        id: String,
        ttl: Duration,
        ignore_transient_errors: bool,
    ) -> Result<LibraryCache, String> {
        let max_size = NonZeroUsize::new(16).ok_or("cache size")?;
        let client = SecretsManagerCachingClient::new(
            secrets_manager::client(sdk, recorder),
            max_size,
            ttl,
            ignore_transient_errors,
        )
        .map_err(|e| e.to_string())?;
        Ok(LibraryCache { client, id })
    }

    /// Gets the value through the library.
    pub async fn fetch(&self, force_refresh: bool) -> Result<Secret, FetchError> {
        let out = self
            .client
            .get_secret_value(&self.id, None, None, force_refresh)
            .await
            .map_err(|e| classify_boxed(e.as_ref()))?;
        Ok(
            secrets_manager::value_of(
                out.secret_string,
                out.secret_binary.map(|b| b.into_inner()),
            )?
            .with_version(out.version_id),
        )
    }
}

/// Reads `id` through `client` (the many-secrets fetcher's per-secret read).
pub async fn get(
    client: &SecretsManagerCachingClient,
    id: &str,
    force_refresh: bool,
) -> Result<Secret, FetchError> {
    let out = client
        .get_secret_value(id, None, None, force_refresh)
        .await
        .map_err(|e| classify_boxed(e.as_ref()))?;
    Ok(
        secrets_manager::value_of(out.secret_string, out.secret_binary.map(|b| b.into_inner()))?
            .with_version(out.version_id),
    )
}

/// What the library did, read from the calls it made.
pub fn outcome(calls: &Calls, force_refresh: bool) -> Outcome {
    if calls.failed > 0 {
        // It answered with a value although a call failed: it served what it held.
        Outcome::Stale
    } else if calls.count("DescribeSecret") > 0
        || (force_refresh && calls.count("GetSecretValue") > 0)
    {
        Outcome::Refresh
    } else if calls.count("GetSecretValue") > 0 {
        Outcome::Miss
    } else {
        Outcome::Hit
    }
}

fn classify_boxed(err: &(dyn std::error::Error + 'static)) -> FetchError {
    if let Some(e) = err.downcast_ref::<SdkError<GetSecretValueError, HttpResponse>>() {
        return classify_sdk(e);
    }
    if let Some(e) = err.downcast_ref::<SdkError<DescribeSecretError, HttpResponse>>() {
        return classify_sdk(e);
    }
    FetchError::new(ErrorClass::Other)
}
