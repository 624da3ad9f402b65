//! `agent-secrets-manager`: Secrets Manager through the Parameters and Secrets Lambda
//! Extension / Secrets Manager Agent (`GET /secretsmanager/get?secretId=…`). The agent caches;
//! the probe cannot see whether it hit, so these fetches are recorded as `delegated`.

use super::agent_http::{encode, AgentClient};
use crate::classify::FetchError;
use crate::secret::Secret;
use secbench_record::ErrorClass;
use serde::Deserialize;

/// The agent client and the secret id.
#[derive(Debug)]
pub struct AgentSecretsManager {
    client: AgentClient,
    path: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Response {
    secret_string: Option<String>,
    secret_binary: Option<String>,
    version_id: Option<String>,
}

impl AgentSecretsManager {
    /// Builds the source.
    pub fn new(client: AgentClient, secret_id: &str) -> AgentSecretsManager {
        AgentSecretsManager {
            client,
            path: path(secret_id),
        }
    }

    /// Asks the agent.
    pub async fn fetch(&self) -> Result<Secret, FetchError> {
        parse(self.client.get(&self.path).await)
    }
}

/// The agent's path for `secret_id`.
pub fn path(secret_id: &str) -> String {
    format!("/secretsmanager/get?secretId={}", encode(secret_id))
}

/// The value in the agent's answer (`SecretString`, else `SecretBinary`, with `VersionId`).
pub fn parse(body: Result<bytes::Bytes, FetchError>) -> Result<Secret, FetchError> {
    {
        use base64::Engine as _;
        let body = body?;
        let response: Response =
            serde_json::from_slice(&body).map_err(|_| FetchError::new(ErrorClass::Other))?;
        let binary = match response.secret_binary {
            Some(b64) => Some(
                base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .map_err(|_| FetchError::new(ErrorClass::Other))?,
            ),
            None => None,
        };
        Ok(
            super::secrets_manager::value_of(response.secret_string, binary)?
                .with_version(response.version_id),
        )
    }
}
