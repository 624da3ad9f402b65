#!/usr/bin/env bash
# Installs the agent that stands in for the Parameters and Secrets Lambda Extension on the local
# stage: the AWS Workload Credentials Provider (crates.io `aws_workload_credentials_provider`,
# the Secrets Manager Agent's successor; it serves the extension's protocol on localhost) into
# the project-local, git-ignored folder `.tools/agent/`. Its version is pinned once, in
# local-lambda/src/agent.rs. About 5 minutes on 2 cores the first time; reuses CARGO_TARGET_DIR
# when it is set.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/.tools/agent"
pin="$root/local-lambda/src/agent.rs"
crate="$(sed -n 's/^pub const CRATE: &str = "\(.*\)";$/\1/p' "$pin")"
version="$(sed -n 's/^pub const VERSION: &str = "\(.*\)";$/\1/p' "$pin")"
if [ -z "$crate" ] || [ -z "$version" ]; then
  echo "install-agent.sh: cannot read CRATE and VERSION from $pin" >&2
  exit 1
fi
bin="$dest/bin/aws-workload-credentials-provider"
if [ -x "$bin" ] && [ -f "$dest/.version" ] && [ "$(cat "$dest/.version")" = "$version" ]; then
  exit 0
fi
mkdir -p "$dest"
cargo install --quiet --locked --root "$dest" --version "$version" "$crate"
echo "$version" > "$dest/.version"
echo "$crate $version installed in $dest" >&2
