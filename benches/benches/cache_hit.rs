//! A cache hit, side by side in one run: a bare `HashMap` lookup, the probe's `TtlCache`, the
//! probe's full instrumented TTL hit, and `aws_secretsmanager_caching`'s own hit path (filled
//! once from a local canned Secrets Manager response, then measured on hits only).

use bench_lambda::cache::aws_library::LibraryCache;
use bench_lambda::cache::ttl::TtlCache;
use bench_lambda::cache::{Cache, Fetcher};
use bench_lambda::calls::CallRecorder;
use bench_lambda::secret::Secret;
use bench_lambda::settings::Env;
use bench_lambda::source::{plain_env::PlainEnv, SourceClient};
use criterion::{criterion_group, criterion_main, Criterion};
use secbench_record::{CacheMode, FetchPhase, Outcome, Source};
use std::collections::HashMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

const VALUE: &str = "bench-value-0123456789abcdef0123";
const KEY: &str = "secret";

fn cache_hit(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let secret = Secret::new(VALUE.as_bytes().to_vec());
    let mut group = c.benchmark_group("cache_hit");

    let mut map = HashMap::new();
    map.insert(KEY.to_owned(), secret.clone());
    group.bench_function("hashmap_get_clone", |b| {
        b.iter(|| black_box(map.get(black_box(KEY)).cloned()))
    });

    let ttl = TtlCache::new(Duration::from_secs(3600));
    ttl.put(KEY, secret.clone(), Instant::now());
    group.bench_function("ttl_cache_get", |b| {
        b.iter(|| black_box(ttl.get(black_box(KEY), Instant::now())))
    });

    let env: Env = [("SECBENCH_PLAINTEXT".to_owned(), VALUE.to_owned())]
        .into_iter()
        .collect();
    let fetcher = Fetcher::new(
        Source::PlainEnv,
        CacheMode::Ttl,
        SourceClient::PlainEnv(PlainEnv::new(&env, "SECBENCH_PLAINTEXT").expect("set")),
        Cache::Ttl(TtlCache::new(Duration::from_secs(3600))),
        CallRecorder::default(),
        Vec::new(),
    );
    rt.block_on(fetcher.fetch(FetchPhase::Handler, false));
    assert_eq!(
        rt.block_on(fetcher.fetch(FetchPhase::Handler, false))
            .outcome,
        Outcome::Hit
    );
    group.bench_function("probe_ttl_hit_instrumented", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(fetcher.fetch(FetchPhase::Handler, false).await) })
    });

    let library = rt.block_on(async {
        let body = format!(
            r#"{{"ARN":"arn:aws:secretsmanager:us-east-1:123456789012:secret:bench-AbCdEf","Name":"bench","VersionId":"v1","SecretString":"{VALUE}","VersionStages":["AWSCURRENT"],"CreatedDate":1.7e9}}"#
        );
        let endpoint = secbench_benches::canned_http_server(body).await.expect("server");
        let env: Env = [
            ("AWS_ENDPOINT_URL", endpoint.as_str()),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "bench"),
            ("AWS_SECRET_ACCESS_KEY", "bench"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let sdk = bench_lambda::sdk::load(&env, None).await;
        let library = LibraryCache::new(&sdk, &CallRecorder::default(), "bench".into(), Duration::from_secs(3600), true).expect("client");
        library.fetch(false).await.expect("first fetch fills the cache");
        library
    });
    group.bench_function("aws_caching_library_hit", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(library.fetch(false).await) })
    });
    group.finish();
}

criterion_group!(benches, cache_hit);
criterion_main!(benches);
