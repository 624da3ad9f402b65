//! The agent that stands in for the Parameters and Secrets Lambda Extension on the local stage:
//! the Secrets Manager server of the AWS Workload Credentials Provider (the Secrets Manager
//! Agent's successor, crates.io `aws_secretsmanager_provider`, pinned in the workspace's
//! `Cargo.toml`), started exactly as the provider's own binary starts it for
//! `aws-workload-credentials-provider sm start --config FILE`: the file validated by the
//! provider's validator, its logger set up, then the provider's `run_sm`. Built by the same
//! `cargo build` as the probe and the CLI, so its AWS SDK, TLS and HTTP crates are compiled
//! once for all three instead of again by `cargo install`.
#![warn(missing_docs)]

use aws_workload_credentials_provider_common::config::validator::ConfigValidator;
use std::path::Path;

/// The provider this agent runs, for the emulation statement (name and the version pinned in
/// `Cargo.toml`; a test keeps the two in step).
pub const PROVIDER: &str = "aws_secretsmanager_provider 3.1.2";

/// Why the agent did not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The arguments are not `sm start --config FILE`.
    #[error("usage: secbench-agent sm start --config FILE")]
    Usage,
    /// The provider refused the configuration file or failed while serving: its message.
    #[error("{0}")]
    Provider(String),
}

/// Starts the Secrets Manager server with the configuration in `config` and serves until
/// SIGINT or SIGTERM (the provider's own signal handling).
pub fn sm_start(config: &Path) -> Result<(), AgentError> {
    let provider = |e: Box<dyn std::error::Error>| AgentError::Provider(e.to_string());
    let path = config.to_str().ok_or(AgentError::Usage)?;
    let validated = ConfigValidator::new()
        .validate(Some(path))
        .map_err(|e| AgentError::Provider(e.to_string()))?;
    if !validated.secrets_manager.enabled {
        return Err(AgentError::Provider(
            "Secrets Manager is not enabled in the configuration".into(),
        ));
    }
    let log_dir = aws_workload_credentials_provider_common::logging::log_dir().map_err(provider)?;
    aws_workload_credentials_provider_common::logging::init_logger(
        validated.logging.log_level,
        validated.logging.log_to_file,
        "secrets_manager_provider",
        &log_dir,
    )
    .map_err(provider)?;
    aws_secretsmanager_provider::run_sm(validated).map_err(provider)
}

/// Reads `sm start --config FILE` (the provider's own arguments, which
/// `secbench_local_lambda::agent::args` writes) and returns the file.
pub fn parse_args(args: &[std::ffi::OsString]) -> Result<&Path, AgentError> {
    match args {
        [sm, start, flag, file]
            if sm == "sm" && start == "start" && (flag == "--config" || flag == "-c") =>
        {
            Ok(Path::new(file))
        }
        _ => Err(AgentError::Usage),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_takes_the_provider_s_own_arguments() {
        let args: Vec<std::ffi::OsString> = ["sm", "start", "--config", "/tmp/a.toml"]
            .iter()
            .map(Into::into)
            .collect();
        assert_eq!(parse_args(&args).ok(), Some(Path::new("/tmp/a.toml")));
        assert!(parse_args(&args[..2]).is_err());
    }

    #[test]
    fn the_provider_named_is_the_one_pinned() {
        let manifest = include_str!("../../Cargo.toml");
        let version = PROVIDER.rsplit(' ').next().unwrap_or_default();
        assert!(
            manifest.contains(&format!(
                "aws_secretsmanager_provider = {{ version = \"={version}\""
            )),
            "the workspace pins another version than {PROVIDER}"
        );
    }

    #[test]
    fn the_provider_reads_ignore_transient_errors_where_the_local_stage_writes_it() {
        let dir = std::env::temp_dir().join(format!("secbench-agent-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let read = |line: &str| {
            let path = dir.join("agent.toml");
            std::fs::write(
                &path,
                format!(
                    "[capabilities.secrets_manager]\nenabled = true\nhttp_port = 2773\n{line}\n"
                ),
            )
            .expect("write");
            ConfigValidator::new()
                .validate(path.to_str())
                .expect("the provider's validator accepts it")
                .secrets_manager
                .ignore_transient_errors
        };
        assert!(!read("ignore_transient_errors = false"));
        assert!(read("ignore_transient_errors = true"));
        // The provider's default, which the plan's default follows.
        assert!(read(""));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
