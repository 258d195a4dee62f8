#!/usr/bin/env python3
"""UDP echo: evloop's examples/echo (batched, and with --no-udp-batching) against a
tokio `recv_from`/`send_to` echo server (bench/peers' tokio-udp-echo).

Each server runs pinned to SERVER_CPU (default 1), the load (evloop's loadgen
udp-echo) to LOAD_CPU (default 0). Two loads, 64-byte datagrams:

  pipelined  50 sockets, 16 datagrams in flight each: bursts from each sender
             (the load tool's own sends leave as GSO batches where the kernel
             has UDP GSO, as a QUIC or media sender's would)
  single     200 sockets, one datagram in flight each: many senders, no bursts

Reported: datagrams/s (replies matched by sequence number), loss, and server CPU
per datagram split into user and kernel time (utime/stime of /proc/PID/stat).
RUNS interleaved repetitions (default 3), median by datagrams/s.

  cargo build --release --examples && (cd bench/peers && cargo build --release)
  python3 bench/udp.py      # writes bench/results/UDP.md and udp.json
"""
import json, os, re, signal, subprocess, time
from pathlib import Path

from procstat import cpu

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
EX = ROOT / "target" / "release" / "examples"
PEERS = ROOT / "bench" / "peers" / "target" / "release"
SERVER_CPU, LOAD_CPU = os.environ.get("SERVER_CPU", "1"), os.environ.get("LOAD_CPU", "0")
RUNS = int(os.environ.get("RUNS", "3"))
SECS = int(os.environ.get("SECS", "5"))
SERVERS = {
    "evloop": [str(EX / "echo"), "--listen", "127.0.0.1:0"],
    "evloop, unbatched": [str(EX / "echo"), "--listen", "127.0.0.1:0", "--no-udp-batching"],
    "tokio": [str(PEERS / "tokio-udp-echo"), "127.0.0.1:0"],
}
LOADS = {
    "pipelined": ["--connections", "50", "--pipeline", "16"],
    "single": ["--connections", "200", "--pipeline", "1"],
}


def start(cmd):
    proc = subprocess.Popen(["taskset", "-c", SERVER_CPU] + cmd, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline()
    m = re.search(r"udp://([\d.]+:\d+)", line)
    if not m:
        proc.kill()
        raise RuntimeError(f"{cmd[0]}: no udp address in {line!r}")
    return proc, m.group(1)


def measure(server, load):
    proc, addr = start(SERVERS[server])
    try:
        u0, k0 = cpu(proc.pid)
        out = subprocess.run(
            ["taskset", "-c", LOAD_CPU, str(EX / "loadgen"), "udp-echo", "--target", addr,
             "--size", "64", "--duration", str(SECS), "--json"] + LOADS[load],
            capture_output=True, text=True, timeout=SECS * 4 + 60).stdout
        u1, k1 = cpu(proc.pid)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    j = json.loads(out.strip().splitlines()[-1])
    n = j["requests"]
    return {"rps": j["rps"], "requests": n, "loss": j.get("loss"), "errors": j.get("errors"),
            "user_us": (u1 - u0) * 1e6 / n, "kernel_us": (k1 - k0) * 1e6 / n}


def main():
    results = {}
    for load in LOADS:
        runs = {s: [] for s in SERVERS}
        for _ in range(RUNS):
            for server in SERVERS:
                r = measure(server, load)
                print(f"{load} {server}: {r}", flush=True)
                runs[server].append(r)
        results[load] = {s: sorted(rs, key=lambda r: r["rps"])[len(rs) // 2]
                         for s, rs in runs.items()}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "udp.json").write_text(json.dumps(results, indent=1))
    cpu_name = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                     if l.startswith("model name")), "?")
    md = ["# UDP echo: batched receive and send against tokio", "",
          f"`python3 bench/udp.py` (RUNS={RUNS}, SECS={SECS}): `loadgen udp-echo --size 64` "
          f"with the options shown, server pinned to CPU {SERVER_CPU}, loadgen to CPU "
          f"{LOAD_CPU}; {os.cpu_count()} vCPU {cpu_name}, {os.uname().release}. Median of "
          "interleaved runs by datagrams/s.", "",
          "| load | server | datagrams/s | lost | server CPU µs/datagram (user + kernel) | "
          "vs tokio datagrams/s | vs tokio CPU |",
          "|---|---|---|---|---|---|---|"]
    for load, opts in LOADS.items():
        by = results[load]
        tk = by["tokio"]
        tk_cpu = tk["user_us"] + tk["kernel_us"]
        for server, r in by.items():
            total = r["user_us"] + r["kernel_us"]
            md.append(f"| {load} (`{' '.join(opts)}`) | {server} | {r['rps']:,.0f} | "
                      f"{r['loss']} | {total:.2f} ({r['user_us']:.2f} u + {r['kernel_us']:.2f} k) | "
                      f"{r['rps'] / tk['rps']:.2f}× | {total / tk_cpu:.2f}× |")
    (RESULTS / "UDP.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
