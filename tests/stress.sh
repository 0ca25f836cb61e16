#!/bin/bash
# tests/stress.sh: flake hunting (`make stress`). Runs the whole catalog RUNS times (default 200)
# with -j2 while a busy loop loads the other core, each run with its own seed, and reports every
# non-pass with its seed. The target is zero.
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
for ((i = 0; i < RUNS; i++)); do
    seed=$((FIRST + i))
    if ! $BIN/gwspec run -j 2 --seed "$seed" >"$OUT/run.txt" 2>&1; then
        bad=$((bad + 1))
        echo "seed $seed:"
        grep -Ev '^ *OK ' "$OUT/run.txt" | head -20
    fi
done
echo "stress: $RUNS runs (seeds $FIRST..$((FIRST + RUNS - 1))), $bad with a non-pass," \
     "$(($(date +%s) - start)) s"
[ $bad = 0 ]
