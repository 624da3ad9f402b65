//! The probe's configuration, read from environment variables once at INIT, so one deployed
//! function is one scenario. Every check that can be made before the first event is made here,
//! and each failure names its variable.

use crate::error::InitError;
use secbench_record::probe_config::{var, EncryptionContext, ProbeConfig};
use secbench_record::{Architecture, CacheMode, FetchAt, MultiMode, Prewarm, Source};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

/// A snapshot of the environment the probe reads (the process's, or a test's map).
pub type Env = HashMap<String, String>;

/// TTL used for `ttl` and `aws-caching-library` when `SECBENCH_CACHE_TTL` is not set.
pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(300);
/// The port of the Parameters and Secrets extension (and the Secrets Manager Agent).
pub const DEFAULT_AGENT_PORT: u16 = 2773;

/// Where the secret is, per source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `plain-env`: the variable that holds the plaintext.
    PlainEnv {
        /// Name of the variable (`SECBENCH_PLAINTEXT`).
        var: &'static str,
    },
    /// `kms-env`: the decoded ciphertext and its encryption context.
    KmsEnv {
        /// The ciphertext blob, base64-decoded.
        ciphertext: Vec<u8>,
        /// Encryption context pairs (empty for none).
        encryption_context: BTreeMap<String, String>,
        /// Optional key id (ARN, alias) for `Decrypt`.
        key_id: Option<String>,
    },
    /// `ssm` and `agent-ssm`: the parameter name.
    Parameter {
        /// Name or ARN of the SecureString parameter.
        name: String,
    },
    /// `secrets-manager`, `agent-secrets-manager`: the secret id.
    Secret {
        /// Name or ARN of the secret.
        id: String,
    },
}

/// Several secrets per fetch (`SECBENCH_MULTI`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Multi {
    /// How they are read.
    pub mode: MultiMode,
    /// The secret ids or parameter names (`SECBENCH_SECRET_IDS`, `SECBENCH_PARAMETER_NAMES`),
    /// or for `bundle` the keys of the JSON object in the one secret (`SECBENCH_BUNDLE_KEYS`).
    pub names: Vec<String>,
    /// Each value's SHA-256, in the same order (`SECBENCH_EXPECTED_SHA256S`); empty when not
    /// set.
    pub expected_sha256: Vec<[u8; 32]>,
}

/// Checks the several-secrets part of the configuration.
fn multi(c: &ProbeConfig, source: Source, cache: CacheMode) -> Result<Option<Multi>, InitError> {
    let Some(mode) = c.multi else {
        return Ok(None);
    };
    let (var, names) = match (mode, source) {
        (MultiMode::Bundle, _) => (var::BUNDLE_KEYS, &c.bundle_keys),
        (_, Source::Ssm | Source::AgentSsm) => (var::PARAMETER_NAMES, &c.parameter_names),
        _ => (var::SECRET_IDS, &c.secret_ids),
    };
    let names = names.clone().ok_or(InitError::Missing {
        var,
        why: "the several-secrets mode (SECBENCH_MULTI) reads these secrets",
    })?;
    secbench_record::check_multi(source, cache, mode, names.len())
        .map_err(|why| InitError::Unsupported(format!("{why} ({}, {var})", var::MULTI)))?;
    let expected_sha256: Vec<[u8; 32]> = c.expected_sha256s.iter().flatten().map(|d| d.0).collect();
    if !expected_sha256.is_empty() && expected_sha256.len() != names.len() {
        return Err(InitError::Invalid {
            var: var::EXPECTED_SHA256S,
            reason: format!(
                "{} digests for {} secrets",
                expected_sha256.len(),
                names.len()
            ),
        });
    }
    Ok(Some(Multi {
        mode,
        names,
        expected_sha256,
    }))
}

/// Everything the probe knows about itself.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Configured source.
    pub source: Source,
    /// Configured cache mode.
    pub cache: CacheMode,
    /// TTL for `ttl` and `aws-caching-library`.
    pub cache_ttl: Option<Duration>,
    /// `ttl`, `aws-caching-library` and the agent: serve the value held when a refresh fails
    /// with a transient error (`SECBENCH_IGNORE_TRANSIENT_ERRORS`, default `true`, the
    /// agent's default); `None` where nothing is cached.
    pub ignore_transient_errors: Option<bool>,
    /// `ttl` serving stale: the oldest value it serves (`SECBENCH_CACHE_MAX_STALE`).
    pub cache_max_stale: Option<Duration>,
    /// `ttl`: concurrent misses wait for one fetch (`SECBENCH_SINGLE_FLIGHT`).
    pub single_flight: Option<bool>,
    /// INIT or handler.
    pub fetch_at: FetchAt,
    /// Where the secret is.
    pub target: Target,
    /// The SHA-256 digests a fetched value may have (`old,new,...` around a rotation): each
    /// fetch records which one matched. Empty when not set.
    pub expected_sha256: Vec<[u8; 32]>,
    /// Several secrets per fetch, when set.
    pub multi: Option<Multi>,
    /// Port of the local agent.
    pub agent_port: u16,
    /// The SDK's time limit per attempt (`SECBENCH_SDK_ATTEMPT_TIMEOUT`).
    pub sdk_attempt_timeout: Option<Duration>,
    /// What INIT does ahead of the first handler fetch (`SECBENCH_PREWARM`).
    pub prewarm: Option<Prewarm>,
    /// Time the fixed CPU workload (this many rounds) instead of fetching.
    pub cpu_calibration_rounds: Option<u32>,
    /// `AWS_LAMBDA_INITIALIZATION_TYPE`.
    pub initialization_type: Option<secbench_record::InitializationType>,
    /// `SECBENCH_STAGE`.
    pub stage: Option<String>,
    /// `AWS_REGION` (or `AWS_DEFAULT_REGION`).
    pub region: Option<String>,
    /// `AWS_LAMBDA_FUNCTION_NAME`.
    pub function_name: Option<String>,
    /// `AWS_LAMBDA_FUNCTION_VERSION`.
    pub function_version: Option<String>,
    /// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`.
    pub memory_mb: Option<u32>,
    /// Build architecture.
    pub architecture: Option<Architecture>,
}

/// The most digests `SECBENCH_EXPECTED_SHA256` may list (a plan's rotations at most, plus the
/// value before them).
pub const MAX_DIGESTS: usize = 101;

fn lambda_var<'a>(env: &'a Env, name: &str) -> Option<&'a str> {
    env.get(name).map(String::as_str).filter(|v| !v.is_empty())
}

impl Settings {
    /// Reads and checks the configuration.
    pub fn from_env(env: &Env) -> Result<Settings, InitError> {
        let c = ProbeConfig::from_map(env).map_err(|e| InitError::Invalid {
            var: e.var,
            reason: e.reason,
        })?;
        Settings::from_config(&c, env)
    }

    /// Checks a configuration read from the environment `env` (which also holds Lambda's own
    /// variables: the function's name, version, memory size and region).
    pub fn from_config(c: &ProbeConfig, env: &Env) -> Result<Settings, InitError> {
        use base64::Engine as _;
        let source = c.source.ok_or(InitError::Missing {
            var: var::SOURCE,
            why: "it selects what the probe measures",
        })?;
        let cache = c.cache.unwrap_or(CacheMode::None);
        let fetch_at = c.fetch_at.unwrap_or(FetchAt::Handler);
        if fetch_at == FetchAt::Restore {
            return Err(InitError::Unsupported(format!(
                "{}=restore fetches in SnapStart's after-restore hook, and Lambda has no SnapStart for the OS-only runtime the Rust probe runs on (provided.al2023)",
                var::FETCH_AT
            )));
        }
        let function_name = lambda_var(env, "AWS_LAMBDA_FUNCTION_NAME").map(str::to_owned);

        let cache_ttl = match (cache, c.cache_ttl) {
            (CacheMode::None, Some(_)) => {
                return Err(InitError::Unsupported(format!(
                "{ttl} is set but {cache}=none caches nothing; set {cache}=ttl or unset the TTL",
                ttl = var::CACHE_TTL,
                cache = var::CACHE
            )))
            }
            (CacheMode::None, None) => None,
            (_, Some(d)) if d.is_zero() => {
                return Err(InitError::Invalid {
                    var: var::CACHE_TTL,
                    reason: format!("a TTL of zero caches nothing; use {}=none", var::CACHE),
                })
            }
            (_, Some(d)) => Some(d),
            (_, None) => Some(DEFAULT_CACHE_TTL),
        };
        let cached =
            matches!(cache, CacheMode::Ttl | CacheMode::AwsCachingLibrary) || source.is_agent();
        let ignore_transient_errors = match (cached, c.ignore_transient_errors) {
            (false, Some(_)) => {
                return Err(InitError::Unsupported(format!(
                    "{} is set but {}={cache} with {}={source} keeps no value to serve",
                    var::IGNORE_TRANSIENT_ERRORS,
                    var::CACHE,
                    var::SOURCE
                )))
            }
            (false, None) => None,
            (true, set) => Some(set.unwrap_or(true)),
        };
        let cache_max_stale = match (cache, ignore_transient_errors, c.cache_max_stale) {
            (_, _, Some(d)) if d.is_zero() => {
                return Err(InitError::Invalid {
                    var: var::CACHE_MAX_STALE,
                    reason: "must be more than zero".into(),
                })
            }
            (CacheMode::Ttl, Some(true), set) => {
                Some(set.unwrap_or(secbench_record::plan::DEFAULT_MAX_STALE))
            }
            _ => None,
        };
        if c.single_flight.is_some() && cache != CacheMode::Ttl {
            return Err(InitError::Unsupported(format!(
                "{} is set but {}={cache}: single flight is the ttl cache's",
                var::SINGLE_FLIGHT,
                var::CACHE
            )));
        }
        if c.sdk_attempt_timeout.is_some_and(|d| d.is_zero()) {
            return Err(InitError::Invalid {
                var: var::SDK_ATTEMPT_TIMEOUT,
                reason: "must be more than zero".into(),
            });
        }
        secbench_record::check_combination(source, cache, fetch_at).map_err(|why| {
            InitError::Unsupported(format!(
                "{why} ({}, {}, {})",
                var::SOURCE,
                var::CACHE,
                var::FETCH_AT
            ))
        })?;
        if !secbench_record::Runtime::Rust.has_cache(cache) {
            return Err(InitError::Unsupported(format!(
                "cache = {cache} belongs to the Node.js and Python probes ({})",
                var::CACHE
            )));
        }
        if cache == CacheMode::AwsCachingLibrary && !cfg!(feature = "aws-caching-library") {
            return Err(InitError::Unsupported(
                "this probe was built without the `aws-caching-library` feature".into(),
            ));
        }
        let multi = multi(c, source, cache)?;
        // Several secrets (but a bundle) name their own ids; the single target is the first.
        let first = multi
            .as_ref()
            .filter(|m| m.mode != MultiMode::Bundle)
            .and_then(|m| m.names.first().cloned());
        let target = match source {
            Source::PlainEnv => {
                if c.plaintext.is_none() {
                    return Err(InitError::Missing {
                        var: var::PLAINTEXT,
                        why: "plain-env reads the secret from it",
                    });
                }
                Target::PlainEnv {
                    var: var::PLAINTEXT,
                }
            }
            Source::KmsEnv => {
                let b64 = c.ciphertext_b64.as_deref().ok_or(InitError::Missing {
                    var: var::CIPHERTEXT,
                    why: "kms-env decrypts the base64 ciphertext in it",
                })?;
                let ciphertext = base64::engine::general_purpose::STANDARD
                    .decode(b64.trim())
                    .map_err(|e| InitError::Invalid {
                        var: var::CIPHERTEXT,
                        reason: format!("not base64: {e}"),
                    })?;
                let encryption_context = match &c.kms_encryption_context {
                    Some(EncryptionContext::LambdaFunctionName) => {
                        // What Lambda's console encryption helper binds the ciphertext to.
                        let name = function_name.clone().ok_or(InitError::Missing {
                            var: "AWS_LAMBDA_FUNCTION_NAME",
                            why: "SECBENCH_KMS_ENCRYPTION_CONTEXT=LambdaFunctionName binds the ciphertext to the function name",
                        })?;
                        BTreeMap::from([("LambdaFunctionName".to_owned(), name)])
                    }
                    Some(EncryptionContext::Pairs(p)) => p.clone(),
                    None => BTreeMap::new(),
                };
                Target::KmsEnv {
                    ciphertext,
                    encryption_context,
                    key_id: c.kms_key_id.clone(),
                }
            }
            Source::Ssm | Source::AgentSsm => Target::Parameter {
                name: match first {
                    Some(f) => f,
                    None => c.parameter_name.clone().ok_or(InitError::Missing {
                        var: var::PARAMETER_NAME,
                        why: "ssm reads this SecureString parameter",
                    })?,
                },
            },
            Source::SecretsManager | Source::AgentSecretsManager => Target::Secret {
                id: match first {
                    Some(f) => f,
                    None => c.secret_id.clone().ok_or(InitError::Missing {
                        var: var::SECRET_ID,
                        why: "secrets-manager reads this secret",
                    })?,
                },
            },
        };
        let expected_sha256: Vec<[u8; 32]> =
            c.expected_sha256.iter().flatten().map(|d| d.0).collect();
        if expected_sha256.len() > MAX_DIGESTS {
            return Err(InitError::Invalid {
                var: var::EXPECTED_SHA256,
                reason: format!("{} digests; at most {MAX_DIGESTS}", expected_sha256.len()),
            });
        }
        let memory_mb = match lambda_var(env, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE") {
            Some(m) => Some(m.parse().map_err(|_| InitError::Invalid {
                var: "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
                reason: format!("`{m}` is not a whole number of MB"),
            })?),
            None => None,
        };

        Ok(Settings {
            source,
            cache,
            cache_ttl,
            ignore_transient_errors,
            cache_max_stale,
            single_flight: c.single_flight,
            fetch_at,
            target,
            expected_sha256,
            multi,
            agent_port: c.agent_port.unwrap_or(DEFAULT_AGENT_PORT),
            sdk_attempt_timeout: c.sdk_attempt_timeout,
            prewarm: c.prewarm,
            cpu_calibration_rounds: c.cpu_calibration_rounds.filter(|r| *r > 0),
            initialization_type: lambda_var(env, "AWS_LAMBDA_INITIALIZATION_TYPE")
                .and_then(|t| t.parse().ok()),
            stage: c.stage.clone(),
            region: lambda_var(env, "AWS_REGION")
                .or_else(|| lambda_var(env, "AWS_DEFAULT_REGION"))
                .map(str::to_owned),
            function_name,
            function_version: lambda_var(env, "AWS_LAMBDA_FUNCTION_VERSION").map(str::to_owned),
            memory_mb,
            architecture: Architecture::current(),
        })
    }

    /// Whether the source is reached through the AWS SDK (and so needs its configuration).
    pub fn uses_sdk(&self) -> bool {
        matches!(
            self.source,
            Source::KmsEnv | Source::Ssm | Source::SecretsManager
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn err(pairs: &[(&str, &str)]) -> String {
        Settings::from_env(&env(pairs))
            .expect_err("refused")
            .to_string()
    }

    #[test]
    fn reads_a_full_configuration() {
        let s = Settings::from_env(&env(&[
            ("SECBENCH_SOURCE", "kms-env"),
            ("SECBENCH_CACHE", "ttl"),
            ("SECBENCH_CACHE_TTL", "250ms"),
            ("SECBENCH_CIPHERTEXT", "AQID"),
            ("SECBENCH_KMS_ENCRYPTION_CONTEXT", "LambdaFunctionName"),
            ("AWS_LAMBDA_FUNCTION_NAME", "probe"),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"),
            ("SECBENCH_EXPECTED_SHA256", &"ab".repeat(32)),
        ]))
        .expect("valid");
        assert_eq!(s.cache_ttl, Some(Duration::from_millis(250)));
        assert_eq!(s.memory_mb, Some(256));
        assert_eq!(s.expected_sha256, vec![[0xab; 32]]);
        let two = format!("{},{}", "ab".repeat(32), "cd".repeat(32));
        let plain = Settings::from_env(&env(&[
            ("SECBENCH_SOURCE", "plain-env"),
            ("SECBENCH_PLAINTEXT", "x"),
            ("SECBENCH_EXPECTED_SHA256", &two),
        ]))
        .expect("two digests");
        assert_eq!(plain.expected_sha256, vec![[0xab; 32], [0xcd; 32]]);
        match s.target {
            Target::KmsEnv {
                ciphertext,
                encryption_context,
                ..
            } => {
                assert_eq!(ciphertext, vec![1, 2, 3]);
                assert_eq!(
                    encryption_context
                        .get("LambdaFunctionName")
                        .map(String::as_str),
                    Some("probe")
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn each_misconfiguration_names_its_variable() {
        assert!(err(&[]).contains("SECBENCH_SOURCE"));
        let restore = err(&[
            ("SECBENCH_SOURCE", "ssm"),
            ("SECBENCH_PARAMETER_NAME", "/p"),
            ("SECBENCH_FETCH_AT", "restore"),
        ]);
        assert!(
            restore.contains("SECBENCH_FETCH_AT") && restore.contains("no SnapStart"),
            "{restore}"
        );
        assert!(err(&[("SECBENCH_SOURCE", "vault")]).contains("secrets-manager"));
        assert!(err(&[("SECBENCH_SOURCE", "ssm")]).contains("SECBENCH_PARAMETER_NAME"));
        assert!(err(&[("SECBENCH_SOURCE", "secrets-manager")]).contains("SECBENCH_SECRET_ID"));
        assert!(err(&[("SECBENCH_SOURCE", "plain-env")]).contains("SECBENCH_PLAINTEXT"));
        for bad in ["soon", "0s"] {
            assert!(err(&[
                ("SECBENCH_SOURCE", "plain-env"),
                ("SECBENCH_PLAINTEXT", "x"),
                ("SECBENCH_SDK_ATTEMPT_TIMEOUT", bad)
            ])
            .contains("SECBENCH_SDK_ATTEMPT_TIMEOUT"));
        }
        assert!(err(&[
            ("SECBENCH_SOURCE", "kms-env"),
            ("SECBENCH_CIPHERTEXT", "%%")
        ])
        .contains("SECBENCH_CIPHERTEXT"));
        assert!(err(&[
            ("SECBENCH_SOURCE", "ssm"),
            ("SECBENCH_PARAMETER_NAME", "p"),
            ("SECBENCH_CACHE", "ttl"),
            ("SECBENCH_CACHE_TTL", "soon")
        ])
        .contains("SECBENCH_CACHE_TTL"));
        assert!(err(&[
            ("SECBENCH_SOURCE", "ssm"),
            ("SECBENCH_PARAMETER_NAME", "p"),
            ("SECBENCH_CACHE_TTL", "5s")
        ])
        .contains("SECBENCH_CACHE=none"));
        assert!(err(&[
            ("SECBENCH_SOURCE", "ssm"),
            ("SECBENCH_PARAMETER_NAME", "p"),
            ("SECBENCH_EXPECTED_SHA256", "abcd")
        ])
        .contains("SECBENCH_EXPECTED_SHA256"));
        assert!(err(&[
            ("SECBENCH_SOURCE", "kms-env"),
            ("SECBENCH_CIPHERTEXT", "AQID"),
            ("SECBENCH_KMS_ENCRYPTION_CONTEXT", "LambdaFunctionName")
        ])
        .contains("AWS_LAMBDA_FUNCTION_NAME"));
    }

    #[test]
    fn impossible_combinations_say_why() {
        let e = err(&[
            ("SECBENCH_SOURCE", "agent-ssm"),
            ("SECBENCH_PARAMETER_NAME", "p"),
            ("SECBENCH_FETCH_AT", "init"),
        ]);
        assert!(e.contains("INVOKE phase"), "{e}");
        let e = err(&[
            ("SECBENCH_SOURCE", "ssm"),
            ("SECBENCH_PARAMETER_NAME", "p"),
            ("SECBENCH_CACHE", "aws-caching-library"),
        ]);
        assert!(e.contains("Secrets Manager only"), "{e}");
    }

    #[test]
    fn a_secret_value_is_never_echoed_in_an_error() {
        let canary = "canary-Zq81-not-base64-%%%";
        let e = err(&[
            ("SECBENCH_SOURCE", "kms-env"),
            ("SECBENCH_CIPHERTEXT", canary),
        ]);
        assert!(!e.contains(canary), "{e}");
    }
}
