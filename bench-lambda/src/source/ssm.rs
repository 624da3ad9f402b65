//! `ssm`: SSM Parameter Store `GetParameter` with `WithDecryption=true` on a `SecureString`
//! (SSM calls KMS `Decrypt` on the caller's behalf; that call is not the probe's to see).

use crate::calls::CallRecorder;
use crate::classify::{classify_sdk, FetchError};
use crate::secret::Secret;
use aws_config::SdkConfig;
use secbench_record::ErrorClass;

/// An SSM client whose calls `recorder` counts.
pub fn client(sdk: &SdkConfig, recorder: &CallRecorder) -> aws_sdk_ssm::Client {
    aws_sdk_ssm::Client::from_conf(
        aws_sdk_ssm::config::Builder::from(sdk)
            .interceptor(recorder.clone())
            .build(),
    )
}

/// An SSM client and the parameter name.
#[derive(Debug)]
pub struct Ssm {
    client: aws_sdk_ssm::Client,
    name: String,
}

impl Ssm {
    /// Builds the client.
    pub fn new(sdk: &SdkConfig, recorder: &CallRecorder, name: String) -> Ssm {
        Ssm {
            client: client(sdk, recorder),
            name,
        }
    }

    /// Reads the parameter, decrypted.
    pub async fn fetch(&self) -> Result<Secret, FetchError> {
        get(&self.client, &self.name).await
    }

    /// `GetParameter` without decryption: opens the connection (no KMS call); the encrypted
    /// value is dropped unread.
    pub async fn open_connection(&self) -> Result<(), FetchError> {
        self.client
            .get_parameter()
            .name(&self.name)
            .with_decryption(false)
            .send()
            .await
            .map(drop)
            .map_err(|e| classify_sdk(&e))
    }
}

/// `GetParameter` of `name` with decryption: its value with its `Version`.
pub async fn get(client: &aws_sdk_ssm::Client, name: &str) -> Result<Secret, FetchError> {
    {
        let out = client
            .get_parameter()
            .name(name)
            .with_decryption(true)
            .send()
            .await
            .map_err(|e| classify_sdk(&e))?;
        let parameter = out
            .parameter
            .ok_or_else(|| FetchError::new(ErrorClass::Other))?;
        let value = parameter
            .value
            .ok_or_else(|| FetchError::new(ErrorClass::Other))?;
        Ok(Secret::new(value.into_bytes()).with_version(Some(parameter.version.to_string())))
    }
}

/// `GetParameters` of `names` (at most 10) with decryption: each name's value with its
/// `Version`, in the order of `names`; a name SSM lists as invalid (or does not return) is
/// `not_found`. The call's own failure fails them all.
pub async fn get_parameters(
    client: &aws_sdk_ssm::Client,
    names: &[String],
) -> Result<Vec<Result<Secret, FetchError>>, FetchError> {
    let out = client
        .get_parameters()
        .set_names(Some(names.to_vec()))
        .with_decryption(true)
        .send()
        .await
        .map_err(|e| classify_sdk(&e))?;
    let params = out.parameters.unwrap_or_default();
    Ok(names
        .iter()
        .map(|name| {
            let found = params.iter().find(|p| {
                p.name.as_deref() == Some(name.as_str()) || p.arn.as_deref() == Some(name.as_str())
            });
            match found.and_then(|p| p.value.clone().map(|v| (v, p.version))) {
                Some((v, version)) => {
                    Ok(Secret::new(v.into_bytes()).with_version(Some(version.to_string())))
                }
                None => Err(FetchError::new(ErrorClass::NotFound)),
            }
        })
        .collect())
}
