//! CSV: one row per group × metric, nanoseconds.

use crate::summary::Summary;

const HEADER: &str = "stage,scenario,source,cache,fetch_at,memory_mb,architecture,phase,metric,count,min_ns,mean_ns,stdev_ns,p50_ns,p50_ci_low_ns,p50_ci_high_ns,p90_ns,p99_ns,p99_ci_low_ns,p99_ci_high_ns,p99_stable,p999_ns,max_ns,invocations,error_rate,cache_hit_ratio,local_emulator,emulation";

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

/// The CSV text.
pub fn render(summary: &Summary) -> String {
    let mut out = String::from(HEADER);
    out.push('\n');
    for g in &summary.groups {
        for (name, m) in &g.metrics {
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
                (*name).to_owned(),
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
            out.push('\n');
        }
    }
    out
}
