//! The open-loop send schedule, kept to well under a millisecond. tokio's timer has a 1 ms
//! resolution (and fires up to a tick late), which showed as about 0.9 ms of every open-loop
//! caller figure; the pacer is a thread of its own that sleeps (`nanosleep`, whose wake-up is
//! late by Linux's timer slack, 50 µs by default) to [`SPIN`] before each intended instant,
//! spins on the monotonic clock (`Instant`, vDSO `clock_gettime`, well under 1 µs a read) for
//! the rest, and hands the invocation's index to the runner at that instant. The slip that
//! remains (the hand-off to the async runtime and the start of the request) is recorded per
//! invocation as `schedule_slip_ns`. The cost: up to [`SPIN`] plus the slack of one core per
//! invocation (about 25% of a core at 1,000 invocations/s, 6% at 250/s).

use super::cancel::Cancel;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// How long before an intended instant the pacer stops sleeping and spins: the timer slack
/// and a margin.
pub const SPIN: Duration = Duration::from_micros(200);

/// The longest single sleep, so a cancel is seen within it.
const CHECK: Duration = Duration::from_millis(50);

/// Sends `k` on the returned channel at `instants[k]`, in order, until they are all sent,
/// the receiver is dropped or `cancel` is set.
pub fn start(instants: Vec<Instant>, cancel: Cancel) -> mpsc::UnboundedReceiver<usize> {
    let (tx, rx) = mpsc::unbounded_channel();
    std::thread::Builder::new()
        .name("secbench-pacer".into())
        .spawn(move || {
            for (k, at) in instants.into_iter().enumerate() {
                if !wait_until(at, &cancel) || tx.send(k).is_err() {
                    return;
                }
            }
        })
        // Without a thread there is no schedule: the receiver sees the end at once and the
        // phase sends nothing, which the accounting then shows.
        .ok();
    rx
}

/// Sleeps, then spins, until `at`; false when cancelled first.
fn wait_until(at: Instant, cancel: &Cancel) -> bool {
    loop {
        if cancel.is_cancelled() {
            return false;
        }
        let now = Instant::now();
        if now >= at {
            return true;
        }
        let left = at - now;
        if left > SPIN {
            std::thread::sleep((left - SPIN).min(CHECK));
        } else {
            std::hint::spin_loop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn each_index_arrives_at_its_instant_in_order() {
        let start = Instant::now() + Duration::from_millis(5);
        let instants: Vec<Instant> = (0..20u32)
            .map(|k| start + Duration::from_micros(700) * k)
            .collect();
        let mut rx = super::start(instants.clone(), Cancel::default());
        let mut got = Vec::new();
        while let Some(k) = rx.recv().await {
            assert!(Instant::now() >= instants[k], "index {k} came early");
            got.push(k);
        }
        assert_eq!(got, (0..20).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn a_cancel_stops_the_schedule() {
        let cancel = Cancel::default();
        let far = Instant::now() + Duration::from_secs(3600);
        let mut rx = super::start(vec![far], cancel.clone());
        cancel.cancel();
        assert_eq!(rx.recv().await, None);
    }
}
