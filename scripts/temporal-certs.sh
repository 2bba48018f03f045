#!/usr/bin/env bash
# Makes the certificates docker-compose.yml mounts at /certs for mutual TLS with Temporal:
#   ca.pem/.key        the CA both sides trust (keep ca.key offline once done)
#   temporal.pem/.key  Temporal's server certificate, for the name "temporal"
#   client.pem/.key    the client certificate the API, worker, admin tools and UI present
# Usage: bash scripts/temporal-certs.sh [DIR] (default ./certs). Existing files are kept.
# scripts/node-certs.sh then issues the storage nodes' NBD over TLS certificates from the same CA.
set -euo pipefail
dir="${1:-./certs}"
days="${CERT_DAYS:-825}"
mkdir -p "$dir"
cd "$dir"
if [ ! -f ca.pem ]; then
  openssl req -x509 -newkey rsa:4096 -sha256 -nodes -days "$days" -keyout ca.key -out ca.pem -subj "/CN=blackstart-temporal-ca"
fi
issue() { # name, subject CN, extendedKeyUsage, subjectAltName
  [ -f "$1.pem" ] && return 0
  openssl req -newkey rsa:2048 -sha256 -nodes -keyout "$1.key" -out "$1.csr" -subj "/CN=$2"
  openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days "$days" -sha256 -out "$1.pem" \
    -extfile <(printf 'extendedKeyUsage=%s\nsubjectAltName=%s\n' "$3" "$4")
  rm -f "$1.csr"
}
# Temporal's services also call each other with this certificate, so it serves as a client too.
issue temporal temporal serverAuth,clientAuth DNS:temporal,DNS:localhost
issue client blackstart clientAuth DNS:blackstart
chmod 600 ./*.key
echo "certificates in $(pwd)"
