#!/bin/bash
# tests/record-fixtures.sh: record the regression fixtures (fixtures/transcripts/*.jsonl) with
# `gwspec record`, and replay each into cases/12-regressions/.
#
# For each fixture: start the reference gateway with the matching mutant, start `gwspec record`
# in front of it, drive the client side with `gwspec run` of a small driver case (written below)
# through a target profile whose port is the proxy's, stop the proxy, then `gwspec replay` the
# transcript into a case. The drivers end with `quiet`, so the last one may fail against the
# mutant: that is the bug being recorded, not an error of this script.
#
#   tests/record-fixtures.sh [--out-dir DIR] [--cases-dir DIR] [--no-cases] [--minimize]
#                            [--latency] [NAME...]
#
#   --out-dir DIR    where the transcripts go (default fixtures/transcripts)
#   --cases-dir DIR  where the replayed cases go (default cases/12-regressions)
#   --no-cases       record only
#   --minimize       write the minimized case (gwspec replay --minimize) instead of the full one
#   --latency        measure the latency the proxy adds instead (median of sentinel round trips
#                    straight to the gateway and through the proxy) and exit
#   NAME             only these fixtures (default: all); `--list` prints the names
#
# Environment: GWSPEC_BIN (default bin): where gwspec and gwspec-gateway are; GWSPEC (default
# $GWSPEC_BIN/gwspec): the gwspec binary to use.
set -u
cd "$(dirname "$0")/.."
BIN=${GWSPEC_BIN:-bin}
GW=${GWSPEC:-$BIN/gwspec}
GATEWAY=$BIN/gwspec-gateway
export GWSPEC_GATEWAY=$GATEWAY
OUT_DIR=fixtures/transcripts
CASES_DIR=cases/12-regressions
CASES=1
MINIMIZE=0
LATENCY=0
ONLY=()
while [ $# -gt 0 ]; do
    case "$1" in
    --out-dir) OUT_DIR=$2; shift 2 ;;
    --cases-dir) CASES_DIR=$2; shift 2 ;;
    --no-cases) CASES=0; shift ;;
    --minimize) MINIMIZE=1; shift ;;
    --latency) LATENCY=1; shift ;;
    --list) LIST=1; shift ;;
    -h|--help) sed -n '2,27p' "$0"; exit 0 ;;
    -*) echo "record-fixtures: unknown option $1" >&2; exit 2 ;;
    *) ONLY+=("$1"); shift ;;
    esac
done
WORK=$(mktemp -d /tmp/gwspec-fixtures.XXXXXX)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$WORK/drivers"

# --- the fixtures: name, mutant, case id, requirement override (or -), title, description ---
# The descriptions name the CloudCLI bug (spec/chatgw-1.0/cloudcli-notes.md §10).
FIXTURES=(
"abort-during-setup|abort-keeps-provider|12.1.1-abort-during-setup-stops-provider|R-ABORT-4|an abort during run setup stops the provider before it announces|Recorded with gwspec record in front of the reference gateway running mutant abort-keeps-provider, the provider still in setup (held before it announces its native id) when the client aborts, then continuing. CloudCLI: c685300b (inside PR #1037) made abort work before the provider announced its id (process maps were keyed by provider ids); e898b932 (PR #1153) fixed query instances left spinning after an abort that raced run setup; still open at HEAD: an abort during setup ends with a complete followed by more events (cloudcli-notes.md §7.2 A). The provider must be stopped (done: aborted) and nothing may follow the aborted complete."
"abort-newer-run|abort-completes-newer-run|12.1.2-late-end-of-aborted-run-spares-newer-run|R-ABORT-2|the late end of an aborted run does not complete the newer run|Recorded with gwspec record against mutant abort-completes-newer-run: run 1 is aborted, its provider ignores the abort, run 2 starts, and run 1's provider ends while run 2 is still running. CloudCLI: c1d370d4 (inside PR #964) replaced the session-keyed completeRun safety net, which sent a stray complete that killed the next, queued run, by completeRunIfCurrent; the abort path still uses the session-keyed completeRun at HEAD (cloudcli-notes.md §7.2 D). Before afc717e6 (PR #887) a late close-complete from cursor cleared the indicator of a newer request."
"codex-status-after-complete|events-after-complete|12.2.1-codex-status-after-complete|-|a status event after Codex's bare complete is not forwarded|Recorded with gwspec record against mutant events-after-complete, a codex session: the provider sends its text, its bare complete, then a token_budget status. CloudCLI: PR #959 (f8eee298, not merged) normalised Codex's turn_complete to a bare complete, still present at HEAD, followed by a status numbered as the next seq of a run that is over (cloudcli-notes.md §7.2 B); PR #1153 (0a2ad343) is the Claude side of events after complete."
"duplicate-complete|dup-complete|12.2.2-provider-completes-twice|-|a provider that completes twice yields one complete|Recorded with gwspec record against mutant dup-complete, a cursor session whose provider completes twice. CloudCLI: afc717e6 (PR #887) found cursor sending complete twice per run, from its result line and again on process close, so the completion sound played twice and the late complete cleared the indicator of a newer request; f5eac2ec (PR #887) made the registry drop duplicate completes."
"second-tab-steals-stream|single-writer|12.3.1-second-tab-does-not-steal-the-stream|-|a second tab that subscribes mid-run does not take the stream from the first|Recorded with gwspec record against mutant single-writer: tab 1 sends, tab 2 subscribes mid-run, and tab 1 receives nothing more, not even the complete. CloudCLI 1.37.2 binds a run to a single writer (cloudcli-notes.md §6.5, §7.2 G): the stuck-processing reports PR #483 (0590c5c1), PR #696, PR #850 and afc717e6."
"stale-cursor|stale-cursor-no-replay|12.3.2-stale-cursor-replays-the-current-run|-|a cursor left over from an older run still replays the current run|Recorded with gwspec record against mutant stale-cursor-no-replay: run 1 ends at seq 4, run 2 is running at seq 2, and a refreshed tab subscribes with lastSeq 4, the highest seq it saw for the session. CloudCLI answers lastSeq 2 and replays nothing, so the tab misses the start of run 2 (cloudcli-notes.md §7.2 E, confirmed by running the server); seq is per run since f5eac2ec (PR #887) but the client's cursor is per session."
"unknown-type-ignored|unknown-type-silent|12.4.1-unknown-type-is-answered|-|an unknown message type is answered with UNKNOWN_MESSAGE_TYPE, not ignored|Recorded with gwspec record against mutant unknown-type-silent: the client sends a type the gateway does not know, then a normal run. Before PR #887 (afc717e6's chat-websocket.service.ts) an unknown type was ignored silently and the client waited for ever; f5eac2ec brought in protocol_error with code UNKNOWN_MESSAGE_TYPE."
)

if [ "${LIST:-0}" = 1 ]; then
    for f in "${FIXTURES[@]}"; do echo "${f%%|*}"; done
    exit 0
fi

# --- the driver cases ------------------------------------------------------------------------
cat >"$WORK/drivers/99.1.1-drive-abort-during-setup.yaml" <<'EOF'
id: 99.1.1-drive-abort-during-setup
title: "driver: abort while the provider is still in setup, then let it continue"
spec: [R-ABORT-4]
description: a recording driver for tests/record-fixtures.sh
expectation: none; the recording is the product
sessions:
  s1: {provider: claude}
providers:
  s1:
    - barrier: setup
    - announce: auto
    - emit: {kind: text, role: assistant, content: after the abort}
    - complete: 0
steps:
  - connect: c1
  - send: {c1: {type: chat.send, sessionId: $s1, content: $script.s1}}
  - reached: {s1: setup}
  - send: {c1: {type: chat.abort, sessionId: $s1}}
  - expect: {c1: {kind: complete, aborted: true}}
  - release: {s1: setup}
  - provider_done: s1
  - quiet: c1
EOF
cat >"$WORK/drivers/99.1.2-drive-abort-newer-run.yaml" <<'EOF'
id: 99.1.2-drive-abort-newer-run
title: "driver: the aborted run's provider ends while the next run runs"
spec: [R-ABORT-2]
description: a recording driver for tests/record-fixtures.sh
expectation: none; the recording is the product
sessions:
  s1: {provider: claude}
providers:
  s1:
    - on_abort: ignore
    - announce: auto
    - barrier: hold
    - complete: 0
  second:
    session: s1
    script:
      - announce: auto
      - emit: {kind: text, role: assistant, content: new-1}
      - barrier: hold2
      - emit: {kind: text, role: assistant, content: new-2}
      - complete: 0
steps:
  - connect: c1
  - send: {c1: {type: chat.send, sessionId: $s1, content: $script.s1}}
  - reached: {s1: hold}
  - send: {c1: {type: chat.abort, sessionId: $s1}}
  - expect: {c1: {kind: complete, aborted: true, seq: 1}}
  - provider_event: {s1: {type: aborted}}
  - send: {c1: {type: chat.send, sessionId: $s1, content: $script.second}}
  - expect: {c1: {kind: text, content: new-1, seq: 1}}
  - reached: {second: hold2}
  - release: {s1: hold}
  - provider_done: s1
  - quiet: c1
  - release: {second: hold2}
  - provider_done: second
  - quiet: c1
EOF
cat >"$WORK/drivers/99.2.1-drive-codex-status.yaml" <<'EOF'
id: 99.2.1-drive-codex-status
title: "driver: codex text, bare complete, then a status"
spec: [R-TERM-2]
description: a recording driver for tests/record-fixtures.sh
expectation: none; the recording is the product
sessions:
  s1: {provider: codex}
providers:
  s1:
    - announce: auto
    - emit: {kind: text, role: assistant, content: answer}
    - complete: 0
    - emit: {kind: status, text: token_budget, tokenBudget: {used: 120, total: 200000}}
steps:
  - connect: c1
  - send: {c1: {type: chat.send, sessionId: $s1, content: $script.s1}}
  - expect: {c1: {kind: text, content: answer, seq: 1}}
  - expect: {c1: {kind: complete, seq: 2}}
  - provider_done: s1
  - quiet: c1
EOF
cat >"$WORK/drivers/99.2.2-drive-dup-complete.yaml" <<'EOF'
id: 99.2.2-drive-dup-complete
title: "driver: a cursor provider that completes twice"
spec: [R-TERM-1]
description: a recording driver for tests/record-fixtures.sh
expectation: none; the recording is the product
sessions:
  s1: {provider: cursor}
providers:
  s1:
    - announce: auto
    - emit: {kind: stream_delta, content: a}
    - complete: 0
    - complete: 0
steps:
  - connect: c1
  - send: {c1: {type: chat.send, sessionId: $s1, content: $script.s1}}
  - expect: {c1: {kind: stream_delta, content: a, seq: 1}}
  - expect: {c1: {kind: complete, seq: 2}}
  - provider_done: s1
  - quiet: c1
EOF
cat >"$WORK/drivers/99.3.1-drive-second-tab.yaml" <<'EOF'
id: 99.3.1-drive-second-tab
title: "driver: a second tab subscribes mid-run"
spec: [R-FAN-2]
description: a recording driver for tests/record-fixtures.sh
expectation: none; the recording is the product
sessions:
  s1: {provider: claude}
providers:
  s1:
    - announce: auto
    - emit: {kind: text, role: assistant, content: e1}
    - barrier: hold
    - emit: {kind: text, role: assistant, content: e2}
    - complete: 0
steps:
  - connect: c1
  - send: {c1: {type: chat.send, sessionId: $s1, content: $script.s1}}
  - expect: {c1: {kind: text, content: e1, seq: 1}}
  - reached: {s1: hold}
  - connect: c2
  - send: {c2: {type: chat.subscribe, sessions: [{sessionId: $s1, lastSeq: 1}]}}
  - expect: {c2: {kind: chat_subscribed, sessionId: $s1}}
  - release: {s1: hold}
  - expect: {c2: {kind: text, content: e2, seq: 2}}
  - expect: {c2: {kind: complete, seq: 3}}
  - provider_done: s1
  - quiet: [c1, c2]
EOF
cat >"$WORK/drivers/99.3.2-drive-stale-cursor.yaml" <<'EOF'
id: 99.3.2-drive-stale-cursor
title: "driver: a refreshed tab subscribes with the previous run's last seq"
spec: [R-SUB-7]
description: a recording driver for tests/record-fixtures.sh
expectation: none; the recording is the product
sessions:
  s1: {provider: claude}
providers:
  first:
    session: s1
    script:
      - announce: auto
      - emit: {kind: text, role: assistant, content: r1-a}
      - emit: {kind: text, role: assistant, content: r1-b}
      - emit: {kind: text, role: assistant, content: r1-c}
      - complete: 0
  second:
    session: s1
    script:
      - announce: auto
      - emit: {kind: text, role: assistant, content: r2-a}
      - emit: {kind: text, role: assistant, content: r2-b}
      - barrier: hold
      - complete: 0
steps:
  - connect: c1
  - send: {c1: {type: chat.send, sessionId: $s1, content: $script.first}}
  - expect: {c1: {kind: text, content: r1-a, seq: 1}}
  - expect: {c1: {kind: text, content: r1-b, seq: 2}}
  - expect: {c1: {kind: text, content: r1-c, seq: 3}}
  - expect: {c1: {kind: complete, seq: 4}}
  - provider_done: first
  - send: {c1: {type: chat.send, sessionId: $s1, content: $script.second}}
  - expect: {c1: {kind: text, content: r2-a, seq: 1}}
  - expect: {c1: {kind: text, content: r2-b, seq: 2}}
  - reached: {second: hold}
  - disconnect: c1
  - connect: c2
  - send: {c2: {type: chat.subscribe, sessions: [{sessionId: $s1, lastSeq: 4}]}}
  - expect: {c2: {kind: chat_subscribed, sessionId: $s1}}
  - release: {second: hold}
  - provider_done: second
  - quiet: c2
EOF
cat >"$WORK/drivers/99.4.1-drive-unknown-type.yaml" <<'EOF'
id: 99.4.1-drive-unknown-type
title: "driver: an unknown type, then a normal run"
spec: [R-IN-2]
description: a recording driver for tests/record-fixtures.sh
expectation: none; the recording is the product
sessions:
  s1: {provider: claude}
providers:
  s1:
    - announce: auto
    - emit: {kind: text, role: assistant, content: still works}
    - complete: 0
steps:
  - connect: c1
  - send: {c1: {type: chat.nope, sessionId: $s1}}
  - send: {c1: {type: chat.send, sessionId: $s1, content: $script.s1}}
  - provider_done: s1
  - quiet: c1
EOF
driver_of() {
    case "$1" in
    abort-during-setup) echo 99.1.1-drive-abort-during-setup ;;
    abort-newer-run) echo 99.1.2-drive-abort-newer-run ;;
    codex-status-after-complete) echo 99.2.1-drive-codex-status ;;
    duplicate-complete) echo 99.2.2-drive-dup-complete ;;
    second-tab-steals-stream) echo 99.3.1-drive-second-tab ;;
    stale-cursor) echo 99.3.2-drive-stale-cursor ;;
    unknown-type-ignored) echo 99.4.1-drive-unknown-type ;;
    esac
}

# Wait (bounded) until FILE has a line matching 'listening on HOST:PORT'; print PORT.
port_of() {
    local file=$1 i
    for i in $(seq 200); do
        if grep -q 'listening on' "$file" 2>/dev/null; then
            sed -n 's/.*listening on [^ :]*:\([0-9][0-9]*\).*/\1/p' "$file" | head -1
            return 0
        fi
        sleep 0.05
    done
    return 1
}

# start_gateway MUTANT|-  -> sets GW_PID, GW_PORT
start_gateway() {
    local m=() log=$WORK/gw.$RANDOM
    [ "$1" != - ] && m=(--mutant "$1")
    "$GATEWAY" --port 0 --host 127.0.0.1 --token alice:gwspec-token-alice \
        --token bob:gwspec-token-bob --seed 1 --permission-timeout-ms 2000 --log-level error \
        "${m[@]}" >"$log" 2>&1 &
    GW_PID=$!
    PIDS+=("$GW_PID")
    GW_PORT=$(port_of "$log") || { echo "record-fixtures: the gateway did not start" >&2; cat "$log" >&2; exit 3; }
}

# start_proxy OUT META... -> sets PX_PID, PX_PORT
start_proxy() {
    local out=$1 log=$WORK/px.$RANDOM
    shift
    "$GW" record --listen 0 --upstream "ws://127.0.0.1:$GW_PORT/ws" --out "$out" "$@" 2>"$log" &
    PX_PID=$!
    PIDS+=("$PX_PID")
    PX_PORT=$(port_of "$log") || { echo "record-fixtures: the proxy did not start" >&2; cat "$log" >&2; exit 3; }
}

stop() {
    kill "$1" 2>/dev/null
    wait "$1" 2>/dev/null
}

# A target profile for a gateway that is already running on PORT.
profile() {
    cat >"$2" <<EOF
name: $3
host: 127.0.0.1
port: $1
ws_path: /ws
auth:
  kind: token
  users: {alice: gwspec-token-alice, bob: gwspec-token-bob}
sessions: {path: /api/providers/sessions}
providers: [claude, cursor, codex, opencode]
capabilities: [multi-user, fan-out, permissions, persistent-sessions]
extensions: {kinds: [], types: []}
replay_cap: 5000
ping_interval_ms: 30000
quiescence: sentinel
EOF
}

# --- latency -----------------------------------------------------------------------------
if [ $LATENCY = 1 ]; then
    N=${GWSPEC_LATENCY_N:-500}
    {
        echo "id: 99.9.1-latency"
        echo "title: 'driver: $N sentinel round trips'"
        echo "spec: [R-SUB-1]"
        echo "description: latency probe for tests/record-fixtures.sh --latency"
        echo "expectation: every sentinel is answered"
        echo "steps:"
        echo "  - connect: c1"
        for i in $(seq "$N"); do echo "  - quiet: c1"; done
    } >"$WORK/drivers/99.9.1-latency.yaml"
    start_gateway -
    start_proxy "$WORK/latency.jsonl"
    profile "$GW_PORT" "$WORK/direct.yaml" direct
    profile "$PX_PORT" "$WORK/proxied.yaml" proxied
    median() { # the median of the sentinel round trips (µs) in a --json report
        python3 - "$1" <<'PY'
import json, sys, statistics
recs = json.load(open(sys.argv[1]))["transcript"]
sent = {}
rtt = []
for r in recs:
    if r.get("t") == "send" and r.get("sentinel"):
        sent[r["frame"]["sessions"][0]["sessionId"]] = r["us"]
    elif r.get("t") == "recv" and r.get("sentinel"):
        sid = r["frame"].get("sessionId")
        if sid in sent:
            rtt.append(r["us"] - sent.pop(sid))
print(int(statistics.median(rtt)) if rtt else -1, len(rtt))
PY
    }
    for round in 1 2 3; do
        for mode in direct proxied; do
            "$GW" run --seed 1 --target "$WORK/$mode.yaml" --json "$WORK/lat-$mode-$round" \
                "$WORK/drivers/99.9.1-latency.yaml" >/dev/null 2>&1
            read -r med n < <(median "$WORK/lat-$mode-$round/cases/99.9.1-latency.json")
            echo "round $round $mode: median sentinel round trip ${med} us over $n"
            eval "lat_${mode}_$round=$med"
        done
    done
    stop "$PX_PID"
    stop "$GW_PID"
    python3 - "$lat_direct_1" "$lat_proxied_1" "$lat_direct_2" "$lat_proxied_2" \
        "$lat_direct_3" "$lat_proxied_3" <<'PY'
import sys, statistics
v = list(map(int, sys.argv[1:]))
d = statistics.median(v[0::2]); p = statistics.median(v[1::2])
print(f"proxy adds {p - d:.0f} us per round trip (median of 3 rounds: direct {d:.0f} us, proxied {p:.0f} us)")
PY
    exit 0
fi

# --- recording -----------------------------------------------------------------------------
mkdir -p "$OUT_DIR"
[ $CASES = 1 ] && mkdir -p "$CASES_DIR"
status=0
for f in "${FIXTURES[@]}"; do
    IFS='|' read -r name mutant cid req title desc <<<"$f"
    if [ ${#ONLY[@]} -gt 0 ] && [[ ! " ${ONLY[*]} " =~ " $name " ]]; then
        continue
    fi
    driver=$(driver_of "$name")
    out="$OUT_DIR/$name.jsonl"
    start_gateway "$mutant"
    start_proxy "$out" --case "$name" --meta "mutant=$mutant" --meta "driver=$driver" \
        --meta spec=chatgw/1.0 --meta target=reference \
        --meta 'capabilities=["multi-user","fan-out","permissions","persistent-sessions"]'
    profile "$PX_PORT" "$WORK/proxy.yaml" "proxy-$name"
    "$GW" run --seed 1 --timeout-ms 2000 --target "$WORK/proxy.yaml" \
        "$WORK/drivers/$driver.yaml" >"$WORK/$name.run.txt" 2>&1
    drc=$?
    stop "$PX_PID"
    stop "$GW_PID"
    if [ $drc -ge 2 ]; then
        echo "record-fixtures: $name: the driver could not run (exit $drc)" >&2
        cat "$WORK/$name.run.txt" >&2
        status=1
        continue
    fi
    # the recording is reproducible: no timestamps or ports that change from run to run
    # are needed by anything downstream, but the header's start time and upstream port do
    echo "recorded $out ($(($(wc -l <"$out") - 1)) records; driver exit $drc)"
    [ $CASES = 1 ] || continue
    args=(--id "$cid" --title "$title" --description "$desc" --tag regression
          --out "$CASES_DIR/$cid.yaml")
    [ "$req" != - ] && args+=(--requirement "$req")
    [ $MINIMIZE = 1 ] && args+=(--minimize --mutant "$mutant")
    if "$GW" replay "$out" "${args[@]}" 2>"$WORK/$name.replay.txt"; then
        echo "replayed $CASES_DIR/$cid.yaml"
    else
        echo "record-fixtures: $name: replay failed" >&2
        cat "$WORK/$name.replay.txt" >&2
        status=1
    fi
done
exit $status
