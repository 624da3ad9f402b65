#!/usr/bin/env bash
# Checks that the README's main command compiles nothing twice (CI runs it):
# 1. after the CLI's own build (what `cargo run --release -p secbench` does first), the local
#    stage's build of the probe and the agent compiles no aws-* crate again: only the two
#    binaries are linked;
# 2. a second run on an unchanged checkout compiles nothing, neither `cargo run`'s build nor the
#    local stage's.
# It stops after the build (`secbench local --build-only`): no plan is run.
# 3. the probe's other builds a plan asks for (`probe_build = "no-jitter-entropy"` in the default
#    plan), when they are built (as root the local stage runs the default probe with
#    /dev/sysgenid instead and builds none), compile aws-lc-sys and the crates above it only
#    (built in the same target directory with their feature), and nothing on the second run.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
fail() { echo "check-build-once: $*" >&2; exit 1; }

# A field of the build report `secbench local --build-only --json` prints (its last line):
# `field compiled` the default build's crates, `field variants` lines `BUILD<TAB>crate, crate`.
field() {
  python3 -c '
import json, sys
r = json.loads(sys.stdin.read().strip().splitlines()[-1])
if sys.argv[1] == "compiled":
    print(", ".join(r["compiled"]) or "nothing")
else:
    for v in r["variants"]:
        if v["probe"] is not None:
            print(v["build"] + "\t" + (", ".join(v["compiled"]) or "nothing"))
' "$1"
}

cargo build --release --locked -p secbench
first="$(cargo run --quiet --release --locked -p secbench -- local --build-only --json)"
compiled="$(field compiled <<<"$first")"
echo "the local stage's build after the CLI's compiled: $compiled"
if grep -Eq '(^|, )aws[-_]' <<<"$compiled"; then
  fail "the probe's build after the CLI's compiled AWS crates again: $compiled"
fi
while IFS=$'\t' read -r build list; do
  echo "the $build build compiled: $list"
  [ "$list" = "nothing" ] && continue
  above="$(cargo tree --locked -p bench-lambda --features "bench-lambda/$build" -i aws-lc-sys \
    -e normal,build --prefix none --format '{p}' | sed 's/ v\([^ ]*\).*/ \1/' | sort -u)"
  tr ',' '\n' <<<"$list" | sed 's/^ *//' | while IFS= read -r crate; do
    [ -z "$crate" ] || grep -qxF "$crate" <<<"$above" \
      || fail "the $build build compiled $crate, which is not above aws-lc-sys: the default build's artifacts were not shared"
  done
done < <(field variants <<<"$first")

second="$(cargo run --release --locked -p secbench --message-format=json -- local --build-only --json)"
rebuilt="$(grep '"reason":"compiler-artifact"' <<<"$second" | grep '"fresh":false' || true)"
if [ -n "$rebuilt" ]; then
  fail "a second 'cargo run --release -p secbench' compiled again: $(grep -o '"package_id":"[^"]*"' <<<"$rebuilt" | tr '\n' ' ')"
fi
compiled="$(field compiled <<<"$second")"
[ "$compiled" = "nothing" ] || fail "the second run's probe build compiled: $compiled"
if field variants <<<"$second" | grep -v $'\tnothing$'; then
  fail "the second run's other probe builds compiled again (above)"
fi
echo "check-build-once: nothing compiled twice"
