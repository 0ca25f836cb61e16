#!/usr/bin/python3
"""tests/validate-reports.py DIR...: validate `gwspec run --json DIR` reports against the
committed JSON Schemas (spec/report/index.schema.json, spec/report/case.schema.json).

DIR/index.json must match the index schema, every file under DIR/cases/ the case schema, every
index entry's `report` must name one of those files, and that file's id and repetition must be
the entry's. Prints one line per problem (file: JSON path: message) and exits 1 on any, 2 when
it cannot run (no jsonschema: apt-get install python3-jsonschema). Run with /usr/bin/python3.
"""
import json
import os
import sys

try:
    import jsonschema
except ImportError:
    sys.stderr.write("validate-reports: python3-jsonschema is missing (apt-get install python3-jsonschema)\n")
    sys.exit(2)

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMAS = os.path.join(HERE, "..", "spec", "report")


# A case may carry an event nested past Python's default recursion limit (4.1.40 nests 1,100
# arrays and 1,100 objects: every parser on the path must take what a gateway may forward).
sys.setrecursionlimit(20000)


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def validator(name, store):
    schema = store[name]
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    resolver = jsonschema.RefResolver(base_uri=schema["$id"], referrer=schema,
                                      store={s["$id"]: s for s in store.values()})
    return cls(schema, resolver=resolver)


def where(err):
    return "$" + "".join("[%r]" % p if isinstance(p, str) else "[%d]" % p for p in err.absolute_path)


def main(dirs):
    store = {n: load(os.path.join(SCHEMAS, n)) for n in ("index.schema.json", "case.schema.json")}
    vi, vc = validator("index.schema.json", store), validator("case.schema.json", store)
    problems = files = 0

    def report(path, msg):
        nonlocal problems
        problems += 1
        print("%s: %s" % (path, msg))

    for d in dirs:
        ipath = os.path.join(d, "index.json")
        try:
            index = load(ipath)
        except (OSError, ValueError) as e:
            report(ipath, "cannot read: %s" % e)
            continue
        files += 1
        for e in sorted(vi.iter_errors(index), key=lambda e: list(e.absolute_path)):
            report(ipath, "%s: %s" % (where(e), e.message))
        cases = {}
        cdir = os.path.join(d, "cases")
        for name in sorted(os.listdir(cdir)) if os.path.isdir(cdir) else []:
            cpath = os.path.join(cdir, name)
            try:
                c = load(cpath)
            except (OSError, ValueError) as e:
                report(cpath, "cannot read: %s" % e)
                continue
            files += 1
            cases["cases/" + name] = c
            for e in sorted(vc.iter_errors(c), key=lambda e: list(e.absolute_path)):
                report(cpath, "%s: %s" % (where(e), e.message))
        entries = index.get("cases") if isinstance(index.get("cases"), dict) else {}
        named = set()
        for cid, entry in entries.items():
            if not isinstance(entry, dict):
                continue
            for e in [entry] + list(entry.get("repetitions") or []):
                rel = e.get("report")
                c = cases.get(rel)
                named.add(rel)
                if c is None:
                    report(ipath, "$['cases'][%r]: report %r is not a file in cases/" % (cid, rel))
                elif c.get("id") != cid or c.get("repetition") != e.get("repetition"):
                    report(ipath, "$['cases'][%r]: %s is case %r repetition %r, the entry says repetition %r"
                           % (cid, rel, c.get("id"), c.get("repetition"), e.get("repetition")))
        for rel in sorted(set(cases) - named):
            report(os.path.join(d, rel), "no index entry names this file")
    print("validate-reports: %d file(s) in %d report(s), %d problem(s)" % (files, len(dirs), problems))
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.stderr.write("usage: validate-reports.py DIR...\n")
        sys.exit(2)
    sys.exit(main(sys.argv[1:]))
