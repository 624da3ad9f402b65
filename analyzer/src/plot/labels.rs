//! The labels of chart series (an approach, with its stage when several stages are shown and
//! its scenario when two scenarios share it), the memory-size facets, and a series' filter tags.

use crate::family::Families;
use crate::group::GroupKey;
use crate::summary::Summary;
use std::collections::BTreeMap;

/// Series labels: the approach (with the stage in front when several stages are shown), and
/// the scenario's name after it when two scenarios share an approach (a memory sweep, say).
#[derive(Debug)]
pub struct Labels {
    by_key: BTreeMap<(String, String), String>,
}

impl Labels {
    /// Labels for every group of `s`.
    pub fn new(s: &Summary) -> Labels {
        let mut stages: Vec<&str> = s.groups.iter().map(|g| g.key.stage.as_str()).collect();
        stages.sort_unstable();
        stages.dedup();
        let several = stages.len() > 1;
        let base = |k: &GroupKey| {
            crate::plot::series_label(&k.stage, &crate::approach::name_of(k), several)
        };
        let mut scenarios: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for g in &s.groups {
            let v = scenarios.entry(base(&g.key)).or_default();
            if !v.contains(&g.key.scenario) {
                v.push(g.key.scenario.clone());
            }
        }
        let by_key = s
            .groups
            .iter()
            .map(|g| {
                let b = base(&g.key);
                let label = if scenarios.get(&b).is_some_and(|v| v.len() > 1) {
                    format!("{b} ({})", g.key.scenario)
                } else {
                    b
                };
                ((g.key.stage.clone(), g.key.scenario.clone()), label)
            })
            .collect();
        Labels { by_key }
    }

    /// The label of a group.
    pub fn get(&self, k: &GroupKey) -> String {
        self.by_key
            .get(&(k.stage.clone(), k.scenario.clone()))
            .cloned()
            .unwrap_or_else(|| crate::approach::name_of(k))
    }
}

/// The label of a group (as [`Labels::get`]).
pub fn label(k: &GroupKey, labels: &Labels) -> String {
    labels.get(k)
}

/// The label of a group's approach (with its stage when several are shown), for charts whose
/// memory sizes are facets.
pub fn approach_label(k: &GroupKey, several_stages: bool) -> String {
    crate::plot::series_label(&k.stage, &crate::approach::name_of(k), several_stages)
}

/// Whether the summary holds more than one stage.
pub fn several_stages(s: &Summary) -> bool {
    let mut stages = s.groups.iter().map(|g| g.key.stage.as_str());
    let first = stages.next();
    stages.any(|st| Some(st) != first)
}

/// The memory sizes of the main scenarios, as facets (ascending).
pub fn facets(s: &Summary, families: &Families) -> Vec<Option<u32>> {
    let mut f: Vec<Option<u32>> = s
        .groups
        .iter()
        .filter(|g| families.of(&g.key) == crate::family::Family::Main)
        .map(|g| g.key.memory_mb)
        .collect();
    f.sort_unstable();
    f.dedup();
    f
}

/// The page filter's tags of a group's series, with its full label.
pub fn group_tags(
    k: &GroupKey,
    full_label: String,
    families: &Families,
) -> Vec<(&'static str, String)> {
    let mut tags = crate::view::tags::tags_of_group(k, families.of(k));
    tags.push(("label", full_label));
    tags
}
