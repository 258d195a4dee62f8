"""redis-benchmark against examples/kv and redis-server in the same run: the
strings table of BENCHMARKS.md (-t ping,set,get,incr,mset) and the collection
commands (-t lrange_100,lrange_600,zadd,zpopmin,hset), at -P 1 and -P 16.

Each (server, pipeline, test set) runs RUNS times (default 3), kv and redis
interleaved, on a fresh server pinned to CPU 1 (redis-benchmark on CPU 0); the
median run by mean requests/s is reported, with the server's CPU per request split
into user and kernel time (from /proc/PID/stat, over the whole load) and its ratio
to redis. The machine is shared: compare the ratios, not the absolute figures.

Usage: bench/kv_types.py [--kv PATH] [-n REQUESTS] [--runs N]
Standard library only (bench/procstat.py for /proc).
"""
import argparse
import re
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import procstat  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SETS = {
    "strings": "ping,set,get,incr,mset",
    "collections": "lrange_100,lrange_600,zadd,zpopmin,hset",
}


def start(server, kv_bin, port, log):
    if server == "kv":
        cmd = [str(kv_bin), "--listen", f"127.0.0.1:{port}", "--max-connections", "19000"]
    else:
        cmd = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", "--daemonize", "no", "--maxclients", "19000"]
    proc = subprocess.Popen(["taskset", "-c", "1", *cmd], stdout=log, stderr=log)
    deadline = time.time() + 20
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{server} exited at start")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit(f"{server} did not start")


def run(server, kv_bin, tests, pipeline, n, logdir):
    port = procstat.free_port()
    with open(logdir / f"{server}.log", "w+") as log:
        proc = start(server, kv_bin, port, log)
        try:
            u0, k0 = procstat.cpu(proc.pid)
            out = subprocess.run(
                ["taskset", "-c", "0", "redis-benchmark", "-p", str(port), "-q", "-n", str(n),
                 "-c", "50", "-P", str(pipeline), "-t", tests],
                capture_output=True, text=True, timeout=900).stdout
            u1, k1 = procstat.cpu(proc.pid)
        finally:
            procstat.stop(proc, log)
    rps = {}
    for line in out.replace("\r", "\n").splitlines():
        m = re.match(r"\s*([A-Z_0-9]+(?: \([^)]*\))?): ([\d.]+) requests per second", line)
        if m and "needed to benchmark" not in m.group(1):
            name = re.sub(r" \((first \d+ elements)\)", "", m.group(1))
            rps[name] = float(m.group(2))
    # "ping" is two tests (PING_INLINE, PING_MBULK).
    want = len(tests.split(",")) + tests.split(",").count("ping")
    if len(rps) != want:
        raise SystemExit(f"{server}: {len(rps)} of {want} tests reported:\n{out}")
    reqs = n * len(rps)
    return {"rps": rps, "mean": statistics.mean(rps.values()),
            "user_us": (u1 - u0) * 1e6 / reqs, "kernel_us": (k1 - k0) * 1e6 / reqs}


def fmt_rps(v):
    return f"{v / 1e6:.2f}M" if v >= 1e6 else f"{v / 1e3:.0f}k"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kv", default=str(ROOT / "target/release/examples/kv"))
    ap.add_argument("-n", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    if not Path(a.kv).exists():
        raise SystemExit(f"{a.kv} not found: cargo build --release --example kv")
    logdir = Path("/tmp/kv_types")
    logdir.mkdir(parents=True, exist_ok=True)
    for name, tests in SETS.items():
        rows = []
        for pipeline in (1, 16):
            runs = {"kv": [], "redis": []}
            for _ in range(a.runs):
                for server in runs:
                    runs[server].append(run(server, a.kv, tests, pipeline, a.n, logdir))
            med = {}
            for server, rs in runs.items():
                rs.sort(key=lambda r: r["mean"])
                med[server] = rs[len(rs) // 2]
            rows.append((pipeline, med))
        cols = list(rows[0][1]["kv"]["rps"].keys())
        print(f"\n{name}: `redis-benchmark -c 50 -n {a.n} -t {tests}`\n")
        print("| pipeline | server | " + " | ".join(cols)
              + " | server CPU µs/req (user u + kernel k) | kv / redis req/s (mean) |")
        print("|---|---|" + "---|" * len(cols) + "---|---|")
        for pipeline, med in rows:
            for server in ("kv", "redis"):
                r = med[server]
                ratio = med["kv"]["mean"] / med["redis"]["mean"]
                cpu = f"{r['user_us'] + r['kernel_us']:.2f} ({r['user_us']:.2f} u + {r['kernel_us']:.2f} k)"
                print(f"| -P {pipeline} | {server} | "
                      + " | ".join(fmt_rps(r["rps"][c]) for c in cols)
                      + f" | {cpu} | {f'{ratio:.2f}' if server == 'kv' else '1.00'} |", flush=True)


if __name__ == "__main__":
    main()
