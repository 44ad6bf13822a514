#!/usr/bin/env bash
# Proves, with OpenSSL, that a corpus made by scripts/make-bad-input-corpus.sh is what it claims:
# the baselines are good, and each case has its one defect and is otherwise sound where it
# matters (so certstage has exactly one reason to refuse it).
#
#   scripts/check-bad-input-corpus.sh <outdir>
#
# Prints one line per problem found and exits 1 if there is any; prints "<n> cases OK" and exits
# 0 otherwise.
set -uo pipefail
out="${1:?usage: check-bad-input-corpus.sh <outdir>}"
[ -d "$out/cases" ] || {
  echo "check-bad-input-corpus: $out/cases does not exist" >&2
  exit 1
}
cd "$out" || exit 1

# The passphrase make-bad-input-corpus.sh encrypts keys with.
readonly KEY_PASSPHRASE="corpus-key-passphrase"
readonly ROOT=pki/root.pem INTERMEDIATE=pki/intermediate.pem INTERMEDIATE2=pki/intermediate2.pem
readonly BASE=baseline
readonly THREE_MIB=3145728

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
failures=0
current="corpus"

fail() {
  echo "check-bad-input-corpus: $current: $*" >&2
  failures=$((failures + 1))
}
# expect <what> <command...>: the command must succeed; expect_not: it must fail.
expect() {
  local what=$1
  shift
  "$@" >/dev/null 2>&1 || fail "$what"
}
expect_not() {
  local what=$1
  shift
  if "$@" >/dev/null 2>&1; then fail "$what"; fi
}

# ---------------------------------------------------------------------------------------------
# OpenSSL helpers. All are quiet and answer with their exit status or on stdout.

# verifies <cert> [<chain>|-] [verify options...]: the cert chains to the root, strictly.
verifies() {
  local cert=$1 chain=${2:--}
  shift 2 || shift $#
  local untrusted=()
  [ "$chain" = - ] || untrusted=(-untrusted "$chain")
  openssl verify -x509_strict -CAfile "$ROOT" "${untrusted[@]}" "$@" "$cert" 2>&1 | grep -qxF "$cert: OK"
}
# verify_error <code> <cert> [<chain>|-] [options...]: verification fails with exactly this error.
verify_error() {
  local code=$1 cert=$2 chain=${3:--}
  shift 3 || shift $#
  local untrusted=()
  [ "$chain" = - ] || untrusted=(-untrusted "$chain")
  local result
  result="$(openssl verify -x509_strict -CAfile "$ROOT" "${untrusted[@]}" "$@" "$cert" 2>&1)" && return 1
  grep -q "^error $code at 0 depth" <<<"$result"
}
parses_cert() { openssl x509 -in "$1" -noout; }
parses_key() { openssl pkey -in "$1" -noout -passin pass:; }
cert_pubkey() { openssl x509 -in "$1" -noout -pubkey; }
key_pubkey() { openssl pkey -in "$1" -pubout -passin "pass:${2:-}"; }
# same_key <cert> <key> [passphrase]: the key is the private half of the cert's public key.
same_key() {
  local a b
  a="$(cert_pubkey "$1")" && b="$(key_pubkey "$2" "${3:-}")" && [ -n "$a" ] && [ "$a" = "$b" ]
}
differs_key() {
  local a b
  a="$(cert_pubkey "$1")" && b="$(key_pubkey "$2")" && [ -n "$a" ] && [ -n "$b" ] && [ "$a" != "$b" ]
}
fingerprint() { openssl x509 -in "$1" -noout -fingerprint -sha256; }
same_cert() {
  local a b
  a="$(fingerprint "$1")" && b="$(fingerprint "$2")" && [ "$a" = "$b" ]
}
subject() { openssl x509 -in "$1" -noout -subject -nameopt RFC2253; }
issuer() { openssl x509 -in "$1" -noout -issuer -nameopt RFC2253 | sed 's/^issuer=/subject=/'; }
# issued_by <cert> <issuer>: by name (the signature is verify's business).
named_issuer() { [ "$(issuer "$1")" = "$(subject "$2")" ]; }
self_signed() { named_issuer "$1" "$1" && openssl verify -CAfile "$1" "$1" >/dev/null 2>&1; }
# ext <cert> <name>: an extension's lines, e.g. "X509v3 Basic Constraints: critical" then values.
ext() { openssl x509 -in "$1" -noout -ext "$2" 2>/dev/null; }
sans() { ext "$1" subjectAltName | sed -n '2s/^ *//p'; }
skid() { ext "$1" subjectKeyIdentifier | sed -n '2s/^ *//p'; }
is_ca() { ext "$1" basicConstraints | grep -q "CA:TRUE"; }
epoch() { date -u -d "$(openssl x509 -in "$1" -noout "-$2" | cut -d= -f2)" +%s; }
lifetime_seconds() { echo $(($(epoch "$1" enddate) - $(epoch "$1" startdate))); }
key_text() { openssl x509 -in "$1" -noout -text | sed -n '/Subject Public Key Info/,/X509v3 extensions/p'; }
labels() { sed -n 's/^-----BEGIN \(.*\)-----$/\1/p' "$1" | paste -sd, -; }
# block <file> <n> <out>: the n-th PEM block of a small file.
block() {
  local file=$1 n=$2 target=$3 line i=0
  : >"$target"
  while IFS= read -r line; do
    [[ $line == -----BEGIN* ]] && i=$((i + 1))
    ((i == n)) && printf '%s\n' "$line" >>"$target"
    [[ $line == -----END* ]] && ((i == n)) && break
  done <"$file"
  [ -s "$target" ]
}
at() { date -u -d "$1" +%s; }

# good_leaf <cert> <chain> [verify options...]: a sound server leaf: it verifies strictly for TLS
# servers and has the extensions every leaf of the corpus carries.
good_leaf() {
  local cert=$1 chain=$2
  shift 2
  expect "$cert does not verify as a TLS server certificate against the root" verifies "$cert" "$chain" -purpose sslserver "$@"
  local e
  e="$(ext "$cert" basicConstraints,keyUsage,extendedKeyUsage,subjectAltName,subjectKeyIdentifier,authorityKeyIdentifier)"
  expect "$cert: basicConstraints is not critical CA:FALSE" grep -qx "    CA:FALSE" <(grep -A1 -x "X509v3 Basic Constraints: critical" <<<"$e")
  expect "$cert: keyUsage is not critical digitalSignature" grep -qx "    Digital Signature" <(grep -A1 -x "X509v3 Key Usage: critical" <<<"$e")
  expect "$cert: extendedKeyUsage is not serverAuth" grep -qx "    TLS Web Server Authentication" <(grep -A1 "X509v3 Extended Key Usage:" <<<"$e")
  expect "$cert: no subjectAltName" grep -qx "    DNS:.*" <(grep -A1 "X509v3 Subject Alternative Name:" <<<"$e")
  expect "$cert: no subjectKeyIdentifier" grep -q "X509v3 Subject Key Identifier" <<<"$e"
  expect "$cert: no authorityKeyIdentifier" grep -q "X509v3 Authority Key Identifier" <<<"$e"
}
# days <cert> <n>: valid exactly n days.
# days <cert> <n>: valid for n days (OpenSSL's clock may tick between notBefore and notAfter).
days() {
  local drift=$(( $(lifetime_seconds "$1") - $2 * 86400 ))
  expect "$1 is not valid $2 days (off by ${drift}s)" test "${drift#-}" -le 60
}
# ec_p256 <cert>: the key is EC P-256 (nothing about the key is a second defect).
ec_p256() { expect "$1: key is not EC P-256" grep -q "NIST CURVE: P-256" <(key_text "$1"); }
both_names() { expect "$1: SANs are not api.example.test and www.example.test" test "$(sans "$1")" = "DNS:api.example.test, DNS:www.example.test"; }
is_baseline() { expect "$1 is not the baseline $2" cmp -s "$1" "$BASE/$2"; }

# ---------------------------------------------------------------------------------------------
# The baselines and the PKI.
current=pki
for ca in "$ROOT" "$INTERMEDIATE" "$INTERMEDIATE2" pki/unrelated-root.pem pki/unrelated-intermediate.pem pki/forged-intermediate.pem; do
  e="$(ext "$ca" basicConstraints,keyUsage)"
  expect "$ca: basicConstraints is not critical CA:TRUE" grep -q "    CA:TRUE" <(grep -A1 -x "X509v3 Basic Constraints: critical" <<<"$e")
  expect "$ca: keyUsage is not critical keyCertSign,cRLSign" grep -qx "    Certificate Sign, CRL Sign" <(grep -A1 -x "X509v3 Key Usage: critical" <<<"$e")
done
expect "root is not self-signed" self_signed "$ROOT"
expect "intermediate does not verify against the root" verifies "$INTERMEDIATE"
expect "intermediate2 does not verify against root -> intermediate" verifies "$INTERMEDIATE2" "$INTERMEDIATE"
expect_not "the unrelated intermediate verifies against the root" verifies pki/unrelated-intermediate.pem
expect "the unrelated intermediate does not verify against its own root" \
  openssl verify -x509_strict -CAfile pki/unrelated-root.pem pki/unrelated-intermediate.pem

current=baseline
expect "baseline/cert.pem is not the good leaf for api.example.test" \
  verifies "$BASE/cert.pem" "$BASE/chain.pem" -purpose sslserver -verify_hostname api.example.test
good_leaf "$BASE/cert.pem" "$BASE/chain.pem"
expect "subject is not CN=api.example.test" test "$(subject "$BASE/cert.pem")" = "subject=CN=api.example.test"
both_names "$BASE/cert.pem"
ec_p256 "$BASE/cert.pem"
days "$BASE/cert.pem" 90
expect "the key does not match the certificate" same_key "$BASE/cert.pem" "$BASE/key.pem"
expect "chain.pem is not exactly the intermediate" cmp -s "$BASE/chain.pem" "$INTERMEDIATE"
expect "the certificate is not issued by the intermediate" named_issuer "$BASE/cert.pem" "$INTERMEDIATE"
expect "the certificate is not valid now" openssl x509 -in "$BASE/cert.pem" -noout -checkend 86400

current=baseline-ca
expect "baseline-ca/cert.pem is not a self-signed certificate" self_signed baseline-ca/cert.pem
expect "baseline-ca: not critical CA:TRUE" grep -q "Basic Constraints: critical" <(ext baseline-ca/cert.pem basicConstraints)
expect "baseline-ca: not CA:TRUE" is_ca baseline-ca/cert.pem
expect "baseline-ca: no keyCertSign" grep -q "Certificate Sign" <(ext baseline-ca/cert.pem keyUsage)
expect "baseline-ca: not valid now" openssl x509 -in baseline-ca/cert.pem -noout -checkend 86400

# ---------------------------------------------------------------------------------------------
# What every case.json must say: name method certificateType expectCode expectField, the files
# the case gives, and the optional keys it has (all others must be absent).
EXPECTED="
garbage                        upload server PEM_MALFORMED             upload.certificatePem  cert,key,chain -
truncated-pem                  upload server PEM_MALFORMED             upload.certificatePem  cert,key,chain -
wrong-pem-type                 upload server PEM_MALFORMED             upload.certificatePem  cert,key,chain -
not-x509                       upload server CERTIFICATE_UNPARSEABLE   upload.certificatePem  cert,key,chain -
two-leaves                     upload server PEM_MALFORMED             upload.certificatePem  cert,key,chain -
mismatched-key                 upload server KEY_MISMATCH              upload.privateKeyPem   cert,key,chain -
public-key-as-key              upload server PEM_MALFORMED             upload.privateKeyPem   cert,key,chain -
damaged-key                    upload server PRIVATE_KEY_UNPARSEABLE   upload.privateKeyPem   cert,key,chain -
encrypted-key-no-passphrase    upload server PRIVATE_KEY_ENCRYPTED     upload.privateKeyPem   cert,key,chain -
encrypted-key-wrong-passphrase upload server PRIVATE_KEY_UNPARSEABLE   upload.privateKeyPem   cert,key,chain passphrase
expired                        upload server CERTIFICATE_EXPIRED       upload.certificatePem  cert,key,chain -
not-yet-valid                  upload server CERTIFICATE_NOT_YET_VALID upload.certificatePem  cert,key,chain -
domain-not-covered             upload server DOMAIN_NOT_COVERED        domains                cert,key,chain domains
weak-rsa-1024                  upload server KEY_TOO_WEAK              upload.certificatePem  cert,key,chain -
curve-not-allowed              upload server KEY_ALGORITHM_NOT_ALLOWED upload.certificatePem  cert,key,chain -
ca-as-server                   upload server CA_TYPE_MISMATCH          upload.certificatePem  cert,key,chain -
server-as-ca                   upload ca     CA_TYPE_MISMATCH          upload.certificatePem  cert,chain     -
server-without-key             upload server PRIVATE_KEY_MISSING       upload.privateKeyPem   cert,chain     -
chain-out-of-order             upload server CHAIN_ORDER               upload.chainPem        cert,key,chain -
unrelated-chain                upload server CHAIN_BROKEN              upload.chainPem        cert,key,chain -
chain-signature-invalid        upload server CHAIN_SIGNATURE_INVALID   upload.chainPem        cert,key,chain -
duplicate-in-chain             upload server CHAIN_DUPLICATE           upload.chainPem        cert,key,chain -
chain-has-key-block            upload server PEM_MALFORMED             upload.chainPem        cert,key,chain -
root-in-chain                  upload server CHAIN_INCLUDES_ROOT       upload.chainPem        cert,key,chain -
lifetime-too-long              upload server LIFETIME_TOO_LONG         upload.certificatePem  cert,key,chain -
eku-client-auth-only           upload server SERVER_AUTH_NOT_ALLOWED   upload.certificatePem  cert,key,chain -
no-eku                         upload server EXTENDED_KEY_USAGE_INVALID upload.certificatePem cert,key,chain -
no-san                         upload server SAN_MISSING               upload.certificatePem  cert,key,chain -
ecdsa-key-encipherment         upload server KEY_USAGE_INVALID         upload.certificatePem  cert,key,chain -
sha1-signed                    upload server SIGNATURE_ALGORITHM_WEAK  upload.certificatePem  cert,key,chain -
wildcard-not-left-most         upload server DNS_NAME_INVALID          upload.certificatePem  cert,key,chain -
utf8-dns-name                  upload server DNS_NAME_INVALID          upload.certificatePem  cert,key,chain -
reserved-ip                    upload server IP_ADDRESS_RESERVED       upload.certificatePem  cert,key,chain -
intermediate-expires-first     upload server CHAIN_EXPIRES_BEFORE_LEAF upload.chainPem        cert,key,chain -
oversized                      upload server PEM_TOO_LARGE             upload.certificatePem  cert,key,chain -
signed-wrong-key               signed server KEY_MISMATCH              signed.certificatePem  cert,chain     keyFromVersion
signed-version-missing         signed server VERSION_NOT_FOUND         signed.keyFromVersion  cert,chain     keyFromVersion
acknowledged-error             upload server ACKNOWLEDGE_INVALID       acknowledge            cert,key,chain acknowledge
sans-removed                   upload server SANS_REMOVED              upload.certificatePem  cert,key,chain -
"

# json_string <file> <key>: the string value of a top-level key (case.json is one key per line).
json_string() { sed -n "s/^  \"$2\": \"\\([^\"]*\\)\",\\{0,1\\}\$/\\1/p" "$1"; }
json_raw() { sed -n "s/^  \"$2\": \\(.*[^,]\\),\\{0,1\\}\$/\\1/p" "$1"; }

declare -A listed=()
count=0
while read -r name method type code field files optional; do
  [ -n "$name" ] || continue
  listed[$name]=1
  count=$((count + 1))
  current="cases/$name"
  dir="cases/$name"
  json="$dir/case.json"
  if [ ! -f "$json" ]; then
    fail "missing (no case.json)"
    continue
  fi
  [ "$(json_string "$json" name)" = "$name" ] || fail "case.json name is not '$name'"
  [ "$(json_string "$json" method)" = "$method" ] || fail "case.json method is not '$method'"
  [ "$(json_string "$json" certificateType)" = "$type" ] || fail "case.json certificateType is not '$type'"
  [ "$(json_string "$json" expectCode)" = "$code" ] || fail "case.json expectCode is not '$code'"
  [ "$(json_string "$json" expectField)" = "$field" ] || fail "case.json expectField is not '$field'"
  [ -n "$(json_string "$json" description)" ] || fail "case.json has no description"
  for key in domains passphrase keyFromVersion acknowledge; do
    if [ "$key" = "$optional" ]; then
      [ -n "$(json_raw "$json" "$key")" ] || fail "case.json lacks '$key'"
    else
      [ -z "$(json_raw "$json" "$key")" ] || fail "case.json has '$key', which this case must not give"
    fi
  done
  unknown="$(grep -o '^  "[A-Za-z]*":' "$json" | tr -d ' ":' |
    grep -vx -e name -e method -e certificateType -e expectCode -e expectField -e domains -e passphrase \
      -e keyFromVersion -e acknowledge -e description)"
  [ -z "$unknown" ] || fail "case.json has unknown keys: $unknown"
  for file in cert key chain; do
    if [[ ",$files," == *",$file,"* ]]; then
      [ -f "$dir/$file.pem" ] || fail "$file.pem is missing"
    else
      [ ! -e "$dir/$file.pem" ] || fail "$file.pem must not exist (the input is not given)"
    fi
  done
  extra="$(ls "$dir" | grep -vx -e case.json -e cert.pem -e key.pem -e chain.pem)"
  [ -z "$extra" ] || fail "unexpected files: $extra"
done <<<"$EXPECTED"
for dir in cases/*/; do
  name="$(basename "$dir")"
  [ -n "${listed[$name]:-}" ] || {
    current="cases/$name"
    fail "is not a known case"
  }
done

# ---------------------------------------------------------------------------------------------
# Each case's defect, and that the rest of its inputs is sound.
C=cases

# garbage: the certificate is text without any PEM block.
current=cases/garbage
expect_not "cert.pem contains a PEM BEGIN line" grep -q -- "-----BEGIN" $C/garbage/cert.pem
expect "cert.pem is empty" test -s $C/garbage/cert.pem
is_baseline $C/garbage/key.pem key.pem
is_baseline $C/garbage/chain.pem chain.pem

# truncated-pem: the baseline certificate minus its last 3 lines, END included.
current=cases/truncated-pem
expect "cert.pem is not the baseline certificate minus its last 3 lines" cmp -s $C/truncated-pem/cert.pem <(head -n -3 $BASE/cert.pem)
expect "cert.pem has a BEGIN CERTIFICATE line" grep -qx -- "-----BEGIN CERTIFICATE-----" $C/truncated-pem/cert.pem
expect_not "cert.pem still has an END line" grep -q -- "-----END" $C/truncated-pem/cert.pem
expect_not "cert.pem still parses as a certificate" parses_cert $C/truncated-pem/cert.pem
is_baseline $C/truncated-pem/key.pem key.pem
is_baseline $C/truncated-pem/chain.pem chain.pem

# wrong-pem-type: the certificate input is a PRIVATE KEY block.
current=cases/wrong-pem-type
expect "cert.pem is not exactly one PRIVATE KEY block" test "$(labels $C/wrong-pem-type/cert.pem)" = "PRIVATE KEY"
expect "the PRIVATE KEY block is not a readable key" parses_key $C/wrong-pem-type/cert.pem
expect_not "cert.pem parses as a certificate" parses_cert $C/wrong-pem-type/cert.pem
is_baseline $C/wrong-pem-type/key.pem key.pem
is_baseline $C/wrong-pem-type/chain.pem chain.pem

# not-x509: a CERTIFICATE block of valid base64 that is not X.509.
current=cases/not-x509
expect "cert.pem is not exactly one CERTIFICATE block" test "$(labels $C/not-x509/cert.pem)" = "CERTIFICATE"
body="$(sed '1d;$d' $C/not-x509/cert.pem | tr -d '\n')"
expect "the body is not canonical base64" grep -Eqx '[A-Za-z0-9+/]+={0,2}' <<<"$body"
expect "the body length is not a multiple of 4" test $((${#body} % 4)) -eq 0
expect "the body does not decode as base64" openssl base64 -d -A -in <(printf '%s' "$body") -out "$work/random.der"
expect "the body decodes to nothing" test -s "$work/random.der"
expect_not "the block parses as a certificate" parses_cert $C/not-x509/cert.pem
is_baseline $C/not-x509/key.pem key.pem
is_baseline $C/not-x509/chain.pem chain.pem

# two-leaves: two leaves where one belongs: the baseline's, then another server's.
current=cases/two-leaves
expect "cert.pem is not two CERTIFICATE blocks" test "$(labels $C/two-leaves/cert.pem)" = "CERTIFICATE,CERTIFICATE"
block $C/two-leaves/cert.pem 1 "$work/first.pem" && block $C/two-leaves/cert.pem 2 "$work/second.pem"
expect "the first certificate is not the baseline leaf" same_cert "$work/first.pem" $BASE/cert.pem
expect_not "the second certificate is a CA" is_ca "$work/second.pem"
expect "the second certificate is not a good leaf for other.example.test" verifies "$work/second.pem" $INTERMEDIATE -purpose sslserver -verify_hostname other.example.test
is_baseline $C/two-leaves/key.pem key.pem
is_baseline $C/two-leaves/chain.pem chain.pem

# mismatched-key: the baseline certificate with another, otherwise good, EC P-256 key.
current=cases/mismatched-key
is_baseline $C/mismatched-key/cert.pem cert.pem
is_baseline $C/mismatched-key/chain.pem chain.pem
expect "key.pem does not parse" parses_key $C/mismatched-key/key.pem
expect "key.pem is not EC P-256" grep -q "NIST CURVE: P-256" <(openssl pkey -in $C/mismatched-key/key.pem -noout -text)
expect "key.pem belongs to the certificate" differs_key $C/mismatched-key/cert.pem $C/mismatched-key/key.pem

# public-key-as-key: the key input is the certificate's public key.
current=cases/public-key-as-key
is_baseline $C/public-key-as-key/cert.pem cert.pem
is_baseline $C/public-key-as-key/chain.pem chain.pem
expect "key.pem is not exactly one PUBLIC KEY block" test "$(labels $C/public-key-as-key/key.pem)" = "PUBLIC KEY"
expect "key.pem is not the certificate's public key" test "$(openssl pkey -pubin -in $C/public-key-as-key/key.pem -pubout 2>/dev/null)" = "$(cert_pubkey $BASE/cert.pem)"

# damaged-key: the baseline key with characters replaced: same length, valid base64, not a key.
current=cases/damaged-key
is_baseline $C/damaged-key/cert.pem cert.pem
is_baseline $C/damaged-key/chain.pem chain.pem
good="$(sed '1d;$d' $BASE/key.pem | tr -d '\n')"
bad="$(sed '1d;$d' $C/damaged-key/key.pem | tr -d '\n')"
expect "the key's label is not PRIVATE KEY" test "$(labels $C/damaged-key/key.pem)" = "PRIVATE KEY"
expect "the body has another length than the baseline key's" test "${#bad}" -eq "${#good}"
expect "the body is the baseline key's, undamaged" test "$bad" != "$good"
expect "the body is not valid base64" grep -Eqx '[A-Za-z0-9+/]+={0,2}' <<<"$bad"
expect "the body does not decode as base64" openssl base64 -d -A -in <(printf '%s' "$bad") -out "$work/damaged.der"
changed=0
for ((i = 0; i < ${#good}; i++)); do [ "${good:i:1}" = "${bad:i:1}" ] || changed=$((changed + 1)); done
expect "more than 4 base64 characters differ from the baseline key ($changed)" test "$changed" -le 4
expect_not "the damaged key still parses" parses_key $C/damaged-key/key.pem

# encrypted-key-no-passphrase: the baseline key, encrypted; no passphrase is given.
current=cases/encrypted-key-no-passphrase
is_baseline $C/encrypted-key-no-passphrase/cert.pem cert.pem
is_baseline $C/encrypted-key-no-passphrase/chain.pem chain.pem
expect "key.pem is not an ENCRYPTED PRIVATE KEY" test "$(labels $C/encrypted-key-no-passphrase/key.pem)" = "ENCRYPTED PRIVATE KEY"
expect_not "key.pem opens without a passphrase" parses_key $C/encrypted-key-no-passphrase/key.pem
expect "key.pem, decrypted, is not the certificate's key" same_key $BASE/cert.pem $C/encrypted-key-no-passphrase/key.pem "$KEY_PASSPHRASE"

# encrypted-key-wrong-passphrase: the same encrypted key; the passphrase given is wrong.
current=cases/encrypted-key-wrong-passphrase
is_baseline $C/encrypted-key-wrong-passphrase/cert.pem cert.pem
is_baseline $C/encrypted-key-wrong-passphrase/chain.pem chain.pem
given="$(json_string $C/encrypted-key-wrong-passphrase/case.json passphrase)"
expect "the passphrase given is not 'wrong'" test "$given" = wrong
expect "key.pem is not an ENCRYPTED PRIVATE KEY" test "$(labels $C/encrypted-key-wrong-passphrase/key.pem)" = "ENCRYPTED PRIVATE KEY"
expect_not "key.pem opens with the passphrase given" openssl pkey -in $C/encrypted-key-wrong-passphrase/key.pem -noout -passin "pass:$given"
expect "key.pem, decrypted, is not the certificate's key" same_key $BASE/cert.pem $C/encrypted-key-wrong-passphrase/key.pem "$KEY_PASSPHRASE"

# expired: valid 2020-01-01 to 2020-06-01; sound in every other way (it verifies in March 2020).
current=cases/expired
expect "notBefore is not 2020-01-01" test "$(epoch $C/expired/cert.pem startdate)" -eq "$(at 2020-01-01T00:00:00Z)"
expect "notAfter is not 2020-06-01" test "$(epoch $C/expired/cert.pem enddate)" -eq "$(at 2020-06-01T00:00:00Z)"
expect "verification does not fail with 'certificate has expired'" verify_error 10 $C/expired/cert.pem $C/expired/chain.pem
good_leaf $C/expired/cert.pem $C/expired/chain.pem -attime "$(at 2020-03-01)"
both_names $C/expired/cert.pem
expect "the key does not match" same_key $C/expired/cert.pem $C/expired/key.pem

# not-yet-valid: valid 2035-01-01 to 2035-06-01; sound in every other way (it verifies in March 2035).
current=cases/not-yet-valid
expect "notBefore is not 2035-01-01" test "$(epoch $C/not-yet-valid/cert.pem startdate)" -eq "$(at 2035-01-01T00:00:00Z)"
expect "notAfter is not 2035-06-01" test "$(epoch $C/not-yet-valid/cert.pem enddate)" -eq "$(at 2035-06-01T00:00:00Z)"
expect "verification does not fail with 'certificate is not yet valid'" verify_error 9 $C/not-yet-valid/cert.pem $C/not-yet-valid/chain.pem
good_leaf $C/not-yet-valid/cert.pem $C/not-yet-valid/chain.pem -attime "$(at 2035-03-01)"
both_names $C/not-yet-valid/cert.pem
expect "the key does not match" same_key $C/not-yet-valid/cert.pem $C/not-yet-valid/key.pem

# domain-not-covered: the baseline, with admin.example.test declared, which it does not name.
current=cases/domain-not-covered
is_baseline $C/domain-not-covered/cert.pem cert.pem
is_baseline $C/domain-not-covered/key.pem key.pem
is_baseline $C/domain-not-covered/chain.pem chain.pem
expect "domains is not [api.example.test, admin.example.test]" \
  test "$(json_raw $C/domain-not-covered/case.json domains)" = '["api.example.test", "admin.example.test"]'
expect "the certificate does not cover api.example.test" verifies $C/domain-not-covered/cert.pem $BASE/chain.pem -verify_hostname api.example.test
expect "the certificate covers admin.example.test" verify_error 62 $C/domain-not-covered/cert.pem $BASE/chain.pem -verify_hostname admin.example.test

# weak-rsa-1024: an RSA 1024 leaf, sound in every other way.
current=cases/weak-rsa-1024
expect "the key is not RSA 1024" grep -q "Public-Key: (1024 bit)" <(key_text $C/weak-rsa-1024/cert.pem)
expect "the key is not RSA" grep -q "rsaEncryption" <(key_text $C/weak-rsa-1024/cert.pem)
good_leaf $C/weak-rsa-1024/cert.pem $C/weak-rsa-1024/chain.pem
both_names $C/weak-rsa-1024/cert.pem
days $C/weak-rsa-1024/cert.pem 90
expect "the key does not match" same_key $C/weak-rsa-1024/cert.pem $C/weak-rsa-1024/key.pem

# curve-not-allowed: an EC secp256k1 leaf, sound in every other way.
current=cases/curve-not-allowed
expect "the key is not EC secp256k1" grep -q "ASN1 OID: secp256k1" <(key_text $C/curve-not-allowed/cert.pem)
good_leaf $C/curve-not-allowed/cert.pem $C/curve-not-allowed/chain.pem
both_names $C/curve-not-allowed/cert.pem
days $C/curve-not-allowed/cert.pem 90
expect "the key does not match" same_key $C/curve-not-allowed/cert.pem $C/curve-not-allowed/key.pem

# ca-as-server: a CA certificate (90 days, the baseline's names) given as a server certificate.
current=cases/ca-as-server
expect "the certificate is not CA:TRUE" is_ca $C/ca-as-server/cert.pem
expect "the certificate does not verify against the root" verifies $C/ca-as-server/cert.pem $C/ca-as-server/chain.pem
expect "chain.pem is not the intermediate" cmp -s $C/ca-as-server/chain.pem $INTERMEDIATE
both_names $C/ca-as-server/cert.pem
ec_p256 $C/ca-as-server/cert.pem
days $C/ca-as-server/cert.pem 90
expect "the key does not match" same_key $C/ca-as-server/cert.pem $C/ca-as-server/key.pem

# server-as-ca: the baseline leaf (CA:FALSE) given as a CA certificate, no key.
current=cases/server-as-ca
is_baseline $C/server-as-ca/cert.pem cert.pem
is_baseline $C/server-as-ca/chain.pem chain.pem
expect_not "the certificate is a CA" is_ca $C/server-as-ca/cert.pem

# server-without-key: the baseline certificate and chain; no key.pem.
current=cases/server-without-key
is_baseline $C/server-without-key/cert.pem cert.pem
is_baseline $C/server-without-key/chain.pem chain.pem

# chain-out-of-order: a leaf of intermediate2; chain.pem lists intermediate, then intermediate2.
current=cases/chain-out-of-order
d=$C/chain-out-of-order
expect "chain.pem is not two CERTIFICATE blocks" test "$(labels $d/chain.pem)" = "CERTIFICATE,CERTIFICATE"
block $d/chain.pem 1 "$work/first.pem" && block $d/chain.pem 2 "$work/second.pem"
expect "the first chain certificate is not the intermediate" same_cert "$work/first.pem" $INTERMEDIATE
expect "the second chain certificate is not intermediate2" same_cert "$work/second.pem" $INTERMEDIATE2
expect "the leaf is not issued by intermediate2" named_issuer $d/cert.pem $INTERMEDIATE2
expect_not "the first chain certificate issued the leaf (the chain is in order)" named_issuer $d/cert.pem "$work/first.pem"
cat "$work/second.pem" "$work/first.pem" >"$work/in-order.pem"
good_leaf $d/cert.pem "$work/in-order.pem"
both_names $d/cert.pem
days $d/cert.pem 90
expect "the key does not match" same_key $d/cert.pem $d/key.pem

# unrelated-chain: the baseline leaf; the chain is an unrelated CA's intermediate.
current=cases/unrelated-chain
is_baseline $C/unrelated-chain/cert.pem cert.pem
is_baseline $C/unrelated-chain/key.pem key.pem
expect "chain.pem is not the unrelated intermediate" cmp -s $C/unrelated-chain/chain.pem pki/unrelated-intermediate.pem
expect_not "the chain certificate has the leaf's issuer name" named_issuer $C/unrelated-chain/cert.pem $C/unrelated-chain/chain.pem
expect "the leaf does not fail with 'unable to get local issuer certificate'" verify_error 20 $C/unrelated-chain/cert.pem $C/unrelated-chain/chain.pem

# chain-signature-invalid: a forged intermediate: the real one's exact subject and key identifier,
# another key, itself properly issued by the root; it did not sign the leaf.
current=cases/chain-signature-invalid
d=$C/chain-signature-invalid
is_baseline $d/cert.pem cert.pem
is_baseline $d/key.pem key.pem
expect "the forged subject differs from the intermediate's" test "$(openssl x509 -in $d/chain.pem -noout -subject)" = "$(openssl x509 -in $INTERMEDIATE -noout -subject)"
expect "the forged subject hash differs from the intermediate's" test "$(openssl x509 -in $d/chain.pem -noout -subject_hash)" = "$(openssl x509 -in $INTERMEDIATE -noout -subject_hash)"
expect "the forged key identifier differs from the intermediate's" test "$(skid $d/chain.pem)" = "$(skid $INTERMEDIATE)"
expect "the forged intermediate is the real one" test "$(cert_pubkey $d/chain.pem)" != "$(cert_pubkey $INTERMEDIATE)"
expect "the forged intermediate does not verify against the root" verifies $d/chain.pem
expect "the leaf does not fail with 'certificate signature failure'" verify_error 7 $d/cert.pem $d/chain.pem

# duplicate-in-chain: the intermediate twice.
current=cases/duplicate-in-chain
is_baseline $C/duplicate-in-chain/cert.pem cert.pem
is_baseline $C/duplicate-in-chain/key.pem key.pem
expect "chain.pem is not the intermediate twice" cmp -s $C/duplicate-in-chain/chain.pem <(cat $INTERMEDIATE $INTERMEDIATE)
expect "the leaf does not verify with the chain" verifies $C/duplicate-in-chain/cert.pem $C/duplicate-in-chain/chain.pem

# chain-has-key-block: the intermediate, then a PRIVATE KEY block.
current=cases/chain-has-key-block
is_baseline $C/chain-has-key-block/cert.pem cert.pem
is_baseline $C/chain-has-key-block/key.pem key.pem
expect "chain.pem is not CERTIFICATE then PRIVATE KEY" test "$(labels $C/chain-has-key-block/chain.pem)" = "CERTIFICATE,PRIVATE KEY"
block $C/chain-has-key-block/chain.pem 1 "$work/first.pem" && block $C/chain-has-key-block/chain.pem 2 "$work/second.pem"
expect "the first block is not the intermediate" same_cert "$work/first.pem" $INTERMEDIATE
expect "the PRIVATE KEY block is not a readable key" parses_key "$work/second.pem"

# root-in-chain: the intermediate, then the self-signed root; everything verifies.
current=cases/root-in-chain
is_baseline $C/root-in-chain/cert.pem cert.pem
is_baseline $C/root-in-chain/key.pem key.pem
expect "chain.pem is not the intermediate then the root" cmp -s $C/root-in-chain/chain.pem <(cat $INTERMEDIATE $ROOT)
block $C/root-in-chain/chain.pem 2 "$work/second.pem"
expect "the last chain certificate is not self-signed" self_signed "$work/second.pem"
good_leaf $C/root-in-chain/cert.pem $C/root-in-chain/chain.pem

# lifetime-too-long: a good leaf valid 825 days.
current=cases/lifetime-too-long
good_leaf $C/lifetime-too-long/cert.pem $C/lifetime-too-long/chain.pem
both_names $C/lifetime-too-long/cert.pem
ec_p256 $C/lifetime-too-long/cert.pem
days $C/lifetime-too-long/cert.pem 825
expect "the key does not match" same_key $C/lifetime-too-long/cert.pem $C/lifetime-too-long/key.pem

# sound_but <case>: a leaf that is the baseline's in every way that does not make its defect:
# P-256 key that matches, 90 days, issued by chain.pem (the intermediate unless said).
sound_but() {
  local d=$C/$1
  ec_p256 $d/cert.pem
  days $d/cert.pem 90
  expect "the key does not match" same_key $d/cert.pem $d/key.pem
  expect "subject is not CN=api.example.test" test "$(subject $d/cert.pem)" = "subject=CN=api.example.test"
  expect "the certificate is not issued by chain.pem" named_issuer $d/cert.pem $d/chain.pem
}

# eku-client-auth-only: clientAuth instead of serverAuth; a good TLS client certificate.
current=cases/eku-client-auth-only
sound_but eku-client-auth-only
both_names $C/eku-client-auth-only/cert.pem
expect "extendedKeyUsage is not clientAuth only" test "$(ext $C/eku-client-auth-only/cert.pem extendedKeyUsage | sed -n '2s/^ *//p')" = "TLS Web Client Authentication"
expect "it does not verify as a TLS client certificate" verifies $C/eku-client-auth-only/cert.pem $C/eku-client-auth-only/chain.pem -purpose sslclient
expect "it does not fail as a TLS server certificate with 'unsupported certificate purpose'" verify_error 26 $C/eku-client-auth-only/cert.pem $C/eku-client-auth-only/chain.pem -purpose sslserver

# no-eku: no extendedKeyUsage; OpenSSL, which does not demand one, verifies it for servers.
current=cases/no-eku
sound_but no-eku
both_names $C/no-eku/cert.pem
expect "it has an extendedKeyUsage" test -z "$(ext $C/no-eku/cert.pem extendedKeyUsage)"
expect "it does not verify as a TLS server certificate" verifies $C/no-eku/cert.pem $C/no-eku/chain.pem -purpose sslserver

# no-san: no subjectAltName; the name only in the CN.
current=cases/no-san
sound_but no-san
expect "it has a subjectAltName" test -z "$(ext $C/no-san/cert.pem subjectAltName)"
expect "extendedKeyUsage is not serverAuth" grep -qx "    TLS Web Server Authentication" <(ext $C/no-san/cert.pem extendedKeyUsage)

# ecdsa-key-encipherment: keyUsage digitalSignature and keyEncipherment on an ECDSA key.
current=cases/ecdsa-key-encipherment
sound_but ecdsa-key-encipherment
both_names $C/ecdsa-key-encipherment/cert.pem
expect "keyUsage is not digitalSignature, keyEncipherment" grep -qx "    Digital Signature, Key Encipherment" <(ext $C/ecdsa-key-encipherment/cert.pem keyUsage)

# sha1-signed: signed with ecdsa-with-SHA1, otherwise the baseline's.
current=cases/sha1-signed
sound_but sha1-signed
both_names $C/sha1-signed/cert.pem
expect "the signature algorithm is not ecdsa-with-SHA1" grep -q "Signature Algorithm: ecdsa-with-SHA1" <(openssl x509 -in $C/sha1-signed/cert.pem -noout -text)

# wildcard-not-left-most, utf8-dns-name, reserved-ip: good leaves with a third name that is wrong.
current=cases/wildcard-not-left-most
good_leaf $C/wildcard-not-left-most/cert.pem $C/wildcard-not-left-most/chain.pem
sound_but wildcard-not-left-most
expect "SANs are not the baseline's and a.*.example.test" test "$(sans $C/wildcard-not-left-most/cert.pem)" = "DNS:api.example.test, DNS:www.example.test, DNS:a.*.example.test"
current=cases/utf8-dns-name
sound_but utf8-dns-name
expect "SANs are not the baseline's and bücher.example.test" test "$(sans $C/utf8-dns-name/cert.pem)" = "DNS:api.example.test, DNS:www.example.test, DNS:bücher.example.test"
expect "the DER does not hold the name's UTF-8 bytes" grep -qa "bücher" <(openssl x509 -in $C/utf8-dns-name/cert.pem -outform DER)
current=cases/reserved-ip
good_leaf $C/reserved-ip/cert.pem $C/reserved-ip/chain.pem
sound_but reserved-ip
expect "SANs are not the baseline's and 10.0.0.1" test "$(sans $C/reserved-ip/cert.pem)" = "DNS:api.example.test, DNS:www.example.test, IP Address:10.0.0.1"

# intermediate-expires-first: a good leaf (90 days) from an intermediate that expires in 30.
current=cases/intermediate-expires-first
d=$C/intermediate-expires-first
sound_but intermediate-expires-first
good_leaf $d/cert.pem $d/chain.pem
both_names $d/cert.pem
expect "chain.pem is not the short-lived intermediate" cmp -s $d/chain.pem pki/short-intermediate.pem
expect "the intermediate does not verify against the root" verifies $d/chain.pem
expect "the intermediate does not expire before the certificate" test "$(epoch $d/chain.pem enddate)" -lt "$(epoch $d/cert.pem enddate)"

# oversized: more than 3 MiB: the baseline certificate, then a huge CERTIFICATE block.
current=cases/oversized
size="$(stat -c %s $C/oversized/cert.pem)"
expect "cert.pem is $size bytes, not more than 3 MiB" test "$size" -gt $THREE_MIB
expect "cert.pem is not two CERTIFICATE blocks" test "$(grep -c -- '^-----BEGIN CERTIFICATE-----$' $C/oversized/cert.pem)" -eq 2
expect "cert.pem does not start with the baseline certificate" cmp -s <(head -c "$(stat -c %s $BASE/cert.pem)" $C/oversized/cert.pem) $BASE/cert.pem
expect "the huge block is not valid base64 lines" test "$(sed '1,/^-----END CERTIFICATE-----$/d' $C/oversized/cert.pem | sed '1d;$d' | grep -cvE '^[A-Za-z0-9+/]+={0,2}$')" -eq 0
is_baseline $C/oversized/key.pem key.pem
is_baseline $C/oversized/chain.pem chain.pem

# signed-wrong-key: a good leaf for another key than version 1's (the baseline key).
current=cases/signed-wrong-key
expect "keyFromVersion is not 1" test "$(json_raw $C/signed-wrong-key/case.json keyFromVersion)" = 1
good_leaf $C/signed-wrong-key/cert.pem $C/signed-wrong-key/chain.pem
both_names $C/signed-wrong-key/cert.pem
days $C/signed-wrong-key/cert.pem 90
expect "chain.pem is not the intermediate" cmp -s $C/signed-wrong-key/chain.pem $INTERMEDIATE
expect "the certificate is for the baseline key" differs_key $C/signed-wrong-key/cert.pem $BASE/key.pem

# signed-version-missing: a good leaf for the baseline key; version 99 does not exist.
current=cases/signed-version-missing
expect "keyFromVersion is not 99" test "$(json_raw $C/signed-version-missing/case.json keyFromVersion)" = 99
good_leaf $C/signed-version-missing/cert.pem $C/signed-version-missing/chain.pem
both_names $C/signed-version-missing/cert.pem
days $C/signed-version-missing/cert.pem 90
expect "chain.pem is not the intermediate" cmp -s $C/signed-version-missing/chain.pem $INTERMEDIATE
expect "the certificate is not for the baseline key" same_key $C/signed-version-missing/cert.pem $BASE/key.pem

# acknowledged-error: the good baseline, acknowledging an error code.
current=cases/acknowledged-error
is_baseline $C/acknowledged-error/cert.pem cert.pem
is_baseline $C/acknowledged-error/key.pem key.pem
is_baseline $C/acknowledged-error/chain.pem chain.pem
expect "acknowledge is not [KEY_MISMATCH]" test "$(json_raw $C/acknowledged-error/case.json acknowledge)" = '["KEY_MISMATCH"]'

# sans-removed: a good leaf for CN=api.example.test naming only api.example.test.
current=cases/sans-removed
good_leaf $C/sans-removed/cert.pem $C/sans-removed/chain.pem
expect "subject is not CN=api.example.test" test "$(subject $C/sans-removed/cert.pem)" = "subject=CN=api.example.test"
expect "SANs are not exactly DNS:api.example.test" test "$(sans $C/sans-removed/cert.pem)" = "DNS:api.example.test"
ec_p256 $C/sans-removed/cert.pem
days $C/sans-removed/cert.pem 90
expect "the key does not match" same_key $C/sans-removed/cert.pem $C/sans-removed/key.pem

# ---------------------------------------------------------------------------------------------
# Modes: every key file, and every file holding a private key block, is 0600.
current=modes
while IFS= read -r file; do
  holds_key=0
  case "$file" in */key.pem | *.key) holds_key=1 ;; esac
  grep -q -e "^-----BEGIN .*PRIVATE KEY-----" "$file" && holds_key=1
  if [ "$holds_key" = 1 ] && [ "$(stat -c %a "$file")" != 600 ]; then
    fail "$file holds a private key but is mode $(stat -c %a "$file"), not 600"
  fi
done < <(find pki baseline baseline-ca cases -type f)

if [ "$failures" -gt 0 ]; then
  echo "check-bad-input-corpus: $failures problem(s) in $out" >&2
  exit 1
fi
echo "$count cases OK"
