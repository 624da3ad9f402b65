//! `secrets-manager`: Secrets Manager `GetSecretValue`.

use crate::calls::CallRecorder;
use crate::classify::{classify_sdk, FetchError};
use crate::secret::Secret;
use aws_config::SdkConfig;
use secbench_record::ErrorClass;

/// A Secrets Manager client and the secret id.
#[derive(Debug)]
pub struct SecretsManager {
    client: aws_sdk_secretsmanager::Client,
    id: String,
}

impl SecretsManager {
    /// Builds the client.
    pub fn new(sdk: &SdkConfig, recorder: &CallRecorder, id: String) -> SecretsManager {
        SecretsManager {
            client: client(sdk, recorder),
            id,
        }
    }

    /// Reads the current version of the secret.
    pub async fn fetch(&self) -> Result<Secret, FetchError> {
        get(&self.client, &self.id).await
    }
}

/// `GetSecretValue` of `id`: its value with its `VersionId`.
pub async fn get(client: &aws_sdk_secretsmanager::Client, id: &str) -> Result<Secret, FetchError> {
    let out = client
        .get_secret_value()
        .secret_id(id)
        .send()
        .await
        .map_err(|e| classify_sdk(&e))?;
    Ok(
        value_of(out.secret_string, out.secret_binary.map(|b| b.into_inner()))?
            .with_version(out.version_id),
    )
}

/// A Secrets Manager client whose calls `recorder` counts.
pub fn client(sdk: &SdkConfig, recorder: &CallRecorder) -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::from_conf(config_builder(sdk, recorder).build())
}

/// The client configuration, for callers that add to it (the caching library).
pub fn config_builder(
    sdk: &SdkConfig,
    recorder: &CallRecorder,
) -> aws_sdk_secretsmanager::config::Builder {
    aws_sdk_secretsmanager::config::Builder::from(sdk).interceptor(recorder.clone())
}

/// The value of a secret: its string, else its binary.
pub fn value_of(string: Option<String>, binary: Option<Vec<u8>>) -> Result<Secret, FetchError> {
    match (string, binary) {
        (Some(s), _) => Ok(Secret::new(s.into_bytes())),
        (None, Some(b)) => Ok(Secret::new(b)),
        (None, None) => Err(FetchError::new(ErrorClass::Other)),
    }
}
