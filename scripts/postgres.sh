#!/usr/bin/env bash
# Provides PostgreSQL 15 for the postgres tier (test/support/postgres.ts), from Debian's packages,
# and prints where its programs are on stdout:
#
#   bindir=/usr/lib/postgresql/15/bin
#
# Installs only what is missing (Debian 12: `postgresql-15` 15.x, which brings
# postgresql-client-15 with pg_dump and pg_isready, and `openssl`, which makes each test
# cluster's CA and server certificate), so a second run only checks and prints. The tests never
# use the system's cluster or service: each test file runs initdb in a temporary directory and
# starts its own server on a loopback port. So the install must not start or enable them either:
# while apt runs, a policy-rc.d that answers 101 ("action forbidden") keeps invoke-rc.d from
# starting the cluster the postinst creates (15/main), and systemctl is never called. Should a
# postinst have started it all the same (its pid file appears during this install), it is stopped
# again by that pid.
#
# Needs root to install; without root and without the programs it fails and says so. When run as
# root, the test servers run as the `postgres` user the package creates (initdb refuses root).
set -euo pipefail

log() { printf '[postgres] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

BINDIR=/usr/lib/postgresql/15/bin
# Package -> a program it installs, by which this script tells whether it is there.
declare -A PROVIDES=(
  [postgresql-15]="$BINDIR/postgres $BINDIR/initdb $BINDIR/pg_ctl $BINDIR/pg_isready $BINDIR/pg_dump"
  [openssl]="openssl"
)
PACKAGES=(postgresql-15 openssl)

has_program() {
  local program="$1"
  if [[ "$program" == /* ]]; then [ -x "$program" ]; else command -v "$program" >/dev/null 2>&1; fi
}

missing_packages() {
  local package program
  for package in "${PACKAGES[@]}"; do
    for program in ${PROVIDES[$package]}; do
      has_program "$program" || { echo "$package"; break; }
    done
  done
}

# The cluster the postgresql-15 postinst creates writes its postmaster's pid here
# (external_pid_file in /etc/postgresql/15/main/postgresql.conf).
SYSTEM_PID_FILES=(/run/postgresql/15-main.pid /var/run/postgresql/15-main.pid)
# Units the packages enable for boot, and the package each belongs to (deb-systemd-helper needs it).
declare -A UNIT_PACKAGE=([postgresql.service]=postgresql-common)

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
  for unit in "${!UNIT_PACKAGE[@]}"; do
    [ -e "$WANTS_DIR/$unit" ] && enabled_before[$unit]=1
  done

  if [ ! -e "$POLICY" ]; then
    printf '#!/bin/sh\n# Written by certstage scripts/postgres.sh for the duration of one apt-get install.\nexit 101\n' >"$POLICY"
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

  # postgresql-common's postinst enables postgresql.service for the next boot (a symlink in
  # multi-user.target.wants) even where no systemd runs; a unit this install enabled is disabled
  # again through deb-systemd-helper, which also remembers it so upgrades keep it disabled.
  for unit in "${!UNIT_PACKAGE[@]}"; do
    if [ -z "${enabled_before[$unit]:-}" ] && [ -e "$WANTS_DIR/$unit" ] && command -v deb-systemd-helper >/dev/null; then
      log "disabling $unit, which the package enabled for boot"
      # deb-systemd-helper refuses to run outside a maintainer script unless told which package
      # it works for.
      DPKG_MAINTSCRIPT_PACKAGE="${UNIT_PACKAGE[$unit]}" DPKG_MAINTSCRIPT_NAME=postinst deb-systemd-helper disable "$unit" >&2 \
        || log "warning: could not disable $unit"
    fi
  done

  # A postmaster started by this install (its pid file is new or changed) is ours to stop:
  # SIGINT is PostgreSQL's fast shutdown (no waiting for clients; there are none).
  local pid
  for file in "${SYSTEM_PID_FILES[@]}"; do
    pid="$(head -n 1 "$file" 2>/dev/null || true)"
    if [[ "$pid" =~ ^[0-9]+$ ]] && [ "$pid" != "${pid_before[$file]}" ] && kill -0 "$pid" 2>/dev/null; then
      log "the package started the system cluster (postmaster pid $pid from $file); stopping it"
      kill -INT "$pid" 2>/dev/null || true
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
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
  exec 9>"$lock_dir/postgres.lock"
  flock 9
  mapfile -t missing < <(missing_packages)
  [ "${#missing[@]}" -eq 0 ] || install_packages "${missing[@]}"
  exec 9>&-
fi

mapfile -t missing < <(missing_packages)
[ "${#missing[@]}" -eq 0 ] || die "${missing[*]} still missing after the install"
# Root runs the test servers as `postgres` (initdb and postgres refuse to run as root); the
# package's postinst creates that user.
if [ "$(id -u)" = 0 ]; then
  id -u postgres >/dev/null 2>&1 || die "running as root, but there is no 'postgres' user to run the test servers as (reinstall postgresql-common, or run the tests as a non-root user)"
fi
# Proves the programs run (a half-installed package fails here) and names the versions in the log.
postgres_version="$("$BINDIR/postgres" --version 2>&1)" || die "$BINDIR/postgres --version failed: $postgres_version"
openssl_version="$(openssl version 2>&1)" || die "openssl version failed: $openssl_version"
log "$postgres_version; $openssl_version"
echo "bindir=$BINDIR"
