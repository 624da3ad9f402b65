//! Calibration from a run on AWS: what a call costs the probe outside the front (the learning
//! step before the plan), the CPU share per memory size fitted in a cgroup to the AWS run's
//! wall time, and the crypto library's entropy cost per memory size and build.

use super::options::{LocalError, FUNCTION};
use crate::plan::Plan;
use crate::run;
use secbench_local_lambda::front::Front;
use secbench_local_lambda::{Code, Constraints};
use secbench_record::{ProbeBuild, Runtime};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// Warm invocations per operation that [`learn_client_side`] times.
const LEARN_CALLS: usize = 40;

/// The operation each SDK source calls once per uncached fetch.
const SOURCE_OPERATIONS: [(secbench_record::Source, &str); 3] = [
    (secbench_record::Source::KmsEnv, "TrentService.Decrypt"),
    (secbench_record::Source::Ssm, "AmazonSSM.GetParameter"),
    (
        secbench_record::Source::SecretsManager,
        "secretsmanager.GetSecretValue",
    ),
];

/// What a call costs the probe outside the front, per operation of the calibration that the
/// plan's scenarios make: for each, the Rust probe fetches without a cache through the
/// front with the emulator's own time (no AWS latency), once cold and then `LEARN_CALLS`
/// times warm, at the largest memory size the plan runs that source at; the median latency
/// the probe measured, less the median time the front held the request and the round trip
/// it added, is the probe's side (its SDK, TLS, HTTP and scheduling), which the front then
/// takes off each drawn latency. On AWS that side is inside the latencies the run measured;
/// without this the local stage would add it a second time.
pub async fn learn_client_side(
    client: &aws_sdk_lambda::Client,
    front: &Front,
    plan: &Plan,
    rtt: Duration,
) -> Result<BTreeMap<String, Duration>, LocalError> {
    let mut learned = BTreeMap::new();
    front.learn(true);
    for (source, operation) in SOURCE_OPERATIONS {
        let Some(memory_mb) = plan
            .scenarios
            .iter()
            .filter(|s| s.source == source)
            .map(|s| s.memory_mb)
            .max()
        else {
            continue;
        };
        if !front.calibrates(operation) {
            continue;
        }
        let Some(template) = plan.scenarios.first() else {
            break;
        };
        let s = crate::plan::Scenario {
            name: format!("learn-{source}"),
            source,
            cache: secbench_record::CacheMode::None,
            cache_ttl: None,
            agent_ttl: None,
            fetch_at: secbench_record::FetchAt::Handler,
            fetches: 1,
            memory_mb,
            prewarm: None,
            cpu_rounds: None,
            kind: secbench_record::ScenarioKind::Fetch,
            concurrency_mode: secbench_record::ConcurrencyMode::OnDemand,
            runtime: Runtime::Rust,
            probe_build: ProbeBuild::Default,
            secrets: 1,
            multi: None,
            faults: None,
            rotation: None,
            ..template.clone()
        };
        let tag = format!("learn-{:08x}", rand::random::<u32>());
        run::control::apply(
            client,
            FUNCTION,
            &s,
            &tag,
            None,
            Duration::from_millis(10),
            &run::control::StageSettings::default(),
        )
        .await
        .map_err(|e| LocalError::Learn(format!("{operation}: {e}")))?;
        let event = secbench_record::event::ProbeEvent {
            run_id: "learn".into(),
            scenario: s.name.clone(),
            fetches: 1,
            force_refresh: false,
        }
        .to_json();
        // As many at a time as the plan's scenarios of the source send (their environments
        // compete for the host as the plan's will). The first round starts the environments
        // (cold, new connections): not counted, and neither is what the front held for it.
        let at_once = plan
            .scenarios
            .iter()
            .filter(|s| s.source == source)
            .map(|s| s.concurrency)
            .max()
            .unwrap_or(1)
            .clamp(1, 4) as usize;
        let mut latencies = Vec::with_capacity(LEARN_CALLS);
        for round in 0..=LEARN_CALLS.div_ceil(at_once) {
            if round == 1 {
                front.learn(true);
            }
            let mut calls = tokio::task::JoinSet::new();
            for _ in 0..at_once {
                let (client, event) = (client.clone(), event.clone());
                calls.spawn(async move {
                    run::invoke::invoke(&client, FUNCTION, event.as_bytes()).await
                });
            }
            while let Some(r) = calls.join_next().await {
                let r = r.map_err(|e| LocalError::Learn(format!("{operation}: {e}")))?;
                let latency = r
                    .probe
                    .as_ref()
                    .and_then(|p| p.fetches.first())
                    .filter(|f| f.outcome == secbench_record::Outcome::Miss)
                    .map(|f| f.latency_ns)
                    .ok_or_else(|| {
                        LocalError::Learn(format!(
                            "{operation}: an invocation returned no successful fetch ({:?}{})",
                            r.outcome,
                            r.error_type
                                .as_deref()
                                .map(|t| format!(", {t}"))
                                .unwrap_or_default()
                        ))
                    })?;
                if round > 0 {
                    latencies.push(latency);
                }
            }
        }
        latencies.sort_unstable();
        let seen = Duration::from_nanos(latencies[latencies.len() / 2]);
        let held = front.held_median(operation).ok_or_else(|| {
            LocalError::Learn(format!("{operation}: no request of it reached the front"))
        })?;
        learned.insert(operation.to_owned(), seen.saturating_sub(held + rtt));
    }
    front.learn(false);
    front.set_client_side(learned.clone());
    Ok(learned)
}

/// The wall time to divide a workload's CPU time by for the share that reproduces `wall_ns`
/// under a CFS quota of that share per `period`: a workload throttled over several periods
/// starts at a random point of one with that period's whole quota, so it ends on average one
/// and a half periods before CPU time / share (a first partial period of half a period on
/// average that still gives a full quota, and a last one it leaves as soon as it is done).
/// Lambda's throttling has the same period (`cpu_period`'s default is its observed 20 ms), so
/// the AWS run's wall time already shows it. Under four periods the wall time is taken as is.
fn throttled_wall(wall_ns: u64, period: Duration) -> f64 {
    let (wall, period) = (wall_ns.max(1) as f64, period.as_nanos() as f64);
    if wall >= 4.0 * period {
        wall + 1.5 * period
    } else {
        wall
    }
}

/// Runs of the CPU workload [`calibrate_cpu`] times per memory size, unconstrained.
const CPU_WORK_RUNS: u32 = 5;

/// Rounds of [`fit_share`] at most.
const FIT_ROUNDS: usize = 4;

/// Runs of the workload per round of [`fit_share`], the first of them left out (it pays for
/// the process's start in the quota): a median of 11, as one run's wall time moves by whole
/// periods.
const FIT_RUNS: u32 = 12;

/// How close to the AWS run's wall time a fitted share's median wall time is taken as met.
const FIT_TOLERANCE: f64 = 0.03;

/// The CPU a run on AWS showed, as shares of this machine's CPU: the calibration workload's
/// CPU time here (the probe's own, unconstrained, the median of [`CPU_WORK_RUNS`]) against its
/// wall time on AWS at each memory size (and at INIT), so that it takes that long here too.
/// With cgroups, the quota period is raised from the plan's when the smallest share would be
/// below the kernel's 1 ms quota at it (a host much faster than Lambda's vCPU), and each
/// share of a workload throttled over several periods is then fitted to the AWS wall time by
/// running the workload under it ([`fit_share`]).
async fn calibrate_cpu(
    probe: &Path,
    aws: &secbench_analyzer::calibration::AwsCalibration,
    constraints: &Constraints,
    plan_period: std::time::Duration,
) -> Result<secbench_local_lambda::CpuCalibration, LocalError> {
    let host = host_cpus();
    let root = match constraints {
        Constraints::Cgroups { root, .. } => Some(root.clone()),
        Constraints::None(_) => None,
    };
    // The workload's CPU time here per memory size: the median, as one run's CPU time moves
    // with the host (a busy sibling hyperthread, caches, frequency) both ways, and the share
    // scales the workload's wall time by it.
    let mut here = Vec::new();
    for at in &aws.cpu {
        let runs = workload_runs(probe, at, CPU_WORK_RUNS, None, plan_period).await?;
        let cpu: Vec<u64> = runs.iter().map(|w| w.cpu_ns).collect();
        here.push(secbench_record::run::median_ns(&cpu).unwrap_or(1) as f64);
    }
    let model =
        |cpu: f64, wall_ns: u64, period| (cpu / throttled_wall(wall_ns, period)).clamp(0.001, host);
    let mut period = plan_period;
    let mut share_by_memory = BTreeMap::new();
    if let Some(root) = &root {
        for _ in 0..3 {
            let needed = aws
                .cpu
                .iter()
                .zip(&here)
                .map(|(at, cpu)| floor_period(model(*cpu, at.handler_wall_ns, period)))
                .max()
                .unwrap_or(period);
            if needed <= period {
                break;
            }
            period = needed;
        }
        // The smallest share first: its fit may raise the period the others are fitted at.
        let mut order: Vec<usize> = (0..aws.cpu.len()).collect();
        order.sort_by(|a, b| {
            let share = |i: usize| model(here[i], aws.cpu[i].handler_wall_ns, period);
            share(*a).total_cmp(&share(*b))
        });
        for i in order {
            let at = &aws.cpu[i];
            let mut share = model(here[i], at.handler_wall_ns, period);
            if at.handler_wall_ns as f64 >= 4.0 * period.as_nanos() as f64 {
                (share, period) = fit_share(probe, root, at, share, period, host).await?;
            }
            share_by_memory.insert(at.memory_mb, share);
        }
        if period > plan_period {
            eprintln!(
                "secbench local: calibration: the quota period raised from the plan's {plan_period:?} to {period:?}: the run's smallest share is below the kernel's 1 ms quota at {plan_period:?}"
            );
        }
    } else {
        for (at, cpu) in aws.cpu.iter().zip(&here) {
            share_by_memory.insert(at.memory_mb, model(*cpu, at.handler_wall_ns, period));
        }
    }
    for (memory_mb, share) in &share_by_memory {
        below_quota(*memory_mb, *share, period)?;
    }
    let mut init = Vec::new();
    for (at, cpu) in aws.cpu.iter().zip(&here) {
        if let Some(w) = at.init_wall_ns {
            init.push((cpu / w.max(1) as f64).clamp(0.001, host));
        }
    }
    init.sort_by(f64::total_cmp);
    Ok(secbench_local_lambda::CpuCalibration {
        share_by_memory,
        init_cpus: init.get(init.len() / 2).copied(),
        cpu_period: (period > plan_period).then_some(period),
    })
}

/// The share under which the workload's median wall time in a cgroup of `at.memory_mb` comes
/// closest to the AWS run's, starting from `share` and scaling it by the ratio of the two
/// for at most [`FIT_ROUNDS`] rounds. The model that gives the start cannot know two things
/// the kernel does: CFS enforces a quota at scheduler-tick granularity (4 ms at 250 Hz, more
/// than a 1.4 ms quota), so a throttled task runs in bursts and pays back the overrun; and the
/// workload uses more CPU when throttled (cold caches after each pause) than unconstrained.
/// Both stretch the wall time (by about 10 % on a 2-core v1 host at 128 MB). Returns that
/// share and the period it was measured at (at least `cpu_period`; longer where a round's
/// share was below the kernel's 1 ms quota at it).
async fn fit_share(
    probe: &Path,
    root: &std::sync::Arc<secbench_local_lambda::cgroup::CgroupRoot>,
    at: &secbench_analyzer::calibration::CpuAt,
    share: f64,
    cpu_period: std::time::Duration,
    host: f64,
) -> Result<(f64, std::time::Duration), LocalError> {
    let target = at.handler_wall_ns.max(1) as f64;
    let (mut share, mut period) = (share, cpu_period);
    // The best share with the period it was measured at: a throttled wall time moves in whole
    // periods, so a share fitted at one period is off at another (a first version kept the
    // longest period any round needed and ran the best share at it: 2 of 19 runs of the
    // calibrated test 16-18 % off).
    let mut best = (f64::INFINITY, share, period);
    for _ in 0..FIT_ROUNDS {
        let runs = workload_runs(probe, at, FIT_RUNS, Some((root, share)), period).await?;
        let walls: Vec<u64> = runs.iter().skip(1).map(|w| w.wall_ns).collect();
        let wall = secbench_record::run::median_ns(&walls).unwrap_or(1) as f64;
        let off = (wall - target).abs() / target;
        if off < best.0 {
            best = (off, share, period);
        }
        if off <= FIT_TOLERANCE {
            break;
        }
        share = (share * (wall / target).clamp(0.5, 2.0)).clamp(0.001, host);
        // A share below the kernel's smallest quota is written at a longer period.
        period = period.max(floor_period(share));
    }
    eprintln!(
        "secbench local: calibration at {} MB: {:.4} of a CPU, the workload {:.1} % off the AWS run's {:.1} ms",
        at.memory_mb,
        best.1,
        best.0 * 100.0,
        target / 1e6
    );
    Ok((best.1, best.2))
}

/// `repeats` runs of the calibration workload of `at` in one process, one right after another
/// (as a warm environment's invocations come when the runner keeps it busy: what a run overran
/// its quota by is paid by the next): unconstrained, or in a cgroup under `root` with `share`
/// of a CPU per `period`.
async fn workload_runs(
    probe: &Path,
    at: &secbench_analyzer::calibration::CpuAt,
    repeats: u32,
    cgroup: Option<(&secbench_local_lambda::cgroup::CgroupRoot, f64)>,
    period: std::time::Duration,
) -> Result<Vec<secbench_record::CpuWork>, LocalError> {
    secbench_local_lambda::measure::cpu_work(
        probe,
        secbench_record::probe_config::CpuWorkRequest {
            rounds: at.rounds,
            repeats,
        },
        secbench_local_lambda::measure::Allowance {
            root: cgroup.map(|(root, _)| root),
            memory_mb: at.memory_mb,
            cpus: cgroup.map(|(_, share)| share),
            cpu_period: period,
            at_init: false,
            sysgenid: None,
        },
    )
    .await
    .map_err(|e| LocalError::Spawn {
        what: "the probe's CPU workload".into(),
        source: std::io::Error::other(e),
    })
}

/// The smallest whole-ms quota period at which `share` is written as asked with a tenth to
/// spare (the kernel's smallest quota is 1 ms per period), at most the kernel's 1 s.
fn floor_period(share: f64) -> std::time::Duration {
    let min_quota_ms = secbench_local_lambda::cgroup::CpuAllowance::MIN_QUOTA_US as f64 / 1000.0;
    std::time::Duration::from_millis((min_quota_ms * 1.1 / share.max(1e-6)).ceil() as u64)
        .min(std::time::Duration::from_secs(1))
}

/// The kernel allows no quota below 1 ms per period: a smaller share would silently be raised
/// to it, so it is refused, naming the smallest period that takes it.
fn below_quota(
    memory_mb: u32,
    share: f64,
    cpu_period: std::time::Duration,
) -> Result<(), LocalError> {
    let allowance = secbench_local_lambda::cgroup::CpuAllowance::of(share, cpu_period);
    if (allowance.quota_us as f64) > share * allowance.period_us as f64 * 1.05 {
        let min_quota = secbench_local_lambda::cgroup::CpuAllowance::MIN_QUOTA_US as f64;
        return Err(LocalError::CalibrationBelowQuota {
            memory_mb,
            share,
            period: cpu_period,
            smallest_period: std::time::Duration::from_micros((min_quota / share).ceil() as u64),
        });
    }
    Ok(())
}

/// The entropy cost per memory size of the plan and build, under that size's CPU quota.
pub async fn measure_entropy(
    plan: &Plan,
    builds: &BTreeMap<ProbeBuild, Code>,
    constraints: &Constraints,
) -> Result<Vec<secbench_record::run::EntropyMeasurement>, LocalError> {
    let mut sizes: Vec<u32> = plan.scenarios.iter().map(|s| s.memory_mb).collect();
    sizes.sort_unstable();
    sizes.dedup();
    let root = match constraints {
        Constraints::Cgroups { root, .. } => Some(root.clone()),
        Constraints::None(_) => None,
    };
    let mut out = Vec::new();
    for (build, code) in builds {
        for m in &sizes {
            // Under the share (a handler's first fetch), and under an on-demand INIT's
            // allowance when it differs (a fetch or prewarm at INIT).
            let (share, init) = constraints.cpus_for(*m);
            let mut allowances = vec![(share, false)];
            if init.is_some() {
                allowances.push((init, true));
            }
            for (cpus, at_init) in allowances {
                let e = secbench_local_lambda::entropy::measure(
                    &code.bin,
                    secbench_local_lambda::entropy::Allowance {
                        root: root.as_deref(),
                        memory_mb: *m,
                        cpus: cpus.map(|c| c.min(host_cpus())),
                        cpu_period: constraints.cpu_period().unwrap_or(plan.local.cpu_period),
                        at_init,
                        sysgenid: code.sysgenid.as_deref(),
                    },
                )
                .await
                .map_err(|source| LocalError::Spawn {
                    what: format!("the {build} probe's entropy measurement"),
                    source: std::io::Error::other(source),
                })?;
                out.push(e);
            }
        }
    }
    Ok(out)
}

fn host_cpus() -> f64 {
    std::thread::available_parallelism().map_or(1, |n| n.get()) as f64
}
/// The CPU and memory constraints environments get (none when the plan says so), and the CPU
/// calibration from `aws` when that run measured its CPU.
pub async fn constraints(
    plan: &Plan,
    probe: &Path,
    aws: Option<&secbench_analyzer::calibration::AwsCalibration>,
) -> Result<(Constraints, Option<secbench_local_lambda::CpuCalibration>), LocalError> {
    let constraints = if plan.local.constrain {
        Constraints::detect(plan.local.cpu_period).with_init_cpu(plan.local.init_cpu)
    } else {
        Constraints::None(secbench_record::run::Constraint::NotConstrained)
    };
    match aws {
        Some(c) if !c.cpu.is_empty() => {
            let cal = calibrate_cpu(probe, c, &constraints, plan.local.cpu_period).await?;
            Ok((constraints.with_calibration(cal.clone()), Some(cal)))
        }
        _ => Ok((constraints, None)),
    }
}

/// What the run was calibrated from, as the manifest records it (the probe's side of each
/// operation is filled in after [`learn_client_side`]).
pub fn calibrated_from(
    c: &secbench_analyzer::calibration::AwsCalibration,
    cpu: Option<&secbench_local_lambda::CpuCalibration>,
    plan: &Plan,
    front: &Front,
) -> secbench_record::run::Calibration {
    secbench_record::run::Calibration {
        run_id: c.run_id.clone(),
        dir: c.dir.display().to_string(),
        operations: c
            .service_ns
            .iter()
            .map(|(op, v)| (op.clone(), v.len() as u64))
            .collect(),
        cpu_share_millis: cpu
            .map(|cal| {
                cal.share_by_memory
                    .iter()
                    .map(|(m, s)| (*m, (s * 1000.0).round() as u32))
                    .collect()
            })
            .unwrap_or_default(),
        init_cpu_millis: cpu
            .and_then(|cal| cal.init_cpus)
            .map(|c| (c * 1000.0).round() as u32),
        cpu_period_raised_from_us: cpu
            .and_then(|cal| cal.cpu_period)
            .map(|_| u64::try_from(plan.local.cpu_period.as_micros()).unwrap_or(u64::MAX)),
        local_overhead_ns: u64::try_from(front.overhead().as_nanos()).unwrap_or(u64::MAX),
        client_side_ns: Vec::new(),
    }
}

/// Durations per operation in whole nanoseconds, as the manifest records them.
pub fn nanos(per_operation: BTreeMap<String, Duration>) -> Vec<(String, u64)> {
    per_operation
        .into_iter()
        .map(|(op, d)| (op, u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)))
        .collect()
}
