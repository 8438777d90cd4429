#!/usr/bin/env bash
# TLS for the broker's 8883 listener: a private CA for the city, a broker certificate, and optionally
# one client certificate per gateway (CN = gateway id) for mutual TLS.
#   deploy/scripts/make-certs.sh broker.tamky.gov.vn [gw-an-my gw-an-phu …]
#   deploy/scripts/make-certs.sh --gateways gw-an-my …     (gateway certificates only, from the existing CA)
# Output in deploy/certs/ (keys mode 0600). Keep ca.key offline after issuing.
set -euo pipefail
host=${1:?usage: make-certs.sh <broker host name> [gateway ids…] | make-certs.sh --gateways <gateway ids…>}
shift
dir=${CERT_DIR:-deploy/certs}
days=${CERT_DAYS:-825}
mkdir -p "$dir"
umask 077
if [ "$host" = "--gateways" ] && [ ! -f "$dir/ca.key" ]; then
  echo "no city CA in $dir: run make-certs.sh <broker host name> first" >&2
  exit 1
fi
if [ ! -f "$dir/ca.key" ]; then
  openssl req -x509 -newkey rsa:3072 -nodes -sha256 -days 3650 -subj "/CN=Tam Ky IOC private CA" \
    -keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null
fi
if [ "$host" != "--gateways" ]; then
  openssl req -newkey rsa:2048 -nodes -sha256 -subj "/CN=$host" -keyout "$dir/broker.key" -out "$dir/broker.csr" 2>/dev/null
  printf 'subjectAltName=DNS:%s,DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' "$host" > "$dir/broker.ext"
  openssl x509 -req -in "$dir/broker.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial -days "$days" -sha256 \
    -extfile "$dir/broker.ext" -out "$dir/broker.crt" 2>/dev/null
fi
for gw in "$@"; do
  openssl req -newkey rsa:2048 -nodes -sha256 -subj "/CN=$gw" -keyout "$dir/$gw.key" -out "$dir/$gw.csr" 2>/dev/null
  printf 'extendedKeyUsage=clientAuth\n' > "$dir/$gw.ext"
  openssl x509 -req -in "$dir/$gw.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial -days "$days" -sha256 \
    -extfile "$dir/$gw.ext" -out "$dir/$gw.crt" 2>/dev/null
  rm -f "$dir/$gw.csr" "$dir/$gw.ext"
done
rm -f "$dir/broker.csr" "$dir/broker.ext"
chmod 644 "$dir"/*.crt
if [ "$host" = "--gateways" ]; then echo "client certificates in $dir for: $*"; else echo "certificates in $dir: ca.crt, broker.crt/key${*:+, and client certificates for: $*}"; fi
