#!/usr/bin/env python3
"""Static files: evloop's examples/http against nginx with `sendfile on`.

Each server runs pinned to SERVER_CPU (default 1), wrk to LOAD_CPU (default 0).
Files of 4 KiB, 1 MiB and 64 MiB (random bytes) under one root; for each, `wrk
-t1 -c16` fetches the same file over keep-alive connections. Both servers keep
files open between requests (evloop's file cache; nginx `open_file_cache`) and
send large bodies with sendfile(2) (nginx: `sendfile on; tcp_nopush on`).

Reported per file and server: requests/s, MB/s, server CPU per request split into
user and kernel time (utime/stime of /proc/PID/stat), and for evloop the
reactor's read + write (sendfile included) + epoll_wait calls per request from its
shutdown counters. RUNS interleaved repetitions (default 3), median by
requests/s; a fresh server for every measurement.

  cargo build --release --example http
  python3 bench/files.py      # writes bench/results/FILES.md and files.json

Needs nginx (Debian's nginx-light) and wrk. Python 3 standard library only.
"""
import json, os, re, signal, socket, statistics, subprocess, tempfile, time
from pathlib import Path

from procstat import cpu, free_port, stop, syscalls

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
HTTP = ROOT / "target" / "release" / "examples" / "http"
SERVER_CPU, LOAD_CPU = os.environ.get("SERVER_CPU", "1"), os.environ.get("LOAD_CPU", "0")
RUNS = int(os.environ.get("RUNS", "3"))
SECS = int(os.environ.get("SECS", "5"))
CONNS = int(os.environ.get("CONNS", "16"))
FILES = [("4k.bin", 4 * 1024), ("1m.bin", 1024 * 1024), ("64m.bin", 64 * 1024 * 1024)]
SERVERS = ["evloop", "nginx"]
TMP = Path(tempfile.mkdtemp(prefix="evloop-files-"))
WWW = TMP / "www"


def nginx_conf(port):
    conf = TMP / "nginx.conf"
    conf.write_text(
        f"daemon off; master_process off; worker_processes 1; error_log {TMP}/nginx-error.log;"
        f" pid {TMP}/nginx.pid; worker_rlimit_nofile 20000;\n"
        "events { worker_connections 4096; }\n"
        "http { access_log off; sendfile on; tcp_nopush on; keepalive_requests 1000000;\n"
        "  open_file_cache max=1000 inactive=20s; open_file_cache_valid 1s;\n"
        "  default_type application/octet-stream;\n"
        f"  server {{ listen 127.0.0.1:{port} backlog=1024; root {WWW}; }} }}\n")
    return conf


def start(server):
    port = free_port()
    if server == "evloop":
        cmd = [str(HTTP), "--listen", f"127.0.0.1:{port}", "--root", str(WWW)]
    else:
        cmd = ["nginx", "-c", str(nginx_conf(port)), "-p", str(TMP)]
    err = open(TMP / f"{server}.err", "w+")
    proc = subprocess.Popen(["taskset", "-c", SERVER_CPU] + cmd, stdout=subprocess.DEVNULL,
                            stderr=err, cwd=TMP)
    deadline = time.time() + 15
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc, port, err
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"{server} did not start: {(TMP / f'{server}.err').read_text()}")


def measure(server, name, size):
    proc, port, err = start(server)
    try:
        # One warm-up request so the first lookup is not in the timed run.
        subprocess.run(["curl", "-s", "-o", "/dev/null", f"http://127.0.0.1:{port}/{name}"],
                       timeout=30)
        u0, k0 = cpu(proc.pid)
        out = subprocess.run(
            ["taskset", "-c", LOAD_CPU, "wrk", "-t1", f"-c{CONNS}", f"-d{SECS}s", "--latency",
             "--timeout", "10s", f"http://127.0.0.1:{port}/{name}"],
            capture_output=True, text=True, timeout=SECS * 4 + 60).stdout
        u1, k1 = cpu(proc.pid)
    finally:
        stderr = stop(proc, err)
    n = int(re.search(r"(\d+) requests in", out).group(1))
    errors = re.findall(r"(Non-2xx or 3xx responses: \d+|Socket errors: .*)", out)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    sc = syscalls(stderr) if server == "evloop" else None
    return {
        "requests": n,
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "mb_s": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)) * size / 1e6,
        "p99": p99.group(1) if p99 else None,
        "user_us": (u1 - u0) * 1e6 / n if n else None,
        "kernel_us": (k1 - k0) * 1e6 / n if n else None,
        # The warm-up request is in the counters too.
        "syscalls": sc / (n + 1) if sc and n else None,
        "errors": "; ".join(errors),
    }


def main():
    WWW.mkdir(parents=True)
    for name, size in FILES:
        with open(WWW / name, "wb") as f:
            f.write(os.urandom(size))
    results = {}
    for name, size in FILES:
        runs = {s: [] for s in SERVERS}
        for _ in range(RUNS):
            for server in SERVERS:
                r = measure(server, name, size)
                print(f"{name} {server}: {r}", flush=True)
                runs[server].append(r)
        results[name] = {s: sorted(rs, key=lambda r: r["rps"])[len(rs) // 2]
                         for s, rs in runs.items()}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "files.json").write_text(json.dumps(results, indent=1))
    write_report(results)


def write_report(results):
    cpu_name = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                     if l.startswith("model name")), "?")
    md = ["# Static files: sendfile against nginx", "",
          f"`python3 bench/files.py` (RUNS={RUNS}, SECS={SECS}): `wrk -t1 -c{CONNS} -d{SECS}s` "
          "fetching one file over keep-alive connections, server pinned to CPU "
          f"{SERVER_CPU}, wrk to CPU {LOAD_CPU}; {os.cpu_count()} vCPU {cpu_name}, "
          f"{os.uname().release}. nginx: 1 worker, `sendfile on; tcp_nopush on; "
          "open_file_cache max=1000`. Median of interleaved runs by requests/s.", "",
          "| file | server | req/s | MB/s | p99 | server CPU µs/req (user + kernel) | "
          "syscalls/req | vs nginx req/s | vs nginx CPU/req | errors |",
          "|---|---|---|---|---|---|---|---|---|---|"]
    for name, _ in FILES:
        by = results[name]
        ng = by["nginx"]
        for server in SERVERS:
            r = by[server]
            total = r["user_us"] + r["kernel_us"]
            ng_total = ng["user_us"] + ng["kernel_us"]
            md.append(
                f"| {name} | {server} | {r['rps']:,.0f} | {r['mb_s']:,.0f} | {r['p99']} | "
                f"{total:.1f} ({r['user_us']:.1f} u + {r['kernel_us']:.1f} k) | "
                f"{'%.2f' % r['syscalls'] if r['syscalls'] else '–'} | "
                f"{r['rps'] / ng['rps']:.2f}× | {total / ng_total:.2f}× | {r['errors'] or '0'} |")
    (RESULTS / "FILES.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    try:
        main()
    finally:
        subprocess.run(["rm", "-rf", str(TMP)])
