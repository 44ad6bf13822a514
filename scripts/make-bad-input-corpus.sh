#!/usr/bin/env bash
# Makes the bad-input corpus with OpenSSL: one directory per case, each holding inputs that are
# wrong in exactly one way, and a case.json naming the error code and field certstage must report.
#
#   scripts/make-bad-input-corpus.sh <outdir>
#
# Writes <outdir>/pki (the CAs), <outdir>/baseline (a good server certificate, key and chain),
# <outdir>/baseline-ca (a good CA certificate) and <outdir>/cases/<name>/{case.json,cert.pem,
# key.pem,chain.pem}; a case leaves out the files whose input is not given. Running it again
# replaces those four entries and nothing else in <outdir>. Every file that holds a private key
# is 0600. Nothing here is ever committed: private keys are made at run time.
# scripts/check-bad-input-corpus.sh proves each case has its defect and no other.
#
# Dates: the CAs are valid 2019-01-01 to 2040 (root 2045), so the expired (2020) and not yet
# valid (2035) leaves fall inside their issuers' validity and are wrong only in their own dates.
# Every leaf names api.example.test and www.example.test like the baseline (except where the
# case is about names), so a case never trips SANS_REMOVED after the baseline is deployed.
set -euo pipefail
out="${1:?usage: make-bad-input-corpus.sh <outdir>}"
umask 077

# The passphrase of the encrypted-key cases; the checker uses the same one.
readonly KEY_PASSPHRASE="corpus-key-passphrase"

given="$out"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
rm -rf "$out/pki" "$out/baseline" "$out/baseline-ca" "$out/cases"
mkdir -p "$out/pki" "$out/baseline" "$out/baseline-ca" "$out/cases"
pki="$out/pki"
base="$out/baseline"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
log="$work/openssl.log"

# openssl, silent on success; on failure its output and the command go to stderr and we stop.
ossl() {
  if ! openssl "$@" >"$log" 2>&1; then
    echo "make-bad-input-corpus: failed: openssl $*" >&2
    cat "$log" >&2
    exit 1
  fi
}

die() {
  echo "make-bad-input-corpus: $*" >&2
  exit 1
}

# ---------------------------------------------------------------------------------------------
# Signing: `openssl ca`, because OpenSSL 3.0's `x509 -req` cannot set dates in the past.
mkdir -p "$work/ca/newcerts"
: >"$work/ca/index.txt"
cat >"$work/ca.cnf" <<EOF
[ ca ]
default_ca = corpus_ca

[ corpus_ca ]
database         = $work/ca/index.txt
new_certs_dir    = $work/ca/newcerts
rand_serial      = yes
unique_subject   = no
default_md       = sha256
policy           = policy_anything
preserve         = yes
email_in_dn      = no
copy_extensions  = none

[ policy_anything ]
countryName            = optional
stateOrProvinceName    = optional
localityName           = optional
organizationName       = optional
organizationalUnitName = optional
commonName             = supplied
emailAddress           = optional
EOF

# UTCTime (YYMMDDHHMMSSZ) of now plus an offset in seconds.
utc_in() { date -u -d "@$(($(date -u +%s) + $1))" +%y%m%d%H%M%SZ; }
NOW_MINUS_1H="$(utc_in -3600)"
DAYS_90="$(utc_in $((-3600 + 90 * 86400)))"
DAYS_825="$(utc_in $((-3600 + 825 * 86400)))"
readonly CA_START="190101000000Z" CA_END="400101000000Z" ROOT_END="450101000000Z"

ec_key() { ossl genpkey -algorithm EC -pkeyopt "ec_paramgen_curve:${2:-P-256}" -out "$1"; }

# Extensions: a CA (optionally with a pathlen and SANs), or a server leaf with the given SANs.
ca_ext() { # <file> [pathlen] [san]
  {
    echo "[ ext ]"
    echo "basicConstraints = critical,CA:TRUE${2:+,pathlen:$2}"
    echo "keyUsage = critical,keyCertSign,cRLSign"
    echo "subjectKeyIdentifier = hash"
    echo "authorityKeyIdentifier = keyid:always"
    if [ -n "${3:-}" ]; then echo "subjectAltName = $3"; fi
  } >"$1"
}
leaf_ext() { # <file> <san>
  cat >"$1" <<EOF
[ ext ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = $2
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EOF
}

# sign <out.pem> <key> <subject> <issuer-cert|self> <issuer-key> <ext-file> <start> <end> [digest]
sign() {
  local cert=$1 key=$2 subject=$3 issuer=$4 issuer_key=$5 ext=$6 start=$7 end=$8 md=${9:-sha256}
  local csr="$work/request.csr"
  ossl req -new -key "$key" -subj "$subject" -out "$csr"
  if [ "$issuer" = self ]; then
    ossl ca -batch -notext -config "$work/ca.cnf" -selfsign -keyfile "$key" -in "$csr" -md "$md" \
      -extfile "$ext" -extensions ext -startdate "$start" -enddate "$end" -out "$cert"
  else
    ossl ca -batch -notext -config "$work/ca.cnf" -cert "$issuer" -keyfile "$issuer_key" -in "$csr" -md "$md" \
      -extfile "$ext" -extensions ext -startdate "$start" -enddate "$end" -out "$cert"
  fi
  [ -s "$cert" ] || die "openssl ca wrote no certificate for $subject"
}

BOTH_SANS="DNS:api.example.test,DNS:www.example.test"
leaf_ext "$work/leaf.ext" "$BOTH_SANS"

# leaf <dir> [san] [start] [end] [key-type]: a fresh key and a server leaf signed by the
# intermediate, into <dir>/{key.pem,cert.pem}; chain.pem = intermediate.
leaf() {
  local dir=$1 san=${2:-$BOTH_SANS} start=${3:-$NOW_MINUS_1H} end=${4:-$DAYS_90} curve=${5:-P-256}
  mkdir -p "$dir"
  if [ "$curve" = RSA1024 ]; then
    ossl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out "$dir/key.pem"
  else
    ec_key "$dir/key.pem" "$curve"
  fi
  leaf_ext "$work/this-leaf.ext" "$san"
  sign "$dir/cert.pem" "$dir/key.pem" "/CN=api.example.test" "$pki/intermediate.pem" "$pki/intermediate.key" \
    "$work/this-leaf.ext" "$start" "$end"
  cp "$pki/intermediate.pem" "$dir/chain.pem"
}

# custom_leaf <dir> <ext-lines> [digest] [issuer-cert] [issuer-key] [start] [end]: a fresh EC
# P-256 key and a leaf for CN=api.example.test with exactly these extension lines.
custom_leaf() {
  local dir=$1 lines=$2 md=${3:-sha256} issuer=${4:-$pki/intermediate.pem} issuer_key=${5:-$pki/intermediate.key}
  local start=${6:-$NOW_MINUS_1H} end=${7:-$DAYS_90}
  mkdir -p "$dir"
  ec_key "$dir/key.pem"
  printf '[ ext ]\n%s\n' "$lines" >"$work/custom.ext"
  sign "$dir/cert.pem" "$dir/key.pem" "/CN=api.example.test" "$issuer" "$issuer_key" "$work/custom.ext" "$start" "$end" "$md"
  cp "$issuer" "$dir/chain.pem"
}
# The lines of leaf_ext, for cases that change one of them.
LEAF_BC="basicConstraints = critical,CA:FALSE"
LEAF_KU="keyUsage = critical,digitalSignature"
LEAF_EKU="extendedKeyUsage = serverAuth"
LEAF_IDS=$'subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid:always'

# case_json <name> <method> <certificateType> <code> <field> <description> [extra "key": value ...]
case_json() {
  local name=$1 method=$2 type=$3 code=$4 field=$5 description=$6
  shift 6
  mkdir -p "$out/cases/$name"
  {
    printf '{\n  "name": "%s",\n  "method": "%s",\n  "certificateType": "%s",\n' "$name" "$method" "$type"
    printf '  "expectCode": "%s",\n  "expectField": "%s",\n' "$code" "$field"
    local extra
    for extra in "$@"; do printf '  %s,\n' "$extra"; done
    printf '  "description": "%s"\n}\n' "$description"
  } >"$out/cases/$name/case.json"
}

# copy_baseline <case> <file...>: the baseline's files, unchanged.
copy_baseline() {
  local name=$1
  shift
  local file
  for file in "$@"; do cp "$base/$file" "$out/cases/$name/$file"; done
}

# ---------------------------------------------------------------------------------------------
# PKI: root -> intermediate -> intermediate2; an unrelated root -> intermediate; and a forged
# intermediate with the real intermediate's name and key identifier but its own key.
ca_ext "$work/root.ext"
ca_ext "$work/int.ext"
ca_ext "$work/int2.ext" 0
ORG="/O=certstage corpus"
INTERMEDIATE_DN="$ORG/CN=certstage corpus intermediate CA"

ec_key "$pki/root.key"
sign "$pki/root.pem" "$pki/root.key" "$ORG/CN=certstage corpus root CA" self "" "$work/root.ext" "$CA_START" "$ROOT_END"
ec_key "$pki/intermediate.key"
sign "$pki/intermediate.pem" "$pki/intermediate.key" "$INTERMEDIATE_DN" "$pki/root.pem" "$pki/root.key" \
  "$work/int.ext" "$CA_START" "$CA_END"
ec_key "$pki/intermediate2.key"
sign "$pki/intermediate2.pem" "$pki/intermediate2.key" "$ORG/CN=certstage corpus second intermediate CA" \
  "$pki/intermediate.pem" "$pki/intermediate.key" "$work/int2.ext" "$CA_START" "$CA_END"

UNRELATED="/O=unrelated corpus CA"
ec_key "$pki/unrelated-root.key"
sign "$pki/unrelated-root.pem" "$pki/unrelated-root.key" "$UNRELATED/CN=unrelated corpus root CA" self "" \
  "$work/root.ext" "$CA_START" "$ROOT_END"
ec_key "$pki/unrelated-intermediate.key"
sign "$pki/unrelated-intermediate.pem" "$pki/unrelated-intermediate.key" "$UNRELATED/CN=unrelated corpus intermediate CA" \
  "$pki/unrelated-root.pem" "$pki/unrelated-root.key" "$work/int.ext" "$CA_START" "$CA_END"

# The forgery copies the subject key identifier too: a leaf's authorityKeyIdentifier then points
# at it, so issuer lookup picks it and only the signature check can tell it is not the issuer.
skid="$(openssl x509 -in "$pki/intermediate.pem" -noout -ext subjectKeyIdentifier | sed -n '2s/^ *//p')"
[ -n "$skid" ] || die "the intermediate has no subjectKeyIdentifier"
sed "s/^subjectKeyIdentifier = .*/subjectKeyIdentifier = $skid/" "$work/int.ext" >"$work/forged.ext"
ec_key "$pki/forged-intermediate.key"
sign "$pki/forged-intermediate.pem" "$pki/forged-intermediate.key" "$INTERMEDIATE_DN" "$pki/root.pem" "$pki/root.key" \
  "$work/forged.ext" "$CA_START" "$CA_END"

# ---------------------------------------------------------------------------------------------
# Baselines: a good server certificate (90 days, EC P-256, chain = intermediate) and a good CA.
leaf "$base"
cp "$pki/root.pem" "$out/baseline-ca/cert.pem"

# ---------------------------------------------------------------------------------------------
# Cases. Unless a case says otherwise, the inputs it does not break are the baseline's.
UP=upload
C=upload.certificatePem
K=upload.privateKeyPem
CH=upload.chainPem

# garbage: the certificate input is plain text, no PEM at all.
case_json garbage $UP server PEM_MALFORMED $C "the certificate is plain English text, not PEM"
printf 'This is not a certificate.\nIt is a plain sentence where the certificate should be.\n' >"$out/cases/garbage/cert.pem"
copy_baseline garbage key.pem chain.pem

# truncated-pem: the baseline certificate without its last 3 lines (the END line among them).
case_json truncated-pem $UP server PEM_MALFORMED $C "the certificate PEM is cut off: its last 3 lines, END included, are missing"
head -n -3 "$base/cert.pem" >"$out/cases/truncated-pem/cert.pem"
copy_baseline truncated-pem key.pem chain.pem

# wrong-pem-type: the certificate input holds a PRIVATE KEY block (a throwaway key).
case_json wrong-pem-type $UP server PEM_MALFORMED $C "the certificate input holds a PRIVATE KEY block"
ec_key "$out/cases/wrong-pem-type/cert.pem"
copy_baseline wrong-pem-type key.pem chain.pem

# not-x509: a CERTIFICATE block whose body is valid base64 of random bytes.
case_json not-x509 $UP server CERTIFICATE_UNPARSEABLE $C "a CERTIFICATE block whose base64 body is random bytes, not X.509 DER"
ossl rand -base64 -out "$work/random.b64" 600
{
  echo "-----BEGIN CERTIFICATE-----"
  cat "$work/random.b64"
  echo "-----END CERTIFICATE-----"
} >"$out/cases/not-x509/cert.pem"
copy_baseline not-x509 key.pem chain.pem

# two-leaves: the certificate input holds two leaves: the baseline's and another server's. (The
# leaf followed by its intermediate, as certbot's fullchain.pem is, is accepted and split.)
case_json two-leaves $UP server PEM_MALFORMED $C "the certificate input holds two leaves: the baseline's and one for other.example.test"
leaf "$work/other-leaf" "DNS:other.example.test"
cat "$base/cert.pem" "$work/other-leaf/cert.pem" >"$out/cases/two-leaves/cert.pem"
copy_baseline two-leaves key.pem chain.pem

# mismatched-key: the baseline certificate with a different (fresh EC P-256) key.
case_json mismatched-key $UP server KEY_MISMATCH $K "the private key is a fresh EC P-256 key, not the certificate's key"
copy_baseline mismatched-key cert.pem chain.pem
ec_key "$out/cases/mismatched-key/key.pem"

# public-key-as-key: the key input is the certificate's PUBLIC KEY, not the private key.
case_json public-key-as-key $UP server PEM_MALFORMED $K "the key input is the certificate's PUBLIC KEY block"
copy_baseline public-key-as-key cert.pem chain.pem
ossl pkey -in "$base/key.pem" -pubout -out "$out/cases/public-key-as-key/key.pem"

# damaged-key: the baseline key with 4 base64 characters in the middle of its body replaced: still
# valid base64 of the same length, but the DER no longer decodes as a key. The middle of a P-256
# PKCS#8 key is the ASN.1 framing of its public key; other positions are tried if it ever is not.
case_json damaged-key $UP server PRIVATE_KEY_UNPARSEABLE $K "the private key's base64 body has 4 characters replaced in the middle, so its DER is not a key"
copy_baseline damaged-key cert.pem chain.pem
body="$(sed '1d;$d' "$base/key.pem" | tr -d '\n')"
damaged=""
for offset in 0 4 -4 8 -8 12 -12; do
  at=$(((${#body} / 2) / 4 * 4 + offset))
  for quad in AAAA ////; do
    [ "${body:at:4}" != "$quad" ] || continue
    candidate="${body:0:at}${quad}${body:at+4}"
    {
      echo "-----BEGIN PRIVATE KEY-----"
      printf '%s' "$candidate" | fold -w 64
      echo
      echo "-----END PRIVATE KEY-----"
    } >"$work/damaged.pem"
    if ! openssl pkey -in "$work/damaged.pem" -noout >/dev/null 2>&1; then
      damaged="$work/damaged.pem"
      break 2
    fi
  done
done
[ -n "$damaged" ] || die "could not damage the baseline key so that it stops decoding"
cp "$damaged" "$out/cases/damaged-key/key.pem"

# encrypted-key-no-passphrase: the baseline key encrypted (PKCS#8, AES-256), no passphrase given.
case_json encrypted-key-no-passphrase $UP server PRIVATE_KEY_ENCRYPTED $K "the private key is encrypted and no passphrase is given"
copy_baseline encrypted-key-no-passphrase cert.pem chain.pem
ossl pkey -in "$base/key.pem" -aes256 -passout "pass:$KEY_PASSPHRASE" -out "$out/cases/encrypted-key-no-passphrase/key.pem"

# encrypted-key-wrong-passphrase: the same encrypted key, with a wrong passphrase.
case_json encrypted-key-wrong-passphrase $UP server PRIVATE_KEY_UNPARSEABLE $K "the private key is encrypted and the passphrase given is wrong" \
  '"passphrase": "wrong"'
copy_baseline encrypted-key-wrong-passphrase cert.pem chain.pem
cp "$out/cases/encrypted-key-no-passphrase/key.pem" "$out/cases/encrypted-key-wrong-passphrase/key.pem"

# expired: a leaf valid 2020-01-01 to 2020-06-01.
case_json expired $UP server CERTIFICATE_EXPIRED $C "the certificate expired on 2020-06-01 (valid from 2020-01-01)"
leaf "$out/cases/expired" "$BOTH_SANS" 200101000000Z 200601000000Z

# not-yet-valid: a leaf valid 2035-01-01 to 2035-06-01.
case_json not-yet-valid $UP server CERTIFICATE_NOT_YET_VALID $C "the certificate becomes valid only on 2035-01-01 (until 2035-06-01)"
leaf "$out/cases/not-yet-valid" "$BOTH_SANS" 350101000000Z 350601000000Z

# domain-not-covered: the baseline, but the domains also declare admin.example.test.
case_json domain-not-covered $UP server DOMAIN_NOT_COVERED domains "admin.example.test is declared but not in the certificate's subjectAltName" \
  '"domains": ["api.example.test", "admin.example.test"]'
copy_baseline domain-not-covered cert.pem key.pem chain.pem

# weak-rsa-1024: a leaf for an RSA 1024-bit key.
case_json weak-rsa-1024 $UP server KEY_TOO_WEAK $C "the certificate's key is RSA 1024"
leaf "$out/cases/weak-rsa-1024" "$BOTH_SANS" "$NOW_MINUS_1H" "$DAYS_90" RSA1024

# curve-not-allowed: a leaf for an EC key on secp256k1.
case_json curve-not-allowed $UP server KEY_ALGORITHM_NOT_ALLOWED $C "the certificate's key is EC secp256k1, not P-256 or P-384"
leaf "$out/cases/curve-not-allowed" "$BOTH_SANS" "$NOW_MINUS_1H" "$DAYS_90" secp256k1

# ca-as-server: a server certificate input that is a CA certificate (a sub-CA of the
# intermediate, 90 days, with the baseline's names so nothing but CA:TRUE differs), with its key.
case_json ca-as-server $UP server CA_TYPE_MISMATCH $C "a CA certificate (basicConstraints CA:TRUE) given as a server certificate"
mkdir -p "$out/cases/ca-as-server"
ec_key "$out/cases/ca-as-server/key.pem"
ca_ext "$work/sub-ca.ext" 0 "$BOTH_SANS"
sign "$out/cases/ca-as-server/cert.pem" "$out/cases/ca-as-server/key.pem" "$ORG/CN=certstage corpus sub CA" \
  "$pki/intermediate.pem" "$pki/intermediate.key" "$work/sub-ca.ext" "$NOW_MINUS_1H" "$DAYS_90"
cp "$pki/intermediate.pem" "$out/cases/ca-as-server/chain.pem"

# server-as-ca: a CA certificate input that is the baseline server leaf (CA:FALSE); no key.
case_json server-as-ca $UP ca CA_TYPE_MISMATCH $C "a server leaf (basicConstraints CA:FALSE) given as a CA certificate"
copy_baseline server-as-ca cert.pem chain.pem

# server-without-key: a server certificate with its chain but no private key.
case_json server-without-key $UP server PRIVATE_KEY_MISSING $K "a server certificate without its private key"
copy_baseline server-without-key cert.pem chain.pem

# chain-out-of-order: a leaf of intermediate2 (root -> intermediate -> intermediate2 -> leaf);
# the chain lists intermediate before intermediate2 instead of leaf-first.
case_json chain-out-of-order $UP server CHAIN_ORDER $CH "the chain is root-side first (intermediate, then intermediate2), not leaf-first"
mkdir -p "$out/cases/chain-out-of-order"
ec_key "$out/cases/chain-out-of-order/key.pem"
sign "$out/cases/chain-out-of-order/cert.pem" "$out/cases/chain-out-of-order/key.pem" "/CN=api.example.test" \
  "$pki/intermediate2.pem" "$pki/intermediate2.key" "$work/leaf.ext" "$NOW_MINUS_1H" "$DAYS_90"
cat "$pki/intermediate.pem" "$pki/intermediate2.pem" >"$out/cases/chain-out-of-order/chain.pem"

# unrelated-chain: the baseline leaf with the intermediate of an unrelated CA as its chain.
case_json unrelated-chain $UP server CHAIN_BROKEN $CH "the chain is the intermediate of an unrelated CA, which did not issue the certificate"
copy_baseline unrelated-chain cert.pem key.pem
cp "$pki/unrelated-intermediate.pem" "$out/cases/unrelated-chain/chain.pem"

# chain-signature-invalid: the chain is a forged intermediate: the real one's subject DN and key
# identifier, its own key (signed by the root), so it did not sign the baseline leaf.
case_json chain-signature-invalid $UP server CHAIN_SIGNATURE_INVALID $CH "the chain holds an intermediate with the issuer's exact name but another key, which did not sign the certificate"
copy_baseline chain-signature-invalid cert.pem key.pem
cp "$pki/forged-intermediate.pem" "$out/cases/chain-signature-invalid/chain.pem"

# duplicate-in-chain: the intermediate twice.
case_json duplicate-in-chain $UP server CHAIN_DUPLICATE $CH "the chain lists the intermediate twice"
copy_baseline duplicate-in-chain cert.pem key.pem
cat "$pki/intermediate.pem" "$pki/intermediate.pem" >"$out/cases/duplicate-in-chain/chain.pem"

# chain-has-key-block: the intermediate followed by a PRIVATE KEY block (a throwaway key).
case_json chain-has-key-block $UP server PEM_MALFORMED $CH "the chain holds a PRIVATE KEY block after the intermediate"
copy_baseline chain-has-key-block cert.pem key.pem
ec_key "$work/stray.key"
cat "$pki/intermediate.pem" "$work/stray.key" >"$out/cases/chain-has-key-block/chain.pem"

# root-in-chain: the chain is the intermediate, then the self-signed root.
case_json root-in-chain $UP server CHAIN_INCLUDES_ROOT $CH "the chain ends with the self-signed root"
copy_baseline root-in-chain cert.pem key.pem
cat "$pki/intermediate.pem" "$pki/root.pem" >"$out/cases/root-in-chain/chain.pem"

# lifetime-too-long: a good leaf valid 825 days; issued now, SC-081v3 allows 200.
case_json lifetime-too-long $UP server LIFETIME_TOO_LONG $C "the certificate is valid for 825 days; issued after 2026-03-15, it may be valid for 200"
leaf "$out/cases/lifetime-too-long" "$BOTH_SANS" "$NOW_MINUS_1H" "$DAYS_825"

# eku-client-auth-only: extendedKeyUsage clientAuth instead of serverAuth.
case_json eku-client-auth-only $UP server SERVER_AUTH_NOT_ALLOWED $C "the extended key usage is clientAuth only: no client takes it for a server"
custom_leaf "$out/cases/eku-client-auth-only" "$LEAF_BC"$'\n'"$LEAF_KU"$'\n'"extendedKeyUsage = clientAuth"$'\n'"subjectAltName = $BOTH_SANS"$'\n'"$LEAF_IDS"

# no-eku: no extendedKeyUsage at all, which publicly trusted certificates must have.
case_json no-eku $UP server EXTENDED_KEY_USAGE_INVALID $C "the certificate has no extended key usage"
custom_leaf "$out/cases/no-eku" "$LEAF_BC"$'\n'"$LEAF_KU"$'\n'"subjectAltName = $BOTH_SANS"$'\n'"$LEAF_IDS"

# no-san: the names only in the subject CN, no subjectAltName.
case_json no-san $UP server SAN_MISSING $C "the certificate has no subjectAltName; its name is only in the CN, which clients ignore"
custom_leaf "$out/cases/no-san" "$LEAF_BC"$'\n'"$LEAF_KU"$'\n'"$LEAF_EKU"$'\n'"$LEAF_IDS"

# ecdsa-key-encipherment: an ECDSA key whose keyUsage says it may encipher keys.
case_json ecdsa-key-encipherment $UP server KEY_USAGE_INVALID $C "an ECDSA certificate with keyUsage digitalSignature and keyEncipherment"
custom_leaf "$out/cases/ecdsa-key-encipherment" "$LEAF_BC"$'\n'"keyUsage = critical,digitalSignature,keyEncipherment"$'\n'"$LEAF_EKU"$'\n'"subjectAltName = $BOTH_SANS"$'\n'"$LEAF_IDS"

# sha1-signed: the intermediate signed the leaf with ecdsa-with-SHA1.
case_json sha1-signed $UP server SIGNATURE_ALGORITHM_WEAK $C "the intermediate signed the certificate with SHA-1"
custom_leaf "$out/cases/sha1-signed" "$LEAF_BC"$'\n'"$LEAF_KU"$'\n'"$LEAF_EKU"$'\n'"subjectAltName = $BOTH_SANS"$'\n'"$LEAF_IDS" sha1

# wildcard-not-left-most: a third name with the wildcard in a middle label.
case_json wildcard-not-left-most $UP server DNS_NAME_INVALID $C "the names include a.*.example.test: a wildcard only as the whole left-most label"
leaf "$out/cases/wildcard-not-left-most" "$BOTH_SANS,DNS:a.*.example.test"

# utf8-dns-name: a third name written as UTF-8 bytes, not the A-label xn--bcher-kva.example.test.
case_json utf8-dns-name $UP server DNS_NAME_INVALID $C "the names include bücher.example.test in UTF-8, where a dNSName must be ASCII (the A-label)"
leaf "$out/cases/utf8-dns-name" "$BOTH_SANS,DNS:bücher.example.test"

# reserved-ip: a third name, the private address 10.0.0.1.
case_json reserved-ip $UP server IP_ADDRESS_RESERVED $C "the names include 10.0.0.1, a private address no public certificate may name"
leaf "$out/cases/reserved-ip" "$BOTH_SANS,IP:10.0.0.1"

# intermediate-expires-first: the leaf is issued by an intermediate that expires in 30 days.
case_json intermediate-expires-first $UP server CHAIN_EXPIRES_BEFORE_LEAF $CH "the intermediate expires in 30 days, the certificate in 90"
ec_key "$pki/short-intermediate.key"
sign "$pki/short-intermediate.pem" "$pki/short-intermediate.key" "$ORG/CN=certstage corpus short-lived intermediate CA" \
  "$pki/root.pem" "$pki/root.key" "$work/int.ext" "$CA_START" "$(utc_in $((30 * 86400)))"
custom_leaf "$out/cases/intermediate-expires-first" "$LEAF_BC"$'\n'"$LEAF_KU"$'\n'"$LEAF_EKU"$'\n'"subjectAltName = $BOTH_SANS"$'\n'"$LEAF_IDS" \
  sha256 "$pki/short-intermediate.pem" "$pki/short-intermediate.key"

# oversized: the baseline certificate followed by a CERTIFICATE block of ~3.2 MiB of random base64.
case_json oversized $UP server PEM_TOO_LARGE $C "the certificate input is over 3 MiB: the certificate and a huge random block"
ossl rand -base64 -out "$work/huge.b64" 2400000
{
  cat "$base/cert.pem"
  echo "-----BEGIN CERTIFICATE-----"
  cat "$work/huge.b64"
  echo "-----END CERTIFICATE-----"
} >"$out/cases/oversized/cert.pem"
copy_baseline oversized key.pem chain.pem

# signed-wrong-key: method signed with version 1's key, but the certificate is for another key.
case_json signed-wrong-key signed server KEY_MISMATCH signed.certificatePem "the signed certificate is for another key than version 1's" \
  '"keyFromVersion": 1'
leaf "$work/signed-wrong-key"
cp "$work/signed-wrong-key/cert.pem" "$work/signed-wrong-key/chain.pem" "$out/cases/signed-wrong-key/"

# signed-version-missing: a good certificate for the baseline key, but it names version 99.
case_json signed-version-missing signed server VERSION_NOT_FOUND signed.keyFromVersion "the key is taken from version 99, which does not exist" \
  '"keyFromVersion": 99'
sign "$out/cases/signed-version-missing/cert.pem" "$base/key.pem" "/CN=api.example.test" \
  "$pki/intermediate.pem" "$pki/intermediate.key" "$work/leaf.ext" "$NOW_MINUS_1H" "$DAYS_90"
cp "$pki/intermediate.pem" "$out/cases/signed-version-missing/chain.pem"

# acknowledged-error: good inputs, but acknowledge lists an error code, which cannot be acknowledged.
case_json acknowledged-error $UP server ACKNOWLEDGE_INVALID acknowledge "acknowledge lists KEY_MISMATCH, an error, not a warning" \
  '"acknowledge": ["KEY_MISMATCH"]'
copy_baseline acknowledged-error cert.pem key.pem chain.pem

# sans-removed: a good leaf naming only api.example.test; production serves the baseline, which
# also names www.example.test.
case_json sans-removed $UP server SANS_REMOVED $C "the new certificate drops www.example.test, which production (the baseline) serves"
leaf "$out/cases/sans-removed" "DNS:api.example.test"

# ---------------------------------------------------------------------------------------------
# Modes: key files (key.pem, *.key) and any file holding a private key block stay 0600 (umask);
# everything else is made 0644.
while IFS= read -r file; do
  case "$file" in */key.pem | *.key) continue ;; esac
  grep -q -e "^-----BEGIN .*PRIVATE KEY-----" "$file" || chmod 0644 "$file"
done < <(find "$out/pki" "$out/baseline" "$out/baseline-ca" "$out/cases" -type f)
find "$out/pki" "$out/baseline" "$out/baseline-ca" "$out/cases" -type d -exec chmod 0755 {} +

echo "$given"
