#!/usr/bin/env python3
"""Open N idle TCP connections to HOST:PORT, signal readiness, hold them.

Usage: idle_conns.py PORT N [MESSAGE]
Prints 'ready' once all are connected (and, with MESSAGE, each has sent MESSAGE
and read a reply), then holds them until stdin closes.
"""
import socket, sys

port, n = int(sys.argv[1]), int(sys.argv[2])
msg = sys.argv[3].encode().decode('unicode_escape').encode() if len(sys.argv) > 3 else None
socks = []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    socks.append(s)
if msg:
    for s in socks:
        s.sendall(msg)
    for s in socks:
        s.recv(65536)
print("ready", flush=True)
sys.stdin.read()
