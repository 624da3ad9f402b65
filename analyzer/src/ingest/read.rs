//! How a line is read: the reader made for the record's layout ([`super::scan`]) first,
//! serde_json behind `Lite`'s derive where that one declines, and the strict parser
//! ([`super::lite::parse`]) for the message when neither takes the line; then the schema version
//! is checked and a version-1 timeout read as one.

use super::lite::{parse, Lite, RecordError};

/// Whether the reader made for the record's layout agrees with serde_json on `line`: it either
/// declines the line or reads what serde_json reads, alone and as the first of two lines of a
/// chunk. The fuzz target `record` checks it on arbitrary bytes.
#[doc(hidden)]
pub fn readers_agree(line: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(line) else {
        return true;
    };
    let Some(fast) = super::scan::lite(text) else {
        return true;
    };
    let chunk = format!("{text}\n{text}");
    let in_chunk = super::scan::line_at(&chunk, 0);
    serde_json::from_str::<Lite<'_>>(text).ok().as_ref() == Some(&fast)
        && in_chunk.is_some_and(|(r, end)| r == fast && end == text.len())
}

/// Parses one line: the fast borrowed parse, and on failure the strict parse for a message that
/// names the field.
pub(crate) fn parse_lite(line: &[u8]) -> Result<Lite<'_>, RecordError> {
    // One UTF-8 check of the whole line (std's, fast on ASCII) instead of one per string; then
    // the reader made for the record's layout, and serde_json where that one is not sure.
    std::str::from_utf8(line)
        .ok()
        .and_then(|text| {
            super::scan::lite(text).or_else(|| serde_json::from_str::<Lite<'_>>(text).ok())
        })
        .and_then(as_read)
        .ok_or_else(|| parse(line).err().unwrap_or(RecordError::NotARecord))
}

/// A view read from a line as the analysis takes it: `None` for a schema version this secbench
/// does not read; a version-1 function timeout read as one.
pub(crate) fn as_read(mut r: Lite<'_>) -> Option<Lite<'_>> {
    if !secbench_record::run::readable_run_schema(r.run_schema_version) {
        return None;
    }
    r.outcome = secbench_record::run::outcome_as_read(
        r.run_schema_version,
        r.outcome,
        r.error_type.as_deref(),
        r.platform.as_ref().and_then(|p| p.status.as_deref()),
    );
    Some(r)
}
