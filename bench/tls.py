#!/usr/bin/env python3
"""TLS: evloop's examples against nginx (1 worker, OpenSSL) and redis-server
(`--tls-port`, OpenSSL), same run, same throwaway ECDSA P-256 certificate
(bench/tls_certs.sh), TLS 1.3 with X25519 (what the clients offer first).

Scenarios (each server pinned to SERVER_CPU, default 1; the load tool to
LOAD_CPU, default 0):
  handshakes  `wrk -t1 -c16 -H "Connection: close"`: a new connection, a full
              handshake (wrk keeps no sessions), one request and a close each
  keepalive   `wrk -t1 -c256` over keep-alive connections, `GET /` (13 bytes)
  bulk        `wrk -t1 -c4` fetching a 64 MiB file
  kv          `redis-benchmark --tls -P 16 -c 50 -t set,get -n N`
  idle        N_IDLE (default 10000) TLS connections, each after one request,
              held open: server RSS growth per connection

Reported: requests/s (or MB/s), server CPU per request split into user and
kernel time (utime/stime of /proc/PID/stat), for evloop its read + write +
epoll_wait calls per request from its shutdown counters, and ratios against
the peer. RUNS interleaved repetitions (default 3), median by rate; a fresh
server for every measurement.

  cargo build --release --examples
  python3 bench/tls.py [SCENARIO...]   # writes bench/results/TLS.md and tls.json

Needs nginx (nginx-light), redis-server, redis-tools, wrk, openssl. Python 3
standard library only.
"""
import json, os, re, signal, socket, ssl, subprocess, sys, tempfile, time
from pathlib import Path

from procstat import cpu, free_port, rss_kib, stop, syscalls

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
EX = ROOT / "target" / "release" / "examples"
SERVER_CPU, LOAD_CPU = os.environ.get("SERVER_CPU", "1"), os.environ.get("LOAD_CPU", "0")
RUNS = int(os.environ.get("RUNS", "3"))
SECS = int(os.environ.get("SECS", "5"))
KV_N = int(os.environ.get("KV_N", "2000000"))
N_IDLE = int(os.environ.get("N_IDLE", "10000"))
TMP = Path(tempfile.mkdtemp(prefix="evloop-tls-"))
CERTS, WWW = TMP / "certs", TMP / "www"
SCENARIOS = ["handshakes", "keepalive", "bulk", "kv", "idle"]


def nginx_conf(port):
    conf = TMP / "nginx.conf"
    conf.write_text(
        f"daemon off; master_process off; worker_processes 1; error_log {TMP}/nginx-error.log;"
        f" pid {TMP}/nginx.pid; worker_rlimit_nofile 20000;\n"
        "events { worker_connections 20000; }\n"
        "http { access_log off; sendfile on; tcp_nopush on; keepalive_requests 1000000;\n"
        "  open_file_cache max=1000 inactive=20s; default_type application/octet-stream;\n"
        f"  ssl_certificate {CERTS}/cert.pem; ssl_certificate_key {CERTS}/key.pem;\n"
        "  ssl_protocols TLSv1.2 TLSv1.3; ssl_session_tickets off;\n"
        f"  server {{ listen 127.0.0.1:{port} ssl backlog=4096; root {WWW};\n"
        "    location = / { default_type text/plain; return 200 'Hello, World!'; } } }\n")
    return conf


def command(server, port):
    cert, key, ca = CERTS / "cert.pem", CERTS / "key.pem", CERTS / "ca.pem"
    if server == "evloop":
        return [str(EX / "http"), "--listen", f"127.0.0.1:{port}", "--root", str(WWW),
                "--tls-cert", str(cert), "--tls-key", str(key), "--max-connections", "19000"]
    if server == "nginx":
        return ["nginx", "-c", str(nginx_conf(port)), "-p", str(TMP)]
    if server == "evloop-kv":
        return [str(EX / "kv"), "--listen", f"127.0.0.1:{free_port()}", "--tls-port", str(port),
                "--tls-cert-file", str(cert), "--tls-key-file", str(key),
                "--max-connections", "19000"]
    return ["redis-server", "--port", "0", "--tls-port", str(port), "--tls-cert-file", str(cert),
            "--tls-key-file", str(key), "--tls-ca-cert-file", str(ca), "--tls-auth-clients", "no",
            "--save", "", "--appendonly", "no", "--maxclients", "19000"]


def start(server):
    port = free_port()
    err = open(TMP / f"{server}.err", "w+")
    proc = subprocess.Popen(["taskset", "-c", SERVER_CPU] + command(server, port),
                            stdout=subprocess.DEVNULL, stderr=err, cwd=TMP)
    deadline = time.time() + 15
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc, port, err
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"{server} did not start: {(TMP / f'{server}.err').read_text()}")


def run_load(cmd, timeout):
    return subprocess.run(["taskset", "-c", LOAD_CPU] + cmd, capture_output=True, text=True,
                          timeout=timeout).stdout


def wrk(port, conns, path, extra=()):
    out = run_load(["wrk", "-t1", f"-c{conns}", f"-d{SECS}s", "--timeout", "10s", *extra,
                    f"https://127.0.0.1:{port}{path}"], SECS * 4 + 60)
    n = int(re.search(r"(\d+) requests in", out).group(1))
    errors = re.findall(r"(Non-2xx or 3xx responses: \d+|Socket errors: .*)", out)
    return n, float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), "; ".join(errors)


def kv_bench(port):
    out = run_load(["redis-benchmark", "--tls", "--cacert", str(CERTS / "ca.pem"), "-p",
                    str(port), "-P", "16", "-c", "50", "-t", "set,get", "-n", str(KV_N),
                    "--csv"], 600)
    rates = dict(re.findall(r'"(SET|GET)","([\d.]+)"', out))
    rate = (float(rates["SET"]) + float(rates["GET"])) / 2
    return 2 * KV_N, rate, "" if len(rates) == 2 else out[-300:]


def idle(port, pid):
    """Open N_IDLE TLS connections (one request each), return RSS growth per conn."""
    ctx = ssl.create_default_context(cafile=str(CERTS / "ca.pem"))
    ctx.check_hostname = False
    before = rss_kib(pid)
    socks = []
    request = b"GET / HTTP/1.1\r\nHost: t\r\n\r\n"
    for _ in range(N_IDLE):
        s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10))
        s.sendall(request)
        s.recv(4096)
        socks.append(s)
    time.sleep(0.5)
    after = rss_kib(pid)
    for s in socks:
        s.close()
    return N_IDLE, (after - before) * 1024 / N_IDLE


def measure(scenario, server):
    proc, port, err = start(server)
    try:
        if scenario == "idle":
            n, per_conn = idle(port, proc.pid)
            return {"conns": n, "bytes_per_conn": per_conn}
        if scenario == "bulk":
            subprocess.run(["curl", "-sk", "-o", "/dev/null", f"https://127.0.0.1:{port}/64m.bin"],
                           timeout=60)
        u0, k0 = cpu(proc.pid)
        if scenario == "handshakes":
            n, rate, errors = wrk(port, 16, "/", ["-H", "Connection: close"])
        elif scenario == "keepalive":
            n, rate, errors = wrk(port, 256, "/")
        elif scenario == "bulk":
            n, rate, errors = wrk(port, 4, "/64m.bin")
        else:
            n, rate, errors = kv_bench(port)
        u1, k1 = cpu(proc.pid)
    finally:
        stderr = stop(proc, err)
    sc = syscalls(stderr) if server.startswith("evloop") else None
    r = {"requests": n, "rate": rate, "errors": errors,
         "user_us": (u1 - u0) * 1e6 / n, "kernel_us": (k1 - k0) * 1e6 / n,
         "syscalls": sc / n if sc else None}
    if scenario == "bulk":
        gb = n * 64 * 1024 * 1024 / 1e9
        r.update(mb_s=rate * 64 * 1024 * 1024 / 1e6, cpu_s_per_gb=((u1 - u0) + (k1 - k0)) / gb)
    return r


def servers(scenario):
    return ["evloop-kv", "redis"] if scenario == "kv" else ["evloop", "nginx"]


def main():
    chosen = sys.argv[1:] or SCENARIOS
    subprocess.run([str(ROOT / "bench" / "tls_certs.sh"), str(CERTS)], check=True,
                   stdout=subprocess.DEVNULL)
    WWW.mkdir(parents=True)
    with open(WWW / "64m.bin", "wb") as f:
        f.write(os.urandom(64 * 1024 * 1024))
    results = {}
    for scenario in chosen:
        runs = {s: [] for s in servers(scenario)}
        for _ in range(1 if scenario == "idle" else RUNS):
            for server in servers(scenario):
                r = measure(scenario, server)
                print(f"{scenario} {server}: {r}", flush=True)
                runs[server].append(r)
        key = "bytes_per_conn" if scenario == "idle" else "rate"
        results[scenario] = {s: sorted(rs, key=lambda r: r[key])[len(rs) // 2]
                             for s, rs in runs.items()}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "tls.json").write_text(json.dumps(results, indent=1))
    write_report(results)


def write_report(results):
    cpu_name = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                     if l.startswith("model name")), "?")
    md = ["# TLS: evloop against nginx and redis-server (OpenSSL)", "",
          f"`python3 bench/tls.py` (RUNS={RUNS}, SECS={SECS}, KV_N={KV_N}): server pinned to "
          f"CPU {SERVER_CPU}, load tool to CPU {LOAD_CPU}; {os.cpu_count()} vCPU {cpu_name}, "
          f"{os.uname().release}. Median of interleaved runs.", "",
          "| scenario | server | rate | server CPU µs/req (user + kernel) | syscalls/req | "
          "vs peer rate | vs peer CPU/req | errors |", "|---|---|---|---|---|---|---|---|"]
    for scenario, by in results.items():
        if scenario == "idle":
            continue
        peer = by[servers(scenario)[1]]
        for server, r in by.items():
            total = r["user_us"] + r["kernel_us"]
            peer_total = peer["user_us"] + peer["kernel_us"]
            rate = (f"{r['mb_s']:,.0f} MB/s ({r['cpu_s_per_gb']:.2f} CPU s/GB)"
                    if scenario == "bulk" else f"{r['rate']:,.0f}/s")
            md.append(
                f"| {scenario} | {server} | {rate} | {total:.1f} ({r['user_us']:.1f} u + "
                f"{r['kernel_us']:.1f} k) | {'%.2f' % r['syscalls'] if r['syscalls'] else '–'} | "
                f"{r['rate'] / peer['rate']:.2f}× | {total / peer_total:.2f}× | "
                f"{r['errors'] or '0'} |")
    if "idle" in results:
        md += ["", f"Idle TLS connections ({N_IDLE}, each after one request): server RSS growth",
               "", "| server | bytes per connection |", "|---|---|"]
        for server, r in results["idle"].items():
            md.append(f"| {server} | {r['bytes_per_conn']:,.0f} |")
    (RESULTS / "TLS.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    try:
        main()
    finally:
        subprocess.run(["rm", "-rf", str(TMP)])
