//! The cost model of Lambda Managed Instances (an approach whose `concurrency` is
//! `managed-instances`), beside on-demand and provisioned at the same workload.
//!
//! Lambda Managed Instances charge no duration: the functions run on the EC2 instances of a
//! capacity provider, priced at their on-demand price plus Lambda's management fee (a fraction
//! of it), and $0.20 per million requests (the same as on demand, so a context line). What a way
//! of getting secrets changes is the CPU each invocation takes (which sets how many environments
//! and instances the peak needs) and the API calls, which depend on how many caches there are:
//!
//! - environments `E = max(minimum, ⌈max(peak_rps × cpu_per_invocation / (vCPUs ×
//!   target_utilisation), peak_concurrency / max_concurrency)⌉)`, where `peak_concurrency =
//!   peak_rps × avg_duration`; the minimum is the three AWS starts at publish;
//! - instances `I = max(minimum, ⌈functions × E × vCPUs / instance vCPUs⌉)`;
//! - capacity `I × month_hours × hourly price`, and the fee `× management_fee_fraction`;
//! - caches `E × workers per environment` (one per process for Python, one per worker thread
//!   for Node.js, one per environment for Rust's shared cache), each refreshed every TTL with `refresh calls per TTL` calls (1
//!   with single flight; the measured herd without);
//! - environments replaced every `environment_lifetime`, each worker fetching again.

use super::counts::{Counts, Kind, Modelled};
use super::pricing::Pricing;
use super::workload::{Architecture, Workload, ASSUMED_TARGET_CPU_UTILIZATION};
use crate::approach::Approach;
use serde::Serialize;

/// What a run of a Lambda Managed Instances approach measured.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ManagedMeasure {
    /// `PerExecutionEnvironmentMaxConcurrency`.
    pub max_concurrency: u32,
    /// vCPUs per environment.
    pub vcpus: f64,
    /// Workers (processes or threads, each with its own cache) per environment.
    pub workers_per_environment: f64,
    /// CPU per invocation, seconds (the environments' CPU after INIT over their invocations).
    pub cpu_s_per_invocation: f64,
    /// API calls per TTL period per worker's cache: 1 when each expiry makes one call (single
    /// flight, or one invocation at a time per cache), more when concurrent misses each call.
    pub refresh_calls_per_ttl: f64,
}

/// The capacity a Lambda Managed Instances approach needs at the workload's peak.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Capacity {
    /// Environments per function.
    pub environments: f64,
    /// Instances for all the functions.
    pub instances: f64,
    /// The instance type.
    pub instance_type: String,
    /// Its vCPUs.
    pub instance_vcpus: u32,
    /// Its hourly price.
    pub usd_per_hour: f64,
    /// The target CPU utilisation used, and whether it was assumed.
    pub target_cpu_utilization: (f64, bool),
}

/// Why an approach cannot be priced as Managed Instances.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unpriced(pub String);

/// The environments and instances the workload's peak needs.
pub fn capacity(w: &Workload, p: &Pricing, m: &ManagedMeasure) -> Result<Capacity, Unpriced> {
    let prices = &p.lambda.managed_instances;
    let arch = match w.architecture {
        Architecture::X86_64 => "x86_64",
        Architecture::Arm64 => "arm64",
    };
    let instance_type = match &w.managed_instances.instance_type {
        Some(t) => t.clone(),
        None => prices.default_instance.get(arch).cloned().ok_or_else(|| {
            Unpriced(format!(
                "the pricing table names no default instance for {arch} (lambda.managed_instances.default_instance)"
            ))
        })?,
    };
    let instance = prices.instances.get(&instance_type).ok_or_else(|| {
        Unpriced(format!(
            "instance type {instance_type} is not in the pricing table (lambda.managed_instances.instances)"
        ))
    })?;
    if instance.architecture != arch {
        return Err(Unpriced(format!(
            "instance type {instance_type} is {}, the workload is {arch}",
            instance.architecture
        )));
    }
    let (target, assumed) = match w.managed_instances.target_cpu_utilization {
        Some(t) => (t, false),
        None => (ASSUMED_TARGET_CPU_UTILIZATION, true),
    };
    let minimum = f64::from(prices.minimum_instances);
    let peak_concurrency = match w.avg_duration {
        Some(d) => w.peak_rps * d.as_secs_f64(),
        None => 1.0,
    };
    let by_cpu = w.peak_rps * m.cpu_s_per_invocation / (m.vcpus * target);
    let by_concurrency = peak_concurrency / f64::from(m.max_concurrency.max(1));
    let environments = by_cpu.max(by_concurrency).ceil().max(minimum);
    let instances = (f64::from(w.functions) * environments * m.vcpus
        / f64::from(instance.vcpus.max(1)))
    .ceil()
    .max(minimum);
    Ok(Capacity {
        environments,
        instances,
        instance_type,
        instance_vcpus: instance.vcpus,
        usd_per_hour: instance.usd_per_hour,
        target_cpu_utilization: (target, assumed),
    })
}

/// The counts of a Lambda Managed Instances approach, per function per month.
pub fn counts(a: Approach, w: &Workload, p: &Pricing, m: &ManagedMeasure, c: &Capacity) -> Counts {
    let month_s = p.month_hours * 3600.0;
    let environments = c.environments;
    let new_environments = environments * month_s / w.environment_lifetime.as_secs_f64();
    let fetches = w.invocations_per_month * f64::from(w.secrets_per_invocation);
    let secrets = f64::from(w.secrets);
    let workers = m.workers_per_environment.max(1.0);
    let caches = environments * workers;
    let (misses, refreshes) = match a.kind() {
        Kind::Baseline => (0.0, 0.0),
        Kind::Uncached => (fetches, 0.0),
        Kind::AtInit => ((new_environments * workers * secrets).min(fetches), 0.0),
        Kind::Cached => {
            let misses = (new_environments * workers * secrets).min(fetches);
            let refreshes = (caches * month_s / w.cache_ttl.as_secs_f64()
                * m.refresh_calls_per_ttl.max(1.0)
                * secrets)
                .min(fetches - misses);
            (misses, refreshes)
        }
    };
    Counts {
        month_s,
        environments,
        new_environments,
        fetches,
        misses,
        refreshes,
    }
}
