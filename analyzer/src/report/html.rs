//! `report.html`: one self-contained page (inline CSS, inline SVG plots, one inline script; no
//! font, image or script fetched from anywhere, and a Content-Security-Policy that forbids it)
//! that leads with the decision: a table per memory size and sentences generated from it, then
//! a filter that shows and hides rows and series in every table and chart, a cost explorer over
//! a grid the cost model computed, the plots and the tables by family of scenarios. Prints
//! cleanly ("Save as PDF").

use super::data::{relative, ReportData};
use crate::plot::Rendered;
use crate::table::esc;
use std::fmt::Write as _;
use std::path::Path;

/// The page's style sheet (inlined: the Content-Security-Policy allows no fetch).
const CSS: &str = include_str!("page.css");

/// The page's script: the filter and the cost explorer (no network, no eval).
const SCRIPT: &str = include_str!("page.js");

/// The filter: a checkbox per value of each facet the page's rows and series carry.
fn filter(d: &ReportData) -> String {
    use std::collections::BTreeSet;
    let mut values: [(&str, &str, BTreeSet<String>); 4] = [
        ("source", "source", BTreeSet::new()),
        ("cache", "cache mode", BTreeSet::new()),
        ("memory", "memory MB", BTreeSet::new()),
        ("family", "scenario family", BTreeSet::new()),
    ];
    for g in &d.summary.groups {
        let k = &g.key;
        if let Some(s) = k.source {
            values[0].2.insert(s.to_string());
        }
        if let Some(c) = k.cache {
            values[1].2.insert(c.to_string());
        }
        if let Some(m) = k.memory_mb {
            values[2].2.insert(m.to_string());
        }
        values[3].2.insert(d.families.of(k).as_str().to_owned());
    }
    let mut o = String::from("<form id=\"filter\"><strong>Show:</strong> ");
    for (facet, name, vals) in &values {
        if vals.is_empty() {
            continue;
        }
        let _ = write!(o, "<fieldset><legend>{}</legend>", esc(name));
        let mut vals: Vec<&String> = vals.iter().collect();
        if *facet == "memory" {
            vals.sort_by_key(|v| v.parse::<u32>().unwrap_or(0));
        }
        for v in vals {
            let _ = write!(
                o,
                "<label><input type=\"checkbox\" data-facet=\"{facet}\" value=\"{}\" checked> {}</label>",
                esc(v),
                esc(v)
            );
        }
        o.push_str("</fieldset>");
    }
    o.push_str("</form>\n");
    o
}

/// Renders the page.
pub fn render(d: &ReportData, plots: &[Rendered], out: &Path) -> String {
    let mut o = String::new();
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\"><meta name=\"viewport\" content=\"width=device-width\"><title>secbench report</title><style>{CSS}</style></head><body>\n"
    );
    let _ = writeln!(
        o,
        "<h1>secbench report: getting secrets into AWS Lambda</h1>"
    );
    let stages: Vec<&str> = {
        let mut s: Vec<&str> = d
            .summary
            .input
            .runs
            .iter()
            .filter_map(|r| r.stage.as_deref())
            .collect();
        s.dedup();
        s
    };
    let _ = writeln!(
        o,
        "<p>{} records from {} run(s), stage(s) {}. secbench {}.</p>",
        d.summary.input.records,
        d.summary.input.runs.len(),
        esc(&stages.join(", ")),
        esc(&d.summary.tool_version)
    );
    if d.local_emulator {
        let _ = writeln!(
            o,
            "<div class=\"banner\">Local emulator figures: these runs used moto and the local Lambda platform on this machine, not AWS. Latencies, cold starts and the compute costs derived from them are emulator figures; use them to compare approaches and to check the set-up, and measure on AWS before deciding.</div>"
        );
        for e in d
            .summary
            .emulation
            .iter()
            .chain(&crate::summary::run_statements(&d.summary))
        {
            let _ = writeln!(o, "<p class=\"emulation\">{}</p>", esc(e));
        }
    }

    let _ = writeln!(o, "<h2 id=\"decision\">Decision</h2>");
    if d.decision.tables.is_empty() {
        let _ = writeln!(o, "<p>No approach was measured on its own (every scenario is a variant, a remedy, several secrets or under faults): see the sections below.</p>");
    }
    for t in &d.decision.tables {
        let _ = writeln!(o, "<h3>{}</h3>", esc(&super::decision::heading(t)));
        o.push_str(&crate::table::html(&super::decision::table(t), "decision"));
    }
    if !d.decision.sentences.is_empty() {
        let _ = writeln!(o, "<div class=\"sentences\">");
        for s in &d.decision.sentences {
            let _ = writeln!(o, "<p>{}</p>", esc(s));
        }
        let _ = writeln!(o, "</div>");
    }
    let _ = writeln!(
        o,
        "<p>One row per approach (its main scenario) at each memory size measured, in the recommendation's order; ★ the recommended one; ✗ a value that fails an objective (<code>--slo</code>, checked on the cost model's cold figure: SDK set-up and first fetch), the staleness limit (<code>--max-staleness</code>) or a quota at the workload's peak (headroom below 1×). Cost: the workload at that memory size with the latencies measured at it.</p>"
    );
    o.push_str(&filter(d));

    let _ = writeln!(o, "<h2>Recommendation</h2>");
    match &d.cost {
        Some(c) => {
            let r = &c.recommendation;
            let slo = &r.slo;
            let objective = [
                ("p50 cold", slo.p50_cold_s),
                ("p99 cold", slo.p99_cold_s),
                ("p50 warm", slo.p50_warm_s),
                ("p99 warm", slo.p99_warm_s),
            ]
            .iter()
            .filter_map(|(n, v)| v.map(|v| format!("{n} ≤ {:.0} ms", v * 1e3)))
            .collect::<Vec<_>>();
            let _ = writeln!(
                o,
                "<div class=\"rec\"><p><strong>{}</strong>{}</p><p>{}</p><p>Workload: {} invocations/month per function × {} function(s), peak {} requests/s, {} secret(s) ({} per invocation), {} MB {}, {}, cache TTL {}. Pricing table dated {} (<code>{}</code>).</p></div>",
                esc(&r.approach.map_or_else(|| "no approach qualifies".to_owned(), |a| a.name())),
                r.monthly_cost_usd.map(|c| format!(" at ${c:.2} a month")).unwrap_or_default(),
                esc(&r.why),
                crate::units::si(c.workload.invocations_per_month),
                c.workload.functions,
                c.workload.peak_rps,
                c.workload.secrets,
                c.workload.secrets_per_invocation,
                c.workload.memory_mb,
                c.workload.architecture,
                esc(&c.workload.region),
                secbench_record::duration::format(c.workload.cache_ttl),
                esc(&c.pricing.date),
                esc(&c.pricing.file),
            );
            let _ = writeln!(
                o,
                "<p>Latency objective: {}.</p>",
                if objective.is_empty() {
                    "none given (<code>--slo p99_cold=200ms,p99_warm=20ms</code>)".into()
                } else {
                    esc(&objective.join(", "))
                }
            );
        }
        None => {
            let _ = writeln!(
                o,
                "<p>No workload was given, so there is no cost model and no recommendation: run <code>secbench report RUN --workload WORKLOAD.toml</code>.</p>"
            );
        }
    }

    if !d.cold.is_empty() {
        let _ = writeln!(
            o,
            "<h2 id=\"cold-starts\">Cold starts: where the time goes</h2>"
        );
        for p in d.cold.split("\n\n").filter(|p| !p.trim().is_empty()) {
            let _ = writeln!(o, "<p>{}</p>", super::cold::inline_html(p.trim()));
        }
    }
    if let Some(g) = &d.explorer {
        let _ = writeln!(o, "<section id=\"explorer\"><h2>Cost explorer</h2>");
        let _ = writeln!(o, "<p>Each approach's monthly cost and feasibility as the cost model computed them on a grid around the workload (its own values selected): choose another volume, number of secrets per invocation, cache TTL or memory size. The page looks the point up; it computes nothing.</p>");
        o.push_str(&super::explorer::html(g));
        o.push_str("</section>\n");
    }
    let _ = writeln!(o, "<h2>Plots</h2>");
    for p in plots {
        // The SVG document's XML declaration is not allowed inside HTML.
        let svg = p.svg.trim_start_matches(|c| c != '<');
        let svg = match svg.strip_prefix("<?xml") {
            Some(rest) => rest.split_once("?>").map_or(rest, |(_, r)| r),
            None => svg,
        };
        let _ = writeln!(
            o,
            "<figure id=\"{}\">{}<figcaption>{} (<a href=\"{}\">PNG</a>, <a href=\"{}\">SVG</a>)</figcaption></figure>",
            p.name,
            svg.trim(),
            esc(&p.title),
            esc(&relative(&p.png_path, out)),
            esc(&relative(&p.svg_path, out)),
        );
    }

    let _ = writeln!(o, "<h2>Fetch latency percentiles</h2>");
    let _ = writeln!(
        o,
        "<p>Per stage × approach × phase, by family of scenarios. Cold: the first fetch of a new environment (at INIT for <code>@init</code>). Intervals: 95% bootstrap (seed {}). {}</p>",
        d.summary.seed,
        esc(crate::stats::PERCENTILE_DEFINITION)
    );
    for family in crate::family::Family::ALL {
        let t = super::tables::percentiles(d, family);
        if t.is_empty() {
            continue;
        }
        let _ = writeln!(o, "<h3>{}</h3>", esc(family.describe()));
        o.push_str(&crate::table::html(&t, "percentiles"));
    }

    if let Some(c) = &d.cost {
        let _ = writeln!(o, "<h2>Monthly cost at the workload</h2>");
        o.push_str(&crate::table::html(&super::tables::cost(c), "cost"));
        let _ = writeln!(o, "<p>How API calls are counted: {}</p>", esc(c.formula));
        let _ = writeln!(o, "<ul>");
        for a in &c.pricing.assumptions {
            let _ = writeln!(o, "<li>assumption: {}</li>", esc(a));
        }
        for (k, v) in &c.pricing.sources {
            let _ = writeln!(o, "<li>source of {}: {}</li>", esc(k), esc(v));
        }
        let _ = writeln!(o, "</ul>");
    }

    let tables = [
        (
            "Against memory size",
            "Per approach and memory size: the platform's INIT and its CPU time, the first fetch of a cold environment and the warm fetch, and the monthly cost with the workload at that size and the latencies measured at it.",
            crate::view::memory::memory_table(&d.by_memory),
            d.by_memory.is_empty(),
        ),
        (
            "Connections at the front",
            "TLS handshakes and requests the local stage's front counted per group: a cold start opens one connection, warm fetches reuse it.",
            crate::view::memory::connection_table(&d.connections),
            d.connections.is_empty(),
        ),
        (
            "Staleness after a rotation",
            crate::view::staleness::EXPLANATION,
            crate::view::staleness::table(&d.staleness),
            d.staleness.is_empty(),
        ),
        (
            "SnapStart: what restores share",
            crate::view::snapstart::EXPLANATION,
            crate::view::snapstart::table(&d.summary),
            crate::view::snapstart::table(&d.summary).is_empty(),
        ),
        (
            "Many secrets per fetch: all values ready",
            "Per source, mode and count N: the time until all N values were ready (the first fetch of a new environment, and warm fetches), the AWS API calls per warm fetch the probe counted, and the fetches in which a value failed (a partial failure).",
            crate::view::many::table(&d.many),
            d.many.is_empty(),
        ),
        (
            "Many secrets per fetch: monthly cost per mode at the workload",
            "Reading the workload's secrets per invocation in each mode: secrets billed (a bundle is one secret, giving up per-secret rotation and per-secret IAM), API calls, fixed fees, API and KMS charges (after the KMS free tier when the workload has it), the Lambda compute of the rounds where the runs measured an uncached round of that many values at the workload's memory size (left out otherwise, and said so), and the peak call rate against the quota of the API each mode uses.",
            crate::cost::many::table(d.cost.as_ref().map_or(&[][..], |c| &c.many[..]), true),
            d.cost.is_none(),
        ),
    ];
    for (title, what, table, empty) in tables {
        if empty {
            continue;
        }
        let _ = writeln!(o, "<h2>{}</h2><p>{}</p>", esc(title), esc(what));
        o.push_str(&crate::table::html(&table, ""));
    }

    if let Some(base) = &d.compared_with {
        let _ = writeln!(o, "<h2>Compared with {}</h2>", esc(base));
        if d.comparisons.is_empty() {
            let _ = writeln!(
                o,
                "<p>No group (scenario and phase) is in both, so nothing is compared.</p>"
            );
        } else {
            o.push_str(&crate::table::html(
                &super::tables::comparison(&d.comparisons, &d.summary, &d.families),
                "compare",
            ));
        }
    }

    let _ = writeln!(o, "<h2>Environment</h2>");
    o.push_str(&crate::table::html(
        &super::tables::environment(d),
        "environment",
    ));
    let mut memories: Vec<String> = d
        .summary
        .groups
        .iter()
        .filter_map(|g| g.key.memory_mb.map(|m| format!("{m} MB")))
        .collect();
    memories.sort();
    memories.dedup();
    let mut arches: Vec<String> = d
        .summary
        .groups
        .iter()
        .filter_map(|g| g.key.architecture.map(|a| a.as_str().to_owned()))
        .collect();
    arches.sort();
    arches.dedup();
    let _ = writeln!(
        o,
        "<p>Memory: {}. Architecture: {}.</p>",
        esc(&memories.join(", ")),
        esc(&arches.join(", "))
    );

    let _ = writeln!(o, "<h2>Raw exports</h2><ul>");
    for (path, what) in &d.exports {
        let _ = writeln!(
            o,
            "<li><a href=\"{}\">{}</a>: {}</li>",
            esc(path),
            esc(path),
            esc(what)
        );
    }
    for r in &d.summary.input.runs {
        let records = Path::new(&r.dir).join(secbench_record::run_dir::RECORDS_FILE);
        let _ = writeln!(
            o,
            "<li><a href=\"{}\">{}</a>: the raw records of run {}</li>",
            esc(&relative(&records, out)),
            esc(&records.display().to_string()),
            esc(r.run_id.as_deref().unwrap_or("?"))
        );
    }
    let _ = writeln!(o, "</ul>\n<script>{SCRIPT}</script>\n</body></html>");
    o
}
