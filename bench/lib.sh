# Helpers sourced by the bench scripts. Server on CPU 1, load on CPU 0.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PEERS="$ROOT/bench/peers/target/release"
SERVER_CPU=${SERVER_CPU:-1}
LOAD_CPU=${LOAD_CPU:-0}
HZ=$(getconf CLK_TCK)

# start_server LOGFILE CMD...: starts CMD pinned to SERVER_CPU, waits for its
# `listening on` line; sets SERVER_PID and SERVER_PORT (the first port printed).
start_server() {
  local log=$1; shift
  taskset -c "$SERVER_CPU" "$@" >"$log.out" 2>"$log.err" &
  SERVER_PID=$!
  for _ in $(seq 100); do
    if grep -q "listening on" "$log.out" 2>/dev/null; then break; fi
    sleep 0.05
  done
  SERVER_PORT=$(grep -o 'listening on [a-z]*://[^ ]*' "$log.out" | head -1 | sed 's/.*://')
  [ -n "$SERVER_PORT" ] || { echo "server did not start: $*" >&2; cat "$log.err" >&2; exit 1; }
}

stop_server() {
  kill -INT "$SERVER_PID" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.05; done
  kill -KILL "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
}

# cpu_ticks PID: user+system clock ticks used so far.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

# evloop_stat LOG NAME: a counter from the `reactor stopped: Stats {...}` log line.
evloop_stat() { grep -o "$2: [0-9]*" "$1.err" | tail -1 | awk '{print $2}'; }
