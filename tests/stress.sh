#!/bin/bash
# tests/stress.sh: flake hunting (`make stress`). Runs the whole catalog (--strict: every case)
# RUNS times (default 200) with -j2 while a busy loop loads the other core, each run with its own
# seed, and reports every non-pass with its seed. A run counts as clean only when it exits 0, ran
# every case and graded every one OK. The target is zero.
#
# EXTERNAL=1 (`make stress-external`, RUNS default 50): the same against ONE gwspec-gateway
# started here, outside the harness, as a user starts theirs, through a `base_url` profile (no
# `start`). Every run shares that gateway and the state it accumulates. The cases that need a
# private gateway (own_target: they restart it) must then be UNIMPLEMENTED, and only they.
set -u
cd "$(dirname "$0")/.."
BIN=${GWSPEC_BIN:-bin}
export GWSPEC_GATEWAY=$BIN/gwspec-gateway
EXTERNAL=${EXTERNAL:-0}
if [ "$EXTERNAL" = 1 ]; then RUNS=${RUNS:-50}; else RUNS=${RUNS:-200}; fi
FIRST=${SEED:-1000}
OUT=$(mktemp -d /tmp/gwspec-stress.XXXXXX)
( while :; do :; done ) &
hog=$!
gw=
# the hand-started gateway is waited for: it must be gone, not only signalled, when this ends
trap 'kill $hog 2>/dev/null; [ -n "$gw" ] && kill $gw 2>/dev/null && wait $gw 2>/dev/null; rm -rf "$OUT"' EXIT
TARGET=()
if [ "$EXTERNAL" = 1 ]; then
    # the reference profile's gateway and users, started by hand
    $BIN/gwspec-gateway --port 0 --host 127.0.0.1 --db "$OUT/sessions.db" \
        --token alice:gwspec-token-alice --token bob:gwspec-token-bob \
        --token carol:gwspec-token-carol --token dave:gwspec-token-dave \
        --token erin:gwspec-token-erin --token frank:gwspec-token-frank \
        --token ali:gwspec-token-ali --token car:gwspec-token-car --token eri:gwspec-token-eri \
        --ping-interval-ms 250 --pong-timeout-ms 2000 --send-cap 2097152 --log-level info >"$OUT/gateway.log" 2>&1 &
    gw=$!
    port=
    for ((t = 0; t < 100; t++)); do
        # the background shell may not have created the log yet on the first look
        port=$(sed -n 's/.*listening on [^ :]*:\([0-9][0-9]*\).*/\1/p' "$OUT/gateway.log" 2>/dev/null | head -1)
        [ -n "$port" ] && break
        sleep 0.05
    done
    [ -n "$port" ] || { echo "stress: the gateway did not start:" >&2; cat "$OUT/gateway.log" >&2; exit 2; }
    cat >"$OUT/external.yaml" <<EOF
name: external
description: gwspec-gateway started outside the harness (tests/stress.sh EXTERNAL=1)
base_url: http://127.0.0.1:$port
auth:
  kind: token
  users: {alice: gwspec-token-alice, bob: gwspec-token-bob, ali: gwspec-token-ali}
  pool:
    - {alice: gwspec-token-carol, bob: gwspec-token-dave, ali: gwspec-token-car}
    - {alice: gwspec-token-erin, bob: gwspec-token-frank, ali: gwspec-token-eri}
sessions: {path: /api/providers/sessions}
providers: [claude, cursor, codex, opencode]
capabilities: [multi-user, fan-out, permissions, persistent-sessions, heartbeat]
replay_cap: 5000
ping_interval_ms: 250
pong_timeout_ms: 2000
EOF
    TARGET=(--target "$OUT/external.yaml")
fi
bad=0
start=$(date +%s)
expect=$($BIN/gwspec list --strict --json | jq '.cases | length')
[ "${expect:-0}" -gt 0 ] 2>/dev/null || { echo "stress: cannot list the cases with $BIN/gwspec" >&2; exit 2; }
# not OK: any verdict but OK; on an external gateway, UNIMPLEMENTED is the right answer for the
# cases that need a private gateway (own_target), and for them alone
private=$($BIN/gwspec list --strict --json | jq -c '[.cases[] | select(.own_target) | .id]')
NOTOK='[.cases | to_entries[] | select(.value.verdict != "OK")
        | select($ext == 0 or .value.verdict != "UNIMPLEMENTED"
                 or (.key as $id | $private | index($id) | not))] | length'
for ((i = 0; i < RUNS; i++)); do
    seed=$((FIRST + i))
    rm -rf "$OUT/json"
    $BIN/gwspec run -j 2 --strict --seed "$seed" --json "$OUT/json" "${TARGET[@]}" >"$OUT/run.txt" 2>&1
    rc=$?
    # a run counts as clean only when it ran every case and every verdict is OK
    read -r ran notok < <(jq -r --argjson ext "$EXTERNAL" --argjson private "$private" "[(.cases | length), ($NOTOK)] | @tsv" \
                               "$OUT/json/index.json" 2>/dev/null || echo "0 0")
    alive=yes
    [ -n "$gw" ] && ! kill -0 "$gw" 2>/dev/null && alive=no
    if [ "$rc" != 0 ] || [ "$ran" != "$expect" ] || [ "$notok" != 0 ] || [ $alive = no ]; then
        bad=$((bad + 1))
        echo "seed $seed: exit $rc, $ran of $expect cases ran, $notok not OK, gateway alive: $alive"
        grep -Ev '^ *OK ' "$OUT/run.txt" | head -20
    fi
done
where="spawned per run"
[ "$EXTERNAL" = 1 ] && where="one gateway started by hand"
echo "stress: $RUNS runs (seeds $FIRST..$((FIRST + RUNS - 1))) of $expect cases each (--strict, -j2," \
     "one core busy, $where), $bad with a non-pass, $(($(date +%s) - start)) s"
[ $bad = 0 ]
