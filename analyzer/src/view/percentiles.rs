//! The per-group row of the headline fetch's percentiles that every table shows (the terminal
//! table, the Markdown export and the report's percentile tables), built once here. A medium
//! only chooses its [`Notation`] for an interval and for a p99 that rests on few samples.

use crate::stats::MetricSummary;
use crate::summary::GroupSummary;
use crate::units::human_ns;

/// How a medium writes an interval and a p99 with fewer than 1,000 samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notation {
    /// `12.3 ms [11.9 ms, 12.8 ms]`, and ` (few samples)` after such a p99 (terminal, page).
    Brackets,
    /// `12.3 ms (11.9 ms – 12.8 ms)`, and ` †` after such a p99 with [`FEW_SAMPLES_FOOTNOTE`]
    /// under the table (Markdown, where a long cell breaks the layout).
    Dagger,
}

/// What ` †` means, under a Markdown table that has one.
pub const FEW_SAMPLES_FOOTNOTE: &str =
    "† fewer than 1,000 samples: the p99 rests on the largest few values.";

/// One group's headline percentiles as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PercentileCells {
    /// The median with its 95% interval.
    pub p50: String,
    /// The 90th percentile.
    pub p90: String,
    /// The 99th percentile with its 95% interval, marked when it rests on few samples.
    pub p99: String,
    /// The 99.9th percentile.
    pub p999: String,
    /// The largest value.
    pub max: String,
}

/// The cells of `m` in `notation`.
pub fn cells(m: &MetricSummary, notation: Notation) -> PercentileCells {
    let interval = |v: u64, ci: [u64; 2]| match notation {
        Notation::Brackets => format!("{} [{}, {}]", human_ns(v), human_ns(ci[0]), human_ns(ci[1])),
        Notation::Dagger => format!(
            "{} ({} – {})",
            human_ns(v),
            human_ns(ci[0]),
            human_ns(ci[1])
        ),
    };
    let few = match (m.p99_stable, notation) {
        (true, _) => "",
        (false, Notation::Brackets) => " (few samples)",
        (false, Notation::Dagger) => " †",
    };
    PercentileCells {
        p50: interval(m.p50_ns, m.p50_ci_ns),
        p90: human_ns(m.p90_ns),
        p99: format!("{}{few}", interval(m.p99_ns, m.p99_ci_ns)),
        p999: human_ns(m.p999_ns),
        max: human_ns(m.max_ns),
    }
}

/// The cells of `g`'s headline metric ([`crate::group::Metric::headline`]), when it has one.
pub fn headline_cells(g: &GroupSummary, notation: Notation) -> Option<PercentileCells> {
    g.headline().map(|m| cells(m, notation))
}

/// The error rate as the tables write it.
pub fn error_rate(g: &GroupSummary) -> String {
    format!("{:.2}%", g.error_rate * 100.0)
}

/// The share of fetches served from the cache as the tables write it.
pub fn cache_hits(g: &GroupSummary) -> String {
    format!("{:.1}%", g.cache_hit_ratio * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(stable: bool) -> MetricSummary {
        MetricSummary {
            count: 10,
            min_ns: 1_000_000,
            mean_ns: 2e6,
            stdev_ns: 1e5,
            p50_ns: 2_000_000,
            p90_ns: 3_000_000,
            p99_ns: 4_000_000,
            p999_ns: 5_000_000,
            max_ns: 6_000_000,
            p50_ci_ns: [1_900_000, 2_100_000],
            p99_ci_ns: [3_900_000, 4_100_000],
            p99_stable: stable,
        }
    }

    #[test]
    fn each_notation_writes_the_same_figures() {
        let b = cells(&summary(false), Notation::Brackets);
        let d = cells(&summary(false), Notation::Dagger);
        assert_eq!(b.p50, "2.00 ms [1.90 ms, 2.10 ms]");
        assert_eq!(d.p50, "2.00 ms (1.90 ms – 2.10 ms)");
        assert_eq!(b.p99, "4.00 ms [3.90 ms, 4.10 ms] (few samples)");
        assert_eq!(d.p99, "4.00 ms (3.90 ms – 4.10 ms) †");
        assert_eq!((b.p90, b.p999, b.max), (d.p90, d.p999, d.max));
        let stable = cells(&summary(true), Notation::Brackets);
        assert_eq!(stable.p99, "4.00 ms [3.90 ms, 4.10 ms]");
    }
}
