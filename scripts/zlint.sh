#!/usr/bin/env bash
# Provides the pinned zlint, the X.509 linter CAs run before they issue, built from the Go module
# github.com/zmap/zlint/v3 with the machine's Go and cached outside the repository by version.
# Prints the directory holding the `zlint` executable on its last line of stdout.
#
# Why zlint: it is the peer the validation tier is judged against (test/zlint/); CAs use it as the
# reference for the CA/Browser Forum Baseline Requirements and RFC 5280.
# Why build: zlint ships no npm or Debian package; its Go module comes through the Go module proxy.
set -euo pipefail

ZLINT_VERSION="v3.7.3"
ZLINT_MODULE="github.com/zmap/zlint/v3"
CACHE_ROOT="${CERTSTAGE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/certstage}"
ZLINT_DIR="$CACHE_ROOT/zlint-$ZLINT_VERSION"
BIN_DIR="$ZLINT_DIR/bin"

log() { printf '[zlint] %s\n' "$*" >&2; }

go_env=(env CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=mod)

build() {
  local staging="$ZLINT_DIR/bin.partial"
  rm -rf "$staging"
  mkdir -p "$staging"
  log "building zlint $ZLINT_VERSION from $ZLINT_MODULE"
  # Into a staging directory first: an interrupted build never leaves a binary a later run trusts.
  "${go_env[@]}" GOBIN="$staging" go install -trimpath -ldflags "-s -w" "$ZLINT_MODULE/cmd/zlint@$ZLINT_VERSION" >&2
  mv "$staging/zlint" "$BIN_DIR/zlint"
  echo "$ZLINT_VERSION" >"$BIN_DIR/zlint.version"
  rm -rf "$staging"
}

mkdir -p "$BIN_DIR"
# One builder at a time per machine: parallel test workers and CI may all ask at once.
exec 9>"$ZLINT_DIR/.lock"
flock 9

{ [ -x "$BIN_DIR/zlint" ] && [ "$(cat "$BIN_DIR/zlint.version" 2>/dev/null)" = "$ZLINT_VERSION" ]; } || build

# zlint has no -version flag; a lint list proves the binary runs.
"$BIN_DIR/zlint" -list-lints-source >/dev/null || { log "cached zlint at $BIN_DIR does not run"; exit 1; }
log "zlint $ZLINT_VERSION ready in $BIN_DIR"
echo "$BIN_DIR"
