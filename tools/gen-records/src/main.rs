//! Writes a synthetic `records.jsonl` of the run format for the analyzer's benchmarks:
//! `gen-records FILE COUNT [SEED]`. 10 scenarios × cold/warm; warm fetch latency lognormal
//! (around 3 ms, or 2 µs for cached scenarios), cold starts bimodal. Deterministic per seed.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, LogNormal, Normal};
use secbench_record::run::{
    InvocationOutcome, InvocationRecord, Phase, PlatformReport, RUN_SCHEMA_VERSION,
};
use secbench_record::{
    ApiCall, Architecture, CacheMode, FetchAt, FetchPhase, FetchRecord, InitBreakdown,
    InitializationType, Outcome, ProbeRecord, RetrySettings, Source, SCHEMA_VERSION,
};
use std::io::Write;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(path), Some(count)) = (args.get(1), args.get(2)) else {
        return Err("usage: gen-records FILE COUNT [SEED]".into());
    };
    let count: u64 = count.parse()?;
    let seed: u64 = args.get(3).map(|s| s.parse()).transpose()?.unwrap_or(1);
    let mut rng = StdRng::seed_from_u64(seed);
    let scenarios = [
        ("plain-env", Source::PlainEnv, CacheMode::None, 2e3),
        ("kms-env-none", Source::KmsEnv, CacheMode::None, 3e6),
        ("kms-env-ttl", Source::KmsEnv, CacheMode::Ttl, 2e3),
        ("ssm-none", Source::Ssm, CacheMode::None, 3.3e6),
        ("ssm-ttl", Source::Ssm, CacheMode::Ttl, 2e3),
        (
            "secrets-manager-none",
            Source::SecretsManager,
            CacheMode::None,
            2.9e6,
        ),
        (
            "secrets-manager-ttl",
            Source::SecretsManager,
            CacheMode::Ttl,
            2e3,
        ),
        (
            "secrets-manager-library",
            Source::SecretsManager,
            CacheMode::AwsCachingLibrary,
            5e3,
        ),
        (
            "agent-secrets-manager",
            Source::AgentSecretsManager,
            CacheMode::None,
            1.8e5,
        ),
        ("kms-env-init", Source::KmsEnv, CacheMode::None, 7e2),
    ];
    let cold_a: Normal<f64> = Normal::new(10.0e6, 1.5e6)?;
    let cold_b: Normal<f64> = Normal::new(60.0e6, 8.0e6)?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    for i in 0..count {
        let (name, source, cache, warm_ns): (&str, Source, CacheMode, f64) =
            scenarios[(i % scenarios.len() as u64) as usize];
        let cold = rng.random_bool(0.02);
        let latency_ns = if cold {
            (if rng.random_bool(0.7) {
                cold_a.sample(&mut rng)
            } else {
                cold_b.sample(&mut rng)
            })
            .max(1e3) as u64
        } else {
            LogNormal::new(warm_ns.ln(), 0.35)?.sample(&mut rng) as u64
        };
        let hit = !cold && cache != CacheMode::None;
        let op = match source {
            Source::KmsEnv => Some(("KMS", "Decrypt")),
            Source::Ssm => Some(("SSM", "GetParameter")),
            Source::SecretsManager => Some(("Secrets Manager", "GetSecretValue")),
            _ => None,
        };
        let api_calls = match (op, hit) {
            (Some((service, operation)), false) => vec![ApiCall {
                service: service.into(),
                operation: operation.into(),
                count: 1,
            }],
            _ => vec![],
        };
        let fetch = FetchRecord {
            phase: FetchPhase::Handler,
            source,
            cache,
            outcome: if hit { Outcome::Hit } else { Outcome::Miss },
            latency_ns,
            sdk_attempts: u32::from(!api_calls.is_empty()),
            error_class: None,
            value_length_bytes: Some(64),
            verified: Some(true),
            version_index: Some(0),
            service_version: None,
            api_calls,
            multi: None,
            values: Vec::new(),
            calls: Vec::new(),
            cpu_ns: Some(latency_ns / 20),
        };
        let init = cold.then_some(InitBreakdown {
            process_start_to_main_ns: Some(10_000_000),
            process_start_resolution_ns: Some(10_000_000),
            sdk_config_load_ns: 2_700_000,
            client_construction_ns: 90_000,
            init_fetch_ns: None,
            main_to_ready_ns: 3_500_000,
            cpu_ns: Some(3_000_000),
            prewarm_ns: None,
            cpu_work: None,
            sysgenid: Some(false),
            prewarm_calls: Vec::new(),
            imports_ns: None,
        });
        let handler_ns = latency_ns + 20_000;
        let probe = ProbeRecord {
            schema_version: SCHEMA_VERSION,
            run_id: "bench-run".into(),
            scenario: name.into(),
            stage: Some("bench".into()),
            region: Some("us-east-1".into()),
            function_name: Some("secbench-probe-bench".into()),
            function_version: Some("$LATEST".into()),
            memory_mb: Some(128),
            architecture: Some(Architecture::Arm64),
            environment_id: format!("{:016x}", i / 1000),
            invocation_seq: i % 1000 + 1,
            cold,
            request_id: format!("{:08x}-0000-4000-8000-{:012x}", i >> 32, i),
            source,
            cache,
            multi: None,
            secrets: None,
            cache_ttl_ms: (cache != CacheMode::None).then_some(300_000),
            ignore_transient_errors: None,
            single_flight: None,
            max_concurrency: None,
            worker: None,
            fetch_at: FetchAt::Handler,
            snapstart: None,
            sdk_retry: Some(RetrySettings {
                mode: "standard".into(),
                max_attempts: 3,
                attempt_timeout_ms: None,
            }),
            init,
            fetches: vec![fetch],
            handler_duration_ns: handler_ns,
            probe_version: "0.1.0".into(),
            initialization_type: Some(InitializationType::OnDemand),
            probe_build: None,
            prewarm: None,
            cpu_work: None,
            runtime: None,
            runtime_version: None,
            libraries: Default::default(),
        };
        let duration_ms = handler_ns as f64 / 1e6 + 0.3;
        let record = InvocationRecord {
            run_schema_version: RUN_SCHEMA_VERSION,
            run_id: "bench-run".into(),
            stage: "bench".into(),
            scenario: name.into(),
            phase: if cold { Phase::Cold } else { Phase::Warm },
            index: i,
            round: None,
            outcome: InvocationOutcome::Ok,
            error_type: None,
            status_code: Some(200),
            intended_send_unix_ms: 1_795_900_000_000 + i,
            caller_latency_ns: handler_ns + 1_500_000,
            caller_service_ns: handler_ns + 1_400_000,
            schedule_slip_ns: None,
            executed_version: Some("$LATEST".into()),
            platform: Some(PlatformReport {
                request_id: Some(format!("{:08x}-0000-4000-8000-{:012x}", i >> 32, i)),
                duration_ms: Some((duration_ms * 100.0).round() / 100.0),
                billed_duration_ms: Some(duration_ms.ceil() as u64),
                memory_size_mb: Some(128),
                max_memory_used_mb: Some(19),
                init_duration_ms: cold.then_some(12.5),
                restore_duration_ms: None,
                billed_restore_duration_ms: None,
                status: None,
                error_type: None,
            }),
            init_report: None,
            probe: Some(probe),
            environment_usage: None,
            proactive: false,
        };
        serde_json::to_writer(&mut out, &record)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}
