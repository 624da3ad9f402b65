//! The platform's HTTP front door on 127.0.0.1: routes the Lambda API calls it serves (Invoke,
//! `GET`/`PUT` of the function's configuration) to their handlers, and answers the rest with
//! Lambda's error shape (REST-JSON, `x-amzn-errortype`) the SDK reads.

use crate::configuration::{configuration, update_configuration};
use crate::http::{json_response, read_body, service_error, Body};
use crate::invoke::invoke;
use crate::Platform;
use hyper::{Method, Request, Response, StatusCode};
use std::sync::Arc;

pub(crate) async fn handle(
    p: Arc<Platform>,
    req: Request<hyper::body::Incoming>,
) -> Result<Response<Body>, hyper::Error> {
    let path = req.uri().path().to_owned();
    let Some(rest) = path.strip_prefix("/2015-03-31/functions/") else {
        return Ok(service_error(
            StatusCode::NOT_FOUND,
            "UnknownOperationException",
            "unknown operation",
        ));
    };
    let (name, op) = rest.split_once('/').unwrap_or((rest, ""));
    let name = percent_decode(name);
    // A name, or an ARN that ends in it.
    if name != p.config.function_name
        && !name.ends_with(&format!(":function:{}", p.config.function_name))
    {
        return Ok(service_error(
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            &format!("Function not found: {name}"),
        ));
    }
    match (req.method().clone(), op) {
        (Method::POST, "invocations") => invoke(p, req).await,
        (Method::GET, "configuration") => Ok(json_response(StatusCode::OK, &configuration(&p))),
        (Method::PUT, "configuration") => {
            let body = read_body(req).await?;
            Ok(update_configuration(p, &body))
        }
        _ => Ok(service_error(
            StatusCode::NOT_FOUND,
            "UnknownOperationException",
            "unknown operation",
        )),
    }
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}
