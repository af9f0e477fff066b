#!/usr/bin/env bash
# Makes the certificates the TLS tests use, with the openssl command, into DIR (created if
# missing); valid for 2 days, EC P-256 keys, unencrypted:
#   ca.pem/.key         a CA ("hatchet test CA")
#   other_ca.pem/.key   an unrelated CA
#   server.pem/.key     signed by ca: subjectAltName DNS:localhost, IP:127.0.0.1 (serverAuth)
#   internal.pem/.key   signed by ca: subjectAltName DNS:engine.internal only (serverAuth)
#   client.pem/.key     signed by ca: a client certificate (clientAuth)
# OpenSSL's chatter goes to DIR/openssl.log. Exit 1 if openssl is missing or a step fails.
#
# Usage: make_test_certs.sh DIR
set -euo pipefail
dir=${1:?usage: make_test_certs.sh DIR}
command -v openssl >/dev/null || {
  echo "make_test_certs: the openssl command is missing (scripts/setup.sh installs it)" >&2
  exit 1
}
mkdir -p "$dir"
log=$dir/openssl.log

new_ca() { # NAME CN
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=$2" -keyout "$dir/$1.key" -out "$dir/$1.pem" 2>>"$log"
}

new_cert() { # NAME CN SUBJECT_ALT_NAME EXTENDED_KEY_USAGE
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$2" \
    -keyout "$dir/$1.key" -out "$dir/$1.csr" 2>>"$log"
  printf 'subjectAltName=%s\nextendedKeyUsage=%s\n' "$3" "$4" >"$dir/$1.ext"
  openssl x509 -req -in "$dir/$1.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial \
    -days 2 -extfile "$dir/$1.ext" -out "$dir/$1.pem" 2>>"$log"
}

new_ca ca "hatchet test CA"
new_ca other_ca "unrelated CA"
new_cert server localhost "DNS:localhost,IP:127.0.0.1" serverAuth
new_cert internal engine.internal "DNS:engine.internal" serverAuth
new_cert client worker "DNS:worker" clientAuth
openssl verify -CAfile "$dir/ca.pem" "$dir/server.pem" "$dir/internal.pem" "$dir/client.pem" \
  >>"$log"
