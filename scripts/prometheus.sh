#!/usr/bin/env bash
# Provides Prometheus and promtool for the monitoring tier (test/monitoring/) and the alert-rule
# tests, from Debian's `prometheus` package (Debian 12: 2.42, which ships promtool), and prints
# where the programs are on stdout:
#
#   prometheus=/usr/bin/prometheus
#   promtool=/usr/bin/promtool
#
# Installs only what is missing, so a second run only checks and prints. The tests never use the
# system's service: each starts its own prometheus with a temporary configuration and storage
# directory on a loopback port. So the install must not leave Debian's service running either:
# scripts/debian-packages.sh keeps invoke-rc.d from starting it, disables the unit the postinst
# enables for boot, and stops by its pid a daemon the postinst started all the same.
#
# Needs root to install; without root and without the programs it fails and says so.
set -euo pipefail

log() { printf '[prometheus] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

PROMETHEUS=/usr/bin/prometheus
PROMTOOL=/usr/bin/promtool
missing_packages() {
  { [ -x "$PROMETHEUS" ] && [ -x "$PROMTOOL" ]; } || echo prometheus
}

# Debian's init script (used where systemd does not run) writes this pid file.
SYSTEM_PID_FILES=(/run/prometheus/prometheus.pid /var/run/prometheus/prometheus.pid)
declare -A UNIT_PACKAGE=([prometheus.service]=prometheus)
INSTALLER=scripts/prometheus.sh
LOCK_NAME=prometheus.lock
STOP_SIGNAL=TERM
# shellcheck source=scripts/debian-packages.sh
source "$(dirname "${BASH_SOURCE[0]}")/debian-packages.sh"
provide_missing_packages

[ -z "$(missing_packages)" ] || die "prometheus is still missing after the install"
# Proves the programs run (a half-installed package fails here) and names the versions in the log.
prometheus_version="$("$PROMETHEUS" --version 2>&1 | head -n 1)" || die "$PROMETHEUS --version failed: $prometheus_version"
promtool_version="$("$PROMTOOL" --version 2>&1 | head -n 1)" || die "$PROMTOOL --version failed: $promtool_version"
log "$prometheus_version; $promtool_version"
echo "prometheus=$PROMETHEUS"
echo "promtool=$PROMTOOL"
