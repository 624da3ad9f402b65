//! The REPORT / platform.report parsers on arbitrary log text: never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = secbench_record::report_line::parse_report_line(text);
        let _ = secbench_record::report_line::parse_init_report_line(text);
        let _ = secbench_record::report_line::parse_tail(text);
    }
});
