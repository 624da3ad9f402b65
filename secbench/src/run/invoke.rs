//! One synchronous invocation through `aws-sdk-lambda` (`LogType=Tail`, no SDK retries), turned
//! into exactly one outcome: the function's probe record joined with the REPORT line of the
//! decoded log tail and the caller's own timing.

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{InvocationType, LogType};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use base64::Engine as _;
use secbench_record::report_line::parse_tail;
use secbench_record::run::{InitReport, InvocationOutcome, PlatformReport};
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
    /// The probe's record.
    pub probe: Option<ProbeRecord>,
    /// When the request was sent.
    pub sent: Instant,
    /// When the response was complete.
    pub done: Instant,
}

/// The error type a function error payload names (`errorType`), if any.
fn error_type_of(payload: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(payload).ok()?;
    v.get("errorType")
        .and_then(|t| t.as_str())
        .map(str::to_owned)
}

/// Invokes `function` with `event` once.
pub async fn invoke(client: &aws_sdk_lambda::Client, function: &str, event: &[u8]) -> Invoked {
    let sent = Instant::now();
    let result = client
        .invoke()
        .function_name(function)
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
                let (report, init) = parse_tail(&String::from_utf8_lossy(&tail));
                out.platform = report;
                out.init_report = init;
            }
            let payload = resp.payload.map(Blob::into_inner).unwrap_or_default();
            if resp.function_error.is_some() {
                out.outcome = InvocationOutcome::FunctionError;
                out.error_type = error_type_of(&payload).or(resp.function_error);
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
            out.outcome = InvocationOutcome::Timeout;
            out.error_type = Some("CallerTimeout".into());
        }
        Err(SdkError::DispatchFailure(d)) => {
            out.outcome = if d.is_timeout() {
                InvocationOutcome::Timeout
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
