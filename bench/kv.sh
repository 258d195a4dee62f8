#!/usr/bin/env bash
# RESP benchmark: evloop kv vs redis-server --save '' --appendonly no, same run.
# redis-benchmark at -P 1 and -P 16, server CPU per request, RSS per idle client.
source "$(dirname "$0")/lib.sh"
N=${N:-1000000}; TESTS=${TESTS:-ping,set,get,incr,mset}; IDLE=${IDLE:-10000}
cd "$ROOT"
cargo build --release --example kv -q
TMP=$(mktemp -d)
start_redis() {
  taskset -c "$SERVER_CPU" redis-server --port 16379 --save '' --appendonly no --maxclients 19000 >"$TMP/redis.log" 2>&1 &
  SERVER_PID=$!; SERVER_PORT=16379
  for _ in $(seq 100); do redis-cli -p 16379 ping >/dev/null 2>&1 && break; sleep 0.05; done
}
start() { case $1 in
  evloop) start_server "$TMP/evloop" ./target/release/examples/kv --listen 127.0.0.1:0 ;;
  redis) start_redis ;;
esac; }
bench_one() { # SERVER PIPELINE
  start "$1"
  local t0; t0=$(cpu_ticks "$SERVER_PID")
  local out; out=$(taskset -c "$LOAD_CPU" redis-benchmark -p "$SERVER_PORT" -q -n "$N" -c 50 -P "$2" -t "$TESTS" 2>&1 | tr '\r' '\n' | grep "requests per second" | grep -v "rps=")
  local t1; t1=$(cpu_ticks "$SERVER_PID")
  stop_server
  local ntests; ntests=$(echo "$out" | wc -l)
  local us; us=$(echo "($t1 - $t0) * 1000000 / $HZ / ($N * $ntests)" | bc -l)
  echo "$out" | while read -r line; do
    local t; t=$(echo "$line" | cut -d: -f1 | xargs); local rps; rps=$(echo "$line" | sed 's/.*: \([0-9.]*\) requests.*/\1/')
    printf '| -P %s | %s | %s | %.0f |\n' "$2" "$1" "$t" "$rps"
  done
  printf '| -P %s | %s | all (server CPU µs/request) | %.2f µs |\n' "$2" "$1" "$us"
}
echo "| pipeline | server | test | req/s |"
echo "|---|---|---|---|"
for p in 1 16; do
  for server in evloop redis; do bench_one "$server" "$p"; done
done
idle_rss() { # SERVER MESSAGE
  start "$1"
  local before; before=$(rss_kb "$SERVER_PID")
  coproc IDLEC { taskset -c "$LOAD_CPU" python3 bench/idle_conns.py "$SERVER_PORT" "$IDLE" ${2:+"$2"}; }
  read -r -t 120 line <&"${IDLEC[0]}"
  sleep 0.5
  local after; after=$(rss_kb "$SERVER_PID")
  exec {IDLEC[1]}>&-
  wait "$IDLEC_PID" 2>/dev/null || true
  stop_server
  printf '| %s | %s | %d | %d | %.0f |\n' "$1" "${2:-(none)}" "$before" "$after" "$(echo "($after - $before) * 1024 / $IDLE" | bc -l)"
}
echo
echo "| server | command sent on each of $IDLE idle connections | RSS before (KiB) | RSS after (KiB) | bytes per connection |"
echo "|---|---|---|---|---|"
for server in evloop redis; do idle_rss "$server" ""; idle_rss "$server" 'PING\r\n'; done
rm -rf "$TMP"
