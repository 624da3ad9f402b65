//! The platform's HTTP front door on 127.0.0.1: routes the Lambda API calls it serves (Invoke,
//! `GET`/`PUT` of the function's configuration, `PublishVersion`, the alias calls,
//! `Put`/`Get`/`DeleteProvisionedConcurrencyConfig`, `Put`/`GetFunctionScalingConfig` and
//! `DeleteFunction` of a version) to their handlers, and answers the rest
//! with Lambda's error shape (REST-JSON, `x-amzn-errortype`) the SDK reads.

use crate::configuration::{configuration, update_configuration};
use crate::http::{json_response, read_body, service_error, Body};
use crate::invoke::invoke;
use crate::platform::Platform;
use crate::versions;
use hyper::{Method, Request, Response, StatusCode};
use std::sync::Arc;

pub(crate) async fn handle(
    p: Arc<Platform>,
    req: Request<hyper::body::Incoming>,
) -> Result<Response<Body>, hyper::Error> {
    let path = req.uri().path().to_owned();
    let qualifier = crate::versions::qualifier_of(req.uri());
    let Some(rest) = path
        .strip_prefix("/2015-03-31/functions/")
        .or_else(|| path.strip_prefix("/2019-09-30/functions/"))
        .or_else(|| path.strip_prefix("/2025-11-30/functions/"))
    else {
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
    let q = qualifier.as_deref();
    match (req.method().clone(), op) {
        (Method::POST, "invocations") => invoke(p, req).await,
        (Method::GET, "configuration") if q.is_some() => Ok(versions::version_configuration(&p, q)),
        (Method::GET, "configuration") => Ok(json_response(StatusCode::OK, &configuration(&p))),
        (Method::PUT, "configuration") => {
            let body = read_body(req).await?;
            Ok(update_configuration(p, &body))
        }
        (Method::POST, "versions") => {
            let (response, version, publishing) = versions::publish_version(&p);
            match publishing {
                // On a capacity provider, publishing starts the version's environments.
                versions::Publishing::Managed => crate::managed::published(&p, version),
                // With SnapStart, it runs INIT once for the version's snapshot.
                versions::Publishing::Snapshot => {
                    if let Err(e) = crate::snapstart::published(&p, version) {
                        return Ok(service_error(
                            StatusCode::INTERNAL_SERVER_ERROR,
                            "ServiceException",
                            &format!("cannot make the snapshot's socket: {e}"),
                        ));
                    }
                }
                versions::Publishing::Ready => {}
            }
            Ok(response)
        }
        (Method::POST, "aliases") => {
            let body = read_body(req).await?;
            Ok(versions::put_alias(&p, None, &body, true))
        }
        (Method::GET, op) if op.starts_with("aliases/") => Ok(versions::get_alias(
            &p,
            &percent_decode(&op["aliases/".len()..]),
        )),
        (Method::PUT, op) if op.starts_with("aliases/") => {
            let name = percent_decode(&op["aliases/".len()..]);
            let body = read_body(req).await?;
            Ok(versions::put_alias(&p, Some(&name), &body, false))
        }
        (Method::DELETE, op) if op.starts_with("aliases/") => Ok(versions::delete_alias(
            &p,
            &percent_decode(&op["aliases/".len()..]),
        )),
        (Method::PUT, "provisioned-concurrency") => {
            let body = read_body(req).await?;
            Ok(versions::put_provisioned(&p, q, &body))
        }
        (Method::GET, "provisioned-concurrency") => Ok(versions::get_provisioned(&p, q)),
        (Method::DELETE, "provisioned-concurrency") => {
            Ok(versions::delete_provisioned(&p, q).await)
        }
        (Method::PUT, "function-scaling-config") => {
            let body = read_body(req).await?;
            Ok(crate::managed::put_scaling(&p, q, &body))
        }
        (Method::GET, "function-scaling-config") => Ok(crate::managed::get_scaling(&p, q)),
        (Method::DELETE, "") => Ok(crate::managed::delete_version(&p, q).await),
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
