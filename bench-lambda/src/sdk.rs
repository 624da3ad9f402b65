//! Loads the AWS SDK configuration once at INIT from the probe's environment snapshot: the
//! region, credentials, endpoint (`AWS_ENDPOINT_URL`, for an emulator) and retry settings the
//! default chain would read from the process environment on Lambda, set explicitly so a test
//! can give each probe its own environment.

use crate::settings::Env;
use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_kms::config::Credentials;
use secbench_record::RetrySettings;

fn get<'a>(env: &'a Env, var: &str) -> Option<&'a str> {
    env.get(var).map(String::as_str).filter(|v| !v.is_empty())
}

/// Loads the SDK configuration (`attempt_timeout`: the SDK's time limit per attempt).
pub async fn load(env: &Env, attempt_timeout: Option<std::time::Duration>) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(region) = get(env, "AWS_REGION").or_else(|| get(env, "AWS_DEFAULT_REGION")) {
        loader = loader.region(Region::new(region.to_owned()));
    }
    if let Some(url) = get(env, "AWS_ENDPOINT_URL") {
        loader = loader.endpoint_url(url);
    }
    if let (Some(id), Some(secret)) = (
        get(env, "AWS_ACCESS_KEY_ID"),
        get(env, "AWS_SECRET_ACCESS_KEY"),
    ) {
        let token = get(env, "AWS_SESSION_TOKEN").map(str::to_owned);
        loader =
            loader.credentials_provider(Credentials::new(id, secret, token, None, "environment"));
    }
    let mut retry = RetryConfig::standard();
    if let Some(mode) = get(env, "AWS_RETRY_MODE") {
        if mode == "adaptive" {
            retry = RetryConfig::adaptive();
        }
    }
    if let Some(n) = get(env, "AWS_MAX_ATTEMPTS")
        .and_then(|n| n.parse::<u32>().ok())
        .filter(|n| *n > 0)
    {
        retry = retry.with_max_attempts(n);
    }
    if let Some(d) = attempt_timeout.filter(|d| !d.is_zero()) {
        loader = loader.timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .operation_attempt_timeout(d)
                .build(),
        );
    }
    loader.retry_config(retry).load().await
}

/// The retry settings in force, for the record.
pub fn retry_settings(config: &SdkConfig) -> RetrySettings {
    let retry = config
        .retry_config()
        .cloned()
        .unwrap_or_else(RetryConfig::standard);
    RetrySettings {
        mode: match retry.mode() {
            aws_config::retry::RetryMode::Adaptive => "adaptive".to_owned(),
            _ => "standard".to_owned(),
        },
        max_attempts: retry.max_attempts(),
        attempt_timeout_ms: config
            .timeout_config()
            .and_then(|t| t.operation_attempt_timeout())
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
    }
}
