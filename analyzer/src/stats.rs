//! Statistics from a histogram: count, min, mean, stdev, percentiles, and 95% bootstrap
//! confidence intervals for percentiles. The bootstrap is exact and cheap: the `k`-th order
//! statistic of a resample of `n` values from the empirical distribution `F` is `F⁻¹(U)` with
//! `U ~ Beta(k, n − k + 1)`, so each resample costs one Beta draw and one histogram lookup
//! instead of `n` draws. Seeded, so the same input gives the same output.

use hdrhistogram::Histogram;
use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Beta, Distribution};
use serde::Serialize;

/// Bootstrap resamples per interval.
pub const RESAMPLES: usize = 2000;
/// The default seed of the bootstrap.
pub const DEFAULT_SEED: u64 = 0x5ec_be7c;

/// One metric of one group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricSummary {
    /// Values recorded.
    pub count: u64,
    /// Smallest.
    pub min_ns: u64,
    /// Mean.
    pub mean_ns: f64,
    /// Standard deviation.
    pub stdev_ns: f64,
    /// Median.
    pub p50_ns: u64,
    /// 90th percentile.
    pub p90_ns: u64,
    /// 99th percentile.
    pub p99_ns: u64,
    /// 99.9th percentile.
    pub p999_ns: u64,
    /// Largest.
    pub max_ns: u64,
    /// 95% bootstrap confidence interval of the median.
    pub p50_ci_ns: [u64; 2],
    /// 95% bootstrap confidence interval of the 99th percentile.
    pub p99_ci_ns: [u64; 2],
    /// False when fewer than 10 values lie beyond the 99th percentile (n < 1000): the p99 is
    /// then little more than the largest few values.
    pub p99_stable: bool,
}

/// How every percentile secbench reports is defined (said in the report and docs/reports.md).
pub const PERCENTILE_DEFINITION: &str = "Percentiles are nearest-rank percentiles of an HdrHistogram with 3 significant digits (the smallest recorded value with at least q × n values at or below it, within 0.1%), not interpolated: on small groups they can differ from linear interpolation (numpy's default) by up to the gap between neighbouring values (for n = 8, by up to 50%).";

/// A seed for one group and metric, from the base seed and their names, so results do not
/// depend on the order groups are met in.
pub fn seed_for(base: u64, parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ base;
    for part in parts {
        for b in part.bytes().chain(std::iter::once(0xff)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

/// The recorded values of a histogram with their cumulative counts: the inverse of its
/// distribution function in O(log buckets) per lookup.
struct Cumulative {
    values: Vec<u64>,
    cum: Vec<u64>,
}

impl Cumulative {
    fn new(h: &Histogram<u64>) -> Cumulative {
        let (mut values, mut cum, mut total) = (Vec::new(), Vec::new(), 0u64);
        for v in h.iter_recorded() {
            total += v.count_at_value();
            values.push(h.highest_equivalent(v.value_iterated_to()));
            cum.push(total);
        }
        Cumulative { values, cum }
    }

    /// The value at quantile `u` (the smallest value with at least `ceil(u·n)` at or below it).
    fn at(&self, u: f64) -> u64 {
        let n = self.cum.last().copied().unwrap_or(0);
        let rank = ((u * n as f64).ceil() as u64).clamp(1, n.max(1));
        let i = self.cum.partition_point(|c| *c < rank);
        self.values
            .get(i)
            .or(self.values.last())
            .copied()
            .unwrap_or(0)
    }
}

/// Bootstrap draws of the `q` quantile of `h`.
pub fn bootstrap_quantile(
    h: &Histogram<u64>,
    q: f64,
    resamples: usize,
    rng: &mut StdRng,
) -> Vec<u64> {
    let n = h.len();
    if n == 0 {
        return Vec::new();
    }
    let k = ((q * n as f64).ceil() as u64).clamp(1, n);
    let (a, b) = (k as f64, (n - k + 1) as f64);
    let Ok(beta) = Beta::new(a, b) else {
        return vec![h.value_at_quantile(q); resamples];
    };
    let inverse = Cumulative::new(h);
    (0..resamples)
        .map(|_| inverse.at(beta.sample(rng)))
        .collect()
}

/// The 2.5th and 97.5th percentiles of `draws` (sorted in place).
pub fn interval<T: Copy + PartialOrd>(draws: &mut [T]) -> Option<[T; 2]> {
    if draws.is_empty() {
        return None;
    }
    draws.sort_by(|x, y| x.partial_cmp(y).unwrap_or(std::cmp::Ordering::Equal));
    let at = |p: f64| draws[((p * (draws.len() - 1) as f64).round() as usize).min(draws.len() - 1)];
    Some([at(0.025), at(0.975)])
}

/// Summarizes `h`, with bootstrap intervals drawn from `seed`.
pub fn summarize(h: &Histogram<u64>, seed: u64) -> MetricSummary {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut ci = |q: f64| {
        let mut d = bootstrap_quantile(h, q, RESAMPLES, &mut rng);
        interval(&mut d).unwrap_or([0, 0])
    };
    let p50_ci_ns = ci(0.5);
    let p99_ci_ns = ci(0.99);
    MetricSummary {
        count: h.len(),
        min_ns: if h.is_empty() { 0 } else { h.min() },
        mean_ns: h.mean(),
        stdev_ns: h.stdev(),
        p50_ns: h.value_at_quantile(0.5),
        p90_ns: h.value_at_quantile(0.9),
        p99_ns: h.value_at_quantile(0.99),
        p999_ns: h.value_at_quantile(0.999),
        max_ns: h.max(),
        p50_ci_ns,
        p99_ci_ns,
        p99_stable: h.len() >= 1000,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::group::new_histogram;
    use rand_distr::{LogNormal, Normal};

    /// numpy's default percentile (linear interpolation between closest ranks).
    fn exact(sorted: &[u64], q: f64) -> f64 {
        let pos = q * (sorted.len() - 1) as f64;
        let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
        sorted[lo] as f64 + (sorted[hi] as f64 - sorted[lo] as f64) * (pos - lo as f64)
    }

    fn check(values: &mut [u64], what: &str) {
        let mut h = new_histogram();
        for v in values.iter() {
            h.record(*v).expect("record");
        }
        values.sort_unstable();
        for q in [0.5, 0.9, 0.99, 0.999] {
            let (e, got) = (exact(values, q), h.value_at_quantile(q) as f64);
            // 3 significant digits: within 0.1% of the value, plus the gap between neighbours.
            let neighbour =
                (values[((q * values.len() as f64) as usize).min(values.len() - 1)] as f64 - e)
                    .abs();
            assert!(
                (got - e).abs() <= e * 1e-3 + neighbour + 1.0,
                "{what} p{}: exact {e}, histogram {got}",
                q * 100.0
            );
        }
    }

    #[test]
    fn percentiles_agree_with_exact_ones_within_hdr_precision() {
        let mut rng = StdRng::seed_from_u64(7);
        // Warm fetches: lognormal around 3 ms.
        let warm = LogNormal::new((3.0e6f64).ln(), 0.4).expect("lognormal");
        let mut v: Vec<u64> = (0..200_000).map(|_| warm.sample(&mut rng) as u64).collect();
        check(&mut v, "lognormal");
        // Cold starts: bimodal, 10 ms and 80 ms.
        let a: Normal<f64> = Normal::new(10.0e6, 1.0e6).expect("normal");
        let b: Normal<f64> = Normal::new(80.0e6, 8.0e6).expect("normal");
        let mut v: Vec<u64> = (0..100_000)
            .map(|i| {
                if i % 4 == 0 {
                    b.sample(&mut rng)
                } else {
                    a.sample(&mut rng)
                }
                .max(1.0) as u64
            })
            .collect();
        check(&mut v, "bimodal");
    }

    #[test]
    fn bootstrap_intervals_cover_the_estimate_and_are_seeded() {
        let mut rng = StdRng::seed_from_u64(1);
        let dist = LogNormal::new((3.0e6f64).ln(), 0.4).expect("lognormal");
        let mut h = new_histogram();
        for _ in 0..5000 {
            h.record(dist.sample(&mut rng) as u64).expect("record");
        }
        let s = summarize(&h, 42);
        assert!(
            s.p50_ci_ns[0] <= s.p50_ns && s.p50_ns <= s.p50_ci_ns[1],
            "{s:?}"
        );
        assert!(
            s.p99_ci_ns[0] <= s.p99_ns && s.p99_ns <= s.p99_ci_ns[1],
            "{s:?}"
        );
        // The p99 interval is wider than the median's (fewer values in the tail).
        assert!(s.p99_ci_ns[1] - s.p99_ci_ns[0] > s.p50_ci_ns[1] - s.p50_ci_ns[0]);
        assert_eq!(summarize(&h, 42), s, "same seed, same result");
        assert!(s.p99_stable);
        let mut small = new_histogram();
        small.record(5).expect("record");
        assert!(!summarize(&small, 1).p99_stable);
    }

    #[test]
    fn median_interval_matches_a_brute_force_bootstrap() {
        // The Beta shortcut against resampling n values 400 times.
        let mut rng = StdRng::seed_from_u64(3);
        let dist = LogNormal::new(10.0, 0.5).expect("lognormal");
        let values: Vec<u64> = (0..2000).map(|_| dist.sample(&mut rng) as u64).collect();
        let mut h = new_histogram();
        for v in &values {
            h.record(*v).expect("record");
        }
        let fast = {
            let mut d = bootstrap_quantile(&h, 0.5, 4000, &mut StdRng::seed_from_u64(9));
            interval(&mut d).expect("draws")
        };
        let mut brute: Vec<u64> = (0..400)
            .map(|_| {
                let mut r: Vec<u64> = (0..values.len())
                    .map(|_| values[rand::Rng::random_range(&mut rng, 0..values.len())])
                    .collect();
                r.sort_unstable();
                r[values.len().div_ceil(2) - 1]
            })
            .collect();
        let brute = interval(&mut brute).expect("draws");
        for i in 0..2 {
            let rel = (fast[i] as f64 - brute[i] as f64).abs() / brute[i] as f64;
            assert!(rel < 0.02, "fast {fast:?} vs brute force {brute:?}");
        }
    }
}
