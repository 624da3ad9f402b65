//! Errors of the probe: those that fail INIT (a misconfigured environment) and those that
//! fail one invocation (a bad event). Fetch failures are not errors of the probe: they are
//! measurements, recorded with their class in the record.

use lambda_runtime::Diagnostic;

/// The probe cannot start with this environment. Reported to Lambda's `/runtime/init/error`.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// A variable the configured source needs is not set: set it (see docs/plan.md, "The probe's settings").
    #[error("environment variable {var} is not set: {why}")]
    Missing {
        /// The variable.
        var: &'static str,
        /// What it is for.
        why: &'static str,
    },
    /// A variable has a value the probe cannot use: fix the value as the message says.
    #[error("environment variable {var} is invalid: {reason}")]
    Invalid {
        /// The variable.
        var: &'static str,
        /// What is wrong, never the value itself when it may be secret.
        reason: String,
    },
    /// The combination of settings cannot work: change one of the named variables.
    #[error("unsupported combination: {0}")]
    Unsupported(String),
    /// The SDK configuration could not be built (for example no region): set AWS_REGION.
    #[error("AWS SDK configuration: {0}")]
    Sdk(String),
}

impl InitError {
    /// The stable `errorType` reported to Lambda.
    pub fn error_type(&self) -> &'static str {
        match self {
            InitError::Missing { .. } | InitError::Invalid { .. } => "InvalidConfiguration",
            InitError::Unsupported(_) => "UnsupportedCombination",
            InitError::Sdk(_) => "SdkConfiguration",
        }
    }
}

/// One invocation was refused. Returned as a Lambda function error.
#[derive(Debug, thiserror::Error)]
pub enum InvocationError {
    /// The event is not what the probe takes: send `{"run_id", "scenario", "fetches"?,
    /// "force_refresh"?}` and nothing else.
    #[error("invalid event: {0}")]
    InvalidEvent(String),
}

impl InvocationError {
    /// The stable `errorType` of the Lambda error response.
    pub fn error_type(&self) -> &'static str {
        match self {
            InvocationError::InvalidEvent(_) => "InvalidEvent",
        }
    }
}

impl From<InvocationError> for Diagnostic {
    fn from(err: InvocationError) -> Diagnostic {
        Diagnostic {
            error_type: err.error_type().to_owned(),
            error_message: err.to_string(),
        }
    }
}
