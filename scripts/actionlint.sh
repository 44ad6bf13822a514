#!/usr/bin/env bash
# Provides the pinned actionlint, the GitHub Actions workflow checker, built from the Go module
# github.com/rhysd/actionlint with the machine's Go and cached outside the repository by version,
# and Debian's shellcheck, which actionlint runs over every `run:` script. Prints, on its last two
# lines of stdout, `actionlint=<path>` then `shellcheck=<path>` (the executables).
#
# Why actionlint: it checks what GitHub only reports when a workflow runs (unknown keys, expression
# types, cron syntax, outdated actions, script injection from untrusted event fields); the
# workflows in examples/gitops/.github/workflows/ are tested with it (test/workflows/).
# Why build: actionlint's releases are prebuilt binaries; its Go module comes through the Go module
# proxy. A second run only checks and prints.
set -euo pipefail

ACTIONLINT_VERSION="v1.7.12"
ACTIONLINT_MODULE="github.com/rhysd/actionlint"
CACHE_ROOT="${CERTSTAGE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/certstage}"
ACTIONLINT_DIR="$CACHE_ROOT/actionlint-$ACTIONLINT_VERSION"
BIN_DIR="$ACTIONLINT_DIR/bin"

log() { printf '[actionlint] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

go_env=(env CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=mod)

build() {
  local staging="$ACTIONLINT_DIR/bin.partial"
  rm -rf "$staging"
  mkdir -p "$staging"
  log "building actionlint $ACTIONLINT_VERSION from $ACTIONLINT_MODULE"
  # Into a staging directory first: an interrupted build never leaves a binary a later run trusts.
  "${go_env[@]}" GOBIN="$staging" go install -trimpath -ldflags "-s -w" "$ACTIONLINT_MODULE/cmd/actionlint@$ACTIONLINT_VERSION" >&2
  mv "$staging/actionlint" "$BIN_DIR/actionlint"
  echo "$ACTIONLINT_VERSION" >"$BIN_DIR/actionlint.version"
  rm -rf "$staging"
}

mkdir -p "$BIN_DIR"
# One builder at a time per machine: parallel test workers and CI may all ask at once.
exec 9>"$ACTIONLINT_DIR/.lock"
flock 9
{ [ -x "$BIN_DIR/actionlint" ] && [ "$(cat "$BIN_DIR/actionlint.version" 2>/dev/null)" = "$ACTIONLINT_VERSION" ]; } || build
exec 9>&-

# Debian's shellcheck (bookworm: 0.9.0), installed only when missing; it starts no daemon, so
# the daemon guards of debian-packages.sh have nothing to do here.
missing_packages() { command -v shellcheck >/dev/null || echo shellcheck; }
SYSTEM_PID_FILES=()
declare -A UNIT_PACKAGE=()
INSTALLER=scripts/actionlint.sh
LOCK_NAME=debian-shellcheck.lock
STOP_SIGNAL=TERM
# shellcheck source=scripts/debian-packages.sh
source "$(dirname "${BASH_SOURCE[0]}")/debian-packages.sh"
provide_missing_packages
shellcheck="$(command -v shellcheck)" || die "shellcheck is still missing after the install"

# Proves both binaries run and names their versions in the log.
version="$("$BIN_DIR/actionlint" -version 2>&1)" || die "cached actionlint at $BIN_DIR does not run: $version"
shellcheck_version="$("$shellcheck" --version 2>&1 | sed -n 's/^version: //p')" || die "$shellcheck does not run"
log "actionlint ${version%%$'\n'*}; shellcheck $shellcheck_version"
echo "actionlint=$BIN_DIR/actionlint"
echo "shellcheck=$shellcheck"
