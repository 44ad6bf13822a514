#!/usr/bin/env bash
# The quickstart's shared store: a PostgreSQL of its own in .quickstart/postgres, on 127.0.0.1,
# set up the way the README sets up a team's (a role that owns and migrates the database, a team
# role, a runner login acting for it, a read-only preview login, a key-encryption key), so that
# `npm run quickstart -- --postgres` runs the same program against it.
#
#   bash scripts/quickstart-postgres.sh start   starts it (making it on first use); prints shell
#                                               variables to append to .quickstart/env.sh
#   bash scripts/quickstart-postgres.sh stop    stops it
#
# It runs as the Debian `postgres` user when started by root (initdb refuses root), else as the
# calling user. Nothing listens beyond loopback, and TLS is off: it never leaves this machine.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
work="$PWD/.quickstart/postgres"
# The cluster's own files: beside the secrets for a normal user; for root, where the postgres user
# can reach them (a checkout under /root is not), one directory per checkout.
if [ "$(id -u)" = 0 ]; then
  server="/var/lib/certstage-quickstart/$(printf '%s' "$PWD" | sha256sum | cut -c1-12)"
else
  server="$work"
fi
data="$server/data"
log() { printf '[quickstart-postgres] %s\n' "$*" >&2; }

bindir="$(bash scripts/postgres.sh | sed -n 's/^bindir=//p')"
as_server() {
  # From /, which the postgres user can enter whatever the checkout's permissions are.
  if [ "$(id -u)" = 0 ]; then (cd / && setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"); else "$@"; fi
}

case "${1:-}" in
  stop)
    [ -f "$data/postmaster.pid" ] && as_server "$bindir/pg_ctl" -D "$data" -m fast stop >&2 || log "not running"
    exit 0
    ;;
  start) ;;
  *) log "usage: $0 start|stop"; exit 2 ;;
esac

mkdir -p "$work"
if [ ! -f "$work/port" ]; then
  # A free loopback port, chosen once and kept: the stack's settings name it.
  node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})' >"$work/port"
fi
port="$(cat "$work/port")"
secret() { [ -f "$work/$1" ] || (umask 077; openssl rand -base64 "${2:-18}" | tr -d '\n' >"$work/$1"); cat "$work/$1"; }
superuser_password="$(secret superuser.password)"
owner_password="$(secret owner.password)"
runner_password="$(secret runner.password)"
preview_password="$(secret preview.password)"
store_key="$(secret store.key 32)"

if [ ! -f "$data/PG_VERSION" ]; then
  log "making a PostgreSQL cluster in $data"
  mkdir -p "$server"
  [ "$(id -u)" = 0 ] && chown postgres "$server" && chmod 0700 "$server"
  pwfile="$(mktemp)"; printf '%s\n' "$superuser_password" >"$pwfile"
  [ "$(id -u)" = 0 ] && chown postgres "$pwfile"
  as_server "$bindir/initdb" --pgdata "$data" --username postgres --pwfile "$pwfile" --auth scram-sha-256 --encoding UTF8 --locale C >/dev/null
  rm -f "$pwfile"
fi
if ! as_server "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
  log "starting it on 127.0.0.1:$port"
  as_server "$bindir/pg_ctl" -D "$data" -l "$server/postgres.log" -w \
    -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$server" start >/dev/null
fi

sql() { PGPASSWORD="$superuser_password" "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d "${2:-postgres}" -tAc "$1"; }
if [ "$(sql "SELECT count(*) FROM pg_roles WHERE rolname = 'certstage_owner'")" = 0 ]; then
  log "making the store: certstage_owner owns database certstage and migrates it"
  sql "CREATE ROLE certstage_owner LOGIN CREATEROLE PASSWORD '$owner_password'"
  sql "CREATE DATABASE certstage OWNER certstage_owner"
  node dist/provider/cli/main.js store migrate --store "postgres://certstage_owner:$(node -p 'encodeURIComponent(process.argv[1])' "$owner_password")@127.0.0.1:$port/certstage?sslmode=disable" >&2
  log "team role quickstart-team; runner quickstart-ci acts for it; preview reads only"
  sql "CREATE ROLE \"quickstart-team\""
  sql "CREATE ROLE \"quickstart-ci\" LOGIN PASSWORD '$runner_password' IN ROLE certstage_runner, \"quickstart-team\""
  sql "CREATE ROLE \"quickstart-preview\" LOGIN PASSWORD '$preview_password' IN ROLE certstage_reader"
fi

cat <<ENV
# The quickstart's PostgreSQL store (scripts/quickstart-postgres.sh start|stop): as its runner
export CERTSTAGE_QUICKSTART_STORE="postgres://127.0.0.1:$port/certstage?sslmode=disable"
export PGUSER=quickstart-ci
export PGPASSWORD="\$(cat "$work/runner.password")"
export CERTSTAGE_STORE_KEY="\$(cat "$work/store.key")"
# A pull request's preview instead: PGUSER=quickstart-preview PGPASSWORD="\$(cat "$work/preview.password")", and no CERTSTAGE_STORE_KEY
ENV
