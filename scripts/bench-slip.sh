#!/usr/bin/env bash
# How late the runner sends open-loop invocations after their intended instant
# (`schedule_slip_ns`), at 1,000 invocations/s against the local platform
# (scripts/plans/slip.toml), on what should be an idle machine. Prints p50, p90, p99 and max
# of the slip and of the caller latency, and fails when the slip's p99 is above the target
# (default 100 µs; SECBENCH_SLIP_P99_US changes it).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
target_us="${SECBENCH_SLIP_P99_US:-100}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
cargo build --release --locked -p secbench --bin secbench -p bench-lambda --bin bench-lambda >&2
bin="${CARGO_TARGET_DIR:-$root/target}/release/secbench"
"$bin" local --plan scripts/plans/slip.toml --out-dir "$out" > "$out/local.txt"
run="$(ls -d "$out"/local/*/ | grep -v -- '-report/' | head -1)"
"$bin" analyze "$run" --format json --out "$out/summary.json"
python3 - "$out/summary.json" "$target_us" <<'PY'
import json, sys
summary = json.load(open(sys.argv[1]))
target_ns = float(sys.argv[2]) * 1000
failed = False
for g in summary["groups"]:
    m = g["metrics"]
    if g["phase"] != "warm" or "schedule_slip_ns" not in m:
        continue
    s, c = m["schedule_slip_ns"], m["caller_round_trip_ns"]
    us = lambda v: f"{v / 1000:.1f} µs"
    print(f"{g['scenario']} warm, {s['count']} invocations at 1,000/s:")
    print(f"  schedule slip  p50 {us(s['p50_ns'])}  p90 {us(s['p90_ns'])}  p99 {us(s['p99_ns'])}  max {us(s['max_ns'])}")
    print(f"  caller latency p50 {us(c['p50_ns'])}  p90 {us(c['p90_ns'])}  p99 {us(c['p99_ns'])}")
    if s["p99_ns"] > target_ns:
        print(f"  slip p99 is above the target of {us(target_ns)}")
        failed = True
sys.exit(1 if failed else 0)
PY
