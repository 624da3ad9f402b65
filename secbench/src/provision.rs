//! Creates what the probe reads, through the AWS SDK (against AWS or the emulator): a KMS key,
//! the KMS ciphertext of the value bound to the function name (as Lambda's console helper
//! does), a `SecureString` parameter, and a secret. Reports identifiers and the value's
//! SHA-256, never the value.

use aws_config::SdkConfig;
use base64::Engine as _;
use secbench_record::probe_config::{Digest, Plaintext, ProbeConfig};
use sha2::{Digest as _, Sha256};

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
    /// SHA-256 of the value, for the probe's expected digest.
    pub digest: Digest,
}

pub(crate) fn err<E: aws_smithy_types::error::metadata::ProvideErrorMetadata, R>(
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
    digest(value).to_hex()
}

/// SHA-256 of a value.
pub fn digest(value: &str) -> Digest {
    Digest(Sha256::digest(value.as_bytes()).into())
}

/// Encrypts `value` with `key`, bound to `function` (`LambdaFunctionName` encryption context,
/// as Lambda's console helper does); returns base64 ciphertext.
pub(crate) async fn encrypt_for_function(
    sdk: &SdkConfig,
    key: &str,
    function: &str,
    value: &str,
) -> Result<String, ProvisionError> {
    let ciphertext = aws_sdk_kms::Client::new(sdk)
        .encrypt()
        .key_id(key)
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
    Ok(base64::engine::general_purpose::STANDARD.encode(ciphertext.into_inner()))
}

/// Creates (or overwrites) the SecureString `name` holding `value`, encrypted with `key`;
/// returns the parameter's new `Version`.
pub(crate) async fn put_secure_string(
    sdk: &SdkConfig,
    name: &str,
    key: &str,
    value: &str,
) -> Result<i64, ProvisionError> {
    let out = aws_sdk_ssm::Client::new(sdk)
        .put_parameter()
        .name(name)
        .value(value)
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .key_id(key)
        .overwrite(true)
        .send()
        .await
        .map_err(err("PutParameter"))?;
    Ok(out.version)
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
    let ciphertext_b64 = encrypt_for_function(sdk, &key_id, function, value).await?;
    let parameter_name = format!("/{prefix}/secret");
    put_secure_string(sdk, &parameter_name, &key_id, value).await?;
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
        ciphertext_b64,
        parameter_name,
        secret_id,
        digest: digest(value),
    })
}

/// The deployed stage's resources that provisioning fills in (from the stack's outputs).
#[derive(Debug, Clone)]
pub struct StageResources {
    /// The probe function.
    pub function: String,
    /// The probe's functions in the other runtimes (Node.js, Python): each gets its own
    /// ciphertext, bound to its name, and the same digest.
    pub other_functions: Vec<String>,
    /// The stage's KMS key.
    pub key_arn: String,
    /// The stage's secret (its value generated by CloudFormation).
    pub secret_arn: String,
    /// The SecureString parameter to create.
    pub parameter_name: String,
}

/// Where the value comes from.
#[derive(Debug)]
pub enum ValueSource {
    /// The secret's current value (generated by CloudFormation, or set before).
    Secret,
    /// A value given on standard input or generated; it is written into the secret first.
    New(Value),
}

/// A value held only as long as needed, never printed (its `Debug` says so).
pub struct Value(String);

impl Value {
    /// Wraps a value.
    pub fn new(v: String) -> Value {
        Value(v)
    }
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Value(<not shown>)")
    }
}

/// What provisioning a deployed stage did.
#[derive(Debug, Clone)]
pub struct StageProvisioned {
    /// The SecureString parameter (created or overwritten).
    pub parameter_name: String,
    /// The function whose configuration got the ciphertext and the digest.
    pub function: String,
    /// The other runtimes' functions that got theirs.
    pub other_functions: Vec<String>,
    /// SHA-256 of the value (the probe's expected digest).
    pub digest: Digest,
    /// Whether the value was newly written into the secret.
    pub secret_updated: bool,
    /// Whether the plaintext baseline variable was set.
    pub plain_env_set: bool,
}

/// Fills in a deployed stage: puts the value into the secret (when new), creates the
/// SecureString with the stage's key, encrypts the value bound to the function's name, and
/// sets `SECBENCH_CIPHERTEXT` and `SECBENCH_EXPECTED_SHA256` on the function (keeping every
/// other variable). With `plain_env`, also `SECBENCH_PLAINTEXT` (the baseline: the value in
/// plaintext in the function's configuration; only for a throwaway value).
pub async fn provision_stage(
    sdk: &SdkConfig,
    lambda: &aws_sdk_lambda::Client,
    stage: &StageResources,
    value: ValueSource,
    plain_env: bool,
) -> Result<StageProvisioned, ProvisionError> {
    let sm = aws_sdk_secretsmanager::Client::new(sdk);
    let (value, secret_updated) = match value {
        ValueSource::New(v) => {
            sm.put_secret_value()
                .secret_id(&stage.secret_arn)
                .secret_string(v.expose())
                .send()
                .await
                .map_err(err("PutSecretValue"))?;
            (v, true)
        }
        ValueSource::Secret => {
            let v = sm
                .get_secret_value()
                .secret_id(&stage.secret_arn)
                .send()
                .await
                .map_err(err("GetSecretValue"))?
                .secret_string
                .ok_or(ProvisionError {
                    operation: "GetSecretValue",
                    message: "the secret has no string value".into(),
                })?;
            (Value(v), false)
        }
    };
    put_secure_string(sdk, &stage.parameter_name, &stage.key_arn, value.expose()).await?;
    let digest = digest(value.expose());
    for function in std::iter::once(&stage.function).chain(&stage.other_functions) {
        configure_function(
            sdk,
            lambda,
            &stage.key_arn,
            function,
            &value,
            digest,
            plain_env,
        )
        .await?;
    }
    Ok(StageProvisioned {
        parameter_name: stage.parameter_name.clone(),
        function: stage.function.clone(),
        other_functions: stage.other_functions.clone(),
        digest,
        secret_updated,
        plain_env_set: plain_env,
    })
}

/// Gives one function the value's ciphertext (bound to its name), its digest and, for the
/// plain-env baseline, the value.
async fn configure_function(
    sdk: &SdkConfig,
    lambda: &aws_sdk_lambda::Client,
    key_arn: &str,
    function: &str,
    value: &Value,
    digest: Digest,
    plain_env: bool,
) -> Result<(), ProvisionError> {
    let ciphertext_b64 = encrypt_for_function(sdk, key_arn, function, value.expose()).await?;
    let vars = lambda
        .get_function_configuration()
        .function_name(function)
        .send()
        .await
        .map_err(err("GetFunctionConfiguration"))?
        .environment
        .and_then(|e| e.variables)
        .unwrap_or_default();
    let mut config = ProbeConfig::from_map(&vars).map_err(|e| ProvisionError {
        operation: "GetFunctionConfiguration",
        message: e.to_string(),
    })?;
    config.ciphertext_b64 = Some(ciphertext_b64);
    config.expected_sha256 = Some(vec![digest]);
    config.plaintext = plain_env.then(|| Plaintext(value.expose().to_owned()));
    let mut vars = vars;
    config.apply(&mut vars);
    lambda
        .update_function_configuration()
        .function_name(function)
        .environment(
            aws_sdk_lambda::types::Environment::builder()
                .set_variables(Some(vars))
                .build(),
        )
        .send()
        .await
        .map_err(err("UpdateFunctionConfiguration"))?;
    Ok(())
}

/// Creates what scenarios reading several secrets need, under `prefix`: a secret and a
/// SecureString (encrypted with `key`) per value, and per count in `bundles` a secret and a
/// SecureString holding the first that many values as a JSON object (`key0`, `key1`, …).
/// Returns their names and the values' digests, never the values.
pub async fn provision_many(
    sdk: &SdkConfig,
    prefix: &str,
    key: &str,
    values: &[Value],
    bundles: &[u32],
    single: (&str, &str),
) -> Result<crate::targets::ManySecrets, ProvisionError> {
    let mut m = crate::targets::ManySecrets {
        single_secret_id: single.0.to_owned(),
        single_parameter_name: single.1.to_owned(),
        ..Default::default()
    };
    for (i, v) in values.iter().enumerate() {
        let id = format!("{prefix}/many/{i}");
        create_or_put_secret(sdk, &id, key, v).await?;
        let name = format!("/{prefix}/many/{i}");
        put_secure_string(sdk, &name, key, v.expose()).await?;
        m.secret_ids.push(id);
        m.parameter_names.push(name);
        m.digests.push(digest(v.expose()));
    }
    for &n in bundles {
        let object: serde_json::Map<String, serde_json::Value> = values
            .iter()
            .take(n as usize)
            .enumerate()
            .map(|(i, v)| {
                (
                    crate::targets::bundle_key(i),
                    serde_json::Value::String(v.expose().to_owned()),
                )
            })
            .collect();
        let text = Value::new(serde_json::Value::Object(object).to_string());
        let id = format!("{prefix}/bundle/{n}");
        create_or_put_secret(sdk, &id, key, &text).await?;
        let name = format!("/{prefix}/bundle/{n}");
        put_secure_string(sdk, &name, key, text.expose()).await?;
        m.secret_bundles.insert(n, id);
        m.parameter_bundles.insert(n, name);
    }
    Ok(m)
}

/// Creates the secret `id` (encrypted with `key`) holding `value`, or, when it exists (a
/// stage provisioned again), writes `value` as its new current version.
async fn create_or_put_secret(
    sdk: &SdkConfig,
    id: &str,
    key: &str,
    value: &Value,
) -> Result<(), ProvisionError> {
    let sm = aws_sdk_secretsmanager::Client::new(sdk);
    let created = sm
        .create_secret()
        .name(id)
        .kms_key_id(key)
        .secret_string(value.expose())
        .send()
        .await;
    match created {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_exists_exception()) =>
        {
            sm.put_secret_value()
                .secret_id(id)
                .secret_string(value.expose())
                .send()
                .await
                .map_err(err("PutSecretValue"))?;
            Ok(())
        }
        Err(e) => Err(err("CreateSecret")(e)),
    }
}
