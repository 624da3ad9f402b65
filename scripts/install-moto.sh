#!/usr/bin/env bash
# Installs moto (the AWS API emulator) in server mode into the project-local,
# git-ignored venv `.venv/`. Idempotent: does nothing when the pinned version is there.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/.venv"
want="5.2.5"
if [ -x "$venv/bin/moto_server" ] && "$venv/bin/python" -c "import moto,sys; sys.exit(moto.__version__ != '$want')" 2>/dev/null; then
  exit 0
fi
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "moto[server]==$want"
echo "moto $want installed in $venv" >&2
