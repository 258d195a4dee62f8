"""What the bench scripts read of a process: CPU split into user and kernel time
(utime and stime, fields 14 and 15 of /proc/PID/stat) and resident memory
(VmRSS of /proc/PID/status); and a free loopback port. Standard library only."""
import os
import re
import signal
import socket
import subprocess
from pathlib import Path

HZ = os.sysconf("SC_CLK_TCK")


def cpu(pid):
    """(user, kernel) CPU seconds of process `pid` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) / HZ, int(fields[12]) / HZ


def rss_kib(pid):
    """VmRSS of process `pid`, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop(proc, err):
    """SIGTERM `proc`, wait (bounded; then kill), and return what it wrote to the
    file `err`."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    err.seek(0)
    return err.read()


def syscalls(stderr):
    """read + write + epoll_wait calls from the last `reactor stopped: Stats` line."""
    found = re.findall(r"(reads|writes|polls): (\d+)", stderr)
    return sum(int(v) for _, v in found[-3:]) if len(found) >= 3 else None
