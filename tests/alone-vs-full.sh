#!/bin/bash
# tests/alone-vs-full.sh: does each case fail for the same reason alone as in a bigger run?
#
# For each mutant named (default: every mutant of `gwspec-gateway --mutant list`), the cases that
# cite one of its requirements run together against the gateway with that mutant on, as
# tests/mutants.sh runs them (`--full`: the whole catalog instead); then each of those cases runs
# alone. A case whose verdict or set of failed requirements differs between the two runs is
# printed: its result depends on what else runs, not only on the requirement it was written for.
# Prints one line per difference, then "N mutants, N cases compared, N differences".
#
# usage: tests/alone-vs-full.sh [--full] [MUTANT...]
# Environment: GWSPEC_BIN (default bin), GWSPEC_MUTANT_TIMEOUT_MS (default 1000).
# Heavy: run it with nice -n 10 on a shared machine.
set -u
cd "$(dirname "$0")/.."
BIN=${GWSPEC_BIN:-bin}
export GWSPEC_GATEWAY=$BIN/gwspec-gateway
GW=$BIN/gwspec
TMO=${GWSPEC_MUTANT_TIMEOUT_MS:-1000}
FULL=0
if [ "${1:-}" = --full ]; then FULL=1; shift; fi
OUT=$(mktemp -d /tmp/gwspec-alone.XXXXXX)
trap 'rm -rf "$OUT"' EXIT
$GWSPEC_GATEWAY --mutant list >"$OUT/list.txt" || exit 3
mutants=("$@")
[ ${#mutants[@]} -gt 0 ] || mapfile -t mutants < <(awk '{print $1}' "$OUT/list.txt")

# verdicts DIR: "id<TAB>verdict<TAB>sorted failed requirements" per case report in DIR
verdicts() {
    cat "$1"/cases/*.json 2>/dev/null | jq -r '[.id, .verdict,
        ([.failures[]? | select(.kind != "error") | .requirement] | unique | join(","))] | @tsv' | sort
}

nm=0 nc=0 nd=0
for m in "${mutants[@]}"; do
    reqs=$(awk -v m="$m" '$1 == m {print $2}' "$OUT/list.txt")
    [ -n "$reqs" ] || { echo "unknown mutant $m"; continue; }
    nm=$((nm + 1))
    sel=()
    [ $FULL = 1 ] || for r in ${reqs//,/ }; do sel+=(--req "$r"); done
    $GW run -j 2 --seed 7 --strict --timeout-ms "$TMO" --mutant "$m" "${sel[@]}" --json "$OUT/$m.all" \
        >/dev/null 2>&1
    verdicts "$OUT/$m.all" >"$OUT/$m.all.tsv"
    while IFS=$'\t' read -r id v r; do
        file=$(jq -r .file "$OUT/$m.all/cases/$id.json")
        [ -e "$OUT/$m.$(basename "$file").done" ] && continue
        : >"$OUT/$m.$(basename "$file").done"
        $GW run -j 1 --seed 7 --strict --timeout-ms "$TMO" --mutant "$m" --json "$OUT/$m.one" "$file" \
            >/dev/null 2>&1
        verdicts "$OUT/$m.one" >>"$OUT/$m.one.tsv"
        rm -rf "$OUT/$m.one"
    done <"$OUT/$m.all.tsv"
    sort -o "$OUT/$m.one.tsv" "$OUT/$m.one.tsv"
    nc=$((nc + $(wc -l <"$OUT/$m.one.tsv")))
    while IFS=$'\t' read -r id v r; do
        other=$(awk -F'\t' -v id="$id" '$1 == id {print $2 "\t" $3}' "$OUT/$m.all.tsv")
        if [ "$v"$'\t'"$r" != "$other" ]; then
            nd=$((nd + 1))
            printf '%-28s %-52s alone: %-10s %-24s together: %s\n' "$m" "$id" "$v" "${r:--}" \
                "$(echo "$other" | tr '\t' ' ')"
        fi
    done <"$OUT/$m.one.tsv"
done
echo "$nm mutants, $nc cases compared, $nd differences"
[ $nd = 0 ]
