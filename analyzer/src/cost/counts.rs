//! The counting part of the cost model (documented in [`super::model`]): what kind of fetching
//! an approach does, the API operations of its first fetch and of a refresh, and the calls,
//! new environments and fetches per function per month that the pricing multiplies.

use super::pricing::{Pricing, RefreshCalls};
use super::workload::Workload;
use crate::approach::Approach;
use secbench_record::{CacheMode, ConcurrencyMode, FetchAt, Source};
use serde::Serialize;
use std::collections::BTreeMap;

/// What the model needs to know of an approach.
pub(crate) trait Modelled {
    fn kind(&self) -> Kind;
    fn calls(&self, p: &Pricing) -> (&'static [Op], &'static [Op]);
}

impl Modelled for Approach {
    fn kind(&self) -> Kind {
        if self.source == Source::PlainEnv {
            Kind::Baseline
        } else if self.source.is_agent() || self.cache != CacheMode::None {
            Kind::Cached
        } else if matches!(self.fetch_at, FetchAt::Init | FetchAt::Restore) {
            Kind::AtInit
        } else {
            Kind::Uncached
        }
    }

    /// API calls of a first fetch, and of a refresh after the TTL (the extension's as the
    /// pricing table's `extension_refresh` switch says).
    fn calls(&self, p: &Pricing) -> (&'static [Op], &'static [Op]) {
        use Op::*;
        let miss: &'static [Op] = match self.source {
            Source::PlainEnv => &[],
            Source::KmsEnv => &[KmsDecrypt],
            Source::Ssm | Source::AgentSsm => &[SsmGetParameter],
            Source::SecretsManager | Source::AgentSecretsManager => &[SmGetSecretValue],
        };
        let extension = p.secrets_manager.extension_refresh.calls;
        let refresh: &'static [Op] = match (self.source, self.cache) {
            (Source::AgentSecretsManager, _) if extension == RefreshCalls::Get => miss,
            (Source::AgentSecretsManager, _) | (_, CacheMode::AwsCachingLibrary) => {
                &[SmDescribeSecret]
            }
            _ => miss,
        };
        (miss, refresh)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Baseline,
    Uncached,
    AtInit,
    Cached,
}

/// An API operation that is priced or counted against a quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Op {
    /// KMS `Decrypt` made by the function.
    KmsDecrypt,
    /// SSM `GetParameter` WithDecryption.
    SsmGetParameter,
    /// Secrets Manager `DescribeSecret`.
    SmDescribeSecret,
    /// Secrets Manager `GetSecretValue`.
    SmGetSecretValue,
}

/// An operation is written as its key (`service:Operation`): the cost JSON's
/// `api_calls_per_month` is keyed by it. The variants are declared in the keys' order.
impl Serialize for Op {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.key())
    }
}

impl Op {
    /// Every operation, in the order of their keys.
    pub const ALL: [Op; 4] = [
        Op::KmsDecrypt,
        Op::SsmGetParameter,
        Op::SmDescribeSecret,
        Op::SmGetSecretValue,
    ];

    /// The name the probe's records use (`service:Operation`).
    pub fn key(self) -> &'static str {
        match self {
            Op::KmsDecrypt => "KMS:Decrypt",
            Op::SsmGetParameter => "SSM:GetParameter",
            Op::SmGetSecretValue => "Secrets Manager:GetSecretValue",
            Op::SmDescribeSecret => "Secrets Manager:DescribeSecret",
        }
    }

    /// The service's endpoint name (`com.amazonaws.REGION.NAME`, the interface endpoint a
    /// function in a VPC calls it through).
    pub fn endpoint(self) -> &'static str {
        match self {
            Op::KmsDecrypt => "kms",
            Op::SsmGetParameter => "ssm",
            Op::SmGetSecretValue | Op::SmDescribeSecret => "secretsmanager", // pragma: allowlist secret (an endpoint name)
        }
    }
}

/// Counts per function per month that the pricing multiplies.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Counts {
    /// Seconds in the month.
    pub month_s: f64,
    /// Average environments alive at once.
    pub environments: f64,
    /// New environments.
    pub new_environments: f64,
    /// Fetches asked for (`invocations × secrets_per_invocation`).
    pub fetches: f64,
    /// First fetches that went to the service.
    pub misses: f64,
    /// Refreshes after the TTL.
    pub refreshes: f64,
}

/// The counting part of the model (documented at the top of this module).
pub fn counts(a: Approach, w: &Workload, p: &Pricing) -> Counts {
    let month_s = p.month_hours * 3600.0;
    let environments = environments(w);
    let env_time = environments * month_s;
    let new_environments = w
        .invocations_per_month
        .min(env_time / w.environment_lifetime.as_secs_f64());
    let fetches = w.invocations_per_month * f64::from(w.secrets_per_invocation);
    let secrets = f64::from(w.secrets);
    let (misses, refreshes) = match a.kind() {
        Kind::Baseline => (0.0, 0.0),
        Kind::Uncached => (fetches, 0.0),
        // SnapStart: INIT (and its fetch) runs once per published version, not per restore.
        Kind::AtInit
            if a.concurrency == ConcurrencyMode::SnapStart && a.fetch_at == FetchAt::Init =>
        {
            (
                (w.snapstart_versions_per_month().0 * secrets).min(fetches),
                0.0,
            )
        }
        Kind::AtInit => ((new_environments * secrets).min(fetches), 0.0),
        Kind::Cached => {
            let misses = (new_environments * secrets).min(fetches);
            let refreshes = (env_time / w.cache_ttl.as_secs_f64() * secrets).min(fetches - misses);
            (misses, refreshes)
        }
    };
    Counts {
        month_s,
        environments,
        new_environments,
        fetches,
        misses,
        refreshes,
    }
}

/// Average environments alive at once: given, or peak concurrency (`peak_rps × avg_duration`,
/// Lambda keeps environments after a burst) when derived.
pub fn environments(w: &Workload) -> f64 {
    match (w.avg_concurrent_environments, w.avg_duration) {
        (Some(e), _) => e,
        (None, Some(d)) => (w.peak_rps * d.as_secs_f64()).max(1e-6),
        (None, None) => 1.0,
    }
}

/// How long each environment waits between two requests on average: its share of the month's
/// invocations spread over the month (`environments / (invocations / month)`), seconds.
pub fn seconds_between_requests(w: &Workload, p: &Pricing) -> f64 {
    let per_second = w.invocations_per_month / (p.month_hours * 3600.0);
    environments(w) / per_second.max(1e-12)
}

/// Calls of `op` in a month's count.
pub(crate) fn calls(api_calls: &BTreeMap<Op, f64>, op: Op) -> f64 {
    api_calls.get(&op).copied().unwrap_or(0.0)
}

/// API calls per month, all functions: first fetches and refreshes.
pub(crate) fn api_calls(a: Approach, c: &Counts, w: &Workload, p: &Pricing) -> BTreeMap<Op, f64> {
    let functions = f64::from(w.functions);
    let (miss_ops, refresh_ops) = a.calls(p);
    let mut api_calls: BTreeMap<Op, f64> = BTreeMap::new();
    for op in miss_ops {
        *api_calls.entry(*op).or_default() += c.misses * functions;
    }
    for op in refresh_ops {
        *api_calls.entry(*op).or_default() += c.refreshes * functions;
    }
    api_calls
}
