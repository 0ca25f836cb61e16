#!/bin/bash
# tests/bench-suite.sh: how fast the catalog runs (`make bench-suite`). Runs the whole suite
# N times (default 5) at -j1 and -j2 and prints cases, median wall time, cases per second and
# the median peak memory of the gateway, the harness and its largest worker.
set -u
cd "$(dirname "$0")/.."
BIN=${GWSPEC_BIN:-bin}
export GWSPEC_GATEWAY=$BIN/gwspec-gateway
N=${N:-5}
OUT=$(mktemp -d /tmp/gwspec-bench.XXXXXX)
trap 'rm -rf "$OUT"' EXIT
cases=$($BIN/gwspec list --json | jq '[.cases[] | select(.strict | not)] | length')
for j in 1 2; do
    times=()
    for ((i = 0; i < N; i++)); do
        t0=$(date +%s%N)
        $BIN/gwspec run -j "$j" --seed $((100 + i)) --json "$OUT/j$j-$i" >/dev/null 2>&1 \
            || echo "  (run $i had a non-pass)"
        t1=$(date +%s%N)
        times+=($(((t1 - t0) / 1000000)))
    done
    med=$(printf '%s\n' "${times[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
    printf 'bench-suite: -j%d  %d cases  median %d ms over %d runs (%s)  %s cases/s\n' \
        "$j" "$cases" "$med" "$N" "${times[*]}" "$(awk -v c="$cases" -v m="$med" 'BEGIN { printf "%.1f", c * 1000 / (m ? m : 1) }')"
    # memory: the median over the runs of each peak (kB), from the run's JSON index
    mem=$(cat "$OUT"/j"$j"-*/index.json | jq -s -r '
        def med: sort | .[(length - 1) / 2 | floor];
        [.[].resources] | "gateway peak RSS \(map(.gateway_peak_rss_kb) | med) kB, harness \(map(.harness_peak_rss_kb) | med) kB, largest worker \(map(.worker_peak_rss_kb) | med) kB, harness CPU \(map(.harness_cpu_ms) | med) ms"')
    printf 'bench-suite: -j%d  %s\n' "$j" "$mem"
done
