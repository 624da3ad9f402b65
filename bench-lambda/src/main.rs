//! The probe binary: take the clock, run INIT, hand the handler to `lambda_runtime`.

use bench_lambda::emit::LogSink;
use bench_lambda::{InitClock, Probe};
use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};

fn main() {
    let clock = InitClock::now();
    // `bench-lambda --measure-entropy`: the crypto library's first randomness, timed, and
    // nothing else (the local stage runs it under each memory size's CPU quota).
    if std::env::args_os()
        .nth(1)
        .is_some_and(|a| a == bench_lambda::entropy::MEASURE_ARG)
    {
        let cost = bench_lambda::entropy::measure();
        match serde_json::to_string(&cost) {
            Ok(line) => println!("{line}"),
            Err(e) => {
                eprintln!("cannot write the measurement: {e}");
                std::process::exit(1);
            }
        }
        return;
    }
    // `bench-lambda --measure-cpu-work ROUNDS REPEATS`: the calibration workload on
    // this CPU (or in the cgroup the local stage started it in), one JSON line per run.
    if let Some(request) =
        secbench_record::probe_config::CpuWorkRequest::from_args(std::env::args_os().skip(1))
    {
        let request = request.unwrap_or_else(|e| {
            eprintln!("{e}");
            std::process::exit(2);
        });
        for _ in 0..request.repeats {
            let work = bench_lambda::calibration::run(request.rounds);
            match serde_json::to_string(&work) {
                Ok(line) => println!("{line}"),
                Err(e) => {
                    eprintln!("cannot write the measurement: {e}");
                    std::process::exit(1);
                }
            }
        }
        return;
    }
    // On Lambda Managed Instances (`AWS_LAMBDA_MAX_CONCURRENCY` > 1) invocations run at once
    // on Tokio's worker threads, one per CPU, as AWS's Rust runtime runs them; otherwise one
    // thread serves one invocation at a time.
    let concurrent =
        secbench_record::lambda::max_concurrency(std::env::vars()).is_some_and(|n| n > 1);
    let mut builder = if concurrent {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    let runtime = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    std::process::exit(runtime.block_on(run(clock)));
}

async fn run(clock: InitClock) -> i32 {
    lambda_runtime::tracing::init_default_subscriber();
    let env: bench_lambda::settings::Env = std::env::vars().collect();
    // lambda_runtime panics when these are missing (outside Lambda): say which one instead.
    for var in [
        "AWS_LAMBDA_RUNTIME_API",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
    ] {
        if env.get(var).is_none_or(|v| v.is_empty()) {
            eprintln!("INIT failed: environment variable {var} is not set (Lambda sets it; set it when running the probe elsewhere)");
            return 1;
        }
    }
    let probe = match Probe::init(&env, clock, LogSink::Stdout).await {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(error_type = e.error_type(), "INIT failed: {e}");
            if let Some(api) = env.get("AWS_LAMBDA_RUNTIME_API") {
                bench_lambda::runtime_api::report_init_error(api, &e).await;
            }
            return 1;
        }
    };
    // The probe lives as long as the process: the concurrent runtime's workers each hold it.
    let probe: &'static Probe = Box::leak(Box::new(probe));
    let handler = service_fn(move |event: LambdaEvent<serde_json::Value>| async move {
        probe
            .handle(event.payload, &event.context.request_id)
            .await
            .map_err(Diagnostic::from)
    });
    // `run_concurrent` runs one long-poll loop per `AWS_LAMBDA_MAX_CONCURRENCY` and falls back
    // to `run`'s sequential loop when it is unset or 1.
    match lambda_runtime::run_concurrent(handler).await {
        Ok(()) => 0,
        Err(e) => {
            tracing::error!("runtime loop ended: {e}");
            1
        }
    }
}
