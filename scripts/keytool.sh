#!/usr/bin/env bash
# Provides Java's keytool for the tests that open certstage's PKCS#12 keystores the way a Java
# server does, from Debian's default-jre-headless, and prints where it is on stdout:
#
#   keytool=/usr/bin/keytool
#
# Installs only when it is missing (Debian 12: OpenJDK 17); a second run only checks and prints.
# Needs root to install; without root and without keytool it fails and says so.
set -euo pipefail

log() { printf '[keytool] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

find_keytool() {
  local candidate
  for candidate in "$(command -v keytool 2>/dev/null || true)" /usr/bin/keytool /usr/lib/jvm/default-java/bin/keytool; do
    [ -n "$candidate" ] && [ -x "$candidate" ] && { echo "$candidate"; return 0; }
  done
  return 1
}

missing_packages() { find_keytool >/dev/null || echo default-jre-headless; }

# The JRE starts no daemon.
SYSTEM_PID_FILES=()
declare -A UNIT_PACKAGE=()
INSTALLER=scripts/keytool.sh
LOCK_NAME=keytool.lock
STOP_SIGNAL=TERM
# shellcheck source=scripts/debian-packages.sh
source "$(dirname "${BASH_SOURCE[0]}")/debian-packages.sh"
provide_missing_packages

keytool="$(find_keytool)" || die "keytool is still missing after installing default-jre-headless"
echo "keytool=$keytool"
