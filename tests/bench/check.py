#!/usr/bin/python3
"""tests/bench/check.py: how `gwspec check` scales (make bench-check).

Writes synthetic transcripts of one streaming run (a chat.send, N stream_delta events and a
complete on one socket, then a sentinel round trip) in two shapes, and times `gwspec check
--json` on each with /usr/bin/time: wall seconds, records per second, peak memory.
  unique  every event has its own id (a correct gateway)
  same-id every event carries the same id (a gateway that does not make ids unique): the shape
          on which a checker that compares each copy with every earlier one goes quadratic
Prints one line per (shape, size) and the ratio of the largest to the smallest size's time per
record (1.0 is linear). Usage: check.py [--sizes 2000,8000,...] [--bin bin/gwspec] [--keep DIR]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

SID = "9f0c2b1e-0000-4000-8000-000000000001"


def write(path, n, same_id):
    with open(path, "w") as f:
        hdr = {"t": "header", "format": "gwspec-transcript/1", "case": "bench", "source": "bench",
               "spec": "chatgw/1.0", "target": "bench", "capabilities": []}
        f.write(json.dumps(hdr) + "\n")
        k = 1

        def rec(r):
            nonlocal k
            r = dict(n=k, us=k * 10, **r)
            f.write(json.dumps(r, separators=(",", ":")) + "\n")
            k += 1
        rec({"t": "open", "conn": "c1", "path": "/ws", "auth": "query"})
        rec({"t": "send", "conn": "c1", "frame": {"type": "chat.send", "sessionId": SID,
                                                   "content": "hello"}})
        for i in range(1, n + 1):
            ev = {"kind": "stream_delta", "content": "x" * 100, "sessionId": SID,
                  "id": "ev-same" if same_id else "ev-%d" % i,
                  "timestamp": "2026-12-03T00:00:00.000Z", "provider": "claude", "seq": i}
            rec({"t": "recv", "conn": "c1", "frame": ev})
        rec({"t": "recv", "conn": "c1", "frame": {
            "kind": "complete", "exitCode": 0, "success": True, "aborted": False, "sessionId": SID,
            "id": "ev-same" if same_id else "ev-done", "timestamp": "2026-12-03T00:00:00.000Z",
            "provider": "claude", "actualSessionId": SID, "seq": n + 1}})
        rec({"t": "send", "conn": "c1", "sentinel": True,
             "frame": {"type": "chat.subscribe", "sessions": [{"sessionId": "gwspec-sentinel-1"}]}})
        rec({"t": "recv", "conn": "c1", "sentinel": True, "frame": {
            "kind": "chat_subscribed", "sessionId": "gwspec-sentinel-1", "isProcessing": False,
            "lastSeq": 0, "pendingPermissions": [], "timestamp": "2026-12-03T00:00:00.000Z"}})
        rec({"t": "close", "conn": "c1", "by": "client", "code": 1000, "reason": ""})
    return n + 7


def measure(binary, path):
    r = subprocess.run(["/usr/bin/time", "-f", "%e %M", binary, "check", "--json", path],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    last = r.stderr.strip().splitlines()[-1].split()
    return float(last[0]), int(last[1]), r.returncode


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="2000,8000,32000,128000")
    ap.add_argument("--bin", default=os.environ.get("GWSPEC_BIN", "bin") + "/gwspec")
    ap.add_argument("--keep", default=None)
    a = ap.parse_args()
    sizes = [int(s) for s in a.sizes.split(",")]
    d = a.keep or tempfile.mkdtemp(prefix="gwspec-bench-check-")
    os.makedirs(d, exist_ok=True)
    print("gwspec check on one streaming run (100-byte deltas), %s" % a.bin)
    print("%-8s %9s %9s %12s %10s %5s" % ("shape", "records", "wall s", "records/s", "peak MiB",
                                           "exit"))
    for shape in ("unique", "same-id"):
        per = []
        for n in sizes:
            p = os.path.join(d, "%s-%d.jsonl" % (shape, n))
            recs = write(p, n, shape == "same-id")
            wall, rss, rc = measure(a.bin, p)
            per.append(max(wall, 0.005) / recs)
            print("%-8s %9d %9.2f %12.0f %10.1f %5d" % (shape, recs, wall, recs / max(wall, 0.005),
                                                      rss / 1024.0, rc))
            if not a.keep:
                os.unlink(p)
        print("%-8s time per record, largest / smallest size: %.2f (1.0 = linear)"
              % (shape, per[-1] / per[0]))
    if not a.keep:
        os.rmdir(d)
    return 0


if __name__ == "__main__":
    sys.exit(main())
