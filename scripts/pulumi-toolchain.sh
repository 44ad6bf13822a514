#!/usr/bin/env bash
# Provides the pinned Pulumi CLI, its Node.js language host and the dynamic-provider launcher,
# built from Pulumi's Go modules with the machine's Go and cached outside the repository by
# version. Prints the directory holding the three executables on its last line of stdout.
#
# Why build: the `pulumi` npm package downloads the CLI at run time from a host these machines
# cannot reach; Pulumi's Go modules come through the Go module proxy.
#
# Why two Go modules: the CLI is built from pkg/v3 at the pinned version. The Node.js language
# host moved into its own Go module (sdk/nodejs/cmd/pulumi-language-nodejs/v3) after sdk/v3
# v3.68.0, and the module proxy does not serve that module (no version list, no @latest, no
# commit; checked again for CLI v3.274.1), so the host is built from sdk/v3 v3.68.0, the last
# release that contains it. The host is a thin gRPC process that starts
# `node @pulumi/pulumi/cmd/run` from the program's node_modules with the first `node` on PATH; the
# SDK that actually runs the program is the program's own @pulumi/pulumi. The whole test suite
# runs this host with CLI v3.274.1 and SDK 3.276.0 (the default), and the compat tier with CLI
# v3.248.0 and SDK 3.248.0 (CERTSTAGE_PULUMI_VERSION=3.248.0).
set -euo pipefail

PULUMI_VERSION="${CERTSTAGE_PULUMI_VERSION:-3.274.1}"
LANGUAGE_HOST_SDK_VERSION="3.68.0"
CACHE_ROOT="${CERTSTAGE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/certstage}"
TOOLCHAIN_DIR="$CACHE_ROOT/pulumi-v$PULUMI_VERSION-nodehost-v$LANGUAGE_HOST_SDK_VERSION"
BIN_DIR="$TOOLCHAIN_DIR/bin"
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

log() { printf '[toolchain] %s\n' "$*" >&2; }

# A pulumi of the pinned version already on PATH (with its language host beside it) is used as is.
if existing="$(command -v pulumi 2>/dev/null)"; then
  if [ "$("$existing" version 2>/dev/null)" = "v$PULUMI_VERSION" ] \
     && [ -x "$(dirname "$existing")/pulumi-language-nodejs" ]; then
    existing_dir="$(dirname "$existing")"
    if [ ! -x "$existing_dir/pulumi-resource-pulumi-nodejs" ] && [ -w "$existing_dir" ]; then
      install -m 0755 "$REPO_ROOT/node_modules/@pulumi/pulumi/pulumi-resource-pulumi-nodejs" "$existing_dir/"
    fi
    log "using pulumi v$PULUMI_VERSION from PATH ($existing_dir)"
    echo "$existing_dir"
    exit 0
  fi
fi

go_env=(env CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=mod GONOSUMDB=github.com/pulumi)
ldflags_for() { echo "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$1"; }

build_cli() {
  local dir="$TOOLCHAIN_DIR/build-cli"
  mkdir -p "$dir"
  cat >"$dir/go.mod" <<MOD
module certstage.local/pulumi-cli

go 1.25.11

require (
	github.com/pulumi/pulumi/pkg/v3 v$PULUMI_VERSION
	github.com/pulumi/pulumi/sdk/v3 v$PULUMI_VERSION
)

// pkg/v3 carries this replace in its own go.mod; replaces are not inherited, so repeat it.
replace github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e
MOD
  cat >"$dir/tools.go" <<'GO'
//go:build tools

package tools

import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
GO
  log "resolving Pulumi CLI v$PULUMI_VERSION modules (first run on a machine: 1-2 GB, several minutes)"
  (cd "$dir" && "${go_env[@]}" go mod tidy >&2)
  log "compiling pulumi"
  (cd "$dir" && "${go_env[@]}" go build -trimpath -tags osusergo,grpcnotrace \
    -ldflags "$(ldflags_for "$PULUMI_VERSION")" -o "$BIN_DIR/pulumi.tmp" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi >&2)
  mv "$BIN_DIR/pulumi.tmp" "$BIN_DIR/pulumi"
}

build_language_host() {
  local dir="$TOOLCHAIN_DIR/build-language-host"
  mkdir -p "$dir"
  cat >"$dir/go.mod" <<MOD
module certstage.local/pulumi-language-nodejs

go 1.25.11

require github.com/pulumi/pulumi/sdk/v3 v$LANGUAGE_HOST_SDK_VERSION
MOD
  cat >"$dir/tools.go" <<'GO'
//go:build tools

package tools

import _ "github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs"
GO
  log "resolving Node.js language host (sdk/v3 v$LANGUAGE_HOST_SDK_VERSION)"
  (cd "$dir" && "${go_env[@]}" go mod tidy >&2)
  log "compiling pulumi-language-nodejs"
  (cd "$dir" && "${go_env[@]}" go build -trimpath -tags osusergo,grpcnotrace \
    -ldflags "$(ldflags_for "$PULUMI_VERSION")" -o "$BIN_DIR/pulumi-language-nodejs.tmp" \
    github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs >&2)
  mv "$BIN_DIR/pulumi-language-nodejs.tmp" "$BIN_DIR/pulumi-language-nodejs"
}

mkdir -p "$BIN_DIR"
# One builder at a time per machine: parallel test workers and CI may all ask at once.
exec 9>"$TOOLCHAIN_DIR/.lock"
flock 9

[ -x "$BIN_DIR/pulumi" ] || build_cli
[ -x "$BIN_DIR/pulumi-language-nodejs" ] || build_language_host

launcher="$REPO_ROOT/node_modules/@pulumi/pulumi/pulumi-resource-pulumi-nodejs"
if [ -f "$launcher" ]; then
  # The engine looks for the dynamic-provider launcher next to the pulumi binary.
  install -m 0755 "$launcher" "$BIN_DIR/pulumi-resource-pulumi-nodejs"
else
  log "warning: $launcher not found; run npm install first"
fi

[ "$("$BIN_DIR/pulumi" version)" = "v$PULUMI_VERSION" ] || { log "built pulumi reports $("$BIN_DIR/pulumi" version), expected v$PULUMI_VERSION"; exit 1; }
log "pulumi v$PULUMI_VERSION ready in $BIN_DIR"
echo "$BIN_DIR"
