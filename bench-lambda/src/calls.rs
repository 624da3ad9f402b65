//! Counts the AWS API operations and HTTP attempts the probe's SDK clients make, with an SDK
//! interceptor registered on every client (the caching library's included). The cost model
//! prices exactly these counts, so they are observed, not assumed.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
    FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use secbench_record::ApiCall;
use std::sync::{Arc, Mutex};

#[derive(Debug, Default)]
struct Log {
    operations: Vec<(String, String)>,
    attempts: u32,
    failed: u32,
}

/// Shared by all clients of one probe. Calls made inside [`CallRecorder::scope`] (one
/// invocation: on Lambda Managed Instances several run at once in one process) go to that
/// invocation's own log; calls outside any scope (INIT) go to the probe's. Draining after each
/// fetch attributes calls to that fetch, since one invocation's fetches are sequential.
#[derive(Debug, Clone, Default)]
pub struct CallRecorder {
    log: Arc<Mutex<Log>>,
}

tokio::task_local! {
    /// The log of the invocation the current task serves.
    static INVOCATION: Arc<Mutex<Log>>;
}

/// What one fetch made.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Calls {
    /// Operations by service and name, in first-seen order.
    pub api_calls: Vec<ApiCall>,
    /// HTTP attempts, retries included.
    pub attempts: u32,
    /// Operations that failed after their retries (a caching library may serve its value
    /// through one: that is how the probe sees it).
    pub failed: u32,
}

impl Calls {
    /// Adds `other`'s counts (the calls of several requests of one fetch).
    pub fn add(&mut self, other: Calls) {
        self.attempts += other.attempts;
        self.failed += other.failed;
        for call in other.api_calls {
            match self
                .api_calls
                .iter_mut()
                .find(|c| c.service == call.service && c.operation == call.operation)
            {
                Some(c) => c.count += call.count,
                None => self.api_calls.push(call),
            }
        }
    }

    /// How many times `operation` was called.
    pub fn count(&self, operation: &str) -> u32 {
        self.api_calls
            .iter()
            .filter(|c| c.operation == operation)
            .map(|c| c.count)
            .sum()
    }
}

impl CallRecorder {
    /// Runs `fut` (one invocation) with a log of its own: its calls are not mixed with those
    /// of invocations running beside it. The SDK's interceptors run in the task that awaits
    /// the operation, so the task-local log sees exactly this invocation's calls.
    pub async fn scope<F: std::future::Future>(fut: F) -> F::Output {
        INVOCATION
            .scope(Arc::new(Mutex::new(Log::default())), fut)
            .await
    }

    /// `fut` with the log of the invocation the current task serves (if any), for a task it
    /// spawns: a task does not inherit its spawner's task-local log.
    pub fn in_this_scope<F: std::future::Future>(
        fut: F,
    ) -> impl std::future::Future<Output = F::Output> {
        let log = INVOCATION.try_with(Arc::clone).ok();
        async move {
            match log {
                Some(log) => INVOCATION.scope(log, fut).await,
                None => fut.await,
            }
        }
    }

    /// Takes everything recorded since the last call (in this invocation's scope, if any).
    pub fn drain(&self) -> Calls {
        match INVOCATION.try_with(Arc::clone) {
            Ok(log) => Self::drain_log(&log),
            Err(_) => Self::drain_log(&self.log),
        }
    }

    fn drain_log(log: &Mutex<Log>) -> Calls {
        let mut log = secbench_record::sync::lock(log);
        let mut api_calls: Vec<ApiCall> = Vec::new();
        for (service, operation) in log.operations.drain(..) {
            match api_calls
                .iter_mut()
                .find(|c| c.service == service && c.operation == operation)
            {
                Some(c) => c.count += 1,
                None => api_calls.push(ApiCall {
                    service,
                    operation,
                    count: 1,
                }),
            }
        }
        let attempts = std::mem::take(&mut log.attempts);
        let failed = std::mem::take(&mut log.failed);
        Calls {
            api_calls,
            attempts,
            failed,
        }
    }

    /// Adds one attempt made outside the SDK (the agent's HTTP client).
    pub fn add_attempt(&self) {
        self.with_log(|log| log.attempts += 1);
    }

    fn with_log(&self, f: impl FnOnce(&mut Log)) {
        match INVOCATION.try_with(Arc::clone) {
            Ok(log) => f(&mut secbench_record::sync::lock(&log)),
            Err(_) => f(&mut secbench_record::sync::lock(&self.log)),
        }
    }
}

impl Intercept for CallRecorder {
    fn name(&self) -> &'static str {
        "SecbenchCallRecorder"
    }

    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(meta) = cfg.load::<Metadata>() {
            let (service, operation) = (meta.service().to_owned(), meta.name().to_owned());
            self.with_log(|log| log.operations.push((service, operation)));
        }
        Ok(())
    }

    fn read_before_attempt(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.with_log(|log| log.attempts += 1);
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if matches!(context.output_or_error(), Some(Err(_))) {
            self.with_log(|log| log.failed += 1);
        }
        Ok(())
    }
}
