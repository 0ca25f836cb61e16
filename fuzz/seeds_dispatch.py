#!/usr/bin/python3
"""seeds_dispatch.py: write the dispatch fuzz target's seed inputs (fuzz/README.md) from the
Dispatch cases (cases/dispatch-ws-1/**.yaml) and the Dispatch fixture transcripts
(fixtures/transcripts/dispatch/*.jsonl), one input per case or transcript, into
fuzz/corpus/dispatch/ as seed-case-ID and seed-tr-NAME.

  /usr/bin/python3 fuzz/seeds_dispatch.py [OUT_DIR]

A case becomes the target's lines (fuzz_dispatch.c): its connections c1, c2, c3 are a, b, c
(a `disconnect` is an `o` line: closed and opened anew), `send` and `send_raw` are frames,
`http` is an H line, a `release` is `t 1000`. `$s1`-style session ids become fixed
conversation ids, `$script.LABEL` the directive `gwspec:{"v":1,"script":[...]}` of the case's
provider script, whose `barrier` steps become `delay: 1000` (the target has no control channel:
the run stays in flight until the clock moves, which is what a barrier is for). A transcript
gives its `open`, `close`, `send` and `http` records the same way. Expectations are dropped:
the target has its own oracles. Rerun after the cases change; the lead commits the result.
"""
import json
import os
import re
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LETTERS = {"c1": "a", "c2": "b", "c3": "c"}


def compact(v):
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False)


def script_steps(steps):
    out = []
    for st in steps or []:
        if isinstance(st, dict) and "barrier" in st:
            out.append({"delay": 1000})
        else:
            out.append(st)
    return out


def subst(v, env):
    if isinstance(v, str):
        if v in env:
            return env[v]

        def one(m):
            return env.get("$" + m.group(1), m.group(1))

        return re.sub(r"\$\{?([A-Za-z_][A-Za-z0-9_.]*)\}?", one, v)
    if isinstance(v, list):
        return [subst(e, env) for e in v]
    if isinstance(v, dict):
        return {k: subst(e, env) for k, e in v.items()}
    return v


def from_case(path):
    with open(path, encoding="utf-8") as f:
        case = yaml.safe_load(f)
    env = {}
    for i, label in enumerate(case.get("sessions") or {}):
        env["$" + label] = "conv-%s-%d" % (label, i + 1)
    for label, steps in (case.get("providers") or {}).items():
        d = {"v": 1, "script": script_steps(steps)}
        env["$script." + label] = "gwspec:" + compact(d)
    lines = []
    for st in case.get("steps") or []:
        if not isinstance(st, dict) or len(st) != 1:
            continue
        (kind, arg), = st.items()
        if isinstance(arg, dict) and kind in ("connect", "disconnect"):
            arg = arg.get("client")
        if kind == "disconnect" and arg in LETTERS:
            lines.append("o" + LETTERS[arg])
        elif kind == "send" and isinstance(arg, dict):
            for c, frame in arg.items():
                if c in LETTERS:
                    lines.append(LETTERS[c] + compact(subst(frame, env)))
        elif kind == "send_raw" and isinstance(arg, dict):
            text = str(subst(arg.get("text", ""), env))
            if arg.get("client") in LETTERS and "\n" not in text:
                lines.append(LETTERS[arg["client"]] + text)
        elif kind == "http" and isinstance(arg, dict):
            lines.append("H%s %s" % (arg.get("method", "GET"), subst(arg.get("path", "/"), env)))
        elif kind == "release":
            lines.append("t 1000")
    lines.append("t 60000")
    return case.get("id") or os.path.basename(path), lines


def from_transcript(path):
    letters, lines = {}, []
    with open(path, encoding="utf-8") as f:
        for raw in f:
            r = json.loads(raw)
            t, c = r.get("t"), r.get("conn")
            if t == "open" and c not in letters and len(letters) < 3:
                letters[c] = "abc"[len(letters)]
            elif t == "close" and c in letters:
                lines.append("o" + letters[c])
            elif t == "send" and c in letters:
                lines.append(letters[c] + compact(r.get("frame")))
            elif t == "http":
                lines.append("H%s %s" % (r.get("method", "GET"), r.get("path", "/")))
            elif t == "ctl":
                lines.append("t 100")
    lines.append("t 60000")
    return os.path.basename(path)[: -len(".jsonl")], lines


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "fuzz", "corpus", "dispatch")
    os.makedirs(out, exist_ok=True)
    n = 0
    for d, _, files in sorted(os.walk(os.path.join(ROOT, "cases", "dispatch-ws-1"))):
        for name in sorted(files):
            if name.endswith(".yaml"):
                cid, lines = from_case(os.path.join(d, name))
                with open(os.path.join(out, "seed-case-" + cid), "w", encoding="utf-8") as f:
                    f.write("\n".join(lines) + "\n")
                n += 1
    tdir = os.path.join(ROOT, "fixtures", "transcripts", "dispatch")
    for name in sorted(os.listdir(tdir)):
        if name.endswith(".jsonl"):
            tid, lines = from_transcript(os.path.join(tdir, name))
            with open(os.path.join(out, "seed-tr-" + tid), "w", encoding="utf-8") as f:
                f.write("\n".join(lines) + "\n")
            n += 1
    print("seeds_dispatch: %d inputs in %s" % (n, out))


if __name__ == "__main__":
    main()
