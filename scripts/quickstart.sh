#!/usr/bin/env bash
# The quickstart: installs what it needs, makes throwaway test certificates, runs `pulumi up` on
# the root program (one certificate, deployed to staging and production, in the embedded store
# `.certstage/`) and prints `certstage status`. Safe to run again.
#
#   npm run quickstart                 the embedded file store
#   npm run quickstart -- --postgres   the shared store: a PostgreSQL of the quickstart's own
#                                      (scripts/quickstart-postgres.sh), as a team would run it
set -euo pipefail
store=file
for argument in "$@"; do
  case "$argument" in
    --postgres) store=postgres ;;
    *) printf 'quickstart: unknown option %s (the one option is --postgres)\n' "$argument" >&2; exit 2 ;;
  esac
done
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root="$PWD"
work="$root/.quickstart"

say() { printf '\n==> %s\n' "$*"; }

say "Providing Node.js 22 (from the npm registry on first use; cached after)"
node_bin="$(bash scripts/node.sh | tail -n 1)"
export PATH="$node_bin:$PATH"

say "Installing dependencies and building"
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run --silent build

say "Providing the Pulumi CLI (built from Pulumi's Go modules on first use; cached after)"
bin="$(bash scripts/pulumi-toolchain.sh | tail -n 1)"

mkdir -p "$work/state" "$work/pulumi-home"
cat >"$work/env.sh" <<ENV
# Source this to run pulumi and certstage against the quickstart's local state:
#   source .quickstart/env.sh
export PATH="$bin:$node_bin:\$PATH"
export PULUMI_HOME="$work/pulumi-home"
export PULUMI_BACKEND_URL="file://$work/state"
export PULUMI_CONFIG_PASSPHRASE="quickstart-only-not-a-secret"
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
ENV
stack=quickstart
if [ "$store" = postgres ]; then
  say "Providing the quickstart's PostgreSQL (Debian's postgresql-15, on 127.0.0.1; scripts/quickstart-postgres.sh)"
  bash scripts/quickstart-postgres.sh start >>"$work/env.sh"
  stack=quickstart-postgres
fi
# shellcheck source=/dev/null
source "$work/env.sh"

if [ ! -f "$work/certificates/api/cert.pem" ]; then
  say "Making throwaway test certificates with OpenSSL (root CA -> intermediate -> api.example.test)"
  bash scripts/make-test-certificates.sh "$work/certificates" api.example.test >/dev/null
fi

pulumi stack select "$stack" >/dev/null 2>&1 || pulumi stack init "$stack"
if [ "$store" = postgres ]; then
  pulumi config set certstage:store "$CERTSTAGE_QUICKSTART_STORE"
else
  # The file stack, also when a --postgres run came first and left its store in env.sh.
  unset CERTSTAGE_STORE_KEY PGUSER PGPASSWORD
fi
say "pulumi up: version 1 of 'api' deployed to staging and production ($store store)"
pulumi up --yes

say "certstage status"
if [ "$store" = postgres ]; then
  node dist/provider/cli/main.js status --store "$CERTSTAGE_QUICKSTART_STORE"
  cat <<'NEXT'

The store is PostgreSQL: `source .quickstart/env.sh` acts as its runner (PGUSER=quickstart-ci);
`bash scripts/quickstart-postgres.sh stop` stops it, and `start` again later.
NEXT
else
  node dist/provider/cli/main.js status
fi

cat <<'NEXT'

Next: make a new certificate file and watch it become version 2.
  source .quickstart/env.sh
  bash scripts/make-test-certificates.sh .quickstart/certificates api.example.test
  pulumi preview --diff        # CertificateVersion: replace (the new version 2); both deployments: update
  pulumi up --yes              # saves version 2 and swaps staging and production atomically
  npm run certstage -- status
NEXT
