#!/usr/bin/python3
"""tests/lint-length.py: harness functions longer than 100 lines without a stated reason.

Rule 6 of tests/lint-code.sh (STYLE.md C.6.5, "keep functions short"; issue 12). A function
definition in a .c file under harness/ whose extent, as libclang sees it (from the first line of
its declaration to its closing brace), is longer than --max lines (100) is reported, unless the
comment right above it (ending on the line before the function) holds the marker `long:`
followed by the reason, e.g.

    /* One flat switch over the frame parser's states; long: a state per case, each short. */

Each problem is one line, `file:line: length: function NAME is N lines (...)`; exit 1 when there
is one, 2 when a file cannot be parsed (the AST would be incomplete), else 0.

usage: tests/lint-length.py [--max N] [FILE...]   (default: every .c under harness/)
       tests/lint-length.py --self-test             (the rule on planted functions)

libclang is set up as mutate/points.py does it (Debian's python3-clang-14), with the include
paths and pkg-config flags the Makefile compiles the harness with.
"""

import fnmatch
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(ROOT, "mutate"))
import clang.cindex as ci  # noqa: E402
import points  # noqa: E402  (setup_libclang, clang_args)

MAX_LINES = 100
MARKER = re.compile(r"\blong:\s*\S")

# Files the rule does not look at (none: every harness file is judged).
ALLOW = []


def default_files():
    out = []
    for d, _, names in os.walk(os.path.join(ROOT, "harness")):
        for n in names:
            if n.endswith(".c"):
                out.append(os.path.relpath(os.path.join(d, n), ROOT))
    return sorted(out)


def allowed(rel):
    return any(fnmatch.fnmatch(rel, pat) for pat in ALLOW)


def compile_args():
    pkgs = ["libwebsockets", "jansson", "libfyaml", "sqlite3", "cunit"]
    try:
        flags = subprocess.run(["pkg-config", "--cflags"] + pkgs, capture_output=True, text=True,
                               check=False).stdout.split()
    except OSError:
        flags = []
    incs = [os.path.join(ROOT, d) for d in ("lib", "harness", "mock-providers")]
    return points.clang_args(incs, flags)


def comment_above(lines, first):
    """The comment block that ends on the line before line `first` (1-based), or ''."""
    i = first - 2
    if i < 0:
        return ""
    end = lines[i].rstrip()
    if end.lstrip().startswith("//"):
        j = i
        while j >= 0 and lines[j].lstrip().startswith("//"):
            j -= 1
        return "\n".join(lines[j + 1:i + 1])
    if not end.endswith("*/"):
        return ""
    j = i
    while j >= 0 and "/*" not in lines[j]:
        j -= 1
    return "\n".join(lines[max(j, 0):i + 1])


def comment_text(comment):
    """A comment without its delimiters and its leading stars."""
    return re.sub(r"/\*+|\*+/|^\s*\*+|^\s*//", " ", comment, flags=re.M)


def long_functions(path, display, limit, args):
    """[(line, name, length)] of the unexplained long functions of one file."""
    points.setup_libclang()
    tu = ci.Index.create().parse(path, args=args)
    errs = [d for d in tu.diagnostics if d.severity >= ci.Diagnostic.Error]
    if errs:
        loc = errs[0].location
        raise RuntimeError("%s:%s: length: libclang cannot parse it: %s" %
                           (display, loc.line, errs[0].spelling))
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.read().split("\n")
    out = []
    real = os.path.realpath(path)
    for c in tu.cursor.get_children():
        if c.kind != ci.CursorKind.FUNCTION_DECL or not c.is_definition():
            continue
        if not c.location.file or os.path.realpath(c.location.file.name) != real:
            continue
        first, last = c.extent.start.line, c.extent.end.line
        n = last - first + 1
        if n > limit and not MARKER.search(comment_text(comment_above(lines, first))):
            out.append((first, c.spelling, n))
    return out


def check(files, limit):
    args = compile_args()
    problems = 0
    for rel in files:
        try:
            found = long_functions(os.path.join(ROOT, rel), rel, limit, args)
        except RuntimeError as e:
            print(e)
            return 2
        for line, name, n in found:
            print("%s:%d: length: function %s is %d lines (over %d: split it into named phases, "
                  "or say why above it in a comment with 'long: REASON')" %
                  (rel, line, name, n, limit))
            problems += 1
    return 1 if problems else 0


def self_test():
    """Planted functions: only the unexplained one over the limit is reported."""
    def fn(name, body_lines, comment=None):
        text = ("/* %s */\n" % comment) if comment else ""
        text += "static int %s(int x)\n{\n" % name
        text += "    x++;\n" * body_lines
        return text + "    return x;\n}\n\n"

    # total lines of fn(..., k) = k + 4 (signature, brace, return, brace)
    src = (fn("fits", 96) + fn("over", 97) + fn("explained", 200, "long: one flat table") +
           fn("no_reason", 200, "long:") + fn("other_comment", 200, "a plain comment") +
           "/*\n * a block comment over several lines,\n * long: its reason on the last line\n"
           " */\n" + fn("explained_block", 150) +
           "int main(void)\n{\n    return fits(0) + over(0) + explained(0) + no_reason(0) +\n"
           "           other_comment(0) + explained_block(0);\n}\n")
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "planted.c")
        with open(p, "w") as f:
            f.write(src)
        got = sorted((name, n) for _, name, n in
                     long_functions(p, "planted.c", MAX_LINES, compile_args()))
    want = [("no_reason", 204), ("other_comment", 204), ("over", 101)]
    if got != want:
        print("lint-length self-test: FAILED: reported %s, want %s" % (got, want))
        return 1
    print("lint-length self-test: ok (over: 101 lines, no_reason: 'long:' without a reason, "
          "other_comment: no marker; fits at 100 lines, explained and explained_block are not)")
    return 0


def main(argv):
    limit = MAX_LINES
    files = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--self-test":
            return self_test()
        if a == "--max" and i + 1 < len(argv):
            limit = int(argv[i + 1])
            i += 2
            continue
        if a in ("-h", "--help"):
            print(__doc__.strip())
            return 0
        files.append(os.path.relpath(os.path.abspath(a), ROOT))
        i += 1
    if not files:
        files = [f for f in default_files() if not allowed(f)]
    return check(files, limit)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
