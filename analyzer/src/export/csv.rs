//! CSV: one row per group × metric, nanoseconds.

use crate::summary::Summary;

const HEADER: &str = "stage,scenario,source,cache,fetch_at,memory_mb,architecture,phase,metric,count,min_ns,mean_ns,stdev_ns,p50_ns,p50_ci_low_ns,p50_ci_high_ns,p90_ns,p99_ns,p99_ci_low_ns,p99_ci_high_ns,p99_stable,p999_ns,max_ns,invocations,error_rate,cache_hit_ratio,local_emulator,emulation,rotation,rotation_bounded_by,rotation_ttl_s,environments_at_rotation,stale_until_end,retired,invocations_after,stale_after,unknown_after,stale_share,last_stale_ns,cold_after";

/// The rotation columns' count, empty on a group × metric row.
const ROTATION_COLUMNS: usize = 12;

/// One CSV field, quoted where it must be (RFC 4180): the one escaping rule of every CSV
/// secbench writes.
pub fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

fn text<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map(|v| field(&v.to_string())).unwrap_or_default()
}

/// The CSV text: a row per group × metric, then per rotation of a rotating scenario a row whose
/// metric is `rotation_window` (its count, min, mean, p50, max: the environments' times from the
/// confirmation to their first invocation with the new value, ns) with the rotation's columns.
pub fn render(summary: &Summary) -> String {
    let mut out = String::from(HEADER);
    out.push('\n');
    for g in &summary.groups {
        // Rows in the order of the metrics' names (the order of the CSV since its first version).
        let mut metrics: Vec<_> = g.metrics.iter().map(|(k, m)| (k.name(), m)).collect();
        metrics.sort_unstable_by_key(|(name, _)| *name);
        for (name, m) in metrics {
            let k = &g.key;
            let row = [
                field(&k.stage),
                field(&k.scenario),
                text(k.source),
                text(k.cache),
                text(k.fetch_at),
                k.memory_mb.map(|m| m.to_string()).unwrap_or_default(),
                text(k.architecture),
                k.phase.as_str().to_owned(),
                name.to_owned(),
                m.count.to_string(),
                m.min_ns.to_string(),
                format!("{:.1}", m.mean_ns),
                format!("{:.1}", m.stdev_ns),
                m.p50_ns.to_string(),
                m.p50_ci_ns[0].to_string(),
                m.p50_ci_ns[1].to_string(),
                m.p90_ns.to_string(),
                m.p99_ns.to_string(),
                m.p99_ci_ns[0].to_string(),
                m.p99_ci_ns[1].to_string(),
                m.p99_stable.to_string(),
                m.p999_ns.to_string(),
                m.max_ns.to_string(),
                g.invocations.to_string(),
                format!("{:.6}", g.error_rate),
                format!("{:.6}", g.cache_hit_ratio),
                summary.local_emulator.to_string(),
                field(&summary.emulation.join(" | ")),
            ];
            out.push_str(&row.join(","));
            out.push_str(&",".repeat(ROTATION_COLUMNS));
            out.push('\n');
        }
    }
    for r in &summary.staleness {
        out.push_str(&rotation_row(summary, r).join(","));
        out.push('\n');
    }
    out
}

fn rotation_row(summary: &Summary, r: &crate::staleness::RotationStaleness) -> Vec<String> {
    let ns = |ms: f64| format!("{:.0}", ms * 1e6);
    let w = &r.windows_ms;
    let stat = |f: &dyn Fn() -> String| if w.is_empty() { String::new() } else { f() };
    let a = r.approach;
    vec![
        field(&r.stage),
        field(&r.scenario),
        text(a.map(|a| a.source)),
        text(a.map(|a| a.cache)),
        text(a.map(|a| a.fetch_at)),
        r.memory_mb.map(|m| m.to_string()).unwrap_or_default(),
        String::new(),
        "warm".to_owned(),
        "rotation_window".to_owned(),
        w.len().to_string(),
        stat(&|| ns(w[0])),
        stat(&|| ns(w.iter().sum::<f64>() / w.len() as f64)),
        String::new(),
        r.median_window_ms().map(ns).unwrap_or_default(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        r.max_window_ms().map(ns).unwrap_or_default(),
        String::new(),
        String::new(),
        String::new(),
        summary.local_emulator.to_string(),
        field(&summary.emulation.join(" | ")),
        r.rotation.version_index.to_string(),
        field(&crate::view::staleness::bound(r)),
        r.ttl
            .map(|t| t.as_secs_f64().to_string())
            .unwrap_or_default(),
        r.environments.to_string(),
        r.stale_until_end_ms.len().to_string(),
        r.retired.to_string(),
        r.invocations_after.to_string(),
        r.stale_after.to_string(),
        r.unknown_after.to_string(),
        r.stale_share()
            .map(|s| format!("{s:.6}"))
            .unwrap_or_default(),
        r.last_stale_ms.map(ns).unwrap_or_default(),
        r.cold_after.to_string(),
    ]
}
