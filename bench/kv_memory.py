#!/usr/bin/env python3
"""Server memory per key: examples/kv against redis-server, in the same run.

For each workload, a fresh server is started (pinned to CPU 1), its VmRSS read,
the keys written over one connection in pipelined batches (every reply read and
checked), and VmRSS read again; the row is (after - before) / keys. RSS growth is
what a user pays: it includes the allocator's overhead and the keyspace table's
spare slots, as Redis's own `used_memory_rss` does.

Workloads (N = keys, default 100,000; strings 1,000,000):
  hash   HSET h:N f:0 v f:1 v ... f:9 v         (10 fields)
  intset SADD s:N 0 1 ... 9                      (10 small integers)
  set    SADD t:N m:0 ... m:9                    (10 short strings)
  zset   ZADD z:N 0 m:0 1 m:1 ... 9 m:9         (10 members)
  list   RPUSH l:N e:0 ... e:4                   (5 short elements)
  string SET key:N value-N
  ttl    SET key:N value-N EX 86400             (strings with a TTL, 1,000,000)

Usage: bench/kv_memory.py [--kv PATH] [--rows hash,intset,...] [--keys N]
Prints a Markdown table. Standard library only (bench/procstat.py for /proc).
"""
import argparse
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import procstat  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def resp(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def workload(name, i):
    if name == "hash":
        args = ["HSET", f"h:{i}"]
        for f in range(10):
            args += [f"f:{f}", "v"]
        return resp(*args)
    if name == "intset":
        return resp("SADD", f"s:{i}", *range(10))
    if name == "set":
        return resp("SADD", f"t:{i}", *[f"m:{m}" for m in range(10)])
    if name == "zset":
        args = ["ZADD", f"z:{i}"]
        for m in range(10):
            args += [m, f"m:{m}"]
        return resp(*args)
    if name == "list":
        return resp("RPUSH", f"l:{i}", *[f"e:{e}" for e in range(5)])
    if name == "string":
        return resp("SET", f"key:{i}", f"value-{i}")
    if name == "ttl":
        return resp("SET", f"key:{i}", f"value-{i}", "EX", 86400)
    raise SystemExit(f"unknown workload {name}")


def read_replies(sock, n, buf):
    """Read `n` replies (each one line: +OK or :N); fail on an error reply."""
    got = 0
    while got < n:
        while b"\r\n" not in buf:
            chunk = sock.recv(1 << 16)
            if not chunk:
                raise SystemExit("server closed the connection")
            buf += chunk
        line, buf = buf.split(b"\r\n", 1)
        if line.startswith(b"-"):
            raise SystemExit(f"error reply: {line.decode(errors='replace')}")
        got += 1
    return buf


def fill(port, name, keys):
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        buf = b""
        batch = 1000
        for start in range(0, keys, batch):
            end = min(keys, start + batch)
            s.sendall(b"".join(workload(name, i) for i in range(start, end)))
            buf = read_replies(s, end - start, buf)
        s.sendall(resp("DBSIZE"))
        buf = read_replies(s, 1, buf)
        s.sendall(resp("OBJECT", "ENCODING", workload_key(name)))
        enc = b""
        while b"\r\n" not in enc or (enc.startswith(b"$") and enc.count(b"\r\n") < 2):
            enc += s.recv(4096)
        return enc.split(b"\r\n")[1].decode() if enc.startswith(b"$") else enc.decode()


def workload_key(name):
    return {"hash": "h:0", "intset": "s:0", "set": "t:0", "zset": "z:0",
            "list": "l:0", "string": "key:0", "ttl": "key:0"}[name]


def wait_port(port, proc):
    deadline = time.time() + 20
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit("server exited at start")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("server did not start")


def start(server, kv_bin, port, log):
    if server == "kv":
        cmd = [str(kv_bin), "--listen", f"127.0.0.1:{port}"]
    else:
        cmd = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", "--daemonize", "no"]
    proc = subprocess.Popen(["taskset", "-c", "1", *cmd], stdout=log, stderr=log)
    wait_port(port, proc)
    return proc


def measure(server, kv_bin, name, keys, logdir):
    port = procstat.free_port()
    logf = logdir / f"{server}-{name}.log"
    with open(logf, "w+") as log:
        proc = start(server, kv_bin, port, log)
        try:
            time.sleep(0.2)
            before = procstat.rss_kib(proc.pid)
            enc = fill(port, name, keys)
            time.sleep(0.2)
            after = procstat.rss_kib(proc.pid)
        finally:
            procstat.stop(proc, log)
    return (after - before) * 1024 / keys, enc


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kv", default=str(ROOT / "target/release/examples/kv"))
    ap.add_argument("--rows", default="hash,intset,set,zset,list,string,ttl")
    ap.add_argument("--keys", type=int, default=100_000)
    ap.add_argument("--string-keys", type=int, default=1_000_000)
    a = ap.parse_args()
    if not Path(a.kv).exists():
        raise SystemExit(f"{a.kv} not found: cargo build --release --example kv")
    logdir = Path(os.environ.get("OUT", "/tmp/kv_memory"))
    logdir.mkdir(parents=True, exist_ok=True)
    print("| workload | keys | kv B/key | kv encoding | redis B/key | redis encoding | kv / redis |")
    print("|---|---|---|---|---|---|---|")
    for name in a.rows.split(","):
        keys = a.string_keys if name in ("string", "ttl") else a.keys
        kv, kv_enc = measure("kv", a.kv, name, keys, logdir)
        rd, rd_enc = measure("redis", a.kv, name, keys, logdir)
        print(f"| {name} | {keys:,} | {kv:,.0f} | {kv_enc} | {rd:,.0f} | {rd_enc} | "
              f"{kv / rd:.2f} |", flush=True)


if __name__ == "__main__":
    main()
