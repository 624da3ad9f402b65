//! Several secrets per fetch (`SECBENCH_MULTI`): one call per secret one after another
//! (`sequential`) or all at once on one client (`concurrent`), `GetParameters` (10 names per
//! call) or `BatchGetSecretValue` (20 ids per call) (`batch`), or one secret holding a JSON
//! object of the values (`bundle`). Caches apply per secret (a bundle is one entry). The
//! fetch's latency is the time until all values are ready; each call and each value keeps its
//! own record; some values failing and some not is the `partial` outcome. Values never leave
//! this module, only their lengths and whether their digests matched.

use crate::cache::ttl::{Lookup, TtlCache};
use crate::calls::{CallRecorder, Calls};
use crate::classify::FetchError;
use crate::secret::Secret;
use crate::settings::Multi;
use crate::source::agent_http::AgentClient;
use secbench_record::{
    CacheMode, CallRecord, ErrorClass, FetchPhase, FetchRecord, MultiMode, Outcome, Source,
    ValueRecord,
};
use std::time::{Duration, Instant};

/// Names per `GetParameters` call (SSM's limit).
pub const GET_PARAMETERS_MAX: usize = 10;
/// Ids per `BatchGetSecretValue` call (Secrets Manager's limit for `SecretIdList`).
pub const BATCH_GET_SECRET_VALUE_MAX: usize = 20;

/// The client the values come from.
#[derive(Debug, Clone)]
pub enum Client {
    /// Secrets Manager.
    SecretsManager(aws_sdk_secretsmanager::Client),
    /// SSM.
    Ssm(aws_sdk_ssm::Client),
    /// The agent, Secrets Manager protocol.
    AgentSecretsManager(AgentClient),
    /// The agent, SSM protocol.
    AgentSsm(AgentClient),
}

/// The many-secrets fetcher.
#[derive(Debug)]
pub struct MultiFetcher {
    source: Source,
    cache_mode: CacheMode,
    mode: MultiMode,
    client: Client,
    names: Vec<String>,
    bundle: Option<String>,
    ttl: Option<TtlCache<Secret>>,
    #[cfg(feature = "aws-caching-library")]
    library: Option<std::sync::Arc<aws_secretsmanager_caching::SecretsManagerCachingClient>>,
    recorder: CallRecorder,
    attempts: Attempts,
    /// The caching library's batch read was made.
    #[cfg(feature = "aws-caching-library")]
    prefetched: std::sync::atomic::AtomicBool,
    expected: Vec<[u8; 32]>,
}

type Fetched = Result<Secret, FetchError>;

/// One call's result: per name asked, its value or error.
struct CallResult {
    operation: &'static str,
    asked: Vec<usize>,
    latency: Duration,
    call_error: Option<ErrorClass>,
    values: Vec<(usize, Fetched)>,
}

impl MultiFetcher {
    /// Puts it together. `bundle` is the one secret or parameter of `bundle` mode (whose keys
    /// are `multi.names`).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        source: Source,
        cache_mode: CacheMode,
        multi: &Multi,
        client: Client,
        bundle: Option<String>,
        ttl: Option<Duration>,
        max_stale: Option<Duration>,
        #[cfg(feature = "aws-caching-library")] library: Option<
            aws_secretsmanager_caching::SecretsManagerCachingClient,
        >,
        recorder: CallRecorder,
    ) -> MultiFetcher {
        MultiFetcher {
            source,
            cache_mode,
            mode: multi.mode,
            client,
            names: multi.names.clone(),
            bundle,
            ttl: ttl.map(|t| TtlCache::new(t).serving_stale(max_stale)),
            #[cfg(feature = "aws-caching-library")]
            library: library.map(std::sync::Arc::new),
            recorder,
            attempts: Attempts::default(),
            #[cfg(feature = "aws-caching-library")]
            prefetched: std::sync::atomic::AtomicBool::new(false),
            expected: multi.expected_sha256.clone(),
        }
    }

    /// Fetches every value once and returns the record. Timed from before the first cache
    /// lookup to the last value ready.
    pub async fn fetch(&self, phase: FetchPhase, force_refresh: bool) -> FetchRecord {
        self.recorder.drain();
        let cpu = crate::clock::process_cpu_ns();
        let start = Instant::now();
        let n = self.names.len();
        let mut results: Vec<Option<Fetched>> = vec![None; n];
        let mut outcomes: Vec<Outcome> = vec![self.miss(); n];
        let now = Instant::now();
        let mut pending = Vec::new();
        for (i, name) in self.names.iter().enumerate() {
            match self.ttl.as_ref().map(|c| c.get(name, now)) {
                Some(Lookup::Hit(s)) if !force_refresh => {
                    results[i] = Some(Ok(s));
                    outcomes[i] = Outcome::Hit;
                }
                Some(Lookup::Hit(_) | Lookup::Expired) => {
                    outcomes[i] = Outcome::Refresh;
                    pending.push(i);
                }
                _ => pending.push(i),
            }
        }
        let (calls, sums) = if pending.is_empty() {
            (Vec::new(), Calls::default())
        } else {
            self.call(&pending, force_refresh).await
        };
        let latency = start.elapsed();
        let cpu_ns = crate::clock::process_cpu_ns().saturating_sub(cpu);
        let mut call_records = Vec::new();
        for c in calls {
            call_records.push(CallRecord {
                operation: c.operation.to_owned(),
                secrets: u32::try_from(c.asked.len()).unwrap_or(u32::MAX),
                latency_ns: u64::try_from(c.latency.as_nanos()).unwrap_or(u64::MAX),
                error_class: c.call_error,
                sdk_attempts: None,
            });
            for (i, r) in c.values {
                results[i] = Some(r);
            }
        }
        // Attempts per call are known when the calls did not overlap.
        if self.mode != MultiMode::Concurrent {
            for (record, attempts) in call_records.iter_mut().zip(self.attempts.lock_take()) {
                record.sdk_attempts = Some(attempts);
            }
        }
        let put_at = Instant::now();
        let mut values = Vec::with_capacity(n);
        for (i, r) in results.into_iter().enumerate() {
            let mut r = r.unwrap_or_else(|| Err(FetchError::new(ErrorClass::Other)));
            if let Some(cache) = &self.ttl {
                match &r {
                    Ok(s) if outcomes[i] != Outcome::Hit => {
                        cache.put(&self.names[i], s.clone(), put_at)
                    }
                    Ok(_) => {}
                    Err(e) => {
                        if let Some(held) = cache.stale(&self.names[i], e.transient, put_at) {
                            r = Ok(held);
                            outcomes[i] = Outcome::Stale;
                        }
                    }
                }
            }
            values.push(self.value_record(i, outcomes[i], &r));
        }
        #[cfg(feature = "aws-caching-library")]
        if self.library.is_some() {
            let called = sums.count("GetSecretValue")
                + sums.count("DescribeSecret")
                + sums.count("BatchGetSecretValue")
                > 0;
            // A call failed and every value came back: the library served what it held.
            let stale = sums.failed > 0 && values.iter().all(|v| v.outcome != Outcome::Error);
            for v in values.iter_mut().filter(|v| v.outcome != Outcome::Error) {
                v.outcome = match (stale, called) {
                    (true, _) => Outcome::Stale,
                    (false, true) => Outcome::Miss,
                    (false, false) => Outcome::Hit,
                };
            }
        }
        let failed = values
            .iter()
            .filter(|v| v.outcome == Outcome::Error)
            .count();
        let outcome = if failed == n {
            Outcome::Error
        } else if failed > 0 {
            Outcome::Partial
        } else if values.iter().any(|v| v.outcome == Outcome::Stale) {
            Outcome::Stale
        } else if sums.api_calls.is_empty() && call_records.is_empty() {
            Outcome::Hit
        } else if self.source.is_agent() {
            Outcome::Delegated
        } else if values.iter().any(|v| v.outcome == Outcome::Refresh) {
            Outcome::Refresh
        } else {
            Outcome::Miss
        };
        let error_class = values.iter().find_map(|v| v.error_class);
        if failed > 0 {
            tracing::warn!(source = %self.source, failed, of = n, error_class = %error_class.unwrap_or(ErrorClass::Other), "values failed");
        }
        let all_verified = (!self.expected.is_empty() && failed == 0)
            .then(|| values.iter().all(|v| v.verified == Some(true)));
        FetchRecord {
            phase,
            source: self.source,
            cache: self.cache_mode,
            outcome,
            latency_ns: u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX),
            sdk_attempts: sums.attempts,
            error_class: (outcome == Outcome::Error || outcome == Outcome::Partial)
                .then(|| error_class.unwrap_or(ErrorClass::Other)),
            value_length_bytes: (failed == 0)
                .then(|| values.iter().filter_map(|v| v.value_length_bytes).sum()),
            verified: all_verified,
            version_index: None,
            service_version: None,
            api_calls: sums.api_calls,
            multi: Some(self.mode),
            values,
            calls: call_records,
            cpu_ns: Some(cpu_ns),
        }
    }

    fn miss(&self) -> Outcome {
        if self.source.is_agent() {
            Outcome::Delegated
        } else {
            Outcome::Miss
        }
    }

    fn value_record(&self, i: usize, outcome: Outcome, r: &Fetched) -> ValueRecord {
        match r {
            Ok(s) => ValueRecord {
                index: u32::try_from(i).unwrap_or(u32::MAX),
                outcome,
                verified: self.expected.get(i).map(|d| s.sha256() == *d),
                value_length_bytes: Some(s.len() as u64),
                error_class: None,
            },
            Err(e) => ValueRecord {
                index: u32::try_from(i).unwrap_or(u32::MAX),
                outcome: Outcome::Error,
                verified: None,
                value_length_bytes: None,
                error_class: Some(e.class),
            },
        }
    }
}

/// Per-call attempt counts, taken from the recorder after each call of a non-concurrent fetch.
#[derive(Debug, Default)]
pub struct Attempts(std::sync::Mutex<Vec<u32>>);

impl Attempts {
    fn push(&self, n: u32) {
        secbench_record::sync::lock(&self.0).push(n);
    }
    fn lock_take(&self) -> Vec<u32> {
        std::mem::take(&mut *secbench_record::sync::lock(&self.0))
    }
}

impl MultiFetcher {
    /// Makes the calls for the `pending` values; returns each call's result and the counts.
    async fn call(&self, pending: &[usize], force_refresh: bool) -> (Vec<CallResult>, Calls) {
        let mut sums = Calls::default();
        let mut out = Vec::new();
        match self.mode {
            MultiMode::Sequential => {
                for &i in pending {
                    out.push(self.one(i, force_refresh).await);
                    let c = self.recorder.drain();
                    self.attempts.push(c.attempts);
                    sums.add(c);
                }
            }
            MultiMode::Concurrent => {
                let mut set = tokio::task::JoinSet::new();
                for &i in pending {
                    let me = self.detached(i);
                    // The spawned call counts into this invocation's log.
                    set.spawn(CallRecorder::in_this_scope(async move {
                        me.run(force_refresh).await
                    }));
                }
                while let Some(r) = set.join_next().await {
                    if let Ok(r) = r {
                        out.push(r);
                    }
                }
                out.sort_by_key(|c| c.asked.first().copied());
                sums.add(self.recorder.drain());
            }
            MultiMode::Batch => {
                #[cfg(feature = "aws-caching-library")]
                if let Some(lib) = &self.library {
                    // The library's batch read fills its cache on the first fetch (and when a
                    // refresh is forced); each value is then read from it, and the library
                    // refreshes each on its own TTL.
                    let first = !self
                        .prefetched
                        .swap(true, std::sync::atomic::Ordering::Relaxed);
                    let missing: Vec<usize> = if first || force_refresh {
                        pending.to_vec()
                    } else {
                        Vec::new()
                    };
                    for chunk in missing.chunks(BATCH_GET_SECRET_VALUE_MAX) {
                        let t = Instant::now();
                        let ids: Vec<String> =
                            chunk.iter().map(|i| self.names[*i].clone()).collect();
                        let r = lib
                            .batch_get_secret_value(Some(ids), None, None, None)
                            .await;
                        let c = self.recorder.drain();
                        self.attempts.push(c.attempts);
                        sums.add(c);
                        out.push(CallResult {
                            operation: "BatchGetSecretValue",
                            asked: chunk.to_vec(),
                            latency: t.elapsed(),
                            call_error: r.err().map(|_| ErrorClass::Other),
                            values: Vec::new(),
                        });
                    }
                    for &i in pending {
                        let r = self.one(i, false).await;
                        let c = self.recorder.drain();
                        sums.add(c);
                        match out.iter_mut().find(|c| c.asked.contains(&i)) {
                            Some(batch) => batch.values.extend(r.values),
                            None => out.push(r),
                        }
                    }
                    return (out, sums);
                }
                let per = match self.client {
                    Client::Ssm(_) => GET_PARAMETERS_MAX,
                    _ => BATCH_GET_SECRET_VALUE_MAX,
                };
                for chunk in pending.chunks(per) {
                    out.push(self.batch(chunk).await);
                    let c = self.recorder.drain();
                    self.attempts.push(c.attempts);
                    sums.add(c);
                }
            }
            MultiMode::Bundle => {
                out.push(self.bundle(pending, force_refresh).await);
                let c = self.recorder.drain();
                self.attempts.push(c.attempts);
                sums.add(c);
            }
        }
        (out, sums)
    }

    /// What one value's call needs, owned, for a task of its own.
    fn detached(&self, i: usize) -> One {
        One {
            client: self.client.clone(),
            index: i,
            name: self.names[i].clone(),
            #[cfg(feature = "aws-caching-library")]
            library: self.library.clone(),
        }
    }

    async fn one(&self, i: usize, force_refresh: bool) -> CallResult {
        self.detached(i).run(force_refresh).await
    }

    /// One `GetParameters` or `BatchGetSecretValue` call for `chunk`.
    async fn batch(&self, chunk: &[usize]) -> CallResult {
        let names: Vec<String> = chunk.iter().map(|i| self.names[*i].clone()).collect();
        let t = Instant::now();
        let (operation, result) = match &self.client {
            Client::Ssm(c) => (
                "GetParameters",
                crate::source::ssm::get_parameters(c, &names).await,
            ),
            Client::SecretsManager(c) => (
                "BatchGetSecretValue",
                crate::source::secrets_manager::batch_get(c, &names).await,
            ),
            // The plan and the probe refuse batch for the agent sources.
            Client::AgentSecretsManager(_) | Client::AgentSsm(_) => {
                ("agent GET", Err(FetchError::new(ErrorClass::Other)))
            }
        };
        let latency = t.elapsed();
        match result {
            Ok(values) => CallResult {
                operation,
                asked: chunk.to_vec(),
                latency,
                call_error: None,
                values: chunk.iter().copied().zip(values).collect(),
            },
            Err(e) => CallResult {
                operation,
                asked: chunk.to_vec(),
                latency,
                call_error: Some(e.class),
                values: chunk.iter().map(|i| (*i, Err(e.clone()))).collect(),
            },
        }
    }

    /// The one call of `bundle` mode, parsed into the values of `pending`.
    async fn bundle(&self, pending: &[usize], force_refresh: bool) -> CallResult {
        let name = self.bundle.clone().unwrap_or_default();
        let one = One {
            client: self.client.clone(),
            index: 0,
            name,
            #[cfg(feature = "aws-caching-library")]
            library: self.library.clone(),
        };
        let mut r = one.run(force_refresh).await;
        let whole = r.values.pop().map(|(_, v)| v);
        r.asked = pending.to_vec();
        r.values = match whole {
            Some(Ok(secret)) => {
                let parsed: Option<serde_json::Map<String, serde_json::Value>> =
                    secret.parse_json_object();
                pending
                    .iter()
                    .map(|i| {
                        let v = match &parsed {
                            None => Err(FetchError::new(ErrorClass::Other)),
                            Some(map) => match map.get(&self.names[*i]) {
                                None => Err(FetchError::new(ErrorClass::NotFound)),
                                Some(serde_json::Value::String(s)) => {
                                    Ok(Secret::new(s.clone().into_bytes())
                                        .with_version(secret.version().map(str::to_owned)))
                                }
                                Some(other) => Ok(Secret::new(other.to_string().into_bytes())),
                            },
                        };
                        (*i, v)
                    })
                    .collect()
            }
            Some(Err(e)) => pending.iter().map(|i| (*i, Err(e.clone()))).collect(),
            None => pending
                .iter()
                .map(|i| (*i, Err(FetchError::new(ErrorClass::Other))))
                .collect(),
        };
        r
    }
}

/// One value's call, with what it needs owned.
struct One {
    client: Client,
    index: usize,
    name: String,
    #[cfg(feature = "aws-caching-library")]
    library: Option<std::sync::Arc<aws_secretsmanager_caching::SecretsManagerCachingClient>>,
}

impl One {
    async fn run(self, force_refresh: bool) -> CallResult {
        let t = Instant::now();
        let (operation, r): (&'static str, Fetched) = match &self.client {
            #[cfg(feature = "aws-caching-library")]
            Client::SecretsManager(_) if self.library.is_some() => {
                let lib = self.library.as_ref().map(|l| l.as_ref());
                let r = match lib {
                    Some(lib) => {
                        crate::cache::aws_library::get(lib, &self.name, force_refresh).await
                    }
                    None => Err(FetchError::new(ErrorClass::Other)),
                };
                ("GetSecretValue", r)
            }
            Client::SecretsManager(c) => (
                "GetSecretValue",
                crate::source::secrets_manager::get(c, &self.name).await,
            ),
            Client::Ssm(c) => ("GetParameter", crate::source::ssm::get(c, &self.name).await),
            Client::AgentSecretsManager(a) => (
                "agent GET",
                crate::source::agent_secrets_manager::parse(
                    a.get(&crate::source::agent_secrets_manager::path(&self.name))
                        .await,
                ),
            ),
            Client::AgentSsm(a) => (
                "agent GET",
                crate::source::agent_ssm::parse(
                    a.get(&crate::source::agent_ssm::path(&self.name)).await,
                ),
            ),
        };
        let _ = force_refresh;
        CallResult {
            operation,
            asked: vec![self.index],
            latency: t.elapsed(),
            call_error: r.as_ref().err().map(|e| e.class),
            values: vec![(self.index, r)],
        }
    }
}
