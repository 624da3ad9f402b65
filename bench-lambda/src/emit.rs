//! The two log lines each invocation writes: the record itself (so CloudWatch Logs keeps
//! every record) and a CloudWatch Embedded Metric Format line with the headline metrics.

use secbench_record::{FetchPhase, ProbeRecord};
use std::io::Write;
use std::sync::{Arc, Mutex};

/// Where the log lines go: stdout on Lambda, a buffer in tests.
#[derive(Debug, Clone)]
pub enum LogSink {
    /// Standard output (CloudWatch Logs on Lambda).
    Stdout,
    /// An in-memory buffer.
    Memory(Arc<Mutex<Vec<u8>>>),
}

impl LogSink {
    /// Writes one record's lines.
    pub fn emit(&self, record: &ProbeRecord, timestamp_ms: u128) {
        let lines = log_lines(record, timestamp_ms);
        match self {
            LogSink::Stdout => {
                let mut out = std::io::stdout().lock();
                // A log line that cannot be written must not fail the invocation: the record
                // is also in the response.
                let _ = out.write_all(lines.as_bytes()).and_then(|_| out.flush());
            }
            LogSink::Memory(buf) => {
                secbench_record::sync::lock(buf).extend_from_slice(lines.as_bytes())
            }
        }
    }
}

/// The record line and the EMF line, each ending in a newline.
pub fn log_lines(record: &ProbeRecord, timestamp_ms: u128) -> String {
    let record_line = serde_json::json!({ "secbench_record": record });
    let first_handler_fetch = record
        .fetches
        .iter()
        .find(|f| f.phase == FetchPhase::Handler);
    let mut metrics =
        vec![serde_json::json!({"Name": "handler_duration_us", "Unit": "Microseconds"})];
    let mut emf = serde_json::json!({
        "_aws": {
            "Timestamp": timestamp_ms as u64,
            "CloudWatchMetrics": [{
                "Namespace": "secbench",
                "Dimensions": [["scenario", "source", "cache"]],
                "Metrics": []
            }]
        },
        "scenario": record.scenario,
        "source": record.source,
        "cache": record.cache,
        "cold": record.cold,
        "run_id": record.run_id,
        "handler_duration_us": record.handler_duration_ns as f64 / 1e3,
    });
    if let Some(fetch) = first_handler_fetch {
        metrics.push(serde_json::json!({"Name": "fetch_latency_us", "Unit": "Microseconds"}));
        emf["fetch_latency_us"] = serde_json::json!(fetch.latency_ns as f64 / 1e3);
        emf["outcome"] = serde_json::json!(fetch.outcome);
    }
    if let Some(init) = &record.init {
        metrics.push(serde_json::json!({"Name": "init_main_to_ready_us", "Unit": "Microseconds"}));
        emf["init_main_to_ready_us"] = serde_json::json!(init.main_to_ready_ns as f64 / 1e3);
    }
    let errors = record
        .fetches
        .iter()
        .filter(|f| f.error_class.is_some())
        .count();
    metrics.push(serde_json::json!({"Name": "fetch_errors", "Unit": "Count"}));
    emf["fetch_errors"] = serde_json::json!(errors);
    emf["_aws"]["CloudWatchMetrics"][0]["Metrics"] = serde_json::Value::Array(metrics);
    format!("{record_line}\n{emf}\n")
}
