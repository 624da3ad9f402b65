//! Parses what Lambda writes after each invocation: the `REPORT` line (Duration, Billed
//! Duration, Memory Size, Max Memory Used, Init Duration, Restore Duration, Status) and the
//! `INIT_REPORT` line, in the text log format and in the JSON log format (`platform.report`,
//! `platform.initReport`). Fields that are absent stay absent. [`format_report_line`] writes the
//! text form, as the local platform does.

use crate::run::{InitReport, PlatformReport};

/// Known field names, longest first so `Billed Restore Duration` is not read as `Duration`.
const KEYS: [&str; 12] = [
    "Billed Restore Duration",
    "Restore Duration",
    "Max Memory Used",
    "Error Type",
    "Billed Duration",
    "Init Duration",
    "Memory Size",
    "RequestId",
    "Duration",
    "Status",
    "Phase",
    "SegmentId",
];

/// Splits `Key: value unit` fields: on Lambda's tabs when there are any (unknown keys are then
/// skipped whole), else at the known key names.
fn fields(line: &str) -> Vec<(&'static str, &str)> {
    if line.contains('\t') {
        return line
            .split('\t')
            .filter_map(|f| {
                let (k, v) = f.split_once(':')?;
                let key = KEYS.iter().find(|known| **known == k.trim())?;
                Some((*key, v.trim()))
            })
            .collect();
    }
    let mut starts: Vec<(usize, &'static str)> = Vec::new();
    let mut i = 0;
    while i < line.len() {
        let at_boundary = i == 0 || line[..i].ends_with(char::is_whitespace);
        if at_boundary {
            if let Some(key) = KEYS
                .iter()
                .find(|k| line[i..].starts_with(&format!("{k}:")))
            {
                starts.push((i, key));
                i += key.len() + 1;
                continue;
            }
        }
        i += line[i..].chars().next().map_or(1, char::len_utf8);
    }
    let mut out = Vec::new();
    for (n, (start, key)) in starts.iter().enumerate() {
        let end = starts.get(n + 1).map_or(line.len(), |(s, _)| *s);
        out.push((*key, line[start + key.len() + 1..end].trim()));
    }
    out
}

fn number(value: &str) -> Option<f64> {
    value
        .split_whitespace()
        .next()?
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite() && *v >= 0.0)
}

fn whole(value: &str) -> Option<u64> {
    number(value).map(|v| v.round() as u64)
}

/// Parses one `REPORT RequestId: ...` line.
pub fn parse_report_line(line: &str) -> Option<PlatformReport> {
    let rest = line.trim_start().strip_prefix("REPORT ")?;
    let mut r = PlatformReport::default();
    for (key, value) in fields(rest) {
        match key {
            "RequestId" => r.request_id = Some(value.to_owned()),
            "Duration" => r.duration_ms = number(value),
            "Billed Duration" => r.billed_duration_ms = whole(value),
            "Memory Size" => r.memory_size_mb = whole(value).and_then(|v| u32::try_from(v).ok()),
            "Max Memory Used" => {
                r.max_memory_used_mb = whole(value).and_then(|v| u32::try_from(v).ok())
            }
            "Init Duration" => r.init_duration_ms = number(value),
            "Restore Duration" => r.restore_duration_ms = number(value),
            "Billed Restore Duration" => r.billed_restore_duration_ms = whole(value),
            "Status" => r.status = Some(value.to_owned()),
            "Error Type" => r.error_type = Some(value.to_owned()),
            _ => {}
        }
    }
    Some(r)
}

/// The text REPORT line of `r`, tab-separated as Lambda writes it (absent fields left out).
pub fn format_report_line(r: &PlatformReport) -> String {
    use std::fmt::Write as _;
    let mut line = format!(
        "REPORT RequestId: {}\t",
        r.request_id.as_deref().unwrap_or("")
    );
    if let Some(d) = r.duration_ms {
        let _ = write!(line, "Duration: {d:.2} ms\t");
    }
    if let Some(b) = r.billed_duration_ms {
        let _ = write!(line, "Billed Duration: {b} ms\t");
    }
    if let Some(m) = r.memory_size_mb {
        let _ = write!(line, "Memory Size: {m} MB\t");
    }
    if let Some(m) = r.max_memory_used_mb {
        let _ = write!(line, "Max Memory Used: {m} MB\t");
    }
    if let Some(i) = r.init_duration_ms {
        let _ = write!(line, "Init Duration: {i:.2} ms\t");
    }
    // SnapStart: "Restore Duration: 345.43 ms\tBilled Restore Duration: 189 ms" (Lambda
    // SnapStart's "Monitoring" page).
    if let Some(d) = r.restore_duration_ms {
        let _ = write!(line, "Restore Duration: {d:.2} ms\t");
    }
    if let Some(b) = r.billed_restore_duration_ms {
        let _ = write!(line, "Billed Restore Duration: {b} ms\t");
    }
    if let Some(s) = &r.status {
        let _ = write!(line, "Status: {s}");
        if let Some(e) = &r.error_type {
            let _ = write!(line, "\tError Type: {e}");
        }
    }
    line
}

/// The text INIT_REPORT line of `r`, tab-separated as Lambda writes it when INIT failed or
/// timed out (absent fields left out).
pub fn format_init_report_line(r: &InitReport) -> String {
    let mut parts = Vec::new();
    if let Some(d) = r.init_duration_ms {
        parts.push(format!("Init Duration: {d:.2} ms"));
    }
    if let Some(p) = &r.phase {
        parts.push(format!("Phase: {p}"));
    }
    if let Some(s) = &r.status {
        parts.push(format!("Status: {s}"));
    }
    if let Some(e) = &r.error_type {
        parts.push(format!("Error Type: {e}"));
    }
    format!("INIT_REPORT {}", parts.join("\t"))
}

/// Parses one `INIT_REPORT Init Duration: ...` line.
pub fn parse_init_report_line(line: &str) -> Option<InitReport> {
    let rest = line.trim_start().strip_prefix("INIT_REPORT ")?;
    let mut r = InitReport::default();
    for (key, value) in fields(rest) {
        match key {
            "Init Duration" => r.init_duration_ms = number(value),
            "Phase" => r.phase = Some(value.to_owned()),
            "Status" => r.status = Some(value.to_owned()),
            "Error Type" => r.error_type = Some(value.to_owned()),
            _ => {}
        }
    }
    Some(r)
}

fn json_number(v: &serde_json::Value, key: &str) -> Option<f64> {
    v.get(key)?.as_f64().filter(|x| x.is_finite() && *x >= 0.0)
}

fn json_line(line: &str) -> Option<(Option<PlatformReport>, Option<InitReport>)> {
    let v: serde_json::Value = serde_json::from_str(line.trim()).ok()?;
    let record = v.get("record")?;
    let metrics = record.get("metrics");
    let status = record
        .get("status")
        .and_then(|s| s.as_str())
        .map(str::to_owned);
    let error_type = record
        .get("errorType")
        .and_then(|s| s.as_str())
        .map(str::to_owned);
    match v.get("type")?.as_str()? {
        "platform.report" => {
            let m = metrics?;
            Some((
                Some(PlatformReport {
                    request_id: record
                        .get("requestId")
                        .and_then(|s| s.as_str())
                        .map(str::to_owned),
                    duration_ms: json_number(m, "durationMs"),
                    billed_duration_ms: json_number(m, "billedDurationMs")
                        .map(|x| x.round() as u64),
                    memory_size_mb: json_number(m, "memorySizeMB").map(|x| x.round() as u32),
                    max_memory_used_mb: json_number(m, "maxMemoryUsedMB").map(|x| x.round() as u32),
                    init_duration_ms: json_number(m, "initDurationMs"),
                    restore_duration_ms: json_number(m, "restoreDurationMs"),
                    billed_restore_duration_ms: json_number(m, "billedRestoreDurationMs")
                        .map(|x| x.round() as u64),
                    status,
                    error_type,
                }),
                None,
            ))
        }
        "platform.initReport" => Some((
            None,
            Some(InitReport {
                init_duration_ms: metrics.and_then(|m| json_number(m, "durationMs")),
                phase: record
                    .get("phase")
                    .and_then(|s| s.as_str())
                    .map(str::to_owned),
                status,
                error_type,
            }),
        )),
        _ => None,
    }
}

/// The prefix of the local platform's usage line in a log tail.
pub const USAGE_PREFIX: &str = "SECBENCH_USAGE ";

/// The local platform's usage line: `SECBENCH_USAGE {json}` (Lambda writes no such line).
pub fn format_usage_line(u: &crate::run::EnvironmentUsage) -> String {
    format!(
        "{USAGE_PREFIX}{}",
        serde_json::to_string(u).unwrap_or_else(|_| "{}".into())
    )
}

/// The last usage line in a decoded log tail, if any.
pub fn parse_usage_line(tail: &str) -> Option<crate::run::EnvironmentUsage> {
    tail.lines()
        .rev()
        .find_map(|l| l.strip_prefix(USAGE_PREFIX))
        .and_then(|json| serde_json::from_str(json).ok())
}

/// Reads a decoded log tail: the last REPORT and the last INIT_REPORT in it, text or JSON.
pub fn parse_tail(tail: &str) -> (Option<PlatformReport>, Option<InitReport>) {
    let (mut report, mut init) = (None, None);
    for line in tail.lines() {
        if let Some(r) = parse_report_line(line) {
            report = Some(r);
        } else if let Some(i) = parse_init_report_line(line) {
            init = Some(i);
        } else if line.trim_start().starts_with('{') {
            if let Some((r, i)) = json_line(line) {
                report = r.or(report);
                init = i.or(init);
            }
        }
    }
    (report, init)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(format!(
            "{}/tests/fixtures/logs/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .expect("fixture")
    }

    #[test]
    fn cold_report_with_init_duration() {
        let (r, i) = parse_tail(&fixture("report-cold.txt"));
        let r = r.expect("REPORT");
        assert_eq!(
            r.request_id.as_deref(),
            Some("8f507cfc-xmpl-4697-b07a-ac58fc914c95")
        );
        assert_eq!(r.duration_ms, Some(3.25));
        assert_eq!(r.billed_duration_ms, Some(100));
        assert_eq!(r.memory_size_mb, Some(128));
        assert_eq!(r.max_memory_used_mb, Some(71));
        assert_eq!(r.init_duration_ms, Some(116.67));
        assert_eq!((r.restore_duration_ms, r.status), (None, None));
        assert!(i.is_none());
    }

    #[test]
    fn warm_report_has_no_init_duration() {
        let r = parse_tail(&fixture("report-warm.txt")).0.expect("REPORT");
        assert_eq!(
            (r.duration_ms, r.billed_duration_ms, r.init_duration_ms),
            (Some(1.31), Some(2), None)
        );
    }

    #[test]
    fn snapstart_restore_fields() {
        let r = parse_tail(&fixture("report-snapstart.txt"))
            .0
            .expect("REPORT");
        assert_eq!(r.restore_duration_ms, Some(371.55));
        assert_eq!(r.billed_restore_duration_ms, Some(323));
        assert_eq!(r.duration_ms, Some(20.46));
        assert_eq!(r.billed_duration_ms, Some(344));
        assert_eq!(
            r.init_duration_ms, None,
            "INIT ran when the version was published"
        );
        // What the local platform writes reads back the same.
        assert_eq!(parse_report_line(&format_report_line(&r)), Some(r));
    }

    #[test]
    fn timeout_with_init_report() {
        let (r, i) = parse_tail(&fixture("report-timeout-init-report.txt"));
        assert_eq!(r.expect("REPORT").status.as_deref(), Some("timeout"));
        let i = i.expect("INIT_REPORT");
        assert_eq!(i.init_duration_ms, Some(10008.54));
        assert_eq!(
            (i.phase.as_deref(), i.status.as_deref()),
            (Some("init"), Some("timeout"))
        );
    }

    #[test]
    fn json_log_format() {
        let r = parse_tail(&fixture("platform-report.jsonl"))
            .0
            .expect("platform.report");
        assert_eq!(r.duration_ms, Some(3.25));
        assert_eq!(r.billed_duration_ms, Some(4));
        assert_eq!(r.init_duration_ms, Some(116.67));
        assert_eq!(r.status.as_deref(), Some("success"));
        let (r, i) = parse_tail(&fixture("platform-init-report.jsonl"));
        let r = r.expect("report");
        assert_eq!(
            (r.status.as_deref(), r.error_type.as_deref()),
            (Some("error"), Some("Runtime.ExitError"))
        );
        let i = i.expect("initReport");
        assert_eq!(i.init_duration_ms, Some(12.5));
        assert_eq!(i.error_type.as_deref(), Some("Runtime.ExitError"));
    }

    #[test]
    fn init_report_with_error_type() {
        let i = parse_init_report_line("INIT_REPORT Init Duration: 3.20 ms\tPhase: init\tStatus: error\tError Type: Runtime.ExitError").expect("INIT_REPORT");
        assert_eq!(
            (i.status.as_deref(), i.error_type.as_deref()),
            (Some("error"), Some("Runtime.ExitError"))
        );
        let i = parse_init_report_line("INIT_REPORT Init Duration: 3.20 ms Phase: init Status: error Error Type: Runtime.ExitError").expect("spaces");
        assert_eq!(
            (i.status.as_deref(), i.error_type.as_deref()),
            (Some("error"), Some("Runtime.ExitError"))
        );
    }

    #[test]
    fn the_init_report_line_reads_back_as_written() {
        let line = "INIT_REPORT Init Duration: 3.20 ms\tPhase: init\tStatus: error\tError Type: Runtime.ExitError";
        let parsed = parse_init_report_line(line).expect("INIT_REPORT");
        assert_eq!(format_init_report_line(&parsed), line);
    }

    #[test]
    fn space_separated_and_garbage() {
        let r = parse_report_line("REPORT RequestId: x Duration: 2.00 ms Billed Duration: 2 ms Memory Size: 256 MB Max Memory Used: 30 MB").expect("REPORT");
        assert_eq!(
            (r.duration_ms, r.billed_duration_ms, r.memory_size_mb),
            (Some(2.0), Some(2), Some(256))
        );
        let r =
            parse_report_line("REPORT Duration: lots ms").expect("a REPORT line with a bad field");
        assert_eq!(r.duration_ms, None);
        assert_eq!(parse_tail("hello\n{not json\n"), (None, None));
        assert_eq!(parse_report_line("Duration: 1 ms"), None);
    }
}
