#!/usr/bin/env bash
# Builds the probe as a Lambda package with cargo-lambda:
#   scripts/build-lambda.sh [arm64|x86_64] [--no-jitter-entropy | --driver]
# (default arm64). Installs what the cross build needs into git-ignored folders (cargo-lambda
# and zig from PyPI into .venv/; the Rust target with rustup), then copies the `bootstrap`
# to scripts/.build/bench-lambda/, where scripts/template.yaml's CodeUri points.
# --no-jitter-entropy builds the probe with AWS_LC_SYS_NO_JITTER_ENTROPY=1 (aws-lc seeds its
# generator from the OS alone: no CPU jitter entropy at the first randomness) and its
# `no-jitter-entropy` feature (its build mark; bench-lambda/build.rs refuses one without the
# other), in a target directory of its own (cargo-lambda names both packages `bootstrap`), into
# scripts/.build/bench-lambda-no-jitter-entropy/: deploy it as its own function and name it in
# the plan's `probe_build = "no-jitter-entropy"` scenarios.
# --driver builds the driver of runs inside AWS instead (crate secbench-driver) into
# scripts/.build/driver/ (the template's DriverFunction, InAws=true).
# Not run by the test command: a cold cross build takes several minutes (see scripts/README.md).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
arch="arm64"
variant=""
features=()
for a in "$@"; do
  case "$a" in
    --no-jitter-entropy) variant="no-jitter-entropy" ;;
    --driver) variant="driver" ;;
    *) arch="$a" ;;
  esac
done
case "$arch" in
  arm64) flag="--arm64"; triple="aarch64-unknown-linux-gnu" ;;
  x86_64) flag="--x86-64"; triple="x86_64-unknown-linux-gnu" ;;
  *) echo "build-lambda.sh: architecture must be arm64 or x86_64, not '$arch'" >&2; exit 2 ;;
esac
"$root/scripts/install-moto.sh" # cargo-lambda
zig="0.17.1"
if ! "$root/.venv/bin/python" -c "from importlib.metadata import version; import sys; sys.exit(version('ziglang') != '$zig')" 2>/dev/null; then
  "$root/.venv/bin/python" -m pip install --quiet --disable-pip-version-check "ziglang==$zig"
fi
rustup target add "$triple" >/dev/null
export PATH="$root/.venv/bin:$PATH"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
out="$root/scripts/.build/bench-lambda"
package="bench-lambda"
if [ "$variant" = "driver" ]; then
  package="secbench-driver"
  out="$root/scripts/.build/driver"
elif [ -n "$variant" ]; then
  export AWS_LC_SYS_NO_JITTER_ENTROPY=1
  features=(--features "$variant")
  target_dir="$target_dir/variants/$variant"
  out="$root/scripts/.build/bench-lambda-$variant"
fi
cd "$root"
cargo lambda build --release --locked "$flag" -p "$package" --bin "$package" "${features[@]}" --target-dir "$target_dir"
mkdir -p "$out"
cp "$target_dir/lambda/$package/bootstrap" "$out/bootstrap"
[ "$variant" = "no-jitter-entropy" ] && echo "variant: $variant (AWS_LC_SYS_NO_JITTER_ENTROPY=1)"
size=$(stat -c %s "$out/bootstrap")
zipped=$(cd "$out" && "$root/.venv/bin/python" -c "
import io, zipfile
b = io.BytesIO()
with zipfile.ZipFile(b, 'w', zipfile.ZIP_DEFLATED) as z:
    z.write('bootstrap')
print(len(b.getvalue()))")
echo "built $out/bootstrap ($arch): $size bytes, $zipped bytes zipped (the deployment package)"
