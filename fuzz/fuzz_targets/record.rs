//! The record parsers on arbitrary bytes: the strict one (`validate`, error messages) and the
//! ingest path (the fast parse and the folding into histograms), with and without
//! `--skip-invalid`: an error or a count, never a panic; and the reader made for the record's
//! layout never reads a line otherwise than serde_json does.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = secbench_analyzer::ingest::parse(data);
    assert!(secbench_analyzer::ingest::readers_agree(data));
    let _ = secbench_analyzer::ingest::fold_bytes(data, false);
    let _ = secbench_analyzer::ingest::fold_bytes(data, true);
});
