#!/usr/bin/env python3
"""The append-only file against redis-server, in the same run, on the same disk.

1. `redis-benchmark -t set -P 1 -c 50` against evloop's kv and redis-server 7, each
   in memory, with `appendfsync everysec` and with `appendfsync always`; the
   server pinned to one CPU, the benchmark to the other. Reports requests/s, the
   server's user and kernel CPU per request (/proc/PID/stat), and for evloop its
   loop iterations per request (at most one fdatasync per iteration: the group
   commit).
2. Restart time with 1,000,000 keys in the file: one file written here (SET of
   `key:N` to `value:N`), copied to each server's directory, timed from spawn
   until DBSIZE answers 1000000.
3. The loop's longest stall during BGREWRITEAOF of those 1,000,000 keys: a client
   sends PING after PING during the rewrite and keeps the slowest round trip
   (and the median), against the same figure with no rewrite running.

Usage: python3 bench/aof.py [--dir DIR]   (DIR: where the files go; default /tmp)
Environment: RUNS (default 3), N (requests per benchmark, default 200000),
MODES (default memory,everysec,always), LOAD=0 to skip the restart timing.
Standard library only; needs redis-server and redis-benchmark, and a release
build of the kv example (`cargo build --release --example kv`).
"""
import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from procstat import cpu, free_port  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
KV = ROOT / "target/release/examples/kv"
SERVER_CPU, LOAD_CPU = "1", "0"
RUNS = int(os.environ.get("RUNS", "3"))
N = int(os.environ.get("N", "200000"))
KEYS = 1_000_000
MODES = os.environ.get("MODES", "memory,everysec,always").split(",")
LOAD = os.environ.get("LOAD", "1") != "0"


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def resp(*args):
    out = [f"*{len(args)}\r\n".encode()]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def ask(port, *args, timeout=2):
    """One command; the first reply line (enough for PING and DBSIZE)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(resp(*args))
        data = b""
        while not data.endswith(b"\r\n"):
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        return data.decode(errors="replace").strip()


def start(kind, mode, directory):
    port = free_port()
    if kind == "evloop":
        cmd = [str(KV), "--listen", f"127.0.0.1:{port}", "--dir", directory]
        if mode == "memory":
            cmd += ["--appendonly", "no"]
        else:
            cmd += ["--appendonly", "yes", "--appendfsync", mode,
                    "--auto-aof-rewrite-percentage", "0"]
    else:
        cmd = ["redis-server", "--port", str(port), "--save", "", "--dir", directory,
               "--auto-aof-rewrite-percentage", "0", "--appendfilename", "appendonly.aof"]
        if mode == "memory":
            cmd += ["--appendonly", "no"]
        else:
            cmd += ["--appendonly", "yes", "--appendfsync", mode]
    err = open(Path(directory) / "server.err", "w+")
    proc = subprocess.Popen(["taskset", "-c", SERVER_CPU] + cmd, stdout=subprocess.DEVNULL,
                            stderr=err, env=dict(os.environ, RUST_LOG="info"))
    return proc, port, err


def wait_ready(proc, port, keys=None, timeout=600):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if keys is None:
                if ask(port, "PING") == "+PONG":
                    return
            elif ask(port, "DBSIZE") == f":{keys}":
                return
        except OSError:
            pass
        time.sleep(0.005)
    raise RuntimeError("server not ready")


def stop(proc, err):
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    err.seek(0)
    return err.read()


def bench(kind, mode, base):
    directory = tempfile.mkdtemp(prefix=f"aof-{kind}-{mode}-", dir=base)
    proc, port, err = start(kind, mode, directory)
    try:
        wait_ready(proc, port)
        u0, k0 = cpu(proc.pid)
        out = subprocess.run(["taskset", "-c", LOAD_CPU, "redis-benchmark", "-p", str(port),
                              "-t", "set", "-P", "1", "-c", "50", "-n", str(N), "-q"],
                             capture_output=True, text=True, timeout=600).stdout
        u1, k1 = cpu(proc.pid)
    finally:
        stderr = stop(proc, err)
    m = re.search(r"SET: ([\d.]+) requests per second", out.replace("\r", "\n"))
    rps = float(m.group(1)) if m else 0.0
    polls = re.search(r"polls: (\d+)", stderr)
    size = sum(f.stat().st_size for f in Path(directory).rglob("*.aof"))
    shutil.rmtree(directory, ignore_errors=True)
    return {"rps": rps, "user_us": (u1 - u0) * 1e6 / N, "sys_us": (k1 - k0) * 1e6 / N,
            "polls": int(polls.group(1)) if polls else None, "aof_bytes": size}


def write_big_file(path):
    with open(path, "wb") as f:
        batch = []
        for i in range(KEYS):
            batch.append(resp("SET", f"key:{i}", f"value:{i}"))
            if len(batch) == 10000:
                f.write(b"".join(batch))
                batch = []
        f.write(b"".join(batch))


def load_time(kind, big, base):
    directory = tempfile.mkdtemp(prefix=f"aof-load-{kind}-", dir=base)
    shutil.copy(big, Path(directory) / "appendonly.aof")
    subprocess.run(["sync"], check=True)
    t0 = time.time()
    proc, port, err = start(kind, "everysec", directory)
    try:
        wait_ready(proc, port, keys=KEYS)
        secs = time.time() - t0
    finally:
        stop(proc, err)
    shutil.rmtree(directory, ignore_errors=True)
    return secs


def ping_latencies(port, until):
    """Round trips of PING, one at a time, until `until()` is true (checked on
    another connection every 50 ms); returns the list of seconds."""
    times = []
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        last_check = time.time()
        while True:
            t0 = time.perf_counter()
            s.sendall(b"PING\r\n")
            data = b""
            while not data.endswith(b"\r\n"):
                data += s.recv(64)
            times.append(time.perf_counter() - t0)
            if time.time() - last_check > 0.05:
                last_check = time.time()
                if until():
                    return times


def rewrite_stall(kind, big, base):
    directory = tempfile.mkdtemp(prefix=f"aof-rw-{kind}-", dir=base)
    shutil.copy(big, Path(directory) / "appendonly.aof")
    proc, port, err = start(kind, "everysec", directory)
    try:
        wait_ready(proc, port, keys=KEYS)
        started = time.time()
        idle = ping_latencies(port, lambda: time.time() - started > 1.0)

        def rewrites():
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                s.sendall(resp("INFO", "persistence"))
                time.sleep(0.01)
                text = s.recv(65536).decode(errors="replace")
            m = re.search(r"aof_rewrites:(\d+)", text)
            busy = re.search(r"aof_rewrite_in_progress:1", text)
            return (int(m.group(1)) if m else 0), bool(busy)

        before, _ = rewrites()
        t0 = time.time()
        assert ask(port, "BGREWRITEAOF").startswith("+")
        during = ping_latencies(port, lambda: rewrites() == (before + 1, False))
        secs = time.time() - t0
    finally:
        stop(proc, err)
    shutil.rmtree(directory, ignore_errors=True)
    ms = lambda v: v * 1000  # noqa: E731
    return {"secs": secs, "idle_max": ms(max(idle)), "idle_p50": ms(statistics.median(idle)),
            "max": ms(max(during)), "p50": ms(statistics.median(during)),
            "p99": ms(sorted(during)[int(len(during) * 0.99)]), "pings": len(during)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", default="/tmp")
    args = ap.parse_args()
    base = args.dir
    fs = subprocess.run(["findmnt", "-n", "-o", "SOURCE,FSTYPE", "-T", base],
                        capture_output=True, text=True).stdout.strip()
    log(f"files under {base} ({fs}); {RUNS} runs, N={N}")
    results = {}
    for run in range(RUNS):
        for mode in MODES:
            for kind in ["evloop", "redis"]:
                r = bench(kind, mode, base)
                log(f"run {run} {kind:6} {mode:8} {r['rps']:>10.0f} req/s "
                    f"user {r['user_us']:.2f} us sys {r['sys_us']:.2f} us/req polls {r['polls']}")
                results.setdefault((kind, mode), []).append(r)
    print(f"\nFiles on {base} ({fs}). Median of {RUNS} interleaved runs, "
          f"redis-benchmark -t set -P 1 -c 50 -n {N}.\n")
    print("| server | appendfsync | SET req/s | vs redis | server CPU/req user + kernel (us) "
          "| loop iterations/req |")
    print("|---|---|---:|---:|---:|---:|")
    for mode in MODES:
        for kind in ["evloop", "redis"]:
            rs = results[(kind, mode)]
            rps = statistics.median(r["rps"] for r in rs)
            redis = statistics.median(r["rps"] for r in results[("redis", mode)])
            user = statistics.median(r["user_us"] for r in rs)
            sys_ = statistics.median(r["sys_us"] for r in rs)
            polls = [r["polls"] for r in rs if r["polls"] is not None]
            per = f"{statistics.median(polls) / N:.3f}" if polls else "-"
            label = "(off)" if mode == "memory" else mode
            print(f"| {kind} | {label} | {rps:,.0f} | {rps / redis:.2f} | "
                  f"{user:.1f} + {sys_:.1f} | {per} |")
    if "memory" in MODES and "everysec" in MODES:
        mem = statistics.median(r["rps"] for r in results[("evloop", "memory")])
        every = statistics.median(r["rps"] for r in results[("evloop", "everysec")])
        print(f"\nevloop everysec / evloop in memory: {every / mem:.2f}")
    if not LOAD:
        return

    big = Path(tempfile.mkdtemp(prefix="aof-big-", dir=base)) / "appendonly.aof"
    write_big_file(big)
    big_size = big.stat().st_size
    log(f"{KEYS} keys file: {big_size} bytes")
    times = {"evloop": [], "redis": []}
    for run in range(RUNS):
        for kind in ["evloop", "redis"]:
            t = load_time(kind, big, base)
            log(f"run {run} {kind} load {t:.2f} s")
            times[kind].append(t)
    stalls = {kind: rewrite_stall(kind, big, base) for kind in ["evloop", "redis"]}
    shutil.rmtree(big.parent, ignore_errors=True)
    ev, rd = statistics.median(times["evloop"]), statistics.median(times["redis"])
    print(f"\nRestart with {KEYS:,} keys ({big_size:,} bytes of AOF): evloop {ev:.2f} s, redis-server {rd:.2f} s "
          f"(evloop / redis {ev / rd:.2f}); median of {RUNS}.")

    print(f"\nBGREWRITEAOF of the {KEYS:,} keys, PING round trips meanwhile (ms):\n")
    print("| server | rewrite took (s) | PINGs | p50 | p99 | max | max with no rewrite |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for kind, r in stalls.items():
        print(f"| {kind} | {r['secs']:.2f} | {r['pings']} | {r['p50']:.3f} | {r['p99']:.3f} "
              f"| {r['max']:.2f} | {r['idle_max']:.2f} |")


if __name__ == "__main__":
    main()
