//! Folds records into groups: a worker's `Accum` finds a record's group by a hash of
//! (stage, scenario, phase) and then the whole key, so the hot path allocates nothing, and keeps
//! what each invocation of a rotating scenario got (the staleness analysis's observations).
//! Merging two folds adds their histograms and counters exactly, so the parallel reader gets
//! the same groups as one sequential fold.

use super::ingested::{Ingested, Observation};
use super::lite::{Lite, LiteFetch, LiteProbe, RecordError};
use super::read::{as_read, parse_lite};
use crate::group::{Connections, Group, GroupKey, Metric};
use secbench_record::run::Phase;
use secbench_record::run_dir::{self, Chunk, Chunks};
use secbench_record::{ConcurrencyMode, FetchPhase, InitializationType, Outcome, ProbeBuild};

/// How a record's environment started, as a group key holds it.
fn concurrency(p: &LiteProbe<'_>) -> ConcurrencyMode {
    if p.max_concurrency.is_some() {
        return ConcurrencyMode::ManagedInstances;
    }
    match p.initialization_type {
        Some(InitializationType::ProvisionedConcurrency) => ConcurrencyMode::Provisioned,
        Some(InitializationType::SnapStart) => ConcurrencyMode::SnapStart,
        _ => ConcurrencyMode::OnDemand,
    }
}
use std::collections::BTreeMap;

/// One worker's groups, found by a hash of (stage, scenario, phase) and then a check of the
/// whole key, so the hot path allocates nothing.
#[derive(Default)]
pub(crate) struct Accum {
    pub(crate) groups: Vec<(GroupKey, Group)>,
    index: std::collections::HashMap<u64, Vec<usize>>,
    pub(crate) records: u64,
    pub(crate) skipped: u64,
    /// The scenarios whose invocations are kept as observations (those that rotated).
    pub(crate) observe: std::sync::Arc<std::collections::HashSet<String>>,
    pub(crate) observations: BTreeMap<String, Vec<Observation>>,
}

pub(crate) fn short_hash(parts: [&str; 3]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in part.bytes().chain(std::iter::once(0xff)) {
            h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

impl Accum {
    /// An empty fold that keeps observations of the scenarios in `observe`.
    pub(crate) fn observing(observe: std::sync::Arc<std::collections::HashSet<String>>) -> Accum {
        Accum {
            observe,
            ..Accum::default()
        }
    }

    fn group(
        &mut self,
        stage: &str,
        scenario: &str,
        phase: Phase,
        probe: Option<&LiteProbe<'_>>,
    ) -> &mut Group {
        let matches = |k: &GroupKey| {
            k.stage == stage
                && k.scenario == scenario
                && k.phase == phase
                && probe.is_none_or(|p| {
                    k.source == Some(p.source)
                        && k.cache == Some(p.cache)
                        && k.fetch_at == Some(p.fetch_at)
                        && k.memory_mb == p.memory_mb
                        && k.architecture == p.architecture
                        && k.multi == p.multi
                        && k.secrets == p.secrets
                        && k.concurrency == concurrency(p)
                        && k.prewarm == p.prewarm
                        && k.probe_build == p.probe_build.unwrap_or(ProbeBuild::Default)
                        && k.runtime == p.runtime.unwrap_or(secbench_record::Runtime::Rust)
                })
        };
        let hash = short_hash([stage, scenario, phase.as_str()]);
        let found = self.index.get(&hash).and_then(|candidates| {
            candidates
                .iter()
                .copied()
                .find(|i| matches(&self.groups[*i].0))
        });
        let i = match found {
            Some(i) => i,
            None => {
                let key = GroupKey {
                    stage: stage.to_owned(),
                    scenario: scenario.to_owned(),
                    source: probe.map(|p| p.source),
                    cache: probe.map(|p| p.cache),
                    fetch_at: probe.map(|p| p.fetch_at),
                    memory_mb: probe.and_then(|p| p.memory_mb),
                    architecture: probe.and_then(|p| p.architecture),
                    phase,
                    multi: probe.and_then(|p| p.multi),
                    secrets: probe.and_then(|p| p.secrets),
                    concurrency: probe.map_or(ConcurrencyMode::OnDemand, concurrency),
                    prewarm: probe.and_then(|p| p.prewarm),
                    probe_build: probe
                        .and_then(|p| p.probe_build)
                        .unwrap_or(ProbeBuild::Default),
                    runtime: probe
                        .and_then(|p| p.runtime)
                        .unwrap_or(secbench_record::Runtime::Rust),
                    single_flight: probe.is_some_and(|p| p.single_flight == Some(true)),
                };
                self.groups.push((key, Group::new()));
                self.index
                    .entry(hash)
                    .or_default()
                    .push(self.groups.len() - 1);
                self.groups.len() - 1
            }
        };
        &mut self.groups[i].1
    }

    fn observe(&mut self, r: &Lite<'_>) {
        let Some(p) = &r.probe else { return };
        if !self.observe.contains(r.scenario.as_ref()) {
            return;
        }
        let last = p
            .fetches
            .iter()
            .rev()
            .find(|f| f.phase == FetchPhase::Handler);
        let sent = r.intended_send_unix_ms as f64 + r.schedule_slip_ns.unwrap_or(0) as f64 / 1e6;
        let o = Observation {
            sent_unix_ms: sent,
            done_unix_ms: r.intended_send_unix_ms as f64 + r.caller_latency_ns as f64 / 1e6,
            environment: short_hash([p.environment_id.as_ref(), "", ""]),
            cold: p.cold,
            warm: r.phase == Phase::Warm,
            version_index: last.and_then(|f| f.version_index),
            fetched: last.is_some_and(|f| f.outcome != Outcome::Error),
        };
        match self.observations.get_mut(r.scenario.as_ref()) {
            Some(v) => v.push(o),
            None => {
                self.observations.insert(r.scenario.to_string(), vec![o]);
            }
        }
    }

    pub(crate) fn add(&mut self, r: &Lite<'_>) {
        self.records += 1;
        if !self.observe.is_empty() {
            self.observe(r);
        }
        let probe = r.probe.as_ref();
        let phase = match probe.map(|p| p.cold) {
            Some(true) => Phase::Cold,
            Some(false) => Phase::Warm,
            None => r.phase,
        };
        let g = self.group(&r.stage, &r.scenario, phase, probe);
        *g.outcomes.entry(r.outcome).or_insert(0) += 1;
        if r.proactive {
            // Nobody waited for this environment's INIT: counted, not measured as a cold start.
            g.proactive_inits += 1;
            return;
        }
        g.record(Metric::CallerRoundTrip, r.caller_latency_ns);
        if let Some(slip) = r.schedule_slip_ns {
            g.record(Metric::ScheduleSlip, slip);
        }
        if let Some(pl) = &r.platform {
            let ms = |v: f64| (v * 1e6).round() as u64;
            if let Some(d) = pl.duration_ms {
                g.record(Metric::PlatformDuration, ms(d));
            }
            if let Some(b) = pl.billed_duration_ms {
                g.record(Metric::BilledDuration, b.saturating_mul(1_000_000));
            }
            // SnapStart: the cold start's platform time is the restore's.
            if let Some(i) = pl.init_duration_ms.or(pl.restore_duration_ms) {
                g.record(Metric::PlatformInitDuration, ms(i));
            }
        }
        if let Some(u) = &r.environment_usage {
            if let Some(requests) = u.requests {
                let c = g.connections.get_or_insert_with(Connections::default);
                c.invocations += 1;
                c.tls_handshakes += u.tls_handshakes.unwrap_or(0);
                c.requests += requests;
                c.reused_connection_requests += u.reused_connection_requests.unwrap_or(0);
            }
            let pairs = [
                (Metric::InitCpu, u.init_cpu_ns),
                (Metric::InitThrottled, u.init_throttled_ns),
                (Metric::InvokeCpu, u.cpu_ns),
                (Metric::InvokeThrottled, u.throttled_ns),
            ];
            for (m, v) in pairs {
                if let Some(v) = v {
                    g.record(m, v);
                }
            }
        }
        let Some(p) = probe else { return };
        g.record(Metric::HandlerDuration, p.handler_duration_ns);
        if let Some(max) = p.max_concurrency {
            managed(g, r, p, max);
        }
        if let Some(s) = &p.snapstart {
            let t = g.restores.get_or_insert_with(Default::default);
            t.restores += 1;
            t.init_random.insert(s.init_random.clone());
            t.init_urandom.insert(s.init_urandom.clone());
            t.restore_random.insert(s.restore_random.clone());
            t.restore_urandom.insert(s.restore_urandom.clone());
            if let Some(r) = s.reconnected {
                t.reconnected.0 += u64::from(r);
                t.reconnected.1 += 1;
            }
        }
        // What ran does not change within an environment: read from its first record.
        if p.cold {
            if let Some(v) = p.runtime_version.as_deref() {
                if !g.interpreters.contains(v) {
                    g.interpreters.insert(v.to_owned());
                }
            }
            for (name, version) in &p.libraries {
                let entry = format!("{name} {version}");
                if !g.software.contains(&entry) {
                    g.software.insert(entry);
                }
            }
        }
        if let Some(w) = &p.cpu_work {
            g.record(Metric::CpuWorkWall, w.wall_ns);
            g.record(Metric::CpuWorkCpu, w.cpu_ns);
        }
        // A restored environment's INIT is its snapshot's (once per version): not counted again.
        if let Some(init) = p.init.as_ref().filter(|_| p.snapstart.is_none()) {
            g.record(Metric::InitTotal, init.main_to_ready_ns);
            let platform_init_ns = r
                .environment_usage
                .as_ref()
                .and_then(|u| u.init_ns)
                .or_else(|| {
                    r.platform
                        .as_ref()
                        .and_then(|pl| pl.init_duration_ms)
                        .map(|ms| (ms * 1e6).round() as u64)
                });
            if let Some(before) =
                platform_init_ns.and_then(|i| i.checked_sub(init.main_to_ready_ns))
            {
                g.record(Metric::InitBeforeMain, before);
            }
            if let Some(v) = init.process_start_to_main_ns {
                g.record(Metric::InitProcessStart, v);
            }
            g.record(Metric::InitSdkConfig, init.sdk_config_load_ns);
            g.record(Metric::InitClientConstruction, init.client_construction_ns);
            if let Some(v) = init.imports_ns {
                g.record(Metric::InitImports, v);
            }
            if let Some(v) = init.prewarm_ns {
                g.record(Metric::InitPrewarm, v);
            }
            // A prewarm's call is an API call of the environment, priced like any other.
            for c in &init.prewarm_calls {
                *g.api_calls
                    .entry(format!("{}:{}", c.service, c.operation))
                    .or_insert(0) += u64::from(c.count);
                g.prewarm_calls += u64::from(c.count);
            }
            if let Some(v) = init.cpu_ns {
                g.record(Metric::InitProcessCpu, v);
            }
            if let Some(w) = &init.cpu_work {
                g.record(Metric::CpuWorkInitWall, w.wall_ns);
                g.record(Metric::CpuWorkInitCpu, w.cpu_ns);
            }
            // The INIT-time fetch counts as the handler's do: only when it succeeded (its
            // record is among the fetches; records that lack it give the bare figure).
            if let Some(v) = init.init_fetch_ns {
                match p.fetches.iter().find(|f| f.phase == FetchPhase::Init) {
                    Some(f) if f.outcome == Outcome::Error || f.outcome == Outcome::Partial => {}
                    Some(f) => g.record(Metric::InitFetch, f.latency_ns),
                    None => g.record(Metric::InitFetch, v),
                }
            }
        }
        if p.cold {
            if let Some(added) = cold_added(p, concurrency(p)) {
                g.record(Metric::ColdAdded, added);
            }
        }
        for f in &p.fetches {
            g.fetches += 1;
            for c in &f.api_calls {
                let (s, o) = (c.service.as_ref(), c.operation.as_ref());
                let known = g.api_calls.iter_mut().find(|(k, _)| {
                    k.len() == s.len() + 1 + o.len() && k.starts_with(s) && k.ends_with(o)
                });
                match known {
                    Some((_, n)) => *n += u64::from(c.count),
                    None => {
                        g.api_calls.insert(format!("{s}:{o}"), u64::from(c.count));
                    }
                }
            }
            match f.outcome {
                Outcome::Hit => g.cache_hits += 1,
                Outcome::Stale => g.stale_serves += 1,
                _ => {}
            }
            if let Some(class) = f.error_class {
                *g.fetch_errors.entry(class).or_insert(0) += 1;
            }
            // A partial fetch of several secrets never had all its values ready.
            if f.phase == FetchPhase::Handler
                && f.outcome != Outcome::Error
                && f.outcome != Outcome::Partial
            {
                g.record(Metric::FetchLatency, f.latency_ns);
                if let Some(cpu) = f.cpu_ns {
                    g.record(Metric::FetchCpu, cpu);
                }
            }
        }
    }
}

/// [`Metric::ColdAdded`] of one cold record: the INIT spans the first response waits for (none
/// in a provisioned environment) and its first successful fetch; `None` when that fetch failed
/// or the record has none.
fn cold_added(p: &LiteProbe<'_>, concurrency: ConcurrencyMode) -> Option<u64> {
    let ok = |f: &&LiteFetch<'_>| f.outcome != Outcome::Error && f.outcome != Outcome::Partial;
    // SnapStart: what the restore's hooks spent (the after-restore fetch, for `@restore`) and
    // the first handler fetch (a new connection: the snapshot's are dead).
    if let Some(s) = &p.snapstart {
        let first = p.fetches.iter().find(|f| f.phase == FetchPhase::Handler);
        return Some(s.restore_hooks_ns + first.filter(ok)?.latency_ns);
    }
    let on_demand = concurrency == ConcurrencyMode::OnDemand;
    let fetch = if Metric::waits_for_init(p.fetch_at, concurrency) {
        // Records without the INIT fetch's own record give its bare time (as `InitFetch`).
        match p.fetches.iter().find(|f| f.phase == FetchPhase::Init) {
            Some(f) => Some(f).filter(ok)?.latency_ns,
            None => p.init.as_ref()?.init_fetch_ns?,
        }
    } else {
        let first = p.fetches.iter().find(|f| f.phase == FetchPhase::Handler);
        first.filter(ok)?.latency_ns
    };
    let spans = match (&p.init, on_demand) {
        (Some(init), true) => {
            init.imports_ns.unwrap_or(0) + init.sdk_config_load_ns + init.client_construction_ns
        }
        _ => 0,
    };
    Some(spans + fetch)
}

/// A bad line found by a worker.
pub(crate) struct BadLine {
    pub(crate) line: u64,
    pub(crate) error: RecordError,
}

/// Why record lines held in memory could not be folded.
#[derive(Debug, thiserror::Error)]
pub enum FoldError {
    /// A line is not a record: fix the named line and field (or skip invalid lines).
    #[error("line {line}: {error}")]
    Line {
        /// 1-based line.
        line: u64,
        /// What is wrong with it.
        error: RecordError,
    },
    /// The bytes could not be cut into lines.
    #[error("reading: {0}")]
    Read(std::io::Error),
}

/// Folds the lines of `chunk` into `acc`. When the chunk is UTF-8, records are read in place
/// one after another (no search for line ends); a line that reader is not sure of is cut out and
/// read on its own, as every line of a chunk that is not UTF-8 is.
pub(crate) fn fold_chunk(
    acc: &mut Accum,
    chunk: &Chunk,
    skip_invalid: bool,
) -> Result<(), BadLine> {
    let bytes = &chunk.bytes[..];
    let text = std::str::from_utf8(bytes).ok();
    let (mut at, mut number) = (0, chunk.first_line);
    while at < bytes.len() {
        let read = text.and_then(|t| super::scan::line_at(t, at));
        if let Some((r, end)) = read.and_then(|(r, end)| Some((as_read(r)?, end))) {
            acc.add(&r);
            (at, number) = (end + 1, number + 1);
            continue;
        }
        let end = bytes[at..]
            .iter()
            .position(|b| *b == b'\n')
            .map_or(bytes.len(), |i| at + i);
        let line = run_dir::trim_end(&bytes[at..end]);
        if !line.is_empty() {
            match parse_lite(line) {
                Ok(r) => acc.add(&r),
                Err(_) if skip_invalid => acc.skipped += 1,
                Err(error) => {
                    return Err(BadLine {
                        line: number,
                        error,
                    })
                }
            }
        }
        (at, number) = (end + 1, number + 1);
    }
    Ok(())
}

/// Folds record lines held in memory, as a worker folds a chunk of a file; returns how many
/// records it counted. The fuzz target's entry into the ingest path.
pub fn fold_bytes(data: &[u8], skip_invalid: bool) -> Result<u64, FoldError> {
    Ingested::from_bytes(data, skip_invalid).map(|i| i.input.records)
}

impl Ingested {
    /// Groups record lines held in memory (no run, no manifest): what tests and the fuzzer
    /// fold. A bad line is an error naming its line and field.
    pub fn from_bytes(data: &[u8], skip_invalid: bool) -> Result<Ingested, FoldError> {
        let mut acc = Accum::default();
        let mut chunks = Chunks::new(data);
        let mut buf = Vec::new();
        while let Some(chunk) = chunks.next_into(buf).map_err(FoldError::Read)? {
            fold_chunk(&mut acc, &chunk, skip_invalid).map_err(|b| FoldError::Line {
                line: b.line,
                error: b.error,
            })?;
            buf = chunk.bytes;
        }
        let mut ingested = Ingested::default();
        ingested.input.records = acc.records;
        ingested.input.skipped_lines = acc.skipped;
        for (key, group) in acc.groups {
            merge_into(&mut ingested.groups, key, group);
        }
        attach_unidentified(&mut ingested.groups);
        Ok(ingested)
    }
}

/// Moves a worker's groups and observations into the run's.
pub(crate) fn absorb(
    groups: &mut BTreeMap<GroupKey, Group>,
    observations: &mut BTreeMap<String, Vec<Observation>>,
    acc: Accum,
) {
    for (key, group) in acc.groups {
        merge_into(groups, key, group);
    }
    for (scenario, mut obs) in acc.observations {
        observations.entry(scenario).or_default().append(&mut obs);
    }
}

/// A record without a probe record (a failed invocation) names no approach: a fold puts it in
/// the first group of its stage, scenario and phase that does, and in a group of its own only
/// when none came before it. Once every record is folded, such groups join the first identified
/// group of their stage, scenario and phase (so the outcome counts do not depend on whether a
/// failure came first in the file or in a worker's chunk).
pub(crate) fn attach_unidentified(groups: &mut BTreeMap<GroupKey, Group>) {
    let orphans: Vec<GroupKey> = groups
        .keys()
        .filter(|k| k.source.is_none())
        .cloned()
        .collect();
    for orphan in orphans {
        let home = groups
            .keys()
            .find(|k| {
                k.source.is_some()
                    && k.stage == orphan.stage
                    && k.scenario == orphan.scenario
                    && k.phase == orphan.phase
            })
            .cloned();
        if let (Some(home), Some(group)) = (home, groups.remove(&orphan)) {
            merge_into(groups, home, group);
        }
    }
}

/// What a Lambda Managed Instances record adds to its group: its worker, its environment's CPU
/// totals, the calls of its refreshes, its send time and the environment's load.
fn managed(g: &mut Group, r: &Lite<'_>, p: &LiteProbe<'_>, max: u32) {
    let m = g.managed.get_or_insert_with(Default::default);
    m.max_concurrency = m.max_concurrency.max(max);
    let worker = format!(
        "{}/{}",
        p.environment_id,
        p.worker.as_deref().unwrap_or_default()
    );
    if !m.workers.contains(&worker) {
        m.workers.insert(worker);
    }
    if let Some(u) = &r.environment_usage {
        if let (Some(cpu), Some(answered)) = (u.environment_cpu_ns, u.environment_answered) {
            let e = m
                .environment_cpu
                .entry(p.environment_id.to_string())
                .or_insert((0, 0));
            if answered > e.1 {
                *e = (cpu, answered);
            }
        }
        m.cpu_share_millis = m.cpu_share_millis.or(u.cpu_share_millis);
        m.peak_in_flight = m.peak_in_flight.max(u.in_flight.unwrap_or(0));
    }
    m.refresh_calls += p
        .fetches
        .iter()
        .filter(|f| f.outcome == Outcome::Refresh)
        .flat_map(|f| f.api_calls.iter())
        .map(|c| u64::from(c.count))
        .sum::<u64>();
    m.ttl_ms = m.ttl_ms.or(p.cache_ttl_ms);
    if r.intended_send_unix_ms > 0 {
        let t = r.intended_send_unix_ms;
        m.span_ms = Some(match m.span_ms {
            Some((a, b)) => (a.min(t), b.max(t)),
            None => (t, t),
        });
    }
}

pub(crate) fn merge_into(groups: &mut BTreeMap<GroupKey, Group>, key: GroupKey, group: Group) {
    match groups.get_mut(&key) {
        None => {
            groups.insert(key, group);
        }
        Some(g) => {
            for (mine, theirs) in g.histograms.iter_mut().zip(group.histograms) {
                match (mine.as_mut(), theirs) {
                    // Auto-resizing histograms of the same precision always add.
                    (Some(m), Some(t)) => {
                        let _ = m.add(&t);
                    }
                    (None, Some(t)) => *mine = Some(t),
                    _ => {}
                }
            }
            for (k, v) in group.outcomes {
                *g.outcomes.entry(k).or_insert(0) += v;
            }
            for (k, v) in group.fetch_errors {
                *g.fetch_errors.entry(k).or_insert(0) += v;
            }
            for (k, v) in group.api_calls {
                *g.api_calls.entry(k).or_insert(0) += v;
            }
            g.fetches += group.fetches;
            g.cache_hits += group.cache_hits;
            g.stale_serves += group.stale_serves;
            g.proactive_inits += group.proactive_inits;
            g.prewarm_calls += group.prewarm_calls;
            g.interpreters.extend(group.interpreters);
            g.software.extend(group.software);
            if let Some(t) = group.managed {
                g.managed.get_or_insert_with(Default::default).add(t);
            }
            if let Some(t) = group.restores {
                g.restores.get_or_insert_with(Default::default).add(t);
            }
            if let Some(t) = group.connections {
                let c = g.connections.get_or_insert_with(Connections::default);
                c.invocations += t.invocations;
                c.tls_handshakes += t.tls_handshakes;
                c.requests += t.requests;
                c.reused_connection_requests += t.reused_connection_requests;
            }
        }
    }
}
