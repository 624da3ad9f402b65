//! `agent-ssm`: SSM through the Parameters and Secrets Lambda Extension
//! (`GET /systemsmanager/parameters/get?name=…&withDecryption=true`). Only the extension on AWS
//! serves this; locally it is tested against a fixture server that follows AWS's documentation.

use super::agent_http::{encode, AgentClient};
use crate::classify::FetchError;
use crate::secret::Secret;
use secbench_record::ErrorClass;
use serde::Deserialize;

/// The agent client and the parameter name.
#[derive(Debug)]
pub struct AgentSsm {
    client: AgentClient,
    path: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Response {
    parameter: Parameter,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Parameter {
    value: String,
    version: Option<i64>,
}

impl AgentSsm {
    /// Builds the source.
    pub fn new(client: AgentClient, name: &str) -> AgentSsm {
        AgentSsm {
            client,
            path: path(name),
        }
    }

    /// Asks the extension.
    pub async fn fetch(&self) -> Result<Secret, FetchError> {
        parse(self.client.get(&self.path).await)
    }
}

/// The extension's path for `name`, decrypted.
pub fn path(name: &str) -> String {
    format!(
        "/systemsmanager/parameters/get?name={}&withDecryption=true",
        encode(name)
    )
}

/// The value in the extension's answer (`Parameter.Value`, with `Parameter.Version`).
pub fn parse(body: Result<bytes::Bytes, FetchError>) -> Result<Secret, FetchError> {
    {
        let body = body?;
        let response: Response =
            serde_json::from_slice(&body).map_err(|_| FetchError::new(ErrorClass::Other))?;
        let version = response.parameter.version.map(|v| v.to_string());
        Ok(Secret::new(response.parameter.value.into_bytes()).with_version(version))
    }
}
