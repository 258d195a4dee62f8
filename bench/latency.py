#!/usr/bin/env python3
"""Latency under a constant offered load: `loadgen --rate` (open loop) against
evloop's HTTP and key-value examples and their peers, nginx and redis-server.

A closed-loop tool slows down when the server does, so it mostly measures the
server while it is fast (coordinated omission). Here every server gets the same
schedule of requests regardless of how it answers, and each latency counts from
the request's scheduled send time.

For each pair (HTTP: evloop vs nginx returning a 13-byte body; RESP: evloop kv vs
redis-server answering SET):
1. the maximum: `loadgen` closed loop, CONNS connections, pipeline 1, SECS
   seconds, against each server; the pair's maximum is the lower of the two, so
   both can sustain the rates below;
2. `loadgen --rate` at 50 % and 90 % of that maximum, same connections, against
   each server: p50 / p99 / p99.9 from the schedule, the achieved rate, and
   server CPU per request (user + kernel from /proc/PID/stat).
Server pinned to SERVER_CPU (default 1), loadgen to LOAD_CPU (default 0); a
fresh server for every run; RUNS interleaved repetitions (default 3), median by
p99.

  cargo build --release --examples
  python3 bench/latency.py      # writes bench/results/LATENCY.md and latency.json

Needs nginx (Debian's nginx-light) and redis-server. Python 3 standard library only.
"""
import json, os, signal, socket, subprocess, tempfile, time
from pathlib import Path

from procstat import cpu, free_port

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
EX = ROOT / "target" / "release" / "examples"
SERVER_CPU, LOAD_CPU = os.environ.get("SERVER_CPU", "1"), os.environ.get("LOAD_CPU", "0")
RUNS = int(os.environ.get("RUNS", "3"))
SECS = int(os.environ.get("SECS", "5"))
CONNS = int(os.environ.get("CONNS", "50"))
FRACTIONS = [0.5, 0.9]
PAIRS = [("http", ["evloop-http", "nginx"]), ("resp", ["evloop-kv", "redis"])]
TMP = Path(tempfile.mkdtemp(prefix="evloop-latency-"))


def nginx_conf(port):
    conf = TMP / "nginx.conf"
    conf.write_text(
        f"daemon off; master_process off; worker_processes 1; error_log {TMP}/nginx-error.log;"
        f" pid {TMP}/nginx.pid; worker_rlimit_nofile 20000;\n"
        "events { worker_connections 4096; }\n"
        f"http {{ access_log off; keepalive_requests 1000000; server {{ listen 127.0.0.1:{port}"
        ' backlog=1024; location / { return 200 "Hello, World!"; } } }\n')
    return conf


def command(server, port):
    addr = f"127.0.0.1:{port}"
    return {
        "evloop-http": [str(EX / "http"), "--listen", addr],
        "nginx": ["nginx", "-c", str(nginx_conf(port)), "-p", str(TMP)],
        "evloop-kv": [str(EX / "kv"), "--listen", addr],
        "redis": ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                  "--appendonly", "no"],
    }[server]


def start(server):
    port = free_port()
    proc = subprocess.Popen(["taskset", "-c", SERVER_CPU] + command(server, port),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=TMP)
    deadline = time.time() + 15
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc, port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"{server} did not start")


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def loadgen(mode, port, rate=None):
    args = [str(EX / "loadgen"), mode, "--target", f"127.0.0.1:{port}", "--connections",
            str(CONNS), "--duration", str(SECS), "--json"]
    if mode == "resp":
        args += ["--command", "set"]
    if rate:
        args += ["--rate", str(int(rate))]
    out = subprocess.run(["taskset", "-c", LOAD_CPU] + args, capture_output=True, text=True,
                         timeout=SECS * 4 + 30)
    return json.loads(out.stdout)


def measure(server, mode, rate=None):
    proc, port = start(server)
    try:
        u0, k0 = cpu(proc.pid)
        r = loadgen(mode, port, rate)
        u1, k1 = cpu(proc.pid)
    finally:
        stop(proc)
    n = max(r["requests"], 1)
    return {
        "rps": r["rps"],
        "requested": r.get("requested_rps"),
        "p50": r["latency_us"]["p50"],
        "p99": r["latency_us"]["p99"],
        "p999": r["latency_us"]["p999"],
        "max": r["latency_us"]["max"],
        "outstanding": r.get("outstanding", 0),
        "errors": r["errors"],
        "user_us": (u1 - u0) * 1e6 / n,
        "kernel_us": (k1 - k0) * 1e6 / n,
    }


def median_by_p99(runs):
    return sorted(runs, key=lambda r: r["p99"])[len(runs) // 2]


def main():
    results = {}
    for mode, servers in PAIRS:
        peak = {s: [] for s in servers}
        for _ in range(RUNS):
            for s in servers:
                r = measure(s, mode)
                print(f"{mode} {s} closed loop: {r['rps']:,.0f} req/s", flush=True)
                peak[s].append(r["rps"])
        maxima = {s: sorted(v)[len(v) // 2] for s, v in peak.items()}
        base = min(maxima.values())
        rows = {}
        for frac in FRACTIONS:
            rate = base * frac
            runs = {s: [] for s in servers}
            for _ in range(RUNS):
                for s in servers:
                    r = measure(s, mode, rate)
                    print(f"{mode} {s} at {rate:,.0f} req/s: {r}", flush=True)
                    runs[s].append(r)
            rows[frac] = {"rate": rate, "by": {s: median_by_p99(v) for s, v in runs.items()}}
        results[mode] = {"maxima": maxima, "base": base, "rows": rows}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latency.json").write_text(json.dumps(results, indent=1))
    write_report(results)


def write_report(results):
    cpu_name = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                     if l.startswith("model name")), "?")
    md = ["# Latency at a constant offered load (open loop)", "",
          f"`python3 bench/latency.py` (RUNS={RUNS}, SECS={SECS}, CONNS={CONNS}): "
          f"`loadgen MODE --connections {CONNS} --duration {SECS} --rate R`, latency from each "
          "request's scheduled send time; R is 50 % and 90 % of the lower of the two servers' "
          "closed-loop maxima (`loadgen` without `--rate`, same connections, pipeline 1). "
          f"Server pinned to CPU {SERVER_CPU}, loadgen to CPU {LOAD_CPU}; {os.cpu_count()} vCPU "
          f"{cpu_name}, {os.uname().release}. HTTP: `GET /` of the examples/http demo route "
          "against nginx (1 worker, `return 200 \"Hello, World!\"`); RESP: `SET` of a 64-byte "
          "value against redis-server (no persistence). Median of interleaved runs by p99.", ""]
    for mode, res in results.items():
        maxima = ", ".join(f"{s} {v:,.0f}" for s, v in res["maxima"].items())
        md += [f"**{mode}** — closed-loop maxima (req/s): {maxima}.", "",
               "| load | server | requested req/s | achieved req/s | p50 µs | p99 µs | p99.9 µs "
               "| max µs | server CPU µs/req (user + kernel) | errors |",
               "|---|---|---|---|---|---|---|---|---|---|"]
        for frac, row in res["rows"].items():
            for s, r in row["by"].items():
                total = r["user_us"] + r["kernel_us"]
                md.append(
                    f"| {int(float(frac) * 100)} % | {s} | {row['rate']:,.0f} | {r['rps']:,.0f} | "
                    f"{r['p50']:,.0f} | {r['p99']:,.0f} | {r['p999']:,.0f} | {r['max']:,.0f} | "
                    f"{total:.1f} ({r['user_us']:.1f} u + {r['kernel_us']:.1f} k) | "
                    f"{r['errors']} |")
        md.append("")
    (RESULTS / "LATENCY.md").write_text("\n".join(md))
    print("\n".join(md))


if __name__ == "__main__":
    try:
        main()
    finally:
        subprocess.run(["rm", "-rf", str(TMP)])
