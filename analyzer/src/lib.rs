//! The analysis of secbench runs, as a library without an async runtime or an AWS SDK:
//! `ingest` streams run records into per-group histograms, `summary` and `stats` turn them into
//! percentiles with bootstrap intervals, `compare` sets two runs side by side, `cost` prices
//! every approach from a dated table, and `export`, `plot` and `report` render all of it.
//! Callers (the `secbench` CLI) decide which files to read and where output goes.
#![warn(missing_docs)]

pub mod approach;
pub mod calibration;
pub mod compare;
pub mod cost;
pub mod export;
pub mod family;
pub mod group;
pub mod hdr;
pub mod ingest;
pub mod plot;
pub mod report;
pub mod staleness;
pub mod stats;
pub mod summary;
pub mod table;
pub use secbench_record::units;
pub mod validate;
pub mod view;
