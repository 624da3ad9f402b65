//! Small helpers for the local platform's HTTP servers (hyper 1), and the shapes of Lambda's
//! answers they share: its JSON responses and service errors, the function's ARN.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Response, StatusCode};

/// The response body type of the local servers.
pub type Body = Full<Bytes>;

/// A body from bytes.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
}

/// A response with a text body.
pub fn text_response(status: StatusCode, text: &str) -> Response<Body> {
    let mut r = Response::new(full(Bytes::copy_from_slice(text.as_bytes())));
    *r.status_mut() = status;
    r
}

/// Reads a whole request body.
pub async fn read_body(req: hyper::Request<hyper::body::Incoming>) -> Result<Bytes, hyper::Error> {
    Ok(req.into_body().collect().await?.to_bytes())
}

/// A response with `value` as its JSON body.
pub fn json_response(status: StatusCode, value: &serde_json::Value) -> Response<Body> {
    let mut r = Response::new(full(Bytes::from(value.to_string())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        "content-type",
        hyper::header::HeaderValue::from_static("application/json"),
    );
    r
}

/// A Lambda service error in the REST-JSON shape the SDK reads.
pub fn service_error(status: StatusCode, code: &'static str, message: &str) -> Response<Body> {
    let mut r = json_response(
        status,
        &serde_json::json!({"Type": "User", "message": message, "__type": code}),
    );
    r.headers_mut().insert(
        "x-amzn-errortype",
        hyper::header::HeaderValue::from_static(code),
    );
    r
}

/// The ARN the local platform gives its function.
pub fn function_arn(region: &str, function_name: &str) -> String {
    format!("arn:aws:lambda:{region}:000000000000:function:{function_name}")
}

/// The architecture the function reports: the host's.
pub fn architecture() -> &'static str {
    secbench_record::Architecture::current().map_or("x86_64", |a| a.as_str())
}
