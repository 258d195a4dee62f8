#!/usr/bin/env bash
# HTTP plaintext benchmark: evloop vs nginx (1 worker, return 200, access_log off)
# vs a minimal tokio current-thread server, interleaved in one run.
# wrk -t1 at 50 and 256 connections, and pipelined 16 deep at 256 connections.
source "$(dirname "$0")/lib.sh"
SECS=${SECS:-10}; RUNS=${RUNS:-3}
cd "$ROOT"
cargo build --release --example http -q
(cd bench/peers && cargo build --release -q)
TMP=$(mktemp -d)
cat >"$TMP/nginx.conf" <<NGINX
daemon off; master_process off; worker_processes 1; error_log $TMP/nginx-error.log; pid $TMP/nginx.pid;
events { worker_connections 20000; }
http { access_log off; server { listen 127.0.0.1:18080; location / { return 200 "Hello, World!"; } } }
NGINX
start_nginx() { # nginx has no `listening on` line: fake one
  taskset -c "$SERVER_CPU" nginx -c "$TMP/nginx.conf" -p "$TMP" >/dev/null 2>&1 &
  SERVER_PID=$!; SERVER_PORT=18080
  for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:18080/" && break; sleep 0.05; done
}
run_one() { # NAME LOADNAME WRK-ARGS...
  local name=$1 load=$2; shift 2
  case $name in
    evloop) start_server "$TMP/$name" ./target/release/examples/http --listen 127.0.0.1:0 ;;
    tokio) start_server "$TMP/$name" "$PEERS/tokio-http" 127.0.0.1:0 ;;
    nginx) start_nginx ;;
  esac
  local t0; t0=$(cpu_ticks "$SERVER_PID")
  local out; out=$(taskset -c "$LOAD_CPU" wrk -t1 -d"${SECS}s" --latency "$@" "http://127.0.0.1:$SERVER_PORT/")
  local t1; t1=$(cpu_ticks "$SERVER_PID")
  stop_server
  local total; total=$(echo "$out" | awk '/requests in/ {print $1}')
  local rps; rps=$(echo "$out" | awk '/Requests\/sec/ {printf "%.0f", $2}')
  local p99; p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
  local errs; errs=$(echo "$out" | grep -E "Non-2xx|Socket errors" | tr -s ' ' | tr '\n' ';' || true)
  local us; us=$(echo "($t1 - $t0) * 1000000 / $HZ / $total" | bc -l)
  local sys="-"
  if [ "$name" = evloop ]; then
    local r w p; r=$(evloop_stat "$TMP/$name" reads); w=$(evloop_stat "$TMP/$name" writes); p=$(evloop_stat "$TMP/$name" polls)
    sys=$(echo "($r + $w + $p) / $total" | bc -l | xargs printf '%.3f')
  fi
  printf '| %s | %s | %s | %s | %.2f | %s | %s |\n' "$load" "$name" "$rps" "$p99" "$us" "$sys" "${errs:-none}"
}
echo "| load | server | req/s | p99 | server CPU µs/req | syscalls/req | errors |"
echo "|---|---|---|---|---|---|---|"
for load in c50 c256 pipe16; do
  for i in $(seq "$RUNS"); do
    for server in evloop nginx tokio; do
      case $load in
        c50) run_one $server "wrk -t1 -c50" -c50 ;;
        c256) run_one $server "wrk -t1 -c256" -c256 ;;
        pipe16) run_one $server "wrk -t1 -c256, 16 pipelined" -c256 -s bench/pipeline16.lua ;;
      esac
    done
  done
done
rm -rf "$TMP"
