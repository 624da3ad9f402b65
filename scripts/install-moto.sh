#!/usr/bin/env bash
# Installs the Python tools of the local stage and the tests into the project-local,
# git-ignored venv `.venv/`: moto (the AWS API emulator, server mode) and cargo-lambda (whose
# `cargo lambda watch` the probe is tested under). Idempotent: pinned versions, skipped when present.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/.venv"
moto="5.2.5"
cargo_lambda="1.9.2"
if [ -x "$venv/bin/moto_server" ] && [ -x "$venv/bin/cargo-lambda" ] \
  && "$venv/bin/python" -c "import moto,sys; sys.exit(moto.__version__ != '$moto')" 2>/dev/null \
  && "$venv/bin/cargo-lambda" lambda --version 2>/dev/null | grep -q "$cargo_lambda"; then
  exit 0
fi
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "moto[server]==$moto" "cargo-lambda==$cargo_lambda"
echo "moto $moto and cargo-lambda $cargo_lambda installed in $venv" >&2
