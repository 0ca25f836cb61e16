#!/usr/bin/env bash
# Interop: the claude-control/1 catalog against the real Claude Agent SDK (npm
# @anthropic-ai/claude-agent-sdk), a client nobody on the team wrote. The harness plays the Claude
# Code CLI; the SDK runs inside tests/interop/claude-sdk/adapter.mjs and spawns bin/gwspec-cli-relay
# as its CLI executable.
#
#   make interop-claude-sdk VERSION=0.3.337        (or VERSION=0.3.165)
#   make interop-claude-sdk VERSION=0.3.337 TRANSPORT=ws
#   GWSPEC_BIN=bin VERSION=0.3.337 bash tests/interop-claude-sdk.sh [extra gwspec run args...]
#
# TRANSPORT=process (default): claude-control/1, the SDK's query() spawning our CLI relay.
# TRANSPORT=ws: claude-remote/1 (cases/claude-remote-1), the SDK's browser query() over a
#   WebSocket to the harness as the session server (profile and baseline claude-sdk-ws-VERSION).
#
# 1. Installs VERSION from the npm registry into .interop/claude-sdk-VERSION/ (git-ignored), once:
#    npm install --omit=optional --ignore-scripts --before=<the release date>, so the bundled
#    native CLI (the optional platform packages, about 470 MB) is left out: the SDK is given our
#    own executable. A later run reuses the install while VERSION, the date and node are unchanged.
# 2. Runs `gwspec run --target fixtures/targets/claude-sdk-VERSION.yaml --baseline
#    fixtures/baselines/claude-sdk-VERSION.yaml --spec-version claude-control/1 -j 2` over the
#    claude-control/1 cases (cases/claude-control-1); the harness spawns the adapter per case.
# 3. Sweeps any adapter process group still alive (the adapter records its group id in
#    $GWSPEC_INTEROP_PGIDS), whatever happened to the harness.
# Exit status: gwspec's (0 every case passed or is a known failure; 1 a failure or a stale baseline
# entry; 3 a harness error), 4 when the install failed, 2 a usage error.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
VERSION=${VERSION:-0.3.337}
BIN=${GWSPEC_BIN:-bin}
case $BIN in /*) ;; *) BIN=$ROOT/$BIN ;; esac
IDIR=$ROOT/.interop/claude-sdk-$VERSION
TRANSPORT=${TRANSPORT:-process}
case $TRANSPORT in
    process) NAME=claude-sdk-$VERSION SPEC=claude-control/1 NEED=$BIN/gwspec-cli-relay ;;
    ws) NAME=claude-sdk-ws-$VERSION SPEC=claude-remote/1 NEED=$BIN/gwspec ;;
    *) echo "interop-claude-sdk: TRANSPORT is process or ws" >&2; exit 2 ;;
esac
PROFILE=fixtures/targets/$NAME.yaml
BASELINE=fixtures/baselines/$NAME.yaml
REPORTS=${GWSPEC_INTEROP_REPORTS:-$ROOT/reports/interop-$NAME}
JOBS=${GWSPEC_INTEROP_JOBS:-2}

# --before: the registry as it was when VERSION was published (the package has no lockfile; its
# peer dependencies, @anthropic-ai/sdk, @modelcontextprotocol/sdk and zod, float).
case $VERSION in
    0.3.165) BEFORE=2026-08-24T00:00:00Z ;;
    0.3.337) BEFORE=2026-12-04T18:00:00Z ;;
    *) echo "interop-claude-sdk: no recipe for VERSION=$VERSION (known: 0.3.165, 0.3.337)" >&2
       exit 2 ;;
esac
for f in "$PROFILE" "$BASELINE" "$BIN/gwspec" "$NEED" \
    tests/interop/claude-sdk/adapter.mjs; do
    [ -e "$f" ] || { echo "interop-claude-sdk: missing $f" >&2; exit 2; }
done
command -v node >/dev/null && command -v npm >/dev/null ||
    { echo "interop-claude-sdk: needs node (>= 18.14) and npm" >&2; exit 2; }

log() { printf 'interop-claude-sdk: %s\n' "$*" >&2; }
now() { date +%s; }

# ---- 1. install ----------------------------------------------------------------------------
SDKDIR=$IDIR/node_modules/@anthropic-ai/claude-agent-sdk
STAMP=$IDIR/.gwspec-installed
STAMP_TEXT="claude-agent-sdk=$VERSION before=$BEFORE node=$(node --version)"
install() {
    local t0 got
    t0=$(now)
    log "installing @anthropic-ai/claude-agent-sdk@$VERSION into $IDIR (npm registry as of $BEFORE)"
    rm -rf "$IDIR"
    mkdir -p "$IDIR"
    printf '{"name": "gwspec-interop-claude-sdk", "private": true}\n' >"$IDIR/package.json"
    (
        cd "$IDIR"
        npm install "@anthropic-ai/claude-agent-sdk@$VERSION" --save-exact --omit=optional \
            --ignore-scripts --before="$BEFORE" --no-audit --no-fund --loglevel=error
    ) >"$ROOT/.interop/install-claude-sdk-$VERSION.log" 2>&1 || {
        log "install failed; the last lines of .interop/install-claude-sdk-$VERSION.log:"
        tail -n 30 "$ROOT/.interop/install-claude-sdk-$VERSION.log" >&2
        return 1
    }
    got=$(node -p "require('$SDKDIR/package.json').version" 2>/dev/null || true)
    [ "$got" = "$VERSION" ] && [ -f "$SDKDIR/sdk.mjs" ] || {
        log "install finished but $SDKDIR/sdk.mjs of version $VERSION is missing (got '$got')"
        return 1
    }
    echo "$STAMP_TEXT" >"$STAMP"
    log "installed in $(( $(now) - t0 )) s ($(du -sh "$IDIR" | cut -f1))"
}

mkdir -p "$ROOT/.interop"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$STAMP_TEXT" ]; then
    log "reusing the install in $IDIR"
else
    install || exit 4
fi

# ---- 2. the suite --------------------------------------------------------------------------
PGIDS=$ROOT/.interop/pgids-claude-sdk-$VERSION.$$
: >"$PGIDS"
sweep() {
    local g
    while read -r g; do
        [ -n "$g" ] && kill -KILL -- "-$g" 2>/dev/null || true
    done <"$PGIDS"
    rm -f "$PGIDS"
}
trap sweep EXIT
mkdir -p "$REPORTS"
log "running the $SPEC catalog against the Claude Agent SDK $VERSION ($PROFILE, baseline" \
    "$BASELINE, -j $JOBS)"
t0=$(now)
set +e
GWSPEC_INTEROP_PGIDS=$PGIDS "$BIN/gwspec" run --target "$PROFILE" --baseline "$BASELINE" \
    --spec-version "$SPEC" -j "$JOBS" --json "$REPORTS/json" \
    --junit "$REPORTS/junit.xml" "$@"
rc=$?
set -e
log "suite finished in $(( $(now) - t0 )) s, exit status $rc (reports in ${REPORTS#$ROOT/})"
exit $rc
