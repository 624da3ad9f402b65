#!/usr/bin/env bash
# Installs Debian's Chromium (package `chromium`) for the report's browser test, if it is not
# there. Needs root (or sudo) and Debian's package index; skipped when /usr/bin/chromium exists.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null
echo "chromium installed: $(chromium --version)" >&2
