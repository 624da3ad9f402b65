//! The JSON summary.

use crate::summary::Summary;

/// Pretty JSON with a trailing newline.
pub fn render(summary: &Summary) -> String {
    let mut s =
        serde_json::to_string_pretty(summary).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}
