#!/usr/bin/env bash
# Echo benchmark: evloop echo vs a tokio current-thread echo, interleaved, same run.
# 50 blocking clients doing 64-byte ping-pong; server CPU per round trip from
# /proc; evloop syscalls per round trip from its counters; RSS per idle connection.
source "$(dirname "$0")/lib.sh"
SECS=${SECS:-10}; RUNS=${RUNS:-3}; CONNS=${CONNS:-50}; SIZE=${SIZE:-64}; IDLE=${IDLE:-10000}
cd "$ROOT"
cargo build --release --example echo -q
(cd bench/peers && cargo build --release -q)
TMP=$(mktemp -d)
run_one() { # NAME CMD...
  local name=$1; shift
  start_server "$TMP/$name" "$@"
  local t0; t0=$(cpu_ticks "$SERVER_PID")
  local out; out=$(taskset -c "$LOAD_CPU" "$PEERS/echo-client" "127.0.0.1:$SERVER_PORT" "$CONNS" "$SIZE" "$SECS")
  local t1; t1=$(cpu_ticks "$SERVER_PID")
  stop_server
  local rt; rt=$(echo "$out" | sed 's/.*round_trips=\([0-9]*\).*/\1/')
  local rps; rps=$(echo "$out" | sed 's/.*rps=\([0-9]*\).*/\1/')
  local us; us=$(echo "($t1 - $t0) * 1000000 / $HZ / $rt" | bc -l)
  local sys="-"
  if [ "$name" = evloop ]; then
    local r w p; r=$(evloop_stat "$TMP/$name" reads); w=$(evloop_stat "$TMP/$name" writes); p=$(evloop_stat "$TMP/$name" polls)
    sys=$(echo "($r + $w + $p) / $rt" | bc -l | xargs printf '%.3f')
  fi
  printf '| %s | %s | %.2f | %s |\n' "$name" "$rps" "$us" "$sys"
}
echo "| server | round trips/s | server CPU µs per round trip | syscalls per round trip |"
echo "|---|---|---|---|"
for i in $(seq "$RUNS"); do
  run_one evloop ./target/release/examples/echo --listen 127.0.0.1:0
  run_one tokio "$PEERS/tokio-echo" 127.0.0.1:0
done

idle_rss() { # NAME CMD...
  local name=$1; shift
  start_server "$TMP/$name-idle" "$@"
  local before; before=$(rss_kb "$SERVER_PID")
  coproc IDLEC { taskset -c "$LOAD_CPU" python3 bench/idle_conns.py "$SERVER_PORT" "$IDLE" 'ping\n'; }
  read -r -t 120 line <&"${IDLEC[0]}"
  sleep 0.5
  local after; after=$(rss_kb "$SERVER_PID")
  exec {IDLEC[1]}>&-
  wait "$IDLEC_PID" 2>/dev/null || true
  stop_server
  printf '| %s | %d | %d | %.0f |\n' "$name" "$before" "$after" "$(echo "($after - $before) * 1024 / $IDLE" | bc -l)"
}
echo
echo "| server ($IDLE idle connections, each after one echo) | RSS before (KiB) | RSS after (KiB) | bytes per connection |"
echo "|---|---|---|---|"
idle_rss evloop ./target/release/examples/echo --listen 127.0.0.1:0
idle_rss tokio "$PEERS/tokio-echo" 127.0.0.1:0
rm -rf "$TMP"
