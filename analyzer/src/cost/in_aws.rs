//! What one run inside AWS costs (`secbench run --in-aws`): the state machine's transitions,
//! the driver's invocations and GB-seconds, and the results bucket's requests and storage,
//! from the dated table (`[in_aws]` and Lambda's), before free tiers (an account's are spent by
//! its other work). The run's shape is counted by the caller from what it ran.

use super::pricing::Pricing;
use super::workload::Architecture;
use serde::{Deserialize, Serialize};

/// What a run did that AWS bills.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct RunShape {
    /// Step Functions state transitions (child executions' included).
    pub state_transitions: u64,
    /// Driver invocations.
    pub driver_invocations: u64,
    /// The driver's billed time × its memory, GB-seconds.
    pub driver_gb_seconds: f64,
    /// S3 PUT and LIST requests.
    pub s3_put_list_requests: u64,
    /// S3 GET requests.
    pub s3_get_requests: u64,
    /// What the run keeps in the bucket, GB (priced per month).
    pub stored_gb: f64,
}

/// Its price, line by line, USD.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct RunCost {
    /// State transitions.
    pub state_transitions_usd: f64,
    /// Driver requests.
    pub driver_requests_usd: f64,
    /// Driver duration (the first GB-second tier of its architecture).
    pub driver_duration_usd: f64,
    /// S3 requests.
    pub s3_requests_usd: f64,
    /// The run's objects for a month.
    pub storage_per_month_usd: f64,
}

impl RunCost {
    /// The run's own charges (storage is per month it is kept, not in the total).
    pub fn total_usd(&self) -> f64 {
        self.state_transitions_usd
            + self.driver_requests_usd
            + self.driver_duration_usd
            + self.s3_requests_usd
    }
}

/// Prices a run's shape with the driver on `architecture`.
pub fn run_cost(shape: &RunShape, p: &Pricing, architecture: Architecture) -> RunCost {
    let gb_second = p.tiers(architecture).first().map_or(0.0, |t| t.usd);
    RunCost {
        state_transitions_usd: shape.state_transitions as f64 * p.in_aws.state_transition_usd,
        driver_requests_usd: shape.driver_invocations as f64 / 1e6
            * p.lambda.requests_per_million_usd,
        driver_duration_usd: shape.driver_gb_seconds * gb_second,
        s3_requests_usd: shape.s3_put_list_requests as f64 / 1000.0
            * p.in_aws.s3_put_list_per_1000_usd
            + shape.s3_get_requests as f64 / 1000.0 * p.in_aws.s3_get_per_1000_usd,
        storage_per_month_usd: shape.stored_gb * p.in_aws.s3_gb_month_usd,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// By hand, with the shipped table (us-east-1): 1,000 transitions × $0.000025 = $0.025;
    /// 200 driver invocations × $0.20/M = $0.00004; 30,000 GB-s × $0.0000133334 (arm64, first
    /// tier) = $0.400002; 1,000 PUT/LIST × $0.005/1,000 = $0.005 and 5,000 GET × $0.0004/1,000 =
    /// $0.002; total $0.432042 → $0.43. 2 GB kept × $0.023 = $0.046 a month.
    #[test]
    fn a_run_is_priced_by_hand_to_the_cent() {
        let (p, _) =
            super::super::pricing::parse(super::super::pricing::DEFAULT_TABLE, "us-east-1")
                .expect("table");
        let c = run_cost(
            &RunShape {
                state_transitions: 1_000,
                driver_invocations: 200,
                driver_gb_seconds: 30_000.0,
                s3_put_list_requests: 1_000,
                s3_get_requests: 5_000,
                stored_gb: 2.0,
            },
            &p,
            Architecture::Arm64,
        );
        assert!((c.state_transitions_usd - 0.025).abs() < 1e-12);
        assert!((c.driver_requests_usd - 0.00004).abs() < 1e-12);
        assert!((c.driver_duration_usd - 0.400002).abs() < 1e-9);
        assert!((c.s3_requests_usd - 0.007).abs() < 1e-12);
        assert_eq!(format!("{:.2}", c.total_usd()), "0.43");
        assert!((c.total_usd() - 0.432042).abs() < 1e-9);
        assert_eq!(format!("{:.3}", c.storage_per_month_usd), "0.046");
    }
}
