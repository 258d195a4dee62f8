#!/usr/bin/env python3
"""TCP (layer 4) proxy benchmark: evloop's examples/proxy against HAProxy and nginx.

Every proxy runs alone on PROXY_CPU (default 1, `taskset`), with one thread /
one worker; the backends and the load tools share LOAD_CPU (default 0). Each
scenario runs every proxy once, then again (RUNS interleaved repetitions, the
order rotated each time), and reports the median. Each measurement starts a
fresh proxy.

  rr    request/response: wrk -t1 -c256 through the proxy to an nginx that
        answers `return 200 "Hello, World!"`; req/s and the proxy's CPU per
        request (user and kernel µs, /proc/PID/stat utime and stime).
  bulk  iperf3 -P 4 through the proxy to `iperf3 -s`; Gbit/s and the proxy's
        CPU seconds per GB moved (user and kernel).
  idle  N client connections through the proxy to a backend that accepts and
        holds them (a small epoll server, this script with --hold-server): the
        proxy's RSS per pair, idle, then after one small message each way.

Proxies: evloop (target/release/examples/proxy, or $EVLOOP_PROXY; skipped
when not built),
haproxy (mode tcp, nbthread 1), haproxy-splice (the same with
`option splice-auto`), haproxy-splice-forced (`option splice-request` and
`option splice-response`), nginx (stream module, worker_processes 1). "direct"
(the load tool straight to the backend) is a reference row in rr and bulk.

Results: bench/results/proxy.json and bench/results/PROXY.md.
Tools: apt-get install haproxy nginx-light libnginx-mod-stream wrk iperf3
(see --install). Python 3.11 standard library only.

  python3 bench/proxy.py                       # full run, ~5 minutes
  python3 bench/proxy.py --quick               # 1 repetition, 2 s runs
  python3 bench/proxy.py --only haproxy,nginx  # pick proxies
"""
import argparse, ctypes, json, os, platform, re, resource, select, shutil, signal, socket, statistics
import random, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
EVLOOP_BIN = Path(os.environ.get("EVLOOP_PROXY", ROOT / "target" / "release" / "examples" / "proxy"))
NGINX_STREAM_MODULE = "/usr/lib/nginx/modules/ngx_stream_module.so"
HZ = os.sysconf("SC_CLK_TCK")
PROXIES = ["evloop", "haproxy", "haproxy-splice", "haproxy-splice-forced", "nginx"]
SCENARIOS = ["rr", "bulk", "idle"]
APT_PACKAGES = ["haproxy", "nginx-light", "libnginx-mod-stream", "wrk", "iperf3", "util-linux"]
MSG = b"x" * 64  # the one message per idle pair (echoed back by the backend)


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- configs

HAPROXY_CONF = """\
# HAProxy, layer 4: one thread, no logging, default 16 KiB buffers.
global
    nbthread 1
    maxconn {maxconn}
    # pipes for splicing (2 fds each; default maxconn/4) kept within the 20,000-fd hard limit
    maxpipes 512
    stats socket {sock} mode 600 level admin
    tune.bufsize 16384

defaults
    mode tcp
    timeout connect 5s
    timeout client 300s
    timeout server 300s
    maxconn {maxconn}
{splice}
frontend fe
    bind 127.0.0.1:{port}
    default_backend be

backend be
    server s1 {upstream}
"""
SPLICE_LINES = {"haproxy": "",
                "haproxy-splice": "    option splice-auto\n",
                "haproxy-splice-forced": "    option splice-request\n    option splice-response\n"}

NGINX_STREAM_CONF = """\
# nginx stream (layer 4) proxy: one worker, default 16 KiB proxy buffer.
daemon off;
master_process on;
worker_processes 1;
worker_rlimit_nofile {nofile};
pid {tmp}/{name}.pid;
error_log {tmp}/{name}-error.log warn;
load_module {module};

events {{
    worker_connections {wconns};
}}

stream {{
    upstream be {{
        server {upstream};
    }}
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        proxy_pass be;
        proxy_connect_timeout 5s;
        proxy_timeout 300s;
        proxy_buffer_size 16k;
        tcp_nodelay on;
    }}
}}
"""

NGINX_HTTP_BACKEND_CONF = """\
# Backend of the rr scenario: nginx answering a fixed 13-byte body.
daemon off;
master_process on;
worker_processes 1;
worker_rlimit_nofile 4096;
pid {tmp}/{name}.pid;
error_log {tmp}/{name}-error.log warn;

events {{
    worker_connections 2048;
}}

http {{
    access_log off;
    keepalive_requests 10000000;
    keepalive_timeout 300s;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        default_type text/plain;
        location / {{
            return 200 "Hello, World!";
        }}
    }}
}}
"""


# --------------------------------------------------------------------------- processes

def free_port():
    """A port below the ephemeral range, free of listeners and of TIME_WAIT pairs (bind without
    SO_REUSEADDR fails on either): port 0 could hand out an ephemeral port that a closed
    connection of an earlier run still holds, which some servers (iperf3 -s) cannot bind."""
    for _ in range(1000):
        port = random.randrange(20000, 32000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 20000-32000")


def listening(port):
    """Whether something listens on 127.0.0.1:port (from /proc/net/tcp, no probe connection)."""
    wanted = {f"0100007F:{port:04X}", f"00000000:{port:04X}",
              f"00000000000000000000000000000000:{port:04X}",
              f"0000000000000000FFFF00000100007F:{port:04X}"}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            if f[1] in wanted and f[3] == "0A":
                return True
    return False


def group_pids(pgid):
    pids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                stat = Path(f"/proc/{d}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[2]) == pgid:
                pids.append(int(d))
    return pids


def die_with_parent():
    """In the child before exec: SIGKILL it if this script dies (even by SIGKILL, where no finally runs)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class Proc:
    """A server in its own session (process group = its pid), pinned to one CPU."""

    live = []

    def __init__(self, name, cmd, cpu, tmp, port=None, env=None):
        self.name, self.port, self.tmp = name, port, tmp
        self.cmd = ["taskset", "-c", str(cpu)] + [str(c) for c in cmd]
        self.out_path, self.err_path = tmp / f"{name}.out", tmp / f"{name}.err"
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen(self.cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                         cwd=tmp, start_new_session=True, preexec_fn=die_with_parent,
                                         env=dict(os.environ, **(env or {})))
        Proc.live.append(self)
        self.pgid = self.proc.pid

    def wait_ready(self, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}: {self.output()}")
            if self.port is not None and listening(self.port):
                return self
            time.sleep(0.02)
        raise RuntimeError(f"{self.name} not listening on port {self.port} after {timeout}s: {self.output()}")

    def output(self):
        text = ""
        for p in (self.out_path, self.err_path):
            try:
                text += p.read_text(errors="replace")
            except OSError:
                pass
        return text.strip()[-2000:]

    def pids(self):
        return group_pids(self.pgid) or [self.proc.pid]

    def cpu(self):
        """(user, kernel) CPU seconds of every process in the group, all threads included."""
        user = kern = 0
        for pid in self.pids():
            try:
                f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            user += int(f[11])  # utime, field 14
            kern += int(f[12])  # stime, field 15
        return user / HZ, kern / HZ

    def rss_kib(self):
        total = 0
        for pid in self.pids():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            except OSError:
                pass
        return total

    def stop(self):
        if self in Proc.live:
            Proc.live.remove(self)
        for sig, wait in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
            try:
                os.killpg(self.pgid, sig)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                continue
            # the leader is gone; make sure no child of the group (nginx worker) outlives it
            if group_pids(self.pgid):
                try:
                    os.killpg(self.pgid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            break
        return self.output()

    @classmethod
    def stop_all(cls):
        for p in list(cls.live):
            try:
                p.stop()
            except Exception as e:  # keep stopping the others
                log(f"stopping {p.name}: {e}")


CPU_FIELDS = ["user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"]


def cpu_line(cpu):
    """Seconds per state of one CPU, from its /proc/stat line (USER_HZ ticks)."""
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith(f"cpu{cpu} "):
            return dict(zip(CPU_FIELDS, (int(v) / HZ for v in line.split()[1:9])))
    return dict.fromkeys(CPU_FIELDS, 0.0)


def cpu_line_delta(a, b):
    """Softirq seconds (network receive work done on that CPU, which the kernel may account to no
    process) and the share of time stolen by the hypervisor."""
    d = {k: b[k] - a[k] for k in CPU_FIELDS}
    total = sum(d.values()) or 1.0
    return {"softirq": d["softirq"] + d["irq"], "steal_frac": d["steal"] / total}


def run_tool(cmd, cpu, timeout):
    """Run a load tool pinned to cpu; (returncode, stdout, stderr)."""
    r = subprocess.run(["taskset", "-c", str(cpu)] + [str(c) for c in cmd], capture_output=True,
                       text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    return r.returncode, r.stdout, r.stderr


# --------------------------------------------------------------------------- proxies

class Bench:
    def __init__(self, args):
        self.args = args
        self.tmp = Path(tempfile.mkdtemp(prefix="evloop-proxy-bench-"))
        self.pairs_cap = args.idle + 400
        self.configs = {}

    def start_proxy(self, name, upstream_port):
        port = free_port()
        up = f"127.0.0.1:{upstream_port}"
        tag = f"{name}-{port}"
        env = None
        if name == "evloop":
            cmd = [EVLOOP_BIN, "--listen", f"127.0.0.1:{port}", "--upstream", up,
                   "--max-connections", 2 * self.pairs_cap]
            env = {"RUST_LOG": "warn"}
            self.configs[name] = " ".join(str(c) for c in cmd).replace(str(ROOT) + "/", "").replace(
                f":{port} ", ":PORT ").replace(up, "127.0.0.1:UPSTREAM")
        elif name in SPLICE_LINES:
            conf = self.tmp / f"{tag}.cfg"
            text = HAPROXY_CONF.format(maxconn=self.pairs_cap, sock=self.tmp / f"{tag}.sock", port=port,
                                       upstream=up, splice=SPLICE_LINES[name])
            conf.write_text(text)
            self.configs[name] = HAPROXY_CONF.format(maxconn=self.pairs_cap, sock="TMP/haproxy.sock",
                                                     port="PORT", upstream="127.0.0.1:UPSTREAM",
                                                     splice=SPLICE_LINES[name])
            cmd = ["haproxy", "-db", "-f", conf]
        elif name == "nginx":
            conf = self.tmp / f"{tag}.conf"
            text = NGINX_STREAM_CONF.format(nofile=2 * self.pairs_cap + 64, tmp=self.tmp, name=tag,
                                            module=NGINX_STREAM_MODULE, wconns=2 * self.pairs_cap + 32,
                                            upstream=up, port=port)
            conf.write_text(text)
            self.configs[name] = NGINX_STREAM_CONF.format(
                nofile=2 * self.pairs_cap + 64, tmp="TMP", name="nginx", module=NGINX_STREAM_MODULE,
                wconns=2 * self.pairs_cap + 32, upstream="127.0.0.1:UPSTREAM", port="PORT")
            cmd = ["nginx", "-c", conf, "-p", self.tmp, "-e", self.tmp / f"{tag}-error.log"]
        else:
            raise ValueError(name)
        p = Proc(tag, cmd, self.args.proxy_cpu, self.tmp, port=port, env=env).wait_ready()
        if name == "evloop":
            first = p.out_path.read_text(errors="replace").splitlines()[:1]
            if not first or not first[0].startswith("listening on tcp://"):
                log(f"  note: evloop's first line is {first!r}, expected 'listening on tcp://...'")
        return p

    def haproxy_info(self, proxy):
        """`show info` from the stats socket: splice pipes in use/free tell whether splice ran."""
        sock = self.tmp / f"{proxy.name}.sock"
        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.settimeout(2)
                s.connect(str(sock))
                s.sendall(b"show info\n")
                data = b""
                while chunk := s.recv(65536):
                    data += chunk
        except OSError as e:
            return {"error": str(e)}
        info = dict(line.split(": ", 1) for line in data.decode().splitlines() if ": " in line)
        return {k: info.get(k) for k in ("Version", "Nbthread", "PipesUsed", "PipesFree", "CumConns")}

    # ----------------------------------------------------------------------- rr

    def rr_backend(self):
        port = free_port()
        conf = self.tmp / "backend-http.conf"
        text = NGINX_HTTP_BACKEND_CONF.format(tmp=self.tmp, name="backend-http", port=port)
        conf.write_text(text)
        self.configs["rr-backend"] = NGINX_HTTP_BACKEND_CONF.format(tmp="TMP", name="backend", port="PORT")
        return Proc("backend-http", ["nginx", "-c", conf, "-p", self.tmp, "-e",
                                     self.tmp / "backend-http-error.log"],
                    self.args.load_cpu, self.tmp, port=port).wait_ready()

    def wrk_cmd(self, port, secs):
        return ["wrk", "-t1", "-c256", f"-d{secs}s", "--latency", f"http://127.0.0.1:{port}/"]

    def rr_once(self, name, backend):
        proxy = None if name == "direct" else self.start_proxy(name, backend.port)
        try:
            port = backend.port if proxy is None else proxy.port
            secs = self.args.secs
            run_tool(self.wrk_cmd(port, 1), self.args.load_cpu, 30)  # warm-up
            st0 = cpu_line(self.args.proxy_cpu)
            c0, t0 = proxy.cpu() if proxy else (0, 0), time.monotonic()
            rc, out, err = run_tool(self.wrk_cmd(port, secs), self.args.load_cpu, secs + 60)
            c1, wall = proxy.cpu() if proxy else (0, 0), time.monotonic() - t0
            st = cpu_line_delta(st0, cpu_line(self.args.proxy_cpu))
            if rc != 0:
                raise RuntimeError(f"wrk exited {rc}: {err.strip()[-500:]}")
            r = parse_wrk(out)
            r.update(softirq_us=st["softirq"] / max(r["requests"], 1) * 1e6, steal=st["steal_frac"])
            if proxy:
                user, kern = c1[0] - c0[0], c1[1] - c0[1]
                n = max(r["requests"], 1)
                r.update(cpu_user_us=user / n * 1e6, cpu_kernel_us=kern / n * 1e6,
                         cpu_us=(user + kern) / n * 1e6, proxy_busy=(user + kern) / wall)
            return r
        finally:
            if proxy:
                proxy.stop()

    # ----------------------------------------------------------------------- bulk

    def bulk_backend(self):
        port = free_port()
        return Proc("backend-iperf3", ["iperf3", "-s", "-B", "127.0.0.1", "-p", port, "--forceflush"], self.args.load_cpu,
                    self.tmp, port=port).wait_ready()

    def iperf_cmd(self, port, secs):
        return ["iperf3", "-c", "127.0.0.1", "-p", port, "-P", "4", "-t", secs, "-J"]

    def bulk_once(self, name, backend):
        proxy = None if name == "direct" else self.start_proxy(name, backend.port)
        try:
            port = backend.port if proxy is None else proxy.port
            secs = self.args.secs
            st0 = cpu_line(self.args.proxy_cpu)
            c0, t0 = proxy.cpu() if proxy else (0, 0), time.monotonic()
            rc, out, err = run_tool(self.iperf_cmd(port, secs), self.args.load_cpu, secs + 60)
            c1, wall = proxy.cpu() if proxy else (0, 0), time.monotonic() - t0
            st = cpu_line_delta(st0, cpu_line(self.args.proxy_cpu))
            try:
                j = json.loads(out)
            except json.JSONDecodeError:
                raise RuntimeError(f"iperf3 exited {rc}, no JSON: {(out + err).strip()[-500:]}")
            if "error" in j:
                raise RuntimeError(f"iperf3: {j['error']}")
            recv, sent = j["end"]["sum_received"], j["end"]["sum_sent"]
            r = {"gbit_s": recv["bits_per_second"] / 1e9, "bytes": recv["bytes"],
                 "retransmits": sent.get("retransmits"),
                 "softirq_s_gb": st["softirq"] / (max(recv["bytes"], 1) / 1e9), "steal": st["steal_frac"]}
            if proxy:
                user, kern = c1[0] - c0[0], c1[1] - c0[1]
                # bytes received by the server: each went through the proxy once (in and out)
                gb = max(recv["bytes"], 1) / 1e9
                r.update(cpu_user_s_gb=user / gb, cpu_kernel_s_gb=kern / gb, cpu_s_gb=(user + kern) / gb,
                         proxy_busy=(user + kern) / wall)
                if name.startswith("haproxy"):
                    r["haproxy_info"] = self.haproxy_info(proxy)
            return r
        finally:
            if proxy:
                proxy.stop()

    # ----------------------------------------------------------------------- idle

    def idle_backend(self):
        port, ctrl = free_port(), free_port()
        p = Proc("backend-hold", [sys.executable, Path(__file__).resolve(), "--hold-server", port, ctrl],
                 self.args.load_cpu, self.tmp, port=port).wait_ready()
        p.ctrl = ctrl
        return p

    @staticmethod
    def hold_count(backend):
        with socket.create_connection(("127.0.0.1", backend.ctrl), timeout=5) as s:
            data = b""
            while chunk := s.recv(100):
                data += chunk
        conns, msgs = data.split()
        return int(conns), int(msgs)

    def wait_count(self, backend, want, timeout, what):
        deadline = time.monotonic() + timeout
        while True:
            conns, msgs = self.hold_count(backend)
            if conns == want:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what}: backend holds {conns} connections, expected {want}")
            time.sleep(0.01)

    def idle_once(self, name, backend):
        n = self.args.idle
        proxy = self.start_proxy(name, backend.port)
        socks = []
        try:
            # one pair used and closed first, so lazy start-up allocations are in the baseline
            with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as s:
                s.sendall(MSG)
                recv_exact(s, len(MSG))
            self.wait_count(backend, 0, 10, "warm-up close")
            time.sleep(0.2)
            rss0 = proxy.rss_kib()
            t0 = time.monotonic()
            batch = 256
            for start in range(0, n, batch):
                for _ in range(min(batch, n - start)):
                    s = socket.socket()
                    s.settimeout(10)
                    s.connect(("127.0.0.1", proxy.port))
                    socks.append(s)
                self.wait_count(backend, len(socks), 30, f"{name} after {len(socks)} connects")
            t_open = time.monotonic() - t0
            time.sleep(0.3)
            rss1 = proxy.rss_kib()
            for s in socks:
                s.sendall(MSG)
            read_all(socks, len(MSG), timeout=60)
            time.sleep(0.3)
            rss2 = proxy.rss_kib()
            return {"pairs": n, "rss_before_kib": rss0, "rss_idle_kib": rss1, "rss_used_kib": rss2,
                    "idle_kib_per_pair": (rss1 - rss0) / n, "used_kib_per_pair": (rss2 - rss0) / n,
                    "open_s": t_open}
        finally:
            for s in socks:
                s.close()
            proxy.stop()
            try:
                self.wait_count(backend, 0, 30, "after the run")
            except Exception as e:
                log(f"  warning: {e}")


def recv_exact(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise RuntimeError("connection closed early")
        data += chunk
    return data


def read_all(socks, n, timeout):
    """Read n bytes from every socket (epoll), or fail after timeout."""
    ep = select.epoll()
    left = {}
    try:
        for s in socks:
            s.setblocking(False)
            ep.register(s.fileno(), select.EPOLLIN)
            left[s.fileno()] = (s, n)
        deadline = time.monotonic() + timeout
        while left:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{len(left)} of {len(socks)} connections got no echo")
            for fd, _ in ep.poll(1):
                s, want = left[fd]
                data = s.recv(want)
                if not data:
                    raise RuntimeError("a pair closed before its echo")
                want -= len(data)
                if want == 0:
                    ep.unregister(fd)
                    del left[fd]
                else:
                    left[fd] = (s, want)
    finally:
        ep.close()
        for s in socks:
            s.setblocking(True)


def hold_server(port, ctrl_port):
    """Accept and hold connections; echo what they send. The control port answers 'conns msgs'."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    lsock = socket.create_server(("127.0.0.1", port), backlog=4096)
    csock = socket.create_server(("127.0.0.1", ctrl_port), backlog=64)
    for s in (lsock, csock):
        s.setblocking(False)
    ep = select.epoll()
    ep.register(lsock.fileno(), select.EPOLLIN)
    ep.register(csock.fileno(), select.EPOLLIN)
    conns, msgs = {}, 0
    print(f"listening on tcp://127.0.0.1:{port}", flush=True)
    while True:
        for fd, _ in ep.poll():
            if fd == lsock.fileno():
                while True:
                    try:
                        c, _ = lsock.accept()
                    except BlockingIOError:
                        break
                    c.setblocking(False)
                    conns[c.fileno()] = c
                    ep.register(c.fileno(), select.EPOLLIN)
            elif fd == csock.fileno():
                try:
                    c, _ = csock.accept()
                except BlockingIOError:
                    continue
                c.setblocking(True)
                c.sendall(f"{len(conns)} {msgs}\n".encode())
                c.close()
            else:
                c = conns[fd]
                try:
                    data = c.recv(65536)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    data = b""
                if data:
                    msgs += 1
                    try:
                        c.send(data)
                    except OSError:
                        pass
                else:
                    ep.unregister(fd)
                    del conns[fd]
                    c.close()


# --------------------------------------------------------------------------- parsing, stats

def parse_wrk(out):
    def ms(v, unit):
        return float(v) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]

    r = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
         "requests": int(re.search(r"(\d+) requests in", out).group(1))}
    for pct in ("50", "99"):
        m = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        r[f"p{pct}_ms"] = ms(*m.groups()) if m else None
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = sum(int(x) for x in m.groups()) if m else 0
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    r["errors"] = errors + (int(m.group(1)) if m else 0)
    return r


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def summarize(runs):
    """{name: [run dicts]} -> {name: {metric: median, 'runs': n, 'all': {metric: [...]}}}"""
    out = {}
    for name, rs in runs.items():
        ok = [r for r in rs if "error" not in r]
        metrics = sorted({k for r in ok for k, v in r.items() if isinstance(v, (int, float))})
        s = {k: median([r.get(k) for r in ok]) for k in metrics}
        s["all"] = {k: [r.get(k) for r in ok] for k in metrics}
        s["runs"] = len(ok)
        s["failures"] = [r["error"] for r in rs if "error" in r]
        extra = [r["haproxy_info"] for r in ok if "haproxy_info" in r]
        if extra:
            s["haproxy_info"] = extra
        out[name] = s
    return out


def ratio(a, b):
    return a / b if a is not None and b not in (None, 0) else None


# --------------------------------------------------------------------------- report

def fmt(v, digits=1):
    if v is None:
        return "—"
    if isinstance(v, str):
        return v
    return f"{v:,.{digits}f}"


def machine_info():
    model = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    versions = {}
    for tool, cmd in {"haproxy": ["haproxy", "-v"], "nginx": ["nginx", "-v"], "wrk": ["wrk", "-v"],
                      "iperf3": ["iperf3", "--version"]}.items():
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
            versions[tool] = (r.stdout + r.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            versions[tool] = None
    splice = None
    try:
        r = subprocess.run(["haproxy", "-vv"], capture_output=True, text=True, timeout=10)
        splice = "+LINUX_SPLICE" in r.stdout
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu_model": model, "kernel": platform.release(),
            "python": platform.python_version(), "versions": versions, "haproxy_linux_splice": splice,
            "nofile_hard": resource.getrlimit(resource.RLIMIT_NOFILE)[1]}


def evloop_info():
    """Which evloop proxy was measured: the binary's build time and the work tree's commit."""
    info = {"binary": str(EVLOOP_BIN), "built": time.strftime("%Y-%m-%d %H:%M:%S %Z",
                                                             time.localtime(EVLOOP_BIN.stat().st_mtime))}
    try:
        r = subprocess.run(["git", "-C", str(ROOT), "log", "-1", "--format=%h %s"], capture_output=True,
                           text=True, timeout=10)
        info["head"] = r.stdout.strip()
        r = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "src", "examples"],
                           capture_output=True, text=True, timeout=10)
        info["dirty"] = bool(r.stdout.strip())
    except (OSError, subprocess.TimeoutExpired):
        pass
    return info


def bottleneck_note(table):
    busy = [s.get("proxy_busy") for p, s in table.items() if p != "direct" and s.get("proxy_busy") is not None]
    if busy and max(busy) < 0.95:
        return ["", "No proxy saturated its core here (busy under 100%): CPU 0, shared by the load tool "
                "and the backend, bounds the throughput, so the throughput column mostly shows how much of "
                "CPU 0 each proxy leaves to them; the proxy's CPU per unit of work is the figure of merit."]
    unsat = [p for p, s in table.items() if p != "direct" and (s.get("proxy_busy") or 1) < 0.95]
    if unsat:
        return ["", f"{', '.join(unsat)} did not saturate the proxy core (busy under 100%): CPU 0, shared by "
                "the load tool and the backend, bounded them; the others were bounded by their own core."]
    return []


def measured_rows(scenario, names):
    """(label, summary) for the reference row and every proxy measured in a scenario."""
    for p in ["direct"] + names:
        if scenario.get(p):
            yield ("direct (no proxy)" if p == "direct" else p), scenario[p]


def render_md(res):
    a, m = res["args"], res["machine"]
    names = res["proxies"]
    peers = [p for p in names if p != "evloop"]
    L = ["# TCP proxy benchmark: evloop vs HAProxy vs nginx", ""]
    if a["quick"]:
        L += ["**Quick smoke run (`--quick`): one repetition of 2 s runs; not for comparison.**", ""]
    L += [f"Generated by `{res['command']}` on {res['date']} in {res['total_s']:.0f} s.", ""]
    L += ["## Machine and conditions", "",
          f"- {m['nproc']} CPUs, {m['cpu_model']}, Linux {m['kernel']}; open files hard limit {m['nofile_hard']}.",
          f"- Tools: {'; '.join(f'{k}: {v}' for k, v in m['versions'].items())}.",
          f"- Each proxy is pinned to CPU {a['proxy_cpu']} (`taskset -c {a['proxy_cpu']}`) with one thread "
          f"or worker; the backends (nginx, `iperf3 -s`, the hold server) and the load tools (wrk, iperf3 -c, "
          f"the idle client) share CPU {a['load_cpu']}. All traffic is on 127.0.0.1.",
          f"- {a['runs']} repetition(s), interleaved (every proxy once, then again; the order rotated each "
          f"time), each measurement with a freshly started proxy; the tables give the median.",
          "- Proxy CPU is utime/stime (fields 14/15 of /proc/PID/stat, clock ticks of "
          f"1/{HZ} s) summed over the proxy's process group (nginx: master + its one worker; the master "
          "is idle), read before and after the load tool runs. \"busy\" is that CPU time over the wall "
          "time: 100% means the proxy's core was saturated.",
          f"- \"softirq\" is the irq + softirq time of CPU {a['proxy_cpu']} (/proc/stat) over the run, per "
          "request or per GB: on loopback the receive side of the TCP stack for the packets the proxy sends "
          "runs there, and the kernel may account it to no process (IRQ time accounting), so it is not in the "
          "proxy's utime/stime. It is a separate column, not added to the proxy's CPU. \"steal\" is the share "
          f"of CPU {a['proxy_cpu']}'s time taken by the hypervisor (noise indicator)."]
    if res.get("busy_before") is not None:
        L.append(f"- The machine's CPUs were {res['busy_before'] * 100:.0f}% busy in the second before the run "
                 "(other work than this benchmark); \"steal\" below is the hypervisor's share.")
    ev = res.get("evloop")
    if ev:
        L.append(f"- evloop: `{ev['binary'].replace(str(ROOT) + '/', '')}` built {ev['built']}, work tree at "
                 f"`{ev.get('head', '?')}`{' with uncommitted changes in src/ or examples/' if ev.get('dirty') else ''}.")
    skipped = res.get("skipped", {})
    if skipped:
        L += [f"- Skipped: {', '.join(f'{k} ({v})' for k, v in skipped.items())}."]
    L.append("")

    rr, bulk, idle = res["results"].get("rr"), res["results"].get("bulk"), res["results"].get("idle")
    if rr:
        L += ["## 1. Request/response (HTTP through a layer-4 proxy)", "",
              f"`{' '.join(str(c) for c in res['commands']['rr'])}` (after a 1 s warm-up run), pinned to CPU "
              f"{a['load_cpu']}, against an nginx backend (1 worker, CPU {a['load_cpu']}) answering "
              "`return 200 \"Hello, World!\"` with keep-alive (keepalive_requests 10000000, so no reconnects).",
              "",
              "| proxy | req/s | p50 ms | p99 ms | CPU µs/req user | kernel | total | softirq µs/req | proxy busy | steal | errors | req/s per run |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
        for label, s in measured_rows(rr, names):
            L.append(f"| {label} | {fmt(s.get('rps'), 0)} | {fmt(s.get('p50_ms'), 2)} | {fmt(s.get('p99_ms'), 2)} "
                     f"| {fmt(s.get('cpu_user_us'), 2)} | {fmt(s.get('cpu_kernel_us'), 2)} | {fmt(s.get('cpu_us'), 2)} "
                     f"| {fmt(s.get('softirq_us'), 2)} | {fmt_pct(s.get('proxy_busy'))} "
                     f"| {fmt_pct(s.get('steal'))} | {fmt(s.get('errors'), 0)} "
                     f"| {', '.join(fmt(v, 0) for v in s['all'].get('rps', []))}{err_note(s)} |")
        L += bottleneck_note(rr)
        L.append("")
    if bulk:
        L += ["## 2. Bulk transfer", "",
              f"`{' '.join(str(c) for c in res['commands']['bulk'])}` pinned to CPU {a['load_cpu']}, against "
              f"`iperf3 -s` on CPU {a['load_cpu']}. Throughput is iperf3's receiver sum; CPU per GB is the proxy's "
              "CPU over the bytes the server received (each crossed the proxy once).", "",
              "| proxy | Gbit/s | CPU s/GB user | kernel | total | softirq s/GB | proxy busy | steal | Gbit/s per run |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
        for label, s in measured_rows(bulk, names):
            L.append(f"| {label} | {fmt(s.get('gbit_s'), 2)} | {fmt(s.get('cpu_user_s_gb'), 3)} "
                     f"| {fmt(s.get('cpu_kernel_s_gb'), 3)} | {fmt(s.get('cpu_s_gb'), 3)} "
                     f"| {fmt(s.get('softirq_s_gb'), 3)} | {fmt_pct(s.get('proxy_busy'))} | {fmt_pct(s.get('steal'))} "
                     f"| {', '.join(fmt(v, 2) for v in s['all'].get('gbit_s', []))}{err_note(s)} |")
        L += bottleneck_note(bulk)
        L.append("")
        for p in SPLICE_LINES:
            if bulk.get(p, {}).get("haproxy_info"):
                info = bulk[p]["haproxy_info"]
                L.append(f"- {p}, HAProxy's `show info` at the end of each bulk run: PipesUsed/PipesFree "
                         + ", ".join(f"{i.get('PipesUsed')}/{i.get('PipesFree')}" for i in info)
                         + " (pipes exist only once HAProxy has spliced).")
        L.append("")
    if idle:
        L += ["## 3. Idle pairs: memory", "",
              f"{a['idle']} client connections through the proxy to a backend that accepts and holds them "
              "(a Python epoll server, this script's `--hold-server`), opened in batches of 256, each batch "
              "waited for until the backend holds it. The proxy's RSS (VmRSS of /proc/PID/status, summed over "
              "its processes) is read after one pair has been used and closed (baseline), with all pairs open "
              f"and idle, and after one {len(MSG)}-byte message went each way on every pair (\"used\": some "
              "proxies allocate buffers on first data).", "",
              "| proxy | RSS baseline MiB | RSS idle MiB | RSS used MiB | KiB/pair idle | KiB/pair used | KiB/pair idle per run |",
              "|---|---:|---:|---:|---:|---:|---|"]
        for p in names:
            s = idle.get(p)
            if not s:
                continue
            L.append(f"| {p} | {fmt(mib(s.get('rss_before_kib')))} | {fmt(mib(s.get('rss_idle_kib')))} "
                     f"| {fmt(mib(s.get('rss_used_kib')))} | {fmt(s.get('idle_kib_per_pair'), 2)} "
                     f"| {fmt(s.get('used_kib_per_pair'), 2)} "
                     f"| {', '.join(fmt(v, 2) for v in s['all'].get('idle_kib_per_pair', []))}{err_note(s)} |")
        L.append("")

    L += ["## Ratios (evloop / peer, medians)", ""]
    if "evloop" not in names or not peers:
        L += ["Not computed: evloop's proxy was not measured in this run.", ""]
    else:
        L += ["Above 1 means evloop is higher: better for throughput, worse for CPU and memory.", "",
              "| metric | " + " | ".join(f"evloop / {p}" for p in peers) + " |",
              "|---|" + "---:|" * len(peers)]
        for key, label in res["ratio_metrics"]:
            row = res["ratios"].get(key, {})
            L.append(f"| {label} | " + " | ".join(fmt(row.get(p), 2) for p in peers) + " |")
        L.append("")

    L += ["## Proxy configurations", "",
          "- evloop: `" + res["configs"].get("evloop", "target/release/examples/proxy (not run)") +
          "` (RUST_LOG=warn; round-robin over the one upstream).",
          "- haproxy: `haproxy -db -f haproxy.cfg` (foreground), the config below; haproxy-splice adds "
          "`option splice-auto` to `defaults` (splice(2) socket to socket through a pipe, when HAProxy "
          "judges it worth it); haproxy-splice-forced adds `option splice-request` and "
          "`option splice-response` (splice whenever possible).",
          "- nginx: `nginx -c nginx.conf -p TMP -e TMP/error.log` with the stream config below.",
          "- Every proxy and backend runs with `ulimit -n` raised to the hard limit; the proxies are sized "
          "for the idle scenario's pairs plus 400 (HAProxy maxconn, nginx worker_connections counting "
          "both sides, evloop --max-connections counting both sides).", ""]
    shown = [k for k in ("haproxy", "haproxy-splice", "haproxy-splice-forced") if k in res["configs"]][:1]
    for key in shown + ["nginx", "rr-backend"]:
        if key in res["configs"]:
            title = "nginx backend of the rr scenario" if key == "rr-backend" else f"{key} config"
            L += [f"<details><summary>{title}</summary>", "", "```", res["configs"][key].rstrip(), "```", "",
                  "</details>", ""]
    return "\n".join(L) + "\n"


def fmt_pct(v):
    return "—" if v is None else f"{v * 100:.0f}%"


def mib(kib):
    return None if kib is None else kib / 1024


def err_note(s):
    return f" ({len(s['failures'])} failed: {s['failures'][0][:120]})" if s.get("failures") else ""


RATIO_METRICS = [("rr.rps", "rr: req/s"), ("rr.cpu_us", "rr: proxy CPU µs/req"),
                 ("rr.cpu_user_us", "rr: proxy CPU µs/req, user"),
                 ("rr.cpu_kernel_us", "rr: proxy CPU µs/req, kernel"),
                 ("bulk.gbit_s", "bulk: Gbit/s"), ("bulk.cpu_s_gb", "bulk: proxy CPU s/GB"),
                 ("bulk.cpu_user_s_gb", "bulk: proxy CPU s/GB, user"),
                 ("bulk.cpu_kernel_s_gb", "bulk: proxy CPU s/GB, kernel"),
                 ("idle.idle_kib_per_pair", "idle: KiB per idle pair"),
                 ("idle.used_kib_per_pair", "idle: KiB per used pair")]


# --------------------------------------------------------------------------- main

def install():
    """apt-get the tools, then stop and disable the services the packages may start."""
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    subprocess.run(sudo + ["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(sudo + ["apt-get", "install", "-y", "-qq"] + APT_PACKAGES, check=True, env=env)
    for svc in ("haproxy", "nginx", "iperf3"):
        subprocess.run(sudo + ["service", svc, "stop"], capture_output=True)
        subprocess.run(sudo + ["update-rc.d", svc, "disable"], capture_output=True)
        subprocess.run(sudo + ["systemctl", "disable", svc], capture_output=True)


def machine_busy(secs=1.0):
    """Share of all CPUs busy over secs (before the run: other work skews the results)."""
    def snap():
        f = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
        return sum(f), f[3] + f[4]  # total, idle + iowait
    t0, i0 = snap()
    time.sleep(secs)
    t1, i1 = snap()
    return 1 - (i1 - i0) / max(t1 - t0, 1)


def check_stray():
    """Warn about proxy/backend processes this script did not start (they would skew results)."""
    found = ""
    for name in ("haproxy", "nginx", "iperf3", "wrk", "proxy"):
        found += subprocess.run(["pgrep", "-a", "-x", name], capture_output=True, text=True).stdout
    if found.strip():
        log("warning: haproxy/nginx/iperf3/wrk/proxy processes not started by this script are running "
            "(left alone; they may skew the results):\n" + found.rstrip())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="1 repetition, 2 s runs, 2000 idle pairs")
    ap.add_argument("--only", default=",".join(PROXIES),
                    help=f"comma-separated proxies among {','.join(PROXIES)} (default all)")
    ap.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated: rr,bulk,idle")
    ap.add_argument("--runs", type=int, help="interleaved repetitions (default 3; 1 with --quick)")
    ap.add_argument("--secs", type=int, help="seconds per wrk/iperf3 run (default 5; 2 with --quick)")
    ap.add_argument("--idle", type=int, help="pairs in the idle scenario (default 9000; 2000 with --quick)")
    ap.add_argument("--no-direct", action="store_true", help="skip the no-proxy reference rows")
    ap.add_argument("--proxy-cpu", type=int, default=1)
    ap.add_argument("--load-cpu", type=int, default=0)
    ap.add_argument("--install", action="store_true", help="apt-get install the tools first")
    ap.add_argument("--out", default=str(RESULTS), help="directory for proxy.json and PROXY.md")
    ap.add_argument("--render", metavar="JSON", help="only rewrite PROXY.md (beside JSON) from a proxy.json")
    ap.add_argument("--hold-server", nargs=2, type=int, metavar=("PORT", "CTRL"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.hold_server:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        return hold_server(*args.hold_server)

    if args.render:
        res = json.loads(Path(args.render).read_text())
        md = Path(args.render).with_name("PROXY.md")
        md.write_text(render_md(res))
        log(f"wrote {md}")
        return 0

    started = time.monotonic()
    args.runs = args.runs or (1 if args.quick else 3)
    args.secs = args.secs or (2 if args.quick else 5)
    args.idle = args.idle or (2000 if args.quick else 9000)
    names = [p.strip() for p in args.only.split(",") if p.strip()]
    scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    for p in names:
        if p not in PROXIES:
            ap.error(f"unknown proxy {p!r}; choose among {', '.join(PROXIES)}")
    for s in scenarios:
        if s not in SCENARIOS:
            ap.error(f"unknown scenario {s!r}; choose among {', '.join(SCENARIOS)}")

    if args.install:
        install()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # children inherit it ("ulimit -n")
    need = 2 * (args.idle + 400) + 64
    if "idle" in scenarios and need > hard:
        ap.error(f"--idle {args.idle} needs {need} descriptors in the proxy; the hard limit is {hard}")
    cpus = os.sched_getaffinity(0)
    if args.proxy_cpu not in cpus or args.load_cpu not in cpus or args.proxy_cpu == args.load_cpu:
        ap.error(f"--proxy-cpu and --load-cpu must be two different CPUs among {sorted(cpus)}")
    os.sched_setaffinity(0, {args.load_cpu})  # this script (the idle client) stays off the proxy's CPU

    skipped = {}
    if "evloop" in names and not EVLOOP_BIN.exists():
        log(f"skipping evloop: {EVLOOP_BIN} not built (cargo build --release --example proxy)")
        skipped["evloop"] = f"{EVLOOP_BIN} not built"
        names.remove("evloop")
    tools = {p: ["haproxy"] for p in SPLICE_LINES} | {"nginx": ["nginx"]}
    for p in list(names):
        missing = [t for t in tools.get(p, []) if not shutil.which(t)]
        if p == "nginx" and not Path(NGINX_STREAM_MODULE).exists():
            missing.append("libnginx-mod-stream")
        if missing:
            log(f"skipping {p}: {', '.join(missing)} not installed (--install)")
            skipped[p] = f"{', '.join(missing)} not installed"
            names.remove(p)
    needed = {"rr": ["wrk", "nginx"], "bulk": ["iperf3"], "idle": []}
    for s in list(scenarios):
        missing = [t for t in needed[s] + ["taskset"] if not shutil.which(t)]
        if missing:
            log(f"skipping scenario {s}: {', '.join(missing)} not installed (--install)")
            skipped[f"scenario {s}"] = f"{', '.join(missing)} not installed"
            scenarios.remove(s)
    if not names:
        log("no proxy to measure")
        return 1
    check_stray()
    busy_before = machine_busy()
    if busy_before > 0.05:
        log(f"warning: the machine is {busy_before * 100:.0f}% busy before the run (other work skews the results)")

    bench = Bench(args)
    results, raw = {}, {}

    def handle(signum, frame):
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise SystemExit(f"stopped by signal {signum}")

    # also SIGINT: a shell without job control starts background jobs with SIGINT ignored
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, handle)
    try:
        for scen in scenarios:
            targets = list(names) if scen == "idle" or args.no_direct else ["direct"] + names
            backend = {"rr": bench.rr_backend, "bulk": bench.bulk_backend, "idle": bench.idle_backend}[scen]()
            runs = {t: [] for t in targets}
            try:
                for rep in range(args.runs):
                    order = targets[rep % len(targets):] + targets[:rep % len(targets)]
                    for t in order:
                        once = {"rr": bench.rr_once, "bulk": bench.bulk_once, "idle": bench.idle_once}[scen]
                        t0 = time.monotonic()
                        try:
                            r = once(t, backend)
                        except (RuntimeError, OSError, subprocess.TimeoutExpired, AttributeError,
                                KeyError, ValueError) as e:
                            r = {"error": f"{type(e).__name__}: {e}"}
                        runs[t].append(r)
                        log(f"{scen} run {rep + 1}/{args.runs} {t}: {brief(scen, r)} ({time.monotonic() - t0:.1f} s)")
            finally:
                backend.stop()
            raw[scen] = runs
            results[scen] = summarize(runs)
    finally:
        Proc.stop_all()
        shutil.rmtree(bench.tmp, ignore_errors=True)

    ratios = {}
    for key, _ in RATIO_METRICS:
        scen, metric = key.split(".")
        sr = results.get(scen, {})
        ev = sr.get("evloop", {}).get(metric)
        ratios[key] = {p: ratio(ev, sr.get(p, {}).get(metric)) for p in names if p != "evloop"}
    total = time.monotonic() - started
    res = {
        "command": "python3 bench/proxy.py " + " ".join(sys.argv[1:]),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "args": {k: v for k, v in vars(args).items() if k not in ("hold_server", "out")},
        "machine": machine_info(),
        "proxies": names,
        "evloop": evloop_info() if "evloop" in names else None,
        "skipped": skipped,
        "commands": {"rr": bench.wrk_cmd("PORT", args.secs), "bulk": bench.iperf_cmd("PORT", args.secs)},
        "configs": bench.configs,
        "results": results,
        "runs": raw,
        "ratio_metrics": RATIO_METRICS,
        "ratios": ratios,
        "total_s": total,
        "busy_before": busy_before,
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "proxy.json").write_text(json.dumps(res, indent=1) + "\n")
    (out / "PROXY.md").write_text(render_md(res))
    log(f"wrote {out / 'proxy.json'} and {out / 'PROXY.md'}")
    log(f"total run time: {total:.0f} s")
    return 0


def brief(scen, r):
    if "error" in r:
        return "FAILED " + r["error"][:300]
    if scen == "rr":
        cpu = f", {r['cpu_us']:.2f} µs/req" if "cpu_us" in r else ""
        return f"{r['rps']:,.0f} req/s{cpu}, {r['errors']} errors"
    if scen == "bulk":
        cpu = f", {r['cpu_s_gb']:.3f} CPU s/GB" if "cpu_s_gb" in r else ""
        return f"{r['gbit_s']:.2f} Gbit/s{cpu}"
    return f"{r['idle_kib_per_pair']:.2f} KiB/pair idle, {r['used_kib_per_pair']:.2f} used"


if __name__ == "__main__":
    sys.exit(main())
