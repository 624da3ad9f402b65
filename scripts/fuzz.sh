#!/usr/bin/env bash
# Fuzzes secbench's parsers with cargo-fuzz (libFuzzer), each target for a fixed time:
#   scripts/fuzz.sh [SECONDS_PER_TARGET]   (default 60)
# Targets (fuzz/fuzz_targets/): report_line (REPORT and platform.report lines), record (the
# strict record parser and the ingest path), plan (plan files). Seeds come from the test
# fixtures. Prints executions and crashes per target; a crash leaves its input under
# fuzz/artifacts/TARGET/ and makes the script fail. Installs cargo-fuzz into .tools/cargo-fuzz/.
# libFuzzer needs nightly flags; on the stable toolchain RUSTC_BOOTSTRAP=1 allows them.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
seconds="${1:-60}"
tools="$root/.tools/cargo-fuzz"
version="0.13.2"
if ! "$tools/bin/cargo-fuzz" --version 2>/dev/null | grep -q "$version"; then
  cargo install --quiet --locked --root "$tools" --version "$version" cargo-fuzz
fi
export PATH="$tools/bin:$PATH" RUSTC_BOOTSTRAP=1
# The instrumented build has its own target directory (CARGO_TARGET_DIR would mix flags).
export CARGO_TARGET_DIR="${SECBENCH_FUZZ_TARGET_DIR:-$root/fuzz/target}"
seed() {
  local target="$1"; shift
  mkdir -p "fuzz/corpus/$target"
  for f in "$@"; do
    # One seed per line for line-oriented inputs, the whole file otherwise.
    cp "$f" "fuzz/corpus/$target/$(basename "$f")"
  done
}
seed report_line record/tests/fixtures/logs/*.txt record/tests/fixtures/logs/*.jsonl
seed record analyzer/tests/fixtures/bad-records/*.jsonl
head -3 analyzer/tests/fixtures/runs/small/records.jsonl > fuzz/corpus/record/three-records.jsonl
seed plan record/tests/fixtures/plans/*.toml scripts/plans/*.toml
failed=0
for target in report_line record plan; do
  log="$(mktemp)"
  if cargo fuzz run --sanitizer none "$target" "fuzz/corpus/$target" -- \
      -max_total_time="$seconds" -max_len=65536 -print_final_stats=1 >"$log" 2>&1; then
    status="no crash"
  else
    status="CRASH (input in fuzz/artifacts/$target/)"
    failed=1
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  echo "$target: ${execs:-?} executions in ${seconds}s (${rate:-?}/s): $status"
  [ "$status" = "no crash" ] || tail -40 "$log"
  rm -f "$log"
done
exit "$failed"
