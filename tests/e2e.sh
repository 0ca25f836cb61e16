#!/bin/bash
# tests/e2e.sh: end-to-end tests of gwspec, run by `make check`.
#
# The harness against the reference gateway (every case must pass), its reports (JUnit through
# xmllint, TAP through prove, HTML through xmllint --html), the offline checker against the live verdicts, the case linter's
# file:line:col errors, exit codes for an unreachable target, and the mutant matrix.
# Prints one line per test and ends with "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
BIN=${GWSPEC_BIN:-bin}
export GWSPEC_GATEWAY=$BIN/gwspec-gateway
GW=$BIN/gwspec
OUT=$(mktemp -d /tmp/gwspec-e2e.XXXXXX)
trap 'rm -rf "$OUT"' EXIT
passed=0
failed=0

ok() { passed=$((passed + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && sed 's/^/     /' "$2" | tail -40; }

# 1. The whole catalog against the embedded reference gateway passes, with every report.
if $GW run -j 2 --seed 1 --junit "$OUT/junit.xml" --tap "$OUT/tap.txt" --json "$OUT/json" \
        --html "$OUT/report.html" >"$OUT/run.txt" 2>&1; then
    ok "conform: every case passes against the reference gateway ($(tail -1 "$OUT/run.txt"))"
else
    bad "conform: every case passes against the reference gateway" "$OUT/run.txt"
fi

# 1b. The HTML report parses without an error (xmllint --html exits 0 even on errors, so its
#     output must be empty, but for its three-line complaints about the HTML5 elements its HTML 4
#     parser does not know: the diagrams' inline SVG, <details>) and has one matrix row per case.
ncases=$(sed -n 's/^gwspec: \([0-9]*\) case(s).*/\1/p' "$OUT/run.txt")
xmllint --html --noout "$OUT/report.html" 2>&1 |
    awk '/HTML parser error : Tag (svg|defs|marker|path|line|text|rect|circle|g|details|summary) invalid/ {skip = 3}
         skip {skip--; next} {print}' >"$OUT/html.txt"
rows=$(xmllint --html --xpath 'count(//tr[@class="case"])' "$OUT/report.html" 2>/dev/null)
if [ -s "$OUT/report.html" ] && [ ! -s "$OUT/html.txt" ] && [ -n "$ncases" ] && [ "$rows" = "$ncases" ]; then
    ok "html: parses, $rows matrix rows for $ncases cases, $(wc -c <"$OUT/report.html") bytes"
else
    echo "rows ${rows:-?}, cases ${ncases:-?}" >>"$OUT/html.txt"
    bad "html: parses, one matrix row per case" "$OUT/html.txt"
fi

# 1c. The run index says what the run cost (bench-suite prints it).
if jq -e '.resources.gateway_peak_rss_kb > 0 and .resources.harness_peak_rss_kb > 0
          and .resources.harness_cpu_ms > 0' "$OUT/json/index.json" >/dev/null 2>&1; then
    ok "resources: $(jq -c .resources "$OUT/json/index.json")"
else
    jq .resources "$OUT/json/index.json" >"$OUT/res.txt" 2>&1
    bad "resources: peak RSS and CPU in index.json" "$OUT/res.txt"
fi

# 1d. gwspec diff: a run against a mutant compared with the clean run names the regressions
# (exit 1), and the other way round is no regression (exit 0).
$GW run --seed 1 --json "$OUT/cleanjson" cases/5-terminal >/dev/null 2>&1
$GW run --seed 1 --mutant dup-complete --json "$OUT/mutjson" cases/5-terminal >/dev/null 2>&1
$GW diff "$OUT/cleanjson" "$OUT/mutjson" >"$OUT/diff.txt" 2>&1
drc=$?
$GW diff "$OUT/mutjson" "$OUT/cleanjson" >"$OUT/diff2.txt" 2>&1
drc2=$?
if [ $drc = 1 ] && [ $drc2 = 0 ] && grep -q 'WORSE  5.1.1-provider-completes-twice: OK -> FAILED  \["R-TERM-1"\]' "$OUT/diff.txt"; then
    ok "diff: $(tail -1 "$OUT/diff.txt" | sed 's/^gwspec diff: //')"
else
    cat "$OUT/diff2.txt" >>"$OUT/diff.txt"
    bad "diff: a mutant's regressions are listed (exit $drc, reverse exit $drc2)" "$OUT/diff.txt"
fi

# 2. The reports validate.
if xmllint --noout "$OUT/junit.xml" 2>"$OUT/xml.txt" \
        && [ "$(xmllint --xpath 'count(//testcase)' "$OUT/junit.xml")" -gt 0 ]; then
    ok "junit: well-formed, $(xmllint --xpath 'count(//testcase)' "$OUT/junit.xml") testcases"
else
    bad "junit: well-formed" "$OUT/xml.txt"
fi
if prove --exec cat "$OUT/tap.txt" >"$OUT/prove.txt" 2>&1; then
    ok "tap: prove parses it and agrees"
else
    bad "tap: prove parses it and agrees" "$OUT/prove.txt"
fi

# 3. gwspec check gives offline the verdicts the live run gave.
mismatch=0
n=0
for f in "$OUT"/json/cases/*.json; do
    [ -e "$f" ] || continue
    n=$((n + 1))
    # Python, not jq: Debian 12's jq 1.6 stops at 256 levels, and 4.1.40 forwards an event
    # nested 1,100 deep
    live=$(/usr/bin/python3 -c 'import json, sys
sys.setrecursionlimit(20000)
c = json.load(open(sys.argv[1]))
with open(sys.argv[2], "w") as out:
    for r in c.get("transcript", []):
        out.write(json.dumps(r, separators=(",", ":"), ensure_ascii=False) + "\n")
print(sum(1 for x in c.get("failures", []) if x.get("kind") == "invariant"))' "$f" "$OUT/t.jsonl")
    $GW check "$OUT/t.jsonl" >"$OUT/check.txt" 2>&1
    rc=$?
    if { [ "$live" = 0 ] && [ $rc != 0 ]; } || { [ "$live" != 0 ] && [ $rc != 1 ]; }; then
        mismatch=$((mismatch + 1))
        echo "     $(basename "$f"): live invariant failures $live, offline exit $rc"
    fi
done
if [ $n -gt 0 ] && [ $mismatch = 0 ]; then
    ok "check: offline verdicts equal live verdicts for $n transcripts"
else
    bad "check: offline verdicts equal live verdicts ($mismatch of $n differ)"
fi

# 4. Bad case files get file:line:col messages and exit 2. Each tests/lint/*.yaml starts with
#    "# expect: <text>" naming the message it must produce.
for f in tests/lint/*.yaml; do
    [ -e "$f" ] || continue
    want=$(sed -n '1s/^# expect: //p' "$f")
    $GW lint "$f" >"$OUT/lint.txt" 2>&1
    rc=$?
    if [ $rc = 2 ] && grep -qF -- "$want" "$OUT/lint.txt"; then
        ok "lint: $(basename "$f")"
    else
        echo "     exit $rc, wanted: $want" >>"$OUT/lint.txt"
        bad "lint: $(basename "$f")" "$OUT/lint.txt"
    fi
done

# 5. An unreachable target is exit 3, not a hang or a failure.
$GW run --target tests/targets/unreachable.yaml cases >"$OUT/unreach.txt" 2>&1
rc=$?
if [ $rc = 3 ]; then ok "exit 3 when the target cannot be reached"; else
    echo "exit $rc" >>"$OUT/unreach.txt"; bad "exit 3 when the target cannot be reached" "$OUT/unreach.txt"; fi

# 6. Misbehaving gateways yield ERROR or FAILED within the safety timeout, never a hang.
if [ -x "$BIN/gwspec-badgw" ]; then
    for mode in silent garbage huge close; do
        timeout 60 $GW run --target "tests/targets/badgw-$mode.yaml" --timeout-ms 1500 -j 4 \
            --filter '3.1.*' cases/3-inbound >"$OUT/bad.txt" 2>&1
        rc=$?
        if [ $rc = 1 ] || [ $rc = 3 ]; then ok "bad gateway '$mode': exit $rc, no hang"; else
            echo "exit $rc" >>"$OUT/bad.txt"; bad "bad gateway '$mode'" "$OUT/bad.txt"; fi
    done
fi

# 7. Record -> check -> replay -> minimize round trip against mutants (issue: fixtures).
if GWSPEC_BIN=$BIN bash tests/fixtures-roundtrip.sh >"$OUT/rt.txt" 2>&1; then
    ok "fixtures round trip: $(tail -1 "$OUT/rt.txt")"
else
    bad "fixtures round trip" "$OUT/rt.txt"
fi

# 8. Every mutant of the reference gateway is killed by the catalog.
if [ "${GWSPEC_SKIP_MUTANTS:-}" != 1 ]; then
    # A private output dir: a `make mutants` running at the same time must not share it.
    if GWSPEC_MUTANT_OUT="$OUT/mutants" bash tests/mutants.sh >"$OUT/mutants.txt" 2>&1; then
        ok "mutants: $(grep -c '^  killed' "$OUT/mutants.txt") killed, none survived"
    else
        grep -v '^  killed' "$OUT/mutants.txt" >"$OUT/mutants-bad.txt"
        bad "mutants: every mutant is killed" "$OUT/mutants-bad.txt"
    fi
fi

# 8b. Every document cases/, spec/ and fixtures/ cite is in the repository, and every section
#    they cite exists in it (tests/check-citations.py). A copy with a planted case holding five
#    bad citations (a document not in the repo, a missing section, a missing 7.2 case, a
#    missing seed scenario item, a bare §) and one data file name must fail with exactly those
#    five lines.
if /usr/bin/python3 tests/check-citations.py >"$OUT/cite.txt" 2>&1; then
    ok "citations: every cited document and section exists"
else
    bad "citations: every cited document and section exists" "$OUT/cite.txt"
fi
mkdir -p "$OUT/cite" && cp -r cases spec fixtures "$OUT/cite/"
printf '%s\n' 'id: 0.0.1' 'description: >' '  Planted: CloudCLI does this (cloudcli-notes.md §4.1,' \
    '  §4.7).' 'steps: [{emit: {file_path: notes.md}}]' '# planted: see cloudcli.md §4.2' '' \
    '# planted: cloudcli-notes.md §7.2 B and Z' '' '# planted: bare §6.5' \
    'expectation: cloudcli-notes.md §12 item 17' >"$OUT/cite/cases/0.0.1-planted.yaml"
/usr/bin/python3 tests/check-citations.py --root "$OUT/cite" >"$OUT/cite-bad.txt" 2>&1
rc=$?
if [ $rc = 1 ] && [ "$(wc -l <"$OUT/cite-bad.txt")" = 5 ] &&
    grep -q 'cites cloudcli.md, which is not in the repository' "$OUT/cite-bad.txt" &&
    grep -q 'planted.yaml:4:3: §4.7: .* has no section 4.7' "$OUT/cite-bad.txt" &&
    grep -q '§12 item 17: .* has no item 17' "$OUT/cite-bad.txt" &&
    grep -q '§7.2 has no case Z' "$OUT/cite-bad.txt" &&
    grep -q '§6.5 names no document' "$OUT/cite-bad.txt"; then
    ok "citations: five planted bad citations are reported, nothing else"
else
    echo "exit $rc" >>"$OUT/cite-bad.txt"
    bad "citations: five planted bad citations are reported, nothing else" "$OUT/cite-bad.txt"
fi

# 9. Exit codes: every row of the table in `gwspec --help` (issue 11). Each row is
#    "want|what|command"; the command runs in a subshell with $GW, $OUT and $CASE set.
CASE=cases/5-terminal
mkdir -p "$OUT/ec" "$OUT/ec-empty"
NOWHERE=$OUT/ec/a-file/x   # under a regular file: not writable, not even by root
: >"$OUT/ec/a-file"
sed 's/^capabilities: .*/capabilities: []/' fixtures/targets/reference.yaml >"$OUT/ec/nocap.yaml"
while IFS='|' read -r want what cmd; do
    [ -n "$want" ] || continue
    (eval "$cmd") >"$OUT/ec/out.txt" 2>&1
    rc=$?
    if [ "$rc" = "$want" ]; then ok "exit $want: $what"; else
        echo "exit $rc, wanted $want: $cmd" >>"$OUT/ec/out.txt"; bad "exit $want: $what" "$OUT/ec/out.txt"; fi
done <<'ROWS'
0|every scored case passed|$GW run --filter '5.1.1*' $CASE
1|a case failed|$GW run --mutant dup-complete --filter '5.1.1*' $CASE
1|a stale baseline entry|printf 'target: reference\nknown:\n  - case: 5.1.1-provider-completes-twice\n    requirement: R-TERM-1\n    witness: one_terminal/complete\n    reason: "fixed upstream; see #12"\n' >"$OUT/ec/b.yaml" && $GW run --baseline "$OUT/ec/b.yaml" --filter '5.1.1*' $CASE
0|a known failure (baseline, reason with " #" quoted)|printf 'target: reference\nknown:\n  - case: 5.1.1-provider-completes-twice\n    requirement: R-TERM-1\n    witness: [step-5/complete, one_terminal/complete]\n    reason: "dup complete; upstream #42"\n' >"$OUT/ec/k.yaml" && $GW run --mutant dup-complete --baseline "$OUT/ec/k.yaml" --filter '5.1.1*' $CASE
2|an empty selection (--filter) names the filter|$GW run --filter 'zzz*' 2>&1 | grep -F "no case selected by --filter 'zzz*'"; exit ${PIPESTATUS[0]}
2|an empty selection (--exclude everything)|$GW run --exclude '*' $CASE
2|an empty selection (--shard beyond the cases)|$GW run --shard 90/90 --filter '5.1.1*' $CASE
2|a path with no case|$GW run "$OUT/ec-empty"
2|an unknown tag (run)|$GW run --tag bogus 2>&1 | grep -F "unknown tag 'bogus'"; exit ${PIPESTATUS[0]}
2|an unknown tag (list)|$GW list --tag bogus
2|an unknown requirement (run)|$GW run --req R-NOPE-1 2>&1 | grep -F "unknown requirement 'R-NOPE-1'"; exit ${PIPESTATUS[0]}
2|an unknown requirement (list)|$GW list --req R-NOPE-1
2|an unknown mutant, before any gateway starts|$GW run --mutant nope $CASE 2>&1 | grep -F "unknown mutant 'nope'"; exit ${PIPESTATUS[0]}
2|every selected case UNIMPLEMENTED: nothing tested|$GW run --target "$OUT/ec/nocap.yaml" --filter '1.3.*' cases/1-transport
2|a bad option|$GW run --bogus-option
2|a case file that does not lint|$GW run tests/lint/$(ls tests/lint | head -1)
3|the target cannot be reached|$GW run --target tests/targets/unreachable.yaml $CASE
3|--junit cannot be written, --tap still is|rm -f "$OUT/ec/t.tap"; $GW run --filter '5.1.1*' --junit "$NOWHERE.xml" --tap "$OUT/ec/t.tap" $CASE; rc=$?; [ -s "$OUT/ec/t.tap" ] || rc=99; exit $rc
3|--tap cannot be written, --junit still is|rm -f "$OUT/ec/j.xml"; $GW run --filter '5.1.1*' --tap "$NOWHERE.tap" --junit "$OUT/ec/j.xml" $CASE; rc=$?; [ -s "$OUT/ec/j.xml" ] || rc=99; exit $rc
3|--html cannot be written, --json still is|rm -rf "$OUT/ec/j"; $GW run --filter '5.1.1*' --html "$NOWHERE.html" --json "$OUT/ec/j" $CASE; rc=$?; [ -s "$OUT/ec/j/index.json" ] || rc=99; exit $rc
3|--json cannot be written, --html still is|rm -f "$OUT/ec/h.html"; $GW run --filter '5.1.1*' --json "$NOWHERE" --html "$OUT/ec/h.html" $CASE; rc=$?; [ -s "$OUT/ec/h.html" ] || rc=99; exit $rc
2|replay --minimize without --target or --mutant, and nothing written|rm -f "$OUT/ec/min.yaml"; $GW replay fixtures/transcripts/duplicate-complete.jsonl --minimize --out "$OUT/ec/min.yaml"; rc=$?; [ -e "$OUT/ec/min.yaml" ] && rc=99; exit $rc
3|a failing run whose report cannot be written|$GW run --mutant dup-complete --filter '5.1.1*' --junit "$NOWHERE.xml" $CASE
ROWS
# the table the rows test is the one --help prints
if $GW --help | grep -q '^  2  usage or case-file error' && $GW run --help | grep -q '^  3  harness or target error'; then
    ok "exit codes: the table is in gwspec --help and gwspec run --help"
else
    bad "exit codes: the table is in gwspec --help and gwspec run --help"
fi

# 10. --repeat keeps every repetition, and a case with different verdicts is flaky (console,
#     index.json, HTML). tests/repeat/99.1.1-echo-seed.yaml passes only for the seed it is given:
#     a first run learns the seed of repetition 1, then --repeat 3 passes once and fails twice.
R=$OUT/repeat
mkdir -p "$R"
cp tests/repeat/99.1.1-echo-seed.yaml "$R/99.1.1-echo-seed.yaml"
$GW run --seed 5 --json "$R/probe" "$R/99.1.1-echo-seed.yaml" >"$R/probe.txt" 2>&1
s1=$(jq -r '[.transcript[] | select(.t == "recv" and .frame.kind == "stream_delta") | .frame.content][0]' \
     "$R/probe/cases/99.1.1-echo-seed.json" 2>/dev/null)
sed -i "s/@SEED@/$s1/" "$R/99.1.1-echo-seed.yaml"
$GW run --seed 5 --repeat 3 --json "$R/json" --html "$R/r.html" "$R/99.1.1-echo-seed.yaml" >"$R/run.txt" 2>&1
rc=$?
files=$(ls "$R/json/cases" 2>/dev/null | tr '\n' ' ')
if [ $rc = 1 ] && [ "$files" = "99.1.1-echo-seed.rep1.json 99.1.1-echo-seed.rep2.json 99.1.1-echo-seed.rep3.json " ] \
   && jq -e '.repeat == 3 and .flaky == [{"id": "99.1.1-echo-seed", "verdicts": ["OK", "FAILED", "FAILED"]}]
             and (.cases["99.1.1-echo-seed"] | .flaky and .verdict == "FAILED"
                  and ([.repetitions[].repetition] == [1, 2, 3])
                  and ([.repetitions[].verdict] == ["OK", "FAILED", "FAILED"]))' "$R/json/index.json" >/dev/null \
   && grep -q '^  FLAKY        99.1.1-echo-seed: OK FAILED FAILED$' "$R/run.txt" \
   && [ "$(xmllint --html --xpath 'count(//tr[@class="case"])' "$R/r.html" 2>/dev/null)" = 3 ] \
   && [ "$(xmllint --html --xpath 'count(//tr[@class="case"]//span[contains(@class,"v-flaky")])' "$R/r.html" 2>/dev/null)" = 3 ]; then
    ok "repeat: 3 repetitions in index.json, 3 case files, 3 HTML rows, flaky in all three reports"
else
    { echo "exit $rc, files: $files"; jq -c '{repeat, flaky}' "$R/json/index.json"; } >>"$R/run.txt" 2>&1
    bad "repeat: every repetition kept, the flaky case shown" "$R/run.txt"
fi

# 10b. -v prints the two-sided transcript of a failing case: frames sent and received, provider
#      events, the witness records marked.
$GW run -v --mutant dup-complete --filter '5.1.1*' cases/5-terminal >"$OUT/verbose.txt" 2>&1
if grep -q '^      transcript ([0-9]* records):$' "$OUT/verbose.txt" && grep -qE '^ +[0-9]+ +[0-9.]+ c1 +->gw +send ' "$OUT/verbose.txt" \
   && grep -qE '^ +\* +[0-9]+ +[0-9.]+ c1 +gw-> +recv .*"kind":"complete"' "$OUT/verbose.txt" \
   && grep -qE '^ +[0-9]+ +[0-9.]+ s1/r1 +prov-> +ctl ' "$OUT/verbose.txt" \
   && ! $GW run --filter '5.1.1*' cases/5-terminal -v | grep -q 'transcript ('; then
    ok "-v: the failing case's transcript, both sides, witnesses marked; none for a passing case"
else
    bad "-v: the failing case's transcript" "$OUT/verbose.txt"
fi

# 10c. The JSON reports validate against the committed schemas (spec/report/*.schema.json):
#      the whole catalog, a mutant run, the repeated run, a run with a baseline. A broken copy
#      must not validate.
PY=/usr/bin/python3
$GW run --mutant dup-complete --baseline "$OUT/ec/k.yaml" --filter '5.1.*' --json "$OUT/basejson" cases/5-terminal >/dev/null 2>&1
if $PY tests/validate-reports.py "$OUT/json" "$OUT/mutjson" "$R/json" "$OUT/basejson" >"$OUT/schema.txt" 2>&1; then
    ok "schema: $(tail -1 "$OUT/schema.txt" | sed 's/^validate-reports: //')"
else
    bad "schema: the reports validate" "$OUT/schema.txt"
fi
cp -r "$R/json" "$OUT/broken"
jq '.cases["99.1.1-echo-seed"].verdict = "PASSED" | del(.format)' "$R/json/index.json" >"$OUT/broken/index.json"
jq 'del(.verdict) | .repetition = 0' "$R/json/cases/99.1.1-echo-seed.rep2.json" >"$OUT/broken/cases/99.1.1-echo-seed.rep2.json"
: >"$OUT/broken/cases/stray.json"
$PY tests/validate-reports.py "$OUT/broken" >"$OUT/broken.txt" 2>&1
rc=$?
if [ $rc = 1 ] && grep -q "index.json: \$: 'format' is a required property" "$OUT/broken.txt" \
   && grep -q "index.json: \$\['cases'\]\['99.1.1-echo-seed'\]\['verdict'\]: 'PASSED' is not one of" "$OUT/broken.txt" \
   && grep -q "rep2.json: \$: 'verdict' is a required property" "$OUT/broken.txt" \
   && grep -q "rep2.json: \$\['repetition'\]: 0 is less than the minimum of 1" "$OUT/broken.txt" \
   && grep -q "stray.json: cannot read" "$OUT/broken.txt"; then
    ok "schema: a broken copy fails ($(tail -1 "$OUT/broken.txt" | sed 's/^validate-reports: //'))"
else
    echo "exit $rc" >>"$OUT/broken.txt"
    bad "schema: a broken copy fails validation" "$OUT/broken.txt"
fi

# 10d. `make` with no target builds every binary (all is the default goal), `make help` lists
#      the targets, gwspec --version names the spec versions.
make -s -n BUILD="$OUT/mk" BIN="$OUT/mkbin" >"$OUT/make.txt" 2>&1
built=$(grep -c -- "-o $OUT/mkbin/" "$OUT/make.txt")
make -s help >"$OUT/help.txt" 2>&1
# The number of binaries is the one make help names on its all line, so a new binary needs no edit here.
want=$(sed -n 's/^  all (default).*into [^:]*: //p' "$OUT/help.txt" | wc -w)
if [ "$built" -ge 5 ] && [ "$built" = "$want" ] && grep -q '^  check ' "$OUT/help.txt" \
   && $GW --version | grep -q '^spec chatgw/1.0: '; then
    ok "make: the default goal links the $built binaries; make help; gwspec --version"
else
    { echo "binaries linked by a plain make: $built"; cat "$OUT/help.txt"; $GW --version; } >>"$OUT/make.txt" 2>&1
    bad "make: the default goal, make help, --version" "$OUT/make.txt"
fi

# 11-signals. Nothing the harness starts outlives it (issue 11): SIGINT, SIGTERM and SIGHUP in
#      the middle of a run at -j 2 (and SIGTERM at -j 1, the in-process mode) exit 3 and leave
#      no process and no directory, checked by the pids and paths the harness recorded in
#      GWSPEC_MANIFEST, not by name. A harness killed outright (SIGKILL) takes its gateways and
#      workers with it (PR_SET_PDEATHSIG); the next run removes the directory it left.
leftovers() {   # manifest -> lines naming what is still there
    while read -r kind a b; do
        case $kind in
        gateway) kill -0 "$a" 2>/dev/null && echo "gateway $a alive"
                 [ "$b" != - ] && [ -e "$b" ] && echo "state dir $b left";;
        worker)  kill -0 "$a" 2>/dev/null && echo "worker $a alive";;
        dir)     [ -e "$a" ] && echo "dir $a left";;
        esac
    done <"$1"
    return 0
}
signal_run() {  # SIG JOBS GATEWAYS: signal once the manifest shows GATEWAYS gateways started
    local sig=$1 jobs=$2 want=$3 m="$OUT/manifest-$1-$2.txt" n=0 pid rc
    : >"$m"
    GWSPEC_MANIFEST="$m" $GW run -j "$jobs" --seed 7 cases/3-inbound cases/10-remap cases/5-terminal \
        >"$OUT/sig-$sig-$jobs.txt" 2>&1 &
    pid=$!
    while [ "$(grep -c '^gateway ' "$m")" -lt "$want" ] && kill -0 $pid 2>/dev/null && [ $n -lt 3000 ]; do
        sleep 0.01; n=$((n + 1))
    done
    kill -"$sig" $pid 2>/dev/null
    wait $pid
    rc=$?
    left=$(leftovers "$m")
    if [ $rc = 3 ] && grep -q "interrupted by SIG$sig" "$OUT/sig-$sig-$jobs.txt" && [ -z "$left" ] \
       && [ "$(grep -c '^gateway ' "$m")" -ge "$want" ]; then
        ok "signals: SIG$sig at -j $jobs: exit 3, $(grep -c . "$m") recorded, none left"
    else
        { echo "exit $rc"; echo "$left"; cat "$m"; } >>"$OUT/sig-$sig-$jobs.txt"
        bad "signals: SIG$sig at -j $jobs leaves nothing" "$OUT/sig-$sig-$jobs.txt"
    fi
}
signal_run INT 2 2
signal_run TERM 2 2
signal_run HUP 2 2
signal_run TERM 1 1
# A reader that goes away (`gwspec run | head -1`): SIGPIPE stops the run the same way.
m="$OUT/manifest-PIPE.txt"
: >"$m"
GWSPEC_MANIFEST="$m" $GW run -j 2 --seed 7 2>"$OUT/sig-PIPE.txt" | head -1 >/dev/null
left=$(leftovers "$m")
if [ -z "$left" ] && grep -q "interrupted by SIGPIPE" "$OUT/sig-PIPE.txt" && grep -q '^gateway ' "$m"; then
    ok "signals: a closed stdout (| head -1) stops the run; $(grep -c . "$m") recorded, none left"
else
    { echo "left: $left"; cat "$m"; } >>"$OUT/sig-PIPE.txt"
    bad "signals: a closed stdout leaves nothing" "$OUT/sig-PIPE.txt"
fi
m="$OUT/manifest-KILL.txt"
: >"$m"
# a private state root: another gwspec run on the machine (a parallel job) would sweep the
# directory first, and this row checks that the next run of this job does
export GWSPEC_STATE_ROOT="$OUT/state-root"
mkdir -p "$GWSPEC_STATE_ROOT"
GWSPEC_MANIFEST="$m" $GW run -j 2 --seed 7 cases/3-inbound cases/10-remap >"$OUT/sig-KILL.txt" 2>&1 &
pid=$!
n=0
while [ "$(grep -c '^worker ' "$m")" -lt 4 ] && kill -0 $pid 2>/dev/null && [ $n -lt 3000 ]; do
    sleep 0.01; n=$((n + 1))
done
kill -KILL $pid 2>/dev/null
wait $pid 2>/dev/null
# Processes go by the kernel's parent-death signal; give them the workers' grace to finish.
n=0
while [ -n "$(leftovers "$m" | grep alive)" ] && [ $n -lt 500 ]; do sleep 0.01; n=$((n + 1)); done
alive=$(leftovers "$m" | grep alive)
$GW run --filter '1.1.1*' >"$OUT/sig-after.txt" 2>&1
unset GWSPEC_STATE_ROOT
left=$(leftovers "$m")
if [ -z "$alive" ] && [ -z "$left" ] && grep -q "removed 1 state directory" "$OUT/sig-after.txt"; then
    ok "signals: SIGKILL: no process outlives the harness; the next run removes its directory"
else
    { echo "alive: $alive"; echo "left: $left"; cat "$m" "$OUT/sig-after.txt"; } >>"$OUT/sig-KILL.txt"
    bad "signals: SIGKILL leaves no process, and the next run sweeps the directory" "$OUT/sig-KILL.txt"
fi

# 11b-tools. gwspec-provider --help documents every persona; `--as claude -p hi` answers
#      (system/init, the echoed text, result) and exits; an unknown persona is exit 2.
PV=$BIN/gwspec-provider
$PV --help >"$OUT/pv-help.txt" 2>&1; hrc=$?
timeout 10 $PV --as claude -p hi >"$OUT/pv-p.txt" 2>&1; prc=$?
$PV --as nope >"$OUT/pv-nope.txt" 2>&1; nrc=$?
if [ $hrc = 0 ] && [ $prc = 0 ] && [ $nrc = 2 ] \
   && [ "$(grep -cE '^  (claude|cursor-agent|codex|opencode) ' "$OUT/pv-help.txt")" = 4 ] \
   && grep -q GWSPEC_FIXTURES "$OUT/pv-help.txt" \
   && jq -e -s '.[0].subtype == "init" and (.[1].message.content[0].text == "hi") and .[-1].type == "result"' \
        "$OUT/pv-p.txt" >/dev/null && grep -q "unknown persona 'nope'" "$OUT/pv-nope.txt"; then
    ok "gwspec-provider: --help names the 4 personas; --as claude -p hi answers; unknown persona exit 2"
else
    { echo "help $hrc, -p $prc, nope $nrc"; cat "$OUT/pv-help.txt" "$OUT/pv-p.txt" "$OUT/pv-nope.txt"; } >"$OUT/pv.txt"
    bad "gwspec-provider: --help, --as claude -p hi, unknown persona" "$OUT/pv.txt"
fi

# 12-baselines. Baselines that hide nothing new, and requirement coverage (issue 10 §4, §5).
# (a) An entry without a requirement is refused with file:line:col (exit 2). (b) Under mutant
# complete-success-when-aborted, 6.0.1 fails under R-TERM-3 and R-ABORT-1: both excused is a known
# failure (exit 0), only R-TERM-3 excused is a new failure (exit 1). (c) Under mutant dup-complete,
# 5.1.1 fails under R-TERM-1 with a duplicate complete: an entry excusing R-TERM-1 for a status
# after the complete (another witness), or excusing R-TERM-2, leaves new failures and is stale.
B=$OUT/base
PY=/usr/bin/python3
mkdir -p "$B"
$GW run --seed 1 --mutant dup-complete --baseline tests/baselines/no-requirement.yaml --filter '5.1.1*' \
    cases/5-terminal >"$B/noreq.txt" 2>&1
rc=$?
if [ $rc = 2 ] && grep -q "^gwspec: baseline: tests/baselines/no-requirement.yaml:5:5: baseline entry for '5.1.1-provider-completes-twice' without 'requirement'" "$B/noreq.txt"; then
    ok "baselines: an entry without requirement is refused (file:line:col, exit 2)"
else
    echo "exit $rc" >>"$B/noreq.txt"; bad "baselines: an entry without requirement is refused" "$B/noreq.txt"
fi
$GW run --seed 1 --mutant complete-success-when-aborted --baseline tests/baselines/abort-known.yaml \
    --filter '6.0.1*' cases/6-abort >"$B/known.txt" 2>&1
rc1=$?
$GW run --seed 1 --mutant complete-success-when-aborted --baseline tests/baselines/abort-other-requirement.yaml \
    --filter '6.0.1*' --json "$B/otherreq" cases/6-abort >"$B/otherreq.txt" 2>&1
rc2=$?
if [ $rc1 = 0 ] && grep -q '^1 known failure$' "$B/known.txt" && [ $rc2 = 1 ] \
   && grep -q '^  NEW-FAIL     6.0.1-abort-mid-stream: R-ABORT-1, witness step-6/complete, is not in the baseline' "$B/otherreq.txt" \
   && jq -e '.baseline.new == [{"case": "6.0.1-abort-mid-stream", "requirement": "R-ABORT-1", "witness": "step-6/complete", "message": "the next frame does not match"}]
             and .baseline.stale == [] and .cases["6.0.1-abort-mid-stream"].known == false and .exit_code == 1' \
        "$B/otherreq/index.json" >/dev/null; then
    ok "baselines: a failure under another requirement of a baselined case is new (exit 1; both excused: exit 0)"
else
    cat "$B/known.txt" >>"$B/otherreq.txt"; echo "exit $rc1 / $rc2" >>"$B/otherreq.txt"
    bad "baselines: a failure under another requirement of a baselined case is new" "$B/otherreq.txt"
fi
$GW run --seed 1 --mutant dup-complete --baseline tests/baselines/terminal-other-witness.yaml --filter '5.1.1*' \
    --json "$B/otherwit" cases/5-terminal >"$B/otherwit.txt" 2>&1
rc1=$?
$GW run --seed 1 --mutant dup-complete --baseline tests/baselines/terminal-other-requirement.yaml --filter '5.1.1*' \
    cases/5-terminal >"$B/otherreq2.txt" 2>&1
rc2=$?
if [ $rc1 = 1 ] && grep -q '^  NEW-FAIL     5.1.1-provider-completes-twice: R-TERM-1, witness one_terminal/complete, is not in the baseline' "$B/otherwit.txt" \
   && grep -q '^  STALE        5.1.1-provider-completes-twice: the entry for R-TERM-1, witness one_terminal/status, matched nothing: R-TERM-1 failed with another witness' "$B/otherwit.txt" \
   && jq -e '.baseline.stale == ["5.1.1-provider-completes-twice"] and ([.baseline.new[].witness] | sort) == ["one_terminal/complete", "step-5/complete"]' \
        "$B/otherwit/index.json" >/dev/null \
   && [ $rc2 = 1 ] && grep -q '^  STALE        5.1.1-provider-completes-twice: the entry for R-TERM-2, witness one_terminal/complete, matched nothing: the case failed, but not under R-TERM-2' "$B/otherreq2.txt" \
   && grep -q '^  NEW-FAIL     5.1.1-provider-completes-twice: R-TERM-1, witness one_terminal/complete' "$B/otherreq2.txt"; then
    ok "baselines: the same requirement with another witness, or another requirement, is new and the entry stale (exit 1)"
else
    cat "$B/otherreq2.txt" >>"$B/otherwit.txt"; echo "exit $rc1 / $rc2" >>"$B/otherwit.txt"
    bad "baselines: another witness / another requirement is new, the entry stale" "$B/otherwit.txt"
fi

# (d) Coverage: spec/chatgw-1.0 copied outside the repository as chatgw/1.1 (GWSPEC_SPEC_PATH)
# with one new MUST no case cites, and R-LIMIT-1 raised to MUST. Lint of the whole catalog and a
# whole-catalog run fail naming R-NEW-1 (every report says so); a filtered run does not; spec
# diff lists the addition and the change with their cases; `untestable:` with a reason makes
# lint and the run pass. chatgw/1.2 drops R-MAP-3: spec diff lists it with the cases citing it.
S=$OUT/specs
mkdir -p "$S" && cp -r spec/chatgw-1.0 "$S/chatgw-1.1"
sed -i 's|^version: chatgw/1.0|version: chatgw/1.1|' "$S/chatgw-1.1/requirements.yaml"
/usr/bin/python3 - "$S/chatgw-1.1/requirements.yaml" <<'PY'
import re, sys
p = sys.argv[1]
s = open(p).read()
a = s.index("  - id: R-LIMIT-1\n")
s = s[:a] + s[a:].replace("    level: SHOULD\n", "    level: MUST\n", 1)
s += ("\n  - id: R-NEW-1\n    level: MUST\n    section: 4\n"
      "    title: \"a requirement no case cites yet\"\n"
      "    text: >-\n      A gateway MUST answer a chat.ping with a chat.pong.\n")
open(p, "w").write(s)
PY
cp -r "$S/chatgw-1.1" "$S/chatgw-1.2"
sed -i 's|^version: chatgw/1.1|version: chatgw/1.2|' "$S/chatgw-1.2/requirements.yaml"
/usr/bin/python3 - "$S/chatgw-1.2/requirements.yaml" <<'PY'
import re, sys
p = sys.argv[1]
s = open(p).read()
a = s.index("  - id: R-MAP-3\n")
b = s.index("\n  - id: ", a + 1)
open(p, "w").write(s[:a] + s[b + 1:])
PY
newline=$(grep -n '^  - id: R-NEW-1$' "$S/chatgw-1.1/requirements.yaml" | cut -d: -f1)
nmust=$(grep -c '^    level: MUST$' "$S/chatgw-1.1/requirements.yaml")
nreq=$(grep -c '^  - id: ' spec/chatgw-1.0/requirements.yaml)
GWSPEC_SPEC_PATH=$S $GW lint --spec-version chatgw/1.1 cases/ >"$B/lint11.txt" 2>&1
rc1=$?
GWSPEC_SPEC_PATH=$S $GW lint --spec-version chatgw/1.1 cases/5-terminal >>"$B/lint11.txt" 2>&1
rc2=$?
GWSPEC_SPEC_PATH=$S $GW list --spec-version chatgw/1.1 --req R-NEW-1 >>"$B/lint11.txt" 2>&1
rc3=$?
if [ $rc1 = 2 ] && grep -qF "$S/chatgw-1.1/requirements.yaml:$newline:5: MUST requirement 'R-NEW-1' has no case in chatgw/1.1: write one, or mark it \`untestable:\` with the reason" "$B/lint11.txt" \
   && [ "$(grep -c 'has no case' "$B/lint11.txt")" = 1 ] && [ $rc2 = 0 ] \
   && [ $rc3 = 2 ] && grep -q ': no case cites R-NEW-1 (MUST)$' "$B/lint11.txt"; then
    ok "coverage: lint of the whole catalog names the MUST without a case (line $newline, exit 2), lint of one folder does not; list --req R-NEW-1 says no case cites it (exit 2)"
else
    echo "exit $rc1 / $rc2" >>"$B/lint11.txt"; bad "coverage: lint names the MUST without a case" "$B/lint11.txt"
fi
GWSPEC_SPEC_PATH=$S $GW run -j 2 --seed 1 --spec-version chatgw/1.1 --json "$B/j11" --junit "$B/j11.xml" --tap "$B/j11.tap" \
    --html "$B/j11.html" >"$B/run11.txt" 2>&1
rc1=$?
GWSPEC_SPEC_PATH=$S $GW run --seed 1 --spec-version chatgw/1.1 --filter '5.1.1*' cases/5-terminal >"$B/run11f.txt" 2>&1
rc2=$?
ntap=$(sed -n 's/^1\.\.//p' "$B/j11.tap")
if [ $rc1 = 1 ] && grep -q "^gwspec: the run fails: MUST requirements of chatgw/1.1 without a case:" "$B/run11.txt" \
   && grep -q "^  FAILED: MUST without a case (write one, or mark it \`untestable:\` with the reason): R-NEW-1$" "$B/run11.txt" \
   && grep -qE "^  MUST $nmust: [0-9]+ exercised, [0-9]+ not run, 1 without a case, 0 untestable$" "$B/run11.txt" \
   && grep -q ' passed, 0 failed$' "$B/run11.txt" \
   && jq -e '.exit_code == 1 and .coverage.missing_must == ["R-NEW-1"] and .coverage.scope == "catalog"
             and .coverage.levels.MUST.without_case == 1' "$B/j11/index.json" >/dev/null \
   && [ "$(xmllint --xpath 'string(//property[@name="coverage.MUST.without_case"]/@value)' "$B/j11.xml")" = 1 ] \
   && xmllint --xpath '//testcase[@name="requirement-coverage"]/failure' "$B/j11.xml" >/dev/null 2>&1 \
   && grep -qE "^# MUST $nmust: [0-9]+ exercised, [0-9]+ not run, 1 without a case, 0 untestable$" "$B/j11.tap" \
   && grep -q "^not ok $ntap - requirement coverage: MUST without a case: R-NEW-1$" "$B/j11.tap" \
   && grep -q 'MUST without a case: R-NEW-1' "$B/j11.html" \
   && $PY tests/validate-reports.py "$B/j11" >>"$B/run11.txt" 2>&1 \
   && [ $rc2 = 0 ] && grep -q '(the selected cases only, not enforced):$' "$B/run11f.txt"; then
    ok "coverage: a whole-catalog run fails naming R-NEW-1 (exit 1; console, JSON, JUnit, TAP, HTML); a filtered run passes"
else
    cat "$B/run11f.txt" >>"$B/run11.txt"; echo "exit $rc1 / $rc2" >>"$B/run11.txt"
    bad "coverage: a run fails for a MUST without a case" "$B/run11.txt"
fi
GWSPEC_SPEC_PATH=$S $GW spec diff chatgw/1.0 chatgw/1.1 >"$B/diff11.txt" 2>&1
rc1=$?
GWSPEC_SPEC_PATH=$S $GW spec diff chatgw/1.0 chatgw/1.2 >"$B/diff12.txt" 2>&1
rc2=$?
GWSPEC_SPEC_PATH=$S $GW spec diff chatgw/1.0 chatgw/9.9 >"$B/diff99.txt" 2>&1
rc3=$?
$GW spec diff chatgw/1.0 chatgw/1.0 >"$B/diff10.txt" 2>&1
rc4=$?
if [ $rc1 = 1 ] && grep -qE '^  added    R-NEW-1 +MUST +a requirement no case cites yet$' "$B/diff11.txt" \
   && grep -qE '^  changed  R-LIMIT-1 +MUST ' "$B/diff11.txt" && grep -q '^      level: SHOULD -> MUST$' "$B/diff11.txt" \
   && grep -q '^      cases: 1.0.2-oversized-frame' "$B/diff11.txt" \
   && grep -q "^1 added, 0 removed, 1 changed, $((nreq - 1)) unchanged$" "$B/diff11.txt" \
   && [ $rc2 = 1 ] && grep -qE '^  removed  R-MAP-3 ' "$B/diff12.txt" && grep -q "^1 added, 1 removed, 1 changed, $((nreq - 2)) unchanged$" "$B/diff12.txt" \
   && [ "$(grep -A1 '^  removed  R-MAP-3' "$B/diff12.txt" | tail -1 | tr ',' '\n' | wc -l)" = "$(grep -l 'R-MAP-3' cases/*/*.yaml | wc -l)" ] \
   && [ $rc3 = 2 ] && grep -q "unknown spec version 'chatgw/9.9'" "$B/diff99.txt" \
   && [ $rc4 = 0 ] && $GW --help | grep -q '^  spec diff OLD NEW'; then
    ok "spec diff: added, changed (level) and removed requirements with their cases (exit 1); unknown version exit 2; none exit 0"
else
    cat "$B/diff12.txt" "$B/diff99.txt" "$B/diff10.txt" >>"$B/diff11.txt"; echo "exit $rc1 / $rc2 / $rc3 / $rc4" >>"$B/diff11.txt"
    bad "spec diff: added, changed and removed requirements" "$B/diff11.txt"
fi
sed -i "$((newline + 1))a\\    untestable: \"no chat.ping frame exists in chatgw/1.1's catalog yet\"" "$S/chatgw-1.1/requirements.yaml"
GWSPEC_SPEC_PATH=$S $GW lint --spec-version chatgw/1.1 cases/ >"$B/lint11u.txt" 2>&1
rc1=$?
GWSPEC_SPEC_PATH=$S $GW run -j 2 --seed 1 --spec-version chatgw/1.1 --json "$B/j11u" >"$B/run11u.txt" 2>&1
rc2=$?
if [ $rc1 = 0 ] && [ $rc2 = 0 ] && grep -qE "^  MUST $nmust: [0-9]+ exercised, [0-9]+ not run, 0 without a case, 1 untestable$" "$B/run11u.txt" \
   && grep -q '^  marked untestable: R-NEW-1$' "$B/run11u.txt" \
   && jq -e '.exit_code == 0 and .coverage.missing_must == [] and .coverage.untestable[0].id == "R-NEW-1"' "$B/j11u/index.json" >/dev/null; then
    ok "coverage: marked untestable with a reason, R-NEW-1 passes lint and the run (exit 0), counted as untestable"
else
    cat "$B/lint11u.txt" >>"$B/run11u.txt"; echo "exit $rc1 / $rc2" >>"$B/run11u.txt"
    bad "coverage: untestable makes lint and the run pass" "$B/run11u.txt"
fi

# 13-ref. Issue 10 §3 (h-ref): the unknown-type fixture fails answers_in_order naming chat.nope;
#      the remap reaches nested values and the remap-top-level-only mutant is killed for it.
$GW check fixtures/transcripts/unknown-type-ignored.jsonl >"$OUT/aio.txt" 2>&1
rc=$?
if [ $rc = 1 ] && grep -q '^  answers_in_order: R-IN-2: c1: the chat.nope frame (record 3) was never answered' "$OUT/aio.txt"; then
    ok "check: unknown-type-ignored.jsonl fails answers_in_order (R-IN-2) naming the unanswered chat.nope"
else
    echo "exit $rc" >>"$OUT/aio.txt"
    bad "check: unknown-type-ignored.jsonl fails answers_in_order" "$OUT/aio.txt"
fi
$GW run --seed 3 --filter '10.1.[678]-*' cases/10-remap >"$OUT/remap-clean.txt" 2>&1
c_rc=$?
$GW run --seed 3 --mutant remap-top-level-only --filter '10.1.[678]-*' --json "$OUT/remapjson" cases/10-remap \
    >"$OUT/remap-mut.txt" 2>&1
killers=$(cat "$OUT/remapjson"/cases/*.json 2>/dev/null | jq -r 'select(.verdict == "FAILED")
    | select([.failures[]?.requirement] | index("R-MAP-2")) | .id' | sort | tr '\n' ' ')
if [ $c_rc = 0 ] && [ "$killers" = "10.1.6-nested-native-ids-remapped 10.1.8-native-id-in-pending-permission " ]; then
    ok "remap: 10.1.6-8 pass on the reference; remap-top-level-only fails 10.1.6 and 10.1.8 with R-MAP-2"
else
    { echo "clean exit $c_rc; killers: $killers"; cat "$OUT/remap-clean.txt" "$OUT/remap-mut.txt"; } >"$OUT/remap.txt"
    bad "remap: nested native ids" "$OUT/remap.txt"
fi

# 14-mutate. `gwspec run --fail-fast` (make mutate runs every mutant with it): with a mutant that
#      a case kills, the run stops at the first FAILED case (exit 1, one FAILED line, the rest
#      counted as not run); on the clean gateway the same selection runs whole and passes.
$GW run --seed 3 --fail-fast --mutant dup-complete cases/5-terminal cases/2-rest >"$OUT/ff.txt" 2>&1; frc=$?
$GW run --seed 3 --fail-fast cases/5-terminal cases/2-rest >"$OUT/ff-clean.txt" 2>&1; crc=$?
if [ $frc = 1 ] && [ "$(grep -cE '^  FAILED +[^ ]+ \([0-9]+ ms\)' "$OUT/ff.txt")" = 1 ] \
   && grep -qE '^gwspec: --fail-fast: stopped at the first FAILED or ERROR case; [1-9][0-9]* case\(s\) not run' "$OUT/ff.txt" \
   && [ $crc = 0 ] && ! grep -q -- '--fail-fast: stopped' "$OUT/ff-clean.txt"; then
    ok "run --fail-fast: stops at the first FAILED case ($(grep -o '[0-9]* case(s) not run' "$OUT/ff.txt")); a clean run is whole"
else
    { echo "mutant exit $frc, clean exit $crc"; cat "$OUT/ff.txt" "$OUT/ff-clean.txt"; } >"$OUT/ff-all.txt"
    bad "run --fail-fast" "$OUT/ff-all.txt"
fi

# 15-timing. within_ms's lower bound is proven, never a guess (issue 11): two frames the gateway
#      spaced by a 100 ms permission timeout but that one read brings in together (the client
#      was paused) are not early; a cancel 1 ms after the request still is.
$GW run --seed 3 --json "$OUT/timingjson" tests/timing >"$OUT/timing.txt" 2>&1; trc=$?
tv=$(cat "$OUT/timingjson"/cases/*.json 2>/dev/null | jq -r '"\(.id)=\(.verdict)"' | sort | tr '\n' ' ')
if [ $trc = 1 ] && [ "$tv" = "9.8.1-frames-read-together-are-not-early=OK 9.8.2-early-timeout-is-early=FAILED " ] \
   && grep -q 'before the lower bound of 80 ms' "$OUT/timing.txt"; then
    ok "within_ms: frames read together after a pause are not early; a 1 ms timeout is"
else
    echo "exit $trc; verdicts: $tv" >>"$OUT/timing.txt"
    bad "within_ms lower bound" "$OUT/timing.txt"
fi

# 16-console. The verdict labels are coloured on a terminal only (script(1) gives the run a pty),
#      never with NO_COLOR set or when piped; the run ends with every case that is not OK and
#      the command that reruns it alone.
script -qec "$GW run --seed 3 --mutant dup-complete cases/5-terminal/5.1.1-provider-completes-twice.yaml cases/5-terminal/5.4.1-complete-shape.yaml" /dev/null </dev/null >"$OUT/tty.txt" 2>&1
NO_COLOR=1 script -qec "$GW run --seed 3 --mutant dup-complete cases/5-terminal/5.1.1-provider-completes-twice.yaml" /dev/null </dev/null >"$OUT/tty-nc.txt" 2>&1
$GW run --seed 3 --mutant dup-complete cases/5-terminal/ >"$OUT/piped.txt" 2>&1
esc=$(printf '\033')
if grep -q "${esc}\[1;31mFAILED" "$OUT/tty.txt" && grep -q "${esc}\[32mOK" "$OUT/tty.txt" \
   && ! grep -q "$esc" "$OUT/tty-nc.txt" && ! grep -q "$esc" "$OUT/piped.txt" \
   && grep -q '^not ok:$' "$OUT/piped.txt" \
   && grep -qE '^  FAILED +5\.1\.1-provider-completes-twice +[^ ]*gwspec run --seed 3 --mutant dup-complete cases/5-terminal/5\.1\.1-provider-completes-twice\.yaml$' "$OUT/piped.txt"; then
    ok "console: colour on a tty only (not with NO_COLOR, not piped); the not-ok list with rerun lines"
else
    cat "$OUT/tty.txt" "$OUT/tty-nc.txt" "$OUT/piped.txt" >"$OUT/console-all.txt"
    bad "console colour and not-ok list" "$OUT/console-all.txt"
fi

# 17-stdfds. A harness started with its standard input closed (a CI runner, `cmd <&-`) still
#      starts its gateway: the gateway's log file would otherwise take descriptor 0, and the
#      child's dup2 of /dev/null onto 0 would put the log, and the readiness line, in /dev/null.
$GW run --seed 3 cases/5-terminal/5.4.1-complete-shape.yaml <&- >"$OUT/closed-stdin.txt" 2>&1; src=$?
if [ $src = 0 ] && grep -q '^4 passed, 0 failed$' "$OUT/closed-stdin.txt"; then
    ok "run with stdin closed: the gateway starts and the cases pass"
else
    echo "exit $src" >>"$OUT/closed-stdin.txt"
    bad "run with stdin closed" "$OUT/closed-stdin.txt"
fi

# 18-alternatives. A failed alternative's rollback gives back what it consumed but keeps what
#      arrived while it waited: the announce bound ${native.s1} during the first alternative, and
#      the second one names it (before the fix it was unbound there: ERROR).
$GW run --seed 3 tests/alternatives >"$OUT/alt.txt" 2>&1; arc=$?
if [ $arc = 0 ] && grep -q '^  OK           99.1.1-rollback-keeps-arrivals' "$OUT/alt.txt"; then
    ok "alternatives: a rollback keeps the bindings of what arrived"
else
    echo "exit $arc" >>"$OUT/alt.txt"
    bad "alternatives rollback" "$OUT/alt.txt"
fi

# 19-alias-bomb. A billion-laughs file (issue 18: 392 bytes took lint 8 s and 1.7 GB) is refused
#      in milliseconds by every YAML reader, at the alias that expands past the bound: gwspec
#      lint and the gateway's --users. Six levels (9^6 nodes) so that without the bound the
#      file loads in about a second instead of being refused, and the test fails cheaply.
{
    echo 'a0: &a0 [x, x, x, x, x, x, x, x, x]'
    for i in 1 2 3 4 5 6; do
        printf 'a%d: &a%d [' $i $i
        for j in 1 2 3 4 5 6 7 8; do printf '*a%d, ' $((i - 1)); done
        printf '*a%d]\n' $((i - 1))
    done
} >"$OUT/bomb.yaml"
want="$OUT/bomb.yaml:6:10: alias '*a4' expands the document past 100000 nodes"
t0=$(date +%s%N)
timeout 10 $GW lint "$OUT/bomb.yaml" >"$OUT/bomb-lint.txt" 2>&1; brc=$?
timeout 10 $BIN/gwspec-gateway --port 0 --users "$OUT/bomb.yaml" </dev/null >"$OUT/bomb-gw.txt" 2>&1; grc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
if [ $brc = 2 ] && [ $grc = 2 ] && [ $ms -lt 2000 ] && grep -qxF "$want" "$OUT/bomb-lint.txt" \
   && grep -qF "error: --users: $want" "$OUT/bomb-gw.txt"; then
    ok "alias bomb: lint and --users refuse it at the alias in $ms ms ($(wc -c <"$OUT/bomb.yaml") bytes)"
else
    echo "lint exit $brc, gateway exit $grc, $ms ms; wanted: $want" >>"$OUT/bomb-lint.txt"
    cat "$OUT/bomb-gw.txt" >>"$OUT/bomb-lint.txt"
    bad "alias bomb refused fast" "$OUT/bomb-lint.txt"
fi

# 20-flood. A flooding gateway does not grow the harness without bound (issue 18: a ping flood
#      took it to 682 MB for one case, small frames to 1 GB; tests/badgw.c floods as fast as the
#      socket drains). Three repetitions at -j 2 of a case that waits on its socket (expect_ping,
#      then a sentinel that badgw never answers), under /usr/bin/time, with the default cap.
#      frame-flood: every repetition is ERROR with the cap's message, its socket closed by the
#      client with 1008, its report cut to the first 1000 and last 100 frames with a note (and
#      still schema-valid). ping-flood: ping 1001 on a connection ends the case at once as
#      ERROR naming the ping cap (exactly 1000 ping records, the client's 1008 close), long
#      before its safety timeout (15 s here). Peak RSS under 200 MB (frames: the 128 MiB cap's
#      records) and 64 MB (pings), three times that under ASan; without the bounds both are far
#      over in about a second.
if [ -x "$BIN/gwspec-badgw" ] && [ -x /usr/bin/time ]; then
    fc=cases/1-transport/1.3.1-pings-on-an-idle-socket.yaml
    # under ASan (make asan) every allocation has redzones and freed memory waits in quarantine
    scale=1 && ldd "$GW" 2>/dev/null | grep -q libasan && scale=3
    for mode in frame-flood ping-flood; do
        fo="$OUT/flood-$mode"
        # either flood must reach its cap (about 0.5 s here) long before a step times out
        tmo=15000
        t0=$(date +%s%N)
        /usr/bin/time -f %M -o "$fo.rss" timeout 60 $GW run --seed 3 -j 2 --repeat 3 \
            --target "tests/targets/badgw-$mode.yaml" --timeout-ms $tmo --json "$fo" "$fc" \
            >"$fo.txt" 2>&1
        frc=$?
        ms=$((($(date +%s%N) - t0) / 1000000))
        kb=$(tail -1 "$fo.rss")
        case $mode in
        frame-flood)
            limit=$((204800 * scale))
            nerr=$(grep -cE '^  ERROR +1\.3\.1-[a-z-]+ \([0-9]+ ms\)' "$fo.txt")
            ncap=$(grep -cE 'case recorded over 134217728 bytes \(--max-case-bytes\): the target sent [0-9]+ frames / [0-9]+ bytes' "$fo.txt")
            # every case report: the 1008 close, the cut note, at most 1000 + 100 frames kept
            good=$(jq -s '[.[] | select(
                ([.transcript[] | select(.t == "close" and .by == "client" and .code == 1008)] | length) == 1
                and ([.transcript[] | select(.t == "note" and (.text | test("are left out of this report: the case went over --max-case-bytes")))] | length) == 1
                and ([.transcript[] | select(.t == "recv")] | length) <= 1100)] | length' "$fo"/cases/*.json 2>>"$fo.txt")
            want="$nerr = 3, $ncap = 3, $good = $(ls "$fo"/cases/*.json | wc -l)"
            /usr/bin/python3 tests/validate-reports.py "$fo" >>"$fo.txt" 2>&1 && valid=1 || valid=0
            [ "$nerr" = 3 ] && [ "$ncap" = 3 ] && [ -n "$good" ] && [ "$good" -ge 1 ] &&
                [ "$good" = "$(ls "$fo"/cases/*.json | wc -l)" ] && [ $valid = 1 ]
            shape=$?
            ;;
        ping-flood)
            limit=$((65536 * scale))
            want="3 ERROR naming the ping cap, 1000 ping records and a 1008 close in every report, under 10 s"
            ncap=$(grep -cE 'c1: the target sent more than 1000 pings on one connection \(the harness.s ping cap per connection\)' "$fo.txt")
            good=$(jq -s '[.[] | select(
                ([.transcript[] | select(.t == "ping")] | length) == 1000
                and ([.transcript[] | select(.t == "close" and .by == "client" and .code == 1008)] | length) == 1)] | length' "$fo"/cases/*.json 2>>"$fo.txt")
            [ "$(grep -cE '^  ERROR +1\.3\.1-[a-z-]+ \([0-9]+ ms\)' "$fo.txt")" = 3 ] && [ "$ncap" -ge 3 ] && [ -n "$good" ] && [ "$good" -ge 1 ] &&
                [ "$good" = "$(ls "$fo"/cases/*.json | wc -l)" ] && [ $ms -lt 10000 ]
            shape=$?
            ;;
        esac
        if [ $frc = 3 ] && [ $shape = 0 ] && [ -n "$kb" ] && [ "$kb" -lt $limit ]; then
            ok "flood '$mode': ERROR as it should, peak RSS $((kb / 1024)) MB (< $((limit / 1024))), $ms ms for 3 cases at -j 2"
        else
            echo "exit $frc, peak RSS ${kb:-?} kB (limit $limit), $ms ms; wanted $want" >>"$fo.txt"
            bad "flood '$mode': bounded memory, ERROR with the reason" "$fo.txt"
        fi
    done
fi

# 21-backpressure. Issue 18, R-LIMIT-5, at the gateway's default 8 MiB send cap (the catalog's
#      profile runs at 2 MiB): (a) the issue's refresh, a replay of 5,000 events of 2 KB
#      (10 MB), reaches a new socket whole; (b) a stalled reader that is its run's only socket
#      pauses the provider, and is still cut once its full queue has not moved for the stall
#      timeout (--stall-timeout-s 1): the run then goes on (its `hold` barrier is reached only
#      after the drop), and a refresh gets the run's 9 MB of 30 KB events replayed.
sed 's/--send-cap, "2097152"/--stall-timeout-s, "1"/' fixtures/targets/reference.yaml >"$OUT/bp-target.yaml"
mkdir -p "$OUT/bp"
cat >"$OUT/bp/99.2.1-refresh-replay-of-ten-megabytes.yaml" <<'YAML'
id: 99.2.1-refresh-replay-of-ten-megabytes
title: a refresh during a run of 5,000 events of 2 KB (10 MB) gets all of them
spec: [R-LIMIT-5]
tags: [slow]
description: issue 18, the refresh that was dropped before its chat_subscribed on every retry
expectation: the ack, seq 1 to 5000 (the whole replay buffer) in order, then the live complete
sessions:
  s1: {provider: claude}
providers:
  s1:
    - announce: auto
    - emit_many: {count: 4999, kind: stream_delta, content: "d%d", pad: {$repeat: {count: 2048, text: x}}}
    - emit: {kind: thinking, content: last}
    - barrier: hold
    - complete: 0
ignore: [session_upserted, loading_progress, stream_delta]
timeout_ms: 20000
steps:
  - connect: c1
  - send: {c1: {type: chat.send, sessionId: $s1, content: $script.s1}}
  - expect: {c1: {kind: thinking, content: last, seq: 5000}}
  - reached: {s1: hold}
  - disconnect: c1
  - connect: c2
  - send: {c2: {type: chat.subscribe, sessions: [{sessionId: $s1, lastSeq: 0}]}}
  - expect: {c2: {kind: chat_subscribed, sessionId: $s1, isProcessing: true, lastSeq: 5000}}
  - expect: {c2: {kind: thinking, content: last, seq: 5000}}
  - release: {s1: hold}
  - expect: {c2: {kind: complete, success: true, seq: 5001}}
  - provider_done: {s1: completed}
YAML
cat >"$OUT/bp/99.2.2-stalled-only-reader-is-still-cut.yaml" <<'YAML'
id: 99.2.2-stalled-only-reader-is-still-cut
title: a run's only socket stops reading; it is cut after the stall timeout and the run goes on
spec: [R-LIMIT-2, R-LIMIT-5]
tags: [slow]
description: issue 18, the cap exists to cut a stalled reader; pausing the provider must keep that
expectation: hold is reached (after the drop), c1 is closed, c2's replay has all 302 events
sessions:
  s1: {provider: claude}
providers:
  s1:
    - announce: auto
    - emit: {kind: thinking, content: first}
    - barrier: go
    - emit_many: {count: 300, kind: stream_delta, content: "d%d", pad: {$repeat: {count: 30720, text: x}}}
    - emit: {kind: thinking, content: last}
    - barrier: hold
    - complete: 0
ignore: [session_upserted, loading_progress, stream_delta]
timeout_ms: 20000
steps:
  - connect: c1
  - send: {c1: {type: chat.send, sessionId: $s1, content: $script.s1}}
  - expect: {c1: {kind: thinking, content: first, seq: 1}}
  - reached: {s1: go}
  - pause: c1
  - release: {s1: go}
  - reached: {s1: hold}
  - resume: c1
  - expect_close: c1
  - connect: c2
  - send: {c2: {type: chat.subscribe, sessions: [{sessionId: $s1, lastSeq: 0}]}}
  - expect: {c2: {kind: chat_subscribed, sessionId: $s1, isProcessing: true, lastSeq: 302}}
  - expect: {c2: {kind: thinking, content: first, seq: 1}}
  - expect: {c2: {kind: thinking, content: last, seq: 302}}
  - release: {s1: hold}
  - expect: {c2: {kind: complete, success: true, seq: 303}}
  - provider_done: {s1: completed}
YAML
$GW run --seed 3 -j 2 --target "$OUT/bp-target.yaml" "$OUT/bp" >"$OUT/bp.txt" 2>&1; bprc=$?
$GW run --seed 3 --target "$OUT/bp-target.yaml" --mutant replay-queued-whole \
    "$OUT/bp/99.2.1-refresh-replay-of-ten-megabytes.yaml" >"$OUT/bp-mut.txt" 2>&1; bpmrc=$?
if [ $bprc = 0 ] && grep -q '^2 passed, 0 failed$' "$OUT/bp.txt" && [ $bpmrc = 1 ] \
   && grep -q '^  FAILED       99.2.1-refresh-replay-of-ten-megabytes' "$OUT/bp-mut.txt"; then
    ok "backpressure: a 10 MB replay at the 8 MiB cap arrives whole (not with replay-queued-whole); a stalled only reader is still cut"
else
    echo "exit $bprc, mutant exit $bpmrc" >>"$OUT/bp.txt"
    cat "$OUT/bp-mut.txt" >>"$OUT/bp.txt"
    bad "backpressure at the default send cap" "$OUT/bp.txt"
fi

# 22-unparsed. Issue 18: a message is charged to --max-case-bytes as its bytes arrive, before it
#      is parsed. tests/badgw.c (mode big-json) answers the first frame with one 15 MiB text frame
#      of valid JSON, under the harness's 16 MiB frame cap; with --max-case-bytes 1M the case is
#      ERROR naming the cap and saying the message was cut before it was parsed, its socket
#      closed by the client with 1008, having read a little over 1 MiB of it. Peak RSS (as
#      /usr/bin/time counts it: the largest of the harness and its children, so badgw's own
#      15 MiB frame sets most of it) under 48 MB: a harness that parsed the frame would hold it
#      four times over (rx, payload, message, JSON string: 68 MB measured before the change, 34 MB
#      after); three times that under ASan.
if [ -x "$BIN/gwspec-badgw" ] && [ -x /usr/bin/time ]; then
    scale=1 && ldd "$GW" 2>/dev/null | grep -q libasan && scale=3
    uo="$OUT/unparsed"
    /usr/bin/time -f %M -o "$uo.rss" timeout 60 $GW run --seed 3 --target tests/targets/badgw-big-json.yaml \
        --timeout-ms 15000 --max-case-bytes 1M --json "$uo" cases/3-inbound/3.1.1-unknown-type.yaml \
        >"$uo.txt" 2>&1
    urc=$?
    kb=$(tail -1 "$uo.rss")
    got=$(jq -r '[.verdict, ([.transcript[] | select(.t == "close" and .by == "client" and .code == 1008)] | length),
                  ([.transcript[] | select(.t == "note" and (.text | test("^c1: a message of at least [0-9]+ bytes while the case held [0-9]+: over --max-case-bytes \\(1048576\\), cut before it was parsed$")))] | length),
                  ([.transcript[] | select(.t == "recv")] | length)] | map(tostring) | join(" ")' "$uo"/cases/*.json 2>>"$uo.txt")
    if [ $urc = 3 ] && [ "$got" = "ERROR 1 1 0" ] && [ -n "$kb" ] && [ "$kb" -lt $((49152 * scale)) ] &&
       grep -qE 'case recorded over 1048576 bytes \(--max-case-bytes\): a message of at least [0-9]+ bytes on c1 \(the case held [0-9]+\) was cut before it was parsed' "$uo.txt"; then
        ok "unparsed: a 15 MiB frame over --max-case-bytes 1M is ERROR before it is parsed, peak RSS $((kb / 1024)) MB"
    else
        echo "exit $urc, got '$got' (want 'ERROR 1 1 0'), peak RSS ${kb:-?} kB" >>"$uo.txt"
        bad "unparsed: a frame over the case's byte cap is cut before it is parsed" "$uo.txt"
    fi
fi

# 23-record-cap. Issue 18: `gwspec record` in front of a flooding gateway (tests/badgw.c,
#      frame-flood) with --max-bytes 1M stops by itself: exit 1, its stderr names the limit, the
#      transcript is at most 1 MiB plus the last record, a `note` of the cut, and `gwspec check`
#      reads it (exit 0 or 1, not 2: every line before the cut is a whole record). A bad
#      --max-bytes is a usage error (exit 2).
if [ -x "$BIN/gwspec-badgw" ]; then
    rc_dir="$OUT/reccap"
    mkdir -p "$rc_dir"
    "$BIN/gwspec-badgw" --mode frame-flood >"$rc_dir/gw.log" 2>&1 &
    rc_gw=$!
    rc_port=
    for _ in $(seq 100); do
        rc_port=$(sed -n 's/.*listening on [^ :]*:\([0-9][0-9]*\).*/\1/p' "$rc_dir/gw.log" 2>/dev/null | head -1)
        [ -n "$rc_port" ] && break
        sleep 0.05
    done
    $GW record --listen 0 --upstream "ws://127.0.0.1:$rc_port/ws" --max-bytes 1M \
        --out "$rc_dir/t.jsonl" 2>"$rc_dir/px.log" &
    rc_px=$!
    rc_pport=
    for _ in $(seq 100); do
        rc_pport=$(sed -n 's/.*listening on [^ :]*:\([0-9][0-9]*\).*/\1/p' "$rc_dir/px.log" 2>/dev/null | head -1)
        [ -n "$rc_pport" ] && break
        sleep 0.05
    done
    sed -e '/^start:/,/^  timeout_ms:/d' -e "s/^name: .*/name: reccap\nhost: 127.0.0.1\nport: $rc_pport/" \
        tests/targets/badgw-frame-flood.yaml >"$rc_dir/target.yaml"
    timeout 60 $GW run --seed 3 --target "$rc_dir/target.yaml" --timeout-ms 5000 \
        cases/1-transport/1.3.1-pings-on-an-idle-socket.yaml >"$rc_dir/run.txt" 2>&1
    # the proxy stops by itself at the cap; give it 10 s, then stop it (a failure)
    for _ in $(seq 100); do kill -0 $rc_px 2>/dev/null || break; sleep 0.1; done
    kill $rc_px 2>/dev/null
    wait $rc_px
    rc_rc=$?
    kill $rc_gw 2>/dev/null
    wait $rc_gw 2>/dev/null
    rc_size=$(wc -c <"$rc_dir/t.jsonl")
    $GW check "$rc_dir/t.jsonl" >"$rc_dir/check.txt" 2>&1
    rc_crc=$?
    $GW record --listen 0 --upstream ws://127.0.0.1:1/ws --max-bytes 1X >"$rc_dir/usage.txt" 2>&1
    rc_urc=$?
    if [ $rc_rc = 1 ] && grep -q 'gwspec record: record: the transcript reached --max-bytes 1048576' "$rc_dir/px.log" &&
       [ "$rc_size" -le $((1048576 + 4096)) ] && [ "$rc_size" -gt 1000000 ] &&
       tail -1 "$rc_dir/t.jsonl" | jq -e '.t == "note" and (.text | test("^record: the transcript reached --max-bytes 1048576 .*recording stopped here"))' >/dev/null &&
       { [ $rc_crc = 0 ] || [ $rc_crc = 1 ]; } && [ $rc_urc = 2 ] && grep -q 'max-bytes takes a byte count' "$rc_dir/usage.txt"; then
        ok "record cap: --max-bytes 1M against a flood stops the proxy (exit 1), $rc_size bytes, a note of the cut, check reads it"
    else
        { echo "record exit $rc_rc (want 1), size $rc_size, check exit $rc_crc, usage exit $rc_urc"
          cat "$rc_dir/px.log"; tail -c 600 "$rc_dir/t.jsonl"; cat "$rc_dir/check.txt" "$rc_dir/run.txt"; } >"$rc_dir/why.txt"
        bad "record cap: --max-bytes stops the proxy with a valid transcript" "$rc_dir/why.txt"
    fi
fi
#      And an HTTP response over the proxy's 4 MiB body cap (a 5 MiB REST answer from a Python
#      upstream) reaches the client whole; its `http` record is followed by a `note` of the cut.
rb_dir="$OUT/recbody"
mkdir -p "$rb_dir"
/usr/bin/python3 - "$rb_dir/up.port" >"$rb_dir/up.log" 2>&1 <<'PY' &
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"x" * (5 << 20)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
srv = http.server.HTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1], "w").write(str(srv.server_address[1]))
srv.handle_request()
PY
rb_up=$!
for _ in $(seq 100); do [ -s "$rb_dir/up.port" ] && break; sleep 0.05; done
$GW record --listen 0 --upstream "http://127.0.0.1:$(cat "$rb_dir/up.port" 2>/dev/null)/ws" \
    --out "$rb_dir/t.jsonl" 2>"$rb_dir/px.log" &
rb_px=$!
rb_pport=
for _ in $(seq 100); do
    rb_pport=$(sed -n 's/.*listening on [^ :]*:\([0-9][0-9]*\).*/\1/p' "$rb_dir/px.log" 2>/dev/null | head -1)
    [ -n "$rb_pport" ] && break
    sleep 0.05
done
rb_got=$(timeout 30 /usr/bin/python3 -c 'import sys, urllib.request
print(len(urllib.request.urlopen("http://127.0.0.1:%s/big" % sys.argv[1], timeout=20).read()))' "$rb_pport" 2>>"$rb_dir/up.log")
kill $rb_px 2>/dev/null
wait $rb_px
rb_rc=$?
kill $rb_up 2>/dev/null
wait $rb_up 2>/dev/null
rb_shape=$(jq -rs '[.[] | select(.t == "http" or .t == "note")] | map(if .t == "http" then "http \(.status)" else .text end) | join(" | ")' "$rb_dir/t.jsonl" 2>>"$rb_dir/up.log")
if [ "$rb_got" = 5242880 ] && [ $rb_rc = 0 ] &&
   [ "$rb_shape" = "http 200 | record: the response to GET /big is over 4194304 bytes (the proxy's body cap): relayed whole, its record keeps the first bytes only" ]; then
    ok "record cap: a 5 MiB REST answer is relayed whole, recorded in part with a note of the cut"
else
    { echo "client got ${rb_got:-?} bytes, record exit $rb_rc, records: $rb_shape"; cat "$rb_dir/px.log" "$rb_dir/up.log"; } >"$rb_dir/why.txt"
    bad "record cap: an HTTP body over the proxy's cap" "$rb_dir/why.txt"
fi

# --- the reference client (reference-client/): every mutant over real sockets ------------------
# tests/client-smoke.py plays a scripted session server (no harness server role needed) and
# checks, per mutant, one observable: its value for the reference client and for the mutant.
if [ -x "$BIN/gwspec-client" ] &&
   timeout 300 /usr/bin/python3 tests/client-smoke.py "$BIN" >"$OUT/client-smoke.txt" 2>&1; then
    ok "reference client: $(tail -1 "$OUT/client-smoke.txt")"
else
    bad "reference client: tests/client-smoke.py (each mutant observable on the wire)" "$OUT/client-smoke.txt"
fi

# 24-server-role. Issue 14: the harness plays the session server and the target is a client. (a)
# The claude-remote/1 catalog passes against the reference client at -j 2, with a JUnit report;
# (b) the mutant retry-after-4003 fails 2.1.1 on CR-RETRY-1 (exit 1); (c) the transcript of a
# double-answer run is checked offline by `gwspec check` and answer_once names CR-CTL-1; (d) no
# client process outlives its case (the pids of every `spawn` record are gone); (e) lint refuses a
# server-role step in a gateway case and a gateway step in a client case, with file:line:col.
sr_dir=$OUT/server-role
mkdir -p "$sr_dir"
if [ -x "$BIN/gwspec-client" ]; then
    $GW run -j 2 --spec-version claude-remote/1 --target fixtures/targets/reference-client.yaml \
        --junit "$sr_dir/junit.xml" --json "$sr_dir/ok" >"$sr_dir/ok.txt" 2>&1
    sr_rc=$?
    if [ $sr_rc = 0 ] && grep -q ' passed, 0 failed$' "$sr_dir/ok.txt" &&
       xmllint --noout "$sr_dir/junit.xml" 2>/dev/null; then
        ok "server role: the claude-remote/1 catalog passes against the reference client"
    else
        bad "server role: the claude-remote/1 catalog against the reference client (exit $sr_rc)" "$sr_dir/ok.txt"
    fi
    $GW run --spec-version claude-remote/1 --target fixtures/targets/reference-client.yaml \
        --mutant retry-after-4003 --json "$sr_dir/m4003" \
        cases/claude-remote-1/2-retry/2.1.1-4003-is-permanent.yaml >"$sr_dir/m4003.txt" 2>&1
    sr_rc=$?
    if [ $sr_rc = 1 ] && grep -q 'FAILED *2.1.1-4003-is-permanent' "$sr_dir/m4003.txt" &&
       grep -q 'CR-RETRY-1' "$sr_dir/m4003.txt"; then
        ok "server role: mutant retry-after-4003 fails 2.1.1 on CR-RETRY-1"
    else
        bad "server role: mutant retry-after-4003 (exit $sr_rc)" "$sr_dir/m4003.txt"
    fi
    $GW run --spec-version claude-remote/1 --target fixtures/targets/reference-client.yaml \
        --mutant double-answer --json "$sr_dir/m2" \
        cases/claude-remote-1/4-control/4.1.1-permission-answered-once.yaml >"$sr_dir/m2.txt" 2>&1
    jq -c '.transcript[]' "$sr_dir/m2/cases/4.1.1-permission-answered-once.json" >"$sr_dir/t.jsonl" 2>>"$sr_dir/m2.txt"
    $GW check "$sr_dir/t.jsonl" >"$sr_dir/check.txt" 2>&1
    sr_rc=$?
    if [ $sr_rc = 1 ] && grep -q 'answer_once: CR-CTL-1: a second control_response' "$sr_dir/check.txt"; then
        ok "server role: gwspec check reads a server-role transcript offline (answer_once, CR-CTL-1)"
    else
        bad "server role: offline check of a server-role transcript (exit $sr_rc)" "$sr_dir/check.txt"
    fi
    sr_left=
    for f in "$sr_dir"/ok/cases/*.json "$sr_dir"/m4003/cases/*.json "$sr_dir"/m2/cases/*.json; do
        [ -f "$f" ] || continue
        for pid in $(jq -r '.transcript[] | select(.t == "spawn") | .pid' "$f"); do
            kill -0 "$pid" 2>/dev/null && sr_left="$sr_left $pid"
        done
    done
    if [ -z "$sr_left" ] && ls "$sr_dir"/m2/cases/*.json >/dev/null 2>&1; then
        ok "server role: no client process outlives its case"
    else
        echo "still running:$sr_left" >"$sr_dir/left.txt"
        bad "server role: client processes left behind" "$sr_dir/left.txt"
    fi
else
    echo "no $BIN/gwspec-client" >"$sr_dir/none.txt"
    bad "server role: the reference client is not built" "$sr_dir/none.txt"
fi
mkdir -p "$sr_dir/lint/claude-remote-1/4-control" "$sr_dir/lint/1-transport"
cat >"$sr_dir/lint/claude-remote-1/4-control/4.9.1-gateway-step.yaml" <<'YAML'
id: 4.9.1-gateway-step
title: a gateway step in a client case
spec: [CR-CTL-2]
description: lint fixture
expectation: refused
steps:
  - accept: true
  - connect: c1
YAML
cat >"$sr_dir/lint/1-transport/1.9.1-server-step.yaml" <<'YAML'
id: 1.9.1-server-step
title: a server step in a gateway case
spec: [R-AUTH-1]
description: lint fixture
expectation: refused
steps:
  - accept: true
YAML
$GW lint --spec-version claude-remote/1 "$sr_dir/lint/claude-remote-1" >"$sr_dir/lint1.txt" 2>&1
$GW lint "$sr_dir/lint/1-transport" >"$sr_dir/lint2.txt" 2>&1
if grep -q "4.9.1-gateway-step.yaml:8:5: 'connect' is a step of a gateway case" "$sr_dir/lint1.txt" &&
   grep -q "1.9.1-server-step.yaml:7:5: 'accept' is a server-role step" "$sr_dir/lint2.txt"; then
    ok "server role: lint keeps gateway and server-role steps apart, with file:line:col"
else
    cat "$sr_dir/lint1.txt" "$sr_dir/lint2.txt" >"$sr_dir/lint.txt"
    bad "server role: lint of the step roles" "$sr_dir/lint.txt"
fi

# 25-triage. Issue 17: under --mutant leak-provider-id, 3.1.1-unknown-type's failure leads with its
#      reason (no_native_ids: R-MAP-2 when the provider's announce of the native id is in the
#      transcript, R-MAP-1 "not the app id of any session" when the case ended before it was
#      read), the step failure that shares its witness is charged to that requirement (the
#      step cites R-IN-2: the cause is the leak, not the unknown type), the step is named as
#      file:line; a baselined failure is one KNOWN line; `gwspec report --html`
#      writes the page again from the --json directory, with one diagram arrow per transcript
#      record (the browser test, `make browser`, renders it; it is not run here).
tri=$OUT/triage
mkdir -p "$tri"
$GW run --seed 3 --mutant leak-provider-id --json "$tri/json" --html "$tri/run.html" \
    cases/3-inbound/3.1.1-unknown-type.yaml >"$tri/run.txt" 2>&1
trc=$?
$GW report --html "$tri/again.html" "$tri/json" >"$tri/report.txt" 2>&1
rrc=$?
$GW run --seed 1 --mutant complete-success-when-aborted --baseline tests/baselines/abort-known.yaml \
    --filter '6.0.1*' cases/6-abort >"$tri/known.txt" 2>&1
krc=$?
nrec=$($PY -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["transcript"]) - 1)' \
    "$tri/json/cases/3.1.1-unknown-type.json" 2>/dev/null)
narrows=$(grep -o '<g class="rec ' "$tri/again.html" 2>/dev/null | wc -l)
if [ $trc = 1 ] && [ $rrc = 0 ] && [ $krc = 0 ] \
   && sed -n 3p "$tri/run.txt" | grep -qE "^      c1: (native id 'nat-[0-9a-f]*' \(announced at record [0-9]*\) appears in |text seq 1 \(record [0-9]*\) has sessionId 'nat-)" \
   && grep -qE '^        R-MAP-[12] \(the invariant no_native_ids above names the same frame; the step cites R-IN-2\)$' "$tri/run.txt" \
   && grep -qE '^        at cases/3-inbound/3\.1\.1-unknown-type\.yaml:[0-9]+ \(step [0-9]+\)$' "$tri/run.txt" \
   && grep -q '^  KNOWN        6.0.1-abort-mid-stream ' "$tri/known.txt" && ! grep -q 'expected:' "$tri/known.txt" \
   && [ -n "$nrec" ] && [ "$narrows" = "$nrec" ] && ! grep -q 'src=' "$tri/again.html"; then
    ok "triage: reason first, charged to the invariant's requirement, file:line; KNOWN in one line; gwspec report --html: $narrows arrows for $nrec records"
else
    echo "exit $trc / $rrc / $krc; arrows $narrows, records ${nrec:-?}" >>"$tri/run.txt"
    cat "$tri/report.txt" "$tri/known.txt" >>"$tri/run.txt"
    bad "triage: console reason, charge, file:line, KNOWN; report --html" "$tri/run.txt"
fi

# 25-claude-control. The second client dialect (claude-control/1: the SDK's side of the stdio
# control protocol; the harness plays the CLI through bin/gwspec-cli-relay). (a) The catalog
# passes against the reference client at -j 2, the CLI's argv is in the open records and the JSON
# report validates against spec/report's schemas; (b) the
# mutant answer-cancelled (the Agent SDK's own behaviour) fails 3.2.1 on CC-CTL-3 (exit 1), and
# close-stdin-after-result fails 4.1.2 on CC-TURN-2; (c) the relay without GWSPEC_CLI_URL, and
# with nothing listening there, exits 1 with a message, and answers -v without either; (d) no client process outlives its case;
# (e) lint gives file:line:col for a bad step of a claude-control case.
cc_dir=$OUT/claude-control
mkdir -p "$cc_dir"
if [ -x "$BIN/gwspec-client" ] && [ -x "$BIN/gwspec-cli-relay" ]; then
    $GW run -j 2 --spec-version claude-control/1 --target fixtures/targets/reference-client-control.yaml \
        --json "$cc_dir/ok" >"$cc_dir/ok.txt" 2>&1
    cc_rc=$?
    cc_argv=$(jq -r '.transcript[] | select(.t == "open") | .argv | index("--permission-prompt-tool")' \
        "$cc_dir"/ok/cases/1.1.1-stream-json-flags.json 2>/dev/null)
    /usr/bin/python3 tests/validate-reports.py "$cc_dir/ok" >>"$cc_dir/ok.txt" 2>&1
    cc_schema=$?
    if [ $cc_rc = 0 ] && grep -q ' passed, 0 failed$' "$cc_dir/ok.txt" && [ -n "$cc_argv" ] &&
       [ "$cc_argv" != null ] && [ $cc_schema = 0 ]; then
        ok "claude-control: the catalog passes against the reference client ($(grep " passed, " "$cc_dir/ok.txt" | tail -1)), argv in the open record, the JSON report validates"
    else
        bad "claude-control: the catalog against the reference client (exit $cc_rc, argv ${cc_argv:-none})" "$cc_dir/ok.txt"
    fi
    $GW run --spec-version claude-control/1 --target fixtures/targets/reference-client-control.yaml \
        --mutant answer-cancelled --json "$cc_dir/mc" \
        cases/claude-control-1/3-control/3.2.1-cancelled-never-answered.yaml >"$cc_dir/mc.txt" 2>&1
    cc_rc=$?
    $GW run --spec-version claude-control/1 --target fixtures/targets/reference-client-control.yaml \
        --mutant close-stdin-after-result --json "$cc_dir/ms" \
        cases/claude-control-1/4-turns/4.1.2-stdin-open-after-result.yaml >"$cc_dir/ms.txt" 2>&1
    cc_rc2=$?
    if [ $cc_rc = 1 ] && grep -q 'FAILED *3.2.1-cancelled-never-answered' "$cc_dir/mc.txt" &&
       grep -q 'CC-CTL-3' "$cc_dir/mc.txt" && [ $cc_rc2 = 1 ] &&
       grep -q 'CC-TURN-2 (invariant input_open_after_result)' "$cc_dir/ms.txt"; then
        ok "claude-control: mutant answer-cancelled fails 3.2.1 on CC-CTL-3, close-stdin-after-result 4.1.2 on CC-TURN-2"
    else
        cat "$cc_dir/mc.txt" "$cc_dir/ms.txt" >"$cc_dir/m.txt"
        bad "claude-control: the mutants (exit $cc_rc, $cc_rc2)" "$cc_dir/m.txt"
    fi
    env -u GWSPEC_CLI_URL "$BIN/gwspec-cli-relay" </dev/null >"$cc_dir/r1.txt" 2>&1
    cc_rc=$?
    GWSPEC_CLI_URL=ws://127.0.0.1:9/none "$BIN/gwspec-cli-relay" --verbose </dev/null >"$cc_dir/r2.txt" 2>&1
    cc_rc2=$?
    cc_ver=$(env -u GWSPEC_CLI_URL "$BIN/gwspec-cli-relay" -v 2>&1)
    if [ $cc_rc = 1 ] && grep -q 'GWSPEC_CLI_URL is not set' "$cc_dir/r1.txt" && [ $cc_rc2 = 1 ] &&
       grep -q 'cannot connect to GWSPEC_CLI_URL' "$cc_dir/r2.txt" &&
       [ "$cc_ver" = "2.1.0 (gwspec-cli-relay)" ]; then
        ok "claude-control: the relay exits 1 with a message without a URL or a listener; -v needs neither"
    else
        cat "$cc_dir/r1.txt" "$cc_dir/r2.txt" >"$cc_dir/r.txt"
        bad "claude-control: the relay's failures (exit $cc_rc, $cc_rc2)" "$cc_dir/r.txt"
    fi
    cc_left=
    for f in "$cc_dir"/ok/cases/*.json "$cc_dir"/mc/cases/*.json "$cc_dir"/ms/cases/*.json; do
        [ -f "$f" ] || continue
        for pid in $(jq -r '.transcript[] | select(.t == "spawn" or (.t == "ctl" and .msg.what == "connected")) | .pid // .msg.pid' "$f"); do
            kill -0 "$pid" 2>/dev/null && cc_left="$cc_left $pid"
        done
    done
    if [ -z "$cc_left" ] && ls "$cc_dir"/ok/cases/*.json >/dev/null 2>&1; then
        ok "claude-control: no client or relay process outlives its case"
    else
        echo "still running:$cc_left" >"$cc_dir/left.txt"
        bad "claude-control: processes left behind" "$cc_dir/left.txt"
    fi
else
    echo "no $BIN/gwspec-client or $BIN/gwspec-cli-relay" >"$cc_dir/none.txt"
    bad "claude-control: the reference client or the relay is not built" "$cc_dir/none.txt"
fi
mkdir -p "$cc_dir/lint/claude-control-1/3-control"
cat >"$cc_dir/lint/claude-control-1/3-control/3.9.1-bad-steps.yaml" <<'YAML'
id: 3.9.1-bad-steps
title: bad steps in a claude-control case
spec: [CC-CTL-2]
description: lint fixture
expectation: refused
steps:
  - accept: {expect_argv: --verbose}
  - connect: c1
YAML
$GW lint --spec-version claude-control/1 "$cc_dir/lint/claude-control-1" >"$cc_dir/lint.txt" 2>&1
if grep -q "3.9.1-bad-steps.yaml:7:27: 'expect_argv' is a list pattern" "$cc_dir/lint.txt" &&
   grep -q "3.9.1-bad-steps.yaml:8:5: 'connect' is a step of a gateway case" "$cc_dir/lint.txt"; then
    ok "claude-control: lint gives file:line:col for bad steps"
else
    bad "claude-control: lint of a bad claude-control case" "$cc_dir/lint.txt"
fi

# 26-load. Issue 16: `gwspec load` checks the streaming invariants live, under load. (a) A mix of
# streams, aborts and refreshes with fan-out, paced, against the reference gateway: exit 0, no
# violation, every run finished, latency samples. (b) Each planted bug is caught live with its
# witness frames and exit 1: a seq gap, a forwarded second complete, a leaked native id, a
# replay that ignores lastSeq. (c) SIGTERM mid-load: a partial report, exit 3, and the gateway
# it started is gone. (d) Bad options are usage errors (exit 2).
ld_dir=$OUT/load
mkdir -p "$ld_dir"
$GW load --runs 40 --events 40 --concurrency 2 --clients 2 --fanout 2 --rate 4000 --seed 3 \
    --mix stream=2,abort=1,refresh=1 --json "$ld_dir/ok.json" >"$ld_dir/ok.txt" 2>&1
ld_rc=$?
if [ $ld_rc = 0 ] && [ "$(jq '.violations' "$ld_dir/ok.json")" = 0 ] &&
   [ "$(jq '.runs.completed' "$ld_dir/ok.json")" = 40 ] && [ "$(jq '.runs.unfinished' "$ld_dir/ok.json")" = 0 ] &&
   [ "$(jq '.runs.refresh > 0 and .runs.abort > 0 and .latency_us.n > 0' "$ld_dir/ok.json")" = true ]; then
    ok "load: 40 runs (streams, aborts, refreshes, fan-out 2) on the reference gateway, no violation"
else
    bad "load: a clean load of the reference gateway (exit $ld_rc)" "$ld_dir/ok.txt"
fi
ld_try() { # name, expected message, options...
    local name=$1 msg=$2
    shift 2
    $GW load --runs 3 --events 20 --seed 5 --mutant "$name" "$@" >"$ld_dir/$name.txt" 2>&1
    local rc=$?
    if [ $rc = 1 ] && grep -q "VIOLATION .*$msg" "$ld_dir/$name.txt" && grep -q '^  frame:   {' "$ld_dir/$name.txt"; then
        ok "load: --mutant $name is caught live with its frames ($msg)"
    else
        bad "load: --mutant $name (exit $rc, wanted 1 and '$msg')" "$ld_dir/$name.txt"
    fi
}
ld_try seq-gap 'seq gap: expected 3, received 4'
ld_try dup-complete "complete seq 22 after the run's complete" --complete-twice
ld_try leak-provider-id 'native id nat-load-0-1-[0-9a-f]* reached the client'
ld_try replay-ignores-lastseq 'on the refresher: seq 1 again' --mix refresh
: >"$ld_dir/manifest"
GWSPEC_MANIFEST="$ld_dir/manifest" $GW load --duration 60s --events 50 >"$ld_dir/sig.txt" 2>&1 &
ld_pid=$!
for _ in $(seq 1 100); do # until it has started its gateway (at most 10 s)
    grep -q '^gateway ' "$ld_dir/manifest" && break
    sleep 0.1
done
sleep 0.5 # some runs under way
kill -TERM $ld_pid
wait $ld_pid
ld_rc=$?
ld_gw=$(awk '/^gateway /{print $2}' "$ld_dir/manifest")
ld_dirs=$(awk '/^dir /{print $2}' "$ld_dir/manifest")
ld_left=
[ -n "$ld_gw" ] && kill -0 "$ld_gw" 2>/dev/null && ld_left="gateway $ld_gw"
for d in $ld_dirs; do [ -e "$d" ] && ld_left="$ld_left dir $d"; done
if [ $ld_rc = 3 ] && [ -n "$ld_gw" ] && [ -z "$ld_left" ] && grep -q 'interrupted: a partial report' "$ld_dir/sig.txt" &&
   grep -q '^  runs  .* completed' "$ld_dir/sig.txt"; then
    ok "load: SIGTERM gives a partial report, exit 3, and nothing it started outlives it"
else
    echo "exit $ld_rc, left: $ld_left" >>"$ld_dir/sig.txt"
    bad "load: SIGTERM mid-load" "$ld_dir/sig.txt"
fi
ld_bad=0
for opts in "--runs 0" "--clients x" "--duration 5s --runs 3" "--mix stream=0" "--bogus" "extra"; do
    # shellcheck disable=SC2086
    $GW load $opts >"$ld_dir/usage.txt" 2>&1
    ld_rc=$?
    { [ $ld_rc = 2 ] && grep -q '^gwspec load: ' "$ld_dir/usage.txt" && grep -q '^usage: gwspec load' "$ld_dir/usage.txt"; } ||
        { ld_bad=1; echo "$opts: exit $ld_rc" >>"$ld_dir/usage-all.txt"; cat "$ld_dir/usage.txt" >>"$ld_dir/usage-all.txt"; }
done
if [ $ld_bad = 0 ] && $GW load --help | grep -q -- '--mix SPEC'; then
    ok "load: bad options are usage errors (exit 2); --help documents the options"
else
    bad "load: usage errors" "$ld_dir/usage-all.txt"
fi

echo
echo "$passed passed, $failed failed"
[ $failed = 0 ]
