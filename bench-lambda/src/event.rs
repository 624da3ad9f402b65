//! The event the probe takes: `{"run_id", "scenario", "fetches"?, "force_refresh"?}`.
//! Anything else, or a wrong type, is refused with a message that names the field.

use crate::error::InvocationError;
use serde::Deserialize;

/// The most fetches one invocation may ask for; more would make the invocation itself the
/// thing measured.
pub const MAX_FETCHES: u32 = 10_000;

/// One invocation's instructions.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeEvent {
    /// The run this invocation belongs to.
    pub run_id: String,
    /// The scenario name, echoed into the record.
    pub scenario: String,
    /// How many fetches to make (default 1).
    #[serde(default = "one")]
    pub fetches: u32,
    /// Bypass the cache on the first fetch.
    #[serde(default)]
    pub force_refresh: bool,
}

fn one() -> u32 {
    1
}

impl ProbeEvent {
    /// Reads an event from the invocation payload.
    pub fn from_value(value: serde_json::Value) -> Result<ProbeEvent, InvocationError> {
        // serde would read a struct from an array too (fields by position): only an object
        // is an event.
        if !value.is_object() {
            return Err(InvocationError::InvalidEvent(format!(
                "the event must be a JSON object, not {}",
                match value {
                    serde_json::Value::Null => "null",
                    serde_json::Value::Bool(_) => "a boolean",
                    serde_json::Value::Number(_) => "a number",
                    serde_json::Value::String(_) => "a string",
                    serde_json::Value::Array(_) => "an array",
                    serde_json::Value::Object(_) => "an object",
                }
            )));
        }
        let event: ProbeEvent = serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner().to_string();
            if path == "." {
                InvocationError::InvalidEvent(inner)
            } else {
                InvocationError::InvalidEvent(format!("field `{path}`: {inner}"))
            }
        })?;
        if event.fetches > MAX_FETCHES {
            return Err(InvocationError::InvalidEvent(format!(
                "field `fetches`: {} is more than the maximum {MAX_FETCHES}",
                event.fetches
            )));
        }
        Ok(event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn refused(v: serde_json::Value) -> String {
        let err = ProbeEvent::from_value(v).expect_err("refused");
        assert_eq!(err.error_type(), "InvalidEvent");
        err.to_string()
    }

    #[test]
    fn defaults_and_full_form() {
        let e = ProbeEvent::from_value(json!({"run_id": "r", "scenario": "s"})).expect("ok");
        assert_eq!((e.fetches, e.force_refresh), (1, false));
        let e = ProbeEvent::from_value(
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
