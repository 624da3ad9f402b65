//! The execution environment's CPU share, memory limit and freezer, on this machine's real
//! cgroups (created under the test process's own cgroup and removed afterwards). The timing
//! tests run one at a time: each compares wall time against the quota, and another test's
//! load on the second core must not be what they measure.

use bytes::Bytes;
use http_body_util::BodyExt;
use secbench_local_lambda::cgroup::{CgroupRoot, Limits, Usage, DEFAULT_CPU_PERIOD};
use secbench_local_lambda::{Constraints, LocalPlatform, PlatformConfig};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn serial() -> tokio::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().await
}

fn root() -> CgroupRoot {
    CgroupRoot::detect().expect(
        "cgroups must be writable for these tests (run as root; secbench creates them under its own cgroup)",
    )
}

fn limits(memory_mb: u32) -> Limits {
    Limits {
        memory_mb,
        cpu_period: DEFAULT_CPU_PERIOD,
    }
}

/// Runs `sh -c 'loop of n iterations'` in a fresh cgroup at `memory_mb`; returns the wall
/// time from spawn to exit and the cgroup's counters.
async fn run_loop(root: &CgroupRoot, memory_mb: u32, n: u64) -> (Duration, Usage) {
    let name = format!("secbench-test-{:08x}", rand::random::<u32>());
    let cg = root.create(&name, &limits(memory_mb)).expect("cgroup");
    let mut cmd = tokio::process::Command::new("/bin/sh");
    cmd.arg("-c")
        .arg(format!("i=0; while [ $i -lt {n} ]; do i=$((i+1)); done"));
    cg.enter_on_spawn(&mut cmd);
    let started = Instant::now();
    let status = cmd.status().await.expect("sh runs");
    let wall = started.elapsed();
    assert!(status.success());
    let usage = cg.usage();
    cg.remove(Duration::from_secs(2)).await;
    (wall, usage)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cpu_bound_work_takes_longer_in_proportion_to_the_memory_share() {
    let _one = serial().await;
    let root = root();
    // Calibrate: iterations per CPU-millisecond at one full CPU.
    let (_, calib) = run_loop(&root, 1769, 50_000).await;
    let per_ms = 50_000.0 / (calib.cpu_ns as f64 / 1e6);
    let n = (per_ms * 100.0) as u64; // about 100 ms of CPU
    let (full, full_usage) = run_loop(&root, 1769, n).await;
    let (small, small_usage) = run_loop(&root, 128, n).await;
    // At 128 MB the quota decides the wall time: the CPU the work used at a share of
    // 128/1769 of a CPU. (The 1,769 MB run's wall time is not compared with it: it is the
    // host's to stretch, and a busy host did, by 60%, which made a ratio of the two flaky.)
    let share = 128.0 / 1769.0;
    let by_quota = small_usage.cpu_ns as f64 / 1e9 / share;
    let stretch = small.as_secs_f64() / by_quota;
    assert!(
        (0.85..1.35).contains(&stretch),
        "128 MB took {small:?} for {:.1} ms of CPU: {stretch:.2} times what a share of {share:.4} of a CPU allows",
        small_usage.cpu_ns as f64 / 1e6
    );
    assert!(
        small.as_secs_f64() > 4.0 * full.as_secs_f64(),
        "128 MB took {small:?}, 1,769 MB {full:?}: the share did not slow the work"
    );
    assert!(small_usage.throttled_ns > 0 && small_usage.throttled_periods > 0);
    assert!(
        full_usage.cpu_ns > 50_000_000,
        "the work used CPU: {full_usage:?}"
    );
    // One CPU is what a single-threaded loop can use: at 1,769 MB it is barely throttled.
    assert!(
        full_usage.throttled_ns < full_usage.cpu_ns / 5,
        "1,769 MB was throttled: {full_usage:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_5ms_burst_at_128mb_is_slowed_by_the_20ms_period() {
    let _one = serial().await;
    let root = root();
    let (_, calib) = run_loop(&root, 1769, 50_000).await;
    let per_ms = 50_000.0 / (calib.cpu_ns as f64 / 1e6);
    let n = (per_ms * 5.0) as u64;
    let (wall, usage) = run_loop(&root, 128, n).await;
    // 5 ms of CPU at 1.447 ms per 20 ms period needs three to four periods. With the
    // kernel's 100 ms period (7.2 ms of quota) it would run unthrottled in about 5 ms.
    assert!(
        wall >= Duration::from_millis(40),
        "a 5 ms burst at 128 MB took only {wall:?} ({usage:?})"
    );
    assert!(usage.throttled_ns >= 10_000_000, "{usage:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_cgroup_uses_no_cpu() {
    let _one = serial().await;
    let root = root();
    let cg = root
        .create("secbench-test-freeze", &limits(1769))
        .expect("cgroup");
    let mut cmd = tokio::process::Command::new("/bin/sh");
    cmd.arg("-c").arg("while :; do :; done").kill_on_drop(true);
    cg.enter_on_spawn(&mut cmd);
    let _child = cmd.spawn().expect("spawn");
    // It is spinning: its counter moves.
    let first = cg.usage();
    let deadline = Instant::now() + Duration::from_secs(5);
    while cg.usage().cpu_ns <= first.cpu_ns + 1_000_000 {
        assert!(Instant::now() < deadline, "the loop never ran");
        tokio::task::yield_now().await;
    }
    cg.freeze().expect("freeze");
    while !cg.is_frozen() {
        assert!(
            Instant::now() < deadline,
            "the freezer never reported FROZEN"
        );
        tokio::task::yield_now().await;
    }
    let frozen = cg.usage();
    // The measured interval itself, not a wait for something.
    std::thread::sleep(Duration::from_millis(200));
    let later = cg.usage();
    assert_eq!(later.cpu_ns, frozen.cpu_ns, "a frozen cgroup used CPU");
    cg.thaw().expect("thaw");
    while cg.usage().cpu_ns <= later.cpu_ns {
        assert!(
            Instant::now() < deadline,
            "it did not run again after the thaw"
        );
        tokio::task::yield_now().await;
    }
    cg.remove(Duration::from_secs(2)).await;
}

/// The platform with the test runtime (`fixtures/runtime.py`) as the function.
async fn platform(memory_mb: u32) -> (LocalPlatform, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = std::process::Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .expect("python3");
    let python = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/runtime.py");
    let bin = dir.path().join("bootstrap");
    std::fs::write(
        &bin,
        format!("#!/bin/sh\nexec {python} {}\n", script.display()),
    )
    .expect("write bootstrap");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let constraints = Constraints::detect(DEFAULT_CPU_PERIOD);
    assert!(
        matches!(constraints, Constraints::Cgroups { .. }),
        "cgroups not available: {constraints:?}"
    );
    let p = LocalPlatform::start(PlatformConfig {
        function_name: "f".into(),
        region: "us-east-1".into(),
        probe_bin: bin,
        agent_bin: None,
        platform_vars: BTreeMap::new(),
        function_vars: BTreeMap::new(),
        memory_mb,
        timeout: Duration::from_secs(30),
        max_concurrency: 1,
        agent_start_delay: None,
        constraints,
        front: None,
    })
    .await
    .expect("platform");
    (p, dir)
}

struct Answer {
    function_error: Option<String>,
    body: serde_json::Value,
    tail: String,
}

async fn invoke(p: &LocalPlatform, event: serde_json::Value) -> Answer {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Full<Bytes>>();
    let req = hyper::Request::post(format!("{}/2015-03-31/functions/f/invocations", p.endpoint))
        .header("x-amz-log-type", "Tail")
        .body(http_body_util::Full::new(Bytes::from(event.to_string())))
        .expect("request");
    let resp = client.request(req).await.expect("invoke");
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let function_error = header("x-amz-function-error");
    use base64::Engine as _;
    let tail = header("x-amz-log-result")
        .and_then(|t| base64::engine::general_purpose::STANDARD.decode(t).ok())
        .map(|t| String::from_utf8_lossy(&t).into_owned())
        .unwrap_or_default();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    Answer {
        function_error,
        body: serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
        tail,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_environment_over_its_memory_gets_runtime_out_of_memory() {
    let _one = serial().await;
    let (p, _dir) = platform(128).await;
    let ok = invoke(&p, serde_json::json!({})).await;
    assert_eq!(ok.function_error, None, "{}", ok.tail);
    let usage = secbench_record::report_line::parse_usage_line(&ok.tail).expect("usage line");
    assert!(usage.constrained && usage.cpu_ns.is_some() && usage.init_cpu_ns.is_some());
    assert_eq!(usage.cpu_share_millis, Some(72));

    let oom = invoke(&p, serde_json::json!({"allocate_mb": 512})).await;
    assert_eq!(oom.function_error.as_deref(), Some("Unhandled"));
    assert_eq!(oom.body["errorType"], "Runtime.OutOfMemory", "{}", oom.body);
    let report = secbench_record::report_line::parse_tail(&oom.tail)
        .0
        .expect("REPORT");
    assert_eq!(report.status.as_deref(), Some("error"));
    assert_eq!(report.error_type.as_deref(), Some("Runtime.OutOfMemory"));
    assert_eq!(report.memory_size_mb, Some(128));
    p.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_environment_is_frozen_between_invocations() {
    let _one = serial().await;
    let (p, _dir) = platform(1769).await;
    // The function starts a thread that never stops burning CPU, then answers.
    let a = invoke(&p, serde_json::json!({"spin_thread": true})).await;
    assert_eq!(a.function_error, None, "{}", a.tail);
    let env = p.environments().pop().expect("one environment");
    // The freezer was asked before the answer went out; the kernel completes it on its own.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !env.is_frozen() {
        assert!(Instant::now() < deadline, "not frozen after answering");
        tokio::task::yield_now().await;
    }
    let before = env.cpu_usage().expect("constrained");
    std::thread::sleep(Duration::from_millis(200));
    let after = env.cpu_usage().expect("constrained");
    assert_eq!(before.cpu_ns, after.cpu_ns, "a frozen environment used CPU");
    // Thawed for the next event: the spinning thread runs during it.
    let b = invoke(&p, serde_json::json!({})).await;
    assert_eq!(b.function_error, None, "{}", b.tail);
    let usage = secbench_record::report_line::parse_usage_line(&b.tail).expect("usage line");
    assert!(usage.cpu_ns.unwrap_or(0) > 0);
    assert_eq!(usage.init_cpu_ns, None, "a warm invocation has no INIT");
    p.shutdown().await;
}
