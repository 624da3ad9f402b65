//! The deploy path that can be checked without an AWS account: the SAM template through
//! cfn-lint, checkov and its transformed form (least privilege, the function's critical
//! properties), the check itself failing on bad templates, stage files from stack outputs,
//! and `secbench provision` against moto with a canary value that must appear nowhere.

mod common;

use base64::Engine as _;
use common::root;
use secbench::stage_file;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn venv(tool: &str) -> PathBuf {
    root().join(".venv/bin").join(tool)
}

fn template() -> PathBuf {
    root().join("scripts/template.yaml")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn check_template(path: &Path) -> Output {
    Command::new(venv("python"))
        .arg(root().join("scripts/check_template.py"))
        .arg(path)
        .output()
        .expect("python")
}

#[test]
fn template_passes_cfn_lint() {
    let o = Command::new(venv("cfn-lint"))
        .arg(template())
        .output()
        .expect("cfn-lint (scripts/install-iac-lint.sh)");
    assert!(o.status.success(), "cfn-lint: {}", text(&o));
}

#[test]
fn template_passes_checkov_with_every_skip_justified() {
    let o = Command::new(venv("checkov"))
        .args([
            "--framework",
            "cloudformation",
            "--compact",
            "--skip-download",
            "-f",
        ])
        .arg(template())
        .env("BC_SKIP_MAPPING", "TRUE")
        .output()
        .expect("checkov (scripts/install-iac-lint.sh)");
    let out = text(&o);
    assert!(o.status.success(), "checkov: {out}");
    assert!(out.contains("Failed checks: 0"), "{out}");
    // Every skipped check carries a comment next to the resource.
    let yaml = std::fs::read_to_string(template()).expect("template");
    let skips = yaml.matches("- id: CKV").count();
    let comments = yaml.matches("comment:").count();
    assert!(
        skips > 0 && skips == comments,
        "{skips} skips, {comments} comments"
    );
}

/// A directory for copies of the template, with the state machine's definition beside them as
/// beside the template (its `DefinitionUri`).
fn template_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let machines = dir.path().join("statemachine");
    std::fs::create_dir_all(&machines).expect("statemachine dir");
    std::fs::copy(
        root().join("scripts/statemachine/run.asl.json"),
        machines.join("run.asl.json"),
    )
    .expect("copy the state machine");
    dir
}

/// The state machine's tasks invoke the driver and nothing else: a definition whose task names
/// another function fails the check.
#[test]
fn the_template_check_fails_on_a_state_machine_task_that_is_not_the_driver() {
    let dir = template_dir();
    let asl = dir.path().join("statemachine/run.asl.json");
    let definition = std::fs::read_to_string(&asl).expect("asl");
    let first = "\"FunctionName\": \"${DriverArn}\"";
    assert!(
        definition.contains(first),
        "the definition names the driver"
    );
    std::fs::write(
        &asl,
        definition.replacen(first, "\"FunctionName\": \"secbench-probe-dev\"", 1),
    )
    .expect("write");
    let path = dir.path().join("template.yaml");
    std::fs::copy(template(), &path).expect("copy");
    let o = check_template(&path);
    assert!(!o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("task Prepare invokes arn:aws:states:::lambda:invoke 'secbench-probe-dev', not the driver"),
        "{}",
        text(&o)
    );
}

#[test]
fn transformed_template_keeps_least_privilege_and_the_function_properties() {
    let o = check_template(&template());
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("none grants a secret or key action on *"));
}

/// The last lines of the key policy's one statement (the account, which delegates to IAM).
const KEY_POLICY_END: &str =
    "            Action: \"kms:*\"\n            Resource: \"*\"\n\n  ProbeKeyAlias:";

/// The key policy's end with a statement that lets the probe's role decrypt unconditionally.
const PROBE_DECRYPTS_UNCONDITIONED: &str = "            Action: \"kms:*\"\n            Resource: \"*\"\n          - Sid: ProbeDecrypts\n            Effect: Allow\n            Principal:\n              AWS: !GetAtt ProbeRole.Arn\n            Action: kms:Decrypt\n            Resource: \"*\"\n\n  ProbeKeyAlias:";

#[test]
fn a_key_policy_grant_with_the_iam_policy_s_conditions_passes_the_check() {
    let yaml = std::fs::read_to_string(template()).expect("template");
    assert!(yaml.contains(KEY_POLICY_END), "the key policy's end moved");
    let conditioned = "            Action: \"kms:*\"\n            Resource: \"*\"\n          - Sid: ProbeDecryptsViaTheServices\n            Effect: Allow\n            Principal:\n              AWS: !GetAtt ProbeRole.Arn\n            Action: kms:Decrypt\n            Resource: \"*\"\n            Condition:\n              StringEquals:\n                kms:ViaService:\n                  - !Sub \"ssm.${AWS::Region}.amazonaws.com\"\n\n  ProbeKeyAlias:";
    let dir = template_dir();
    let path = dir.path().join("conditioned.yaml");
    std::fs::write(&path, yaml.replacen(KEY_POLICY_END, conditioned, 1)).expect("write");
    let o = check_template(&path);
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn the_template_check_fails_on_wildcards_and_wrong_properties() {
    let yaml = std::fs::read_to_string(template()).expect("template");
    let dir = template_dir();
    let cases = [
        (
            "            Resource: !Ref ProbeSecret",
            "            Resource: \"*\"",
            "secretsmanager:GetSecretValue, secretsmanager:DescribeSecret granted on *",
        ),
        (
            "            Action: kms:Decrypt\n            Resource: !GetAtt ProbeKey.Arn\n            Condition:\n              StringEquals:\n                kms:EncryptionContext",
            "            Action: kms:*\n            Resource: !GetAtt ProbeKey.Arn\n            Condition:\n              StringEquals:\n                kms:EncryptionContext",
            "action kms:* is a wildcard",
        ),
        (
            "parameter/secbench/${Stage}/*",
            "parameter/*",
            "granted on the wildcard",
        ),
        (
            "            Action: secretsmanager:BatchGetSecretValue  # pragma: allowlist secret\n            Resource: \"*\"",
            "            Action:\n              - secretsmanager:BatchGetSecretValue\n              - secretsmanager:GetSecretValue\n            Resource: \"*\"",
            "granted on *",
        ),
        (
            "Runtime: provided.al2023",
            "Runtime: python3.12",
            "ProbeFunction.Runtime is 'python3.12'",
        ),
        (
            "    Default: arm64",
            "    Default: x86_64",
            "must default to arm64",
        ),
        (
            "          SECBENCH_STAGE: !Ref Stage",
            "          SECBENCH_STAGE: !Ref Stage\n          SECBENCH_PLAINTEXT: hunter2",
            "sets SECBENCH_PLAINTEXT",
        ),
        // Putting functions on any capacity provider: on instances other functions may share.
        (
            "            Action: lambda:PassCapacityProvider\n            Resource: !GetAtt ProbeCapacityProvider.Arn",
            "            Action: lambda:PassCapacityProvider\n            Resource: \"*\"",
            "lambda:PassCapacityProvider granted on *, not only the stage's capacity provider",
        ),
        (
            "            Action: lambda:PassCapacityProvider\n            Resource: !GetAtt ProbeCapacityProvider.Arn",
            "            Action: lambda:Pass*\n            Resource: !Sub \"arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:capacity-provider:*\"",
            "lambda:PassCapacityProvider granted on arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:capacity-provider:*",
        ),
        (
            "        PerExecutionEnvironmentMaxConcurrency: 8\n        ExecutionEnvironmentMemoryGiBPerVCpu: 2",
            "        PerExecutionEnvironmentMaxConcurrency: 8\n        ExecutionEnvironmentMemoryGiBPerVCpu: 3",
            "ProbeFunctionManaged.CapacityProviderConfig is",
        ),
        // SnapStart where AWS does not support it (provided.al2023), on every deploy (not
        // only with SnapStart=true), and a published version whose snapshot is billed on
        // every stage.
        (
            "      Runtime: provided.al2023",
            "      Runtime: provided.al2023\n      SnapStart:\n        ApplyOn: PublishedVersions",
            "ProbeFunction.SnapStart: SnapStart is for the Python probe only",
        ),
        (
            "      SnapStart: !If\n        - WithSnapStart\n        - ApplyOn: PublishedVersions\n        - !Ref AWS::NoValue",
            "      SnapStart:\n        ApplyOn: PublishedVersions",
            "ProbeFunctionPython.SnapStart is {'ApplyOn': 'PublishedVersions'}",
        ),
        (
            "    Type: AWS::Lambda::Version\n    Condition: WithSnapStart\n",
            "    Type: AWS::Lambda::Version\n",
            "ProbeFunctionPythonSnapStartVersion: a version or alias of ProbeFunctionPython must exist only with SnapStart=true",
        ),
        // Runs inside AWS: the state machine starting any execution, the driver writing
        // anywhere in S3.
        (
            "                Action: states:StartExecution\n                Resource: !Sub \"arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:secbench-run-${Stage}\"",
            "                Action: states:*\n                Resource: !Sub \"arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:secbench-run-${Stage}\"",
            "action states:* is a wildcard",
        ),
        (
            "                  - s3:PutObject\n                Resource: !Sub \"${ResultsBucket.Arn}/runs/*\"",
            "                  - s3:PutObject\n                Resource: \"*\"",
            "DriverRole.Policies[driver].Statement[1]: s3:GetObject, s3:PutObject granted on *",
        ),
        (
            "      DefinitionSubstitutions:\n        DriverArn: !GetAtt DriverFunction.Arn",
            "      DefinitionSubstitutions:\n        DriverArn: !GetAtt ProbeFunction.Arn",
            "RunStateMachine.DefinitionSubstitutions must map DriverArn to DriverFunction.Arn",
        ),
        // The key policy as it was: the role may decrypt with no condition, which cancels the
        // conditions of its IAM policy (KMS allows what the key policy or IAM allows).
        (
            KEY_POLICY_END,
            PROBE_DECRYPTS_UNCONDITIONED,
            "ProbeKey.KeyPolicy.Statement[1] (ProbeDecrypts): grants kms:Decrypt to ProbeRole.Arn without the conditions its IAM policy states",
        ),
    ];
    for (i, (from, to, expected)) in cases.iter().enumerate() {
        assert!(
            yaml.contains(from),
            "case {i}: the template no longer has {from:?}"
        );
        let path = dir.path().join(format!("case-{i}.yaml"));
        std::fs::write(&path, yaml.replacen(from, to, 1)).expect("write");
        let o = check_template(&path);
        assert!(!o.status.success(), "case {i} passed: {}", text(&o));
        assert!(text(&o).contains(expected), "case {i}: {}", text(&o));
    }
}

#[test]
fn stage_file_from_a_recorded_describe_stacks_answer() {
    let fixtures = root().join("secbench/tests/fixtures/deploy");
    let f = stage_file::from_outputs(&fixtures.join("describe-stacks.json"), Some("secbench-dev"))
        .expect("outputs");
    assert_eq!(f.function, "secbench-probe-dev");
    assert_eq!(f.region, "eu-central-1");
    assert_eq!(f.parameter_name.as_deref(), Some("/secbench/dev/secret"));
    assert_eq!(f.extension_layer_arn, None, "an empty output is no layer");
    assert_eq!(f.architecture.as_deref(), Some("arm64"));
    let dir = tempfile::tempdir().expect("tempdir");
    let path = stage_file::save(dir.path(), "dev", &f).expect("save");
    assert_eq!(path, dir.path().join(".secbench/stages/dev.toml"));
    assert_eq!(stage_file::load(dir.path(), "dev").expect("load"), Some(f));
    let e = stage_file::from_outputs(&fixtures.join("outputs-without-key.json"), None)
        .expect_err("no KeyArn")
        .to_string();
    assert!(
        e.contains("outputs-without-key.json") && e.contains("output KeyArn is missing"),
        "{e}"
    );
}

#[test]
fn the_stage_file_names_each_function_with_the_runtime_the_stack_deployed_it_on() {
    use secbench_record::Runtime;
    let fixtures = root().join("secbench/tests/fixtures/deploy");
    let f = stage_file::from_outputs(&fixtures.join("describe-stacks-runtimes.json"), None)
        .expect("outputs");
    // NodeRuntime says nodejs24.x; no PythonRuntime output: a stack from before it, python3.13.
    assert_eq!(
        f.functions,
        [
            (Runtime::Nodejs24, "secbench-probe-dev-node".to_owned()),
            (Runtime::Python313, "secbench-probe-dev-python".to_owned()),
        ]
        .into()
    );
    let e = stage_file::from_outputs(&fixtures.join("describe-stacks-unknown-runtime.json"), None)
        .expect_err("an unknown runtime")
        .to_string();
    assert!(
        e.contains("output NodeRuntime: `nodejs26.x` is not a runtime secbench knows"),
        "{e}"
    );
}

#[test]
fn the_template_offers_every_managed_runtime_the_probes_run_in() {
    let template = std::fs::read_to_string(template()).expect("template");
    let checker =
        std::fs::read_to_string(root().join("scripts/check_template.py")).expect("checker");
    for (parameter, language) in [
        ("NodeRuntime", secbench_record::Language::Node),
        ("PythonRuntime", secbench_record::Language::Python),
    ] {
        let runtimes: Vec<&str> = secbench_record::Runtime::ALL
            .iter()
            .filter(|r| r.language() == language)
            .map(|r| r.as_str())
            .collect();
        let allowed = format!("AllowedValues: [{}]", runtimes.join(", "));
        let at = template
            .find(&format!("  {parameter}:\n    Type: String"))
            .unwrap_or_else(|| panic!("no {parameter} parameter"));
        assert!(
            template[at..].lines().take(5).any(|l| l.trim() == allowed),
            "{parameter} does not allow {runtimes:?}"
        );
        let quoted: Vec<String> = runtimes.iter().map(|r| format!("\"{r}\"")).collect();
        assert!(
            checker.contains(&format!("\"{parameter}\": ([{}]", quoted.join(", "))),
            "check_template.py's {parameter} is not {runtimes:?}"
        );
    }
}

/// A function in moto (its role too), as the stack would have made it.
fn create_function(endpoint: &str, region: &str, name: &str) {
    let status = Command::new(venv("python"))
        .arg(root().join("secbench/tests/fixtures/moto_create_function.py"))
        .args([endpoint, region, name])
        .status()
        .expect("python");
    assert!(status.success(), "creating {name} in moto failed");
}

/// An SDK configuration for moto in `region`, with test credentials.
async fn moto_sdk(endpoint: &str, region: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(region.to_owned()))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_kms::config::Credentials::new(
            "t", "t", None, None, "t",
        ))
        .load()
        .await
}

fn secbench(cwd: &Path, endpoint: &str, args: &[&str], stdin: Option<&str>) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_secbench"))
        .args(args)
        .current_dir(cwd)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env_remove("AWS_PROFILE")
        .env("AWS_ENDPOINT_URL", endpoint)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("secbench");
    let mut pipe = child.stdin.take().expect("stdin");
    if let Some(s) = stdin {
        pipe.write_all(s.as_bytes()).expect("stdin");
    }
    drop(pipe);
    child.wait_with_output().expect("secbench")
}

/// A deployed stage in a moto of its own, as the stack and `secbench provision` leave it: the
/// three functions, the key, the secret and the parameter holding a canary (read from standard
/// input), and the stage file in `cwd`.
struct Stage {
    moto: secbench_local_lambda::moto::Moto,
    region: &'static str,
    function: &'static str,
    others: [&'static str; 2],
    sdk: aws_config::SdkConfig,
    kms: aws_sdk_kms::Client,
    sm: aws_sdk_secretsmanager::Client,
    ssm: aws_sdk_ssm::Client,
    lambda: aws_sdk_lambda::Client,
    key_arn: String,
    secret_arn: String,
    cwd: tempfile::TempDir,
    canary: String,
    /// The canary's SHA-256, as the probe checks it.
    sha: String,
    /// What `secbench provision` printed.
    out: String,
}

async fn provisioned_stage() -> Stage {
    let moto = secbench::local_stage::start_moto(&root()).expect("moto");
    let region = "eu-central-1";
    let function = "secbench-probe-dev";
    // The stack's three functions: the Rust probe and its Node.js and Python twins.
    let others = ["secbench-probe-dev-node", "secbench-probe-dev-python"];
    for f in std::iter::once(function).chain(others) {
        create_function(&moto.endpoint, region, f);
    }
    // What the stack would have made: the key and a secret with a generated value.
    let sdk = moto_sdk(&moto.endpoint, region).await;
    let kms = aws_sdk_kms::Client::new(&sdk);
    let key_arn = kms
        .create_key()
        .send()
        .await
        .expect("key")
        .key_metadata
        .and_then(|m| m.arn)
        .expect("arn");
    let sm = aws_sdk_secretsmanager::Client::new(&sdk);
    let generated = secbench::provision::random_value();
    let secret_arn = sm
        .create_secret()
        .name("secbench/dev/secret")
        .secret_string(&generated)
        .kms_key_id(&key_arn)
        .send()
        .await
        .expect("secret")
        .arn
        .expect("arn");
    let cwd = tempfile::tempdir().expect("tempdir");
    let outputs = serde_json::json!([
        {"OutputKey": "FunctionName", "OutputValue": function},
        {"OutputKey": "NodeFunctionName", "OutputValue": others[0]},
        {"OutputKey": "PythonFunctionName", "OutputValue": others[1]},
        {"OutputKey": "Region", "OutputValue": region},
        {"OutputKey": "KeyArn", "OutputValue": key_arn},
        {"OutputKey": "SecretArn", "OutputValue": secret_arn},
        {"OutputKey": "ParameterName", "OutputValue": "/secbench/dev/secret"},
        {"OutputKey": "ExtensionLayerArn", "OutputValue": ""}
    ]);
    std::fs::write(cwd.path().join("outputs.json"), outputs.to_string()).expect("outputs");

    // A value on standard input replaces the generated one everywhere.
    let canary = common::canary();
    let o = secbench(
        cwd.path(),
        &moto.endpoint,
        &[
            "provision",
            "--stage",
            "dev",
            "--outputs",
            "outputs.json",
            "--stack-name",
            "secbench-dev",
            "--value-stdin",
        ],
        Some(&format!("{canary}\n")),
    );
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    let sha = secbench::provision::sha256_hex(&canary);
    Stage {
        ssm: aws_sdk_ssm::Client::new(&sdk),
        lambda: aws_sdk_lambda::Client::new(&sdk),
        moto,
        region,
        function,
        others,
        sdk,
        kms,
        sm,
        key_arn,
        secret_arn,
        cwd,
        canary,
        sha,
        out,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provision_fills_a_deployed_stage_in_moto_and_never_shows_the_value() {
    let Stage {
        moto,
        function,
        others,
        kms,
        sm,
        ssm,
        lambda,
        key_arn,
        secret_arn,
        cwd,
        canary,
        sha,
        out,
        ..
    } = provisioned_stage().await;
    assert!(
        out.contains(&format!("sha256 of the value: {sha}")),
        "{out}"
    );
    assert!(out.contains("new value written"), "{out}");
    let secret = sm
        .get_secret_value()
        .secret_id(&secret_arn)
        .send()
        .await
        .expect("get");
    assert_eq!(secret.secret_string.as_deref(), Some(canary.as_str()));
    let p = ssm
        .get_parameter()
        .name("/secbench/dev/secret")
        .with_decryption(true)
        .send()
        .await
        .expect("parameter")
        .parameter
        .expect("parameter");
    assert_eq!(
        p.r#type,
        Some(aws_sdk_ssm::types::ParameterType::SecureString)
    );
    assert_eq!(p.value.as_deref(), Some(canary.as_str()));
    let vars = lambda
        .get_function_configuration()
        .function_name(function)
        .send()
        .await
        .expect("configuration")
        .environment
        .and_then(|e| e.variables)
        .expect("variables");
    assert_eq!(vars.get("SECBENCH_EXPECTED_SHA256"), Some(&sha));
    assert_eq!(
        vars.get("SECBENCH_SECRET_ID").map(String::as_str),
        Some("kept-from-deploy")
    );
    assert!(!vars.contains_key("SECBENCH_PLAINTEXT"));
    let blob = base64::engine::general_purpose::STANDARD
        .decode(vars.get("SECBENCH_CIPHERTEXT").expect("ciphertext"))
        .expect("base64");
    let plain = kms
        .decrypt()
        .ciphertext_blob(aws_sdk_kms::primitives::Blob::new(blob))
        .encryption_context("LambdaFunctionName", function)
        .send()
        .await
        .expect("decrypt")
        .plaintext
        .expect("plaintext");
    assert_eq!(plain.as_ref(), canary.as_bytes());
    // Each other runtime's function has the digest and a ciphertext bound to its own name.
    for f in others {
        let vars = lambda
            .get_function_configuration()
            .function_name(f)
            .send()
            .await
            .expect("configuration")
            .environment
            .and_then(|e| e.variables)
            .expect("variables");
        assert_eq!(vars.get("SECBENCH_EXPECTED_SHA256"), Some(&sha), "{f}");
        let blob = base64::engine::general_purpose::STANDARD
            .decode(vars.get("SECBENCH_CIPHERTEXT").expect("ciphertext"))
            .expect("base64");
        let decrypt = |name: &str| {
            kms.decrypt()
                .ciphertext_blob(aws_sdk_kms::primitives::Blob::new(blob.clone()))
                .encryption_context("LambdaFunctionName", name)
                .send()
        };
        let plain = decrypt(f)
            .await
            .expect("decrypt")
            .plaintext
            .expect("plaintext");
        assert_eq!(plain.as_ref(), canary.as_bytes(), "{f}");
        assert!(
            decrypt(function).await.is_err(),
            "{f}'s ciphertext decrypts under the Rust function's name"
        );
        assert!(out.contains(&format!("function {f}: ")), "{out}");
    }
    let stage = stage_file::load(cwd.path(), "dev")
        .expect("stage file")
        .expect("written");
    assert_eq!(stage.function, function);
    assert_eq!(
        stage
            .functions
            .values()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        others
    );
    assert_eq!(stage.stack_name.as_deref(), Some("secbench-dev"));
    assert_eq!(stage.key_arn.as_deref(), Some(key_arn.as_str()));

    // Again without a new value: the secret's current value is used, nothing changes.
    let again = secbench(
        cwd.path(),
        &moto.endpoint,
        &["provision", "--stage", "dev"],
        None,
    );
    let again_out = text(&again);
    assert!(again.status.success(), "{again_out}");
    assert!(
        again_out.contains("its current value is used"),
        "{again_out}"
    );
    assert!(again_out.contains(&sha), "{again_out}");

    // The value, its base64 and hex forms appear in no output and no file written.
    for form in [
        canary.clone(),
        base64::engine::general_purpose::STANDARD.encode(&canary),
        hex::encode(&canary),
    ] {
        assert!(
            !out.contains(&form) && !again_out.contains(&form),
            "the canary leaked into the output"
        );
    }
    common::assert_no_canary_in(cwd.path(), &canary);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_finds_function_and_region_in_the_stage_file() {
    let Stage {
        moto,
        region,
        function,
        cwd,
        canary,
        ..
    } = provisioned_stage().await;
    // `secbench run --stage dev` finds function and region in the stage file.
    let plan = root().join("record/tests/fixtures/plans/stage-dev.toml");
    let run = secbench(
        cwd.path(),
        &moto.endpoint,
        &[
            "run",
            "--plan",
            plan.to_str().expect("utf-8"),
            "--stage",
            "dev",
            "--endpoint-url",
            &moto.endpoint,
            "--out-dir",
            "runs",
        ],
        None,
    );
    let run_out = text(&run);
    let runs: Vec<_> = std::fs::read_dir(cwd.path().join("runs/dev"))
        .unwrap_or_else(|e| panic!("no run directory ({e}): {run_out}"))
        .collect();
    assert_eq!(runs.len(), 1, "{run_out}");
    let dir = runs[0].as_ref().expect("entry").path();
    let manifest = common::manifest(&dir);
    assert_eq!(manifest.function, function);
    assert_eq!(manifest.region, region);
    common::assert_no_canary_in(cwd.path(), &canary);
    common::assert_no_canary_in(cwd.path(), &canary);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotating_run_writes_the_stores_and_later_runs_are_given_their_digests() {
    let Stage {
        moto,
        function,
        sdk,
        kms,
        sm,
        lambda,
        key_arn,
        secret_arn,
        cwd,
        canary,
        sha,
        ..
    } = provisioned_stage().await;
    // A plan that rotates writes the stage's secret and the function's ciphertext with the
    // operator's credentials (moto runs no code, so the invocations are errors; the writes are
    // what is checked here).
    let plan = root().join("record/tests/fixtures/plans/stage-dev-rotation.toml");
    // Runs the rotating plan on stage dev into `out`; its output and its run directory.
    let rotating_run = |out: &str| {
        let run = secbench(
            cwd.path(),
            &moto.endpoint,
            &[
                "run",
                "--plan",
                plan.to_str().expect("utf-8"),
                "--stage",
                "dev",
                "--endpoint-url",
                &moto.endpoint,
                "--out-dir",
                out,
            ],
            None,
        );
        let run_out = text(&run);
        let dir = std::fs::read_dir(cwd.path().join(out).join("dev"))
            .unwrap_or_else(|e| panic!("no run directory ({e}): {run_out}"))
            .next()
            .expect("a run")
            .expect("entry")
            .path();
        (run_out, dir)
    };
    let (run_out, dir) = rotating_run("rotated");
    let rotations = secbench_record::rotation::read(&dir).expect("rotations.jsonl");
    assert_eq!(rotations.len(), 2, "{run_out}");
    for r in &rotations {
        assert!(r.error.is_none() && r.confirmed_unix_ms.is_some(), "{r:?}");
    }
    assert_eq!(rotations[0].operation, "PutSecretValue");
    assert_eq!(rotations[1].operation, "UpdateFunctionConfiguration");
    let new_secret = sm
        .get_secret_value()
        .secret_id(&secret_arn)
        .send()
        .await
        .expect("get");
    assert_eq!(new_secret.version_id, rotations[0].service_version);
    let new_sha =
        secbench::provision::sha256_hex(new_secret.secret_string.as_deref().expect("string"));
    assert_ne!(new_sha, sha, "the secret was not rotated");
    let vars = lambda
        .get_function_configuration()
        .function_name(function)
        .send()
        .await
        .expect("configuration")
        .environment
        .and_then(|e| e.variables)
        .expect("variables");
    // The kms-env scenario was given its store's digests: the value before and the new one.
    let digests: Vec<&str> = vars["SECBENCH_EXPECTED_SHA256"].split(',').collect();
    assert_eq!(digests.len(), 2);
    assert_eq!(digests[0], sha);
    let blob = base64::engine::general_purpose::STANDARD
        .decode(&vars["SECBENCH_CIPHERTEXT"])
        .expect("base64");
    let plain = kms
        .decrypt()
        .ciphertext_blob(aws_sdk_kms::primitives::Blob::new(blob))
        .encryption_context("LambdaFunctionName", function)
        .send()
        .await
        .expect("decrypt")
        .plaintext
        .expect("plaintext");
    assert_eq!(
        secbench::provision::sha256_hex(std::str::from_utf8(plain.as_ref()).expect("utf-8")),
        digests[1]
    );
    assert!(
        !vars.contains_key("SECBENCH_PLAINTEXT"),
        "the plaintext was added"
    );
    common::assert_no_canary_in(cwd.path(), &canary);

    // Now each store holds a different value: the secret and the function's were rotated, the
    // parameter was not. What the rotator reads at the start of a run says so.
    use secbench_record::rotation::Store;
    let resources = secbench::run::rotate::Resources {
        secret_id: secret_arn.clone(),
        parameter_name: "/secbench/dev/secret".into(),
        key_id: key_arn.clone(),
    };
    let current = secbench::run::rotate::read_current(&sdk, &resources, &lambda, function)
        .await
        .expect("the stores read");
    assert_eq!(current[&Store::Secret].to_hex(), new_sha);
    assert_eq!(current[&Store::Parameter].to_hex(), sha);
    assert_eq!(current[&Store::FunctionConfiguration].to_hex(), digests[1]);

    // A second rotating run in a row: the kms-env scenario is given the digest the function
    // holds now (the first run's new value), then its own new one (it was given the digest
    // the function's configuration listed first: the value before the first run).
    let expected_of = |vars: &std::collections::HashMap<String, String>| -> Vec<String> {
        vars["SECBENCH_EXPECTED_SHA256"]
            .split(',')
            .map(str::to_owned)
            .collect()
    };
    let vars_now = || async {
        lambda
            .get_function_configuration()
            .function_name(function)
            .send()
            .await
            .expect("configuration")
            .environment
            .and_then(|e| e.variables)
            .expect("variables")
    };
    let (again_out, again_dir) = rotating_run("rotated-again");
    let second = expected_of(&vars_now().await);
    assert_eq!(second.len(), 2, "{again_out}");
    assert_eq!(
        second[0], digests[1],
        "the function's value before this run"
    );
    assert_ne!(second[1], digests[1]);
    let secret_now = sm
        .get_secret_value()
        .secret_id(&secret_arn)
        .send()
        .await
        .expect("get");
    assert_ne!(
        secbench::provision::sha256_hex(secret_now.secret_string.as_deref().expect("string")),
        new_sha,
        "the second run rotated the secret again"
    );

    // A resumed run after its rotations: the rest of the kms-env scenario's warm phase is
    // given the digest the function holds now (the rotation is not made again).
    let resumed = cwd.path().join("resumed");
    std::fs::create_dir_all(&resumed).expect("dir");
    for entry in std::fs::read_dir(&again_dir).expect("run dir") {
        let entry = entry.expect("entry");
        if entry.file_type().expect("type").is_file() {
            std::fs::copy(entry.path(), resumed.join(entry.file_name())).expect("copy");
        }
    }
    let records = std::fs::read_to_string(resumed.join("records.jsonl")).expect("records");
    let kms_warm: Vec<&str> = records
        .lines()
        .filter(|l| l.contains("\"scenario\":\"kms-env-none\"") && l.contains("\"phase\":\"warm\""))
        .collect();
    assert!(kms_warm.len() >= 10, "{}", kms_warm.len());
    let cut: Vec<&str> = kms_warm[kms_warm.len() - 5..].to_vec();
    let kept: String = records
        .lines()
        .filter(|l| !cut.contains(l))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(resumed.join("records.jsonl"), kept).expect("write");
    let o = secbench(
        cwd.path(),
        &moto.endpoint,
        &[
            "run",
            "--resume",
            resumed.to_str().expect("utf-8"),
            "--endpoint-url",
            &moto.endpoint,
        ],
        None,
    );
    let resume_out = text(&o);
    assert!(
        resume_out.contains("resumed without rotating again"),
        "{resume_out}"
    );
    assert_eq!(
        expected_of(&vars_now().await),
        vec![second[1].clone()],
        "{resume_out}"
    );
    common::assert_no_canary_in(cwd.path(), &canary);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provision_many_makes_secrets_and_a_bundle_that_run_points_the_probe_at() {
    let Stage {
        moto,
        function,
        sm,
        ssm,
        lambda,
        cwd,
        canary,
        ..
    } = provisioned_stage().await;
    // Several secrets per fetch: `--many` makes them (random values) and a bundle, the stage
    // file names them, and `secbench run` points each scenario's probe at them.
    let o = secbench(
        cwd.path(),
        &moto.endpoint,
        &[
            "provision",
            "--stage",
            "dev",
            "--many",
            "3",
            "--bundles",
            "3",
        ],
        None,
    );
    let many_out = text(&o);
    assert!(o.status.success(), "{many_out}");
    let stage = stage_file::load(cwd.path(), "dev")
        .expect("stage file")
        .expect("written");
    let many = stage
        .many
        .clone()
        .expect("the stage file names the secrets");
    assert_eq!(many.secret_ids.len(), 3);
    assert_eq!(many.digests.len(), 3);
    for (id, digest) in many.secret_ids.iter().zip(&many.digests) {
        let v = sm
            .get_secret_value()
            .secret_id(id)
            .send()
            .await
            .expect("a --many secret");
        assert_eq!(
            &secbench::provision::sha256_hex(v.secret_string.as_deref().expect("string")),
            digest
        );
        assert!(id.starts_with("secbench/dev/many/"), "{id}");
    }
    let plan = root().join("record/tests/fixtures/plans/stage-dev-many.toml");
    let run = secbench(
        cwd.path(),
        &moto.endpoint,
        &[
            "run",
            "--plan",
            plan.to_str().expect("utf-8"),
            "--stage",
            "dev",
            "--endpoint-url",
            &moto.endpoint,
            "--out-dir",
            "many",
        ],
        None,
    );
    let run_out = text(&run);
    assert!(
        cwd.path().join("many/dev").is_dir(),
        "no run directory: {run_out}"
    );
    // The last scenario (ssm, bundle of 3) left its variables on the function.
    let vars = lambda
        .get_function_configuration()
        .function_name(function)
        .send()
        .await
        .expect("configuration")
        .environment
        .and_then(|e| e.variables)
        .expect("variables");
    assert_eq!(
        vars.get("SECBENCH_MULTI").map(String::as_str),
        Some("bundle")
    );
    assert_eq!(
        vars.get("SECBENCH_EXPECTED_SHA256S"),
        Some(&many.digests.join(","))
    );
    assert_eq!(
        vars.get("SECBENCH_PARAMETER_NAME"),
        many.parameter_bundles.get("3")
    );
    assert_eq!(
        vars.get("SECBENCH_BUNDLE_KEYS").map(String::as_str),
        Some("key0,key1,key2")
    );
    let bundle = ssm
        .get_parameter()
        .name(many.parameter_bundles.get("3").expect("bundle of 3"))
        .with_decryption(true)
        .send()
        .await
        .expect("bundle")
        .parameter
        .and_then(|p| p.value)
        .expect("value");
    let object: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&bundle).expect("a JSON object");
    assert_eq!(object.len(), 3);
    common::assert_no_canary_in(cwd.path(), &canary);
}

#[test]
fn the_secret_scan_passes_the_tree_and_catches_a_planted_key() {
    let hook = root().join(".tools/detect-secrets/bin/detect-secrets-hook");
    let baseline = root().join(".secrets.baseline");
    let dir = tempfile::tempdir().expect("tempdir");
    let planted = dir.path().join("config.py");
    // An AWS access key id/secret pair in the shape AWS documents for examples.
    std::fs::write(
        &planted,
        "aws_access_key_id = \"AKIAIOSFODNN7EXAMPLE\"\naws_secret_access_key = \"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\"\n", // pragma: allowlist secret
    )
    .expect("write");
    let o = Command::new(&hook)
        .arg("--baseline")
        .arg(&baseline)
        .arg(&planted)
        .current_dir(root())
        .output()
        .expect("detect-secrets-hook (scripts/scan-secrets.sh)");
    assert!(
        !o.status.success(),
        "the planted key was not caught: {}",
        text(&o)
    );
    let o = Command::new(root().join("scripts/scan-secrets.sh"))
        .current_dir(root())
        .output()
        .expect("scan-secrets.sh");
    assert!(o.status.success(), "{}", text(&o));
}

/// `secbench run` on a deployed stage drives each scenario's runtime's function: the stage
/// file names them, the Node.js scenario's configuration goes to the Node.js function and the
/// Rust one's to the Rust function (moto runs no code: the invocations are counted as errors).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_drives_the_function_of_each_scenarios_runtime() {
    let moto = secbench::local_stage::start_moto(&root()).expect("moto");
    let region = "eu-central-1";
    let (rust, node) = ("secbench-probe-dev", "secbench-probe-dev-node");
    for f in [rust, node] {
        create_function(&moto.endpoint, region, f);
    }
    let cwd = tempfile::tempdir().expect("tempdir");
    let file = stage_file::StageFile {
        function: rust.into(),
        region: region.into(),
        functions: [(secbench_record::Runtime::Nodejs22, node.to_owned())].into(),
        ..stage_file::StageFile::default()
    };
    stage_file::save(cwd.path(), "dev", &file).expect("stage file");
    std::fs::write(
        cwd.path().join("plan.toml"),
        include_str!(
            "fixtures/plans/deploy-run-drives-the-function-of-each-scenarios-runtime.toml"
        ),
    )
    .expect("plan");
    let o = secbench(
        cwd.path(),
        &moto.endpoint,
        &[
            "run",
            "--plan",
            "plan.toml",
            "--endpoint-url",
            &moto.endpoint,
        ],
        None,
    );
    let out = text(&o);
    assert!(out.contains("sent 4 = "), "{out}");
    let sdk = moto_sdk(&moto.endpoint, region).await;
    let lambda = aws_sdk_lambda::Client::new(&sdk);
    for (f, scenario) in [(rust, "ssm-rust"), (node, "ssm-node")] {
        let vars = lambda
            .get_function_configuration()
            .function_name(f)
            .send()
            .await
            .expect("configuration")
            .environment
            .and_then(|e| e.variables)
            .expect("variables");
        let round = vars.get("SECBENCH_CONFIG_ROUND").expect("configured");
        assert!(round.contains(scenario), "{f}: {round}");
    }
    // A runtime the stage has no function for is refused before anything runs.
    std::fs::write(
        cwd.path().join("python.toml"),
        "stage = \"dev\"\n[[scenario]]\nname = \"p\"\nsource = \"ssm\"\nruntime = \"python3.13\"\n",
    )
    .expect("plan");
    let o = secbench(
        cwd.path(),
        &moto.endpoint,
        &[
            "run",
            "--plan",
            "python.toml",
            "--endpoint-url",
            &moto.endpoint,
        ],
        None,
    );
    assert!(!o.status.success());
    assert!(
        text(&o).contains("names no function of that runtime"),
        "{}",
        text(&o)
    );
}
