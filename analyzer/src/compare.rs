//! `secbench compare BASE NEW`: for each group present in both (matched on everything but the
//! stage, so run vs run and stage vs stage both work), the ratio NEW/BASE of the median and of
//! the p99 of fetch latency and caller round trip, with a 95% bootstrap interval, and a
//! verdict against a noise threshold, as criterion reports changes.

use crate::group::Metric;
use crate::ingest::Ingested;
use crate::stats::{bootstrap_quantile, interval, seed_for, RESAMPLES};
use rand::rngs::StdRng;
use rand::SeedableRng;
use secbench_record::run::Phase;
use serde::Serialize;

/// What changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// NEW is faster beyond the noise threshold.
    Faster,
    /// NEW is slower beyond the noise threshold.
    Slower,
    /// Within the noise threshold, or the interval straddles it.
    NoChange,
}

impl Verdict {
    /// As printed.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Faster => "faster",
            Verdict::Slower => "slower",
            Verdict::NoChange => "no change",
        }
    }
}

/// A ratio with its interval.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ratio {
    /// NEW / BASE.
    pub ratio: f64,
    /// 95% bootstrap interval.
    pub ci: [f64; 2],
    /// The verdict.
    pub verdict: Verdict,
}

/// One compared group and metric.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// Scenario.
    pub scenario: String,
    /// Phase.
    pub phase: Phase,
    /// BASE's stage.
    pub base_stage: String,
    /// NEW's stage.
    pub new_stage: String,
    /// The metric (written by its name).
    pub metric: Metric,
    /// Samples in BASE and NEW.
    pub samples: [u64; 2],
    /// Medians of BASE and NEW.
    pub p50_ns: [u64; 2],
    /// p99 of BASE and NEW.
    pub p99_ns: [u64; 2],
    /// Ratio of medians.
    pub p50: Ratio,
    /// Ratio of p99s.
    pub p99: Ratio,
}

fn ratio(
    base: &hdrhistogram::Histogram<u64>,
    new: &hdrhistogram::Histogram<u64>,
    q: f64,
    threshold: f64,
    seed: u64,
) -> Ratio {
    let mut rng = StdRng::seed_from_u64(seed);
    let b = bootstrap_quantile(base, q, RESAMPLES, &mut rng);
    let n = bootstrap_quantile(new, q, RESAMPLES, &mut rng);
    let mut draws: Vec<f64> = b
        .iter()
        .zip(&n)
        .map(|(b, n)| *n as f64 / (*b).max(1) as f64)
        .collect();
    let ci = interval(&mut draws).unwrap_or([1.0, 1.0]);
    let verdict = if ci[0] > 1.0 + threshold {
        Verdict::Slower
    } else if ci[1] < 1.0 - threshold {
        Verdict::Faster
    } else {
        Verdict::NoChange
    };
    Ratio {
        ratio: new.value_at_quantile(q) as f64 / base.value_at_quantile(q).max(1) as f64,
        ci,
        verdict,
    }
}

/// Compares every group present in both.
pub fn compare(base: &Ingested, new: &Ingested, threshold: f64, seed: u64) -> Vec<Comparison> {
    let mut out = Vec::new();
    for (bk, bg) in &base.groups {
        let Some((nk, ng)) = new
            .groups
            .iter()
            .find(|(nk, _)| nk.without_stage() == bk.without_stage())
        else {
            continue;
        };
        for metric in [Metric::FetchLatency, Metric::CallerRoundTrip] {
            let (Some(bh), Some(nh)) = (bg.histogram(metric), ng.histogram(metric)) else {
                continue;
            };
            let s = seed_for(seed, &[&bk.scenario, bk.phase.as_str(), metric.name()]);
            out.push(Comparison {
                scenario: bk.scenario.clone(),
                phase: bk.phase,
                base_stage: bk.stage.clone(),
                new_stage: nk.stage.clone(),
                metric,
                samples: [bh.len(), nh.len()],
                p50_ns: [bh.value_at_quantile(0.5), nh.value_at_quantile(0.5)],
                p99_ns: [bh.value_at_quantile(0.99), nh.value_at_quantile(0.99)],
                p50: ratio(bh, nh, 0.5, threshold, s),
                p99: ratio(bh, nh, 0.99, threshold, s ^ 0x99),
            });
        }
    }
    out
}

/// Whether any comparison got slower (median or p99).
pub fn any_regression(c: &[Comparison]) -> bool {
    c.iter()
        .any(|c| c.p50.verdict == Verdict::Slower || c.p99.verdict == Verdict::Slower)
}

/// The comparison as a text table.
pub fn render_table(c: &[Comparison], threshold: f64) -> String {
    let mut out = format!(
        "noise threshold ±{:.1}%; ratios are NEW/BASE with 95% bootstrap intervals\n",
        threshold * 100.0
    );
    for x in c {
        out.push_str(&format!(
            "{:<34} {:<5} {:<24} p50 {:>7.3} [{:.3}, {:.3}] {:<9}  p99 {:>7.3} [{:.3}, {:.3}] {}\n",
            x.scenario,
            x.phase.as_str(),
            x.metric.name(),
            x.p50.ratio,
            x.p50.ci[0],
            x.p50.ci[1],
            x.p50.verdict.as_str(),
            x.p99.ratio,
            x.p99.ci[0],
            x.p99.ci[1],
            x.p99.verdict.as_str()
        ));
    }
    if c.is_empty() {
        out.push_str("no group is present in both\n");
    }
    out
}
