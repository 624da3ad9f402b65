#!/usr/bin/env bash
# Deploys the probe for one stage: scripts/deploy.sh STAGE [--x86-64] [--extension-layer ARN]
#   [--value-stdin | --new-value] [--plain-env-baseline]
#   [--node-runtime nodejs22.x|nodejs24.x] [--python-runtime python3.13|python3.14]
#   [--managed-instances --subnets subnet-a,subnet-b,subnet-c --security-groups sg-x]
#   [--snapstart]   (the Python probe with SnapStart, a version and its alias `snapstart`)
#   [--in-aws [--schedule 'cron(0 6 * * ? *)']]   (runs inside AWS: docs/in-aws.md)
#   (the Node.js and Python probes' runtimes; default the current ones, nodejs24.x and python3.14)
# 1. builds the probe with cargo-lambda (scripts/build-lambda.sh), arm64 unless --x86-64, and
#    packages the Node.js and Python probes from their lock files (scripts/build-probes.sh);
# 2. deploys scripts/template.yaml with `sam deploy --config-env STAGE` (scripts/samconfig.toml;
#    a stage without its own section there gets stack secbench-STAGE in $AWS_REGION);
# 3. writes the stage file .secbench/stages/STAGE.toml from the stack's outputs and fills in
#    what CloudFormation cannot create (`secbench provision`): the SecureString parameter and
#    the KMS ciphertext. The value is the secret's generated one unless --value-stdin (read from
#    standard input) or --new-value; it is never an argument and never printed. Each of the three
#    functions (Rust, Node.js, Python) gets its own ciphertext: the encryption context is its name.
# Then: secbench run --stage STAGE --plan PLAN
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
usage() { sed -n '2,7p' "$0" >&2; exit 2; }
[ $# -ge 1 ] || usage
stage="$1"; shift
[[ "$stage" =~ ^[a-z][a-z0-9-]{0,19}$ ]] || { echo "deploy.sh: stage '$stage' must match ^[a-z][a-z0-9-]{0,19}\$" >&2; exit 2; }
arch="arm64"; layer=""; provision_args=(); node_runtime="nodejs24.x"; python_runtime="python3.14"
managed="false"; subnets=""; security_groups=""; snapstart="false"; in_aws="false"; schedule=""
while [ $# -gt 0 ]; do
  case "$1" in
    --x86-64) arch="x86_64" ;;
    --arm64) arch="arm64" ;;
    --extension-layer) layer="${2:?--extension-layer needs an ARN}"; shift ;;
    --node-runtime) node_runtime="${2:?--node-runtime needs nodejs22.x or nodejs24.x}"; shift ;;
    --python-runtime) python_runtime="${2:?--python-runtime needs python3.13 or python3.14}"; shift ;;
    --value-stdin|--new-value|--plain-env-baseline) provision_args+=("$1") ;;
    # Lambda Managed Instances: a capacity provider in these subnets and the probes on it.
    --managed-instances) managed="true" ;;
    --snapstart) snapstart="true" ;;
    --in-aws) in_aws="true" ;;
    --schedule) schedule="${2:?--schedule needs an EventBridge Scheduler expression}"; shift ;;
    --subnets) subnets="${2:?--subnets needs subnet ids, comma-separated}"; shift ;;
    --security-groups) security_groups="${2:?--security-groups needs security group ids, comma-separated}"; shift ;;
    *) echo "deploy.sh: unknown option $1" >&2; usage ;;
  esac
  shift
done
if [ -n "$schedule" ] && [ "$in_aws" != "true" ]; then
  echo "deploy.sh: --schedule needs --in-aws (the schedule starts the stage's state machine)" >&2; exit 2
fi
if [ "$managed" = "true" ] && { [ -z "$subnets" ] || [ -z "$security_groups" ]; }; then
  echo "deploy.sh: --managed-instances needs --subnets and --security-groups (the capacity provider's instances run there)" >&2; exit 2
fi
for tool in aws sam cargo rustup python3 npm; do
  command -v "$tool" >/dev/null || { echo "deploy.sh: $tool is not installed (see scripts/README.md, Prerequisites)" >&2; exit 1; }
done
cd "$root"
"$root/scripts/build-lambda.sh" "$arch"
# The driver's package: built for InAws=true; else a placeholder (SAM packages every CodeUri,
# and the function is not created).
if [ "$in_aws" = "true" ]; then
  "$root/scripts/build-lambda.sh" "$arch" --driver
else
  mkdir -p "$root/scripts/.build/driver" && echo "InAws=false: not deployed" > "$root/scripts/.build/driver/README"
fi
"$root/scripts/build-probes.sh" "$arch" "$python_runtime"

config=(--config-file "$root/scripts/samconfig.toml")
if grep -q "^\[$stage\.deploy\.parameters\]" scripts/samconfig.toml; then
  config+=(--config-env "$stage")
  stack=$(sed -n "/^\[$stage\.deploy\.parameters\]/,/^\[/s/^stack_name = \"\(.*\)\"/\1/p" scripts/samconfig.toml)
  region=$(sed -n "/^\[$stage\.deploy\.parameters\]/,/^\[/s/^region = \"\(.*\)\"/\1/p" scripts/samconfig.toml)
else
  stack="secbench-$stage"
  region="${AWS_REGION:?no [$stage.deploy.parameters] in scripts/samconfig.toml: set AWS_REGION}"
  config+=(--stack-name "$stack" --region "$region" --capabilities CAPABILITY_IAM --resolve-s3 --no-confirm-changeset --no-fail-on-empty-changeset)
fi
overrides=("Stage=$stage" "Architecture=$arch" "NodeRuntime=$node_runtime" "PythonRuntime=$python_runtime")
[ -n "$layer" ] && overrides+=("ExtensionLayerArn=$layer")
[ "$snapstart" = "true" ] && overrides+=("SnapStart=true")
[ "$in_aws" = "true" ] && overrides+=("InAws=true" "RunSchedule=$schedule")
if [ "$managed" = "true" ]; then
  overrides+=("ManagedInstances=true" "ManagedSubnetIds=$subnets" "ManagedSecurityGroupIds=$security_groups")
fi
sam deploy --template-file "$root/scripts/template.yaml" "${config[@]}" --region "$region" \
  --parameter-overrides "${overrides[@]}"

outputs="$(mktemp)"; trap 'rm -f "$outputs"' EXIT
aws cloudformation describe-stacks --stack-name "$stack" --region "$region" --output json > "$outputs"
secbench=(cargo run --quiet --release --locked -p secbench --)
"${secbench[@]}" provision --stage "$stage" --outputs "$outputs" --stack-name "$stack" "${provision_args[@]}"
echo "deployed stage $stage ($stack in $region, $arch). Next: secbench run --stage $stage --plan PLAN"
