//! The secbench probe: a Lambda function that fetches a secret the way its environment says
//! (source, cache, when) and returns one record per invocation saying how long each part took.
//! It never returns, logs or stores the secret value.
#![warn(missing_docs)]

pub mod cache;
pub mod calibration;
pub mod calls;
pub mod classify;
pub mod clock;
pub mod emit;
pub mod entropy;
pub mod error;
pub mod event;
pub mod multi;
pub mod probe;
pub mod runtime_api;
pub mod sdk;
pub mod secret;
pub mod settings;
pub mod source;

pub use probe::{InitClock, Probe};
