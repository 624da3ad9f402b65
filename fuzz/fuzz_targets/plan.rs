//! The plan parser (TOML, then every check) on arbitrary text: an error or a plan, never a
//! panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = secbench_record::plan::Plan::parse(std::path::Path::new("fuzz.toml"), text);
    }
});
