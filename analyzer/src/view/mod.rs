//! Rows that the report's tables, the exports and the plots all show, built from the summary,
//! and the one table of each: memory sizes and connections ([`memory`]), several secrets per
//! fetch ([`many`]), staleness after each rotation and what bounds it ([`staleness`]), what
//! SnapStart's restores share ([`snapstart`]). Below
//! `export/`, `plot/` and `report/`, so none of them reaches up into another.

pub mod cold;
pub mod many;
pub mod memory;
pub mod percentiles;
pub mod snapstart;
pub mod staleness;
pub mod tags;
