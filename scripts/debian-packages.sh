# Sourced by scripts/servers.sh and scripts/postgres.sh: installs the Debian packages a test tier
# needs without letting them start or enable their daemons (the tests start their own servers on
# loopback ports). While apt runs, a policy-rc.d that answers 101 ("action forbidden") keeps
# invoke-rc.d from starting them, and systemctl is never called; a unit a postinst enabled for
# boot is disabled again, and a daemon a postinst started all the same is stopped by its pid.
#
# The caller defines log, die and missing_packages (prints the packages not there yet) and sets:
#   INSTALLER         its own path, for the policy-rc.d comment (e.g. scripts/servers.sh)
#   LOCK_NAME         the lock file in the certstage cache that serializes installers
#   SYSTEM_PID_FILES  the pid files the packages' daemons write
#   UNIT_PACKAGE      an associative array: unit -> the package it belongs to (deb-systemd-helper needs it)
#   STOP_SIGNAL       how to stop a daemon a postinst started (TERM; INT is PostgreSQL's fast shutdown)
# then calls provide_missing_packages.

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
  for file in "${SYSTEM_PID_FILES[@]}"; do pid_before[$file]="$(head -n 1 "$file" 2>/dev/null || true)"; done
  for unit in "${!UNIT_PACKAGE[@]}"; do
    [ -e "$WANTS_DIR/$unit" ] && enabled_before[$unit]=1
  done

  if [ ! -e "$POLICY" ]; then
    printf '#!/bin/sh\n# Written by certstage %s for the duration of one apt-get install.\nexit 101\n' "$INSTALLER" >"$POLICY"
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
  for unit in "${!UNIT_PACKAGE[@]}"; do
    if [ -z "${enabled_before[$unit]:-}" ] && [ -e "$WANTS_DIR/$unit" ] && command -v deb-systemd-helper >/dev/null; then
      log "disabling $unit, which the package enabled for boot"
      # deb-systemd-helper refuses to run outside a maintainer script unless told which package
      # it works for.
      DPKG_MAINTSCRIPT_PACKAGE="${UNIT_PACKAGE[$unit]}" DPKG_MAINTSCRIPT_NAME=postinst deb-systemd-helper disable "$unit" >&2 \
        || log "warning: could not disable $unit"
    fi
  done

  # A daemon started by this install (its pid file is new or changed) is ours to stop.
  local pid
  for file in "${SYSTEM_PID_FILES[@]}"; do
    pid="$(head -n 1 "$file" 2>/dev/null || true)"
    if [[ "$pid" =~ ^[0-9]+$ ]] && [ "$pid" != "${pid_before[$file]}" ] && kill -0 "$pid" 2>/dev/null; then
      log "the package started a system daemon (pid $pid from $file); stopping it"
      kill "-$STOP_SIGNAL" "$pid" 2>/dev/null || true
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
      rm -f "$file"
    fi
  done
}

# Installs what missing_packages names, as root, one installer at a time.
provide_missing_packages() {
  local -a missing
  mapfile -t missing < <(missing_packages)
  [ "${#missing[@]}" -gt 0 ] || return 0
  [ "$(id -u)" = 0 ] || die "missing ${missing[*]} and not root: install them as root (apt-get install -y --no-install-recommends ${missing[*]}) or run this script as root"
  command -v apt-get >/dev/null || die "missing ${missing[*]} and this machine has no apt-get"
  # Parallel test runs may all ask at once, and dpkg's own lock would make the second fail instead of wait.
  local lock_dir="${CERTSTAGE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/certstage}"
  mkdir -p "$lock_dir"
  exec 9>"$lock_dir/$LOCK_NAME"
  flock 9
  mapfile -t missing < <(missing_packages)
  [ "${#missing[@]}" -eq 0 ] || install_packages "${missing[@]}"
  exec 9>&-
}
