//! The local stage's front adds the plan's round trip to every request. Side by side in one
//! run: how long a requested 1 ms and 100 µs delay really take with the front's
//! `precise_sleep` (nanosleep on a blocking thread) and with tokio's timer (1 ms granularity),
//! which is why the front does not use the latter.

use criterion::{criterion_group, criterion_main, Criterion};
use secbench_local_lambda::front::precise_sleep;
use std::time::Duration;

fn front_delay(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let mut group = c.benchmark_group("front_delay");
    group.sample_size(50);
    for (name, d) in [
        ("1ms", Duration::from_millis(1)),
        ("100us", Duration::from_micros(100)),
    ] {
        group.bench_function(format!("precise_sleep_{name}"), |b| {
            b.to_async(&rt).iter(|| precise_sleep(d))
        });
        group.bench_function(format!("tokio_sleep_{name}"), |b| {
            b.to_async(&rt).iter(|| tokio::time::sleep(d))
        });
    }
    group.finish();
}

criterion_group!(benches, front_delay);
criterion_main!(benches);
