//! What each cache mode costs in API calls, checked on both sides: the probe's own count and
//! moto's request recorder (what actually reached the emulator). The cost model prices these.

mod common;

use common::*;
use secbench_record::{FetchRecord, Outcome};
use secbench_test_support::MotoRecorder;
use std::time::Duration;

fn calls(f: &FetchRecord) -> Vec<(String, u32)> {
    f.api_calls
        .iter()
        .map(|c| (c.operation.clone(), c.count))
        .collect()
}

#[tokio::test]
async fn ttl_cache_hits_before_the_ttl_and_refreshes_after_it() {
    let (_moto, endpoint) = start_moto();
    let p = provision(&endpoint).await;
    let ttl = Duration::from_millis(300);
    let probe = TestProbe::init(&probe_env(&p, "ssm", "ttl", Some("300ms"), "handler")).await;
    let recorder = MotoRecorder::started(&endpoint);

    let first = probe.invoke(2).await;
    let outcomes: Vec<Outcome> = first.fetches.iter().map(|f| f.outcome).collect();
    assert_eq!(outcomes, vec![Outcome::Miss, Outcome::Hit]);
    assert_eq!(
        recorder.operations(),
        vec!["GetParameter"],
        "a hit reached AWS"
    );

    // The TTL is the thing under test: let it pass.
    tokio::time::sleep(ttl + Duration::from_millis(50)).await;
    let second = probe.invoke(2).await;
    let outcomes: Vec<Outcome> = second.fetches.iter().map(|f| f.outcome).collect();
    assert_eq!(
        outcomes,
        vec![Outcome::Refresh, Outcome::Hit],
        "an expired entry was not refreshed"
    );
    assert_eq!(
        calls(&second.fetches[0]),
        vec![("GetParameter".to_owned(), 1)]
    );
    assert!(second.fetches[0].verified == Some(true) && second.fetches[1].verified == Some(true));
    assert_eq!(recorder.operations(), vec!["GetParameter", "GetParameter"]);
    assert_eq!(second.cache_ttl_ms, Some(300));
}

#[tokio::test]
async fn caching_library_calls_describe_secret_when_an_entry_expires() {
    let (_moto, endpoint) = start_moto();
    let p = provision(&endpoint).await;
    let probe = TestProbe::init(&probe_env(
        &p,
        "secrets-manager",
        "aws-caching-library",
        Some("300ms"),
        "handler",
    ))
    .await;
    let recorder = MotoRecorder::started(&endpoint);

    let first = probe.invoke(2).await;
    assert_eq!(
        first.fetches.iter().map(|f| f.outcome).collect::<Vec<_>>(),
        vec![Outcome::Miss, Outcome::Hit]
    );
    assert_eq!(
        calls(&first.fetches[0]),
        vec![("GetSecretValue".to_owned(), 1)]
    );
    assert!(first.fetches[1].api_calls.is_empty());

    tokio::time::sleep(Duration::from_millis(350)).await;
    let second = probe.invoke(1).await;
    let refresh = &second.fetches[0];
    assert_eq!(refresh.outcome, Outcome::Refresh);
    // The version did not change, so the library asks DescribeSecret and stops there.
    assert_eq!(calls(refresh), vec![("DescribeSecret".to_owned(), 1)]);
    assert_eq!(refresh.verified, Some(true));

    let seen = recorder.operations();
    assert_eq!(
        seen,
        vec!["GetSecretValue", "DescribeSecret"],
        "the probe's count disagrees with moto's"
    );
}

#[tokio::test]
async fn uncached_sources_make_exactly_one_call_per_fetch() {
    let (_moto, endpoint) = start_moto();
    let p = provision(&endpoint).await;
    for (source, op) in [
        ("kms-env", "Decrypt"),
        ("ssm", "GetParameter"),
        ("secrets-manager", "GetSecretValue"),
    ] {
        let probe = TestProbe::init(&probe_env(&p, source, "none", None, "handler")).await;
        let recorder = MotoRecorder::started(&endpoint);
        let record = probe.invoke(3).await;
        let probe_count: u32 = record
            .fetches
            .iter()
            .flat_map(|f| f.api_calls.iter())
            .map(|c| c.count)
            .sum();
        let seen = recorder.operations();
        assert_eq!(probe_count, 3, "{source}");
        assert_eq!(seen, vec![op; 3], "{source}: moto saw {seen:?}");
    }
}
