//! The pricing table (`analyzer/pricing/aws.toml`, or `--pricing FILE`): dated prices and
//! quotas with their sources, resolved for one region (`[region."NAME"]` overrides merged
//! over the defaults), read strictly and checked before any figure is used.

use super::error::CostError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The table shipped with secbench.
pub const DEFAULT_TABLE: &str = include_str!("../../pricing/aws.toml");

/// Where the shipped table lives in the repository (for messages).
pub const DEFAULT_PATH: &str = "analyzer/pricing/aws.toml";

/// A pricing table resolved for one region.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pricing {
    /// When the figures were checked (`YYYY-MM-DD`).
    pub date: String,
    /// Always `USD`.
    pub currency: String,
    /// Hours in a billing month (AWS uses 730).
    pub month_hours: f64,
    /// AWS Lambda.
    pub lambda: LambdaPrices,
    /// AWS KMS.
    pub kms: KmsPrices,
    /// AWS Secrets Manager.
    pub secrets_manager: SecretsManagerPrices,
    /// SSM Parameter Store.
    pub ssm: SsmPrices,
    /// AWS CloudTrail.
    pub cloudtrail: CloudTrailPrices,
    /// A VPC's ways out to the services: interface endpoints and NAT gateways.
    pub vpc: VpcPrices,
    /// Runs inside AWS: the state machine's transitions and the results bucket.
    pub in_aws: InAwsPrices,
    /// Request quotas.
    pub quotas: Quotas,
    /// Per-region overrides (consumed by [`load`]; empty once resolved).
    #[serde(default, skip_serializing)]
    pub region: toml::Table,
}

/// Lambda prices.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LambdaPrices {
    /// Page the figures come from.
    pub source: String,
    /// Per million requests.
    pub requests_per_million_usd: f64,
    /// Requests free each month.
    pub free_tier_requests: f64,
    /// GB-seconds free each month.
    pub free_tier_gb_seconds: f64,
    /// Whether INIT time is billed (it is for custom runtimes).
    pub init_billed: bool,
    /// Provisioned concurrency, per architecture.
    pub provisioned: ProvisionedPrices,
    /// Lambda Managed Instances: the capacity provider's instances and Lambda's fee.
    pub managed_instances: ManagedInstancesPrices,
    /// SnapStart: the snapshot's cache and its restores.
    pub snapstart: SnapStartPrices,
    /// Compute price tiers per architecture.
    pub gb_second_tiers: GbSecondTiers,
}

/// SnapStart's charges (Python and .NET; Java's are not charged).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnapStartPrices {
    /// The pages the figures come from.
    pub source: String,
    /// Per GB-second of memory a published version's snapshot is cached.
    pub cache_usd_per_gb_second: f64,
    /// Per GB of memory restored, each restore.
    pub restore_usd_per_gb: f64,
    /// The shortest cache charge per version, seconds (three hours).
    pub minimum_cache_seconds: f64,
}

/// Provisioned concurrency's prices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvisionedPrices {
    /// The page the figures come from.
    pub source: String,
    /// x86_64.
    pub x86_64: ProvisionedRates,
    /// arm64.
    pub arm64: ProvisionedRates,
}

/// What provisioned concurrency costs on one architecture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvisionedRates {
    /// Per GB-second an environment is provisioned, whether it runs or not.
    pub concurrency_usd_per_gb_second: f64,
    /// Per GB-second of invocation on a provisioned environment (instead of the on-demand
    /// duration price; the free tier does not apply).
    pub duration_usd_per_gb_second: f64,
}

/// Lambda Managed Instances' prices: the EC2 instances a capacity provider runs (on-demand,
/// Linux), Lambda's management fee on them and its request charge; no duration charge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManagedInstancesPrices {
    /// The pages the figures come from.
    pub source: String,
    /// The management fee, as a fraction of the instances' on-demand price.
    pub management_fee_fraction: f64,
    /// Per million requests.
    pub requests_per_million_usd: f64,
    /// Instances a capacity provider runs at least (AWS launches three, one per Availability
    /// Zone, when a version is published).
    pub minimum_instances: u32,
    /// The instance type each architecture is priced with unless the workload names one.
    pub default_instance: BTreeMap<String, String>,
    /// Instance types by name.
    pub instances: BTreeMap<String, Instance>,
}

/// One EC2 instance type a capacity provider can use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Instance {
    /// `x86_64` or `arm64`.
    pub architecture: String,
    /// vCPUs.
    pub vcpus: u32,
    /// Memory, GiB.
    pub memory_gib: f64,
    /// On-demand price per hour (Linux).
    pub usd_per_hour: f64,
}

/// Compute tiers per architecture.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GbSecondTiers {
    /// x86_64.
    pub x86_64: Vec<Tier>,
    /// arm64 (Graviton).
    pub arm64: Vec<Tier>,
}

/// One volume tier: the price applies up to `up_to_gb_seconds` (the last tier has no bound).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    /// Upper bound of the tier in monthly GB-seconds; absent on the last tier.
    pub up_to_gb_seconds: Option<f64>,
    /// Price per GB-second.
    pub usd: f64,
}

/// What a run inside AWS adds besides the driver's Lambda time (`secbench run --in-aws`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InAwsPrices {
    /// The pages the figures come from.
    pub source: String,
    /// Step Functions Standard, per state transition.
    pub state_transition_usd: f64,
    /// S3 Standard, per 1,000 PUT, COPY, POST or LIST requests.
    pub s3_put_list_per_1000_usd: f64,
    /// S3 Standard, per 1,000 GET requests.
    pub s3_get_per_1000_usd: f64,
    /// S3 Standard storage, per GB-month (first 50 TB).
    pub s3_gb_month_usd: f64,
}

/// CloudTrail prices.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloudTrailPrices {
    /// Page the figures come from.
    pub source: String,
    /// Per 100,000 management events delivered by a copy beyond the first.
    pub additional_copy_per_100k_events_usd: f64,
}

/// VPC access prices.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VpcPrices {
    /// Pages the figures come from.
    pub source: String,
    /// An interface endpoint, per AZ-hour.
    pub interface_endpoint_per_az_hour_usd: f64,
    /// Data an interface endpoint processes, per GB.
    pub interface_endpoint_per_gb_usd: f64,
    /// A NAT gateway, per hour.
    pub nat_gateway_per_hour_usd: f64,
    /// Data a NAT gateway processes, per GB.
    pub nat_gateway_per_gb_usd: f64,
    /// Bytes an API call sends and receives through either, when the workload does not say: an
    /// assumption (AWS publishes none).
    pub assumed_bytes_per_call: f64,
}

/// KMS prices.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KmsPrices {
    /// Page the figures come from.
    pub source: String,
    /// A customer managed key per month.
    pub customer_managed_key_per_month_usd: f64,
    /// Per 10,000 symmetric requests.
    pub symmetric_requests_per_10k_usd: f64,
    /// Requests free each month.
    pub free_tier_requests: f64,
    /// What each charged automatic rotation of a customer managed key adds per month.
    pub rotation_per_month_usd: f64,
    /// How many rotations are charged (later ones are free).
    pub charged_rotations: u32,
    /// Whether the requests each service makes with its AWS managed key are charged.
    pub aws_managed_key_requests: AwsManagedKeyRequests,
}

/// Per service: are the KMS requests it makes with its AWS managed key charged?
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsManagedKeyRequests {
    /// `aws/secretsmanager`.
    pub secretsmanager: ManagedKeySwitch,
    /// `aws/ssm`.
    pub ssm: ManagedKeySwitch,
}

/// One service's switch: the reading priced, whether AWS's pages settle it, and where.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManagedKeySwitch {
    /// Priced as charged.
    pub charged: bool,
    /// AWS's pages settle it; when false, every output that depends on it says so.
    pub confirmed: bool,
    /// The page.
    #[serde(skip_serializing)]
    pub source: String,
}

/// Secrets Manager prices.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretsManagerPrices {
    /// Page the figures come from.
    pub source: String,
    /// A secret per month.
    pub secret_per_month_usd: f64,
    /// Per 10,000 API calls.
    pub api_calls_per_10k_usd: f64,
    /// KMS requests each `GetSecretValue` causes.
    pub kms_requests_per_get_secret_value: f64,
    /// Whether a `BatchGetSecretValue` is billed as one API call or as one per secret it
    /// returns: AWS's pricing page does not say, so it is a switch (default: per secret, the
    /// more expensive reading).
    #[serde(default)]
    pub batch_get_secret_value_billed: BatchBilling,
    /// What the Parameters and Secrets extension calls to refresh a secret (a table without it:
    /// describe-then-get, unconfirmed).
    #[serde(default)]
    pub extension_refresh: ExtensionRefresh,
}

/// What the Parameters and Secrets extension calls when a secret's TTL has passed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RefreshCalls {
    /// `DescribeSecret`, and `GetSecretValue` only when the version changed (which the model,
    /// pricing no rotation, never counts).
    #[default]
    DescribeThenGet,
    /// `GetSecretValue` every time.
    Get,
}

/// The extension's refresh call: the reading priced, whether AWS's pages settle it, and where.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtensionRefresh {
    /// The calls priced.
    pub calls: RefreshCalls,
    /// AWS's pages settle it; when false, every output that depends on it says so.
    pub confirmed: bool,
    /// The pages.
    #[serde(skip_serializing)]
    pub source: String,
}

impl Default for ExtensionRefresh {
    fn default() -> Self {
        ExtensionRefresh {
            calls: RefreshCalls::DescribeThenGet,
            confirmed: false,
            source: String::new(),
        }
    }
}

impl ExtensionRefresh {
    /// How the refresh is priced, and whether AWS's pages settle it: said in the table's
    /// assumptions and in the notes of every approach it prices.
    pub fn describe(&self) -> String {
        format!(
            "the Parameters and Secrets extension refreshes a secret with {} (secrets_manager.extension_refresh{})",
            match self.calls {
                RefreshCalls::DescribeThenGet => {
                    "DescribeSecret, and GetSecretValue only when the version changed"
                }
                RefreshCalls::Get => "GetSecretValue",
            },
            if self.confirmed {
                ""
            } else {
                "; unconfirmed: the Lambda guide says only that it \"retrieves it from Secrets Manager\""
            }
        )
    }
}

/// How a `BatchGetSecretValue` is billed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchBilling {
    /// One API call per secret returned.
    #[default]
    PerSecret,
    /// One API call per request.
    PerCall,
}

/// SSM Parameter Store prices.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SsmPrices {
    /// Page the figures come from.
    pub source: String,
    /// A standard parameter per month.
    pub standard_parameter_per_month_usd: f64,
    /// An advanced parameter per month.
    pub advanced_parameter_per_month_usd: f64,
    /// Per 10,000 API interactions at standard throughput.
    pub standard_throughput_per_10k_usd: f64,
    /// Per 10,000 API interactions with higher throughput enabled.
    pub higher_throughput_per_10k_usd: f64,
    /// Per 10,000 API interactions on advanced parameters, at any throughput.
    pub advanced_parameter_interactions_per_10k_usd: f64,
    /// KMS requests each `GetParameter` WithDecryption of a SecureString causes.
    pub kms_requests_per_secure_get: f64,
}

/// Request quotas (per second, per account and region).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Quotas {
    /// SSM.
    pub ssm: SsmQuotas,
    /// Secrets Manager.
    pub secrets_manager: SecretsManagerQuotas,
    /// KMS.
    pub kms: KmsQuotas,
}

/// SSM quotas.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SsmQuotas {
    /// Page the figures come from.
    pub source: String,
    /// `GetParameter` at standard throughput (shared with GetParameters, GetParametersByPath).
    pub get_parameter_standard_tps: f64,
    /// `GetParameter` with higher throughput.
    pub get_parameter_higher_throughput_tps: f64,
    /// `GetParameters` with higher throughput.
    pub get_parameters_higher_throughput_tps: f64,
    /// `GetParametersByPath` with higher throughput.
    pub get_parameters_by_path_higher_throughput_tps: f64,
}

/// Secrets Manager quotas.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretsManagerQuotas {
    /// Page the figures come from.
    pub source: String,
    /// `GetSecretValue`.
    pub get_secret_value_tps: f64,
    /// `DescribeSecret` (the caching library's and the agent's refreshes).
    pub describe_secret_tps: f64,
    /// `BatchGetSecretValue`.
    pub batch_get_secret_value_tps: f64,
}

/// KMS quotas.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KmsQuotas {
    /// Page the figures come from.
    pub source: String,
    /// Symmetric cryptographic operations (Decrypt, Encrypt, ...) shared.
    pub symmetric_cryptographic_tps: f64,
}

/// The table read from `path` (or the shipped one) and resolved for `region`.
pub fn load(path: Option<&Path>, region: &str) -> Result<(Pricing, PathBuf, bool), CostError> {
    let (text, shown) = match path {
        Some(p) => (
            std::fs::read_to_string(p).map_err(|source| CostError::Io {
                path: p.to_path_buf(),
                source,
            })?,
            p.to_path_buf(),
        ),
        None => (DEFAULT_TABLE.to_owned(), PathBuf::from(DEFAULT_PATH)),
    };
    let (pricing, overridden) = parse(&text, region).map_err(|(field, message)| match field {
        None => CostError::Syntax {
            path: shown.clone(),
            message,
        },
        Some(field) => CostError::Invalid {
            path: shown.clone(),
            field,
            message,
        },
    })?;
    Ok((pricing, shown, overridden))
}

/// Parses and resolves; the error is (field, message), field `None` for syntax errors.
/// The flag says whether the region had overrides.
pub fn parse(text: &str, region: &str) -> Result<(Pricing, bool), (Option<String>, String)> {
    let mut table: toml::Table = toml::from_str(text).map_err(|e| (None, e.to_string()))?;
    let overrides = match table.remove("region") {
        None => toml::Table::new(),
        Some(toml::Value::Table(t)) => t,
        Some(_) => return Err((Some("region".into()), "must be a table of regions".into())),
    };
    let mut overridden = false;
    if let Some(o) = overrides.get(region) {
        let toml::Value::Table(o) = o else {
            return Err((
                Some(format!("region.\"{region}\"")),
                "must be a table".into(),
            ));
        };
        merge(&mut table, o);
        overridden = true;
    }
    // Check that every override only names fields the table has.
    for (name, o) in &overrides {
        if let toml::Value::Table(o) = o {
            let mut probe = table.clone();
            merge(&mut probe, o);
            deserialize(probe).map_err(|(f, m)| {
                (
                    Some(format!("region.\"{name}\".{}", f.unwrap_or_default())),
                    m,
                )
            })?;
        }
    }
    let pricing = deserialize(table)?;
    validate(&pricing).map_err(|(f, m)| (Some(f), m))?;
    Ok((pricing, overridden))
}

fn deserialize(table: toml::Table) -> Result<Pricing, (Option<String>, String)> {
    serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
        let field = e.path().to_string();
        (Some(field), e.into_inner().to_string())
    })
}

fn merge(base: &mut toml::Table, over: &toml::Table) {
    for (k, v) in over {
        match (base.get_mut(k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            _ => {
                base.insert(k.clone(), v.clone());
            }
        }
    }
}

fn validate(p: &Pricing) -> Result<(), (String, String)> {
    let bad = |f: &str, m: String| Err((f.to_owned(), m));
    if !is_date(&p.date) {
        return bad("date", format!("`{}` is not a date YYYY-MM-DD", p.date));
    }
    if p.currency != "USD" {
        return bad(
            "currency",
            format!("`{}`: only USD is supported", p.currency),
        );
    }
    if !(1.0..=744.0).contains(&p.month_hours) {
        return bad(
            "month_hours",
            format!("{} is outside 1..=744", p.month_hours),
        );
    }
    let prices = [
        (
            "lambda.requests_per_million_usd",
            p.lambda.requests_per_million_usd,
        ),
        ("lambda.free_tier_requests", p.lambda.free_tier_requests),
        ("lambda.free_tier_gb_seconds", p.lambda.free_tier_gb_seconds),
        (
            "kms.customer_managed_key_per_month_usd",
            p.kms.customer_managed_key_per_month_usd,
        ),
        (
            "kms.symmetric_requests_per_10k_usd",
            p.kms.symmetric_requests_per_10k_usd,
        ),
        ("kms.free_tier_requests", p.kms.free_tier_requests),
        ("kms.rotation_per_month_usd", p.kms.rotation_per_month_usd),
        (
            "cloudtrail.additional_copy_per_100k_events_usd",
            p.cloudtrail.additional_copy_per_100k_events_usd,
        ),
        (
            "vpc.interface_endpoint_per_az_hour_usd",
            p.vpc.interface_endpoint_per_az_hour_usd,
        ),
        (
            "vpc.interface_endpoint_per_gb_usd",
            p.vpc.interface_endpoint_per_gb_usd,
        ),
        (
            "vpc.nat_gateway_per_hour_usd",
            p.vpc.nat_gateway_per_hour_usd,
        ),
        ("vpc.nat_gateway_per_gb_usd", p.vpc.nat_gateway_per_gb_usd),
        ("vpc.assumed_bytes_per_call", p.vpc.assumed_bytes_per_call),
        ("in_aws.state_transition_usd", p.in_aws.state_transition_usd),
        (
            "in_aws.s3_put_list_per_1000_usd",
            p.in_aws.s3_put_list_per_1000_usd,
        ),
        ("in_aws.s3_get_per_1000_usd", p.in_aws.s3_get_per_1000_usd),
        ("in_aws.s3_gb_month_usd", p.in_aws.s3_gb_month_usd),
        (
            "secrets_manager.secret_per_month_usd",
            p.secrets_manager.secret_per_month_usd,
        ),
        (
            "secrets_manager.api_calls_per_10k_usd",
            p.secrets_manager.api_calls_per_10k_usd,
        ),
        (
            "secrets_manager.kms_requests_per_get_secret_value",
            p.secrets_manager.kms_requests_per_get_secret_value,
        ),
        (
            "ssm.standard_parameter_per_month_usd",
            p.ssm.standard_parameter_per_month_usd,
        ),
        (
            "ssm.advanced_parameter_per_month_usd",
            p.ssm.advanced_parameter_per_month_usd,
        ),
        (
            "ssm.standard_throughput_per_10k_usd",
            p.ssm.standard_throughput_per_10k_usd,
        ),
        (
            "ssm.higher_throughput_per_10k_usd",
            p.ssm.higher_throughput_per_10k_usd,
        ),
        (
            "ssm.advanced_parameter_interactions_per_10k_usd",
            p.ssm.advanced_parameter_interactions_per_10k_usd,
        ),
        (
            "ssm.kms_requests_per_secure_get",
            p.ssm.kms_requests_per_secure_get,
        ),
    ];
    for (field, v) in prices {
        if !v.is_finite() || !(0.0..=1e12).contains(&v) {
            return bad(field, format!("{v} is outside 0..=1e12"));
        }
    }
    let lmi = &p.lambda.managed_instances;
    if !(0.0..=1.0).contains(&lmi.management_fee_fraction) {
        return bad(
            "lambda.managed_instances.management_fee_fraction",
            format!("{} is outside 0..=1", lmi.management_fee_fraction),
        );
    }
    for (name, i) in &lmi.instances {
        let at = format!("lambda.managed_instances.instances.\"{name}\"");
        if i.vcpus == 0 || !i.usd_per_hour.is_finite() || i.usd_per_hour <= 0.0 {
            return bad(&at, "needs vcpus > 0 and usd_per_hour > 0".into());
        }
        if !["arm64", "x86_64"].contains(&i.architecture.as_str()) {
            return bad(
                &format!("{at}.architecture"),
                format!("`{}` is not arm64 or x86_64", i.architecture),
            );
        }
    }
    for (arch, name) in &lmi.default_instance {
        if !lmi.instances.contains_key(name) {
            return bad(
                &format!("lambda.managed_instances.default_instance.{arch}"),
                format!("`{name}` is not in lambda.managed_instances.instances"),
            );
        }
    }
    let quotas = [
        (
            "quotas.ssm.get_parameter_standard_tps",
            p.quotas.ssm.get_parameter_standard_tps,
        ),
        (
            "quotas.ssm.get_parameter_higher_throughput_tps",
            p.quotas.ssm.get_parameter_higher_throughput_tps,
        ),
        (
            "quotas.ssm.get_parameters_higher_throughput_tps",
            p.quotas.ssm.get_parameters_higher_throughput_tps,
        ),
        (
            "quotas.ssm.get_parameters_by_path_higher_throughput_tps",
            p.quotas.ssm.get_parameters_by_path_higher_throughput_tps,
        ),
        (
            "quotas.secrets_manager.get_secret_value_tps",
            p.quotas.secrets_manager.get_secret_value_tps,
        ),
        (
            "quotas.secrets_manager.describe_secret_tps",
            p.quotas.secrets_manager.describe_secret_tps,
        ),
        (
            "quotas.secrets_manager.batch_get_secret_value_tps",
            p.quotas.secrets_manager.batch_get_secret_value_tps,
        ),
        (
            "quotas.kms.symmetric_cryptographic_tps",
            p.quotas.kms.symmetric_cryptographic_tps,
        ),
    ];
    for (field, v) in quotas {
        if !v.is_finite() || v <= 0.0 || v > 1e9 {
            return bad(field, format!("{v} is outside (0, 1e9]"));
        }
    }
    for (arch, tiers) in [
        ("x86_64", &p.lambda.gb_second_tiers.x86_64),
        ("arm64", &p.lambda.gb_second_tiers.arm64),
    ] {
        let field = format!("lambda.gb_second_tiers.{arch}");
        if tiers.is_empty() {
            return bad(&field, "needs at least one tier".into());
        }
        let mut last = 0.0;
        for (i, t) in tiers.iter().enumerate() {
            let f = format!("{field}[{i}]");
            if !t.usd.is_finite() || t.usd < 0.0 || t.usd > 1.0 {
                return bad(&format!("{f}.usd"), format!("{} is outside 0..=1", t.usd));
            }
            match (t.up_to_gb_seconds, i + 1 == tiers.len()) {
                (Some(_), true) => {
                    return bad(
                        &format!("{f}.up_to_gb_seconds"),
                        "the last tier has no upper bound".into(),
                    )
                }
                (None, false) => {
                    return bad(
                        &format!("{f}.up_to_gb_seconds"),
                        "only the last tier may omit its upper bound".into(),
                    )
                }
                (Some(up), false) => {
                    if !up.is_finite() || up <= last {
                        return bad(
                            &format!("{f}.up_to_gb_seconds"),
                            format!("{up} must be finite and above the previous tier's {last}"),
                        );
                    }
                    last = up;
                }
                (None, true) => {}
            }
        }
    }
    Ok(())
}

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
        && matches!(s[5..7].parse::<u8>(), Ok(1..=12))
        && matches!(s[8..10].parse::<u8>(), Ok(1..=31))
}

impl Pricing {
    /// Provisioned concurrency's rates on `architecture`.
    pub fn provisioned(&self, architecture: super::workload::Architecture) -> &ProvisionedRates {
        match architecture {
            super::workload::Architecture::X86_64 => &self.lambda.provisioned.x86_64,
            super::workload::Architecture::Arm64 => &self.lambda.provisioned.arm64,
        }
    }

    /// The on-demand compute tiers of one architecture.
    pub fn tiers(&self, architecture: super::workload::Architecture) -> &[Tier] {
        match architecture {
            super::workload::Architecture::X86_64 => &self.lambda.gb_second_tiers.x86_64,
            super::workload::Architecture::Arm64 => &self.lambda.gb_second_tiers.arm64,
        }
    }
}

/// The cost of `quantity` GB-seconds on top of `base` GB-seconds the account already uses,
/// through the volume tiers (so the marginal price is the tier the total falls in).
pub fn tiered_cost(tiers: &[Tier], base: f64, quantity: f64) -> f64 {
    cumulative(tiers, base + quantity) - cumulative(tiers, base)
}

fn cumulative(tiers: &[Tier], amount: f64) -> f64 {
    let mut cost = 0.0;
    let mut lower = 0.0;
    for t in tiers {
        let upper = t.up_to_gb_seconds.unwrap_or(f64::INFINITY);
        if amount <= lower {
            break;
        }
        cost += (amount.min(upper) - lower) * t.usd;
        lower = upper;
    }
    cost
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_table_reads_for_every_region_it_names() {
        let (p, overridden) = parse(DEFAULT_TABLE, "us-east-1").expect("valid");
        assert!(overridden);
        assert_eq!(p.quotas.kms.symmetric_cryptographic_tps, 100_000.0);
        let (p, overridden) = parse(DEFAULT_TABLE, "ap-south-1").expect("valid");
        assert!(!overridden);
        assert_eq!(p.quotas.kms.symmetric_cryptographic_tps, 10_000.0);
    }

    #[test]
    fn tiers_price_each_slice_at_its_rate() {
        let (p, _) = parse(DEFAULT_TABLE, "us-east-1").expect("valid");
        let t = &p.lambda.gb_second_tiers.x86_64;
        // 1,000 GB-s in tier 1.
        assert!((tiered_cost(t, 0.0, 1000.0) - 0.0166667).abs() < 1e-9);
        // 1e9 GB-s straddling the 6e9 boundary: 0.5e9 at tier 1, 0.5e9 at tier 2.
        let c = tiered_cost(t, 5.5e9, 1e9);
        assert!((c - (0.5e9 * 0.0000166667 + 0.5e9 * 0.000015)).abs() < 1e-3);
        // All in tier 3.
        assert!((tiered_cost(t, 20e9, 1e9) - 1e9 * 0.0000133334).abs() < 1e-3);
    }

    #[test]
    fn dates_are_checked() {
        assert!(is_date("2026-11-28"));
        assert!(!is_date("2026-13-01"));
        assert!(!is_date("28.11.2026"));
    }
}
