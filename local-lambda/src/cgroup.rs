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
    /// A controller secbench needs is not mounted for its own cgroup.
    #[error("no cgroup {0} controller is mounted for this process (cgroup v1) and cgroup v2 does not offer it")]
    NoController(&'static str),
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

#[derive(Debug, Clone)]
enum Layout {
    /// One directory per controller (the parent: secbench's own cgroup in each hierarchy).
    V1 {
        cpu: PathBuf,
        cpuacct: PathBuf,
        memory: PathBuf,
        freezer: PathBuf,
    },
    /// The unified hierarchy: secbench's own cgroup.
    V2 { dir: PathBuf },
}

/// Where environments' cgroups are made: under secbench's own cgroup.
#[derive(Debug, Clone)]
pub struct CgroupRoot {
    layout: Layout,
}

struct Mount {
    root: String,
    point: PathBuf,
    fstype: String,
    options: Vec<String>,
}

fn mounts() -> Result<Vec<Mount>, CgroupError> {
    let text = read(Path::new("/proc/self/mountinfo"))?;
    Ok(text
        .lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let left: Vec<&str> = left.split(' ').collect();
            let right: Vec<&str> = right.split(' ').collect();
            Some(Mount {
                root: (*left.get(3)?).to_owned(),
                point: PathBuf::from(*left.get(4)?),
                fstype: (*right.first()?).to_owned(),
                options: right.get(2)?.split(',').map(str::to_owned).collect(),
            })
        })
        .collect())
}

/// The directory of `path` (a path in `/proc/self/cgroup`) under a mount of that hierarchy.
fn under(mount: &Mount, path: &str) -> PathBuf {
    let rel = if mount.root != "/" {
        path.strip_prefix(mount.root.as_str()).unwrap_or(path)
    } else {
        path
    };
    mount.point.join(rel.trim_start_matches('/'))
}

impl CgroupRoot {
    /// Finds secbench's own cgroup in each hierarchy it needs. Creating nothing yet.
    pub fn detect() -> Result<CgroupRoot, CgroupError> {
        let own = read(Path::new("/proc/self/cgroup"))?;
        let mounts = mounts()?;
        // v1: "N:controller[,controller]:/path".
        let v1_path = |controller: &str| -> Option<PathBuf> {
            own.lines().find_map(|line| {
                let mut parts = line.splitn(3, ':');
                let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
                controllers
                    .split(',')
                    .any(|c| c == controller)
                    .then_some(())?;
                let mount = mounts
                    .iter()
                    .find(|m| m.fstype == "cgroup" && m.options.iter().any(|o| o == controller))?;
                Some(under(mount, path))
            })
        };
        if let (Some(cpu), Some(cpuacct), Some(memory), Some(freezer)) = (
            v1_path("cpu"),
            v1_path("cpuacct"),
            v1_path("memory"),
            v1_path("freezer"),
        ) {
            return Ok(CgroupRoot {
                layout: Layout::V1 {
                    cpu,
                    cpuacct,
                    memory,
                    freezer,
                },
            });
        }
        let path = own
            .lines()
            .find_map(|l| l.strip_prefix("0::"))
            .ok_or(CgroupError::NoController("cpu"))?;
        let mount = mounts
            .iter()
            .find(|m| m.fstype == "cgroup2")
            .ok_or(CgroupError::NoController("cpu"))?;
        let dir = under(mount, path);
        let controllers = read(&dir.join("cgroup.controllers"))?;
        for needed in ["cpu", "memory"] {
            if !controllers.split_whitespace().any(|c| c == needed) {
                return Err(CgroupError::NoController(needed));
            }
        }
        Ok(CgroupRoot {
            layout: Layout::V2 { dir },
        })
    }

    /// Which cgroup version is used, for the run's notes.
    pub fn version(&self) -> &'static str {
        match self.layout {
            Layout::V1 { .. } => "cgroup v1",
            Layout::V2 { .. } => "cgroup v2",
        }
    }

    /// cgroup v2 keeps processes out of cgroups whose children have controllers: secbench
    /// moves itself into a leaf of its own cgroup (`secbench-self`) before enabling them.
    fn enable_v2_controllers(dir: &Path) -> Result<(), CgroupError> {
        let control = dir.join("cgroup.subtree_control");
        if write(&control, "+cpu +memory").is_ok() {
            return Ok(());
        }
        let leaf = dir.join("secbench-self");
        if !leaf.is_dir() {
            std::fs::create_dir(&leaf).map_err(|source| CgroupError::Write {
                path: leaf.clone(),
                source,
            })?;
        }
        write(&leaf.join("cgroup.procs"), &std::process::id().to_string())?;
        write(&control, "+cpu +memory")
    }

    /// Creates the cgroup `name` (one directory per hierarchy) with `limits`.
    pub fn create(&self, name: &str, limits: &Limits) -> Result<Cgroup, CgroupError> {
        let dirs: Vec<PathBuf> = match &self.layout {
            Layout::V1 {
                cpu,
                cpuacct,
                memory,
                freezer,
            } => [cpu, cpuacct, memory, freezer]
                .iter()
                .map(|d| d.join(name))
                .collect(),
            Layout::V2 { dir } => {
                Self::enable_v2_controllers(dir)?;
                vec![dir.join(name)]
            }
        };
        let mut group = Cgroup {
            layout: self.layout.clone(),
            dirs: Vec::new(),
            procs: Vec::new(),
            name: name.to_owned(),
        };
        for d in &dirs {
            std::fs::create_dir(d).map_err(|source| CgroupError::Write {
                path: d.clone(),
                source,
            })?;
            group.dirs.push(d.clone());
        }
        let period_us = limits.cpu_period.as_micros().max(1000);
        let quota_us = limits.cpu_quota().as_micros().max(1000);
        match &self.layout {
            Layout::V1 { .. } => {
                let (cpu, memory) = (&group.dirs[0], &group.dirs[2]);
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
    procs: Vec<File>,
    name: String,
}

impl Cgroup {
    /// Its name (the directory's).
    pub fn name(&self) -> &str {
        &self.name
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
                let cpu_ns = std::fs::read_to_string(self.file(1, "cpuacct.usage"))
                    .ok()
                    .and_then(|s| s.trim().parse().ok())
                    .unwrap_or(0);
                let stat = std::fs::read_to_string(self.file(0, "cpu.stat")).unwrap_or_default();
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
            Layout::V1 { .. } => (self.file(2, "memory.oom_control"), "oom_kill"),
            Layout::V2 { .. } => (self.file(0, "memory.events"), "oom_kill"),
        };
        Self::stat_field(&std::fs::read_to_string(file).unwrap_or_default(), key)
    }

    /// Peak memory charged to the cgroup, bytes (v1 `memory.max_usage_in_bytes`, v2
    /// `memory.peak` where the kernel has it).
    pub fn memory_peak_bytes(&self) -> Option<u64> {
        let file = match self.layout {
            Layout::V1 { .. } => self.file(2, "memory.max_usage_in_bytes"),
            Layout::V2 { .. } => self.file(0, "memory.peak"),
        };
        std::fs::read_to_string(file).ok()?.trim().parse().ok()
    }

    /// Freezes every process of the cgroup (returns once the kernel has taken the request;
    /// the processes stop within microseconds).
    pub fn freeze(&self) -> Result<(), CgroupError> {
        match self.layout {
            Layout::V1 { .. } => write(&self.file(3, "freezer.state"), "FROZEN"),
            Layout::V2 { .. } => write(&self.file(0, "cgroup.freeze"), "1"),
        }
    }

    /// Lets them run again.
    pub fn thaw(&self) -> Result<(), CgroupError> {
        match self.layout {
            Layout::V1 { .. } => write(&self.file(3, "freezer.state"), "THAWED"),
            Layout::V2 { .. } => write(&self.file(0, "cgroup.freeze"), "0"),
        }
    }

    /// Whether the freezer reports the cgroup frozen.
    pub fn is_frozen(&self) -> bool {
        match self.layout {
            Layout::V1 { .. } => std::fs::read_to_string(self.file(3, "freezer.state"))
                .is_ok_and(|s| s.trim() == "FROZEN"),
            Layout::V2 { .. } => std::fs::read_to_string(self.file(0, "cgroup.events"))
                .is_ok_and(|s| Self::stat_field(&s, "frozen") == 1),
        }
    }

    /// The processes in it.
    pub fn pids(&self) -> Vec<i32> {
        self.dirs
            .iter()
            .flat_map(|d| {
                std::fs::read_to_string(d.join("cgroup.procs"))
                    .unwrap_or_default()
                    .lines()
                    .filter_map(|l| l.trim().parse().ok())
                    .collect::<Vec<i32>>()
            })
            .collect()
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
            for pid in pids {
                #[allow(unsafe_code)]
                // SAFETY: kill(2) with a pid read from the cgroup; no memory is touched.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                }
            }
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

impl Drop for Cgroup {
    fn drop(&mut self) {
        if !self.dirs.is_empty() {
            let _ = self.thaw();
            self.delete();
        }
    }
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
    fn mountinfo_paths_are_joined_under_the_mount() {
        let m = Mount {
            root: "/".into(),
            point: "/sys/fs/cgroup/memory".into(),
            fstype: "cgroup".into(),
            options: vec!["rw".into(), "memory".into()],
        };
        assert_eq!(
            under(&m, "/process_api/abc"),
            PathBuf::from("/sys/fs/cgroup/memory/process_api/abc")
        );
        let ns = Mount {
            root: "/docker/x".into(),
            ..m
        };
        assert_eq!(
            under(&ns, "/docker/x/inner"),
            PathBuf::from("/sys/fs/cgroup/memory/inner")
        );
    }
}
