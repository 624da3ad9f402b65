//! Many secrets per function: what each way of reading the workload's
//! `secrets_per_invocation` values costs per month, for SSM and Secrets Manager, fetched in the
//! handler without a cache and with the in-process TTL cache. Per mode: the secrets billed (a
//! bundle is one secret), the API calls (`sequential`/`concurrent` one per secret, `batch`
//! `GetParameters` of 10 or `BatchGetSecretValue` of 20, `bundle` one), the billed API units
//! (SSM counts one interaction per parameter of a `GetParameters`; whether Secrets Manager bills
//! a `BatchGetSecretValue` per call or per secret is the table's switch), the KMS requests (one
//! per value decrypted, one for a bundle; the account's free tier first, when the workload has
//! it), and the peak rate against each API's own quota.
//! Lambda compute is priced from the runs' measured mean time of an uncached warm round of `n`
//! values at the workload's memory size ([`RoundTimes`]): every round that misses takes that
//! long (cache hits take microseconds and are left out); without a measurement for a mode, its
//! compute is left out and its notes say so.

use super::model::{counts, peak_rates};
use super::pricing::{BatchBilling, Pricing};
use super::workload::{KmsKey, ParameterTier, Workload};
use crate::approach::Approach;
use secbench_record::{CacheMode, FetchAt, MultiMode, Source};
use serde::Serialize;

/// One mode of one source, priced.
#[derive(Debug, Clone, Serialize)]
pub struct ModeCost {
    /// `ssm` or `secrets-manager`.
    pub source: Source,
    /// The mode.
    pub mode: MultiMode,
    /// `none` or `ttl`.
    pub cache: CacheMode,
    /// Values read per invocation.
    pub secrets: u32,
    /// Secrets (or parameters) the account keeps: the workload's, or 1 bundle.
    pub secrets_billed: u32,
    /// API calls per fetch of all values.
    pub calls_per_fetch: u32,
    /// API calls per month, all functions.
    pub api_calls_per_month: f64,
    /// Billed API units per month (per call or per secret, as the service counts).
    pub billed_api_units_per_month: f64,
    /// KMS requests per month the reads cause.
    pub kms_requests_per_month: f64,
    /// The peak call rate of the quota that binds, per second.
    pub peak_calls_per_second: f64,
    /// That quota, per second.
    pub quota_per_second: f64,
    /// The API the quota is of.
    pub quota_api: &'static str,
    /// Whether the peak fits the quota.
    pub feasible: bool,
    /// Lambda GB-seconds its rounds take per month, when a round was measured.
    pub lambda_gb_seconds_per_month: Option<f64>,
    /// Their price, through the free tier and the volume tiers.
    pub lambda_compute_usd: Option<f64>,
    /// Fixed fees + API + KMS charges + Lambda compute (when measured), per month.
    pub monthly_cost_usd: f64,
    /// What the figure assumes or gives up.
    pub notes: Vec<String>,
}

/// The measured mean time of an uncached warm round (all `n` values), s, by source, mode, `n`
/// and memory size.
pub type RoundTimes = std::collections::BTreeMap<(Source, MultiMode, u32, u32), f64>;

/// The round times the runs measured (the warm, uncached groups that read several values).
pub fn round_times(summary: &crate::summary::Summary) -> RoundTimes {
    summary
        .groups
        .iter()
        .filter(|g| {
            g.key.phase == secbench_record::run::Phase::Warm && g.key.cache == Some(CacheMode::None)
        })
        .filter_map(|g| {
            let key = (
                g.key.source?,
                g.key.multi?,
                g.key.secrets?,
                g.key.memory_mb?,
            );
            let mean = g.metric(crate::group::Metric::FetchLatency)?.mean_ns / 1e9;
            Some((key, mean))
        })
        .collect()
}

/// Every mode × source × cache at the workload.
pub fn price_modes(w: &Workload, p: &Pricing, times: &RoundTimes) -> Vec<ModeCost> {
    let mut out = Vec::new();
    for source in [Source::Ssm, Source::SecretsManager] {
        for cache in [CacheMode::None, CacheMode::Ttl] {
            for mode in MultiMode::ALL {
                let n = w.secrets_per_invocation.max(1);
                let round_s = times.get(&(source, *mode, n, w.memory_mb)).copied();
                let mut row = price(w, p, source, cache, *mode, round_s);
                // Said per row only where the runs measured other rounds: with none measured,
                // every row would say it (the report's caption says so once).
                if round_s.is_none() && !times.is_empty() {
                    row.notes.insert(
                        0,
                        format!(
                            "no measured round of {n} values at {} MB: Lambda compute left out",
                            w.memory_mb
                        ),
                    );
                }
                out.push(row);
            }
        }
    }
    out
}

/// API calls one fetch of `n` values makes in `mode`.
pub fn calls_per_fetch(source: Source, mode: MultiMode, n: u32) -> u32 {
    match (mode, source) {
        (MultiMode::Sequential | MultiMode::Concurrent, _) => n,
        (MultiMode::Batch, Source::Ssm) => n.div_ceil(10),
        (MultiMode::Batch, _) => n.div_ceil(20),
        (MultiMode::Bundle, _) => 1,
    }
}

fn price(
    w: &Workload,
    p: &Pricing,
    source: Source,
    cache: CacheMode,
    mode: MultiMode,
    round_s: Option<f64>,
) -> ModeCost {
    let n = w.secrets_per_invocation.max(1);
    let functions = f64::from(w.functions);
    let approach = Approach {
        source,
        cache,
        fetch_at: FetchAt::Handler,
        concurrency: secbench_record::ConcurrencyMode::OnDemand,
        runtime: secbench_record::Runtime::Rust,
        single_flight: false,
    };
    // A round reads all `n` values at once: the counting and peak rules of the single-secret
    // model, applied to rounds (one "secret" read once per invocation).
    let mut per_round = w.clone();
    per_round.secrets = 1;
    per_round.secrets_per_invocation = 1;
    let c = counts(approach, &per_round, p);
    // Rounds per month (one function): every invocation without a cache; with one, the first
    // fetches and refreshes, never more than one per invocation.
    let rounds = match cache {
        CacheMode::None => w.invocations_per_month,
        _ => c.misses + c.refreshes,
    };
    let per_fetch = calls_per_fetch(source, mode, n);
    let calls = rounds * f64::from(per_fetch) * functions;
    let values_read = rounds * f64::from(if mode == MultiMode::Bundle { 1 } else { n }) * functions;
    let mut notes = Vec::new();
    let secrets_billed = if mode == MultiMode::Bundle {
        1
    } else {
        w.secrets.max(n)
    };
    // Rounds per second at the peak, by the single-secret model's peak rule.
    let rates = peak_rates(approach, &per_round, &c);
    let peak_fetches = (rates.first_per_second + rates.refresh_per_second) * functions;
    let peak_calls = peak_fetches * f64::from(per_fetch);
    let q = &p.quotas;
    let (quota_api, quota, higher_throughput) = match (source, mode) {
        (Source::Ssm, MultiMode::Batch) if peak_calls > q.ssm.get_parameter_standard_tps => (
            "GetParameters (higher throughput)",
            q.ssm.get_parameters_higher_throughput_tps,
            true,
        ),
        (Source::Ssm, _) if peak_calls > q.ssm.get_parameter_standard_tps => (
            "GetParameter (higher throughput)",
            q.ssm.get_parameter_higher_throughput_tps,
            true,
        ),
        (Source::Ssm, _) => (
            "GetParameter/GetParameters (standard throughput, shared)",
            q.ssm.get_parameter_standard_tps,
            false,
        ),
        (_, MultiMode::Batch) => (
            "BatchGetSecretValue",
            q.secrets_manager.batch_get_secret_value_tps,
            false,
        ),
        _ => (
            "GetSecretValue",
            q.secrets_manager.get_secret_value_tps,
            false,
        ),
    };
    let feasible = peak_calls <= quota;
    if !feasible {
        notes.push(format!(
            "infeasible: {peak_calls:.0} calls/s at the peak > {quota_api} quota {quota:.0}/s"
        ));
    }
    // Billed API units.
    let billed = match source {
        Source::SecretsManager => match (mode, p.secrets_manager.batch_get_secret_value_billed) {
            (MultiMode::Batch, BatchBilling::PerCall) => calls,
            (MultiMode::Batch, BatchBilling::PerSecret) => values_read,
            _ => calls,
        },
        // GetParameters counts one API interaction per parameter returned.
        _ => values_read,
    };
    let api_usd = match source {
        Source::SecretsManager => billed / 1e4 * p.secrets_manager.api_calls_per_10k_usd,
        _ => {
            let advanced = w.ssm_parameter_tier == ParameterTier::Advanced;
            let per_10k = if advanced {
                p.ssm.advanced_parameter_interactions_per_10k_usd
            } else if higher_throughput {
                p.ssm.higher_throughput_per_10k_usd
            } else {
                p.ssm.standard_throughput_per_10k_usd
            };
            billed / 1e4 * per_10k
        }
    };
    let kms_requests = values_read
        * match source {
            Source::SecretsManager => p.secrets_manager.kms_requests_per_get_secret_value,
            _ => p.ssm.kms_requests_per_secure_get,
        };
    let switch = match source {
        Source::SecretsManager => &p.kms.aws_managed_key_requests.secretsmanager,
        _ => &p.kms.aws_managed_key_requests.ssm,
    };
    let kms_charged = w.kms_key == KmsKey::CustomerManaged || switch.charged;
    let charged_requests = if kms_charged { kms_requests } else { 0.0 };
    let kms_usd = (charged_requests - super::model::kms_free(w, p, charged_requests)) / 1e4
        * p.kms.symmetric_requests_per_10k_usd;
    let fixed_usd = match source {
        Source::SecretsManager => {
            f64::from(secrets_billed) * p.secrets_manager.secret_per_month_usd
        }
        _ if w.ssm_parameter_tier == ParameterTier::Advanced => {
            f64::from(secrets_billed) * p.ssm.advanced_parameter_per_month_usd
        }
        _ => f64::from(secrets_billed) * p.ssm.standard_parameter_per_month_usd,
    } + if w.kms_key == KmsKey::CustomerManaged {
        p.kms.customer_managed_key_per_month_usd
    } else {
        0.0
    };
    // Lambda compute: every round that misses, for its measured time.
    let gb_seconds = round_s.map(|t| rounds * functions * t * f64::from(w.memory_mb) / 1024.0);
    let compute_usd = gb_seconds.map(|gbs| super::model::gb_seconds_usd(w, p, gbs));
    if mode == MultiMode::Bundle {
        notes.push(
            "a bundle is one secret: its values rotate together and one IAM grant reads all of them"
                .into(),
        );
    }
    if source == Source::SecretsManager && mode == MultiMode::Batch {
        notes.push(format!(
            "BatchGetSecretValue billed {} (secrets_manager.batch_get_secret_value_billed; AWS's pricing page does not say, unconfirmed)",
            match p.secrets_manager.batch_get_secret_value_billed {
                BatchBilling::PerSecret => "per secret returned", // pragma: allowlist secret
                BatchBilling::PerCall => "per call",
            }
        ));
    }
    if source == Source::Ssm && mode == MultiMode::Batch {
        notes.push("GetParameters counts one API interaction per parameter".into());
    }
    ModeCost {
        source,
        mode,
        cache,
        secrets: n,
        secrets_billed,
        calls_per_fetch: per_fetch,
        api_calls_per_month: calls,
        billed_api_units_per_month: billed,
        kms_requests_per_month: kms_requests,
        peak_calls_per_second: peak_calls,
        quota_per_second: quota,
        quota_api,
        feasible,
        lambda_gb_seconds_per_month: gb_seconds,
        lambda_compute_usd: compute_usd,
        monthly_cost_usd: fixed_usd + api_usd + kms_usd + compute_usd.unwrap_or(0.0) + 0.0,
        notes,
    }
}

/// The cost of each mode against the number of values, 1 to 20, as the report plots it.
pub fn against_n(w: &Workload, p: &Pricing, times: &RoundTimes) -> Vec<(u32, Vec<ModeCost>)> {
    (1..=secbench_record::MAX_SECRETS as u32)
        .map(|n| {
            let mut at = w.clone();
            at.secrets = n;
            at.secrets_per_invocation = n;
            (n, price_modes(&at, p, times))
        })
        .collect()
}

/// The one table of the modes' costs (the terminal shows it without the last two columns, whose
/// notes it prints below it; the report shows it whole).
pub fn table(rows: &[ModeCost], whole: bool) -> crate::table::Table {
    let mut t = crate::table::Table::new(
        [
            "source",
            "cache",
            "mode",
            "N",
            "secrets billed",
            "API calls per fetch",
            "API calls per month",
            "USD/month",
            "peak calls/s",
            "quota/s",
            "quota of",
            "feasible",
            "notes",
        ],
        "LLLRRRRRRRLLL",
    );
    for m in rows {
        t.push(vec![
            m.source.to_string(),
            m.cache.to_string(),
            m.mode.to_string(),
            m.secrets.to_string(),
            m.secrets_billed.to_string(),
            m.calls_per_fetch.to_string(),
            crate::units::si(m.api_calls_per_month),
            format!("{:.2}", m.monthly_cost_usd),
            format!("{:.1}", m.peak_calls_per_second),
            format!("{:.0}", m.quota_per_second),
            m.quota_api.to_owned(),
            if m.feasible { "yes" } else { "NO" }.to_owned(),
            m.notes.join("; "),
        ]);
    }
    if whole {
        t
    } else {
        t.select(&[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_per_fetch_by_mode() {
        assert_eq!(calls_per_fetch(Source::Ssm, MultiMode::Batch, 12), 2);
        assert_eq!(
            calls_per_fetch(Source::SecretsManager, MultiMode::Batch, 12),
            1
        );
        assert_eq!(
            calls_per_fetch(Source::SecretsManager, MultiMode::Batch, 21),
            2
        );
        assert_eq!(calls_per_fetch(Source::Ssm, MultiMode::Bundle, 10), 1);
        assert_eq!(calls_per_fetch(Source::Ssm, MultiMode::Concurrent, 3), 3);
    }
}
