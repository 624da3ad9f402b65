//! Stage files (`.secbench/stages/<stage>.toml`), written from the stack's outputs by
//! `secbench provision --outputs` (which the deploy script runs), so that
//! `secbench run --stage dev` finds its function and region without retyping them.

use secbench_record::probe_config::Digest;
use secbench_record::Runtime;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A deployed stage.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageFile {
    /// The probe function's name.
    pub function: String,
    /// Its region.
    pub region: String,
    /// The Parameters and Secrets extension layer ARN for that region and architecture.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension_layer_arn: Option<String>,
    /// The CloudFormation stack.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack_name: Option<String>,
    /// The stage's KMS key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_arn: Option<String>,
    /// The stage's secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_arn: Option<String>,
    /// The SecureString parameter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameter_name: Option<String>,
    /// The probe's architecture.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub architecture: Option<String>,
    /// The probe's log group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_group: Option<String>,
    /// What `secbench provision --many` made for plans that read several secrets per fetch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub many: Option<StageMany>,
    /// The probe in the other runtimes (`nodejs24.x`, `python3.14`, ...): their functions.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub functions: BTreeMap<Runtime, String>,
    /// The stage's capacity provider (Lambda Managed Instances), when deployed with one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity_provider_arn: Option<String>,
    /// The probe's functions on that capacity provider, by runtime.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub managed_functions: BTreeMap<Runtime, String>,
    /// The bucket runs inside AWS write their records to (`InAws=true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub results_bucket: Option<String>,
    /// The state machine that runs a plan inside AWS (`InAws=true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_machine_arn: Option<String>,
}

/// The stack outputs naming the probe's functions on the capacity provider (the template's
/// `ManagedInstances=true`): the Rust probe's, and the Python and Node.js probes', whose
/// runtimes the `PythonRuntime` and `NodeRuntime` outputs name.
pub const MANAGED_OUTPUTS: [(&str, Option<&str>); 3] = [
    ("ManagedFunctionName", None),
    ("ManagedPythonFunctionName", Some("PythonRuntime")),
    ("ManagedNodeFunctionName", Some("NodeRuntime")),
];

/// Gives each managed-instances scenario that names no function of its own the stage's
/// function of its runtime on the capacity provider; says which scenario the stage has none for.
pub fn assign_managed_functions(
    scenarios: &mut [crate::plan::Scenario],
    functions: &BTreeMap<Runtime, String>,
) -> Result<(), String> {
    for s in scenarios {
        if s.function.is_some() || s.managed_instances.is_none() {
            continue;
        }
        match functions.get(&s.runtime) {
            Some(f) => s.function = Some(f.clone()),
            None => {
                return Err(format!(
                    "scenario {} runs on Lambda Managed Instances in {}, and the stage file names no function of that runtime on a capacity provider: deploy the stage with ManagedInstances=true (scripts/deploy.sh --managed-instances), or name the scenario's `function`",
                    s.name, s.runtime
                ))
            }
        }
    }
    Ok(())
}

/// The stack outputs naming the probe's function in each language other than Rust, the output
/// naming its runtime (the template's `NodeRuntime`, `PythonRuntime`), and the runtime of a
/// stack deployed before the template had that output.
pub const RUNTIME_OUTPUTS: [(&str, &str, Runtime); 2] = [
    ("NodeFunctionName", "NodeRuntime", Runtime::Nodejs22),
    ("PythonFunctionName", "PythonRuntime", Runtime::Python313),
];

/// Gives each scenario of another runtime than Rust that names no function of its own the
/// stage's function of that runtime; says which scenario the stage has none for.
pub fn assign_runtime_functions(
    scenarios: &mut [crate::plan::Scenario],
    functions: &BTreeMap<Runtime, String>,
) -> Result<(), String> {
    for s in scenarios {
        if s.function.is_some() || s.runtime == Runtime::Rust {
            continue;
        }
        match functions.get(&s.runtime) {
            Some(f) => s.function = Some(f.clone()),
            None => {
                return Err(format!(
                    "scenario {} runs in {}, and the stage file names no function of that runtime: deploy the stage again with scripts/deploy.sh (it deploys one function per runtime), or name the scenario's `function`",
                    s.name, s.runtime
                ))
            }
        }
    }
    Ok(())
}

/// The several-secrets resources of a stage (names and digests only).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageMany {
    /// Secrets holding value 0, 1, …
    pub secret_ids: Vec<String>,
    /// SecureStrings holding value 0, 1, …
    pub parameter_names: Vec<String>,
    /// Hex SHA-256 of value 0, 1, …
    pub digests: Vec<String>,
    /// Per count (as text: TOML keys are strings), the secret bundling that many values.
    #[serde(default)]
    pub secret_bundles: std::collections::BTreeMap<String, String>,
    /// Per count, the SecureString bundling that many values.
    #[serde(default)]
    pub parameter_bundles: std::collections::BTreeMap<String, String>,
}

impl StageMany {
    /// From what provisioning made.
    pub fn from_many(m: &crate::targets::ManySecrets) -> StageMany {
        let text = |b: &std::collections::BTreeMap<u32, String>| {
            b.iter().map(|(n, v)| (n.to_string(), v.clone())).collect()
        };
        StageMany {
            secret_ids: m.secret_ids.clone(),
            parameter_names: m.parameter_names.clone(),
            digests: m.digests.iter().map(Digest::to_hex).collect(),
            secret_bundles: text(&m.secret_bundles),
            parameter_bundles: text(&m.parameter_bundles),
        }
    }

    /// What the runner needs, with the stage's own secret and parameter for the others; `path`
    /// is the stage file's, for the error when a digest does not read.
    pub fn to_many(
        &self,
        file: &StageFile,
        path: &Path,
    ) -> Result<crate::targets::ManySecrets, StageFileError> {
        let counts = |b: &std::collections::BTreeMap<String, String>| {
            b.iter()
                .filter_map(|(n, v)| n.parse().ok().map(|n: u32| (n, v.clone())))
                .collect()
        };
        let digests = self
            .digests
            .iter()
            .enumerate()
            .map(|(i, d)| {
                Digest::from_hex(d).map_err(|why| StageFileError {
                    path: path.to_owned(),
                    message: format!("many.digests[{i}]: {why}"),
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(crate::targets::ManySecrets {
            secret_ids: self.secret_ids.clone(),
            parameter_names: self.parameter_names.clone(),
            digests,
            secret_bundles: counts(&self.secret_bundles),
            parameter_bundles: counts(&self.parameter_bundles),
            single_secret_id: file.secret_arn.clone().unwrap_or_default(),
            single_parameter_name: file.parameter_name.clone().unwrap_or_default(),
        })
    }
}

/// A stage file (or the stack outputs it is made from) that does not read.
#[derive(Debug, thiserror::Error)]
#[error("{}: {message}", path.display())]
pub struct StageFileError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong.
    pub message: String,
}

/// Where the stage file of `stage` lives under `root`.
pub fn path(root: &Path, stage: &str) -> PathBuf {
    root.join(".secbench")
        .join("stages")
        .join(format!("{stage}.toml"))
}

/// [`path`], for a stage whose name keeps it inside `.secbench/stages/`.
fn checked_path(root: &Path, stage: &str) -> Result<PathBuf, StageFileError> {
    secbench_record::names::check("stage", stage).map_err(|e| StageFileError {
        path: root.join(".secbench").join("stages"),
        message: e.to_string(),
    })?;
    Ok(path(root, stage))
}

/// Reads the stage file of `stage`, if there is one.
pub fn load(root: &Path, stage: &str) -> Result<Option<StageFile>, StageFileError> {
    let path = checked_path(root, stage)?;
    match std::fs::read_to_string(&path) {
        Ok(text) => toml::from_str(&text).map(Some).map_err(|e| StageFileError {
            path,
            message: e.to_string(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StageFileError {
            path,
            message: e.to_string(),
        }),
    }
}

/// Writes the stage file of `stage` (creating `.secbench/stages/`); returns its path.
pub fn save(root: &Path, stage: &str, file: &StageFile) -> Result<PathBuf, StageFileError> {
    let path = checked_path(root, stage)?;
    let fail = |message: String| StageFileError {
        path: path.clone(),
        message,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| fail(e.to_string()))?;
    }
    let text = toml::to_string(file).map_err(|e| fail(e.to_string()))?;
    std::fs::write(&path, format!("# Written by `secbench provision --outputs`; the deploy script keeps it current.\n{text}"))
        .map_err(|e| fail(e.to_string()))?;
    Ok(path)
}

/// One CloudFormation output as `describe-stacks` prints it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Output {
    output_key: String,
    output_value: String,
}

/// Makes a stage file from the stack's outputs: the JSON of
/// `aws cloudformation describe-stacks --query 'Stacks[0].Outputs'` (a list of
/// `{OutputKey, OutputValue}`), or the whole `describe-stacks` answer.
pub fn from_outputs(path: &Path, stack_name: Option<&str>) -> Result<StageFile, StageFileError> {
    let fail = |message: String| StageFileError {
        path: path.to_path_buf(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| fail(format!("not JSON: {e}")))?;
    let list = match &value {
        serde_json::Value::Array(_) => value.clone(),
        _ => value.pointer("/Stacks/0/Outputs").cloned().ok_or_else(|| {
            fail(
                "neither a list of outputs nor a describe-stacks answer with Stacks[0].Outputs"
                    .into(),
            )
        })?,
    };
    let outputs: Vec<Output> = serde_path_to_error::deserialize(list)
        .map_err(|e| fail(format!("outputs{}: {}", e.path(), e.inner())))?;
    let get = |k: &str| {
        outputs
            .iter()
            .find(|o| o.output_key == k)
            .map(|o| o.output_value.clone())
            .filter(|v| !v.is_empty())
    };
    let required = |k: &str| {
        get(k).ok_or_else(|| {
            fail(format!(
                "output {k} is missing: is this the secbench stack (scripts/template.yaml)?"
            ))
        })
    };
    Ok(StageFile {
        function: required("FunctionName")?,
        region: required("Region")?,
        extension_layer_arn: get("ExtensionLayerArn"),
        stack_name: stack_name.map(str::to_owned),
        key_arn: Some(required("KeyArn")?),
        secret_arn: Some(required("SecretArn")?),
        parameter_name: Some(required("ParameterName")?),
        architecture: get("Architecture"),
        log_group: get("LogGroupName"),
        many: None,
        functions: RUNTIME_OUTPUTS
            .iter()
            .filter_map(|(function, runtime, before)| {
                let f = get(function)?;
                let runtime = match get(runtime) {
                    None => Ok(*before),
                    Some(r) => r.parse::<Runtime>().map_err(|_| {
                        fail(format!(
                            "output {runtime}: `{r}` is not a runtime secbench knows"
                        ))
                    }),
                };
                Some(runtime.map(|r| (r, f)))
            })
            .collect::<Result<_, _>>()?,
        capacity_provider_arn: get("CapacityProviderArn"),
        results_bucket: get("ResultsBucketName"),
        state_machine_arn: get("RunStateMachineArn"),
        managed_functions: MANAGED_OUTPUTS
            .iter()
            .filter_map(|(output, runtime)| {
                let f = get(output)?;
                let runtime = match runtime.and_then(get) {
                    None if runtime.is_none() => Ok(Runtime::Rust),
                    None => Ok(Runtime::Python313),
                    Some(r) => r.parse::<Runtime>().map_err(|_| {
                        fail(format!(
                            "output PythonRuntime: `{r}` is not a runtime secbench knows"
                        ))
                    }),
                };
                Some(runtime.map(|r| (r, f)))
            })
            .collect::<Result<_, _>>()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stage_name_cannot_leave_the_stages_folder() {
        let root = tempfile::tempdir().expect("tempdir");
        let file = StageFile {
            function: "f".into(),
            region: "us-east-1".into(),
            ..StageFile::default()
        };
        for stage in ["..", "../../escape", "/tmp/x", "", "a/b", &"s".repeat(65)] {
            let e = save(root.path(), stage, &file).expect_err(stage);
            assert!(e.message.contains("stage name"), "{stage}: {e}");
            assert!(load(root.path(), stage).is_err(), "{stage}");
        }
        assert!(
            !root.path().join(".secbench").exists(),
            "nothing was written"
        );
        let saved = save(root.path(), "dev", &file).expect("a good name");
        assert_eq!(saved, root.path().join(".secbench/stages/dev.toml"));
        assert_eq!(load(root.path(), "dev").expect("reads"), Some(file));
    }

    #[test]
    fn each_runtime_scenario_gets_the_stages_function_of_its_runtime() {
        let root = tempfile::tempdir().expect("tempdir");
        let file = StageFile {
            function: "secbench-probe-dev".into(),
            region: "us-east-1".into(),
            functions: [
                (Runtime::Nodejs22, "secbench-probe-dev-node".to_owned()),
                (Runtime::Python313, "secbench-probe-dev-python".to_owned()),
            ]
            .into(),
            ..StageFile::default()
        };
        save(root.path(), "dev", &file).expect("save");
        let text = std::fs::read_to_string(root.path().join(".secbench/stages/dev.toml"))
            .expect("written");
        assert!(
            text.contains("\"nodejs22.x\" = \"secbench-probe-dev-node\""),
            "{text}"
        );
        let read = load(root.path(), "dev").expect("reads").expect("present");
        assert_eq!(read, file);
        let plan_path = root.path().join("plan.toml");
        std::fs::write(
            &plan_path,
            r#"
[[scenario]]
name = "ssm"
source = "ssm"
runtime = ["rust", "nodejs22.x", "python3.13"]
[[scenario]]
name = "own"
source = "ssm"
runtime = "python3.13"
function = "my-python-function"
"#,
        )
        .expect("plan");
        let mut plan = crate::plan::Plan::load(&plan_path).expect("plan");
        assign_runtime_functions(&mut plan.scenarios, &read.functions).expect("assigned");
        let functions: Vec<Option<&str>> = plan
            .scenarios
            .iter()
            .map(|s| s.function.as_deref())
            .collect();
        assert_eq!(
            functions,
            [
                None,
                Some("secbench-probe-dev-node"),
                Some("secbench-probe-dev-python"),
                Some("my-python-function")
            ]
        );
        let mut again = crate::plan::Plan::load(&plan_path).expect("plan");
        let only_node = [(Runtime::Nodejs22, "n".to_owned())].into();
        let e = assign_runtime_functions(&mut again.scenarios, &only_node).expect_err("no python");
        assert!(e.contains("ssm-python") && e.contains("python3.13"), "{e}");
    }
}
