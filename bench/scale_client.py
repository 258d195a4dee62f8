#!/usr/bin/env python3
"""One client process of bench/scale.sh: holds many TCP connections to an echo server.

Usage: scale_client.py SOURCE_IP PORT N
Commands on stdin, one per line; each answers one line on stdout:
  connect          open N connections from SOURCE_IP (port chosen by the kernel)
                   -> "connected OK FAILED SECONDS"
  exchange SECS    send a 16-byte message on every open connection and wait (at most
                   SECS) for each echo -> "exchanged OK UNANSWERED SECONDS"
                   (connections not answered within SECS stay pending)
  await SECS       wait (at most SECS) for the echoes still pending
                   -> "awaited OK STILL_PENDING SECONDS"
  close K          close K of the connections already answered -> "closed K"
  quit             close everything and exit
Each process stays under the 20,000-descriptor limit by holding fewer connections.
"""
import os
import selectors
import socket
import sys
import time

src, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
conns = []        # open sockets
answered = []     # sockets whose echo came back
pending = {}      # socket -> bytes still expected
MESSAGE_LEN = 16


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def connect():
    ok = failed = 0
    start = time.monotonic()
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.settimeout(10)
            s.bind((src, 0))
            s.connect(("127.0.0.1", port))
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s.setblocking(False)
            conns.append(s)
            ok += 1
        except OSError as e:
            s.close()
            failed += 1
            if failed <= 3:
                sys.stderr.write(f"scale_client {src}: connect: {e}\n")
    say(f"connected {ok} {failed} {time.monotonic() - start:.3f}")


def wait_pending(secs):
    """Reads echoes until none is pending or SECS pass; returns (ok, still pending)."""
    ok = 0
    deadline = time.monotonic() + secs
    sel = selectors.DefaultSelector()
    for s in pending:
        sel.register(s, selectors.EVENT_READ)
    while pending:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        for key, _ in sel.select(left):
            s = key.fileobj
            try:
                data = s.recv(4096)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:  # closed or reset: counts as unanswered
                sel.unregister(s)
                del pending[s]
                continue
            pending[s] -= len(data)
            if pending[s] <= 0:
                sel.unregister(s)
                del pending[s]
                answered.append(s)
                ok += 1
    sel.close()
    return ok, len(pending)


def exchange(secs):
    start = time.monotonic()
    msg = os.urandom(MESSAGE_LEN // 2).hex().encode()
    for s in conns:
        if s in pending or s in answered:
            continue
        try:
            s.send(msg)  # 16 bytes always fit an empty send buffer
            pending[s] = MESSAGE_LEN
        except OSError:
            pass
    ok, left = wait_pending(secs)
    say(f"exchanged {ok} {left} {time.monotonic() - start:.3f}")


for line in sys.stdin:
    cmd = line.split()
    if not cmd:
        continue
    if cmd[0] == "connect":
        connect()
    elif cmd[0] == "exchange":
        exchange(float(cmd[1]))
    elif cmd[0] == "await":
        start = time.monotonic()
        ok, left = wait_pending(float(cmd[1]))
        say(f"awaited {ok} {left} {time.monotonic() - start:.3f}")
    elif cmd[0] == "close":
        k = min(int(cmd[1]), len(answered))
        for s in answered[:k]:
            conns.remove(s)
            s.close()
        del answered[:k]
        say(f"closed {k}")
    elif cmd[0] == "quit":
        break
for s in conns:
    s.close()
