//! The experiment plan: a TOML file of scenarios (the probe's environment plus the traffic
//! shape), read strictly (`deny_unknown_fields`) and resolved against its `[defaults]` into
//! the list of scenarios the runner executes. Every error names the file and the field.

use crate::{CacheMode, FetchAt, MultiMode, Source};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Why a plan cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The file could not be read: check the path.
    #[error("cannot read plan {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Not valid TOML, an unknown field or a wrong type; the message gives line and field.
    #[error("plan {}: {message}", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The parser's message, with line, column and field.
        message: String,
    },
    /// A value is out of range or a combination cannot work: fix the named field.
    #[error("plan {}: {field}: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Where, e.g. `scenario[2] (ssm-ttl).cache_ttl`.
        field: String,
        /// What is wrong.
        message: String,
    },
}

/// One memory size or a sweep over several (`memory_mb = 128` or `memory_mb = [128, 1769]`):
/// a sweep expands a scenario into one per size, named `<name>-<size>mb`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum MemorySizes {
    /// One size.
    One(u32),
    /// A sweep.
    Sweep(Vec<u32>),
}

impl MemorySizes {
    fn sizes(&self) -> Vec<u32> {
        match self {
            MemorySizes::One(m) => vec![*m],
            MemorySizes::Sweep(v) => v.clone(),
        }
    }
}

/// `[network]`: what the local stage's front puts between the functions and the emulator.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkSpec {
    /// TLS 1.3 to the endpoints (default true).
    pub tls: Option<bool>,
    /// Round trip added to every request, e.g. `1ms` (default 0).
    pub rtt: Option<String>,
    /// Added once per new connection (default: two round trips, TCP's and TLS 1.3's).
    pub connection_setup: Option<String>,
}

/// `[local]`: how the local platform models Lambda's execution environment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalSpec {
    /// Give each environment Lambda's CPU share and memory limit and freeze it between
    /// invocations (default true; where cgroups cannot be written the stage says so and runs
    /// unconstrained).
    pub constrain: Option<bool>,
    /// The CPU quota period (default [`DEFAULT_CPU_PERIOD`], with its source).
    pub cpu_period: Option<String>,
}

/// `[network]` with its defaults applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    /// TLS 1.3 to the endpoints.
    pub tls: bool,
    /// Added per request.
    pub rtt: Duration,
    /// Added per new connection.
    pub connection_setup: Duration,
}

/// `[local]` with its defaults applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Local {
    /// Constrain CPU and memory and freeze.
    pub constrain: bool,
    /// The quota period.
    pub cpu_period: Duration,
}

/// The default quota period. Observed on Lambda: using more than the share in the first 20 ms
/// pauses the function until the end of those 20 ms (pwrdrvr/lambda-dispatch issue 246,
/// measured with pwrdrvr/lambda-throttling, 2024-2025). The kernel's default of 100 ms would let
/// a 128 MB function's 7.2 ms of quota cover a whole cold start unthrottled.
pub const DEFAULT_CPU_PERIOD: Duration = Duration::from_millis(20);

/// `[scenario.rotation]` as written: when to write a new value during the warm phase.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotationSpec {
    /// The first rotation, from the start of the warm phase (default: `every`).
    pub at: Option<String>,
    /// Rotate again this long after each rotation, while the warm phase lasts (open loop
    /// only: every new value's digest is given to the probe before the scenario starts, so
    /// their number must be known).
    pub every: Option<String>,
}

/// A scenario's rotations, checked: offsets from the start of its warm phase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    /// When each rotation is due, from the start of the warm phase, in order.
    pub offsets: Vec<Duration>,
}

/// The most rotations one scenario may plan.
pub const MAX_ROTATIONS: usize = 100;

/// The longest TTL the Parameters and Secrets extension takes (`SECRETS_MANAGER_TTL`,
/// `SSM_PARAMETER_STORE_TTL`: 0 to 300 seconds; AWS, "Use Secrets Manager secrets in Lambda
/// functions", environment variables of the extension).
pub const AGENT_MAX_TTL: Duration = Duration::from_secs(300);

/// Traffic settings a scenario may take from `[defaults]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Traffic {
    /// Fresh execution environments per scenario.
    pub cold_starts: Option<u64>,
    /// Invocations in the warm phase.
    pub warm_invocations: Option<u64>,
    /// In-flight invocations at most.
    pub concurrency: Option<u64>,
    /// Open-loop arrival rate (`50/s`, `600/m`); absent means closed loop.
    pub rate: Option<String>,
    /// Fetches per invocation.
    pub fetches: Option<u32>,
    /// Function memory, or a sweep (AWS: `MemorySize`; local: the CPU quota and memory
    /// limit).
    pub memory_mb: Option<MemorySizes>,
    /// Function timeout, e.g. `30s`.
    pub timeout: Option<String>,
}

/// One `[[scenario]]` as written. Its traffic fields repeat `Traffic`'s rather than
/// `#[serde(flatten)]` it, because serde does not support `flatten` with `deny_unknown_fields`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioSpec {
    /// Unique name.
    pub name: String,
    /// The probe's source.
    pub source: Source,
    /// The probe's cache mode (default `none`).
    #[serde(default = "cache_none")]
    pub cache: CacheMode,
    /// TTL for `ttl` and `aws-caching-library`, e.g. `5m`.
    pub cache_ttl: Option<String>,
    /// `init` or `handler` (default).
    #[serde(default = "fetch_handler")]
    pub fetch_at: FetchAt,
    /// Attach the Parameters and Secrets extension layer (default: for the agent sources).
    pub extension: Option<bool>,
    /// Cold starts (overrides `[defaults]`).
    pub cold_starts: Option<u64>,
    /// Warm invocations (overrides `[defaults]`).
    pub warm_invocations: Option<u64>,
    /// In-flight limit (overrides `[defaults]`).
    pub concurrency: Option<u64>,
    /// Open-loop rate (overrides `[defaults]`).
    pub rate: Option<String>,
    /// Fetches per invocation (overrides `[defaults]`).
    pub fetches: Option<u32>,
    /// Memory in MB, or a sweep (overrides `[defaults]`).
    pub memory_mb: Option<MemorySizes>,
    /// Function timeout (overrides `[defaults]`).
    pub timeout: Option<String>,
    /// Faults the local stage's proxy injects while this scenario runs (local stage only).
    pub faults: Option<crate::faults::FaultSpec>,
    /// Rotate the value during the warm phase (`[scenario.rotation] at = "20s"`).
    pub rotation: Option<RotationSpec>,
    /// Secrets per fetch, or a sweep (`secrets = [1, 3, 10]` runs the scenario per count,
    /// named `<name>-n<count>`); default 1.
    pub secrets: Option<MemorySizes>,
    /// How several secrets are read: `sequential` (default), `concurrent`, `batch`, `bundle`.
    pub multi: Option<MultiMode>,
    /// The agent's TTL for the agent sources (`SECRETS_MANAGER_TTL` and
    /// `SSM_PARAMETER_STORE_TTL` of the extension, whole seconds, at most 300 s; default 300 s).
    pub agent_ttl: Option<String>,
    /// AWS: the function this scenario drives instead of the plan's (memory can be swept by
    /// configuration, architecture cannot: deploy one function per architecture and name
    /// each here). The local stage has one function.
    pub function: Option<String>,
}

impl ScenarioSpec {
    /// The traffic settings written on this scenario.
    fn traffic(&self) -> Traffic {
        Traffic {
            cold_starts: self.cold_starts,
            warm_invocations: self.warm_invocations,
            concurrency: self.concurrency,
            rate: self.rate.clone(),
            fetches: self.fetches,
            memory_mb: self.memory_mb.clone(),
            timeout: self.timeout.clone(),
        }
    }
}

fn cache_none() -> CacheMode {
    CacheMode::None
}

fn fetch_handler() -> FetchAt {
    FetchAt::Handler
}

/// The plan file as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanFile {
    /// `local` or an AWS stage name (`dev`, `prod`, ...).
    pub stage: Option<String>,
    /// AWS region.
    pub region: Option<String>,
    /// The function to drive (AWS; the local stage names its own).
    pub function: Option<String>,
    /// ARN of the Parameters and Secrets extension layer for this region and architecture.
    pub extension_layer_arn: Option<String>,
    /// Defaults for every scenario.
    #[serde(default)]
    pub defaults: Traffic,
    /// The local stage's network (ignored on AWS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<NetworkSpec>,
    /// The local stage's execution environments (ignored on AWS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local: Option<LocalSpec>,
    /// The scenarios, in order.
    #[serde(default, rename = "scenario")]
    pub scenarios: Vec<ScenarioSpec>,
}

/// Arrivals: open loop at a rate, or closed loop.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Arrival {
    /// Send at this many invocations per second, whatever the responses do.
    Open {
        /// Invocations per second.
        per_second: f64,
    },
    /// Keep `concurrency` invocations in flight.
    Closed,
}

/// A scenario with every default applied and every value checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// Name.
    pub name: String,
    /// Source.
    pub source: Source,
    /// Cache mode.
    pub cache: CacheMode,
    /// TTL, for the cache modes that take one.
    pub cache_ttl: Option<Duration>,
    /// The TTL as written (passed to the probe unchanged).
    pub cache_ttl_text: Option<String>,
    /// When the probe fetches.
    pub fetch_at: FetchAt,
    /// Whether the extension layer is attached.
    pub extension: bool,
    /// Cold starts to collect.
    pub cold_starts: u64,
    /// Warm invocations to send.
    pub warm_invocations: u64,
    /// In-flight limit.
    pub concurrency: u64,
    /// Arrival process of the warm phase.
    pub arrival: Arrival,
    /// Fetches per invocation.
    pub fetches: u32,
    /// Memory in MB.
    pub memory_mb: u32,
    /// The scenario's name as written, when a memory sweep expanded it (its name then ends in
    /// `-<memory_mb>mb`).
    pub swept_from: Option<String>,
    /// Function timeout.
    pub timeout: Duration,
    /// Faults injected on the local stage while it runs.
    pub faults: Option<crate::faults::Faults>,
    /// The function it drives, when not the plan's.
    pub function: Option<String>,
    /// Rotations during the warm phase.
    pub rotation: Option<Rotation>,
    /// The agent's TTL (agent sources only).
    pub agent_ttl: Option<Duration>,
    /// Secrets per fetch.
    pub secrets: u32,
    /// How they are read, when set (always set for more than one).
    pub multi: Option<MultiMode>,
}

impl Scenario {
    /// The TTL that bounds how long this scenario can serve a value after it changed: the
    /// probe's cache TTL, or the agent's; `None` when nothing expires (no cache, or a fetch at
    /// INIT kept for the life of the environment).
    pub fn effective_ttl(&self) -> Option<Duration> {
        if self.source.is_agent() {
            self.agent_ttl
        } else {
            self.cache_ttl
        }
    }

    /// Invocations this scenario plans.
    pub fn planned(&self) -> u64 {
        self.cold_starts + self.warm_invocations
    }
}

/// A checked plan.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The file it came from.
    pub path: PathBuf,
    /// As written, for the manifest.
    pub file: PlanFile,
    /// Resolved scenarios.
    pub scenarios: Vec<Scenario>,
    /// The local stage's network.
    pub network: Network,
    /// The local stage's execution environments.
    pub local: Local,
}

/// Parses a rate such as `50/s`, `600/m` or `7200/h` into invocations per second.
pub fn parse_rate(text: &str) -> Result<f64, String> {
    let (count, unit) = text
        .split_once('/')
        .ok_or_else(|| format!("`{text}` is not a rate like 50/s, 600/m or 7200/h"))?;
    let count: f64 = count
        .trim()
        .parse()
        .map_err(|_| format!("`{count}` in `{text}` is not a number"))?;
    let per = match unit.trim() {
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        other => return Err(format!("unit `{other}` in `{text}` is not s, m or h")),
    };
    if !(count.is_finite() && count > 0.0) {
        return Err(format!("`{text}`: the rate must be positive"));
    }
    Ok(count / per)
}

/// Parses a duration such as `5s`, `5m`, `250ms`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    crate::duration::parse(text).map_err(|e| e.to_string())
}

/// Checks `[scenario.rotation]` against the warm phase it happens in.
fn resolve_rotation(
    r: &RotationSpec,
    warm_invocations: u64,
    arrival: Arrival,
) -> Result<Rotation, (&'static str, String)> {
    let parse = |field: &'static str, t: &Option<String>| match t {
        None => Ok(None),
        Some(text) => parse_duration(text).map(Some).map_err(|m| (field, m)),
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

/// The most invocations one scenario may plan: a guard against a typo of a few zeros.
pub const MAX_INVOCATIONS: u64 = 100_000_000;

impl Plan {
    /// Reads and checks a plan file.
    pub fn load(path: &Path) -> Result<Plan, PlanError> {
        let text = std::fs::read_to_string(path).map_err(|source| PlanError::Io {
            path: path.to_owned(),
            source,
        })?;
        Plan::parse(path, &text)
    }

    /// Parses and checks plan text.
    pub fn parse(path: &Path, text: &str) -> Result<Plan, PlanError> {
        let file: PlanFile = toml::from_str(text).map_err(|e| PlanError::Syntax {
            path: path.to_owned(),
            message: e.to_string().trim_end().to_owned(),
        })?;
        Plan::from_file(path, file)
    }

    /// Checks a parsed plan and applies its defaults.
    pub fn from_file(path: &Path, file: PlanFile) -> Result<Plan, PlanError> {
        let invalid = |field: String, message: String| PlanError::Invalid {
            path: path.to_owned(),
            field,
            message,
        };
        if let Some(stage) = &file.stage {
            crate::names::check("stage", stage)
                .map_err(|e| invalid("stage".into(), e.to_string()))?;
        }
        if file.scenarios.is_empty() {
            return Err(invalid(
                "scenario".into(),
                "the plan has no [[scenario]]".into(),
            ));
        }
        let mut scenarios = Vec::new();
        for (i, spec) in file.scenarios.iter().enumerate() {
            let at = |field: &str| format!("scenario[{i}] ({}).{field}", spec.name);
            crate::names::check("scenario", &spec.name)
                .map_err(|e| invalid(at("name"), e.to_string()))?;
            if file.scenarios[..i].iter().any(|s| s.name == spec.name) {
                return Err(invalid(at("name"), "two scenarios have this name".into()));
            }
            crate::check_combination(spec.source, spec.cache, spec.fetch_at)
                .map_err(|why| invalid(at("cache"), why))?;
            let (cache_ttl, cache_ttl_text) = match (spec.cache, &spec.cache_ttl) {
                (CacheMode::None, Some(_)) => {
                    return Err(invalid(
                        at("cache_ttl"),
                        "cache = none caches nothing; remove cache_ttl or set a cache".into(),
                    ))
                }
                (CacheMode::None, None) => (None, None),
                (_, None) => {
                    return Err(invalid(
                        at("cache_ttl"),
                        format!("required with cache = {}", spec.cache),
                    ))
                }
                (_, Some(text)) => {
                    let d = parse_duration(text).map_err(|m| invalid(at("cache_ttl"), m))?;
                    if d.is_zero() {
                        return Err(invalid(at("cache_ttl"), "must be more than zero".into()));
                    }
                    (Some(d), Some(text.clone()))
                }
            };
            let t = &spec.traffic();
            let d = &file.defaults;
            let pick =
                |field: &str, own: Option<u64>, default: Option<u64>, fallback: u64, min: u64| {
                    let v = own.or(default).unwrap_or(fallback);
                    if v < min || v > MAX_INVOCATIONS {
                        Err(invalid(
                            at(field),
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
                return Err(invalid(
                    at("concurrency"),
                    format!("{concurrency} is more than 1000"),
                ));
            }
            let arrival = match t.rate.as_ref().or(d.rate.as_ref()) {
                Some(r) => Arrival::Open {
                    per_second: parse_rate(r).map_err(|m| invalid(at("rate"), m))?,
                },
                None => Arrival::Closed,
            };
            let fetches = t.fetches.or(d.fetches).unwrap_or(1);
            if fetches == 0 || fetches > 10_000 {
                return Err(invalid(
                    at("fetches"),
                    format!("{fetches} is outside 1..=10000"),
                ));
            }
            let sizes = t
                .memory_mb
                .as_ref()
                .or(d.memory_mb.as_ref())
                .map_or_else(|| vec![128], MemorySizes::sizes);
            if sizes.is_empty() {
                return Err(invalid(at("memory_mb"), "the sweep is empty".into()));
            }
            for (j, m) in sizes.iter().enumerate() {
                if !(128..=10_240).contains(m) {
                    return Err(invalid(
                        at("memory_mb"),
                        format!("{m} is outside Lambda's 128..=10240 MB"),
                    ));
                }
                if sizes[..j].contains(m) {
                    return Err(invalid(at("memory_mb"), format!("{m} is listed twice")));
                }
            }
            let timeout = match t.timeout.as_ref().or(d.timeout.as_ref()) {
                Some(text) => parse_duration(text).map_err(|m| invalid(at("timeout"), m))?,
                None => Duration::from_secs(30),
            };
            if timeout < Duration::from_secs(1) || timeout > Duration::from_secs(900) {
                return Err(invalid(at("timeout"), "Lambda allows 1s to 900s".into()));
            }
            let faults = match &spec.faults {
                None => None,
                Some(f) => Some(
                    f.resolve()
                        .map_err(|(field, m)| invalid(at(&format!("faults.{field}")), m))?,
                ),
            };
            if spec
                .function
                .as_deref()
                .is_some_and(|f| f.trim().is_empty())
            {
                return Err(invalid(at("function"), "is empty".into()));
            }
            let agent_ttl = match (&spec.agent_ttl, spec.source.is_agent()) {
                (None, true) => Some(AGENT_MAX_TTL),
                (None, false) => None,
                (Some(_), false) => {
                    return Err(invalid(
                        at("agent_ttl"),
                        format!(
                            "source = {} uses no agent; set cache_ttl for the probe's cache",
                            spec.source
                        ),
                    ))
                }
                (Some(text), true) => {
                    let d = parse_duration(text).map_err(|m| invalid(at("agent_ttl"), m))?;
                    if d > AGENT_MAX_TTL || d.subsec_nanos() != 0 {
                        return Err(invalid(
                            at("agent_ttl"),
                            "the extension takes whole seconds from 0s to 300s".into(),
                        ));
                    }
                    Some(d)
                }
            };
            let rotation = match &spec.rotation {
                None => None,
                Some(r) => Some(
                    resolve_rotation(r, warm_invocations, arrival)
                        .map_err(|(field, m)| invalid(at(&format!("rotation.{field}")), m))?,
                ),
            };
            let counts = spec
                .secrets
                .as_ref()
                .map_or_else(|| vec![1], MemorySizes::sizes);
            if counts.is_empty() {
                return Err(invalid(at("secrets"), "the sweep is empty".into()));
            }
            for (j, n) in counts.iter().enumerate() {
                if counts[..j].contains(n) {
                    return Err(invalid(at("secrets"), format!("{n} is listed twice")));
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
                        .map_err(|why| invalid(at("secrets"), why))?;
                }
                if spec.rotation.is_some() {
                    return Err(invalid(
                        at("rotation"),
                        "a rotation writes one value; measure rotations with one secret per fetch"
                            .into(),
                    ));
                }
            }
            if cold_starts + warm_invocations == 0 {
                return Err(invalid(
                    at("warm_invocations"),
                    "the scenario plans no invocation".into(),
                ));
            }
            for (secrets, memory_mb) in counts
                .iter()
                .flat_map(|n| sizes.iter().map(move |m| (*n, *m)))
            {
                let mut name = spec.name.clone();
                if counts.len() > 1 {
                    name.push_str(&format!("-n{secrets}"));
                }
                if sizes.len() > 1 {
                    name.push_str(&format!("-{memory_mb}mb"));
                }
                let swept_from = (counts.len() > 1 || sizes.len() > 1).then(|| spec.name.clone());
                if swept_from.is_some() {
                    crate::names::check("scenario", &name)
                        .map_err(|e| invalid(at("memory_mb"), e.to_string()))?;
                }
                scenarios.push(Scenario {
                    name,
                    swept_from,
                    source: spec.source,
                    cache: spec.cache,
                    cache_ttl,
                    cache_ttl_text: cache_ttl_text.clone(),
                    fetch_at: spec.fetch_at,
                    extension: spec.extension.unwrap_or(spec.source.is_agent()),
                    cold_starts,
                    warm_invocations,
                    concurrency,
                    arrival,
                    fetches,
                    memory_mb,
                    timeout,
                    faults: faults.clone(),
                    function: spec.function.clone(),
                    rotation: rotation.clone(),
                    agent_ttl,
                    secrets,
                    multi,
                });
            }
        }
        for (i, s) in scenarios.iter().enumerate() {
            if scenarios[..i].iter().any(|o| o.name == s.name) {
                return Err(invalid(
                    format!("scenario ({})", s.name),
                    "two scenarios have this name after the memory sweep".into(),
                ));
            }
        }
        let n = file.network.clone().unwrap_or_default();
        let duration = |field: &str, text: &Option<String>, default: Duration| match text {
            Some(t) => parse_duration(t).map_err(|m| invalid(field.into(), m)),
            None => Ok(default),
        };
        let rtt = duration("network.rtt", &n.rtt, Duration::ZERO)?;
        let network = Network {
            tls: n.tls.unwrap_or(true),
            rtt,
            connection_setup: duration("network.connection_setup", &n.connection_setup, rtt * 2)?,
        };
        let l = file.local.clone().unwrap_or_default();
        let cpu_period = duration("local.cpu_period", &l.cpu_period, DEFAULT_CPU_PERIOD)?;
        if !(Duration::from_millis(1)..=Duration::from_secs(1)).contains(&cpu_period) {
            return Err(invalid(
                "local.cpu_period".into(),
                "the kernel takes 1ms to 1s".into(),
            ));
        }
        let local = Local {
            constrain: l.constrain.unwrap_or(true),
            cpu_period,
        };
        Ok(Plan {
            path: path.to_owned(),
            file,
            scenarios,
            network,
            local,
        })
    }

    /// Whether any scenario injects faults (which only the local stage can do).
    pub fn has_faults(&self) -> bool {
        self.scenarios.iter().any(|s| s.faults.is_some())
    }

    /// The longest function timeout of any scenario (the caller's timeout must exceed it).
    pub fn longest_timeout(&self) -> Duration {
        self.scenarios
            .iter()
            .map(|s| s.timeout)
            .max()
            .unwrap_or(Duration::from_secs(30))
    }

    /// Invocations the whole plan sends.
    pub fn planned(&self) -> u64 {
        self.scenarios.iter().map(Scenario::planned).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/plans")
            .join(name)
    }

    #[test]
    fn valid_fixtures_load() {
        for name in ["issue-example.toml", "minimal.toml"] {
            let plan = Plan::load(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(!plan.scenarios.is_empty(), "{name}");
        }
        let plan = Plan::load(&fixture("issue-example.toml")).expect("valid");
        let s = &plan.scenarios[0];
        assert_eq!(
            (s.cold_starts, s.warm_invocations, s.concurrency),
            (50, 1000, 10)
        );
        assert_eq!(s.arrival, Arrival::Open { per_second: 50.0 });
        assert_eq!(s.cache_ttl, Some(Duration::from_secs(300)));
        assert_eq!(plan.file.function.as_deref(), Some("secbench-probe-dev"));
    }

    #[test]
    fn the_shipped_plans_load() {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/plans");
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).expect("scripts/plans") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "toml") {
                Plan::load(&path).unwrap_or_else(|e| panic!("{e}"));
                seen += 1;
            }
        }
        assert!(seen > 0);
    }

    #[test]
    fn invalid_fixtures_name_the_problem() {
        let cases = [
            ("unknown-field.toml", "colds_starts"),
            ("wrong-type.toml", "concurrency"),
            ("bad-rate.toml", "rate"),
            ("ttl-without-cache.toml", "cache_ttl"),
            ("library-with-ssm.toml", "Secrets Manager only"),
            ("agent-at-init.toml", "INVOKE phase"),
            ("missing-ttl.toml", "cache_ttl"),
            ("duplicate-name.toml", "two scenarios"),
            ("no-scenarios.toml", "no [[scenario]]"),
            ("huge-count.toml", "warm_invocations"),
            ("bad-source.toml", "source"),
            ("zero-concurrency.toml", "concurrency"),
        ];
        for (name, expected) in cases {
            let err = Plan::load(&fixture(name)).expect_err(name).to_string();
            assert!(err.contains(expected), "{name}: {err}");
            assert!(
                err.contains(name),
                "{name}: the error does not name the file: {err}"
            );
        }
    }

    #[test]
    fn a_memory_sweep_expands_each_scenario_per_size() {
        let plan = Plan::load(&fixture("memory-sweep.toml")).expect("valid");
        let names: Vec<(&str, u32)> = plan
            .scenarios
            .iter()
            .map(|s| (s.name.as_str(), s.memory_mb))
            .collect();
        assert_eq!(
            names,
            [
                ("ssm-none-128mb", 128),
                ("ssm-none-1769mb", 1769),
                ("kms-one-size", 512)
            ]
        );
        assert_eq!(plan.scenarios[0].swept_from.as_deref(), Some("ssm-none"));
        assert_eq!(plan.scenarios[2].swept_from, None);
        assert_eq!(
            plan.network,
            Network {
                tls: true,
                rtt: Duration::from_millis(1),
                connection_setup: Duration::from_millis(2)
            }
        );
        assert_eq!(plan.local.cpu_period, Duration::from_millis(20));
        let err = Plan::parse(
            Path::new("sweep.toml"),
            "[[scenario]]\nname = \"a\"\nsource = \"ssm\"\nmemory_mb = [128, 64]\n",
        )
        .expect_err("64 MB")
        .to_string();
        assert!(err.contains("memory_mb") && err.contains("64"), "{err}");
    }

    #[test]
    fn rotations_resolve_inside_the_warm_phase() {
        let plan = Plan::load(&fixture("rotation.toml")).expect("valid");
        let by_name = |n: &str| plan.scenarios.iter().find(|s| s.name == n).expect(n);
        let ms = |v: &[u64]| {
            v.iter()
                .map(|m| Duration::from_millis(*m))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            by_name("ssm-ttl")
                .rotation
                .as_ref()
                .map(|r| r.offsets.clone()),
            Some(ms(&[2000]))
        );
        // 1000 invocations at 200/s: a 5 s warm phase holds rotations at 1, 2.5 and 4 s.
        assert_eq!(
            by_name("secrets-manager")
                .rotation
                .as_ref()
                .map(|r| r.offsets.clone()),
            Some(ms(&[1000, 2500, 4000]))
        );
        assert_eq!(by_name("agent").agent_ttl, Some(Duration::from_secs(5)));
        assert_eq!(
            by_name("agent").effective_ttl(),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            by_name("ssm-ttl").effective_ttl(),
            Some(Duration::from_secs(5))
        );
        let bad = |body: &str| {
            Plan::parse(Path::new("rot.toml"), body)
                .expect_err(body)
                .to_string()
        };
        let head = "[defaults]\nwarm_invocations = 1000\nrate = \"200/s\"\n[[scenario]]\nname = \"a\"\nsource = \"ssm\"\n";
        let e = bad(&format!("{head}[scenario.rotation]\nat = \"6s\"\n"));
        assert!(
            e.contains("rotation.at") && e.contains("not inside the warm phase"),
            "{e}"
        );
        let e = bad(&format!("{head}[scenario.rotation]\n"));
        assert!(e.contains("rotation.at"), "{e}");
        let e = bad(
            "[[scenario]]\nname = \"a\"\nsource = \"ssm\"\n[scenario.rotation]\nevery = \"1s\"\n",
        );
        assert!(
            e.contains("rotation.every") && e.contains("open-loop"),
            "{e}"
        );
        let e = bad(&format!("{head}agent_ttl = \"5s\"\n"));
        assert!(e.contains("agent_ttl") && e.contains("no agent"), "{e}");
        let e = bad(
            "[[scenario]]\nname = \"a\"\nsource = \"agent-secrets-manager\"\nagent_ttl = \"10m\"\n",
        );
        assert!(e.contains("agent_ttl") && e.contains("300s"), "{e}");
    }

    #[test]
    fn a_secrets_sweep_expands_per_count_and_checks_each_mode() {
        let plan = Plan::parse(
            Path::new("multi.toml"),
            "[[scenario]]\nname = \"sm\"\nsource = \"secrets-manager\"\nmulti = \"batch\"\nsecrets = [1, 3]\nmemory_mb = [128, 1769]\n[[scenario]]\nname = \"ssm\"\nsource = \"ssm\"\nsecrets = 3\n",
        )
        .expect("valid");
        let names: Vec<(&str, u32, Option<MultiMode>)> = plan
            .scenarios
            .iter()
            .map(|s| (s.name.as_str(), s.secrets, s.multi))
            .collect();
        assert_eq!(
            names,
            [
                ("sm-n1-128mb", 1, Some(MultiMode::Batch)),
                ("sm-n1-1769mb", 1, Some(MultiMode::Batch)),
                ("sm-n3-128mb", 3, Some(MultiMode::Batch)),
                ("sm-n3-1769mb", 3, Some(MultiMode::Batch)),
                ("ssm", 3, Some(MultiMode::Sequential)),
            ]
        );
        let bad = |body: &str| {
            Plan::parse(Path::new("multi.toml"), body)
                .expect_err(body)
                .to_string()
        };
        let e = bad("[[scenario]]\nname = \"a\"\nsource = \"kms-env\"\nsecrets = 3\n");
        assert!(e.contains("secrets") && e.contains("kms-env"), "{e}");
        let e = bad("[[scenario]]\nname = \"a\"\nsource = \"agent-secrets-manager\"\nmulti = \"batch\"\nsecrets = 3\n");
        assert!(e.contains("one secret per request"), "{e}");
        let e = bad("[[scenario]]\nname = \"a\"\nsource = \"ssm\"\nsecrets = 21\n");
        assert!(e.contains("1 to 20"), "{e}");
    }

    #[test]
    fn rates_parse() {
        assert_eq!(parse_rate("50/s"), Ok(50.0));
        assert_eq!(parse_rate("600/m"), Ok(10.0));
        assert!(parse_rate("50").is_err());
        assert!(parse_rate("-1/s").is_err());
        assert!(parse_rate("5/d").is_err());
    }
}
