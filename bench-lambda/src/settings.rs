//! The probe's configuration, read from environment variables once at INIT, so one deployed
//! function is one scenario. Every check that can be made before the first event is made here,
//! and each failure names its variable.

use crate::error::InitError;
use secbench_record::{Architecture, CacheMode, FetchAt, MultiMode, Source};
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

/// A comma-separated list, each entry trimmed, none empty.
fn list(env: &Env, var: &'static str) -> Result<Option<Vec<String>>, InitError> {
    let Some(text) = get(env, var) else {
        return Ok(None);
    };
    let items: Vec<String> = text.split(',').map(|s| s.trim().to_owned()).collect();
    if items.iter().any(String::is_empty) {
        return Err(InitError::Invalid {
            var,
            reason: "an entry of the comma-separated list is empty".into(),
        });
    }
    Ok(Some(items))
}

/// Reads `SECBENCH_MULTI` and its lists.
fn multi(env: &Env, source: Source, cache: CacheMode) -> Result<Option<Multi>, InitError> {
    let Some(mode) = get(env, "SECBENCH_MULTI")
        .map(|_| closed::<MultiMode>(env, "SECBENCH_MULTI", None))
        .transpose()?
    else {
        return Ok(None);
    };
    let var = match (mode, source) {
        (MultiMode::Bundle, _) => "SECBENCH_BUNDLE_KEYS",
        (_, Source::Ssm | Source::AgentSsm) => "SECBENCH_PARAMETER_NAMES",
        _ => "SECBENCH_SECRET_IDS",
    };
    let names = list(env, var)?.ok_or(InitError::Missing {
        var,
        why: "SECBENCH_MULTI reads these secrets",
    })?;
    secbench_record::check_multi(source, cache, mode, names.len())
        .map_err(|why| InitError::Unsupported(format!("{why} (SECBENCH_MULTI, {var})")))?;
    let expected_sha256 = match get(env, "SECBENCH_EXPECTED_SHA256S") {
        None => Vec::new(),
        Some(text) => {
            let d: Vec<[u8; 32]> = text
                .split(',')
                .map(|t| {
                    parse_digest(t).map_err(|_| InitError::Invalid {
                        var: "SECBENCH_EXPECTED_SHA256S",
                        reason: "each entry is a hex SHA-256 (64 digits)".into(),
                    })
                })
                .collect::<Result<_, _>>()?;
            if d.len() != names.len() {
                return Err(InitError::Invalid {
                    var: "SECBENCH_EXPECTED_SHA256S",
                    reason: format!("{} digests for {} secrets", d.len(), names.len()),
                });
            }
            d
        }
    };
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

fn get<'a>(env: &'a Env, var: &str) -> Option<&'a str> {
    env.get(var).map(String::as_str).filter(|v| !v.is_empty())
}

fn required<'a>(env: &'a Env, var: &'static str, why: &'static str) -> Result<&'a str, InitError> {
    get(env, var).ok_or(InitError::Missing { var, why })
}

fn closed<T: std::str::FromStr<Err = secbench_record::UnknownName>>(
    env: &Env,
    var: &'static str,
    default: Option<T>,
) -> Result<T, InitError> {
    match (get(env, var), default) {
        (Some(text), _) => {
            text.parse()
                .map_err(|e: secbench_record::UnknownName| InitError::Invalid {
                    var,
                    reason: e.to_string(),
                })
        }
        (None, Some(d)) => Ok(d),
        (None, None) => Err(InitError::Missing {
            var,
            why: "it selects what the probe measures",
        }),
    }
}

/// Parses a human duration such as `5s`, `5m`, `250ms`.
pub fn parse_duration(var: &'static str, text: &str) -> Result<Duration, InitError> {
    let d = secbench_record::duration::parse(text).map_err(|e| InitError::Invalid {
        var,
        reason: e.to_string(),
    })?;
    if d.is_zero() {
        return Err(InitError::Invalid {
            var,
            reason: "a TTL of zero caches nothing; use SECBENCH_CACHE=none".into(),
        });
    }
    Ok(d)
}

fn parse_context(
    text: &str,
    function_name: Option<&str>,
) -> Result<BTreeMap<String, String>, InitError> {
    const VAR: &str = "SECBENCH_KMS_ENCRYPTION_CONTEXT";
    let mut context = BTreeMap::new();
    if text == "LambdaFunctionName" {
        // What Lambda's console encryption helper binds the ciphertext to.
        let name = function_name.ok_or(InitError::Missing {
            var: "AWS_LAMBDA_FUNCTION_NAME",
            why: "SECBENCH_KMS_ENCRYPTION_CONTEXT=LambdaFunctionName binds the ciphertext to the function name",
        })?;
        context.insert("LambdaFunctionName".to_owned(), name.to_owned());
        return Ok(context);
    }
    for pair in text.split(',').filter(|p| !p.trim().is_empty()) {
        let (k, v) = pair.split_once('=').ok_or_else(|| InitError::Invalid {
            var: VAR,
            reason: format!("`{pair}` is not key=value (use k1=v1,k2=v2 or LambdaFunctionName)"),
        })?;
        context.insert(k.trim().to_owned(), v.trim().to_owned());
    }
    Ok(context)
}

/// The most digests `SECBENCH_EXPECTED_SHA256` may list (a plan's rotations at most, plus the
/// value before them).
pub const MAX_DIGESTS: usize = 101;

/// `SECBENCH_EXPECTED_SHA256`: one hex digest, or several separated by commas.
fn parse_digests(text: &str) -> Result<Vec<[u8; 32]>, InitError> {
    let digests = text
        .split(',')
        .map(parse_digest)
        .collect::<Result<Vec<_>, _>>()?;
    if digests.len() > MAX_DIGESTS {
        return Err(InitError::Invalid {
            var: "SECBENCH_EXPECTED_SHA256",
            reason: format!("{} digests; at most {MAX_DIGESTS}", digests.len()),
        });
    }
    Ok(digests)
}

fn parse_digest(text: &str) -> Result<[u8; 32], InitError> {
    let var = "SECBENCH_EXPECTED_SHA256";
    let bytes = hex::decode(text.trim()).map_err(|e| InitError::Invalid {
        var,
        reason: format!("not hex: {e}"),
    })?;
    bytes.try_into().map_err(|b: Vec<u8>| InitError::Invalid {
        var,
        reason: format!(
            "a SHA-256 is 32 bytes (64 hex digits), this is {} bytes",
            b.len()
        ),
    })
}

impl Settings {
    /// Reads and checks the configuration.
    pub fn from_env(env: &Env) -> Result<Settings, InitError> {
        use base64::Engine as _;
        let source: Source = closed(env, "SECBENCH_SOURCE", None)?;
        let cache: CacheMode = closed(env, "SECBENCH_CACHE", Some(CacheMode::None))?;
        let fetch_at: FetchAt = closed(env, "SECBENCH_FETCH_AT", Some(FetchAt::Handler))?;
        let function_name = get(env, "AWS_LAMBDA_FUNCTION_NAME").map(str::to_owned);

        let cache_ttl = match (cache, get(env, "SECBENCH_CACHE_TTL")) {
            (CacheMode::None, Some(_)) => {
                return Err(InitError::Unsupported(
                    "SECBENCH_CACHE_TTL is set but SECBENCH_CACHE=none caches nothing; set SECBENCH_CACHE=ttl or unset the TTL".into(),
                ))
            }
            (CacheMode::None, None) => None,
            (_, Some(text)) => Some(parse_duration("SECBENCH_CACHE_TTL", text)?),
            (_, None) => Some(DEFAULT_CACHE_TTL),
        };

        // Read by the SDK loader; checked here so a bad value stops INIT with its name.
        if let Some(text) = get(env, "SECBENCH_SDK_ATTEMPT_TIMEOUT") {
            let var = "SECBENCH_SDK_ATTEMPT_TIMEOUT";
            match secbench_record::duration::parse(text) {
                Ok(d) if !d.is_zero() => {}
                Ok(_) => {
                    return Err(InitError::Invalid {
                        var,
                        reason: "must be more than zero".into(),
                    })
                }
                Err(e) => {
                    return Err(InitError::Invalid {
                        var,
                        reason: e.to_string(),
                    })
                }
            }
        }

        secbench_record::check_combination(source, cache, fetch_at).map_err(|why| {
            InitError::Unsupported(format!(
                "{why} (SECBENCH_SOURCE, SECBENCH_CACHE, SECBENCH_FETCH_AT)"
            ))
        })?;
        if cache == CacheMode::AwsCachingLibrary && !cfg!(feature = "aws-caching-library") {
            return Err(InitError::Unsupported(
                "this probe was built without the `aws-caching-library` feature".into(),
            ));
        }
        let multi = multi(env, source, cache)?;
        // Several secrets (but a bundle) name their own ids; the single target is the first.
        let first = multi
            .as_ref()
            .filter(|m| m.mode != MultiMode::Bundle)
            .and_then(|m| m.names.first().cloned());
        let target = match source {
            Source::PlainEnv => {
                required(
                    env,
                    "SECBENCH_PLAINTEXT",
                    "plain-env reads the secret from it",
                )?;
                Target::PlainEnv {
                    var: "SECBENCH_PLAINTEXT",
                }
            }
            Source::KmsEnv => {
                let b64 = required(
                    env,
                    "SECBENCH_CIPHERTEXT",
                    "kms-env decrypts the base64 ciphertext in it",
                )?;
                let ciphertext = base64::engine::general_purpose::STANDARD
                    .decode(b64.trim())
                    .map_err(|e| InitError::Invalid {
                        var: "SECBENCH_CIPHERTEXT",
                        reason: format!("not base64: {e}"),
                    })?;
                let encryption_context = match get(env, "SECBENCH_KMS_ENCRYPTION_CONTEXT") {
                    Some(text) => parse_context(text, function_name.as_deref())?,
                    None => BTreeMap::new(),
                };
                Target::KmsEnv {
                    ciphertext,
                    encryption_context,
                    key_id: get(env, "SECBENCH_KMS_KEY_ID").map(str::to_owned),
                }
            }
            Source::Ssm | Source::AgentSsm => Target::Parameter {
                name: match first {
                    Some(f) => f,
                    None => required(
                        env,
                        "SECBENCH_PARAMETER_NAME",
                        "ssm reads this SecureString parameter",
                    )?
                    .to_owned(),
                },
            },
            Source::SecretsManager | Source::AgentSecretsManager => Target::Secret {
                id: match first {
                    Some(f) => f,
                    None => required(
                        env,
                        "SECBENCH_SECRET_ID",
                        "secrets-manager reads this secret",
                    )?
                    .to_owned(),
                },
            },
        };

        let agent_port = match get(env, "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT") {
            Some(p) => p.parse().map_err(|_| InitError::Invalid {
                var: "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT",
                reason: format!("`{p}` is not a port number"),
            })?,
            None => DEFAULT_AGENT_PORT,
        };
        let memory_mb = match get(env, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE") {
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
            fetch_at,
            target,
            expected_sha256: get(env, "SECBENCH_EXPECTED_SHA256")
                .map(parse_digests)
                .transpose()?
                .unwrap_or_default(),
            multi,
            agent_port,
            stage: get(env, "SECBENCH_STAGE").map(str::to_owned),
            region: get(env, "AWS_REGION")
                .or_else(|| get(env, "AWS_DEFAULT_REGION"))
                .map(str::to_owned),
            function_name,
            function_version: get(env, "AWS_LAMBDA_FUNCTION_VERSION").map(str::to_owned),
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
