//! `kms-env`: base64 KMS ciphertext in an environment variable, decrypted with KMS `Decrypt`
//! (with the encryption context it was bound to, e.g. Lambda's `LambdaFunctionName`).

use crate::calls::CallRecorder;
use crate::classify::{classify_sdk, FetchError};
use crate::secret::Secret;
use aws_config::SdkConfig;
use aws_sdk_kms::primitives::Blob;
use secbench_record::ErrorClass;
use std::collections::{BTreeMap, HashMap};

/// A KMS client and the ciphertext to decrypt.
#[derive(Debug)]
pub struct KmsEnv {
    client: aws_sdk_kms::Client,
    ciphertext: Blob,
    encryption_context: Option<HashMap<String, String>>,
    key_id: Option<String>,
}

impl KmsEnv {
    /// Builds the client.
    pub fn new(
        sdk: &SdkConfig,
        recorder: &CallRecorder,
        ciphertext: Vec<u8>,
        encryption_context: BTreeMap<String, String>,
        key_id: Option<String>,
    ) -> KmsEnv {
        let config = aws_sdk_kms::config::Builder::from(sdk)
            .interceptor(recorder.clone())
            .build();
        KmsEnv {
            client: aws_sdk_kms::Client::from_conf(config),
            ciphertext: Blob::new(ciphertext),
            encryption_context: (!encryption_context.is_empty())
                .then(|| encryption_context.into_iter().collect()),
            key_id,
        }
    }

    /// Decrypts the ciphertext.
    pub async fn fetch(&self) -> Result<Secret, FetchError> {
        let out = self
            .client
            .decrypt()
            .ciphertext_blob(self.ciphertext.clone())
            .set_encryption_context(self.encryption_context.clone())
            .set_key_id(self.key_id.clone())
            .send()
            .await
            .map_err(|e| classify_sdk(&e))?;
        let plaintext = out
            .plaintext
            .ok_or_else(|| FetchError::new(ErrorClass::Other))?;
        Ok(Secret::new(plaintext.into_inner()))
    }
}
