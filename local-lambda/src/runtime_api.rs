//! An environment's Runtime API (`/2018-06-01/runtime/…`) as Lambda serves it to the runtime:
//! the next event (`/invocation/next`, which also marks INIT done), the invocation's response or
//! error, INIT's error, and SnapStart's `/restore/next` and `/restore/error`; what INIT and an invocation came to ([`InitState`],
//! [`InvokeResult`]); and the state the server shares with its environment.

use crate::http::{full, read_body, text_response, Body};
use crate::logs::LogBuffer;
use bytes::Bytes;
use hyper::{Method, Request, Response, StatusCode};
use secbench_record::sync::lock;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, watch};

/// How INIT went.
#[derive(Debug, Clone, PartialEq)]
pub enum InitState {
    /// Still starting.
    Starting,
    /// The runtime asked for its first event (and the agent, if any, listens).
    Ready(Duration),
    /// The runtime reported `/runtime/init/error`.
    Failed {
        /// Its `Lambda-Runtime-Function-Error-Type`.
        error_type: String,
        /// Its body.
        body: Bytes,
        /// Spawn to the report.
        after: Duration,
    },
    /// The process exited before it was ready.
    Exited(String),
}

/// How one invocation ended inside the environment.
#[derive(Debug)]
pub enum InvokeResult {
    /// `/response`.
    Response(Bytes),
    /// `/error`.
    Error {
        /// `Lambda-Runtime-Function-Error-Type`, or the body's `errorType`.
        error_type: String,
        /// The error document.
        body: Bytes,
    },
    /// The process exited mid-invocation.
    Exited(String),
    /// The function timeout passed.
    TimedOut,
    /// The kernel's OOM killer ended a process of the environment: over its memory.
    OutOfMemory(String),
}

/// An event handed to the runtime at its next `/invocation/next`.
pub(crate) struct Delivery {
    pub(crate) request_id: String,
    pub(crate) payload: Bytes,
    pub(crate) deadline_ms: u128,
}

/// What the server shares with its environment.
pub(crate) struct Shared {
    pub(crate) next_rx: tokio::sync::Mutex<mpsc::Receiver<Delivery>>,
    pub(crate) pending: Mutex<HashMap<String, oneshot::Sender<InvokeResult>>>,
    pub(crate) init: watch::Sender<InitState>,
    pub(crate) spawned_at: Instant,
    pub(crate) function_arn: String,
    pub(crate) logs: Arc<Mutex<LogBuffer>>,
    /// `/invocation/next` requests waiting for an event (the runtime's idle workers).
    pub(crate) waiting: std::sync::atomic::AtomicU32,
    /// SnapStart: this environment is a version's snapshot (its `/restore/next` ends INIT and
    /// is never answered: the snapshot itself is not restored).
    pub(crate) snapshot: bool,
}

const PREFIX: &str = "/2018-06-01/runtime";

/// Serves one request of the environment's Runtime API.
pub(crate) async fn serve(
    shared: Arc<Shared>,
    req: Request<hyper::body::Incoming>,
) -> Result<Response<Body>, hyper::Error> {
    let path = req.uri().path().to_owned();
    let Some(rest) = path.strip_prefix(PREFIX) else {
        return Ok(text_response(
            StatusCode::NOT_FOUND,
            "not a Runtime API path",
        ));
    };
    let method = req.method().clone();
    let error_type = req
        .headers()
        .get("Lambda-Runtime-Function-Error-Type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    match (method, rest) {
        (Method::GET, "/invocation/next") => {
            shared.init.send_if_modified(|s| {
                if *s == InitState::Starting {
                    *s = InitState::Ready(shared.spawned_at.elapsed());
                    true
                } else {
                    false
                }
            });
            let delivery = {
                // Counted while it waits, also when the runtime hangs up mid-wait.
                let _waiting = Waiting::new(&shared.waiting);
                shared.next_rx.lock().await.recv().await
            };
            let Some(d) = delivery else {
                return Ok(text_response(StatusCode::GONE, "environment shutting down"));
            };
            lock(&shared.logs).push(format!(
                "START RequestId: {} Version: $LATEST",
                d.request_id
            ));
            let response = Response::builder()
                .status(StatusCode::OK)
                .header("Lambda-Runtime-Aws-Request-Id", &d.request_id)
                .header("Lambda-Runtime-Deadline-Ms", d.deadline_ms.to_string())
                .header("Lambda-Runtime-Invoked-Function-Arn", &shared.function_arn)
                .header(
                    "Lambda-Runtime-Trace-Id",
                    format!(
                        "Root=1-{:08x}-{:024x};Sampled=0",
                        rand::random::<u32>(),
                        rand::random::<u128>() >> 32
                    ),
                )
                .header("content-type", "application/json")
                .body(full(d.payload));
            Ok(response
                .unwrap_or_else(|_| text_response(StatusCode::INTERNAL_SERVER_ERROR, "response")))
        }
        // SnapStart ("Runtime API", "/runtime/restore/next"): the runtime calls it when INIT
        // and the before-snapshot hooks are done; Lambda answers it when the environment is
        // restored, and the runtime then runs the after-restore hooks.
        (Method::GET, "/restore/next") => {
            if shared.snapshot {
                shared.init.send_if_modified(|s| {
                    if *s == InitState::Starting {
                        *s = InitState::Ready(shared.spawned_at.elapsed());
                        true
                    } else {
                        false
                    }
                });
                std::future::pending::<()>().await;
            }
            Ok(text_response(StatusCode::OK, ""))
        }
        // An after-restore hook failed: the restore fails (`SnapStartException`).
        (Method::POST, "/restore/error") => {
            let body = read_body(req).await?;
            let after = shared.spawned_at.elapsed();
            shared.init.send_replace(InitState::Failed {
                error_type: error_type.unwrap_or_else(|| "Runtime.AfterRestoreError".into()),
                body,
                after,
            });
            Ok(accepted())
        }
        (Method::POST, "/init/error") => {
            let body = read_body(req).await?;
            let after = shared.spawned_at.elapsed();
            let error_type = error_type.unwrap_or_else(|| "Runtime.Unknown".into());
            shared.init.send_replace(InitState::Failed {
                error_type,
                body,
                after,
            });
            Ok(accepted())
        }
        (Method::POST, rest) => {
            let Some(rest) = rest.strip_prefix("/invocation/") else {
                return Ok(text_response(StatusCode::NOT_FOUND, "unknown path"));
            };
            let Some((id, kind)) = rest.split_once('/') else {
                return Ok(text_response(StatusCode::NOT_FOUND, "unknown path"));
            };
            let body = read_body(req).await?;
            let Some(tx) = lock(&shared.pending).remove(id) else {
                return Ok(text_response(
                    StatusCode::BAD_REQUEST,
                    r#"{"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"}"#,
                ));
            };
            let result = match kind {
                "response" => InvokeResult::Response(body),
                "error" => {
                    let from_body = serde_json::from_slice::<serde_json::Value>(&body)
                        .ok()
                        .and_then(|v| {
                            v.get("errorType")
                                .and_then(|t| t.as_str())
                                .map(str::to_owned)
                        });
                    InvokeResult::Error {
                        error_type: error_type
                            .or(from_body)
                            .unwrap_or_else(|| "Unhandled".into()),
                        body,
                    }
                }
                _ => return Ok(text_response(StatusCode::NOT_FOUND, "unknown path")),
            };
            let _ = tx.send(result);
            Ok(accepted())
        }
        _ => Ok(text_response(StatusCode::NOT_FOUND, "unknown path")),
    }
}

/// One `/invocation/next` waiting: counted from its start until it is answered or dropped.
struct Waiting<'a>(&'a std::sync::atomic::AtomicU32);

impl<'a> Waiting<'a> {
    fn new(count: &'a std::sync::atomic::AtomicU32) -> Waiting<'a> {
        count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Waiting(count)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

fn accepted() -> Response<Body> {
    text_response(StatusCode::ACCEPTED, r#"{"status":"OK"}"#)
}
