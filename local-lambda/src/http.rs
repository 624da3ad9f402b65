//! Small helpers for the local platform's HTTP servers (hyper 1).

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
