#!/usr/bin/env bash
# Provides real nginx and HAProxy binaries for the deployment tests (test/support/tls-servers.ts),
# from Debian's packages, and prints where they are on stdout:
#
#   nginx=/usr/sbin/nginx
#   haproxy=/usr/sbin/haproxy
#
# Installs only what is missing (Debian 12: `nginx` 1.22.1, which has the SSL module built in;
# bookworm's nginx-light is only `nginx` plus an echo module; and `haproxy` 2.6.x), so a second
# run only checks and prints (about 15 ms). A cold install takes about 5 s. The tests never use the system
# services: each test starts its own servers on loopback ports with configs in temporary
# directories. So the install must not start or enable them either: while apt runs, a
# policy-rc.d that answers 101 ("action forbidden") keeps invoke-rc.d from starting the daemons,
# and systemctl is never called. Should a postinst have started one all the same (a daemon whose
# pid file appears during this install), it is stopped again by that pid.
#
# Needs root to install; without root and without the binaries it fails and says so.
set -euo pipefail

log() { printf '[servers] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

PACKAGES=(nginx haproxy)
# The binaries the packages install; PATH may lack /usr/sbin for non-root users.
find_binary() {
  local name="$1" candidate
  candidate="$(command -v "$name" 2>/dev/null || true)"
  [ -n "$candidate" ] && [ -x "$candidate" ] && { echo "$candidate"; return 0; }
  for candidate in "/usr/sbin/$name" "/usr/local/sbin/$name" "/usr/bin/$name"; do
    [ -x "$candidate" ] && { echo "$candidate"; return 0; }
  done
  return 1
}

missing_packages() {
  local package
  for package in "${PACKAGES[@]}"; do find_binary "$package" >/dev/null || echo "$package"; done
}

# Daemons a postinst might start, by the pid files the Debian packages use, and their units.
SYSTEM_PID_FILES=(/run/nginx.pid /run/haproxy.pid /var/run/nginx.pid /var/run/haproxy.pid)
declare -A UNIT_PACKAGE=([nginx.service]=nginx [haproxy.service]=haproxy)

INSTALLER=scripts/servers.sh
LOCK_NAME=servers.lock
STOP_SIGNAL=TERM
# shellcheck source=scripts/debian-packages.sh
source "$(dirname "${BASH_SOURCE[0]}")/debian-packages.sh"
provide_missing_packages

nginx="$(find_binary nginx)" || die "nginx is still missing after the install"
haproxy="$(find_binary haproxy)" || die "haproxy is still missing after the install"
# Proves the binaries run (a half-installed package fails here) and names the versions in the log.
nginx_version="$("$nginx" -v 2>&1)" || die "$nginx -v failed: $nginx_version"
haproxy_version="$("$haproxy" -v 2>&1)" || die "$haproxy -v failed: $haproxy_version"
haproxy_version="${haproxy_version%%$'\n'*}"
log "$nginx_version; $haproxy_version"
echo "nginx=$nginx"
echo "haproxy=$haproxy"
