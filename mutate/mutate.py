#!/usr/bin/python3
"""mutate/mutate.py: automatic source mutation of the reference gateway (`make mutate`).

1. Points: every mutation point of the functions in scope (mutate/areas.txt) of
   reference-server/*.c, from libclang's AST (mutate/points.py), each with a stable key
   [file, function, operator, occurrence, original, mutant] and a short id (sha1 of the key).
   Equivalent mutants (mutate/equivalents.txt) are set aside; an entry that matches no mutant
   is an error.
2. Coverage, computed once and cached in build-cov/ (keyed on a hash of the gateway's, the
   harness's and the catalog's sources): a gcov-instrumented gwspec-gateway runs every case of
   the catalog alone; case -> lines it executes. `--coverage aggregate` runs the catalog once and
   only says whether a line is executed (then every case runs for a covered mutant).
3. Mutants: each worker (-j, default 2) has a private copy of the gateway's sources and objects
   (build-mutate/wN/): it writes the mutated file there (never in the working tree), rebuilds
   gwspec-gateway (only the mutated object is compiled), runs `gwspec run --fail-fast` over the
   cases that cover the mutated lines (the cases that killed mutants of the same function first,
   then the fastest), and puts the clean object back. Result: killed (a case FAILED or was
   ERROR, or the gateway did not start), survived, not covered (no case executes the line),
   timeout (the mutant's runs took longer than the budget: counted as killed, reported apart),
   build error (excluded from the score).
4. Reports: reports/mutation.md and reports/mutation.json.

Usage: mutate/mutate.py [-j N] [--sample N --seed S] [--only ID...] [--file F] [--list]
"""

import argparse
import concurrent.futures as cf
import hashlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import points as P  # noqa: E402

GW_DIR = "reference-server"
COPY_DIRS = ["lib", "reference-server", "mock-providers"]
COV_DIR = "build-cov"
WORK_DIR = "build-mutate"
REPORT_DIR = "reports"
CASE_TIMEOUT_MS = 2000   # --timeout-ms of every run: a wait that times out fails in 2 s, not 5
PYTHON = os.environ.get("PYTHON", "/usr/bin/python3")


def log(msg):
    print("mutate: " + msg, flush=True)


def die(msg, code=2):
    print("mutate: error: " + msg, file=sys.stderr, flush=True)
    sys.exit(code)


# --- scope and areas ------------------------------------------------------------------------
def load_areas(path):
    rules = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            s = line.split("#", 1)[0].strip()
            if not s:
                continue
            parts = s.split(None, 2)
            if len(parts) < 3:
                die("%s:%d: want FILE FUNCTIONS AREA" % (path, n))
            fname, funcs, area = parts
            if not os.path.exists(os.path.join(ROOT, GW_DIR, fname)):
                die("%s:%d: no such file %s/%s" % (path, n, GW_DIR, fname))
            rules.append({"file": fname, "funcs": funcs.split(","), "area": area.split()[0],
                          "title": area, "where": "%s:%d" % (path, n), "used": False})
    return rules


def area_of(rules, fname, func):
    for r in rules:
        if r["file"] == fname and ("*" in r["funcs"] or func in r["funcs"]):
            r["used"] = True
            return r["area"]
    return None


def pkg_cflags():
    try:
        out = subprocess.run(["pkg-config", "--cflags", "libwebsockets", "jansson", "libfyaml",
                              "sqlite3"], capture_output=True, text=True, check=True).stdout
        return out.split()
    except Exception:
        return []


def collect_points(rules):
    args = P.clang_args([os.path.join(ROOT, "lib"), os.path.join(ROOT, GW_DIR)], pkg_cflags())
    files = sorted({r["file"] for r in rules})
    allpts, excluded = [], {}
    for fname in files:
        path = os.path.join(ROOT, GW_DIR, fname)

        def wanted(func, fname=fname):
            a = area_of(rules, fname, func)
            return a is not None and a != "-"

        pts, excl, funcs = P.find_points(path, fname, wanted, args)
        for r in rules:
            if r["file"] == fname and "*" not in r["funcs"]:
                for fn in r["funcs"]:
                    if fn not in funcs:
                        die("%s: function %s is not defined in %s" % (r["where"], fn, fname))
        for p in pts:
            p["area"] = area_of(rules, fname, p["function"])
        for k, v in excl.items():
            excluded.setdefault(fname, {})[k] = v
        allpts.extend(pts)
    return allpts, excluded


# --- equivalents ----------------------------------------------------------------------------
def load_equivalents(path, pts):
    """{id: reason}; an entry that matches no mutant, or has no reason, is an error."""
    by_key = {P.key_id(p["key"]): p for p in pts}
    out, errs = {}, []
    if not os.path.exists(path):
        return out
    dec = json.JSONDecoder()
    with open(path) as f:
        for n, line in enumerate(f, 1):
            s = line.strip()
            if not s or s.startswith("#"):
                continue
            where = "%s:%d" % (os.path.relpath(path, ROOT), n)
            try:
                key, end = dec.raw_decode(s)
            except ValueError as e:
                errs.append("%s: not a key (a JSON array) at the start of the line: %s" % (where, e))
                continue
            reason = s[end:].strip()
            if not (isinstance(key, list) and len(key) == 6):
                errs.append("%s: a key is [file, function, op, occurrence, original, mutant]" % where)
                continue
            if len(reason) < 20:
                errs.append("%s: the reason must be an argument (why no client can observe the "
                            "difference), not '%s'" % (where, reason))
                continue
            kid = P.key_id(key)
            if kid not in by_key:
                errs.append("%s: no mutant has this key any more (the code changed: look at the "
                            "mutant again and rewrite or delete the entry): %s"
                            % (where, json.dumps(key)))
                continue
            if kid in out:
                errs.append("%s: the mutant %s is listed twice" % (where, kid))
            out[kid] = reason
    if errs:
        for e in errs:
            print(e, file=sys.stderr)
        die("%d problem(s) in %s" % (len(errs), os.path.relpath(path, ROOT)))
    return out


# --- builds ---------------------------------------------------------------------------------
def run(cmd, cwd=ROOT, env=None, timeout=None):
    if cmd[0] == "make" and "MAKELEVEL" in os.environ:
        # Our trees are ours: a parent make's command-line variables (make asan passes BUILD=,
        # BIN=, OPT= and SAN= down, in MAKEFLAGS and exported) must not retarget bin/gwspec
        # or sanitize the plain pass.
        drop = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "BUILD", "BIN", "OPT", "SAN")
        env = {k: v for k, v in (env or os.environ).items() if k not in drop}
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


COV_FORMAT = "2"  # bump when what a coverage map holds changes (2: strict cases too)


def sources_hash(extra_dirs):
    h = hashlib.sha1((COV_FORMAT + json.dumps(CATALOGS)).encode())  # the catalogs run
    for d in extra_dirs:
        base = os.path.join(ROOT, d)
        for dp, dns, fns in os.walk(base):
            dns.sort()
            for fn in sorted(fns):
                if fn.endswith((".c", ".h", ".yaml", ".yml", ".json", ".jsonl", ".md")):
                    p = os.path.join(dp, fn)
                    h.update(os.path.relpath(p, ROOT).encode())
                    with open(p, "rb") as f:
                        h.update(f.read())
    return h.hexdigest()[:16]


def make_harness():
    r = run(["make", "-s", "bin/gwspec"])
    if r.returncode:
        die("make bin/gwspec failed:\n" + r.stdout[-2000:] + r.stderr[-2000:])


def build_cov():
    r = run(["make", "-s", "BUILD=" + COV_DIR, "BIN=" + COV_DIR + "/bin", "OPT=-O0 -g",
             "SAN=--coverage", COV_DIR + "/bin/gwspec-gateway"])
    if r.returncode:
        die("the coverage build failed:\n" + r.stdout[-3000:] + r.stderr[-3000:])


# The catalogs a pass runs: the chatgw/1 cases against the default profile, and the Dispatch
# dialect's against the reference gateway started with --dialect dispatch. A case's catalog
# gives the arguments every `gwspec run` of it takes (CASE_ARGS, filled by list_cases); `gwspec
# list` takes only its --spec-version.
CATALOGS = [[], ["--spec-version", "dispatch-ws/1",
                 "--target", "fixtures/targets/reference-dispatch.yaml"]]
CASE_ARGS = {}


def list_cases():
    cases = []
    for args in CATALOGS:
        r = run(["bin/gwspec", "list", "--json"] + args[:2])
        if r.returncode:
            die("gwspec list --json %s failed: %s" % (" ".join(args), r.stderr[-1000:]))
        # strict (SHOULD-level) cases too: a mutant they catch is caught (graded NON-STRICT)
        for c in json.loads(r.stdout)["cases"]:
            if c["id"] in CASE_ARGS:
                die("case id %s is in two catalogs" % c["id"])
            CASE_ARGS[c["id"]] = args
            cases.append(c)
    return cases


def gcov_lines(prefix_dir, want_files):
    """{file: set(lines executed)} from the .gcda files written under prefix_dir."""
    objdir_abs = os.path.join(ROOT, COV_DIR, GW_DIR)
    gdir = prefix_dir + objdir_abs
    out = {}
    if not os.path.isdir(gdir):
        return out
    gcdas = []
    for f in want_files:
        stem = f[:-2]
        gcda = os.path.join(gdir, stem + ".gcda")
        if os.path.exists(gcda):
            link = os.path.join(gdir, stem + ".gcno")
            if not os.path.exists(link):
                os.symlink(os.path.join(objdir_abs, stem + ".gcno"), link)
            gcdas.append(gcda)
    if not gcdas:
        return out
    r = run(["gcov", "--json-format", "--stdout", "-o", gdir] + gcdas, cwd=ROOT)
    for line in r.stdout.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        d = json.loads(line)
        for f in d.get("files", []):
            name = os.path.basename(f["file"])
            if not f["file"].startswith(GW_DIR + "/") or name not in want_files:
                continue
            s = out.setdefault(name, set())
            for ln in f["lines"]:
                if ln["count"] > 0:
                    s.add(ln["line_number"])
    return out


def run_case_cov(case, tmp, want_files, seed):
    env = dict(os.environ, GCOV_PREFIX=tmp, GCOV_PREFIX_STRIP="0",
               GWSPEC_GATEWAY=os.path.join(ROOT, COV_DIR, "bin", "gwspec-gateway"))
    t0 = time.time()
    r = run(["bin/gwspec", "run", "--strict", "--seed", str(seed), "--timeout-ms",
             str(CASE_TIMEOUT_MS)] + CASE_ARGS.get(case["id"], []) +
            ["--filter", case["id"], case["file"]], env=env, timeout=300)
    dt = time.time() - t0
    lines = gcov_lines(tmp, want_files)
    shutil.rmtree(tmp, ignore_errors=True)
    ok = r.returncode == 0 and not re.search(r"^\s+NON-STRICT\s", r.stdout, re.M)
    return {"ok": ok, "seconds": round(dt, 3),
            "lines": {f: sorted(v) for f, v in lines.items()},
            "output": "" if r.returncode == 0 else (r.stdout[-1500:] + r.stderr[-500:])}


def coverage(mode, want_files, jobs, seed, cases):
    """{'mode', 'cases': {id: {ok, seconds, lines}}} for per-case, or {'mode','lines'}."""
    os.makedirs(os.path.join(ROOT, COV_DIR), exist_ok=True)
    h = sources_hash(["reference-server", "lib", "mock-providers", "harness", "cases",
                      "fixtures", "spec"])
    cache = os.path.join(ROOT, COV_DIR, "coverage-%s-%s.json" % (mode, h))

    if os.path.exists(cache):
        with open(cache) as f:
            log("coverage: %s (cached)" % os.path.relpath(cache, ROOT))
            return json.load(f)
    if mode == "aggregate":
        pc = os.path.join(ROOT, COV_DIR, "coverage-per-case-%s.json" % h)
        if os.path.exists(pc):
            with open(pc) as f:
                log("coverage: %s (cached)" % os.path.relpath(pc, ROOT))
                return json.load(f)
    t0 = time.time()
    build_cov()
    tmproot = os.path.join(ROOT, COV_DIR, "gcda")
    shutil.rmtree(tmproot, ignore_errors=True)
    if mode == "aggregate":
        env = dict(os.environ, GCOV_PREFIX=tmproot + "/all", GCOV_PREFIX_STRIP="0",
                   GWSPEC_GATEWAY=os.path.join(ROOT, COV_DIR, "bin", "gwspec-gateway"))
        failed = []
        for args in CATALOGS:
            r = run(["bin/gwspec", "run", "--strict", "-j", str(jobs), "--seed", str(seed),
                     "--timeout-ms", str(CASE_TIMEOUT_MS)] + args, env=env, timeout=1800)
            failed += [ln.split()[1] for ln in r.stdout.splitlines()
                       if ln.startswith(("  FAILED", "  ERROR", "  NON-STRICT"))]
        lines = gcov_lines(tmproot + "/all", want_files)
        data = {"mode": "aggregate", "hash": h, "failed": failed,
                "lines": {f: sorted(v) for f, v in lines.items()}}
    else:
        data = {"mode": "per-case", "hash": h, "cases": {}}
        log("coverage: %d cases, each alone against build-cov/bin/gwspec-gateway (-j %d)"
            % (len(cases), jobs))
        with cf.ThreadPoolExecutor(max_workers=jobs) as ex:
            futs = {ex.submit(run_case_cov, c, "%s/%d" % (tmproot, i), want_files, seed): c
                    for i, c in enumerate(cases)}
            done = 0
            for fu in cf.as_completed(futs):
                c = futs[fu]
                data["cases"][c["id"]] = fu.result()
                done += 1
                if done % 50 == 0:
                    log("coverage: %d/%d cases" % (done, len(cases)))
        bad = [i for i, v in data["cases"].items() if not v["ok"]]
        data["failed"] = sorted(bad)
    data["seconds"] = round(time.time() - t0, 1)
    shutil.rmtree(tmproot, ignore_errors=True)
    with open(cache + ".tmp", "w") as f:
        json.dump(data, f)
    os.replace(cache + ".tmp", cache)
    log("coverage: %s in %.0f s" % (mode, data["seconds"]))
    return data


# --- workers --------------------------------------------------------------------------------
# SAN= explicitly: under `make asan` the sanitizer flags reach this make through MAKEFLAGS, and a
# mutant that drops a free or a decref is meant to leak; its report is the mutation, not a bug
# of the project, so mutant gateways are built without sanitizers (the harness keeps them).
MAKE_VARS = ["BUILD=build", "BIN=bin", "OPT=-O0", "WARN=-w", "SAN="]
# --san: the mutant gateways are built with ASan and UBSan, and a sanitizer report from one is a
# kill. It is the oracle for mutants whose only effect is a memory error that does no visible
# harm under glibc (a buffer grown one byte short): undefined behaviour, not an equivalent. Leak
# detection stays off: a mutant that drops a free leaks by design, and no client sees a leak.
SAN_FLAGS = "-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
SAN_ENV = {"ASAN_OPTIONS": "detect_leaks=0:halt_on_error=1:abort_on_error=0",
           "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1"}


SANITIZED = [False]


def use_sanitizers():
    global MAKE_VARS
    SANITIZED[0] = True
    MAKE_VARS = [v for v in MAKE_VARS if not v.startswith("SAN=")] + ["SAN=" + SAN_FLAGS]


def prepare_base():
    """build-mutate/base: a copy of the gateway's sources and its objects, built once."""
    base = os.path.join(ROOT, WORK_DIR, "base")
    stamp = os.path.join(base, ".srchash")
    h = sources_hash(COPY_DIRS) + hashlib.sha1(open(os.path.join(ROOT, "Makefile"), "rb").read()
                                               + " ".join(MAKE_VARS).encode()).hexdigest()[:8]
    if os.path.exists(stamp) and open(stamp).read() == h:
        return base
    shutil.rmtree(base, ignore_errors=True)
    os.makedirs(base)
    shutil.copy2(os.path.join(ROOT, "Makefile"), base)
    for d in COPY_DIRS:
        shutil.copytree(os.path.join(ROOT, d), os.path.join(base, d),
                        ignore=shutil.ignore_patterns("tests"))
    r = run(["make", "-s", "-j2"] + MAKE_VARS + ["bin/gwspec-gateway"], cwd=base)
    if r.returncode:
        die("the clean copy does not build:\n" + r.stderr[-3000:])
    with open(stamp, "w") as f:
        f.write(h)
    return base


class Worker:
    def __init__(self, n, base):
        self.n = n
        self.dir = os.path.join(ROOT, WORK_DIR, "w%d" % n)
        shutil.rmtree(self.dir, ignore_errors=True)
        shutil.copytree(base, self.dir, symlinks=True)
        self.gateway = os.path.join(self.dir, "bin", "gwspec-gateway")

    def obj(self, fname):
        return os.path.join(self.dir, "build", GW_DIR, fname[:-2] + ".o")

    def src(self, fname):
        return os.path.join(self.dir, GW_DIR, fname)

    def build(self, point, original):
        src, obj = self.src(point["file"]), self.obj(point["file"])
        shutil.copy2(obj, obj + ".clean")
        st = os.stat(src)
        with open(src, "wb") as f:
            f.write(P.apply(original, point))
        now = time.time()
        os.utime(src, (now, max(now, os.stat(obj).st_mtime + 1)))
        r = run(["make", "-s"] + MAKE_VARS + ["bin/gwspec-gateway"], cwd=self.dir, timeout=300)
        ok = r.returncode == 0
        # put the clean source and object back: the next mutant compiles only its own file
        with open(src, "wb") as f:
            f.write(original)
        os.utime(src, (st.st_atime, st.st_mtime))
        os.replace(obj + ".clean", obj)
        t = time.time()
        os.utime(obj, (t, t))
        if not ok:
            err = [ln for ln in (r.stdout + r.stderr).splitlines() if "error" in ln]
            return (err[0] if err else (r.stderr or r.stdout)[-300:]).strip()
        return None


LIVE = set()            # the gwspec runs in flight, stopped on SIGINT/SIGTERM
LIVE_LOCK = threading.Lock()


def stop_live(signum, frame):
    """SIGINT/SIGTERM: stop every gwspec run in flight (each stops its gateway), then exit."""
    with LIVE_LOCK:
        procs = list(LIVE)
    for p in procs:
        try:
            p.send_signal(signal.SIGTERM)
        except ProcessLookupError:
            pass
    for p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
    print("mutate: interrupted; the results so far are in %s/journal.jsonl" % WORK_DIR,
          file=sys.stderr, flush=True)
    os._exit(130)


def run_cases(worker, ids, id_file, seed, budget):
    """`gwspec run --fail-fast` over ids, one run per catalog, until one kills. Returns (status,
    killer, seconds)."""
    total = 0.0
    for args in CATALOGS:
        part = [i for i in ids if CASE_ARGS.get(i, []) == args]
        if not part:
            continue
        status, killer, dt = run_catalog(worker, part, id_file, seed, budget, args)
        total += dt
        if status != "survived":
            return status, killer, total
    return "survived", None, total


def run_catalog(worker, ids, id_file, seed, budget, args):
    """One `gwspec run --fail-fast` over ids of one catalog. Returns (status, killer, seconds)."""
    cmd = ["bin/gwspec", "run", "--strict", "--fail-fast", "--seed", str(seed), "--timeout-ms",
           str(CASE_TIMEOUT_MS)] + args
    for i in ids:
        cmd += ["--filter", i]
    files = sorted({id_file[i] for i in ids})
    cmd += files
    env = dict(os.environ, GWSPEC_GATEWAY=worker.gateway)
    san_dir = None
    if SANITIZED[0]:
        san_dir = os.path.join(worker.dir, "san")
        shutil.rmtree(san_dir, ignore_errors=True)
        os.makedirs(san_dir)
        for k, v in SAN_ENV.items():
            env[k] = "%s:log_path=%s" % (v, os.path.join(san_dir, k.split("_")[0].lower()))
    t0 = time.time()
    p = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, start_new_session=True)
    with LIVE_LOCK:
        LIVE.add(p)
    try:
        out, err = p.communicate(timeout=budget)
    except subprocess.TimeoutExpired:
        p.send_signal(signal.SIGTERM)  # gwspec stops its gateway and workers on SIGTERM
        try:
            p.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.communicate()
        return "timeout", None, time.time() - t0
    finally:
        with LIVE_LOCK:
            LIVE.discard(p)
    dt = time.time() - t0
    report = san_report(san_dir)
    if report:
        return "killed", "sanitizer: " + report, dt
    if p.returncode == 0:
        # a SHOULD-level case that fails is graded NON-STRICT (exit 0): it caught the mutant
        m = re.search(r"^\s+NON-STRICT\s+(\S+)", out, re.M)
        if m:
            return "killed", "%s NON-STRICT" % m.group(1), dt
        return "survived", None, dt
    if p.returncode in (1, 3):
        for ln in out.splitlines():
            m = re.match(r"\s+(FAILED|ERROR)\s+(\S+)", ln)
            if m:
                return "killed", "%s %s" % (m.group(2), m.group(1)), dt
        if "unreachable" in err:
            return "killed", "the gateway does not start", dt
        return "killed", "exit %d: %s" % (p.returncode, (err or out).strip()[-200:]), dt
    raise RuntimeError("gwspec run exited %d: %s" % (p.returncode, err[-500:]))


def san_report(san_dir):
    """The first SUMMARY line of a sanitizer report the run's gateways wrote, or None."""
    if not san_dir or not os.path.isdir(san_dir):
        return None
    for name in sorted(os.listdir(san_dir)):
        with open(os.path.join(san_dir, name), errors="replace") as f:
            text = f.read()
        m = re.search(r"^SUMMARY: (.*)$", text, re.M)
        if m or text.strip():
            return (m.group(1) if m else text.strip().splitlines()[0])[:200]
    return None


def journal_ids(path):
    """(the ids a journal records as killed or timeout, every id it holds)."""
    killed, held = set(), set()
    with open(path) as f:
        for ln in f:
            r = json.loads(ln)
            held.add(r["id"])
            if r["status"] in ("killed", "timeout"):
                killed.add(r["id"])
    return killed, held


def san_baseline(worker, sel, cov, id_file, seconds, seed):
    """--san: the clean gateway, built the same way, must give no sanitizer report on the cases
    the mutants will run; otherwise every one of them would be "killed" by the gateway's own bug."""
    failed = set(cov.get("failed", []))
    ids = sorted({i for p in sel for i in covering(p, cov, [c for c in id_file if c not in failed])})
    if not ids:
        return
    t0 = time.time()
    budget = 60 + 4 * sum(seconds.get(i, 1.0) for i in ids)
    status, killer, _ = run_cases(worker, ids, id_file, seed, budget)
    if killer and killer.startswith("sanitizer:"):
        die("--san: the clean gateway itself gives a sanitizer report (%s): fix it first "
            "(make asan shows where)" % killer)
    if status != "survived":
        log("--san: warning: the clean gateway under sanitizers: %s %s (only a sanitizer report "
            "kills under --san)" % (status, killer or ""))
    log("--san: the clean gateway gives no sanitizer report on the %d cases (%.0f s)"
        % (len(ids), time.time() - t0))


class Killers:
    """Cases that killed mutants, per function: they run first for the next mutants there."""

    def __init__(self):
        self.lock = threading.Lock()
        self.by_func = {}
        self.total = {}

    def note(self, point, case):
        with self.lock:
            d = self.by_func.setdefault((point["file"], point["function"]), {})
            d[case] = d.get(case, 0) + 1
            self.total[case] = self.total.get(case, 0) + 1

    def order(self, point, ids, seconds):
        with self.lock:
            d = self.by_func.get((point["file"], point["function"]), {})
            return sorted(ids, key=lambda i: (-d.get(i, 0), -self.total.get(i, 0),
                                              seconds.get(i, 1.0), i))


def covering(point, cov, all_ids):
    """The ids of the cases that execute a line of the point, or None (aggregate: all ids)."""
    # from the first line of the statement the point stands in: gcov counts a statement that
    # spans lines on its first line, so a point on a continuation line would look not covered
    lines = range(point.get("cov_line", point["line"]), point["end_line"] + 1)
    if cov["mode"] == "aggregate":
        have = set(cov["lines"].get(point["file"], []))
        return list(all_ids) if any(ln in have for ln in lines) else []
    out = []
    for cid, c in cov["cases"].items():
        if not c["ok"]:
            continue
        have = c["lines"].get(point["file"], [])
        if any(ln in have for ln in lines):
            out.append(cid)
    return out


def mutate_one(worker, point, originals, cov, id_file, seconds, killers, seed):
    t0 = time.time()
    res = {"id": point["id"]}
    ids = covering(point, cov, [i for i in id_file if i not in set(cov.get("failed", []))])
    res["covering"] = len(ids)
    if not ids:
        res["status"] = "not covered"
        return res
    err = worker.build(point, originals[point["file"]])
    if err:
        res["status"] = "build error"
        res["detail"] = err
        res["seconds"] = round(time.time() - t0, 2)
        return res
    order = killers.order(point, ids, seconds)
    batches = [order[:3], order[3:]] if len(order) > 3 else [order]
    ran = 0
    for b in batches:
        if not b:
            continue
        budget = 20 + 4 * sum(seconds.get(i, 1.0) for i in b)
        status, killer, dt = run_cases(worker, b, id_file, seed, budget)
        ran += len(b)
        if SANITIZED[0] and status != "survived" and not (killer or "").startswith("sanitizer:"):
            # under --san only a sanitizer report kills: a slower gateway may miss a deadline
            # that the plain pass, which judged this mutant's behaviour, did not
            res["detail"] = "under --san: %s %s, without a sanitizer report" % (status, killer or "")
            continue
        if status != "survived":
            res["status"] = status
            if killer:
                res["killer"] = killer
                killers.note(point, killer.split()[0])
            break
    else:
        res["status"] = "survived"
    res["cases_run_max"] = ran
    res["seconds"] = round(time.time() - t0, 2)
    return res


# --- reports ----------------------------------------------------------------------------------
STATUSES = ["killed", "timeout", "survived", "not covered", "build error", "equivalent"]


def tally(rows):
    t = {s: 0 for s in STATUSES}
    for r in rows:
        t[r["status"]] += 1
    denom = t["killed"] + t["timeout"] + t["survived"] + t["not covered"]
    t["score"] = round(100.0 * (t["killed"] + t["timeout"]) / denom, 1) if denom else None
    t["total"] = len(rows)
    return t


def repro(point):
    return "make mutate-one KEY=%s" % point["id"]


def write_reports(pts, results, equivalents, meta, excluded):
    os.makedirs(os.path.join(ROOT, REPORT_DIR), exist_ok=True)
    rows = []
    for p in pts:
        r = results.get(p["id"])
        if p["id"] in equivalents:
            r = {"status": "equivalent", "reason": equivalents[p["id"]]}
        if r is None:
            continue
        row = {k: p[k] for k in ("id", "key", "file", "function", "area", "op", "line",
                                 "original", "mutant", "context", "source")}
        row.update({k: v for k, v in r.items() if k != "id"})
        row["reproduce"] = repro(p)
        rows.append(row)
    by_file, by_area, by_op = {}, {}, {}
    for r in rows:
        by_file.setdefault(r["file"], []).append(r)
        by_area.setdefault(r["area"], []).append(r)
        by_op.setdefault(r["op"], []).append(r)
    summary = {"total": tally(rows), "files": {f: tally(v) for f, v in sorted(by_file.items())},
               "areas": {a: tally(v) for a, v in sorted(by_area.items())},
               "operators": {o: tally(v) for o, v in sorted(by_op.items())}}
    doc = {"format": "gwspec-mutation/1", "meta": meta, "summary": summary,
           "excluded_by_rule": excluded, "mutants": rows}
    jpath = os.path.join(ROOT, REPORT_DIR, "mutation.json")
    with open(jpath, "w") as f:
        json.dump(doc, f, indent=1)

    def table(title, groups):
        out = ["| %s | mutants | killed | timeout | survived | not covered | build error | "
               "equivalent | score |" % title, "|---|---|---|---|---|---|---|---|---|"]
        for name, t in groups.items():
            out.append("| %s | %d | %d | %d | %d | %d | %d | %d | %s |" % (
                name, t["total"], t["killed"], t["timeout"], t["survived"], t["not covered"],
                t["build error"], t["equivalent"], "%.1f%%" % t["score"] if t["score"] is not None else "-"))
        return out

    md = ["# Mutation testing of the reference gateway", "",
          "Generated by `%s` (%s, %s). Score = (killed + timeout) / (killed + timeout + survived + "
          "not covered); build errors and equivalent mutants (mutate/equivalents.txt) are not "
          "scored." % (meta["command"], meta["finished"], meta["wall"]), "",
          "Sample: %s. Coverage: %s. Workers: %d. Points in scope: %d." % (
              meta["sample"], meta["coverage"], meta["jobs"], meta["points"]), ""]
    t = summary["total"]
    md.append("**Score: %s** (%d mutants: %d killed, %d timeout, %d survived, %d not covered, "
              "%d build error, %d equivalent)" % (
                  "%.1f%%" % t["score"] if t["score"] is not None else "-", t["total"], t["killed"],
                  t["timeout"], t["survived"], t["not covered"], t["build error"], t["equivalent"]))
    md += ["", "## Per file", ""] + table("file", summary["files"])
    md += ["", "## Per requirement area (mutate/areas.txt)", ""] + table("area", summary["areas"])
    md += ["", "## Per operator", ""] + table("operator", summary["operators"])
    surv = sorted([r for r in rows if r["status"] == "survived"], key=lambda r: (r["file"], r["line"]))
    md += ["", "## Survivors (%d)" % len(surv), "",
           "`file:line: original -> mutant` (operator, function, id); reproduce with the command "
           "after it.", ""]
    for r in surv:
        md.append("- `%s/%s:%d: %s -> %s` (%s, %s, %s, %d covering cases): `%s`  \n  line: `%s`" % (
            GW_DIR, r["file"], r["line"], r["original"], r["mutant"], r["op"], r["function"],
            r["id"], r.get("covering", 0), r["reproduce"], r["source"]))
    nc = sorted([r for r in rows if r["status"] == "not covered"], key=lambda r: (r["file"], r["line"]))
    md += ["", "## Not covered (%d): no case executes the line" % len(nc), ""]
    for r in nc:
        md.append("- `%s/%s:%d: %s -> %s` (%s, %s)" % (GW_DIR, r["file"], r["line"], r["original"],
                                                      r["mutant"], r["op"], r["function"]))
    for st in ("timeout", "build error"):
        lst = [r for r in rows if r["status"] == st]
        md += ["", "## %s (%d)" % (st.capitalize(), len(lst)), ""]
        for r in lst:
            md.append("- `%s/%s:%d: %s -> %s` (%s) %s" % (GW_DIR, r["file"], r["line"], r["original"],
                                                         r["mutant"], r["id"], r.get("detail", "")))
    md += ["", "## Excluded by rule (points not made)", "",
           "| file | " + " | ".join(sorted({k for v in excluded.values() for k in v})) + " |"]
    ks = sorted({k for v in excluded.values() for k in v})
    md.append("|---|" + "---|" * len(ks))
    for f, v in sorted(excluded.items()):
        md.append("| %s | %s |" % (f, " | ".join(str(v.get(k, 0)) for k in ks)))
    with open(os.path.join(ROOT, REPORT_DIR, "mutation.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    return summary, surv


# --- main -------------------------------------------------------------------------------------
def main():
    global WORK_DIR, REPORT_DIR
    ap = argparse.ArgumentParser(description="automatic source mutation of the reference gateway")
    ap.add_argument("-j", type=int, default=2, help="parallel workers (default 2)")
    ap.add_argument("--sample", type=int, default=0, help="only N mutants, chosen by --seed")
    ap.add_argument("--seed", type=int, default=1, help="sample and case-order seed (default 1)")
    ap.add_argument("--only", action="append", default=[], help="only this mutant id (repeatable)")
    ap.add_argument("--file", action="append", default=[], help="only mutants of this file")
    ap.add_argument("--coverage", choices=["per-case", "aggregate"], default=None,
                    help="per-case (default: each case alone, case -> lines) or aggregate (one "
                         "run of the catalog: line executed or not; every case runs for a mutant)")
    ap.add_argument("--list", action="store_true", help="list the mutants and exit")
    ap.add_argument("--keys", action="store_true",
                    help="with --list: print each mutant's key (the form equivalents.txt takes)")
    ap.add_argument("--min-kills", type=int, default=0,
                    help="fail when fewer covered mutants are killed (a sanity floor)")
    ap.add_argument("--work", default=None, help="worker directory (default build-mutate, "
                    "build-mutate-san with --san)")
    ap.add_argument("--san", action="store_true",
                    help="build the mutant gateways with ASan+UBSan; a sanitizer report kills")
    ap.add_argument("--report-dir", default=REPORT_DIR, help="where mutation.md/.json go")
    ap.add_argument("--from-journal", action="append", default=[],
                    help="run nothing: write the reports from the journal.jsonl of earlier passes "
                         "(repeatable: the shards of one pass)")
    ap.add_argument("--shard", default=None, help="K/N: only the K-th of N shards (CI matrices)")
    ap.add_argument("--survivors-of", default=None, metavar="JOURNAL",
                    help="only the mutants JOURNAL holds and did not kill (survived, not "
                         "covered, build error): the second pass of make mutate")
    ap.add_argument("--unkilled-in", default=None, metavar="JOURNAL",
                    help="only the mutants that JOURNAL (an earlier pass) does not record as "
                         "killed or timeout: its survivors, the ones it did not cover, and "
                         "mutants new since; report the two together with --from-journal JOURNAL "
                         "--from-journal NEW (a later journal's result wins)")
    ap.add_argument("--survivors-out", default=None, help="also write the survivor list here")
    a = ap.parse_args()
    os.chdir(ROOT)
    WORK_DIR = a.work or (WORK_DIR + "-san" if a.san else WORK_DIR)
    REPORT_DIR = a.report_dir
    if a.san:
        use_sanitizers()
    t_start = time.time()

    rules = load_areas(os.path.join(HERE, "areas.txt"))
    pts, excluded = collect_points(rules)
    for r in rules:
        if not r["used"]:
            die("%s: this rule selects no function (every one is taken by an earlier rule)" % r["where"])
    equivalents = load_equivalents(os.path.join(HERE, "equivalents.txt"), pts)
    ids = {p["id"] for p in pts}
    if len(ids) != len(pts):
        die("two mutants share an id (a key collision): report this")
    if a.list:
        for p in pts:
            if a.keys:
                print("%s  # %s/%s:%d" % (P.key_text(p), GW_DIR, p["file"], p["line"]))
                continue
            print("%s %s/%s:%d: %s %s -> %s%s" % (p["id"], GW_DIR, p["file"], p["line"], p["op"],
                                                 p["original"], p["mutant"],
                                                 "  (equivalent)" if p["id"] in equivalents else ""))
        log("%d mutants (%d equivalent)" % (len(pts), len(equivalents)))
        return 0
    sel = [p for p in pts if p["id"] not in equivalents]
    if a.file:
        sel = [p for p in sel if p["file"] in a.file]
    if a.only:
        unknown = [i for i in a.only if i not in ids]
        if unknown:
            die("no mutant with id %s (mutate/mutate.py --list shows them)" % ", ".join(unknown))
        sel = [p for p in pts if p["id"] in a.only]
    sample_desc = "none (every mutant in scope)"
    if a.sample:
        rnd = random.Random(a.seed)
        sel = sorted(sel, key=lambda p: p["id"])
        sel = rnd.sample(sel, min(a.sample, len(sel)))
        sample_desc = "%d of %d, seed %d" % (len(sel), len(pts) - len(equivalents), a.seed)
    if a.shard:
        m = re.fullmatch(r"([0-9]+)/([0-9]+)", a.shard)
        if not m or not 1 <= int(m.group(1)) <= int(m.group(2)):
            die("--shard takes K/N with 1 <= K <= N")
        k, n = int(m.group(1)), int(m.group(2))
        sel = [p for i, p in enumerate(sorted(sel, key=lambda p: p["id"])) if i % n == k - 1]
        sample_desc += "; shard %d/%d" % (k, n)
    if a.unkilled_in:
        killed, held = journal_ids(a.unkilled_in)
        sel = [p for p in sel if p["id"] not in killed]
        sample_desc += "; not killed in %s (%d killed there)" % (a.unkilled_in, len(killed))
    if a.survivors_of:
        killed, held = journal_ids(a.survivors_of)
        sel = [p for p in sel if p["id"] in held and p["id"] not in killed]
        sample_desc += "; the %d that %s holds unkilled" % (len(held - killed), a.survivors_of)
    sel.sort(key=lambda p: (p["file"], p["start"]))
    log("%d points in scope, %d equivalent, %d to run" % (len(pts), len(equivalents), len(sel)))

    if a.from_journal:
        results = {}
        for jf in a.from_journal:
            with open(jf) as f:
                for ln in f:
                    r = json.loads(ln)
                    if r["id"] in ids:
                        results[r["id"]] = r
        sel = [p for p in sel if p["id"] in results]
        # a mutant listed as equivalent since the journal was written is not counted
        results = {p["id"]: results[p["id"]] for p in sel}
        meta = {"command": "mutate/mutate.py " + " ".join(sys.argv[1:]), "finished":
                time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "wall": "from a journal",
                "sample": sample_desc + "; %d results in the journal" % len(results),
                "jobs": a.j, "coverage": "per-case", "points": len(pts),
                "equivalents": len(equivalents), "mutants_run": len(sel),
                "case_timeout_ms": CASE_TIMEOUT_MS}
        return finish(a, pts, sel, results, equivalents, meta, excluded, t_start)

    make_harness()
    cases = list_cases()
    id_file = {c["id"]: c["file"] for c in cases}
    want = sorted({p["file"] for p in pts})
    mode = a.coverage or "per-case"
    # the workers' clean build runs while the coverage runs wait on their cases
    base_ex = cf.ThreadPoolExecutor(max_workers=1)
    base_fut = base_ex.submit(prepare_base)
    cov = coverage(mode, want, a.j, a.seed, cases)
    if cov.get("failed"):
        log("warning: %d case(s) fail on the clean gateway and cannot kill: %s"
            % (len(cov["failed"]), " ".join(cov["failed"][:10])))
    seconds = {}
    if cov["mode"] == "per-case":
        seconds = {i: c["seconds"] for i, c in cov["cases"].items()}

    base = base_fut.result()
    base_ex.shutdown()
    originals = {}
    for f in want:
        with open(os.path.join(ROOT, GW_DIR, f), "rb") as fh:
            originals[f] = fh.read()
    pool = [Worker(n, base) for n in range(max(1, a.j))]
    free = list(pool)
    lock = threading.Lock()
    killers = Killers()
    results = {}
    if a.san:
        san_baseline(pool[0], sel, cov, id_file, seconds, a.seed)

    def task(p):
        with lock:
            w = free.pop()
        try:
            return p, mutate_one(w, p, originals, cov, id_file, seconds, killers, a.seed)
        except Exception as e:
            raise RuntimeError("mutant %s (%s:%d): %s" % (p["id"], p["file"], p["line"], e)) from e
        finally:
            with lock:
                free.append(w)

    signal.signal(signal.SIGTERM, stop_live)
    signal.signal(signal.SIGINT, stop_live)
    t_mut = time.time()
    done = 0
    journal = open(os.path.join(ROOT, WORK_DIR, "journal.jsonl"), "w")
    with cf.ThreadPoolExecutor(max_workers=len(pool)) as ex:
        futs = [ex.submit(task, p) for p in sel]
        for fu in cf.as_completed(futs):
            try:
                p, r = fu.result()
            except Exception as e:  # a broken tool or harness: stop now, never run on silently
                for f in futs:
                    f.cancel()
                with LIVE_LOCK:
                    procs = list(LIVE)
                for pr in procs:
                    pr.send_signal(signal.SIGTERM)
                journal.close()
                die("a mutant's run failed in the tool, not in the gateway (%s: %s); the %d "
                    "results before it are in %s/journal.jsonl" % (type(e).__name__, e, done,
                                                                   WORK_DIR), 3)
            results[p["id"]] = r
            journal.write(json.dumps(dict(r, file=p["file"], line=p["line"], original=p["original"],
                                          mutant=p["mutant"], op=p["op"])) + "\n")
            journal.flush()
            done += 1
            if done % 25 == 0 or done == len(sel) or a.only:
                el = time.time() - t_mut
                log("%d/%d mutants (%.0f s, %s)" % (done, len(sel), el, ", ".join(
                    "%s %d" % (s, sum(1 for x in results.values() if x["status"] == s))
                    for s in STATUSES[:5])))
            if a.only:
                print("%s %s/%s:%d: %s -> %s: %s%s" % (p["id"], GW_DIR, p["file"], p["line"],
                                                       p["original"], p["mutant"], r["status"],
                                                       " (%s)" % r.get("killer", r.get("detail", ""))
                                                       if r.get("killer") or r.get("detail") else ""))
    wall = time.time() - t_start
    cmd = "mutate/mutate.py " + " ".join(sys.argv[1:])
    meta = {"command": cmd.strip(), "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "wall": "%.0f s" % wall, "sample": sample_desc, "jobs": a.j,
            "coverage": "%s (%s s to compute, 0 if cached)" % (cov["mode"], cov.get("seconds", "?")),
            "points": len(pts), "equivalents": len(equivalents), "mutants_run": len(sel),
            "case_timeout_ms": CASE_TIMEOUT_MS}
    return finish(a, pts, sel, results, equivalents, meta, excluded, t_start)


def finish(a, pts, sel, results, equivalents, meta, excluded, t_start):
    wall = time.time() - t_start
    summary, surv = write_reports(pts, results, equivalents if not (a.only or a.sample or a.file)
                                  else {k: v for k, v in equivalents.items()
                                        if k in {p["id"] for p in sel}}, meta, excluded)
    t = summary["total"]
    for f, ft in summary["files"].items():
        log("  %-12s score %6s  (killed %d, timeout %d, survived %d, not covered %d, build error %d)"
            % (f, "%.1f%%" % ft["score"] if ft["score"] is not None else "-", ft["killed"],
               ft["timeout"], ft["survived"], ft["not covered"], ft["build error"]))
    log("score %s over %d mutants (killed %d, timeout %d, survived %d, not covered %d, build "
        "error %d) in %.0f s; %s/mutation.md" % (
            "%.1f%%" % t["score"] if t["score"] is not None else "-", len(sel), t["killed"],
            t["timeout"], t["survived"], t["not covered"], t["build error"], wall, REPORT_DIR))
    if a.survivors_out:
        with open(a.survivors_out, "w") as f:
            f.write("# survivors of %s (%s)\n" % (meta["command"], meta["finished"]))
            for r in surv:
                f.write("%s/%s:%d: %s -> %s   [%s %s %s] %s   | %s\n" % (
                    GW_DIR, r["file"], r["line"], r["original"], r["mutant"], r["op"],
                    r["function"], r["id"], r["reproduce"], r["source"]))
    covered = t["killed"] + t["timeout"] + t["survived"]
    if a.min_kills and covered and t["killed"] + t["timeout"] < a.min_kills:
        die("only %d of %d covered mutants were killed (floor %d): the tool or the suite is "
            "broken" % (t["killed"] + t["timeout"], covered, a.min_kills), 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
