#!/usr/bin/env bash
# Provides a headless Chromium for the pages tier (test/pages/, test/support/devtools.ts), from
# Debian's packages, and prints where it is on stdout:
#
#   chromium=/usr/lib/chromium/chromium
#
# Installs only what is missing (Debian 12: `chromium`, and `fonts-dejavu-core` so a page's text
# has glyphs to render in a screenshot), so a second run only checks and prints. The printed path
# is the browser binary itself, not Debian's /usr/bin/chromium launcher script, which reads
# /etc/chromium.d and adds flags of its own: the tests pass every flag they mean.
#
# Neither package has a daemon or a unit, so nothing needs stopping after the install.
# Needs root to install; without root and without the packages it fails and says so.
set -euo pipefail

log() { printf '[chromium] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

CHROMIUM=/usr/lib/chromium/chromium
FONT_DIRECTORY=/usr/share/fonts/truetype/dejavu

missing_packages() {
  [ -x "$CHROMIUM" ] || echo chromium
  [ -d "$FONT_DIRECTORY" ] || echo fonts-dejavu-core
}

SYSTEM_PID_FILES=()
declare -A UNIT_PACKAGE=()
INSTALLER=scripts/chromium.sh
LOCK_NAME=chromium.lock
STOP_SIGNAL=TERM
# shellcheck source=scripts/debian-packages.sh
source "$(dirname "${BASH_SOURCE[0]}")/debian-packages.sh"
provide_missing_packages

mapfile -t missing < <(missing_packages)
[ "${#missing[@]}" -eq 0 ] || die "${missing[*]} still missing after the install"
# Proves the binary runs (a half-installed package fails here) and names the version in the log.
version="$("$CHROMIUM" --version 2>&1)" || die "$CHROMIUM --version failed: $version"
log "$version"
echo "chromium=$CHROMIUM"
