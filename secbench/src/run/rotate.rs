//! Rotations during a scenario's warm phase (`[scenario.rotation]`). Before the scenario the
//! rotator makes the next values (random, never printed; tests give canaries), and the probe
//! is configured with every digest (`SECBENCH_EXPECTED_SHA256=current,next,...`), so each
//! fetch records which value it got without the value reaching a record. At each planned
//! instant it writes the next value into the store the scenario's source reads:
//! `PutSecretValue` (AWSCURRENT moves to the new version), `PutParameter` with `Overwrite`, or
//! for `kms-env` and `plain-env` a configuration change with the new ciphertext (and
//! plaintext), which retires every environment. Each store keeps its own current value, so a
//! later scenario is given the digest its store holds.

use crate::plan::Scenario;
use crate::provision::{self, ProvisionError, Value};
use secbench_record::probe_config::{Digest, Plaintext, ProbeConfig};
use secbench_record::rotation::{RotationRecord, Store, ROTATION_SCHEMA_VERSION};
use secbench_record::sync::lock;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// What the rotator writes to, on AWS (the stage file's resources) or on the local stage
/// (what provisioning created in moto).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Resources {
    /// The secret (`secrets-manager`, `agent-secrets-manager`).
    pub secret_id: String,
    /// The SecureString (`ssm`, `agent-ssm`).
    pub parameter_name: String,
    /// The KMS key the SecureString and the function's ciphertext are encrypted with.
    pub key_id: String,
}

/// The function a configuration change rotates, and how to wait for it.
#[derive(Debug, Clone, Copy)]
pub struct Function<'a> {
    /// The Lambda client.
    pub lambda: &'a aws_sdk_lambda::Client,
    /// The function's name.
    pub function: &'a str,
    /// How often to poll while its update is in progress.
    pub poll: Duration,
}

/// Makes the n-th new value (from 1).
pub type ValueMaker = Box<dyn Fn(u64) -> Value + Send + Sync>;

/// Writes new values and keeps each store's current digest.
pub struct Rotator {
    sdk: aws_config::SdkConfig,
    resources: Resources,
    values: ValueMaker,
    made: Mutex<u64>,
    current: Mutex<BTreeMap<Store, Digest>>,
}

impl std::fmt::Debug for Rotator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rotator")
            .field("resources", &self.resources)
            .field("current", &self.current)
            .finish_non_exhaustive()
    }
}

/// One planned rotation, with its value made ahead.
#[derive(Debug)]
pub struct Step {
    /// When, from the start of the warm phase.
    pub offset: Duration,
    /// Position of its digest in the probe's list.
    pub version_index: u32,
    value: Value,
    digest: Digest,
    /// `kms-env`: the new ciphertext, encrypted ahead so the rotation is only the change.
    ciphertext_b64: Option<String>,
}

/// A scenario's rotations, prepared.
#[derive(Debug)]
pub struct Prepared {
    /// The store they write.
    pub store: Store,
    /// The digests the probe is given: the current value's first.
    pub digests: Vec<Digest>,
    /// The rotations, in order.
    pub steps: Vec<Step>,
}

/// Digests of what each store holds now, read with the operator's credentials: the secret's
/// `AWSCURRENT` (`GetSecretValue`), the SecureString (`GetParameter` with decryption), and the
/// function's configuration (its plaintext where it has one, else its ciphertext decrypted with
/// the `LambdaFunctionName` context). A stage rotated by an earlier run (or by anyone) holds
/// three different values; each scenario is then given its own store's digest. The values are
/// digested here and dropped, never shown.
pub async fn read_current(
    sdk: &aws_config::SdkConfig,
    resources: &Resources,
    lambda: &aws_sdk_lambda::Client,
    function: &str,
) -> Result<BTreeMap<Store, Digest>, ProvisionError> {
    let missing = |operation: &'static str| ProvisionError {
        operation,
        message: "the response holds no value".into(),
    };
    let secret = aws_sdk_secretsmanager::Client::new(sdk)
        .get_secret_value()
        .secret_id(&resources.secret_id)
        .send()
        .await
        .map_err(provision::err("GetSecretValue"))?
        .secret_string
        .map(Value::new)
        .ok_or_else(|| missing("GetSecretValue"))?;
    let parameter = aws_sdk_ssm::Client::new(sdk)
        .get_parameter()
        .name(&resources.parameter_name)
        .with_decryption(true)
        .send()
        .await
        .map_err(provision::err("GetParameter"))?
        .parameter
        .and_then(|p| p.value)
        .map(Value::new)
        .ok_or_else(|| missing("GetParameter"))?;
    let config = super::control::current_config(lambda, function)
        .await
        .map_err(|e| ProvisionError {
            operation: "GetFunctionConfiguration",
            message: e.to_string(),
        })?;
    let configured = match (config.plaintext, config.ciphertext_b64) {
        (Some(p), _) => Value::new(p.0),
        (None, Some(b64)) => {
            use base64::Engine as _;
            let blob = base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .map_err(|e| ProvisionError {
                    operation: "GetFunctionConfiguration",
                    message: format!("the function's ciphertext is not base64: {e}"),
                })?;
            let plain = aws_sdk_kms::Client::new(sdk)
                .decrypt()
                .ciphertext_blob(aws_sdk_kms::primitives::Blob::new(blob))
                .encryption_context("LambdaFunctionName", function)
                .send()
                .await
                .map_err(provision::err("Decrypt"))?
                .plaintext
                .ok_or_else(|| missing("Decrypt"))?;
            Value::new(String::from_utf8(plain.into_inner()).map_err(|_| ProvisionError {
                operation: "Decrypt",
                message: "the function's value is not UTF-8".into(),
            })?)
        }
        (None, None) => {
            return Err(ProvisionError {
                operation: "GetFunctionConfiguration",
                message: format!(
                    "{function} holds no ciphertext: run `secbench provision` for the stage before a plan that rotates"
                ),
            })
        }
    };
    Ok([
        (Store::Secret, provision::digest(secret.expose())),
        (Store::Parameter, provision::digest(parameter.expose())),
        (
            Store::FunctionConfiguration,
            provision::digest(configured.expose()),
        ),
    ]
    .into_iter()
    .collect())
}

impl Rotator {
    /// A rotator whose stores all hold the value of `digest` now (a freshly provisioned stage).
    pub fn new(
        sdk: aws_config::SdkConfig,
        resources: Resources,
        digest: Digest,
        values: ValueMaker,
    ) -> Rotator {
        let current = [
            Store::FunctionConfiguration,
            Store::Parameter,
            Store::Secret,
        ]
        .into_iter()
        .map(|s| (s, digest))
        .collect();
        Rotator::with_current(sdk, resources, current, values)
    }

    /// A rotator whose stores hold the values of `current` now ([`read_current`]).
    pub fn with_current(
        sdk: aws_config::SdkConfig,
        resources: Resources,
        current: BTreeMap<Store, Digest>,
        values: ValueMaker,
    ) -> Rotator {
        Rotator {
            sdk,
            resources,
            values,
            made: Mutex::new(0),
            current: Mutex::new(current),
        }
    }

    /// The digest the store of `s`'s source holds now.
    pub fn current_digest(&self, s: &Scenario) -> Digest {
        lock(&self.current)
            .get(&Store::of(s.source))
            .copied()
            .unwrap_or(Digest([0; 32]))
    }

    /// Makes the values of `s`'s rotations (none when it plans none).
    pub async fn prepare(
        &self,
        s: &Scenario,
        function: &str,
    ) -> Result<Option<Prepared>, ProvisionError> {
        let Some(rotation) = &s.rotation else {
            return Ok(None);
        };
        let store = Store::of(s.source);
        let mut digests = vec![self.current_digest(s)];
        let mut steps = Vec::new();
        for (i, offset) in rotation.offsets.iter().enumerate() {
            let n = {
                let mut made = lock(&self.made);
                *made += 1;
                *made
            };
            let value = (self.values)(n);
            let digest = provision::digest(value.expose());
            let ciphertext_b64 = match store {
                Store::FunctionConfiguration => Some(
                    provision::encrypt_for_function(
                        &self.sdk,
                        &self.resources.key_id,
                        function,
                        value.expose(),
                    )
                    .await?,
                ),
                _ => None,
            };
            digests.push(digest);
            steps.push(Step {
                offset: *offset,
                version_index: u32::try_from(i + 1).unwrap_or(u32::MAX),
                value,
                digest,
                ciphertext_b64,
            });
        }
        Ok(Some(Prepared {
            store,
            digests,
            steps,
        }))
    }

    /// Writes `step`'s value and returns the record of it; on success the store's current
    /// digest becomes the step's.
    pub async fn rotate(
        &self,
        f: Function<'_>,
        store: Store,
        step: Step,
        run_id: &str,
        scenario: &str,
    ) -> RotationRecord {
        let requested = SystemTime::now();
        let result = self.write(f, store, &step).await;
        let confirmed = SystemTime::now();
        let (confirmed_unix_ms, service_version, error) = match result {
            Ok(version) => {
                lock(&self.current).insert(store, step.digest);
                (Some(super::clock::unix_ms(confirmed)), version, None)
            }
            Err(e) => (None, None, Some(e)),
        };
        RotationRecord {
            rotation_schema_version: ROTATION_SCHEMA_VERSION,
            run_id: run_id.to_owned(),
            scenario: scenario.to_owned(),
            version_index: step.version_index,
            store,
            operation: store.operation().to_owned(),
            planned_offset_ms: u64::try_from(step.offset.as_millis()).unwrap_or(u64::MAX),
            requested_unix_ms: super::clock::unix_ms(requested),
            confirmed_unix_ms,
            service_version,
            error,
        }
    }

    async fn write(
        &self,
        f: Function<'_>,
        store: Store,
        step: &Step,
    ) -> Result<Option<String>, String> {
        let r = &self.resources;
        match store {
            Store::Secret => aws_sdk_secretsmanager::Client::new(&self.sdk)
                .put_secret_value()
                .secret_id(&r.secret_id)
                .secret_string(step.value.expose())
                .send()
                .await
                .map(|out| out.version_id)
                .map_err(|e| provision::err("PutSecretValue")(e).to_string()),
            Store::Parameter => provision::put_secure_string(
                &self.sdk,
                &r.parameter_name,
                &r.key_id,
                step.value.expose(),
            )
            .await
            .map(|v| Some(v.to_string()))
            .map_err(|e| e.to_string()),
            Store::FunctionConfiguration => {
                // The plaintext baseline is rotated where the function has one (on AWS only
                // when provisioned with it).
                let patch = |c: &mut ProbeConfig| {
                    if let Some(b64) = &step.ciphertext_b64 {
                        c.ciphertext_b64 = Some(b64.clone());
                    }
                    if c.plaintext.is_some() {
                        c.plaintext = Some(Plaintext(step.value.expose().to_owned()));
                    }
                };
                super::control::update_config(f.lambda, f.function, patch, f.poll)
                    .await
                    .map_err(|e| e.to_string())
            }
        }
    }
}

/// The rotator of a deployed stage: random values (never printed), written with the caller's
/// credentials (the operator's for `secbench run`, the driver's role inside AWS); each store
/// starts at the digest of the value it holds now (read at the start, so a stage rotated by an
/// earlier run, or a resumed run, is given the right ones).
pub async fn on_stage(
    lambda: &aws_sdk_lambda::Client,
    function: &str,
    region: &str,
    endpoint_url: Option<&str>,
    resources: Resources,
) -> Result<Rotator, ProvisionError> {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(region.to_owned()));
    if let Some(url) = endpoint_url {
        loader = loader.endpoint_url(url);
    }
    let sdk = loader.load().await;
    let current = read_current(&sdk, &resources, lambda, function).await?;
    Ok(Rotator::with_current(
        sdk,
        resources,
        current,
        Box::new(|_| crate::provision::Value::new(crate::provision::random_value())),
    ))
}
