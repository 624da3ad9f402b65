//! Durations as people write them in plans, workloads, settings and options (`250ms`, `5s`,
//! `5m`, `1h 30m`): the one parser every reader of such a value uses, and a serde module for
//! fields that hold one.

use std::time::Duration;

/// A duration that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{given}` is not a duration ({reason}); write e.g. 250ms, 5s, 5m or 1h")]
pub struct DurationError {
    /// What was given.
    pub given: String,
    /// Why it was refused.
    pub reason: String,
}

/// Parses `250ms`, `5s`, `5m`, `1h 30m`, ... (humantime's grammar).
pub fn parse(text: &str) -> Result<Duration, DurationError> {
    humantime::parse_duration(text.trim()).map_err(|e| DurationError {
        given: text.to_owned(),
        reason: e.to_string(),
    })
}

/// Formats a duration the way [`parse`] reads it back (`5m`, `1s 500ms`).
pub fn format(d: Duration) -> String {
    humantime::format_duration(d).to_string()
}

/// `#[serde(with = "secbench_record::duration::serde")]` for a `Duration` field written as text.
pub mod serde {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    /// Writes the duration as text.
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format(*d))
    }

    /// Reads a duration from text.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        super::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// `#[serde(default, with = "secbench_record::duration::option")]` for an `Option<Duration>`.
pub mod option {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    /// Writes the duration as text, or nothing.
    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_str(&super::format(*d)),
            None => s.serialize_none(),
        }
    }

    /// Reads an optional duration from text.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|t| super::parse(&t).map_err(serde::de::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_people_write_and_names_what_is_wrong() {
        assert_eq!(parse("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse(" 5m "), Ok(Duration::from_secs(300)));
        assert_eq!(parse("1h 30m"), Ok(Duration::from_secs(5400)));
        let e = parse("5 parsecs").expect_err("refused");
        assert!(e.to_string().contains("`5 parsecs`"), "{e}");
        assert!(parse("").is_err());
        assert_eq!(
            parse(&format(Duration::from_millis(1500))),
            Ok(Duration::from_millis(1500))
        );
    }
}
