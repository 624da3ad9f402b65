//! Where a cold fetch's time goes, per memory size, from measured parts: the crypto library's
//! one-time entropy seeding (measured beside the probe at the start of a local run, in the
//! manifest), the connection set-up and the request (the remedies measured side by side: the
//! first fetch with the entropy drawn at INIT, less the one with the connection opened there
//! too, is the connection; the latter is the request), and what each remedy moves. One
//! paragraph per stage, source and memory size that ran a remedy beside its default; no prose
//! that the numbers do not give.

use crate::group::Metric;
use crate::summary::{GroupSummary, Summary};
use secbench_record::run::{median_ns, Manifest, Phase};
use secbench_record::units::ms_text;
use secbench_record::{CacheMode, ConcurrencyMode, FetchAt, Prewarm, ProbeBuild, Source};
use std::collections::BTreeSet;

/// What the no-jitter build trades away, in aws-lc's own words, with the links.
pub const NO_JITTER_TRADE: &str = "`AWS_LC_SYS_NO_JITTER_ENTROPY=1` \"disables the CPU jitter entropy source in the build\" to remove its \"one-time-per-process latency cost\" (aws-lc-rs, <https://aws.github.io/aws-lc-rs/resources.html#entropy-configuration>); what it gives up is aws-lc's second, independent entropy source: with it off aws-lc \"can no longer guarantee two entropy sources because only the Operating System type will be required to be available\" (aws/aws-lc pull request 2733, <https://github.com/aws/aws-lc/pull/2733>).";

/// One remedy as measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Remedy {
    /// Its first fetch in the handler, p50, ns.
    pub first_fetch_ns: u64,
    /// What it added to INIT (the prewarm's own time), p50, ns.
    pub init_ns: Option<u64>,
    /// API calls it made at INIT per cold start.
    pub calls_per_cold_start: f64,
}

/// One source at one memory size on one stage.
#[derive(Debug, Clone, PartialEq)]
pub struct ColdStory {
    /// The stage.
    pub stage: String,
    /// The memory size.
    pub memory_mb: u32,
    /// The source.
    pub source: Source,
    /// The default's first fetch in the handler of a cold environment, p50, ns.
    pub first_fetch_ns: u64,
    /// Its warm fetch, p50, ns.
    pub warm_fetch_ns: Option<u64>,
    /// The entropy seeding alone under this size's share (default build): wall and CPU, ns.
    pub entropy: Option<(u64, u64)>,
    /// The same with the no-jitter build, wall, ns.
    pub entropy_no_jitter_ns: Option<u64>,
    /// `prewarm = "entropy"`.
    pub prewarm_entropy: Option<Remedy>,
    /// `prewarm = "connection"`.
    pub prewarm_connection: Option<Remedy>,
    /// The no-jitter build.
    pub no_jitter: Option<Remedy>,
}

fn p50(g: &GroupSummary, m: Metric) -> Option<u64> {
    g.metric(m).map(|s| s.p50_ns)
}

/// The stories of the runs: every stage, SDK source and memory size with at least one remedy
/// measured beside the default (handler fetch, no cache, on demand; faulted scenarios left
/// out).
pub fn stories(summary: &Summary, manifests: &[(String, Manifest)]) -> Vec<ColdStory> {
    let faults: BTreeSet<String> = manifests
        .iter()
        .flat_map(|(_, m)| m.fault_scenarios())
        .collect();
    let candidates: Vec<&GroupSummary> = summary
        .groups
        .iter()
        .filter(|g| {
            g.key.fetch_at == Some(FetchAt::Handler)
                && g.key.cache == Some(CacheMode::None)
                && g.key.multi.is_none()
                && g.key.concurrency == ConcurrencyMode::OnDemand
                && matches!(
                    g.key.source,
                    Some(Source::Ssm | Source::SecretsManager | Source::KmsEnv)
                )
                && !faults.contains(&g.key.scenario)
        })
        .collect();
    let mut keys: Vec<(String, u32, Source)> = candidates
        .iter()
        .filter_map(|g| Some((g.key.stage.clone(), g.key.memory_mb?, g.key.source?)))
        .collect();
    keys.sort();
    keys.dedup();
    let entropy = |stage: &str, memory_mb: u32, build: ProbeBuild| {
        manifests
            .iter()
            .filter(|(_, m)| m.stage == stage)
            .filter_map(|(_, m)| m.emulation.as_ref())
            .flat_map(|e| e.entropy.iter())
            .find(|e| e.memory_mb == memory_mb && e.probe_build == build && !e.at_init)
            .and_then(|e| Some((median_ns(&e.wall_ns)?, median_ns(&e.cpu_ns)?)))
    };
    let mut out = Vec::new();
    for (stage, memory_mb, source) in keys {
        let find = |phase: Phase, prewarm: Option<Prewarm>, build: ProbeBuild| {
            candidates
                .iter()
                .filter(|g| {
                    g.key.stage == stage
                        && g.key.memory_mb == Some(memory_mb)
                        && g.key.source == Some(source)
                        && g.key.phase == phase
                        && g.key.prewarm == prewarm
                        && g.key.probe_build == build
                })
                .max_by_key(|g| g.invocations)
                .copied()
        };
        let remedy = |prewarm: Option<Prewarm>, build: ProbeBuild| {
            let g = find(Phase::Cold, prewarm, build)?;
            Some(Remedy {
                first_fetch_ns: p50(g, Metric::FetchLatency)?,
                init_ns: p50(g, Metric::InitPrewarm),
                calls_per_cold_start: g.prewarm_calls as f64 / g.invocations.max(1) as f64,
            })
        };
        let Some(base) = find(Phase::Cold, None, ProbeBuild::Default) else {
            continue;
        };
        let Some(first_fetch_ns) = p50(base, Metric::FetchLatency) else {
            continue;
        };
        let story = ColdStory {
            stage: stage.clone(),
            memory_mb,
            source,
            first_fetch_ns,
            warm_fetch_ns: find(Phase::Warm, None, ProbeBuild::Default)
                .and_then(|g| p50(g, Metric::FetchLatency)),
            entropy: entropy(&stage, memory_mb, ProbeBuild::Default),
            entropy_no_jitter_ns: entropy(&stage, memory_mb, ProbeBuild::NoJitterEntropy)
                .map(|(wall, _)| wall),
            prewarm_entropy: remedy(Some(Prewarm::Entropy), ProbeBuild::Default),
            prewarm_connection: remedy(Some(Prewarm::Connection), ProbeBuild::Default),
            no_jitter: remedy(None, ProbeBuild::NoJitterEntropy),
        };
        if story.prewarm_entropy.is_some()
            || story.prewarm_connection.is_some()
            || story.no_jitter.is_some()
        {
            out.push(story);
        }
    }
    out
}

/// The extra API call `prewarm = "connection"` makes per cold start.
pub fn prewarm_call(source: Source) -> Option<&'static str> {
    match source {
        Source::Ssm => Some("GetParameter without decryption"),
        Source::SecretsManager => Some("DescribeSecret"),
        _ => None,
    }
}

fn signed(ns: i128) -> String {
    let text = ms_text(u64::try_from(ns.unsigned_abs()).unwrap_or(u64::MAX));
    if ns < 0 {
        format!("−{text}")
    } else {
        text
    }
}

/// What `prewarm = "connection"` adds at the workload: its calls a month (one per new
/// environment, every function) and their charge from the pricing table, at standard
/// throughput for SSM.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PrewarmCost {
    /// Calls a month.
    pub calls_per_month: f64,
    /// Their charge a month.
    pub usd_per_month: f64,
}

/// [`PrewarmCost`] of `source` at the priced workload (`None`: no such call for the source).
pub fn prewarm_cost(source: Source, priced: &crate::cost::pipeline::Priced) -> Option<PrewarmCost> {
    let (w, p) = (&priced.workload, &priced.pricing);
    let per_10k = match source {
        Source::Ssm => p.ssm.standard_throughput_per_10k_usd,
        Source::SecretsManager => p.secrets_manager.api_calls_per_10k_usd,
        _ => return None,
    };
    let a = crate::approach::Approach {
        source,
        cache: CacheMode::None,
        fetch_at: FetchAt::Handler,
        concurrency: ConcurrencyMode::OnDemand,
        runtime: secbench_record::Runtime::Rust,
        single_flight: false,
    };
    let calls = crate::cost::model::counts(a, w, p).new_environments * f64::from(w.functions);
    Some(PrewarmCost {
        calls_per_month: calls,
        usd_per_month: calls / 10_000.0 * per_10k,
    })
}

/// The paragraph of one story (Markdown), every number from it (and from the pricing table for
/// the prewarm's call, when a workload is priced).
pub fn paragraph(s: &ColdStory, cost: Option<PrewarmCost>) -> String {
    let mut o = format!(
        "**{} MB, {} ({}).** A cold environment's first {} fetch in the handler took {} (p50)",
        s.memory_mb,
        s.source,
        s.stage,
        s.source,
        ms_text(s.first_fetch_ns)
    );
    if let Some(w) = s.warm_fetch_ns {
        o.push_str(&format!(" against {} warm", ms_text(w)));
    }
    o.push('.');
    // The parts, from measurements.
    let mut parts = Vec::new();
    if let Some((wall, cpu)) = s.entropy {
        parts.push(format!(
            "aws-lc's entropy seeding {} (measured alone under this size's CPU quota: {} of CPU{})",
            ms_text(wall),
            ms_text(cpu),
            s.entropy_no_jitter_ns
                .map(|n| format!("; {} with the no-jitter build", ms_text(n)))
                .unwrap_or_default()
        ));
    }
    if let (Some(e), Some(c)) = (&s.prewarm_entropy, &s.prewarm_connection) {
        let connection = i128::from(e.first_fetch_ns) - i128::from(c.first_fetch_ns);
        parts.push(format!(
            "the connection set-up (TCP and TLS handshake, and the client's first use) {} (the first fetch with the entropy drawn at INIT, less the one with the connection opened there too)",
            signed(connection)
        ));
        parts.push(format!(
            "the request {} (the first fetch on a connection already open)",
            ms_text(c.first_fetch_ns)
        ));
        if let Some((wall, _)) = s.entropy {
            let rest = i128::from(s.first_fetch_ns)
                - i128::from(wall)
                - connection
                - i128::from(c.first_fetch_ns);
            parts.push(if rest >= 0 {
                format!("{} that these parts do not account for", signed(rest))
            } else {
                // The entropy is measured in a process of its own, and jitter entropy's CPU
                // varies from one process to the next: the parts can add up to more.
                format!(
                    "the parts, measured apart, add up to {} more than the fetch (the entropy is measured in a process of its own, and its CPU varies between processes)",
                    ms_text(u64::try_from(-rest).unwrap_or(u64::MAX))
                )
            });
        }
    }
    if !parts.is_empty() {
        o.push_str(&format!(" Of that: {}.", parts.join("; ")));
    }
    // What each remedy moved.
    let mut remedies = Vec::new();
    if let Some(r) = &s.prewarm_entropy {
        remedies.push(format!(
            "drawing the entropy at INIT (`prewarm = \"entropy\"`) brought the first fetch to {}{}, with no API call",
            ms_text(r.first_fetch_ns),
            r.init_ns
                .map(|i| format!(" at {} more INIT", ms_text(i)))
                .unwrap_or_default()
        ));
    }
    if let Some(r) = &s.prewarm_connection {
        remedies.push(format!(
            "also opening the connection at INIT (`prewarm = \"connection\"`) to {}{}, with {:.2} extra API call{} per cold start{}",
            ms_text(r.first_fetch_ns),
            r.init_ns
                .map(|i| format!(" at {} more INIT", ms_text(i)))
                .unwrap_or_default(),
            r.calls_per_cold_start,
            if (r.calls_per_cold_start - 1.0).abs() < 1e-9 { "" } else { "s" },
            prewarm_call(s.source)
                .map(|c| format!(" ({c})"))
                .unwrap_or_default()
        ));
        if let Some(c) = cost {
            remedies.push(format!(
                "at the workload that is {} calls a month, ${:.2} from the pricing table",
                crate::units::si(c.calls_per_month),
                c.usd_per_month
            ));
        }
    }
    if let Some(r) = &s.no_jitter {
        remedies.push(format!(
            "the probe built without jitter entropy to {}, with nothing moved to INIT",
            ms_text(r.first_fetch_ns)
        ));
    }
    if !remedies.is_empty() {
        let mut text = remedies.join("; ");
        if let Some(first) = text.get(..1) {
            text = first.to_uppercase() + &text[1..];
        }
        o.push_str(&format!(" {text}."));
    }
    o
}

/// The section's text (Markdown): the paragraphs, then what the INIT figures assume and what
/// the no-jitter build trades away. Empty when no run measured a remedy.
pub fn section(
    stories: &[ColdStory],
    init_note: Option<&str>,
    priced: Option<&crate::cost::pipeline::Priced>,
) -> String {
    if stories.is_empty() {
        return String::new();
    }
    let mut o = String::new();
    for s in stories {
        let cost = priced.and_then(|p| prewarm_cost(s.source, p));
        o.push_str(&paragraph(
            s,
            cost.filter(|_| s.prewarm_connection.is_some()),
        ));
        o.push_str("\n\n");
    }
    if let Some(n) = init_note {
        o.push_str(n);
        o.push_str("\n\n");
    }
    if stories.iter().any(|s| s.no_jitter.is_some()) {
        o.push_str(NO_JITTER_TRADE);
        o.push_str("\n\n");
    }
    o
}

/// What the local runs assumed about INIT's CPU, for the section (none for AWS runs).
pub fn init_note(manifests: &[(String, Manifest)]) -> Option<String> {
    let boosted = manifests
        .iter()
        .filter_map(|(_, m)| m.emulation.as_ref()?.init_cpu.as_ref())
        .find(|i| i.mode == secbench_record::InitCpu::Boosted)?;
    Some(format!(
        "On the local stage an on-demand INIT ran with up to {:.2} CPUs and the handler at the memory share (`[local] init_cpu = \"boosted\"`: on-demand Lambda is observed to boost INIT, by an amount AWS does not document), so work moved to INIT costs less wall time there than in the handler at small sizes; a provisioned environment's INIT ran at the share, before any traffic.",
        f64::from(boosted.boosted_cpu_millis) / 1000.0
    ))
}

/// Markdown's inline marks in this section (`code`, **strong**, `<links>`) as HTML, the rest
/// escaped.
pub fn inline_html(md: &str) -> String {
    let mut o = String::new();
    let mut rest = md;
    while let Some(c) = rest.chars().next() {
        let close = |open: &str, close: &str| -> Option<(String, usize)> {
            let body = rest.strip_prefix(open)?;
            let end = body.find(close)?;
            Some((body[..end].to_owned(), open.len() + end + close.len()))
        };
        if let Some((code, n)) = close("`", "`") {
            o.push_str(&format!("<code>{}</code>", crate::table::esc(&code)));
            rest = &rest[n..];
        } else if let Some((strong, n)) = close("**", "**") {
            o.push_str(&format!("<strong>{}</strong>", crate::table::esc(&strong)));
            rest = &rest[n..];
        } else if let Some((url, n)) = close("<", ">").filter(|(u, _)| u.starts_with("https://")) {
            let url = crate::table::esc(&url);
            o.push_str(&format!("<a href=\"{url}\">{url}</a>"));
            rest = &rest[n..];
        } else {
            o.push_str(&crate::table::esc(&c.to_string()));
            rest = &rest[c.len_utf8()..];
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_marks_become_html_and_the_rest_is_escaped() {
        assert_eq!(
            inline_html("**128 MB** a `prewarm = \"x\"` <https://a.example/b> & <c>"),
            "<strong>128 MB</strong> a <code>prewarm = &quot;x&quot;</code> <a href=\"https://a.example/b\">https://a.example/b</a> &amp; &lt;c&gt;"
        );
    }

    fn story() -> ColdStory {
        let ms = |v: f64| (v * 1e6) as u64;
        ColdStory {
            stage: "local".into(),
            memory_mb: 128,
            source: Source::Ssm,
            first_fetch_ns: ms(452.0),
            warm_fetch_ns: Some(ms(9.6)),
            entropy: Some((ms(290.0), ms(21.0))),
            entropy_no_jitter_ns: Some(ms(0.05)),
            prewarm_entropy: Some(Remedy {
                first_fetch_ns: ms(160.0),
                init_ns: Some(ms(22.0)),
                calls_per_cold_start: 0.0,
            }),
            prewarm_connection: Some(Remedy {
                first_fetch_ns: ms(12.0),
                init_ns: Some(ms(60.0)),
                calls_per_cold_start: 1.0,
            }),
            no_jitter: Some(Remedy {
                first_fetch_ns: ms(165.0),
                init_ns: None,
                calls_per_cold_start: 0.0,
            }),
        }
    }

    #[test]
    fn the_paragraph_names_each_part_and_remedy_with_its_number() {
        let text = paragraph(
            &story(),
            Some(PrewarmCost {
                calls_per_month: 12_000.0,
                usd_per_month: 0.0,
            }),
        );
        for part in [
            "**128 MB, ssm (local).**",
            "took 452 ms (p50) against 9.60 ms warm",
            "entropy seeding 290 ms",
            "21.0 ms of CPU; 0.0500 ms with the no-jitter build",
            // 160 − 12
            "the connection set-up (TCP and TLS handshake, and the client's first use) 148 ms",
            "the request 12.0 ms",
            // 452 − 290 − 148 − 12
            "2.00 ms that these parts do not account for",
            "brought the first fetch to 160 ms at 22.0 ms more INIT",
            "to 12.0 ms at 60.0 ms more INIT, with 1.00 extra API call per cold start (GetParameter without decryption)",
            "12k calls a month, $0.00",
            "without jitter entropy to 165 ms",
        ] {
            assert!(text.contains(part), "{part}\n{text}");
        }
    }
}
