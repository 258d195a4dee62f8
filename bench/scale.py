#!/usr/bin/env python3
"""Connection-scale run against the echo example; started by bench/scale.sh.

Usage: scale.py ECHO_BINARY CONNS CLIENTS EXTRA
Starts ECHO_BINARY with --max-connections CONNS and no idle timeout, then CLIENTS
scale_client.py processes (sources 127.0.0.1, 127.0.0.2, ...) that together open
CONNS connections, exchange one message on each, and hold them. Then EXTRA more
connections beyond the limit: they connect (the kernel's backlog) but must get no
echo while the server is full, and the server must not spin (CPU over a few
seconds); closing EXTRA served connections must let them through. Prints the
figures as Markdown.
"""
import os
import re
import signal
import subprocess
import sys
import time

binary, conns, clients, extra = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
HERE = os.path.dirname(os.path.abspath(__file__))
HZ = os.sysconf("SC_CLK_TCK")
AT_LIMIT_SECS = 3.0


def status_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])


def cpu_secs(pid):
    with open(f"/proc/{pid}/stat") as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return (int(rest[11]) + int(rest[12])) / HZ


def meminfo_kib(field):
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])


def sockstat_tcp():
    with open("/proc/net/sockstat") as f:
        for line in f:
            if line.startswith("TCP:"):
                v = line.split()[1:]
                return dict(zip(v[::2], map(int, v[1::2])))


server = subprocess.Popen(
    [binary, "--listen", "127.0.0.1:0", "--max-connections", str(conns), "--idle-timeout", "0"],
    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    env=dict(os.environ, RUST_LOG="info"))
line = server.stdout.readline()
port = int(re.search(r"tcp://127\.0\.0\.1:(\d+)", line).group(1))
spid = server.pid
rss0 = status_kib(spid, "VmRSS")
slab0, sock0 = meminfo_kib("Slab"), sockstat_tcp()


def spawn(src, n):
    return subprocess.Popen([sys.executable, os.path.join(HERE, "scale_client.py"), src, str(port), str(n)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)


def ask(procs, cmd):
    for p in procs:
        p.stdin.write(cmd + "\n")
        p.stdin.flush()
    return [p.stdout.readline().split() for p in procs]


share = [conns // clients + (1 if i < conns % clients else 0) for i in range(clients)]
procs = [spawn(f"127.0.0.{i + 1}", n) for i, n in enumerate(share)]
t0 = time.monotonic()
connected = ask(procs, "connect")
t_connect = time.monotonic() - t0
ok_conn = sum(int(r[1]) for r in connected)
fail_conn = sum(int(r[2]) for r in connected)
t1 = time.monotonic()
exchanged = ask(procs, "exchange 30")
t_exchange = time.monotonic() - t1
ok_ex = sum(int(r[1]) for r in exchanged)
unanswered = sum(int(r[2]) for r in exchanged)
rss1 = status_kib(spid, "VmRSS")
slab1, sock1 = meminfo_kib("Slab"), sockstat_tcp()
cpu_served = cpu_secs(spid)

# Over the limit: EXTRA more connections, from one more source address.
over = spawn(f"127.0.0.{clients + 1}", extra)
over_conn = ask([over], "connect")[0]
over_ex = ask([over], "exchange 1")[0]  # no echo expected: not accepted
c0 = cpu_secs(spid)
time.sleep(AT_LIMIT_SECS)  # the measuring window
cpu_at_limit = cpu_secs(spid) - c0
over_still = ask([over], "await 0.1")[0]
# Room again: close EXTRA served connections; the waiting ones get their echoes.
ask(procs[:1], f"close {extra}")
t2 = time.monotonic()
over_after = ask([over], "await 10")[0]
t_resume = time.monotonic() - t2

for p in procs + [over]:
    p.stdin.write("quit\n")
    p.stdin.flush()
for p in procs + [over]:
    p.wait(timeout=30)
server.send_signal(signal.SIGTERM)
_, err = server.communicate(timeout=30)
stats = dict(re.findall(r"(\w+): (\d+)", err.splitlines()[-1])) if err else {}

n = ok_conn
print(f"| connections requested (server --max-connections) | {conns} in {clients} client processes |")
print(f"| connected / failed | {ok_conn} / {fail_conn} |")
print(f"| time to establish all | {t_connect:.2f} s ({ok_conn / t_connect:,.0f} connections/s) |")
print(f"| one 16-byte echo on each: answered / unanswered | {ok_ex} / {unanswered} in {t_exchange:.2f} s |")
print(f"| server RSS before / after | {rss0} KiB / {rss1} KiB |")
print(f"| server RSS per connection | {(rss1 - rss0) * 1024 / n:.0f} bytes |")
print(f"| kernel Slab delta (both ends, {2 * n} sockets) | {slab1 - slab0} KiB = {(slab1 - slab0) * 1024 / (2 * n):.0f} bytes per socket |")
print(f"| TCP sockets in use before / after (sockstat) | {sock0.get('inuse')} / {sock1.get('inuse')}; buffer pages {sock0.get('mem')} / {sock1.get('mem')} |")
print(f"| server CPU to accept and serve all | {cpu_served:.2f} s |")
print(f"| {extra} connections over the limit: connected / echoed while full | {over_conn[1]} / {int(over_ex[1]) + int(over_still[1])} |")
print(f"| server CPU during {AT_LIMIT_SECS:.0f} s at the limit with {extra} waiting | {cpu_at_limit:.2f} s |")
print(f"| after closing {extra} served: waiting ones echoed | {over_after[1]} of {extra} in {t_resume:.2f} s |")
print(f"| server counters at exit | accepted {stats.get('accepted')}, accept_errors {stats.get('accept_errors')}, io_errors {stats.get('io_errors')}, polls {stats.get('polls')} |")
print(f"| server exit status after SIGTERM | {server.returncode} |")
