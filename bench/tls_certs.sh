#!/bin/sh
# A throwaway CA and certificates for TLS tests and benchmarks, with openssl:
# ECDSA P-256 keys, a CA, a server certificate for localhost and 127.0.0.1 (and
# 127.0.0.2), and a client certificate, all signed by the CA.
#
#   bench/tls_certs.sh DIR
#
# writes DIR/ca.pem, DIR/cert.pem, DIR/key.pem, DIR/client.pem,
# DIR/client-key.pem. Nothing is checked in: every run makes new keys.
set -eu
dir=${1:?usage: bench/tls_certs.sh DIR}
mkdir -p "$dir"
cd "$dir"
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
key ca-key.pem
openssl req -x509 -new -key ca-key.pem -days 30 -subj "/CN=evloop throwaway CA" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
    -out ca.pem 2>/dev/null
leaf() { # name key cert extfile-line
    key "$2"
    openssl req -new -key "$2" -subj "/CN=$1" -out "$1.csr" 2>/dev/null
    printf '%s\n' "$4" > "$1.ext"
    openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 30 \
        -extfile "$1.ext" -out "$3" 2>/dev/null
    rm -f "$1.csr" "$1.ext"
}
leaf localhost key.pem cert.pem "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:127.0.0.2"
leaf client.test client-key.pem client.pem "extendedKeyUsage=clientAuth"
rm -f ca.srl
echo "$dir: ca.pem cert.pem key.pem client.pem client-key.pem"
