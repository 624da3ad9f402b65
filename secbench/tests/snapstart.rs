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
    let (version, state, reason) = publish_and_settle(client, vars).await;
    assert_eq!(state, State::Active, "the snapshot: {reason:?}");
    version
}

/// Configures SnapStart with `vars`, publishes, and waits until the version leaves `Pending`;
/// returns the version, its state and the state's reason.
async fn publish_and_settle(
    client: &aws_sdk_lambda::Client,
    vars: BTreeMap<String, String>,
) -> (String, State, Option<String>) {
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
                assert_eq!(s.apply_on, Some(SnapStartApplyOn::PublishedVersions));
                assert_eq!(
                    s.optimization_status,
                    Some(aws_sdk_lambda::types::SnapStartOptimizationStatus::On)
                );
                return (version, State::Active, None);
            }
            Some(State::Pending) | None => tokio::time::sleep(Duration::from_millis(50)).await,
            Some(other) => return (version, other, c.state_reason),
        }
    }
    panic!("version {version} did not leave Pending");
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
    assert_probe_records_schema_valid(&run);
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
    // The front's counters: a restore's SDK clients were built at the snapshot's INIT with the
    // snapshot's endpoint, and their connections are counted as the restored environment's
    // (its cgroup holds the client socket). @restore: the after-restore fetch opens one new
    // connection (one TLS handshake, one request) and the handler's is a hit; @init: the value
    // is in memory, nothing reaches the network.
    for r in records
        .iter()
        .filter(|r| r.phase == secbench_record::run::Phase::Cold)
    {
        let u = r.environment_usage.as_ref().expect("usage");
        assert!(
            u.constrained,
            "the local stage constrains every environment here"
        );
        let counted = (u.tls_handshakes, u.requests);
        match r.scenario.as_str() {
            "snap-restore" => assert_eq!(counted, (Some(1), Some(1)), "{u:?}"),
            "snap-init" => assert_eq!(counted, (Some(0), Some(0)), "{u:?}"),
            _ => assert_eq!(counted, (Some(1), Some(1)), "on demand: INIT's fetch {u:?}"),
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

/// A function of the test's own with SnapStart hooks, run by the Python probe's interpreter and
/// the local stage's snapshot and restore (`probes/python/local_snapstart.py`): each hook leaves
/// a file named for the process it ran in; `HOOKS_FAIL` names the hook that raises.
const HOOKS_FIXTURE: &str = r#"
import os
from snapshot_restore_py import register_before_snapshot, register_after_restore

DIR = os.environ["HOOKS_DIR"]
state = {"init_pid": os.getpid(), "before_pid": None}


def _mark(name):
    open(os.path.join(DIR, f"{name}-{os.getpid()}"), "w").close()


@register_before_snapshot
def before():
    _mark("before")
    state["before_pid"] = os.getpid()
    if os.environ.get("HOOKS_FAIL") == "before":
        raise RuntimeError("before-snapshot hook failed on purpose")


@register_after_restore
def after():
    _mark("after")
    if os.environ.get("HOOKS_FAIL") == "after":
        raise RuntimeError("after-restore hook failed on purpose")


def handler(event, context):
    return {"pid": os.getpid(), **state}
"#;

/// A start script for [`HOOKS_FIXTURE`], as the probe's `bootstrap` starts the probe.
fn hooks_function(dir: &std::path::Path) -> std::path::PathBuf {
    let probe = root().join("probes/python");
    std::fs::write(dir.join("hooks_fixture.py"), HOOKS_FIXTURE).expect("fixture");
    let bootstrap = dir.join("bootstrap");
    std::fs::write(
        &bootstrap,
        format!(
            r#"#!/bin/sh
here='{here}'; probe='{probe}'
export LAMBDA_TASK_ROOT="$here" _HANDLER=hooks_fixture.handler PYTHONPATH="$here:$probe"
cd "$here" || exit 1
if [ -n "$SECBENCH_LOCAL_RESTORE_FROM" ]; then
  exec "$probe/.venv/bin/python" -I "$probe/local_snapstart.py" restore
elif [ -n "$SECBENCH_LOCAL_SNAPSHOT_SOCKET" ]; then
  exec "$probe/.venv/bin/python" "$probe/local_snapstart.py" snapshot hooks_fixture.handler
fi
exec "$probe/.venv/bin/python" -m awslambdaric hooks_fixture.handler
"#,
            here = dir.display(),
            probe = probe.display()
        ),
    )
    .expect("bootstrap");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&bootstrap, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    bootstrap
}

/// The files the hooks left, by hook: the pids they ran in.
fn hook_pids(dir: &std::path::Path, hook: &str) -> BTreeSet<u32> {
    std::fs::read_dir(dir)
        .expect("hooks dir")
        .flatten()
        .filter_map(|e| {
            e.file_name()
                .to_str()?
                .strip_prefix(&format!("{hook}-"))?
                .parse()
                .ok()
        })
        .collect()
}

/// The hooks run where Lambda runs them: the before-snapshot hooks once, in the snapshot, at
/// publish (INIT's report is the snapshot's); the after-restore hooks once in each restore, in
/// the restored process, whose memory is the snapshot's (what the before-snapshot hook wrote).
/// A hook that raises fails what Lambda says it fails: before the snapshot, the version
/// (`State` `Failed`, Invoke `SnapStartException`); after a restore, that restore (the runtime
/// posts `/restore/error`; Invoke answers `SnapStartException`, and the next invocation is
/// another restore, which fails the same way).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hooks_run_where_lambda_runs_them_and_a_failing_hook_fails_the_restore() {
    let b = backend().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, hooks) = (dir.path().join("code"), dir.path().join("hooks"));
    std::fs::create_dir_all(&code).expect("code dir");
    let mut config = platform_config(&b, 16, Duration::from_secs(60));
    config.probe_bin = hooks_function(&code);
    let p = LocalPlatform::start(config).await.expect("platform");
    let client = client(&p).await;
    let vars_with = |fail: Option<&str>, hooks: &std::path::Path| {
        let d = hooks.join(fail.unwrap_or("none"));
        std::fs::create_dir_all(&d).expect("hooks dir");
        let mut v = BTreeMap::from([("HOOKS_DIR".to_owned(), d.display().to_string())]);
        v.extend(fail.map(|f| ("HOOKS_FAIL".to_owned(), f.to_owned())));
        (v, d)
    };

    // Before-snapshot: once, at publish, before any restore.
    let (vars, marks) = vars_with(None, &hooks);
    let version = publish_snapstart(&client, vars).await;
    let snapshot = hook_pids(&marks, "before");
    assert_eq!(snapshot.len(), 1, "the before-snapshot hook ran once");
    assert!(hook_pids(&marks, "after").is_empty(), "no restore yet");
    let snapshot_pid = *snapshot.first().expect("the snapshot's pid");

    // After-restore: once per restore, in the restored process, which has the snapshot's memory.
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..2 {
        let (client, version) = (client.clone(), version.clone());
        set.spawn(async move {
            let out = client
                .invoke()
                .function_name(secbench::local_stage::FUNCTION)
                .qualifier(version)
                .payload(Blob::new("{}"))
                .send()
                .await
                .expect("Invoke");
            assert_eq!(out.function_error, None, "{:?}", out.payload);
            serde_json::from_slice::<serde_json::Value>(out.payload.expect("payload").as_ref())
                .expect("json")
        });
    }
    let answers = set.join_all().await;
    let restored: BTreeSet<u32> = answers
        .iter()
        .map(|a| a["pid"].as_u64().expect("pid") as u32)
        .collect();
    assert_eq!(restored.len(), 2, "two restores: {answers:?}");
    assert!(!restored.contains(&snapshot_pid));
    assert_eq!(
        hook_pids(&marks, "after"),
        restored,
        "each restore ran its hook"
    );
    assert_eq!(
        hook_pids(&marks, "before"),
        snapshot,
        "and no before-snapshot hook"
    );
    for a in &answers {
        assert_eq!(
            a["before_pid"].as_u64(),
            Some(u64::from(snapshot_pid)),
            "{a}"
        );
        assert_eq!(a["init_pid"].as_u64(), Some(u64::from(snapshot_pid)), "{a}");
    }

    // An after-restore hook that raises: SnapStartException, each time (another restore).
    let (vars, marks) = vars_with(Some("after"), &hooks);
    let failing = publish_snapstart(&client, vars).await;
    for attempt in 1..=2 {
        let e = client
            .invoke()
            .function_name(secbench::local_stage::FUNCTION)
            .qualifier(&failing)
            .payload(Blob::new("{}"))
            .send()
            .await
            .expect_err("the restore fails");
        let e = e.into_service_error();
        assert!(e.is_snap_start_exception(), "{e:?}");
        assert_eq!(
            hook_pids(&marks, "after").len(),
            attempt,
            "a restore each time"
        );
    }
    let logs = dir.path().join("environments.log");
    p.write_logs(&logs).expect("logs");
    let text = std::fs::read_to_string(&logs).expect("logs");
    assert!(
        text.contains("after-restore hook failed on purpose"),
        "the hook's error is in the restored environment's log"
    );

    // A before-snapshot hook that raises: the version fails, and so does its Invoke.
    let (vars, marks) = vars_with(Some("before"), &hooks);
    let (broken, state, reason) = publish_and_settle(&client, vars).await;
    assert_eq!(state, State::Failed, "{reason:?}");
    assert_eq!(hook_pids(&marks, "before").len(), 1);
    let e = client
        .invoke()
        .function_name(secbench::local_stage::FUNCTION)
        .qualifier(&broken)
        .payload(Blob::new("{}"))
        .send()
        .await
        .expect_err("no snapshot")
        .into_service_error();
    assert!(e.is_snap_start_exception(), "{e:?}");
    assert!(hook_pids(&marks, "after").is_empty());
    p.shutdown().await;
}
