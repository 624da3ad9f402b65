//! Caching in front of a source, and the timing of each fetch. `Fetcher::fetch` is the one
//! place a fetch is measured: wall time around the cache lookup and the source call, then the
//! API calls the recorder saw, then the digest check (outside the timed span).

#[cfg(feature = "aws-caching-library")]
pub mod aws_library;
pub mod ttl;

use crate::calls::CallRecorder;
use crate::classify::FetchError;
use crate::secret::Secret;
use crate::source::SourceClient;
use secbench_record::sync::lock;
use secbench_record::{CacheMode, FetchPhase, FetchRecord, Outcome, Source};
use std::sync::Mutex;
use std::time::Instant;
use ttl::{Lookup, TtlCache};

/// The cache layer.
#[derive(Debug)]
pub enum Cache {
    /// Every fetch goes to the source.
    None,
    /// `fetch_at = init` without a cache: the value fetched at INIT is kept for the life of
    /// the environment (the global-variable pattern).
    Pinned(Mutex<Option<Secret>>),
    /// In-process TTL cache, one entry.
    Ttl(TtlCache<Secret>),
    /// The AWS caching library.
    #[cfg(feature = "aws-caching-library")]
    Library(aws_library::LibraryCache),
}

/// A source with its cache, its call recorder and the digest to check against.
#[derive(Debug)]
pub struct Fetcher {
    source_kind: Source,
    cache_mode: CacheMode,
    source: SourceClient,
    cache: Cache,
    recorder: CallRecorder,
    expected_sha256: Vec<[u8; 32]>,
}

const TTL_KEY: &str = "secret";

impl Fetcher {
    /// Puts the parts together.
    pub fn new(
        source_kind: Source,
        cache_mode: CacheMode,
        source: SourceClient,
        cache: Cache,
        recorder: CallRecorder,
        expected_sha256: Vec<[u8; 32]>,
    ) -> Fetcher {
        Fetcher {
            source_kind,
            cache_mode,
            source,
            cache,
            recorder,
            expected_sha256,
        }
    }

    /// Opens the connection the first fetch will use (`prewarm = "connection"`); returns the
    /// API calls it made.
    pub async fn open_connection(&self) -> (Result<(), FetchError>, crate::calls::Calls) {
        self.recorder.drain();
        let r = self.source.open_connection().await;
        (r, self.recorder.drain())
    }

    /// Fetches once and returns what happened. The value itself stays here.
    pub async fn fetch(&self, phase: FetchPhase, force_refresh: bool) -> FetchRecord {
        self.recorder.drain();
        // The CPU clock is read outside the wall-clock span, so its system call is not timed.
        let cpu = crate::clock::process_cpu_ns();
        let start = Instant::now();
        let (result, outcome) = self.fetch_through_cache(force_refresh).await;
        let latency = start.elapsed();
        let cpu_ns = crate::clock::process_cpu_ns().saturating_sub(cpu);
        let calls = self.recorder.drain();
        #[cfg(feature = "aws-caching-library")]
        let outcome = match (&self.cache, &result) {
            (Cache::Library(_), Ok(_)) => aws_library::outcome(&calls, force_refresh),
            _ => outcome,
        };
        let mut record = self.record(phase, result, outcome, latency.as_nanos(), calls);
        record.cpu_ns = Some(cpu_ns);
        record
    }

    /// Builds the record of one fetch. Public for the instrumentation benchmark.
    pub fn record(
        &self,
        phase: FetchPhase,
        result: Result<Secret, FetchError>,
        outcome: Outcome,
        latency_ns: u128,
        calls: crate::calls::Calls,
    ) -> FetchRecord {
        let (outcome, error_class, value_length_bytes, verified, version_index, service_version) =
            match &result {
                Ok(secret) => {
                    let index = if self.expected_sha256.is_empty() {
                        None
                    } else {
                        let digest = secret.sha256();
                        self.expected_sha256.iter().position(|d| *d == digest)
                    };
                    (
                        outcome,
                        None,
                        Some(secret.len() as u64),
                        (!self.expected_sha256.is_empty()).then_some(index.is_some()),
                        index.and_then(|i| u32::try_from(i).ok()),
                        secret.version().map(str::to_owned),
                    )
                }
                Err(e) => {
                    tracing::warn!(source = %self.source_kind, error_class = %e.class, error_code = e.code.as_deref().unwrap_or("-"), "fetch failed");
                    (Outcome::Error, Some(e.class), None, None, None, None)
                }
            };
        FetchRecord {
            phase,
            source: self.source_kind,
            cache: self.cache_mode,
            outcome,
            latency_ns: u64::try_from(latency_ns).unwrap_or(u64::MAX),
            sdk_attempts: calls.attempts,
            error_class,
            value_length_bytes,
            verified,
            version_index,
            service_version,
            api_calls: calls.api_calls,
            multi: None,
            values: Vec::new(),
            calls: Vec::new(),
            cpu_ns: None,
        }
    }

    async fn fetch_through_cache(
        &self,
        force_refresh: bool,
    ) -> (Result<Secret, FetchError>, Outcome) {
        let miss = if self.source_kind.is_agent() {
            Outcome::Delegated
        } else {
            Outcome::Miss
        };
        match &self.cache {
            Cache::None => (self.source.fetch().await, miss),
            Cache::Pinned(slot) => {
                let pinned = if force_refresh {
                    None
                } else {
                    lock(slot).clone()
                };
                if let Some(secret) = pinned {
                    return (Ok(secret), Outcome::Hit);
                }
                let result = self.source.fetch().await;
                if let Ok(secret) = &result {
                    *lock(slot) = Some(secret.clone());
                }
                let outcome = if force_refresh {
                    Outcome::Refresh
                } else {
                    miss
                };
                (result, outcome)
            }
            Cache::Ttl(cache) => {
                let outcome = match cache.get(TTL_KEY, Instant::now()) {
                    Lookup::Hit(secret) if !force_refresh => return (Ok(secret), Outcome::Hit),
                    Lookup::Hit(_) | Lookup::Expired => Outcome::Refresh,
                    Lookup::Missing => miss,
                };
                // Single flight: one miss fetches; the others wait here and then find its value.
                let turn = cache.refresh_lock().await;
                if turn.is_some() && !force_refresh {
                    if let Lookup::Hit(secret) = cache.get(TTL_KEY, Instant::now()) {
                        return (Ok(secret), Outcome::Hit);
                    }
                }
                match self.source.fetch().await {
                    Ok(secret) => {
                        cache.put(TTL_KEY, secret.clone(), Instant::now());
                        (Ok(secret), outcome)
                    }
                    Err(e) => match cache.stale(TTL_KEY, e.transient, Instant::now()) {
                        Some(held) => (Ok(held), Outcome::Stale),
                        None => (Err(e), outcome),
                    },
                }
            }
            #[cfg(feature = "aws-caching-library")]
            Cache::Library(library) => (library.fetch(force_refresh).await, Outcome::Miss),
        }
    }
}
