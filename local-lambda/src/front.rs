//! The front the probe and the agent reach the emulated KMS, SSM and Secrets Manager through:
//! on 127.0.0.1, one listener per execution environment (so its connections and handshakes
//! are counted per environment and per invocation), TLS 1.3 with a certificate from a CA
//! generated for the run, the plan's network round trip, and the fault proxy's faults. moto
//! closes its connection after every answer; the front keeps the client's connection alive
//! (as AWS's endpoints do) and reconnects to moto itself, so a cold fetch opens one connection
//! and makes one handshake and warm fetches reuse it.
//!
//! Delays are slept on a blocking thread (nanosleep, then a spin to the deadline), not on
//! tokio's timer (1 ms granularity, which is larger than the round trips it would add); see
//! [`precise_sleep`].

use crate::faults::FaultControl;
use hyper::Request;
use hyper_util::rt::TokioIo;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
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

/// The network the front adds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Network {
    /// Added to every request (one round trip).
    pub rtt: Duration,
    /// Added once per new connection before its handshake (TCP's and TLS 1.3's round trips).
    pub connection_setup: Duration,
}

/// How the front is set up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FrontConfig {
    /// Serve TLS 1.3 (with the run's CA) instead of plain HTTP.
    pub tls: bool,
    /// The round trips it adds.
    pub network: Network,
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
    ca_file: PathBuf,
    _dir: tempfile::TempDir,
}

/// The front: shared by every listener of a run.
pub struct Front {
    upstream: Arc<str>,
    client: crate::faults::Client,
    /// The faults switched per scenario.
    pub control: FaultControl,
    tls: Option<Tls>,
    network: Network,
}

impl std::fmt::Debug for Front {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Front")
            .field("upstream", &self.upstream)
            .field("tls", &self.tls.is_some())
            .field("network", &self.network)
            .finish()
    }
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

fn certificates() -> Result<(String, rustls::ServerConfig), FrontError> {
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
    Ok((ca_cert.pem(), config))
}

async fn request(
    front: Arc<Front>,
    counts: Arc<ConnCounts>,
    on_this: Arc<AtomicU64>,
    req: Request<hyper::body::Incoming>,
) -> Result<hyper::Response<crate::http::Body>, Box<dyn std::error::Error + Send + Sync>> {
    let earlier = on_this.fetch_add(1, Ordering::SeqCst);
    counts.requests.fetch_add(1, Ordering::SeqCst);
    if earlier > 0 {
        counts.reused.fetch_add(1, Ordering::SeqCst);
    }
    precise_sleep(front.network.rtt).await;
    crate::faults::handle(
        front.control.clone(),
        front.client.clone(),
        front.upstream.clone(),
        req,
    )
    .await
}

impl Front {
    /// A front forwarding to `upstream` (`http://host:port`).
    pub fn new(upstream: &str, config: FrontConfig) -> Result<Arc<Front>, FrontError> {
        let tls = if config.tls {
            let (ca_pem, mut server) = certificates()?;
            server.alpn_protocols = vec![b"http/1.1".to_vec()];
            let dir = tempfile::tempdir()?;
            let ca_file = dir.path().join("secbench-run-ca.pem");
            std::fs::write(&ca_file, ca_pem)?;
            Some(Tls {
                acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(server)),
                ca_file,
                _dir: dir,
            })
        } else {
            None
        };
        Ok(Arc::new(Front {
            upstream: Arc::from(upstream.trim_end_matches('/')),
            client: hyper_util::client::legacy::Client::builder(
                hyper_util::rt::TokioExecutor::new(),
            )
            .build_http(),
            control: FaultControl::default(),
            tls,
            network: config.network,
        }))
    }

    /// The run's CA certificate (PEM), for `SSL_CERT_FILE`, when the front serves TLS.
    pub fn ca_file(&self) -> Option<&Path> {
        self.tls.as_ref().map(|t| t.ca_file.as_path())
    }

    /// Whether it serves TLS.
    pub fn tls(&self) -> bool {
        self.tls.is_some()
    }

    /// The round trips it adds.
    pub fn network(&self) -> Network {
        self.network
    }

    /// Opens a listener on 127.0.0.1 (one per environment).
    pub async fn listen(self: &Arc<Self>) -> std::io::Result<Listener> {
        let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        let endpoint = format!("{scheme}://{}", tcp.local_addr()?);
        let counts = Arc::new(ConnCounts::default());
        let (front, c) = (self.clone(), counts.clone());
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = tcp.accept().await {
                let (front, c) = (front.clone(), c.clone());
                tokio::spawn(async move { front.serve(stream, c).await });
            }
        });
        Ok(Listener {
            endpoint,
            counts,
            task,
        })
    }

    async fn serve(self: Arc<Self>, stream: tokio::net::TcpStream, counts: Arc<ConnCounts>) {
        let _ = stream.set_nodelay(true);
        counts.connections.fetch_add(1, Ordering::SeqCst);
        precise_sleep(self.network.connection_setup).await;
        let on_this = Arc::new(AtomicU64::new(0));
        let front = self.clone();
        let c = counts.clone();
        let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
            request(front.clone(), c.clone(), on_this.clone(), req)
        });
        let http = hyper::server::conn::http1::Builder::new();
        match &self.tls {
            Some(tls) => {
                let Ok(stream) = tls.acceptor.accept(stream).await else {
                    return;
                };
                counts.handshakes.fetch_add(1, Ordering::SeqCst);
                let _ = http.serve_connection(TokioIo::new(stream), service).await;
            }
            None => {
                let _ = http.serve_connection(TokioIo::new(stream), service).await;
            }
        }
    }
}
