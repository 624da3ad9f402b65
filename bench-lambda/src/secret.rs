//! The fetched value. It has no `Display`, no `Serialize`, and its `Debug` shows only the
//! length (and the service's version id, which is not secret), so it cannot reach a record,
//! a log line or an error message by accident.

use sha2::{Digest, Sha256};

/// A secret value held in memory, with the version the service gave it, if any.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>, Option<String>);

impl Secret {
    /// Wraps bytes.
    pub fn new(bytes: Vec<u8>) -> Secret {
        Secret(bytes, None)
    }

    /// Sets the version the service returned (Secrets Manager's `VersionId`, SSM's
    /// `Version`).
    pub fn with_version(mut self, version: Option<String>) -> Secret {
        self.1 = version;
        self
    }

    /// The version the service returned, if it returned one.
    pub fn version(&self) -> Option<&str> {
        self.1.as_deref()
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the value is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The value as a JSON object (a bundle of several secrets), if it is one.
    pub fn parse_json_object(&self) -> Option<serde_json::Map<String, serde_json::Value>> {
        match serde_json::from_slice(&self.0).ok()? {
            serde_json::Value::Object(map) => Some(map),
            _ => None,
        }
    }

    /// SHA-256 of the value.
    pub fn sha256(&self) -> [u8; 32] {
        Sha256::digest(&self.0).into()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret(<{} bytes redacted>)", self.0.len())
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        // Best effort: clear the bytes before the allocation is freed. Passing the buffer to
        // `black_box` afterwards keeps the compiler from dropping the writes as dead.
        self.0.fill(0);
        std::hint::black_box(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_value() {
        let s = Secret::new(b"canary-value".to_vec());
        assert_eq!(format!("{s:?}"), "Secret(<12 bytes redacted>)");
    }
}
