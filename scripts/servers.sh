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

# Daemons a postinst might start, by the pid files the Debian packages use.
SYSTEM_PID_FILES=(/run/nginx.pid /run/haproxy.pid /var/run/nginx.pid /var/run/haproxy.pid)

# A policy-rc.d written here is removed again whatever happens to the install; one that was
# already there (as in most container images) is left alone.
POLICY=/usr/sbin/policy-rc.d
WANTS_DIR=/etc/systemd/system/multi-user.target.wants
CREATED_POLICY=0
remove_policy() {
  if [ "$CREATED_POLICY" = 1 ]; then rm -f "$POLICY"; CREATED_POLICY=0; fi
}
trap remove_policy EXIT

install_packages() {
  local -a wanted=("$@")
  local file unit
  local -A pid_before=() enabled_before=()
  for file in "${SYSTEM_PID_FILES[@]}"; do pid_before[$file]="$(cat "$file" 2>/dev/null || true)"; done
  for unit in "${wanted[@]/%/.service}"; do
    [ -e "$WANTS_DIR/$unit" ] && enabled_before[$unit]=1
  done

  if [ ! -e "$POLICY" ]; then
    printf '#!/bin/sh\n# Written by certstage scripts/servers.sh for the duration of one apt-get install.\nexit 101\n' >"$POLICY"
    chmod 0755 "$POLICY"
    CREATED_POLICY=1
  fi

  log "installing ${wanted[*]} from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  # Tries the package lists at hand first (fast); refreshes them only when they fail: none yet
  # (a fresh container) or too old to name versions the mirror still has.
  if ! apt-get install -y --no-install-recommends -o Dpkg::Options::=--force-confold "${wanted[@]}" >&2; then
    log "install failed with the current package lists; running apt-get update and trying again"
    apt-get update >&2
    apt-get install -y --no-install-recommends -o Dpkg::Options::=--force-confold "${wanted[@]}" >&2
  fi

  remove_policy

  # The postinsts enable their units for the next boot (a symlink in multi-user.target.wants)
  # even where no systemd runs; a unit this install enabled is disabled again through
  # deb-systemd-helper, which also remembers it so upgrades keep it disabled.
  for unit in "${wanted[@]/%/.service}"; do
    if [ -z "${enabled_before[$unit]:-}" ] && [ -e "$WANTS_DIR/$unit" ] && command -v deb-systemd-helper >/dev/null; then
      log "disabling $unit, which the package enabled for boot"
      # deb-systemd-helper refuses to run outside a maintainer script unless told which package
      # it works for.
      DPKG_MAINTSCRIPT_PACKAGE="${unit%.service}" DPKG_MAINTSCRIPT_NAME=postinst deb-systemd-helper disable "$unit" >&2 \
        || log "warning: could not disable $unit"
    fi
  done

  # A daemon started by this install (its pid file is new or changed) is ours to stop.
  local pid
  for file in "${SYSTEM_PID_FILES[@]}"; do
    pid="$(cat "$file" 2>/dev/null || true)"
    if [[ "$pid" =~ ^[0-9]+$ ]] && [ "$pid" != "${pid_before[$file]}" ] && kill -0 "$pid" 2>/dev/null; then
      log "the package started a system daemon (pid $pid from $file); stopping it"
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
      rm -f "$file"
    fi
  done
}

mapfile -t missing < <(missing_packages)
if [ "${#missing[@]}" -gt 0 ]; then
  [ "$(id -u)" = 0 ] || die "missing ${missing[*]} and not root: install them as root (apt-get install -y --no-install-recommends ${missing[*]}) or run this script as root"
  command -v apt-get >/dev/null || die "missing ${missing[*]} and this machine has no apt-get"
  # One installer at a time: parallel test runs may all ask at once, and dpkg's own lock would
  # make the second fail instead of wait.
  lock_dir="${CERTSTAGE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/certstage}"
  mkdir -p "$lock_dir"
  exec 9>"$lock_dir/servers.lock"
  flock 9
  mapfile -t missing < <(missing_packages)
  [ "${#missing[@]}" -eq 0 ] || install_packages "${missing[@]}"
  exec 9>&-
fi

nginx="$(find_binary nginx)" || die "nginx is still missing after the install"
haproxy="$(find_binary haproxy)" || die "haproxy is still missing after the install"
# Proves the binaries run (a half-installed package fails here) and names the versions in the log.
nginx_version="$("$nginx" -v 2>&1)" || die "$nginx -v failed: $nginx_version"
haproxy_version="$("$haproxy" -v 2>&1)" || die "$haproxy -v failed: $haproxy_version"
haproxy_version="${haproxy_version%%$'\n'*}"
log "$nginx_version; $haproxy_version"
echo "nginx=$nginx"
echo "haproxy=$haproxy"
