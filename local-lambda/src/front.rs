//! The front the probe and the agent reach the emulated KMS, SSM and Secrets Manager through:
//! on 127.0.0.1, one listener per execution environment (so its connections and handshakes
//! are counted per environment and per invocation), TLS 1.3 with a certificate from a CA
//! generated for the run, the plan's network round trip, and the fault proxy's faults. moto
//! closes its connection after every answer; the front keeps the client's connection alive
//! (as AWS's endpoints do) and reconnects to moto itself, so a cold fetch opens one connection
//! and makes one handshake and warm fetches reuse it, until the connection sits idle longer
//! than the plan's `[network] idle_timeout`: then the front closes it (on tokio's timer: its
//! 1 ms granularity is nothing beside an idle timeout of seconds), and the next fetch opens
//! another.
//!
//! Delays are slept on a blocking thread (nanosleep, then a spin to the deadline), not on
//! tokio's timer (1 ms granularity, which is larger than the round trips it would add); see
//! [`precise_sleep`]. Each request is forwarded as [`crate::faults`] decides (reset,
//! throttled, answered 500/503, or forwarded after the slow hold and added latency); a front
//! without TLS and with one listener is the fault tests' [`FaultProxy`].

use crate::faults::{FaultControl, Verdict};
use crate::http::{full, Body};
use crate::peer::Restores;
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
pub use secbench_record::plan::Network;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;
use tokio_rustls::rustls;

/// What went wrong starting the front.
#[derive(Debug, thiserror::Error)]
pub enum FrontError {
    /// The run's CA or the server certificate could not be made.
    #[error("cannot generate the run's TLS certificates: {0}")]
    Certificate(String),
    /// The TLS configuration was refused.
    #[error("cannot configure TLS: {0}")]
    Tls(#[from] rustls::Error),
    /// A file or socket.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Connections and requests one listener saw.
#[derive(Debug, Default)]
pub struct ConnCounts {
    /// Connections accepted.
    pub connections: AtomicU64,
    /// TLS handshakes completed.
    pub handshakes: AtomicU64,
    /// Requests served.
    pub requests: AtomicU64,
    /// Requests on a connection that had carried one before.
    pub reused: AtomicU64,
}

/// A snapshot of [`ConnCounts`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConnSnapshot {
    /// Connections accepted.
    pub connections: u64,
    /// TLS handshakes completed.
    pub handshakes: u64,
    /// Requests served.
    pub requests: u64,
    /// Requests on a reused connection.
    pub reused: u64,
}

impl ConnCounts {
    /// The counts now.
    pub fn snapshot(&self) -> ConnSnapshot {
        ConnSnapshot {
            connections: self.connections.load(Ordering::SeqCst),
            handshakes: self.handshakes.load(Ordering::SeqCst),
            requests: self.requests.load(Ordering::SeqCst),
            reused: self.reused.load(Ordering::SeqCst),
        }
    }
}

impl ConnSnapshot {
    /// What happened between `earlier` and `self`.
    pub fn since(&self, earlier: &ConnSnapshot) -> ConnSnapshot {
        ConnSnapshot {
            connections: self.connections - earlier.connections,
            handshakes: self.handshakes - earlier.handshakes,
            requests: self.requests - earlier.requests,
            reused: self.reused - earlier.reused,
        }
    }

    /// Both windows together.
    pub fn plus(&self, other: &ConnSnapshot) -> ConnSnapshot {
        ConnSnapshot {
            connections: self.connections + other.connections,
            handshakes: self.handshakes + other.handshakes,
            requests: self.requests + other.requests,
            reused: self.reused + other.reused,
        }
    }
}

struct Tls {
    acceptor: tokio_rustls::TlsAcceptor,
    ca_der: rustls::pki_types::CertificateDer<'static>,
    ca_file: PathBuf,
    _dir: tempfile::TempDir,
}

type Client = hyper_util::client::legacy::Client<
    hyper_util::client::legacy::connect::HttpConnector,
    http_body_util::Full<Bytes>,
>;

/// AWS's service time per operation, to take the emulator's place: call latencies (ns, sorted)
/// per `X-Amz-Target` (`AmazonSSM.GetParameter`), as measured on AWS.
pub type ServiceTimes = std::collections::BTreeMap<String, Vec<u64>>;

/// The front: shared by every listener of a run.
pub struct Front {
    upstream: Arc<str>,
    client: Client,
    /// When set: each request of a listed operation takes a latency drawn from it (the
    /// emulator's own time and the plan's round trip included, not added).
    service_times: Option<ServiceTimes>,
    /// The faults switched per scenario.
    pub control: FaultControl,
    tls: Option<Tls>,
    network: Network,
    /// What a request costs outside the front's own timing (TLS records, HTTP, the client's
    /// side), ns: measured by [`Front::measure_overhead`], taken off the calibrated latency of
    /// an operation that has no [`Front::client_side`] of its own.
    overhead_ns: AtomicU64,
    /// While set, a calibrated front forwards without AWS's latency and keeps the time it held
    /// each request ([`Front::learn`]).
    learning: AtomicBool,
    /// Per operation, the time the front held each request while learning, ns.
    held_ns: Mutex<BTreeMap<String, Vec<u64>>>,
    /// Per operation, what a call costs outside the front as the probe measures it (its SDK,
    /// TLS, HTTP and scheduling), ns: taken off the calibrated latency instead of
    /// `overhead_ns`.
    client_side_ns: Mutex<BTreeMap<String, u64>>,
}

/// The header of [`Front::measure_overhead`]'s requests: answered by the front itself.
const OVERHEAD_HEADER: &str = "x-secbench-overhead";
/// The front's own time for such a request, ns (a response header).
const FRONT_NS_HEADER: &str = "x-secbench-front-ns";

impl std::fmt::Debug for Front {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Front")
            .field("upstream", &self.upstream)
            .field("tls", &self.tls.is_some())
            .field("network", &self.network)
            .finish()
    }
}

/// An accepted connection, after the handshake (when TLS).
enum Stream {
    Tls(Box<tokio_rustls::server::TlsStream<tokio::net::TcpStream>>),
    Plain(tokio::net::TcpStream),
    /// The handshake failed: counted, not served.
    Closed,
}

/// One listener: an environment's endpoint.
#[derive(Debug)]
pub struct Listener {
    /// `https://127.0.0.1:PORT` (or `http://` without TLS): the environment's
    /// `AWS_ENDPOINT_URL`.
    pub endpoint: String,
    /// What it saw.
    pub counts: Arc<ConnCounts>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Sleeps `d` precisely enough for sub-millisecond round trips: on a blocking thread, nanosleep
/// to 150 µs before the deadline (set before the hand-off, so the hand-off counts), then a spin
/// on the monotonic clock to it. `benches/benches/front_delay.rs` measures it next to tokio's
/// timer.
pub async fn precise_sleep(d: Duration) {
    if d.is_zero() {
        return;
    }
    let deadline = std::time::Instant::now() + d;
    let _ = tokio::task::spawn_blocking(move || {
        let margin = Duration::from_micros(150);
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left > margin {
            std::thread::sleep(left - margin);
        }
        while std::time::Instant::now() < deadline {
            std::hint::spin_loop();
        }
    })
    .await;
}

type Certificates = (
    String,
    rustls::pki_types::CertificateDer<'static>,
    rustls::ServerConfig,
);

fn certificates() -> Result<Certificates, FrontError> {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair, KeyUsagePurpose, SanType};
    let err = |e: rcgen::Error| FrontError::Certificate(e.to_string());
    let ca_key = KeyPair::generate().map_err(err)?;
    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca.distinguished_name.push(
        rcgen::DnType::CommonName,
        "secbench local stage CA (this run only)",
    );
    let ca_cert = ca.self_signed(&ca_key).map_err(err)?;
    let issuer = rcgen::Issuer::new(ca, ca_key);
    let key = KeyPair::generate().map_err(err)?;
    let mut leaf = CertificateParams::new(vec!["localhost".to_owned()]).map_err(err)?;
    leaf.subject_alt_names
        .push(SanType::IpAddress(std::net::Ipv4Addr::LOCALHOST.into()));
    let leaf_cert = leaf.signed_by(&key, &issuer).map_err(err)?;
    let der_key = rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der())
        .map_err(|e| FrontError::Certificate(e.to_string()))?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_protocol_versions(&[&rustls::version::TLS13])?
    .with_no_client_auth()
    .with_single_cert(
        vec![leaf_cert.der().clone(), ca_cert.der().clone()],
        der_key,
    )?;
    Ok((ca_cert.pem(), ca_cert.der().clone(), config))
}

async fn request(
    front: Arc<Front>,
    counts: Arc<ConnCounts>,
    on_this: Arc<AtomicU64>,
    req: Request<hyper::body::Incoming>,
) -> Result<Response<Body>, Box<dyn std::error::Error + Send + Sync>> {
    let earlier = on_this.fetch_add(1, Ordering::SeqCst);
    counts.requests.fetch_add(1, Ordering::SeqCst);
    if earlier > 0 {
        counts.reused.fetch_add(1, Ordering::SeqCst);
    }
    let entered = std::time::Instant::now();
    precise_sleep(front.network.rtt).await;
    if req.headers().contains_key(OVERHEAD_HEADER) {
        let _ = req.into_body().collect().await?;
        let mut r = Response::new(full(Bytes::from_static(&[b' '; 256])));
        r.headers_mut().insert(
            FRONT_NS_HEADER,
            hyper::header::HeaderValue::from(
                u64::try_from(entered.elapsed().as_nanos()).unwrap_or(u64::MAX),
            ),
        );
        return Ok(r);
    }
    forward(&front, req).await
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

/// HTTP 500 or 503, alternating with the request count.
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

/// Forwards one request to the emulator as the scenario's faults decide. moto closes every
/// connection, so the delay is added on the upstream side of each request.
async fn forward(
    front: &Front,
    req: Request<hyper::body::Incoming>,
) -> Result<Response<Body>, Box<dyn std::error::Error + Send + Sync>> {
    let target = req
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let verdict = front.control.verdict(&target);
    let arrived = std::time::Instant::now();
    let learning = front.learning.load(Ordering::SeqCst);
    let drawn = front
        .service_times
        .as_ref()
        .filter(|_| !learning)
        .and_then(|t| t.get(&target))
        .filter(|v| !v.is_empty())
        .map(|v| Duration::from_nanos(v[rand::random_range(0..v.len())]));
    let (parts, body) = req.into_parts();
    let body = body.collect().await?.to_bytes();
    match verdict {
        Verdict::Reset => return Err(Box::new(Reset)),
        Verdict::Throttle => return Ok(throttling()),
        Verdict::ServerError => return Ok(server_error(front.control.requests())),
        Verdict::Forward { hold, delay } => {
            if !hold.is_zero() {
                tokio::time::sleep(hold).await;
            }
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
        }
    }
    let uri = format!(
        "{}{}",
        front.upstream,
        parts.uri.path_and_query().map_or("/", |p| p.as_str())
    );
    let mut up = Request::builder().method(parts.method).uri(uri);
    for (k, v) in &parts.headers {
        if k != hyper::header::HOST && !HOP_BY_HOP.contains(&k.as_str()) {
            up = up.header(k, v);
        }
    }
    let resp = front
        .client
        .request(up.body(http_body_util::Full::new(body))?)
        .await?;
    let (mut parts, body) = resp.into_parts();
    // Hop-by-hop headers are the upstream connection's, not the client's (RFC 9110 7.6.1):
    // moto's `Connection: close` would otherwise close every client connection.
    for h in HOP_BY_HOP {
        parts.headers.remove(h);
    }
    let bytes = body.collect().await?.to_bytes();
    // AWS's latency for the operation, from the request's arrival (the round trip the front
    // added before it is part of that latency too).
    if let Some(d) = drawn {
        let spent = arrived.elapsed() + front.network.rtt + front.client_side(&target);
        precise_sleep(d.saturating_sub(spent)).await;
    } else if learning {
        let held = u64::try_from(arrived.elapsed().as_nanos()).unwrap_or(u64::MAX);
        front
            .held_ns
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(target)
            .or_default()
            .push(held);
    }
    Ok(Response::from_parts(parts, full(bytes)))
}

/// The fault proxy on its own: a plain-HTTP [`Front`] with one listener (the fault tests'
/// set-up).
#[derive(Debug)]
pub struct FaultProxy {
    /// `http://127.0.0.1:PORT`: what the probe gets as `AWS_ENDPOINT_URL`.
    pub endpoint: String,
    /// Its control.
    pub control: FaultControl,
    _listener: Listener,
}

impl FaultProxy {
    /// Starts a proxy on 127.0.0.1 in front of `upstream` (`http://host:port`), passing
    /// everything through until faults are set.
    pub async fn start(upstream: &str) -> std::io::Result<FaultProxy> {
        let front = Front::new(upstream, Network::DIRECT).map_err(std::io::Error::other)?;
        let listener = front.listen().await?;
        Ok(FaultProxy {
            endpoint: listener.endpoint.clone(),
            control: front.control.clone(),
            _listener: listener,
        })
    }
}

impl Front {
    /// A front forwarding to `upstream` (`http://host:port`).
    pub fn new(upstream: &str, config: Network) -> Result<Arc<Front>, FrontError> {
        Front::build(upstream, config, None).map(Arc::new)
    }

    fn build(
        upstream: &str,
        config: Network,
        service_times: Option<ServiceTimes>,
    ) -> Result<Front, FrontError> {
        let tls = if config.tls {
            let (ca_pem, ca_der, mut server) = certificates()?;
            server.alpn_protocols = vec![b"http/1.1".to_vec()];
            let dir = tempfile::tempdir()?;
            let ca_file = dir.path().join("secbench-run-ca.pem");
            std::fs::write(&ca_file, ca_pem)?;
            Some(Tls {
                acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(server)),
                ca_der,
                ca_file,
                _dir: dir,
            })
        } else {
            None
        };
        Ok(Front {
            upstream: Arc::from(upstream.trim_end_matches('/')),
            client: hyper_util::client::legacy::Client::builder(
                hyper_util::rt::TokioExecutor::new(),
            )
            .build_http(),
            control: FaultControl::default(),
            tls,
            network: config,
            service_times,
            overhead_ns: AtomicU64::new(0),
            learning: AtomicBool::new(false),
            held_ns: Mutex::new(BTreeMap::new()),
            client_side_ns: Mutex::new(BTreeMap::new()),
        })
    }

    /// Measures what a request costs outside the front's own timing: `samples` requests on one
    /// kept-alive connection (TLS when the front serves it, as the SDK's), each answered by the
    /// front itself after the plan's round trip; the median of (latency seen by this client
    /// − the front's own time). A calibrated front takes it off each drawn latency, so a call
    /// takes AWS's latency as the probe measures it, not that plus the local stage's own
    /// overhead. Returns it.
    pub async fn measure_overhead(self: &Arc<Self>, samples: usize) -> std::io::Result<Duration> {
        let listener = self.listen().await?;
        let addr = listener
            .endpoint
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        let tcp = tokio::net::TcpStream::connect(&addr).await?;
        tcp.set_nodelay(true)?;
        let other = |e: Box<dyn std::error::Error + Send + Sync>| std::io::Error::other(e);
        let mut sender = match &self.tls {
            Some(tls) => {
                let mut roots = rustls::RootCertStore::empty();
                roots
                    .add(tls.ca_der.clone())
                    .map_err(std::io::Error::other)?;
                let config = rustls::ClientConfig::builder_with_provider(Arc::new(
                    rustls::crypto::aws_lc_rs::default_provider(),
                ))
                .with_protocol_versions(&[&rustls::version::TLS13])
                .map_err(std::io::Error::other)?
                .with_root_certificates(roots)
                .with_no_client_auth();
                let name = rustls::pki_types::ServerName::try_from("localhost")
                    .map_err(std::io::Error::other)?;
                let stream = tokio_rustls::TlsConnector::from(Arc::new(config))
                    .connect(name, tcp)
                    .await?;
                let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                    .await
                    .map_err(|e| other(Box::new(e)))?;
                tokio::spawn(conn);
                sender
            }
            None => {
                let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
                    .await
                    .map_err(|e| other(Box::new(e)))?;
                tokio::spawn(conn);
                sender
            }
        };
        let mut outside = Vec::with_capacity(samples);
        // The first requests warm the connection and the threads up: not counted.
        for i in 0..samples + 5 {
            let req = Request::post("/")
                .header(hyper::header::HOST, "localhost")
                .header(OVERHEAD_HEADER, "1")
                .header("x-amz-target", "secbench.Overhead")
                .body(http_body_util::Full::new(Bytes::from_static(&[b' '; 256])))
                .map_err(std::io::Error::other)?;
            sender.ready().await.map_err(|e| other(Box::new(e)))?;
            let t = std::time::Instant::now();
            let resp = sender
                .send_request(req)
                .await
                .map_err(|e| other(Box::new(e)))?;
            let front_ns: u64 = resp
                .headers()
                .get(FRONT_NS_HEADER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            resp.into_body()
                .collect()
                .await
                .map_err(|e| other(Box::new(e)))?;
            let seen = u64::try_from(t.elapsed().as_nanos()).unwrap_or(u64::MAX);
            if i >= 5 {
                outside.push(seen.saturating_sub(front_ns));
            }
        }
        outside.sort_unstable();
        let median = outside.get(outside.len() / 2).copied().unwrap_or(0);
        self.overhead_ns.store(median, Ordering::SeqCst);
        Ok(Duration::from_nanos(median))
    }

    /// What [`Front::measure_overhead`] measured (zero before).
    pub fn overhead(&self) -> Duration {
        Duration::from_nanos(self.overhead_ns.load(Ordering::SeqCst))
    }

    /// Starts (`true`) or ends learning: while on, a calibrated front forwards every request
    /// with the emulator's own time (no AWS latency) and keeps how long it held each one per
    /// operation, so that the caller can set [`Front::set_client_side`] from calls it timed
    /// through the probe. Starting clears what an earlier learning kept.
    pub fn learn(&self, on: bool) {
        if on {
            self.held_ns
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clear();
        }
        self.learning.store(on, Ordering::SeqCst);
    }

    /// The median time the front held a request of `operation` while learning, if it saw one.
    pub fn held_median(&self, operation: &str) -> Option<Duration> {
        let held = self
            .held_ns
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut v = held.get(operation)?.clone();
        v.sort_unstable();
        v.get(v.len() / 2).map(|n| Duration::from_nanos(*n))
    }

    /// Sets what a call of each operation costs outside the front, as the probe measures it;
    /// a calibrated latency is released that much earlier (instead of
    /// [`Front::overhead`]'s).
    pub fn set_client_side(&self, per_operation: BTreeMap<String, Duration>) {
        *self
            .client_side_ns
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = per_operation
            .into_iter()
            .map(|(op, d)| (op, u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)))
            .collect();
    }

    /// What is taken off `operation`'s calibrated latency besides the round trip: its
    /// learned client side, else the front's measured overhead.
    pub fn client_side(&self, operation: &str) -> Duration {
        self.client_side_ns
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(operation)
            .map_or_else(|| self.overhead(), |n| Duration::from_nanos(*n))
    }

    /// Whether a calibrated front has AWS's latencies for `operation`.
    pub fn calibrates(&self, operation: &str) -> bool {
        self.service_times
            .as_ref()
            .is_some_and(|t| t.get(operation).is_some_and(|v| !v.is_empty()))
    }

    /// A front whose requests take AWS's service times (`times`, per operation) instead of the
    /// emulator's: each request of a listed operation is answered a latency drawn from its
    /// distribution after it arrived (less the round trip the plan adds to every request);
    /// the emulator's own time is inside that latency, not added to it.
    pub fn calibrated(
        upstream: &str,
        config: Network,
        times: ServiceTimes,
    ) -> Result<Arc<Front>, FrontError> {
        Front::build(upstream, config, Some(times)).map(Arc::new)
    }

    /// Whether requests take AWS's service times.
    pub fn is_calibrated(&self) -> bool {
        self.service_times.is_some()
    }

    /// The run's CA certificate (PEM), for `SSL_CERT_FILE`, when the front serves TLS.
    pub fn ca_file(&self) -> Option<&Path> {
        self.tls.as_ref().map(|t| t.ca_file.as_path())
    }

    /// Whether it serves TLS.
    pub fn tls(&self) -> bool {
        self.tls.is_some()
    }

    /// The network it puts between the functions and the emulator.
    pub fn network(&self) -> Network {
        self.network
    }

    /// Opens a listener on 127.0.0.1 (one per environment).
    pub async fn listen(self: &Arc<Self>) -> std::io::Result<Listener> {
        self.listen_for(None).await
    }

    /// [`Front::listen`], for a SnapStart snapshot's environment: a connection one of
    /// `restores` holds is counted on that environment's listener (see [`crate::peer`]).
    pub async fn listen_for(
        self: &Arc<Self>,
        restores: Option<Arc<Restores<ConnCounts>>>,
    ) -> std::io::Result<Listener> {
        let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let local = tcp.local_addr()?;
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        let endpoint = format!("{scheme}://{local}");
        let counts = Arc::new(ConnCounts::default());
        let (front, c) = (self.clone(), counts.clone());
        let task = tokio::spawn(async move {
            while let Ok((stream, peer)) = tcp.accept().await {
                let (front, c) = (front.clone(), c.clone());
                // Whose connection it is, looked up beside the handshake.
                let owner = restores
                    .clone()
                    .map(|r| tokio::task::spawn_blocking(move || r.counts_for(peer, local)));
                tokio::spawn(async move { front.serve(stream, c, owner).await });
            }
        });
        Ok(Listener {
            endpoint,
            counts,
            task,
        })
    }

    async fn serve(
        self: Arc<Self>,
        stream: tokio::net::TcpStream,
        counts: Arc<ConnCounts>,
        owner: Option<tokio::task::JoinHandle<Option<Arc<ConnCounts>>>>,
    ) {
        let _ = stream.set_nodelay(true);
        precise_sleep(self.network.connection_setup).await;
        let (stream, shaken) = match &self.tls {
            Some(tls) => match tls.acceptor.accept(stream).await {
                Ok(s) => (Stream::Tls(Box::new(s)), true),
                Err(_) => (Stream::Closed, false),
            },
            None => (Stream::Plain(stream), false),
        };
        let counts = match owner {
            Some(o) => o.await.ok().flatten().unwrap_or(counts),
            None => counts,
        };
        counts.connections.fetch_add(1, Ordering::SeqCst);
        if shaken {
            counts.handshakes.fetch_add(1, Ordering::SeqCst);
        }
        let on_this = Arc::new(AtomicU64::new(0));
        let front = self.clone();
        let c = counts.clone();
        let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
            request(front.clone(), c.clone(), on_this.clone(), req)
        });
        let mut http = hyper::server::conn::http1::Builder::new();
        // An endpoint closes a connection idle longer than the idle timeout: hyper's timer for
        // the next request's head starts as soon as a response is written, so it runs through
        // the client's idle time (and its freeze) and closes the connection when it fires.
        if let Some(idle) = self.network.idle_timeout {
            http.timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(idle);
        }
        let _ = match stream {
            Stream::Tls(s) => http.serve_connection(TokioIo::new(s), service).await,
            Stream::Plain(s) => http.serve_connection(TokioIo::new(s), service).await,
            Stream::Closed => Ok(()),
        };
    }
}
