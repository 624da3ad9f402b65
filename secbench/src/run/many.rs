//! Several secrets per fetch (a scenario's `secrets` and `multi`): the secrets, parameters and
//! bundles the stage holds for it, and the probe variables that select N of them in a mode.
//! A bundle is one secret (or SecureString) holding a JSON object `{"key0": …, "key1": …}` of
//! N values; every store holds value i at position i, so one list of digests checks them all.

use crate::plan::Scenario;
use secbench_record::{MultiMode, Source};
use std::collections::BTreeMap;

/// What the stage holds for scenarios that read several secrets.
#[derive(Debug, Clone, Default)]
pub struct ManySecrets {
    /// Secrets holding value 0, 1, … (at least the largest N of the plan).
    pub secret_ids: Vec<String>,
    /// SecureStrings holding value 0, 1, …
    pub parameter_names: Vec<String>,
    /// Hex SHA-256 of value 0, 1, …
    pub digests: Vec<String>,
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

/// The variables only several-secrets scenarios set, removed for the others.
pub const VARS: [&str; 5] = [
    "SECBENCH_MULTI",
    "SECBENCH_SECRET_IDS",
    "SECBENCH_PARAMETER_NAMES",
    "SECBENCH_BUNDLE_KEYS",
    "SECBENCH_EXPECTED_SHA256S",
];

/// The key of value `i` in a bundle.
pub fn bundle_key(i: usize) -> String {
    format!("key{i}")
}

impl ManySecrets {
    /// The variables for `s` (`None`: remove the variable), or why the stage cannot run it.
    pub fn vars(&self, s: &Scenario) -> Result<BTreeMap<String, Option<String>>, String> {
        let mut v: BTreeMap<String, Option<String>> =
            VARS.iter().map(|k| ((*k).to_owned(), None)).collect();
        v.insert(
            "SECBENCH_SECRET_ID".into(),
            Some(self.single_secret_id.clone()),
        );
        v.insert(
            "SECBENCH_PARAMETER_NAME".into(),
            Some(self.single_parameter_name.clone()),
        );
        let Some(mode) = s.multi else {
            return Ok(v);
        };
        let n = s.secrets as usize;
        let ssm = matches!(s.source, Source::Ssm | Source::AgentSsm);
        if self.digests.len() < n || self.secret_ids.len() < n || self.parameter_names.len() < n {
            return Err(format!(
                "scenario {} reads {n} secrets; the stage holds {}",
                s.name,
                self.secret_ids.len().min(self.parameter_names.len())
            ));
        }
        v.insert("SECBENCH_MULTI".into(), Some(mode.as_str().to_owned()));
        v.insert(
            "SECBENCH_EXPECTED_SHA256S".into(),
            Some(self.digests[..n].join(",")),
        );
        match mode {
            MultiMode::Bundle => {
                let bundles = if ssm {
                    &self.parameter_bundles
                } else {
                    &self.secret_bundles
                };
                let bundle = bundles.get(&s.secrets).ok_or_else(|| {
                    format!(
                        "scenario {}: the stage holds no bundle of {n} values",
                        s.name
                    )
                })?;
                let key = if ssm {
                    "SECBENCH_PARAMETER_NAME"
                } else {
                    "SECBENCH_SECRET_ID"
                };
                v.insert(key.into(), Some(bundle.clone()));
                let keys: Vec<String> = (0..n).map(bundle_key).collect();
                v.insert("SECBENCH_BUNDLE_KEYS".into(), Some(keys.join(",")));
            }
            _ if ssm => {
                v.insert(
                    "SECBENCH_PARAMETER_NAMES".into(),
                    Some(self.parameter_names[..n].join(",")),
                );
            }
            _ => {
                v.insert(
                    "SECBENCH_SECRET_IDS".into(),
                    Some(self.secret_ids[..n].join(",")),
                );
            }
        }
        Ok(v)
    }
}
