#!/usr/bin/env bash
# Regenerate BENCHMARKS.md on a fresh Debian machine: install the peers, the load
# tools and matplotlib, build evloop and the tokio peers in release mode, run every
# scenario (bench/run.py). Takes about 20 minutes with the defaults (SECS=5 RUNS=3);
# QUICK=1 checks the runner in a few minutes. To redraw the charts and BENCHMARKS.md
# from bench/results/results.json alone: ONLY=render python3 bench/run.py
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
for tool in wrk:wrk redis-server:redis-server redis-benchmark:redis-tools nginx:nginx-light strace:strace taskset:util-linux python3:python3; do
  command -v "${tool%%:*}" >/dev/null || need+=("${tool##*:}")
done
# matplotlib draws the charts: Debian's package for Debian's python3 (which refuses a
# system-wide pip install), pip for any other python3 (pyenv, a venv).
py=$(command -v python3 || echo /usr/bin/python3)
if ! "$py" -c 'import matplotlib' 2>/dev/null; then
  if [ "$py" = /usr/bin/python3 ]; then need+=(python3-matplotlib); else "$py" -m pip install --quiet matplotlib; fi
fi
if [ ${#need[@]} -gt 0 ]; then
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi
cargo build --release --examples
(cd bench/peers && cargo build --release)
exec python3 bench/run.py
