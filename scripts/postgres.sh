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

INSTALLER=scripts/postgres.sh
LOCK_NAME=postgres.lock
STOP_SIGNAL=INT  # PostgreSQL's fast shutdown: no waiting for clients (there are none)
# shellcheck source=scripts/debian-packages.sh
source "$(dirname "${BASH_SOURCE[0]}")/debian-packages.sh"
provide_missing_packages

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
