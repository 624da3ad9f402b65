//! The one cost pipeline, used by `secbench cost` and `secbench report` alike: load the
//! workload and the pricing table, take latencies from measured runs (leaving out scenarios
//! run under injected faults) or from the workload's `[[latency]]` table, say where they came
//! from, then price every approach, recommend under an objective, and sweep a field.

use super::error::CostError;
use super::evaluate::{CostReport, Latencies, PricingInfo};
use super::latency::LatencyOrigin;
use super::pricing::Pricing;
use super::recommend::Slo;
use super::sweep::{Sweep, SweepSpec};
use super::workload::Workload;
use crate::approach::Approach;
use crate::ingest::Ingested;
use std::collections::BTreeMap;
use std::path::Path;

/// Where the latencies come from.
#[derive(Debug, Clone, Copy)]
pub enum LatencyInput<'a> {
    /// The workload's `[[latency]]` table (none: compute for fetching is left out).
    Workload,
    /// Measured runs, as read and summarized.
    Runs {
        /// The runs, as ingested (their manifests say which scenarios ran under faults).
        ingested: &'a Ingested,
        /// Their summary.
        summary: &'a crate::summary::Summary,
    },
}

/// Everything the cost answers are computed from.
#[derive(Debug, Clone)]
pub struct Priced {
    /// The workload.
    pub workload: Workload,
    /// The pricing table, resolved for the workload's region.
    pub pricing: Pricing,
    /// The table as outputs describe it.
    pub info: PricingInfo,
    /// Latencies per approach.
    pub latencies: Latencies,
    /// Notes per approach (where its latency came from, what the run measured).
    pub notes: BTreeMap<Approach, Vec<String>>,
    /// Where the latencies came from.
    pub origin: LatencyOrigin,
    /// The runs' measured rounds of several values (none from a workload's table).
    pub round_times: super::many::RoundTimes,
}

/// Loads the workload and the pricing table (`None`: the shipped one) and takes latencies.
pub fn prepare(
    workload: &Path,
    pricing: Option<&Path>,
    latency: LatencyInput<'_>,
) -> Result<Priced, CostError> {
    let w = Workload::load(workload)?;
    let (p, file, overridden) = super::pricing::load(pricing, &w.region)?;
    let info = PricingInfo::new(&p, &file.display().to_string(), &w.region, overridden);
    let round_times = match latency {
        LatencyInput::Runs { summary, .. } => super::many::round_times(summary),
        LatencyInput::Workload => super::many::RoundTimes::new(),
    };
    let (latencies, notes, origin) = match latency {
        LatencyInput::Workload => {
            let l = super::evaluate::latencies_from_workload(&w);
            let origin = if l.is_empty() {
                LatencyOrigin::None
            } else {
                LatencyOrigin::Workload
            };
            (l, BTreeMap::new(), origin)
        }
        LatencyInput::Runs { ingested, summary } => {
            // The main scenarios only: not those under faults, the remedies, several secrets
            // per fetch, or another TTL than the workload's where both were measured.
            let families = crate::family::Families::new(summary, ingested, w.cache_ttl);
            let exclude = families.outside_main();
            let idle = super::evaluate::IdleWorkload::of(&w, &p, &families);
            let (l, n) =
                super::evaluate::latencies_from_summary(summary, &w, &exclude, idle.as_ref());
            let origin = LatencyOrigin::Runs {
                runs: ingested.input.runs.iter().map(|r| r.dir.clone()).collect(),
                local_emulator: summary.local_emulator,
                emulation: summary.emulation.clone(),
            };
            (l, n, origin)
        }
    };
    Ok(Priced {
        workload: w,
        pricing: p,
        info,
        latencies,
        notes,
        origin,
        round_times,
    })
}

impl Priced {
    /// Every approach priced at the workload, with the recommendation under `slo`.
    pub fn report(&self, slo: &Slo) -> CostReport {
        self.report_with(&self.workload, &self.latencies, &self.notes, slo)
    }

    /// The cost report of another workload `w` (the report's sizes and explorer points) with
    /// these prices, with `latencies` and their `notes`.
    pub fn report_with(
        &self,
        w: &Workload,
        latencies: &Latencies,
        notes: &BTreeMap<Approach, Vec<String>>,
        slo: &Slo,
    ) -> CostReport {
        super::evaluate::report(
            w,
            &self.pricing,
            self.info.clone(),
            super::evaluate::Measurements {
                latencies,
                notes,
                round_times: &self.round_times,
            },
            self.origin.clone(),
            slo,
        )
    }

    /// The cost curves over `spec` with `steps_per_decade` samples per factor of ten.
    pub fn sweep(&self, spec: &SweepSpec, steps_per_decade: u32) -> Result<Sweep, CostError> {
        super::sweep::sweep(
            &self.workload,
            spec,
            steps_per_decade,
            &self.pricing,
            self.info.clone(),
            &self.latencies,
        )
    }

    /// The sweep the report plots: invocations per month from a tenth of the workload's (at
    /// most 10⁴) to ten times it (at least 10⁹), 8 samples a decade.
    pub fn report_sweep(&self) -> Result<Sweep, CostError> {
        let w = &self.workload;
        let spec = SweepSpec {
            field: super::workload::SweepField::InvocationsPerMonth,
            from: (w.invocations_per_month / 10.0).clamp(1.0, 1e4),
            to: (w.invocations_per_month * 10.0).max(1e9),
        };
        self.sweep(&spec, 8)
    }
}
