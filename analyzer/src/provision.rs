//! Creates what the probe reads, through the AWS SDK (against AWS or the emulator): a KMS key,
//! the KMS ciphertext of the value bound to the function name (as Lambda's console helper
//! does), a `SecureString` parameter, and a secret. Reports identifiers and the value's
//! SHA-256, never the value.

use aws_config::SdkConfig;
use base64::Engine as _;
use sha2::{Digest, Sha256};

/// A provisioning call failed; the message has the operation and the service's error code.
#[derive(Debug, thiserror::Error)]
#[error("{operation}: {message}")]
pub struct ProvisionError {
    /// The API operation.
    pub operation: &'static str,
    /// Code and message from the service (never the value).
    pub message: String,
}

/// What was created.
#[derive(Debug, Clone)]
pub struct Provisioned {
    /// The KMS key.
    pub key_id: String,
    /// Base64 ciphertext bound to `LambdaFunctionName = function`.
    pub ciphertext_b64: String,
    /// The SecureString parameter.
    pub parameter_name: String,
    /// The secret's name.
    pub secret_id: String,
    /// Hex SHA-256 of the value, for `SECBENCH_EXPECTED_SHA256`.
    pub sha256_hex: String,
}

fn err<E: aws_smithy_types::error::metadata::ProvideErrorMetadata, R>(
    operation: &'static str,
) -> impl FnOnce(aws_smithy_runtime_api::client::result::SdkError<E, R>) -> ProvisionError {
    move |e| {
        let message = match e.as_service_error() {
            Some(s) => format!(
                "{}: {}",
                s.code().unwrap_or("ServiceError"),
                s.message().unwrap_or("")
            ),
            None => "could not reach the service".to_owned(),
        };
        ProvisionError { operation, message }
    }
}

/// A random value for the secret: 32 bytes as hex.
pub fn random_value() -> String {
    format!(
        "{:032x}{:032x}",
        rand::random::<u128>(),
        rand::random::<u128>()
    )
}

/// Hex SHA-256.
pub fn sha256_hex(value: &str) -> String {
    hex::encode(Sha256::digest(value.as_bytes()))
}

/// Creates the key, ciphertext, parameter and secret under `prefix`.
pub async fn provision(
    sdk: &SdkConfig,
    prefix: &str,
    function: &str,
    value: &str,
) -> Result<Provisioned, ProvisionError> {
    let kms = aws_sdk_kms::Client::new(sdk);
    let key_id = kms
        .create_key()
        .description(format!("secbench {prefix}"))
        .send()
        .await
        .map_err(err("CreateKey"))?
        .key_metadata
        .map(|m| m.key_id)
        .ok_or(ProvisionError {
            operation: "CreateKey",
            message: "no key id in the response".into(),
        })?;
    let ciphertext = kms
        .encrypt()
        .key_id(&key_id)
        .plaintext(aws_sdk_kms::primitives::Blob::new(value.as_bytes()))
        .encryption_context("LambdaFunctionName", function)
        .send()
        .await
        .map_err(err("Encrypt"))?
        .ciphertext_blob
        .ok_or(ProvisionError {
            operation: "Encrypt",
            message: "no ciphertext in the response".into(),
        })?;
    let parameter_name = format!("/{prefix}/secret");
    aws_sdk_ssm::Client::new(sdk)
        .put_parameter()
        .name(&parameter_name)
        .value(value)
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .key_id(&key_id)
        .overwrite(true)
        .send()
        .await
        .map_err(err("PutParameter"))?;
    let secret_id = format!("{prefix}/secret");
    aws_sdk_secretsmanager::Client::new(sdk)
        .create_secret()
        .name(&secret_id)
        .secret_string(value)
        .send()
        .await
        .map_err(err("CreateSecret"))?;
    Ok(Provisioned {
        key_id,
        ciphertext_b64: base64::engine::general_purpose::STANDARD.encode(ciphertext.into_inner()),
        parameter_name,
        secret_id,
        sha256_hex: sha256_hex(value),
    })
}
