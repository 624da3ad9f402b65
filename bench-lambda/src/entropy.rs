//! The crypto library's one-time cost: aws-lc (under rustls and the AWS SDK) seeds its random
//! generator on the first randomness a process needs, with CPU jitter entropy unless it was
//! built with `AWS_LC_SYS_NO_JITTER_ENTROPY=1` or the kernel offers a VM generation counter
//! (`/dev/sysgenid`, which the local stage offers to run a no-jitter scenario with this build):
//! "(typically) 10-50 milliseconds the first time a process requires randomness"
//! (aws/aws-lc-rs pull request 922). In the probe that is the first TLS handshake,
//! so the first fetch of a cold environment pays it, unless INIT draws it first
//! (`SECBENCH_PREWARM`). `bench-lambda --measure-entropy` times it on its own: the local stage
//! runs it once per memory size and build under that size's CPU quota.

use secbench_record::ProbeBuild;
use std::time::Instant;

pub use secbench_record::probe_config::MEASURE_ENTROPY_ARG as MEASURE_ARG;

/// What the first randomness of a process cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EntropyCost {
    /// Its wall time.
    pub wall_ns: u64,
    /// The process's CPU time over it.
    pub cpu_ns: u64,
    /// The build that measured it.
    pub probe_build: ProbeBuild,
    /// Whether `/dev/sysgenid` was there (aws-lc then skips CPU jitter entropy).
    pub sysgenid: bool,
}

/// Draws the process's first randomness through aws-lc, as rustls does for a handshake.
pub fn draw_first_randomness() {
    use aws_lc_rs::rand::SecureRandom as _;
    let mut bytes = [0u8; 32];
    // Failing here would fail every handshake after it too; the fetch records that.
    let _ = aws_lc_rs::rand::SystemRandom::new().fill(&mut bytes);
    std::hint::black_box(bytes);
}

/// Times [`draw_first_randomness`]: call it before anything else in the process has drawn
/// randomness through aws-lc.
pub fn measure() -> EntropyCost {
    let cpu = crate::clock::process_cpu_ns();
    let start = Instant::now();
    draw_first_randomness();
    let wall_ns = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
    EntropyCost {
        wall_ns,
        cpu_ns: crate::clock::process_cpu_ns().saturating_sub(cpu),
        probe_build: build(),
        sysgenid: sysgenid(),
    }
}

/// The build this probe runs as, as aws-lc seeds its generator: `no-jitter-entropy` for a
/// binary built so (the feature, which build.rs lets on only with
/// `AWS_LC_SYS_NO_JITTER_ENTROPY=1`), and for the default binary where the kernel offers
/// `/dev/sysgenid`, where aws-lc takes the same source (the local stage runs its no-jitter
/// scenarios so; [`sysgenid`], in the INIT record, tells the two apart).
pub fn build() -> ProbeBuild {
    if cfg!(feature = "no-jitter-entropy") || sysgenid() {
        ProbeBuild::NoJitterEntropy
    } else {
        ProbeBuild::Default
    }
}

/// Whether the kernel offers a VM generation counter (aws-lc then seeds without CPU jitter),
/// looked at once per process.
pub fn sysgenid() -> bool {
    static SEEN: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *SEEN.get_or_init(|| std::path::Path::new(secbench_record::SYSGENID_PATH).exists())
}
