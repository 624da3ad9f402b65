//! The plan's tests: the shipped plans and the fixtures load, each invalid fixture names its
//! problem, the sweeps expand, rotations resolve inside the warm phase, and the resolved plan
//! survives the manifest's JSON.

use super::*;
#[allow(unused_imports)]
use crate::{
    CacheMode, ConcurrencyMode, FetchAt, InitCpu, MultiMode, Prewarm, ProbeBuild, Runtime,
    ScenarioKind, Source,
};
use std::path::Path;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/plans")
        .join(name)
}

#[test]
fn valid_fixtures_load() {
    for name in ["issue-example.toml", "minimal.toml"] {
        let plan = Plan::load(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!plan.scenarios.is_empty(), "{name}");
    }
    let plan = Plan::load(&fixture("issue-example.toml")).expect("valid");
    let s = &plan.scenarios[0];
    assert_eq!(
        (s.cold_starts, s.warm_invocations, s.concurrency),
        (50, 1000, 10)
    );
    assert_eq!(s.arrival, Arrival::Open { per_second: 50.0 });
    assert_eq!(s.cache_ttl, Some(Duration::from_secs(300)));
    assert_eq!(plan.file.function.as_deref(), Some("secbench-probe-dev"));
}

#[test]
fn the_shipped_plans_load() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/plans");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("scripts/plans") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "toml") {
            Plan::load(&path).unwrap_or_else(|e| panic!("{e}"));
            seen += 1;
        }
    }
    assert!(seen > 0);
}

#[test]
fn invalid_fixtures_name_the_problem() {
    let cases = [
        ("unknown-field.toml", "colds_starts"),
        ("wrong-type.toml", "concurrency"),
        ("bad-rate.toml", "rate"),
        ("ttl-without-cache.toml", "cache_ttl"),
        ("library-with-ssm.toml", "Secrets Manager only"),
        ("agent-at-init.toml", "INVOKE phase"),
        ("missing-ttl.toml", "cache_ttl"),
        ("duplicate-name.toml", "two scenarios"),
        ("no-scenarios.toml", "no [[scenario]]"),
        ("huge-count.toml", "warm_invocations"),
        ("bad-source.toml", "source"),
        ("zero-concurrency.toml", "concurrency"),
    ];
    for (name, expected) in cases {
        let err = Plan::load(&fixture(name)).expect_err(name).to_string();
        assert!(err.contains(expected), "{name}: {err}");
        assert!(
            err.contains(name),
            "{name}: the error does not name the file: {err}"
        );
    }
}

/// Every "value or sweep" field answers a wrong value with the file, the line, the field, what
/// it got and what it accepts (not serde's "did not match any variant of untagged enum").
#[test]
fn a_wrong_value_or_sweep_names_the_field_what_it_got_and_what_it_accepts() {
    let cases = [
        (
            "unknown-runtime.toml",
            "scenario[0].runtime",
            "`java21` is not one of rust, nodejs22.x, nodejs24.x, python3.13, python3.14 (or a list of them)",
            "line 6",
        ),
        (
            "runtime-sweep-unknown.toml",
            "scenario[0].runtime",
            "`java21` is not one of rust, nodejs22.x, nodejs24.x, python3.13, python3.14 (or a list of them)",
            "line 6",
        ),
        (
            "memory-not-a-number.toml",
            "scenario[0].memory_mb",
            "`big` is not a whole number (or a list of them)",
            "line 6",
        ),
        (
            "secrets-sweep-not-a-number.toml",
            "scenario[0].secrets",
            "`three` is not a whole number (or a list of them)",
            "line 6",
        ),
    ];
    for (name, field, says, line) in cases {
        let err = Plan::load(&fixture(name)).expect_err(name).to_string();
        for part in [name, field, says, line] {
            assert!(err.contains(part), "{name}: {part:?} missing from: {err}");
        }
        assert!(!err.contains("untagged"), "{name}: {err}");
    }
    // Right values still read, alone and as sweeps.
    let ok = Plan::parse(
        Path::new("ok.toml"),
        "stage = \"local\"\n[[scenario]]\nname = \"a\"\nsource = \"ssm\"\nruntime = [\"rust\", \"python3.13\"]\nmemory_mb = 512\nsecrets = [1, 3]\nmulti = \"batch\"\n",
    )
    .expect("valid");
    assert_eq!(ok.scenarios.len(), 4);
}

#[test]
fn a_memory_sweep_expands_each_scenario_per_size() {
    let plan = Plan::load(&fixture("memory-sweep.toml")).expect("valid");
    let names: Vec<(&str, u32)> = plan
        .scenarios
        .iter()
        .map(|s| (s.name.as_str(), s.memory_mb))
        .collect();
    assert_eq!(
        names,
        [
            ("ssm-none-128mb", 128),
            ("ssm-none-1769mb", 1769),
            ("kms-one-size", 512)
        ]
    );
    assert_eq!(plan.scenarios[0].swept_from.as_deref(), Some("ssm-none"));
    assert_eq!(plan.scenarios[2].swept_from, None);
    assert_eq!(
        plan.network,
        Network {
            tls: true,
            rtt: Duration::from_millis(1),
            connection_setup: Duration::from_millis(2),
            idle_timeout: Some(DEFAULT_IDLE_TIMEOUT),
        }
    );
    assert_eq!(plan.local.cpu_period, Duration::from_millis(20));
    let err = Plan::parse(
        Path::new("sweep.toml"),
        "[[scenario]]\nname = \"a\"\nsource = \"ssm\"\nmemory_mb = [128, 64]\n",
    )
    .expect_err("64 MB")
    .to_string();
    assert!(err.contains("memory_mb") && err.contains("64"), "{err}");
}

#[test]
fn rotations_resolve_inside_the_warm_phase() {
    let plan = Plan::load(&fixture("rotation.toml")).expect("valid");
    let by_name = |n: &str| plan.scenarios.iter().find(|s| s.name == n).expect(n);
    let ms = |v: &[u64]| {
        v.iter()
            .map(|m| Duration::from_millis(*m))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        by_name("ssm-ttl")
            .rotation
            .as_ref()
            .map(|r| r.offsets.clone()),
        Some(ms(&[2000]))
    );
    // 1000 invocations at 200/s: a 5 s warm phase holds rotations at 1, 2.5 and 4 s.
    assert_eq!(
        by_name("secrets-manager")
            .rotation
            .as_ref()
            .map(|r| r.offsets.clone()),
        Some(ms(&[1000, 2500, 4000]))
    );
    assert_eq!(by_name("agent").agent_ttl, Some(Duration::from_secs(5)));
    assert_eq!(
        by_name("agent").effective_ttl(),
        Some(Duration::from_secs(5))
    );
    assert_eq!(
        by_name("ssm-ttl").effective_ttl(),
        Some(Duration::from_secs(5))
    );
    let bad = |body: &str| {
        Plan::parse(Path::new("rot.toml"), body)
            .expect_err(body)
            .to_string()
    };
    let head = "[defaults]\nwarm_invocations = 1000\nrate = \"200/s\"\n[[scenario]]\nname = \"a\"\nsource = \"ssm\"\n";
    let e = bad(&format!("{head}[scenario.rotation]\nat = \"6s\"\n"));
    assert!(
        e.contains("rotation.at") && e.contains("not inside the warm phase"),
        "{e}"
    );
    let e = bad(&format!("{head}[scenario.rotation]\n"));
    assert!(e.contains("rotation.at"), "{e}");
    let e =
        bad("[[scenario]]\nname = \"a\"\nsource = \"ssm\"\n[scenario.rotation]\nevery = \"1s\"\n");
    assert!(
        e.contains("rotation.every") && e.contains("open-loop"),
        "{e}"
    );
    let e = bad(&format!("{head}agent_ttl = \"5s\"\n"));
    assert!(e.contains("agent_ttl") && e.contains("no agent"), "{e}");
    let e = bad(
        "[[scenario]]\nname = \"a\"\nsource = \"agent-secrets-manager\"\nagent_ttl = \"10m\"\n",
    );
    assert!(e.contains("agent_ttl") && e.contains("300s"), "{e}");
}

#[test]
fn a_secrets_sweep_expands_per_count_and_checks_each_mode() {
    let plan = Plan::parse(
        Path::new("multi.toml"),
        "[[scenario]]\nname = \"sm\"\nsource = \"secrets-manager\"\nmulti = \"batch\"\nsecrets = [1, 3]\nmemory_mb = [128, 1769]\n[[scenario]]\nname = \"ssm\"\nsource = \"ssm\"\nsecrets = 3\n",
    )
    .expect("valid");
    let names: Vec<(&str, u32, Option<MultiMode>)> = plan
        .scenarios
        .iter()
        .map(|s| (s.name.as_str(), s.secrets, s.multi))
        .collect();
    assert_eq!(
        names,
        [
            ("sm-n1-128mb", 1, Some(MultiMode::Batch)),
            ("sm-n1-1769mb", 1, Some(MultiMode::Batch)),
            ("sm-n3-128mb", 3, Some(MultiMode::Batch)),
            ("sm-n3-1769mb", 3, Some(MultiMode::Batch)),
            ("ssm", 3, Some(MultiMode::Sequential)),
        ]
    );
    let bad = |body: &str| {
        Plan::parse(Path::new("multi.toml"), body)
            .expect_err(body)
            .to_string()
    };
    let e = bad("[[scenario]]\nname = \"a\"\nsource = \"kms-env\"\nsecrets = 3\n");
    assert!(e.contains("secrets") && e.contains("kms-env"), "{e}");
    let e = bad("[[scenario]]\nname = \"a\"\nsource = \"agent-secrets-manager\"\nmulti = \"batch\"\nsecrets = 3\n");
    assert!(e.contains("one secret per request"), "{e}");
    let e = bad("[[scenario]]\nname = \"a\"\nsource = \"ssm\"\nsecrets = 21\n");
    assert!(e.contains("1 to 20"), "{e}");
}

#[test]
fn rates_parse() {
    assert_eq!(parse_rate("50/s"), Ok(50.0));
    assert_eq!(parse_rate("600/m"), Ok(10.0));
    assert!(parse_rate("50").is_err());
    assert!(parse_rate("-1/s").is_err());
    assert!(parse_rate("5/d").is_err());
}

#[test]
fn the_resolved_plan_survives_the_manifest_s_json() {
    for name in [
        "rotation.toml",
        "faults.toml",
        "memory-sweep.toml",
        "stage-dev-many.toml",
    ] {
        let plan = Plan::load(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let resolved = plan.resolved();
        let json = serde_json::to_value(&resolved).expect("serializes");
        let back: ResolvedPlan = serde_json::from_value(json).expect("reads back");
        assert_eq!(back, resolved, "{name}");
    }
}

#[test]
fn without_tls_a_new_connection_costs_one_round_trip() {
    let plan = Plan::parse(
        Path::new("net.toml"),
        "[network]\ntls = false\nrtt = \"1ms\"\n[[scenario]]\nname = \"a\"\nsource = \"ssm\"\n",
    )
    .expect("valid");
    assert_eq!(plan.network.connection_setup, Duration::from_millis(1));
}

#[test]
fn a_period_whose_quota_the_kernel_would_raise_is_refused_with_the_smallest_that_works() {
    let plan = |period: &str| {
        Plan::parse(
            Path::new("period.toml"),
            &format!(
                "[local]\ncpu_period = \"{period}\"\n[[scenario]]\nname = \"a\"\nsource = \"ssm\"\nmemory_mb = [128, 1769]\n"
            ),
        )
    };
    // 128 MB at 10 ms: 724 µs of quota, which the kernel raises to 1 ms (0.100 of a CPU).
    let err = plan("10ms").expect_err("below the floor").to_string();
    assert!(err.contains("local.cpu_period"), "{err}");
    assert!(err.contains("at least 13.821ms"), "{err}");
    assert!(err.contains("0.100 of a CPU instead of 0.072"), "{err}");
    plan("14ms").expect("13.821 ms and more work");
    // Unconstrained, the period writes nothing.
    Plan::parse(
        Path::new("period.toml"),
        "[local]\nconstrain = false\ncpu_period = \"10ms\"\n[[scenario]]\nname = \"a\"\nsource = \"ssm\"\nmemory_mb = 128\n",
    )
    .expect("no quota written");
}

#[test]
fn a_ttl_cache_in_front_of_the_agent_is_bounded_by_both_ttls() {
    let plan = Plan::parse(
        Path::new("agent-ttl.toml"),
        "[[scenario]]\nname = \"a\"\nsource = \"agent-secrets-manager\"\ncache = \"ttl\"\ncache_ttl = \"60s\"\nagent_ttl = \"30s\"\n[[scenario]]\nname = \"b\"\nsource = \"agent-secrets-manager\"\ncache = \"ttl\"\ncache_ttl = \"60s\"\n",
    )
    .expect("agent with a TTL cache is allowed");
    assert_eq!(
        plan.scenarios[0].effective_ttl(),
        Some(Duration::from_secs(90))
    );
    // The agent's default TTL is its longest, 300 s.
    assert_eq!(
        plan.scenarios[1].effective_ttl(),
        Some(Duration::from_secs(360))
    );
}

/// A scenario under faults that a memory sweep and a secrets sweep expand is a faulted scenario
/// under each name it ran as (issue 23.2: the names as written, `x`, matched none of
/// `x-n1-128mb`, ..., so its latencies joined the cost model's and the memory table), also when
/// read back from a manifest's JSON.
#[test]
fn a_swept_scenario_under_faults_is_faulted_under_every_name_it_ran_as() {
    let plan = Plan::parse(
        Path::new("swept-faults.toml"),
        "[[scenario]]\nname = \"x\"\nsource = \"ssm\"\nsecrets = [1, 3]\nmemory_mb = [128, 1769]\n\
         [scenario.faults]\nservices = [\"ssm\"]\nthrottle_above_tps = 40\n\
         [[scenario]]\nname = \"clean\"\nsource = \"ssm\"\nmemory_mb = [128, 1769]\n",
    )
    .expect("valid");
    let resolved: ResolvedPlan =
        serde_json::from_value(serde_json::to_value(plan.resolved()).expect("serializes"))
            .expect("reads back");
    let faulted: Vec<&str> = resolved.fault_scenarios().collect();
    assert_eq!(
        faulted,
        ["x-n1-128mb", "x-n1-1769mb", "x-n3-128mb", "x-n3-1769mb"]
    );
}

#[test]
fn ignore_transient_errors_defaults_to_the_agent_s_where_something_is_cached() {
    let plan = Plan::parse(
        Path::new("stale.toml"),
        "[[scenario]]\nname = \"ttl\"\nsource = \"ssm\"\ncache = \"ttl\"\ncache_ttl = \"5s\"\n\
         [[scenario]]\nname = \"ttl-closed\"\nsource = \"ssm\"\ncache = \"ttl\"\ncache_ttl = \"5s\"\nignore_transient_errors = false\n\
         [[scenario]]\nname = \"ttl-bounded\"\nsource = \"ssm\"\ncache = \"ttl\"\ncache_ttl = \"5s\"\nmax_stale = \"10m\"\n\
         [[scenario]]\nname = \"library\"\nsource = \"secrets-manager\"\ncache = \"aws-caching-library\"\ncache_ttl = \"5s\"\nignore_transient_errors = false\n\
         [[scenario]]\nname = \"agent\"\nsource = \"agent-secrets-manager\"\n\
         [[scenario]]\nname = \"none\"\nsource = \"ssm\"\n",
    )
    .expect("valid");
    let got: Vec<(&str, Option<bool>, Option<Duration>)> = plan
        .scenarios
        .iter()
        .map(|s| (s.name.as_str(), s.ignore_transient_errors, s.max_stale))
        .collect();
    let hour = Some(crate::plan::DEFAULT_MAX_STALE);
    assert_eq!(
        got,
        [
            ("ttl", Some(true), hour),
            ("ttl-closed", Some(false), None),
            ("ttl-bounded", Some(true), Some(Duration::from_secs(600))),
            ("library", Some(false), None),
            ("agent", Some(true), None),
            ("none", None, None),
        ]
    );
    let bad = |body: &str| {
        Plan::parse(Path::new("stale.toml"), body)
            .expect_err(body)
            .to_string()
    };
    let e = bad("[[scenario]]\nname = \"a\"\nsource = \"ssm\"\nignore_transient_errors = true\n");
    assert!(
        e.contains("ignore_transient_errors") && e.contains("keeps no value to serve"),
        "{e}"
    );
    let e = bad("[[scenario]]\nname = \"a\"\nsource = \"secrets-manager\"\ncache = \"aws-caching-library\"\ncache_ttl = \"5s\"\nruntime = \"python3.13\"\nignore_transient_errors = false\n");
    assert!(
        e.contains("ignore_transient_errors") && e.contains("no switch"),
        "{e}"
    );
    let e = bad("[[scenario]]\nname = \"a\"\nsource = \"secrets-manager\"\ncache = \"aws-caching-library\"\ncache_ttl = \"5s\"\nmax_stale = \"1m\"\n");
    assert!(e.contains("max_stale") && e.contains("cache = ttl"), "{e}");
    let e = bad("[[scenario]]\nname = \"a\"\nsource = \"ssm\"\ncache = \"ttl\"\ncache_ttl = \"5s\"\nmax_stale = \"0s\"\n");
    assert!(
        e.contains("max_stale") && e.contains("more than zero"),
        "{e}"
    );
}

#[test]
fn single_flight_is_the_rust_and_node_ttl_cache_s_setting() {
    for runtime in ["rust", "nodejs24.x"] {
        let plan = Plan::parse(
            Path::new("sf.toml"),
            &format!("[[scenario]]\nname = \"a\"\nsource = \"ssm\"\ncache = \"ttl\"\ncache_ttl = \"5s\"\nruntime = \"{runtime}\"\nsingle_flight = true\n"),
        )
        .expect("valid");
        assert_eq!(plan.scenarios[0].single_flight, Some(true));
    }
    for body in [
        "[[scenario]]\nname = \"a\"\nsource = \"ssm\"\nsingle_flight = true\n",
        "[[scenario]]\nname = \"a\"\nsource = \"ssm\"\ncache = \"ttl\"\ncache_ttl = \"5s\"\nruntime = \"python3.13\"\nsingle_flight = true\n",
    ] {
        let e = Plan::parse(Path::new("sf.toml"), body)
            .expect_err(body)
            .to_string();
        assert!(
            e.contains("single_flight") && e.contains("Rust and Node.js probes"),
            "{e}"
        );
    }
}

#[test]
fn managed_instances_scenarios_are_checked_against_what_lambda_allows() {
    let base = "stage = \"local\"\n[[scenario]]\nname = \"lmi\"\nsource = \"ssm\"\ncold_starts = 0\nwarm_invocations = 10\nmemory_mb = 2048\n";
    let ok = Plan::parse(
        Path::new("lmi.toml"),
        &format!("{base}execution = \"managed-instances\"\nmax_concurrency = 8\n"),
    )
    .expect("valid");
    let s = &ok.scenarios[0];
    assert_eq!(s.concurrency_mode, crate::ConcurrencyMode::ManagedInstances);
    for runtime in ["nodejs22.x", "python3.13"] {
        Plan::parse(
            Path::new("lmi.toml"),
            &format!("{base}execution = \"managed-instances\"\nmax_concurrency = 8\nruntime = \"{runtime}\"\n"),
        )
        .expect(runtime);
    }
    assert_eq!(
        s.managed_instances,
        Some(crate::lambda::ManagedInstances {
            max_concurrency: 8,
            memory_gib_per_vcpu: 2.0
        })
    );
    assert_eq!(s.managed_environments(), Some(1));
    let cases = [
        ("execution = \"managed-instances\"\n", "max_concurrency", "is required"),
        (
            "execution = \"managed-instances\"\nmax_concurrency = 2000\n",
            "max_concurrency",
            "between 1 and 1600",
        ),
        (
            "execution = \"managed-instances\"\nmax_concurrency = 8\nmemory_gib_per_vcpu = 3\n",
            "memory_mb",
            "whole number of vCPUs",
        ),
        (
            "execution = \"managed-instances\"\nmax_concurrency = 8\ncold_starts = 2\n",
            "cold_starts",
            "no cold starts",
        ),
        (
            "execution = \"managed-instances\"\nmax_concurrency = 8\nconcurrency_mode = \"provisioned\"\n",
            "concurrency_mode",
            "provisioned concurrency does not apply",
        ),
        ("max_concurrency = 8\n", "max_concurrency", "add execution"),
        (
            "concurrency_mode = \"managed-instances\"\n",
            "concurrency_mode",
            "write execution",
        ),
    ];
    for (extra, field, says) in cases {
        // A later key of the same table replaces the base's (cold_starts) in TOML only once:
        // build the scenario with the case's lines first.
        let text = base.replace(
            "cold_starts = 0\n",
            if extra.contains("cold_starts") {
                ""
            } else {
                "cold_starts = 0\n"
            },
        ) + extra;
        let err = Plan::parse(Path::new("lmi.toml"), &text)
            .expect_err(extra)
            .to_string();
        assert!(
            err.contains(field) && err.contains(says),
            "{extra:?}: {err}"
        );
    }
    let small = base.replace("memory_mb = 2048", "memory_mb = 1024");
    let err = Plan::parse(
        Path::new("lmi.toml"),
        &format!("{small}execution = \"managed-instances\"\nmax_concurrency = 8\n"),
    )
    .expect_err("1 GB")
    .to_string();
    assert!(err.contains("at least 2048 MB"), "{err}");
}

#[test]
fn snapstart_scenarios_are_python_on_published_versions() {
    let base = "[[scenario]]\nname = \"snap\"\nsource = \"ssm\"\n";
    for fetch_at in ["init", "restore", "handler"] {
        let plan = Plan::parse(
            Path::new("snap.toml"),
            &format!(
                "{base}runtime = \"python3.13\"\nsnapstart = true\nfetch_at = \"{fetch_at}\"\n"
            ),
        )
        .expect(fetch_at);
        assert_eq!(
            plan.scenarios[0].concurrency_mode,
            crate::ConcurrencyMode::SnapStart
        );
    }
    let cases = [
        ("snapstart = true\n", "runtime", "Python 3.12 and later"),
        (
            "runtime = \"nodejs24.x\"\nsnapstart = true\n",
            "runtime",
            "not Node.js",
        ),
        (
            "runtime = \"python3.13\"\nfetch_at = \"restore\"\n",
            "fetch_at",
            "add snapstart = true",
        ),
        (
            "runtime = \"python3.13\"\nsnapstart = true\nconcurrency_mode = \"provisioned\"\n",
            "concurrency_mode",
            "provisioned concurrency",
        ),
        (
            "runtime = \"python3.13\"\nsnapstart = true\nfetch_at = \"restore\"\ncache = \"ttl\"\n",
            "cache",
            "kept for the environment's life",
        ),
        (
            "runtime = \"python3.13\"\nconcurrency_mode = \"snapstart\"\n",
            "concurrency_mode",
            "write snapstart = true",
        ),
    ];
    for (body, field, why) in cases {
        let e = Plan::parse(Path::new("snap.toml"), &format!("{base}{body}"))
            .expect_err(body)
            .to_string();
        assert!(e.contains(field) && e.contains(why), "{body}: {e}");
    }
}
