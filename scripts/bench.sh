#!/usr/bin/env bash
# Builds the release probe and the hello-world baseline, prints their stripped sizes, then runs
# every criterion benchmark (instrumentation overhead, cache hits, cold init).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
target="${CARGO_TARGET_DIR:-$root/target}"
cargo build --release --locked -p bench-lambda --bin bench-lambda --example hello
echo "stripped release sizes (profile.release has strip = true):"
for bin in "$target/release/bench-lambda" "$target/release/examples/hello"; do
  printf '  %-40s %s bytes\n' "${bin#$target/}" "$(stat -c %s "$bin")"
done
cargo bench --locked -p secbench-benches "$@"
