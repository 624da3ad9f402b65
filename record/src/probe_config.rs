//! The probe's configuration as its function's environment variables: the one place every
//! `SECBENCH_*` name (and the extension's variables the probe and the platform read) is
//! spelled. The runner, provisioning and the local stage build a [`ProbeConfig`] and write it
//! into the function's variables with [`ProbeConfig::apply`]; the probe reads it back with
//! [`ProbeConfig::from_vars`], each value typed and each error naming its variable. What the
//! values mean together (which source needs which target, which combinations are refused) is
//! the probe's to check (`bench-lambda/src/settings.rs`), and the plan's.

use crate::{CacheMode, FetchAt, MultiMode, Prewarm, Source};
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// The variable names, each spelled once.
pub mod var {
    /// Where the probe gets its secret from ([`crate::Source`]).
    pub const SOURCE: &str = "SECBENCH_SOURCE";
    /// The probe's cache mode ([`crate::CacheMode`]).
    pub const CACHE: &str = "SECBENCH_CACHE";
    /// The TTL of `ttl` and `aws-caching-library` (`5m`, `250ms`).
    pub const CACHE_TTL: &str = "SECBENCH_CACHE_TTL";
    /// `init` or `handler` ([`crate::FetchAt`]).
    pub const FETCH_AT: &str = "SECBENCH_FETCH_AT";
    /// The stage name echoed into records.
    pub const STAGE: &str = "SECBENCH_STAGE";
    /// The value itself, for `plain-env` (the zero-cost baseline keeps it in the configuration
    /// by design).
    pub const PLAINTEXT: &str = "SECBENCH_PLAINTEXT";
    /// Base64 KMS ciphertext, for `kms-env`.
    pub const CIPHERTEXT: &str = "SECBENCH_CIPHERTEXT";
    /// `k1=v1,k2=v2` or `LambdaFunctionName`.
    pub const KMS_ENCRYPTION_CONTEXT: &str = "SECBENCH_KMS_ENCRYPTION_CONTEXT";
    /// Optional key id for `Decrypt`.
    pub const KMS_KEY_ID: &str = "SECBENCH_KMS_KEY_ID";
    /// The SecureString parameter.
    pub const PARAMETER_NAME: &str = "SECBENCH_PARAMETER_NAME";
    /// The secret.
    pub const SECRET_ID: &str = "SECBENCH_SECRET_ID";
    /// Several secrets per fetch ([`crate::MultiMode`]).
    pub const MULTI: &str = "SECBENCH_MULTI";
    /// The N secrets (comma-separated).
    pub const SECRET_IDS: &str = "SECBENCH_SECRET_IDS";
    /// The N parameters (comma-separated).
    pub const PARAMETER_NAMES: &str = "SECBENCH_PARAMETER_NAMES";
    /// The N keys of a bundle's JSON object (comma-separated).
    pub const BUNDLE_KEYS: &str = "SECBENCH_BUNDLE_KEYS";
    /// The digests the value may have (`old,new,...` around a rotation).
    pub const EXPECTED_SHA256: &str = "SECBENCH_EXPECTED_SHA256";
    /// One digest per value of a several-secrets fetch.
    pub const EXPECTED_SHA256S: &str = "SECBENCH_EXPECTED_SHA256S";
    /// `true` or `false`: whether a cache serves the value it holds when a refresh fails with
    /// a transient error (a timeout, a broken connection, HTTP 5xx), as the caching library's
    /// and the agent's `ignore_transient_errors` (for `ttl`, `aws-caching-library` and, on the
    /// local stage, the agent).
    pub const IGNORE_TRANSIENT_ERRORS: &str = "SECBENCH_IGNORE_TRANSIENT_ERRORS";
    /// How old a `ttl` cache's value may be and still be served after a failed refresh
    /// (`1h`).
    pub const CACHE_MAX_STALE: &str = "SECBENCH_CACHE_MAX_STALE";
    /// `true` or `false`: whether the `ttl` cache coalesces concurrent misses into one fetch
    /// (single flight) when an environment serves several invocations at once.
    pub const SINGLE_FLIGHT: &str = "SECBENCH_SINGLE_FLIGHT";
    /// The SDK's time limit per attempt.
    pub const SDK_ATTEMPT_TIMEOUT: &str = "SECBENCH_SDK_ATTEMPT_TIMEOUT";
    /// A tag the runner changes to force a configuration change (which retires every
    /// execution environment); the probe ignores its value.
    pub const CONFIG_ROUND: &str = "SECBENCH_CONFIG_ROUND";
    /// The extension's (and the agent's) port.
    pub const AGENT_PORT: &str = "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT";
    /// The extension's Secrets Manager cache TTL, whole seconds.
    pub const AGENT_SECRETS_MANAGER_TTL: &str = "SECRETS_MANAGER_TTL";
    /// The extension's Parameter Store cache TTL, whole seconds.
    pub const AGENT_SSM_TTL: &str = "SSM_PARAMETER_STORE_TTL";

    /// Instead of fetching, time this many rounds of the fixed CPU workload at INIT and in
    /// each invocation (a `cpu-calibration` scenario).
    pub const CPU_CALIBRATION_ROUNDS: &str = "SECBENCH_CPU_CALIBRATION_ROUNDS";

    /// Every name [`super::ProbeConfig`] reads and writes.
    pub const ALL: [&str; 27] = [
        SOURCE,
        CACHE,
        CACHE_TTL,
        IGNORE_TRANSIENT_ERRORS,
        CACHE_MAX_STALE,
        SINGLE_FLIGHT,
        FETCH_AT,
        STAGE,
        PLAINTEXT,
        CIPHERTEXT,
        KMS_ENCRYPTION_CONTEXT,
        KMS_KEY_ID,
        PARAMETER_NAME,
        SECRET_ID,
        MULTI,
        SECRET_IDS,
        PARAMETER_NAMES,
        BUNDLE_KEYS,
        EXPECTED_SHA256,
        EXPECTED_SHA256S,
        SDK_ATTEMPT_TIMEOUT,
        CONFIG_ROUND,
        AGENT_PORT,
        AGENT_SECRETS_MANAGER_TTL,
        AGENT_SSM_TTL,
        PREWARM,
        CPU_CALIBRATION_ROUNDS,
    ];

    /// What the probe does at INIT to take a cold fetch's one-time costs out of the handler
    /// ([`crate::Prewarm`]).
    pub const PREWARM: &str = "SECBENCH_PREWARM";
}

/// The argument that makes the probe binary measure the crypto library's first randomness,
/// print it as one JSON line and exit (the local stage runs it per memory size and build).
pub const MEASURE_ENTROPY_ARG: &str = "--measure-entropy";

/// The argument that makes the probe binary run the fixed CPU workload of a `cpu-calibration`
/// scenario and exit ([`CpuWorkRequest`] spells the rest).
pub const MEASURE_CPU_WORK_ARG: &str = "--measure-cpu-work";

/// `bench-lambda --measure-cpu-work ROUNDS REPEATS`: the fixed CPU workload of a
/// `cpu-calibration` scenario, `repeats` times in one process, one run right after another (as
/// a busy warm environment runs one invocation after another), each run's `CpuWork` printed
/// as one JSON line. The local stage runs it unconstrained (what the workload costs on this
/// CPU) and in a cgroup under a candidate share (what it takes there).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuWorkRequest {
    /// Rounds of the workload per run.
    pub rounds: u32,
    /// Runs.
    pub repeats: u32,
}

impl CpuWorkRequest {
    /// The arguments, [`MEASURE_CPU_WORK_ARG`] first.
    pub fn args(&self) -> [String; 3] {
        [
            MEASURE_CPU_WORK_ARG.to_owned(),
            self.rounds.to_string(),
            self.repeats.to_string(),
        ]
    }

    /// Reads the arguments after [`MEASURE_CPU_WORK_ARG`]; `None` when the first is not it.
    pub fn from_args<I, S>(args: I) -> Option<Result<CpuWorkRequest, CpuWorkArgsError>>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut args = args.into_iter();
        if args.next()?.as_ref() != MEASURE_CPU_WORK_ARG {
            return None;
        }
        let mut next = |what: &'static str| -> Result<u32, CpuWorkArgsError> {
            let a = args.next().ok_or(CpuWorkArgsError::Missing(what))?;
            let text = a.as_ref().to_string_lossy();
            text.parse::<u32>()
                .map_err(|error| CpuWorkArgsError::NotANumber {
                    what,
                    text: text.into_owned(),
                    error,
                })
        };
        Some((|| {
            Ok(CpuWorkRequest {
                rounds: next("ROUNDS")?,
                repeats: next("REPEATS")?,
            })
        })())
    }
}

/// Why the arguments of [`MEASURE_CPU_WORK_ARG`] do not read: give ROUNDS and REPEATS as
/// whole numbers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CpuWorkArgsError {
    /// An argument is missing.
    #[error("{MEASURE_CPU_WORK_ARG}: {0} is missing")]
    Missing(&'static str),
    /// An argument is not a whole number.
    #[error("{MEASURE_CPU_WORK_ARG}: {what} {text:?}: {error}")]
    NotANumber {
        /// Which argument.
        what: &'static str,
        /// As given.
        text: String,
        /// Why it does not read.
        error: std::num::ParseIntError,
    },
}

/// Why a SHA-256 digest does not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    /// Not 64 characters.
    #[error("a SHA-256 is 64 hex digits, this is {0} characters")]
    Length(usize),
    /// A character is not a hex digit.
    #[error("not hex")]
    NotHex,
}

/// A variable that does not read; the message never holds the value (it may be secret).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("environment variable {var} is invalid: {reason}")]
pub struct ConfigError {
    /// The variable.
    pub var: &'static str,
    /// What is wrong with it.
    pub reason: String,
}

/// A SHA-256 digest, written as 64 hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(pub [u8; 32]);

impl Digest {
    /// Reads 64 hex digits.
    pub fn from_hex(text: &str) -> Result<Digest, DigestError> {
        let text = text.trim();
        if text.len() != 64 {
            return Err(DigestError::Length(text.len()));
        }
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte =
                u8::from_str_radix(&text[2 * i..2 * i + 2], 16).map_err(|_| DigestError::NotHex)?;
        }
        Ok(Digest(out))
    }

    /// The 64 hex digits.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({})", self.to_hex())
    }
}

/// A value that must never be shown: `Debug` prints its length only.
#[derive(Clone, PartialEq, Eq)]
pub struct Plaintext(pub String);

impl fmt::Debug for Plaintext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Plaintext({} bytes, not shown)", self.0.len())
    }
}

/// `SECBENCH_KMS_ENCRYPTION_CONTEXT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EncryptionContext {
    /// `LambdaFunctionName`: bound to the function's name, as Lambda's console helper does.
    LambdaFunctionName,
    /// `k1=v1,k2=v2`.
    Pairs(BTreeMap<String, String>),
}

/// The probe's configuration. Every field is optional here (a function's variables may hold
/// any part of it); the probe decides what its source needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProbeConfig {
    /// [`var::SOURCE`].
    pub source: Option<Source>,
    /// [`var::CACHE`].
    pub cache: Option<CacheMode>,
    /// [`var::CACHE_TTL`].
    pub cache_ttl: Option<Duration>,
    /// [`var::IGNORE_TRANSIENT_ERRORS`].
    pub ignore_transient_errors: Option<bool>,
    /// [`var::CACHE_MAX_STALE`].
    pub cache_max_stale: Option<Duration>,
    /// [`var::SINGLE_FLIGHT`].
    pub single_flight: Option<bool>,
    /// [`var::FETCH_AT`].
    pub fetch_at: Option<FetchAt>,
    /// [`var::STAGE`].
    pub stage: Option<String>,
    /// [`var::PLAINTEXT`].
    pub plaintext: Option<Plaintext>,
    /// [`var::CIPHERTEXT`], as written (base64: the probe decodes it and names the variable
    /// when it does not decode).
    pub ciphertext_b64: Option<String>,
    /// [`var::KMS_ENCRYPTION_CONTEXT`].
    pub kms_encryption_context: Option<EncryptionContext>,
    /// [`var::KMS_KEY_ID`].
    pub kms_key_id: Option<String>,
    /// [`var::PARAMETER_NAME`].
    pub parameter_name: Option<String>,
    /// [`var::SECRET_ID`].
    pub secret_id: Option<String>,
    /// [`var::MULTI`].
    pub multi: Option<MultiMode>,
    /// [`var::SECRET_IDS`].
    pub secret_ids: Option<Vec<String>>,
    /// [`var::PARAMETER_NAMES`].
    pub parameter_names: Option<Vec<String>>,
    /// [`var::BUNDLE_KEYS`].
    pub bundle_keys: Option<Vec<String>>,
    /// [`var::EXPECTED_SHA256`].
    pub expected_sha256: Option<Vec<Digest>>,
    /// [`var::EXPECTED_SHA256S`].
    pub expected_sha256s: Option<Vec<Digest>>,
    /// [`var::SDK_ATTEMPT_TIMEOUT`].
    pub sdk_attempt_timeout: Option<Duration>,
    /// [`var::CONFIG_ROUND`].
    pub config_round: Option<String>,
    /// [`var::AGENT_PORT`].
    pub agent_port: Option<u16>,
    /// [`var::AGENT_SECRETS_MANAGER_TTL`] and [`var::AGENT_SSM_TTL`] (written both; read from
    /// the first).
    pub agent_ttl: Option<Duration>,
    /// [`var::PREWARM`].
    pub prewarm: Option<Prewarm>,
    /// [`var::CPU_CALIBRATION_ROUNDS`].
    pub cpu_calibration_rounds: Option<u32>,
}

fn invalid(var: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        var,
        reason: reason.into(),
    }
}

fn list(text: &str, var: &'static str) -> Result<Vec<String>, ConfigError> {
    let items: Vec<String> = text.split(',').map(|s| s.trim().to_owned()).collect();
    if items.iter().any(String::is_empty) {
        return Err(invalid(
            var,
            "an entry of the comma-separated list is empty",
        ));
    }
    Ok(items)
}

fn digests(text: &str, var: &'static str) -> Result<Vec<Digest>, ConfigError> {
    text.split(',')
        .map(|t| {
            Digest::from_hex(t).map_err(|why| {
                invalid(
                    var,
                    format!("each entry is a hex SHA-256 (64 digits): {why}"),
                )
            })
        })
        .collect()
}

fn closed<T: std::str::FromStr<Err = crate::UnknownName>>(
    text: &str,
    var: &'static str,
) -> Result<T, ConfigError> {
    text.parse()
        .map_err(|e: crate::UnknownName| invalid(var, e.to_string()))
}

fn duration(text: &str, var: &'static str) -> Result<Duration, ConfigError> {
    crate::duration::parse(text).map_err(|e| invalid(var, e.to_string()))
}

fn join(items: &[String]) -> String {
    items.join(",")
}

fn join_digests(d: &[Digest]) -> String {
    d.iter().map(Digest::to_hex).collect::<Vec<_>>().join(",")
}

impl ProbeConfig {
    /// Reads the configuration from variables (`get` returns a variable's value; an empty
    /// value counts as unset). Each error names its variable and never holds the value.
    pub fn from_vars<'a>(
        get: impl Fn(&str) -> Option<&'a str>,
    ) -> Result<ProbeConfig, ConfigError> {
        let get = |name: &str| get(name).filter(|v| !v.is_empty());
        let owned = |name: &str| get(name).map(str::to_owned);
        let agent_ttl = match get(var::AGENT_SECRETS_MANAGER_TTL) {
            None => None,
            Some(t) => Some(Duration::from_secs(t.trim().parse().map_err(|_| {
                invalid(var::AGENT_SECRETS_MANAGER_TTL, "whole seconds (0 to 300)")
            })?)),
        };
        Ok(ProbeConfig {
            source: get(var::SOURCE)
                .map(|t| closed(t, var::SOURCE))
                .transpose()?,
            cache: get(var::CACHE).map(|t| closed(t, var::CACHE)).transpose()?,
            cache_ttl: get(var::CACHE_TTL)
                .map(|t| duration(t, var::CACHE_TTL))
                .transpose()?,
            ignore_transient_errors: get(var::IGNORE_TRANSIENT_ERRORS)
                .map(|t| boolean(t, var::IGNORE_TRANSIENT_ERRORS))
                .transpose()?,
            cache_max_stale: get(var::CACHE_MAX_STALE)
                .map(|t| duration(t, var::CACHE_MAX_STALE))
                .transpose()?,
            single_flight: get(var::SINGLE_FLIGHT)
                .map(|t| boolean(t, var::SINGLE_FLIGHT))
                .transpose()?,
            fetch_at: get(var::FETCH_AT)
                .map(|t| closed(t, var::FETCH_AT))
                .transpose()?,
            stage: owned(var::STAGE),
            plaintext: owned(var::PLAINTEXT).map(Plaintext),
            ciphertext_b64: owned(var::CIPHERTEXT),
            kms_encryption_context: get(var::KMS_ENCRYPTION_CONTEXT)
                .map(parse_context)
                .transpose()?,
            kms_key_id: owned(var::KMS_KEY_ID),
            parameter_name: owned(var::PARAMETER_NAME),
            secret_id: owned(var::SECRET_ID),
            multi: get(var::MULTI).map(|t| closed(t, var::MULTI)).transpose()?,
            secret_ids: get(var::SECRET_IDS)
                .map(|t| list(t, var::SECRET_IDS))
                .transpose()?,
            parameter_names: get(var::PARAMETER_NAMES)
                .map(|t| list(t, var::PARAMETER_NAMES))
                .transpose()?,
            bundle_keys: get(var::BUNDLE_KEYS)
                .map(|t| list(t, var::BUNDLE_KEYS))
                .transpose()?,
            expected_sha256: get(var::EXPECTED_SHA256)
                .map(|t| digests(t, var::EXPECTED_SHA256))
                .transpose()?,
            expected_sha256s: get(var::EXPECTED_SHA256S)
                .map(|t| digests(t, var::EXPECTED_SHA256S))
                .transpose()?,
            sdk_attempt_timeout: get(var::SDK_ATTEMPT_TIMEOUT)
                .map(|t| duration(t, var::SDK_ATTEMPT_TIMEOUT))
                .transpose()?,
            config_round: owned(var::CONFIG_ROUND),
            agent_port: get(var::AGENT_PORT)
                .map(|p| {
                    p.trim().parse().map_err(|_| {
                        invalid(var::AGENT_PORT, format!("`{p}` is not a port number"))
                    })
                })
                .transpose()?,
            agent_ttl,
            prewarm: get(var::PREWARM)
                .map(|t| closed(t, var::PREWARM))
                .transpose()?,
            cpu_calibration_rounds: get(var::CPU_CALIBRATION_ROUNDS)
                .map(|t| {
                    t.trim().parse().map_err(|_| {
                        invalid(
                            var::CPU_CALIBRATION_ROUNDS,
                            format!("`{t}` is not a whole number"),
                        )
                    })
                })
                .transpose()?,
        })
    }

    /// The variables it sets, in [`var::ALL`]'s order (unset fields are absent).
    pub fn to_vars(&self) -> Vec<(&'static str, String)> {
        let mut v: Vec<(&'static str, String)> = Vec::new();
        let mut put = |name: &'static str, value: Option<String>| {
            if let Some(value) = value {
                v.push((name, value));
            }
        };
        put(var::SOURCE, self.source.map(|s| s.as_str().to_owned()));
        put(var::CACHE, self.cache.map(|c| c.as_str().to_owned()));
        put(var::CACHE_TTL, self.cache_ttl.map(crate::duration::format));
        put(
            var::IGNORE_TRANSIENT_ERRORS,
            self.ignore_transient_errors.map(|b| b.to_string()),
        );
        put(
            var::CACHE_MAX_STALE,
            self.cache_max_stale.map(crate::duration::format),
        );
        put(
            var::SINGLE_FLIGHT,
            self.single_flight.map(|b| b.to_string()),
        );
        put(var::FETCH_AT, self.fetch_at.map(|f| f.as_str().to_owned()));
        put(var::STAGE, self.stage.clone());
        put(var::PLAINTEXT, self.plaintext.as_ref().map(|p| p.0.clone()));
        put(var::CIPHERTEXT, self.ciphertext_b64.clone());
        put(
            var::KMS_ENCRYPTION_CONTEXT,
            self.kms_encryption_context.as_ref().map(format_context),
        );
        put(var::KMS_KEY_ID, self.kms_key_id.clone());
        put(var::PARAMETER_NAME, self.parameter_name.clone());
        put(var::SECRET_ID, self.secret_id.clone());
        put(var::MULTI, self.multi.map(|m| m.as_str().to_owned()));
        put(var::SECRET_IDS, self.secret_ids.as_deref().map(join));
        put(
            var::PARAMETER_NAMES,
            self.parameter_names.as_deref().map(join),
        );
        put(var::BUNDLE_KEYS, self.bundle_keys.as_deref().map(join));
        put(
            var::EXPECTED_SHA256,
            self.expected_sha256.as_deref().map(join_digests),
        );
        put(
            var::EXPECTED_SHA256S,
            self.expected_sha256s.as_deref().map(join_digests),
        );
        put(
            var::SDK_ATTEMPT_TIMEOUT,
            self.sdk_attempt_timeout.map(crate::duration::format),
        );
        put(var::CONFIG_ROUND, self.config_round.clone());
        put(var::AGENT_PORT, self.agent_port.map(|p| p.to_string()));
        let ttl = self.agent_ttl.map(|t| t.as_secs().to_string());
        put(var::AGENT_SECRETS_MANAGER_TTL, ttl.clone());
        put(var::AGENT_SSM_TTL, ttl);
        put(var::PREWARM, self.prewarm.map(|p| p.as_str().to_owned()));
        put(
            var::CPU_CALIBRATION_ROUNDS,
            self.cpu_calibration_rounds.map(|r| r.to_string()),
        );
        v
    }

    /// Writes it into a function's variables: every name of [`var::ALL`] is set from this
    /// configuration or removed; every other variable is kept.
    pub fn apply<M: VarMap>(&self, vars: &mut M) {
        for name in var::ALL {
            vars.remove_var(name);
        }
        for (name, value) in self.to_vars() {
            vars.set_var(name, value);
        }
    }

    /// Reads it from a function's variables (a `HashMap` or `BTreeMap` of them).
    pub fn from_map<M: VarMap>(vars: &M) -> Result<ProbeConfig, ConfigError> {
        ProbeConfig::from_vars(|name| vars.get_var(name))
    }
}

/// A map of environment variables, as the SDK and the platform hold them.
pub trait VarMap {
    /// The value of `name`.
    fn get_var(&self, name: &str) -> Option<&str>;
    /// Sets `name`.
    fn set_var(&mut self, name: &str, value: String);
    /// Removes `name`.
    fn remove_var(&mut self, name: &str);
}

impl<S: std::hash::BuildHasher> VarMap for std::collections::HashMap<String, String, S> {
    fn get_var(&self, name: &str) -> Option<&str> {
        self.get(name).map(String::as_str)
    }
    fn set_var(&mut self, name: &str, value: String) {
        self.insert(name.to_owned(), value);
    }
    fn remove_var(&mut self, name: &str) {
        self.remove(name);
    }
}

impl VarMap for BTreeMap<String, String> {
    fn get_var(&self, name: &str) -> Option<&str> {
        self.get(name).map(String::as_str)
    }
    fn set_var(&mut self, name: &str, value: String) {
        self.insert(name.to_owned(), value);
    }
    fn remove_var(&mut self, name: &str) {
        self.remove(name);
    }
}

fn parse_context(text: &str) -> Result<EncryptionContext, ConfigError> {
    if text == "LambdaFunctionName" {
        return Ok(EncryptionContext::LambdaFunctionName);
    }
    let mut pairs = BTreeMap::new();
    for pair in text.split(',').filter(|p| !p.trim().is_empty()) {
        let (k, v) = pair.split_once('=').ok_or_else(|| {
            invalid(
                var::KMS_ENCRYPTION_CONTEXT,
                format!("`{pair}` is not key=value (use k1=v1,k2=v2 or LambdaFunctionName)"),
            )
        })?;
        pairs.insert(k.trim().to_owned(), v.trim().to_owned());
    }
    Ok(EncryptionContext::Pairs(pairs))
}

fn boolean(text: &str, var: &'static str) -> Result<bool, ConfigError> {
    match text.trim() {
        "true" => Ok(true),
        "false" => Ok(false),
        other => Err(invalid(var, format!("`{other}` is not true or false"))),
    }
}

fn format_context(c: &EncryptionContext) -> String {
    match c {
        EncryptionContext::LambdaFunctionName => "LambdaFunctionName".to_owned(),
        EncryptionContext::Pairs(p) => p
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(","),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn full() -> ProbeConfig {
        ProbeConfig {
            source: Some(Source::SecretsManager),
            cache: Some(CacheMode::Ttl),
            cache_ttl: Some(Duration::from_millis(1500)),
            ignore_transient_errors: Some(false),
            cache_max_stale: Some(Duration::from_secs(3600)),
            single_flight: Some(true),
            fetch_at: Some(FetchAt::Init),
            stage: Some("dev".into()),
            plaintext: Some(Plaintext("p".into())),
            ciphertext_b64: Some("AQID".into()),
            kms_encryption_context: Some(EncryptionContext::Pairs(
                [
                    ("a".to_owned(), "1".to_owned()),
                    ("b".to_owned(), "2".to_owned()),
                ]
                .into(),
            )),
            kms_key_id: Some("alias/k".into()),
            parameter_name: Some("/p".into()),
            secret_id: Some("s".into()),
            multi: Some(MultiMode::Batch),
            secret_ids: Some(vec!["s0".into(), "s1".into()]),
            parameter_names: Some(vec!["/p0".into(), "/p1".into()]),
            bundle_keys: Some(vec!["key0".into(), "key1".into()]),
            expected_sha256: Some(vec![Digest([0xab; 32]), Digest([0xcd; 32])]),
            expected_sha256s: Some(vec![Digest([1; 32]), Digest([2; 32])]),
            sdk_attempt_timeout: Some(Duration::from_secs(2)),
            config_round: Some("run-x-0".into()),
            agent_port: Some(4000),
            agent_ttl: Some(Duration::from_secs(5)),
            prewarm: Some(Prewarm::Connection),
            cpu_calibration_rounds: Some(40),
        }
    }

    #[test]
    fn a_round_trip_through_variables_keeps_every_field() {
        let config = full();
        let mut vars: HashMap<String, String> = HashMap::new();
        vars.insert("KEEP".into(), "me".into());
        vars.insert(var::KMS_KEY_ID.into(), "old".into());
        config.apply(&mut vars);
        assert_eq!(ProbeConfig::from_map(&vars), Ok(config.clone()));
        assert_eq!(vars.get("KEEP").map(String::as_str), Some("me"));
        // Every name is written by a full configuration: none is spelled anywhere else.
        let written: Vec<&str> = config.to_vars().iter().map(|(k, _)| *k).collect();
        assert_eq!(written, var::ALL.to_vec());
        // An empty configuration removes them all and keeps the rest.
        ProbeConfig::default().apply(&mut vars);
        assert_eq!(vars.len(), 1);
        let lambda_name = ProbeConfig {
            kms_encryption_context: Some(EncryptionContext::LambdaFunctionName),
            ..ProbeConfig::default()
        };
        let mut v = BTreeMap::new();
        lambda_name.apply(&mut v);
        assert_eq!(ProbeConfig::from_map(&v), Ok(lambda_name));
    }

    #[test]
    fn each_bad_value_names_its_variable() {
        let cases = [
            (var::SOURCE, "vault"),
            (var::CACHE_TTL, "soon"),
            (var::EXPECTED_SHA256, "abcd"),
            (var::SECRET_IDS, "a,,b"),
            (var::AGENT_PORT, "99999"),
            (var::KMS_ENCRYPTION_CONTEXT, "novalue"),
            (var::PREWARM, "soon"),
        ];
        for (name, value) in cases {
            let vars: HashMap<String, String> = [(name.to_owned(), value.to_owned())].into();
            let e = ProbeConfig::from_map(&vars).expect_err(name);
            assert_eq!(e.var, name);
            assert!(e.to_string().contains(name), "{e}");
        }
        // An empty value is an unset one.
        let vars: HashMap<String, String> = [(var::SOURCE.to_owned(), String::new())].into();
        assert_eq!(ProbeConfig::from_map(&vars).map(|c| c.source), Ok(None));
    }

    #[test]
    fn the_plaintext_is_not_shown_by_debug() {
        let c = ProbeConfig {
            plaintext: Some(Plaintext("canary-xyz".into())),
            ..ProbeConfig::default()
        };
        assert!(!format!("{c:?}").contains("canary-xyz"));
    }

    #[test]
    fn a_cpu_work_request_reads_back_from_its_arguments() {
        let r = CpuWorkRequest {
            rounds: 430,
            repeats: 8,
        };
        assert_eq!(CpuWorkRequest::from_args(r.args()), Some(Ok(r)));
        assert_eq!(CpuWorkRequest::from_args(["--measure-entropy"]), None);
        let err = CpuWorkRequest::from_args([MEASURE_CPU_WORK_ARG, "430", "x"])
            .expect("its argument")
            .expect_err("REPEATS is not a number");
        assert!(err.to_string().contains("REPEATS \"x\""), "{err}");
        let err = CpuWorkRequest::from_args([MEASURE_CPU_WORK_ARG, "430"])
            .expect("its argument")
            .expect_err("one is missing");
        assert!(err.to_string().contains("REPEATS is missing"), "{err}");
    }
}
