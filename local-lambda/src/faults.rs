//! The faults the local stage injects between the probe (and the agent) and the emulator, as a
//! decision: for one request to a service, given the scenario's faults and the random draws,
//! reset the connection, throttle (the services' own `ThrottlingException`, at a rate or above
//! a rate per second as SSM's 40 TPS), answer HTTP 500/503, or forward it, held for the slow
//! delay and delayed by the added latency. [`decide`] is pure (its only state, the per-second
//! window, is passed in); [`FaultControl`] holds the scenario's faults, the window and the
//! counters; the front (`crate::front`) asks it for each request and does what it says. A plan
//! sets faults per scenario (`[scenario.faults]`); the runner switches them as scenarios start.

use secbench_record::sync::lock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use secbench_record::faults::{FaultSpec, Faults, Service};

/// What the proxy did, by kind (for tests and the run's notes).
#[derive(Debug, Default)]
pub struct FaultCounts {
    /// Requests seen.
    pub requests: AtomicU64,
    /// Answered `ThrottlingException`.
    pub throttled: AtomicU64,
    /// Answered 500 or 503.
    pub server_errors: AtomicU64,
    /// Connections reset.
    pub resets: AtomicU64,
    /// Held for the slow delay.
    pub slowed: AtomicU64,
    /// Delayed by the added latency.
    pub delayed: AtomicU64,
}

/// Requests per service in the current one-second window (for `throttle_above_tps`).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RateWindow {
    second: Option<Instant>,
    counts: [u32; 3],
}

impl RateWindow {
    /// Counts a request to `service` at `now`; true when the window's count is above `tps`.
    pub fn over(&mut self, service: Service, tps: f64, now: Instant) -> bool {
        if self
            .second
            .is_none_or(|s| now.duration_since(s) >= Duration::from_secs(1))
        {
            self.second = Some(now);
            self.counts = [0; 3];
        }
        self.counts[service.index()] += 1;
        f64::from(self.counts[service.index()]) > tps
    }
}

/// The random numbers one request's decision takes, each uniform in [0, 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Draw {
    /// Picks the fault by its share (reset, throttle, error, slow, in that order).
    pub share: f64,
    /// Picks the added latency's jitter.
    pub jitter: f64,
}

impl Draw {
    /// Two fresh draws.
    pub fn random() -> Draw {
        Draw {
            share: rand::random(),
            jitter: rand::random(),
        }
    }
}

/// What to do with one request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Verdict {
    /// Drop the connection unanswered.
    Reset,
    /// Answer `ThrottlingException` (HTTP 400, awsJson1_1).
    Throttle,
    /// Answer HTTP 500 or 503.
    ServerError,
    /// Forward it.
    Forward {
        /// Hold it this long first (a slow request; zero otherwise).
        hold: Duration,
        /// Then add this latency (zero without one).
        delay: Duration,
    },
}

/// The decision for one request to `service` under `faults`: the shares are cumulative in the
/// order reset, throttle, server error, slow, so `reset_rate = 0.1, throttle_rate = 0.1` resets
/// 10% and throttles another 10%; a request above `throttle_above_tps` is throttled whatever
/// the draw (it counts in the window unless it was reset).
pub fn decide(
    faults: &Faults,
    service: Service,
    draw: Draw,
    window: &mut RateWindow,
    now: Instant,
) -> Verdict {
    let mut edge = faults.reset_rate;
    if draw.share < edge {
        return Verdict::Reset;
    }
    edge += faults.throttle_rate;
    let over = faults
        .throttle_above_tps
        .is_some_and(|tps| window.over(service, tps, now));
    if draw.share < edge || over {
        return Verdict::Throttle;
    }
    edge += faults.error_rate;
    if draw.share < edge {
        return Verdict::ServerError;
    }
    edge += faults.slow_rate;
    Verdict::Forward {
        hold: if draw.share < edge {
            faults.slow_delay
        } else {
            Duration::ZERO
        },
        delay: faults.latency + faults.latency_jitter.mul_f64(draw.jitter),
    }
}

/// The handle the runner switches faults with; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct FaultControl {
    current: Arc<Mutex<Option<Faults>>>,
    window: Arc<Mutex<RateWindow>>,
    /// Counters.
    pub counts: Arc<FaultCounts>,
}

impl FaultControl {
    /// Sets the faults of the scenario that starts (None: pass everything through).
    pub fn set(&self, faults: Option<Faults>) {
        *lock(&self.current) = faults;
        *lock(&self.window) = RateWindow::default();
    }

    /// The verdict for one request whose `X-Amz-Target` is `target`, counted: requests to a
    /// service the scenario's faults do not name (or with no faults set) are forwarded as they
    /// are.
    pub fn verdict(&self, target: &str) -> Verdict {
        self.counts.requests.fetch_add(1, Ordering::Relaxed);
        let pass = Verdict::Forward {
            hold: Duration::ZERO,
            delay: Duration::ZERO,
        };
        let Some(service) = Service::of_target(target) else {
            return pass;
        };
        let Some(faults) = lock(&self.current)
            .clone()
            .filter(|f| f.services.contains(&service))
        else {
            return pass;
        };
        let v = decide(
            &faults,
            service,
            Draw::random(),
            &mut lock(&self.window),
            Instant::now(),
        );
        let c = &self.counts;
        match v {
            Verdict::Reset => c.resets.fetch_add(1, Ordering::Relaxed),
            Verdict::Throttle => c.throttled.fetch_add(1, Ordering::Relaxed),
            Verdict::ServerError => c.server_errors.fetch_add(1, Ordering::Relaxed),
            Verdict::Forward { hold, delay } => {
                if !hold.is_zero() {
                    c.slowed.fetch_add(1, Ordering::Relaxed);
                }
                if !delay.is_zero() {
                    c.delayed.fetch_add(1, Ordering::Relaxed);
                }
                0
            }
        };
        v
    }

    /// Requests seen so far (for the server-error body's alternation).
    pub fn requests(&self) -> u64 {
        self.counts.requests.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn faults(spec: &str) -> Faults {
        let spec: FaultSpec = toml::from_str(spec).expect("spec");
        spec.resolve().expect("valid")
    }

    fn draw(share: f64) -> Draw {
        Draw { share, jitter: 0.5 }
    }

    #[test]
    fn shares_are_cumulative_in_the_documented_order() {
        let f = faults(
            "reset_rate = 0.1\nthrottle_rate = 0.1\nerror_rate = 0.1\nslow_rate = 0.1\nslow_delay = \"3s\"\nlatency = \"20ms\"\nlatency_jitter = \"10ms\"",
        );
        let mut w = RateWindow::default();
        let now = Instant::now();
        let at = |share: f64, w: &mut RateWindow| decide(&f, Service::Ssm, draw(share), w, now);
        assert_eq!(at(0.05, &mut w), Verdict::Reset);
        assert_eq!(at(0.15, &mut w), Verdict::Throttle);
        assert_eq!(at(0.25, &mut w), Verdict::ServerError);
        assert_eq!(
            at(0.35, &mut w),
            Verdict::Forward {
                hold: Duration::from_secs(3),
                delay: Duration::from_millis(25)
            }
        );
        assert_eq!(
            at(0.95, &mut w),
            Verdict::Forward {
                hold: Duration::ZERO,
                delay: Duration::from_millis(25)
            }
        );
    }

    #[test]
    fn above_the_rate_every_request_of_that_second_is_throttled_per_service() {
        let f = faults("throttle_above_tps = 40");
        let mut w = RateWindow::default();
        let t0 = Instant::now();
        let verdicts: Vec<Verdict> = (0..50)
            .map(|_| decide(&f, Service::Ssm, draw(0.99), &mut w, t0))
            .collect();
        let throttled = verdicts.iter().filter(|v| **v == Verdict::Throttle).count();
        assert_eq!(throttled, 10, "the 41st to 50th of one second");
        // Another service has its own count; the next second starts again.
        assert!(matches!(
            decide(&f, Service::Kms, draw(0.99), &mut w, t0),
            Verdict::Forward { .. }
        ));
        assert!(matches!(
            decide(
                &f,
                Service::Ssm,
                draw(0.99),
                &mut w,
                t0 + Duration::from_secs(1)
            ),
            Verdict::Forward { .. }
        ));
    }

    #[test]
    fn a_reset_request_does_not_count_toward_the_rate() {
        let f = faults("reset_rate = 0.5\nthrottle_above_tps = 1");
        let mut w = RateWindow::default();
        let now = Instant::now();
        assert_eq!(
            decide(&f, Service::Ssm, draw(0.1), &mut w, now),
            Verdict::Reset
        );
        assert!(matches!(
            decide(&f, Service::Ssm, draw(0.9), &mut w, now),
            Verdict::Forward { .. }
        ));
        assert_eq!(
            decide(&f, Service::Ssm, draw(0.9), &mut w, now),
            Verdict::Throttle
        );
    }

    #[test]
    fn the_control_forwards_services_the_faults_do_not_name() {
        let c = FaultControl::default();
        c.set(Some(faults("services = [\"ssm\"]\nthrottle_rate = 1.0")));
        assert_eq!(c.verdict("AmazonSSM.GetParameter"), Verdict::Throttle);
        assert!(matches!(
            c.verdict("TrentService.Decrypt"),
            Verdict::Forward { .. }
        ));
        assert!(matches!(c.verdict(""), Verdict::Forward { .. }));
        c.set(None);
        assert!(matches!(
            c.verdict("AmazonSSM.GetParameter"),
            Verdict::Forward { .. }
        ));
        assert_eq!(c.requests(), 4);
        assert_eq!(c.counts.throttled.load(Ordering::Relaxed), 1);
    }
}
