#!/usr/bin/env bash
# Installs the template checkers into the project-local, git-ignored venv `.venv/`: cfn-lint,
# checkov, and aws-sam-translator (what CloudFormation runs to transform the SAM template;
# scripts/check_template.py uses it). Idempotent: pinned versions, skipped when present.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/.venv"
cfn_lint="1.58.0"
checkov="3.3.30"
sam_translator="1.115.0"
"$root/scripts/install-moto.sh"
if "$venv/bin/python" - "$cfn_lint" "$checkov" "$sam_translator" <<'PY' 2>/dev/null; then
import sys
from importlib.metadata import version
want = dict(zip(["cfn-lint", "checkov", "aws-sam-translator"], sys.argv[1:]))
sys.exit(any(version(k) != v for k, v in want.items()))
PY
  exit 0
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
  "cfn-lint==$cfn_lint" "checkov==$checkov" "aws-sam-translator==$sam_translator"
echo "cfn-lint $cfn_lint, checkov $checkov, aws-sam-translator $sam_translator installed in $venv" >&2
