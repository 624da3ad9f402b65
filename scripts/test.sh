#!/usr/bin/env bash
# The test command: installs what the tests need (moto, cfn-lint and checkov into .venv/,
# Debian's chromium for the report's browser test), then runs every test of the workspace.
# Extra arguments go to cargo test.
#   scripts/test.sh --quick   unit tests and the tests on fixture files only: installs nothing,
#                             starts nothing (the inner loop); CI runs the full command.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
if [ "${1:-}" = "--quick" ]; then
  shift
  cargo test --workspace --locked --lib "$@"
  cargo test --locked -p secbench-analyzer --tests "$@"
  cargo test --locked -p secbench --test analyze --test cost --test bad_input "$@"
  exit 0
fi
scripts/install-moto.sh
scripts/install-iac-lint.sh
scripts/install-chromium.sh
# No secret-like string outside the reviewed baseline in any tracked file (installs
# detect-secrets into .tools/detect-secrets/, which a test also uses).
scripts/scan-secrets.sh
# The layering the crates promise (ARCHITECTURE.md): the formats and the analysis build no
# async runtime, HTTP stack or AWS SDK.
for crate in secbench-record secbench-analyzer; do
  if cargo tree --locked -p "$crate" -e normal --prefix none | grep -E '^(tokio|hyper|aws-[a-z-]+|aws_[a-z_]+) ' ; then
    echo "$crate depends on the crates above; it must not (ARCHITECTURE.md)" >&2
    exit 1
  fi
done
# The local-stage tests run the unchanged release probe, the agent and the probe builds the
# default plan asks for, built as `secbench local` builds them (the same command).
cargo run --release --locked -p secbench -- local --build-only
cargo test --workspace --locked "$@"
