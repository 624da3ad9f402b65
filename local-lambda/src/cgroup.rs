//! CPU and memory per execution environment, as Lambda allocates them: each environment (the
//! probe and, with the extension, its agent) runs in a cgroup of its own, created under the
//! cgroup secbench itself runs in (read from `/proc/self/cgroup`, never elsewhere) and removed
//! when the environment ends. The CPU quota is `memory_mb / 1769` of one CPU per period
//! (capped at the host's CPUs); the memory limit is `memory_mb` MiB. The cgroup's own counters
//! give the CPU time used and the time throttled by the quota, and its freezer freezes the
//! environment between invocations.
//!
//! cgroup v1 (`cpu.cfs_quota_us`, `memory.limit_in_bytes`, `freezer.state`, `cpuacct.usage`)
//! and v2 (`cpu.max`, `memory.max`, `cgroup.freeze`, `cpu.stat`) are both supported; where
//! v1 controllers are mounted (hybrid hosts) v1 is used. v2 is written to the kernel's
//! documented interface but not exercised on this project's machines, which mount v1.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Lambda gives one vCPU's worth of CPU time at 1,769 MB (defined once, with its source, in
/// `secbench_record::lambda`).
pub use secbench_record::lambda::MB_PER_VCPU;

/// The default quota period (the plan's `[local] cpu_period`; its source is given there).
pub use secbench_record::plan::DEFAULT_CPU_PERIOD;

/// What went wrong with the cgroups.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    /// `/proc/self/cgroup` or `/proc/self/mountinfo` could not be read.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The machine's cgroup layout has no place for the sandbox.
    #[error(transparent)]
    Layout(crate::cgroup_layout::Missing),
    /// cgroup v2 could not be prepared (with what would make it work, and for a user where the
    /// user's systemd instance stands).
    #[error("{cause}{}", user.as_ref().map(|u| format!("; as a user: {}", u.advice())).unwrap_or_default())]
    V2 {
        /// What failed.
        cause: crate::cgroup_layout::V2Error,
        /// The user's systemd instance (`None` as root).
        user: Option<Box<crate::cgroup_layout::UserSystemd>>,
    },
    /// A cgroup file could not be written (not root, read-only mount, ...).
    #[error("cannot write {path}")]
    Write {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

fn read(path: &Path) -> Result<String, CgroupError> {
    std::fs::read_to_string(path).map_err(|source| CgroupError::Read {
        path: path.to_owned(),
        source,
    })
}

fn write(path: &Path, value: &str) -> Result<(), CgroupError> {
    let w = || -> std::io::Result<()> {
        let mut f = OpenOptions::new().write(true).open(path)?;
        f.write_all(value.as_bytes())
    };
    w().map_err(|source| CgroupError::Write {
        path: path.to_owned(),
        source,
    })
}

/// An environment's share.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// The function's memory size.
    pub memory_mb: u32,
    /// The quota period.
    pub cpu_period: Duration,
}

impl Limits {
    /// The share of one CPU: `memory_mb / 1769`, capped at the host's CPUs.
    pub fn cpus(&self) -> f64 {
        let host = std::thread::available_parallelism().map_or(1, |n| n.get());
        secbench_record::lambda::cpu_share(self.memory_mb).min(host as f64)
    }

    /// CPU time allowed per period.
    pub fn cpu_quota(&self) -> Duration {
        self.cpu_period.mul_f64(self.cpus())
    }

    /// The memory limit in bytes (Lambda's MB are MiB).
    pub fn memory_bytes(&self) -> u64 {
        u64::from(self.memory_mb) * 1024 * 1024
    }
}

/// The CPU a cgroup is allowed, as written to the kernel: `quota_us` of CPU time per
/// `period_us`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuAllowance {
    /// The period, µs.
    pub period_us: u64,
    /// The quota per period, µs.
    pub quota_us: u64,
}

impl CpuAllowance {
    /// The kernel's smallest quota per period (`cpu.cfs_quota_us`, `cpu.max`): 1 ms, as the
    /// plan's check has it.
    pub const MIN_QUOTA_US: u64 = secbench_record::plan::resolve::MIN_QUOTA_US as u64;

    /// `cpus` of a CPU per `period`, as the kernel takes it (a quota below its minimum is
    /// raised to it: [`CpuAllowance::share_millis`] says what was written).
    pub fn of(cpus: f64, period: Duration) -> CpuAllowance {
        let period_us = u64::try_from(period.as_micros())
            .unwrap_or(u64::MAX)
            .max(1000);
        let quota_us = ((period_us as f64) * cpus).round() as u64;
        CpuAllowance {
            period_us,
            quota_us: quota_us.max(Self::MIN_QUOTA_US),
        }
    }

    /// The share of one CPU written, in thousandths.
    pub fn share_millis(&self) -> u32 {
        ((self.quota_us as f64 / self.period_us as f64) * 1000.0).round() as u32
    }
}

/// The counters of one environment's cgroup.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// CPU time used by its processes, ns (v1 `cpuacct.usage`; v2 `cpu.stat` `usage_usec`).
    pub cpu_ns: u64,
    /// Time its processes were held back by the quota, ns (`throttled_time` / `throttled_usec`).
    pub throttled_ns: u64,
    /// Periods in which it was throttled (`nr_throttled`).
    pub throttled_periods: u64,
    /// Enforcement periods that have elapsed while it had work (`nr_periods`).
    pub periods: u64,
}

impl Usage {
    /// What was used between `earlier` and `self`.
    pub fn since(&self, earlier: &Usage) -> Usage {
        Usage {
            cpu_ns: self.cpu_ns.saturating_sub(earlier.cpu_ns),
            throttled_ns: self.throttled_ns.saturating_sub(earlier.throttled_ns),
            throttled_periods: self
                .throttled_periods
                .saturating_sub(earlier.throttled_periods),
            periods: self.periods.saturating_sub(earlier.periods),
        }
    }
}

use crate::cgroup_layout::{self, Hierarchy, Layout};

/// Where environments' cgroups are made: under secbench's own cgroup.
#[derive(Debug, Clone)]
pub struct CgroupRoot {
    layout: Layout,
    hierarchy: Hierarchy,
}

/// The roles of an environment's directories, as indexes into its distinct directories.
#[derive(Debug, Clone, Copy)]
struct Roles {
    cpu: usize,
    cpuacct: usize,
    memory: usize,
    freezer: usize,
}

impl CgroupRoot {
    /// Finds secbench's own cgroup in each hierarchy it needs ([`cgroup_layout::detect`]); on
    /// cgroup v2 prepares it for children with controllers ([`cgroup_layout::prepare_v2`]: every
    /// process of it into a leaf, then `+cpu +memory`), before any environment is made.
    pub fn detect() -> Result<CgroupRoot, CgroupError> {
        let own = read(Path::new("/proc/self/cgroup"))?;
        let mountinfo = read(Path::new("/proc/self/mountinfo"))?;
        let detected = cgroup_layout::detect(&mountinfo, &own).map_err(CgroupError::Layout)?;
        if let Layout::V2 { dir } = &detected.layout {
            cgroup_layout::prepare_v2(&cgroup_layout::RealFs, dir).map_err(|cause| {
                CgroupError::V2 {
                    cause,
                    user: cgroup_layout::this_users_systemd().map(Box::new),
                }
            })?;
        }
        Ok(CgroupRoot {
            layout: detected.layout,
            hierarchy: detected.hierarchy,
        })
    }

    /// Which cgroup layout is used, for the run's notes.
    pub fn version(&self) -> &'static str {
        self.hierarchy.describe()
    }

    /// The directories environments' cgroups are made in (one per hierarchy, each once).
    pub fn parents(&self) -> Vec<PathBuf> {
        let mut dirs: Vec<PathBuf> = match &self.layout {
            Layout::V1 {
                cpu,
                cpuacct,
                memory,
                freezer,
            } => vec![
                cpu.clone(),
                cpuacct.clone(),
                memory.clone(),
                freezer.clone(),
            ],
            Layout::V2 { dir } => vec![dir.clone()],
        };
        dirs.sort();
        dirs.dedup();
        dirs
    }

    /// Removes what an earlier secbench left behind (killed before it could clean up): every
    /// `secbench-*` cgroup under [`CgroupRoot::parents`] whose owner (the pid in its name) is
    /// no longer running is thawed, emptied (SIGKILL) and deleted. Returns how many.
    pub fn remove_stale(&self) -> usize {
        let mut stale: Vec<String> = Vec::new();
        for parent in self.parents() {
            let Ok(entries) = std::fs::read_dir(&parent) else {
                continue;
            };
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if owner_of(&name).is_some_and(|pid| !alive(pid)) && !stale.contains(&name) {
                    stale.push(name);
                }
            }
        }
        for name in &stale {
            let group = self.adopt(name);
            let _ = group.thaw();
            for _ in 0..200 {
                let pids = group.pids();
                if pids.is_empty() {
                    break;
                }
                kill_all(&pids);
                std::thread::sleep(Duration::from_millis(1));
            }
            drop(group);
        }
        stale.len()
    }

    /// An existing cgroup `name` under the parents, as if just created (for removal).
    fn adopt(&self, name: &str) -> Cgroup {
        let (dirs, roles) = self.dirs_of(name);
        Cgroup {
            layout: self.layout.clone(),
            dirs: dirs.into_iter().filter(|d| d.is_dir()).collect(),
            roles,
            procs: Vec::new(),
            name: name.to_owned(),
            cpu: std::sync::Mutex::new(CpuAllowance {
                period_us: 0,
                quota_us: 0,
            }),
        }
    }

    /// The distinct directories of cgroup `name` and which serves each controller.
    fn dirs_of(&self, name: &str) -> (Vec<PathBuf>, Roles) {
        match &self.layout {
            Layout::V1 {
                cpu,
                cpuacct,
                memory,
                freezer,
            } => {
                let mut dirs: Vec<PathBuf> = Vec::new();
                let mut index = |parent: &PathBuf| {
                    let d = parent.join(name);
                    match dirs.iter().position(|x| *x == d) {
                        Some(i) => i,
                        None => {
                            dirs.push(d);
                            dirs.len() - 1
                        }
                    }
                };
                let roles = Roles {
                    cpu: index(cpu),
                    cpuacct: index(cpuacct),
                    memory: index(memory),
                    freezer: index(freezer),
                };
                (dirs, roles)
            }
            Layout::V2 { dir } => (
                vec![dir.join(name)],
                Roles {
                    cpu: 0,
                    cpuacct: 0,
                    memory: 0,
                    freezer: 0,
                },
            ),
        }
    }

    /// Creates the cgroup `name` (one directory per hierarchy, once where controllers share
    /// one) with `limits`.
    pub fn create(&self, name: &str, limits: &Limits) -> Result<Cgroup, CgroupError> {
        let (dirs, roles) = self.dirs_of(name);
        let mut group = Cgroup {
            layout: self.layout.clone(),
            dirs: Vec::new(),
            roles,
            procs: Vec::new(),
            name: name.to_owned(),
            cpu: std::sync::Mutex::new(CpuAllowance::of(limits.cpus(), limits.cpu_period)),
        };
        for d in &dirs {
            std::fs::create_dir(d).map_err(|source| CgroupError::Write {
                path: d.clone(),
                source,
            })?;
            group.dirs.push(d.clone());
        }
        let cpu = CpuAllowance::of(limits.cpus(), limits.cpu_period);
        let (period_us, quota_us) = (cpu.period_us, cpu.quota_us);
        match &self.layout {
            Layout::V1 { .. } => {
                let (cpu, memory) = (&group.dirs[roles.cpu], &group.dirs[roles.memory]);
                write(&cpu.join("cpu.cfs_period_us"), &period_us.to_string())?;
                write(&cpu.join("cpu.cfs_quota_us"), &quota_us.to_string())?;
                let bytes = limits.memory_bytes().to_string();
                write(&memory.join("memory.limit_in_bytes"), &bytes)?;
                // No swap beyond the limit either (the file exists only with swap accounting).
                let memsw = memory.join("memory.memsw.limit_in_bytes");
                if memsw.exists() {
                    write(&memsw, &bytes)?;
                }
            }
            Layout::V2 { .. } => {
                let dir = &group.dirs[0];
                write(&dir.join("cpu.max"), &format!("{quota_us} {period_us}"))?;
                write(&dir.join("memory.max"), &limits.memory_bytes().to_string())?;
                let swap = dir.join("memory.swap.max");
                if swap.exists() {
                    write(&swap, "0")?;
                }
            }
        }
        for d in &group.dirs {
            let path = d.join("cgroup.procs");
            let f = OpenOptions::new()
                .write(true)
                .open(&path)
                .map_err(|source| CgroupError::Write { path, source })?;
            group.procs.push(f);
        }
        Ok(group)
    }
}

/// One environment's cgroup. Removed (thawed, emptied, deleted) by [`Cgroup::remove`], or on
/// drop as far as that can go without waiting.
#[derive(Debug)]
pub struct Cgroup {
    layout: Layout,
    dirs: Vec<PathBuf>,
    roles: Roles,
    procs: Vec<File>,
    name: String,
    cpu: std::sync::Mutex<CpuAllowance>,
}

impl Cgroup {
    /// Its `cgroup.procs` files (one per hierarchy): writing a pid there moves that process in.
    pub fn procs_files(&self) -> Vec<PathBuf> {
        self.dirs.iter().map(|d| d.join("cgroup.procs")).collect()
    }

    /// Its name (the directory's).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The CPU allowance written now.
    pub fn cpu_allowance(&self) -> CpuAllowance {
        *self.cpu.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Allows `cpus` of a CPU per `period` from now on (INIT's boost, then the memory share);
    /// returns what was written.
    pub fn set_cpus(&self, cpus: f64, period: Duration) -> Result<CpuAllowance, CgroupError> {
        let a = CpuAllowance::of(cpus, period);
        match self.layout {
            Layout::V1 { .. } => {
                write(
                    &self.file(self.roles.cpu, "cpu.cfs_quota_us"),
                    &a.quota_us.to_string(),
                )?;
            }
            Layout::V2 { .. } => {
                write(
                    &self.file(0, "cpu.max"),
                    &format!("{} {}", a.quota_us, a.period_us),
                )?;
            }
        }
        *self.cpu.lock().unwrap_or_else(|p| p.into_inner()) = a;
        Ok(a)
    }

    /// Makes `cmd`'s process join this cgroup between fork and exec, so not one instruction of
    /// the program runs outside it. The child writes "0" (itself) to each hierarchy's
    /// `cgroup.procs`, through descriptors opened beforehand: `write(2)` is async-signal-safe,
    /// and nothing is allocated after the fork.
    #[allow(unsafe_code)]
    pub fn enter_on_spawn(&self, cmd: &mut tokio::process::Command) {
        use std::os::fd::AsRawFd;
        let fds: Vec<i32> = self.procs.iter().map(AsRawFd::as_raw_fd).collect();
        // SAFETY: the closure runs in the forked child before exec; it only calls write(2) on
        // descriptors that stay open in the parent until the spawn has returned (they belong
        // to `self`, which outlives the call), and allocates nothing.
        unsafe {
            cmd.pre_exec(move || {
                for fd in &fds {
                    if libc::write(*fd, b"0".as_ptr().cast(), 1) != 1 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                Ok(())
            });
        }
    }

    fn file(&self, which: usize, name: &str) -> PathBuf {
        self.dirs[which].join(name)
    }

    fn stat_field(text: &str, key: &str) -> u64 {
        text.lines()
            .find_map(|l| {
                let (k, v) = l.split_once(' ')?;
                (k == key).then(|| v.trim().parse().ok())?
            })
            .unwrap_or(0)
    }

    /// The counters now.
    pub fn usage(&self) -> Usage {
        match self.layout {
            Layout::V1 { .. } => {
                let cpu_ns =
                    std::fs::read_to_string(self.file(self.roles.cpuacct, "cpuacct.usage"))
                        .ok()
                        .and_then(|s| s.trim().parse().ok())
                        .unwrap_or(0);
                let stat = std::fs::read_to_string(self.file(self.roles.cpu, "cpu.stat"))
                    .unwrap_or_default();
                Usage {
                    cpu_ns,
                    throttled_ns: Self::stat_field(&stat, "throttled_time"),
                    throttled_periods: Self::stat_field(&stat, "nr_throttled"),
                    periods: Self::stat_field(&stat, "nr_periods"),
                }
            }
            Layout::V2 { .. } => {
                let stat = std::fs::read_to_string(self.file(0, "cpu.stat")).unwrap_or_default();
                Usage {
                    cpu_ns: Self::stat_field(&stat, "usage_usec") * 1000,
                    throttled_ns: Self::stat_field(&stat, "throttled_usec") * 1000,
                    throttled_periods: Self::stat_field(&stat, "nr_throttled"),
                    periods: Self::stat_field(&stat, "nr_periods"),
                }
            }
        }
    }

    /// Times the kernel's OOM killer killed a process of this cgroup.
    pub fn oom_kills(&self) -> u64 {
        let (file, key) = match self.layout {
            Layout::V1 { .. } => (
                self.file(self.roles.memory, "memory.oom_control"),
                "oom_kill",
            ),
            Layout::V2 { .. } => (self.file(0, "memory.events"), "oom_kill"),
        };
        Self::stat_field(&std::fs::read_to_string(file).unwrap_or_default(), key)
    }

    /// Peak memory charged to the cgroup, bytes (v1 `memory.max_usage_in_bytes`, v2
    /// `memory.peak` where the kernel has it).
    pub fn memory_peak_bytes(&self) -> Option<u64> {
        let file = match self.layout {
            Layout::V1 { .. } => self.file(self.roles.memory, "memory.max_usage_in_bytes"),
            Layout::V2 { .. } => self.file(0, "memory.peak"),
        };
        std::fs::read_to_string(file).ok()?.trim().parse().ok()
    }

    /// Freezes every process of the cgroup (returns once the kernel has taken the request;
    /// the processes stop within microseconds).
    pub fn freeze(&self) -> Result<(), CgroupError> {
        match self.layout {
            Layout::V1 { .. } => write(&self.file(self.roles.freezer, "freezer.state"), "FROZEN"),
            Layout::V2 { .. } => write(&self.file(0, "cgroup.freeze"), "1"),
        }
    }

    /// Lets them run again.
    pub fn thaw(&self) -> Result<(), CgroupError> {
        match self.layout {
            Layout::V1 { .. } => write(&self.file(self.roles.freezer, "freezer.state"), "THAWED"),
            Layout::V2 { .. } => write(&self.file(0, "cgroup.freeze"), "0"),
        }
    }

    /// Whether the freezer reports the cgroup frozen.
    pub fn is_frozen(&self) -> bool {
        match self.layout {
            Layout::V1 { .. } => {
                std::fs::read_to_string(self.file(self.roles.freezer, "freezer.state"))
                    .is_ok_and(|s| s.trim() == "FROZEN")
            }
            Layout::V2 { .. } => std::fs::read_to_string(self.file(0, "cgroup.events"))
                .is_ok_and(|s| Self::stat_field(&s, "frozen") == 1),
        }
    }

    /// The processes in it.
    pub fn pids(&self) -> Vec<i32> {
        pids_in(&self.procs_files())
    }

    /// Thaws, kills whatever is left with SIGKILL, waits until the cgroup is empty (at most
    /// `patience`) and deletes its directories.
    pub async fn remove(mut self, patience: Duration) {
        let _ = self.thaw();
        let deadline = tokio::time::Instant::now() + patience;
        loop {
            let pids = self.pids();
            if pids.is_empty() || tokio::time::Instant::now() > deadline {
                break;
            }
            kill_all(&pids);
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        self.delete();
    }

    fn delete(&mut self) {
        self.procs.clear();
        for d in self.dirs.drain(..).rev() {
            let _ = std::fs::remove_dir(&d);
        }
    }
}

/// SIGKILL to each of `pids`.
fn kill_all(pids: &[i32]) {
    for &pid in pids {
        #[allow(unsafe_code)]
        // SAFETY: kill(2) with a pid read from a cgroup; no memory is touched.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
        }
    }
}

/// The pid in a name secbench gives its cgroups (`secbench-<what>-<pid>-...`).
fn owner_of(name: &str) -> Option<i32> {
    let rest = name.strip_prefix("secbench-")?;
    let (what, rest) = rest.split_once('-')?;
    if !["env", "entropy", "check"].contains(&what) {
        return None;
    }
    rest.split('-').next()?.parse().ok()
}

/// Whether a process `pid` runs (kill(2) with signal 0).
fn alive(pid: i32) -> bool {
    #[allow(unsafe_code)]
    // SAFETY: signal 0 only checks that the process exists.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

impl Drop for Cgroup {
    /// Also on a panic's unwinding: thawed, emptied (briefly waited for) and deleted, so no
    /// frozen process or cgroup outlives secbench.
    fn drop(&mut self) {
        if !self.dirs.is_empty() {
            let _ = self.thaw();
            for _ in 0..100 {
                let pids = self.pids();
                if pids.is_empty() {
                    break;
                }
                kill_all(&pids);
                std::thread::sleep(Duration::from_millis(1));
            }
            self.delete();
        }
    }
}

/// The processes listed in these `cgroup.procs` files (one per hierarchy), each once.
pub fn pids_in(procs_files: &[PathBuf]) -> Vec<i32> {
    let mut pids: Vec<i32> = procs_files
        .iter()
        .flat_map(|p| {
            std::fs::read_to_string(p)
                .unwrap_or_default()
                .lines()
                .filter_map(|l| l.trim().parse().ok())
                .collect::<Vec<i32>>()
        })
        .collect();
    pids.sort_unstable();
    pids.dedup();
    pids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quota_is_the_memory_share_of_one_cpu_per_period() {
        let l = Limits {
            memory_mb: 128,
            cpu_period: DEFAULT_CPU_PERIOD,
        };
        assert!((l.cpus() - 128.0 / 1769.0).abs() < 1e-12);
        assert_eq!(l.cpu_quota().as_micros(), 1447);
        assert_eq!(l.memory_bytes(), 134_217_728);
        let one = Limits {
            memory_mb: 1769,
            cpu_period: DEFAULT_CPU_PERIOD,
        };
        assert_eq!(one.cpu_quota(), Duration::from_millis(20));
        let huge = Limits {
            memory_mb: 10_240,
            cpu_period: DEFAULT_CPU_PERIOD,
        };
        let host = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        assert!(huge.cpus() <= host);
    }

    #[test]
    fn stale_groups_are_known_by_the_pid_in_their_name() {
        assert_eq!(owner_of("secbench-env-4242-0a1b2c"), Some(4242));
        assert_eq!(owner_of("secbench-entropy-17-3-128-share-0"), Some(17));
        assert_eq!(owner_of("secbench-check-99"), Some(99));
        assert_eq!(owner_of("secbench-self"), None);
        assert_eq!(owner_of("other-env-1"), None);
        assert!(alive(std::process::id() as i32));
    }
}
