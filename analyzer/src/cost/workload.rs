//! The workload file: the traffic and shape of the functions to price (`deny_unknown_fields`,
//! every value range-checked, errors naming the field and the allowed range), optionally with
//! a latency table so the model runs without a measured run.

use super::error::CostError;
use secbench_record::{CacheMode, FetchAt, Source};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Duration;

pub use secbench_record::Architecture;

/// Which KMS key encrypts the SSM parameters and the secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum KmsKey {
    /// The services' AWS managed keys (`aws/ssm`, `aws/secretsmanager`): no key fee.
    #[default]
    AwsManaged,
    /// One customer managed key (the KMS env var always uses one).
    CustomerManaged,
}

/// The SSM parameter tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum ParameterTier {
    /// Up to 4 KB, no fee.
    #[default]
    Standard,
    /// Up to 8 KB, a monthly fee per parameter.
    Advanced,
}

/// The workload as written.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workload {
    /// The region (selects the pricing table's region overrides).
    pub region: String,
    /// Invocations per month, per function.
    pub invocations_per_month: f64,
    /// Peak invocations per second, per function.
    pub peak_rps: f64,
    /// Function memory.
    pub memory_mb: u32,
    /// Function architecture.
    pub architecture: Architecture,
    /// Distinct secrets the functions read.
    pub secrets: u32,
    /// Secrets each invocation reads.
    pub secrets_per_invocation: u32,
    /// Functions reading them (each caches on its own; traffic figures are per function).
    #[serde(default = "one")]
    pub functions: u32,
    /// Average number of execution environments alive at once, per function.
    #[serde(default)]
    pub avg_concurrent_environments: Option<f64>,
    /// Average invocation duration, to derive environments from `peak_rps` when
    /// `avg_concurrent_environments` is not given.
    #[serde(default, with = "secbench_record::duration::option")]
    pub avg_duration: Option<Duration>,
    /// How long an environment lives on average.
    #[serde(with = "secbench_record::duration::serde")]
    pub environment_lifetime: Duration,
    /// How long an environment can live at most: the staleness bound of a fetch at INIT without
    /// a cache. An assumption: AWS terminates environments "every few hours" (Lambda's
    /// execution-environment page) and publishes no figure; when absent,
    /// [`MAX_ENVIRONMENT_LIFETIME`], and every output that depends on it says it is assumed.
    #[serde(default, with = "secbench_record::duration::option")]
    pub max_environment_lifetime: Option<Duration>,
    /// Environments kept provisioned per function by the approaches with provisioned
    /// concurrency (default: the average environments alive at once).
    #[serde(default)]
    pub provisioned_environments: Option<f64>,
    /// The TTL of every cache (in-process, caching library, agent).
    #[serde(default = "five_minutes", with = "secbench_record::duration::serde")]
    pub cache_ttl: Duration,
    /// Whether the account's free tiers are still available to this workload.
    #[serde(default)]
    pub free_tier: bool,
    /// Key of the SSM parameters and the secrets.
    #[serde(default)]
    pub kms_key: KmsKey,
    /// SSM parameter tier.
    #[serde(default)]
    pub ssm_parameter_tier: ParameterTier,
    /// GB-seconds the account's functions of the workload's architecture use each month in
    /// its region besides fetching (for the tiers).
    #[serde(default)]
    pub base_gb_seconds_per_month: f64,
    /// The same per architecture: Lambda's GB-second tiers aggregate per architecture and
    /// region over the account (or the organisation, under consolidated billing), so only the
    /// workload's own architecture counts. Instead of `base_gb_seconds_per_month`.
    #[serde(default)]
    pub other_gb_seconds_per_month: Option<PerArchitecture>,
    /// Latencies per approach, used when no run is given.
    #[serde(default)]
    pub latency: Vec<LatencyEntry>,
    /// Requests per second that the account's other callers make at the workload's peak in
    /// its region, which share the quotas the approaches are checked against (default none).
    #[serde(default)]
    pub other_traffic: OtherTraffic,
    /// Automatic rotations the customer managed key has had (the template's key rotates once a
    /// year): each of the first two adds to the key's monthly fee (default 0, a new key).
    #[serde(default)]
    pub kms_key_rotations: u32,
    /// CloudTrail trails beyond the first that record the account's read management events in
    /// the workload's region: each copies every API call and KMS request (default 0).
    #[serde(default)]
    pub extra_trails: u32,
    /// Whether those trails leave out AWS KMS events (a trail setting, "Exclude AWS KMS events").
    #[serde(default)]
    pub extra_trails_exclude_kms: bool,
    /// How the functions reach the services from a VPC (absent: not in a VPC).
    #[serde(default)]
    pub vpc: Option<Vpc>,
    /// The memory the Parameters and Secrets extension takes in each environment, MB (AWS
    /// documents no footprint; the local stage's Max Memory Used of the agent scenarios less
    /// the plaintext baseline's is one measure). Lambda bills the configured size, so the
    /// agent approaches are priced that much more configured memory over the function's billed
    /// duration (`avg_duration`). Absent: not priced, and the agent approaches say so.
    #[serde(default)]
    pub extension_memory_mb: Option<f64>,
    /// `[managed_instances]`: how Lambda Managed Instances rows are priced.
    #[serde(default)]
    pub managed_instances: ManagedInstancesWorkload,
    /// `[snapstart]`: how SnapStart rows are priced.
    #[serde(default)]
    pub snapstart: SnapStartWorkload,
}

/// `[snapstart]`: the versions a SnapStart function publishes and keeps. Neither is on any AWS
/// page: each absent one is assumed ([`ASSUMED_VERSIONS_PER_MONTH`], one active version) and
/// every SnapStart row says so.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnapStartWorkload {
    /// Versions published a month: each is a snapshot (INIT, and a fetch at INIT, once) and
    /// is cached for three hours at least.
    #[serde(default)]
    pub versions_per_month: Option<f64>,
    /// Versions whose snapshots are cached at once (a version stays cached until it is
    /// deleted or unused for 14 days).
    #[serde(default)]
    pub active_versions: Option<f64>,
}

impl Workload {
    /// SnapStart's versions published a month, and whether that is assumed.
    pub fn snapstart_versions_per_month(&self) -> (f64, bool) {
        match self.snapstart.versions_per_month {
            Some(v) => (v, false),
            None => (ASSUMED_VERSIONS_PER_MONTH, true),
        }
    }

    /// SnapStart's versions cached at once, and whether that is assumed.
    pub fn snapstart_active_versions(&self) -> (f64, bool) {
        match self.snapstart.active_versions {
            Some(v) => (v, false),
            None => (ASSUMED_ACTIVE_VERSIONS, true),
        }
    }
}

/// Versions published a month when the workload sets none: a deploy a day.
pub const ASSUMED_VERSIONS_PER_MONTH: f64 = 30.0;
/// Versions cached at once when the workload sets none: the one serving.
pub const ASSUMED_ACTIVE_VERSIONS: f64 = 1.0;

/// `[managed_instances]`: the capacity provider the Lambda Managed Instances rows are priced on.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManagedInstancesWorkload {
    /// The instance type (a key of the pricing table's `lambda.managed_instances.instances`;
    /// absent: the table's default for the workload's architecture).
    #[serde(default)]
    pub instance_type: Option<String>,
    /// The average CPU utilisation the capacity provider scales its instances to, 0–1. AWS
    /// does not document the target it uses by default (a scaling policy's
    /// `LambdaCapacityProviderAverageCPUUtilization` sets one): absent, the model assumes
    /// [`ASSUMED_TARGET_CPU_UTILIZATION`] and every output that prices instances says so.
    #[serde(default)]
    pub target_cpu_utilization: Option<f64>,
}

/// The target CPU utilisation assumed when the workload sets none.
pub const ASSUMED_TARGET_CPU_UTILIZATION: f64 = 0.5;

/// `[vpc]`: the functions run in a VPC and reach Secrets Manager, SSM and KMS through an
/// interface endpoint per service or through a NAT gateway.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vpc {
    /// `endpoints` or `nat`.
    pub access: VpcAccess,
    /// Availability zones the endpoints (or gateways) are in.
    #[serde(default = "two")]
    pub availability_zones: u32,
    /// NAT gateways charged to these functions alone (default 0: shared gateways, whose hours
    /// others pay; only the data the calls send through them is priced).
    #[serde(default)]
    pub nat_gateways: u32,
    /// Bytes one API call sends and receives through the endpoint or gateway (TLS, headers and
    /// body). AWS publishes no figure: unless set, the pricing table's assumption
    /// (`vpc.assumed_bytes_per_call`), and every output that prices data processing says so.
    #[serde(default)]
    pub bytes_per_call: Option<f64>,
}

/// How a VPC reaches the services.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VpcAccess {
    /// An interface endpoint per service the approach calls.
    Endpoints,
    /// A NAT gateway.
    Nat,
}

fn two() -> u32 {
    2
}

/// `[other_traffic]`: the account's other requests per second, in the workload's region, on the
/// quotas the approaches meet. SSM's `GetParameter` throughput and Secrets Manager's
/// per-API rates are per account and region; KMS's request quota counts the requests that S3,
/// EBS, DynamoDB and other services make on the account's behalf too.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtherTraffic {
    /// SSM `GetParameter`/`GetParameters` requests per second.
    #[serde(default)]
    pub ssm_get_parameter_per_second: f64,
    /// Secrets Manager `GetSecretValue` requests per second.
    #[serde(default)]
    pub secrets_manager_get_secret_value_per_second: f64,
    /// Secrets Manager `DescribeSecret` requests per second.
    #[serde(default)]
    pub secrets_manager_describe_secret_per_second: f64,
    /// KMS symmetric cryptographic requests per second (the services' on the account's behalf
    /// included).
    #[serde(default)]
    pub kms_requests_per_second: f64,
}

/// A figure per architecture.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerArchitecture {
    /// arm64 (Graviton).
    #[serde(default)]
    pub arm64: f64,
    /// x86_64.
    #[serde(default)]
    pub x86_64: f64,
}

/// Latencies of one approach, as the workload file gives them.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatencyEntry {
    /// Source.
    pub source: Source,
    /// Cache mode.
    #[serde(default = "no_cache")]
    pub cache: CacheMode,
    /// When the fetch happens.
    #[serde(default = "handler")]
    pub fetch_at: FetchAt,
    /// Fetching at cold start (SDK setup + first fetch), median.
    #[serde(with = "secbench_record::duration::serde")]
    pub cold_p50: Duration,
    /// … 99th percentile.
    #[serde(with = "secbench_record::duration::serde")]
    pub cold_p99: Duration,
    /// A warm fetch, median.
    #[serde(with = "secbench_record::duration::serde")]
    pub warm_p50: Duration,
    /// … 99th percentile.
    #[serde(with = "secbench_record::duration::serde")]
    pub warm_p99: Duration,
    /// The Parameters and Secrets extension's share of a cold start's INIT (agent approaches):
    /// priced as INIT compute of every new environment.
    #[serde(default, with = "secbench_record::duration::option")]
    pub extension_init: Option<Duration>,
}

fn one() -> u32 {
    1
}
/// The assumed longest life of an execution environment when a workload gives none (AWS: "Lambda
/// terminates execution environments every few hours ... even for functions that are invoked
/// continuously"; no figure published): 4 hours, the conservative end of "a few".
pub const MAX_ENVIRONMENT_LIFETIME: Duration = Duration::from_secs(4 * 3600);

fn five_minutes() -> Duration {
    Duration::from_secs(300)
}
fn no_cache() -> CacheMode {
    CacheMode::None
}
fn handler() -> FetchAt {
    FetchAt::Handler
}

impl Workload {
    /// The GB-seconds the account already uses in the tiers the workload's compute is priced
    /// in: those of its architecture.
    pub fn other_gb_seconds(&self) -> f64 {
        match (self.other_gb_seconds_per_month, self.architecture) {
            (Some(o), Architecture::Arm64) => o.arm64,
            (Some(o), Architecture::X86_64) => o.x86_64,
            (None, _) => self.base_gb_seconds_per_month,
        }
    }

    /// Reads and checks a workload file.
    pub fn load(path: &Path) -> Result<Workload, CostError> {
        let text = std::fs::read_to_string(path).map_err(|source| CostError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text).map_err(|(field, message)| match field {
            None => CostError::Syntax {
                path: path.to_path_buf(),
                message,
            },
            Some(field) => CostError::Invalid {
                path: path.to_path_buf(),
                field,
                message,
            },
        })
    }

    /// Parses and checks; the error is (field, message), field `None` for syntax errors.
    pub fn parse(text: &str) -> Result<Workload, (Option<String>, String)> {
        // The field's path in front of toml's message (line, column, excerpt).
        let de = toml::Deserializer::parse(text).map_err(|e| (None, e.to_string()))?;
        let w: Workload = serde_path_to_error::deserialize(de).map_err(|e| {
            let field = e.path().to_string();
            let inner = e.into_inner().to_string();
            if field == "." {
                (None, inner)
            } else {
                (None, format!("{field}: {inner}"))
            }
        })?;
        w.validate().map_err(|(f, m)| (Some(f), m))?;
        Ok(w)
    }

    /// Checks every range; the error names the field and the allowed range.
    pub fn validate(&self) -> Result<(), (String, String)> {
        fn range(field: &str, v: f64, lo: f64, hi: f64) -> Result<(), (String, String)> {
            if v.is_finite() && v >= lo && v <= hi {
                Ok(())
            } else {
                Err((
                    field.to_owned(),
                    format!("{v} is outside the allowed range {lo}..={hi}"),
                ))
            }
        }
        for (field, v) in [
            (
                "other_traffic.ssm_get_parameter_per_second",
                self.other_traffic.ssm_get_parameter_per_second,
            ),
            (
                "other_traffic.secrets_manager_get_secret_value_per_second",
                self.other_traffic
                    .secrets_manager_get_secret_value_per_second,
            ),
            (
                "other_traffic.secrets_manager_describe_secret_per_second",
                self.other_traffic
                    .secrets_manager_describe_secret_per_second,
            ),
            (
                "other_traffic.kms_requests_per_second",
                self.other_traffic.kms_requests_per_second,
            ),
        ] {
            range(field, v, 0.0, 1e9)?;
        }
        if let Some(t) = self.managed_instances.target_cpu_utilization {
            range("managed_instances.target_cpu_utilization", t, 0.01, 1.0)?;
        }
        if let Some(v) = self.snapstart.versions_per_month {
            range("snapstart.versions_per_month", v, 0.0, 1e6)?;
        }
        if let Some(v) = self.snapstart.active_versions {
            range("snapstart.active_versions", v, 1.0, 1e4)?;
        }
        range(
            "kms_key_rotations",
            self.kms_key_rotations.into(),
            0.0,
            1000.0,
        )?;
        range("extra_trails", self.extra_trails.into(), 0.0, 100.0)?;
        if let Some(m) = self.extension_memory_mb {
            range("extension_memory_mb", m, 0.0, 10_240.0)?;
        }
        if let Some(vpc) = &self.vpc {
            range(
                "vpc.availability_zones",
                vpc.availability_zones.into(),
                1.0,
                32.0,
            )?;
            range("vpc.nat_gateways", vpc.nat_gateways.into(), 0.0, 100.0)?;
            if let Some(b) = vpc.bytes_per_call {
                range("vpc.bytes_per_call", b, 1.0, 1e9)?;
            }
        }
        if self.region.is_empty()
            || !self
                .region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err((
                "region".into(),
                format!("`{}` is not a region name like us-east-1", self.region),
            ));
        }
        range(
            "invocations_per_month",
            self.invocations_per_month,
            1.0,
            1e13,
        )?;
        range("peak_rps", self.peak_rps, 1e-6, 1e7)?;
        let memory = secbench_record::lambda::MEMORY_MB;
        range(
            "memory_mb",
            self.memory_mb.into(),
            (*memory.start()).into(),
            (*memory.end()).into(),
        )?;
        range("secrets", self.secrets.into(), 1.0, 10_000.0)?;
        range(
            "secrets_per_invocation",
            self.secrets_per_invocation.into(),
            1.0,
            1000.0,
        )?;
        range("functions", self.functions.into(), 1.0, 100_000.0)?;
        range(
            "base_gb_seconds_per_month",
            self.base_gb_seconds_per_month,
            0.0,
            1e13,
        )?;
        if let Some(o) = self.other_gb_seconds_per_month {
            range("other_gb_seconds_per_month.arm64", o.arm64, 0.0, 1e13)?;
            range("other_gb_seconds_per_month.x86_64", o.x86_64, 0.0, 1e13)?;
            if self.base_gb_seconds_per_month > 0.0 {
                return Err((
                    "other_gb_seconds_per_month".into(),
                    "give either base_gb_seconds_per_month or other_gb_seconds_per_month, not both"
                        .into(),
                ));
            }
        }
        let avg_rps = self.invocations_per_month / (self.month_seconds_hint());
        if self.peak_rps < avg_rps * 0.999 {
            return Err((
                "peak_rps".into(),
                format!(
                    "{} is below the average rate {avg_rps:.3}/s that invocations_per_month implies",
                    self.peak_rps
                ),
            ));
        }
        if let Some(n) = self.provisioned_environments {
            range("provisioned_environments", n, 1.0, 1e7)?;
        }
        match (self.avg_concurrent_environments, self.avg_duration) {
            (Some(e), None) => range("avg_concurrent_environments", e, 1e-6, 1e7)?,
            (None, Some(d)) => range("avg_duration", d.as_secs_f64(), 0.001, 900.0)?,
            (Some(_), Some(_)) => {
                return Err((
                    "avg_concurrent_environments".into(),
                    "give either avg_concurrent_environments or avg_duration, not both".into(),
                ))
            }
            (None, None) => {
                return Err((
                    "avg_concurrent_environments".into(),
                    "missing: give avg_concurrent_environments, or avg_duration to derive it from peak_rps".into(),
                ))
            }
        }
        range(
            "environment_lifetime",
            self.environment_lifetime.as_secs_f64(),
            1.0,
            86_400.0 * 31.0,
        )?;
        if let Some(max) = self.max_environment_lifetime {
            range(
                "max_environment_lifetime",
                max.as_secs_f64(),
                1.0,
                86_400.0 * 31.0,
            )?;
        }
        if self.longest_environment_lifetime().0 < self.environment_lifetime {
            return Err((
                "max_environment_lifetime".into(),
                "is shorter than environment_lifetime (the average)".into(),
            ));
        }
        range(
            "cache_ttl",
            self.cache_ttl.as_secs_f64(),
            1.0,
            86_400.0 * 31.0,
        )?;
        for (i, l) in self.latency.iter().enumerate() {
            secbench_record::check_combination(l.source, l.cache, l.fetch_at)
                .map_err(|m| (format!("latency[{i}]"), m))?;
            for (name, d) in [
                ("cold_p50", l.cold_p50),
                ("cold_p99", l.cold_p99),
                ("warm_p50", l.warm_p50),
                ("warm_p99", l.warm_p99),
            ] {
                range(&format!("latency[{i}].{name}"), d.as_secs_f64(), 0.0, 900.0)?;
            }
            if l.cold_p99 < l.cold_p50 || l.warm_p99 < l.warm_p50 {
                return Err((format!("latency[{i}]"), "a p99 is below its p50".into()));
            }
        }
        Ok(())
    }

    /// The longest an environment lives, and whether that is the assumption
    /// ([`MAX_ENVIRONMENT_LIFETIME`], or the average lifetime where that is longer) rather than
    /// the workload's own figure.
    pub fn longest_environment_lifetime(&self) -> (Duration, bool) {
        match self.max_environment_lifetime {
            Some(d) => (d, false),
            None => (
                MAX_ENVIRONMENT_LIFETIME.max(self.environment_lifetime),
                true,
            ),
        }
    }

    // Before the pricing table is known, a 730-hour month.
    fn month_seconds_hint(&self) -> f64 {
        730.0 * 3600.0
    }

    /// Sets a field a sweep moves.
    pub fn set(&mut self, field: SweepField, value: f64) {
        match field {
            SweepField::InvocationsPerMonth => {
                // Traffic scales together: the peak and the environments grow with the volume.
                let k = value / self.invocations_per_month;
                self.invocations_per_month = value;
                self.peak_rps *= k;
                if let Some(e) = self.avg_concurrent_environments.as_mut() {
                    *e *= k;
                }
            }
            SweepField::PeakRps => self.peak_rps = value,
            SweepField::AvgConcurrentEnvironments => {
                self.avg_concurrent_environments = Some(value);
                self.avg_duration = None;
            }
            SweepField::Secrets => self.secrets = value.round() as u32,
            SweepField::SecretsPerInvocation => self.secrets_per_invocation = value.round() as u32,
            SweepField::Functions => self.functions = value.round() as u32,
            SweepField::MemoryMb => self.memory_mb = value.round() as u32,
            SweepField::CacheTtlS => self.cache_ttl = Duration::from_secs_f64(value),
            SweepField::EnvironmentLifetimeS => {
                self.environment_lifetime = Duration::from_secs_f64(value)
            }
            SweepField::MaxEnvironmentLifetimeS => {
                self.max_environment_lifetime = Some(Duration::from_secs_f64(value));
            }
        }
    }
}

/// The workload fields `--sweep` can move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SweepField {
    /// `invocations_per_month` (the peak and the environments scale with it).
    InvocationsPerMonth,
    /// `peak_rps`.
    PeakRps,
    /// `avg_concurrent_environments`.
    AvgConcurrentEnvironments,
    /// `secrets`.
    Secrets,
    /// `secrets_per_invocation`.
    SecretsPerInvocation,
    /// `functions`.
    Functions,
    /// `memory_mb`.
    MemoryMb,
    /// `cache_ttl_s`.
    CacheTtlS,
    /// `environment_lifetime_s`.
    EnvironmentLifetimeS,
    /// `max_environment_lifetime_s`.
    MaxEnvironmentLifetimeS,
}

impl SweepField {
    /// Every field, in the order the error message lists them.
    pub const ALL: [SweepField; 10] = [
        SweepField::InvocationsPerMonth,
        SweepField::PeakRps,
        SweepField::AvgConcurrentEnvironments,
        SweepField::Secrets,
        SweepField::SecretsPerInvocation,
        SweepField::Functions,
        SweepField::MemoryMb,
        SweepField::CacheTtlS,
        SweepField::EnvironmentLifetimeS,
        SweepField::MaxEnvironmentLifetimeS,
    ];

    /// The field's name in the workload file and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            SweepField::InvocationsPerMonth => "invocations_per_month",
            SweepField::PeakRps => "peak_rps",
            SweepField::AvgConcurrentEnvironments => "avg_concurrent_environments",
            SweepField::Secrets => "secrets",
            SweepField::SecretsPerInvocation => "secrets_per_invocation",
            SweepField::Functions => "functions",
            SweepField::MemoryMb => "memory_mb",
            SweepField::CacheTtlS => "cache_ttl_s",
            SweepField::EnvironmentLifetimeS => "environment_lifetime_s",
            SweepField::MaxEnvironmentLifetimeS => "max_environment_lifetime_s",
        }
    }

    /// The field named `name`, if it can be swept.
    pub fn from_name(name: &str) -> Option<SweepField> {
        SweepField::ALL.into_iter().find(|f| f.name() == name)
    }
}
