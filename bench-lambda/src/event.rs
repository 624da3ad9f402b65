//! The probe's side of the event (defined in [`secbench_record::event`]): a refused event is
//! the function error `InvalidEvent`, with the message that names the field.

use crate::error::InvocationError;
pub use secbench_record::event::{ProbeEvent, MAX_FETCHES};

/// Reads an event from the invocation payload.
pub fn from_value(value: serde_json::Value) -> Result<ProbeEvent, InvocationError> {
    ProbeEvent::from_value(value).map_err(|e| InvocationError::InvalidEvent(e.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn refused(v: serde_json::Value) -> String {
        let err = from_value(v).expect_err("refused");
        assert_eq!(err.error_type(), "InvalidEvent");
        err.to_string()
    }

    #[test]
    fn defaults_and_full_form() {
        let e = from_value(json!({"run_id": "r", "scenario": "s"})).expect("ok");
        assert_eq!((e.fetches, e.force_refresh), (1, false));
        let e = from_value(
            json!({"run_id": "r", "scenario": "s", "fetches": 3, "force_refresh": true}),
        )
        .expect("ok");
        assert_eq!((e.fetches, e.force_refresh), (3, true));
    }

    #[test]
    fn errors_name_the_field() {
        assert!(
            refused(json!({"run_id": "r", "scenario": "s", "fetches": "2"})).contains("`fetches`")
        );
        assert!(
            refused(json!({"run_id": "r", "scenario": "s", "fetches": -1})).contains("`fetches`")
        );
        assert!(refused(json!({"run_id": 5, "scenario": "s"})).contains("`run_id`"));
        assert!(refused(json!({"scenario": "s"})).contains("run_id"));
        assert!(refused(json!({"run_id": "r", "scenario": "s", "extra": 1})).contains("extra"));
        assert!(
            refused(json!({"run_id": "r", "scenario": "s", "fetches": 1_000_000}))
                .contains("maximum")
        );
        assert!(refused(json!([1, 2])).contains("invalid event"));
    }
}
