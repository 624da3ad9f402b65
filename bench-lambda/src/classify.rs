//! One place that turns any failure (an SDK error of any service, an agent HTTP status) into
//! the record's stable error classes. Only the class and the service's error code leave this
//! module: SDK error messages can echo request data, so they are never logged or recorded.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use secbench_record::ErrorClass;

/// A failed fetch: its class and, when the service gave one, its error code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchError {
    /// The stable class.
    pub class: ErrorClass,
    /// The service's error code (e.g. `ParameterNotFound`), safe to log.
    pub code: Option<String>,
    /// A failure a cache with `ignore_transient_errors` serves its value through: a timeout,
    /// a broken connection, an unreadable response or HTTP 5xx, the rule of
    /// `aws_secretsmanager_caching`'s `is_transient_error` (a throttle, HTTP 400, is not).
    pub transient: bool,
}

impl FetchError {
    /// A failure with no service code (transient when its class is a timeout or a broken
    /// connection).
    pub fn new(class: ErrorClass) -> FetchError {
        FetchError {
            class,
            code: None,
            transient: transient_class(class),
        }
    }

    /// A failure with the service's error code and the HTTP status it came with.
    pub fn of_status(class: ErrorClass, code: Option<String>, status: u16) -> FetchError {
        FetchError {
            class,
            code,
            transient: transient_class(class) || status >= TRANSIENT_STATUS_FROM,
        }
    }
}

/// The classes that are transient whatever the status.
fn transient_class(class: ErrorClass) -> bool {
    matches!(class, ErrorClass::Timeout | ErrorClass::Connect)
}

/// HTTP statuses from this one up are transient (5xx).
const TRANSIENT_STATUS_FROM: u16 = 500;

/// Classifies a service error code, the same for KMS, SSM, Secrets Manager and the agent.
pub fn classify_code(code: &str) -> ErrorClass {
    match code {
        "ThrottlingException"
        | "Throttling"
        | "ThrottledException"
        | "TooManyRequestsException"
        | "RequestLimitExceeded" => ErrorClass::Throttled,
        "AccessDeniedException"
        | "AccessDenied"
        | "UnrecognizedClientException"
        | "InvalidClientTokenId"
        | "KMSAccessDeniedException"
        | "ExpiredTokenException" => ErrorClass::AccessDenied,
        "ResourceNotFoundException"
        | "ParameterNotFound"
        | "ParameterVersionNotFound"
        | "NotFoundException" => ErrorClass::NotFound,
        "InvalidCiphertextException" | "IncorrectKeyException" | "InvalidKeyUsageException" => {
            ErrorClass::InvalidCiphertext
        }
        "RequestTimeout" | "RequestTimeoutException" => ErrorClass::Timeout,
        _ => ErrorClass::Other,
    }
}

/// Classifies any SDK error.
pub fn classify_sdk<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> FetchError {
    match err {
        SdkError::TimeoutError(_) => FetchError::new(ErrorClass::Timeout),
        // An answer that did not read: transient, as the caching library counts it.
        SdkError::ResponseError(_) => FetchError {
            transient: true,
            ..FetchError::new(ErrorClass::Other)
        },
        SdkError::DispatchFailure(failure) => FetchError::new(if failure.is_timeout() {
            ErrorClass::Timeout
        } else if failure.is_io() {
            ErrorClass::Connect
        } else {
            ErrorClass::Other
        }),
        SdkError::ServiceError(service) => {
            let code = service.err().code().map(str::to_owned);
            let class = code
                .as_deref()
                .map(classify_code)
                .unwrap_or(ErrorClass::Other);
            FetchError::of_status(class, code, service.raw().status().as_u16())
        }
        _ => FetchError::new(ErrorClass::Other),
    }
}

/// Classifies an HTTP status (and error code, if the body had one) from the local agent.
pub fn classify_http(status: u16, code: Option<&str>) -> ErrorClass {
    if let Some(class) = code.map(classify_code).filter(|c| *c != ErrorClass::Other) {
        return class;
    }
    match status {
        401 | 403 => ErrorClass::AccessDenied,
        404 => ErrorClass::NotFound,
        408 | 504 => ErrorClass::Timeout,
        429 => ErrorClass::Throttled,
        _ => ErrorClass::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_of_each_service_map_to_classes() {
        assert_eq!(classify_code("ThrottlingException"), ErrorClass::Throttled);
        assert_eq!(classify_code("ParameterNotFound"), ErrorClass::NotFound);
        assert_eq!(
            classify_code("ResourceNotFoundException"),
            ErrorClass::NotFound
        );
        assert_eq!(
            classify_code("InvalidCiphertextException"),
            ErrorClass::InvalidCiphertext
        );
        assert_eq!(
            classify_code("AccessDeniedException"),
            ErrorClass::AccessDenied
        );
        assert_eq!(classify_code("InternalFailure"), ErrorClass::Other);
        // KMS and Secrets Manager use it for resource quotas (keys, grants, secrets), not rates.
        assert_eq!(classify_code("LimitExceededException"), ErrorClass::Other);
    }

    /// The Node.js and Python probes read `probes/error-classes.json`: the same table.
    #[test]
    fn the_other_probes_table_is_this_one() {
        let table: serde_json::Value =
            serde_json::from_str(include_str!("../../probes/error-classes.json")).expect("JSON");
        let codes = table["codes"].as_object().expect("codes");
        for (code, class) in codes {
            assert_eq!(classify_code(code).as_str(), class, "{code}");
        }
        // Every code this module knows is in the file.
        let known = codes.len();
        let in_source = include_str!("classify.rs")
            .split("pub fn classify_code")
            .nth(1)
            .and_then(|s| s.split("_ => ErrorClass::Other").next())
            .expect("classify_code")
            .matches("\"")
            .count()
            / 2;
        assert_eq!(
            known, in_source,
            "a code is missing from probes/error-classes.json"
        );
        for (status, class) in table["http_statuses"].as_object().expect("statuses") {
            let status: u16 = status.parse().expect("status");
            assert_eq!(classify_http(status, None).as_str(), class, "{status}");
        }
        // The transient rule: the same classes and the same first status.
        let transient = &table["transient"];
        let classes: Vec<&str> = transient["classes"]
            .as_array()
            .expect("transient.classes")
            .iter()
            .filter_map(|c| c.as_str())
            .collect();
        for class in ErrorClass::ALL {
            assert_eq!(
                FetchError::new(*class).transient,
                classes.contains(&class.as_str()),
                "{class}"
            );
        }
        assert_eq!(
            transient["http_status_from"].as_u64(),
            Some(u64::from(TRANSIENT_STATUS_FROM))
        );
        assert_eq!(
            transient["default_max_stale_s"].as_u64(),
            Some(secbench_record::plan::DEFAULT_MAX_STALE.as_secs())
        );
    }

    #[test]
    fn a_throttle_is_not_transient_and_a_server_error_is() {
        let throttle = FetchError::of_status(
            classify_http(400, Some("ThrottlingException")),
            Some("ThrottlingException".into()),
            400,
        );
        assert!(!throttle.transient);
        for status in [500, 503] {
            assert!(
                FetchError::of_status(classify_http(status, None), None, status).transient,
                "{status}"
            );
        }
        assert!(!FetchError::of_status(ErrorClass::NotFound, None, 404).transient);
        assert!(FetchError::of_status(ErrorClass::Timeout, None, 504).transient);
        assert!(FetchError::new(ErrorClass::Connect).transient);
    }

    #[test]
    fn agent_statuses_map_to_classes() {
        assert_eq!(classify_http(403, None), ErrorClass::AccessDenied);
        assert_eq!(
            classify_http(400, Some("ResourceNotFoundException")),
            ErrorClass::NotFound
        );
        assert_eq!(
            classify_http(400, Some("ThrottlingException")),
            ErrorClass::Throttled
        );
        assert_eq!(classify_http(500, None), ErrorClass::Other);
    }
}
