//! The results bucket: objects put once, read whole, listed by prefix (S3 through the AWS SDK).
//! An endpoint of its own (`AWS_ENDPOINT_URL_S3` or `AWS_ENDPOINT_URL`: moto on the local
//! stage) is addressed path-style, as S3-compatible emulators are.

use super::InAwsError;
use aws_sdk_s3::primitives::ByteStream;

/// The results bucket.
#[derive(Debug, Clone)]
pub struct Store {
    client: aws_sdk_s3::Client,
    /// The bucket.
    pub bucket: String,
}

impl Store {
    /// A client of `bucket` from the SDK configuration.
    pub fn new(sdk: &aws_config::SdkConfig, bucket: &str) -> Store {
        let emulated = ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"]
            .iter()
            .any(|v| std::env::var_os(v).is_some())
            || sdk.endpoint_url().is_some();
        let config = aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(emulated)
            .build();
        Store {
            client: aws_sdk_s3::Client::from_conf(config),
            bucket: bucket.to_owned(),
        }
    }

    fn error(&self, key: &str, e: impl std::fmt::Display) -> InAwsError {
        InAwsError::S3 {
            bucket: self.bucket.clone(),
            key: key.to_owned(),
            message: e.to_string(),
        }
    }

    /// Writes `body` at `key` (whole: S3 makes an object visible only once it is complete).
    pub async fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
    ) -> Result<(), InAwsError> {
        self.put_stream(key, ByteStream::from(body), content_type)
            .await
    }

    /// Writes a file at `key`.
    pub async fn put_file(&self, key: &str, path: &std::path::Path) -> Result<(), InAwsError> {
        let body = ByteStream::from_path(path)
            .await
            .map_err(|e| self.error(key, e))?;
        self.put_stream(key, body, "application/x-ndjson").await
    }

    async fn put_stream(
        &self,
        key: &str,
        body: ByteStream,
        content_type: &str,
    ) -> Result<(), InAwsError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(body)
            .send()
            .await
            .map_err(|e| {
                self.error(
                    key,
                    aws_smithy_types::error::display::DisplayErrorContext(e),
                )
            })?;
        Ok(())
    }

    /// Reads `key` whole; `None` when there is no such object.
    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, InAwsError> {
        match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => Ok(Some(
                out.body
                    .collect()
                    .await
                    .map_err(|e| self.error(key, e))?
                    .into_bytes()
                    .to_vec(),
            )),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => Ok(None),
            Err(e) => Err(self.error(
                key,
                aws_smithy_types::error::display::DisplayErrorContext(e),
            )),
        }
    }

    /// Reads `key` as JSON; `None` when there is no such object.
    pub async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        key: &str,
    ) -> Result<Option<T>, InAwsError> {
        let Some(bytes) = self.get(key).await? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| InAwsError::Format {
                what: format!("s3://{}/{key}", self.bucket),
                message: e.to_string(),
            })
    }

    /// Writes `value` as JSON at `key`.
    pub async fn put_json<T: serde::Serialize>(
        &self,
        key: &str,
        value: &T,
    ) -> Result<(), InAwsError> {
        let body = serde_json::to_vec_pretty(value).map_err(|e| InAwsError::Format {
            what: format!("s3://{}/{key}", self.bucket),
            message: e.to_string(),
        })?;
        self.put(key, body, "application/json").await
    }

    /// The keys under `prefix`, in S3's order (UTF-8 binary order).
    pub async fn list(&self, prefix: &str) -> Result<Vec<String>, InAwsError> {
        let mut keys = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                self.error(
                    prefix,
                    aws_smithy_types::error::display::DisplayErrorContext(e),
                )
            })?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_owned)),
            );
        }
        Ok(keys)
    }
}
