//! One synchronous invocation through `aws-sdk-lambda` (`LogType=Tail`, no SDK retries), turned
//! into exactly one outcome: the function's probe record joined with the REPORT line of the
//! decoded log tail and the caller's own timing.

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{InvocationType, LogType};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use base64::Engine as _;
use secbench_record::report_line::{parse_tail, parse_usage_line};
use secbench_record::run::{EnvironmentUsage, InitReport, InvocationOutcome, PlatformReport};
use secbench_record::ProbeRecord;
use std::time::Instant;

/// The caller-side result of one invocation.
#[derive(Debug, Clone)]
pub struct Invoked {
    /// The outcome.
    pub outcome: InvocationOutcome,
    /// The function error type or Lambda error code.
    pub error_type: Option<String>,
    /// HTTP status, when a response came.
    pub status_code: Option<u16>,
    /// `X-Amz-Executed-Version`.
    pub executed_version: Option<String>,
    /// Parsed REPORT.
    pub platform: Option<PlatformReport>,
    /// Parsed INIT_REPORT.
    pub init_report: Option<InitReport>,
    /// The local platform's usage line (absent on AWS).
    pub environment_usage: Option<EnvironmentUsage>,
    /// The probe's record.
    pub probe: Option<ProbeRecord>,
    /// When the request was sent.
    pub sent: Instant,
    /// When the response was complete.
    pub done: Instant,
}

pub use secbench_record::run::SANDBOX_TIMEDOUT;

/// What a function error (`X-Amz-Function-Error`) came to: a function timeout when the payload
/// says `Sandbox.Timedout` (or, in older runtimes' shape, only "Task timed out after N
/// seconds") or the REPORT line says `Status: timeout`; else a function error. The error type
/// is the payload's `errorType`, else the header's value.
pub fn function_error_outcome(
    header: &str,
    payload: &[u8],
    report: Option<&PlatformReport>,
) -> (InvocationOutcome, String) {
    let v: Option<serde_json::Value> = serde_json::from_slice(payload).ok();
    let field = |k: &str| {
        v.as_ref()
            .and_then(|v| v.get(k))
            .and_then(|t| t.as_str())
            .map(str::to_owned)
    };
    let error_type = field("errorType");
    let timed_out = error_type.as_deref() == Some(SANDBOX_TIMEDOUT)
        || field("errorMessage").is_some_and(|m| m.contains("Task timed out after"))
        || report.and_then(|r| r.status.as_deref()) == Some("timeout");
    if timed_out {
        (
            InvocationOutcome::FunctionTimeout,
            error_type.unwrap_or_else(|| SANDBOX_TIMEDOUT.to_owned()),
        )
    } else {
        (
            InvocationOutcome::FunctionError,
            error_type.unwrap_or_else(|| header.to_owned()),
        )
    }
}

/// Invokes `function` with `event` once.
pub async fn invoke(client: &aws_sdk_lambda::Client, function: &str, event: &[u8]) -> Invoked {
    invoke_at(client, function, None, event).await
}

/// [`invoke`] of a version or alias (`qualifier`; `None`: `$LATEST`).
pub async fn invoke_at(
    client: &aws_sdk_lambda::Client,
    function: &str,
    qualifier: Option<&str>,
    event: &[u8],
) -> Invoked {
    let sent = Instant::now();
    let result = client
        .invoke()
        .function_name(function)
        .set_qualifier(qualifier.map(str::to_owned))
        .invocation_type(InvocationType::RequestResponse)
        .log_type(LogType::Tail)
        .payload(Blob::new(event))
        .send()
        .await;
    let done = Instant::now();
    let mut out = Invoked {
        outcome: InvocationOutcome::Transport,
        error_type: None,
        status_code: None,
        executed_version: None,
        platform: None,
        init_report: None,
        environment_usage: None,
        probe: None,
        sent,
        done,
    };
    match result {
        Ok(resp) => {
            out.status_code = u16::try_from(resp.status_code).ok();
            out.executed_version = resp.executed_version;
            if let Some(tail) = resp
                .log_result
                .as_deref()
                .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
            {
                let tail = String::from_utf8_lossy(&tail);
                let (report, init) = parse_tail(&tail);
                out.environment_usage = parse_usage_line(&tail);
                out.platform = report;
                out.init_report = init;
            }
            let payload = resp.payload.map(Blob::into_inner).unwrap_or_default();
            if let Some(header) = &resp.function_error {
                let (outcome, error_type) =
                    function_error_outcome(header, &payload, out.platform.as_ref());
                out.outcome = outcome;
                out.error_type = Some(error_type);
            } else {
                match std::str::from_utf8(&payload)
                    .ok()
                    .map(ProbeRecord::from_json)
                {
                    Some(Ok(record)) => {
                        out.outcome = InvocationOutcome::Ok;
                        out.probe = Some(record);
                    }
                    _ => {
                        out.outcome = InvocationOutcome::FunctionError;
                        out.error_type = Some("secbench.InvalidProbeRecord".into());
                    }
                }
            }
        }
        Err(SdkError::ServiceError(e)) => {
            out.status_code = Some(e.raw().status().as_u16());
            out.error_type = e.err().code().map(str::to_owned);
            out.outcome =
                if e.err().is_too_many_requests_exception() || out.status_code == Some(429) {
                    InvocationOutcome::Throttled
                } else {
                    InvocationOutcome::Transport
                };
        }
        Err(SdkError::TimeoutError(_)) => {
            out.outcome = InvocationOutcome::CallerTimeout;
            out.error_type = Some("CallerTimeout".into());
        }
        Err(SdkError::DispatchFailure(d)) => {
            out.outcome = if d.is_timeout() {
                InvocationOutcome::CallerTimeout
            } else {
                InvocationOutcome::Transport
            };
            out.error_type = Some(
                if d.is_timeout() {
                    "CallerTimeout"
                } else if d.is_io() {
                    "ConnectionError"
                } else {
                    "DispatchFailure"
                }
                .into(),
            );
        }
        Err(SdkError::ResponseError(r)) => {
            out.status_code = Some(r.raw().status().as_u16());
            out.error_type = Some("ResponseError".into());
        }
        Err(_) => out.error_type = Some("RequestNotSent".into()),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!(
            "{}/tests/fixtures/lambda/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .expect("fixture")
    }

    fn report(name: &str) -> Option<PlatformReport> {
        let text = std::fs::read_to_string(format!(
            "{}/../record/tests/fixtures/logs/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .expect("fixture");
        parse_tail(&text).0
    }

    #[test]
    fn a_function_past_its_timeout_is_a_function_timeout_in_both_shapes() {
        // The provided.al2023 shape: errorType Sandbox.Timedout, REPORT Status: timeout.
        let timeout_report = report("report-timeout-init-report.txt");
        assert_eq!(
            function_error_outcome(
                "Unhandled",
                &fixture("invoke-timeout-sandbox.json"),
                timeout_report.as_ref()
            ),
            (
                InvocationOutcome::FunctionTimeout,
                SANDBOX_TIMEDOUT.to_owned()
            )
        );
        // The older shape: only the message says so, and no REPORT line came with it.
        assert_eq!(
            function_error_outcome(
                "Unhandled",
                &fixture("invoke-timeout-message-only.json"),
                None
            ),
            (
                InvocationOutcome::FunctionTimeout,
                SANDBOX_TIMEDOUT.to_owned()
            )
        );
        // A payload that says nothing, with a REPORT line that does.
        assert_eq!(
            function_error_outcome("Unhandled", b"", timeout_report.as_ref()).0,
            InvocationOutcome::FunctionTimeout
        );
    }

    #[test]
    fn other_function_errors_stay_function_errors() {
        assert_eq!(
            function_error_outcome(
                "Unhandled",
                &fixture("invoke-runtime-exit-error.json"),
                report("report-warm.txt").as_ref()
            ),
            (
                InvocationOutcome::FunctionError,
                "Runtime.ExitError".to_owned()
            )
        );
        assert_eq!(
            function_error_outcome("Handled", b"not json", None),
            (InvocationOutcome::FunctionError, "Handled".to_owned())
        );
    }
}
