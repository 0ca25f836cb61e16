#!/usr/bin/env bash
# Start one CloudCLI server (installed by tests/interop-cloudcli.sh into .interop/cloudcli-VERSION)
# for the harness: the target profiles fixtures/targets/cloudcli-*.yaml name this script in
# `start.argv`, so gwspec starts, restarts and stops the server itself (own_target cases get a
# private instance, `restart: target` keeps the state directory).
#
#   cloudcli-server.sh VERSION STATE_DIR
#
# Everything the server writes lives under STATE_DIR: HOME (~/.claude, ~/.cursor, ~/.codex,
# ~/.local/share/opencode, ~/.cloudcli) and DATABASE_PATH. The provider executables are the
# gwspec-provider personas (.interop/cloudcli-VERSION/gwspec-bin, made by the interop script):
# claude through CLAUDE_CLI_PATH, cursor-agent and opencode first on PATH, codex as the SDK's
# vendored binary. The server listens on a free loopback port; once /health answers, this
# script prints the line the profile's `ready` regex reads the port from:
#   gwspec-interop: cloudcli VERSION ready on 127.0.0.1:PORT
#
# This script is the leader of its process group (the harness calls setpgid). On SIGTERM it
# stops the server, then every process left in its own group (provider personas that hang on
# purpose), by the group id. The group id is also appended to $GWSPEC_INTEROP_PGIDS when set, so
# the interop script can sweep what is left if the harness itself is killed.
set -u

VERSION=${1:?usage: cloudcli-server.sh VERSION STATE_DIR}
STATE=${2:?usage: cloudcli-server.sh VERSION STATE_DIR}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
IDIR=$ROOT/.interop/cloudcli-$VERSION
ENTRY=$IDIR/node_modules/@cloudcli-ai/cloudcli/dist-server/server/index.js
PBIN=$IDIR/gwspec-bin

if [ ! -f "$ENTRY" ] || [ ! -x "$PBIN/claude" ]; then
    echo "cloudcli-server.sh: CloudCLI $VERSION is not installed in $IDIR" \
         "(run: make interop-cloudcli VERSION=$VERSION)" >&2
    exit 2
fi
mkdir -p "$STATE/home" "$STATE/tmp"
[ -n "${GWSPEC_INTEROP_PGIDS:-}" ] && echo "$$" >>"$GWSPEC_INTEROP_PGIDS"

# A free loopback port (bind 0, read it, close: the window until the server binds is tiny).
PORT=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{process.stdout.write(String(s.address().port));s.close()})') || exit 1

cd "$STATE" || exit 1
env -u API_KEY -u VITE_IS_PLATFORM -u NODE_OPTIONS -u JWT_SECRET -u PORT \
    HOME="$STATE/home" \
    TMPDIR="$STATE/tmp" \
    DATABASE_PATH="$STATE/auth.db" \
    HOST=127.0.0.1 \
    SERVER_PORT="$PORT" \
    NODE_ENV=production \
    PATH="$PBIN:$PATH" \
    CLAUDE_CLI_PATH="$PBIN/claude" \
    CLAUDE_TOOL_APPROVAL_TIMEOUT_MS="${GWSPEC_INTEROP_PERMISSION_TIMEOUT_MS:-2000}" \
    GWSPEC_FIXTURES="$ROOT/fixtures" \
    node "$ENTRY" &
NODE_PID=$!

stop() {
    trap '' TERM INT
    kill -TERM "$NODE_PID" 2>/dev/null
    for _ in $(seq 1 40); do
        kill -0 "$NODE_PID" 2>/dev/null || break
        sleep 0.05
    done
    # whatever is left in this process group: the server if it did not stop, hung personas
    kill -KILL -- "-$$" 2>/dev/null
    exit 0
}
trap stop TERM INT

health() {
    local reply
    { exec 3<>"/dev/tcp/127.0.0.1/$PORT"; } 2>/dev/null || return 1
    printf 'GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
    reply=$(timeout 2 cat <&3)
    exec 3<&- 3>&-
    case $reply in *'"status":"ok"'*) return 0 ;; esac
    return 1
}

for _ in $(seq 1 600); do
    if ! kill -0 "$NODE_PID" 2>/dev/null; then
        wait "$NODE_PID"
        echo "cloudcli-server.sh: the server exited (status $?) before /health answered" >&2
        exit 1
    fi
    if health; then
        echo "gwspec-interop: cloudcli $VERSION ready on 127.0.0.1:$PORT"
        wait "$NODE_PID"
        exit $?
    fi
    sleep 0.1
done
echo "cloudcli-server.sh: /health did not answer within 60 s" >&2
stop
