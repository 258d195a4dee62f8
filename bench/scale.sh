#!/usr/bin/env bash
# Connection scale (not in CI): as many concurrent TCP connections to the echo
# example as one process's 20,000-descriptor limit allows, held open, one echo on
# each; then connections beyond --max-connections wait in the backlog without the
# server spinning. Prints a Markdown table (RELIABILITY.md records one run).
#
#   bench/scale.sh                         # 19,900 connections, 4 client processes
#   CONNS=5000 CLIENTS=2 bench/scale.sh    # smaller
#
# Each client process (bench/scale_client.py) holds CONNS/CLIENTS sockets, under its
# own descriptor limit, from its own loopback source address (127.0.0.1, .2, ...),
# so ephemeral ports never run short. Bounded: well under 3 minutes.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CONNS=${CONNS:-19900}; CLIENTS=${CLIENTS:-4}; EXTRA=${EXTRA:-100}
cd "$ROOT"
[ "$(ulimit -n)" -gt "$((CONNS + 50))" ] || {
  echo "scale.sh: descriptor limit $(ulimit -n) too low for $CONNS connections" >&2; exit 1; }
cargo build --release --example echo -q
timeout 180 python3 bench/scale.py target/release/examples/echo "$CONNS" "$CLIENTS" "$EXTRA"
