#!/usr/bin/env python3
"""tests/client-smoke.py: gwspec-client (reference-client/) against a small scripted session
server over real sockets, without the harness's server role: for every mutant one scenario and
one observable, whose value must be the reference's for the reference client and the mutant's
for the mutant (the same scenarios as reference-client/tests/test_mutants.c, on the wire).

Python standard library only (a minimal RFC 6455 server: handshake, framing, close, ping).
Every client runs in its own process group and is killed at the end of its scenario. Times run
at --time-scale 20: 2 s is 100 ms, the ping interval 1.5 s. Quiescence is proved with the
claude-remote/1 round trip (a control_request of an unknown subtype, whose error answer comes
after every frame the client sent before it); only "no further connection" uses a bounded
quiet period.

usage: tests/client-smoke.py [BIN_DIR]   (default bin); exit 0 when every row holds.
"""
import asyncio, base64, hashlib, json, os, signal, struct, subprocess, sys, time

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
SCALE = 20
BIN = sys.argv[1] if len(sys.argv) > 1 else "bin"
CLIENT = os.path.join(BIN, "gwspec-client")


class Conn:
    """One accepted WebSocket connection, server side."""

    def __init__(self, r, w):
        self.r, self.w = r, w
        self.frames = asyncio.Queue()  # (opcode, payload)
        self.pings = 0
        self.client_close = None
        self.task = asyncio.ensure_future(self._read())

    async def _read(self):
        try:
            while True:
                h = await self.r.readexactly(2)
                op, ln = h[0] & 15, h[1] & 127
                if ln == 126:
                    ln = struct.unpack(">H", await self.r.readexactly(2))[0]
                elif ln == 127:
                    ln = struct.unpack(">Q", await self.r.readexactly(8))[0]
                mask = await self.r.readexactly(4) if h[1] & 128 else b"\0\0\0\0"
                d = bytes(b ^ mask[i % 4] for i, b in enumerate(await self.r.readexactly(ln)))
                if op == 9:
                    self.pings += 1
                    self._send(d, 10)
                elif op == 8:
                    self.client_close = struct.unpack(">H", d[:2])[0] if len(d) >= 2 else 1005
                    self._send(d[:2], 8)  # the closing handshake's echo
                    await self.frames.put((8, d))
                    return
                else:
                    await self.frames.put((op, d))
        except (asyncio.IncompleteReadError, ConnectionError):
            await self.frames.put((None, b""))

    def _send(self, d, op):
        n = len(d)
        hdr = bytes([0x80 | op]) + (bytes([n]) if n < 126 else bytes([126]) + struct.pack(">H", n))
        try:
            self.w.write(hdr + d)
        except Exception:
            pass

    def send(self, obj):
        self._send((obj if isinstance(obj, str) else json.dumps(obj)).encode(), 1)

    def close(self, code):
        self._send(struct.pack(">H", code), 8)

    def drop(self):
        self.w.transport.abort()

    async def recv(self, timeout=2.0):
        """The next text frame as JSON, or None (closed, or nothing within timeout)."""
        try:
            op, d = await asyncio.wait_for(self.frames.get(), timeout)
        except asyncio.TimeoutError:
            return None
        if op != 1:
            return None
        return json.loads(d)

    async def until_frob(self, rid="q"):
        """Send the quiescence round trip; the frames the client sent before its answer."""
        self.send({"type": "control_request", "request_id": rid, "request": {"subtype": "frobnicate"}})
        got = []
        while True:
            f = await self.recv()
            if f is None:
                return got
            if f.get("type") == "control_response" and f["response"].get("request_id") == rid:
                return got
            got.append(f)


class Case:
    def __init__(self, mutant, refuse=False):
        self.mutant = mutant
        self.conns = asyncio.Queue()
        self.attempts = []  # monotonic time of every upgrade request
        self.refuse = refuse  # answer every upgrade with 403
        self.notes = []
        self.acted = {}
        self.next_id = 0

    async def start(self):
        self.ctl_ready = asyncio.Event()
        self.ctl_srv = await asyncio.start_server(self._on_ctl, "127.0.0.1", 0)
        self.ws_srv = await asyncio.start_server(self._on_ws, "127.0.0.1", 0)
        cport = self.ctl_srv.sockets[0].getsockname()[1]
        port = self.ws_srv.sockets[0].getsockname()[1]
        argv = [CLIENT, "--dialect", "claude-remote", "--url",
                "ws://127.0.0.1:%d/v1/sessions/ws/S1/subscribe" % port, "--ctl",
                "127.0.0.1:%d" % cport, "--case", "smoke#1", "--time-scale", str(SCALE)]
        if self.mutant:
            argv += ["--mutant", self.mutant]
        self.proc = subprocess.Popen(argv, start_new_session=True)
        await asyncio.wait_for(self.ctl_ready.wait(), 5)

    async def _on_ctl(self, r, w):
        self.ctl_w = w
        while True:
            line = await r.readline()
            if not line:
                return
            m = json.loads(line)
            if m["t"] == "hello":
                self.ctl_ready.set()
            elif m["t"] == "note":
                self.notes.append(m)
            elif m["t"] == "acted":
                self.acted[m["id"]].set_result(m)

    async def _on_ws(self, r, w):
        try:
            req = await r.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        self.attempts.append(time.monotonic())
        if self.refuse:
            w.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            w.close()
            return
        hd = {l.split(":", 1)[0].lower(): l.split(":", 1)[1].strip()
              for l in req.decode().split("\r\n")[1:] if ":" in l}
        acc = base64.b64encode(hashlib.sha1(hd["sec-websocket-key"].encode() + GUID).digest())
        w.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                b"Sec-WebSocket-Accept: " + acc + b"\r\n\r\n")
        await self.conns.put(Conn(r, w))

    async def conn(self, timeout=2.0):
        """The next accepted connection, once the client has seen it open (its `connected`
        note: an act that arrives before it finds the client still connecting)."""
        try:
            k = await asyncio.wait_for(self.conns.get(), timeout)
        except asyncio.TimeoutError:
            return None
        self.accepted = getattr(self, "accepted", 0) + 1
        while sum(n["what"] == "connected" for n in self.notes) < self.accepted:
            await asyncio.sleep(0.002)
        return k

    async def act(self, act):
        self.next_id += 1
        k = self.next_id
        self.acted[k] = asyncio.get_running_loop().create_future()
        self.ctl_w.write((json.dumps({"t": "act", "id": k, "act": act}) + "\n").encode())
        return await asyncio.wait_for(self.acted[k], 5)

    async def quiet_attempts(self, ms, most=10):
        """Connection attempts once ms have passed with none (a bounded quiet period), or once
        there are `most` of them."""
        n = -1
        while n != len(self.attempts) and len(self.attempts) < most:
            n = len(self.attempts)
            await asyncio.sleep(ms / 1000)
        return n

    async def stop(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.ctl_srv.close()
        self.ws_srv.close()
        return self.proc.returncode


CAN = lambda rid: {"type": "control_request", "request_id": rid,
                   "request": {"subtype": "can_use_tool", "tool_name": "Bash", "input": {"c": 1}}}


async def sc_4003(c):
    k = await c.conn(); k.close(4003)
    return await c.quiet_attempts(400)


async def sc_4001_count(c):
    while len(c.attempts) < 5:
        k = await c.conn(1.0)
        if not k:
            break
        k.close(4001)
    return len(c.attempts)


async def sc_4001_gap(c):
    for _ in range(3):
        (await c.conn()).close(4001)
    a = c.attempts
    return int(a[2] - a[1] >= 0.9 * 4000 / SCALE / 1000)  # the 2nd retry waited >= 4 s (scaled)


async def sc_never_opened(c):
    # until a third attempt (the mutant goes on without end) or 400 ms with none
    while len(c.attempts) < 3:
        n = len(c.attempts)
        await asyncio.sleep(0.4)
        if len(c.attempts) == n:
            break
    return min(len(c.attempts), 3)


sc_never_opened.refuse = True  # from the first attempt on


async def sc_drop(c):
    (await c.conn()).drop()
    t0 = time.monotonic()
    await c.conn()
    return int(c.attempts[1] - t0 >= 0.9 * 2000 / SCALE / 1000)


async def sc_own_close(c):
    await c.conn()
    await c.act({"close": {}})
    return await c.quiet_attempts(400)


async def sc_ping(c):
    k = await c.conn()
    await asyncio.sleep(1.5 * 30000 / SCALE / 1000)  # one and a half ping intervals
    return min(k.pings, 1)


async def sc_unknown(c):
    k = await c.conn()
    k.send({"type": "control_request", "request_id": "x1", "request": {"subtype": "frobnicate"}})
    f = await k.recv(1.0)
    return int(bool(f) and f["response"]["error"] == "Unsupported control request subtype: frobnicate")


async def sc_cancelled(c):
    k = await c.conn()
    k.send(CAN("r1")); k.send({"type": "control_cancel_request", "request_id": "r1"})
    await k.until_frob("q0")
    await c.act({"answer_permission": "allow"})
    return sum(f.get("type") == "control_response" for f in await k.until_frob())


async def sc_double(c):
    k = await c.conn()
    k.send(CAN("r1"))
    await k.until_frob("q0")
    await c.act({"answer_permission": "allow"})
    return sum(f["response"]["request_id"] == "r1" for f in await k.until_frob())


async def sc_reused(c):
    k = await c.conn()
    await c.act({"interrupt": {}}); await c.act({"interrupt": {}})
    a, b = await k.recv(), await k.recv()
    return int(a["request_id"] == b["request_id"])


async def sc_disconnected(c):
    k = await c.conn()
    k.send(CAN("r1"))
    await k.until_frob("q0")
    k.close(1011)
    while not any(n["what"] == "reconnecting" for n in c.notes):
        await asyncio.sleep(0.005)
    r1 = await c.act({"interrupt": {}})
    r2 = await c.act({"answer_permission": "allow"})
    k2 = await c.conn()
    got = await k2.until_frob()
    expect = "queued" if c.mutant else "dropped"
    assert r1["result"] == expect and r2["result"] == expect, (r1, r2)
    return len(got)


async def sc_after_result(c):
    k = await c.conn()
    k.send({"type": "result", "subtype": "success", "is_error": False, "num_turns": 1})
    k.send(CAN("r7"))
    await k.until_frob("q0")
    await c.act({"answer_permission": "allow"})
    k.send({"type": "keep_alive"})
    f = await k.recv(0.5)
    return int(bool(f) and f["response"]["request_id"] == "r7")


async def sc_echo(c):
    k = await c.conn()
    await c.act({"send_user": {"text": "hi", "uuid": "u-1"}})
    m = await k.recv()
    k.send(m); k.send(m)
    await k.until_frob()
    return sum(n["what"] == "rendered" and n.get("uuid") == "u-1" for n in c.notes)


async def sc_bad_frame(c):
    k = await c.conn()
    k.send("{not json")
    await k.until_frob()
    return int(k.client_close is not None)


# mutant, scenario, reference value, mutant value
ROWS = [
    ("retry-after-4003", sc_4003, 1, 2),
    ("retry-4001-forever", sc_4001_count, 4, 5),
    ("retry-4001-no-backoff", sc_4001_gap, 1, 0),
    ("retry-never-opened", sc_never_opened, 1, 3),
    ("retry-drop-no-delay", sc_drop, 1, 0),
    ("retry-after-own-close", sc_own_close, 1, 2),
    ("no-ping", sc_ping, 1, 0),
    ("silent-unknown-subtype", sc_unknown, 1, 0),
    ("answer-cancelled", sc_cancelled, 0, 1),
    ("double-answer", sc_double, 1, 2),
    ("reused-request-id", sc_reused, 0, 1),
    ("control-while-disconnected", sc_disconnected, 0, 2),
    ("deaf-after-result", sc_after_result, 1, 0),
    ("echo-rendered-twice", sc_echo, 1, 3),
    ("close-on-bad-frame", sc_bad_frame, 0, 1),
]


async def run(mutant, scenario):
    c = Case(mutant, getattr(scenario, "refuse", False))
    await c.start()
    try:
        return await asyncio.wait_for(scenario(c), 20)
    finally:
        rc = await c.stop()
        if rc != 0:
            raise RuntimeError("gwspec-client exited %s after SIGTERM" % rc)


async def main():
    listed = subprocess.run([CLIENT, "--list-mutants"], capture_output=True, text=True, check=True)
    names = [l.split()[0] for l in listed.stdout.splitlines() if l.strip()]
    bad = 0
    if sorted(names) != sorted(r[0] for r in ROWS):
        print("client-smoke: the mutant table and the scenarios differ: %s" % sorted(set(names) ^ {r[0] for r in ROWS}))
        bad += 1
    for name, sc, want_ref, want_mut in ROWS:
        t0 = time.monotonic()
        ref = await run(None, sc)
        mut = await run(name, sc)
        ok = ref == want_ref and mut == want_mut
        bad += not ok
        print("%-4s %-28s %-18s reference %s (want %s), mutant %s (want %s)  %.2fs" % (
            "ok" if ok else "FAIL", name, sc.__name__, ref, want_ref, mut, want_mut, time.monotonic() - t0))
    print("client-smoke: %d of %d rows hold" % (len(ROWS) - bad, len(ROWS)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
