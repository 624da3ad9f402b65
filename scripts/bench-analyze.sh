#!/usr/bin/env bash
# The analyzer's performance, side by side on the same generated file: `secbench analyze`
# against DuckDB's one-metric group-by (paired, alternating runs), `secbench report` with its
# peak memory, and pandas + numpy (which also checks the percentiles). Installs pandas, numpy
# and duckdb (pinned) into .venv/, builds secbench and the record generator in release mode,
# then runs scripts/bench_analyze.py. Counts: default 1M (1.42 GB; the paired runs, the report
# and pandas) and 10M (secbench only; about 14 GB, deleted after). Run it on a quiet machine.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
scripts/install-moto.sh
.venv/bin/python -m pip install --quiet --disable-pip-version-check "pandas==2.3.3" "numpy==2.3.5" "duckdb==2.0.1"
# The generator is a crate of its own (formats and random draws only): built beside the CLI
# it compiles nothing the CLI's release build has not.
cargo build --release --locked -p secbench --bin secbench -p secbench-gen-records --bin gen-records
target="${CARGO_TARGET_DIR:-$root/target}"
counts=("${@:-1000000 10000000}")
# shellcheck disable=SC2068
.venv/bin/python scripts/bench_analyze.py "$target/release/secbench" "$target/release/gen-records" "$target/bench-analyze" ${counts[@]}
