//! The HTTP client of the agent sources: GET on `localhost:<port>` with the
//! `X-Aws-Parameters-Secrets-Token` header set to the session token, as the Parameters and
//! Secrets Lambda Extension and the Secrets Manager Agent require. The response body is the
//! secret and is never logged; only its status and error code leave this module.

use crate::calls::CallRecorder;
use crate::classify::{classify_http, FetchError};
use crate::error::InitError;
use crate::settings::Env;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use secbench_record::ErrorClass;

/// The header the agent checks against its SSRF token.
pub const TOKEN_HEADER: &str = "X-Aws-Parameters-Secrets-Token";

/// A client for the agent on localhost (clones share its connections).
#[derive(Debug, Clone)]
pub struct AgentClient {
    client: Client<HttpConnector, Empty<Bytes>>,
    base: String,
    token: String,
    recorder: CallRecorder,
}

impl AgentClient {
    /// Builds the client; the token is `AWS_SESSION_TOKEN`, as on Lambda.
    pub fn new(env: &Env, port: u16, recorder: &CallRecorder) -> Result<AgentClient, InitError> {
        let token = env
            .get("AWS_SESSION_TOKEN")
            .filter(|t| !t.is_empty())
            .ok_or(InitError::Missing {
                var: "AWS_SESSION_TOKEN",
                why: "the agent requires it in the X-Aws-Parameters-Secrets-Token header",
            })?
            .clone();
        Ok(AgentClient {
            client: Client::builder(TokioExecutor::new()).build_http(),
            base: format!("http://localhost:{port}"),
            token,
            recorder: recorder.clone(),
        })
    }

    /// GETs `path_and_query` and returns the body of a 200 response.
    pub async fn get(&self, path_and_query: &str) -> Result<Bytes, FetchError> {
        let request = http::Request::get(format!("{}{}", self.base, path_and_query))
            .header(TOKEN_HEADER, &self.token)
            .body(Empty::new())
            .map_err(|_| FetchError::new(ErrorClass::Other))?;
        self.recorder.add_attempt();
        let response = self.client.request(request).await.map_err(|e| {
            FetchError::new(if e.is_connect() {
                ErrorClass::Connect
            } else {
                ErrorClass::Other
            })
        })?;
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|_| FetchError::new(ErrorClass::Other))?
            .to_bytes();
        if status == 200 {
            return Ok(body);
        }
        let code = error_code(&body);
        Err(FetchError::of_status(
            classify_http(status, code.as_deref()),
            code,
            status,
        ))
    }
}

/// The error code in an error body (`__type`, `code` or `errorType`), if any.
fn error_code(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let code = ["__type", "code", "Code", "errorType"]
        .iter()
        .find_map(|k| value.get(*k).and_then(|v| v.as_str()))?;
    Some(code.rsplit('#').next().unwrap_or(code).to_owned())
}

/// Percent-encodes a query parameter value.
pub fn encode(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, percent_encoding::NON_ALPHANUMERIC).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_error_codes_of_either_shape() {
        assert_eq!(
            error_code(br#"{"__type":"com.amazon#ResourceNotFoundException"}"#).as_deref(),
            Some("ResourceNotFoundException")
        );
        assert_eq!(
            error_code(br#"{"errorType":"ThrottlingException"}"#).as_deref(),
            Some("ThrottlingException")
        );
        assert_eq!(error_code(b"Forbidden"), None);
    }
}
