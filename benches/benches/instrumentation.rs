//! What the probe's instrumentation costs per fetch: the same plain-env fetch bare and through
//! `Fetcher::fetch` (two clock reads, two drains of the call recorder, the record), without and
//! with the SHA-256 check. The difference is the overhead; the target is well under 1 µs.

use bench_lambda::cache::{Cache, Fetcher};
use bench_lambda::calls::CallRecorder;
use bench_lambda::settings::Env;
use bench_lambda::source::{plain_env::PlainEnv, SourceClient};
use criterion::{criterion_group, criterion_main, Criterion};
use secbench_record::{CacheMode, FetchPhase, Source};
use std::hint::black_box;

const VALUE: &str = "bench-value-0123456789abcdef0123";

fn plain_env() -> PlainEnv {
    let env: Env = [("SECBENCH_PLAINTEXT".to_owned(), VALUE.to_owned())]
        .into_iter()
        .collect();
    PlainEnv::new(&env, "SECBENCH_PLAINTEXT").expect("set")
}

fn fetcher(digests: Vec<[u8; 32]>) -> Fetcher {
    Fetcher::new(
        Source::PlainEnv,
        CacheMode::None,
        SourceClient::PlainEnv(plain_env()),
        Cache::None,
        CallRecorder::default(),
        digests,
    )
}

fn instrumentation(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let mut group = c.benchmark_group("instrumentation");
    let bare = plain_env();
    group.bench_function("bare_plain_env_fetch", |b| {
        b.iter(|| black_box(bare.fetch()))
    });
    let plain = fetcher(Vec::new());
    group.bench_function("instrumented_fetch", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(plain.fetch(FetchPhase::Handler, false).await) })
    });
    let digest = bench_lambda::secret::Secret::new(VALUE.as_bytes().to_vec()).sha256();
    let verified = fetcher(vec![digest]);
    group.bench_function("instrumented_fetch_with_sha256_check", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(verified.fetch(FetchPhase::Handler, false).await) })
    });
    group.finish();
}

criterion_group!(benches, instrumentation);
criterion_main!(benches);
