#!/usr/bin/python3
"""mutate/tests/test_points.py: the self-test of the mutation tool (make mutate-selftest).

1. mutate/points.py must find exactly the points in expected.txt in fixture.c (line, operator,
   id, original, mutant): a change of the operators or the rules shows here as a diff.
2. No point on a line of fixture.c marked `// none` (the exclusion rules), and at least one
   point of every operator.
3. Every mutant of the fixture still compiles (cc -fsyntax-only): the replacements are C.
4. The equivalents loader refuses an entry that matches no mutant, with file:line, and one
   without a reason.
"""
import contextlib
import io
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import points as P  # noqa: E402
import mutate as M  # noqa: E402

FIX = os.path.join(HERE, "fixture.c")
failed = 0


def check(ok, what, detail=""):
    global failed
    print("%s %s" % ("ok  " if ok else "FAIL", what))
    if not ok:
        failed += 1
        if detail:
            print(detail)


def line_of(p):
    return "%s:%d: %-5s %s  %s -> %s" % (p["file"], p["line"], p["op"], p["id"],
                                          p["original"][:60], p["mutant"][:60])


pts, excl, funcs = P.find_points(FIX, "fixture.c", lambda n: True, P.clang_args([]))
got = [" ".join(line_of(p).split()) for p in pts]
with open(os.path.join(HERE, "expected.txt")) as f:
    want = [" ".join(ln.split()) for ln in f if ln.strip()]
missing = [w for w in want if w not in got]
extra = [g for g in got if g not in want]
check(not missing and not extra, "points of fixture.c are exactly expected.txt (%d)" % len(want),
      "\n".join(["  missing: " + m for m in missing] + ["  extra:   " + e for e in extra]))

with open(FIX) as f:
    none_lines = {n for n, ln in enumerate(f, 1) if ln.rstrip().endswith("// none")}
bad = [line_of(p) for p in pts if p["line"] in none_lines]
check(not bad, "no point on the %d lines marked // none" % len(none_lines), "\n".join(bad))
ops = {p["op"] for p in pts}
check(ops == set(P.OPERATORS), "every operator has a point: " + " ".join(sorted(ops)))
check(all(excl.get(r) for r in ("log", "oom", "abort", "mutant", "io", "free", "macro", "alloc-size")),
      "every exclusion rule fired: %s" % excl)

src = open(FIX, "rb").read()
nbad = []
with tempfile.TemporaryDirectory() as d:
    for p in pts:
        path = os.path.join(d, "m.c")
        with open(path, "wb") as f:
            f.write(P.apply(src, p))
        r = subprocess.run(["cc", "-std=c11", "-fsyntax-only", "-w", path], capture_output=True,
                           text=True)
        if r.returncode:
            nbad.append(line_of(p) + "\n" + r.stderr[:300])
check(not nbad, "every mutant of the fixture compiles (%d)" % len(pts), "\n".join(nbad))

with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
    f.write("# comment\n")
    f.write('%s both branches return the same value, so no caller can tell them apart\n'
            % P.key_text(pts[0]))
    f.write('["fixture.c","ror","ROR",0,"<","<"] this key matches no mutant of the fixture\n')
    f.write('%s short\n' % P.key_text(pts[1]))
    name = f.name
err = io.StringIO()
code = None
with contextlib.redirect_stderr(err):
    try:
        M.load_equivalents(name, pts)
    except SystemExit as e:
        code = e.code
msg = err.getvalue()
base = os.path.relpath(name, M.ROOT)
check(code == 2 and "%s:3: no mutant has this key" % base in msg and "%s:4: the reason" % base in msg
      and ":2:" not in msg, "equivalents: a stale entry and a reasonless one are errors with file:line",
      msg)
good = M.__dict__["load_equivalents"]
with open(name, "w") as f:
    f.write('%s both branches return the same value, so no caller can tell them apart\n'
            % P.key_text(pts[0]))
check(list(good(name, pts)) == [pts[0]["id"]], "equivalents: a valid entry excludes its mutant")
os.unlink(name)

print("%d failed" % failed)
sys.exit(1 if failed else 0)
