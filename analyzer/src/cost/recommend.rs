//! The recommendation: the cheapest feasible approach that meets an optional latency
//! objective (`--slo p99_cold=200ms,p99_warm=20ms`), with the runner-up and why. The
//! plaintext baseline is never recommended.

use super::error::CostError;
use super::model::ApproachCost;
use crate::approach::Approach;
use secbench_record::Source;
use serde::Serialize;
use std::time::Duration;

/// The objectives: any of p50/p99 for cold and warm, and the longest staleness after a
/// rotation (`--max-staleness`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Slo {
    /// Longest staleness after a rotation at most, s.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_staleness_s: Option<f64>,
    /// Cold median at most.
    pub p50_cold_s: Option<f64>,
    /// Cold p99 at most.
    pub p99_cold_s: Option<f64>,
    /// Warm median at most.
    pub p50_warm_s: Option<f64>,
    /// Warm p99 at most.
    pub p99_warm_s: Option<f64>,
}

impl Slo {
    /// Parses `p99_cold=200ms,p99_warm=20ms`.
    pub fn parse(text: &str) -> Result<Slo, CostError> {
        let bad = |message: String| CostError::Option {
            option: "--slo",
            message,
        };
        let mut slo = Slo::default();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').ok_or_else(|| {
                bad(format!(
                    "`{part}` is not KEY=DURATION (e.g. p99_cold=200ms)"
                ))
            })?;
            let d: Duration = secbench_record::duration::parse(v)
                .map_err(|e| bad(format!("in `{part}`: {e}")))?;
            let slot = match k.trim() {
                "p50_cold" => &mut slo.p50_cold_s,
                "p99_cold" => &mut slo.p99_cold_s,
                "p50_warm" => &mut slo.p50_warm_s,
                "p99_warm" => &mut slo.p99_warm_s,
                other => {
                    return Err(bad(format!(
                    "`{other}` is not an objective; one of p50_cold, p99_cold, p50_warm, p99_warm"
                )))
                }
            };
            *slot = Some(d.as_secs_f64());
        }
        Ok(slo)
    }

    /// Whether any objective is set.
    pub fn is_set(&self) -> bool {
        self.max_staleness_s.is_some() || self.latency_set()
    }

    /// Which latency objectives `c` misses: p50 cold, p99 cold, p50 warm, p99 warm (none when
    /// it has no latency).
    pub fn missed(&self, c: &ApproachCost) -> [bool; 4] {
        let Some(l) = c.latency else {
            return [false; 4];
        };
        let over = |limit: Option<f64>, v: f64| limit.is_some_and(|lim| v > lim);
        [
            over(self.p50_cold_s, l.cold_p50_s),
            over(self.p99_cold_s, l.cold_p99_s),
            over(self.p50_warm_s, l.warm_p50_s),
            over(self.p99_warm_s, l.warm_p99_s),
        ]
    }

    /// Why `c` can serve a value older than the staleness objective, if it can.
    pub fn stale(&self, c: &ApproachCost) -> Option<String> {
        let max = self.max_staleness_s?;
        (c.longest_staleness_s > max).then(|| {
            format!(
                "staleness: can serve a value up to {} after a rotation ({}{}) > {}",
                crate::units::span_label(c.longest_staleness_s),
                c.staleness_bound.describe(),
                if c.staleness_assumed {
                    ", the assumed longest; AWS publishes none"
                } else {
                    ""
                },
                crate::units::span_label(max)
            )
        })
    }

    /// Whether a latency objective is set.
    fn latency_set(&self) -> bool {
        self.p50_cold_s.is_some()
            || self.p99_cold_s.is_some()
            || self.p50_warm_s.is_some()
            || self.p99_warm_s.is_some()
    }

    /// Why `c` misses the objective, if it does.
    fn miss(&self, c: &ApproachCost) -> Option<String> {
        if !self.latency_set() {
            return None;
        }
        let Some(l) = c.latency else {
            return Some("cannot be checked: no latency for it".into());
        };
        let checks = [
            ("p50 cold", self.p50_cold_s, l.cold_p50_s),
            ("p99 cold", self.p99_cold_s, l.cold_p99_s),
            ("p50 warm", self.p50_warm_s, l.warm_p50_s),
            ("p99 warm", self.p99_warm_s, l.warm_p99_s),
        ];
        let misses: Vec<String> = checks
            .iter()
            .filter_map(|(name, limit, v)| {
                limit
                    .filter(|lim| v > lim)
                    .map(|lim| format!("{name} {:.1} ms > {:.1} ms", v * 1e3, lim * 1e3))
            })
            .collect();
        (!misses.is_empty()).then(|| misses.join(", "))
    }
}

/// The recommendation.
#[derive(Debug, Clone, Serialize)]
pub struct Recommendation {
    /// The objective used.
    pub slo: Slo,
    /// The recommended approach, if any qualifies.
    pub approach: Option<Approach>,
    /// Its monthly cost.
    pub monthly_cost_usd: Option<f64>,
    /// The next cheapest that qualifies.
    pub runner_up: Option<Approach>,
    /// The runner-up's monthly cost.
    pub runner_up_monthly_cost_usd: Option<f64>,
    /// Why, in a sentence or two.
    pub why: String,
    /// Approaches left out and why.
    pub excluded: Vec<Excluded>,
}

/// An approach that was not a candidate.
#[derive(Debug, Clone, Serialize)]
pub struct Excluded {
    /// The approach.
    pub approach: Approach,
    /// Why.
    pub reason: String,
}

/// Chooses among `approaches` (sorted cheapest first).
pub fn recommend(approaches: &[ApproachCost], slo: &Slo) -> Recommendation {
    let mut excluded = Vec::new();
    let mut candidates = Vec::new();
    // When latencies were measured or given for some approaches, the others are not
    // candidates: a recommendation stands on figures.
    let any_latency = approaches
        .iter()
        .any(|c| c.source != Source::PlainEnv && c.latency.is_some());
    for c in approaches {
        if c.source == Source::PlainEnv {
            continue;
        }
        if any_latency && c.latency.is_none() {
            excluded.push(Excluded {
                approach: c.approach,
                reason: "no latency for it (not in the runs or the [[latency]] table)".into(),
            });
        } else if !c.feasible {
            let reason = c
                .notes
                .iter()
                .find(|n| n.starts_with("infeasible"))
                .cloned()
                .unwrap_or_else(|| "infeasible".into());
            excluded.push(Excluded {
                approach: c.approach,
                reason,
            });
        } else if let Some(reason) = slo.stale(c) {
            excluded.push(Excluded {
                approach: c.approach,
                reason,
            });
        } else if let Some(reason) = slo.miss(c) {
            excluded.push(Excluded {
                approach: c.approach,
                reason: format!("objective: {reason}"),
            });
        } else {
            candidates.push(c);
        }
    }
    let first = candidates.first();
    let second = candidates.get(1);
    let why = match (first, second) {
        (None, _) => "no approach is feasible and meets the objective".to_owned(),
        (Some(f), None) => {
            // Approaches left out for want of a latency may well be feasible: say so
            // rather than call this one the only feasible one.
            let unmeasured = approaches
                .iter()
                .filter(|c| c.source != Source::PlainEnv && any_latency && c.latency.is_none())
                .count();
            let objective = if slo.is_set() {
                " that meets the objective"
            } else {
                ""
            };
            if unmeasured > 0 {
                format!(
                        "{} is the only measured approach{objective} that is feasible; {unmeasured} other approach(es) were not measured (no latency in the runs or the [[latency]] table), so they could not be weighed",
                        f.approach
                    )
            } else {
                format!("{} is the only feasible approach{objective}", f.approach)
            }
        }
        (Some(f), Some(s)) => {
            let cheaper_excluded: Vec<&Excluded> = excluded
                .iter()
                .filter(|e| {
                    approaches.iter().any(|c| {
                        c.approach == e.approach && c.monthly_cost_usd < f.monthly_cost_usd
                    })
                })
                .collect();
            let mut why = format!(
                "{} is the cheapest feasible approach{} at ${:.2}/month; {} costs ${:.2} more.",
                f.approach,
                if slo.is_set() {
                    " that meets the objective"
                } else {
                    ""
                },
                f.monthly_cost_usd,
                s.approach,
                s.monthly_cost_usd - f.monthly_cost_usd
            );
            let (unmeasured, other): (Vec<&Excluded>, Vec<&Excluded>) = cheaper_excluded
                .iter()
                .partition(|e| e.reason.starts_with("no latency"));
            if !other.is_empty() {
                why.push_str(" Cheaper but left out: ");
                why.push_str(
                    &other
                        .iter()
                        .map(|e| format!("{} ({})", e.approach, e.reason))
                        .collect::<Vec<_>>()
                        .join("; "),
                );
                why.push('.');
            }
            if !unmeasured.is_empty() {
                why.push_str(" Cheaper but not measured (run them to compare): ");
                why.push_str(
                    &unmeasured
                        .iter()
                        .map(|e| e.approach.name())
                        .collect::<Vec<_>>()
                        .join(", "),
                );
                why.push('.');
            }
            why
        }
    };
    let mut why = why;
    if let Some(f) =
        first.filter(|f| f.staleness_bound == crate::approach::StalenessBound::ConfigurationChange)
    {
        why.push_str(&format!(
            " {} keeps the value in the function's configuration: a rotation is a configuration change, which retires every environment (cold starts), and it is stale until that change is made.",
            f.approach
        ));
    }
    if let Some(f) = first.filter(|f| f.latency.is_none()) {
        why.push_str(&format!(
            " Its latency was not measured (no run or [[latency]] entry for {}): measure it before choosing it.",
            f.approach
        ));
    }
    Recommendation {
        slo: slo.clone(),
        approach: first.map(|c| c.approach),
        monthly_cost_usd: first.map(|c| c.monthly_cost_usd),
        runner_up: second.map(|c| c.approach),
        runner_up_monthly_cost_usd: second.map(|c| c.monthly_cost_usd),
        why,
        excluded,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slo_parses_and_names_bad_parts() {
        let s = Slo::parse("p99_cold=200ms, p99_warm=20ms").expect("valid");
        assert_eq!(s.p99_cold_s, Some(0.2));
        assert_eq!(s.p99_warm_s, Some(0.02));
        assert!(s.p50_cold_s.is_none());
        let e = Slo::parse("p95_cold=1s")
            .expect_err("unknown key")
            .to_string();
        assert!(e.contains("p95_cold") && e.contains("p99_cold"), "{e}");
        let e = Slo::parse("p99_cold=fast")
            .expect_err("bad duration")
            .to_string();
        assert!(e.contains("`fast`"), "{e}");
        let e = Slo::parse("p99_cold").expect_err("no value").to_string();
        assert!(e.contains("KEY=DURATION"), "{e}");
    }
}
