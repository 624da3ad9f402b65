#!/usr/bin/env bash
# The analyzer's performance, side by side with pandas + numpy on the same generated file.
# Installs pandas and numpy (pinned) into .venv/, builds secbench and the record generator in
# release mode, then runs scripts/bench_analyze.py. Counts: default 1M (also through pandas)
# and 10M (secbench only; the file is about 13.5 GB and is deleted after).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
scripts/install-moto.sh
.venv/bin/python -m pip install --quiet --disable-pip-version-check "pandas==2.3.3" "numpy==2.3.5"
# The generator is a crate of its own (formats and random draws only): built beside the CLI
# it compiles nothing the CLI's release build has not.
cargo build --release --locked -p secbench --bin secbench -p secbench-gen-records --bin gen-records
target="${CARGO_TARGET_DIR:-$root/target}"
counts=("${@:-1000000 10000000}")
# shellcheck disable=SC2068
.venv/bin/python scripts/bench_analyze.py "$target/release/secbench" "$target/release/gen-records" "$target/bench-analyze" ${counts[@]}
