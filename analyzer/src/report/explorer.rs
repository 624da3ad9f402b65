//! The page's cost explorer: a grid the cost model computed (the page interpolates nothing and
//! holds no cost rule): each approach's monthly cost and feasibility for every combination of
//! invocations per month, secrets per invocation, cache TTL and memory size on the grid's axes,
//! each axis holding the workload's own value, with the latencies measured at each size (main
//! scenarios only), and of each cost the lines a team's own account adds (CloudTrail's extra
//! trail copies, VPC access). The page picks the point the reader chose.

use crate::cost::pipeline::Priced;
use crate::cost::recommend::Slo;
use crate::family::Families;
use crate::summary::Summary;
use serde::Serialize;

/// The grid.
#[derive(Debug, Clone, Serialize)]
pub struct Grid {
    /// Invocations per month (per function).
    pub invocations_per_month: Vec<f64>,
    /// Secrets read per invocation.
    pub secrets_per_invocation: Vec<u32>,
    /// Cache TTL, s.
    pub cache_ttl_s: Vec<f64>,
    /// Memory sizes.
    pub memory_mb: Vec<u32>,
    /// The workload's own point (an index into each axis).
    pub workload: [usize; 4],
    /// Approach names, the order of each point's lists.
    pub approaches: Vec<String>,
    /// Per point (invocations outermost, memory innermost): each approach's monthly cost.
    pub monthly_cost_usd: Vec<Vec<f64>>,
    /// Per point: of each approach's monthly cost, CloudTrail's extra trail copies.
    pub trail_copies_usd: Vec<Vec<f64>>,
    /// Per point: of each approach's monthly cost, VPC access (endpoints or NAT).
    pub vpc_access_usd: Vec<Vec<f64>>,
    /// Per point: whether each approach is feasible (the quotas allow its peak).
    pub feasible: Vec<Vec<bool>>,
    /// Per point: the recommended approach (an index into `approaches`), if any.
    pub recommended: Vec<Option<usize>>,
}

fn with<T: PartialOrd + Copy>(mut axis: Vec<T>, own: T) -> (Vec<T>, usize) {
    if !axis.contains(&own) {
        axis.push(own);
    }
    axis.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    let i = axis.iter().position(|v| *v == own).unwrap_or(0);
    (axis, i)
}

/// Computes the grid around `priced`'s workload.
pub fn grid(summary: &Summary, families: &Families, priced: &Priced, slo: &Slo) -> Grid {
    let w0 = &priced.workload;
    let (inv, i0) = with(
        [0.01, 0.1, 10.0, 100.0]
            .iter()
            .map(|k| (w0.invocations_per_month * k).max(1.0).round())
            .collect(),
        w0.invocations_per_month,
    );
    let (spi, s0) = with(vec![1u32, 3, 10], w0.secrets_per_invocation);
    let (ttl, t0) = with(vec![5.0, 60.0, 300.0, 900.0], w0.cache_ttl.as_secs_f64());
    let mut sizes = crate::family::sizes(summary, families, None);
    if sizes.is_empty() {
        sizes.push(w0.memory_mb);
    }
    let (mem, m0) = with(sizes, w0.memory_mb);
    let outside = families.outside_main();
    let mut approaches: Vec<String> = Vec::new();
    let mut monthly = Vec::new();
    let mut trails = Vec::new();
    let mut vpc = Vec::new();
    let mut feasible = Vec::new();
    let mut recommended = Vec::new();
    for v in &inv {
        for n in &spi {
            for t in &ttl {
                for m in &mem {
                    let mut w = w0.clone();
                    // The sweep's rule: traffic scales together with the volume.
                    w.set(crate::cost::workload::SweepField::InvocationsPerMonth, *v);
                    w.secrets_per_invocation = *n;
                    w.secrets = w.secrets.max(*n);
                    w.cache_ttl = std::time::Duration::from_secs_f64(*t);
                    w.memory_mb = *m;
                    let idle = crate::cost::IdleWorkload::of(&w, &priced.pricing, families);
                    let (latencies, notes) =
                        crate::cost::latencies_from_summary(summary, &w, &outside, idle.as_ref());
                    let r = priced.report_with(&w, &latencies, &notes, slo);
                    if approaches.is_empty() {
                        approaches = r.approaches.iter().map(|a| a.approach.name()).collect();
                    }
                    let at = |name: &str| r.approaches.iter().find(|a| a.approach.name() == name);
                    let per = |f: &dyn Fn(&crate::cost::model::ApproachCost) -> f64| {
                        approaches
                            .iter()
                            .map(|a| at(a).map_or(f64::NAN, f))
                            .collect::<Vec<f64>>()
                    };
                    monthly.push(per(&|c| c.monthly_cost_usd));
                    trails.push(per(&|c| c.category_usd("trail_copies")));
                    vpc.push(per(&|c| c.category_usd("vpc_access")));
                    feasible.push(
                        approaches
                            .iter()
                            .map(|a| at(a).is_some_and(|c| c.feasible))
                            .collect(),
                    );
                    recommended.push(
                        r.recommendation
                            .approach
                            .and_then(|a| approaches.iter().position(|n| *n == a.name())),
                    );
                }
            }
        }
    }
    Grid {
        invocations_per_month: inv,
        secrets_per_invocation: spi,
        cache_ttl_s: ttl,
        memory_mb: mem,
        workload: [i0, s0, t0, m0],
        approaches,
        monthly_cost_usd: monthly,
        trail_copies_usd: trails,
        vpc_access_usd: vpc,
        feasible,
        recommended,
    }
}

impl Grid {
    /// The index of a point in the per-point lists.
    pub fn point(&self, at: [usize; 4]) -> usize {
        ((at[0] * self.secrets_per_invocation.len() + at[1]) * self.cache_ttl_s.len() + at[2])
            * self.memory_mb.len()
            + at[3]
    }
}

/// The explorer's section: its controls, the table at the workload's own point (rendered
/// here, so it reads without the script and in print), and the grid as JSON for the script.
pub fn html(g: &Grid) -> String {
    use crate::table::esc;
    use std::fmt::Write as _;
    let mut o = String::new();
    let select = |o: &mut String, id: &str, label: &str, values: Vec<String>, at: usize| {
        let _ = write!(o, "<label>{} <select id=\"{id}\">", esc(label));
        for (i, v) in values.iter().enumerate() {
            let _ = write!(
                o,
                "<option value=\"{i}\"{}>{}</option>",
                if i == at { " selected" } else { "" },
                esc(v)
            );
        }
        o.push_str("</select></label> ");
    };
    o.push_str("<form class=\"controls\" id=\"explorer-controls\">");
    select(
        &mut o,
        "x-inv",
        "invocations/month",
        g.invocations_per_month
            .iter()
            .map(|v| crate::units::si(*v))
            .collect(),
        g.workload[0],
    );
    select(
        &mut o,
        "x-spi",
        "secrets per invocation",
        g.secrets_per_invocation
            .iter()
            .map(ToString::to_string)
            .collect(),
        g.workload[1],
    );
    select(
        &mut o,
        "x-ttl",
        "cache TTL",
        g.cache_ttl_s
            .iter()
            .map(|t| crate::units::span_label(*t))
            .collect(),
        g.workload[2],
    );
    select(
        &mut o,
        "x-mem",
        "memory",
        g.memory_mb.iter().map(|m| format!("{m} MB")).collect(),
        g.workload[3],
    );
    o.push_str("</form>\n<table class=\"explorer\"><thead><tr><th class=\"l\">approach</th><th class=\"r\">USD/month</th><th class=\"r\">of which trail copies</th><th class=\"r\">VPC access</th><th class=\"l\">feasible</th></tr></thead><tbody>\n");
    let p = g.point(g.workload);
    let mut order: Vec<usize> = (0..g.approaches.len()).collect();
    order.sort_by(|a, b| g.monthly_cost_usd[p][*a].total_cmp(&g.monthly_cost_usd[p][*b]));
    for i in order {
        let cost = g.monthly_cost_usd[p][i];
        let rec = g.recommended[p] == Some(i);
        let _ = writeln!(
            o,
            "<tr data-approach=\"{}\" data-cost=\"{cost}\"{}><td class=\"l\">{}{}</td><td class=\"r cost\">{cost:.2}</td><td class=\"r trail\">{:.2}</td><td class=\"r vpc\">{:.2}</td><td class=\"l{}\">{}</td></tr>",
            esc(&g.approaches[i]),
            if rec { " class=\"recommended\"" } else { "" },
            if rec { "★ " } else { "" },
            esc(&g.approaches[i]),
            g.trail_copies_usd[p][i],
            g.vpc_access_usd[p][i],
            if g.feasible[p][i] { "" } else { " fails" },
            if g.feasible[p][i] { "yes" } else { "✗ no" },
        );
    }
    o.push_str("</tbody></table>\n");
    // `</` cannot end the script early: the JSON has no HTML in it, and `<` is escaped anyway.
    let json = serde_json::to_string(g)
        .unwrap_or_else(|_| "{}".into())
        .replace('<', "\\u003c");
    let _ = writeln!(
        o,
        "<script type=\"application/json\" id=\"explorer-data\">{json}</script>"
    );
    o
}
