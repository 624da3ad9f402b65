//! From the plan as written ([`super::spec`]) to the checked [`super::resolved::ResolvedPlan`]: one small
//! function per field group (cache, traffic, memory, rotation, agent, several secrets, the
//! sweep, network, local), each returning the field it checked with its error, and
//! [`resolve`] putting them together. As ripgrep keeps its flags as written apart from the
//! flags resolved.

use super::resolved::{
    parse_duration, parse_rate, Arrival, Local, Network, PlanError, ResolvedPlan, Rotation,
    Scenario, AGENT_MAX_TTL, CPU_CALIBRATION_ROUNDS, DEFAULT_CPU_PERIOD, MAX_INVOCATIONS,
    MAX_ROTATIONS,
};
use super::spec::{MemorySizes, PlanFile, RotationSpec, ScenarioSpec, Traffic};
use crate::{
    CacheMode, ConcurrencyMode, FetchAt, InitCpu, MultiMode, Prewarm, ProbeBuild, Runtime,
    ScenarioKind, Source,
};
use std::path::Path;
use std::time::Duration;

/// A field's problem: (field, message), named in the error with the file and the scenario.
type Fault = (String, String);

/// A field's problem from a typed parse error.
fn fault_of(field: &str, error: impl std::fmt::Display) -> Fault {
    fault(field, error.to_string())
}

fn fault(field: &str, message: impl Into<String>) -> Fault {
    (field.to_owned(), message.into())
}

/// The plan's scenarios (after the sweeps), network and local stage, checked.
pub fn resolve(path: &Path, file: &PlanFile) -> Result<ResolvedPlan, PlanError> {
    let invalid = |(field, message): Fault| PlanError::Invalid {
        path: path.to_owned(),
        field,
        message,
    };
    if let Some(stage) = &file.stage {
        crate::names::check("stage", stage).map_err(|e| invalid(fault("stage", e.to_string())))?;
    }
    if file.scenarios.is_empty() {
        return Err(invalid(fault("scenario", "the plan has no [[scenario]]")));
    }
    let mut scenarios = Vec::new();
    for (i, spec) in file.scenarios.iter().enumerate() {
        let at = |(field, message): Fault| {
            invalid((format!("scenario[{i}] ({}).{field}", spec.name), message))
        };
        if file.scenarios[..i].iter().any(|s| s.name == spec.name) {
            return Err(at(fault("name", "two scenarios have this name")));
        }
        scenarios.extend(scenario(spec, &file.defaults).map_err(at)?);
    }
    for (i, s) in scenarios.iter().enumerate() {
        if scenarios[..i].iter().any(|o| o.name == s.name) {
            return Err(invalid(fault(
                &format!("scenario ({})", s.name),
                "two scenarios have this name after the memory sweep",
            )));
        }
    }
    let local = local(file).map_err(invalid)?;
    quota_floor(&scenarios, &local).map_err(invalid)?;
    Ok(ResolvedPlan {
        scenarios,
        network: network(file).map_err(invalid)?,
        local,
        service_time_from: file
            .network
            .as_ref()
            .and_then(|n| n.service_time_from.clone()),
    })
}

/// One `[[scenario]]`: every scenario it expands into (one per secrets count × memory size).
fn scenario(spec: &ScenarioSpec, defaults: &Traffic) -> Result<Vec<Scenario>, Fault> {
    crate::names::check("scenario", &spec.name).map_err(|e| fault("name", e.to_string()))?;
    crate::check_combination(spec.source, spec.cache, spec.fetch_at)
        .map_err(|why| fault("cache", why))?;
    let cache_ttl = cache_ttl(spec)?;
    let t = traffic(&spec.traffic(), defaults)?;
    let faults = match &spec.faults {
        None => None,
        Some(f) => Some(
            f.resolve()
                .map_err(|(field, m)| fault(&format!("faults.{field}"), m))?,
        ),
    };
    if spec
        .function
        .as_deref()
        .is_some_and(|f| f.trim().is_empty())
    {
        return Err(fault("function", "is empty"));
    }
    let agent_ttl = agent_ttl(spec)?;
    let rotation = match &spec.rotation {
        None => None,
        Some(r) => Some(
            rotation(r, t.warm_invocations, t.arrival)
                .map_err(|(field, m)| fault(&format!("rotation.{field}"), m))?,
        ),
    };
    let (counts, multi) = secrets(spec)?;
    let v = variant(spec)?;
    let runtimes = runtimes(spec, multi)?;
    let transient = runtimes
        .iter()
        .map(|r| ignore_transient_errors(spec, *r))
        .collect::<Result<Vec<_>, _>>()?;
    let max_stale = max_stale(spec, transient.contains(&Some(true)))?;
    if spec.single_flight.is_some()
        && (spec.cache != CacheMode::Ttl
            || runtimes
                .iter()
                .any(|r| r.language() == crate::Language::Python))
    {
        return Err(fault(
            "single_flight",
            "single flight is the ttl cache's setting in the Rust and Node.js probes (cache = ttl; a Python process serves one invocation at a time)",
        ));
    }
    let managed = managed_instances(spec, &t, v.concurrency_mode)?;
    let snapstart = snapstart(spec, &runtimes, managed.is_some(), v.concurrency_mode)?;
    if t.cold_starts + t.warm_invocations == 0 {
        return Err(fault(
            "warm_invocations",
            "the scenario plans no invocation",
        ));
    }
    let mut out = Vec::new();
    for runtime in &runtimes {
        for secrets in &counts {
            for memory_mb in &t.sizes {
                let mut name = spec.name.clone();
                if runtimes.len() > 1 {
                    name.push_str(&format!("-{}", runtime.short()));
                }
                if counts.len() > 1 {
                    name.push_str(&format!("-n{secrets}"));
                }
                if t.sizes.len() > 1 {
                    name.push_str(&format!("-{memory_mb}mb"));
                }
                let swept = runtimes.len() > 1 || counts.len() > 1 || t.sizes.len() > 1;
                let swept_from = swept.then(|| spec.name.clone());
                if swept_from.is_some() {
                    crate::names::check("scenario", &name)
                        .map_err(|e| fault("memory_mb", e.to_string()))?;
                }
                out.push(Scenario {
                    name,
                    swept_from,
                    source: spec.source,
                    cache: spec.cache,
                    cache_ttl,
                    fetch_at: spec.fetch_at,
                    extension: spec.extension.unwrap_or(spec.source.is_agent()),
                    cold_starts: t.cold_starts,
                    warm_invocations: t.warm_invocations,
                    concurrency: t.concurrency,
                    arrival: t.arrival,
                    fetches: t.fetches,
                    memory_mb: *memory_mb,
                    timeout: t.timeout,
                    faults: faults.clone(),
                    function: spec.function.clone(),
                    rotation: rotation.clone(),
                    agent_ttl,
                    secrets: *secrets,
                    multi,
                    kind: v.kind,
                    concurrency_mode: match (&managed, snapstart) {
                        (Some(_), _) => ConcurrencyMode::ManagedInstances,
                        (None, true) => ConcurrencyMode::SnapStart,
                        (None, false) => v.concurrency_mode,
                    },
                    prewarm: spec.prewarm,
                    probe_build: v.probe_build,
                    cpu_rounds: v.cpu_rounds,
                    runtime: *runtime,
                    ignore_transient_errors: transient
                        [runtimes.iter().position(|r| r == runtime).unwrap_or(0)],
                    max_stale,
                    single_flight: spec.single_flight,
                    managed_instances: managed,
                });
            }
        }
    }
    Ok(out)
}

/// `execution = "managed-instances"` with its shape, checked against what Lambda Managed
/// Instances allow (every runtime the probes run in supports them: Rust on provided.al2023,
/// Node.js 22+, Python 3.13+).
fn managed_instances(
    spec: &ScenarioSpec,
    t: &ResolvedTraffic,
    mode: ConcurrencyMode,
) -> Result<Option<crate::lambda::ManagedInstances>, Fault> {
    use crate::lambda::{
        ManagedInstances, MANAGED_MAX_CONCURRENCY, MANAGED_MEMORY_GIB_PER_VCPU,
        MANAGED_MIN_MEMORY_MB,
    };
    if mode == ConcurrencyMode::ManagedInstances {
        return Err(fault(
            "concurrency_mode",
            "Lambda Managed Instances are a scenario's execution: write execution = \"managed-instances\"",
        ));
    }
    if spec.execution != Some(crate::Execution::ManagedInstances) {
        for (field, set) in [
            ("max_concurrency", spec.max_concurrency.is_some()),
            ("memory_gib_per_vcpu", spec.memory_gib_per_vcpu.is_some()),
        ] {
            if set {
                return Err(fault(
                    field,
                    "is a Lambda Managed Instances setting: add execution = \"managed-instances\"",
                ));
            }
        }
        return Ok(None);
    }
    if mode == ConcurrencyMode::Provisioned {
        return Err(fault(
            "concurrency_mode",
            "Lambda Managed Instances start their environments before traffic: provisioned concurrency does not apply",
        ));
    }
    if t.cold_starts > 0 {
        return Err(fault(
            "cold_starts",
            "Lambda Managed Instances have no cold starts (environments start when the version is published): set cold_starts = 0 and measure INIT with execution = \"on-demand\"",
        ));
    }
    let Some(max_concurrency) = spec.max_concurrency else {
        return Err(fault(
            "max_concurrency",
            "is required with execution = \"managed-instances\" (PerExecutionEnvironmentMaxConcurrency: AWS's default is 16 per vCPU for Python and 64 per vCPU for Node.js)",
        ));
    };
    if !MANAGED_MAX_CONCURRENCY.contains(&max_concurrency) {
        return Err(fault("max_concurrency", "must be between 1 and 1600"));
    }
    let memory_gib_per_vcpu = spec
        .memory_gib_per_vcpu
        .unwrap_or(*MANAGED_MEMORY_GIB_PER_VCPU.start());
    if !MANAGED_MEMORY_GIB_PER_VCPU.contains(&memory_gib_per_vcpu) {
        return Err(fault("memory_gib_per_vcpu", "must be between 2 and 8"));
    }
    let m = ManagedInstances {
        max_concurrency,
        memory_gib_per_vcpu,
    };
    for memory_mb in &t.sizes {
        let vcpus = m.vcpus(*memory_mb);
        if *memory_mb < MANAGED_MIN_MEMORY_MB || vcpus < 1.0 || vcpus.fract() != 0.0 {
            return Err(fault(
                "memory_mb",
                format!("{memory_mb} MB at {memory_gib_per_vcpu} GiB per vCPU is {vcpus:.2} vCPUs: Lambda Managed Instances need at least {MANAGED_MIN_MEMORY_MB} MB and a whole number of vCPUs"),
            ));
        }
    }
    Ok(Some(m))
}

/// `snapstart = true`, checked against what SnapStart supports ("Improving startup performance
/// with Lambda SnapStart": Java 11+, Python 3.12+ and .NET 8+; published versions only; not with
/// provisioned concurrency), and `fetch_at = "restore"`, which needs it.
fn snapstart(
    spec: &ScenarioSpec,
    runtimes: &[Runtime],
    managed: bool,
    mode: ConcurrencyMode,
) -> Result<bool, Fault> {
    if mode == ConcurrencyMode::SnapStart {
        return Err(fault(
            "concurrency_mode",
            "SnapStart is a scenario's setting: write snapstart = true",
        ));
    }
    let on = spec.snapstart == Some(true);
    if !on {
        if spec.fetch_at == FetchAt::Restore {
            return Err(fault(
                "fetch_at",
                "restore fetches in SnapStart's after-restore hook: add snapstart = true",
            ));
        }
        return Ok(false);
    }
    if let Some(r) = runtimes
        .iter()
        .find(|r| r.language() != crate::Language::Python)
    {
        return Err(fault(
            "runtime",
            format!("{r}: Lambda SnapStart supports Java 11 and later, Python 3.12 and later and .NET 8 and later (\"Improving startup performance with Lambda SnapStart\"), not Node.js or the OS-only runtime the Rust probe runs on; run it with runtime = \"python3.13\""),
        ));
    }
    if mode == ConcurrencyMode::Provisioned {
        return Err(fault(
            "concurrency_mode",
            "SnapStart cannot be used with provisioned concurrency",
        ));
    }
    if managed {
        return Err(fault(
            "execution",
            "Lambda Managed Instances start their environments at publish and have no SnapStart",
        ));
    }
    Ok(true)
}

/// `runtime`: the runtimes the scenario runs in, each able to run it.
fn runtimes(spec: &ScenarioSpec, multi: Option<MultiMode>) -> Result<Vec<Runtime>, Fault> {
    let list = spec
        .runtime
        .as_ref()
        .map_or_else(|| vec![Runtime::Rust], super::spec::Runtimes::list);
    if list.is_empty() {
        return Err(fault("runtime", "the sweep is empty"));
    }
    for (j, r) in list.iter().enumerate() {
        if list[..j].contains(r) {
            return Err(fault("runtime", format!("{r} is listed twice")));
        }
        if !r.has_cache(spec.cache) {
            return Err(fault(
                "cache",
                format!(
                    "cache = {} is not one of runtime {r}'s caches ({})",
                    spec.cache,
                    CacheMode::ALL
                        .iter()
                        .filter(|c| r.has_cache(**c))
                        .map(|c| c.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        if *r == Runtime::Rust {
            continue;
        }
        let rust_only = if spec.kind == Some(ScenarioKind::CpuCalibration) {
            Some("kind = \"cpu-calibration\"")
        } else if spec.prewarm.is_some() {
            Some("prewarm")
        } else if spec.probe_build.is_some_and(|b| b != ProbeBuild::Default) {
            Some("probe_build")
        } else if multi.is_some_and(|m| matches!(m, MultiMode::Concurrent | MultiMode::Bundle)) {
            Some("multi = concurrent or bundle")
        } else {
            None
        };
        if let Some(what) = rust_only {
            return Err(fault(
                "runtime",
                format!("{what} is measured by the Rust probe only; runtime {r} cannot run it"),
            ));
        }
    }
    Ok(list)
}

/// `cache_ttl`: required with a cache, refused without one.
fn cache_ttl(spec: &ScenarioSpec) -> Result<Option<Duration>, Fault> {
    match (spec.cache, &spec.cache_ttl) {
        // Powertools' own default `max_age` (5 s) when the plan sets none.
        (CacheMode::Powertools, None) => Ok(None),
        (CacheMode::None, Some(_)) => Err(fault(
            "cache_ttl",
            "cache = none caches nothing; remove cache_ttl or set a cache",
        )),
        (CacheMode::None, None) => Ok(None),
        (_, None) => Err(fault(
            "cache_ttl",
            format!("required with cache = {}", spec.cache),
        )),
        (_, Some(text)) => {
            let d = parse_duration(text).map_err(|m| fault_of("cache_ttl", m))?;
            if d.is_zero() {
                return Err(fault("cache_ttl", "must be more than zero"));
            }
            if spec.cache == CacheMode::Powertools && d.subsec_nanos() != 0 {
                return Err(fault(
                    "cache_ttl",
                    "Powertools takes max_age in whole seconds (e.g. 5s, 1m)",
                ));
            }
            Ok(Some(d))
        }
    }
}

/// A scenario's traffic with `[defaults]` applied.
struct ResolvedTraffic {
    cold_starts: u64,
    warm_invocations: u64,
    concurrency: u64,
    arrival: Arrival,
    fetches: u32,
    sizes: Vec<u32>,
    timeout: Duration,
}

fn traffic(t: &Traffic, d: &Traffic) -> Result<ResolvedTraffic, Fault> {
    let pick = |field: &str, own: Option<u64>, default: Option<u64>, fallback: u64, min: u64| {
        let v = own.or(default).unwrap_or(fallback);
        if v < min || v > MAX_INVOCATIONS {
            Err(fault(
                field,
                format!("{v} is outside {min}..={MAX_INVOCATIONS}"),
            ))
        } else {
            Ok(v)
        }
    };
    let cold_starts = pick("cold_starts", t.cold_starts, d.cold_starts, 10, 0)?;
    let warm_invocations = pick(
        "warm_invocations",
        t.warm_invocations,
        d.warm_invocations,
        100,
        0,
    )?;
    let concurrency = pick("concurrency", t.concurrency, d.concurrency, 1, 1)?;
    if concurrency > 1000 {
        return Err(fault(
            "concurrency",
            format!("{concurrency} is more than 1000"),
        ));
    }
    let arrival = match t.rate.as_ref().or(d.rate.as_ref()) {
        Some(r) => Arrival::Open {
            per_second: parse_rate(r).map_err(|m| fault_of("rate", m))?,
        },
        None => Arrival::Closed,
    };
    let fetches = t.fetches.or(d.fetches).unwrap_or(1);
    if fetches == 0 || fetches > 10_000 {
        return Err(fault("fetches", format!("{fetches} is outside 1..=10000")));
    }
    let sizes = memory(t.memory_mb.as_ref().or(d.memory_mb.as_ref()))?;
    let timeout = match t.timeout.as_ref().or(d.timeout.as_ref()) {
        Some(text) => parse_duration(text).map_err(|m| fault_of("timeout", m))?,
        None => Duration::from_secs(30),
    };
    if !crate::lambda::timeout_allowed(timeout) {
        return Err(fault(
            "timeout",
            format!(
                "Lambda allows {} to {}",
                crate::duration::format(crate::lambda::MIN_TIMEOUT),
                crate::duration::format(crate::lambda::MAX_TIMEOUT)
            ),
        ));
    }
    Ok(ResolvedTraffic {
        cold_starts,
        warm_invocations,
        concurrency,
        arrival,
        fetches,
        sizes,
        timeout,
    })
}

/// `memory_mb`: one size or a sweep, each one Lambda allows, none twice.
fn memory(m: Option<&MemorySizes>) -> Result<Vec<u32>, Fault> {
    let sizes = m.map_or_else(|| vec![128], MemorySizes::list);
    if sizes.is_empty() {
        return Err(fault("memory_mb", "the sweep is empty"));
    }
    for (j, m) in sizes.iter().enumerate() {
        if !crate::lambda::memory_allowed(*m) {
            return Err(fault(
                "memory_mb",
                format!(
                    "{m} is outside Lambda's {}..={} MB",
                    crate::lambda::MEMORY_MB.start(),
                    crate::lambda::MEMORY_MB.end()
                ),
            ));
        }
        if sizes[..j].contains(m) {
            return Err(fault("memory_mb", format!("{m} is listed twice")));
        }
    }
    Ok(sizes)
}

/// `agent_ttl`: the extension's TTL for the agent sources (default its cap).
fn agent_ttl(spec: &ScenarioSpec) -> Result<Option<Duration>, Fault> {
    match (&spec.agent_ttl, spec.source.is_agent()) {
        (None, true) => Ok(Some(AGENT_MAX_TTL)),
        (None, false) => Ok(None),
        (Some(_), false) => Err(fault(
            "agent_ttl",
            format!(
                "source = {} uses no agent; set cache_ttl for the probe's cache",
                spec.source
            ),
        )),
        (Some(text), true) => {
            let d = parse_duration(text).map_err(|m| fault_of("agent_ttl", m))?;
            if d > AGENT_MAX_TTL || d.subsec_nanos() != 0 {
                return Err(fault(
                    "agent_ttl",
                    "the extension takes whole seconds from 0s to 300s",
                ));
            }
            Ok(Some(d))
        }
    }
}

/// `ignore_transient_errors`: where something is cached (the probe's `ttl` or
/// `aws-caching-library`, or the agent), default `true` (the agent's default:
/// `aws_workload_credentials_provider_common` 3.1.2, `ignore_transient_errors: true`);
/// refused where nothing is cached, and `false` refused for the Python caching library, which
/// serves its last value on any failed refresh and has no switch.
fn ignore_transient_errors(spec: &ScenarioSpec, runtime: Runtime) -> Result<Option<bool>, Fault> {
    let cached = matches!(spec.cache, CacheMode::Ttl | CacheMode::AwsCachingLibrary)
        || spec.source.is_agent();
    match (cached, spec.ignore_transient_errors) {
        (false, None) => Ok(None),
        (false, Some(_)) => Err(fault(
            "ignore_transient_errors",
            format!(
                "cache = {} with source = {} keeps no value to serve when a refresh fails; \
                 set cache = ttl or aws-caching-library, or use an agent source",
                spec.cache, spec.source
            ),
        )),
        (true, Some(false))
            if runtime.language() == crate::Language::Python
                && spec.cache == CacheMode::AwsCachingLibrary =>
        {
            Err(fault(
                "ignore_transient_errors",
                "Python's aws-secretsmanager-caching serves its last value on any failed \
                 refresh and has no switch; remove the field for this runtime",
            ))
        }
        (true, set) => Ok(Some(set.unwrap_or(true))),
    }
}

/// `max_stale`: for `cache = ttl` serving stale, default [`super::resolved::DEFAULT_MAX_STALE`].
fn max_stale(spec: &ScenarioSpec, serves_stale: bool) -> Result<Option<Duration>, Fault> {
    let ttl = spec.cache == CacheMode::Ttl && serves_stale;
    match (&spec.max_stale, ttl) {
        (None, true) => Ok(Some(super::resolved::DEFAULT_MAX_STALE)),
        (None, false) => Ok(None),
        (Some(_), false) => Err(fault(
            "max_stale",
            "only cache = ttl with ignore_transient_errors = true serves stale values for a \
             bounded time",
        )),
        (Some(text), true) => {
            let d = parse_duration(text).map_err(|m| fault_of("max_stale", m))?;
            if d.is_zero() {
                return Err(fault("max_stale", "must be more than zero"));
            }
            Ok(Some(d))
        }
    }
}

/// `secrets` and `multi`: the counts swept and how they are read.
fn secrets(spec: &ScenarioSpec) -> Result<(Vec<u32>, Option<MultiMode>), Fault> {
    let counts = spec
        .secrets
        .as_ref()
        .map_or_else(|| vec![1], MemorySizes::list);
    if counts.is_empty() {
        return Err(fault("secrets", "the sweep is empty"));
    }
    for (j, n) in counts.iter().enumerate() {
        if counts[..j].contains(n) {
            return Err(fault("secrets", format!("{n} is listed twice")));
        }
    }
    let multi = match (spec.multi, counts.iter().any(|n| *n > 1)) {
        (Some(m), _) => Some(m),
        (None, true) => Some(MultiMode::Sequential),
        (None, false) => None,
    };
    if let Some(mode) = multi {
        for n in &counts {
            crate::check_multi(spec.source, spec.cache, mode, *n as usize)
                .map_err(|why| fault("secrets", why))?;
        }
        if spec.rotation.is_some() {
            return Err(fault(
                "rotation",
                "a rotation writes one value; measure rotations with one secret per fetch",
            ));
        }
    }
    Ok((counts, multi))
}

/// What kind of scenario, how its environments start, what INIT prewarms, which build.
struct Variant {
    kind: ScenarioKind,
    concurrency_mode: ConcurrencyMode,
    probe_build: ProbeBuild,
    cpu_rounds: Option<u32>,
}

/// `kind`, `concurrency_mode`, `prewarm`, `probe_build` and `cpu_rounds`, and the combinations
/// that cannot work.
fn variant(spec: &ScenarioSpec) -> Result<Variant, Fault> {
    let kind = spec.kind.unwrap_or(ScenarioKind::Fetch);
    let concurrency_mode = spec.concurrency_mode.unwrap_or(ConcurrencyMode::OnDemand);
    let cpu_rounds = match (kind, spec.cpu_rounds) {
        (ScenarioKind::Fetch, Some(_)) => {
            return Err(fault(
                "cpu_rounds",
                "only a kind = \"cpu-calibration\" scenario runs the CPU workload",
            ))
        }
        (ScenarioKind::Fetch, None) => None,
        (ScenarioKind::CpuCalibration, Some(0)) => {
            return Err(fault("cpu_rounds", "must be more than zero"))
        }
        (ScenarioKind::CpuCalibration, r) => Some(r.unwrap_or(CPU_CALIBRATION_ROUNDS)),
    };
    if kind == ScenarioKind::CpuCalibration {
        let fetching = spec.source != Source::PlainEnv
            || spec.cache != CacheMode::None
            || spec.fetch_at != FetchAt::Handler
            || spec.rotation.is_some()
            || spec.secrets.is_some()
            || spec.faults.is_some()
            || spec.prewarm.is_some();
        if fetching {
            return Err(fault(
                "kind",
                "a cpu-calibration scenario fetches nothing: give it source = \"plain-env\" and no cache, fetch_at, rotation, secrets, faults or prewarm",
            ));
        }
    }
    match spec.prewarm {
        Some(_) if spec.fetch_at == FetchAt::Init => {
            return Err(fault(
                "prewarm",
                "fetch_at = init already makes the first fetch at INIT; prewarm is for a fetch in the handler",
            ))
        }
        Some(Prewarm::Connection) if !matches!(spec.source, Source::Ssm | Source::SecretsManager) => {
            return Err(fault(
                "prewarm",
                format!(
                    "source = {}: only ssm and secrets-manager have a call that opens the connection without doing the fetch (GetParameter without decryption, DescribeSecret); use prewarm = \"entropy\"",
                    spec.source
                ),
            ))
        }
        Some(_) if spec.secrets.is_some() => {
            return Err(fault(
                "prewarm",
                "prewarm is measured with one secret per fetch",
            ))
        }
        Some(Prewarm::Connection) if spec.cache == CacheMode::AwsCachingLibrary => {
            return Err(fault(
                "prewarm",
                "the caching library builds its own client, whose connection a prewarm cannot open; use prewarm = \"entropy\"",
            ))
        }
        _ => {}
    }
    Ok(Variant {
        kind,
        concurrency_mode,
        probe_build: spec.probe_build.unwrap_or(ProbeBuild::Default),
        cpu_rounds,
    })
}

/// `[scenario.rotation]`, checked against the warm phase it happens in.
pub(super) fn rotation(
    r: &RotationSpec,
    warm_invocations: u64,
    arrival: Arrival,
) -> Result<Rotation, (&'static str, String)> {
    let parse = |field: &'static str, t: &Option<String>| match t {
        None => Ok(None),
        Some(text) => parse_duration(text)
            .map(Some)
            .map_err(|m| (field, m.to_string())),
    };
    let at = parse("at", &r.at)?;
    let every = parse("every", &r.every)?;
    if warm_invocations == 0 {
        return Err((
            "at",
            "the scenario has no warm phase to rotate in (warm_invocations = 0)".into(),
        ));
    }
    let warm = match arrival {
        Arrival::Open { per_second } => Some(Duration::from_secs_f64(
            warm_invocations as f64 / per_second,
        )),
        Arrival::Closed => None,
    };
    let first = match (at, every) {
        (None, None) => return Err(("at", "give `at`, `every` or both".into())),
        (Some(a), _) => a,
        (None, Some(e)) => e,
    };
    let mut offsets = vec![first];
    if let Some(every) = every {
        if every.is_zero() {
            return Err(("every", "must be more than zero".into()));
        }
        let Some(warm) = warm else {
            return Err((
                "every",
                "needs an open-loop `rate`: every new value's digest is given to the probe before the scenario starts, so the number of rotations must be known".into(),
            ));
        };
        while let Some(next) = offsets.last().map(|l| *l + every).filter(|n| *n < warm) {
            if offsets.len() >= MAX_ROTATIONS {
                return Err((
                    "every",
                    format!("more than {MAX_ROTATIONS} rotations in the warm phase"),
                ));
            }
            offsets.push(next);
        }
    }
    if let Some(warm) = warm {
        if first >= warm {
            return Err((
                if at.is_some() { "at" } else { "every" },
                format!(
                    "{} is not inside the warm phase ({} invocations at the rate last {})",
                    crate::duration::format(first),
                    warm_invocations,
                    crate::duration::format(warm)
                ),
            ));
        }
    }
    Ok(Rotation { offsets })
}

fn duration(field: &str, text: &Option<String>, default: Duration) -> Result<Duration, Fault> {
    match text {
        Some(t) => parse_duration(t).map_err(|m| fault_of(field, m)),
        None => Ok(default),
    }
}

/// `[network]` with its defaults.
fn network(file: &PlanFile) -> Result<Network, Fault> {
    let n = file.network.clone().unwrap_or_default();
    let tls = n.tls.unwrap_or(true);
    let rtt = duration("network.rtt", &n.rtt, Duration::ZERO)?;
    let idle = duration(
        "network.idle_timeout",
        &n.idle_timeout,
        super::resolved::DEFAULT_IDLE_TIMEOUT,
    )?;
    Ok(Network {
        tls,
        rtt,
        connection_setup: duration(
            "network.connection_setup",
            &n.connection_setup,
            Network::default_connection_setup(tls, rtt),
        )?,
        idle_timeout: (!idle.is_zero()).then_some(idle),
    })
}

/// The kernel raises a quota below 1 ms per period to 1 ms, which would give the smallest
/// memory size more CPU than its share while every output reports the share: refused, naming
/// the smallest period at which it is written as asked.
fn quota_floor(scenarios: &[Scenario], local: &Local) -> Result<(), Fault> {
    if !local.constrain {
        return Ok(());
    }
    let Some(smallest) = scenarios.iter().map(|s| s.memory_mb).min() else {
        return Ok(());
    };
    let share = crate::lambda::cpu_share(smallest);
    let period_us = local.cpu_period.as_micros() as f64;
    let quota_us = (period_us * share).round();
    if quota_us < MIN_QUOTA_US {
        let needed = Duration::from_micros((MIN_QUOTA_US / share).ceil() as u64);
        return Err(fault(
            "local.cpu_period",
            format!(
                "at {smallest} MB the quota would be {quota_us:.0} µs per {:?} period, below the kernel's 1 ms minimum (the kernel would give {smallest} MB {:.3} of a CPU instead of {share:.3}); use a cpu_period of at least {needed:?}",
                local.cpu_period,
                MIN_QUOTA_US / period_us
            ),
        ));
    }
    Ok(())
}

/// The kernel's smallest CPU quota per period (`cpu.cfs_quota_us`, `cpu.max`), µs.
pub const MIN_QUOTA_US: f64 = 1000.0;

/// `[local]` with its defaults.
fn local(file: &PlanFile) -> Result<Local, Fault> {
    let l = file.local.clone().unwrap_or_default();
    let cpu_period = duration("local.cpu_period", &l.cpu_period, DEFAULT_CPU_PERIOD)?;
    if !(Duration::from_millis(1)..=Duration::from_secs(1)).contains(&cpu_period) {
        return Err(fault("local.cpu_period", "the kernel takes 1ms to 1s"));
    }
    Ok(Local {
        constrain: l.constrain.unwrap_or(true),
        cpu_period,
        init_cpu: l.init_cpu.unwrap_or(InitCpu::Boosted),
    })
}
