#!/usr/bin/env python3
"""Checks scripts/template.yaml beyond what cfn-lint and checkov see.

1. Transforms the SAM template with aws-sam-translator (what CloudFormation runs) and checks the
   probe function's critical properties in the transformed AWS::Lambda::Function.
2. Reads every IAM policy statement (role inline policies, AWS::IAM::Policy and
   AWS::IAM::ManagedPolicy resources) and fails if a KMS, Secrets Manager or SSM action is
   granted on "*" or on a wildcard other than the stage's parameter path, or if such an action
   is itself a wildcard; and if lambda:PassCapacityProvider is granted on anything but the
   stage's capacity provider.
3. Runs inside AWS: every IAM action named (no wildcard action anywhere but the bucket
   policy's deny), every state machine, driver and schedule permission on the stage's own
   resources; the state machine's tasks (scripts/statemachine/run.asl.json) invoke the driver and
   nothing else, and the driver has the template's expected properties.
4. SnapStart: on the Python probe only (the runtimes AWS's SnapStart pages name: Java 11+,
   Python 3.12+, .NET 8+; not provided.al2023 or Node.js, not on a capacity provider), on its
   published versions only and only with SnapStart=true; a version or alias of it exists only
   with SnapStart=true (a published SnapStart version's snapshot is billed while it exists),
   and no provisioned concurrency is configured on it (SnapStart does not support it).

Usage: check_template.py [TEMPLATE]   (exit 0: all good; 1: problems, each printed on a line)
"""
import copy
import json
import os
import sys

from cfnlint.decode import cfn_yaml
from samtranslator.model.exceptions import InvalidDocumentException
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

SECRET_SERVICES = ("kms:", "secretsmanager:", "ssm:")


class NoManagedPolicies:
    """The template names no managed policies; the translator must not call IAM."""

    def load(self):
        return {}


def transform(template):
    # The translator looks the region up in the environment; no AWS call is made.
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    template = copy.deepcopy(template)
    # `sam deploy` uploads the local CodeUri and rewrites it to S3 before the transform.
    for r in template["Resources"].values():
        if r.get("Type") == "AWS::Serverless::Function":
            r["Properties"]["CodeUri"] = "s3://secbench-artifacts/bench-lambda.zip"
        if r.get("Type") == "AWS::Serverless::StateMachine":
            r["Properties"]["DefinitionUri"] = "s3://secbench-artifacts/run.asl.json"
    translator = Translator(NoManagedPolicies(), Parser())
    return translator.translate(
        template,
        parameter_values={"AWS::Region": "us-east-1", "AWS::AccountId": "123456789012", "AWS::Partition": "aws"},
    )


def as_list(v):
    return v if isinstance(v, list) else [v]


def statements(resources):
    """(where, statement) for every IAM policy statement outside key policies."""
    for name, r in resources.items():
        props = r.get("Properties", {})
        if r.get("Type") == "AWS::IAM::Role":
            for p in props.get("Policies", []):
                for i, s in enumerate(as_list(p["PolicyDocument"]["Statement"])):
                    yield f"{name}.Policies[{p.get('PolicyName')}].Statement[{i}]", s
        if r.get("Type") in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            for i, s in enumerate(as_list(props["PolicyDocument"]["Statement"])):
                yield f"{name}.Statement[{i}]", s


def resource_text(res):
    """A resource as text: literal strings as they are, intrinsic functions as their source."""
    if isinstance(res, str):
        return res
    if isinstance(res, dict) and len(res) == 1:
        (fn, arg), = res.items()
        if fn == "Fn::Sub":
            return arg if isinstance(arg, str) else arg[0]
        if fn == "Fn::GetAtt":
            return ".".join(arg) if isinstance(arg, list) else str(arg)
        return f"{{{fn}}}"
    return str(res)


def check_least_privilege(resources):
    problems = []
    for where, s in statements(resources):
        if s.get("Effect") != "Allow":
            continue
        actions = [a for a in as_list(s.get("Action", [])) if a.lower().startswith(SECRET_SERVICES)]
        if not actions:
            continue
        # Wildcard actions: check_in_aws's one rule for every statement.
        if "NotResource" in s:
            problems.append(f"{where}: NotResource with {actions}")
        for res in as_list(s.get("Resource", [])):
            text = resource_text(res)
            # BatchGetSecretValue has no resource-level permissions: alone, on "*", it grants
            # nothing the scoped GetSecretValue does not (it returns only those secrets).
            if text == "*" and [a.lower() for a in actions] == ["secretsmanager:batchgetsecretvalue"]:
                continue
            if text == "*":
                problems.append(f"{where}: {', '.join(actions)} granted on *")
            elif "*" in text and not (
                (
                    all(a.lower().startswith("ssm:") for a in actions)
                    and text.endswith(":parameter/secbench/${Stage}/*")
                )
                or (
                    all(a.lower().startswith("secretsmanager:") for a in actions)
                    and (
                        text.endswith(":secret:secbench/${Stage}/many/*")
                        or text.endswith(":secret:secbench/${Stage}/bundle/*")
                    )
                )
            ):
                problems.append(f"{where}: {', '.join(actions)} granted on the wildcard {text}")
    return problems


def check_pass_capacity_provider(resources):
    """lambda:PassCapacityProvider puts a function on a capacity provider (on instances others'
    functions may share): granted on the stage's provider alone, never on "*" or a wildcard."""
    problems = []
    for where, s in statements(resources):
        if s.get("Effect") != "Allow":
            continue
        actions = [a.lower() for a in as_list(s.get("Action", []))]
        passes = any(
            a == "lambda:passcapacityprovider" or (a.endswith("*") and "lambda:passcapacityprovider".startswith(a[:-1]))
            for a in actions
        )
        if not passes:
            continue
        for res in as_list(s.get("Resource", [])):
            if res != {"Fn::GetAtt": ["ProbeCapacityProvider", "Arn"]}:
                problems.append(
                    f"{where}: lambda:PassCapacityProvider granted on {resource_text(res)}, not only the stage's capacity provider (ProbeCapacityProvider.Arn)"
                )
    return problems


def grants_decrypt(s):
    """Whether an Allow statement grants kms:Decrypt (named, or through a wildcard)."""
    return s.get("Effect") == "Allow" and any(
        a.lower() in ("kms:decrypt", "kms:*", "*") or (a.lower().startswith("kms:decrypt") and "*" in a)
        for a in as_list(s.get("Action", []))
    )


def condition_keys(s):
    """The condition keys of a statement, lower case (`kms:viaservice`, ...)."""
    return {k.lower() for conds in s.get("Condition", {}).values() for k in conds}


def check_key_policy(resources):
    """Key policies: no principal *, kms:* only for the account (which delegates to IAM), and
    no grant of kms:Decrypt to another principal unless it carries the conditions of one of the
    IAM statements that allow Decrypt: KMS allows a request that the key policy or IAM allows,
    so an unconditioned key-policy grant would cancel the IAM policy's conditions."""
    iam_conditions = [
        condition_keys(s) for _, s in statements(resources) if grants_decrypt(s) and condition_keys(s)
    ]
    problems = []
    for name, r in resources.items():
        if r.get("Type") != "AWS::KMS::Key":
            continue
        for i, s in enumerate(as_list(r["Properties"]["KeyPolicy"]["Statement"])):
            principal = s.get("Principal", {})
            if principal == "*" or (isinstance(principal, dict) and principal.get("AWS") == "*"):
                problems.append(f"{name}.KeyPolicy.Statement[{i}]: principal *")
            actions = as_list(s.get("Action", []))
            account_root = isinstance(principal, dict) and resource_text(principal.get("AWS", "")).endswith(":root")
            if "kms:*" in actions and not account_root:
                problems.append(f"{name}.KeyPolicy.Statement[{i}]: kms:* for a principal other than the account")
            if grants_decrypt(s) and not account_root:
                keys = condition_keys(s)
                if not any(wanted <= keys for wanted in iam_conditions):
                    stated = " or ".join(sorted(", ".join(sorted(w)) for w in iam_conditions)) or "none"
                    problems.append(
                        f"{name}.KeyPolicy.Statement[{i}] ({s.get('Sid', '')}): grants kms:Decrypt to "
                        f"{resource_text(principal.get('AWS', principal)) if isinstance(principal, dict) else principal} "
                        f"without the conditions its IAM policy states ({stated}): KMS allows what the key "
                        "policy or IAM allows, so this statement cancels them"
                    )
    return problems


# The probe in each runtime: (runtime, handler). The Node.js and Python probes' runtimes are
# parameters: the runtimes the probes and the plan know, the current one by default.
FUNCTIONS = {
    "ProbeFunction": ("provided.al2023", "bootstrap"),
    "ProbeFunctionNode": ({"Ref": "NodeRuntime"}, "index.handler"),
    "ProbeFunctionPython": ({"Ref": "PythonRuntime"}, "secbench_probe.handler"),
}
# The probes on the capacity provider (ManagedInstances=true): (runtime, handler, memory,
# GiB per vCPU). Lambda Managed Instances need 2 GB and a whole vCPU at least.
MANAGED_FUNCTIONS = {
    "ProbeFunctionManaged": ("provided.al2023", "bootstrap", 2048, 2),
    "ProbeFunctionManagedPython": ({"Ref": "PythonRuntime"}, "secbench_probe.handler", 4096, 4),
    "ProbeFunctionManagedNode": ({"Ref": "NodeRuntime"}, "index.handler", 4096, 4),
}
RUNTIME_PARAMETERS = {
    "NodeRuntime": (["nodejs22.x", "nodejs24.x"], "nodejs24.x"),
    "PythonRuntime": (["python3.13", "python3.14"], "python3.14"),
}


def check_function(transformed):
    problems = []
    functions = {n: r for n, r in transformed["Resources"].items() if r["Type"] == "AWS::Lambda::Function"}
    expected = sorted([*FUNCTIONS, *MANAGED_FUNCTIONS, "DriverFunction"])
    if sorted(functions) != expected:
        return [f"expected the functions {expected}, found {sorted(functions)}"]
    for name, (runtime, handler, memory, ratio) in MANAGED_FUNCTIONS.items():
        r = functions[name]
        p = r["Properties"]
        expect = {
            "Runtime": runtime,
            "Handler": handler,
            "Architectures": [{"Ref": "Architecture"}],
            "MemorySize": memory,
            "Role": {"Fn::GetAtt": ["ProbeRole", "Arn"]},
            "LoggingConfig": {"LogGroup": {"Ref": "ProbeLogGroup"}, "LogFormat": "Text"},
            "CapacityProviderConfig": {
                "LambdaManagedInstancesCapacityProviderConfig": {
                    "CapacityProviderArn": {"Fn::GetAtt": ["ProbeCapacityProvider", "Arn"]},
                    "PerExecutionEnvironmentMaxConcurrency": 8,
                    "ExecutionEnvironmentMemoryGiBPerVCpu": ratio,
                }
            },
        }
        for k, v in expect.items():
            if p.get(k) != v:
                problems.append(f"{name}.{k} is {p.get(k)!r}, expected {v!r}")
        if r.get("Condition") != "WithManagedInstances":
            problems.append(f"{name} must exist only with ManagedInstances=true (Condition WithManagedInstances)")
    for name, (runtime, handler) in FUNCTIONS.items():
        p = functions[name]["Properties"]
        expect = {
            "Runtime": runtime,
            "Handler": handler,
            "Architectures": [{"Ref": "Architecture"}],
            "MemorySize": {"Ref": "MemorySize"},
            "Timeout": {"Ref": "Timeout"},
            "Role": {"Fn::GetAtt": ["ProbeRole", "Arn"]},
            "ReservedConcurrentExecutions": {"Ref": "ReservedConcurrency"},
            "LoggingConfig": {"LogGroup": {"Ref": "ProbeLogGroup"}, "LogFormat": "Text"},
        }
        for k, v in expect.items():
            if p.get(k) != v:
                problems.append(f"{name}.{k} is {p.get(k)!r}, expected {v!r}")
        env = p.get("Environment", {}).get("Variables", {})
        for k in ("SECBENCH_PLAINTEXT", "SECBENCH_CIPHERTEXT", "SECBENCH_EXPECTED_SHA256"):
            if k in env:
                problems.append(f"{name}.Environment sets {k}: values come from `secbench provision`, never the template")
    if transformed["Parameters"]["Architecture"].get("Default") != "arm64":
        problems.append("the Architecture parameter must default to arm64")
    for name, (allowed, default) in RUNTIME_PARAMETERS.items():
        p = transformed["Parameters"].get(name, {})
        if p.get("AllowedValues") != allowed or p.get("Default") != default:
            problems.append(f"the {name} parameter must allow {allowed} and default to {default}")
    return problems


IN_AWS_ROLES = ("DriverRole", "RunStateMachineRole", "RunScheduleRole")


def tasks(states):
    """Every Task state of an ASL definition, nested Map processors included."""
    for name, state in states.items():
        if state.get("Type") == "Task":
            yield name, state
        for key in ("ItemProcessor", "Iterator"):
            if key in state:
                yield from tasks(state[key]["States"])
        for branch in state.get("Branches", []):
            yield from tasks(branch["States"])


def check_in_aws(template, transformed, path):
    resources = transformed["Resources"]
    problems = []
    for where, s in statements(resources):
        if s.get("Effect") != "Allow":
            continue
        for a in as_list(s.get("Action", [])):
            if "*" in a:
                problems.append(f"{where}: action {a} is a wildcard; name the operations")
        if where.split(".")[0] in IN_AWS_ROLES:
            for res in as_list(s.get("Resource", [])):
                if resource_text(res) == "*":
                    problems.append(f"{where}: {', '.join(as_list(s.get('Action', [])))} granted on *")
    for name in IN_AWS_ROLES + ("DriverFunction", "ResultsBucket", "RunStateMachine"):
        r = resources.get(name)
        if r is None:
            problems.append(f"{name} is missing: InAws=true must create it")
        elif r.get("Condition") not in ("WithInAws", "WithSchedule"):
            problems.append(f"{name} must exist only with InAws=true (Condition WithInAws)")
    driver = resources.get("DriverFunction", {}).get("Properties", {})
    for k, v in {"Runtime": "provided.al2023", "Handler": "bootstrap", "Timeout": 900, "MemorySize": 1024, "Role": {"Fn::GetAtt": ["DriverRole", "Arn"]}}.items():
        if driver.get(k) != v:
            problems.append(f"DriverFunction.{k} is {driver.get(k)!r}, expected {v!r}")
    machine = template["Resources"].get("RunStateMachine", {}).get("Properties", {})
    if machine.get("DefinitionSubstitutions") != {"DriverArn": {"Fn::GetAtt": ["DriverFunction", "Arn"]}}:
        problems.append("RunStateMachine.DefinitionSubstitutions must map DriverArn to DriverFunction.Arn and nothing else")
    uri = machine.get("DefinitionUri", "")
    asl = os.path.join(os.path.dirname(os.path.abspath(path)), uri)
    try:
        with open(asl) as f:
            definition = json.load(f)
    except (OSError, ValueError) as e:
        return problems + [f"RunStateMachine.DefinitionUri {uri}: {e}"]
    for name, state in tasks(definition["States"]):
        params = state.get("Parameters", {})
        if state.get("Resource") != "arn:aws:states:::lambda:invoke" or params.get("FunctionName") != "${DriverArn}":
            problems.append(f"{uri}: task {name} invokes {state.get('Resource')} {params.get('FunctionName')!r}, not the driver")
    return problems


SNAPSTART_FUNCTION = "ProbeFunctionPython"
SNAPSTART_SETTING = {"Fn::If": ["WithSnapStart", {"ApplyOn": "PublishedVersions"}, {"Ref": "AWS::NoValue"}]}


def refers_to(value, name):
    """Whether a property names the resource `name` (Ref or GetAtt)."""
    return value == {"Ref": name} or (isinstance(value, dict) and value.get("Fn::GetAtt", [None])[0] == name)


def check_snapstart(transformed):
    resources = transformed["Resources"]
    problems = []
    if transformed["Parameters"].get("SnapStart", {}).get("Default") != "false":
        problems.append("the SnapStart parameter must default to \"false\" (a published snapshot is billed)")
    for name, r in resources.items():
        p = r.get("Properties", {})
        if r["Type"] == "AWS::Lambda::Function" and "SnapStart" in p:
            if name != SNAPSTART_FUNCTION:
                problems.append(f"{name}.SnapStart: SnapStart is for the Python probe only ({SNAPSTART_FUNCTION})")
            elif p["SnapStart"] != SNAPSTART_SETTING:
                problems.append(f"{name}.SnapStart is {p['SnapStart']!r}, expected {SNAPSTART_SETTING!r}")
        if r["Type"] in ("AWS::Lambda::Version", "AWS::Lambda::Alias") and refers_to(p.get("FunctionName"), SNAPSTART_FUNCTION):
            if r.get("Condition") != "WithSnapStart":
                problems.append(f"{name}: a version or alias of {SNAPSTART_FUNCTION} must exist only with SnapStart=true (Condition WithSnapStart): its snapshot is billed while it exists")
            if "ProvisionedConcurrencyConfig" in p:
                problems.append(f"{name}.ProvisionedConcurrencyConfig: SnapStart does not support provisioned concurrency")
    if "SnapStart" not in resources.get(SNAPSTART_FUNCTION, {}).get("Properties", {}):
        problems.append(f"{SNAPSTART_FUNCTION}.SnapStart is missing: SnapStart=true must turn it on")
    return problems


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "scripts/template.yaml"
    template = cfn_yaml.load(path)
    try:
        transformed = transform(template)
    except InvalidDocumentException as e:
        print(f"{path}: SAM transform failed: {e}")
        return 1
    problems = check_least_privilege(transformed["Resources"]) + check_key_policy(transformed["Resources"])
    problems += check_pass_capacity_provider(transformed["Resources"])
    problems += check_function(transformed)
    problems += check_snapstart(transformed)
    problems += check_in_aws(template, transformed, path)
    for p in problems:
        print(f"{path}: {p}")
    if not problems:
        n = sum(1 for _ in statements(transformed["Resources"]))
        print(f"{path}: transformed; {n} IAM statements checked, none grants a secret or key action on * (BatchGetSecretValue alone excepted: it names no secret)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
