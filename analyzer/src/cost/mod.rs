//! `secbench cost`: monthly cost per approach from a dated pricing table, a workload and
//! (optionally) measured latencies; the cost curve over a swept workload field with its
//! break-even points; and a recommendation under an optional latency objective.

pub mod counts;
pub mod error;
pub mod evaluate;
pub mod in_aws;
pub mod latency;
pub mod managed;
pub mod many;
pub mod model;
pub mod pipeline;
pub mod pricing;
pub mod quota;
pub mod recommend;
pub mod snapstart;
pub mod sweep;
pub mod workload;

pub use error::CostError;
pub use evaluate::{
    evaluate, latencies_from_summary, latencies_from_workload, report, CostReport, Derived,
    IdleWorkload, Latencies, PricingInfo, COST_SCHEMA_VERSION, FORMULA,
};
pub use latency::{Latency, LatencyOrigin};

#[cfg(test)]
mod tests;
