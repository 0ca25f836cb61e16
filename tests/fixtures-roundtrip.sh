#!/bin/bash
# tests/fixtures-roundtrip.sh: the fixture pipeline end to end, for several mutants (make check,
# called from tests/e2e.sh).
#
# For each (fixture, mutant, requirement):
#   1. record: tests/record-fixtures.sh drives a client through `gwspec record` in front of the
#      reference gateway running the mutant;
#   2. `gwspec check` of the client-only transcript says FAILED, naming the requirement;
#   3. `gwspec replay` makes a case that fails against the mutant with that requirement and
#      passes against the clean reference gateway;
#   4. `gwspec replay --minimize` makes a smaller case that still does both.
# Prints one line per test and ends with "N passed, N failed"; exit 1 on any failure.
#
# Environment: GWSPEC_BIN (default bin), GWSPEC (default $GWSPEC_BIN/gwspec).
set -u
cd "$(dirname "$0")/.."
BIN=${GWSPEC_BIN:-bin}
GW=${GWSPEC:-$BIN/gwspec}
export GWSPEC_GATEWAY=$BIN/gwspec-gateway
export GWSPEC_BIN=$BIN GWSPEC=$GW
OUT=$(mktemp -d /tmp/gwspec-roundtrip.XXXXXX)
trap 'rm -rf "$OUT"' EXIT
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && [ -e "$2" ] && sed 's/^/     /' "$2" | tail -25; }

# fixture name | mutant | the requirement the recording breaks
ROUNDS=(
"codex-status-after-complete|events-after-complete|R-TERM-2"
"duplicate-complete|dup-complete|R-TERM-1"
"stale-cursor|stale-cursor-no-replay|R-SUB-7"
"second-tab-steals-stream|single-writer|R-TERM-1"
"unknown-type-ignored|unknown-type-silent|R-IN-2"
)

# run_case FILE ID JSONDIR [--mutant M] -> prints "VERDICT REQ1,REQ2,..."
run_case() {
    local file=$1 id=$2 dir=$3
    shift 3
    "$GW" run --seed 1 --strict --timeout-ms 3000 --json "$dir" "$@" "$file" >"$dir.txt" 2>&1
    local rep="$dir/cases/$id.json"
    if [ ! -e "$rep" ]; then
        echo "NONE -"
        return
    fi
    echo "$(jq -r '.verdict' "$rep") $(jq -r '[.failures[]? | select(.kind != "error") | .requirement] | join(",")' "$rep")"
}

# case_size FILE: steps plus provider script steps (the lines that start a list item)
case_size() {
    grep -cE '^(  |      )- ' "$1"
}

# fails_and_passes LABEL FILE ID MUTANT REQ
fails_and_passes() {
    local label=$1 file=$2 id=$3 mutant=$4 req=$5 v reqs
    read -r v reqs < <(run_case "$file" "$id" "$OUT/$label-mutant" --mutant "$mutant")
    if { [ "$v" = FAILED ] || [ "$v" = NON-STRICT ]; } && [[ ",$reqs," == *",$req,"* ]]; then
        ok "$label: fails against mutant $mutant with $req ($v)"
    else
        bad "$label: fails against mutant $mutant with $req (got $v: $reqs)" "$OUT/$label-mutant.txt"
    fi
    read -r v reqs < <(run_case "$file" "$id" "$OUT/$label-clean")
    if [ "$v" = OK ]; then
        ok "$label: passes against the clean reference gateway"
    else
        bad "$label: passes against the clean reference gateway (got $v: $reqs)" "$OUT/$label-clean.txt"
    fi
}

n=0
for r in "${ROUNDS[@]}"; do
    IFS='|' read -r name mutant req <<<"$r"
    n=$((n + 1))
    id="12.9.$n-roundtrip-$name"
    mkdir -p "$OUT/fix" "$OUT/full" "$OUT/min"

    # 1. record
    if bash tests/record-fixtures.sh --out-dir "$OUT/fix" --no-cases "$name" >"$OUT/$name.rec.txt" 2>&1 \
            && [ -s "$OUT/fix/$name.jsonl" ]; then
        ok "$name: recorded through the proxy against mutant $mutant ($(($(wc -l <"$OUT/fix/$name.jsonl") - 1)) records)"
    else
        bad "$name: recorded through the proxy against mutant $mutant" "$OUT/$name.rec.txt"
        continue
    fi
    tr="$OUT/fix/$name.jsonl"

    # 2. check
    "$GW" check "$tr" >"$OUT/$name.check.txt" 2>&1
    rc=$?
    if [ $rc = 1 ] && grep -q "FAILED" "$OUT/$name.check.txt" && grep -qE "^  [a-z_]+: $req:" "$OUT/$name.check.txt"; then
        ok "$name: gwspec check says FAILED with $req"
    else
        bad "$name: gwspec check says FAILED with $req (exit $rc)" "$OUT/$name.check.txt"
    fi

    # 3. replay
    full="$OUT/full/$id.yaml"
    if "$GW" replay "$tr" --id "$id" --out "$full" >"$OUT/$name.replay.txt" 2>&1 && "$GW" lint "$full" >>"$OUT/$name.replay.txt" 2>&1; then
        ok "$name: replayed into a case that lints ($(case_size "$full") steps and script steps)"
        fails_and_passes "$name replayed" "$full" "$id" "$mutant" "$req"
    else
        bad "$name: replayed into a case that lints" "$OUT/$name.replay.txt"
        continue
    fi

    # 4. minimize
    min="$OUT/min/$id.yaml"
    if "$GW" replay "$tr" --id "$id" --minimize --mutant "$mutant" --requirement "$req" \
            --out "$min" >"$OUT/$name.min.txt" 2>&1; then
        a=$(case_size "$full")
        b=$(case_size "$min")
        if [ "$b" -lt "$a" ]; then
            ok "$name: minimized from $a to $b steps and script steps ($(grep -o '[0-9]* candidate(s) tested' "$OUT/$name.min.txt"))"
        else
            bad "$name: minimized case is smaller ($a -> $b)" "$OUT/$name.min.txt"
        fi
        fails_and_passes "$name minimized" "$min" "$id" "$mutant" "$req"
    else
        bad "$name: minimized" "$OUT/$name.min.txt"
    fi
done

# The committed fixtures still parse, and `gwspec check` agrees with what they were recorded for.
for f in fixtures/transcripts/*.jsonl; do
    [ -e "$f" ] || continue
    "$GW" check "$f" >"$OUT/committed.txt" 2>&1
    rc=$?
    if [ $rc -le 1 ]; then
        ok "fixture $(basename "$f"): gwspec check reads it ($([ $rc = 1 ] && echo FAILED || echo ok))"
    else
        bad "fixture $(basename "$f"): gwspec check reads it (exit $rc)" "$OUT/committed.txt"
    fi
done

echo "$passed passed, $failed failed"
[ $failed = 0 ]
