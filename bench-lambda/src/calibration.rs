//! The fixed CPU-bound workload of a `cpu-calibration` scenario: SHA-256 over a 64 KiB buffer,
//! `rounds` times (about 0.13 ms per round on one current x86 or Graviton vCPU, so the default
//! 40 rounds are about 5 ms), timed by the wall clock and the process's CPU clock. The same
//! work at INIT and in the handler, on AWS and on the local stage, tells how much CPU Lambda
//! gives at each memory size and to INIT, and how fast its vCPU is against this machine's.

use secbench_record::CpuWork;
use sha2::{Digest, Sha256};
use std::time::Instant;

/// The bytes hashed per round.
pub const BUFFER_BYTES: usize = 64 * 1024;

/// Runs the workload and times it.
pub fn run(rounds: u32) -> CpuWork {
    let buffer: Vec<u8> = (0..BUFFER_BYTES).map(|i| (i % 251) as u8).collect();
    let cpu = crate::clock::process_cpu_ns();
    let start = Instant::now();
    let mut digest = [0u8; 32];
    for _ in 0..rounds {
        let mut h = Sha256::new();
        h.update(&buffer);
        h.update(digest);
        digest = h.finalize().into();
    }
    std::hint::black_box(digest);
    let wall_ns = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
    CpuWork {
        rounds,
        wall_ns,
        cpu_ns: crate::clock::process_cpu_ns().saturating_sub(cpu),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_work_grows_with_the_rounds_and_uses_cpu() {
        let one = run(4);
        let more = run(40);
        assert_eq!((one.rounds, more.rounds), (4, 40));
        assert!(more.cpu_ns > one.cpu_ns, "{one:?} {more:?}");
        assert!(more.wall_ns >= more.cpu_ns / 2, "{more:?}");
    }
}
