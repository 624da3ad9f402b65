//! A VM generation counter offered to one process: `/dev/sysgenid`, as a kernel with the
//! sysgenid driver (a VM that can be snapshotted) offers it. aws-lc, under rustls and the AWS
//! SDK, looks for it when the process first needs randomness; where it is there, aws-lc seeds
//! its generator from the OS without CPU jitter entropy: the same entropy source a build with
//! `AWS_LC_SYS_NO_JITTER_ENTROPY=1` takes (aws-lc's
//! `crypto/fipsmodule/rand/entropy/entropy_sources.c`, `use_opt_out_cpu_jitter_entropy`:
//! "explicitly opted out" or "VM UBE environment" pick the same methods). The local stage runs a
//! plan's `probe_build = "no-jitter-entropy"` scenarios this way: the unchanged default probe in
//! environments that offer the counter, instead of a second build of aws-lc and the 17 crates
//! above it (about 5 minutes on 2 cores). What differs from the built variant: aws-lc stats,
//! opens and maps the counter once, and reads it on each draw (measured: first randomness
//! 50-120 µs of CPU here against the no-jitter build's 44-52 µs, and 28-31 ms with jitter).
//!
//! How: between fork and exec the process gets a mount namespace of its own (private, so
//! nothing propagates to the host), a small tmpfs on an empty directory the platform owns, and
//! an overlay on `/dev` whose upper layer (in that tmpfs) holds a zeroed `sysgenid` file; the
//! host's `/dev` and every other process are untouched, and the mounts go with the namespace
//! when the process ends. It needs `CAP_SYS_ADMIN` (root): [`Sysgenid::new`] tries it on a
//! short-lived process first and says why it cannot, so the local stage can build the variant
//! instead.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// The path aws-lc looks at (`AWSLC_SYSGENID_PATH`), and the probe reports.
pub use secbench_record::SYSGENID_PATH as PATH;

/// The counter's size: one page (aws-lc maps and reads 4 bytes of it).
const SIZE: libc::off_t = 4096;

/// Why the counter cannot be offered here.
#[derive(Debug, thiserror::Error)]
pub enum SysgenidError {
    /// The platform's directory could not be made.
    #[error("making the directory for {PATH}: {0}")]
    Dir(#[source] std::io::Error),
    /// A process with the counter could not be started (no mount namespace: not root, or no
    /// overlay filesystem).
    #[error("starting a process that sees {PATH} (a mount namespace of its own, a tmpfs and an overlay on /dev; needs root): {0}")]
    Spawn(#[source] std::io::Error),
    /// The process started but did not see the counter.
    #[error("a process started with {PATH} did not see it")]
    NotSeen,
}

/// The counter for the processes spawned with [`Sysgenid::on_spawn`]; shared by every
/// environment of a platform (each mounts it in its own namespace).
#[derive(Debug)]
pub struct Sysgenid {
    /// The empty directory each process mounts its tmpfs on (in its own namespace).
    dir: tempfile::TempDir,
    paths: Paths,
}

/// Everything the child needs, allocated before the fork.
#[derive(Debug, Clone)]
struct Paths {
    dir: CString,
    upper: CString,
    work: CString,
    file: CString,
    overlay_options: CString,
}

impl Sysgenid {
    /// Makes the platform's directory and checks on a short-lived process (`/bin/sh -c 'test
    /// -r /dev/sysgenid'`) that a process spawned with the counter sees it.
    pub fn new() -> Result<Sysgenid, SysgenidError> {
        let dir = tempfile::Builder::new()
            .prefix("secbench-sysgenid-")
            .tempdir()
            .map_err(SysgenidError::Dir)?;
        let c = |p: &Path| {
            CString::new(p.as_os_str().as_bytes())
                .map_err(|e| SysgenidError::Dir(std::io::Error::other(e)))
        };
        let (upper, work) = (dir.path().join("upper"), dir.path().join("work"));
        let paths = Paths {
            dir: c(dir.path())?,
            upper: c(&upper)?,
            work: c(&work)?,
            file: c(&upper.join("sysgenid"))?,
            overlay_options: c(Path::new(&format!(
                "lowerdir=/dev,upperdir={},workdir={}",
                upper.display(),
                work.display()
            )))?,
        };
        let s = Sysgenid { dir, paths };
        let mut check = std::process::Command::new("/bin/sh");
        check.args(["-c", &format!("test -r {PATH}")]);
        s.on_spawn(&mut check);
        let status = check.status().map_err(SysgenidError::Spawn)?;
        if !status.success() {
            return Err(SysgenidError::NotSeen);
        }
        Ok(s)
    }

    /// The directory the processes mount their tmpfs on.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Makes `cmd`'s process see `/dev/sysgenid` from its first instruction: between fork
    /// and exec it enters a mount namespace of its own and mounts the counter (see the module
    /// docs). A failure fails the spawn with the kernel's error.
    #[allow(unsafe_code)]
    pub fn on_spawn(&self, cmd: &mut std::process::Command) {
        use std::os::unix::process::CommandExt as _;
        let p = self.paths.clone();
        // SAFETY: the closure runs in the forked child before exec and only makes system calls
        // (unshare, mount, mkdir, open, ftruncate, close: all async-signal-safe) on C strings
        // allocated before the fork; it allocates nothing.
        unsafe {
            cmd.pre_exec(move || {
                let check = |r: libc::c_int| {
                    if r < 0 {
                        Err(std::io::Error::last_os_error())
                    } else {
                        Ok(r)
                    }
                };
                check(libc::unshare(libc::CLONE_NEWNS))?;
                check(libc::mount(
                    std::ptr::null(),
                    c"/".as_ptr(),
                    std::ptr::null(),
                    libc::MS_REC | libc::MS_PRIVATE,
                    std::ptr::null(),
                ))?;
                check(libc::mount(
                    c"tmpfs".as_ptr(),
                    p.dir.as_ptr(),
                    c"tmpfs".as_ptr(),
                    libc::MS_NOSUID,
                    c"size=64k,mode=0755".as_ptr().cast(),
                ))?;
                check(libc::mkdir(p.upper.as_ptr(), 0o755))?;
                check(libc::mkdir(p.work.as_ptr(), 0o755))?;
                let fd = check(libc::open(
                    p.file.as_ptr(),
                    libc::O_CREAT | libc::O_WRONLY | libc::O_CLOEXEC,
                    0o444,
                ))?;
                let sized = check(libc::ftruncate(fd, SIZE));
                libc::close(fd);
                sized?;
                check(libc::mount(
                    c"overlay".as_ptr(),
                    c"/dev".as_ptr(),
                    c"overlay".as_ptr(),
                    0,
                    p.overlay_options.as_ptr().cast(),
                ))?;
                Ok(())
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// As root (the sandbox's tests run so): a process spawned with the counter sees it and
    /// reads the page of zeros; the host's `/dev` and this process do not see it.
    #[test]
    fn a_spawned_process_sees_the_counter_and_the_host_does_not() {
        // Without root there is no mount namespace (the local stage then builds the variant):
        // refused, as a plain error.
        if !is_root() {
            assert!(Sysgenid::new().is_err());
            return;
        }
        let s = Sysgenid::new().expect("root offers the counter");
        let mut cmd = std::process::Command::new("/bin/sh");
        cmd.args([
            "-c",
            &format!("wc -c < {PATH}; test -e /dev/null && echo null"),
        ]);
        s.on_spawn(&mut cmd);
        let out = cmd.output().expect("spawn");
        assert!(out.status.success(), "{out:?}");
        assert_eq!(String::from_utf8_lossy(&out.stdout), "4096\nnull\n");
        assert!(!Path::new(PATH).exists(), "the host sees {PATH}");
        // Nothing was mounted on the platform's directory here.
        assert_eq!(std::fs::read_dir(s.dir()).expect("dir").count(), 0);
    }

    fn is_root() -> bool {
        std::fs::read_to_string("/proc/self/status")
            .map(|s| {
                s.lines()
                    .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(2) == Some("0"))
            })
            .unwrap_or(false)
    }
}
