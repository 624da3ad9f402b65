//! The secret sources, one file each. A source fetches the value once, uncached; caching is
//! layered on top by `crate::cache`.

pub mod agent_http;
pub mod agent_secrets_manager;
pub mod agent_ssm;
pub mod kms_env;
pub mod plain_env;
pub mod secrets_manager;
pub mod ssm;

use crate::calls::CallRecorder;
use crate::classify::FetchError;
use crate::error::InitError;
use crate::secret::Secret;
use crate::settings::{Env, Settings, Target};
use aws_config::SdkConfig;

/// The configured source with its client.
#[derive(Debug)]
pub enum SourceClient {
    /// `plain-env`.
    PlainEnv(plain_env::PlainEnv),
    /// `kms-env`.
    KmsEnv(kms_env::KmsEnv),
    /// `ssm`.
    Ssm(ssm::Ssm),
    /// `secrets-manager`.
    SecretsManager(secrets_manager::SecretsManager),
    /// `agent-secrets-manager`.
    AgentSecretsManager(agent_secrets_manager::AgentSecretsManager),
    /// `agent-ssm`.
    AgentSsm(agent_ssm::AgentSsm),
}

impl SourceClient {
    /// Builds the client for `settings`. `sdk` is present for SDK-backed sources.
    pub fn build(
        settings: &Settings,
        env: &Env,
        sdk: Option<&SdkConfig>,
        recorder: &CallRecorder,
    ) -> Result<SourceClient, InitError> {
        use secbench_record::Source;
        let need_sdk =
            || sdk.ok_or_else(|| InitError::Sdk("the SDK configuration was not loaded".into()));
        Ok(match (&settings.target, settings.source) {
            (Target::PlainEnv { var }, _) => {
                SourceClient::PlainEnv(plain_env::PlainEnv::new(env, var)?)
            }
            (
                Target::KmsEnv {
                    ciphertext,
                    encryption_context,
                    key_id,
                },
                _,
            ) => SourceClient::KmsEnv(kms_env::KmsEnv::new(
                need_sdk()?,
                recorder,
                ciphertext.clone(),
                encryption_context.clone(),
                key_id.clone(),
            )),
            (Target::Parameter { name }, Source::AgentSsm) => {
                SourceClient::AgentSsm(agent_ssm::AgentSsm::new(
                    agent_http::AgentClient::new(env, settings.agent_port, recorder)?,
                    name,
                ))
            }
            (Target::Parameter { name }, _) => {
                SourceClient::Ssm(ssm::Ssm::new(need_sdk()?, recorder, name.clone()))
            }
            (Target::Secret { id }, Source::AgentSecretsManager) => {
                SourceClient::AgentSecretsManager(agent_secrets_manager::AgentSecretsManager::new(
                    agent_http::AgentClient::new(env, settings.agent_port, recorder)?,
                    id,
                ))
            }
            (Target::Secret { id }, _) => SourceClient::SecretsManager(
                secrets_manager::SecretsManager::new(need_sdk()?, recorder, id.clone()),
            ),
        })
    }

    /// Opens the connection the first fetch will use, with the cheapest call the probe may make
    /// that does not fetch the value (`prewarm = "connection"`): SSM `GetParameter` without
    /// decryption (no KMS call; the encrypted value is dropped unread), Secrets Manager
    /// `DescribeSecret` (metadata only). The other sources have no such call: nothing to do.
    pub async fn open_connection(&self) -> Result<(), FetchError> {
        match self {
            SourceClient::Ssm(s) => s.open_connection().await,
            SourceClient::SecretsManager(s) => s.open_connection().await,
            _ => Ok(()),
        }
    }

    /// Fetches the value once, from the source itself.
    pub async fn fetch(&self) -> Result<Secret, FetchError> {
        match self {
            SourceClient::PlainEnv(s) => Ok(s.fetch()),
            SourceClient::KmsEnv(s) => s.fetch().await,
            SourceClient::Ssm(s) => s.fetch().await,
            SourceClient::SecretsManager(s) => s.fetch().await,
            SourceClient::AgentSecretsManager(s) => s.fetch().await,
            SourceClient::AgentSsm(s) => s.fetch().await,
        }
    }
}
