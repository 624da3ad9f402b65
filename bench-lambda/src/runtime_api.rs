//! The one Runtime API call `lambda_runtime` does not make for us: reporting an INIT failure
//! to `POST /2018-06-01/runtime/init/error`, so Lambda (or the local platform) shows why the
//! environment could not start.

use crate::error::InitError;
use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// Posts `err` to the Runtime API at `runtime_api` (the value of `AWS_LAMBDA_RUNTIME_API`).
/// Returns whether Lambda accepted it.
pub async fn report_init_error(runtime_api: &str, err: &InitError) -> bool {
    let body = serde_json::json!({
        "errorType": err.error_type(),
        "errorMessage": err.to_string(),
    })
    .to_string();
    let request = match http::Request::post(format!(
        "http://{runtime_api}/2018-06-01/runtime/init/error"
    ))
    .header("Lambda-Runtime-Function-Error-Type", err.error_type())
    .header("content-type", "application/json")
    .body(Full::new(Bytes::from(body)))
    {
        Ok(r) => r,
        Err(_) => return false,
    };
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    matches!(client.request(request).await, Ok(resp) if resp.status().is_success())
}
