//! SnapStart's restores per group: what every environment restored from one snapshot shares
//! (randomness drawn at INIT, and a generator's state drawn from after the restore) and what it
//! does not (the kernel's randomness), and whether the first call after a restore opened a new
//! connection. The one table of it, in the report's HTML and Markdown.

use crate::summary::{SnapStartSummary, Summary};
use crate::table::Table;

/// What the table shows, for the report.
pub const EXPLANATION: &str = "Per SnapStart group: its restored environments, and for each kind of randomness (Python's random and os.urandom, drawn at INIT and again in the after-restore hook) whether every restore drew the same value (shared through the snapshot: IDs or seeds drawn there are not unique) or how many distinct values they drew; and how many restores' first API call opened a new connection (the snapshot's are dead after a restore).";

/// The table; empty without SnapStart groups.
pub fn table(s: &Summary) -> Table {
    let mut t = Table::new(
        [
            "approach",
            "phase",
            "restores",
            "random at INIT",
            "os.urandom at INIT",
            "random after restore",
            "os.urandom after restore",
            "first call on a new connection",
        ],
        "LLRLLLLR",
    );
    for g in &s.groups {
        let Some(r) = &g.snapstart else { continue };
        let shared = |distinct: u64| describe(r, distinct);
        t.push(vec![
            crate::approach::name_of(&g.key),
            g.key.phase.to_string(),
            r.restores.to_string(),
            shared(r.distinct_init_random),
            shared(r.distinct_init_urandom),
            shared(r.distinct_restore_random),
            shared(r.distinct_restore_urandom),
            if r.called == 0 {
                "–".to_owned()
            } else {
                format!("{} of {}", r.reconnected, r.called)
            },
        ]);
    }
    t
}

fn describe(r: &SnapStartSummary, distinct: u64) -> String {
    match r.shared(distinct) {
        Some(true) => "same in every restore".to_owned(),
        Some(false) => format!("{distinct} distinct of {}", r.restores),
        None => "one restore".to_owned(),
    }
}
