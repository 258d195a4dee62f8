#!/usr/bin/env python3
"""Scale-out and restart figures for BENCHMARKS.md: the HTTP example behind
HAProxy with the shipped recipe (deploy/haproxy/haproxy.cfg, listening ports set
through its environment variables), and restarts under load.

  haproxy   wrk -t1 -cC --latency GET /json for SECS seconds, RUNS interleaved
            repetitions, median: straight to one instance ("direct", the
            reference), through HAProxy to one instance (the other two recipe
            servers not started: HAProxy's checks mark them down), and through
            HAProxy to three. Requests/s, p99, and CPU per request of the
            instances together and of HAProxy (user and kernel, /proc/PID/stat).
  restart   wrk -t1 -c16 against one instance started with --handover, while it
            is replaced RESTARTS times by a new process with the same command;
            wrk's error counts (non-2xx, connect/read/write/timeout).

Instances: target/release/examples/http on 127.0.0.2-4:8080 with
--proxy-protocol 127.0.0.0/8 (the recipe's send-proxy-v2). Instances and HAProxy
run on SERVER_CPU (default 1), wrk on LOAD_CPU (default 0): on 2 cores the
three instances share one core, so "to three" shows HAProxy's overhead and
spreading, not three cores' worth. Only loopback addresses are used.

  python3 bench/scale_out.py                 # SECS=5 RUNS=3 C=50 RESTARTS=20
  python3 bench/scale_out.py --quick         # 2 s runs, 1 repetition
Results: bench/results/scale_out.json and a Markdown table on stdout.
Python 3 standard library only; needs haproxy and wrk.
"""
import argparse, json, os, re, statistics, subprocess, sys, tempfile, time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import procstat  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
HTTP = Path(os.environ.get("EVLOOP_HTTP", ROOT / "target" / "release" / "examples" / "http"))
RECIPE = ROOT / "deploy" / "haproxy" / "haproxy.cfg"
IPS = ["127.0.0.2", "127.0.0.3", "127.0.0.4"]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def start_instance(ip, cpu, extra=()):
    proc = subprocess.Popen(
        ["taskset", "-c", str(cpu), str(HTTP), "--listen", f"{ip}:8080",
         "--proxy-protocol", "127.0.0.0/8", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline()
    if not line.startswith("listening on "):
        raise SystemExit(f"instance on {ip}: {line!r}")
    return proc


def stop(proc):
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def wrk(url, secs, conns, cpu):
    out = subprocess.run(
        ["taskset", "-c", str(cpu), "wrk", "-t1", f"-c{conns}", f"-d{secs}s", "--latency", url],
        capture_output=True, text=True, timeout=secs + 30).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    m = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    p99_ms = float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]
    errors = 0
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if m:
        errors += int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        errors += sum(int(g) for g in m.groups())
    return {"rps": rps, "requests": requests, "p99_ms": p99_ms, "errors": errors}


def cpu_of(pids):
    user = kernel = 0.0
    for pid in pids:
        u, k = procstat.cpu(pid)
        user, kernel = user + u, kernel + k
    return user, kernel


def wait_haproxy_up(stats, want_up):
    """Until HAProxy's CSV says `want_up` evloop_http servers are UP."""
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            out = subprocess.run(["curl", "-s", f"http://{stats}/stats;csv"],
                                 capture_output=True, text=True, timeout=5).stdout
        except subprocess.TimeoutExpired:
            out = ""
        up = sum(1 for l in out.splitlines()
                 if l.startswith("evloop_http,http") and ",UP," in l)
        down = sum(1 for l in out.splitlines()
                   if l.startswith("evloop_http,http") and ",DOWN," in l)
        if up == want_up and up + down == 3:
            return
        time.sleep(0.2)
    raise SystemExit(f"HAProxy never saw {want_up} servers up")


def measure(mode, args):
    """One run of `mode` (direct, haproxy1, haproxy3): the wrk figures and CPU."""
    n = 3 if mode == "haproxy3" else 1
    instances = [start_instance(ip, args.server_cpu) for ip in IPS[:n]]
    haproxy = None
    try:
        if mode == "direct":
            url = f"http://{IPS[0]}:8080/json"
            # The instance wants a PROXY header: direct means without it.
            stop(instances[0])
            instances = [subprocess.Popen(
                ["taskset", "-c", str(args.server_cpu), str(HTTP), "--listen", f"{IPS[0]}:8080"],
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)]
            instances[0].stdout.readline()
        else:
            front = f"127.0.0.1:{procstat.free_port()}"
            stats = f"127.0.0.1:{procstat.free_port()}"
            env = dict(os.environ, EVLOOP_HAPROXY_HTTP=front,
                       EVLOOP_HAPROXY_TCP=f"127.0.0.1:{procstat.free_port()}",
                       EVLOOP_HAPROXY_STATS=stats)
            haproxy = subprocess.Popen(
                ["taskset", "-c", str(args.server_cpu), "haproxy", "-db", "-f", str(RECIPE)],
                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            wait_haproxy_up(stats, n)
            url = f"http://{front}/json"
        pids = [p.pid for p in instances]
        before = cpu_of(pids)
        hbefore = cpu_of([haproxy.pid]) if haproxy else (0.0, 0.0)
        result = wrk(url, args.secs, args.conns, args.load_cpu)
        after = cpu_of(pids)
        hafter = cpu_of([haproxy.pid]) if haproxy else (0.0, 0.0)
        per = lambda a, b: [(a[i] - b[i]) / result["requests"] * 1e6 for i in range(2)]
        result["server_us"] = per(after, before)
        result["haproxy_us"] = per(hafter, hbefore)
        return result
    finally:
        if haproxy:
            haproxy.kill()
            haproxy.wait()
        for p in instances:
            stop(p)


def restart_run(args):
    """wrk against one --handover instance while it is replaced RESTARTS times."""
    control = Path(tempfile.mkdtemp()) / "http.handover"
    cmd = ["taskset", "-c", str(args.server_cpu), str(HTTP), "--listen", f"{IPS[0]}:8080",
           "--handover", str(control)]
    current = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    current.stdout.readline()
    secs = max(4, args.restarts // 2 + 2)
    load = subprocess.Popen(
        ["taskset", "-c", str(args.load_cpu), "wrk", "-t1", "-c16", f"-d{secs}s", "--latency",
         f"http://{IPS[0]}:8080/json"], stdout=subprocess.PIPE, text=True)
    time.sleep(1)
    for _ in range(args.restarts):
        successor = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     text=True)
        successor.stdout.readline()
        current.wait(timeout=15)
        current = successor
        time.sleep(0.1)
    out = load.communicate(timeout=secs + 30)[0]
    stop(current)
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    m = re.search(r"Socket errors: (.*)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {"restarts": args.restarts, "requests": requests,
            "socket_errors": m.group(1) if m else "none",
            "non_2xx": int(non2xx.group(1)) if non2xx else 0}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--secs", type=int, default=int(os.environ.get("SECS", 5)))
    ap.add_argument("--runs", type=int, default=int(os.environ.get("RUNS", 3)))
    ap.add_argument("--conns", type=int, default=int(os.environ.get("C", 50)))
    ap.add_argument("--restarts", type=int, default=int(os.environ.get("RESTARTS", 20)))
    ap.add_argument("--server-cpu", type=int, default=1)
    ap.add_argument("--load-cpu", type=int, default=0)
    args = ap.parse_args()
    if args.quick:
        args.secs, args.runs = 2, 1
    if not HTTP.exists():
        raise SystemExit(f"{HTTP} not built: cargo build --release --example http")
    modes = ["direct", "haproxy1", "haproxy3"]
    runs = {m: [] for m in modes}
    for r in range(args.runs):
        for m in modes[r % 3:] + modes[:r % 3]:
            res = measure(m, args)
            log(f"{m}: {res}")
            runs[m].append(res)
    summary = {}
    for m in modes:
        med = lambda k: statistics.median(x[k] for x in runs[m])
        summary[m] = {
            "rps": med("rps"), "p99_ms": med("p99_ms"),
            "errors": sum(x["errors"] for x in runs[m]),
            "server_us": [statistics.median(x["server_us"][i] for x in runs[m]) for i in range(2)],
            "haproxy_us": [statistics.median(x["haproxy_us"][i] for x in runs[m]) for i in range(2)],
            "all_rps": [round(x["rps"]) for x in runs[m]],
        }
    restart = restart_run(args)
    log(f"restart: {restart}")
    out = ROOT / "bench" / "results" / "scale_out.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"args": vars(args), "summary": summary, "restart": restart},
                              indent=2))
    base = summary["direct"]["rps"]
    names = {"direct": "direct to 1 instance (reference)", "haproxy1": "HAProxy → 1 instance",
             "haproxy3": "HAProxy → 3 instances"}
    print(f"| path (wrk -t1 -c{args.conns}, GET /json, {args.secs} s × {args.runs}) | req/s "
          "| vs direct | p99 ms | instances CPU µs/req (u + k) | HAProxy CPU µs/req (u + k) "
          "| errors |")
    print("|---|---|---|---|---|---|---|")
    for m in modes:
        s = summary[m]
        su, sk = s["server_us"]
        hu, hk = s["haproxy_us"]
        h = "-" if m == "direct" else f"{hu + hk:.2f} ({hu:.2f} u + {hk:.2f} k)"
        print(f"| {names[m]} | {s['rps'] / 1000:.0f}k {s['all_rps']} | {s['rps'] / base:.2f}x "
              f"| {s['p99_ms']:.3g} | {su + sk:.2f} ({su:.2f} u + {sk:.2f} k) | {h} "
              f"| {s['errors'] or 'none'} |")
    print()
    print(f"Restarts under load (wrk -t1 -c16, {restart['restarts']} restarts with --handover): "
          f"{restart['requests']} requests, non-2xx {restart['non_2xx']}, "
          f"socket errors: {restart['socket_errors']}")


if __name__ == "__main__":
    main()
