#!/usr/bin/python3
"""retention_figures.py: the gateway's resident memory after many large events, with the
retention limits of README "Memory and retention" at their defaults and with every limit off.

A figure, not a test: nothing here passes or fails. For each configuration it starts
bin/gwspec-gateway on a free loopback port, creates SESSIONS sessions and runs one provider
script per session (emit_many EVENTS events of SIZE bytes, then complete) with no socket
attached (R-HB-3: the run goes on and is buffered), waits for each run to end
(GET /api/providers/sessions/running), and prints VmRSS / VmHWM from /proc.

usage: reference-server/tests/retention_figures.py [--sessions N] [--events N] [--size BYTES]
       [--gateway PATH] [--no-unlimited] [--extra 'FLAGS' ...]
"""
import argparse
import base64
import json
import os
import shlex
import socket
import subprocess
import sys
import time
import urllib.request

TOKEN = "bench"


def rest(port, method, path, body=None):
    req = urllib.request.Request(
        "http://127.0.0.1:%d%s" % (port, path), method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": "Bearer " + TOKEN, "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def ws_send_once(port, text):
    """Open /ws, send one masked text frame, close without reading (the run goes on)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(("GET /ws?token=%s HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
               "\r\n" % (TOKEN, key)).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(4096)
        if not chunk:
            raise RuntimeError("upgrade refused")
        head += chunk
    if b" 101 " not in head.split(b"\r\n", 1)[0]:
        raise RuntimeError("upgrade refused: %r" % head[:80])
    payload = text.encode()
    mask = os.urandom(4)
    n = len(payload)
    hdr = bytes([0x81]) + (bytes([0x80 | n]) if n < 126 else
                           bytes([0x80 | 126]) + n.to_bytes(2, "big") if n < 65536 else
                           bytes([0x80 | 127]) + n.to_bytes(8, "big"))
    s.sendall(hdr + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
    s.sendall(bytes([0x88, 0x80]) + os.urandom(4))  # close, no status
    time.sleep(0.05)
    s.close()


def rss_kb(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                out[line.split(":")[0]] = int(line.split()[1])
    return out


def measure(gateway, flags, sessions, events, size):
    proc = subprocess.Popen([gateway, "--port", "0", "--token", "bench:" + TOKEN,
                             "--ping-interval-ms", "0", "--log-level", "error"] + flags,
                            stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        port = int(line.rsplit(":", 1)[1])
        pad = "x" * max(0, size - 8)
        script = [{"emit_many": {"count": events, "kind": "text", "content": pad + "%d"}},
                  {"complete": 0}]
        start = time.time()
        for _ in range(sessions):
            sid = rest(port, "POST", "/api/providers/sessions",
                       {"provider": "claude", "projectPath": "/tmp/cs-bench"})["data"]["sessionId"]
            ws_send_once(port, json.dumps({"type": "chat.send", "sessionId": sid,
                                           "content": "gwspec:" + json.dumps(
                                               {"v": 1, "script": script})}))
            while rest(port, "GET", "/api/providers/sessions/running")["data"]["sessions"]:
                time.sleep(0.05)
        hist = rest(port, "GET", "/api/providers/sessions/%s/messages?limit=1" % sid)["data"]
        return rss_kb(proc.pid), time.time() - start, hist["total"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sessions", type=int, default=40)
    ap.add_argument("--events", type=int, default=5000)
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--gateway", default="bin/gwspec-gateway")
    ap.add_argument("--no-unlimited", action="store_true", help="skip the 'no limits' run")
    ap.add_argument("--extra", action="append", default=[],
                    help="another configuration: gateway flags in one string")
    a = ap.parse_args()
    configs = [("defaults", []),
               ("no limits", ["--replay-bytes", "0", "--replay-budget", "0", "--store-bytes", "0",
                              "--retain-ms", "0"])]
    if a.no_unlimited:
        configs.pop()
    configs += [(x, shlex.split(x)) for x in a.extra]
    print("%d sessions x %d events x %d bytes (%.0f MiB of event text)"
          % (a.sessions, a.events, a.size, a.sessions * a.events * a.size / 1048576.0))
    print("%-40s %10s %10s %8s %12s" % ("configuration", "VmRSS MiB", "VmHWM MiB", "secs",
                                        "last total"))
    for name, flags in configs:
        rss, secs, total = measure(a.gateway, flags, a.sessions, a.events, a.size)
        print("%-40s %10.1f %10.1f %8.1f %12d" % (name, rss["VmRSS"] / 1024.0,
                                                 rss["VmHWM"] / 1024.0, secs, total))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
