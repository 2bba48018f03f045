#!/usr/bin/env bash
# Makes the certificates storage nodes serve NBD over TLS with (NODE_NBD_TLS), signed by the
# cluster CA in DIR: the one scripts/temporal-certs.sh made, or a new one when DIR has none.
#   ca.pem/.key              the cluster CA (keep ca.key offline once done)
#   nodes/NODE.pem/.key      a node's certificate, for DNS:NODE (what `blackstart attach` checks),
#                            localhost, 127.0.0.1 and ::1, the SANs given after "=", and NODE_CERT_SANS
#                            (where block clients reach the node: nbdinfo and qemu check that name)
#   nbd-client/ca-cert.pem   the CA under the name libnbd (tls-certificates=DIR) and qemu
#                            (tls-creds-x509,dir=DIR) look for; give block clients this directory
# Usage: bash scripts/node-certs.sh DIR NODE[=SAN,SAN...]...   e.g. node-1=IP:10.0.0.11,DNS:node-1.example
#   NODE_CERT_SANS="IP:203.0.113.5,DNS:blocks.example.com" is added to every node's certificate.
# Existing files are kept (delete a node's pair to issue it again). CERT_DAYS: lifetime (825).
set -euo pipefail
dir="${1:?usage: node-certs.sh DIR NODE[=SAN,...]...}"
shift
days="${CERT_DAYS:-825}"
mkdir -p "$dir/nodes" "$dir/nbd-client"
cd "$dir"
umask 077
ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -sha256 -nodes)
if [ ! -f ca.pem ]; then
  openssl req -x509 "${ec[@]}" -days "$days" -keyout ca.key -out ca.pem -subj "/CN=blackstart-cluster-ca" 2>/dev/null
fi
for spec in "$@"; do
  node="${spec%%=*}"
  [ -f "nodes/$node.pem" ] && continue
  extra=""
  [ "$spec" != "$node" ] && extra=",${spec#*=}"
  sans="DNS:$node,DNS:localhost,IP:127.0.0.1,IP:::1$extra${NODE_CERT_SANS:+,$NODE_CERT_SANS}"
  openssl req "${ec[@]}" -keyout "nodes/$node.key" -out "nodes/$node.csr" -subj "/CN=$node" 2>/dev/null
  openssl x509 -req -in "nodes/$node.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days "$days" -sha256 \
    -out "nodes/$node.pem" 2>/dev/null \
    -extfile <(printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=%s\n' "$sans")
  rm -f "nodes/$node.csr"
done
cp ca.pem nbd-client/ca-cert.pem
chmod 644 ca.pem nodes/*.pem nbd-client/ca-cert.pem 2>/dev/null || true
