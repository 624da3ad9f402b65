#!/usr/bin/env bash
# The dependency policy (deny.toml): bans (a crate twice in two versions only with the reason
# written next to it), licenses, sources, and unused dependencies. Installs cargo-deny (pinned) into
# .tools/cargo-deny/. The advisories check needs the RustSec database from GitHub, which this
# machine cannot reach; it runs where SECBENCH_DENY_ADVISORIES=1 says the database can be had.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
tools="$root/.tools/cargo-deny"
version="0.20.2"
if ! "$tools/bin/cargo-deny" --version 2>/dev/null | grep -q "$version"; then
  cargo install --quiet --locked --root "$tools" --version "$version" cargo-deny
fi
checks=(bans licenses sources)
[ "${SECBENCH_DENY_ADVISORIES:-0}" = 1 ] && checks+=(advisories)
"$tools/bin/cargo-deny" --locked check "${checks[@]}"
# No dependency a crate lists but does not use: cargo-machete (pinned, into .tools/cargo-machete/)
# reads each crate's sources for the names of its dependencies. `[package.metadata.cargo-machete]`
# in a crate's Cargo.toml names the ones it keeps on purpose, with the reason.
machete="$root/.tools/cargo-machete"
machete_version="0.9.2"
if ! "$machete/bin/cargo-machete" --version 2>/dev/null | grep -q "$machete_version"; then
  cargo install --quiet --locked --root "$machete" --version "$machete_version" cargo-machete
fi
"$machete/bin/cargo-machete" "$root"
