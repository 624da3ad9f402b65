#!/usr/bin/env bash
# Builds the probe as a Lambda package with cargo-lambda: scripts/build-lambda.sh [arm64|x86_64]
# (default arm64). Installs what the cross build needs into git-ignored folders (cargo-lambda
# and zig from PyPI into .venv/; the Rust target with rustup), then copies the `bootstrap`
# to scripts/.build/bench-lambda/, where scripts/template.yaml's CodeUri points.
# Not run by the test command: a cold cross build takes several minutes (see scripts/README.md).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
arch="${1:-arm64}"
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
cd "$root"
cargo lambda build --release --locked "$flag" -p bench-lambda --bin bench-lambda
out="$root/scripts/.build/bench-lambda"
mkdir -p "$out"
cp "$target_dir/lambda/bench-lambda/bootstrap" "$out/bootstrap"
size=$(stat -c %s "$out/bootstrap")
zipped=$(cd "$out" && "$root/.venv/bin/python" -c "
import io, zipfile
b = io.BytesIO()
with zipfile.ZipFile(b, 'w', zipfile.ZIP_DEFLATED) as z:
    z.write('bootstrap')
print(len(b.getvalue()))")
echo "built $out/bootstrap ($arch): $size bytes, $zipped bytes zipped (the deployment package)"
