#!/usr/bin/env python3
"""Pub/Sub fan-out and blocking hand-offs: evloop's examples/kv against redis-server.

Each server runs pinned to SERVER_CPU (default 1), the load (bench/peers'
pubsub-bench, one thread) to LOAD_CPU (default 0). Scenarios:

  fanout   1 publisher (16 PUBLISHes in flight), 1,000 subscribers, 1 channel
  channels 50 publishers, 10,000 subscribers on 1,000 channels
  slow     the fanout scenario plus one subscriber that never reads: the fast
           subscribers' p99 against the fanout run, and the server's RSS (bounded
           by the pub/sub output limit, 32 MiB by default for both servers)
  pingpong two clients hand a token through two lists with BLPOP + RPUSH

Reported: deliveries (or hand-offs) per second, latency percentiles, server CPU
per delivery split into user and kernel time (utime/stime of /proc/PID/stat), and
the server's RSS at the end. RUNS interleaved repetitions (default 3), median by
throughput; a fresh server for every measurement.

  cargo build --release --example kv && (cd bench/peers && cargo build --release)
  python3 bench/pubsub.py      # writes bench/results/PUBSUB.md and pubsub.json

Needs redis-server (Debian's redis-server). Python 3.11 standard library only.
"""
import json, os, re, socket, subprocess, sys, time
from pathlib import Path

from procstat import cpu, free_port, rss_kib

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
KV = ROOT / "target" / "release" / "examples" / "kv"
CLIENT = ROOT / "bench" / "peers" / "target" / "release" / "pubsub-bench"
SERVER_CPU, LOAD_CPU = os.environ.get("SERVER_CPU", "1"), os.environ.get("LOAD_CPU", "0")
RUNS = int(os.environ.get("RUNS", "3"))
SECS = int(os.environ.get("SECS", "5"))
SCENARIOS = {
    "fanout": ["fanout", "--subscribers", "1000", "--channels", "1", "--publishers", "1"],
    "channels": ["fanout", "--subscribers", "10000", "--channels", "1000", "--publishers", "50"],
    "slow": ["fanout", "--subscribers", "1000", "--channels", "1", "--publishers", "1", "--slow", "1"],
    "pingpong": ["pingpong"],
}
SERVERS = ["evloop", "redis"]


def start(server):
    port = free_port()
    if server == "evloop":
        cmd = [str(KV), "--listen", f"127.0.0.1:{port}", "--max-connections", "12000"]
    else:
        cmd = ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no",
               "--maxclients", "12000", "--protected-mode", "no"]
    proc = subprocess.Popen(["taskset", "-c", SERVER_CPU] + cmd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env={**os.environ, "RUST_LOG": "warn"})
    deadline = time.time() + 15
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc, port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    sys.exit(f"{server} did not start")


def one_run(server, scenario):
    proc, port = start(server)
    try:
        user0, kernel0 = cpu(proc.pid)
        cmd = ["taskset", "-c", LOAD_CPU, str(CLIENT)] + SCENARIOS[scenario] + [
            "--target", f"127.0.0.1:{port}", "--duration", str(SECS)]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=SECS + 180)
        user1, kernel1 = cpu(proc.pid)
        rss = rss_kib(proc.pid)
        try:
            result = json.loads(out.stdout.strip().splitlines()[-1])
        except (IndexError, json.JSONDecodeError):
            sys.exit(f"{server} {scenario}: no result\n{out.stdout}\n{out.stderr[-2000:]}")
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    # CPU over the whole client run (connecting and warm-up included); the
    # per-delivery figure divides by the deliveries measured, so it is an upper bound
    # that treats both servers alike.
    n = result.get("deliveries") or result.get("handoffs") or 1
    result["cpu_user_us"] = (user1 - user0) * 1e6 / n
    result["cpu_kernel_us"] = (kernel1 - kernel0) * 1e6 / n
    result["rss_kib"] = rss
    result["rate"] = result.get("deliveries_per_sec") or result.get("handoffs_per_sec")
    return result


def main():
    for exe in (KV, CLIENT):
        if not exe.exists():
            sys.exit(f"{exe} not built: see the docstring")
    started = time.time()
    by = {(s, sc): [] for s in SERVERS for sc in SCENARIOS}
    for run in range(RUNS):
        order = SERVERS if run % 2 == 0 else SERVERS[::-1]
        for scenario in SCENARIOS:
            for server in order:
                r = one_run(server, scenario)
                print(server, scenario, json.dumps(r), file=sys.stderr, flush=True)
                by[(server, scenario)].append(r)
    med = {}
    for (server, scenario), runs in by.items():
        runs.sort(key=lambda r: r["rate"])
        med.setdefault(scenario, {})[server] = dict(runs[len(runs) // 2], all=[r["rate"] for r in runs])
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "pubsub.json").write_text(json.dumps(
        {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "secs": SECS, "runs": RUNS,
         "results": med}, indent=1))
    L = [f"Generated by `python3 bench/pubsub.py` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} "
         f"in {time.time() - started:.0f} s: server on CPU {SERVER_CPU}, `bench/peers` pubsub-bench on CPU "
         f"{LOAD_CPU}, {SECS} s per run after a 1 s warm-up, median of {RUNS} interleaved runs, a fresh "
         "server each time. redis-server 7.0 `--save '' --appendonly no`.", "",
         "| scenario | server | deliveries/s (hand-offs/s) | p50 ms | p99 ms | server CPU µs per delivery (user + kernel) | server RSS MiB | per run |",
         "|---|---|---:|---:|---:|---|---:|---|"]
    for scenario in SCENARIOS:
        for server in SERVERS:
            r = med[scenario][server]
            lat = (f"{r['p50_us'] / 1000:.2f} | {r['p99_us'] / 1000:.2f}" if "p50_us" in r else "— | —")
            L.append(f"| {scenario} | {server} | {r['rate']:,.0f} | {lat} "
                     f"| {r['cpu_user_us'] + r['cpu_kernel_us']:.3f} ({r['cpu_user_us']:.3f} u + "
                     f"{r['cpu_kernel_us']:.3f} k) | {r['rss_kib'] / 1024:.1f} "
                     f"| {', '.join(f'{v:,.0f}' for v in r['all'])} |")
    L += ["", "| scenario | evloop ÷ redis: throughput | CPU per delivery | p99 |", "|---|---:|---:|---:|"]
    for scenario in SCENARIOS:
        e, r = med[scenario]["evloop"], med[scenario]["redis"]
        cpu_ratio = (e["cpu_user_us"] + e["cpu_kernel_us"]) / (r["cpu_user_us"] + r["cpu_kernel_us"])
        p99 = f"{e['p99_us'] / r['p99_us']:.2f}" if r.get("p99_us") else "—"
        L.append(f"| {scenario} | {e['rate'] / r['rate']:.2f} | {cpu_ratio:.2f} | {p99} |")
    L += ["", "Slow subscriber: the fast subscribers' p99 with one non-reader, over their p99 without: "
          + ", ".join(f"{s} {med['slow'][s]['p99_us'] / med['fanout'][s]['p99_us']:.2f}×" for s in SERVERS)
          + ".", ""]
    text = "# Pub/Sub and blocking commands: evloop kv vs redis-server\n\n" + "\n".join(L)
    (RESULTS / "PUBSUB.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
