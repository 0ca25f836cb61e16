#!/bin/bash
# tests/mutants.sh: proof that every case can fail (`make mutants`).
#
# 1. The whole catalog runs against the clean reference gateway: everything must pass.
#    (`--strict`: SHOULD-level cases run too; their failures are graded NON-STRICT.)
# 2. For each mutant (`gwspec-gateway --mutant list`: name, requirement ids, description), the
#    cases that cite one of the mutant's requirements run against the gateway with that mutant
#    on. The mutant is killed when at least one case is FAILED (NON-STRICT for a SHOULD) naming
#    one of its requirements.
# 3. A matrix of mutants against killing cases is printed, and a traceability report
#    (requirement -> cases -> mutants) is written to reports/traceability.md.
# Fails if the clean gateway fails anything, if a mutant survives, or if a MUST requirement has
# no case or no mutant.
# Each dialect in turn: chatgw/1 (every mutant not named dispatch-*, the default profile),
# dispatch-ws/1 (the dispatch-* mutants, fixtures/targets/reference-dispatch.yaml) and the client
# dialects claude-remote/1 and claude-control/1 (the reference client's mutants of each dialect,
# `gwspec-client --dialect D --list-mutants`, against fixtures/targets/reference-client.yaml and
# reference-client-control.yaml); one matrix, one traceability section and one summary line per
# dialect.
set -u
cd "$(dirname "$0")/.."
BIN=${GWSPEC_BIN:-bin}
export GWSPEC_GATEWAY=$BIN/gwspec-gateway
GW=$BIN/gwspec
SPEC=${GWSPEC_SPEC:-spec/chatgw-1.0/requirements.yaml}
OUT_ROOT=${GWSPEC_MUTANT_OUT:-reports/mutants}
JOBS=${GWSPEC_JOBS:-2}
rm -rf "$OUT_ROOT"
mkdir -p "$OUT_ROOT"
status=0
: >reports/traceability.md 2>/dev/null || { mkdir -p reports && : >reports/traceability.md; }

# one_dialect NAME: the dialect's spec version and target (dispatch-ws/1: its profile
# fixtures/targets/reference-dispatch.yaml); the mutants are those of `--mutant list` whose name
# starts with dispatch- (dispatch-ws/1) or does not (chatgw/1).
one_dialect() {
local dialect=$1
DSPEC=() DSEL=()
case $dialect in
dispatch-ws/1) target=fixtures/targets/reference-dispatch.yaml ;;
claude-remote/1) target=fixtures/targets/reference-client.yaml ;;
claude-control/1) target=fixtures/targets/reference-client-control.yaml ;;
*) target= ;;
esac
if [ -n "$target" ]; then
    DSPEC=(--spec-version "$dialect")
    DSEL=(--spec-version "$dialect" --target "$target")
fi
OUT=$OUT_ROOT/${dialect//\//-}
mkdir -p "$OUT"
echo "== $dialect"

# --- 1. clean run ------------------------------------------------------------------------
if ! $GW run -j "$JOBS" --seed 7 "${DSEL[@]}" --json "$OUT/clean" >"$OUT/clean.txt" 2>&1; then
    echo "the clean reference gateway fails the suite:"
    grep -v '^  OK' "$OUT/clean.txt" | tail -30
    status=1
fi

# --- 2. mutants --------------------------------------------------------------------------
# The gateway's mutants (`--mutant list`) for the gateway dialects; the reference client's
# (`--dialect D --list-mutants`: name, the requirement it breaks in D, effect) for a client
# dialect, kept by the prefix of the dialect's requirement ids.
case $dialect in
claude-remote/1 | claude-control/1)
    $BIN/gwspec-client --dialect "${dialect%/1}" --list-mutants >"$OUT/all.txt" ||
        { echo "cannot list client mutants"; exit 1; }
    if [ "$dialect" = claude-remote/1 ]; then prefix=CR-; else prefix=CC-; fi
    awk -v p="$prefix" 'index($2, p) == 1' "$OUT/all.txt" >"$OUT/list.txt" ;;
*)
    $GWSPEC_GATEWAY --mutant list >"$OUT/all.txt" || { echo "cannot list mutants"; exit 1; }
    if [ "$dialect" = dispatch-ws/1 ]; then
        grep '^dispatch-' "$OUT/all.txt" >"$OUT/list.txt" || true
    else
        grep -v '^dispatch-' "$OUT/all.txt" >"$OUT/list.txt" || true
    fi ;;
esac
echo "mutant matrix (mutant: requirements -> killing cases):"
: >"$OUT/kills.tsv"

# One mutant: run the cases that cite its requirements; write "name<TAB>reqs<TAB>killers".
# The timeout is short because a wait that times out is settled by a sentinel round trip
# (harness/exec/runner.c), so it decides between FAILED and ERROR, never between pass and fail.
one_mutant() {
    local name=$1 reqs=$2 sel=() r
    for r in ${reqs//,/ }; do sel+=(--req "$r"); done
    $GW run -j 2 --seed 7 --strict --timeout-ms "${GWSPEC_MUTANT_TIMEOUT_MS:-1000}" \
        $DSEL_TEXT --mutant "$name" "${sel[@]}" --json "$OUT/$name" >"$OUT/$name.txt" 2>&1
    local killers
    killers=$(cat "$OUT/$name"/cases/*.json 2>/dev/null | jq -r --arg reqs ",$reqs," '
        select(.verdict == "FAILED" or .verdict == "NON-STRICT")
        | select([.failures[]?.requirement] | any(. as $r | $reqs | contains("," + $r + ",")))
        | .id' 2>/dev/null | sort -u | tr '\n' ' ')
    printf '%s\t%s\t%s\n' "$name" "$reqs" "$killers" >"$OUT/$name.result"
}
export -f one_mutant
DSEL_TEXT="${DSEL[*]}"
export GW OUT DSEL_TEXT
awk '{ print $1, $2 }' "$OUT/list.txt" | xargs -P "${GWSPEC_MUTANT_JOBS:-4}" -n 2 \
    bash -c 'one_mutant "$0" "$1"'

$GW list --json "${DSPEC[@]}" >"$OUT/cases.json" || { echo "gwspec list --json failed"; exit 1; }
untestable=",$(jq -r '[.requirements[] | select(.untestable != null) | .id] | join(",")' "$OUT/cases.json"),"
survivors=0
unscored=0
total=0
while read -r name reqs _desc; do
    [ -n "$name" ] || continue
    total=$((total + 1))
    IFS=$'\t' read -r _ _ killers <"$OUT/$name.result"
    if [ -n "$killers" ]; then
        printf '  killed    %-30s %-22s %s\n' "$name" "$reqs" "$killers"
        for k in $killers; do printf '%s\t%s\t%s\n' "$name" "$reqs" "$k" >>"$OUT/kills.tsv"; done
    elif [ -z "$(for r in ${reqs//,/ }; do case $untestable in *",$r,"*) ;; *) echo "$r" ;; esac; done)" ]; then
        printf '  unscored  %-30s %-22s (its requirements are untestable yet)\n' "$name" "$reqs"
        unscored=$((unscored + 1))
    else
        printf '  SURVIVED  %-30s %-22s (no case failed with these requirements)\n' "$name" "$reqs"
        survivors=$((survivors + 1))
    fi
done <"$OUT/list.txt"
[ $survivors = 0 ] || status=1

# --- 3. traceability ---------------------------------------------------------------------
{
    echo "# Traceability ($dialect): requirement -> cases -> mutants"
    echo
    echo "Generated by \`make mutants\` ($(date -u +%Y-%m-%dT%H:%M:%SZ))."
    echo
    echo "| requirement | level | cases | mutants that a case kills |"
    echo "|---|---|---|---|"
} >>reports/traceability.md
missing=0
while IFS=$'\t' read -r id level cap; do
    cases=$(jq -r --arg id "$id" '[.cases[] | select(.spec | index($id)) | .id] | join(" ")' "$OUT/cases.json")
    muts=$(awk -F'\t' -v id="$id" '{ n = split($2, r, ","); for (i = 1; i <= n; i++) if (r[i] == id) print $1 }' \
        "$OUT/kills.tsv" | sort -u | tr '\n' ' ')
    echo "| $id | $level${cap:+ ($cap)} | ${cases:-**none**} | ${muts:-**none**} |" >>reports/traceability.md
    if [ "$level" = MUST ] && { [ -z "$cases" ] || [ -z "$muts" ]; }; then
        echo "  MUST requirement $id has ${cases:+a case}${cases:-no case} and ${muts:+a mutant}${muts:-no killed mutant}"
        missing=$((missing + 1))
    fi
done < <(jq -r '.requirements[] | select(.untestable == null) | [.id, .level, (.capability // "")] | @tsv' "$OUT/cases.json")
jq -r '.requirements[] | select(.untestable != null) | "| \(.id) | \(.level) | not scored: \(.untestable) | |"' \
    "$OUT/cases.json" >>reports/traceability.md
echo "not scored (untestable yet): $(jq -r '[.requirements[] | select(.untestable != null)] | length' "$OUT/cases.json")"
jq -r '.requirements[] | select(.untestable != null) | "  \(.id): \(.untestable)"' "$OUT/cases.json"
[ $missing = 0 ] || status=1

echo
echo "mutants ($dialect): $total, killed $((total - survivors - unscored)), survived $survivors," \
     "unscored $unscored;" \
     "MUST requirements without a case or mutant: $missing"
echo
}

# GWSPEC_MUTANT_DIALECTS="claude-remote/1" runs some of them only.
for d in ${GWSPEC_MUTANT_DIALECTS:-chatgw/1 dispatch-ws/1 claude-remote/1 claude-control/1}; do
    one_dialect "$d"
done
echo "traceability: reports/traceability.md"
exit $status
