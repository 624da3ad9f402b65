//! `secbench cost --sweep FIELD=FROM..TO`: the cost of every approach over log-spaced values
//! of one workload field, and the break-even points where the cheapest feasible approach
//! changes (found by bisection between the sampled points). This is what the report plots.

use super::error::CostError;
use super::evaluate::{evaluate, Latencies, PricingInfo};
use super::pricing::Pricing;
use super::workload::{SweepField, Workload};
use crate::approach::Approach;
use serde::Serialize;
use std::collections::BTreeMap;

/// Version of the sweep JSON (schema: analyzer/schema/cost-sweep.schema.json).
pub const SWEEP_SCHEMA_VERSION: u32 = 1;

/// A parsed `--sweep`.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepSpec {
    /// The workload field.
    pub field: SweepField,
    /// Lowest value.
    pub from: f64,
    /// Highest value.
    pub to: f64,
}

impl SweepSpec {
    /// Parses `invocations_per_month=1e4..1e9`.
    pub fn parse(text: &str) -> Result<SweepSpec, CostError> {
        let bad = |message: String| CostError::Option {
            option: "--sweep",
            message,
        };
        let (field, range) = text.split_once('=').ok_or_else(|| {
            bad(format!(
                "`{text}` is not FIELD=FROM..TO (e.g. invocations_per_month=1e4..1e9)"
            ))
        })?;
        let (from, to) = range
            .split_once("..")
            .ok_or_else(|| bad(format!("`{range}` is not FROM..TO")))?;
        let num = |s: &str| {
            s.trim()
                .replace('_', "")
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v > 0.0)
                .ok_or_else(|| bad(format!("`{s}` is not a positive number")))
        };
        let (from, to) = (num(from)?, num(to)?);
        if to <= from {
            return Err(bad(format!(
                "the range {from}..{to} is empty: FROM must be below TO"
            )));
        }
        let field = SweepField::from_name(field.trim()).ok_or_else(|| {
            bad(format!(
                "`{}` cannot be swept; one of: {}",
                field.trim(),
                SweepField::ALL.map(SweepField::name).join(", ")
            ))
        })?;
        Ok(SweepSpec { field, from, to })
    }
}

/// One sampled value.
#[derive(Debug, Clone, Serialize)]
pub struct Point {
    /// The field's value.
    pub value: f64,
    /// Monthly cost by approach.
    pub monthly_cost_usd: BTreeMap<Approach, f64>,
    /// Feasibility by approach.
    pub feasible: BTreeMap<Approach, bool>,
    /// The cheapest feasible approach (the baseline excluded).
    pub cheapest: Option<Approach>,
}

/// Where the cheapest approach changes.
#[derive(Debug, Clone, Serialize)]
pub struct BreakEven {
    /// The field's value at the change.
    pub value: f64,
    /// Cheapest below (`none` when none is feasible).
    #[serde(serialize_with = "name_or_none")]
    pub from: Option<Approach>,
    /// Cheapest above.
    #[serde(serialize_with = "name_or_none")]
    pub to: Option<Approach>,
}

/// The sweep.
#[derive(Debug, Clone, Serialize)]
pub struct Sweep {
    /// Always [`SWEEP_SCHEMA_VERSION`].
    pub cost_sweep_schema_version: u32,
    /// The table used.
    pub pricing: PricingInfo,
    /// The workload swept from.
    pub workload: Workload,
    /// The field.
    pub parameter: String,
    /// How other fields follow (sweeping invocations scales the peak and environments).
    pub scaling: String,
    /// Approaches in output order.
    pub approaches: Vec<Approach>,
    /// The samples, ascending.
    pub points: Vec<Point>,
    /// The break-even points, ascending.
    pub break_even: Vec<BreakEven>,
}

fn name_or_none<S: serde::Serializer>(a: &Option<Approach>, s: S) -> Result<S::Ok, S::Error> {
    match a {
        Some(a) => s.collect_str(a),
        None => s.serialize_str("none"),
    }
}

fn at(
    base: &Workload,
    field: SweepField,
    v: f64,
    p: &Pricing,
    lat: &Latencies,
) -> Result<Point, CostError> {
    let mut w = base.clone();
    w.set(field, v);
    w.validate().map_err(|(f, m)| CostError::Option {
        option: "--sweep",
        message: format!("at {} = {v}: {f}: {m}", field.name()),
    })?;
    let costs = evaluate(&w, p, lat, &BTreeMap::new());
    let cheapest = costs
        .iter()
        .filter(|c| c.feasible && c.source != secbench_record::Source::PlainEnv)
        .min_by(|a, b| a.monthly_cost_usd.total_cmp(&b.monthly_cost_usd))
        .map(|c| c.approach);
    Ok(Point {
        value: v,
        monthly_cost_usd: costs
            .iter()
            .map(|c| (c.approach, c.monthly_cost_usd))
            .collect(),
        feasible: costs.iter().map(|c| (c.approach, c.feasible)).collect(),
        cheapest,
    })
}

/// Runs the sweep with `steps_per_decade` log-spaced samples per factor of ten.
pub fn sweep(
    base: &Workload,
    spec: &SweepSpec,
    steps_per_decade: u32,
    p: &Pricing,
    info: PricingInfo,
    lat: &Latencies,
) -> Result<Sweep, CostError> {
    let decades = (spec.to / spec.from).log10();
    let n = ((decades * f64::from(steps_per_decade.max(1))).ceil() as usize).max(1);
    let mut points = Vec::with_capacity(n + 1);
    for k in 0..=n {
        let v = spec.from * 10f64.powf(decades * k as f64 / n as f64);
        points.push(at(base, spec.field, v, p, lat)?);
    }
    let mut break_even = Vec::new();
    for pair in points.windows(2) {
        let (lo, hi) = (&pair[0], &pair[1]);
        if lo.cheapest == hi.cheapest {
            continue;
        }
        // Bisect in log space for where the cheapest changes.
        let (mut a, mut b) = (lo.value, hi.value);
        for _ in 0..60 {
            if b / a < 1.0 + 1e-6 {
                break;
            }
            let m = (a * b).sqrt();
            if at(base, spec.field, m, p, lat)?.cheapest == lo.cheapest {
                a = m;
            } else {
                b = m;
            }
        }
        let after = at(base, spec.field, b, p, lat)?.cheapest;
        break_even.push(BreakEven {
            value: b,
            from: lo.cheapest,
            to: after,
        });
    }
    let scaling = if spec.field == SweepField::InvocationsPerMonth {
        "peak_rps and avg_concurrent_environments scale with invocations_per_month (an avg_duration keeps its value)".into()
    } else {
        "other fields keep their values".into()
    };
    Ok(Sweep {
        cost_sweep_schema_version: SWEEP_SCHEMA_VERSION,
        pricing: info,
        workload: base.clone(),
        parameter: spec.field.name().to_owned(),
        scaling,
        approaches: Approach::all(),
        points,
        break_even,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sweep_spec_parses_and_explains() {
        let s = SweepSpec::parse("invocations_per_month=1e4..1e9").expect("valid");
        assert_eq!((s.from, s.to), (1e4, 1e9));
        let e = SweepSpec::parse("colour=1..2")
            .expect_err("unknown")
            .to_string();
        assert!(
            e.contains("colour") && e.contains("invocations_per_month"),
            "{e}"
        );
        let e = SweepSpec::parse("secrets=5..1")
            .expect_err("empty")
            .to_string();
        assert!(e.contains("empty"), "{e}");
        let e = SweepSpec::parse("secrets=-1..3")
            .expect_err("negative")
            .to_string();
        assert!(e.contains("positive"), "{e}");
    }
}
