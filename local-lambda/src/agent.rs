//! The agent that stands in for the Parameters and Secrets Lambda Extension on the local stage:
//! the AWS Workload Credentials Provider (crates.io `aws_workload_credentials_provider`, the
//! Secrets Manager Agent's successor), pinned here once: its version (which
//! `scripts/install-agent.sh` reads from this file), where the installer puts it, how it is
//! started (`sm start --config FILE`) and its configuration, set like the extension it stands
//! in for: the TTL at most 300 s (the extension's cap), the SSRF token from
//! `AWS_SESSION_TOKEN` (the provider's default list has it), credentials not validated at start
//! (moto's are local).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The crate `scripts/install-agent.sh` installs.
pub const CRATE: &str = "aws_workload_credentials_provider";

/// Its pinned version.
pub const VERSION: &str = "3.1.2";

/// Where the installer puts the binary, from the checkout's root.
pub const BIN: &str = ".tools/agent/bin/aws-workload-credentials-provider";

/// The file in which the installer records the version it installed, from the root.
pub const VERSION_FILE: &str = ".tools/agent/.version";

/// The longest TTL the extension takes; the agent is given no more.
pub const MAX_TTL_SECONDS: u64 = 300;

/// The binary in the checkout at `root`.
pub fn bin(root: &Path) -> PathBuf {
    root.join(BIN)
}

/// `<crate> <version>` of the installed agent, as its installer recorded it.
pub fn installed(root: &Path) -> Option<String> {
    let v = std::fs::read_to_string(root.join(VERSION_FILE)).ok()?;
    Some(format!("{CRATE} {}", v.trim()))
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
/// TTL of `ttl_seconds` (at most [`MAX_TTL_SECONDS`]), logs to standard output.
pub fn config(port: u16, ttl_seconds: u64, region: Option<&str>) -> String {
    let ttl = ttl_seconds.min(MAX_TTL_SECONDS);
    let region = region.map_or_else(String::new, |r| format!("region = \"{r}\"\n"));
    format!(
        "[logging]\nlog_level = \"info\"\nlog_to_file = false\n\n[capabilities.secrets_manager]\nenabled = true\nhttp_port = {port}\nvalidate_credentials = false\n{region}\n[capabilities.secrets_manager.cache]\nttl_seconds = {ttl}\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_installer_installs_the_version_pinned_here() {
        let script = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/install-agent.sh"),
        )
        .expect("scripts/install-agent.sh");
        assert!(script.contains("local-lambda/src/agent.rs"), "{script}");
        assert!(script.contains(CRATE), "{script}");
        assert!(BIN.ends_with("aws-workload-credentials-provider"));
    }

    #[test]
    fn the_ttl_is_capped_like_the_extension_s() {
        let c = config(2773, 900, None);
        assert!(c.contains("ttl_seconds = 300"), "{c}");
        assert!(c.contains("http_port = 2773"), "{c}");
        let parsed: toml::Value =
            toml::from_str(&config(4000, 5, Some("us-east-1"))).expect("TOML");
        assert_eq!(
            parsed["capabilities"]["secrets_manager"]["cache"]["ttl_seconds"].as_integer(),
            Some(5)
        );
        assert_eq!(
            parsed["capabilities"]["secrets_manager"]["region"].as_str(),
            Some("us-east-1")
        );
    }
}
