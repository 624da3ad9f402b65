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

    /// `DescribeSecret`: opens the connection with the secret's metadata only.
    pub async fn open_connection(&self) -> Result<(), FetchError> {
        self.client
            .describe_secret()
            .secret_id(&self.id)
            .send()
            .await
            .map(drop)
            .map_err(|e| classify_sdk(&e))
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

/// `BatchGetSecretValue` of `ids` (at most 20): each id's value with its `VersionId`, in the
/// order of `ids`. The API may return its results in pages (`NextToken`, AWS's API reference):
/// every page is asked for, each a call of its own (the recorder counts them). An id the
/// answer's `Errors` names gets that error's class; one it does not mention is `not_found`.
/// The call's own failure fails them all.
pub async fn batch_get(
    client: &aws_sdk_secretsmanager::Client,
    ids: &[String],
) -> Result<Vec<Result<Secret, FetchError>>, FetchError> {
    let mut found = Vec::new();
    let mut errors = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let out = client
            .batch_get_secret_value()
            .set_secret_id_list(Some(ids.to_vec()))
            .set_next_token(next.take())
            .send()
            .await
            .map_err(|e| classify_sdk(&e))?;
        found.extend(out.secret_values.unwrap_or_default());
        errors.extend(out.errors.unwrap_or_default());
        match out.next_token.filter(|t| !t.is_empty()) {
            Some(t) => next = Some(t),
            None => break,
        }
    }
    Ok(ids
        .iter()
        .map(|id| {
            let entry = found.iter().find(|v| {
                v.name.as_deref() == Some(id.as_str()) || v.arn.as_deref() == Some(id.as_str())
            });
            match entry {
                Some(v) => value_of(
                    v.secret_string.clone(),
                    v.secret_binary.clone().map(|b| b.into_inner()),
                )
                .map(|s| s.with_version(v.version_id.clone())),
                None => {
                    let code = errors
                        .iter()
                        .find(|e| e.secret_id.as_deref() == Some(id.as_str()))
                        .and_then(|e| e.error_code.clone());
                    Err(FetchError {
                        class: code
                            .as_deref()
                            .map_or(ErrorClass::NotFound, crate::classify::classify_code),
                        code,
                        // A per-secret error of a batch answered 200.
                        transient: false,
                    })
                }
            }
        })
        .collect())
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
