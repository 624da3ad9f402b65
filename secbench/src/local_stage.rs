//! `secbench local`: the whole experiment on one machine, no AWS account. It makes sure moto
//! is installed (in `.venv/`), builds the release probe and the agent (one build with the
//! CLI's, so nothing is compiled twice), starts moto, provisions a key, ciphertext, parameter and secret
//! with a random value, starts the local Lambda platform, and runs the plan through the same
//! runner as AWS. Every figure it produces is a local-emulator figure.

use crate::plan::Plan;
use crate::run::{self, Cancel, RunSummary, ScenarioHook, Target};
use secbench_local_lambda::faults::FaultControl;
use secbench_local_lambda::front::Front;
use secbench_local_lambda::moto::{self, Moto, MotoError};
use secbench_local_lambda::sysgenid::Sysgenid;
use secbench_local_lambda::{
    Code, Constraints, LocalPlatform, PlatformConfig, EXTENSION_LAYER_NAME,
};
use secbench_record::probe_config::{EncryptionContext, Plaintext, ProbeConfig};
use secbench_record::run::{Emulation, InitCpuEmulation, Oversubscribed};
use secbench_record::run_dir::PLATFORM_LOG_FILE;
use secbench_record::{ProbeBuild, Runtime};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

/// The local stage's function name.
pub const FUNCTION: &str = "secbench-probe-local";
/// The region the local stage pretends to be in.
pub const REGION: &str = "us-east-1";

/// What went wrong setting up the local stage.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// The uncalibrated calls a calibrated run starts with did not give their latencies.
    #[error("learning what a call costs the probe here before the calibrated run: {0}")]
    Learn(String),
    /// Not run from a secbench checkout: run it from the repository root.
    #[error("cannot find the secbench checkout (scripts/install-moto.sh) from {0}; run from the repository")]
    NoCheckout(PathBuf),
    /// An installer or the build failed: its output is above.
    #[error("{step} failed ({status})")]
    Step {
        /// What was run.
        step: String,
        /// Its exit status.
        status: String,
    },
    /// A program could not be started.
    #[error("cannot start {what}")]
    Spawn {
        /// What.
        what: String,
        /// Why.
        source: std::io::Error,
    },
    /// A probe given with `--probe-bin` has no build of the variant a scenario asks for beside it.
    #[error("the plan asks for the probe's {build} build, and there is none at {path} (beside the probe given with --probe-bin); build it with `{command}` or run without --probe-bin")]
    NoVariant {
        /// The build.
        build: ProbeBuild,
        /// Where it was looked for.
        path: PathBuf,
        /// The command that builds it there.
        command: String,
    },
    /// The CPU an AWS run showed at a memory size is below the smallest quota the kernel
    /// allows at the plan's period.
    #[error("the run calibrated from shows {share:.4} of this machine's CPU at {memory_mb} MB, less than the kernel's smallest quota (1 ms) per {period:?} period; set [local] cpu_period to at least {smallest_period:?}")]
    CalibrationBelowQuota {
        /// The memory size.
        memory_mb: u32,
        /// The share it would need.
        share: f64,
        /// The plan's period.
        period: std::time::Duration,
        /// The smallest period at which the share can be written.
        smallest_period: std::time::Duration,
    },
    /// moto did not come up.
    #[error(transparent)]
    Moto(#[from] MotoError),
    /// Provisioning in moto failed.
    #[error(transparent)]
    Provision(#[from] crate::provision::ProvisionError),
    /// The run to calibrate from does not read, or cannot calibrate.
    #[error(transparent)]
    Calibration(#[from] secbench_analyzer::calibration::CalibrationError),
    /// The plan does not read.
    #[error(transparent)]
    Plan(#[from] crate::plan::PlanError),
    /// The run failed.
    #[error(transparent)]
    Run(#[from] run::RunError),
}

/// Options of `secbench local`.
#[derive(Debug, Clone)]
pub struct LocalOptions {
    /// The checkout.
    pub root: PathBuf,
    /// The plan (default `scripts/plans/local.toml`).
    pub plan: PathBuf,
    /// Where runs go (default `reports/`).
    pub out_dir: PathBuf,
    /// Resume this run instead of starting one.
    pub resume: Option<PathBuf>,
    /// Use this probe binary (and the agent built beside it) instead of building them.
    pub probe_bin: Option<PathBuf>,
    /// Skip the installers (tests, where they already ran).
    pub skip_install: bool,
    /// The secret's value to provision (tests give a canary to search the outputs for);
    /// default: a random value nobody sees.
    pub value: Option<String>,
    /// A run on AWS whose service times and CPU the stage takes over (overrides the plan's
    /// `[network] service_time_from`).
    pub service_time_from: Option<PathBuf>,
}

/// Finds the checkout: `start` or a parent that has `scripts/install-moto.sh`.
pub fn find_root(start: &Path) -> Result<PathBuf, LocalError> {
    start
        .ancestors()
        .find(|d| d.join("scripts/install-moto.sh").is_file())
        .map(Path::to_owned)
        .ok_or_else(|| LocalError::NoCheckout(start.to_owned()))
}

fn step(root: &Path, what: &str, cmd: &mut Command) -> Result<(), LocalError> {
    eprintln!("secbench local: {what}");
    let status = cmd
        .current_dir(root)
        .status()
        .map_err(|source| LocalError::Spawn {
            what: what.into(),
            source,
        })?;
    if status.success() {
        Ok(())
    } else {
        Err(LocalError::Step {
            step: what.into(),
            status: status.to_string(),
        })
    }
}

/// The release binaries the local stage runs, as cargo reported them.
#[derive(Debug, Clone)]
pub struct Binaries {
    /// The probe (`bench-lambda`).
    pub probe: PathBuf,
    /// The agent standing in for the extension (`secbench-agent`).
    pub agent: PathBuf,
    /// The crates this build compiled (none when everything was fresh), `name version`.
    pub compiled: Vec<String>,
}

/// The command the local stage builds with, as written in its messages.
pub const BUILD_COMMAND: &str =
    "cargo build --release --locked -p secbench -p bench-lambda -p secbench-agent --bin bench-lambda --bin secbench-agent";

/// Installs what the local stage runs beside the binaries: moto into `.venv/`.
pub fn install(root: &Path) -> Result<(), LocalError> {
    step(
        root,
        "installing moto into .venv/ (scripts/install-moto.sh)",
        &mut Command::new(root.join("scripts/install-moto.sh")),
    )
}

/// Variables `cargo run` gives the program it runs, describing the crate it built
/// (`CARGO_MANIFEST_DIR`, `CARGO_PKG_*`, ...). A cargo started with them sees the inputs of
/// build scripts changed (ring's reruns when `CARGO_MANIFEST_DIR` differs, and every crate
/// above it follows), so the probe's build recompiled the AWS SDK and the next `cargo run`
/// recompiled it again: the build is started without them.
fn is_cargo_run_var(name: &str) -> bool {
    [
        "CARGO_PKG_",
        "CARGO_MANIFEST_",
        "CARGO_BIN_",
        "CARGO_CRATE_",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_TARGET_TMPDIR",
        "CARGO_RUSTC_CURRENT_DIR",
    ]
    .iter()
    .any(|p| name.starts_with(p))
        || name == "OUT_DIR"
}

/// Builds the release probe and the agent with the CLI selected too (so the features resolve
/// as for `cargo run -p secbench` and the build after the CLI's links only these two), in the
/// environment the user started `cargo run` in.
pub fn build(root: &Path) -> Result<Binaries, LocalError> {
    eprintln!("secbench local: building the release probe and agent ({BUILD_COMMAND})");
    let mut cmd = cargo();
    cmd.args(BUILD_COMMAND.split(' ').skip(1));
    let built = run_cargo(root, cmd, BUILD_COMMAND)?;
    Ok(Binaries {
        probe: built.executable("bench-lambda", BUILD_COMMAND)?,
        agent: built.executable(secbench_local_lambda::agent::BIN_NAME, BUILD_COMMAND)?,
        compiled: built.compiled(),
    })
}

/// The probe's builds a plan asks for besides the default one, each once, in order.
pub fn variant_builds(plan: &Plan) -> Vec<ProbeBuild> {
    let mut builds: Vec<ProbeBuild> = plan
        .scenarios
        .iter()
        .map(|s| s.probe_build)
        .filter(|b| *b != ProbeBuild::Default)
        .collect();
    builds.sort();
    builds.dedup();
    builds
}

/// Whether the default probe runs as `build` where its environments see a VM generation
/// counter ([`secbench_local_lambda::sysgenid`]): aws-lc then seeds as the no-jitter build does.
fn runs_with_sysgenid(build: ProbeBuild) -> bool {
    build == ProbeBuild::NoJitterEntropy
}

/// The VM generation counter for the plan's no-jitter scenarios, when it asks for any and this
/// machine can offer it (a mount namespace: root); `None` otherwise, with why on stderr (the
/// variant is then built: [`build_all`]).
pub fn sysgenid_for(plan: &Plan) -> Option<Arc<Sysgenid>> {
    if !variant_builds(plan).into_iter().any(runs_with_sysgenid) {
        return None;
    }
    match Sysgenid::new() {
        Ok(s) => Some(Arc::new(s)),
        Err(e) => {
            eprintln!("secbench local: cannot offer {} to the no-jitter scenarios' environments ({e}); building the probe's no-jitter variant instead", secbench_local_lambda::sysgenid::PATH);
            None
        }
    }
}

/// The probe's other builds the plan asks for that must be built: all of them without a VM
/// generation counter, none with it.
fn variants_to_build(plan: &Plan, sysgenid: bool) -> Vec<ProbeBuild> {
    variant_builds(plan)
        .into_iter()
        .filter(|b| !(sysgenid && runs_with_sysgenid(*b)))
        .collect()
}

/// A build of the probe other than the default one, where the local stage keeps it.
#[derive(Debug, Clone)]
pub struct Variant {
    /// The probe of that build (`<target>/variants/<build>/release/bench-lambda`).
    pub probe: PathBuf,
    /// The crates its build compiled (none when everything was fresh), `name version`.
    pub compiled: Vec<String>,
}

/// Everything a plan's run needs built: the default probe and the agent, and the probe's other
/// builds the plan asks for.
#[derive(Debug, Clone)]
pub struct Builds {
    /// The default probe and the agent ([`build`]).
    pub main: Binaries,
    /// The probe's other builds, by build.
    pub variants: BTreeMap<ProbeBuild, Variant>,
}

/// Builds the probe's other builds `plan` asks for (none that the default probe runs as with
/// the VM generation counter, when `sysgenid`: [`sysgenid_for`]), then the default probe and
/// the agent ([`build`]), in that order: a variant is built in the same target directory as
/// the default build (its feature gives aws-lc-sys and the crates above it artifacts of their
/// own, so every crate below aws-lc is shared and neither build compiles the other's again),
/// and its executable is copied out before the default build puts the default probe back in
/// its place.
pub fn build_all(root: &Path, plan: &Plan, sysgenid: bool) -> Result<Builds, LocalError> {
    let mut variants = BTreeMap::new();
    for build in variants_to_build(plan, sysgenid) {
        variants.insert(build, build_variant(root, build)?);
    }
    Ok(Builds {
        main: build(root)?,
        variants,
    })
}

/// What a run needs before it starts: the installers ([`install`], [`install_probes`]) when
/// `install_too`, and the builds ([`build_all`], `sysgenid` as there) when `build_too` (`None`
/// otherwise). The installers (downloads, and aws-lambda-ric's native build) run beside cargo,
/// whose build leaves a core idle for long stretches (one large crate, or a link, at a time).
pub fn install_and_build(
    root: &Path,
    plan: &Plan,
    install_too: bool,
    build_too: bool,
    sysgenid: bool,
) -> Result<Option<Builds>, LocalError> {
    let (installed, built) = std::thread::scope(|s| {
        // moto and the probes' packages at once: the CLI runs them after its own build, so
        // they are on the first run's critical path (aws-lambda-ric's native build the longest).
        let installers = if install_too {
            vec![
                ("installing moto", s.spawn(|| install(root))),
                (
                    "installing the probes' packages",
                    s.spawn(|| install_probes(root, plan)),
                ),
            ]
        } else {
            Vec::new()
        };
        let built = if build_too {
            build_all(root, plan, sysgenid).map(Some)
        } else {
            Ok(None)
        };
        let installed: Result<(), LocalError> = installers.into_iter().try_for_each(|(step, h)| {
            h.join().unwrap_or_else(|_| {
                Err(LocalError::Step {
                    step: step.into(),
                    status: "panicked".into(),
                })
            })
        });
        (installed, built)
    });
    let built = built?;
    installed?;
    Ok(built)
}

/// The `cargo build` of a variant: the main build's selection (so every crate resolves its
/// features as there) with the variant's feature, for the probe alone.
fn variant_command(build: ProbeBuild) -> String {
    format!(
        "{} cargo build --release --locked -p secbench -p bench-lambda -p secbench-agent --bin bench-lambda --features bench-lambda/{}",
        variant_setting(build),
        build.as_str()
    )
}

/// Builds one of the probe's other builds (`probe_build`) with its setting
/// (`AWS_LC_SYS_NO_JITTER_ENTROPY=1`) and feature, and copies it to
/// `<target>/variants/<build>/release/bench-lambda`. Call before [`build`] (see [`build_all`]):
/// cargo puts the variant's executable where the default probe's is.
fn build_variant(root: &Path, build: ProbeBuild) -> Result<Variant, LocalError> {
    let step_name = variant_command(build);
    eprintln!("secbench local: building the probe's {build} variant ({step_name})");
    let mut cmd = cargo();
    if let Some((name, value)) = variant_setting(build).split_once('=') {
        cmd.env(name, value);
    }
    cmd.args(step_name.split(' ').skip_while(|w| *w != "build"));
    let built = run_cargo(root, cmd, &step_name)?;
    let built_at = built.executable("bench-lambda", &step_name)?;
    let probe = variant_beside(&built_at, build);
    let copy = |to: &Path| -> std::io::Result<()> {
        std::fs::create_dir_all(to.parent().unwrap_or(to))?;
        let partial = to.with_extension("partial");
        std::fs::copy(&built_at, &partial)?;
        std::fs::rename(&partial, to)
    };
    copy(&probe).map_err(|source| LocalError::Spawn {
        what: format!("copying {} to {}", built_at.display(), probe.display()),
        source,
    })?;
    Ok(Variant {
        probe,
        compiled: built.compiled(),
    })
}

/// A cargo command without the variables `cargo run` gave this process (see
/// [`is_cargo_run_var`]).
fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    for (name, _) in std::env::vars_os() {
        if name.to_str().is_some_and(is_cargo_run_var) {
            cmd.env_remove(name);
        }
    }
    cmd
}

/// What a `cargo build` reported: its compiler-artifact messages.
struct Built(Vec<serde_json::Value>);

impl Built {
    /// The executable of the binary target `name`.
    fn executable(&self, name: &str, step: &str) -> Result<PathBuf, LocalError> {
        self.0
            .iter()
            .filter(|v| v["target"]["name"] == name)
            .find_map(|v| v["executable"].as_str().map(PathBuf::from))
            .ok_or_else(|| LocalError::Step {
                step: format!("{step} (no {name} executable reported)"),
                status: "ok".into(),
            })
    }

    /// The packages it compiled (not fresh), `name version`, sorted.
    fn compiled(&self) -> Vec<String> {
        let mut compiled: Vec<String> = self
            .0
            .iter()
            .filter(|v| v["fresh"] == false)
            .filter_map(|v| v["package_id"].as_str().map(package_name))
            .collect();
        compiled.sort();
        compiled.dedup();
        compiled
    }
}

/// Runs a `cargo build` (`step` names it in errors) in `root` with JSON messages on stdout and
/// the compiler's own rendering on the terminal.
fn run_cargo(root: &Path, mut cmd: Command, step: &str) -> Result<Built, LocalError> {
    let out = cmd
        .arg("--message-format=json-render-diagnostics")
        .current_dir(root)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|source| LocalError::Spawn {
            what: "cargo".into(),
            source,
        })?;
    if !out.status.success() {
        return Err(LocalError::Step {
            step: step.into(),
            status: out.status.to_string(),
        });
    }
    Ok(Built(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .filter(|v: &serde_json::Value| v["reason"] == "compiler-artifact")
            .collect(),
    ))
}

/// `name version` of a cargo package id (`registry+https://…#name@1.2.3`,
/// `path+file:///…/record#secbench-record@0.1.0`, or the older `name 1.2.3 (…)`).
fn package_name(id: &str) -> String {
    match id.rsplit_once('#') {
        Some((path, tail)) => match tail.split_once('@') {
            Some((name, version)) => format!("{name} {version}"),
            // `…/record#0.1.0`: the name is the last part of the path.
            None => format!("{} {tail}", path.rsplit('/').next().unwrap_or(path)),
        },
        None => id.split(" (").next().unwrap_or(id).to_owned(),
    }
}

/// Starts moto from the project venv.
pub fn start_moto(root: &Path) -> Result<Moto, LocalError> {
    Ok(moto::start(root)?)
}

/// The hook that switches the fault proxy to each scenario's faults as it starts.
pub fn fault_hook(control: FaultControl) -> ScenarioHook {
    ScenarioHook(Arc::new(move |s| control.set(s.faults.clone())))
}

/// The local stage's hook as each scenario starts: its faults at the front, and its build of
/// the probe as the function's code (the configuration change that starts the scenario
/// retires the environments of the build before): a binary, or the default one with the VM
/// generation counter.
pub fn scenario_hook(
    control: FaultControl,
    probe: secbench_local_lambda::ProbeSwitch,
    builds: BTreeMap<ProbeBuild, Code>,
    runtimes: BTreeMap<Runtime, PathBuf>,
) -> ScenarioHook {
    ScenarioHook(Arc::new(move |s| {
        control.set(s.faults.clone());
        let code = match s.runtime {
            Runtime::Rust => builds.get(&s.probe_build).cloned(),
            other => runtimes.get(&other).map(|bin| Code {
                bin: bin.clone(),
                sysgenid: None,
            }),
        };
        if let Some(code) = code {
            probe.set(code);
        }
    }))
}

/// The Node.js or Python probe's start script (`probes/<node|python>/bootstrap`): the local
/// stage runs it as the function's code, as Lambda runs a managed runtime's bootstrap.
pub fn runtime_probe(root: &Path, runtime: Runtime) -> Option<PathBuf> {
    match runtime {
        Runtime::Rust => None,
        other => Some(root.join("probes").join(other.short()).join("bootstrap")),
    }
}

/// The runtimes other than Rust that `plan` runs, with their probes' start scripts.
pub fn runtime_probes(root: &Path, plan: &Plan) -> BTreeMap<Runtime, PathBuf> {
    plan.scenarios
        .iter()
        .filter_map(|s| runtime_probe(root, s.runtime).map(|p| (s.runtime, p)))
        .collect()
}

/// Installs what the Node.js and Python probes run with (`scripts/install-probes.sh`), when
/// the plan runs either.
pub fn install_probes(root: &Path, plan: &Plan) -> Result<(), LocalError> {
    if runtime_probes(root, plan).is_empty() {
        return Ok(());
    }
    step(
        root,
        "installing the Node.js and Python probes' packages (scripts/install-probes.sh)",
        &mut Command::new(root.join("scripts/install-probes.sh")),
    )
}

/// Requests [`Front::measure_overhead`] times before a calibrated run.
const OVERHEAD_SAMPLES: usize = 40;

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
/// front with the emulator's own time (no AWS latency), once cold and then [`LEARN_CALLS`]
/// times warm, at the largest memory size the plan runs that source at; the median latency
/// the probe measured, less the median time the front held the request and the round trip
/// it added, is the probe's side (its SDK, TLS, HTTP and scheduling), which the front then
/// takes off each drawn latency. On AWS that side is inside the latencies the run measured;
/// without this the local stage would add it a second time.
async fn learn_client_side(
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

/// The build setting of a variant (`NAME=value`, which the local stage sets for its build), as
/// the README and the messages write it.
pub fn variant_setting(build: ProbeBuild) -> &'static str {
    match build {
        ProbeBuild::Default => "no setting",
        ProbeBuild::NoJitterEntropy => "AWS_LC_SYS_NO_JITTER_ENTROPY=1",
    }
}

/// Where a variant build sits beside a probe: `<target>/variants/<build>/release` for a probe in
/// `<target>/release` (the local stage copies it there; a given probe's variants are looked for
/// there).
fn variant_beside(probe: &Path, build: ProbeBuild) -> PathBuf {
    match probe.parent().and_then(Path::parent) {
        Some(target) => target
            .join("variants")
            .join(build.as_str())
            .join("release")
            .join("bench-lambda"),
        None => probe.to_owned(),
    }
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
async fn measure_entropy(
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

/// SDK configuration for the emulator at `endpoint` (static local credentials).
pub async fn emulator_sdk(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_kms::config::Credentials::new(
            "local", "local", None, None, "local",
        ))
        .load()
        .await
}

/// The function's own variables on the local stage: where the provisioned secret is, and the
/// plaintext for `plain-env` (that approach keeps it in the function's environment by design).
pub fn function_vars(p: &crate::provision::Provisioned, value: &str) -> BTreeMap<String, String> {
    let config = ProbeConfig {
        stage: Some("local".into()),
        source: Some(secbench_record::Source::PlainEnv),
        plaintext: Some(Plaintext(value.to_owned())),
        ciphertext_b64: Some(p.ciphertext_b64.clone()),
        kms_encryption_context: Some(EncryptionContext::LambdaFunctionName),
        parameter_name: Some(p.parameter_name.clone()),
        secret_id: Some(p.secret_id.clone()),
        expected_sha256: Some(vec![p.digest]),
        ..ProbeConfig::default()
    };
    let mut vars = BTreeMap::new();
    config.apply(&mut vars);
    vars
}

/// The variables the platform gives every process of the local stage.
/// The secret access key is made from the session token, so a search for the token (which
/// the tests make) finds a leaked key too.
pub fn platform_vars(moto: &str, session_token: &str) -> BTreeMap<String, String> {
    let secret_key = format!("sk-{session_token}");
    [
        ("AWS_ACCESS_KEY_ID", "local"),
        ("AWS_SECRET_ACCESS_KEY", secret_key.as_str()),
        ("AWS_SESSION_TOKEN", session_token),
        ("AWS_ENDPOINT_URL", moto),
        ("AWS_REGION", REGION),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// What this run emulates: from the plan, the front and the constraints in force. A scenario
/// whose environments' quotas (concurrency x memory share) add up to more than the host's
/// CPUs is named: its figures include host contention.
pub fn emulation(
    plan: &Plan,
    front: &Front,
    constraints: &Constraints,
    agent: Option<String>,
) -> Emulation {
    let host_cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let constrained = matches!(constraints, Constraints::Cgroups { .. });
    // The period environments get: the plan's, or the one a calibration raised it to.
    let cpu_period = constraints.cpu_period().unwrap_or(plan.local.cpu_period);
    let oversubscribed = plan
        .scenarios
        .iter()
        .filter(|_| constrained)
        .filter_map(|s| {
            let share = secbench_local_lambda::cgroup::Limits {
                memory_mb: s.memory_mb,
                cpu_period,
            }
            .cpus();
            let total = share * s.concurrency as f64;
            (total > host_cpus as f64).then(|| Oversubscribed {
                scenario: s.name.clone(),
                cpu_millis: (total * 1000.0).round() as u32,
            })
        })
        .collect();
    Emulation {
        cpu_and_memory: constraints.describe(),
        cpu_period_us: constrained
            .then(|| u64::try_from(cpu_period.as_micros()).unwrap_or(u64::MAX)),
        frozen_between_invocations: constrained,
        tls: front.tls(),
        rtt_ns: u64::try_from(front.network().rtt.as_nanos()).unwrap_or(u64::MAX),
        connection_setup_ns: u64::try_from(front.network().connection_setup.as_nanos())
            .unwrap_or(u64::MAX),
        oversubscribed,
        host_cpus: u32::try_from(host_cpus).unwrap_or(u32::MAX),
        agent,
        init_cpu: constrained.then(|| InitCpuEmulation {
            mode: plan.local.init_cpu,
            boosted_cpu_millis: (secbench_record::lambda::INIT_BOOST_CPUS.min(host_cpus as f64)
                * 1000.0)
                .round() as u32,
        }),
        entropy: Vec::new(),
        calibrated_from: None,
    }
}

/// The rotator of the local stage: it writes into what provisioning created in moto, with
/// random values, or with `<canary>-rotated-<n>` when the tests gave a canary (so a search for
/// the canary finds every rotated value too).
pub fn rotator(
    sdk: aws_config::SdkConfig,
    p: &crate::provision::Provisioned,
    canary: Option<String>,
) -> crate::run::rotate::Rotator {
    use crate::provision::Value;
    let values: crate::run::rotate::ValueMaker = match canary {
        Some(c) => Box::new(move |n| Value::new(format!("{c}-rotated-{n}"))),
        None => Box::new(|_| Value::new(crate::provision::random_value())),
    };
    crate::run::rotate::Rotator::new(
        sdk,
        crate::run::rotate::Resources {
            secret_id: p.secret_id.clone(),
            parameter_name: p.parameter_name.clone(),
            key_id: p.key_id.clone(),
        },
        p.digest,
        values,
    )
}

/// Runs the local stage.
pub async fn run_local(opts: &LocalOptions, cancel: Cancel) -> Result<RunSummary, LocalError> {
    let root = &opts.root;
    let plan = match &opts.resume {
        Some(dir) => run::plan_of(dir)?.0,
        None => Plan::load(&opts.plan)?,
    };
    if let Some(s) = plan.scenarios.iter().find(|s| s.function.is_some()) {
        return Err(LocalError::Plan(crate::plan::PlanError::Invalid {
            path: plan.path.clone(),
            field: format!(
                "scenario ({}).function",
                s.swept_from.as_ref().unwrap_or(&s.name)
            ),
            message: "the local stage has one function (its architecture is the host's); name functions per scenario on AWS only".into(),
        }));
    }
    let sysgenid = sysgenid_for(&plan);
    let built = install_and_build(
        root,
        &plan,
        !opts.skip_install,
        opts.probe_bin.is_none(),
        sysgenid.is_some(),
    )?;
    // A given probe comes with the agent of the same build beside it.
    let (probe_bin, agent_bin, mut variants) = match (&opts.probe_bin, built) {
        (Some(p), _) => (
            p.clone(),
            p.with_file_name(secbench_local_lambda::agent::BIN_NAME),
            BTreeMap::new(),
        ),
        (None, Some(b)) => (b.main.probe, b.main.agent, b.variants),
        (None, None) => unreachable!("built when no probe was given"),
    };
    let moto = start_moto(root)?;
    eprintln!("secbench local: moto (local emulator) at {}", moto.endpoint);

    let sdk = emulator_sdk(&moto.endpoint).await;
    let value = opts
        .value
        .clone()
        .unwrap_or_else(crate::provision::random_value);
    let prefix = format!("secbench/local/{:08x}", rand::random::<u32>());
    let p = crate::provision::provision(&sdk, &prefix, FUNCTION, &value).await?;
    eprintln!(
        "secbench local: provisioned key, ciphertext, SecureString and secret in moto (SHA-256 {})",
        p.digest
    );
    // Scenarios that read several secrets: as many values as the largest count, a bundle per
    // count used with `multi = "bundle"`.
    let most = plan.scenarios.iter().map(|s| s.secrets).max().unwrap_or(1);
    let many = if plan.scenarios.iter().any(|s| s.multi.is_some()) {
        let values: Vec<crate::provision::Value> = (0..most)
            .map(|i| {
                crate::provision::Value::new(match &opts.value {
                    Some(c) => format!("{c}-m{i}"),
                    None => crate::provision::random_value(),
                })
            })
            .collect();
        let mut bundles: Vec<u32> = plan
            .scenarios
            .iter()
            .filter(|s| s.multi == Some(secbench_record::MultiMode::Bundle))
            .map(|s| s.secrets)
            .collect();
        bundles.sort_unstable();
        bundles.dedup();
        let m = crate::provision::provision_many(
            &sdk,
            &prefix,
            &p.key_id,
            &values,
            &bundles,
            (&p.secret_id, &p.parameter_name),
        )
        .await?;
        eprintln!(
            "secbench local: provisioned {most} more secrets and SecureStrings and {} bundle(s) of each for the scenarios that read several",
            bundles.len()
        );
        Some(m)
    } else {
        None
    };

    // Every request of the probe and the agent goes through the front (TLS, the plan's round
    // trip, the scenario's faults), one listener per execution environment.
    // AWS's service times and CPU, when a run on AWS is given to calibrate from.
    let calibration = match opts
        .service_time_from
        .clone()
        .or_else(|| plan.service_time_from.as_ref().map(|d| root.join(d)))
    {
        Some(dir) => Some(secbench_analyzer::calibration::AwsCalibration::read(&dir)?),
        None => None,
    };
    let front = match &calibration {
        Some(c) => Front::calibrated(&moto.endpoint, plan.network, c.service_ns.clone()),
        None => Front::new(&moto.endpoint, plan.network),
    }
    .map_err(|e| LocalError::Spawn {
        what: "the TLS front".into(),
        source: std::io::Error::other(e),
    })?;
    if front.is_calibrated() {
        front
            .measure_overhead(OVERHEAD_SAMPLES)
            .await
            .map_err(|source| LocalError::Spawn {
                what: "the TLS front's overhead measurement".into(),
                source,
            })?;
    }
    let mut constraints = if plan.local.constrain {
        Constraints::detect(plan.local.cpu_period).with_init_cpu(plan.local.init_cpu)
    } else {
        Constraints::None(secbench_record::run::Constraint::NotConstrained)
    };
    let cpu_calibration = match &calibration {
        Some(c) if !c.cpu.is_empty() => {
            let cal = calibrate_cpu(&probe_bin, c, &constraints, plan.local.cpu_period).await?;
            constraints = constraints.with_calibration(cal.clone());
            Some(cal)
        }
        _ => None,
    };
    // The agent that stands in for the extension, when it was built.
    let agent = agent_bin
        .is_file()
        .then(secbench_local_lambda::agent::describe);
    let mut emulation = emulation(&plan, &front, &constraints, agent);
    // The other builds of the probe the plan asks for (built above, or beside a given probe);
    // then the crypto library's entropy cost per memory size and build.
    let mut builds: BTreeMap<ProbeBuild, Code> = BTreeMap::new();
    builds.insert(
        ProbeBuild::Default,
        Code {
            bin: probe_bin.clone(),
            sysgenid: None,
        },
    );
    for build in variant_builds(&plan) {
        if let Some(s) = sysgenid.as_ref().filter(|_| runs_with_sysgenid(build)) {
            builds.insert(
                build,
                Code {
                    bin: probe_bin.clone(),
                    sysgenid: Some(s.clone()),
                },
            );
            continue;
        }
        let path = match variants.remove(&build) {
            Some(v) => v.probe,
            None => variant_beside(&probe_bin, build),
        };
        if !path.is_file() {
            return Err(LocalError::NoVariant {
                build,
                command: format!(
                    "cargo run --release -p secbench -- local --build-only --plan {}",
                    plan.path.display()
                ),
                path,
            });
        }
        builds.insert(
            build,
            Code {
                bin: path,
                sysgenid: None,
            },
        );
    }
    emulation.entropy = measure_entropy(&plan, &builds, &constraints).await?;
    emulation.calibrated_from = calibration
        .as_ref()
        .map(|c| secbench_record::run::Calibration {
            run_id: c.run_id.clone(),
            dir: c.dir.display().to_string(),
            operations: c
                .service_ns
                .iter()
                .map(|(op, v)| (op.clone(), v.len() as u64))
                .collect(),
            cpu_share_millis: cpu_calibration
                .as_ref()
                .map(|cal| {
                    cal.share_by_memory
                        .iter()
                        .map(|(m, s)| (*m, (s * 1000.0).round() as u32))
                        .collect()
                })
                .unwrap_or_default(),
            init_cpu_millis: cpu_calibration
                .as_ref()
                .and_then(|cal| cal.init_cpus)
                .map(|c| (c * 1000.0).round() as u32),
            cpu_period_raised_from_us: cpu_calibration
                .as_ref()
                .and_then(|cal| cal.cpu_period)
                .map(|_| u64::try_from(plan.local.cpu_period.as_micros()).unwrap_or(u64::MAX)),
            local_overhead_ns: u64::try_from(front.overhead().as_nanos()).unwrap_or(u64::MAX),
            client_side_ns: Vec::new(),
        });
    let function_vars = function_vars(&p, &value);
    drop(value);
    let session_token = format!("local-{:032x}", rand::random::<u128>());
    let max_concurrency = plan
        .scenarios
        .iter()
        .map(|s| s.concurrency)
        .max()
        .unwrap_or(1);
    let longest = plan.longest_timeout();
    let platform = LocalPlatform::start(PlatformConfig {
        function_name: FUNCTION.into(),
        region: REGION.into(),
        probe_bin,
        agent_bin: agent_bin.is_file().then_some(agent_bin),
        platform_vars: platform_vars(&moto.endpoint, &session_token),
        function_vars,
        memory_mb: 128,
        timeout: longest,
        max_concurrency: usize::try_from(max_concurrency).unwrap_or(1),
        agent_start_delay: None,
        constraints,
        front: Some(front.clone()),
    })
    .await
    .map_err(|source| LocalError::Spawn {
        what: "the local Lambda platform".into(),
        source,
    })?;
    eprintln!(
        "secbench local: local Lambda platform at {}",
        platform.endpoint
    );

    let client = run::lambda_client(REGION, Some(&platform.endpoint), longest, true).await;
    if let Some(c) = emulation.calibrated_from.as_mut() {
        let learned = match learn_client_side(&client, &front, &plan, plan.network.rtt).await {
            Ok(l) => l,
            Err(e) => {
                platform.shutdown().await;
                return Err(e);
            }
        };
        c.client_side_ns = learned
            .into_iter()
            .map(|(op, d)| (op, u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)))
            .collect();
    }
    eprintln!("secbench local: {}", emulation.statement());
    let target = Target {
        stage: "local".into(),
        region: REGION.into(),
        function: FUNCTION.into(),
        local_emulator: true,
        extension_layer_arn: Some(format!(
            "arn:aws:lambda:{REGION}:000000000000:layer:{EXTENSION_LAYER_NAME}:local"
        )),
        poll: Duration::from_millis(10),
        on_scenario_start: Some(scenario_hook(
            front.control.clone(),
            platform.probe_switch(),
            builds.clone(),
            runtime_probes(root, &plan),
        )),
        emulation: Some(emulation),
        rotator: Some(Arc::new(rotator(sdk, &p, opts.value.clone()))),
        many,
    };
    let summary = run::run(
        client,
        &plan,
        &target,
        &opts.out_dir,
        opts.resume.as_deref(),
        cancel,
    )
    .await;
    // The probe's and the agent's logs go beside the records (the tests search them for the
    // value too).
    if let Ok(s) = &summary {
        if let Err(e) = platform.write_logs(&s.dir.join(PLATFORM_LOG_FILE)) {
            eprintln!("secbench local: could not write platform.log: {e}");
        }
    }
    platform.shutdown().await;
    drop(front);
    drop(moto);
    Ok(summary?)
}
