#!/usr/bin/env bash
# Scans every tracked file with detect-secrets against the committed baseline
# (.secrets.baseline): fails when a file holds a secret-like string the baseline does not list.
# The baseline lists reviewed false positives (the word "secret" in code, digests in fixtures).
# detect-secrets lives in its own venv, .tools/detect-secrets/: checkov ships a fork that
# installs the same Python package, so the two cannot share .venv/.
# After reviewing new findings: .tools/detect-secrets/bin/detect-secrets scan > .secrets.baseline
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
venv="$root/.tools/detect-secrets"
version="1.5.0"
if ! "$venv/bin/detect-secrets" --version 2>/dev/null | grep -qx "$version"; then
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "detect-secrets==$version"
  echo "detect-secrets $version installed in $venv" >&2
fi
git ls-files -z | xargs -0 "$venv/bin/detect-secrets-hook" --baseline .secrets.baseline
echo "detect-secrets: no secret outside the baseline in $(git ls-files | wc -l) tracked files"
