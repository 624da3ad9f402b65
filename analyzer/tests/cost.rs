//! The cost model, worked by hand from the published prices (to the cent): each fee, tier and
//! free tier, the counting formula with caches, feasibility against the quotas, the
//! recommendation under an objective, every way of reading several secrets, and bad workload
//! files named by field. Pure: the analyzer alone, no binary, no SDK (the CLI's own cost tests
//! are in `secbench/tests/cost.rs`).

use secbench_analyzer::approach::Approach;
use secbench_analyzer::cost::model;
use secbench_analyzer::cost::pricing::{self, Pricing};
use secbench_analyzer::cost::workload::Workload;
use secbench_analyzer::cost::{self as cost, recommend::Slo, Latencies};
use secbench_record::{CacheMode, ConcurrencyMode, FetchAt, Source};
use std::collections::BTreeMap;
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn workload(name: &str) -> Workload {
    Workload::load(&fixture(&format!("workloads/{name}"))).expect("valid workload")
}

fn table(region: &str) -> Pricing {
    pricing::parse(pricing::DEFAULT_TABLE, region)
        .expect("shipped table")
        .0
}

fn approach(source: Source, cache: CacheMode, fetch_at: FetchAt) -> Approach {
    Approach {
        source,
        cache,
        fetch_at,
        concurrency: ConcurrencyMode::OnDemand,
        runtime: secbench_record::Runtime::Rust,
        single_flight: false,
    }
}

/// The extension's memory is configured on top of the function's: 10,000,000 invocations ×
/// 0.1 s (avg_duration) × 64 MB / 1,024 = 62,500 GB-seconds × $0.0000133334 (arm64, first
/// tier) = $0.83 a month on the agent's line; without the footprint, or without the billed
/// duration, the agent approach says it is not priced; a direct approach has no such line.
#[test]
fn the_extension_s_memory_is_priced_as_configured_memory_over_the_billed_duration() {
    use secbench_analyzer::cost::workload::LatencyEntry;
    use std::time::Duration;
    let mut w = workload("hand-secrets-manager-10m.toml");
    w.avg_concurrent_environments = None;
    w.avg_duration = Some(Duration::from_millis(100));
    w.extension_memory_mb = Some(64.0);
    let ms = Duration::from_millis;
    let entry = |source| LatencyEntry {
        source,
        cache: CacheMode::None,
        fetch_at: FetchAt::Handler,
        cold_p50: ms(30),
        cold_p99: ms(60),
        warm_p50: ms(1),
        warm_p99: ms(3),
        extension_init: None,
    };
    w.latency = vec![
        entry(Source::AgentSecretsManager),
        entry(Source::SecretsManager),
    ];
    let p = table("us-east-1");
    let agent_approach = approach(
        Source::AgentSecretsManager,
        CacheMode::None,
        FetchAt::Handler,
    );
    let agent = price(&w, &p, agent_approach);
    let item =
        "Lambda compute of the extension's memory (configured on top, over the billed duration)";
    let mem = line(&agent, item);
    assert!((mem.quantity - 62_500.0).abs() < 1e-6, "{}", mem.quantity);
    assert_eq!(cents(mem.cost_usd), 83);
    let direct = price(
        &w,
        &p,
        approach(Source::SecretsManager, CacheMode::None, FetchAt::Handler),
    );
    assert!(!direct.breakdown.iter().any(|l| l.item == item));
    // Without the billed duration, or without the footprint: not priced, and said.
    w.avg_duration = None;
    w.avg_concurrent_environments = Some(4.0);
    let no_duration = price(&w, &p, agent_approach);
    assert!(!no_duration.breakdown.iter().any(|l| l.item == item));
    assert!(no_duration
        .notes
        .iter()
        .any(|n| n.contains("needs the function's billed duration")));
    w.extension_memory_mb = None;
    let no_footprint = price(&w, &p, agent_approach);
    assert!(no_footprint
        .notes
        .iter()
        .any(|n| n.contains("give the workload's extension_memory_mb")));
}

fn price(w: &Workload, p: &Pricing, a: Approach) -> model::ApproachCost {
    let lat = cost::latencies_from_workload(w);
    model::price(model::Inputs {
        approach: a,
        latency: lat.get(&a).copied(),
        miss_latency: lat.get(&a.miss_twin()).copied(),
        workload: w,
        pricing: p,
    })
}

fn line<'a>(c: &'a model::ApproachCost, item: &str) -> &'a model::Line {
    c.breakdown
        .iter()
        .find(|l| l.item == item)
        .unwrap_or_else(|| panic!("no line {item} in {:#?}", c.breakdown))
}

/// Sum of `value` over the Lambda compute lines that `keep` picks.
fn compute(
    c: &model::ApproachCost,
    keep: impl Fn(&model::Line) -> bool,
    value: impl Fn(&model::Line) -> f64,
) -> f64 {
    c.breakdown
        .iter()
        .filter(|l| l.category == "lambda_compute" && keep(l))
        .map(value)
        .sum()
}

fn cents(v: f64) -> i64 {
    (v * 100.0).round() as i64
}

fn lat(cold: f64, warm: f64) -> secbench_analyzer::cost::latency::Latency {
    secbench_analyzer::cost::latency::Latency {
        cold_p50_s: cold / 2.0,
        cold_p99_s: cold,
        cold_mean_s: cold / 2.0,
        warm_p50_s: warm / 2.0,
        warm_p99_s: warm,
        warm_mean_s: warm / 2.0,
        extension_init_s: None,
        managed: None,
    }
}

#[test]
fn secrets_manager_10m_uncached_is_50_40_before_compute_and_kms() {
    let w = workload("hand-secrets-manager-10m.toml");
    let mut p = table("us-east-1");
    p.kms.aws_managed_key_requests.secretsmanager.charged = false;
    let c = price(
        &w,
        &p,
        approach(Source::SecretsManager, CacheMode::None, FetchAt::Handler),
    );
    assert_eq!(cents(line(&c, "Secrets Manager secrets").cost_usd), 40);
    let api = line(&c, "Secrets Manager API calls");
    assert_eq!((api.quantity, api.unit_price_usd), (1000.0, 0.05));
    assert_eq!(cents(c.monthly_cost_usd), 5040, "{:#?}", c.breakdown);
    // The shipped table charges them, as the KMS pricing page states (+ 10M/10k × $0.03 =
    // $30.00), and says the reading is unconfirmed (the Secrets Manager guide reads otherwise).
    let shipped = price(
        &w,
        &table("us-east-1"),
        approach(Source::SecretsManager, CacheMode::None, FetchAt::Handler),
    );
    assert_eq!(cents(shipped.monthly_cost_usd), 8040);
    assert!(
        shipped.notes.iter().any(|n| n.starts_with(
            "unconfirmed: the KMS requests Secrets Manager makes with aws/secretsmanager are priced as charged"
        )),
        "{:?}",
        shipped.notes
    );
    // With requests to aws/secretsmanager charged: + 10M/10k × $0.03.
    p.kms.aws_managed_key_requests.secretsmanager.charged = true;
    let c = price(
        &w,
        &p,
        approach(Source::SecretsManager, CacheMode::None, FetchAt::Handler),
    );
    assert_eq!(cents(line(&c, "KMS requests").cost_usd), 3000);
    assert_eq!(cents(c.monthly_cost_usd), 8040);
    // The request charge is shown for context, not counted: 10 × $0.20.
    let ctx = line(&c, "Lambda requests (context: the same for every approach)");
    assert!(!ctx.included_in_total);
    assert_eq!(cents(ctx.cost_usd), 200);
}

#[test]
fn aws_ssm_key_requests_are_charged_and_marked_unconfirmed_a_customer_key_always_charged() {
    // 10M uncached SecureString reads at a 30 rps peak: under the standard throughput, so the
    // API calls are free; the 10M Decrypts SSM makes with aws/ssm are priced as charged (the
    // conservative reading): 1,000 × $0.03 = $30.00, with the note saying it is unconfirmed.
    let mut w = workload("hand-secrets-manager-10m.toml");
    w.peak_rps = 30.0;
    let p = table("us-east-1");
    let c = price(
        &w,
        &p,
        approach(Source::Ssm, CacheMode::None, FetchAt::Handler),
    );
    assert_eq!(cents(line(&c, "KMS requests").cost_usd), 3000);
    assert_eq!(cents(c.monthly_cost_usd), 3000, "{:#?}", c.breakdown);
    assert!(
        c.notes
            .iter()
            .any(|n| n.starts_with("unconfirmed") && n.contains("kms.aws_managed_key_requests.ssm")),
        "{:?}",
        c.notes
    );
    // With a customer managed key every request is charged, whatever the switches say:
    // Secrets Manager then pays $1 key + $0.40 + $50 API + $30 KMS = $81.40 (SSM: $1 + $30).
    let mut cmk = w.clone();
    cmk.kms_key = cost::workload::KmsKey::CustomerManaged;
    let c = price(
        &cmk,
        &p,
        approach(Source::SecretsManager, CacheMode::None, FetchAt::Handler),
    );
    assert_eq!(cents(c.monthly_cost_usd), 8140, "{:#?}", c.breakdown);
    assert!(!c.notes.iter().any(|n| n.starts_with("unconfirmed")));
}

#[test]
fn advanced_parameters_pay_per_interaction_at_standard_throughput() {
    // 10M reads at a 30 rps peak stay at standard throughput (40 TPS), and advanced
    // parameters still pay $0.05 per 10,000 interactions: 1,000 × $0.05 = $50.00, plus $0.05
    // for the parameter and $30 of KMS.
    let mut w = workload("hand-secrets-manager-10m.toml");
    w.peak_rps = 30.0;
    w.ssm_parameter_tier = cost::workload::ParameterTier::Advanced;
    let c = price(
        &w,
        &table("us-east-1"),
        approach(Source::Ssm, CacheMode::None, FetchAt::Handler),
    );
    let api = line(
        &c,
        "SSM API interactions (advanced parameters, standard throughput)",
    );
    assert_eq!((api.quantity, api.unit_price_usd), (1000.0, 0.05));
    assert_eq!(
        cents(c.monthly_cost_usd),
        5000 + 5 + 3000,
        "{:#?}",
        c.breakdown
    );
    // Standard parameters at standard throughput pay nothing for the calls.
    w.ssm_parameter_tier = cost::workload::ParameterTier::Standard;
    let c = price(
        &w,
        &table("us-east-1"),
        approach(Source::Ssm, CacheMode::None, FetchAt::Handler),
    );
    assert_eq!(
        cents(line(&c, "SSM API interactions (standard throughput)").cost_usd),
        0
    );
}

#[test]
fn secrets_manager_reads_each_have_their_quota_and_kms_quotas_differ_by_region() {
    // 300 environments at the peak, a 10 ms TTL: the caching library refreshes 30,000
    // DescribeSecret/s, above the old combined 10,000 but within DescribeSecret's 40,000;
    // its first fetches (300 per 15 min) are far from GetSecretValue's 10,000.
    let mut w = workload("example.toml");
    w.avg_concurrent_environments = Some(300.0);
    w.peak_rps = 40_000.0;
    w.invocations_per_month = 40_000.0 * 730.0 * 3600.0;
    w.secrets = 1;
    w.secrets_per_invocation = 1;
    w.cache_ttl = std::time::Duration::from_millis(10);
    let p = table("us-east-1");
    let lib = price(
        &w,
        &p,
        approach(
            Source::SecretsManager,
            CacheMode::AwsCachingLibrary,
            FetchAt::Handler,
        ),
    );
    let describe = lib.peak_requests_per_second[&model::QuotaKey::Api(model::Op::SmDescribeSecret)];
    assert!((describe - 30_000.0).abs() < 1e-6, "{describe}");
    assert!(lib.peak_requests_per_second[&model::QuotaKey::Api(model::Op::SmGetSecretValue)] < 1.0);
    assert!(lib.feasible, "{:?}", lib.notes);
    // The in-process TTL cache refreshes with GetSecretValue: 30,000/s is over its 10,000.
    let ttl = price(
        &w,
        &p,
        approach(Source::SecretsManager, CacheMode::Ttl, FetchAt::Handler),
    );
    assert!(!ttl.feasible);
    assert!(
        ttl.notes
            .iter()
            .any(|n| n.contains("GetSecretValue/s is above its quota of 10000")),
        "{:?}",
        ttl.notes
    );
    // KMS: 15,000 Decrypt/s fits eu-central-1's 20,000 but not ap-south-1's 10,000, and
    // 25,000 fits neither.
    let mut k = workload("example.toml");
    k.peak_rps = 5_000.0; // × 3 secrets per invocation
    for (region, rps, feasible) in [
        ("eu-central-1", 5_000.0, true),
        ("ap-south-1", 5_000.0, false),
        ("eu-central-1", 25_000.0 / 3.0, false),
        ("us-east-1", 25_000.0 / 3.0, true),
    ] {
        k.region = region.into();
        k.peak_rps = rps;
        let c = price(
            &k,
            &table(region),
            approach(Source::KmsEnv, CacheMode::None, FetchAt::Handler),
        );
        assert_eq!(c.feasible, feasible, "{region} at {rps}/s: {:?}", c.notes);
    }
}

#[test]
fn the_tiers_count_only_the_account_s_gb_seconds_of_the_same_architecture() {
    // The hand-worked tier case ($1,583.34 of compute on top of 5.95e9 x86_64 GB-seconds),
    // with the account's use given per architecture: 9e9 arm64 GB-seconds change nothing.
    let mut w = workload("hand-compute-tiers.toml");
    w.base_gb_seconds_per_month = 0.0;
    w.other_gb_seconds_per_month = Some(cost::workload::PerArchitecture {
        arm64: 9e9,
        x86_64: 5.95e9,
    });
    let c = price(
        &w,
        &table(&w.region),
        approach(Source::KmsEnv, CacheMode::None, FetchAt::Handler),
    );
    assert_eq!(cents(compute(&c, |_| true, |l| l.cost_usd)), 158_334);
    // Moved to arm64's side only, the x86_64 compute is all in the first tier: 1e8 × $0.0000166667.
    w.other_gb_seconds_per_month = Some(cost::workload::PerArchitecture {
        arm64: 5.95e9,
        x86_64: 0.0,
    });
    let c = price(
        &w,
        &table(&w.region),
        approach(Source::KmsEnv, CacheMode::None, FetchAt::Handler),
    );
    assert_eq!(cents(compute(&c, |_| true, |l| l.cost_usd)), 166_667);
    // Both ways at once is refused.
    w.base_gb_seconds_per_month = 1.0;
    assert!(w.validate().is_err());
}

#[test]
fn kms_free_tier_takes_the_first_20000_requests() {
    let w = workload("hand-kms-free-tier.toml");
    let c = price(
        &w,
        &table(&w.region),
        approach(Source::KmsEnv, CacheMode::None, FetchAt::Handler),
    );
    assert_eq!(cents(line(&c, "KMS customer managed key").cost_usd), 100);
    assert_eq!(line(&c, "KMS requests (free tier)").quantity, 2.0);
    assert_eq!(cents(line(&c, "KMS requests").cost_usd), 294);
    assert_eq!(cents(c.monthly_cost_usd), 394);
    // The first million Lambda requests are free too.
    let ctx = line(&c, "Lambda requests (context: the same for every approach)");
    assert_eq!(ctx.quantity, 0.0);
}

#[test]
fn compute_straddling_a_volume_tier_is_priced_per_tier() {
    let w = workload("hand-compute-tiers.toml");
    let c = price(
        &w,
        &table(&w.region),
        approach(Source::KmsEnv, CacheMode::None, FetchAt::Handler),
    );
    let gbs = compute(&c, |_| true, |l| l.quantity);
    assert!((gbs - 1e8).abs() < 1e-3, "{gbs}");
    assert_eq!(
        cents(compute(&c, |_| true, |l| l.cost_usd)),
        158_334,
        "833.335 + 750.00"
    );
    assert_eq!(cents(line(&c, "KMS requests").cost_usd), 600_000);
    assert_eq!(cents(c.monthly_cost_usd), 758_434);
}

#[test]
fn lambda_free_tier_covers_the_first_400000_gb_seconds() {
    let w = workload("hand-lambda-free-tier.toml");
    let c = price(
        &w,
        &table(&w.region),
        approach(Source::Ssm, CacheMode::None, FetchAt::Handler),
    );
    let free = compute(&c, |l| l.item.ends_with("(free tier)"), |l| l.quantity);
    assert!((free - 400_000.0).abs() < 1e-6, "{free}");
    let billed = compute(&c, |_| true, |l| l.cost_usd);
    assert_eq!(
        cents(billed),
        267,
        "200,000 GB-s × $0.0000133334 = $2.66668"
    );
    assert_eq!(
        line(&c, "SSM API interactions (standard throughput)").cost_usd,
        0.0
    );
    assert_eq!(cents(line(&c, "KMS requests").cost_usd), 894);
    assert_eq!(cents(c.monthly_cost_usd), 1161);
    assert!(c.feasible);
}

#[test]
fn caches_count_first_fetches_and_refreshes_never_more_than_uncached() {
    // The example workload: 12 environments × 730 h, living 45 min, TTL 5 min, 3 secrets.
    let w = workload("example.toml");
    let p = table(&w.region);
    let env_time = 12.0 * 730.0 * 3600.0;
    let new_envs = env_time / 2700.0;
    let first = new_envs * 3.0;
    let refreshes = env_time / 300.0 * 3.0;

    let lib = price(
        &w,
        &p,
        approach(
            Source::SecretsManager,
            CacheMode::AwsCachingLibrary,
            FetchAt::Handler,
        ),
    );
    let calls = |c: &model::ApproachCost, k: &str| {
        let op = model::Op::ALL
            .into_iter()
            .find(|o| o.key() == k)
            .expect("an operation");
        c.api_calls_per_month.get(&op).copied().unwrap_or(0.0)
    };
    assert!((calls(&lib, "Secrets Manager:GetSecretValue") - first).abs() < 1e-6);
    assert!((calls(&lib, "Secrets Manager:DescribeSecret") - refreshes).abs() < 1e-6);
    // DescribeSecret is not decrypted: KMS only for the first fetches.
    assert!((lib.kms_requests_per_month - first).abs() < 1e-6);
    // $1.20 secrets + 350,400 calls × $0.05/10k ($1.752) + the 35,040 KMS requests made with
    // aws/secretsmanager, charged as the KMS pricing page states (× $0.03/10k = $0.105):
    // $3.057.
    assert_eq!(cents(lib.monthly_cost_usd), 306);

    let ttl = price(
        &w,
        &p,
        approach(Source::SecretsManager, CacheMode::Ttl, FetchAt::Handler),
    );
    assert!((calls(&ttl, "Secrets Manager:GetSecretValue") - (first + refreshes)).abs() < 1e-6);
    // $1.20 + 350,400 × $0.05/10k ($1.752) + its 350,400 KMS requests on aws/secretsmanager
    // (× $0.03/10k = $1.0512): $4.0032.
    assert_eq!(cents(ttl.monthly_cost_usd), 400);

    let init = price(
        &w,
        &p,
        approach(Source::Ssm, CacheMode::None, FetchAt::Init),
    );
    assert!((calls(&init, "SSM:GetParameter") - first).abs() < 1e-6);

    // Low traffic: a cache never makes more calls than invocations × secrets per invocation.
    let mut quiet = w.clone();
    quiet.set(
        secbench_analyzer::cost::workload::SweepField::InvocationsPerMonth,
        1000.0,
    );
    quiet.avg_concurrent_environments = Some(12.0);
    for a in Approach::all() {
        let c = price(&quiet, &p, a);
        let total: f64 = c.api_calls_per_month.values().sum();
        assert!(total <= 1000.0 * 3.0 + 1e-9, "{}: {total}", c.approach);
    }
}

#[test]
fn quotas_decide_feasibility_and_ssm_buys_higher_throughput() {
    let mut w = workload("example.toml");
    let p = table(&w.region);
    // 200 rps × 3 = 600 GetParameter/s: above 40, below 10,000.
    let ssm = price(
        &w,
        &p,
        approach(Source::Ssm, CacheMode::None, FetchAt::Handler),
    );
    assert!(ssm.feasible);
    let api = line(&ssm, "SSM API interactions (higher throughput)");
    assert_eq!(cents(api.cost_usd), 15_000, "30M interactions × $0.05/10k");
    assert_eq!(
        ssm.peak_requests_per_second[&model::QuotaKey::Api(model::Op::SsmGetParameter)],
        600.0
    );
    // 4,000 rps × 3 = 12,000/s: above every default quota for uncached SSM and Secrets Manager.
    w.peak_rps = 4000.0;
    for s in [Source::Ssm, Source::SecretsManager] {
        let c = price(&w, &p, approach(s, CacheMode::None, FetchAt::Handler));
        assert!(!c.feasible, "{}", c.approach);
        assert!(
            c.notes.iter().any(|n| n.starts_with("infeasible")),
            "{:?}",
            c.notes
        );
    }
    // A cache brings the same traffic under the quota.
    let cached = price(
        &w,
        &p,
        approach(Source::Ssm, CacheMode::Ttl, FetchAt::Handler),
    );
    assert!(cached.feasible, "{:?}", cached.notes);
    // KMS quota is per region: 12,000 Decrypt/s fits us-east-1 (100k) but not ap-south-1 (10k).
    w.region = "ap-south-1".into();
    let south = pricing::parse(pricing::DEFAULT_TABLE, "ap-south-1")
        .expect("valid")
        .0;
    let kms = price(
        &w,
        &south,
        approach(Source::KmsEnv, CacheMode::None, FetchAt::Handler),
    );
    assert!(!kms.feasible);
    let kms = price(
        &w,
        &p,
        approach(Source::KmsEnv, CacheMode::None, FetchAt::Handler),
    );
    assert!(kms.feasible);
}

#[test]
fn recommendation_is_the_cheapest_feasible_that_meets_the_objective() {
    let w = workload("example.toml");
    let p = table(&w.region);
    let lat: Latencies = BTreeMap::from([
        (
            approach(Source::Ssm, CacheMode::Ttl, FetchAt::Handler),
            lat(0.300, 0.000_01),
        ),
        (
            approach(Source::KmsEnv, CacheMode::None, FetchAt::Init),
            lat(0.050, 0.000_001),
        ),
        (
            approach(Source::SecretsManager, CacheMode::Ttl, FetchAt::Handler),
            lat(0.100, 0.000_01),
        ),
    ]);
    let approaches = cost::evaluate(&w, &p, &lat, &BTreeMap::new());
    let none = cost::recommend::recommend(&approaches, &Slo::default());
    // Without an objective the cheapest feasible approach with a latency wins: approaches
    // nobody measured are not candidates once some were.
    assert_eq!(none.approach.map(|a| a.name()).as_deref(), Some("ssm+ttl"));
    assert!(none
        .excluded
        .iter()
        .any(|e| e.approach.name() == "ssm@init" && e.reason.starts_with("no latency")));
    // With no latency at all (the workload alone), every feasible approach is a candidate.
    let bare = cost::evaluate(&w, &p, &BTreeMap::new(), &BTreeMap::new());
    let r = cost::recommend::recommend(&bare, &Slo::default());
    assert_eq!(r.approach.map(|a| a.name()).as_deref(), Some("ssm@init"));
    assert!(r.why.contains("was not measured"), "{}", r.why);
    let slo = Slo::parse("p99_cold=200ms").expect("valid");
    let r = cost::recommend::recommend(&approaches, &slo);
    assert_eq!(
        r.approach.map(|a| a.name()).as_deref(),
        Some("kms-env@init"),
        "{}",
        r.why
    );
    assert_eq!(
        r.runner_up.map(|a| a.name()).as_deref(),
        Some("secrets-manager+ttl")
    );
    assert!(
        r.why
            .contains("ssm+ttl (objective: p99 cold 300.0 ms > 200.0 ms)"),
        "{}",
        r.why
    );
    assert!(r.excluded.iter().all(|e| e.approach.name() != "plain-env"));
}

#[test]
fn bad_workloads_name_the_field_and_the_range() {
    let cases = [
        ("unknown-field.toml", "unknown field `colour`"),
        (
            "negative-invocations.toml",
            "invocations_per_month: -5 is outside the allowed range 1..=10000000000000",
        ),
        (
            "memory-too-small.toml",
            "memory_mb: 64 is outside the allowed range 128..=10240",
        ),
        ("unknown-architecture.toml", "unknown variant `sparc`"),
        (
            "no-environments.toml",
            "avg_concurrent_environments: missing",
        ),
        ("bad-duration.toml", "`forever` is not a duration"),
        (
            "peak-below-average.toml",
            "peak_rps: 1 is below the average rate",
        ),
        ("duplicate-key.toml", "duplicate key"),
        (
            "latency-impossible-combination.toml",
            "latency[0]: cache = aws-caching-library caches Secrets Manager only",
        ),
        ("huge-secrets.toml", "secrets"),
        (
            "lifetime-max-below-average.toml",
            "max_environment_lifetime: is shorter than environment_lifetime",
        ),
        // A wrong type names the field, the line and what it got.
        (
            "wrong-type.toml",
            "invocations_per_month: TOML parse error at line 2",
        ),
        ("wrong-type.toml", "invalid type: string \"lots\""),
        ("missing-peak.toml", "missing field `peak_rps`"),
    ];
    for (file, expected) in cases {
        let path = fixture(&format!("workloads/invalid/{file}"));
        let e = Workload::load(&path).expect_err(file).to_string();
        assert!(e.contains(expected), "{file}: {e}");
        assert!(
            e.contains(file),
            "{file}: error does not name the file: {e}"
        );
    }
}

/// Worked by hand from scripts/workloads/example.toml (10M invocations a month, 3 secrets read
/// per invocation, peak 200/s, AWS managed keys, whose requests are charged as the KMS pricing
/// page states): without a cache, Secrets Manager one call per secret is 30M calls ($150.00) + 3
/// secrets ($1.20) + 30M KMS requests on aws/secretsmanager ($90.00) = $241.20; BatchGetSecretValue
/// billed per secret is the same $241.20, per call 10M calls ($50.00) + $1.20 + the 30M KMS
/// requests (one per value, $90.00) = $141.20, and at 200 calls/s it exceeds its 100/s quota; a
/// bundle is 10M calls ($50.00) + 1 secret ($0.40) + 10M KMS requests ($30.00) = $80.40. SSM at
/// 600 GetParameter/s needs higher throughput: 30M interactions ($150.00) + 30M KMS requests on
/// aws/ssm ($90.00) = $240.00; GetParameters counts each parameter, so batch costs the same
/// $240.00 in 10M calls (200/s, within its 1,000/s); a bundle is 10M interactions ($50.00) + 10M
/// KMS requests ($30.00) = $80.00.
#[test]
fn each_way_of_reading_several_secrets_is_priced_by_hand() {
    use secbench_analyzer::cost::many::price_modes;
    use secbench_record::MultiMode;
    let w = workload("example.toml");
    let mut p = table(&w.region);
    let find = |rows: &[secbench_analyzer::cost::many::ModeCost], s: Source, m: MultiMode| {
        rows.iter()
            .find(|r| r.source == s && r.mode == m && r.cache == CacheMode::None)
            .cloned()
            .expect("row")
    };
    let rows = price_modes(&w, &p, &Default::default());
    let usd = |r: &secbench_analyzer::cost::many::ModeCost| cents(r.monthly_cost_usd);
    assert_eq!(
        usd(&find(&rows, Source::SecretsManager, MultiMode::Sequential)),
        24_120
    );
    assert_eq!(
        usd(&find(&rows, Source::SecretsManager, MultiMode::Concurrent)),
        24_120
    );
    let batch = find(&rows, Source::SecretsManager, MultiMode::Batch);
    assert_eq!(usd(&batch), 24_120);
    assert_eq!(batch.calls_per_fetch, 1);
    assert!(!batch.feasible, "200 BatchGetSecretValue/s > 100/s");
    assert!(
        batch.notes.iter().any(|n| n.contains("unconfirmed")),
        "{:?}",
        batch.notes
    );
    let bundle = find(&rows, Source::SecretsManager, MultiMode::Bundle);
    assert_eq!((usd(&bundle), bundle.secrets_billed), (8_040, 1));
    assert!(bundle.notes.iter().any(|n| n.contains("rotate together")));
    assert_eq!(
        usd(&find(&rows, Source::Ssm, MultiMode::Sequential)),
        24_000
    );
    let ssm_batch = find(&rows, Source::Ssm, MultiMode::Batch);
    assert_eq!((usd(&ssm_batch), ssm_batch.feasible), (24_000, true));
    assert_eq!(usd(&find(&rows, Source::Ssm, MultiMode::Bundle)), 8_000);
    // The other reading of the switch.
    p.secrets_manager.batch_get_secret_value_billed =
        secbench_analyzer::cost::pricing::BatchBilling::PerCall;
    let rows = price_modes(&w, &p, &Default::default());
    assert_eq!(
        usd(&find(&rows, Source::SecretsManager, MultiMode::Batch)),
        14_120
    );
    // With 12 secrets, GetParameters takes 2 calls per fetch, BatchGetSecretValue 1.
    let mut twelve = w.clone();
    twelve.secrets = 12;
    twelve.secrets_per_invocation = 12;
    let rows = price_modes(&twelve, &p, &Default::default());
    assert_eq!(
        find(&rows, Source::Ssm, MultiMode::Batch).calls_per_fetch,
        2
    );
    assert_eq!(
        find(&rows, Source::SecretsManager, MultiMode::Batch).calls_per_fetch,
        1
    );
}

#[test]
fn provisioned_concurrency_at_init_is_priced_from_the_provisioned_rates_to_the_cent() {
    // SSM fetched at INIT on 2 provisioned environments of 128 MB (arm64) for the 730-hour
    // month, 10M invocations with a 2 ms mean warm fetch, 4 environments alive living 1 h:
    //   provisioned: 2 × 0.125 GB × 2,628,000 s = 657,000 GB-s × $0.0000033334 = $2.19004
    //   fetch compute: 10M × 0.002 s × 0.125 GB = 2,500 GB-s × $0.0000077778 = $0.01944
    //   GetParameter: 4 × 2,628,000 / 3,600 = 2,920 new environments, one read each, free at
    //   standard throughput; the Decrypts SSM makes with aws/ssm, charged (the conservative
    //   switch): 0.292 × $0.03 = $0.00876
    //   total $2.21825 → $2.22 (the on-demand price of the same fetches is $0.03: provisioned
    //   concurrency costs what it keeps, not what it fetches).
    let mut w = workload("hand-secrets-manager-10m.toml");
    w.free_tier = false;
    w.provisioned_environments = Some(2.0);
    let p = table("us-east-1");
    let a = Approach {
        concurrency: ConcurrencyMode::Provisioned,
        ..approach(Source::Ssm, CacheMode::None, FetchAt::Init)
    };
    let l = lat(0.050, 0.004);
    let c = model::price(model::Inputs {
        approach: a,
        latency: Some(l),
        miss_latency: None,
        workload: &w,
        pricing: &p,
    });
    let fixed = c
        .breakdown
        .iter()
        .find(|l| l.item.starts_with("Provisioned concurrency"))
        .unwrap_or_else(|| panic!("no provisioned line in {:#?}", c.breakdown));
    assert_eq!(fixed.quantity, 657_000.0);
    assert_eq!(fixed.unit_price_usd, 0.0000033334);
    assert_eq!(cents(fixed.cost_usd), 219);
    let fetching = line(
        &c,
        "Lambda compute fetching in invocations (provisioned duration price)",
    );
    assert!((fetching.quantity - 2_500.0).abs() < 1e-6, "{fetching:?}");
    assert_eq!(fetching.unit_price_usd, 0.0000077778);
    assert_eq!(cents(fetching.cost_usd), 2);
    assert_eq!(cents(line(&c, "KMS requests").cost_usd), 1);
    assert_eq!(cents(c.monthly_cost_usd), 222, "{:#?}", c.breakdown);
    assert!(
        c.notes
            .iter()
            .any(|n| n.contains("provisioned_environments")),
        "{:?}",
        c.notes
    );
    // Arm64 and x86_64 have their own rates: x86_64 provisioned is 657,000 × $0.0000041667.
    w.architecture = cost::workload::Architecture::X86_64;
    let x86 = model::price(model::Inputs {
        approach: a,
        latency: Some(l),
        miss_latency: None,
        workload: &w,
        pricing: &p,
    });
    let fixed = x86
        .breakdown
        .iter()
        .find(|l| l.item.starts_with("Provisioned concurrency"))
        .expect("a provisioned line");
    assert_eq!(cents(fixed.cost_usd), 274);
}

#[test]
fn one_measured_approach_is_not_called_the_only_feasible_one_when_the_others_are_unmeasured() {
    let w = workload("example.toml");
    let p = table(&w.region);
    let lat: Latencies = BTreeMap::from([(
        approach(Source::Ssm, CacheMode::Ttl, FetchAt::Handler),
        lat(0.300, 0.000_01),
    )]);
    let approaches = cost::evaluate(&w, &p, &lat, &BTreeMap::new());
    let unmeasured = approaches
        .iter()
        .filter(|c| c.source != Source::PlainEnv && c.latency.is_none())
        .count();
    assert!(unmeasured > 0);
    let r = cost::recommend::recommend(&approaches, &Slo::default());
    assert_eq!(r.approach.map(|a| a.name()).as_deref(), Some("ssm+ttl"));
    assert!(!r.why.contains("only feasible approach"), "{}", r.why);
    assert!(
        r.why.contains(&format!(
            "only measured approach that is feasible; {unmeasured} other approach(es) were not measured"
        )),
        "{}",
        r.why
    );
}

#[test]
fn a_ttl_cache_in_front_of_the_agent_can_be_stale_for_both_ttls() {
    // The workload's 5-minute TTL for the probe's cache and the agent's (capped at 300 s): a
    // value the agent served just before its TTL ran out is kept by the probe for 5 more
    // minutes, 10 minutes in all (the agent alone: 5).
    let w = workload("example.toml");
    let p = table(&w.region);
    let both = price(
        &w,
        &p,
        approach(
            Source::AgentSecretsManager,
            CacheMode::Ttl,
            FetchAt::Handler,
        ),
    );
    assert_eq!(
        both.staleness_bound,
        secbench_analyzer::approach::StalenessBound::AgentAndCacheTtl
    );
    assert_eq!(both.longest_staleness_s, 600.0);
    let agent = price(
        &w,
        &p,
        approach(
            Source::AgentSecretsManager,
            CacheMode::None,
            FetchAt::Handler,
        ),
    );
    assert_eq!(agent.longest_staleness_s, 300.0);
}

/// The many-secrets model counts rounds (one fetch of all the values a invocation reads) by the
/// single-secret model's rules. Worked by hand from scripts/workloads/example.toml:
/// - 10 secrets, 3 read per invocation, a 1 s TTL (shorter than any environment's gap between
///   invocations, so every invocation refreshes): 10M rounds, one per invocation; Secrets
///   Manager one call per value is 30M calls ($150.00) + 10 secrets ($4.00) + 30M KMS requests on
///   aws/secretsmanager ($90.00, charged as the KMS pricing page states) = $244.00 (dividing by the
///   10 secrets counted 3M rounds).
/// - The peak, with the 5-minute TTL: 12 environments on average at 3.805 invocations/s become
///   12 × 200 / 3.805 = 630.72 at the 200/s peak; their rounds are 630.72 / 2,700 s (first
///   fetches) + 630.72 / 300 s (refreshes) = 2.336/s, 7.008 GetParameter/s for SSM one call per
///   value (the monthly average refresh rate gave 116,800 / 2,628,000 s × 3 = 0.133/s).
#[test]
fn many_secrets_cached_rounds_and_peak_follow_the_single_secret_rules() {
    use secbench_analyzer::cost::many::{price_modes, ModeCost};
    use secbench_record::MultiMode;
    let p = table("us-east-1");
    let find = |rows: &[ModeCost], s: Source, m: MultiMode| {
        rows.iter()
            .find(|r| r.source == s && r.mode == m && r.cache == CacheMode::Ttl)
            .cloned()
            .expect("row")
    };
    let mut ten = workload("example.toml");
    ten.secrets = 10;
    ten.secrets_per_invocation = 3;
    ten.cache_ttl = std::time::Duration::from_secs(1);
    let rows = price_modes(&ten, &p, &Default::default());
    let seq = find(&rows, Source::SecretsManager, MultiMode::Sequential);
    assert_eq!(seq.api_calls_per_month.round(), 30_000_000.0, "{seq:#?}");
    assert_eq!(cents(seq.monthly_cost_usd), 24_400, "{seq:#?}");

    let w = workload("example.toml");
    let rows = price_modes(&w, &p, &Default::default());
    let ssm = find(&rows, Source::Ssm, MultiMode::Sequential);
    assert_eq!(
        (ssm.peak_calls_per_second * 1000.0).round() / 1000.0,
        7.008,
        "{ssm:#?}"
    );
    assert_eq!(ssm.api_calls_per_month.round(), 350_400.0, "{ssm:#?}");
}

/// A fetch at INIT without a cache is stale until its environment ends: the bound is the
/// longest an environment lives, not the average. Example workload (45 min on average): the
/// assumed 4 h (AWS: "every few hours", no figure), said to be assumed; a workload's own 2 h,
/// not. (It was the 45-minute average.)
#[test]
fn at_init_staleness_is_bounded_by_the_longest_environment_lifetime() {
    let mut w = workload("example.toml");
    let p = table(&w.region);
    let at_init = approach(Source::Ssm, CacheMode::None, FetchAt::Init);
    let c = price(&w, &p, at_init);
    assert_eq!(
        (c.longest_staleness_s, c.staleness_assumed),
        (14_400.0, true)
    );
    let ttl = price(
        &w,
        &p,
        approach(Source::Ssm, CacheMode::Ttl, FetchAt::Handler),
    );
    assert_eq!(
        (ttl.longest_staleness_s, ttl.staleness_assumed),
        (300.0, false)
    );
    w.max_environment_lifetime = Some(std::time::Duration::from_secs(7200));
    let c = price(&w, &p, at_init);
    assert_eq!(
        (c.longest_staleness_s, c.staleness_assumed),
        (7_200.0, false)
    );
}

/// The account's other traffic shares the quotas: at the example workload (200 invocations/s ×
/// 3 secrets = 600 fetches/s at the peak), uncached Secrets Manager has 10,000 / 600 = 16.7×
/// headroom alone; with 9,000 GetSecretValue/s of other callers it has 1,000 / 600 = 1.67×, and
/// with 9,500 it is infeasible (500 left < 600). SSM's higher-throughput quota (10,000) likewise.
#[test]
fn other_traffic_in_the_account_is_taken_off_the_quotas() {
    let p = table("us-east-1");
    let sm = approach(Source::SecretsManager, CacheMode::None, FetchAt::Handler);
    let ssm = approach(Source::Ssm, CacheMode::None, FetchAt::Handler);
    let alone = workload("example.toml");
    assert_eq!(
        alone
            .other_traffic
            .secrets_manager_get_secret_value_per_second,
        0.0
    );
    let c = price(&alone, &p, sm);
    assert!((c.quota_headroom.expect("headroom") - 10_000.0 / 600.0).abs() < 1e-9);
    assert!(c.feasible);

    let mut busy = alone.clone();
    busy.other_traffic
        .secrets_manager_get_secret_value_per_second = 9_000.0;
    let c = price(&busy, &p, sm);
    assert!((c.quota_headroom.expect("headroom") - 1_000.0 / 600.0).abs() < 1e-9);
    assert!(c.feasible, "{:?}", c.notes);
    assert!(
        c.notes
            .iter()
            .any(|n| n.contains("other 9000 GetSecretValue/s share the 10000 TPS quota: 1000 left")),
        "{:?}",
        c.notes
    );
    busy.other_traffic
        .secrets_manager_get_secret_value_per_second = 9_500.0;
    let c = price(&busy, &p, sm);
    assert!(!c.feasible);
    assert!(
        c.notes
            .iter()
            .any(|n| n.contains("GetSecretValue/s is above its quota of 500")),
        "{:?}",
        c.notes
    );
    // The note is the approach's own: SSM's row says nothing of Secrets Manager's traffic.
    let s = price(&busy, &p, ssm);
    assert!(
        !s.notes.iter().any(|n| n.contains("GetSecretValue")),
        "{:?}",
        s.notes
    );
    busy.other_traffic.ssm_get_parameter_per_second = 9_500.0;
    let s = price(&busy, &p, ssm);
    assert!(!s.feasible, "{:?}", s.notes);
    assert!(
        s.notes
            .iter()
            .any(|n| n.contains("above even the higher-throughput quota of 500")),
        "{:?}",
        s.notes
    );
}

/// The extension's refresh call is a switch of the pricing table. At the example workload
/// (12 environments over a 730-hour month = 31,536,000 environment-seconds, a 5-minute TTL, 3
/// secrets, 45-minute environments): 31,536,000 / 300 × 3 = 315,360 refreshes and
/// 31,536,000 / 2,700 × 3 = 35,040 first fetches a month. Describe-then-get (the default, not
/// settled by AWS's pages) prices 315,360 DescribeSecret and 35,040 GetSecretValue; get prices
/// 350,400 GetSecretValue, each causing a KMS Decrypt: with a customer managed key (whose
/// requests are always charged) 315,360 more KMS requests at $0.03 per 10,000 = $0.95 more; with
/// the AWS managed key, whose requests this table prices as free for Secrets Manager, the same
/// cost. Both readings say which they are.
#[test]
fn the_extension_s_refresh_call_is_a_switch_priced_either_way() {
    let mut w = workload("example.toml");
    w.kms_key = secbench_analyzer::cost::workload::KmsKey::CustomerManaged;
    let agent = approach(
        Source::AgentSecretsManager,
        CacheMode::None,
        FetchAt::Handler,
    );
    let op = |c: &model::ApproachCost, op: model::Op| {
        c.api_calls_per_month.get(&op).copied().unwrap_or(0.0)
    };
    let p = table("us-east-1");
    assert_eq!(
        p.secrets_manager.extension_refresh.calls,
        pricing::RefreshCalls::DescribeThenGet
    );
    let describe = price(&w, &p, agent);
    assert!((op(&describe, model::Op::SmDescribeSecret) - 315_360.0).abs() < 1e-6);
    assert!((op(&describe, model::Op::SmGetSecretValue) - 35_040.0).abs() < 1e-6);
    assert!(
        describe.notes.iter().any(|n| n
            .contains("DescribeSecret, and GetSecretValue only when the version changed")
            && n.contains("unconfirmed")),
        "{:?}",
        describe.notes
    );
    let mut get_table = table("us-east-1");
    get_table.secrets_manager.extension_refresh.calls = pricing::RefreshCalls::Get;
    let get = price(&w, &get_table, agent);
    assert!((op(&get, model::Op::SmGetSecretValue) - 350_400.0).abs() < 1e-6);
    assert_eq!(op(&get, model::Op::SmDescribeSecret), 0.0);
    assert!(
        get.notes
            .iter()
            .any(|n| n.contains("refreshes a secret with GetSecretValue")),
        "{:?}",
        get.notes
    );
    let cents = |usd: f64| (usd * 100.0).round() as i64;
    assert_eq!(
        cents(get.monthly_cost_usd - describe.monthly_cost_usd),
        95,
        "{} against {}",
        get.monthly_cost_usd,
        describe.monthly_cost_usd
    );
}

/// Issue 40's hand-worked case: at 10M invocations a month, uncached Secrets Manager with one
/// extra trail pays the trail line on top of the API line. Each GetSecretValue is a management
/// event and so is the KMS Decrypt Secrets Manager makes for it: 20M events, 200 × $2.00 =
/// $400.00 a copy; $200.00 when the trail leaves KMS events out.
#[test]
fn an_extra_trail_copies_every_call_and_kms_request_at_2_dollars_per_100k() {
    let mut w = workload("hand-secrets-manager-10m.toml");
    let p = table("us-east-1");
    let sm = approach(Source::SecretsManager, CacheMode::None, FetchAt::Handler);
    let before = price(&w, &p, sm);
    assert!(before
        .breakdown
        .iter()
        .all(|l| l.category != "trail_copies"));
    w.extra_trails = 1;
    let c = price(&w, &p, sm);
    let trail = line(
        &c,
        "CloudTrail: 1 extra trail copy of the calls' management events",
    );
    assert_eq!((trail.quantity, trail.unit_price_usd), (200.0, 2.0));
    assert_eq!(cents(trail.cost_usd), 40_000);
    // On top of the API line, which does not move.
    assert_eq!(cents(line(&c, "Secrets Manager API calls").cost_usd), 5_000);
    assert_eq!(cents(c.monthly_cost_usd - before.monthly_cost_usd), 40_000);
    assert_eq!(cents(c.category_usd("trail_copies")), 40_000);
    // Two copies, KMS events left out: 2 × 10M / 100k × $2.00.
    w.extra_trails = 2;
    w.extra_trails_exclude_kms = true;
    let c = price(&w, &p, sm);
    let trail = line(
        &c,
        "CloudTrail: 2 extra trail copies of the calls' management events (KMS events excluded)",
    );
    assert_eq!(cents(trail.cost_usd), 40_000);
    // The plaintext baseline calls nothing: no line.
    let plain = price(
        &w,
        &p,
        approach(Source::PlainEnv, CacheMode::None, FetchAt::Handler),
    );
    assert_eq!(plain.category_usd("trail_copies"), 0.0);
}

/// In a VPC an approach pays for the endpoint of each service it calls: 2 AZs × 730 h × $0.01 =
/// $14.60 a month, plus 10M calls × 4,096 B (the table's assumption, stated) = 38.15 GiB ×
/// $0.01 = $0.38; through a NAT gateway the same data at $0.045 = $1.72, and a gateway of its
/// own 730 h × $0.045 = $32.85. Which endpoint depends on the approach.
#[test]
fn vpc_endpoints_are_priced_per_service_called_and_nat_per_gb() {
    use secbench_analyzer::cost::workload::{Vpc, VpcAccess};
    let mut w = workload("hand-secrets-manager-10m.toml");
    let p = table("us-east-1");
    w.vpc = Some(Vpc {
        access: VpcAccess::Endpoints,
        availability_zones: 2,
        nat_gateways: 0,
        bytes_per_call: None,
    });
    let sm = price(
        &w,
        &p,
        approach(Source::SecretsManager, CacheMode::None, FetchAt::Handler),
    );
    let endpoint = line(&sm, "VPC interface endpoint secretsmanager (2 AZs)");
    assert_eq!((endpoint.quantity, endpoint.unit_price_usd), (1460.0, 0.01));
    assert_eq!(cents(endpoint.cost_usd), 1_460);
    assert_eq!(
        cents(line(&sm, "VPC interface endpoints: data processed").cost_usd),
        38
    );
    assert_eq!(cents(sm.category_usd("vpc_access")), 1_498);
    assert!(
        sm.notes
            .iter()
            .any(|n| n.contains("4096 bytes per API call assumed")),
        "{:?}",
        sm.notes
    );
    // KMS-encrypted variables call KMS, not Secrets Manager: the kms endpoint instead.
    let kms = price(
        &w,
        &p,
        approach(Source::KmsEnv, CacheMode::None, FetchAt::Handler),
    );
    assert!(kms
        .breakdown
        .iter()
        .any(|l| l.item == "VPC interface endpoint kms (2 AZs)"));
    assert!(!kms
        .breakdown
        .iter()
        .any(|l| l.item.contains("secretsmanager")));
    // Through a NAT gateway of its own, at a stated 2 KiB per call: 10M × 2,048 B = 19.07 GiB
    // × $0.045 = $0.86, and 730 h × $0.045 = $32.85.
    w.vpc = Some(Vpc {
        access: VpcAccess::Nat,
        availability_zones: 2,
        nat_gateways: 1,
        bytes_per_call: Some(2048.0),
    });
    let nat = price(
        &w,
        &p,
        approach(Source::SecretsManager, CacheMode::None, FetchAt::Handler),
    );
    assert_eq!(
        cents(line(&nat, "NAT gateway: data processed").cost_usd),
        86
    );
    assert_eq!(
        cents(line(&nat, "NAT gateways of these functions").cost_usd),
        3_285
    );
    assert!(!nat
        .notes
        .iter()
        .any(|n| n.contains("bytes per API call assumed")));
}

/// A customer managed key's automatic rotations: each of the first two adds $1.00 a month for
/// good (KMS pricing), later ones nothing: at 3 rotations the key costs $1.00 + $2.00.
#[test]
fn a_rotated_customer_key_pays_for_its_first_two_rotations() {
    let mut w = workload("hand-secrets-manager-10m.toml");
    let p = table("us-east-1");
    let kms_env = approach(Source::KmsEnv, CacheMode::None, FetchAt::Init);
    let new_key = price(&w, &p, kms_env);
    assert!(!new_key
        .breakdown
        .iter()
        .any(|l| l.item.starts_with("KMS key rotations")));
    w.kms_key_rotations = 1;
    let once = price(&w, &p, kms_env);
    assert_eq!(
        cents(
            line(
                &once,
                "KMS key rotations (1 so far; the first 2 are charged)"
            )
            .cost_usd
        ),
        100
    );
    w.kms_key_rotations = 3;
    let thrice = price(&w, &p, kms_env);
    let rotations = line(
        &thrice,
        "KMS key rotations (3 so far; the first 2 are charged)",
    );
    assert_eq!((rotations.quantity, cents(rotations.cost_usd)), (2.0, 200));
    assert_eq!(cents(thrice.category_usd("fixed")), 300);
    assert_eq!(
        cents(thrice.monthly_cost_usd - new_key.monthly_cost_usd),
        200
    );
}

/// Several secrets with the free tier: the first 20,000 KMS requests of the month are free
/// here too. Bundle from Secrets Manager at the example workload: 10M invocations × 1 value =
/// 10M KMS requests; with the free tier (10M − 20k) / 10k × $0.03 = $29.94 instead of $30.00,
/// so the bundle costs $0.40 + $50.00 + $29.94 = $80.34.
#[test]
fn several_secrets_take_the_kms_free_tier_first() {
    use secbench_analyzer::cost::many::price_modes;
    use secbench_record::MultiMode;
    let mut w = workload("example.toml");
    let p = table(&w.region);
    let bundle = |w: &Workload| {
        price_modes(w, &p, &Default::default())
            .into_iter()
            .find(|r| {
                r.source == Source::SecretsManager
                    && r.mode == MultiMode::Bundle
                    && r.cache == CacheMode::None
            })
            .expect("row")
    };
    assert_eq!(cents(bundle(&w).monthly_cost_usd), 8_040);
    w.free_tier = true;
    assert_eq!(cents(bundle(&w).monthly_cost_usd), 8_034);
}

/// Several secrets' Lambda compute: a measured 20 ms uncached round of 3 values from Secrets
/// Manager as a bundle, 10M rounds a month at 128 MB = 10M × 0.02 s × 0.125 GB = 25,000
/// GB-seconds × $0.0000133334 (arm64, first tier) = $0.33, on top of $80.40; within the free
/// tier's 400,000 GB-seconds, $0.00. A mode without a measured round says its compute is left out.
#[test]
fn several_secrets_price_the_compute_of_a_measured_round() {
    use secbench_analyzer::cost::many::{price_modes, RoundTimes};
    use secbench_record::MultiMode;
    let mut w = workload("example.toml");
    let p = table(&w.region);
    let times = RoundTimes::from([((Source::SecretsManager, MultiMode::Bundle, 3, 128), 0.020)]);
    let row = |w: &Workload, mode: MultiMode| {
        price_modes(w, &p, &times)
            .into_iter()
            .find(|r| {
                r.source == Source::SecretsManager && r.mode == mode && r.cache == CacheMode::None
            })
            .expect("row")
    };
    let bundle = row(&w, MultiMode::Bundle);
    assert_eq!(bundle.lambda_gb_seconds_per_month, Some(25_000.0));
    assert_eq!(bundle.lambda_compute_usd.map(cents), Some(33));
    assert_eq!(cents(bundle.monthly_cost_usd), 8_040 + 33);
    let sequential = row(&w, MultiMode::Sequential);
    assert_eq!(sequential.lambda_compute_usd, None);
    assert!(sequential
        .notes
        .iter()
        .any(|n| n.contains("Lambda compute left out")));
    w.free_tier = true;
    assert_eq!(
        row(&w, MultiMode::Bundle).lambda_compute_usd.map(cents),
        Some(0)
    );
}

/// The extension's share of INIT is billed compute of every new environment: 100 environments
/// alive, each living 10 minutes, over 730 hours = 438,000 new environments × 0.2 s × 1 GB =
/// 87,600 GB-seconds × $0.0000133334 (arm64, first tier) = $1.17 a month on the agent's line;
/// the direct approaches pay no such line, and an agent approach without the figure says so.
#[test]
fn the_extension_s_init_share_is_priced_for_every_new_environment() {
    use secbench_analyzer::cost::workload::LatencyEntry;
    use std::time::Duration;
    let mut w = workload("hand-secrets-manager-10m.toml");
    w.memory_mb = 1024;
    w.avg_concurrent_environments = Some(100.0);
    w.environment_lifetime = Duration::from_secs(600);
    let ms = Duration::from_millis;
    let entry = |source, extension_init| LatencyEntry {
        source,
        cache: CacheMode::None,
        fetch_at: FetchAt::Handler,
        cold_p50: ms(30),
        cold_p99: ms(60),
        warm_p50: ms(1),
        warm_p99: ms(3),
        extension_init,
    };
    w.latency = vec![
        entry(Source::AgentSecretsManager, Some(ms(200))),
        entry(Source::SecretsManager, None),
    ];
    let p = table("us-east-1");
    let agent = price(
        &w,
        &p,
        approach(
            Source::AgentSecretsManager,
            CacheMode::None,
            FetchAt::Handler,
        ),
    );
    let ext = line(
        &agent,
        "Lambda compute of the extension's INIT (its share of Init Duration)",
    );
    assert!((ext.quantity - 87_600.0).abs() < 1e-6, "{}", ext.quantity);
    assert_eq!(cents(ext.cost_usd), 117);
    let direct = price(
        &w,
        &p,
        approach(Source::SecretsManager, CacheMode::None, FetchAt::Handler),
    );
    assert!(!direct
        .breakdown
        .iter()
        .any(|l| l.item.contains("extension")));
    w.latency = vec![entry(Source::AgentSecretsManager, None)];
    let unmeasured = price(
        &w,
        &p,
        approach(
            Source::AgentSecretsManager,
            CacheMode::None,
            FetchAt::Handler,
        ),
    );
    assert!(!unmeasured
        .breakdown
        .iter()
        .any(|l| l.item.contains("extension's INIT")));
    assert!(unmeasured
        .notes
        .iter()
        .any(|n| n.contains("extension's share of INIT was not measured")));
}

/// From a run, the extension's share of INIT is the mean platform Init Duration of the agent
/// approach's cold starts less that of the plaintext baseline's: computed here from the
/// fixture's records themselves (HdrHistogram keeps 3 significant digits: within 0.5 %).
#[test]
fn from_a_run_the_extension_s_init_share_is_its_init_duration_less_the_baseline_s() {
    let run = fixture("runs/small");
    let ingested =
        secbench_analyzer::ingest::read_runs(std::slice::from_ref(&run), false).expect("run");
    let summary =
        secbench_analyzer::summary::build(&ingested, secbench_analyzer::stats::DEFAULT_SEED);
    let w = workload("example.toml");
    let (lat, notes) = cost::latencies_from_summary(&summary, &w, &Default::default(), None);
    let agent = approach(
        Source::AgentSecretsManager,
        CacheMode::None,
        FetchAt::Handler,
    );
    let share = lat[&agent].extension_init_s.expect("measured share");
    // By hand: the mean Init Duration of each source's cold starts in the records.
    let text = std::fs::read_to_string(run.join("records.jsonl")).expect("records");
    let mean_init = |source: &str| {
        let v: Vec<f64> = text
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|r| r["probe"]["cold"] == true && r["probe"]["source"] == source)
            .filter_map(|r| r["platform"]["init_duration_ms"].as_f64())
            .collect();
        assert!(!v.is_empty(), "{source}");
        v.iter().sum::<f64>() / v.len() as f64 / 1e3
    };
    let expected = (mean_init("agent-secrets-manager") - mean_init("plain-env")).max(0.0);
    assert!(
        (share - expected).abs() <= expected * 0.005 + 1e-5,
        "{share} against {expected}"
    );
    assert!(
        notes[&agent].iter().any(|n| n.contains("stand-in")),
        "{:?}",
        notes[&agent]
    );
    // The direct approaches have none.
    let direct = approach(Source::SecretsManager, CacheMode::None, FetchAt::Handler);
    assert_eq!(lat.get(&direct).and_then(|l| l.extension_init_s), None);
}

/// A Lambda Managed Instances approach with what its run measured.
fn lmi_price(
    w: &Workload,
    p: &Pricing,
    cache: CacheMode,
    single_flight: bool,
    measure: secbench_analyzer::cost::managed::ManagedMeasure,
) -> model::ApproachCost {
    let a = Approach {
        concurrency: ConcurrencyMode::ManagedInstances,
        single_flight,
        ..approach(Source::SecretsManager, cache, FetchAt::Handler)
    };
    let l = secbench_analyzer::cost::latency::Latency {
        managed: Some(measure),
        ..lat(0.0, 0.004)
    };
    model::price(model::Inputs {
        approach: a,
        latency: Some(l),
        miss_latency: None,
        workload: w,
        pricing: p,
    })
}

fn measure(
    max_concurrency: u32,
    workers: f64,
    cpu_ms: f64,
    refresh_calls_per_ttl: f64,
) -> secbench_analyzer::cost::managed::ManagedMeasure {
    secbench_analyzer::cost::managed::ManagedMeasure {
        max_concurrency,
        vcpus: 1.0,
        workers_per_environment: workers,
        cpu_s_per_invocation: cpu_ms / 1e3,
        refresh_calls_per_ttl,
    }
}

/// Rust, one cache per environment with single flight, 4 ms of CPU per invocation:
/// environments = max(2,000 × 0.004 / (1 vCPU × 0.5), 80 / 16) = 16; instances = ⌈16 × 1 / 2⌉
/// = 8; 8 × 730 h = 5,840 instance-hours × $0.0816 = $476.544, the fee 15 % = $71.4816.
/// Calls: 16 caches × 2,628,000 s / 300 s = 140,160 refreshes + 16 × 2,628,000 / 14,400 =
/// 2,920 first fetches = 143,080 GetSecretValue × $0.05 / 10,000 = $0.7154.
#[test]
fn managed_instances_price_instances_fee_and_a_shared_cache_s_calls_to_the_cent() {
    let w = workload("hand-managed-instances.toml");
    let p = table("us-east-1");
    let c = lmi_price(&w, &p, CacheMode::Ttl, true, measure(16, 1.0, 4.0, 1.0));
    let instances = line(
        &c,
        "Lambda Managed Instances: 8 × m7g.large (2 vCPUs) × 730 h (EC2 on-demand)",
    );
    assert_eq!(instances.quantity, 5840.0);
    assert_eq!(cents(instances.cost_usd), 47654);
    let fee = line(
        &c,
        "Lambda Managed Instances management fee (15 % of the instances' on-demand price)",
    );
    assert_eq!(cents(fee.cost_usd), 7148);
    assert_eq!(cents(c.category_usd("lmi_capacity")), 54803);
    assert_eq!(
        c.api_calls_per_month[&model::Op::SmGetSecretValue],
        143_080.0
    );
    assert_eq!(cents(c.category_usd("api_requests")), 72);
    // No duration charge on Managed Instances.
    assert_eq!(c.category_usd("lambda_compute"), 0.0);
    assert!(c.notes.iter().any(|n| n.contains("16 environment(s)")));
}

/// Python, a cache per process (16 processes per environment), 12 ms of CPU: environments =
/// 2,000 × 0.012 / 0.5 = 48, instances 24: 17,520 h × $0.0816 = $1,429.632 + fee $214.4448.
/// Calls: 48 × 16 = 768 caches × 8,760 TTL periods = 6,727,680 refreshes + 48 × 182.5 × 16 =
/// 140,160 first fetches = 6,867,840 × $0.05 / 10,000 = $34.3392: 48 times the shared cache's.
/// And the herd: the shared cache without single flight, 3.5 calls per expiry, makes 16 ×
/// 8,760 × 3.5 = 490,560 refreshes + 2,920 = 493,480 calls = $2.4674.
#[test]
fn per_process_caches_and_the_herd_multiply_the_calls_to_the_cent() {
    let w = workload("hand-managed-instances.toml");
    let p = table("us-east-1");
    let python = lmi_price(&w, &p, CacheMode::Ttl, false, measure(16, 16.0, 12.0, 1.0));
    assert_eq!(cents(python.category_usd("lmi_capacity")), 164408);
    assert_eq!(
        python.api_calls_per_month[&model::Op::SmGetSecretValue],
        6_867_840.0
    );
    assert_eq!(cents(python.category_usd("api_requests")), 3434);
    let herd = lmi_price(&w, &p, CacheMode::Ttl, false, measure(16, 1.0, 4.0, 3.5));
    assert_eq!(
        herd.api_calls_per_month[&model::Op::SmGetSecretValue],
        493_480.0
    );
    assert_eq!(cents(herd.category_usd("api_requests")), 247);
    assert_eq!(herd.approach.name(), "secrets-manager+ttl+lmi");
    let shared = lmi_price(&w, &p, CacheMode::Ttl, true, measure(16, 1.0, 4.0, 1.0));
    assert_eq!(
        shared.approach.name(),
        "secrets-manager+ttl+single-flight+lmi"
    );
    assert_eq!(
        Approach::parse(&shared.approach.name()),
        Some(shared.approach)
    );
}

/// A small workload still pays for the three instances AWS launches at publish: 10 requests/s
/// need one environment's CPU, but 3 × 730 h × $0.0816 = $178.704 + 15 % = $26.8056; and an
/// unset target utilisation is the model's assumption, said in the notes.
#[test]
fn managed_instances_pay_for_three_instances_at_least_and_say_what_they_assume() {
    let mut w = workload("hand-managed-instances.toml");
    w.peak_rps = 10.0;
    w.managed_instances.target_cpu_utilization = None;
    let p = table("us-east-1");
    let c = lmi_price(&w, &p, CacheMode::None, false, measure(16, 1.0, 4.0, 1.0));
    assert_eq!(cents(c.category_usd("lmi_capacity")), 20551);
    assert!(c
        .notes
        .iter()
        .any(|n| n.contains("assumed: AWS does not document the default target")));
    // Uncached: every invocation's fetch is a call, as on demand.
    assert_eq!(
        c.api_calls_per_month[&model::Op::SmGetSecretValue],
        100_000_000.0
    );
    // An instance type the table does not price is named, and the row falls back to on demand.
    w.managed_instances.instance_type = Some("z9.huge".into());
    let c = lmi_price(&w, &p, CacheMode::None, false, measure(16, 1.0, 4.0, 1.0));
    assert!(c
        .notes
        .iter()
        .any(|n| n.contains("z9.huge is not in the pricing table")));
}

/// SnapStart's charges, by hand (hand-secrets-manager-10m at 512 MB: 4 environments alive,
/// each living 1 h, so 4 × 2,628,000 / 3,600 = 2,920 new environments a month, each a restore):
///   restores: 2,920 × 0.5 GB = 1,460 GB × $0.0001397998 = $0.20411
///   cache: one version all month (2,628,000 s) beats 30 versions × 3 h (324,000 s):
///     2,628,000 × 0.5 GB = 1,314,000 GB-s × $0.0000015046 = $1.97704
///   Secrets Manager calls: @init once per version (30 a month, the assumed default) where
///   @restore calls once per restore (2,920): $0.05 per 10,000 → $0.00015 and $0.0146.
/// With the workload's own counts (2 versions a month, 3 kept) the cache is 3 × 2,628,000 ×
/// 0.5 GB = 3,942,000 GB-s = $5.93113, and nothing is said to be assumed.
#[test]
fn snapstart_restores_and_its_snapshot_cache_are_priced_to_the_cent() {
    let mut w = workload("hand-secrets-manager-10m.toml");
    w.memory_mb = 512;
    let p = table("us-east-1");
    let snap = |fetch_at| Approach {
        concurrency: ConcurrencyMode::SnapStart,
        runtime: secbench_record::Runtime::Python313,
        ..approach(Source::SecretsManager, CacheMode::None, fetch_at)
    };
    let price = |w: &Workload, a| {
        model::price(model::Inputs {
            approach: a,
            latency: Some(lat(0.050, 0.004)),
            miss_latency: None,
            workload: w,
            pricing: &p,
        })
    };
    let at_init = price(&w, snap(FetchAt::Init));
    let restores = line(&at_init, "SnapStart restores: 2920 × 0.5 GB");
    assert!((restores.quantity - 1_460.0).abs() < 1e-6, "{restores:?}");
    assert_eq!(restores.unit_price_usd, 0.0001397998);
    assert_eq!(cents(restores.cost_usd), 20);
    let cache = at_init
        .breakdown
        .iter()
        .find(|l| l.item.starts_with("SnapStart snapshot cache"))
        .expect("a cache line");
    assert!((cache.quantity - 1_314_000.0).abs() < 1e-6, "{cache:?}");
    assert_eq!(cents(cache.cost_usd), 198);
    let calls =
        |c: &model::ApproachCost| c.api_calls_per_month[&cost::counts::Op::SmGetSecretValue];
    assert!((calls(&at_init) - 30.0).abs() < 1e-9);
    let at_restore = price(&w, snap(FetchAt::Restore));
    assert!((calls(&at_restore) - 2_920.0).abs() < 1e-6);
    assert!(
        at_init
            .notes
            .iter()
            .any(|n| n.contains("assumes 30 versions published a month")),
        "{:?}",
        at_init.notes
    );
    // The workload's own counts.
    w.snapstart.versions_per_month = Some(2.0);
    w.snapstart.active_versions = Some(3.0);
    let kept = price(&w, snap(FetchAt::Init));
    let cache = kept
        .breakdown
        .iter()
        .find(|l| l.item.starts_with("SnapStart snapshot cache"))
        .expect("a cache line");
    assert!((cache.quantity - 3_942_000.0).abs() < 1e-6, "{cache:?}");
    assert_eq!(cents(cache.cost_usd), 593);
    assert!((calls(&kept) - 2.0).abs() < 1e-9);
    assert!(!kept.notes.iter().any(|n| n.contains("SnapStart assumes")));
    // On demand, the same approach has neither line.
    let on_demand = price(
        &w,
        approach(Source::SecretsManager, CacheMode::None, FetchAt::Init),
    );
    assert!(!on_demand
        .breakdown
        .iter()
        .any(|l| l.category == "snapstart"));
}
