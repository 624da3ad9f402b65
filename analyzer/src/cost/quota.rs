//! The quotas part of the cost model: each API's peak request rate at the workload's peak
//! (and KMS's shared symmetric one), whether the quotas allow it, and the headroom left.

use super::counts::{Counts, Kind, Modelled, Op};
use super::pricing::Pricing;
use super::workload::Workload;
use crate::approach::Approach;
use secbench_record::Source;
use serde::Serialize;
use std::collections::BTreeMap;

/// What a peak rate is counted against: KMS's shared symmetric request quota, or one API's own.
/// Written as its key (`KMS:symmetric`, `SSM:GetParameter`, ...); declared in the keys' order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum QuotaKey {
    /// KMS's symmetric cryptographic requests (the function's and the services' on its behalf).
    KmsSymmetric,
    /// One API's request quota.
    Api(Op),
}

impl QuotaKey {
    /// The key as the cost JSON writes it.
    pub fn key(self) -> &'static str {
        match self {
            QuotaKey::KmsSymmetric => "KMS:symmetric",
            QuotaKey::Api(op) => op.key(),
        }
    }
}

impl Serialize for QuotaKey {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.key())
    }
}

/// Peak request rates per quota, and whether the quotas allow them.
#[derive(Debug, Clone)]
pub(crate) struct Peaks {
    pub(crate) peak: BTreeMap<QuotaKey, f64>,
    pub(crate) feasible: bool,
    pub(crate) ssm_higher_throughput: bool,
    /// The smallest quota / peak rate over the APIs the approach calls.
    pub(crate) headroom: Option<f64>,
}

/// The rates at the workload's peak, for one function: environments alive, and the fetches per
/// second that go to the service (first fetches of new environments, and refreshes after the
/// TTL), never more than every invocation's fetches. The one peak rule: the single-secret model
/// and the many-secrets model (`cost::many`, which counts rounds of all values) both use it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PeakRates {
    /// Environments alive at the peak: the average scaled by peak/average rate when the
    /// average is given, else the environments derived from the peak.
    pub environments: f64,
    /// First fetches per second (new environments × secrets / lifetime).
    pub first_per_second: f64,
    /// Refreshes per second (environments × secrets / TTL), for a cached approach.
    pub refresh_per_second: f64,
}

/// The quotas an approach's peak is checked against: the pricing table's, less what the
/// workload's `[other_traffic]` says the account's other callers use of each.
#[derive(Debug, Clone, Copy)]
pub(crate) struct QuotasLeft {
    ssm_standard: f64,
    ssm_higher: f64,
    get_secret_value: f64,
    describe_secret: f64,
    kms: f64,
}

fn quotas_left(p: &Pricing, w: &Workload) -> QuotasLeft {
    let (q, o) = (&p.quotas, &w.other_traffic);
    let left = |quota: f64, other: f64| (quota - other).max(0.0);
    QuotasLeft {
        ssm_standard: left(
            q.ssm.get_parameter_standard_tps,
            o.ssm_get_parameter_per_second,
        ),
        ssm_higher: left(
            q.ssm.get_parameter_higher_throughput_tps,
            o.ssm_get_parameter_per_second,
        ),
        get_secret_value: left(
            q.secrets_manager.get_secret_value_tps,
            o.secrets_manager_get_secret_value_per_second,
        ),
        describe_secret: left(
            q.secrets_manager.describe_secret_tps,
            o.secrets_manager_describe_secret_per_second,
        ),
        kms: left(q.kms.symmetric_cryptographic_tps, o.kms_requests_per_second),
    }
}

/// Says that the account's other traffic shares a quota the approach meets, when it does.
fn shared(notes: &mut Vec<String>, api: &str, quota: f64, other: f64) {
    if other > 0.0 {
        notes.push(format!(
            "the account's other {other} {api}/s share the {quota} TPS quota: {} left",
            (quota - other).max(0.0)
        ));
    }
}

/// [`PeakRates`] of approach `a` at workload `w` (counted as `c`).
pub fn peak_rates(a: Approach, w: &Workload, c: &Counts) -> PeakRates {
    let secrets = f64::from(w.secrets);
    let avg_rps = w.invocations_per_month / c.month_s;
    let peak_envs = if w.avg_concurrent_environments.is_some() {
        c.environments * (w.peak_rps / avg_rps).max(1.0)
    } else {
        c.environments
    };
    let uncached_rate = w.peak_rps * f64::from(w.secrets_per_invocation);
    // First fetches and refreshes at the peak, per function, never more than every fetch.
    let first_fetches = peak_envs * secrets / w.environment_lifetime.as_secs_f64();
    let (first_rate, refresh_rate) = match a.kind() {
        Kind::Baseline => (0.0, 0.0),
        Kind::Uncached => (uncached_rate, 0.0),
        Kind::AtInit => (uncached_rate.min(first_fetches), 0.0),
        Kind::Cached => {
            let refreshes = peak_envs * secrets / w.cache_ttl.as_secs_f64();
            let scale = (uncached_rate / (first_fetches + refreshes)).min(1.0);
            (first_fetches * scale, refreshes * scale)
        }
    };
    PeakRates {
        environments: peak_envs,
        first_per_second: first_rate,
        refresh_per_second: refresh_rate,
    }
}

pub(crate) fn peaks(
    a: Approach,
    w: &Workload,
    p: &Pricing,
    c: &Counts,
    notes: &mut Vec<String>,
) -> Peaks {
    let functions = f64::from(w.functions);
    let secrets = f64::from(w.secrets);
    let rates = peak_rates(a, w, c);
    let peak_envs = rates.environments;
    let (first_rate, refresh_rate) = (rates.first_per_second, rates.refresh_per_second);
    let (first_rate, refresh_rate) = (functions * first_rate, functions * refresh_rate);
    let fetch_rate = first_rate + refresh_rate;
    let refreshes_describe = a.calls(p).1.contains(&Op::SmDescribeSecret);
    let burst = functions * peak_envs * secrets;
    let mut peak: BTreeMap<QuotaKey, f64> = BTreeMap::new();
    let mut feasible = true;
    let mut ssm_higher_throughput = false;
    // What the account's other callers leave of each quota (per account and region; KMS's
    // counts the services' requests on the account's behalf too).
    let q = quotas_left(p, w);
    let (o, full) = (&w.other_traffic, &p.quotas);
    let mut headroom: Option<f64> = None;
    let mut room = |rate: f64, quota: f64| {
        if rate > 0.0 {
            let r = quota / rate;
            headroom = Some(headroom.map_or(r, |h: f64| h.min(r)));
        }
    };
    let over = |api: &str, rate: f64, quota: f64, notes: &mut Vec<String>| {
        let over = rate > quota;
        if over {
            notes.push(format!(
                "infeasible: peak {rate:.0} {api}/s is above its quota of {quota} TPS"
            ));
        }
        over
    };
    let mut get_secret_value_rate = 0.0;
    match a.source {
        Source::Ssm | Source::AgentSsm => {
            shared(
                notes,
                "GetParameter",
                full.ssm.get_parameter_standard_tps,
                o.ssm_get_parameter_per_second,
            );
            peak.insert(QuotaKey::Api(Op::SsmGetParameter), fetch_rate);
            room(
                fetch_rate,
                if fetch_rate > q.ssm_standard {
                    q.ssm_higher
                } else {
                    q.ssm_standard
                },
            );
            if fetch_rate > q.ssm_standard {
                if fetch_rate <= q.ssm_higher {
                    ssm_higher_throughput = true;
                    notes.push(format!(
                        "peak {fetch_rate:.0} GetParameter/s is above the standard throughput of {} TPS: priced with higher throughput (an account setting; it charges every API interaction in the region)",
                        q.ssm_standard
                    ));
                } else {
                    feasible = false;
                    notes.push(format!(
                        "infeasible: peak {fetch_rate:.0} GetParameter/s is above even the higher-throughput quota of {} TPS",
                        q.ssm_higher
                    ));
                }
            }
        }
        Source::SecretsManager | Source::AgentSecretsManager => {
            // Each read API has its own quota: the caching library's and the agent's
            // refreshes are DescribeSecret, everything else GetSecretValue.
            let (get, describe) = if refreshes_describe {
                (first_rate, refresh_rate)
            } else {
                (fetch_rate, 0.0)
            };
            get_secret_value_rate = get;
            shared(
                notes,
                "GetSecretValue",
                full.secrets_manager.get_secret_value_tps,
                o.secrets_manager_get_secret_value_per_second,
            );
            if describe > 0.0 {
                shared(
                    notes,
                    "DescribeSecret",
                    full.secrets_manager.describe_secret_tps,
                    o.secrets_manager_describe_secret_per_second,
                );
            }
            room(get, q.get_secret_value);
            room(describe, q.describe_secret);
            peak.insert(QuotaKey::Api(Op::SmGetSecretValue), get);
            feasible &= !over("GetSecretValue", get, q.get_secret_value, notes);
            if describe > 0.0 {
                peak.insert(QuotaKey::Api(Op::SmDescribeSecret), describe);
                feasible &= !over("DescribeSecret", describe, q.describe_secret, notes);
            }
        }
        _ => {}
    }
    let kms_rate = match a.source {
        Source::KmsEnv => fetch_rate,
        Source::Ssm | Source::AgentSsm => fetch_rate * p.ssm.kms_requests_per_secure_get,
        Source::SecretsManager | Source::AgentSecretsManager => {
            get_secret_value_rate * p.secrets_manager.kms_requests_per_get_secret_value
        }
        Source::PlainEnv => 0.0,
    };
    room(kms_rate, q.kms);
    if kms_rate > 0.0 {
        shared(
            notes,
            "KMS request",
            full.kms.symmetric_cryptographic_tps,
            o.kms_requests_per_second,
        );
        peak.insert(QuotaKey::KmsSymmetric, kms_rate);
        if kms_rate > q.kms {
            feasible = false;
            notes.push(format!(
                "infeasible at the default quota: peak {kms_rate:.0} KMS requests/s (counting requests the service makes on your behalf, with AWS managed keys too) is above the region's {} symmetric requests/s; the quota is adjustable",
                q.kms
            ));
        }
    }
    // Provisioned environments are initialised ahead of the traffic: no storm at the peak.
    if matches!(a.kind(), Kind::Cached | Kind::AtInit)
        && a.concurrency != secbench_record::ConcurrencyMode::Provisioned
    {
        let tightest = match a.source {
            Source::Ssm | Source::AgentSsm if !ssm_higher_throughput => Some(q.ssm_standard),
            Source::Ssm | Source::AgentSsm => Some(q.ssm_higher),
            Source::SecretsManager | Source::AgentSecretsManager => Some(q.get_secret_value),
            Source::KmsEnv => Some(q.kms),
            Source::PlainEnv => None,
        };
        if let Some(quota) = tightest {
            if burst > quota {
                notes.push(format!(
                    "cold-start storm: if the peak's {:.0} environment(s) start within one second, their {burst:.0} first fetches exceed the {quota} TPS quota; expect throttling (SDK retries) while scaling out",
                    functions * peak_envs
                ));
            }
        }
    }

    Peaks {
        peak,
        feasible,
        ssm_higher_throughput,
        headroom,
    }
}
