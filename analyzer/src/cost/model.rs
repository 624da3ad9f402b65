//! The cost model: for one approach (source × cache mode × when it fetches), a workload and
//! a pricing table, the monthly cost as priced lines, the API calls it makes and whether the
//! services' quotas allow it at the workload's peak.
//!
//! Counting (per function, per month of `month_hours`):
//! - environment time `E = avg_concurrent_environments × month`; new environments
//!   `N = min(invocations, E / environment_lifetime)`; fetches asked for
//!   `F = invocations × secrets_per_invocation`.
//! - no cache: every fetch is a call, `calls = F`.
//! - fetch at INIT: `calls = min(N × secrets, F)`; never refreshed.
//! - a cache (in-process TTL, the caching library, the agent):
//!   `calls = N × secrets + (E / cache_ttl) × secrets` (first fetches + refreshes), never
//!   more than `F`. The caching library and the agent refresh with `DescribeSecret` (and
//!   fetch again only when the version changed: rotation is not modelled); the TTL cache
//!   refreshes with the full fetch.
//! - compute for fetching: new environments × (cold + (secrets − 1) × a miss) plus the warm
//!   fetches × their mean time, × memory in GB, priced through the volume tiers on top of
//!   the account's other GB-seconds of the workload's architecture (`other_gb_seconds_per_month`
//!   or `base_gb_seconds_per_month`; the tiers aggregate per architecture and region over the
//!   account or the consolidated-billing organisation), so the price is the marginal one.

use super::latency::Latency;
use super::pricing::{tiered_cost, Pricing};
use super::workload::{KmsKey, ParameterTier, Workload};
use secbench_record::{CacheMode, FetchAt, Source};
use serde::Serialize;
use std::collections::BTreeMap;

use crate::approach::Approach;

/// What the model needs to know of an approach.
trait Modelled {
    fn kind(&self) -> Kind;
    fn calls(&self) -> (&'static [Op], &'static [Op]);
}

impl Modelled for Approach {
    fn kind(&self) -> Kind {
        if self.source == Source::PlainEnv {
            Kind::Baseline
        } else if self.source.is_agent() || self.cache != CacheMode::None {
            Kind::Cached
        } else if self.fetch_at == FetchAt::Init {
            Kind::AtInit
        } else {
            Kind::Uncached
        }
    }

    /// API calls of a first fetch, and of a refresh after the TTL.
    fn calls(&self) -> (&'static [Op], &'static [Op]) {
        use Op::*;
        let miss: &'static [Op] = match self.source {
            Source::PlainEnv => &[],
            Source::KmsEnv => &[KmsDecrypt],
            Source::Ssm | Source::AgentSsm => &[SsmGetParameter],
            Source::SecretsManager | Source::AgentSecretsManager => &[SmGetSecretValue],
        };
        let refresh: &'static [Op] = match (self.source, self.cache) {
            (Source::AgentSecretsManager, _) | (_, CacheMode::AwsCachingLibrary) => {
                &[SmDescribeSecret]
            }
            _ => miss,
        };
        (miss, refresh)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
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
}

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

/// One priced line.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Line {
    /// What is charged.
    pub item: String,
    /// `fixed`, `api_requests`, `kms_requests`, `lambda_compute` or `lambda_requests`.
    pub category: &'static str,
    /// How many units.
    pub quantity: f64,
    /// The unit.
    pub unit: &'static str,
    /// Price of one unit.
    pub unit_price_usd: f64,
    /// `quantity × unit_price_usd`.
    pub cost_usd: f64,
    /// False for lines shown for context only (the Lambda request charge, which every
    /// approach pays alike).
    pub included_in_total: bool,
}

/// The priced approach.
#[derive(Debug, Clone, Serialize)]
pub struct ApproachCost {
    /// The approach (written by its name, see [`Approach::name`]).
    pub approach: Approach,
    /// Source.
    pub source: Source,
    /// Cache mode.
    pub cache: CacheMode,
    /// When it fetches.
    pub fetch_at: FetchAt,
    /// Sum of the included lines.
    pub monthly_cost_usd: f64,
    /// The lines.
    pub breakdown: Vec<Line>,
    /// Whether the quotas allow the workload's peak.
    pub feasible: bool,
    /// Reasons, assumptions and warnings.
    pub notes: Vec<String>,
    /// API calls per month by `service:Operation` (all functions).
    pub api_calls_per_month: BTreeMap<Op, f64>,
    /// KMS requests the calls cause per month (charged or not).
    pub kms_requests_per_month: f64,
    /// Peak request rate per quota, per second (all functions).
    pub peak_requests_per_second: BTreeMap<QuotaKey, f64>,
    /// The latencies used, if any.
    pub latency: Option<Latency>,
    /// What bounds how long it can serve a value after a rotation.
    pub staleness_bound: crate::approach::StalenessBound,
    /// The longest it can serve a value after a rotation, s: from the workload's
    /// `cache_ttl` (at most 300 s for the agent) and `max_environment_lifetime` (an assumption
    /// unless the workload sets it).
    pub longest_staleness_s: f64,
    /// True when that figure rests on the assumed longest environment lifetime (a fetch at
    /// INIT without a cache, and a workload without `max_environment_lifetime`).
    pub staleness_assumed: bool,
    /// The smallest ratio of an API's quota to the approach's peak rate on it (below 1: over
    /// the quota); absent when it calls no API.
    pub quota_headroom: Option<f64>,
}

impl ApproachCost {
    /// The cost of the included lines of one category (`fixed`, `api_requests`, ...).
    pub fn category_usd(&self, category: &str) -> f64 {
        self.breakdown
            .iter()
            .filter(|l| l.category == category && l.included_in_total)
            .map(|l| l.cost_usd)
            .sum::<f64>()
            + 0.0 // an empty sum is -0.0
    }
}

/// What the model needs besides the workload and the table.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    /// The approach.
    pub approach: Approach,
    /// Its latencies.
    pub latency: Option<Latency>,
    /// The latencies of its uncached twin (cache misses cost that much).
    pub miss_latency: Option<Latency>,
    /// The workload.
    pub workload: &'a Workload,
    /// The table.
    pub pricing: &'a Pricing,
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

/// Prices one approach: its API calls, the KMS requests they cause, fixed fees, peak rates
/// against the quotas, the API and KMS charges, the Lambda compute spent fetching, and the
/// request charge for context; each a section below.
pub fn price(i: Inputs<'_>) -> ApproachCost {
    let (a, w, p) = (i.approach, i.workload, i.pricing);
    let c = counts(a, w, p);
    let mut notes = Vec::new();
    let mut lines = Vec::new();
    let api_calls = api_calls(a, &c, w);
    let kms = kms_requests(&api_calls, w, p);
    fixed_fees(a, w, p, &mut lines);
    let peaks = peaks(a, w, p, &c, &mut notes);
    api_charges(
        a,
        w,
        p,
        &api_calls,
        kms,
        peaks.ssm_higher_throughput,
        &mut lines,
    );
    compute(&i, &c, &mut lines, &mut notes);
    context(a, w, p, &mut lines, &mut notes);
    let monthly_cost_usd = lines
        .iter()
        .filter(|l| l.included_in_total)
        .map(|l| l.cost_usd)
        .sum::<f64>()
        + 0.0; // an empty sum is -0.0
    ApproachCost {
        approach: a,
        source: a.source,
        cache: a.cache,
        fetch_at: a.fetch_at,
        monthly_cost_usd,
        breakdown: lines,
        feasible: peaks.feasible,
        notes,
        api_calls_per_month: api_calls,
        kms_requests_per_month: kms.requests,
        peak_requests_per_second: peaks.peak,
        latency: i.latency,
        staleness_bound: a.staleness_bound(),
        longest_staleness_s: a
            .staleness_bound()
            .longest(w.cache_ttl, w.longest_environment_lifetime().0)
            .as_secs_f64(),
        staleness_assumed: a.staleness_bound()
            == crate::approach::StalenessBound::EnvironmentLifetime
            && w.longest_environment_lifetime().1,
        quota_headroom: peaks.headroom,
    }
}

/// Calls of `op` in a month's count.
fn calls(api_calls: &BTreeMap<Op, f64>, op: Op) -> f64 {
    api_calls.get(&op).copied().unwrap_or(0.0)
}

/// API calls per month, all functions: first fetches and refreshes.
fn api_calls(a: Approach, c: &Counts, w: &Workload) -> BTreeMap<Op, f64> {
    let functions = f64::from(w.functions);
    let (miss_ops, refresh_ops) = a.calls();
    let mut api_calls: BTreeMap<Op, f64> = BTreeMap::new();
    for op in miss_ops {
        *api_calls.entry(*op).or_default() += c.misses * functions;
    }
    for op in refresh_ops {
        *api_calls.entry(*op).or_default() += c.refreshes * functions;
    }
    api_calls
}

/// KMS requests per month: all of them (for the quota) and those charged.
#[derive(Debug, Clone, Copy)]
struct Kms {
    requests: f64,
    charged: f64,
}

fn kms_requests(api_calls: &BTreeMap<Op, f64>, w: &Workload, p: &Pricing) -> Kms {
    let calls = |op| calls(api_calls, op);
    let direct = calls(Op::KmsDecrypt);
    let by_ssm = calls(Op::SsmGetParameter) * p.ssm.kms_requests_per_secure_get;
    let by_sm = calls(Op::SmGetSecretValue) * p.secrets_manager.kms_requests_per_get_secret_value;
    // A customer managed key is always charged; a service's AWS managed key per its switch.
    let charged = |by_service: f64, switch: &super::pricing::ManagedKeySwitch| {
        if w.kms_key == KmsKey::CustomerManaged || switch.charged {
            by_service
        } else {
            0.0
        }
    };
    let managed = &p.kms.aws_managed_key_requests;
    Kms {
        requests: direct + by_ssm + by_sm,
        charged: direct + charged(by_ssm, &managed.ssm) + charged(by_sm, &managed.secretsmanager),
    }
}

/// The key, secret and parameter fees.
fn fixed_fees(a: Approach, w: &Workload, p: &Pricing, lines: &mut Vec<Line>) {
    let service_key = w.kms_key;
    let secrets = f64::from(w.secrets);
    let uses_cmk = a.source == Source::KmsEnv
        || (service_key == KmsKey::CustomerManaged && a.source != Source::PlainEnv);
    if uses_cmk {
        lines.push(line(
            "KMS customer managed key",
            "fixed",
            1.0,
            "key-month",
            p.kms.customer_managed_key_per_month_usd,
        ));
    }
    match a.source {
        Source::SecretsManager | Source::AgentSecretsManager => lines.push(line(
            "Secrets Manager secrets",
            "fixed",
            secrets,
            "secret-month",
            p.secrets_manager.secret_per_month_usd,
        )),
        Source::Ssm | Source::AgentSsm => {
            let (item, price) = match w.ssm_parameter_tier {
                ParameterTier::Standard => (
                    "SSM standard parameters",
                    p.ssm.standard_parameter_per_month_usd,
                ),
                ParameterTier::Advanced => (
                    "SSM advanced parameters",
                    p.ssm.advanced_parameter_per_month_usd,
                ),
            };
            lines.push(line(item, "fixed", secrets, "parameter-month", price));
        }
        _ => {}
    }
}

/// Peak request rates per quota, and whether the quotas allow them.
#[derive(Debug, Clone)]
struct Peaks {
    peak: BTreeMap<QuotaKey, f64>,
    feasible: bool,
    ssm_higher_throughput: bool,
    /// The smallest quota / peak rate over the APIs the approach calls.
    headroom: Option<f64>,
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

fn peaks(a: Approach, w: &Workload, p: &Pricing, c: &Counts, notes: &mut Vec<String>) -> Peaks {
    let functions = f64::from(w.functions);
    let secrets = f64::from(w.secrets);
    let rates = peak_rates(a, w, c);
    let peak_envs = rates.environments;
    let (first_rate, refresh_rate) = (rates.first_per_second, rates.refresh_per_second);
    let (first_rate, refresh_rate) = (functions * first_rate, functions * refresh_rate);
    let fetch_rate = first_rate + refresh_rate;
    let refreshes_describe = a.calls().1.contains(&Op::SmDescribeSecret);
    let burst = functions * peak_envs * secrets;
    let mut peak: BTreeMap<QuotaKey, f64> = BTreeMap::new();
    let mut feasible = true;
    let mut ssm_higher_throughput = false;
    let q = &p.quotas;
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
            peak.insert(QuotaKey::Api(Op::SsmGetParameter), fetch_rate);
            room(
                fetch_rate,
                if fetch_rate > q.ssm.get_parameter_standard_tps {
                    q.ssm.get_parameter_higher_throughput_tps
                } else {
                    q.ssm.get_parameter_standard_tps
                },
            );
            if fetch_rate > q.ssm.get_parameter_standard_tps {
                if fetch_rate <= q.ssm.get_parameter_higher_throughput_tps {
                    ssm_higher_throughput = true;
                    notes.push(format!(
                        "peak {fetch_rate:.0} GetParameter/s is above the standard throughput of {} TPS: priced with higher throughput (an account setting; it charges every API interaction in the region)",
                        q.ssm.get_parameter_standard_tps
                    ));
                } else {
                    feasible = false;
                    notes.push(format!(
                        "infeasible: peak {fetch_rate:.0} GetParameter/s is above even the higher-throughput quota of {} TPS",
                        q.ssm.get_parameter_higher_throughput_tps
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
            room(get, q.secrets_manager.get_secret_value_tps);
            room(describe, q.secrets_manager.describe_secret_tps);
            peak.insert(QuotaKey::Api(Op::SmGetSecretValue), get);
            feasible &= !over(
                "GetSecretValue",
                get,
                q.secrets_manager.get_secret_value_tps,
                notes,
            );
            if describe > 0.0 {
                peak.insert(QuotaKey::Api(Op::SmDescribeSecret), describe);
                feasible &= !over(
                    "DescribeSecret",
                    describe,
                    q.secrets_manager.describe_secret_tps,
                    notes,
                );
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
    room(kms_rate, q.kms.symmetric_cryptographic_tps);
    if kms_rate > 0.0 {
        peak.insert(QuotaKey::KmsSymmetric, kms_rate);
        if kms_rate > q.kms.symmetric_cryptographic_tps {
            feasible = false;
            notes.push(format!(
                "infeasible at the default quota: peak {kms_rate:.0} KMS requests/s (counting requests the service makes on your behalf, with AWS managed keys too) is above the region's {} symmetric requests/s; the quota is adjustable",
                q.kms.symmetric_cryptographic_tps
            ));
        }
    }
    // Provisioned environments are initialised ahead of the traffic: no storm at the peak.
    if matches!(a.kind(), Kind::Cached | Kind::AtInit)
        && a.concurrency != secbench_record::ConcurrencyMode::Provisioned
    {
        let tightest = match a.source {
            Source::Ssm | Source::AgentSsm if !ssm_higher_throughput => {
                Some(q.ssm.get_parameter_standard_tps)
            }
            Source::Ssm | Source::AgentSsm => Some(q.ssm.get_parameter_higher_throughput_tps),
            Source::SecretsManager | Source::AgentSecretsManager => {
                Some(q.secrets_manager.get_secret_value_tps)
            }
            Source::KmsEnv => Some(q.kms.symmetric_cryptographic_tps),
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

/// The Secrets Manager, SSM and KMS request charges.
fn api_charges(
    a: Approach,
    w: &Workload,
    p: &Pricing,
    api_calls: &BTreeMap<Op, f64>,
    kms: Kms,
    ssm_higher_throughput: bool,
    lines: &mut Vec<Line>,
) {
    let calls = |op| calls(api_calls, op);
    let (kms_requests, kms_charged) = (kms.requests, kms.charged);
    let sm_calls = calls(Op::SmGetSecretValue) + calls(Op::SmDescribeSecret);
    if matches!(
        a.source,
        Source::SecretsManager | Source::AgentSecretsManager
    ) {
        lines.push(line(
            "Secrets Manager API calls",
            "api_requests",
            sm_calls / 1e4,
            "10,000 calls",
            p.secrets_manager.api_calls_per_10k_usd,
        ));
    }
    if matches!(a.source, Source::Ssm | Source::AgentSsm) {
        let (item, price) = if ssm_higher_throughput {
            (
                "SSM API interactions (higher throughput)",
                p.ssm.higher_throughput_per_10k_usd,
            )
        } else if w.ssm_parameter_tier == ParameterTier::Advanced {
            // Advanced parameters are charged per interaction at any throughput.
            (
                "SSM API interactions (advanced parameters, standard throughput)",
                p.ssm.advanced_parameter_interactions_per_10k_usd,
            )
        } else {
            (
                "SSM API interactions (standard throughput)",
                p.ssm.standard_throughput_per_10k_usd,
            )
        };
        lines.push(line(
            item,
            "api_requests",
            calls(Op::SsmGetParameter) / 1e4,
            "10,000 interactions",
            price,
        ));
    }
    if kms_requests > 0.0 {
        let free = if w.free_tier {
            p.kms.free_tier_requests.min(kms_charged)
        } else {
            0.0
        };
        if free > 0.0 {
            lines.push(line(
                "KMS requests (free tier)",
                "kms_requests",
                free / 1e4,
                "10,000 requests",
                0.0,
            ));
        }
        if kms_charged - free > 0.0 {
            lines.push(line(
                "KMS requests",
                "kms_requests",
                (kms_charged - free) / 1e4,
                "10,000 requests",
                p.kms.symmetric_requests_per_10k_usd,
            ));
        }
        if kms_requests > kms_charged {
            lines.push(line(
                "KMS requests on AWS managed keys (not charged: pricing switch)",
                "kms_requests",
                (kms_requests - kms_charged) / 1e4,
                "10,000 requests",
                0.0,
            ));
        }
    }
}

/// Provisioned concurrency: the environments kept provisioned all month, and the fetches at
/// the provisioned duration price (no free tier; INIT, with its fetch, runs while the
/// environment is provisioned, so the provisioned charge covers it).
fn provisioned(i: &Inputs<'_>, c: &Counts, lines: &mut Vec<Line>, notes: &mut Vec<String>) {
    let (w, p) = (i.workload, i.pricing);
    let functions = f64::from(w.functions);
    let gb = f64::from(w.memory_mb) / 1024.0;
    let rates = p.provisioned(w.architecture);
    let environments = w.provisioned_environments.unwrap_or(c.environments);
    lines.push(line(
        &format!("Provisioned concurrency: {environments} environment(s) × {gb} GB × the month"),
        "fixed",
        environments * gb * c.month_s * functions,
        "GB-second",
        rates.concurrency_usd_per_gb_second,
    ));
    notes.push(format!(
        "provisioned concurrency keeps {environments} environment(s) per function provisioned all month (workload `provisioned_environments`, default the average environments alive); the Lambda free tier does not apply to such functions"
    ));
    match i.latency {
        None => notes.push(
            "no latency for this approach (no run or workload [[latency]] entry): Lambda compute for fetching is left out".into(),
        ),
        Some(l) => lines.push(line(
            "Lambda compute fetching in invocations (provisioned duration price)",
            "lambda_compute",
            c.fetches * l.warm_mean_s * gb * functions,
            "GB-second",
            rates.duration_usd_per_gb_second,
        )),
    }
}

/// The Lambda compute spent fetching, cold and warm, through the volume tiers.
fn compute(i: &Inputs<'_>, c: &Counts, lines: &mut Vec<Line>, notes: &mut Vec<String>) {
    let (a, w, p) = (i.approach, i.workload, i.pricing);
    if a.concurrency == secbench_record::ConcurrencyMode::Provisioned {
        provisioned(i, c, lines, notes);
        return;
    }
    let functions = f64::from(w.functions);
    let secrets = f64::from(w.secrets);
    let gb = f64::from(w.memory_mb) / 1024.0;
    let miss_mean = i
        .miss_latency
        .map(|l| l.warm_mean_s)
        .or(i.latency.map(|l| l.warm_mean_s));
    match i.latency {
        None => notes.push(
            "no latency for this approach (no run or workload [[latency]] entry): Lambda compute for fetching is left out".into(),
        ),
        Some(l) => {
            let miss = miss_mean.unwrap_or(l.warm_mean_s);
            if a.kind() != Kind::Baseline && i.miss_latency.is_none() && a.kind() == Kind::Cached {
                notes.push(format!(
                    "no latency for {}: a refresh is priced as a cache hit",
                    a.miss_twin().name()
                ));
            }
            let first_at_cold = match a.kind() {
                Kind::Uncached | Kind::Baseline => f64::from(w.secrets_per_invocation),
                Kind::AtInit | Kind::Cached => secrets,
            };
            let cold_s = c.new_environments * (l.cold_mean_s + (first_at_cold - 1.0) * miss);
            let warm_s = match a.kind() {
                Kind::Uncached | Kind::Baseline => {
                    (c.fetches - c.new_environments * first_at_cold).max(0.0) * l.warm_mean_s
                }
                Kind::AtInit => c.fetches * l.warm_mean_s,
                Kind::Cached => {
                    c.refreshes * miss
                        + (c.fetches - c.misses - c.refreshes).max(0.0) * l.warm_mean_s
                }
            };
            let cold_gbs = cold_s * gb * functions;
            let warm_gbs = warm_s * gb * functions;
            let tiers = p.tiers(w.architecture);
            let mut free_left = if w.free_tier {
                (p.lambda.free_tier_gb_seconds - w.other_gb_seconds()).max(0.0)
            } else {
                0.0
            };
            let mut base = if w.free_tier {
                (w.other_gb_seconds() - p.lambda.free_tier_gb_seconds).max(0.0)
            } else {
                w.other_gb_seconds()
            };
            let cold_item = if p.lambda.init_billed {
                "Lambda compute fetching at cold start (INIT included)"
            } else {
                "Lambda compute fetching at cold start (INIT not billed: handler part only)"
            };
            for (item, gbs) in [
                (cold_item, cold_gbs),
                ("Lambda compute fetching in warm invocations", warm_gbs),
            ] {
                let free = free_left.min(gbs);
                free_left -= free;
                if free > 0.0 {
                    lines.push(line(
                        &format!("{item} (free tier)"),
                        "lambda_compute",
                        free,
                        "GB-second",
                        0.0,
                    ));
                }
                let billed = gbs - free;
                let cost = tiered_cost(tiers, base, billed);
                base += billed;
                lines.push(Line {
                    item: item.to_owned(),
                    category: "lambda_compute",
                    quantity: billed,
                    unit: "GB-second",
                    unit_price_usd: if billed > 0.0 {
                        cost / billed
                    } else {
                        tiered_cost(tiers, base, 1.0)
                    },
                    cost_usd: cost,
                    included_in_total: true,
                });
            }
        }
    }
}

/// The request charge (for context: every approach pays it alike) and the approach's notes.
fn context(a: Approach, w: &Workload, p: &Pricing, lines: &mut Vec<Line>, notes: &mut Vec<String>) {
    let functions = f64::from(w.functions);
    let requests = w.invocations_per_month * functions;
    let free_requests = if w.free_tier {
        p.lambda.free_tier_requests.min(requests)
    } else {
        0.0
    };
    let mut context = line(
        "Lambda requests (context: the same for every approach)",
        "lambda_requests",
        (requests - free_requests) / 1e6,
        "1M requests",
        p.lambda.requests_per_million_usd,
    );
    context.included_in_total = false;
    lines.push(context);

    match a.kind() {
        Kind::Baseline => notes.push(
            "baseline: the value sits in plaintext in the function's configuration; not a way to hold a secret".into(),
        ),
        Kind::AtInit => notes.push(
            "fetched once per environment at INIT: a rotated value is picked up only by new environments".into(),
        ),
        Kind::Cached if a.source.is_agent() => notes.push(format!(
            "the agent caches for its TTL ({}); the extension layer itself is free but its INIT and memory are billed with the function",
            secbench_record::duration::format(w.cache_ttl)
        )),
        _ => {}
    }
    // An assumption AWS's pages do not settle, said wherever it moves the figure.
    let managed = &p.kms.aws_managed_key_requests;
    let switch = match a.source {
        Source::Ssm | Source::AgentSsm => Some(("SSM", "aws/ssm", "ssm", &managed.ssm)),
        Source::SecretsManager | Source::AgentSecretsManager => Some((
            "Secrets Manager",
            "aws/secretsmanager",
            "secretsmanager",
            &managed.secretsmanager,
        )),
        _ => None,
    };
    if let Some((service, key, field, switch)) = switch {
        if w.kms_key == KmsKey::AwsManaged && !switch.confirmed {
            notes.push(format!(
                "unconfirmed: the KMS requests {service} makes with {key} are priced as {} (pricing switch kms.aws_managed_key_requests.{field}; AWS's pages do not settle it)",
                if switch.charged { "charged" } else { "free" }
            ));
        }
    }
    if w.free_tier
        && matches!(
            a.source,
            Source::SecretsManager | Source::AgentSecretsManager
        )
    {
        notes.push("Secrets Manager has no free tier (only a 30-day trial per secret)".into());
    }
}

fn line(
    item: &str,
    category: &'static str,
    quantity: f64,
    unit: &'static str,
    unit_price: f64,
) -> Line {
    Line {
        item: item.to_owned(),
        category,
        quantity,
        unit,
        unit_price_usd: unit_price,
        cost_usd: quantity * unit_price,
        included_in_total: true,
    }
}
