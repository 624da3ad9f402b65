//! What the local stage runs, made ready: the installers (moto, the Node.js and Python probes'
//! packages), the one release build of the probe and the agent (with the CLI's feature
//! resolution, so nothing is compiled twice), the probe's other builds a plan asks for, and
//! what cargo's JSON messages say was built and compiled.

use super::options::LocalError;
use crate::plan::Plan;
use secbench_local_lambda::sysgenid::Sysgenid;
use secbench_local_lambda::Code;
use secbench_record::{ProbeBuild, Runtime};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

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

/// A managed runtime's start script (`.tools/runtimes/<runtime>/bootstrap`, written by
/// `scripts/install-probes.sh`): it sets `AWS_EXECUTION_ENV` as Lambda does and starts the
/// Node.js or Python probe's `bootstrap` with the runtime's interpreter. The local stage runs
/// it as the function's code, as Lambda runs a managed runtime's bootstrap.
pub fn runtime_probe(root: &Path, runtime: Runtime) -> Option<PathBuf> {
    runtime.language().probe_dir()?;
    Some(runtime_dir(root, runtime).join("bootstrap"))
}

fn runtime_dir(root: &Path, runtime: Runtime) -> PathBuf {
    root.join(".tools/runtimes").join(runtime.as_str())
}

/// The interpreter of each managed runtime `plan` runs, as `scripts/install-probes.sh` wrote
/// it beside the runtime's start script, for the emulation statement.
pub fn runtime_interpreters(
    root: &Path,
    plan: &Plan,
) -> Result<Vec<secbench_record::emulation::RuntimeInterpreter>, LocalError> {
    runtime_probes(root, plan)
        .into_keys()
        .map(|runtime| {
            let path = runtime_dir(root, runtime).join("interpreter");
            let text = std::fs::read_to_string(&path).map_err(|source| LocalError::NoRuntime {
                runtime,
                path: path.clone(),
                source,
            })?;
            Ok(secbench_record::emulation::RuntimeInterpreter {
                runtime,
                interpreter: text.trim().to_owned(),
            })
        })
        .collect()
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
/// The binaries a run uses: the ones just built, or the probe given with `--probe-bin` with the
/// agent of the same build beside it (its variants are then looked for beside it).
pub fn binaries(given: Option<&Path>, built: Option<Builds>) -> Builds {
    match (given, built) {
        (Some(p), _) => Builds {
            main: Binaries {
                probe: p.to_owned(),
                agent: p.with_file_name(secbench_local_lambda::agent::BIN_NAME),
                compiled: Vec::new(),
            },
            variants: BTreeMap::new(),
        },
        (None, Some(b)) => b,
        (None, None) => unreachable!("built when no probe was given"),
    }
}

/// The function's code for each build of the probe `plan` asks for: the default probe, a
/// variant's binary (built, or beside a given probe), or the default probe with the VM
/// generation counter where `sysgenid` is offered.
pub fn probe_codes(
    plan: &Plan,
    builds: &Builds,
    sysgenid: Option<Arc<Sysgenid>>,
) -> Result<BTreeMap<ProbeBuild, Code>, LocalError> {
    let probe_bin = &builds.main.probe;
    let mut codes = BTreeMap::new();
    codes.insert(
        ProbeBuild::Default,
        Code {
            bin: probe_bin.clone(),
            sysgenid: None,
        },
    );
    for build in variant_builds(plan) {
        if let Some(s) = sysgenid.as_ref().filter(|_| runs_with_sysgenid(build)) {
            codes.insert(
                build,
                Code {
                    bin: probe_bin.clone(),
                    sysgenid: Some(s.clone()),
                },
            );
            continue;
        }
        let path = match builds.variants.get(&build) {
            Some(v) => v.probe.clone(),
            None => variant_beside(probe_bin, build),
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
        codes.insert(
            build,
            Code {
                bin: path,
                sysgenid: None,
            },
        );
    }
    Ok(codes)
}

/// What `secbench local --build-only` built and compiled, for people (`text`) and scripts
/// (serialized: `scripts/check-build-once.sh` reads it).
#[derive(Debug, Clone, serde::Serialize)]
pub struct BuildReport {
    /// The default probe.
    pub probe: PathBuf,
    /// The agent standing in for the extension.
    pub agent: PathBuf,
    /// The crates the default build compiled (`name version`; empty when all was fresh).
    pub compiled: Vec<String>,
    /// The Node.js and Python probes' start scripts, by runtime.
    pub runtimes: BTreeMap<Runtime, PathBuf>,
    /// The probe's other builds the plan asks for.
    pub variants: Vec<VariantReport>,
}

/// One of the probe's other builds in a [`BuildReport`].
#[derive(Debug, Clone, serde::Serialize)]
pub struct VariantReport {
    /// The build.
    pub build: ProbeBuild,
    /// Its binary, when it was built (`None`: the default probe runs as it, its environments
    /// seeing the VM generation counter).
    pub probe: Option<PathBuf>,
    /// The crates its build compiled.
    pub compiled: Vec<String>,
}

impl BuildReport {
    /// The report of `builds`, made for `plan` in the checkout `root`.
    pub fn new(root: &Path, plan: &Plan, builds: &Builds) -> Self {
        BuildReport {
            probe: builds.main.probe.clone(),
            agent: builds.main.agent.clone(),
            compiled: builds.main.compiled.clone(),
            runtimes: runtime_probes(root, plan),
            variants: variant_builds(plan)
                .into_iter()
                .map(|build| {
                    let built = builds.variants.get(&build);
                    VariantReport {
                        build,
                        probe: built.map(|v| v.probe.clone()),
                        compiled: built.map(|v| v.compiled.clone()).unwrap_or_default(),
                    }
                })
                .collect(),
        }
    }

    /// The report as lines: each binary, then what each build compiled.
    pub fn text(&self) -> String {
        let list = |compiled: &[String]| {
            if compiled.is_empty() {
                "nothing".to_owned()
            } else {
                compiled.join(", ")
            }
        };
        let mut out = format!(
            "probe: {}\nagent: {}\n",
            self.probe.display(),
            self.agent.display()
        );
        for (runtime, probe) in &self.runtimes {
            out += &format!("probe ({runtime}): {}\n", probe.display());
        }
        for v in &self.variants {
            match &v.probe {
                Some(p) => {
                    out += &format!("probe ({}): {}\n", v.build, p.display());
                    out += &format!("compiled ({}): {}\n", v.build, list(&v.compiled));
                }
                None => {
                    out += &format!(
                        "probe ({}): the default probe, its environments seeing {}\n",
                        v.build,
                        secbench_local_lambda::sysgenid::PATH
                    );
                }
            }
        }
        out += &format!("compiled: {}\n", list(&self.compiled));
        out
    }
}
