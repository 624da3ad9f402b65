//! The probe's clocks besides `Instant`: the time since the OS started this process, from
//! `/proc/self/stat` (field 22, `starttime`, in clock ticks since boot) against
//! `CLOCK_BOOTTIME` (the OS keeps the start time in clock ticks, usually 10 ms, so the span
//! "process start → main" has that resolution); and the process's CPU time,
//! `CLOCK_PROCESS_CPUTIME_ID` (nanoseconds, every thread of the process, as the scheduler
//! accounts it; one system call, about a microsecond, read outside the timed wall-clock span).

/// How long ago the process started, and the resolution of that figure, in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessAge {
    /// Nanoseconds from the OS's process start time to now.
    pub age_ns: u64,
    /// Resolution of the OS start time (one clock tick).
    pub resolution_ns: u64,
}

/// Reads the process age now, or `None` where the OS does not tell (not Linux, no /proc).
pub fn process_age() -> Option<ProcessAge> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let ticks = start_ticks(&stat)?;
    let tick_hz = clock_ticks_per_second()?;
    let now_ns = boottime_ns()?;
    let resolution_ns = 1_000_000_000 / tick_hz;
    let start_ns = ticks.checked_mul(resolution_ns)?;
    Some(ProcessAge {
        age_ns: now_ns.saturating_sub(start_ns),
        resolution_ns,
    })
}

/// Field 22 of `/proc/<pid>/stat`. The command name (field 2) is in parentheses and may hold
/// spaces and parentheses itself, so count from the last `)`.
fn start_ticks(stat: &str) -> Option<u64> {
    let after_comm = &stat[stat.rfind(')')? + 1..];
    // After the comm come fields 3.. ; starttime is field 22, the 20th of those.
    after_comm.split_whitespace().nth(19)?.parse().ok()
}

#[allow(unsafe_code)]
fn clock_ticks_per_second() -> Option<u64> {
    // SAFETY: sysconf only reads a system constant.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(hz).ok().filter(|hz| *hz > 0)
}

#[allow(unsafe_code)]
fn boottime_ns() -> Option<u64> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut ts) };
    if rc != 0 {
        return None;
    }
    let secs = u64::try_from(ts.tv_sec).ok()?;
    let nanos = u64::try_from(ts.tv_nsec).ok()?;
    secs.checked_mul(1_000_000_000)?.checked_add(nanos)
}

/// The CPU time the process has used so far (all its threads), in nanoseconds; 0 where the
/// OS does not say.
#[allow(unsafe_code)]
pub fn process_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return 0;
    }
    let secs = u64::try_from(ts.tv_sec).unwrap_or(0);
    let nanos = u64::try_from(ts.tv_nsec).unwrap_or(0);
    secs.saturating_mul(1_000_000_000).saturating_add(nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_comm_with_spaces_and_parens() {
        let stat = "4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 100";
        assert_eq!(start_ticks(stat), Some(987_654));
        assert_eq!(start_ticks("garbage"), None);
    }

    #[test]
    fn a_running_process_has_a_plausible_age() {
        let age = process_age().expect("Linux with /proc");
        assert!(age.resolution_ns >= 1_000_000, "{age:?}");
        // This test process started before now and (by far) less than a day ago.
        assert!(age.age_ns < 86_400 * 1_000_000_000, "{age:?}");
    }
}
