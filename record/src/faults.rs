//! `[scenario.faults]` of a plan: the faults the local stage's proxy injects while a scenario
//! runs, as written ([`FaultSpec`]) and checked ([`Faults`]). Part of the plan format (and so
//! of every manifest); the proxy that injects them is in `secbench-local-lambda`.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// A service a fault can target (named in plans as in [`Service::as_str`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Service {
    /// KMS.
    Kms,
    /// SSM Parameter Store.
    Ssm,
    /// Secrets Manager.
    SecretsManager,
}

/// Each service's name in plans and the prefix of the `X-Amz-Target` header that names it
/// (awsJson1_1), in [`Service::ALL`]'s order.
const NAMES: [(&str, &str); 3] = [
    ("kms", "TrentService."),
    ("ssm", "AmazonSSM."),
    ("secretsmanager", "secretsmanager."),
];

impl Service {
    /// Every service, in the order of the proxy's counters.
    pub const ALL: [Service; 3] = [Service::Kms, Service::Ssm, Service::SecretsManager];

    /// The name in plans (`[scenario.faults] services`).
    pub fn as_str(self) -> &'static str {
        NAMES[self.index()].0
    }

    /// The prefix of the request's `X-Amz-Target` header that names it (awsJson1_1).
    pub fn target_prefix(self) -> &'static str {
        NAMES[self.index()].1
    }

    /// The service of an API operation the probe makes (`GetParameter`, `Decrypt`, ...).
    pub fn of_operation(operation: &str) -> Option<Service> {
        match operation {
            "Decrypt" => Some(Service::Kms),
            "GetParameter" | "GetParameters" => Some(Service::Ssm),
            "GetSecretValue" | "BatchGetSecretValue" | "DescribeSecret" => {
                Some(Service::SecretsManager)
            }
            _ => None,
        }
    }

    /// The `X-Amz-Target` of one of its operations (`AmazonSSM.GetParameter`).
    pub fn target(self, operation: &str) -> String {
        format!("{}{operation}", self.target_prefix())
    }

    /// The service a request's `X-Amz-Target` names.
    pub fn of_target(target: &str) -> Option<Service> {
        Service::ALL
            .into_iter()
            .find(|s| target.starts_with(s.target_prefix()))
    }

    /// Its place in [`Service::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

/// `[scenario.faults]` as written in a plan.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// Services the faults apply to (`kms`, `ssm`, `secretsmanager`); default all.
    pub services: Option<Vec<String>>,
    /// Latency added to every request, e.g. `20ms`.
    pub latency: Option<String>,
    /// Plus a uniformly distributed extra of up to this, e.g. `30ms`.
    pub latency_jitter: Option<String>,
    /// Share of requests answered with `ThrottlingException` (0..=1).
    pub throttle_rate: Option<f64>,
    /// Requests per second above which requests are throttled (per service), e.g. 40.
    pub throttle_above_tps: Option<f64>,
    /// Share of requests answered HTTP 500 or 503 (0..=1).
    pub error_rate: Option<f64>,
    /// Share of connections reset before an answer (0..=1).
    pub reset_rate: Option<f64>,
    /// Share of requests held for `slow_delay` before they are forwarded (0..=1).
    pub slow_rate: Option<f64>,
    /// How long a slow request is held (longer than the probe's attempt timeout), e.g. `3s`.
    pub slow_delay: Option<String>,
}

/// Validated faults (in the manifest's resolved plan).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Faults {
    /// Services hit.
    pub services: Vec<Service>,
    /// Fixed latency.
    #[serde(with = "crate::duration::serde")]
    pub latency: Duration,
    /// Uniform extra latency, at most.
    #[serde(with = "crate::duration::serde")]
    pub latency_jitter: Duration,
    /// Throttled share.
    pub throttle_rate: f64,
    /// Throttled above this rate.
    pub throttle_above_tps: Option<f64>,
    /// 500/503 share.
    pub error_rate: f64,
    /// Reset share.
    pub reset_rate: f64,
    /// Slow share.
    pub slow_rate: f64,
    /// Slow delay.
    #[serde(with = "crate::duration::serde")]
    pub slow_delay: Duration,
}

impl Faults {
    /// No fault yet on `services`: the starting point of a test that sets the fields it wants.
    pub fn none_on(services: Vec<Service>) -> Faults {
        Faults {
            services,
            latency: Duration::ZERO,
            latency_jitter: Duration::ZERO,
            throttle_rate: 0.0,
            throttle_above_tps: None,
            error_rate: 0.0,
            reset_rate: 0.0,
            slow_rate: 0.0,
            slow_delay: Duration::ZERO,
        }
    }
}

impl FaultSpec {
    /// Checks the values; the error is (field, message).
    pub fn resolve(&self) -> Result<Faults, (String, String)> {
        let dur = |field: &str, v: &Option<String>| -> Result<Duration, (String, String)> {
            match v {
                None => Ok(Duration::ZERO),
                Some(t) => crate::duration::parse(t)
                    .map_err(|e| (field.to_owned(), e.to_string()))
                    .and_then(|d| {
                        if d > Duration::from_secs(600) {
                            Err((field.to_owned(), format!("{t} is above 10m")))
                        } else {
                            Ok(d)
                        }
                    }),
            }
        };
        let rate = |field: &str, v: Option<f64>| -> Result<f64, (String, String)> {
            match v {
                None => Ok(0.0),
                Some(r) if (0.0..=1.0).contains(&r) => Ok(r),
                Some(r) => Err((field.to_owned(), format!("{r} is outside 0..=1"))),
            }
        };
        let services = match &self.services {
            None => Service::ALL.to_vec(),
            Some(list) => {
                let mut out = Vec::new();
                for s in list {
                    let known = Service::ALL.into_iter().find(|n| n.as_str() == s);
                    out.push(known.ok_or_else(|| {
                        (
                            "services".to_owned(),
                            format!("`{s}` is not one of kms, ssm, secretsmanager"),
                        )
                    })?);
                }
                out
            }
        };
        let throttle_above_tps = match self.throttle_above_tps {
            None => None,
            Some(t) if t.is_finite() && t > 0.0 && t <= 1e6 => Some(t),
            Some(t) => {
                return Err((
                    "throttle_above_tps".into(),
                    format!("{t} is outside (0, 1e6]"),
                ))
            }
        };
        let f = Faults {
            services,
            latency: dur("latency", &self.latency)?,
            latency_jitter: dur("latency_jitter", &self.latency_jitter)?,
            throttle_rate: rate("throttle_rate", self.throttle_rate)?,
            throttle_above_tps,
            error_rate: rate("error_rate", self.error_rate)?,
            reset_rate: rate("reset_rate", self.reset_rate)?,
            slow_rate: rate("slow_rate", self.slow_rate)?,
            slow_delay: dur("slow_delay", &self.slow_delay)?,
        };
        if f.slow_rate > 0.0 && f.slow_delay.is_zero() {
            return Err(("slow_delay".into(), "needed with slow_rate".into()));
        }
        Ok(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_service_reads_and_writes_by_its_plan_name() {
        for s in Service::ALL {
            let json = serde_json::to_string(&s).expect("serializes");
            assert_eq!(json, format!("\"{}\"", s.as_str()));
            assert_eq!(
                Service::of_target(&format!("{}GetThing", s.target_prefix())),
                Some(s)
            );
        }
        let spec = FaultSpec {
            services: Some(vec!["ssm".into(), "secretsmanager".into()]),
            ..FaultSpec::default()
        };
        assert_eq!(
            spec.resolve().expect("valid").services,
            [Service::Ssm, Service::SecretsManager]
        );
        let bad = FaultSpec {
            services: Some(vec!["sts".into()]),
            ..FaultSpec::default()
        };
        assert!(bad.resolve().expect_err("refused").1.contains("sts"));
    }
}
