//! Several secrets per fetch (a scenario's `secrets` and `multi`): the secrets, parameters and
//! bundles the stage holds for it, and the probe variables that select N of them in a mode.
//! A bundle is one secret (or SecureString) holding a JSON object `{"key0": …, "key1": …}` of
//! N values; every store holds value i at position i, so one list of digests checks them all.

use crate::plan::Scenario;
use secbench_record::probe_config::{Digest, ProbeConfig};
use secbench_record::{MultiMode, Source};
use std::collections::BTreeMap;

/// Why a stage cannot run a several-secrets scenario: provision more (`secbench provision`
/// with the plan, or a local run makes them).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetsError {
    /// The scenario reads more secrets than the stage holds.
    #[error("scenario {scenario} reads {wanted} secrets; the stage holds {held}")]
    TooFew {
        /// The scenario.
        scenario: String,
        /// Secrets it reads.
        wanted: usize,
        /// Secrets the stage holds.
        held: usize,
    },
    /// The scenario reads a bundle of a size the stage has none of.
    #[error("scenario {scenario}: the stage holds no bundle of {wanted} values")]
    NoBundle {
        /// The scenario.
        scenario: String,
        /// Values in the bundle it reads.
        wanted: usize,
    },
}

/// What the stage holds for scenarios that read several secrets.
#[derive(Debug, Clone, Default)]
pub struct ManySecrets {
    /// Secrets holding value 0, 1, … (at least the largest N of the plan).
    pub secret_ids: Vec<String>,
    /// SecureStrings holding value 0, 1, …
    pub parameter_names: Vec<String>,
    /// SHA-256 of value 0, 1, …
    pub digests: Vec<Digest>,
    /// Per N, the secret bundling values 0..N.
    pub secret_bundles: BTreeMap<u32, String>,
    /// Per N, the SecureString bundling values 0..N.
    pub parameter_bundles: BTreeMap<u32, String>,
    /// The one secret and parameter of the single-secret scenarios (a bundle scenario points
    /// the probe elsewhere; the next scenario points it back).
    pub single_secret_id: String,
    /// See `single_secret_id`.
    pub single_parameter_name: String,
}

/// The key of value `i` in a bundle.
pub fn bundle_key(i: usize) -> String {
    format!("key{i}")
}

/// Where a scenario's probe reads its secrets: the single secret and parameter, and for a
/// several-secrets scenario its mode, the N names (or the bundle and its keys) and digests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Targets {
    /// The secret of a single-secret scenario, or the bundle of a `bundle` scenario.
    pub secret_id: String,
    /// The parameter of a single-secret scenario, or the bundle of a `bundle` scenario.
    pub parameter_name: String,
    /// The several-secrets mode, when there are several.
    pub multi: Option<MultiMode>,
    /// The N secrets.
    pub secret_ids: Option<Vec<String>>,
    /// The N parameters.
    pub parameter_names: Option<Vec<String>>,
    /// The N keys of the bundle.
    pub bundle_keys: Option<Vec<String>>,
    /// The N values' digests.
    pub expected_sha256s: Option<Vec<Digest>>,
}

impl Targets {
    /// Writes them into the probe's configuration (clearing what a previous scenario set).
    pub fn configure(&self, c: &mut ProbeConfig) {
        c.secret_id = Some(self.secret_id.clone());
        c.parameter_name = Some(self.parameter_name.clone());
        c.multi = self.multi;
        c.secret_ids = self.secret_ids.clone();
        c.parameter_names = self.parameter_names.clone();
        c.bundle_keys = self.bundle_keys.clone();
        c.expected_sha256s = self.expected_sha256s.clone();
    }
}

impl ManySecrets {
    /// Where `s` reads its secrets, or why the stage cannot run it.
    pub fn targets(&self, s: &Scenario) -> Result<Targets, TargetsError> {
        let mut t = Targets {
            secret_id: self.single_secret_id.clone(),
            parameter_name: self.single_parameter_name.clone(),
            ..Targets::default()
        };
        let Some(mode) = s.multi else {
            return Ok(t);
        };
        let n = s.secrets as usize;
        let ssm = matches!(s.source, Source::Ssm | Source::AgentSsm);
        if self.digests.len() < n || self.secret_ids.len() < n || self.parameter_names.len() < n {
            return Err(TargetsError::TooFew {
                scenario: s.name.clone(),
                wanted: n,
                held: self.secret_ids.len().min(self.parameter_names.len()),
            });
        }
        t.multi = Some(mode);
        t.expected_sha256s = Some(self.digests[..n].to_vec());
        match mode {
            MultiMode::Bundle => {
                let bundles = if ssm {
                    &self.parameter_bundles
                } else {
                    &self.secret_bundles
                };
                let bundle = bundles
                    .get(&s.secrets)
                    .ok_or_else(|| TargetsError::NoBundle {
                        scenario: s.name.clone(),
                        wanted: n,
                    })?;
                if ssm {
                    t.parameter_name = bundle.clone();
                } else {
                    t.secret_id = bundle.clone();
                }
                t.bundle_keys = Some((0..n).map(bundle_key).collect());
            }
            _ if ssm => t.parameter_names = Some(self.parameter_names[..n].to_vec()),
            _ => t.secret_ids = Some(self.secret_ids[..n].to_vec()),
        }
        Ok(t)
    }
}
