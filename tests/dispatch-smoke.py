#!/usr/bin/python3
"""dispatch-smoke.py: start gwspec-gateway --dialect dispatch, drive it by hand, print the frames.

Not part of `make check` (the harness's cases are the tests); a quick look at the wire while the
Dispatch dialect is being built. Python standard library only: a minimal WebSocket client
(RFC 6455 text frames, masked, no extensions).

    tests/dispatch-smoke.py [--gateway 'bin/gwspec-gateway'] [--mutant NAME]
    (--gateway is split like a shell word list: 'valgrind -q bin/gwspec-gateway' works)
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


class WS:
    def __init__(self, port, path="/"):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=5)
        key = base64.b64encode(os.urandom(16)).decode()
        self.s.sendall(
            (
                f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            head += self.s.recv(1)
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise RuntimeError(head.decode(errors="replace"))
        self.buf = b""

    def send(self, obj):
        data = (obj if isinstance(obj, str) else json.dumps(obj)).encode()
        mask = os.urandom(4)
        n = len(data)
        hdr = bytes([0x81])
        if n < 126:
            hdr += bytes([0x80 | n])
        elif n < 65536:
            hdr += bytes([0x80 | 126]) + n.to_bytes(2, "big")
        else:
            hdr += bytes([0x80 | 127]) + n.to_bytes(8, "big")
        self.s.sendall(hdr + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.s.recv(65536)
            if not chunk:
                raise EOFError
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv(self, timeout=1.0):
        """The next text frame as parsed JSON, or None after timeout s of silence."""
        self.s.settimeout(timeout)
        try:
            b0, b1 = self._read(2)
        except (socket.timeout, TimeoutError):
            return None
        self.s.settimeout(5)
        n = b1 & 0x7F
        if n == 126:
            n = int.from_bytes(self._read(2), "big")
        elif n == 127:
            n = int.from_bytes(self._read(8), "big")
        payload = self._read(n)
        op = b0 & 0x0F
        if op == 0x9:  # ping: answer, read on
            self.s.sendall(bytes([0x8A, 0x80 | len(payload)]) + b"\0\0\0\0" + payload)
            return self.recv(timeout)
        if op == 0x8:
            return {"(close)": int.from_bytes(payload[:2], "big") if payload else 1005}
        return json.loads(payload)

    def drain(self, quiet=0.5):
        out = []
        while True:
            f = self.recv(quiet)
            if f is None:
                return out
            out.append(f)

    def close(self):
        self.s.close()


def show(name, frames):
    for f in frames:
        if f.get("type") == "chat.delta":
            ev = dict(f["event"])
            t = ev.pop("type")
            ev.pop("conversationId", None)
            ev.pop("turnId", None)
            print(f"  {name} <- chat.delta {t} {json.dumps(ev, ensure_ascii=False)}")
        else:
            print(f"  {name} <- {json.dumps(f, ensure_ascii=False)}")


def http(port, method, path):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method, data=b"" if method == "POST" else None)
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gateway", default="bin/gwspec-gateway")
    ap.add_argument("--mutant")
    a = ap.parse_args()
    argv = shlex.split(a.gateway) + ["--dialect", "dispatch", "--port", "0", "--seed", "1"]
    if a.mutant:
        argv += ["--mutant", a.mutant]
    gw = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=sys.stderr, text=True)
    try:
        line = gw.stdout.readline()
        port = int(line.rsplit(":", 1)[1])
        print(f"gateway: {' '.join(argv)} -> {line.strip()}")

        print("1. plain HTTP GET / on the WebSocket port:", http(port, "GET", "/"))

        a_, b_ = WS(port), WS(port)
        print("2. two connections open; B subscribes to c1 before any turn")
        show("A", a_.drain(0.3))
        show("B", b_.drain(0.3))
        b_.send({"type": "chat.subscribe", "conversationId": "c1"})

        script = [
            {"emit": {"kind": "text-delta", "delta": "Hel"}},
            {"emit": {"kind": "tool-call", "toolCallId": "t1", "toolName": "Bash", "input": {"command": "ls"}}},
            {"emit": {"kind": "tool-result", "toolCallId": "t1", "content": "a.txt"}},
            {"emit": {"kind": "text-delta", "delta": "lo"}},
            {"emit": {"kind": "step-complete"}},
            {"emit": {"kind": "text-delta", "delta": " done"}},
            {"complete": 0},
        ]
        msg = "hi gwspec:" + json.dumps({"v": 1, "script": script}, separators=(",", ":"))
        print("3. A: chat.send c1 (a provider script with one tool call)")
        a_.send({"type": "chat.send", "conversationId": "c1", "message": msg})
        show("A", a_.drain())
        show("B", b_.drain(0.2))

        print("4. A: a subscribe after the seal (expect nothing), bad input battery")
        a_.send({"type": "chat.subscribe", "conversationId": "c1"})
        for bad in ["{", "null", {"type": "nope"},
                    {"type": "chat.send", "conversationId": "c1", "message": ""},
                    {"type": "chat.send", "message": "x", "reasoningEffort": "ultra"},
                    {"type": "chat.send", "message": "x", "images": {}},
                    {"type": "chat.queue", "conversationId": "c1", "text": "  "},
                    {"type": "chat.queue", "text": "x"},
                    {"type": "chat.queue.cancel", "conversationId": "c1"},
                    {"type": "subscribe", "surfaceId": "nope"}]:
            a_.send(bad)
        show("A", a_.drain(0.3))

        print("5. A: a held turn (wait_abort); B sends to it (busy); HTTP close")
        hold = "gwspec:" + json.dumps({"v": 1, "script": [{"emit": {"kind": "text-delta", "delta": "x"}}, {"wait_abort": True}]}, separators=(",", ":"))
        a_.send({"type": "chat.send", "conversationId": "c2", "message": hold})
        show("A", a_.drain(0.3))
        b_.send({"type": "chat.send", "conversationId": "c2", "message": "second"})
        show("B", b_.drain(0.3))
        print("   POST /conversations/c2/close ->", http(port, "POST", "/conversations/c2/close"))
        show("A", a_.drain(0.3))
        show("B", b_.drain(0.2))

        print("6. post-seal carry: a turn with a barrier-free delay, two chat.queue while it runs")
        slow = "gwspec:" + json.dumps({"v": 1, "script": [{"emit": {"kind": "text-delta", "delta": "T1"}}, {"delay": 300}, {"complete": 0}]}, separators=(",", ":"))
        a_.send({"type": "chat.send", "conversationId": "c3", "message": slow})
        a_.send({"type": "chat.queue", "conversationId": "c3", "text": "first"})
        a_.send({"type": "chat.queue", "conversationId": "c3", "text": "second"})
        show("A", a_.drain(0.8))

        print("7. disconnect mid-turn: D sends to c4 and closes after the first delta; B watches")
        b_.send({"type": "chat.subscribe", "conversationId": "c4"})
        d_ = WS(port)
        d_.drain(0.2)
        d_.send({"type": "chat.send", "conversationId": "c4", "message": slow})
        while True:
            f = d_.recv(2)
            if f is None or (f.get("type") == "chat.delta" and f["event"]["type"] == "text-delta"):
                break
        d_.close()
        show("B", [f for f in b_.drain(0.8) if f.get("type") == "chat.delta" or f.get("conversationId") == "c4"])

        print("8. history of c1:", http(port, "GET", "/conversations/c1?sinceSeq=0"))
        a_.close()
        b_.close()
    finally:
        gw.terminate()
        gw.wait(30)


if __name__ == "__main__":
    main()
