#!/usr/bin/env bash
# Provides the pinned Pebble ACME test server and its DNS/challenge companion,
# pebble-challtestsrv, built from the Go module github.com/letsencrypt/pebble/v2 with the
# machine's Go and cached outside the repository by version. Prints the directory holding the
# two executables on its last line of stdout.
#
# Why this version: v2.10.1 serves ACME Renewal Information (ARI) and config-defined ACME
# profiles, both of which the renewal code is tested against.
#
# Why build: Pebble ships no npm package; its Go module comes through the Go module proxy.
set -euo pipefail

PEBBLE_VERSION="v2.10.1"
PEBBLE_MODULE="github.com/letsencrypt/pebble/v2"
CACHE_ROOT="${CERTSTAGE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/certstage}"
PEBBLE_DIR="$CACHE_ROOT/pebble-$PEBBLE_VERSION"
BIN_DIR="$PEBBLE_DIR/bin"
COMMANDS=(pebble pebble-challtestsrv)

log() { printf '[pebble] %s\n' "$*" >&2; }

# GONOSUMDB: the checksum database is unreliable for this module on some machines; Pebble's own
# dependencies are still checked against its go.sum.
go_env=(env CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=mod GONOSUMDB=github.com/letsencrypt)
# Pebble reports this string for `pebble -version`; it proves which build is cached.
ldflags="-s -w -X main.version=$PEBBLE_VERSION"

all_built() {
  local command
  for command in "${COMMANDS[@]}"; do [ -x "$BIN_DIR/$command" ] || return 1; done
}

# Builds into a staging directory and moves the results into place, so an interrupted build
# never leaves a half-written binary that a later run would take as finished.
install_from_module() {
  local staging="$1" packages=() command
  for command in "${COMMANDS[@]}"; do packages+=("$PEBBLE_MODULE/cmd/$command@$PEBBLE_VERSION"); done
  "${go_env[@]}" GOBIN="$staging" go install -trimpath -ldflags "$ldflags" "${packages[@]}"
}

# `go install module@version` refuses modules whose go.mod has replace directives; a wrapper
# module that requires Pebble (and would repeat any such replace) builds the same commands.
install_from_wrapper_module() {
  local staging="$1" dir="$PEBBLE_DIR/build" command
  mkdir -p "$dir"
  cat >"$dir/go.mod" <<MOD
module certstage.local/pebble

go 1.24.0

require $PEBBLE_MODULE $PEBBLE_VERSION
MOD
  {
    printf '//go:build tools\n\npackage tools\n\n'
    for command in "${COMMANDS[@]}"; do printf 'import _ "%s/cmd/%s"\n' "$PEBBLE_MODULE" "$command"; done
  } >"$dir/tools.go"
  (cd "$dir" && "${go_env[@]}" go mod tidy >&2)
  for command in "${COMMANDS[@]}"; do
    (cd "$dir" && "${go_env[@]}" go build -trimpath -ldflags "$ldflags" -o "$staging/$command" "$PEBBLE_MODULE/cmd/$command" >&2)
  done
}

build() {
  local staging="$PEBBLE_DIR/bin.partial" install_log="$PEBBLE_DIR/install.log" command
  rm -rf "$staging"
  mkdir -p "$staging"
  log "building pebble and pebble-challtestsrv $PEBBLE_VERSION from $PEBBLE_MODULE"
  # Streams Go's progress to stderr as it happens and keeps a copy to decide on the fallback.
  if ! install_from_module "$staging" 2>&1 | tee "$install_log" >&2; then
    grep -q 'replace directive' "$install_log" || exit 1
    log "go install refused the module's replace directives; building through a wrapper module"
    install_from_wrapper_module "$staging"
  fi
  for command in "${COMMANDS[@]}"; do mv "$staging/$command" "$BIN_DIR/$command"; done
  rm -rf "$staging"
}

mkdir -p "$BIN_DIR"
# One builder at a time per machine: parallel test workers and CI may all ask at once.
exec 9>"$PEBBLE_DIR/.lock"
flock 9

all_built || build

reported="$("$BIN_DIR/pebble" -version)"
[ "$reported" = "Pebble version: $PEBBLE_VERSION" ] || { log "cached pebble reports '$reported', expected $PEBBLE_VERSION"; exit 1; }
log "pebble $PEBBLE_VERSION ready in $BIN_DIR"
echo "$BIN_DIR"
