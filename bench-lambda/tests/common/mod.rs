//! Shared helpers of the probe's integration tests: the real moto emulator, the real Secrets
//! Manager Agent, provisioning with canary values through the Rust SDK, log capture, and the
//! canary search every test ends with.
#![allow(dead_code)]

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_kms::config::Credentials;
use base64::Engine as _;
use bench_lambda::emit::LogSink;
use bench_lambda::settings::Env;
use bench_lambda::{InitClock, Probe};
use secbench_record::ProbeRecord;
use std::io::Write;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};

use secbench_local_lambda::moto::Moto;
#[allow(unused_imports)]
pub use secbench_test_support::{assert_no_canary, canary, free_port, root, sha256_hex, unique};
use std::time::{Duration, Instant};

pub const REGION: &str = "us-east-1";
pub const FUNCTION_NAME: &str = "secbench-probe-test";
pub const SESSION_TOKEN: &str = "test-session-token-not-secret";

/// A child process killed when dropped; its stdin is held open until then.
pub struct Managed {
    child: Child,
    _stdin: Option<ChildStdin>,
    _dir: Option<tempfile::TempDir>,
}

impl Managed {
    /// Takes charge of a child started elsewhere.
    pub fn from_child(child: Child) -> Managed {
        Managed {
            child,
            _stdin: None,
            _dir: None,
        }
    }

    /// Kills the child and returns what it wrote to stdout and stderr.
    pub fn kill_and_output(mut self) -> String {
        use std::io::Read;
        let _ = self.child.kill();
        let _ = self.child.wait();
        let mut text = String::new();
        if let Some(mut out) = self.child.stdout.take() {
            let _ = out.read_to_string(&mut text);
        }
        if let Some(mut err) = self.child.stderr.take() {
            let _ = err.read_to_string(&mut text);
        }
        text
    }
}

impl Drop for Managed {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts a private moto; returns it and its endpoint once it answers.
pub fn start_moto() -> (Moto, String) {
    let moto = secbench_test_support::start_moto();
    let endpoint = moto.endpoint.clone();
    (moto, endpoint)
}

/// The moto shared by the tests of this binary (or the one `SECBENCH_MOTO_ENDPOINT` names).
/// Tests use distinct resource names, so they can share it.
pub fn moto() -> String {
    static SHARED: OnceLock<(Mutex<Moto>, String)> = OnceLock::new();
    if let Ok(endpoint) = std::env::var("SECBENCH_MOTO_ENDPOINT") {
        return endpoint;
    }
    let (_, endpoint) = SHARED.get_or_init(|| {
        let (managed, endpoint) = start_moto();
        (Mutex::new(managed), endpoint)
    });
    endpoint.clone()
}

pub async fn sdk(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new(
            "testing",
            "testing",
            Some(SESSION_TOKEN.into()),
            None,
            "test",
        ))
        .load()
        .await
}

/// What `provision` created in moto.
#[derive(Debug, Clone)]
pub struct Provisioned {
    pub endpoint: String,
    pub canary: String,
    pub key_id: String,
    pub ciphertext_b64: String,
    pub parameter_name: String,
    pub secret_id: String,
}

/// Creates a KMS key, a ciphertext of the canary bound to the function name, a SecureString
/// parameter and a secret holding the canary.
pub async fn provision(endpoint: &str) -> Provisioned {
    let config = sdk(endpoint).await;
    let canary = canary();
    let kms = aws_sdk_kms::Client::new(&config);
    let key_id = kms
        .create_key()
        .send()
        .await
        .expect("CreateKey")
        .key_metadata
        .expect("metadata")
        .key_id;
    let ciphertext = kms
        .encrypt()
        .key_id(&key_id)
        .plaintext(aws_sdk_kms::primitives::Blob::new(canary.as_bytes()))
        .encryption_context("LambdaFunctionName", FUNCTION_NAME)
        .send()
        .await
        .expect("Encrypt")
        .ciphertext_blob
        .expect("ciphertext");
    let parameter_name = format!("/secbench/test/{}", unique("param"));
    aws_sdk_ssm::Client::new(&config)
        .put_parameter()
        .name(&parameter_name)
        .value(&canary)
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .key_id(&key_id)
        .send()
        .await
        .expect("PutParameter");
    let secret_id = unique("secbench-test-secret");
    aws_sdk_secretsmanager::Client::new(&config)
        .create_secret()
        .name(&secret_id)
        .secret_string(&canary)
        .send()
        .await
        .expect("CreateSecret");
    Provisioned {
        endpoint: endpoint.to_owned(),
        canary,
        key_id,
        ciphertext_b64: base64::engine::general_purpose::STANDARD.encode(ciphertext.into_inner()),
        parameter_name,
        secret_id,
    }
}

/// The environment Lambda (and the deploy scripts) would give the probe for one scenario.
pub fn probe_env(
    p: &Provisioned,
    source: &str,
    cache: &str,
    ttl: Option<&str>,
    fetch_at: &str,
) -> Env {
    let mut env: Env = [
        ("SECBENCH_SOURCE", source),
        ("SECBENCH_CACHE", cache),
        ("SECBENCH_FETCH_AT", fetch_at),
        ("SECBENCH_STAGE", "test"),
        ("SECBENCH_PLAINTEXT", p.canary.as_str()),
        ("SECBENCH_CIPHERTEXT", p.ciphertext_b64.as_str()),
        ("SECBENCH_KMS_ENCRYPTION_CONTEXT", "LambdaFunctionName"),
        ("SECBENCH_PARAMETER_NAME", p.parameter_name.as_str()),
        ("SECBENCH_SECRET_ID", p.secret_id.as_str()),
        ("AWS_ENDPOINT_URL", p.endpoint.as_str()),
        ("AWS_REGION", REGION),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_SESSION_TOKEN", SESSION_TOKEN),
        ("AWS_LAMBDA_FUNCTION_NAME", FUNCTION_NAME),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    env.insert("SECBENCH_EXPECTED_SHA256".into(), sha256_hex(&p.canary));
    if let Some(ttl) = ttl {
        env.insert("SECBENCH_CACHE_TTL".into(), ttl.to_owned());
    }
    env
}

/// A probe whose log lines go to a buffer the test can search.
pub struct TestProbe {
    pub probe: Probe,
    pub log: Arc<Mutex<Vec<u8>>>,
}

impl TestProbe {
    pub async fn init(env: &Env) -> TestProbe {
        Self::try_init(env)
            .await
            .unwrap_or_else(|e| panic!("INIT failed: {e}"))
    }

    pub async fn try_init(env: &Env) -> Result<TestProbe, bench_lambda::error::InitError> {
        capture_logs();
        let log = Arc::new(Mutex::new(Vec::new()));
        let probe = Probe::init(env, InitClock::now(), LogSink::Memory(log.clone())).await?;
        Ok(TestProbe { probe, log })
    }

    pub async fn invoke(&self, fetches: u32) -> ProbeRecord {
        self.invoke_with(
            serde_json::json!({"run_id": "run-test", "scenario": "test", "fetches": fetches}),
        )
        .await
    }

    pub async fn invoke_with(&self, event: serde_json::Value) -> ProbeRecord {
        let request_id = unique("req");
        self.probe
            .handle(event, &request_id)
            .await
            .expect("invocation succeeds")
    }

    pub fn log_text(&self) -> String {
        String::from_utf8(self.log.lock().expect("log").clone()).expect("utf-8 log")
    }
}

static TRACING: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();

#[derive(Clone)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("capture").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Sends every tracing event of this test binary (all levels) into one buffer.
pub fn capture_logs() {
    TRACING.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let writer = Capture(buf.clone());
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("one global subscriber");
        buf
    });
}

pub fn tracing_text() -> String {
    TRACING
        .get()
        .map(|b| String::from_utf8_lossy(&b.lock().expect("tracing")).into_owned())
        .unwrap_or_default()
}

/// Checks a record against the committed JSON Schema.
pub fn assert_schema_valid(record: &ProbeRecord) {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    let v = VALIDATOR.get_or_init(|| {
        let schema: serde_json::Value =
            serde_json::from_str(secbench_record::PROBE_RECORD_SCHEMA).expect("schema");
        jsonschema::validator_for(&schema).expect("compiles")
    });
    let value = serde_json::to_value(record).expect("serializes");
    let errors: Vec<String> = v
        .iter_errors(&value)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "record does not match the schema: {errors:?}"
    );
}

/// POSTs a JSON body; returns the status and the body, whatever the status.
pub async fn http_post_json(url: &str, body: &str) -> (u16, String) {
    use http_body_util::{BodyExt, Full};
    use hyper_util::client::legacy::Client;
    let client: Client<_, Full<bytes::Bytes>> =
        Client::builder(hyper_util::rt::TokioExecutor::new()).build_http();
    let req = http::Request::post(url)
        .header("content-type", "application/json")
        .body(Full::new(bytes::Bytes::from(body.to_owned())))
        .expect("request");
    let resp = client.request(req).await.expect("server answers");
    let status = resp.status().as_u16();
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// Starts the real agent (the AWS Workload Credentials Provider, configured as the local stage
/// configures it) against `endpoint`; returns it and its port once it accepts connections.
pub async fn start_agent(endpoint: &str, ttl_seconds: u32) -> (Managed, u16) {
    start_agent_with(endpoint, ttl_seconds, true).await
}

/// [`start_agent`] with the provider's `ignore_transient_errors` set.
pub async fn start_agent_with(
    endpoint: &str,
    ttl_seconds: u32,
    ignore_transient_errors: bool,
) -> (Managed, u16) {
    let bin = secbench_test_support::release_bin(secbench_local_lambda::agent::BIN_NAME);
    let port = free_port();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("agent.toml");
    std::fs::write(
        &config,
        secbench_local_lambda::agent::config(
            port,
            u64::from(ttl_seconds),
            ignore_transient_errors,
            Some(REGION),
        ),
    )
    .expect("config");
    let child = Command::new(bin)
        .args(secbench_local_lambda::agent::args(&config))
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_REGION", REGION)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_SESSION_TOKEN", SESSION_TOKEN)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start agent");
    let managed = Managed {
        child,
        _stdin: None,
        _dir: Some(dir),
    };
    wait_until_listening(port, Duration::from_secs(20)).await;
    (managed, port)
}

/// Waits until something accepts connections on 127.0.0.1:`port`, or panics at `deadline`.
pub async fn wait_until_listening(port: u16, deadline: Duration) {
    let start = Instant::now();
    loop {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return;
        }
        assert!(
            start.elapsed() < deadline,
            "nothing listened on port {port} within {deadline:?}"
        );
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A fixture server for `agent-ssm`, following AWS's documented protocol of the Parameters
/// and Secrets Lambda Extension: `GET /systemsmanager/parameters/get?name=…&withDecryption=true`
/// with the `X-Aws-Parameters-Secrets-Token` header; 403 without the right token, 400
/// `ParameterNotFound` for an unknown name. No open-source server speaks this protocol.
pub async fn start_ssm_extension_fixture(
    name: String,
    value: String,
) -> (tokio::task::JoinHandle<()>, u16) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let (name, value) = (name.clone(), value.clone());
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                let target = head.split_whitespace().nth(1).unwrap_or("").to_owned();
                let token_ok = head.lines().any(|l| {
                    l.to_ascii_lowercase()
                        .starts_with("x-aws-parameters-secrets-token:")
                        && l.split_once(':').map(|x| x.1.trim()) == Some(SESSION_TOKEN)
                });
                let wanted = format!(
                    "/systemsmanager/parameters/get?name={}&withDecryption=true",
                    percent_encoding::utf8_percent_encode(
                        &name,
                        percent_encoding::NON_ALPHANUMERIC
                    )
                );
                let (status, body) = if !token_ok {
                    ("403 Forbidden", String::new())
                } else if target == wanted {
                    let body = serde_json::json!({
                        "Parameter": {"ARN": format!("arn:aws:ssm:{REGION}:123456789012:parameter{name}"),
                            "DataType": "text", "LastModifiedDate": "2026-11-28T00:00:00Z", "Name": name,
                            "Selector": null, "SourceResult": null, "Type": "SecureString", "Value": value, "Version": 1},
                        "ResultMetadata": {}
                    });
                    ("200 OK", body.to_string())
                } else {
                    (
                        "400 Bad Request",
                        r#"{"__type":"ParameterNotFound","message":"parameter not found"}"#
                            .to_owned(),
                    )
                };
                let response = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
            });
        }
    });
    (task, port)
}
