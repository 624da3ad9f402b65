//! The line every export of local-stage figures carries, so a table copied out of its report
//! still says whose figures it holds.

/// The line every export of local-stage figures carries.
pub const LOCAL_NOTE: &str = "local emulator figures (moto + the local Lambda platform), not AWS";
