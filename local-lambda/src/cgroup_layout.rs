//! Where the sandbox's cgroups go on this machine, decided once from `/proc/self/mountinfo` and
//! `/proc/self/cgroup` (pure functions over their text, so every layout is unit-tested against
//! files copied from real systems in `tests/fixtures/cgroup/`):
//!
//! - cgroup v1 with each controller mounted alone (`cpu`, `cpuacct`, `memory`, `freezer`);
//! - v1 with joined mounts (`cpu,cpuacct` or `cpuacct,cpu` in one hierarchy): one directory
//!   serves both controllers and is created once;
//! - hybrid: v1 controllers plus an empty v2 `unified` mount (v1 is used);
//! - pure v2 (as root, in a container whose namespace root is `/`, or as a user in a subtree
//!   systemd delegated): secbench's own cgroup, where the kernel's "no internal processes" rule
//!   (`Documentation/admin-guide/cgroup-v2.rst`) means every process of it moves into a leaf
//!   (`secbench-self`) before `cpu memory` are enabled in its `cgroup.subtree_control`; the
//!   freezer is every v2 cgroup's own `cgroup.freeze`.

use std::path::{Path, PathBuf};

/// The directories secbench's own cgroup has, per controller (v1) or once (v2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    /// cgroup v1: the directory of secbench's cgroup in each controller's hierarchy (the same
    /// directory twice when `cpu` and `cpuacct` share a mount).
    V1 {
        /// `cpu` (quota).
        cpu: PathBuf,
        /// `cpuacct` (CPU time used).
        cpuacct: PathBuf,
        /// `memory`.
        memory: PathBuf,
        /// `freezer`.
        freezer: PathBuf,
    },
    /// cgroup v2: secbench's own cgroup.
    V2 {
        /// Its directory.
        dir: PathBuf,
    },
}

/// The shape of the machine's cgroups, for the outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hierarchy {
    /// v1, each controller alone.
    V1Separate,
    /// v1 with `cpu` and `cpuacct` in one mount.
    V1Joined,
    /// v2 only.
    V2,
}

impl Hierarchy {
    /// As the outputs name it.
    pub fn describe(self) -> &'static str {
        match self {
            Hierarchy::V1Separate => "cgroup v1 (each controller mounted alone)",
            Hierarchy::V1Joined => "cgroup v1 (cpu and cpuacct joined in one mount)",
            Hierarchy::V2 => "cgroup v2",
        }
    }
}

/// What detection found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detected {
    /// The shape.
    pub hierarchy: Hierarchy,
    /// The directories.
    pub layout: Layout,
    /// A v2 mount exists beside the v1 controllers (hybrid), unused.
    pub unused_v2: bool,
}

/// Why no layout could be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Missing {
    /// A v1 controller is not mounted and there is no v2 hierarchy either.
    #[error("no cgroup {0} controller is mounted for this process, and no cgroup v2 hierarchy is")]
    Controller(&'static str),
    /// `/proc/self/cgroup` has no line for the v2 hierarchy.
    #[error("/proc/self/cgroup names no cgroup v2 path (\"0::/...\")")]
    NoV2Path,
}

/// One line of `/proc/self/mountinfo` that mounts a cgroup hierarchy.
#[derive(Debug, Clone)]
struct Mount {
    root: String,
    point: PathBuf,
    v2: bool,
    options: Vec<String>,
}

/// The cgroup mounts of a `mountinfo` text (proc(5): fields, " - ", fstype, source, options).
fn mounts(mountinfo: &str) -> Vec<Mount> {
    mountinfo
        .lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let left: Vec<&str> = left.split(' ').collect();
            let right: Vec<&str> = right.split(' ').collect();
            let fstype = *right.first()?;
            if fstype != "cgroup" && fstype != "cgroup2" {
                return None;
            }
            Some(Mount {
                root: unescape(left.get(3)?),
                point: PathBuf::from(unescape(left.get(4)?)),
                v2: fstype == "cgroup2",
                options: right.get(2)?.split(',').map(str::to_owned).collect(),
            })
        })
        .collect()
}

/// mountinfo escapes space, tab, newline and backslash as octal (`\040`).
fn unescape(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    let mut chars = field.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            let code: String = chars.clone().take(3).collect();
            if code.len() == 3 && code.chars().all(|d| ('0'..='7').contains(&d)) {
                if let Ok(v) = u8::from_str_radix(&code, 8) {
                    out.push(char::from(v));
                    for _ in 0..3 {
                        chars.next();
                    }
                    continue;
                }
            }
        }
        out.push(c);
    }
    out
}

/// The directory of `path` (a path in `/proc/self/cgroup`) under a mount of that hierarchy:
/// the mount's root is cut off the path (a container's bind mount of its own subtree).
fn under(mount: &Mount, path: &str) -> PathBuf {
    let rel = if mount.root != "/" {
        path.strip_prefix(mount.root.as_str()).unwrap_or(path)
    } else {
        path
    };
    mount.point.join(rel.trim_start_matches('/'))
}

/// Decides the layout from the two files' text.
pub fn detect(mountinfo: &str, proc_self_cgroup: &str) -> Result<Detected, Missing> {
    let mounts = mounts(mountinfo);
    // v1: "N:controller[,controller]:/path"; the mount with that controller among its options.
    let v1 = |controller: &str| -> Option<PathBuf> {
        proc_self_cgroup.lines().find_map(|line| {
            let mut parts = line.splitn(3, ':');
            let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
            controllers
                .split(',')
                .any(|c| c == controller)
                .then_some(())?;
            let mount = mounts
                .iter()
                .find(|m| !m.v2 && m.options.iter().any(|o| o == controller))?;
            Some(under(mount, path))
        })
    };
    let v2_mount = mounts.iter().find(|m| m.v2);
    match (v1("cpu"), v1("cpuacct"), v1("memory"), v1("freezer")) {
        (Some(cpu), Some(cpuacct), Some(memory), Some(freezer)) => {
            let hierarchy = if cpu == cpuacct {
                Hierarchy::V1Joined
            } else {
                Hierarchy::V1Separate
            };
            Ok(Detected {
                hierarchy,
                layout: Layout::V1 {
                    cpu,
                    cpuacct,
                    memory,
                    freezer,
                },
                unused_v2: v2_mount.is_some(),
            })
        }
        (cpu, cpuacct, memory, freezer) => {
            let Some(mount) = v2_mount else {
                let missing = [
                    ("cpu", cpu.is_none()),
                    ("cpuacct", cpuacct.is_none()),
                    ("memory", memory.is_none()),
                    ("freezer", freezer.is_none()),
                ]
                .into_iter()
                .find_map(|(name, gone)| gone.then_some(name))
                .unwrap_or("cpu");
                return Err(Missing::Controller(missing));
            };
            let path = proc_self_cgroup
                .lines()
                .find_map(|l| l.strip_prefix("0::"))
                .ok_or(Missing::NoV2Path)?;
            Ok(Detected {
                hierarchy: Hierarchy::V2,
                layout: Layout::V2 {
                    dir: under(mount, path),
                },
                unused_v2: false,
            })
        }
    }
}

/// The file operations the v2 set-up makes, so a fake tree can check their order.
pub trait CgroupFs {
    /// Reads a file.
    fn read(&self, path: &Path) -> std::io::Result<String>;
    /// Writes a file (one `write(2)`, as the kernel wants).
    fn write(&self, path: &Path, value: &str) -> std::io::Result<()>;
    /// Creates a directory (a cgroup).
    fn create_dir(&self, path: &Path) -> std::io::Result<()>;
}

/// The real files.
#[derive(Debug, Clone, Copy, Default)]
pub struct RealFs;

impl CgroupFs for RealFs {
    fn read(&self, path: &Path) -> std::io::Result<String> {
        std::fs::read_to_string(path)
    }
    fn write(&self, path: &Path, value: &str) -> std::io::Result<()> {
        use std::io::Write as _;
        std::fs::OpenOptions::new()
            .write(true)
            .open(path)?
            .write_all(value.as_bytes())
    }
    fn create_dir(&self, path: &Path) -> std::io::Result<()> {
        match std::fs::create_dir(path) {
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            r => r,
        }
    }
}

/// The leaf every process of secbench's own v2 cgroup moves into.
pub const SELF_LEAF: &str = "secbench-self";

/// What the v2 set-up did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V2Setup {
    /// Processes moved into [`SELF_LEAF`] (secbench and whatever shared its cgroup).
    pub moved: usize,
    /// Whether `cpu memory` had to be enabled (false: they already were).
    pub enabled: bool,
}

/// Why the v2 set-up failed, with what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum V2Error {
    /// The controllers are not offered to secbench's cgroup (not delegated).
    #[error("cgroup v2: {dir} is not offered the {controller} controller (its cgroup.controllers: \"{offered}\"); {remedy}")]
    NotDelegated {
        /// secbench's cgroup.
        dir: PathBuf,
        /// The controller missing.
        controller: &'static str,
        /// What it offers.
        offered: String,
        /// What would make it work.
        remedy: &'static str,
    },
    /// A file could not be written or read.
    #[error("cgroup v2: cannot {action} {path}: {source}; {remedy}")]
    Io {
        /// What was attempted.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
        /// What would make it work.
        remedy: &'static str,
    },
}

/// What makes a v2 machine work for a user without root.
pub const V2_REMEDY: &str = "run it as root (or root in a container), or in a systemd scope that delegates the controllers: `systemd-run --user --scope -p Delegate=yes cargo run --release -p secbench -- local` (if the user's systemd does not delegate cpu, add `Delegate=cpu cpuset io memory pids` to user@.service with `systemctl edit user@.service`)";

/// Prepares secbench's own v2 cgroup `dir` for children with controllers: checks that `cpu`
/// and `memory` are offered, moves every process of `dir` into `dir/secbench-self` (the
/// kernel refuses `subtree_control` on a cgroup with processes), then enables `+cpu +memory`
/// in `dir/cgroup.subtree_control`. Nothing is written until the check has passed.
pub fn prepare_v2(fs: &dyn CgroupFs, dir: &Path) -> Result<V2Setup, V2Error> {
    let io = |action: &'static str, path: &Path| {
        let path = path.to_owned();
        move |source| V2Error::Io {
            action,
            path,
            source,
            remedy: V2_REMEDY,
        }
    };
    let controllers_file = dir.join("cgroup.controllers");
    let offered = fs
        .read(&controllers_file)
        .map_err(io("read", &controllers_file))?;
    for controller in ["cpu", "memory"] {
        if !offered.split_whitespace().any(|c| c == controller) {
            return Err(V2Error::NotDelegated {
                dir: dir.to_owned(),
                controller,
                offered: offered.trim().to_owned(),
                remedy: V2_REMEDY,
            });
        }
    }
    let control = dir.join("cgroup.subtree_control");
    let enabled_now = fs.read(&control).map_err(io("read", &control))?;
    let has = |c: &str| enabled_now.split_whitespace().any(|e| e == c);
    if has("cpu") && has("memory") {
        return Ok(V2Setup {
            moved: 0,
            enabled: false,
        });
    }
    let leaf = dir.join(SELF_LEAF);
    fs.create_dir(&leaf).map_err(io("create", &leaf))?;
    let procs = dir.join("cgroup.procs");
    let leaf_procs = leaf.join("cgroup.procs");
    let mut moved = 0;
    // Processes can appear while they are moved (a child forked meanwhile): until none is left.
    for _ in 0..100 {
        let pids: Vec<String> = fs
            .read(&procs)
            .map_err(io("read", &procs))?
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect();
        if pids.is_empty() {
            break;
        }
        for pid in pids {
            match fs.write(&leaf_procs, &pid) {
                Ok(()) => moved += 1,
                // Gone meanwhile (ESRCH): nothing to move.
                Err(e) if e.raw_os_error() == Some(libc::ESRCH) => {}
                Err(e) => return Err(io("move a process into", &leaf_procs)(e)),
            }
        }
    }
    fs.write(&control, "+cpu +memory")
        .map_err(io("enable cpu and memory in", &control))?;
    Ok(V2Setup {
        moved,
        enabled: true,
    })
}

/// secbench's place relative to the user's systemd instance (`user@UID.service`), on cgroup v2
/// as a user: systemd delegates a subtree to the user's manager, and only cgroups it starts with
/// `Delegate=yes` (e.g. `systemd-run --user --scope -p Delegate=yes`) are the user's to divide.
/// A login session's scope (`session-N.scope`) is root's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserSystemd {
    /// secbench runs in a scope or service of the user's systemd: its own cgroup is in the
    /// delegated subtree (used as it is; whether `cpu` reached it is in its `cgroup.controllers`).
    Inside {
        /// `.../user@UID.service`.
        manager: PathBuf,
        /// The controllers systemd gave the user's manager (its `cgroup.controllers`).
        offered: String,
    },
    /// secbench runs outside it (a login session's scope, a cron job, an ssh command).
    Outside {
        /// `.../user@UID.service`.
        manager: PathBuf,
        /// The controllers systemd gave the user's manager (its `cgroup.controllers`).
        offered: String,
    },
    /// No `user@UID.service` cgroup: no systemd instance for this user.
    Absent,
}

/// The command that starts `secbench local` in a scope of the user's systemd with the
/// controllers delegated.
pub const DELEGATED_SCOPE: &str = "systemd-run --user --scope -p Delegate=yes";

impl UserSystemd {
    /// Finds the user's systemd instance from the v2 mount of `mountinfo` and secbench's own
    /// cgroup (`proc_self_cgroup`), and reads what it was delegated. `None` unless the sandbox
    /// would use cgroup v2 (a hybrid machine's empty v2 mount does not count).
    pub fn find(
        fs: &dyn CgroupFs,
        mountinfo: &str,
        proc_self_cgroup: &str,
        uid: u32,
    ) -> Option<UserSystemd> {
        let Layout::V2 { dir: own } = detect(mountinfo, proc_self_cgroup).ok()?.layout else {
            return None;
        };
        let mount = mounts(mountinfo).into_iter().find(|m| m.v2)?;
        let manager = under(
            &mount,
            &format!("/user.slice/user-{uid}.slice/user@{uid}.service"),
        );
        let Ok(offered) = fs.read(&manager.join("cgroup.controllers")) else {
            return Some(UserSystemd::Absent);
        };
        let offered = offered.trim().to_owned();
        Some(if own.starts_with(&manager) {
            UserSystemd::Inside { manager, offered }
        } else {
            UserSystemd::Outside { manager, offered }
        })
    }

    /// Whether the user's systemd was given `cpu` and `memory` to delegate further.
    pub fn delegates_cpu_and_memory(&self) -> bool {
        match self {
            UserSystemd::Inside { offered, .. } | UserSystemd::Outside { offered, .. } => {
                ["cpu", "memory"]
                    .iter()
                    .all(|c| offered.split_whitespace().any(|o| o == *c))
            }
            UserSystemd::Absent => false,
        }
    }

    /// What to do, said plainly: where the delegated subtree is and how to run in it, or that
    /// the user's systemd does not get `cpu` and what an administrator changes for it.
    pub fn advice(&self) -> String {
        let not_given = |manager: &Path, offered: &str| {
            format!(
                "your systemd instance ({}) is not delegated cpu and memory (it has \"{offered}\"), so no scope it starts can have them; an administrator adds them with `systemctl edit user@.service` ([Service] Delegate=cpu cpuset io memory pids), then you log in again; or run as root",
                manager.display()
            )
        };
        match self {
            UserSystemd::Inside { manager, offered } | UserSystemd::Outside { manager, offered }
                if !self.delegates_cpu_and_memory() =>
            {
                not_given(manager, offered)
            }
            UserSystemd::Inside { manager, .. } => format!(
                "secbench runs under your systemd instance ({}), which has cpu and memory: start it in a scope that delegates them to it: `{DELEGATED_SCOPE} cargo run --release -p secbench -- local`",
                manager.display()
            ),
            UserSystemd::Outside { manager, .. } => format!(
                "your systemd instance ({}) has cpu and memory to delegate, but secbench runs outside it (a login session's scope is root's): `secbench local` starts itself again in a scope of it (`{DELEGATED_SCOPE}`), or run that yourself",
                manager.display()
            ),
            UserSystemd::Absent => "no systemd instance runs for this user (no user@UID.service cgroup): run as root, or as root in a container".to_owned(),
        }
    }
}

/// The user's systemd instance as this process sees it; `None` as root or off cgroup v2.
pub fn this_users_systemd() -> Option<UserSystemd> {
    #[allow(unsafe_code)]
    // SAFETY: getuid(2) cannot fail and touches no memory.
    let uid = unsafe { libc::getuid() };
    if uid == 0 {
        return None;
    }
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let own = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    UserSystemd::find(&RealFs, &mountinfo, &own, uid)
}

/// What this machine supports and what the sandbox will write, without writing anything
/// (`secbench local --check-sandbox`): the layout found, the directories, the files written per
/// environment, and whether they can be written (and if not, why and what would help).
pub fn check_this_machine() -> String {
    let mut out = String::new();
    let read = |p: &str| std::fs::read_to_string(p);
    let (mountinfo, own) = match (read("/proc/self/mountinfo"), read("/proc/self/cgroup")) {
        (Ok(m), Ok(c)) => (m, c),
        _ => {
            return "no /proc/self/mountinfo or /proc/self/cgroup (not Linux?): environments run unconstrained\n".into()
        }
    };
    let detected = match detect(&mountinfo, &own) {
        Ok(d) => d,
        Err(e) => return format!("{e}: environments run unconstrained\n"),
    };
    out.push_str(&format!("layout: {}", detected.hierarchy.describe()));
    if detected.unused_v2 {
        out.push_str(" (a cgroup v2 mount exists beside them, unused)");
    }
    out.push('\n');
    let writable = |p: &Path| {
        let Ok(c) = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()) else {
            return false;
        };
        #[allow(unsafe_code)]
        // SAFETY: access(2) on a NUL-terminated path; nothing is written.
        let r = unsafe { libc::access(c.as_ptr(), libc::W_OK) };
        r == 0
    };
    let mut ok = true;
    match &detected.layout {
        Layout::V1 {
            cpu,
            cpuacct,
            memory,
            freezer,
        } => {
            for (controller, dir, files) in [
                ("cpu", cpu, "cpu.cfs_period_us, cpu.cfs_quota_us"),
                ("cpuacct", cpuacct, "(read: cpuacct.usage)"),
                (
                    "memory",
                    memory,
                    "memory.limit_in_bytes, memory.memsw.limit_in_bytes",
                ),
                ("freezer", freezer, "freezer.state"),
            ] {
                let w = writable(dir);
                ok &= w;
                out.push_str(&format!(
                    "  {controller:8} {}/ {files}, cgroup.procs: {}\n",
                    dir.join("secbench-env-<pid>-<id>").display(),
                    if w { "writable" } else { "NOT writable" }
                ));
            }
            if detected.hierarchy == Hierarchy::V1Joined {
                out.push_str("  cpu and cpuacct share one directory: it is created once\n");
            }
            if !ok {
                out.push_str(
                    "  run as root (or root in a container with the cgroup mounts writable)\n",
                );
            }
        }
        Layout::V2 { dir } => {
            let offered =
                std::fs::read_to_string(dir.join("cgroup.controllers")).unwrap_or_default();
            let subtree =
                std::fs::read_to_string(dir.join("cgroup.subtree_control")).unwrap_or_default();
            let procs = std::fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
            out.push_str(&format!(
                "  own cgroup {} offers \"{}\"; its subtree has \"{}\"; {} process(es) in it\n",
                dir.display(),
                offered.trim(),
                subtree.trim(),
                procs.lines().filter(|l| !l.trim().is_empty()).count()
            ));
            for c in ["cpu", "memory"] {
                if !offered.split_whitespace().any(|o| o == c) {
                    ok = false;
                    out.push_str(&format!("  the {c} controller is not delegated to it\n"));
                }
            }
            let w = writable(&dir.join("cgroup.subtree_control"))
                && writable(&dir.join("cgroup.procs"));
            ok &= w;
            out.push_str(&format!(
                "  at start: every process of it moves into {}, then \"+cpu +memory\" into its cgroup.subtree_control ({})\n",
                dir.join(SELF_LEAF).display(),
                if w { "writable" } else { "NOT writable" }
            ));
            out.push_str(&format!(
                "  per environment: {}/ cpu.max, memory.max, memory.swap.max, cgroup.freeze, cgroup.procs\n",
                dir.join("secbench-env-<pid>-<id>").display()
            ));
            if !ok {
                match this_users_systemd() {
                    Some(user) => out.push_str(&format!("  as a user: {}\n", user.advice())),
                    None => out.push_str(&format!("  {V2_REMEDY}\n")),
                }
            }
        }
    }
    out.push_str(if ok {
        "verdict: environments get the CPU share, memory limit and freezer\n"
    } else {
        "verdict: environments would run unconstrained (every output would say so)\n"
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::collections::BTreeMap;

    fn fixture(name: &str) -> String {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/cgroup")
            .join(name);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    fn detected(system: &str) -> Result<Detected, Missing> {
        detect(
            &fixture(&format!("{system}/mountinfo")),
            &fixture(&format!("{system}/cgroup")),
        )
    }

    #[test]
    fn v1_with_each_controller_alone_and_an_empty_unified_mount() {
        let d = detected("v1-hybrid-separate").expect("layout");
        assert_eq!(d.hierarchy, Hierarchy::V1Separate);
        assert!(d.unused_v2);
        assert_eq!(
            d.layout,
            Layout::V1 {
                cpu: "/sys/fs/cgroup/cpu".into(),
                cpuacct: "/sys/fs/cgroup/cpuacct".into(),
                memory: "/sys/fs/cgroup/memory/process_api/f2c477db4ec016258cc5496ddc141611".into(),
                freezer: "/sys/fs/cgroup/freezer".into(),
            }
        );
    }

    #[test]
    fn v1_with_cpu_and_cpuacct_joined_in_either_order() {
        for system in ["v1-joined-ubuntu20", "v1-joined-reversed"] {
            let d = detected(system).expect("layout");
            assert_eq!(d.hierarchy, Hierarchy::V1Joined, "{system}");
            let Layout::V1 {
                cpu,
                cpuacct,
                memory,
                ..
            } = d.layout
            else {
                panic!("{system}: not v1");
            };
            assert_eq!(cpu, cpuacct, "{system}");
            assert!(
                cpu.ends_with("user.slice/user-1000.slice/session-3.scope"),
                "{system}: {cpu:?}"
            );
            assert!(
                memory.starts_with("/sys/fs/cgroup/memory"),
                "{system}: {memory:?}"
            );
        }
    }

    #[test]
    fn pure_v2_as_root_in_a_container_and_as_a_delegated_user() {
        let root = detected("v2-root").expect("layout");
        assert_eq!(root.hierarchy, Hierarchy::V2);
        assert_eq!(
            root.layout,
            Layout::V2 {
                dir: "/sys/fs/cgroup/user.slice/user-0.slice/session-1.scope".into()
            }
        );
        let container = detected("v2-container").expect("layout");
        assert_eq!(
            container.layout,
            Layout::V2 {
                dir: "/sys/fs/cgroup".into()
            }
        );
        let user = detected("v2-user-delegated").expect("layout");
        assert_eq!(
            user.layout,
            Layout::V2 {
                dir: "/sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service/app.slice/run-r1b2c3.scope"
                    .into()
            }
        );
    }

    #[test]
    fn a_missing_controller_is_named() {
        let e = detect(
            "30 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n",
            "4:cpu,cpuacct:/\n",
        )
        .expect_err("no memory, no v2");
        assert_eq!(e, Missing::Controller("memory"));
    }

    #[test]
    fn mountinfo_octal_escapes_are_read() {
        assert_eq!(unescape(r"/a\040b"), "/a b");
        assert_eq!(unescape(r"/plain"), "/plain");
    }

    /// A cgroup v2 tree as the kernel keeps it: a process is in one cgroup, and a cgroup with
    /// processes refuses `subtree_control` (EBUSY). Every write is logged.
    struct FakeV2 {
        controllers: String,
        procs: RefCell<BTreeMap<PathBuf, Vec<String>>>,
        subtree: RefCell<BTreeMap<PathBuf, String>>,
        log: RefCell<Vec<String>>,
    }

    impl FakeV2 {
        fn new(dir: &Path, pids: &[&str], controllers: &str) -> FakeV2 {
            FakeV2 {
                controllers: controllers.into(),
                procs: RefCell::new(BTreeMap::from([(
                    dir.to_owned(),
                    pids.iter().map(|p| (*p).to_owned()).collect(),
                )])),
                subtree: RefCell::new(BTreeMap::new()),
                log: RefCell::new(Vec::new()),
            }
        }
    }

    impl CgroupFs for FakeV2 {
        fn read(&self, path: &Path) -> std::io::Result<String> {
            let dir = path.parent().expect("dir");
            match path.file_name().and_then(|n| n.to_str()) {
                Some("cgroup.controllers") => Ok(self.controllers.clone()),
                Some("cgroup.subtree_control") => {
                    Ok(self.subtree.borrow().get(dir).cloned().unwrap_or_default())
                }
                Some("cgroup.procs") => Ok(self
                    .procs
                    .borrow()
                    .get(dir)
                    .map(|p| p.join("\n"))
                    .unwrap_or_default()),
                _ => Err(std::io::ErrorKind::NotFound.into()),
            }
        }
        fn write(&self, path: &Path, value: &str) -> std::io::Result<()> {
            let dir = path.parent().expect("dir").to_owned();
            self.log
                .borrow_mut()
                .push(format!("{} <- {value}", path.display()));
            match path.file_name().and_then(|n| n.to_str()) {
                Some("cgroup.procs") => {
                    let mut procs = self.procs.borrow_mut();
                    for list in procs.values_mut() {
                        list.retain(|p| p != value);
                    }
                    procs.entry(dir).or_default().push(value.to_owned());
                    Ok(())
                }
                Some("cgroup.subtree_control") => {
                    if self.procs.borrow().get(&dir).is_some_and(|p| !p.is_empty()) {
                        return Err(std::io::Error::from_raw_os_error(libc::EBUSY));
                    }
                    self.subtree
                        .borrow_mut()
                        .insert(dir, value.replace('+', ""));
                    Ok(())
                }
                _ => Err(std::io::ErrorKind::NotFound.into()),
            }
        }
        fn create_dir(&self, path: &Path) -> std::io::Result<()> {
            self.log
                .borrow_mut()
                .push(format!("mkdir {}", path.display()));
            Ok(())
        }
    }

    /// The user's systemd instance's `cgroup.controllers`, and nothing else.
    struct Manager(Option<&'static str>);

    impl CgroupFs for Manager {
        fn read(&self, path: &Path) -> std::io::Result<String> {
            match self.0 {
                Some(c) if path
                    == Path::new("/sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service/cgroup.controllers") =>
                {
                    Ok(format!("{c}\n"))
                }
                _ => Err(std::io::ErrorKind::NotFound.into()),
            }
        }
        fn write(&self, path: &Path, _: &str) -> std::io::Result<()> {
            panic!("finding the user's systemd wrote {}", path.display())
        }
        fn create_dir(&self, path: &Path) -> std::io::Result<()> {
            panic!("finding the user's systemd made {}", path.display())
        }
    }

    fn user_systemd(system: &str, offered: Option<&'static str>) -> Option<UserSystemd> {
        UserSystemd::find(
            &Manager(offered),
            &fixture(&format!("{system}/mountinfo")),
            &fixture(&format!("{system}/cgroup")),
            1000,
        )
    }

    #[test]
    fn a_users_systemd_is_found_inside_or_beside_and_what_it_delegates_is_said() {
        let manager = PathBuf::from("/sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service");
        // In a `systemd-run --user --scope -p Delegate=yes` scope: the subtree secbench uses.
        let inside = user_systemd("v2-user-delegated", Some("cpu memory pids")).expect("v2");
        assert_eq!(
            inside,
            UserSystemd::Inside {
                manager: manager.clone(),
                offered: "cpu memory pids".into()
            }
        );
        assert!(inside.delegates_cpu_and_memory());
        // A terminal of a login session: the scope is root's; the user's systemd is beside it
        // and has cpu to delegate, so a scope of it works (and `secbench local` starts one).
        let beside = user_systemd("v2-user-session", Some("cpu memory pids")).expect("v2");
        assert_eq!(
            beside,
            UserSystemd::Outside {
                manager: manager.clone(),
                offered: "cpu memory pids".into()
            }
        );
        assert!(beside.delegates_cpu_and_memory());
        assert!(
            beside.advice().contains(DELEGATED_SCOPE),
            "{}",
            beside.advice()
        );
        // systemd's default before v252 and on many distributions: memory and pids only.
        let no_cpu = user_systemd("v2-user-session", Some("memory pids")).expect("v2");
        assert!(!no_cpu.delegates_cpu_and_memory());
        let advice = no_cpu.advice();
        assert!(advice.contains("not delegated cpu"), "{advice}");
        assert!(advice.contains("\"memory pids\""), "{advice}");
        assert!(advice.contains("systemctl edit user@.service"), "{advice}");
        let inside_no_cpu = user_systemd("v2-user-delegated", Some("memory pids")).expect("v2");
        assert!(inside_no_cpu.advice().contains("not delegated cpu"));
        // No user systemd at all (a container, a minimal server).
        assert_eq!(
            user_systemd("v2-user-session", None),
            Some(UserSystemd::Absent)
        );
        assert!(UserSystemd::Absent.advice().contains("root"));
        // Off cgroup v2 there is nothing to find.
        assert_eq!(user_systemd("v1-joined-ubuntu20", Some("cpu memory")), None);
    }

    #[test]
    fn v2_moves_every_process_into_the_leaf_before_enabling_controllers() {
        let dir = Path::new("/sys/fs/cgroup/app.slice/run-1.scope");
        // secbench, the cargo that started it and moto share the cgroup.
        let fs = FakeV2::new(dir, &["100", "101", "102"], "cpuset cpu io memory pids");
        let setup = prepare_v2(&fs, dir).expect("set up");
        assert_eq!(
            setup,
            V2Setup {
                moved: 3,
                enabled: true
            }
        );
        let log = fs.log.borrow();
        let leaf = dir.join(SELF_LEAF);
        assert_eq!(log[0], format!("mkdir {}", leaf.display()));
        let control = log
            .iter()
            .position(|l| l.contains("cgroup.subtree_control"))
            .expect("controllers enabled");
        assert_eq!(control, log.len() - 1, "{log:#?}");
        assert!(fs.procs.borrow().get(dir).is_none_or(Vec::is_empty));
        assert_eq!(fs.procs.borrow()[&leaf], ["100", "101", "102"]);
        // Done already: nothing moves again.
        let again = prepare_v2(&fs, dir).expect("again");
        assert_eq!(
            again,
            V2Setup {
                moved: 0,
                enabled: false
            }
        );
    }

    #[test]
    fn v2_without_delegated_cpu_says_so_and_writes_nothing() {
        let dir = Path::new(
            "/sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service/app.slice/x.scope",
        );
        let fs = FakeV2::new(dir, &["100"], "memory pids");
        let e = prepare_v2(&fs, dir).expect_err("no cpu");
        let text = e.to_string();
        assert!(text.contains("not offered the cpu controller"), "{text}");
        assert!(
            text.contains("systemd-run --user --scope -p Delegate=yes"),
            "{text}"
        );
        assert!(fs.log.borrow().is_empty());
    }
}
