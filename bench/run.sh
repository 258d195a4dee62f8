#!/usr/bin/env bash
# Regenerate BENCHMARKS.md on a fresh Debian machine: install the peers and load
# tools, build evloop and the tokio peers in release mode, run every scenario
# (bench/run.py). Takes about 20 minutes with the defaults (SECS=5 RUNS=3);
# QUICK=1 checks the runner in a few minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
for tool in wrk:wrk redis-server:redis-server redis-benchmark:redis-tools nginx:nginx-light strace:strace taskset:util-linux python3:python3; do
  command -v "${tool%%:*}" >/dev/null || need+=("${tool##*:}")
done
if [ ${#need[@]} -gt 0 ]; then
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi
cargo build --release --examples
(cd bench/peers && cargo build --release)
exec python3 bench/run.py
