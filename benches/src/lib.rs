//! Criterion benchmarks of secbench live in `benches/`; this crate has no code of its own.
