#!/usr/bin/env python3
"""examples/kv against redis-server, RESP2 and RESP3, with redis-benchmark.

For each protocol (RESP2, and RESP3 with `redis-benchmark -3`) and pipeline
depth (`-P 1`, `-P 16`): SET and GET, 50 clients, a fixed request count; the
server pinned to CPU 1 and redis-benchmark to CPU 0; RUNS interleaved runs per
server, the median req/s kept. Server CPU per request is read from
/proc/PID/stat (utime and stime, in clock ticks) around each run and split into
user and kernel time.

  python3 bench/resp3.py [--kv PATH] [--runs 3] [--requests 200000]

Needs redis-server and redis-benchmark (Debian redis-server, redis-tools), and
taskset. Prints a markdown table. Python 3.11 standard library only.
"""
import argparse, os, re, socket, statistics, subprocess, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TICK = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, deadline=30):
    end = time.time() + deadline
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


def cpu_ticks(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]), int(fields[12])  # utime, stime


def start(server, kv):
    port = free_port()
    if server == "kv":
        cmd = [kv, "--listen", f"127.0.0.1:{port}"]
    else:
        cmd = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no"]
    proc = subprocess.Popen(["taskset", "-c", "1"] + cmd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    wait_port(port)
    return proc, port


def run(port, pid, resp3, pipeline, n):
    before = cpu_ticks(pid)
    args = ["taskset", "-c", "0", "redis-benchmark", "-p", str(port), "-q", "-n", str(n),
            "-c", "50", "-P", str(pipeline), "-t", "set,get"] + (["-3"] if resp3 else [])
    out = subprocess.run(args, capture_output=True, text=True, timeout=600).stdout
    after = cpu_ticks(pid)
    rps = dict(re.findall(r"(SET|GET): ([\d.]+) requests per second", out.replace("\r", "\n")))
    if len(rps) != 2:
        raise RuntimeError(f"redis-benchmark: {out[-300:]}")
    reqs = 2 * n
    user = (after[0] - before[0]) / TICK / reqs * 1e6
    sys_ = (after[1] - before[1]) / TICK / reqs * 1e6
    return {"set": float(rps["SET"]), "get": float(rps["GET"]), "user": user, "sys": sys_}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kv", default=str(ROOT / "target/release/examples/kv"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--requests", type=int, default=200000)
    a = ap.parse_args()
    servers = {s: start(s, a.kv) for s in ("kv", "redis")}
    try:
        rows = []
        for resp3 in (False, True):
            for pipeline in (1, 16):
                n = a.requests * (5 if pipeline > 1 else 1)
                runs = {s: [] for s in servers}
                for _ in range(a.runs):
                    for s, (proc, port) in servers.items():
                        runs[s].append(run(port, proc.pid, resp3, pipeline, n))
                med = {}
                for s, rs in runs.items():
                    rs.sort(key=lambda r: r["set"] + r["get"])
                    med[s] = rs[len(rs) // 2]
                rows.append((resp3, pipeline, med))
    finally:
        for proc, _ in servers.values():
            proc.terminate()
            proc.wait(timeout=10)
    print("| protocol | -P | kv SET / GET req/s | redis SET / GET req/s | kv / redis | "
          "kv CPU µs/req user + sys | redis CPU µs/req user + sys |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for resp3, pipeline, med in rows:
        k, r = med["kv"], med["redis"]
        ratio = (k["set"] + k["get"]) / (r["set"] + r["get"])
        print(f"| {'RESP3' if resp3 else 'RESP2'} | {pipeline} | {k['set']:,.0f} / {k['get']:,.0f} | "
              f"{r['set']:,.0f} / {r['get']:,.0f} | {ratio:.2f} | "
              f"{k['user']:.2f} + {k['sys']:.2f} | {r['user']:.2f} + {r['sys']:.2f} |")


if __name__ == "__main__":
    main()
