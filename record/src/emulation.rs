//! What the local stage emulated for a run and what it did not ([`Emulation`], written into the
//! manifest), and the sentence every output of a local run carries ([`Emulation::statement`]).

use crate::units::ms_text;
use serde::{Deserialize, Serialize};

/// What the local stage emulated for a run, and what it did not: written into the manifest so
/// every output can say it. Absent for runs on AWS and before version 3.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Emulation {
    /// Whether CPU and memory were constrained per environment (and how), or why not.
    pub cpu_and_memory: Constraint,
    /// The CPU quota period, µs (when constrained).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_period_us: Option<u64>,
    /// Environments were frozen between invocations.
    pub frozen_between_invocations: bool,
    /// The probe and the agent reached the emulated endpoints over TLS 1.3.
    pub tls: bool,
    /// Round trip added per request at the front, ns.
    pub rtt_ns: u64,
    /// Added per new connection (TCP and TLS set-up), ns.
    pub connection_setup_ns: u64,
    /// The endpoints closed connections idle this long, ns (absent: never, or a run from before
    /// it was a setting).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_timeout_ns: Option<u64>,
    /// The CPU quotas of the environments that could run at once, summed, in thousandths of
    /// a CPU, per scenario where that exceeds the host's CPUs (those figures include host
    /// contention).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub oversubscribed: Vec<Oversubscribed>,
    /// The host's CPUs.
    pub host_cpus: u32,
    /// The agent that stood in for the Parameters and Secrets extension, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// The CPU an on-demand INIT got (absent before it was a setting: the memory share).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_cpu: Option<InitCpuEmulation>,
    /// The crypto library's one-time entropy cost, measured at the start of the run per
    /// memory size and probe build.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entropy: Vec<EntropyMeasurement>,
    /// The run on AWS whose service times (and CPU) the local stage took over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibrated_from: Option<Calibration>,
    /// The interpreter that ran each managed runtime the plan ran (Node.js and Python).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub runtimes: Vec<RuntimeInterpreter>,
    /// The scenarios run as Lambda Managed Instances, each environment's shape.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub managed_instances: Vec<ManagedInstancesEmulation>,
    /// The scenarios run with SnapStart (their names).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub snapstart: Vec<String>,
}

/// A Lambda Managed Instances scenario on the local stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManagedInstancesEmulation {
    /// The scenario.
    pub scenario: String,
    /// Environments of its version.
    pub environments: u32,
    /// Invocations each serves at once at most.
    pub max_concurrency: u32,
    /// vCPUs of each (its cgroup's quota).
    pub vcpus: f64,
}

/// A managed runtime on the local stage and the interpreter that ran it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimeInterpreter {
    /// The runtime the plan named.
    pub runtime: crate::Runtime,
    /// What ran it (`node v24.19.0`, `CPython 3.13.0`).
    pub interpreter: String,
}

impl RuntimeInterpreter {
    /// Whether the interpreter is the runtime's own major (and minor, for Python) version.
    pub fn matches(&self) -> bool {
        let name = self.runtime.as_str();
        if let Some(major) = name
            .strip_prefix("nodejs")
            .and_then(|r| r.strip_suffix(".x"))
        {
            return self.interpreter.starts_with(&format!("node v{major}."));
        }
        match name.strip_prefix("python") {
            Some(version) => self
                .interpreter
                .split(' ')
                .nth(1)
                .is_some_and(|v| v == version || v.starts_with(&format!("{version}."))),
            None => true,
        }
    }

    fn text(&self) -> String {
        if self.matches() {
            format!("{} by {}", self.runtime, self.interpreter)
        } else {
            format!(
                "{} by {} (this machine has no {} interpreter: its figures are not {}'s)",
                self.runtime, self.interpreter, self.runtime, self.runtime
            )
        }
    }
}

/// The CPU an on-demand INIT got on the local stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InitCpuEmulation {
    /// `boosted` or `share` (`[local] init_cpu`).
    pub mode: crate::InitCpu,
    /// The CPUs a boosted INIT was allowed, thousandths (capped at the host's).
    pub boosted_cpu_millis: u32,
}

/// What the crypto library's first randomness cost in one environment's quota.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntropyMeasurement {
    /// The memory size whose limits it ran under.
    pub memory_mb: u32,
    /// The CPU allowance it ran under, thousandths of a CPU (absent: unconstrained).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_share_millis: Option<u32>,
    /// Measured at an on-demand INIT's allowance (the boost) rather than the memory share.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub at_init: bool,
    /// The probe build that measured it.
    pub probe_build: crate::ProbeBuild,
    /// Its wall time, ns (one measurement per process: the cost is once per process).
    pub wall_ns: Vec<u64>,
    /// The CPU time it used, ns, per measurement.
    pub cpu_ns: Vec<u64>,
    /// Whether the kernel offered `/dev/sysgenid` (aws-lc then skips CPU jitter entropy).
    pub sysgenid: bool,
}

/// The AWS run the local stage's service times (and CPU) came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Calibration {
    /// Its run id.
    pub run_id: String,
    /// Its directory, as given.
    pub dir: String,
    /// The operations whose latencies the front draws from, with the count of calls each had.
    pub operations: Vec<(String, u64)>,
    /// The CPU share the calibration set per memory size (thousandths of a CPU), from the
    /// run's `cpu-calibration` scenarios; empty when it had none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cpu_share_millis: Vec<(u32, u32)>,
    /// The CPUs INIT was given, thousandths, from the same scenarios.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_cpu_millis: Option<u32>,
    /// The plan's quota period, µs, when the calibration raised it (`Emulation::cpu_period_us`
    /// is the one used): the smallest share was below the kernel's 1 ms quota at it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_period_raised_from_us: Option<u64>,
    /// The local stage's own cost of a request outside the front's timing (TLS records, HTTP,
    /// the client's side), measured at the start and taken off each drawn latency, ns.
    #[serde(default)]
    pub local_overhead_ns: u64,
    /// Per operation, what a call costs the probe outside the front (its SDK, TLS, HTTP and
    /// scheduling), learned from uncalibrated calls at the start of the run and taken off
    /// that operation's drawn latencies instead of `local_overhead_ns`, ns.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub client_side_ns: Vec<(String, u64)>,
}

/// How CPU and memory were (or were not) constrained.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "detail")]
pub enum Constraint {
    /// By a cgroup per environment (`cgroup v1` or `cgroup v2`).
    Cgroup(String),
    /// Not constrained: the plan said so (`[local] constrain = false`).
    #[default]
    NotConstrained,
    /// Not constrained because the cgroups could not be written (the reason).
    Unavailable(String),
}

/// A scenario whose environments' quotas add up to more than the host's CPUs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Oversubscribed {
    /// The scenario.
    pub scenario: String,
    /// Its quotas summed, thousandths of a CPU.
    pub cpu_millis: u32,
}

/// The median of some durations (the upper one of an even count).
pub fn median_ns(v: &[u64]) -> Option<u64> {
    let mut v = v.to_vec();
    v.sort_unstable();
    v.get(v.len() / 2).copied()
}

impl Emulation {
    /// The sentence every output of a local run carries: what was emulated and what was not.
    pub fn statement(&self) -> String {
        let cpu = match &self.cpu_and_memory {
            Constraint::Cgroup(how) => format!(
                "CPU share by memory size (memory_mb/1769 of a CPU per {} ms, {how}), memory limit at memory_mb",
                self.cpu_period_us.unwrap_or(0) as f64 / 1000.0
            ),
            Constraint::NotConstrained => "CPU and memory not constrained".to_owned(),
            Constraint::Unavailable(why) => {
                format!("CPU and memory not constrained ({why})")
            }
        };
        let mut emulated = vec![cpu];
        match (&self.init_cpu, &self.cpu_and_memory) {
            (Some(i), Constraint::Cgroup(_)) if i.mode == crate::InitCpu::Boosted => emulated.push(format!(
                "an on-demand INIT with up to {:.2} CPUs, the memory share from the first invocation on (an assumption: on-demand Lambda is observed to boost INIT, and AWS does not document by how much; the plan's [local] init_cpu = \"share\" turns it off), a provisioned INIT at the memory share",
                f64::from(i.boosted_cpu_millis) / 1000.0
            )),
            (Some(_), Constraint::Cgroup(_)) => emulated.push(
                "INIT at the memory share, like an invocation (`[local] init_cpu = \"share\"`)".into(),
            ),
            _ => {}
        }
        if self.frozen_between_invocations {
            emulated.push("environments frozen between invocations".into());
        }
        if self.tls {
            emulated.push(
                "TLS 1.3 to the endpoints (new connection per cold fetch, reused warm)".into(),
            );
        }
        if let Some(agent) = &self.agent {
            emulated.push(format!(
                "the Parameters and Secrets extension by {agent} on localhost (TTL at most 300 s, as the extension's)"
            ));
        }
        if !self.runtimes.is_empty() {
            emulated.push(format!(
                "the managed runtimes {}",
                self.runtimes
                    .iter()
                    .map(RuntimeInterpreter::text)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if self.rtt_ns > 0 || self.connection_setup_ns > 0 {
            emulated.push(format!(
                "an assumed network round trip of {:.3} ms per request and {:.3} ms per new connection",
                self.rtt_ns as f64 / 1e6,
                self.connection_setup_ns as f64 / 1e6
            ));
        }
        if let Some(idle) = self.idle_timeout_ns {
            emulated.push(format!(
                "connections idle longer than {} closed by the endpoint (an assumption: AWS does not publish its endpoints' idle timeout; the plan's [network] idle_timeout)",
                crate::duration::format(std::time::Duration::from_nanos(idle))
            ));
        }
        let not_emulated = match &self.calibrated_from {
            Some(c) => {
                let own = if c.client_side_ns.is_empty() {
                    format!(
                        "less the local stage's own {:.2} ms per request",
                        c.local_overhead_ns as f64 / 1e6
                    )
                } else {
                    format!(
                        "less what a call costs the probe here outside the service, learned from uncalibrated calls at the start: {}; other operations less the local stage's own {:.2} ms per request",
                        c.client_side_ns
                            .iter()
                            .map(|(op, n)| format!("{op} {:.2} ms", *n as f64 / 1e6))
                            .collect::<Vec<_>>()
                            .join(", "),
                        c.local_overhead_ns as f64 / 1e6
                    )
                };
                emulated.push(format!(
                    "AWS's service time per API operation, drawn from run {} ({}; {own}){}",
                    c.run_id,
                    c.operations
                        .iter()
                        .map(|(op, n)| format!("{op}: {n} calls"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    if c.cpu_share_millis.is_empty() {
                        String::new()
                    } else {
                        format!(
                            ", and its vCPU: CPU shares {} and INIT {}",
                            c.cpu_share_millis
                                .iter()
                                .map(|(m, s)| format!("{:.3} at {m} MB", f64::from(*s) / 1000.0))
                                .collect::<Vec<_>>()
                                .join(", "),
                            c.init_cpu_millis
                                .map_or_else(|| "as set".into(), |i| format!("{:.2} CPUs", f64::from(i) / 1000.0))
                        ) + &c.cpu_period_raised_from_us.map_or_else(String::new, |from| format!(
                            " (the quota period raised from the plan's {} ms to {} ms: the smallest share is below the kernel's 1 ms quota at the plan's)",
                            from as f64 / 1000.0,
                            self.cpu_period_us.unwrap_or(0) as f64 / 1000.0
                        ))
                    }
                ));
                "the network distance to AWS beyond what that run measured, Firecracker"
            }
            None => "AWS's own service time (moto answers), the network distance to AWS beyond the assumed round trip, Firecracker",
        };
        let mut s = format!(
            "Emulated: {}. Not emulated: {not_emulated}.",
            emulated.join("; ")
        );
        let entropy: Vec<String> = self
            .entropy
            .iter()
            .filter(|e| !e.at_init)
            .filter_map(|e| {
                Some(format!(
                    "{} MB {} build {} ({} of CPU)",
                    e.memory_mb,
                    e.probe_build,
                    ms_text(median_ns(&e.wall_ns)?),
                    ms_text(median_ns(&e.cpu_ns)?),
                ))
            })
            .collect();
        if !entropy.is_empty() {
            s.push_str(&format!(
                " Measured beside the probe: the crypto library's one-time entropy seeding (aws-lc's first randomness in a process, median, under each size's CPU quota): {}.",
                entropy.join(", ")
            ));
        }
        if self
            .entropy
            .iter()
            .any(|e| e.sysgenid && e.probe_build == crate::ProbeBuild::NoJitterEntropy)
        {
            s.push_str(" The no-jitter-entropy build is the default probe in environments that see a VM generation counter (/dev/sysgenid, mounted for them alone), where aws-lc takes the entropy source a build with AWS_LC_SYS_NO_JITTER_ENTROPY=1 takes; on AWS it is a build of its own.");
        }
        if !self.managed_instances.is_empty() {
            let each: Vec<String> = self
                .managed_instances
                .iter()
                .map(|m| {
                    format!(
                        "{} ({} environment(s) of {} vCPU(s), up to {} invocations each)",
                        m.scenario, m.environments, m.vcpus, m.max_concurrency
                    )
                })
                .collect();
            s.push_str(&format!(
                " Lambda Managed Instances: {}; each environment started when its version was published, before traffic, serves its invocations at once through as many /next long-polls, is never frozen, and has its vCPUs (memory over GiB per vCPU) as its CPU quota; the Node.js runtime interface client is told to start 8 worker threads per vCPU (AWS_LAMBDA_NODEJS_WORKER_COUNT, unless the function sets it: aws-lambda-ric 4.0.2 counts them from cgroup v2's cpu.max, which an environment here lacks). Not emulated: the capacity provider's EC2 instances (their type, the three AWS launches across Availability Zones, other functions sharing them) and the scaling on CPU utilisation (the version keeps the environments asked for).",
                each.join(", ")
            ));
        }
        if !self.snapstart.is_empty() {
            s.push_str(&format!(
                " SnapStart ({}): a version's INIT runs once, when it is published, and each cold start forks that initialised interpreter (Debian's CRIU cannot checkpoint on this kernel): emulated are the memory after INIT (the value fetched there, the random module's state), the before-snapshot and after-restore hooks where Lambda runs them, the Runtime API's /restore/next, and connections opened at INIT that no longer work after a restore (every inherited socket reads as closed, so the SDK reconnects rather than failing a first request as a stale connection on AWS may; the records' `reconnected` says so, and the front counts the new connection as the restored environment's: its clients reach the snapshot environment's endpoint, whose listener finds the client socket in the restored environment's cgroup); not emulated: Firecracker's restore (the Restore Duration here is the fork's, not AWS's, and Billed Restore Duration is all of it), the snapshot's disk (/tmp) and AWS's patching of snapshots.",
                self.snapstart.join(", ")
            ));
        }
        for o in &self.oversubscribed {
            s.push_str(&format!(
                " Scenario {}: its environments' CPU quotas add up to {:.2} CPUs, more than the host's {}: its figures include host contention.",
                o.scenario,
                f64::from(o.cpu_millis) / 1000.0,
                self.host_cpus
            ));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn constrained() -> Emulation {
        Emulation {
            cpu_and_memory: Constraint::Cgroup("cgroup v1".into()),
            cpu_period_us: Some(20_000),
            frozen_between_invocations: true,
            tls: true,
            rtt_ns: 1_000_000,
            connection_setup_ns: 2_000_000,
            idle_timeout_ns: None,
            oversubscribed: vec![],
            host_cpus: 2,
            agent: None,
            init_cpu: None,
            entropy: Vec::new(),
            calibrated_from: None,
            runtimes: Vec::new(),
            managed_instances: Vec::new(),
            snapstart: Vec::new(),
        }
    }

    #[test]
    fn the_statement_names_each_runtime_s_interpreter_and_says_when_it_is_not_the_runtime_s() {
        let mut e = constrained();
        e.runtimes = vec![
            RuntimeInterpreter {
                runtime: crate::Runtime::Nodejs24,
                interpreter: "node v24.19.0".into(),
            },
            RuntimeInterpreter {
                runtime: crate::Runtime::Python313,
                interpreter: "CPython 3.13.0".into(),
            },
            RuntimeInterpreter {
                runtime: crate::Runtime::Python314,
                interpreter: "CPython 3.13.0".into(),
            },
        ];
        let s = e.statement();
        assert!(
            s.contains("the managed runtimes nodejs24.x by node v24.19.0, python3.13 by CPython 3.13.0, python3.14 by CPython 3.13.0 (this machine has no python3.14 interpreter: its figures are not python3.14's)"),
            "{s}"
        );
        let node = |runtime, interpreter: &str| RuntimeInterpreter {
            runtime,
            interpreter: interpreter.into(),
        };
        assert!(!node(crate::Runtime::Nodejs22, "node v20.20.2").matches());
        assert!(node(crate::Runtime::Nodejs22, "node v22.20.0").matches());
        assert!(!node(crate::Runtime::Python313, "CPython 3.1.0").matches());
    }

    #[test]
    fn the_statement_says_what_was_emulated_and_what_was_not() {
        let s = constrained().statement();
        for part in [
            "CPU share by memory size (memory_mb/1769 of a CPU per 20 ms, cgroup v1)",
            "memory limit at memory_mb",
            "frozen between invocations",
            "TLS 1.3",
            "1.000 ms per request and 2.000 ms per new connection",
            "Not emulated: AWS's own service time",
            "Firecracker",
        ] {
            assert!(s.contains(part), "{part}: {s}");
        }
        assert!(!s.contains("not constrained"));
    }

    #[test]
    fn an_unconstrained_run_says_so_and_why() {
        let e = Emulation {
            cpu_and_memory: Constraint::Unavailable("cannot write /sys/fs/cgroup/cpu/x".into()),
            cpu_period_us: None,
            frozen_between_invocations: false,
            ..constrained()
        };
        let s = e.statement();
        assert!(
            s.contains("CPU and memory not constrained (cannot write /sys/fs/cgroup/cpu/x)"),
            "{s}"
        );
        assert!(!s.contains("frozen"), "{s}");
        let off = Emulation {
            cpu_and_memory: Constraint::NotConstrained,
            ..e
        };
        assert!(off.statement().contains("CPU and memory not constrained"));
    }

    #[test]
    fn the_init_cpu_assumption_is_stated_with_its_switch() {
        let boosted = Emulation {
            init_cpu: Some(InitCpuEmulation {
                mode: crate::InitCpu::Boosted,
                boosted_cpu_millis: 2000,
            }),
            ..constrained()
        };
        let s = boosted.statement();
        assert!(s.contains("on-demand INIT with up to 2.00 CPUs"), "{s}");
        assert!(s.contains("AWS does not document"), "{s}");
        assert!(s.contains("init_cpu = \"share\""), "{s}");
        let share = Emulation {
            init_cpu: Some(InitCpuEmulation {
                mode: crate::InitCpu::Share,
                boosted_cpu_millis: 2000,
            }),
            ..constrained()
        };
        assert!(share.statement().contains("INIT at the memory share"));
        let calibrated = Emulation {
            calibrated_from: Some(Calibration {
                run_id: "20261201-000000-abcd".into(),
                dir: "reports/dev/20261201-000000-abcd".into(),
                operations: vec![("ssm:GetParameter".into(), 1000)],
                cpu_share_millis: vec![(128, 80)],
                init_cpu_millis: Some(1900),
                cpu_period_raised_from_us: None,
                local_overhead_ns: 1_200_000,
                client_side_ns: Vec::new(),
            }),
            ..constrained()
        };
        let s = calibrated.statement();
        assert!(s.contains("drawn from run 20261201-000000-abcd"), "{s}");
        assert!(
            s.contains("less the local stage's own 1.20 ms per request"),
            "{s}"
        );
        let mut learned = calibrated.clone();
        if let Some(c) = learned.calibrated_from.as_mut() {
            c.client_side_ns = vec![("AmazonSSM.GetParameter".into(), 1_650_000)];
        }
        let s = learned.statement();
        assert!(
            s.contains("learned from uncalibrated calls at the start: AmazonSSM.GetParameter 1.65 ms; other operations less the local stage's own 1.20 ms per request"),
            "{s}"
        );
        assert!(!s.contains("Not emulated: AWS's own service time"), "{s}");
        assert!(!s.contains("raised"), "{s}");
        let mut raised = calibrated.clone();
        raised.cpu_period_us = Some(23_000);
        if let Some(c) = raised.calibrated_from.as_mut() {
            c.cpu_period_raised_from_us = Some(20_000);
        }
        let s = raised.statement();
        assert!(s.contains("per 23 ms"), "{s}");
        assert!(
            s.contains("the quota period raised from the plan's 20 ms to 23 ms"),
            "{s}"
        );
    }

    #[test]
    fn a_no_jitter_build_run_with_the_vm_generation_counter_says_so() {
        let measured = |probe_build, sysgenid| EntropyMeasurement {
            memory_mb: 128,
            cpu_share_millis: Some(72),
            at_init: false,
            probe_build,
            wall_ns: vec![1_000_000],
            cpu_ns: vec![50_000],
            sysgenid,
        };
        let built = Emulation {
            entropy: vec![
                measured(crate::ProbeBuild::Default, false),
                measured(crate::ProbeBuild::NoJitterEntropy, false),
            ],
            ..constrained()
        };
        assert!(!built.statement().contains("/dev/sysgenid"));
        let counter = Emulation {
            entropy: vec![
                measured(crate::ProbeBuild::Default, false),
                measured(crate::ProbeBuild::NoJitterEntropy, true),
            ],
            ..constrained()
        };
        let s = counter.statement();
        assert!(
            s.contains("The no-jitter-entropy build is the default probe in environments that see a VM generation counter (/dev/sysgenid"),
            "{s}"
        );
        assert!(s.contains("on AWS it is a build of its own"), "{s}");
    }

    #[test]
    fn oversubscribed_scenarios_are_named_as_including_host_contention() {
        let e = Emulation {
            oversubscribed: vec![Oversubscribed {
                scenario: "storm".into(),
                cpu_millis: 3472,
            }],
            ..constrained()
        };
        let s = e.statement();
        assert!(
            s.contains("Scenario storm: its environments' CPU quotas add up to 3.47 CPUs, more than the host's 2: its figures include host contention."),
            "{s}"
        );
    }
}
