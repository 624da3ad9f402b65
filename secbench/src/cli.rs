//! Command-line interface of `secbench` (clap derive). Parsing only, with value parsers for
//! the human inputs (`--slo`, `--sweep`); `commands` runs it.

use clap::{Parser, Subcommand};
use secbench_analyzer::cost::recommend::Slo;
use secbench_analyzer::cost::sweep::SweepSpec;
use std::path::PathBuf;

/// Measure and price the ways an AWS Lambda function can get its secrets.
#[derive(Debug, Parser)]
#[command(name = "secbench", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the whole experiment on this machine (moto + local Lambda platform), no AWS account.
    Local(LocalArgs),
    /// Run a plan against a deployed probe function (AWS, or any Lambda API endpoint).
    Run(RunArgs),
    /// Summarize runs: per stage × scenario × phase, percentiles with bootstrap intervals.
    Analyze(AnalyzeArgs),
    /// Compare two runs (or stages): ratios of medians and p99s with a verdict per group.
    Compare(CompareArgs),
    /// Fill in a deployed stage: the SecureString, the KMS ciphertext and the digest the probe
    /// checks (the value never appears on the command line, in a file or in the output).
    Provision(ProvisionArgs),
    /// Write the plotted report: report.html (self-contained), report.md, plots/*.svg|png and
    /// the raw exports, beside the runs (never inside them).
    Report(ReportArgs),
    /// Monthly cost of every approach for a workload, from a dated pricing table.
    Cost(CostArgs),
    /// Check run record files (records.jsonl) strictly, every field, and count the records.
    Validate(ValidateArgs),
    /// Bring a run made inside AWS (`run --in-aws`) from S3 into a run directory, where every
    /// other command reads it (built with `--features in-aws`; docs/in-aws.md).
    Pull(PullArgs),
}

/// `secbench pull`.
#[derive(Debug, Clone, clap::Args)]
pub struct PullArgs {
    /// The run: `s3://BUCKET/runs/STAGE/RUN_ID` (`run --in-aws` prints it).
    pub url: String,
    /// Where runs are written (the run goes to OUT_DIR/STAGE/RUN_ID).
    #[arg(long, default_value = "reports")]
    pub out_dir: PathBuf,
    /// A Step Functions and S3 endpoint other than AWS's (moto).
    #[arg(long)]
    pub endpoint_url: Option<String>,
}

/// `secbench analyze`.
#[derive(Debug, Clone, clap::Args)]
pub struct AnalyzeArgs {
    /// Run directories (or records.jsonl files); several runs and stages at once.
    #[arg(required = true)]
    pub runs: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: secbench_analyzer::export::Format,
    /// Write here instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Also write one HdrHistogram interval log per group into this directory.
    #[arg(long, value_name = "DIR")]
    pub histograms: Option<PathBuf>,
    /// Skip lines that are not records (and say how many) instead of stopping.
    #[arg(long)]
    pub skip_invalid: bool,
    /// Seed of the bootstrap.
    #[arg(long, default_value_t = secbench_analyzer::stats::DEFAULT_SEED)]
    pub seed: u64,
}

/// `secbench compare`.
#[derive(Debug, Clone, clap::Args)]
pub struct CompareArgs {
    /// The base run directory.
    pub base: PathBuf,
    /// The new run directory.
    pub new: PathBuf,
    /// Changes within this fraction are noise (0.05 = 5%).
    #[arg(long, default_value_t = 0.05)]
    pub noise_threshold: f64,
    /// Exit with status 1 when any group got slower beyond the threshold.
    #[arg(long)]
    pub fail_on_regression: bool,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Skip lines that are not records.
    #[arg(long)]
    pub skip_invalid: bool,
    /// Seed of the bootstrap.
    #[arg(long, default_value_t = secbench_analyzer::stats::DEFAULT_SEED)]
    pub seed: u64,
}

/// `secbench report`.
#[derive(Debug, Clone, clap::Args)]
pub struct ReportArgs {
    /// Run directories; several runs and stages at once.
    #[arg(required = true)]
    pub runs: Vec<PathBuf>,
    /// A workload for the cost plots and the recommendation.
    #[arg(long)]
    pub workload: Option<PathBuf>,
    /// A pricing table replacing the shipped one.
    #[arg(long)]
    pub pricing: Option<PathBuf>,
    /// Latency objective for the recommendation, e.g. p99_cold=200ms,p99_warm=20ms.
    #[arg(long, value_parser = Slo::parse)]
    pub slo: Option<Slo>,
    /// Leave out approaches that can serve a value older than this after a rotation,
    /// e.g. 5m (from the workload's cache_ttl and max_environment_lifetime).
    #[arg(long, value_name = "DURATION", value_parser = max_staleness)]
    pub max_staleness: Option<std::time::Duration>,
    /// A base run to compare the runs against.
    #[arg(long, value_name = "BASE_RUN")]
    pub compare: Option<PathBuf>,
    /// Changes within this fraction are noise in the comparison.
    #[arg(long, default_value_t = 0.05)]
    pub noise_threshold: f64,
    /// Where to write (default: RUN-report beside the first run).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Skip lines of the runs that are not records.
    #[arg(long)]
    pub skip_invalid: bool,
}

/// `secbench cost`.
#[derive(Debug, Clone, clap::Args)]
pub struct CostArgs {
    /// The workload file (TOML; its fields: docs/pricing.md).
    #[arg(long)]
    pub workload: PathBuf,
    /// Take latencies from these runs (else from the workload's `[[latency]]` table).
    #[arg(long = "latency", value_name = "RUN_DIR")]
    pub latency: Vec<PathBuf>,
    /// A pricing table replacing the shipped one (analyzer/pricing/aws.toml).
    #[arg(long)]
    pub pricing: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: CostFormat,
    /// Write here instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The cost curve over one workload field, e.g. invocations_per_month=1e4..1e9.
    #[arg(long, value_name = "FIELD=FROM..TO", value_parser = SweepSpec::parse)]
    pub sweep: Option<SweepSpec>,
    /// Samples per factor of ten in a sweep.
    #[arg(long, default_value_t = 8)]
    pub steps_per_decade: u32,
    /// Latency objective for the recommendation, e.g. p99_cold=200ms,p99_warm=20ms.
    #[arg(long, value_parser = Slo::parse)]
    pub slo: Option<Slo>,
    /// Leave out approaches that can serve a value older than this after a rotation,
    /// e.g. 5m (from the workload's cache_ttl and max_environment_lifetime).
    #[arg(long, value_name = "DURATION", value_parser = max_staleness)]
    pub max_staleness: Option<std::time::Duration>,
    /// Skip lines of the runs that are not records.
    #[arg(long)]
    pub skip_invalid: bool,
}

/// `secbench validate`.
#[derive(Debug, Clone, clap::Args)]
pub struct ValidateArgs {
    /// Record files, one JSON run record per line.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

/// `secbench provision`.
#[derive(Debug, Clone, clap::Args)]
pub struct ProvisionArgs {
    /// The stage (its stage file .secbench/stages/NAME.toml names the resources).
    #[arg(long, value_parser = secbench_record::names::stage)]
    pub stage: String,
    /// First write the stage file from the stack's outputs (JSON of `aws cloudformation
    /// describe-stacks`, whole or `--query 'Stacks[0].Outputs'`).
    #[arg(long, value_name = "FILE")]
    pub outputs: Option<PathBuf>,
    /// The stack's name, kept in the stage file (for teardown).
    #[arg(long, requires = "outputs")]
    pub stack_name: Option<String>,
    /// Read a new value from standard input (its first line) and put it into the secret;
    /// without this or --new-value the secret's current (generated) value is used.
    #[arg(long, conflicts_with = "new_value")]
    pub value_stdin: bool,
    /// Generate a new random value and put it into the secret.
    #[arg(long)]
    pub new_value: bool,
    /// Also put the value in plaintext into the function's configuration, for the
    /// plain-env baseline. Only for a throwaway value.
    #[arg(long)]
    pub plain_env_baseline: bool,
    /// Also create (or refill) N more secrets and SecureStrings with random values (never
    /// shown) for plans that read several secrets per fetch (`secrets = N`); 1 to 20.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=20))]
    pub many: Option<u32>,
    /// With --many: the counts to make a bundle for (a secret and a SecureString holding the
    /// first N values as JSON), for `multi = "bundle"`, e.g. 1,3,10.
    #[arg(long, value_delimiter = ',', requires = "many", value_parser = clap::value_parser!(u32).range(1..=20))]
    pub bundles: Vec<u32>,
    /// An AWS endpoint other than AWS's (the emulator).
    #[arg(long)]
    pub endpoint_url: Option<String>,
}

/// `secbench local`.
#[derive(Debug, Clone, clap::Args)]
pub struct LocalArgs {
    /// The plan (default: scripts/plans/local.toml of the checkout; fields: docs/plan.md).
    #[arg(long)]
    pub plan: Option<PathBuf>,
    /// Where runs are written.
    #[arg(long, default_value = "reports")]
    pub out_dir: PathBuf,
    /// Complete an interrupted local run instead of starting a new one.
    #[arg(long, value_name = "RUN_DIR")]
    pub resume: Option<PathBuf>,
    /// The workload of the report's cost plots (default: scripts/workloads/example.toml;
    /// docs/pricing.md).
    #[arg(long)]
    pub workload: Option<PathBuf>,
    /// A run on AWS (`reports/dev/<run-id>`) whose service times per API operation, and CPU per
    /// memory size from its cpu-calibration scenarios, the local stage takes over
    /// (docs/cold-starts.md).
    #[arg(long, value_name = "RUN_DIR")]
    pub service_time_from: Option<PathBuf>,
    /// Install moto, build the probe, the agent and the probe builds the plan asks for, print
    /// what was compiled, and stop.
    #[arg(long, conflicts_with_all = ["resume", "workload"])]
    pub build_only: bool,
    /// With --build-only: print what was built and compiled as one JSON object
    /// (`scripts/check-build-once.sh` reads it).
    #[arg(long, requires = "build_only")]
    pub json: bool,
    /// Print what this machine's cgroups support, what the sandbox will write where, and why
    /// not, then stop (writes nothing, starts nothing).
    #[arg(long, conflicts_with_all = ["resume", "workload", "build_only"])]
    pub check_sandbox: bool,
}

/// `secbench run`.
#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// The plan file (not needed with --resume; fields: docs/plan.md).
    #[arg(long, required_unless_present = "resume")]
    pub plan: Option<PathBuf>,
    /// The stage; its stage file (.secbench/stages/NAME.toml) gives function and region.
    #[arg(long, value_parser = secbench_record::names::stage)]
    pub stage: Option<String>,
    /// The function (overrides plan and stage file).
    #[arg(long)]
    pub function: Option<String>,
    /// The region (overrides plan and stage file).
    #[arg(long)]
    pub region: Option<String>,
    /// A Lambda API endpoint other than AWS's (e.g. a local platform).
    #[arg(long)]
    pub endpoint_url: Option<String>,
    /// Where runs are written.
    #[arg(long, default_value = "reports")]
    pub out_dir: PathBuf,
    /// Complete an interrupted run: its directory, or with --in-aws its S3 URL
    /// (s3://BUCKET/runs/STAGE/RUN_ID: only the slices not recorded run again).
    #[arg(long, value_name = "RUN_DIR|S3_URL")]
    pub resume: Option<PathBuf>,
    /// Run the plan inside AWS: the stage's state machine fans it out over driver functions in
    /// the function's region and the records go to the stage's results bucket; followed here
    /// and pulled into OUT_DIR when it ends (built with `--features in-aws`; docs/in-aws.md).
    #[arg(long)]
    pub in_aws: bool,
    /// With --in-aws: warm slices per scenario that can be cut (default: as many as keep each
    /// within 10 minutes at its rate; one for a closed loop).
    #[arg(long, requires = "in_aws", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub warm_slices: Option<u32>,
    /// With --in-aws: write the run's input to this S3 URL (s3://BUCKET/plans/NAME.json) and
    /// start nothing: the stage's schedule (`deploy.sh --in-aws --schedule ...`) runs it.
    #[arg(long, requires = "in_aws", value_name = "S3_URL")]
    pub save_input: Option<String>,
}

/// The formats of `secbench cost --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CostFormat {
    /// Aligned text for a terminal.
    Table,
    /// JSON (schema: analyzer/schema/cost.schema.json, or cost-sweep.schema.json for --sweep).
    Json,
    /// CSV: one row per approach × line (or per value × approach for --sweep).
    Csv,
}

/// Parses `--max-staleness` with the one duration parser.
fn max_staleness(text: &str) -> Result<std::time::Duration, String> {
    secbench_record::duration::parse(text).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("secbench").chain(args.iter().copied()))
    }

    #[test]
    fn slo_and_sweep_are_parsed_into_values() {
        let cli = parse(&[
            "cost",
            "--workload",
            "w.toml",
            "--slo",
            "p99_cold=200ms,p50_warm=5ms",
            "--sweep",
            "invocations_per_month=1e4..1e9",
        ])
        .expect("valid");
        let Command::Cost(CostArgs { slo, sweep, .. }) = cli.command else {
            panic!("cost");
        };
        let slo = slo.expect("slo");
        assert_eq!((slo.p99_cold_s, slo.p50_warm_s), (Some(0.2), Some(0.005)));
        assert_eq!(slo.p99_warm_s, None);
        let sweep = sweep.expect("sweep");
        assert_eq!(
            (sweep.field.name(), sweep.from, sweep.to),
            ("invocations_per_month", 1e4, 1e9)
        );
    }

    #[test]
    fn malformed_values_are_refused_with_the_option_and_the_form() {
        let e = parse(&["cost", "--workload", "w", "--slo", "p99_cold=soon"])
            .expect_err("refused")
            .to_string();
        assert!(e.contains("--slo") && e.contains("`soon`"), "{e}");
        let e = parse(&["report", "r", "--slo", "p42=1s"])
            .expect_err("refused")
            .to_string();
        assert!(e.contains("p50_cold, p99_cold"), "{e}");
        let e = parse(&["cost", "--workload", "w", "--sweep", "secrets=5..1"])
            .expect_err("refused")
            .to_string();
        assert!(e.contains("--sweep") && e.contains("empty"), "{e}");
    }
}
