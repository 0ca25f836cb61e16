#!/bin/bash
# tests/stress.sh: flake hunting (`make stress`). Runs the whole catalog (--strict: every case)
# RUNS times (default 200) with -j2 while a busy loop loads the other core, each run with its own
# seed, and reports every non-pass with its seed. A run counts as clean only when it exits 0, ran
# every case and graded every one OK. The target is zero.
set -u
cd "$(dirname "$0")/.."
BIN=${GWSPEC_BIN:-bin}
export GWSPEC_GATEWAY=$BIN/gwspec-gateway
RUNS=${RUNS:-200}
FIRST=${SEED:-1000}
OUT=$(mktemp -d /tmp/gwspec-stress.XXXXXX)
( while :; do :; done ) &
hog=$!
trap 'kill $hog 2>/dev/null; rm -rf "$OUT"' EXIT
bad=0
start=$(date +%s)
expect=$($BIN/gwspec list --strict --json | jq '.cases | length')
[ "${expect:-0}" -gt 0 ] 2>/dev/null || { echo "stress: cannot list the cases with $BIN/gwspec" >&2; exit 2; }
for ((i = 0; i < RUNS; i++)); do
    seed=$((FIRST + i))
    rm -rf "$OUT/json"
    $BIN/gwspec run -j 2 --strict --seed "$seed" --json "$OUT/json" >"$OUT/run.txt" 2>&1
    rc=$?
    # a run counts as clean only when it ran every case and every verdict is OK
    read -r ran notok < <(jq -r '[(.cases | length), ([.cases[] | select(.verdict != "OK")] | length)] | @tsv' \
                               "$OUT/json/index.json" 2>/dev/null || echo "0 0")
    if [ "$rc" != 0 ] || [ "$ran" != "$expect" ] || [ "$notok" != 0 ]; then
        bad=$((bad + 1))
        echo "seed $seed: exit $rc, $ran of $expect cases ran, $notok not OK"
        grep -Ev '^ *OK ' "$OUT/run.txt" | head -20
    fi
done
echo "stress: $RUNS runs (seeds $FIRST..$((FIRST + RUNS - 1))) of $expect cases each (--strict, -j2," \
     "one core busy), $bad with a non-pass, $(($(date +%s) - start)) s"
[ $bad = 0 ]
