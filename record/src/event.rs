//! The event the probe takes: `{"run_id", "scenario", "fetches"?, "force_refresh"?}`. The
//! runner writes it with [`ProbeEvent`]'s `Serialize`, the probe reads it with
//! [`ProbeEvent::from_value`]; anything else, or a wrong type, is refused with a message that
//! names the field.

use serde::{Deserialize, Serialize};

/// The most fetches one invocation may ask for; more would make the invocation itself the
/// thing measured.
pub const MAX_FETCHES: u32 = 10_000;

/// One invocation's instructions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub force_refresh: bool,
}

fn one() -> u32 {
    1
}

/// An event that is not one: the message names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct EventError(pub String);

impl ProbeEvent {
    /// Reads an event from the invocation payload.
    pub fn from_value(value: serde_json::Value) -> Result<ProbeEvent, EventError> {
        // serde would read a struct from an array too (fields by position): only an object
        // is an event.
        if !value.is_object() {
            return Err(EventError(format!(
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
                EventError(inner)
            } else {
                EventError(format!("field `{path}`: {inner}"))
            }
        })?;
        if event.fetches > MAX_FETCHES {
            return Err(EventError(format!(
                "field `fetches`: {} is more than the maximum {MAX_FETCHES}",
                event.fetches
            )));
        }
        Ok(event)
    }

    /// The payload the runner sends.
    pub fn to_json(&self) -> String {
        // A struct of strings, numbers and a bool always serializes.
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_the_runner_writes_the_probe_reads() {
        let e = ProbeEvent {
            run_id: "r".into(),
            scenario: "s".into(),
            fetches: 3,
            force_refresh: false,
        };
        assert_eq!(e.to_json(), r#"{"run_id":"r","scenario":"s","fetches":3}"#);
        let back = ProbeEvent::from_value(serde_json::from_str(&e.to_json()).expect("json"));
        assert_eq!(back, Ok(e));
    }
}
