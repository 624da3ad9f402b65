//! Cold init of the real release binaries: from spawning the process to its first
//! `GET /2018-06-01/runtime/invocation/next` (ready for the first event), for the hello-world
//! `lambda_runtime` function and for the probe with a source that loads no SDK (`plain-env`)
//! and one that loads the SDK configuration and builds a client (`ssm`, no network at INIT).
//!
//! Build both first: `cargo build --release -p bench-lambda --bin bench-lambda --example hello`
//! (`scripts/bench.sh` does). Binaries are looked up in `$CARGO_TARGET_DIR/release` or `target/release`.

use criterion::{criterion_group, criterion_main, Criterion};
use std::io::Read;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn release_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("release")
}

/// Spawns `bin` against a listener standing in for the Runtime API; returns the time until the
/// first request line arrived.
fn spawn_to_ready(bin: &PathBuf, env: &[(&str, &str)]) -> Duration {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let api = listener.local_addr().expect("addr").to_string();
    let start = Instant::now();
    let mut child = Command::new(bin)
        .env_clear()
        .envs(env.iter().copied())
        .env("AWS_LAMBDA_RUNTIME_API", &api)
        .env("AWS_LAMBDA_FUNCTION_NAME", "bench")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot start {}: {e} (build it first, see the module docs)",
                bin.display()
            )
        });
    let (mut stream, _) = listener.accept().expect("the runtime connects");
    let mut buf = [0u8; 64];
    let n = stream.read(&mut buf).expect("request");
    let elapsed = start.elapsed();
    assert!(
        buf[..n].starts_with(b"GET /2018-06-01/runtime/invocation/next"),
        "{:?}",
        String::from_utf8_lossy(&buf[..n])
    );
    let _ = child.kill();
    let _ = child.wait();
    elapsed
}

fn cold_init(c: &mut Criterion) {
    let dir = release_dir();
    let hello = dir.join("examples/hello");
    let probe = dir.join("bench-lambda");
    let sdk_env = [
        ("SECBENCH_SOURCE", "ssm"),
        ("SECBENCH_PARAMETER_NAME", "/bench/p"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "bench"),
        ("AWS_SECRET_ACCESS_KEY", "bench"),
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
    ];
    let mut group = c.benchmark_group("cold_init");
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(10));
    group.bench_function("hello_lambda_runtime", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| spawn_to_ready(&hello, &[])).sum())
    });
    group.bench_function("probe_plain_env", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    spawn_to_ready(
                        &probe,
                        &[
                            ("SECBENCH_SOURCE", "plain-env"),
                            ("SECBENCH_PLAINTEXT", "bench"),
                        ],
                    )
                })
                .sum()
        })
    });
    group.bench_function("probe_ssm_sdk_client", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| spawn_to_ready(&probe, &sdk_env)).sum())
    });
    group.finish();
}

criterion_group!(benches, cold_init);
criterion_main!(benches);
