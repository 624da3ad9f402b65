//! The cost answer as aligned text for a terminal: one row per approach, the recommendation,
//! then each approach's priced lines.

use crate::cost::evaluate::CostReport;
use crate::cost::sweep::Sweep;
use crate::table::Table;
use std::fmt::Write as _;

use crate::units::{secs_label as ms, si, span_label};

fn name_or_none(a: Option<crate::approach::Approach>) -> String {
    a.map_or_else(|| "none".to_owned(), |a| a.name())
}

/// The longest staleness after a rotation, with what bounds it.
fn staleness(c: &crate::cost::model::ApproachCost) -> String {
    use crate::approach::StalenessBound as B;
    match c.staleness_bound {
        B::NextFetch => "0 (next fetch)".into(),
        B::ConfigurationChange => "0 (config change)".into(),
        B::CacheTtl => format!("{} (TTL)", span_label(c.longest_staleness_s)),
        B::AgentTtl => format!("{} (agent TTL)", span_label(c.longest_staleness_s)),
        B::AgentAndCacheTtl => format!("{} (agent + cache TTL)", span_label(c.longest_staleness_s)),
        B::EnvironmentLifetime if c.staleness_assumed => format!(
            "{} (longest env lifetime, assumed)",
            span_label(c.longest_staleness_s)
        ),
        B::EnvironmentLifetime => format!(
            "{} (longest env lifetime)",
            span_label(c.longest_staleness_s)
        ),
        B::VersionLifetime => format!(
            "≥ {} (the version's life: SnapStart)",
            span_label(c.longest_staleness_s)
        ),
    }
}

/// Renders a cost report.
pub fn render(r: &CostReport) -> String {
    let mut o = String::new();
    let w = &r.workload;
    let _ = writeln!(
        o,
        "Monthly cost per approach: {} invocations/month × {} function(s), {} secret(s) ({} per invocation), {} MB {}, {}",
        si(w.invocations_per_month),
        w.functions,
        w.secrets,
        w.secrets_per_invocation,
        w.memory_mb,
        w.architecture,
        w.region
    );
    let _ = writeln!(
        o,
        "pricing table {} ({}); {:.1} environments, {} new environments/month per function",
        r.pricing.date,
        r.pricing.file,
        r.derived.environments,
        si(r.derived.new_environments_per_month)
    );
    match &r.latency_origin {
        crate::cost::latency::LatencyOrigin::None => {
            let _ = writeln!(o, "latencies: none given (compute for fetching left out)");
        }
        crate::cost::latency::LatencyOrigin::Workload => {
            let _ = writeln!(o, "latencies: the workload file's [[latency]] table");
        }
        crate::cost::latency::LatencyOrigin::Runs {
            runs,
            local_emulator,
            emulation,
        } => {
            let _ = writeln!(
                o,
                "latencies: measured in {}{}",
                runs.join(", "),
                if *local_emulator {
                    " (local emulator figures, not AWS: compute for fetching is an emulator figure)"
                } else {
                    ""
                }
            );
            for e in emulation {
                let _ = writeln!(o, "  {e}");
            }
        }
    }
    let _ = writeln!(o);
    o.push_str(&crate::table::text(&approaches(r)));
    let _ = writeln!(o);
    let rec = &r.recommendation;
    let _ = writeln!(
        o,
        "Recommendation: {}",
        rec.approach.map_or_else(|| "none".to_owned(), |a| a.name())
    );
    let _ = writeln!(o, "  {}", rec.why);
    let _ = writeln!(o);
    o.push_str(&render_many(&r.many));
    let _ = writeln!(o);
    let _ = writeln!(o, "How calls are counted: {}", r.formula);
    for c in &r.approaches {
        let _ = writeln!(o);
        let _ = writeln!(
            o,
            "{}: ${:.2}/month{}",
            c.approach,
            c.monthly_cost_usd,
            if c.feasible { "" } else { " (infeasible)" }
        );
        for l in &c.breakdown {
            let _ = writeln!(
                o,
                "  {:<70} {:>16} {:<20} × ${:<12} = ${:.2}{}",
                l.item,
                format!("{:.4}", l.quantity),
                l.unit,
                format!("{:.10}", l.unit_price_usd)
                    .trim_end_matches('0')
                    .trim_end_matches('.'),
                l.cost_usd,
                if l.included_in_total {
                    ""
                } else {
                    " (not in total)"
                }
            );
        }
        for n in &c.notes {
            let _ = writeln!(o, "  note: {n}");
        }
    }
    let _ = writeln!(o);
    for a in &r.pricing.assumptions {
        let _ = writeln!(o, "assumption: {a}");
    }
    o
}

/// Renders a sweep: cost per approach at each value, then the break-even points.
pub fn render_sweep(s: &Sweep) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "Monthly cost (USD) over {} ({}); pricing table {}",
        s.parameter, s.scaling, s.pricing.date
    );
    let mut header = vec![s.parameter.clone()];
    header.extend(s.approaches.iter().map(|a| a.name()));
    header.push("cheapest".into());
    let align = format!("L{}L", "R".repeat(s.approaches.len()));
    let mut table = Table::new(header, &align);
    for p in &s.points {
        let mut row = vec![si(p.value)];
        for a in &s.approaches {
            let cost = p.monthly_cost_usd.get(a).copied().unwrap_or(f64::NAN);
            let mark = if p.feasible.get(a).copied().unwrap_or(true) {
                ""
            } else {
                "*"
            };
            row.push(format!("{cost:.2}{mark}"));
        }
        row.push(p.cheapest.map_or_else(|| "-".into(), |a| a.name()));
        table.push(row);
    }
    o.push_str(&crate::table::text(&table));
    let _ = writeln!(o, "(* infeasible at that value)");
    if s.break_even.is_empty() {
        let _ = writeln!(
            o,
            "no break-even: the same approach is cheapest over the range"
        );
    }
    for b in &s.break_even {
        let _ = writeln!(
            o,
            "break-even at {} = {}: {} → {}",
            s.parameter,
            si(b.value),
            name_or_none(b.from),
            name_or_none(b.to)
        );
    }
    o
}

/// The many-secrets table: each mode of reading the workload's values, per source and cache.
pub fn render_many(rows: &[crate::cost::many::ModeCost]) -> String {
    let mut o = String::new();
    let Some(first) = rows.first() else {
        return o;
    };
    let _ = writeln!(
        o,
        "Reading {} secrets per invocation (fixed fees + API + KMS; compute not included):",
        first.secrets
    );
    o.push_str(&crate::table::text(&crate::cost::many::table(rows, false)));
    let mut notes: Vec<&String> = rows.iter().flat_map(|m| &m.notes).collect();
    notes.sort();
    notes.dedup();
    for n in notes {
        let _ = writeln!(o, "  note: {n}");
    }
    o
}

/// The table of approaches: each one's monthly cost by category, feasibility, latencies and
/// staleness bound (the terminal's columns).
pub fn approaches(r: &CostReport) -> Table {
    let mut t = Table::new(
        [
            "approach",
            "$/month",
            "fixed",
            "API",
            "KMS",
            "compute",
            "trails",
            "VPC",
            "feasible",
            "cold p99",
            "warm p99",
            "stale up to",
        ],
        "LRRRRRRRRRRR",
    );
    for c in &r.approaches {
        let cat = |name: &str| c.category_usd(name);
        t.push(vec![
            c.approach.name(),
            format!("{:.2}", c.monthly_cost_usd),
            format!("{:.2}", cat("fixed")),
            format!("{:.2}", cat("api_requests")),
            format!("{:.2}", cat("kms_requests")),
            format!("{:.2}", cat("lambda_compute")),
            format!("{:.2}", cat("trail_copies")),
            format!("{:.2}", cat("vpc_access")),
            if c.feasible {
                "yes".into()
            } else {
                "NO".into()
            },
            c.latency.map_or("-".into(), |l| ms(l.cold_p99_s)),
            c.latency.map_or("-".into(), |l| ms(l.warm_p99_s)),
            staleness(c),
        ]);
    }
    t
}
