//! SnapStart on the local platform: a function's `SnapStart` setting (`ApplyOn`
//! `PublishedVersions` on `UpdateFunctionConfiguration`), the snapshot `PublishVersion` makes of
//! such a version (INIT runs once, in an environment started with `AWS_LAMBDA_INITIALIZATION_TYPE
//! = snap-start`, which ends INIT at `/restore/next` and then serves restores), the version's
//! `State` (`Pending` until the snapshot is taken, as Lambda's "optimization") and its
//! `SnapStart.OptimizationStatus`, and the socket a cold start of the version restores from.
//!
//! What a restore is here: the runtime's start script hands the new environment's variables and
//! log stream to the snapshot's process, which forks its initialised interpreter
//! (`probes/python/local_snapstart.py`): the memory after INIT is every restore's, as in a
//! snapshot; Firecracker's restore is not emulated (its time is the fork's).

use crate::environment::{Environment, SnapStartRole};
use crate::peer::Restores;
use crate::platform::Platform;
use crate::pool::spawn_as;
use crate::runtime_api::InitState;
use crate::snapshot::Snapshot;
use secbench_record::sync::lock;
use secbench_record::InitializationType;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// After `PublishVersion` of a SnapStart configuration: takes the version's snapshot (INIT
/// once) in the background; the version is `Pending` until then.
pub(crate) fn published(p: &Arc<Platform>, version: u32) -> std::io::Result<()> {
    let dir = tempfile::Builder::new()
        .prefix("secbench-snap-")
        .tempdir()?;
    let socket = dir.path().join("restore.sock");
    let restores = Arc::new(Restores::default());
    lock(&p.snapshots).0.insert(
        version,
        Snapshot {
            socket: socket.clone(),
            restores: restores.clone(),
            _dir: dir,
            env: None,
            failure: None,
        },
    );
    let p = p.clone();
    tokio::spawn(async move {
        let outcome = take(&p, version, SnapStartRole::Snapshot { socket, restores }).await;
        let mut snapshots = lock(&p.snapshots);
        match (snapshots.0.get_mut(&version), outcome) {
            (Some(s), Ok(env)) => s.env = Some(env),
            (Some(s), Err(reason)) => s.failure = Some(reason),
            // Deleted meanwhile.
            (None, Ok(env)) => {
                drop(snapshots);
                tokio::spawn(async move { env.kill().await });
            }
            (None, Err(_)) => {}
        }
    });
    Ok(())
}

async fn take(
    p: &Arc<Platform>,
    version: u32,
    role: SnapStartRole,
) -> Result<Arc<Environment>, String> {
    let target = crate::versions::target(p, Some(&version.to_string()))
        .map_err(|_| "the version is gone".to_owned())?;
    // The snapshot is not one of the function's environments: it takes no concurrency.
    p.live.fetch_add(1, Ordering::SeqCst);
    let (_, init_cpus) = p.config.constraints.cpus_for(target.config.memory_mb);
    let env = spawn_as(
        p,
        &target,
        InitializationType::SnapStart,
        init_cpus,
        Some(role),
    )
    .await?;
    p.live.fetch_sub(1, Ordering::SeqCst);
    match env.wait_ready().await {
        InitState::Ready(_) => Ok(env),
        other => {
            env.kill().await;
            Err(format!("INIT of the snapshot did not finish: {other:?}"))
        }
    }
}

/// A deleted version's snapshot goes (its process, and so what it could restore).
pub(crate) async fn forget(p: &Platform, version: u32) {
    let gone = lock(&p.snapshots).0.remove(&version);
    if let Some(Snapshot { env: Some(env), .. }) = gone {
        env.kill().await;
    }
}
