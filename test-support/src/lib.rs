//! Helpers shared by the tests of every secbench crate (a dev-dependency only, never built
//! into a binary): the checkout's root, a private emulator, random canary values and the
//! search for them in texts and files, unique names and free ports, and moto's request
//! recorder ([`MotoRecorder`]).
#![allow(clippy::unwrap_used)]

mod recorder;

pub use recorder::MotoRecorder;

use base64::Engine as _;
use secbench_local_lambda::moto::Moto;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The checkout (the workspace root).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Where cargo builds (`CARGO_TARGET_DIR`, else the checkout's `target/`).
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
}

/// A binary of the release build the README's test command makes before the tests (the probe,
/// the agent): fails naming the command when it is missing.
pub fn release_bin(name: &str) -> PathBuf {
    let bin = target_dir().join("release").join(name);
    assert!(
        bin.is_file(),
        "{} is missing: scripts/test.sh builds it (cargo build --release -p bench-lambda -p secbench-agent)",
        bin.display()
    );
    bin
}

/// A private moto from the project's `.venv/` (installed by the test command), with its own
/// request recording; it stops when dropped.
pub fn start_moto() -> Moto {
    secbench_local_lambda::moto::start(&root())
        .unwrap_or_else(|e| panic!("{e} (the README's test command installs moto)"))
}

/// A random canary secret value, so any leak is found by searching for it.
pub fn canary() -> String {
    format!("canary-{:032x}", rand::random::<u128>())
}

/// A name no other test uses (moto's state outlives a test).
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{:012x}", rand::random::<u64>() & 0xffff_ffff_ffff)
}

/// Hex SHA-256 of `value`, as `SECBENCH_EXPECTED_SHA256` takes it.
pub fn sha256_hex(value: &str) -> String {
    hex::encode(Sha256::digest(value.as_bytes()))
}

/// A port nothing listens on at the moment.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// The forms a leaked value could take: as it is, base64 and hex.
pub fn canary_forms(canary: &str) -> [String; 3] {
    [
        canary.to_owned(),
        base64::engine::general_purpose::STANDARD.encode(canary),
        hex::encode(canary),
    ]
}

/// Fails if `canary`, its base64 or its hex form appears in any of the named `texts`.
pub fn assert_no_canary(canary: &str, texts: &[(&str, &str)]) {
    let forms = canary_forms(canary);
    for (name, text) in texts {
        for form in &forms {
            assert!(
                !text.contains(form.as_str()),
                "the canary secret leaked into {name}"
            );
        }
    }
}

/// Fails if the canary or its base64/hex forms appear in any file under `dir`.
pub fn assert_no_canary_in(dir: &Path, canary: &str) {
    for entry in std::fs::read_dir(dir).expect("dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            assert_no_canary_in(&path, canary);
            continue;
        }
        let bytes = std::fs::read(&path).expect("read");
        let text = String::from_utf8_lossy(&bytes);
        let name = format!("{}", path.display());
        assert_no_canary(canary, &[(&name, &text)]);
    }
}
