#!/usr/bin/env bash
# Packages the Node.js and Python probes for Lambda's managed runtimes:
#   scripts/build-probes.sh [arm64|x86_64] [python3.13|python3.14]   (default arm64 python3.14)
# into scripts/.build/probe-node/ and scripts/.build/probe-python/, where scripts/template.yaml's
# CodeUris point. Only what the lock files pin goes in: `npm ci --omit=dev` from
# probes/node/package-lock.json (aws-lambda-ric is a development dependency: the managed
# runtime starts the handler itself), and `pip install --require-hashes` of
# probes/python/requirements.txt's wheels for the Python runtime on the architecture's manylinux
# platform. Every file gets the same timestamp, so the same locks make the same packages.
# Run by scripts/deploy.sh; not by the test command (it needs the registries' wheels for the
# target architecture).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
arch="${1:-arm64}"
python_runtime="${2:-python3.14}"
case "$python_runtime" in
  python3.13|python3.14) ;;
  *) echo "build-probes.sh: the Python runtime must be python3.13 or python3.14, not '$python_runtime'" >&2; exit 2 ;;
esac
case "$arch" in
  arm64) platform="manylinux2014_aarch64" ;;
  x86_64) platform="manylinux2014_x86_64" ;;
  *) echo "build-probes.sh: architecture must be arm64 or x86_64, not '$arch'" >&2; exit 2 ;;
esac
out="$root/scripts/.build"
node_out="$out/probe-node"
py_out="$out/probe-python"
rm -rf "$node_out" "$py_out"
mkdir -p "$node_out" "$py_out"

cp "$root/probes/node/index.mjs" "$root/probes/node/package.json" "$root/probes/node/package-lock.json" \
  "$root/probes/error-classes.json" "$node_out/"
(cd "$node_out" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)

cp "$root/probes/python/secbench_probe.py" "$root/probes/error-classes.json" "$py_out/"
PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --disable-pip-version-check --no-warn-conflicts \
  --require-hashes --only-binary=:all: \
  --platform "$platform" --python-version "${python_runtime#python}" --implementation cp --target "$py_out" \
  -r "$root/probes/python/requirements.txt"
find "$py_out" -name __pycache__ -type d -prune -exec rm -rf {} +

find "$node_out" "$py_out" -exec touch -h -d "@0" {} +
echo "probes packaged for $arch: $node_out ($(du -sh "$node_out" | cut -f1)), $py_out ($(du -sh "$py_out" | cut -f1))" >&2
