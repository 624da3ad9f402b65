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

use super::counts::{api_calls, calls, Kind, Modelled};
pub use super::counts::{counts, environments, Counts, Op};
use super::quota::peaks;
pub use super::quota::{peak_rates, PeakRates, QuotaKey};
use crate::approach::Approach;

/// One priced line.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Line {
    /// What is charged.
    pub item: String,
    /// `fixed`, `api_requests`, `kms_requests`, `lambda_compute`, `trail_copies`,
    /// `vpc_access`, `lmi_capacity` (Lambda Managed Instances' instances and fee) or
    /// `lambda_requests`.
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

/// Prices one approach: its API calls, the KMS requests they cause, fixed fees, peak rates
/// against the quotas, the API and KMS charges, the Lambda compute spent fetching, and the
/// request charge for context; each a section below.
pub fn price(i: Inputs<'_>) -> ApproachCost {
    let (a, w, p) = (i.approach, i.workload, i.pricing);
    let mut notes = Vec::new();
    let mut lines = Vec::new();
    // Lambda Managed Instances: the capacity the peak needs decides the counts and the price.
    let lmi = match (a.concurrency, i.latency.and_then(|l| l.managed)) {
        (secbench_record::ConcurrencyMode::ManagedInstances, Some(m)) => {
            match super::managed::capacity(w, p, &m) {
                Ok(capacity) => Some((m, capacity)),
                Err(why) => {
                    notes.push(format!("not priced as Lambda Managed Instances: {}", why.0));
                    None
                }
            }
        }
        (secbench_record::ConcurrencyMode::ManagedInstances, None) => {
            notes.push("no Lambda Managed Instances measurement (CPU per invocation, workers per environment): priced as on demand".into());
            None
        }
        _ => None,
    };
    let c = match &lmi {
        Some((m, capacity)) => super::managed::counts(a, w, p, m, capacity),
        None => counts(a, w, p),
    };
    let api_calls = api_calls(a, &c, w, p);
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
    match &lmi {
        Some((m, capacity)) => {
            let (capacity_lines, capacity_notes) = managed_lines(w, p, capacity, m);
            lines.extend(capacity_lines);
            notes.extend(capacity_notes);
        }
        None => compute(&i, &c, &mut lines, &mut notes),
    }
    if a.concurrency == secbench_record::ConcurrencyMode::SnapStart {
        let s = super::snapstart::charges(w, p, &c);
        let gb = f64::from(w.memory_mb) / 1024.0;
        lines.push(line(
            &format!("SnapStart restores: {:.0} × {gb} GB", s.restores),
            "snapstart",
            s.gb_restored,
            "GB restored",
            p.lambda.snapstart.restore_usd_per_gb,
        ));
        lines.push(line(
            &format!(
                "SnapStart snapshot cache: {} version(s) all month (at least {} × 3 h) × {gb} GB",
                s.active_versions, s.versions_per_month
            ),
            "snapstart",
            s.cached_gb_seconds,
            "GB-second",
            p.lambda.snapstart.cache_usd_per_gb_second,
        ));
        notes.extend(s.notes);
    }
    trail_copies(w, p, &api_calls, kms, &mut lines);
    vpc_access(w, p, &api_calls, &mut lines, &mut notes);
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
        // Each of the key's first rotations adds to its fee for good; later ones are free.
        let charged = w.kms_key_rotations.min(p.kms.charged_rotations);
        if charged > 0 {
            lines.push(line(
                &format!(
                    "KMS key rotations ({} so far; the first {} are charged)",
                    w.kms_key_rotations, p.kms.charged_rotations
                ),
                "fixed",
                f64::from(charged),
                "rotation-month",
                p.kms.rotation_per_month_usd,
            ));
        }
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

/// The copies of the calls' management events that trails beyond the first deliver: every API
/// call the functions make, and every KMS request (the services' on the function's behalf
/// included) unless those trails leave KMS events out.
fn trail_copies(
    w: &Workload,
    p: &Pricing,
    api_calls: &BTreeMap<Op, f64>,
    kms: Kms,
    lines: &mut Vec<Line>,
) {
    if w.extra_trails == 0 {
        return;
    }
    let not_kms: f64 = api_calls
        .iter()
        .filter(|(op, _)| **op != Op::KmsDecrypt)
        .map(|(_, n)| n)
        .sum();
    let events = not_kms
        + if w.extra_trails_exclude_kms {
            0.0
        } else {
            kms.requests
        };
    if events <= 0.0 {
        return;
    }
    lines.push(line(
        &format!(
            "CloudTrail: {} extra trail cop{} of the calls' management events{}",
            w.extra_trails,
            if w.extra_trails == 1 { "y" } else { "ies" },
            if w.extra_trails_exclude_kms {
                " (KMS events excluded)"
            } else {
                ""
            }
        ),
        "trail_copies",
        f64::from(w.extra_trails) * events / 1e5,
        "100,000 events",
        p.cloudtrail.additional_copy_per_100k_events_usd,
    ));
}

/// A function in a VPC reaches each service it calls through an interface endpoint (per AZ-hour,
/// and per GB) or a NAT gateway (per GB, and per hour for gateways of its own). Endpoints serve
/// every function of the workload in the VPC, so they are counted once.
fn vpc_access(
    w: &Workload,
    p: &Pricing,
    api_calls: &BTreeMap<Op, f64>,
    lines: &mut Vec<Line>,
    notes: &mut Vec<String>,
) {
    use super::workload::VpcAccess;
    let Some(vpc) = &w.vpc else { return };
    let calls: f64 = api_calls.values().sum();
    let (bytes, assumed) = match vpc.bytes_per_call {
        Some(b) => (b, false),
        None => (p.vpc.assumed_bytes_per_call, true),
    };
    let gb = calls * bytes / f64::from(1u32 << 30);
    let azs = f64::from(vpc.availability_zones);
    match vpc.access {
        VpcAccess::Endpoints => {
            let mut endpoints: Vec<&str> = api_calls
                .iter()
                .filter(|(_, n)| **n > 0.0)
                .map(|(op, _)| op.endpoint())
                .collect();
            endpoints.dedup();
            for e in &endpoints {
                lines.push(line(
                    &format!(
                        "VPC interface endpoint {e} ({} AZs)",
                        vpc.availability_zones
                    ),
                    "vpc_access",
                    azs * p.month_hours,
                    "AZ-hour",
                    p.vpc.interface_endpoint_per_az_hour_usd,
                ));
            }
            if !endpoints.is_empty() {
                lines.push(line(
                    "VPC interface endpoints: data processed",
                    "vpc_access",
                    gb,
                    "GB",
                    p.vpc.interface_endpoint_per_gb_usd,
                ));
            }
        }
        VpcAccess::Nat => {
            if vpc.nat_gateways > 0 {
                lines.push(line(
                    "NAT gateways of these functions",
                    "vpc_access",
                    f64::from(vpc.nat_gateways) * p.month_hours,
                    "gateway-hour",
                    p.vpc.nat_gateway_per_hour_usd,
                ));
            }
            if calls > 0.0 {
                lines.push(line(
                    "NAT gateway: data processed",
                    "vpc_access",
                    gb,
                    "GB",
                    p.vpc.nat_gateway_per_gb_usd,
                ));
            }
        }
    }
    if assumed && calls > 0.0 {
        notes.push(format!(
            "VPC data processed: {} bytes per API call assumed (the pricing table's vpc.assumed_bytes_per_call; AWS publishes no figure; set [vpc] bytes_per_call)",
            p.vpc.assumed_bytes_per_call
        ));
    }
}

/// The price of `gbs` GB-seconds more of the workload's architecture: the free tier left after
/// the account's other GB-seconds first (when the workload has it), then the volume tiers on
/// top of those GB-seconds.
pub(crate) fn gb_seconds_usd(w: &Workload, p: &Pricing, gbs: f64) -> f64 {
    let (free_left, base) = gb_second_start(w, p);
    tiered_cost(p.tiers(w.architecture), base, gbs - free_left.min(gbs))
}

/// Where a workload's compute starts: the free GB-seconds left, and the GB-seconds already in
/// the tiers.
fn gb_second_start(w: &Workload, p: &Pricing) -> (f64, f64) {
    if w.free_tier {
        (
            (p.lambda.free_tier_gb_seconds - w.other_gb_seconds()).max(0.0),
            (w.other_gb_seconds() - p.lambda.free_tier_gb_seconds).max(0.0),
        )
    } else {
        (0.0, w.other_gb_seconds())
    }
}

/// The charged KMS requests the account's free tier takes, when the workload still has it.
pub(crate) fn kms_free(w: &Workload, p: &Pricing, charged: f64) -> f64 {
    if w.free_tier {
        p.kms.free_tier_requests.min(charged)
    } else {
        0.0
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
        let free = kms_free(w, p, kms_charged);
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

/// Lambda Managed Instances: the instances and the management fee ([`super::managed`]).
fn managed_lines(
    w: &Workload,
    p: &Pricing,
    c: &super::managed::Capacity,
    m: &super::managed::ManagedMeasure,
) -> (Vec<Line>, Vec<String>) {
    let prices = &p.lambda.managed_instances;
    let hours = c.instances * p.month_hours;
    let instances = line(
        &format!(
            "Lambda Managed Instances: {} × {} ({} vCPUs) × {} h (EC2 on-demand)",
            c.instances, c.instance_type, c.instance_vcpus, p.month_hours
        ),
        "lmi_capacity",
        hours,
        "instance-hour",
        c.usd_per_hour,
    );
    let fee = line(
        &format!(
            "Lambda Managed Instances management fee ({} % of the instances' on-demand price)",
            prices.management_fee_fraction * 100.0
        ),
        "lmi_capacity",
        hours,
        "instance-hour",
        c.usd_per_hour * prices.management_fee_fraction,
    );
    let (target, assumed) = c.target_cpu_utilization;
    let notes = vec![format!(
        "Lambda Managed Instances: {} environment(s) per function ({} vCPU(s), up to {} invocations at once, {} cache(s) each) for a peak of {} requests/s at {:.3} ms of CPU per invocation and {:.0} % CPU utilisation{}, on {} {} instance(s) (at least {}: AWS launches three at publish); no duration charge; the request charge is the on-demand one",
        c.environments,
        m.vcpus,
        m.max_concurrency,
        m.workers_per_environment,
        w.peak_rps,
        m.cpu_s_per_invocation * 1e3,
        target * 100.0,
        if assumed {
            " (assumed: AWS does not document the default target; the workload's [managed_instances] target_cpu_utilization)"
        } else {
            ""
        },
        c.instances,
        c.instance_type,
        prices.minimum_instances
    )];
    (vec![instances, fee], notes)
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
            // The extension starts in every new environment's INIT, billed with it.
            let extension_gbs = match (a.source.is_agent(), l.extension_init_s) {
                (false, _) => 0.0,
                (true, Some(s)) if p.lambda.init_billed => {
                    c.new_environments * s * gb * functions
                }
                (true, Some(_)) => 0.0,
                (true, None) => {
                    notes.push("the extension's share of INIT was not measured (no plaintext baseline's cold starts beside it, or no workload extension_init): left out".into());
                    0.0
                }
            };
            // The extension's memory: that much more configured memory over the function's
            // billed duration (Lambda bills the configured size, not what is used).
            let extension_memory_gbs = match (a.source.is_agent(), w.extension_memory_mb) {
                (false, _) => 0.0,
                (true, None) => {
                    notes.push("the extension's memory is not priced: give the workload's extension_memory_mb (AWS documents no footprint)".into());
                    0.0
                }
                (true, Some(mb)) => match w.avg_duration {
                    Some(d) => {
                        w.invocations_per_month * functions * d.as_secs_f64() * mb / 1024.0
                    }
                    None => {
                        notes.push("the extension's memory is not priced: it needs the function's billed duration (the workload's avg_duration)".into());
                        0.0
                    }
                },
            };
            let tiers = p.tiers(w.architecture);
            let (mut free_left, mut base) = gb_second_start(w, p);
            let cold_item = if p.lambda.init_billed {
                "Lambda compute fetching at cold start (INIT included)"
            } else {
                "Lambda compute fetching at cold start (INIT not billed: handler part only)"
            };
            let mut items = vec![
                (cold_item, cold_gbs),
                ("Lambda compute fetching in warm invocations", warm_gbs),
            ];
            if extension_gbs > 0.0 {
                items.push((
                    "Lambda compute of the extension's INIT (its share of Init Duration)",
                    extension_gbs,
                ));
            }
            if extension_memory_gbs > 0.0 {
                items.push((
                    "Lambda compute of the extension's memory (configured on top, over the billed duration)",
                    extension_memory_gbs,
                ));
            }
            for (item, gbs) in items {
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
            "the agent caches for its TTL ({}); the extension layer itself is free but its INIT and memory are billed with the function: its INIT share is priced when measured, its memory is not (the function's memory size is assumed to have room for it)",
            secbench_record::duration::format(w.cache_ttl)
        )),
        _ => {}
    }
    // The extension's refresh call moves the agent's calls, KMS requests and quota.
    if a.source == Source::AgentSecretsManager {
        notes.push(p.secrets_manager.extension_refresh.describe());
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

pub(crate) fn line(
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
