//! A fault-injecting proxy between the probe (and the agent) and the emulator, part of the
//! local stage: added latency (fixed and uniformly distributed), throttling in the services'
//! real error format (HTTP 400 `ThrottlingException`, awsJson1_1, as KMS, SSM and Secrets
//! Manager return it) at a rate or above a rate per second (SSM's 40 TPS), HTTP 500/503,
//! connection resets, and responses held longer than the SDK's attempt timeout. A plan sets
//! faults per scenario (`[scenario.faults]`); the runner switches them as scenarios start.
//! moto closes every connection, so the delay is added on the upstream side of each request.

use crate::http::{full, Body};
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::{Request, Response, StatusCode};
use secbench_record::sync::lock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use secbench_record::faults::{FaultSpec, Faults, SERVICES};

/// What the proxy did, by kind (for tests and the run's notes).
#[derive(Debug, Default)]
pub struct FaultCounts {
    /// Requests seen.
    pub requests: AtomicU64,
    /// Answered `ThrottlingException`.
    pub throttled: AtomicU64,
    /// Answered 500 or 503.
    pub server_errors: AtomicU64,
    /// Connections reset.
    pub resets: AtomicU64,
    /// Held for the slow delay.
    pub slowed: AtomicU64,
    /// Delayed by the added latency.
    pub delayed: AtomicU64,
}

#[derive(Debug, Default)]
struct Window {
    second: Option<Instant>,
    counts: [u32; 3],
}

/// The handle the runner switches faults with; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct FaultControl {
    current: Arc<Mutex<Option<Faults>>>,
    window: Arc<Mutex<Window>>,
    /// Counters.
    pub counts: Arc<FaultCounts>,
}

impl FaultControl {
    /// Sets the faults of the scenario that starts (None: pass everything through).
    pub fn set(&self, faults: Option<Faults>) {
        *lock(&self.current) = faults;
        *lock(&self.window) = Window::default();
    }

    fn get(&self) -> Option<Faults> {
        self.current
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Counts the request against its service's one-second window; true when above `tps`.
    fn over_rate(&self, service: usize, tps: f64) -> bool {
        let mut w = lock(&self.window);
        let now = Instant::now();
        if w.second
            .is_none_or(|s| now.duration_since(s) >= Duration::from_secs(1))
        {
            w.second = Some(now);
            w.counts = [0; 3];
        }
        w.counts[service] += 1;
        f64::from(w.counts[service]) > tps
    }
}

/// The fault proxy on its own: a plain-HTTP [`Front`](crate::front::Front) with one listener
/// (the fault tests' set-up).
#[derive(Debug)]
pub struct FaultProxy {
    /// `http://127.0.0.1:PORT`: what the probe gets as `AWS_ENDPOINT_URL`.
    pub endpoint: String,
    /// Its control.
    pub control: FaultControl,
    _listener: crate::front::Listener,
}

/// The error body the three services send when they throttle (awsJson1_1).
fn throttling() -> Response<Body> {
    let mut r = Response::new(full(Bytes::from_static(
        br#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#,
    )));
    *r.status_mut() = StatusCode::BAD_REQUEST;
    let h = r.headers_mut();
    h.insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/x-amz-json-1.1"),
    );
    h.insert(
        "x-amzn-errortype",
        hyper::header::HeaderValue::from_static("ThrottlingException"),
    );
    r
}

fn server_error(n: u64) -> Response<Body> {
    let (status, kind) = if n.is_multiple_of(2) {
        (StatusCode::INTERNAL_SERVER_ERROR, "InternalFailure")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable")
    };
    let mut r = Response::new(full(Bytes::from(format!(
        r#"{{"__type":"{kind}","message":"injected by the secbench fault proxy"}}"#
    ))));
    *r.status_mut() = status;
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/x-amz-json-1.1"),
    );
    r
}

/// A connection reset: the service function fails, hyper drops the connection unanswered.
#[derive(Debug)]
struct Reset;

impl std::fmt::Display for Reset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection reset by the fault proxy")
    }
}

impl std::error::Error for Reset {}

pub(crate) type Client = hyper_util::client::legacy::Client<
    hyper_util::client::legacy::connect::HttpConnector,
    http_body_util::Full<Bytes>,
>;

/// Headers that describe one connection and are not forwarded.
const HOP_BY_HOP: [&str; 7] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

pub(crate) async fn handle(
    control: FaultControl,
    client: Client,
    upstream: Arc<str>,
    req: Request<hyper::body::Incoming>,
) -> Result<Response<Body>, Box<dyn std::error::Error + Send + Sync>> {
    let n = control.counts.requests.fetch_add(1, Ordering::Relaxed);
    let target = req
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let service = SERVICES.iter().position(|(_, p)| target.starts_with(p));
    let faults = control
        .get()
        .filter(|f| service.is_some_and(|i| f.services.contains(&SERVICES[i].0)));
    let (parts, body) = req.into_parts();
    let body = http_body_util::BodyExt::collect(body).await?.to_bytes();
    if let (Some(f), Some(i)) = (&faults, service) {
        let draw: f64 = rand::random();
        let mut edge = f.reset_rate;
        if draw < edge {
            control.counts.resets.fetch_add(1, Ordering::Relaxed);
            return Err(Box::new(Reset));
        }
        edge += f.throttle_rate;
        let over = f
            .throttle_above_tps
            .is_some_and(|tps| control.over_rate(i, tps));
        if draw < edge || over {
            control.counts.throttled.fetch_add(1, Ordering::Relaxed);
            return Ok(throttling());
        }
        edge += f.error_rate;
        if draw < edge {
            control.counts.server_errors.fetch_add(1, Ordering::Relaxed);
            return Ok(server_error(n));
        }
        edge += f.slow_rate;
        if draw < edge {
            control.counts.slowed.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(f.slow_delay).await;
        }
        let extra = f.latency + f.latency_jitter.mul_f64(rand::random::<f64>());
        if !extra.is_zero() {
            control.counts.delayed.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(extra).await;
        }
    }
    let uri = format!(
        "{upstream}{}",
        parts.uri.path_and_query().map_or("/", |p| p.as_str())
    );
    let mut up = Request::builder().method(parts.method).uri(uri);
    for (k, v) in &parts.headers {
        if k != hyper::header::HOST && !HOP_BY_HOP.contains(&k.as_str()) {
            up = up.header(k, v);
        }
    }
    let resp = client
        .request(up.body(http_body_util::Full::new(body))?)
        .await?;
    let (mut parts, body) = resp.into_parts();
    // Hop-by-hop headers are the upstream connection's, not the client's (RFC 9110 7.6.1):
    // moto's `Connection: close` would otherwise close every client connection.
    for h in HOP_BY_HOP {
        parts.headers.remove(h);
    }
    let bytes = body.collect().await?.to_bytes();
    Ok(Response::from_parts(parts, full(bytes)))
}

impl FaultProxy {
    /// Starts a proxy on 127.0.0.1 in front of `upstream` (`http://host:port`), passing
    /// everything through until faults are set.
    pub async fn start(upstream: &str) -> std::io::Result<FaultProxy> {
        let front = crate::front::Front::new(upstream, crate::front::FrontConfig::default())
            .map_err(std::io::Error::other)?;
        let listener = front.listen().await?;
        Ok(FaultProxy {
            endpoint: listener.endpoint.clone(),
            control: front.control.clone(),
            _listener: listener,
        })
    }
}
