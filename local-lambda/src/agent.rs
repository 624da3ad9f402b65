//! The agent that stands in for the Parameters and Secrets Lambda Extension on the local stage:
//! the AWS Workload Credentials Provider (the Secrets Manager Agent's successor), pinned here
//! once: which provider and version (the workspace's `Cargo.toml` pins its Secrets Manager
//! server, `aws_secretsmanager_provider`, at this version, and the `secbench-agent` binary runs
//! it as the provider's own `sm start` does), how it is started (`sm start --config FILE`) and
//! its configuration, set like the extension it stands in for: the TTL at most 300 s (the
//! extension's cap), the SSRF token from `AWS_SESSION_TOKEN` (the provider's default list has
//! it), credentials not validated at start (moto's are local).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The provider the agent is.
pub const CRATE: &str = "aws_workload_credentials_provider";

/// Its pinned version (the workspace's `Cargo.toml` pins `aws_secretsmanager_provider` at it).
pub const VERSION: &str = "3.1.2";

/// The workspace binary that runs it (crate `secbench-agent`, built with the probe).
pub const BIN_NAME: &str = "secbench-agent";

/// The longest TTL the extension takes; the agent is given no more.
pub const MAX_TTL_SECONDS: u64 = 300;

/// The agent binary of a release build in `target_dir`.
pub fn bin(target_dir: &Path) -> PathBuf {
    target_dir.join("release").join(BIN_NAME)
}

/// What stood in for the extension, for the emulation statement.
pub fn describe() -> String {
    format!(
        "{CRATE} {VERSION} (its Secrets Manager server, aws_secretsmanager_provider {VERSION}, built with the probe)"
    )
}

/// The arguments that start its Secrets Manager server with `config`.
pub fn args(config: &Path) -> Vec<OsString> {
    vec![
        "sm".into(),
        "start".into(),
        "--config".into(),
        config.as_os_str().to_owned(),
    ]
}

/// Its configuration file (the provider's nested format): the HTTP server on `port`, a cache
/// TTL of `ttl_seconds` (at most [`MAX_TTL_SECONDS`]), the provider's
/// `ignore_transient_errors` (serve the cached value when a refresh fails with a timeout, a
/// broken connection or HTTP 5xx; the provider's default is `true`), logs to standard output.
pub fn config(
    port: u16,
    ttl_seconds: u64,
    ignore_transient_errors: bool,
    region: Option<&str>,
) -> String {
    let ttl = ttl_seconds.min(MAX_TTL_SECONDS);
    let region = region.map_or_else(String::new, |r| format!("region = \"{r}\"\n"));
    format!(
        "[logging]\nlog_level = \"info\"\nlog_to_file = false\n\n[capabilities.secrets_manager]\nenabled = true\nhttp_port = {port}\nvalidate_credentials = false\nignore_transient_errors = {ignore_transient_errors}\n{region}\n[capabilities.secrets_manager.cache]\nttl_seconds = {ttl}\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_workspace_builds_the_version_pinned_here() {
        let manifest =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml"))
                .expect("the workspace's Cargo.toml");
        for krate in [
            "aws_secretsmanager_provider",
            "aws_workload_credentials_provider_common",
        ] {
            assert!(
                manifest.contains(&format!("{krate} = {{ version = \"={VERSION}\"")),
                "Cargo.toml does not pin {krate} at {VERSION}"
            );
        }
        assert!(describe().contains(&format!("{CRATE} {VERSION}")));
    }

    #[test]
    fn the_ttl_is_capped_like_the_extension_s() {
        let c = config(2773, 900, true, None);
        assert!(c.contains("ttl_seconds = 300"), "{c}");
        assert!(c.contains("http_port = 2773"), "{c}");
        let parsed: toml::Value =
            toml::from_str(&config(4000, 5, false, Some("us-east-1"))).expect("TOML");
        assert_eq!(
            parsed["capabilities"]["secrets_manager"]["cache"]["ttl_seconds"].as_integer(),
            Some(5)
        );
        assert_eq!(
            parsed["capabilities"]["secrets_manager"]["region"].as_str(),
            Some("us-east-1")
        );
        assert_eq!(
            parsed["capabilities"]["secrets_manager"]["ignore_transient_errors"].as_bool(),
            Some(false)
        );
    }
}
