//! What a cold fetch's time is made of beyond the fetch itself: the crypto library's first
//! randomness (entropy) that the local stage measured per memory size and build.

use secbench_record::run::{median_ns, Manifest, Phase};
use secbench_record::{ConcurrencyMode, FetchAt, Source};

/// The part of a cold group's first fetch that is aws-lc's entropy seeding, as measured beside
/// the probe at the start of its (local) run, ns: for an SDK source over TLS whose first
/// randomness the first fetch draws (not prewarmed), under the CPU that fetch had (INIT's
/// boost for an on-demand fetch at INIT, else the memory share). `None` where nothing measured
/// it (runs on AWS) or the fetch draws none. Only the Rust probe links aws-lc: the Node.js and
/// Python probes' TLS is OpenSSL's, which seeds from the OS.
pub fn entropy_in_first_fetch(
    key: &crate::group::GroupKey,
    manifests: &[(String, Manifest)],
) -> Option<u64> {
    if key.phase != Phase::Cold
        || key.runtime != secbench_record::Runtime::Rust
        || key.prewarm.is_some()
        || !matches!(
            key.source,
            Some(Source::Ssm | Source::SecretsManager | Source::KmsEnv)
        )
    {
        return None;
    }
    let memory_mb = key.memory_mb?;
    let at_init =
        key.fetch_at == Some(FetchAt::Init) && key.concurrency == ConcurrencyMode::OnDemand;
    let emulation = manifests
        .iter()
        .filter(|(_, m)| m.stage == key.stage)
        .filter_map(|(_, m)| m.emulation.as_ref())
        .find(|e| e.tls && !e.entropy.is_empty())?;
    let of = |init: bool| {
        emulation.entropy.iter().find(|e| {
            e.memory_mb == memory_mb && e.probe_build == key.probe_build && e.at_init == init
        })
    };
    let e = if at_init {
        of(true).or_else(|| of(false))
    } else {
        of(false)
    }?;
    median_ns(&e.wall_ns)
}
