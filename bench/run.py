#!/usr/bin/env python3
"""Benchmark runner: every scenario of BENCHMARKS.md, peers alternating with evloop.

Run through bench/run.sh (which installs the tools and builds everything). Each
server runs pinned to SERVER_CPU, each load tool to LOAD_CPU; every scenario runs
evloop and its peers in turn, RUNS times interleaved, and reports the median. The
results go to bench/results/results.json, Markdown tables and SVG charts (drawn
with matplotlib) under bench/results/, and BENCHMARKS.md (from
bench/BENCHMARKS.in.md).

Environment: SECS (seconds per run, default 5), RUNS (default 3), QUICK=1 (one
short run per scenario, for checking the runner itself), ONLY=render (redraw the
charts and BENCHMARKS.md from bench/results/results.json, running nothing).
"""
import json, math, os, re, shutil, signal, socket, statistics, subprocess, sys, tempfile, time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib import ticker

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PEERS = ROOT / "bench" / "peers" / "target" / "release"
EX = ROOT / "target" / "release" / "examples"
SERVER_CPU, LOAD_CPU = os.environ.get("SERVER_CPU", "1"), os.environ.get("LOAD_CPU", "0")
QUICK = os.environ.get("QUICK") == "1"
SECS = int(os.environ.get("SECS", "2" if QUICK else "5"))
RUNS = int(os.environ.get("RUNS", "1" if QUICK else "3"))
IDLE = int(os.environ.get("IDLE", "2000" if QUICK else "10000"))
HZ = os.sysconf("SC_CLK_TCK")
TMP = Path(tempfile.mkdtemp(prefix="evloop-bench-"))
LOG = []


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A server process pinned to SERVER_CPU; knows its pid, port, CPU and RSS."""

    def __init__(self, name, cmd, port=None, ready=None):
        self.name = name
        self.out = open(TMP / f"{name}.out", "w+")
        self.err = open(TMP / f"{name}.err", "w+")
        self.proc = subprocess.Popen(["taskset", "-c", SERVER_CPU] + cmd, stdout=self.out,
                                     stderr=self.err, cwd=TMP)
        self.port = port
        deadline = time.time() + 15
        while time.time() < deadline:
            if self.port is None:
                self.out.seek(0)
                m = re.search(r"listening on \w+://[^ ]*:(\d+)", self.out.read())
                if m:
                    self.port = int(m.group(1))
            if self.port is not None and self._accepts():
                break
            if self.proc.poll() is not None:
                raise RuntimeError(f"{name} exited: {Path(self.err.name).read_text()}")
            time.sleep(0.05)
        else:
            raise RuntimeError(f"{name} did not start")

    def _accepts(self):
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            return True
        except OSError:
            return False

    def cpu_seconds(self):
        """(user, kernel) CPU seconds: utime and stime, fields 14 and 15 of /proc/PID/stat."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) / HZ, int(fields[12]) / HZ

    def rss_kib(self):
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def stop(self):
        """SIGINT, wait; returns stderr (evloop logs its counters there)."""
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.err.seek(0)
        return self.err.read()


def evloop_syscalls(stderr):
    """read + write + epoll_wait calls from evloop's shutdown counters."""
    m = re.findall(r"(reads|writes|polls): (\d+)", stderr)
    return sum(int(v) for _, v in m[-3:]) if len(m) >= 3 else None


def nginx_conf(port):
    conf = TMP / "nginx.conf"
    conf.write_text(
        f"daemon off; master_process off; worker_processes 1; error_log {TMP}/nginx-error.log;"
        f" pid {TMP}/nginx.pid; worker_rlimit_nofile 20000;\n"
        "events { worker_connections 19500; }\n"
        f"http {{ access_log off; server {{ listen 127.0.0.1:{port} backlog=1024;"
        ' location / { return 200 "Hello, World!"; } } }\n')
    return conf


def start(name):
    """Start a named server; every server takes up to ~19,000 connections."""
    if name == "evloop-echo":
        return Server(name, [str(EX / "echo"), "--listen", "127.0.0.1:0", "--max-connections", "19000"])
    if name == "tokio-echo":
        return Server(name, [str(PEERS / "tokio-echo"), "127.0.0.1:0"])
    if name == "evloop-http":
        return Server(name, [str(EX / "http"), "--listen", "127.0.0.1:0", "--max-connections", "19000"])
    if name == "tokio-http":
        return Server(name, [str(PEERS / "tokio-http"), "127.0.0.1:0"])
    if name == "nginx":
        port = free_port()
        return Server(name, ["nginx", "-c", str(nginx_conf(port)), "-p", str(TMP)], port=port)
    if name == "evloop-kv":
        return Server(name, [str(EX / "kv"), "--listen", "127.0.0.1:0", "--max-connections", "19000"])
    if name == "redis":
        port = free_port()
        return Server(name, ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no",
                             "--maxclients", "19000", "--bind", "127.0.0.1"], port=port)
    raise ValueError(name)


def load(cmd, timeout=None):
    """Run a load tool pinned to LOAD_CPU; its stdout."""
    r = subprocess.run(["taskset", "-c", LOAD_CPU] + cmd, capture_output=True, text=True,
                       timeout=timeout or SECS * 4 + 60)
    return r.stdout + r.stderr


def ms(value):
    m = re.match(r"([\d.]+)(us|ms|s)", value)
    if not m:
        return None
    return round(float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)], 3)


def measure(server_name, run_load):
    """Start the server, run the load, stop; returns the load's result plus CPU/req
    and (for evloop) syscalls/req."""
    srv = start(server_name)
    try:
        user0, kernel0 = srv.cpu_seconds()
        result = run_load(srv.port)
        user1, kernel1 = srv.cpu_seconds()
    finally:
        err = srv.stop()
    n = result.get("requests") or 0
    user, kernel = user1 - user0, kernel1 - kernel0
    result["cpu_us"] = (user + kernel) * 1e6 / n if n else None
    result["cpu_user_us"] = user * 1e6 / n if n else None
    result["cpu_kernel_us"] = kernel * 1e6 / n if n else None
    sc = evloop_syscalls(err) if server_name.startswith("evloop") else None
    result["syscalls"] = sc / n if sc and n else None
    return result


def wrk(port, conns, script=None, secs=None):
    cmd = ["wrk", "-t1", f"-c{conns}", f"-d{secs or SECS}s", "--latency", "--timeout", "5s"]
    if script:
        cmd += ["-s", str(ROOT / "bench" / script)]
    out = load(cmd + [f"http://127.0.0.1:{port}/"])
    total = re.search(r"(\d+) requests in", out)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    errors = re.findall(r"(Non-2xx or 3xx responses: \d+|Socket errors: .*)", out)
    return {"requests": int(total.group(1)) if total else 0,
            "rps": float(rps.group(1)) if rps else 0.0,
            "p99_ms": round(ms(p99.group(1)), 3) if p99 else None,
            "errors": "; ".join(errors)}


def echo_client(port, conns, size):
    out = load([str(PEERS / "echo-client"), f"127.0.0.1:{port}", str(conns), str(size), str(SECS)])
    m = re.search(r"round_trips=(\d+) seconds=([\d.]+) rps=(\d+) errors=(\d+)", out)
    if not m:
        return {"requests": 0, "rps": 0.0, "errors": out.strip()[-200:]}
    return {"requests": int(m.group(1)), "rps": float(m.group(3)),
            "errors": "" if m.group(4) == "0" else f"{m.group(4)} errors"}


def loadgen(port, mode, conns, size=64, pipeline=1):
    exe = EX / "loadgen"
    if not exe.exists():
        return None
    out = load([str(exe), mode, "--target", f"127.0.0.1:{port}", "--connections", str(conns),
                "--size", str(size), "--pipeline", str(pipeline), "--duration", str(SECS), "--json"])
    try:
        j = json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"requests": 0, "rps": 0.0, "errors": out.strip()[-200:]}
    return {"requests": j.get("requests", 0), "rps": j.get("rps", 0.0),
            "p99_ms": (j.get("latency_us") or {}).get("p99", 0) / 1000.0,
            "errors": "" if not j.get("errors") else f"{j['errors']} errors",
            "loss": j.get("loss")}


def redis_bench(port, pipeline, n):
    out = load(["redis-benchmark", "-p", str(port), "-q", "-n", str(n), "-c", "50",
                "-P", str(pipeline), "-t", "ping,set,get,incr,mset"], timeout=600)
    out = out.replace("\r", "\n")
    tests = {}
    for line in out.splitlines():
        m = re.match(r"\s*([A-Z_]+(?: \(10 keys\))?): ([\d.]+) requests per second", line)
        if m:
            tests[m.group(1)] = float(m.group(2))
    return {"requests": n * len(tests), "tests": tests,
            "rps": statistics.mean(tests.values()) if tests else 0.0,
            "errors": "" if len(tests) == 5 else "missing tests"}


def median_runs(servers, run_load):
    """RUNS interleaved runs per server; the run with the median req/s for each."""
    runs = {s: [] for s in servers}
    for _ in range(RUNS):
        for s in servers:
            r = run_load(s)
            if r is not None:
                runs[s].append(r)
    out = {}
    for s, rs in runs.items():
        if rs:
            rs.sort(key=lambda r: r["rps"])
            out[s] = rs[len(rs) // 2]
            out[s]["all_rps"] = [round(r["rps"]) for r in rs]
    return out


def idle_rss(server_name, message=None, n=IDLE):
    srv = start(server_name)
    try:
        before = srv.rss_kib()
        args = ["python3", str(ROOT / "bench" / "idle_conns.py"), str(srv.port), str(n)]
        if message:
            args.append(message)
        holder = subprocess.Popen(["taskset", "-c", LOAD_CPU] + args, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        ready = holder.stdout.readline().strip()
        time.sleep(0.5)
        after = srv.rss_kib()
        holder.stdin.close()
        holder.wait(timeout=60)
    finally:
        srv.stop()
    return {"ok": ready == "ready", "before_kib": before, "after_kib": after,
            "bytes_per_conn": (after - before) * 1024 / n}


def strace_check():
    """Count syscalls of the HTTP example under strace -c -f for a short wrk run, to
    cross-check the reactor's own counters."""
    if not shutil.which("strace"):
        return None
    port = free_port()
    out_file = TMP / "strace.txt"
    proc = subprocess.Popen(["taskset", "-c", SERVER_CPU, "strace", "-c", "-f", "-o", str(out_file),
                             str(EX / "http"), "--listen", f"127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)
    r = wrk(port, 50, secs=3)
    # Stop the traced server itself (strace then prints its summary and exits).
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
    os.kill(int(children[0]) if children else proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    counts = {}
    for line in out_file.read_text().splitlines():
        parts = line.split()
        if len(parts) >= 5 and parts[-1] in ("read", "write", "epoll_wait", "recvfrom", "sendto",
                                              "epoll_ctl", "accept4", "close", "writev"):
            counts[parts[-1]] = int(parts[3])
    ours = evloop_syscalls(err)
    return {"requests": r["requests"], "strace": counts,
            # mio's sockets use recv/send, which strace shows as recvfrom/sendto.
            "strace_per_req": sum(counts.get(k, 0) for k in ("read", "write", "recvfrom", "sendto", "epoll_wait"))
            / max(r["requests"], 1),
            "counters_per_req": (ours or 0) / max(r["requests"], 1)}


# ---- charts (matplotlib, SVG) -------------------------------------------------------

plt.rcParams.update({
    "svg.hashsalt": "evloop-bench",  # fixed element ids: the same results give the same SVG
    "font.family": "DejaVu Sans",  # ships with matplotlib
    "font.size": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.axisbelow": True,
})
COLORS = {"evloop": "#1f77b4", "nginx": "#ff7f0e", "tokio": "#2ca02c", "redis": "#d62728"}


def color(server):
    return COLORS[server.split("-")[0]]


def tick(v, _pos=None):
    """Tick text: 0.5, 20, 200k, 1.5M."""
    for div, suffix in ((1e6, "M"), (1e3, "k")):
        if v >= div:
            return f"{v / div:g}{suffix}"
    return f"{v:g}"


def log_ticks(axis, formatter=tick):
    """Labelled ticks at 1, 2 and 5 in each decade of a log axis."""
    axis.set_major_locator(ticker.LogLocator(subs=(1, 2, 5)))
    axis.set_minor_locator(ticker.NullLocator())
    axis.set_major_formatter(ticker.FuncFormatter(formatter))


def value_axis(ax, values, label):
    """The y axis of a chart: its unit, a grid, and a log scale when the values span a
    decade or more (else linear from 0). Returns whether it is a log scale."""
    vals = [v for v in values if v]
    log = max(vals) >= 10 * min(vals)
    if log:
        ax.set_yscale("log")
        log_ticks(ax.yaxis)
        label += " (log scale)"
    else:
        ax.yaxis.set_major_formatter(ticker.FuncFormatter(tick))
        ax.set_ylim(bottom=0)
    ax.set_ylabel(label)
    ax.grid(axis="y", color="#ddd")
    return log


def series(section, key):
    """{server: its `key` figure in each scenario of a results section}."""
    servers = dict.fromkeys(s for by in section.values() for s in by)
    return {s: [section[g].get(s, {}).get(key) for g in section] for s in servers}


def bars(ax, groups, by_server, label):
    """Grouped bars, one group per scenario and one bar per server, each with its value."""
    width = 0.8 / len(by_server)
    for i, (server, vals) in enumerate(by_server.items()):
        xs = [g + (i - (len(by_server) - 1) / 2) * width for g in range(len(groups))]
        drawn = ax.bar(xs, [v or 0 for v in vals], width * 0.92, label=server, color=color(server))
        ax.bar_label(drawn, [fmt(v) for v in vals], padding=2, fontsize=8)
    ax.set_xticks(range(len(groups)), groups)
    values = [v for vals in by_server.values() for v in vals if v]
    # Room above the bars for their values and the legend; on a log axis, a floor well below the shortest bar.
    if value_axis(ax, values, label):
        ax.set_ylim(10 ** math.floor(math.log10(min(values) / 2)), max(values) * 2.5)
    else:
        ax.set_ylim(0, max(values) * 1.25)


def save(fig, name):
    fig.savefig(RESULTS / name, metadata={"Date": None})
    plt.close(fig)


def bar_chart(name, title, section, key, xlabel, ylabel):
    fig, ax = plt.subplots(figsize=(8, 4.2), layout="constrained")
    bars(ax, list(section), series(section, key), ylabel)
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.legend(loc="upper left", frameon=False, ncols=3)
    save(fig, name)


def sweep_chart(sweep):
    conns = [int(c) for c in sweep]
    fig, axes = plt.subplots(2, 1, sharex=True, figsize=(8, 6.5), layout="constrained")
    for ax, key, label in zip(axes, ["rps", "cpu_us"], ["requests/s", "server CPU µs per request"]):
        by_server = series(sweep, key)
        for server, vals in by_server.items():
            ax.plot(conns, vals, marker="o", label=server, color=color(server))
        value_axis(ax, [v for vals in by_server.values() for v in vals], label)
    axes[0].set_title("HTTP plaintext by concurrent connections (wrk -t1 -cN)")
    axes[0].legend(loc="lower right", frameon=False)
    axes[1].set_xscale("log")
    axes[1].set_xticks(conns, [tick(c) for c in conns])
    axes[1].xaxis.set_minor_locator(ticker.NullLocator())
    axes[1].set_xlabel("concurrent connections (log scale)")
    save(fig, "http_sweep.svg")


def echo_chart(echo):
    """One panel per load tool (echo-client, and loadgen where it was built)."""
    tools = list(dict.fromkeys(k.split(": ")[0] for k in echo))
    fig, axes = plt.subplots(len(tools), 1, sharey=True, squeeze=False, figsize=(9, 0.5 + 3.5 * len(tools)),
                             layout="constrained")
    axes = axes[:, 0]
    for ax, tool in zip(axes, tools):
        section = {k.split(": ")[1]: v for k, v in echo.items() if k.startswith(tool + ":")}
        bars(ax, [k.replace(", ", "\n") for k in section], series(section, "rps"), "round trips/s")
        ax.set_title(f"client: {tool}")
    axes[-1].set_xlabel("connections, message size")
    axes[0].legend(loc="upper left", frameon=False, ncols=2)
    fig.suptitle("TCP echo: round trips/s (one message in flight per connection)")
    save(fig, "echo_rps.svg")


def ratio_rows(r):
    """(section, "scenario vs peer", peer, evloop ÷ peer CPU per request, evloop ÷ peer
    throughput) for every scenario run against a peer."""
    sections = [("HTTP", {f"HTTP {k}": v for k, v in r["http"].items()}),
                ("HTTP sweep", {f"HTTP sweep, {k} conns": v for k, v in r["sweep"].items()}),
                ("RESP", {f"RESP {k}": v for k, v in r["resp"].items()}),
                ("echo", {"echo {1}, {0}".format(*k.split(": ")): v for k, v in r["echo"].items()})]
    rows = []
    for section, scenarios in sections:
        for scenario, by in scenarios.items():
            ours = next(v for s, v in by.items() if s.startswith("evloop"))
            for peer, theirs in by.items():
                measured = all([ours["cpu_us"], ours["rps"], theirs["cpu_us"], theirs["rps"]])
                if not peer.startswith("evloop") and measured:
                    rows.append((section, f"{scenario} vs {peer}", peer, ours["cpu_us"] / theirs["cpu_us"],
                                 ours["rps"] / theirs["rps"]))
    return rows


def ratio_chart(r):
    """Horizontal bars from the 1.0 line: evloop's figure over the peer's, per scenario."""
    rows = ratio_rows(r)
    ys = range(len(rows))
    fig, axes = plt.subplots(1, 2, sharey=True, figsize=(10, 0.26 * len(rows) + 1.6), layout="constrained")
    panels = [(3, "server CPU per request\n(< 1×: evloop uses less CPU)"),
              (4, "throughput (requests or round trips/s)\n(> 1×: evloop serves more)")]
    for ax, (col, title) in zip(axes, panels):
        vals = [row[col] for row in rows]
        ax.barh(ys, [v - 1 for v in vals], left=1, height=0.7, color=[color(row[2]) for row in rows])
        for y, v in zip(ys, vals):
            ax.annotate(f"{v:.2f}×", (v, y), xytext=(3 if v >= 1 else -3, 0), textcoords="offset points",
                        ha="left" if v >= 1 else "right", va="center", fontsize=8)
        ax.axvline(1, color="black", linewidth=1)
        ax.set_xscale("log")
        ax.set_xlim(min(vals + [1]) / 1.8, max(vals + [1]) * 1.8)
        log_ticks(ax.xaxis, lambda v, _pos: f"{v:g}×")
        ax.grid(axis="x", color="#ddd")
        ax.set_title(title, fontsize=10)
        for y in range(1, len(rows)):
            if rows[y][0] != rows[y - 1][0]:
                ax.axhline(y - 0.5, color="#999", linewidth=0.8)
    axes[0].set_yticks(ys, [row[1] for row in rows])
    axes[0].set_ylim(len(rows) - 0.5, -0.5)
    for ax in axes:
        ax.tick_params(axis="y", length=0)
    fig.supxlabel("evloop ÷ peer in the same scenario (log scale; 1× = level with the peer)", fontsize=10)
    fig.suptitle("evloop relative to its peers, every scenario (medians; the sweep is one run per point)")
    save(fig, "ratios.svg")


def write_charts(r):
    wrk_load = "wrk load (-t1, connections, pipelining)"
    bar_chart("http_rps.svg", "HTTP plaintext: requests/s", r["http"], "rps", wrk_load, "requests/s")
    bar_chart("http_cpu.svg", "HTTP plaintext: server CPU (user + system) per request", r["http"], "cpu_us",
              wrk_load, "server CPU µs per request")
    sweep_chart(r["sweep"])
    bar_chart("resp_cpu.svg", "RESP (redis-benchmark -c 50): server CPU (user + system) per request", r["resp"],
              "cpu_us", "redis-benchmark pipeline depth", "server CPU µs per request")
    echo_chart(r["echo"])
    ratio_chart(r)


def cpu_cell(v):
    """CPU per request, with its user and kernel parts when the run recorded them."""
    total = v.get("cpu_us")
    if total is None:
        return "-"
    if v.get("cpu_user_us") is None:
        return f"{total:.2f}"
    return f"{total:.2f} ({v['cpu_user_us']:.2f} u + {v['cpu_kernel_us']:.2f} k)"


def fmt(v):
    if v is None:
        return "-"
    if v >= 1e6:
        return f"{v/1e6:.2f}M"
    if v >= 1e4:
        return f"{v/1e3:.0f}k"
    if v >= 100:
        return f"{v:.0f}"
    return f"{v:.2f}"


# ---- scenarios ----------------------------------------------------------------------

def main():
    if os.environ.get("ONLY") == "strace":
        print(strace_check())
        return
    if os.environ.get("ONLY") == "render":
        # Redraw the charts and BENCHMARKS.md from the last results, running nothing.
        results = json.loads((RESULTS / "results.json").read_text())
        write_charts(results)
        write_markdown(results)
        return
    results = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "secs": SECS, "runs": RUNS,
               "machine": this_machine()}
    t0 = time.time()

    log("HTTP plaintext")
    http = {}
    for label, conns, script in [("c50", 50, None), ("c256", 256, None), ("c256 pipelined 16", 256, "pipeline16.lua")]:
        http[label] = median_runs(["evloop-http", "nginx", "tokio-http"],
                                  lambda s: measure(s, lambda p: wrk(p, conns, script)))
    results["http"] = http

    log("HTTP connection sweep")
    sweep = {}
    for conns in [1, 10, 100, 1000, 10000]:
        sweep[conns] = {s: measure(s, lambda p: wrk(p, conns)) for s in ["evloop-http", "nginx", "tokio-http"]}
    results["sweep"] = sweep

    log("RESP")
    n = 200000 if QUICK else 1000000
    resp = {}
    for p in [1, 16]:
        resp[f"-P {p}"] = median_runs(["evloop-kv", "redis"], lambda s: measure(s, lambda port: redis_bench(port, p, n)))
    results["resp"] = resp

    log("echo")
    echo = {}
    for conns in [1, 50, 1000]:
        for size in [64, 16384]:
            key = f"{conns} conns, {size} B"
            echo[f"echo-client: {key}"] = median_runs(
                ["evloop-echo", "tokio-echo"], lambda s: measure(s, lambda p: echo_client(p, conns, size)))
            lg = median_runs(["evloop-echo", "tokio-echo"],
                             lambda s: measure(s, lambda p: loadgen(p, "tcp-echo", conns, size)) if (EX / "loadgen").exists() else None)
            if lg:
                echo[f"loadgen: {key}"] = lg
    results["echo"] = echo
    if (EX / "loadgen").exists():
        results["udp"] = median_runs(["evloop-echo"], lambda s: measure(s, lambda p: loadgen(p, "udp-echo", 50, 64, 4)))

    log("idle memory")
    idle = {}
    for s, msg in [("evloop-echo", None), ("evloop-echo", "ping\\n"), ("tokio-echo", None), ("tokio-echo", "ping\\n"),
                   ("evloop-http", None), ("evloop-http", "GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n"),
                   ("nginx", None), ("nginx", "GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n"),
                   ("tokio-http", None), ("evloop-kv", None), ("evloop-kv", "PING\\r\\n"),
                   ("redis", None), ("redis", "PING\\r\\n")]:
        idle[f"{s} | {msg or '(nothing sent)'}"] = idle_rss(s, msg)
    results["idle"] = idle

    log("strace cross-check")
    results["strace"] = strace_check()
    results["elapsed_s"] = round(time.time() - t0)
    (RESULTS / "results.json").write_text(json.dumps(results, indent=1, default=str))
    write_charts(results)
    write_markdown(results)
    log(f"done in {results['elapsed_s']} s")


def p99(v):
    x = v.get("p99_ms")
    return f"{x:.3g}" if x else "-"


def ratio(a, b):
    return f"{a/b:.2f}x" if a and b else "-"


def this_machine():
    return subprocess.run(["sh", "-c", "lscpu | grep -E 'Model name|^CPU\\(s\\)'; uname -sr"],
                          capture_output=True, text=True).stdout.strip()


def machine_in_benchmarks_md():
    """The machine block of the current BENCHMARKS.md, for results.json files written
    before the runner recorded the machine in them."""
    path = ROOT / "BENCHMARKS.md"
    m = re.search(r"## Machine and conditions\n\n```\n(.*?)\n```", path.read_text() if path.exists() else "", re.S)
    return m and m.group(1)


def write_markdown(r):
    md = []
    md.append(f"Run {r['date']}, {r['runs']} interleaved run(s) of {r['secs']} s per point, median shown "
              f"(all runs' req/s in brackets). Server on CPU {SERVER_CPU}, load tool on CPU {LOAD_CPU}.\n")
    md.append("### Summary: evloop against its peers\n")
    md.append("Every scenario below with a peer: evloop's server CPU per request and its throughput, each divided "
              "by the peer's in the same scenario (1× is level; run-to-run noise is ±10–15 %).\n")
    md.append("![evloop ÷ peer: CPU per request and throughput, every scenario](bench/results/ratios.svg)\n")
    md.append("### HTTP plaintext (`wrk -t1`, `GET /`)\n")
    md.append("| load | server | req/s | p99 ms | server CPU µs/req (user u + kernel k) | syscalls/req | vs nginx req/s | vs nginx CPU/req | errors |")
    md.append("|---|---|---|---|---|---|---|---|---|")
    for load_name, by in r["http"].items():
        ng = by.get("nginx", {})
        for s, v in by.items():
            md.append(f"| {load_name} | {s} | {fmt(v['rps'])} {v['all_rps']} | {p99(v)} | "
                      f"{cpu_cell(v)} | {fmt(v['syscalls'])} | {ratio(v['rps'], ng.get('rps'))} | "
                      f"{ratio(v['cpu_us'], ng.get('cpu_us'))} | {v['errors'] or 'none'} |")
    md.append("\n![HTTP req/s](bench/results/http_rps.svg)\n![HTTP CPU per request](bench/results/http_cpu.svg)\n")

    md.append("### HTTP connection sweep (`wrk -t1 -cN`)\n")
    md.append("| connections | server | req/s | p99 ms | server CPU µs/req (user u + kernel k) | errors |")
    md.append("|---|---|---|---|---|---|")
    xs = list(r["sweep"].keys())
    for c in xs:
        for s, v in r["sweep"][c].items():
            md.append(f"| {c} | {s} | {fmt(v['rps'])} | {p99(v)} | {cpu_cell(v)} | {v['errors'] or 'none'} |")
    md.append("\n![HTTP sweep](bench/results/http_sweep.svg)\n")

    md.append("### RESP (`redis-benchmark -c 50 -t ping,set,get,incr,mset`)\n")
    md.append("| pipeline | server | PING_INLINE | PING_MBULK | SET | GET | INCR | MSET (10 keys) | server CPU µs/req (user u + kernel k) | syscalls/req |")
    md.append("|---|---|---|---|---|---|---|---|---|---|")
    for p, by in r["resp"].items():
        for s, v in by.items():
            t = v.get("tests", {})
            md.append(f"| {p} | {s} | " + " | ".join(fmt(t.get(k)) for k in ["PING_INLINE", "PING_MBULK", "SET", "GET", "INCR", "MSET (10 keys)"])
                      + f" | {cpu_cell(v)} | {fmt(v['syscalls'])} |")
    md.append("\n![RESP CPU per request](bench/results/resp_cpu.svg)\n")

    md.append("### TCP echo (round trips of one message per connection at a time)\n")
    md.append("| client: connections, size | server | round trips/s | server CPU µs/round trip | syscalls/round trip | vs tokio | errors |")
    md.append("|---|---|---|---|---|---|---|")
    for k, by in r["echo"].items():
        tk = by.get("tokio-echo", {})
        for s, v in by.items():
            md.append(f"| {k} | {s} | {fmt(v['rps'])} {v['all_rps']} | {cpu_cell(v)} | {fmt(v['syscalls'])} | {ratio(v['rps'], tk.get('rps'))} | {v['errors'] or 'none'} |")
    md.append("\n![echo](bench/results/echo_rps.svg)\n")
    if r.get("udp"):
        v = r["udp"]["evloop-echo"]
        md.append(f"UDP echo, loadgen udp-echo, 50 sockets, 64 B, 4 in flight each: {fmt(v['rps'])} datagrams/s, "
                  f"loss {v.get('loss')}, server CPU {fmt(v['cpu_us'])} µs per datagram, errors: {v['errors'] or 'none'}.\n")

    md.append(f"### Idle memory ({IDLE} connections held open)\n")
    md.append("| server | sent on each connection | RSS before KiB | RSS after KiB | bytes per connection |")
    md.append("|---|---|---|---|---|")
    for k, v in r["idle"].items():
        s, msg = k.split(" | ")
        md.append(f"| {s} | `{msg}` | {v['before_kib']} | {v['after_kib']} | {v['bytes_per_conn']:.0f}{'' if v['ok'] else ' (incomplete)'} |")
    st = r.get("strace")
    if st:
        md.append(f"\n**Syscall cross-check:** the HTTP example under `strace -c -f` with `wrk -t1 -c50 -d3s`: "
                  f"{st['requests']} requests; strace counted {st['strace']}, i.e. "
                  f"{st['strace_per_req']:.3f} recv+send+epoll_wait per request; the reactor's counters said "
                  f"{st['counters_per_req']:.3f}.\n")
    md.append(f"\nThe whole run took {r['elapsed_s']} s.\n")
    (RESULTS / "RESULTS.md").write_text("\n".join(md) + "\n")
    template = (ROOT / "bench" / "BENCHMARKS.in.md").read_text()
    machine = r.get("machine") or machine_in_benchmarks_md() or this_machine()
    reading = (ROOT / "bench" / "READING.md")
    reading = reading.read_text() if reading.exists() else "(no reading written for this run)"
    out = (template.replace("{{MACHINE}}", machine).replace("{{READING}}", reading.strip())
           .replace("{{RESULTS}}", "\n".join(md)).replace("{{OTHER}}", other_reports()))
    (ROOT / "BENCHMARKS.md").write_text(out)


# Reports of the benchmarks with their own runners, included whole when present.
OTHER_REPORTS = [
    ("PROXY.md", "bench/proxy.py"),
    ("CHAT.md", "bench/chat.py"),
    ("PUBSUB.md", "bench/pubsub.py"),
    ("FILES.md", "bench/files.py"),
    ("UDP.md", "bench/udp.py"),
    ("TLS.md", "bench/tls.py"),
    ("CALLGRIND.md", "bench/callgrind.py --peers --out bench/results/CALLGRIND.md"),
]


def other_reports():
    """The reports of bench/proxy.py, chat.py and pubsub.py, headings moved two levels down."""
    parts = []
    for name, runner in OTHER_REPORTS:
        path = RESULTS / name
        if not path.exists():
            parts.append(f"(`{runner}` has not been run: no `bench/results/{name}`.)\n")
            continue
        lines, fenced = [], False
        for line in path.read_text().splitlines():
            if line.startswith("```"):
                fenced = not fenced
            elif not fenced and re.match(r"#+ ", line):
                line = "##" + line  # a heading two levels down (not a config comment)
            lines.append(line)
        parts.append("\n".join(lines).strip() + "\n")
    return "\n".join(parts)


if __name__ == "__main__":
    try:
        main()
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
