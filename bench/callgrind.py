#!/usr/bin/env python3
"""User-space instructions per request, from valgrind --tool=callgrind.

Deterministic where wall-clock ratios are not (the machine is shared; ±15 %
between runs): the same binary and the same fixed request count give the same
instruction total whatever else the machine does. Kernel work is not counted.

Each server runs under callgrind once idle (start, then SIGTERM: its start-up
and shutdown cost) and once per load; instructions per request are
(loaded − idle) / requests. Loads:

  http   ab -k -n 20000 -c 50 http://ADDR/            (examples/http)
  resp1  redis-benchmark -n 100000 -c 50 -t set,get -P 1   (examples/kv)
  resp16 the same with -P 16

  python3 bench/callgrind.py [--bin-dir DIR] [--peers]
    --bin-dir   where the http and kv examples are (default target/release/examples):
                point it at another build to compare two commits
    --peers     also nginx (1 worker, return 200) and redis-server for the same loads

Needs valgrind, ab (apache2-utils), redis-tools; nginx and redis-server with
--peers. Python 3.11 standard library only.
"""
import argparse, os, re, signal, socket, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TMP = Path(tempfile.mkdtemp(prefix="evloop-callgrind-"))
LOADS = {
    "http": ("ab", 20000),
    "resp1": ("redis-benchmark", 200000),  # set + get: 100,000 each
    "resp16": ("redis-benchmark", 200000),
}
NGINX_CONF = """daemon off; master_process off; worker_processes 1;
pid {tmp}/nginx.pid; error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{ access_log off;
  client_body_temp_path {tmp}/b; proxy_temp_path {tmp}/p; fastcgi_temp_path {tmp}/f;
  uwsgi_temp_path {tmp}/u; scgi_temp_path {tmp}/s;
  server {{ listen 127.0.0.1:{port}; default_type text/plain;
    location / {{ return 200 "Hello, World!"; }} }} }}
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, deadline=60):
    end = time.time() + deadline
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing listens on {port}")


def run_load(load, port):
    if load == "http":
        out = subprocess.run(["taskset", "-c", "0", "ab", "-q", "-k", "-n", "20000", "-c", "50",
                              f"http://127.0.0.1:{port}/"], capture_output=True, text=True, timeout=600)
        failed = re.search(r"Failed requests:\s+(\d+)", out.stdout)
        if not failed or failed.group(1) != "0":
            raise RuntimeError(f"ab: {out.stdout[-500:]} {out.stderr[-500:]}")
        return
    pipeline = "16" if load == "resp16" else "1"
    out = subprocess.run(["taskset", "-c", "0", "redis-benchmark", "-p", str(port), "-n", "100000", "-c", "50",
                          "-t", "set,get", "-P", pipeline, "-q"], capture_output=True, text=True, timeout=600)
    if "requests per second" not in out.stdout:
        raise RuntimeError(f"redis-benchmark: {out.stdout[-500:]} {out.stderr[-500:]}")


def instructions(cmd, port, load, name):
    """Total Ir of the server's run under callgrind, with `load` (or none)."""
    out = TMP / f"{name}-{load or 'idle'}.out"
    proc = subprocess.Popen(["taskset", "-c", "1", "valgrind", "--tool=callgrind",
                             f"--callgrind-out-file={out}"] + cmd,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_port(port)
        if load:
            run_load(load, port)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
    m = re.search(r"Collected\s*:\s*(\d+)", err)
    if not m:
        raise RuntimeError(f"{name}: no callgrind total\n{err[-1000:]}")
    return int(m.group(1))


def servers(bin_dir, peers):
    port = free_port()
    yield "evloop http", [str(bin_dir / "http"), "--listen", f"127.0.0.1:{port}"], port, ["http"]
    port = free_port()
    yield "evloop kv", [str(bin_dir / "kv"), "--listen", f"127.0.0.1:{port}"], port, ["resp1", "resp16"]
    if peers:
        port = free_port()
        conf = TMP / f"nginx-{port}.conf"
        conf.write_text(NGINX_CONF.format(tmp=TMP, port=port))
        yield "nginx", ["nginx", "-c", str(conf), "-p", str(TMP), "-e", str(TMP / "e.log")], port, ["http"]
        port = free_port()
        yield "redis", ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"], port, \
            ["resp1", "resp16"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin-dir", type=Path, default=ROOT / "target" / "release" / "examples")
    ap.add_argument("--peers", action="store_true")
    ap.add_argument("--out", type=Path, help="also write the table, with its commands, to this Markdown file")
    args = ap.parse_args()
    rows = ["| server | load | requests | user-space instructions per request |", "|---|---|---:|---:|"]
    print("\n".join(rows))
    for name, cmd, port, loads in servers(args.bin_dir, args.peers):
        idle = instructions(cmd, port, None, name.replace(" ", "-"))
        for load in loads:
            total = instructions(cmd, port, load, name.replace(" ", "-"))
            n = LOADS[load][1]
            rows.append(f"| {name} | {load} | {n} | {(total - idle) / n:,.0f} |")
            print(rows[-1], flush=True)
    if args.out:
        args.out.write_text("\n".join([
            "# User-space instructions per request (callgrind)", "",
            f"Generated by `python3 bench/callgrind.py{' --peers' if args.peers else ''}` on "
            f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: each server under `valgrind "
            "--tool=callgrind` on CPU 1, the load on CPU 0; (instructions with the load − instructions of "
            "an idle start and stop) / requests. Loads: `ab -q -k -n 20000 -c 50 http://ADDR/` (http), "
            "`redis-benchmark -n 100000 -c 50 -t set,get -P 1` (resp1) and `-P 16` (resp16): 200,000 "
            "requests. Deterministic for a given binary and load (repeat runs agree to a few "
            "instructions); the kernel's share is not counted.", "", *rows, ""]))


if __name__ == "__main__":
    main()
