#!/bin/bash
# tests/bench-suite.sh: how fast the catalog runs (`make bench-suite`). Runs the whole suite
# N times (default 5) at -j1 and -j2 and prints cases, median wall time and cases per second.
set -u
cd "$(dirname "$0")/.."
BIN=${GWSPEC_BIN:-bin}
export GWSPEC_GATEWAY=$BIN/gwspec-gateway
N=${N:-5}
cases=$($BIN/gwspec list --json | jq '[.cases[] | select(.strict | not)] | length')
for j in 1 2; do
    times=()
    for ((i = 0; i < N; i++)); do
        t0=$(date +%s%N)
        $BIN/gwspec run -j "$j" --seed $((100 + i)) >/dev/null 2>&1 || echo "  (run $i had a non-pass)"
        t1=$(date +%s%N)
        times+=($(((t1 - t0) / 1000000)))
    done
    med=$(printf '%s\n' "${times[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
    printf 'bench-suite: -j%d  %d cases  median %d ms over %d runs (%s)  %s cases/s\n' \
        "$j" "$cases" "$med" "$N" "${times[*]}" "$(awk -v c="$cases" -v m="$med" 'BEGIN { printf "%.1f", c * 1000 / (m ? m : 1) }')"
done
