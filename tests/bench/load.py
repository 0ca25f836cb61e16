#!/usr/bin/python3
"""tests/bench/load.py: the gateway benchmarks of issue 16 (make bench), run with `gwspec load`.

Each workload runs --rounds times (default 3) and is reported as its median and range:
  relay-1     one run of --events events (100 content bytes) to one socket: events/s
  relay-10    the same run to 10 sockets (the sender and 9 observers): events/s delivered in
              all and per socket
  latency     a paced run at half of relay-1's median rate: emit->receive p50/p99/p99.9 (the
              emit time is the harness's release of the event's chunk, see gwspec load --help)
  idle        --idle connections (default 10,000) held open 3 s with no run: the gateway's RSS
              per connection, its CPU while they idle, connection setup time
Every round also checks the streaming invariants live: a violation fails the benchmark.
The gateway is tests/bench/bench-target.yaml (the reference gateway, ping every 30 s).
Writes reports/bench.json. Usage: load.py [--bin bin/gwspec] [--rounds N] [--events N]
[--idle N] [--out reports/bench.json]
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TARGET = os.path.join(HERE, "bench-target.yaml")


def load(gw, tmp, args):
    out = os.path.join(tmp, "r.json")
    cmd = [gw, "load", "--target", TARGET, "--json", out] + [str(a) for a in args]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if p.returncode != 0:
        sys.stderr.write(p.stdout)
        sys.exit("bench: %s exited %d" % (" ".join(cmd), p.returncode))
    with open(out) as f:
        r = json.load(f)
    r["command"] = "gwspec load " + " ".join(str(a) for a in args)
    return r


def summary(values):
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "rounds": values}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="bin/gwspec")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--events", type=int, default=20000)
    ap.add_argument("--idle", type=int, default=10000)
    ap.add_argument("--out", default="reports/bench.json")
    a = ap.parse_args()
    # room for the idle sockets: the harness holds one end, the gateway the other
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = a.idle + 1024
    try:  # the hard limit too, where allowed (root)
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(want, hard), max(want, hard)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < want:
        sys.exit("bench: %d idle connections need ulimit -n %d (the hard limit is %d)"
                 % (a.idle, want, hard))
    res = {"rounds": a.rounds, "events": a.events, "bytes": 100, "workloads": {}}
    w = res["workloads"]
    with tempfile.TemporaryDirectory(prefix="gwspec-bench-") as tmp:
        rows = {"relay-1": [], "relay-10": [], "latency": [], "idle": []}
        for i in range(a.rounds):  # interleaved: a box that gets busier hurts every workload
            rows["relay-1"].append(load(a.bin, tmp, ["--runs", 1, "--events", a.events,
                                                     "--bytes", 100, "--seed", i + 1]))
            rows["relay-10"].append(load(a.bin, tmp, ["--runs", 1, "--events", a.events // 4,
                                                      "--bytes", 100, "--fanout", 10,
                                                      "--seed", i + 1]))
        peak = statistics.median(r["events_per_s"] for r in rows["relay-1"])
        half = int(peak / 2)
        for i in range(a.rounds):
            rows["latency"].append(load(a.bin, tmp, ["--runs", 1, "--events", max(half * 2, 1000),
                                                     "--bytes", 100, "--rate", half,
                                                     "--seed", i + 1]))
            rows["idle"].append(load(a.bin, tmp, ["--concurrency", 0, "--idle", a.idle,
                                                  "--duration", "3s", "--seed", i + 1]))
        w["relay-1"] = {"command": rows["relay-1"][0]["command"],
                        "events_per_s": summary([r["events_per_s"] for r in rows["relay-1"]]),
                        "gateway_cpu_pct": summary([r["gateway"].get("cpu_pct", 0)
                                                    for r in rows["relay-1"]])}
        w["relay-10"] = {"command": rows["relay-10"][0]["command"],
                         "events_per_s": summary([r["events_per_s"] for r in rows["relay-10"]]),
                         "events_per_s_per_socket": summary([r["events_per_s"] / 10
                                                             for r in rows["relay-10"]]),
                         "gateway_cpu_pct": summary([r["gateway"].get("cpu_pct", 0)
                                                     for r in rows["relay-10"]])}
        w["latency"] = {"command": rows["latency"][0]["command"], "rate": half,
                        "emit_time": rows["latency"][0]["latency_us"]["emit_time"]}
        for p in ("p50", "p99", "p99_9"):
            w["latency"][p + "_us"] = summary([r["latency_us"][p] for r in rows["latency"]])
        w["idle"] = {"command": rows["idle"][0]["command"], "connections": a.idle,
                     "kib_per_conn": summary([r["gateway"]["kib_per_idle_conn"]
                                              for r in rows["idle"]]),
                     "peak_rss_kib": summary([r["gateway"]["peak_rss_kib"] for r in rows["idle"]]),
                     "gateway_cpu_pct_idle": summary([r["gateway"]["cpu_pct"]
                                                      for r in rows["idle"]]),
                     "connect_p50_us": summary([r["connect_us"]["p50"] for r in rows["idle"]]),
                     "connect_p99_us": summary([r["connect_us"]["p99"] for r in rows["idle"]])}
    os.makedirs(os.path.dirname(a.out) or ".", exist_ok=True)
    with open(a.out, "w") as f:
        json.dump(res, f, indent=2)

    def rng(s, fmt="%.0f"):
        return (fmt + " (" + fmt + " .. " + fmt + ")") % (s["median"], s["min"], s["max"])
    print("relay to 1 socket     %s events/s   [%s]" % (rng(w["relay-1"]["events_per_s"]),
                                                       w["relay-1"]["command"]))
    print("relay to 10 sockets   %s events/s in all, %s per socket   [%s]"
          % (rng(w["relay-10"]["events_per_s"]), rng(w["relay-10"]["events_per_s_per_socket"]),
             w["relay-10"]["command"]))
    print("latency at %d/s      p50 %s us, p99 %s us, p99.9 %s us   [%s]"
          % (half, rng(w["latency"]["p50_us"]), rng(w["latency"]["p99_us"]),
             rng(w["latency"]["p99_9_us"]), w["latency"]["command"]))
    print("%d idle connections %s KiB each, connect p50 %s us, p99 %s us, gateway CPU while "
          "they idle %s%%   [%s]"
          % (a.idle, rng(w["idle"]["kib_per_conn"], "%.2f"), rng(w["idle"]["connect_p50_us"]),
             rng(w["idle"]["connect_p99_us"]), rng(w["idle"]["gateway_cpu_pct_idle"], "%.1f"),
             w["idle"]["command"]))
    print("medians (min .. max) over %d rounds; written to %s" % (a.rounds, a.out))


if __name__ == "__main__":
    main()
