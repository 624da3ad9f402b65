//! `secbench local` stopped by SIGTERM in the middle of a run (as a CI job's timeout or
//! `systemctl stop` would): the run is a valid `partial` run, and nothing it started is left
//! behind (no process, no cgroup, so no frozen task). Alone in its own test binary: nothing else
//! starts processes or cgroups beside it.

use secbench_local_lambda::cgroup_layout::{self, Layout};
use secbench_record::run::RunStatus;
use secbench_record::run_dir;
use secbench_test_support::root;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const PLAN: &str = include_str!("fixtures/plans/sigterm-plan.toml");

/// Every process's parent, from /proc.
fn parents() -> BTreeMap<i32, i32> {
    std::fs::read_dir("/proc")
        .expect("/proc")
        .flatten()
        .filter_map(|e| {
            let pid: i32 = e.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
            // "pid (comm) state ppid ...": comm may hold spaces; the fields follow the last ')'.
            let ppid = stat
                .rsplit_once(')')?
                .1
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            Some((pid, ppid))
        })
        .collect()
}

/// `pid` and every process below it.
fn descendants(pid: i32) -> BTreeSet<i32> {
    let parents = parents();
    let mut out = BTreeSet::from([pid]);
    loop {
        let more: Vec<i32> = parents
            .iter()
            .filter(|(p, pp)| out.contains(pp) && !out.contains(p))
            .map(|(p, _)| *p)
            .collect();
        if more.is_empty() {
            return out;
        }
        out.extend(more);
    }
}

fn running(pid: i32) -> bool {
    // A zombie has no cmdline left: it ran and was not reaped yet; count it as gone only once
    // /proc no longer has it.
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// The directories secbench makes environments' cgroups in (this test's own cgroup, which the
/// child inherits).
fn cgroup_parents() -> Vec<PathBuf> {
    let detected = cgroup_layout::detect(
        &std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo"),
        &std::fs::read_to_string("/proc/self/cgroup").expect("cgroup"),
    )
    .expect("a cgroup layout (the sandbox tests need one)");
    match detected.layout {
        Layout::V1 {
            cpu,
            cpuacct,
            memory,
            freezer,
        } => vec![cpu, cpuacct, memory, freezer],
        Layout::V2 { dir } => vec![dir],
    }
}

fn groups_of(pid: u32) -> Vec<PathBuf> {
    let prefix = format!("secbench-env-{pid}-");
    cgroup_parents()
        .into_iter()
        .flat_map(|p| std::fs::read_dir(p).into_iter().flatten().flatten())
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .map(|e| e.path())
        .collect()
}

#[test]
fn sigterm_mid_run_leaves_a_partial_run_and_nothing_running() {
    let out = tempfile::tempdir().expect("tempdir");
    let plan = out.path().join("plan.toml");
    std::fs::write(&plan, PLAN).expect("plan");
    let log = std::fs::File::create(out.path().join("secbench.log")).expect("log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_secbench"))
        .args(["local", "--plan"])
        .arg(&plan)
        .arg("--out-dir")
        .arg(out.path())
        .current_dir(root())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("secbench local starts");
    let pid = child.id();

    // Wait until its warm phase runs: environments exist (frozen between invocations) and
    // records are being written.
    let deadline = Instant::now() + Duration::from_secs(600);
    let run_dir = loop {
        let found = std::fs::read_dir(out.path().join("local"))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .find(|p| {
                std::fs::read_to_string(p.join(run_dir::RECORDS_FILE))
                    .is_ok_and(|r| r.lines().count() > 40)
            });
        if let Some(d) = found {
            if !groups_of(pid).is_empty() {
                break d;
            }
        }
        assert!(
            child.try_wait().expect("wait").is_none(),
            "secbench local ended before the test could stop it: {}",
            std::fs::read_to_string(out.path().join("secbench.log")).unwrap_or_default()
        );
        assert!(Instant::now() < deadline, "no warm phase within 10 minutes");
        std::thread::sleep(Duration::from_millis(100));
    };
    let started = descendants(pid as i32);
    assert!(
        started.len() >= 3,
        "secbench, moto and environments: {started:?}"
    );

    #[allow(unsafe_code)]
    // SAFETY: kill(2) on the child this test started.
    let sent = unsafe { libc::kill(pid as i32, libc::SIGTERM) };
    assert_eq!(sent, 0);
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        assert!(
            Instant::now() < deadline + Duration::from_secs(120),
            "secbench local did not end after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let log = std::fs::read_to_string(out.path().join("secbench.log")).unwrap_or_default();
    assert!(log.contains("SIGTERM"), "{log}");

    // A valid partial run: its manifest says so, and every record line reads.
    let manifest = run_dir::read_manifest(&run_dir).expect("the manifest reads");
    assert_eq!(
        manifest.status,
        RunStatus::Partial,
        "exit {status:?}: {log}"
    );
    let records = std::fs::read_to_string(run_dir.join(run_dir::RECORDS_FILE)).expect("records");
    for (i, line) in records.lines().enumerate() {
        serde_json::from_str::<secbench_record::run::InvocationRecord>(line)
            .unwrap_or_else(|e| panic!("record line {}: {e}", i + 1));
    }

    // Nothing left: no process it started (moto, the probes, the agent), no cgroup of its
    // environments (so no frozen task either).
    let left: Vec<i32> = started.into_iter().filter(|p| running(*p)).collect();
    assert!(left.is_empty(), "still running after SIGTERM: {left:?}");
    let groups = groups_of(pid);
    assert!(groups.is_empty(), "cgroups left: {groups:?}");
}
