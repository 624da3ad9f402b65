//! The cost model of SnapStart (an approach whose `concurrency` is `snapstart`), beside on
//! demand and provisioned at the same workload.
//!
//! A SnapStart version's INIT runs once, when it is published; each new environment restores
//! its snapshot. So:
//!
//! - a fetch at INIT is made once per version: `versions_per_month × secrets` calls (counted in
//!   [`super::counts`]); a fetch in the after-restore hook once per restore, as an on-demand
//!   fetch at INIT is once per new environment;
//! - restores `R = new environments per month × functions`, each charged per GB of memory:
//!   `R × memory GB × restore price`;
//! - the snapshot's cache, per GB-second of memory while a version is active, three hours at
//!   least per version: `max(active_versions × month, versions_per_month × 3 h) × memory GB ×
//!   functions × cache price`.
//!
//! Neither the versions a month nor the versions kept active is on an AWS page: the workload's
//! `[snapstart]` sets them, else they are assumed and every SnapStart row says so.

use super::counts::Counts;
use super::pricing::Pricing;
use super::workload::Workload;

/// What a SnapStart approach is charged for in a month, all functions.
#[derive(Debug, Clone, PartialEq)]
pub struct Charges {
    /// Restores.
    pub restores: f64,
    /// GB restored (restores × memory).
    pub gb_restored: f64,
    /// GB-seconds of snapshot cached.
    pub cached_gb_seconds: f64,
    /// Versions cached at once.
    pub active_versions: f64,
    /// Versions published a month.
    pub versions_per_month: f64,
    /// What it assumes (the workload sets neither count).
    pub notes: Vec<String>,
}

/// A SnapStart approach's restores and snapshot cache at the workload.
pub fn charges(w: &Workload, p: &Pricing, c: &Counts) -> Charges {
    let prices = &p.lambda.snapstart;
    let functions = f64::from(w.functions);
    let gb = f64::from(w.memory_mb) / 1024.0;
    let (versions, versions_assumed) = w.snapstart_versions_per_month();
    let (active, active_assumed) = w.snapstart_active_versions();
    let restores = c.new_environments * functions;
    let cached_s = (active * c.month_s).max(versions * prices.minimum_cache_seconds);
    let mut assumed = Vec::new();
    if versions_assumed {
        assumed.push(format!("{versions} versions published a month"));
    }
    if active_assumed {
        assumed.push(format!("{active} version cached at once"));
    }
    let mut notes = vec![format!(
        "SnapStart: INIT runs once per published version ({versions} a month), each new environment restores its snapshot ({restores:.0} restores a month); a fetch at INIT is frozen into the snapshot and served until the version is replaced"
    )];
    if !assumed.is_empty() {
        notes.push(format!(
            "SnapStart assumes {} (the workload's [snapstart] versions_per_month and active_versions)",
            assumed.join(" and ")
        ));
    }
    Charges {
        restores,
        gb_restored: restores * gb,
        cached_gb_seconds: cached_s * gb * functions,
        active_versions: active,
        versions_per_month: versions,
        notes,
    }
}
