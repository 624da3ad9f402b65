//! The page filter's tags of a row or a series: its family, source, cache mode, memory size and
//! approach, the same on every table and chart.

use crate::approach::Approach;
use crate::family::Family;
use crate::group::GroupKey;

/// The filter's tags of the rows about `scenario` (those of its first group; no tags for a
/// scenario the summary does not have).
pub fn tags_of_scenario(
    summary: &crate::summary::Summary,
    families: &crate::family::Families,
    scenario: &str,
) -> Vec<(&'static str, String)> {
    summary
        .groups
        .iter()
        .find(|g| g.key.scenario == scenario)
        .map(|g| tags_of_group(&g.key, families.of(&g.key)))
        .unwrap_or_default()
}

/// The filter's tags of a group's row.
pub fn tags_of_group(k: &GroupKey, family: Family) -> Vec<(&'static str, String)> {
    let mut tags = vec![("family", family.as_str().to_owned())];
    if let Some(s) = k.source {
        tags.push(("source", s.to_string()));
    }
    if let Some(c) = k.cache {
        tags.push(("cache", c.to_string()));
    }
    if let Some(m) = k.memory_mb {
        tags.push(("memory", m.to_string()));
    }
    if let Some(a) = Approach::of(k) {
        tags.push(("approach", a.name()));
    }
    tags
}
