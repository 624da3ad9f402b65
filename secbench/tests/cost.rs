//! `secbench cost`: cases worked by hand from the published prices (to the cent), the
//! counting formula with caches, feasibility against quotas, the recommendation under an
//! objective, bad workload and pricing files named by field, and the three formats through
//! the real binary (JSON against its committed schemas), with latencies from a real run.

mod common;

use common::root;
use secbench_analyzer::cost::model::{self, Approach};
use secbench_analyzer::cost::pricing::{self, Pricing};
use secbench_analyzer::cost::workload::Workload;
use secbench_analyzer::cost::{self as cost, recommend::Slo, Latencies};
use secbench_record::{CacheMode, FetchAt, Source};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Output};

fn fixture(name: &str) -> PathBuf {
    root().join("analyzer/tests/fixtures").join(name)
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
    }
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
    // The shipped table prices them free too (the Secrets Manager guide: aws/secretsmanager
    // costs nothing), and says so without an "unconfirmed" note.
    let shipped = price(
        &w,
        &table("us-east-1"),
        approach(Source::SecretsManager, CacheMode::None, FetchAt::Handler),
    );
    assert_eq!(cents(shipped.monthly_cost_usd), 5040);
    assert!(!shipped.notes.iter().any(|n| n.starts_with("unconfirmed")));
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
    let describe = lib.peak_requests_per_second["Secrets Manager:DescribeSecret"];
    assert!((describe - 30_000.0).abs() < 1e-6, "{describe}");
    assert!(lib.peak_requests_per_second["Secrets Manager:GetSecretValue"] < 1.0);
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
    let calls =
        |c: &model::ApproachCost, k: &str| c.api_calls_per_month.get(k).copied().unwrap_or(0.0);
    assert!((calls(&lib, "Secrets Manager:GetSecretValue") - first).abs() < 1e-6);
    assert!((calls(&lib, "Secrets Manager:DescribeSecret") - refreshes).abs() < 1e-6);
    // DescribeSecret is not decrypted: KMS only for the first fetches.
    assert!((lib.kms_requests_per_month - first).abs() < 1e-6);
    // $1.20 secrets + 350,400 calls × $0.05/10k; the 35,040 KMS requests are made with
    // aws/secretsmanager, which the shipped table prices free (they were $0.11).
    assert_eq!(cents(lib.monthly_cost_usd), 295);

    let ttl = price(
        &w,
        &p,
        approach(Source::SecretsManager, CacheMode::Ttl, FetchAt::Handler),
    );
    assert!((calls(&ttl, "Secrets Manager:GetSecretValue") - (first + refreshes)).abs() < 1e-6);
    // $1.20 + 350,400 × $0.05/10k; its 350,400 KMS requests are on aws/secretsmanager (free; were $1.05).
    assert_eq!(cents(ttl.monthly_cost_usd), 295);

    let init = price(
        &w,
        &p,
        approach(Source::Ssm, CacheMode::None, FetchAt::Init),
    );
    assert!((calls(&init, "SSM:GetParameter") - first).abs() < 1e-6);

    // Low traffic: a cache never makes more calls than invocations × secrets per invocation.
    let mut quiet = w.clone();
    quiet
        .set("invocations_per_month", 1000.0)
        .expect("sweepable");
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
    assert_eq!(ssm.peak_requests_per_second["SSM:GetParameter"], 600.0);
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

/// Worked by hand from scripts/workloads/example.toml: environments live 45 min and every
/// cache has the default TTL of 5 min. Longest staleness after a rotation: @init without a
/// cache 45 min (the environment lifetime), ttl, the caching library and the agent 5 min,
/// uncached 0 (next fetch), kms-env 0 after the configuration change that carries the new
/// ciphertext. Cheapest first (from the table of the same workload): ssm@init $0.11, ssm+ttl
/// $1.05, agent-ssm $1.05, kms-env@init $1.11. So: no limit picks ssm@init; 10 min rules out
/// ssm@init only (ssm+ttl); 1 min rules out the three cheaper ones (kms-env@init).
#[test]
fn max_staleness_changes_the_recommendation_and_says_which_constraint_ruled_out_each() {
    let w = workload("example.toml");
    let p = table(&w.region);
    let bare = cost::evaluate(&w, &p, &BTreeMap::new(), &BTreeMap::new());
    let by_name = |n: &str| {
        bare.iter()
            .find(|c| c.approach.name() == n)
            .unwrap_or_else(|| panic!("{n}"))
    };
    assert_eq!(by_name("ssm@init").longest_staleness_s, 45.0 * 60.0);
    assert_eq!(by_name("ssm+ttl").longest_staleness_s, 300.0);
    assert_eq!(by_name("agent-secrets-manager").longest_staleness_s, 300.0);
    assert_eq!(by_name("secrets-manager").longest_staleness_s, 0.0);
    assert_eq!(by_name("kms-env@init").longest_staleness_s, 0.0);
    let pick = |max_s: Option<f64>| {
        let slo = Slo {
            max_staleness_s: max_s,
            ..Slo::default()
        };
        cost::recommend::recommend(&bare, &slo)
    };
    assert_eq!(
        pick(None).approach.map(|a| a.name()).as_deref(),
        Some("ssm@init")
    );
    let ten = pick(Some(600.0));
    assert_eq!(
        ten.approach.map(|a| a.name()).as_deref(),
        Some("ssm+ttl"),
        "{}",
        ten.why
    );
    assert!(
        ten.why.contains("ssm@init (staleness: can serve a value up to 45.0 min after a rotation (environment lifetime) > 10.0 min)"),
        "{}",
        ten.why
    );
    let one = pick(Some(60.0));
    assert_eq!(
        one.approach.map(|a| a.name()).as_deref(),
        Some("kms-env@init"),
        "{}",
        one.why
    );
    for (name, bound) in [
        ("ssm@init", "environment lifetime"),
        ("ssm+ttl", "cache TTL"),
        ("agent-ssm", "agent TTL"),
        ("secrets-manager+aws-caching-library", "cache TTL"),
    ] {
        let e = one
            .excluded
            .iter()
            .find(|e| e.approach.name() == name)
            .unwrap_or_else(|| panic!("{name} not excluded"));
        assert!(
            e.reason.starts_with("staleness:") && e.reason.contains(bound),
            "{name}: {}",
            e.reason
        );
    }
    assert!(one.why.contains("configuration change"), "{}", one.why);
    // The same through the CLI, which parses the duration.
    let out = ok(&secbench(&[
        "cost",
        "--workload",
        fixture("workloads/example.toml").to_str().expect("utf-8"),
        "--max-staleness",
        "1m",
    ]));
    assert!(out.contains("Recommendation: kms-env@init"), "{out}");
    assert!(out.contains("stale up to"), "{out}");
    let bad = secbench(&["cost", "--workload", "w", "--max-staleness", "soon"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--max-staleness"));
}

fn lat(cold: f64, warm: f64) -> secbench_analyzer::cost::latency::Latency {
    secbench_analyzer::cost::latency::Latency {
        cold_p50_s: cold / 2.0,
        cold_p99_s: cold,
        cold_mean_s: cold / 2.0,
        warm_p50_s: warm / 2.0,
        warm_p99_s: warm,
        warm_mean_s: warm / 2.0,
    }
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

#[test]
fn bad_pricing_tables_name_the_field() {
    let cases = [
        (
            "negative-price.toml",
            "secrets_manager.secret_per_month_usd: -0.4 is outside",
        ),
        (
            "tiers-out-of-order.toml",
            "lambda.gb_second_tiers.x86_64[1].up_to_gb_seconds",
        ),
        (
            "unknown-field-in-region.toml",
            "region.\"eu-west-1\".quotas.kms",
        ),
        ("bad-date.toml", "date: `last tuesday` is not a date"),
        (
            "missing-field.toml",
            "missing field `api_calls_per_10k_usd`",
        ),
    ];
    for (file, expected) in cases {
        let path = fixture(&format!("pricing-invalid/{file}"));
        let e = pricing::load(Some(&path), "us-east-1")
            .expect_err(file)
            .to_string();
        assert!(e.contains(expected), "{file}: {e}");
    }
}

fn secbench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_secbench"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("secbench")
}

fn ok(o: &Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout.clone()).expect("utf-8")
}

fn validate(schema: &str, json: &str) {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("analyzer/schema").join(schema)).expect("schema"),
    )
    .expect("schema json");
    let v: serde_json::Value = serde_json::from_str(json).expect("json output");
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let errors: Vec<String> = validator.iter_errors(&v).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{schema}: {errors:#?}");
}

#[test]
fn cost_cli_three_formats_from_the_workload_alone() {
    let wl = "analyzer/tests/fixtures/workloads/example.toml";
    let table = ok(&secbench(&["cost", "--workload", wl]));
    insta::assert_snapshot!("cost_example_table", table);
    let json = ok(&secbench(&["cost", "--workload", wl, "--format", "json"]));
    validate("cost.schema.json", &json);
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(v["pricing"]["date"], "2026-12-01");
    assert_eq!(v["workload"]["invocations_per_month"], 10_000_000.0);
    assert_eq!(
        v["approaches"].as_array().map(Vec::len),
        Some(Approach::all().len())
    );
    let csv = ok(&secbench(&["cost", "--workload", wl, "--format", "csv"]));
    let mut lines = csv.lines();
    assert!(lines
        .next()
        .is_some_and(|h| h.starts_with("approach,feasible,monthly_cost_usd,item")));
    let rows: Vec<&str> = lines.collect();
    assert!(
        rows.iter()
            .any(|r| r.starts_with("secrets-manager,true,151.2,Secrets Manager API calls")),
        "{csv}"
    );
    assert!(rows.iter().all(|r| r.ends_with(",2026-12-01")));
}

#[test]
fn cost_cli_with_a_run_uses_measured_latencies_and_checks_call_counts() {
    let wl = "analyzer/tests/fixtures/workloads/example.toml";
    let run = "analyzer/tests/fixtures/runs/small";
    let json = ok(&secbench(&[
        "cost",
        "--workload",
        wl,
        "--latency",
        run,
        "--format",
        "json",
        "--slo",
        "p99_cold=5s,p99_warm=1s",
    ]));
    validate("cost.schema.json", &json);
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(v["latency_origin"]["kind"], "runs");
    assert_eq!(v["latency_origin"]["local_emulator"], true);
    let approaches = v["approaches"].as_array().expect("approaches");
    let sm = approaches
        .iter()
        .find(|a| a["approach"] == "kms-env")
        .expect("kms-env");
    assert!(sm["latency"]["warm_p99_s"]
        .as_f64()
        .is_some_and(|s| s > 0.0));
    assert!(sm["breakdown"]
        .as_array()
        .expect("lines")
        .iter()
        .any(|l| l["category"] == "lambda_compute"
            && l["quantity"].as_f64().is_some_and(|q| q > 0.0)));
    assert!(sm["notes"]
        .as_array()
        .expect("notes")
        .iter()
        .any(|n| n == "latency measured in local/kms-env-none"));
    // The run's measured calls per first fetch agree with the model (one call each).
    for a in approaches {
        for n in a["notes"].as_array().expect("notes") {
            assert!(
                !n.as_str().unwrap_or("").contains("the model assumes"),
                "{a:#}"
            );
        }
    }
    assert!(v["recommendation"]["approach"].is_string());
    let table = ok(&secbench(&["cost", "--workload", wl, "--latency", run]));
    assert!(table.contains("local emulator figures, not AWS"), "{table}");
}

#[test]
fn sweep_gives_the_cost_curve_and_break_even_points() {
    let wl = "analyzer/tests/fixtures/workloads/example.toml";
    let json = ok(&secbench(&[
        "cost",
        "--workload",
        wl,
        "--sweep",
        "invocations_per_month=1e4..1e9",
        "--format",
        "json",
    ]));
    validate("cost-sweep.schema.json", &json);
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    let points = v["points"].as_array().expect("points");
    assert_eq!(points.len(), 5 * 8 + 1);
    assert!((points[0]["value"].as_f64().unwrap_or(0.0) - 1e4).abs() < 1e-6);
    assert!((points[40]["value"].as_f64().unwrap_or(0.0) - 1e9).abs() < 1e-3);
    // Uncached Secrets Manager grows with traffic; its cost at 1e9 is ~ 100 × that at 1e7.
    let sm = |i: usize| {
        points[i]["monthly_cost_usd"]["secrets-manager"]
            .as_f64()
            .unwrap_or(0.0)
    };
    assert!(sm(40) > 50.0 * sm(24));
    // Each break-even lies between samples whose cheapest approaches differ, and the
    // cheapest on each side is what the break-even says.
    for b in v["break_even"].as_array().expect("break_even") {
        let x = b["value"].as_f64().expect("value");
        let before = points
            .iter()
            .rev()
            .find(|p| p["value"].as_f64().unwrap_or(0.0) < x)
            .expect("a sample below");
        assert_eq!(before["cheapest"], b["from"]);
        assert_ne!(b["from"], b["to"]);
    }
    let csv = ok(&secbench(&[
        "cost",
        "--workload",
        wl,
        "--sweep",
        "invocations_per_month=1e4..1e9",
        "--format",
        "csv",
    ]));
    assert_eq!(csv.lines().count(), 1 + 41 * Approach::all().len());
    let text = ok(&secbench(&[
        "cost",
        "--workload",
        wl,
        "--sweep",
        "invocations_per_month=1e4..1e9",
    ]));
    assert!(text.contains("break-even"), "{text}");
}

#[test]
fn bad_options_are_named() {
    let wl = "analyzer/tests/fixtures/workloads/example.toml";
    let o = secbench(&["cost", "--workload", wl, "--slo", "p95=1s"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--slo: `p95` is not an objective"));
    let o = secbench(&["cost", "--workload", wl, "--sweep", "colour=1..2"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("--sweep: `colour` cannot be swept"));
    let o = secbench(&[
        "cost",
        "--workload",
        "analyzer/tests/fixtures/workloads/invalid/memory-too-small.toml",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("memory-too-small.toml: memory_mb: 64 is outside"),
        "{err}"
    );
}

/// Worked by hand from scripts/workloads/example.toml (10M invocations a month, 3 secrets read
/// per invocation, peak 200/s, AWS managed keys): without a cache, Secrets Manager one call per
/// secret is 30M calls ($150.00) + 3 secrets ($1.20) = $151.20; BatchGetSecretValue billed per
/// secret is the same $151.20, per call 10M calls ($50.00) + $1.20 = $51.20, and at 200 calls/s it
/// exceeds its 100/s quota; a bundle is 10M calls ($50.00) + 1 secret ($0.40) = $50.40. SSM at
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
    let rows = price_modes(&w, &p);
    let usd = |r: &secbench_analyzer::cost::many::ModeCost| cents(r.monthly_cost_usd);
    assert_eq!(
        usd(&find(&rows, Source::SecretsManager, MultiMode::Sequential)),
        15_120
    );
    assert_eq!(
        usd(&find(&rows, Source::SecretsManager, MultiMode::Concurrent)),
        15_120
    );
    let batch = find(&rows, Source::SecretsManager, MultiMode::Batch);
    assert_eq!(usd(&batch), 15_120);
    assert_eq!(batch.calls_per_fetch, 1);
    assert!(!batch.feasible, "200 BatchGetSecretValue/s > 100/s");
    assert!(
        batch.notes.iter().any(|n| n.contains("unconfirmed")),
        "{:?}",
        batch.notes
    );
    let bundle = find(&rows, Source::SecretsManager, MultiMode::Bundle);
    assert_eq!((usd(&bundle), bundle.secrets_billed), (5_040, 1));
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
    let rows = price_modes(&w, &p);
    assert_eq!(
        usd(&find(&rows, Source::SecretsManager, MultiMode::Batch)),
        5_120
    );
    // With 12 secrets, GetParameters takes 2 calls per fetch, BatchGetSecretValue 1.
    let mut twelve = w.clone();
    twelve.secrets = 12;
    twelve.secrets_per_invocation = 12;
    let rows = price_modes(&twelve, &p);
    assert_eq!(
        find(&rows, Source::Ssm, MultiMode::Batch).calls_per_fetch,
        2
    );
    assert_eq!(
        find(&rows, Source::SecretsManager, MultiMode::Batch).calls_per_fetch,
        1
    );
}
