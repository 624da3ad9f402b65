//! Single flight in the TTL cache: when an environment serves several invocations at once (as
//! Lambda Managed Instances run them) and the entry has expired, four concurrent fetches make
//! four GetParameter calls without it and one with it, as moto's own recorder counts them (not
//! the probe). The real probe, moto behind the local stage's fault proxy, which adds 200 ms to
//! every SSM request so the four fetches overlap.

mod common;

use common::*;
use secbench_local_lambda::front::FaultProxy;
use secbench_record::faults::{Faults, Service};
use secbench_record::Outcome;
use secbench_test_support::MotoRecorder;
use std::time::Duration;

fn slow_ssm() -> Faults {
    Faults {
        latency: Duration::from_millis(200),
        ..Faults::none_on(vec![Service::Ssm])
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_misses_make_one_call_with_single_flight_and_one_each_without() {
    let (_moto, endpoint) = start_moto();
    let p = provision(&endpoint).await;
    let proxy = FaultProxy::start(&endpoint).await.expect("proxy");
    for (single_flight, calls) in [(false, 4), (true, 1)] {
        proxy.control.set(None);
        let mut env = probe_env(&p, "ssm", "ttl", Some("300ms"), "handler");
        env.insert("AWS_ENDPOINT_URL".into(), proxy.endpoint.clone());
        env.insert("SECBENCH_SINGLE_FLIGHT".into(), single_flight.to_string());
        let probe = TestProbe::init(&env).await;
        let first = probe.invoke(1).await;
        assert_eq!(first.fetches[0].outcome, Outcome::Miss);
        assert_eq!(first.single_flight, Some(single_flight));
        // The TTL is the thing under test: let it pass.
        tokio::time::sleep(Duration::from_millis(400)).await;
        proxy.control.set(Some(slow_ssm()));
        let recorder = MotoRecorder::started(&endpoint);
        let (a, b, c, d) = tokio::join!(
            probe.invoke(1),
            probe.invoke(1),
            probe.invoke(1),
            probe.invoke(1)
        );
        let seen = recorder
            .operations()
            .iter()
            .filter(|o| o.as_str() == "GetParameter")
            .count();
        assert_eq!(
            seen, calls,
            "single_flight = {single_flight}: moto saw {seen}"
        );
        for r in [&a, &b, &c, &d] {
            assert_eq!(r.fetches[0].verified, Some(true));
        }
        let hits = [&a, &b, &c, &d]
            .iter()
            .filter(|r| r.fetches[0].outcome == Outcome::Hit)
            .count();
        // With single flight the three that waited found the one fetch's value.
        assert_eq!(hits, if single_flight { 3 } else { 0 }, "{single_flight}");
    }
    proxy.control.set(None);
}
