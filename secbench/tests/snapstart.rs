//! SnapStart on the local stage, with the real Python probe under awslambdaric: a function
//! configured with `SnapStart: ApplyOn PublishedVersions` through the Lambda API, a published
//! version whose INIT runs once (the snapshot), cold starts that restore it (the initialised
//! interpreter forked: its memory is every restore's), a rotation that restored environments do
//! not see when the value was fetched at INIT and do see when it is fetched after the restore,
//! connections that do not survive a restore, and randomness that does; calls counted by moto's
//! recorder, not by the probe.

mod common;

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{Environment, SnapStart, SnapStartApplyOn, State};
use common::*;
use secbench_local_lambda::LocalPlatform;
use secbench_record::{FetchPhase, InitializationType, Outcome, ProbeRecord};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// Configures SnapStart with `vars`, publishes, and waits until the snapshot is taken
/// (`State` `Active`); returns the version.
async fn publish_snapstart(
    client: &aws_sdk_lambda::Client,
    vars: BTreeMap<String, String>,
) -> String {
    client
        .update_function_configuration()
        .function_name(secbench::local_stage::FUNCTION)
        .environment(
            Environment::builder()
                .set_variables(Some(vars.into_iter().collect()))
                .build(),
        )
        .snap_start(
            SnapStart::builder()
                .apply_on(SnapStartApplyOn::PublishedVersions)
                .build(),
        )
        .send()
        .await
        .expect("UpdateFunctionConfiguration");
    let published = client
        .publish_version()
        .function_name(secbench::local_stage::FUNCTION)
        .send()
        .await
        .expect("PublishVersion");
    assert_eq!(published.state, Some(State::Pending));
    let version = published.version.expect("a version");
    for _ in 0..1200 {
        let c = client
            .get_function_configuration()
            .function_name(secbench::local_stage::FUNCTION)
            .qualifier(&version)
            .send()
            .await
            .expect("GetFunctionConfiguration");
        match c.state {
            Some(State::Active) => {
                let s = c.snap_start.expect("SnapStart");
                assert_eq!(
                    s.optimization_status,
                    Some(aws_sdk_lambda::types::SnapStartOptimizationStatus::On)
                );
                return version;
            }
            Some(State::Failed) => panic!("the snapshot failed: {:?}", c.state_reason),
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    panic!("version {version} did not become Active");
}

async fn invoke(client: &aws_sdk_lambda::Client, version: &str) -> ProbeRecord {
    let out = client
        .invoke()
        .function_name(secbench::local_stage::FUNCTION)
        .qualifier(version)
        .payload(Blob::new(
            r#"{"run_id":"snap","scenario":"snap","fetches":1}"#,
        ))
        .send()
        .await
        .expect("Invoke");
    assert_eq!(out.function_error, None, "{:?}", out.payload);
    serde_json::from_slice(out.payload.expect("payload").as_ref()).expect("a probe record")
}

/// `n` invocations at once: with no environment idle, each is a restore.
async fn burst(client: &aws_sdk_lambda::Client, version: &str, n: usize) -> Vec<ProbeRecord> {
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..n {
        let (client, version) = (client.clone(), version.to_owned());
        set.spawn(async move { invoke(&client, &version).await });
    }
    set.join_all().await
}

async fn python_platform(b: &Backend) -> LocalPlatform {
    let mut config = platform_config(b, 16, Duration::from_secs(60));
    config.probe_bin =
        secbench::local_stage::runtime_probe(&root(), secbench_record::Runtime::Python313)
            .expect("the Python probe's start script (scripts/install-probes.sh)");
    LocalPlatform::start(config).await.expect("platform")
}

/// Rotates the parameter to a value of its own; returns the new value's digest (hex).
async fn rotate(b: &Backend) -> String {
    let sdk = secbench::local_stage::emulator_sdk(&b.moto.endpoint).await;
    let value = format!("{}-rotated", b.canary);
    aws_sdk_ssm::Client::new(&sdk)
        .put_parameter()
        .name(&b.provisioned.parameter_name)
        .value(&value)
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .key_id(&b.provisioned.key_id)
        .overwrite(true)
        .send()
        .await
        .expect("PutParameter");
    secbench_test_support::sha256_hex(&value)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_runs_once_per_version_and_restores_serve_its_memory() {
    let b = backend().await;
    let p = python_platform(&b).await;
    let client = client(&p).await;
    let mut vars = function_vars(&b);
    vars.insert("SECBENCH_SOURCE".into(), "ssm".into());
    vars.insert("SECBENCH_FETCH_AT".into(), "init".into());
    let old = b.provisioned.digest.to_string();
    let rotated = secbench_test_support::sha256_hex(&format!("{}-rotated", b.canary));
    vars.insert(
        "SECBENCH_EXPECTED_SHA256".into(),
        format!("{old},{rotated}"),
    );

    // @init: INIT's one fetch, in the snapshot; three restores make none.
    let recorder = MotoRecorder::started(&b.moto.endpoint);
    let at_init = publish_snapstart(&client, vars.clone()).await;
    let first = burst(&client, &at_init, 3).await;
    assert_eq!(
        get_parameter_calls(&recorder),
        1,
        "INIT once, for the snapshot"
    );
    let envs: BTreeSet<_> = first.iter().map(|r| r.environment_id.clone()).collect();
    assert_eq!(
        envs.len(),
        3,
        "three restored environments, each its own id"
    );
    for r in &first {
        assert!(r.cold);
        assert_eq!(r.initialization_type, Some(InitializationType::SnapStart));
        assert_eq!(
            r.fetches.len(),
            1,
            "INIT's fetch is the snapshot's, not the restore's"
        );
        assert_eq!(r.fetches[0].phase, FetchPhase::Handler);
        assert_eq!(r.fetches[0].outcome, Outcome::Hit);
        assert_eq!(r.fetches[0].version_index, Some(0));
    }
    // Randomness: what INIT drew, and what Python's generator draws after the restore, is the
    // same in every restore (the generator's state is in the snapshot); the kernel's is not.
    let snap: Vec<_> = first
        .iter()
        .map(|r| r.snapstart.clone().expect("snapstart"))
        .collect();
    let distinct = |f: fn(&secbench_record::SnapStartRestore) -> &String| {
        snap.iter().map(f).collect::<BTreeSet<_>>().len()
    };
    assert_eq!(distinct(|s| &s.init_random), 1);
    assert_eq!(distinct(|s| &s.init_urandom), 1);
    assert_eq!(
        distinct(|s| &s.restore_random),
        1,
        "random's state is restored, not reseeded"
    );
    assert_eq!(
        distinct(|s| &s.restore_urandom),
        3,
        "os.urandom differs in every restore"
    );

    // A rotation: environments restored after it still serve INIT's value. The restored
    // environments go first (the snapshot, which has answered nothing, stays), so the next
    // three are restores.
    assert_eq!(rotate(&b).await, rotated);
    for env in p.environments() {
        if env.alive() && env.answered() > 0 {
            env.kill().await;
        }
    }
    let after = burst(&client, &at_init, 3).await;
    for r in &after {
        assert!(r.cold && r.snapstart.is_some(), "a restore");
        assert_eq!(
            r.fetches[0].version_index,
            Some(0),
            "the value frozen at INIT"
        );
    }
    assert_eq!(get_parameter_calls(&recorder), 1);

    // @restore: no fetch at INIT; one per restore, of the value in force, on a new connection.
    vars.insert("SECBENCH_FETCH_AT".into(), "restore".into());
    let recorder = MotoRecorder::started(&b.moto.endpoint);
    let at_restore = publish_snapstart(&client, vars).await;
    assert_eq!(get_parameter_calls(&recorder), 0, "nothing fetched at INIT");
    let records = burst(&client, &at_restore, 3).await;
    assert_eq!(get_parameter_calls(&recorder), 3, "one fetch per restore");
    for r in &records {
        assert!(r.cold);
        assert_eq!(r.fetches[0].phase, FetchPhase::Restore);
        assert_eq!(r.fetches[0].version_index, Some(1), "the rotated value");
        assert_eq!(r.fetches[1].outcome, Outcome::Hit);
        assert_eq!(r.snapstart.as_ref().and_then(|s| s.reconnected), Some(true));
    }

    let logs = tempfile::tempdir().expect("tempdir");
    p.write_logs(&logs.path().join("environments.log"))
        .expect("logs");
    assert_no_canary_in(logs.path(), &b.canary);
    p.shutdown().await;
}

/// The whole local stage with SnapStart scenarios beside their on-demand twin: `secbench run`
/// publishes a version per cold round, waits for its snapshot, invokes it through its alias and
/// deletes what it published; the report names the SnapStart rows; no canary anywhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_runs_snapstart_scenarios_and_the_report_names_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plan = dir.path().join("plan.toml");
    std::fs::write(
        &plan,
        r#"stage = "local"

[defaults]
memory_mb = 512
cold_starts = 3
concurrency = 3
warm_invocations = 9

[[scenario]]
name = "ssm-init"
source = "ssm"
runtime = "python3.13"
fetch_at = "init"

[[scenario]]
name = "snap-init"
source = "ssm"
runtime = "python3.13"
fetch_at = "init"
snapstart = true

[[scenario]]
name = "snap-restore"
source = "ssm"
runtime = "python3.13"
fetch_at = "restore"
snapstart = true
"#,
    )
    .expect("plan");
    let out = dir.path().join("runs");
    let value = canary();
    let summary = run_local(&plan, &out, &value, None).await.expect("run");
    let run = summary.dir.clone();
    let records = records(&run);
    assert_eq!(records.len(), 36, "{summary:?}");
    let failed: Vec<_> = records
        .iter()
        .filter(|r| r.outcome != secbench_record::run::InvocationOutcome::Ok)
        .map(|r| {
            (
                r.scenario.clone(),
                r.phase,
                r.error_type.clone(),
                r.status_code,
            )
        })
        .collect();
    assert!(failed.is_empty(), "{failed:?}");
    // Every probe record (the restores' `snapstart`, the `restore` phase) validates against the
    // one schema.
    let schema: serde_json::Value =
        serde_json::from_str(secbench_record::PROBE_RECORD_SCHEMA).expect("schema");
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let text =
        std::fs::read_to_string(run.join(secbench_record::run_dir::RECORDS_FILE)).expect("records");
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("json");
        let errors: Vec<String> = validator
            .iter_errors(&v["probe"])
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{errors:#?}");
    }
    let restored: Vec<_> = records
        .iter()
        .filter_map(|r| r.probe.as_ref())
        .filter(|p| p.snapstart.is_some())
        .collect();
    assert_eq!(restored.len(), 6, "3 restores in each SnapStart scenario");
    let reports: Vec<_> = records
        .iter()
        .filter(|r| r.probe.as_ref().is_some_and(|p| p.snapstart.is_some()))
        .filter_map(|r| r.platform.as_ref())
        .collect();
    assert!(
        reports
            .iter()
            .all(|r| r.restore_duration_ms.is_some() && r.init_duration_ms.is_none()),
        "{reports:?}"
    );
    // A restore's connections are counted on its snapshot's listener, not reported as its own;
    // an on-demand cold start's are.
    for r in &records {
        let restored = r.probe.as_ref().is_some_and(|p| p.snapstart.is_some());
        let requests = r.environment_usage.as_ref().and_then(|u| u.requests);
        if restored {
            assert_eq!(requests, None, "{:?}", r.environment_usage);
        } else if r.scenario == "ssm-init" && r.phase == secbench_record::run::Phase::Cold {
            assert!(requests.is_some(), "{:?}", r.environment_usage);
        }
    }
    let files = write_report(&run);
    let md = std::fs::read_to_string(&files.markdown).expect("report.md");
    assert!(md.contains("ssm@init+snapstart [python3.13]"), "{md}");
    assert!(md.contains("ssm@restore+snapstart [python3.13]"), "{md}");
    // The decision sets SnapStart's first row beside the runtime's first on demand.
    assert!(
        md.contains(
            "With SnapStart (python3.13 at 512 MB), ssm@init+snapstart [python3.13] comes first:"
        ) && md.contains("than ssm@init [python3.13] on demand, a cold start adding"),
        "{md}"
    );
    // What restores share, in a table of its own: INIT's draws and random's state after the
    // restore are the same in the three restores of each scenario, os.urandom's are not.
    let shares = md
        .split("## SnapStart: what restores share")
        .nth(1)
        .unwrap_or_else(|| panic!("no SnapStart table in {md}"));
    let row = shares
        .lines()
        .find(|l| l.contains("ssm@restore+snapstart [python3.13]") && l.contains("| cold |"))
        .unwrap_or_else(|| panic!("no @restore row in {shares}"));
    assert!(
        row.contains("| 3 | same in every restore | same in every restore | same in every restore | 3 distinct of 3 | 3 of 3 |"),
        "{row}"
    );
    // What the fork-based emulation is and is not, in the report.
    assert!(
        md.contains("SnapStart (snap-init, snap-restore): a version's INIT runs once")
            && md.contains("not emulated: Firecracker's restore"),
        "{md}"
    );
    assert_no_canary_in(&run, &value);
    assert_no_canary_in(files.html.parent().expect("report dir"), &value);
}

/// The AWS path with the calls Lambda offers for SnapStart (moto runs no code: the local
/// platform's Lambda API, which follows AWS's documented shapes, stands in): `secbench run`
/// turns SnapStart on with the scenario's configuration, publishes a version, waits for
/// `Active`, points the alias `secbench-snapstart` at it and invokes the alias (so the
/// version is what executed), reads `Restore Duration` from the log tail, and afterwards
/// deletes the alias and then the version (AWS deletes no version an alias names).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_aws_path_publishes_invokes_the_alias_and_deletes_what_it_made() {
    let b = backend().await;
    let p = python_platform(&b).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let plan = plan(
        dir.path(),
        &format!(
            r#"
[[scenario]]
name = "snap"
source = "ssm"
fetch_at = "restore"
runtime = "python3.13"
snapstart = true
function = "{}"
cold_starts = 2
concurrency = 2
warm_invocations = 4
memory_mb = 512
"#,
            secbench::local_stage::FUNCTION
        ),
    );
    let mut target = target();
    target.local_emulator = false;
    let summary = run_as(&p, &plan, &target, &dir.path().join("runs")).await;
    let run = summary.dir.clone();
    let client = client(&p).await;
    let records = records(&run);
    assert_eq!(records.len(), 6, "{summary:?}");
    let version = records[0].executed_version.clone().expect("a version");
    assert_ne!(version, "$LATEST");
    assert!(records
        .iter()
        .all(|r| r.executed_version.as_deref() == Some(&version)));
    let restores: Vec<_> = records
        .iter()
        .filter(|r| r.probe.as_ref().is_some_and(|p| p.snapstart.is_some()))
        .collect();
    assert_eq!(restores.len(), 2);
    assert!(restores.iter().all(|r| r
        .platform
        .as_ref()
        .and_then(|p| p.restore_duration_ms)
        .is_some()));
    // SnapStart is on for the function's published versions...
    let c = client
        .get_function_configuration()
        .function_name(secbench::local_stage::FUNCTION)
        .send()
        .await
        .expect("configuration");
    assert_eq!(
        c.snap_start.and_then(|s| s.apply_on),
        Some(SnapStartApplyOn::PublishedVersions)
    );
    // ...and the alias and the version are gone (their snapshot with them).
    use aws_smithy_types::error::metadata::ProvideErrorMetadata as _;
    let alias = client
        .get_alias()
        .function_name(secbench::local_stage::FUNCTION)
        .name(secbench::run::snapstart::ALIAS)
        .send()
        .await
        .expect_err("the alias was deleted");
    assert_eq!(
        alias.as_service_error().and_then(|e| e.code()),
        Some("ResourceNotFoundException")
    );
    let gone = client
        .get_function_configuration()
        .function_name(secbench::local_stage::FUNCTION)
        .qualifier(&version)
        .send()
        .await
        .expect_err("the version was deleted");
    assert_eq!(
        gone.as_service_error().and_then(|e| e.code()),
        Some("ResourceNotFoundException")
    );
    assert_no_canary_in(&run, &b.canary);
    p.shutdown().await;
}
