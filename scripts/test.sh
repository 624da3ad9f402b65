#!/usr/bin/env bash
# The test command: installs what the tests need (moto, cfn-lint and checkov into .venv/, the
# Secrets Manager Agent into .tools/agent/, Debian's chromium for the report's browser test),
# then runs every test of the workspace. Extra arguments go to cargo test.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
scripts/install-moto.sh
scripts/install-iac-lint.sh
scripts/install-agent.sh
scripts/install-chromium.sh
# No secret-like string outside the reviewed baseline in any tracked file (installs
# detect-secrets into .tools/detect-secrets/, which a test also uses).
scripts/scan-secrets.sh
# The local-stage tests run the unchanged release probe, as `secbench local` does.
cargo build --release --locked -p bench-lambda --bin bench-lambda
# The lean probe (without the aws-caching-library feature) must keep compiling.
cargo check --locked -p bench-lambda --no-default-features
cargo test --workspace --locked "$@"
