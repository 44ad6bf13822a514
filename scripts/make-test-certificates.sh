#!/usr/bin/env bash
# Makes throwaway certificates with OpenSSL for the quickstart and the tests: a root CA and an
# intermediate (once per directory), then a fresh leaf for the given name on every call.
#
#   scripts/make-test-certificates.sh <dir> [dns-name] [days]
#
# Writes <dir>/ca/{root.pem,intermediate.pem} and <dir>/<dns-name-label>/{cert.pem,key.pem,chain.pem}.
# Keys are 0600. Nothing here is ever committed: private keys are made at run time.
set -euo pipefail
dir="${1:?usage: make-test-certificates.sh <dir> [dns-name] [days]}"
name="${2:-api.example.test}"
days="${3:-90}"
label="${name%%.*}"
umask 077
mkdir -p "$dir/ca" "$dir/$label"
ca="$dir/ca"

if [ ! -f "$ca/intermediate.pem" ]; then
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$ca/root.key" 2>/dev/null
  openssl req -x509 -new -key "$ca/root.key" -subj "/O=certstage test/CN=certstage test root CA" -days 3650 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$ca/root.pem"
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$ca/intermediate.key" 2>/dev/null
  openssl req -new -key "$ca/intermediate.key" -subj "/O=certstage test/CN=certstage test intermediate CA" -out "$ca/intermediate.csr"
  printf 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n' >"$ca/intermediate.ext"
  openssl x509 -req -in "$ca/intermediate.csr" -CA "$ca/root.pem" -CAkey "$ca/root.key" -CAcreateserial \
    -days 1825 -extfile "$ca/intermediate.ext" -out "$ca/intermediate.pem" 2>/dev/null
  chmod 0644 "$ca/root.pem" "$ca/intermediate.pem"
fi

leaf="$dir/$label"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$leaf/key.pem" 2>/dev/null
openssl req -new -key "$leaf/key.pem" -subj "/CN=$name" -out "$leaf/request.csr"
printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:%s\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n' "$name" >"$leaf/leaf.ext"
openssl x509 -req -in "$leaf/request.csr" -CA "$ca/intermediate.pem" -CAkey "$ca/intermediate.key" -CAcreateserial \
  -days "$days" -extfile "$leaf/leaf.ext" -out "$leaf/cert.pem" 2>/dev/null
cp "$ca/intermediate.pem" "$leaf/chain.pem"
chmod 0644 "$leaf/cert.pem" "$leaf/chain.pem"
chmod 0600 "$leaf/key.pem"
rm -f "$leaf/request.csr" "$leaf/leaf.ext"
echo "$leaf"
