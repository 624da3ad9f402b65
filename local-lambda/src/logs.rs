//! An execution environment's log stream, and the log tail Lambda returns with
//! `LogType=Tail`: the invocation's lines, then `END` and a `REPORT` line in Lambda's format,
//! cut to the last 4 KB.

use secbench_record::run::{EnvironmentUsage, PlatformReport};

/// Lines kept per environment.
const KEEP: usize = 2048;
/// Lambda returns at most the last 4 KB of the log.
pub const TAIL_BYTES: usize = 4096;

/// The log lines of one environment, numbered.
#[derive(Debug, Default)]
pub struct LogBuffer {
    lines: std::collections::VecDeque<(u64, String)>,
    next: u64,
}

impl LogBuffer {
    /// Appends a line.
    pub fn push(&mut self, line: String) {
        self.lines.push_back((self.next, line));
        self.next += 1;
        while self.lines.len() > KEEP {
            self.lines.pop_front();
        }
    }

    /// The number the next line will get.
    pub fn mark(&self) -> u64 {
        self.next
    }

    /// Lines from `mark` on.
    pub fn since(&self, mark: u64) -> Vec<String> {
        self.lines
            .iter()
            .filter(|(n, _)| *n >= mark)
            .map(|(_, l)| l.clone())
            .collect()
    }
}

/// What the platform measured for one invocation.
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    /// Request id.
    pub request_id: String,
    /// Event delivered → result, ms.
    pub duration_ms: f64,
    /// Configured memory.
    pub memory_size_mb: u32,
    /// Peak RSS of the environment.
    pub max_memory_used_mb: u32,
    /// Spawn → ready, on cold starts.
    pub init_duration_ms: Option<f64>,
    /// A SnapStart restore: the cold start's time is the `Restore Duration` (billed apart), not
    /// an `Init Duration`.
    pub restored: bool,
    /// `timeout` or `error` where the invocation did not succeed.
    pub status: Option<&'static str>,
    /// `Error Type` where Lambda writes one (`Runtime.OutOfMemory`).
    pub error_type: Option<&'static str>,
}

impl Measured {
    /// Billed duration: INIT is billed together with the invocation (as for custom runtimes),
    /// rounded up to the next millisecond.
    /// A restore's billed part is in it too, as Lambda's REPORT shows (record's
    /// `report-snapstart.txt`: 20.46 ms + 323 ms billed restore = 344 ms billed).
    pub fn billed_duration_ms(&self) -> u64 {
        (self.duration_ms + self.init_duration_ms.unwrap_or(0.0))
            .ceil()
            .max(1.0) as u64
    }

    /// The REPORT line, tab-separated as Lambda writes it.
    pub fn report_line(&self) -> String {
        secbench_record::report_line::format_report_line(&PlatformReport {
            request_id: Some(self.request_id.clone()),
            duration_ms: Some(self.duration_ms),
            billed_duration_ms: Some(self.billed_duration_ms()),
            memory_size_mb: Some(self.memory_size_mb),
            max_memory_used_mb: Some(self.max_memory_used_mb),
            init_duration_ms: self.init_duration_ms.filter(|_| !self.restored),
            restore_duration_ms: self.init_duration_ms.filter(|_| self.restored),
            billed_restore_duration_ms: self
                .init_duration_ms
                .filter(|_| self.restored)
                .map(|d| d.ceil() as u64),
            status: self.status.map(str::to_owned),
            error_type: self.error_type.map(str::to_owned),
        })
    }
}

/// The tail: `lines`, `END`, `REPORT` and, from the local platform, its usage line, cut at a
/// line boundary to the last 4 KB.
pub fn tail(lines: &[String], measured: &Measured, usage: Option<&EnvironmentUsage>) -> String {
    let mut all: Vec<String> = lines.to_vec();
    all.push(format!("END RequestId: {}", measured.request_id));
    all.push(measured.report_line());
    if let Some(u) = usage {
        all.push(secbench_record::report_line::format_usage_line(u));
    }
    let mut text = all.join("\n");
    text.push('\n');
    if text.len() > TAIL_BYTES {
        let mut cut = text.len() - TAIL_BYTES;
        while !text.is_char_boundary(cut) {
            cut += 1;
        }
        let start = text[cut..].find('\n').map_or(cut, |i| cut + i + 1);
        text = text[start..].to_owned();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measured(init: Option<f64>) -> Measured {
        Measured {
            request_id: "r-1".into(),
            duration_ms: 2.4,
            memory_size_mb: 128,
            max_memory_used_mb: 19,
            init_duration_ms: init,
            restored: false,
            status: None,
            error_type: None,
        }
    }

    #[test]
    fn report_line_round_trips_through_the_parser() {
        let m = measured(Some(30.25));
        let r = secbench_record::report_line::parse_report_line(&m.report_line()).expect("parses");
        assert_eq!(r.duration_ms, Some(2.4));
        assert_eq!(r.billed_duration_ms, Some(33));
        assert_eq!(r.init_duration_ms, Some(30.25));
        assert_eq!(
            (r.memory_size_mb, r.max_memory_used_mb),
            (Some(128), Some(19))
        );
        let warm = secbench_record::report_line::parse_report_line(&measured(None).report_line())
            .expect("parses");
        assert_eq!(
            (warm.init_duration_ms, warm.billed_duration_ms),
            (None, Some(3))
        );
    }

    #[test]
    fn tail_is_cut_to_4kb_and_keeps_the_report() {
        let lines: Vec<String> = (0..500).map(|i| format!("log line number {i}")).collect();
        let t = tail(&lines, &measured(None), None);
        assert!(t.len() <= TAIL_BYTES);
        assert!(t.ends_with(&format!("{}\n", measured(None).report_line())));
        assert!(t.starts_with("log line number"), "cut at a line boundary");
    }
}
