//! The `secbench` operator CLI as a library: `cli` parses the command line, `commands` runs
//! one command each (one file per command, `commands::run` dispatches), `run` is the experiment
//! runner (the same on AWS and on the local stage), `plan` reads plan files, `provision` and
//! `stage_file` fill in and describe deployed stages, `targets` says where a several-secrets
//! scenario reads its secrets, `local_stage` sets up the whole experiment on one machine, and
//! `in_aws` (feature `in-aws`) runs a plan inside AWS on Step Functions with records in S3.
//! The analysis lives in `secbench-analyzer`, the local Lambda platform in
//! `secbench-local-lambda`, every format in `secbench-record`.
#![warn(missing_docs)]

pub mod cli;
pub mod commands;
#[cfg(feature = "in-aws")]
pub mod in_aws;
pub mod local_stage;
pub use secbench_record::plan;
pub mod provision;
pub mod run;
pub mod stage_file;
pub mod targets;
