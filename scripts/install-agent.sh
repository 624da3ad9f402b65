#!/usr/bin/env bash
# Installs the AWS Secrets Manager Agent (crates.io `aws_secretsmanager_agent`) into the
# project-local, git-ignored folder `.tools/agent/`. It is the open-source server of the
# protocol the Parameters and Secrets Lambda Extension speaks on localhost:2773.
# About 5 minutes on 2 cores the first time; reuses CARGO_TARGET_DIR when it is set.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/.tools/agent"
version="2.1.0"
bin="$dest/bin/aws_secretsmanager_agent"
if [ -x "$bin" ] && [ -f "$dest/.version" ] && [ "$(cat "$dest/.version")" = "$version" ]; then
  exit 0
fi
mkdir -p "$dest"
cargo install --quiet --locked --root "$dest" --version "$version" aws_secretsmanager_agent
echo "$version" > "$dest/.version"
echo "Secrets Manager Agent $version installed in $dest" >&2
