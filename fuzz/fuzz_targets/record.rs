//! The record parsers on arbitrary bytes: the strict one (`validate`, error messages) and the
//! ingest path (the fast parse and the folding into histograms), with and without
//! `--skip-invalid`: an error or a count, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = secbench_analyzer::ingest::parse(data);
    let _ = secbench_analyzer::ingest::fold_bytes(data, false);
    let _ = secbench_analyzer::ingest::fold_bytes(data, true);
});
