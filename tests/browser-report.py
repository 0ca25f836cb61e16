#!/usr/bin/python3
"""tests/browser-report.py [--out DIR] [--shot FILE]: the HTML report in a real browser.

Runs gwspec against the reference gateway with one mutant (dup-complete: cases/5-terminal and
12.2.2), writes
the --html and --json reports, opens the HTML page in headless Chromium (Debian's `chromium`) and
drives it over the DevTools protocol on --remote-debugging-pipe (file descriptors 3 and 4, one
JSON message per NUL byte: no websocket, no library). It checks:

  - the page loads with no console error, no uncaught exception and no network request (the one
    request allowed is the file:// page itself);
  - every failing case's diagram has one arrow (<g class="rec">) per transcript record of its
    JSON report (records the diagram leaves out are counted on the <svg>), in causal order;
  - every witness record of a failure is an arrow with class "wit", drawn red, with an id the
    failure's witness link points at; clicking it shows that record's JSON;
  - the "Not OK" list links each case to a witness arrow (one click to the broken frame).

Screenshots of the front page and of a failing case's diagram go to DIR (default
build/browser/, ignored by git); --shot FILE also writes the diagram's screenshot there (the
README's picture). Chromium is installed with apt-get when missing and running as root; otherwise
the test is skipped with a message (exit 0). Exit 1 on a failed check, 2 when it cannot run.
Run with /usr/bin/python3 from the repository root after `make`.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--remote-debugging-pipe"]
MUTANT = "dup-complete"
CASES = ["cases/5-terminal", "cases/12-regressions/12.2.2-provider-completes-twice.yaml"]
SHOT_CASE = "12.2.2-provider-completes-twice"  # a barrier, a sentinel, an expected frame


def find_chromium():
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("browser-report: installing chromium (apt-get)", flush=True)
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        if subprocess.call(["apt-get", "install", "-y", "-qq", "chromium"], env=env,
                           stdout=subprocess.DEVNULL) != 0:
            subprocess.call(["apt-get", "update", "-qq"], env=env)
            subprocess.call(["apt-get", "install", "-y", "-qq", "chromium"], env=env,
                            stdout=subprocess.DEVNULL)
        return shutil.which("chromium")
    return None


class Browser:
    """Chromium with the DevTools protocol on a pipe: we write to its fd 3, read its fd 4."""

    def __init__(self, exe, profile, log):
        to_child_r, self.to_child = os.pipe()
        self.from_child, from_child_w = os.pipe()

        def on_3_and_4():  # in the child: where --remote-debugging-pipe looks (dup2 clears CLOEXEC)
            r, w = os.dup(to_child_r), os.dup(from_child_w)  # neither may be 3 or 4 when moved
            os.dup2(r, 3)
            os.dup2(w, 4)

        # close_fds=False: the close would take 3 and 4 too; Python's own fds are not inheritable
        self.proc = subprocess.Popen([exe] + FLAGS + ["--user-data-dir=" + profile, "about:blank"],
                                     preexec_fn=on_3_and_4, close_fds=False,
                                     stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
        os.close(to_child_r)
        os.close(from_child_w)
        self.buf = b""
        self.next_id = 0
        self.events = []

    def _read_message(self, deadline):
        while b"\0" not in self.buf:
            if time.monotonic() > deadline:
                raise TimeoutError("no answer from chromium")
            chunk = os.read(self.from_child, 1 << 16)
            if not chunk:
                raise RuntimeError("chromium closed the pipe (exit %s)" % self.proc.poll())
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method, params=None, session=None, timeout=30):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.to_child, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            m = self._read_message(deadline)
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise RuntimeError("%s: %s" % (method, m["error"]))
                return m.get("result", {})
            self.events.append(m)

    def wait_event(self, method, timeout=30):
        deadline = time.monotonic() + timeout
        for i, m in enumerate(self.events):
            if m.get("method") == method:
                return self.events.pop(i)
        while True:
            m = self._read_message(deadline)
            if m.get("method") == method:
                return m
            self.events.append(m)

    def close(self):
        try:
            self.call("Browser.close", timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def evaluate(b, session, expr):
    r = b.call("Runtime.evaluate", {"expression": expr, "returnByValue": True}, session)
    if "exceptionDetails" in r:
        raise RuntimeError("evaluate: %s" % r["exceptionDetails"])
    return r["result"].get("value")


def screenshot(b, session, path, clip=None):
    params = {"format": "png"}
    if clip:  # a region of the viewport; without a clip, the viewport
        params["clip"] = dict(clip, scale=1)
    data = b.call("Page.captureScreenshot", params, session)["data"]
    import base64
    with open(path, "wb") as f:
        f.write(base64.b64decode(data))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="build/browser")
    ap.add_argument("--shot", help="also write the failing case's diagram screenshot here")
    args = ap.parse_args()
    t0 = time.monotonic()
    gwspec = os.environ.get("GWSPEC", "bin/gwspec")
    if not os.access(gwspec, os.X_OK):
        print("browser-report: %s is not built (run make)" % gwspec, file=sys.stderr)
        return 2
    exe = find_chromium()
    if not exe:
        print("browser-report: SKIPPED: no chromium, and not root to install it "
              "(apt-get install chromium)")
        return 0
    os.makedirs(args.out, exist_ok=True)
    html = os.path.abspath(os.path.join(args.out, "report.html"))
    jdir = os.path.join(args.out, "json")
    shutil.rmtree(jdir, ignore_errors=True)
    run = subprocess.run([gwspec, "run", "--seed", "17", "--mutant", MUTANT, "--html", html,
                          "--json", jdir] + CASES, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True)
    if run.returncode != 1:
        print(run.stdout)
        print("browser-report: the run against --mutant %s exited %d, not 1" %
              (MUTANT, run.returncode), file=sys.stderr)
        return 2
    failing = {}
    for name in sorted(os.listdir(os.path.join(jdir, "cases"))):
        with open(os.path.join(jdir, "cases", name), encoding="utf-8") as f:
            c = json.load(f)
        if c["verdict"] != "OK":
            failing[c["id"]] = c
    problems = []
    profile = tempfile.mkdtemp(prefix="gwspec-chromium-")
    log = open(os.path.join(args.out, "chromium.log"), "w")
    b = Browser(exe, profile, log)
    try:
        target = b.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        s = b.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            b.call(domain + ".enable", session=s)
        b.call("Emulation.setDeviceMetricsOverride",
               {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False}, s)
        t_load = time.monotonic()
        b.call("Page.navigate", {"url": "file://" + html}, s)
        b.wait_event("Page.loadEventFired")
        load_ms = (time.monotonic() - t_load) * 1000
        facts = evaluate(b, s, r"""(() => {
          const out = {};
          for (const d of document.querySelectorAll('div.case')) {
            const svg = d.querySelector('svg.seq');
            const id = d.querySelector('h3 .mono').textContent;
            if (!svg) { out[id] = null; continue; }
            const recs = [...svg.querySelectorAll('g.rec')];
            out[id] = {
              anchor: d.id,
              arrows: recs.length,
              leftOut: +svg.dataset.leftOut,
              order: recs.map(g => +g.dataset.n),
              wit: recs.filter(g => g.classList.contains('wit')).map(g => ({
                n: +g.dataset.n, id: g.id,
                stroke: getComputedStyle(g.querySelector('line.arrow,circle.mark') || g).stroke})),
              links: [...d.querySelectorAll('div.failure a')].map(a => a.getAttribute('href')),
            };
          }
          out.__notok = [...document.querySelectorAll('h2 + table a')].map(a => a.getAttribute('href'));
          return out;
        })()""")
        for cid, c in failing.items():
            f = facts.get(cid)
            if not f:
                problems.append("%s: no diagram" % cid)
                continue
            records = len(c.get("transcript", [])) - 1
            if f["arrows"] + f["leftOut"] != records:
                problems.append("%s: %d arrows + %d left out, the transcript has %d records" %
                                (cid, f["arrows"], f["leftOut"], records))
            want = sorted({w for x in c["failures"] for w in x.get("witness", [])})
            got = sorted({w["n"] for w in f["wit"]})
            if want != got:
                problems.append("%s: witness arrows %s, the failures name %s" % (cid, got, want))
            for w in f["wit"]:
                if w["stroke"] != "rgb(192, 28, 40)":
                    problems.append("%s: witness %d drawn %s, not red" % (cid, w["n"], w["stroke"]))
                if "#" + w["id"] not in f["links"]:
                    problems.append("%s: no failure links to witness arrow %s" % (cid, w["id"]))
            # causal order: every provider record the arrows show before the frame it caused
            by_n = {r.get("n"): r for r in c["transcript"][1:]}
            seen_emit = 0
            for n in f["order"]:
                r = by_n.get(n, {})
                if r.get("t") == "ctl" and (r.get("msg") or {}).get("type") == "emitted":
                    seen_emit += 1
                fr = r.get("frame") or {}
                if r.get("t") == "recv" and fr.get("kind") == "stream_delta" and seen_emit == 0:
                    problems.append("%s: stream_delta (record %d) drawn before any emit" % (cid, n))
            if not any(h.startswith("#" + f["anchor"] + ":d") for h in facts["__notok"]):
                problems.append("%s: the Not OK list does not link to a witness arrow" % cid)
        screenshot(b, s, os.path.join(args.out, "front.png"))
        shot = failing.get(SHOT_CASE) and facts.get(SHOT_CASE)
        if shot:
            # a viewport as tall as the page: nothing scrolls or reflows while it is measured
            # and captured (captureBeyondViewport would resize it, and the page reflow, between)
            size = b.call("Page.getLayoutMetrics", session=s)["cssContentSize"]
            b.call("Emulation.setDeviceMetricsOverride",
                   {"width": 1280, "height": int(size["height"]) + 1, "deviceScaleFactor": 1,
                    "mobile": False}, s)
            rect = evaluate(b, s, r"""(() => {
              const d = document.getElementById(%s).querySelector('div.diagram');
              const r = d.getBoundingClientRect();
              return {x: r.left + scrollX, y: r.top + scrollY, width: r.width, height: r.height};
            })()""" % json.dumps(shot["anchor"]))
            diag = os.path.join(args.out, "diagram.png")
            screenshot(b, s, diag, rect)
            if args.shot:
                shutil.copyfile(diag, args.shot)
        # a click on a witness arrow shows its JSON
        shot = failing.get(SHOT_CASE) and facts.get(SHOT_CASE)
        if not shot:
            problems.append("%s did not fail against %s" % (SHOT_CASE, MUTANT))
        else:
            wid = shot["wit"][-1]["id"]
            shown = evaluate(b, s, r"""(() => {
              const g = document.getElementById(%s);
              g.dispatchEvent(new MouseEvent('click', {bubbles: true}));
              const p = g.closest('div.case').querySelector('pre.json-view');
              return p && !p.hidden ? p.textContent : null;
            })()""" % json.dumps(wid))
            n = shot["wit"][-1]["n"]
            if not shown or ('"n": %d' % n) not in shown:
                problems.append("clicking witness %s shows %r" % (wid, (shown or "")[:80]))
        # let late events (a fetch, an error) arrive, then read what the page did
        evaluate(b, s, "new Promise(r => setTimeout(r, 200))")
        b.call("Runtime.evaluate", {"expression": "1"}, s)
        for m in b.events:
            meth, p = m.get("method"), m.get("params", {})
            if meth == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                problems.append("console error: %s" % p.get("args"))
            elif meth == "Runtime.exceptionThrown":
                problems.append("exception: %s" % p.get("exceptionDetails", {}).get("text"))
            elif meth == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                problems.append("log error: %s" % p["entry"].get("text"))
            elif meth == "Network.requestWillBeSent":
                url = p.get("request", {}).get("url", "")
                if url != "file://" + html:
                    problems.append("network request: %s" % url[:120])
    finally:
        b.close()
        log.close()
        shutil.rmtree(profile, ignore_errors=True)
    size = os.path.getsize(html)
    print("browser-report: %d failing case(s) against --mutant %s, %d arrows; report %d bytes, "
          "loaded in %.0f ms; screenshots in %s; %.1f s in all" %
          (len(failing), MUTANT, sum(facts[c]["arrows"] for c in failing if facts.get(c)), size,
           load_ms, args.out, time.monotonic() - t0))
    for p in problems:
        print("  FAIL " + p)
    print("browser-report: %s" % ("FAILED" if problems else "ok"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
