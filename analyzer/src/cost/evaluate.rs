//! The cost model put together: the pricing table as reports show it ([`PricingInfo`]), each
//! approach priced at a workload ([`evaluate`], [`report`] into a [`CostReport`]), and the
//! latencies it takes, from a workload's own figures or from measured runs.

use super::latency::{self, Latency, LatencyOrigin};
use super::model::{self, ApproachCost};
use super::pricing::{self, Pricing};
use super::workload::Workload;
use super::{many, recommend};
use crate::approach::Approach;
use serde::Serialize;
use std::collections::BTreeMap;

/// Version of the cost JSON (schema: analyzer/schema/cost.schema.json). Version 2 added each
/// approach's `staleness_bound` and `longest_staleness_s` and the objective's `max_staleness_s`.
pub const COST_SCHEMA_VERSION: u32 = 2;

/// The pricing table as the report shows it.
#[derive(Debug, Clone, Serialize)]
pub struct PricingInfo {
    /// The table's date.
    pub date: String,
    /// The file it came from.
    pub file: String,
    /// The region it was resolved for.
    pub region: String,
    /// Whether the table has overrides for that region (else us-east-1 list prices).
    pub region_overrides: bool,
    /// Sources of the figures.
    pub sources: BTreeMap<&'static str, String>,
    /// The assumptions the table makes, as switches.
    pub assumptions: Vec<String>,
}

impl PricingInfo {
    /// Describes `p` read from `file` for `region`.
    pub fn new(p: &Pricing, file: &str, region: &str, overridden: bool) -> PricingInfo {
        let sources = BTreeMap::from([
            ("lambda", p.lambda.source.clone()),
            ("kms", p.kms.source.clone()),
            ("secrets_manager", p.secrets_manager.source.clone()),
            ("ssm", p.ssm.source.clone()),
            ("quotas.ssm", p.quotas.ssm.source.clone()),
            (
                "quotas.secrets_manager",
                p.quotas.secrets_manager.source.clone(),
            ),
            ("quotas.kms", p.quotas.kms.source.clone()),
            ("cloudtrail", p.cloudtrail.source.clone()),
            ("vpc", p.vpc.source.clone()),
        ]);
        let mut assumptions = vec![
            managed_key_assumption("aws/secretsmanager", "secretsmanager", &p.kms.aws_managed_key_requests.secretsmanager),
            managed_key_assumption("aws/ssm", "ssm", &p.kms.aws_managed_key_requests.ssm),
            "KMS requests that services make for you, with AWS managed keys too, count toward the account's KMS request quota".into(),
            "Lambda's GB-second tiers aggregate per architecture and region over the account (or the organisation under consolidated billing): compute is priced on top of the workload's other GB-seconds of its architecture".into(),
            format!(
                "each GetSecretValue causes {} KMS request(s), each SecureString GetParameter {}",
                p.secrets_manager.kms_requests_per_get_secret_value, p.ssm.kms_requests_per_secure_get
            ),
            format!("a month is {} hours", p.month_hours),
            format!(
                "INIT is {}billed (lambda.init_billed)",
                if p.lambda.init_billed { "" } else { "not " }
            ),
            "secrets are not rotated during the month (a rotation adds one GetSecretValue per environment)".into(),
            format!(
                "BatchGetSecretValue is billed {} (secrets_manager.batch_get_secret_value_billed; unconfirmed: AWS's pricing page does not say)",
                match p.secrets_manager.batch_get_secret_value_billed {
                    pricing::BatchBilling::PerSecret => "per secret it returns", // pragma: allowlist secret
                    pricing::BatchBilling::PerCall => "per call",
                }
            ),
            p.secrets_manager.extension_refresh.describe(),
            format!(
                "an API call through a VPC endpoint or NAT gateway carries {} bytes unless the workload's [vpc] bytes_per_call says (vpc.assumed_bytes_per_call; AWS publishes no figure)",
                p.vpc.assumed_bytes_per_call
            ),
        ];
        assumptions.push(if overridden {
            format!("the table overrides some figures for {region}; the others are us-east-1 list prices and default quotas")
        } else {
            format!("no overrides for {region} in the table: us-east-1 list prices and default quotas are used")
        });
        PricingInfo {
            date: p.date.clone(),
            file: file.to_owned(),
            region: region.to_owned(),
            region_overrides: overridden,
            sources,
            assumptions,
        }
    }
}

fn managed_key_assumption(key: &str, field: &str, switch: &pricing::ManagedKeySwitch) -> String {
    format!(
        "KMS requests made for you with {key} are {} (kms.aws_managed_key_requests.{field}){}",
        if switch.charged {
            "charged"
        } else {
            "not charged"
        },
        if switch.confirmed {
            format!(", as {} says", switch.source)
        } else {
            ": unconfirmed, AWS's pages do not settle it".to_owned()
        }
    )
}

/// The whole cost answer.
#[derive(Debug, Clone, Serialize)]
pub struct CostReport {
    /// Always [`COST_SCHEMA_VERSION`].
    pub cost_schema_version: u32,
    /// The table used.
    pub pricing: PricingInfo,
    /// The workload, echoed back.
    pub workload: Workload,
    /// Derived counts, per function per month.
    pub derived: Derived,
    /// Where latencies came from.
    pub latency_origin: LatencyOrigin,
    /// Every approach, cheapest first.
    pub approaches: Vec<ApproachCost>,
    /// The recommendation.
    pub recommendation: recommend::Recommendation,
    /// How API calls are counted (the formula, for the report).
    pub formula: &'static str,
    /// Reading the workload's `secrets_per_invocation` values in each mode (many secrets per
    /// function).
    pub many: Vec<many::ModeCost>,
}

/// Derived workload figures.
#[derive(Debug, Clone, Serialize)]
pub struct Derived {
    /// Average environments alive at once, per function.
    pub environments: f64,
    /// New environments per month, per function.
    pub new_environments_per_month: f64,
    /// Fetches asked for per month, per function.
    pub fetches_per_month: f64,
}

/// The counting formula in words.
pub const FORMULA: &str = "calls/month = new environments × secrets + (environment time / cache TTL) × secrets, at most invocations × secrets per invocation; without a cache, invocations × secrets per invocation; fetching at INIT, new environments × secrets. New environments = min(invocations, environments × month / environment lifetime).";

/// Latencies per approach, by name.
pub type Latencies = BTreeMap<Approach, Latency>;

/// Prices every approach.
pub fn evaluate(
    w: &Workload,
    p: &Pricing,
    latencies: &Latencies,
    extra_notes: &BTreeMap<Approach, Vec<String>>,
) -> Vec<ApproachCost> {
    // The Rust approaches always (from the workload's table when not measured), and each
    // approach measured in another runtime.
    let measured_elsewhere = latencies
        .keys()
        .filter(|a| {
            a.runtime != secbench_record::Runtime::Rust
                || a.concurrency == secbench_record::ConcurrencyMode::ManagedInstances
        })
        .copied();
    let mut out: Vec<ApproachCost> = Approach::all()
        .into_iter()
        .chain(measured_elsewhere)
        .map(|a| {
            let mut c = model::price(model::Inputs {
                approach: a,
                latency: latencies.get(&a).copied(),
                miss_latency: latencies.get(&a.miss_twin()).copied(),
                workload: w,
                pricing: p,
            });
            if let Some(n) = extra_notes.get(&a) {
                c.notes.extend(n.iter().cloned());
            }
            c
        })
        .collect();
    out.sort_by(|a, b| a.monthly_cost_usd.total_cmp(&b.monthly_cost_usd));
    out
}

/// Latencies for every approach from a workload's table.
pub fn latencies_from_workload(w: &Workload) -> Latencies {
    Approach::all()
        .into_iter()
        .filter_map(|a| latency::from_workload(w, &a).map(|l| (a, l)))
        .collect()
}

/// Latencies from a summary, plus notes where the measured API calls per first fetch differ
/// from what the model assumes.
/// `idle`: when the workload's environments see requests further apart than the runs' idle
/// timeout, the scenarios whose warm fetches found their connection closed; an approach
/// measured there takes its warm figures from them.
pub fn latencies_from_summary(
    s: &crate::summary::Summary,
    w: &Workload,
    exclude: &std::collections::BTreeSet<String>,
    idle: Option<&IdleWorkload>,
) -> (Latencies, BTreeMap<Approach, Vec<String>>) {
    let mut lat = Latencies::new();
    let mut notes: BTreeMap<Approach, Vec<String>> = BTreeMap::new();
    // The Rust approaches, and those the run measured in the Node.js and Python probes.
    let mut approaches = Approach::all();
    for g in &s.groups {
        if let Some(a) = Approach::of(&g.key).filter(|a| {
            a.runtime != secbench_record::Runtime::Rust
                || a.concurrency == secbench_record::ConcurrencyMode::ManagedInstances
        }) {
            if !approaches.contains(&a) {
                approaches.push(a);
            }
        }
    }
    let baseline_init = |runtime| {
        let plain = Approach {
            source: secbench_record::Source::PlainEnv,
            cache: secbench_record::CacheMode::None,
            fetch_at: secbench_record::FetchAt::Handler,
            concurrency: secbench_record::ConcurrencyMode::OnDemand,
            runtime,
            single_flight: false,
        };
        latency::from_summary(s, w, &plain, exclude)?.platform_init_mean_s
    };
    for a in approaches {
        let Some(m) = latency::from_summary(s, w, &a, exclude) else {
            continue;
        };
        let n = notes.entry(a).or_default();
        n.push(format!("latency measured in {}", m.scenarios.join(", ")));
        if let Some(mut l) = m.latency {
            if let Some((warm, scenario)) =
                idle.and_then(|i| latency::idle_warm(s, w, &a, &i.scenarios))
            {
                [l.warm_p50_s, l.warm_p99_s, l.warm_mean_s] = warm;
                if let Some(i) = idle {
                    n.push(format!(
                        "warm latency from {scenario}: the workload's environments see a request every {:.0} s, longer than the idle timeout the runs assumed ({}), so a warm fetch finds its connection closed",
                        i.seconds_between_requests,
                        secbench_record::duration::format(i.timeout)
                    ));
                }
            }
            // The extension's share of INIT: what its cold starts' Init Duration adds to the
            // plaintext baseline's in the same runtime.
            if a.source.is_agent() {
                l.extension_init_s = m
                    .platform_init_mean_s
                    .zip(baseline_init(a.runtime))
                    .map(|(agent, plain)| (agent - plain).max(0.0));
                if l.extension_init_s.is_some() && s.local_emulator {
                    n.push("the extension's INIT share is the local stage's stand-in (secbench-agent), not the AWS layer's".into());
                }
            }
            lat.insert(a, l);
        }
        for (op, per_fetch) in &m.cold_calls_per_fetch {
            if (per_fetch - 1.0).abs() > 0.05 && a.cache == secbench_record::CacheMode::None {
                n.push(format!(
                    "the run measured {per_fetch:.2} {op} per cold fetch; the model assumes 1"
                ));
            }
        }
    }
    (lat, notes)
}

/// A workload whose environments idle past the runs' idle timeout between requests.
#[derive(Debug, Clone)]
pub struct IdleWorkload {
    /// Seconds between two requests of one environment ([`super::counts::seconds_between_requests`]).
    pub seconds_between_requests: f64,
    /// The runs' idle timeout.
    pub timeout: std::time::Duration,
    /// The scenarios measured idle.
    pub scenarios: std::collections::BTreeSet<String>,
}

impl IdleWorkload {
    /// `Some` when `w`'s environments wait at least the runs' idle timeout between requests.
    pub fn of(
        w: &Workload,
        p: &super::pricing::Pricing,
        families: &crate::family::Families,
    ) -> Option<IdleWorkload> {
        let timeout = families.idle_timeout()?;
        let scenarios = families.scenarios_of(crate::family::Family::Idle);
        let between = super::counts::seconds_between_requests(w, p);
        (between >= timeout.as_secs_f64()).then_some(IdleWorkload {
            seconds_between_requests: between,
            timeout,
            scenarios,
        })
    }
}

/// What the runs (or the workload's table) measured, as the report prices it.
#[derive(Debug, Clone, Copy)]
pub struct Measurements<'a> {
    /// Latencies per approach.
    pub latencies: &'a Latencies,
    /// Notes per approach.
    pub notes: &'a BTreeMap<Approach, Vec<String>>,
    /// The rounds of several values.
    pub round_times: &'a many::RoundTimes,
}

/// Builds the report.
pub fn report(
    w: &Workload,
    p: &Pricing,
    info: PricingInfo,
    measured: Measurements<'_>,
    origin: LatencyOrigin,
    slo: &recommend::Slo,
) -> CostReport {
    let Measurements {
        latencies,
        notes,
        round_times,
    } = measured;
    let approaches = evaluate(w, p, latencies, notes);
    let recommendation = recommend::recommend(&approaches, slo);
    let c = model::counts(Approach::all()[0], w, p);
    CostReport {
        cost_schema_version: COST_SCHEMA_VERSION,
        pricing: info,
        workload: w.clone(),
        derived: Derived {
            environments: c.environments,
            new_environments_per_month: c.new_environments,
            fetches_per_month: c.fetches,
        },
        latency_origin: origin,
        approaches,
        recommendation,
        formula: FORMULA,
        many: many::price_modes(w, p, round_times),
    }
}
