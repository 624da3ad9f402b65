//! The probe itself: INIT (settings, SDK configuration, clients, optional INIT-time fetch, each
//! timed) and the handler (parse the event, fetch as many times as asked, return the record).

use crate::cache::{Cache, Fetcher};
use crate::calls::CallRecorder;
use crate::clock::ProcessAge;
use crate::emit::LogSink;
use crate::error::{InitError, InvocationError};

use crate::settings::{Env, Settings};
use crate::source::SourceClient;
use secbench_record::{
    CacheMode, FetchAt, FetchPhase, FetchRecord, InitBreakdown, Prewarm, ProbeRecord,
    RetrySettings, SCHEMA_VERSION,
};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// When `main` started, taken on its first line.
#[derive(Debug, Clone, Copy)]
pub struct InitClock {
    /// `Instant` at the first line of `main`.
    pub main_start: Instant,
    /// The OS's process age at that moment (absent outside Linux).
    pub process_age_at_main: Option<ProcessAge>,
}

impl InitClock {
    /// Takes the clock now. Call it first thing in `main`.
    pub fn now() -> InitClock {
        InitClock {
            main_start: Instant::now(),
            process_age_at_main: crate::clock::process_age(),
        }
    }
}

/// One execution environment's probe.
#[derive(Debug)]
pub struct Probe {
    settings: Settings,
    fetcher: Fetcher,
    multi: Option<crate::multi::MultiFetcher>,
    environment_id: String,
    invocations: AtomicU64,
    max_concurrency: Option<u32>,
    pending_init: Mutex<Option<(InitBreakdown, Option<FetchRecord>)>>,
    retry: Option<RetrySettings>,
    sink: LogSink,
}

fn nanos(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl Probe {
    /// Runs INIT: everything before the runtime asks for the first event.
    pub async fn init(env: &Env, clock: InitClock, sink: LogSink) -> Result<Probe, InitError> {
        let settings = Settings::from_env(env)?;
        let recorder = CallRecorder::default();

        // Sources without an SDK client (plain-env, the agents) load no SDK configuration.
        let (sdk, sdk_config_load) = if settings.uses_sdk() {
            let t = Instant::now();
            let sdk = crate::sdk::load(env, settings.sdk_attempt_timeout).await;
            (Some(sdk), t.elapsed())
        } else {
            (None, std::time::Duration::ZERO)
        };
        let retry = sdk.as_ref().map(crate::sdk::retry_settings);

        let t = Instant::now();
        let source = SourceClient::build(&settings, env, sdk.as_ref(), &recorder)?;
        let cache = build_cache(&settings, sdk.as_ref(), &recorder)?;
        let client_construction = t.elapsed();

        let multi = match &settings.multi {
            Some(m) => Some(build_multi(&settings, m, env, sdk.as_ref(), &recorder)?),
            None => None,
        };
        let fetcher = Fetcher::new(
            settings.source,
            settings.cache,
            source,
            cache,
            recorder,
            settings.expected_sha256.clone(),
        );
        // A cpu-calibration scenario fetches nothing: it times the fixed workload instead.
        let calibration = settings.cpu_calibration_rounds.map(crate::calibration::run);
        let init_fetch = match (settings.fetch_at, &multi, calibration) {
            (_, _, Some(_)) => None,
            (FetchAt::Init, Some(m), _) => Some(m.fetch(FetchPhase::Init, false).await),
            (FetchAt::Init, None, _) => Some(fetcher.fetch(FetchPhase::Init, false).await),
            // `Restore` is refused with the settings (no SnapStart for provided.al2023).
            (FetchAt::Handler | FetchAt::Restore, _, _) => None,
        };
        let (prewarm_ns, prewarm_calls) = match settings.prewarm {
            None => (None, Vec::new()),
            Some(p) => {
                let t = Instant::now();
                let calls = match p {
                    Prewarm::Entropy => {
                        crate::entropy::draw_first_randomness();
                        Vec::new()
                    }
                    Prewarm::Connection => {
                        let (result, calls) = fetcher.open_connection().await;
                        if let Err(e) = result {
                            tracing::warn!(error_class = %e.class, "the prewarm call failed");
                        }
                        calls.api_calls
                    }
                };
                (Some(nanos(t.elapsed())), calls)
            }
        };

        let breakdown = InitBreakdown {
            process_start_to_main_ns: clock.process_age_at_main.map(|a| a.age_ns),
            process_start_resolution_ns: clock.process_age_at_main.map(|a| a.resolution_ns),
            sdk_config_load_ns: nanos(sdk_config_load),
            client_construction_ns: nanos(client_construction),
            init_fetch_ns: init_fetch.as_ref().map(|f| f.latency_ns),
            main_to_ready_ns: nanos(clock.main_start.elapsed()),
            cpu_ns: Some(crate::clock::process_cpu_ns()),
            prewarm_ns,
            cpu_work: calibration,
            sysgenid: Some(crate::entropy::sysgenid()),
            prewarm_calls,
            imports_ns: None,
        };
        Ok(Probe {
            environment_id: format!("{:016x}", rand::random::<u64>()),
            settings,
            fetcher,
            multi,
            invocations: AtomicU64::new(0),
            max_concurrency: secbench_record::lambda::max_concurrency(env.iter())
                .filter(|n| *n > 1),
            pending_init: Mutex::new(Some((breakdown, init_fetch))),
            retry,
            sink,
        })
    }

    /// The random id of this execution environment.
    pub fn environment_id(&self) -> &str {
        &self.environment_id
    }

    /// Handles one invocation, its API calls counted apart from those of invocations running
    /// beside it (Lambda Managed Instances).
    pub async fn handle(
        &self,
        payload: serde_json::Value,
        request_id: &str,
    ) -> Result<ProbeRecord, InvocationError> {
        CallRecorder::scope(self.handle_scoped(payload, request_id)).await
    }

    async fn handle_scoped(
        &self,
        payload: serde_json::Value,
        request_id: &str,
    ) -> Result<ProbeRecord, InvocationError> {
        let start = Instant::now();
        let event = crate::event::from_value(payload)?;
        // The sequence number and INIT's breakdown are taken together, so the invocation
        // numbered 1 is the one that reports INIT when several arrive at once.
        let (seq, pending) = {
            let mut pending = secbench_record::sync::lock(&self.pending_init);
            (
                self.invocations.fetch_add(1, Ordering::Relaxed) + 1,
                pending.take(),
            )
        };
        let (init, mut fetches) = match pending {
            Some((breakdown, init_fetch)) => (Some(breakdown), init_fetch.into_iter().collect()),
            None => (None, Vec::new()),
        };
        let cpu_work = self
            .settings
            .cpu_calibration_rounds
            .map(crate::calibration::run);
        for i in 0..event.fetches {
            if cpu_work.is_some() {
                break;
            }
            let force = event.force_refresh && i == 0;
            fetches.push(match &self.multi {
                Some(m) => m.fetch(FetchPhase::Handler, force).await,
                None => self.fetcher.fetch(FetchPhase::Handler, force).await,
            });
        }
        let s = &self.settings;
        let record = ProbeRecord {
            schema_version: SCHEMA_VERSION,
            run_id: event.run_id,
            scenario: event.scenario,
            stage: s.stage.clone(),
            region: s.region.clone(),
            function_name: s.function_name.clone(),
            function_version: s.function_version.clone(),
            memory_mb: s.memory_mb,
            architecture: s.architecture,
            environment_id: self.environment_id.clone(),
            invocation_seq: seq,
            cold: seq == 1,
            request_id: request_id.to_owned(),
            source: s.source,
            cache: s.cache,
            multi: s.multi.as_ref().map(|m| m.mode),
            secrets: s
                .multi
                .as_ref()
                .map(|m| u32::try_from(m.names.len()).unwrap_or(u32::MAX)),
            cache_ttl_ms: s
                .cache_ttl
                .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            ignore_transient_errors: s.ignore_transient_errors,
            single_flight: s.single_flight,
            max_concurrency: self.max_concurrency,
            worker: self
                .max_concurrency
                .map(|_| format!("pid:{}", std::process::id())),
            fetch_at: s.fetch_at,
            snapstart: None,
            sdk_retry: self.retry.clone(),
            init,
            fetches,
            handler_duration_ns: nanos(start.elapsed()),
            probe_version: env!("CARGO_PKG_VERSION").to_owned(),
            initialization_type: s.initialization_type,
            probe_build: Some(crate::entropy::build()),
            prewarm: s.prewarm,
            cpu_work,
            runtime: Some(secbench_record::Runtime::Rust),
            runtime_version: None,
            libraries: Default::default(),
        };
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        self.sink.emit(&record, now_ms);
        Ok(record)
    }
}

/// The many-secrets fetcher: its client, its per-secret cache (a fetch at INIT without a cache
/// keeps its values for the environment's life, as for one secret), the caching library.
fn build_multi(
    settings: &Settings,
    m: &crate::settings::Multi,
    env: &Env,
    sdk: Option<&aws_config::SdkConfig>,
    recorder: &CallRecorder,
) -> Result<crate::multi::MultiFetcher, InitError> {
    use crate::multi::Client;
    use crate::source::agent_http::AgentClient;
    use secbench_record::{MultiMode, Source};
    let need_sdk =
        || sdk.ok_or_else(|| InitError::Sdk("the SDK configuration was not loaded".into()));
    let client = match settings.source {
        Source::SecretsManager => Client::SecretsManager(crate::source::secrets_manager::client(
            need_sdk()?,
            recorder,
        )),
        Source::Ssm => Client::Ssm(crate::source::ssm::client(need_sdk()?, recorder)),
        Source::AgentSecretsManager => {
            Client::AgentSecretsManager(AgentClient::new(env, settings.agent_port, recorder)?)
        }
        Source::AgentSsm => Client::AgentSsm(AgentClient::new(env, settings.agent_port, recorder)?),
        other => {
            return Err(InitError::Unsupported(format!(
                "{} with {}={other}",
                secbench_record::probe_config::var::MULTI,
                secbench_record::probe_config::var::SOURCE
            )))
        }
    };
    let bundle = (m.mode == MultiMode::Bundle).then(|| match &settings.target {
        crate::settings::Target::Secret { id } => id.clone(),
        crate::settings::Target::Parameter { name } => name.clone(),
        _ => String::new(),
    });
    let ttl = match (settings.cache, settings.fetch_at) {
        (CacheMode::Ttl, _) => Some(
            settings
                .cache_ttl
                .unwrap_or(crate::settings::DEFAULT_CACHE_TTL),
        ),
        (CacheMode::None, FetchAt::Init) => Some(std::time::Duration::MAX),
        _ => None,
    };
    #[cfg(feature = "aws-caching-library")]
    let library = match settings.cache {
        CacheMode::AwsCachingLibrary => Some(
            aws_secretsmanager_caching::SecretsManagerCachingClient::new(
                crate::source::secrets_manager::client(need_sdk()?, recorder),
                std::num::NonZeroUsize::new(secbench_record::MAX_SECRETS + 1)
                    .unwrap_or(std::num::NonZeroUsize::MIN),
                settings
                    .cache_ttl
                    .unwrap_or(crate::settings::DEFAULT_CACHE_TTL),
                settings.ignore_transient_errors.unwrap_or(true),
            )
            .map_err(|e| InitError::Sdk(e.to_string()))?,
        ),
        _ => None,
    };
    Ok(crate::multi::MultiFetcher::new(
        settings.source,
        settings.cache,
        m,
        client,
        bundle,
        ttl,
        settings.cache_max_stale,
        #[cfg(feature = "aws-caching-library")]
        library,
        recorder.clone(),
    ))
}

fn build_cache(
    settings: &Settings,
    sdk: Option<&aws_config::SdkConfig>,
    recorder: &CallRecorder,
) -> Result<Cache, InitError> {
    Ok(match settings.cache {
        CacheMode::None if settings.fetch_at == FetchAt::Init => Cache::Pinned(Mutex::new(None)),
        CacheMode::None => Cache::None,
        CacheMode::Ttl => Cache::Ttl(
            crate::cache::ttl::TtlCache::new(
                settings
                    .cache_ttl
                    .unwrap_or(crate::settings::DEFAULT_CACHE_TTL),
            )
            .serving_stale(settings.cache_max_stale)
            .single_flight(settings.single_flight == Some(true)),
        ),
        #[cfg(feature = "aws-caching-library")]
        CacheMode::AwsCachingLibrary => {
            let sdk =
                sdk.ok_or_else(|| InitError::Sdk("the SDK configuration was not loaded".into()))?;
            let id = match &settings.target {
                crate::settings::Target::Secret { id } => id.clone(),
                _ => {
                    return Err(InitError::Unsupported(format!(
                        "aws-caching-library needs {}",
                        secbench_record::probe_config::var::SECRET_ID
                    )))
                }
            };
            let ttl = settings
                .cache_ttl
                .unwrap_or(crate::settings::DEFAULT_CACHE_TTL);
            Cache::Library(
                crate::cache::aws_library::LibraryCache::new(
                    sdk,
                    recorder,
                    id,
                    ttl,
                    settings.ignore_transient_errors.unwrap_or(true),
                )
                .map_err(InitError::Sdk)?,
            )
        }
        // Refused by the settings (the Node.js and Python probes' cache).
        CacheMode::Powertools => {
            return Err(InitError::Unsupported(
                "cache = powertools belongs to the Node.js and Python probes".into(),
            ))
        }
        #[cfg(not(feature = "aws-caching-library"))]
        CacheMode::AwsCachingLibrary => {
            let _ = (sdk, recorder);
            return Err(InitError::Unsupported(
                "this probe was built without the `aws-caching-library` feature".into(),
            ));
        }
    })
}
